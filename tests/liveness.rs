//! `[liveness]`: after its faults, a run must show the cluster recovered (every member running,
//! one leader, a client write acknowledged), else the `liveness` checker fails.

use etcdlab_lab::run;
use etcdlab_scenario::parse_str;

fn scenario(crash_for: &str) -> String {
    format!(
        r#"
duration = "30s"

[cluster]
size = 3

[traffic]
clients_per_member = 1
think_time = "5ms"
start = "1s"

[[timeline]]
at = "5s"
action = "crash"
member = "leader"
duration = "{crash_for}"

[liveness]
from = "15s"
within = "10s"
"#
    )
}

fn liveness(text: &str) -> (String, Option<String>) {
    let sc = parse_str(text, "liveness.toml", &[]).expect("a valid scenario");
    let result = run(&sc).expect("no broken invariant");
    let check = (result.record.summary.checks.iter())
        .find(|c| c.checker == "liveness")
        .expect("the liveness checker ran")
        .clone();
    (check.verdict, check.failure)
}

#[test]
fn a_leader_crash_that_restarts_recovers() {
    assert_eq!(liveness(&scenario("3s")), ("pass".to_string(), None));
}

#[test]
fn a_member_that_never_comes_back_fails_liveness() {
    let (verdict, failure) = liveness(&scenario("60s"));
    assert_eq!(verdict, "fail");
    let failure = failure.expect("what did not recover");
    assert!(failure.ends_with("is not running"), "{failure}");
}

#[test]
fn a_run_without_liveness_has_no_such_check() {
    let text = scenario("3s").replace("[liveness]\nfrom = \"15s\"\nwithin = \"10s\"\n", "");
    let sc = parse_str(&text, "no-liveness.toml", &[]).unwrap();
    let result = run(&sc).unwrap();
    assert!(result
        .record
        .summary
        .checks
        .iter()
        .all(|c| c.checker != "liveness"));
}
