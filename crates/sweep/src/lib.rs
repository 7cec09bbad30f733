//! Parameter sweeps: a grid of `--set` overrides times N seeds, each run an independent
//! simulation (exactly `etcdlab run FILE --seed S --set PATH=V ...`), run in parallel, sliced
//! into shards for several machines, and summarised as tables, heatmaps and a report.
//!
//! Outputs depend only on the plan and the rows, never on jobs, shards or the clock:
//! `sweep-merge` of the shards writes the same bytes a single run writes.
//!
//! Exit codes follow `etcdlab run`: 0 ok; 1 an `[[expect]]` failed in some run (files are
//! written); 2 invalid input; 3 an invariant was violated in some run (files are written).

mod exec;
pub mod heatmap;
mod output;
pub mod plan;

use std::path::{Path, PathBuf};

pub use exec::{Row, Status};
pub use plan::{Plan, Request};

pub const EXIT_OK: u8 = 0;
pub const EXIT_EXPECT_FAILED: u8 = 1;
pub const EXIT_INVALID_INPUT: u8 = 2;
pub const EXIT_INVARIANT: u8 = 3;

/// `etcdlab sweep`'s arguments.
pub struct SweepArgs {
    pub scenario: PathBuf,
    /// `PATH=VALUES` (list or range).
    pub params: Vec<String>,
    /// `PATH=VALUE` applied to every run.
    pub sets: Vec<String>,
    pub seeds: Option<u32>,
    /// Default: every core.
    pub jobs: Option<usize>,
    /// `I/N`, 1-based.
    pub shard: Option<String>,
    pub out: Option<PathBuf>,
}

/// Runs a sweep and writes its files; returns the exit code.
pub fn sweep(args: &SweepArgs) -> u8 {
    let shard = match args.shard.as_deref().map(plan::parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_INVALID_INPUT;
        }
    };
    if args.jobs == Some(0) {
        eprintln!("error: --jobs must be at least 1");
        return EXIT_INVALID_INPUT;
    }
    let plan = match plan::build(&Request {
        scenario: &args.scenario,
        sets: &args.sets,
        params: &args.params,
        seeds: args.seeds,
    }) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{}", e.0);
            return EXIT_INVALID_INPUT;
        }
    };
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let out = args.out.clone().unwrap_or_else(|| default_out(&plan));
    eprintln!(
        "sweep {}: {} grid points ({} skipped) x {} seeds{}",
        plan.scenario,
        plan.points(),
        plan.skipped.len(),
        plan.seeds.len(),
        shard.map_or(String::new(), |(i, n)| format!(", shard {i}/{n}"))
    );
    for s in &plan.skipped {
        eprintln!("skipped: {}: {}", plan.point_label(s.point), s.reason);
    }
    let runs = plan.shard_runs(shard);
    let (rows, _wall) = exec::run_all(&plan, &args.scenario, &runs, jobs);
    finish(&plan, &rows, shard, &out)
}

/// `etcdlab sweep-merge DIR... --out DIR`: combines shard outputs into the files one
/// unsharded run writes; returns the exit code (as `sweep` over all rows).
pub fn merge(dirs: &[PathBuf], out: &Path) -> u8 {
    match output::merge(dirs) {
        Ok((plan, rows)) => finish(&plan, &rows, None, out),
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INVALID_INPUT
        }
    }
}

fn default_out(plan: &Plan) -> PathBuf {
    let name = if plan.scenario.starts_with("sweep") {
        plan.scenario.clone()
    } else {
        format!("{}-sweep", plan.scenario)
    };
    Path::new("reports").join(name)
}

/// Writes the files, lists failing runs with replay commands, picks the exit code.
fn finish(plan: &Plan, rows: &[Row], shard: Option<(usize, usize)>, out: &Path) -> u8 {
    if let Err(e) = output::write_all(out, plan, rows, shard) {
        eprintln!("error: cannot write the sweep to {}: {e}", out.display());
        return EXIT_INVALID_INPUT;
    }
    let failing: Vec<&Row> = rows.iter().filter(|r| r.failing()).collect();
    const SHOWN: usize = 50;
    for r in failing.iter().take(SHOWN) {
        let what = match r.status {
            Status::Failed => {
                let names: Vec<&str> = r
                    .expect
                    .iter()
                    .zip(&plan.expectations)
                    .filter(|(ok, _)| !**ok)
                    .map(|(_, n)| n.as_str())
                    .collect();
                format!("expectation failed: {}", names.join("; "))
            }
            _ => r.detail.clone(),
        };
        eprintln!(
            "FAIL {} seed {}: {what}\n  replay: {}",
            plan.point_label(r.point),
            r.seed,
            plan.replay_command(r.point, r.seed)
        );
    }
    if failing.len() > SHOWN {
        eprintln!(
            "... and {} more failing runs (see sweep.csv)",
            failing.len() - SHOWN
        );
    }
    eprintln!(
        "sweep {}: {} runs, {} failing, {} skipped points -> {}",
        plan.scenario,
        rows.len(),
        failing.len(),
        plan.skipped.len(),
        out.display()
    );
    if rows
        .iter()
        .any(|r| matches!(r.status, Status::Violation | Status::Error))
    {
        EXIT_INVARIANT
    } else if !failing.is_empty() {
        EXIT_EXPECT_FAILED
    } else {
        EXIT_OK
    }
}
