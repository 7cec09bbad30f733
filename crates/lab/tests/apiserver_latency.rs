//! kube-apiserver's request latency (`[kube] api_requests`): measured per request, reads from
//! the watch cache unaffected by etcd, writes waiting for etcd, and nothing measured (and no
//! trace changed) with the key off.

use etcdlab_lab::run;
use etcdlab_scenario::parse_str;

/// A small control plane on SSDs; `extra` goes into `[kube]`, `timeline` after it.
fn scenario(extra: &str, timeline: &str) -> String {
    format!(
        "seed = 1\nduration = \"4m\"\n[cluster]\nsize = 3\n\n[disk]\nprofile = \"ssd\"\n\n\
         [workload]\nwrites_per_s = 0\n\n[kube]\nnodes = 5\nstart = \"3s\"\n{extra}\n{timeline}"
    )
}

fn record(text: &str) -> etcdlab_report::RunRecord {
    let sc = parse_str(text, "apiserver.toml", &[]).unwrap_or_else(|e| panic!("{e}"));
    run(&sc).unwrap_or_else(|v| panic!("{v:?}")).record
}

#[test]
fn reads_from_the_cache_and_writes_through_etcd_are_measured() {
    let r = record(&scenario(
        "api_requests = true\napi_gets_per_s = 40\napi_lists_per_s = 2",
        "",
    ));
    let a = r.summary.apiserver.as_ref().expect("measured");
    // ~42 reads/s for ~237 s.
    assert!((9000..11000).contains(&a.gets), "{}", a.gets);
    assert!((300..700).contains(&a.lists), "{}", a.lists);
    assert!(a.writes > 100, "{}", a.writes);
    assert_eq!(a.writes_failed, 0);
    let (p50, p99) = (a.latency_ms.p50.unwrap(), a.latency_ms.p99.unwrap());
    // Most requests are GETs of ~1 ms; the p99 falls among the LISTs (~20 ms median).
    assert!((0.7..1.5).contains(&p50), "{p50}");
    assert!(p99 > 10.0, "{p99}");
    assert!(a.write_latency_ms.p50.unwrap() > 0.0);
    // 5-minute bins: one for a 4-minute run, counting every request.
    assert_eq!(r.apiserver_latency_per_5m.len(), 1);
    assert_eq!(
        r.apiserver_latency_per_5m[0].requests,
        a.gets + a.lists + a.writes
    );
    let value = |k: &str| etcdlab_lab::outcome_metric(&r.summary, k);
    assert_eq!(value("apiserver_latency_ms_p99"), Some(p99));
}

#[test]
fn writes_wait_for_etcd_while_the_leader_is_stopped_and_cached_reads_do_not() {
    let stall =
        "[[timeline]]\nat = \"60s\"\naction = \"pause\"\nmember = \"leader\"\nduration = \"20s\"\n";
    let r = record(&scenario(
        "api_requests = true\napi_gets_per_s = 40\napi_lists_per_s = 0",
        stall,
    ));
    let a = r.summary.apiserver.as_ref().expect("measured");
    let writes_max = a.write_latency_ms.max.unwrap();
    // Writes sent to the stopped leader wait for the failover (or etcd's request timeout).
    assert!(writes_max > 900.0, "{writes_max}");
    // GETs (lognormal, median 1 ms, sigma 0.5) never wait for etcd.
    assert!(a.latency_ms.p50.unwrap() < 2.0);
    assert!(a.latency_ms.max.unwrap() >= writes_max);
}

#[test]
fn off_by_default_nothing_measured_and_the_same_trace() {
    let off = record(&scenario("", ""));
    assert!(off.summary.apiserver.is_none());
    assert!(off.apiserver_latency_per_5m.is_empty());
    // Reads on their own random stream: the cluster's trace is that of the run without them
    // but for the read events themselves, so the etcd figures are identical.
    let on = record(&scenario("api_requests = true", ""));
    assert_eq!(off.summary.writes.ok, on.summary.writes.ok);
    assert_eq!(
        off.summary.writes.latency_ms.p99,
        on.summary.writes.latency_ms.p99
    );
}

#[test]
fn api_keys_need_api_requests_on() {
    let text = scenario("api_gets_per_s = 10", "");
    let err = parse_str(&text, "apiserver.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("api_gets_per_s needs api_requests = true"),
        "{err}"
    );
    assert!(err.contains("apiserver.toml"), "{err}");
}
