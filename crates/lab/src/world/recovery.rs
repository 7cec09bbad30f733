//! Backups, restores and membership from the operator's side, and what the report says of
//! them. Operator commands (`snapshot save/status/restore`, `member add/remove/list`,
//! `endpoint hashkv`, `etcd start/stop`, `rm -rf`, `cp`) act on member slots and on a
//! backup store of named files. The initial and periodic corruption checks compare
//! `HashKV` as etcd 3.4's `corrupt.go` does, with its log texts.

use super::operator::Started;
use super::{Slot, World};
use etcdlab_member::{Member, Op, ServerState};
use etcdlab_report::etcdctl::{self, Etcdctl};
use etcdlab_report::{
    CorruptionDetection, LostChanges, MemberEnd, SnapshotTransfer, SnapshotsReport, TimelineEntry,
};
use etcdlab_scenario::{
    client_url, peer_url, EtcdVersion, OperatorCommand, OutputFormat, SnapshotTool,
};
use etcdlab_sim::Nanos;
use etcdlab_store::{diff_grouped, SnapshotFile, Store};
use std::collections::BTreeMap;

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
    pub mismatch_logged: std::collections::BTreeSet<(usize, usize)>,
    /// Eras started by whole-cluster restores so far.
    pub eras: u8,
    /// The era that members restored into cluster `.0` join while none of them has started
    /// yet (one restore of a whole cluster is one command per member).
    pub restoring_era: Option<(u64, u8)>,
}

impl RecoveryState {
    /// The era of a member restored into cluster `cluster_id` that no running member has.
    pub(super) fn restore_era(&mut self, cluster_id: u64) -> u8 {
        match self.restoring_era {
            Some((c, era)) if c == cluster_id => era,
            _ => {
                self.eras = self.eras.saturating_add(1);
                self.restoring_era = Some((cluster_id, self.eras));
                self.eras
            }
        }
    }

    pub(super) fn event(&mut self, at_ns: Nanos, what: String) {
        self.used = true;
        self.events.push(TimelineEntry { at_ns, what });
    }
}

impl World<'_> {
    // ------------------------------------------------------------------ raft snapshots

    /// A start that is under way (WAL replay, initial corruption check) does not happen after
    /// all: the process was stopped or its data dir replaced.
    pub(super) fn cancel_start(&mut self, m: usize) {
        if let Slot::Down { restarting, .. } = &mut self.nodes[m].slot {
            if *restarting {
                *restarting = false;
                self.nodes[m].epoch += 1;
                self.hand_operator(super::OperatorInput::MemberStarted(m));
            }
        }
    }

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
                diff_grouped(restored, before, etcdlab_kube::resource_of)
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
pub(super) fn db_file(state: &ServerState, raw: bool, version: EtcdVersion) -> SnapshotFile {
    let (members, leases, alarms) = (
        state.members().len(),
        state.lessor.len(),
        state.active_alarms().len(),
    );
    let mut file = if raw {
        SnapshotFile::raw_copy(&state.store, members, leases, alarms)
    } else {
        SnapshotFile::save(&state.store, members, leases, alarms)
    };
    // etcd 3.5 also keeps the raft term and conf state in the meta bucket: the same one-key
    // cluster's snapshot has 5 keys on 3.4.23 and 7 on 3.5.1 (scripts/fidelity/snapshot_texts.py).
    if version == EtcdVersion::V3_5 {
        file.total_keys += 2;
    }
    file
}

impl World<'_> {
    /// Run one of the snapshot/membership commands. Writes its output into `output` and says
    /// whether it failed through `ok`.
    pub(super) fn recovery_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
        cli: &Etcdctl,
    ) -> Started {
        self.recovery.used = true;
        let rtt = self.client_delay().saturating_add(self.client_delay());
        match command {
            OperatorCommand::SnapshotSave { .. }
            | OperatorCommand::SnapshotStatus { .. }
            | OperatorCommand::SnapshotRestore { .. }
            | OperatorCommand::CopyDb { .. } => self.backup_command(command, output, ok, rtt),
            OperatorCommand::MemberList { .. }
            | OperatorCommand::MemberAdd { .. }
            | OperatorCommand::MemberRemove { .. } => {
                self.member_command(command, output, ok, rtt, cli)
            }
            OperatorCommand::EndpointHashKv { .. }
            | OperatorCommand::Start { .. }
            | OperatorCommand::Stop { .. }
            | OperatorCommand::WipeDataDir { .. } => {
                self.data_dir_command(command, output, ok, rtt, cli)
            }
            other => unreachable!("not a recovery command: {other:?}"),
        }
    }

    /// `snapshot save/status/restore` and raw copies of a db file.
    fn backup_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
        rtt: Nanos,
    ) -> Started {
        let now = self.q.now();
        let program = match command {
            OperatorCommand::SnapshotStatus { tool, .. } => Some((*tool, "status")),
            OperatorCommand::SnapshotRestore { tool, .. } => Some((*tool, "restore")),
            _ => None,
        };
        if let Some((tool, subcommand)) = program {
            if !self.has_program(tool, subcommand, output, ok) {
                return Started::After { ns: 1_000_000 };
            }
        }
        // Snapshot save is a streaming RPC: its failures were not measured, the lab prints the
        // `Error:` line alone.
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
                let snap = db_file(mb.state(), false, self.sc.cluster.etcd_version);
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
            OperatorCommand::SnapshotStatus { file, format, .. } => {
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
                ..
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
                let copy = db_file(state, true, self.sc.cluster.etcd_version);
                let text = format!(
                    "raw copy {file:?} of m{}'s db at revision {} (no integrity hash)",
                    member + 1,
                    copy.revision
                );
                self.recovery.event(now, text);
                self.recovery.backups.insert(file.clone(), copy);
                Started::After { ns: rtt }
            }
            other => unreachable!("not a backup command: {other:?}"),
        }
    }

    /// Whether `tool` exists in this etcd version's install: a 3.4 install has no etcdutl
    /// (the shell says so); etcdctl 3.5 first prints that `snapshot <subcommand>` moved to
    /// etcdutl (measured: `scripts/fidelity/snapshot_texts.py`).
    fn has_program(
        &self,
        tool: SnapshotTool,
        subcommand: &str,
        output: &mut String,
        ok: &mut bool,
    ) -> bool {
        match (tool, self.sc.cluster.etcd_version) {
            (SnapshotTool::Etcdutl, EtcdVersion::V3_4) => {
                *ok = false;
                output.push_str("bash: etcdutl: command not found\n");
                false
            }
            (SnapshotTool::Etcdctl, EtcdVersion::V3_5) => {
                output.push_str(&etcdctl::etcdutl_deprecation(subcommand));
                true
            }
            _ => true,
        }
    }

    /// `member list/add/remove`.
    fn member_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
        rtt: Nanos,
        cli: &Etcdctl,
    ) -> Started {
        let now = self.q.now();
        let mut fail = |output: &mut String, text: String| failed(cli, output, ok, rtt, &text);
        match command {
            OperatorCommand::MemberList { format } => {
                let Some(state) = self.any_member_state() else {
                    return fail(output, super::ERR_CONNECTION_REFUSED.into());
                };
                // etcd 3.5 serves the member list linearizably: a member without a leader
                // holds it until etcdctl gives up (3.4 answers from its own copy).
                let leaderless = (self.leader_or_first_running())
                    .and_then(|m| match &self.nodes[m].slot {
                        Slot::Running(member) => Some(member.leader() == 0),
                        _ => None,
                    })
                    .unwrap_or(false);
                if leaderless && self.sc.cluster.etcd_version == EtcdVersion::V3_5 {
                    return fail(output, etcdctl::CLIENT_DEADLINE.into());
                }
                let rows = self.member_list_rows(&state.members());
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
                endpoint,
            } => {
                if *learner {
                    return fail(output, "learners are not modelled by etcdlab".into());
                }
                // The member the request reaches serves it: the first of --endpoints, else
                // the leader (etcdctl's default endpoint).
                let serving = match endpoint {
                    Some(m) => Some(*m).filter(|m| self.nodes[*m].slot.is_running()),
                    None => self.leader_or_first_running(),
                };
                let Some(l) = serving else {
                    return fail(output, super::ERR_CONNECTION_REFUSED.into());
                };
                if let Some(refused) = self.may_add_member(l) {
                    return fail(output, refused.into());
                }
                let cluster_id = self.nodes[l].meta.cluster_id;
                self.set_cluster_id(*member, cluster_id);
                // etcd names the new member by its peer URL and the second of the request on
                // the serving member's wall clock.
                let added_id = etcdlab_member::ids::added_member_id(
                    std::slice::from_ref(url),
                    super::snapshots::wall_clock_unix_s(now),
                );
                self.nodes[*member].meta.member_id = added_id;
                self.nodes[*member].meta.added_as = Some(added_id);
                // The reply's members in the server's order (member ID order), the new one
                // at its ID's place with the name etcdctl gives it; a member that never
                // started has no name yet.
                let mut ids = (self.nodes[l].slot.state())
                    .map(|s| s.members())
                    .unwrap_or_default();
                ids.push(*member as u64 + 1);
                let names: Vec<(String, String)> = self
                    .in_member_id_order(ids, Some(l))
                    .into_iter()
                    .map(|id| {
                        let m = (id - 1) as usize;
                        let name = if m == *member || self.listed_member(id, Some(l)).1 {
                            format!("m{id}")
                        } else {
                            String::new()
                        };
                        let url = if m == *member {
                            url.clone()
                        } else {
                            peer_url(m)
                        };
                        (name, url)
                    })
                    .collect();
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
            other => unreachable!("not a member command: {other:?}"),
        }
    }

    /// Raft ids (slot + 1) sorted as the cluster of member `viewer` lists them: by member
    /// ID (see [`World::listed_member`]).
    pub(super) fn in_member_id_order(&self, mut ids: Vec<u64>, viewer: Option<usize>) -> Vec<u64> {
        ids.sort_by_key(|&id| (self.listed_member(id, viewer).0, id));
        ids.dedup();
        ids
    }

    /// Raft id `raft_id` as the cluster of member `viewer` lists it: its member ID, and
    /// whether it started in that cluster. A member that joined it (or never started) is
    /// listed by its own ID; one that was added to it but bootstrapped a cluster of its own
    /// (`--initial-cluster-state=new`, with the ID its `--initial-cluster` gives it) is still
    /// listed by the ID the add gave it, and as unstarted: it never published its name there.
    pub(super) fn listed_member(&self, raft_id: u64, viewer: Option<usize>) -> (u64, bool) {
        let Some(node) = self.nodes.get((raft_id - 1) as usize) else {
            return (raft_id, false);
        };
        let meta = &node.meta;
        let joined = viewer.is_none_or(|v| self.nodes[v].meta.cluster_id == meta.cluster_id);
        if joined {
            (meta.member_id, meta.started)
        } else {
            (meta.added_as.unwrap_or(meta.member_id), false)
        }
    }

    /// `member list`'s rows, in member ID order: names and client URLs of members that ever
    /// started.
    fn member_list_rows(&self, ids: &[u64]) -> Vec<etcdctl::MemberListRow> {
        let viewer = self.leader_or_first_running();
        self.in_member_id_order(ids.to_vec(), viewer)
            .into_iter()
            .map(|id| {
                let m = (id - 1) as usize;
                let (member_id, started) = self.listed_member(id, viewer);
                etcdctl::MemberListRow {
                    id: member_id,
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
            .collect()
    }

    /// `endpoint hashkv`, `etcd start/stop` and `rm -rf` of a data dir.
    fn data_dir_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
        rtt: Nanos,
        cli: &Etcdctl,
    ) -> Started {
        let now = self.q.now();
        let mut fail = |output: &mut String, text: String| failed(cli, output, ok, rtt, &text);
        match command {
            OperatorCommand::EndpointHashKv { format, cluster } => {
                let queried = self.queried_endpoints(*cluster);
                // An endpoint that does not answer: its lines on stderr, and etcdctl ends
                // with the error after the others' hashes (exit code 1), 5 s later.
                let mut unanswered = String::new();
                for (m, endpoint) in &queried {
                    if !self.nodes[*m].slot.is_running() {
                        unanswered.push_str(&cli.endpoint_failed(
                            etcdctl::NO_CONNECTION,
                            endpoint,
                            "get the hash of endpoint",
                        ));
                    }
                }
                let rows: Vec<etcdctl::HashKvRow> = queried
                    .into_iter()
                    .filter_map(|(m, endpoint)| match &self.nodes[m].slot {
                        Slot::Running(mb) => {
                            let (hash, revision, compact_revision) =
                                mb.state().store.hash_kv(0).ok()?;
                            Some(etcdctl::HashKvRow {
                                endpoint,
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
                if unanswered.is_empty() {
                    return Started::After { ns: rtt };
                }
                *ok = false;
                let text = unanswered + output.as_str();
                *output = text;
                output.push_str(&etcdctl::error_line("context deadline exceeded"));
                Started::After {
                    ns: super::operator::ETCDCTL_COMMAND_TIMEOUT_NS,
                }
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
            other => unreachable!("not a data dir command: {other:?}"),
        }
    }
}

/// A command that failed: etcdctl prints its warn line (for an RPC's error) and `Error:` line
/// after the round trip, or after its command timeout when no member accepted the connection.
fn failed(cli: &Etcdctl, output: &mut String, ok: &mut bool, rtt: Nanos, text: &str) -> Started {
    *ok = false;
    output.push_str(&cli.command_failed(text));
    let ns = if text == etcdctl::NO_CONNECTION || text == etcdctl::CLIENT_DEADLINE {
        super::operator::ETCDCTL_COMMAND_TIMEOUT_NS
    } else {
        rtt
    };
    Started::After { ns }
}
