//! The workload generator: determinism, order, rates, the Event lease window, and the
//! analytic write volume against what it generates.

use std::collections::BTreeMap;

use etcdlab_kube::{KubeAction, KubeOp, KubeWorkload, KubeWorkloadConfig, Resource};
use etcdlab_sim::rng::stream;
use etcdlab_sim::NANOS_PER_S;

const DAY_NS: u64 = 86_400 * NANOS_PER_S;

fn ops_until(cfg: &KubeWorkloadConfig, seed: u64, end_ns: u64) -> (Vec<KubeOp>, u64) {
    let mut w = KubeWorkload::new(cfg.clone(), stream(seed, "kube"));
    let start = w.steady_state_start_ns();
    let mut out = Vec::new();
    loop {
        let op = w.next_op();
        if op.at_ns >= end_ns {
            return (out, start);
        }
        out.push(op);
    }
}

fn key_of(op: &KubeOp) -> Option<&str> {
    match &op.action {
        KubeAction::Put { key, .. } | KubeAction::Delete { key } => Some(key),
        KubeAction::LeaseGrant { .. } => None,
    }
}

#[test]
fn same_seed_same_ops_other_seed_other_ops() {
    let cfg = KubeWorkloadConfig::default();
    let (a, _) = ops_until(&cfg, 7, 3_600 * NANOS_PER_S);
    let (b, _) = ops_until(&cfg, 7, 3_600 * NANOS_PER_S);
    let (c, _) = ops_until(&cfg, 8, 3_600 * NANOS_PER_S);
    assert!(a.len() > 5_000, "{}", a.len());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn ops_come_in_time_order_and_deletes_follow_their_puts() {
    let (ops, _) = ops_until(&KubeWorkloadConfig::default(), 1, 6 * 3_600 * NANOS_PER_S);
    assert!(ops.windows(2).all(|w| w[0].at_ns <= w[1].at_ns));
    // Every deleted key was written before and is not written after its delete.
    let mut live: BTreeMap<&str, bool> = BTreeMap::new();
    let mut deletes = 0;
    for op in &ops {
        match &op.action {
            KubeAction::Put { key, .. } => {
                live.insert(key, true);
            }
            KubeAction::Delete { key } => {
                assert_eq!(live.get(key.as_str()), Some(&true), "delete of {key}");
                live.insert(key, false);
                deletes += 1;
            }
            KubeAction::LeaseGrant { .. } => {}
        }
    }
    assert!(deletes > 300, "{deletes}");
    for op in &ops {
        let key = key_of(op).unwrap_or("");
        assert!(
            key.is_empty() || Resource::of_key(key) == Some(op.resource),
            "{op:?}"
        );
    }
}

#[test]
fn initial_objects_are_created_at_the_start() {
    let cfg = KubeWorkloadConfig::default();
    let mut w = KubeWorkload::new(cfg.clone(), stream(3, "kube"));
    let start = w.steady_state_start_ns();
    let mut counts: BTreeMap<Resource, u32> = BTreeMap::new();
    loop {
        let op = w.next_op();
        if op.at_ns >= start {
            break;
        }
        assert!(matches!(op.action, KubeAction::Put { lease_id: None, .. }));
        *counts.entry(op.resource).or_default() += 1;
    }
    assert_eq!(counts[&Resource::Namespaces], 4 + cfg.app_namespaces);
    assert_eq!(counts[&Resource::Nodes], cfg.nodes);
    assert_eq!(counts[&Resource::Pods], cfg.total_pods());
    assert_eq!(counts[&Resource::Deployments], cfg.deployments());
    assert_eq!(counts[&Resource::ConfigMaps], cfg.configmaps);
    assert_eq!(counts[&Resource::Secrets], cfg.secrets);
    // node Leases + 2 leader-election Leases + 1 apiserver identity Lease
    assert_eq!(counts[&Resource::Leases], cfg.nodes + 3);
    assert!(start < 2 * NANOS_PER_S, "{start}");
}

fn within(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance * expected,
        "{what}: {actual} vs expected {expected} (tolerance {tolerance})"
    );
}

#[test]
fn rates_over_a_day_match_the_configuration() {
    let cfg = KubeWorkloadConfig::default();
    let (ops, start) = ops_until(&cfg, 11, DAY_NS);
    let hours = (DAY_NS - start) as f64 / 3_600e9;
    let steady = ops.iter().filter(|o| o.at_ns >= start);
    let mut puts: BTreeMap<&str, f64> = BTreeMap::new();
    let mut pod_deletes = 0.0;
    for op in steady {
        match &op.action {
            KubeAction::Put { key, .. } => {
                let kind = if key.starts_with("/registry/leases/kube-node-lease/") {
                    "node-lease"
                } else if key.starts_with("/registry/leases/") {
                    "control-plane-lease"
                } else {
                    op.resource.as_str()
                };
                *puts.entry(kind).or_default() += 1.0;
            }
            KubeAction::Delete { .. } if op.resource == Resource::Pods => pod_deletes += 1.0,
            _ => {}
        }
    }
    let nodes = f64::from(cfg.nodes);
    within(
        puts["node-lease"],
        nodes * 3_600.0 / (10.0 * 1.02) * hours,
        0.01,
        "node lease renewals",
    );
    within(puts["nodes"], nodes * 12.0 * hours, 0.01, "node status");
    // 2 leader leases every 2 s, 1 identity lease every 10 s
    within(
        puts["control-plane-lease"],
        (2.0 * 1_800.0 + 360.0) * hours,
        0.01,
        "control-plane leases",
    );
    within(puts["events"], cfg.events_per_hour * hours, 0.04, "events");
    within(
        puts["configmaps"],
        cfg.configmap_updates_per_hour * hours,
        0.25,
        "configmaps",
    );
    within(
        puts["secrets"],
        cfg.secret_updates_per_hour * hours,
        0.35,
        "secrets",
    );
    // One delete per replaced pod: churn plus the pods of each rollout.
    let replacements_per_hour = cfg.pod_churn_per_hour
        + cfg.deployment_updates_per_hour * f64::from(cfg.replicas_per_deployment);
    within(
        pod_deletes,
        replacements_per_hour * hours,
        0.08,
        "pod replacements",
    );
    within(
        puts["pods"],
        replacements_per_hour * hours * 5.0,
        0.08,
        "pod writes (terminating, create, 3 status)",
    );
}

#[test]
fn rates_scale_with_the_configuration() {
    let cfg = KubeWorkloadConfig {
        nodes: 3,
        node_lease_renew_interval_s: 20.0,
        node_lease_jitter_fraction: 0.0,
        events_per_hour: 3_000.0,
        pod_churn_per_hour: 0.0,
        deployment_updates_per_hour: 0.0,
        ..KubeWorkloadConfig::default()
    };
    let (ops, start) = ops_until(&cfg, 5, 6 * 3_600 * NANOS_PER_S);
    let hours = (6 * 3_600 * NANOS_PER_S - start) as f64 / 3_600e9;
    let node_leases = ops
        .iter()
        .filter(|o| o.at_ns >= start)
        .filter(|o| key_of(o).is_some_and(|k| k.contains("/kube-node-lease/")))
        .count() as f64;
    within(
        node_leases,
        3.0 * 180.0 * hours,
        0.01,
        "node leases at 20 s",
    );
    let pod_writes = ops
        .iter()
        .filter(|o| o.at_ns >= start && o.resource == Resource::Pods)
        .count();
    assert_eq!(pod_writes, 0, "no churn configured");
    let events = ops
        .iter()
        .filter(|o| o.at_ns >= start && matches!(o.action, KubeAction::Put { .. }))
        .filter(|o| o.resource == Resource::Events)
        .count() as f64;
    within(events, 3_000.0 * hours, 0.03, "events");
}

#[test]
fn events_share_a_lease_for_60_seconds_then_get_a_new_one() {
    let cfg = KubeWorkloadConfig::default();
    let (ops, _) = ops_until(&cfg, 2, 6 * 3_600 * NANOS_PER_S);
    let mut grants: BTreeMap<i64, u64> = BTreeMap::new();
    let mut last_grant: Option<(i64, u64)> = None;
    let mut events = 0;
    for op in &ops {
        match &op.action {
            KubeAction::LeaseGrant { lease_id, ttl_s } => {
                assert_eq!(*ttl_s, 3_660, "event TTL 1 h + 60 s reuse");
                if let Some((_, at)) = last_grant {
                    assert!(
                        op.at_ns - at >= 60 * NANOS_PER_S,
                        "grant within the reuse window"
                    );
                }
                assert!(
                    grants.insert(*lease_id, op.at_ns).is_none(),
                    "lease id reused"
                );
                last_grant = Some((*lease_id, op.at_ns));
            }
            KubeAction::Put { lease_id, .. } => {
                assert_eq!(
                    lease_id.is_some(),
                    op.resource == Resource::Events,
                    "{op:?}"
                );
                if let Some(id) = lease_id {
                    events += 1;
                    // The newest lease, granted less than 60 s before.
                    let (newest, granted_at) = last_grant.expect("grant before first event");
                    assert_eq!(*id, newest);
                    assert!(op.at_ns - granted_at < 60 * NANOS_PER_S);
                }
            }
            KubeAction::Delete { .. } => {}
        }
    }
    // 600 events/h, one every 6 s on average: a grant every ~66 s.
    let per_hour = grants.len() as f64 / 6.0;
    assert!(
        (45.0..=60.0).contains(&per_hour),
        "{per_hour} grants per hour"
    );
    assert!(events > 3_000, "{events}");
}

#[test]
fn lease_reuse_is_capped_at_five_percent_of_the_ttl() {
    let cfg = KubeWorkloadConfig {
        event_ttl_s: 600,
        ..KubeWorkloadConfig::default()
    };
    assert_eq!(cfg.event_lease_reuse_s(), 30);
    assert_eq!(cfg.event_lease_grant_ttl_s(), 630);
    let cfg = KubeWorkloadConfig {
        lease_reuse_duration_s: 10,
        ..KubeWorkloadConfig::default()
    };
    assert_eq!(cfg.event_lease_grant_ttl_s(), 3_610);
}

fn put_bytes_per_s(cfg: &KubeWorkloadConfig, seed: u64, end_ns: u64) -> f64 {
    let (ops, start) = ops_until(cfg, seed, end_ns);
    let bytes: u64 = ops
        .iter()
        .filter(|o| o.at_ns >= start)
        .map(|o| match &o.action {
            KubeAction::Put {
                key,
                value_size_bytes,
                ..
            } => key.len() as u64 + u64::from(*value_size_bytes),
            _ => 0,
        })
        .sum();
    bytes as f64 / ((end_ns - start) as f64 / 1e9)
}

#[test]
fn mean_put_bytes_per_s_matches_the_generated_bytes() {
    let cfg = KubeWorkloadConfig::default();
    let expected = cfg.mean_put_bytes_per_s();
    assert!((1_500.0..4_000.0).contains(&expected), "{expected}");
    for seed in [1, 2] {
        within(
            put_bytes_per_s(&cfg, seed, DAY_NS),
            expected,
            0.03,
            "default cluster",
        );
    }
    // A cluster dominated by other sources: events and pod churn.
    let busy = KubeWorkloadConfig {
        nodes: 4,
        pods_per_node: 50,
        pod_churn_per_hour: 600.0,
        events_per_hour: 6_000.0,
        configmap_updates_per_hour: 120.0,
        deployment_updates_per_hour: 6.0,
        ..KubeWorkloadConfig::default()
    };
    within(
        put_bytes_per_s(&busy, 3, DAY_NS / 2),
        busy.mean_put_bytes_per_s(),
        0.03,
        "busy cluster",
    );
}

#[test]
fn invalid_configurations_are_rejected() {
    let bad = KubeWorkloadConfig {
        node_lease_renew_interval_s: 0.0,
        ..KubeWorkloadConfig::default()
    };
    assert!(bad
        .validate()
        .unwrap_err()
        .contains("node_lease_renew_interval_s"));
    let bad = KubeWorkloadConfig {
        configmaps: 0,
        ..KubeWorkloadConfig::default()
    };
    assert!(bad.validate().unwrap_err().contains("configmaps"));
    assert!(KubeWorkloadConfig::default().validate().is_ok());
}
