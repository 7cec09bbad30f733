//! Serializable reads: answered from the serving member's own state, not linearizable, but
//! never a state the cluster did not have. A serializable get at header revision R must return
//! the key as it was at revision R of the cluster's one history (the member applied exactly
//! the committed entries up to R), and R must have been committed before the read returned.
//! Source: etcd's API guarantees (`Documentation/learning/api_guarantees.md`: serializable
//! reads may be stale but are consistent with a past state) and etcd's robustness tests
//! (`tests/robustness/validate/`, which check stale reads against the revision's state).
//!
//! The check follows each key's changes whose revision the history knows (acknowledged puts,
//! successful txns, deletes, failed writes the log placed) per era. A write whose outcome or
//! revision is unknown may have changed the key at any revision after its call, so its value
//! is allowed too for reads that returned after that call: the check never fails a history
//! etcd could have produced, at the price of missing some stale reads near unresolved writes.
//! Before a key's first known change its value is known only in era 0 (absent, a new
//! cluster); in a restored era it is not judged.

use crate::format::{describe, is_definite, window_ops, OpName, Operation};
use std::collections::BTreeMap;

/// A serializable read that returned a state the cluster never had at its revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerializableFailure {
    /// The read.
    pub read: u64,
    /// The read and the write that set what the key held at its revision (if any).
    pub window: Vec<u64>,
    pub detail: String,
}

/// What the serializable-read checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerializableOutcome {
    pub failure: Option<SerializableFailure>,
    /// Serializable reads checked (those that returned).
    pub reads: usize,
}

/// What a write did to its key, as far as the history tells.
enum Change<'a> {
    /// At this revision the key became `value` (None: deleted, or already absent).
    At {
        revision: i64,
        value: Option<&'a str>,
    },
    /// It may have set `value` at some revision after its call.
    Maybe { value: Option<&'a str> },
    /// It certainly changed nothing.
    None,
}

/// One key's history in one era.
#[derive(Default)]
struct KeyHistory<'a> {
    /// revision -> (value, the operation).
    changes: BTreeMap<i64, (Option<&'a str>, u64)>,
    /// Writes that may have taken effect: (call time, value).
    maybe: Vec<(u64, Option<&'a str>)>,
}

/// What the history tells of its writes, per era.
#[derive(Default)]
struct Facts<'a> {
    keys: BTreeMap<(u32, &'a str), KeyHistory<'a>>,
    /// (era, revision) -> (call time, id) of the put or txn that made the revision.
    makers: BTreeMap<(u32, i64), (u64, u64)>,
}

/// Checks every serializable get of `history`; the first failure in history order.
pub fn check_serializable_reads(history: &[Operation]) -> SerializableOutcome {
    let facts = facts(history);
    let reads: Vec<&Operation> = history.iter().filter(|o| is_judged_read(o)).collect();
    let failure = reads.iter().find_map(|r| check_read(r, &facts));
    SerializableOutcome {
        failure,
        reads: reads.len(),
    }
}

fn is_judged_read(o: &Operation) -> bool {
    o.op == OpName::Get && o.serializable && o.error.is_none() && o.return_ns.is_some()
}

fn facts(history: &[Operation]) -> Facts<'_> {
    let mut facts = Facts::default();
    let keys = &mut facts.keys;
    for o in history {
        let Some(key) = o.key.as_deref() else {
            continue;
        };
        let slot = || (o.era, key);
        match change(o) {
            Change::At { revision, value } => {
                let k = keys.entry(slot()).or_default();
                k.changes.insert(revision, (value, o.id));
                if o.op != OpName::Delete {
                    // A delete's header revision may be another write's.
                    facts.makers.insert((o.era, revision), (o.call_ns, o.id));
                }
            }
            Change::Maybe { value } => {
                let k = keys.entry(slot()).or_default();
                k.maybe.push((o.call_ns, value));
            }
            Change::None => {}
        }
    }
    facts
}

fn change(o: &Operation) -> Change<'_> {
    let writes = match o.op {
        OpName::Put | OpName::Txn => o.value.as_deref(),
        OpName::Delete => None,
        _ => return Change::None,
    };
    let returned = o.error.is_none() && o.return_ns.is_some();
    if returned {
        // A txn whose compare failed wrote nothing. A delete's header revision is its own
        // when it deleted the key, and the key was already absent at it otherwise: either way
        // the key is absent at that revision.
        if o.op == OpName::Txn && o.succeeded != Some(true) {
            return Change::None;
        }
        return match o.revision {
            Some(revision) => Change::At {
                revision,
                value: writes,
            },
            None => Change::Maybe { value: writes },
        };
    }
    let refused = o.applied == Some(false) || o.error.as_deref().is_some_and(is_definite);
    if refused {
        return Change::None;
    }
    match (o.applied, o.revision, o.op) {
        // The log placed it; a txn's compare outcome is still unknown.
        (Some(true), Some(revision), OpName::Put | OpName::Delete) => Change::At {
            revision,
            value: writes,
        },
        _ => Change::Maybe { value: writes },
    }
}

fn check_read(read: &Operation, facts: &Facts<'_>) -> Option<SerializableFailure> {
    let key = read.key.as_deref()?;
    let revision = read.revision?;
    let returned = read.return_ns?;
    let empty = KeyHistory::default();
    let k = facts.keys.get(&(read.era, key)).unwrap_or(&empty);
    let set_by = k.changes.range(..=revision).next_back();
    let expected = match set_by {
        Some((_, (value, _))) => *value,
        None if read.era == 0 => None,
        None => return None, // a restored era's state before its first known change
    };
    let got = read.value.as_deref();
    let maybe_since = k
        .maybe
        .iter()
        .any(|(call_ns, value)| *call_ns < returned && *value == got);
    if got == expected || maybe_since {
        return future_revision(read, revision, returned, facts);
    }
    let (what, window) = match set_by {
        Some((at, (_, id))) => (
            format!("operation {id} set it at revision {at}"),
            vec![*id, read.id],
        ),
        None => ("no write set it before".to_string(), vec![read.id]),
    };
    Some(SerializableFailure {
        read: read.id,
        window,
        detail: format!(
            "serializable read {} of {key} at revision {revision} returned {}, but the key held {} \
             then ({what}); no write that may have been applied wrote {}",
            read.id,
            shown(got),
            shown(expected),
            shown(got)
        ),
    })
}

/// A read's revision must exist when it returns: the write that made it was called before.
fn future_revision(
    read: &Operation,
    revision: i64,
    returned: u64,
    facts: &Facts<'_>,
) -> Option<SerializableFailure> {
    let &(call_ns, maker) = facts.makers.get(&(read.era, revision))?;
    (call_ns > returned).then(|| SerializableFailure {
        read: read.id,
        window: vec![read.id, maker],
        detail: format!(
            "serializable read {} returned at revision {revision}, which operation {maker} made \
             after the read had returned",
            read.id
        ),
    })
}

fn shown(value: Option<&str>) -> String {
    value.map_or("nothing (absent)".to_string(), |v| format!("value {v}"))
}

/// The failure and the operations of its window, readable.
pub fn describe_failure(history: &[Operation], f: &SerializableFailure) -> String {
    let mut out = format!("{}\n", f.detail);
    for o in window_ops(history, &f.window) {
        let mark = if o.id == f.read { "=>" } else { "  " };
        out.push_str(&format!("{mark} {}\n", describe(o)));
    }
    out
}
