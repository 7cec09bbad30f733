//! Member processes as the world runs them: inputs handed to a running member (parked while it is paused), its outputs routed to the network, its disk, its clients and the checks.

use super::*;

impl World<'_> {
    /// Hand a member process an input: run it, park it while paused, drop it while down.
    pub(super) fn member_input(&mut self, m: usize, input: MemberInput) {
        match &mut self.nodes[m].slot {
            Slot::Running(_) => self.run_member_input(m, input),
            Slot::Paused(_, parked) => parked.push(input),
            Slot::Down { .. } | Slot::Empty | Slot::NoData => {}
        }
    }

    pub(super) fn run_member_input(&mut self, m: usize, input: MemberInput) {
        let now = self.q.now();
        // The server's timeout runs from when the process takes the request (a paused one
        // takes it on SIGCONT).
        match &input {
            MemberInput::ClientWrite(req) => self.arm_request_timeout(m, req.id, now),
            MemberInput::ClientRead { id, .. } => self.arm_request_timeout(m, *id, now),
            _ => {}
        }
        let mut out = std::mem::take(&mut self.out);
        let node = &mut self.nodes[m];
        let Slot::Running(member) = &mut node.slot else {
            unreachable!()
        };
        match input {
            MemberInput::Tick => member.on_tick(now, &mut out),
            MemberInput::Message(msg) => member.on_message(now, *msg, &mut out),
            MemberInput::SaveDone => {
                node.saving = None;
                member.on_save_done(now, &mut out)
            }
            MemberInput::ClientWrite(req) => member.on_client_write(now, req, &mut out),
            MemberInput::RequestTimeout { id } => member.on_request_timeout(id, &mut out),
            MemberInput::ClientRead {
                id,
                client,
                linearizable,
                what,
            } => member.on_client_read(now, id, client, linearizable, what, &mut out),
            MemberInput::SnapshotReport { to, ok } => {
                member.report_snapshot(now, to as u64 + 1, ok, &mut out)
            }
        }
        self.route(m, &mut out);
        out.clear();
        self.out = out;
    }

    /// Call `f` on member `m` if its process runs, and carry out what it output (also when
    /// it does not run: nothing). Returns what `f` returned.
    pub(super) fn on_running<T>(
        &mut self,
        m: usize,
        f: impl FnOnce(&mut Member, &mut Vec<Output>) -> T,
    ) -> Option<T> {
        let mut out = std::mem::take(&mut self.out);
        let r = match &mut self.nodes[m].slot {
            Slot::Running(member) => Some(f(member, &mut out)),
            _ => None,
        };
        self.route(m, &mut out);
        self.out = out;
        r
    }

    /// The server-side request timeout of a request that reached member `m` at `now`.
    pub(super) fn arm_request_timeout(&mut self, m: usize, id: u64, now: Nanos) {
        let deadline = now.saturating_add(self.sc.workload.request_timeout_ns);
        self.timeouts
            .push_back((deadline, m, id, self.nodes[m].epoch));
        if !self.timeouts_scheduled {
            self.timeouts_scheduled = true;
            self.q.schedule_at(deadline, Ev::TimeoutsDue);
        }
    }

    /// Deliver every request timeout that is due, then wait for the next one.
    pub(super) fn on_timeouts_due(&mut self) {
        let now = self.q.now();
        self.timeouts_scheduled = false;
        while let Some(&(deadline, m, id, epoch)) = self.timeouts.front() {
            if deadline > now {
                self.timeouts_scheduled = true;
                self.q.schedule_at(deadline, Ev::TimeoutsDue);
                break;
            }
            self.timeouts.pop_front();
            if self.nodes[m].is_current(epoch) {
                self.member_input(m, MemberInput::RequestTimeout { id });
            }
        }
    }

    pub(super) fn on_tick(&mut self, m: usize, epoch: u64) {
        let hb = self.sc.cluster.heartbeat_interval_ns();
        self.q.schedule_in(hb, Ev::node(m, epoch, NodeEv::Tick));
        match &mut self.nodes[m].slot {
            Slot::Running(_) => self.run_member_input(m, MemberInput::Tick),
            Slot::Paused(_, parked) => {
                // Go's ticker buffers one tick and drops the rest.
                if !parked.iter().any(|e| matches!(e, MemberInput::Tick)) {
                    parked.push(MemberInput::Tick);
                }
            }
            Slot::Down { .. } | Slot::Empty | Slot::NoData => {}
        }
    }

    pub(super) fn route(&mut self, m: usize, out: &mut Vec<Output>) {
        let now = self.q.now();
        for o in out.drain(..) {
            if !matches!(self.nodes[m].slot, Slot::Running(_) | Slot::Paused(..)) {
                continue; // the process died of a failed write: the rest never happens
            }
            if self.write_fails(m, &o) {
                continue;
            }
            match o {
                // Only the timeline arms failpoints, and it knows which.
                Output::FailpointPanic(_) => self.on_failpoint_panic(m),
                Output::Send(msg) => self.send(m, msg),
                Output::Save { bytes } => {
                    let t = self.nodes[m].disk.save(now, bytes, true, &mut self.arrays);
                    if let Some(fsync_ns) = t.fsync_ns {
                        self.nodes[m].fsync_hist.observe(fsync_ns as f64 / 1e9);
                        self.rec.fsync(m, fsync_ns);
                    }
                    let epoch = self.nodes[m].epoch;
                    self.nodes[m].saving = Some((now, t.done_at));
                    self.q
                        .schedule_at(t.done_at, Ev::node(m, epoch, NodeEv::SaveDone));
                }
                Output::Applied {
                    index,
                    term,
                    request_id,
                    revision,
                } => {
                    if let Some(id) = request_id {
                        self.note_applied(id, revision);
                    }
                    self.on_applied(m, index, (term, request_id))
                }
                Output::Reply {
                    request_id,
                    client,
                    result,
                } => {
                    // The clients react to nothing sooner than its arrival, which therefore
                    // needs no event: the reply is handed over with the time it arrives.
                    let client = Client::from_id(client);
                    let arrives_at = now.saturating_add(self.delay_to(client));
                    self.reply(client, request_id, result, arrives_at);
                }
                Output::RoleChanged { role, term, .. } => self.on_role(m, role, term),
                Output::LeaderChangeSeen { .. } => {}
                Output::HeartbeatLate { .. } => self.rec.heartbeat_late(now, m),
                Output::BackendCommit(stats) => self.charge_backend_commit(m, stats),
                Output::AlarmChanged {
                    member_id,
                    alarm,
                    raised,
                } => self.on_alarm_applied(m, member_id, alarm, raised),
                Output::CompactionScheduled => self.schedule_compaction(m),
                Output::SendSnapshot {
                    msg,
                    state,
                    size_bytes,
                } => self.send_snapshot(m, msg, state, size_bytes),
                // Counted, but alone no reason for the report's section: every long run
                // takes some.
                Output::SnapshotTaken { .. } => {
                    self.recovery.snapshots_taken += 1;
                    self.forget_committed_below_snapshots(m);
                }
                Output::SnapshotInstalled {
                    index,
                    applied_index,
                    size_bytes,
                } => self.on_snapshot_installed(m, index, applied_index, size_bytes),
                Output::ConfChanged(cc) => self.on_conf_changed(m, cc),
                Output::Fatal { text } => {
                    self.rec
                        .timeline(now, format!("m{}: panic: {text}; etcd exits", m + 1));
                    self.crash(m);
                }
            }
        }
    }

    /// On a full volume a WAL save or a backend commit fails, and etcd exits on either
    /// (`failed to save Raft hard state and entries`, `failed to commit tx`: both fatal).
    pub(super) fn write_fails(&mut self, m: usize, o: &Output) -> bool {
        let now = self.q.now();
        if self.nodes[m]
            .disk_full_until
            .is_none_or(|until| now >= until)
        {
            return false;
        }
        let what = match o {
            Output::Save { .. } => "failed to save Raft hard state and entries",
            Output::BackendCommit(stats) if stats.fsyncs > 0 => "failed to commit tx",
            _ => return false,
        };
        self.rec.timeline(
            now,
            format!("m{}: {what}: no space left on device; etcd exits", m + 1),
        );
        self.crash(m);
        true
    }

    pub(super) fn on_applied(&mut self, m: usize, index: u64, mut entry: EntryId) {
        let now = self.q.now();
        let injecting = index == INJECT_AT_INDEX && self.inject.is_some();
        if injecting
            && self.inject == Some(Injection::ChangeCommittedEntry)
            && self.invariants.committed_len(m) >= index
        {
            entry.0 += 1;
        }
        let r = self.invariants.on_applied(now, m, index, entry);
        self.note(r);
        self.on_applied_up_to(m, index);
        if injecting && self.inject == Some(Injection::AppliedIndexBack) {
            let r = self.invariants.on_applied(now, m, index, entry);
            self.note(r);
        }
    }

    /// After a raft snapshot: the invariants' copy of the committed log need not hold what
    /// every member's log has compacted away (up to the lowest first index, less one; a
    /// stopped member counts with its saved snapshot, one with none keeps everything).
    fn forget_committed_below_snapshots(&mut self, m: usize) {
        let below = self
            .nodes
            .iter()
            .filter_map(|n| match &n.slot {
                Slot::Running(member) | Slot::Paused(member, _) => {
                    Some(member.raft().first_index().saturating_sub(1))
                }
                Slot::Down { durable, .. } => {
                    Some(durable.snapshot.as_ref().map_or(0, |s| s.index))
                }
                Slot::Empty | Slot::NoData => None,
            })
            .min()
            .unwrap_or(0);
        self.invariants.forget_committed_up_to(m, below);
    }

    pub(super) fn send(&mut self, from: usize, msg: Msg) {
        let to = (msg.to - 1) as usize;
        if to >= self.nodes.len() || self.cluster_mismatch(from, to) {
            return;
        }
        let size = msg.size_bytes();
        match self.net.send(self.q.now(), from, to, size) {
            Delivery::Dropped => {}
            Delivery::At(at) => self.q.schedule_at(
                at,
                Ev::Deliver {
                    to,
                    msg: Box::new(msg),
                },
            ),
            Delivery::Twice(a, b) => {
                self.q.schedule_at(
                    a,
                    Ev::Deliver {
                        to,
                        msg: Box::new(msg.clone()),
                    },
                );
                self.q.schedule_at(
                    b,
                    Ev::Deliver {
                        to,
                        msg: Box::new(msg),
                    },
                );
            }
        }
    }

    pub(super) fn on_role(&mut self, m: usize, role: Role, term: u64) {
        let now = self.q.now();
        self.rec.role(now, m, role_kind(role), term);
        if matches!(role, Role::Candidate | Role::PreCandidate) {
            self.note_campaign(m);
        }
        if role == Role::Leader {
            let r = self.invariants.on_leader(now, m, term);
            self.note(r);
            if self.inject == Some(Injection::SecondLeaderInTerm)
                && self.rec.cluster_leader().is_some()
            {
                let other = (m + 1) % self.nodes.len();
                let r = self.invariants.on_leader(now, other, term);
                self.note(r);
            }
            if let Slot::Running(member) = &self.nodes[m].slot {
                let raft = member.raft();
                let r = self
                    .invariants
                    .check_leader_complete(now, m, |i| raft.term_at(i));
                self.note(r);
            }
            self.rec.leader_elected(now, m, term);
        } else if self.rec.is_cluster_leader(m) {
            self.rec.leader_lost(now);
        }
    }

    /// Record what the cluster's leader was doing when `m` campaigned.
    pub(super) fn note_campaign(&mut self, m: usize) {
        let now = self.q.now();
        let hb_ms = self.sc.cluster.heartbeat_interval_ms as f64;
        let timeout_ms = match &self.nodes[m].slot {
            Slot::Running(member) => member.raft().last_fired_timeout().map(|t| t as f64 * hb_ms),
            _ => None,
        };
        let leader_state = self.rec.cluster_leader().map(|l| LeaderState {
            fsync_started_ns: self.nodes[l].saving.map(|(start, _)| start),
            fsync_ms: self.nodes[l]
                .saving
                .map(|(start, done)| (done - start) as f64 / 1e6),
            down: !self.nodes[l].slot.is_running(),
        });
        self.rec.campaign(now, m, timeout_ms, leader_state);
    }
}

pub(crate) fn role_kind(role: Role) -> RoleKind {
    match role {
        Role::Follower => RoleKind::Follower,
        Role::PreCandidate => RoleKind::PreCandidate,
        Role::Candidate => RoleKind::Candidate,
        Role::Leader => RoleKind::Leader,
    }
}
