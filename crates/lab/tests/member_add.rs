//! `etcdctl member add` as etcd 3.4.23 and 3.5.1 answer it (measured on loopback clusters,
//! `scripts/fidelity/member_add.py`, docs/fidelity.md): the strict reconfiguration check
//! refuses at once while the serving member has not been connected to every voting member
//! for 5 s, and ETCD_INITIAL_CLUSTER and `member list` are in member ID order. Each test is a
//! timeline of commands and what the terminal printed.
//!
//! The initial members' IDs (token "etcd-cluster", peer URLs http://127.0.0.1:<N>2380) sort as
//! m3 0628.., m2 9e73.., m1 ddd6..; an added member's ID mixes in the second of the add on
//! the lab's wall clock (see `etcdlab_member::ids::added_member_id`), so its place among them
//! depends on when it was added, as in etcd.

mod common;
use common::{hidden, run_text, timeline};

/// (at, command) steps on a quiet 3-member cluster (`extra`: more scenario text).
fn scenario(extra: &str, steps: &[(&str, String)]) -> String {
    format!(
        "seed = 1\nduration = \"40s\"\n{extra}\n[cluster]\nsize = 3\n\n[disk]\nprofile = \"ssd\"\n\n\
         [workload]\nwrites_per_s = 0\n{}",
        timeline(steps.iter().map(|(at, c)| (*at, c.as_str())))
    )
}

/// The terminal as the operator saw it (`common::transcript`), the random UUID in each warn
/// line's target (drawn from the seed, one per etcdctl process) read as `<uuid>`.
fn transcript(text: &str, overrides: &[&str]) -> String {
    hidden(&common::transcript(&run_text(
        text,
        "member-add.toml",
        overrides,
    )))
}

fn add(at: &'static str, m: u32) -> (&'static str, String) {
    (
        at,
        format!("etcdctl member add m{m} --peer-urls=http://127.0.0.1:{m}2380"),
    )
}

#[test]
fn an_add_is_refused_until_the_serving_member_has_been_connected_to_every_voter_for_5s() {
    let text = scenario(
        "",
        &[
            // Right after the start: refused (etcd: until ~5 s after the peers connect).
            add("1s", 4),
            add("6s", 5),
            // m5 added but not started: every add is refused.
            add("10s", 6),
            (
                "11s",
                "etcd start m5 --initial-cluster-state=existing".into(),
            ),
            // m5 runs, but for less than 5 s.
            add("14s", 7),
            add("20s", 8),
            // ID order; m8, added but unstarted, has no name yet.
            ("25s", "etcdctl member list".into()),
        ],
    );
    assert_eq!(transcript(&text, &[]), "\
[1 s, 0 ms] $ etcdctl member add m4 --peer-urls=http://127.0.0.1:42380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[6 s, 1 ms] $ etcdctl member add m5 --peer-urls=http://127.0.0.1:52380
Member 82286a4b3dae18fa added to cluster 73841b4a9097c907

ETCD_NAME=\"m5\"
ETCD_INITIAL_CLUSTER=\"m3=http://127.0.0.1:32380,m5=http://127.0.0.1:52380,m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:52380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
[10 s, 0 ms] $ etcdctl member add m6 --peer-urls=http://127.0.0.1:62380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[11 s, 0 ms] $ etcd start m5 --initial-cluster-state=existing
[14 s, 0 ms] $ etcdctl member add m7 --peer-urls=http://127.0.0.1:72380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[20 s, 1 ms] $ etcdctl member add m8 --peer-urls=http://127.0.0.1:82380
Member af20f1ea10a7b1dc added to cluster 73841b4a9097c907

ETCD_NAME=\"m8\"
ETCD_INITIAL_CLUSTER=\"m3=http://127.0.0.1:32380,m5=http://127.0.0.1:52380,m2=http://127.0.0.1:22380,m8=http://127.0.0.1:82380,m1=http://127.0.0.1:12380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:82380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
[25 s, 0 ms] $ etcdctl member list
628170c800dbcee, started, m3, http://127.0.0.1:32380, http://127.0.0.1:32379, false
82286a4b3dae18fa, started, m5, http://127.0.0.1:52380, http://127.0.0.1:52379, false
9e737febb6b99eee, started, m2, http://127.0.0.1:22380, http://127.0.0.1:22379, false
af20f1ea10a7b1dc, unstarted, , http://127.0.0.1:82380, , false
ddd67b312462fd7b, started, m1, http://127.0.0.1:12380, http://127.0.0.1:12379, false
");
}

#[test]
fn a_stopped_paused_or_partitioned_member_makes_the_add_fail_at_once() {
    let text = scenario(
        "",
        &[
            ("10s", "etcd stop m3".into()),
            // etcd answers in milliseconds, the lab used to time out after 7 s.
            add("11s", 4),
            ("12s", "etcd start m3".into()),
            add("16s", 5),
            add("18s", 6),
            (
                "19s",
                "etcd start m6 --initial-cluster-state=existing".into(),
            ),
        ],
    )
        + "\n[[timeline]]\nat = \"20s\"\naction = \"pause\"\nmember = \"m2\"\nduration = \"2s\"\n"
        + &add_at("23s", 7)
        + "\n[[timeline]]\nat = \"30s\"\naction = \"isolate\"\nmember = \"m1\"\nduration = \"1s\"\n"
        + &add_at("32s", 8) + &add_at("37s", 9);
    assert_eq!(transcript(&text, &[]), "\
[10 s, 0 ms] $ etcd stop m3
[11 s, 0 ms] $ etcdctl member add m4 --peer-urls=http://127.0.0.1:42380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[12 s, 200 ms] $ etcd start m3
[16 s, 0 ms] $ etcdctl member add m5 --peer-urls=http://127.0.0.1:52380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[18 s, 1 ms] $ etcdctl member add m6 --peer-urls=http://127.0.0.1:62380
Member e33b63bfe8fcbf5f added to cluster 73841b4a9097c907

ETCD_NAME=\"m6\"
ETCD_INITIAL_CLUSTER=\"m3=http://127.0.0.1:32380,m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380,m6=http://127.0.0.1:62380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:62380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
[19 s, 0 ms] $ etcd start m6 --initial-cluster-state=existing
[23 s, 0 ms] $ etcdctl member add m7 --peer-urls=http://127.0.0.1:72380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[32 s, 0 ms] $ etcdctl member add m8 --peer-urls=http://127.0.0.1:82380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: unhealthy cluster\"}
Error: etcdserver: unhealthy cluster
(exit 1)
[37 s, 1 ms] $ etcdctl member add m9 --peer-urls=http://127.0.0.1:92380
Member 35aacc9465055602 added to cluster 73841b4a9097c907

ETCD_NAME=\"m9\"
ETCD_INITIAL_CLUSTER=\"m3=http://127.0.0.1:32380,m9=http://127.0.0.1:92380,m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380,m6=http://127.0.0.1:62380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:92380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
");
}

#[test]
fn without_the_check_unstarted_members_are_kept_in_the_initial_cluster_without_a_name() {
    let text = scenario(
        "",
        &[
            add("1s", 4),
            add("2s", 5),
            ("3s", "etcdctl member list".into()),
        ],
    );
    assert_eq!(
        transcript(&text, &["cluster.strict_reconfig_check=false"]),
        "\
[1 s, 85 ms] $ etcdctl member add m4 --peer-urls=http://127.0.0.1:42380
Member e3560e19cd222b82 added to cluster 73841b4a9097c907

ETCD_NAME=\"m4\"
ETCD_INITIAL_CLUSTER=\"m3=http://127.0.0.1:32380,m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380,m4=http://127.0.0.1:42380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:42380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
[2 s, 1 ms] $ etcdctl member add m5 --peer-urls=http://127.0.0.1:52380
Member 897e68709294a1d3 added to cluster 73841b4a9097c907

ETCD_NAME=\"m5\"
ETCD_INITIAL_CLUSTER=\"m3=http://127.0.0.1:32380,m5=http://127.0.0.1:52380,m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380,=http://127.0.0.1:42380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:52380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
[3 s, 0 ms] $ etcdctl member list
628170c800dbcee, started, m3, http://127.0.0.1:32380, http://127.0.0.1:32379, false
897e68709294a1d3, unstarted, , http://127.0.0.1:52380, , false
9e737febb6b99eee, started, m2, http://127.0.0.1:22380, http://127.0.0.1:22379, false
ddd67b312462fd7b, started, m1, http://127.0.0.1:12380, http://127.0.0.1:12379, false
e3560e19cd222b82, unstarted, , http://127.0.0.1:42380, , false
"
    );
}

#[test]
fn too_few_started_members_is_refused_before_the_health_check() {
    // A one-member cluster may grow to two (etcd's restore case); with the second still
    // unstarted, a third is refused: 1 started of 3 is not a quorum.
    let text = scenario("", &[add("6s", 2), add("7s", 3)]);
    assert_eq!(
        transcript(&text, &["cluster.size=1"]),
        "\
[6 s, 1 ms] $ etcdctl member add m2 --peer-urls=http://127.0.0.1:22380
Member 7cb0075df63a4934 added to cluster a7ef944b95711739

ETCD_NAME=\"m2\"
ETCD_INITIAL_CLUSTER=\"m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380\"
ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:22380\"
ETCD_INITIAL_CLUSTER_STATE=\"existing\"
[7 s, 0 ms] $ etcdctl member add m3 --peer-urls=http://127.0.0.1:32380
{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-<uuid>/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = FailedPrecondition desc = etcdserver: re-configuration failed due to not enough started members\"}
Error: etcdserver: re-configuration failed due to not enough started members
(exit 1)
"
    );
}

fn add_at(at: &str, m: u32) -> String {
    format!(
        "\n[[timeline]]\nat = \"{at}\"\naction = \"etcdctl\"\n\
         command = \"etcdctl member add m{m} --peer-urls=http://127.0.0.1:{m}2380\"\n"
    )
}
