//! Watch scripts: history catch-up, live events, compacted starts, and the stream checker.

use etcdlab_store::mvcc::prefix_end;
use etcdlab_store::watch::MAX_WATCHERS_PER_SYNC;
use etcdlab_store::{
    Event, EventKind, Op, Revision, Store, StoreError, Value, WatchError, WatchStreamChecker,
    Watchers,
};

fn rev(main: i64, sub: i64) -> Revision {
    Revision { main, sub }
}

fn put_ev(key: &str, main: i64, sub: i64, size: u32) -> Event {
    Event {
        kind: EventKind::Put,
        key: key.as_bytes().to_vec(),
        rev: rev(main, sub),
        value_size_bytes: size,
    }
}

fn del_ev(key: &str, main: i64, sub: i64) -> Event {
    Event {
        kind: EventKind::Delete,
        key: key.as_bytes().to_vec(),
        rev: rev(main, sub),
        value_size_bytes: 0,
    }
}

/// Writes `key` and tells the watchers, as the apply loop would. Returns the revision.
fn put(s: &mut Store, w: &mut Watchers, key: &str, size: u32) -> i64 {
    let r = s.put(key.as_bytes(), Value::new(size, 1), 0);
    w.notify(&[put_ev(key, r.rev.main, r.rev.sub, size)]);
    r.rev.main
}

fn del(s: &mut Store, w: &mut Watchers, key: &str) -> i64 {
    let d = s.delete_range(key.as_bytes(), b"");
    assert_eq!(d.deleted, 1, "{key} was live");
    w.notify(&[del_ev(key, d.rev, 0)]);
    d.rev
}

fn revs(events: &[Event]) -> Vec<(i64, i64)> {
    events.iter().map(|e| (e.rev.main, e.rev.sub)).collect()
}

#[test]
fn store_events_read_the_history_of_a_range() {
    let mut s = Store::new();
    s.put(b"a", Value::new(10, 1), 0); // 2
    s.put(b"b", Value::new(20, 1), 0); // 3
    s.txn(
        &[],
        &[
            Op::Put {
                key: b"a".to_vec(),
                value: Value::new(30, 2),
                lease: 0,
            },
            Op::DeleteRange {
                key: b"b".to_vec(),
                range_end: Vec::new(),
            },
        ],
        &[],
    ); // 4.0, 4.1
    s.put(b"c", Value::new(40, 1), 0); // 5

    let all = s.events(2, 5, b"", &[0]).unwrap();
    assert_eq!(
        all,
        vec![
            put_ev("a", 2, 0, 10),
            put_ev("b", 3, 0, 20),
            put_ev("a", 4, 0, 30),
            del_ev("b", 4, 1),
            put_ev("c", 5, 0, 40),
        ]
    );
    assert_eq!(revs(&s.events(3, 4, b"a", b"").unwrap()), [(4, 0)]);
    assert_eq!(revs(&s.events(2, 5, b"b", b"c").unwrap()), [(3, 0), (4, 1)]);
    assert!(s.events(5, 4, b"", &[0]).unwrap().is_empty());
    assert_eq!(s.events(2, 6, b"", &[0]), Err(StoreError::FutureRev));

    s.compact(4).unwrap();
    assert_eq!(s.events(3, 5, b"", &[0]), Err(StoreError::Compacted));
    // the compact revision itself is readable
    assert_eq!(
        revs(&s.events(4, 5, b"", &[0]).unwrap()),
        [(4, 0), (4, 1), (5, 0)]
    );
}

#[test]
fn watchers_start_synced_from_now_or_the_future_and_unsynced_from_the_past() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    for _ in 0..4 {
        put(&mut s, &mut w, "k", 1);
    }
    let (cur, compact) = (s.current_rev(), s.compact_rev());
    assert_eq!(cur, 5);
    w.watch(1, b"k", b"", 0, cur, compact).unwrap();
    w.watch(2, b"k", b"", cur + 1, cur, compact).unwrap();
    w.watch(3, b"k", b"", cur, cur, compact).unwrap();
    w.watch(4, b"k", b"", 2, cur, compact).unwrap();
    assert_eq!(w.is_synced(1), Some(true));
    assert_eq!(w.is_synced(2), Some(true));
    assert_eq!(w.is_synced(3), Some(false));
    assert_eq!(w.is_synced(4), Some(false));
    assert_eq!((w.synced_count(), w.unsynced_count()), (2, 2));
    assert_eq!(
        w.watch(1, b"x", b"", 0, cur, compact),
        Err(WatchError::DuplicateId)
    );
    assert_eq!(w.progress_rev(4), Some(1));
    assert_eq!(w.progress_rev(1), Some(5));
    assert!(w.cancel(3));
    assert!(!w.cancel(3));
    assert_eq!(w.is_synced(3), None);
}

#[test]
fn a_watch_from_history_catches_up_then_gets_live_events() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    put(&mut s, &mut w, "a", 1); // 2
    put(&mut s, &mut w, "b", 2); // 3
    del(&mut s, &mut w, "a"); // 4

    w.watch(1, b"a", b"", 2, s.current_rev(), s.compact_rev())
        .unwrap();
    let mut check = WatchStreamChecker::new(1, b"a", b"", 2);
    // unsynced: a live write does not reach it yet
    put(&mut s, &mut w, "a", 3); // 5
    assert_eq!(w.pending_events(1), 0);
    assert_eq!(w.progress_rev(1), Some(1));

    let report = w.sync_unsynced(&s, MAX_WATCHERS_PER_SYNC);
    assert_eq!(report.synced, vec![1]);
    assert_eq!(report.events, 3);
    assert_eq!(w.is_synced(1), Some(true));
    let caught_up = w.take_events(1);
    assert_eq!(
        caught_up,
        vec![
            put_ev("a", 2, 0, 1),
            del_ev("a", 4, 0),
            put_ev("a", 5, 0, 3)
        ]
    );
    check.observe(&caught_up).unwrap();

    // now live
    put(&mut s, &mut w, "b", 4); // 6: not watched
    put(&mut s, &mut w, "a", 5); // 7
    let live = w.take_events(1);
    assert_eq!(live, vec![put_ev("a", 7, 0, 5)]);
    check.observe(&live).unwrap();
    assert_eq!(w.progress_rev(1), Some(7));
    check.verify(&s, w.progress_rev(1).unwrap()).unwrap();
    assert_eq!(check.delivered(), 4);
    assert_eq!(check.verified_through(), 7);
}

#[test]
fn a_compacted_start_revision_cancels_the_watch() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    for i in 0..6 {
        put(&mut s, &mut w, "k", i); // 2..=7
    }
    s.compact(5).unwrap();
    let (cur, compact) = (s.current_rev(), s.compact_rev());

    let err = w.watch(1, b"k", b"", 4, cur, compact).unwrap_err();
    assert_eq!(err, WatchError::Compacted { compact_rev: 5 });
    assert_eq!(
        err.to_string(),
        "mvcc: required revision has been compacted"
    );
    assert_eq!(w.is_synced(1), None, "not registered");

    // the compact revision itself is allowed
    w.watch(2, b"k", b"", 5, cur, compact).unwrap();
    let report = w.sync_unsynced(&s, MAX_WATCHERS_PER_SYNC);
    assert_eq!(report.synced, vec![2]);
    assert_eq!(revs(&w.take_events(2)), [(5, 0), (6, 0), (7, 0)]);

    // compacted after the watch was created, before it caught up
    w.watch(3, b"k", b"", 6, cur, compact).unwrap();
    put(&mut s, &mut w, "k", 9); // 8
    s.compact(7).unwrap();
    let report = w.sync_unsynced(&s, MAX_WATCHERS_PER_SYNC);
    assert_eq!(report.compacted, vec![(3, 7)]);
    assert!(report.synced.is_empty());
    assert_eq!(w.is_synced(3), None, "cancelled");
    // the synced watcher was not affected
    assert_eq!(revs(&w.take_events(2)), [(8, 0)]);
}

#[test]
fn a_future_start_waits_for_its_revision_and_ranges_match_prefixes() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    let cur = s.current_rev();
    w.watch(1, b"p/", &prefix_end(b"p/"), cur + 3, cur, -1)
        .unwrap();
    w.watch(2, b"p/", &prefix_end(b"p/"), 0, cur, -1).unwrap();
    put(&mut s, &mut w, "p/a", 1); // 2
    put(&mut s, &mut w, "q", 1); // 3
    put(&mut s, &mut w, "p/b", 1); // 4
    put(&mut s, &mut w, "p", 1); // 5
    assert_eq!(revs(&w.take_events(1)), [(4, 0)]);
    assert_eq!(revs(&w.take_events(2)), [(2, 0), (4, 0)]);
}

#[test]
fn a_txn_delivers_every_sub_once_even_if_notified_twice() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    w.watch(1, b"", &[0], 0, s.current_rev(), s.compact_rev())
        .unwrap();
    let t = s.txn(
        &[],
        &[
            Op::Put {
                key: b"x".to_vec(),
                value: Value::new(7, 1),
                lease: 0,
            },
            Op::Put {
                key: b"y".to_vec(),
                value: Value::new(8, 1),
                lease: 0,
            },
        ],
        &[],
    );
    let events = s.events(t.rev, t.rev, b"", &[0]).unwrap();
    assert_eq!(w.notify(&events), vec![1]);
    assert!(w.notify(&events).is_empty(), "already delivered");
    assert_eq!(
        w.drain(),
        vec![(1, vec![put_ev("x", 2, 0, 7), put_ev("y", 2, 1, 8)])]
    );
    assert!(w.drain().is_empty());
}

#[test]
fn a_write_read_by_the_sync_before_its_notify_is_not_delivered_twice() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    put(&mut s, &mut w, "k", 1); // 2
    w.watch(1, b"k", b"", 2, s.current_rev(), s.compact_rev())
        .unwrap();
    let mut check = WatchStreamChecker::new(1, b"k", b"", 2);
    // applied to the store, the sync runs, then the notify for that write arrives
    let r = s.put(b"k", Value::new(2, 1), 0); // 3
    w.sync_unsynced(&s, MAX_WATCHERS_PER_SYNC);
    w.notify(&[put_ev("k", r.rev.main, 0, 2)]);
    put(&mut s, &mut w, "k", 3); // 4
    let got = w.take_events(1);
    assert_eq!(revs(&got), [(2, 0), (3, 0), (4, 0)]);
    check.observe(&got).unwrap();
    check.verify(&s, w.progress_rev(1).unwrap()).unwrap();
}

#[test]
fn a_sync_pass_handles_at_most_max_watchers() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    put(&mut s, &mut w, "k", 1);
    for id in [3, 1, 2] {
        w.watch(id, b"k", b"", 2, s.current_rev(), s.compact_rev())
            .unwrap();
    }
    assert_eq!(w.sync_unsynced(&s, 2).synced, vec![1, 2]);
    assert_eq!(w.unsynced_count(), 1);
    assert_eq!(w.sync_unsynced(&s, 2).synced, vec![3]);
    assert_eq!(w.sync_unsynced(&s, 2), Default::default());
}

/// A store with history on "k" and "j", and its events for "k" from revision 2.
fn history() -> (Store, Vec<Event>) {
    let mut s = Store::new();
    let mut w = Watchers::new();
    put(&mut s, &mut w, "k", 1); // 2
    put(&mut s, &mut w, "j", 1); // 3
    put(&mut s, &mut w, "k", 2); // 4
    del(&mut s, &mut w, "k"); // 5
    put(&mut s, &mut w, "k", 3); // 6
    let events = s.events(2, 6, b"k", b"").unwrap();
    assert_eq!(events.len(), 4);
    (s, events)
}

#[test]
fn the_checker_accepts_a_complete_stream_in_any_batching() {
    let (s, events) = history();
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    c.observe(&events[..1]).unwrap();
    c.verify(&s, 3).unwrap();
    c.observe(&events[1..3]).unwrap();
    c.observe(&[]).unwrap();
    c.verify(&s, 5).unwrap();
    c.observe(&events[3..]).unwrap();
    c.verify(&s, 6).unwrap();
    assert_eq!((c.delivered(), c.unverified()), (4, 0));
}

#[test]
fn the_checker_catches_a_gap() {
    let (s, events) = history();
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    let gap = [events[0].clone(), events[2].clone(), events[3].clone()];
    c.observe(&gap).unwrap(); // still increasing: only the history shows the hole
    let err = c.verify(&s, 6).unwrap_err();
    assert!(err.contains("missing event Put k at 4.0"), "{err}");
    // a stream that stops early is also a gap
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    c.observe(&events[..3]).unwrap();
    let err = c.verify(&s, 6).unwrap_err();
    assert!(err.contains("missing event Put k at 6.0"), "{err}");
}

#[test]
fn the_checker_catches_a_duplicate_and_a_reorder() {
    let (_, events) = history();
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    c.observe(&events[..2]).unwrap();
    let err = c.observe(&events[1..2]).unwrap_err();
    assert!(err.contains("duplicate event Put k at 4.0"), "{err}");

    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    let swapped = [events[0].clone(), events[2].clone(), events[1].clone()];
    let err = c.observe(&swapped).unwrap_err();
    assert!(err.contains("out of order"), "{err}");
}

#[test]
fn the_checker_catches_foreign_wrong_early_and_late_events() {
    let (s, events) = history();
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    let err = c.observe(&[put_ev("j", 3, 0, 1)]).unwrap_err();
    assert!(err.contains("outside the watched range"), "{err}");

    let mut c = WatchStreamChecker::new(1, b"k", b"", 3);
    let err = c.observe(&events[..1]).unwrap_err();
    assert!(err.contains("before the start revision 3"), "{err}");

    // an event the store never had (wrong value size)
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    let mut wrong = events.clone();
    wrong[1].value_size_bytes = 99;
    c.observe(&wrong).unwrap();
    let err = c.verify(&s, 6).unwrap_err();
    assert!(err.contains("at 4.0 got Put k"), "{err}");

    // an event at a revision with nothing for the key
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    c.observe(&[events[0].clone(), put_ev("k", 3, 0, 1)])
        .unwrap();
    let err = c.verify(&s, 3).unwrap_err();
    assert!(err.contains("unexpected event Put k at 3.0"), "{err}");

    // arriving after its revision was declared complete
    let mut c = WatchStreamChecker::new(1, b"k", b"", 2);
    c.observe(&events[..1]).unwrap();
    c.verify(&s, 3).unwrap();
    c.observe(&events[1..2]).unwrap(); // 4.0 > 3: fine
    c.verify(&s, 4).unwrap();
    let late = put_ev("k", 4, 5, 1);
    let err = c.observe(&[late]).unwrap_err();
    assert!(err.contains("verified complete through 4"), "{err}");
}

/// A deterministic mix of writes, watch creations (past, now, future, prefixes), syncs of a
/// few watchers at a time and compactions: every stream checks out.
#[test]
fn many_watchers_across_syncs_and_compactions_lose_nothing() {
    let mut s = Store::new();
    let mut w = Watchers::new();
    let mut checkers: Vec<(i64, WatchStreamChecker)> = Vec::new();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut cancelled = 0;
    let mut started_unsynced = 0;
    for step in 0..3000 {
        let key = format!("k{}", next(8));
        match next(10) {
            0 => {
                if s.range(key.as_bytes(), b"", &Default::default())
                    .unwrap()
                    .count
                    == 1
                {
                    del(&mut s, &mut w, &key);
                }
            }
            1 => {
                let t = s.txn(
                    &[],
                    &[
                        Op::Put {
                            key: key.clone().into_bytes(),
                            value: Value::new(3, 3),
                            lease: 0,
                        },
                        Op::DeleteRange {
                            key: b"k".to_vec(),
                            range_end: b"k4".to_vec(),
                        },
                    ],
                    &[],
                );
                let evs = s.events(t.rev, t.rev, b"", &[0]).unwrap();
                w.notify(&evs);
            }
            _ => {
                put(&mut s, &mut w, &key, next(100) as u32);
            }
        }
        if step % 25 == 0 {
            let id = step as i64;
            let (cur, compact) = (s.current_rev(), s.compact_rev());
            let start = match next(4) {
                0 => 0,
                1 => cur + 1 + next(5) as i64,
                _ => (compact.max(2) + next((cur - compact.max(2) + 1) as u64) as i64).max(2),
            };
            let (k, end) = if next(2) == 0 {
                (key.clone().into_bytes(), Vec::new())
            } else {
                (b"k".to_vec(), prefix_end(b"k"))
            };
            w.watch(id, &k, &end, start, cur, compact).unwrap();
            started_unsynced += usize::from(w.is_synced(id) == Some(false));
            let first = if start == 0 { cur + 1 } else { start };
            checkers.push((id, WatchStreamChecker::new(id, &k, &end, first)));
        }
        if step % 7 == 0 {
            let report = w.sync_unsynced(&s, 3);
            for (id, _) in &report.compacted {
                checkers.retain(|(c, _)| c != id);
                cancelled += 1;
            }
        }
        for (id, c) in checkers.iter_mut() {
            c.observe(&w.take_events(*id)).unwrap();
            c.verify(&s, w.progress_rev(*id).unwrap()).unwrap();
        }
        if step % 400 == 399 {
            s.compact(s.current_rev() - 30).unwrap();
        }
    }
    while w.unsynced_count() > 0 {
        let report = w.sync_unsynced(&s, 3);
        for (id, _) in &report.compacted {
            checkers.retain(|(c, _)| c != id);
            cancelled += 1;
        }
    }
    let mut delivered = 0;
    for (id, c) in checkers.iter_mut() {
        c.observe(&w.take_events(*id)).unwrap();
        let through = w.progress_rev(*id).unwrap();
        assert!(through >= s.current_rev(), "watch {id} behind at {through}");
        c.verify(&s, through).unwrap();
        delivered += c.delivered();
    }
    assert!(started_unsynced > 20, "{started_unsynced}");
    assert!(delivered > 10_000, "{delivered}");
    assert!(
        checkers.len() > 100,
        "{} streams left, {cancelled} cancelled",
        checkers.len()
    );
}
