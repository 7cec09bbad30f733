//! etcd's watchable store (`mvcc/watchable_store.go`): watchers on a key or a range, kept
//! **synced** (they get each write's events as it is applied, [`Watchers::notify`]) or
//! **unsynced** (they started in the past and catch up by reading the store's history,
//! [`Watchers::sync_unsynced`], which etcd runs every 100 ms for up to 512 watchers).
//!
//! Events are queued per watcher; the caller drains them ([`Watchers::take_events`]) and
//! decides when they reach the client. Not modelled: the 128-deep stream buffer and the
//! victim set of slow watchers, progress notifications, filters and prev_kv.
//!
//! [`WatchStreamChecker`] checks what a client received: strictly increasing revisions, and
//! nothing missing against the store's history for the watched range.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::mvcc::{key_in_range, Event, Revision, Store, StoreError};

/// etcd `syncWatchersLoop` period.
pub const SYNC_INTERVAL_NS: u64 = 100_000_000;
/// etcd `maxWatchersPerSync`: unsynced watchers handled per pass.
pub const MAX_WATCHERS_PER_SYNC: usize = 512;

/// Watch errors, with etcd's texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchError {
    /// The start revision has been compacted: the watch is cancelled and the client is told
    /// the compact revision (`WatchResponse.CompactRevision`).
    Compacted {
        compact_rev: i64,
    },
    DuplicateId,
}

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WatchError::Compacted { .. } => "mvcc: required revision has been compacted",
            WatchError::DuplicateId => "mvcc: duplicate watch ID provided on the WatchStream",
        })
    }
}

impl std::error::Error for WatchError {}

#[derive(Clone, Debug)]
struct Watcher {
    key: Vec<u8>,
    range_end: Vec<u8>,
    /// The next revision this watcher must be given (etcd `minRev`).
    min_rev: i64,
    synced: bool,
    queue: Vec<Event>,
}

/// What one [`Watchers::sync_unsynced`] pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Watchers that caught up and are now synced, ascending.
    pub synced: Vec<i64>,
    /// Watchers cancelled because their next revision was compacted: (id, compact revision).
    pub compacted: Vec<(i64, i64)>,
    /// Events read from history and queued.
    pub events: usize,
}

/// The watchers of one member.
#[derive(Clone, Debug, Default)]
pub struct Watchers {
    watchers: BTreeMap<i64, Watcher>,
    /// Synced single-key watchers by key (etcd keeps a map for keys, a tree for ranges).
    synced_keys: BTreeMap<Vec<u8>, BTreeSet<i64>>,
    /// Synced range watchers.
    synced_ranges: BTreeSet<i64>,
    unsynced: BTreeSet<i64>,
    /// The newest revision seen by `watch` / `notify`: synced watchers are complete up to it.
    notified_rev: i64,
}

impl Watchers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.watchers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.watchers.is_empty()
    }

    pub fn synced_count(&self) -> usize {
        self.watchers.len() - self.unsynced.len()
    }

    pub fn unsynced_count(&self) -> usize {
        self.unsynced.len()
    }

    /// Some(true) if synced, Some(false) if catching up, None if unknown.
    pub fn is_synced(&self, id: i64) -> Option<bool> {
        self.watchers.get(&id).map(|w| w.synced)
    }

    /// The revision up to which every event of the watcher's range has been queued for it.
    pub fn progress_rev(&self, id: i64) -> Option<i64> {
        let w = self.watchers.get(&id)?;
        Some(if w.synced {
            self.notified_rev.max(w.min_rev - 1)
        } else {
            w.min_rev - 1
        })
    }

    /// Events queued and not yet taken.
    pub fn pending_events(&self, id: i64) -> usize {
        self.watchers.get(&id).map_or(0, |w| w.queue.len())
    }

    fn index_synced(&mut self, id: i64) {
        let w = &self.watchers[&id];
        if w.range_end.is_empty() {
            self.synced_keys
                .entry(w.key.clone())
                .or_default()
                .insert(id);
        } else {
            self.synced_ranges.insert(id);
        }
    }

    fn unindex_synced(&mut self, id: i64, key: &[u8], range_end: &[u8]) {
        if range_end.is_empty() {
            if let Some(set) = self.synced_keys.get_mut(key) {
                set.remove(&id);
                if set.is_empty() {
                    self.synced_keys.remove(key);
                }
            }
        } else {
            self.synced_ranges.remove(&id);
        }
    }

    /// Creates watcher `id` on `[key, range_end)` from `start_rev` (0 = from the next write),
    /// given the store's current and compact revisions. Synced if `start_rev` is 0 or in the
    /// future, else unsynced until a [`Watchers::sync_unsynced`] pass. `start_rev <
    /// compact_rev` fails (the watch is cancelled); `== compact_rev` is allowed.
    pub fn watch(
        &mut self,
        id: i64,
        key: &[u8],
        range_end: &[u8],
        start_rev: i64,
        current_rev: i64,
        compact_rev: i64,
    ) -> Result<(), WatchError> {
        if self.watchers.contains_key(&id) {
            return Err(WatchError::DuplicateId);
        }
        if start_rev > 0 && start_rev < compact_rev {
            return Err(WatchError::Compacted { compact_rev });
        }
        self.notified_rev = self.notified_rev.max(current_rev);
        let synced = start_rev == 0 || start_rev > current_rev;
        let min_rev = if start_rev == 0 {
            current_rev + 1
        } else {
            start_rev
        };
        self.watchers.insert(
            id,
            Watcher {
                key: key.to_vec(),
                range_end: range_end.to_vec(),
                min_rev,
                synced,
                queue: Vec::new(),
            },
        );
        if synced {
            self.index_synced(id);
        } else {
            self.unsynced.insert(id);
        }
        Ok(())
    }

    /// Removes watcher `id` (and its undelivered events). False if unknown.
    pub fn cancel(&mut self, id: i64) -> bool {
        let Some(w) = self.watchers.remove(&id) else {
            return false;
        };
        if w.synced {
            self.unindex_synced(id, &w.key, &w.range_end);
        } else {
            self.unsynced.remove(&id);
        }
        true
    }

    /// After a write is applied: queues its events for the synced watchers whose range
    /// matches and whose next revision they reach. Returns the watchers that got events,
    /// ascending. Calling it twice with the same events queues nothing the second time.
    pub fn notify(&mut self, events: &[Event]) -> Vec<i64> {
        // Each watcher's last delivered main revision in this call; min_rev moves after the
        // loop so that the later subs of one revision still pass the filter.
        let mut touched: BTreeMap<i64, i64> = BTreeMap::new();
        for ev in events {
            self.notified_rev = self.notified_rev.max(ev.rev.main);
            let exact = self.synced_keys.get(&ev.key).into_iter().flatten();
            let ranges = self.synced_ranges.iter().filter(|id| {
                let w = &self.watchers[id];
                key_in_range(&ev.key, &w.key, &w.range_end)
            });
            let mut ids: Vec<i64> = exact.chain(ranges).copied().collect();
            ids.sort_unstable();
            for id in ids {
                let w = self.watchers.get_mut(&id).expect("indexed");
                if ev.rev.main < w.min_rev {
                    continue;
                }
                w.queue.push(ev.clone());
                touched.insert(id, ev.rev.main);
            }
        }
        for (&id, &main) in &touched {
            let w = self.watchers.get_mut(&id).expect("touched");
            w.min_rev = w.min_rev.max(main + 1);
        }
        touched.into_keys().collect()
    }

    /// One `syncWatchers` pass: up to `max_watchers` unsynced watchers (lowest id first) read
    /// their range's history from their next revision to the store's current one, queue it
    /// and become synced. A watcher whose next revision is below the compact revision is
    /// cancelled instead (reported in [`SyncReport::compacted`]).
    pub fn sync_unsynced(&mut self, store: &Store, max_watchers: usize) -> SyncReport {
        let current_rev = store.current_rev();
        let compact_rev = store.compact_rev();
        let chosen: Vec<i64> = self.unsynced.iter().take(max_watchers).copied().collect();
        let mut report = SyncReport::default();
        for id in chosen {
            self.unsynced.remove(&id);
            let w = self.watchers.get_mut(&id).expect("unsynced watcher");
            let read = if w.min_rev < compact_rev {
                Err(StoreError::Compacted)
            } else {
                store.events(w.min_rev, current_rev, &w.key, &w.range_end)
            };
            match read {
                Ok(events) => {
                    report.events += events.len();
                    w.queue.extend(events);
                    w.min_rev = w.min_rev.max(current_rev + 1);
                    w.synced = true;
                    self.index_synced(id);
                    report.synced.push(id);
                }
                Err(_) => {
                    self.watchers.remove(&id);
                    report.compacted.push((id, compact_rev));
                }
            }
        }
        report
    }

    /// Takes the events queued for `id`, in revision order.
    pub fn take_events(&mut self, id: i64) -> Vec<Event> {
        self.watchers
            .get_mut(&id)
            .map(|w| std::mem::take(&mut w.queue))
            .unwrap_or_default()
    }

    /// Takes every watcher's queued events: (id, events) for each watcher that has some,
    /// ascending id.
    pub fn drain(&mut self) -> Vec<(i64, Vec<Event>)> {
        self.watchers
            .iter_mut()
            .filter(|(_, w)| !w.queue.is_empty())
            .map(|(&id, w)| (id, std::mem::take(&mut w.queue)))
            .collect()
    }
}

fn show_key(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

fn show(ev: &Event) -> String {
    format!(
        "{:?} {} at {}.{}",
        ev.kind,
        show_key(&ev.key),
        ev.rev.main,
        ev.rev.sub
    )
}

/// Checks one watch stream as the client receives it.
///
/// [`observe`](Self::observe) each batch as it arrives: revisions must be strictly increasing
/// (no duplicate, no reorder), inside the watched range and not before the start.
/// [`verify`](Self::verify) then compares what arrived with the store's history up to a
/// revision the stream claims to be complete through (e.g. [`Watchers::progress_rev`] after
/// taking its events): any missing or extra event is an error. Only events not yet verified
/// are kept, so memory stays bounded if `verify` runs regularly. History removed by a
/// compaction before a `verify` cannot be checked; those events are counted in
/// [`unverified`](Self::unverified).
#[derive(Clone, Debug)]
pub struct WatchStreamChecker {
    id: i64,
    key: Vec<u8>,
    range_end: Vec<u8>,
    start_rev: i64,
    last: Option<Revision>,
    pending: Vec<Event>,
    verified_through: i64,
    delivered: u64,
    unverified: u64,
}

impl WatchStreamChecker {
    /// `start_rev` is the first revision the stream must cover (for a watch from 0: the
    /// store's revision when the watch was created, plus 1).
    pub fn new(id: i64, key: &[u8], range_end: &[u8], start_rev: i64) -> Self {
        WatchStreamChecker {
            id,
            key: key.to_vec(),
            range_end: range_end.to_vec(),
            start_rev,
            last: None,
            pending: Vec::new(),
            verified_through: start_rev - 1,
            delivered: 0,
            unverified: 0,
        }
    }

    /// Events received so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Received events whose history was compacted before they could be verified.
    pub fn unverified(&self) -> u64 {
        self.unverified
    }

    /// The revision through which the stream has been verified complete.
    pub fn verified_through(&self) -> i64 {
        self.verified_through
    }

    /// Records a batch as received; fails on a duplicate, a reorder, an event outside the
    /// range, before the start, or arriving after its revision was verified complete.
    pub fn observe(&mut self, events: &[Event]) -> Result<(), String> {
        for ev in events {
            let id = self.id;
            if !key_in_range(&ev.key, &self.key, &self.range_end) {
                return Err(format!(
                    "watch {id}: {} is outside the watched range [{}, {})",
                    show(ev),
                    show_key(&self.key),
                    show_key(&self.range_end)
                ));
            }
            if ev.rev.main < self.start_rev {
                return Err(format!(
                    "watch {id}: {} is before the start revision {}",
                    show(ev),
                    self.start_rev
                ));
            }
            if let Some(last) = self.last {
                if ev.rev == last {
                    return Err(format!("watch {id}: duplicate event {}", show(ev)));
                }
                if ev.rev < last {
                    return Err(format!(
                        "watch {id}: {} arrived after {}.{} (out of order)",
                        show(ev),
                        last.main,
                        last.sub
                    ));
                }
            }
            if ev.rev.main <= self.verified_through {
                return Err(format!(
                    "watch {id}: {} arrived after the stream was verified complete through {}",
                    show(ev),
                    self.verified_through
                ));
            }
            self.last = Some(ev.rev);
            self.delivered += 1;
            self.pending.push(ev.clone());
        }
        Ok(())
    }

    /// Compares the events received in (last verified, `through_rev`] with the store's
    /// history for the range; fails on the first missing, extra or different event.
    pub fn verify(&mut self, store: &Store, through_rev: i64) -> Result<(), String> {
        let id = self.id;
        if through_rev <= self.verified_through {
            return Ok(());
        }
        let mut from = self.verified_through + 1;
        if from < store.compact_rev() {
            // Part of the window is gone; revisions at the compact revision itself are kept,
            // but start after it to be safe.
            from = store.compact_rev() + 1;
        }
        let expected = if from > through_rev {
            Vec::new()
        } else {
            store
                .events(from, through_rev, &self.key, &self.range_end)
                .map_err(|e| {
                    format!("watch {id}: cannot read history {from}..={through_rev}: {e}")
                })?
        };
        let skipped = self.pending.partition_point(|e| e.rev.main < from);
        let upto = self.pending.partition_point(|e| e.rev.main <= through_rev);
        let got = &self.pending[skipped..upto];
        for i in 0..expected.len().max(got.len()) {
            match (expected.get(i), got.get(i)) {
                (Some(want), Some(have)) if want == have => {}
                (Some(want), Some(have)) if want.rev == have.rev => {
                    return Err(format!(
                        "watch {id}: at {}.{} got {} (value {} B), the store has {} (value {} B)",
                        want.rev.main,
                        want.rev.sub,
                        show(have),
                        have.value_size_bytes,
                        show(want),
                        want.value_size_bytes
                    ));
                }
                (Some(want), None) => {
                    return Err(format!(
                        "watch {id}: missing event {} (stream complete through {through_rev})",
                        show(want)
                    ));
                }
                (Some(want), Some(have)) if want.rev < have.rev => {
                    return Err(format!(
                        "watch {id}: missing event {} (next received: {})",
                        show(want),
                        show(have)
                    ));
                }
                (_, Some(have)) => {
                    return Err(format!(
                        "watch {id}: unexpected event {}: not in the store's history",
                        show(have)
                    ));
                }
                (None, None) => unreachable!("index below the longer length"),
            }
        }
        self.unverified += skipped as u64;
        self.pending.drain(..upto);
        self.verified_through = through_rev;
        Ok(())
    }
}
