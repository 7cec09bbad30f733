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
    /// The lease it is attached to (0: none).
    pub lease: i64,
}

/// One operation, normalized for the model (keys and values interned).
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// A put, attaching the key to `lease` (0: none; a lease that does not exist fails it).
    Put {
        key: u32,
        value: u32,
        lease: i64,
    },
    /// `found`: the value read (None: no such key); `at`: the revision it asked for (0: the
    /// latest).
    Get {
        key: u32,
        found: Option<u32>,
        at: i64,
    },
    /// A read of several keys: `State::ranges[range]` says which and what it found.
    Range {
        range: u32,
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
    /// A lease is granted (the revision stays).
    LeaseGrant {
        lease: i64,
    },
    /// A lease is revoked: its keys are deleted at one revision.
    LeaseRevoke {
        lease: i64,
    },
    /// Some other write: it may advance the revision, and touches none of the history's keys.
    Write,
}

/// What a range covered and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeRead {
    /// Every key of the history (of its era) in the range, ascending.
    pub keys: Vec<u32>,
    /// What it found: (key, value), ascending by key.
    pub found: Vec<(u32, u32)>,
    /// It found a key outside its range: no state explains that.
    pub impossible: bool,
    /// The revision it asked for (0: the latest).
    pub at: i64,
}

impl RangeRead {
    fn found(&self, key: u32) -> Option<u32> {
        self.found
            .binary_search_by_key(&key, |(k, _)| *k)
            .ok()
            .map(|i| self.found[i].1)
    }
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

/// What a step changed, to undo it: the revision, keys' entries as they were (None: the key
/// had no entry), and a lease granted or revoked.
#[derive(Clone, Debug)]
pub struct Undo {
    revision: i64,
    keys: Changed,
    /// A lease whose entry changed, and its entry before (None: unknown).
    lease: Option<(i64, Option<bool>)>,
    /// Each key of `keys` got a version (the state keeps versions): undo drops it.
    versioned: bool,
}

/// Keys a step changed, with their entries before.
#[derive(Clone, Debug)]
enum Changed {
    None,
    One(u32, Option<Entry>),
    /// A lease revoke, or a range's first sight of undescribed keys.
    Many(Vec<(u32, Option<Entry>)>),
}

/// A key's entry: its state, or None when it is known not to exist.
type Entry = Option<KeyState>;

#[derive(Default)]
pub struct State {
    pub revision: i64,
    /// The history's ranges, which `Step::Range` names by index.
    ranges: std::rc::Rc<[RangeRead]>,
    /// Leases known to exist (true) or not (false). A lease without an entry does not exist,
    /// unless the state started unknown.
    leases: HashMap<i64, bool>,
    /// Keys with a known entry. A key without one does not exist, unless the state started
    /// unknown.
    keys: HashMap<u32, Entry>,
    /// Started from data the history does not describe (a restored backup): a key is
    /// unknown until an operation of the history shows or sets it.
    unknown_start: bool,
    /// XOR of the keys' and leases' hashes (and of the versions, when kept).
    keys_hash: u64,
    /// Each key's changes, oldest first: (revision, value after it; None: deleted). Kept only
    /// for a history that reads at a revision (`with_versions`).
    versions: Option<HashMap<u32, Versions>>,
}

/// A key's changes, oldest first: (revision, value after it; None: deleted).
type Versions = Vec<(i64, Option<u32>)>;

pub fn mix(mut x: u64) -> u64 {
    // splitmix64's finalizer
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn version_hash(key: u32, (revision, value): (i64, Option<u32>)) -> u64 {
    let value = value.map_or(u64::MAX, u64::from);
    mix(mix(mix(key as u64 ^ 0x7e55_0000_0000) ^ revision as u64) ^ value)
}

fn lease_hash(lease: i64, exists: bool) -> u64 {
    mix(lease as u64 ^ 0x1ea5_e000_0000_0000 ^ (u64::from(exists) << 62))
}

fn key_hash(key: u32, e: &Entry) -> u64 {
    match e {
        Some(s) => {
            // Tied to the key: two keys on one lease must not cancel out.
            let lease = if s.lease == 0 {
                0
            } else {
                mix(s.lease as u64 ^ mix(key as u64 ^ 0x1ea5_e000))
            };
            mix(mix(mix(key as u64) ^ s.value as u64) ^ s.mod_revision as u64)
                ^ mix(s.create_revision as u64 ^ ((s.version as u64) << 40))
                ^ lease
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

    /// Keep each key's past versions, for reads at a revision.
    pub fn with_versions(self, keep: bool) -> State {
        State {
            versions: keep.then(HashMap::new),
            ..self
        }
    }

    /// The history's ranges, for `Step::Range` to name.
    pub fn with_ranges(self, ranges: std::rc::Rc<[RangeRead]>) -> State {
        State { ranges, ..self }
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

    /// Whether range `range` finds exactly what the state holds (false when a key it covers
    /// is unknown).
    pub fn range_matches(&self, range: u32) -> bool {
        let r = &self.ranges[range as usize];
        !r.impossible
            && r.at == 0
            && r.keys
                .iter()
                .all(|k| self.known_value(*k) == Some(r.found(*k)))
    }

    /// Whether the key's entry is unknown (the state started from undescribed data).
    fn unknown(&self, key: u32) -> bool {
        self.unknown_start && !self.keys.contains_key(&key)
    }

    /// Whether lease `lease` may exist (in undescribed data, any lease not shown absent may).
    fn lease_may_exist(&self, lease: i64) -> bool {
        self.leases
            .get(&lease)
            .copied()
            .unwrap_or(self.unknown_start)
    }

    /// Whether lease `lease` may not exist.
    fn lease_may_be_absent(&self, lease: i64) -> bool {
        self.leases.get(&lease) != Some(&true)
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

    /// Sets what the key holds (None: it does not exist) at the current revision; returns
    /// the entry it had.
    fn set(&mut self, key: u32, to: Entry) -> Option<Entry> {
        if let Some(versions) = &mut self.versions {
            let version = (self.revision, to.map(|s| s.value));
            versions.entry(key).or_default().push(version);
            self.keys_hash ^= version_hash(key, version);
        }
        if to.is_none() && !self.unknown_start {
            return self.set_entry(key, None); // no entry means absent
        }
        self.set_entry(key, Some(to))
    }

    /// Sets lease `lease`'s entry (None: none); returns the entry it had.
    fn set_lease(&mut self, lease: i64, to: Option<bool>) -> Option<bool> {
        let old = match to {
            Some(exists) => self.leases.insert(lease, exists),
            None => self.leases.remove(&lease),
        };
        if let Some(o) = old {
            self.keys_hash ^= lease_hash(lease, o);
        }
        if let Some(n) = to {
            self.keys_hash ^= lease_hash(lease, n);
        }
        old
    }

    /// Drops the key's last version (undoing a change).
    fn drop_version(&mut self, key: u32) {
        let versions = self.versions.as_mut().expect("versions kept");
        let list = versions.get_mut(&key).expect("a version to drop");
        let version = list.pop().expect("a version to drop");
        if list.is_empty() {
            versions.remove(&key);
        }
        self.keys_hash ^= version_hash(key, version);
    }

    /// The key's value at revision `at`: Some(None) when it did not exist then, None when
    /// unknown (undescribed data, and no change of it in the history at or before `at`).
    fn value_at(&self, key: u32, at: i64) -> Option<Option<u32>> {
        let list = (self.versions.as_ref()).and_then(|v| v.get(&key));
        let last = list.and_then(|l| l.iter().rev().find(|(rev, _)| *rev <= at));
        match last {
            Some((_, value)) => Some(*value),
            None if self.unknown_start => None,
            None => Some(None),
        }
    }

    pub fn undo(&mut self, u: Undo) {
        self.revision = u.revision;
        match u.keys {
            Changed::None => {}
            Changed::One(key, old) => {
                self.set_entry(key, old);
                if u.versioned {
                    self.drop_version(key);
                }
            }
            Changed::Many(keys) => {
                for (key, old) in keys.into_iter().rev() {
                    self.set_entry(key, old);
                    if u.versioned {
                        self.drop_version(key);
                    }
                }
            }
        }
        if let Some((lease, old)) = u.lease {
            self.set_lease(lease, old);
        }
    }

    /// Applies `step` with `fate`, choosing `applied` for a maybe-applied write. None: the
    /// response cannot be explained from this state.
    pub fn step(&mut self, step: Step, fate: Fate, applied: bool) -> Option<Undo> {
        let before = Undo {
            revision: self.revision,
            keys: Changed::None,
            lease: None,
            versioned: false,
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
            Step::Get { key, found, at } if at > 0 => {
                let r = returned?;
                let known = self.value_at(key, at);
                let fits = at <= r && r >= self.revision && known.is_none_or(|v| v == found);
                fits.then(|| {
                    self.revision = r;
                    before
                })
            }
            Step::Get { key, found, .. } => self.get_step(key, found, returned?, before),
            Step::Range { range } => self.range_step(range, returned?, before),
            Step::Put { key, value, lease } => {
                if lease != 0 && !self.lease_may_exist(lease) {
                    return None; // etcd: requested lease not found
                }
                let mut undo = self.put(key, value, lease, returned, before)?;
                if lease != 0 && self.leases.get(&lease) != Some(&true) {
                    // Undescribed data: the put shows the lease exists.
                    undo.lease = Some((lease, self.set_lease(lease, Some(true))));
                }
                Some(undo)
            }
            Step::Delete { key } => {
                if self.get(key).is_none() && !self.unknown(key) {
                    // Deleting nothing leaves the revision alone.
                    return self.advance_to(returned, 0, before);
                }
                let undo = self.advance_to(returned, 1, before)?;
                let old = self.set(key, None);
                Some(Undo {
                    keys: Changed::One(key, old),
                    versioned: self.versions.is_some(),
                    ..undo
                })
            }
            Step::Txn {
                key,
                compare,
                value,
                succeeded,
                else_get,
            } => self.txn_step(
                key,
                (compare, value),
                (succeeded, else_get),
                returned,
                before,
            ),
            Step::LeaseGrant { lease } => {
                if !self.lease_may_be_absent(lease) {
                    return None; // etcd: lease already exists
                }
                let undo = self.advance_to(returned, 0, before)?;
                let old = self.set_lease(lease, Some(true));
                Some(Undo {
                    lease: Some((lease, old)),
                    ..undo
                })
            }
            Step::LeaseRevoke { lease } => self.revoke(lease, returned, before),
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

    fn get_step(&mut self, key: u32, found: Option<u32>, r: i64, before: Undo) -> Option<Undo> {
        if r < self.revision {
            return None;
        }
        if self.unknown(key) {
            // The first sight of a key of undescribed data: it held what was read.
            let old = self.set_entry(key, Some(found.map(seen_state)));
            self.revision = r;
            return Some(Undo {
                keys: Changed::One(key, old),
                ..before
            });
        }
        (self.get(key).map(|s| s.value) == found).then(|| {
            self.revision = r;
            before
        })
    }

    /// A range at revision `r`: every key it covers holds what it found (a key of
    /// undescribed data seen for the first time held it).
    fn range_step(&mut self, range: u32, r: i64, before: Undo) -> Option<Undo> {
        let ranges = std::rc::Rc::clone(&self.ranges);
        let read = &ranges[range as usize];
        if r < self.revision || read.impossible {
            return None;
        }
        if read.at > 0 {
            // As of a past revision: every key it covers, as it was then (unknown: anything).
            let fits = read.at <= r
                && (read.keys.iter()).all(|k| {
                    self.value_at(*k, read.at)
                        .is_none_or(|v| v == read.found(*k))
                });
            return fits.then(|| {
                self.revision = r;
                before
            });
        }
        let mut seen = Vec::new();
        for &key in &read.keys {
            let found = read.found(key);
            if self.unknown(key) {
                seen.push((key, found));
            } else if self.get(key).map(|s| s.value) != found {
                return None;
            }
        }
        self.revision = r;
        if seen.is_empty() {
            return Some(before);
        }
        let keys = seen
            .into_iter()
            .map(|(key, found)| (key, self.set_entry(key, Some(found.map(seen_state)))))
            .collect();
        Some(Undo {
            keys: Changed::Many(keys),
            ..before
        })
    }

    fn txn_step(
        &mut self,
        key: u32,
        (compare, value): (Compare, u32),
        (succeeded, else_get): (Option<bool>, Option<Option<u32>>),
        returned: Option<i64>,
        before: Undo,
    ) -> Option<Undo> {
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
            return self.put(key, value, 0, returned, before);
        }
        // The failure branch's read sees the key as it is (unknown data: as it was).
        let seen = self.get(key).map(|s| s.value);
        if !unknown && else_get.is_some_and(|found| found != seen) {
            return None;
        }
        self.advance_to(returned, 0, before)
    }

    /// Revokes `lease`: its keys are deleted at one new revision (none if it had no keys).
    fn revoke(&mut self, lease: i64, returned: Option<i64>, before: Undo) -> Option<Undo> {
        if !self.lease_may_exist(lease) {
            return None; // etcd: requested lease not found
        }
        let mut attached: Vec<u32> = (self.keys.iter())
            .filter(|(_, e)| e.is_some_and(|s| s.lease == lease))
            .map(|(k, _)| *k)
            .collect();
        attached.sort_unstable();
        let changes = i64::from(!attached.is_empty());
        let undo = self.advance_to(returned, changes, before)?;
        let keys = attached
            .into_iter()
            .map(|k| (k, self.set(k, None)))
            .collect();
        let old = self.set_lease(lease, Some(false));
        Some(Undo {
            keys: Changed::Many(keys),
            lease: Some((lease, old)),
            versioned: self.versions.is_some(),
            ..undo
        })
    }

    fn put(
        &mut self,
        key: u32,
        value: u32,
        lease: i64,
        returned: Option<i64>,
        before: Undo,
    ) -> Option<Undo> {
        let undo = self.advance_to(returned, 1, before)?;
        let rev = self.revision;
        let new = match self.get(key) {
            Some(s) => KeyState {
                value,
                mod_revision: rev,
                version: s.version + 1,
                lease,
                ..*s
            },
            None => KeyState {
                value,
                create_revision: rev,
                mod_revision: rev,
                version: 1,
                lease,
            },
        };
        let old = self.set(key, Some(new));
        Some(Undo {
            keys: Changed::One(key, old),
            versioned: self.versions.is_some(),
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

/// A key of undescribed data as first seen: its value (its revisions are unknown; a compare
/// on them goes by the response).
fn seen_state(value: u32) -> KeyState {
    KeyState {
        value,
        create_revision: 0,
        mod_revision: 0,
        version: 0,
        lease: 0,
    }
}
