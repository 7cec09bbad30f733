//! `etcdlab`: run, validate and benchmark etcd cluster scenarios in a deterministic simulator.
//!
//! Exit codes: 0 ok; 1 an `[[expect]]` failed; 2 invalid input (including a missing file);
//! 3 an invariant was violated.

mod check;
mod explore_cmd;
mod parallel;
mod sensitivity;
mod test_cmd;

use clap::{Parser, Subcommand};
use etcdlab_sim::alloc_count::{self, Counting};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Counts heap allocations per thread for `etcdlab bench` (a few ns per allocation).
#[global_allocator]
static ALLOCATOR: Counting = Counting;

const EXIT_EXPECT_FAILED: u8 = 1;
const EXIT_INVALID_INPUT: u8 = 2;
const EXIT_INVARIANT: u8 = 3;

#[derive(Parser)]
#[command(
    name = "etcdlab",
    version,
    about = "A deterministic cluster simulator and chaos lab for etcd"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct ScenarioArgs {
    /// The scenario file (TOML), e.g. scenarios/baseline-ssd.toml.
    scenario: PathBuf,
    /// Override the scenario's seed (0 to 9223372036854775807, as TOML integers allow).
    #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
    seed: Option<u64>,
    /// Override any scenario key by its dotted path, e.g. --set cluster.election_timeout_ms=3000.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
    /// Your etcd's config file (etcd.conf.yaml): its settings fill the scenario's [cluster]
    /// where the scenario does not set them (docs/scenarios.md, "Your etcd's settings").
    #[arg(long, value_name = "FILE")]
    etcd_config: Option<PathBuf>,
    /// Your etcd's flags, e.g. '--heartbeat-interval=250 --election-timeout=2500', as
    /// --etcd-config (after it, so a flag wins over the file).
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    etcd_flags: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write its report (summary.json, report.md, charts, metrics.om).
    Run {
        #[command(flatten)]
        args: ScenarioArgs,
        /// Output folder. Default: reports/<scenario name>/.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a scenario file without running it.
    Validate {
        #[command(flatten)]
        args: ScenarioArgs,
    },
    /// Measure simulator speed and memory on a scenario (default: scenarios/baseline-ssd.toml):
    /// wall time, events, heap allocations and live heap per client write, the time to judge
    /// and to write the report (into a temporary folder, removed after).
    Bench {
        #[arg(default_value = "scenarios/baseline-ssd.toml")]
        scenario: PathBuf,
        /// Override any scenario key, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Print the figures as one JSON object instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Run a parameter grid x seeds in parallel; write sweep.csv/json, aggregate.csv, heatmaps,
    /// report.md (see docs/sweeps.md).
    Sweep {
        /// The scenario file; a `[sweep]` table in it declares the grid.
        scenario: PathBuf,
        /// A swept key and its values: PATH=V1,V2,... or PATH=FROM..TO:STEP (inclusive).
        #[arg(long = "param", value_name = "PATH=VALUES")]
        params: Vec<String>,
        /// Seeds per grid point (the scenario's seed and the next ones). Default: [sweep] seeds, else 1.
        #[arg(long)]
        seeds: Option<u32>,
        /// Override a scenario key in every run, as for `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        overrides: Vec<String>,
        /// Runs in parallel. Default: all cores.
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only slice I of N (1-based) of the runs; merge with `sweep-merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Output folder. Default: reports/<scenario name>/ (with "-sweep" appended unless the
        /// name starts with "sweep").
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check a client history (`history.jsonl`, from a run or recorded against a real etcd; see
    /// docs/history-format.md) for linearizability against etcd's key-value model. Exit 0: pass,
    /// 2: unreadable, 3: a violation (the failing window is printed), 4: undecided.
    Check {
        history: PathBuf,
        /// Search steps before giving up with "undecided" (default 200 million).
        #[arg(long)]
        max_steps: Option<u64>,
        /// On a violation, draw the failing window into this SVG file.
        #[arg(long, value_name = "FILE")]
        picture: Option<PathBuf>,
    },
    /// Print the [cluster] table your etcd's config file (etcd.conf.yaml) or flags map to
    Config {
        file: Option<PathBuf>,
        #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
        etcd_flags: Option<String>,
    },
    /// Run scenarios as a test suite: their expectations, the clients' checkers, and each
    /// outcome against its accepted snapshot (`__snapshots__/<name>.snap` next to it; see
    /// docs/ci.md). Exit 0: all pass; 1: an expectation failed or an outcome changed; 2:
    /// invalid input; 3: an invariant or a checker failed
    Test(test_cmd::TestArgs),
    /// Randomized chaos: draw runs (cluster, [traffic] clients, a fault schedule from a random
    /// subset of fault kinds), check safety and liveness, write each failing run as a scenario
    /// with a shrunk minimal one (docs/explore.md). Exit 0: every run passed; 1: a run failed;
    /// 2: invalid input
    Explore(explore_cmd::ExploreArgs),
    /// Combine the output folders of all shards of an exploration (`explore --shard I/N`) into
    /// the folder one exploration would write. Exit codes as `explore`'s
    ExploreMerge {
        /// The shards' output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Combine the output folders of all shards of a sweep into the files one run would write.
    SweepMerge {
        /// The shards' output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Debug output (e.g. `ETCDLAB_LOG=etcdlab::roles=debug`) to stderr; off unless asked for.
fn init_debug_log() {
    let Ok(spec) = std::env::var("ETCDLAB_LOG") else {
        return;
    };
    match tracing_subscriber::EnvFilter::try_new(&spec) {
        Err(e) => eprintln!(
            "warning: ETCDLAB_LOG={spec:?} is not a tracing filter ({e}); no debug output"
        ),
        Ok(filter) => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .without_time()
            .with_target(false)
            .init(),
    }
}

fn main() -> ExitCode {
    init_debug_log();
    let cli = Cli::parse();
    match cli.command {
        Command::Run { args, out } => match with_etcd_settings(&args) {
            Ok((args, note)) => run(&args, out, note),
            Err(code) => code,
        },
        Command::Validate { args } => match with_etcd_settings(&args) {
            Ok((args, _)) => validate(&args),
            Err(code) => code,
        },
        Command::Config { file, etcd_flags } => config(file.as_deref(), etcd_flags.as_deref()),
        Command::Bench {
            scenario,
            overrides,
            json,
        } => bench(&scenario, &overrides, json),
        Command::Sweep {
            scenario,
            params,
            seeds,
            overrides,
            jobs,
            shard,
            out,
        } => sweep(etcdlab_sweep::SweepArgs {
            scenario,
            params,
            sets: overrides,
            seeds,
            jobs,
            shard,
            out,
        }),
        Command::SweepMerge { dirs, out } => sweep_merge(&dirs, &out),
        Command::Check {
            history,
            max_steps,
            picture,
        } => check::check_file(&history, max_steps, picture.as_deref()),
        Command::Test(args) => ExitCode::from(test_cmd::test(&args)),
        Command::Explore(args) => ExitCode::from(explore_cmd::explore(&args)),
        Command::ExploreMerge { dirs, out } => ExitCode::from(explore_cmd::merge(&dirs, &out)),
    }
}

fn sweep(args: etcdlab_sweep::SweepArgs) -> ExitCode {
    ExitCode::from(etcdlab_sweep::sweep(&args))
}

fn sweep_merge(dirs: &[PathBuf], out: &Path) -> ExitCode {
    ExitCode::from(etcdlab_sweep::merge(dirs, out))
}

fn load(args: &ScenarioArgs) -> Result<etcdlab_scenario::Scenario, ExitCode> {
    let mut overrides = args.overrides.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    let sc = etcdlab_scenario::load(&args.scenario, &overrides).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID_INPUT)
    })?;
    if let Err(e) = etcdlab_lab::check_alert_rules(&sc) {
        eprintln!("error: {}: {e}", args.scenario.display());
        return Err(ExitCode::from(EXIT_INVALID_INPUT));
    }
    Ok(sc)
}

fn validate(args: &ScenarioArgs) -> ExitCode {
    match load(args) {
        Ok(sc) => {
            println!(
                "{}: ok ({} members, {} timeline events, {} expectations)",
                args.scenario.display(),
                sc.cluster.size,
                sc.timeline.len(),
                sc.expect.len()
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// The user's etcd settings (`--etcd-config`, then `--etcd-flags`) as `--set` overrides for
/// the `[cluster]` keys the scenario leaves out, before the user's own `--set`s (which win);
/// and a note for the report saying what came from where.
fn with_etcd_settings(args: &ScenarioArgs) -> Result<(ScenarioArgs, Option<String>), ExitCode> {
    let configs = etcd_configs(args.etcd_config.as_deref(), args.etcd_flags.as_deref())?;
    if configs.is_empty() {
        return Ok((args.clone(), None));
    }
    let source = std::fs::read_to_string(&args.scenario).unwrap_or_default();
    let mut sets = Vec::new();
    let mut parts = Vec::new();
    for c in &configs {
        let (s, taken) = c.overrides_for(&source);
        sets.extend(s);
        let mut part = format!("from {}: {}", c.source, or_none(&taken));
        if !c.ignored.is_empty() {
            part.push_str(&format!(
                "; ignored (not modelled): {}",
                c.ignored.join(", ")
            ));
        }
        parts.push(part);
    }
    sets.extend(args.overrides.iter().cloned());
    let note = format!(
        "Your etcd's settings fill [cluster] where the scenario does not set it ({}; the scenario's own keys and --set win).",
        parts.join("; ")
    );
    let resolved = ScenarioArgs {
        overrides: sets,
        etcd_config: None,
        etcd_flags: None,
        ..args.clone()
    };
    Ok((resolved, Some(note)))
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "nothing".into()
    } else {
        items.join(", ")
    }
}

fn etcd_configs(
    file: Option<&Path>,
    flags: Option<&str>,
) -> Result<Vec<etcdlab_scenario::EtcdConfig>, ExitCode> {
    let fail = |e: etcdlab_scenario::ScenarioError| {
        eprintln!("error: {e}");
        ExitCode::from(EXIT_INVALID_INPUT)
    };
    let mut configs = Vec::new();
    if let Some(f) = file {
        configs.push(etcdlab_scenario::read_etcd_config_file(f).map_err(fail)?);
    }
    if let Some(f) = flags {
        configs.push(etcdlab_scenario::read_etcd_flags(f).map_err(fail)?);
    }
    Ok(configs)
}

/// `etcdlab config`: the `[cluster]` table an etcd config maps to.
fn config(file: Option<&Path>, flags: Option<&str>) -> ExitCode {
    match etcd_configs(file, flags) {
        Ok(configs) if configs.is_empty() => {
            eprintln!("error: give an etcd config file, or --etcd-flags");
            ExitCode::from(EXIT_INVALID_INPUT)
        }
        Ok(configs) => {
            for c in configs {
                print!("{}", c.cluster_toml());
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

fn run(args: &ScenarioArgs, out: Option<PathBuf>, etcd_note: Option<String>) -> ExitCode {
    let sc = match load(args) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    // A test hook: prove end to end that a broken invariant stops the run with exit code 3.
    let injection = match std::env::var("ETCDLAB_INJECT_VIOLATION") {
        Ok(name) => match etcdlab_lab::Injection::parse(&name) {
            Some(i) => Some(i),
            None => {
                eprintln!("error: ETCDLAB_INJECT_VIOLATION: unknown injection {name:?}");
                return ExitCode::from(EXIT_INVALID_INPUT);
            }
        },
        Err(_) => None,
    };
    // Proof that the checkers bite: the simulated etcd misbehaves like a real bug.
    let bug = match std::env::var("ETCDLAB_INJECT_BUG") {
        Ok(name) => match etcdlab_lab::EtcdBug::parse(&name) {
            Some(b) => Some(b),
            None => {
                let known: Vec<&str> = etcdlab_lab::EtcdBug::ALL.iter().map(|b| b.0).collect();
                eprintln!(
                    "error: ETCDLAB_INJECT_BUG: unknown bug {name:?}; known: {}",
                    known.join(", ")
                );
                return ExitCode::from(EXIT_INVALID_INPUT);
            }
        },
        Err(_) => None,
    };
    if let Some(spec) = &sc.sensitivity {
        // Check every value before the long runs start, so a bad table costs nothing.
        for value in &spec.values {
            let mut sets = args.overrides.clone();
            sets.push(format!("{}={value}", spec.param));
            if let Err(e) = etcdlab_scenario::load(&args.scenario, &sets) {
                eprintln!(
                    "error: {}: sensitivity.param: {}={value} makes the scenario invalid: {e}",
                    args.scenario.display(),
                    spec.param
                );
                return ExitCode::from(EXIT_INVALID_INPUT);
            }
        }
    }
    let started = Instant::now();
    let simulated = etcdlab_lab::simulate(&sc, injection, bug);
    let result = match simulated.map(|s| etcdlab_lab::judge(&sc, s)) {
        Ok(r) => r,
        Err(v) => {
            eprintln!("error: {v}");
            return ExitCode::from(EXIT_INVARIANT);
        }
    };
    let mut result = result;
    result.record.summary.scenario_file = replay_path(&args.scenario);
    result.record.summary.notes.extend(etcd_note);
    if let Some(b) = bug {
        result.record.summary.notes.push(format!(
            "Injected etcd bug `{}` (ETCDLAB_INJECT_BUG): this run shows a broken etcd, on purpose.",
            b.name()
        ));
        if let Some(v) = &result.invariant_broken {
            result.record.summary.notes.push(format!(
                "It broke the raft invariant \"{}\" at {:.6} s ({}); the run went on so that the clients' checkers judge it too.",
                v.invariant,
                v.at_ns as f64 / 1e9,
                v.detail
            ));
        }
    }
    if let Some(spec) = &sc.sensitivity {
        let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut overrides = args.overrides.clone();
        overrides.retain(|o| !o.starts_with("seed="));
        match sensitivity::table(&args.scenario, &overrides, sc.seed, spec, jobs) {
            Ok(body) => {
                let title = format!("Sensitivity: {}", spec.label);
                result.record.sections.push((title, body));
            }
            Err(sensitivity::Failure::InvalidInput(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INVALID_INPUT);
            }
            Err(sensitivity::Failure::Invariant(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_INVARIANT);
            }
        }
    }
    let wall = started.elapsed();
    let out = out.unwrap_or_else(|| Path::new("reports").join(&sc.name));
    if let Err(e) = etcdlab_report::write_run(&result.record, &out) {
        eprintln!("error: cannot write the report to {}: {e}", out.display());
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let history_path = out.join("history.jsonl");
    if let Err(e) = check::write_history(&result.history, &history_path) {
        eprintln!("error: cannot write {}: {e}", history_path.display());
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let s = &result.record.summary;
    eprintln!(
        "{}: seed {}, {:.0} simulated s in {:.2} wall s, {} leader changes, {} writes ok, {} failed, p99 {} ms -> {}",
        s.scenario,
        s.seed,
        s.simulated_seconds,
        wall.as_secs_f64(),
        s.leader_changes,
        s.writes.ok,
        s.writes.failed,
        s.writes.latency_ms.p99.map_or("-".into(), |v| format!("{v:.2}")),
        out.display()
    );
    for e in s.expectations.iter().filter(|e| !e.ok) {
        let actual = e.actual.map_or("no data".to_string(), |v| format!("{v}"));
        eprintln!("expectation failed: {} (actual {actual})", e.name);
    }
    let violation_expected = etcdlab_lab::expects_check_failure(&sc);
    let checks_ok = check::report_checks(&s.checks, violation_expected);
    if let Some(v) = &result.invariant_broken {
        eprintln!("error: {v} (the run went on past it: an injected etcd bug)");
        return ExitCode::from(EXIT_INVARIANT);
    }
    if !checks_ok {
        return ExitCode::from(EXIT_INVARIANT);
    }
    if result.expectations_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_EXPECT_FAILED)
    }
}

/// The scenario path for replay commands in reports: as given when relative; just the file
/// name when absolute (reports never contain absolute paths).
fn replay_path(path: &Path) -> String {
    if path.is_absolute() {
        path.file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into_owned())
    } else {
        path.to_string_lossy().replace('\\', "/")
    }
}

fn bench(scenario: &Path, overrides: &[String], json: bool) -> ExitCode {
    let args = ScenarioArgs {
        scenario: scenario.into(),
        seed: None,
        overrides: overrides.into(),
        etcd_config: None,
        etcd_flags: None,
    };
    let sc = match load(&args) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let before = alloc_count::counts();
    alloc_count::reset_peak();
    let started = Instant::now();
    let simulated = match etcdlab_lab::simulate(&sc, None, None) {
        Ok(r) => r,
        Err(v) => {
            eprintln!("error: {v}");
            return ExitCode::from(EXIT_INVARIANT);
        }
    };
    let wall_s = started.elapsed().as_secs_f64();
    let during = alloc_count::counts();
    let judging = Instant::now();
    let result = etcdlab_lab::judge(&sc, simulated);
    let judge_s = judging.elapsed().as_secs_f64();
    let out = std::env::temp_dir().join(format!("etcdlab-bench-{}", std::process::id()));
    let writing = Instant::now();
    if let Err(e) = etcdlab_report::write_run(&result.record, &out) {
        eprintln!("error: cannot write the report to {}: {e}", out.display());
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let report_s = writing.elapsed().as_secs_f64();
    let writing = Instant::now();
    let history = check::write_history(&result.history, &out.join("history.jsonl"));
    let history_s = writing.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&out);
    if let Err(e) = history {
        eprintln!("error: cannot write the history to {}: {e}", out.display());
        return ExitCode::from(EXIT_INVALID_INPUT);
    }
    let s = &result.record.summary;
    let writes = (s.writes.ok + s.writes.failed).max(1);
    // Each figure once, for the JSON and the lines alike.
    let per_write = |x: f64| x / writes as f64;
    let mib = |bytes: i64| bytes as f64 / (1024.0 * 1024.0);
    let speed = s.simulated_seconds / wall_s;
    let events_per_s = s.events as f64 / wall_s;
    let wall_us_per_write = per_write(wall_s * 1e6);
    let events_per_write = per_write(s.events as f64);
    let allocations_per_write = per_write((during.allocations - before.allocations) as f64);
    let bytes_per_write = per_write((during.bytes - before.bytes) as f64);
    let (peak_heap_mib, end_heap_mib) = (mib(during.peak_live_bytes), mib(during.live_bytes));
    // The whole simulation's peak (clients' history and metrics included) over the members.
    let peak_heap_mib_per_member = peak_heap_mib / sc.cluster.size as f64;
    let peak_rss = peak_rss_mib();
    if json {
        let figures = serde_json::json!({
            "scenario": s.scenario,
            "simulated_seconds": s.simulated_seconds,
            "wall_seconds": wall_s,
            "simulated_seconds_per_wall_second": speed,
            "events": s.events,
            "events_per_wall_second": events_per_s,
            "client_writes": writes,
            "wall_us_per_client_write": wall_us_per_write,
            "events_per_client_write": events_per_write,
            "allocations_per_client_write": allocations_per_write,
            "bytes_allocated_per_client_write": bytes_per_write,
            "peak_live_heap_mib": peak_heap_mib,
            "peak_live_heap_mib_per_member": peak_heap_mib_per_member,
            "live_heap_at_end_mib": end_heap_mib,
            "checks": s.checks.iter().map(|c| serde_json::json!({
                "checker": c.checker,
                "verdict": c.verdict,
                "operations": c.operations,
                "steps": c.steps,
            })).collect::<Vec<_>>(),
            "judging_wall_seconds": judge_s,
            "report_wall_seconds": report_s,
            "history_wall_seconds": history_s,
            "peak_rss_mib": peak_rss,
        });
        println!("{figures:#}");
        return ExitCode::SUCCESS;
    }
    println!("scenario:                     {}", s.scenario);
    println!("simulated seconds:            {:.0}", s.simulated_seconds);
    println!("wall seconds:                 {wall_s:.3}");
    println!("simulated s per wall s:       {speed:.0}");
    println!("events:                       {}", s.events);
    println!("events per wall s:            {events_per_s:.0}");
    println!("client writes:                {writes}");
    println!("wall us per client write:     {wall_us_per_write:.2}");
    println!(
        "per client write:             {events_per_write:.2} events, \
         {allocations_per_write:.2} heap allocations, {bytes_per_write:.0} bytes allocated"
    );
    println!(
        "live heap (simulation):       peak {peak_heap_mib:.0} MiB ({peak_heap_mib_per_member:.1} MiB per member), \
         {end_heap_mib:.0} MiB at the end"
    );
    for c in &s.checks {
        println!(
            "check {:<22} {} ({} operations, {} steps)",
            format!("{}:", c.checker),
            c.verdict,
            c.operations,
            c.steps
        );
    }
    println!(
        "judging wall seconds:         {judge_s:.3} ({:.0}% of the simulation's; checkers and report record)",
        100.0 * judge_s / wall_s
    );
    println!(
        "report wall seconds:          {report_s:.3} ({:.0}% of the simulation's; report.md, summary.json, metrics.om, charts)",
        100.0 * report_s / wall_s
    );
    println!("history.jsonl wall seconds:   {history_s:.3}");
    match peak_rss {
        Some(mib) => println!("peak memory (RSS):            {mib} MiB"),
        None => println!("peak memory (RSS):            unknown (no /proc/self/status)"),
    }
    ExitCode::SUCCESS
}

/// The process's peak resident set so far (Linux: `VmHWM` in /proc/self/status).
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
