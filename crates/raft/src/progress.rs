//! The leader's view of each follower's log (etcd's `tracker.Progress`).

use std::collections::VecDeque;

use crate::NodeId;

/// How the leader currently replicates to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// Searching for the last matching index: one MsgApp at a time.
    Probe,
    /// Streaming optimistically, bounded by the inflights window.
    Replicate,
    /// The follower is behind the leader's compacted log: a snapshot is on its way, nothing
    /// else is sent until it is acknowledged or reported failed.
    Snapshot,
}

/// Last indexes of the MsgApps sent but not yet acknowledged, oldest first.
#[derive(Clone, Debug)]
pub(crate) struct Inflights {
    last_indexes: VecDeque<u64>,
    capacity: usize,
}

impl Inflights {
    fn new(capacity: usize) -> Self {
        Inflights {
            last_indexes: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn full(&self) -> bool {
        self.last_indexes.len() >= self.capacity
    }

    pub(crate) fn count(&self) -> usize {
        self.last_indexes.len()
    }

    fn add(&mut self, last_index: u64) {
        debug_assert!(!self.full(), "inflights window overflow");
        self.last_indexes.push_back(last_index);
    }

    /// Acknowledges every message whose last index is <= `index`.
    fn free_le(&mut self, index: u64) {
        while self.last_indexes.front().is_some_and(|&i| i <= index) {
            self.last_indexes.pop_front();
        }
    }

    fn free_first_one(&mut self) {
        self.last_indexes.pop_front();
    }

    /// Keeps the allocation: progresses are reset on every term change.
    fn clear(&mut self) {
        self.last_indexes.clear();
    }
}

/// Replication progress of one voter, as tracked by the leader.
#[derive(Clone, Debug)]
pub struct Progress {
    pub(crate) id: NodeId,
    pub(crate) matched: u64,
    pub(crate) next: u64,
    pub(crate) state: ProgressState,
    /// Probe state: a MsgApp with entries is outstanding, wait for an answer.
    pub(crate) probe_sent: bool,
    /// Heard from since the last check-quorum round.
    pub(crate) recent_active: bool,
    pub(crate) inflights: Inflights,
    /// Snapshot state: the index of the snapshot being sent.
    pub(crate) pending_snapshot: u64,
}

impl Progress {
    pub(crate) fn new(id: NodeId, max_inflight: usize) -> Self {
        Progress {
            id,
            matched: 0,
            next: 1,
            state: ProgressState::Probe,
            probe_sent: false,
            recent_active: false,
            inflights: Inflights::new(max_inflight),
            pending_snapshot: 0,
        }
    }

    pub fn id(&self) -> NodeId {
        self.id
    }
    /// Highest index known to be replicated on the follower.
    pub fn matched(&self) -> u64 {
        self.matched
    }
    /// Next index to send.
    pub fn next(&self) -> u64 {
        self.next
    }
    pub fn state(&self) -> ProgressState {
        self.state
    }
    pub fn recent_active(&self) -> bool {
        self.recent_active
    }
    /// MsgApps sent in replicate state and not yet acknowledged.
    pub fn inflight_count(&self) -> usize {
        self.inflights.count()
    }
    /// Whether the leader must hold back MsgApps to this follower.
    pub fn is_paused(&self) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflights.full(),
            ProgressState::Snapshot => true,
        }
    }

    /// Forget everything on a term change (etcd's `reset`).
    pub(crate) fn reset(&mut self, last_index: u64) {
        self.matched = 0;
        self.next = last_index + 1;
        self.state = ProgressState::Probe;
        self.probe_sent = false;
        self.recent_active = false;
        self.inflights.clear();
    }

    fn reset_state(&mut self, state: ProgressState) {
        self.state = state;
        self.probe_sent = false;
        self.inflights.clear();
    }

    /// After a snapshot, probing resumes after it (the follower has it, or will say not).
    pub(crate) fn become_probe(&mut self) {
        let after_snapshot = if self.state == ProgressState::Snapshot {
            self.pending_snapshot + 1
        } else {
            0
        };
        self.reset_state(ProgressState::Probe);
        self.next = (self.matched + 1).max(after_snapshot);
    }

    pub(crate) fn become_snapshot(&mut self, index: u64) {
        self.reset_state(ProgressState::Snapshot);
        self.pending_snapshot = index;
    }

    pub(crate) fn become_replicate(&mut self) {
        self.reset_state(ProgressState::Replicate);
        self.next = self.matched + 1;
    }

    /// A successful MsgAppResp for `index`. Returns whether `matched` advanced.
    pub(crate) fn maybe_update(&mut self, index: u64) -> bool {
        let updated = self.matched < index;
        if updated {
            self.matched = index;
            self.probe_sent = false;
        }
        self.next = self.next.max(index + 1);
        updated
    }

    /// A rejected MsgApp at `rejected`; `hint` is the follower's last index.
    /// Returns false when the rejection is stale and must be ignored.
    pub(crate) fn maybe_decr_to(&mut self, rejected: u64, hint: u64) -> bool {
        match self.state {
            ProgressState::Replicate => {
                // Anything at or below match was already acknowledged: stale.
                if rejected <= self.matched {
                    return false;
                }
                self.next = self.matched + 1;
                true
            }
            ProgressState::Probe => {
                // Probes go out one at a time, so only the latest one can be rejected.
                if self.next - 1 != rejected {
                    return false;
                }
                self.next = rejected.min(hint + 1).max(self.matched + 1);
                self.probe_sent = false;
                true
            }
            // Nothing was sent but the snapshot: a rejection is from before it.
            ProgressState::Snapshot => false,
        }
    }

    /// Records a MsgApp carrying entries up to `last` that was just sent.
    pub(crate) fn sent_entries(&mut self, last: u64) {
        match self.state {
            ProgressState::Replicate => {
                self.next = last + 1;
                self.inflights.add(last);
            }
            ProgressState::Probe => self.probe_sent = true,
            ProgressState::Snapshot => {}
        }
    }

    /// A successful append was acknowledged up to `index`.
    pub(crate) fn acknowledged(&mut self, index: u64) {
        match self.state {
            ProgressState::Probe => self.become_replicate(),
            ProgressState::Replicate => self.inflights.free_le(index),
            ProgressState::Snapshot if self.matched >= self.pending_snapshot => {
                self.become_probe();
                self.become_replicate();
            }
            ProgressState::Snapshot => {}
        }
    }

    /// A heartbeat response proves the follower is alive: let one more message through.
    pub(crate) fn heartbeat_acknowledged(&mut self) {
        self.recent_active = true;
        self.probe_sent = false;
        if self.state == ProgressState::Replicate && self.inflights.full() {
            self.inflights.free_first_one();
        }
    }
}
