//! The world's events. Each popped event is folded into the trace hash with a stable code
//! (`Ev::trace_words`): the codes are part of every report's `trace_hash`, so they never change.

use super::snapshots::SnapshotDelivery;
use etcdlab_member::{Msg, Request};
use std::rc::Rc;

#[derive(Debug)]
pub(crate) enum Ev {
    /// An event of incarnation `epoch` of member `m`: the dispatcher drops it once that
    /// process crashed, restarted or had its start cancelled.
    Node {
        m: usize,
        epoch: u64,
        ev: NodeEv,
    },
    /// A peer message reaches member `to` (whatever its incarnation: the sender's connection
    /// is to the member's address).
    Deliver {
        to: usize,
        msg: Box<Msg>,
    },
    /// A client's request reaches incarnation `epoch` of member `m`; a newer incarnation means
    /// the client's connection was lost.
    WriteArrives {
        m: usize,
        req: Rc<Request>,
        epoch: u64,
    },
    ReadArrives {
        m: usize,
        id: u64,
        epoch: u64,
    },
    /// A defrag of member `m` has finished copying (the operator hears of it even when the
    /// member restarted meanwhile).
    DefragDone {
        m: usize,
        epoch: u64,
    },
    /// A raft snapshot (with the leader's state) reaches its member. Boxed: events are moved
    /// around the heap all the time, and this is the largest.
    DeliverSnapshot(Box<SnapshotDelivery>),
    /// The plain workload's next write / read.
    NextWrite,
    NextRead,
    /// A timeline action fires / a timed fault ends.
    Action {
        index: usize,
        occurrence: u32,
    },
    ActionEnd {
        token: u64,
    },
    /// The oldest pending request deadlines are due (see `World::timeouts`).
    TimeoutsDue,
    Scrape,
    RttProbe,
    /// A reply to an operator's request reaches the terminal.
    OperatorReply {
        id: u64,
        error: Option<&'static str>,
    },
    /// The operator's current command is done (or the next one may start).
    OperatorWake,
    /// The Kubernetes workload's next write is due.
    KubeNext,
    /// kube-apiserver's compactor round.
    ApiserverCompactor,
    /// A GET or LIST reaches kube-apiserver (`[kube] api_requests`).
    ApiRead,
    /// etcd's auto-compactor check.
    AutoCompaction,
    /// Watch clients read what is new (every 100 ms).
    WatchSync,
    /// The leader's periodic corruption check.
    CorruptCheck,
    /// A `[traffic]` client sends its next request.
    TrafficNext {
        client: u32,
    },
    /// `[liveness]`: has the cluster recovered?
    LivenessCheck,
    /// A `[traffic]` client's deadline for request `id`.
    TrafficDeadline {
        client: u32,
        id: u64,
    },
}

/// What happens to one incarnation of a member.
#[derive(Debug)]
pub(crate) enum NodeEv {
    /// Its raft ticker.
    Tick,
    /// The WAL save its loop waits for is durable.
    SaveDone,
    /// WAL replay is over: the process starts (or refuses to).
    RestartDone,
    /// The backend's 100 ms batch interval.
    BackendTick,
    /// The next compaction batch (etcd sleeps 10 ms between batches).
    CompactionStep,
    /// The lessor loop (revokes expired leases on the leader).
    LeaseTick,
    /// Its snapshot stream to member `to` finished (`ok`) or failed.
    SnapshotReport { to: usize, ok: bool },
    /// It passed its initial corruption check (after peers timed out): it starts.
    StartChecked,
}

impl Ev {
    pub fn node(m: usize, epoch: u64, ev: NodeEv) -> Ev {
        Ev::Node { m, epoch, ev }
    }

    /// A stable code and member for the trace hash.
    pub fn trace_words(&self) -> (u64, u64) {
        match self {
            Ev::Node { m, ev, .. } => ev.trace_words(*m),
            Ev::Deliver { to, msg } => (2 + ((msg.msg_type as u64) << 8), *to as u64),
            Ev::NextWrite => (4, 0),
            Ev::WriteArrives { m, req, .. } => (5 + (req.id << 8), *m as u64),
            Ev::Action { index, occurrence } => (8 + ((*index as u64) << 8), *occurrence as u64),
            Ev::ActionEnd { token } => (9, *token),
            Ev::Scrape => (11, 0),
            Ev::TimeoutsDue => (13, 0),
            Ev::RttProbe => (12, 0),
            Ev::DefragDone { m, .. } => (16, *m as u64),
            Ev::OperatorReply { id, .. } => (17 + (id << 8), 0),
            Ev::OperatorWake => (18, 0),
            Ev::KubeNext => (19, 0),
            Ev::ApiserverCompactor => (20, 0),
            Ev::AutoCompaction => (21, 0),
            Ev::WatchSync => (23, 0),
            Ev::NextRead => (24, 0),
            Ev::ReadArrives { m, id, .. } => (25 + (id << 8), *m as u64),
            Ev::DeliverSnapshot(d) => (26 + ((d.from as u64) << 8), d.to as u64),
            Ev::CorruptCheck => (28, 0),
            Ev::TrafficNext { client } => (30, u64::from(*client)),
            Ev::LivenessCheck => (32, 0),
            Ev::ApiRead => (33, 0),
            Ev::TrafficDeadline { client, id } => (31 + (id << 8), u64::from(*client)),
        }
    }
}

impl NodeEv {
    fn trace_words(&self, m: usize) -> (u64, u64) {
        let m = m as u64;
        match self {
            NodeEv::Tick => (1, m),
            NodeEv::SaveDone => (3, m),
            NodeEv::RestartDone => (10, m),
            NodeEv::BackendTick => (14, m),
            NodeEv::CompactionStep => (15, m),
            NodeEv::LeaseTick => (22, m),
            // The sender is `m`; the trace has always named the receiver.
            NodeEv::SnapshotReport { to, ok } => {
                (27 + (m << 8) + (u64::from(*ok) << 16), *to as u64)
            }
            NodeEv::StartChecked => (29, m),
        }
    }
}

/// What a running member process is handed; kept in order while it is SIGSTOPped.
#[derive(Debug)]
pub(crate) enum MemberInput {
    Tick,
    Message(Box<Msg>),
    SaveDone,
    ClientWrite(Rc<Request>),
    ClientRead {
        id: u64,
        client: etcdlab_member::ClientId,
        linearizable: bool,
        what: etcdlab_member::ReadOf,
    },
    RequestTimeout {
        id: u64,
    },
    SnapshotReport {
        to: usize,
        ok: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        // Every queued event is moved around the heap; keep them within four words.
        assert!(
            std::mem::size_of::<Ev>() <= 32,
            "{}",
            std::mem::size_of::<Ev>()
        );
    }
}
