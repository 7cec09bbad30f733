//! Kubernetes as etcd's client: the workload's writes through raft, kube-apiserver's
//! 5-minute compaction, etcd's own auto-compaction and lessor loop, and the fast-forward that
//! applies months of history straight to the stores before the simulation proper begins.

use super::apiserver_meter::ApiMeter;
use super::kube_client::{kube_op, KubeControlPlane, KubeWake, Requests};
use super::*;
use etcdlab_kube::ApiServer;
use etcdlab_member::ServerState;
use etcdlab_scenario::AutoCompaction;

/// etcd's lessor loop runs every 500 ms.
pub(super) const LEASE_TICK_NS: Nanos = 500_000_000;
/// etcd's revision compactor checks every 5 minutes.
const REVISION_COMPACTOR_INTERVAL_NS: Nanos = 300 * NANOS_PER_S;

pub(crate) struct KubeState {
    /// The control plane's writes and compactor (an actor; None while it is handed an event).
    pub control_plane: Option<KubeControlPlane>,
    /// Replies that arrived while the control plane was handed an event (a request refused
    /// at once): delivered when it returns.
    deferred_replies: Vec<(u64, Option<&'static str>, Nanos)>,
    /// One kube-apiserver per control-plane member (stacked etcd), each with its watch cache
    /// filled by a list and a watch of `/registry/` on its own member.
    pub apis: Vec<ApiServer>,
    /// Writes applied by the fast-forward, and when it ended.
    pub fast_forward_writes: u64,
    pub fast_forward_end_ns: Option<Nanos>,
}

impl KubeState {
    pub fn new(sc: &Scenario) -> Option<KubeState> {
        let spec = sc.kube.as_ref()?;
        Some(KubeState {
            control_plane: Some({
                let mut plane = KubeControlPlane::new(spec, stream(sc.seed, "kube"));
                // Its own stream: turning the reads on shifts no other draw.
                plane.api = (spec.api.clone())
                    .map(|api| ApiMeter::new(api, stream(sc.seed, "kube-api-reads")));
                plane
            }),
            deferred_replies: Vec::new(),
            apis: vec![ApiServer::new(); sc.cluster.size],
            fast_forward_writes: 0,
            fast_forward_end_ns: None,
        })
    }
}

impl World<'_> {
    /// Apply the workload's history straight to one store until the fast-forward ends, then
    /// give every member a copy. Returns when the simulation proper starts.
    pub(super) fn fast_forward(&mut self) -> Nanos {
        let (Some(ff), Some(kube)) = (self.sc.fast_forward.clone(), self.kube.as_mut()) else {
            return 0;
        };
        let plane = kube.control_plane.as_mut().expect("not handed out");
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
        while let Some(op) = plane.next.take() {
            if op.at_ns >= ff.until_ns {
                plane.next = Some(op);
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
            plane.advance();
            let size_now = state.store.backend().size_bytes();
            if size_now.saturating_add(ff.stop_before_quota_bytes) >= quota {
                end = t + 1;
                break;
            }
        }
        state.store.backend_mut().commit();
        state.lessor.demote();
        plane.compactor_last_rev = compactor_last_rev;
        kube.fast_forward_end_ns = Some(end);
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
            self.nodes[m].up_since.get_or_insert(self.q.now());
            // Their raft logs start after index n, as a restored cluster's do.
            self.invariants.on_restore(m, n as u64, false);
        }
    }

    pub(super) fn schedule_kube(&mut self, start_ns: Nanos) {
        self.with_control_plane(|plane, w| plane.start(w, start_ns));
    }

    pub(super) fn schedule_auto_compaction(&mut self, start_ns: Nanos) {
        if let Some(ac) = self.sc.cluster.auto_compaction {
            self.q
                .schedule_at(start_ns + auto_compaction_check_ns(ac), Ev::AutoCompaction);
        }
    }

    /// Hand the Kubernetes control plane an event; it acts on the world through `Requests`.
    /// Replies that arrive meanwhile are handed to it afterwards, in order.
    fn with_control_plane(&mut self, f: impl FnOnce(&mut KubeControlPlane, &mut Self)) {
        let Some(mut plane) = self.kube.as_mut().and_then(|k| k.control_plane.take()) else {
            return;
        };
        f(&mut plane, self);
        loop {
            let kube = self.kube.as_mut().expect("kube");
            if kube.deferred_replies.is_empty() {
                kube.control_plane = Some(plane);
                return;
            }
            let (id, error, at) = kube.deferred_replies.remove(0);
            plane.on_reply(self, id, error, at);
        }
    }

    /// The end of the run for kube-apiserver's request meter.
    pub(super) fn finish_api_meter(&mut self, end_ns: Nanos) {
        let plane = self.kube.as_mut().and_then(|k| k.control_plane.as_mut());
        if let Some(api) = plane.and_then(|p| p.api.as_mut()) {
            api.finish(end_ns);
        }
    }

    pub(super) fn on_kube_wake(&mut self, wake: KubeWake) {
        self.with_control_plane(|plane, w| plane.on_wake(w, wake));
    }

    /// A reply to a Kubernetes request (its writes', its compactor's).
    /// `at`: when the reply reaches kube-apiserver (the network's way back included).
    pub(super) fn on_kube_reply(&mut self, id: u64, error: Option<&'static str>, at: Nanos) {
        let Some(kube) = self.kube.as_mut() else {
            return;
        };
        if kube.control_plane.is_none() {
            kube.deferred_replies.push((id, error, at));
            return;
        }
        self.with_control_plane(|plane, w| plane.on_reply(w, id, error, at));
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

impl Requests for World<'_> {
    fn now(&self) -> Nanos {
        self.q.now()
    }

    fn request_id(&mut self) -> u64 {
        let id = self.next_request_id;
        self.next_request_id += 1;
        id
    }

    fn send_client(&mut self, req: Rc<Request>) {
        self.send_client_request(req);
    }

    fn send_internal(&mut self, req: Rc<Request>) {
        self.send_internal_request(req);
    }

    fn current_revision(&self) -> Option<i64> {
        self.any_member_state().map(|s| s.store.current_rev())
    }

    fn wake_kube(&mut self, at_ns: Nanos, wake: KubeWake) {
        let ev = match wake {
            KubeWake::NextWrite => Ev::KubeNext,
            KubeWake::Compactor => Ev::ApiserverCompactor,
            KubeWake::ApiRead => Ev::ApiRead,
        };
        self.q.schedule_at(at_ns, ev);
    }
}
