//! The world as the operator's terminal sees it: `impl Terminal for World`, the hand-over of
//! inputs to the operator actor, and what the world itself does for its commands (defrags,
//! `endpoint status`, restarts with a new quota).

use super::operator::{
    Operator, OperatorInput, Started, StepLog, Terminal, ETCDCTL_COMMAND_TIMEOUT_NS,
};
use super::*;
use etcdlab_kube::ApiServer;
use etcdlab_report::etcdctl::{self, Etcdctl, EtcdctlVersion};
use etcdlab_scenario::{client_endpoint, client_url, EtcdVersion, OperatorCommand, OutputFormat};
use rand_core::Rng as _;

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
    /// The stream of the random part of each etcdctl process's gRPC target (its own, so the
    /// draws shift no other component's).
    etcdctl_rng: Rng,
}

impl OperatorPort {
    pub fn new(sc: &Scenario) -> OperatorPort {
        OperatorPort {
            actor: Some(Operator::new(sc.runbook.clone())),
            in_flight: BTreeSet::new(),
            deferred: VecDeque::new(),
            etcdctl_rng: stream(sc.seed, "etcdctl-client"),
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

    /// The etcdctl of the scenario's etcd version.
    pub(super) fn etcdctl(&self) -> EtcdctlVersion {
        match self.sc.cluster.etcd_version {
            EtcdVersion::V3_4 => EtcdctlVersion::V3_4,
            EtcdVersion::V3_5 => EtcdctlVersion::V3_5,
        }
    }

    /// The members `endpoint status` and `endpoint hashkv` ask, with the name etcdctl gives
    /// each: the member list's (removed members and empty slots are not listed; started slots
    /// when no member answers). The terminal's endpoints are every member's
    /// `127.0.0.1:<N>2379` in slot order; `--cluster` takes the member list's client URLs,
    /// in its order (member ID order).
    pub(super) fn queried_endpoints(&self, cluster: bool) -> Vec<(usize, String)> {
        let members = self.any_member_state().map(|s| s.members());
        let mut ids: Vec<u64> = (0..self.nodes.len())
            .filter(|&m| match &members {
                Some(ids) => ids.contains(&(m as u64 + 1)),
                None => self.nodes[m].meta.started,
            })
            .map(|m| m as u64 + 1)
            .collect();
        if cluster {
            ids = self.in_member_id_order(ids, self.leader_or_first_running());
        }
        ids.into_iter()
            .map(|id| {
                let m = (id - 1) as usize;
                let name = if cluster {
                    client_url(m)
                } else {
                    client_endpoint(m)
                };
                (m, name)
            })
            .collect()
    }

    /// `endpoint status`'s row of a running member `m`. A member that knows no leader says so
    /// first in its errors, then come the alarms.
    fn endpoint_status_row(&self, endpoint: String, member: &Member) -> etcdctl::EndpointStatusRow {
        let s = member.state();
        let no_leader = (member.leader() == 0).then(|| etcdctl::NO_LEADER.to_string());
        etcdctl::EndpointStatusRow {
            endpoint,
            member_id: self.display_member_id(member.member_id()),
            version: self.etcdctl().server_version().to_string(),
            db_size: s.store.backend().size_bytes(),
            is_leader: member.role() == Role::Leader,
            is_learner: false,
            raft_term: member.raft().term(),
            raft_index: member.raft().commit_index(),
            raft_applied_index: s.applied_index(),
            errors: no_leader
                .into_iter()
                .chain(
                    s.active_alarms().iter().map(|(id, a)| {
                        etcdctl::alarm_error(self.display_member_id(*id), a.as_str())
                    }),
                )
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

    fn send(&mut self, op: Op, etcdctl: bool) -> u64 {
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
                // etcdctl dials until its command timeout; kubectl's apiserver fails at once.
                let error = Some(ERR_CONNECTION_REFUSED);
                let after = if etcdctl {
                    ETCDCTL_COMMAND_TIMEOUT_NS
                } else {
                    0
                };
                self.q.schedule_in(after, Ev::OperatorReply { id, error });
            }
        }
        id
    }

    fn members_in_id_order(&self) -> Vec<usize> {
        (self.queried_endpoints(true).into_iter())
            .map(|(m, _)| m)
            .collect()
    }

    fn etcdctl_version(&self) -> EtcdctlVersion {
        self.etcdctl()
    }

    fn draw_etcdctl_client(&mut self) -> u128 {
        let rng = &mut self.operator.etcdctl_rng;
        (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
    }

    fn endpoint_status(
        &self,
        format: OutputFormat,
        cluster: bool,
        cli: &Etcdctl,
    ) -> (String, bool) {
        let mut rows = Vec::new();
        let mut failed = String::new();
        for (m, endpoint) in self.queried_endpoints(cluster) {
            match &self.nodes[m].slot {
                Slot::Running(member) => rows.push(self.endpoint_status_row(endpoint, member)),
                _ => failed.push_str(&cli.endpoint_failed(
                    etcdctl::NO_CONNECTION,
                    &endpoint,
                    "get the status of endpoint",
                )),
            }
        }
        let answered = failed.is_empty();
        let out = match format {
            OutputFormat::Table => etcdctl::endpoint_status_table(&rows),
            _ => etcdctl::endpoint_status_simple(&rows),
        };
        (failed + &out, answered)
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
        cli: &Etcdctl,
    ) -> Started {
        self.recovery_command(command, output, ok, cli)
    }
}

/// The apiserver of a run without `[kube]`: nothing cached.
static EMPTY_API: std::sync::LazyLock<ApiServer> = std::sync::LazyLock::new(ApiServer::new);
