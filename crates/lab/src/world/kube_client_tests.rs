//! The Kubernetes control plane against a fake cluster: each test hands it wake-ups and
//! replies, and reads the requests it sent and the wake-ups it asked for.

use super::*;
use etcdlab_kube::KubeWorkloadConfig;
use etcdlab_sim::rng::stream;

const S: Nanos = 1_000_000_000;

/// A cluster that records what the actor asks of it.
#[derive(Default)]
struct FakeCluster {
    now: Nanos,
    next_id: u64,
    revision: Option<i64>,
    /// (sent as a client request?, the request)
    sent: Vec<(bool, Rc<Request>)>,
    wakes: Vec<(Nanos, KubeWake)>,
}

impl Requests for FakeCluster {
    fn now(&self) -> Nanos {
        self.now
    }
    fn request_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    fn send_client(&mut self, req: Rc<Request>) {
        self.sent.push((true, req));
    }
    fn send_internal(&mut self, req: Rc<Request>) {
        self.sent.push((false, req));
    }
    fn current_revision(&self) -> Option<i64> {
        self.revision
    }
    fn wake_kube(&mut self, at_ns: Nanos, wake: KubeWake) {
        self.wakes.push((at_ns, wake));
    }
}

impl FakeCluster {
    /// Runs the actor's due wake-ups of `kind` until `until`, in time order.
    fn run_writes_until(&mut self, plane: &mut KubeControlPlane, until: Nanos) {
        loop {
            let due = self
                .wakes
                .iter()
                .position(|(at, w)| *w == KubeWake::NextWrite && *at <= until);
            let Some(i) = due else { return };
            let (at, wake) = self.wakes.remove(i);
            self.now = at;
            plane.on_wake(self, wake);
        }
    }
}

fn spec(start_ns: Nanos, compaction: bool) -> KubeSpec {
    KubeSpec {
        config: KubeWorkloadConfig::default(),
        apiserver_compaction: compaction,
        apiserver_compaction_interval_ns: 300 * S,
        start_ns,
        api: None,
    }
}

fn plane(start_ns: Nanos, compaction: bool) -> KubeControlPlane {
    KubeControlPlane::new(&spec(start_ns, compaction), stream(7, "kube"))
}

#[test]
fn writes_go_out_at_the_workloads_times_from_the_start() {
    let mut kube = plane(5 * S, false);
    let mut cluster = FakeCluster::default();
    kube.start(&mut cluster, 5 * S);
    let [(first_at, KubeWake::NextWrite)] = cluster.wakes[..] else {
        panic!(
            "one wake-up for the first write, no compactor: {:?}",
            cluster.wakes
        );
    };
    assert!(first_at >= 5 * S, "nothing before [kube] start");
    cluster.run_writes_until(&mut kube, 60 * S);
    assert!(cluster.sent.len() > 50, "a minute of control-plane writes");
    assert!(cluster.sent.iter().all(|(client, _)| *client));
    let ids: Vec<u64> = cluster.sent.iter().map(|(_, r)| r.id).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a fresh id each");
    assert_eq!(
        cluster.wakes.len(),
        1,
        "always exactly the next write pending"
    );
}

#[test]
fn an_event_with_a_lease_waits_for_its_grant() {
    let mut kube = plane(0, false);
    let mut cluster = FakeCluster::default();
    kube.start(&mut cluster, 0);
    // Run until the first grant has been sent and some Event waits for it.
    let mut grant = None;
    for minute in 1..=120 {
        cluster.run_writes_until(&mut kube, minute * 60 * S);
        grant = cluster.sent.iter().find_map(|(_, r)| match r.op {
            Op::LeaseGrant { id: lease, .. } => Some((r.id, lease)),
            _ => None,
        });
        if grant.is_some() && !kube.granting.values().all(Vec::is_empty) {
            break;
        }
    }
    let (grant_id, lease) = grant.expect("Events need a lease within two hours");
    let waiting = kube.granting[&lease].len();
    assert!(waiting > 0, "Events wait for the grant");
    let uses_lease = |r: &Request| matches!(r.op, Op::Put { lease: l, .. } if l == lease);
    assert!(!cluster.sent.iter().any(|(_, r)| uses_lease(r)));
    // The grant's reply releases them, in order, as client writes.
    kube.on_reply(&mut cluster, grant_id, None, 0);
    let released: Vec<&Rc<Request>> = cluster
        .sent
        .iter()
        .filter(|(_, r)| uses_lease(r))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(released.len(), waiting);
    assert!(released.windows(2).all(|p| p[0].id < p[1].id));
    assert!(!kube.granting.contains_key(&lease));
}

#[test]
fn the_compactor_compacts_to_the_previous_rounds_revision_after_its_put() {
    let mut kube = plane(0, true);
    let mut cluster = FakeCluster {
        revision: Some(100),
        ..FakeCluster::default()
    };
    kube.start(&mut cluster, 0);
    assert!(cluster.wakes.contains(&(300 * S, KubeWake::Compactor)));
    cluster.wakes.clear();

    // Round 1: the put of compact_rev_key, no compaction yet (no previous round).
    cluster.now = 300 * S;
    kube.on_wake(&mut cluster, KubeWake::Compactor);
    assert_eq!(cluster.wakes, vec![(600 * S, KubeWake::Compactor)]);
    let (client, put) = cluster.sent.pop().expect("the put");
    assert!(!client, "the compactor's requests are not client writes");
    assert!(matches!(&put.op, Op::Put { key, .. } if &key[..] == COMPACT_REV_KEY));
    kube.on_reply(&mut cluster, put.id, None, 0);
    assert!(cluster.sent.is_empty(), "nothing to compact to yet");

    // Round 2 fails (NOSPACE): the target stays 100, nothing is compacted.
    cluster.revision = Some(250);
    kube.on_wake(&mut cluster, KubeWake::Compactor);
    let (_, put) = cluster.sent.pop().unwrap();
    kube.on_reply(
        &mut cluster,
        put.id,
        Some("etcdserver: mvcc: database space exceeded"),
        0,
    );
    assert!(cluster.sent.is_empty());

    // Round 3 succeeds: compact to round 1's revision.
    cluster.revision = Some(400);
    kube.on_wake(&mut cluster, KubeWake::Compactor);
    let (_, put) = cluster.sent.pop().unwrap();
    kube.on_reply(&mut cluster, put.id, None, 0);
    let (client, compact) = cluster.sent.pop().expect("the compaction");
    assert!(!client);
    assert_eq!(compact.op, Op::Compact { rev: 100 });
    // The next round compacts to round 3's revision.
    assert_eq!(kube.compactor_last_rev, 400);
}
