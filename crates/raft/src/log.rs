//! The in-memory Raft log: stable and unstable entries in one Vec (etcd's `raftLog` +
//! `unstable` + `MemoryStorage`). Entries up to a snapshot may be compacted away: the log then
//! starts at `offset` and remembers the term of the entry before it.

use crate::{Entry, Payload};

#[derive(Clone)]
pub(crate) struct RaftLog<P> {
    /// `entries[i]` has index `offset + i`.
    entries: Vec<Entry<P>>,
    offset: u64,
    /// Term of the entry at `offset - 1` (the last compacted or snapshotted entry; 0 at start).
    prev_term: u64,
    /// Entries up to here have been handed out and persisted.
    stable: u64,
    committed: u64,
    applied: u64,
}

impl<P> RaftLog<P> {
    pub(crate) fn committed(&self) -> u64 {
        self.committed
    }

    pub(crate) fn applied(&self) -> u64 {
        self.applied
    }

    pub(crate) fn entries_len(&self) -> usize {
        self.entries.len()
    }
}

impl<P: Payload> RaftLog<P> {
    /// A log recovered from the WAL: every entry is stable.
    #[cfg(test)]
    pub(crate) fn restored(entries: Vec<Entry<P>>, committed: u64, applied: u64) -> Self {
        Self::restored_after(0, 0, entries, committed, applied)
    }

    /// A log recovered from a snapshot at (`snap_index`, `snap_term`) and the WAL entries
    /// after it.
    pub(crate) fn restored_after(
        snap_index: u64,
        snap_term: u64,
        entries: Vec<Entry<P>>,
        committed: u64,
        applied: u64,
    ) -> Self {
        for (i, e) in entries.iter().enumerate() {
            assert_eq!(
                e.index,
                snap_index + i as u64 + 1,
                "recovered log must be contiguous from the snapshot"
            );
        }
        let last = snap_index + entries.len() as u64;
        let committed = committed.max(snap_index);
        let applied = applied.max(snap_index);
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
            offset: snap_index + 1,
            prev_term: snap_term,
            stable: last,
            committed,
            applied,
        }
    }

    /// The first index held in memory (entries before it were compacted).
    pub(crate) fn first_index(&self) -> u64 {
        self.offset
    }

    /// Drops the entries up to `index` (etcd's `MemoryStorage.Compact`), which must be applied.
    pub(crate) fn compact(&mut self, index: u64) {
        if index < self.offset {
            return;
        }
        assert!(
            index <= self.applied,
            "compact {index} beyond applied {}",
            self.applied
        );
        let term = self.term(index).expect("index is held");
        self.entries.drain(..=self.pos(index));
        self.offset = index + 1;
        self.prev_term = term;
    }

    /// Replaces the whole log with a snapshot at (`index`, `term`) received from the leader.
    pub(crate) fn restore(&mut self, index: u64, term: u64) {
        self.entries.clear();
        self.offset = index + 1;
        self.prev_term = term;
        self.stable = index;
        self.committed = index;
        self.applied = index;
    }

    pub(crate) fn last_index(&self) -> u64 {
        self.offset + self.entries.len() as u64 - 1
    }

    pub(crate) fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.prev_term, |e| e.term)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntryData;

    #[derive(Clone, Debug, PartialEq, Eq)]
    struct Bytes(u64);

    impl Payload for Bytes {
        fn size_bytes(&self) -> u64 {
            self.0
        }
    }

    fn ents(first: u64, terms: &[u64]) -> Vec<Entry<Bytes>> {
        terms
            .iter()
            .enumerate()
            .map(|(i, &term)| Entry {
                term,
                index: first + i as u64,
                data: EntryData::Normal(Bytes(10)),
            })
            .collect()
    }

    fn terms(log: &RaftLog<Bytes>) -> Vec<u64> {
        (1..=log.last_index())
            .map(|i| log.term(i).unwrap())
            .collect()
    }

    #[test]
    fn append_repairs_a_conflicting_tail_and_keeps_the_matching_prefix() {
        let mut log = RaftLog::restored(ents(1, &[1, 1, 2, 2]), 1, 1);
        assert_eq!(log.maybe_append(1, 1, 3, ents(2, &[1, 3])), Some(3));
        assert_eq!(terms(&log), vec![1, 1, 3]);
        assert_eq!(log.committed(), 3);
        assert_eq!(log.unstable_entries().len(), 1, "only index 3 is new");
    }

    #[test]
    fn stale_append_does_not_truncate() {
        let mut log = RaftLog::restored(ents(1, &[1, 1, 1]), 0, 0);
        // A delayed message covering a prefix must not drop entries 3.
        assert_eq!(log.maybe_append(0, 0, 0, ents(1, &[1])), Some(1));
        assert_eq!(log.last_index(), 3);
    }

    #[test]
    fn mismatched_previous_entry_is_refused() {
        let mut log = RaftLog::restored(ents(1, &[1, 1]), 0, 0);
        assert_eq!(log.maybe_append(2, 2, 0, ents(3, &[2])), None);
        assert_eq!(log.maybe_append(5, 1, 0, Vec::new()), None);
    }

    #[test]
    #[should_panic(expected = "conflicts with committed")]
    fn committed_entries_are_never_replaced() {
        let mut log = RaftLog::restored(ents(1, &[1, 1]), 2, 0);
        log.maybe_append(1, 1, 0, ents(2, &[2]));
    }

    #[test]
    fn commit_needs_an_entry_of_the_current_term() {
        let mut log = RaftLog::restored(ents(1, &[1, 2, 3]), 1, 0);
        assert!(!log.maybe_commit(2, 3));
        assert!(log.maybe_commit(3, 3));
        assert_eq!(log.committed(), 3);
    }

    #[test]
    fn slice_limits_bytes_but_always_returns_one_entry() {
        let log = RaftLog::restored(ents(1, &[1, 1, 1, 1]), 0, 0);
        // Each entry is 10 + ENTRY_HEADER_BYTES = 34 bytes.
        assert_eq!(log.slice(1, 5, 1).len(), 1);
        assert_eq!(log.slice(1, 5, 68).len(), 2);
        assert_eq!(log.slice(1, 5, 1000).len(), 4);
        assert!(log.slice(5, 5, 1000).is_empty());
    }

    #[test]
    fn stable_to_ignores_replaced_entries() {
        let mut log = RaftLog::restored(ents(1, &[1]), 0, 0);
        log.append(ents(2, &[1, 1]));
        assert_eq!(log.unstable_entries().len(), 2);
        // Handed out (3, term 1), then index 3 was replaced by a term-2 entry.
        log.maybe_append(2, 1, 0, ents(3, &[2]));
        log.stable_to(3, 1);
        assert!(log.has_unstable());
        log.stable_to(3, 2);
        assert!(!log.has_unstable());
    }

    #[test]
    fn term_of_index_zero_is_zero() {
        let log: RaftLog<Bytes> = RaftLog::restored(Vec::new(), 0, 0);
        assert_eq!(log.term(0), Some(0));
        assert_eq!(log.term(1), None);
        assert_eq!(log.last_index(), 0);
        assert_eq!(log.last_term(), 0);
    }
}
