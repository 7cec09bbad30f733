//! Invalid input through the CLI: every error class exits with code 2 and an error that reads
//! `FILE:LINE: FIELD: MESSAGE` (docs/scenarios.md, "Errors"), never with a panic.
//!
//! Each bad file is a small valid scenario with exactly one thing wrong; the expected line is
//! computed from the text written.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A small valid scenario that uses every section the cases below break.
const BASE: &str = r#"# A small valid scenario; each test breaks exactly one thing in it.
description = "bad-input base"
seed = 1
duration = "30s"

[cluster]
size = 3
heartbeat_interval_ms = 100
election_timeout_ms = 1000

[workload]
writes_per_s = 10
start = "1s"

[[timeline]]
at = "5s"
action = "pause"
member = "m1"
duration = "1s"

[[expect]]
leader_changes = { max = 5 }
"#;

/// `BASE` with the one line equal to `old` replaced by `new` (which may be several lines).
fn edit(old: &str, new: &str) -> String {
    let hits = BASE.lines().filter(|l| *l == old).count();
    assert_eq!(
        hits, 1,
        "the base scenario must have exactly one line {old:?}"
    );
    let mut text = String::new();
    for line in BASE.lines() {
        text.push_str(if line == old { new } else { line });
        text.push('\n');
    }
    text
}

/// The 1-based number of the one line of `text` equal to `line`.
fn line_of(text: &str, line: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == line)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected exactly one line {line:?} in\n{text}"
    );
    hits[0]
}

/// Writes `text` as `<case>.toml` in a fresh temp dir.
fn write_case(case: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{case}.toml"));
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// Both `validate` and `run` on `path` (plus `extra` arguments) exit 2 with an error whose
/// text contains each of `needles`, and `run` writes no report.
fn assert_invalid(path: &Path, extra: &[&str], needles: &[String]) {
    let out_dir = path.with_extension("out");
    for sub in ["validate", "run"] {
        let mut cmd = etcdlab();
        cmd.arg(sub).arg(path).args(extra);
        if sub == "run" {
            cmd.arg("--out").arg(&out_dir);
        }
        let o = run(&mut cmd);
        o.assert_code(2);
        assert!(
            o.stderr.starts_with("error: "),
            "the error should start with `error: `\n{}",
            o.describe()
        );
        for needle in needles {
            assert!(
                o.stderr.contains(needle.as_str()),
                "stderr should contain {needle:?}\n{}",
                o.describe()
            );
        }
    }
    assert!(
        !out_dir.exists(),
        "`run` wrote {} for an invalid scenario",
        out_dir.display()
    );
}

/// A broken copy of the base scenario: `old` replaced by `new`; the error must point at the
/// line `bad_line` (a line of the new text) and name `field`, and mention `message`.
fn check(case: &str, old: &str, new: &str, bad_line: &str, field: &str, message: &str) {
    let text = edit(old, new);
    let line = line_of(&text, bad_line);
    let (_dir, path) = write_case(case, &text);
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_invalid(
        &path,
        &[],
        &[
            format!("{file}:{line}:"),
            format!("{file}:{line}: {field}: "),
            message.to_string(),
        ],
    );
}

#[test]
fn the_base_scenario_is_valid() {
    let (_dir, path) = write_case("base", BASE);
    let o = run(etcdlab().arg("validate").arg(&path));
    o.assert_code(0);
}

#[test]
fn unknown_top_level_key() {
    check(
        "unknown-top-level-key",
        "seed = 1",
        "seed = 1\nseeed = 2",
        "seeed = 2",
        "seeed",
        "unknown key",
    );
}

#[test]
fn unknown_nested_key() {
    check(
        "unknown-nested-key",
        "size = 3",
        "size = 3\nheartbeat_ms = 100",
        "heartbeat_ms = 100",
        "cluster.heartbeat_ms",
        "unknown key",
    );
}

#[test]
fn wrong_type() {
    check(
        "wrong-type",
        "size = 3",
        "size = \"three\"",
        "size = \"three\"",
        "cluster.size",
        "expected an integer",
    );
}

#[test]
fn election_timeout_below_five_heartbeats() {
    check(
        "election-timeout",
        "election_timeout_ms = 1000",
        "election_timeout_ms = 400",
        "election_timeout_ms = 400",
        "cluster.election_timeout_ms",
        "below 5 x heartbeat",
    );
}

#[test]
fn cluster_of_eight() {
    check(
        "cluster-size",
        "size = 3",
        "size = 8",
        "size = 8",
        "cluster.size",
        "out of range",
    );
}

#[test]
fn timeline_member_outside_the_cluster() {
    check(
        "timeline-member",
        "member = \"m1\"",
        "member = \"m4\"",
        "member = \"m4\"",
        "timeline.0.member",
        "\"m4\"",
    );
}

#[test]
fn bad_duration() {
    check(
        "bad-duration",
        "at = \"5s\"",
        "at = \"5 minutes\"",
        "at = \"5 minutes\"",
        "timeline.0.at",
        "bad duration",
    );
}

#[test]
fn unknown_action() {
    check(
        "unknown-action",
        "action = \"pause\"",
        "action = \"explode\"",
        "action = \"explode\"",
        "timeline.0.action",
        "unknown action",
    );
}

#[test]
fn unknown_expect_metric() {
    check(
        "unknown-metric",
        "leader_changes = { max = 5 }",
        "leader_flaps = { max = 5 }",
        "leader_flaps = { max = 5 }",
        "expect.0.leader_flaps",
        "unknown metric",
    );
}

#[test]
fn malformed_toml() {
    let text = edit("writes_per_s = 10", "writes_per_s = = 10");
    let line = line_of(&text, "writes_per_s = = 10");
    let (_dir, path) = write_case("malformed", &text);
    assert_invalid(
        &path,
        &[],
        &[
            format!("malformed.toml:{line}:"),
            "invalid TOML".to_string(),
        ],
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-scenario.toml");
    assert_invalid(
        &path,
        &[],
        &[
            "no-such-scenario.toml".to_string(),
            "cannot read".to_string(),
        ],
    );
}

#[test]
fn set_unknown_path() {
    let (_dir, path) = write_case("set-unknown", BASE);
    assert_invalid(
        &path,
        &["--set", "cluster.heartbeat_ms=1"],
        &[
            "--set: cluster.heartbeat_ms: ".to_string(),
            "unknown key".to_string(),
        ],
    );
}

#[test]
fn set_path_through_a_value() {
    let (_dir, path) = write_case("set-through-value", BASE);
    assert_invalid(
        &path,
        &["--set", "cluster.size.x=1"],
        &["--set: cluster.size.x: ".to_string()],
    );
}

#[test]
fn set_index_past_the_end() {
    let (_dir, path) = write_case("set-index", BASE);
    assert_invalid(
        &path,
        &["--set", "timeline.5.at=1s"],
        &["--set: timeline.5.at: ".to_string()],
    );
}

#[test]
fn set_without_equals() {
    let (_dir, path) = write_case("set-syntax", BASE);
    assert_invalid(&path, &["--set", "cluster.size"], &["--set".to_string()]);
}

#[test]
fn set_bad_value_points_at_the_replaced_line() {
    let (_dir, path) = write_case("set-value", BASE);
    let line = line_of(BASE, "size = 3");
    assert_invalid(
        &path,
        &["--set", "cluster.size=8"],
        &[
            format!("set-value.toml:{line}: cluster.size: "),
            "out of range".to_string(),
            "(value from --set)".to_string(),
        ],
    );
}

#[test]
fn clap_usage_errors() {
    let (_dir, path) = write_case("usage", BASE);
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["run".into()],        // missing SCENARIO
        vec!["frobnicate".into()], // unknown subcommand
        vec![],                    // no subcommand
        vec!["run".into(), path.clone().into(), "--no-such-flag".into()],
        vec![
            "run".into(),
            path.into(),
            "--seed".into(),
            "minus-one".into(),
        ],
    ];
    for args in cases {
        let o = etcdlab_run(&args);
        o.assert_code(2);
        assert!(
            o.stderr.contains("Usage") || o.stderr.contains("error:"),
            "a usage error should explain itself\n{}",
            o.describe()
        );
    }
}

/// `BASE` with `section` (several lines) inserted before `[[expect]]`.
fn with_section(section: &str) -> String {
    edit("[[expect]]", &format!("{section}\n\n[[expect]]"))
}

/// Like `check`, for a broken copy of `BASE` with `section` added.
fn check_section(case: &str, section: &str, bad_line: &str, field: &str, message: &str) {
    let text = with_section(section);
    let line = line_of(&text, bad_line);
    let (_dir, path) = write_case(case, &text);
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_invalid(
        &path,
        &[],
        &[format!("{file}:{line}: {field}: "), message.to_string()],
    );
}

#[test]
fn the_new_keys_are_valid_together() {
    let text = edit(
        "size = 3",
        "size = 3\nquota_backend_bytes = 8589934592\nauto_compaction_mode = \"revision\"\n\
         auto_compaction_retention = \"1000\"",
    );
    let text = text.replace("start = \"1s\"", "start = \"1s\"\nstop = \"20s\"");
    let text = text.replace(
        "[[expect]]",
        "[[timeline]]\nat = \"10s\"\naction = \"etcdctl\"\ncommand = \"etcdctl endpoint status\"\n\n\
         [runbook]\nafter_alarm = \"NOSPACE\"\ndiagnosis = \"1d\"\nsteps = [\"etcdctl alarm disarm\"]\n\n\
         [kube]\nnodes = 3\n\n[fast_forward]\nuntil = \"2s\"\n\n[[expect]]",
    );
    let (_dir, path) = write_case("new-keys", &text);
    let o = run(etcdlab().arg("validate").arg(&path));
    o.assert_code(0);
    assert!(o.stdout.contains("2 timeline events"), "{}", o.describe());
}

#[test]
fn quota_backend_bytes_out_of_range() {
    check(
        "quota",
        "size = 3",
        "size = 3\nquota_backend_bytes = 1099511627777",
        "quota_backend_bytes = 1099511627777",
        "cluster.quota_backend_bytes",
        "out of range",
    );
}

#[test]
fn auto_compaction_retention_not_a_duration() {
    check(
        "auto-compaction-retention",
        "size = 3",
        "size = 3\nauto_compaction_mode = \"periodic\"\nauto_compaction_retention = \"1000\"",
        "auto_compaction_retention = \"1000\"",
        "cluster.auto_compaction_retention",
        "is not a duration like \"1h\"",
    );
}

#[test]
fn auto_compaction_retention_without_mode() {
    check(
        "auto-compaction-no-mode",
        "size = 3",
        "size = 3\nauto_compaction_retention = \"1h\"",
        "auto_compaction_retention = \"1h\"",
        "cluster.auto_compaction_retention",
        "needs auto_compaction_mode",
    );
}

#[test]
fn workload_stop_not_after_start() {
    check(
        "workload-stop",
        "start = \"1s\"",
        "start = \"1s\"\nstop = \"1s\"",
        "stop = \"1s\"",
        "workload.stop",
        "must be after workload.start",
    );
}

#[test]
fn duration_with_an_unknown_day_unit() {
    check(
        "days",
        "duration = \"30s\"",
        "duration = \"2days\"",
        "duration = \"2days\"",
        "duration",
        "unknown unit \"days\"",
    );
}

#[test]
fn etcdctl_unknown_command() {
    check_section(
        "etcdctl-unknown",
        "[[timeline]]\nat = \"10s\"\naction = \"etcdctl\"\ncommand = \"etcdctl snapshot verify x\"",
        "command = \"etcdctl snapshot verify x\"",
        "timeline.1.command",
        "unknown command",
    );
}

#[test]
fn etcdctl_member_outside_the_cluster() {
    check_section(
        "etcdctl-member",
        "[[timeline]]\nat = \"10s\"\naction = \"etcdctl\"\ncommand = \"etcdctl defrag --endpoints=m2,m4\"",
        "command = \"etcdctl defrag --endpoints=m2,m4\"",
        "timeline.1.command",
        "\"m4\" is not a member of this 3-member cluster",
    );
}

#[test]
fn runbook_without_steps() {
    check_section(
        "runbook-empty",
        "[runbook]\nafter_alarm = \"NOSPACE\"\nsteps = []",
        "steps = []",
        "runbook.steps",
        "at least one step",
    );
}

#[test]
fn runbook_bad_step_names_its_line() {
    check_section(
        "runbook-step",
        "[runbook]\nafter_alarm = \"NOSPACE\"\nsteps = [\n  \"etcdctl alarm list\",\n  \
         \"etcd restart m7\",\n  \"etcdctl alarm disarm\",\n]",
        "  \"etcd restart m7\",",
        "runbook.steps.1",
        "\"m7\" is not a member",
    );
}

#[test]
fn runbook_unknown_alarm() {
    check_section(
        "runbook-alarm",
        "[runbook]\nafter_alarm = \"NOSPAC\"\nsteps = [\"etcdctl alarm list\"]",
        "after_alarm = \"NOSPAC\"",
        "runbook.after_alarm",
        "unknown alarm",
    );
}

#[test]
fn kube_unknown_key() {
    check_section(
        "kube-key",
        "[kube]\nnodes = 3\npod_per_node = 10",
        "pod_per_node = 10",
        "kube.pod_per_node",
        "did you mean `pods_per_node`",
    );
}

#[test]
fn kube_invalid_combination() {
    check_section(
        "kube-combination",
        "[kube]\nconfigmaps = 0\nconfigmap_updates_per_hour = 5",
        "configmap_updates_per_hour = 5",
        "kube.configmap_updates_per_hour",
        "needs configmaps > 0",
    );
}

#[test]
fn fast_forward_without_kube() {
    check_section(
        "fast-forward-no-kube",
        "[fast_forward]\nuntil = \"2s\"",
        "[fast_forward]",
        "fast_forward",
        "fast_forward needs [kube]: it applies the Kubernetes workload's history",
    );
}

#[test]
fn fast_forward_until_past_the_end() {
    check_section(
        "fast-forward-end",
        "[kube]\n\n[fast_forward]\nuntil = \"30s\"",
        "until = \"30s\"",
        "fast_forward.until",
        "not before the end of the run",
    );
}

#[test]
fn timeline_action_during_the_fast_forward() {
    // The base's pause at 5s falls inside a fast-forward to 10s.
    check_section(
        "fast-forward-timeline",
        "[kube]\n\n[fast_forward]\nuntil = \"10s\"",
        "at = \"5s\"",
        "timeline.0.at",
        "5s is before fast_forward.until (10s)",
    );
}

#[test]
fn the_recovery_keys_are_valid_together() {
    let text = edit(
        "size = 3",
        "size = 3\nsnapshot_count = 10000\nsnapshot_catchup_entries = 500\n\
         initial_corrupt_check = true\ncorrupt_check_time = \"1m\"\n\
         initial_cluster_token = \"etcd-cluster-1\"",
    );
    let text = text.replace(
        "[[expect]]",
        "[[timeline]]\nat = \"10s\"\naction = \"etcdctl\"\n\
         command = \"etcdctl snapshot save backup.db --endpoints=m1\"\n\n\
         [[timeline]]\nat = \"12s\"\naction = \"corrupt_backend\"\nmember = \"m2\"\n\n\
         [[timeline]]\nat = \"14s\"\naction = \"wal_tail_lost\"\nmember = \"m3\"\nentries = 10\n\n\
         [[timeline]]\nat = \"16s\"\naction = \"etcdctl\"\n\
         command = \"etcdctl member add m4 --peer-urls=http://127.0.0.1:42380\"\n\n\
         [[timeline]]\nat = \"18s\"\naction = \"etcdctl\"\n\
         command = \"etcd start m4 --initial-cluster-state=existing\"\n\n\
         [[expect]]\ncluster_ids = 1\n\"lost_changes.configmaps\" = { max = 0 }\n\n[[expect]]",
    );
    let (_dir, path) = write_case("recovery-keys", &text);
    let o = run(etcdlab().arg("validate").arg(&path));
    o.assert_code(0);
    assert!(o.stdout.contains("6 timeline events"), "{}", o.describe());
}

#[test]
fn snapshot_count_zero() {
    check(
        "snapshot-count",
        "size = 3",
        "size = 3\nsnapshot_count = 0",
        "snapshot_count = 0",
        "cluster.snapshot_count",
        "out of range: it must be >= 1",
    );
}

#[test]
fn corrupt_check_time_not_a_duration() {
    check(
        "corrupt-check-time",
        "size = 3",
        "size = 3\ncorrupt_check_time = 60",
        "corrupt_check_time = 60",
        "cluster.corrupt_check_time",
        "expected a duration string",
    );
}

#[test]
fn initial_cluster_token_empty() {
    check(
        "initial-cluster-token",
        "size = 3",
        "size = 3\ninitial_cluster_token = \"\"",
        "initial_cluster_token = \"\"",
        "cluster.initial_cluster_token",
        "must not be empty",
    );
}

#[test]
fn wal_tail_lost_without_entries_count() {
    check_section(
        "wal-tail-lost",
        "[[timeline]]\nat = \"10s\"\naction = \"wal_tail_lost\"\nmember = \"m2\"\nentries = 0",
        "entries = 0",
        "timeline.1.entries",
        "0 is out of range",
    );
}

#[test]
fn snapshot_save_to_several_endpoints() {
    check_section(
        "snapshot-save",
        "[[timeline]]\nat = \"10s\"\naction = \"etcdctl\"\n\
         command = \"etcdctl snapshot save x.db --endpoints=m1,m2\"",
        "command = \"etcdctl snapshot save x.db --endpoints=m1,m2\"",
        "timeline.1.command",
        "snapshot must be requested to one selected node, not multiple [m1 m2]",
    );
}

#[test]
fn snapshot_restore_without_its_own_name_in_the_initial_cluster() {
    check_section(
        "snapshot-restore",
        "[runbook]\nafter_alarm = \"CORRUPT\"\nsteps = [\n  \"etcd stop m1\",\n  \
         \"etcdctl snapshot restore x.db --name m1 --initial-cluster m2=http://127.0.0.1:22380\",\n]",
        "  \"etcdctl snapshot restore x.db --name m1 --initial-cluster m2=http://127.0.0.1:22380\",",
        "runbook.steps.1",
        "couldn't find local name \"m1\" in the initial cluster configuration",
    );
}

#[test]
fn member_add_out_of_order() {
    check_section(
        "member-add",
        "[[timeline]]\nat = \"10s\"\naction = \"etcdctl\"\n\
         command = \"etcdctl member add m5 --peer-urls=http://127.0.0.1:52380\"",
        "command = \"etcdctl member add m5 --peer-urls=http://127.0.0.1:52380\"",
        "timeline.1.command",
        "the first `etcdctl member add` must add m4, not m5",
    );
}

#[test]
fn lost_changes_of_an_unknown_resource() {
    check(
        "lost-changes",
        "leader_changes = { max = 5 }",
        "leader_changes = { max = 5 }\n\"lost_changes.widgets\" = { max = 0 }",
        "\"lost_changes.widgets\" = { max = 0 }",
        "expect.0.lost_changes.widgets",
        "unknown resource `widgets`",
    );
}

#[test]
fn traffic_mix_with_an_unknown_kind() {
    check(
        "traffic-unknown-kind",
        "start = \"1s\"",
        "start = \"1s\"\n\n[traffic]\nkey_count = 5\n\n[traffic.mix]\nget = 1\nwatch = 3",
        "watch = 3",
        "traffic.mix.watch",
        "unknown key",
    );
}

#[test]
fn traffic_mix_of_nothing() {
    check(
        "traffic-mix-of-nothing",
        "start = \"1s\"",
        "start = \"1s\"\n\n[traffic]\nmix = { get = 0, put = 0 }",
        "mix = { get = 0, put = 0 }",
        "traffic.mix",
        "every weight is 0",
    );
}

#[test]
fn traffic_with_too_many_clients() {
    check(
        "traffic-too-many-clients",
        "start = \"1s\"",
        "start = \"1s\"\n\n[traffic]\nclients_per_member = 40",
        "clients_per_member = 40",
        "traffic.clients_per_member",
        "between 1 and 16",
    );
}

#[test]
fn liveness_past_the_end_of_the_run() {
    check(
        "liveness-past-the-end",
        "start = \"1s\"",
        "start = \"1s\"\n\n[liveness]\nfrom = \"25s\"\nwithin = \"10s\"",
        "within = \"10s\"",
        "liveness.within",
        "by the end of the run",
    );
}
