//! etcd's key-value model, as the checker steps it: one revision for the whole store, keys
//! with their value, create and mod revisions and version. Steps are undone in reverse order
//! (the search backtracks), and the state keeps an incremental hash for its cache.

use std::collections::HashMap;

/// What a key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyState {
    pub value: u32,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
}

/// One operation, normalized for the model (keys and values interned).
#[derive(Clone, Copy, Debug)]
pub enum Step {
    Put {
        key: u32,
        value: u32,
    },
    /// `found`: the value read (None: no such key).
    Get {
        key: u32,
        found: Option<u32>,
    },
    Delete {
        key: u32,
    },
    /// Compare `key` with `compare`; put `value` when it holds, else read the key when
    /// `else_get` (Some(found): what the read found, None: no read or no response).
    /// `succeeded`: what the response said (None: no response).
    Txn {
        key: u32,
        compare: Compare,
        value: u32,
        succeeded: Option<bool>,
        else_get: Option<Option<u32>>,
    },
    /// Some other write: it may advance the revision, and touches none of the history's keys.
    Write,
}

/// A txn's compare: the key's figure `result` the target's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compare {
    pub target: Target,
    pub result: CompareResult,
}

/// What a compare looks at (etcd's `Compare.target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The key's value (None: the key must not exist; only `=` and `!=`).
    Value(Option<u32>),
    /// The key's version, create or mod revision (0 when the key does not exist).
    Version(i64),
    CreateRevision(i64),
    ModRevision(i64),
}

impl Compare {
    /// Whether the compare holds for the key as it is (None: it does not exist).
    pub fn holds(self, key: Option<&KeyState>) -> bool {
        use std::cmp::Ordering;
        let figure = |f: fn(&KeyState) -> i64| key.map_or(0, f);
        let ord = match self.target {
            Target::Value(None) => {
                let absent = key.is_none();
                return match self.result {
                    CompareResult::Equal => absent,
                    CompareResult::NotEqual => !absent,
                    _ => false,
                };
            }
            // etcd: a value compare on a key that does not exist is false.
            Target::Value(Some(v)) => match key {
                None => return false,
                Some(k) if k.value == v => Ordering::Equal,
                Some(_) => return self.result == CompareResult::NotEqual,
            },
            Target::Version(n) => figure(|k| k.version).cmp(&n),
            Target::CreateRevision(n) => figure(|k| k.create_revision).cmp(&n),
            Target::ModRevision(n) => figure(|k| k.mod_revision).cmp(&n),
        };
        match self.result {
            CompareResult::Equal => ord == Ordering::Equal,
            CompareResult::NotEqual => ord != Ordering::Equal,
            CompareResult::Greater => ord == Ordering::Greater,
            CompareResult::Less => ord == Ordering::Less,
        }
    }
}

pub use crate::format::CompareResult;

/// How an operation ended, for the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// The response's header revision.
    Returned(i64),
    /// Applied (the cluster's log says so), maybe at a known revision; the client did not see
    /// the response.
    Applied(Option<i64>),
    /// The client does not know: applied or not.
    Maybe,
}

/// What a step changed, to undo it: the revision, and a key's entry as it was (None: the
/// key had no entry).
#[derive(Clone, Copy, Debug)]
pub struct Undo {
    revision: i64,
    key: Option<(u32, Option<Entry>)>,
}

/// A key's entry: its state, or None when it is known not to exist.
type Entry = Option<KeyState>;

#[derive(Default)]
pub struct State {
    pub revision: i64,
    /// Keys with a known entry. A key without one does not exist, unless the state started
    /// unknown.
    keys: HashMap<u32, Entry>,
    /// Started from data the history does not describe (a restored backup): a key is
    /// unknown until an operation of the history shows or sets it.
    unknown_start: bool,
    /// XOR of the keys' hashes.
    keys_hash: u64,
}

pub fn mix(mut x: u64) -> u64 {
    // splitmix64's finalizer
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn key_hash(key: u32, e: &Entry) -> u64 {
    match e {
        Some(s) => {
            mix(mix(mix(key as u64) ^ s.value as u64) ^ s.mod_revision as u64)
                ^ mix(s.create_revision as u64 ^ ((s.version as u64) << 40))
        }
        None => mix(mix(key as u64) ^ 0xdead_beef),
    }
}

impl State {
    /// A state whose keys are unknown until seen (see `unknown_start`).
    pub fn starting_unknown() -> State {
        State {
            unknown_start: true,
            ..State::default()
        }
    }

    pub fn hash(&self) -> u64 {
        self.keys_hash ^ mix(self.revision as u64 ^ 0x5bd1_e995)
    }

    pub fn get(&self, key: u32) -> Option<&KeyState> {
        self.keys.get(&key).and_then(Option::as_ref)
    }

    /// The key's value if known: Some(None) when it is known not to exist, None when unknown.
    pub fn known_value(&self, key: u32) -> Option<Option<u32>> {
        if self.unknown(key) {
            return None;
        }
        Some(self.get(key).map(|s| s.value))
    }

    /// Whether the key's entry is unknown (the state started from undescribed data).
    fn unknown(&self, key: u32) -> bool {
        self.unknown_start && !self.keys.contains_key(&key)
    }

    /// Sets the key's entry (None: removes it); returns the entry it had.
    fn set_entry(&mut self, key: u32, to: Option<Entry>) -> Option<Entry> {
        let old = match to {
            Some(e) => self.keys.insert(key, e),
            None => self.keys.remove(&key),
        };
        if let Some(o) = &old {
            self.keys_hash ^= key_hash(key, o);
        }
        if let Some(n) = &to {
            self.keys_hash ^= key_hash(key, n);
        }
        old
    }

    /// Sets what the key holds (None: it does not exist); returns the entry it had.
    fn set(&mut self, key: u32, to: Entry) -> Option<Entry> {
        if to.is_none() && !self.unknown_start {
            return self.set_entry(key, None); // no entry means absent
        }
        self.set_entry(key, Some(to))
    }

    pub fn undo(&mut self, u: Undo) {
        self.revision = u.revision;
        if let Some((key, old)) = u.key {
            self.set_entry(key, old);
        }
    }

    /// Applies `step` with `fate`, choosing `applied` for a maybe-applied write. None: the
    /// response cannot be explained from this state.
    pub fn step(&mut self, step: Step, fate: Fate, applied: bool) -> Option<Undo> {
        let before = Undo {
            revision: self.revision,
            key: None,
        };
        if !applied {
            return Some(before); // a write that never took effect
        }
        let returned = match fate {
            Fate::Returned(r) => Some(r),
            Fate::Applied(r) => r,
            Fate::Maybe => None,
        };
        match step {
            Step::Get { key, found } => {
                let r = returned?;
                if r < self.revision {
                    return None;
                }
                if self.unknown(key) {
                    // The first sight of a key of undescribed data: it held what was read.
                    let seen = found.map(|value| KeyState {
                        value,
                        create_revision: 0,
                        mod_revision: 0,
                        version: 0,
                    });
                    let old = self.set_entry(key, Some(seen));
                    self.revision = r;
                    return Some(Undo {
                        key: Some((key, old)),
                        ..before
                    });
                }
                (self.get(key).map(|s| s.value) == found).then(|| {
                    self.revision = r;
                    before
                })
            }
            Step::Put { key, value } => self.put(key, value, returned, before),
            Step::Delete { key } => {
                if self.get(key).is_none() && !self.unknown(key) {
                    // Deleting nothing leaves the revision alone.
                    return self.advance_to(returned, 0, before);
                }
                let undo = self.advance_to(returned, 1, before)?;
                let old = self.set(key, None);
                Some(Undo {
                    key: Some((key, old)),
                    ..undo
                })
            }
            Step::Txn {
                key,
                compare,
                value,
                succeeded,
                else_get,
            } => {
                let unknown = self.unknown(key);
                let holds = if unknown {
                    succeeded.unwrap_or(false) // what the response says, else no effect
                } else {
                    compare.holds(self.get(key))
                };
                if succeeded.is_some_and(|s| s != holds) {
                    return None;
                }
                if holds {
                    return self.put(key, value, returned, before);
                }
                // The failure branch's read sees the key as it is (unknown data: as it was).
                let seen = self.get(key).map(|s| s.value);
                if !unknown && else_get.is_some_and(|found| found != seen) {
                    return None;
                }
                self.advance_to(returned, 0, before)
            }
            Step::Write => match returned {
                Some(r) if r >= self.revision => {
                    self.revision = r;
                    Some(before)
                }
                Some(_) => None,
                None => Some(before),
            },
        }
    }

    fn put(&mut self, key: u32, value: u32, returned: Option<i64>, before: Undo) -> Option<Undo> {
        let undo = self.advance_to(returned, 1, before)?;
        let rev = self.revision;
        let new = match self.get(key) {
            Some(s) => KeyState {
                value,
                mod_revision: rev,
                version: s.version + 1,
                ..*s
            },
            None => KeyState {
                value,
                create_revision: rev,
                mod_revision: rev,
                version: 1,
            },
        };
        let old = self.set(key, Some(new));
        Some(Undo {
            key: Some((key, old)),
            ..undo
        })
    }

    /// The revision after a write that changed `changes` (0 or 1) revisions. Other writes,
    /// not in the history, may have advanced it in between, so a known revision may jump
    /// ahead, never back; an unknown one is the smallest possible.
    fn advance_to(&mut self, returned: Option<i64>, changes: i64, before: Undo) -> Option<Undo> {
        let least = self.revision + changes;
        match returned {
            Some(r) if r < least => return None,
            Some(r) => self.revision = r,
            None => self.revision = least,
        }
        Some(before)
    }
}
