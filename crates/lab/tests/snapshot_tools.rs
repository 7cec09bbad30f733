//! `snapshot status` and `snapshot restore` as etcd 3.4.23 and 3.5.1 print them (measured on
//! loopback, `scripts/fidelity/snapshot_texts.py`, docs/fidelity.md): 3.5 moved both to
//! etcdutl, and etcdctl 3.5 says so before doing the work; 3.5's restore logs zap console
//! lines; a 3.5 db holds two more meta keys; a 3.4 install has no etcdutl.

mod common;
use common::{run_text, timeline};

const STEPS: &[(&str, &str)] = &[
    ("5s", "etcdctl snapshot save s.db"),
    ("6s", "etcdctl snapshot status s.db -w table"),
    ("7s", "etcdutl snapshot status s.db -w table"),
    ("8s", "cp m3/data-dir/member/snap/db raw.db"),
    ("9s", "etcd stop m3"),
    (
        "10s",
        "etcdutl snapshot restore raw.db --name m3 --initial-cluster \
         m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380 \
         --initial-advertise-peer-urls http://127.0.0.1:32380 --data-dir /var/lib/etcd",
    ),
    (
        "11s",
        "etcdctl snapshot restore raw.db --name m3 --initial-cluster \
         m1=http://127.0.0.1:12380,m2=http://127.0.0.1:22380,m3=http://127.0.0.1:32380 \
         --initial-advertise-peer-urls http://127.0.0.1:32380 --data-dir /var/lib/etcd",
    ),
];

/// Each step's (output, ok) on a quiet 3-member cluster of `version`.
fn outputs(version: &str) -> Vec<(String, bool)> {
    let text = format!(
        "seed = 1\nduration = \"15s\"\n[cluster]\nsize = 3\netcd_version = \"{version}\"\n\
         [disk]\nprofile = \"ssd\"\n[workload]\nwrites_per_s = 0\n{}",
        timeline(STEPS.iter().copied())
    );
    let result = run_text(&text, "snapshot-tools.toml", &[]);
    let steps = &result.record.operator_steps;
    assert_eq!(steps.len(), STEPS.len());
    steps.iter().map(|s| (s.output.clone(), s.ok)).collect()
}

/// The TOTAL KEYS cell of a `-w table` status.
fn total_keys(table: &str) -> u64 {
    let row = table.lines().nth(3).expect("a data row");
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    cells[3].parse().unwrap_or_else(|_| panic!("{table}"))
}

const DEPRECATED_STATUS: &str = "Deprecated: Use `etcdutl snapshot status` instead.\n\n";
const DEPRECATED_RESTORE: &str = "Deprecated: Use `etcdutl snapshot restore` instead.\n\n";
const MISSING_HASH: &str = "Error: snapshot missing hash but --skip-hash-check=false\n";

#[test]
fn etcd_3_4_has_no_etcdutl_and_logs_restores_as_json() {
    let out = outputs("3.4");
    let (status, ok) = &out[1];
    assert!(*ok && status.starts_with("+---"), "{status}");
    assert_eq!(out[2], ("bash: etcdutl: command not found\n".into(), false));
    assert_eq!(out[5], ("bash: etcdutl: command not found\n".into(), false));
    let (restore, ok) = &out[6];
    assert!(!*ok);
    assert_eq!(
        restore,
        &format!(
            "{{\"level\":\"info\",\"msg\":\"restoring snapshot\",\"path\":\"raw.db\",\
             \"wal-dir\":\"/var/lib/etcd/member/wal\",\"data-dir\":\"/var/lib/etcd\",\
             \"snap-dir\":\"/var/lib/etcd/member/snap\"}}\n{MISSING_HASH}"
        )
    );
}

#[test]
fn etcd_3_5_moves_snapshot_status_and_restore_to_etcdutl() {
    let (v34, v35) = (outputs("3.4"), outputs("3.5"));
    // etcdctl 3.5: the same table after the notice; etcdutl: the table alone.
    let (ctl, ok) = &v35[1];
    assert!(*ok);
    let table = ctl
        .strip_prefix(DEPRECATED_STATUS)
        .unwrap_or_else(|| panic!("{ctl}"));
    assert_eq!(v35[2], (table.to_string(), true));
    // The same (empty) cluster's db: 3.5 keeps the raft term and conf state in it too.
    assert_eq!(total_keys(table), total_keys(&v34[1].0) + 2);
    let console = "info\trestoring snapshot\t{\"path\": \"raw.db\", \"wal-dir\": \
                   \"/var/lib/etcd/member/wal\", \"data-dir\": \"/var/lib/etcd\", \"snap-dir\": \
                   \"/var/lib/etcd/member/snap\"}\n";
    assert_eq!(v35[5], (format!("{console}{MISSING_HASH}"), false));
    assert_eq!(
        v35[6],
        (
            format!("{DEPRECATED_RESTORE}{console}{MISSING_HASH}"),
            false
        )
    );
}
