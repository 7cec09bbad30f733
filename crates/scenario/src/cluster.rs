//! `[cluster]`: size, etcd version, the raft timing flags, snapshots and corruption checks.

use crate::error::R;
use crate::read::{Field, Table};
use crate::{Cluster, EtcdVersion};

const KEYS: &[&str] = &[
    "size",
    "etcd_version",
    "heartbeat_interval_ms",
    "election_timeout_ms",
    "pre_vote",
    "restart_base_ms",
    "wal_replay_bytes_per_s",
    "quota_backend_bytes",
    "auto_compaction_mode",
    "auto_compaction_retention",
    "snapshot_count",
    "snapshot_catchup_entries",
    "initial_corrupt_check",
    "corrupt_check_time",
    "initial_cluster_token",
    "watch_progress_notify_interval",
    "compaction_batch_limit",
    "strict_reconfig_check",
];

/// etcd 3.4/3.5's `--snapshot-count` default.
pub const DEFAULT_SNAPSHOT_COUNT: u64 = 100_000;
/// etcd's `SnapshotCatchUpEntries`: raft log entries kept after a snapshot's compaction.
pub const DEFAULT_SNAPSHOT_CATCHUP_ENTRIES: u64 = 5_000;
/// etcd's `--initial-cluster-token` default (etcdctl snapshot restore's too).
pub const DEFAULT_INITIAL_CLUSTER_TOKEN: &str = "etcd-cluster";

/// etcd 3.4/3.5's `--experimental-watch-progress-notify-interval` default (10 minutes).
pub const DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_NS: crate::Nanos = 600_000_000_000;

/// etcd's `--experimental-compaction-batch-limit` default.
pub const DEFAULT_COMPACTION_BATCH_LIMIT: u64 = 1000;

/// etcd's default `--quota-backend-bytes` (what 0 means).
pub const DEFAULT_QUOTA_BACKEND_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The largest quota the lab accepts (etcd only warns above 8 GiB).
pub(crate) const MAX_QUOTA_BACKEND_BYTES: u64 = 1 << 40;

/// etcd refuses an election timeout above this (ms).
const MAX_ELECTION_TIMEOUT_MS: u64 = 50_000;

pub(crate) fn read_cluster(t: Option<Table<'_>>) -> R<Cluster> {
    let Some(t) = t else { return Ok(defaults()) };
    t.check_keys(KEYS)?;
    let etcd_version = t.opt("etcd_version", version)?.unwrap_or(EtcdVersion::V3_4);
    let heartbeat_interval_ms = t.opt("heartbeat_interval_ms", heartbeat)?.unwrap_or(100);
    let election = |f: Field<'_>| election_timeout(f, heartbeat_interval_ms);
    let election_timeout_ms = match t.opt("election_timeout_ms", election)? {
        Some(ms) => ms,
        None => default_election(&t, heartbeat_interval_ms)?,
    };
    Ok(Cluster {
        size: t.opt("size", size)?.unwrap_or(3),
        etcd_version,
        heartbeat_interval_ms,
        election_timeout_ms,
        pre_vote: t
            .opt("pre_vote", |f| f.bool())?
            .unwrap_or(etcd_version.pre_vote_default()),
        restart_base_ms: t
            .opt("restart_base_ms", |f| f.non_negative())?
            .unwrap_or(200.0),
        wal_replay_bytes_per_s: t
            .opt("wal_replay_bytes_per_s", |f| f.positive())?
            .unwrap_or(200e6),
        quota_backend_bytes: t
            .opt("quota_backend_bytes", quota)?
            .unwrap_or(DEFAULT_QUOTA_BACKEND_BYTES),
        auto_compaction: crate::kube::read_auto_compaction(&t)?,
        snapshot_count: t
            .opt("snapshot_count", |f| {
                f.u64_in(1..=u64::MAX, "it must be >= 1 (etcd's --snapshot-count)")
            })?
            .unwrap_or(DEFAULT_SNAPSHOT_COUNT),
        snapshot_catchup_entries: t
            .opt("snapshot_catchup_entries", |f| {
                f.u64_in(
                    1..=u64::MAX,
                    "it must be >= 1 (entries kept in the raft log after a snapshot)",
                )
            })?
            .unwrap_or(DEFAULT_SNAPSHOT_CATCHUP_ENTRIES),
        initial_corrupt_check: t
            .opt("initial_corrupt_check", |f| f.bool())?
            .unwrap_or(false),
        strict_reconfig_check: t
            .opt("strict_reconfig_check", |f| f.bool())?
            .unwrap_or(true),
        corrupt_check_time_ns: t.opt("corrupt_check_time", corrupt_check_time)?.flatten(),
        initial_cluster_token: t
            .opt("initial_cluster_token", token)?
            .unwrap_or_else(|| DEFAULT_INITIAL_CLUSTER_TOKEN.to_string()),
        watch_progress_notify_interval_ns: t
            .opt("watch_progress_notify_interval", progress_notify_interval)?
            .unwrap_or(DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_NS),
        compaction_batch_limit: t
            .opt("compaction_batch_limit", |f| {
                f.u64_in(
                    1..=1_000_000,
                    "it must be 1..=1000000 (etcd's default is 1000)",
                )
            })?
            .unwrap_or(DEFAULT_COMPACTION_BATCH_LIMIT),
    })
}

/// `--experimental-watch-progress-notify-interval`: how often the server checks which
/// watches that asked for progress notifications got no event since its last check.
fn progress_notify_interval(f: Field<'_>) -> R<crate::Nanos> {
    let ns = f.duration()?;
    if ns < 100_000_000 {
        return Err(f.fail(format!(
            "{} is too short: use at least 100ms (etcd's default is 10m)",
            crate::format_duration(ns)
        )));
    }
    Ok(ns)
}

/// `--experimental-corrupt-check-time`: "0s" (etcd's default) means off, as a missing key.
fn corrupt_check_time(f: Field<'_>) -> R<Option<crate::Nanos>> {
    let ns = f.duration()?;
    if ns > 0 && ns < 1_000_000_000 {
        return Err(f.fail(format!(
            "{} is too short: the periodic check hashes every member's whole keyspace; use at \
             least 1s, or \"0s\" (off)",
            crate::format_duration(ns)
        )));
    }
    Ok((ns > 0).then_some(ns))
}

fn token(f: Field<'_>) -> R<String> {
    match f.str()? {
        "" => Err(f.fail(format!(
            "must not be empty (leave it out for etcd's default {DEFAULT_INITIAL_CLUSTER_TOKEN:?})"
        ))),
        t if t.chars().any(|c| c.is_whitespace() || c == ',') => Err(f.fail(format!(
            "{t:?} contains whitespace or a comma; use a plain token such as \"etcd-cluster-2\""
        ))),
        t => Ok(t.to_string()),
    }
}

fn quota(f: Field<'_>) -> R<u64> {
    let q = f.u64_in(
        0..=MAX_QUOTA_BACKEND_BYTES,
        "it must be 0..=1099511627776 (0 means etcd's default, 2 GiB)",
    )?;
    Ok(if q == 0 {
        DEFAULT_QUOTA_BACKEND_BYTES
    } else {
        q
    })
}

fn defaults() -> Cluster {
    Cluster {
        size: 3,
        etcd_version: EtcdVersion::V3_4,
        heartbeat_interval_ms: 100,
        election_timeout_ms: 1000,
        pre_vote: EtcdVersion::V3_4.pre_vote_default(),
        restart_base_ms: 200.0,
        wal_replay_bytes_per_s: 200e6,
        quota_backend_bytes: DEFAULT_QUOTA_BACKEND_BYTES,
        auto_compaction: None,
        snapshot_count: DEFAULT_SNAPSHOT_COUNT,
        snapshot_catchup_entries: DEFAULT_SNAPSHOT_CATCHUP_ENTRIES,
        initial_corrupt_check: false,
        strict_reconfig_check: true,
        corrupt_check_time_ns: None,
        initial_cluster_token: DEFAULT_INITIAL_CLUSTER_TOKEN.to_string(),
        watch_progress_notify_interval_ns: DEFAULT_WATCH_PROGRESS_NOTIFY_INTERVAL_NS,
        compaction_batch_limit: DEFAULT_COMPACTION_BATCH_LIMIT,
    }
}

fn size(f: Field<'_>) -> R<usize> {
    let n = f.u64_in(1..=7, "a cluster has 1 to 7 members")?;
    Ok(n as usize)
}

/// `"3.4"` or `"3.5"`; a bare `3.5` (as `--set cluster.etcd_version=3.5` types it, which TOML
/// reads as a number) is taken as the same version.
fn version(f: Field<'_>) -> R<EtcdVersion> {
    let text = match (f.str(), f.number()) {
        (Ok(s), _) => s.to_string(),
        (_, Ok(n)) => n.to_string(),
        _ => return Err(f.expected("a version string, \"3.4\" or \"3.5\"")),
    };
    match text.as_str() {
        "3.4" => Ok(EtcdVersion::V3_4),
        "3.5" => Ok(EtcdVersion::V3_5),
        other => Err(f.fail(format!(
            "unsupported etcd version {other:?}; use \"3.4\" or \"3.5\""
        ))),
    }
}

fn election_timeout(f: Field<'_>, heartbeat_ms: u64) -> R<u64> {
    let ms = f.u64()?;
    let min = heartbeat_ms.saturating_mul(5);
    if ms < min {
        return Err(f.fail(format!(
            "{ms} is below 5 x heartbeat_interval_ms ({min}); etcd rejects this too"
        )));
    }
    if ms > MAX_ELECTION_TIMEOUT_MS {
        return Err(f.fail(format!(
            "{ms} is above {MAX_ELECTION_TIMEOUT_MS}, the largest election timeout etcd accepts"
        )));
    }
    Ok(ms)
}

fn heartbeat(f: Field<'_>) -> R<u64> {
    f.u64_in(
        1..=MAX_ELECTION_TIMEOUT_MS / 5,
        "it must be 1..=10000 (5 x it must fit etcd's 50000 ms election timeout cap)",
    )
}

/// The default 1000 ms only fits heartbeats up to 200 ms; past that the user must choose.
fn default_election(t: &Table<'_>, heartbeat_ms: u64) -> R<u64> {
    const DEFAULT: u64 = 1000;
    if DEFAULT >= heartbeat_ms * 5 {
        return Ok(DEFAULT);
    }
    Err(t.missing(
        "election_timeout_ms",
        &format!(
            ": the default {DEFAULT} is below 5 x heartbeat_interval_ms ({})",
            heartbeat_ms * 5
        ),
    ))
}
