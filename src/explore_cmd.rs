//! `etcdlab explore`: draws random runs (`etcdlab_lab::explore::Case`), runs them in
//! parallel, judges each for safety and liveness, and writes every failing run as a scenario
//! with its shrunk minimal twin (docs/explore.md).

use etcdlab_lab::explore::{shrink, Base, Case, FAULT_KINDS};
use etcdlab_lab::EtcdBug;
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(clap::Args)]
pub struct ExploreArgs {
    /// Your scenario to explore around: its [cluster], [disk] and [network] replace the drawn
    /// ones (its workload, timeline and other tables are not used). Default: a drawn cluster.
    base: Option<PathBuf>,
    /// Runs to draw.
    #[arg(long, default_value_t = 100)]
    runs: u64,
    /// Runs at once. Default: the machine's cores.
    #[arg(long)]
    jobs: Option<usize>,
    /// The exploration's seed: run i is drawn from (seed, i), so the same seed draws the same
    /// runs on any machine.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start no new run after this much wall time (e.g. "10m"). Which runs happen then depends
    /// on the machine's speed; each run and its verdict do not.
    #[arg(long, value_name = "DURATION")]
    time_budget: Option<String>,
    /// Output folder: summary.json, and failures/<run>/{original,minimal}.toml.
    #[arg(long)]
    out: PathBuf,
}

/// The user's scenario as a base: it must load (errors name its file, line and field); its
/// `[cluster]`, `[disk]` and `[network]` tables are kept as written.
fn read_base(path: &Path) -> Result<Base, String> {
    let sc = etcdlab_scenario::load(path, &[]).map_err(|e| e.to_string())?;
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut kept = toml::Table::new();
    for key in ["cluster", "disk", "network"] {
        if let Some(v) = doc.get(key) {
            kept.insert(key.to_string(), v.clone());
        }
    }
    Ok(Base {
        file: path.display().to_string(),
        tables: toml::to_string(&kept).map_err(|e| e.to_string())?,
        size: sc.cluster.size,
        heartbeat_ms: sc.cluster.heartbeat_interval_ms,
        election_timeout_ms: sc.cluster.election_timeout_ms,
    })
}

/// How one run did.
#[derive(Clone, Debug, PartialEq)]
enum Verdict {
    Pass,
    /// A check failed: the checker (`invariant` for a raft invariant) and what it said.
    Fail {
        check: String,
        detail: String,
    },
    /// A checker ran out of its budget: not a pass, not a failure.
    Undecided {
        check: String,
    },
    /// The drawn scenario did not load: a bug of the generator.
    Invalid(String),
}

struct Ran {
    index: u64,
    case: Case,
    verdict: Verdict,
    wall_s: f64,
}

pub fn explore(args: &ExploreArgs) -> u8 {
    let budget = match args
        .time_budget
        .as_deref()
        .map(etcdlab_scenario::parse_duration)
    {
        Some(Err(e)) => {
            eprintln!("error: --time-budget: {e}");
            return crate::EXIT_INVALID_INPUT;
        }
        Some(Ok(ns)) => Some(std::time::Duration::from_nanos(ns)),
        None => None,
    };
    let bug = match std::env::var("ETCDLAB_INJECT_BUG") {
        Ok(name) => match EtcdBug::parse(&name) {
            Some(b) => Some(b),
            None => {
                eprintln!("error: ETCDLAB_INJECT_BUG={name:?} is not a bug the lab knows");
                return crate::EXIT_INVALID_INPUT;
            }
        },
        Err(_) => None,
    };
    let base = match args.base.as_deref().map(read_base).transpose() {
        Ok(b) => b.map(std::sync::Arc::new),
        Err(e) => {
            eprintln!("error: {e}");
            return crate::EXIT_INVALID_INPUT;
        }
    };
    if let Err(e) = fs::create_dir_all(&args.out) {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return crate::EXIT_INVALID_INPUT;
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let ran = run_all(args, jobs, budget, bug, base);
    let failures = write_failures(&args.out, &ran, bug);
    let summary = summary_json(args, &ran, &failures);
    let path = args.out.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).expect("json") + "\n";
    if let Err(e) = fs::write(&path, text) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return crate::EXIT_INVALID_INPUT;
    }
    print_summary(&ran, &failures);
    if ran.iter().any(|r| matches!(r.verdict, Verdict::Invalid(_))) {
        return crate::EXIT_INVALID_INPUT;
    }
    u8::from(!failures.is_empty())
}

/// Every run on `jobs` threads, until the runs or the time budget are spent; results in run
/// order.
fn run_all(
    args: &ExploreArgs,
    jobs: usize,
    budget: Option<std::time::Duration>,
    bug: Option<EtcdBug>,
    base: Option<std::sync::Arc<Base>>,
) -> Vec<Ran> {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let results: Mutex<Vec<Ran>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(args.runs as usize) {
            s.spawn(|| loop {
                if budget.is_some_and(|b| started.elapsed() >= b) {
                    return;
                }
                let index = next.fetch_add(1, Ordering::SeqCst) as u64;
                if index >= args.runs {
                    return;
                }
                let case = match &base {
                    Some(b) => Case::draw(args.seed, index).with_base(b.clone()),
                    None => Case::draw(args.seed, index),
                };
                let t = Instant::now();
                let verdict = judge(&case, bug);
                let wall_s = t.elapsed().as_secs_f64();
                if !matches!(verdict, Verdict::Pass) {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                let eta_s = started.elapsed().as_secs_f64() / n as f64 * (args.runs as usize - n) as f64;
                eprintln!(
                    "[{n}/{}] run {index}: {} ({wall_s:.1} s); not passed so far {}, ETA {eta_s:.0} s",
                    args.runs,
                    label(&verdict),
                    failed.load(Ordering::SeqCst)
                );
                results.lock().expect("no panics").push(Ran {
                    index,
                    case,
                    verdict,
                    wall_s,
                });
            });
        }
    });
    let mut ran = results.into_inner().expect("no panics");
    ran.sort_by_key(|r| r.index);
    ran
}

fn label(v: &Verdict) -> String {
    match v {
        Verdict::Pass => "pass".into(),
        Verdict::Fail { check, .. } => format!("FAIL ({check})"),
        Verdict::Undecided { check } => format!("undecided ({check})"),
        Verdict::Invalid(e) => format!("INVALID ({e})"),
    }
}

/// Runs `case` and judges it; a panic of the simulator is a failure too (the exploration
/// goes on, and the case is written out like any other failure).
fn judge(case: &Case, bug: Option<EtcdBug>) -> Verdict {
    let run = std::panic::AssertUnwindSafe(|| judge_run(case, bug));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        let detail = (panic.downcast_ref::<String>().cloned())
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".to_string());
        Verdict::Fail {
            check: "panic".into(),
            detail,
        }
    })
}

/// A raft invariant, then the clients' checkers and liveness.
fn judge_run(case: &Case, bug: Option<EtcdBug>) -> Verdict {
    let text = case.to_toml("explore");
    let sc = match etcdlab_scenario::parse_str(&text, "explore.toml", &[]) {
        Ok(sc) => sc,
        Err(e) => return Verdict::Invalid(e.to_string()),
    };
    let result = match bug {
        Some(b) => etcdlab_lab::run_with_bug(&sc, b),
        None => etcdlab_lab::run(&sc),
    };
    let r = match result {
        Ok(r) => r,
        Err(v) => {
            return Verdict::Fail {
                check: "invariant".into(),
                detail: v.to_string(),
            }
        }
    };
    if let Some(v) = r.invariant_broken {
        return Verdict::Fail {
            check: "invariant".into(),
            detail: v.to_string(),
        };
    }
    let checks = &r.record.summary.checks;
    if let Some(c) = checks.iter().find(|c| c.verdict == "fail") {
        return Verdict::Fail {
            check: c.checker.clone(),
            detail: c.failure.clone().unwrap_or_default(),
        };
    }
    match checks.iter().find(|c| c.verdict != "pass") {
        Some(c) => Verdict::Undecided {
            check: c.checker.clone(),
        },
        None => Verdict::Pass,
    }
}

/// A failure written out: its run, the check, and the two scenario files.
struct Written {
    index: u64,
    check: String,
    detail: String,
    original: PathBuf,
    minimal: PathBuf,
    shrink_runs: u32,
    minimal_faults: usize,
}

/// Each failing run as `failures/<run>/original.toml`, shrunk to `minimal.toml` (the same
/// check still fails it), with the commands that replay them.
fn write_failures(out: &Path, ran: &[Ran], bug: Option<EtcdBug>) -> Vec<Written> {
    let mut written = Vec::new();
    for r in ran {
        let Verdict::Fail { check, detail } = &r.verdict else {
            continue;
        };
        let dir = out.join("failures").join(r.index.to_string());
        let _ = fs::create_dir_all(&dir);
        eprintln!("shrinking run {} ({check} failed)...", r.index);
        let same_check =
            |c: &Case| matches!(judge(c, bug), Verdict::Fail { check: k, .. } if k == *check);
        let (minimal, shrink_runs) = shrink(&r.case, same_check);
        let original = dir.join("original.toml");
        let minimal_path = dir.join("minimal.toml");
        let env = bug.map_or(String::new(), |b| {
            format!("ETCDLAB_INJECT_BUG={} ", b.name())
        });
        let title = |what: &str, path: &Path| {
            format!(
                "{what} of explore run {} ({check} failed). Replay: {env}etcdlab run {}",
                r.index,
                path.display()
            )
        };
        let _ = fs::write(
            &original,
            r.case.to_toml(&title("The failing case", &original)),
        );
        let _ = fs::write(
            &minimal_path,
            minimal.to_toml(&title("The smallest case that still fails", &minimal_path)),
        );
        written.push(Written {
            index: r.index,
            check: check.clone(),
            detail: detail.clone(),
            original,
            minimal: minimal_path,
            shrink_runs,
            minimal_faults: minimal.faults.len(),
        });
    }
    written
}

fn summary_json(args: &ExploreArgs, ran: &[Ran], failures: &[Written]) -> serde_json::Value {
    let count = |f: &dyn Fn(&Verdict) -> bool| ran.iter().filter(|r| f(&r.verdict)).count();
    let mut by_kind = serde_json::Map::new();
    for kind in FAULT_KINDS {
        let runs = ran
            .iter()
            .filter(|r| r.case.kinds_used().contains(&kind))
            .count();
        by_kind.insert(kind.name().to_string(), json!(runs));
    }
    json!({
        "seed": args.seed,
        "runs_asked": args.runs,
        "runs": ran.len(),
        "passed": count(&|v| *v == Verdict::Pass),
        "failed": failures.len(),
        "undecided": count(&|v| matches!(v, Verdict::Undecided { .. })),
        "invalid": count(&|v| matches!(v, Verdict::Invalid(_))),
        "runs_with_fault_kind": by_kind,
        "failures": failures.iter().map(|w| json!({
            "run": w.index,
            "check": w.check,
            "detail": w.detail,
            "original": relative(&args.out, &w.original),
            "minimal": relative(&args.out, &w.minimal),
            "minimal_faults": w.minimal_faults,
            "shrink_runs": w.shrink_runs,
        })).collect::<Vec<_>>(),
    })
}

/// `path` inside the output folder, as written in summary.json (so that the file does not
/// depend on where the folder is).
fn relative(out: &Path, path: &Path) -> String {
    let inside = path.strip_prefix(out).unwrap_or(path);
    inside.to_string_lossy().replace('\\', "/")
}

fn print_summary(ran: &[Ran], failures: &[Written]) {
    let wall: f64 = ran.iter().map(|r| r.wall_s).sum();
    let passed = ran.iter().filter(|r| r.verdict == Verdict::Pass).count();
    println!(
        "explore: {} runs, {passed} passed, {} failed ({wall:.0} s of runs)",
        ran.len(),
        failures.len()
    );
    for r in ran
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Undecided { .. } | Verdict::Invalid(_)))
    {
        println!("run {}: {}", r.index, label(&r.verdict));
    }
    for w in failures {
        println!(
            "run {}: {} failed; minimal ({} faults, {} shrink runs): etcdlab run {}",
            w.index,
            w.check,
            w.minimal_faults,
            w.shrink_runs,
            w.minimal.display()
        );
    }
}
