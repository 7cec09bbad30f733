//! One etcd member: the server's raft loop around [`etcdlab_raft::Raft`] and a state machine.
//!
//! This reproduces etcd's `raftNode.start` loop (etcd-internals.md §1) as a sans-IO state
//! machine. Ticks and Ready handling share one loop. A leader sends its messages before its own
//! WAL fsync; followers and candidates only after theirs. While the loop is blocked in a WAL
//! fsync no tick is processed (the ticker keeps at most one pending tick and drops the rest),
//! but raft still steps incoming messages, and whatever it wants to send waits for the next
//! Ready. The world (the lab) feeds inputs and carries out [`Output`]s: sending messages,
//! running the WAL save on the member's simulated disk, replying to clients.

pub mod ids;
mod server;

pub use server::{
    AlarmKind, ApplyEffects, ApplyResult, ClientId, Op, Origin, Request, ServerState, Txn,
    ERR_COMPACTED, ERR_CORRUPT, ERR_FUTURE_REV, ERR_NOSPACE,
};

pub use etcdlab_raft::{ConfChange, SnapshotMeta};
use etcdlab_raft::{
    Config, Entry, EntryData, HardState, Message, MessageType, NodeId, ProposeError, Raft,
    Recovered, Role, NONE,
};
use etcdlab_store::{CommitStats, DefragStats, Quota};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

pub type Nanos = u64;

/// Bytes of a WAL record header (etcd frames each record with a length and a CRC).
pub const WAL_RECORD_HEADER_BYTES: u64 = 16;
/// Bytes of a HardState record.
pub const HARD_STATE_RECORD_BYTES: u64 = 32;

/// etcd's client error texts for a write that did not complete.
pub const ERR_TIMEOUT: &str = "etcdserver: request timed out";
pub const ERR_TIMEOUT_LEADER_FAIL: &str =
    "etcdserver: request timed out, possibly due to previous leader failure";
/// A write that never got proposed: with no leader, etcd's raft node blocks the proposal until
/// the request's context (the server's request timeout) ends, and the server returns the
/// context's own error, which gRPC passes on with code Unknown (`raft.Node.Propose` in
/// `processInternalRaftRequestOnce`, etcd 3.4 `etcdserver/v3_server.go`).
pub const ERR_CONTEXT_DEADLINE: &str = "context deadline exceeded";

/// The log line (and counter) etcd emits when a leader's heartbeat to a follower went out late.
pub const WARN_HEARTBEAT_LATE: &str = "leader failed to send out heartbeat on time; took too long, leader is overloaded likely from slow disk";

/// A member numbers its own requests (alarms) from here, member index and counter above it,
/// so an entry's request id stays unique in the log (clients' ids are far below). Replies are
/// routed by `Request::origin`, never by the number.
pub const MEMBER_REQUEST_IDS_FROM: u64 = 1 << 62;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proposal(pub Rc<Request>);

impl etcdlab_raft::Payload for Proposal {
    fn size_bytes(&self) -> u64 {
        self.0.op.size_bytes()
    }
}

pub type Msg = Message<Proposal>;

#[derive(Clone, Debug)]
pub struct MemberConfig {
    /// 0-based member index; the raft id is index + 1.
    pub index: usize,
    pub cluster_size: usize,
    pub heartbeat_interval_ns: Nanos,
    pub election_timeout_ns: Nanos,
    pub pre_vote: bool,
    /// `--quota-backend-bytes` (0: etcd's 2 GiB default; negative: no quota).
    pub quota_backend_bytes: i64,
    /// `--snapshot-count`: applied entries between two raft snapshots (etcd: 100,000).
    pub snapshot_count: u64,
    /// Entries kept in memory behind a snapshot for slow followers (etcd: 5,000).
    pub snapshot_catchup_entries: u64,
    /// `--experimental-compaction-batch-limit`: revision keys deleted per compaction batch
    /// (etcd: 1,000).
    pub compaction_batch_limit: usize,
    /// An injected etcd bug (`ETCDLAB_INJECT_BUG`), to prove the checkers catch it; None in
    /// every normal run.
    pub bug: Option<EtcdBug>,
}

/// A real etcd bug the member can be made to have, by its effect on clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdBug {
    /// A linearizable read answered from a state older than writes acknowledged before it
    /// began, after the process was paused (etcd issue #20418: a ReadIndex answer that did not
    /// confirm the current leadership). Here: a leader answers ReadIndex from its own commit
    /// index without a heartbeat round, and on SIGCONT the lab hands a member the client reads
    /// queued during the pause before the peers' messages, so a leader paused and resumed
    /// serves them from its old state before it learns it was replaced.
    StaleReadAfterPause,
    /// An acknowledged write lost when a member crashes (etcd issue #14370, fixed by pull
    /// request #14394, in 3.4.21 as #14423): committed entries that are still in the unsaved
    /// part of the log are applied, and answered, before the WAL fsync. A single-member
    /// cluster commits an entry the moment it appends it, so a crash before the fsync loses a
    /// write its client was told succeeded.
    LostWriteOnCrash,
    /// A watch event delivered twice (etcd issue #17247, fixed in 3.4.29 by pull request
    /// #17535: a watcher catching up from history could get an event again). Here: a watcher
    /// reading history (behind the member's revision) gets the last revision of one read again
    /// at the start of the next.
    DuplicateWatchEvent,
    /// A watch going back in time on a member that installs the leader's snapshot (etcd
    /// issue #15271, fixed in 3.5.8 by pull request #15515): after the restore, a watcher
    /// that was behind got the newest revision, then the older ones it had not seen. Here: at
    /// the first sync after an install, a watcher behind the member's revision is sent that
    /// revision first, then resumes from where it was.
    WatchBackInTimeAfterSnapshot,
    /// A progress notification ahead of the events still queued for the watch (etcd issue
    /// #15220, fixed in 3.4.25 by pull request #15697): etcd 3.4.23 answered a requested
    /// progress notification on the stream's control channel, at the store's revision,
    /// whether or not the watch had been sent every event up to it. Here: every progress
    /// tick notifies at the store's revision, as a client requesting progress each interval
    /// would have been answered, so a watch behind the store is told of a revision whose
    /// events it has not received.
    ProgressNotifyAheadOfEvents,
    /// A watch losing a delete when compaction hits it (etcd issue #18089, fixed in 3.4.34
    /// by pull request #18475): compacting at revision C removed a tombstone at C, and a
    /// watch reading history from C (allowed: only revisions below C are compacted) got the
    /// events after it but not the delete. Here: a watch that reads from the compact
    /// revision does not get a delete at it.
    WatchDropOnCompactedDelete,
    /// The revision going back after a crash during a compaction (etcd issue #17780, fixed in
    /// 3.4.32 by pull request #17864): a compaction at the newest revision deleted the
    /// tombstones at the top of the history (etcd before #18274 did not keep a tombstone at
    /// the compact revision), whole batches were committed, and the process died before
    /// recording the compaction finished; on restart `restore()` took the newest revision
    /// left on disk, so the member handed out revisions again. Here: compaction deletes a
    /// tombstone at its revision, and a restart takes its revision as that `restore()` did.
    RevisionBackAfterCompactionCrash,
}

/// A failpoint the member can be armed with (etcd's gofail failpoints, as its robustness tests
/// use them): the process panics when it gets there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failpoint {
    /// In a compaction, after the last batch of deletions and before `finishedCompactRev` is
    /// written (etcd's `compactBeforeSetFinishedCompact`).
    CompactBeforeSetFinishedCompact,
}

impl EtcdBug {
    pub const ALL: [(&'static str, EtcdBug); 7] = [
        ("stale-read-after-pause", EtcdBug::StaleReadAfterPause),
        ("lost-write-on-crash", EtcdBug::LostWriteOnCrash),
        ("duplicate-watch-event", EtcdBug::DuplicateWatchEvent),
        (
            "watch-back-in-time-after-partition",
            EtcdBug::WatchBackInTimeAfterSnapshot,
        ),
        (
            "progress-notify-ahead-of-events",
            EtcdBug::ProgressNotifyAheadOfEvents,
        ),
        (
            "watch-drop-on-compacted-delete",
            EtcdBug::WatchDropOnCompactedDelete,
        ),
        (
            "revision-back-after-compaction-crash",
            EtcdBug::RevisionBackAfterCompactionCrash,
        ),
    ];

    pub fn parse(name: &str) -> Option<EtcdBug> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, b)| *b == self)
            .expect("listed")
            .0
    }
}

impl MemberConfig {
    /// etcd's minimum lease TTL: 1.5 x the election timeout, in whole seconds.
    pub fn min_lease_ttl_s(&self) -> i64 {
        etcdlab_store::min_ttl_s(
            self.election_timeout_ns / 1_000_000,
            self.heartbeat_interval_ns / 1_000_000,
        )
    }

    /// What a member with an empty data dir applies to: no keys, this member's quota and
    /// minimum lease TTL.
    pub fn empty_state(&self) -> ServerState {
        ServerState::new(Quota::new(self.quota_backend_bytes), self.min_lease_ttl_s())
    }

    /// The raft ids of the initial cluster (`--initial-cluster`).
    pub fn initial_voters(&self) -> Vec<NodeId> {
        (1..=self.cluster_size as NodeId).collect()
    }

    fn raft_config(&self, voters: Vec<NodeId>) -> Config {
        let mut c = Config::etcd_defaults(self.index as NodeId + 1, voters);
        c.election_tick = (self.election_timeout_ns / self.heartbeat_interval_ns) as u32;
        c.pre_vote = self.pre_vote;
        c.bug_read_without_quorum = self.bug == Some(EtcdBug::StaleReadAfterPause);
        c
    }
}

/// What a client got back from a request that succeeded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The response header's revision: the member's store revision when it answered (for a
    /// write, the revision the write itself made, if it changed anything).
    pub revision: i64,
    /// A read of one key: the key as found (None: not found, or not a read of a key). A
    /// txn: the first key its branch's first range found.
    pub kv: Option<KvRead>,
    /// A txn: whether its compares held (etcd's `TxnResponse.succeeded`).
    pub succeeded: Option<bool>,
    /// A range read: every key found, in key order.
    pub kvs: Option<RangeKvs>,
}

/// What a range read found: each key with its value, in key order.
pub type RangeKvs = Rc<[(Rc<[u8]>, KvRead)]>;

/// The parts of `mvccpb.KeyValue` a read returns that a checker needs. The value is the
/// store's value tag (values are identified by tag; their bytes are not simulated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvRead {
    pub value_tag: u64,
    /// The value's size (with the tag, the value's content: a compare on the value needs both).
    pub value_size_bytes: u32,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
}

impl KvRead {
    pub fn of(kv: &etcdlab_store::KeyValue) -> KvRead {
        KvRead {
            value_tag: kv.value.tag,
            value_size_bytes: kv.value.size_bytes,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
        }
    }
}

/// What the member asks the world to do.
#[derive(Debug)]
pub enum Output {
    Send(Msg),
    /// Write `bytes` to the WAL and fsync them. The loop is blocked until
    /// [`Member::on_save_done`] is called. (Saves that need no fsync complete inline.)
    Save {
        bytes: u64,
    },
    Applied {
        index: u64,
        term: u64,
        request_id: Option<u64>,
        /// The store's revision after the entry, if it applied without error (a write that
        /// failed in the applier, e.g. on the quota, changed nothing).
        revision: Option<i64>,
    },
    /// A client request finished on this member: etcd's error text, or what the client got.
    Reply {
        request_id: u64,
        /// The connection the request came in on.
        client: ClientId,
        result: Result<Response, &'static str>,
    },
    /// Leader, role or term changed (as visible in the Ready's soft state or the term).
    RoleChanged {
        role: Role,
        term: u64,
        leader: NodeId,
    },
    /// A new leader was observed (`etcd_server_leader_changes_seen_total` += 1).
    LeaderChangeSeen {
        leader: NodeId,
    },
    /// `heartbeat_send_failures_total` += 1 and the log warning.
    HeartbeatLate {
        to: NodeId,
        exceeded_ns: Nanos,
    },
    /// The backend committed a batch: charge its writes and fsyncs on the member's disk.
    BackendCommit(CommitStats),
    /// An alarm was raised or disarmed as this member applied it.
    AlarmChanged {
        member_id: u64,
        alarm: AlarmKind,
        raised: bool,
    },
    /// A compaction was scheduled: call [`Member::compaction_step`] every 10 ms until done.
    CompactionScheduled,
    /// The process reached the failpoint it was armed with and panicked: it is down now, as
    /// after a crash.
    FailpointPanic(Failpoint),
    /// Send a snapshot to a follower behind the compacted log: the raft message plus the
    /// state machine (the db file, `size_bytes` on the wire). Report the outcome with
    /// [`Member::report_snapshot`].
    SendSnapshot {
        msg: Msg,
        state: Box<ServerState>,
        size_bytes: u64,
    },
    /// `--snapshot-count` entries applied since the last snapshot: a raft snapshot was taken
    /// at `index` and the in-memory log compacted.
    SnapshotTaken {
        index: u64,
    },
    /// A snapshot from the leader replaced this member's log and state.
    SnapshotInstalled {
        index: u64,
        /// The state's consistent index (the leader may have applied past the snapshot).
        applied_index: u64,
        size_bytes: u64,
    },
    /// A membership change was applied.
    ConfChanged(ConfChange),
    /// etcd cannot go on (raft's "tocommit out of range" panic): the process exits.
    Fatal {
        text: String,
    },
}

/// What survives a crash: the fsynced WAL, and the applied state (the backend).
pub struct Durable {
    pub hard_state: HardState,
    /// The last raft snapshot saved (`member/snap/*.snap`); the WAL is replayed from there.
    pub snapshot: Option<SnapshotMeta>,
    pub entries: Vec<Entry<Proposal>>,
    pub state: ServerState,
    /// WAL bytes the restart has to replay.
    pub wal_bytes: u64,
}

/// A client request waiting for its entry to apply.
struct Waiter {
    start_ns: Nanos,
    client: ClientId,
}

/// A read waiting for its read index or for the apply to reach it.
struct ReadWait {
    index: Option<u64>,
    client: ClientId,
    what: ReadOf,
}

/// What a client read asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOf {
    /// Nothing but the revision (a read that only measures latency).
    Nothing,
    /// One key.
    Key(Rc<[u8]>),
    /// One key as of revision `rev` (etcd's `WithRev`).
    KeyAt { key: Rc<[u8]>, rev: i64 },
    /// Every key in `[key, range_end)` (etcd's `Range`; `range_end` "\0": every key from
    /// `key` on), as of revision `rev` (0: the latest).
    Range {
        key: Rc<[u8]>,
        range_end: Rc<[u8]>,
        rev: i64,
    },
}

/// One ReadIndex round: its id in raft and the reads it answers.
struct ReadRound {
    ctx: u64,
    requested_ns: Nanos,
    ids: Vec<u64>,
}

/// etcd retries a ReadIndex that got no answer after this long.
const READ_INDEX_RETRY_NS: Nanos = 500_000_000;

/// The save the loop is blocked in.
struct InSave {
    last_index: Option<u64>,
    hard_state: Option<HardState>,
    /// The Ready's committed entries wait in `to_apply` for this save's fsync.
    apply_after: bool,
}

pub struct Member {
    cfg: MemberConfig,
    raft: Raft<Proposal>,
    state: ServerState,
    /// Committed entries waiting to be applied (etcd's apply goroutine runs behind the raft
    /// loop; a defrag holds it up).
    to_apply: VecDeque<Entry<Proposal>>,
    /// A defrag holds the backend's locks: no apply and no read until it finishes.
    defragging: bool,
    next_internal_id: u64,
    in_save: Option<InSave>,
    pending_tick: bool,
    /// Messages of a follower/candidate, sent once its WAL save is done.
    held: Vec<Msg>,
    /// Last index and hard state known to be fsynced.
    durable_last_index: u64,
    durable_hard_state: HardState,
    waiters: BTreeMap<u64, Waiter>,
    /// Proposals made while no leader is known: etcd blocks them until one appears.
    blocked: VecDeque<Proposal>,
    /// Reads in progress: id -> the index to wait for once raft confirmed it (serializable
    /// reads wait for nothing but a defrag).
    reads: BTreeMap<u64, ReadWait>,
    /// The ReadIndex round in flight, and the linearizable reads waiting for the next one.
    read_round: Option<ReadRound>,
    read_queue: Vec<u64>,
    next_read_ctx: u64,
    // Mirrors of what etcd's server tracks from soft state.
    leader: NodeId,
    role: Role,
    term: u64,
    /// When this member last became leader (etcd's `leadElectedTime`).
    leader_elected_ns: Option<Nanos>,
    /// Per peer, when the last heartbeat was sent (etcd's contention.TimeoutDetector).
    last_heartbeat_ns: BTreeMap<NodeId, Nanos>,
    /// A snapshot's state received from the leader (with its index), installed when raft
    /// hands the snapshot out.
    incoming_snapshot: Option<(u64, Box<ServerState>)>,
    /// The state as of the backend's last commit, kept only under the injected
    /// `lost-write-on-crash` bug: there a crash can lose applied entries the WAL never held,
    /// and what survives is the last committed backend (otherwise every applied entry is in
    /// the WAL, and replaying it rebuilds exactly the state in memory).
    committed_state: Option<Box<ServerState>>,
    /// The last snapshot saved: what a crash keeps (raft's may be a received one not yet
    /// installed).
    durable_snapshot: SnapshotMeta,
    // Counters for metrics.
    pub proposals_failed_total: u64,
    pub heartbeat_send_failures_total: u64,
    pub leader_changes_seen_total: u64,
    /// Leader snapshots installed (each replaced the state machine).
    pub snapshots_installed_total: u64,
    /// The failpoint this process panics at, if armed.
    failpoint: Option<Failpoint>,
}

impl Member {
    /// A member of a new cluster of the initial voters (first boot).
    pub fn new(cfg: MemberConfig, rng: rand_chacha::ChaCha8Rng) -> Member {
        let voters = cfg.initial_voters();
        Self::bootstrap(cfg, voters, rng)
    }

    /// First boot with `--initial-cluster-state=new` and these voters.
    pub fn bootstrap(
        cfg: MemberConfig,
        voters: Vec<NodeId>,
        rng: rand_chacha::ChaCha8Rng,
    ) -> Member {
        let state = cfg.empty_state().with_members(&voters);
        let raft = Raft::new(cfg.raft_config(voters), rng);
        Self::with_raft(cfg, raft, state, HardState::default(), 0)
    }

    /// First boot of an added member (`--initial-cluster-state=existing`): it learns the
    /// cluster's `members` from its peers (etcd fetches them before it starts raft), then
    /// boots as a new member of them; the leader's entries or snapshot bring the data.
    pub fn join_existing(
        cfg: MemberConfig,
        members: Vec<NodeId>,
        rng: rand_chacha::ChaCha8Rng,
    ) -> Member {
        Self::bootstrap(cfg, members, rng)
    }

    /// A new member whose store already holds `state` (history fast-forwarded by the lab), as
    /// after a snapshot restore of the initial cluster.
    pub fn with_state(
        cfg: MemberConfig,
        state: ServerState,
        rng: rand_chacha::ChaCha8Rng,
    ) -> Member {
        let voters = cfg.initial_voters();
        let durable = Self::restored_data_dir(state.restored(&voters), voters);
        Self::restart(cfg, durable, rng)
    }

    /// What `etcdctl snapshot restore` leaves in a data dir: the backend (consistent index =
    /// member count), and a raft log of one ConfChange per member at term 1 behind a snapshot
    /// at index n, committed.
    pub fn restored_data_dir(state: ServerState, voters: Vec<NodeId>) -> Durable {
        let n = voters.len() as u64;
        Durable {
            hard_state: HardState {
                term: 1,
                vote: 0,
                commit: n,
            },
            snapshot: Some(SnapshotMeta {
                index: n,
                term: 1,
                voters,
            }),
            entries: Vec::new(),
            state,
            wal_bytes: 0,
        }
    }

    /// Restart from what survived a crash (WAL replay is timed by the world beforehand).
    pub fn restart(cfg: MemberConfig, durable: Durable, rng: rand_chacha::ChaCha8Rng) -> Member {
        let snap_index = durable.snapshot.as_ref().map_or(0, |s| s.index);
        let last = durable.entries.last().map_or(snap_index, |e| e.index);
        let applied = durable.state.applied_index().min(last).max(snap_index);
        // Membership as of the applied index (the members bucket, which every way of making
        // a data dir fills); entries after it are applied again, conf changes included.
        let voters = durable.state.members();
        let recovered = Recovered {
            hard_state: durable.hard_state,
            snapshot: durable.snapshot,
            entries: durable.entries,
            applied,
        };
        let raft = Raft::restart(cfg.raft_config(voters), recovered, rng);
        let durable_snapshot = raft.snapshot_meta().clone();
        let mut state = durable.state;
        if cfg.bug == Some(EtcdBug::RevisionBackAfterCompactionCrash) {
            state.store.restore_revision_before_17815();
        }
        // A restart reads --quota-backend-bytes anew (how operators raise it), and starts as a
        // follower: its lessor expires nothing until it leads again.
        state.quota = Quota::new(cfg.quota_backend_bytes);
        state.lessor.demote();
        let mut member = Self::with_raft(cfg, raft, state, durable.hard_state, last);
        member.durable_snapshot = durable_snapshot;
        member
    }

    fn with_raft(
        cfg: MemberConfig,
        raft: Raft<Proposal>,
        mut state: ServerState,
        hs: HardState,
        durable_last_index: u64,
    ) -> Member {
        if cfg.bug == Some(EtcdBug::RevisionBackAfterCompactionCrash) {
            state.store.delete_tombstone_at_compact_rev();
        }
        let committed_state =
            (cfg.bug == Some(EtcdBug::LostWriteOnCrash)).then(|| Box::new(state.clone()));
        Member {
            term: raft.term(),
            cfg,
            raft,
            state,
            to_apply: VecDeque::new(),
            defragging: false,
            next_internal_id: 0,
            in_save: None,
            pending_tick: false,
            held: Vec::new(),
            durable_last_index,
            durable_hard_state: hs,
            waiters: BTreeMap::new(),
            blocked: VecDeque::new(),
            reads: BTreeMap::new(),
            read_round: None,
            read_queue: Vec::new(),
            next_read_ctx: 0,
            leader: NONE,
            role: Role::Follower,
            leader_elected_ns: None,
            last_heartbeat_ns: BTreeMap::new(),
            incoming_snapshot: None,
            committed_state,
            durable_snapshot: SnapshotMeta::default(),
            proposals_failed_total: 0,
            heartbeat_send_failures_total: 0,
            leader_changes_seen_total: 0,
            snapshots_installed_total: 0,
            failpoint: None,
        }
    }

    /// Arm a failpoint: the process panics when it gets there (once; a restart disarms it).
    pub fn arm_failpoint(&mut self, failpoint: Failpoint) {
        self.failpoint = Some(failpoint);
    }

    /// Client requests (writes and reads) still waiting for an answer: a crash cuts their
    /// connections.
    pub fn pending_requests(&self) -> Vec<(u64, ClientId)> {
        let writes = self.waiters.iter().map(|(id, w)| (*id, w.client));
        let reads = self.reads.iter().map(|(id, r)| (*id, r.client));
        writes.chain(reads).collect()
    }

    /// Take what survives a crash. Unsynced WAL bytes and in-flight work are lost.
    pub fn crash(mut self) -> Durable {
        if self.incoming_snapshot.is_some() {
            // Raft replaced its log with a received snapshot whose Ready is not handled yet:
            // etcd saved the received db before raft saw the message, so it is what survives.
            let meta = self.raft.snapshot_meta().clone();
            self.install_snapshot(&meta, &mut Vec::new());
        }
        let snapshot = self.durable_snapshot.clone();
        let first = (snapshot.index + 1).max(self.raft.first_index());
        let entries: Vec<_> = (first..=self.durable_last_index)
            .map(|i| {
                self.raft
                    .entry_at(i)
                    .expect("durable entry in memory")
                    .clone()
            })
            .collect();
        let wal_bytes = entries.iter().map(wal_entry_bytes).sum::<u64>();
        let mut state = self.state;
        if state.applied_index() > self.durable_last_index {
            // Only under the injected bug: entries applied ahead of the WAL. The backend's
            // last commit survives; if it did not hold them either, they are gone.
            if let Some(committed) = self.committed_state.take() {
                if committed.applied_index() <= self.durable_last_index {
                    state = *committed;
                }
            }
        }
        Durable {
            hard_state: self.durable_hard_state,
            snapshot: (snapshot.index > 0).then_some(snapshot),
            entries,
            state,
            wal_bytes,
        }
    }

    // ---------------------------------------------------------------- inputs

    /// The ticker fired. Dropped (beyond one pending tick) while the loop is blocked.
    pub fn on_tick(&mut self, now: Nanos, out: &mut Vec<Output>) {
        self.retry_reads(now);
        self.pending_tick = true;
        self.drive(now, out);
    }

    /// A message from a peer. Raft steps it even while the loop is blocked in a save.
    pub fn on_message(&mut self, now: Nanos, msg: Msg, out: &mut Vec<Output>) {
        self.raft.step(msg);
        if let Some(text) = self.raft.take_fatal() {
            out.push(Output::Fatal { text });
        }
        self.drive(now, out);
    }

    /// A snapshot message from the leader arrived with its state machine (after the transfer).
    pub fn on_snapshot(
        &mut self,
        now: Nanos,
        msg: Msg,
        state: Box<ServerState>,
        out: &mut Vec<Output>,
    ) {
        let index = msg.snapshot.as_ref().map_or(0, |s| s.index);
        self.raft.step(msg);
        // Kept only when raft took it (not when its log already had the entry, or it is stale).
        if self.raft.pending_snapshot_index() == Some(index) {
            self.incoming_snapshot = Some((index, state));
        }
        self.drive(now, out);
    }

    /// The snapshot sent to `to` arrived (`ok`) or was lost.
    pub fn report_snapshot(&mut self, now: Nanos, to: NodeId, ok: bool, out: &mut Vec<Output>) {
        self.raft.report_snapshot(to, ok);
        self.drive(now, out);
    }

    /// The WAL save the loop was blocked in has been fsynced.
    pub fn on_save_done(&mut self, now: Nanos, out: &mut Vec<Output>) {
        self.finish_save(now, out);
        self.drive(now, out);
    }

    /// A client request arrived at this member. A put the member's own backend has no room for
    /// is refused at the gRPC layer (`api/v3rpc/quota.go`): the member proposes a NOSPACE alarm
    /// for itself and the client's put fails once that alarm applies.
    pub fn on_client_write(&mut self, now: Nanos, req: Rc<Request>, out: &mut Vec<Output>) {
        let Origin::Client(client) = req.origin else {
            panic!("request {} is the member's own, not a client's", req.id)
        };
        self.waiters.insert(
            req.id,
            Waiter {
                start_ns: now,
                client,
            },
        );
        let proposal = if self.state.quota_allows(&req.op) {
            req
        } else {
            Rc::new(Request {
                id: req.id,
                origin: req.origin,
                op: self.nospace_alarm(true),
            })
        };
        self.propose(Proposal(proposal));
        self.drive(now, out);
    }

    /// A client read arrived. Serializable: answered from local state (after a defrag, if one
    /// runs). Linearizable: etcd's read loop gathers the reads that arrive while one ReadIndex
    /// round is out and asks raft for one read index for all of them, waits until it is
    /// applied, then reads locally; a round without an answer is asked again every 500 ms.
    pub fn on_client_read(
        &mut self,
        now: Nanos,
        id: u64,
        client: ClientId,
        linearizable: bool,
        what: ReadOf,
        out: &mut Vec<Output>,
    ) {
        let index = (!linearizable).then_some(0);
        self.reads.insert(
            id,
            ReadWait {
                index,
                client,
                what,
            },
        );
        if linearizable {
            self.read_queue.push(id);
            if self.read_round.is_none() {
                self.start_read_round(now);
            }
        }
        self.serve_reads(out);
        self.drive(now, out);
    }

    /// One ReadIndex for every read queued since the last round.
    fn start_read_round(&mut self, now: Nanos) {
        if self.read_queue.is_empty() {
            return;
        }
        self.next_read_ctx += 1;
        let ctx = self.next_read_ctx;
        let ids = std::mem::take(&mut self.read_queue);
        self.read_round = Some(ReadRound {
            ctx,
            requested_ns: now,
            ids,
        });
        // No leader: asked again after 500 ms.
        let _ = self.raft.read_index(ctx);
    }

    /// Raft confirmed read index `index` for round `ctx`.
    fn on_read_state(&mut self, now: Nanos, ctx: u64, index: u64) {
        if self.read_round.as_ref().map(|r| r.ctx) != Some(ctx) {
            return; // an answer to a round already answered
        }
        let round = self.read_round.take().expect("checked");
        for id in round.ids {
            if let Some(r) = self.reads.get_mut(&id) {
                r.index = Some(index);
            }
        }
        self.start_read_round(now);
    }

    /// Answer every read whose index has been applied.
    fn serve_reads(&mut self, out: &mut Vec<Output>) {
        if self.defragging {
            return;
        }
        let applied = self.state.applied_index();
        let ready: Vec<u64> = self
            .reads
            .iter()
            .filter(|(_, r)| r.index.is_some_and(|i| i <= applied))
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let read = self.reads.remove(&id).expect("listed");
            out.push(Output::Reply {
                request_id: id,
                client: read.client,
                result: self.read_response(&read.what),
            });
        }
    }

    /// A read answered from this member's store as it is now.
    /// A read at a compacted or future revision fails as etcd's does.
    fn read_response(&self, what: &ReadOf) -> Result<Response, &'static str> {
        let store = &self.state.store;
        let mut response = Response {
            revision: store.current_rev(),
            ..Response::default()
        };
        let at = |rev: i64| etcdlab_store::RangeOptions {
            rev,
            ..Default::default()
        };
        let range = |key: &[u8], end: &[u8], rev: i64| {
            store.range(key, end, &at(rev)).map_err(|e| match e {
                etcdlab_store::StoreError::Compacted => ERR_COMPACTED,
                _ => ERR_FUTURE_REV,
            })
        };
        match what {
            ReadOf::Nothing => {}
            ReadOf::Key(k) => {
                let found = store.range(k, &[], &Default::default()).ok();
                response.kv = found.and_then(|f| f.kvs.first().map(KvRead::of));
            }
            ReadOf::KeyAt { key, rev } => {
                response.kv = range(key, &[], *rev)?.kvs.first().map(KvRead::of);
            }
            ReadOf::Range {
                key,
                range_end,
                rev,
            } => {
                let kvs = range(key, range_end, *rev)?.kvs;
                response.kvs = Some(
                    kvs.iter()
                        .map(|kv| (Rc::from(kv.key.as_slice()), KvRead::of(kv)))
                        .collect(),
                );
            }
        }
        Ok(response)
    }

    /// etcd: "waiting for ReadIndex response took too long, retrying" (same round, same id).
    fn retry_reads(&mut self, now: Nanos) {
        if let Some(round) = &mut self.read_round {
            if now.saturating_sub(round.requested_ns) >= READ_INDEX_RETRY_NS {
                round.requested_ns = now;
                let _ = self.raft.read_index(round.ctx);
            }
        }
    }

    /// The member's raft id, which etcd's alarms name as the member id.
    pub fn member_id(&self) -> u64 {
        self.cfg.index as u64 + 1
    }

    fn nospace_alarm(&self, for_rejected_put: bool) -> Op {
        Op::Alarm {
            activate: true,
            member_id: self.member_id(),
            alarm: AlarmKind::NoSpace,
            for_rejected_put,
        }
    }

    /// Propose a request of the member's own (nobody waits for its reply).
    fn propose_internal(&mut self, op: Op) {
        self.next_internal_id += 1;
        let id = MEMBER_REQUEST_IDS_FROM | ((self.cfg.index as u64) << 40) | self.next_internal_id;
        let origin = Origin::Member;
        self.propose(Proposal(Rc::new(Request { id, origin, op })));
    }

    /// Raise an alarm through raft on the member's own behalf (the periodic corruption
    /// check's CORRUPT): no client waits for it.
    pub fn raise_alarm(
        &mut self,
        now: Nanos,
        member_id: u64,
        alarm: AlarmKind,
        out: &mut Vec<Output>,
    ) {
        self.propose_internal(Op::Alarm {
            activate: true,
            member_id,
            alarm,
            for_rejected_put: false,
        });
        self.drive(now, out);
    }

    /// The backend's batch interval (100 ms) elapsed: commit what is pending.
    pub fn on_backend_batch_interval(&mut self, out: &mut Vec<Output>) {
        if self.state.store.backend().pending_ops() > 0 {
            self.commit_backend(out);
        }
    }

    fn commit_backend(&mut self, out: &mut Vec<Output>) {
        let stats = self.state.store.backend_mut().commit();
        out.push(Output::BackendCommit(stats));
        if self.cfg.bug == Some(EtcdBug::LostWriteOnCrash) {
            self.committed_state = Some(Box::new(self.state.clone()));
        }
    }

    /// One compaction batch (1000 revision keys, etcd's `compactionBatchLimit`). Returns true
    /// while more remain; the caller waits 10 ms between batches, as etcd sleeps.
    ///
    /// etcd's `scheduleCompaction` force-commits the backend after every batch but the last
    /// ("commit the compaction deletes immediately"); the last one is left to the batch
    /// interval. So once compacted, the pages of all but the last batch are free and only the
    /// last batch's stay pending (counted in use) until a later commit: real 3.4.23 went from
    /// 16,449,536 bytes in use to 6,205,440 after compacting 1595 revisions (ground truth A).
    pub fn compaction_step(&mut self, out: &mut Vec<Output>) -> bool {
        if self.defragging {
            return true; // the batch tx is locked: try again later
        }
        let limit = self.cfg.compaction_batch_limit;
        if self.failpoint == Some(Failpoint::CompactBeforeSetFinishedCompact)
            && self.state.store.compaction_pending() <= limit
        {
            return self.panic_before_finishing_compaction(limit, out);
        }
        self.state.store.compaction_step(limit);
        let more = self.state.store.compaction_pending() > 0;
        if more || self.state.store.backend().batch_full() {
            self.commit_backend(out);
        }
        more
    }

    /// `compactBeforeSetFinishedCompact`: the revisions left fill a whole batch, deleted and
    /// committed, then the next pass finds none and panics; or they are a short batch, deleted
    /// in the batch transaction the panic loses with the finished mark.
    fn panic_before_finishing_compaction(&mut self, limit: usize, out: &mut Vec<Output>) -> bool {
        let failpoint = self.failpoint.take().expect("armed");
        if self.state.store.compaction_pending() == limit {
            self.state.store.compaction_delete_batch(limit);
            self.commit_backend(out);
        }
        out.push(Output::FailpointPanic(failpoint));
        false
    }

    /// Start a defrag: applies and reads stop until [`Member::finish_defrag`]. Returns the bytes
    /// the defrag will copy (the live pages), for the world to time on the member's disk.
    pub fn start_defrag(&mut self, out: &mut Vec<Output>) -> u64 {
        assert!(!self.defragging, "defrag already running");
        // etcd commits the pending batch before copying.
        self.on_backend_batch_interval(out);
        self.defragging = true;
        self.state.store.backend().size_in_use_bytes()
    }

    pub fn finish_defrag(&mut self, now: Nanos, out: &mut Vec<Output>) -> DefragStats {
        assert!(self.defragging, "no defrag running");
        let stats = self.state.store.backend_mut().defrag();
        self.defragging = false;
        self.apply_pending(now, out);
        stats
    }

    /// The leader's lessor loop (every 500 ms): propose a revoke for each expired lease.
    pub fn revoke_expired_leases(&mut self, now: Nanos, out: &mut Vec<Output>) {
        if self.role != Role::Leader || !self.state.lessor.is_primary() {
            return;
        }
        let expired = self
            .state
            .lessor
            .expired(now, etcdlab_store::lease::REVOKE_LIMIT_PER_LOOP);
        for id in expired {
            self.propose_internal(Op::LeaseRevoke { id });
        }
        self.drive(now, out);
    }

    /// A client's keepalive reached this member: only the leader renews (without raft).
    pub fn renew_lease(&mut self, now: Nanos, id: i64) -> bool {
        self.role == Role::Leader && self.state.lessor.renew(id, now).is_ok()
    }

    pub fn is_defragging(&self) -> bool {
        self.defragging
    }

    /// The server-side request timeout of `request_id` expired.
    pub fn on_request_timeout(&mut self, request_id: u64, out: &mut Vec<Output>) {
        if let Some(read) = self.reads.remove(&request_id) {
            // A read is no proposal: etcd 3.4's read path answers ErrTimeout.
            out.push(Output::Reply {
                request_id,
                client: read.client,
                result: Err(ERR_TIMEOUT),
            });
            return;
        }
        let Some(w) = self.waiters.remove(&request_id) else {
            return;
        };
        // etcd counts both a Propose that gave up and a proposal that timed out as failed.
        self.proposals_failed_total += 1;
        let blocked_at = self.blocked.iter().position(|p| p.0.id == request_id);
        let error = match blocked_at {
            Some(i) => {
                self.blocked.remove(i); // never proposed: Propose itself gave up
                ERR_CONTEXT_DEADLINE
            }
            None => self.timeout_error(w.start_ns),
        };
        out.push(Output::Reply {
            request_id,
            client: w.client,
            result: Err(error),
        });
    }

    // ---------------------------------------------------------------- the loop

    fn drive(&mut self, now: Nanos, out: &mut Vec<Output>) {
        while self.in_save.is_none() {
            if self.pending_tick {
                self.pending_tick = false;
                self.raft.tick();
            }
            if !self.raft.has_ready() {
                break;
            }
            self.handle_ready(now, out);
        }
    }

    fn handle_ready(&mut self, now: Nanos, out: &mut Vec<Output>) {
        let rd = self.raft.ready();
        if let Some(ss) = rd.soft_state {
            self.on_soft_state(now, ss.leader, ss.role, out);
        }
        self.note_term(out);
        let mut snapshot_bytes = 0;
        if let Some(meta) = &rd.snapshot {
            snapshot_bytes = self.install_snapshot(meta, out);
        }
        for rs in &rd.read_states {
            self.on_read_state(now, rs.ctx, rs.index);
        }
        // etcd 3.4.21+ (`shouldWaitWALSync`, issue #14370): committed entries that are also
        // among the entries this Ready saves are applied only after the WAL fsync.
        let apply_after = self.cfg.bug != Some(EtcdBug::LostWriteOnCrash)
            && must_wait_wal_sync(&rd.committed_entries, &rd.entries);
        if apply_after {
            self.to_apply.extend(rd.committed_entries.iter().cloned());
        } else {
            self.apply(now, &rd.committed_entries, out);
        }
        let bytes = wal_bytes(&rd.entries, rd.hard_state.is_some()) + snapshot_bytes;
        if let Some(first) = rd.entries.first() {
            // A conflicting tail being overwritten is no longer what the WAL will hold.
            self.durable_last_index = self.durable_last_index.min(first.index - 1);
        }
        let save = InSave {
            last_index: rd.entries.last().map(|e| e.index),
            hard_state: rd.hard_state,
            apply_after,
        };
        if self.role == Role::Leader {
            // etcd: the leader sends before its own fsync (raft thesis 10.2.1).
            self.send_all(now, rd.messages, out);
        } else {
            self.held = rd.messages;
        }
        self.in_save = Some(save);
        if rd.must_sync {
            out.push(Output::Save { bytes });
        } else {
            // Commit-only hard state: written without fsync, effectively instant.
            self.finish_save(now, out);
        }
    }

    fn finish_save(&mut self, now: Nanos, out: &mut Vec<Output>) {
        let save = self
            .in_save
            .take()
            .expect("finish_save without a save in progress");
        if let Some(last) = save.last_index {
            self.durable_last_index = last;
        }
        if let Some(hs) = save.hard_state {
            self.durable_hard_state = hs;
        }
        let held = std::mem::take(&mut self.held);
        self.send_all(now, held, out);
        if save.apply_after {
            self.apply_pending(now, out);
        }
        self.raft.advance();
        self.maybe_snapshot(out);
    }

    /// Replace the state machine with the one that came with the leader's snapshot (etcd's
    /// `applySnapshot`: the received db becomes the backend). Returns the bytes written.
    fn install_snapshot(&mut self, meta: &SnapshotMeta, out: &mut Vec<Output>) -> u64 {
        let index = meta.index;
        let (received, mut state) = self
            .incoming_snapshot
            .take()
            .expect("raft restored a snapshot that came without its state");
        assert_eq!(
            received, index,
            "installing another snapshot than raft restored"
        );
        self.durable_snapshot = meta.clone();
        // This member's own flags stay: its quota, and only a leader's lessor expires leases.
        state.quota = self.state.quota;
        state.lessor.demote();
        self.state = *state;
        self.to_apply.clear();
        self.durable_last_index = index;
        self.snapshots_installed_total += 1;
        let size_bytes = self.state.store.backend().size_bytes();
        out.push(Output::SnapshotInstalled {
            index,
            applied_index: self.state.applied_index(),
            size_bytes,
        });
        size_bytes
    }

    /// etcd's `triggerSnapshot`: every `--snapshot-count` applied entries, snapshot and
    /// compact the in-memory log, keeping `snapshot_catchup_entries` for slow followers.
    fn maybe_snapshot(&mut self, out: &mut Vec<Output>) {
        let applied = self.state.applied_index().min(self.raft.applied_index());
        if applied <= self.raft.snapshot_meta().index + self.cfg.snapshot_count {
            return;
        }
        // The snapshot persists the consistent index: the backend commits first.
        self.commit_backend(out);
        self.raft.create_snapshot(applied);
        self.durable_snapshot = self.raft.snapshot_meta().clone();
        if applied > self.cfg.snapshot_catchup_entries {
            self.raft
                .compact_log(applied - self.cfg.snapshot_catchup_entries);
        }
        out.push(Output::SnapshotTaken { index: applied });
    }

    fn on_soft_state(&mut self, now: Nanos, leader: NodeId, role: Role, out: &mut Vec<Output>) {
        if leader != NONE && leader != self.leader {
            self.leader_changes_seen_total += 1;
            // etcd's updateLeadership keeps `leadElectedTime` only on the member that became
            // leader: a follower never blames "previous leader failure" (measured on 3.4.23).
            if role == Role::Leader {
                self.leader_elected_ns = Some(now);
            }
            out.push(Output::LeaderChangeSeen { leader });
        }
        let was_leader = self.role == Role::Leader;
        self.leader = leader;
        self.role = role;
        self.term = self.raft.term();
        // Only the leader's lessor expires leases; a new leader extends them by an election
        // timeout first (etcd promotes once it applies its term's first entry; close enough).
        if role == Role::Leader && !was_leader {
            self.state.lessor.promote(now, self.cfg.election_timeout_ns);
        } else if role != Role::Leader && was_leader {
            self.state.lessor.demote();
        }
        // etcd resets the heartbeat timeout detector on every soft-state change.
        self.last_heartbeat_ns.clear();
        out.push(Output::RoleChanged {
            role,
            term: self.term,
            leader,
        });
        if leader != NONE {
            self.unblock_proposals();
        }
    }

    fn note_term(&mut self, out: &mut Vec<Output>) {
        let term = self.raft.term();
        if term != self.term {
            self.term = term;
            out.push(Output::RoleChanged {
                role: self.role,
                term,
                leader: self.leader,
            });
        }
    }

    fn send_all(&mut self, now: Nanos, msgs: Vec<Msg>, out: &mut Vec<Output>) {
        for m in msgs {
            if m.msg_type == MessageType::Heartbeat {
                self.observe_heartbeat(now, m.to, out);
            }
            if m.msg_type == MessageType::Snap {
                // etcd's merged snapshot: the raft snapshot's metadata with the current db.
                let state = Box::new(self.state.clone());
                let size_bytes = state.store.backend().size_bytes();
                out.push(Output::SendSnapshot {
                    msg: m,
                    state,
                    size_bytes,
                });
                continue;
            }
            out.push(Output::Send(m));
        }
    }

    /// etcd's TimeoutDetector: a gap over 2 x heartbeat between two heartbeats to a peer.
    fn observe_heartbeat(&mut self, now: Nanos, to: NodeId, out: &mut Vec<Output>) {
        let max_gap = 2 * self.cfg.heartbeat_interval_ns;
        if let Some(last) = self.last_heartbeat_ns.insert(to, now) {
            let gap = now - last;
            if gap > max_gap {
                self.heartbeat_send_failures_total += 1;
                out.push(Output::HeartbeatLate {
                    to,
                    exceeded_ns: gap - max_gap,
                });
            }
        }
    }

    fn apply(&mut self, now: Nanos, entries: &[Entry<Proposal>], out: &mut Vec<Output>) {
        self.to_apply.extend(entries.iter().cloned());
        self.apply_pending(now, out);
    }

    fn apply_pending(&mut self, now: Nanos, out: &mut Vec<Output>) {
        let waiting_for_fsync = self.in_save.as_ref().is_some_and(|s| s.apply_after);
        while !self.defragging && !waiting_for_fsync {
            let Some(e) = self.to_apply.pop_front() else {
                break;
            };
            self.apply_entry(now, &e, out);
        }
        self.serve_reads(out);
    }

    fn apply_entry(&mut self, now: Nanos, e: &Entry<Proposal>, out: &mut Vec<Output>) {
        let request = match &e.data {
            EntryData::Normal(p) => Some(&p.0),
            EntryData::Empty => None,
        };
        if e.index <= self.state.applied_index() {
            // Already in the backend before a restart (etcd's consistent index); raft still
            // needs the membership changes (etcd applies conf changes regardless).
            if let Some(r) = request {
                if let Some(cc) = conf_change_of(&r.op) {
                    self.raft.apply_conf_change(cc);
                }
            }
            return;
        }
        let mut effects = ApplyEffects::default();
        let result = self
            .state
            .apply(e.index, request.map(|r| &r.op), now, &mut effects);
        let request_id = request.map(|r| r.id);
        out.push(Output::Applied {
            index: e.index,
            term: e.term,
            request_id,
            revision: result.is_ok().then(|| self.state.store.current_rev()),
        });
        let client_request = request.filter(|r| r.origin != Origin::Member);
        if let Some(id) = client_request.map(|r| r.id) {
            if let Some(w) = self.waiters.remove(&id) {
                let revision = self.state.store.current_rev();
                out.push(Output::Reply {
                    request_id: id,
                    client: w.client,
                    result: result.map(|()| Response {
                        revision,
                        kv: effects.txn.and_then(|(_, kv)| kv),
                        succeeded: effects.txn.map(|(succeeded, _)| succeeded),
                        kvs: None,
                    }),
                });
            }
        }
        for (member_id, alarm, raised) in effects.alarms {
            out.push(Output::AlarmChanged {
                member_id,
                alarm,
                raised,
            });
        }
        if effects.compaction.is_some() {
            out.push(Output::CompactionScheduled);
        }
        if let Some(cc) = effects.conf_change {
            self.raft.apply_conf_change(cc);
            out.push(Output::ConfChanged(cc));
        }
        if effects.raise_nospace {
            // "message exceeded backend quota; raising alarm"
            self.propose_internal(self.nospace_alarm(false));
        }
        if self.state.store.backend().batch_full() {
            self.commit_backend(out);
        }
    }

    fn propose(&mut self, p: Proposal) {
        match self.raft.propose(p.clone()) {
            Ok(_) => {}
            Err(ProposeError::NoLeader) => self.blocked.push_back(p),
            // Dropped proposals surface as a timeout, as in etcd.
            Err(ProposeError::Dropped) => {}
        }
    }

    fn unblock_proposals(&mut self) {
        let blocked = std::mem::take(&mut self.blocked);
        for p in blocked {
            // The member's own requests (alarms, revokes) have no waiter but must not be lost.
            let own = p.0.origin == Origin::Member;
            if own || self.waiters.contains_key(&p.0.id) {
                self.propose(p);
            }
        }
    }

    /// etcd's parseProposeCtxErr: blame a recent leader failure when the request started
    /// within 2 x election timeout before this member itself was elected. (etcd's third text,
    /// "possibly due to connection lost", needs the transport's connection times: not
    /// modelled.)
    fn timeout_error(&self, start_ns: Nanos) -> &'static str {
        if let Some(elected) = self.leader_elected_ns {
            let prev_lead_lost = elected.saturating_sub(2 * self.cfg.election_timeout_ns);
            if start_ns > prev_lead_lost && start_ns < elected {
                return ERR_TIMEOUT_LEADER_FAIL;
            }
        }
        ERR_TIMEOUT
    }

    // ---------------------------------------------------------------- introspection

    pub fn index(&self) -> usize {
        self.cfg.index
    }
    pub fn raft(&self) -> &Raft<Proposal> {
        &self.raft
    }
    pub fn state(&self) -> &ServerState {
        &self.state
    }
    /// Entries committed but not applied yet (held up by a defrag).
    pub fn apply_backlog(&self) -> usize {
        self.to_apply.len()
    }
    pub fn is_saving(&self) -> bool {
        self.in_save.is_some()
    }
    pub fn leader(&self) -> NodeId {
        self.leader
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn proposals_pending(&self) -> usize {
        self.waiters.len()
    }
    pub fn durable_last_index(&self) -> u64 {
        self.durable_last_index
    }
}

fn conf_change_of(op: &Op) -> Option<ConfChange> {
    match op {
        Op::MemberAdd { id } => Some(ConfChange::AddNode(*id)),
        Op::MemberRemove { id } => Some(ConfChange::RemoveNode(*id)),
        _ => None,
    }
}

fn wal_entry_bytes(e: &Entry<Proposal>) -> u64 {
    WAL_RECORD_HEADER_BYTES + e.size_bytes()
}

fn wal_bytes(entries: &[Entry<Proposal>], hard_state: bool) -> u64 {
    let hs = if hard_state {
        HARD_STATE_RECORD_BYTES
    } else {
        0
    };
    entries.iter().map(wal_entry_bytes).sum::<u64>() + hs
}

/// etcd's `shouldWaitWALSync`: the last committed entry is at or past the first entry this
/// Ready saves (by term, then index), so applying now could answer a write its WAL may lose.
fn must_wait_wal_sync(committed: &[Entry<Proposal>], unsaved: &[Entry<Proposal>]) -> bool {
    let (Some(last_committed), Some(first_unsaved)) = (committed.last(), unsaved.first()) else {
        return false;
    };
    (last_committed.term, last_committed.index) >= (first_unsaved.term, first_unsaved.index)
}
