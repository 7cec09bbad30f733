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

/// TigerBeetle's VOPR heals only a core: a member outside it may stay down.
#[test]
fn a_member_outside_the_core_may_stay_down() {
    let text = scenario("60s").replace("member = \"leader\"", "member = \"m3\"");
    let (verdict, failure) = liveness(&text);
    assert_eq!(verdict, "fail", "m3 is in the default core");
    assert_eq!(failure.as_deref(), Some("m3 is not running"));
    let core = text.replace(
        "within = \"10s\"",
        "within = \"10s\"\ncore = [\"m1\", \"m2\"]",
    );
    assert_eq!(liveness(&core), ("pass".to_string(), None));
}

#[test]
fn a_core_smaller_than_a_quorum_is_refused() {
    let text = scenario("3s").replace("within = \"10s\"", "within = \"10s\"\ncore = [\"m1\"]");
    let e = parse_str(&text, "liveness.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("liveness.toml:") && e.contains("liveness.core"),
        "{e}"
    );
    assert!(e.contains("a core of 1 cannot elect a leader"), "{e}");
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

#[test]
fn no_write_after_the_faults_fails_liveness() {
    // The clients stop before the faults are over: nothing shows that writes commit again.
    let text = scenario("3s").replace("start = \"1s\"", "start = \"1s\"\nstop = \"10s\"");
    let (verdict, failure) = liveness(&text);
    assert_eq!(verdict, "fail");
    let failure = failure.expect("what did not recover");
    assert!(
        failure.starts_with("no client write sent after 15s"),
        "{failure}"
    );
}

/// A reply that arrives after the client's deadline is not a success: the client gave up at
/// its deadline (here every reply takes longer than the deadline).
#[test]
fn a_reply_after_the_clients_deadline_is_the_deadline_error() {
    let text = scenario("3s")
        .replace(
            "[traffic]",
            "[network]\nclient_latency_ms = 30\n\n[traffic]\nrequest_timeout = \"50ms\"",
        )
        .replace("[liveness]\nfrom = \"15s\"\nwithin = \"10s\"\n", "");
    let sc = parse_str(&text, "deadline.toml", &[]).unwrap();
    let result = run(&sc).unwrap();
    let traffic = result.record.summary.traffic.expect("traffic figures");
    let ok: u64 = traffic.kinds.values().map(|k| k.ok).sum();
    assert_eq!(ok, 0, "{traffic:?}");
    assert!(
        traffic.errors["context deadline exceeded"] > 100,
        "{traffic:?}"
    );
    let late = result.history.iter().filter(|o| o.error.is_none()).count();
    assert_eq!(late, 0);
}
