//! Kubernetes' control plane as etcd's client, an actor: kube-apiserver's writes for its
//! clients (the `etcdlab-kube` workload), the Events that wait for their lease's grant, and
//! kube-apiserver's compactor (a put of `compact_rev_key`, then a compaction to the revision of
//! the previous round). It acts only through `Requests`; its tests use a fake
//! (`kube_client_tests.rs`). The apiservers' watch caches are fed by their watches
//! (`world/watch.rs`), not by this actor.

use super::apiserver_meter::ApiMeter;
use super::client::Client;
use etcdlab_kube::{KubeAction, KubeOp, KubeWorkload};
use etcdlab_member::{Op, Request};
use etcdlab_scenario::KubeSpec;
use etcdlab_sim::rng::Rng;
use etcdlab_sim::Nanos;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The key kube-apiserver's compactor writes before each compaction (`compact_rev_key`).
const COMPACT_REV_KEY: &[u8] = b"compact_rev_key";

/// How a client actor reaches the cluster: requests out (their replies come back to the
/// actor's `on_reply`), what a client can know, and its own wake-ups.
pub(crate) trait Requests {
    fn now(&self) -> Nanos;
    /// A request id, unique in the run (every client draws from one sequence).
    fn request_id(&mut self) -> u64;
    /// A client request to the member the client's balancer picks, recorded as a client write.
    fn send_client(&mut self, req: Rc<Request>);
    /// A request of the cluster's own machinery, to the leader (else any running member); not
    /// a client write.
    fn send_internal(&mut self, req: Rc<Request>);
    /// The revision a client would see in a response header now (a running member's).
    fn current_revision(&self) -> Option<i64>;
    /// Hand `wake` back to the Kubernetes actor at `at_ns`.
    fn wake_kube(&mut self, at_ns: Nanos, wake: KubeWake);
}

/// Why the Kubernetes actor wakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KubeWake {
    /// The workload's next write is due.
    NextWrite,
    /// kube-apiserver's compactor runs (`--etcd-compaction-interval`).
    Compactor,
    /// A client's GET or LIST reaches kube-apiserver (`[kube] api_requests`).
    ApiRead,
}

/// What a request on behalf of Kubernetes was, when its reply matters.
#[derive(Debug)]
enum KubeRequest {
    /// The compactor's put of `compact_rev_key`, then its compaction; `seen_rev` is this
    /// round's revision, the next round's target if the put succeeds.
    CompactorPut { compact_to: i64, seen_rev: i64 },
    /// A lease grant; the Events waiting for it go out once it is answered.
    Grant { lease: i64 },
}

pub(crate) struct KubeControlPlane {
    pub(super) workload: KubeWorkload,
    /// Added to every op's time (`[kube] start`).
    pub(super) start_ns: Nanos,
    /// The workload's next write.
    pub(super) next: Option<KubeOp>,
    /// Grants in flight: kube-apiserver's lease manager waits for the grant before it sends
    /// the Events that use the lease.
    granting: BTreeMap<i64, Vec<Rc<Request>>>,
    requests: BTreeMap<u64, KubeRequest>,
    /// The revision the compactor saw at its previous round (compacted to next).
    pub(super) compactor_last_rev: i64,
    /// `--etcd-compaction-interval`; None: kube-apiserver does not compact.
    compaction_interval_ns: Option<Nanos>,
    /// kube-apiserver's request latency (`[kube] api_requests`; None: not measured).
    pub(super) api: Option<ApiMeter>,
}

impl KubeControlPlane {
    pub fn new(spec: &KubeSpec, rng: Rng) -> KubeControlPlane {
        let mut workload = KubeWorkload::new(spec.config.clone(), rng);
        let mut next = workload.next_op();
        next.at_ns += spec.start_ns;
        KubeControlPlane {
            workload,
            start_ns: spec.start_ns,
            next: Some(next),
            granting: BTreeMap::new(),
            requests: BTreeMap::new(),
            compactor_last_rev: 0,
            compaction_interval_ns: spec
                .apiserver_compaction
                .then_some(spec.apiserver_compaction_interval_ns),
            api: None,
        }
    }

    /// The workload's next op after the one just taken.
    pub(super) fn advance(&mut self) {
        let mut next = self.workload.next_op();
        next.at_ns += self.start_ns;
        self.next = Some(next);
    }

    /// The simulation proper starts at `start_ns` (after a fast-forward, if any).
    pub fn start(&mut self, port: &mut impl Requests, start_ns: Nanos) {
        if let Some(op) = &self.next {
            port.wake_kube(op.at_ns.max(start_ns), KubeWake::NextWrite);
        }
        if let Some(interval) = self.compaction_interval_ns {
            port.wake_kube(start_ns + interval, KubeWake::Compactor);
        }
        let reads_from = start_ns.max(self.start_ns);
        if let Some(at) = self.api.as_mut().and_then(|a| a.next_read_at(reads_from)) {
            port.wake_kube(at, KubeWake::ApiRead);
        }
    }

    pub fn on_wake(&mut self, port: &mut impl Requests, wake: KubeWake) {
        match wake {
            KubeWake::NextWrite => self.on_next_write(port),
            KubeWake::Compactor => self.on_compactor(port),
            KubeWake::ApiRead => {
                let api = self
                    .api
                    .as_mut()
                    .expect("reads are scheduled only when measured");
                api.on_read(port.now());
                if let Some(at) = api.next_read_at(port.now()) {
                    port.wake_kube(at, KubeWake::ApiRead);
                }
            }
        }
    }

    /// The next Kubernetes write goes to etcd as a client request.
    fn on_next_write(&mut self, port: &mut impl Requests) {
        let Some(op) = self.next.take() else { return };
        self.advance();
        let at = self.next.as_ref().expect("advanced").at_ns.max(port.now());
        port.wake_kube(at, KubeWake::NextWrite);
        let id = port.request_id();
        if let Some(api) = self.api.as_mut() {
            api.on_write(id, port.now());
        }
        // A plain write needs nothing on its reply: the watch caches learn of it by watching.
        let req = Rc::new(Request::from_client(
            id,
            Client::Kube.id(),
            kube_op(&op, id),
        ));
        match &req.op {
            Op::LeaseGrant { id: lease, .. } => {
                self.granting.insert(*lease, Vec::new());
                self.requests
                    .insert(id, KubeRequest::Grant { lease: *lease });
            }
            Op::Put { lease, .. } if *lease != 0 => {
                if let Some(waiting) = self.granting.get_mut(lease) {
                    waiting.push(req);
                    return;
                }
            }
            _ => {}
        }
        port.send_client(req);
    }

    /// A reply to one of its requests (`error`: what the client saw, if it failed).
    /// `arrived_at`: when the reply reached kube-apiserver, which answers its own client then
    /// (what it sends on reacts at `port.now()`, as before).
    pub fn on_reply(
        &mut self,
        port: &mut impl Requests,
        id: u64,
        error: Option<&'static str>,
        arrived_at: Nanos,
    ) {
        if let Some(api) = self.api.as_mut() {
            api.on_write_reply(id, arrived_at, error.is_some());
        }
        let Some(req) = self.requests.remove(&id) else {
            return;
        };
        match req {
            KubeRequest::Grant { lease } => {
                for req in self.granting.remove(&lease).unwrap_or_default() {
                    port.send_client(req);
                }
            }
            // A failed round keeps the old target (kube-apiserver retries it).
            KubeRequest::CompactorPut {
                compact_to,
                seen_rev,
            } if error.is_none() => {
                self.compactor_last_rev = seen_rev;
                if compact_to > 0 {
                    let id = port.request_id();
                    let op = Op::Compact { rev: compact_to };
                    let client = Client::KubeCompactor.id();
                    port.send_internal(Rc::new(Request::from_client(id, client, op)));
                }
            }
            KubeRequest::CompactorPut { .. } => {}
        }
    }

    /// kube-apiserver's compactor: write `compact_rev_key`, then (on success) compact to the
    /// revision of the previous round. Under NOSPACE the put fails and nothing is compacted.
    fn on_compactor(&mut self, port: &mut impl Requests) {
        let interval = self.compaction_interval_ns.expect("compaction on");
        port.wake_kube(port.now() + interval, KubeWake::Compactor);
        let seen_rev = port.current_revision().unwrap_or(0);
        let id = port.request_id();
        let compact_to = self.compactor_last_rev;
        self.requests.insert(
            id,
            KubeRequest::CompactorPut {
                compact_to,
                seen_rev,
            },
        );
        let op = Op::Put {
            key: Rc::from(COMPACT_REV_KEY),
            value: etcdlab_store::Value::new(8, id),
            lease: 0,
        };
        let client = Client::KubeCompactor.id();
        port.send_internal(Rc::new(Request::from_client(id, client, op)));
    }
}

/// The etcd request a Kubernetes write becomes (`tag` makes the synthetic value unique).
pub(super) fn kube_op(op: &KubeOp, tag: u64) -> Op {
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

#[cfg(test)]
#[path = "kube_client_tests.rs"]
mod tests;
