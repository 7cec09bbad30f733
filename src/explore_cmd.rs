//! `etcdlab explore`: draws random runs (`etcdlab_lab::explore::Case`), runs them in
//! parallel, judges each for safety and liveness, and writes every failing run as a scenario
//! with its shrunk minimal twin (docs/explore.md).

use etcdlab_lab::explore::{judge, shrink, Base, Case, Verdict, FAULT_KINDS};
use etcdlab_lab::EtcdBug;
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Run only slice I of N (1-based: runs i with i mod N = I - 1), e.g. one per machine;
    /// `etcdlab explore-merge` combines the slices' folders.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Print the summary as JSON on stdout (as summary.json), not as lines.
    #[arg(long)]
    json: bool,
    /// Shrink every failing run. Default: only the first run that fails each check (the
    /// others are written as found: a bug that fails many runs is shrunk once).
    #[arg(long)]
    shrink_all: bool,
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

struct Ran {
    index: u64,
    case: Case,
    verdict: Verdict,
    wall_s: f64,
}

pub fn explore(args: &ExploreArgs) -> u8 {
    let shard = match args.shard.as_deref().map(etcdlab_sweep::plan::parse_shard) {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return crate::EXIT_INVALID_INPUT;
        }
        Some(Ok(s)) => s,
        None => (1, 1),
    };
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
    let indexes: Vec<u64> = (0..args.runs)
        .filter(|i| *i % shard.1 as u64 == shard.0 as u64 - 1)
        .collect();
    let ran = run_all(args, &indexes, jobs, budget, bug, base);
    let failures = write_failures(&args.out, &ran, bug, jobs, args.shrink_all);
    let summary = summary_json(args, shard, bug, &ran, &failures);
    let path = args.out.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).expect("json") + "\n";
    if let Err(e) = fs::write(&path, &text) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return crate::EXIT_INVALID_INPUT;
    }
    if args.json {
        print!("{text}");
    } else {
        print_summary(&ran, &failures);
    }
    if ran.iter().any(|r| matches!(r.verdict, Verdict::Invalid(_))) {
        return crate::EXIT_INVALID_INPUT;
    }
    u8::from(!failures.is_empty())
}

/// Every run on `jobs` threads, until the runs or the time budget are spent (a run not
/// started by then is left out); results in run order.
fn run_all(
    args: &ExploreArgs,
    indexes: &[u64],
    jobs: usize,
    budget: Option<std::time::Duration>,
    bug: Option<EtcdBug>,
    base: Option<std::sync::Arc<Base>>,
) -> Vec<Ran> {
    let started = Instant::now();
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let ran = crate::parallel::map(indexes, jobs, |&index| {
        if budget.is_some_and(|b| started.elapsed() >= b) {
            return None;
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
        let eta_s = started.elapsed().as_secs_f64() / n as f64 * (indexes.len() - n) as f64;
        eprintln!(
            "[{n}/{}] run {index}: {} ({wall_s:.1} s); not passed so far {}, ETA {eta_s:.0} s",
            indexes.len(),
            label(&verdict),
            failed.load(Ordering::SeqCst)
        );
        Some(Ran {
            index,
            case,
            verdict,
            wall_s,
        })
    });
    let ran: Vec<Ran> = ran.into_iter().flatten().collect();
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

/// A failure written out: its run, the check, and the scenario files.
struct Written {
    index: u64,
    check: String,
    detail: String,
    original: PathBuf,
    /// The shrunk case, its faults and the runs shrinking spent; None when not shrunk.
    minimal: Option<(PathBuf, usize, u32)>,
}

/// The check a run failed, if it failed.
fn failed_check(v: &Verdict) -> Option<&str> {
    match v {
        Verdict::Fail { check, .. } => Some(check),
        _ => None,
    }
}

/// Each failing run as `failures/<run>/original.toml`, and the first that fails each check
/// (every one with `shrink_all`) shrunk to `minimal.toml` (the same check still fails it),
/// with the commands that replay them. Which runs shrink does not depend on sharding: the
/// first run failing a check overall is the first in its shard too, and `explore-merge`
/// drops the others' minimal cases. Failures shrink in parallel, each on its own (shrinking
/// one is a sequence of runs); the result is in run order.
fn write_failures(
    out: &Path,
    ran: &[Ran],
    bug: Option<EtcdBug>,
    jobs: usize,
    shrink_all: bool,
) -> Vec<Written> {
    let mut checks_seen = std::collections::BTreeSet::new();
    let failing: Vec<(&Ran, bool)> = (ran.iter())
        .filter_map(|r| {
            let check = failed_check(&r.verdict)?;
            Some((r, checks_seen.insert(check) || shrink_all))
        })
        .collect();
    crate::parallel::map(&failing, jobs, |(r, shrinks)| {
        write_failure(out, r, bug, *shrinks)
    })
}

fn write_failure(out: &Path, r: &Ran, bug: Option<EtcdBug>, shrinks: bool) -> Written {
    let Verdict::Fail { check, detail } = &r.verdict else {
        unreachable!("only failures are written")
    };
    let dir = out.join("failures").join(r.index.to_string());
    let _ = fs::create_dir_all(&dir);
    let original = dir.join("original.toml");
    let minimal_path = dir.join("minimal.toml");
    let env = bug.map_or(String::new(), |b| {
        format!("ETCDLAB_INJECT_BUG={} ", b.name())
    });
    // Relative to the output folder, so that the files do not depend on where it is (and
    // merged shards write what one exploration writes).
    let title = |what: &str, path: &Path| {
        format!(
            "{what} of explore run {} ({check} failed). Replay, in the explore output folder: {env}etcdlab run {}",
            r.index,
            relative(out, path)
        )
    };
    let _ = fs::write(
        &original,
        r.case.to_toml(&title("The failing case", &original)),
    );
    let mut written = Written {
        index: r.index,
        check: check.clone(),
        detail: detail.clone(),
        original,
        minimal: None,
    };
    if shrinks {
        eprintln!("shrinking run {} ({check} failed)...", r.index);
        let same_check =
            |c: &Case| matches!(judge(c, bug), Verdict::Fail { check: k, .. } if k == *check);
        let (minimal, shrink_runs) = shrink(&r.case, same_check);
        let _ = fs::write(
            &minimal_path,
            minimal.to_toml(&title("The smallest case that still fails", &minimal_path)),
        );
        written.minimal = Some((minimal_path, minimal.faults.len(), shrink_runs));
    }
    written
}

fn summary_json(
    args: &ExploreArgs,
    shard: (usize, usize),
    bug: Option<EtcdBug>,
    ran: &[Ran],
    failures: &[Written],
) -> serde_json::Value {
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
        "base": args.base.as_ref().map(|b| b.display().to_string()),
        "injected_bug": bug.map(|b| b.name()),
        "shard": (shard.1 > 1).then(|| json!({ "index": shard.0, "count": shard.1 })),
        "shrink_all": args.shrink_all,
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
            "minimal": w.minimal.as_ref().map(|m| relative(&args.out, &m.0)),
            "minimal_faults": w.minimal.as_ref().map(|m| m.1),
            "shrink_runs": w.minimal.as_ref().map_or(0, |m| m.2),
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
        match &w.minimal {
            Some((path, faults, runs)) => println!(
                "run {}: {} failed; minimal ({faults} faults, {runs} shrink runs): etcdlab run {}",
                w.index,
                w.check,
                path.display()
            ),
            None => println!(
                "run {}: {} failed (not shrunk: an earlier run failed it): etcdlab run {}",
                w.index,
                w.check,
                w.original.display()
            ),
        }
    }
}

/// `etcdlab explore-merge DIR... --out DIR`: the shards' folders of one exploration (same
/// seed, runs, base and injected bug; every shard once) as the folder one unsharded
/// exploration writes. Returns the exit code `explore` would have returned.
pub fn merge(dirs: &[PathBuf], out: &Path) -> u8 {
    match try_merge(dirs, out) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            crate::EXIT_INVALID_INPUT
        }
    }
}

fn try_merge(dirs: &[PathBuf], out: &Path) -> Result<u8, String> {
    let read = |dir: &PathBuf| -> Result<serde_json::Value, String> {
        let path = dir.join("summary.json");
        let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let summaries = dirs.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    let first = &summaries[0];
    let mut seen = vec![false; dirs.len()];
    for (dir, s) in dirs.iter().zip(&summaries) {
        for key in ["seed", "base", "injected_bug", "runs_asked", "shrink_all"] {
            if s[key] != first[key] {
                return Err(format!(
                    "{} is of another exploration: its {key} is {}, {}'s is {}",
                    dir.display(),
                    s[key],
                    dirs[0].display(),
                    first[key]
                ));
            }
        }
        let (index, count) = (s["shard"]["index"].as_u64(), s["shard"]["count"].as_u64());
        let (Some(index), Some(count)) = (index, count) else {
            return Err(format!(
                "{} is not a shard (explore --shard I/N)",
                dir.display()
            ));
        };
        if index == 0 || index > count {
            return Err(format!(
                "{}: shard {index} of {count} is not a shard explore writes",
                dir.display()
            ));
        }
        if count as usize != dirs.len() {
            return Err(format!(
                "{} is shard {index} of {count}, but {} folders were given",
                dir.display(),
                dirs.len()
            ));
        }
        let slot = &mut seen[index as usize - 1];
        if std::mem::replace(slot, true) {
            return Err(format!("shard {index}/{count} is given twice"));
        }
    }
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut merged = first.clone();
    merged["shard"] = serde_json::Value::Null;
    for key in ["runs", "passed", "failed", "undecided", "invalid"] {
        let sum: u64 = summaries.iter().filter_map(|s| s[key].as_u64()).sum();
        merged[key] = json!(sum);
    }
    for kind in FAULT_KINDS {
        let sum: u64 = (summaries.iter())
            .filter_map(|s| s["runs_with_fault_kind"][kind.name()].as_u64())
            .sum();
        merged["runs_with_fault_kind"][kind.name()] = json!(sum);
    }
    let mut failures: Vec<serde_json::Value> = (summaries.iter())
        .flat_map(|s| s["failures"].as_array().cloned().unwrap_or_default())
        .collect();
    failures.sort_by_key(|f| f["run"].as_u64());
    // Unsharded, only the first run failing a check is shrunk (without shrink_all).
    if first["shrink_all"] != json!(true) {
        let mut checks_seen = std::collections::BTreeSet::new();
        for f in &mut failures {
            if !checks_seen.insert(f["check"].to_string()) {
                f["minimal"] = serde_json::Value::Null;
                f["minimal_faults"] = serde_json::Value::Null;
                f["shrink_runs"] = json!(0);
            }
        }
    }
    for (dir, s) in dirs.iter().zip(&summaries) {
        let runs: Vec<u64> = s["failures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["run"].as_u64())
            .collect();
        for f in failures
            .iter()
            .filter(|f| f["run"].as_u64().is_some_and(|r| runs.contains(&r)))
        {
            for file in ["original", "minimal"] {
                let Some(name) = f[file].as_str() else {
                    continue;
                };
                let to = out.join(name);
                if let Some(parent) = to.parent() {
                    fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                fs::copy(dir.join(name), &to)
                    .map_err(|e| format!("{}: {e}", dir.join(name).display()))?;
            }
        }
    }
    merged["failures"] = json!(failures);
    let path = out.join("summary.json");
    let text = serde_json::to_string_pretty(&merged).expect("json") + "\n";
    fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!(
        "explore-merge: {} runs, {} passed, {} failed -> {}",
        merged["runs"],
        merged["passed"],
        merged["failed"],
        out.display()
    );
    if merged["invalid"].as_u64() != Some(0) {
        return Ok(crate::EXIT_INVALID_INPUT);
    }
    Ok(u8::from(merged["failed"].as_u64() != Some(0)))
}
