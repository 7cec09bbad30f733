//! Building the world from the scenario: member flags, disks (and the storage arrays they share), the network.

use super::*;

/// The etcd flags of member slot `index`, from the scenario's `[cluster]`.
pub(super) fn member_config(
    sc: &Scenario,
    index: usize,
    bug: Option<etcdlab_member::EtcdBug>,
) -> MemberConfig {
    MemberConfig {
        index,
        cluster_size: sc.cluster.size,
        heartbeat_interval_ns: sc.cluster.heartbeat_interval_ms * 1_000_000,
        election_timeout_ns: sc.cluster.election_timeout_ms * 1_000_000,
        pre_vote: sc.cluster.pre_vote,
        quota_backend_bytes: sc.cluster.quota_backend_bytes as i64,
        snapshot_count: sc.cluster.snapshot_count,
        snapshot_catchup_entries: sc.cluster.snapshot_catchup_entries,
        compaction_batch_limit: sc.cluster.compaction_batch_limit as usize,
        bug,
    }
}

/// One disk per member; a volume on a storage array gets that array (its own, or the one all
/// members share).
pub(super) fn build_disks(sc: &Scenario) -> (Vec<Disk>, Vec<Array>) {
    let mut arrays: Vec<Array> = Vec::new();
    let mut shared: Option<usize> = None;
    let disks = sc
        .disks
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let params = DiskParams {
                write_latency_ms: d.write_latency_ms.clone(),
                fsync_latency_ms: d.fsync_latency_ms.clone(),
                write_bandwidth_bytes_per_s: d.write_bandwidth_bytes_per_s,
            };
            let disk = Disk::new(params, stream(sc.seed, &format!("disk/m{}", i + 1)));
            let Some(a) = &d.array else { return disk };
            let params = ArrayParams {
                iops: a.iops,
                bandwidth_bytes_per_s: a.bandwidth_bytes_per_s,
                ios_per_fsync: a.ios_per_fsync,
                neighbours: a.neighbours.clone(),
            };
            let index = match (a.shared_by_members, shared) {
                (true, Some(index)) => index,
                _ => {
                    let name = if a.shared_by_members {
                        "array/shared".to_string()
                    } else {
                        format!("array/m{}", i + 1)
                    };
                    arrays.push(Array::new(params, stream(sc.seed, &name)));
                    let index = arrays.len() - 1;
                    if a.shared_by_members {
                        shared = Some(index);
                    }
                    index
                }
            };
            disk.on_array(index)
        })
        .collect();
    (disks, arrays)
}

pub(super) fn build_net(sc: &Scenario) -> Net {
    let n = sc.member_slots();
    let base = LinkParams {
        one_way_latency_ms: sc.network.one_way_latency_ms.clone(),
        loss: sc.network.loss,
        duplicate: sc.network.duplicate,
        bandwidth_bytes_per_s: sc.network.bandwidth_bytes_per_s,
    };
    let mut net = Net::new(n, base.clone(), stream(sc.seed, "net"));
    for o in &sc.network.links {
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for &a in &o.from {
            for &b in &o.to {
                if a != b {
                    pairs.push((a, b));
                    if o.symmetric {
                        pairs.push((b, a));
                    }
                }
            }
        }
        for (a, b) in pairs {
            let mut p = net.link_params(a, b).clone();
            if let Some(l) = &o.one_way_latency_ms {
                p.one_way_latency_ms = l.clone();
            }
            if let Some(loss) = o.loss {
                p.loss = loss;
            }
            if let Some(bw) = o.bandwidth_bytes_per_s {
                p.bandwidth_bytes_per_s = bw;
            }
            net.set_link(a, b, p);
        }
    }
    net
}

/// Small helpers on the scenario's cluster settings.
pub(crate) trait ClusterExt {
    fn heartbeat_interval_ns(&self) -> Nanos;
}

impl ClusterExt for etcdlab_scenario::Cluster {
    fn heartbeat_interval_ns(&self) -> Nanos {
        self.heartbeat_interval_ms * 1_000_000
    }
}
