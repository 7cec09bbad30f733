//! Raft snapshots between members (the transfer at the link bandwidth, the install), conf changes, and the cluster IDs that decide who talks to whom.

use super::*;
use etcdlab_member::{ConfChange, ServerState};
use etcdlab_report::{etcdctl, SnapshotTransfer};
use etcdlab_scenario::peer_url;

impl World<'_> {
    /// A leader's MsgSnap with the state it carries: the transfer takes the db's size at the
    /// link's bandwidth, then the follower steps it; the sender hears how it went.
    pub(super) fn send_snapshot(
        &mut self,
        from: usize,
        msg: Msg,
        state: Box<ServerState>,
        size_bytes: u64,
    ) {
        let now = self.q.now();
        let to = (msg.to - 1) as usize;
        let from_epoch = self.nodes[from].epoch;
        self.recovery.transfers.push(SnapshotTransfer {
            from: format!("m{}", from + 1),
            to: format!("m{}", to + 1),
            size_bytes,
            sent_at_ns: now,
            applied_at_ns: None,
        });
        self.recovery.used = true;
        let bandwidth = self.net.link_params(from, to).bandwidth_bytes_per_s;
        let blocked = self.net.is_blocked(from, to) || !self.same_cluster(from, to);
        let transfer_ns = (size_bytes as f64 / bandwidth * 1e9) as Nanos;
        let latency_ns = self.net.sample_rtt_ns(from, to) / 2;
        let at = now.saturating_add(transfer_ns).saturating_add(latency_ns);
        if blocked {
            // The sender's dial fails after its timeout; raft probes again later.
            let at = now.saturating_add(self.sc.cluster.election_timeout_ms * 1_000_000);
            let report = NodeEv::SnapshotReport { to, ok: false };
            self.q.schedule_at(at, Ev::node(from, from_epoch, report));
            return;
        }
        self.q.schedule_at(
            at,
            Ev::DeliverSnapshot(Box::new(SnapshotDelivery {
                from,
                to,
                msg,
                state,
                from_epoch,
            })),
        );
    }

    pub(super) fn on_deliver_snapshot(&mut self, d: SnapshotDelivery) {
        let SnapshotDelivery {
            from,
            to,
            msg,
            state,
            from_epoch,
        } = d;
        let now = self.q.now();
        // A partition that began during the transfer cuts the stream too.
        let ok = self.nodes[to].slot.is_running()
            && !self.net.is_blocked(from, to)
            && self.same_cluster(from, to);
        if ok {
            self.on_running(to, |member, out| member.on_snapshot(now, msg, state, out));
        }
        self.on_snapshot_report(from, to, ok, from_epoch);
    }

    /// The sender's snapshot stream finished (a stopped sender hears it when it resumes).
    pub(super) fn on_snapshot_report(&mut self, from: usize, to: usize, ok: bool, epoch: u64) {
        if self.nodes[from].is_current(epoch) {
            self.member_input(from, MemberInput::SnapshotReport { to, ok });
        }
    }

    pub(super) fn on_snapshot_installed(
        &mut self,
        m: usize,
        index: u64,
        applied_index: u64,
        size_bytes: u64,
    ) {
        let now = self.q.now();
        let r = self.invariants.on_snapshot_installed(now, m, applied_index);
        self.note(r);
        self.on_applied_up_to(m, applied_index);
        let name = format!("m{}", m + 1);
        if let Some(t) = self
            .recovery
            .transfers
            .iter_mut()
            .rev()
            .find(|t| t.to == name && t.applied_at_ns.is_none())
        {
            t.applied_at_ns = Some(now);
        }
        self.rec.timeline(
            now,
            format!(
                "{name}: applied a snapshot from the leader (raft index {index}, db {})",
                etcdctl::humanize_bytes(size_bytes)
            ),
        );
    }

    /// A conf change applied on `m`: the first member to apply it logs it; a member that
    /// applies its own removal stops ("the member has been permanently removed").
    pub(super) fn on_conf_changed(&mut self, m: usize, cc: ConfChange) {
        let now = self.q.now();
        if let ConfChange::RemoveNode(id) = cc {
            if id == m as u64 + 1 {
                self.rec.timeline(
                    now,
                    format!(
                        "m{}: the member has been permanently removed from the cluster; etcd stops",
                        m + 1
                    ),
                );
                self.crash(m);
                if let Slot::Down { .. } = self.nodes[m].slot {
                    self.nodes[m].slot = Slot::NoData;
                }
            }
        }
    }

    /// Member `m`'s data belongs to `cluster_id` from now on (the invariants compare its log
    /// with that cluster's).
    pub(super) fn set_cluster_id(&mut self, m: usize, cluster_id: u64) {
        self.nodes[m].meta.cluster_id = cluster_id;
        self.invariants.set_cluster(m, cluster_id);
    }

    pub(super) fn same_cluster(&self, a: usize, b: usize) -> bool {
        self.nodes[a].meta.cluster_id == self.nodes[b].meta.cluster_id
    }

    /// rafthttp refuses a peer of another cluster ("request cluster ID mismatch"); logged once
    /// per pair.
    pub(super) fn cluster_mismatch(&mut self, from: usize, to: usize) -> bool {
        if self.same_cluster(from, to) {
            return false;
        }
        if self.recovery.mismatch_logged.insert((from, to)) {
            let now = self.q.now();
            let text = format!(
                "m{}: request from m{} rejected: request cluster ID mismatch (got {:016x}, want {:016x})",
                to + 1,
                from + 1,
                self.nodes[from].meta.cluster_id,
                self.nodes[to].meta.cluster_id
            );
            self.rec.timeline(now, text.clone());
            self.recovery.event(now, text);
        }
        true
    }
}

/// A raft snapshot on its way: the leader's message and the state machine it carries.
#[derive(Debug)]
pub(crate) struct SnapshotDelivery {
    pub from: usize,
    pub to: usize,
    pub msg: Msg,
    pub state: Box<ServerState>,
    /// The sender's incarnation: a restarted sender no longer waits for the outcome.
    pub from_epoch: u64,
}

/// A member's data directory beyond what its slot holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct MemberMeta {
    /// etcd's member ID (from its peer URL and the cluster token; for a member added at run
    /// time, from its peer URL and the time of the add).
    pub member_id: u64,
    /// The cluster this member's data belongs to.
    pub cluster_id: u64,
    /// The bbolt file is corrupted: the next start fails.
    pub backend_corrupt: bool,
    /// The ID the cluster that added it (`member add`) knows it by; it differs from
    /// `member_id` once the member bootstraps a cluster of its own instead of joining.
    pub added_as: Option<u64>,
    /// Ever started (a member added but never started is "unstarted" in `member list`).
    pub started: bool,
}

/// etcd's IDs of every member slot: the initial members form one cluster; added members
/// belong to none until they start.
pub(crate) fn member_metas(members: usize, initial: usize, token: &str) -> Vec<MemberMeta> {
    let ids: Vec<u64> = (0..members).map(|m| member_id(m, token)).collect();
    let cluster = etcdlab_member::ids::cluster_id(&ids[..initial]);
    ids.iter()
        .enumerate()
        .map(|(m, &member_id)| MemberMeta {
            member_id,
            cluster_id: if m < initial { cluster } else { 0 },
            backend_corrupt: false,
            added_as: None,
            started: m < initial,
        })
        .collect()
}

/// The lab's wall clock at simulated time 0: 2024-01-01 00:00:00 UTC. Of what etcd reads the
/// wall clock for, the lab models one thing: the ID of a member added at run time.
pub(crate) const WALL_CLOCK_AT_START_UNIX_S: u64 = 1_704_067_200;

/// The lab's wall clock at `now`, in whole Unix seconds.
pub(crate) fn wall_clock_unix_s(now: Nanos) -> u64 {
    WALL_CLOCK_AT_START_UNIX_S + now / 1_000_000_000
}

/// etcd's member ID for member `m` in a cluster with `token`.
pub(crate) fn member_id(m: usize, token: &str) -> u64 {
    etcdlab_member::ids::member_id(&[peer_url(m)], token)
}
