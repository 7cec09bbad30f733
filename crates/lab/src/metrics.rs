//! etcd's metrics as the lab scrapes them: per member, sampled on the simulated clock.

use etcdlab_report::{MetricFamily, MetricType, Sample};

/// etcd's `ExponentialBuckets(0.001, 2, 14)` for WAL fsync and backend commit durations.
pub const FSYNC_BUCKETS_S: [f64; 14] = [
    0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
    8.192,
];

/// etcd's peer round-trip buckets: `ExponentialBuckets(0.0001, 2, 16)`.
pub const RTT_BUCKETS_S: [f64; 16] = [
    0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048,
    0.4096, 0.8192, 1.6384, 3.2768,
];

/// A Prometheus histogram: cumulative on output, per-bucket counts inside.
#[derive(Clone, Debug)]
pub struct PromHistogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

impl PromHistogram {
    pub fn new(bounds: &'static [f64]) -> PromHistogram {
        PromHistogram {
            bounds,
            counts: vec![0; bounds.len()],
            count: 0,
            sum: 0.0,
        }
    }

    pub fn observe(&mut self, value: f64) {
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            self.counts[i] += 1;
        }
        self.count += 1;
        self.sum += value;
    }

    /// Append `_bucket` (cumulative, with `le`), `_count` and `_sum` samples.
    pub fn samples(&self, labels: &[(String, String)], at_ns: u64, out: &mut Vec<Sample>) {
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(&self.counts) {
            cumulative += n;
            out.push(sample(
                "_bucket",
                labels,
                Some(format_le(*bound)),
                at_ns,
                cumulative as f64,
            ));
        }
        out.push(sample(
            "_bucket",
            labels,
            Some("+Inf".into()),
            at_ns,
            self.count as f64,
        ));
        out.push(sample("_count", labels, None, at_ns, self.count as f64));
        out.push(sample("_sum", labels, None, at_ns, self.sum));
    }
}

fn format_le(bound: f64) -> String {
    format!("{bound}")
}

fn sample(
    suffix: &'static str,
    labels: &[(String, String)],
    le: Option<String>,
    at_ns: u64,
    value: f64,
) -> Sample {
    let mut labels = labels.to_vec();
    if let Some(le) = le {
        labels.push(("le".into(), le));
    }
    Sample {
        suffix,
        labels,
        timestamp_ns: at_ns,
        value,
    }
}

/// The families the lab writes, in output order. Help texts are etcd's.
pub const FAMILIES: &[(&str, MetricType, &str)] = &[
    (
        "etcd_server_has_leader",
        MetricType::Gauge,
        "Whether or not a leader exists. 1 is existence, 0 is not.",
    ),
    (
        "etcd_server_is_leader",
        MetricType::Gauge,
        "Whether or not this member is a leader. 1 if is, 0 otherwise.",
    ),
    (
        "etcd_server_leader_changes_seen",
        MetricType::Counter,
        "The number of leader changes seen.",
    ),
    (
        "etcd_server_proposals_committed_total",
        MetricType::Gauge,
        "The total number of consensus proposals committed.",
    ),
    (
        "etcd_server_proposals_applied_total",
        MetricType::Gauge,
        "The total number of consensus proposals applied.",
    ),
    (
        "etcd_server_proposals_pending",
        MetricType::Gauge,
        "The current number of pending proposals to commit.",
    ),
    (
        "etcd_server_proposals_failed",
        MetricType::Counter,
        "The total number of failed proposals seen.",
    ),
    (
        "etcd_server_heartbeat_send_failures",
        MetricType::Counter,
        "The total number of leader heartbeat send failures (likely overloaded from slow disk).",
    ),
    (
        "etcd_disk_wal_fsync_duration_seconds",
        MetricType::Histogram,
        "The latency distributions of fsync called by WAL.",
    ),
    (
        "etcd_network_peer_round_trip_time_seconds",
        MetricType::Histogram,
        "Round-Trip-Time histogram between peers",
    ),
    (
        "etcd_disk_backend_commit_duration_seconds",
        MetricType::Histogram,
        "The latency distributions of commit called by backend.",
    ),
    (
        "etcd_disk_backend_defrag_duration_seconds",
        MetricType::Histogram,
        "The latency distribution of backend defragmentation.",
    ),
    (
        "etcd_mvcc_db_total_size_in_bytes",
        MetricType::Gauge,
        "Total size of the underlying database physically allocated in bytes.",
    ),
    (
        "etcd_mvcc_db_total_size_in_use_in_bytes",
        MetricType::Gauge,
        "Total size of the underlying database logically in use in bytes.",
    ),
    (
        "etcd_server_quota_backend_bytes",
        MetricType::Gauge,
        "Current backend storage quota size in bytes.",
    ),
    (
        "etcd_debugging_mvcc_current_revision",
        MetricType::Gauge,
        "The current revision of store.",
    ),
    (
        "etcd_debugging_mvcc_compact_revision",
        MetricType::Gauge,
        "The revision of the last compaction in store.",
    ),
    (
        "etcd_debugging_mvcc_keys_total",
        MetricType::Gauge,
        "Total number of keys.",
    ),
    (
        "etcd_debugging_mvcc_db_compaction_keys",
        MetricType::Counter,
        "Total number of db keys compacted.",
    ),
    (
        "etcd_disk_defrag_inflight",
        MetricType::Gauge,
        "Whether or not defrag is active on the member. 1 means active, 0 means not.",
    ),
];

/// Samples collected during a run, one list per family (same order as [`FAMILIES`]).
pub struct Series {
    pub families: Vec<Vec<Sample>>,
}

impl Series {
    pub fn new() -> Series {
        Series {
            families: vec![Vec::new(); FAMILIES.len()],
        }
    }

    pub fn push(
        &mut self,
        family: usize,
        suffix: &'static str,
        member: &str,
        at_ns: u64,
        value: f64,
    ) {
        self.families[family].push(Sample {
            suffix,
            labels: vec![("member".into(), member.into())],
            timestamp_ns: at_ns,
            value,
        });
    }

    /// Into report families. Samples are grouped by series (labels) and then time, as
    /// OpenMetrics and promtool's importer want.
    pub fn into_families(self) -> Vec<MetricFamily> {
        FAMILIES
            .iter()
            .zip(self.families)
            .map(|(&(name, metric_type, help), mut samples)| {
                samples.sort_by(|a, b| {
                    (&a.labels, a.suffix, a.timestamp_ns).cmp(&(
                        &b.labels,
                        b.suffix,
                        b.timestamp_ns,
                    ))
                });
                MetricFamily {
                    name: name.into(),
                    help: help.into(),
                    metric_type,
                    samples,
                }
            })
            .collect()
    }
}

impl Default for Series {
    fn default() -> Self {
        Self::new()
    }
}

pub const HAS_LEADER: usize = 0;
pub const IS_LEADER: usize = 1;
pub const LEADER_CHANGES: usize = 2;
pub const COMMITTED: usize = 3;
pub const APPLIED: usize = 4;
pub const PENDING: usize = 5;
pub const FAILED: usize = 6;
pub const HEARTBEAT_FAILURES: usize = 7;
pub const WAL_FSYNC: usize = 8;
pub const PEER_RTT: usize = 9;
pub const BACKEND_COMMIT: usize = 10;
pub const DEFRAG_DURATION: usize = 11;
pub const DB_SIZE: usize = 12;
pub const DB_SIZE_IN_USE: usize = 13;
pub const QUOTA: usize = 14;
pub const CURRENT_REVISION: usize = 15;
pub const COMPACT_REVISION: usize = 16;
pub const KEYS: usize = 17;
pub const COMPACTION_KEYS: usize = 18;
pub const DEFRAG_INFLIGHT: usize = 19;
/// etcd's defrag histogram: `ExponentialBuckets(.1, 2, 13)`.
pub const DEFRAG_BUCKETS_S: [f64; 13] = [
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_with_inf() {
        let mut h = PromHistogram::new(&FSYNC_BUCKETS_S);
        h.observe(0.0005);
        h.observe(0.003);
        h.observe(20.0);
        let mut out = Vec::new();
        h.samples(&[("member".into(), "m1".into())], 0, &mut out);
        let buckets: Vec<f64> = out
            .iter()
            .filter(|s| s.suffix == "_bucket")
            .map(|s| s.value)
            .collect();
        assert_eq!(buckets[0], 1.0);
        assert_eq!(buckets[2], 2.0);
        assert_eq!(buckets[13], 2.0);
        assert_eq!(*buckets.last().unwrap(), 3.0);
        assert_eq!(
            out.iter().find(|s| s.suffix == "_count").unwrap().value,
            3.0
        );
    }
}
