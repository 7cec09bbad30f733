//! Whole files: the full example, defaults, and `load`.

use std::path::Path;

use etcdlab_scenario::*;

const S: Nanos = 1_000_000_000;

fn minimal(extra: &str) -> Scenario {
    parse_str(
        &format!("duration = \"1h\"\n{extra}"),
        "dir/minimal.toml",
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn full_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/full.toml");
    let s = load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "full-example");
    assert_eq!(s.seed, 7);
    assert_eq!(s.duration_ns, 3600 * S);
    assert_eq!(s.cluster.etcd_version, EtcdVersion::V3_5);
    assert!(s.cluster.pre_vote);
    assert_eq!(s.cluster.restart_base_ms, 250.0);
    assert_eq!(s.disks.len(), 3);
    assert_eq!(
        s.disks[0].fsync_latency_ms,
        Dist::LogNormal {
            median: 0.8,
            sigma: 0.4
        }
    );
    assert_eq!(s.disks[0].profile, "ssd");
    assert_eq!(s.disks[2].profile, "hdd");
    assert_eq!(
        s.disks[2].fsync_latency_ms,
        Dist::LogNormal {
            median: 5.0,
            sigma: 0.5
        }
    );
    assert_eq!(s.disks[2].write_bandwidth_bytes_per_s, 120e6);
    assert_eq!(s.network.loss, 0.001);
    assert_eq!(s.network.client_latency_ms, Dist::constant(0.2));
    let link = &s.network.links[0];
    assert_eq!(
        (link.from.clone(), link.to.clone(), link.symmetric),
        (vec![0], vec![1, 2], true)
    );
    assert_eq!(link.loss, Some(0.01));
    assert_eq!(s.workload.target, Target::Leader);
    assert_eq!(s.workload.start_ns, 30 * S);
    assert_eq!(s.metrics.scrape_interval_ns, 10 * S);
    assert_eq!(s.timeline.len(), 5);
    assert_eq!(
        s.timeline[0],
        TimelineEvent {
            at_ns: 600 * S,
            action: Action::Pause {
                member: MemberRef::Leader,
                duration_ns: Some(3 * S)
            },
            repeat: Some(Repeat {
                count: 15,
                every_ns: 20 * S
            }),
        }
    );
    assert_eq!(
        s.timeline[1].action,
        Action::Partition {
            groups: vec![vec![0], vec![1, 2]],
            duration_ns: Some(30 * S)
        }
    );
    assert_eq!(
        s.timeline[3].action,
        Action::DiskSlow {
            member: MemberRef::Member(2),
            factor: 10.0,
            duration_ns: 120 * S
        }
    );
    assert_eq!(
        s.timeline[4].action,
        Action::Crash {
            member: MemberRef::Follower,
            duration_ns: Some(5 * S)
        }
    );
    let metrics: Vec<&str> = s.expect.iter().map(|e| e.metric.as_str()).collect();
    assert_eq!(
        metrics,
        [
            "leader_changes",
            "failover_s_median",
            "write_latency_ms_p99",
            "max_term"
        ]
    );
    assert_eq!((s.expect[3].min, s.expect[3].max), (Some(3.0), Some(3.0)));
    assert_eq!((s.expect[0].min, s.expect[0].max), (None, Some(20.0)));
}

#[test]
fn defaults_are_filled() {
    let s = minimal("");
    assert_eq!(s.name, "minimal");
    assert_eq!(s.description, "");
    assert_eq!(s.seed, 1);
    assert_eq!(s.cluster.size, 3);
    assert_eq!(s.cluster.etcd_version, EtcdVersion::V3_4);
    assert_eq!(s.cluster.heartbeat_interval_ms, 100);
    assert_eq!(s.cluster.election_timeout_ms, 1000);
    assert!(!s.cluster.pre_vote);
    assert_eq!(s.cluster.restart_base_ms, 200.0);
    assert_eq!(s.cluster.wal_replay_bytes_per_s, 200e6);
    assert_eq!(s.disks, vec![disk_profile("ssd").unwrap(); 3]);
    assert_eq!(
        s.network.one_way_latency_ms,
        Dist::Normal {
            mean: 0.25,
            stddev: 0.05
        }
    );
    assert_eq!(s.network.bandwidth_bytes_per_s, 1.25e9);
    assert_eq!(s.network.client_latency_ms, Dist::constant(0.1));
    assert_eq!(s.workload.writes_per_s, 0.0);
    assert_eq!(s.workload.value_size_bytes, Dist::constant(1024.0));
    assert_eq!(s.workload.key_count, 1000);
    assert_eq!(s.workload.target, Target::RoundRobin);
    assert_eq!(s.workload.request_timeout_ns, 7 * S);
    assert_eq!(s.metrics.scrape_interval_ns, 15 * S);
    assert!(s.timeline.is_empty() && s.expect.is_empty());
}

#[test]
fn pre_vote_follows_the_version_unless_set() {
    assert!(
        !minimal("[cluster]\netcd_version = \"3.4\"")
            .cluster
            .pre_vote
    );
    assert!(
        minimal("[cluster]\netcd_version = \"3.5\"")
            .cluster
            .pre_vote
    );
    assert!(
        !minimal("[cluster]\netcd_version = \"3.5\"\npre_vote = false")
            .cluster
            .pre_vote
    );
    assert!(
        minimal("[cluster]\netcd_version = \"3.4\"\npre_vote = true")
            .cluster
            .pre_vote
    );
}

#[test]
fn request_timeout_follows_the_election_timeout() {
    let s = minimal("[cluster]\nelection_timeout_ms = 2500");
    assert_eq!(s.workload.request_timeout_ns, 10 * S);
    let s = minimal("[cluster]\nelection_timeout_ms = 2500\n[workload]\nrequest_timeout = \"3s\"");
    assert_eq!(s.workload.request_timeout_ns, 3 * S);
}

#[test]
fn profiles() {
    let hdd = disk_profile("hdd").unwrap();
    assert_eq!(
        hdd.fsync_latency_ms,
        Dist::LogNormal {
            median: 5.0,
            sigma: 0.5
        }
    );
    assert_eq!(hdd.write_latency_ms, Dist::constant(0.05));
    assert_eq!(hdd.write_bandwidth_bytes_per_s, 150e6);
    let ssd = disk_profile("ssd").unwrap();
    assert_eq!(ssd.write_latency_ms, Dist::constant(0.01));
    assert_eq!(ssd.write_bandwidth_bytes_per_s, 500e6);
    assert!(disk_profile("custom").is_none());
    let custom = minimal(
        "[disk]\nprofile = \"custom\"\nfsync_latency_ms = 2\nwrite_latency_ms = 0.1\n\
         write_bandwidth_bytes_per_s = 1e8",
    );
    assert_eq!(custom.disks[0].profile, "custom");
    assert_eq!(custom.disks[0].fsync_latency_ms, Dist::constant(2.0));
}

#[test]
fn member_disk_inherits_the_shared_disk() {
    let s = minimal("[disk]\nfsync_latency_ms = 3\n[disk.members.m2]\nwrite_latency_ms = 1");
    assert_eq!(s.disks[1].fsync_latency_ms, Dist::constant(3.0));
    assert_eq!(s.disks[1].write_latency_ms, Dist::constant(1.0));
    assert_eq!(s.disks[0].write_latency_ms, Dist::constant(0.01));
}

#[test]
fn every_action_parses() {
    let events = [
        (
            "action = \"resume\"\nmember = \"m1\"",
            Action::Resume {
                member: MemberRef::Member(0),
            },
        ),
        (
            "action = \"restart\"\nmember = \"m2\"",
            Action::Restart {
                member: MemberRef::Member(1),
            },
        ),
        (
            "action = \"isolate\"\nmember = \"leader\"",
            Action::Isolate {
                member: MemberRef::Leader,
                duration_ns: None,
            },
        ),
        (
            "action = \"partition_one_way\"\nfrom = [\"m1\"]\nto = \"m2\"\nduration = \"5s\"",
            Action::PartitionOneWay {
                from: vec![0],
                to: vec![1],
                duration_ns: Some(5 * S),
            },
        ),
        ("action = \"heal\"", Action::Heal),
        (
            "action = \"disk_stall\"\nmember = \"m3\"\nduration = \"2s\"",
            Action::DiskStall {
                member: MemberRef::Member(2),
                duration_ns: 2 * S,
            },
        ),
        (
            "action = \"link_fault\"\nfrom = [\"m1\"]\nto = [\"m2\"]\none_way_latency_ms = 50",
            Action::LinkFault {
                from: vec![0],
                to: vec![1],
                symmetric: true,
                one_way_latency_ms: Some(Dist::constant(50.0)),
                loss: None,
                duration_ns: None,
            },
        ),
    ];
    for (body, action) in events {
        let s = minimal(&format!("[[timeline]]\nat = \"1s\"\n{body}"));
        assert_eq!(s.timeline[0].action, action, "{body}");
    }
}

#[test]
fn missing_file_is_an_error() {
    let e = load(Path::new("/nonexistent/dir/x.toml"), &[]).unwrap_err();
    assert_eq!(e.file, "/nonexistent/dir/x.toml");
    assert!(
        e.to_string()
            .starts_with("/nonexistent/dir/x.toml: cannot read"),
        "{e}"
    );
}
