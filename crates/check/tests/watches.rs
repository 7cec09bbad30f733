//! Small hand-written watch histories, one per guarantee, each with its verdict pinned.

use etcdlab_check::{check_watches, parse_jsonl};

/// The broken guarantee's name, or None when every watch holds them all.
fn broken(lines: &[&str]) -> Option<&'static str> {
    let ops = parse_jsonl(&lines.join("\n")).expect("a valid history");
    check_watches(&ops).failure.map(|f| f.guarantee)
}

/// A watch of the prefix `/k/` from `start`, with `responses` (a JSON array).
fn watch(id: u64, start: i64, responses: &str) -> String {
    format!(
        r#"{{"id":{id},"client":"w{id}","member":"m1","call_ns":0,"op":"watch","key":"/k/","prefix":true,"start_revision":{start},"prev_kv":true,"responses":{responses}}}"#
    )
}

/// A put event.
fn put(
    key: &str,
    revision: i64,
    value: &str,
    create: i64,
    version: i64,
    prev: Option<&str>,
) -> String {
    let prev = prev.map_or(String::new(), |p| format!(r#","prev_value":"{p}""#));
    format!(
        r#"{{"type":"put","key":"{key}","revision":{revision},"value":"{value}","create_revision":{create},"version":{version}{prev}}}"#
    )
}

fn delete(key: &str, revision: i64, prev: &str) -> String {
    format!(r#"{{"type":"delete","key":"{key}","revision":{revision},"prev_value":"{prev}"}}"#)
}

/// A response at `at_ns` carrying `events`.
fn response(at_ns: u64, events: &[String]) -> String {
    let revision = events
        .iter()
        .map(|e| {
            e.split("\"revision\":")
                .nth(1)
                .unwrap()
                .split([',', '}'])
                .next()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        })
        .max()
        .unwrap_or(0);
    format!(
        r#"{{"at_ns":{at_ns},"revision":{revision},"events":[{}]}}"#,
        events.join(",")
    )
}

fn responses(rs: &[String]) -> String {
    format!("[{}]", rs.join(","))
}

/// Revision 2: put /k/a = 1 (created); 3: put /k/b = 2 (created); 4: put /k/a = 3; 5: delete
/// /k/b; 6: put /k/b = 4 (created again).
fn good_events() -> Vec<String> {
    vec![
        put("/k/a", 2, "1", 2, 1, None),
        put("/k/b", 3, "2", 3, 1, None),
        put("/k/a", 4, "3", 2, 2, Some("1")),
        delete("/k/b", 5, "2"),
        put("/k/b", 6, "4", 6, 1, None),
    ]
}

fn good_watch(id: u64) -> String {
    let e = good_events();
    watch(
        id,
        2,
        &responses(&[
            response(10, &e[0..2]),
            response(20, &e[2..4]),
            response(30, &e[4..5]),
        ]),
    )
}

#[test]
fn watches_that_saw_the_same_history_pass() {
    assert_eq!(broken(&[&good_watch(1), &good_watch(2)]), None);
    // A put the history acknowledged at a revision the watches saw agrees with them.
    let put_op = r#"{"id":3,"client":"c","call_ns":0,"return_ns":5,"op":"put","key":"/k/a","value":"3","revision":4}"#;
    assert_eq!(broken(&[&good_watch(1), put_op]), None);
}

#[test]
fn an_event_twice_breaks_unique() {
    let e = good_events();
    let w = watch(
        1,
        2,
        &responses(&[response(10, &e[0..2]), response(20, &e[1..3])]),
    );
    assert_eq!(broken(&[&w]), Some("unique"));
}

#[test]
fn a_revision_going_back_breaks_ordered() {
    let e = good_events();
    let w = watch(
        1,
        2,
        &responses(&[
            response(10, &e[0..3]),
            response(20, &[e[1].replace("\"/k/b\"", "\"/k/c\"")]),
        ]),
    );
    assert_eq!(broken(&[&w]), Some("ordered"));
}

#[test]
fn a_revision_split_across_responses_breaks_atomic() {
    // One txn wrote /k/a and /k/c at revision 2.
    let a = put("/k/a", 2, "1", 2, 1, None);
    let c = put("/k/c", 2, "9", 2, 1, None);
    let w = watch(
        1,
        2,
        &responses(&[response(10, std::slice::from_ref(&a)), response(20, &[c])]),
    );
    assert_eq!(broken(&[&w]), Some("atomic"));
}

#[test]
fn a_key_outside_the_range_breaks_filter() {
    let w = watch(
        1,
        2,
        &responses(&[response(10, &[put("/x/a", 2, "1", 2, 1, None)])]),
    );
    assert_eq!(broken(&[&w]), Some("filter"));
}

#[test]
fn an_event_before_the_start_revision_breaks_resumable() {
    let e = good_events();
    let w = watch(1, 3, &responses(&[response(10, &e[0..2])]));
    assert_eq!(broken(&[&w]), Some("resumable"));
}

#[test]
fn a_gap_another_watch_fills_breaks_reliable() {
    // Watch 2 misses the delete at revision 5 that watch 1 saw.
    let e = good_events();
    let gap = watch(
        2,
        2,
        &responses(&[response(10, &e[0..3]), response(30, &e[4..5])]),
    );
    assert_eq!(broken(&[&good_watch(1), &gap]), Some("reliable"));
}

#[test]
fn a_gap_an_acknowledged_put_fills_breaks_reliable() {
    // The history's put at revision 7 is inside the watch's range, between its events.
    let e = good_events();
    let put_op = r#"{"id":3,"client":"c","call_ns":0,"return_ns":5,"op":"put","key":"/k/z","value":"7","revision":7}"#;
    let mut later = e.clone();
    later.push(put("/k/a", 8, "8", 2, 3, Some("3")));
    let w = watch(
        1,
        2,
        &responses(&[response(10, &later[0..5]), response(40, &later[5..6])]),
    );
    assert_eq!(broken(&[&w, put_op]), Some("reliable"));
    // A watch that has not got that far yet is fine.
    assert_eq!(broken(&[&good_watch(1), put_op]), None);
}

#[test]
fn watches_disagreeing_on_a_revision_break_consistent() {
    let e = good_events();
    let mut other = e.clone();
    other[2] = put("/k/a", 4, "other", 2, 2, Some("1"));
    let w2 = watch(
        2,
        2,
        &responses(&[
            response(10, &other[0..2]),
            response(20, &other[2..4]),
            response(30, &other[4..5]),
        ]),
    );
    assert_eq!(broken(&[&good_watch(1), &w2]), Some("consistent"));
}

#[test]
fn a_put_after_a_delete_that_is_no_create_breaks_is_create() {
    let e = good_events();
    let mut wrong = e.clone();
    wrong[4] = put("/k/b", 6, "4", 3, 2, None);
    let w = watch(1, 2, &responses(&[response(10, &wrong[0..5])]));
    assert_eq!(broken(&[&w]), Some("is_create"));
    // create_revision and version must agree with each other too.
    let w = watch(
        1,
        2,
        &responses(&[response(10, &[put("/k/a", 2, "1", 2, 2, None)])]),
    );
    assert_eq!(broken(&[&w]), Some("is_create"));
}

#[test]
fn a_wrong_previous_value_breaks_prev_kv() {
    let e = good_events();
    let mut wrong = e.clone();
    wrong[2] = put("/k/a", 4, "3", 2, 2, Some("stale"));
    let w = watch(1, 2, &responses(&[response(10, &wrong[0..5])]));
    assert_eq!(broken(&[&w]), Some("prev_kv"));
}

#[test]
fn only_a_watch_may_carry_responses() {
    let bad = r#"{"id":1,"client":"c","call_ns":0,"return_ns":5,"op":"put","key":"k","value":"1","revision":2,"responses":[{"at_ns":1,"revision":2,"events":[]}]}"#;
    let err = parse_jsonl(bad).unwrap_err();
    assert!(err.message.contains("only a watch"), "{err}");
}

#[test]
fn a_header_revision_going_back_breaks_ordered() {
    let e = good_events();
    let first =
        response(10, &e[0..2]).replace("\"revision\":3,\"events\"", "\"revision\":9,\"events\"");
    let w = watch(1, 2, &responses(&[first, response(20, &e[2..4])]));
    assert_eq!(broken(&[&w]), Some("ordered"));
    // A header below the response's own events is wrong too.
    let low =
        response(10, &e[0..2]).replace("\"revision\":3,\"events\"", "\"revision\":2,\"events\"");
    let w = watch(1, 2, &responses(&[low]));
    assert_eq!(broken(&[&w]), Some("ordered"));
}

/// A progress notification: a response without events at `revision`.
fn progress(at_ns: u64, revision: i64) -> String {
    format!(r#"{{"at_ns":{at_ns},"revision":{revision},"events":[]}}"#)
}

#[test]
fn events_after_a_progress_notification_are_newer_than_it() {
    let e = good_events();
    let w = watch(
        1,
        2,
        &responses(&[
            response(10, &e[0..2]),
            progress(15, 3),
            response(20, &e[2..4]),
            progress(25, 5),
            progress(26, 5), // a quiet interval repeats the revision
            response(30, &e[4..5]),
        ]),
    );
    assert_eq!(broken(&[&w, &good_watch(2)]), None);
}

#[test]
fn an_event_at_or_before_a_progress_notification_breaks_bookmarkable() {
    // The notification at revision 4 says revisions 2-4 were all delivered; the put at 4
    // comes after it.
    let e = good_events();
    let w = watch(
        1,
        2,
        &responses(&[
            response(10, &e[0..2]),
            progress(15, 4),
            response(20, &e[2..4]),
        ]),
    );
    assert_eq!(broken(&[&w]), Some("bookmarkable"));
}

#[test]
fn a_progress_notification_past_a_missed_event_breaks_reliable() {
    // Watch 2 saw revisions 2 and 3, then a notification at 5: the put at 4 and the delete at
    // 5 (which watch 1 saw) never came.
    let e = good_events();
    let quiet = watch(2, 2, &responses(&[response(10, &e[0..2]), progress(20, 5)]));
    assert_eq!(broken(&[&good_watch(1), &quiet]), Some("reliable"));
    // The same notification at 3 is honest.
    let honest = watch(2, 2, &responses(&[response(10, &e[0..2]), progress(20, 3)]));
    assert_eq!(broken(&[&good_watch(1), &honest]), None);
    // A watch that got nothing but a notification covers its range from its start.
    let nothing = watch(2, 2, &responses(&[progress(20, 3)]));
    assert_eq!(broken(&[&good_watch(1), &nothing]), Some("reliable"));
}

#[test]
fn a_progress_notification_going_back_breaks_ordered() {
    // etcd issue #15220: a requested notification could carry a revision below the events
    // already sent.
    let e = good_events();
    let w = watch(1, 2, &responses(&[response(10, &e[0..4]), progress(20, 3)]));
    assert_eq!(broken(&[&w]), Some("ordered"));
}
