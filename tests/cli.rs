//! The command line: validate, overrides, the default output folder, exit code 1 for a failed
//! expectation, and outputs that do not leak the machine's paths.

mod common;

use common::*;
use std::fs;
use std::path::Path;

fn assert_report_written(dir: &Path) {
    let files = read_files(dir);
    for name in REPORT_FILES {
        let bytes = files
            .get(name)
            .unwrap_or_else(|| panic!("{} was not written", dir.join(name).display()));
        // A run without clients has an empty history.
        let may_be_empty = name == "history.jsonl";
        assert!(
            may_be_empty || !bytes.is_empty(),
            "{} is empty",
            dir.join(name).display()
        );
    }
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    for sc in shipped_scenarios() {
        let o = etcdlab_run(["validate".as_ref(), sc.as_os_str()]);
        o.assert_code(0);
        assert!(
            o.stdout.contains(": ok ("),
            "validate should say ok\n{}",
            o.describe()
        );
    }
}

#[test]
fn overrides_change_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(etcdlab()
        .args(["run", "scenarios/baseline-ssd.toml"])
        .args(["--set", "workload.writes_per_s=0"])
        .args(["--set", "duration=30s"])
        .arg("--out")
        .arg(&out));
    o.assert_no_panic();
    assert!(
        matches!(o.code, Some(0 | 1)),
        "the overridden run should finish\n{}",
        o.describe()
    );
    assert_report_written(&out);
    let s = summary(&out);
    assert_eq!(s["simulated_seconds"], 30.0, "duration=30s");
    assert_eq!(s["writes"]["ok"], 0, "writes_per_s=0");
    assert_eq!(s["writes"]["failed"], 0, "writes_per_s=0");
    // The exit code tells whether every expectation held.
    let all_ok = s["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["ok"] == true);
    assert_eq!(
        o.code,
        Some(if all_ok { 0 } else { 1 }),
        "exit code vs expectations {}\n{}",
        s["expectations"],
        o.describe()
    );
}

#[test]
fn default_output_folder_is_reports_name_under_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    fs::copy(
        repo_root().join("scenarios/follower-stall.toml"),
        tmp.path().join("follower-stall.toml"),
    )
    .unwrap();
    let o = run(etcdlab()
        .current_dir(tmp.path())
        .args(["run", "follower-stall.toml"]));
    o.assert_code(0);
    assert_report_written(&tmp.path().join("reports/follower-stall"));
    let written: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        written.len(),
        2,
        "only reports/ should be created next to the scenario: {written:?}"
    );
}

#[test]
fn default_output_folder_uses_the_scenario_name() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(repo_root().join("scenarios/follower-stall.toml")).unwrap();
    fs::write(
        tmp.path().join("file-stem.toml"),
        format!("name = \"named-in-file\"\n{text}"),
    )
    .unwrap();
    let o = run(etcdlab()
        .current_dir(tmp.path())
        .args(["run", "file-stem.toml"]));
    o.assert_code(0);
    assert_report_written(&tmp.path().join("reports/named-in-file"));
    assert!(!tmp.path().join("reports/file-stem").exists());
}

/// follower-stall with an impossible expectation added.
fn impossible_scenario(dir: &Path) -> std::path::PathBuf {
    let text = fs::read_to_string(repo_root().join("scenarios/follower-stall.toml")).unwrap();
    let path = dir.join("impossible.toml");
    fs::write(
        &path,
        format!("{text}\n[[expect]]\nleader_changes = {{ min = 100 }}\n"),
    )
    .unwrap();
    path
}

fn assert_failed_expectation(o: &Outcome, out: &Path) {
    o.assert_code(1);
    assert!(
        o.stderr
            .contains("expectation failed: leader_changes >= 100"),
        "stderr should name the failed expectation\n{}",
        o.describe()
    );
    assert_report_written(out);
    let s = summary(out);
    let failed: Vec<_> = s["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ok"] == false)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "one failed expectation in {}",
        s["expectations"]
    );
    assert_eq!(failed[0]["name"], "leader_changes >= 100");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("FAIL"), "report.md should show the failure");
}

#[test]
fn failed_expectation_exits_1_and_still_writes_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = impossible_scenario(tmp.path());
    let out = tmp.path().join("out");
    let o = run(etcdlab().arg("run").arg(&sc).arg("--out").arg(&out));
    assert_failed_expectation(&o, &out);
}

#[test]
fn failed_expectation_from_set_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = run(etcdlab()
        .args(["run", "scenarios/follower-stall.toml"])
        .args(["--set", "expect.0.leader_changes={ min = 100 }"])
        .arg("--out")
        .arg(&out));
    assert_failed_expectation(&o, &out);
}

#[test]
fn outputs_contain_no_absolute_path() {
    let tmp = tempfile::tempdir().unwrap();
    let sc = impossible_scenario(tmp.path());
    let out = tmp.path().join("out");
    let o = run(etcdlab().arg("run").arg(&sc).arg("--out").arg(&out));
    assert!(matches!(o.code, Some(0 | 1)), "{}", o.describe());
    // Also run from the temp dir with the default output folder.
    let o = run(etcdlab()
        .current_dir(tmp.path())
        .args(["run", "impossible.toml"]));
    assert!(matches!(o.code, Some(0 | 1)), "{}", o.describe());
    let tmp_path = tmp.path().to_string_lossy().into_owned();
    let canonical = fs::canonicalize(tmp.path())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let root = repo_root().to_string_lossy().into_owned();
    for dir in [out, tmp.path().join("reports/impossible")] {
        let files = read_files(&dir);
        assert_eq!(files.len(), REPORT_FILES.len(), "{}", dir.display());
        for (name, bytes) in files {
            let text = String::from_utf8_lossy(&bytes);
            for needle in [&tmp_path, &canonical, &root] {
                assert!(
                    !text.contains(needle.as_str()),
                    "{} contains the absolute path {needle}",
                    dir.join(name).display()
                );
            }
        }
    }
}

#[test]
fn bench_reports_costs_per_write_as_json() {
    let o = etcdlab_run([
        "bench",
        "scenarios/baseline-ssd.toml",
        "--set",
        "duration=20s",
        "--json",
    ]);
    o.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON: {e}\n{}", o.describe()));
    assert_eq!(v["scenario"], "baseline-ssd");
    assert_eq!(v["simulated_seconds"], 20.0);
    // baseline-ssd writes 500 times a second from 10 s on.
    let writes = v["client_writes"].as_u64().expect("client_writes");
    assert!((4_000..=5_000).contains(&writes), "{}", o.stdout);
    for key in [
        "events_per_client_write",
        "allocations_per_client_write",
        "bytes_allocated_per_client_write",
        "peak_live_heap_mib",
        "peak_live_heap_mib_per_member",
        "wall_seconds",
        "report_wall_seconds",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {}", o.stdout));
        assert!(x > 0.0, "{key} = {x}");
    }
    assert!(v["events_per_client_write"].as_f64().unwrap() > 5.0);
    assert_eq!(v["checks"][0]["verdict"], "pass", "{}", o.stdout);
}
