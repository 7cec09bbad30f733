//! Running the runs: worker threads each build and run whole scenarios (the world is
//! single-threaded and uses `Rc`, so a run never leaves its thread); results are put back in
//! plan order, so the output does not depend on the number of jobs.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::plan::Plan;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Every expectation held.
    Ok,
    /// At least one `[[expect]]` failed.
    Failed,
    /// An invariant was violated: the run stopped.
    Violation,
    /// The run could not start or panicked (a bug).
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "expect-failed",
            Status::Violation => "violation",
            Status::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "ok" => Status::Ok,
            "expect-failed" => Status::Failed,
            "violation" => Status::Violation,
            "error" => Status::Error,
            _ => return None,
        })
    }
}

/// One run's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub point: usize,
    pub seed: u64,
    pub status: Status,
    pub trace_hash: String,
    /// One per `Plan::outcome_columns`.
    pub outcome: Vec<Option<f64>>,
    /// One per `Plan::expectations`: held or not (empty when the run did not finish).
    pub expect: Vec<bool>,
    /// The violation or error message.
    pub detail: String,
}

impl Row {
    /// Failed an expectation, or did not finish.
    pub fn failing(&self) -> bool {
        self.status != Status::Ok
    }

    pub fn figure(&self, plan: &Plan, name: &str) -> Option<f64> {
        let i = plan.outcome_columns.iter().position(|c| c == name)?;
        self.outcome[i]
    }
}

/// Runs `runs` (point, seed) on `jobs` threads; rows come back in the order of `runs`.
pub fn run_all(
    plan: &Plan,
    scenario: &Path,
    runs: &[(usize, u64)],
    jobs: usize,
) -> (Vec<Row>, Duration) {
    let started = Instant::now();
    let jobs = jobs.clamp(1, runs.len().max(1));
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Row)>();
    let mut rows: Vec<Option<Row>> = vec![None; runs.len()];
    let mut progress = Progress::new(runs.len(), jobs);
    std::thread::scope(|s| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(point, seed)) = runs.get(i) else {
                    break;
                };
                let row = run_one(plan, scenario, point, seed);
                if tx.send((i, row)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, row) in rx {
            progress.step(&row, plan);
            rows[i] = Some(row);
        }
    });
    progress.finish();
    let rows = rows
        .into_iter()
        .map(|r| r.expect("every run reports back"))
        .collect();
    (rows, started.elapsed())
}

fn run_one(plan: &Plan, scenario: &Path, point: usize, seed: u64) -> Row {
    let mut row = Row {
        point,
        seed,
        status: Status::Error,
        trace_hash: String::new(),
        outcome: vec![None; plan.outcome_columns.len()],
        expect: Vec::new(),
        detail: String::new(),
    };
    let sc = match etcdlab_scenario::load(scenario, &plan.run_overrides(point, seed)) {
        Ok(sc) => sc,
        Err(e) => {
            row.detail = e.to_string();
            return row;
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| etcdlab_lab::run(&sc)));
    match result {
        Ok(Ok(r)) => {
            let s = &r.record.summary;
            row.status = if r.expectations_ok {
                Status::Ok
            } else {
                Status::Failed
            };
            row.trace_hash = s.trace_hash.clone();
            row.outcome = plan
                .outcome_columns
                .iter()
                .map(|c| s.outcome.get(c).copied().flatten())
                .collect();
            row.expect = s.expectations.iter().map(|e| e.ok).collect();
            // What the clients saw is the verdict: a failed checker is a violation, as it is
            // for `etcdlab run` (exit 3), unless the scenario expects one.
            let failed = s.checks.iter().find(|c| c.verdict == "fail");
            if let (Some(c), false) = (failed, etcdlab_lab::expects_check_failure(&sc)) {
                row.status = Status::Violation;
                row.detail = format!("checker {} failed", c.checker);
            }
        }
        Ok(Err(v)) => {
            row.status = Status::Violation;
            row.detail = v.to_string();
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            row.detail = format!("the run panicked: {msg}");
        }
    }
    row
}

/// A progress bar with ETA on a terminal; plain lines (about every 10 %) otherwise.
struct Progress {
    total: usize,
    done: usize,
    failing: usize,
    started: Instant,
    tty: bool,
    last_line: usize,
    jobs: usize,
}

impl Progress {
    fn new(total: usize, jobs: usize) -> Progress {
        let p = Progress {
            total,
            done: 0,
            failing: 0,
            started: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            last_line: 0,
            jobs,
        };
        eprintln!("sweep: {total} runs on {jobs} jobs");
        p
    }

    fn step(&mut self, row: &Row, _plan: &Plan) {
        self.done += 1;
        if row.failing() {
            self.failing += 1;
        }
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = self.done as f64 / elapsed.max(1e-9);
        let eta = (self.total - self.done) as f64 / rate.max(1e-9);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let width = 30;
            let filled = width * self.done / self.total.max(1);
            let _ = write!(
                err,
                "\r[{}{}] {}/{} runs, {} failing, {:.1} runs/s, ETA {}   ",
                "#".repeat(filled),
                "-".repeat(width - filled),
                self.done,
                self.total,
                self.failing,
                rate,
                clock(eta)
            );
            let _ = err.flush();
        } else {
            let tenth = self.done * 10 / self.total.max(1);
            if tenth > self.last_line || self.done == self.total {
                self.last_line = tenth;
                let _ = writeln!(
                    err,
                    "sweep: {}/{} runs ({}%), {} failing, {:.1} runs/s, ETA {}",
                    self.done,
                    self.total,
                    self.done * 100 / self.total.max(1),
                    self.failing,
                    rate,
                    clock(eta)
                );
            }
        }
    }

    fn finish(&self) {
        if self.tty && self.total > 0 {
            eprintln!();
        }
        let wall = self.started.elapsed().as_secs_f64();
        eprintln!(
            "sweep: {} runs in {:.1} s on {} jobs: {:.2} runs/s",
            self.done,
            wall,
            self.jobs,
            self.done as f64 / wall.max(1e-9)
        );
    }
}

fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}
