//! The simulated world: members on a simulated clock, network and disks, driven by one event
//! queue. It routes each member's outputs (messages to the network, WAL saves to the member's
//! disk, replies to clients), applies the scenario's faults, and records what happened.

use crate::invariants::{EntryId, Injection, Invariants, Violation};
use crate::metrics::{self, PromHistogram, Series, FSYNC_BUCKETS_S};
use crate::recorder::{LeaderState, Recorder};
use etcdlab_member::{AlarmKind, Member, MemberConfig, Msg, Op, Output, Request};
use etcdlab_raft::{EntryData, Role};
use etcdlab_report::RoleKind;
use etcdlab_scenario::{Scenario, Target};
use etcdlab_sim::array::{Array, ArrayParams};
use etcdlab_sim::disk::{Disk, DiskParams};
use etcdlab_sim::net::{Delivery, LinkParams, Net};
use etcdlab_sim::rng::{below, unit_f64};
use etcdlab_sim::{ms_to_ns, stream, EventQueue, Nanos, Rng, TraceHash, NANOS_PER_S};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

mod apiserver_meter;
mod build;
mod client;
mod cluster;
mod corruption;
mod event;
mod faults;
mod kube;
mod kube_client;
mod member_io;
mod node;
mod operator;
mod port;
mod process;
mod reconfig;
mod recovery;
mod restore;
mod scrape;
mod seen;
mod snapshots;
mod storage;
mod terminal;
mod traffic;
mod traffic_client;
mod watch;
mod watch_client;
mod workload;
use build::{build_disks, build_net, member_config, ClusterExt};
pub(crate) use client::Client;
use client::InFlight;
pub(crate) use event::{Ev, MemberInput, NodeEv};
use member_io::role_kind;
pub(crate) use node::{Node, Slot};
use operator::OperatorInput;
pub(crate) use operator::StepLog;
use process::raft_rng;
use scrape::RTT_PROBE_INTERVAL_NS;
pub(crate) use storage::{AlarmLog, StorageRecord};
use watch_client::WatchState;
pub(crate) use watch_client::{Relist, ERR_WATCH_COMPACTED};

/// What a finished run recorded, from which the outcome is built (never from the world).
pub(crate) struct Recording {
    /// Events the queue processed, and the hash of the trace they made.
    pub events: u64,
    pub trace_hash: String,
    /// Where a Kubernetes fast-forward ended (alert rules are evaluated from there).
    pub fast_forward_end_ns: Option<Nanos>,
    pub snapshots: Option<etcdlab_report::SnapshotsReport>,
    /// Each watch client at the end of the run.
    pub watchers: Vec<etcdlab_report::WatcherRow>,
    pub rec: Recorder,
    pub series: Series,
    /// The first raft invariant an injected etcd bug broke (the run went on, so that the
    /// clients' checkers judge it too).
    pub invariant_broken: Option<Violation>,
    /// `[liveness]`: None when the scenario has none; else Ok, or what did not recover.
    pub liveness: Option<Result<(), String>>,
    /// kube-apiserver's request figures and 5-minute bins (`[kube] api_requests`).
    pub apiserver: Option<(
        etcdlab_report::ApiserverRequests,
        Vec<etcdlab_report::ApiLatencyBin>,
    )>,
}

/// Error text when a client's connection to a member is cut by its crash.
pub const ERR_CONNECTION_LOST: &str = etcdlab_report::etcdctl::CONNECTION_LOST;
/// Error text when no member accepts connections.
pub const ERR_CONNECTION_REFUSED: &str = etcdlab_report::etcdctl::NO_CONNECTION;

/// etcd's backend batch interval.
const BACKEND_BATCH_INTERVAL_NS: Nanos = etcdlab_store::backend::BATCH_INTERVAL_NS;
const COMPACTION_SLEEP_NS: Nanos = etcdlab_store::mvcc::COMPACTION_SLEEP_NS;

pub struct World<'s> {
    sc: &'s Scenario,
    q: EventQueue<Ev>,
    trace: TraceHash,
    net: Net,
    /// Since when each link has had no partition (etcd's strict reconfiguration check).
    links: reconfig::PeerLinks,
    /// One per member slot (initial members first, then those `member add` brings in).
    pub(crate) nodes: Vec<Node>,
    /// Storage arrays that volumes share with neighbour VMs (none with dedicated disks).
    arrays: Vec<Array>,
    /// The clients' network delays, and the plain workload's writes (one stream, as always).
    workload_rng: Rng,
    next_request_id: u64,
    round_robin: usize,
    writes: BTreeMap<u64, InFlight>,
    /// The fault timeline (taken out while it runs).
    faults: Option<faults::Faults>,
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
    /// An injected etcd bug (`ETCDLAB_INJECT_BUG`): a broken invariant is kept here and the
    /// run goes on, so that the clients' checkers can be shown to catch the bug as well.
    bug: Option<etcdlab_member::EtcdBug>,
    invariant_broken: Option<Violation>,
    inject: Option<Injection>,
    /// The operator at the terminal (timeline commands and the runbook).
    operator: terminal::OperatorPort,
    pub(crate) kube: Option<kube::KubeState>,
    /// (time, revision) samples of the periodic auto-compactor.
    auto_compactor: kube::AutoCompactor,
    pub(crate) watches: Vec<WatchState>,
    /// Reads in flight: id -> sent at.
    reads: BTreeMap<u64, InFlight>,
    pub(crate) recovery: recovery::RecoveryState,
    /// The plain workload's client: what it sends next, and what it saw of each key.
    workload: workload::PlainWorkload,
    /// The closed-loop clients (`[traffic]`), and their network delays' stream (their own,
    /// so that adding them leaves every other draw where it was).
    traffic: Option<traffic::TrafficClients>,
    traffic_rng: Rng,
    /// `[liveness]`'s verdict, once checked.
    liveness: Option<Result<(), String>>,
}

const INJECT_AT_INDEX: u64 = 100;

impl<'s> World<'s> {
    /// A world for `sc`; `bug`: an etcd bug every member has (tests of the checkers).
    pub fn new(sc: &'s Scenario, bug: Option<etcdlab_member::EtcdBug>) -> World<'s> {
        // Slots for the initial members, then for the members `member add` brings in.
        let n = sc.member_slots();
        let size = sc.cluster.size;
        let seed = sc.seed;
        let (disks, arrays) = build_disks(sc);
        let metas = snapshots::member_metas(n, size, &sc.cluster.initial_cluster_token);
        let mut invariants = Invariants::new(n);
        for (m, meta) in metas.iter().enumerate() {
            invariants.set_cluster(m, meta.cluster_id);
        }
        let nodes = disks
            .into_iter()
            .zip(metas)
            .enumerate()
            .map(|(index, (disk, meta))| {
                let cfg = member_config(sc, index, bug);
                let slot = if index < size {
                    Slot::Running(Box::new(Member::new(cfg.clone(), raft_rng(seed, index, 0))))
                } else {
                    Slot::NoData
                };
                let mut node = Node::new(slot, cfg, disk, meta, n);
                node.up_since = (index < size).then_some(0);
                node
            })
            .collect();
        World {
            sc,
            q: EventQueue::new(),
            trace: TraceHash::default(),
            net: build_net(sc),
            links: reconfig::PeerLinks::new(n),
            nodes,
            arrays,
            workload_rng: stream(seed, "workload"),
            next_request_id: 1,
            round_robin: 0,
            writes: BTreeMap::new(),
            faults: Some(faults::Faults::new(stream(seed, "faults"))),
            out: Vec::new(),
            invariants,
            rec: Recorder::new(sc),
            series: Series::new(),
            violation: None,
            bug,
            invariant_broken: None,
            timeouts: VecDeque::new(),
            timeouts_scheduled: false,
            inject: None,
            operator: terminal::OperatorPort::new(sc),
            kube: kube::KubeState::new(sc),
            auto_compactor: kube::AutoCompactor::default(),
            watches: sc
                .watches
                .iter()
                .map(|w| WatchState::new(w, sc.cluster.watch_progress_notify_interval_ns))
                .chain(
                    sc.kube
                        .iter()
                        .flat_map(|k| (0..size).map(move |m| WatchState::apiserver(m, k.start_ns))),
                )
                .collect(),
            reads: BTreeMap::new(),
            workload: workload::PlainWorkload::new(&sc.workload, seed),
            traffic: (sc.traffic.as_ref()).map(|t| traffic::TrafficClients::new(t, seed, size)),
            traffic_rng: stream(seed, "traffic-network"),
            liveness: None,
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
                if self.bug.is_none() {
                    return Err(v);
                }
                self.invariant_broken.get_or_insert(v);
            }
        }
        self.q.advance_to(end);
        // A last scrape at the end, unless the periodic one just ran at this very instant
        // (promtool keeps one sample per series and timestamp).
        if !end.is_multiple_of(self.sc.metrics.scrape_interval_ns) {
            self.scrape();
        }
        self.rec.finish(end);
        self.finish_api_meter(end);
        self.close_watches();
        self.close_history();
        Ok(())
    }

    /// Hands what the finished run recorded to the outcome; the world's state stays behind.
    pub(crate) fn finish(self) -> Recording {
        let watchers = self.watches.iter().map(WatchState::row).collect();
        Recording {
            events: self.q.processed(),
            trace_hash: self.trace.hex(),
            fast_forward_end_ns: self.kube.as_ref().and_then(|k| k.fast_forward_end_ns),
            snapshots: self.snapshots_report(),
            watchers,
            rec: self.rec,
            series: self.series,
            invariant_broken: self.invariant_broken,
            liveness: self.liveness,
            apiserver: (self.kube.as_ref())
                .and_then(|k| k.control_plane.as_ref()?.api.as_ref())
                .map(|api| api.figures()),
        }
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
        self.schedule_traffic(start);
        if let Some(l) = &self.sc.liveness {
            let at = l.from_ns + l.within_ns;
            self.q.schedule_at(at.max(start), Ev::LivenessCheck);
        }
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
            Ev::OperatorWake => self.hand_operator(OperatorInput::Wake),
            Ev::KubeNext => self.on_kube_wake(kube_client::KubeWake::NextWrite),
            Ev::ApiserverCompactor => self.on_kube_wake(kube_client::KubeWake::Compactor),
            Ev::ApiRead => self.on_kube_wake(kube_client::KubeWake::ApiRead),
            Ev::AutoCompaction => self.on_auto_compaction(),
            Ev::WatchSync => self.on_watch_sync(),
            Ev::NextRead => self.on_next_read(),
            Ev::ReadArrives { m, id, epoch } => self.on_read_arrives(m, id, epoch),
            Ev::TrafficNext { client } => self.on_traffic_next(client),
            Ev::LivenessCheck => self.liveness = Some(self.recovered()),
            Ev::TrafficDeadline { client, id } => self.on_traffic_deadline(client, id),
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

    // ------------------------------------------------------------------ outputs

    fn note(&mut self, r: Result<(), Violation>) {
        if let Err(v) = r {
            self.violation.get_or_insert(v);
        }
    }

    // ------------------------------------------------------------------ clients

    // ------------------------------------------------------------------ faults

    // ------------------------------------------------------------------ metrics
}
