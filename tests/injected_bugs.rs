//! Proof that the checkers of what clients saw bite: with `ETCDLAB_INJECT_BUG` the simulated
//! etcd misbehaves like a real etcd bug, and the matching checker catches it on a shipped
//! scenario (exit code 3, the checker named, the failing window in stderr and the report).
//! The table in docs/checkers.md lists the same pairs; a test below keeps them in step.

mod common;

use common::*;
use std::fs;

/// (bug, shipped scenario that shows it, checker that must catch it)
const BUGS: &[(&str, &str, &str)] = &[
    (
        "stale-read-after-pause",
        "reads-during-leader-stall",
        "linearizability",
    ),
    (
        "lost-write-on-crash",
        "single-member-crash",
        "linearizability",
    ),
    (
        "duplicate-watch-event",
        "compaction-too-aggressive",
        "watch",
    ),
    (
        "watch-back-in-time-after-partition",
        "watch-on-partitioned-member",
        "watch",
    ),
    (
        "progress-notify-ahead-of-events",
        "watch-on-partitioned-member",
        "watch",
    ),
    (
        "watch-drop-on-compacted-delete",
        "watch-resume-at-compact-revision",
        "watch",
    ),
    (
        "revision-back-after-compaction-crash",
        "compaction-crash",
        "linearizability",
    ),
];

/// What the failure must name for the watch bugs: the guarantee each one breaks.
const WATCH_GUARANTEES: &[(&str, &str)] = &[
    ("duplicate-watch-event", "unique"),
    ("watch-back-in-time-after-partition", "ordered"),
    ("progress-notify-ahead-of-events", "bookmarkable"),
    ("watch-drop-on-compacted-delete", "reliable"),
];

#[test]
fn every_injected_bug_is_caught_by_its_checker() {
    for (bug, scenario, checker) in BUGS {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let o = run(etcdlab()
            .env("ETCDLAB_INJECT_BUG", bug)
            .args(["run", &format!("scenarios/{scenario}.toml")])
            .arg("--out")
            .arg(&out));
        o.assert_code(3);
        let mut needles = vec![format!("checker {checker} failed"), "=> ".to_string()];
        if let Some((_, guarantee)) = WATCH_GUARANTEES.iter().find(|(b, _)| b == bug) {
            needles.push(format!("watch guarantee `{guarantee}` broken"));
        }
        for needle in needles {
            assert!(
                o.stderr.contains(&needle),
                "ETCDLAB_INJECT_BUG={bug}: stderr should contain {needle:?}\n{}",
                o.describe()
            );
        }
        let summary = summary(&out);
        let check = summary["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["checker"] == *checker)
            .expect("the checker ran");
        assert_eq!(check["verdict"], "fail", "{bug}");
        let report = fs::read_to_string(out.join("report.md")).unwrap();
        assert!(report.contains(&format!("{checker} failed:")), "{bug}");
        let picture = fs::read_to_string(out.join(format!("{checker}-failure.svg"))).unwrap();
        assert!(
            picture.contains("#f4a6a6"),
            "{bug}: the culprit is drawn in red"
        );
        assert!(
            report.contains(&format!("Injected etcd bug `{bug}`")),
            "{bug}"
        );
        // The same history, checked on its own, gives the same verdict.
        let svg = tmp.path().join("window.svg");
        let o = etcdlab_run([
            "check".as_ref(),
            out.join("history.jsonl").as_os_str(),
            "--picture".as_ref(),
            svg.as_os_str(),
        ]);
        o.assert_code(3);
        assert!(fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    }
}

#[test]
fn the_docs_table_lists_every_injected_bug() {
    let docs = fs::read_to_string(repo_root().join("docs/checkers.md")).unwrap();
    for (bug, scenario, checker) in BUGS {
        let row = format!("| `{bug}` | `{scenario}` | `{checker}` |");
        assert!(docs.contains(&row), "docs/checkers.md lacks the row {row}");
    }
}

#[test]
fn an_unknown_bug_is_refused_with_the_known_ones() {
    let o = run(etcdlab()
        .env("ETCDLAB_INJECT_BUG", "no-such-bug")
        .args(["run", "scenarios/leader-stall-failover.toml"]));
    o.assert_code(2);
    assert!(
        o.stderr.contains("stale-read-after-pause"),
        "{}",
        o.describe()
    );
}

/// Serializable reads may be stale but never show a state the cluster did not have. With the
/// lost write, a revision a read saw is given again to another write after the crash: the
/// serializable-read checker catches it; without the bug the same reads pass.
#[test]
fn serializable_reads_catch_the_lost_write_too() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [(Some("lost-write-on-crash"), "fail", 3), (None, "pass", 0)];
    let outcomes = parallel_map(&cases, |(bug, _, _)| {
        let out = tmp.path().join(bug.unwrap_or("none"));
        let mut cmd = etcdlab();
        if let Some(bug) = bug {
            cmd.env("ETCDLAB_INJECT_BUG", bug);
        }
        let o = run(cmd
            .args(["run", "scenarios/single-member-crash.toml"])
            .args(["--set", "workload.read_consistency=serializable"])
            .arg("--out")
            .arg(&out));
        (o, out)
    });
    for ((bug, verdict, code), (o, out)) in cases.iter().zip(&outcomes) {
        o.assert_code(*code);
        let summary = summary(out);
        let check = summary["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["checker"] == "serializable")
            .expect("the serializable-read checker ran");
        assert_eq!(check["verdict"], *verdict, "{bug:?}\n{}", o.describe());
    }
    assert!(outcomes[0].0.stderr.contains("checker serializable failed"));
}
