//! `etcdlab sweep` and `sweep-merge`, end to end on small, short grids: outputs do not depend
//! on --jobs, merged shards equal the unsharded run byte for byte, skipped combinations are
//! reported, failing expectations exit 1 with replay commands, bad paths exit 2, a declared
//! `[sweep]` runs bare, and a replayed cell gives the same trace.

mod common;

use common::*;
use std::ffi::OsString;
use std::fs;
use std::path::Path;

const SCENARIO: &str = "scenarios/baseline-ssd.toml";

/// A 6-point grid (one point rejected: 300 ms < 5 x 100 ms) x 3 seeds of 10 s runs.
fn grid_args(out: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "sweep",
        SCENARIO,
        "--set",
        "duration=15s",
        "--set",
        "workload.writes_per_s=100",
        "--param",
        "cluster.election_timeout_ms=300,1000,2000",
        "--param",
        "cluster.heartbeat_interval_ms=50..100:50",
        "--seeds",
        "3",
        "--out",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(out.as_os_str().to_owned());
    args.extend(extra.iter().map(OsString::from));
    args
}

const FILES: &[&str] = &[
    "sweep.csv",
    "sweep.json",
    "aggregate.csv",
    "report.md",
    "report.html",
    "heatmap-leader-changes.png",
    "heatmap-write-p99.png",
    "heatmap-expect-failures.png",
];

fn assert_same_files(a: &Path, b: &Path, what: &str) {
    let (fa, fb) = (read_files(a), read_files(b));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{what}: different file sets"
    );
    for (name, bytes) in &fa {
        assert!(bytes == &fb[name], "{what}: {name} differs");
    }
}

#[test]
fn jobs_and_shards_do_not_change_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("jobs1");
    let two = tmp.path().join("jobs2");
    etcdlab_run(grid_args(&one, &["--jobs", "1"])).assert_code(0);
    etcdlab_run(grid_args(&two, &["--jobs", "2"])).assert_code(0);
    for f in FILES {
        assert!(one.join(f).is_file(), "{f} not written");
    }
    assert_same_files(&one, &two, "--jobs 1 vs --jobs 2");

    // Shards 1/3..3/3, then merged: byte-identical to the unsharded run.
    let mut merge: Vec<OsString> = vec!["sweep-merge".into()];
    for i in 1..=3 {
        let dir = tmp.path().join(format!("shard{i}"));
        let shard = format!("{i}/3");
        etcdlab_run(grid_args(&dir, &["--shard", &shard, "--jobs", "1"])).assert_code(0);
        // A shard's report has no verdict of its own: its points have only some seeds.
        let report = fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            report.contains("**Verdict:** none yet: this is one shard"),
            "{report}"
        );
        merge.push(dir.into_os_string());
    }
    let merged = tmp.path().join("merged");
    merge.extend(["--out".into(), merged.clone().into_os_string()]);
    etcdlab_run(merge.clone()).assert_code(0);
    assert_same_files(&one, &merged, "merged shards vs unsharded");

    // A missing shard is an error, not a silently smaller table.
    let partial: Vec<OsString> = vec![
        "sweep-merge".into(),
        tmp.path().join("shard1").into_os_string(),
        "--out".into(),
        tmp.path().join("partial").into_os_string(),
    ];
    let out = etcdlab_run(partial);
    out.assert_code(2);
    assert!(
        out.stderr.contains("missing shard(s): 2/3, 3/3"),
        "{}",
        out.describe()
    );

    // The rejected combination is a row with its reason, and the report lists it.
    let csv = fs::read_to_string(one.join("sweep.csv")).unwrap();
    let skipped: Vec<&str> = csv.lines().filter(|l| l.contains(",skipped,")).collect();
    assert_eq!(skipped.len(), 1, "{csv}");
    assert!(skipped[0].starts_with("1,300,100,"), "{}", skipped[0]);
    assert!(
        skipped[0].contains("below 5 x heartbeat_interval_ms"),
        "{}",
        skipped[0]
    );
    assert_eq!(csv.lines().filter(|l| l.contains(",ok,")).count(), 5 * 3);
    let report = fs::read_to_string(one.join("report.md")).unwrap();
    assert!(report.contains("## Skipped"), "{report}");
    assert!(report.contains("Cheapest setting in it"), "{report}");

    // Any cell replays alone: the same trace as `etcdlab run --seed S --set ...`.
    let row = csv
        .lines()
        .find(|l| l.starts_with("3,1000,100,2,"))
        .unwrap();
    let hash = row.split(',').nth(5).unwrap();
    let run_out = tmp.path().join("replay");
    etcdlab_run([
        "run",
        SCENARIO,
        "--seed",
        "2",
        "--set",
        "duration=15s",
        "--set",
        "workload.writes_per_s=100",
        "--set",
        "cluster.election_timeout_ms=1000",
        "--set",
        "cluster.heartbeat_interval_ms=100",
        "--out",
        run_out.to_str().unwrap(),
    ])
    .assert_code(0);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run_out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["trace_hash"].as_str(), Some(hash));
}

#[test]
fn a_declared_sweep_runs_bare_and_a_failing_expectation_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("declared.toml");
    fs::write(
        &file,
        r#"
duration = "5s"
[workload]
writes_per_s = 100
[[expect]]
writes_ok = { max = 450 }   # fails for most seeds: about 500 writes in 5 s
[sweep]
seeds = 2
params = { "cluster.size" = [1, 3] }
"#,
    )
    .unwrap();
    let out_dir = tmp.path().join("out");
    let out = etcdlab_run([
        "sweep".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("FAIL cluster.size = "),
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("replay: etcdlab run ")
            && out.stderr.contains(" --seed ")
            && out.stderr.contains("--set cluster.size="),
        "{}",
        out.describe()
    );
    // Written either way: 2 points x 2 seeds.
    let csv = fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert!(csv.contains("expect: writes_ok <= 450"), "{csv}");
    assert!(csv.contains(",fail"), "{csv}");

    // --seeds overrides the declared count.
    let out_dir = tmp.path().join("one-seed");
    let out = etcdlab_run([
        "sweep".as_ref(),
        file.as_os_str(),
        "--seeds".as_ref(),
        "1".as_ref(),
        "--out".as_ref(),
        out_dir.as_os_str(),
    ]);
    out.assert_no_panic();
    let csv = fs::read_to_string(out_dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2, "{csv}");
}

#[test]
fn bad_input_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let out = etcdlab_run([
        "sweep",
        SCENARIO,
        "--param",
        "cluster.electon_timeout_ms=500,1000",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("cluster.electon_timeout_ms"),
        "{}",
        out.describe()
    );
    for bad in [
        vec!["--param", "cluster.size"],
        vec!["--param", "cluster.size=1..5"],
        vec!["--param", "cluster.size=3", "--shard", "4/3"],
    ] {
        let mut args = vec!["sweep", SCENARIO];
        args.extend(bad.iter().copied());
        etcdlab_run(args).assert_code(2);
    }
    // Nothing to sweep.
    let out = etcdlab_run(["sweep", SCENARIO]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("nothing to sweep"),
        "{}",
        out.describe()
    );
}

/// A run whose clients' history fails a checker is a violation in a sweep (status
/// `violation`, exit 3), as it is for `etcdlab run`; a scenario that expects the failure
/// (`[[expect]] client_check_failures`) keeps its runs `ok`. incident-3's mismatched restore
/// serves two histories at once, which the linearizability checker finds.
#[test]
fn a_failed_checker_is_a_violation_unless_expected() {
    let tmp = tempfile::tempdir().unwrap();
    let shipped = "scenarios/incident-3-restore-mismatch.toml";
    let text = fs::read_to_string(repo_root().join(shipped)).unwrap();
    let expectation = "client_check_failures = 1";
    assert!(text.contains(expectation), "{shipped} expects its failure");
    let unexpected = tmp.path().join("unexpected.toml");
    fs::write(
        &unexpected,
        text.replace(expectation, "writes_ok = { min = 1 }"),
    )
    .unwrap();
    let sweeps = [(repo_root().join(shipped), 0), (unexpected, 3)];
    let outcomes = parallel_map(&sweeps, |(file, _)| {
        let out_dir = file.with_extension("out");
        let out = etcdlab_run([
            "sweep".as_ref(),
            file.as_os_str(),
            "--param".as_ref(),
            "cluster.heartbeat_interval_ms=100".as_ref(),
            "--seeds".as_ref(),
            "1".as_ref(),
            "--out".as_ref(),
            tmp.path().join(out_dir.file_name().unwrap()).as_os_str(),
        ]);
        let csv = fs::read_to_string(
            tmp.path()
                .join(out_dir.file_name().unwrap())
                .join("sweep.csv"),
        )
        .unwrap_or_default();
        (out, csv)
    });
    let ((expected_out, expected_csv), (unexpected_out, unexpected_csv)) =
        (&outcomes[0], &outcomes[1]);
    expected_out.assert_code(sweeps[0].1);
    assert!(expected_csv.contains(",ok,"), "{expected_csv}");
    unexpected_out.assert_code(sweeps[1].1);
    assert!(
        unexpected_csv.contains(",violation,")
            && unexpected_csv.contains("checker linearizability failed"),
        "{unexpected_csv}"
    );
}
