//! Snapshot files (`etcdctl snapshot save` / raw copy), their status and a restore's losses.

use std::time::Instant;

use etcdlab_store::snapshot::MISSING_HASH_ERROR;
use etcdlab_store::{diff_grouped, ResourceChanges, SnapshotFile, Store, Value};

fn put(s: &mut Store, key: &str, tag: u64) {
    s.put(key.as_bytes(), Value::new(100, tag), 0);
}

/// Ground truth D: a0..a9 on a fresh 3-member cluster, then S1.
fn ten_puts() -> Store {
    let mut s = Store::new();
    for i in 0..10 {
        put(&mut s, &format!("a{i}"), i);
    }
    s
}

#[test]
fn status_of_ground_truth_d_shape() {
    let s1 = SnapshotFile::save(&ten_puts(), 3, 0, 0);
    assert_eq!(s1.revision, 11);
    assert_eq!(s1.total_keys, 16);
    assert_eq!(s1.compact_revision, -1);
    assert!(s1.has_integrity_hash);
    assert_eq!(s1.size_bytes, s1.db_size_bytes() + 32);
    // S2: ten more puts.
    let mut s = ten_puts();
    for i in 0..10 {
        put(&mut s, &format!("b{i}"), 100 + i);
    }
    let s2 = SnapshotFile::save(&s, 3, 0, 0);
    assert_eq!((s2.revision, s2.total_keys), (21, 26));
    // Leases and alarms are keys of their buckets.
    assert_eq!(SnapshotFile::save(&s, 3, 2, 1).total_keys, 29);

    let raw = SnapshotFile::raw_copy(&ten_puts(), 3, 0, 0);
    assert!(!raw.has_integrity_hash);
    assert_eq!(raw.size_bytes, raw.db_size_bytes());
    assert_eq!(raw.hash, s1.hash);

    let empty = SnapshotFile::save(&Store::new(), 1, 0, 0);
    assert_eq!((empty.revision, empty.total_keys), (0, 4));
}

#[test]
fn hash_follows_contents() {
    let a = SnapshotFile::save(&ten_puts(), 3, 0, 0);
    let b = SnapshotFile::save(&ten_puts(), 3, 0, 0);
    assert_eq!(a.hash, b.hash);
    let mut more = ten_puts();
    put(&mut more, "a0", 99);
    assert_ne!(SnapshotFile::save(&more, 3, 0, 0).hash, a.hash);
    // Same revision count, another value.
    let mut other = Store::new();
    for i in 0..10 {
        put(&mut other, &format!("a{i}"), i + u64::from(i == 9));
    }
    assert_ne!(SnapshotFile::save(&other, 3, 0, 0).hash, a.hash);
    // The other buckets count too.
    assert_ne!(SnapshotFile::save(&ten_puts(), 3, 1, 0).hash, a.hash);
}

#[test]
fn restore_needs_the_hash_or_skip_hash_check() {
    let saved = SnapshotFile::save(&ten_puts(), 3, 0, 0);
    assert_eq!(saved.restore_check(false), Ok(()));
    assert_eq!(saved.restore_check(true), Ok(()));
    let raw = SnapshotFile::raw_copy(&ten_puts(), 3, 0, 0);
    assert_eq!(
        raw.restore_check(false),
        Err("snapshot missing hash but --skip-hash-check=false".to_string())
    );
    assert_eq!(MISSING_HASH_ERROR, raw.restore_check(false).unwrap_err());
    assert_eq!(raw.restore_check(true), Ok(()));
    let restored = raw.into_store();
    assert_eq!(restored.current_rev(), 11);
    assert_eq!(restored.hash_kv(0), ten_puts().hash_kv(0));
}

/// The tests' grouping of keys: the second path segment (`/registry/pods/ns/p` -> `pods`,
/// `/lab/keys/k` -> `keys`); the store itself knows no layout (the lab passes
/// `etcdlab_kube::resource_of`).
fn second_segment(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    text.split('/').nth(2).unwrap_or_default().to_string()
}

fn diff(before: &Store, after: &Store) -> std::collections::BTreeMap<String, ResourceChanges> {
    diff_grouped(before, after, second_segment)
}

fn changes(created: u64, modified: u64, deleted: u64) -> ResourceChanges {
    ResourceChanges {
        created,
        modified,
        deleted,
    }
}

#[test]
fn diff_counts_created_modified_deleted_per_resource() {
    let mut s = Store::new();
    for i in 0..5 {
        put(&mut s, &format!("/registry/configmaps/ns/cm-{i}"), i);
        put(&mut s, &format!("/registry/pods/ns/pod-{i}"), i);
    }
    put(&mut s, "/lab/keys/key-1", 1);
    let before = s.clone();
    // After the snapshot: 2 configmaps created, 1 modified; 2 pods deleted, 1 pod re-created
    // (deleted then put: a new mod revision, so modified); a secret created; a lab key
    // modified twice (still one object).
    put(&mut s, "/registry/configmaps/ns/cm-5", 5);
    put(&mut s, "/registry/configmaps/ns/cm-6", 6);
    put(&mut s, "/registry/configmaps/ns/cm-0", 10);
    s.delete_range(b"/registry/pods/ns/pod-1", b"");
    s.delete_range(b"/registry/pods/ns/pod-2", b"");
    s.delete_range(b"/registry/pods/ns/pod-3", b"");
    put(&mut s, "/registry/pods/ns/pod-3", 3);
    put(&mut s, "/registry/secrets/ns/s", 1);
    put(&mut s, "/lab/keys/key-1", 2);
    put(&mut s, "/lab/keys/key-1", 3);
    // A key created and deleted after the snapshot: no change.
    put(&mut s, "/registry/events/ns/e", 1);
    s.delete_range(b"/registry/events/ns/e", b"");

    let d = diff(&before, &s);
    assert_eq!(
        d.into_iter().collect::<Vec<_>>(),
        vec![
            ("configmaps".to_string(), changes(2, 1, 0)),
            ("keys".to_string(), changes(0, 1, 0)),
            ("pods".to_string(), changes(0, 1, 2)),
            ("secrets".to_string(), changes(1, 0, 0)),
        ]
    );
    // The other way round: what going forward would add back.
    let back = diff(&s, &before);
    assert_eq!(back["pods"], changes(2, 1, 0));
    assert_eq!(back["configmaps"], changes(0, 1, 2));
    assert_eq!(back["configmaps"].total(), 3);
    assert!(diff(&s, &s).is_empty());
}

#[test]
fn a_compacted_store_diffs_the_same() {
    let mut s = Store::new();
    for round in 0..4 {
        for i in 0..20 {
            put(
                &mut s,
                &format!("/registry/leases/ns/l-{i}"),
                round * 100 + i,
            );
        }
    }
    let before = s.clone();
    for i in 0..5 {
        put(&mut s, &format!("/registry/leases/ns/l-{i}"), 1000 + i);
    }
    s.delete_range(b"/registry/leases/ns/l-19", b"");
    put(&mut s, "/registry/leases/ns/l-20", 1);
    let uncompacted = diff(&before, &s);
    let mut compacted = s.clone();
    compacted.compact(compacted.current_rev()).unwrap();
    let mut before_compacted = before.clone();
    before_compacted
        .compact(before_compacted.current_rev() - 5)
        .unwrap();
    assert!(compacted.revision_count() < s.revision_count());
    assert_eq!(diff(&before_compacted, &compacted), uncompacted);
    assert_eq!(uncompacted["leases"], changes(1, 5, 1));

    // The snapshot of a compacted store counts the meta bucket's compaction keys.
    let snap = SnapshotFile::save(&compacted, 3, 0, 0);
    assert_eq!(snap.compact_revision, compacted.current_rev());
    assert_eq!(snap.total_keys, compacted.backend().key_count() + 3 + 3 + 2);
}

#[test]
fn diff_of_large_stores_is_fast() {
    // 1.25 M revisions over 50 k keys; the restored store is 250 k revisions older.
    let mut s = Store::new();
    let keys: Vec<String> = (0..50_000)
        .map(|i| format!("/registry/configmaps/ns-{}/cm-{i}", i % 100))
        .collect();
    for r in 0..1_250_000u64 {
        if r == 1_000_000 {
            // a snapshot taken here
            let before = s.clone();
            for r2 in r..1_250_000 {
                let k = &keys[(r2 * 7919 % 50_000) as usize];
                s.put_without_prev(k.as_bytes(), Value::new(100, r2), 0);
            }
            let t = Instant::now();
            let d = diff(&before, &s);
            let elapsed = t.elapsed();
            eprintln!("diff of 1.25 M-revision stores: {elapsed:?}");
            assert!(elapsed.as_millis() < 1000, "diff took {elapsed:?}");
            assert_eq!(d["configmaps"].modified, 50_000);
            return;
        }
        let k = &keys[(r * 7919 % 50_000) as usize];
        s.put_without_prev(k.as_bytes(), Value::new(100, r), 0);
    }
}

/// `hash_kv` resumes from checkpoints: the answer must not depend on which revisions were
/// hashed before, nor survive a compaction wrongly.
#[test]
fn hash_kv_is_the_same_whatever_was_hashed_before() {
    let build = || {
        let mut s = etcdlab_store::Store::new();
        for i in 0..150_000u64 {
            let key = format!("/registry/configmaps/ns/cm-{}", i % 5000);
            s.put(key.as_bytes(), etcdlab_store::Value::new(100, i), 0);
        }
        s
    };
    let (a, b) = (build(), build());
    let revs = [2, 65_000, 65_538, 70_000, 131_075, 150_001];
    // a: ascending (extends checkpoints); b: highest first, then lower ones.
    let up: Vec<u32> = revs.iter().map(|&r| a.hash_kv(r).unwrap().0).collect();
    b.hash_kv(150_001).unwrap();
    let down: Vec<u32> = revs.iter().map(|&r| b.hash_kv(r).unwrap().0).collect();
    assert_eq!(up, down);
    let mut c = build();
    c.hash_kv(150_001).unwrap();
    c.compact(100_000).unwrap();
    let mut d = build();
    d.compact(100_000).unwrap();
    assert_eq!(c.hash_kv(0).unwrap(), d.hash_kv(0).unwrap());
}
