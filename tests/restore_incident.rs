//! What issue 6 asks of the shipped snapshot/restore scenarios, read from their committed
//! reports (`shipped_scenarios.rs` proves those equal a fresh run, byte for byte).

use serde_json::Value;

fn summary(name: &str) -> Value {
    let path = format!("{}/reports/{name}/summary.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("summary.json is JSON")
}

fn report(name: &str) -> String {
    let path = format!("{}/reports/{name}/report.md", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} is not an integer: {}", v[key]))
}

#[test]
fn the_wrong_restore_is_detected_by_the_initial_check_and_the_right_one_lists_what_was_lost() {
    let s = summary("incident-3-restore-mismatch");
    assert!(
        s["divergence_detected_at_s"].is_f64(),
        "{}",
        s["divergence_detected_at_s"]
    );
    let gap = int(&s, "revision_gap");
    assert!((45_000..=56_000).contains(&gap), "revision gap {gap}");
    let lost = &s["lost_changes"];
    let cm_and_secrets = int(lost, "configmaps") + int(lost, "secrets");
    assert!(
        cm_and_secrets >= 200,
        "documented 200+, got {cm_and_secrets}"
    );
    assert_eq!(int(&s, "members_refused_start"), 4);
    assert_eq!(int(&s, "hashkv_distinct"), 1, "after the right restore");
    let r = report("incident-3-restore-mismatch");
    assert!(r.contains("found data inconsistency with peers"));
    assert!(r.contains("snapshot missing hash but --skip-hash-check=false"));
    assert!(r.contains("initial corruption checking passed"));
}

#[test]
fn with_the_checks_off_nothing_notices_the_divergence() {
    let s = summary("incident-3-restore-mismatch-checks-off");
    assert!(
        s.as_object()
            .unwrap()
            .contains_key("divergence_detected_at_s")
            && s["divergence_detected_at_s"].is_null(),
        "null when nothing detected it"
    );
    assert_eq!(int(&s, "hashkv_distinct"), 2);
    assert_eq!(int(&s, "members_refused_start"), 3);
}

#[test]
fn a_drill_from_one_file_ends_with_one_cluster_and_equal_hashes() {
    let s = summary("restore-drill");
    assert_eq!(int(&s, "revision_gap"), 0);
    assert_eq!(int(&s, "hashkv_distinct"), 1);
    assert_eq!(int(&s, "cluster_ids"), 1);
}

#[test]
fn a_new_cluster_state_against_a_live_cluster_forms_a_second_cluster() {
    let s = summary("member-add-wrong-cluster-state");
    assert_eq!(int(&s, "cluster_ids"), 2);
    assert!(report("member-add-wrong-cluster-state").contains("request cluster ID mismatch"));
}

#[test]
fn a_follower_behind_the_compacted_log_gets_a_snapshot() {
    let s = summary("slow-follower-snapshot-catchup");
    assert!(int(&s, "snapshots_sent") >= 1);
    let one = summary("incident-3-one-member-corrupt");
    assert_eq!(int(&one, "snapshots_sent"), 1);
    assert_eq!(int(&one, "hashkv_distinct"), 1);
}
