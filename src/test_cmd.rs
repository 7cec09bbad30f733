//! `etcdlab test`: a user's scenarios as a test suite. Each scenario is run (in parallel), its
//! `[[expect]]`s and the clients' checkers judged, and its outcome (summary.json) compared with
//! the accepted snapshot kept next to it (`__snapshots__/<name>.snap`). A changed outcome fails
//! with a diff; `--accept` takes it; a missing snapshot is written and reported as new.
//! `--junit FILE` writes one test case per scenario for CI. Format and workflow: docs/ci.md.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The snapshot file's header (insta's `.snap` layout, so it reads like one).
const SNAPSHOT_SOURCE: &str = "etcdlab test";

#[derive(clap::Args)]
pub struct TestArgs {
    /// Scenario files or folders of them (`*.toml`, not recursive). Default: scenarios/
    paths: Vec<PathBuf>,
    /// Write the new outcome of every scenario as its accepted snapshot.
    #[arg(long)]
    accept: bool,
    /// Write a JUnit XML report (one test case per scenario) to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Scenarios run at once. Default: the machine's cores.
    #[arg(long)]
    jobs: Option<usize>,
    /// Print the results as JSON on stdout (one object: every scenario's verdict, the totals
    /// and the exit code); the progress and failures still go to stderr.
    #[arg(long)]
    json: bool,
    /// Your etcd's config file (etcd.conf.yaml), as for `etcdlab run`: it fills each
    /// scenario's [cluster] where the scenario does not set it.
    #[arg(long, value_name = "FILE")]
    etcd_config: Option<PathBuf>,
    /// Your etcd's flags, as for `etcdlab run` (after --etcd-config).
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    etcd_flags: Option<String>,
}

/// How one scenario did.
#[derive(Debug)]
enum Verdict {
    /// Expectations, checkers and snapshot all held.
    Pass,
    /// No snapshot yet: written now.
    New,
    /// `--accept` replaced a different snapshot.
    Accepted,
    /// Something failed: the exit code it calls for and what to print.
    Fail { code: u8, message: String },
}

struct Outcome {
    name: String,
    file: PathBuf,
    verdict: Verdict,
}

/// The outcome against its accepted snapshot.
enum Snapshot {
    Same,
    /// None was accepted yet: written now.
    New,
    /// `--accept` replaced a different one.
    Accepted,
    /// Different: the unified diff.
    Changed(String),
}

/// Runs the command; returns the exit code (`run`'s: the worst of the scenarios'). With
/// `--json`, the results go to stdout whatever happened, with the same exit code.
pub fn test(args: &TestArgs) -> u8 {
    let (outcomes, code, error) = match run_suite(args) {
        Ok((outcomes, code)) => (outcomes, code, None),
        Err(e) => {
            eprintln!("error: {e}");
            (Vec::new(), crate::EXIT_INVALID_INPUT, Some(e))
        }
    };
    if args.json {
        println!("{}", json(&outcomes, code, error.as_deref()));
    }
    code
}

/// The suite: every scenario's outcome and the exit code, or why it could not run (or its
/// JUnit file could not be written).
fn run_suite(args: &TestArgs) -> Result<(Vec<Outcome>, u8), String> {
    let files = scenario_files(&args.paths)?;
    if files.is_empty() {
        return Err("no scenario files (*.toml) in the given paths".into());
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let etcd = crate::etcd_configs(args.etcd_config.as_deref(), args.etcd_flags.as_deref())
        .map_err(|_| "the etcd settings (--etcd-config, --etcd-flags) are invalid".to_string())?;
    let outcomes = run_all(&files, jobs, args.accept, &etcd);
    let code = summarize(&outcomes);
    if let Some(path) = &args.junit {
        fs::write(path, junit(&outcomes))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok((outcomes, code))
}

/// The `*.toml` files named or in the named folders, sorted within each folder.
fn scenario_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let default = [PathBuf::from("scenarios")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = fs::read_dir(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    Ok(files)
}

/// Every scenario on `jobs` threads; results in the files' order.
fn run_all(
    files: &[PathBuf],
    jobs: usize,
    accept: bool,
    etcd: &[etcdlab_scenario::EtcdConfig],
) -> Vec<Outcome> {
    let done = AtomicUsize::new(0);
    crate::parallel::map(files, jobs, |file| {
        let started = Instant::now();
        let outcome = test_one(file, accept, etcd);
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        eprintln!(
            "[{n}/{}] {}: {} ({:.1} s)",
            files.len(),
            outcome.name,
            label(&outcome.verdict),
            started.elapsed().as_secs_f64()
        );
        outcome
    })
}

fn label(v: &Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::New => "new snapshot written",
        Verdict::Accepted => "changed, accepted",
        Verdict::Fail { .. } => "FAIL",
    }
}

/// Runs one scenario and judges it.
fn test_one(file: &Path, accept: bool, etcd: &[etcdlab_scenario::EtcdConfig]) -> Outcome {
    let name = file
        .file_stem()
        .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let fail = |code, message| Outcome {
        name: name.clone(),
        file: file.to_path_buf(),
        verdict: Verdict::Fail { code, message },
    };
    // The user's etcd settings, under the scenario's own [cluster] keys.
    let source = fs::read_to_string(file).unwrap_or_default();
    let overrides: Vec<String> = etcd
        .iter()
        .flat_map(|c| c.overrides_for(&source).0)
        .collect();
    let sc = match etcdlab_scenario::load(file, &overrides) {
        Ok(sc) => sc,
        Err(e) => return fail(crate::EXIT_INVALID_INPUT, e.to_string()),
    };
    let result = match etcdlab_lab::simulate(&sc, None, None).map(|s| etcdlab_lab::judge(&sc, s)) {
        Ok(r) => r,
        Err(v) => return fail(crate::EXIT_INVARIANT, v.to_string()),
    };
    let mut summary = result.record.summary;
    // The file name only: a snapshot does not depend on where the suite was run from.
    summary.scenario_file = file
        .file_name()
        .map_or(String::new(), |f| f.to_string_lossy().into_owned());
    let mut problems = Vec::new();
    let mut code = 0;
    let violation_expected = etcdlab_lab::expects_check_failure(&sc);
    for c in &summary.checks {
        let failed = c.verdict != "pass";
        if failed && !(violation_expected && c.verdict == "fail") {
            problems.push(format!("checker {} verdict {}", c.checker, c.verdict));
            code = code.max(crate::EXIT_INVARIANT);
        }
    }
    for e in summary.expectations.iter().filter(|e| !e.ok) {
        let actual = e.actual.map_or("no data".to_string(), |v| format!("{v}"));
        problems.push(format!("expectation failed: {} (actual {actual})", e.name));
        code = code.max(crate::EXIT_EXPECT_FAILED);
    }
    let text = snapshot_text(&name, &etcdlab_report::summary_json(&summary));
    let snapshot = match compare_snapshot(file, &name, &text, accept) {
        Ok(s) => s,
        Err(e) => return fail(crate::EXIT_INVALID_INPUT, e),
    };
    if let Snapshot::Changed(diff) = &snapshot {
        problems.push(format!(
            "outcome differs from the accepted snapshot (etcdlab test --accept takes it):\n{diff}"
        ));
        code = code.max(crate::EXIT_EXPECT_FAILED);
    }
    if !problems.is_empty() {
        return fail(code, problems.join("\n"));
    }
    let verdict = match snapshot {
        Snapshot::Same => Verdict::Pass,
        Snapshot::New => Verdict::New,
        Snapshot::Accepted => Verdict::Accepted,
        Snapshot::Changed(_) => unreachable!("a changed outcome is a problem above"),
    };
    Outcome {
        name,
        file: file.to_path_buf(),
        verdict,
    }
}

fn snapshot_text(name: &str, summary_json: &str) -> String {
    format!("---\nsource: {SNAPSHOT_SOURCE}\nexpression: {name}\n---\n{summary_json}")
}

/// Where a scenario's accepted outcome is kept.
pub fn snapshot_path(file: &Path, name: &str) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("."));
    dir.join("__snapshots__").join(format!("{name}.snap"))
}

/// The outcome against the accepted snapshot: the same, new (written), accepted (written), or
/// changed (the diff).
fn compare_snapshot(file: &Path, name: &str, text: &str, accept: bool) -> Result<Snapshot, String> {
    let path = snapshot_path(file, name);
    let write = |verdict| {
        let dir = path.parent().expect("in a folder");
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(verdict)
    };
    let accepted = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return write(Snapshot::New),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if accepted == text {
        return Ok(Snapshot::Same);
    }
    if accept {
        return write(Snapshot::Accepted);
    }
    let diff = similar::TextDiff::from_lines(accepted.as_str(), text)
        .unified_diff()
        .context_radius(2)
        .header(&path.display().to_string(), "this run")
        .to_string();
    Ok(Snapshot::Changed(diff))
}

/// Prints what failed and the totals; returns the worst exit code.
fn summarize(outcomes: &[Outcome]) -> u8 {
    let mut code = 0;
    let (mut passed, mut new, mut accepted, mut failed) = (0, 0, 0, 0);
    for o in outcomes {
        match &o.verdict {
            Verdict::Pass => passed += 1,
            Verdict::New => new += 1,
            Verdict::Accepted => accepted += 1,
            Verdict::Fail { code: c, message } => {
                failed += 1;
                code = code.max(*c);
                eprintln!("\n--- {} failed:\n{message}", o.name);
            }
        }
    }
    eprintln!(
        "\n{} scenarios: {passed} passed, {new} new snapshots, {accepted} accepted, {failed} failed",
        outcomes.len()
    );
    code
}

/// JUnit XML: one test case per scenario; a failure carries what went wrong.
fn junit(outcomes: &[Outcome]) -> String {
    let failures = outcomes
        .iter()
        .filter(|o| matches!(o.verdict, Verdict::Fail { .. }))
        .count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"etcdlab\" tests=\"{}\" failures=\"{failures}\">",
        outcomes.len(),
        outcomes.len()
    );
    for o in outcomes {
        let name = xml_escape(&o.name);
        match &o.verdict {
            Verdict::Fail { message, .. } => {
                let first = message.lines().next().unwrap_or("failed");
                let _ = writeln!(
                    xml,
                    "    <testcase classname=\"etcdlab.scenarios\" name=\"{name}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    xml_escape(first),
                    xml_escape(message)
                );
            }
            v => {
                let _ = writeln!(
                    xml,
                    "    <testcase classname=\"etcdlab.scenarios\" name=\"{name}\"><system-out>{}</system-out></testcase>",
                    label(v)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// The results for machines: each scenario's verdict (and, when it failed, its exit code and
/// what went wrong), the totals and the exit code; `error`: why the suite could not run.
fn json(outcomes: &[Outcome], code: u8, error: Option<&str>) -> String {
    let count = |label: &str| {
        outcomes
            .iter()
            .filter(|o| json_verdict(&o.verdict) == label)
            .count()
    };
    let scenarios: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            let mut v = serde_json::json!({
                "name": o.name,
                "file": o.file.display().to_string(),
                "verdict": json_verdict(&o.verdict),
            });
            if let Verdict::Fail { code, message } = &o.verdict {
                v["exit_code"] = (*code).into();
                v["message"] = message.as_str().into();
            }
            v
        })
        .collect();
    let mut doc = serde_json::json!({
        "scenarios": scenarios,
        "passed": count("pass"),
        "new": count("new"),
        "accepted": count("accepted"),
        "failed": count("fail"),
        "exit_code": code,
    });
    if let Some(e) = error {
        doc["error"] = e.into();
    }
    serde_json::to_string_pretty(&doc).expect("JSON values serialize")
}

fn json_verdict(v: &Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::New => "new",
        Verdict::Accepted => "accepted",
        Verdict::Fail { .. } => "fail",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
