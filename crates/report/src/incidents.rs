//! Report sections written from incident facts: the watch clients, and a database that grew
//! into its quota (the NOSPACE alarm).

use std::fmt::Write;

use crate::{NospaceRecord, RunRecord, WatchRecord};

/// Appends the incident sections the record has facts for, watches first.
pub fn sections(out: &mut String, record: &RunRecord) {
    let watches = record.watches.as_ref().map(|w| ("Watches", watch_body(w)));
    let nospace = record
        .nospace
        .as_ref()
        .map(|n| ("Growth and the alarm", nospace_body(n)));
    for (title, body) in watches.into_iter().chain(nospace) {
        let _ = writeln!(out, "## {title}\n\n{body}\n");
    }
}

/// What each watcher received, how far behind it fell, and every relist a compaction forced.
fn watch_body(w: &WatchRecord) -> String {
    let mut md = String::from(
        "| Watcher | Member | Prefix | Consumes | Events received | Max lag (revisions) | Relists |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: |\n",
    );
    for row in &w.watchers {
        let rate = row
            .events_per_s
            .map_or("all".to_string(), |r| format!("{r} rev/s"));
        let relists = w.relists.iter().filter(|r| r.watcher == row.name).count();
        let _ = writeln!(
            md,
            "| {} | m{} | `{}` | {} | {} | {} | {} |",
            row.name,
            row.member + 1,
            row.prefix,
            rate,
            row.delivered,
            row.max_lag_revisions,
            relists
        );
    }
    for row in w.watchers.iter().filter(|r| r.resumes > 0) {
        let _ = writeln!(
            md,
            "\n{} fell behind a compaction {} times and each time watched again from the \
             compact revision (`on_compacted = \"resume\"`): the events compacted away were \
             skipped, nothing was relisted.",
            row.name, row.resumes
        );
    }
    if w.relists.is_empty() {
        if w.watchers.iter().all(|r| r.resumes == 0) {
            md.push_str("\nNo watcher fell behind a compaction.\n");
        }
        return md;
    }
    let _ = write!(
        md,
        "\nEach relist below followed `{}`: the watcher's next revision had been compacted, so \
         it read its whole prefix again and resumed from the current revision.\n\n\
         | At | Watcher | Needed revision | Compacted at | Keys relisted | Bytes relisted |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
        w.compacted_error
    );
    for r in &w.relists {
        let _ = writeln!(
            md,
            "| {:.3} s | {} | {} | {} | {} | {} |",
            r.at_ns as f64 / 1e9,
            r.watcher,
            r.needed_rev,
            r.compact_rev,
            r.keys,
            r.bytes
        );
    }
    md
}

/// How fast the database grew, when the alert and the alarm came, what the write downtime was
/// made of, and how this compares with the public incident the scenarios replay.
fn nospace_body(n: &NospaceRecord) -> String {
    const DAY_S: f64 = 86_400.0;
    let day = |ns: u64| ns as f64 / 1e9 / DAY_S;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "- NOSPACE was first applied on day {:.1} ({} s).",
        day(n.nospace_at_ns),
        n.nospace_at_ns / 1_000_000_000
    );
    if let (Some(half), Some(six)) = (n.first_member_half_gib_ns, n.first_member_six_gib_ns) {
        growth(&mut md, n, day(half), day(six));
    }
    match n.db_size_alert_lead_s {
        Some(lead) => {
            let _ = writeln!(
            md,
            "- EtcdDatabaseSizeHigh (db size over 6 GiB for 5 minutes) fired {:.1} days before the alarm: an alert routed to someone would have left that long to compact and defragment.",
            lead / DAY_S
        );
        }
        None => md.push_str("- EtcdDatabaseSizeHigh did not fire before the alarm.\n"),
    }
    if let Some((diagnosis, think_time)) = &n.runbook_pace {
        let _ = writeln!(
            md,
            "- The operator (scenario input): {diagnosis} of diagnosis before the first command, {think_time} between commands. The commands themselves took {:.0} s in all (the compaction's batches dominate).",
            n.operator_command_s
        );
    }
    if let Some(back) = n.writes_back_ns {
        let _ = writeln!(
            md,
            "- Writes came back {:.0} minutes after the alarm (the guide: about 2 hours).",
            (back - n.nospace_at_ns) as f64 / 60e9
        );
    }
    md.push_str("- The guide says `kubectl apply` hung with no output. In this model etcd refuses the write at once and kube-apiserver passes etcd's error on, so `kubectl apply` fails immediately with `etcdserver: mvcc: database space exceeded` (see the operator steps); a hang needs etcd to be unreachable or slow, not full.\n");
    md
}

/// The growth rate between 0.5 GiB and 6 GiB, against the guide's 17 MB a day.
fn growth(md: &mut String, n: &NospaceRecord, half_day: f64, six_day: f64) {
    const GIB: f64 = (1u64 << 30) as f64;
    let mb_per_day = (6.0 - 0.5) * GIB / 1e6 / (six_day - half_day);
    let _ = writeln!(
        md,
        "- m1's database passed 0.5 GiB on day {half_day:.1} and 6 GiB on day {six_day:.1}: {mb_per_day:.0} MB a day. The guide's cluster went from 0.5 GB to 7.8 GB in 14 months (about 17 MB a day)."
    );
    let Some(rate) = n.kube_put_bytes_per_s else {
        return;
    };
    if (mb_per_day / 17.0 - 1.0).abs() <= 0.25 {
        let _ = writeln!(
            md,
            "- This control plane writes {rate:.0} bytes/s of keys and values, and with both compactions off every byte stays: the guide's pace. A kubeadm-default 3-node control plane writes several times more (its leader-election Leases alone renew every 2 s) and would reach the quota in months, not a year."
        );
    } else {
        let needed = rate * 17.0 / mb_per_day;
        let _ = writeln!(
            md,
            "- This control plane writes {rate:.0} bytes/s of keys and values; with both compactions off every byte stays. The guide's 14 months imply about {needed:.0} bytes/s. The mechanism and the figures after the alarm do not depend on how long the filling took."
        );
    }
}
