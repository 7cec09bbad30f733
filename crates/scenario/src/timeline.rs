//! `[[timeline]]`: faults and operator actions at simulated times.

use crate::dist::read_dist;
use crate::duration::format_duration;
use crate::error::R;
use crate::names::{member_name, read_member_ref, read_members, Members};
use crate::network::read_from_to;
use crate::read::{Field, Table};
use crate::{Action, Failpoint, Nanos, Repeat, TimelineEvent};

/// Keys every event takes.
const COMMON: &[&str] = &["at", "action", "repeat"];

/// Each action and the keys it takes besides COMMON.
const ACTIONS: &[(&str, &[&str])] = &[
    ("pause", &["member", "duration"]),
    ("resume", &["member"]),
    ("crash", &["member", "duration"]),
    ("restart", &["member"]),
    ("failpoint", &["member", "failpoint", "duration"]),
    ("isolate", &["member", "duration"]),
    ("partition", &["groups", "duration"]),
    ("partition_one_way", &["from", "to", "duration"]),
    ("heal", &[]),
    (
        "link_fault",
        &[
            "from",
            "to",
            "symmetric",
            "one_way_latency_ms",
            "loss",
            "duration",
        ],
    ),
    ("disk_stall", &["member", "duration"]),
    ("disk_slow", &["member", "factor", "duration"]),
    ("etcdctl", &["command"]),
    ("disk_full", &["member", "duration"]),
    ("corrupt_backend", &["member"]),
    ("wal_tail_lost", &["member", "entries"]),
];

/// The most WAL records `wal_tail_lost` may drop.
const MAX_LOST_ENTRIES: u64 = 1_000_000_000;

pub(crate) fn read_timeline(
    f: Field<'_>,
    members: Members,
    run_ns: Nanos,
) -> R<Vec<TimelineEvent>> {
    f.each(|event| read_event(event, members, run_ns))
}

fn read_event(f: Field<'_>, members: Members, run_ns: Nanos) -> R<TimelineEvent> {
    let t = f.table()?;
    let name = t
        .opt("action", action_name)?
        .ok_or_else(|| t.missing("action", &format!(" (one of: {})", action_names())))?;
    let keys = action_keys(name);
    t.check_keys_for(&keys, &format!("for action {name:?}"))?;
    let at_ns = t.req("at", |f| f.duration_before(run_ns))?;
    let action = read_action(name, &t, members)?;
    let window = action_window(&action);
    let repeat = t.opt("repeat", |f| {
        let r = read_repeat(&f, window)?;
        check_last_repeat(&f, at_ns, &r, run_ns)?;
        Ok(r)
    })?;
    Ok(TimelineEvent {
        at_ns,
        action,
        repeat,
    })
}

fn action_names() -> String {
    ACTIONS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The action's name if it is a known one.
fn action_name(f: Field<'_>) -> R<&str> {
    let name = f.str()?;
    match ACTIONS.iter().find(|(known, _)| *known == name) {
        Some((known, _)) => Ok(known),
        None => Err(f.fail(format!(
            "unknown action {name:?}; use one of: {}",
            action_names()
        ))),
    }
}

fn action_keys(name: &str) -> Vec<&'static str> {
    let own = ACTIONS
        .iter()
        .find(|(known, _)| *known == name)
        .map_or(&[][..], |(_, keys)| keys);
    COMMON.iter().chain(own).copied().collect()
}

fn read_action(name: &str, t: &Table<'_>, members: Members) -> R<Action> {
    let member = || t.req("member", |f| read_member_ref(&f, members));
    let window = || t.opt("duration", |f| f.positive_duration());
    let required_window = || t.req("duration", |f| f.positive_duration());
    Ok(match name {
        "pause" => Action::Pause {
            member: member()?,
            duration_ns: window()?,
        },
        "resume" => Action::Resume { member: member()? },
        "crash" => Action::Crash {
            member: member()?,
            duration_ns: window()?,
        },
        "restart" => Action::Restart { member: member()? },
        "failpoint" => Action::Failpoint {
            member: member()?,
            failpoint: t.req("failpoint", |f| match f.str()? {
                "compactBeforeSetFinishedCompact" => Ok(Failpoint::CompactBeforeSetFinishedCompact),
                other => Err(f.fail(format!(
                    "unknown failpoint {other:?}; the lab has \"compactBeforeSetFinishedCompact\""
                ))),
            })?,
            duration_ns: window()?,
        },
        "isolate" => Action::Isolate {
            member: member()?,
            duration_ns: window()?,
        },
        "partition" => Action::Partition {
            groups: t.req("groups", |f| read_groups(&f, members))?,
            duration_ns: window()?,
        },
        "partition_one_way" => {
            let (from, to) = read_from_to(t, members)?;
            Action::PartitionOneWay {
                from,
                to,
                duration_ns: window()?,
            }
        }
        "heal" => Action::Heal,
        "link_fault" => read_link_fault(t, members)?,
        "disk_stall" => Action::DiskStall {
            member: member()?,
            duration_ns: required_window()?,
        },
        "disk_full" => Action::DiskFull {
            member: member()?,
            duration_ns: window()?,
        },
        "disk_slow" => Action::DiskSlow {
            member: member()?,
            factor: t.req("factor", |f| f.number_in(1e-3, 1e6))?,
            duration_ns: required_window()?,
        },
        "etcdctl" => {
            let (text, command) = t.req("command", |f| {
                let text = f.str()?;
                crate::operator::parse_command(text, members)
                    .map(|c| (text.to_string(), c))
                    .map_err(|e| f.fail(e))
            })?;
            Action::Operator { text, command }
        }
        "corrupt_backend" => Action::CorruptBackend { member: member()? },
        "wal_tail_lost" => Action::WalTailLost {
            member: member()?,
            entries: t.req("entries", |f| {
                f.u64_in(
                    1..=MAX_LOST_ENTRIES,
                    "it must be 1..=1000000000 (WAL records lost from the end)",
                )
            })?,
        },
        other => return Err(t.fail(format!("unknown action {other:?}"))),
    })
}

fn read_link_fault(t: &Table<'_>, members: Members) -> R<Action> {
    let (from, to) = read_from_to(t, members)?;
    let one_way_latency_ms = t.opt("one_way_latency_ms", read_dist)?;
    let loss = t.opt("loss", |f| f.probability())?;
    if one_way_latency_ms.is_none() && loss.is_none() {
        return Err(t.fail("link_fault needs one_way_latency_ms, loss or both"));
    }
    Ok(Action::LinkFault {
        from,
        to,
        symmetric: t.opt("symmetric", |f| f.bool())?.unwrap_or(true),
        one_way_latency_ms,
        loss,
        duration_ns: t.opt("duration", |f| f.positive_duration())?,
    })
}

/// At least two non-empty groups with no member in two of them.
fn read_groups(f: &Field<'_>, members: Members) -> R<Vec<Vec<usize>>> {
    let groups = f.each(|group| read_members(&group, members))?;
    if groups.len() < 2 {
        return Err(
            f.fail("a partition needs at least 2 groups, e.g. [[\"m1\"], [\"m2\", \"m3\"]]")
        );
    }
    for (i, group) in groups.iter().enumerate() {
        let earlier = groups[..i].iter().flatten().find(|m| group.contains(m));
        if let Some(m) = earlier {
            return Err(f.fail(format!("{} is in more than one group", member_name(*m))));
        }
    }
    Ok(groups)
}

/// How long the action lasts, if it has a window.
fn action_window(action: &Action) -> Option<Nanos> {
    match action {
        Action::Pause { duration_ns, .. }
        | Action::Crash { duration_ns, .. }
        | Action::Isolate { duration_ns, .. }
        | Action::Partition { duration_ns, .. }
        | Action::PartitionOneWay { duration_ns, .. }
        | Action::LinkFault { duration_ns, .. }
        | Action::DiskFull { duration_ns, .. } => *duration_ns,
        Action::DiskStall { duration_ns, .. } | Action::DiskSlow { duration_ns, .. } => {
            Some(*duration_ns)
        }
        // A failpoint's duration runs from its panic, whenever that comes.
        Action::Resume { .. }
        | Action::Restart { .. }
        | Action::Failpoint { .. }
        | Action::Heal
        | Action::Operator { .. }
        | Action::CorruptBackend { .. }
        | Action::WalTailLost { .. } => None,
    }
}

fn read_repeat(f: &Field<'_>, window: Option<Nanos>) -> R<Repeat> {
    let t = f.table()?;
    t.check_keys(&["count", "every"])?;
    let count = t.req("count", |f| f.u64_in(1..=100_000, "repeat.count"))?;
    let every_ns = t.req("every", |f| {
        let every = f.positive_duration()?;
        match window {
            // Overlapping windows would start a fault that is already on.
            Some(w) if every <= w => Err(f.fail(format!(
                "{} must be longer than the event's duration ({})",
                format_duration(every),
                format_duration(w)
            ))),
            _ => Ok(every),
        }
    })?;
    Ok(Repeat {
        count: count as u32,
        every_ns,
    })
}

/// Every firing must fall inside the run.
fn check_last_repeat(f: &Field<'_>, at_ns: Nanos, r: &Repeat, run_ns: Nanos) -> R<()> {
    let last = at_ns as u128 + (r.count as u128 - 1) * r.every_ns as u128;
    if last < run_ns as u128 {
        return Ok(());
    }
    let last = Nanos::try_from(last).map_or_else(|_| "far".to_string(), format_duration);
    Err(f.fail(format!(
        "the last of {} firings is at {last}, not before the end of the run (duration = {})",
        r.count,
        format_duration(run_ns)
    )))
}
