//! A watch client (`[[watch]]`, and each kube-apiserver's watch on its own member): an actor
//! that, every 100 ms (etcd's watcher sync interval), reads its prefix's new events from the
//! member it watches, at most as fast as it consumes them. It sees the cluster only through
//! [`WatchedMember`] (the member's store and era, when it can serve) and answers with
//! [`WatchOutput`]s the world routes (the history, the report's relists, the kube-apiserver's
//! watch cache). Every delivered event is checked against the store's history (in order, no
//! duplicates, none lost). A watcher whose next revision was compacted gets etcd's compacted
//! error and relists.

use crate::history::WatchStream;
use crate::invariants::Violation;
use etcdlab_check::format::{EventKind as SeenKind, WatchEvent, WatchResponse};
use etcdlab_member::EtcdBug;
use etcdlab_scenario::{OnCompacted, WatchSpec};
use etcdlab_sim::Nanos;
use etcdlab_store::{mvcc::prefix_end, RangeOptions, Store, StoreError, WatchStreamChecker};

/// etcd's `syncWatchersLoop` interval.
pub(crate) const WATCH_SYNC_NS: Nanos = 100_000_000;
/// What a watcher that fell behind a compaction is told.
pub(crate) const ERR_WATCH_COMPACTED: &str =
    "etcdserver: mvcc: required revision has been compacted";

/// A relist after a compacted watch: what the client had to read again (the report's row).
pub(crate) type Relist = etcdlab_report::RelistRow;

/// The member a watch client is connected to, as it sees it at a sync. None at a sync: the
/// member cannot serve (down, paused, or its store locked by a defrag); the client resumes from
/// where it was.
pub(crate) struct WatchedMember<'a> {
    pub store: &'a Store,
    /// The era of the data it serves (a restore starts another history).
    pub era: u8,
    /// Leader snapshots it has installed so far (each replaced its store).
    pub snapshots_installed: u64,
    /// The etcd bug injected into it, if any.
    pub bug: Option<EtcdBug>,
}

/// What one sync of a watch client did, for the world to route.
#[derive(Debug)]
pub(crate) enum WatchOutput {
    /// A stream the client had open ended (a compacted error, or a restore's new history):
    /// it goes into the clients' history.
    StreamEnded(WatchStream),
    /// The client relisted after a compacted error (the report's row, the timeline).
    Relisted(Relist),
    /// The kube-apiserver this watch feeds rebuilds its cache from a list of the prefix.
    ApiserverRelist {
        apiserver: usize,
        prefix: Vec<u8>,
        range_end: Vec<u8>,
    },
    /// Events for the kube-apiserver's watch cache this watch feeds.
    ApiserverEvents {
        apiserver: usize,
        events: Vec<etcdlab_store::Event>,
    },
}

pub(crate) struct WatchState {
    pub spec: WatchSpec,
    /// The kube-apiserver (by member) whose watch cache this watch fills.
    feeds_apiserver: Option<usize>,
    range_end: Vec<u8>,
    /// The next revision the watcher wants (0: not started).
    next_rev: i64,
    checker: Option<WatchStreamChecker>,
    /// Fractional events the consumer may still take.
    budget: f64,
    pub delivered: u64,
    /// Compacted errors answered by watching again from the compact revision.
    resumes: u64,
    /// The largest backlog (revisions behind the member) seen.
    pub max_lag_revisions: i64,
    /// What the client has received since it (re)started watching, for the history.
    stream: Option<WatchStream>,
    /// The last sync stopped short of the member's revision: the watcher reads history
    /// (etcd's unsynced watcher group).
    behind: bool,
    /// The member's snapshot installs at the last sync.
    snapshots_seen: u64,
    /// Under `watch-back-in-time-after-partition`: where the client goes back to after the
    /// newest revision.
    rewind_to: Option<i64>,
    /// Progress notifications, when the watch asked for them.
    progress: Option<ProgressTicker>,
}

/// etcd's progress ticker (the watch stream's send loop in `v3rpc/watch.go`): every
/// `--experimental-watch-progress-notify-interval`, a watch that asked for progress
/// notifications and got no event since the last tick is sent one (an empty response at the
/// store's revision), if it is synced (the store's `progress` sends only to synced watchers).
#[derive(Debug)]
struct ProgressTicker {
    interval_ns: Nanos,
    next_tick_ns: Nanos,
    events_since_tick: bool,
}

impl WatchState {
    /// The report's row for this watcher.
    pub(crate) fn row(&self) -> etcdlab_report::WatcherRow {
        etcdlab_report::WatcherRow {
            name: self.spec.name.clone(),
            member: self.spec.member,
            prefix: self.spec.prefix.clone(),
            events_per_s: self.spec.events_per_s,
            delivered: self.delivered,
            max_lag_revisions: self.max_lag_revisions,
            resumes: self.resumes,
        }
    }
}

impl WatchState {
    /// A watch client; `progress_notify_interval_ns` is the server's
    /// `--experimental-watch-progress-notify-interval` (used when the watch asks for them).
    pub fn new(spec: &WatchSpec, progress_notify_interval_ns: Nanos) -> WatchState {
        WatchState {
            range_end: prefix_end(spec.prefix.as_bytes()),
            spec: spec.clone(),
            feeds_apiserver: None,
            next_rev: 0,
            checker: None,
            budget: 0.0,
            delivered: 0,
            resumes: 0,
            max_lag_revisions: 0,
            stream: None,
            behind: false,
            snapshots_seen: 0,
            rewind_to: None,
            progress: spec.progress_notify.then_some(ProgressTicker {
                interval_ns: progress_notify_interval_ns,
                next_tick_ns: 0,
                events_since_tick: false,
            }),
        }
    }
}

impl WatchState {
    /// The last revision this sync reads: everything new, or as much as a rate-limited
    /// client's budget allows (whole revisions: a txn's events arrive together). None:
    /// nothing this time.
    fn sync_end(&mut self, current: i64) -> Option<i64> {
        let Some(rate) = self.spec.events_per_s else {
            return Some(current);
        };
        self.budget = (self.budget + rate * WATCH_SYNC_NS as f64 / 1e9).min(rate.max(1.0) * 10.0);
        let take = self.budget.floor() as i64;
        if take < 1 {
            return None;
        }
        Some(current.min(self.next_rev + take - 1))
    }
}

impl WatchState {
    /// kube-apiserver's watch on its own member (stacked etcd): everything under `/registry/`,
    /// as fast as it comes, filling that apiserver's watch cache.
    pub fn apiserver(member: usize, start_ns: Nanos) -> WatchState {
        let spec = WatchSpec {
            name: format!("kube-apiserver-m{}", member + 1),
            member,
            prefix: "/registry/".to_string(),
            start_ns,
            events_per_s: None,
            progress_notify: false,
            on_compacted: OnCompacted::Relist,
        };
        let mut w = WatchState::new(&spec, 0);
        w.feeds_apiserver = Some(member);
        w
    }
}

impl WatchState {
    /// One sync: read what is new on `member` (the client's `w`-th watch) and deliver it.
    /// An error is a broken watch invariant; the outputs are complete either way.
    pub(crate) fn sync(
        &mut self,
        w: usize,
        member: Option<WatchedMember<'_>>,
        now: Nanos,
        out: &mut Vec<WatchOutput>,
    ) -> Result<(), Violation> {
        if now < self.spec.start_ns {
            return Ok(());
        }
        let Some(member) = member else {
            return Ok(()); // the client resumes from next_rev later
        };
        let store = member.store;
        let current = store.current_rev();
        let era = member.era;
        if self.stream.as_ref().is_some_and(|s| s.era != era) {
            // A restore replaced the member's data: what follows is another history.
            let ended = self.stream.take().map(|s| s.ended(now, None));
            out.extend(ended.map(WatchOutput::StreamEnded));
            self.open_stream(self.next_rev, now, era);
        }
        let installed = member.snapshots_installed != self.snapshots_seen;
        self.snapshots_seen = member.snapshots_installed;
        if self.next_rev == 0 {
            // A new watcher lists first, then watches from the list's revision + 1.
            self.next_rev = current + 1;
            self.open_stream(current + 1, now, era);
            self.checker = Some(new_checker(w, self, current + 1));
            self.relist_apiserver(out);
            return Ok(());
        }
        self.max_lag_revisions = self.max_lag_revisions.max(current + 1 - self.next_rev);
        let ahead_bug = member.bug == Some(EtcdBug::ProgressNotifyAheadOfEvents);
        if self.next_rev > current {
            self.progress_tick(now, current, true, ahead_bug);
            return Ok(());
        }
        if installed && member.bug == Some(EtcdBug::WatchBackInTimeAfterSnapshot) {
            // The injected bug: the newest revision first, then back to where it was.
            self.rewind_to = Some(self.next_rev);
            self.next_rev = current;
        }
        let Some(to) = self.sync_end(current) else {
            self.progress_tick(now, current, false, ahead_bug);
            return Ok(());
        };
        let mut from = self.next_rev;
        if self.behind && member.bug == Some(EtcdBug::DuplicateWatchEvent) {
            from -= 1; // the injected bug: the previous read's last revision again
        }
        self.behind = to < current;
        match store.events(from, to, self.spec.prefix.as_bytes(), &self.range_end) {
            Ok(mut events) => {
                if member.bug == Some(EtcdBug::WatchDropOnCompactedDelete) {
                    drop_compacted_tombstone(&mut events, from, store.compact_rev());
                }
                let seen = self.deliver(events, store, to, current, now, out);
                if let Some(rewind_to) = self.rewind_to.take() {
                    self.next_rev = rewind_to;
                }
                self.progress_tick(now, current, !self.behind, ahead_bug);
                seen
            }
            Err(StoreError::Compacted) => {
                self.restart_after_compaction(w, store, now, era, out);
                Ok(())
            }
            Err(StoreError::FutureRev) => Ok(()),
        }
    }

    /// The run ended: the stream still open goes into the history as it is.
    pub(crate) fn close(&mut self) -> Option<WatchStream> {
        self.stream.take()
    }

    fn relist_apiserver(&self, out: &mut Vec<WatchOutput>) {
        if let Some(apiserver) = self.feeds_apiserver {
            out.push(WatchOutput::ApiserverRelist {
                apiserver,
                prefix: self.spec.prefix.as_bytes().to_vec(),
                range_end: self.range_end.clone(),
            });
        }
    }
}

impl WatchState {
    /// One sync's events (revisions up to `to`) reach the client: into its stream, the
    /// apiserver's cache it fills, and the invariant checker.
    fn deliver(
        &mut self,
        events: Vec<etcdlab_store::Event>,
        store: &Store,
        to: i64,
        current: i64,
        now: Nanos,
        out: &mut Vec<WatchOutput>,
    ) -> Result<(), Violation> {
        if self.spec.events_per_s.is_some() {
            self.budget -= (to - self.next_rev + 1) as f64;
        }
        self.delivered += events.len() as u64;
        if let Some(p) = self.progress.as_mut() {
            p.events_since_tick |= !events.is_empty();
        }
        if !events.is_empty() {
            let stream = self.stream.as_mut().expect("started");
            stream.responses.push(WatchResponse {
                at_ns: now,
                revision: current,
                events: events.iter().map(|e| seen_event(store, e)).collect(),
            });
        }
        let checker = self.checker.as_mut().expect("started");
        let seen = checker
            .observe(&events)
            .and_then(|_| checker.verify(store, to));
        self.next_rev = to + 1;
        if let Some(apiserver) = self.feeds_apiserver {
            out.push(WatchOutput::ApiserverEvents { apiserver, events });
        }
        seen.map_err(|detail| Violation {
            invariant: "watch events in order, unique and complete",
            at_ns: now,
            detail: format!("watcher {}: {detail}", self.spec.name),
        })
    }

    /// The revision the client needs was compacted: its stream ends with etcd's error, and
    /// it relists and watches again from the current revision + 1, or (`on_compacted =
    /// "resume"`) watches again from the compact revision.
    fn restart_after_compaction(
        &mut self,
        w: usize,
        store: &Store,
        now: Nanos,
        era: u8,
        out: &mut Vec<WatchOutput>,
    ) {
        if self.spec.on_compacted == OnCompacted::Relist {
            return self.relist_after_compaction(w, store, now, era, out);
        }
        self.resumes += 1;
        let ended = self.watch_again_after_compaction(w, store.compact_rev(), now, era);
        out.extend(ended.map(WatchOutput::StreamEnded));
    }

    /// The stream etcd cancelled as compacted ends with its error (returned, for the history)
    /// and a new watch starts at `from`, with its own invariant checker.
    fn watch_again_after_compaction(
        &mut self,
        w: usize,
        from: i64,
        now: Nanos,
        era: u8,
    ) -> Option<WatchStream> {
        self.next_rev = from;
        let ended = self
            .stream
            .take()
            .map(|s| s.ended(now, Some(ERR_WATCH_COMPACTED)));
        self.open_stream(from, now, era);
        self.checker = Some(new_checker(w, self, from));
        ended
    }

    fn relist_after_compaction(
        &mut self,
        w: usize,
        store: &Store,
        now: Nanos,
        era: u8,
        out: &mut Vec<WatchOutput>,
    ) {
        let current = store.current_rev();
        let needed_rev = self.next_rev;
        let list = store
            .range(
                self.spec.prefix.as_bytes(),
                &self.range_end,
                &RangeOptions::default(),
            )
            .expect("a range at the current revision");
        let bytes = list
            .kvs
            .iter()
            .map(|kv| (kv.key.len() + kv.value.size_bytes as usize) as u64)
            .sum();
        self.budget = 0.0;
        let ended = self.watch_again_after_compaction(w, current + 1, now, era);
        self.relist_apiserver(out);
        out.extend(ended.map(WatchOutput::StreamEnded));
        out.push(WatchOutput::Relisted(Relist {
            at_ns: now,
            watcher: self.spec.name.clone(),
            needed_rev,
            compact_rev: store.compact_rev(),
            keys: list.kvs.len(),
            bytes,
        }));
    }
}

impl WatchState {
    /// A new watch (a new stream and its progress ticker).
    fn open_stream(&mut self, start_revision: i64, now: Nanos, era: u8) {
        self.stream = Some(self.start_stream(start_revision, now, era));
        if let Some(p) = self.progress.as_mut() {
            p.next_tick_ns = now + p.interval_ns;
            p.events_since_tick = false;
        }
    }

    /// The progress ticker at a sync: past a tick, a watch that got no event since the last
    /// one and is `synced` (caught up with the member's `current` revision) gets a progress
    /// notification. Under `progress-notify-ahead-of-events` every tick notifies, at the
    /// store's revision, as etcd 3.4.23 answered a client's progress request.
    fn progress_tick(&mut self, now: Nanos, current: i64, synced: bool, ahead_bug: bool) {
        let Some(p) = self.progress.as_mut() else {
            return;
        };
        if now < p.next_tick_ns {
            return;
        }
        let notify = synced && !p.events_since_tick || ahead_bug;
        let missed = (now - p.next_tick_ns) / p.interval_ns;
        p.next_tick_ns += (missed + 1) * p.interval_ns;
        p.events_since_tick = false;
        if notify {
            let stream = self.stream.as_mut().expect("started");
            stream.responses.push(WatchResponse {
                at_ns: now,
                revision: current,
                events: Vec::new(),
            });
        }
    }

    fn start_stream(&self, start_revision: i64, now: Nanos, era: u8) -> WatchStream {
        WatchStream {
            client: self.spec.name.clone(),
            member: self.spec.member,
            prefix: self.spec.prefix.clone(),
            start_revision,
            call_ns: now,
            era,
            responses: Vec::new(),
            end: None,
        }
    }
}

impl WatchStream {
    fn ended(mut self, at: Nanos, error: Option<&'static str>) -> WatchStream {
        self.end = Some((at, error));
        self
    }
}

/// A store event as the watch client sees it, with the key-value the put wrote (etcd's
/// `mvccpb.Event.Kv`; values are named by their tag, as in the history's puts).
fn seen_event(store: &Store, e: &etcdlab_store::Event) -> WatchEvent {
    let key = String::from_utf8_lossy(&e.key).into_owned();
    if e.kind == etcdlab_store::EventKind::Delete {
        return WatchEvent {
            kind: SeenKind::Delete,
            key,
            revision: e.rev.main,
            value: None,
            create_revision: None,
            version: None,
            prev_value: None,
        };
    }
    let at = RangeOptions {
        rev: e.rev.main,
        ..RangeOptions::default()
    };
    let kv = store
        .range(&e.key, &[], &at)
        .expect("an event's own revision is not compacted")
        .kvs
        .pop()
        .expect("the put's key-value");
    WatchEvent {
        kind: SeenKind::Put,
        key,
        revision: e.rev.main,
        value: Some(kv.value.tag.to_string()),
        create_revision: Some(kv.create_revision),
        version: Some(kv.version),
        prev_value: None,
    }
}

/// The injected bug `watch-drop-on-compacted-delete`: a read of history from the compact
/// revision misses a delete at it (compaction removed the tombstone).
fn drop_compacted_tombstone(events: &mut Vec<etcdlab_store::Event>, from: i64, compact_rev: i64) {
    if from == compact_rev {
        events.retain(|e| !(e.rev.main == from && e.kind == etcdlab_store::EventKind::Delete));
    }
}

fn new_checker(w: usize, ws: &WatchState, start_rev: i64) -> WatchStreamChecker {
    WatchStreamChecker::new(
        w as i64,
        ws.spec.prefix.as_bytes(),
        &ws.range_end,
        start_rev,
    )
}

#[cfg(test)]
#[path = "watch_client_tests.rs"]
mod tests;
