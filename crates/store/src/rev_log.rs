//! The `key` bucket's contents by revision, kept small: long runs hold ~10 million revisions
//! per member, so an entry is a sorted-vector slot (revisions only ever grow) with the key
//! shared by reference, not a B-tree node with its own copy of the key.
//!
//! Members apply the same entries, and a fast-forward gives every member a clone of one store:
//! the log is a [`SharedVec`], whose full chunks clones share; a member's removals
//! (compaction) are a bitmap of its own, so sharing survives them until the next purge.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::rc::Rc;

use crate::mvcc::{KeyValue, Revision, Value};
use crate::shared_vec::SharedVec;

/// Entries per shared chunk (about 300 KiB).
const CHUNK_LEN: usize = 4096;

/// 72 bytes: the fields of `Revision` and `Value` are laid out here without their padding
/// (14 million of these make incident 1).
#[derive(Clone, Debug)]
struct Stored {
    rev_main: i64,
    key: Rc<[u8]>,
    create_revision: i64,
    version: i64,
    value_tag: u64,
    lease: i64,
    rev_sub: u32,
    value_size_bytes: u32,
    tombstone: bool,
}

impl Stored {
    fn rev(&self) -> Revision {
        Revision {
            main: self.rev_main,
            sub: i64::from(self.rev_sub),
        }
    }
}

/// One stored revision, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StoredRef<'a> {
    pub rev: Revision,
    pub key: &'a [u8],
    pub create_revision: i64,
    pub version: i64,
    pub value: Value,
    pub lease: i64,
    pub tombstone: bool,
}

impl StoredRef<'_> {
    pub fn to_kv(self) -> KeyValue {
        KeyValue {
            key: self.key.to_vec(),
            create_revision: self.create_revision,
            mod_revision: if self.tombstone { 0 } else { self.rev.main },
            version: self.version,
            value: self.value,
            lease: self.lease,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct RevLog {
    entries: SharedVec<Stored, CHUNK_LEN>,
    /// One bit per entry: removed by compaction, dropped at the next purge.
    removed_bits: Vec<u64>,
    removed: usize,
}

impl RevLog {
    fn is_removed(&self, i: usize) -> bool {
        self.removed_bits
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn mark_removed(&mut self, i: usize) {
        let word = i / 64;
        if self.removed_bits.len() <= word {
            self.removed_bits.resize(word + 1, 0);
        }
        self.removed_bits[word] |= 1 << (i % 64);
        self.removed += 1;
    }

    /// The first entry whose revision is not below `rev`.
    fn lower_bound(&self, rev: Revision) -> usize {
        self.entries.partition_point(|e| e.rev() < rev)
    }

    /// The first entry whose revision is above `rev`.
    fn upper_bound(&self, rev: Revision) -> usize {
        self.entries.partition_point(|e| e.rev() <= rev)
    }

    /// Appends a revision (revisions arrive in increasing order).
    pub fn insert(&mut self, rev: Revision, key: Rc<[u8]>, kv: &KeyValue, tombstone: bool) {
        if let Some(last) = self.entries.last() {
            assert!(
                rev > last.rev(),
                "revision {rev:?} not after {:?}",
                last.rev()
            );
        }
        self.entries.push(Stored {
            rev_main: rev.main,
            key,
            create_revision: kv.create_revision,
            version: kv.version,
            value_tag: kv.value.tag,
            lease: kv.lease,
            rev_sub: u32::try_from(rev.sub).expect("a txn of fewer than 2^32 operations"),
            value_size_bytes: kv.value.size_bytes,
            tombstone,
        });
    }

    fn find(&self, rev: Revision) -> Option<usize> {
        let i = self.lower_bound(rev);
        let found = self.entries.get(i).is_some_and(|e| e.rev() == rev);
        (found && !self.is_removed(i)).then_some(i)
    }

    pub fn get(&self, rev: Revision) -> Option<StoredRef<'_>> {
        self.find(rev).map(|i| view(&self.entries[i]))
    }

    pub fn len(&self) -> usize {
        self.entries.len() - self.removed
    }

    /// Removes every stored revision up to `upto` that `keep` does not hold, in one pass,
    /// handing each to `removed` (with its tombstone flag), ascending; returns how many.
    pub fn remove_all_but(
        &mut self,
        upto: Revision,
        keep: &BTreeSet<Revision>,
        mut removed: impl FnMut(Revision, bool),
    ) -> usize {
        let mut gone = 0;
        for i in 0..self.upper_bound(upto) {
            if self.is_removed(i) {
                continue;
            }
            let e = &self.entries[i];
            if keep.contains(&e.rev()) {
                continue;
            }
            removed(e.rev(), e.tombstone);
            gone += 1;
            self.mark_removed(i);
        }
        self.purge_if_mostly_removed();
        gone
    }

    fn purge_if_mostly_removed(&mut self) {
        if self.removed * 2 > self.entries.len() {
            self.purge_removed();
        }
    }

    /// Forgets removed revisions for good (a restart rebuilds the log from the backend).
    pub fn purge_removed(&mut self) {
        if self.removed == 0 {
            return;
        }
        let live = (0..self.entries.len())
            .filter(|&i| !self.is_removed(i))
            .map(|i| self.entries[i].clone())
            .collect();
        *self = RevLog {
            entries: live,
            ..RevLog::default()
        };
    }

    /// The newest stored revision.
    pub fn last(&self) -> Option<Revision> {
        (0..self.entries.len())
            .rev()
            .find(|&i| !self.is_removed(i))
            .map(|i| self.entries[i].rev())
    }

    /// Stored revisions in `range`, ascending.
    pub fn range(&self, range: RangeInclusive<Revision>) -> impl Iterator<Item = StoredRef<'_>> {
        let start = self.lower_bound(*range.start());
        let end = self.upper_bound(*range.end());
        (start..end.max(start))
            .filter(|&i| !self.is_removed(i))
            .map(|i| view(&self.entries[i]))
    }
}

fn view(e: &Stored) -> StoredRef<'_> {
    StoredRef {
        rev: e.rev(),
        key: &e.key,
        create_revision: e.create_revision,
        version: e.version,
        value: Value {
            size_bytes: e.value_size_bytes,
            tag: e.value_tag,
        },
        lease: e.lease,
        tombstone: e.tombstone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_72_bytes() {
        assert_eq!(std::mem::size_of::<Stored>(), 72);
    }

    fn rev(main: i64) -> Revision {
        Revision { main, sub: 0 }
    }

    fn log_of(n: i64) -> RevLog {
        let mut log = RevLog::default();
        let key: Rc<[u8]> = Rc::from(&b"k"[..]);
        for main in 1..=n {
            log.insert(rev(main), key.clone(), &KeyValue::default(), false);
        }
        log
    }

    #[test]
    fn lookups_cross_chunks() {
        let n = (CHUNK_LEN * 2 + 10) as i64;
        let log = log_of(n);
        assert_eq!(log.len(), n as usize);
        for main in [1, CHUNK_LEN as i64, CHUNK_LEN as i64 + 1, n] {
            assert_eq!(log.get(rev(main)).map(|s| s.rev), Some(rev(main)));
        }
        assert!(log.get(rev(n + 1)).is_none());
        let r: Vec<i64> = log
            .range(rev(CHUNK_LEN as i64 - 1)..=rev(CHUNK_LEN as i64 + 1))
            .map(|s| s.rev.main)
            .collect();
        assert_eq!(r, [4095, 4096, 4097]);
        assert_eq!(log.last(), Some(rev(n)));
    }

    #[test]
    fn clones_share_chunks_and_remove_on_their_own() {
        let n = (CHUNK_LEN * 3) as i64;
        let a = log_of(n);
        let mut b = a.clone();
        let keep = BTreeSet::from([rev(5)]);
        let mut seen = Vec::new();
        let gone = b.remove_all_but(rev(100), &keep, |r, _| seen.push(r.main));
        assert_eq!(gone, 99);
        assert_eq!(seen.len(), 99);
        assert_eq!(seen[..5], [1, 2, 3, 4, 6]);
        assert!(b.get(rev(4)).is_none() && b.get(rev(5)).is_some());
        assert!(a.get(rev(4)).is_some());
        assert_eq!(b.len(), n as usize - 99);
        // Removing most of it purges: b owns fresh chunks, a is untouched.
        let gone = b.remove_all_but(rev(n - 1), &keep, |_, _| {});
        assert_eq!(b.len(), 2);
        assert_eq!(gone, n as usize - 99 - 2);
        assert_eq!(b.range(rev(1)..=rev(n)).count(), 2);
        assert_eq!(a.len(), n as usize);
        assert_eq!(b.last(), Some(rev(n)));
    }
}
