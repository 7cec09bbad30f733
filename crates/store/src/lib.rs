//! etcdlab-store: a sans-IO model of etcd's storage layer.
//!
//! - [`mvcc`]: revisions, the key index ([`key_index`]), put / delete / range / txn,
//!   compaction with etcd's keep/drop rules and `hash_kv`.
//! - [`backend`]: a bbolt-like page model of the `key` bucket that reports what etcd reports
//!   (`Size()` = high-water mark, `SizeInUse()`), batches commits and defragments.
//! - [`quota`]: etcd's request cost and the `available` check against `Size()`.
//! - [`lease`]: the lessor: grant / revoke (the caller deletes the returned keys at one
//!   revision with [`Store::delete_keys`]), keys attached by puts, expiry on the primary only.
//! - [`watch`]: synced / unsynced watchers fed by [`Watchers::notify`] after each write and
//!   caught up from [`Store::events`] by [`Watchers::sync_unsynced`]; [`WatchStreamChecker`]
//!   checks a delivered stream (ordered, no duplicates, nothing lost).
//!
//! No clock, no I/O, no randomness: the caller drives time (when to commit) and charges the
//! fsyncs a commit reports on its simulated disk. Values are synthetic ([`Value`]) so that
//! multi-GB databases fit in memory.
//!
//! # Driving it from a member (integration, not done yet)
//!
//! - Apply each committed entry with [`Store::put`] / [`Store::delete_range`] / [`Store::txn`]
//!   (they write into the backend batch). Check the quota before proposing
//!   ([`Quota::available`] with `store.backend().size_bytes()`), and again at apply.
//! - Commit the backend every 100 ms ([`backend::BATCH_INTERVAL_NS`]) if
//!   [`Backend::pending_ops`] > 0, and at once when [`Backend::batch_full`] (10,000 ops). Charge
//!   the returned [`CommitStats`] on the member's disk: `bytes_written` then two fdatasyncs
//!   (`fsyncs`); the commit duration is `backend_commit_duration_seconds`. `size_bytes()` /
//!   `size_in_use_bytes()` change only at a commit, as etcd's do.
//! - Compaction: [`Store::schedule_compaction`], then [`Store::compaction_step`] with
//!   [`mvcc::COMPACTION_BATCH_LIMIT`] every [`mvcc::COMPACTION_SLEEP_NS`] until done.
//! - Defrag ([`Backend::defrag`]) blocks applies and reads for its duration; charge
//!   `bytes_copied` of writes plus an fsync.
//! - Leases: apply grant / revoke / puts / deletes on every member's [`Lessor`]; on the leader
//!   call [`Lessor::promote`] once its term's first entry applies, [`Lessor::demote`] when it
//!   steps down, and every 500 ms propose a revoke for [`Lessor::expired`].
//! - Watches: after each applied write, [`Watchers::notify`] with the write's events
//!   ([`Store::events`] at its revision); every 100 ms [`Watchers::sync_unsynced`] with
//!   [`watch::MAX_WATCHERS_PER_SYNC`].

pub mod backend;
mod compaction_queue;
pub mod crc32c;
pub mod key_index;
pub mod lease;
pub mod mvcc;
pub mod quota;
mod rev_log;
pub mod shared_vec;
pub mod snapshot;
pub mod watch;

pub use backend::{Backend, CommitStats, DefragStats, RevKey};
pub use key_index::{Generation, KeyIndex};
pub use lease::{min_ttl_s, Lease, LeaseError, Lessor};
pub use mvcc::{
    key_in_range, CompactStats, Compare, CompareResult, CompareTarget, DeleteResult, Event,
    EventKind, KeyValue, Op, OpResult, PutResult, RangeOptions, RangeResult, Revision, Store,
    StoreError, TxnResult, Value,
};
pub use quota::{Quota, QuotaRequest};
pub use snapshot::{diff_grouped, ResourceChanges, SnapshotFile};
pub use watch::{SyncReport, WatchError, WatchStreamChecker, Watchers};
