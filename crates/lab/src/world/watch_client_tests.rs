//! The watch client against a member's store, without a world: each test writes to a store,
//! syncs the client as the world would every 100 ms, and reads what it delivered and asked for.

use super::*;
use etcdlab_store::Value;

const SYNC: Nanos = WATCH_SYNC_NS;

fn watch(events_per_s: Option<f64>) -> WatchState {
    WatchState::new(&spec(events_per_s, false), 0)
}

fn spec(events_per_s: Option<f64>, progress_notify: bool) -> WatchSpec {
    WatchSpec {
        name: "w".to_string(),
        member: 0,
        prefix: "/a/".to_string(),
        start_ns: 0,
        events_per_s,
        progress_notify,
        on_compacted: OnCompacted::Relist,
    }
}

/// A watch that asked for progress notifications, with the server's interval.
fn watch_with_progress(events_per_s: Option<f64>, interval_ns: Nanos) -> WatchState {
    WatchState::new(&spec(events_per_s, true), interval_ns)
}

/// The header revisions of the open stream's progress notifications (empty responses).
fn progress_notifications(ws: &WatchState) -> Vec<(Nanos, i64)> {
    let stream = ws.stream.as_ref().expect("a stream is open");
    stream
        .responses
        .iter()
        .filter(|r| r.events.is_empty())
        .map(|r| (r.at_ns, r.revision))
        .collect()
}

/// A put of `key` whose value is named `tag`; returns its revision.
fn put(store: &mut Store, key: &str, tag: u64) -> i64 {
    store.put(key.as_bytes(), Value::new(10, tag), 0);
    store.current_rev()
}

fn serving(store: &Store, era: u8) -> Option<WatchedMember<'_>> {
    Some(WatchedMember {
        store,
        era,
        snapshots_installed: 0,
        bug: None,
    })
}

/// One sync at `now`: its verdict and outputs.
fn sync(
    ws: &mut WatchState,
    member: Option<WatchedMember<'_>>,
    now: Nanos,
) -> (Result<(), Violation>, Vec<WatchOutput>) {
    let mut out = Vec::new();
    let seen = ws.sync(0, member, now, &mut out);
    (seen, out)
}

/// The event revisions of each response of the open stream.
fn responses(ws: &WatchState) -> Vec<Vec<i64>> {
    let stream = ws.stream.as_ref().expect("a stream is open");
    stream
        .responses
        .iter()
        .map(|r| r.events.iter().map(|e| e.revision).collect())
        .collect()
}

#[test]
fn a_new_watch_lists_first_then_gets_each_matching_revision_once_in_order() {
    let mut store = Store::new();
    put(&mut store, "/a/1", 1);
    let listed_at = put(&mut store, "/b/1", 2);
    let mut ws = watch(None);
    let (seen, out) = sync(&mut ws, serving(&store, 0), 0);
    assert!(seen.is_ok() && out.is_empty(), "{out:?}");
    assert_eq!(ws.stream.as_ref().unwrap().start_revision, listed_at + 1);
    assert!(responses(&ws).is_empty(), "the list is not a watch event");

    let first = put(&mut store, "/a/2", 3);
    put(&mut store, "/b/2", 4);
    let last = put(&mut store, "/a/1", 5);
    let (seen, out) = sync(&mut ws, serving(&store, 0), SYNC);
    assert!(seen.is_ok() && out.is_empty(), "{seen:?} {out:?}");
    assert_eq!(responses(&ws), vec![vec![first, last]]);
    let response = &ws.stream.as_ref().unwrap().responses[0];
    assert_eq!(
        response.revision, last,
        "the header is the member's revision"
    );
    assert_eq!(response.events[1].version, Some(2), "/a/1's second put");

    let (seen, _) = sync(&mut ws, serving(&store, 0), 2 * SYNC);
    assert!(seen.is_ok());
    assert_eq!(responses(&ws).len(), 1, "nothing new, no response");
    assert_eq!(ws.delivered, 2);
}

#[test]
fn a_member_that_cannot_serve_delays_events_but_loses_none() {
    let mut store = Store::new();
    let mut ws = watch(None);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    let revs: Vec<i64> = (0..3).map(|i| put(&mut store, "/a/k", i)).collect();
    let (seen, out) = sync(&mut ws, None, SYNC);
    assert!(seen.is_ok() && out.is_empty());
    assert!(responses(&ws).is_empty(), "down: nothing delivered");
    let (seen, _) = sync(&mut ws, serving(&store, 0), 2 * SYNC);
    assert!(seen.is_ok());
    assert_eq!(responses(&ws), vec![revs]);
}

#[test]
fn a_compacted_revision_ends_the_stream_with_etcds_error_and_the_client_relists() {
    let mut store = Store::new();
    let mut ws = watch(None);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    let needed = put(&mut store, "/a/1", 1);
    put(&mut store, "/a/2", 2);
    let compacted_at = put(&mut store, "/b/1", 3);
    store.compact(compacted_at).unwrap();
    let (seen, out) = sync(&mut ws, serving(&store, 0), SYNC);
    assert!(seen.is_ok());
    let [WatchOutput::StreamEnded(ended), WatchOutput::Relisted(relist)] = &out[..] else {
        panic!("expected the ended stream and the relist: {out:?}");
    };
    assert_eq!(ended.end, Some((SYNC, Some(ERR_WATCH_COMPACTED))));
    assert!(ended.responses.is_empty());
    assert_eq!(
        (relist.needed_rev, relist.compact_rev, relist.keys),
        (needed, compacted_at, 2)
    );
    assert_eq!(
        ws.stream.as_ref().unwrap().start_revision,
        compacted_at + 1,
        "watches again after the list"
    );
}

#[test]
fn a_restore_ends_the_stream_and_the_next_era_is_another_stream() {
    let mut store = Store::new();
    let mut ws = watch(None);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    let before = put(&mut store, "/a/1", 1);
    assert!(sync(&mut ws, serving(&store, 0), SYNC).0.is_ok());
    let (seen, out) = sync(&mut ws, serving(&store, 1), 2 * SYNC);
    assert!(seen.is_ok());
    let [WatchOutput::StreamEnded(ended)] = &out[..] else {
        panic!("expected the ended stream: {out:?}");
    };
    assert_eq!((ended.era, ended.end), (0, Some((2 * SYNC, None))));
    let open = ws.close().expect("the new era's stream");
    assert_eq!((open.era, open.start_revision), (1, before + 1));
    assert!(ws.close().is_none(), "closed once");
}

#[test]
fn a_slow_consumer_takes_whole_revisions_at_its_rate_and_falls_behind() {
    let mut store = Store::new();
    let mut ws = watch(Some(10.0)); // one revision per 100 ms sync
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    let revs: Vec<i64> = (0..4).map(|i| put(&mut store, "/a/k", i)).collect();
    for i in 1..=2 {
        let (seen, _) = sync(&mut ws, serving(&store, 0), i * SYNC);
        assert!(seen.is_ok());
    }
    assert_eq!(responses(&ws), vec![vec![revs[0]], vec![revs[1]]]);
    assert_eq!(ws.max_lag_revisions, 4);
}

#[test]
fn with_the_duplicate_event_bug_a_client_behind_gets_a_revision_twice_and_the_check_fails() {
    let mut store = Store::new();
    let mut ws = watch(Some(10.0));
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    let revs: Vec<i64> = (0..3).map(|i| put(&mut store, "/a/k", i)).collect();
    let buggy = |store| {
        Some(WatchedMember {
            store,
            era: 0,
            snapshots_installed: 0,
            bug: Some(EtcdBug::DuplicateWatchEvent),
        })
    };
    let (seen, _) = sync(&mut ws, buggy(&store), SYNC);
    assert!(seen.is_ok(), "the first read is right");
    let (seen, _) = sync(&mut ws, buggy(&store), 2 * SYNC);
    let v = seen.expect_err("the repeated revision is caught");
    assert_eq!(v.invariant, "watch events in order, unique and complete");
    assert_eq!(
        responses(&ws)[1],
        vec![revs[0], revs[1]],
        "the first revision again: {v:?}"
    );
}

#[test]
fn an_apiservers_watch_asks_for_a_relist_then_passes_every_registry_event() {
    let mut store = Store::new();
    put(&mut store, "/registry/pods/default/p0", 1);
    let mut ws = WatchState::apiserver(2, 0);
    let (_, out) = sync(&mut ws, serving(&store, 0), 0);
    let [WatchOutput::ApiserverRelist {
        apiserver: 2,
        prefix,
        ..
    }] = &out[..]
    else {
        panic!("expected a relist of apiserver 2: {out:?}");
    };
    assert_eq!(prefix, b"/registry/");
    let rev = put(&mut store, "/registry/pods/default/p1", 2);
    put(&mut store, "/other", 3);
    let (seen, out) = sync(&mut ws, serving(&store, 0), SYNC);
    assert!(seen.is_ok());
    let [WatchOutput::ApiserverEvents {
        apiserver: 2,
        events,
    }] = &out[..]
    else {
        panic!("expected events for apiserver 2: {out:?}");
    };
    assert_eq!(
        events.iter().map(|e| e.rev.main).collect::<Vec<_>>(),
        vec![rev]
    );
}

#[test]
fn a_watch_does_nothing_before_its_start() {
    let store = Store::new();
    let mut ws = WatchState::new(
        &WatchSpec {
            start_ns: 5 * SYNC,
            ..watch(None).spec
        },
        0,
    );
    let (seen, out) = sync(&mut ws, serving(&store, 0), SYNC);
    assert!(seen.is_ok() && out.is_empty());
    assert!(ws.close().is_none(), "not started");
}

#[test]
fn with_the_back_in_time_bug_a_snapshot_install_sends_the_newest_revision_first() {
    let mut store = Store::new();
    let mut ws = watch(None);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    // Partitioned: the member's store stays; the leader's snapshot brings four revisions.
    let revs: Vec<i64> = (0..4).map(|i| put(&mut store, "/a/k", i)).collect();
    let restored = |installs| {
        Some(WatchedMember {
            store: &store,
            era: 0,
            snapshots_installed: installs,
            bug: Some(EtcdBug::WatchBackInTimeAfterSnapshot),
        })
    };
    // The lab's own check sees the skipped revisions at once (the run goes on under a bug).
    let (seen, _) = sync(&mut ws, restored(1), SYNC);
    assert!(seen.is_err(), "revisions skipped");
    let (seen, _) = sync(&mut ws, restored(1), 2 * SYNC);
    let v = seen.expect_err("going back is caught");
    assert_eq!(
        responses(&ws),
        vec![vec![revs[3]], revs.clone()],
        "newest first, then from where it was: {v:?}"
    );

    // Without the bug the same install delivers each revision once, in order.
    let mut ws = watch(None);
    let fresh = Store::new();
    assert!(sync(&mut ws, serving(&fresh, 0), 0).0.is_ok());
    let member = Some(WatchedMember {
        store: &store,
        era: 0,
        snapshots_installed: 1,
        bug: None,
    });
    assert!(sync(&mut ws, member, SYNC).0.is_ok());
    assert_eq!(responses(&ws), vec![revs]);
}

#[test]
fn a_quiet_synced_watch_gets_a_progress_notification_each_interval() {
    let mut store = Store::new();
    put(&mut store, "/a/k", 1);
    let mut ws = watch_with_progress(None, 10 * SYNC);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok()); // lists at revision 2
    for tick in 1..=25 {
        if tick == 12 {
            put(&mut store, "/a/k", 2); // revision 3, delivered at tick 12
        }
        if tick == 14 {
            put(&mut store, "/b/other", 3); // revision 4: not in the range, no event
        }
        assert!(sync(&mut ws, serving(&store, 0), tick * SYNC).0.is_ok());
    }
    // Ticks at 10, 20 (an event in between: none), 30 would come later; the one at 20 is
    // skipped, the next interval (20..30) saw no event but has not ended.
    assert_eq!(progress_notifications(&ws), vec![(10 * SYNC, 2)]);
    for tick in 26..=30 {
        assert!(sync(&mut ws, serving(&store, 0), tick * SYNC).0.is_ok());
    }
    // At 30: no event since 20, synced, at the store's revision (4, a key it does not watch).
    assert_eq!(
        progress_notifications(&ws),
        vec![(10 * SYNC, 2), (30 * SYNC, 4)]
    );
    assert_eq!(responses(&ws), vec![vec![], vec![3], vec![]]);
}

#[test]
fn a_watch_behind_the_store_gets_no_progress_notification() {
    let mut store = Store::new();
    let mut ws = watch_with_progress(Some(10.0), 5 * SYNC);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    for tick in 1..=20 {
        put(&mut store, "/a/k", tick); // 10 revisions a second, the client takes 10
        put(&mut store, "/b/k", tick); // and the store moves twice as fast
        assert!(sync(&mut ws, serving(&store, 0), tick * SYNC).0.is_ok());
    }
    assert!(ws.behind, "the client is behind the store");
    assert_eq!(
        progress_notifications(&ws),
        vec![],
        "unsynced: no notification"
    );

    // Without progress_notify there are none either, synced or not.
    let mut ws = watch(None);
    assert!(sync(&mut ws, serving(&store, 0), 0).0.is_ok());
    for tick in 1..=30 {
        assert!(sync(&mut ws, serving(&store, 0), tick * SYNC).0.is_ok());
    }
    assert_eq!(responses(&ws), Vec::<Vec<i64>>::new());
}

#[test]
fn with_the_progress_ahead_bug_a_watch_behind_is_told_of_revisions_it_has_not_received() {
    let mut store = Store::new();
    let mut ws = watch_with_progress(Some(10.0), 5 * SYNC);
    fn buggy(store: &Store) -> Option<WatchedMember<'_>> {
        Some(WatchedMember {
            store,
            era: 0,
            snapshots_installed: 0,
            bug: Some(EtcdBug::ProgressNotifyAheadOfEvents),
        })
    }
    assert!(sync(&mut ws, buggy(&store), 0).0.is_ok());
    for tick in 1..=10 {
        put(&mut store, "/a/k", tick);
        put(&mut store, "/a/j", tick); // 20 revisions a second; the client takes 10
        assert!(sync(&mut ws, buggy(&store), tick * SYNC).0.is_ok());
    }
    let notified = progress_notifications(&ws);
    assert_eq!(notified, vec![(5 * SYNC, 11), (10 * SYNC, 21)]);
    let last_event = responses(&ws).concat().into_iter().max().unwrap();
    assert!(last_event < 21, "delivered up to {last_event} only");
}

/// A store whose compaction at its current revision hits a delete: /a/1 put at 2, /a/2 put
/// at 3, /a/1 deleted at 4, compacted at 4. Returns the store.
fn compacted_at_a_delete() -> Store {
    let mut store = Store::new();
    put(&mut store, "/a/1", 1);
    put(&mut store, "/a/2", 2);
    store.delete_range(b"/a/1", &[]);
    assert_eq!(store.current_rev(), 4);
    store.compact(4).unwrap();
    store
}

/// A client that resumes from the compact revision after a compacted error, having listed
/// before the first put.
fn resuming_watch_behind(store: &Store, bug: Option<EtcdBug>) -> WatchState {
    let mut ws = WatchState::new(
        &WatchSpec {
            on_compacted: OnCompacted::Resume,
            ..spec(None, false)
        },
        0,
    );
    let empty = Store::new();
    assert!(sync(&mut ws, serving(&empty, 0), 0).0.is_ok()); // watches from revision 2
    let member = Some(WatchedMember {
        store,
        era: 0,
        snapshots_installed: 0,
        bug,
    });
    let (seen, out) = sync(&mut ws, member, SYNC);
    assert!(seen.is_ok());
    let [WatchOutput::StreamEnded(ended)] = &out[..] else {
        panic!("the compacted stream ends, no relist: {out:?}");
    };
    assert_eq!(ended.end, Some((SYNC, Some(ERR_WATCH_COMPACTED))));
    assert_eq!(
        ws.stream.as_ref().unwrap().start_revision,
        4,
        "resumes at 4"
    );
    ws
}

#[test]
fn a_client_resuming_at_the_compact_revision_gets_the_delete_there() {
    let store = compacted_at_a_delete();
    let mut ws = resuming_watch_behind(&store, None);
    assert!(sync(&mut ws, serving(&store, 0), 2 * SYNC).0.is_ok());
    let stream = ws.close().unwrap();
    let events = &stream.responses[0].events;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].kind, events[0].revision), (SeenKind::Delete, 4));
}

#[test]
fn with_the_compacted_delete_bug_the_resumed_watch_misses_it() {
    let store = compacted_at_a_delete();
    let mut ws = resuming_watch_behind(&store, Some(EtcdBug::WatchDropOnCompactedDelete));
    let member = Some(WatchedMember {
        store: &store,
        era: 0,
        snapshots_installed: 0,
        bug: Some(EtcdBug::WatchDropOnCompactedDelete),
    });
    let (seen, _) = sync(&mut ws, member, 2 * SYNC);
    assert!(seen.is_err(), "the lab's own check sees the missing event");
    assert!(ws.close().unwrap().responses.is_empty(), "no delete");
}
