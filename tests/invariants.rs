//! A broken Raft safety invariant stops a run with exit code 3 and an error that says which
//! invariant, when (simulated time) and how to reproduce it (scenario and seed). The violations
//! are injected on purpose with `ETCDLAB_INJECT_VIOLATION`.

mod common;

use common::*;

const SCENARIO: &str = "scenarios/leader-stall-failover.toml";

fn run_injected(injection: &str, extra: &[&str]) -> (Outcome, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(etcdlab()
        .env("ETCDLAB_INJECT_VIOLATION", injection)
        .args(["run", SCENARIO])
        .args(extra)
        .arg("--out")
        .arg(tmp.path().join("out")));
    (o, tmp)
}

fn check(injection: &str, invariant: &str) {
    let (o, _tmp) = run_injected(injection, &[]);
    o.assert_code(3);
    for needle in [
        format!("invariant violated: {invariant}"),
        "simulated t=".to_string(),
        "seed 1".to_string(),
        "scenario leader-stall-failover".to_string(),
    ] {
        assert!(
            o.stderr.contains(&needle),
            "with ETCDLAB_INJECT_VIOLATION={injection}, stderr should contain {needle:?}\n{}",
            o.describe()
        );
    }
}

#[test]
fn change_committed_entry() {
    check(
        "change-committed-entry",
        "a committed entry is never lost or changed",
    );
}

#[test]
fn second_leader_in_term() {
    check("second-leader-in-term", "at most one leader per term");
}

#[test]
fn applied_index_back() {
    check("applied-index-back", "applied index never goes back");
}

#[test]
fn the_error_names_the_seed_given_on_the_command_line() {
    let (o, _tmp) = run_injected("second-leader-in-term", &["--seed", "7"]);
    o.assert_code(3);
    assert!(
        o.stderr.contains("seed 7"),
        "stderr should name seed 7\n{}",
        o.describe()
    );
}

#[test]
fn unknown_injection_is_invalid_input() {
    let (o, _tmp) = run_injected("no-such-injection", &[]);
    o.assert_code(2);
    assert!(
        o.stderr.contains("no-such-injection"),
        "stderr should name the unknown injection\n{}",
        o.describe()
    );
}
