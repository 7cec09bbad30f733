//! Invalid input through the CLI: every error class exits with code 2 and an error that reads
//! `FILE:LINE: FIELD: MESSAGE` (docs/scenarios.md, "Errors"), never with a panic.
//!
//! Each bad file is a small valid scenario with exactly one thing wrong; the expected line is
//! computed from the text written.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};

/// A small valid scenario that uses every section the cases below break.
const BASE: &str = r#"# A small valid scenario; each test breaks exactly one thing in it.
description = "bad-input base"
seed = 1
duration = "30s"

[cluster]
size = 3
heartbeat_interval_ms = 100
election_timeout_ms = 1000

[workload]
writes_per_s = 10
start = "1s"

[[timeline]]
at = "5s"
action = "pause"
member = "m1"
duration = "1s"

[[expect]]
leader_changes = { max = 5 }
"#;

/// `BASE` with the one line equal to `old` replaced by `new` (which may be several lines).
fn edit(old: &str, new: &str) -> String {
    let hits = BASE.lines().filter(|l| *l == old).count();
    assert_eq!(
        hits, 1,
        "the base scenario must have exactly one line {old:?}"
    );
    let mut text = String::new();
    for line in BASE.lines() {
        text.push_str(if line == old { new } else { line });
        text.push('\n');
    }
    text
}

/// The 1-based number of the one line of `text` equal to `line`.
fn line_of(text: &str, line: &str) -> usize {
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| *l == line)
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected exactly one line {line:?} in\n{text}"
    );
    hits[0]
}

/// Writes `text` as `<case>.toml` in a fresh temp dir.
fn write_case(case: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{case}.toml"));
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// Both `validate` and `run` on `path` (plus `extra` arguments) exit 2 with an error whose
/// text contains each of `needles`, and `run` writes no report.
fn assert_invalid(path: &Path, extra: &[&str], needles: &[String]) {
    let out_dir = path.with_extension("out");
    for sub in ["validate", "run"] {
        let mut cmd = etcdlab();
        cmd.arg(sub).arg(path).args(extra);
        if sub == "run" {
            cmd.arg("--out").arg(&out_dir);
        }
        let o = run(&mut cmd);
        o.assert_code(2);
        assert!(
            o.stderr.starts_with("error: "),
            "the error should start with `error: `\n{}",
            o.describe()
        );
        for needle in needles {
            assert!(
                o.stderr.contains(needle.as_str()),
                "stderr should contain {needle:?}\n{}",
                o.describe()
            );
        }
    }
    assert!(
        !out_dir.exists(),
        "`run` wrote {} for an invalid scenario",
        out_dir.display()
    );
}

/// A broken copy of the base scenario: `old` replaced by `new`; the error must point at the
/// line `bad_line` (a line of the new text) and name `field`, and mention `message`.
fn check(case: &str, old: &str, new: &str, bad_line: &str, field: &str, message: &str) {
    let text = edit(old, new);
    let line = line_of(&text, bad_line);
    let (_dir, path) = write_case(case, &text);
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    assert_invalid(
        &path,
        &[],
        &[
            format!("{file}:{line}:"),
            format!("{file}:{line}: {field}: "),
            message.to_string(),
        ],
    );
}

#[test]
fn the_base_scenario_is_valid() {
    let (_dir, path) = write_case("base", BASE);
    let o = run(etcdlab().arg("validate").arg(&path));
    o.assert_code(0);
}

#[test]
fn unknown_top_level_key() {
    check(
        "unknown-top-level-key",
        "seed = 1",
        "seed = 1\nseeed = 2",
        "seeed = 2",
        "seeed",
        "unknown key",
    );
}

#[test]
fn unknown_nested_key() {
    check(
        "unknown-nested-key",
        "size = 3",
        "size = 3\nheartbeat_ms = 100",
        "heartbeat_ms = 100",
        "cluster.heartbeat_ms",
        "unknown key",
    );
}

#[test]
fn wrong_type() {
    check(
        "wrong-type",
        "size = 3",
        "size = \"three\"",
        "size = \"three\"",
        "cluster.size",
        "expected an integer",
    );
}

#[test]
fn election_timeout_below_five_heartbeats() {
    check(
        "election-timeout",
        "election_timeout_ms = 1000",
        "election_timeout_ms = 400",
        "election_timeout_ms = 400",
        "cluster.election_timeout_ms",
        "below 5 x heartbeat",
    );
}

#[test]
fn cluster_of_eight() {
    check(
        "cluster-size",
        "size = 3",
        "size = 8",
        "size = 8",
        "cluster.size",
        "out of range",
    );
}

#[test]
fn timeline_member_outside_the_cluster() {
    check(
        "timeline-member",
        "member = \"m1\"",
        "member = \"m4\"",
        "member = \"m4\"",
        "timeline.0.member",
        "\"m4\"",
    );
}

#[test]
fn bad_duration() {
    check(
        "bad-duration",
        "at = \"5s\"",
        "at = \"5 minutes\"",
        "at = \"5 minutes\"",
        "timeline.0.at",
        "bad duration",
    );
}

#[test]
fn unknown_action() {
    check(
        "unknown-action",
        "action = \"pause\"",
        "action = \"explode\"",
        "action = \"explode\"",
        "timeline.0.action",
        "unknown action",
    );
}

#[test]
fn unknown_expect_metric() {
    check(
        "unknown-metric",
        "leader_changes = { max = 5 }",
        "leader_flaps = { max = 5 }",
        "leader_flaps = { max = 5 }",
        "expect.0.leader_flaps",
        "unknown metric",
    );
}

#[test]
fn malformed_toml() {
    let text = edit("writes_per_s = 10", "writes_per_s = = 10");
    let line = line_of(&text, "writes_per_s = = 10");
    let (_dir, path) = write_case("malformed", &text);
    assert_invalid(
        &path,
        &[],
        &[
            format!("malformed.toml:{line}:"),
            "invalid TOML".to_string(),
        ],
    );
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-scenario.toml");
    assert_invalid(
        &path,
        &[],
        &[
            "no-such-scenario.toml".to_string(),
            "cannot read".to_string(),
        ],
    );
}

#[test]
fn set_unknown_path() {
    let (_dir, path) = write_case("set-unknown", BASE);
    assert_invalid(
        &path,
        &["--set", "cluster.heartbeat_ms=1"],
        &[
            "--set: cluster.heartbeat_ms: ".to_string(),
            "unknown key".to_string(),
        ],
    );
}

#[test]
fn set_path_through_a_value() {
    let (_dir, path) = write_case("set-through-value", BASE);
    assert_invalid(
        &path,
        &["--set", "cluster.size.x=1"],
        &["--set: cluster.size.x: ".to_string()],
    );
}

#[test]
fn set_index_past_the_end() {
    let (_dir, path) = write_case("set-index", BASE);
    assert_invalid(
        &path,
        &["--set", "timeline.5.at=1s"],
        &["--set: timeline.5.at: ".to_string()],
    );
}

#[test]
fn set_without_equals() {
    let (_dir, path) = write_case("set-syntax", BASE);
    assert_invalid(&path, &["--set", "cluster.size"], &["--set".to_string()]);
}

#[test]
fn set_bad_value_points_at_the_replaced_line() {
    let (_dir, path) = write_case("set-value", BASE);
    let line = line_of(BASE, "size = 3");
    assert_invalid(
        &path,
        &["--set", "cluster.size=8"],
        &[
            format!("set-value.toml:{line}: cluster.size: "),
            "out of range".to_string(),
            "(value from --set)".to_string(),
        ],
    );
}

#[test]
fn clap_usage_errors() {
    let (_dir, path) = write_case("usage", BASE);
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["run".into()],        // missing SCENARIO
        vec!["frobnicate".into()], // unknown subcommand
        vec![],                    // no subcommand
        vec!["run".into(), path.clone().into(), "--no-such-flag".into()],
        vec![
            "run".into(),
            path.into(),
            "--seed".into(),
            "minus-one".into(),
        ],
    ];
    for args in cases {
        let o = etcdlab_run(&args);
        o.assert_code(2);
        assert!(
            o.stderr.contains("Usage") || o.stderr.contains("error:"),
            "a usage error should explain itself\n{}",
            o.describe()
        );
    }
}
