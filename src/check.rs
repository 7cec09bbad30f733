//! `etcdlab check HISTORY.jsonl`, and the checkers' verdicts as `etcdlab run` prints them.

use etcdlab_check::format::{describe_window, parse_jsonl, window_ops, Operation};
use etcdlab_check::watch::describe_failure;
use etcdlab_check::{check_linearizable, check_serializable_reads, check_watches, Budget, Verdict};
use etcdlab_report::CheckResult;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::{EXIT_INVALID_INPUT, EXIT_INVARIANT};

/// Writes the run's history, one operation a line.
pub fn write_history(ops: &[Operation], path: &Path) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for op in ops {
        serde_json::to_writer(&mut out, op)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Prints each checker's verdict; true when none failed, or the scenario expects what they
/// found (an `[[expect]]` on `client_check_failures` judges them instead).
pub fn report_checks(checks: &[CheckResult], violation_expected: bool) -> bool {
    let mut ok = true;
    for c in checks {
        if c.verdict == "fail" {
            ok = violation_expected;
            let what = if violation_expected { "note" } else { "error" };
            eprintln!("{what}: checker {} failed", c.checker);
            if let Some(f) = &c.failure {
                eprintln!("{}", f.trim_end());
            }
        } else if c.verdict != "pass" {
            eprintln!(
                "warning: checker {} is {} after {} steps (not a pass)",
                c.checker, c.verdict, c.steps
            );
        }
    }
    ok
}

/// `etcdlab check`: the run's checkers on a history file from anywhere.
pub fn check_file(path: &Path, max_steps: Option<u64>, picture: Option<&Path>) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
    };
    let ops = match parse_jsonl(&text) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
    };
    let budget = max_steps.map_or(Budget::default(), |steps| Budget { steps });
    let out = check_linearizable(&ops, budget);
    println!(
        "linearizability: {} operations ({} maybe applied), {} steps: {}",
        out.operations,
        out.maybe_applied,
        out.steps,
        match &out.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail { .. } => "fail",
            Verdict::Undecided => "undecided (the step budget ran out; not a pass)",
        }
    );
    // The failing window to draw, of the first checker that failed.
    let mut drawn: Option<String> = None;
    if let Verdict::Fail { culprit, window } = &out.verdict {
        print!("{}", describe_window(&window_ops(&ops, window), *culprit));
        let shown: Vec<&Operation> = ops.iter().filter(|o| window.contains(&o.id)).collect();
        drawn = Some(etcdlab_check::picture::window_svg(&shown, *culprit));
    }
    let watches = check_watches(&ops);
    if watches.watches > 0 {
        println!(
            "watch: {} watches, {} events: {}",
            watches.watches,
            watches.events,
            if watches.failure.is_some() {
                "fail"
            } else {
                "pass"
            }
        );
    }
    if let Some(f) = &watches.failure {
        print!("{}", describe_failure(&ops, f));
        if drawn.is_none() {
            let shown: Vec<&Operation> = ops.iter().filter(|o| f.window.contains(&o.id)).collect();
            drawn = Some(etcdlab_check::picture::watch_svg(&shown, f.watch));
        }
    }
    serializable_reads(&ops, &mut drawn);
    if let (Some(file), Some(svg)) = (picture, &drawn) {
        if let Err(e) = std::fs::write(file, svg) {
            eprintln!("error: cannot write {}: {e}", file.display());
            return ExitCode::from(EXIT_INVALID_INPUT);
        }
        println!("the window drawn: {}", file.display());
    }
    if drawn.is_some() {
        ExitCode::from(EXIT_INVARIANT)
    } else if out.verdict == Verdict::Undecided {
        ExitCode::from(EXIT_UNDECIDED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The serializable-read checker's verdict, when the history has serializable reads; its
/// failing window becomes the picture if no checker before it failed.
fn serializable_reads(ops: &[Operation], drawn: &mut Option<String>) {
    let out = check_serializable_reads(ops);
    if out.reads == 0 {
        return;
    }
    let verdict = if out.failure.is_some() {
        "fail"
    } else {
        "pass"
    };
    println!("serializable: {} reads: {verdict}", out.reads);
    if let Some(f) = &out.failure {
        print!("{}", etcdlab_check::serializable::describe_failure(ops, f));
        if drawn.is_none() {
            let shown: Vec<&Operation> = ops.iter().filter(|o| f.window.contains(&o.id)).collect();
            *drawn = Some(etcdlab_check::picture::window_svg(&shown, f.read));
        }
    }
}

/// A checker ran out of its budget: neither a pass nor a violation.
pub const EXIT_UNDECIDED: u8 = 4;
