//! Sans-IO Raft as etcd runs it (etcd-io/raft v3.4 semantics).
//!
//! The state machine has no clock, no I/O and no randomness source of its own: it is driven by
//! [`Raft::tick`], [`Raft::step`] and [`Raft::propose`], and hands its outputs out through
//! [`Raft::ready`] / [`Raft::advance`]. The randomized election timeout is drawn from a ChaCha
//! stream that the simulated world derives from the scenario seed and passes in.
//!
//! Payloads are generic and shared (`P` is typically an `Rc<Request>`), so replicating an entry
//! to six followers clones a pointer, not the bytes.

mod log;
mod progress;

use std::collections::BTreeMap;

use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

use log::RaftLog;
pub use progress::{Progress, ProgressState};

pub type NodeId = u64;
/// No node: used for "no leader" and "no vote".
pub const NONE: NodeId = 0;

/// Sizes used to charge messages on the simulated network (bytes).
pub const MESSAGE_HEADER_BYTES: u64 = 64;
pub const ENTRY_HEADER_BYTES: u64 = 24;

/// An application payload carried by a log entry.
pub trait Payload: Clone + std::fmt::Debug {
    /// Encoded size in bytes (what the WAL and the network are charged).
    fn size_bytes(&self) -> u64;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryData<P> {
    /// The empty entry a new leader appends in its term.
    Empty,
    Normal(P),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<P> {
    pub term: u64,
    pub index: u64,
    pub data: EntryData<P>,
}

impl<P: Payload> Entry<P> {
    pub fn size_bytes(&self) -> u64 {
        ENTRY_HEADER_BYTES
            + match &self.data {
                EntryData::Empty => 0,
                EntryData::Normal(p) => p.size_bytes(),
            }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageType {
    /// A proposal forwarded by a follower to its leader.
    Prop,
    App,
    AppResp,
    Vote,
    VoteResp,
    PreVote,
    PreVoteResp,
    Heartbeat,
    HeartbeatResp,
    /// A linearizable read: the leader records its commit index and confirms leadership with a
    /// heartbeat round (ReadOnlySafe); followers forward it to the leader.
    ReadIndex,
    /// The leader's answer to a forwarded ReadIndex: `index` to wait for, `context` the read.
    ReadIndexResp,
    /// A snapshot for a follower behind the leader's compacted log (`snapshot` says which;
    /// the server attaches the state machine's data).
    Snap,
}

/// A snapshot's metadata: the log up to `index` (of `term`) is replaced by the state machine
/// at that index, with the voters of that time (etcd's `SnapshotMetadata` + `ConfState`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMeta {
    pub index: u64,
    pub term: u64,
    pub voters: Vec<NodeId>,
}

/// A membership change, applied by the server once its entry commits (etcd's `ConfChange`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfChange {
    AddNode(NodeId),
    RemoveNode(NodeId),
}

#[derive(Clone, Debug)]
pub struct Message<P> {
    pub msg_type: MessageType,
    pub from: NodeId,
    pub to: NodeId,
    /// The sender's term; a vote response carries the term it answers; a forwarded MsgProp
    /// carries 0 (as in etcd, proposals are exempt from term checks).
    pub term: u64,
    /// App: term of the entry at `index`. Vote/PreVote: candidate's last log term.
    pub log_term: u64,
    /// App: index of the entry preceding `entries`. AppResp: match index (or rejected index).
    /// Vote/PreVote: candidate's last log index.
    pub index: u64,
    pub entries: Vec<Entry<P>>,
    /// App / Heartbeat: the leader's commit index (heartbeats carry min(match, committed)).
    pub commit: u64,
    pub reject: bool,
    /// AppResp with reject: the follower's last index, a hint for conflict repair.
    pub reject_hint: u64,
    /// ReadIndex / ReadIndexResp: the read's id; Heartbeat / HeartbeatResp: the newest pending
    /// read the heartbeat round confirms (0: none).
    pub context: u64,
    /// Snap: the snapshot sent (boxed: every other message carries none).
    pub snapshot: Option<Box<SnapshotMeta>>,
}

impl<P: Payload> Message<P> {
    /// A message with every optional field zeroed.
    pub fn new(msg_type: MessageType, from: NodeId, to: NodeId, term: u64) -> Self {
        Message {
            msg_type,
            from,
            to,
            term,
            log_term: 0,
            index: 0,
            entries: Vec::new(),
            commit: 0,
            reject: false,
            reject_hint: 0,
            context: 0,
            snapshot: None,
        }
    }

    /// Size on the wire, used by the network model for bandwidth.
    pub fn size_bytes(&self) -> u64 {
        MESSAGE_HEADER_BYTES + self.entries.iter().map(Entry::size_bytes).sum::<u64>()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// Volatile state the server mirrors into metrics (`etcd_server_has_leader`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftState {
    pub leader: NodeId,
    pub role: Role,
}

/// What must be persisted in the WAL before acknowledging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    pub term: u64,
    pub vote: NodeId,
    pub commit: u64,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub id: NodeId,
    /// All voters, including `id`. Ids are 1..=7 in etcdlab.
    pub voters: Vec<NodeId>,
    /// Election timeout in ticks (etcd: election-timeout / heartbeat-interval, default 10).
    pub election_tick: u32,
    /// Heartbeat interval in ticks (etcd always uses 1).
    pub heartbeat_tick: u32,
    pub pre_vote: bool,
    /// etcd hard-codes true; kept as a knob for tests.
    pub check_quorum: bool,
    /// Max bytes of entries per MsgApp (etcd: 1 MiB).
    pub max_size_per_msg_bytes: u64,
    /// Max in-flight MsgApp per follower in replicate state (etcd: 512).
    pub max_inflight_msgs: usize,
    /// An injected bug, never set in a normal run: a leader answers ReadIndex with its own
    /// commit index at once, without a heartbeat round confirming it still leads.
    pub bug_read_without_quorum: bool,
}

impl Config {
    pub fn etcd_defaults(id: NodeId, voters: Vec<NodeId>) -> Config {
        Config {
            id,
            voters,
            election_tick: 10,
            heartbeat_tick: 1,
            pre_vote: false,
            check_quorum: true,
            max_size_per_msg_bytes: 1024 * 1024,
            max_inflight_msgs: 512,
            bug_read_without_quorum: false,
        }
    }
}

/// What a restarted node recovers from its WAL: the fsynced hard state and entries.
#[derive(Clone, Debug)]
pub struct Recovered<P> {
    pub hard_state: HardState,
    /// The last snapshot saved (None: the log starts at index 1).
    pub snapshot: Option<SnapshotMeta>,
    /// Contiguous, starting right after the snapshot (or at index 1).
    pub entries: Vec<Entry<P>>,
    /// Highest index already applied to the state machine before the crash is NOT known
    /// (etcd re-applies from its consistent index); the node starts with applied = this.
    pub applied: u64,
}

/// A batch of work for the server loop, as etcd-io/raft's `Ready`.
#[derive(Clone, Debug)]
pub struct Ready<P> {
    /// Set when leader or role changed since the last Ready.
    pub soft_state: Option<SoftState>,
    /// Set when term, vote or commit changed since the last Ready.
    pub hard_state: Option<HardState>,
    /// Entries to append to the WAL (not yet stable).
    pub entries: Vec<Entry<P>>,
    /// Entries committed and ready to apply, in order.
    pub committed_entries: Vec<Entry<P>>,
    /// Outgoing messages. A leader may send them before persisting `entries`; followers and
    /// candidates must persist first (etcd's server loop enforces this, not raft).
    pub messages: Vec<Message<P>>,
    /// etcd's MustSync: entries present, or term or vote changed. Commit-only changes do not
    /// require an fsync.
    pub must_sync: bool,
    /// Reads confirmed by a heartbeat quorum: each may be served once `index` is applied.
    pub read_states: Vec<ReadState>,
    /// A snapshot from the leader that replaced the log: the server must install the state
    /// machine it came with before applying anything else.
    pub snapshot: Option<SnapshotMeta>,
}

/// A linearizable read that may be served from local state once `index` is applied (etcd's
/// `ReadState`; `ctx` is the read's id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    pub index: u64,
    pub ctx: u64,
}

/// A read the leader is confirming with a heartbeat round.
#[derive(Clone, Debug)]
struct PendingRead {
    ctx: u64,
    index: u64,
    from: NodeId,
    acks: std::collections::BTreeSet<NodeId>,
}

/// Why a local proposal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// No leader known (etcd blocks the proposal until one appears; the server decides).
    NoLeader,
    /// This node is not a voter or the proposal was dropped.
    Dropped,
}

/// Outcome of counting (pre-)votes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VoteResult {
    Won,
    Lost,
    Pending,
}

/// What the outstanding Ready handed out, so that `advance` knows what to acknowledge.
#[derive(Clone, Copy, Debug)]
struct ReadyCursor {
    /// (index, term) of the last entry handed out for persistence.
    last_entry: Option<(u64, u64)>,
    /// Index of the last committed entry handed out for applying.
    last_committed: Option<u64>,
}

#[derive(Clone)]
pub struct Raft<P> {
    cfg: Config,
    term: u64,
    vote: NodeId,
    leader: NodeId,
    role: Role,
    log: RaftLog<P>,
    /// One per voter (self included), in config order.
    prs: Vec<Progress>,
    /// Votes received in the current (pre-)campaign.
    votes: BTreeMap<NodeId, bool>,
    election_elapsed: u32,
    heartbeat_elapsed: u32,
    randomized_election_timeout: u32,
    /// The randomized timeout (ticks) that fired this node's last campaign, for diagnostics.
    last_fired_timeout: Option<u32>,
    msgs: Vec<Message<P>>,
    rng: ChaCha8Rng,
    /// State as of the last Ready, to report only changes.
    prev_soft: SoftState,
    prev_hard: HardState,
    outstanding: Option<ReadyCursor>,
    /// Reused buffer for the commit computation (avoids an allocation per MsgAppResp).
    match_scratch: Vec<u64>,
    /// Reads being confirmed, oldest first (etcd's readOnly queue).
    read_only: std::collections::VecDeque<PendingRead>,
    /// Reads that arrived before this leader committed an entry of its term: (from, ctx).
    pending_read_index: Vec<(NodeId, u64)>,
    read_states: Vec<ReadState>,
    /// The newest snapshot taken here or received (what a lagging follower is sent).
    snapshot: SnapshotMeta,
    /// A received snapshot not yet handed out in a Ready.
    pending_snapshot: Option<SnapshotMeta>,
    /// The log cannot hold what the leader says is committed (etcd-io/raft panics: "tocommit
    /// is out of range"): the server must stop.
    fatal: Option<String>,
}

/// A one-line summary: the log and the queues are too large to print.
impl<P> std::fmt::Debug for Raft<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Raft")
            .field("id", &self.cfg.id)
            .field("term", &self.term)
            .field("vote", &self.vote)
            .field("role", &self.role)
            .field("leader", &self.leader)
            .field("commit", &self.log.committed())
            .field("applied", &self.log.applied())
            .field("log_len", &self.log.entries_len())
            .finish()
    }
}

impl<P: Payload> Raft<P> {
    /// A fresh node (term 0, empty log), as on first boot of a new cluster.
    pub fn new(config: Config, rng: ChaCha8Rng) -> Self {
        let empty = Recovered {
            hard_state: HardState::default(),
            snapshot: None,
            entries: Vec::new(),
            applied: 0,
        };
        Self::restart(config, empty, rng)
    }

    /// A node restarted from its WAL.
    pub fn restart(config: Config, recovered: Recovered<P>, rng: ChaCha8Rng) -> Self {
        assert_ne!(config.id, NONE, "node id must not be NONE");
        assert!(config.heartbeat_tick > 0, "heartbeat_tick must be positive");
        assert!(
            config.election_tick > config.heartbeat_tick,
            "election_tick must exceed heartbeat_tick"
        );
        assert!(
            config.max_inflight_msgs > 0,
            "max_inflight_msgs must be positive"
        );
        let hs = recovered.hard_state;
        let snapshot = recovered.snapshot.unwrap_or_default();
        let commit = hs.commit.max(recovered.applied);
        let log = RaftLog::restored_after(
            snapshot.index,
            snapshot.term,
            recovered.entries,
            commit,
            recovered.applied,
        );
        let prs = config
            .voters
            .iter()
            .map(|&id| Progress::new(id, config.max_inflight_msgs))
            .collect();
        let mut raft = Raft {
            term: hs.term,
            vote: hs.vote,
            leader: NONE,
            role: Role::Follower,
            log,
            prs,
            votes: BTreeMap::new(),
            election_elapsed: 0,
            heartbeat_elapsed: 0,
            randomized_election_timeout: config.election_tick,
            last_fired_timeout: None,
            msgs: Vec::new(),
            rng,
            prev_soft: SoftState {
                leader: NONE,
                role: Role::Follower,
            },
            prev_hard: HardState::default(),
            outstanding: None,
            match_scratch: Vec::with_capacity(config.voters.len()),
            read_only: std::collections::VecDeque::new(),
            pending_read_index: Vec::new(),
            read_states: Vec::new(),
            snapshot,
            pending_snapshot: None,
            fatal: None,
            cfg: config,
        };
        raft.become_follower(hs.term, NONE);
        // The recovered state is already durable: only report changes from here on.
        raft.prev_hard = raft.hard_state();
        raft
    }

    /// One logical clock tick (one heartbeat interval of wall time in etcd).
    pub fn tick(&mut self) {
        match self.role {
            Role::Leader => self.tick_heartbeat(),
            _ => self.tick_election(),
        }
    }

    /// Start an election now, as if the election timeout had elapsed (etcd's MsgHup).
    /// Pre-vote first when configured. No-op on a leader or a non-voter.
    pub fn campaign(&mut self) {
        if self.role == Role::Leader || !self.promotable() {
            return;
        }
        self.run_campaign(self.cfg.pre_vote);
    }

    /// Feed a message received from a peer.
    pub fn step(&mut self, msg: Message<P>) {
        // Term 0 marks a forwarded proposal, which carries no term (as in etcd).
        if msg.term > self.term && msg.term != 0 {
            if !self.accept_higher_term(&msg) {
                return;
            }
        } else if msg.term < self.term && msg.term != 0 {
            self.answer_stale(&msg);
            return;
        }
        match msg.msg_type {
            MessageType::Vote | MessageType::PreVote => self.handle_vote_request(&msg),
            _ => match self.role {
                Role::Leader => self.step_leader(msg),
                Role::Follower => self.step_follower(msg),
                Role::Candidate | Role::PreCandidate => self.step_candidate(msg),
            },
        }
    }

    /// Propose a payload. On a leader it is appended; on a follower it is forwarded (MsgProp).
    /// Returns the index it was appended at when this node is leader, else None.
    pub fn propose(&mut self, payload: P) -> Result<Option<u64>, ProposeError> {
        let entry = Entry {
            term: 0,
            index: 0,
            data: EntryData::Normal(payload),
        };
        match self.role {
            Role::Leader => {
                let index = self.append_entries(vec![entry]);
                self.bcast_append();
                Ok(Some(index))
            }
            Role::Follower if self.leader != NONE => {
                let mut m = Message::new(MessageType::Prop, self.cfg.id, self.leader, 0);
                m.entries.push(entry);
                self.msgs.push(m);
                Ok(None)
            }
            _ => Err(ProposeError::NoLeader),
        }
    }

    /// Ask for a linearizable read with id `ctx`. Its [`ReadState`] comes out of a later
    /// Ready once a heartbeat quorum confirmed this node's (or its leader's) leadership. With
    /// no leader known the read is refused (etcd's server retries it).
    pub fn read_index(&mut self, ctx: u64) -> Result<(), ProposeError> {
        match self.role {
            Role::Leader => {
                self.leader_read(self.cfg.id, ctx);
                Ok(())
            }
            Role::Follower if self.leader != NONE => {
                let mut m = Message::new(MessageType::ReadIndex, self.cfg.id, self.leader, 0);
                m.context = ctx;
                self.msgs.push(m);
                Ok(())
            }
            _ => Err(ProposeError::NoLeader),
        }
    }

    /// The leader's side of a read (from itself or forwarded by a follower).
    fn leader_read(&mut self, from: NodeId, ctx: u64) {
        let committed = self.log.committed();
        if self.prs.len() == 1 || self.cfg.bug_read_without_quorum {
            self.answer_read(from, committed, ctx);
            return;
        }
        // A retried read already being confirmed is not queued twice (etcd's addRequest).
        if self.read_only.iter().any(|r| r.ctx == ctx)
            || self.pending_read_index.contains(&(from, ctx))
        {
            return;
        }
        // Until it commits an entry of its term the leader does not know the commit index.
        if self.log.term(committed) != Some(self.term) {
            self.pending_read_index.push((from, ctx));
            return;
        }
        let mut acks = std::collections::BTreeSet::new();
        acks.insert(self.cfg.id);
        self.read_only.push_back(PendingRead {
            ctx,
            index: committed,
            from,
            acks,
        });
        self.bcast_heartbeat_with_ctx(ctx);
    }

    fn answer_read(&mut self, from: NodeId, index: u64, ctx: u64) {
        if from == self.cfg.id {
            self.read_states.push(ReadState { index, ctx });
        } else {
            let mut m = Message::new(MessageType::ReadIndexResp, self.cfg.id, from, self.term);
            m.index = index;
            m.context = ctx;
            self.msgs.push(m);
        }
    }

    /// A heartbeat response confirmed the round of read `ctx`: once a quorum did, that read
    /// and every older one are answered.
    fn read_acked(&mut self, from: NodeId, ctx: u64) {
        let Some(pos) = self.read_only.iter().position(|r| r.ctx == ctx) else {
            return;
        };
        self.read_only[pos].acks.insert(from);
        if self.read_only[pos].acks.len() < self.quorum() {
            return;
        }
        for r in self.read_only.drain(..=pos).collect::<Vec<_>>() {
            self.answer_read(r.from, r.index, r.ctx);
        }
    }

    /// The leader just committed an entry of its term: the reads waiting for it go ahead.
    fn release_pending_reads(&mut self) {
        if self.pending_read_index.is_empty()
            || self.log.term(self.log.committed()) != Some(self.term)
        {
            return;
        }
        for (from, ctx) in std::mem::take(&mut self.pending_read_index) {
            self.leader_read(from, ctx);
        }
    }

    pub fn has_ready(&self) -> bool {
        self.soft_state() != self.prev_soft
            || self.hard_state() != self.prev_hard
            || !self.msgs.is_empty()
            || !self.read_states.is_empty()
            || self.log.has_unstable()
            || self.log.has_next_committed()
            || self.pending_snapshot.is_some()
    }

    /// Take the pending outputs. Call [`Raft::advance`] once they have been handled.
    pub fn ready(&mut self) -> Ready<P> {
        debug_assert!(
            self.outstanding.is_none(),
            "ready() called twice without advance()"
        );
        let soft = self.soft_state();
        let hard = self.hard_state();
        let entries = self.log.unstable_entries();
        let committed_entries = self.log.next_committed_entries();
        let snapshot = self.pending_snapshot.take();
        let must_sync = !entries.is_empty()
            || snapshot.is_some()
            || hard.term != self.prev_hard.term
            || hard.vote != self.prev_hard.vote;
        self.outstanding = Some(ReadyCursor {
            last_entry: entries.last().map(|e| (e.index, e.term)),
            last_committed: committed_entries.last().map(|e| e.index),
        });
        let ready = Ready {
            soft_state: (soft != self.prev_soft).then_some(soft),
            hard_state: (hard != self.prev_hard).then_some(hard),
            entries,
            committed_entries,
            messages: std::mem::take(&mut self.msgs),
            must_sync,
            read_states: std::mem::take(&mut self.read_states),
            snapshot,
        };
        self.prev_soft = soft;
        self.prev_hard = hard;
        ready
    }

    /// The last Ready was handled: its entries are stable and its committed entries applied.
    pub fn advance(&mut self) {
        let Some(cursor) = self.outstanding.take() else {
            debug_assert!(false, "advance() without ready()");
            return;
        };
        if let Some((index, term)) = cursor.last_entry {
            self.log.stable_to(index, term);
        }
        if let Some(index) = cursor.last_committed {
            self.log.applied_to(index);
        }
    }

    // --- Snapshots and membership (driven by the server). ---

    /// Record a snapshot of the state machine at `index` (applied), as etcd's
    /// `raftStorage.CreateSnapshot` after `--snapshot-count` applied entries.
    pub fn create_snapshot(&mut self, index: u64) {
        assert!(
            index <= self.log.applied(),
            "snapshot at {index} beyond applied {}",
            self.log.applied()
        );
        if index <= self.snapshot.index {
            return;
        }
        let term = self.log.term(index).expect("applied entry is held");
        self.snapshot = SnapshotMeta {
            index,
            term,
            voters: self.voters(),
        };
    }

    /// Drop the in-memory entries up to `index` (at most the last snapshot's index).
    pub fn compact_log(&mut self, index: u64) {
        self.log.compact(index.min(self.snapshot.index));
    }

    /// The server finished (or failed) sending the snapshot to `id` (etcd's
    /// `ReportSnapshot`): probe again after it, or from scratch after a failure.
    pub fn report_snapshot(&mut self, id: NodeId, ok: bool) {
        let Some(i) = self.pr_index(id) else { return };
        let pr = &mut self.prs[i];
        if pr.state != ProgressState::Snapshot {
            return;
        }
        if !ok {
            pr.pending_snapshot = 0;
        }
        pr.become_probe();
        // Wait for the follower's answer (or a heartbeat) before the next MsgApp.
        pr.probe_sent = true;
    }

    /// A committed membership change, applied by the server.
    pub fn apply_conf_change(&mut self, cc: ConfChange) {
        match cc {
            ConfChange::AddNode(id) => {
                if self.pr_index(id).is_some() {
                    return;
                }
                let mut pr = Progress::new(id, self.cfg.max_inflight_msgs);
                pr.next = self.log.last_index() + 1;
                // A new member has had no chance to answer yet: check-quorum must not count
                // it as lost right away.
                pr.recent_active = true;
                self.prs.push(pr);
                self.prs.sort_by_key(|p| p.id);
                self.cfg.voters = self.voters();
            }
            ConfChange::RemoveNode(id) => {
                self.prs.retain(|p| p.id != id);
                self.cfg.voters = self.voters();
                if self.role == Role::Leader && !self.prs.is_empty() && self.maybe_commit() {
                    self.bcast_append();
                }
            }
        }
    }

    /// The index of a snapshot accepted from the leader and not yet handed out in a Ready.
    pub fn pending_snapshot_index(&self) -> Option<u64> {
        self.pending_snapshot.as_ref().map(|s| s.index)
    }

    /// Why this node must stop, once (etcd-io/raft panics there; the server exits).
    pub fn take_fatal(&mut self) -> Option<String> {
        self.fatal.take()
    }

    pub fn voters(&self) -> Vec<NodeId> {
        self.prs.iter().map(|p| p.id).collect()
    }
    pub fn snapshot_meta(&self) -> &SnapshotMeta {
        &self.snapshot
    }
    /// The first log index held in memory.
    pub fn first_index(&self) -> u64 {
        self.log.first_index()
    }

    // --- Introspection (used by the server, metrics and invariant checks). ---
    pub fn id(&self) -> NodeId {
        self.cfg.id
    }
    pub fn term(&self) -> u64 {
        self.term
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn leader(&self) -> NodeId {
        self.leader
    }
    pub fn vote(&self) -> NodeId {
        self.vote
    }
    pub fn commit_index(&self) -> u64 {
        self.log.committed()
    }
    pub fn applied_index(&self) -> u64 {
        self.log.applied()
    }
    pub fn last_index(&self) -> u64 {
        self.log.last_index()
    }
    /// Term of the entry at `index`, if the log holds it (0 for index 0).
    pub fn term_at(&self, index: u64) -> Option<u64> {
        self.log.term(index)
    }
    /// The entry at `index`, if held in memory.
    pub fn entry_at(&self, index: u64) -> Option<&Entry<P>> {
        self.log.entry(index)
    }
    /// Current randomized election timeout in ticks, in [election_tick, 2*election_tick).
    pub fn randomized_election_timeout(&self) -> u32 {
        self.randomized_election_timeout
    }
    /// The randomized election timeout (ticks) whose expiry started this node's last
    /// campaign (None if it never timed out; a forced `campaign()` does not count).
    pub fn last_fired_timeout(&self) -> Option<u32> {
        self.last_fired_timeout
    }

    /// Ticks since the last reset of the election timer.
    pub fn election_elapsed(&self) -> u32 {
        self.election_elapsed
    }
    /// The leader's replication progress for voter `id` (meaningful on a leader only).
    pub fn progress(&self, id: NodeId) -> Option<&Progress> {
        self.prs.iter().find(|p| p.id == id)
    }
    pub fn soft_state(&self) -> SoftState {
        SoftState {
            leader: self.leader,
            role: self.role,
        }
    }
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.committed(),
        }
    }

    // --- Role transitions. ---

    /// etcd's `reset`: new term (or same), fresh timers and a freshly drawn timeout.
    fn reset(&mut self, term: u64) {
        if self.term != term {
            self.term = term;
            self.vote = NONE;
        }
        self.leader = NONE;
        self.election_elapsed = 0;
        self.heartbeat_elapsed = 0;
        self.randomized_election_timeout = self.draw_election_timeout();
        self.votes.clear();
        // Reads in flight are dropped with the old role (etcd's server retries them).
        self.read_only.clear();
        self.pending_read_index.clear();
        let last = self.log.last_index();
        for pr in &mut self.prs {
            pr.reset(last);
            if pr.id == self.cfg.id {
                pr.matched = last;
            }
        }
    }

    /// election_tick + uniform[0, election_tick), by multiply-shift (bias < 2^-32).
    fn draw_election_timeout(&mut self) -> u32 {
        let span = u64::from(self.cfg.election_tick);
        let offset = (u128::from(self.rng.next_u64()) * u128::from(span)) >> 64;
        self.cfg.election_tick + offset as u32
    }

    fn become_follower(&mut self, term: u64, leader: NodeId) {
        self.reset(term);
        self.leader = leader;
        self.role = Role::Follower;
    }

    /// Pre-candidacy changes neither the term nor the timers (so no redraw).
    fn become_pre_candidate(&mut self) {
        assert_ne!(
            self.role,
            Role::Leader,
            "leader cannot become pre-candidate"
        );
        self.votes.clear();
        self.leader = NONE;
        self.role = Role::PreCandidate;
    }

    fn become_candidate(&mut self) {
        assert_ne!(self.role, Role::Leader, "leader cannot become candidate");
        self.reset(self.term + 1);
        self.vote = self.cfg.id;
        self.role = Role::Candidate;
    }

    fn become_leader(&mut self) {
        assert_ne!(self.role, Role::Follower, "follower cannot become leader");
        self.reset(self.term);
        self.leader = self.cfg.id;
        self.role = Role::Leader;
        if let Some(i) = self.pr_index(self.cfg.id) {
            self.prs[i].become_replicate();
        }
        // Committing an entry of its own term also commits everything before it (§5.4.2).
        let empty = Entry {
            term: 0,
            index: 0,
            data: EntryData::Empty,
        };
        self.append_entries(vec![empty]);
    }

    fn promotable(&self) -> bool {
        self.pr_index(self.cfg.id).is_some()
    }

    fn quorum(&self) -> usize {
        self.prs.len() / 2 + 1
    }

    fn pr_index(&self, id: NodeId) -> Option<usize> {
        self.prs.iter().position(|p| p.id == id)
    }

    // --- Timers. ---

    fn tick_election(&mut self) {
        self.election_elapsed += 1;
        if self.promotable() && self.election_elapsed >= self.randomized_election_timeout {
            self.election_elapsed = 0;
            self.last_fired_timeout = Some(self.randomized_election_timeout);
            self.campaign();
        }
    }

    fn tick_heartbeat(&mut self) {
        self.heartbeat_elapsed += 1;
        self.election_elapsed += 1;
        if self.election_elapsed >= self.cfg.election_tick {
            self.election_elapsed = 0;
            if self.cfg.check_quorum {
                self.check_quorum();
            }
        }
        if self.role != Role::Leader {
            return;
        }
        if self.heartbeat_elapsed >= self.cfg.heartbeat_tick {
            self.heartbeat_elapsed = 0;
            self.bcast_heartbeat();
        }
    }

    /// A leader that has not heard from a quorum within an election timeout steps down, so a
    /// partitioned leader stops serving.
    fn check_quorum(&mut self) {
        let me = self.cfg.id;
        let active = self
            .prs
            .iter()
            .filter(|p| p.id == me || p.recent_active)
            .count();
        if active < self.quorum() {
            self.become_follower(self.term, NONE);
        }
        for pr in &mut self.prs {
            pr.recent_active = pr.id == me;
        }
    }

    // --- Elections. ---

    fn run_campaign(&mut self, pre_vote: bool) {
        let (msg_type, term) = if pre_vote {
            self.become_pre_candidate();
            // Ask at the term we would campaign at, without moving to it yet.
            (MessageType::PreVote, self.term + 1)
        } else {
            self.become_candidate();
            (MessageType::Vote, self.term)
        };
        if self.poll(self.cfg.id, true) == VoteResult::Won {
            self.election_won();
            return;
        }
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for i in 0..self.prs.len() {
            let to = self.prs[i].id;
            if to == self.cfg.id {
                continue;
            }
            let mut m = Message::new(msg_type, self.cfg.id, to, term);
            m.index = last_index;
            m.log_term = last_term;
            self.msgs.push(m);
        }
    }

    /// A quorum granted: pre-candidates move on to the real election.
    fn election_won(&mut self) {
        if self.role == Role::PreCandidate {
            self.run_campaign(false);
        } else {
            self.become_leader();
            self.bcast_append();
        }
    }

    fn poll(&mut self, from: NodeId, granted: bool) -> VoteResult {
        self.votes.entry(from).or_insert(granted);
        let mut yes = 0;
        let mut no = 0;
        for pr in &self.prs {
            match self.votes.get(&pr.id) {
                Some(true) => yes += 1,
                Some(false) => no += 1,
                None => {}
            }
        }
        let q = self.quorum();
        if yes >= q {
            VoteResult::Won
        } else if self.prs.len() - no < q {
            VoteResult::Lost
        } else {
            VoteResult::Pending
        }
    }

    fn handle_vote_request(&mut self, m: &Message<P>) {
        let is_pre = m.msg_type == MessageType::PreVote;
        let resp_type = if is_pre {
            MessageType::PreVoteResp
        } else {
            MessageType::VoteResp
        };
        let can_vote = self.vote == m.from
            || (self.vote == NONE && self.leader == NONE)
            || (is_pre && m.term > self.term);
        if can_vote && self.log.is_up_to_date(m.index, m.log_term) {
            self.send_to(m.from, resp_type, m.term, false);
            if !is_pre {
                self.election_elapsed = 0;
                self.vote = m.from;
            }
        } else {
            self.send_to(m.from, resp_type, self.term, true);
        }
    }

    /// Returns false when the message must be dropped.
    fn accept_higher_term(&mut self, m: &Message<P>) -> bool {
        let is_vote_request = matches!(m.msg_type, MessageType::Vote | MessageType::PreVote);
        if is_vote_request && self.in_lease() {
            // We heard from a live leader recently: a disruptive candidate gets no answer.
            return false;
        }
        match m.msg_type {
            // A pre-vote is hypothetical: it never changes our term, granted or not.
            MessageType::PreVote => {}
            MessageType::PreVoteResp if !m.reject => {}
            MessageType::App | MessageType::Heartbeat | MessageType::Snap => {
                self.become_follower(m.term, m.from)
            }
            _ => self.become_follower(m.term, NONE),
        }
        true
    }

    fn in_lease(&self) -> bool {
        self.cfg.check_quorum
            && self.leader != NONE
            && self.election_elapsed < self.cfg.election_tick
    }

    /// A message from an older term. Answering a stale leader with our term deposes it;
    /// answering a stale pre-candidate lets it give up.
    fn answer_stale(&mut self, m: &Message<P>) {
        let from_leader = matches!(
            m.msg_type,
            MessageType::App | MessageType::Heartbeat | MessageType::Snap
        );
        if (self.cfg.check_quorum || self.cfg.pre_vote) && from_leader {
            self.send_to(m.from, MessageType::AppResp, self.term, false);
        } else if m.msg_type == MessageType::PreVote {
            self.send_to(m.from, MessageType::PreVoteResp, self.term, true);
        }
    }

    fn send_to(&mut self, to: NodeId, msg_type: MessageType, term: u64, reject: bool) {
        let mut m = Message::new(msg_type, self.cfg.id, to, term);
        m.reject = reject;
        self.msgs.push(m);
    }

    // --- Per-role message handling (message term == our term from here on). ---

    fn step_follower(&mut self, mut m: Message<P>) {
        match m.msg_type {
            // Without a known leader the proposal is dropped.
            MessageType::Prop if self.leader != NONE => {
                m.from = self.cfg.id;
                m.to = self.leader;
                self.msgs.push(m);
            }
            MessageType::App => {
                self.election_elapsed = 0;
                self.leader = m.from;
                self.handle_append(m);
            }
            MessageType::Heartbeat => {
                self.election_elapsed = 0;
                self.leader = m.from;
                self.handle_heartbeat(&m);
            }
            MessageType::Snap => {
                self.election_elapsed = 0;
                self.leader = m.from;
                self.handle_snapshot(&m);
            }
            // Without a known leader the read is dropped.
            MessageType::ReadIndex if self.leader != NONE => {
                m.to = self.leader;
                self.msgs.push(m);
            }
            MessageType::ReadIndexResp => self.read_states.push(ReadState {
                index: m.index,
                ctx: m.context,
            }),
            _ => {}
        }
    }

    fn step_candidate(&mut self, m: Message<P>) {
        let my_resp = if self.role == Role::PreCandidate {
            MessageType::PreVoteResp
        } else {
            MessageType::VoteResp
        };
        match m.msg_type {
            MessageType::App => {
                self.become_follower(m.term, m.from);
                self.handle_append(m);
            }
            MessageType::Heartbeat => {
                self.become_follower(m.term, m.from);
                self.handle_heartbeat(&m);
            }
            MessageType::Snap => {
                self.become_follower(m.term, m.from);
                self.handle_snapshot(&m);
            }
            t if t == my_resp => match self.poll(m.from, !m.reject) {
                VoteResult::Won => self.election_won(),
                VoteResult::Lost => self.become_follower(self.term, NONE),
                VoteResult::Pending => {}
            },
            // Proposals are dropped: there is no leader to forward them to.
            _ => {}
        }
    }

    fn step_leader(&mut self, m: Message<P>) {
        match m.msg_type {
            MessageType::Prop if !m.entries.is_empty() => {
                self.append_entries(m.entries);
                self.bcast_append();
            }
            MessageType::AppResp => {
                if let Some(i) = self.pr_index(m.from) {
                    self.handle_append_response(i, &m);
                }
            }
            MessageType::HeartbeatResp => {
                if let Some(i) = self.pr_index(m.from) {
                    self.handle_heartbeat_response(i);
                    if m.context != 0 {
                        self.read_acked(m.from, m.context);
                    }
                }
            }
            MessageType::ReadIndex => self.leader_read(m.from, m.context),
            _ => {}
        }
    }

    // --- Follower side of replication. ---

    fn handle_append(&mut self, m: Message<P>) {
        let committed = self.log.committed();
        if m.index < committed {
            // Everything up to our commit index already matches the leader's log.
            let mut resp = Message::new(MessageType::AppResp, self.cfg.id, m.from, self.term);
            resp.index = committed;
            self.msgs.push(resp);
            return;
        }
        let mut resp = Message::new(MessageType::AppResp, self.cfg.id, m.from, self.term);
        match self
            .log
            .maybe_append(m.index, m.log_term, m.commit, m.entries)
        {
            Some(last_new) => resp.index = last_new,
            None => {
                resp.index = m.index;
                resp.reject = true;
                resp.reject_hint = self.log.last_index();
            }
        }
        self.msgs.push(resp);
    }

    /// Follower side of MsgSnap: replace the log unless it already holds the snapshot's
    /// entry. Either way the leader learns how far this log now goes.
    fn handle_snapshot(&mut self, m: &Message<P>) {
        let Some(snap) = m.snapshot.as_deref().cloned() else {
            return;
        };
        let mut resp = Message::new(MessageType::AppResp, self.cfg.id, m.from, self.term);
        resp.index = if self.restore(snap) {
            self.log.last_index()
        } else {
            self.log.committed()
        };
        self.msgs.push(resp);
    }

    fn restore(&mut self, snap: SnapshotMeta) -> bool {
        if snap.index <= self.log.committed() {
            return false;
        }
        if self.log.term(snap.index) == Some(snap.term) {
            // The log already has it: only the commit index moves.
            self.log.commit_to(snap.index);
            return false;
        }
        self.log.restore(snap.index, snap.term);
        self.prs = snap
            .voters
            .iter()
            .map(|&id| Progress::new(id, self.cfg.max_inflight_msgs))
            .collect();
        self.cfg.voters = snap.voters.clone();
        self.pending_snapshot = Some(snap.clone());
        self.snapshot = snap;
        true
    }

    fn handle_heartbeat(&mut self, m: &Message<P>) {
        let last = self.log.last_index();
        if m.commit > last && self.fatal.is_none() {
            // The leader knows this log held `commit` once: it lost entries (a wiped or
            // restored data dir rejoining, a lost WAL tail).
            self.fatal = Some(format!(
                "tocommit({}) is out of range [lastIndex({last})]. Was the raft log corrupted, truncated, or lost?",
                m.commit
            ));
        }
        self.log.commit_to(m.commit.min(last));
        let mut resp = Message::new(MessageType::HeartbeatResp, self.cfg.id, m.from, self.term);
        resp.context = m.context;
        self.msgs.push(resp);
    }

    // --- Leader side of replication. ---

    /// Appends entries at the leader's term and counts the leader's own copy right away
    /// (etcd's leader sends before it persists). Returns the last index.
    fn append_entries(&mut self, mut ents: Vec<Entry<P>>) -> u64 {
        let mut index = self.log.last_index();
        for e in &mut ents {
            index += 1;
            e.term = self.term;
            e.index = index;
        }
        self.log.append(ents);
        if let Some(i) = self.pr_index(self.cfg.id) {
            self.prs[i].maybe_update(index);
        }
        self.maybe_commit();
        index
    }

    /// Commits the highest index replicated on a quorum, if it is from the current term.
    fn maybe_commit(&mut self) -> bool {
        self.match_scratch.clear();
        self.match_scratch
            .extend(self.prs.iter().map(|p| p.matched));
        self.match_scratch.sort_unstable_by(|a, b| b.cmp(a));
        let quorum_index = self.match_scratch[self.quorum() - 1];
        let committed = self.log.maybe_commit(quorum_index, self.term);
        if committed {
            self.release_pending_reads();
        }
        committed
    }

    fn handle_append_response(&mut self, i: usize, m: &Message<P>) {
        self.prs[i].recent_active = true;
        if m.reject {
            if self.prs[i].maybe_decr_to(m.index, m.reject_hint) {
                if self.prs[i].state == ProgressState::Replicate {
                    self.prs[i].become_probe();
                }
                self.send_append(i);
            }
            return;
        }
        let was_paused = self.prs[i].is_paused();
        if !self.prs[i].maybe_update(m.index) {
            return;
        }
        self.prs[i].acknowledged(m.index);
        if self.maybe_commit() {
            // Followers learn the new commit index from the next MsgApp.
            self.bcast_append();
        } else if was_paused {
            self.send_append(i);
        }
        while self.maybe_send_append(i, false) {}
    }

    fn handle_heartbeat_response(&mut self, i: usize) {
        self.prs[i].heartbeat_acknowledged();
        if self.prs[i].matched < self.log.last_index() {
            self.send_append(i);
        }
    }

    fn send_append(&mut self, i: usize) {
        self.maybe_send_append(i, true);
    }

    /// Sends the follower at `prs[i]` the entries it lacks, unless flow control holds it back.
    /// Returns whether a message was sent.
    fn maybe_send_append(&mut self, i: usize, send_if_empty: bool) -> bool {
        let pr = &self.prs[i];
        if pr.is_paused() {
            return false;
        }
        let prev_index = pr.next - 1;
        let Some(prev_term) = self.log.term(prev_index) else {
            return self.send_snapshot(i);
        };
        let entries = self.log.slice(
            pr.next,
            self.log.last_index() + 1,
            self.cfg.max_size_per_msg_bytes,
        );
        if entries.is_empty() && !send_if_empty {
            return false;
        }
        if let Some(last) = entries.last() {
            self.prs[i].sent_entries(last.index);
        }
        let mut m = Message::new(MessageType::App, self.cfg.id, self.prs[i].id, self.term);
        m.index = prev_index;
        m.log_term = prev_term;
        m.entries = entries;
        m.commit = self.log.committed();
        self.msgs.push(m);
        true
    }

    /// The follower needs entries this log compacted away: send the last snapshot instead
    /// (not to a follower not heard from lately: it is probably down).
    fn send_snapshot(&mut self, i: usize) -> bool {
        if !self.prs[i].recent_active {
            return false;
        }
        let snap = self.snapshot.clone();
        assert!(snap.index > 0, "entries compacted without a snapshot");
        self.prs[i].become_snapshot(snap.index);
        let mut m = Message::new(MessageType::Snap, self.cfg.id, self.prs[i].id, self.term);
        m.snapshot = Some(Box::new(snap));
        self.msgs.push(m);
        true
    }

    fn bcast_append(&mut self) {
        for i in 0..self.prs.len() {
            if self.prs[i].id != self.cfg.id {
                self.send_append(i);
            }
        }
    }

    /// The periodic heartbeat carries the newest pending read (etcd's
    /// `lastPendingRequestCtx`), so a lost round is confirmed by the next one.
    fn bcast_heartbeat(&mut self) {
        let ctx = self.read_only.back().map_or(0, |r| r.ctx);
        self.bcast_heartbeat_with_ctx(ctx);
    }

    fn bcast_heartbeat_with_ctx(&mut self, ctx: u64) {
        let committed = self.log.committed();
        for i in 0..self.prs.len() {
            let pr = &self.prs[i];
            if pr.id == self.cfg.id {
                continue;
            }
            // A follower may not have the leader's commit index in its log yet.
            let mut m = Message::new(MessageType::Heartbeat, self.cfg.id, pr.id, self.term);
            m.commit = pr.matched.min(committed);
            m.context = ctx;
            self.msgs.push(m);
        }
    }
}
