//! A vector that clones cheaply: its full chunks are immutable and shared between clones.
//!
//! Every member applies the same writes, and a fast-forward hands each member a clone of one
//! store of millions of revisions. Only appends and dropping a prefix (compaction) change these
//! vectors, so full chunks never change: a clone shares them and owns only the tail.

use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;

#[derive(Clone)]
pub struct SharedVec<T, const CHUNK: usize> {
    /// Full chunks of `CHUNK` elements, oldest first, shared with clones.
    chunks: VecDeque<Rc<[T]>>,
    /// Elements of the first chunk dropped by `drain_front`.
    skip: usize,
    /// The newest elements (fewer than `CHUNK`), this vector's own.
    tail: Vec<T>,
}

impl<T, const CHUNK: usize> Default for SharedVec<T, CHUNK> {
    fn default() -> Self {
        SharedVec {
            chunks: VecDeque::new(),
            skip: 0,
            tail: Vec::new(),
        }
    }
}

impl<T: Clone, const CHUNK: usize> SharedVec<T, CHUNK> {
    pub fn len(&self) -> usize {
        self.chunks.len() * CHUNK + self.tail.len() - self.skip
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, value: T) {
        self.tail.push(value);
        if self.tail.len() == CHUNK {
            self.chunks
                .push_back(Rc::from(std::mem::take(&mut self.tail)));
        }
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        let i = i + self.skip;
        let sealed = self.chunks.len() * CHUNK;
        if i < sealed {
            Some(&self.chunks[i / CHUNK][i % CHUNK])
        } else {
            self.tail.get(i - sealed)
        }
    }

    pub fn first(&self) -> Option<&T> {
        self.get(0)
    }

    pub fn last(&self) -> Option<&T> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// The index of the first element for which `pred` is false (`pred` true then false, as
    /// for `slice::partition_point`).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        let full = self.chunks.partition_point(|c| pred(&c[CHUNK - 1]));
        let at = if full < self.chunks.len() {
            // The first chunk's dropped elements are not looked at.
            let from = if full == 0 { self.skip } else { 0 };
            full * CHUNK + from + self.chunks[full][from..].partition_point(&mut pred)
        } else {
            full * CHUNK + self.tail.partition_point(pred)
        };
        at - self.skip
    }

    /// Drops the first `n` elements.
    pub fn drain_front(&mut self, n: usize) {
        assert!(n <= self.len(), "drain of {n} from {}", self.len());
        self.skip += n;
        while self.skip >= CHUNK && !self.chunks.is_empty() {
            self.chunks.pop_front();
            self.skip -= CHUNK;
        }
        if self.chunks.is_empty() && self.skip > 0 {
            self.tail.drain(..self.skip);
            self.skip = 0;
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("in range"))
    }
}

impl<T: Clone, const CHUNK: usize> std::ops::Index<usize> for SharedVec<T, CHUNK> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        let len = self.len();
        self.get(i)
            .unwrap_or_else(|| panic!("index {i} out of range for length {len}"))
    }
}

impl<T: Clone + fmt::Debug, const CHUNK: usize> fmt::Debug for SharedVec<T, CHUNK> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Clone + PartialEq, const CHUNK: usize> PartialEq for SharedVec<T, CHUNK> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl<T: Clone + Eq, const CHUNK: usize> Eq for SharedVec<T, CHUNK> {}

impl<T: Clone, const CHUNK: usize> FromIterator<T> for SharedVec<T, CHUNK> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v = SharedVec::default();
        for x in iter {
            v.push(x);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type V = SharedVec<u32, 4>;

    fn check_same(v: &V, model: &[u32]) {
        assert_eq!(v.len(), model.len());
        assert_eq!(v.iter().copied().collect::<Vec<_>>(), model);
        assert_eq!(v.first(), model.first());
        assert_eq!(v.last(), model.last());
        for probe in 0..=30 {
            assert_eq!(
                v.partition_point(|&x| x < probe),
                model.partition_point(|&x| x < probe),
                "probe {probe} in {model:?}"
            );
        }
    }

    #[test]
    fn behaves_as_a_vec_under_pushes_and_front_drains() {
        let mut v = V::default();
        let mut model = Vec::new();
        for x in 0..11 {
            v.push(x * 2);
            model.push(x * 2);
            check_same(&v, &model);
        }
        for n in [1, 2, 3, 0, 4] {
            v.drain_front(n);
            model.drain(..n);
            check_same(&v, &model);
            v.push(model.last().map_or(0, |x| x + 1));
            model.push(*model.last().map_or(&0, |x| x) + 1);
            check_same(&v, &model);
        }
        let n = model.len();
        v.drain_front(n);
        model.clear();
        check_same(&v, &model);
    }

    #[test]
    fn clones_share_full_chunks() {
        let a: V = (0..10).collect();
        let mut b = a.clone();
        assert!(Rc::ptr_eq(&a.chunks[0], &b.chunks[0]));
        b.push(10);
        b.drain_front(5);
        assert_eq!(a.len(), 10);
        assert_eq!(b.iter().copied().collect::<Vec<_>>(), [5, 6, 7, 8, 9, 10]);
        assert!(Rc::ptr_eq(&a.chunks[1], &b.chunks[0]));
    }
}
