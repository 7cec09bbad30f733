//! What a run tells about its scenario before any result: the inputs as set, and the notes on where the model departs from etcd or from the incident it replays.

use etcdlab_scenario::{EtcdVersion, Scenario};

pub(crate) fn inputs(sc: &Scenario) -> Vec<String> {
    let c = &sc.cluster;
    let version = match c.etcd_version {
        EtcdVersion::V3_4 => "3.4",
        EtcdVersion::V3_5 => "3.5",
    };
    let on_off = |on: bool| if on { "on" } else { "off" };
    // A pre-vote set against the version's default says so: `--set cluster.etcd_version=3.5`
    // on a scenario that sets pre-vote keeps its setting.
    let default = c.etcd_version.pre_vote_default();
    let pre_vote = if c.pre_vote == default {
        on_off(c.pre_vote).to_string()
    } else {
        format!(
            "{} (etcd {version}'s default: {})",
            on_off(c.pre_vote),
            on_off(default)
        )
    };
    let mut lines = vec![
        format!(
            "{} member{}, etcd {version}: heartbeat {} ms, election timeout {} ms, pre-vote {pre_vote}, check-quorum on",
            c.size,
            if c.size == 1 { "" } else { "s" },
            c.heartbeat_interval_ms,
            c.election_timeout_ms,
        ),
        format!("simulated time {}, seed {}", etcdlab_scenario::format_duration(sc.duration_ns), sc.seed),
    ];
    for (i, d) in sc.disks.iter().enumerate() {
        lines.push(format!(
            "m{} disk {}: fsync {} ms, write {} ms, {:.0} MB/s{}",
            i + 1,
            d.profile,
            d.fsync_latency_ms.describe(),
            d.write_latency_ms.describe(),
            d.write_bandwidth_bytes_per_s / 1e6,
            d.array.as_ref().map_or(String::new(), describe_array)
        ));
    }
    let n = &sc.network;
    lines.push(format!(
        "network: one-way latency {} ms, loss {}, duplicate {}, {:.0} MB/s per link{}",
        n.one_way_latency_ms.describe(),
        n.loss,
        n.duplicate,
        n.bandwidth_bytes_per_s / 1e6,
        if n.links.is_empty() {
            String::new()
        } else {
            format!(", {} link overrides", n.links.len())
        }
    ));
    let w = &sc.workload;
    if w.writes_per_s > 0.0 {
        lines.push(format!(
            "workload: {} writes/s (Poisson), values {} bytes, {} keys, target {}, request timeout {}",
            w.writes_per_s,
            w.value_size_bytes.describe(),
            w.key_count,
            describe_target(&w.target),
            etcdlab_scenario::format_duration(w.request_timeout_ns)
        ));
    } else if sc.kube.is_none() && sc.traffic.is_none() {
        lines.push("workload: none".into());
    }
    if let Some(t) = &sc.traffic {
        lines.push(traffic_line(t, sc.cluster.size));
    }
    if w.writes_per_s > 0.0 && w.delete_ratio > 0.0 {
        lines.push(format!(
            "deletes: {}% of the writes delete their key instead of putting it",
            libm::round(w.delete_ratio * 1000.0) / 10.0
        ));
    }
    if w.writes_per_s > 0.0 && w.txn_ratio > 0.0 {
        lines.push(format!(
            "optimistic updates: {}% of the writes are txns comparing the key's value, version, create or mod revision (drawn per txn) with what the client last saw of it, putting if it holds, reading the key if not",
            libm::round(w.txn_ratio * 1000.0) / 10.0
        ));
    }
    if w.reads_per_s > 0.0 {
        lines.push(format!(
            "reads: {} per second (Poisson), {}",
            w.reads_per_s,
            if w.read_linearizable {
                "linearizable (ReadIndex: a heartbeat round confirms the leader, then the member waits to apply that index)"
            } else {
                "serializable (the member's local state)"
            }
        ));
    }
    lines.extend(storage_inputs(sc));
    lines
}

/// A byte count in MiB or GiB, as quotas are usually written.
pub(crate) fn binary_size(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= 1024.0 * MIB {
        format!("{:.2} GiB", b / (1024.0 * MIB))
    } else {
        format!("{:.1} MiB", b / MIB)
    }
}

/// The storage and Kubernetes inputs: quota, compaction, the control plane's writes.
pub(crate) fn storage_inputs(sc: &Scenario) -> Vec<String> {
    let c = &sc.cluster;
    let mut lines = vec![format!(
        "quota-backend-bytes {} ({}); etcd auto-compaction {}",
        c.quota_backend_bytes,
        binary_size(c.quota_backend_bytes),
        match c.auto_compaction {
            None => "off".to_string(),
            Some(etcdlab_scenario::AutoCompaction::Periodic { retention_ns }) => format!(
                "periodic, retention {}",
                etcdlab_scenario::format_duration(retention_ns)
            ),
            Some(etcdlab_scenario::AutoCompaction::Revision { retention }) => {
                format!("revision, retention {retention}")
            }
        }
    )];
    if let Some(k) = &sc.kube {
        let cfg = &k.config;
        lines.push(format!(
            "kubernetes: {} nodes, {} pods, {} configmaps, {} secrets; pod churn {}/h, events {}/h (on {} s leases), node Lease every {} s, Node status every {} s, leader-election Leases every {} s: {:.0} bytes/s of keys and values written; kube-apiserver compaction {}",
            cfg.nodes,
            cfg.total_pods(),
            cfg.configmaps,
            cfg.secrets,
            cfg.pod_churn_per_hour,
            cfg.events_per_hour,
            cfg.event_ttl_s,
            cfg.node_lease_renew_interval_s,
            cfg.node_status_update_interval_s,
            cfg.control_plane_lease_renew_interval_s,
            cfg.mean_put_bytes_per_s(),
            if k.apiserver_compaction {
                format!("every {}", etcdlab_scenario::format_duration(k.apiserver_compaction_interval_ns))
            } else {
                "off".to_string()
            }
        ));
        if let Some(api) = &k.api {
            lines.push(format!(
                "kube-apiserver's clients (kubelets, controllers, scheduler): {} GETs/s and {} LISTs/s answered from its watch cache in {} / {} ms, besides the writes above through etcd; latency measured per request as apiserver_request_duration_seconds does (every verb but WATCH)",
                api.gets_per_s,
                api.lists_per_s,
                api.cache_get_latency_ms.describe(),
                api.cache_list_latency_ms.describe(),
            ));
        }
    }
    if let Some(ff) = &sc.fast_forward {
        lines.push(format!(
            "fast-forward: history applied directly until {} (or {} bytes before the quota), gauges every {}",
            etcdlab_scenario::format_duration(ff.until_ns),
            ff.stop_before_quota_bytes,
            etcdlab_scenario::format_duration(ff.scrape_interval_ns)
        ));
    }
    lines
}

/// The workload target as scenarios spell it.
pub(crate) fn describe_target(t: &etcdlab_scenario::Target) -> String {
    match t {
        etcdlab_scenario::Target::RoundRobin => "round_robin".into(),
        etcdlab_scenario::Target::Leader => "leader".into(),
        etcdlab_scenario::Target::Member(m) => format!("m{}", m + 1),
    }
}

/// One line for a volume's storage array and its neighbours.
pub(crate) fn describe_array(a: &etcdlab_scenario::ArraySpec) -> String {
    let groups: Vec<String> = a
        .neighbours
        .iter()
        .map(|g| {
            format!(
                "{} x {} (idle {} IOPS for ~{} s, then ~{} s bursts with ~{} I/Os outstanding, sigma {})",
                g.count,
                if g.name.is_empty() { "neighbour" } else { &g.name },
                g.idle_iops,
                g.idle_mean_s,
                g.burst_mean_s,
                g.burst_outstanding_ios,
                g.burst_outstanding_sigma
            )
        })
        .collect();
    format!(
        "; on {} storage array of {} IOPS ({} I/Os per fsync){}{}",
        if a.shared_by_members {
            "one shared"
        } else {
            "its own"
        },
        a.iops,
        a.ios_per_fsync,
        if groups.is_empty() {
            ", no neighbours".to_string()
        } else {
            ", neighbours: ".to_string()
        },
        groups.join("; ")
    )
}

/// Where the model knowingly simplifies etcd; printed in every report.
pub(crate) fn notes(sc: &Scenario, actions: u64, skipped: u64) -> Vec<String> {
    let mut notes = Vec::new();
    if actions > 0 && skipped == actions {
        notes.push(format!(
            "WARNING: all {actions} timeline actions were skipped or had no effect (see the timeline): this run had no faults, so its expectations say nothing about them."
        ));
    } else if skipped > 0 {
        notes.push(format!(
            "{skipped} of {actions} timeline actions were skipped or had no effect (see the timeline)."
        ));
    }
    notes.extend(sc.notes.iter().cloned());
    notes.extend([
        "Apply takes no simulated CPU time (only a defrag holds it back); backend commits are charged on the member's disk, but an apply never waits for one. The applied state survives a crash as if the backend were committed at every apply (etcd replays the rest from the WAL: same result).".into(),
        "Leader changes count every leader elected in a new term after the run's first leader; etcd's per-member counter also counts the first.".into(),
        "A restart replays the WAL from the last raft snapshot (taken every --snapshot-count applied entries): its time grows with the entries since. WAL segment files (64 MB, preallocated, 5 kept) are not modelled.".into(),
    ]);
    notes
}

/// `[traffic]`: who sends what.
fn traffic_line(t: &etcdlab_scenario::Traffic, size: usize) -> String {
    let m = &t.mix;
    let mix = [
        ("get", m.get),
        ("range", m.range),
        ("get at a revision", m.get_at_revision),
        ("range at a revision", m.range_at_revision),
        ("put", m.put),
        ("delete", m.delete),
        ("txn", m.txn),
        ("lease put", m.lease_put),
        ("lease revoke", m.lease_revoke),
        ("compact", m.compact),
    ]
    .iter()
    .filter(|(_, w)| *w > 0)
    .map(|(name, w)| format!("{name} {w}"))
    .collect::<Vec<_>>()
    .join(", ");
    format!(
        "traffic: {} closed-loop clients ({} per member, each on one member), {} keys under /traffic/, values {} bytes, think time {}, client deadline {}, from {}{}; mix (weights) {mix}; leases live {} s (longer than the run)",
        t.clients_per_member as usize * size,
        t.clients_per_member,
        t.key_count,
        t.value_size_bytes.describe(),
        etcdlab_scenario::format_duration(t.think_time_ns),
        etcdlab_scenario::format_duration(t.request_timeout_ns),
        etcdlab_scenario::format_duration(t.start_ns),
        t.stop_ns.map_or(String::new(), |s| format!(" to {}", etcdlab_scenario::format_duration(s))),
        t.lease_ttl_s
    )
}
