//! etcd's per-key index: `keyIndex{key, modified, generations}`.
//!
//! A generation is one life of a key: created by a put, ended by a tombstone (a delete). The last
//! generation is always open (possibly empty). A key whose generations are all gone is removed
//! from the tree index.

use std::collections::BTreeSet;

use crate::mvcc::Revision;
use crate::shared_vec::SharedVec;

/// Revisions per shared chunk of a generation (8 KiB): a key written millions of times (a
/// lease renewed every 10 s for a year) is shared between members in these.
const REVS_CHUNK: usize = 512;

/// One life of a key: `{ver, created, revs}`. When the generation ended with a delete, its last
/// revision is the tombstone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generation {
    /// Number of puts in this generation (a tombstone also counts, as in etcd).
    pub ver: i64,
    /// Revision of the put that created the generation.
    pub created: Revision,
    /// Every revision of the key in this generation, ascending.
    pub revs: SharedVec<Revision, REVS_CHUNK>,
}

impl Generation {
    pub fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }
}

/// The history of one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyIndex {
    pub key: Vec<u8>,
    /// The same bytes, shared with every stored revision of the key.
    pub(crate) shared_key: std::rc::Rc<[u8]>,
    /// The last revision that touched the key (put or tombstone).
    pub modified: Revision,
    pub generations: Vec<Generation>,
}

/// What a key looked like at a revision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAt {
    pub modified: Revision,
    pub created: Revision,
    pub version: i64,
}

impl KeyIndex {
    pub fn new(key: Vec<u8>) -> Self {
        KeyIndex {
            shared_key: std::rc::Rc::from(key.as_slice()),
            key,
            modified: Revision::default(),
            generations: vec![Generation::default()],
        }
    }

    /// Records a put at `rev`.
    pub fn put(&mut self, rev: Revision) {
        assert!(
            rev > self.modified,
            "put at {rev:?} not after {:?}",
            self.modified
        );
        let g = self.generations.last_mut().expect("always one generation");
        if g.revs.is_empty() {
            g.created = rev;
        }
        g.revs.push(rev);
        g.ver += 1;
        self.modified = rev;
    }

    /// Records a delete at `rev`: appends the tombstone and opens a new empty generation.
    /// Returns false (and changes nothing) if the key is not live.
    pub fn tombstone(&mut self, rev: Revision) -> bool {
        if self.generations.last().is_none_or(|g| g.is_empty()) {
            return false;
        }
        self.put(rev);
        self.generations.push(Generation::default());
        true
    }

    /// True when no generation holds a revision (the key can leave the index).
    pub fn is_empty(&self) -> bool {
        self.generations.iter().all(|g| g.is_empty())
    }

    /// The live revision of the key at main revision `at`, or None if absent/deleted then.
    pub fn get(&self, at: i64) -> Option<KeyAt> {
        let last = self.generations.len() - 1;
        if at >= self.modified.main {
            // The common case (a read or write at the current revision): the newest revision,
            // unless the key's last operation was a delete (then the open generation is empty).
            let g = &self.generations[last];
            return g.revs.last().map(|&modified| KeyAt {
                modified,
                created: g.created,
                version: g.ver,
            });
        }
        for (i, g) in self.generations.iter().enumerate().rev() {
            if g.is_empty() {
                continue;
            }
            // A closed generation (not the last) ends with its tombstone.
            if i != last {
                let tomb = g.revs[g.revs.len() - 1];
                if tomb.main <= at {
                    return None; // deleted at or before `at` (and no later generation matched)
                }
            }
            if g.revs[0].main > at {
                continue; // generation created after `at`
            }
            // newest revision <= at within the generation
            let idx = g.revs.partition_point(|r| r.main <= at) - 1;
            return Some(KeyAt {
                modified: g.revs[idx],
                created: g.created,
                version: g.ver - (g.revs.len() - 1 - idx) as i64,
            });
        }
        None
    }

    /// Compacts the history at main revision `at` (etcd >= 3.4.34 / 3.5.16 rules):
    /// - generations whose tombstone is < `at` are dropped entirely;
    /// - a generation whose tombstone is exactly `at` keeps only that tombstone;
    /// - in the generation that spans `at`, revisions older than the newest one <= `at` go.
    ///
    /// The revisions <= `at` that survive are added to `keep`.
    /// `keep_tombstone_at`: a generation whose tombstone is exactly at `at` keeps it (etcd
    /// pull request #18274); false drops the whole generation, as older etcd did.
    pub fn compact(&mut self, at: i64, keep: &mut BTreeSet<Revision>, keep_tombstone_at: bool) {
        let last = self.generations.len() - 1;
        let mut first_kept = last;
        for (i, g) in self.generations.iter().enumerate() {
            if i == last || g.is_empty() {
                first_kept = i;
                break;
            }
            let tomb = g.revs[g.revs.len() - 1];
            if tomb.main > at || keep_tombstone_at && tomb.main == at {
                first_kept = i;
                break;
            }
        }
        self.generations.drain(..first_kept);
        let g = &mut self.generations[0];
        if !g.is_empty() {
            let n = g.revs.partition_point(|r| r.main <= at);
            if n > 0 {
                keep.insert(g.revs[n - 1]);
                g.revs.drain_front(n - 1);
            }
        }
        if self.generations.len() > 1 && self.generations[0].is_empty() {
            self.generations.remove(0);
        }
    }

    /// Every revision of the key, oldest first (including tombstones).
    pub fn all_revisions(&self) -> impl Iterator<Item = Revision> + '_ {
        self.generations.iter().flat_map(|g| g.revs.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(main: i64) -> Revision {
        Revision { main, sub: 0 }
    }

    #[test]
    fn generations_and_versions() {
        let mut ki = KeyIndex::new(b"a".to_vec());
        ki.put(r(2));
        ki.put(r(4));
        assert!(ki.tombstone(r(6)));
        ki.put(r(8));
        assert_eq!(ki.generations.len(), 2);
        assert_eq!(ki.get(1), None);
        assert_eq!(ki.get(3).unwrap().version, 1);
        assert_eq!(ki.get(5).unwrap().modified, r(4));
        assert_eq!(ki.get(5).unwrap().version, 2);
        assert_eq!(ki.get(6), None);
        assert_eq!(ki.get(7), None);
        let at8 = ki.get(8).unwrap();
        assert_eq!((at8.created, at8.version), (r(8), 1));
    }
}
