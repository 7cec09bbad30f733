//! Broken data and the checks that find it: corrupt bbolt files, WAL tails lost, starts refused, and etcd 3.4 corrupt.go's initial and periodic corruption checks (with its log texts).

use super::*;
use etcdlab_report::CorruptionDetection;
use etcdlab_store::Store;

impl World<'_> {
    /// A botched upgrade corrupts the member's bbolt file: the process runs on until it is
    /// restarted, and then refuses to start.
    pub(super) fn corrupt_backend(&mut self, m: usize) {
        let now = self.q.now();
        if self.recovery.before_failure.is_none() {
            self.recovery.before_failure = self.newest_store().cloned();
        }
        self.nodes[m].meta.backend_corrupt = true;
        self.recovery
            .event(now, format!("m{}: bbolt file corrupted", m + 1));
    }

    /// The store with the highest revision among the members (running or not).
    pub(super) fn newest_store(&self) -> Option<&Store> {
        self.nodes
            .iter()
            .filter_map(|n| n.slot.state())
            .map(|s| &s.store)
            .max_by_key(|s| s.current_rev())
    }

    /// The member's WAL lost its last `entries` records while it was down.
    pub(super) fn wal_tail_lost(&mut self, m: usize, entries: u64) -> bool {
        let Slot::Down { durable, .. } = &mut self.nodes[m].slot else {
            return false;
        };
        let keep = durable.entries.len().saturating_sub(entries as usize);
        durable.entries.truncate(keep);
        let last = durable
            .entries
            .last()
            .map(|e| e.index)
            .or(durable.snapshot.as_ref().map(|s| s.index))
            .unwrap_or(0);
        durable.hard_state.commit = durable.hard_state.commit.min(last);
        true
    }

    /// Whether member `m` may start; logs and counts a refusal. Called when its restart
    /// (WAL replay) is done, before it serves.
    pub(super) fn start_refused(&mut self, m: usize) -> bool {
        if !self.nodes[m].meta.backend_corrupt {
            return false;
        }
        let now = self.q.now();
        let text = format!(
            "m{}: failed to open database member/snap/db: invalid database; etcd exits",
            m + 1
        );
        self.refuse_start(m, now, text);
        true
    }

    pub(super) fn refuse_start(&mut self, m: usize, now: Nanos, text: String) {
        self.rec.timeline(now, text.clone());
        self.recovery.event(now, text);
        self.recovery.refused_starts += 1;
        if let Slot::Down { restarting, .. } = &mut self.nodes[m].slot {
            *restarting = false;
        }
        self.nodes[m].epoch += 1;
        self.hand_operator(super::OperatorInput::MemberStarted(m));
    }

    /// etcd's initial corruption check (`--experimental-initial-corrupt-check`), run when a
    /// member with data starts, before it serves: ask each peer of its cluster for HashKV at
    /// the local revision. Returns the extra start delay (unreachable peers time out), or
    /// None when the member exits with "found data inconsistency with peers".
    pub(super) fn initial_corrupt_check(&mut self, m: usize) -> Option<Nanos> {
        let now = self.q.now();
        let Slot::Down { durable, .. } = &self.nodes[m].slot else {
            return Some(0);
        };
        let Ok((hash, rev, crev)) = durable.state.store.hash_kv(0) else {
            return Some(0);
        };
        let timeout = peer_hashkv_timeout_ns(self.sc.cluster.election_timeout_ms * 1_000_000);
        let mut delay = 0;
        let mut mismatch = Vec::new();
        let mut logs = Vec::new();
        // The peers are the members of its own member list (its `members` bucket).
        let members = durable.state.members();
        for p in 0..self.nodes.len() {
            if p == m || !members.contains(&(p as u64 + 1)) || !self.same_cluster(p, m) {
                continue;
            }
            let peer = match &self.nodes[p].slot {
                Slot::Running(member) if !self.net.is_blocked(m, p) => member,
                // A peer that is starting (listening, not serving yet), stopped by SIGSTOP, or
                // cut off: the request runs into its deadline.
                Slot::Running(_)
                | Slot::Paused(..)
                | Slot::Down {
                    restarting: true, ..
                } => {
                    delay += timeout;
                    logs.push(format!(
                        "m{}: failed hash kv request from m{}: context deadline exceeded",
                        m + 1,
                        p + 1
                    ));
                    continue;
                }
                // No process: the connection is refused at once.
                _ => {
                    logs.push(format!(
                        "m{}: failed hash kv request from m{}: connection refused",
                        m + 1,
                        p + 1
                    ));
                    continue;
                }
            };
            match compare_hash(&peer.state().store, (m, hash, rev, crev), p) {
                Some(Ok(log)) => logs.push(log),
                Some(Err(found)) => mismatch.push(found),
                None => {}
            }
        }
        let at = now.saturating_add(delay);
        for text in logs {
            self.recovery.event(at, text);
        }
        if mismatch.is_empty() {
            self.recovery.event(
                at,
                format!(
                    "m{}: initial corruption checking passed; no corruption",
                    m + 1
                ),
            );
            return Some(delay);
        }
        for text in &mismatch {
            self.detected(at, m, text.clone());
        }
        let text = format!(
            "m{}: discovery failed: {:016x} found data inconsistency with peers; etcd exits",
            m + 1,
            self.nodes[m].meta.member_id
        );
        self.refuse_start(m, at, text);
        None
    }

    pub(super) fn detected(&mut self, at_ns: Nanos, m: usize, text: String) {
        self.rec.timeline(at_ns, text.clone());
        self.recovery.detections.push(CorruptionDetection {
            at_ns,
            member: format!("m{}", m + 1),
            text,
        });
        self.recovery.used = true;
    }

    /// etcd's periodic check (`--experimental-corrupt-check-time`), on the leader only:
    /// followers that are ahead, or at the same compact revision with another hash, raise
    /// CORRUPT through raft (member ID 0 in 3.4.23).
    pub(super) fn on_corrupt_check(&mut self) {
        let Some(interval) = self.sc.cluster.corrupt_check_time_ns else {
            return;
        };
        self.q.schedule_in(interval, Ev::CorruptCheck);
        let now = self.q.now();
        for l in 0..self.nodes.len() {
            let Slot::Running(leader) = &self.nodes[l].slot else {
                continue;
            };
            if leader.role() != etcdlab_raft::Role::Leader {
                continue;
            }
            let store = &leader.state().store;
            let Ok((hash, rev, crev)) = store.hash_kv(0) else {
                continue;
            };
            let mut found = Vec::new();
            for p in 0..self.nodes.len() {
                if p == l || !self.same_cluster(p, l) || self.net.is_blocked(l, p) {
                    continue;
                }
                let Slot::Running(peer) = &self.nodes[p].slot else {
                    continue;
                };
                let ps = &peer.state().store;
                let Ok((peer_hash, _, peer_crev)) = ps.hash_kv(rev) else {
                    continue; // a follower behind answers "future revision": skipped
                };
                if ps.current_rev() > rev {
                    found.push(format!(
                        "m{}: revision from follower m{} must be less than or equal to leader's (leader-revision {rev}, follower-revision {})",
                        l + 1,
                        p + 1,
                        ps.current_rev()
                    ));
                }
                if peer_crev > crev {
                    found.push(format!(
                        "m{}: compact revision from follower m{} must be less than or equal to leader's",
                        l + 1,
                        p + 1
                    ));
                } else if peer_crev == crev && peer_hash != hash {
                    found.push(format!(
                        "m{}: same compact revision then hashes must match (follower m{}, revision {rev})",
                        l + 1,
                        p + 1
                    ));
                }
            }
            if found.is_empty() {
                continue;
            }
            let already = leader.state().has_alarm(AlarmKind::Corrupt);
            for text in found {
                self.detected(now, l, text);
            }
            if !already {
                self.on_running(l, |member, out| {
                    member.raise_alarm(now, 0, AlarmKind::Corrupt, out)
                });
            }
        }
    }
}

/// etcd's request timeout (5 s + 2 x the 1 s election timeout) bounds each peer's HashKV
/// request during the initial check; ground truth D measured 7 s per unreachable peer.
pub(super) fn peer_hashkv_timeout_ns(election_timeout_ns: Nanos) -> Nanos {
    5_000_000_000 + 2 * election_timeout_ns
}

/// etcd's initial check against one peer: the local member `m` has `hash` at revision `rev`
/// with compact revision `crev`; peer `p` answers from `store`. Ok: a log line only;
/// Err: a mismatch; None: the hashes agree.
fn compare_hash(
    store: &etcdlab_store::Store,
    (m, hash, rev, crev): (usize, u32, i64, i64),
    p: usize,
) -> Option<Result<String, String>> {
    match store.hash_kv(rev) {
        Err(etcdlab_store::StoreError::FutureRev) => Some(Ok(format!(
            "m{}: cannot fetch hash from slow remote peer m{}: {}",
            m + 1,
            p + 1,
            etcdlab_member::ERR_FUTURE_REV
        ))),
        Err(etcdlab_store::StoreError::Compacted) => Some(Ok(format!(
            "m{}: cannot fetch hash from remote peer m{}: {}",
            m + 1,
            p + 1,
            etcdlab_member::ERR_COMPACTED
        ))),
        Ok((peer_hash, _, peer_crev)) if peer_hash != hash => Some(if peer_crev == crev {
            Err(format!(
                "m{}: found different hash values from remote peer m{} (local-member-revision {rev}, remote-peer-revision {}, compact revision {crev})",
                m + 1,
                p + 1,
                store.current_rev()
            ))
        } else {
            Ok(format!(
                "m{}: cannot check hash of peer m{}: peer has a different compact revision {peer_crev}",
                m + 1,
                p + 1
            ))
        }),
        Ok(_) => None,
    }
}
