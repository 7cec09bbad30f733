//! `report.md`: the human-readable report of one run.

use std::fmt::Write;

use crate::format::{hms_millis, member_name, num, opt_num};
use crate::{
    RunRecord, Summary, DB_SIZE_PNG, LEADER_TIMELINE_PNG, WAL_FSYNC_PNG, WRITE_LATENCY_PNG,
};

/// The whole report as Markdown.
pub fn markdown(record: &RunRecord) -> String {
    let s = &record.summary;
    let mut out = String::new();
    let _ = writeln!(out, "# etcdlab run: {}\n", s.scenario);
    verdict(&mut out, s);
    inputs(&mut out, &record.inputs);
    results(&mut out, s);
    expectations(&mut out, s);
    checks(&mut out, s);
    alerts(&mut out, s);
    crate::elections::section(&mut out, record);
    crate::database::database_section(&mut out, record);
    crate::database::operator_steps_section(&mut out, record);
    crate::restore::section(&mut out, record);
    crate::incidents::sections(&mut out, record);
    for (title, body) in &record.sections {
        let _ = writeln!(out, "## {title}\n\n{body}\n");
    }
    charts(&mut out, record);
    timeline(&mut out, record);
    warnings(&mut out, record);
    notes(&mut out, &s.notes);
    reproduce(&mut out, s);
    out
}

/// The answer first: what happened to the cluster and its clients, then whether the
/// expectations and the clients' checks held; the sections below give the details.
fn verdict(out: &mut String, s: &Summary) {
    let _ = writeln!(out, "**What happened:** {}.\n", what_happened(s));
    let _ = writeln!(out, "**Verdict:** {}.\n", held(s));
}

fn what_happened(s: &Summary) -> String {
    let changes = match s.leader_changes {
        1 => "1 leader change".to_string(),
        n => format!("{n} leader changes"),
    };
    let mut parts = vec![format!("{changes} in {}", span(s.simulated_seconds))];
    // The first firing of each alert, in the order they first fired.
    let mut fired: Vec<(&str, f64)> = Vec::new();
    for a in &s.alerts {
        match fired.iter_mut().find(|(name, _)| *name == a.name) {
            Some((_, at)) => *at = at.min(a.first_fired_s),
            None => fired.push((&a.name, a.first_fired_s)),
        }
    }
    fired.sort_by(|a, b| a.1.total_cmp(&b.1));
    if !fired.is_empty() {
        let list: Vec<String> = (fired.iter())
            .map(|(name, at)| format!("{name} from {}", at_time(*at, s.simulated_seconds)))
            .collect();
        parts[0] = format!("{} (alert {})", parts[0], list.join(", "));
    }
    let w = &s.writes;
    let total = w.ok + w.failed;
    parts.push(match (total, w.failed) {
        (0, _) => "no client writes".to_string(),
        (_, 0) => format!(
            "all {total} client writes succeeded (p99 {})",
            opt_num(w.latency_ms.p99, 3, " ms")
        ),
        (_, failed) => format!(
            "{failed} of {total} client writes failed ({}%)",
            num(100.0 * failed as f64 / total as f64, 1)
        ),
    });
    parts.join("; ")
}

fn held(s: &Summary) -> String {
    let mut parts = Vec::new();
    let failed: Vec<&str> = (s.expectations.iter())
        .filter(|e| !e.ok)
        .map(|e| e.name.as_str())
        .collect();
    parts.push(match (s.expectations.len(), failed.len()) {
        (0, _) => "no expectations".to_string(),
        (1, 0) => "the expectation met".to_string(),
        (n, 0) => format!("all {n} expectations met"),
        (n, k) => format!("{k} of {n} expectations FAILED (`{}`)", failed.join("`, `")),
    });
    if !s.checks.is_empty() {
        let checks: Vec<String> = (s.checks.iter())
            .map(|c| match c.verdict.as_str() {
                "pass" => format!("{} pass", c.checker),
                "fail" => format!("{} FAILED", c.checker),
                _ => format!("{} undecided", c.checker),
            })
            .collect();
        parts.push(format!("clients' checks: {}", checks.join(", ")));
    }
    parts.join("; ")
}

/// A time in the run: h:mm:ss, or "day D hh:mm" (D full days in) in a run of days.
fn at_time(seconds: f64, run_seconds: f64) -> String {
    if run_seconds < 2.0 * 86_400.0 {
        return hms(seconds);
    }
    let minutes = (seconds.max(0.0) / 60.0) as u64;
    format!(
        "day {} {:02}:{:02}",
        minutes / 1440,
        minutes / 60 % 24,
        minutes % 60
    )
}

/// A run's length: h:mm:ss, or days and hours for long ones.
fn span(seconds: f64) -> String {
    const DAY_S: f64 = 86_400.0;
    if seconds < 2.0 * DAY_S {
        return hms(seconds);
    }
    let hours = (seconds / 3600.0) as u64;
    format!("{} days {} h", hours / 24, hours % 24)
}

fn inputs(out: &mut String, lines: &[String]) {
    out.push_str("## Inputs\n\n");
    if lines.is_empty() {
        out.push_str("_None recorded._\n");
    }
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
    out.push('\n');
}

fn results(out: &mut String, s: &Summary) {
    let w = &s.writes;
    let f = &s.failover_s;
    let q = &s.wal_fsync_ms;
    let mut rows = vec![
        (
            "Simulated time".into(),
            format!("{} s", num(s.simulated_seconds, 3)),
        ),
        ("Leader changes".into(), s.leader_changes.to_string()),
        (
            "Leader changes per hour".into(),
            num(s.leader_changes_per_hour, 2),
        ),
        (
            "Elections (terms with a candidate)".into(),
            s.elections.to_string(),
        ),
        ("Max term".into(), s.max_term.to_string()),
        ("Writes ok".into(), w.ok.to_string()),
        ("Writes failed".into(), w.failed.to_string()),
    ];
    for (text, count) in &w.errors {
        rows.push((format!("Write error `{}`", cell(text)), count.to_string()));
    }
    let lat = &w.latency_ms;
    rows.push((
        "Write latency p50 / p99 / max".into(),
        triple(lat.p50, lat.p99, lat.max, " ms"),
    ));
    if let Some(u) = &s.optimistic_updates {
        rows.push((
            "Optimistic updates (txns) sent / compare held / compare failed / error".into(),
            format!(
                "{} / {} / {} / {}",
                u.sent, u.succeeded, u.compare_failed, u.failed
            ),
        ));
    }
    if let Some(t) = &s.traffic {
        traffic_rows(&mut rows, t);
    }
    if let Some(r) = &s.reads {
        rows.push(("Reads ok".into(), r.ok.to_string()));
        rows.push(("Reads failed".into(), r.failed.to_string()));
        for (text, count) in &r.errors {
            rows.push((format!("Read error `{}`", cell(text)), count.to_string()));
        }
        let l = &r.latency_ms;
        rows.push((
            "Read latency p50 / p99 / max".into(),
            triple(l.p50, l.p99, l.max, " ms"),
        ));
    }
    rows.extend([
        (
            "Failovers (from a fault on the leader, or its step-down, to the next leader)".into(),
            f.count.to_string(),
        ),
        (
            "Failover min / median / max".into(),
            triple(f.min, f.median, f.max, " s"),
        ),
    ]);
    let c = &s.rejoin_catch_up_s;
    if c.count > 0 {
        rows.extend([
            (
                "Rejoins behind (a member behind when its pause or partition ended)".into(),
                c.count.to_string(),
            ),
            (
                "Rejoin catch-up (to what the cluster had applied then) min / median / max".into(),
                triple(c.min, c.median, c.max, " s"),
            ),
        ]);
    }
    rows.extend([
        (
            "Heartbeat send failures".into(),
            s.heartbeat_send_failures.to_string(),
        ),
        (
            "WAL fsync p50 / p99 / p99.9".into(),
            triple(q.p50, q.p99, q.p999, " ms"),
        ),
        ("WAL fsync max".into(), opt_num(q.max, 3, " ms")),
        (
            "WAL fsync p99 over 5 min (dashboard), median / max".into(),
            match (s.wal_fsync_p99_5m_ms.median, s.wal_fsync_p99_5m_ms.max) {
                (None, None) => "–".into(),
                (median, max) => format!("{} / {} ms", opt_num(median, 3, ""), opt_num(max, 3, "")),
            },
        ),
    ]);
    if let Some(a) = &s.apiserver {
        let l = &a.latency_ms;
        let wl = &a.write_latency_ms;
        rows.extend([
            (
                "kube-apiserver requests: GET / LIST (watch cache) / writes (etcd), failed".into(),
                format!(
                    "{} / {} / {}, {}",
                    a.gets, a.lists, a.writes, a.writes_failed
                ),
            ),
            (
                "kube-apiserver latency p50 / p99 / max (every verb but WATCH)".into(),
                triple(l.p50, l.p99, l.max, " ms"),
            ),
            (
                "kube-apiserver write latency p50 / p99 / max".into(),
                triple(wl.p50, wl.p99, wl.max, " ms"),
            ),
        ]);
    }
    out.push_str("## Results\n\n| Figure | Value |\n| --- | ---: |\n");
    for (name, value) in rows {
        let _ = writeln!(out, "| {name} | {value} |");
    }
    out.push('\n');
    outcome(out, s);
}

/// The `[[expect]]`-facing figures by name, so a reader can see what an expectation compared.
fn outcome(out: &mut String, s: &Summary) {
    if s.outcome.is_empty() {
        return;
    }
    out.push_str("<details><summary>Outcome figures by name</summary>\n\n");
    out.push_str("| Name | Value |\n| --- | ---: |\n");
    for (name, value) in &s.outcome {
        let _ = writeln!(out, "| `{}` | {} |", cell(name), opt_num(*value, 6, ""));
    }
    out.push_str("\n</details>\n\n");
}

/// "a / b / c unit", each part a dash when missing.
fn triple(a: Option<f64>, b: Option<f64>, c: Option<f64>, unit: &str) -> String {
    let parts = [a, b, c].map(|x| opt_num(x, 3, ""));
    if [a, b, c].iter().all(Option::is_none) {
        return "–".into();
    }
    format!("{}{unit}", parts.join(" / "))
}

/// The checkers' verdicts on what the clients saw (`history.jsonl`).
fn checks(out: &mut String, s: &Summary) {
    if s.checks.is_empty() {
        return;
    }
    out.push_str("## What the clients saw\n\n");
    out.push_str("Every client operation is in `history.jsonl` (see docs/history-format.md).\n\n");
    out.push_str("| Checker | Operations | Maybe applied | Search steps | Verdict |\n| --- | ---: | ---: | ---: | --- |\n");
    for c in &s.checks {
        let verdict = match c.verdict.as_str() {
            "pass" => "✅ pass",
            "fail" => "❌ FAIL",
            _ => "⚠️ undecided (not a pass)",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {verdict} |",
            c.checker, c.operations, c.maybe_applied, c.steps
        );
    }
    out.push('\n');
    for c in s
        .checks
        .iter()
        .filter_map(|c| c.failure.as_ref().map(|f| (c, f)))
    {
        let _ = writeln!(out, "{} failed:\n\n```text\n{}```\n", c.0.checker, c.1);
        if c.0.failure_svg.is_some() {
            let picture = crate::failure_picture(&c.0.checker);
            let _ = writeln!(out, "The window drawn: [{picture}]({picture})\n");
        }
    }
}

fn expectations(out: &mut String, s: &Summary) {
    out.push_str("## Expectations\n\n");
    if s.expectations.is_empty() {
        out.push_str("_No expectations in this scenario._\n\n");
        return;
    }
    let failed = s.expectations.iter().filter(|e| !e.ok).count();
    let verdict = if failed == 0 {
        "✅ all PASS"
    } else {
        "❌ FAIL"
    };
    let _ = writeln!(
        out,
        "{verdict}: {} of {} met.\n",
        s.expectations.len() - failed,
        s.expectations.len()
    );
    out.push_str("| Expectation | Actual | Result |\n| --- | ---: | --- |\n");
    for e in &s.expectations {
        let result = if e.ok { "✅ PASS" } else { "❌ FAIL" };
        let _ = writeln!(
            out,
            "| `{}` | {} | {result} |",
            cell(&e.name),
            opt_num(e.actual, 6, "")
        );
    }
    out.push('\n');
}

fn charts(out: &mut String, record: &RunRecord) {
    out.push_str("## Charts\n\n");
    let _ = writeln!(out, "![leader timeline]({LEADER_TIMELINE_PNG})\n");
    let _ = writeln!(out, "![write latency]({WRITE_LATENCY_PNG})\n");
    let _ = writeln!(out, "![WAL fsync latency]({WAL_FSYNC_PNG})\n");
    if !record.db_size.is_empty() {
        let _ = writeln!(out, "![database size]({DB_SIZE_PNG})\n");
    }
    if !record.apiserver_latency_per_5m.is_empty() {
        let _ = writeln!(
            out,
            "![kube-apiserver latency]({})\n",
            crate::APISERVER_LATENCY_PNG
        );
    }
}

/// The numbers in the first column match the markers on the charts.
fn timeline(out: &mut String, record: &RunRecord) {
    out.push_str("## Timeline\n\n");
    if record.timeline.is_empty() {
        out.push_str("_Nothing happened to the cluster._\n\n");
        return;
    }
    out.push_str("| # | Time | What |\n| ---: | --- | --- |\n");
    for (i, entry) in record.timeline.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            i + 1,
            hms_millis(entry.at_ns),
            cell(&entry.what)
        );
    }
    out.push('\n');
}

fn warnings(out: &mut String, record: &RunRecord) {
    out.push_str("## Warnings\n\n");
    if record.warnings.is_empty() {
        out.push_str("_No warnings logged._\n\n");
        return;
    }
    out.push_str("| Member | Text | Count | First at |\n| --- | --- | ---: | --- |\n");
    for w in &record.warnings {
        let member = member_name(&record.member_names, w.member);
        let when = hms_millis(w.first_at_ns);
        let _ = writeln!(
            out,
            "| {member} | {} | {} | {when} |",
            cell(&w.text),
            w.count
        );
    }
    out.push('\n');
}

fn notes(out: &mut String, notes: &[String]) {
    if notes.is_empty() {
        return;
    }
    out.push_str("## Notes\n\n");
    for note in notes {
        let _ = writeln!(out, "- {note}");
    }
    out.push('\n');
}

fn reproduce(out: &mut String, s: &Summary) {
    out.push_str("## Reproduce\n\n");
    let _ = writeln!(out, "- Seed: `{}`", s.seed);
    let _ = writeln!(out, "- Trace hash: `{}`", s.trace_hash);
    let _ = writeln!(out, "- Events: {}\n", s.events);
    let sets: String = s
        .overrides
        .iter()
        .map(|o| format!(" --set {}", shell_quote(o)))
        .collect();
    let file = if s.scenario_file.is_empty() {
        format!("scenarios/{}.toml", s.scenario)
    } else {
        shell_quote(&s.scenario_file)
    };
    let _ = writeln!(
        out,
        "```sh\netcdlab run {file} --seed {}{sets}\n```",
        s.seed
    );
}

/// Quote for a POSIX shell when needed: plain words stay as they are.
fn shell_quote(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.=/:,+".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// Text safe inside a table cell: no line breaks, pipes escaped.
/// The alert rules that fired (docs/alerts.md), one row per firing episode.
fn alerts(out: &mut String, s: &Summary) {
    out.push_str("## Alerts\n\n");
    if s.alerts.is_empty() {
        out.push_str("_No alert fired._\n\n");
        return;
    }
    out.push_str("| Alert | Member | First fired | Resolved |\n| --- | --- | ---: | ---: |\n");
    for a in &s.alerts {
        let resolved = a.resolved_s.map_or_else(|| "still firing".to_string(), hms);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {resolved} |",
            cell(&a.name),
            a.member.as_deref().map_or_else(|| "-".to_string(), cell),
            hms(a.first_fired_s)
        );
    }
    out.push('\n');
}

/// Seconds of simulated time as h:mm:ss (rounded to the second).
fn hms(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

pub(crate) fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::synthetic_record;

    #[test]
    fn has_every_section() {
        let md = markdown(&synthetic_record(3, 3600));
        for needle in [
            "# etcdlab run: synthetic",
            "## Inputs\n\n- 3 members",
            "## Results",
            "| Leader changes |",
            "| Write latency p50 / p99 / max |",
            "| WAL fsync p50 / p99 / p99.9 |",
            "## Expectations",
            "✅ PASS",
            "❌ FAIL",
            "![leader timeline](leader-timeline.png)",
            "![write latency](write-latency.png)",
            "![WAL fsync latency](wal-fsync.png)",
            "## Timeline\n\n| # | Time | What |",
            "| 1 | 0:01:40.000 |",
            "## Warnings",
            "## Notes",
            "## Reproduce",
            "etcdlab run scenarios/synthetic.toml --seed 42",
        ] {
            assert!(md.contains(needle), "missing {needle:?} in\n{md}");
        }
    }

    #[test]
    fn the_answer_comes_first() {
        use crate::AlertEpisode;
        let mut record = synthetic_record(3, 3600);
        let s = &mut record.summary;
        s.leader_changes = 31;
        s.writes.ok = 900;
        s.writes.failed = 100;
        s.alerts = vec![
            AlertEpisode {
                name: "EtcdNoLeader".into(),
                member: Some("m3".into()),
                first_fired_s: 400.0,
                resolved_s: None,
            },
            AlertEpisode {
                name: "EtcdHighNumberOfLeaderChanges".into(),
                member: Some("m1".into()),
                first_fired_s: 345.0,
                resolved_s: None,
            },
            AlertEpisode {
                name: "EtcdNoLeader".into(),
                member: Some("m1".into()),
                first_fired_s: 380.0,
                resolved_s: None,
            },
        ];
        let md = markdown(&record);
        let top: Vec<&str> = md.lines().skip(2).take(3).collect();
        assert_eq!(
            top,
            [
                "**What happened:** 31 leader changes in 1:00:00 (alert \
                 EtcdHighNumberOfLeaderChanges from 0:05:45, EtcdNoLeader from 0:06:20); 100 \
                 of 1000 client writes failed (10%).",
                "",
                "**Verdict:** 1 of 2 expectations FAILED (`failover_s_median in [0.9, 1.5]`).",
            ],
            "{md}"
        );
        assert!(md.find("**Verdict:**") < md.find("## Inputs"));
    }

    #[test]
    fn a_long_quiet_run_reads_in_days() {
        let mut s = crate::fixtures::empty_record().summary;
        s.simulated_seconds = 41_941_800.0;
        s.leader_changes = 1;
        s.alerts = vec![crate::AlertEpisode {
            name: "EtcdDatabaseSizeHigh".into(),
            member: None,
            first_fired_s: 31_514_400.0,
            resolved_s: None,
        }];
        assert_eq!(
            what_happened(&s),
            "1 leader change in 485 days 10 h (alert EtcdDatabaseSizeHigh from day 364 18:00); \
             no client writes"
        );
        assert_eq!(held(&s), "no expectations");
    }

    #[test]
    fn empty_record_still_reads() {
        let md = markdown(&crate::fixtures::empty_record());
        assert!(md.contains("_No expectations in this scenario._"), "{md}");
        assert!(md.contains("_Nothing happened to the cluster._"));
        assert!(md.contains("| Write latency p50 / p99 / max | – |"));
        assert!(!md.contains("## Notes"));
    }

    #[test]
    fn alerts_section() {
        use crate::AlertEpisode;
        let mut s = crate::fixtures::synthetic_record(3, 60).summary;
        s.alerts.clear();
        let mut out = String::new();
        alerts(&mut out, &s);
        assert_eq!(out, "## Alerts\n\n_No alert fired._\n\n");
        s.alerts = vec![
            AlertEpisode {
                name: "EtcdNoLeader".into(),
                member: Some("m3".into()),
                first_fired_s: 135.0,
                resolved_s: Some(3915.0),
            },
            AlertEpisode {
                name: "Custom|x".into(),
                member: None,
                first_fired_s: 60.0,
                resolved_s: None,
            },
        ];
        let mut out = String::new();
        alerts(&mut out, &s);
        assert!(
            out.contains("| EtcdNoLeader | m3 | 0:02:15 | 1:05:15 |"),
            "{out}"
        );
        assert!(
            out.contains("| Custom\\|x | - | 0:01:00 | still firing |"),
            "{out}"
        );
    }

    #[test]
    fn cells_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}

/// The `[traffic]` clients' requests: one row per kind sent, then txn outcomes and errors.
fn traffic_rows(rows: &mut Vec<(String, String)>, t: &crate::TrafficFigures) {
    for (kind, k) in t.kinds.iter().filter(|(_, k)| k.sent > 0) {
        rows.push((
            format!("Traffic `{kind}` sent / ok / failed"),
            format!("{} / {} / {}", k.sent, k.ok, k.failed),
        ));
    }
    if t.kinds.get("txn").is_some_and(|k| k.ok > 0) {
        rows.push((
            "Traffic txns: compare held / failed".into(),
            format!("{} / {}", t.txn_compare_held, t.txn_compare_failed),
        ));
    }
    for (text, count) in &t.errors {
        rows.push((format!("Traffic error `{}`", cell(text)), count.to_string()));
    }
}
