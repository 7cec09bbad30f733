//! Snapshot files: what `etcdctl snapshot save` writes (a point-in-time copy of the bbolt db
//! followed by its sha256) or what a raw `cp member/snap/db` gives (no hash), what
//! `etcdctl snapshot status` reports about them, what `snapshot restore` refuses, and which
//! objects a restore to an older snapshot loses ([`diff_grouped`], grouped by a function of the
//! key the caller gives: the store knows nothing of what keys mean, e.g. Kubernetes' layout is
//! `etcdlab_kube::resource_of`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::crc32c;
use crate::mvcc::{KeyValue, RangeOptions, Store};

/// Bytes of the sha256 integrity hash `snapshot save` appends to the db.
pub const INTEGRITY_HASH_BYTES: u64 = 32;

/// Keys etcd always has outside the `key`, `lease`, `alarm` and `members` buckets: the
/// consistent index (meta), the cluster version (cluster) and the auth revision (auth).
pub const FIXED_KEYS: u64 = 3;

/// The error `snapshot restore` returns for a file without the integrity hash when
/// `--skip-hash-check` is not given (etcd 3.4 `clientv3/snapshot`).
pub const MISSING_HASH_ERROR: &str = "snapshot missing hash but --skip-hash-check=false";

/// A snapshot file of one member's db.
#[derive(Clone, Debug)]
pub struct SnapshotFile {
    /// The MVCC store and its backend page model as of the copy.
    pub store: Store,
    /// `snapshot status` REVISION: the main revision of the last key in the `key` bucket
    /// (the store's revision; 0 for a store nothing was written to).
    pub revision: i64,
    /// -1 when never compacted.
    pub compact_revision: i64,
    /// The file's size: the db (`Size()`) plus the integrity hash when it has one.
    pub size_bytes: u64,
    /// True for `snapshot save`, false for a raw copy of `member/snap/db`.
    pub has_integrity_hash: bool,
    /// `snapshot status` HASH: CRC-32C over the contents (see [`SnapshotFile::save`]).
    pub hash: u32,
    /// `snapshot status` TOTAL KEYS: keys in all buckets.
    pub total_keys: u64,
}

impl SnapshotFile {
    /// `etcdctl snapshot save`: the server commits its pending batch and streams the db; etcdctl
    /// appends the sha256. `members`, `leases` and `alarms` are the entries of those buckets.
    ///
    /// The hash is `hash_kv` over every revision key and value, continued with the counts of
    /// the other buckets: equal contents give equal hashes, one more write a different one.
    /// It is not byte-equal to etcd's (values are synthetic).
    pub fn save(store: &Store, members: usize, leases: usize, alarms: usize) -> Self {
        Self::copy(store, members, leases, alarms, true)
    }

    /// A raw copy of `member/snap/db` (no integrity hash). Modelled as taken right after a
    /// batch commit, so it holds everything applied (a `cp` racing a commit may not).
    pub fn raw_copy(store: &Store, members: usize, leases: usize, alarms: usize) -> Self {
        Self::copy(store, members, leases, alarms, false)
    }

    fn copy(
        store: &Store,
        members: usize,
        leases: usize,
        alarms: usize,
        has_integrity_hash: bool,
    ) -> Self {
        let mut store = store.clone();
        // etcd commits the batch before streaming the db; the clone's sizes then match it.
        store.backend_mut().commit();
        let (kv_hash, current_rev, compact_revision) =
            store.hash_kv(0).expect("the current revision is readable");
        let revision = if store.revision_count() == 0 {
            0
        } else {
            current_rev
        };
        let (members, leases, alarms) = (members as u64, leases as u64, alarms as u64);
        let mut hash = kv_hash;
        for n in [members, leases, alarms, compact_revision as u64] {
            hash = crc32c::update(hash, &n.to_le_bytes());
        }
        // A compaction leaves scheduledCompactRev in the meta bucket, and finishedCompactRev
        // once its deletions are done.
        let compaction_keys = if compact_revision > 0 {
            1 + u64::from(store.compaction_pending() == 0)
        } else {
            0
        };
        // The db holds the revision keys not yet deleted by a running compaction too.
        let total_keys =
            store.backend().key_count() + leases + alarms + members + FIXED_KEYS + compaction_keys;
        let size_bytes = store.backend().size_bytes()
            + if has_integrity_hash {
                INTEGRITY_HASH_BYTES
            } else {
                0
            };
        SnapshotFile {
            store,
            revision,
            compact_revision,
            size_bytes,
            has_integrity_hash,
            hash,
            total_keys,
        }
    }

    /// `snapshot status` TOTAL SIZE: bbolt's `tx.Size()`, without the integrity hash.
    pub fn db_size_bytes(&self) -> u64 {
        self.store.backend().size_bytes()
    }

    /// What `snapshot restore` checks before writing anything: a file without the integrity
    /// hash needs `--skip-hash-check`.
    pub fn restore_check(&self, skip_hash_check: bool) -> Result<(), String> {
        if !self.has_integrity_hash && !skip_hash_check {
            return Err(MISSING_HASH_ERROR.to_string());
        }
        Ok(())
    }

    /// The restored member's store (revisions preserved, as a restore without
    /// `--bump-revision` does).
    pub fn into_store(self) -> Store {
        self.store
    }
}

/// How the live objects of one group (e.g. one Kubernetes resource) changed between two
/// stores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceChanges {
    pub created: u64,
    pub modified: u64,
    pub deleted: u64,
}

impl ResourceChanges {
    pub fn total(&self) -> u64 {
        self.created + self.modified + self.deleted
    }
}

fn live_keys(store: &Store) -> Vec<KeyValue> {
    let opts = RangeOptions {
        keys_only: true,
        ..RangeOptions::default()
    };
    // "" to the end: every key, at the current revision (always readable).
    store
        .range(b"", &[0], &opts)
        .expect("the current revision is readable")
        .kvs
}

/// What differs between the live keys of `before` and `after`, per group of keys (`group`
/// maps a key to its group's name, e.g. `etcdlab_kube::resource_of`): live only in `after` =
/// created, in both with another mod revision = modified, only in `before` = deleted. With
/// `before` the store a restore went back to and `after` the lost one, these are the objects
/// the operator must re-apply. One sorted walk over each store's live keys.
pub fn diff_grouped(
    before: &Store,
    after: &Store,
    mut group: impl FnMut(&[u8]) -> String,
) -> BTreeMap<String, ResourceChanges> {
    let (old, new) = (live_keys(before), live_keys(after));
    let mut out: BTreeMap<String, ResourceChanges> = BTreeMap::new();
    let mut bump = |key: &[u8], f: fn(&mut ResourceChanges)| {
        f(out.entry(group(key)).or_default());
    };
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let ord = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.key.cmp(&b.key),
            (Some(_), None) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match ord {
            Ordering::Less => {
                bump(&old[i].key, |c| c.deleted += 1);
                i += 1;
            }
            Ordering::Greater => {
                bump(&new[j].key, |c| c.created += 1);
                j += 1;
            }
            Ordering::Equal => {
                if old[i].mod_revision != new[j].mod_revision {
                    bump(&new[j].key, |c| c.modified += 1);
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}
