//! Shrinking a failing case: try smaller cases in a fixed order (drop a fault, fewer members,
//! drop a watcher, the whole cluster in the liveness core, no auto-compaction, fewer clients
//! and keys, faults that end, shorter and earlier windows, an earlier heal) and keep the first
//! that still fails the same check, until none does. Deterministic: the same failing case
//! and the same runs give the same minimal case.

use super::{Case, FAULTS_FROM_MS};

/// Runs a shrink may spend, so that a slow failure cannot keep `explore` busy for hours.
pub const MAX_SHRINK_RUNS: u32 = 150;

/// The smallest case found that `still_fails`, and the runs spent finding it.
pub fn shrink(case: &Case, mut still_fails: impl FnMut(&Case) -> bool) -> (Case, u32) {
    let mut best = case.clone();
    let mut runs = 0;
    'again: loop {
        for candidate in candidates(&best) {
            if runs >= MAX_SHRINK_RUNS {
                break 'again;
            }
            runs += 1;
            if still_fails(&candidate) {
                best = candidate;
                continue 'again;
            }
        }
        break;
    }
    (best, runs)
}

/// Smaller cases than `c`, the boldest first; in each, the faults on the core end by the heal.
fn candidates(c: &Case) -> Vec<Case> {
    let mut out = raw_candidates(c);
    for candidate in &mut out {
        candidate.clip_to_heal();
    }
    out
}

fn raw_candidates(c: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    for i in 0..c.faults.len() {
        let mut smaller = c.clone();
        smaller.faults.remove(i);
        out.push(smaller);
    }
    // The user's cluster keeps its size.
    if c.size > 1 && c.base.is_none() {
        out.push(Case {
            size: c.size - 2,
            ..c.clone()
        });
    }
    for i in 0..c.watchers.len() {
        let mut fewer = c.clone();
        fewer.watchers.remove(i);
        out.push(fewer);
    }
    if !c.outside_core().is_empty() {
        out.push(Case {
            left_out: 0,
            ..c.clone()
        });
    }
    if c.auto_compaction_ms.is_some() {
        out.push(Case {
            auto_compaction_ms: None,
            ..c.clone()
        });
    }
    if c.clients_per_member > 1 {
        out.push(Case {
            clients_per_member: 1,
            ..c.clone()
        });
    }
    if c.key_count > 1 {
        out.push(Case {
            key_count: c.key_count / 2,
            ..c.clone()
        });
    }
    for i in 0..c.faults.len() {
        let f = &c.faults[i];
        if c.lasts(f) {
            let mut ends = c.clone();
            ends.faults[i].lasts = false;
            out.push(ends);
        }
        if f.duration_ms >= 200 {
            let mut shorter = c.clone();
            shorter.faults[i].duration_ms = f.duration_ms / 2;
            out.push(shorter);
        }
        if f.at_ms >= FAULTS_FROM_MS + 200 {
            let mut earlier = c.clone();
            earlier.faults[i].at_ms = FAULTS_FROM_MS + (f.at_ms - FAULTS_FROM_MS) / 2;
            earlier.faults.sort_by_key(|f| f.at_ms);
            out.push(earlier);
        }
    }
    // Heal as soon as the last fault is over (whole seconds, at least 3 s in).
    // A lasting fault must still begin before the heal (it is outside the core by then).
    let last_end = (c.faults.iter())
        .map(|f| {
            if c.lasts(f) {
                f.at_ms + 1
            } else {
                c.fault_end_ms(f)
            }
        })
        .max()
        .unwrap_or(0);
    let heal_at_ms = last_end.div_ceil(1_000).max(3) * 1_000;
    if heal_at_ms < c.heal_at_ms {
        out.push(Case {
            heal_at_ms,
            ..c.clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_that_needs_one_fault_shrinks_to_it() {
        let case = (0..200)
            .map(|i| Case::draw(7, i))
            .find(|c| c.faults.len() >= 4 && c.size == 5)
            .expect("a case with several faults on five members");
        let culprit = case.faults[2].kind;
        // "Fails" while a fault of the culprit's kind is left.
        let fails = |c: &Case| c.faults.iter().any(|f| f.kind == culprit);
        let (minimal, runs) = shrink(&case, fails);
        assert_eq!(minimal.faults.len(), 1, "{minimal:?}");
        assert_eq!(minimal.faults[0].kind, culprit);
        assert_eq!((minimal.size, minimal.clients_per_member), (1, 1));
        assert!(minimal.heal_at_ms <= case.heal_at_ms);
        assert!(runs <= MAX_SHRINK_RUNS);
        // Deterministic.
        assert_eq!(shrink(&case, fails).0, minimal);
    }

    #[test]
    fn a_case_that_stops_failing_is_not_shrunk() {
        let case = Case::draw(7, 3);
        let (same, _) = shrink(&case, |_| false);
        assert_eq!(same, case);
    }
}
