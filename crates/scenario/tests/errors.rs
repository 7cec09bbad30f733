//! One test per error class: the message names the file, the exact line and the field.

use etcdlab_scenario::*;

const FILE: &str = "scenarios/x.toml";

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

/// A valid file; tests append lines after its 4 lines.
const HEAD: &str = "duration = \"1h\"\n\n[cluster]\nsize = 3\n";

fn with(extra: &str) -> String {
    format!("{HEAD}{extra}")
}

#[test]
fn unknown_top_level_key() {
    let e = assert_error(
        "seed = 1\nsed = 2\nduration = \"1h\"\n",
        2,
        "sed",
        "unknown key `sed`",
    );
    assert!(e.message.contains("did you mean `seed`"), "{e}");
    assert!(
        e.message
            .contains("accepted keys: name, description, seed, duration"),
        "{e}"
    );
}

#[test]
fn unknown_top_level_table() {
    assert_error(
        &with("[clustr]\nsize = 3\n"),
        5,
        "clustr",
        "unknown key `clustr`",
    );
}

#[test]
fn unknown_nested_key() {
    let e = assert_error(
        &with("heartbeat_ms = 100\n"),
        5,
        "cluster.heartbeat_ms",
        "unknown key",
    );
    assert!(e.message.contains("heartbeat_interval_ms"), "{e}");
    let src = with(
        "[[timeline]]\nat = \"1s\"\naction = \"heal\"\n[[timeline]]\nat = \"2s\"\n\
                    action = \"pause\"\nmember = \"m1\"\nrepeat = { count = 2, evry = \"5s\" }\n",
    );
    assert_error(
        &src,
        12,
        "timeline.1.repeat.evry",
        "accepted keys: count, every",
    );
}

#[test]
fn wrong_type() {
    let src = "duration = \"1h\"\n[cluster]\nsize = \"three\"\n";
    assert_error(
        src,
        3,
        "cluster.size",
        "expected an integer, found string \"three\"",
    );
    assert_error(
        "duration = 3600\n",
        1,
        "duration",
        "expected a duration string",
    );
    assert_error(
        &with("pre_vote = 1\n"),
        5,
        "cluster.pre_vote",
        "expected a boolean",
    );
    assert_error(
        &with("[network]\nloss = \"none\"\n"),
        6,
        "network.loss",
        "expected a number",
    );
    assert_error(
        "duration = \"1h\"\ncluster = 3\n",
        2,
        "cluster",
        "expected a table",
    );
    assert_error(
        "duration = \"1h\"\n[expect]\nmax_term = 3\n",
        2,
        "expect",
        "[[expect]]",
    );
}

#[test]
fn election_timeout_below_five_heartbeats() {
    let src = with("heartbeat_interval_ms = 100\nelection_timeout_ms = 400\n");
    let e = assert_error(&src, 6, "cluster.election_timeout_ms", "400 is below 5 x");
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml:6: cluster.election_timeout_ms: 400 is below 5 x heartbeat_interval_ms \
         (500); etcd rejects this too"
    );
}

#[test]
fn election_timeout_above_etcd_max() {
    let src = with("election_timeout_ms = 60000\n");
    assert_error(&src, 5, "cluster.election_timeout_ms", "50000");
}

#[test]
fn cluster_size_out_of_range() {
    assert_error(
        "duration = \"1h\"\n[cluster]\nsize = 0\n",
        3,
        "cluster.size",
        "1 to 7",
    );
    assert_error(
        "duration = \"1h\"\n[cluster]\nsize = 8\n",
        3,
        "cluster.size",
        "1 to 7",
    );
    assert_error(
        "duration = \"1h\"\n[cluster]\nsize = -1\n",
        3,
        "cluster.size",
        "negative",
    );
}

#[test]
fn nonexistent_member() {
    let src = with("[[timeline]]\nat = \"1s\"\naction = \"pause\"\nmember = \"m4\"\n");
    assert_error(
        &src,
        8,
        "timeline.0.member",
        "\"m4\" is not \"leader\", \"follower\" or a member",
    );
    let src = with("[disk.members.m4]\nprofile = \"hdd\"\n");
    assert_error(&src, 5, "disk.members.m4", "m1..m3");
    let src = with("[[network.links]]\nfrom = [\"m1\"]\nto = [\"m2\", \"m4\"]\nloss = 0.1\n");
    assert_error(&src, 7, "network.links.0.to.1", "\"m4\" is not a member");
}

#[test]
fn bad_duration_string() {
    let src = with("[[timeline]]\nat = \"10 minutes\"\naction = \"heal\"\n");
    assert_error(&src, 6, "timeline.0.at", "bad duration \"10 minutes\"");
    assert_error("duration = \"1hour\"\n", 1, "duration", "unknown unit");
}

#[test]
fn unknown_action() {
    let src = with("[[timeline]]\nat = \"1s\"\naction = \"reboot\"\n");
    let e = assert_error(&src, 7, "timeline.0.action", "unknown action \"reboot\"");
    assert!(e.message.contains("pause, resume, crash"), "{e}");
}

#[test]
fn key_not_valid_for_the_action() {
    let src = with(
        "[[timeline]]\nat = \"1s\"\naction = \"pause\"\nmember = \"m1\"\n\
         groups = [[\"m1\"], [\"m2\"]]\n",
    );
    let e = assert_error(
        &src,
        9,
        "timeline.0.groups",
        "unknown key `groups` for action \"pause\"",
    );
    assert!(
        e.message
            .contains("accepted keys: at, action, repeat, member, duration"),
        "{e}"
    );
}

#[test]
fn unknown_expect_metric() {
    let src = with("[[expect]]\nleader_changes = { max = 1 }\nleader_flaps = { max = 0 }\n");
    let e = assert_error(
        &src,
        7,
        "expect.0.leader_flaps",
        "unknown metric `leader_flaps`",
    );
    assert!(e.message.contains("write_latency_ms_p99"), "{e}");
}

#[test]
fn expect_bounds() {
    let src = with("[[expect]]\nmax_term = { min = 3, max = 2 }\n");
    assert_error(&src, 6, "expect.0.max_term.max", "below min");
    let src = with("[[expect]]\nmax_term = {}\n");
    assert_error(&src, 6, "expect.0.max_term", "min, max or both");
}

#[test]
fn probability_above_one() {
    assert_error(
        &with("[network]\nloss = 1.5\n"),
        6,
        "network.loss",
        "not a probability",
    );
    assert_error(
        &with("[network]\nduplicate = -0.1\n"),
        6,
        "network.duplicate",
        "0..=1",
    );
}

#[test]
fn malformed_toml() {
    let e = parse_str("duration = \"1h\"\n[cluster\nsize = 3\n", FILE, &[]).unwrap_err();
    assert_eq!((e.file.as_str(), e.line), (FILE, Some(2)));
    assert!(
        e.to_string()
            .starts_with("scenarios/x.toml:2: invalid TOML"),
        "{e}"
    );
    let e = parse_str("duration = \"1h\"\nduration = \"2h\"\n", FILE, &[]).unwrap_err();
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn missing_required_keys() {
    let e = parse_str("seed = 1\n", FILE, &[]).unwrap_err();
    assert_eq!(e.to_string(), format!("{FILE}: duration: required key `duration` is missing (the simulated run length, e.g. \"1h\")"));
    let src = with("[[timeline]]\naction = \"heal\"\n");
    assert_error(&src, 5, "timeline.0.at", "required key `at` is missing");
    let src = with("[[timeline]]\nat = \"1s\"\naction = \"disk_stall\"\nmember = \"m1\"\n");
    assert_error(&src, 5, "timeline.0.duration", "required");
    let src = with("[disk]\nprofile = \"custom\"\nfsync_latency_ms = 1\n");
    assert_error(&src, 5, "disk.write_latency_ms", "custom");
}

#[test]
fn timeline_times_must_fit_the_run() {
    let src = with("[[timeline]]\nat = \"2h\"\naction = \"heal\"\n");
    assert_error(
        &src,
        6,
        "timeline.0.at",
        "not before the end of the run (duration = 1h)",
    );
    let src = with(
        "[[timeline]]\nat = \"50m\"\naction = \"pause\"\nmember = \"leader\"\n\
         duration = \"3s\"\nrepeat = { count = 40, every = \"20s\" }\n",
    );
    assert_error(
        &src,
        10,
        "timeline.0.repeat",
        "the last of 40 firings is at 1h3m",
    );
    let src = with(
        "[[timeline]]\nat = \"1m\"\naction = \"pause\"\nmember = \"leader\"\n\
         duration = \"30s\"\nrepeat = { count = 3, every = \"20s\" }\n",
    );
    assert_error(
        &src,
        10,
        "timeline.0.repeat.every",
        "longer than the event's duration",
    );
    let src = with(
        "[[timeline]]\nat = \"1m\"\naction = \"heal\"\nrepeat = { count = 0, every = \"1s\" }\n",
    );
    assert_error(&src, 8, "timeline.0.repeat.count", "expected 1..=100000");
}

#[test]
fn partition_groups() {
    let event = |groups: &str| {
        with(&format!(
            "[[timeline]]\nat = \"1s\"\naction = \"partition\"\ngroups = {groups}\n"
        ))
    };
    assert_error(
        &event("[[\"m1\", \"m2\", \"m3\"]]"),
        8,
        "timeline.0.groups",
        "at least 2",
    );
    assert_error(
        &event("[[\"m1\"], [\"m1\", \"m2\"]]"),
        8,
        "timeline.0.groups",
        "more than one",
    );
    assert_error(
        &event("[[\"m1\"], []]"),
        8,
        "timeline.0.groups.1",
        "empty member list",
    );
}

#[test]
fn distribution_errors_name_the_field() {
    let src = with("[disk]\nfsync_latency_ms = { dist = \"lognormal\", median = 0, sigma = 1 }\n");
    assert_error(&src, 6, "disk.fsync_latency_ms.median", "must be > 0");
    let src = with("[workload]\nvalue_size_bytes = -5\n");
    assert_error(&src, 6, "workload.value_size_bytes", "negative");
}

#[test]
fn link_fault_needs_a_change() {
    let src =
        with("[[timeline]]\nat = \"1s\"\naction = \"link_fault\"\nfrom = \"m1\"\nto = \"m2\"\n");
    assert_error(&src, 5, "timeline.0", "one_way_latency_ms, loss or both");
    let src = with(
        "[[timeline]]\nat = \"1s\"\naction = \"link_fault\"\nfrom = \"m1\"\nto = [\"m1\"]\nloss = 1\n",
    );
    assert_error(&src, 9, "timeline.0.to", "in both from and to");
}
