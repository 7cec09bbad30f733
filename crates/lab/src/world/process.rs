//! Process control: SIGSTOP/SIGCONT, crashes, restarts (WAL replay) and the start of a new incarnation.

use super::*;

impl World<'_> {
    /// SIGSTOP a running member (the action checked that it runs).
    pub(super) fn pause(&mut self, m: usize) {
        let now = self.q.now();
        let Slot::Running(member) = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty) else {
            unreachable!("pause of m{}, which is not running", m + 1)
        };
        self.rec.role(now, m, RoleKind::Down, member.raft().term());
        self.nodes[m].slot = Slot::Paused(member, Vec::new());
        self.nodes[m].up_since = None;
    }

    pub(super) fn resume(&mut self, m: usize) {
        let slot = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty);
        let Slot::Paused(member, parked) = slot else {
            self.nodes[m].slot = slot;
            return;
        };
        let (role, term) = (member.role(), member.raft().term());
        self.nodes[m].slot = Slot::Running(member);
        self.nodes[m].up_since = Some(self.q.now());
        self.rec.role(self.q.now(), m, role_kind(role), term);
        self.time_catch_up(m);
        // SIGCONT: everything that queued up while stopped is handled now, in order.
        let mut parked = parked;
        if self.nodes[m].cfg.bug == Some(etcdlab_member::EtcdBug::StaleReadAfterPause) {
            // The injected bug: the client reads queued during the pause win the race with
            // the peers' messages (a stable sort keeps each group in arrival order).
            parked.sort_by_key(|ev| !matches!(ev, MemberInput::ClientRead { .. }));
        }
        for ev in parked {
            if self.nodes[m].slot.is_running() {
                self.run_member_input(m, ev);
            }
        }
    }

    /// `m` is back from a pause or a partition: if it has applied less than the cluster's
    /// furthest member, time it until it has applied as much (a member that was never
    /// behind, or whose cluster applied nothing meanwhile, gives no figure).
    pub(super) fn time_catch_up(&mut self, m: usize) {
        let Some(applied) = self.nodes[m].slot.state().map(|s| s.applied_index()) else {
            return;
        };
        let target = self
            .nodes
            .iter()
            .filter(|n| matches!(n.slot, Slot::Running(_) | Slot::Paused(..)))
            .filter_map(|n| n.slot.state().map(|s| s.applied_index()))
            .max()
            .unwrap_or(0);
        if applied < target && self.nodes[m].catching_up.is_none() {
            self.nodes[m].catching_up = Some((self.q.now(), target));
        }
    }

    /// `m` applied up to `index`: the end of its catch-up if it was timing one.
    pub(super) fn on_applied_up_to(&mut self, m: usize, index: u64) {
        if let Some((since_ns, target)) = self.nodes[m].catching_up {
            if index >= target {
                self.nodes[m].catching_up = None;
                self.rec.caught_up(self.q.now(), since_ns);
            }
        }
    }

    pub(super) fn crash(&mut self, m: usize) {
        let slot = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty);
        let member = match slot {
            Slot::Running(member) | Slot::Paused(member, _) => member,
            other => {
                self.nodes[m].slot = other;
                return;
            }
        };
        let now = self.q.now();
        self.nodes[m].epoch += 1;
        self.nodes[m].saving = None;
        self.nodes[m].disk.reset_queue(now);
        self.rec.role(now, m, RoleKind::Down, member.raft().term());
        if self.rec.is_cluster_leader(m) {
            self.rec.leader_lost(now);
        }
        self.nodes[m].fsync_hist = PromHistogram::new(&FSYNC_BUCKETS_S);
        let cut = member.pending_requests();
        let durable = member.crash();
        self.nodes[m].slot = Slot::Down {
            durable: Box::new(durable),
            restarting: false,
        };
        self.nodes[m].up_since = None;
        self.nodes[m].catching_up = None;
        self.nodes[m].compacting = false;
        // The clients waiting on it see their connection close.
        for (id, client) in cut {
            self.reply(Client::from_id(client), id, Err(ERR_CONNECTION_LOST), now);
        }
    }

    pub(super) fn start_restart(&mut self, m: usize) {
        let Slot::Down {
            durable,
            restarting,
        } = &mut self.nodes[m].slot
        else {
            return;
        };
        if *restarting {
            return;
        }
        *restarting = true;
        let c = &self.sc.cluster;
        let replay_s = durable.wal_bytes as f64 / c.wal_replay_bytes_per_s;
        let delay = ms_to_ns(c.restart_base_ms) + (replay_s * 1e9).round() as Nanos;
        let epoch = self.nodes[m].epoch;
        self.q
            .schedule_in(delay, Ev::node(m, epoch, NodeEv::RestartDone));
    }

    pub(super) fn on_restart_done(&mut self, m: usize) {
        if self.start_refused(m) {
            return;
        }
        if self.sc.cluster.initial_corrupt_check {
            match self.initial_corrupt_check(m) {
                None => return,
                Some(0) => {}
                Some(delay) => {
                    self.nodes[m].epoch += 1;
                    let epoch = self.nodes[m].epoch;
                    self.q
                        .schedule_in(delay, Ev::node(m, epoch, NodeEv::StartChecked));
                    return;
                }
            }
        }
        self.start_member(m);
    }

    /// The member's process serves: raft restarts from its data dir.
    pub(super) fn start_member(&mut self, m: usize) {
        let Slot::Down { durable, .. } = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty)
        else {
            unreachable!("restart of a member that is not down")
        };
        let rng = self.next_raft_rng(m);
        let member = Member::restart(self.nodes[m].cfg.clone(), *durable, rng);
        self.run_member(m, member);
    }

    /// A new incarnation's raft stream (each start draws its own election timeouts).
    pub(super) fn next_raft_rng(&mut self, m: usize) -> Rng {
        self.nodes[m].incarnation += 1;
        raft_rng(self.sc.seed, m, self.nodes[m].incarnation)
    }

    /// Put a started member in its slot and start its loops.
    pub(super) fn run_member(&mut self, m: usize, member: Member) {
        self.nodes[m].meta.started = true;
        self.recovery.restoring_era = None;
        let now = self.q.now();
        self.rec
            .role(now, m, RoleKind::Follower, member.raft().term());
        self.nodes[m].slot = Slot::Running(Box::new(member));
        self.nodes[m].up_since = Some(now);
        self.nodes[m].epoch += 1;
        let epoch = self.nodes[m].epoch;
        self.q.schedule_in(
            self.sc.cluster.heartbeat_interval_ns(),
            Ev::node(m, epoch, NodeEv::Tick),
        );
        self.q.schedule_in(
            BACKEND_BATCH_INTERVAL_NS,
            Ev::node(m, epoch, NodeEv::BackendTick),
        );
        self.q
            .schedule_in(kube::LEASE_TICK_NS, Ev::node(m, epoch, NodeEv::LeaseTick));
        self.rec.fault_window_end(now, m);
        self.hand_operator(super::OperatorInput::MemberStarted(m));
    }
}

pub(super) fn raft_rng(seed: u64, m: usize, incarnation: u32) -> Rng {
    stream(seed, &format!("raft/m{}/{incarnation}", m + 1))
}
