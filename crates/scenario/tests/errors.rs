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

#[test]
fn quota_backend_bytes() {
    assert_error(
        &with("quota_backend_bytes = 1099511627777\n"),
        5,
        "cluster.quota_backend_bytes",
        "1099511627777 is out of range: it must be 0..=1099511627776",
    );
    assert_error(
        &with("quota_backend_bytes = -1\n"),
        5,
        "cluster.quota_backend_bytes",
        "-1 is negative",
    );
    assert_error(
        &with("quota_backend_bytes = \"8GiB\"\n"),
        5,
        "cluster.quota_backend_bytes",
        "expected an integer, found string",
    );
    assert_error(
        &with("quota_backend_bytes = 8.5e9\n"),
        5,
        "cluster.quota_backend_bytes",
        "expected an integer",
    );
    let e = assert_error(
        &with("quota_bytes = 1\n"),
        5,
        "cluster.quota_bytes",
        "unknown key `quota_bytes`",
    );
    assert!(e.message.contains("quota_backend_bytes"), "{e}");
}

#[test]
fn auto_compaction() {
    let e = assert_error(
        &with("auto_compaction_mode = \"hourly\"\nauto_compaction_retention = \"1h\"\n"),
        5,
        "cluster.auto_compaction_mode",
        "unknown mode \"hourly\"",
    );
    assert!(e.message.contains("\"periodic\" or \"revision\""), "{e}");
    assert_error(
        &with("auto_compaction_mode = 1\n"),
        5,
        "cluster.auto_compaction_mode",
        "expected a string",
    );
    assert_error(
        &with("auto_compaction_mode = \"periodic\"\nauto_compaction_retention = \"1000\"\n"),
        6,
        "cluster.auto_compaction_retention",
        "\"1000\" is not a duration like \"1h\"",
    );
    assert_error(
        &with("auto_compaction_mode = \"periodic\"\nauto_compaction_retention = \"0s\"\n"),
        6,
        "cluster.auto_compaction_retention",
        "not a duration",
    );
    for bad in ["1h", "0", "-5", "1e3", "99999999999999999999"] {
        let src = with(&format!(
            "auto_compaction_mode = \"revision\"\nauto_compaction_retention = \"{bad}\"\n"
        ));
        assert_error(
            &src,
            6,
            "cluster.auto_compaction_retention",
            "not a positive revision count",
        );
    }
    assert_error(
        &with("auto_compaction_mode = \"revision\"\nauto_compaction_retention = 1000\n"),
        6,
        "cluster.auto_compaction_retention",
        "expected a string, found integer 1000",
    );
    // A mode without retention: missing key at the table's line.
    assert_error(
        &with("auto_compaction_mode = \"periodic\"\n"),
        3,
        "cluster.auto_compaction_retention",
        "required key `auto_compaction_retention` is missing",
    );
    // Retention without a mode points at the retention.
    assert_error(
        &with("auto_compaction_retention = \"1h\"\n"),
        5,
        "cluster.auto_compaction_retention",
        "needs auto_compaction_mode",
    );
    assert_error(
        &with("election_timeout_ms = 1000\nauto_compaction_retention = 1000\n"),
        6,
        "cluster.auto_compaction_retention",
        "needs auto_compaction_mode",
    );
}

#[test]
fn workload_stop() {
    assert_error(
        &with("[workload]\nstart = \"10m\"\nstop = \"5m\"\n"),
        7,
        "workload.stop",
        "must be after workload.start",
    );
    assert_error(
        &with("[workload]\nstart = \"10m\"\nstop = \"10m\"\n"),
        7,
        "workload.stop",
        "must be after workload.start",
    );
    assert_error(
        &with("[workload]\nstop = \"0s\"\n"),
        6,
        "workload.stop",
        "must be after workload.start",
    );
    assert_error(
        &with("[workload]\nstop = \"5 minutes\"\n"),
        6,
        "workload.stop",
        "bad duration",
    );
    assert_error(
        &with("[workload]\nstop = 300\n"),
        6,
        "workload.stop",
        "expected a duration string",
    );
}

#[test]
fn durations_in_days() {
    assert_error(
        "duration = \"1day\"\n",
        1,
        "duration",
        "bad duration \"1day\": unknown unit \"day\" (use ns, us, ms, s, m, h or d)",
    );
    assert_error("duration = \"d\"\n", 1, "duration", "expected a number");
    assert_error(
        "duration = \"1d\"\n[[timeline]]\nat = \"1d\"\naction = \"heal\"\n",
        3,
        "timeline.0.at",
        "1d is not before the end of the run (duration = 1d)",
    );
    assert_error(
        &format!("duration = \"{}d\"\n", "9".repeat(20)),
        1,
        "duration",
        "too long",
    );
}

/// `HEAD` plus one `etcdctl` timeline entry; its `command` is on line 8.
fn etcdctl(command: &str) -> String {
    with(&format!(
        "[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\ncommand = \"{command}\"\n"
    ))
}

#[test]
fn etcdctl_unknown_command() {
    for bad in [
        "etcdctl snapshot verify x",
        "etcdctl snapshot",
        "etcdctl member",
        "etcdctl member update m1",
        "etcdctl alarm",
        "etcdctl alarm list --cluster",
        "etcdctl",
        "",
        "etcd kill m1",
        "systemctl restart etcd",
    ] {
        let e = assert_error(&etcdctl(bad), 8, "timeline.0.command", "unknown command");
        assert!(e.message.contains("etcdctl endpoint status"), "{e}");
    }
    assert_error(
        &etcdctl("kubectl delete pod x"),
        8,
        "timeline.0.command",
        "\"kubectl delete pod x\": unsupported command",
    );
    assert_error(
        &etcdctl("kubectl get widgets"),
        8,
        "timeline.0.command",
        "unknown resource type",
    );
}

#[test]
fn etcdctl_bad_arguments() {
    let cases = [
        (
            "etcdctl endpoint status --verbose",
            "endpoint status does not take --verbose; it takes --cluster, -w/--write-out",
        ),
        (
            "etcdctl endpoint status -w json",
            "unsupported output format \"json\"; use -w table|simple",
        ),
        (
            "etcdctl compact -5",
            "the revision must be a positive integer or \"current\"",
        ),
        ("etcdctl compact 0", "positive integer"),
        ("etcdctl compact latest", "positive integer"),
        (
            "etcdctl compact 10 --hard",
            "the only flag compact takes is --physical",
        ),
        (
            "etcdctl defrag m1",
            "defrag takes --endpoints=m1,m2 or --cluster",
        ),
        ("etcdctl defrag --cluster --endpoints=m1", "defrag takes"),
        (
            "etcd restart m1 --quota=5",
            "restart takes only --quota-backend-bytes=N",
        ),
        (
            "etcd restart m1 --quota-backend-bytes=0",
            "--quota-backend-bytes needs",
        ),
        (
            "etcd restart m1 --quota-backend-bytes=8GB",
            "--quota-backend-bytes needs",
        ),
        (
            "etcd restart m1 --quota-backend-bytes=1099511627777",
            "1..=1099511627776",
        ),
        ("kubectl scale deployment web --replicas=-1", "--replicas"),
        (
            "kubectl get pods -A -n kube-system",
            "-A and -n cannot be used together",
        ),
    ];
    for (command, text) in cases {
        let e = assert_error(&etcdctl(command), 8, "timeline.0.command", text);
        assert!(e.message.starts_with(&format!("{command:?}")), "{e}");
    }
}

#[test]
fn etcdctl_member_out_of_range() {
    for (command, name) in [
        ("etcdctl defrag --endpoints=m4", "\"m4\""),
        ("etcdctl defrag --endpoints=m1,m0", "\"m0\""),
        ("etcdctl defrag --endpoints m2,x", "\"x\""),
        ("etcdctl defrag --endpoints=", "\"\""),
        ("etcd restart m4", "\"m4\""),
        ("etcd restart leader", "\"leader\""),
    ] {
        let e = assert_error(
            &etcdctl(command),
            8,
            "timeline.0.command",
            "is not a member of this 3-member cluster (m1..m3)",
        );
        assert!(e.message.contains(name), "{e}");
    }
    // The range follows cluster.size.
    let src = "duration = \"1h\"\n[cluster]\nsize = 1\n[[timeline]]\nat = \"1s\"\n\
               action = \"etcdctl\"\ncommand = \"etcd restart m2\"\n";
    assert_error(
        src,
        7,
        "timeline.0.command",
        "not a member of this 1-member cluster (m1..m1)",
    );
}

#[test]
fn etcdctl_action_keys() {
    assert_error(
        &with("[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\n"),
        5,
        "timeline.0.command",
        "required key `command` is missing",
    );
    assert_error(
        &with("[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\ncommand = [\"etcdctl\", \"alarm\", \"list\"]\n"),
        8,
        "timeline.0.command",
        "expected a string",
    );
    let e = assert_error(
        &with(
            "[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\ncommand = \"etcdctl defrag\"\n\
             member = \"m1\"\n",
        ),
        9,
        "timeline.0.member",
        "unknown key `member` for action \"etcdctl\"",
    );
    assert!(
        e.message
            .contains("accepted keys: at, action, repeat, command"),
        "{e}"
    );
    assert_error(
        &with("[[timeline]]\nat = \"1m\"\naction = \"pause\"\nmember = \"m1\"\ncommand = \"etcdctl defrag\"\n"),
        9,
        "timeline.0.command",
        "unknown key `command` for action \"pause\"",
    );
}

/// `HEAD` plus a `[runbook]` on line 5 with `body` from line 6 on.
fn runbook(body: &str) -> String {
    with(&format!("[runbook]\n{body}"))
}

#[test]
fn runbook_keys() {
    let e = assert_error(
        &runbook(
            "after_alarm = \"NOSPACE\"\nsteps = [\"etcdctl alarm list\"]\nthinktime = \"1m\"\n",
        ),
        8,
        "runbook.thinktime",
        "unknown key `thinktime`",
    );
    assert!(e.message.contains("did you mean `think_time`"), "{e}");
    assert!(
        e.message
            .contains("accepted keys: after_alarm, diagnosis, think_time, steps"),
        "{e}"
    );
    assert_error(
        "duration = \"1h\"\nrunbook = \"etcdctl alarm list\"\n",
        2,
        "runbook",
        "expected a table",
    );
    assert_error(
        &runbook("steps = [\"etcdctl alarm list\"]\n"),
        5,
        "runbook.after_alarm",
        "required key `after_alarm` is missing",
    );
    assert_error(
        &runbook("after_alarm = \"NOSPACE\"\n"),
        5,
        "runbook.steps",
        "required key `steps` is missing",
    );
}

#[test]
fn runbook_values() {
    let e = assert_error(
        &runbook("after_alarm = \"nospace\"\nsteps = [\"etcdctl alarm list\"]\n"),
        6,
        "runbook.after_alarm",
        "unknown alarm \"nospace\"",
    );
    assert!(e.message.contains("\"NOSPACE\" or \"CORRUPT\""), "{e}");
    assert_error(
        &runbook("after_alarm = 1\nsteps = [\"etcdctl alarm list\"]\n"),
        6,
        "runbook.after_alarm",
        "expected a string",
    );
    assert_error(
        &runbook("after_alarm = \"NOSPACE\"\nsteps = []\n"),
        7,
        "runbook.steps",
        "a runbook needs at least one step",
    );
    assert_error(
        &runbook("after_alarm = \"NOSPACE\"\nsteps = \"etcdctl alarm list\"\n"),
        7,
        "runbook.steps",
        "expected an array of command strings",
    );
    assert_error(
        &runbook("after_alarm = \"NOSPACE\"\nsteps = [\"etcdctl alarm list\", 2]\n"),
        7,
        "runbook.steps.1",
        "expected a string, found integer 2",
    );
    assert_error(
        &runbook(
            "after_alarm = \"NOSPACE\"\nsteps = [\"etcdctl alarm list\"]\ndiagnosis = \"half an hour\"\n",
        ),
        8,
        "runbook.diagnosis",
        "bad duration",
    );
    assert_error(
        &runbook("after_alarm = \"NOSPACE\"\nsteps = [\"etcdctl alarm list\"]\nthink_time = 180\n"),
        8,
        "runbook.think_time",
        "expected a duration string",
    );
}

#[test]
fn runbook_bad_step_names_its_line() {
    let src = runbook(
        "after_alarm = \"NOSPACE\"\nsteps = [\n  \"etcdctl alarm list\",\n  \
         \"etcdctl compact current --physical\",\n  \"etcdctl defrag --endpoints=m4\",\n  \
         \"etcdctl alarm disarm\",\n]\n",
    );
    assert_error(
        &src,
        10,
        "runbook.steps.2",
        "\"etcdctl defrag --endpoints=m4\": \"m4\" is not a member",
    );
    let src = runbook(
        "after_alarm = \"NOSPACE\"\nsteps = [\n  \"etcdctl alarm list\",\n  \
         \"etcdctl snapshot restore\",\n]\n",
    );
    assert_error(
        &src,
        9,
        "runbook.steps.1",
        "\"etcdctl snapshot restore\": snapshot restore requires exactly one argument",
    );
    let src = runbook(
        "after_alarm = \"NOSPACE\"\nsteps = [\n  \"etcdctl alarm list\",\n  \
         \"etcdctl snapshot verify x.db\",\n]\n",
    );
    assert_error(
        &src,
        9,
        "runbook.steps.1",
        "unknown command \"etcdctl snapshot verify x.db\"",
    );
}

/// `HEAD` plus a `[kube]` on line 5 with `body` from line 6 on.
fn kube(body: &str) -> String {
    with(&format!("[kube]\n{body}"))
}

#[test]
fn kube_keys_and_types() {
    let e = assert_error(&kube("nodez = 3\n"), 6, "kube.nodez", "unknown key `nodez`");
    assert!(e.message.contains("did you mean `nodes`"), "{e}");
    assert!(
        e.message.contains("accepted keys: nodes, app_namespaces"),
        "{e}"
    );
    assert_error(
        "duration = \"1h\"\nkube = true\n",
        2,
        "kube",
        "expected a table",
    );
    assert_error(
        &kube("nodes = \"ten\"\n"),
        6,
        "kube.nodes",
        "expected an integer, found string \"ten\"",
    );
    assert_error(
        &kube("nodes = 2.5\n"),
        6,
        "kube.nodes",
        "expected an integer",
    );
    assert_error(&kube("secrets = -1\n"), 6, "kube.secrets", "negative");
    assert_error(
        &kube("pods_per_node = 100001\n"),
        6,
        "kube.pods_per_node",
        "100001 is out of range",
    );
    assert_error(
        &kube("events_per_hour = \"lots\"\n"),
        6,
        "kube.events_per_hour",
        "expected a number",
    );
    assert_error(
        &kube("pod_churn_per_hour = -1\n"),
        6,
        "kube.pod_churn_per_hour",
        "-1 is out of range: expected 0 to 1000000",
    );
    assert_error(
        &kube("events_per_hour = 2e6\n"),
        6,
        "kube.events_per_hour",
        "out of range",
    );
    assert_error(
        &kube("node_lease_renew_interval_s = nan\n"),
        6,
        "kube.node_lease_renew_interval_s",
        "not a finite number",
    );
    assert_error(
        &kube("apiserver_compaction = \"yes\"\n"),
        6,
        "kube.apiserver_compaction",
        "expected a boolean",
    );
    assert_error(
        &kube("apiserver_compaction_interval = \"0s\"\n"),
        6,
        "kube.apiserver_compaction_interval",
        "must be longer than 0s",
    );
    assert_error(&kube("start = \"soon\"\n"), 6, "kube.start", "bad duration");
}

#[test]
fn kube_invalid_combinations() {
    // A rule about one key points at that key.
    assert_error(
        &kube("nodes = 3\nreplicas_per_deployment = 0\n"),
        7,
        "kube.replicas_per_deployment",
        "replicas_per_deployment must be >= 1",
    );
    assert_error(
        &kube("app_namespaces = 101\n"),
        6,
        "kube.app_namespaces",
        "app_namespaces must be <= 100",
    );
    assert_error(
        &kube("node_lease_renew_interval_s = 0\n"),
        6,
        "kube.node_lease_renew_interval_s",
        "node_lease_renew_interval_s must be > 0",
    );
    assert_error(
        &kube("node_status_update_interval_s = 0\n"),
        6,
        "kube.node_status_update_interval_s",
        "must be > 0",
    );
    assert_error(
        &kube("configmaps = 0\nconfigmap_updates_per_hour = 5\n"),
        7,
        "kube.configmap_updates_per_hour",
        "configmap_updates_per_hour > 0 needs configmaps > 0",
    );
    // A rule about keys left at their defaults points at the table.
    assert_error(
        &kube("configmaps = 0\n"),
        5,
        "kube",
        "configmap_updates_per_hour > 0 needs configmaps > 0",
    );
    assert_error(
        &kube("secrets = 0\n"),
        5,
        "kube",
        "secret_updates_per_hour > 0 needs secrets > 0",
    );
    assert_error(
        &kube("nodes = 0\n"),
        5,
        "kube",
        "pod churn and events need pods",
    );
    assert_error(
        &kube("pods_per_node = 0\npod_churn_per_hour = 0\n"),
        5,
        "kube",
        "pod churn and events need pods",
    );
}

#[test]
fn fast_forward_values() {
    let ff = |body: &str| with(&format!("[kube]\n[fast_forward]\n{body}"));
    assert_error(
        &ff("stop_before_quota_bytes = 0\n"),
        6,
        "fast_forward.until",
        "required key `until` is missing",
    );
    assert_error(
        &ff("until = \"1h\"\n"),
        7,
        "fast_forward.until",
        "1h is not before the end of the run (duration = 1h)",
    );
    assert_error(
        &ff("until = 60\n"),
        7,
        "fast_forward.until",
        "expected a duration string",
    );
    let e = assert_error(
        &ff("until = \"30m\"\nscrape = \"1m\"\n"),
        8,
        "fast_forward.scrape",
        "unknown key `scrape`",
    );
    assert!(
        e.message
            .contains("accepted keys: until, stop_before_quota_bytes, scrape_interval"),
        "{e}"
    );
    assert_error(
        &ff("until = \"30m\"\nscrape_interval = \"0s\"\n"),
        8,
        "fast_forward.scrape_interval",
        "must be longer than 0s",
    );
    assert_error(
        &ff("until = \"30m\"\nstop_before_quota_bytes = -1\n"),
        8,
        "fast_forward.stop_before_quota_bytes",
        "negative",
    );
    assert_error(
        &ff("until = \"30m\"\nstop_before_quota_bytes = \"64MiB\"\n"),
        8,
        "fast_forward.stop_before_quota_bytes",
        "expected an integer",
    );
    assert_error(
        &with("[kube]\nfast_forward = \"30m\"\n"),
        6,
        "kube.fast_forward",
        "unknown key",
    );
}

#[test]
fn fast_forward_needs_kube() {
    let e = assert_error(
        &with("[fast_forward]\nuntil = \"30m\"\n"),
        5,
        "fast_forward",
        "fast_forward needs [kube]: it applies the Kubernetes workload's history",
    );
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml:5: fast_forward: fast_forward needs [kube]: it applies the Kubernetes \
         workload's history"
    );
    // Inline table too.
    assert_error(
        &with(
            "[workload]\nwrites_per_s = 1\n[metrics]\nscrape_interval = \"15s\"\n\
               [fast_forward]\nuntil = \"1m\"\n",
        ),
        9,
        "fast_forward",
        "needs [kube]",
    );
}

#[test]
fn timeline_before_fast_forward_until() {
    let src = with(
        "[kube]\n[fast_forward]\nuntil = \"30m\"\n\
         [[timeline]]\nat = \"40m\"\naction = \"heal\"\n\
         [[timeline]]\nat = \"29m59s\"\naction = \"etcdctl\"\ncommand = \"etcdctl alarm list\"\n",
    );
    let e = assert_error(
        &src,
        12,
        "timeline.1.at",
        "29m59s is before fast_forward.until (30m)",
    );
    assert!(e.message.contains("at or after"), "{e}");
    // The first firing counts, even if the repeats come after `until`.
    let src = with(
        "[[timeline]]\nat = \"0s\"\naction = \"pause\"\nmember = \"m1\"\n\
         repeat = { count = 3, every = \"20m\" }\n[kube]\n[fast_forward]\nuntil = \"1m\"\n",
    );
    assert_error(
        &src,
        6,
        "timeline.0.at",
        "0s is before fast_forward.until (1m)",
    );
}

#[test]
fn fast_forward_until_from_set() {
    let src = with(
        "[kube]\n[fast_forward]\nuntil = \"10m\"\n[[timeline]]\nat = \"20m\"\naction = \"heal\"\n",
    );
    assert!(parse_str(&src, FILE, &[]).is_ok());
    let e = parse_str(&src, FILE, &["fast_forward.until=30m".into()]).unwrap_err();
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(9), Some("timeline.0.at")),
        "{e}"
    );
    assert!(e.message.contains("before fast_forward.until (30m)"), "{e}");
    let e = parse_str(&src, FILE, &["timeline.0.at=5m".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenarios/x.toml:9: timeline.0.at: 5m is before fast_forward.until (10m): nothing but \
         the Kubernetes workload's history runs during the fast-forward, so actions must come at \
         or after it (value from --set)"
    );
}

#[test]
fn reads_watches_and_disk_full() {
    assert_error(
        &with("[workload]\nread_consistency = \"eventual\"\n"),
        6,
        "workload.read_consistency",
        "unknown consistency \"eventual\"; use \"linearizable\" or \"serializable\"",
    );
    assert_error(
        &with("[workload]\nreads_per_s = -1\n"),
        6,
        "workload.reads_per_s",
        "",
    );
    assert_error(
        &with("[[watch]]\nname = \"w\"\nmember = \"m9\"\nprefix = \"/registry/\"\n"),
        7,
        "watch.0.member",
        "\"m9\" is not a member",
    );
    assert_error(
        &with("[[watch]]\nname = \"w\"\nmember = \"m1\"\nprefix = \"\"\n"),
        8,
        "watch.0.prefix",
        "must not be empty",
    );
    assert_error(
        &with("[[watch]]\nname = \"w\"\nmember = \"m1\"\nprefix = \"/x/\"\nevents_per_s = 0\n"),
        9,
        "watch.0.events_per_s",
        "must be > 0",
    );
    assert_error(
        &with("[[watch]]\nname = \"w\"\nmember = \"m1\"\nprefix = \"/x/\"\nprogress_notify = 1\n"),
        9,
        "watch.0.progress_notify",
        "expected a boolean",
    );
    assert_error(
        &with("[[watch]]\nname = \"w\"\nmember = \"m1\"\nprefix = \"/x/\"\non_compacted = \"retry\"\n"),
        9,
        "watch.0.on_compacted",
        "unknown answer \"retry\"; use \"relist\" or \"resume\"",
    );
    assert_error(
        &with("[workload]\ndelete_ratio = 1.5\n"),
        6,
        "workload.delete_ratio",
        "",
    );
    assert_error(
        &with("[workload]\ntxn_ratio = -0.1\n"),
        6,
        "workload.txn_ratio",
        "",
    );
    assert_error(
        &with("[workload]\ndelete_ratio = 0.5\ntxn_ratio = 0.6\n"),
        7,
        "workload.txn_ratio",
        "txn_ratio 0.6 and delete_ratio 0.5 add up to more than 1",
    );
    assert_error(
        &with("[[watch]]\nname = \"w\"\nmember = \"m1\"\nprefix = \"/x/\"\nspeed = 3\n"),
        9,
        "watch.0.speed",
        "unknown key `speed`",
    );
    assert_error(
        &with("[[timeline]]\nat = \"1m\"\naction = \"disk_full\"\nmember = \"m7\"\n"),
        8,
        "timeline.0.member",
        "\"m7\" is not",
    );
    assert_error(
        &with("[[timeline]]\nat = \"1m\"\naction = \"disk_full\"\nmember = \"m1\"\nduration = \"0s\"\n"),
        9,
        "timeline.0.duration",
        "",
    );
}
