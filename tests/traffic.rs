//! `[traffic]` end to end: every kind of request the clients send is recorded and judged.

use etcdlab_lab::run;
use etcdlab_scenario::parse_str;

/// Compactions among the traffic: reads at a compacted revision fail as etcd's do (left out
/// of the checks), and what the clients saw stays linearizable.
#[test]
fn compactions_make_old_reads_fail_and_the_history_stays_linearizable() {
    let text = r#"
duration = "20s"

[cluster]
size = 3

[traffic]
key_count = 5
think_time = "1ms"

[traffic.mix]
get_at_revision = 10
range_at_revision = 10
put = 30
txn = 10
lease_put = 5
lease_revoke = 5
compact = 5
"#;
    let sc = parse_str(text, "traffic.toml", &[]).expect("a valid scenario");
    let result = run(&sc).expect("no broken invariant");
    let s = &result.record.summary;
    assert!(
        s.checks.iter().all(|c| c.verdict == "pass"),
        "{:?}",
        s.checks
    );
    let traffic = s.traffic.as_ref().expect("traffic figures");
    assert!(traffic.kinds["compact"].ok > 100, "{traffic:?}");
    assert!(traffic.kinds["lease_revoke"].ok > 100, "{traffic:?}");
    let compacted = "etcdserver: mvcc: required revision has been compacted";
    assert!(
        traffic.errors.get(compacted).is_some_and(|n| *n > 10),
        "{traffic:?}"
    );
    // Every kind is in the history as its own operation.
    for op in [
        "get",
        "range",
        "put",
        "txn",
        "lease_grant",
        "lease_revoke",
        "write",
    ] {
        let named = |o: &&etcdlab_check::Operation| serde_json::to_value(o.op).unwrap() == op;
        assert!(
            result.history.iter().any(|o| named(&o)),
            "no {op} in the history"
        );
    }
    assert!(result.history.iter().any(|o| o.at_revision.is_some()));
}
