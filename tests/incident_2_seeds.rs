//! Incident 2 under the dashboard reading (issue 14), pinned on seeds 1-3: a storm of leader
//! changes around the incident's 47 an hour, kube-apiserver's p99 under 1.5 s, the dashboards'
//! 5-minute fsync p99 around the documented 250-400 ms, and the elections still caused by
//! leader fsync stalls. The scenario's notes list seeds 1-10.

mod common;

use common::repo_root;

#[test]
fn incident_2_seeds_1_to_3_storm_api_latency_and_fsync_figure() {
    let mut fsync_p99_5m = Vec::new();
    for seed in 1..=3 {
        let sc = etcdlab_scenario::load(
            &repo_root().join("scenarios/incident-2-election-storm.toml"),
            &[format!("seed={seed}")],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = etcdlab_lab::run(&sc)
            .unwrap_or_else(|v| panic!("{v:?}"))
            .record;
        let s = &r.summary;
        assert!(
            (30..=65).contains(&s.leader_changes),
            "seed {seed}: {} leader changes",
            s.leader_changes
        );
        let api_p99 = s.apiserver.as_ref().and_then(|a| a.latency_ms.p99).unwrap();
        assert!(api_p99 < 1500.0, "seed {seed}: apiserver p99 {api_p99} ms");
        // Per seed the figure sits on either side of etcd's 256 ms bucket bound.
        let p99_5m = s.wal_fsync_p99_5m_ms.median.unwrap();
        assert!(
            (200.0..=500.0).contains(&p99_5m),
            "seed {seed}: {p99_5m} ms"
        );
        fsync_p99_5m.push(p99_5m);
        // Most elections follow a leader blocked in a WAL fsync longer than the timeout.
        let stalls = (r.elections.iter())
            .filter(|e| e.old_leader_fsync_ms.is_some_and(|ms| ms > 1000.0))
            .count();
        assert!(
            stalls * 4 >= r.elections.len() * 3,
            "seed {seed}: {stalls} of {} elections after a long leader fsync",
            r.elections.len()
        );
    }
    fsync_p99_5m.sort_by(f64::total_cmp);
    assert!(
        (250.0..=400.0).contains(&fsync_p99_5m[1]),
        "median over seeds 1-3: {fsync_p99_5m:?}"
    );
}
