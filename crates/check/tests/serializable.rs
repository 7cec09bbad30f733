//! Small hand-written histories with serializable reads, each verdict pinned: stale but real
//! states pass, states the cluster never had fail, unresolved writes are given the benefit of
//! the doubt.

use etcdlab_check::{check_serializable_reads, parse_jsonl, SerializableOutcome};

fn check(lines: &[String]) -> SerializableOutcome {
    let ops = parse_jsonl(&lines.join("\n")).expect("a valid history");
    check_serializable_reads(&ops)
}

/// The failing read's id, or None.
fn failing_read(lines: &[String]) -> Option<u64> {
    check(lines).failure.map(|f| f.read)
}

/// An acknowledged put of `value` to `/k` at `revision`, called at `call` s, returned 1 s later.
fn put(id: u64, call: u64, value: &str, revision: i64) -> String {
    format!(
        r#"{{"id":{id},"client":"w","call_ns":{},"return_ns":{},"op":"put","key":"/k","value":"{value}","revision":{revision}}}"#,
        call * 1_000_000_000,
        (call + 1) * 1_000_000_000
    )
}

/// A put whose client saw `request timed out` (no `applied`: its fate unknown).
fn lost_put(id: u64, call: u64, value: &str) -> String {
    format!(
        r#"{{"id":{id},"client":"w","call_ns":{},"op":"put","key":"/k","value":"{value}","error":"etcdserver: request timed out"}}"#,
        call * 1_000_000_000
    )
}

fn delete(id: u64, call: u64, revision: i64) -> String {
    format!(
        r#"{{"id":{id},"client":"w","call_ns":{},"return_ns":{},"op":"delete","key":"/k","revision":{revision}}}"#,
        call * 1_000_000_000,
        (call + 1) * 1_000_000_000
    )
}

/// A serializable get of `/k` returning `value` (None: absent) at header `revision`, called at
/// `call` s and returned 1 ms later.
fn read(id: u64, call: u64, value: Option<&str>, revision: i64) -> String {
    let value = value.map_or(String::new(), |v| format!(r#","value":"{v}""#));
    format!(
        r#"{{"id":{id},"client":"r","member":"m2","call_ns":{},"return_ns":{},"op":"get","key":"/k"{value},"serializable":true,"revision":{revision}}}"#,
        call * 1_000_000_000,
        call * 1_000_000_000 + 1_000_000
    )
}

#[test]
fn a_stale_read_of_a_state_the_cluster_had_passes() {
    // The member lags: it answers at revision 2 after revision 3 was acknowledged.
    let h = [
        put(1, 0, "a", 2),
        put(2, 2, "b", 3),
        read(3, 5, Some("a"), 2),
        read(4, 6, Some("b"), 3),
        read(5, 7, None, 1),
    ];
    let out = check(&h);
    assert_eq!(out.failure, None);
    assert_eq!(out.reads, 3);
}

#[test]
fn a_value_the_key_did_not_hold_at_the_revision_fails() {
    // At revision 3 the key holds b, not a: no member ever had a at revision 3.
    let h = [
        put(1, 0, "a", 2),
        put(2, 2, "b", 3),
        read(3, 5, Some("a"), 3),
    ];
    let out = check(&h);
    let f = out.failure.expect("a state the cluster never had");
    assert_eq!((f.read, f.window.clone()), (3, vec![2, 3]));
    assert!(f.detail.contains("held value b"), "{}", f.detail);
}

#[test]
fn a_value_never_written_fails() {
    let h = [put(1, 0, "a", 2), read(2, 5, Some("z"), 2)];
    assert_eq!(failing_read(&h), Some(2));
}

#[test]
fn a_deleted_key_reads_absent_from_its_delete_on() {
    let h = [
        put(1, 0, "a", 2),
        delete(2, 2, 3),
        read(3, 5, None, 3),
        read(4, 6, Some("a"), 2),
    ];
    assert_eq!(failing_read(&h), None);
    let h = [put(1, 0, "a", 2), delete(2, 2, 3), read(3, 5, Some("a"), 3)];
    assert_eq!(failing_read(&h), Some(3), "the delete came first");
}

#[test]
fn a_write_of_unknown_fate_may_explain_a_read_after_its_call_only() {
    // The lost put may have been applied at revision 3, which the member then served.
    let h = [
        put(1, 0, "a", 2),
        lost_put(2, 2, "x"),
        read(3, 5, Some("x"), 3),
    ];
    assert_eq!(failing_read(&h), None);
    // A read that returned before the lost put was even called cannot have seen it.
    let h = [
        put(1, 0, "a", 2),
        read(3, 1, Some("x"), 2),
        lost_put(2, 2, "x"),
    ];
    assert_eq!(failing_read(&h), Some(3));
}

#[test]
fn a_revision_made_after_the_read_returned_fails() {
    // Revision 3 was made by a put called at 10 s; the read returned at 5 s.
    let h = [
        put(1, 0, "a", 2),
        read(2, 5, Some("a"), 3),
        put(3, 10, "a", 3),
    ];
    let f = check(&h).failure.expect("a revision from the future");
    assert!(
        f.detail.contains("after the read had returned"),
        "{}",
        f.detail
    );
}

#[test]
fn failed_and_linearizable_reads_are_not_judged_here() {
    let failed = r#"{"id":2,"client":"r","call_ns":5000000000,"return_ns":5001000000,"op":"get","key":"/k","serializable":true,"error":"etcdserver: request timed out"}"#;
    let linearizable = r#"{"id":3,"client":"r","call_ns":5000000000,"return_ns":5001000000,"op":"get","key":"/k","value":"z","revision":2}"#;
    let h = [
        put(1, 0, "a", 2),
        failed.to_string(),
        linearizable.to_string(),
    ];
    let out = check(&h);
    assert_eq!((out.failure, out.reads), (None, 0));
}

#[test]
fn a_restored_era_is_judged_from_its_first_known_change_on() {
    // Era 1 starts from a backup: before its first write the key's value is unknown.
    let era1 = |line: String| line.replacen(r#""id""#, r#""era":1,"id""#, 1);
    let h = [
        put(1, 0, "a", 2),
        era1(read(2, 5, Some("old"), 7)),
        era1(put(3, 6, "b", 8)),
        era1(read(4, 9, Some("b"), 8)),
    ];
    assert_eq!(failing_read(&h), None);
    let h = [era1(put(3, 6, "b", 8)), era1(read(4, 9, Some("old"), 8))];
    assert_eq!(failing_read(&h), Some(4));
}
