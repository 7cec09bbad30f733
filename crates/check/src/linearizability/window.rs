//! The calls the search may place next: those before the first return still in the list,
//! indexed by what the search asks of them, so that a step costs a few tree lookups instead of
//! a walk over every operation in flight (a stalled cluster has thousands at once).
//!
//! Entries keep their time order in the list, so the window is "unplaced operations whose
//! call entry comes before the first unplaced return entry". Placing an operation may move
//! that first return later (calls join the window); undoing a placement moves it back (they
//! leave). The answers are exactly those of walking the list: `tests` compares both.

use std::collections::BTreeSet;
use std::ops::Bound;

use super::{Key, List, Op};
use crate::model::{Fate, State, Step};

pub(super) struct Window {
    /// The first return entry of an unplaced operation (or the list's length): the window
    /// holds the unplaced calls at entries below it.
    end: usize,
    placed: Vec<bool>,
    /// Candidates with a known revision: their key does not change.
    known: BTreeSet<Key>,
    /// Writes whose revision is unknown: key (0, revision + 1, false, entry).
    unknown: BTreeSet<usize>,
    /// The "not applied" choice of maybe-applied writes: key (1, revision + 1, false, entry).
    not_applied: BTreeSet<usize>,
    /// Returned single-key gets (current value) and ranges: (revision returned, entry).
    reads: BTreeSet<(i64, usize)>,
    /// Calls in the window.
    len: usize,
}

impl Window {
    pub fn new(list: &List, ops: &[Op]) -> Window {
        let mut w = Window {
            end: 1,
            placed: vec![false; ops.len()],
            known: BTreeSet::new(),
            unknown: BTreeSet::new(),
            not_applied: BTreeSet::new(),
            reads: BTreeSet::new(),
            len: 0,
        };
        w.extend(list, ops);
        w
    }

    /// Moves the end forward to the first unplaced return; the unplaced calls passed join.
    fn extend(&mut self, list: &List, ops: &[Op]) {
        while self.end < list.e.len() {
            let entry = &list.e[self.end];
            if !self.placed[entry.op] {
                if !entry.call {
                    return;
                }
                self.add(ops, self.end, entry.op);
            }
            self.end += 1;
        }
    }

    /// Moves the end back to `end`; the unplaced calls passed leave.
    fn shrink(&mut self, list: &List, ops: &[Op], end: usize) {
        for i in end..self.end {
            let entry = &list.e[i];
            if entry.call && !self.placed[entry.op] {
                self.remove(ops, i, entry.op);
            }
        }
        self.end = end;
    }

    /// Calls in the window (read to check the window against the walk).
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    pub fn len(&self) -> usize {
        self.len
    }

    fn add(&mut self, ops: &[Op], entry: usize, op_index: usize) {
        self.len += 1;
        let op = &ops[op_index];
        match op.claimed() {
            Some(r) => {
                self.known.insert(key(op, r, entry));
            }
            None => {
                // Reads always carry their revision (failed reads are not checked).
                debug_assert!(!matches!(op.step, Step::Get { .. } | Step::Range { .. }));
                self.unknown.insert(entry);
            }
        }
        if op.choices() == 2 {
            self.not_applied.insert(entry);
        }
        if let Some(r) = identity_candidate(op) {
            self.reads.insert((r, entry));
        }
    }

    fn remove(&mut self, ops: &[Op], entry: usize, op_index: usize) {
        self.len -= 1;
        let op = &ops[op_index];
        match op.claimed() {
            Some(r) => {
                self.known.remove(&key(op, r, entry));
            }
            None => {
                self.unknown.remove(&entry);
            }
        }
        self.not_applied.remove(&entry);
        if let Some(r) = identity_candidate(op) {
            self.reads.remove(&(r, entry));
        }
    }

    /// Places the operation of call entry `entry` (a candidate of the window).
    pub fn lift(&mut self, list: &mut List, ops: &[Op], entry: usize) {
        let op_index = list.e[entry].op;
        debug_assert!(entry < self.end && !self.placed[op_index]);
        self.remove(ops, entry, op_index);
        self.placed[op_index] = true;
        list.lift(entry);
        if list.e[entry].pair == self.end {
            self.extend(list, ops);
        }
    }

    /// Undoes the newest placement, of call entry `entry`.
    pub fn unlift(&mut self, list: &mut List, ops: &[Op], entry: usize) {
        let op_index = list.e[entry].op;
        list.unlift(entry);
        let pair = list.e[entry].pair;
        if pair < self.end {
            self.shrink(list, ops, pair);
        }
        self.placed[op_index] = false;
        self.add(ops, entry, op_index);
    }

    /// The candidate of least key above `tried`. Keys: a candidate with a known revision
    /// is tried at it, one with an unknown revision at the next one (`revision + 1`), and
    /// "not applied" comes after every applied choice (choice 1); ties go to the earlier call.
    pub fn next_candidate(&self, revision: i64, tried: Option<Key>) -> Option<Key> {
        let known = match tried {
            None => self.known.first().copied(),
            Some(t) => self
                .known
                .range((Bound::Excluded(t), Bound::Unbounded))
                .next()
                .copied(),
        };
        let unknown = first_above(&self.unknown, (0, revision + 1, false), tried);
        let not_applied = first_above(&self.not_applied, (1, revision + 1, false), tried);
        [known, unknown, not_applied].into_iter().flatten().min()
    }

    /// The first candidate read (in time order) that, placed now, leaves `state` as it is.
    pub fn identity_read(&self, ops: &[Op], list: &List, state: &State) -> Option<usize> {
        let r = state.revision;
        self.reads
            .range((r, 0)..(r + 1, 0))
            .map(|&(_, entry)| entry)
            .find(|&entry| unchanged(&ops[list.e[entry].op], state))
    }
}

fn key(op: &Op, claimed: i64, entry: usize) -> Key {
    let is_read = matches!(op.step, Step::Get { .. } | Step::Range { .. });
    (0, claimed, is_read, entry)
}

/// The least (prefix, entry) above `tried`, for entries of `set` that share `prefix`.
fn first_above(set: &BTreeSet<usize>, prefix: (u8, i64, bool), tried: Option<Key>) -> Option<Key> {
    let with = |entry: usize| (prefix.0, prefix.1, prefix.2, entry);
    let entry = match tried {
        None => set.first().copied(),
        Some(t) => match (t.0, t.1, t.2).cmp(&prefix) {
            std::cmp::Ordering::Less => set.first().copied(),
            std::cmp::Ordering::Equal => set
                .range((Bound::Excluded(t.3), Bound::Unbounded))
                .next()
                .copied(),
            std::cmp::Ordering::Greater => None,
        },
    };
    entry.map(with)
}

/// The revision a read returned, for a read that may leave the state unchanged.
fn identity_candidate(op: &Op) -> Option<i64> {
    match (op.fate, op.step) {
        (Fate::Returned(r), Step::Get { at: 0, .. } | Step::Range { .. }) => Some(r),
        _ => None,
    }
}

fn unchanged(op: &Op, state: &State) -> bool {
    match op.step {
        Step::Get { key, found, at: 0 } => state.known_value(key) == Some(found),
        Step::Range { range } => state.range_matches(range),
        _ => false,
    }
}

/// The walks over the list that the window replaces, kept to check it: builds with debug
/// assertions (the test suite) compare both at every step of a small window.
#[cfg(debug_assertions)]
pub(super) mod walk {
    use super::super::NIL;
    use super::*;

    fn priority(op: &Op, choice: u8, revision: i64, entry: usize) -> Key {
        let claimed = op.claimed().unwrap_or(revision + 1);
        let is_read = matches!(op.step, Step::Get { .. } | Step::Range { .. });
        (choice, claimed, is_read, entry)
    }

    pub fn next_candidate(
        list: &List,
        ops: &[Op],
        revision: i64,
        tried: Option<Key>,
    ) -> Option<Key> {
        let mut best: Option<Key> = None;
        let mut i = list.e[0].next;
        while i != NIL && list.e[i].call {
            let op = &ops[list.e[i].op];
            for choice in 0..op.choices() {
                let key = priority(op, choice, revision, i);
                if tried.is_some_and(|t| key <= t) || best.is_some_and(|b| key >= b) {
                    continue;
                }
                best = Some(key);
            }
            i = list.e[i].next;
        }
        best
    }

    pub fn identity_read(list: &List, ops: &[Op], state: &State) -> Option<usize> {
        let mut i = list.e[0].next;
        while i != NIL && list.e[i].call {
            let op = &ops[list.e[i].op];
            if let Fate::Returned(r) = op.fate {
                if r == state.revision && unchanged(op, state) {
                    return Some(i);
                }
            }
            i = list.e[i].next;
        }
        None
    }
}
