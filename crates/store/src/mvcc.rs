//! etcd's MVCC store (`mvcc/kvstore*.go`) over the [`Backend`] page model.
//!
//! Every write transaction gets one main revision; its operations get subs 0, 1, …. A put
//! stores the revision key `main_sub` with the encoded `KeyValue`; a delete stores a tombstone
//! revision key (`main_sub` + 't') with a `KeyValue` holding only the key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::backend::{Backend, RevKey};
use crate::compaction_queue::CompactionQueue;
use crate::crc32c;
use crate::key_index::KeyIndex;
use crate::rev_log::RevLog;

/// `revision{main, sub}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Revision {
    pub main: i64,
    pub sub: i64,
}

/// A synthetic value: its size and a deterministic content tag. Two values are equal content
/// iff size and tag are equal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Value {
    pub size_bytes: u32,
    pub tag: u64,
}

impl Value {
    pub fn new(size_bytes: u32, tag: u64) -> Self {
        Value { size_bytes, tag }
    }
}

/// `mvccpb.KeyValue`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyValue {
    pub key: Vec<u8>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub value: Value,
    pub lease: i64,
}

fn varint_len(v: u64) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Protobuf bytes of a length-delimited field of `len` bytes (0 when empty: omitted).
fn encoded_bytes_len(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        1 + varint_len(len as u64) + len
    }
}

impl KeyValue {
    /// Size of the protobuf encoding etcd stores as the bbolt value (fields left at zero are
    /// omitted, as proto3 does).
    pub fn encoded_len(&self) -> usize {
        let mut n = 0;
        let bytes = |len: usize| {
            if len == 0 {
                0
            } else {
                1 + varint_len(len as u64) + len
            }
        };
        let int = |v: i64| if v == 0 { 0 } else { 1 + varint_len(v as u64) };
        n += bytes(self.key.len());
        n += int(self.create_revision);
        n += int(self.mod_revision);
        n += int(self.version);
        n += bytes(self.value.size_bytes as usize);
        n += int(self.lease);
        n
    }
}

/// Errors, with etcd's texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    Compacted,
    FutureRev,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Compacted => "mvcc: required revision has been compacted",
            StoreError::FutureRev => "mvcc: required revision is a future revision",
        })
    }
}

impl std::error::Error for StoreError {}

/// Range options (`RangeRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeOptions {
    /// 0 = current revision.
    pub rev: i64,
    /// 0 = no limit.
    pub limit: usize,
    pub count_only: bool,
    pub keys_only: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    /// Number of keys in the range (regardless of limit).
    pub count: usize,
    /// The revision the store is at (the header revision), not the read revision.
    pub rev: i64,
    pub more: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutResult {
    pub rev: Revision,
    pub prev_kv: Option<KeyValue>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeleteResult {
    pub deleted: usize,
    /// The store revision after the delete (unchanged if nothing was deleted).
    pub rev: i64,
    pub prev_kvs: Vec<KeyValue>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareTarget {
    Version(i64),
    CreateRevision(i64),
    ModRevision(i64),
    /// Synthetic values are ordered by (tag, size); only Equal/NotEqual are meaningful.
    Value(Value),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareResult {
    Equal,
    Greater,
    Less,
    NotEqual,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compare {
    pub key: Vec<u8>,
    pub result: CompareResult,
    pub target: CompareTarget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Range {
        key: Vec<u8>,
        range_end: Vec<u8>,
        opts: RangeOptions,
    },
    Put {
        key: Vec<u8>,
        value: Value,
        lease: i64,
    },
    DeleteRange {
        key: Vec<u8>,
        range_end: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    Range(RangeResult),
    Put(PutResult),
    DeleteRange(DeleteResult),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnResult {
    pub succeeded: bool,
    pub results: Vec<OpResult>,
    /// The store revision after the txn.
    pub rev: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Revision keys deleted from the backend.
    pub revisions_deleted: u64,
    /// Keys that left the index.
    pub keys_removed: u64,
}

/// `mvccpb.Event` type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change as a watcher sees it (`mvccpb.Event`, without the value bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub key: Vec<u8>,
    pub rev: Revision,
    /// 0 for a delete.
    pub value_size_bytes: u32,
}

/// True if `k` is in `[key, range_end)` with etcd's conventions (`range_end` empty: just
/// `key`; `[0]`: every key >= `key`).
pub fn key_in_range(k: &[u8], key: &[u8], range_end: &[u8]) -> bool {
    if range_end.is_empty() {
        k == key
    } else if range_end == [0] {
        k >= key
    } else {
        k >= key && k < range_end
    }
}

/// `range_end` for all keys with prefix `key` (etcd `GetPrefixRangeEnd`).
pub fn prefix_end(key: &[u8]) -> Vec<u8> {
    let mut end = key.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// The MVCC store of one member.
#[derive(Clone, Debug)]
pub struct Store {
    index: BTreeMap<Vec<u8>, KeyIndex>,
    /// The `key` bucket's contents: revision -> (kv, tombstone).
    revs: RevLog,
    current_rev: i64,
    /// -1 until the first compaction (etcd `compactMainRev`).
    compact_rev: i64,
    /// The last compaction whose deletions all reached the backend (etcd's
    /// `finishedCompactRev` in the meta bucket).
    finished_compact_rev: i64,
    /// A compaction at revision C keeps a tombstone at C (etcd pull request #18274, in 3.4.34
    /// and 3.5.16); false: the older etcd, which deleted it (issues #18089 and #17780).
    keeps_tombstone_at_compact_rev: bool,
    backend: Backend,
    /// Revision keys removed from the MVCC view by a compaction but not yet deleted from the
    /// backend (etcd deletes them in batches of 1000 with 10 ms pauses).
    compaction_queue: CompactionQueue,
    /// `hash_kv`'s running CRC after every [`HASH_CHECKPOINT_REVS`]-th stored revision, so
    /// that corruption checks on a store of millions of revisions hash only what is new.
    /// Revisions are only ever appended, except by compaction, which clears this.
    hash_checkpoints: std::cell::RefCell<Vec<(Revision, u32)>>,
}

/// Stored revisions between two `hash_kv` checkpoints.
const HASH_CHECKPOINT_REVS: usize = 1 << 16;

/// etcd `compactionBatchLimit`: revision keys deleted per backend batch.
pub const COMPACTION_BATCH_LIMIT: usize = 1000;
/// etcd `compactionSleepInterval`, in nanoseconds, between compaction batches.
pub const COMPACTION_SLEEP_NS: u64 = 10_000_000;

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

struct TxnWriter {
    main: i64,
    sub: i64,
}

impl Store {
    /// An empty store at revision 1 (etcd starts at 1 with nothing written).
    pub fn new() -> Self {
        Store {
            index: BTreeMap::new(),
            revs: RevLog::default(),
            current_rev: 1,
            compact_rev: -1,
            finished_compact_rev: -1,
            keeps_tombstone_at_compact_rev: true,
            backend: Backend::new(),
            compaction_queue: CompactionQueue::default(),
            hash_checkpoints: Default::default(),
        }
    }

    pub fn current_rev(&self) -> i64 {
        self.current_rev
    }

    /// Compact as etcd before pull request #18274 did: a tombstone at the compact revision is
    /// deleted with the rest (only for the injected bug `revision-back-after-compaction-crash`).
    pub fn delete_tombstone_at_compact_rev(&mut self) {
        self.keeps_tombstone_at_compact_rev = false;
    }

    /// The revision etcd's `restore()` found after a restart before pull request #17815 (in
    /// 3.4.32 and 3.5.14): the newest revision key left in the backend, raised only to
    /// `finishedCompactRev`, not to the scheduled compaction's revision. A crash after a
    /// compaction deleted the newest revisions (tombstones at or below its revision) but
    /// before it recorded itself finished gives a revision below the one the member had
    /// reached; the compaction then stays unfinished (etcd's resumed compaction fails with
    /// "future revision").
    pub fn restore_revision_before_17815(&mut self) {
        self.revs.purge_removed();
        let on_disk = self
            .revs
            .last()
            .map(|r| r.main)
            .into_iter()
            .chain(self.compaction_queue.max_main())
            .max()
            .unwrap_or(1);
        self.current_rev = on_disk.max(self.finished_compact_rev).max(1);
        self.compact_rev = self.finished_compact_rev;
    }

    pub fn compact_rev(&self) -> i64 {
        self.compact_rev
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn backend_mut(&mut self) -> &mut Backend {
        &mut self.backend
    }

    /// Number of keys in the index (live or with history).
    pub fn index_len(&self) -> usize {
        self.index.len()
    }

    /// The index entry of `key`.
    pub fn key_index(&self, key: &[u8]) -> Option<&KeyIndex> {
        self.index.get(key)
    }

    /// Revision keys stored (what the `key` bucket holds).
    pub fn revision_count(&self) -> usize {
        self.revs.len()
    }

    /// Key + value bytes of the live keys at the current revision.
    pub fn live_bytes(&self) -> u64 {
        self.index
            .values()
            .filter_map(|ki| ki.get(self.current_rev))
            .map(|at| {
                let kv = self
                    .revs
                    .get(at.modified)
                    .expect("indexed revision is stored");
                (kv.key.len() + kv.value.size_bytes as usize) as u64
            })
            .sum()
    }

    fn check_rev(&self, rev: i64) -> Result<i64, StoreError> {
        let rev = if rev <= 0 { self.current_rev } else { rev };
        if rev > self.current_rev {
            return Err(StoreError::FutureRev);
        }
        if rev < self.compact_rev {
            return Err(StoreError::Compacted);
        }
        Ok(rev)
    }

    fn keys_in<'a>(
        index: &'a BTreeMap<Vec<u8>, KeyIndex>,
        key: &[u8],
        range_end: &[u8],
    ) -> Box<dyn Iterator<Item = (&'a Vec<u8>, &'a KeyIndex)> + 'a> {
        use std::ops::Bound::{Excluded, Included, Unbounded};
        if range_end.is_empty() {
            return Box::new(index.get_key_value(key).into_iter());
        }
        let end = if range_end == [0] {
            Unbounded
        } else {
            if range_end <= key {
                return Box::new(std::iter::empty());
            }
            Excluded(range_end.to_vec())
        };
        Box::new(index.range::<Vec<u8>, _>((Included(key.to_vec()), end)))
    }

    /// Range over `[key, range_end)` (`range_end` empty: just `key`; `[0]`: every key >= `key`;
    /// use [`prefix_end`] for a prefix) at `opts.rev`.
    pub fn range(
        &self,
        key: &[u8],
        range_end: &[u8],
        opts: &RangeOptions,
    ) -> Result<RangeResult, StoreError> {
        let rev = self.check_rev(opts.rev)?;
        let mut res = RangeResult {
            rev: self.current_rev,
            ..RangeResult::default()
        };
        for (_, ki) in Self::keys_in(&self.index, key, range_end) {
            let Some(at) = ki.get(rev) else { continue };
            res.count += 1;
            if opts.count_only {
                continue;
            }
            if opts.limit > 0 && res.kvs.len() >= opts.limit {
                res.more = true;
                continue;
            }
            let mut kv = self.stored(at.modified).to_kv();
            if opts.keys_only {
                kv.value = Value::default();
            }
            res.kvs.push(kv);
        }
        Ok(res)
    }

    fn do_put(
        &mut self,
        w: &mut TxnWriter,
        key: &[u8],
        value: Value,
        lease: i64,
        with_prev: bool,
    ) -> PutResult {
        let rev = Revision {
            main: w.main,
            sub: w.sub,
        };
        w.sub += 1;
        // One index lookup (keys are copied only when new).
        let ki = match self.index.get_mut(key) {
            Some(ki) => ki,
            None => self
                .index
                .entry(key.to_vec())
                .or_insert_with(|| KeyIndex::new(key.to_vec())),
        };
        let prev = ki.get(w.main);
        ki.put(rev);
        let shared_key = ki.shared_key.clone();
        // Reading the previous value is a lookup in the whole history: only when asked for.
        let prev_kv = prev
            .filter(|_| with_prev)
            .map(|at| self.stored(at.modified).to_kv());
        let (created, version) = match prev {
            Some(at) => (at.created.main, at.version + 1),
            None => (rev.main, 1),
        };
        let kv = KeyValue {
            key: Vec::new(), // the shared key is stored; its length is counted below
            create_revision: created,
            mod_revision: rev.main,
            version,
            value,
            lease,
        };
        let encoded_len = kv.encoded_len() + encoded_bytes_len(key.len());
        self.backend.put(
            RevKey {
                main: rev.main,
                sub: rev.sub,
                tombstone: false,
            },
            encoded_len as u32,
        );
        self.revs.insert(rev, shared_key, &kv, false);
        PutResult { rev, prev_kv }
    }

    fn do_delete(&mut self, w: &mut TxnWriter, key: &[u8], range_end: &[u8]) -> DeleteResult {
        let live: Vec<Vec<u8>> = Self::keys_in(&self.index, key, range_end)
            .filter(|(_, ki)| ki.get(w.main).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        let mut res = DeleteResult::default();
        for k in live {
            let prev = self.get_kv_at(&k, w.main);
            let rev = Revision {
                main: w.main,
                sub: w.sub,
            };
            w.sub += 1;
            let kv = KeyValue {
                key: k.clone(),
                ..KeyValue::default()
            };
            self.backend.put(
                RevKey {
                    main: rev.main,
                    sub: rev.sub,
                    tombstone: true,
                },
                kv.encoded_len() as u32,
            );
            let shared_key = self.index[&k].shared_key.clone();
            self.revs.insert(rev, shared_key, &kv, true);
            let ok = self.index.get_mut(&k).expect("live key").tombstone(rev);
            debug_assert!(ok);
            res.deleted += 1;
            res.prev_kvs.extend(prev);
        }
        res
    }

    fn stored(&self, rev: Revision) -> crate::rev_log::StoredRef<'_> {
        self.revs.get(rev).expect("indexed revision is stored")
    }

    fn get_kv_at(&self, key: &[u8], at: i64) -> Option<KeyValue> {
        let at = self.index.get(key)?.get(at)?;
        Some(self.stored(at.modified).to_kv())
    }

    fn begin(&self) -> TxnWriter {
        TxnWriter {
            main: self.current_rev + 1,
            sub: 0,
        }
    }

    fn end(&mut self, w: &TxnWriter) {
        if w.sub > 0 {
            self.current_rev = w.main;
            // the consistent index in the meta bucket
            self.backend.touch_meta();
        }
    }

    /// Puts `key`; returns its revision and the previous key-value (prev_kv).
    pub fn put(&mut self, key: &[u8], value: Value, lease: i64) -> PutResult {
        let mut w = self.begin();
        let r = self.do_put(&mut w, key, value, lease, true);
        self.end(&w);
        r
    }

    /// A put whose caller does not want the previous key-value (`prev_kv = false`, as
    /// kube-apiserver's and most clients' puts): cheaper, the history is not read.
    pub fn put_without_prev(&mut self, key: &[u8], value: Value, lease: i64) -> Revision {
        let mut w = self.begin();
        let r = self.do_put(&mut w, key, value, lease, false);
        self.end(&w);
        r.rev
    }

    /// Deletes `[key, range_end)`; returns how many keys were deleted, the revision after the
    /// delete and the deleted key-values.
    pub fn delete_range(&mut self, key: &[u8], range_end: &[u8]) -> DeleteResult {
        let mut w = self.begin();
        let mut r = self.do_delete(&mut w, key, range_end);
        self.end(&w);
        r.rev = self.current_rev;
        r
    }

    /// Deletes each of `keys` (those live) at one main revision, subs 0, 1, … in the given
    /// order: what a lease revoke applies (etcd sorts the keys first so that every member
    /// writes the same revisions). Nothing live: the revision does not move.
    pub fn delete_keys(&mut self, keys: &[Vec<u8>]) -> DeleteResult {
        let mut w = self.begin();
        let mut res = DeleteResult::default();
        for k in keys {
            let r = self.do_delete(&mut w, k, b"");
            res.deleted += r.deleted;
            res.prev_kvs.extend(r.prev_kvs);
        }
        self.end(&w);
        res.rev = self.current_rev;
        res
    }

    /// The history of `[key, range_end)` in main revisions `from_rev..=to_rev`, in revision
    /// order: what a catching-up watcher reads (etcd reads the revision keys from the backend
    /// and filters them by key). `from_rev < compact_rev` is `Compacted` (`== compact_rev`
    /// is allowed), `to_rev > current_rev` is `FutureRev`.
    pub fn events(
        &self,
        from_rev: i64,
        to_rev: i64,
        key: &[u8],
        range_end: &[u8],
    ) -> Result<Vec<Event>, StoreError> {
        if from_rev < self.compact_rev {
            return Err(StoreError::Compacted);
        }
        if to_rev > self.current_rev {
            return Err(StoreError::FutureRev);
        }
        if from_rev > to_rev {
            return Ok(Vec::new());
        }
        let lo = Revision {
            main: from_rev,
            sub: 0,
        };
        let hi = Revision {
            main: to_rev,
            sub: i64::MAX,
        };
        Ok(self
            .revs
            .range(lo..=hi)
            .filter(|kv| key_in_range(kv.key, key, range_end))
            .map(|kv| Event {
                kind: if kv.tombstone {
                    EventKind::Delete
                } else {
                    EventKind::Put
                },
                key: kv.key.to_vec(),
                rev: kv.rev,
                value_size_bytes: if kv.tombstone { 0 } else { kv.value.size_bytes },
            })
            .collect())
    }

    /// Whether compare `c` holds against the store as it is now.
    pub fn compare(&self, c: &Compare) -> bool {
        use std::cmp::Ordering;
        let kv = self.get_kv_at(&c.key, self.current_rev);
        let ord = match (c.target, kv) {
            (CompareTarget::Value(_), None) => return false,
            (CompareTarget::Value(v), Some(kv)) => {
                (kv.value.tag, kv.value.size_bytes).cmp(&(v.tag, v.size_bytes))
            }
            (CompareTarget::Version(v), kv) => kv.map_or(0, |kv| kv.version).cmp(&v),
            (CompareTarget::CreateRevision(v), kv) => kv.map_or(0, |kv| kv.create_revision).cmp(&v),
            (CompareTarget::ModRevision(v), kv) => kv.map_or(0, |kv| kv.mod_revision).cmp(&v),
        };
        match c.result {
            CompareResult::Equal => ord == Ordering::Equal,
            CompareResult::NotEqual => ord != Ordering::Equal,
            CompareResult::Greater => ord == Ordering::Greater,
            CompareResult::Less => ord == Ordering::Less,
        }
    }

    /// A transaction: if every compare holds, run `success`, else `failure`. All writes share
    /// one main revision (subs 0, 1, …); reads inside see the txn's earlier writes.
    pub fn txn(&mut self, compares: &[Compare], success: &[Op], failure: &[Op]) -> TxnResult {
        let succeeded = compares.iter().all(|c| self.compare(c));
        let ops = if succeeded { success } else { failure };
        let mut w = self.begin();
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            results.push(match op {
                Op::Put { key, value, lease } => {
                    OpResult::Put(self.do_put(&mut w, key, *value, *lease, true))
                }
                Op::DeleteRange { key, range_end } => {
                    OpResult::DeleteRange(self.do_delete(&mut w, key, range_end))
                }
                Op::Range {
                    key,
                    range_end,
                    opts,
                } => {
                    // Reads in a txn with writes see them (etcd reads at beginRev + 1).
                    let mut o = opts.clone();
                    if o.rev == 0 && w.sub > 0 {
                        o.rev = w.main;
                    }
                    let saved = self.current_rev;
                    if w.sub > 0 {
                        self.current_rev = w.main;
                    }
                    let r = self.range(key, range_end, &o);
                    self.current_rev = saved;
                    OpResult::Range(r.unwrap_or_default())
                }
            });
        }
        self.end(&w);
        for r in &mut results {
            match r {
                OpResult::DeleteRange(d) => d.rev = self.current_rev,
                OpResult::Range(rr) => rr.rev = self.current_rev,
                OpResult::Put(_) => {}
            }
        }
        TxnResult {
            succeeded,
            results,
            rev: self.current_rev,
        }
    }

    /// Compacts at main revision `rev` and deletes the compacted revisions from the backend at
    /// once ([`Store::schedule_compaction`] followed by draining [`Store::compaction_step`]).
    pub fn compact(&mut self, rev: i64) -> Result<CompactStats, StoreError> {
        let stats = self.schedule_compaction(rev)?;
        while self.compaction_step(usize::MAX) > 0 {}
        Ok(stats)
    }

    /// The synchronous part of a compaction at main revision `rev`: per key, keeps the newest
    /// revision <= `rev`, drops generations whose tombstone is < `rev` (keys whose last op <=
    /// `rev` was a delete vanish), keeps a tombstone exactly at `rev`. The other revisions <=
    /// `rev` leave the MVCC view now and are queued for deletion from the backend, which the
    /// caller drives with [`Store::compaction_step`] (etcd: 1000 per batch, 10 ms apart). The
    /// freed pages become free at the commit after the one that flushed the deletions; the
    /// size never drops.
    pub fn schedule_compaction(&mut self, rev: i64) -> Result<CompactStats, StoreError> {
        if rev <= self.compact_rev {
            return Err(StoreError::Compacted);
        }
        if rev > self.current_rev {
            return Err(StoreError::FutureRev);
        }
        self.compact_rev = rev;
        let mut keep = BTreeSet::new();
        let mut stats = CompactStats::default();
        let mut empty = Vec::new();
        let keep_tombstone = self.keeps_tombstone_at_compact_rev;
        for (k, ki) in self.index.iter_mut() {
            ki.compact(rev, &mut keep, keep_tombstone);
            if ki.is_empty() {
                empty.push(k.clone());
            }
        }
        for k in empty {
            self.index.remove(&k);
            stats.keys_removed += 1;
        }
        // scheduledCompactRev in the meta bucket
        self.backend.touch_meta();
        let queue = &mut self.compaction_queue;
        let deleted = self.revs.remove_all_but(
            Revision {
                main: rev,
                sub: i64::MAX,
            },
            &keep,
            |r, tombstone| {
                queue.push_back(RevKey {
                    main: r.main,
                    sub: r.sub,
                    tombstone,
                })
            },
        );
        if deleted > 0 {
            self.hash_checkpoints.get_mut().clear();
        }
        stats.revisions_deleted += deleted as u64;
        Ok(stats)
    }

    /// Revision keys a scheduled compaction has yet to delete from the backend.
    pub fn compaction_pending(&self) -> usize {
        self.compaction_queue.len()
    }

    /// Deletes up to `limit` queued revision keys from the backend; returns how many. The last
    /// batch also records finishedCompactRev in the meta bucket.
    pub fn compaction_step(&mut self, limit: usize) -> usize {
        let n = self.compaction_delete_batch(limit);
        if self.compaction_queue.is_empty() {
            if n > 0 {
                self.backend.touch_meta();
            }
            self.finished_compact_rev = self.compact_rev;
        }
        n
    }

    /// Deletes up to `limit` queued revision keys from the backend without recording the
    /// compaction finished, even when none remain (a crash before etcd's
    /// `UnsafeSetFinishedCompact`); returns how many.
    pub fn compaction_delete_batch(&mut self, limit: usize) -> usize {
        let n = limit.min(self.compaction_queue.len());
        for _ in 0..n {
            let k = self.compaction_queue.pop_front().expect("counted");
            self.backend.delete(k);
        }
        n
    }

    /// etcd `HashByRev`-style hash: CRC-32C over every stored revision key and encoded value
    /// with main revision <= `rev` (0 = current). Synthetic values hash their size and tag.
    /// Returns (hash, current revision, compact revision).
    pub fn hash_kv(&self, rev: i64) -> Result<(u32, i64, i64), StoreError> {
        let rev = self.check_rev(rev)?;
        let target = Revision {
            main: rev,
            sub: i64::MAX,
        };
        let mut checkpoints = self.hash_checkpoints.borrow_mut();
        // Resume from the last checkpoint at or below the target.
        let n = checkpoints.partition_point(|(r, _)| *r <= target);
        let (start, mut h) = match n.checked_sub(1) {
            Some(i) => (
                Revision {
                    main: checkpoints[i].0.main,
                    sub: checkpoints[i].0.sub + 1,
                },
                checkpoints[i].1,
            ),
            None => (Revision::default(), 0),
        };
        // New checkpoints are recorded only when extending past the last one.
        let extending = n == checkpoints.len();
        let mut since = 0;
        let mut buf = [0u8; 64];
        if start <= target {
            for kv in self.revs.range(start..=target) {
                let rk = RevKey {
                    main: kv.rev.main,
                    sub: kv.rev.sub,
                    tombstone: kv.tombstone,
                };
                let len = rk.write_to(&mut buf);
                h = crc32c::update(h, &buf[..len]);
                h = crc32c::update(h, kv.key);
                let mod_revision = if kv.tombstone { 0 } else { kv.rev.main };
                let mut fields = [0u8; 48];
                for (i, v) in [kv.create_revision, mod_revision, kv.version, kv.lease]
                    .iter()
                    .enumerate()
                {
                    fields[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
                }
                fields[32..36].copy_from_slice(&kv.value.size_bytes.to_le_bytes());
                fields[36..44].copy_from_slice(&kv.value.tag.to_le_bytes());
                h = crc32c::update(h, &fields[..44]);
                since += 1;
                if extending && since == HASH_CHECKPOINT_REVS {
                    checkpoints.push((kv.rev, h));
                    since = 0;
                }
            }
        }
        Ok((h, self.current_rev, self.compact_rev))
    }
}
