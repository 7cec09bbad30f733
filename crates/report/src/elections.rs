//! "Why each election happened": the table reconstructed from the trace, and a two-sentence
//! summary generated from it.

use crate::format::{duration, hms_millis, member_name, num};
use crate::{ElectionCause, RunRecord};
use std::fmt::Write as _;

pub(crate) fn section(out: &mut String, record: &RunRecord) {
    if record.elections.is_empty() {
        return;
    }
    out.push_str("## Why each election happened\n\n");
    out.push_str(
        "One row per leader change: what the old leader was doing when the first follower's election timer fired. \"Campaigns\" counts every candidacy (pre-vote or vote) until the new leader won.\n\n",
    );
    let _ = writeln!(out, "{}\n", summary(record));
    if let Some(line) = fsync_alert_lead(record) {
        let _ = writeln!(out, "{line}\n");
    }
    out.push_str(
        "| # | Campaign at | Old leader | Old leader's loop | Timer fired | Its timeout | New leader (term) | First campaign to new leader | Campaigns |\n",
    );
    out.push_str("| ---: | --- | --- | --- | --- | ---: | --- | ---: | ---: |\n");
    let names = &record.member_names;
    for (i, e) in record.elections.iter().enumerate() {
        let old = e
            .old_leader
            .map_or("none".into(), |l| member_name(names, l));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} ({}) | {} s | {} |",
            i + 1,
            hms_millis(e.campaign_at_ns),
            old,
            loop_state(e),
            member_name(names, e.campaigner),
            e.campaigner_timeout_ms
                .map_or("-".into(), |t| format!("{} ms", num(t, 0))),
            member_name(names, e.new_leader),
            e.term,
            num((e.elected_at_ns - e.campaign_at_ns) as f64 / 1e9, 3),
            e.campaigns,
        );
    }
    out.push('\n');
}

/// What the old leader was doing when the timer fired.
fn loop_state(e: &ElectionCause) -> String {
    if let Some(fault) = &e.old_leader_fault {
        return format!("stopped: {fault}");
    }
    match (e.old_leader_fsync_started_ns, e.old_leader_fsync_ms) {
        (Some(start), Some(ms)) => format!(
            "blocked in a {} s fsync since {}",
            num(ms / 1000.0, 3),
            hms_millis(start)
        ),
        _ => "running (not in fsync)".into(),
    }
}

/// Two sentences: how many elections followed a long leader fsync, and what the rest were.
pub(crate) fn summary(record: &RunRecord) -> String {
    let all = &record.elections;
    let threshold_s = record.election_timeout_s;
    let long: Vec<f64> = all
        .iter()
        .filter(|e| e.old_leader_fault.is_none())
        .filter_map(|e| e.old_leader_fsync_ms)
        .filter(|ms| *ms > threshold_s * 1000.0)
        .collect();
    let faults = all.iter().filter(|e| e.old_leader_fault.is_some()).count();
    let other = all.len() - long.len() - faults;
    let mut sorted = long.clone();
    sorted.sort_by(f64::total_cmp);
    let first = if long.is_empty() {
        format!(
            "None of the {} leader changes followed a leader fsync longer than the {} s election timeout.",
            all.len(),
            num(threshold_s, 3)
        )
    } else {
        format!(
            "{} of {} leader changes followed a leader fsync longer than the {} s election timeout (median {} s, longest {} s): the leader's loop was blocked, so it sent no heartbeat while a follower's timer ran out.",
            long.len(),
            all.len(),
            num(threshold_s, 3),
            num(sorted[sorted.len() / 2] / 1000.0, 3),
            num(sorted[sorted.len() - 1] / 1000.0, 3)
        )
    };
    let second = format!(
        "{faults} followed a fault that stopped the leader (pause, crash), and {other} had another cause (a leader deposed by a higher term, lost quorum, or a shorter fsync plus network delay)."
    );
    format!("{first} {second}")
}

/// The guide's lesson checked: did `EtcdDiskFsyncSlow` (5-minute fsync p99 > 10 ms for 5
/// minutes) fire before the first leader change, as an early warning? None without both.
pub(crate) fn fsync_alert_lead(record: &RunRecord) -> Option<String> {
    let first_change_ns = record.elections.first()?.elected_at_ns;
    let fired_s = (record.summary.alerts.iter())
        .filter(|a| a.name == "EtcdDiskFsyncSlow")
        .map(|a| a.first_fired_s)
        .reduce(f64::min)?;
    let fired_ns = (fired_s * 1e9).round() as u64;
    let relation = |t: u64| {
        if t <= first_change_ns {
            format!("{} before it", duration(first_change_ns - t))
        } else {
            format!("{} after it", duration(t - first_change_ns))
        }
    };
    let verdict = if fired_ns <= first_change_ns {
        "an early warning, as the guide says"
    } else {
        "too late to warn of the storm"
    };
    // When the expression first went above 10 ms on any member: a dashboard shows it from
    // there. Said as a fact about the line, not as the alert's cause: it may have dipped again,
    // and the alert may have fired on another member.
    let crossed = (record.wal_fsync_p99_5m_ms.iter())
        .filter_map(|(_, points)| points.iter().find(|p| p.1 > 10.0).map(|p| p.0))
        .min()
        .map_or(String::new(), |t| {
            let wait = if fired_ns > first_change_ns {
                " The alert fires only once it has held 5 minutes (`for: 5m`)."
            } else {
                ""
            };
            format!(
                " Its expression (a member's 5-minute fsync p99 above 10 ms) first held at {}, {}.{wait}",
                hms_millis(t),
                relation(t)
            )
        });
    Some(format!(
        "**Early warning?** The first leader change was at {}. EtcdDiskFsyncSlow first fired at {}, {}: {verdict}.{crossed}",
        hms_millis(first_change_ns),
        hms_millis(fired_ns),
        relation(fired_ns),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::empty_record;
    use crate::AlertEpisode;

    const S: u64 = 1_000_000_000;

    fn record(first_change_s: u64, fired_s: f64) -> RunRecord {
        let mut r = empty_record();
        r.elections.push(ElectionCause {
            campaign_at_ns: first_change_s * S - S,
            campaigner: 0,
            campaigner_timeout_ms: Some(1000.0),
            term: 2,
            old_leader: Some(0),
            old_leader_fsync_started_ns: None,
            old_leader_fsync_ms: None,
            old_leader_fault: None,
            new_leader: 0,
            elected_at_ns: first_change_s * S,
            campaigns: 1,
        });
        r.summary.alerts.push(AlertEpisode {
            name: "EtcdDiskFsyncSlow".into(),
            member: Some("m1".into()),
            first_fired_s: fired_s,
            resolved_s: None,
        });
        r.wal_fsync_p99_5m_ms = vec![("m1".into(), vec![(15 * S, 4.0), (30 * S, 12.0)])];
        r
    }

    #[test]
    fn fsync_alert_after_the_first_leader_change_is_no_early_warning() {
        let line = fsync_alert_lead(&record(116, 330.0)).unwrap();
        assert!(
            line.contains("first fired at 0:05:30.000, 214 s after it"),
            "{line}"
        );
        assert!(line.contains("too late"), "{line}");
        assert!(
            line.contains("first held at 0:00:30.000, 86 s before it"),
            "{line}"
        );
        assert!(line.contains("`for: 5m`"), "{line}");
    }

    #[test]
    fn fsync_alert_before_the_first_leader_change_is_an_early_warning() {
        let line = fsync_alert_lead(&record(600, 330.0)).unwrap();
        assert!(line.contains("270 s before it: an early warning"), "{line}");
        // The alert was in time: no word of what held it back.
        assert!(!line.contains("for: 5m"), "{line}");
    }

    #[test]
    fn no_line_without_an_alert_or_a_leader_change() {
        let mut r = record(600, 330.0);
        r.summary.alerts.clear();
        assert!(fsync_alert_lead(&r).is_none());
        let mut r = record(600, 330.0);
        r.elections.clear();
        assert!(fsync_alert_lead(&r).is_none());
    }
}
