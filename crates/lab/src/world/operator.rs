//! The operator at the terminal, an actor: etcdctl and kubectl commands from the timeline and
//! the `[runbook]`, each with its output and duration, waiting for replies, defrags,
//! compactions and restarts. It acts only through `Terminal`; `World` implements it in
//! `world/terminal.rs`, and the tests use a fake (`operator_tests.rs`).

use super::{ERR_CONNECTION_LOST, ERR_CONNECTION_REFUSED};
use etcdlab_kube::{ApiServer, EtcdRequest, KubectlCommand};
use etcdlab_member::{AlarmKind, Op, ERR_CONTEXT_DEADLINE, ERR_TIMEOUT, ERR_TIMEOUT_LEADER_FAIL};
use etcdlab_report::etcdctl::{self, Etcdctl, EtcdctlVersion};
use etcdlab_scenario::{
    client_endpoint, client_url, CompactTo, OperatorCommand, OutputFormat, Runbook,
};
use etcdlab_sim::Nanos;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// The cluster as the operator's terminal reaches it: requests through etcdctl's balancer,
/// read-only queries, process control on the members' hosts, and the run's log.
pub(crate) trait Terminal {
    fn now(&self) -> Nanos;
    /// One client round trip (two draws of the client latency).
    fn round_trip(&mut self) -> Nanos;
    /// Hand the operator an `OperatorInput::Wake` at `at_ns`.
    fn wake_operator(&mut self, at_ns: Nanos);
    /// A line of the run's timeline.
    fn log(&mut self, text: String);
    /// A command finished: what the report shows of it.
    fn record_step(&mut self, step: StepLog);
    /// A request to the leader (else the first running member), as etcdctl's balancer sends
    /// it; returns its id. Its reply comes back as `OperatorInput::Reply`, also when no member
    /// accepts the connection (for etcdctl, `etcdctl`: after its 5 s command timeout).
    fn send(&mut self, op: Op, etcdctl: bool) -> u64;
    /// The etcdctl the terminal runs (the scenario's etcd version).
    fn etcdctl_version(&self) -> EtcdctlVersion;
    /// The random part of one etcdctl process's gRPC target (its warn lines show it), drawn
    /// from the run's own stream for it.
    fn draw_etcdctl_client(&mut self) -> u128;

    /// The member list's members (slots) in its order, member ID order (`--cluster`).
    fn members_in_id_order(&self) -> Vec<usize>;
    /// `etcdctl endpoint status` as the members answer right now, and whether every endpoint
    /// answered; `etcdctl` is the process that asks.
    fn endpoint_status(
        &self,
        format: OutputFormat,
        cluster: bool,
        etcdctl: &Etcdctl,
    ) -> (String, bool);
    /// The cluster's active alarms: (raft id, member ID as etcdctl shows it, alarm).
    fn active_alarms(&self) -> Vec<(u64, u64, AlarmKind)>;
    /// The revision and compact revision a client sees now (None: no member answers).
    fn current_revision(&self) -> Option<i64>;
    fn compact_revision(&self) -> Option<i64>;
    /// Whether a member still has a scheduled compaction to finish.
    fn compaction_pending(&self) -> bool;
    /// The kube-apiserver kubectl reaches.
    fn apiserver(&self) -> &ApiServer;

    /// Restart member `m`'s etcd (stop, then start), optionally with a new quota; its start
    /// comes back as `OperatorInput::MemberStarted`.
    fn restart(&mut self, m: usize, quota_backend_bytes: Option<u64>);
    /// Start a defrag of member `m` (false: it does not answer, or defrags already); its end
    /// comes back as `OperatorInput::DefragDone`.
    fn start_defrag(&mut self, m: usize) -> bool;
    /// The defrag of member `m` finished: its metrics and the timeline.
    fn record_defrag_finished(&mut self, m: usize);
    /// A snapshot, membership or data-dir command (`world/recovery.rs`): its output goes into
    /// `output`, a failure clears `ok`.
    fn host_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        ok: &mut bool,
        etcdctl: &Etcdctl,
    ) -> Started;
}

/// etcdctl's default `--command-timeout`: how long a command waits for a member that does
/// not accept its connection (measured: 5.0-5.2 s on 3.4.23 and 3.5.1).
pub(crate) const ETCDCTL_COMMAND_TIMEOUT_NS: Nanos = 5_000_000_000;

/// What reaches the operator.
#[derive(Debug)]
pub(crate) enum OperatorInput {
    /// The timeline has the operator type a command.
    Command {
        text: String,
        command: OperatorCommand,
    },
    /// A reply to one of the operator's requests.
    Reply {
        id: u64,
        error: Option<&'static str>,
    },
    /// A wake-up asked for with `wake_operator`.
    Wake,
    /// An alarm was raised (the runbook may start).
    AlarmRaised(AlarmKind),
    /// The defrag of member `m` ended; `finished`: it completed (else the member went down).
    DefragDone { m: usize, finished: bool },
    /// Member `m` finished starting (or refused to, or its start was cancelled).
    MemberStarted(usize),
    /// A member finished its scheduled compaction.
    CompactionDone,
}

/// What a snapshot, membership or data-dir command needs from the operator loop.
pub(crate) enum Started {
    /// Done: the output (ok or not) reaches the terminal after `ns`.
    After { ns: Nanos },
    /// Requests through raft; `ok_output` is printed once all succeeded.
    Requests { ops: Vec<Op>, ok_output: String },
    /// Wait for member `m` to finish starting (or to refuse).
    Start(usize),
}

/// One operator command as it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepLog {
    pub started_ns: Nanos,
    pub finished_ns: Nanos,
    pub command: String,
    pub output: String,
    pub ok: bool,
}

/// What a running operator command waits for.
#[derive(Debug)]
enum Waiting {
    /// Replies to these requests.
    Replies(BTreeSet<u64>),
    /// The defrag of `current`, then the members in `rest`, one after another.
    Defrag { current: usize, rest: Vec<usize> },
    /// etcdctl waits for an endpoint that does not answer until its command timeout, then
    /// goes on with the members in `rest`.
    DefragUnanswered { until: Nanos, rest: Vec<usize> },
    /// Member `m` to finish restarting.
    Restart(usize),
    /// Every running member to finish the scheduled compaction (`--physical`).
    Compaction,
    /// Nothing: the command's answer is back at this time.
    Until(Nanos),
}

#[derive(Debug)]
struct OpRun {
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
    /// The etcdctl process that runs the command: its version, the first endpoint it was
    /// given (the command's `--endpoints`, else the terminal's, every member in slot order:
    /// m1's) and its draw for its gRPC target.
    etcdctl: Etcdctl,
    /// `defrag --cluster`: etcdctl names the members by their client URLs.
    defrag_urls: bool,
    /// etcdctl gives up on its requests then (its 5 s command timeout); None for kubectl's.
    deadline_ns: Option<Nanos>,
    /// When the command ended, when that was before its last reply came (a deadline).
    ended_ns: Option<Nanos>,
}

/// The operator: commands in flight and what the runbook does next.
#[derive(Debug, Default)]
pub(crate) struct Operator {
    runbook: Option<Runbook>,
    runs: BTreeMap<u64, OpRun>,
    next_run: u64,
    /// Request id -> run.
    requests: BTreeMap<u64, u64>,
    runbook_next_step: usize,
    runbook_due_ns: Option<Nanos>,
    runbook_running: bool,
}

impl Operator {
    pub fn new(runbook: Option<Runbook>) -> Operator {
        Operator {
            runbook,
            ..Operator::default()
        }
    }

    pub fn on_input(&mut self, t: &mut impl Terminal, input: OperatorInput) {
        match input {
            OperatorInput::Command { text, command } => self.start_run(t, text, command, false),
            OperatorInput::Reply { id, error } => self.on_reply(t, id, error),
            OperatorInput::Wake => self.on_wake(t),
            OperatorInput::AlarmRaised(alarm) => self.on_alarm(t, alarm),
            OperatorInput::DefragDone { m, finished } => self.on_defrag_done(t, m, finished),
            OperatorInput::MemberStarted(m) => {
                self.finish_where(t, |w| matches!(w, Waiting::Restart(x) if *x == m))
            }
            OperatorInput::CompactionDone => self.wake_compaction_waiters(t),
        }
    }

    /// The runbook starts `diagnosis` after the first raise of its alarm.
    fn on_alarm(&mut self, t: &mut impl Terminal, alarm: AlarmKind) {
        let Some(rb) = &self.runbook else { return };
        let first =
            self.runbook_next_step == 0 && self.runbook_due_ns.is_none() && !self.runbook_running;
        if first && rb.after_alarm == alarm.as_str() {
            let due = t.now().saturating_add(rb.diagnosis_ns);
            self.runbook_due_ns = Some(due);
            t.wake_operator(due);
        }
    }

    fn start_run(
        &mut self,
        t: &mut impl Terminal,
        text: String,
        command: OperatorCommand,
        from_runbook: bool,
    ) {
        let now = t.now();
        self.next_run += 1;
        let id = self.next_run;
        t.log(format!("$ {text}"));
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
            etcdctl: Etcdctl {
                version: t.etcdctl_version(),
                first_endpoint: client_endpoint(first_endpoint_slot(&command)),
                draw: t.draw_etcdctl_client(),
            },
            defrag_urls: false,
            deadline_ns: None,
            ended_ns: None,
        };
        run.waiting = self.begin(t, id, &mut run, command);
        // etcdctl waits for its requests' replies at most its command timeout.
        let kubectl = matches!(run.command, OperatorCommand::Kubectl(_));
        if matches!(run.waiting, Waiting::Replies(_)) && !kubectl {
            run.deadline_ns = Some(now.saturating_add(ETCDCTL_COMMAND_TIMEOUT_NS));
        }
        self.runs.insert(id, run);
        t.wake_operator(now);
    }

    /// Do what `command` does first; returns what the run then waits for.
    fn begin(
        &mut self,
        t: &mut impl Terminal,
        id: u64,
        run: &mut OpRun,
        command: OperatorCommand,
    ) -> Waiting {
        let now = t.now();
        match command {
            OperatorCommand::EndpointStatus { format, cluster } => {
                let (output, answered) = t.endpoint_status(format, cluster, &run.etcdctl);
                run.output = output;
                run.ok = answered;
                // etcdctl waits for an endpoint that does not answer until its timeout (the
                // round trip is drawn either way: the clients' delay stream stays as it was).
                let rtt = t.round_trip();
                let took = if answered {
                    rtt
                } else {
                    ETCDCTL_COMMAND_TIMEOUT_NS
                };
                Waiting::Until(now.saturating_add(took))
            }
            OperatorCommand::AlarmList => self.send(t, id, vec![Op::AlarmList]),
            OperatorCommand::AlarmDisarm => self.disarm_alarms(t, id, run),
            OperatorCommand::Compact { rev, .. } => {
                let rev = match rev {
                    CompactTo::Revision(r) => r,
                    CompactTo::Current => t.current_revision().unwrap_or(1),
                };
                self.send(t, id, vec![Op::Compact { rev }])
            }
            OperatorCommand::Defrag { members, cluster } => {
                run.defrag_urls = cluster;
                let members = if cluster {
                    t.members_in_id_order()
                } else {
                    members
                };
                next_defrag(t, run, members)
            }
            OperatorCommand::Restart {
                member,
                quota_backend_bytes,
            } => {
                t.restart(member, quota_backend_bytes);
                Waiting::Restart(member)
            }
            OperatorCommand::Kubectl(cmd) => self.kubectl(t, id, run, cmd),
            other => match t.host_command(&other, &mut run.output, &mut run.ok, &run.etcdctl) {
                Started::After { ns } => Waiting::Until(now.saturating_add(ns)),
                Started::Requests { ops, ok_output } => {
                    run.ok_output = ok_output;
                    self.send(t, id, ops)
                }
                Started::Start(m) => Waiting::Restart(m),
            },
        }
    }

    /// `etcdctl alarm disarm`: every active alarm is deactivated through raft; etcdctl prints
    /// the alarms it removed once all are, and only its first error otherwise.
    fn disarm_alarms(&mut self, t: &mut impl Terminal, id: u64, run: &mut OpRun) -> Waiting {
        let alarms = t.active_alarms();
        if alarms.is_empty() {
            return Waiting::Until(t.now().saturating_add(t.round_trip()));
        }
        let mut ops = Vec::new();
        for (member_id, shown_id, alarm) in alarms {
            run.ok_output.push_str(&alarm_line(shown_id, alarm));
            ops.push(Op::Alarm {
                activate: false,
                member_id,
                alarm,
                for_rejected_put: false,
            });
        }
        self.send(t, id, ops)
    }

    /// A kubectl command: reads are served by kube-apiserver (its watch cache, or etcd, which
    /// still serves reads under NOSPACE); writes go to etcd through raft.
    fn kubectl(
        &mut self,
        t: &mut impl Terminal,
        id: u64,
        run: &mut OpRun,
        cmd: KubectlCommand,
    ) -> Waiting {
        let now = t.now();
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
            run.output = cmd.success_output(t.apiserver());
            Waiting::Until(now.saturating_add(t.round_trip()))
        } else {
            self.send_as(t, id, puts, false)
        }
    }

    /// Send etcdctl's requests of run `run`; it waits for all their replies.
    fn send(&mut self, t: &mut impl Terminal, run: u64, ops: Vec<Op>) -> Waiting {
        self.send_as(t, run, ops, true)
    }

    /// Send the requests of run `run` (etcdctl's or, `etcdctl` false, kubectl's).
    fn send_as(&mut self, t: &mut impl Terminal, run: u64, ops: Vec<Op>, etcdctl: bool) -> Waiting {
        let mut ids = BTreeSet::new();
        for op in ops {
            let id = t.send(op, etcdctl);
            ids.insert(id);
            self.requests.insert(id, run);
        }
        Waiting::Replies(ids)
    }

    /// A reply to one of the operator's requests: the terminal shows it when it arrives.
    fn on_reply(&mut self, t: &mut impl Terminal, id: u64, error: Option<&'static str>) {
        let Some(run_id) = self.requests.remove(&id) else {
            return;
        };
        let Some(run) = self.runs.get_mut(&run_id) else {
            return;
        };
        let kubectl = matches!(run.command, OperatorCommand::Kubectl(_));
        // A reply after etcdctl's deadline: the command ended at the deadline. The member's
        // text is the one etcd's server gives when the context the client's deadline bounds
        // ends first; any other late answer is etcdctl's own deadline.
        let mut error = error;
        if let Some(deadline) = run.deadline_ns.filter(|d| t.now() > *d) {
            run.ended_ns.get_or_insert(deadline);
            error = Some(match error {
                Some(e @ (ERR_TIMEOUT | ERR_TIMEOUT_LEADER_FAIL | ERR_CONTEXT_DEADLINE)) => e,
                _ => etcdctl::CLIENT_DEADLINE,
            });
        }
        if let Waiting::Replies(ids) = &mut run.waiting {
            ids.remove(&id);
            if let Some(e) = error {
                run.ok = false;
                // etcdctl exits at its first failed request: the warn line, then `Error:`.
                if !kubectl && run.first_error.is_none() {
                    run.output.push_str(&run.etcdctl.command_failed(e));
                }
                run.first_error.get_or_insert(e);
            }
            if !ids.is_empty() {
                return;
            }
        }
        if let OperatorCommand::Kubectl(cmd) = &run.command {
            run.output = kubectl_output(t, cmd, run.first_error, t.now() - run.started_ns);
            self.finish_run(t, run_id);
            return;
        }
        if run.ok {
            let ok_output = std::mem::take(&mut run.ok_output);
            run.output.push_str(&ok_output);
            if let OperatorCommand::AlarmList = run.command {
                run.output.push_str(&alarm_list_text(t));
            }
        }
        if let OperatorCommand::Compact { physical, .. } = run.command {
            if run.ok {
                let rev = t.compact_revision().unwrap_or(0);
                run.output.push_str(&etcdctl::compacted(rev));
                if physical {
                    run.waiting = Waiting::Compaction;
                    self.wake_compaction_waiters(t);
                    return;
                }
            }
        }
        self.finish_run(t, run_id);
    }

    /// `compact --physical` returns once no member has a compaction left to do.
    fn wake_compaction_waiters(&mut self, t: &mut impl Terminal) {
        if t.compaction_pending() {
            return;
        }
        self.finish_where(t, |w| matches!(w, Waiting::Compaction));
    }

    fn on_defrag_done(&mut self, t: &mut impl Terminal, m: usize, finished: bool) {
        let now = t.now();
        let run_id = self
            .runs
            .iter()
            .find(|(_, r)| matches!(r.waiting, Waiting::Defrag { current, .. } if current == m))
            .map(|(id, _)| *id);
        let Some(run_id) = run_id else { return };
        let mut run = self.runs.remove(&run_id).expect("run");
        let Waiting::Defrag { rest, .. } = std::mem::replace(&mut run.waiting, Waiting::Until(now))
        else {
            unreachable!("found waiting for a defrag")
        };
        let endpoint = defrag_endpoint(&run, m);
        if finished {
            run.output.push_str(&etcdctl::defrag_finished(&endpoint));
            t.record_defrag_finished(m);
        } else {
            // The member's process ended while it held the defrag: the connection broke.
            run.ok = false;
            run.output
                .push_str(&defrag_failed(&run, m, etcdctl::CONNECTION_LOST));
        }
        run.waiting = next_defrag(t, &mut run, rest);
        self.runs.insert(run_id, run);
        t.wake_operator(now);
    }

    /// Finish runs whose time has come and start the runbook's next step when it is due.
    fn on_wake(&mut self, t: &mut impl Terminal) {
        let now = t.now();
        let resumed: Vec<u64> = (self.runs.iter())
            .filter(|(_, r)| matches!(r.waiting, Waiting::DefragUnanswered { until, .. } if until <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in resumed {
            let Some(mut run) = self.runs.remove(&id) else {
                continue;
            };
            if let Waiting::DefragUnanswered { rest, .. } =
                std::mem::replace(&mut run.waiting, Waiting::Until(now))
            {
                run.waiting = next_defrag(t, &mut run, rest);
            }
            self.runs.insert(id, run);
        }
        self.finish_where(t, |w| matches!(w, Waiting::Until(at) if *at <= now));
        let later: Vec<Nanos> = self
            .runs
            .values()
            .filter_map(|r| match r.waiting {
                Waiting::Until(at) if at > now => Some(at),
                _ => None,
            })
            .collect();
        for at in later {
            t.wake_operator(at);
        }
        let Some(rb) = &self.runbook else { return };
        if self.runbook_running || self.runbook_due_ns.is_none_or(|due| due > now) {
            return;
        }
        let Some((text, command)) = rb.steps.get(self.runbook_next_step).cloned() else {
            return;
        };
        self.runbook_next_step += 1;
        self.runbook_due_ns = None;
        self.runbook_running = true;
        self.start_run(t, text, command, true);
    }

    /// Finish every run whose wait matches, in the order they started.
    fn finish_where(&mut self, t: &mut impl Terminal, done: impl Fn(&Waiting) -> bool) {
        let ids: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, r)| done(&r.waiting))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.finish_run(t, id);
        }
    }

    fn finish_run(&mut self, t: &mut impl Terminal, id: u64) {
        let Some(run) = self.runs.remove(&id) else {
            return;
        };
        let now = t.now();
        let ended = run.ended_ns.map_or(now, |e| e.min(now));
        t.record_step(StepLog {
            started_ns: run.started_ns,
            finished_ns: ended,
            command: run.text,
            output: run.output,
            ok: run.ok,
        });
        if run.from_runbook {
            self.runbook_running = false;
            let think_ns = self.runbook.as_ref().map_or(0, |r| r.think_time_ns);
            let due = ended.saturating_add(think_ns).max(now);
            self.runbook_due_ns = Some(due);
            t.wake_operator(due);
        }
    }
}

/// Start the defrag of the first of `members`; the rest follow in turn (after etcdctl's
/// command timeout when it does not answer).
fn next_defrag(t: &mut impl Terminal, run: &mut OpRun, mut members: Vec<usize>) -> Waiting {
    if members.is_empty() {
        return Waiting::Until(t.now());
    }
    let m = members.remove(0);
    if t.start_defrag(m) {
        return Waiting::Defrag {
            current: m,
            rest: members,
        };
    }
    run.ok = false;
    let text = defrag_failed(run, m, etcdctl::NO_CONNECTION);
    run.output.push_str(&text);
    let until = t.now().saturating_add(ETCDCTL_COMMAND_TIMEOUT_NS);
    t.wake_operator(until);
    Waiting::DefragUnanswered {
        until,
        rest: members,
    }
}

/// etcdctl's lines for a defrag of member `m` that failed with `err`.
fn defrag_failed(run: &OpRun, m: usize, err: &str) -> String {
    let endpoint = defrag_endpoint(run, m);
    (run.etcdctl).endpoint_failed(err, &endpoint, "defragment etcd member")
}

/// How etcdctl names member `m` in a defrag's lines.
fn defrag_endpoint(run: &OpRun, m: usize) -> String {
    if run.defrag_urls {
        client_url(m)
    } else {
        client_endpoint(m)
    }
}

/// The slot of the first endpoint etcdctl is given for `command`: its `--endpoints`, else the
/// terminal's list (every member in slot order), whose first is m1.
fn first_endpoint_slot(command: &OperatorCommand) -> usize {
    match command {
        OperatorCommand::Defrag {
            members,
            cluster: false,
        } => members.first().copied().unwrap_or(0),
        OperatorCommand::MemberAdd {
            endpoint: Some(m), ..
        } => *m,
        OperatorCommand::SnapshotSave {
            member: Some(m), ..
        } => *m,
        _ => 0,
    }
}

/// What kubectl prints once its writes are answered: the apiserver's answer, or its error
/// for the first etcd error.
fn kubectl_output(
    t: &impl Terminal,
    cmd: &KubectlCommand,
    first_error: Option<&'static str>,
    elapsed_ns: Nanos,
) -> String {
    match first_error {
        None => cmd.success_output(t.apiserver()),
        Some(e) => {
            let (status, _) = etcdlab_kube::write_error(etcd_error(e), elapsed_ns);
            cmd.error_output(t.apiserver(), &status)
        }
    }
}

/// `etcdctl alarm list`'s output.
fn alarm_list_text(t: &impl Terminal) -> String {
    t.active_alarms()
        .into_iter()
        .map(|(_, shown_id, alarm)| alarm_line(shown_id, alarm))
        .collect()
}

/// One line of `etcdctl alarm list` (with etcdctl's trailing space); `member_id` as displayed.
fn alarm_line(member_id: u64, alarm: AlarmKind) -> String {
    etcdctl::alarm_list(&[(member_id, alarm.as_str())])
}

/// Stored sizes of what kubectl writes: a Deployment and a Namespace (etcdlab-kube's medians).
const KUBECTL_OBJECT_BYTES: u32 = 3072;

const KUBECTL_NAMESPACE_BYTES: u32 = 300;

/// The etcd error kube-apiserver's client sees for an etcd reply text.
fn etcd_error(text: &str) -> etcdlab_kube::EtcdError {
    use etcdlab_kube::EtcdError;
    match text {
        etcdlab_member::ERR_NOSPACE => EtcdError::NoSpace,
        ERR_CONNECTION_REFUSED | ERR_CONNECTION_LOST => EtcdError::ConnectionRefused,
        _ => EtcdError::RequestTimedOut,
    }
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
