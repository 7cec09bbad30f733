//! From what a run recorded to the report's record: summary figures, expectations, inputs.

use crate::history::Figures;
use crate::inputs::{inputs, notes};
use crate::world::Recording;
use etcdlab_report::{
    AlarmChange, DbSizeSample, ExpectationResult, Failover, LatencyMs, MedianMax, MinuteLatency,
    NospaceRecord, OperatorStep, Quantiles, RunRecord, Summary, WatchRecord, WatcherRow, Writes,
};
use etcdlab_scenario::{Expectation, Scenario, OUTCOME_METRICS};
use hdrhistogram::Histogram;
use indexmap::IndexMap;

pub(crate) fn build_record(
    sc: &Scenario,
    recording: Recording,
    checks: Vec<etcdlab_report::CheckResult>,
) -> RunRecord {
    let Recording {
        events,
        trace_hash,
        fast_forward_end_ns,
        snapshots,
        watchers,
        rec,
        series,
        invariant_broken: _, // taken by `judge`
        liveness: _,         // taken by `judge`
        apiserver,
    } = recording;
    let (apiserver, apiserver_latency_per_5m) = match apiserver {
        Some((figures, bins)) => (Some(figures), bins),
        None => (None, Vec::new()),
    };
    let families = series.into_families();
    let storage = &rec.storage;
    // The figures of elections, leaders and failovers: the recorder's log, folded.
    let fold = rec.fold();
    let relists = rec.relists();
    let alerts = alert_episodes(sc, &families, fast_forward_end_ns);
    let simulated_seconds = sc.duration_ns as f64 / 1e9;
    let hours = simulated_seconds / 3600.0;
    let failover = failover_stats(&fold.failovers_s);
    let write_figures = rec.history.figures(false);
    let writes = request_figures(&write_figures);
    let wal_fsync_ms = quantiles_ms(&rec.fsync_all_us);
    let wal_fsync_p99_5m_ms = wal_fsync_p99_5m_ms(sc, &families, fast_forward_end_ns);
    let mut summary = Summary {
        scenario: sc.name.clone(),
        scenario_file: String::new(),
        seed: sc.seed,
        overrides: sc
            .overrides
            .iter()
            .filter(|o| !o.starts_with("seed="))
            .cloned()
            .collect(),
        simulated_seconds,
        events,
        trace_hash,
        leader_changes: fold.leader_changes,
        leader_changes_per_hour: round6(fold.leader_changes as f64 / hours),
        elections: fold.elections,
        max_term: fold.max_term,
        writes,
        failover_s: failover,
        rejoin_catch_up_s: failover_stats(&fold.catch_ups_s),
        heartbeat_send_failures: fold.heartbeat_send_failures,
        wal_fsync_ms,
        wal_fsync_p99_5m_ms: median_max(&wal_fsync_p99_5m_ms),
        outcome: IndexMap::new(),
        expectations: Vec::new(),
        checks,
        alerts,
        notes: notes(sc, fold.actions, fold.skipped_actions),
        nospace_at_s: None,
        write_downtime_s: None,
        db_size_alert_lead_s: None,
        max_write_gap_s: max_gap_s(&write_figures.ok_done_ns),
        watch_relists: (!sc.watches.is_empty()).then_some(relists.len() as u64),
        snapshots: snapshots
            .as_ref()
            .map(etcdlab_report::SnapshotsReport::summary),
        apiserver,
        reads: (sc.workload.reads_per_s > 0.0).then(|| request_figures(&rec.history.figures(true))),
        optimistic_updates: (sc.workload.txn_ratio > 0.0).then(|| rec.history.txn_figures()),
        traffic: (sc.traffic.as_ref()).map(|t| {
            let clients = t.clients_per_member * sc.cluster.size as u32;
            rec.history.traffic_figures(clients)
        }),
    };
    nospace_figures(&mut summary, storage);
    summary.outcome = OUTCOME_METRICS
        .iter()
        .map(|name| (name.to_string(), outcome_metric(&summary, name)))
        .collect();
    summary.expectations = sc.expect.iter().map(|e| evaluate(e, &summary)).collect();
    let lead_s = summary.db_size_alert_lead_s;
    let watch_record = watch_record(sc, watchers, &relists);
    let operator_log = rec.operator_steps();
    let nospace = nospace_record(sc, storage, &operator_log, lead_s);
    RunRecord {
        snapshots,
        inputs: inputs(sc),
        member_names: (1..=sc.member_slots()).map(|i| format!("m{i}")).collect(),
        role_changes: rec.role_changes(),
        leader_timeline: fold.leader_spans.clone(),
        write_latency_per_minute: per_minute(&write_figures.per_minute),
        apiserver_latency_per_5m,
        wal_fsync_us: rec.fsync_us.clone(),
        wal_fsync_p99_5m_ms,
        timeline: rec.timeline_entries(),
        warnings: fold.warning_counts(),
        metrics: families,
        elections: fold.elections_table.clone(),
        election_timeout_s: sc.cluster.election_timeout_ms as f64 / 1000.0,
        watches: watch_record,
        nospace,
        sections: Vec::new(),
        db_size: db_size_samples(&storage.db_size),
        quota_bytes: storage.quota.clone(),
        operator_steps: operator_steps(&operator_log),
        alarms: alarm_changes(&rec.alarms()),
        summary,
    }
}

/// The alert rules evaluated over the run's own series (from where a fast-forward ended).
fn alert_episodes(
    sc: &Scenario,
    families: &[etcdlab_report::MetricFamily],
    fast_forward_end_ns: Option<u64>,
) -> Vec<etcdlab_report::AlertEpisode> {
    let rules = crate::check_alert_rules(sc).expect("alert rules are checked before the run");
    etcdlab_alerts::summarize(etcdlab_alerts::evaluate_at(
        families,
        &rules,
        evaluation_times(sc, fast_forward_end_ns),
    ))
}

/// Each member's 5-minute WAL fsync p99 (ms) at every scrape after any fast-forward (there are
/// no fsyncs before it), by the same expression and evaluator as `EtcdDiskFsyncSlow`.
fn wal_fsync_p99_5m_ms(
    sc: &Scenario,
    families: &[etcdlab_report::MetricFamily],
    fast_forward_end_ns: Option<u64>,
) -> Vec<(String, Vec<(u64, f64)>)> {
    let every = sc.metrics.scrape_interval_ns;
    let first = fast_forward_end_ns.unwrap_or(0) / every + 1;
    let times = (first..=sc.duration_ns / every).map(move |i| i * every);
    let series =
        etcdlab_alerts::evaluate_series(families, etcdlab_alerts::WAL_FSYNC_P99_5M_EXPR, times)
            .expect("the evaluator supports the fsync p99 expression");
    series
        .into_iter()
        .map(|(labels, points)| {
            let name = (labels.iter())
                .map(|(k, v)| {
                    if k == "member" {
                        v.clone()
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            let ms = points.into_iter().map(|(t, s)| (t, round6(s * 1000.0)));
            (name, ms.collect())
        })
        .collect()
}

/// Median and max of every point of every series (all members pooled, as `wal_fsync_ms`
/// pools every member's fsyncs).
fn median_max(series: &[(String, Vec<(u64, f64)>)]) -> MedianMax {
    let mut v: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .collect();
    v.sort_by(f64::total_cmp);
    MedianMax {
        median: median_of_sorted(&v).map(round6),
        max: v.last().copied(),
    }
}

fn quantiles_ms(h: &Histogram<u64>) -> Quantiles {
    Quantiles {
        p50: quantile_ms(h, 0.50),
        p99: quantile_ms(h, 0.99),
        p999: quantile_ms(h, 0.999),
        max: max_ms(h),
    }
}

fn db_size_samples(samples: &[(u64, usize, u64, u64)]) -> Vec<DbSizeSample> {
    samples
        .iter()
        .map(|&(t_ns, member, size_bytes, in_use_bytes)| DbSizeSample {
            t_ns,
            member,
            size_bytes,
            in_use_bytes,
        })
        .collect()
}

fn operator_steps(steps: &[&crate::world::StepLog]) -> Vec<OperatorStep> {
    steps
        .iter()
        .map(|s| OperatorStep {
            started_ns: s.started_ns,
            finished_ns: s.finished_ns,
            command: s.command.clone(),
            output: s.output.clone(),
            ok: s.ok,
        })
        .collect()
}

fn alarm_changes(alarms: &[&crate::world::AlarmLog]) -> Vec<AlarmChange> {
    alarms
        .iter()
        .map(|a| AlarmChange {
            at_ns: a.at_ns,
            member: a.member,
            alarm: a.alarm.to_string(),
            raised: a.raised,
        })
        .collect()
}

/// The facts behind the report's NOSPACE section (None: the alarm was never raised).
fn nospace_record(
    sc: &Scenario,
    storage: &crate::world::StorageRecord,
    steps: &[&crate::world::StepLog],
    alert_lead_s: Option<f64>,
) -> Option<NospaceRecord> {
    const GIB: f64 = (1u64 << 30) as f64;
    let first_member_at = |bytes: f64| {
        storage
            .db_size
            .iter()
            .filter(|s| s.1 == 0 && s.2 as f64 >= bytes)
            .map(|s| s.0)
            .min()
    };
    Some(NospaceRecord {
        nospace_at_ns: storage.nospace_at_ns?,
        first_member_half_gib_ns: first_member_at(0.5 * GIB),
        first_member_six_gib_ns: first_member_at(6.0 * GIB),
        kube_put_bytes_per_s: sc.kube.as_ref().map(|k| k.config.mean_put_bytes_per_s()),
        db_size_alert_lead_s: alert_lead_s,
        runbook_pace: sc.runbook.as_ref().map(|rb| {
            (
                etcdlab_scenario::format_duration(rb.diagnosis_ns),
                etcdlab_scenario::format_duration(rb.think_time_ns),
            )
        }),
        operator_command_s: steps
            .iter()
            .map(|s| (s.finished_ns - s.started_ns) as f64 / 1e9)
            .sum(),
        writes_back_ns: storage.writes_back_ns,
    })
}

/// What each watch client received and every relist (None: the scenario has no watchers).
fn watch_record(
    sc: &Scenario,
    watchers: Vec<WatcherRow>,
    relists: &[&crate::world::Relist],
) -> Option<WatchRecord> {
    if sc.watches.is_empty() {
        return None;
    }
    let relists = relists.iter().map(|r| (*r).clone()).collect();
    Some(WatchRecord {
        watchers,
        relists,
        compacted_error: crate::world::ERR_WATCH_COMPACTED.to_string(),
    })
}

/// Counts, errors and latency quantiles of a kind of request (writes, reads).
fn request_figures(f: &Figures) -> Writes {
    Writes {
        ok: f.ok,
        failed: f.failed,
        errors: f.errors.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        latency_ms: LatencyMs {
            p50: quantile_ms(&f.latency_us, 0.50),
            p99: quantile_ms(&f.latency_us, 0.99),
            max: max_ms(&f.latency_us),
        },
    }
}

/// The longest gap between two successful writes' replies, in seconds.
fn max_gap_s(done_ns: &[u64]) -> Option<f64> {
    let mut t = done_ns.to_vec();
    t.sort_unstable();
    t.windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .map(|gap| round6(gap as f64 / 1e9))
}

/// When alert rules are evaluated: every fast-forward scrape over fast-forwarded history (only
/// storage gauges exist there), then every scrape interval, as Prometheus would.
fn evaluation_times(sc: &Scenario, fast_forward_end_ns: Option<u64>) -> impl Iterator<Item = u64> {
    let every = sc.metrics.scrape_interval_ns;
    let (ff_every, ff_end) = match (&sc.fast_forward, fast_forward_end_ns) {
        (Some(ff), Some(end)) => (ff.scrape_interval_ns, end),
        _ => (every, 0),
    };
    let coarse = (1..=ff_end / ff_every).map(move |i| i * ff_every);
    let fine = (ff_end / every + 1..=sc.duration_ns / every).map(move |i| i * every);
    coarse.chain(fine)
}

/// The NOSPACE figures: when the alarm fired, how long writes were down, and how long before
/// it EtcdDatabaseSizeHigh had fired (None when the run had no NOSPACE alarm).
fn nospace_figures(summary: &mut Summary, storage: &crate::world::StorageRecord) {
    let Some(nospace_ns) = storage.nospace_at_ns else {
        return;
    };
    let nospace_s = nospace_ns as f64 / 1e9;
    summary.nospace_at_s = Some(round6(nospace_s));
    summary.write_downtime_s = storage
        .writes_back_ns
        .map(|back| round6((back - nospace_ns) as f64 / 1e9));
    summary.db_size_alert_lead_s = summary
        .alerts
        .iter()
        .filter(|a| a.name == "EtcdDatabaseSizeHigh" && a.first_fired_s <= nospace_s)
        .map(|a| a.first_fired_s)
        .reduce(f64::min)
        .map(|first| round6(nospace_s - first));
}

/// The value of an outcome figure by its `[[expect]]` name.
pub fn outcome_metric(s: &Summary, name: &str) -> Option<f64> {
    let snapshots = s.snapshots.as_ref();
    // Present when the run had a restore or corruption checks.
    let restore = snapshots.and_then(|x| x.restore.as_ref());
    let count = |n: Option<u64>| n.map(|n| n as f64);
    Some(match name {
        "leader_changes" => s.leader_changes as f64,
        "leader_changes_per_hour" => s.leader_changes_per_hour,
        "elections" => s.elections as f64,
        "writes_ok" => s.writes.ok as f64,
        "writes_failed" => s.writes.failed as f64,
        "write_latency_ms_p50" => return s.writes.latency_ms.p50,
        "write_latency_ms_p99" => return s.writes.latency_ms.p99,
        "write_latency_ms_max" => return s.writes.latency_ms.max,
        "failover_s_count" => s.failover_s.count as f64,
        "failover_s_min" => return s.failover_s.min,
        "failover_s_median" => return s.failover_s.median,
        "failover_s_max" => return s.failover_s.max,
        "rejoin_catch_up_s_count" => s.rejoin_catch_up_s.count as f64,
        "rejoin_catch_up_s_median" => return s.rejoin_catch_up_s.median,
        "rejoin_catch_up_s_max" => return s.rejoin_catch_up_s.max,
        "heartbeat_send_failures" => s.heartbeat_send_failures as f64,
        "wal_fsync_ms_p50" => return s.wal_fsync_ms.p50,
        "wal_fsync_ms_p99" => return s.wal_fsync_ms.p99,
        "wal_fsync_ms_p999" => return s.wal_fsync_ms.p999,
        "wal_fsync_p99_5m_ms_median" => return s.wal_fsync_p99_5m_ms.median,
        "wal_fsync_p99_5m_ms_max" => return s.wal_fsync_p99_5m_ms.max,
        "max_term" => s.max_term as f64,
        "nospace_at_s" => return s.nospace_at_s,
        "write_downtime_s" => return s.write_downtime_s,
        "db_size_alert_lead_s" => return s.db_size_alert_lead_s,
        "max_write_gap_s" => return s.max_write_gap_s,
        "watch_relists" => return s.watch_relists.map(|n| n as f64),
        "reads_failed" => return s.reads.as_ref().map(|r| r.failed as f64),
        "read_latency_ms_p99" => return s.reads.as_ref().and_then(|r| r.latency_ms.p99),
        "apiserver_latency_ms_p50" => return s.apiserver.as_ref()?.latency_ms.p50,
        "apiserver_latency_ms_p99" => return s.apiserver.as_ref()?.latency_ms.p99,
        "apiserver_latency_ms_max" => return s.apiserver.as_ref()?.latency_ms.max,
        "divergence_detected_at_s" => return restore?.divergence_detected_at_s,
        "revision_gap" => return restore?.revision_gap.map(|g| g as f64),
        "lost_changes" => restore?.lost_changes.values().sum::<u64>() as f64,
        "snapshots_sent" => return count(snapshots?.snapshots_sent),
        "snapshot_catchup_s" => return snapshots?.snapshot_catchup_s,
        "hashkv_distinct" => return count(snapshots?.hashkv_distinct),
        "cluster_ids" => return count(snapshots?.cluster_ids),
        "members_refused_start" => return count(snapshots?.members_refused_start),
        "client_check_failures" => s.checks.iter().filter(|c| c.verdict == "fail").count() as f64,
        _ => match name.strip_prefix("lost_changes.") {
            // 0 for a resource nothing was lost of.
            Some(resource) => restore?.lost_changes.get(resource).copied().unwrap_or(0) as f64,
            None => return None,
        },
    })
}

fn evaluate(e: &Expectation, s: &Summary) -> ExpectationResult {
    let actual = outcome_metric(s, &e.metric);
    let name = match (e.min, e.max) {
        (Some(a), Some(b)) if a == b => format!("{} == {a}", e.metric),
        (Some(a), Some(b)) => format!("{} in [{a}, {b}]", e.metric),
        (Some(a), None) => format!("{} >= {a}", e.metric),
        (None, Some(b)) => format!("{} <= {b}", e.metric),
        (None, None) => e.metric.clone(),
    };
    let ok = actual
        .is_some_and(|v| e.min.is_none_or(|min| v >= min) && e.max.is_none_or(|max| v <= max));
    ExpectationResult { name, ok, actual }
}

/// The median of sorted values (the mean of the middle two for an even count); None if empty.
pub fn median_of_sorted(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn failover_stats(samples: &[f64]) -> Failover {
    let mut v: Vec<f64> = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let median = median_of_sorted(&v);
    Failover {
        count: v.len() as u64,
        min: v.first().copied().map(round6),
        median: median.map(round6),
        max: v.last().copied().map(round6),
    }
}

fn quantile_ms(h: &Histogram<u64>, q: f64) -> Option<f64> {
    (!h.is_empty()).then(|| round6(h.value_at_quantile(q) as f64 / 1000.0))
}

fn max_ms(h: &Histogram<u64>) -> Option<f64> {
    (!h.is_empty()).then(|| round6(h.max() as f64 / 1000.0))
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn per_minute(
    m: &std::collections::BTreeMap<u64, (Histogram<u64>, u64, u64)>,
) -> Vec<MinuteLatency> {
    m.iter()
        .map(|(&minute, (h, ok, failed))| MinuteLatency {
            minute,
            ok: *ok,
            failed: *failed,
            p50_ms: quantile_ms(h, 0.5).unwrap_or(0.0),
            p99_ms: quantile_ms(h, 0.99).unwrap_or(0.0),
            max_ms: max_ms(h).unwrap_or(0.0),
        })
        .collect()
}
