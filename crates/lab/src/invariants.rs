//! Raft's safety properties, asserted while every simulation runs: at most one leader per term,
//! log matching, a committed entry is never lost or changed (every member applies the same entry
//! at each index, and a new leader holds every committed entry), and a member's applied index
//! never goes back.

use std::collections::BTreeMap;
use std::fmt;

/// A broken invariant: what, where and when. The runner turns it into exit code 3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub at_ns: u64,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant violated: {} at simulated t={:.6}s: {}",
            self.invariant,
            self.at_ns as f64 / 1e9,
            self.detail
        )
    }
}

pub const ONE_LEADER_PER_TERM: &str = "at most one leader per term";
pub const LOG_MATCHING: &str = "log matching";
pub const COMMITTED_NEVER_LOST: &str = "a committed entry is never lost or changed";
pub const APPLIED_MONOTONIC: &str = "applied index never goes back";
pub const REVISION_MONOTONIC: &str = "a member's revision and compact revision never go back";

/// What identifies an entry's content: its term and the request it carries (None = empty).
pub type EntryId = (u64, Option<u64>);

/// What one raft group (one cluster ID) has committed and who led which term. A scenario can
/// run several: a member started with `--initial-cluster-state=new`, or restored with another
/// token, forms a cluster of its own with terms and indexes of its own.
#[derive(Default)]
struct ClusterLog {
    leader_of_term: BTreeMap<u64, usize>,
    /// The committed log as first applied anywhere; index `forgotten + i + 1` at position i.
    committed: Vec<EntryId>,
    /// Indexes up to here belong to a log the scenario replaced (a restore of the whole
    /// cluster from a snapshot starts a new log at the member count).
    base: u64,
    /// Entries from `base + 1` up to here were dropped: no member can apply them again (see
    /// [`Invariants::forget_committed_up_to`]), so a long run's memory stays flat.
    forgotten: u64,
}

impl ClusterLog {
    /// The highest index committed (applied somewhere).
    fn known(&self) -> u64 {
        self.forgotten + self.committed.len() as u64
    }
}

#[derive(Default)]
pub struct Invariants {
    clusters: BTreeMap<u64, ClusterLog>,
    /// Per member, the cluster it belongs to (0 until told otherwise).
    cluster_of: Vec<u64>,
    /// A member was restored from a snapshot file: members' data may differ from then on.
    restored: bool,
    applied: Vec<u64>,
    /// Per member, the (revision, compact revision) last seen.
    revisions: Vec<(i64, i64)>,
}

impl Invariants {
    pub fn new(members: usize) -> Invariants {
        Invariants {
            cluster_of: vec![0; members],
            applied: vec![0; members],
            revisions: vec![(0, -1); members],
            ..Default::default()
        }
    }

    /// `member`'s data now belongs to the cluster `cluster_id` (its raft log is compared with
    /// that cluster's only).
    pub fn set_cluster(&mut self, member: usize, cluster_id: u64) {
        self.cluster_of[member] = cluster_id;
    }

    fn log_of(&mut self, member: usize) -> &mut ClusterLog {
        self.clusters.entry(self.cluster_of[member]).or_default()
    }

    /// A member's store is at `revision`, compacted at `compact_revision` (checked at every
    /// scrape): neither may go back, unless the scenario restored the member from a snapshot
    /// (see [`Invariants::on_restore`]).
    pub fn on_revisions(
        &mut self,
        at_ns: u64,
        member: usize,
        revision: i64,
        compact_revision: i64,
    ) -> Result<(), Violation> {
        let (rev, compact) = self.revisions[member];
        if revision < rev || compact_revision < compact {
            return Err(Violation {
                invariant: REVISION_MONOTONIC,
                at_ns,
                detail: format!(
                    "m{}: revision {rev} -> {revision}, compact revision {compact} -> {compact_revision}",
                    member + 1
                ),
            });
        }
        self.revisions[member] = (revision, compact_revision);
        Ok(())
    }

    /// `member` became leader of `term`.
    pub fn on_leader(&mut self, at_ns: u64, member: usize, term: u64) -> Result<(), Violation> {
        match self.log_of(member).leader_of_term.insert(term, member) {
            Some(other) if other != member => Err(Violation {
                invariant: ONE_LEADER_PER_TERM,
                at_ns,
                detail: format!(
                    "m{} and m{} were both leader in term {term}",
                    other + 1,
                    member + 1
                ),
            }),
            _ => Ok(()),
        }
    }

    /// A new leader must hold every committed entry (leader completeness). `term_at` reads the
    /// leader's log.
    pub fn check_leader_complete(
        &mut self,
        at_ns: u64,
        member: usize,
        term_at: impl Fn(u64) -> Option<u64>,
    ) -> Result<(), Violation> {
        let log = self.log_of(member);
        let Some(&(term, _)) = log.committed.last() else {
            return Ok(());
        };
        let index = log.known();
        if term_at(index) != Some(term) {
            return Err(Violation {
                invariant: COMMITTED_NEVER_LOST,
                at_ns,
                detail: format!(
                    "new leader m{} lacks committed entry {index} (term {term}); it has term {:?}",
                    member + 1,
                    term_at(index)
                ),
            });
        }
        Ok(())
    }

    /// `member` applied `entry` at `index`.
    pub fn on_applied(
        &mut self,
        at_ns: u64,
        member: usize,
        index: u64,
        entry: EntryId,
    ) -> Result<(), Violation> {
        let last = self.applied[member];
        if index <= last {
            return Err(Violation {
                invariant: APPLIED_MONOTONIC,
                at_ns,
                detail: format!("m{} applied index {index} after {last}", member + 1),
            });
        }
        if index != last + 1 {
            // Indexes are applied one after another; only a snapshot install or a restore
            // moves a member's applied index otherwise (and says so first).
            return Err(Violation {
                invariant: COMMITTED_NEVER_LOST,
                at_ns,
                detail: format!(
                    "m{} applied index {index} after {last}: entries skipped",
                    member + 1
                ),
            });
        }
        self.applied[member] = index;
        let log = self.log_of(member);
        let known = log.known();
        if index <= log.base {
            // Applied from a log the scenario replaced by a restore: nothing to compare with.
        } else if index <= log.forgotten {
            return Err(Violation {
                invariant: COMMITTED_NEVER_LOST,
                at_ns,
                detail: format!(
                    "m{} applied index {index}, below every member's raft snapshot ({})",
                    member + 1,
                    log.forgotten
                ),
            });
        } else if index <= known {
            let first = log.committed[(index - log.forgotten - 1) as usize];
            if first != entry {
                return Err(Violation {
                    invariant: COMMITTED_NEVER_LOST,
                    at_ns,
                    detail: format!(
                        "m{} applied {entry:?} at index {index}, where {first:?} was applied first",
                        member + 1
                    ),
                });
            }
        } else if index == known + 1 {
            log.committed.push(entry);
        } else {
            return Err(Violation {
                invariant: COMMITTED_NEVER_LOST,
                at_ns,
                detail: format!(
                    "m{} applied index {index} but the cluster has only committed up to {known}",
                    member + 1
                ),
            });
        }
        Ok(())
    }

    /// Log matching over the last `window` indexes two members both hold: if they agree on the
    /// term at an index, they agree on that entry and on every earlier one in the window.
    pub fn check_log_matching(
        at_ns: u64,
        (a, log_a): (usize, &dyn Fn(u64) -> Option<EntryId>),
        (b, log_b): (usize, &dyn Fn(u64) -> Option<EntryId>),
        last_common: u64,
        window: u64,
    ) -> Result<(), Violation> {
        let low = last_common.saturating_sub(window).max(1);
        let mut matched_above = false;
        for i in (low..=last_common).rev() {
            let (ea, eb) = (log_a(i), log_b(i));
            if ea.is_none() || eb.is_none() {
                if matched_above {
                    break; // compacted away below a snapshot: nothing more to compare
                }
                continue;
            }
            let same_term = matches!((ea, eb), (Some(x), Some(y)) if x.0 == y.0);
            if same_term || matched_above {
                matched_above = true;
                if ea != eb {
                    return Err(Violation {
                        invariant: LOG_MATCHING,
                        at_ns,
                        detail: format!(
                            "m{} and m{} differ at index {i} ({ea:?} vs {eb:?}) below a matching entry",
                            a + 1,
                            b + 1
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// The committed length of `member`'s cluster.
    pub fn committed_len(&mut self, member: usize) -> u64 {
        self.log_of(member).known()
    }

    /// Drop the committed entries of `member`'s cluster up to `index` but the last one:
    /// `index` is at or below every member's raft snapshot, so no member applies them again
    /// (a restart replays its WAL from its own snapshot; a member that is behind or new gets
    /// the leader's log, which starts above the leader's snapshot, or the snapshot itself).
    pub fn forget_committed_up_to(&mut self, member: usize, index: u64) {
        let log = self.log_of(member);
        let index = index.min(log.known().saturating_sub(1));
        if index > log.forgotten {
            let n = (index - log.forgotten) as usize;
            log.committed.drain(..n);
            log.forgotten = index;
        }
    }

    /// `member` installed a leader's snapshot: its state machine jumped to `applied_index`
    /// (entries the cluster committed, so no gap and nothing to compare).
    pub fn on_snapshot_installed(
        &mut self,
        at_ns: u64,
        member: usize,
        applied_index: u64,
    ) -> Result<(), Violation> {
        let known = self.committed_len(member);
        if applied_index > known {
            return Err(Violation {
                invariant: COMMITTED_NEVER_LOST,
                at_ns,
                detail: format!(
                    "m{} installed a snapshot at {applied_index} but the cluster has only committed up to {known}",
                    member + 1
                ),
            });
        }
        self.applied[member] = self.applied[member].max(applied_index);
        if self.restored {
            // After a restore the leader's data may be behind this member's own.
            self.revisions[member] = (0, -1);
        }
        Ok(())
    }

    /// The scenario restored `member` from a snapshot file: its log restarts at `index` (the
    /// member count) and its revisions may go back. When no member of its cluster is running
    /// (the whole cluster is being restored) that cluster's committed log starts over after
    /// `index`, and its terms start over too; otherwise the restored member rejoins the running
    /// cluster's log.
    pub fn on_restore(&mut self, member: usize, index: u64, cluster_running: bool) {
        if !cluster_running {
            let log = self.log_of(member);
            log.committed.clear();
            log.base = index;
            log.forgotten = index;
            log.leader_of_term.clear();
        }
        self.applied[member] = index;
        self.revisions[member] = (0, -1);
        self.restored = true;
    }
}

/// A deliberate bug, to prove that the invariant checks catch what they claim to catch (tests
/// and `ETCDLAB_INJECT_VIOLATION`). Never set in a normal run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injection {
    /// The second member to apply index 100 reports a different entry there.
    ChangeCommittedEntry,
    /// When the second leader of the run is elected, another member also claims that term.
    SecondLeaderInTerm,
    /// A member reports applying index 100 twice.
    AppliedIndexBack,
}

impl Injection {
    pub fn parse(name: &str) -> Option<Injection> {
        match name {
            "change-committed-entry" => Some(Injection::ChangeCommittedEntry),
            "second-leader-in-term" => Some(Injection::SecondLeaderInTerm),
            "applied-index-back" => Some(Injection::AppliedIndexBack),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_may_jump_the_applied_index_but_not_past_the_commit() {
        let mut inv = Invariants::new(2);
        for i in 1..=10 {
            inv.on_applied(1, 0, i, (1, Some(i))).unwrap();
        }
        inv.on_snapshot_installed(2, 1, 8).unwrap();
        inv.on_applied(3, 1, 9, (1, Some(9))).unwrap();
        let v = inv.on_snapshot_installed(4, 1, 11).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
        // A changed entry after the snapshot is still caught.
        let v = inv.on_applied(5, 1, 10, (2, Some(99))).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
    }

    #[test]
    fn entries_below_every_snapshot_are_forgotten_and_the_rest_still_compared() {
        let mut inv = Invariants::new(2);
        for i in 1..=10 {
            inv.on_applied(1, 0, i, (1, Some(i))).unwrap();
        }
        inv.on_applied(1, 1, 1, (1, Some(1))).unwrap();
        inv.forget_committed_up_to(0, 6);
        assert_eq!(inv.committed_len(0), 10);
        // m2 applying a forgotten index is as wrong as it would have been before.
        let v = inv.on_applied(2, 1, 2, (1, Some(2))).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
        // Above it, entries are compared as ever.
        inv.on_snapshot_installed(3, 1, 6).unwrap();
        inv.on_applied(3, 1, 7, (1, Some(7))).unwrap();
        let v = inv.on_applied(4, 1, 8, (2, Some(99))).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
        // The last committed entry is always kept, for the leader-completeness check.
        inv.forget_committed_up_to(0, 50);
        assert_eq!(inv.committed_len(0), 10);
        let v = inv.check_leader_complete(5, 0, |_| Some(2)).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
        inv.check_leader_complete(5, 0, |i| (i == 10).then_some(1))
            .unwrap();
    }

    #[test]
    fn a_whole_cluster_restore_starts_the_log_and_the_revisions_over() {
        let mut inv = Invariants::new(2);
        inv.on_applied(1, 0, 1, (1, None)).unwrap();
        inv.on_applied(1, 0, 2, (1, Some(7))).unwrap();
        inv.on_leader(1, 0, 2).unwrap();
        inv.on_revisions(1, 0, 500, 10).unwrap();
        // Both members restored while none runs: the new log starts after index 2 (n = 2).
        inv.on_restore(0, 2, false);
        inv.on_restore(1, 2, false);
        inv.on_revisions(2, 0, 300, -1).unwrap();
        inv.on_applied(3, 0, 3, (2, None)).unwrap();
        inv.on_applied(3, 1, 3, (2, None)).unwrap();
        // Term 2 again, another member: a new cluster.
        inv.on_leader(3, 1, 2).unwrap();

        // Without a restore the revision going back is a violation.
        let v = inv.on_revisions(4, 0, 200, -1).unwrap_err();
        assert_eq!(v.invariant, REVISION_MONOTONIC);
    }

    #[test]
    fn two_clusters_keep_their_own_terms_and_logs() {
        let mut inv = Invariants::new(3);
        inv.set_cluster(2, 99); // m3 forms a cluster of its own
        inv.on_leader(1, 0, 2).unwrap();
        inv.on_leader(1, 2, 2).unwrap();
        inv.on_applied(2, 0, 1, (2, Some(1))).unwrap();
        inv.on_applied(2, 2, 1, (2, Some(5))).unwrap();
        // Within one cluster the checks still hold.
        let v = inv.on_applied(3, 1, 1, (2, Some(6))).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
        let v = inv.on_leader(4, 1, 2).unwrap_err();
        assert_eq!(v.invariant, ONE_LEADER_PER_TERM);
    }

    #[test]
    fn two_leaders_in_one_term_are_caught() {
        let mut inv = Invariants::new(3);
        inv.on_leader(1, 0, 2).unwrap();
        inv.on_leader(2, 0, 2).unwrap(); // the same leader reported twice is fine
        let v = inv.on_leader(3, 1, 2).unwrap_err();
        assert_eq!(v.invariant, ONE_LEADER_PER_TERM);
        assert!(v.to_string().contains("m1 and m2"), "{v}");
    }

    #[test]
    fn a_changed_committed_entry_is_caught() {
        let mut inv = Invariants::new(2);
        inv.on_applied(1, 0, 1, (1, None)).unwrap();
        inv.on_applied(1, 0, 2, (1, Some(7))).unwrap();
        inv.on_applied(2, 1, 1, (1, None)).unwrap();
        let v = inv.on_applied(3, 1, 2, (2, Some(8))).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
    }

    #[test]
    fn applied_going_back_is_caught() {
        let mut inv = Invariants::new(1);
        inv.on_applied(1, 0, 1, (1, None)).unwrap();
        let v = inv.on_applied(2, 0, 1, (1, None)).unwrap_err();
        assert_eq!(v.invariant, APPLIED_MONOTONIC);
    }

    #[test]
    fn a_gap_in_applied_indexes_is_caught() {
        let mut inv = Invariants::new(1);
        let v = inv.on_applied(1, 0, 2, (1, None)).unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
    }

    #[test]
    fn a_member_skipping_entries_the_cluster_committed_is_caught() {
        let mut inv = Invariants::new(2);
        for i in 1..=3 {
            inv.on_applied(1, 0, i, (1, Some(i))).unwrap();
        }
        inv.on_applied(2, 1, 1, (1, Some(1))).unwrap();
        let v = inv.on_applied(3, 1, 3, (1, Some(3))).unwrap_err();
        assert!(v.detail.contains("skipped"), "{v}");
    }

    #[test]
    fn a_leader_missing_a_committed_entry_is_caught() {
        let mut inv = Invariants::new(3);
        inv.on_applied(1, 0, 1, (1, None)).unwrap();
        inv.on_applied(1, 0, 2, (1, Some(1))).unwrap();
        assert!(inv
            .check_leader_complete(2, 1, |i| (i <= 2).then_some(1))
            .is_ok());
        let v = inv
            .check_leader_complete(2, 2, |i| (i <= 1).then_some(1))
            .unwrap_err();
        assert_eq!(v.invariant, COMMITTED_NEVER_LOST);
    }

    #[test]
    fn diverging_logs_below_a_match_are_caught() {
        let a = |i: u64| Some((1, Some(i)));
        let b = |i: u64| Some((1, Some(if i == 3 { 99 } else { i })));
        let v = Invariants::check_log_matching(0, (0, &a), (1, &b), 5, 10).unwrap_err();
        assert_eq!(v.invariant, LOG_MATCHING);
        // Different terms at the top with nothing matching above: allowed (uncommitted tail).
        let c = |i: u64| Some((if i == 5 { 2 } else { 1 }, Some(i)));
        assert!(Invariants::check_log_matching(0, (0, &a), (1, &c), 5, 10).is_ok());
    }
}
