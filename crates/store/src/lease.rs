//! etcd's lessor (`lease/lessor.go`): leases, the keys attached to them, and their expiry.
//!
//! Grant, revoke, attach (a put) and detach (a delete) are applied from raft on every member.
//! Expiry is only tracked on the primary (the raft leader): a follower's leases never expire
//! (`demote`); a new leader restarts every lease's clock (`promote`). Keepalives (`renew`) reach
//! only the primary and do not go through raft. The lessor never deletes keys itself:
//! [`Lessor::revoke`] hands back the attached keys and the caller deletes them at one revision
//! with [`Store::delete_keys`](crate::Store::delete_keys).
//!
//! Time is the caller's: every method that needs it takes `now_ns`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// etcd `MaxLeaseTTL`, in seconds.
pub const MAX_LEASE_TTL_S: i64 = 9_000_000_000;
/// etcd `leaseRevokeRate`: revokes per second the primary aims at; promote spreads expiries
/// so that no second holds more than 3/4 of it.
pub const LEASE_REVOKE_RATE: usize = 1000;
/// The lessor's `runLoop` period: how often the primary looks for expired leases.
pub const REVOKE_LOOP_INTERVAL_NS: u64 = 500_000_000;
/// Expired leases handed out per loop (`leaseRevokeRate / 2`).
pub const REVOKE_LIMIT_PER_LOOP: usize = LEASE_REVOKE_RATE / 2;
/// etcd `defaultExpiredleaseRetryInterval`: an expired lease is handed out again after this
/// long if its revoke has not been applied by then.
pub const EXPIRED_LEASE_RETRY_NS: u64 = 3_000_000_000;

const NS_PER_S: u64 = 1_000_000_000;

/// etcd's minimum lease TTL, in seconds: `ceil((3 * election_ticks / 2) * heartbeat)` with
/// `election_ticks = election_timeout / heartbeat` (integer divisions, as etcd). 1000 ms /
/// 100 ms gives 2 s.
pub fn min_ttl_s(election_timeout_ms: u64, heartbeat_ms: u64) -> i64 {
    let heartbeat_ms = heartbeat_ms.max(1);
    let election_ticks = election_timeout_ms / heartbeat_ms;
    let min_ms = (3 * election_ticks / 2) * heartbeat_ms;
    min_ms.div_ceil(1000) as i64
}

/// Lease errors, with the texts a client sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseError {
    NotFound,
    Exists,
    TtlTooLarge,
    /// Renew on a follower (etcd forwards the keepalive to the leader).
    NotPrimary,
    /// Renew of a lease that has expired but is not revoked yet. etcd holds the keepalive
    /// until the revoke applies (then answers `NotFound`, hence the same text) or the lessor
    /// is demoted (then `NotPrimary`).
    Expired,
}

impl fmt::Display for LeaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeaseError::NotFound | LeaseError::Expired => "etcdserver: requested lease not found",
            LeaseError::Exists => "etcdserver: lease already exists",
            LeaseError::TtlTooLarge => "etcdserver: too large lease TTL",
            LeaseError::NotPrimary => "not a primary lessor",
        })
    }
}

impl std::error::Error for LeaseError {}

/// One lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub id: i64,
    /// Granted TTL, already raised to the minimum.
    pub ttl_s: i64,
    /// Checkpointed remaining TTL (0 = none): a promote uses it instead of `ttl_s`.
    pub remaining_ttl_s: i64,
    /// None = forever (on a follower, or before a promote).
    pub expiry_ns: Option<u64>,
    keys: BTreeSet<Vec<u8>>,
}

impl Lease {
    /// Attached keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.keys.iter().map(|k| k.as_slice())
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Time left before expiry; None = never expires here (not primary).
    pub fn remaining_ns(&self, now_ns: u64) -> Option<u64> {
        self.expiry_ns.map(|e| e.saturating_sub(now_ns))
    }

    pub fn is_expired(&self, now_ns: u64) -> bool {
        self.expiry_ns.is_some_and(|e| now_ns >= e)
    }

    fn refresh(&mut self, now_ns: u64, extend_ns: u64) {
        let ttl_s = if self.remaining_ttl_s > 0 {
            self.remaining_ttl_s
        } else {
            self.ttl_s
        };
        let ttl_ns = (ttl_s.max(0) as u64).saturating_mul(NS_PER_S);
        self.expiry_ns = Some(now_ns.saturating_add(extend_ns).saturating_add(ttl_ns));
    }
}

/// The leases of one member.
#[derive(Clone, Debug, Default)]
pub struct Lessor {
    leases: BTreeMap<i64, Lease>,
    /// key -> the lease it is attached to.
    items: BTreeMap<Vec<u8>, i64>,
    primary: bool,
    /// etcd's `LeaseExpiredNotifier`: (when to look at the lease, id), primary only.
    queue: BTreeSet<(u64, i64)>,
    /// The queue entry of each lease in `queue`, to move it on renew.
    queued_at: BTreeMap<i64, u64>,
}

impl Lessor {
    /// A lessor that is not primary (a member starts as a follower).
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_primary(&self) -> bool {
        self.primary
    }

    pub fn len(&self) -> usize {
        self.leases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    pub fn lookup(&self, id: i64) -> Option<&Lease> {
        self.leases.get(&id)
    }

    /// Lease ids, ascending.
    pub fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.leases.keys().copied()
    }

    fn enqueue(&mut self, id: i64, at_ns: u64) {
        if let Some(old) = self.queued_at.insert(id, at_ns) {
            self.queue.remove(&(old, id));
        }
        self.queue.insert((at_ns, id));
    }

    fn dequeue(&mut self, id: i64) {
        if let Some(old) = self.queued_at.remove(&id) {
            self.queue.remove(&(old, id));
        }
    }

    /// Applies a `LeaseGrant`. The TTL is raised to `min_ttl_s` (see [`min_ttl_s`]). On the
    /// primary the lease expires at `now_ns + ttl`; elsewhere never (until a promote).
    pub fn grant(
        &mut self,
        id: i64,
        ttl_s: i64,
        min_ttl_s: i64,
        now_ns: u64,
    ) -> Result<Lease, LeaseError> {
        // id 0 is "no lease" (the server picks an id before proposing).
        if id == 0 {
            return Err(LeaseError::NotFound);
        }
        if ttl_s > MAX_LEASE_TTL_S {
            return Err(LeaseError::TtlTooLarge);
        }
        if self.leases.contains_key(&id) {
            return Err(LeaseError::Exists);
        }
        let mut lease = Lease {
            id,
            ttl_s: ttl_s.max(min_ttl_s),
            remaining_ttl_s: 0,
            expiry_ns: None,
            keys: BTreeSet::new(),
        };
        if self.primary {
            lease.refresh(now_ns, 0);
            self.enqueue(id, lease.expiry_ns.expect("refreshed"));
        }
        self.leases.insert(id, lease.clone());
        Ok(lease)
    }

    /// Applies a `LeaseRevoke`: forgets the lease and returns its keys, sorted, for the
    /// caller to delete at one revision.
    pub fn revoke(&mut self, id: i64) -> Result<Vec<Vec<u8>>, LeaseError> {
        let lease = self.leases.remove(&id).ok_or(LeaseError::NotFound)?;
        self.dequeue(id);
        for k in &lease.keys {
            self.items.remove(k);
        }
        Ok(lease.keys.into_iter().collect())
    }

    /// Applies a `LeaseCheckpoint` (remaining TTL, used by the next promote; 0 clears it).
    /// Unknown leases are ignored, as in etcd.
    pub fn checkpoint(&mut self, id: i64, remaining_ttl_s: i64) {
        if let Some(l) = self.leases.get_mut(&id) {
            l.remaining_ttl_s = remaining_ttl_s;
        }
    }

    /// The put rule: `key` is now attached to `lease` (0 = no lease), and detached from the
    /// lease it had. An unknown lease fails the put and changes nothing (etcd checks it before
    /// applying the put).
    pub fn attach(&mut self, lease: i64, key: &[u8]) -> Result<(), LeaseError> {
        if lease != 0 && !self.leases.contains_key(&lease) {
            return Err(LeaseError::NotFound);
        }
        if self.lease_of(key) == lease {
            return Ok(());
        }
        self.detach(key);
        if lease != 0 {
            self.leases
                .get_mut(&lease)
                .expect("checked")
                .keys
                .insert(key.to_vec());
            self.items.insert(key.to_vec(), lease);
        }
        Ok(())
    }

    /// The delete rule: `key` leaves its lease. Returns that lease (0 if none).
    pub fn detach(&mut self, key: &[u8]) -> i64 {
        let Some(id) = self.items.remove(key) else {
            return 0;
        };
        if let Some(l) = self.leases.get_mut(&id) {
            l.keys.remove(key);
        }
        id
    }

    /// The lease `key` is attached to (0 if none).
    pub fn lease_of(&self, key: &[u8]) -> i64 {
        self.items.get(key).copied().unwrap_or(0)
    }

    /// Keys attached to `id`, sorted (empty if the lease is unknown).
    pub fn keys(&self, id: i64) -> Vec<Vec<u8>> {
        self.leases
            .get(&id)
            .map(|l| l.keys.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A keepalive on the primary (not through raft): expiry = now + TTL. Returns the TTL.
    /// A checkpointed remaining TTL is not used here (etcd clears it through raft first).
    pub fn renew(&mut self, id: i64, now_ns: u64) -> Result<i64, LeaseError> {
        if !self.primary {
            return Err(LeaseError::NotPrimary);
        }
        let lease = self.leases.get_mut(&id).ok_or(LeaseError::NotFound)?;
        if lease.is_expired(now_ns) {
            return Err(LeaseError::Expired);
        }
        let ttl_s = lease.ttl_s;
        let expiry_ns = now_ns.saturating_add((ttl_s.max(0) as u64).saturating_mul(NS_PER_S));
        lease.expiry_ns = Some(expiry_ns);
        self.enqueue(id, expiry_ns);
        Ok(ttl_s)
    }

    /// Becomes primary (a new leader, once it applied its term's first entry; etcd passes
    /// the election timeout as `extend_ns`): every lease expires at now + extend + its
    /// remaining (checkpointed) or full TTL. With [`LEASE_REVOKE_RATE`] leases or more, the
    /// expiries are spread so that no one-second window holds more than 3/4 of that rate.
    pub fn promote(&mut self, now_ns: u64, extend_ns: u64) {
        self.primary = true;
        for l in self.leases.values_mut() {
            l.refresh(now_ns, extend_ns);
        }
        if self.leases.len() >= LEASE_REVOKE_RATE {
            self.spread_expiries(now_ns, extend_ns);
        }
        self.queue.clear();
        self.queued_at.clear();
        let entries: Vec<(i64, u64)> = self
            .leases
            .values()
            .map(|l| (l.id, l.expiry_ns.expect("refreshed")))
            .collect();
        for (id, at_ns) in entries {
            self.enqueue(id, at_ns);
        }
    }

    /// etcd's pile-up avoidance after a promote: walk the leases by expiry in windows of one
    /// second; past 750 in a window, each further lease is pushed back in proportion.
    fn spread_expiries(&mut self, now_ns: u64, extend_ns: u64) {
        let mut order: Vec<(u64, i64)> = self
            .leases
            .values()
            .map(|l| (l.expiry_ns.expect("refreshed"), l.id))
            .collect();
        order.sort_unstable();
        let target = (3 * LEASE_REVOKE_RATE / 4) as i128;
        let s = NS_PER_S as i128;
        let remaining = |e: u64| e as i128 - now_ns as i128;
        let mut base = remaining(order[0].0);
        let mut next = base + s;
        let mut count: i128 = 0;
        for (expiry_ns, id) in order {
            let rem = remaining(expiry_ns);
            if rem > next {
                base = rem;
                next = base + s;
                count = 1;
                continue;
            }
            count += 1;
            if count <= target {
                continue;
            }
            let delay = s * count / target - (rem - base);
            next = base + delay;
            let extra = (delay + extend_ns as i128).max(0) as u64;
            self.leases
                .get_mut(&id)
                .expect("listed")
                .refresh(now_ns, extra);
        }
    }

    /// Stops being primary: nothing expires here any more.
    pub fn demote(&mut self) {
        self.primary = false;
        for l in self.leases.values_mut() {
            l.expiry_ns = None;
        }
        self.queue.clear();
        self.queued_at.clear();
    }

    /// On the primary, up to `limit` leases whose expiry has passed, in the order they fell
    /// due (earliest expiry first, then id; a lease handed out before is due again at its
    /// retry time): the leases to propose a `LeaseRevoke` for. A lease handed out is not handed
    /// out again for [`EXPIRED_LEASE_RETRY_NS`] (the revoke is in flight). Empty on a
    /// follower.
    pub fn expired(&mut self, now_ns: u64, limit: usize) -> Vec<i64> {
        let mut out = Vec::new();
        if !self.primary {
            return out;
        }
        while out.len() < limit {
            let Some(&(at_ns, id)) = self.queue.first() else {
                break;
            };
            if at_ns > now_ns {
                break;
            }
            self.enqueue(id, now_ns.saturating_add(EXPIRED_LEASE_RETRY_NS));
            if self.leases[&id].is_expired(now_ns) {
                out.push(id);
            }
        }
        out
    }
}
