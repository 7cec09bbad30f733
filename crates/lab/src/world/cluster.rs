//! The narrow interface through which the world's actors (the fault timeline today) act on
//! the cluster: read-only queries, process control, faults on links and disks, the operator,
//! their own wake-ups, and the run's log. `World` implements it; each actor's tests implement
//! it with a fake that records the calls.

use etcdlab_scenario::{Dist, Failpoint, OperatorCommand};
use etcdlab_sim::Nanos;

/// A member process as an actor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Process {
    Running,
    /// SIGSTOPped.
    Paused,
    /// Crashed or stopped; `restarting` while it replays its WAL.
    Down {
        restarting: bool,
    },
    /// No data dir (added but never started, or wiped).
    NoData,
}

pub(crate) trait Cluster {
    // -- queries
    fn now(&self) -> Nanos;
    /// Member slots (initial members, then those `member add` may bring in).
    fn slots(&self) -> usize;
    /// The cluster's leader as the run knows it.
    fn leader(&self) -> Option<usize>;
    fn process(&self, m: usize) -> Process;

    // -- process control
    /// SIGSTOP a running member.
    fn pause(&mut self, m: usize);
    /// SIGCONT a paused member.
    fn resume(&mut self, m: usize);
    /// Kill the process: what is not fsynced is lost.
    fn crash(&mut self, m: usize);
    /// Start a crashed member again (WAL replay first).
    fn restart(&mut self, m: usize);
    /// Arm a failpoint in a running member's process: it panics when it gets there.
    fn arm_failpoint(&mut self, m: usize, failpoint: Failpoint);

    // -- links and disks
    fn block_link(&mut self, from: usize, to: usize, blocked: bool);
    fn heal_all_links(&mut self);
    /// Extra latency and loss on a link until `remove_link_fault(id)`.
    fn add_link_fault(
        &mut self,
        id: u64,
        from: usize,
        to: usize,
        latency_ms: Option<Dist>,
        loss: Option<f64>,
    );
    fn remove_link_fault(&mut self, id: u64);
    fn stall_disk(&mut self, m: usize, duration_ns: Nanos);
    fn slow_disk(&mut self, m: usize, duration_ns: Nanos, factor: f64);
    /// The member's data volume is full until `until` (None: space was freed).
    fn fill_disk(&mut self, m: usize, until: Option<Nanos>);
    /// The member's bbolt file is corrupted (its next start fails).
    fn corrupt_backend(&mut self, m: usize);
    /// A stopped member's WAL loses its last `entries` records; false if it runs.
    fn lose_wal_tail(&mut self, m: usize, entries: u64) -> bool;
    /// The operator types a command.
    fn operator_command(&mut self, text: String, command: OperatorCommand);

    // -- the actor's own time
    /// Hand `token` back to the actor after `after_ns` (the end of a timed fault).
    fn wake_after(&mut self, after_ns: Nanos, token: u64);

    // -- the run's log
    fn log(&mut self, text: String);
    /// A fault on member `m` (failover times are measured from it).
    fn log_fault(&mut self, m: usize, text: String);
    /// A partition that cut `m` off is healed: if `m` is behind, time how long it takes to
    /// apply what the cluster has applied now (a resume does the same by itself).
    fn time_catch_up(&mut self, m: usize);
    /// The fault window on member `m` ends at `at_ns`.
    fn fault_window_end(&mut self, at_ns: Nanos, m: usize);
    /// An action that changed nothing.
    fn count_skipped(&mut self);
}
