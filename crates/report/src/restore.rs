//! The "Snapshots, restores and consistency" section of `report.md`, rendered from the run's
//! [`SnapshotsReport`] (its data and summary figures live in `etcdlab-record`). Runs without one
//! keep their `report.md` and `summary.json` byte for byte.

use std::fmt::Write;

use crate::etcdctl::humanize_bytes;
use crate::format::{duration, run_time};
use crate::markdown::cell;
use crate::{CorruptionDetection, LostChanges, Nanos, RunRecord, SnapshotsReport, TimelineEntry};

/// The "Snapshots, restores and consistency" section; nothing when the record has no
/// [`SnapshotsReport`].
pub(crate) fn section(out: &mut String, record: &RunRecord) {
    let Some(r) = &record.snapshots else {
        return;
    };
    let run = (record.summary.simulated_seconds.max(0.0) * 1e9).round() as Nanos;
    out.push_str("## Snapshots, restores and consistency\n\n");
    let _ = writeln!(
        out,
        "- Raft snapshots taken (`--snapshot-count` reached): {}",
        r.raft_snapshots_taken
    );
    let _ = writeln!(
        out,
        "- Raft snapshots sent to followers behind the leader's log: {}",
        r.transfers.len()
    );
    if r.members_refused_start > 0 {
        let _ = writeln!(
            out,
            "- Members that refused to start: {}",
            r.members_refused_start
        );
    }
    out.push('\n');
    events(out, r, run);
    transfers(out, r, run);
    detections(out, r, run);
    members(out, r);
    lost_changes(out, r);
}

fn events(out: &mut String, r: &SnapshotsReport, run: Nanos) {
    if r.events.is_empty() {
        return;
    }
    let mut events: Vec<&TimelineEntry> = r.events.iter().collect();
    events.sort_by_key(|e| e.at_ns);
    out.push_str("What happened, in order:\n\n");
    for e in events {
        let _ = writeln!(out, "- {}: {}", run_time(e.at_ns, run), one_line(&e.what));
    }
    out.push('\n');
}

fn transfers(out: &mut String, r: &SnapshotsReport, run: Nanos) {
    if r.transfers.is_empty() {
        return;
    }
    out.push_str(
        "| From | To | Size | Sent at | Applied at | Took |\n\
         | --- | --- | ---: | --- | --- | ---: |\n",
    );
    for t in &r.transfers {
        let (applied, took) = match t.applied_at_ns {
            Some(a) => (run_time(a, run), duration(a.saturating_sub(t.sent_at_ns))),
            None => ("not applied".to_string(), "–".to_string()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {applied} | {took} |",
            cell(&t.from),
            cell(&t.to),
            humanize_bytes(t.size_bytes),
            run_time(t.sent_at_ns, run),
        );
    }
    out.push('\n');
}

fn detections(out: &mut String, r: &SnapshotsReport, run: Nanos) {
    if r.detections.is_empty() {
        if r.diverged_at_ns.is_some() || r.members_disagree() {
            out.push_str("No corruption check noticed the members disagreeing.\n\n");
        } else if r.corruption_checks {
            out.push_str("The corruption checks found the members in agreement.\n\n");
        }
        return;
    }
    let first = r.first_detection_ns().unwrap_or_default();
    match r.diverged_at_ns {
        Some(d) if d <= first => {
            let _ = writeln!(
                out,
                "The members disagreed from {}; a corruption check first noticed it at {} ({} later).\n",
                run_time(d, run),
                run_time(first, run),
                duration(first - d)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "A corruption check first noticed the members disagreeing at {}.\n",
                run_time(first, run)
            );
        }
    }
    out.push_str("| Time | Member | etcd's log |\n| --- | --- | --- |\n");
    let mut rows: Vec<&CorruptionDetection> = r.detections.iter().collect();
    rows.sort_by_key(|d| d.at_ns);
    for d in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            run_time(d.at_ns, run),
            cell(&d.member),
            code_cell(&d.text)
        );
    }
    out.push('\n');
}

fn members(out: &mut String, r: &SnapshotsReport) {
    let members = &r.members_at_end;
    if members.is_empty() {
        return;
    }
    let at = r
        .hashkv_revision
        .map_or(String::new(), |rev| format!(" (hashkv at revision {rev})"));
    let _ = writeln!(out, "Members at the end{at}:\n");
    out.push_str(
        "| Member | Member ID | Cluster ID | Revision | Compact revision | Raft index | HashKV |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for m in members {
        let _ = writeln!(
            out,
            "| {} | {:016x} | {:016x} | {} | {} | {} | {} |",
            cell(&m.name),
            m.member_id,
            m.cluster_id,
            m.revision,
            m.compact_revision,
            m.raft_index,
            hash_text(m.hash_kv)
        );
    }
    out.push('\n');
    let clusters: Vec<(&str, u64)> = members
        .iter()
        .map(|m| (m.name.as_str(), m.cluster_id))
        .collect();
    match odd_ones(&clusters) {
        Disagreement::None => {}
        Disagreement::Minority { usual, odd } => {
            for (name, id) in odd {
                let _ = writeln!(
                    out,
                    "{name} belongs to another cluster: cluster ID {id:016x}, the others {usual:016x}."
                );
            }
            out.push('\n');
        }
        Disagreement::NoMajority(groups) => {
            let _ = writeln!(
                out,
                "The members belong to {} different clusters: {}.\n",
                groups.len(),
                groups
                    .iter()
                    .map(|(id, names)| format!("{} {id:016x}", names.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
    let hashes: Vec<(&str, Option<u32>)> = members
        .iter()
        .map(|m| (m.name.as_str(), m.hash_kv))
        .collect();
    let rev = r
        .hashkv_revision
        .map_or(String::new(), |rev| format!(" at revision {rev}"));
    match odd_ones(&hashes) {
        Disagreement::None => {}
        Disagreement::Minority { usual, odd } => {
            for (name, hash) in odd {
                let _ = writeln!(
                    out,
                    "{name} holds different data: hashkv {}{rev}, the others {}.",
                    hash_text(hash),
                    hash_text(usual)
                );
            }
            out.push('\n');
        }
        Disagreement::NoMajority(groups) => {
            let _ = writeln!(
                out,
                "The members hold {} different versions of the data (hashkv{rev}): {}.\n",
                groups.len(),
                groups
                    .iter()
                    .map(|(hash, names)| format!("{} {}", names.join(", "), hash_text(*hash)))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
}

fn hash_text(hash: Option<u32>) -> String {
    hash.map_or_else(|| "–".to_string(), |h| h.to_string())
}

enum Disagreement<'a, T> {
    None,
    /// Most members share `usual`; `odd` are the others, in member order.
    Minority {
        usual: T,
        odd: Vec<(&'a str, T)>,
    },
    /// No value is held by more than half: each value with its members, in member order.
    NoMajority(Vec<(T, Vec<&'a str>)>),
}

fn odd_ones<'a, T: Copy + Eq>(values: &[(&'a str, T)]) -> Disagreement<'a, T> {
    let mut groups: Vec<(T, Vec<&'a str>)> = Vec::new();
    for &(name, v) in values {
        match groups.iter_mut().find(|(g, _)| *g == v) {
            Some((_, names)) => names.push(name),
            None => groups.push((v, vec![name])),
        }
    }
    if groups.len() <= 1 {
        return Disagreement::None;
    }
    let top = groups.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
    match groups.iter().find(|(_, n)| n.len() == top) {
        Some(&(usual, _)) if top * 2 > values.len() => Disagreement::Minority {
            usual,
            odd: values
                .iter()
                .filter(|(_, v)| *v != usual)
                .copied()
                .collect(),
        },
        _ => Disagreement::NoMajority(groups),
    }
}

fn lost_changes(out: &mut String, r: &SnapshotsReport) {
    let Some(restored) = r.restored_revision else {
        return;
    };
    let total: u64 = r.lost_changes.values().map(LostChanges::total).sum();
    let went_back = match r.revision_gap() {
        Some(gap) => format!("Restoring revision {restored} went back {gap} revisions"),
        None => format!("Revision {restored} was restored"),
    };
    if total == 0 {
        let _ = writeln!(out, "{went_back}: no object changed since then.\n");
        return;
    }
    let parts: Vec<String> = r
        .lost_changes
        .iter()
        .filter(|(_, c)| c.total() > 0)
        .map(|(resource, c)| format!("{} {}", c.total(), kind_plural(resource)))
        .collect();
    let _ = writeln!(
        out,
        "{went_back}: {total} {} changed since then must be re-applied ({}).\n",
        if total == 1 { "object" } else { "objects" },
        parts.join(", ")
    );
    out.push_str(
        "| Resource | Created | Modified | Deleted | Total |\n\
         | --- | ---: | ---: | ---: | ---: |\n",
    );
    for (resource, c) in &r.lost_changes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(resource),
            c.created,
            c.modified,
            c.deleted,
            c.total()
        );
    }
    let _ = writeln!(out, "| **Total** | | | | **{total}** |\n");
}

/// "configmaps" -> "ConfigMaps": the kinds the lab models, else the resource as given.
fn kind_plural(resource: &str) -> String {
    match resource {
        "configmaps" => "ConfigMaps",
        "secrets" => "Secrets",
        "pods" => "Pods",
        "nodes" => "Nodes",
        "namespaces" => "Namespaces",
        "events" => "Events",
        "deployments" => "Deployments",
        "replicasets" => "ReplicaSets",
        "leases" => "Leases",
        other => other,
    }
    .to_string()
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// Log text as a code span inside a table cell.
fn code_cell(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::fixtures::nospace_record;
    use crate::{markdown, summary_json};
    use crate::{MemberEnd, RestoreSummary, SnapshotTransfer, SnapshotsSummary};

    const S: Nanos = 1_000_000_000;

    fn member(name: &str, id: u64, cluster: u64, rev: i64, hash: u32) -> MemberEnd {
        MemberEnd {
            name: name.into(),
            member_id: id,
            cluster_id: cluster,
            revision: rev,
            compact_revision: 1000,
            hash_kv: Some(hash),
            raft_index: rev as u64 + 17,
        }
    }

    /// m3 restored alone from an old snapshot: a new cluster ID and older data.
    fn restore_report() -> SnapshotsReport {
        let event = |s: u64, what: &str| TimelineEntry {
            at_ns: s * S,
            what: what.into(),
        };
        SnapshotsReport {
            transfers: vec![
                SnapshotTransfer {
                    from: "m1".into(),
                    to: "m2".into(),
                    size_bytes: 17_300_000,
                    sent_at_ns: 60 * S,
                    applied_at_ns: Some(62 * S + 500_000_000),
                },
                SnapshotTransfer {
                    from: "m1".into(),
                    to: "m3".into(),
                    size_bytes: 20_480,
                    sent_at_ns: 300 * S,
                    applied_at_ns: None,
                },
            ],
            events: vec![
                event(400, "etcdctl snapshot restore on m3 (revision 3000)"),
                event(120, "etcdctl snapshot save backup.db (revision 3000)"),
            ],
            corruption_checks: false,
            detections: vec![],
            diverged_at_ns: Some(400 * S),
            restored_revision: Some(3000),
            last_revision_before_failure: Some(3252),
            lost_changes: BTreeMap::from([
                (
                    "configmaps".to_string(),
                    LostChanges {
                        created: 12,
                        modified: 190,
                        deleted: 10,
                    },
                ),
                (
                    "secrets".to_string(),
                    LostChanges {
                        created: 40,
                        modified: 0,
                        deleted: 0,
                    },
                ),
            ]),
            hashkv_revision: Some(3000),
            members_at_end: vec![
                member("m1", 0x8e9e05c52164694d, 0xcdf818194e3a8c32, 3252, 111),
                member("m2", 0x91bc3c398fb3c146, 0xcdf818194e3a8c32, 3252, 111),
                member("m3", 0xfd422379fda50e48, 0x2037ba7cde5e5c1f, 3000, 222),
            ],
            members_refused_start: 1,
            raft_snapshots_taken: 3,
        }
    }

    fn render(r: SnapshotsReport) -> String {
        let mut record = nospace_record();
        record.snapshots = Some(r);
        let mut out = String::new();
        section(&mut out, &record);
        out
    }

    #[test]
    fn restore_section() {
        let out = render(restore_report());
        assert!(
            out.starts_with(
                "## Snapshots, restores and consistency\n\n\
                 - Raft snapshots taken (`--snapshot-count` reached): 3\n\
                 - Raft snapshots sent to followers behind the leader's log: 2\n\
                 - Members that refused to start: 1\n\n\
                 What happened, in order:\n\n\
                 - 0:02:00.000: etcdctl snapshot save backup.db (revision 3000)\n\
                 - 0:06:40.000: etcdctl snapshot restore on m3 (revision 3000)\n\n"
            ),
            "{out}"
        );
        for needle in [
            "| m1 | m2 | 17 MB | 0:01:00.000 | 0:01:02.500 | 2.5 s |\n",
            "| m1 | m3 | 20 kB | 0:05:00.000 | not applied | – |\n",
            "\nNo corruption check noticed the members disagreeing.\n\n",
            "Members at the end (hashkv at revision 3000):\n",
            "| m3 | fd422379fda50e48 | 2037ba7cde5e5c1f | 3000 | 1000 | 3017 | 222 |\n",
            "\nm3 belongs to another cluster: cluster ID 2037ba7cde5e5c1f, the others cdf818194e3a8c32.\n",
            "\nm3 holds different data: hashkv 222 at revision 3000, the others 111.\n",
            "\nRestoring revision 3000 went back 252 revisions: 252 objects changed since then must be re-applied (212 ConfigMaps, 40 Secrets).\n\n",
            "| configmaps | 12 | 190 | 10 | 212 |\n| secrets | 40 | 0 | 0 | 40 |\n| **Total** | | | | **252** |\n\n",
        ] {
            assert!(out.contains(needle), "missing {needle:?} in\n{out}");
        }
        assert!(out.ends_with("\n\n"), "{out}");
    }

    #[test]
    fn detections_and_agreement() {
        let mut r = restore_report();
        r.detections = vec![CorruptionDetection {
            at_ns: 700 * S,
            member: "m1".into(),
            text: "found data inconsistency with peers | local-member-id=8e9e05c52164694d".into(),
        }];
        let out = render(r.clone());
        assert!(
            out.contains(
                "The members disagreed from 0:06:40.000; a corruption check first noticed it at 0:11:40.000 (300 s later).\n\n\
                 | Time | Member | etcd's log |\n| --- | --- | --- |\n\
                 | 0:11:40.000 | m1 | `found data inconsistency with peers \\| local-member-id=8e9e05c52164694d` |\n"
            ),
            "{out}"
        );
        assert!(!out.contains("No corruption check"), "{out}");

        // Everyone agrees, checks on, nothing found.
        let mut calm = SnapshotsReport {
            corruption_checks: true,
            ..Default::default()
        };
        calm.members_at_end = r.members_at_end[..2].to_vec();
        let out = render(calm);
        assert!(
            out.contains("The corruption checks found the members in agreement.\n\n"),
            "{out}"
        );
        assert!(!out.contains("holds different data"), "{out}");
        assert!(!out.contains("another cluster"), "{out}");
        assert!(!out.contains("| From | To |"), "{out}");
        assert!(!out.contains("refused"), "{out}");
    }

    #[test]
    fn no_majority_and_nothing_lost() {
        let mut r = restore_report();
        r.members_at_end[1].hash_kv = Some(333);
        r.members_at_end.truncate(2);
        r.lost_changes.clear();
        let out = render(r);
        assert!(
            out.contains(
                "The members hold 2 different versions of the data (hashkv at revision 3000): m1 111; m2 333.\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "Restoring revision 3000 went back 252 revisions: no object changed since then.\n"
            ),
            "{out}"
        );
        assert!(!out.contains("| Resource |"), "{out}");
    }

    #[test]
    fn summary_figures() {
        let s = restore_report().summary();
        assert_eq!(
            s,
            SnapshotsSummary {
                restore: Some(RestoreSummary {
                    divergence_detected_at_s: None,
                    lost_changes: BTreeMap::from([
                        ("configmaps".to_string(), 212),
                        ("secrets".to_string(), 40)
                    ]),
                    revision_gap: Some(252),
                }),
                snapshots_sent: Some(2),
                snapshot_catchup_s: Some(2.5),
                hashkv_distinct: Some(2),
                cluster_ids: Some(2),
                members_refused_start: Some(1),
            }
        );
        // Neither a restore nor corruption checks: no restore figures.
        let plain = SnapshotsReport::default().summary();
        assert_eq!(plain.restore, None);
        assert_eq!(plain.hashkv_distinct, None);
        assert_eq!(plain.snapshots_sent, Some(0));
    }

    #[test]
    fn summary_json_gains_top_level_fields_at_the_end() {
        let before = summary_json(&nospace_record().summary);
        let mut summary = nospace_record().summary;
        summary.snapshots = Some(restore_report().summary());
        let after = summary_json(&summary);
        let tail = ",\n  \"divergence_detected_at_s\": null,\n  \
             \"lost_changes\": {\n    \"configmaps\": 212,\n    \"secrets\": 40\n  },\n  \
             \"revision_gap\": 252,\n  \"snapshots_sent\": 2,\n  \"snapshot_catchup_s\": 2.5,\n  \
             \"hashkv_distinct\": 2,\n  \"cluster_ids\": 2,\n  \"members_refused_start\": 1\n}\n";
        assert!(after.ends_with(tail), "{after}");
        assert_eq!(after.replace(tail, "\n}\n"), before);

        // Detected: a number; no restore figures without a restore or checks.
        let mut r = restore_report();
        r.detections.push(CorruptionDetection {
            at_ns: 700 * S + 250_000_000,
            member: "m2".into(),
            text: "x".into(),
        });
        summary.snapshots = Some(r.summary());
        assert!(summary_json(&summary).contains("\"divergence_detected_at_s\": 700.25,"));
        summary.snapshots = Some(SnapshotsReport::default().summary());
        let plain = summary_json(&summary);
        assert!(!plain.contains("divergence_detected_at_s"), "{plain}");
        assert!(plain.ends_with("\"snapshots_sent\": 0,\n  \"members_refused_start\": 0\n}\n"));
    }

    #[test]
    fn reports_without_it_are_unchanged() {
        let without = nospace_record();
        assert!(without.snapshots.is_none());
        let md = markdown(&without);
        assert!(!md.contains("## Snapshots, restores and consistency"));
        let mut with = nospace_record();
        with.snapshots = Some(restore_report());
        let md_with = markdown(&with);
        let section = render(restore_report());
        // The section sits after the operator steps and before the charts; the rest is the same.
        assert!(
            md_with.contains(&format!("{section}## Charts")),
            "{md_with}"
        );
        assert_eq!(md_with.replacen(&section, "", 1), md);
        assert_eq!(summary_json(&with.summary), summary_json(&without.summary));
    }
}
