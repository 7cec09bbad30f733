//! What etcdctl 3.4 prints, byte for byte, so operator steps in a report read like a terminal
//! transcript (reference: etcd-ground-truth.md, section E).
//!
//! Tables are drawn the way etcdctl's `olekukonko/tablewriter` (a0225b3, the version etcd 3.4
//! pins) draws them: headers upper-cased and centred, cells right-aligned, cells wider than 30
//! columns word-wrapped onto extra lines with its minimal-raggedness algorithm.

use std::fmt::Write;

/// One endpoint's row of `etcdctl endpoint status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStatusRow {
    /// e.g. "127.0.0.1:12379".
    pub endpoint: String,
    pub member_id: u64,
    /// e.g. "3.4.23".
    pub version: String,
    pub db_size: u64,
    pub is_leader: bool,
    pub is_learner: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    /// The server's `errors` strings, e.g. from [`alarm_error`]; joined with ", " in the cell.
    pub errors: Vec<String>,
}

/// One member's row of `etcdctl member list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberListRow {
    pub id: u64,
    /// Empty for a member that was added but never started ("unstarted").
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

/// An `AlarmMember` as the server renders it in the `errors` of a status reply (protobuf text
/// format: zero fields are left out, each field is followed by a space).
pub fn alarm_error(member_id: u64, alarm: &str) -> String {
    if member_id == 0 {
        format!("alarm:{alarm} ")
    } else {
        format!("memberID:{member_id} alarm:{alarm} ")
    }
}

/// `etcdctl alarm list` (and `alarm disarm`, which prints the alarms it removed): one line per
/// alarm with a trailing space; nothing at all when there is none.
pub fn alarm_list(alarms: &[(u64, &str)]) -> String {
    alarms
        .iter()
        .map(|(id, alarm)| format!("{}\n", alarm_error(*id, alarm)))
        .collect()
}

/// `etcdctl compaction <rev>`.
pub fn compacted(rev: i64) -> String {
    format!("compacted revision {rev}\n")
}

/// `etcdctl defrag`, one line per endpoint.
pub fn defrag_finished(endpoint: &str) -> String {
    format!("Finished defragmenting etcd member[{endpoint}]\n")
}

/// `etcdctl endpoint hashkv` (simple format): `<endpoint>, <hash>` per endpoint.
pub fn endpoint_hashkv(rows: &[(&str, u32)]) -> String {
    rows.iter()
        .map(|(ep, hash)| format!("{ep}, {hash}\n"))
        .collect()
}

/// The error etcdctl prints for a write refused by the NOSPACE alarm (exit code 1).
pub const SPACE_EXCEEDED: &str = "Error: etcdserver: mvcc: database space exceeded\n";

fn status_cells(r: &EndpointStatusRow) -> Vec<String> {
    vec![
        r.endpoint.clone(),
        format!("{:x}", r.member_id),
        r.version.clone(),
        humanize_bytes(r.db_size),
        r.is_leader.to_string(),
        r.is_learner.to_string(),
        r.raft_term.to_string(),
        r.raft_index.to_string(),
        r.raft_applied_index.to_string(),
        r.errors.join(", "),
    ]
}

/// `etcdctl endpoint status -w table`.
pub fn endpoint_status_table(rows: &[EndpointStatusRow]) -> String {
    let header = [
        "endpoint",
        "ID",
        "version",
        "db size",
        "is leader",
        "is learner",
        "raft term",
        "raft index",
        "raft applied index",
        "errors",
    ];
    table(&header, &rows.iter().map(status_cells).collect::<Vec<_>>())
}

/// `etcdctl endpoint status` (simple format): the table's cells joined with ", ".
pub fn endpoint_status_simple(rows: &[EndpointStatusRow]) -> String {
    rows.iter()
        .map(|r| format!("{}\n", status_cells(r).join(", ")))
        .collect()
}

fn member_cells(m: &MemberListRow) -> Vec<String> {
    let status = if m.name.is_empty() {
        "unstarted"
    } else {
        "started"
    };
    vec![
        format!("{:x}", m.id),
        status.to_string(),
        m.name.clone(),
        m.peer_urls.join(","),
        m.client_urls.join(","),
        m.is_learner.to_string(),
    ]
}

/// `etcdctl member list -w table`.
pub fn member_list_table(rows: &[MemberListRow]) -> String {
    let header = [
        "ID",
        "Status",
        "Name",
        "Peer Addrs",
        "Client Addrs",
        "Is Learner",
    ];
    table(&header, &rows.iter().map(member_cells).collect::<Vec<_>>())
}

/// `etcdctl member list` (simple format).
pub fn member_list_simple(rows: &[MemberListRow]) -> String {
    rows.iter()
        .map(|m| format!("{}\n", member_cells(m).join(", ")))
        .collect()
}

/// go-humanize's `Bytes` (SI, base 1000), as etcdctl shows DB SIZE: "20 kB", "17 MB", "7.8 GB".
pub fn humanize_bytes(s: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if s < 10 {
        return format!("{s} B");
    }
    // Go takes floor(log(s)/log(1000)); the integer form agrees with it (its own tests pin the
    // exact powers) without depending on how this platform's ln rounds.
    let mut e = 0;
    while e + 1 < SIZES.len() && s / 1000u64.pow(e as u32 + 1) > 0 {
        e += 1;
    }
    // The same float steps as Go: floor(s / 1000^e * 10 + 0.5) / 10.
    let tenths = (s as f64 / 1000f64.powi(e as i32) * 10.0 + 0.5).floor() as u64;
    if tenths < 100 {
        format!("{}.{} {}", tenths / 10, tenths % 10, SIZES[e])
    } else {
        // Go's "%.0f" rounds an exact half to even.
        let (whole, frac) = (tenths / 10, tenths % 10);
        let rounded = if frac > 5 || (frac == 5 && whole % 2 == 1) {
            whole + 1
        } else {
            whole
        };
        format!("{rounded} {}", SIZES[e])
    }
}

/// tablewriter's `MAX_ROW_WIDTH`: cells wider than this wrap.
const MAX_COL_WIDTH: usize = 30;

/// A table as tablewriter renders it with etcdctl's settings (right-aligned cells).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    // Widths grow as tablewriter's parseDimension sees each cell, in order; wrapping uses the
    // width known at that moment, so this must run row by row like the original.
    let mut widths: Vec<usize> = header
        .iter()
        .map(|h| h.chars().count().min(MAX_COL_WIDTH))
        .collect();
    let mut wrapped: Vec<Vec<Vec<String>>> = Vec::new();
    for row in rows {
        let mut cells = Vec::new();
        for (c, text) in row.iter().enumerate() {
            let w = text.chars().count().min(MAX_COL_WIDTH);
            if widths[c] < w || widths[c] == 0 {
                widths[c] = w;
            }
            let lines = wrap_string(text, widths[c]);
            let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            widths[c] = widths[c].max(longest);
            cells.push(lines);
        }
        wrapped.push(cells);
    }
    let border: String = widths.iter().fold("+".to_string(), |mut s, w| {
        s.push_str(&"-".repeat(w + 2));
        s.push('+');
        s
    });
    let mut out = String::new();
    let _ = writeln!(out, "{border}");
    out.push('|');
    for (h, w) in header.iter().zip(&widths) {
        let title = h.replace(['_', '.'], " ").trim().to_uppercase();
        let gap = w.saturating_sub(title.chars().count());
        let left = gap / 2;
        let _ = write!(
            out,
            " {}{title}{} |",
            " ".repeat(left),
            " ".repeat(gap - left)
        );
    }
    out.push('\n');
    let _ = writeln!(out, "{border}");
    for cells in &wrapped {
        let height = cells.iter().map(Vec::len).max().unwrap_or(0);
        for line in 0..height {
            out.push('|');
            for (c, w) in cells.iter().zip(&widths) {
                // tablewriter fills short cells with "  ", which pads to blanks anyway.
                let text = c.get(line).map_or("  ", String::as_str);
                let _ = write!(out, " {text:>w$} |");
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{border}");
    out
}

/// tablewriter's `WrapString`: split on single spaces (so a trailing space makes an empty last
/// word), widen the limit to the longest word, break with minimal raggedness.
fn wrap_string(s: &str, lim: usize) -> Vec<String> {
    let s = s.replace('\n', " ");
    let words: Vec<&str> = s.split(' ').collect();
    let lim = words
        .iter()
        .map(|w| w.chars().count())
        .fold(lim, usize::max);
    wrap_words(&words, lim)
        .into_iter()
        .map(|line| line.join(" "))
        .collect()
}

/// tablewriter's `WrapWords` with one unit between words and its 1e5 penalty for long lines.
fn wrap_words<'a>(words: &[&'a str], lim: usize) -> Vec<Vec<&'a str>> {
    const PENALTY: i64 = 100_000;
    let n = words.len();
    let lim = lim as i64;
    let width = |w: &str| w.chars().count() as i64;
    // length[i][j]: words i..=j joined with single spaces.
    let mut length = vec![vec![0i64; n]; n];
    for i in 0..n {
        length[i][i] = width(words[i]);
        for j in i + 1..n {
            length[i][j] = length[i][j - 1] + 1 + width(words[j]);
        }
    }
    let mut next_break = vec![0usize; n];
    let mut cost = vec![i64::from(i32::MAX); n];
    for i in (0..n).rev() {
        if length[i][n - 1] <= lim {
            cost[i] = 0;
            next_break[i] = n;
        } else {
            for j in i + 1..n {
                let d = lim - length[i][j - 1];
                let mut c = d * d + cost[j];
                if length[i][j - 1] > lim {
                    c += PENALTY;
                }
                if c < cost[i] {
                    cost[i] = c;
                    next_break[i] = j;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        lines.push(words[i..next_break[i]].to_vec());
        i = next_break[i];
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(endpoint: &str, id: u64, leader: bool, errors: Vec<String>) -> EndpointStatusRow {
        EndpointStatusRow {
            endpoint: endpoint.into(),
            member_id: id,
            version: "3.4.23".into(),
            db_size: 20480,
            is_leader: leader,
            is_learner: false,
            raft_term: 2,
            raft_index: 8,
            raft_applied_index: 8,
            errors,
        }
    }

    #[test]
    fn humanized_sizes_match_go_humanize() {
        for (bytes, text) in [
            (0, "0 B"),
            (9, "9 B"),
            (10, "10 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (20480, "20 kB"),
            (24576, "25 kB"),
            (94208, "94 kB"),
            (122880, "123 kB"),
            // 20.5 kB: Go's %.0f rounds the exact half to even.
            (20500, "20 kB"),
            (21500, "22 kB"),
            (999_949, "1000 kB"),
            (1_000_000, "1.0 MB"),
            (2_433_024, "2.4 MB"),
            (16_777_216, "17 MB"),
            (16_961_536, "17 MB"),
            (82_854_982, "83 MB"),
            (1_000_000_000, "1.0 GB"),
            (7_800_000_000, "7.8 GB"),
            (8_589_934_592, "8.6 GB"),
            (1_000_000_000_000_000_000, "1.0 EB"),
            (u64::MAX, "18 EB"),
        ] {
            assert_eq!(humanize_bytes(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn endpoint_status_table_as_etcdctl_prints_it() {
        let rows = [
            row("127.0.0.1:12379", 0xa7148b61e8a34f05, false, vec![]),
            row("127.0.0.1:22379", 0xa605680a58a573b0, true, vec![]),
        ];
        let expected = "\
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| 127.0.0.1:12379 | a7148b61e8a34f05 |  3.4.23 |   20 kB |     false |      false |         2 |          8 |                  8 |        |
| 127.0.0.1:22379 | a605680a58a573b0 |  3.4.23 |   20 kB |      true |      false |         2 |          8 |                  8 |        |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
";
        assert_eq!(endpoint_status_table(&rows), expected);
        assert_eq!(
            endpoint_status_simple(&rows[..1]),
            "127.0.0.1:12379, a7148b61e8a34f05, 3.4.23, 20 kB, false, false, 2, 8, 8, \n"
        );
    }

    #[test]
    fn an_alarm_wraps_the_errors_cell_onto_two_lines() {
        let alarm = alarm_error(14532165781622267127, "NOSPACE");
        assert_eq!(alarm, "memberID:14532165781622267127 alarm:NOSPACE ");
        let r = EndpointStatusRow {
            endpoint: "localhost:12379".into(),
            member_id: 0xc9ac9fc89eae9cf7,
            version: "3.4.17".into(),
            db_size: 16_961_536,
            is_leader: true,
            is_learner: false,
            raft_term: 10,
            raft_index: 33,
            raft_applied_index: 33,
            errors: vec![alarm],
        };
        // etcdctl 3.4.17 over a NOSPACE member, as printed in the wild: the cell is capped at
        // 30 columns and the trailing space of "alarm:NOSPACE " is kept on the second line.
        let expected = "\
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------------------------------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX |             ERRORS             |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------------------------------+
| localhost:12379 | c9ac9fc89eae9cf7 |  3.4.17 |   17 MB |      true |      false |        10 |         33 |                 33 |  memberID:14532165781622267127 |
|                 |                  |         |         |           |            |           |            |                    |                 alarm:NOSPACE  |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------------------------------+
";
        assert_eq!(endpoint_status_table(&[r]), expected);
    }

    #[test]
    fn a_shorter_member_id_is_right_aligned() {
        let mut r = row("127.0.0.1:2379", 0x59a9c584ea2c3f35, true, vec![]);
        r.errors = vec![alarm_error(6460912315094810421, "NOSPACE")];
        r.db_size = 2_100_000_000;
        let table = endpoint_status_table(&[r]);
        assert!(
            table.contains("|  2.1 GB |      true |")
                && table.contains("|   memberID:6460912315094810421 |\n")
                && table.contains("|                 alarm:NOSPACE  |\n"),
            "{table}"
        );
    }

    #[test]
    fn corrupt_alarm_without_member_reads_like_etcd() {
        assert_eq!(alarm_error(0, "CORRUPT"), "alarm:CORRUPT ");
        let r = row("127.0.0.1:12379", 1, false, vec![alarm_error(0, "CORRUPT")]);
        let table = endpoint_status_table(&[r]);
        assert!(table.contains("| alarm:CORRUPT  |\n"), "{table}");
    }

    #[test]
    fn two_alarms_wrap_with_minimal_raggedness() {
        let a = alarm_error(12039400956499283717, "NOSPACE");
        let b = alarm_error(11989071595905774276, "NOSPACE");
        let cell = [a, b].join(", ");
        assert_eq!(
            wrap_string(&cell, 30),
            [
                "memberID:12039400956499283717",
                "alarm:NOSPACE ,",
                "memberID:11989071595905774276",
                "alarm:NOSPACE ",
            ]
        );
        assert_eq!(wrap_string("short", 6), ["short"]);
        assert_eq!(wrap_string("", 6), [""]);
    }

    #[test]
    fn alarm_list_lines() {
        assert_eq!(alarm_list(&[]), "");
        assert_eq!(
            alarm_list(&[
                (12039400956499283717, "NOSPACE"),
                (11989071595905774276, "NOSPACE")
            ]),
            "memberID:12039400956499283717 alarm:NOSPACE \nmemberID:11989071595905774276 alarm:NOSPACE \n"
        );
    }

    #[test]
    fn one_line_outputs() {
        assert_eq!(compacted(1603), "compacted revision 1603\n");
        assert_eq!(
            defrag_finished("127.0.0.1:12379"),
            "Finished defragmenting etcd member[127.0.0.1:12379]\n"
        );
        assert_eq!(
            endpoint_hashkv(&[("127.0.0.1:12379", 1084519789)]),
            "127.0.0.1:12379, 1084519789\n"
        );
        assert_eq!(
            SPACE_EXCEEDED,
            "Error: etcdserver: mvcc: database space exceeded\n"
        );
    }

    #[test]
    fn member_list_as_etcdctl_prints_it() {
        let m = MemberListRow {
            id: 0xa605680a58a573b0,
            name: "m2".into(),
            peer_urls: vec!["http://127.0.0.1:22380".into()],
            client_urls: vec!["http://127.0.0.1:22379".into()],
            is_learner: false,
        };
        let expected = "\
+------------------+---------+------+------------------------+------------------------+------------+
|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |
+------------------+---------+------+------------------------+------------------------+------------+
| a605680a58a573b0 | started |   m2 | http://127.0.0.1:22380 | http://127.0.0.1:22379 |      false |
+------------------+---------+------+------------------------+------------------------+------------+
";
        assert_eq!(member_list_table(std::slice::from_ref(&m)), expected);
        assert_eq!(
            member_list_simple(&[m]),
            "a605680a58a573b0, started, m2, http://127.0.0.1:22380, http://127.0.0.1:22379, false\n"
        );
    }
}
