//! The world as the operator's terminal sees it: `impl Terminal for World`, the hand-over of
//! inputs to the operator actor, and what the world itself does for its commands (defrags,
//! `endpoint status`, restarts with a new quota).

use super::operator::{Operator, OperatorInput, Started, StepLog, Terminal};
use super::*;
use etcdlab_kube::ApiServer;
use etcdlab_report::etcdctl;
use etcdlab_scenario::{client_endpoint, OperatorCommand};

/// The operator actor, its connection and what reached it while it was busy.
pub(crate) struct OperatorPort {
    /// None while it handles an input (it is taken out of the world).
    actor: Option<Operator>,
    /// Its requests without a reply yet: a second reply to one (a timeout, then the cut
    /// connection) is not handed over.
    in_flight: BTreeSet<u64>,
    /// Inputs that arrived while it was handling one (a command that starts a member hears of
    /// the start): handed over in order once it is done.
    deferred: VecDeque<OperatorInput>,
}

impl OperatorPort {
    pub fn new(sc: &Scenario) -> OperatorPort {
        OperatorPort {
            actor: Some(Operator::new(sc.runbook.clone())),
            in_flight: BTreeSet::new(),
            deferred: VecDeque::new(),
        }
    }
}

impl World<'_> {
    /// Hand the operator `input`; it acts on the world through `Terminal`.
    pub(super) fn hand_operator(&mut self, input: OperatorInput) {
        let Some(mut actor) = self.operator.actor.take() else {
            self.operator.deferred.push_back(input);
            return;
        };
        actor.on_input(self, input);
        while let Some(input) = self.operator.deferred.pop_front() {
            actor.on_input(self, input);
        }
        self.operator.actor = Some(actor);
    }

    /// A reply to one of the operator's requests reaches the terminal at `at`.
    pub(super) fn operator_reply_at(&mut self, id: u64, error: Option<&'static str>, at: Nanos) {
        if self.operator.in_flight.contains(&id) {
            self.q.schedule_at(at, Ev::OperatorReply { id, error });
        }
    }

    pub(super) fn on_operator_reply(&mut self, id: u64, error: Option<&'static str>) {
        if self.operator.in_flight.remove(&id) {
            self.hand_operator(OperatorInput::Reply { id, error });
        }
    }

    /// A defrag's copy is done: the member swaps in the new file, and the operator hears.
    pub(super) fn on_defrag_done(&mut self, m: usize, epoch: u64) {
        let now = self.q.now();
        if self.nodes[m].epoch == epoch && matches!(self.nodes[m].slot, Slot::Paused(..)) {
            // A stopped process's copy does not fail, it stalls: finish once it runs again.
            self.q
                .schedule_in(BACKEND_BATCH_INTERVAL_NS, Ev::DefragDone { m, epoch });
            return;
        }
        let current = self.nodes[m].epoch == epoch;
        let finished = self
            .on_running(m, |member, out| {
                (current && member.is_defragging()).then(|| member.finish_defrag(now, out))
            })
            .flatten()
            .is_some();
        self.hand_operator(OperatorInput::DefragDone { m, finished });
    }

    /// The member a client talking to "the cluster" reaches answers with its state.
    pub(super) fn any_member_state(&self) -> Option<&etcdlab_member::ServerState> {
        match &self.nodes[self.leader_or_first_running()?].slot {
            Slot::Running(member) => Some(member.state()),
            _ => None,
        }
    }

    /// `endpoint status`'s row of a running member `m`.
    fn endpoint_status_row(&self, m: usize, member: &Member) -> etcdctl::EndpointStatusRow {
        let s = member.state();
        etcdctl::EndpointStatusRow {
            endpoint: client_endpoint(m),
            member_id: self.display_member_id(member.member_id()),
            version: ETCD_VERSION.to_string(),
            db_size: s.store.backend().size_bytes(),
            is_leader: member.role() == Role::Leader,
            is_learner: false,
            raft_term: member.raft().term(),
            raft_index: member.raft().commit_index(),
            raft_applied_index: s.applied_index(),
            errors: s
                .active_alarms()
                .iter()
                .map(|(id, a)| etcdctl::alarm_error(self.display_member_id(*id), a.as_str()))
                .collect(),
        }
    }
}

impl Terminal for World<'_> {
    fn now(&self) -> Nanos {
        self.q.now()
    }

    fn round_trip(&mut self) -> Nanos {
        let there = self.client_delay();
        there.saturating_add(self.client_delay())
    }

    fn wake_operator(&mut self, at_ns: Nanos) {
        self.q.schedule_at(at_ns, Ev::OperatorWake);
    }

    fn log(&mut self, text: String) {
        let now = self.q.now();
        self.rec.timeline(now, text);
    }

    fn record_step(&mut self, step: StepLog) {
        self.rec.operator_step(step);
    }

    fn send(&mut self, op: Op) -> u64 {
        let target = self.leader_or_first_running();
        let id = self.next_request_id;
        self.next_request_id += 1;
        self.operator.in_flight.insert(id);
        let req = Rc::new(Request::from_client(id, Client::Operator.id(), op));
        match target {
            Some(m) => {
                let delay = self.client_delay();
                let epoch = self.nodes[m].epoch;
                self.q
                    .schedule_in(delay, Ev::WriteArrives { m, req, epoch });
            }
            None => {
                let error = Some(ERR_CONNECTION_REFUSED);
                self.q.schedule_in(0, Ev::OperatorReply { id, error });
            }
        }
        id
    }

    fn endpoint_status(&self) -> String {
        let mut rows = Vec::new();
        let mut failed = String::new();
        // `--cluster` asks the member list: removed members and empty slots are not listed.
        let members = self.any_member_state().map(|s| s.members());
        for m in 0..self.nodes.len() {
            let listed = match &members {
                Some(ids) => ids.contains(&(m as u64 + 1)),
                None => self.nodes[m].meta.started,
            };
            if !listed {
                continue;
            }
            match &self.nodes[m].slot {
                Slot::Running(member) => rows.push(self.endpoint_status_row(m, member)),
                _ => failed.push_str(&format!(
                    "Failed to get the status of endpoint {} (context deadline exceeded)\n",
                    client_endpoint(m)
                )),
            }
        }
        failed + &etcdctl::endpoint_status_table(&rows)
    }

    fn active_alarms(&self) -> Vec<(u64, u64, AlarmKind)> {
        self.any_member_state()
            .map(|s| s.active_alarms())
            .unwrap_or_default()
            .into_iter()
            .map(|(id, alarm)| (id, self.display_member_id(id), alarm))
            .collect()
    }

    fn current_revision(&self) -> Option<i64> {
        self.any_member_state().map(|s| s.store.current_rev())
    }

    fn compact_revision(&self) -> Option<i64> {
        self.any_member_state().map(|s| s.store.compact_rev())
    }

    fn compaction_pending(&self) -> bool {
        self.nodes.iter().any(|n| match &n.slot {
            Slot::Running(mm) | Slot::Paused(mm, _) => mm.state().store.compaction_pending() > 0,
            _ => false,
        })
    }

    /// The apiserver kubectl reaches: the one on the first running member (a load balancer
    /// in front of the control plane skips the dead).
    fn apiserver(&self) -> &ApiServer {
        let up = (0..self.nodes.len()).find(|m| matches!(self.nodes[*m].slot, Slot::Running(_)));
        match (&self.kube, up) {
            (Some(k), Some(m)) if m < k.apis.len() => &k.apis[m],
            _ => &EMPTY_API,
        }
    }

    fn restart(&mut self, m: usize, quota_backend_bytes: Option<u64>) {
        if let Some(q) = quota_backend_bytes {
            self.nodes[m].cfg.quota_backend_bytes = q as i64;
            let now = self.q.now();
            self.rec.storage.quota.push((now, q));
        }
        self.crash(m);
        self.start_restart(m);
    }

    fn start_defrag(&mut self, m: usize) -> bool {
        let now = self.q.now();
        let bytes = self
            .on_running(m, |member, out| {
                (!member.is_defragging()).then(|| member.start_defrag(out))
            })
            .flatten();
        let Some(bytes) = bytes else {
            return false;
        };
        // Defrag writes the in-use pages into a new file at the disk's bandwidth and syncs it
        // once (not modelled: its writes slowing the WAL's fsyncs meanwhile).
        let took_ns = self.nodes[m].disk.background_write_ns(now, bytes);
        let epoch = self.nodes[m].epoch;
        self.q
            .schedule_at(now.saturating_add(took_ns), Ev::DefragDone { m, epoch });
        self.rec
            .timeline(now, format!("defrag of m{} started", m + 1));
        self.nodes[m].defrag_started_ns = Some(now);
        true
    }

    fn record_defrag_finished(&mut self, m: usize) {
        let now = self.q.now();
        if let Some(started) = self.nodes[m].defrag_started_ns.take() {
            self.nodes[m]
                .defrag_hist
                .observe((now - started) as f64 / 1e9);
        }
        self.rec
            .timeline(now, format!("defrag of m{} finished", m + 1));
    }

    fn host_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
    ) -> Started {
        self.recovery_command(command, output, ok)
    }
}

/// The version `endpoint status` reports (the behaviour modelled is etcd 3.4's).
const ETCD_VERSION: &str = "3.4.23";

/// The apiserver of a run without `[kube]`: nothing cached.
static EMPTY_API: std::sync::LazyLock<ApiServer> = std::sync::LazyLock::new(ApiServer::new);
