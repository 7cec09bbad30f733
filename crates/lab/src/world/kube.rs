//! Kubernetes as etcd's client: the workload's writes through raft, kube-apiserver's
//! 5-minute compaction, etcd's own auto-compaction and lessor loop, and the fast-forward that
//! applies months of history straight to the stores before the simulation proper begins.

use super::*;
use etcdlab_kube::{ApiServer, KubeAction, KubeOp, KubeWorkload};
use etcdlab_member::ServerState;
use etcdlab_scenario::AutoCompaction;

/// etcd's lessor loop runs every 500 ms.
pub(super) const LEASE_TICK_NS: Nanos = 500_000_000;
/// The key kube-apiserver's compactor writes before each compaction (`compact_rev_key`).
const COMPACT_REV_KEY: &[u8] = b"compact_rev_key";
/// etcd's revision compactor checks every 5 minutes.
const REVISION_COMPACTOR_INTERVAL_NS: Nanos = 300 * NANOS_PER_S;

/// What a request on behalf of Kubernetes was.
#[derive(Debug)]
enum KubeRequest {
    /// The apiserver compactor's put of `compact_rev_key`, then its compaction; `seen_rev` is
    /// this round's revision, the next round's target if the put succeeds.
    CompactorPut { compact_to: i64, seen_rev: i64 },
    /// A lease grant; the Events waiting for it go out once it is answered.
    Grant { lease: i64 },
}

pub(crate) struct KubeState {
    workload: KubeWorkload,
    /// Added to every op's time (`[kube] start`).
    start_ns: Nanos,
    /// Grants in flight: kube-apiserver's lease manager waits for the grant before it sends
    /// the Events that use the lease.
    granting: BTreeMap<i64, Vec<Rc<Request>>>,
    next: Option<KubeOp>,
    /// One kube-apiserver per control-plane member (stacked etcd), each with its watch cache
    /// filled by a list and a watch of `/registry/` on its own member.
    pub apis: Vec<ApiServer>,
    requests: BTreeMap<u64, KubeRequest>,
    /// The revision the apiserver compactor saw at its previous round (compacted to next).
    compactor_last_rev: i64,
    /// Writes applied by the fast-forward, and when it ended.
    pub fast_forward_writes: u64,
    pub fast_forward_end_ns: Option<Nanos>,
}

impl KubeState {
    pub fn new(sc: &Scenario) -> Option<KubeState> {
        let spec = sc.kube.as_ref()?;
        let mut workload = KubeWorkload::new(spec.config.clone(), stream(sc.seed, "kube"));
        let mut next = workload.next_op();
        next.at_ns += spec.start_ns;
        let next = Some(next);
        Some(KubeState {
            workload,
            start_ns: spec.start_ns,
            granting: BTreeMap::new(),
            next,
            apis: vec![ApiServer::new(); sc.cluster.size],
            requests: BTreeMap::new(),
            compactor_last_rev: 0,
            fast_forward_writes: 0,
            fast_forward_end_ns: None,
        })
    }
}

/// The etcd request a Kubernetes write becomes (`tag` makes the synthetic value unique).
fn kube_op(op: &KubeOp, tag: u64) -> Op {
    match &op.action {
        KubeAction::Put {
            key,
            value_size_bytes,
            lease_id,
        } => Op::Put {
            key: Rc::from(key.as_bytes()),
            value: etcdlab_store::Value::new(*value_size_bytes, tag),
            lease: lease_id.unwrap_or(0),
        },
        KubeAction::Delete { key } => Op::DeleteRange {
            key: Rc::from(key.as_bytes()),
            range_end: Rc::from(&b""[..]),
        },
        KubeAction::LeaseGrant { lease_id, ttl_s } => Op::LeaseGrant {
            id: *lease_id,
            ttl_s: *ttl_s,
        },
    }
}

impl World<'_> {
    /// Apply the workload's history straight to one store until the fast-forward ends, then
    /// give every member a copy. Returns when the simulation proper starts.
    pub(super) fn fast_forward(&mut self) -> Nanos {
        let (Some(ff), Some(kube)) = (self.sc.fast_forward.clone(), self.kube.as_mut()) else {
            return 0;
        };
        let mut state = self.nodes[0].cfg.empty_state();
        state.lessor.promote(0, 0);
        let quota = self.sc.cluster.quota_backend_bytes;
        let spec = self.sc.kube.as_ref().expect("kube");
        let mut next_scrape = ff.scrape_interval_ns;
        let mut next_compactor = spec.apiserver_compaction_interval_ns;
        let mut last_batch = u64::MAX;
        let mut end = ff.until_ns;
        let mut tag = 0u64;
        let mut samples = Vec::new();
        let mut compactor_last_rev = 0;
        let auto = self.sc.cluster.auto_compaction;
        let mut next_auto = auto.map_or(u64::MAX, auto_compaction_check_ns);
        while let Some(op) = kube.next.take() {
            if op.at_ns >= ff.until_ns {
                kube.next = Some(op);
                break;
            }
            let t = op.at_ns;
            // The backend commits every 100 ms when something is pending.
            let batch = t / BACKEND_BATCH_INTERVAL_NS;
            if batch != last_batch && state.store.backend().pending_ops() > 0 {
                state.store.backend_mut().commit();
            }
            last_batch = batch;
            while next_scrape <= t {
                let b = state.store.backend();
                samples.push((
                    next_scrape,
                    b.size_bytes(),
                    b.size_in_use_bytes(),
                    state.store.current_rev(),
                ));
                next_scrape += ff.scrape_interval_ns;
            }
            if spec.apiserver_compaction {
                while next_compactor <= t {
                    let rev = state.store.current_rev();
                    if compactor_last_rev > 0 {
                        compact_directly(&mut state, compactor_last_rev, t);
                    }
                    compactor_last_rev = rev;
                    next_compactor += spec.apiserver_compaction_interval_ns;
                }
            }
            while next_auto <= t {
                let ac = auto.expect("auto-compaction");
                let rev = state.store.current_rev();
                if let Some(target) = self.auto_compactor.check(ac, next_auto, rev) {
                    compact_directly(&mut state, target, t);
                }
                next_auto += auto_compaction_check_ns(ac);
            }
            for id in state.lessor.expired(t, usize::MAX) {
                state.apply_direct(&Op::LeaseRevoke { id }, t).ok();
            }
            tag += 1;
            // The apiservers' caches are filled by their list + watch once the simulation runs.
            state.apply_direct(&kube_op(&op, tag), t).ok();
            kube.fast_forward_writes += 1;
            let mut next = kube.workload.next_op();
            next.at_ns += kube.start_ns;
            kube.next = Some(next);
            let size_now = state.store.backend().size_bytes();
            if size_now.saturating_add(ff.stop_before_quota_bytes) >= quota {
                end = t + 1;
                break;
            }
        }
        state.store.backend_mut().commit();
        state.lessor.demote();
        kube.fast_forward_end_ns = Some(end);
        kube.compactor_last_rev = compactor_last_rev;
        self.record_fast_forward_samples(samples);
        self.start_members_from(state);
        end
    }

    /// The storage gauges sampled while fast-forwarding, as every member would have
    /// reported them: (time, size, in use, revision).
    fn record_fast_forward_samples(&mut self, samples: Vec<(Nanos, u64, u64, i64)>) {
        let quota = self.sc.cluster.quota_backend_bytes;
        for (t, size, in_use, rev) in samples {
            for m in 0..self.nodes.len() {
                let name = format!("m{}", m + 1);
                self.rec.storage.db_size.push((t, m, size, in_use));
                self.series
                    .push(metrics::DB_SIZE, "", &name, t, size as f64);
                self.series
                    .push(metrics::DB_SIZE_IN_USE, "", &name, t, in_use as f64);
                self.series.push(metrics::QUOTA, "", &name, t, quota as f64);
                self.series
                    .push(metrics::CURRENT_REVISION, "", &name, t, rev as f64);
            }
        }
    }

    /// The fast-forwarded state becomes every initial member's data.
    fn start_members_from(&mut self, state: ServerState) {
        // Every member gets a copy; the last takes the original (one copy less in memory).
        let n = self.sc.cluster.size;
        let mut state = Some(state);
        for m in 0..n {
            let st = if m + 1 == n {
                state.take().expect("state")
            } else {
                state.as_ref().expect("state").clone()
            };
            let member =
                Member::with_state(self.nodes[m].cfg.clone(), st, raft_rng(self.sc.seed, m, 0));
            self.nodes[m].slot = Slot::Running(Box::new(member));
            // Their raft logs start after index n, as a restored cluster's do.
            self.invariants.on_restore(m, n as u64, false);
        }
    }

    pub(super) fn schedule_kube(&mut self, start_ns: Nanos) {
        let Some(kube) = &self.kube else { return };
        if let Some(op) = &kube.next {
            self.q.schedule_at(op.at_ns.max(start_ns), Ev::KubeNext);
        }
        let spec = self.sc.kube.as_ref().expect("kube");
        if spec.apiserver_compaction {
            let at = start_ns + spec.apiserver_compaction_interval_ns;
            self.q.schedule_at(at, Ev::ApiserverCompactor);
        }
    }

    pub(super) fn schedule_auto_compaction(&mut self, start_ns: Nanos) {
        if let Some(ac) = self.sc.cluster.auto_compaction {
            self.q
                .schedule_at(start_ns + auto_compaction_check_ns(ac), Ev::AutoCompaction);
        }
    }

    /// The next Kubernetes write goes to etcd as a client request.
    pub(super) fn on_kube_next(&mut self) {
        let now = self.q.now();
        let Some(kube) = self.kube.as_mut() else {
            return;
        };
        let Some(op) = kube.next.take() else { return };
        let mut next = kube.workload.next_op();
        next.at_ns += kube.start_ns;
        let at = next.at_ns.max(now);
        kube.next = Some(next);
        self.q.schedule_at(at, Ev::KubeNext);
        let id = self.next_request_id;
        self.next_request_id += 1;
        // A plain write needs nothing on its reply: the watch caches learn of it by watching.
        let req = Rc::new(Request::from_client(
            id,
            Client::Kube.id(),
            kube_op(&op, id),
        ));
        let kube = self.kube.as_mut().expect("kube");
        match &req.op {
            Op::LeaseGrant { id: lease, .. } => {
                kube.granting.insert(*lease, Vec::new());
                kube.requests
                    .insert(id, KubeRequest::Grant { lease: *lease });
            }
            Op::Put { lease, .. } if *lease != 0 => {
                if let Some(waiting) = kube.granting.get_mut(lease) {
                    waiting.push(req);
                    return;
                }
            }
            _ => {}
        }
        self.send_client_request(req);
    }

    /// A reply to a Kubernetes request; true if it was one.
    pub(super) fn on_kube_reply(&mut self, id: u64, error: Option<&'static str>) -> bool {
        let Some(kube) = self.kube.as_mut() else {
            return false;
        };
        let Some(req) = kube.requests.remove(&id) else {
            return false;
        };
        match req {
            // The watch caches learn of writes through their watches (world/watch.rs).
            KubeRequest::Grant { lease } => {
                let waiting = kube.granting.remove(&lease).unwrap_or_default();
                for req in waiting {
                    self.send_client_request(req);
                }
            }
            KubeRequest::CompactorPut {
                compact_to,
                seen_rev,
            } => {
                if error.is_none() {
                    // A failed round keeps the old target (kube-apiserver retries it).
                    kube.compactor_last_rev = seen_rev;
                    if compact_to > 0 {
                        let id = self.next_request_id;
                        self.next_request_id += 1;
                        let op = Op::Compact { rev: compact_to };
                        let client = Client::KubeCompactor.id();
                        self.send_internal_request(Rc::new(Request::from_client(id, client, op)));
                    }
                }
            }
        }
        true
    }

    /// kube-apiserver's compactor: write `compact_rev_key`, then compact to the revision of the
    /// previous round. Under NOSPACE the put fails and nothing is compacted.
    pub(super) fn on_apiserver_compactor(&mut self) {
        let interval = self
            .sc
            .kube
            .as_ref()
            .map_or(0, |k| k.apiserver_compaction_interval_ns);
        self.q.schedule_in(interval, Ev::ApiserverCompactor);
        let rev = self.any_member_state().map_or(0, |s| s.store.current_rev());
        let Some(kube) = self.kube.as_mut() else {
            return;
        };
        let compact_to = kube.compactor_last_rev;
        let id = self.next_request_id;
        self.next_request_id += 1;
        kube.requests.insert(
            id,
            KubeRequest::CompactorPut {
                compact_to,
                seen_rev: rev,
            },
        );
        let op = Op::Put {
            key: Rc::from(COMPACT_REV_KEY),
            value: etcdlab_store::Value::new(8, id),
            lease: 0,
        };
        let client = Client::KubeCompactor.id();
        self.send_internal_request(Rc::new(Request::from_client(id, client, op)));
    }

    /// etcd's auto-compactor (run by the leader): periodic keeps `retention` of history,
    /// revision keeps `retention` revisions.
    pub(super) fn on_auto_compaction(&mut self) {
        let Some(ac) = self.sc.cluster.auto_compaction else {
            return;
        };
        let now = self.q.now();
        self.q
            .schedule_in(auto_compaction_check_ns(ac), Ev::AutoCompaction);
        let Some(state) = self.leader_state() else {
            return;
        };
        let (rev, compacted) = (state.store.current_rev(), state.store.compact_rev());
        let target = self.auto_compactor.check(ac, now, rev);
        if let Some(target) = target.filter(|t| *t > compacted && *t > 0) {
            let id = self.next_request_id;
            self.next_request_id += 1;
            let op = Op::Compact { rev: target };
            let client = Client::AutoCompactor.id();
            self.send_internal_request(Rc::new(Request::from_client(id, client, op)));
        }
    }

    fn leader_state(&self) -> Option<&ServerState> {
        let m = self.rec.cluster_leader()?;
        match &self.nodes[m].slot {
            Slot::Running(member) => Some(member.state()),
            _ => None,
        }
    }

    pub(super) fn on_lease_tick(&mut self, m: usize, epoch: u64) {
        self.q
            .schedule_in(LEASE_TICK_NS, Ev::node(m, epoch, NodeEv::LeaseTick));
        let now = self.q.now();
        self.on_running(m, |member, out| member.revoke_expired_leases(now, out));
    }
}

/// etcd's auto-compactor (`v3compactor`). Periodic: samples the revision every
/// min(retention, 1h)/10 and, once per min(retention, 1h), compacts to the newest sample at
/// least one retention old. Revision: every 5 minutes, compacts to current - retention.
#[derive(Debug, Default)]
pub(super) struct AutoCompactor {
    samples: VecDeque<(Nanos, i64)>,
    last_compaction_ns: Option<Nanos>,
}

impl AutoCompactor {
    /// Called at every check: the revision to compact to now, if any.
    pub(super) fn check(&mut self, ac: AutoCompaction, now: Nanos, rev: i64) -> Option<i64> {
        match ac {
            AutoCompaction::Periodic { retention_ns } => {
                self.samples.push_back((now, rev));
                let period = retention_ns.min(3600 * NANOS_PER_S);
                let started = *self.last_compaction_ns.get_or_insert(now);
                if now.saturating_sub(started) < period {
                    return None;
                }
                let cutoff = now.saturating_sub(retention_ns);
                let mut target = None;
                while let Some(&(t, r)) = self.samples.front() {
                    if t > cutoff {
                        break;
                    }
                    target = Some(r);
                    self.samples.pop_front();
                }
                if target.is_some() {
                    self.last_compaction_ns = Some(now);
                }
                target
            }
            AutoCompaction::Revision { retention } => Some(rev - retention),
        }
    }
}

/// Compaction outside raft (fast-forward): schedule it and run its batches as a member does
/// (a forced commit after every batch but the last, which the next batch interval commits).
fn compact_directly(state: &mut ServerState, rev: i64, now: Nanos) {
    if rev <= state.store.compact_rev() || state.apply_direct(&Op::Compact { rev }, now).is_err() {
        return;
    }
    while state.store.compaction_pending() > 0 {
        state
            .store
            .compaction_step(etcdlab_store::mvcc::COMPACTION_BATCH_LIMIT);
        if state.store.compaction_pending() > 0 {
            state.store.backend_mut().commit();
        }
    }
}

/// How often the auto-compactor checks: periodic every min(retention, 1h)/10; revision every
/// 5 minutes.
fn auto_compaction_check_ns(ac: AutoCompaction) -> Nanos {
    match ac {
        AutoCompaction::Periodic { retention_ns } => {
            (retention_ns.min(3600 * NANOS_PER_S) / 10).max(NANOS_PER_S)
        }
        AutoCompaction::Revision { .. } => REVISION_COMPACTOR_INTERVAL_NS,
    }
}
