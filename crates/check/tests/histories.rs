//! Small hand-written histories, linearizable and not, each with its verdict pinned.

use etcdlab_check::{check_linearizable, parse_jsonl, Budget, Verdict};

/// Checks a history written one operation a line in JSON.
fn verdict(lines: &[&str]) -> Verdict {
    let ops = parse_jsonl(&lines.join("\n")).expect("a valid history");
    check_linearizable(&ops, Budget::default()).verdict
}

fn fails(lines: &[&str]) -> u64 {
    match verdict(lines) {
        Verdict::Fail { culprit, .. } => culprit,
        v => panic!("expected a violation, got {v:?}"),
    }
}

const PUT_A: &str = r#"{"id":1,"client":"c1","call_ns":0,"return_ns":10,"op":"put","key":"k","value":"a","revision":2}"#;
const PUT_B: &str = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","revision":3}"#;

#[test]
fn sequential_puts_and_a_fresh_read_pass() {
    let get_b = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"b","revision":3}"#;
    assert_eq!(verdict(&[PUT_A, PUT_B, get_b]), Verdict::Pass);
}

#[test]
fn a_stale_read_fails() {
    // Called after b was acknowledged, it returns a.
    let get_a = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":2}"#;
    assert_eq!(fails(&[PUT_A, PUT_B, get_a]), 3);
}

#[test]
fn a_stale_read_that_claims_the_new_revision_fails() {
    let get_a = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":3}"#;
    assert_eq!(fails(&[PUT_A, PUT_B, get_a]), 3);
}

#[test]
fn a_read_concurrent_with_a_put_may_see_either_value() {
    let slow_put = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":60,"op":"put","key":"k","value":"b","revision":3}"#;
    let get_a = r#"{"id":3,"client":"c2","call_ns":30,"return_ns":40,"op":"get","key":"k","value":"a","revision":2}"#;
    let get_b = r#"{"id":4,"client":"c3","call_ns":30,"return_ns":40,"op":"get","key":"k","value":"b","revision":3}"#;
    assert_eq!(verdict(&[PUT_A, slow_put, get_a]), Verdict::Pass);
    assert_eq!(verdict(&[PUT_A, slow_put, get_b]), Verdict::Pass);
    // But not b and then a: once a client saw b, a later read cannot see a.
    let get_a_later = r#"{"id":5,"client":"c2","call_ns":45,"return_ns":50,"op":"get","key":"k","value":"a","revision":2}"#;
    assert!(matches!(
        verdict(&[PUT_A, slow_put, get_b, get_a_later]),
        Verdict::Fail { .. }
    ));
}

#[test]
fn a_lost_acknowledged_write_fails() {
    // b was acknowledged, yet a read long after finds the key missing.
    let get_none =
        r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","revision":3}"#;
    assert_eq!(fails(&[PUT_A, PUT_B, get_none]), 3);
}

#[test]
fn a_read_of_a_value_never_written_fails() {
    let get_z = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"z","revision":3}"#;
    assert_eq!(fails(&[PUT_A, PUT_B, get_z]), 3);
}

#[test]
fn the_revision_going_back_fails() {
    let put_c = r#"{"id":3,"client":"c1","call_ns":40,"return_ns":50,"op":"put","key":"j","value":"c","revision":3}"#;
    assert!(matches!(
        verdict(&[PUT_A, PUT_B, put_c]),
        Verdict::Fail { .. }
    ));
}

#[test]
fn a_cas_that_succeeded_twice_fails() {
    let cas1 = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_value":"a","value":"b","succeeded":true,"revision":3}"#;
    let cas2 = r#"{"id":3,"client":"c2","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_value":"a","value":"c","succeeded":true,"revision":4}"#;
    assert!(matches!(
        verdict(&[PUT_A, cas1, cas2]),
        Verdict::Fail { .. }
    ));
    // One wins, the other's compare fails: fine.
    let cas2_lost = r#"{"id":3,"client":"c2","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_value":"a","value":"c","succeeded":false,"revision":3}"#;
    assert_eq!(verdict(&[PUT_A, cas1, cas2_lost]), Verdict::Pass);
}

#[test]
fn an_optimistic_update_on_mod_revision_wins_once_and_the_loser_reads_the_winner() {
    // Both read k at mod revision 2 (PUT_A) and try to replace it, as Kubernetes' updates do.
    let cas = |id: u64, value: &str, tail: &str| {
        format!(
            r#"{{"id":{id},"client":"c{id}","call_ns":20,"return_ns":30,"op":"txn","key":"k","expect_mod_revision":2,"value":"{value}","else_get":true,{tail}}}"#
        )
    };
    let won = cas(2, "b", r#""succeeded":true,"revision":3"#);
    let also_won = cas(3, "c", r#""succeeded":true,"revision":4"#);
    assert!(matches!(
        verdict(&[PUT_A, &won, &also_won]),
        Verdict::Fail { .. }
    ));
    let lost_saw_b = cas(3, "c", r#""succeeded":false,"else_value":"b","revision":3"#);
    assert_eq!(verdict(&[PUT_A, &won, &lost_saw_b]), Verdict::Pass);
    // The loser's read must show the winner's value: one that shows a makes no sense.
    let lost_saw_a = cas(3, "c", r#""succeeded":false,"else_value":"a","revision":3"#);
    assert_eq!(fails(&[PUT_A, &won, &lost_saw_a]), 3);
}

#[test]
fn compares_on_version_and_create_revision_follow_the_key() {
    // After PUT_A and PUT_B, k has version 2 and create revision 2.
    let txn = |id: u64, compare: &str, succeeded: bool, revision: u64| {
        format!(
            r#"{{"id":{id},"client":"c","call_ns":{},"return_ns":{},"op":"txn","key":"k",{compare},"value":"v{id}","succeeded":{succeeded},"revision":{revision}}}"#,
            id * 100,
            id * 100 + 10
        )
    };
    let version_2 = txn(3, r#""expect_version":2"#, true, 4);
    assert_eq!(verdict(&[PUT_A, PUT_B, &version_2]), Verdict::Pass);
    let version_above_2 = txn(3, r#""expect_version":2,"compare_result":">""#, true, 4);
    assert_eq!(fails(&[PUT_A, PUT_B, &version_above_2]), 3);
    let created_at_3 = txn(3, r#""expect_create_revision":3"#, true, 4);
    assert_eq!(fails(&[PUT_A, PUT_B, &created_at_3]), 3);
    let not_created_at_3 = txn(
        3,
        r#""expect_create_revision":3,"compare_result":"!=""#,
        true,
        4,
    );
    assert_eq!(verdict(&[PUT_A, PUT_B, &not_created_at_3]), Verdict::Pass);
    // A key that does not exist has version 0: a create-if-absent.
    let absent = txn(1, r#""expect_version":0"#, true, 2);
    assert_eq!(verdict(&[&absent]), Verdict::Pass);
}

#[test]
fn a_txn_names_one_target_and_orders_only_numbers() {
    let two = r#"{"id":1,"client":"c","call_ns":0,"op":"txn","key":"k","expect_value":"a","expect_version":1,"value":"b"}"#;
    let err = parse_jsonl(two).expect_err("two targets");
    assert!(err.message.contains("compares one of"), "{err}");
    let ordered_value = r#"{"id":1,"client":"c","call_ns":0,"op":"txn","key":"k","expect_value":"a","compare_result":">","value":"b"}"#;
    let err = parse_jsonl(ordered_value).expect_err("> on a value");
    assert!(err.message.contains("not a value"), "{err}");
}

#[test]
fn a_maybe_applied_write_may_or_may_not_be_seen() {
    let timed_out = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"context deadline exceeded"}"#;
    let get_a = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":2}"#;
    let get_b = r#"{"id":4,"client":"c2","call_ns":60,"return_ns":70,"op":"get","key":"k","value":"b","revision":3}"#;
    assert_eq!(verdict(&[PUT_A, timed_out, get_a]), Verdict::Pass);
    assert_eq!(verdict(&[PUT_A, timed_out, get_b]), Verdict::Pass);
    // Seen late (it may be applied after its client gave up), but never unseen once seen.
    assert_eq!(verdict(&[PUT_A, timed_out, get_a, get_b]), Verdict::Pass);
    let get_a_again = r#"{"id":5,"client":"c2","call_ns":80,"return_ns":90,"op":"get","key":"k","value":"a","revision":3}"#;
    assert!(matches!(
        verdict(&[PUT_A, timed_out, get_b, get_a_again]),
        Verdict::Fail { .. }
    ));
}

#[test]
fn a_write_the_log_says_was_not_applied_must_not_be_seen() {
    let not_applied = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"etcdserver: request timed out","applied":false}"#;
    let get_b = r#"{"id":4,"client":"c2","call_ns":60,"return_ns":70,"op":"get","key":"k","value":"b","revision":3}"#;
    assert_eq!(fails(&[PUT_A, not_applied, get_b]), 4);
}

#[test]
fn a_definite_error_means_not_applied() {
    let refused = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"k","value":"b","error":"etcdserver: mvcc: database space exceeded"}"#;
    let get_b = r#"{"id":4,"client":"c2","call_ns":60,"return_ns":70,"op":"get","key":"k","value":"b","revision":3}"#;
    assert_eq!(fails(&[PUT_A, refused, get_b]), 4);
}

#[test]
fn other_writes_may_advance_the_revision() {
    let get_a = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":9}"#;
    assert_eq!(verdict(&[PUT_A, get_a]), Verdict::Pass);
}

#[test]
fn a_delete_then_a_read_finds_nothing() {
    let del = r#"{"id":2,"client":"c1","call_ns":20,"return_ns":30,"op":"delete","key":"k","revision":3}"#;
    let get_none =
        r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","revision":3}"#;
    let get_a = r#"{"id":3,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k","value":"a","revision":3}"#;
    assert_eq!(verdict(&[PUT_A, del, get_none]), Verdict::Pass);
    assert_eq!(fails(&[PUT_A, del, get_a]), 3);
}

#[test]
fn a_budget_too_small_is_undecided_not_a_pass() {
    let ops = parse_jsonl(&[PUT_A, PUT_B].join("\n")).unwrap();
    let out = check_linearizable(&ops, Budget { steps: 1 });
    assert_eq!(out.verdict, Verdict::Undecided);
}

#[test]
fn a_bad_line_is_named() {
    let err = parse_jsonl("\n{\"id\":1}").unwrap_err();
    assert_eq!(err.line, 2);
    let err = parse_jsonl(
        r#"{"id":1,"client":"c","call_ns":0,"return_ns":1,"op":"put","key":"k","value":"v"}"#,
    )
    .unwrap_err();
    assert!(err.message.contains("revision"), "{}", err.message);
}

#[test]
fn a_new_era_may_start_over_at_an_older_revision() {
    // A whole cluster restored from a backup taken at revision 2.
    let put_c = r#"{"id":3,"client":"c1","call_ns":40,"return_ns":50,"op":"put","key":"k","value":"c","revision":3,"era":1}"#;
    let get_a = r#"{"id":4,"client":"c1","call_ns":35,"return_ns":38,"op":"get","key":"k","value":"a","revision":2,"era":1}"#;
    assert_eq!(verdict(&[PUT_A, PUT_B, get_a, put_c]), Verdict::Pass);
    // Within one era, the same is a violation.
    let get_a0 = r#"{"id":4,"client":"c1","call_ns":35,"return_ns":38,"op":"get","key":"k","value":"a","revision":2}"#;
    assert!(matches!(
        verdict(&[PUT_A, PUT_B, get_a0]),
        Verdict::Fail { .. }
    ));
}

const PUT_J: &str = r#"{"id":11,"client":"c1","call_ns":0,"return_ns":10,"op":"put","key":"/t/j","value":"j1","revision":2}"#;
const PUT_K: &str = r#"{"id":12,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"/t/k","value":"k1","revision":3}"#;

#[test]
fn a_range_sees_every_acknowledged_put_in_it_and_nothing_else() {
    let both = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/j","value":"j1"},{"key":"/t/k","value":"k1"}],"revision":3}"#;
    assert_eq!(verdict(&[PUT_J, PUT_K, both]), Verdict::Pass);
    // [/t/j, /t/k) holds only /t/j.
    let half = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/j","range_end":"/t/k","kvs":[{"key":"/t/j","value":"j1"}],"revision":3}"#;
    assert_eq!(verdict(&[PUT_J, PUT_K, half]), Verdict::Pass);
    let missing_k = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/j","value":"j1"}],"revision":3}"#;
    assert_eq!(fails(&[PUT_J, PUT_K, missing_k]), 13);
    // A key outside the range it was asked for.
    let outside = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/j","range_end":"/t/k","kvs":[{"key":"/t/j","value":"j1"},{"key":"/t/k","value":"k1"}],"revision":3}"#;
    assert_eq!(fails(&[PUT_J, PUT_K, outside]), 13);
    let to_the_end = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/k","range_end":"\u0000","kvs":[{"key":"/t/k","value":"k1"}],"revision":3}"#;
    assert_eq!(verdict(&[PUT_J, PUT_K, to_the_end]), Verdict::Pass);
}

#[test]
fn a_range_concurrent_with_a_put_sees_it_whole_or_not_at_all() {
    let slow_k = r#"{"id":12,"client":"c1","call_ns":20,"return_ns":90,"op":"put","key":"/t/k","value":"k1","revision":3}"#;
    let before = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/j","value":"j1"}],"revision":2}"#;
    assert_eq!(verdict(&[PUT_J, slow_k, before]), Verdict::Pass);
    // It claims revision 3 (the put's) but misses the put.
    let torn = r#"{"id":13,"client":"c2","call_ns":40,"return_ns":50,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/j","value":"j1"}],"revision":3}"#;
    // Either operation may be named: placed first, the range strands the put.
    assert!([12, 13].contains(&fails(&[PUT_J, slow_k, torn])));
}

#[test]
fn a_range_that_still_sees_a_deleted_key_fails() {
    let del = r#"{"id":13,"client":"c1","call_ns":40,"return_ns":50,"op":"delete","key":"/t/j","revision":4}"#;
    let stale = r#"{"id":14,"client":"c2","call_ns":60,"return_ns":70,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/j","value":"j1"},{"key":"/t/k","value":"k1"}],"revision":4}"#;
    assert_eq!(fails(&[PUT_J, PUT_K, del, stale]), 14);
}

const GRANT: &str = r#"{"id":21,"client":"c1","call_ns":0,"return_ns":10,"op":"lease_grant","lease":7,"revision":1}"#;
const PUT_LEASED_J: &str = r#"{"id":22,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"/t/j","value":"j1","lease":7,"revision":2}"#;
const PUT_LEASED_K: &str = r#"{"id":23,"client":"c1","call_ns":40,"return_ns":50,"op":"put","key":"/t/k","value":"k1","lease":7,"revision":3}"#;

#[test]
fn a_revoke_deletes_every_key_of_its_lease_at_one_revision() {
    let revoke = r#"{"id":24,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_revoke","lease":7,"revision":4}"#;
    let none = r#"{"id":25,"client":"c2","call_ns":80,"return_ns":90,"op":"range","key":"/t/","prefix":true,"revision":4}"#;
    let ops = [GRANT, PUT_LEASED_J, PUT_LEASED_K, revoke, none];
    assert_eq!(verdict(&ops), Verdict::Pass);
    let still_there = r#"{"id":25,"client":"c2","call_ns":80,"return_ns":90,"op":"get","key":"/t/k","value":"k1","revision":4}"#;
    assert_eq!(
        fails(&[GRANT, PUT_LEASED_J, PUT_LEASED_K, revoke, still_there]),
        25
    );
    // Two keys, one revision: the revoke cannot claim the revision of a second delete.
    let revoke_at_5 = r#"{"id":24,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_revoke","lease":7,"revision":5}"#;
    let read_at_4 = r#"{"id":26,"client":"c3","call_ns":62,"return_ns":68,"op":"get","key":"/t/j","revision":4}"#;
    assert_eq!(
        fails(&[GRANT, PUT_LEASED_J, PUT_LEASED_K, revoke_at_5, read_at_4]),
        26
    );
}

#[test]
fn a_put_without_a_lease_detaches_the_key_from_it() {
    let plain_k = r#"{"id":24,"client":"c1","call_ns":52,"return_ns":58,"op":"put","key":"/t/k","value":"k2","revision":4}"#;
    let revoke = r#"{"id":25,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_revoke","lease":7,"revision":5}"#;
    let k2 = r#"{"id":26,"client":"c2","call_ns":80,"return_ns":90,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/k","value":"k2"}],"revision":5}"#;
    let ops = [GRANT, PUT_LEASED_J, PUT_LEASED_K, plain_k, revoke, k2];
    assert_eq!(verdict(&ops), Verdict::Pass);
}

#[test]
fn a_put_with_a_lease_never_granted_cannot_succeed() {
    assert_eq!(fails(&[PUT_LEASED_J]), 22);
    let refused = r#"{"id":22,"client":"c1","call_ns":20,"return_ns":30,"op":"put","key":"/t/j","value":"j1","lease":7,"error":"etcdserver: requested lease not found"}"#;
    let nothing = r#"{"id":23,"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"/t/j","revision":1}"#;
    assert_eq!(verdict(&[refused, nothing]), Verdict::Pass);
    let revoke_unknown = r#"{"id":24,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_revoke","lease":9,"revision":1}"#;
    assert_eq!(fails(&[revoke_unknown]), 24);
}

#[test]
fn a_maybe_applied_revoke_may_or_may_not_have_deleted_the_keys() {
    let timed_out = r#"{"id":24,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_revoke","lease":7,"error":"context deadline exceeded"}"#;
    let still = r#"{"id":25,"client":"c2","call_ns":80,"return_ns":90,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/j","value":"j1"},{"key":"/t/k","value":"k1"}],"revision":3}"#;
    let gone = r#"{"id":26,"client":"c2","call_ns":100,"return_ns":110,"op":"range","key":"/t/","prefix":true,"revision":4}"#;
    let base = [GRANT, PUT_LEASED_J, PUT_LEASED_K, timed_out];
    let with = |more: &[&'static str]| [&base[..], more].concat();
    assert_eq!(verdict(&with(&[still])), Verdict::Pass);
    assert_eq!(verdict(&with(&[gone])), Verdict::Pass);
    assert_eq!(verdict(&with(&[still, gone])), Verdict::Pass);
    // Half revoked: one key gone, the other still there.
    let half = r#"{"id":27,"client":"c2","call_ns":100,"return_ns":110,"op":"range","key":"/t/","prefix":true,"kvs":[{"key":"/t/k","value":"k1"}],"revision":4}"#;
    assert_eq!(fails(&with(&[half])), 27);
}

#[test]
fn a_range_names_its_end_one_way() {
    let both = r#"{"id":1,"client":"c","call_ns":0,"op":"range","key":"/t/","prefix":true,"range_end":"/u"}"#;
    let err = parse_jsonl(both).expect_err("two ends");
    assert!(
        err.message.contains("one of `range_end` and `prefix`"),
        "{err}"
    );
    let no_lease = r#"{"id":1,"client":"c","call_ns":0,"op":"lease_revoke"}"#;
    let err = parse_jsonl(no_lease).expect_err("no lease");
    assert!(err.message.contains("`lease` is required"), "{err}");
    // Fields the model would ignore are refused, not dropped.
    for (line, says) in [
        (
            r#"{"id":1,"client":"c","call_ns":0,"op":"delete","key":"a","range_end":"z"}"#,
            "only a range has `range_end`",
        ),
        (
            r#"{"id":1,"client":"c","call_ns":0,"op":"get","key":"a","prefix":true}"#,
            "only a range or a watch has `prefix`",
        ),
        (
            r#"{"id":1,"client":"c","call_ns":0,"op":"txn","key":"a","value":"v","lease":3}"#,
            "only a put, a lease grant or a lease revoke",
        ),
        (
            r#"{"id":1,"client":"c","call_ns":0,"op":"lease_grant","lease":0}"#,
            "lease 0 means no lease",
        ),
        (
            r#"{"id":1,"client":"c","call_ns":0,"op":"range","key":"a","prefix":true,"serializable":true}"#,
            "serializable ranges are not checked",
        ),
    ] {
        let err = parse_jsonl(line).expect_err(says);
        assert!(err.message.contains(says), "{err}");
    }
}

#[test]
fn in_a_restored_era_a_lease_is_unknown_until_an_operation_shows_it() {
    let era0 = r#"{"id":1,"client":"c1","call_ns":0,"return_ns":10,"op":"put","key":"a","value":"1","revision":2}"#;
    // A lease of the backup: revoked once, it cannot be revoked again.
    let revoke = r#"{"id":2,"client":"c1","call_ns":40,"return_ns":50,"op":"lease_revoke","lease":3,"revision":7,"era":1}"#;
    let again = r#"{"id":3,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_revoke","lease":3,"revision":8,"era":1}"#;
    assert_eq!(verdict(&[era0, revoke]), Verdict::Pass);
    assert_eq!(fails(&[era0, revoke, again]), 3);
    // A put with it shows it exists: it cannot be granted then.
    let put = r#"{"id":2,"client":"c1","call_ns":40,"return_ns":50,"op":"put","key":"x","value":"1","lease":3,"revision":7,"era":1}"#;
    let grant = r#"{"id":3,"client":"c1","call_ns":60,"return_ns":70,"op":"lease_grant","lease":3,"revision":8,"era":1}"#;
    assert_eq!(verdict(&[era0, put]), Verdict::Pass);
    assert_eq!(fails(&[era0, put, grant]), 3);
}

#[test]
fn a_read_at_a_revision_sees_the_key_as_it_was_then() {
    // PUT_A: k = a at 2; PUT_B: k = b at 3.
    let at = |id: u32, rev: i64, value: Option<&str>| {
        let value = value.map_or(String::new(), |v| format!(r#","value":"{v}""#));
        format!(
            r#"{{"id":{id},"client":"c2","call_ns":40,"return_ns":50,"op":"get","key":"k"{value},"at_revision":{rev},"revision":3}}"#
        )
    };
    let ok = |line: String| verdict(&[PUT_A, PUT_B, line.as_str()]);
    assert_eq!(ok(at(3, 2, Some("a"))), Verdict::Pass);
    assert_eq!(ok(at(3, 3, Some("b"))), Verdict::Pass);
    assert_eq!(ok(at(3, 1, None)), Verdict::Pass, "before the key existed");
    assert!(matches!(ok(at(3, 2, Some("b"))), Verdict::Fail { .. }));
    assert!(matches!(ok(at(3, 1, Some("a"))), Verdict::Fail { .. }));
    // A revision above the header's cannot be answered.
    assert!(matches!(ok(at(3, 4, Some("b"))), Verdict::Fail { .. }));
}

#[test]
fn a_range_at_a_revision_sees_a_key_deleted_since() {
    let del = r#"{"id":13,"client":"c1","call_ns":40,"return_ns":50,"op":"delete","key":"/t/j","revision":4}"#;
    let then = r#"{"id":14,"client":"c2","call_ns":60,"return_ns":70,"op":"range","key":"/t/","prefix":true,"at_revision":3,"kvs":[{"key":"/t/j","value":"j1"},{"key":"/t/k","value":"k1"}],"revision":4}"#;
    let missing = r#"{"id":14,"client":"c2","call_ns":60,"return_ns":70,"op":"range","key":"/t/","prefix":true,"at_revision":3,"kvs":[{"key":"/t/k","value":"k1"}],"revision":4}"#;
    assert_eq!(verdict(&[PUT_J, PUT_K, del, then]), Verdict::Pass);
    assert_eq!(fails(&[PUT_J, PUT_K, del, missing]), 14);
    let bad =
        r#"{"id":1,"client":"c","call_ns":0,"op":"put","key":"a","value":"v","at_revision":3}"#;
    let err = parse_jsonl(bad).expect_err("a put at a revision");
    assert!(
        err.message
            .contains("only a get or a range has `at_revision`"),
        "{err}"
    );
}
