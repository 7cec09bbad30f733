//! The in-memory Raft log: stable and unstable entries in one Vec (etcd's `raftLog` +
//! `unstable` + `MemoryStorage`, without compaction).

use crate::{Entry, Payload};

pub(crate) struct RaftLog<P> {
    /// `entries[i]` has index `offset + i`.
    entries: Vec<Entry<P>>,
    offset: u64,
    /// Term of the entry at `offset - 1` (0 until compaction exists).
    prev_term: u64,
    /// Entries up to here have been handed out and persisted.
    stable: u64,
    committed: u64,
    applied: u64,
}

impl<P: Payload> RaftLog<P> {
    /// A log recovered from the WAL: every entry is stable.
    pub(crate) fn restored(entries: Vec<Entry<P>>, committed: u64, applied: u64) -> Self {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(
                e.index,
                i as u64 + 1,
                "recovered log must be contiguous from 1"
            );
        }
        let last = entries.len() as u64;
        assert!(
            committed <= last,
            "commit {committed} beyond last index {last}"
        );
        assert!(
            applied <= committed,
            "applied {applied} beyond commit {committed}"
        );
        RaftLog {
            entries,
            offset: 1,
            prev_term: 0,
            stable: last,
            committed,
            applied,
        }
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.offset + self.entries.len() as u64 - 1
    }

    pub(crate) fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.prev_term, |e| e.term)
    }

    pub(crate) fn committed(&self) -> u64 {
        self.committed
    }

    pub(crate) fn applied(&self) -> u64 {
        self.applied
    }

    pub(crate) fn term(&self, index: u64) -> Option<u64> {
        if index + 1 == self.offset {
            return Some(self.prev_term);
        }
        self.entry(index).map(|e| e.term)
    }

    pub(crate) fn entry(&self, index: u64) -> Option<&Entry<P>> {
        let pos = index.checked_sub(self.offset)?;
        self.entries.get(usize::try_from(pos).ok()?)
    }

    fn pos(&self, index: u64) -> usize {
        (index - self.offset) as usize
    }

    fn match_term(&self, index: u64, term: u64) -> bool {
        self.term(index) == Some(term)
    }

    /// Election restriction (§5.4.1): is a log ending at (`last_index`, `last_term`) at
    /// least as up to date as ours?
    pub(crate) fn is_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        let my_term = self.last_term();
        last_term > my_term || (last_term == my_term && last_index >= self.last_index())
    }

    /// Index of the first entry that is missing here or has a different term.
    fn find_conflict(&self, ents: &[Entry<P>]) -> Option<u64> {
        ents.iter()
            .find(|e| !self.match_term(e.index, e.term))
            .map(|e| e.index)
    }

    /// Follower side of MsgApp. Returns the last index the message covers, or None when the
    /// entry preceding `ents` does not match (the leader must back up).
    pub(crate) fn maybe_append(
        &mut self,
        prev_index: u64,
        prev_term: u64,
        commit: u64,
        mut ents: Vec<Entry<P>>,
    ) -> Option<u64> {
        if !self.match_term(prev_index, prev_term) {
            return None;
        }
        let last_new = prev_index + ents.len() as u64;
        if let Some(conflict) = self.find_conflict(&ents) {
            // Entries before the conflict are already here: keep them, replace the rest.
            ents.drain(..(conflict - prev_index - 1) as usize);
            self.truncate_and_append(ents);
        }
        self.commit_to(commit.min(last_new));
        Some(last_new)
    }

    /// Leader side: entries already carry their term and index, following the last one.
    pub(crate) fn append(&mut self, ents: Vec<Entry<P>>) {
        debug_assert_eq!(ents.first().map(|e| e.index), Some(self.last_index() + 1));
        self.entries.extend(ents);
    }

    /// Replaces everything from `ents[0].index` on; committed entries are never replaced.
    fn truncate_and_append(&mut self, ents: Vec<Entry<P>>) {
        let first = ents[0].index;
        assert!(
            first > self.committed,
            "entry {first} conflicts with committed entry (committed {})",
            self.committed
        );
        assert!(first <= self.last_index() + 1, "gap before entry {first}");
        self.entries.truncate(self.pos(first));
        self.stable = self.stable.min(first - 1);
        self.entries.extend(ents);
    }

    /// Clones of entries in [lo, hi), at most `max_bytes` of them but at least one.
    pub(crate) fn slice(&self, lo: u64, hi: u64, max_bytes: u64) -> Vec<Entry<P>> {
        if lo >= hi {
            return Vec::new();
        }
        let window = &self.entries[self.pos(lo)..self.pos(hi)];
        let mut size = 0;
        let mut count = 0;
        for e in window {
            size += e.size_bytes();
            if count > 0 && size > max_bytes {
                break;
            }
            count += 1;
        }
        window[..count].to_vec()
    }

    /// Raises the commit index; never lowers it.
    pub(crate) fn commit_to(&mut self, index: u64) {
        if index > self.committed {
            assert!(
                index <= self.last_index(),
                "commit {index} beyond last index {}",
                self.last_index()
            );
            self.committed = index;
        }
    }

    /// Leader commit rule: only entries of the current term are committed by counting.
    pub(crate) fn maybe_commit(&mut self, index: u64, term: u64) -> bool {
        if index > self.committed && self.term(index) == Some(term) {
            self.commit_to(index);
            return true;
        }
        false
    }

    pub(crate) fn has_unstable(&self) -> bool {
        self.last_index() > self.stable
    }

    pub(crate) fn unstable_entries(&self) -> Vec<Entry<P>> {
        self.entries[self.pos(self.stable + 1)..].to_vec()
    }

    pub(crate) fn has_next_committed(&self) -> bool {
        self.committed > self.applied
    }

    /// Entries in (applied, committed], whether stable or not (as etcd 3.4).
    pub(crate) fn next_committed_entries(&self) -> Vec<Entry<P>> {
        self.entries[self.pos(self.applied + 1)..self.pos(self.committed + 1)].to_vec()
    }

    /// The entries handed out up to (`index`, `term`) are persisted. Ignored when that entry
    /// has been replaced in the meantime.
    pub(crate) fn stable_to(&mut self, index: u64, term: u64) {
        if index > self.stable && self.match_term(index, term) {
            self.stable = index;
        }
    }

    pub(crate) fn applied_to(&mut self, index: u64) {
        assert!(
            index <= self.committed,
            "applied {index} beyond commit {}",
            self.committed
        );
        self.applied = self.applied.max(index);
    }
}
