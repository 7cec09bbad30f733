//! `etcdlab explore`: random runs judged for safety and liveness; a failing run is written as
//! a scenario and shrunk to a minimal one that `etcdlab run` replays to the same failure.

mod common;

use common::*;
use std::fs;

#[test]
fn runs_without_a_bug_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("explore");
    let o = run(etcdlab()
        .args([
            "explore", "--runs", "3", "--seed", "2", "--jobs", "2", "--out",
        ])
        .arg(&out));
    o.assert_code(0);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["runs"], 3);
    assert_eq!(summary["passed"], 3);
    assert_eq!(summary["failures"].as_array().unwrap().len(), 0);
}

/// The first run seed 1 draws that loses a write with etcd's bug #14370 injected (a crash of
/// one member), the runs up to it, and the shard of two it falls in.
const FAILING_RUN: u64 = 4;
const RUNS: &str = "5";
const FAILING_SHARD: &str = "1/2";

/// With etcd's lost-write bug (#14370) injected, seed 1's run FAILING_RUN fails; its minimal
/// case keeps at most 3 timeline actions and replays to the same broken invariant, and exploring again, as two
/// shards merged, writes the same files.
#[test]
fn an_injected_bug_is_found_shrunk_and_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("explore");
    let first = run(etcdlab()
        .env("ETCDLAB_INJECT_BUG", "lost-write-on-crash")
        .args([
            "explore", "--runs", RUNS, "--seed", "1", "--jobs", "2", "--out",
        ])
        .arg(&out));
    first.assert_code(1);
    assert!(
        first
            .stdout
            .contains(&format!("run {FAILING_RUN}: invariant failed")),
        "{}",
        first.stdout
    );
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(json["failed"], 1);
    let failure = &json["failures"][0];
    assert_eq!(failure["run"], FAILING_RUN);
    let minimal_file = format!("failures/{FAILING_RUN}/minimal.toml");
    assert_eq!(failure["minimal"], minimal_file.as_str());
    // The bar: at most 3 timeline actions.
    assert!(
        failure["minimal_faults"].as_u64().unwrap() <= 3,
        "{failure}"
    );
    let minimal = fs::read_to_string(out.join(&minimal_file)).unwrap();
    let original =
        fs::read_to_string(out.join(format!("failures/{FAILING_RUN}/original.toml"))).unwrap();
    assert!(minimal.matches("[[timeline]]").count() < original.matches("[[timeline]]").count());
    assert!(minimal.matches("[[timeline]]").count() <= 3, "{minimal}");
    assert!(minimal.contains("size = 1"), "{minimal}");
    // The minimal case replays to the same failure.
    let replay = run(etcdlab()
        .env("ETCDLAB_INJECT_BUG", "lost-write-on-crash")
        .arg("run")
        .arg(out.join(&minimal_file))
        .arg("--out")
        .arg(tmp.path().join("replay")));
    replay.assert_code(3);
    assert!(
        replay.stderr.contains("invariant violated"),
        "{}",
        replay.stderr
    );
    // Deterministic on any --jobs, and sharded: two shards with one job each, merged, write
    // the same files.
    let shard = |i: &str| {
        let dir = tmp.path().join(format!("shard-{}", &i[..1]));
        let o = run(etcdlab()
            .env("ETCDLAB_INJECT_BUG", "lost-write-on-crash")
            .args(["explore", "--runs", RUNS, "--seed", "1", "--jobs", "1"])
            .args(["--shard", i, "--out"])
            .arg(&dir));
        o.assert_code(if i == FAILING_SHARD { 1 } else { 0 });
        dir
    };
    let (one, two) = (shard("1/2"), shard("2/2"));
    let merged = tmp.path().join("merged");
    let m = run(etcdlab()
        .arg("explore-merge")
        .arg(&one)
        .arg(&two)
        .arg("--out")
        .arg(&merged));
    m.assert_code(1);
    assert_eq!(
        fs::read_to_string(merged.join("summary.json")).unwrap(),
        summary
    );
    assert_eq!(
        fs::read_to_string(merged.join(format!("failures/{FAILING_RUN}/minimal.toml"))).unwrap(),
        minimal
    );
    // A shard missing, or given twice, is refused.
    let twice = run(etcdlab()
        .arg("explore-merge")
        .arg(&one)
        .arg(&one)
        .arg("--out")
        .arg(tmp.path().join("bad")));
    twice.assert_code(2);
    assert!(twice.stderr.contains("given twice"), "{}", twice.stderr);
}

#[test]
fn a_bad_time_budget_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(etcdlab()
        .args(["explore", "--runs", "1", "--time-budget", "soon", "--out"])
        .arg(tmp.path()));
    o.assert_code(2);
    assert!(o.stderr.contains("--time-budget"), "{}", o.stderr);
}

/// Around the user's cluster: its [cluster], [disk] and [network] are in every case, the
/// cluster keeps its size when shrunk.
#[test]
fn a_base_scenario_gives_its_cluster_disks_and_network() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("explore");
    let o = run(etcdlab()
        .env("ETCDLAB_INJECT_BUG", "lost-write-on-crash")
        .args([
            "explore",
            "scenarios/single-member-crash.toml",
            "--runs",
            "1",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(&out));
    o.assert_code(1);
    let minimal = fs::read_to_string(out.join("failures/0/minimal.toml")).unwrap();
    assert!(
        minimal.contains("# The cluster, disks and network of scenarios/single-member-crash.toml"),
        "{minimal}"
    );
    assert!(minimal.contains("profile = \"hdd\""), "{minimal}");
    assert!(minimal.contains("size = 1"), "{minimal}");
    let missing = run(etcdlab()
        .args(["explore", "scenarios/no-such.toml", "--runs", "1", "--out"])
        .arg(tmp.path().join("none")));
    missing.assert_code(2);
    assert!(
        missing.stderr.contains("no-such.toml"),
        "{}",
        missing.stderr
    );
}

/// Every injected etcd bug (docs/checkers.md), the first run of seed 1 that finds it
/// (`ETCDLAB_INJECT_BUG=<bug> etcdlab explore --runs 200 --seed 1`, default settings) and
/// the check that fails. docs/explore.md lists the same runs with their shrunk cases.
const FOUND: &[(&str, u64, &str)] = &[
    ("stale-read-after-pause", 50, "linearizability"),
    ("lost-write-on-crash", 4, "invariant"),
    ("duplicate-watch-event", 0, "invariant"),
    ("watch-back-in-time-after-partition", 20, "invariant"),
    ("progress-notify-ahead-of-events", 0, "watch"),
    ("watch-drop-on-compacted-delete", 8, "invariant"),
    ("revision-back-after-compaction-crash", 0, "watch"),
];

/// Exploration finds each injected bug within the 200 runs: the drawn run fails the
/// check with the bug and passes without it (so the failure is the bug's, not the run's).
#[test]
fn exploring_finds_every_injected_bug() {
    use etcdlab_lab::explore::{judge, Case, Verdict};
    use etcdlab_lab::EtcdBug;
    for (name, _) in EtcdBug::ALL {
        assert!(
            FOUND.iter().any(|(b, ..)| *b == name),
            "{name} is not in FOUND"
        );
    }
    let verdicts = parallel_map(FOUND, |(name, run, _)| {
        let case = Case::draw(1, *run);
        let bug = EtcdBug::parse(name).expect("a bug the lab knows");
        (judge(&case, Some(bug)), judge(&case, None))
    });
    for ((name, run, check), (with_bug, without)) in FOUND.iter().zip(verdicts) {
        assert!(
            matches!(&with_bug, Verdict::Fail { check: c, .. } if c == check),
            "{name}: run {run}: {with_bug:?}"
        );
        assert_eq!(without, Verdict::Pass, "{name}: run {run} without the bug");
    }
}
