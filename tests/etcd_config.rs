//! The user's etcd as input: `etcdlab config`, `--etcd-config` and `--etcd-flags`.

mod common;

use common::*;
use std::fs;

#[test]
fn the_kubeadm_style_config_maps_to_the_guides_settings() {
    let o = etcdlab_run(["config", "examples/etcd.conf.yaml"]);
    o.assert_code(0);
    for line in [
        "size = 3",
        "heartbeat_interval_ms = 100",
        "election_timeout_ms = 1000",
        "snapshot_count = 10000",
        "quota_backend_bytes = 8589934592",
        "auto_compaction_mode = \"periodic\"",
        "auto_compaction_retention = \"1h\"",
        "# ignored (not modelled): name, data-dir,",
    ] {
        assert!(o.stdout.contains(line), "{line:?}\n{}", o.describe());
    }
}

#[test]
fn a_typo_in_a_key_names_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(repo_root().join("examples/etcd.conf.yaml")).unwrap();
    let typo = text.replace("election-timeout: 1000", "election-timout: 1000");
    let line = typo
        .lines()
        .position(|l| l.starts_with("election-timout"))
        .unwrap()
        + 1;
    let path = tmp.path().join("etcd.conf.yaml");
    fs::write(&path, typo).unwrap();
    let o = run(etcdlab().arg("config").arg(&path));
    o.assert_code(2);
    let expected = format!(
        "{}:{line}: election-timout: unknown etcd setting `election-timout`",
        path.display()
    );
    assert!(o.stderr.contains(&expected), "{expected}\n{}", o.describe());
    let o = etcdlab_run(["config", "--etcd-flags", "--snapshot-count=many"]);
    o.assert_code(2);
    assert!(o
        .stderr
        .contains("--snapshot-count: \"many\" is not an integer"));
}

#[test]
fn the_scenario_and_set_win_over_the_etcd_settings_and_the_report_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // compaction-crash sets size = 1 itself; the file says 3 members.
    let o = run(etcdlab()
        .args(["run", "scenarios/compaction-crash.toml"])
        .args(["--etcd-config", "examples/etcd.conf.yaml"])
        .args([
            "--etcd-flags",
            "--heartbeat-interval=200 --election-timeout=2000",
        ])
        .args(["--set", "cluster.election_timeout_ms=3000"])
        .arg("--out")
        .arg(&out));
    o.assert_code(0);
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("- 1 member, etcd 3.4: heartbeat 200 ms, election timeout 3000 ms"),
        "the scenario's size, the flag's heartbeat, --set's election timeout"
    );
    assert!(report.contains("Your etcd's settings fill [cluster] where the scenario does not set it (from examples/etcd.conf.yaml: initial-cluster-token"));
    assert!(report.contains("ignored (not modelled): name, data-dir"));
    assert!(report.contains("from --etcd-flags: heartbeat-interval (heartbeat_interval_ms = 200)"));
}
