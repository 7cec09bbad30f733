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

/// With etcd's lost-write bug (#14370) injected, seed 1's run 7 (one member, a crash) fails;
/// its minimal case keeps one fault and replays to the same broken invariant, and exploring
/// again writes the same files.
#[test]
fn an_injected_bug_is_found_shrunk_and_replayed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("explore");
    let explore = || {
        let o = run(etcdlab()
            .env("ETCDLAB_INJECT_BUG", "lost-write-on-crash")
            .args([
                "explore", "--runs", "8", "--seed", "1", "--jobs", "2", "--out",
            ])
            .arg(&out));
        o.assert_code(1);
        o
    };
    let first = explore();
    assert!(
        first.stdout.contains("run 7: invariant failed"),
        "{}",
        first.stdout
    );
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(json["failed"], 1);
    let failure = &json["failures"][0];
    assert_eq!(failure["run"], 7);
    assert_eq!(failure["minimal"], "failures/7/minimal.toml");
    assert_eq!(failure["minimal_faults"], 1);
    let minimal = fs::read_to_string(out.join("failures/7/minimal.toml")).unwrap();
    let original = fs::read_to_string(out.join("failures/7/original.toml")).unwrap();
    assert!(minimal.matches("[[timeline]]").count() < original.matches("[[timeline]]").count());
    assert!(minimal.contains("size = 1"), "{minimal}");
    // The minimal case replays to the same failure.
    let replay = run(etcdlab()
        .env("ETCDLAB_INJECT_BUG", "lost-write-on-crash")
        .arg("run")
        .arg(out.join("failures/7/minimal.toml"))
        .arg("--out")
        .arg(tmp.path().join("replay")));
    replay.assert_code(3);
    assert!(
        replay.stderr.contains("invariant violated"),
        "{}",
        replay.stderr
    );
    // Deterministic: the same exploration writes the same files.
    fs::remove_dir_all(&out).unwrap();
    explore();
    assert_eq!(
        fs::read_to_string(out.join("summary.json")).unwrap(),
        summary
    );
    assert_eq!(
        fs::read_to_string(out.join("failures/7/minimal.toml")).unwrap(),
        minimal
    );
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
            "5",
            "--jobs",
            "2",
            "--out",
        ])
        .arg(&out));
    o.assert_code(1);
    let minimal = fs::read_to_string(out.join("failures/4/minimal.toml")).unwrap();
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
