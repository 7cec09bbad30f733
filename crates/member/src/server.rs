//! What a member applies committed entries to: etcd's server state behind the raft loop.
//!
//! The MVCC store and its backend ([`etcdlab_store::Store`]), the quota, and the alarms
//! (`etcdserver/apply.go`, `quota.go`, `alarm/alarms.go`). Applying follows etcd 3.4's applier
//! chain: with an alarm active the capped applier refuses what would grow the database;
//! otherwise the quota applier applies a put and *then* reports "no space" if the member's
//! backend was already over quota (etcd-internals.md §6).

use etcdlab_store::quota::QuotaRequest;
use etcdlab_store::{CompactStats, Lessor, Quota, Store, StoreError, Value};
use std::collections::BTreeSet;
use std::rc::Rc;

/// What a client or operator sees when a request grows a database that is over quota.
pub const ERR_NOSPACE: &str = "etcdserver: mvcc: database space exceeded";
pub const ERR_COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";
pub const ERR_FUTURE_REV: &str = "etcdserver: mvcc: required revision is a future revision";
/// What writes get under a CORRUPT alarm (`applierV3Corrupt`, gRPC DataLoss).
pub const ERR_CORRUPT: &str = "etcdserver: corrupt cluster";

pub const ERR_LEASE_NOT_FOUND: &str = "etcdserver: requested lease not found";

fn lease_error(e: etcdlab_store::LeaseError) -> &'static str {
    match e {
        etcdlab_store::LeaseError::Exists => "etcdserver: lease already exists",
        etcdlab_store::LeaseError::TtlTooLarge => "etcdserver: too large lease TTL",
        _ => ERR_LEASE_NOT_FOUND,
    }
}

/// etcd's alarm types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlarmKind {
    NoSpace,
    Corrupt,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::NoSpace => "NOSPACE",
            AlarmKind::Corrupt => "CORRUPT",
        }
    }
}

/// One operation of a request, as it is proposed and applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Put {
        key: Rc<[u8]>,
        value: Value,
        lease: i64,
    },
    /// `[key, range_end)`; an empty `range_end` deletes just `key`.
    DeleteRange {
        key: Rc<[u8]>,
        range_end: Rc<[u8]>,
    },
    Compact {
        rev: i64,
    },
    /// `AlarmRequest`. `for_rejected_put` marks the ACTIVATE a member proposes when it refuses
    /// a put at its gRPC layer: the client's put fails with "no space" once it applies.
    Alarm {
        activate: bool,
        member_id: u64,
        alarm: AlarmKind,
        for_rejected_put: bool,
    },
    /// `alarm list` (a GET through raft: it costs a raft index, as measured).
    AlarmList,
    /// `LeaseGrant` with the id the server chose.
    LeaseGrant {
        id: i64,
        ttl_s: i64,
    },
    /// `LeaseRevoke`: the lease's keys are deleted at one revision.
    LeaseRevoke {
        id: i64,
    },
    /// `member add`: a conf change entry adding raft voter `id`.
    MemberAdd {
        id: u64,
    },
    /// `member remove`.
    MemberRemove {
        id: u64,
    },
    /// A `Txn`: if every compare holds, the success operations, else the failure ones (puts,
    /// deletes and ranges), at one revision.
    Txn(Rc<Txn>),
}

/// etcd's `TxnRequest` (no nested txns).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Txn {
    pub compares: Vec<etcdlab_store::Compare>,
    pub success: Vec<etcdlab_store::Op>,
    pub failure: Vec<etcdlab_store::Op>,
}

impl Txn {
    /// A txn with a put on either branch (it costs quota: etcd's `Cost(r) > 0`), which the
    /// capped applier refuses under NOSPACE; deletes and ranges go through.
    fn puts(&self) -> bool {
        self.success
            .iter()
            .chain(&self.failure)
            .any(|op| matches!(op, etcdlab_store::Op::Put { .. }))
    }

    fn quota_request(&self) -> QuotaRequest {
        let cost = |ops: &[etcdlab_store::Op]| {
            ops.iter()
                .map(|op| match op {
                    etcdlab_store::Op::Put { key, value, .. } => QuotaRequest::Put {
                        key_len: key.len(),
                        value_len: value.size_bytes as usize,
                    },
                    _ => QuotaRequest::Free,
                })
                .collect()
        };
        QuotaRequest::Txn {
            success: cost(&self.success),
            failure: cost(&self.failure),
        }
    }

    fn size_bytes(&self) -> u64 {
        let op_bytes = |op: &etcdlab_store::Op| match op {
            etcdlab_store::Op::Put { key, value, .. } => {
                key.len() as u64 + u64::from(value.size_bytes)
            }
            etcdlab_store::Op::DeleteRange { key, range_end }
            | etcdlab_store::Op::Range { key, range_end, .. } => {
                (key.len() + range_end.len()) as u64
            }
        };
        let compares: u64 = self.compares.iter().map(|c| c.key.len() as u64 + 16).sum();
        compares
            + self
                .success
                .iter()
                .chain(&self.failure)
                .map(op_bytes)
                .sum::<u64>()
    }
}

impl Op {
    /// What `applierV3Corrupt` refuses: everything that writes (reads still work).
    fn refused_when_corrupt(&self) -> bool {
        matches!(
            self,
            Op::Put { .. }
                | Op::DeleteRange { .. }
                | Op::Compact { .. }
                | Op::LeaseGrant { .. }
                | Op::LeaseRevoke { .. }
                | Op::Txn(_)
        )
    }

    /// etcd's quota cost class of this operation.
    pub fn quota_request(&self) -> QuotaRequest {
        match self {
            Op::Put { key, value, .. } => QuotaRequest::Put {
                key_len: key.len(),
                value_len: value.size_bytes as usize,
            },
            Op::LeaseGrant { .. } => QuotaRequest::LeaseGrant,
            Op::Txn(txn) => txn.quota_request(),
            _ => QuotaRequest::Free,
        }
    }

    /// Bytes of the request as it travels in raft (an `InternalRaftRequest`).
    pub fn size_bytes(&self) -> u64 {
        const FRAMING: u64 = 24;
        FRAMING
            + match self {
                Op::Put { key, value, .. } => key.len() as u64 + u64::from(value.size_bytes),
                Op::DeleteRange { key, range_end } => (key.len() + range_end.len()) as u64,
                Op::Compact { .. }
                | Op::Alarm { .. }
                | Op::AlarmList
                | Op::LeaseGrant { .. }
                | Op::LeaseRevoke { .. } => 16,
                // A ConfChange with the member's name and peer URLs in its context.
                Op::MemberAdd { .. } | Op::MemberRemove { .. } => 96,
                Op::Txn(txn) => txn.size_bytes(),
            }
    }
}

/// A request as it travels through raft. Shared by pointer: replicating it clones an `Rc`.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    /// Unique per origin.
    pub id: u64,
    /// Who waits for the reply.
    pub origin: Origin,
    pub op: Op,
}

/// A client connection's number: the member answers on the connection a request came in on,
/// as a gRPC server does, so whoever runs the clients routes a reply by it.
pub type ClientId = u32;

/// Who sent a request: a client on its connection, or the member itself (an alarm, the
/// periodic check's CORRUPT: nobody waits for the reply).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Client(ClientId),
    Member,
}

impl Request {
    /// A client's request, sent on connection `client`.
    pub fn from_client(id: u64, client: ClientId, op: Op) -> Request {
        Request {
            id,
            origin: Origin::Client(client),
            op,
        }
    }
}

/// What applying one entry gave: None on success, else etcd's error text.
pub type ApplyResult = Result<(), &'static str>;

/// What the member has to act on after an apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyEffects {
    /// Alarm changes applied: (member id, alarm, raised).
    pub alarms: Vec<(u64, AlarmKind, bool)>,
    /// The member should propose a NOSPACE alarm for itself (the quota applier found the
    /// backend over quota and no NOSPACE alarm exists yet).
    pub raise_nospace: bool,
    /// A compaction was scheduled: the store now deletes revisions in batches.
    pub compaction: Option<CompactStats>,
    /// A membership change applied: raft must apply it too.
    pub conf_change: Option<etcdlab_raft::ConfChange>,
    /// A txn applied: whether its compares held, and the first key its branch read.
    pub txn: Option<(bool, Option<crate::KvRead>)>,
}

/// The state behind a member's raft loop: the store, the quota and the alarms.
#[derive(Clone, Debug)]
pub struct ServerState {
    pub store: Store,
    pub quota: Quota,
    /// Leases; only the leader's is primary (expires leases).
    pub lessor: Lessor,
    /// etcd's minimum lease TTL for this cluster's timing (1.5 x election timeout).
    min_lease_ttl_s: i64,
    /// Active alarms, as applied through raft (etcd persists them in the `alarm` bucket).
    alarms: BTreeSet<(u64, AlarmKind)>,
    /// etcd's consistent index: the last applied raft index, persisted with the backend.
    applied_index: u64,
    /// Raft ids of the cluster's members (etcd's `members` bucket).
    members: BTreeSet<u64>,
}

impl ServerState {
    pub fn new(quota: Quota, min_lease_ttl_s: i64) -> Self {
        ServerState {
            store: Store::new(),
            quota,
            lessor: Lessor::new(),
            min_lease_ttl_s,
            alarms: BTreeSet::new(),
            applied_index: 0,
            members: BTreeSet::new(),
        }
    }

    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// What `etcdctl snapshot restore` writes: the consistent index set to the number of
    /// members (the restored raft log holds one ConfChange per member), the members bucket
    /// rewritten, and no alarms.
    pub fn restored(mut self, members: &[u64]) -> Self {
        self.applied_index = members.len() as u64;
        self.members = members.iter().copied().collect();
        self.alarms.clear();
        self
    }

    /// Members of a cluster bootstrapped from scratch (`--initial-cluster-state=new`).
    pub fn with_members(mut self, members: &[u64]) -> Self {
        self.members = members.iter().copied().collect();
        self
    }

    pub fn members(&self) -> Vec<u64> {
        self.members.iter().copied().collect()
    }

    pub fn alarms(&self) -> impl Iterator<Item = (u64, AlarmKind)> + '_ {
        self.alarms.iter().copied()
    }

    pub fn has_alarm(&self, kind: AlarmKind) -> bool {
        self.alarms.iter().any(|(_, k)| *k == kind)
    }

    /// The gRPC-layer quota check (`api/v3rpc/quota.go`): only puts (and txns, lease grants)
    /// cost anything; the check reads the backend's `Size()` as of its last commit.
    pub fn quota_allows(&self, op: &Op) -> bool {
        self.quota
            .available(self.store.backend().size_bytes(), &op.quota_request())
    }

    /// Apply the entry at `index` (None: an empty entry of a new leader).
    pub fn apply(
        &mut self,
        index: u64,
        op: Option<&Op>,
        now_ns: u64,
        effects: &mut ApplyEffects,
    ) -> ApplyResult {
        assert!(
            index > self.applied_index,
            "apply went back: {index} <= {}",
            self.applied_index
        );
        self.applied_index = index;
        // The consistent index lives in the backend's meta bucket: every entry dirties it.
        self.store.backend_mut().touch_meta();
        match op {
            None => Ok(()),
            Some(op) => self.apply_op(op, now_ns, effects),
        }
    }

    /// Apply `op` outside raft (fast-forwarded history): same rules, no consistent index.
    pub fn apply_direct(&mut self, op: &Op, now_ns: u64) -> ApplyResult {
        let mut effects = ApplyEffects::default();
        self.apply_op(op, now_ns, &mut effects)
    }

    fn apply_op(&mut self, op: &Op, now_ns: u64, effects: &mut ApplyEffects) -> ApplyResult {
        if self.has_alarm(AlarmKind::Corrupt) && op.refused_when_corrupt() {
            return Err(ERR_CORRUPT);
        }
        match op {
            Op::Put { key, value, lease } => {
                if self.has_alarm(AlarmKind::NoSpace) {
                    // applierV3Capped: refused, nothing written.
                    return Err(ERR_NOSPACE);
                }
                // A put names a lease that must exist; it attaches (or moves, or detaches) the key.
                if *lease != 0 && self.lessor.lookup(*lease).is_none() {
                    return Err(ERR_LEASE_NOT_FOUND);
                }
                let fits = self.quota_allows(op);
                self.store.put_without_prev(key, *value, *lease);
                self.lessor
                    .attach(*lease, key)
                    .expect("lease checked above");
                if fits {
                    return Ok(());
                }
                // quotaApplierV3: applied anyway, reported as no space.
                effects.raise_nospace = !self.has_alarm(AlarmKind::NoSpace);
                Err(ERR_NOSPACE)
            }
            Op::DeleteRange { key, range_end } => {
                let r = self.store.delete_range(key, range_end);
                for kv in &r.prev_kvs {
                    self.lessor.detach(&kv.key);
                }
                Ok(())
            }
            Op::LeaseGrant { id, ttl_s } => {
                if self.has_alarm(AlarmKind::NoSpace) {
                    return Err(ERR_NOSPACE);
                }
                let fits = self.quota_allows(op);
                self.lessor
                    .grant(*id, *ttl_s, self.min_lease_ttl_s, now_ns)
                    .map_err(lease_error)?;
                if fits {
                    return Ok(());
                }
                effects.raise_nospace = true;
                Err(ERR_NOSPACE)
            }
            Op::LeaseRevoke { id } => {
                let keys = self.lessor.revoke(*id).map_err(lease_error)?;
                if !keys.is_empty() {
                    self.store.delete_keys(&keys);
                }
                Ok(())
            }
            Op::Compact { rev } => match self.store.schedule_compaction(*rev) {
                Ok(stats) => {
                    effects.compaction = Some(stats);
                    Ok(())
                }
                Err(StoreError::Compacted) => Err(ERR_COMPACTED),
                Err(StoreError::FutureRev) => Err(ERR_FUTURE_REV),
            },
            Op::Alarm {
                activate,
                member_id,
                alarm,
                for_rejected_put,
            } => {
                let changed = if *activate {
                    self.alarms.insert((*member_id, *alarm))
                } else {
                    self.alarms.remove(&(*member_id, *alarm))
                };
                if changed {
                    effects.alarms.push((*member_id, *alarm, *activate));
                }
                if *for_rejected_put {
                    Err(ERR_NOSPACE)
                } else {
                    Ok(())
                }
            }
            Op::AlarmList => Ok(()),
            Op::Txn(txn) => self.apply_txn(op, txn, effects),
            Op::MemberAdd { id } => {
                self.members.insert(*id);
                effects.conf_change = Some(etcdlab_raft::ConfChange::AddNode(*id));
                Ok(())
            }
            Op::MemberRemove { id } => {
                self.members.remove(id);
                effects.conf_change = Some(etcdlab_raft::ConfChange::RemoveNode(*id));
                Ok(())
            }
        }
    }

    /// etcd 3.4's applier chain for a txn: the capped applier refuses one with a put, the
    /// lease of every put on the branch taken must exist, and the quota applier applies it and
    /// then reports "no space" if the backend was over quota.
    fn apply_txn(&mut self, op: &Op, txn: &Txn, effects: &mut ApplyEffects) -> ApplyResult {
        if self.has_alarm(AlarmKind::NoSpace) && txn.puts() {
            return Err(ERR_NOSPACE);
        }
        let holds = txn.compares.iter().all(|c| self.store.compare(c));
        let branch = if holds { &txn.success } else { &txn.failure };
        let lease_missing = branch.iter().any(|op| {
            matches!(op, etcdlab_store::Op::Put { lease, .. } if *lease != 0 && self.lessor.lookup(*lease).is_none())
        });
        if lease_missing {
            return Err(ERR_LEASE_NOT_FOUND);
        }
        let fits = self.quota_allows(op);
        let r = self.store.txn(&txn.compares, &txn.success, &txn.failure);
        for (op, result) in branch.iter().zip(&r.results) {
            match (op, result) {
                (etcdlab_store::Op::Put { key, lease, .. }, _) => {
                    self.lessor
                        .attach(*lease, key)
                        .expect("lease checked above");
                }
                (_, etcdlab_store::OpResult::DeleteRange(d)) => {
                    for kv in &d.prev_kvs {
                        self.lessor.detach(&kv.key);
                    }
                }
                _ => {}
            }
        }
        let read = r.results.iter().find_map(|res| match res {
            etcdlab_store::OpResult::Range(rr) => Some(rr.kvs.first().map(crate::KvRead::of)),
            _ => None,
        });
        effects.txn = Some((r.succeeded, read.flatten()));
        if fits || !txn.puts() {
            return Ok(());
        }
        effects.raise_nospace = !self.has_alarm(AlarmKind::NoSpace);
        Err(ERR_NOSPACE)
    }

    /// `alarm disarm` deactivates every active alarm (etcdctl sends one DEACTIVATE per alarm).
    pub fn active_alarms(&self) -> Vec<(u64, AlarmKind)> {
        self.alarms.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, size: u32) -> Op {
        Op::Put {
            key: Rc::from(key.as_bytes()),
            value: Value::new(size, 1),
            lease: 0,
        }
    }

    #[test]
    fn a_put_over_quota_is_applied_then_reported_as_no_space() {
        let mut s = ServerState::new(Quota::new(30_000), 2);
        let mut fx = ApplyEffects::default();
        assert_eq!(s.apply(1, Some(&put("/a", 100)), 0, &mut fx), Ok(()));
        s.store.backend_mut().commit();
        // 24576-byte fresh backend + 256 + 2 + 8000 >= 30000: over quota.
        let before = s.store.current_rev();
        let r = s.apply(2, Some(&put("/b", 8000)), 0, &mut fx);
        assert_eq!(r, Err(ERR_NOSPACE));
        assert_eq!(s.store.current_rev(), before + 1, "applied anyway");
        assert!(fx.raise_nospace);
    }

    #[test]
    fn the_capped_applier_refuses_puts_but_not_deletes_or_compaction() {
        let mut s = ServerState::new(Quota::new(0), 2);
        let mut fx = ApplyEffects::default();
        s.apply(1, Some(&put("/a", 10)), 0, &mut fx).unwrap();
        let alarm = Op::Alarm {
            activate: true,
            member_id: 7,
            alarm: AlarmKind::NoSpace,
            for_rejected_put: false,
        };
        s.apply(2, Some(&alarm), 0, &mut fx).unwrap();
        assert_eq!(fx.alarms, vec![(7, AlarmKind::NoSpace, true)]);
        let rev = s.store.current_rev();
        assert_eq!(
            s.apply(3, Some(&put("/b", 10)), 0, &mut fx),
            Err(ERR_NOSPACE)
        );
        assert_eq!(s.store.current_rev(), rev, "refused: nothing written");
        let del = Op::DeleteRange {
            key: Rc::from(&b"/a"[..]),
            range_end: Rc::from(&b""[..]),
        };
        assert_eq!(s.apply(4, Some(&del), 0, &mut fx), Ok(()));
        assert_eq!(s.store.current_rev(), rev + 1);
        let compact = Op::Compact { rev: rev + 1 };
        assert_eq!(s.apply(5, Some(&compact), 0, &mut fx), Ok(()));
        assert!(fx.compaction.is_some());
        let again = Op::Compact { rev: rev + 1 };
        assert_eq!(s.apply(6, Some(&again), 0, &mut fx), Err(ERR_COMPACTED));
        let future = Op::Compact { rev: rev + 50 };
        assert_eq!(s.apply(7, Some(&future), 0, &mut fx), Err(ERR_FUTURE_REV));
    }

    fn cas(key: &str, mod_revision: i64, tag: u64) -> Op {
        use etcdlab_store::{Compare, CompareResult, CompareTarget, Op as StoreOp};
        let key = key.as_bytes().to_vec();
        Op::Txn(Rc::new(Txn {
            compares: vec![Compare {
                key: key.clone(),
                result: CompareResult::Equal,
                target: CompareTarget::ModRevision(mod_revision),
            }],
            success: vec![StoreOp::Put {
                key: key.clone(),
                value: Value::new(10, tag),
                lease: 0,
            }],
            failure: vec![StoreOp::Range {
                key,
                range_end: Vec::new(),
                opts: Default::default(),
            }],
        }))
    }

    #[test]
    fn a_txn_takes_its_success_branch_when_the_compare_holds_else_reads() {
        let mut s = ServerState::new(Quota::new(1 << 30), 2);
        let mut fx = ApplyEffects::default();
        s.apply(1, Some(&put("/a", 10)), 0, &mut fx).unwrap();
        let rev = s.store.current_rev();
        // The key's mod revision is `rev`: the put of tag 7 goes in at rev + 1.
        assert_eq!(s.apply(2, Some(&cas("/a", rev, 7)), 0, &mut fx), Ok(()));
        assert_eq!(fx.txn, Some((true, None)));
        assert_eq!(s.store.current_rev(), rev + 1);
        // The same compare now fails: nothing written, the key read back as it is.
        let mut fx = ApplyEffects::default();
        assert_eq!(s.apply(3, Some(&cas("/a", rev, 8)), 0, &mut fx), Ok(()));
        let (succeeded, kv) = fx.txn.expect("a txn");
        assert!(!succeeded);
        let kv = kv.expect("found");
        assert_eq!((kv.value_tag, kv.mod_revision, kv.version), (7, rev + 1, 2));
        assert_eq!(s.store.current_rev(), rev + 1);
    }

    #[test]
    fn under_nospace_a_txn_with_a_put_is_refused_and_one_without_goes_through() {
        let mut s = ServerState::new(Quota::new(1 << 30), 2);
        let mut fx = ApplyEffects::default();
        let alarm = Op::Alarm {
            activate: true,
            member_id: 1,
            alarm: AlarmKind::NoSpace,
            for_rejected_put: false,
        };
        s.apply(1, Some(&alarm), 0, &mut fx).unwrap();
        assert_eq!(
            s.apply(2, Some(&cas("/a", 0, 7)), 0, &mut fx),
            Err(ERR_NOSPACE)
        );
        assert_eq!(s.store.current_rev(), 1, "nothing written");
        // Without a put it costs nothing: a delete-only txn goes through.
        let delete_only = Op::Txn(Rc::new(Txn {
            compares: Vec::new(),
            success: vec![etcdlab_store::Op::DeleteRange {
                key: b"/a".to_vec(),
                range_end: Vec::new(),
            }],
            failure: Vec::new(),
        }));
        assert_eq!(s.apply(3, Some(&delete_only), 0, &mut fx), Ok(()));
    }

    #[test]
    fn a_txn_putting_with_a_missing_lease_is_refused() {
        let mut s = ServerState::new(Quota::new(1 << 30), 2);
        let mut fx = ApplyEffects::default();
        let with_lease = Op::Txn(Rc::new(Txn {
            compares: Vec::new(),
            success: vec![etcdlab_store::Op::Put {
                key: b"/a".to_vec(),
                value: Value::new(10, 1),
                lease: 42,
            }],
            failure: Vec::new(),
        }));
        let r = s.apply(1, Some(&with_lease), 0, &mut fx);
        assert_eq!(r, Err(ERR_LEASE_NOT_FOUND));
        assert_eq!(s.store.current_rev(), 1, "nothing written");
    }

    #[test]
    fn the_gate_reads_size_as_of_the_last_commit() {
        let mut s = ServerState::new(Quota::new(24_576 + 1_000), 2);
        let mut fx = ApplyEffects::default();
        // Not committed yet: Size() is still the fresh 24576 bytes, so 256+2+600 fits.
        assert!(s.quota_allows(&put("/a", 600)));
        for i in 1..=50 {
            s.apply(i, Some(&put("/a", 600)), 0, &mut fx).ok();
        }
        assert!(s.quota_allows(&put("/a", 600)), "no commit, no new size");
        s.store.backend_mut().commit();
        assert!(!s.quota_allows(&put("/a", 600)));
    }
}
