//! Snapshots, restore, membership and corruption checks: the `[cluster]` keys, the operator
//! commands (`etcdctl snapshot|member|endpoint hashkv`, `etcd start|stop`, `rm -rf`, `cp`), the
//! timeline actions `corrupt_backend` and `wal_tail_lost`, member slots and the new metrics.

use etcdlab_scenario::*;

const FILE: &str = "scenarios/x.toml";
const S: Nanos = 1_000_000_000;

/// Parses `src` expecting an error at `line` on `field` whose text contains `text`.
#[track_caller]
fn assert_error(src: &str, line: usize, field: &str, text: &str) -> ScenarioError {
    let e = parse_str(src, FILE, &[]).expect_err("should fail");
    let shown = e.to_string();
    let head = format!("{FILE}:{line}: {field}: ");
    assert!(
        shown.starts_with(&head),
        "expected prefix {head:?} in {shown:?}"
    );
    assert!(shown.contains(text), "expected {text:?} in {shown:?}");
    assert_eq!((e.line, e.field.as_deref()), (Some(line), Some(field)));
    e
}

#[track_caller]
fn parse(src: &str) -> Scenario {
    parse_str(src, FILE, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// A valid file; tests append lines after its 4 lines (the next line is 5).
const HEAD: &str = "duration = \"1h\"\n\n[cluster]\nsize = 3\n";

fn with(extra: &str) -> String {
    format!("{HEAD}{extra}")
}

#[test]
fn cluster_keys_have_etcds_defaults() {
    for src in ["duration = \"1h\"\n", HEAD] {
        let c = parse(src).cluster;
        assert_eq!(c.snapshot_count, 100_000);
        assert_eq!(c.snapshot_catchup_entries, 5_000);
        assert!(!c.initial_corrupt_check);
        assert_eq!(c.corrupt_check_time_ns, None);
        assert_eq!(c.initial_cluster_token, "etcd-cluster");
    }
    assert_eq!(DEFAULT_SNAPSHOT_COUNT, 100_000);
    assert_eq!(DEFAULT_SNAPSHOT_CATCHUP_ENTRIES, 5_000);
    assert_eq!(DEFAULT_INITIAL_CLUSTER_TOKEN, "etcd-cluster");
}

#[test]
fn cluster_keys_are_read() {
    let c = parse(&with(
        "snapshot_count = 10000\nsnapshot_catchup_entries = 100\ninitial_corrupt_check = true\n\
         corrupt_check_time = \"5m\"\ninitial_cluster_token = \"etcd-cluster-2\"\n",
    ))
    .cluster;
    assert_eq!(c.snapshot_count, 10_000);
    assert_eq!(c.snapshot_catchup_entries, 100);
    assert!(c.initial_corrupt_check);
    assert_eq!(c.corrupt_check_time_ns, Some(300 * S));
    assert_eq!(c.initial_cluster_token, "etcd-cluster-2");
    // "0s" is etcd's default: off.
    let c = parse(&with("corrupt_check_time = \"0s\"\n")).cluster;
    assert_eq!(c.corrupt_check_time_ns, None);
    let c = parse(&with("snapshot_count = 1\nsnapshot_catchup_entries = 1\n")).cluster;
    assert_eq!((c.snapshot_count, c.snapshot_catchup_entries), (1, 1));
}

#[test]
fn cluster_key_errors() {
    let cases = [
        (
            "snapshot_count = 0",
            "cluster.snapshot_count",
            "out of range: it must be >= 1",
        ),
        (
            "snapshot_count = -5",
            "cluster.snapshot_count",
            "-5 is negative",
        ),
        (
            "snapshot_count = \"1e5\"",
            "cluster.snapshot_count",
            "expected an integer",
        ),
        (
            "snapshot_catchup_entries = 0",
            "cluster.snapshot_catchup_entries",
            "out of range: it must be >= 1",
        ),
        (
            "snapshot_catchup_entries = 1.5",
            "cluster.snapshot_catchup_entries",
            "expected an integer",
        ),
        (
            "initial_corrupt_check = \"yes\"",
            "cluster.initial_corrupt_check",
            "expected a boolean",
        ),
        (
            "corrupt_check_time = 60",
            "cluster.corrupt_check_time",
            "expected a duration",
        ),
        (
            "corrupt_check_time = \"5 min\"",
            "cluster.corrupt_check_time",
            "bad duration",
        ),
        (
            "corrupt_check_time = \"100ms\"",
            "cluster.corrupt_check_time",
            "too short",
        ),
        (
            "initial_cluster_token = \"\"",
            "cluster.initial_cluster_token",
            "must not be empty",
        ),
        (
            "initial_cluster_token = 3",
            "cluster.initial_cluster_token",
            "expected a string",
        ),
        (
            "initial_cluster_token = \"a b\"",
            "cluster.initial_cluster_token",
            "contains whitespace or a comma",
        ),
        (
            "snapshot_cont = 5",
            "cluster.snapshot_cont",
            "did you mean `snapshot_count`",
        ),
    ];
    for (line, field, text) in cases {
        assert_error(&with(&format!("{line}\n")), 5, field, text);
    }
}

#[test]
fn new_outcome_metrics_are_known() {
    for metric in [
        "divergence_detected_at_s",
        "revision_gap",
        "lost_changes",
        "snapshots_sent",
        "snapshot_catchup_s",
        "hashkv_distinct",
        "cluster_ids",
        "members_refused_start",
    ] {
        assert!(OUTCOME_METRICS.contains(&metric), "{metric}");
        assert!(is_outcome_metric(metric), "{metric}");
        let s = parse(&with(&format!("[[expect]]\n{metric} = {{ max = 1 }}\n")));
        assert_eq!(
            s.expect,
            vec![Expectation {
                metric: metric.into(),
                min: None,
                max: Some(1.0)
            }]
        );
    }
    assert!(is_outcome_metric("lost_changes.configmaps"));
    assert!(is_outcome_metric("lost_changes.secrets"));
    assert!(!is_outcome_metric("lost_changes.widgets"));
    assert!(!is_outcome_metric("lost_changes."));
    assert!(!is_outcome_metric("revision_gap.configmaps"));
    assert!(!is_outcome_metric("nope"));
}

#[test]
fn lost_changes_per_resource() {
    let bound = |metric: &str, min: Option<f64>, max: Option<f64>| Expectation {
        metric: metric.into(),
        min,
        max,
    };
    // A quoted key, a dotted key (a nested table in TOML), and both in one inline table.
    let s = parse(&with(
        "[[expect]]\n\"lost_changes.configmaps\" = { max = 0 }\n\
         lost_changes.secrets = 2\n\
         [[expect]]\nlost_changes = { max = 10, pods = { min = 1, max = 3 } }\n",
    ));
    assert_eq!(
        s.expect,
        vec![
            bound("lost_changes.configmaps", None, Some(0.0)),
            bound("lost_changes.secrets", Some(2.0), Some(2.0)),
            bound("lost_changes", None, Some(10.0)),
            bound("lost_changes.pods", Some(1.0), Some(3.0)),
        ]
    );
    // Plain bounds on the total are still bounds.
    let s = parse(&with("[[expect]]\nlost_changes = { min = 1 }\n"));
    assert_eq!(s.expect, vec![bound("lost_changes", Some(1.0), None)]);
}

#[test]
fn lost_changes_errors() {
    let e = assert_error(
        &with("[[expect]]\n\"lost_changes.widgets\" = { max = 0 }\n"),
        6,
        "expect.0.lost_changes.widgets",
        "unknown resource `widgets` in `lost_changes.widgets`",
    );
    assert!(e.message.contains("configmaps"), "{e}");
    assert_error(
        &with("[[expect]]\nlost_changes.confimaps = { max = 0 }\n"),
        6,
        "expect.0.lost_changes.confimaps",
        "unknown resource `confimaps`",
    );
    assert_error(
        &with("[[expect]]\nlost_changes = { maxx = 0 }\n"),
        6,
        "expect.0.lost_changes.maxx",
        "unknown resource `maxx`",
    );
    assert_error(
        &with("[[expect]]\nlost_changes = { min = 3, max = 1, pods = 0 }\n"),
        6,
        "expect.0.lost_changes.max",
        "max 1 is below min 3",
    );
    assert_error(
        &with("[[expect]]\n\"lost_changes.pods\" = { mx = 0 }\n"),
        6,
        "expect.0.lost_changes.pods.mx",
        "accepted keys: min, max",
    );
    assert_error(
        &with("[[expect]]\nlost_changes.pods = \"none\"\n"),
        6,
        "expect.0.lost_changes.pods",
        "expected a number or a table",
    );
    let e = assert_error(
        &with("[[expect]]\nrevision_gaps = 0\n"),
        6,
        "expect.0.revision_gaps",
        "unknown metric",
    );
    assert!(e.message.contains("lost_changes.<resource>"), "{e}");
    assert!(e.message.contains("members_refused_start"), "{e}");
}
