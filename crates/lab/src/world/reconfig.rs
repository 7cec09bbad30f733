//! etcd's strict reconfiguration check (`--strict-reconfig-check`, on by default): before
//! proposing `member add`, the member serving it refuses when enough members have not started
//! (`IsReadyToAddVotingMember`) or when it has not been connected to every voting member for
//! more than `HealthInterval` (`isConnectedFullySince`). rafthttp's "active since" of a peer
//! is, in the lab, the last time both processes and the link between them were all up: each
//! node keeps since when its process runs (`Node::up_since`), and [`PeerLinks`] since when
//! each link has been free of partitions.

use super::{Slot, World};
use etcdlab_sim::Nanos;

/// etcd's `HealthInterval`: how long the serving member must have been connected to a peer.
pub(super) const HEALTH_INTERVAL_NS: Nanos = 5_000_000_000;

/// etcd's `ErrUnhealthy`, as etcdctl prints it.
pub(super) const ERR_UNHEALTHY: &str = "etcdserver: unhealthy cluster";
/// etcd's `ErrNotEnoughStartedMembers`, as etcdctl prints it.
pub(super) const ERR_NOT_ENOUGH_STARTED: &str =
    "etcdserver: re-configuration failed due to not enough started members";

/// Since when each pair of members has had no partition between them (both directions).
pub(crate) struct PeerLinks {
    n: usize,
    since: Vec<Option<Nanos>>,
}

impl PeerLinks {
    /// Every link up from the start of the run.
    pub(super) fn new(n: usize) -> PeerLinks {
        PeerLinks {
            n,
            since: vec![Some(0); n * n],
        }
    }

    /// After a partition changed: a link that came up is up from `now`, one cut has no time.
    pub(super) fn refresh(&mut self, now: Nanos, blocked: impl Fn(usize, usize) -> bool) {
        for a in 0..self.n {
            for b in 0..self.n {
                let up = !blocked(a, b) && !blocked(b, a);
                let since = &mut self.since[a * self.n + b];
                match (up, *since) {
                    (true, None) => *since = Some(now),
                    (false, _) => *since = None,
                    (true, Some(_)) => {}
                }
            }
        }
    }

    fn since(&self, a: usize, b: usize) -> Option<Nanos> {
        self.since[a * self.n + b]
    }
}

impl World<'_> {
    /// A partition changed: note which links came up and which went down.
    pub(super) fn refresh_links(&mut self) {
        let now = self.q.now();
        let net = &self.net;
        self.links.refresh(now, |a, b| net.is_blocked(a, b));
    }

    /// Since when members `a` and `b` have been connected: both processes running (not
    /// stopped, not SIGSTOPped), members of one cluster, and no partition between them.
    pub(super) fn connected_since(&self, a: usize, b: usize) -> Option<Nanos> {
        let up = |m: usize| match self.nodes[m].slot {
            Slot::Running(_) => self.nodes[m].up_since,
            _ => None,
        };
        if !self.same_cluster(a, b) {
            return None;
        }
        let (ta, tb, tl) = (up(a)?, up(b)?, self.links.since(a, b)?);
        Some(ta.max(tb).max(tl))
    }

    /// etcd's `mayAddMember` for a voting member, on member `serving`: the error etcdctl
    /// prints, or None when the add may be proposed.
    pub(super) fn may_add_member(&self, serving: usize) -> Option<&'static str> {
        if !self.sc.cluster.strict_reconfig_check {
            return None;
        }
        let voters = self.nodes[serving].slot.state()?.members();
        // IsReadyToAddVotingMember: the started members must stay a quorum of the grown
        // cluster (adding a second member to a one-member cluster is allowed).
        let nmembers = voters.len() + 1;
        let nstarted = (voters.iter())
            .filter(|&&id| (self.nodes.get((id - 1) as usize)).is_some_and(|n| n.meta.started))
            .count();
        if !(nstarted == 1 && nmembers == 2) && nstarted < nmembers / 2 + 1 {
            return Some(ERR_NOT_ENOUGH_STARTED);
        }
        // isConnectedFullySince(now - HealthInterval): active since strictly before then.
        let now = self.q.now();
        let fully = voters.iter().all(|&id| {
            let m = (id - 1) as usize;
            m == serving
                || self
                    .connected_since(serving, m)
                    .is_some_and(|t| t.saturating_add(HEALTH_INTERVAL_NS) < now)
        });
        (!fully).then_some(ERR_UNHEALTHY)
    }
}
