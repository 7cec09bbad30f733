//! "Why each election happened": the table reconstructed from the trace, and a two-sentence
//! summary generated from it.

use crate::format::{hms_millis, member_name, num};
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
