//! Snapshots, restores, membership and corruption checks (etcd-internals.md §3 and §7).
//!
//! Raft snapshots travel as their own transfer (etcd's snapshot sender: a separate HTTP
//! stream, so heartbeats are not queued behind it): the db's bytes at the link's bandwidth.
//! Operator commands (`snapshot save/status/restore`, `member add/remove/list`,
//! `endpoint hashkv`, `etcd start/stop`, `rm -rf`, `cp`) act on member slots and on a
//! backup store of named files. The initial and periodic corruption checks compare
//! `HashKV` as etcd 3.4's `corrupt.go` does, with its log texts.

use super::{Ev, MemberInput, NodeEv, Slot, World};
use etcdlab_member::{AlarmKind, ConfChange, Member, Msg, Op, ServerState};
use etcdlab_report::etcdctl;
use etcdlab_report::{
    CorruptionDetection, LostChanges, MemberEnd, SnapshotTransfer, SnapshotsReport, TimelineEntry,
};
use etcdlab_scenario::{
    client_endpoint, client_url, peer_url, ClusterState, OperatorCommand, OutputFormat,
};
use etcdlab_sim::Nanos;
use etcdlab_store::{diff_by_resource, SnapshotFile, Store};
use std::collections::BTreeMap;

/// etcd's request timeout (5 s + 2 x the 1 s election timeout) bounds each peer's HashKV
/// request during the initial check; ground truth D measured 7 s per unreachable peer.
fn peer_hashkv_timeout_ns(election_timeout_ns: Nanos) -> Nanos {
    5_000_000_000 + 2 * election_timeout_ns
}

/// A member's data directory beyond what its slot holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct MemberMeta {
    /// etcd's member ID (from its peer URL and the cluster token).
    pub member_id: u64,
    /// The cluster this member's data belongs to.
    pub cluster_id: u64,
    /// The bbolt file is corrupted: the next start fails.
    pub backend_corrupt: bool,
    /// Ever started (a member added but never started is "unstarted" in `member list`).
    pub started: bool,
}

#[derive(Default)]
pub(crate) struct RecoveryState {
    /// Named files of the backup store (`snapshot save`, `cp ... db`).
    pub backups: BTreeMap<String, SnapshotFile>,
    pub transfers: Vec<SnapshotTransfer>,
    pub events: Vec<TimelineEntry>,
    pub detections: Vec<CorruptionDetection>,
    pub snapshots_taken: u64,
    pub refused_starts: u64,
    /// The data as it was just before the first backend corruption (the newest member's
    /// store): what a restore from an older file loses.
    pub before_failure: Option<Store>,
    pub restored: Option<Store>,
    /// Whether the run uses any of this (else the report leaves the section out).
    pub used: bool,
    /// Pairs whose cluster ID mismatch was logged already.
    mismatch_logged: std::collections::BTreeSet<(usize, usize)>,
}

/// etcd's IDs of every member slot: the initial members form one cluster; added members
/// belong to none until they start.
pub(crate) fn member_metas(members: usize, initial: usize, token: &str) -> Vec<MemberMeta> {
    let ids: Vec<u64> = (0..members).map(|m| member_id(m, token)).collect();
    let cluster = etcdctl::cluster_id(&ids[..initial]);
    ids.iter()
        .enumerate()
        .map(|(m, &member_id)| MemberMeta {
            member_id,
            cluster_id: if m < initial { cluster } else { 0 },
            backend_corrupt: false,
            started: m < initial,
        })
        .collect()
}

impl RecoveryState {
    fn event(&mut self, at_ns: Nanos, what: String) {
        self.used = true;
        self.events.push(TimelineEntry { at_ns, what });
    }
}

/// etcd's member ID for member `m` in a cluster with `token`.
pub(crate) fn member_id(m: usize, token: &str) -> u64 {
    etcdctl::member_id(&[peer_url(m)], token)
}

impl World<'_> {
    // ------------------------------------------------------------------ raft snapshots

    /// A leader's MsgSnap with the state it carries: the transfer takes the db's size at the
    /// link's bandwidth, then the follower steps it; the sender hears how it went.
    pub(super) fn send_snapshot(
        &mut self,
        from: usize,
        msg: Msg,
        state: Box<ServerState>,
        size_bytes: u64,
    ) {
        let now = self.q.now();
        let to = (msg.to - 1) as usize;
        let from_epoch = self.nodes[from].epoch;
        self.recovery.transfers.push(SnapshotTransfer {
            from: format!("m{}", from + 1),
            to: format!("m{}", to + 1),
            size_bytes,
            sent_at_ns: now,
            applied_at_ns: None,
        });
        self.recovery.used = true;
        let bandwidth = self.net.link_params(from, to).bandwidth_bytes_per_s;
        let blocked = self.net.is_blocked(from, to) || !self.same_cluster(from, to);
        let transfer_ns = (size_bytes as f64 / bandwidth * 1e9) as Nanos;
        let latency_ns = self.net.sample_rtt_ns(from, to) / 2;
        let at = now.saturating_add(transfer_ns).saturating_add(latency_ns);
        if blocked {
            // The sender's dial fails after its timeout; raft probes again later.
            let at = now.saturating_add(self.sc.cluster.election_timeout_ms * 1_000_000);
            let report = NodeEv::SnapshotReport { to, ok: false };
            self.q.schedule_at(at, Ev::node(from, from_epoch, report));
            return;
        }
        self.q.schedule_at(
            at,
            Ev::DeliverSnapshot(Box::new(SnapshotDelivery {
                from,
                to,
                msg,
                state,
                from_epoch,
            })),
        );
    }

    pub(super) fn on_deliver_snapshot(&mut self, d: SnapshotDelivery) {
        let SnapshotDelivery {
            from,
            to,
            msg,
            state,
            from_epoch,
        } = d;
        let now = self.q.now();
        // A partition that began during the transfer cuts the stream too.
        let ok = self.nodes[to].slot.is_running()
            && !self.net.is_blocked(from, to)
            && self.same_cluster(from, to);
        if ok {
            self.on_running(to, |member, out| member.on_snapshot(now, msg, state, out));
        }
        self.on_snapshot_report(from, to, ok, from_epoch);
    }

    /// The sender's snapshot stream finished (a stopped sender hears it when it resumes).
    fn on_snapshot_report(&mut self, from: usize, to: usize, ok: bool, epoch: u64) {
        if self.nodes[from].is_current(epoch) {
            self.member_input(from, MemberInput::SnapshotReport { to, ok });
        }
    }

    /// A start that is under way (WAL replay, initial corruption check) does not happen after
    /// all: the process was stopped or its data dir replaced.
    fn cancel_start(&mut self, m: usize) {
        if let Slot::Down { restarting, .. } = &mut self.nodes[m].slot {
            if *restarting {
                *restarting = false;
                self.nodes[m].epoch += 1;
                self.on_member_restarted(m);
            }
        }
    }

    pub(super) fn on_snapshot_installed(
        &mut self,
        m: usize,
        index: u64,
        applied_index: u64,
        size_bytes: u64,
    ) {
        let now = self.q.now();
        let r = self.invariants.on_snapshot_installed(now, m, applied_index);
        self.note(r);
        let name = format!("m{}", m + 1);
        if let Some(t) = self
            .recovery
            .transfers
            .iter_mut()
            .rev()
            .find(|t| t.to == name && t.applied_at_ns.is_none())
        {
            t.applied_at_ns = Some(now);
        }
        self.rec.timeline(
            now,
            format!(
                "{name}: applied a snapshot from the leader (raft index {index}, db {})",
                etcdctl::humanize_bytes(size_bytes)
            ),
        );
    }

    /// A conf change applied on `m`: the first member to apply it logs it; a member that
    /// applies its own removal stops ("the member has been permanently removed").
    pub(super) fn on_conf_changed(&mut self, m: usize, cc: ConfChange) {
        let now = self.q.now();
        if let ConfChange::RemoveNode(id) = cc {
            if id == m as u64 + 1 {
                self.rec.timeline(
                    now,
                    format!(
                        "m{}: the member has been permanently removed from the cluster; etcd stops",
                        m + 1
                    ),
                );
                self.crash(m);
                if let Slot::Down { .. } = self.nodes[m].slot {
                    self.nodes[m].slot = Slot::NoData;
                }
            }
        }
    }

    /// Member `m`'s data belongs to `cluster_id` from now on (the invariants compare its log
    /// with that cluster's).
    pub(super) fn set_cluster_id(&mut self, m: usize, cluster_id: u64) {
        self.nodes[m].meta.cluster_id = cluster_id;
        self.invariants.set_cluster(m, cluster_id);
    }

    pub(super) fn same_cluster(&self, a: usize, b: usize) -> bool {
        self.nodes[a].meta.cluster_id == self.nodes[b].meta.cluster_id
    }

    /// rafthttp refuses a peer of another cluster ("request cluster ID mismatch"); logged once
    /// per pair.
    pub(super) fn cluster_mismatch(&mut self, from: usize, to: usize) -> bool {
        if self.same_cluster(from, to) {
            return false;
        }
        if self.recovery.mismatch_logged.insert((from, to)) {
            let now = self.q.now();
            let text = format!(
                "m{}: request from m{} rejected: request cluster ID mismatch (got {:016x}, want {:016x})",
                to + 1,
                from + 1,
                self.nodes[from].meta.cluster_id,
                self.nodes[to].meta.cluster_id
            );
            self.rec.timeline(now, text.clone());
            self.recovery.event(now, text);
        }
        true
    }

    // ------------------------------------------------------------------ failures

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
    fn newest_store(&self) -> Option<&Store> {
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

    // ------------------------------------------------------------------ starting

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

    fn refuse_start(&mut self, m: usize, now: Nanos, text: String) {
        self.rec.timeline(now, text.clone());
        self.recovery.event(now, text);
        self.recovery.refused_starts += 1;
        if let Slot::Down { restarting, .. } = &mut self.nodes[m].slot {
            *restarting = false;
        }
        self.nodes[m].epoch += 1;
        self.on_member_restarted(m);
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
            let store = &peer.state().store;
            match store.hash_kv(rev) {
                Err(etcdlab_store::StoreError::FutureRev) => logs.push(format!(
                    "m{}: cannot fetch hash from slow remote peer m{}: {}",
                    m + 1,
                    p + 1,
                    etcdlab_member::ERR_FUTURE_REV
                )),
                Err(etcdlab_store::StoreError::Compacted) => logs.push(format!(
                    "m{}: cannot fetch hash from remote peer m{}: {}",
                    m + 1,
                    p + 1,
                    etcdlab_member::ERR_COMPACTED
                )),
                Ok((peer_hash, _, peer_crev)) if peer_hash != hash => {
                    if peer_crev == crev {
                        mismatch.push(format!(
                            "m{}: found different hash values from remote peer m{} (local-member-revision {rev}, remote-peer-revision {}, compact revision {crev})",
                            m + 1,
                            p + 1,
                            store.current_rev()
                        ));
                    } else {
                        logs.push(format!(
                            "m{}: cannot check hash of peer m{}: peer has a different compact revision {peer_crev}",
                            m + 1,
                            p + 1
                        ));
                    }
                }
                Ok(_) => {}
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

    fn detected(&mut self, at_ns: Nanos, m: usize, text: String) {
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

    // ------------------------------------------------------------------ the report

    pub(crate) fn snapshots_report(&self) -> Option<SnapshotsReport> {
        let r = &self.recovery;
        let checks = self.sc.cluster.initial_corrupt_check
            || self.sc.cluster.corrupt_check_time_ns.is_some();
        if !r.used && !checks {
            return None;
        }
        let restored_revision = r.restored.as_ref().map(Store::current_rev);
        let last_revision_before_failure = r.before_failure.as_ref().map(Store::current_rev);
        let lost_changes = match (&r.restored, &r.before_failure) {
            (Some(restored), Some(before)) if restored.current_rev() < before.current_rev() => {
                diff_by_resource(restored, before)
                    .into_iter()
                    .map(|(k, c)| {
                        (
                            k,
                            LostChanges {
                                created: c.created,
                                modified: c.modified,
                                deleted: c.deleted,
                            },
                        )
                    })
                    .collect()
            }
            _ => BTreeMap::new(),
        };
        let meta = |m: usize| &self.nodes[m].meta;
        let running: Vec<(usize, &Member)> = self
            .nodes
            .iter()
            .map(|n| &n.slot)
            .enumerate()
            .filter_map(|(m, s)| match s {
                Slot::Running(member) | Slot::Paused(member, _) => Some((m, member.as_ref())),
                _ => None,
            })
            .collect();
        // Hashes compare like for like: each member at the lowest revision of the members
        // of its cluster (a member of another cluster has its own history).
        let group_rev = |cluster_id: u64| {
            running
                .iter()
                .filter(|(m, _)| meta(*m).cluster_id == cluster_id)
                .map(|(_, mb)| mb.state().store.current_rev())
                .min()
        };
        let main_cluster = running
            .iter()
            .map(|(m, _)| meta(*m).cluster_id)
            .max_by_key(|c| {
                running
                    .iter()
                    .filter(|(m, _)| meta(*m).cluster_id == *c)
                    .count()
            });
        let hashkv_revision = main_cluster.and_then(group_rev);
        let members_at_end = running
            .iter()
            .map(|(m, mb)| {
                let store = &mb.state().store;
                MemberEnd {
                    name: format!("m{}", m + 1),
                    member_id: meta(*m).member_id,
                    cluster_id: meta(*m).cluster_id,
                    revision: store.current_rev(),
                    compact_revision: store.compact_rev(),
                    hash_kv: group_rev(meta(*m).cluster_id)
                        .and_then(|rev| store.hash_kv(rev).ok())
                        .map(|(h, _, _)| h),
                    raft_index: mb.raft().last_index(),
                }
            })
            .collect();
        Some(SnapshotsReport {
            transfers: r.transfers.clone(),
            events: r.events.clone(),
            corruption_checks: checks,
            detections: r.detections.clone(),
            diverged_at_ns: None,
            restored_revision,
            last_revision_before_failure,
            lost_changes,
            hashkv_revision,
            members_at_end,
            members_refused_start: r.refused_starts,
            raft_snapshots_taken: r.snapshots_taken,
        })
    }
}

/// A copy of a member's db: `snapshot save`'s (with the integrity hash) or a raw `cp` of
/// `member/snap/db`.
fn db_file(state: &ServerState, raw: bool) -> SnapshotFile {
    let (members, leases, alarms) = (
        state.members().len(),
        state.lessor.len(),
        state.active_alarms().len(),
    );
    if raw {
        SnapshotFile::raw_copy(&state.store, members, leases, alarms)
    } else {
        SnapshotFile::save(&state.store, members, leases, alarms)
    }
}

/// A raft snapshot on its way: the leader's message and the state machine it carries.
#[derive(Debug)]
pub(crate) struct SnapshotDelivery {
    pub from: usize,
    pub to: usize,
    pub msg: Msg,
    pub state: Box<ServerState>,
    /// The sender's incarnation: a restarted sender no longer waits for the outcome.
    pub from_epoch: u64,
}

/// What an operator command of this module needs from the operator loop.
pub(super) enum Started {
    /// Done: the output (ok or not) reaches the terminal after `ns`.
    After { ns: Nanos },
    /// Requests through raft; `ok_output` is printed once all succeeded.
    Requests { ops: Vec<Op>, ok_output: String },
    /// Wait for member `m` to finish starting (or to refuse).
    Start(usize),
}

impl World<'_> {
    /// Run one of the snapshot/membership commands. Writes its output into `output` and says
    /// whether it failed through `ok`.
    pub(super) fn recovery_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
    ) -> Started {
        self.recovery.used = true;
        let now = self.q.now();
        let rtt = self.client_delay().saturating_add(self.client_delay());
        let mut fail = |output: &mut String, text: String| {
            *ok = false;
            output.push_str(&etcdctl::error_line(&text));
            Started::After { ns: rtt }
        };
        match command {
            OperatorCommand::SnapshotSave { file, member } => {
                let target = member.or_else(|| self.leader_or_first_running());
                let Some(Slot::Running(mb)) = target.map(|m| &self.nodes[m].slot) else {
                    return fail(output, super::ERR_CONNECTION_REFUSED.into());
                };
                let snap = db_file(mb.state(), false);
                let bw = self.sc.network.bandwidth_bytes_per_s;
                let ns = rtt + (snap.size_bytes as f64 / bw * 1e9) as Nanos;
                let text = format!(
                    "snapshot {file:?} saved from m{} at revision {} ({})",
                    target.unwrap_or(0) + 1,
                    snap.revision,
                    etcdctl::humanize_bytes(snap.db_size_bytes())
                );
                self.recovery.event(now, text);
                self.recovery.backups.insert(file.clone(), snap);
                output.push_str(&etcdctl::snapshot_saved(file));
                Started::After { ns }
            }
            OperatorCommand::SnapshotStatus { file, format } => {
                let Some(snap) = self.recovery.backups.get(file) else {
                    return fail(output, format!("stat {file}: no such file or directory"));
                };
                let args = (
                    snap.hash,
                    snap.revision,
                    snap.total_keys,
                    snap.db_size_bytes(),
                );
                output.push_str(&match format {
                    OutputFormat::Table => {
                        etcdctl::snapshot_status_table(args.0, args.1, args.2, args.3)
                    }
                    OutputFormat::Json => {
                        etcdctl::snapshot_status_json(args.0, args.1, args.2, args.3)
                    }
                    OutputFormat::Simple => {
                        etcdctl::snapshot_status_simple(args.0, args.1, args.2, args.3)
                    }
                });
                Started::After { ns: 50_000_000 }
            }
            OperatorCommand::SnapshotRestore {
                file,
                member,
                initial_cluster,
                token,
                data_dir,
                skip_hash_check,
            } => self.snapshot_restore(
                file,
                *member,
                initial_cluster,
                token,
                data_dir,
                *skip_hash_check,
                output,
                ok,
            ),
            OperatorCommand::MemberList { format } => {
                let Some(state) = self.any_member_state() else {
                    return fail(output, super::ERR_CONNECTION_REFUSED.into());
                };
                let rows: Vec<etcdctl::MemberListRow> = state
                    .members()
                    .into_iter()
                    .map(|id| {
                        let m = (id - 1) as usize;
                        let started = self
                            .nodes
                            .get(m)
                            .map(|n| &n.meta)
                            .is_some_and(|x| x.started);
                        etcdctl::MemberListRow {
                            id: self
                                .nodes
                                .get(m)
                                .map(|n| &n.meta)
                                .map_or(id, |x| x.member_id),
                            name: if started {
                                format!("m{id}")
                            } else {
                                String::new()
                            },
                            peer_urls: vec![peer_url(m)],
                            client_urls: if started {
                                vec![client_url(m)]
                            } else {
                                Vec::new()
                            },
                            is_learner: false,
                        }
                    })
                    .collect();
                output.push_str(&match format {
                    OutputFormat::Table => etcdctl::member_list_table(&rows),
                    _ => etcdctl::member_list_simple(&rows),
                });
                Started::After { ns: rtt }
            }
            OperatorCommand::MemberAdd {
                member,
                peer_url: url,
                learner,
            } => {
                if *learner {
                    return fail(output, "learners are not modelled by etcdlab".into());
                }
                let Some(l) = self.leader_or_first_running() else {
                    return fail(output, super::ERR_CONNECTION_REFUSED.into());
                };
                let cluster_id = self.nodes[l].meta.cluster_id;
                self.set_cluster_id(*member, cluster_id);
                let mut names: Vec<(String, String)> = self
                    .any_member_state()
                    .map(|s| s.members())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|id| self.nodes[(*id - 1) as usize].meta.started)
                    .map(|id| (format!("m{id}"), peer_url((id - 1) as usize)))
                    .collect();
                names.push((format!("m{}", member + 1), url.clone()));
                let ic: Vec<(&str, &str)> = names
                    .iter()
                    .map(|(n, u)| (n.as_str(), u.as_str()))
                    .collect();
                let text = etcdctl::member_added(
                    &format!("m{}", member + 1),
                    self.nodes[*member].meta.member_id,
                    cluster_id,
                    url,
                    &ic,
                );
                self.recovery
                    .event(now, format!("member add m{} ({url})", member + 1));
                Started::Requests {
                    ops: vec![Op::MemberAdd {
                        id: *member as u64 + 1,
                    }],
                    ok_output: text,
                }
            }
            OperatorCommand::MemberRemove { member } => {
                let cluster_id = self.nodes[*member].meta.cluster_id;
                self.recovery
                    .event(now, format!("member remove m{}", member + 1));
                Started::Requests {
                    ops: vec![Op::MemberRemove {
                        id: *member as u64 + 1,
                    }],
                    ok_output: etcdctl::member_removed(
                        self.nodes[*member].meta.member_id,
                        cluster_id,
                    ),
                }
            }
            OperatorCommand::EndpointHashKv { format } => {
                let rows: Vec<etcdctl::HashKvRow> = (0..self.nodes.len())
                    .filter_map(|m| match &self.nodes[m].slot {
                        Slot::Running(mb) => {
                            let (hash, revision, compact_revision) =
                                mb.state().store.hash_kv(0).ok()?;
                            Some(etcdctl::HashKvRow {
                                endpoint: client_endpoint(m),
                                cluster_id: self.nodes[m].meta.cluster_id,
                                member_id: self.nodes[m].meta.member_id,
                                revision,
                                raft_term: mb.raft().term(),
                                hash,
                                compact_revision,
                            })
                        }
                        _ => None,
                    })
                    .collect();
                output.push_str(&match format {
                    OutputFormat::Table => etcdctl::endpoint_hashkv_table(&rows),
                    OutputFormat::Json => etcdctl::endpoint_hashkv_json(&rows),
                    OutputFormat::Simple => {
                        let refs: Vec<(&str, u32)> =
                            rows.iter().map(|r| (r.endpoint.as_str(), r.hash)).collect();
                        etcdctl::endpoint_hashkv(&refs)
                    }
                });
                Started::After { ns: rtt }
            }
            OperatorCommand::Start {
                member,
                initial_cluster_state,
            } => self.start_command(*member, *initial_cluster_state, output, ok, rtt),
            OperatorCommand::Stop { member } => {
                self.cancel_start(*member);
                self.crash(*member);
                self.recovery
                    .event(now, format!("etcd on m{} stopped", member + 1));
                Started::After { ns: rtt }
            }
            OperatorCommand::WipeDataDir { member } => match self.nodes[*member].slot {
                Slot::Running(_) | Slot::Paused(..) => fail(
                    output,
                    format!("m{}: etcd is running: stop it first", member + 1),
                ),
                _ => {
                    self.cancel_start(*member);
                    self.nodes[*member].slot = Slot::NoData;
                    // Its applied index and revisions start over from nothing.
                    self.invariants.on_restore(*member, 0, true);
                    self.nodes[*member].meta.backend_corrupt = false;
                    self.recovery
                        .event(now, format!("data dir of m{} removed", member + 1));
                    Started::After { ns: rtt }
                }
            },
            OperatorCommand::CopyDb { member, file } => {
                let Some(state) = self.nodes[*member].slot.state() else {
                    return fail(
                        output,
                        format!(
                            "cp: cannot stat 'm{}/member/snap/db': no such file",
                            member + 1
                        ),
                    );
                };
                let copy = db_file(state, true);
                let text = format!(
                    "raw copy {file:?} of m{}'s db at revision {} (no integrity hash)",
                    member + 1,
                    copy.revision
                );
                self.recovery.event(now, text);
                self.recovery.backups.insert(file.clone(), copy);
                Started::After { ns: rtt }
            }
            other => unreachable!("not a recovery command: {other:?}"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn snapshot_restore(
        &mut self,
        file: &str,
        m: usize,
        initial_cluster: &[(usize, String)],
        token: &str,
        data_dir: &str,
        skip_hash_check: bool,
        output: &mut String,
        ok: &mut bool,
    ) -> Started {
        let now = self.q.now();
        let names: Vec<(String, String)> = initial_cluster
            .iter()
            .map(|(i, u)| (format!("m{}", i + 1), u.clone()))
            .collect();
        let ic: Vec<(&str, &str)> = names
            .iter()
            .map(|(n, u)| (n.as_str(), u.as_str()))
            .collect();
        let name = format!("m{}", m + 1);
        let print = |output: &mut String, error: Option<&str>| {
            let o = etcdctl::snapshot_restore(file, &name, Some(data_dir), &ic, token, error);
            output.push_str(&o.stderr);
            output.push_str(&o.stdout);
        };
        let Some(snap) = self.recovery.backups.get(file) else {
            *ok = false;
            print(
                output,
                Some(&format!("stat {file}: no such file or directory")),
            );
            return Started::After { ns: 10_000_000 };
        };
        if matches!(self.nodes[m].slot, Slot::Running(_) | Slot::Paused(..)) {
            *ok = false;
            print(output, Some(&format!("data-dir {data_dir:?} exists")));
            return Started::After { ns: 10_000_000 };
        }
        if let Err(e) = snap.restore_check(skip_hash_check) {
            *ok = false;
            print(output, Some(&e));
            return Started::After { ns: 10_000_000 };
        }
        let snap = snap.clone();
        print(output, None);
        self.cancel_start(m);
        let voters: Vec<u64> = initial_cluster.iter().map(|(i, _)| *i as u64 + 1).collect();
        let mut state = self.nodes[m].cfg.empty_state();
        let revision = snap.revision;
        let bytes = snap.db_size_bytes();
        if self
            .recovery
            .restored
            .as_ref()
            .is_none_or(|r| revision < r.current_rev())
        {
            self.recovery.restored = Some(snap.store.clone());
        }
        if self.recovery.before_failure.is_none() {
            self.recovery.before_failure = self.newest_store().cloned();
        }
        state.store = snap.into_store();
        let durable = Member::restored_data_dir(state.restored(&voters), voters);
        self.nodes[m].slot = Slot::Down {
            durable: Box::new(durable),
            restarting: false,
        };
        let ids: Vec<u64> = initial_cluster
            .iter()
            .map(|(_, u)| etcdctl::member_id(std::slice::from_ref(u), token))
            .collect();
        // The member's ID comes from its own entry of --initial-cluster.
        let own = initial_cluster
            .iter()
            .position(|(i, _)| *i == m)
            .map_or_else(|| member_id(m, token), |p| ids[p]);
        let cluster_id = etcdctl::cluster_id(&ids);
        self.set_cluster_id(m, cluster_id);
        let meta = &mut self.nodes[m].meta;
        meta.member_id = own;
        meta.backend_corrupt = false;
        // Restoring the whole cluster (none of its members runs) starts its log over.
        let running = (0..self.nodes.len()).any(|p| {
            matches!(self.nodes[p].slot, Slot::Running(_) | Slot::Paused(..))
                && self.nodes[p].meta.cluster_id == cluster_id
        });
        self.invariants
            .on_restore(m, initial_cluster.len() as u64, running);
        self.recovery.event(
            now,
            format!("{name} restored from {file:?} (revision {revision}) into {data_dir}"),
        );
        // Copying the db and writing the new WAL at the disk's pace.
        let bw = self.sc.disks[m].write_bandwidth_bytes_per_s;
        Started::After {
            ns: 100_000_000 + (bytes as f64 / bw * 1e9) as Nanos,
        }
    }

    fn start_command(
        &mut self,
        m: usize,
        state: Option<ClusterState>,
        output: &mut String,
        ok: &mut bool,
        rtt: Nanos,
    ) -> Started {
        let now = self.q.now();
        match self.nodes[m].slot {
            Slot::Running(_) | Slot::Paused(..) => {
                output.push_str(&format!("m{}: etcd is already running\n", m + 1));
                Started::After { ns: rtt }
            }
            Slot::Down { .. } => {
                // A data dir exists: etcd ignores --initial-cluster-state and restarts from it.
                self.start_restart(m);
                Started::Start(m)
            }
            Slot::NoData | Slot::Empty => {
                let members = self
                    .any_member_state()
                    .map(|s| s.members())
                    .unwrap_or_default();
                match state.unwrap_or(ClusterState::Existing) {
                    ClusterState::Existing => {
                        if !members.contains(&(m as u64 + 1)) {
                            *ok = false;
                            let text = format!(
                                "m{}: error validating peerURLs: member count is unequal; etcd exits",
                                m + 1
                            );
                            output.push_str(&format!("{text}\n"));
                            self.recovery.event(now, text);
                            self.recovery.refused_starts += 1;
                            return Started::After { ns: rtt };
                        }
                        let rng = self.next_raft_rng(m);
                        let member = Member::join_existing(self.nodes[m].cfg.clone(), members, rng);
                        self.recovery.event(
                            now,
                            format!("m{} started with initial-cluster-state=existing", m + 1),
                        );
                        self.run_member(m, member);
                    }
                    ClusterState::New => {
                        let mut voters = members;
                        if !voters.contains(&(m as u64 + 1)) {
                            voters.push(m as u64 + 1);
                        }
                        let token = self.sc.cluster.initial_cluster_token.clone();
                        let ids: Vec<u64> = voters
                            .iter()
                            .map(|id| member_id((*id - 1) as usize, &token))
                            .collect();
                        let cluster_id = etcdctl::cluster_id(&ids);
                        self.set_cluster_id(m, cluster_id);
                        let rng = self.next_raft_rng(m);
                        let member = Member::bootstrap(self.nodes[m].cfg.clone(), voters, rng);
                        let text = format!(
                            "m{} started with initial-cluster-state=new: it bootstraps a new cluster {cluster_id:016x}",
                            m + 1
                        );
                        self.rec.timeline(now, text.clone());
                        self.recovery.event(now, text);
                        self.run_member(m, member);
                    }
                }
                Started::After { ns: rtt }
            }
        }
    }
}
