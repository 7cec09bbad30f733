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
fn the_version_may_be_typed_as_a_number() {
    // `--set cluster.etcd_version=3.5` is read as TOML, where 3.5 is a float.
    let set = ["cluster.etcd_version=3.5".to_string()];
    let s = parse_str("duration = \"1h\"\n", "x.toml", &set).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.cluster.etcd_version, EtcdVersion::V3_5);
    assert!(s.cluster.pre_vote, "with its default pre-vote");
    assert_eq!(
        minimal("[cluster]\netcd_version = 3.4")
            .cluster
            .etcd_version,
        EtcdVersion::V3_4
    );
    let err = parse_str(
        "duration = \"1h\"\n[cluster]\netcd_version = 3.6\n",
        "x.toml",
        &[],
    )
    .expect_err("not a modelled version");
    assert!(
        err.to_string().contains("unsupported etcd version \"3.6\""),
        "{err}"
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

const GIB: u64 = 1024 * 1024 * 1024;

#[test]
fn new_keys_have_defaults() {
    let s = minimal("");
    assert_eq!(s.cluster.quota_backend_bytes, 2 * GIB);
    assert_eq!(s.cluster.auto_compaction, None);
    assert_eq!(s.workload.stop_ns, None);
    assert_eq!(s.workload.start_ns, 0);
    assert_eq!(s.runbook, None);
    assert_eq!(s.kube, None);
    assert_eq!(s.fast_forward, None);
    // A [cluster] table without the new keys fills them the same way.
    let s = minimal("[cluster]\nsize = 5");
    assert_eq!(s.cluster.quota_backend_bytes, 2 * GIB);
    assert_eq!(s.cluster.auto_compaction, None);
}

#[test]
fn quota_backend_bytes() {
    let quota = |v: &str| {
        minimal(&format!("[cluster]\nquota_backend_bytes = {v}"))
            .cluster
            .quota_backend_bytes
    };
    assert_eq!(quota("0"), 2 * GIB, "0 means etcd's default");
    assert_eq!(quota("1"), 1);
    assert_eq!(quota("8589934592"), 8 * GIB);
    assert_eq!(quota("1099511627776"), 1 << 40, "2^40 is the largest");
}

#[test]
fn auto_compaction() {
    let mode = |m: &str, r: &str| {
        minimal(&format!(
            "[cluster]\nauto_compaction_mode = \"{m}\"\nauto_compaction_retention = \"{r}\""
        ))
        .cluster
        .auto_compaction
    };
    assert_eq!(
        mode("periodic", "1h"),
        Some(AutoCompaction::Periodic {
            retention_ns: 3600 * S
        })
    );
    assert_eq!(
        mode("periodic", "30m"),
        Some(AutoCompaction::Periodic {
            retention_ns: 1800 * S
        })
    );
    assert_eq!(
        mode("periodic", "2d"),
        Some(AutoCompaction::Periodic {
            retention_ns: 2 * 86_400 * S
        })
    );
    assert_eq!(
        mode("revision", "1000"),
        Some(AutoCompaction::Revision { retention: 1000 })
    );
    assert_eq!(
        mode("revision", "1"),
        Some(AutoCompaction::Revision { retention: 1 })
    );
}

#[test]
fn workload_stop() {
    let s = minimal("[workload]\nwrites_per_s = 10\nstart = \"30s\"\nstop = \"10m\"");
    assert_eq!(s.workload.start_ns, 30 * S);
    assert_eq!(s.workload.stop_ns, Some(600 * S));
    let s = minimal("[workload]\nstop = \"1ms\"");
    assert_eq!(
        (s.workload.start_ns, s.workload.stop_ns),
        (0, Some(S / 1000))
    );
}

#[test]
fn durations_in_days() {
    const DAY: Nanos = 86_400 * S;
    assert_eq!(parse_duration("1d"), Ok(DAY));
    assert_eq!(parse_duration("95d16h"), Ok(95 * DAY + 16 * 3600 * S));
    assert_eq!(parse_duration("1.5d"), Ok(DAY + DAY / 2));
    assert_eq!(parse_duration("95d0h10m"), Ok(95 * DAY + 600 * S));
    // Formatting has no day unit; it still round-trips through hours.
    assert_eq!(parse_duration(&format_duration(3 * DAY)), Ok(3 * DAY));
    let s = parse_str("duration = \"95d16h\"\n", "x.toml", &[]).unwrap();
    assert_eq!(s.duration_ns, 95 * DAY + 16 * 3600 * S);
    let s = parse_str(
        "duration = \"2d\"\n[[timeline]]\nat = \"1d12h\"\naction = \"heal\"\n",
        "x.toml",
        &[],
    )
    .unwrap();
    assert_eq!(s.timeline[0].at_ns, DAY + DAY / 2);
}

/// Each command, as a timeline step repeated twice, parses into its [`OperatorCommand`].
#[track_caller]
fn assert_timeline_commands<const N: usize>(commands: [(&str, OperatorCommand); N]) {
    for (text, command) in commands {
        let s = minimal(&format!(
            "[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\ncommand = \"{text}\"\n\
             repeat = {{ count = 2, every = \"10m\" }}"
        ));
        assert_eq!(
            s.timeline[0],
            TimelineEvent {
                at_ns: 60 * S,
                action: Action::Operator {
                    text: text.to_string(),
                    command,
                },
                repeat: Some(Repeat {
                    count: 2,
                    every_ns: 600 * S
                }),
            },
            "{text}"
        );
    }
}

#[test]
fn every_etcdctl_command_parses() {
    assert_timeline_commands([
        (
            "etcdctl endpoint status",
            OperatorCommand::EndpointStatus {
                format: OutputFormat::Simple,
                cluster: false,
            },
        ),
        (
            "etcdctl endpoint status --cluster -w table",
            OperatorCommand::EndpointStatus {
                format: OutputFormat::Table,
                cluster: true,
            },
        ),
        ("etcdctl alarm list", OperatorCommand::AlarmList),
        ("etcdctl alarm disarm", OperatorCommand::AlarmDisarm),
        (
            "etcdctl compact 1234",
            OperatorCommand::Compact {
                rev: CompactTo::Revision(1234),
                physical: false,
            },
        ),
        (
            "etcdctl compact current --physical",
            OperatorCommand::Compact {
                rev: CompactTo::Current,
                physical: true,
            },
        ),
        (
            "etcdctl defrag",
            OperatorCommand::Defrag {
                members: vec![0, 1, 2],
                cluster: false,
            },
        ),
        (
            "etcdctl defrag --cluster",
            OperatorCommand::Defrag {
                members: vec![0, 1, 2],
                cluster: true,
            },
        ),
        (
            "etcdctl defrag --endpoints=m3,m1",
            OperatorCommand::Defrag {
                members: vec![2, 0],
                cluster: false,
            },
        ),
        (
            "etcdctl defrag --endpoints m2",
            OperatorCommand::Defrag {
                members: vec![1],
                cluster: false,
            },
        ),
        (
            "etcd restart m3",
            OperatorCommand::Restart {
                member: 2,
                quota_backend_bytes: None,
            },
        ),
        (
            "etcd restart m1 --quota-backend-bytes=17179869184",
            OperatorCommand::Restart {
                member: 0,
                quota_backend_bytes: Some(16 * GIB),
            },
        ),
    ]);
}

#[test]
fn every_kubectl_command_parses() {
    use etcdlab_kube::{KubectlCommand, Resource};
    assert_timeline_commands([
        (
            "kubectl get pods -A",
            OperatorCommand::Kubectl(KubectlCommand::Get {
                resource: Resource::Pods,
                namespace: None,
                all_namespaces: true,
            }),
        ),
        (
            "kubectl apply -f web.yaml -n team-01",
            OperatorCommand::Kubectl(KubectlCommand::Apply {
                file: "web.yaml".into(),
                deployment: "web".into(),
                namespace: "team-01".into(),
            }),
        ),
        (
            "kubectl create namespace team-x",
            OperatorCommand::Kubectl(KubectlCommand::CreateNamespace {
                name: "team-x".into(),
            }),
        ),
        (
            "kubectl scale deployment web --replicas=5",
            OperatorCommand::Kubectl(KubectlCommand::Scale {
                deployment: "web".into(),
                namespace: "default".into(),
                replicas: 5,
            }),
        ),
    ]);
}

#[test]
fn etcdctl_members_follow_the_cluster_size() {
    let s = minimal(
        "[cluster]\nsize = 5\n[[timeline]]\nat = \"1m\"\naction = \"etcdctl\"\n\
         command = \"etcdctl defrag --cluster\"\n[[timeline]]\nat = \"2m\"\n\
         action = \"etcdctl\"\ncommand = \"etcd restart m5\"",
    );
    assert_eq!(
        s.timeline[0].action,
        Action::Operator {
            text: "etcdctl defrag --cluster".into(),
            command: OperatorCommand::Defrag {
                members: vec![0, 1, 2, 3, 4],
                cluster: true
            },
        }
    );
    assert_eq!(
        s.timeline[1].action,
        Action::Operator {
            text: "etcd restart m5".into(),
            command: OperatorCommand::Restart {
                member: 4,
                quota_backend_bytes: None
            },
        }
    );
}

#[test]
fn runbook() {
    let s = minimal(
        "[runbook]\nafter_alarm = \"NOSPACE\"\ndiagnosis = \"30m\"\nthink_time = \"3m\"\n\
         steps = [\n  \"etcdctl alarm list\",\n  \"etcdctl compact current --physical\",\n  \
         \"etcdctl defrag --endpoints=m2\",\n  \"etcdctl alarm disarm\",\n]",
    );
    let runbook = s.runbook.expect("a runbook");
    assert_eq!(runbook.after_alarm, "NOSPACE");
    assert_eq!(runbook.diagnosis_ns, 1800 * S);
    assert_eq!(runbook.think_time_ns, 180 * S);
    assert_eq!(
        runbook.steps,
        vec![
            ("etcdctl alarm list".to_string(), OperatorCommand::AlarmList),
            (
                "etcdctl compact current --physical".to_string(),
                OperatorCommand::Compact {
                    rev: CompactTo::Current,
                    physical: true
                }
            ),
            (
                "etcdctl defrag --endpoints=m2".to_string(),
                OperatorCommand::Defrag {
                    members: vec![1],
                    cluster: false,
                }
            ),
            (
                "etcdctl alarm disarm".to_string(),
                OperatorCommand::AlarmDisarm
            ),
        ]
    );
    // Defaults: no diagnosis or think time.
    let s = minimal("[runbook]\nafter_alarm = \"CORRUPT\"\nsteps = [\"etcdctl alarm list\"]");
    let runbook = s.runbook.expect("a runbook");
    assert_eq!(runbook.after_alarm, "CORRUPT");
    assert_eq!((runbook.diagnosis_ns, runbook.think_time_ns), (0, 0));
    assert_eq!(runbook.steps.len(), 1);
}

#[test]
fn kube_defaults() {
    let s = minimal("[kube]");
    let kube = s.kube.expect("[kube]");
    assert_eq!(kube.config, etcdlab_kube::KubeWorkloadConfig::default());
    assert!(kube.apiserver_compaction);
    assert_eq!(kube.apiserver_compaction_interval_ns, 300 * S);
    assert_eq!(kube.start_ns, 0);
}

#[test]
fn kube_keys_land_in_the_config() {
    let s = minimal(
        "[kube]\nnodes = 50\napp_namespaces = 12\npods_per_node = 20\n\
         replicas_per_deployment = 2\nconfigmaps = 300\nsecrets = 250\n\
         node_lease_renew_interval_s = 40\nnode_status_update_interval_s = 60\n\
         control_plane_lease_renew_interval_s = 0\npod_churn_per_hour = 120.5\n\
         events_per_hour = 0\nevent_ttl_s = 7200\nconfigmap_updates_per_hour = 3\n\
         secret_updates_per_hour = 1e3\ndeployment_updates_per_hour = 0.5\n\
         apiserver_compaction = false\napiserver_compaction_interval = \"10m\"\nstart = \"2s\"",
    );
    let kube = s.kube.expect("[kube]");
    let c = &kube.config;
    assert_eq!(
        (
            c.nodes,
            c.app_namespaces,
            c.pods_per_node,
            c.replicas_per_deployment,
            c.configmaps,
            c.secrets,
            c.event_ttl_s
        ),
        (50, 12, 20, 2, 300, 250, 7200)
    );
    assert_eq!(c.node_lease_renew_interval_s, 40.0);
    assert_eq!(c.node_status_update_interval_s, 60.0);
    assert_eq!(c.control_plane_lease_renew_interval_s, 0.0);
    assert_eq!(c.pod_churn_per_hour, 120.5);
    assert_eq!(c.events_per_hour, 0.0);
    assert_eq!(c.configmap_updates_per_hour, 3.0);
    assert_eq!(c.secret_updates_per_hour, 1000.0);
    assert_eq!(c.deployment_updates_per_hour, 0.5);
    // Keys the scenario does not expose keep the workload's defaults.
    let d = etcdlab_kube::KubeWorkloadConfig::default();
    assert_eq!(c.sizes, d.sizes);
    assert_eq!(c.pod_termination_s, d.pod_termination_s);
    assert!(!kube.apiserver_compaction);
    assert_eq!(kube.apiserver_compaction_interval_ns, 600 * S);
    assert_eq!(kube.start_ns, 2 * S);
    // No pods and no churn is a valid (if quiet) cluster.
    let s = minimal("[kube]\nnodes = 0\npod_churn_per_hour = 0\nevents_per_hour = 0");
    assert_eq!(s.kube.unwrap().config.nodes, 0);
}

#[test]
fn fast_forward() {
    let s = minimal("[kube]\n[fast_forward]\nuntil = \"50m\"");
    assert_eq!(
        s.fast_forward,
        Some(FastForward {
            until_ns: 3000 * S,
            stop_before_quota_bytes: 64 * 1024 * 1024,
            scrape_interval_ns: 300 * S,
        })
    );
    let s = minimal(
        "[kube]\n[fast_forward]\nuntil = \"30m\"\nstop_before_quota_bytes = 0\n\
         scrape_interval = \"1m\"\n[[timeline]]\nat = \"30m\"\naction = \"etcdctl\"\n\
         command = \"etcdctl endpoint status\"\n[[timeline]]\nat = \"45m\"\naction = \"heal\"",
    );
    assert_eq!(
        s.fast_forward,
        Some(FastForward {
            until_ns: 1800 * S,
            stop_before_quota_bytes: 0,
            scrape_interval_ns: 60 * S,
        })
    );
    // An action exactly at `until` is the first thing simulated after the fast-forward.
    assert_eq!(s.timeline.len(), 2);
    assert_eq!(s.timeline[0].at_ns, 1800 * S);
}

#[test]
fn the_nospace_incident_scenarios_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    for name in ["incident-1-nospace", "incident-1-prevented"] {
        let s = load(&root.join(format!("{name}.toml")), &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.kube.is_some() && s.fast_forward.is_some(), "{name}");
        assert!(
            s.fast_forward.as_ref().unwrap().until_ns < s.duration_ns,
            "{name}"
        );
    }
}
