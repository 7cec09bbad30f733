//! What a run recorded: the plain data the lab fills and `etcdlab-report` turns into files
//! (`summary.json`, `report.md`, charts, `metrics.om`). Nothing here draws, writes or formats;
//! the types only derive `Serialize` where `summary.json` needs them. Kept apart from the
//! report so that crates that only read or produce a record (alert rules, the scenario checks)
//! need neither plotters nor the report.

use indexmap::IndexMap;
use serde::Serialize;

mod incidents;
mod snapshots;

pub use incidents::{NospaceRecord, RelistRow, WatchRecord, WatcherRow};

pub use snapshots::{
    CorruptionDetection, LostChanges, MemberEnd, RestoreSummary, SnapshotTransfer, SnapshotsReport,
    SnapshotsSummary,
};

/// Nanoseconds of simulated time.
pub type Nanos = u64;

/// Everything a run produced. Built by the lab, turned into files by `etcdlab-report`.
#[derive(Clone, Debug)]
pub struct RunRecord {
    pub summary: Summary,
    /// Markdown-ready description of the scenario's inputs (one line per fact), shown at the top
    /// of the report, e.g. "3 members, etcd 3.4 defaults, heartbeat 100 ms, election 1000 ms".
    pub inputs: Vec<String>,
    pub member_names: Vec<String>,
    /// Role/term changes per member, in time order.
    pub role_changes: Vec<RoleChange>,
    /// Leader of the cluster over time (None = no leader), in time order.
    pub leader_timeline: Vec<LeaderSpan>,
    /// One row per simulated minute with any finished write.
    pub write_latency_per_minute: Vec<MinuteLatency>,
    /// WAL fsync latencies of each member (microseconds), index = member.
    pub wal_fsync_us: Vec<hdrhistogram::Histogram<u64>>,
    /// Each member's 5-minute WAL fsync p99 over time as the guide's dashboard draws it
    /// (`histogram_quantile(0.99, rate(..._bucket[5m]))` every scrape, in ms), by member name.
    pub wal_fsync_p99_5m_ms: Vec<(String, Vec<(Nanos, f64)>)>,
    /// kube-apiserver's request latency per 5 minutes (empty without `[kube] api_requests`).
    pub apiserver_latency_per_5m: Vec<ApiLatencyBin>,
    /// Scenario timeline as it happened (faults and actions), for the report and charts.
    pub timeline: Vec<TimelineEntry>,
    /// Notable log lines etcd would have printed, de-duplicated with counts.
    pub warnings: Vec<WarningCount>,
    /// Metric families with their samples, in the order to write them.
    pub metrics: Vec<MetricFamily>,
    /// Why each election happened, one row per new leader after the first.
    pub elections: Vec<ElectionCause>,
    /// The threshold (seconds) the election summary compares leader fsyncs with: the shortest
    /// randomized election timeout.
    pub election_timeout_s: f64,
    /// Watch clients and their relists (None: the scenario has no watch clients).
    pub watches: Option<WatchRecord>,
    /// The NOSPACE alarm and the growth before it (None: it was never raised).
    pub nospace: Option<NospaceRecord>,
    /// Extra report sections (title, Markdown body) after the incident ones, e.g. the
    /// sensitivity table `etcdlab run` adds.
    pub sections: Vec<(String, String)>,
    /// Backend sizes per scrape and member (empty when the run has no MVCC store).
    pub db_size: Vec<DbSizeSample>,
    /// quota-backend-bytes over time: (from, bytes); changes when a member restarts with a new quota.
    pub quota_bytes: Vec<(Nanos, u64)>,
    /// Operator commands run from the scenario (etcdctl/kubectl), in start order.
    pub operator_steps: Vec<OperatorStep>,
    /// Alarm raises and disarms as applied through raft.
    pub alarms: Vec<AlarmChange>,
    /// Snapshots, restores, membership and corruption checks (None: the run had none of
    /// them, and the report has no such section).
    pub snapshots: Option<SnapshotsReport>,
}

/// One member's backend size at one scrape (`etcd_mvcc_db_total_size_in_bytes` and
/// `etcd_mvcc_db_total_size_in_use_in_bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DbSizeSample {
    pub t_ns: Nanos,
    pub member: usize,
    pub size_bytes: u64,
    pub in_use_bytes: u64,
}

/// One operator command (etcdctl/kubectl) as run from the scenario, with its terminal output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OperatorStep {
    pub started_ns: Nanos,
    pub finished_ns: Nanos,
    /// The command line as typed, e.g. "etcdctl alarm disarm".
    pub command: String,
    /// What the command printed (stdout then stderr), verbatim.
    pub output: String,
    pub ok: bool,
}

/// An alarm raised or disarmed on a member, at the time raft applied it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlarmChange {
    pub at_ns: Nanos,
    /// The member the alarm names (0-based); None for member ID 0 (the CORRUPT alarm etcd
    /// 3.4.23's periodic corruption check raises for no member in particular).
    pub member: Option<usize>,
    /// etcd's alarm name, e.g. "NOSPACE".
    pub alarm: String,
    /// true = raised, false = disarmed.
    pub raised: bool,
}

/// One election, reconstructed from the trace: what the old leader was doing when a follower's
/// election timer fired, and how long the cluster went without a leader.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ElectionCause {
    /// When the first follower campaigned.
    pub campaign_at_ns: Nanos,
    /// The member whose timer fired first, and its randomized timeout (ms).
    pub campaigner: usize,
    pub campaigner_timeout_ms: Option<f64>,
    /// The term the new leader won.
    pub term: u64,
    /// The leader before the election, and what held it up.
    pub old_leader: Option<usize>,
    /// The old leader's loop was blocked in a WAL fsync since this time, and for how long that
    /// fsync took in all (None when it was not blocked in one).
    pub old_leader_fsync_started_ns: Option<Nanos>,
    pub old_leader_fsync_ms: Option<f64>,
    /// The old leader was paused, crashed or cut off by a scenario fault.
    pub old_leader_fault: Option<String>,
    pub new_leader: usize,
    pub elected_at_ns: Nanos,
    /// Campaigns (by anyone) between the first one and the new leader.
    pub campaigns: u32,
}

/// One checker's verdict on the run's client history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    pub checker: String,
    /// `pass`, `fail` or `undecided` (the search ran out of its budget: not a pass).
    pub verdict: String,
    /// Operations checked, and of them writes whose fate was unknown.
    pub operations: u64,
    pub maybe_applied: u64,
    /// Search steps taken (the checker's deterministic measure of its cost).
    pub steps: u64,
    /// A failure: the operation that cannot be placed and the window around it, readable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The same window drawn (SVG), written next to the report as `<checker>-failure.svg`.
    #[serde(skip)]
    pub failure_svg: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    /// The scenario file as the run was given it (relative), for the replay command; empty
    /// when unknown.
    pub scenario_file: String,
    pub seed: u64,
    /// `--set` overrides applied to the scenario file (the seed aside), in order.
    pub overrides: Vec<String>,
    pub simulated_seconds: f64,
    pub events: u64,
    /// 16 hex digits.
    pub trace_hash: String,
    pub leader_changes: u64,
    pub leader_changes_per_hour: f64,
    pub elections: u64,
    pub max_term: u64,
    pub writes: Writes,
    pub failover_s: Failover,
    /// Members behind when a pause or partition of theirs ended: seconds until each had
    /// applied what the cluster had applied then.
    pub rejoin_catch_up_s: Failover,
    pub heartbeat_send_failures: u64,
    pub wal_fsync_ms: Quantiles,
    /// The guide's dashboard figure: every member's 5-minute WAL fsync p99 at every scrape
    /// (ms), its median and max over the run.
    pub wal_fsync_p99_5m_ms: MedianMax,
    /// Outcome figures by name (the names `[[expect]]` uses), in a fixed order.
    pub outcome: IndexMap<String, Option<f64>>,
    pub expectations: Vec<ExpectationResult>,
    /// The verdicts of the checkers of what clients saw, one entry per checker.
    pub checks: Vec<CheckResult>,
    /// Alert rules that fired: one entry per firing episode, in order of first firing.
    pub alerts: Vec<AlertEpisode>,
    /// Where the model knowingly differs from the reference material (shown in the report).
    pub notes: Vec<String>,
    // The NOSPACE figures are omitted when None so that runs without an MVCC store keep their
    // summary.json byte for byte.
    /// When the first NOSPACE alarm was raised (seconds into the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nospace_at_s: Option<f64>,
    /// How long writes were refused because of the alarm, in all (seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_downtime_s: Option<f64>,
    /// How long before the NOSPACE alarm the EtcdDatabaseSizeHigh alert first fired (seconds;
    /// negative when it fired after the alarm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_size_alert_lead_s: Option<f64>,
    /// The longest time between two successful client writes (seconds), None with fewer than
    /// two: how long writes were unavailable at worst.
    pub max_write_gap_s: Option<f64>,
    /// Relists forced on watch clients by "required revision has been compacted" (None: the
    /// run has no watch clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch_relists: Option<u64>,
    /// The plain workload's reads (None: it made none), in the same shape as `writes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reads: Option<Writes>,
    /// kube-apiserver's requests as `apiserver_request_duration_seconds` measures them (None:
    /// the run has no `[kube] api_requests`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apiserver: Option<ApiserverRequests>,
    /// The plain workload's optimistic updates (None: it made none; they count as writes too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimistic_updates: Option<OptimisticUpdates>,
    /// The `[traffic]` clients' requests by kind (None: the run has no such clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic: Option<TrafficFigures>,
    /// Snapshot, restore and consistency figures (`SnapshotsReport::summary`), written at the
    /// top level after everything else; None writes nothing, so older summaries stay the same.
    #[serde(flatten)]
    pub snapshots: Option<SnapshotsSummary>,
}

/// Txns that compared a key with what their client last saw of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OptimisticUpdates {
    pub sent: u64,
    /// The compare held: the put went in.
    pub succeeded: u64,
    /// The compare failed (another client had changed the key): the txn read it instead.
    pub compare_failed: u64,
    /// The client saw an error (or no answer).
    pub failed: u64,
}

/// The `[traffic]` clients' requests: per kind sent (`get`, `range`, `put`, `delete`, `txn`,
/// `lease_grant`, `lease_revoke`, `compact`), how many were sent, answered ok and failed (an error, or
/// no answer by the end of the run), and the errors by text.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrafficFigures {
    pub clients: u32,
    pub kinds: IndexMap<String, TrafficKind>,
    /// Txns whose compare held / failed (of those answered).
    pub txn_compare_held: u64,
    pub txn_compare_failed: u64,
    pub errors: IndexMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TrafficKind {
    pub sent: u64,
    pub ok: u64,
    pub failed: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Writes {
    pub ok: u64,
    pub failed: u64,
    /// Count per error text in etcd's words, sorted by text.
    pub errors: IndexMap<String, u64>,
    pub latency_ms: LatencyMs,
}

/// kube-apiserver's requests of every verb but WATCH: reads served from its watch cache,
/// writes through etcd.
#[derive(Clone, Debug, Serialize)]
pub struct ApiserverRequests {
    /// GETs and LISTs answered from the watch cache.
    pub gets: u64,
    pub lists: u64,
    /// Creates, updates, deletes and the lease grants behind Events, through etcd; of them
    /// those that failed (etcd's error, or `--request-timeout`).
    pub writes: u64,
    pub writes_failed: u64,
    /// Every request, reads and writes, failed ones included (as the histogram counts them).
    pub latency_ms: LatencyMs,
    /// The writes alone.
    pub write_latency_ms: LatencyMs,
}

/// kube-apiserver's requests that arrived in one 5-minute bin.
#[derive(Clone, Debug, Serialize)]
pub struct ApiLatencyBin {
    pub start_ns: Nanos,
    pub requests: u64,
    pub writes: u64,
    pub latency_ms: LatencyMs,
    pub write_latency_ms: LatencyMs,
}

#[derive(Clone, Debug, Serialize)]
pub struct LatencyMs {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Quantiles {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
}

/// The median and max of a figure sampled over the run (None: no sample).
#[derive(Clone, Debug, Serialize)]
pub struct MedianMax {
    pub median: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Failover {
    pub count: u64,
    pub min: Option<f64>,
    pub median: Option<f64>,
    pub max: Option<f64>,
}

/// One firing episode of an alert rule (from pending-for-`for` to resolved).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEpisode {
    pub name: String,
    /// The `member` label of the alerting series, when it has one.
    pub member: Option<String>,
    pub first_fired_s: f64,
    /// None while still firing at the end of the run.
    pub resolved_s: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExpectationResult {
    /// e.g. "leader_changes <= 0" or "failover_s_median in [0.9, 1.5]".
    pub name: String,
    pub ok: bool,
    pub actual: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RoleKind {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
    /// Paused (SIGSTOP) or crashed: not running.
    Down,
}

#[derive(Clone, Debug)]
pub struct RoleChange {
    pub at_ns: Nanos,
    pub member: usize,
    pub role: RoleKind,
    pub term: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LeaderSpan {
    pub from_ns: Nanos,
    pub to_ns: Nanos,
    /// Member index, None when the cluster had no leader.
    pub leader: Option<usize>,
    pub term: u64,
}

#[derive(Clone, Debug)]
pub struct MinuteLatency {
    pub minute: u64,
    pub ok: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Clone, Debug)]
pub struct TimelineEntry {
    pub at_ns: Nanos,
    /// Human text, e.g. "pause m2 (leader) for 3s".
    pub what: String,
}

#[derive(Clone, Debug)]
pub struct WarningCount {
    pub member: usize,
    pub text: String,
    pub count: u64,
    pub first_at_ns: Nanos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    Counter,
    Histogram,
}

/// One metric family as it will appear in OpenMetrics text.
#[derive(Clone, Debug)]
pub struct MetricFamily {
    /// Without the `_total` suffix for counters (OpenMetrics adds it to the sample name).
    pub name: String,
    pub help: String,
    pub metric_type: MetricType,
    pub samples: Vec<Sample>,
}

/// One sample. For histograms the suffix is "_bucket" (with an `le` label), "_count" or "_sum";
/// for counters "_total"; for gauges "".
#[derive(Clone, Debug)]
pub struct Sample {
    pub suffix: &'static str,
    /// Label pairs in output order, e.g. [("member", "m1"), ("le", "0.001")].
    pub labels: Vec<(String, String)>,
    pub timestamp_ns: Nanos,
    pub value: f64,
}
