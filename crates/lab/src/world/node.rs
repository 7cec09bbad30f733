//! One member slot: the etcd process (or what is left of it), its incarnation, its disk, and
//! everything the world keeps per member. Added members get slots after the initial ones.

use super::snapshots::MemberMeta;
use super::MemberInput;
use crate::metrics::{self, PromHistogram, FSYNC_BUCKETS_S, RTT_BUCKETS_S};
use etcdlab_member::{Durable, Member, MemberConfig, ServerState};
use etcdlab_sim::disk::Disk;
use etcdlab_sim::Nanos;

/// A member process as the world sees it.
pub(crate) enum Slot {
    Running(Box<Member>),
    /// SIGSTOP: nothing runs. Events that reach it wait here (in order) for SIGCONT.
    Paused(Box<Member>, Vec<MemberInput>),
    /// Crashed, or restarting (replaying its WAL) once `restarting` is set.
    Down {
        durable: Box<Durable>,
        restarting: bool,
    },
    /// Transient placeholder while a slot is being replaced.
    Empty,
    /// No data dir: a member added but never started, or wiped (`rm -rf`).
    NoData,
}

impl Slot {
    pub fn is_running(&self) -> bool {
        matches!(self, Slot::Running(_))
    }

    /// The member's state machine, from its process or its data dir.
    pub fn state(&self) -> Option<&ServerState> {
        match self {
            Slot::Running(m) | Slot::Paused(m, _) => Some(m.state()),
            Slot::Down { durable, .. } => Some(&durable.state),
            _ => None,
        }
    }
}

/// Everything per member slot.
pub(crate) struct Node {
    pub slot: Slot,
    /// Bumped at every crash, start and cancelled start: events of an older epoch are dropped
    /// by the dispatcher.
    pub epoch: u64,
    /// How many times the process started (each start draws its own raft stream).
    pub incarnation: u32,
    pub cfg: MemberConfig,
    pub disk: Disk,
    /// The WAL save its loop is blocked in: (started, done at).
    pub saving: Option<(Nanos, Nanos)>,
    /// Until when its data volume is full (ENOSPC).
    pub disk_full_until: Option<Nanos>,
    /// Whether a compaction batch chain is scheduled (etcd runs one at a time).
    pub compacting: bool,
    /// etcd's IDs and what its data dir holds beyond the slot.
    pub meta: MemberMeta,
    // Per-member metrics (`etcd_disk_*`, `etcd_network_peer_round_trip_time_seconds`, ...).
    pub fsync_hist: PromHistogram,
    /// Round trips to each other member, by its index.
    pub rtt_hist: Vec<PromHistogram>,
    pub backend_commit_hist: PromHistogram,
    pub defrag_hist: PromHistogram,
    pub compaction_keys_total: u64,
    pub defrag_started_ns: Option<Nanos>,
    /// The era of the data this member serves: 0 for the initial cluster's; a restore of a
    /// whole cluster from a backup starts a new one (its revisions may go back, so clients'
    /// histories are checked era by era).
    pub era: u8,
    /// Since when its process has run without a stop or a SIGSTOP (None while it does not).
    pub up_since: Option<Nanos>,
    /// Behind when its pause or partition ended: since when, and the applied index it has to
    /// reach (the cluster's highest then) for the report's rejoin catch-up time.
    pub catching_up: Option<(Nanos, u64)>,
}

impl Node {
    pub fn new(slot: Slot, cfg: MemberConfig, disk: Disk, meta: MemberMeta, slots: usize) -> Node {
        Node {
            slot,
            epoch: 0,
            incarnation: 0,
            cfg,
            disk,
            saving: None,
            disk_full_until: None,
            compacting: false,
            meta,
            fsync_hist: PromHistogram::new(&FSYNC_BUCKETS_S),
            rtt_hist: vec![PromHistogram::new(&RTT_BUCKETS_S); slots],
            backend_commit_hist: PromHistogram::new(&FSYNC_BUCKETS_S),
            defrag_hist: PromHistogram::new(&metrics::DEFRAG_BUCKETS_S),
            compaction_keys_total: 0,
            defrag_started_ns: None,
            era: 0,
            up_since: None,
            catching_up: None,
        }
    }

    /// Whether an event of incarnation `epoch` still concerns this member.
    pub fn is_current(&self, epoch: u64) -> bool {
        self.epoch == epoch
    }
}
