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
        assert_eq!(c.watch_progress_notify_interval_ns, 600 * S);
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
    let c = parse(&with("watch_progress_notify_interval = \"100ms\"\n")).cluster;
    assert_eq!(c.watch_progress_notify_interval_ns, S / 10);
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
            "watch_progress_notify_interval = \"50ms\"",
            "cluster.watch_progress_notify_interval",
            "too short: use at least 100ms",
        ),
        (
            "watch_progress_notify_interval = 10",
            "cluster.watch_progress_notify_interval",
            "expected a duration",
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

/// `HEAD` plus one `etcdctl` timeline entry; its `command` is on line 8.
fn etcdctl(command: &str) -> String {
    with(&format!(
        "[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\ncommand = \"{command}\"\n"
    ))
}

/// The command as the scenario reads it (cluster of 3, plus m4 when the command adds it).
#[track_caller]
fn command(text: &str) -> OperatorCommand {
    match parse(&etcdctl(text)).timeline.remove(0).action {
        Action::Operator { command, .. } => command,
        other => panic!("{other:?}"),
    }
}

/// The command fails at its line, and the message starts with the command and says `text`.
#[track_caller]
fn bad_command(command: &str, text: &str) {
    let e = assert_error(&etcdctl(command), 8, "timeline.0.command", text);
    assert!(e.message.starts_with(&format!("{command:?}: ")), "{e}");
}

const CLUSTER: &str =
    "m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380";

fn initial_cluster() -> Vec<(usize, String)> {
    (0..3).map(|i| (i, peer_url(i))).collect()
}

#[test]
fn snapshot_save() {
    let save = |member| OperatorCommand::SnapshotSave {
        file: "snap.db".into(),
        member,
    };
    assert_eq!(command("etcdctl snapshot save snap.db"), save(None));
    assert_eq!(
        command("etcdctl snapshot save snap.db --endpoints=m2"),
        save(Some(1))
    );
    assert_eq!(
        command("etcdctl snapshot save --endpoints m3 snap.db"),
        save(Some(2))
    );
    // A global flag before the command, and client endpoints instead of names.
    assert_eq!(
        command("etcdctl --endpoints=127.0.0.1:12379 snapshot save snap.db"),
        save(Some(0))
    );
    assert_eq!(
        command("etcdctl --endpoints http://127.0.0.1:32379 snapshot save snap.db"),
        save(Some(2))
    );
    bad_command(
        "etcdctl snapshot save snap.db --endpoints=m1,m2",
        "snapshot must be requested to one selected node, not multiple [m1 m2]",
    );
    bad_command(
        "etcdctl --endpoints=m1,m2,m3 snapshot save snap.db",
        "not multiple [m1 m2 m3]",
    );
    bad_command(
        "etcdctl snapshot save",
        "snapshot save expects one argument",
    );
    bad_command(
        "etcdctl snapshot save a.db b.db",
        "snapshot save expects one argument",
    );
    bad_command(
        "etcdctl snapshot save snap.db --endpoints=m4",
        "\"m4\" is not a member of this 3-member cluster (m1..m3)",
    );
    bad_command(
        "etcdctl snapshot save snap.db --endpoints",
        "--endpoints needs a value",
    );
    bad_command(
        "etcdctl snapshot save snap.db --cluster",
        "snapshot save does not take --cluster; it takes --endpoints",
    );
}

#[test]
fn snapshot_status() {
    let status = |format| OperatorCommand::SnapshotStatus {
        file: "snap.db".into(),
        format,
        tool: SnapshotTool::Etcdctl,
    };
    assert_eq!(
        command("etcdctl snapshot status snap.db"),
        status(OutputFormat::Simple)
    );
    assert_eq!(
        command("etcdctl snapshot status snap.db -w table"),
        status(OutputFormat::Table)
    );
    assert_eq!(
        command("etcdctl snapshot status --write-out=json snap.db"),
        status(OutputFormat::Json)
    );
    assert_eq!(
        command("etcdctl -w=simple snapshot status snap.db"),
        status(OutputFormat::Simple)
    );
    assert_eq!(
        command("etcdutl -w table snapshot status snap.db"),
        command("etcdutl snapshot status snap.db -w table")
    );
    assert_eq!(
        command("etcdutl snapshot status snap.db -w table"),
        OperatorCommand::SnapshotStatus {
            file: "snap.db".into(),
            format: OutputFormat::Table,
            tool: SnapshotTool::Etcdutl,
        }
    );
    assert_eq!(OutputFormat::default(), OutputFormat::Simple);
    bad_command(
        "etcdctl snapshot status",
        "snapshot status requires exactly one argument",
    );
    bad_command(
        "etcdctl snapshot status snap.db -w yaml",
        "unsupported output format \"yaml\"; use -w table|json|simple",
    );
    bad_command(
        "etcdctl snapshot status snap.db -w table -w json",
        "--write-out is given twice",
    );
    bad_command(
        "etcdctl snapshot status snap.db --endpoints=m1",
        "snapshot status does not take --endpoints; it takes -w/--write-out",
    );
}

#[test]
fn snapshot_restore() {
    let full = format!(
        "etcdctl snapshot restore snap.db --name m1 --initial-cluster {CLUSTER} \
         --initial-cluster-token etcd-cluster-2 --initial-advertise-peer-urls \
         http://127.0.0.1:12380 --data-dir m1/data-dir --skip-hash-check"
    );
    let restored = OperatorCommand::SnapshotRestore {
        file: "snap.db".into(),
        member: 0,
        initial_cluster: initial_cluster(),
        token: "etcd-cluster-2".into(),
        data_dir: "m1/data-dir".into(),
        skip_hash_check: true,
        tool: SnapshotTool::Etcdctl,
    };
    assert_eq!(command(&full), restored);
    // etcdutl (etcd 3.5) takes the same arguments.
    let etcdutl = full.replacen("etcdctl", "etcdutl", 1);
    let OperatorCommand::SnapshotRestore { tool, .. } = command(&etcdutl) else {
        panic!("{etcdutl}");
    };
    assert_eq!(tool, SnapshotTool::Etcdutl);
    // --flag=value works as --flag value.
    let equals = format!(
        "etcdctl snapshot restore --name=m1 --initial-cluster={CLUSTER} \
         --initial-cluster-token=etcd-cluster-2 \
         --initial-advertise-peer-urls=http://127.0.0.1:12380 --data-dir=m1/data-dir \
         --skip-hash-check=true snap.db"
    );
    assert_eq!(command(&equals), restored);
    // etcdctl's defaults: token "etcd-cluster", data dir "<name>.etcd", and an initial cluster
    // of the one member at http://localhost:2380 (the member forms a cluster of its own).
    assert_eq!(
        command("etcdctl snapshot restore snap.db --name m2"),
        OperatorCommand::SnapshotRestore {
            file: "snap.db".into(),
            member: 1,
            initial_cluster: vec![(1, "http://localhost:2380".into())],
            token: "etcd-cluster".into(),
            data_dir: "m2.etcd".into(),
            skip_hash_check: false,
            tool: SnapshotTool::Etcdctl,
        }
    );
    let c = command(&format!(
        "etcdctl snapshot restore snap.db --name m3 --initial-cluster {CLUSTER} \
         --initial-advertise-peer-urls http://127.0.0.1:32380 --skip-hash-check=false"
    ));
    let OperatorCommand::SnapshotRestore {
        member,
        token,
        data_dir,
        skip_hash_check,
        ..
    } = c
    else {
        panic!("{c:?}")
    };
    assert_eq!(
        (member, token.as_str(), data_dir.as_str(), skip_hash_check),
        (2, "etcd-cluster", "m3.etcd", false)
    );
}

/// `etcdctl snapshot restore snap.db <flags>` fails with `text`, for each case.
#[track_caller]
fn restore_errors<const N: usize>(cases: [(String, &str); N]) {
    for (flags, text) in cases {
        bad_command(&format!("etcdctl snapshot restore snap.db {flags}"), text);
    }
}

/// `--initial-advertise-peer-urls` of m1, as the restores below give it.
const ADV: &str = "--initial-advertise-peer-urls http://127.0.0.1:12380";

#[test]
fn snapshot_restore_name_and_cluster_errors() {
    let adv = ADV;
    restore_errors([
        (
            format!("--initial-cluster {CLUSTER} {adv}"),
            "--name is missing: etcdctl's default name \"default\" is not a member",
        ),
        (
            format!("--name m4 --initial-cluster {CLUSTER} {adv}"),
            "--name \"m4\" is not a member: the cluster has 3 members, m1..m3",
        ),
        (
            format!("--name default --initial-cluster {CLUSTER} {adv}"),
            "--name \"default\" is not a member name",
        ),
        (
            format!(
                "--name m1 --initial-cluster m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380 \
                 {adv}"
            ),
            "couldn't find local name \"m1\" in the initial cluster configuration",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER},m5=http://127.0.0.1:52380 {adv}"),
            "--initial-cluster: \"m5\" is not a member: the cluster has 3 members",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER},node4=http://127.0.0.1:42380 {adv}"),
            "--initial-cluster: \"node4\" is not a member name",
        ),
        (
            format!("--name m1 --initial-cluster m1 {adv}"),
            "--initial-cluster entry \"m1\" is not NAME=URL",
        ),
        (
            format!("--name m1 --initial-cluster m1=127.0.0.1:12380 {adv}"),
            "URL scheme must be http or https: 127.0.0.1:12380",
        ),
        (
            format!("--name m1 --initial-cluster m1=http://127.0.0.1:12380/x {adv}"),
            "URL must not contain a path",
        ),
        (
            format!("--name m1 --initial-cluster m1=http://127.0.0.1 {adv}"),
            "URL address does not have the form \"host:port\"",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER},m1=http://127.0.0.1:42380 {adv}"),
            "--initial-cluster lists m1 twice",
        ),
        (
            format!(
                "--name m1 --initial-cluster m1=http://127.0.0.1:12380,m2=http://127.0.0.1:12380 \
                 {adv}"
            ),
            "has duplicate url",
        ),
    ]);
}

#[test]
fn snapshot_restore_flag_errors() {
    let adv = ADV;
    restore_errors([
        (
            format!("--name m1 --initial-cluster {CLUSTER}"),
            "--initial-cluster has m1=http://127.0.0.1:12380 but missing from \
             --initial-advertise-peer-urls=http://localhost:2380",
        ),
        (
            format!(
                "--name m1 --initial-cluster {CLUSTER} --initial-advertise-peer-urls \
                 http://127.0.0.1:22380"
            ),
            "but missing from --initial-advertise-peer-urls=http://127.0.0.1:22380",
        ),
        (
            format!(
                "--name m1 --initial-cluster {CLUSTER} --initial-advertise-peer-urls \
                 http://127.0.0.1:12380,http://10.0.0.1:2380"
            ),
            "the lab gives each member one peer URL",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER} {adv} --initial-cluster-token="),
            "--initial-cluster-token must not be empty",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER} {adv} --data-dir="),
            "--data-dir must not be empty",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER} {adv} --data-dir"),
            "--data-dir needs a value",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER} {adv} --skip-hash-check=maybe"),
            "--skip-hash-check is a switch: \"maybe\" is not true or false",
        ),
        (
            format!("--name m1 --name m2 --initial-cluster {CLUSTER} {adv}"),
            "--name is given twice",
        ),
        (
            format!("--name m1 --initial-cluster {CLUSTER} {adv} --wal-dir w"),
            "snapshot restore does not take --wal-dir; it takes --name, --initial-cluster",
        ),
        (
            format!("other.db --name m1 --initial-cluster {CLUSTER} {adv}"),
            "snapshot restore requires exactly one argument",
        ),
    ]);
}

#[test]
fn member_commands() {
    assert_eq!(
        command("etcdctl member list"),
        OperatorCommand::MemberList {
            format: OutputFormat::Simple
        }
    );
    assert_eq!(
        command("etcdctl member list -w table"),
        OperatorCommand::MemberList {
            format: OutputFormat::Table
        }
    );
    assert_eq!(
        command("etcdctl -w table member list"),
        OperatorCommand::MemberList {
            format: OutputFormat::Table
        }
    );
    assert_eq!(
        command("etcdctl member add m4 --peer-urls=http://127.0.0.1:42380"),
        OperatorCommand::MemberAdd {
            member: 3,
            peer_url: "http://127.0.0.1:42380".into(),
            learner: false,
            endpoint: None,
        }
    );
    assert_eq!(
        command("etcdctl member add m4 --learner --peer-urls http://127.0.0.1:42380"),
        OperatorCommand::MemberAdd {
            member: 3,
            peer_url: "http://127.0.0.1:42380".into(),
            learner: true,
            endpoint: None,
        }
    );
    // As in etcd, the member the request reaches serves it (and runs the strict
    // reconfiguration check): the first of --endpoints.
    assert_eq!(
        command("etcdctl --endpoints=m2,m1 member add m4 --peer-urls=http://127.0.0.1:42380"),
        OperatorCommand::MemberAdd {
            member: 3,
            peer_url: "http://127.0.0.1:42380".into(),
            learner: false,
            endpoint: Some(1),
        }
    );
    assert_eq!(
        command("etcdctl member remove m2"),
        OperatorCommand::MemberRemove { member: 1 }
    );
    bad_command(
        "etcdctl member list -w json",
        "unsupported output format \"json\"; use -w table|simple",
    );
    bad_command("etcdctl member list m1", "member list takes no arguments");
    bad_command(
        "etcdctl member list --endpoints=m1",
        "member list does not take --endpoints",
    );
    bad_command(
        "etcdctl member add --peer-urls=http://127.0.0.1:42380",
        "member name not provided",
    );
    bad_command(
        "etcdctl member add m4 http://127.0.0.1:42380",
        "too many arguments, did you mean --peer-urls=http://127.0.0.1:42380",
    );
    bad_command("etcdctl member add m4", "member peer urls not provided");
    bad_command(
        "etcdctl member add m4 --peer-urls=http://127.0.0.1:42380 --cluster",
        "member add does not take --cluster; it takes --peer-urls, --learner, --endpoints",
    );
    bad_command(
        "etcdctl member add m2 --peer-urls=http://127.0.0.1:42380",
        "m2 is already a member (m1..m3); added members are named after them: m4, then m5",
    );
    bad_command(
        "etcdctl member add etcd-4 --peer-urls=http://127.0.0.1:42380",
        "\"etcd-4\" is not a member name; added members are named after the cluster's: m4",
    );
    bad_command(
        "etcdctl member add m4 --peer-urls=http://127.0.0.1:42380,http://10.0.0.4:2380",
        "--peer-urls lists several URLs",
    );
    bad_command(
        "etcdctl member add m4 --peer-urls=127.0.0.1:42380",
        "URL scheme must be http or https",
    );
    bad_command(
        "etcdctl member add m4 --peer-urls=http://127.0.0.1:42380 --learner=yes",
        "--learner is a switch",
    );
    bad_command(
        "etcdctl member remove 8e9e05c52164694d",
        "the lab takes the member's name (m1..m3), not its hex ID \"8e9e05c52164694d\"",
    );
    bad_command("etcdctl member remove", "member remove takes one member");
    bad_command(
        "etcdctl member remove m1 m2",
        "member remove takes one member",
    );
    bad_command(
        "etcdctl member remove m7",
        "\"m7\" is not a member of this 3-member cluster",
    );
    bad_command(
        "etcdctl member remove m1 --force",
        "member remove takes no flags, not --force",
    );
}

#[test]
fn endpoint_hashkv() {
    let hashkv = |format, cluster| OperatorCommand::EndpointHashKv { format, cluster };
    assert_eq!(
        command("etcdctl endpoint hashkv"),
        hashkv(OutputFormat::Simple, false)
    );
    assert_eq!(
        command("etcdctl endpoint hashkv --cluster -w table"),
        hashkv(OutputFormat::Table, true)
    );
    assert_eq!(
        command("etcdctl endpoint hashkv --write-out json --cluster"),
        hashkv(OutputFormat::Json, true)
    );
    bad_command(
        "etcdctl endpoint hashkv -w fields",
        "unsupported output format \"fields\"; use -w table|simple|json",
    );
    bad_command(
        "etcdctl endpoint hashkv --rev=5",
        "endpoint hashkv does not take --rev; it takes --cluster, -w/--write-out",
    );
    bad_command(
        "etcdctl endpoint hashkv m1",
        "endpoint hashkv takes no arguments",
    );
}

#[test]
fn process_and_file_commands() {
    assert_eq!(
        command("etcd start m2"),
        OperatorCommand::Start {
            member: 1,
            initial_cluster_state: None
        }
    );
    assert_eq!(
        command("etcd start m1 --initial-cluster-state=existing"),
        OperatorCommand::Start {
            member: 0,
            initial_cluster_state: Some(ClusterState::Existing)
        }
    );
    assert_eq!(
        command("etcd start m3 --initial-cluster-state new"),
        OperatorCommand::Start {
            member: 2,
            initial_cluster_state: Some(ClusterState::New)
        }
    );
    assert_eq!(command("etcd stop m3"), OperatorCommand::Stop { member: 2 });
    assert_eq!(
        command("rm -rf m2/data-dir"),
        OperatorCommand::WipeDataDir { member: 1 }
    );
    assert_eq!(
        command("rm -rf m3.etcd"),
        OperatorCommand::WipeDataDir { member: 2 }
    );
    assert_eq!(
        command("cp m1/data-dir/member/snap/db backup.db"),
        OperatorCommand::CopyDb {
            member: 0,
            file: "backup.db".into()
        }
    );
    assert_eq!(
        command("cp m2.etcd/member/snap/db /tmp/db"),
        OperatorCommand::CopyDb {
            member: 1,
            file: "/tmp/db".into()
        }
    );
}

#[test]
fn process_and_file_command_errors() {
    let cases = [
        (
            "etcd start m1 --initial-cluster-state=old",
            "--initial-cluster-state must be \"new\" or \"existing\", not \"old\"",
        ),
        ("etcd start", "etcd start takes one member"),
        ("etcd start m1 m2", "etcd start takes one member"),
        (
            "etcd start m1 --quota-backend-bytes=1",
            "etcd start does not take --quota-backend-bytes; it takes --initial-cluster-state",
        ),
        (
            "etcd start m4",
            "\"m4\" is not a member of this 3-member cluster",
        ),
        ("etcd stop", "etcd stop takes one member"),
        (
            "etcd stop m1 --force",
            "etcd stop takes no flags, not --force",
        ),
        ("etcd stop leader", "\"leader\" is not a member"),
        ("rm -rf /", "the lab only deletes a member's data dir"),
        (
            "rm -rf m1/data-dir/member",
            "the lab only deletes a member's data dir",
        ),
        ("rm -r m1.etcd", "the lab only deletes a member's data dir"),
        ("rm -rf .etcd", "the lab only deletes a member's data dir"),
        (
            "rm -rf m1.etcd m2.etcd",
            "the lab only deletes a member's data dir",
        ),
        (
            "rm -rf m9.etcd",
            "\"m9\" is not a member of this 3-member cluster",
        ),
        (
            "cp m1/data-dir/member/wal/0.wal x",
            "the lab only copies a member's backend file",
        ),
        (
            "cp m1/data-dir/member/snap/db",
            "the lab only copies a member's backend file",
        ),
        (
            "cp -r m1/data-dir/member/snap/db x",
            "the lab only copies a member's backend file",
        ),
        (
            "cp m5/data-dir/member/snap/db x",
            "\"m5\" is not a member of this 3-member cluster",
        ),
    ];
    for (text, message) in cases {
        bad_command(text, message);
    }
}

#[test]
fn the_error_lists_the_new_commands() {
    let e = assert_error(
        &etcdctl("etcdctl snapshot verify x"),
        8,
        "timeline.0.command",
        "unknown command",
    );
    for c in [
        "etcdctl snapshot save",
        "etcdctl snapshot status",
        "etcdctl snapshot restore",
        "etcdctl member list",
        "etcdctl member add",
        "etcdctl member remove",
        "etcdctl endpoint hashkv",
        "etcd start",
        "etcd stop",
        "rm -rf m1/data-dir",
        "cp m1/data-dir/member/snap/db",
    ] {
        assert!(e.message.contains(c), "{c}: {e}");
    }
}

#[test]
fn parse_operator_command_alone() {
    assert_eq!(
        parse_operator_command("etcd stop m3", 3),
        Ok(OperatorCommand::Stop { member: 2 })
    );
    assert!(parse_operator_command("etcd stop m4", 3).is_err());
    assert_eq!(
        parse_operator_command_with_slots("etcd stop m4", 3, 4),
        Ok(OperatorCommand::Stop { member: 3 })
    );
    let e = parse_operator_command_with_slots("etcd stop m5", 3, 4).unwrap_err();
    assert!(
        e.contains("the cluster has 3 members, m1..m3, and `etcdctl member add` adds m4"),
        "{e}"
    );
    // --cluster means the cluster's members, not the slots.
    assert_eq!(
        parse_operator_command_with_slots("etcdctl defrag --cluster", 3, 4),
        Ok(OperatorCommand::Defrag {
            members: vec![0, 1, 2],
            cluster: true
        })
    );
    assert_eq!(
        parse_operator_command("etcdctl --endpoints=m2 defrag", 3),
        Ok(OperatorCommand::Defrag {
            members: vec![1],
            cluster: false
        })
    );
}

#[test]
fn timeline_actions() {
    let action = |body: &str| {
        parse(&with(&format!("[[timeline]]\nat = \"1s\"\n{body}")))
            .timeline
            .remove(0)
            .action
    };
    assert_eq!(
        action("action = \"corrupt_backend\"\nmember = \"m2\""),
        Action::CorruptBackend {
            member: MemberRef::Member(1)
        }
    );
    assert_eq!(
        action("action = \"corrupt_backend\"\nmember = \"follower\""),
        Action::CorruptBackend {
            member: MemberRef::Follower
        }
    );
    assert_eq!(
        action("action = \"wal_tail_lost\"\nmember = \"m3\"\nentries = 250"),
        Action::WalTailLost {
            member: MemberRef::Member(2),
            entries: 250
        }
    );
    assert_eq!(
        action(
            "action = \"wal_tail_lost\"\nmember = \"leader\"\nentries = 1\n\
             repeat = { count = 2, every = \"1m\" }"
        ),
        Action::WalTailLost {
            member: MemberRef::Leader,
            entries: 1
        }
    );
}

#[test]
fn timeline_action_errors() {
    let event = |body: &str| with(&format!("[[timeline]]\nat = \"1s\"\n{body}\n"));
    let cases = [
        (
            "action = \"wal_tail_lost\"\nmember = \"m1\"\nentries = 0",
            9,
            "timeline.0.entries",
            "0 is out of range: it must be 1..=1000000000",
        ),
        (
            "action = \"wal_tail_lost\"\nmember = \"m1\"\nentries = -3",
            9,
            "timeline.0.entries",
            "-3 is negative",
        ),
        (
            "action = \"wal_tail_lost\"\nmember = \"m1\"\nentries = \"all\"",
            9,
            "timeline.0.entries",
            "expected an integer",
        ),
        (
            "action = \"wal_tail_lost\"\nmember = \"m1\"\nentries = 2000000000",
            9,
            "timeline.0.entries",
            "out of range",
        ),
        (
            "action = \"wal_tail_lost\"\nmember = \"m1\"",
            5,
            "timeline.0.entries",
            "required key `entries` is missing",
        ),
        (
            "action = \"wal_tail_lost\"\nmember = \"m4\"\nentries = 5",
            8,
            "timeline.0.member",
            "\"m4\" is not \"leader\", \"follower\" or a member: the cluster has 3 members",
        ),
        (
            "action = \"corrupt_backend\"",
            5,
            "timeline.0.member",
            "required key `member` is missing",
        ),
        (
            "action = \"corrupt_backend\"\nmember = \"m1\"\nduration = \"5s\"",
            9,
            "timeline.0.duration",
            "unknown key `duration` for action \"corrupt_backend\"; accepted keys: at, action, \
             repeat, member",
        ),
        (
            "action = \"corrupt_backend\"\nmember = \"m1\"\nentries = 5",
            9,
            "timeline.0.entries",
            "unknown key `entries` for action \"corrupt_backend\"",
        ),
        (
            "action = \"failpoint\"\nmember = \"m1\"\nfailpoint = \"raftBeforeSave\"",
            9,
            "timeline.0.failpoint",
            "unknown failpoint \"raftBeforeSave\"; the lab has \"compactBeforeSetFinishedCompact\"",
        ),
        (
            "action = \"failpoint\"\nmember = \"m1\"",
            5,
            "timeline.0.failpoint",
            "required key `failpoint` is missing",
        ),
        (
            "action = \"corupt_backend\"\nmember = \"m1\"",
            7,
            "timeline.0.action",
            "unknown action \"corupt_backend\"; use one of: pause, resume, crash",
        ),
    ];
    for (body, line, field, text) in cases {
        assert_error(&event(body), line, field, text);
    }
    let e = assert_error(
        &event("action = \"x\""),
        7,
        "timeline.0.action",
        "unknown action",
    );
    assert!(e.message.contains("corrupt_backend, wal_tail_lost"), "{e}");
}

/// A 3-member cluster whose timeline adds m4 and whose runbook adds m5, with `extra` added.
fn with_adds(extra: &str) -> String {
    with(&format!(
        "[disk]\nprofile = \"hdd\"\n\
         [disk.members.m5]\nprofile = \"ssd\"\n\
         [[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\n\
         command = \"etcdctl member add m4 --peer-urls=http://127.0.0.1:42380\"\n\
         [[timeline]]\nat = \"2m\"\naction = \"etcdctl\"\ncommand = \"etcd start m4\"\n\
         [[timeline]]\nat = \"3m\"\naction = \"pause\"\nmember = \"m5\"\n\
         [runbook]\nafter_alarm = \"CORRUPT\"\nsteps = [\n  \"etcdctl member remove m1\",\n  \
         \"etcdctl member add m5 --peer-urls=http://127.0.0.1:52380\",\n  \"etcd start m5\",\n]\n\
         {extra}"
    ))
}

#[test]
fn member_slots() {
    let s = parse(&with_adds(""));
    assert_eq!(s.member_slots(), 5);
    assert_eq!(s.cluster.size, 3);
    assert_eq!(s.disks.len(), 5);
    // An added member gets [disk] unless it has its own table.
    assert_eq!(s.disks[3].profile, "hdd");
    assert_eq!(s.disks[4].profile, "ssd");
    assert_eq!(
        s.timeline[1].action,
        Action::Operator {
            text: "etcd start m4".into(),
            command: OperatorCommand::Start {
                member: 3,
                initial_cluster_state: None
            }
        }
    );
    assert_eq!(
        s.timeline[2].action,
        Action::Pause {
            member: MemberRef::Member(4),
            duration_ns: None
        }
    );
    // Links may name added members too.
    let s = parse(&with_adds(
        "[network]\n[[network.links]]\nfrom = [\"m4\"]\nto = [\"m1\", \"m5\"]\nloss = 0.1\n",
    ));
    assert_eq!(s.network.links[0].to, vec![0, 4]);
    // Without member add, the slots are the cluster.
    let s = parse(HEAD);
    assert_eq!((s.member_slots(), s.disks.len()), (3, 3));
    let s = parse("duration = \"1h\"\n[cluster]\nsize = 5\n");
    assert_eq!((s.member_slots(), s.disks.len()), (5, 5));
    assert_eq!(MAX_MEMBER_SLOTS, 15);
}

#[test]
fn member_slot_errors() {
    // Names past the slots, in commands, actions and disks, say which members are added.
    let e = assert_error(
        &with_adds("[[timeline]]\nat = \"4m\"\naction = \"etcdctl\"\ncommand = \"etcd stop m6\"\n"),
        31,
        "timeline.3.command",
        "\"etcd stop m6\": \"m6\" is not a member: the cluster has 3 members, m1..m3, and \
         `etcdctl member add` adds m4..m5",
    );
    assert!(!e.message.contains("3-member cluster"), "{e}");
    assert_error(
        &with_adds("[[timeline]]\nat = \"4m\"\naction = \"crash\"\nmember = \"m6\"\n"),
        31,
        "timeline.3.member",
        "adds m4..m5",
    );
    // No member add: m4 is not a member, and [disk.members.m4] is an error.
    assert_error(
        &with("[disk.members.m4]\nprofile = \"hdd\"\n"),
        5,
        "disk.members.m4",
        "\"m4\" is not a member: the cluster has 3 members, m1..m3",
    );
    // Added members are numbered after the cluster's, in order of appearance.
    let add = |name: &str| {
        format!(
            "[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\n\
             command = \"etcdctl member add {name} --peer-urls=http://127.0.0.1:62380\"\n"
        )
    };
    assert_error(
        &with(&add("m5")),
        8,
        "timeline.0.command",
        "the first `etcdctl member add` must add m4, not m5: added members are named after \
         the cluster's m1..m3 in the order the commands appear (timeline in file order, then \
         runbook)",
    );
    assert_error(
        &with(&format!("{}{}", add("m4"), add("m4"))),
        12,
        "timeline.1.command",
        "this is `etcdctl member add` number 2, so it must add m5, not m4",
    );
    // The runbook's adds come after the timeline's.
    assert_error(
        &with(&format!(
            "{}[runbook]\nafter_alarm = \"NOSPACE\"\nsteps = [\n  \"etcdctl alarm list\",\n  \
             \"etcdctl member add m4 --peer-urls=http://127.0.0.1:42380\",\n]\n",
            add("m4")
        )),
        13,
        "runbook.steps.1",
        "number 2, so it must add m5, not m4",
    );
    // At most MAX_MEMBER_SLOTS in all.
    let adds: String = (8..=16).map(|n| add(&format!("m{n}"))).collect();
    let src = format!("duration = \"1h\"\n[cluster]\nsize = 7\n{adds}");
    let ok: String = (8..=15).map(|n| add(&format!("m{n}"))).collect();
    let s = parse(&format!("duration = \"1h\"\n[cluster]\nsize = 7\n{ok}"));
    assert_eq!((s.member_slots(), s.disks.len()), (15, 15));
    assert_error(
        &src,
        3 + 8 * 4 + 4,
        "timeline.8.command",
        "too many members: a run has at most 15 member slots (cluster.size 7 plus 8 added)",
    );
}

/// The TOML examples of docs/scenarios.md's "Member slots" section parse as documented.
#[test]
fn the_documented_examples_parse() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/scenarios.md"),
    )
    .unwrap();
    let start = doc.find("### Member slots: adding members").unwrap();
    let end = start + doc[start..].find("\n## ").unwrap();
    let blocks: Vec<&str> = doc[start..end]
        .split("```toml\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    assert_eq!(blocks.len(), 2);
    let replace = parse(&format!("duration = \"1h\"\n{}", blocks[0]));
    assert_eq!(replace.member_slots(), 4);
    assert_eq!(
        replace.timeline[2].action,
        Action::Operator {
            text: "etcd start m4 --initial-cluster-state=existing".into(),
            command: OperatorCommand::Start {
                member: 3,
                initial_cluster_state: Some(ClusterState::Existing)
            }
        }
    );
    let recovery = parse(&format!("duration = \"1h\"\n{}", blocks[1]));
    assert_eq!(recovery.cluster.corrupt_check_time_ns, Some(60 * S));
    let steps = &recovery.runbook.as_ref().unwrap().steps;
    assert_eq!(steps.len(), 13);
    for (i, (_, command)) in steps[6..9].iter().enumerate() {
        assert_eq!(
            *command,
            OperatorCommand::SnapshotRestore {
                file: "backup.db".into(),
                member: i,
                initial_cluster: initial_cluster(),
                token: "etcd-cluster-2".into(),
                data_dir: format!("m{}/data-dir", i + 1),
                skip_hash_check: false,
                tool: SnapshotTool::Etcdctl,
            }
        );
    }
    assert_eq!(
        steps[12].1,
        OperatorCommand::EndpointHashKv {
            format: OutputFormat::Table,
            cluster: true
        }
    );
    assert_eq!(
        recovery.timeline[1].action,
        Action::CorruptBackend {
            member: MemberRef::Member(1)
        }
    );
    let metrics: Vec<&str> = recovery.expect.iter().map(|e| e.metric.as_str()).collect();
    assert_eq!(metrics, ["revision_gap", "cluster_ids", "hashkv_distinct"]);
}
