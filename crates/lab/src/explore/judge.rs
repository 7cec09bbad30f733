//! Judging a case: run its scenario, then a raft invariant, the clients' checkers and
//! liveness, in that order (safety before liveness, as VOPR does).

use super::Case;
use crate::EtcdBug;

/// How one run did.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
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

/// Runs `case` and judges it; a panic of the simulator is a failure too (the exploration
/// goes on, and the case is written out like any other failure).
pub fn judge(case: &Case, bug: Option<EtcdBug>) -> Verdict {
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
        Some(b) => crate::run_with_bug(&sc, b),
        None => crate::run(&sc),
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
