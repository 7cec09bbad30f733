//! A second opinion on the linearizability checker: porcupine (the checker etcd's robustness
//! tests use), with the etcd model of `scripts/porcupine/`, must give the same verdict as
//! `etcdlab check` on the hand-written histories of `crates/check/tests/histories.rs` (and a
//! few more), on a cheap shipped scenario's history, and on the injected-bug run of
//! `tests/injected_bugs.rs` (a failure in both).
//!
//! Needs Go and a porcupine source folder (`git clone https://github.com/anishathalye/porcupine`)
//! named by `ETCDLAB_PORCUPINE_SRC`; without either, each test says SKIPPED loudly and passes.
//! See docs/checkers.md, "Cross-check with porcupine".

mod common;

use common::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Says why a test did not run, straight to stderr: the test harness hides eprintln! output
/// of passing tests.
fn skipped(test: &str, why: &str) {
    use std::io::Write;
    let stars = "*".repeat(65);
    let _ = write!(
        std::io::stderr(),
        "\n{stars}\nSKIPPED: {test}: {why}; the porcupine cross-check did NOT run \
         (docs/checkers.md, \"Cross-check with porcupine\")\n{stars}\n\n"
    );
}

/// The porcupine source folder, or None (after saying SKIPPED) when the cross-check cannot run.
fn porcupine_src(test: &str) -> Option<PathBuf> {
    let src = match std::env::var_os("ETCDLAB_PORCUPINE_SRC") {
        Some(s) if !s.is_empty() => PathBuf::from(s),
        _ => {
            skipped(
                test,
                "ETCDLAB_PORCUPINE_SRC is not set (a clone of https://github.com/anishathalye/porcupine)",
            );
            return None;
        }
    };
    if Command::new("go").arg("version").output().is_err() {
        skipped(
            test,
            "`go` is not installed (Debian: apt-get install golang-go)",
        );
        return None;
    }
    assert!(
        src.join("go.mod").is_file(),
        "ETCDLAB_PORCUPINE_SRC={} is not porcupine's source (no go.mod)",
        src.display()
    );
    Some(src)
}

/// `etcdlab check`'s verdict on a history: `pass`, `fail` or `undecided`.
fn ours(history: &Path) -> &'static str {
    let o = etcdlab_run(["check".as_ref(), history.as_os_str()]);
    o.assert_no_panic();
    match o.code {
        Some(0) => "pass",
        Some(3) => "fail",
        Some(4) => "undecided",
        _ => panic!("etcdlab check gave no verdict\n{}", o.describe()),
    }
}

/// porcupine's verdict on each history, by path, from one run of scripts/porcupine-check.sh
/// (the Go program is built once); with the whole output, for messages.
fn porcupine(
    src: &Path,
    flags: &[&str],
    histories: &[PathBuf],
) -> (BTreeMap<PathBuf, String>, String) {
    let o = run(Command::new("bash")
        .arg(repo_root().join("scripts/porcupine-check.sh"))
        .arg(src)
        .args(["-timeout", "90s"])
        .args(flags)
        .args(histories)
        .current_dir(repo_root()));
    assert!(
        matches!(o.code, Some(0 | 3 | 4)),
        "the porcupine cross-check gave no verdicts\n{}",
        o.describe()
    );
    let mut verdicts = BTreeMap::new();
    for h in histories {
        let prefix = format!("{}: ", h.display());
        let line = o
            .stdout
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no verdict for {}\n{}", h.display(), o.describe()));
        let verdict = line[prefix.len()..].split(' ').next().unwrap().to_string();
        verdicts.insert(h.clone(), verdict);
    }
    (verdicts, o.describe())
}

/// Both checkers on `histories`; panics listing every history they disagree on, or whose
/// verdict is not the expected one (None: either). `pure`: porcupine also runs with the plain
/// model (no narrowed intervals, no pruning: see scripts/porcupine/), which must agree too.
fn assert_agree(src: &Path, histories: &[(PathBuf, Option<&str>)], pure: bool) {
    let paths: Vec<PathBuf> = histories.iter().map(|(p, _)| p.clone()).collect();
    let (theirs, mut output) = porcupine(src, &[], &paths);
    let plain = pure.then(|| {
        let (v, o) = porcupine(src, &["-tighten=false", "-prune=false"], &paths);
        output.push_str(&o);
        v
    });
    let mut problems = Vec::new();
    for (path, expected) in histories {
        let ours = ours(path);
        let theirs = &theirs[path];
        if ours != theirs {
            problems.push(format!(
                "DISAGREE on {}: etcdlab check says {ours}, porcupine says {theirs}\n{}",
                path.display(),
                fs::read_to_string(path).unwrap_or_default()
            ));
        } else if expected.is_some_and(|e| e != ours) {
            problems.push(format!(
                "{}: both say {ours}, expected {}",
                path.display(),
                expected.unwrap()
            ));
        }
        if let Some(plain) = &plain {
            if &plain[path] != theirs {
                problems.push(format!(
                    "porcupine's plain model says {} on {}, its pruned one {theirs}\n{}",
                    plain[path],
                    path.display(),
                    fs::read_to_string(path).unwrap_or_default()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}\n{output}", problems.join("\n"));
    eprint!("{output}");
}

const PUT_A: &str = r#"{"id":1,"client":"c1","call_ns":0,"return_ns":10,"op":"put","key":"k","value":"a","revision":2}"#;
const PUT_B: &str = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","revision":3}"#;

/// The hand-written histories: (name, lines, expected verdict). Those of
/// crates/check/tests/histories.rs first, then a few that exercise the rest of the format.
fn hand_written() -> Vec<(&'static str, Vec<&'static str>, &'static str)> {
    let get_b = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"b","revision":3}"#;
    let get_a = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":2}"#;
    let get_a_new_rev = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":3}"#;
    let slow_put = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":60,"op":"put","key":"k","value":"b","revision":3}"#;
    let get_a_concurrent = r#"{"id":3,"client":"c2","call_ns":30,"return_ns":40,"op":"get","key":"k","value":"a","revision":2}"#;
    let get_b_concurrent = r#"{"id":4,"client":"c3","call_ns":30,"return_ns":40,"op":"get","key":"k","value":"b","revision":3}"#;
    let get_a_later = r#"{"id":5,"client":"c2","call_ns":45,"return_ns":50,"op":"get","key":"k","value":"a","revision":2}"#;
    let get_none =
        r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","revision":3}"#;
    let get_z = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"z","revision":3}"#;
    let put_c_rev_back = r#"{"id":3,"client":"c1","call_ns":40,"return_ns":50,"op":"put","key":"j","value":"c","revision":3}"#;
    let cas1 = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_value":"a","value":"b","succeeded":true,"revision":3}"#;
    let cas2 = r#"{"id":3,"client":"c2","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_value":"a","value":"c","succeeded":true,"revision":4}"#;
    let cas2_lost = r#"{"id":3,"client":"c2","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_value":"a","value":"c","succeeded":false,"revision":3}"#;
    let timed_out = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"context deadline exceeded"}"#;
    let get_b_after = r#"{"id":4,"client":"c2","call_ns":60,"return_ns":70,"op":"get","key":"k","value":"b","revision":3}"#;
    let get_a_again = r#"{"id":5,"client":"c2","call_ns":80,"return_ns":90,"op":"get","key":"k","value":"a","revision":3}"#;
    let not_applied = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"etcdserver: request timed out","applied":false}"#;
    let refused = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"etcdserver: mvcc: database space exceeded"}"#;
    let get_a_rev9 = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":9}"#;
    let del = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"delete","key":"k","revision":3}"#;
    let era1_put_c = r#"{"id":3,"client":"c1","call_ns":40,"return_ns":50,"op":"put","key":"k","value":"c","revision":3,"era":1}"#;
    let era1_get_a = r#"{"id":4,"client":"c1","call_ns":35,"return_ns":38,"op":"get","key":"k","value":"a","revision":2,"era":1}"#;
    let era0_get_a = r#"{"id":4,"client":"c1","call_ns":35,"return_ns":38,"op":"get","key":"k","value":"a","revision":2}"#;
    // Beyond histories.rs: a write the log found applied sits at its revision; one never
    // answered is maybe applied; other writes; failed and serializable reads are left out.
    let applied_at_4 = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"etcdserver: request timed out","applied":true,"revision":4}"#;
    let get_b_rev3 = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"b","revision":3}"#;
    let get_a_rev3 = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":3}"#;
    let get_b_rev4 = r#"{"id":4,"client":"c2","call_ns":60,"return_ns":70,"op":"get","key":"k","value":"b","revision":4}"#;
    let unanswered = r#"{"id":2,"client":"c1","call_ns":20,"op":"put","key":"k","value":"b"}"#;
    let other_write =
        r#"{"id":5,"client":"w","call_ns":12,"return_ns":15,"op":"write","revision":7}"#;
    let get_a_rev6 = r#"{"id":6,"client":"c2","call_ns":20,"return_ns":25,"op":"get","key":"k","value":"a","revision":6}"#;
    let failed_get = r#"{"id":7,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","error":"context deadline exceeded"}"#;
    let serializable_stale = r#"{"id":8,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":2,"serializable":true}"#;
    let create_if_absent = r#"{"id":9,"client":"c3","call_ns":40,"return_ns":50,"op":"txn","key":"j","value":"x","succeeded":true,"revision":4}"#;
    let create_if_absent_again = r#"{"id":10,"client":"c3","call_ns":60,"return_ns":70,"op":"txn","key":"j","value":"y","succeeded":true,"revision":5}"#;
    let update_won = r#"{"id":4,"client":"c4","call_ns":60,"return_ns":70,"op":"txn","key":"k","expect_mod_revision":3,"value":"c","else_get":true,"succeeded":true,"revision":4}"#;
    let update_also_won = r#"{"id":5,"client":"c5","call_ns":60,"return_ns":70,"op":"txn","key":"k","expect_mod_revision":3,"value":"d","else_get":true,"succeeded":true,"revision":5}"#;
    let update_lost_saw_c = r#"{"id":5,"client":"c5","call_ns":60,"return_ns":70,"op":"txn","key":"k","expect_mod_revision":3,"value":"d","else_get":true,"succeeded":false,"else_value":"c","revision":4}"#;
    let update_lost_saw_b = r#"{"id":5,"client":"c5","call_ns":60,"return_ns":70,"op":"txn","key":"k","expect_mod_revision":3,"value":"d","else_get":true,"succeeded":false,"else_value":"b","revision":4}"#;
    let version_above_2 = r#"{"id":4,"client":"c4","call_ns":60,"return_ns":70,"op":"txn","key":"k","expect_version":2,"compare_result":">","value":"c","succeeded":true,"revision":4}"#;
    let not_created_at_3 = r#"{"id":4,"client":"c4","call_ns":60,"return_ns":70,"op":"txn","key":"k","expect_create_revision":3,"compare_result":"!=","value":"c","succeeded":true,"revision":4}"#;
    vec![
        (
            "optimistic-update-won-once",
            vec![PUT_A, PUT_B, update_won, update_lost_saw_c],
            "pass",
        ),
        (
            "optimistic-update-won-twice",
            vec![PUT_A, PUT_B, update_won, update_also_won],
            "fail",
        ),
        (
            "optimistic-update-lost-read-stale",
            vec![PUT_A, PUT_B, update_won, update_lost_saw_b],
            "fail",
        ),
        (
            "version-above-2-of-2",
            vec![PUT_A, PUT_B, version_above_2],
            "fail",
        ),
        (
            "not-created-at-3",
            vec![PUT_A, PUT_B, not_created_at_3],
            "pass",
        ),
        ("fresh-read", vec![PUT_A, PUT_B, get_b], "pass"),
        ("stale-read", vec![PUT_A, PUT_B, get_a], "fail"),
        (
            "stale-read-at-new-revision",
            vec![PUT_A, PUT_B, get_a_new_rev],
            "fail",
        ),
        (
            "concurrent-read-old",
            vec![PUT_A, slow_put, get_a_concurrent],
            "pass",
        ),
        (
            "concurrent-read-new",
            vec![PUT_A, slow_put, get_b_concurrent],
            "pass",
        ),
        (
            "new-then-old",
            vec![PUT_A, slow_put, get_b_concurrent, get_a_later],
            "fail",
        ),
        (
            "lost-acknowledged-write",
            vec![PUT_A, PUT_B, get_none],
            "fail",
        ),
        ("value-never-written", vec![PUT_A, PUT_B, get_z], "fail"),
        ("revision-back", vec![PUT_A, PUT_B, put_c_rev_back], "fail"),
        ("cas-succeeded-twice", vec![PUT_A, cas1, cas2], "fail"),
        ("cas-one-wins", vec![PUT_A, cas1, cas2_lost], "pass"),
        (
            "maybe-applied-unseen",
            vec![PUT_A, timed_out, get_a],
            "pass",
        ),
        ("maybe-applied-seen", vec![PUT_A, timed_out, get_b], "pass"),
        (
            "maybe-applied-seen-late",
            vec![PUT_A, timed_out, get_a, get_b_after],
            "pass",
        ),
        (
            "maybe-applied-unseen-after-seen",
            vec![PUT_A, timed_out, get_b_after, get_a_again],
            "fail",
        ),
        (
            "not-applied-seen",
            vec![PUT_A, not_applied, get_b_after],
            "fail",
        ),
        (
            "definite-error-seen",
            vec![PUT_A, refused, get_b_after],
            "fail",
        ),
        ("other-writes-advance", vec![PUT_A, get_a_rev9], "pass"),
        ("delete-then-absent", vec![PUT_A, del, get_none], "pass"),
        (
            "delete-then-present",
            vec![PUT_A, del, get_a_new_rev],
            "fail",
        ),
        (
            "era-starts-over",
            vec![PUT_A, PUT_B, era1_get_a, era1_put_c],
            "pass",
        ),
        ("same-era-goes-back", vec![PUT_A, PUT_B, era0_get_a], "fail"),
        (
            "applied-seen-below-its-revision",
            vec![PUT_A, applied_at_4, get_b_rev3],
            "fail",
        ),
        (
            "applied-after-a-read",
            vec![PUT_A, applied_at_4, get_a_rev3, get_b_rev4],
            "pass",
        ),
        (
            "unanswered-seen",
            vec![PUT_A, unanswered, get_b_after],
            "pass",
        ),
        (
            "other-write-then-read-below-it",
            vec![PUT_A, other_write, get_a_rev6],
            "fail",
        ),
        (
            "failed-and-serializable-reads-left-out",
            vec![PUT_A, PUT_B, failed_get, serializable_stale],
            "pass",
        ),
        (
            "create-if-absent",
            vec![PUT_A, PUT_B, create_if_absent],
            "pass",
        ),
        (
            "create-if-absent-twice",
            vec![PUT_A, PUT_B, create_if_absent, create_if_absent_again],
            "fail",
        ),
    ]
}

#[test]
fn porcupine_agrees_on_the_hand_written_histories() {
    let Some(src) = porcupine_src("porcupine_agrees_on_the_hand_written_histories") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let histories: Vec<(PathBuf, Option<&str>)> = hand_written()
        .into_iter()
        .map(|(name, lines, expected)| {
            let path = tmp.path().join(format!("{name}.jsonl"));
            fs::write(&path, lines.join("\n") + "\n").unwrap();
            (path, Some(expected))
        })
        .collect();
    assert_agree(&src, &histories, true);
}

/// Shipped scenarios cheap to run whose histories porcupine decides in about a second each
/// (docs/checkers.md lists the timings), with the verdict expected: after the two restores of
/// `incident-3-restore-mismatch` clients see the revision jump between two histories.
const SHIPPED: &[(&str, &str)] = &[
    ("compaction-too-aggressive", "pass"),
    ("follower-stall", "pass"),
    ("leader-stall-failover", "pass"),
    ("nospace-ground-truth", "pass"),
    ("reads-during-leader-stall", "pass"),
    ("single-member-crash", "pass"),
    ("watch-resume-at-compact-revision", "pass"),
    ("compaction-crash", "pass"),
    ("optimistic-updates-partitioned-leader", "pass"),
    ("incident-3-restore-mismatch", "fail"),
];

#[test]
fn porcupine_agrees_on_shipped_scenarios() {
    let Some(src) = porcupine_src("porcupine_agrees_on_shipped_scenarios") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let histories = parallel_map(SHIPPED, |(scenario, expected)| {
        let out = tmp.path().join(scenario);
        let o = etcdlab_run([
            "run".as_ref(),
            format!("scenarios/{scenario}.toml").as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        o.assert_code(0);
        (out.join("history.jsonl"), Some(*expected))
    });
    assert_agree(&src, &histories, false);
}

/// The injected-bug runs of tests/injected_bugs.rs that break linearizability: both checkers
/// must find them (stale reads after a pause; a write acknowledged before its fsync and lost in
/// a crash, its revision given again).
#[test]
fn porcupine_agrees_on_the_injected_bugs() {
    let Some(src) = porcupine_src("porcupine_agrees_on_the_injected_bugs") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let bugs = [
        ("stale-read-after-pause", "reads-during-leader-stall"),
        ("lost-write-on-crash", "single-member-crash"),
        ("revision-back-after-compaction-crash", "compaction-crash"),
    ];
    let histories = parallel_map(&bugs, |(bug, scenario)| {
        let out = tmp.path().join(bug);
        let o = run(etcdlab()
            .env("ETCDLAB_INJECT_BUG", bug)
            .arg("run")
            .arg(format!("scenarios/{scenario}.toml"))
            .arg("--out")
            .arg(&out));
        o.assert_code(3);
        (out.join("history.jsonl"), Some("fail"))
    });
    assert_agree(&src, &histories, false);
}

/// A small deterministic random number generator (xorshift64*), for the random histories.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A random small history: operations on two keys run against etcd's model one after another
/// (with other writers now and then advancing the revision), each given an interval around
/// its instant; some writes fail (applied or not, the log saying so or not); then, for about
/// half of them, a few fields are changed (a read's value, a revision, a txn's outcome, a call
/// time, a failed write's fate), which usually makes them not linearizable.
fn random_history(seed: u64) -> String {
    use serde_json::{json, Value};
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let n = 3 + r.below(10);
    // Per key: value, create revision, mod revision, version.
    let mut store: BTreeMap<&str, (String, i64, i64, i64)> = BTreeMap::new();
    let mut rev: i64 = 1;
    let mut ops: Vec<Value> = Vec::new();
    let mut at = 0;
    for id in 1..=n {
        at += 1 + r.below(12);
        let kind = ["put", "put", "get", "get", "delete", "txn", "write"][r.below(7) as usize];
        let key = ["k", "j"][r.below(2) as usize];
        let mut o = json!({"id": id, "client": format!("c{}", r.below(3)),
            "call_ns": at.saturating_sub(r.below(40)), "op": kind});
        let mut ret = Some(at + r.below(40));
        if r.chance(20) {
            rev += 1 + r.below(2) as i64; // other writers
        }
        let failed = kind != "get" && r.chance(30);
        let applied = !failed || r.chance(50);
        if kind != "write" {
            o["key"] = json!(key);
        }
        let value = format!("v{id}");
        match kind {
            "put" => {
                o["value"] = json!(value);
                if applied {
                    rev += 1;
                    put(&mut store, key, value, rev);
                }
            }
            "get" => {
                if let Some((v, ..)) = store.get(key) {
                    o["value"] = json!(v);
                }
            }
            "delete" => {
                if applied && store.remove(key).is_some() {
                    rev += 1;
                }
            }
            "txn" => {
                o["value"] = json!(value);
                let holds = random_compare(&mut r, &mut o, store.get(key), n);
                if applied && holds {
                    rev += 1;
                    put(&mut store, key, value, rev);
                }
                o["succeeded"] = json!(holds);
                if r.chance(50) {
                    o["else_get"] = json!(true);
                    if let (false, Some((v, ..))) = (holds, store.get(key)) {
                        o["else_value"] = json!(v);
                    }
                }
            }
            _ => {
                if applied && r.chance(50) {
                    rev += 1;
                }
            }
        }
        o["revision"] = json!(rev);
        if failed {
            let errors: &[&str] = if applied {
                &["context deadline exceeded", "etcdserver: request timed out"]
            } else {
                &[
                    "context deadline exceeded",
                    "etcdserver: request timed out",
                    "etcdserver: mvcc: database space exceeded",
                ]
            };
            o["error"] = json!(errors[r.below(errors.len() as u64) as usize]);
            let told = r.chance(40);
            if told {
                o["applied"] = json!(applied);
            }
            if !(told && applied && r.chance(70)) {
                o.as_object_mut().unwrap().remove("revision");
            }
            if kind == "txn" && r.chance(50) {
                o.as_object_mut().unwrap().remove("succeeded");
            }
            if r.chance(30) {
                ret = None;
            }
        }
        if let Some(t) = ret {
            o["return_ns"] = json!(t);
        }
        ops.push(o);
    }
    for _ in 0..[0, 0, 1, 1, 2][r.below(5) as usize] {
        let i = r.below(n) as usize;
        let o = &mut ops[i];
        match r.below(5) {
            0 if o.get("else_value").is_some() => {
                o["else_value"] = json!(format!("v{}", 1 + r.below(n)));
            }
            0 if o["op"] == "get" => {
                if o.get("value").is_some() && r.chance(50) {
                    o.as_object_mut().unwrap().remove("value");
                } else {
                    o["value"] = json!(format!("v{}", 1 + r.below(n)));
                }
            }
            1 if o.get("revision").is_some() => {
                let v = o["revision"].as_i64().unwrap() + if r.chance(50) { 1 } else { -1 };
                o["revision"] = json!(v);
            }
            2 if o.get("succeeded").is_some() => {
                let v = !o["succeeded"].as_bool().unwrap();
                o["succeeded"] = json!(v);
            }
            3 => {
                let call = r.below(at + 40);
                o["call_ns"] = json!(call);
                if o["return_ns"].as_u64().is_some_and(|t| t < call) {
                    o["return_ns"] = json!(call + r.below(20));
                }
            }
            4 if o.get("applied").is_some() => {
                let v = !o["applied"].as_bool().unwrap();
                o["applied"] = json!(v);
            }
            _ => {}
        }
    }
    if r.chance(15) {
        let cut = r.below(n) as usize;
        for o in &mut ops[cut..] {
            o["era"] = json!(1);
        }
    }
    // In no particular order (a history's lines need not be sorted).
    for i in (1..ops.len()).rev() {
        ops.swap(i, r.below(i as u64 + 1) as usize);
    }
    ops.iter().map(|o| format!("{o}\n")).collect()
}

/// A put of `value` to `key` that made revision `rev`.
fn put<'k>(
    store: &mut BTreeMap<&'k str, (String, i64, i64, i64)>,
    key: &'k str,
    value: String,
    rev: i64,
) {
    let entry = match store.get(key) {
        Some((_, create, _, version)) => (value, *create, rev, version + 1),
        None => (value, rev, rev, 1),
    };
    store.insert(key, entry);
}

/// A random txn compare on a key (`kv`: value, create, mod revision, version; None: it does
/// not exist), written into `o`; whether it holds, as etcd's applyCompare decides.
fn random_compare(
    r: &mut Rng,
    o: &mut serde_json::Value,
    kv: Option<&(String, i64, i64, i64)>,
    n: u64,
) -> bool {
    use serde_json::json;
    let results = ["=", "!=", ">", "<"];
    match r.below(5) {
        // A value: the key's own, another, or (no field) the key must not exist.
        0 | 1 => {
            let result = results[r.below(2) as usize];
            let expect = match (kv, r.below(3)) {
                (Some((v, ..)), 0) => Some(v.clone()),
                (_, 1) => Some(format!("v{}", 1 + r.below(n))),
                _ => None,
            };
            if result == "!=" {
                o["compare_result"] = json!(result);
            }
            let equal = match &expect {
                Some(e) => {
                    o["expect_value"] = json!(e);
                    match kv {
                        None => return false, // a value compare on a missing key
                        Some((v, ..)) => v == e,
                    }
                }
                None => kv.is_none(),
            };
            equal == (result == "=")
        }
        // A version, create or mod revision: the key's own, one off, or 0.
        t => {
            let (field, figure) = match (t, kv) {
                (2, _) => ("expect_version", kv.map_or(0, |k| k.3)),
                (3, _) => ("expect_create_revision", kv.map_or(0, |k| k.1)),
                _ => ("expect_mod_revision", kv.map_or(0, |k| k.2)),
            };
            let operand = match r.below(4) {
                0 => 0,
                1 => figure + 1,
                2 => (figure - 1).max(0),
                _ => figure,
            };
            let result = results[r.below(4) as usize];
            o[field] = json!(operand);
            if result != "=" {
                o["compare_result"] = json!(result);
            }
            match result {
                "=" => figure == operand,
                "!=" => figure != operand,
                ">" => figure > operand,
                _ => figure < operand,
            }
        }
    }
}

/// Random small histories (see random_history), linearizable and not: both checkers, and
/// porcupine with its plain model, must agree on every one.
#[test]
fn porcupine_agrees_on_random_small_histories() {
    let Some(src) = porcupine_src("porcupine_agrees_on_random_small_histories") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let histories: Vec<(PathBuf, Option<&str>)> = (0..400)
        .map(|seed| {
            let path = tmp.path().join(format!("random-{seed:03}.jsonl"));
            fs::write(&path, random_history(seed)).unwrap();
            (path, None)
        })
        .collect();
    assert_agree(&src, &histories, true);
    // Not all alike: both verdicts occur.
    let verdicts: Vec<&str> = histories.iter().map(|(p, _)| ours(p)).collect();
    for v in ["pass", "fail"] {
        assert!(
            verdicts.iter().filter(|x| **x == v).count() > 40,
            "too few random histories {v}: {verdicts:?}"
        );
    }
}
