//! etcdlab-store: a sans-IO model of etcd's storage layer.
//!
//! - [`mvcc`]: revisions, the key index ([`key_index`]), put / delete / range / txn,
//!   compaction with etcd's keep/drop rules and `hash_kv`.
//! - [`backend`]: a bbolt-like page model of the `key` bucket that reports what etcd reports
//!   (`Size()` = high-water mark, `SizeInUse()`), batches commits and defragments.
//! - [`quota`]: etcd's request cost and the `available` check against `Size()`.
//!
//! No clock, no I/O, no randomness: the caller drives time (when to commit) and charges the
//! fsyncs a commit reports on its simulated disk. Values are synthetic ([`Value`]) so that
//! multi-GB databases fit in memory.

pub mod backend;
pub mod crc32c;
pub mod key_index;
pub mod mvcc;
pub mod quota;

pub use backend::{Backend, CommitStats, DefragStats, RevKey};
pub use key_index::{Generation, KeyIndex};
pub use mvcc::{
    CompactStats, Compare, CompareResult, CompareTarget, DeleteResult, KeyValue, Op, OpResult,
    PutResult, RangeOptions, RangeResult, Revision, Store, StoreError, TxnResult, Value,
};
pub use quota::{Quota, QuotaRequest};
