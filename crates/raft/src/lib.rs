//! Sans-IO Raft as etcd runs it (etcd-io/raft v3.4 semantics).
//!
//! The state machine has no clock, no I/O and no randomness source of its own: it is driven by
//! [`Raft::tick`], [`Raft::step`] and [`Raft::propose`], and hands its outputs out through
//! [`Raft::ready`] / [`Raft::advance`]. The randomized election timeout is drawn from a ChaCha
//! stream that the simulated world derives from the scenario seed and passes in.
//!
//! Payloads are generic and shared (`P` is typically an `Rc<Request>`), so replicating an entry
//! to six followers clones a pointer, not the bytes.

use rand_chacha::ChaCha8Rng;

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
}

#[derive(Clone, Debug)]
pub struct Message<P> {
    pub msg_type: MessageType,
    pub from: NodeId,
    pub to: NodeId,
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
}

impl<P: Payload> Message<P> {
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
        }
    }
}

/// What a restarted node recovers from its WAL: the fsynced hard state and entries.
#[derive(Clone, Debug)]
pub struct Recovered<P> {
    pub hard_state: HardState,
    /// Contiguous, starting at index 1 (log compaction/snapshots come later).
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
}

/// Why a local proposal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// No leader known (etcd blocks the proposal until one appears; the server decides).
    NoLeader,
    /// This node is not a voter or the proposal was dropped.
    Dropped,
}

pub struct Raft<P> {
    _p: std::marker::PhantomData<P>,
    _rng: ChaCha8Rng,
}

impl<P: Payload> Raft<P> {
    /// A fresh node (term 0, empty log), as on first boot of a new cluster.
    pub fn new(_config: Config, _rng: ChaCha8Rng) -> Self {
        todo!()
    }
    /// A node restarted from its WAL.
    pub fn restart(_config: Config, _recovered: Recovered<P>, _rng: ChaCha8Rng) -> Self {
        todo!()
    }
    /// One logical clock tick (one heartbeat interval of wall time in etcd).
    pub fn tick(&mut self) {
        todo!()
    }
    /// Feed a message received from a peer.
    pub fn step(&mut self, _msg: Message<P>) {
        todo!()
    }
    /// Propose a payload. On a leader it is appended; on a follower it is forwarded (MsgProp).
    /// Returns the index it was appended at when this node is leader, else None.
    pub fn propose(&mut self, _payload: P) -> Result<Option<u64>, ProposeError> {
        todo!()
    }
    pub fn has_ready(&self) -> bool {
        todo!()
    }
    /// Take the pending outputs. Call [`Raft::advance`] once they have been handled.
    pub fn ready(&mut self) -> Ready<P> {
        todo!()
    }
    /// The last Ready was handled: its entries are stable and its committed entries applied.
    pub fn advance(&mut self) {
        todo!()
    }

    // --- Introspection (used by the server, metrics and invariant checks). ---
    pub fn id(&self) -> NodeId {
        todo!()
    }
    pub fn term(&self) -> u64 {
        todo!()
    }
    pub fn role(&self) -> Role {
        todo!()
    }
    pub fn leader(&self) -> NodeId {
        todo!()
    }
    pub fn vote(&self) -> NodeId {
        todo!()
    }
    pub fn commit_index(&self) -> u64 {
        todo!()
    }
    pub fn applied_index(&self) -> u64 {
        todo!()
    }
    pub fn last_index(&self) -> u64 {
        todo!()
    }
    /// Term of the entry at `index`, if the log holds it (0 for index 0).
    pub fn term_at(&self, _index: u64) -> Option<u64> {
        todo!()
    }
    /// The entry at `index`, if held in memory.
    pub fn entry_at(&self, _index: u64) -> Option<&Entry<P>> {
        todo!()
    }
    /// Current randomized election timeout in ticks, in [election_tick, 2*election_tick).
    pub fn randomized_election_timeout(&self) -> u32 {
        todo!()
    }
    /// Ticks since the last reset of the election timer.
    pub fn election_elapsed(&self) -> u32 {
        todo!()
    }
}
