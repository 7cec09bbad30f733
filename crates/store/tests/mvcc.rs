//! MVCC semantics (etcd `mvcc` package behaviour).

use etcdlab_store::mvcc::prefix_end;
use etcdlab_store::{
    Compare, CompareResult, CompareTarget, Op, OpResult, RangeOptions, Revision, Store, StoreError,
    Value,
};

fn v(tag: u64) -> Value {
    Value::new(100, tag)
}

fn get(s: &Store, key: &str, rev: i64) -> Result<Option<(i64, i64, i64, u64)>, StoreError> {
    let r = s.range(
        key.as_bytes(),
        b"",
        &RangeOptions {
            rev,
            ..RangeOptions::default()
        },
    )?;
    Ok(r.kvs.first().map(|kv| {
        (
            kv.create_revision,
            kv.mod_revision,
            kv.version,
            kv.value.tag,
        )
    }))
}

#[test]
fn put_returns_revision_and_prev_kv() {
    let mut s = Store::new();
    assert_eq!(s.current_rev(), 1);
    let r1 = s.put(b"a", v(1), 0);
    assert_eq!(r1.rev, Revision { main: 2, sub: 0 });
    assert!(r1.prev_kv.is_none());
    let r2 = s.put(b"a", v(2), 7);
    assert_eq!(r2.rev.main, 3);
    let prev = r2.prev_kv.unwrap();
    assert_eq!((prev.mod_revision, prev.version, prev.value.tag), (2, 1, 1));
    // create_revision is kept, version counts puts, lease recorded
    assert_eq!(get(&s, "a", 0).unwrap(), Some((2, 3, 2, 2)));
    let kv = &s.range(b"a", b"", &RangeOptions::default()).unwrap().kvs[0];
    assert_eq!(kv.lease, 7);
}

#[test]
fn delete_makes_tombstone_and_new_generation() {
    let mut s = Store::new();
    s.put(b"a", v(1), 0); // 2
    s.put(b"a", v(2), 0); // 3
    let d = s.delete_range(b"a", b"");
    assert_eq!((d.deleted, d.rev), (1, 4));
    assert_eq!(d.prev_kvs[0].value.tag, 2);
    // deleting a missing key deletes nothing and does not bump the revision
    let d = s.delete_range(b"a", b"");
    assert_eq!((d.deleted, d.rev), (0, 4));
    s.put(b"a", v(3), 0); // 5: a new generation, version restarts
    assert_eq!(get(&s, "a", 0).unwrap(), Some((5, 5, 1, 3)));
    let ki = s.key_index(b"a").unwrap();
    assert_eq!(ki.generations.len(), 2);
    assert_eq!(ki.generations[0].revs.last().unwrap().main, 4); // the tombstone
    assert_eq!(ki.generations[0].ver, 3);
    // history: visible at 3, gone at 4
    assert_eq!(get(&s, "a", 3).unwrap(), Some((2, 3, 2, 2)));
    assert_eq!(get(&s, "a", 4).unwrap(), None);
}

#[test]
fn range_prefix_limit_count_keys_only() {
    let mut s = Store::new();
    for k in ["foo/a", "foo/b", "foo/c", "fop", "bar"] {
        s.put(k.as_bytes(), v(9), 0);
    }
    let end = prefix_end(b"foo/");
    let all = s.range(b"foo/", &end, &RangeOptions::default()).unwrap();
    assert_eq!(all.count, 3);
    assert_eq!(all.rev, 6);
    let lim = s
        .range(
            b"foo/",
            &end,
            &RangeOptions {
                limit: 2,
                ..RangeOptions::default()
            },
        )
        .unwrap();
    assert_eq!((lim.kvs.len(), lim.count, lim.more), (2, 3, true));
    let co = s
        .range(
            b"foo/",
            &end,
            &RangeOptions {
                count_only: true,
                ..RangeOptions::default()
            },
        )
        .unwrap();
    assert_eq!((co.kvs.len(), co.count), (0, 3));
    let ko = s
        .range(
            b"foo/a",
            b"",
            &RangeOptions {
                keys_only: true,
                ..RangeOptions::default()
            },
        )
        .unwrap();
    assert_eq!(ko.kvs[0].key, b"foo/a");
    assert_eq!(ko.kvs[0].value, Value::default());
    // range_end "\0": every key >= key
    let from = s.range(b"fo", &[0], &RangeOptions::default()).unwrap();
    assert_eq!(from.count, 4);
    // multi-key delete: one revision, subs 0, 1, 2
    let d = s.delete_range(b"foo/", &end);
    assert_eq!((d.deleted, d.rev), (3, 7));
    assert_eq!(
        s.key_index(b"foo/c").unwrap().modified,
        Revision { main: 7, sub: 2 }
    );
}

#[test]
fn range_at_old_revision_and_errors() {
    let mut s = Store::new();
    for i in 0..5 {
        s.put(b"k", v(i), 0); // revs 2..=6
    }
    assert_eq!(get(&s, "k", 3).unwrap().unwrap().3, 1);
    assert_eq!(get(&s, "k", 1).unwrap(), None);
    let e = get(&s, "k", 7).unwrap_err();
    assert_eq!(e, StoreError::FutureRev);
    assert_eq!(
        e.to_string(),
        "mvcc: required revision is a future revision"
    );
    s.compact(4).unwrap();
    let e = get(&s, "k", 3).unwrap_err();
    assert_eq!(e, StoreError::Compacted);
    assert_eq!(e.to_string(), "mvcc: required revision has been compacted");
    // reading at the compact revision itself is allowed
    assert_eq!(get(&s, "k", 4).unwrap().unwrap().1, 4);
    // compacting again at or below the compacted revision, or in the future, fails
    assert_eq!(s.compact(4), Err(StoreError::Compacted));
    assert_eq!(s.compact(9), Err(StoreError::FutureRev));
}

#[test]
fn compaction_keeps_newest_revision_at_or_below_r() {
    let mut s = Store::new();
    s.put(b"a", v(1), 0); // 2
    s.put(b"a", v(2), 0); // 3
    s.put(b"a", v(3), 0); // 4
    s.put(b"b", v(4), 0); // 5
    let st = s.compact(3).unwrap();
    assert_eq!(st.revisions_deleted, 1); // a@2
    let revs: Vec<i64> = s
        .key_index(b"a")
        .unwrap()
        .all_revisions()
        .map(|r| r.main)
        .collect();
    assert_eq!(revs, vec![3, 4]);
    assert_eq!(get(&s, "a", 3).unwrap().unwrap().3, 2);
    assert_eq!(s.revision_count(), 3);
}

#[test]
fn compaction_drops_generations_with_tombstone_below_r() {
    let mut s = Store::new();
    s.put(b"a", v(1), 0); // 2
    s.delete_range(b"a", b""); // 3
    s.put(b"b", v(1), 0); // 4
    s.compact(4).unwrap();
    // a's only generation ended at 3 < 4: the key vanishes, with both revisions
    assert!(s.key_index(b"a").is_none());
    assert_eq!(s.revision_count(), 1);
    assert_eq!(s.index_len(), 1);
}

#[test]
fn compaction_keeps_tombstone_exactly_at_r() {
    // etcd >= 3.4.34 / 3.5.16: a tombstone at the compact revision survives (so a watcher
    // starting at R still sees the delete); it goes at the next compaction above it.
    let mut s = Store::new();
    s.put(b"a", v(1), 0); // 2
    s.put(b"a", v(2), 0); // 3
    s.delete_range(b"a", b""); // 4
    s.put(b"b", v(1), 0); // 5
    s.compact(4).unwrap();
    let ki = s.key_index(b"a").expect("tombstone at R keeps the key");
    let revs: Vec<i64> = ki.all_revisions().map(|r| r.main).collect();
    assert_eq!(revs, vec![4]);
    assert_eq!(s.revision_count(), 2); // a's tombstone and b@5
    assert_eq!(get(&s, "a", 4).unwrap(), None);
    s.compact(5).unwrap();
    assert!(s.key_index(b"a").is_none());
    assert_eq!(s.revision_count(), 1);
}

#[test]
fn before_18274_a_tombstone_at_r_is_compacted_and_a_crash_before_finishing_loses_revisions() {
    // etcd's e2e reproduction of issue #17780: puts, then deletes at the newest revisions,
    // a compaction at the newest revision, a crash before finishedCompactRev is written.
    let build = || {
        let mut s = Store::new();
        s.put(b"a", v(1), 0); // 2
        s.put(b"b", v(2), 0); // 3
        s.put(b"c", v(3), 0); // 4
        s.delete_range(b"b", b""); // 5
        s.delete_range(b"c", b""); // 6
        s
    };
    let mut old = build();
    old.delete_tombstone_at_compact_rev();
    old.schedule_compaction(6).unwrap();
    assert!(old.key_index(b"c").is_none(), "the tombstone at 6 goes too");
    // Every batch deleted; the crash comes before the compaction is recorded finished.
    old.compaction_delete_batch(usize::MAX);
    old.restore_revision_before_17815();
    assert_eq!(old.current_rev(), 2, "back from 6 to a's put");
    assert_eq!(old.compact_rev(), -1, "the compaction stays unfinished");
    assert_eq!(
        old.put(b"d", v(4), 0).rev.main,
        3,
        "revision 3 handed out twice"
    );

    // Finished, the same restore keeps the revision (it is raised to finishedCompactRev).
    let mut done = build();
    done.delete_tombstone_at_compact_rev();
    done.compact(6).unwrap();
    done.restore_revision_before_17815();
    assert_eq!((done.current_rev(), done.compact_rev()), (6, 6));

    // etcd with #18274 keeps the tombstone at 6: nothing to lose even unfinished.
    let mut new = build();
    new.schedule_compaction(6).unwrap();
    new.compaction_delete_batch(usize::MAX);
    new.restore_revision_before_17815();
    assert_eq!(new.current_rev(), 6);
}

#[test]
fn compaction_keeps_live_generation_after_a_delete() {
    let mut s = Store::new();
    s.put(b"a", v(1), 0); // 2
    s.delete_range(b"a", b""); // 3
    s.put(b"a", v(2), 0); // 4
    s.put(b"a", v(3), 0); // 5
    s.compact(4).unwrap();
    let ki = s.key_index(b"a").unwrap();
    assert_eq!(
        ki.generations.len(),
        1,
        "the generation ended by the tombstone at 3 is gone"
    );
    let revs: Vec<i64> = ki.all_revisions().map(|r| r.main).collect();
    assert_eq!(revs, vec![4, 5]);
    assert_eq!(get(&s, "a", 0).unwrap(), Some((4, 5, 2, 3)));
}

fn cmp(key: &str, result: CompareResult, target: CompareTarget) -> Compare {
    Compare {
        key: key.as_bytes().to_vec(),
        result,
        target,
    }
}

#[test]
fn txn_compares_and_branches() {
    let mut s = Store::new();
    s.put(b"a", v(1), 0); // 2
    let put_b = Op::Put {
        key: b"b".to_vec(),
        value: v(5),
        lease: 0,
    };
    let put_c = Op::Put {
        key: b"c".to_vec(),
        value: v(6),
        lease: 0,
    };
    // success branch: compares on every target
    let ok = s.txn(
        &[
            cmp("a", CompareResult::Equal, CompareTarget::Value(v(1))),
            cmp("a", CompareResult::Equal, CompareTarget::Version(1)),
            cmp("a", CompareResult::Equal, CompareTarget::CreateRevision(2)),
            cmp("a", CompareResult::Less, CompareTarget::ModRevision(3)),
            cmp("zz", CompareResult::Equal, CompareTarget::Version(0)),
        ],
        &[put_b.clone(), put_c.clone()],
        &[],
    );
    assert!(ok.succeeded);
    assert_eq!(ok.rev, 3);
    let revs: Vec<Revision> = ok
        .results
        .iter()
        .map(|r| match r {
            OpResult::Put(p) => p.rev,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        revs,
        vec![Revision { main: 3, sub: 0 }, Revision { main: 3, sub: 1 }]
    );
    // failure branch: a value compare on a missing key is false
    let fail = s.txn(
        &[cmp(
            "zz",
            CompareResult::NotEqual,
            CompareTarget::Value(v(1)),
        )],
        &[put_b],
        &[
            Op::DeleteRange {
                key: b"c".to_vec(),
                range_end: vec![],
            },
            Op::Range {
                key: b"c".to_vec(),
                range_end: vec![],
                opts: RangeOptions::default(),
            },
        ],
    );
    assert!(!fail.succeeded);
    assert_eq!(fail.rev, 4);
    match &fail.results[1] {
        OpResult::Range(r) => assert_eq!(r.count, 0, "the txn sees its own delete"),
        _ => unreachable!(),
    }
    // a read-only txn does not bump the revision
    let ro = s.txn(
        &[cmp(
            "a",
            CompareResult::Greater,
            CompareTarget::ModRevision(1),
        )],
        &[Op::Range {
            key: b"a".to_vec(),
            range_end: vec![],
            opts: RangeOptions::default(),
        }],
        &[],
    );
    assert!(ro.succeeded);
    assert_eq!(ro.rev, 4);
    // put twice in one txn: versions 1 then 2, same main revision
    let twice = s.txn(
        &[],
        &[
            Op::Put {
                key: b"d".to_vec(),
                value: v(1),
                lease: 0,
            },
            Op::Put {
                key: b"d".to_vec(),
                value: v(2),
                lease: 0,
            },
        ],
        &[],
    );
    assert_eq!(twice.rev, 5);
    assert_eq!(get(&s, "d", 0).unwrap(), Some((5, 5, 2, 2)));
}

#[test]
fn hash_kv_is_stable_and_tracks_content() {
    let build = |tag: u64| {
        let mut s = Store::new();
        s.put(b"a", v(1), 0);
        s.put(b"b", v(tag), 0);
        s.put(b"a", v(3), 0);
        s
    };
    let s1 = build(2);
    let s2 = build(2);
    let s3 = build(99);
    let h1 = s1.hash_kv(0).unwrap();
    assert_eq!(h1, s2.hash_kv(0).unwrap());
    assert_eq!(h1.1, 4);
    assert_ne!(h1.0, s3.hash_kv(0).unwrap().0);
    // the hash at an old revision ignores later writes
    let mut s4 = build(2);
    let at4 = s4.hash_kv(4).unwrap().0;
    s4.put(b"c", v(5), 0);
    assert_eq!(s4.hash_kv(4).unwrap().0, at4);
    assert_ne!(s4.hash_kv(0).unwrap().0, at4);
    assert_eq!(s4.hash_kv(6), Err(StoreError::FutureRev));
    // a different value size with the same tag changes it too
    let mut s5 = Store::new();
    s5.put(b"a", Value::new(101, 1), 0);
    let mut s6 = Store::new();
    s6.put(b"a", Value::new(100, 1), 0);
    assert_ne!(s5.hash_kv(0).unwrap().0, s6.hash_kv(0).unwrap().0);
}
