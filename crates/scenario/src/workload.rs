//! `[workload]` and `[metrics]`.

use crate::dist::read_dist;
use crate::error::R;
use crate::names::parse_member_name;
use crate::read::{Field, Table};
use crate::{Dist, MetricsConfig, Nanos, Target, Workload};

/// Open-loop writes per second a run accepts.
pub(crate) const MAX_WRITES_PER_S: f64 = 100_000.0;
/// Writes a whole run may make: raft logs are kept in full in memory (snapshots and log
/// compaction are not modelled yet), about 200 bytes per write across a 3-member cluster.
pub(crate) const MAX_RUN_WRITES: f64 = 50_000_000.0;

const KEYS: &[&str] = &[
    "writes_per_s",
    "value_size_bytes",
    "key_count",
    "target",
    "start",
    "stop",
    "request_timeout",
    "reads_per_s",
    "read_consistency",
    "delete_ratio",
    "txn_ratio",
];
const NS_PER_S: Nanos = 1_000_000_000;
const NS_PER_MS: Nanos = 1_000_000;

pub(crate) fn read_workload(
    t: Option<Table<'_>>,
    size: usize,
    election_timeout_ms: u64,
    run_ns: Nanos,
) -> R<Workload> {
    let mut w = defaults(election_timeout_ms);
    let Some(t) = t else { return Ok(w) };
    t.check_keys(KEYS)?;
    w.writes_per_s = t
        .opt("writes_per_s", |f| {
            let rate = f.number_in(0.0, MAX_WRITES_PER_S)?;
            let total = rate * run_ns as f64 / 1e9;
            if total > MAX_RUN_WRITES {
                return Err(f.fail(format!(
                    "{rate} writes/s for the whole run is {total:.0} writes, over the {MAX_RUN_WRITES:.0} a run can hold in memory (raft logs are not compacted yet); shorten the run or lower the rate"
                )));
            }
            Ok(rate)
        })?
        .unwrap_or(0.0);
    if let Some(d) = t.opt("value_size_bytes", read_dist)? {
        w.value_size_bytes = d;
    }
    let key_count = |f: Field<'_>| f.u64_in(1..=u64::MAX, "there must be at least 1 key");
    w.key_count = t.opt("key_count", key_count)?.unwrap_or(w.key_count);
    w.target = t
        .opt("target", |f| target(f, size))?
        .unwrap_or(Target::RoundRobin);
    w.start_ns = t.opt("start", |f| f.duration_before(run_ns))?.unwrap_or(0);
    w.reads_per_s = t
        .opt("reads_per_s", |f| f.number_in(0.0, MAX_WRITES_PER_S))?
        .unwrap_or(0.0);
    w.read_linearizable = t
        .opt("read_consistency", |f| match f.str()? {
            "linearizable" => Ok(true),
            "serializable" => Ok(false),
            other => Err(f.fail(format!(
                "unknown consistency {other:?}; use \"linearizable\" or \"serializable\""
            ))),
        })?
        .unwrap_or(true);
    w.delete_ratio = t
        .opt("delete_ratio", |f| f.number_in(0.0, 1.0))?
        .unwrap_or(0.0);
    w.txn_ratio = t
        .opt("txn_ratio", |f| {
            let ratio = f.number_in(0.0, 1.0)?;
            if ratio + w.delete_ratio > 1.0 {
                return Err(f.fail(format!(
                    "txn_ratio {ratio} and delete_ratio {} add up to more than 1 (each is a share of all writes)",
                    w.delete_ratio
                )));
            }
            Ok(ratio)
        })?
        .unwrap_or(0.0);
    w.stop_ns = t.opt("stop", |f| {
        let stop = f.duration()?;
        if stop <= w.start_ns {
            return Err(f.fail("must be after workload.start"));
        }
        Ok(stop)
    })?;
    if let Some(ns) = t.opt("request_timeout", |f| f.positive_duration())? {
        w.request_timeout_ns = ns;
    }
    Ok(w)
}

fn defaults(election_timeout_ms: u64) -> Workload {
    Workload {
        writes_per_s: 0.0,
        value_size_bytes: Dist::constant(1024.0),
        key_count: 1000,
        target: Target::RoundRobin,
        start_ns: 0,
        stop_ns: None,
        reads_per_s: 0.0,
        read_linearizable: true,
        delete_ratio: 0.0,
        txn_ratio: 0.0,
        request_timeout_ns: default_request_timeout(election_timeout_ms),
    }
}

/// etcd 3.4's server request timeout: 5 s plus twice the election timeout.
pub(crate) fn default_request_timeout(election_timeout_ms: u64) -> Nanos {
    (5 * NS_PER_S).saturating_add(election_timeout_ms.saturating_mul(2 * NS_PER_MS))
}

fn target(f: Field<'_>, size: usize) -> R<Target> {
    let name = f.str()?;
    match name {
        "round_robin" => return Ok(Target::RoundRobin),
        "leader" => return Ok(Target::Leader),
        _ => {}
    }
    match parse_member_name(name) {
        Some(i) if i < size => Ok(Target::Member(i)),
        _ => Err(f.fail(format!(
            "{name:?} is not \"round_robin\", \"leader\" or a member m1..m{size}"
        ))),
    }
}

pub(crate) fn read_metrics(t: Option<Table<'_>>) -> R<MetricsConfig> {
    const DEFAULT: Nanos = 15 * NS_PER_S;
    let Some(t) = t else {
        return Ok(MetricsConfig {
            scrape_interval_ns: DEFAULT,
        });
    };
    t.check_keys(&["scrape_interval"])?;
    let scrape = t.opt("scrape_interval", |f| {
        let ns = f.positive_duration()?;
        if ns < 1_000_000_000 {
            return Err(f.fail("the scrape interval must be at least 1s"));
        }
        Ok(ns)
    })?;
    Ok(MetricsConfig {
        scrape_interval_ns: scrape.unwrap_or(DEFAULT),
    })
}
