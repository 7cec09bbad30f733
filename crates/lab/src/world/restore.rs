//! `etcdctl snapshot restore` into a member's data dir and `etcd start` of a member, with what etcd writes and checks on the way.

use super::operator::Started;
use super::snapshots::member_id;
use super::*;
use etcdlab_member::ids;
use etcdlab_report::etcdctl;
use etcdlab_scenario::{ClusterState, EtcdVersion};

impl World<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn snapshot_restore(
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
        let name = format!("m{}", m + 1);
        let (members, cid) = restored_members(initial_cluster, token);
        // etcd 3.5 restores with etcdutl's code whichever program runs it.
        let log = match self.sc.cluster.etcd_version {
            EtcdVersion::V3_4 => etcdctl::RestoreLog::Json34,
            EtcdVersion::V3_5 => etcdctl::RestoreLog::Console35,
        };
        let print = |output: &mut String, error: Option<&str>| {
            let dir = Some(data_dir);
            let o = etcdctl::snapshot_restore_members(file, &name, dir, &members, cid, error, log);
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
            .map(|(_, u)| ids::member_id(std::slice::from_ref(u), token))
            .collect();
        // The member's ID comes from its own entry of --initial-cluster.
        let own = initial_cluster
            .iter()
            .position(|(i, _)| *i == m)
            .map_or_else(|| member_id(m, token), |p| ids[p]);
        let cluster_id = ids::cluster_id(&ids);
        self.set_cluster_id(m, cluster_id);
        let meta = &mut self.nodes[m].meta;
        meta.member_id = own;
        meta.backend_corrupt = false;
        // Restoring the whole cluster (none of its members runs) starts its log over.
        let running = (0..self.nodes.len()).find(|&p| {
            matches!(self.nodes[p].slot, Slot::Running(_) | Slot::Paused(..))
                && self.nodes[p].meta.cluster_id == cluster_id
        });
        // A member restored into a running cluster continues its data; a cluster restored
        // whole starts a new era.
        self.nodes[m].era = match running {
            Some(p) => self.nodes[p].era,
            None => self.recovery.restore_era(cluster_id),
        };
        let running = running.is_some();
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

    pub(super) fn start_command(
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
                        let cluster_id = ids::cluster_id(&ids);
                        self.set_cluster_id(m, cluster_id);
                        // Its ID is its own entry's in the new cluster, whatever an add gave it.
                        self.nodes[m].meta.member_id = member_id(m, &token);
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

/// The members (ID, peer URLs) and cluster ID that `snapshot restore --initial-cluster` gives.
fn restored_members(
    initial_cluster: &[(usize, String)],
    token: &str,
) -> (Vec<(u64, Vec<String>)>, u64) {
    let names: Vec<(String, &str)> = initial_cluster
        .iter()
        .map(|(i, u)| (format!("m{}", i + 1), u.as_str()))
        .collect();
    let ic: Vec<(&str, &str)> = names.iter().map(|(n, u)| (n.as_str(), *u)).collect();
    let members = ids::initial_cluster_members(&ic, token);
    let cluster_id = ids::cluster_id(&members.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    (members, cluster_id)
}
