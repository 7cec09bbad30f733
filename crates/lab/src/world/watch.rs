//! Watch clients (`[[watch]]`): each reads its prefix's events from one member's store every
//! 100 ms (etcd's watcher sync interval), at most as fast as it consumes them. Every delivered
//! event is checked against the store's history (in order, no duplicates, none lost). A
//! watcher whose next revision was compacted gets etcd's compacted error and relists.

use super::*;
use crate::history::WatchStream;
use etcdlab_check::format::{EventKind as SeenKind, WatchEvent, WatchResponse};
use etcdlab_scenario::WatchSpec;
use etcdlab_store::{mvcc::prefix_end, RangeOptions, StoreError, WatchStreamChecker};

/// etcd's `syncWatchersLoop` interval.
pub(super) const WATCH_SYNC_NS: Nanos = 100_000_000;
/// What a watcher that fell behind a compaction is told.
pub(crate) const ERR_WATCH_COMPACTED: &str =
    "etcdserver: mvcc: required revision has been compacted";

/// A relist after a compacted watch: what the client had to read again (the report's row).
pub(crate) type Relist = etcdlab_report::RelistRow;

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
    /// The largest backlog (revisions behind the member) seen.
    pub max_lag_revisions: i64,
    /// What the client has received since it (re)started watching, for the history.
    stream: Option<WatchStream>,
    /// The last sync stopped short of the member's revision: the watcher reads history
    /// (etcd's unsynced watcher group).
    behind: bool,
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
        }
    }
}

impl WatchState {
    pub fn new(spec: &WatchSpec) -> WatchState {
        WatchState {
            range_end: prefix_end(spec.prefix.as_bytes()),
            spec: spec.clone(),
            feeds_apiserver: None,
            next_rev: 0,
            checker: None,
            budget: 0.0,
            delivered: 0,
            max_lag_revisions: 0,
            stream: None,
            behind: false,
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
        };
        let mut w = WatchState::new(&spec);
        w.feeds_apiserver = Some(member);
        w
    }
}

/// Fill apiserver `a`'s cache from a list of `[prefix, range_end)` at the current revision.
fn relist_into(
    api: &mut etcdlab_kube::ApiServer,
    store: &etcdlab_store::Store,
    prefix: &[u8],
    range_end: &[u8],
) {
    *api = etcdlab_kube::ApiServer::new();
    let list = store
        .range(prefix, range_end, &RangeOptions::default())
        .expect("a range at the current revision");
    for kv in list.kvs {
        let key = String::from_utf8_lossy(&kv.key);
        api.on_event(&key, false, kv.mod_revision, kv.value.size_bytes);
    }
}

impl World<'_> {
    pub(super) fn schedule_watches(&mut self, start: Nanos) {
        if !self.watches.is_empty() {
            self.q.schedule_at(start + WATCH_SYNC_NS, Ev::WatchSync);
        }
    }

    /// The run ended: watches still open go into the history as they are.
    pub(super) fn close_watches(&mut self) {
        for ws in &mut self.watches {
            if let Some(stream) = ws.stream.take() {
                self.rec.history.watches.push(stream);
            }
        }
    }

    pub(super) fn on_watch_sync(&mut self) {
        let now = self.q.now();
        self.q.schedule_in(WATCH_SYNC_NS, Ev::WatchSync);
        for w in 0..self.watches.len() {
            if let Err(v) = self.sync_watch(w, now) {
                self.note(Err(v));
            }
        }
    }

    fn sync_watch(&mut self, w: usize, now: Nanos) -> Result<(), Violation> {
        let ws = &mut self.watches[w];
        if now < ws.spec.start_ns {
            return Ok(());
        }
        let m = ws.spec.member;
        let Slot::Running(member) = &self.nodes[m].slot else {
            return Ok(()); // the connection is gone; the client resumes from next_rev later
        };
        if member.is_defragging() {
            return Ok(()); // the store is locked
        }
        let store = &member.state().store;
        let current = store.current_rev();
        let era = self.nodes[m].era;
        if ws.stream.as_ref().is_some_and(|s| s.era != era) {
            // A restore replaced the member's data: what follows is another history.
            let ended = ws.stream.take().map(|s| s.ended(now, None));
            self.rec.history.watches.extend(ended);
            ws.stream = Some(ws.start_stream(ws.next_rev, now, era));
        }
        if ws.next_rev == 0 {
            // A new watcher lists first, then watches from the list's revision + 1.
            ws.next_rev = current + 1;
            ws.stream = Some(ws.start_stream(current + 1, now, era));
            ws.checker = Some(new_checker(w, ws, current + 1));
            if let (Some(a), Some(kube)) = (ws.feeds_apiserver, self.kube.as_mut()) {
                relist_into(
                    &mut kube.apis[a],
                    store,
                    ws.spec.prefix.as_bytes(),
                    &ws.range_end,
                );
            }
            return Ok(());
        }
        ws.max_lag_revisions = ws.max_lag_revisions.max(current + 1 - ws.next_rev);
        if ws.next_rev > current {
            return Ok(());
        }
        let Some(to) = ws.sync_end(current) else {
            return Ok(());
        };
        let mut from = ws.next_rev;
        if ws.behind && self.nodes[m].cfg.bug == Some(etcdlab_member::EtcdBug::DuplicateWatchEvent)
        {
            from -= 1; // the injected bug: the previous read's last revision again
        }
        ws.behind = to < current;
        let kube = self.kube.as_mut();
        match store.events(from, to, ws.spec.prefix.as_bytes(), &ws.range_end) {
            Ok(events) => ws.deliver(&events, store, kube, to, current, now),
            Err(StoreError::Compacted) => {
                let (relist, ended) = ws.restart_after_compaction(w, store, kube, now, era);
                self.rec.history.watches.extend(ended);
                self.rec.timeline(
                    now,
                    format!(
                        "watcher {}: {ERR_WATCH_COMPACTED} (needed {}, compacted at {}); relisted {} keys",
                        relist.watcher, relist.needed_rev, relist.compact_rev, relist.keys
                    ),
                );
                self.rec.relists.push(relist);
                Ok(())
            }
            Err(StoreError::FutureRev) => Ok(()),
        }
    }
}

impl WatchState {
    /// One sync's events (revisions up to `to`) reach the client: into its stream, the
    /// apiserver's cache it fills, and the invariant checker.
    fn deliver(
        &mut self,
        events: &[etcdlab_store::Event],
        store: &etcdlab_store::Store,
        kube: Option<&mut kube::KubeState>,
        to: i64,
        current: i64,
        now: Nanos,
    ) -> Result<(), Violation> {
        if self.spec.events_per_s.is_some() {
            self.budget -= (to - self.next_rev + 1) as f64;
        }
        self.delivered += events.len() as u64;
        if !events.is_empty() {
            let stream = self.stream.as_mut().expect("started");
            stream.responses.push(WatchResponse {
                at_ns: now,
                revision: current,
                events: events.iter().map(|e| seen_event(store, e)).collect(),
            });
        }
        if let (Some(a), Some(kube)) = (self.feeds_apiserver, kube) {
            for e in events {
                let key = String::from_utf8_lossy(&e.key);
                let delete = e.kind == etcdlab_store::EventKind::Delete;
                kube.apis[a].on_event(&key, delete, e.rev.main, e.value_size_bytes);
            }
        }
        let checker = self.checker.as_mut().expect("started");
        let seen = checker
            .observe(events)
            .and_then(|_| checker.verify(store, to));
        self.next_rev = to + 1;
        seen.map_err(|detail| Violation {
            invariant: "watch events in order, unique and complete",
            at_ns: now,
            detail: format!("watcher {}: {detail}", self.spec.name),
        })
    }

    /// The revision the client needs was compacted: its stream ends with etcd's error and it
    /// relists, then watches again from the current revision + 1. Returns the relist's row and
    /// the ended stream.
    fn restart_after_compaction(
        &mut self,
        w: usize,
        store: &etcdlab_store::Store,
        kube: Option<&mut kube::KubeState>,
        now: Nanos,
        era: u8,
    ) -> (Relist, Option<WatchStream>) {
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
        self.next_rev = current + 1;
        self.budget = 0.0;
        let ended = self
            .stream
            .take()
            .map(|s| s.ended(now, Some(ERR_WATCH_COMPACTED)));
        self.stream = Some(self.start_stream(current + 1, now, era));
        self.checker = Some(new_checker(w, self, current + 1));
        if let (Some(a), Some(kube)) = (self.feeds_apiserver, kube) {
            relist_into(
                &mut kube.apis[a],
                store,
                self.spec.prefix.as_bytes(),
                &self.range_end,
            );
        }
        let relist = Relist {
            at_ns: now,
            watcher: self.spec.name.clone(),
            needed_rev,
            compact_rev: store.compact_rev(),
            keys: list.kvs.len(),
            bytes,
        };
        (relist, ended)
    }
}

impl WatchState {
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
fn seen_event(store: &etcdlab_store::Store, e: &etcdlab_store::Event) -> WatchEvent {
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

fn new_checker(w: usize, ws: &WatchState, start_rev: i64) -> WatchStreamChecker {
    WatchStreamChecker::new(
        w as i64,
        ws.spec.prefix.as_bytes(),
        &ws.range_end,
        start_rev,
    )
}
