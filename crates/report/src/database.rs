//! The report sections of runs with an MVCC store: backend size against the quota, alarms, and
//! the operator's commands as a terminal transcript. Both are left out entirely for runs
//! without that data, so older reports stay byte for byte what they were.

use std::fmt::Write;

use crate::format::{bytes, duration, member_name, num, run_time};
use crate::{DbSizeSample, Nanos, RunRecord};

fn run_ns(record: &RunRecord) -> Nanos {
    (record.summary.simulated_seconds.max(0.0) * 1e9).round() as Nanos
}

/// Whether the record has anything for the "Database size and quota" section.
pub(crate) fn has_database(record: &RunRecord) -> bool {
    let s = &record.summary;
    !record.db_size.is_empty()
        || !record.quota_bytes.is_empty()
        || !record.alarms.is_empty()
        || s.nospace_at_s.is_some()
        || s.write_downtime_s.is_some()
        || s.db_size_alert_lead_s.is_some()
}

/// The quota in force at `t` (the first one before any change is recorded).
pub(crate) fn quota_at(quota: &[(Nanos, u64)], t: Nanos) -> Option<u64> {
    quota
        .iter()
        .take_while(|(from, _)| *from <= t)
        .last()
        .or(quota.first())
        .map(|&(_, q)| q)
}

fn size_cell(n: u64) -> String {
    format!("{n} ({})", bytes(n))
}

/// First, last and largest sample of one member (samples in time order).
struct MemberSizes {
    first: DbSizeSample,
    last: DbSizeSample,
    max: DbSizeSample,
}

fn member_sizes(samples: &[DbSizeSample], member: usize) -> Option<MemberSizes> {
    let mut it = samples.iter().filter(|s| s.member == member);
    let first = *it.next()?;
    let (mut last, mut max) = (first, first);
    for s in it {
        last = *s;
        // The first time it reached its maximum.
        if s.size_bytes > max.size_bytes {
            max = *s;
        }
    }
    Some(MemberSizes { first, last, max })
}

/// The members that have samples, in index order.
fn sampled_members(samples: &[DbSizeSample]) -> Vec<usize> {
    let mut members: Vec<usize> = samples.iter().map(|s| s.member).collect();
    members.sort_unstable();
    members.dedup();
    members
}

pub(crate) fn database_section(out: &mut String, record: &RunRecord) {
    if !has_database(record) {
        return;
    }
    let run = run_ns(record);
    let s = &record.summary;
    out.push_str("## Database size and quota\n\n");
    match record.quota_bytes.as_slice() {
        [] => {}
        [(_, q)] => {
            let _ = writeln!(out, "- Quota (`--quota-backend-bytes`): {}", size_cell(*q));
        }
        changes => {
            out.push_str("- Quota (`--quota-backend-bytes`) over time:\n");
            for (from, q) in changes {
                let _ = writeln!(out, "  - from {}: {}", run_time(*from, run), size_cell(*q));
            }
        }
    }
    let secs = |x: f64| (x.max(0.0) * 1e9).round() as Nanos;
    if let Some(at) = s.nospace_at_s {
        let _ = writeln!(out, "- First NOSPACE alarm: {}", run_time(secs(at), run));
    }
    if let Some(d) = s.write_downtime_s {
        let _ = writeln!(
            out,
            "- Writes refused because of the alarm: {} in all",
            duration(secs(d))
        );
    }
    if let Some(lead) = s.db_size_alert_lead_s {
        let when = if lead >= 0.0 { "before" } else { "after" };
        let _ = writeln!(
            out,
            "- EtcdDatabaseSizeHigh first fired {} {when} the alarm",
            duration(secs(lead.abs()))
        );
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
    sizes_table(out, record, run);
    alarms_table(out, record, run);
}

fn sizes_table(out: &mut String, record: &RunRecord, run: Nanos) {
    let members = sampled_members(&record.db_size);
    if members.is_empty() {
        return;
    }
    out.push_str(
        "| Member | First | Last | Max | Max at | Max vs quota | In use at the end |\n\
         | --- | ---: | ---: | ---: | --- | ---: | ---: |\n",
    );
    for m in members {
        let Some(v) = member_sizes(&record.db_size, m) else {
            continue;
        };
        let vs_quota = quota_at(&record.quota_bytes, v.max.t_ns)
            .filter(|q| *q > 0)
            .map_or_else(
                || "–".to_string(),
                |q| {
                    let pct = (v.max.size_bytes as f64 / q as f64 - 1.0) * 100.0;
                    format!("{}{}%", if pct >= 0.0 { "+" } else { "" }, num(pct, 2))
                },
            );
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {vs_quota} | {} |",
            member_name(&record.member_names, m),
            size_cell(v.first.size_bytes),
            size_cell(v.last.size_bytes),
            size_cell(v.max.size_bytes),
            run_time(v.max.t_ns, run),
            size_cell(v.last.in_use_bytes),
        );
    }
    out.push('\n');
}

fn alarms_table(out: &mut String, record: &RunRecord, run: Nanos) {
    if record.alarms.is_empty() {
        out.push_str("_No alarm was raised._\n\n");
        return;
    }
    out.push_str("| Time | Member | Alarm | Change |\n| --- | --- | --- | --- |\n");
    for a in &record.alarms {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            run_time(a.at_ns, run),
            a.member.map_or_else(
                || "member ID 0".to_string(),
                |m| member_name(&record.member_names, m)
            ),
            a.alarm,
            if a.raised { "raised" } else { "disarmed" }
        );
    }
    out.push('\n');
}

/// The operator's commands: a table, then each command and what it printed.
pub(crate) fn operator_steps_section(out: &mut String, record: &RunRecord) {
    if record.operator_steps.is_empty() {
        return;
    }
    let run = run_ns(record);
    out.push_str("## Operator steps\n\n");
    out.push_str(
        "| # | Started | Command | Duration | Result |\n| ---: | --- | --- | ---: | --- |\n",
    );
    for (i, step) in record.operator_steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            run_time(step.started_ns, run),
            code_span(&step.command),
            duration(step.finished_ns.saturating_sub(step.started_ns)),
            if step.ok { "✅ ok" } else { "❌ failed" }
        );
    }
    out.push('\n');
    for (i, step) in record.operator_steps.iter().enumerate() {
        let _ = writeln!(out, "**{}.** {}\n", i + 1, run_time(step.started_ns, run));
        let fence = fence_for(&step.output);
        let _ = writeln!(out, "{fence}console\n$ {}", one_line(&step.command));
        out.push_str(&step.output);
        if !step.output.is_empty() && !step.output.ends_with('\n') {
            out.push('\n');
        }
        let _ = writeln!(out, "{fence}\n");
    }
}

/// A Markdown code span for a table cell that holds any text (pipes escaped, backticks fenced).
fn code_span(text: &str) -> String {
    let text = one_line(text).replace('|', "\\|");
    let longest = longest_backtick_run(&text);
    let ticks = "`".repeat(longest + 1);
    if longest > 0 {
        format!("{ticks} {text} {ticks}")
    } else {
        format!("{ticks}{text}{ticks}")
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// A code fence longer than any run of backticks in `text`, so the output cannot close it.
fn fence_for(text: &str) -> String {
    "`".repeat(longest_backtick_run(text).max(2) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{empty_record, nospace_record};
    use crate::markdown;

    #[test]
    fn runs_without_mvcc_have_neither_section() {
        let md = markdown(&crate::fixtures::synthetic_record(3, 600));
        assert!(!md.contains("## Database size and quota"));
        assert!(!md.contains("## Operator steps"));
        assert!(!md.contains("db-size.png"));
        let mut out = String::new();
        database_section(&mut out, &empty_record());
        operator_steps_section(&mut out, &empty_record());
        assert_eq!(out, "");
    }

    #[test]
    fn sizes_alarms_and_quota() {
        let record = nospace_record();
        let mut out = String::new();
        database_section(&mut out, &record);
        assert!(
            out.starts_with(
                "## Database size and quota\n\n\
                 - Quota (`--quota-backend-bytes`): 16777216 (16.0 MiB)\n\
                 - First NOSPACE alarm: 0:10:00.000\n\
                 - Writes refused because of the alarm: 95.5 s in all\n\
                 - EtcdDatabaseSizeHigh first fired 240 s before the alarm\n\n"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "| m1 | 24576 (24.0 KiB) | 94208 (92.0 KiB) | 16990208 (16.2 MiB) | 0:10:15.000 | +1.27% | 86016 (84.0 KiB) |"
            ),
            "{out}"
        );
        assert!(
            out.contains("| 0:10:00.000 | m1 | NOSPACE | raised |"),
            "{out}"
        );
        assert!(
            out.contains("| 0:11:30.000 | m3 | NOSPACE | disarmed |"),
            "{out}"
        );
        // Every sampled member has a row.
        assert_eq!(
            out.lines().filter(|l| l.starts_with("| m")).count(),
            3,
            "{out}"
        );
    }

    #[test]
    fn quota_changes_are_listed_and_used_for_the_ratio() {
        let mut record = nospace_record();
        record.quota_bytes.push((600_000_000_000, 8 * 1024 * 1024));
        let mut out = String::new();
        database_section(&mut out, &record);
        assert!(
            out.contains(
                "- Quota (`--quota-backend-bytes`) over time:\n  \
                 - from 0:00:00.000: 16777216 (16.0 MiB)\n  \
                 - from 0:10:00.000: 8388608 (8.00 MiB)\n"
            ),
            "{out}"
        );
        // m1's max (at 10:15) is compared with the new quota.
        assert!(out.contains("| 0:10:15.000 | +102.54% |"), "{out}");
        assert_eq!(quota_at(&record.quota_bytes, 0), Some(16_777_216));
        assert_eq!(quota_at(&[(5, 1), (9, 2)], 3), Some(1));
        assert_eq!(quota_at(&[], 3), None);
    }

    #[test]
    fn operator_steps_read_like_a_terminal() {
        let record = nospace_record();
        let mut out = String::new();
        operator_steps_section(&mut out, &record);
        assert!(
            out.starts_with(
                "## Operator steps\n\n| # | Started | Command | Duration | Result |\n\
                 | ---: | --- | --- | ---: | --- |\n\
                 | 1 | 0:10:30.000 | `etcdctl alarm list` | 0.012 s | ✅ ok |\n"
            ),
            "{out}"
        );
        assert!(out.contains("| 2 | 0:10:40.000 | `etcdctl put k v` | 0.004 s | ❌ failed |"));
        assert!(
            out.contains(
                "**1.** 0:10:30.000\n\n```console\n$ etcdctl alarm list\n\
                 memberID:12039400956499283717 alarm:NOSPACE \n\
                 memberID:11989071595905774276 alarm:NOSPACE \n\
                 memberID:11963082378825790384 alarm:NOSPACE \n```\n\n"
            ),
            "{out}"
        );
        // Output without a final newline still closes its block on a line of its own.
        assert!(
            out.contains(
                "$ etcdctl put k v\nError: etcdserver: mvcc: database space exceeded\n```\n"
            ),
            "{out}"
        );
    }

    #[test]
    fn long_runs_use_days() {
        let mut record = nospace_record();
        record.summary.simulated_seconds = 5.0 * 86_400.0;
        record.operator_steps[0].started_ns = (3 * 86_400 + 7_380) * 1_000_000_000;
        let mut out = String::new();
        operator_steps_section(&mut out, &record);
        assert!(
            out.contains("| 1 | 3d 2:03 | `etcdctl alarm list` |"),
            "{out}"
        );
    }

    #[test]
    fn fences_and_spans_survive_backticks() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
        assert_eq!(
            code_span("kubectl get pods | wc"),
            "`kubectl get pods \\| wc`"
        );
        assert_eq!(code_span("echo `x`"), "`` echo `x` ``");
    }

    #[test]
    fn markdown_has_the_sections_and_the_chart_link() {
        let md = markdown(&nospace_record());
        let db = md.find("## Database size and quota").unwrap();
        let ops = md.find("## Operator steps").unwrap();
        let charts = md.find("## Charts").unwrap();
        assert!(db < ops && ops < charts, "{md}");
        assert!(md.contains("![database size](db-size.png)"), "{md}");
    }
}
