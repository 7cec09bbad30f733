//! The operator at the terminal: etcdctl and kubectl commands from the timeline and the `[runbook]`, each with its output and duration, waiting for replies, defrags, compactions and restarts.

use super::recovery::Started;
use super::*;
use etcdlab_kube::{ApiServer, EtcdRequest};
use etcdlab_report::etcdctl;
use etcdlab_scenario::{client_endpoint, CompactTo, OperatorCommand};
use std::collections::BTreeSet;

impl World<'_> {
    pub(super) fn maybe_start_runbook(&mut self, alarm: AlarmKind) {
        let Some(rb) = &self.sc.runbook else { return };
        let first = self.operator.runbook_next_step == 0
            && self.operator.runbook_due_ns.is_none()
            && !self.operator.runbook_running;
        if first && rb.after_alarm == alarm.as_str() {
            let due = self.q.now().saturating_add(rb.diagnosis_ns);
            self.operator.runbook_due_ns = Some(due);
            self.q.schedule_at(due, Ev::OperatorWake);
        }
    }

    /// A timeline `etcdctl` action.
    pub(super) fn run_operator_command(&mut self, text: String, command: OperatorCommand) {
        self.start_run(text, command, false);
    }

    pub(super) fn start_run(&mut self, text: String, command: OperatorCommand, from_runbook: bool) {
        let now = self.q.now();
        self.operator.next_run += 1;
        let id = self.operator.next_run;
        self.rec.timeline(now, format!("$ {text}"));
        let mut run = OpRun {
            text,
            command: command.clone(),
            started_ns: now,
            output: String::new(),
            ok: true,
            from_runbook,
            waiting: Waiting::Until(now),
            first_error: None,
            ok_output: String::new(),
        };
        run.waiting = match command {
            OperatorCommand::EndpointStatus => {
                run.output = self.endpoint_status();
                Waiting::Until(now.saturating_add(self.client_round_trip()))
            }
            OperatorCommand::AlarmList => self.send_operator_requests(id, vec![Op::AlarmList]),
            OperatorCommand::AlarmDisarm => self.disarm_alarms(id, &mut run),
            OperatorCommand::Compact { rev, .. } => {
                let rev = match rev {
                    CompactTo::Revision(r) => r,
                    CompactTo::Current => {
                        self.any_member_state().map_or(1, |s| s.store.current_rev())
                    }
                };
                self.send_operator_requests(id, vec![Op::Compact { rev }])
            }
            OperatorCommand::Defrag { members } => self.next_defrag(&mut run, members),
            OperatorCommand::Restart {
                member,
                quota_backend_bytes,
            } => {
                if let Some(q) = quota_backend_bytes {
                    self.nodes[member].cfg.quota_backend_bytes = q as i64;
                    self.rec.storage.quota.push((now, q));
                }
                self.crash(member);
                self.start_restart(member);
                Waiting::Restart(member)
            }
            OperatorCommand::Kubectl(cmd) => self.kubectl(id, &mut run, cmd),
            other => match self.recovery_command(&other, &mut run.output, &mut run.ok) {
                Started::After { ns } => Waiting::Until(now.saturating_add(ns)),
                Started::Requests { ops, ok_output } => {
                    run.ok_output = ok_output;
                    self.send_operator_requests(id, ops)
                }
                Started::Start(m) => Waiting::Restart(m),
            },
        };
        self.operator.runs.insert(id, run);
        self.q.schedule_in(0, Ev::OperatorWake);
    }

    /// `etcdctl alarm disarm`: every active alarm is deactivated through raft.
    fn disarm_alarms(&mut self, id: u64, run: &mut OpRun) -> Waiting {
        let now = self.q.now();
        let ops = self
            .any_member_state()
            .map(|s| s.active_alarms())
            .unwrap_or_default()
            .into_iter()
            .map(|(member_id, alarm)| Op::Alarm {
                activate: false,
                member_id,
                alarm,
                for_rejected_put: false,
            })
            .collect::<Vec<_>>();
        if ops.is_empty() {
            Waiting::Until(now.saturating_add(self.client_round_trip()))
        } else {
            for op in &ops {
                if let Op::Alarm {
                    member_id, alarm, ..
                } = op
                {
                    let id = self.display_member_id(*member_id);
                    run.output.push_str(&alarm_line(id, *alarm));
                }
            }
            self.send_operator_requests(id, ops)
        }
    }

    /// A kubectl command: reads are served by kube-apiserver (its watch cache, or etcd, which
    /// still serves reads under NOSPACE); writes go to etcd through raft.
    fn kubectl(&mut self, id: u64, run: &mut OpRun, cmd: etcdlab_kube::KubectlCommand) -> Waiting {
        let now = self.q.now();
        let puts: Vec<Op> = cmd
            .etcd_requests(KUBECTL_OBJECT_BYTES, KUBECTL_NAMESPACE_BYTES)
            .into_iter()
            .filter_map(|r| match r {
                EtcdRequest::Put {
                    key,
                    value_size_bytes,
                } => Some(Op::Put {
                    key: Rc::from(key.as_bytes()),
                    value: etcdlab_store::Value::new(value_size_bytes, now),
                    lease: 0,
                }),
                EtcdRequest::Range { .. } => None,
            })
            .collect();
        if puts.is_empty() {
            run.output = cmd.success_output(self.api());
            Waiting::Until(now.saturating_add(self.client_round_trip()))
        } else {
            self.send_operator_requests(id, puts)
        }
    }

    /// The apiserver kubectl reaches: the one on the first running member (a load balancer
    /// in front of the control plane skips the dead).
    pub(super) fn api(&self) -> &ApiServer {
        let up = (0..self.nodes.len()).find(|m| matches!(self.nodes[*m].slot, Slot::Running(_)));
        match (&self.kube, up) {
            (Some(k), Some(m)) if m < k.apis.len() => &k.apis[m],
            _ => &EMPTY_API,
        }
    }

    pub(super) fn client_round_trip(&mut self) -> Nanos {
        let a = self.client_delay();
        a.saturating_add(self.client_delay())
    }

    pub(super) fn any_member_state(&self) -> Option<&etcdlab_member::ServerState> {
        match &self.nodes[self.leader_or_first_running()?].slot {
            Slot::Running(member) => Some(member.state()),
            _ => None,
        }
    }

    /// Send requests to the leader (else the first running member), as etcdctl's balancer would.
    pub(super) fn send_operator_requests(&mut self, run: u64, ops: Vec<Op>) -> Waiting {
        let target = self.leader_or_first_running();
        let mut ids = BTreeSet::new();
        for op in ops {
            let id = self.next_request_id;
            self.next_request_id += 1;
            ids.insert(id);
            self.operator.requests.insert(id, run);
            let req = Rc::new(Request::from_client(id, Client::Operator.id(), op));
            match target {
                Some(m) => {
                    let delay = self.client_delay();
                    let epoch = self.nodes[m].epoch;
                    self.q
                        .schedule_in(delay, Ev::WriteArrives { m, req, epoch });
                }
                None => {
                    let now = self.q.now();
                    self.q.schedule_at(
                        now,
                        Ev::OperatorReply {
                            id,
                            error: Some(ERR_CONNECTION_REFUSED),
                        },
                    );
                }
            }
        }
        Waiting::Replies(ids)
    }

    /// A reply to one of the operator's requests: the terminal shows it when it arrives.
    pub(super) fn operator_reply_at(&mut self, id: u64, error: Option<&'static str>, at: Nanos) {
        if self.operator.requests.contains_key(&id) {
            self.q.schedule_at(at, Ev::OperatorReply { id, error });
        }
    }

    pub(super) fn on_operator_reply(&mut self, id: u64, error: Option<&'static str>) {
        let Some(run_id) = self.operator.requests.remove(&id) else {
            return;
        };
        let alarms_text = self.alarm_list_text();
        let Some(run) = self.operator.runs.get_mut(&run_id) else {
            return;
        };
        let kubectl = matches!(run.command, OperatorCommand::Kubectl(_));
        if let Waiting::Replies(ids) = &mut run.waiting {
            ids.remove(&id);
            if let Some(e) = error {
                run.ok = false;
                run.first_error.get_or_insert(e);
                if !kubectl {
                    run.output.push_str(&format!("Error: {e}\n"));
                }
            }
            if !ids.is_empty() {
                return;
            }
        }
        if let OperatorCommand::Kubectl(cmd) = &run.command {
            let now = self.q.now();
            let elapsed = now - run.started_ns;
            let (cmd, first_error) = (cmd.clone(), run.first_error);
            let api = self.api();
            let output = match first_error {
                None => cmd.success_output(api),
                Some(e) => {
                    let (status, _) = etcdlab_kube::write_error(etcd_error(e), elapsed);
                    cmd.error_output(api, &status)
                }
            };
            if let Some(run) = self.operator.runs.get_mut(&run_id) {
                run.output = output;
            }
            self.finish_run(run_id);
            return;
        }
        if run.ok {
            let ok_output = std::mem::take(&mut run.ok_output);
            run.output.push_str(&ok_output);
            match &run.command {
                OperatorCommand::AlarmList => run.output.push_str(&alarms_text),
                OperatorCommand::Compact { .. } => {}
                _ => {}
            }
        }
        let physical = matches!(run.command, OperatorCommand::Compact { physical: true, .. });
        if let OperatorCommand::Compact { .. } = run.command {
            if run.ok {
                let rev = self.any_member_state().map_or(0, |s| s.store.compact_rev());
                let run = self.operator.runs.get_mut(&run_id).expect("run");
                run.output.push_str(&etcdctl::compacted(rev));
                if physical {
                    run.waiting = Waiting::Compaction;
                    self.wake_compaction_waiters();
                    return;
                }
            }
        }
        self.finish_run(run_id);
    }

    pub(super) fn alarm_list_text(&self) -> String {
        self.any_member_state()
            .map(|s| {
                s.active_alarms()
                    .into_iter()
                    .map(|(id, a)| alarm_line(self.display_member_id(id), a))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(super) fn wake_compaction_waiters(&mut self) {
        let pending = (0..self.nodes.len()).any(|m| match &self.nodes[m].slot {
            Slot::Running(mm) | Slot::Paused(mm, _) => mm.state().store.compaction_pending() > 0,
            _ => false,
        });
        if pending {
            return;
        }
        let done: Vec<u64> = self
            .operator
            .runs
            .iter()
            .filter(|(_, r)| matches!(r.waiting, Waiting::Compaction))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.finish_run(id);
        }
    }

    /// Start the defrag of the first of `members` that answers; the rest follow in turn.
    pub(super) fn next_defrag(&mut self, run: &mut OpRun, mut members: Vec<usize>) -> Waiting {
        let now = self.q.now();
        while !members.is_empty() {
            let m = members.remove(0);
            let bytes = self
                .on_running(m, |member, out| {
                    (!member.is_defragging()).then(|| member.start_defrag(out))
                })
                .flatten();
            let Some(bytes) = bytes else {
                run.ok = false;
                run.output.push_str(&format!(
                    "Failed to defragment etcd member[{}] (context deadline exceeded)\n",
                    client_endpoint(m)
                ));
                continue;
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
            return Waiting::Defrag {
                current: m,
                rest: members,
            };
        }
        Waiting::Until(now)
    }

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
            .flatten();
        let run_id = self
            .operator
            .runs
            .iter()
            .find(|(_, r)| matches!(r.waiting, Waiting::Defrag { current, .. } if current == m))
            .map(|(id, _)| *id);
        let Some(run_id) = run_id else { return };
        let mut run = self.operator.runs.remove(&run_id).expect("run");
        let Waiting::Defrag { rest, .. } = std::mem::replace(&mut run.waiting, Waiting::Until(now))
        else {
            unreachable!()
        };
        match finished {
            Some(_) => {
                if let Some(started) = self.nodes[m].defrag_started_ns.take() {
                    self.nodes[m]
                        .defrag_hist
                        .observe((now - started) as f64 / 1e9);
                }
                run.output
                    .push_str(&etcdctl::defrag_finished(&client_endpoint(m)));
                self.rec
                    .timeline(now, format!("defrag of m{} finished", m + 1));
            }
            None => {
                run.ok = false;
                run.output.push_str(&format!(
                    "Failed to defragment etcd member[{}] (member went down)\n",
                    client_endpoint(m)
                ));
            }
        }
        run.waiting = self.next_defrag(&mut run, rest);
        self.operator.runs.insert(run_id, run);
        self.q.schedule_in(0, Ev::OperatorWake);
    }

    pub(super) fn on_member_restarted(&mut self, m: usize) {
        let done: Vec<u64> = self
            .operator
            .runs
            .iter()
            .filter(|(_, r)| matches!(r.waiting, Waiting::Restart(x) if x == m))
            .map(|(id, _)| *id)
            .collect();
        for id in done {
            self.finish_run(id);
        }
    }

    /// Finish runs whose time has come and start the runbook's next step when it is due.
    pub(super) fn on_operator_wake(&mut self) {
        let now = self.q.now();
        let due: Vec<u64> = self
            .operator
            .runs
            .iter()
            .filter(|(_, r)| matches!(r.waiting, Waiting::Until(t) if t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.finish_run(id);
        }
        for r in self.operator.runs.values() {
            if let Waiting::Until(t) = r.waiting {
                if t > now {
                    self.q.schedule_at(t, Ev::OperatorWake);
                }
            }
        }
        let Some(rb) = &self.sc.runbook else { return };
        if self.operator.runbook_running {
            return;
        }
        let Some(due) = self.operator.runbook_due_ns else {
            return;
        };
        if due > now {
            return;
        }
        let Some((text, command)) = rb.steps.get(self.operator.runbook_next_step).cloned() else {
            return;
        };
        self.operator.runbook_next_step += 1;
        self.operator.runbook_due_ns = None;
        self.operator.runbook_running = true;
        self.start_run(text, command, true);
    }

    pub(super) fn finish_run(&mut self, id: u64) {
        let Some(run) = self.operator.runs.remove(&id) else {
            return;
        };
        let now = self.q.now();
        self.rec.operator_steps.push(StepLog {
            started_ns: run.started_ns,
            finished_ns: now,
            command: run.text,
            output: run.output,
            ok: run.ok,
        });
        if run.from_runbook {
            self.operator.runbook_running = false;
            let think = self.sc.runbook.as_ref().map_or(0, |r| r.think_time_ns);
            let due = now.saturating_add(think);
            self.operator.runbook_due_ns = Some(due);
            self.q.schedule_at(due, Ev::OperatorWake);
        }
    }

    /// `etcdctl endpoint status -w table` as the members answer right now.
    pub(super) fn endpoint_status(&self) -> String {
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
            let Slot::Running(member) = &self.nodes[m].slot else {
                failed.push_str(&format!(
                    "Failed to get the status of endpoint {} (context deadline exceeded)\n",
                    client_endpoint(m)
                ));
                continue;
            };
            let s = member.state();
            rows.push(etcdctl::EndpointStatusRow {
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
            });
        }
        failed + &etcdctl::endpoint_status_table(&rows)
    }
}

/// One operator command as it ran.
#[derive(Clone, Debug)]
pub(crate) struct StepLog {
    pub started_ns: Nanos,
    pub finished_ns: Nanos,
    pub command: String,
    pub output: String,
    pub ok: bool,
}

/// What a running operator command waits for.
#[derive(Debug)]
pub(super) enum Waiting {
    /// Replies to these requests.
    Replies(BTreeSet<u64>),
    /// The defrag of `current`, then the members in `rest`, one after another.
    Defrag { current: usize, rest: Vec<usize> },
    /// Member `m` to finish restarting.
    Restart(usize),
    /// Every running member to finish the scheduled compaction (`--physical`).
    Compaction,
    /// Nothing: the command's answer is back at this time.
    Until(Nanos),
}

#[derive(Debug)]
pub(crate) struct OpRun {
    text: String,
    command: OperatorCommand,
    started_ns: Nanos,
    output: String,
    ok: bool,
    from_runbook: bool,
    waiting: Waiting,
    /// The first error a request of this command got (kubectl shows it as the apiserver does).
    first_error: Option<&'static str>,
    /// Printed once every request of the command succeeded (`member add`'s answer).
    ok_output: String,
}

/// The operator: commands in flight and what the runbook does next.
#[derive(Debug, Default)]
pub(crate) struct Operator {
    runs: BTreeMap<u64, OpRun>,
    next_run: u64,
    /// Request id -> run.
    requests: BTreeMap<u64, u64>,
    runbook_next_step: usize,
    runbook_due_ns: Option<Nanos>,
    runbook_running: bool,
}

/// One line of `etcdctl alarm list` (with etcdctl's trailing space); `member_id` as displayed.
pub(super) fn alarm_line(member_id: u64, alarm: AlarmKind) -> String {
    etcdctl::alarm_list(&[(member_id, alarm.as_str())])
}

/// Stored sizes of what kubectl writes: a Deployment and a Namespace (etcdlab-kube's medians).
pub(super) const KUBECTL_OBJECT_BYTES: u32 = 3072;

pub(super) const KUBECTL_NAMESPACE_BYTES: u32 = 300;

/// The etcd error kube-apiserver's client sees for an etcd reply text.
pub(super) fn etcd_error(text: &str) -> etcdlab_kube::EtcdError {
    use etcdlab_kube::EtcdError;
    match text {
        etcdlab_member::ERR_NOSPACE => EtcdError::NoSpace,
        ERR_CONNECTION_REFUSED | ERR_CONNECTION_LOST => EtcdError::ConnectionRefused,
        _ => EtcdError::RequestTimedOut,
    }
}

/// The version `endpoint status` reports (the behaviour modelled is etcd 3.4's).
pub(super) const ETCD_VERSION: &str = "3.4.23";

/// The apiserver of a run without `[kube]`: nothing cached.
static EMPTY_API: std::sync::LazyLock<ApiServer> = std::sync::LazyLock::new(ApiServer::new);
