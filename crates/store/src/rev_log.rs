//! The `key` bucket's contents by revision, kept small: long runs hold ~10 million revisions
//! per member, so an entry is a sorted-vector slot (revisions only ever grow) with the key
//! shared by reference, not a B-tree node with its own copy of the key.

use std::ops::RangeInclusive;
use std::rc::Rc;

use crate::mvcc::{KeyValue, Revision, Value};

#[derive(Clone, Debug)]
struct Stored {
    rev: Revision,
    key: Rc<[u8]>,
    create_revision: i64,
    version: i64,
    value: Value,
    lease: i64,
    tombstone: bool,
    /// False once compacted away (the slot is dropped at the next sweep).
    live: bool,
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
    entries: Vec<Stored>,
    removed: usize,
}

impl RevLog {
    /// Appends a revision (revisions arrive in increasing order).
    pub fn insert(&mut self, rev: Revision, key: Rc<[u8]>, kv: &KeyValue, tombstone: bool) {
        if let Some(last) = self.entries.last() {
            assert!(rev > last.rev, "revision {rev:?} not after {:?}", last.rev);
        }
        self.entries.push(Stored {
            rev,
            key,
            create_revision: kv.create_revision,
            version: kv.version,
            value: kv.value,
            lease: kv.lease,
            tombstone,
            live: true,
        });
    }

    fn find(&self, rev: Revision) -> Option<usize> {
        let i = self.entries.binary_search_by(|e| e.rev.cmp(&rev)).ok()?;
        self.entries[i].live.then_some(i)
    }

    pub fn get(&self, rev: Revision) -> Option<StoredRef<'_>> {
        self.find(rev).map(|i| view(&self.entries[i]))
    }

    pub fn len(&self) -> usize {
        self.entries.len() - self.removed
    }

    /// Removes `rev`; returns whether it was stored.
    pub fn remove(&mut self, rev: Revision) -> bool {
        let Some(i) = self.find(rev) else {
            return false;
        };
        let e = &mut self.entries[i];
        e.live = false;
        e.key = Rc::from(&[][..]);
        self.removed += 1;
        if self.removed * 2 > self.entries.len() {
            self.purge_removed();
        }
        true
    }

    /// Forgets removed revisions for good (a restart rebuilds the log from the backend).
    pub fn purge_removed(&mut self) {
        self.entries.retain(|e| e.live);
        self.removed = 0;
    }

    /// The newest stored revision.
    pub fn last(&self) -> Option<Revision> {
        self.entries.iter().rev().find(|e| e.live).map(|e| e.rev)
    }

    /// Stored revisions in `range`, ascending.
    pub fn range(&self, range: RangeInclusive<Revision>) -> impl Iterator<Item = StoredRef<'_>> {
        let start = self.entries.partition_point(|e| e.rev < *range.start());
        let end = self.entries.partition_point(|e| e.rev <= *range.end());
        self.entries[start..end.max(start)]
            .iter()
            .filter(|e| e.live)
            .map(view)
    }
}

fn view(e: &Stored) -> StoredRef<'_> {
    StoredRef {
        rev: e.rev,
        key: &e.key,
        create_revision: e.create_revision,
        version: e.version,
        value: e.value,
        lease: e.lease,
        tombstone: e.tombstone,
    }
}
