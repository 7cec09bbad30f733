//! The revision keys a scheduled compaction has yet to delete from the backend, in the order
//! it deletes them.
//!
//! A compaction of a long history queues millions of keys per member, nearly all of them
//! consecutive revisions: the queue holds runs of consecutive main revisions (same sub
//! revision, same tombstone flag), not one entry per key.

use std::collections::VecDeque;

use crate::backend::RevKey;

#[derive(Clone, Copy, Debug)]
struct Run {
    first: RevKey,
    /// Keys `first.main .. first.main + count`, at least 1.
    count: i64,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct CompactionQueue {
    runs: VecDeque<Run>,
    len: usize,
}

impl CompactionQueue {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push_back(&mut self, key: RevKey) {
        self.len += 1;
        if let Some(last) = self.runs.back_mut() {
            let extends = last.first.sub == key.sub
                && last.first.tombstone == key.tombstone
                && last.first.main + last.count == key.main;
            if extends {
                last.count += 1;
                return;
            }
        }
        self.runs.push_back(Run {
            first: key,
            count: 1,
        });
    }

    pub fn pop_front(&mut self) -> Option<RevKey> {
        let run = self.runs.front_mut()?;
        let key = run.first;
        run.count -= 1;
        if run.count == 0 {
            self.runs.pop_front();
        } else {
            run.first.main += 1;
        }
        self.len -= 1;
        Some(key)
    }

    /// The highest main revision queued.
    pub fn max_main(&self) -> Option<i64> {
        self.runs.iter().map(|r| r.first.main + r.count - 1).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(main: i64, sub: i64, tombstone: bool) -> RevKey {
        RevKey {
            main,
            sub,
            tombstone,
        }
    }

    #[test]
    fn pops_what_was_pushed_in_order() {
        let keys = [
            k(2, 0, false),
            k(3, 0, false),
            k(4, 0, true),
            k(5, 0, true),
            k(6, 1, true),
            k(7, 1, true),
            k(9, 1, true),
            k(1, 0, false),
        ];
        let mut q = CompactionQueue::default();
        for key in keys {
            q.push_back(key);
        }
        assert_eq!(q.len(), keys.len());
        assert_eq!(q.runs.len(), 5);
        assert_eq!(q.max_main(), Some(9));
        let popped: Vec<RevKey> = std::iter::from_fn(|| q.pop_front()).collect();
        assert_eq!(popped, keys);
        assert!(q.is_empty() && q.max_main().is_none());
    }
}
