//! Every shipped scenario, end to end: it passes its own `[[expect]]`s, and its output equals
//! the committed `reports/<name>/` and the insta snapshot of its summary.json, byte for byte:
//! a run made earlier, on another machine, by another process. A set of scenarios that
//! together use every part of the lab (`RUN_TWICE`) is also run twice here and the two runs
//! compared file by file, `history.jsonl` included (it is not committed). Regenerate the
//! reports with `scripts/regen-reports.sh`.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

const REGEN: &str = "if the change is intended, run `scripts/regen-reports.sh` from the \
                     repository root and commit reports/ and tests/snapshots/";

struct Job {
    scenario: PathBuf,
    out: PathBuf,
}

/// Scenarios run twice in the test, so that two runs in one place are compared too, history
/// included: faults and `[traffic]`, Kubernetes with watches and compaction, a watch across a
/// raft snapshot, a crash of a single member, the quota and its alarm, a restore. (Running
/// every scenario twice doubled the suite's longest test; every scenario's run is compared
/// with the committed reports anyway.)
const RUN_TWICE: &[&str] = &[
    "traffic-through-crashes-and-partitions",
    "compaction-too-aggressive",
    "watch-on-partitioned-member",
    "single-member-crash",
    "nospace-ground-truth",
    "restore-drill",
];

#[test]
fn shipped_scenarios_are_deterministic_pass_and_match_committed_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let scenarios = shipped_scenarios();
    let stems: BTreeSet<String> = (scenarios.iter())
        .map(|sc| sc.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in RUN_TWICE {
        assert!(
            stems.contains(*name),
            "RUN_TWICE names {name}, which is not shipped"
        );
    }
    // Each scenario once (those of RUN_TWICE twice), spread over the cores.
    let jobs: Vec<Job> = scenarios
        .iter()
        .flat_map(|sc| {
            let stem = sc.file_stem().unwrap().to_string_lossy().into_owned();
            let runs = if RUN_TWICE.contains(&stem.as_str()) {
                2
            } else {
                1
            };
            let tmp = tmp.path();
            (1..=runs).map(move |i| Job {
                scenario: sc.clone(),
                out: tmp.join(format!("{stem}-run{i}")),
            })
        })
        .collect();
    let outcomes = parallel_map(&jobs, |job| {
        etcdlab_run([
            "run".as_ref(),
            job.scenario.as_os_str(),
            "--out".as_ref(),
            job.out.as_os_str(),
        ])
    });

    let mut failures: Vec<String> = Vec::new();
    let mut names = BTreeSet::new();
    let mut start = 0;
    while start < jobs.len() {
        let same = (jobs[start..].iter())
            .take_while(|j| j.scenario == jobs[start].scenario)
            .count();
        let (pair, runs) = (&jobs[start..start + same], &outcomes[start..start + same]);
        start += same;
        let scenario = pair[0].scenario.display().to_string();
        let mut usable = true;
        for run in runs {
            if run.stderr.contains("panicked") {
                failures.push(format!(
                    "{scenario}: the binary panicked\n{}",
                    run.describe()
                ));
            }
            if run.code != Some(0) {
                failures.push(format!(
                    "{scenario}: expected exit code 0 (all its [[expect]]s pass)\n{}",
                    run.describe()
                ));
                // Exit code 1 still writes the report; anything else does not.
                usable &= run.code == Some(1);
            }
        }
        if !usable {
            continue;
        }
        let dir1 = &pair[0].out;
        let files1 = read_files(dir1);
        for name in REPORT_FILES {
            if !files1.contains_key(name) {
                failures.push(format!("{scenario}: the run did not write {name}"));
            }
        }
        if let Some(second) = pair.get(1) {
            compare_runs(&scenario, &files1, &read_files(&second.out), &mut failures);
        }
        if !files1.contains_key("summary.json") {
            continue;
        }
        let name = summary(dir1)["scenario"]
            .as_str()
            .expect("summary.json: scenario is a string")
            .to_string();
        names.insert(name.clone());
        compare_with_committed(&scenario, &name, dir1, &mut failures);
        let text = String::from_utf8_lossy(&files1["summary.json"]).into_owned();
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| {
            insta::assert_snapshot!(name.as_str(), text);
        })) {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!(
                "{scenario}: summary.json differs from the snapshot \
                 tests/snapshots/shipped_scenarios__{name}.snap ({msg}); {REGEN}"
            ));
        }
    }

    // A folder in reports/ that no shipped scenario writes is stale.
    for entry in fs::read_dir(repo_root().join("reports"))
        .into_iter()
        .flatten()
    {
        let entry = entry.unwrap();
        let dir = entry.file_name().to_string_lossy().into_owned();
        // reports/sweep-*/ hold the shipped sweeps' outputs (`etcdlab sweep`, docs/sweeps.md).
        if entry.file_type().unwrap().is_dir()
            && !names.contains(&dir)
            && !dir.starts_with("sweep-")
        {
            failures.push(format!(
                "reports/{dir}/ belongs to no shipped scenario; {REGEN}"
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "{} problem(s) with the shipped scenarios:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Two runs of one scenario with the same seed wrote the same files, byte for byte.
fn compare_runs(
    scenario: &str,
    files1: &std::collections::BTreeMap<String, Vec<u8>>,
    files2: &std::collections::BTreeMap<String, Vec<u8>>,
    failures: &mut Vec<String>,
) {
    if files1.keys().ne(files2.keys()) {
        failures.push(format!(
            "{scenario}: two runs with the same seed wrote different file sets: {:?} vs {:?}",
            files1.keys().collect::<Vec<_>>(),
            files2.keys().collect::<Vec<_>>()
        ));
    }
    for (file, bytes) in files1 {
        if let Some(other) = files2.get(file) {
            if bytes != other {
                failures.push(format!(
                    "{scenario}: not deterministic: {file} differs between two runs with \
                     the same seed; {}",
                    first_difference(bytes, other)
                ));
            }
        }
    }
}

/// The clients' history: compared between the two runs, not committed (hundreds of MB for the
/// long scenarios; `reports/.gitignore`). Its checkers' verdicts and counts are in
/// summary.json, which is.
const UNCOMMITTED: &str = "history.jsonl";

/// Compares a fresh run's files with the committed `reports/<name>/`.
fn compare_with_committed(scenario: &str, name: &str, fresh: &Path, failures: &mut Vec<String>) {
    let committed_dir = repo_root().join("reports").join(name);
    let mut committed = read_files(&committed_dir);
    let mut fresh = read_files(fresh);
    committed.remove(UNCOMMITTED);
    fresh.remove(UNCOMMITTED);
    if committed.is_empty() {
        failures.push(format!(
            "{scenario}: reports/{name}/ is missing or empty; {REGEN}"
        ));
        return;
    }
    for (file, bytes) in &fresh {
        match committed.get(file) {
            None => failures.push(format!(
                "{scenario}: reports/{name}/{file} is missing (a run writes it); {REGEN}"
            )),
            Some(old) if old != bytes => failures.push(format!(
                "{scenario}: reports/{name}/{file} differs from a fresh run; {}\n{REGEN}",
                first_difference(old, bytes)
            )),
            Some(_) => {}
        }
    }
    for file in committed.keys().filter(|f| !fresh.contains_key(*f)) {
        failures.push(format!(
            "{scenario}: reports/{name}/{file} is stale (a run no longer writes it); {REGEN}"
        ));
    }
}

#[test]
fn another_seed_gives_another_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let seeds = ["1", "2"];
    let outs = parallel_map(&seeds, |seed| {
        let out = tmp.path().join(format!("seed{seed}"));
        let o = etcdlab_run([
            "run".as_ref(),
            "scenarios/follower-stall.toml".as_ref(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ]);
        (o, out)
    });
    let mut hashes = Vec::new();
    for (seed, (outcome, dir)) in seeds.iter().zip(&outs) {
        assert!(
            matches!(outcome.code, Some(0 | 1)),
            "follower-stall --seed {seed} did not finish\n{}",
            outcome.describe()
        );
        outcome.assert_no_panic();
        let s = summary(dir);
        assert_eq!(s["seed"].to_string(), *seed, "summary.json seed");
        hashes.push(s["trace_hash"].as_str().expect("trace_hash").to_string());
    }
    assert_ne!(
        hashes[0], hashes[1],
        "seeds 1 and 2 of follower-stall gave the same trace_hash: the seed does not reach the simulation"
    );
}
