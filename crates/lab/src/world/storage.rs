//! The storage side of the world: backend commits on the member's disk, compaction batches,
//! alarms (a raised one may start the operator's `[runbook]`).

use super::*;
use etcdlab_store::CommitStats;
use std::collections::BTreeSet;

/// bbolt writes a meta page after the data pages (and fsyncs again).
pub(super) const META_PAGE_BYTES: u64 = 4096;

/// An alarm change as one member applied it.
#[derive(Clone, Debug)]
pub(crate) struct AlarmLog {
    pub at_ns: Nanos,
    /// None: member ID 0 (see `AlarmChange::member`).
    pub member: Option<usize>,
    pub alarm: &'static str,
    pub raised: bool,
}

/// Storage figures kept by the world (alarm changes are events of the recorder's log;
/// per-member metrics are on the `Node`s).
pub(crate) struct StorageRecord {
    /// Alarms active in the cluster as first applied anywhere.
    cluster_alarms: BTreeSet<(u64, AlarmKind)>,
    /// (time, member, size, in use) per scrape.
    pub db_size: Vec<(Nanos, usize, u64, u64)>,
    /// quota-backend-bytes over time (from, bytes).
    pub quota: Vec<(Nanos, u64)>,
    /// When a NOSPACE alarm was first applied anywhere.
    pub nospace_at_ns: Option<Nanos>,
    /// The last time every alarm was gone, after one had been raised.
    pub alarms_cleared_ns: Option<Nanos>,
    /// The first successful client write after the alarms were cleared.
    pub writes_back_ns: Option<Nanos>,
}

impl StorageRecord {
    pub fn new(quota_bytes: u64) -> Self {
        StorageRecord {
            cluster_alarms: BTreeSet::new(),
            db_size: Vec::new(),
            quota: vec![(0, quota_bytes)],
            nospace_at_ns: None,
            alarms_cleared_ns: None,
            writes_back_ns: None,
        }
    }
}

impl World<'_> {
    pub(super) fn on_backend_tick(&mut self, m: usize, epoch: u64) {
        self.q.schedule_in(
            BACKEND_BATCH_INTERVAL_NS,
            Ev::node(m, epoch, NodeEv::BackendTick),
        );
        self.on_running(m, |member, out| member.on_backend_batch_interval(out));
    }

    /// bbolt's commit: the dirty pages with one fdatasync, then the meta page with another, on
    /// the member's disk next to the WAL's fsyncs (timed for the commit histogram; an apply
    /// never waits for it).
    pub(super) fn charge_backend_commit(&mut self, m: usize, stats: CommitStats) {
        if stats.fsyncs == 0 {
            return;
        }
        let now = self.q.now();
        let data_bytes = stats.bytes_written.saturating_sub(META_PAGE_BYTES);
        let disk = &mut self.nodes[m].disk;
        let pages_ns = disk.concurrent_fsync_ns(now, data_bytes, &mut self.arrays);
        let meta_at = now.saturating_add(pages_ns);
        let meta_ns = disk.concurrent_fsync_ns(meta_at, META_PAGE_BYTES, &mut self.arrays);
        let took_s = pages_ns.saturating_add(meta_ns) as f64 / 1e9;
        self.nodes[m].backend_commit_hist.observe(took_s);
    }

    /// Start member `m`'s compaction batches unless a chain already runs (one compaction job
    /// at a time, as etcd's FIFO scheduler runs them).
    pub(super) fn schedule_compaction(&mut self, m: usize) {
        if self.nodes[m].compacting {
            return;
        }
        self.nodes[m].compacting = true;
        let epoch = self.nodes[m].epoch;
        self.q.schedule_in(
            COMPACTION_SLEEP_NS,
            Ev::node(m, epoch, NodeEv::CompactionStep),
        );
    }

    pub(super) fn on_compaction_step(&mut self, m: usize, epoch: u64) {
        let mut out = std::mem::take(&mut self.out);
        let more = match &mut self.nodes[m].slot {
            Slot::Running(member) => {
                let before = member.state().store.compaction_pending();
                let more = member.compaction_step(&mut out);
                let after = member.state().store.compaction_pending();
                self.nodes[m].compaction_keys_total += (before - after) as u64;
                more
            }
            // A stopped process resumes its compaction when continued.
            Slot::Paused(..) => true,
            _ => false,
        };
        self.route(m, &mut out);
        self.out = out;
        if more {
            self.q.schedule_in(
                COMPACTION_SLEEP_NS,
                Ev::node(m, epoch, NodeEv::CompactionStep),
            );
        } else {
            self.nodes[m].compacting = false;
            self.hand_operator(OperatorInput::CompactionDone);
        }
    }

    pub(super) fn on_alarm_applied(
        &mut self,
        m: usize,
        member_id: u64,
        alarm: AlarmKind,
        raised: bool,
    ) {
        let now = self.q.now();
        // Every member applies the change: log it once, when the first one does.
        let key = (member_id, alarm);
        let first = if raised {
            self.rec.storage.cluster_alarms.insert(key)
        } else {
            self.rec.storage.cluster_alarms.remove(&key)
        };
        if first {
            self.rec.alarm(AlarmLog {
                at_ns: now,
                member: member_id.checked_sub(1).map(|m| m as usize),
                alarm: alarm.as_str(),
                raised,
            });
        }
        if raised && alarm == AlarmKind::NoSpace && self.rec.storage.nospace_at_ns.is_none() {
            self.rec.storage.nospace_at_ns = Some(now);
            self.rec.timeline(
                now,
                format!(
                    "alarm raised: NOSPACE for member {member_id} (applied on m{})",
                    m + 1
                ),
            );
        }
        if raised {
            self.hand_operator(OperatorInput::AlarmRaised(alarm));
        } else if self.rec.storage.cluster_alarms.is_empty() {
            self.rec.storage.alarms_cleared_ns = Some(now);
        }
    }

    /// A client write succeeded at `at`: the first one after the alarms were cleared ends the
    /// write downtime.
    pub(super) fn note_write_ok(&mut self, at: Nanos) {
        let s = &mut self.rec.storage;
        if s.nospace_at_ns.is_some() && s.alarms_cleared_ns.is_some() && s.writes_back_ns.is_none()
        {
            s.writes_back_ns = Some(at);
        }
    }
}

impl World<'_> {
    /// etcd's member ID of the member with raft id `raft_id` (0 stays 0: "no member", as a
    /// CORRUPT alarm raised by the periodic check).
    pub(super) fn display_member_id(&self, raft_id: u64) -> u64 {
        match raft_id.checked_sub(1) {
            Some(m) => self
                .nodes
                .get(m as usize)
                .map_or(raft_id, |n| n.meta.member_id),
            None => 0,
        }
    }
}
