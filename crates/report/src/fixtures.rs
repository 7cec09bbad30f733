//! Synthetic run records for tests, examples and eyeballing the charts. They resemble what the
//! lab produces (periodic leader pauses, elections, write stalls) but are made up here with a
//! fixed pseudo-random sequence, so they are the same on every machine.

use hdrhistogram::Histogram;
use indexmap::IndexMap;

use crate::*;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

/// A small deterministic generator (xorshift64*), enough for plausible-looking noise.
struct Noise(u64);

impl Noise {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A run of `members` members over `seconds` simulated seconds in which the leader is paused
/// for 3 s at regular intervals (about 35 times an hour), forcing an election each time.
pub fn synthetic_record(members: usize, seconds: u64) -> RunRecord {
    let mut noise = Noise(42);
    let member_names: Vec<String> = (1..=members).map(|i| format!("m{i}")).collect();
    let mut record = empty_record();
    record.member_names = member_names;
    record.inputs = vec![
        format!("{members} members, etcd 3.4 defaults, heartbeat 100 ms, election 1000 ms"),
        "write workload: 10 puts/s of 256 bytes".into(),
        format!("pause the leader for 3 s every {} s", fault_period(seconds)),
    ];
    elections(&mut record, members, seconds, &mut noise);
    record.write_latency_per_minute = write_minutes(&record.timeline, seconds, &mut noise);
    record.wal_fsync_us = (0..members)
        .map(|m| fsync_histogram(m, &mut noise))
        .collect();
    record.warnings = warnings(&record.timeline);
    record.metrics = metrics(&record, seconds);
    record.summary = summary(&record, seconds);
    record
}

/// The NOSPACE incident in 15 minutes (quota 16 MiB, as in ground truth A): three members fill
/// up until m1 crosses the quota at 600 s, then the operator lists the alarms, tries a put,
/// compacts, defragments and disarms (all alarms cleared at 690 s).
pub fn nospace_record() -> RunRecord {
    let mut record = synthetic_record(3, 900);
    add_nospace(&mut record, 900, 15);
    record
}

/// Only the NOSPACE data of [`nospace_record`] (no elections, writes or metrics), over
/// `seconds` with a scrape every `scrape_s`: cheap to build for months-long chart tests.
pub fn nospace_record_sized(seconds: u64, scrape_s: u64) -> RunRecord {
    let mut record = empty_record();
    record.member_names = vec!["m1".into(), "m2".into(), "m3".into()];
    record.summary.simulated_seconds = seconds as f64;
    add_nospace(&mut record, seconds, scrape_s);
    record
}

fn add_nospace(record: &mut RunRecord, seconds: u64, scrape_s: u64) {
    const QUOTA: u64 = 16_777_216;
    record.summary.scenario = "nospace".into();
    record.quota_bytes = vec![(0, QUOTA)];
    let (hit, defrag) = (seconds * 2 / 3, seconds * 23 / 30);
    // Sizes at the alarm and the peak (per member), then after compaction and defrag.
    let at_hit = [16_961_536u64, 16_584_704, 16_551_936];
    let peak = [16_990_208u64, 16_961_536, 16_928_768];
    for t in (0..=seconds).step_by(scrape_s.max(1) as usize) {
        for m in 0..3 {
            let (size, in_use) = if t < hit {
                let size = 24_576 + (at_hit[m] - 24_576) * t / hit;
                (size, size.saturating_sub(500_000).max(16_384))
            } else if t < defrag {
                let size = if t >= hit + 15 { peak[m] } else { at_hit[m] };
                (size, 16_449_536)
            } else {
                (94_208, 86_016)
            };
            record.db_size.push(DbSizeSample {
                t_ns: t * S,
                member: m,
                size_bytes: size,
                in_use_bytes: in_use,
            });
        }
    }
    for (m, delay) in [(0, 0), (1, 2), (2, 5)] {
        record.alarms.push(AlarmChange {
            at_ns: (hit + delay) * S,
            member: Some(m),
            alarm: "NOSPACE".into(),
            raised: true,
        });
    }
    for m in 0..3 {
        record.alarms.push(AlarmChange {
            at_ns: defrag * S,
            member: Some(m),
            alarm: "NOSPACE".into(),
            raised: false,
        });
    }
    let step = |at_s: u64, took_ms: u64, command: &str, output: &str, ok: bool| OperatorStep {
        started_ns: at_s * S,
        finished_ns: at_s * S + took_ms * MS,
        command: command.into(),
        output: output.into(),
        ok,
    };
    record.operator_steps = vec![
        step(
            hit + 30,
            12,
            "etcdctl alarm list",
            "memberID:12039400956499283717 alarm:NOSPACE \n\
             memberID:11989071595905774276 alarm:NOSPACE \n\
             memberID:11963082378825790384 alarm:NOSPACE \n",
            true,
        ),
        step(
            hit + 40,
            4,
            "etcdctl put k v",
            "Error: etcdserver: mvcc: database space exceeded",
            false,
        ),
        step(
            hit + 50,
            39,
            "etcdctl compaction 1603",
            "compacted revision 1603\n",
            true,
        ),
        step(
            hit + 60,
            30,
            "etcdctl defrag",
            "Finished defragmenting etcd member[127.0.0.1:12379]\n",
            true,
        ),
        step(defrag, 15, "etcdctl alarm disarm", "", true),
    ];
    record.summary.nospace_at_s = Some(hit as f64);
    record.summary.write_downtime_s = Some(95.5);
    record.summary.db_size_alert_lead_s = Some(240.0);
}

/// A record with nothing in it: one member, no writes, no faults, no metrics.
pub fn empty_record() -> RunRecord {
    let none4 = Quantiles {
        p50: None,
        p99: None,
        p999: None,
        max: None,
    };
    RunRecord {
        summary: Summary {
            scenario: "empty".into(),
            scenario_file: String::new(),
            seed: 1,
            overrides: Vec::new(),
            simulated_seconds: 0.0,
            events: 0,
            trace_hash: "0000000000000000".into(),
            leader_changes: 0,
            leader_changes_per_hour: 0.0,
            elections: 0,
            max_term: 0,
            writes: Writes {
                ok: 0,
                failed: 0,
                errors: IndexMap::new(),
                latency_ms: LatencyMs {
                    p50: None,
                    p99: None,
                    max: None,
                },
            },
            failover_s: Failover {
                count: 0,
                min: None,
                median: None,
                max: None,
            },
            rejoin_catch_up_s: Failover {
                count: 0,
                min: None,
                median: None,
                max: None,
            },
            heartbeat_send_failures: 0,
            wal_fsync_ms: none4,
            wal_fsync_p99_5m_ms: MedianMax {
                median: None,
                max: None,
            },
            outcome: IndexMap::new(),
            expectations: vec![],
            checks: vec![],
            alerts: vec![],
            notes: vec![],
            nospace_at_s: None,
            write_downtime_s: None,
            db_size_alert_lead_s: None,
            max_write_gap_s: None,
            watch_relists: None,
            optimistic_updates: None,
            traffic: None,
            reads: None,
            apiserver: None,
            snapshots: None,
        },
        inputs: vec![],
        member_names: vec!["m1".into()],
        role_changes: vec![],
        leader_timeline: vec![],
        write_latency_per_minute: vec![],
        apiserver_latency_per_5m: vec![],
        wal_fsync_us: vec![],
        wal_fsync_p99_5m_ms: vec![],
        timeline: vec![],
        warnings: vec![],
        metrics: vec![],
        elections: vec![],
        election_timeout_s: 1.0,
        watches: None,
        nospace: None,
        sections: vec![],
        db_size: vec![],
        quota_bytes: vec![],
        operator_steps: vec![],
        alarms: vec![],
        snapshots: None,
    }
}

fn fault_period(seconds: u64) -> u64 {
    (seconds / 36).max(60)
}

/// Role changes, leader spans and the fault timeline of the periodic leader pauses.
fn elections(record: &mut RunRecord, members: usize, seconds: u64, noise: &mut Noise) {
    let end = seconds * S;
    let mut term = 2;
    let mut leader = 0;
    let mut since = 2 * S;
    let changes = &mut record.role_changes;
    for m in 0..members {
        let role = if m == leader {
            RoleKind::Leader
        } else {
            RoleKind::Follower
        };
        changes.push(RoleChange {
            at_ns: if m == leader { since } else { S },
            member: m,
            role,
            term,
        });
    }
    let period = fault_period(seconds) * S;
    let mut at = period;
    while at + 10 * S < end && members > 1 {
        record.timeline.push(TimelineEntry {
            at_ns: at,
            what: format!("pause m{} (leader) for 3s", leader + 1),
        });
        record.leader_timeline.push(LeaderSpan {
            from_ns: since,
            to_ns: at,
            leader: Some(leader),
            term,
        });
        changes.push(RoleChange {
            at_ns: at,
            member: leader,
            role: RoleKind::Down,
            term,
        });
        let next = (leader + 1 + (noise.unit() * (members - 1) as f64) as usize) % members;
        let timeout = at + 1000 * MS + (noise.unit() * 1000.0) as u64 * MS;
        changes.push(RoleChange {
            at_ns: timeout,
            member: next,
            role: RoleKind::PreCandidate,
            term,
        });
        term += 1;
        changes.push(RoleChange {
            at_ns: timeout + 2 * MS,
            member: next,
            role: RoleKind::Candidate,
            term,
        });
        let elected = timeout + 5 * MS;
        changes.push(RoleChange {
            at_ns: elected,
            member: next,
            role: RoleKind::Leader,
            term,
        });
        record.leader_timeline.push(LeaderSpan {
            from_ns: at,
            to_ns: elected,
            leader: None,
            term: term - 1,
        });
        changes.push(RoleChange {
            at_ns: at + 3 * S,
            member: leader,
            role: RoleKind::Follower,
            term,
        });
        (leader, since) = (next, elected);
        at += period;
    }
    record.leader_timeline.push(LeaderSpan {
        from_ns: since,
        to_ns: end,
        leader: Some(leader),
        term,
    });
    changes.sort_by_key(|c| c.at_ns);
}

/// Per-minute write latency: quiet minutes around 2 ms, minutes with a fault stall for seconds.
/// Minute 7 is left out, like a minute in which no write finished.
fn write_minutes(
    timeline: &[TimelineEntry],
    seconds: u64,
    noise: &mut Noise,
) -> Vec<MinuteLatency> {
    (0..seconds.div_ceil(60))
        .filter(|&minute| minute != 7)
        .map(|minute| {
            let faulted = timeline.iter().any(|t| t.at_ns / (60 * S) == minute);
            let p50 = 1.5 + noise.unit();
            let p99 = p50 * (3.0 + 2.0 * noise.unit());
            let max = if faulted {
                1000.0 + 1500.0 * noise.unit()
            } else {
                p99 * 1.5
            };
            MinuteLatency {
                minute,
                ok: 590 + (noise.unit() * 10.0) as u64,
                failed: if faulted { 3 } else { 0 },
                p50_ms: p50,
                p99_ms: if faulted { max * 0.8 } else { p99 },
                max_ms: max,
            }
        })
        .collect()
}

/// Fsync latencies around 1–3 ms with a tail; the last member has a slow disk.
fn fsync_histogram(member: usize, noise: &mut Noise) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let slow = if member == 2 { 4.0 } else { 1.0 };
    for _ in 0..20_000 {
        let u = noise.unit();
        let us = slow * 800.0 * (1.0 + 2.0 * u + 10.0 * libm::pow(u, 300.0));
        h.record(us as u64).expect("within bounds");
    }
    h
}

fn warnings(timeline: &[TimelineEntry]) -> Vec<WarningCount> {
    let Some(first) = timeline.first() else {
        return vec![];
    };
    vec![
        WarningCount {
            member: 1,
            text: "failed to send out heartbeat on time (exceeded the 100ms timeout for 1.2s)"
                .into(),
            count: timeline.len() as u64 * 4,
            first_at_ns: first.at_ns + 3 * S,
        },
        WarningCount {
            member: 2,
            text: "slow fdatasync | took 1.3s, expected < 1s".into(),
            count: 2,
            first_at_ns: first.at_ns + 17 * S,
        },
    ]
}

/// Gauges, a counter and the WAL fsync histogram, scraped every 15 s per member.
fn metrics(record: &RunRecord, seconds: u64) -> Vec<MetricFamily> {
    let scrapes: Vec<u64> = (1..=seconds / 15).map(|i| i * 15 * S).collect();
    let label = |m: usize| vec![("member".to_string(), format!("m{}", m + 1))];
    let members = record.member_names.len();
    let mut has_leader = Vec::new();
    let mut committed = Vec::new();
    let mut changes = Vec::new();
    let mut fsync = Vec::new();
    for &t in &scrapes {
        let seen = record.timeline.iter().filter(|e| e.at_ns <= t).count() as f64;
        for m in 0..members {
            let sample = |suffix, value| Sample {
                suffix,
                labels: label(m),
                timestamp_ns: t,
                value,
            };
            has_leader.push(sample("", 1.0));
            committed.push(sample("", (t / S * 10) as f64));
            changes.push(sample("_total", seen));
            fsync.extend(histogram_samples(label(m), t, (t / S) as f64));
        }
    }
    let family = |name: &str, help: &str, metric_type, samples| MetricFamily {
        name: name.into(),
        help: help.into(),
        metric_type,
        samples,
    };
    vec![
        family(
            "etcd_server_has_leader",
            "Whether or not a leader exists. 1 is existence, 0 is not.",
            MetricType::Gauge,
            has_leader,
        ),
        family(
            "etcd_server_proposals_committed_total",
            "The total number of consensus proposals committed.",
            MetricType::Gauge,
            committed,
        ),
        family(
            "etcd_server_leader_changes_seen",
            "The number of leader changes seen.",
            MetricType::Counter,
            changes,
        ),
        family(
            "etcd_disk_wal_fsync_duration_seconds",
            "The latency distributions of fsync called by WAL.",
            MetricType::Histogram,
            fsync,
        ),
    ]
}

/// One histogram point: etcd's fsync buckets (0.001 .. 8.192 s), `_count` and `_sum`.
fn histogram_samples(labels: Vec<(String, String)>, t: u64, n: f64) -> Vec<Sample> {
    let mut out = Vec::new();
    for i in 0..14 {
        let le = 0.001 * f64::from(1u32 << i);
        let mut l = labels.clone();
        l.push(("le".into(), crate::format::num(le, 3)));
        let value = (n * (1.0 - 1.0 / f64::from(2u32 << i))).floor();
        out.push(Sample {
            suffix: "_bucket",
            labels: l,
            timestamp_ns: t,
            value,
        });
    }
    let mut inf = labels.clone();
    inf.push(("le".into(), "+Inf".into()));
    out.push(Sample {
        suffix: "_bucket",
        labels: inf,
        timestamp_ns: t,
        value: n,
    });
    out.push(Sample {
        suffix: "_count",
        labels: labels.clone(),
        timestamp_ns: t,
        value: n,
    });
    out.push(Sample {
        suffix: "_sum",
        labels,
        timestamp_ns: t,
        value: n * 0.0021,
    });
    out
}

fn summary(record: &RunRecord, seconds: u64) -> Summary {
    let mut s = empty_record().summary;
    let changes = record.timeline.len() as u64;
    s.scenario = "synthetic".into();
    s.seed = 42;
    s.simulated_seconds = seconds as f64;
    s.events = seconds * 1234;
    s.trace_hash = "9f86d081884c7d65".into();
    s.leader_changes = changes;
    s.leader_changes_per_hour = changes as f64 * 3600.0 / seconds.max(1) as f64;
    s.elections = changes;
    s.max_term = record
        .role_changes
        .iter()
        .map(|c| c.term)
        .max()
        .unwrap_or(0);
    let minutes = &record.write_latency_per_minute;
    s.writes.ok = minutes.iter().map(|m| m.ok).sum();
    s.writes.failed = minutes.iter().map(|m| m.failed).sum();
    if s.writes.failed > 0 {
        s.writes
            .errors
            .insert("etcdserver: request timed out".into(), s.writes.failed);
    }
    s.writes.latency_ms = LatencyMs {
        p50: Some(2.0),
        p99: Some(7.5),
        max: minutes.iter().map(|m| m.max_ms).reduce(f64::max),
    };
    s.failover_s = Failover {
        count: changes,
        min: Some(1.005),
        median: Some(1.52),
        max: Some(2.004),
    };
    s.heartbeat_send_failures = changes * 4;
    let fsync = &record.wal_fsync_us[0];
    let ms = |q: f64| Some(fsync.value_at_quantile(q) as f64 / 1000.0);
    s.wal_fsync_ms = Quantiles {
        p50: ms(0.5),
        p99: ms(0.99),
        p999: ms(0.999),
        max: Some(fsync.max() as f64 / 1000.0),
    };
    s.outcome
        .insert("leader_changes".into(), Some(changes as f64));
    s.outcome.insert("failover_s_median".into(), Some(1.52));
    s.outcome.insert("write_p99_ms".into(), None);
    s.expectations = vec![
        ExpectationResult {
            name: "failover_s_median in [0.9, 1.5]".into(),
            ok: false,
            actual: Some(1.52),
        },
        ExpectationResult {
            name: "leader_changes >= 1".into(),
            ok: true,
            actual: Some(changes as f64),
        },
    ];
    s.notes = vec!["Synthetic record: numbers are made up for the report's own tests.".into()];
    s
}
