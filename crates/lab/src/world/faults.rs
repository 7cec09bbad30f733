//! The fault timeline, an actor: `[[timeline]]` actions as they fire (pause, crash,
//! partitions, link faults, disk stalls, disk full, corruption, operator commands) and the end
//! of timed ones. It acts only through the `Cluster` interface.

use super::cluster::{Cluster, Process};
use etcdlab_scenario::{Action, Failpoint, MemberRef};
use etcdlab_sim::rng::below;
use etcdlab_sim::{Nanos, Rng};
use std::collections::BTreeMap;

/// What a timed fault has to undo when its window ends.
#[derive(Debug, PartialEq)]
enum Undo {
    /// Space was freed on the member's volume: restart it if it died of ENOSPC.
    DiskFreed(usize),
    Resume(usize),
    Restart(usize),
    Unblock(Vec<(usize, usize)>),
    LinkFault(u64),
}

pub(crate) struct Faults {
    /// Timed faults in force, by the token their end comes back with.
    undo: BTreeMap<u64, Undo>,
    next_token: u64,
    /// Draws "which follower" (its own stream: other draws never shift it).
    rng: Rng,
    /// Members armed with a failpoint: which, and how long after its panic they restart.
    armed: BTreeMap<usize, (Failpoint, Option<Nanos>)>,
}

impl Faults {
    pub fn new(rng: Rng) -> Faults {
        Faults {
            undo: BTreeMap::new(),
            next_token: 1,
            rng,
            armed: BTreeMap::new(),
        }
    }

    /// A timeline action fires.
    pub fn on_action(&mut self, action: Action, c: &mut impl Cluster) {
        match action {
            Action::Pause { .. }
            | Action::Resume { .. }
            | Action::Crash { .. }
            | Action::Restart { .. }
            | Action::Failpoint { .. } => self.process_fault(action, c),
            Action::Isolate { .. }
            | Action::Partition { .. }
            | Action::PartitionOneWay { .. }
            | Action::Heal
            | Action::LinkFault { .. } => self.network_fault(action, c),
            Action::DiskStall { .. }
            | Action::DiskSlow { .. }
            | Action::CorruptBackend { .. }
            | Action::WalTailLost { .. }
            | Action::DiskFull { .. } => self.data_fault(action, c),
            Action::Operator { text, command } => c.operator_command(text, command),
        }
    }

    /// SIGSTOP, SIGCONT, crash, restart.
    fn process_fault(&mut self, action: Action, c: &mut impl Cluster) {
        match action {
            Action::Pause {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "pause", c) else {
                    return;
                };
                if c.process(m) != Process::Running {
                    return no_effect(&member, m, "pause", "not running", c);
                }
                c.log_fault(m, format!("pause {}", describe(&member, m)));
                c.pause(m);
                self.after(duration_ns, Undo::Resume(m), c);
            }
            Action::Resume { member } => {
                let Some(m) = self.resolve(&member, "resume", c) else {
                    return;
                };
                if c.process(m) != Process::Paused {
                    return no_effect(&member, m, "resume", "not paused", c);
                }
                c.log(format!("resume {}", describe(&member, m)));
                c.resume(m);
            }
            Action::Crash {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "crash", c) else {
                    return;
                };
                if matches!(c.process(m), Process::Down { .. }) {
                    return no_effect(&member, m, "crash", "already down", c);
                }
                c.log_fault(m, format!("crash {}", describe(&member, m)));
                c.crash(m);
                self.after(duration_ns, Undo::Restart(m), c);
            }
            Action::Restart { member } => {
                let Some(m) = self.resolve(&member, "restart", c) else {
                    return;
                };
                if c.process(m) != (Process::Down { restarting: false }) {
                    let why = "not down (running or already restarting)";
                    return no_effect(&member, m, "restart", why, c);
                }
                c.log(format!("restart {}", describe(&member, m)));
                c.restart(m);
            }
            Action::Failpoint {
                member,
                failpoint,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "failpoint", c) else {
                    return;
                };
                if !matches!(c.process(m), Process::Running | Process::Paused) {
                    return no_effect(&member, m, "failpoint", "not running", c);
                }
                c.log(format!(
                    "failpoint {} armed on {}",
                    failpoint_name(failpoint),
                    describe(&member, m)
                ));
                c.arm_failpoint(m, failpoint);
                self.armed.insert(m, (failpoint, duration_ns));
            }
            other => unreachable!("not a process fault: {other:?}"),
        }
    }

    /// Member `m` panicked at the failpoint it was armed with (the world has taken it down):
    /// restart it when the action said so.
    pub fn on_failpoint_panic(&mut self, m: usize, c: &mut impl Cluster) {
        let (failpoint, restart_after) = self.armed.remove(&m).expect("armed by the timeline");
        c.log_fault(
            m,
            format!(
                "m{} panicked at failpoint {}",
                m + 1,
                failpoint_name(failpoint)
            ),
        );
        self.after(restart_after, Undo::Restart(m), c);
    }

    /// Partitions, isolation, link faults and healing.
    fn network_fault(&mut self, action: Action, c: &mut impl Cluster) {
        match action {
            Action::Isolate {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "isolate", c) else {
                    return;
                };
                c.log_fault(m, format!("isolate {}", describe(&member, m)));
                let links: Vec<_> = (0..c.slots())
                    .filter(|o| *o != m)
                    .flat_map(|o| [(m, o), (o, m)])
                    .collect();
                self.cut(links, duration_ns, c);
            }
            Action::Partition {
                groups,
                duration_ns,
            } => {
                let links = links_between(&groups);
                let text = format!("partition {}", describe_groups(&groups));
                partition_fault(&links, text, c);
                self.cut(links, duration_ns, c);
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
                partition_fault(&links, text, c);
                self.cut(links, duration_ns, c);
            }
            Action::Heal => {
                c.log("heal all partitions".into());
                c.heal_all_links();
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
                    for &b in to.iter().filter(|b| **b != a) {
                        c.add_link_fault(token, a, b, one_way_latency_ms.clone(), loss);
                        if symmetric {
                            c.add_link_fault(token, b, a, one_way_latency_ms.clone(), loss);
                        }
                    }
                }
                c.log(format!("link fault {}", describe_groups(&[from, to])));
                if let Some(d) = duration_ns {
                    self.undo.insert(token, Undo::LinkFault(token));
                    c.wake_after(d, token);
                }
            }
            other => unreachable!("not a network fault: {other:?}"),
        }
    }

    /// Disk stalls, slow disks, full volumes and broken data files.
    fn data_fault(&mut self, action: Action, c: &mut impl Cluster) {
        let now = c.now();
        match action {
            Action::DiskStall {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_stall", c) else {
                    return;
                };
                let text = format!(
                    "disk stall {} for {}",
                    describe(&member, m),
                    etcdlab_scenario::format_duration(duration_ns)
                );
                c.log_fault(m, text);
                c.stall_disk(m, duration_ns);
                c.fault_window_end(now + duration_ns, m);
            }
            Action::DiskSlow {
                member,
                factor,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_slow", c) else {
                    return;
                };
                c.log_fault(m, format!("disk slow x{factor} {}", describe(&member, m)));
                c.slow_disk(m, duration_ns, factor);
            }
            Action::CorruptBackend { member } => {
                let Some(m) = self.resolve(&member, "corrupt_backend", c) else {
                    return;
                };
                c.log_fault(
                    m,
                    format!("bbolt file of {} corrupted", describe(&member, m)),
                );
                c.corrupt_backend(m);
            }
            Action::WalTailLost { member, entries } => {
                let Some(m) = self.resolve(&member, "wal_tail_lost", c) else {
                    return;
                };
                if c.lose_wal_tail(m, entries) {
                    let what = describe(&member, m);
                    c.log_fault(m, format!("WAL of {what} lost its last {entries} records"));
                } else {
                    let why = "running (only a stopped member's WAL can lose its tail)";
                    no_effect(&member, m, "wal_tail_lost", why, c);
                }
            }
            Action::DiskFull {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_full", c) else {
                    return;
                };
                let what = describe(&member, m);
                c.log_fault(m, format!("data volume of {what} full (ENOSPC)"));
                c.fill_disk(
                    m,
                    Some(duration_ns.map_or(Nanos::MAX, |d| now.saturating_add(d))),
                );
                self.after(duration_ns, Undo::DiskFreed(m), c);
            }
            other => unreachable!("not a data fault: {other:?}"),
        }
    }

    fn cut(
        &mut self,
        links: Vec<(usize, usize)>,
        duration_ns: Option<Nanos>,
        c: &mut impl Cluster,
    ) {
        for &(a, b) in &links {
            c.block_link(a, b, true);
        }
        self.after(duration_ns, Undo::Unblock(links), c);
    }

    /// Undo after `duration_ns` (a fault without one lasts to the end of the run).
    fn after(&mut self, duration_ns: Option<Nanos>, undo: Undo, c: &mut impl Cluster) {
        if let Some(d) = duration_ns {
            let token = self.token();
            self.undo.insert(token, undo);
            c.wake_after(d, token);
        }
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// A timed fault's window is over: undo it.
    pub fn on_action_end(&mut self, token: u64, c: &mut impl Cluster) {
        let Some(undo) = self.undo.remove(&token) else {
            return;
        };
        let now = c.now();
        match undo {
            Undo::DiskFreed(m) => {
                c.fill_disk(m, None);
                c.log(format!("space freed on m{}", m + 1));
                if matches!(c.process(m), Process::Down { .. }) {
                    c.log(format!("restart m{}", m + 1));
                    c.restart(m);
                }
                c.fault_window_end(now, m);
            }
            Undo::Resume(m) => {
                c.log(format!("resume m{}", m + 1));
                c.resume(m);
                c.fault_window_end(now, m);
            }
            Undo::Restart(m) => {
                c.log(format!("restart m{}", m + 1));
                c.restart(m);
            }
            Undo::Unblock(links) => {
                c.log("partition healed".into());
                for (a, b) in links {
                    c.block_link(a, b, false);
                }
                for m in 0..c.slots() {
                    c.time_catch_up(m);
                    c.fault_window_end(now, m);
                }
            }
            Undo::LinkFault(id) => {
                c.log("link fault over".into());
                c.remove_link_fault(id);
            }
        }
    }

    /// Resolve "leader", "follower" or a member name at the moment the action fires.
    fn resolve(&mut self, r: &MemberRef, what: &str, c: &mut impl Cluster) -> Option<usize> {
        match r {
            MemberRef::Member(m) => Some(*m),
            MemberRef::Leader => {
                let l = c.leader();
                if l.is_none() {
                    c.log(format!("{what} leader skipped: no leader"));
                    c.count_skipped();
                }
                l
            }
            MemberRef::Follower => {
                let leader = c.leader();
                let followers: Vec<usize> = (0..c.slots())
                    .filter(|m| Some(*m) != leader && c.process(*m) == Process::Running)
                    .collect();
                if followers.is_empty() {
                    c.log(format!("{what} follower skipped: no running follower"));
                    c.count_skipped();
                    return None;
                }
                let i = below(&mut self.rng, followers.len() as u64) as usize;
                Some(followers[i])
            }
        }
    }
}

/// An action that changes nothing (its target is not in the state it acts on): say so.
fn no_effect(r: &MemberRef, m: usize, what: &str, why: &str, c: &mut impl Cluster) {
    c.log(format!("{what} {}: {why}, no effect", describe(r, m)));
    c.count_skipped();
}

/// A partition that cuts the leader off is a fault on the leader (for failover times).
fn partition_fault(links: &[(usize, usize)], text: String, c: &mut impl Cluster) {
    match c.leader() {
        Some(l) if links.iter().any(|(a, _)| *a == l) => c.log_fault(l, text),
        _ => c.log(text),
    }
}

/// Both directions of every link between members of different groups.
fn links_between(groups: &[Vec<usize>]) -> Vec<(usize, usize)> {
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
    links
}

fn describe(r: &MemberRef, m: usize) -> String {
    match r {
        MemberRef::Member(_) => format!("m{}", m + 1),
        MemberRef::Leader => format!("m{} (leader)", m + 1),
        MemberRef::Follower => format!("m{} (follower)", m + 1),
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

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;

/// A failpoint by etcd's name for it.
fn failpoint_name(failpoint: Failpoint) -> &'static str {
    match failpoint {
        Failpoint::CompactBeforeSetFinishedCompact => "compactBeforeSetFinishedCompact",
    }
}
