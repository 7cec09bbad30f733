//! The fault timeline against a fake cluster: each test is a script of actions and the calls
//! they make on the cluster, in order.

use super::*;
use etcdlab_scenario::{Dist, Failpoint, OperatorCommand};
use etcdlab_sim::stream;

const S: Nanos = 1_000_000_000;

/// A cluster that only records what is asked of it.
struct Fake {
    now: Nanos,
    leader: Option<usize>,
    processes: Vec<Process>,
    calls: Vec<String>,
    /// (due at, token), in the order asked.
    wakes: Vec<(Nanos, u64)>,
    skipped: u64,
}

impl Fake {
    fn new(members: usize, leader: Option<usize>) -> Fake {
        Fake {
            now: 0,
            leader,
            processes: vec![Process::Running; members],
            calls: Vec::new(),
            wakes: Vec::new(),
            skipped: 0,
        }
    }

    fn take_calls(&mut self) -> Vec<String> {
        std::mem::take(&mut self.calls)
    }

    /// Move the clock to `t` and hand the timeline every wake-up due by then.
    fn advance(&mut self, faults: &mut Faults, t: Nanos) {
        self.wakes.sort_by_key(|w| w.0);
        while let Some(&(at, token)) = self.wakes.first().filter(|w| w.0 <= t) {
            self.wakes.remove(0);
            self.now = at;
            faults.on_action_end(token, self);
        }
        self.now = t;
    }
}

impl Cluster for Fake {
    fn now(&self) -> Nanos {
        self.now
    }
    fn slots(&self) -> usize {
        self.processes.len()
    }
    fn leader(&self) -> Option<usize> {
        self.leader
    }
    fn process(&self, m: usize) -> Process {
        self.processes[m]
    }
    fn pause(&mut self, m: usize) {
        self.processes[m] = Process::Paused;
        self.calls.push(format!("pause m{}", m + 1));
    }
    fn resume(&mut self, m: usize) {
        self.processes[m] = Process::Running;
        self.calls.push(format!("resume m{}", m + 1));
    }
    fn crash(&mut self, m: usize) {
        self.processes[m] = Process::Down { restarting: false };
        self.calls.push(format!("crash m{}", m + 1));
    }
    fn restart(&mut self, m: usize) {
        self.processes[m] = Process::Down { restarting: true };
        self.calls.push(format!("restart m{}", m + 1));
    }
    fn block_link(&mut self, from: usize, to: usize, blocked: bool) {
        let verb = if blocked { "block" } else { "unblock" };
        self.calls
            .push(format!("{verb} m{}->m{}", from + 1, to + 1));
    }
    fn heal_all_links(&mut self) {
        self.calls.push("heal".into());
    }
    fn add_link_fault(&mut self, id: u64, from: usize, to: usize, _: Option<Dist>, _: Option<f64>) {
        self.calls
            .push(format!("link fault {id} m{}->m{}", from + 1, to + 1));
    }
    fn remove_link_fault(&mut self, id: u64) {
        self.calls.push(format!("link fault {id} removed"));
    }
    fn stall_disk(&mut self, m: usize, duration_ns: Nanos) {
        self.calls
            .push(format!("stall disk m{} {}s", m + 1, duration_ns / S));
    }
    fn slow_disk(&mut self, m: usize, _: Nanos, factor: f64) {
        self.calls.push(format!("slow disk m{} x{factor}", m + 1));
    }
    fn fill_disk(&mut self, m: usize, until: Option<Nanos>) {
        self.calls
            .push(format!("disk m{} full until {until:?}", m + 1));
    }
    fn arm_failpoint(&mut self, m: usize, _: Failpoint) {
        self.calls.push(format!("arm a failpoint in m{}", m + 1));
    }
    fn corrupt_backend(&mut self, m: usize) {
        self.calls.push(format!("corrupt m{}", m + 1));
    }
    fn lose_wal_tail(&mut self, m: usize, entries: u64) -> bool {
        self.calls
            .push(format!("lose {entries} WAL records of m{}", m + 1));
        self.processes[m] != Process::Running
    }
    fn operator_command(&mut self, text: String, _: OperatorCommand) {
        self.calls.push(format!("$ {text}"));
    }
    fn wake_after(&mut self, after_ns: Nanos, token: u64) {
        self.wakes.push((self.now + after_ns, token));
    }
    fn log(&mut self, text: String) {
        self.calls.push(format!("log: {text}"));
    }
    fn log_fault(&mut self, m: usize, text: String) {
        self.calls.push(format!("fault on m{}: {text}", m + 1));
    }
    fn time_catch_up(&mut self, _: usize) {}
    fn fault_window_end(&mut self, at_ns: Nanos, m: usize) {
        self.calls
            .push(format!("window end m{} at {}s", m + 1, at_ns / S));
    }
    fn count_skipped(&mut self) {
        self.skipped += 1;
    }
}

fn faults() -> Faults {
    Faults::new(stream(1, "faults"))
}

#[test]
fn a_timed_pause_resumes_when_its_window_ends() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    let action = Action::Pause {
        member: MemberRef::Leader,
        duration_ns: Some(3 * S),
    };
    f.on_action(action, &mut c);
    assert_eq!(
        c.take_calls(),
        ["fault on m1: pause m1 (leader)", "pause m1"]
    );
    c.advance(&mut f, 10 * S);
    assert_eq!(
        c.take_calls(),
        ["log: resume m1", "resume m1", "window end m1 at 3s"]
    );
}

#[test]
fn an_action_on_a_member_in_the_wrong_state_changes_nothing_and_says_so() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    c.processes[1] = Process::Paused;
    let pause = Action::Pause {
        member: MemberRef::Member(1),
        duration_ns: None,
    };
    f.on_action(pause, &mut c);
    f.on_action(
        Action::Restart {
            member: MemberRef::Member(2),
        },
        &mut c,
    );
    assert_eq!(
        c.take_calls(),
        [
            "log: pause m2: not running, no effect",
            "log: restart m3: not down (running or already restarting), no effect"
        ]
    );
    assert_eq!(c.skipped, 2);
    assert!(c.wakes.is_empty());
}

#[test]
fn the_leader_as_target_without_a_leader_is_skipped() {
    let (mut f, mut c) = (faults(), Fake::new(3, None));
    let crash = Action::Crash {
        member: MemberRef::Leader,
        duration_ns: Some(S),
    };
    f.on_action(crash, &mut c);
    assert_eq!(c.take_calls(), ["log: crash leader skipped: no leader"]);
    assert_eq!(c.skipped, 1);
}

#[test]
fn a_follower_as_target_is_a_running_member_other_than_the_leader() {
    for seed in 0..20 {
        let mut f = Faults::new(stream(seed, "faults"));
        let mut c = Fake::new(3, Some(0));
        c.processes[1] = Process::Paused;
        let crash = Action::Crash {
            member: MemberRef::Follower,
            duration_ns: None,
        };
        f.on_action(crash, &mut c);
        assert_eq!(
            c.take_calls(),
            ["fault on m3: crash m3 (follower)", "crash m3"]
        );
    }
    let (mut f, mut c) = (faults(), Fake::new(1, Some(0)));
    let pause = Action::Pause {
        member: MemberRef::Follower,
        duration_ns: None,
    };
    f.on_action(pause, &mut c);
    assert_eq!(
        c.take_calls(),
        ["log: pause follower skipped: no running follower"]
    );
}

#[test]
fn a_crash_with_a_duration_restarts_the_member_after_it() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    let crash = Action::Crash {
        member: MemberRef::Member(2),
        duration_ns: Some(5 * S),
    };
    f.on_action(crash, &mut c);
    c.advance(&mut f, 4 * S);
    assert_eq!(c.take_calls(), ["fault on m3: crash m3", "crash m3"]);
    c.advance(&mut f, 5 * S);
    assert_eq!(c.take_calls(), ["log: restart m3", "restart m3"]);
}

#[test]
fn isolating_a_member_cuts_both_directions_until_the_window_ends() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(1)));
    let isolate = Action::Isolate {
        member: MemberRef::Member(0),
        duration_ns: Some(2 * S),
    };
    f.on_action(isolate, &mut c);
    assert_eq!(
        c.take_calls(),
        [
            "fault on m1: isolate m1",
            "block m1->m2",
            "block m2->m1",
            "block m1->m3",
            "block m3->m1"
        ]
    );
    c.advance(&mut f, 2 * S);
    assert_eq!(
        c.take_calls(),
        [
            "log: partition healed",
            "unblock m1->m2",
            "unblock m2->m1",
            "unblock m1->m3",
            "unblock m3->m1",
            "window end m1 at 2s",
            "window end m2 at 2s",
            "window end m3 at 2s"
        ]
    );
}

#[test]
fn a_partition_that_cuts_the_leader_off_is_a_fault_on_the_leader() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(2)));
    let partition = Action::Partition {
        groups: vec![vec![0, 1], vec![2]],
        duration_ns: None,
    };
    f.on_action(partition, &mut c);
    assert_eq!(c.take_calls()[0], "fault on m3: partition [m1,m2] | [m3]");
    let one_way = Action::PartitionOneWay {
        from: vec![0],
        to: vec![1],
        duration_ns: None,
    };
    f.on_action(one_way, &mut c);
    assert_eq!(
        c.take_calls(),
        ["log: partition one-way [m1] -> [m2]", "block m1->m2"]
    );
}

#[test]
fn link_faults_are_removed_by_their_own_token() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    let fault = |duration_ns| Action::LinkFault {
        from: vec![0],
        to: vec![0, 1],
        symmetric: true,
        one_way_latency_ms: None,
        loss: Some(0.1),
        duration_ns,
    };
    // A fault without an end still takes a token: the tokens of later faults (and the trace)
    // do not depend on whether earlier ones end.
    f.on_action(fault(None), &mut c);
    f.on_action(fault(Some(S)), &mut c);
    assert_eq!(
        c.take_calls(),
        [
            "link fault 2 m1->m2",
            "link fault 2 m2->m1",
            "log: link fault [m1] | [m1,m2]",
            "link fault 3 m1->m2",
            "link fault 3 m2->m1",
            "log: link fault [m1] | [m1,m2]"
        ]
    );
    c.advance(&mut f, S);
    assert_eq!(
        c.take_calls(),
        ["log: link fault over", "link fault 3 removed"]
    );
}

#[test]
fn a_full_disk_that_is_freed_restarts_the_member_it_killed() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    let full = Action::DiskFull {
        member: MemberRef::Member(1),
        duration_ns: Some(60 * S),
    };
    f.on_action(full, &mut c);
    assert_eq!(
        c.take_calls(),
        [
            "fault on m2: data volume of m2 full (ENOSPC)",
            "disk m2 full until Some(60000000000)"
        ]
    );
    // The world crashes it on its next write; the timeline only sees it down.
    c.processes[1] = Process::Down { restarting: false };
    c.advance(&mut f, 60 * S);
    assert_eq!(
        c.take_calls(),
        [
            "disk m2 full until None",
            "log: space freed on m2",
            "log: restart m2",
            "restart m2",
            "window end m2 at 60s"
        ]
    );
}

#[test]
fn a_disk_stall_ends_its_fault_window_with_the_stall() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    c.now = 7 * S;
    let stall = Action::DiskStall {
        member: MemberRef::Leader,
        duration_ns: 2 * S,
    };
    f.on_action(stall, &mut c);
    assert_eq!(
        c.take_calls(),
        [
            "fault on m1: disk stall m1 (leader) for 2s",
            "stall disk m1 2s",
            "window end m1 at 9s"
        ]
    );
}

#[test]
fn only_a_stopped_members_wal_loses_its_tail() {
    let (mut f, mut c) = (faults(), Fake::new(3, Some(0)));
    let lose = || Action::WalTailLost {
        member: MemberRef::Member(2),
        entries: 5,
    };
    f.on_action(lose(), &mut c);
    c.processes[2] = Process::Down { restarting: false };
    f.on_action(lose(), &mut c);
    assert_eq!(
        c.take_calls(),
        [
            "lose 5 WAL records of m3",
            "log: wal_tail_lost m3: running (only a stopped member's WAL can lose its tail), no effect",
            "lose 5 WAL records of m3",
            "fault on m3: WAL of m3 lost its last 5 records"
        ]
    );
}

#[test]
fn an_armed_failpoint_restarts_its_member_after_the_panic_not_after_the_arming() {
    let (mut f, mut c) = (faults(), Fake::new(1, Some(0)));
    let arm = Action::Failpoint {
        member: MemberRef::Member(0),
        failpoint: Failpoint::CompactBeforeSetFinishedCompact,
        duration_ns: Some(S),
    };
    f.on_action(arm.clone(), &mut c);
    assert_eq!(
        c.take_calls(),
        [
            "log: failpoint compactBeforeSetFinishedCompact armed on m1",
            "arm a failpoint in m1"
        ]
    );
    c.advance(&mut f, 10 * S);
    assert!(c.take_calls().is_empty(), "nothing until the member panics");
    // The world took m1 down at the panic, 10 s in.
    c.processes[0] = Process::Down { restarting: false };
    f.on_failpoint_panic(0, &mut c);
    c.advance(&mut f, 12 * S);
    assert_eq!(
        c.take_calls(),
        [
            "fault on m1: m1 panicked at failpoint compactBeforeSetFinishedCompact",
            "log: restart m1",
            "restart m1"
        ]
    );
    // A member that is down cannot be armed.
    f.on_action(arm, &mut c);
    assert_eq!(
        c.take_calls(),
        ["log: failpoint m1: not running, no effect"]
    );
}
