//! `etcdlab test` as a user runs it in their own CI: a fresh folder with two scenarios of their
//! own; snapshots written, a pass, a changed setting failing with a diff naming the figure,
//! `--accept`, a JUnit file, and the exit codes of a failed expectation and a bad file.

mod common;

use common::*;
use std::fs;
use std::path::Path;

/// Two cheap shipped scenarios copied into `dir`.
fn user_folder(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    for name in ["compaction-crash", "watch-resume-at-compact-revision"] {
        let from = repo_root().join(format!("scenarios/{name}.toml"));
        fs::copy(from, dir.join(format!("{name}.toml"))).unwrap();
    }
}

fn etcdlab_test(dir: &Path, extra: &[&str]) -> Outcome {
    run(etcdlab().current_dir(dir).arg("test").arg("sc").args(extra))
}

#[test]
fn a_users_suite_writes_snapshots_passes_fails_on_a_change_and_accepts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("sc");
    user_folder(&sc);

    let first = etcdlab_test(tmp.path(), &[]);
    first.assert_code(0);
    assert!(
        first.stderr.contains("0 passed, 2 new snapshots"),
        "{}",
        first.describe()
    );
    let snap = sc.join("__snapshots__/compaction-crash.snap");
    let text = fs::read_to_string(&snap).unwrap();
    assert!(text.starts_with("---\nsource: etcdlab test\nexpression: compaction-crash\n---\n{"));
    assert!(text.contains("\"scenario_file\": \"compaction-crash.toml\""));

    let again = etcdlab_test(tmp.path(), &["--junit", "junit.xml"]);
    again.assert_code(0);
    assert!(again.stderr.contains("2 passed"), "{}", again.describe());
    let junit = fs::read_to_string(tmp.path().join("junit.xml")).unwrap();
    assert!(junit.contains("<testsuite name=\"etcdlab\" tests=\"2\" failures=\"0\">"));
    assert!(junit.contains("name=\"watch-resume-at-compact-revision\""));

    // The user doubles the write rate: the outcome changes, and the diff says which figures.
    let file = sc.join("compaction-crash.toml");
    let toml = fs::read_to_string(&file).unwrap();
    let changed = toml.replace("writes_per_s = 1\n", "writes_per_s = 2\n");
    assert_ne!(toml, changed);
    fs::write(&file, changed).unwrap();
    let diff = etcdlab_test(tmp.path(), &["--junit", "junit.xml"]);
    diff.assert_code(1);
    for needle in [
        "--- compaction-crash failed:",
        "outcome differs from the accepted snapshot",
        "-    \"ok\": 138,",
        "1 passed, 0 new snapshots, 0 accepted, 1 failed",
    ] {
        assert!(
            diff.stderr.contains(needle),
            "{needle:?}\n{}",
            diff.describe()
        );
    }
    let junit = fs::read_to_string(tmp.path().join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"1\""));
    assert!(junit.contains("<failure message=\"outcome differs from the accepted snapshot"));
    assert_eq!(fs::read_to_string(&snap).unwrap(), text, "not accepted yet");

    // The same for machines: JSON on stdout, the exit code in it too.
    let json = etcdlab_test(tmp.path(), &["--json"]);
    json.assert_code(1);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON on stdout");
    assert_eq!(doc["exit_code"], 1);
    assert_eq!(
        (doc["passed"].as_u64(), doc["failed"].as_u64()),
        (Some(1), Some(1))
    );
    let failed = &doc["scenarios"][0];
    assert_eq!(failed["name"], "compaction-crash");
    assert_eq!(
        (failed["verdict"].as_str(), failed["exit_code"].as_u64()),
        (Some("fail"), Some(1))
    );
    assert!(failed["message"]
        .as_str()
        .unwrap()
        .contains("-    \"ok\": 138,"));
    assert_eq!(doc["scenarios"][1]["verdict"], "pass");

    let accept = etcdlab_test(tmp.path(), &["--accept"]);
    accept.assert_code(0);
    assert!(
        accept.stderr.contains("1 accepted"),
        "{}",
        accept.describe()
    );
    etcdlab_test(tmp.path(), &[]).assert_code(0);
}

#[test]
fn a_failed_expectation_and_a_bad_file_give_runs_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("sc");
    user_folder(&sc);
    let file = sc.join("compaction-crash.toml");
    let toml = fs::read_to_string(&file).unwrap();
    fs::write(&file, format!("{toml}\n[[expect]]\nwrites_failed = 0\n")).unwrap();
    let o = etcdlab_test(tmp.path(), &[]);
    o.assert_code(1);
    assert!(
        o.stderr
            .contains("expectation failed: writes_failed == 0 (actual 2)"),
        "{}",
        o.describe()
    );

    fs::write(&file, format!("{toml}\n[cluster.extra]\n")).unwrap();
    let o = etcdlab_test(tmp.path(), &[]);
    o.assert_code(2);
    assert!(
        o.stderr.contains("compaction-crash.toml:"),
        "{}",
        o.describe()
    );

    let o = run(etcdlab().current_dir(tmp.path()).args(["test", "missing"]));
    o.assert_code(2);
    assert!(o.stderr.contains("missing: no such file or folder"));
    // --json answers even when the suite cannot run.
    let o = run(etcdlab()
        .current_dir(tmp.path())
        .args(["test", "missing", "--json"]));
    o.assert_code(2);
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON on stdout");
    assert_eq!(doc["exit_code"], 2);
    assert!(doc["error"]
        .as_str()
        .unwrap()
        .contains("no such file or folder"));
    assert_eq!(doc["scenarios"].as_array().map(Vec::len), Some(0));
}

#[test]
fn the_users_etcd_settings_apply_to_every_scenario_under_its_own_keys() {
    let tmp = tempfile::tempdir().unwrap();
    user_folder(&tmp.path().join("sc"));
    etcdlab_test(tmp.path(), &[]).assert_code(0);
    let o = etcdlab_test(tmp.path(), &["--etcd-flags", "--heartbeat-interval=200"]);
    o.assert_code(1);
    assert!(
        o.stderr
            .contains("+    \"cluster.heartbeat_interval_ms=200\""),
        "{}",
        o.describe()
    );
    assert!(o
        .stderr
        .contains("0 passed, 0 new snapshots, 0 accepted, 2 failed"));
    let o = etcdlab_test(tmp.path(), &["--etcd-flags", "--heartbeat-intervl=200"]);
    o.assert_code(2);
    assert!(o
        .stderr
        .contains("unknown etcd setting `heartbeat-intervl`"));
}
