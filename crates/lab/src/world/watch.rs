//! The world's side of the watch clients (world/watch_client.rs): each sync it shows every
//! client the member it watches and routes what the client did (the history, the report's
//! relists and timeline, the kube-apiserver's watch cache).

use super::*;
use etcdlab_store::RangeOptions;
use watch_client::{WatchOutput, WatchedMember, ERR_WATCH_COMPACTED, WATCH_SYNC_NS};

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
        let open = self.watches.iter_mut().filter_map(|ws| ws.close());
        self.rec.history.watches.extend(open);
    }

    pub(super) fn on_watch_sync(&mut self) {
        let now = self.q.now();
        self.q.schedule_in(WATCH_SYNC_NS, Ev::WatchSync);
        let mut out = Vec::new();
        for w in 0..self.watches.len() {
            let m = self.watches[w].spec.member;
            let seen = self.watches[w].sync(w, watched_member(&self.nodes[m]), now, &mut out);
            for o in out.drain(..) {
                self.route_watch_output(m, now, o);
            }
            if let Err(v) = seen {
                self.note(Err(v));
            }
        }
    }

    fn route_watch_output(&mut self, m: usize, now: Nanos, o: WatchOutput) {
        match o {
            WatchOutput::StreamEnded(stream) => self.rec.history.watches.push(stream),
            WatchOutput::Relisted(r) => {
                self.rec.timeline(
                    now,
                    format!(
                        "watcher {}: {ERR_WATCH_COMPACTED} (needed {}, compacted at {}); relisted {} keys",
                        r.watcher, r.needed_rev, r.compact_rev, r.keys
                    ),
                );
                self.rec.relist(r);
            }
            WatchOutput::ApiserverRelist {
                apiserver,
                prefix,
                range_end,
            } => {
                let (Some(kube), Slot::Running(member)) = (self.kube.as_mut(), &self.nodes[m].slot)
                else {
                    unreachable!("a watch relists only from a running member, with [kube]");
                };
                relist_into(
                    &mut kube.apis[apiserver],
                    &member.state().store,
                    &prefix,
                    &range_end,
                );
            }
            WatchOutput::ApiserverEvents { apiserver, events } => {
                let kube = self
                    .kube
                    .as_mut()
                    .expect("a watch feeds an apiserver only with [kube]");
                for e in &events {
                    let key = String::from_utf8_lossy(&e.key);
                    let delete = e.kind == etcdlab_store::EventKind::Delete;
                    kube.apis[apiserver].on_event(&key, delete, e.rev.main, e.value_size_bytes);
                }
            }
        }
    }
}

/// What member `node` offers its watch clients now: its store and era, or nothing when it
/// cannot serve (not running, or its store locked by a defrag).
fn watched_member(node: &Node) -> Option<WatchedMember<'_>> {
    let Slot::Running(member) = &node.slot else {
        return None;
    };
    if member.is_defragging() {
        return None;
    }
    Some(WatchedMember {
        store: &member.state().store,
        era: node.era,
        snapshots_installed: member.snapshots_installed_total,
        bug: node.cfg.bug,
    })
}
