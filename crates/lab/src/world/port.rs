//! The world as its actors see it: `impl Cluster for World`, and the hand-over of events to
//! the actors.

use super::cluster::{Cluster, Process};
use super::faults::Faults;
use super::{Ev, Slot, World};
use etcdlab_scenario::{Dist, Failpoint, OperatorCommand};
use etcdlab_sim::Nanos;

impl World<'_> {
    /// Hand the fault timeline an event; it acts on the world through `Cluster`.
    fn with_faults(&mut self, f: impl FnOnce(&mut Faults, &mut Self)) {
        let mut faults = self.faults.take().expect("the timeline is not re-entered");
        f(&mut faults, self);
        self.faults = Some(faults);
    }

    pub(super) fn on_action(&mut self, index: usize) {
        let action = self.sc.timeline[index].action.clone();
        self.rec.action_fired();
        self.with_faults(|faults, w| faults.on_action(action, w));
    }

    pub(super) fn on_action_end(&mut self, token: u64) {
        self.with_faults(|faults, w| faults.on_action_end(token, w));
    }

    /// Member `m` panicked at a failpoint: the process is gone, as after a crash, and the
    /// timeline decides when it comes back.
    pub(super) fn on_failpoint_panic(&mut self, m: usize) {
        World::crash(self, m);
        self.with_faults(|faults, w| faults.on_failpoint_panic(m, w));
    }
}

impl Cluster for World<'_> {
    fn now(&self) -> Nanos {
        self.q.now()
    }

    fn slots(&self) -> usize {
        self.nodes.len()
    }

    fn leader(&self) -> Option<usize> {
        self.rec.cluster_leader()
    }

    fn process(&self, m: usize) -> Process {
        match &self.nodes[m].slot {
            Slot::Running(_) => Process::Running,
            Slot::Paused(..) => Process::Paused,
            Slot::Down { restarting, .. } => Process::Down {
                restarting: *restarting,
            },
            Slot::Empty | Slot::NoData => Process::NoData,
        }
    }

    fn pause(&mut self, m: usize) {
        World::pause(self, m);
    }

    fn resume(&mut self, m: usize) {
        World::resume(self, m);
    }

    fn crash(&mut self, m: usize) {
        World::crash(self, m);
    }

    fn restart(&mut self, m: usize) {
        self.start_restart(m);
    }

    fn arm_failpoint(&mut self, m: usize, failpoint: Failpoint) {
        let failpoint = match failpoint {
            Failpoint::CompactBeforeSetFinishedCompact => {
                etcdlab_member::Failpoint::CompactBeforeSetFinishedCompact
            }
        };
        if let Slot::Running(member) | Slot::Paused(member, _) = &mut self.nodes[m].slot {
            member.arm_failpoint(failpoint);
        }
    }

    fn block_link(&mut self, from: usize, to: usize, blocked: bool) {
        self.net.block(from, to, blocked);
        self.refresh_links();
    }

    fn heal_all_links(&mut self) {
        self.net.heal_all();
        self.refresh_links();
    }

    fn add_link_fault(
        &mut self,
        id: u64,
        from: usize,
        to: usize,
        latency_ms: Option<Dist>,
        loss: Option<f64>,
    ) {
        self.net.add_fault(id, from, to, latency_ms, loss);
    }

    fn remove_link_fault(&mut self, id: u64) {
        self.net.remove_fault(id);
    }

    fn stall_disk(&mut self, m: usize, duration_ns: Nanos) {
        let now = self.q.now();
        self.nodes[m].disk.stall(now, duration_ns);
    }

    fn slow_disk(&mut self, m: usize, duration_ns: Nanos, factor: f64) {
        let now = self.q.now();
        self.nodes[m].disk.slow_down(now, duration_ns, factor);
    }

    fn fill_disk(&mut self, m: usize, until: Option<Nanos>) {
        self.nodes[m].disk_full_until = until;
    }

    fn corrupt_backend(&mut self, m: usize) {
        World::corrupt_backend(self, m);
    }

    fn lose_wal_tail(&mut self, m: usize, entries: u64) -> bool {
        self.wal_tail_lost(m, entries)
    }

    fn operator_command(&mut self, text: String, command: OperatorCommand) {
        self.hand_operator(super::OperatorInput::Command { text, command });
    }

    fn wake_after(&mut self, after_ns: Nanos, token: u64) {
        self.q.schedule_in(after_ns, Ev::ActionEnd { token });
    }

    fn log(&mut self, text: String) {
        let now = self.q.now();
        self.rec.timeline(now, text);
    }

    fn log_fault(&mut self, m: usize, text: String) {
        let now = self.q.now();
        self.rec.fault_on(now, m, text);
    }

    fn time_catch_up(&mut self, m: usize) {
        World::time_catch_up(self, m);
    }

    fn fault_window_end(&mut self, at_ns: Nanos, m: usize) {
        self.rec.fault_window_end(at_ns, m);
    }

    fn count_skipped(&mut self) {
        self.rec.action_skipped();
    }
}
