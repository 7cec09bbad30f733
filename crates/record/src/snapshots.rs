//! Snapshots, restores and consistency: raft snapshots sent to lagging followers, `etcdctl
//! snapshot save/restore`, membership changes, corruption checks, and what a restore that went
//! back in time costs. The lab fills a [`SnapshotsReport`]; the summary figures
//! ([`SnapshotsSummary`]) are derived from it here, the report section in `etcdlab-report`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{Nanos, TimelineEntry};

/// What a run recorded about snapshots, restores, membership and corruption checks.
#[derive(Clone, Debug, Default)]
pub struct SnapshotsReport {
    /// Raft snapshots sent by a leader to a follower that was behind its compacted log.
    pub transfers: Vec<SnapshotTransfer>,
    /// `etcdctl snapshot save`/`restore`, member add/remove, corruption, refusals to start, ...
    /// (rendered in time order).
    pub events: Vec<TimelineEntry>,
    /// Whether the run had corruption checks (initial or periodic); with no detection and no
    /// restore, the summary's restore figures appear only when this is set.
    pub corruption_checks: bool,
    /// Corruption checks that found members disagreeing, in time order.
    pub detections: Vec<CorruptionDetection>,
    /// When the members' data first disagreed (e.g. one member restored alone), if known.
    pub diverged_at_ns: Option<Nanos>,
    /// A restore: the revision restored and the last revision before the failure.
    pub restored_revision: Option<i64>,
    pub last_revision_before_failure: Option<i64>,
    /// Objects changed after the restored revision, per resource ("configmaps", "secrets",
    /// ...): they must be re-applied.
    pub lost_changes: BTreeMap<String, LostChanges>,
    /// The revision every member's hashkv in `members_at_end` was taken at.
    pub hashkv_revision: Option<i64>,
    /// Each running member at the end of the run.
    pub members_at_end: Vec<MemberEnd>,
    /// Members that refused to start (e.g. a data dir from another cluster).
    pub members_refused_start: u64,
    /// Raft snapshots taken because `--snapshot-count` entries were applied.
    pub raft_snapshots_taken: u64,
}

/// One raft snapshot sent by a leader (`MsgSnap`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotTransfer {
    /// Member names, e.g. "m1".
    pub from: String,
    pub to: String,
    pub size_bytes: u64,
    pub sent_at_ns: Nanos,
    /// When the follower had applied it (None: never, within the run).
    pub applied_at_ns: Option<Nanos>,
}

/// A corruption check that found the members disagreeing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptionDetection {
    pub at_ns: Nanos,
    /// The member that logged it.
    pub member: String,
    /// etcd's log text, verbatim.
    pub text: String,
}

/// Objects of one resource changed after the restored revision.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LostChanges {
    pub created: u64,
    pub modified: u64,
    pub deleted: u64,
}

impl LostChanges {
    pub fn total(&self) -> u64 {
        self.created + self.modified + self.deleted
    }
}

/// One running member at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberEnd {
    pub name: String,
    pub member_id: u64,
    pub cluster_id: u64,
    pub revision: i64,
    pub compact_revision: i64,
    /// hashkv at [`SnapshotsReport::hashkv_revision`] (None: the member could not compute it,
    /// e.g. that revision is compacted or in its future).
    pub hash_kv: Option<u32>,
    pub raft_index: u64,
}

/// The summary figures of a [`SnapshotsReport`], flattened into `summary.json`'s top level.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SnapshotsSummary {
    /// Present when the run had a restore or corruption checks.
    #[serde(flatten)]
    pub restore: Option<RestoreSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshots_sent: Option<u64>,
    /// The longest time from sending a raft snapshot to the follower having applied it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_catchup_s: Option<f64>,
    /// Distinct hashkv values among the members at the end (1: they agree).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hashkv_distinct: Option<u64>,
    /// Distinct cluster ids among the members at the end (1: one cluster).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_ids: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members_refused_start: Option<u64>,
}

/// Restore and corruption-check figures; every field is written (null when unknown).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RestoreSummary {
    /// When a corruption check first noticed the members disagreeing (seconds into the run);
    /// null when nothing did.
    pub divergence_detected_at_s: Option<f64>,
    /// Objects to re-apply per resource (created + modified + deleted).
    pub lost_changes: BTreeMap<String, u64>,
    /// Last revision before the failure minus the revision restored.
    pub revision_gap: Option<i64>,
}

impl SnapshotsReport {
    /// The figures for `Summary::snapshots`.
    pub fn summary(&self) -> SnapshotsSummary {
        let has_restore = self.restored_revision.is_some()
            || self.corruption_checks
            || !self.detections.is_empty();
        let restore = has_restore.then(|| RestoreSummary {
            divergence_detected_at_s: self.first_detection_ns().map(|ns| ns as f64 / 1e9),
            lost_changes: self
                .lost_changes
                .iter()
                .map(|(resource, c)| (resource.clone(), c.total()))
                .collect(),
            revision_gap: self.revision_gap(),
        });
        let catchup_ns = self
            .transfers
            .iter()
            .filter_map(|t| Some(t.applied_at_ns?.saturating_sub(t.sent_at_ns)))
            .max();
        let members = !self.members_at_end.is_empty();
        SnapshotsSummary {
            restore,
            snapshots_sent: Some(self.transfers.len() as u64),
            snapshot_catchup_s: catchup_ns.map(|ns| ns as f64 / 1e9),
            hashkv_distinct: members
                .then(|| distinct(self.members_at_end.iter().map(|m| m.hash_kv))),
            cluster_ids: members
                .then(|| distinct(self.members_at_end.iter().map(|m| m.cluster_id))),
            members_refused_start: Some(self.members_refused_start),
        }
    }

    /// When a corruption check first noticed the members disagreeing.
    pub fn first_detection_ns(&self) -> Option<Nanos> {
        self.detections.iter().map(|d| d.at_ns).min()
    }

    /// Last revision before the failure minus the revision restored.
    pub fn revision_gap(&self) -> Option<i64> {
        Some(self.last_revision_before_failure? - self.restored_revision?)
    }

    /// Whether the members at the end hold different data or belong to different clusters.
    pub fn members_disagree(&self) -> bool {
        let m = &self.members_at_end;
        distinct(m.iter().map(|m| m.hash_kv)) > 1 || distinct(m.iter().map(|m| m.cluster_id)) > 1
    }
}

/// How many different values (a missing hash counts as one value of its own).
fn distinct<T: Ord>(values: impl Iterator<Item = T>) -> u64 {
    let mut v: Vec<T> = values.collect();
    v.sort();
    v.dedup();
    v.len() as u64
}
