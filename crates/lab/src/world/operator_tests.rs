//! The operator against a fake terminal: each test is a script of inputs and what the
//! operator asked of the cluster, printed and recorded.

use super::*;

const MS: Nanos = 1_000_000;
const S: Nanos = 1_000 * MS;

/// A cluster that answers from fixed figures and records what is asked of it.
struct Fake {
    now: Nanos,
    next_id: u64,
    /// (request id, op), in the order sent.
    sent: Vec<(u64, Op)>,
    /// Wake-ups asked for, not yet handed over.
    wakes: Vec<Nanos>,
    calls: Vec<String>,
    steps: Vec<StepLog>,
    alarms: Vec<(u64, u64, AlarmKind)>,
    compact_revision: i64,
    compaction_pending: bool,
    /// Members whose defrag can start.
    defrag_answers: Vec<bool>,
    api: ApiServer,
}

impl Fake {
    fn new() -> Fake {
        Fake {
            now: 0,
            next_id: 100,
            sent: Vec::new(),
            wakes: Vec::new(),
            calls: Vec::new(),
            steps: Vec::new(),
            alarms: Vec::new(),
            compact_revision: 0,
            compaction_pending: false,
            defrag_answers: vec![true; 3],
            api: ApiServer::new(),
        }
    }

    fn take_calls(&mut self) -> Vec<String> {
        std::mem::take(&mut self.calls)
    }

    /// Move the clock to `t`, handing the operator every wake-up due by then.
    fn advance(&mut self, op: &mut Operator, t: Nanos) {
        loop {
            self.wakes.sort();
            let Some(&at) = self.wakes.first().filter(|at| **at <= t) else {
                break;
            };
            self.wakes.remove(0);
            self.now = at;
            op.on_input(self, OperatorInput::Wake);
        }
        self.now = t;
    }

    fn step_texts(&self) -> Vec<(String, String, bool)> {
        self.steps
            .iter()
            .map(|s| (s.command.clone(), s.output.clone(), s.ok))
            .collect()
    }
}

impl Terminal for Fake {
    fn now(&self) -> Nanos {
        self.now
    }
    fn round_trip(&mut self) -> Nanos {
        2 * MS
    }
    fn wake_operator(&mut self, at_ns: Nanos) {
        self.wakes.push(at_ns);
    }
    fn log(&mut self, text: String) {
        self.calls.push(format!("log {text}"));
    }
    fn record_step(&mut self, step: StepLog) {
        self.steps.push(step);
    }
    fn send(&mut self, op: Op, _: bool) -> u64 {
        self.next_id += 1;
        self.sent.push((self.next_id, op));
        self.next_id
    }
    fn members_in_id_order(&self) -> Vec<usize> {
        vec![2, 1, 0]
    }
    fn etcdctl_version(&self) -> etcdlab_report::etcdctl::EtcdctlVersion {
        etcdlab_report::etcdctl::EtcdctlVersion::V3_4
    }
    fn draw_etcdctl_client(&mut self) -> u128 {
        7
    }
    fn endpoint_status(
        &self,
        _: etcdlab_scenario::OutputFormat,
        _: bool,
        _: &etcdlab_report::etcdctl::Etcdctl,
    ) -> (String, bool) {
        ("status table\n".into(), true)
    }
    fn active_alarms(&self) -> Vec<(u64, u64, AlarmKind)> {
        self.alarms.clone()
    }
    fn current_revision(&self) -> Option<i64> {
        Some(50)
    }
    fn compact_revision(&self) -> Option<i64> {
        Some(self.compact_revision)
    }
    fn compaction_pending(&self) -> bool {
        self.compaction_pending
    }
    fn apiserver(&self) -> &ApiServer {
        &self.api
    }
    fn restart(&mut self, m: usize, quota_backend_bytes: Option<u64>) {
        self.calls
            .push(format!("restart m{} quota {quota_backend_bytes:?}", m + 1));
    }
    fn start_defrag(&mut self, m: usize) -> bool {
        self.calls.push(format!("start defrag m{}", m + 1));
        self.defrag_answers[m]
    }
    fn record_defrag_finished(&mut self, m: usize) {
        self.calls.push(format!("defrag of m{} finished", m + 1));
    }
    fn host_command(
        &mut self,
        command: &OperatorCommand,
        output: &mut String,
        _: &mut bool,
        _: &etcdlab_report::etcdctl::Etcdctl,
    ) -> Started {
        output.push_str(&format!("{command:?}\n"));
        Started::After { ns: 5 * MS }
    }
}

fn command(text: &str, command: OperatorCommand) -> OperatorInput {
    OperatorInput::Command {
        text: text.into(),
        command,
    }
}

fn runbook(steps: Vec<(&str, OperatorCommand)>) -> Runbook {
    Runbook {
        after_alarm: "NOSPACE".into(),
        diagnosis_ns: 60 * S,
        think_time_ns: 10 * S,
        steps: steps.into_iter().map(|(t, c)| (t.into(), c)).collect(),
    }
}

#[test]
fn a_command_is_logged_and_its_output_arrives_after_the_round_trip() {
    let (mut t, mut op) = (Fake::new(), Operator::new(None));
    op.on_input(
        &mut t,
        command(
            "etcdctl endpoint status",
            OperatorCommand::EndpointStatus {
                format: etcdlab_scenario::OutputFormat::Table,
                cluster: false,
            },
        ),
    );
    assert_eq!(t.take_calls(), ["log $ etcdctl endpoint status"]);
    t.advance(&mut op, MS);
    assert!(t.steps.is_empty(), "not before the round trip");
    t.advance(&mut op, 2 * MS);
    assert_eq!(
        t.step_texts(),
        [(
            "etcdctl endpoint status".into(),
            "status table\n".into(),
            true
        )]
    );
    assert_eq!((t.steps[0].started_ns, t.steps[0].finished_ns), (0, 2 * MS));
}

#[test]
fn the_runbook_starts_after_its_alarm_and_diagnosis_and_thinks_between_steps() {
    let mut t = Fake::new();
    t.alarms = vec![(1, 0xaaaa, AlarmKind::NoSpace)];
    let rb = runbook(vec![
        ("etcdctl alarm list", OperatorCommand::AlarmList),
        (
            "etcdctl endpoint status",
            OperatorCommand::EndpointStatus {
                format: etcdlab_scenario::OutputFormat::Table,
                cluster: false,
            },
        ),
    ]);
    let mut op = Operator::new(Some(rb));
    op.on_input(&mut t, OperatorInput::AlarmRaised(AlarmKind::Corrupt));
    assert!(t.wakes.is_empty(), "another alarm does not start it");
    t.now = 5 * S;
    op.on_input(&mut t, OperatorInput::AlarmRaised(AlarmKind::NoSpace));
    assert_eq!(t.wakes, [65 * S]);
    t.advance(&mut op, 64 * S);
    assert!(t.sent.is_empty(), "still diagnosing");
    t.advance(&mut op, 65 * S);
    assert_eq!(t.take_calls(), ["log $ etcdctl alarm list"]);
    assert_eq!(t.sent, [(101, Op::AlarmList)]);
    // A second raise while the runbook runs changes nothing.
    op.on_input(&mut t, OperatorInput::AlarmRaised(AlarmKind::NoSpace));
    t.now = 65 * S + 3 * MS;
    op.on_input(
        &mut t,
        OperatorInput::Reply {
            id: 101,
            error: None,
        },
    );
    assert_eq!(t.steps.len(), 1);
    assert_eq!(t.steps[0].output, "memberID:43690 alarm:NOSPACE \n");
    t.advance(&mut op, 75 * S);
    assert!(t.take_calls().is_empty(), "thinking");
    t.advance(&mut op, 75 * S + 3 * MS);
    assert_eq!(t.take_calls(), ["log $ etcdctl endpoint status"]);
    t.advance(&mut op, 100 * S);
    assert_eq!(t.steps.len(), 2, "the second step ran");
    assert!(t.take_calls().is_empty(), "no third step");
}

#[test]
fn a_command_with_several_requests_waits_for_all_and_shows_its_first_error() {
    let mut t = Fake::new();
    t.alarms = vec![(1, 0x11, AlarmKind::NoSpace), (2, 0x22, AlarmKind::NoSpace)];
    let mut op = Operator::new(None);
    op.on_input(
        &mut t,
        command("etcdctl alarm disarm", OperatorCommand::AlarmDisarm),
    );
    let ids: Vec<u64> = t.sent.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [101, 102]);
    assert!(matches!(
        t.sent[1].1,
        Op::Alarm {
            activate: false,
            member_id: 2,
            ..
        }
    ));
    op.on_input(
        &mut t,
        OperatorInput::Reply {
            id: 102,
            error: Some("etcdserver: request timed out"),
        },
    );
    assert!(t.steps.is_empty(), "one reply is missing");
    // A reply that is not the operator's is ignored.
    op.on_input(&mut t, OperatorInput::Reply { id: 7, error: None });
    op.on_input(
        &mut t,
        OperatorInput::Reply {
            id: 101,
            error: None,
        },
    );
    let (_, output, ok) = &t.step_texts()[0];
    assert!(!ok);
    // etcdctl prints the alarms it removed only when all were; a failure prints the retry
    // interceptor's warn line and the error, once.
    assert_eq!(
        output,
        "{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"endpoint://client-00000000-0000-4000-8000-000000000007/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = Unavailable desc = etcdserver: request timed out\"}\n\
         Error: etcdserver: request timed out\n"
    );
}

#[test]
fn defrag_goes_member_by_member_and_reports_each() {
    let mut t = Fake::new();
    t.defrag_answers = vec![false, true, true];
    let mut op = Operator::new(None);
    let members = vec![0, 1, 2];
    op.on_input(
        &mut t,
        command(
            "etcdctl defrag",
            OperatorCommand::Defrag {
                members,
                cluster: false,
            },
        ),
    );
    // m1 does not answer: etcdctl waits its command timeout (5 s), then goes on.
    assert_eq!(t.take_calls(), ["log $ etcdctl defrag", "start defrag m1"]);
    t.advance(&mut op, 4_999 * MS);
    assert!(t.take_calls().is_empty(), "m2 waits for m1's timeout");
    t.advance(&mut op, 5_000 * MS);
    assert_eq!(t.take_calls(), ["start defrag m2"]);
    op.on_input(
        &mut t,
        OperatorInput::DefragDone {
            m: 0,
            finished: true,
        },
    );
    assert!(t.take_calls().is_empty(), "nobody waits for m1");
    op.on_input(
        &mut t,
        OperatorInput::DefragDone {
            m: 1,
            finished: true,
        },
    );
    assert_eq!(t.take_calls(), ["defrag of m2 finished", "start defrag m3"]);
    op.on_input(
        &mut t,
        OperatorInput::DefragDone {
            m: 2,
            finished: false,
        },
    );
    t.advance(&mut op, 5_000 * MS);
    let (_, output, ok) = &t.step_texts()[0];
    assert!(!ok);
    let warn = |ep: &str, error: &str| {
        format!("{{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"passthrough:///{ep}\",\"attempt\":0,\"error\":\"{error}\"}}\n")
    };
    assert_eq!(
        *output,
        warn(
            "127.0.0.1:12379",
            "rpc error: code = DeadlineExceeded desc = latest balancer error: connection error: desc = \\\"transport: Error while dialing dial tcp 127.0.0.1:12379: connect: connection refused\\\""
        ) + "Failed to defragment etcd member[127.0.0.1:12379] (context deadline exceeded)\n\
         Finished defragmenting etcd member[127.0.0.1:22379]\n"
            + &warn(
                "127.0.0.1:32379",
                "rpc error: code = Unavailable desc = transport is closing"
            )
            + "Failed to defragment etcd member[127.0.0.1:32379] (rpc error: code = Unavailable desc = transport is closing)\n"
    );
}

#[test]
fn a_physical_compaction_returns_when_no_member_compacts() {
    let mut t = Fake::new();
    let mut op = Operator::new(None);
    let physical = OperatorCommand::Compact {
        rev: etcdlab_scenario::CompactTo::Current,
        physical: true,
    };
    op.on_input(
        &mut t,
        command("etcdctl compact current --physical", physical),
    );
    assert_eq!(t.sent, [(101, Op::Compact { rev: 50 })]);
    t.compact_revision = 50;
    t.compaction_pending = true;
    op.on_input(
        &mut t,
        OperatorInput::Reply {
            id: 101,
            error: None,
        },
    );
    op.on_input(&mut t, OperatorInput::CompactionDone);
    assert!(t.steps.is_empty(), "a member still compacts");
    t.compaction_pending = false;
    op.on_input(&mut t, OperatorInput::CompactionDone);
    assert_eq!(
        t.step_texts(),
        [(
            "etcdctl compact current --physical".into(),
            "compacted revision 50\n".into(),
            true
        )]
    );
}

#[test]
fn a_restart_waits_for_its_member_to_start() {
    let mut t = Fake::new();
    let mut op = Operator::new(None);
    let restart = OperatorCommand::Restart {
        member: 1,
        quota_backend_bytes: Some(8 << 30),
    };
    op.on_input(&mut t, command("systemctl restart etcd (m2)", restart));
    assert_eq!(t.take_calls()[1], "restart m2 quota Some(8589934592)");
    t.advance(&mut op, 10 * S);
    op.on_input(&mut t, OperatorInput::MemberStarted(0));
    assert!(t.steps.is_empty(), "another member started");
    op.on_input(&mut t, OperatorInput::MemberStarted(1));
    assert_eq!(t.steps.len(), 1);
    assert_eq!(t.steps[0].finished_ns, 10 * S);
}

#[test]
fn host_commands_run_through_the_terminal() {
    let mut t = Fake::new();
    let mut op = Operator::new(None);
    let list = OperatorCommand::MemberList {
        format: etcdlab_scenario::OutputFormat::Simple,
    };
    op.on_input(&mut t, command("etcdctl member list", list));
    t.advance(&mut op, 5 * MS);
    assert_eq!(t.step_texts()[0].1, "MemberList { format: Simple }\n");
}

/// etcdctl gives up after its 5 s command timeout: a reply that comes later ends the command
/// at the deadline, with the member's timeout text, or etcdctl's own deadline for any other
/// answer (the write may still be applied).
#[test]
fn a_late_reply_ends_the_command_at_etcdctls_deadline() {
    for (reply, shown) in [
        (
            Some(etcdlab_member::ERR_CONTEXT_DEADLINE),
            "rpc error: code = Unknown desc = context deadline exceeded",
        ),
        (
            Some(etcdlab_member::ERR_TIMEOUT),
            "etcdserver: request timed out",
        ),
        (None, "context deadline exceeded"),
    ] {
        let mut t = Fake::new();
        t.now = 10 * S;
        let mut op = Operator::new(None);
        op.on_input(
            &mut t,
            command("etcdctl alarm list", OperatorCommand::AlarmList),
        );
        t.now = 17 * S;
        op.on_input(
            &mut t,
            OperatorInput::Reply {
                id: 101,
                error: reply,
            },
        );
        let step = &t.steps[0];
        assert_eq!(
            (step.started_ns, step.finished_ns, step.ok),
            (10 * S, 15 * S, false)
        );
        assert!(
            step.output.ends_with(&format!("\nError: {shown}\n")),
            "{}",
            step.output
        );
    }
    // In time: as the member answered.
    let mut t = Fake::new();
    let mut op = Operator::new(None);
    op.on_input(
        &mut t,
        command("etcdctl alarm list", OperatorCommand::AlarmList),
    );
    t.now = 5 * S;
    op.on_input(
        &mut t,
        OperatorInput::Reply {
            id: 101,
            error: None,
        },
    );
    assert_eq!((t.steps[0].finished_ns, t.steps[0].ok), (5 * S, true));
}
