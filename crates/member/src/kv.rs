//! The plain key-value state machine of this stage. The seam for MVCC: the member only needs
//! [`StateMachine`]; the MVCC store of a later stage implements the same trait.

use crate::Request;
use std::collections::BTreeMap;

pub trait StateMachine {
    /// Apply the entry at `index` (None: an empty entry of a new leader).
    fn apply(&mut self, index: u64, request: Option<&Request>);
    /// The highest applied index (etcd's consistent index): survives restarts with the backend.
    fn applied_index(&self) -> u64;
}

/// Keys with the size of their latest value and the revision that wrote it.
#[derive(Clone, Debug, Default)]
pub struct Kv {
    applied_index: u64,
    revision: u64,
    values: BTreeMap<u64, (u64, u32)>,
}

impl Kv {
    pub fn revision(&self) -> u64 {
        self.revision
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }
}

impl StateMachine for Kv {
    fn apply(&mut self, index: u64, request: Option<&Request>) {
        assert!(
            index > self.applied_index,
            "apply went back: {index} <= {}",
            self.applied_index
        );
        self.applied_index = index;
        if let Some(r) = request {
            self.revision += 1;
            self.values
                .insert(r.key, (self.revision, r.value_size_bytes));
        }
    }
    fn applied_index(&self) -> u64 {
        self.applied_index
    }
}
