//! Facts behind the report's incident sections (watch clients; a database that hit its quota).
//! The lab fills them from what the run recorded; the report writes the prose.

use crate::Nanos;

/// Watch clients: what each received, and every relist a compaction forced.
#[derive(Clone, Debug, Default)]
pub struct WatchRecord {
    pub watchers: Vec<WatcherRow>,
    pub relists: Vec<RelistRow>,
    /// The error a watcher gets when its next revision was compacted, as etcd prints it.
    pub compacted_error: String,
}

#[derive(Clone, Debug)]
pub struct WatcherRow {
    pub name: String,
    /// Index of the member it watches.
    pub member: usize,
    pub prefix: String,
    /// How fast the consumer takes events (None: as fast as they come).
    pub events_per_s: Option<f64>,
    pub delivered: u64,
    pub max_lag_revisions: i64,
    /// Times it watched again from the compact revision after a compacted error
    /// (`on_compacted = "resume"`), skipping what was compacted.
    pub resumes: u64,
}

#[derive(Clone, Debug)]
pub struct RelistRow {
    pub at_ns: Nanos,
    pub watcher: String,
    /// The revision the watcher needed next, and the compaction that removed it.
    pub needed_rev: i64,
    pub compact_rev: i64,
    pub keys: usize,
    pub bytes: u64,
}

/// A run in which the NOSPACE alarm was raised: how fast the database grew, when the alert and
/// the alarm came, and how long writes were down.
#[derive(Clone, Debug)]
pub struct NospaceRecord {
    pub nospace_at_ns: Nanos,
    /// When the first member's backend first reached 0.5 GiB and 6 GiB.
    pub first_member_half_gib_ns: Option<Nanos>,
    pub first_member_six_gib_ns: Option<Nanos>,
    /// Bytes of keys and values the Kubernetes control plane writes per second (None: no
    /// Kubernetes model in the run).
    pub kube_put_bytes_per_s: Option<f64>,
    /// How long before the alarm the database-size alert fired.
    pub db_size_alert_lead_s: Option<f64>,
    /// The runbook's pace as the scenario wrote it (diagnosis, think time), if it has one.
    pub runbook_pace: Option<(String, String)>,
    /// Seconds the operator's commands took in all.
    pub operator_command_s: f64,
    /// The first successful client write after the alarms were cleared.
    pub writes_back_ns: Option<Nanos>,
}
