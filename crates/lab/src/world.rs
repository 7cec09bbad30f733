//! The simulated world: members on a simulated clock, network and disks, driven by one event
//! queue. It routes each member's outputs (messages to the network, WAL saves to the member's
//! disk, replies to clients), applies the scenario's faults, and records what happened.

use crate::invariants::{EntryId, Invariants, Violation};
use crate::metrics::{self, PromHistogram, Series, FSYNC_BUCKETS_S};
use crate::recorder::{LeaderState, Recorder};
use etcdlab_member::{AlarmKind, Member, MemberConfig, Msg, Op, Output, Request};
use etcdlab_raft::{EntryData, Role};
use etcdlab_report::RoleKind;
use etcdlab_scenario::{Action, MemberRef, Scenario, Target};
use etcdlab_sim::array::{Array, ArrayParams};
use etcdlab_sim::disk::{Disk, DiskParams};
use etcdlab_sim::net::{Delivery, LinkParams, Net};
use etcdlab_sim::rng::{below, unit_f64};
use etcdlab_sim::{ms_to_ns, stream, EventQueue, Nanos, Rng, TraceHash, NANOS_PER_S};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

mod client;
mod event;
mod kube;
mod node;
mod recovery;
mod storage;
mod watch;
pub(crate) use client::Client;
pub(crate) use event::{Ev, MemberInput, NodeEv};
pub(crate) use node::{Node, Slot};
pub(crate) use storage::{StepLog, StorageRecord};
pub(crate) use watch::{Relist, WatchState, ERR_WATCH_COMPACTED};

/// Error text when a client's connection to a member is cut by its crash.
pub const ERR_CONNECTION_LOST: &str = "rpc error: code = Unavailable desc = transport is closing";
/// Error text when no member accepts connections.
pub const ERR_CONNECTION_REFUSED: &str = "connection refused";

/// Peer RTT probes run every 30 s in etcd.
const RTT_PROBE_INTERVAL_NS: Nanos = 30 * NANOS_PER_S;
/// etcd's backend batch interval.
const BACKEND_BATCH_INTERVAL_NS: Nanos = etcdlab_store::backend::BATCH_INTERVAL_NS;
const COMPACTION_SLEEP_NS: Nanos = etcdlab_store::mvcc::COMPACTION_SLEEP_NS;
/// How many trailing entries of each pair of logs the log-matching check compares per scrape.
const LOG_MATCHING_WINDOW: u64 = 64;

/// A client write in flight.
struct ClientWrite {
    sent_ns: Nanos,
}

/// What a timed fault has to undo when its window ends.
enum Undo {
    /// Space was freed on the member's volume: restart it if it died of ENOSPC.
    DiskFreed(usize),
    Resume(usize),
    Restart(usize),
    Unblock(Vec<(usize, usize)>),
    LinkFault(u64),
}

pub struct World<'s> {
    sc: &'s Scenario,
    q: EventQueue<Ev>,
    trace: TraceHash,
    net: Net,
    /// One per member slot (initial members first, then those `member add` brings in).
    pub(crate) nodes: Vec<Node>,
    /// Storage arrays that volumes share with neighbour VMs (none with dedicated disks).
    arrays: Vec<Array>,
    workload_rng: Rng,
    faults_rng: Rng,
    next_request_id: u64,
    round_robin: usize,
    writes: BTreeMap<u64, ClientWrite>,
    undo: BTreeMap<u64, Undo>,
    next_token: u64,
    out: Vec<Output>,
    pub(crate) invariants: Invariants,
    pub(crate) rec: Recorder,
    pub(crate) series: Series,
    /// Request deadlines in arrival order: (deadline, member, request id, epoch). The timeout
    /// is the same for every request, so this stays sorted, and one queued event (for the
    /// front) replaces one per request, keeping the event heap small.
    timeouts: VecDeque<(Nanos, usize, u64, u64)>,
    timeouts_scheduled: bool,
    /// The first broken invariant stops the run.
    violation: Option<Violation>,
    inject: Option<Injection>,
    pub(crate) storage: storage::StorageRecord,
    pub(crate) operator: storage::Operator,
    pub(crate) kube: Option<kube::KubeState>,
    /// (time, revision) samples of the periodic auto-compactor.
    auto_compactor: kube::AutoCompactor,
    pub(crate) watches: Vec<watch::WatchState>,
    pub(crate) relists: Vec<Relist>,
    /// Reads in flight: id -> sent at.
    reads: BTreeMap<u64, Nanos>,
    reads_rng: Rng,
    pub(crate) recovery: recovery::RecoveryState,
}

/// A deliberate bug, to prove that the invariant checks catch what they claim to catch (tests
/// and `ETCDLAB_INJECT_VIOLATION`). Never set in a normal run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injection {
    /// The second member to apply index 100 reports a different entry there.
    ChangeCommittedEntry,
    /// When the second leader of the run is elected, another member also claims that term.
    SecondLeaderInTerm,
    /// A member reports applying index 100 twice.
    AppliedIndexBack,
}

impl Injection {
    pub fn parse(name: &str) -> Option<Injection> {
        match name {
            "change-committed-entry" => Some(Injection::ChangeCommittedEntry),
            "second-leader-in-term" => Some(Injection::SecondLeaderInTerm),
            "applied-index-back" => Some(Injection::AppliedIndexBack),
            _ => None,
        }
    }
}

const INJECT_AT_INDEX: u64 = 100;

impl<'s> World<'s> {
    pub fn new(sc: &'s Scenario) -> World<'s> {
        // Slots for the initial members, then for the members `member add` brings in.
        let n = sc.member_slots();
        let size = sc.cluster.size;
        let seed = sc.seed;
        let (disks, arrays) = build_disks(sc);
        let metas = recovery::member_metas(n, size, &sc.cluster.initial_cluster_token);
        let mut invariants = Invariants::new(n);
        for (m, meta) in metas.iter().enumerate() {
            invariants.set_cluster(m, meta.cluster_id);
        }
        let nodes = disks
            .into_iter()
            .zip(metas)
            .enumerate()
            .map(|(index, (disk, meta))| {
                let cfg = member_config(sc, index);
                let slot = if index < size {
                    Slot::Running(Box::new(Member::new(cfg.clone(), raft_rng(seed, index, 0))))
                } else {
                    Slot::NoData
                };
                Node::new(slot, cfg, disk, meta, n)
            })
            .collect();
        World {
            sc,
            q: EventQueue::new(),
            trace: TraceHash::default(),
            net: build_net(sc),
            nodes,
            arrays,
            workload_rng: stream(seed, "workload"),
            faults_rng: stream(seed, "faults"),
            next_request_id: 1,
            round_robin: 0,
            writes: BTreeMap::new(),
            undo: BTreeMap::new(),
            next_token: 1,
            out: Vec::new(),
            invariants,
            rec: Recorder::new(sc),
            series: Series::new(),
            violation: None,
            timeouts: VecDeque::new(),
            timeouts_scheduled: false,
            inject: None,
            storage: storage::StorageRecord::new(sc.cluster.quota_backend_bytes),
            operator: storage::Operator::default(),
            kube: kube::KubeState::new(sc),
            auto_compactor: kube::AutoCompactor::default(),
            watches: sc
                .watches
                .iter()
                .map(watch::WatchState::new)
                .chain(sc.kube.iter().flat_map(|k| {
                    (0..size).map(move |m| watch::WatchState::apiserver(m, k.start_ns))
                }))
                .collect(),
            relists: Vec::new(),
            reads: BTreeMap::new(),
            reads_rng: stream(seed, "reads"),
            recovery: recovery::RecoveryState::default(),
        }
    }

    pub fn inject(&mut self, injection: Injection) {
        self.inject = Some(injection);
    }

    /// Run to the scenario's end. Returns the first invariant violation, if any.
    pub fn run(&mut self) -> Result<(), Violation> {
        let start = self.fast_forward();
        self.q.advance_to(start);
        self.schedule_start(start);
        let end = self.sc.duration_ns;
        while let Some((at, ev)) = self.q.pop_until(end) {
            let (code, who) = ev.trace_words();
            self.trace.fold(at);
            self.trace.fold(code);
            self.trace.fold(who);
            self.handle(ev);
            if let Some(v) = self.violation.take() {
                return Err(v);
            }
        }
        self.q.advance_to(end);
        // A last scrape at the end, unless the periodic one just ran at this very instant
        // (promtool keeps one sample per series and timestamp).
        if !end.is_multiple_of(self.sc.metrics.scrape_interval_ns) {
            self.scrape();
        }
        self.rec.finish(end);
        Ok(())
    }

    pub fn events(&self) -> u64 {
        self.q.processed()
    }

    pub fn trace_hex(&self) -> String {
        self.trace.hex()
    }

    /// Schedule the members, workloads, timeline and periodic work from `start` (0, or where a
    /// fast-forward ended).
    fn schedule_start(&mut self, start: Nanos) {
        let hb = self.sc.cluster.heartbeat_interval_ms * 1_000_000;
        let mut phase_rng = stream(self.sc.seed, "ticker-phase");
        for m in 0..self.nodes.len() {
            if !self.nodes[m].slot.is_running() {
                continue; // a slot for a member added later
            }
            // Members start their tickers at unrelated instants, as separate processes do.
            let phase = start + below(&mut phase_rng, hb);
            self.q.schedule_at(phase, Ev::node(m, 0, NodeEv::Tick));
            self.q.schedule_at(
                phase + BACKEND_BATCH_INTERVAL_NS,
                Ev::node(m, 0, NodeEv::BackendTick),
            );
            self.q.schedule_at(
                phase + kube::LEASE_TICK_NS,
                Ev::node(m, 0, NodeEv::LeaseTick),
            );
            self.rec.role(start, m, RoleKind::Follower, 0);
        }
        if self.sc.workload.writes_per_s > 0.0 {
            let at = self.sc.workload.start_ns.max(start);
            self.q.schedule_at(at, Ev::NextWrite);
        }
        if self.sc.workload.reads_per_s > 0.0 {
            let at = self.sc.workload.start_ns.max(start);
            self.q.schedule_at(at, Ev::NextRead);
        }
        self.schedule_kube(start);
        self.schedule_auto_compaction(start);
        self.schedule_watches(start);
        if let Some(every) = self.sc.cluster.corrupt_check_time_ns {
            self.q.schedule_at(start + every, Ev::CorruptCheck);
        }
        for (index, t) in self.sc.timeline.iter().enumerate() {
            let count = t.repeat.as_ref().map_or(1, |r| r.count);
            let every = t.repeat.as_ref().map_or(0, |r| r.every_ns);
            for occurrence in 0..count {
                let at = t.at_ns + every * u64::from(occurrence);
                self.q.schedule_at(at, Ev::Action { index, occurrence });
            }
        }
        // The first scrape on the scrape grid after the start.
        let every = self.sc.metrics.scrape_interval_ns;
        self.q.schedule_at((start / every + 1) * every, Ev::Scrape);
        self.q
            .schedule_at(start + RTT_PROBE_INTERVAL_NS, Ev::RttProbe);
    }

    // ------------------------------------------------------------------ dispatch

    fn handle(&mut self, ev: Ev) {
        match ev {
            Ev::Node { m, epoch, ev } => {
                if self.nodes[m].is_current(epoch) {
                    self.on_node_event(m, epoch, ev);
                }
            }
            Ev::Deliver { to, msg } => self.member_input(to, MemberInput::Message(msg)),
            Ev::NextWrite => self.on_next_write(),
            Ev::WriteArrives { m, req, epoch } => self.on_write_arrives(m, req, epoch),
            Ev::Action { index, .. } => self.on_action(index),
            Ev::ActionEnd { token } => self.on_action_end(token),
            Ev::TimeoutsDue => self.on_timeouts_due(),
            Ev::Scrape => {
                self.scrape();
                self.q
                    .schedule_in(self.sc.metrics.scrape_interval_ns, Ev::Scrape);
            }
            Ev::RttProbe => {
                self.probe_rtt();
                self.q.schedule_in(RTT_PROBE_INTERVAL_NS, Ev::RttProbe);
            }
            Ev::DefragDone { m, epoch } => self.on_defrag_done(m, epoch),
            Ev::OperatorReply { id, error } => self.on_operator_reply(id, error),
            Ev::OperatorWake => self.on_operator_wake(),
            Ev::KubeNext => self.on_kube_next(),
            Ev::ApiserverCompactor => self.on_apiserver_compactor(),
            Ev::AutoCompaction => self.on_auto_compaction(),
            Ev::WatchSync => self.on_watch_sync(),
            Ev::NextRead => self.on_next_read(),
            Ev::ReadArrives { m, id, epoch } => {
                if self.connection_lost(m, epoch) {
                    let now = self.q.now();
                    self.reply(Client::Reads, id, Some(ERR_CONNECTION_LOST), now);
                } else {
                    self.member_input(m, MemberInput::ClientRead { id });
                }
            }
            Ev::DeliverSnapshot(d) => self.on_deliver_snapshot(*d),
            Ev::CorruptCheck => self.on_corrupt_check(),
        }
    }

    /// An event of the current incarnation of member `m`.
    fn on_node_event(&mut self, m: usize, epoch: u64, ev: NodeEv) {
        match ev {
            NodeEv::Tick => self.on_tick(m, epoch),
            NodeEv::SaveDone => self.member_input(m, MemberInput::SaveDone),
            NodeEv::RestartDone => self.on_restart_done(m),
            NodeEv::BackendTick => self.on_backend_tick(m, epoch),
            NodeEv::CompactionStep => self.on_compaction_step(m, epoch),
            NodeEv::LeaseTick => self.on_lease_tick(m, epoch),
            NodeEv::SnapshotReport { to, ok } => {
                self.member_input(m, MemberInput::SnapshotReport { to, ok })
            }
            NodeEv::StartChecked => self.start_member(m),
        }
    }

    /// Hand a member process an input: run it, park it while paused, drop it while down.
    fn member_input(&mut self, m: usize, input: MemberInput) {
        match &mut self.nodes[m].slot {
            Slot::Running(_) => self.run_member_input(m, input),
            Slot::Paused(_, parked) => parked.push(input),
            Slot::Down { .. } | Slot::Empty | Slot::NoData => {}
        }
    }

    fn run_member_input(&mut self, m: usize, input: MemberInput) {
        let now = self.q.now();
        // The server's timeout runs from when the process takes the request (a paused one
        // takes it on SIGCONT).
        match &input {
            MemberInput::ClientWrite(req) => self.arm_request_timeout(m, req.id, now),
            MemberInput::ClientRead { id } => self.arm_request_timeout(m, *id, now),
            _ => {}
        }
        let mut out = std::mem::take(&mut self.out);
        let linearizable = self.sc.workload.read_linearizable;
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
            MemberInput::ClientRead { id } => {
                member.on_client_read(now, id, Client::Reads.id(), linearizable, &mut out)
            }
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
    fn arm_request_timeout(&mut self, m: usize, id: u64, now: Nanos) {
        let deadline = now.saturating_add(self.sc.workload.request_timeout_ns);
        self.timeouts
            .push_back((deadline, m, id, self.nodes[m].epoch));
        if !self.timeouts_scheduled {
            self.timeouts_scheduled = true;
            self.q.schedule_at(deadline, Ev::TimeoutsDue);
        }
    }

    /// Deliver every request timeout that is due, then wait for the next one.
    fn on_timeouts_due(&mut self) {
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

    fn on_tick(&mut self, m: usize, epoch: u64) {
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

    // ------------------------------------------------------------------ outputs

    fn route(&mut self, m: usize, out: &mut Vec<Output>) {
        let now = self.q.now();
        for o in out.drain(..) {
            if !matches!(self.nodes[m].slot, Slot::Running(_) | Slot::Paused(..)) {
                continue; // the process died of a failed write: the rest never happens
            }
            if self.write_fails(m, &o) {
                continue;
            }
            match o {
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
                } => self.on_applied(m, index, (term, request_id)),
                Output::Reply {
                    request_id,
                    client,
                    error,
                } => {
                    // The clients react to nothing sooner than its arrival, which therefore
                    // needs no event: the reply is handed over with the time it arrives.
                    let arrives_at = now.saturating_add(self.client_delay());
                    self.reply(Client::from_id(client), request_id, error, arrives_at);
                }
                Output::RoleChanged { role, term, .. } => self.on_role(m, role, term),
                Output::LeaderChangeSeen { .. } => {}
                Output::HeartbeatLate { to, exceeded_ns } => {
                    self.rec.heartbeat_late(now, m, to, exceeded_ns)
                }
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
                Output::SnapshotTaken { .. } => self.recovery.snapshots_taken += 1,
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
    fn write_fails(&mut self, m: usize, o: &Output) -> bool {
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

    fn on_applied(&mut self, m: usize, index: u64, mut entry: EntryId) {
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
        if injecting && self.inject == Some(Injection::AppliedIndexBack) {
            let r = self.invariants.on_applied(now, m, index, entry);
            self.note(r);
        }
    }

    fn send(&mut self, from: usize, msg: Msg) {
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

    fn on_role(&mut self, m: usize, role: Role, term: u64) {
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
    fn note_campaign(&mut self, m: usize) {
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

    fn note(&mut self, r: Result<(), Violation>) {
        if let Err(v) = r {
            self.violation.get_or_insert(v);
        }
    }

    // ------------------------------------------------------------------ clients

    fn client_delay(&mut self) -> Nanos {
        ms_to_ns(
            self.sc
                .network
                .client_latency_ms
                .sample(&mut self.workload_rng),
        )
    }

    fn on_next_write(&mut self) {
        if self
            .sc
            .workload
            .stop_ns
            .is_some_and(|stop| self.q.now() >= stop)
        {
            return;
        }
        let gap_ns = poisson_gap_ns(&mut self.workload_rng, self.sc.workload.writes_per_s);
        self.q.schedule_in(gap_ns, Ev::NextWrite);
        let id = self.next_request_id;
        self.next_request_id += 1;
        let key = below(&mut self.workload_rng, self.sc.workload.key_count);
        let size = self
            .sc
            .workload
            .value_size_bytes
            .sample(&mut self.workload_rng);
        let op = Op::Put {
            key: lab_key(key),
            value: etcdlab_store::Value::new(size.round() as u32, id),
            lease: 0,
        };
        let req = Rc::new(Request::from_client(id, Client::Writes.id(), op));
        self.send_client_request(req);
    }

    /// A request of the cluster's own machinery (compactors): sent to the leader (else any
    /// running member) and not counted as a client write.
    fn send_internal_request(&mut self, req: Rc<Request>) {
        let Some(m) = self.leader_or_first_running() else {
            return;
        };
        let epoch = self.nodes[m].epoch;
        self.q.schedule_in(0, Ev::WriteArrives { m, req, epoch });
    }

    /// Send a client request (the plain workload's, Kubernetes') to a member, as a write whose
    /// latency and outcome the run records.
    fn send_client_request(&mut self, req: Rc<Request>) {
        let now = self.q.now();
        let id = req.id;
        self.writes.insert(id, ClientWrite { sent_ns: now });
        let Some(m) = self.pick_target() else {
            self.reply(Client::of(&req), id, Some(ERR_CONNECTION_REFUSED), now);
            return;
        };
        let delay = self.client_delay();
        let epoch = self.nodes[m].epoch;
        self.q
            .schedule_in(delay, Ev::WriteArrives { m, req, epoch });
    }

    /// The member a client sends to. Crashed members refuse connections, so the client moves
    /// on to the next endpoint, as etcd's client balancer does.
    fn pick_target(&mut self) -> Option<usize> {
        let n = self.nodes.len();
        let up = |w: &Self, m: usize| !matches!(w.nodes[m].slot, Slot::Down { .. } | Slot::NoData);
        let preferred = match &self.sc.workload.target {
            Target::Member(m) => Some(*m),
            Target::Leader => self.rec.cluster_leader(),
            Target::RoundRobin => None,
        };
        if let Some(m) = preferred.filter(|m| up(self, *m)) {
            return Some(m);
        }
        for _ in 0..n {
            let m = self.round_robin % n;
            self.round_robin += 1;
            if up(self, m) {
                return Some(m);
            }
        }
        None
    }

    fn on_write_arrives(&mut self, m: usize, req: Rc<Request>, epoch: u64) {
        if self.connection_lost(m, epoch) {
            let now = self.q.now();
            self.reply(Client::of(&req), req.id, Some(ERR_CONNECTION_LOST), now);
        } else {
            self.member_input(m, MemberInput::ClientWrite(req));
        }
    }

    /// A request sent to incarnation `epoch` of member `m` finds it gone.
    fn connection_lost(&self, m: usize, epoch: u64) -> bool {
        self.nodes[m].epoch != epoch
            || matches!(
                self.nodes[m].slot,
                Slot::Down { .. } | Slot::Empty | Slot::NoData
            )
    }

    /// The running member a client or operator talking to "the cluster" reaches: the leader,
    /// else the first member that runs.
    pub(super) fn leader_or_first_running(&self) -> Option<usize> {
        let running = |m: &usize| self.nodes[*m].slot.is_running();
        self.rec
            .cluster_leader()
            .filter(running)
            .or_else(|| (0..self.nodes.len()).find(running))
    }

    /// A Poisson read from the plain workload's client (its own random stream, so adding reads
    /// leaves the writes' draws alone).
    fn on_next_read(&mut self) {
        let now = self.q.now();
        if self.sc.workload.stop_ns.is_some_and(|stop| now >= stop) {
            return;
        }
        let gap_ns = poisson_gap_ns(&mut self.reads_rng, self.sc.workload.reads_per_s);
        self.q.schedule_in(gap_ns, Ev::NextRead);
        let id = self.next_request_id;
        self.next_request_id += 1;
        self.reads.insert(id, now);
        let Some(m) = self.pick_target() else {
            self.reply(Client::Reads, id, Some(ERR_CONNECTION_REFUSED), now);
            return;
        };
        let delay = self.client_delay();
        let epoch = self.nodes[m].epoch;
        self.q.schedule_in(delay, Ev::ReadArrives { m, id, epoch });
    }

    /// A reply reaches the client that sent request `id` (at `at`, which may be ahead).
    pub(super) fn reply(
        &mut self,
        client: Client,
        id: u64,
        error: Option<&'static str>,
        at: Nanos,
    ) {
        match client {
            Client::Writes => self.write_done(id, error, at),
            Client::Reads => {
                if let Some(sent_ns) = self.reads.remove(&id) {
                    self.rec.read_done(sent_ns, at, error);
                }
            }
            Client::Kube => {
                self.on_kube_reply(id, error);
                self.write_done(id, error, at);
            }
            Client::KubeCompactor => {
                self.on_kube_reply(id, error);
            }
            Client::AutoCompactor => {}
            Client::Operator => self.operator_reply_at(id, error, at),
        }
    }

    /// A client write (the plain workload's, Kubernetes') is answered: its latency and outcome
    /// are recorded.
    fn write_done(&mut self, id: u64, error: Option<&'static str>, at: Nanos) {
        if let Some(w) = self.writes.remove(&id) {
            self.rec.write_done(w.sent_ns, at, error);
            if error.is_none() {
                self.note_write_ok(at);
            }
        }
    }

    // ------------------------------------------------------------------ faults

    fn on_action(&mut self, index: usize) {
        let action = self.sc.timeline[index].action.clone();
        self.rec.actions += 1;
        let now = self.q.now();
        match action {
            Action::Pause {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "pause") else {
                    return;
                };
                if !self.nodes[m].slot.is_running() {
                    self.no_effect(&member, m, "pause", "not running");
                    return;
                }
                self.rec
                    .fault_on(now, m, format!("pause {}", self.describe(&member, m)));
                self.pause(m);
                self.after(duration_ns, Undo::Resume(m));
            }
            Action::Resume { member } => {
                let Some(m) = self.resolve(&member, "resume") else {
                    return;
                };
                if !matches!(self.nodes[m].slot, Slot::Paused(..)) {
                    self.no_effect(&member, m, "resume", "not paused");
                    return;
                }
                self.rec
                    .timeline(now, format!("resume {}", self.describe(&member, m)));
                self.resume(m);
            }
            Action::Crash {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "crash") else {
                    return;
                };
                if matches!(self.nodes[m].slot, Slot::Down { .. }) {
                    self.no_effect(&member, m, "crash", "already down");
                    return;
                }
                self.rec
                    .fault_on(now, m, format!("crash {}", self.describe(&member, m)));
                self.crash(m);
                self.after(duration_ns, Undo::Restart(m));
            }
            Action::Restart { member } => {
                let Some(m) = self.resolve(&member, "restart") else {
                    return;
                };
                if !matches!(
                    self.nodes[m].slot,
                    Slot::Down {
                        restarting: false,
                        ..
                    }
                ) {
                    self.no_effect(
                        &member,
                        m,
                        "restart",
                        "not down (running or already restarting)",
                    );
                    return;
                }
                self.rec
                    .timeline(now, format!("restart {}", self.describe(&member, m)));
                self.start_restart(m);
            }
            Action::Isolate {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "isolate") else {
                    return;
                };
                self.rec
                    .fault_on(now, m, format!("isolate {}", self.describe(&member, m)));
                let n = self.nodes.len();
                let links: Vec<_> = (0..n)
                    .filter(|o| *o != m)
                    .flat_map(|o| [(m, o), (o, m)])
                    .collect();
                self.cut(links, duration_ns);
            }
            Action::Partition {
                groups,
                duration_ns,
            } => {
                let mut links = Vec::new();
                for (gi, a) in groups.iter().enumerate() {
                    for b in groups.iter().skip(gi + 1) {
                        for &x in a {
                            for &y in b {
                                links.push((x, y));
                                links.push((y, x));
                            }
                        }
                    }
                }
                let text = format!("partition {}", describe_groups(&groups));
                self.partition_fault(now, &links, text);
                self.cut(links, duration_ns);
            }
            Action::PartitionOneWay {
                from,
                to,
                duration_ns,
            } => {
                let links: Vec<_> = from
                    .iter()
                    .flat_map(|&a| to.iter().map(move |&b| (a, b)))
                    .collect();
                let text = format!(
                    "partition one-way {} -> {}",
                    describe_groups(std::slice::from_ref(&from)),
                    describe_groups(std::slice::from_ref(&to))
                );
                self.partition_fault(now, &links, text);
                self.cut(links, duration_ns);
            }
            Action::Heal => {
                self.rec.timeline(now, "heal all partitions".into());
                self.net.heal_all();
            }
            Action::LinkFault {
                from,
                to,
                symmetric,
                one_way_latency_ms,
                loss,
                duration_ns,
            } => {
                let token = self.token();
                for &a in &from {
                    for &b in &to {
                        if a == b {
                            continue;
                        }
                        self.net
                            .add_fault(token, a, b, one_way_latency_ms.clone(), loss);
                        if symmetric {
                            self.net
                                .add_fault(token, b, a, one_way_latency_ms.clone(), loss);
                        }
                    }
                }
                self.rec
                    .timeline(now, format!("link fault {}", describe_groups(&[from, to])));
                if let Some(d) = duration_ns {
                    self.undo.insert(token, Undo::LinkFault(token));
                    self.q.schedule_in(d, Ev::ActionEnd { token });
                }
            }
            Action::DiskStall {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_stall") else {
                    return;
                };
                let text = format!(
                    "disk stall {} for {}",
                    self.describe(&member, m),
                    etcdlab_scenario::format_duration(duration_ns)
                );
                self.rec.fault_on(now, m, text);
                self.nodes[m].disk.stall(now, duration_ns);
                self.rec.fault_window_end(now + duration_ns, m);
            }
            Action::DiskSlow {
                member,
                factor,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_slow") else {
                    return;
                };
                let text = format!("disk slow x{factor} {}", self.describe(&member, m));
                self.rec.fault_on(now, m, text);
                self.nodes[m].disk.slow_down(now, duration_ns, factor);
            }
            Action::Operator { text, command } => self.run_operator_command(text, command),
            Action::CorruptBackend { member } => {
                let Some(m) = self.resolve(&member, "corrupt_backend") else {
                    return;
                };
                let text = format!("bbolt file of {} corrupted", self.describe(&member, m));
                self.rec.fault_on(now, m, text);
                self.corrupt_backend(m);
            }
            Action::WalTailLost { member, entries } => {
                let Some(m) = self.resolve(&member, "wal_tail_lost") else {
                    return;
                };
                if self.wal_tail_lost(m, entries) {
                    let text = format!(
                        "WAL of {} lost its last {entries} records",
                        self.describe(&member, m)
                    );
                    self.rec.fault_on(now, m, text);
                } else {
                    self.no_effect(
                        &member,
                        m,
                        "wal_tail_lost",
                        "running (only a stopped member's WAL can lose its tail)",
                    );
                }
            }
            Action::DiskFull {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_full") else {
                    return;
                };
                let text = format!("data volume of {} full (ENOSPC)", self.describe(&member, m));
                self.rec.fault_on(now, m, text);
                self.nodes[m].disk_full_until =
                    Some(duration_ns.map_or(Nanos::MAX, |d| now.saturating_add(d)));
                self.after(duration_ns, Undo::DiskFreed(m));
            }
        }
    }

    /// An action that changes nothing (its target is not in the state it acts on): say so.
    fn no_effect(&mut self, r: &MemberRef, m: usize, what: &str, why: &str) {
        let now = self.q.now();
        let text = format!("{what} {}: {why}, no effect", self.describe(r, m));
        self.rec.timeline(now, text);
        self.rec.skipped_actions += 1;
    }

    fn partition_fault(&mut self, now: Nanos, links: &[(usize, usize)], text: String) {
        // A partition that cuts the leader off is a fault on the leader (for failover times).
        match self.rec.cluster_leader() {
            Some(l) if links.iter().any(|(a, _)| *a == l) => self.rec.fault_on(now, l, text),
            _ => self.rec.timeline(now, text),
        }
    }

    fn cut(&mut self, links: Vec<(usize, usize)>, duration_ns: Option<Nanos>) {
        for &(a, b) in &links {
            self.net.block(a, b, true);
        }
        self.after(duration_ns, Undo::Unblock(links));
    }

    fn after(&mut self, duration_ns: Option<Nanos>, undo: Undo) {
        if let Some(d) = duration_ns {
            let token = self.token();
            self.undo.insert(token, undo);
            self.q.schedule_in(d, Ev::ActionEnd { token });
        }
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    fn on_action_end(&mut self, token: u64) {
        let Some(undo) = self.undo.remove(&token) else {
            return;
        };
        let now = self.q.now();
        match undo {
            Undo::DiskFreed(m) => {
                self.nodes[m].disk_full_until = None;
                self.rec.timeline(now, format!("space freed on m{}", m + 1));
                if matches!(self.nodes[m].slot, Slot::Down { .. }) {
                    self.rec.timeline(now, format!("restart m{}", m + 1));
                    self.start_restart(m);
                }
                self.rec.fault_window_end(now, m);
            }
            Undo::Resume(m) => {
                self.rec.timeline(now, format!("resume m{}", m + 1));
                self.resume(m);
                self.rec.fault_window_end(now, m);
            }
            Undo::Restart(m) => {
                self.rec.timeline(now, format!("restart m{}", m + 1));
                self.start_restart(m);
            }
            Undo::Unblock(links) => {
                self.rec.timeline(now, "partition healed".into());
                for (a, b) in links {
                    self.net.block(a, b, false);
                }
                for m in 0..self.nodes.len() {
                    self.rec.fault_window_end(now, m);
                }
            }
            Undo::LinkFault(id) => {
                self.rec.timeline(now, "link fault over".into());
                self.net.remove_fault(id);
            }
        }
    }

    /// Resolve "leader", "follower" or a member name at the moment the action fires.
    fn resolve(&mut self, r: &MemberRef, what: &str) -> Option<usize> {
        let now = self.q.now();
        match r {
            MemberRef::Member(m) => Some(*m),
            MemberRef::Leader => {
                let l = self.rec.cluster_leader();
                if l.is_none() {
                    self.rec
                        .timeline(now, format!("{what} leader skipped: no leader"));
                    self.rec.skipped_actions += 1;
                }
                l
            }
            MemberRef::Follower => {
                let leader = self.rec.cluster_leader();
                let followers: Vec<usize> = (0..self.nodes.len())
                    .filter(|m| Some(*m) != leader && self.nodes[*m].slot.is_running())
                    .collect();
                if followers.is_empty() {
                    let text = format!("{what} follower skipped: no running follower");
                    self.rec.timeline(now, text);
                    self.rec.skipped_actions += 1;
                    return None;
                }
                let i = below(&mut self.faults_rng, followers.len() as u64) as usize;
                Some(followers[i])
            }
        }
    }

    fn describe(&self, r: &MemberRef, m: usize) -> String {
        match r {
            MemberRef::Member(_) => format!("m{}", m + 1),
            MemberRef::Leader => format!("m{} (leader)", m + 1),
            MemberRef::Follower => format!("m{} (follower)", m + 1),
        }
    }

    /// SIGSTOP a running member (the action checked that it runs).
    fn pause(&mut self, m: usize) {
        let now = self.q.now();
        let Slot::Running(member) = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty) else {
            unreachable!("pause of m{}, which is not running", m + 1)
        };
        self.rec.role(now, m, RoleKind::Down, member.raft().term());
        self.nodes[m].slot = Slot::Paused(member, Vec::new());
    }

    fn resume(&mut self, m: usize) {
        let slot = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty);
        let Slot::Paused(member, parked) = slot else {
            self.nodes[m].slot = slot;
            return;
        };
        let (role, term) = (member.role(), member.raft().term());
        self.nodes[m].slot = Slot::Running(member);
        self.rec.role(self.q.now(), m, role_kind(role), term);
        // SIGCONT: everything that queued up while stopped is handled now, in order.
        for ev in parked {
            if self.nodes[m].slot.is_running() {
                self.run_member_input(m, ev);
            }
        }
    }

    fn crash(&mut self, m: usize) {
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
        self.nodes[m].compacting = false;
        // The clients waiting on it see their connection close.
        for (id, client) in cut {
            self.reply(Client::from_id(client), id, Some(ERR_CONNECTION_LOST), now);
        }
    }

    fn start_restart(&mut self, m: usize) {
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

    fn on_restart_done(&mut self, m: usize) {
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
    fn start_member(&mut self, m: usize) {
        let Slot::Down { durable, .. } = std::mem::replace(&mut self.nodes[m].slot, Slot::Empty)
        else {
            unreachable!("restart of a member that is not down")
        };
        let rng = self.next_raft_rng(m);
        let member = Member::restart(self.nodes[m].cfg.clone(), *durable, rng);
        self.run_member(m, member);
    }

    /// A new incarnation's raft stream (each start draws its own election timeouts).
    fn next_raft_rng(&mut self, m: usize) -> Rng {
        self.nodes[m].incarnation += 1;
        raft_rng(self.sc.seed, m, self.nodes[m].incarnation)
    }

    /// Put a started member in its slot and start its loops.
    fn run_member(&mut self, m: usize, member: Member) {
        self.nodes[m].meta.started = true;
        let now = self.q.now();
        self.rec
            .role(now, m, RoleKind::Follower, member.raft().term());
        self.nodes[m].slot = Slot::Running(Box::new(member));
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
        self.on_member_restarted(m);
    }

    // ------------------------------------------------------------------ metrics

    fn scrape(&mut self) {
        let now = self.q.now();
        for m in 0..self.nodes.len() {
            // A stopped or crashed process answers no scrape.
            let Slot::Running(member) = &self.nodes[m].slot else {
                continue;
            };
            let name = format!("m{}", m + 1);
            let raft = member.raft();
            let s = &mut self.series;
            s.push(
                metrics::HAS_LEADER,
                "",
                &name,
                now,
                f64::from(member.leader() != 0),
            );
            let is_leader = member.role() == Role::Leader;
            s.push(metrics::IS_LEADER, "", &name, now, f64::from(is_leader));
            let changes = member.leader_changes_seen_total as f64;
            s.push(metrics::LEADER_CHANGES, "_total", &name, now, changes);
            s.push(
                metrics::COMMITTED,
                "",
                &name,
                now,
                raft.commit_index() as f64,
            );
            s.push(
                metrics::APPLIED,
                "",
                &name,
                now,
                member.state().applied_index() as f64,
            );
            s.push(
                metrics::PENDING,
                "",
                &name,
                now,
                member.proposals_pending() as f64,
            );
            let failed = member.proposals_failed_total as f64;
            s.push(metrics::FAILED, "_total", &name, now, failed);
            let hb = member.heartbeat_send_failures_total as f64;
            s.push(metrics::HEARTBEAT_FAILURES, "_total", &name, now, hb);
            let labels = vec![("member".to_string(), name.clone())];
            self.nodes[m]
                .fsync_hist
                .samples(&labels, now, &mut s.families[metrics::WAL_FSYNC]);
            for (to, h) in self.nodes[m].rtt_hist.iter().enumerate() {
                if to != m {
                    let labels = vec![
                        ("member".to_string(), name.clone()),
                        ("To".to_string(), format!("m{}", to + 1)),
                    ];
                    h.samples(&labels, now, &mut s.families[metrics::PEER_RTT]);
                }
            }
            self.scrape_storage(m, now);
        }
        self.check_log_matching();
    }

    fn probe_rtt(&mut self) {
        let n = self.nodes.len();
        for a in 0..n {
            for b in 0..n {
                if a != b && !self.net.is_blocked(a, b) && !self.net.is_blocked(b, a) {
                    let rtt = self.net.sample_rtt_ns(a, b);
                    self.nodes[a].rtt_hist[b].observe(rtt as f64 / 1e9);
                }
            }
        }
    }

    fn check_log_matching(&mut self) {
        let now = self.q.now();
        let running: Vec<&Member> = self
            .nodes
            .iter()
            .filter_map(|n| match &n.slot {
                Slot::Running(m) | Slot::Paused(m, _) => Some(m.as_ref()),
                _ => None,
            })
            .collect();
        let cluster = |m: &Member| self.nodes[m.index()].meta.cluster_id;
        for (i, a) in running.iter().enumerate() {
            // Logs of different clusters have nothing in common.
            for b in running
                .iter()
                .skip(i + 1)
                .filter(|b| cluster(b) == cluster(a))
            {
                let last = a.raft().last_index().min(b.raft().last_index());
                let la = |x: u64| entry_id(a, x);
                let lb = |x: u64| entry_id(b, x);
                let r = Invariants::check_log_matching(
                    now,
                    (a.index(), &la),
                    (b.index(), &lb),
                    last,
                    LOG_MATCHING_WINDOW,
                );
                if let Err(v) = r {
                    self.violation.get_or_insert(v);
                }
            }
        }
    }
}

/// The gap to the next arrival of a Poisson stream of `rate` per second (exponential), at
/// least 1 ns so that two arrivals never share an instant.
fn poisson_gap_ns(rng: &mut Rng, rate: f64) -> Nanos {
    let gap_s = -(1.0 - unit_f64(rng)).ln() / rate;
    ((gap_s * 1e9).round() as Nanos).saturating_add(1)
}

/// The plain workload's keys: `/lab/key-0000042` (16 bytes, as the raft entry sizes assume).
fn lab_key(n: u64) -> Rc<[u8]> {
    Rc::from(format!("/lab/key-{n:07}").into_bytes())
}

fn entry_id(m: &Member, index: u64) -> Option<EntryId> {
    m.raft().entry_at(index).map(|e| {
        let id = match &e.data {
            EntryData::Normal(p) => Some(p.0.id),
            EntryData::Empty => None,
        };
        (e.term, id)
    })
}

/// The etcd flags of member slot `index`, from the scenario's `[cluster]`.
fn member_config(sc: &Scenario, index: usize) -> MemberConfig {
    MemberConfig {
        index,
        cluster_size: sc.cluster.size,
        heartbeat_interval_ns: sc.cluster.heartbeat_interval_ms * 1_000_000,
        election_timeout_ns: sc.cluster.election_timeout_ms * 1_000_000,
        pre_vote: sc.cluster.pre_vote,
        quota_backend_bytes: sc.cluster.quota_backend_bytes as i64,
        snapshot_count: sc.cluster.snapshot_count,
        snapshot_catchup_entries: sc.cluster.snapshot_catchup_entries,
    }
}

fn raft_rng(seed: u64, m: usize, incarnation: u32) -> Rng {
    stream(seed, &format!("raft/m{}/{incarnation}", m + 1))
}

pub(crate) fn role_kind(role: Role) -> RoleKind {
    match role {
        Role::Follower => RoleKind::Follower,
        Role::PreCandidate => RoleKind::PreCandidate,
        Role::Candidate => RoleKind::Candidate,
        Role::Leader => RoleKind::Leader,
    }
}

fn describe_groups(groups: &[Vec<usize>]) -> String {
    groups
        .iter()
        .map(|g| {
            let names: Vec<String> = g.iter().map(|m| format!("m{}", m + 1)).collect();
            format!("[{}]", names.join(","))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// One disk per member; a volume on a storage array gets that array (its own, or the one all
/// members share).
fn build_disks(sc: &Scenario) -> (Vec<Disk>, Vec<Array>) {
    let mut arrays: Vec<Array> = Vec::new();
    let mut shared: Option<usize> = None;
    let disks = sc
        .disks
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let params = DiskParams {
                write_latency_ms: d.write_latency_ms.clone(),
                fsync_latency_ms: d.fsync_latency_ms.clone(),
                write_bandwidth_bytes_per_s: d.write_bandwidth_bytes_per_s,
            };
            let disk = Disk::new(params, stream(sc.seed, &format!("disk/m{}", i + 1)));
            let Some(a) = &d.array else { return disk };
            let params = ArrayParams {
                iops: a.iops,
                bandwidth_bytes_per_s: a.bandwidth_bytes_per_s,
                ios_per_fsync: a.ios_per_fsync,
                neighbours: a.neighbours.clone(),
            };
            let index = match (a.shared_by_members, shared) {
                (true, Some(index)) => index,
                _ => {
                    let name = if a.shared_by_members {
                        "array/shared".to_string()
                    } else {
                        format!("array/m{}", i + 1)
                    };
                    arrays.push(Array::new(params, stream(sc.seed, &name)));
                    let index = arrays.len() - 1;
                    if a.shared_by_members {
                        shared = Some(index);
                    }
                    index
                }
            };
            disk.on_array(index)
        })
        .collect();
    (disks, arrays)
}

fn build_net(sc: &Scenario) -> Net {
    let n = sc.member_slots();
    let base = LinkParams {
        one_way_latency_ms: sc.network.one_way_latency_ms.clone(),
        loss: sc.network.loss,
        duplicate: sc.network.duplicate,
        bandwidth_bytes_per_s: sc.network.bandwidth_bytes_per_s,
    };
    let mut net = Net::new(n, base.clone(), stream(sc.seed, "net"));
    for o in &sc.network.links {
        let mut pairs: Vec<(usize, usize)> = Vec::new();
        for &a in &o.from {
            for &b in &o.to {
                if a != b {
                    pairs.push((a, b));
                    if o.symmetric {
                        pairs.push((b, a));
                    }
                }
            }
        }
        for (a, b) in pairs {
            let mut p = net.link_params(a, b).clone();
            if let Some(l) = &o.one_way_latency_ms {
                p.one_way_latency_ms = l.clone();
            }
            if let Some(loss) = o.loss {
                p.loss = loss;
            }
            if let Some(bw) = o.bandwidth_bytes_per_s {
                p.bandwidth_bytes_per_s = bw;
            }
            net.set_link(a, b, p);
        }
    }
    net
}

/// Small helpers on the scenario's cluster settings.
pub(crate) trait ClusterExt {
    fn heartbeat_interval_ns(&self) -> Nanos;
}

impl ClusterExt for etcdlab_scenario::Cluster {
    fn heartbeat_interval_ns(&self) -> Nanos {
        self.heartbeat_interval_ms * 1_000_000
    }
}
