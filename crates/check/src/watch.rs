//! etcd's watch guarantees, checked on what watch clients received (the `watch` operations of a
//! history). Sources: the guarantees as etcd's API documentation states them
//! (`Documentation/learning/api_guarantees.md`: ordered, unique, reliable, atomic, resumable,
//! bookmarkable) and as etcd's robustness tests check them (`tests/robustness/validate/
//! watch.go`, which adds filter, `IsCreate` and `PrevKV`).
//!
//! Each watch is checked on its own (ordered, unique, atomic, filter, its start revision,
//! `IsCreate` against `create_revision`/`version`, `prev_kv` against its own earlier events),
//! then against a reference of what happened at each revision: every watch's events and every
//! write the history says succeeded, per era. Watches must agree with the reference
//! (`consistent`), and see every reference event in their range between their start and their
//! last event or progress notification (`reliable`). A progress notification (a response
//! without events, as etcd's `IsProgressNotify`) at revision R says every event up to R was
//! delivered: no later event of the watch is at R or before (`bookmarkable`).

use crate::format::{describe, window_ops, EventKind, OpName, Operation, WatchEvent};
use std::collections::BTreeMap;

/// A broken watch guarantee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchFailure {
    /// The guarantee's name (`ordered`, `unique`, `atomic`, `filter`, `resumable`, `reliable`,
    /// `bookmarkable`, `consistent`, `is_create`, `prev_kv`).
    pub guarantee: &'static str,
    /// The watch that saw it.
    pub watch: u64,
    /// The operations involved: the watch, and the one the reference event came from.
    pub window: Vec<u64>,
    /// What was wrong, readable.
    pub detail: String,
}

/// What the watch checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchOutcome {
    pub failure: Option<WatchFailure>,
    /// Watches checked, and the events they received.
    pub watches: usize,
    pub events: u64,
}

/// What happened to one key at one revision, and which operation says so.
#[derive(Clone, Debug)]
struct RefEvent {
    kind: EventKind,
    value: Option<String>,
    create_revision: Option<i64>,
    version: Option<i64>,
    source: u64,
}

type Reference = BTreeMap<i64, BTreeMap<String, RefEvent>>;

/// Checks every watch of `history`.
pub fn check_watches(history: &[Operation]) -> WatchOutcome {
    let watches: Vec<&Operation> = history.iter().filter(|o| o.op == OpName::Watch).collect();
    let events = watches
        .iter()
        .map(|w| {
            w.responses
                .iter()
                .map(|r| r.events.len() as u64)
                .sum::<u64>()
        })
        .sum();
    let failure = first_failure(history, &watches);
    WatchOutcome {
        failure,
        watches: watches.len(),
        events,
    }
}

fn first_failure(history: &[Operation], watches: &[&Operation]) -> Option<WatchFailure> {
    for w in watches {
        if let Err(f) = check_alone(w) {
            return Some(f);
        }
    }
    let mut eras: Vec<u32> = watches.iter().map(|w| w.era).collect();
    eras.dedup();
    eras.sort_unstable();
    eras.dedup();
    for era in eras {
        let reference = match reference(history, era) {
            Ok(r) => r,
            Err(f) => return Some(f),
        };
        for w in watches.iter().filter(|w| w.era == era) {
            if let Err(f) = check_reliable(w, &reference) {
                return Some(f);
            }
        }
    }
    // Last, as they rely on a reliable stream: nothing happened to a key between two of its
    // events in one watch.
    for w in watches {
        if let Err(f) = check_key_sequences(w) {
            return Some(f);
        }
    }
    None
}

/// Each event against the previous event of the same key in the same watch.
fn check_key_sequences(w: &Operation) -> Result<(), WatchFailure> {
    let mut last_of_key: BTreeMap<&str, &WatchEvent> = BTreeMap::new();
    for e in w.responses.iter().flat_map(|r| &r.events) {
        if let Some(prior) = last_of_key.insert(&e.key, e) {
            check_against_prior(w, prior, e)?;
        }
    }
    Ok(())
}

fn fail(guarantee: &'static str, w: &Operation, detail: String) -> WatchFailure {
    WatchFailure {
        guarantee,
        watch: w.id,
        window: vec![w.id],
        detail,
    }
}

/// The guarantees one watch's responses show by themselves.
fn check_alone(w: &Operation) -> Result<(), WatchFailure> {
    // The revision of the previous event, and the response it came in.
    let mut previous: Option<(i64, usize)> = None;
    // Per key, the last event this watch saw.
    let mut last_of_key: BTreeMap<&str, &WatchEvent> = BTreeMap::new();
    let mut header = 0;
    // The last progress notification: (its revision, its response).
    let mut progress: Option<(i64, usize)> = None;
    for (i, response) in w.responses.iter().enumerate() {
        // A response's header revision is the store's as it sent it: it never goes back,
        // and covers every event the response carries (etcd issue #15271 broke the first).
        if response.revision < header {
            let detail = format!(
                "response {} has header revision {} after one at {header}",
                i + 1,
                response.revision
            );
            return Err(fail("ordered", w, detail));
        }
        header = response.revision;
        if response.events.is_empty() {
            progress = Some((header, i));
        }
        if let (Some((notified, at)), Some(e)) = (progress, response.events.first()) {
            if e.revision <= notified {
                let detail = format!(
                    "event for {} at revision {} in response {} after a progress notification at revision {notified} (response {})",
                    e.key,
                    e.revision,
                    i + 1,
                    at + 1
                );
                return Err(fail("bookmarkable", w, detail));
            }
        }
        if let Some(e) = response.events.iter().find(|e| e.revision > header) {
            let detail = format!(
                "response {} has header revision {header} below its event at revision {}",
                i + 1,
                e.revision
            );
            return Err(fail("ordered", w, detail));
        }
        for e in &response.events {
            if !w.watches(&e.key) {
                let detail = format!(
                    "event for {} at revision {} is outside the watched range",
                    e.key, e.revision
                );
                return Err(fail("filter", w, detail));
            }
            if let (Some(start), None) = (w.start_revision, previous) {
                if e.revision < start {
                    let detail = format!(
                        "first event at revision {}, before the start revision {start}",
                        e.revision
                    );
                    return Err(fail("resumable", w, detail));
                }
            }
            let prior = last_of_key.get(e.key.as_str()).copied();
            if prior.is_some_and(|p| p.revision == e.revision) {
                let detail = format!(
                    "event for {} at revision {} received twice",
                    e.key, e.revision
                );
                return Err(fail("unique", w, detail));
            }
            if let Some((rev, at)) = previous {
                if e.revision < rev {
                    let detail = format!(
                        "event for {} at revision {} after one at revision {rev}",
                        e.key, e.revision
                    );
                    return Err(fail("ordered", w, detail));
                }
                if e.revision == rev && at != i {
                    let detail = format!(
                        "revision {rev} split across responses {} and {}",
                        at + 1,
                        i + 1
                    );
                    return Err(fail("atomic", w, detail));
                }
            }
            check_create_fields(w, e)?;
            previous = Some((e.revision, i));
            last_of_key.insert(&e.key, e);
        }
    }
    Ok(())
}

/// `IsCreate` agrees with `create_revision` and `version`: a key's first version is created
/// at its own revision.
fn check_create_fields(w: &Operation, e: &WatchEvent) -> Result<(), WatchFailure> {
    if let (EventKind::Put, Some(create), Some(version)) = (e.kind, e.create_revision, e.version) {
        if (create == e.revision) != (version == 1) {
            let detail = format!(
                "put of {} at revision {}: create_revision {create} and version {version} disagree",
                e.key, e.revision
            );
            return Err(fail("is_create", w, detail));
        }
    }
    Ok(())
}

/// An event against the previous event of the same key in the same watch (a reliable watch
/// has none between them): a put after a delete creates the key, a put after a put continues
/// it; `prev_kv` is the previous event's value.
fn check_against_prior(
    w: &Operation,
    prior: &WatchEvent,
    e: &WatchEvent,
) -> Result<(), WatchFailure> {
    if e.kind == EventKind::Put {
        let create = e.is_create();
        let expected_create = prior.kind == EventKind::Delete;
        if create.is_some_and(|c| c != expected_create) {
            let detail = format!(
                "put of {} at revision {} is{} a create, after a {} at revision {}",
                e.key,
                e.revision,
                if expected_create { " not" } else { "" },
                kind_name(prior.kind),
                prior.revision
            );
            return Err(fail("is_create", w, detail));
        }
        if let (EventKind::Put, Some(v0), Some(v1)) = (prior.kind, prior.version, e.version) {
            if v1 != v0 + 1 {
                let detail = format!(
                    "put of {} at revision {} has version {v1} after version {v0} at revision {}",
                    e.key, e.revision, prior.revision
                );
                return Err(fail("is_create", w, detail));
            }
        }
    }
    if w.prev_kv {
        let expected = match prior.kind {
            EventKind::Put => prior.value.clone(),
            EventKind::Delete => None,
        };
        if e.prev_value != expected {
            let detail = format!(
                "event for {} at revision {} has prev_kv {:?}; the watch saw {:?} at revision {}",
                e.key, e.revision, e.prev_value, expected, prior.revision
            );
            return Err(fail("prev_kv", w, detail));
        }
    }
    Ok(())
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Put => "put",
        EventKind::Delete => "delete",
    }
}

/// What happened at each revision of `era`, as every watch and every successful write of the
/// history tell it. Two sources that disagree break `consistent`.
fn reference(history: &[Operation], era: u32) -> Result<Reference, WatchFailure> {
    let mut reference = Reference::new();
    for o in history.iter().filter(|o| o.era == era) {
        for e in o.responses.iter().flat_map(|r| &r.events) {
            let event = RefEvent {
                kind: e.kind,
                value: e.value.clone(),
                create_revision: e.create_revision,
                version: e.version,
                source: o.id,
            };
            note(&mut reference, o, e.revision, &e.key, event)?;
        }
        if let Some((revision, key, value)) = written(o) {
            let event = RefEvent {
                kind: EventKind::Put,
                value: Some(value.to_string()),
                create_revision: None,
                version: None,
                source: o.id,
            };
            note(&mut reference, o, revision, key, event)?;
        }
    }
    Ok(reference)
}

/// A put the history says took effect, and where: (revision, key, value).
fn written(o: &Operation) -> Option<(i64, &str, &str)> {
    let took_effect = match o.op {
        OpName::Put => o.error.is_none() && o.return_ns.is_some() || o.applied == Some(true),
        OpName::Txn => o.error.is_none() && o.succeeded == Some(true),
        _ => false,
    };
    if !took_effect {
        return None;
    }
    Some((o.revision?, o.key.as_deref()?, o.value.as_deref()?))
}

fn note(
    reference: &mut Reference,
    from: &Operation,
    revision: i64,
    key: &str,
    event: RefEvent,
) -> Result<(), WatchFailure> {
    let at = reference.entry(revision).or_default();
    let Some(known) = at.get_mut(key) else {
        at.insert(key.to_string(), event);
        return Ok(());
    };
    let agree = |a: &Option<i64>, b: &Option<i64>| a.is_none() || b.is_none() || a == b;
    let same = known.kind == event.kind
        && known.value == event.value
        && agree(&known.create_revision, &event.create_revision)
        && agree(&known.version, &event.version);
    if !same {
        let detail = format!(
            "at revision {revision}, {key}: operation {} says {} {:?}, operation {} says {} {:?}",
            known.source,
            kind_name(known.kind),
            known.value,
            event.source,
            kind_name(event.kind),
            event.value
        );
        return Err(WatchFailure {
            guarantee: "consistent",
            watch: from.id,
            window: vec![known.source, from.id],
            detail,
        });
    }
    known.create_revision = known.create_revision.or(event.create_revision);
    known.version = known.version.or(event.version);
    Ok(())
}

/// Every reference event in the watch's range, from its start to its last event or progress
/// notification, is among its events, in the same response as the rest of its revision.
fn check_reliable(w: &Operation, reference: &Reference) -> Result<(), WatchFailure> {
    let events: Vec<(usize, &WatchEvent)> = w
        .responses
        .iter()
        .enumerate()
        .flat_map(|(i, r)| r.events.iter().map(move |e| (i, e)))
        .collect();
    let last_event = events.last().map(|(_, e)| e.revision);
    let last_progress = w
        .responses
        .iter()
        .filter(|r| r.events.is_empty())
        .map(|r| r.revision)
        .max();
    let Some(until) = last_event.max(last_progress) else {
        return Ok(());
    };
    let Some(from) = w.start_revision.or(events.first().map(|(_, e)| e.revision)) else {
        return Ok(()); // only progress notifications, from an unknown start
    };
    let seen: BTreeMap<(i64, &str), usize> = events
        .iter()
        .map(|(i, e)| ((e.revision, e.key.as_str()), *i))
        .collect();
    for (&revision, at) in reference.range(from..=until) {
        let mut response_of_revision = None;
        for (key, event) in at.iter().filter(|(k, _)| w.watches(k)) {
            let Some(&i) = seen.get(&(revision, key.as_str())) else {
                let detail = format!(
                    "no event for the {} of {key} at revision {revision} (operation {} saw it) between revisions {from} and {until} (its start or first event, and its last event or progress notification)",
                    kind_name(event.kind),
                    event.source,
                );
                return Err(WatchFailure {
                    guarantee: "reliable",
                    watch: w.id,
                    window: vec![w.id, event.source],
                    detail,
                });
            };
            if response_of_revision.is_some_and(|r| r != i) {
                let detail = format!("revision {revision} split across responses");
                return Err(fail("atomic", w, detail));
            }
            response_of_revision = Some(i);
        }
    }
    Ok(())
}

/// A broken guarantee, readable: what was wrong, then the operations involved, one a line (the
/// watch that saw it marked `=>`).
pub fn describe_failure(history: &[Operation], f: &WatchFailure) -> String {
    let mut text = format!(
        "watch guarantee `{}` broken in operation {}: {}\n",
        f.guarantee, f.watch, f.detail
    );
    for op in window_ops(history, &f.window) {
        let mark = if op.id == f.watch { "=>" } else { "  " };
        text.push_str(&format!("{mark} {}\n", describe(op)));
    }
    text
}
