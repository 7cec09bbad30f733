//! The fault timeline: `[[timeline]]` actions as they fire (pause, crash, partitions, link faults, disk stalls, disk full, corruption, operator commands) and the end of timed ones.

use super::*;

impl World<'_> {
    pub(super) fn on_action(&mut self, index: usize) {
        let action = self.sc.timeline[index].action.clone();
        self.rec.actions += 1;
        let now = self.q.now();
        match action {
            Action::Pause { .. }
            | Action::Resume { .. }
            | Action::Crash { .. }
            | Action::Restart { .. } => self.process_fault(now, action),
            Action::Isolate { .. }
            | Action::Partition { .. }
            | Action::PartitionOneWay { .. }
            | Action::Heal
            | Action::LinkFault { .. } => self.network_fault(now, action),
            Action::DiskStall { .. }
            | Action::DiskSlow { .. }
            | Action::CorruptBackend { .. }
            | Action::WalTailLost { .. }
            | Action::DiskFull { .. } => self.data_fault(now, action),
            Action::Operator { text, command } => self.run_operator_command(text, command),
        }
    }

    /// SIGSTOP, SIGCONT, crash, restart.
    fn process_fault(&mut self, now: Nanos, action: Action) {
        match action {
            Action::Pause {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "pause") else {
                    return;
                };
                if !self.nodes[m].slot.is_running() {
                    self.no_effect(&member, m, "pause", "not running");
                    return;
                }
                self.rec
                    .fault_on(now, m, format!("pause {}", self.describe(&member, m)));
                self.pause(m);
                self.after(duration_ns, Undo::Resume(m));
            }
            Action::Resume { member } => {
                let Some(m) = self.resolve(&member, "resume") else {
                    return;
                };
                if !matches!(self.nodes[m].slot, Slot::Paused(..)) {
                    self.no_effect(&member, m, "resume", "not paused");
                    return;
                }
                self.rec
                    .timeline(now, format!("resume {}", self.describe(&member, m)));
                self.resume(m);
            }
            Action::Crash {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "crash") else {
                    return;
                };
                if matches!(self.nodes[m].slot, Slot::Down { .. }) {
                    self.no_effect(&member, m, "crash", "already down");
                    return;
                }
                self.rec
                    .fault_on(now, m, format!("crash {}", self.describe(&member, m)));
                self.crash(m);
                self.after(duration_ns, Undo::Restart(m));
            }
            Action::Restart { member } => {
                let Some(m) = self.resolve(&member, "restart") else {
                    return;
                };
                if !matches!(
                    self.nodes[m].slot,
                    Slot::Down {
                        restarting: false,
                        ..
                    }
                ) {
                    self.no_effect(
                        &member,
                        m,
                        "restart",
                        "not down (running or already restarting)",
                    );
                    return;
                }
                self.rec
                    .timeline(now, format!("restart {}", self.describe(&member, m)));
                self.start_restart(m);
            }
            other => unreachable!("not a process fault: {other:?}"),
        }
    }

    /// Partitions, isolation, link faults and healing.
    fn network_fault(&mut self, now: Nanos, action: Action) {
        match action {
            Action::Isolate {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "isolate") else {
                    return;
                };
                self.rec
                    .fault_on(now, m, format!("isolate {}", self.describe(&member, m)));
                let n = self.nodes.len();
                let links: Vec<_> = (0..n)
                    .filter(|o| *o != m)
                    .flat_map(|o| [(m, o), (o, m)])
                    .collect();
                self.cut(links, duration_ns);
            }
            Action::Partition {
                groups,
                duration_ns,
            } => {
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
                let text = format!("partition {}", describe_groups(&groups));
                self.partition_fault(now, &links, text);
                self.cut(links, duration_ns);
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
                self.partition_fault(now, &links, text);
                self.cut(links, duration_ns);
            }
            Action::Heal => {
                self.rec.timeline(now, "heal all partitions".into());
                self.net.heal_all();
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
                    for &b in &to {
                        if a == b {
                            continue;
                        }
                        self.net
                            .add_fault(token, a, b, one_way_latency_ms.clone(), loss);
                        if symmetric {
                            self.net
                                .add_fault(token, b, a, one_way_latency_ms.clone(), loss);
                        }
                    }
                }
                self.rec
                    .timeline(now, format!("link fault {}", describe_groups(&[from, to])));
                if let Some(d) = duration_ns {
                    self.undo.insert(token, Undo::LinkFault(token));
                    self.q.schedule_in(d, Ev::ActionEnd { token });
                }
            }
            other => unreachable!("not a network fault: {other:?}"),
        }
    }

    /// Disk stalls, slow disks, full volumes and broken data files.
    fn data_fault(&mut self, now: Nanos, action: Action) {
        match action {
            Action::DiskStall {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_stall") else {
                    return;
                };
                let text = format!(
                    "disk stall {} for {}",
                    self.describe(&member, m),
                    etcdlab_scenario::format_duration(duration_ns)
                );
                self.rec.fault_on(now, m, text);
                self.nodes[m].disk.stall(now, duration_ns);
                self.rec.fault_window_end(now + duration_ns, m);
            }
            Action::DiskSlow {
                member,
                factor,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_slow") else {
                    return;
                };
                let text = format!("disk slow x{factor} {}", self.describe(&member, m));
                self.rec.fault_on(now, m, text);
                self.nodes[m].disk.slow_down(now, duration_ns, factor);
            }
            Action::CorruptBackend { member } => {
                let Some(m) = self.resolve(&member, "corrupt_backend") else {
                    return;
                };
                let text = format!("bbolt file of {} corrupted", self.describe(&member, m));
                self.rec.fault_on(now, m, text);
                self.corrupt_backend(m);
            }
            Action::WalTailLost { member, entries } => {
                let Some(m) = self.resolve(&member, "wal_tail_lost") else {
                    return;
                };
                if self.wal_tail_lost(m, entries) {
                    let text = format!(
                        "WAL of {} lost its last {entries} records",
                        self.describe(&member, m)
                    );
                    self.rec.fault_on(now, m, text);
                } else {
                    self.no_effect(
                        &member,
                        m,
                        "wal_tail_lost",
                        "running (only a stopped member's WAL can lose its tail)",
                    );
                }
            }
            Action::DiskFull {
                member,
                duration_ns,
            } => {
                let Some(m) = self.resolve(&member, "disk_full") else {
                    return;
                };
                let text = format!("data volume of {} full (ENOSPC)", self.describe(&member, m));
                self.rec.fault_on(now, m, text);
                self.nodes[m].disk_full_until =
                    Some(duration_ns.map_or(Nanos::MAX, |d| now.saturating_add(d)));
                self.after(duration_ns, Undo::DiskFreed(m));
            }
            other => unreachable!("not a data fault: {other:?}"),
        }
    }

    /// An action that changes nothing (its target is not in the state it acts on): say so.
    pub(super) fn no_effect(&mut self, r: &MemberRef, m: usize, what: &str, why: &str) {
        let now = self.q.now();
        let text = format!("{what} {}: {why}, no effect", self.describe(r, m));
        self.rec.timeline(now, text);
        self.rec.skipped_actions += 1;
    }

    pub(super) fn partition_fault(&mut self, now: Nanos, links: &[(usize, usize)], text: String) {
        // A partition that cuts the leader off is a fault on the leader (for failover times).
        match self.rec.cluster_leader() {
            Some(l) if links.iter().any(|(a, _)| *a == l) => self.rec.fault_on(now, l, text),
            _ => self.rec.timeline(now, text),
        }
    }

    pub(super) fn cut(&mut self, links: Vec<(usize, usize)>, duration_ns: Option<Nanos>) {
        for &(a, b) in &links {
            self.net.block(a, b, true);
        }
        self.after(duration_ns, Undo::Unblock(links));
    }

    pub(super) fn after(&mut self, duration_ns: Option<Nanos>, undo: Undo) {
        if let Some(d) = duration_ns {
            let token = self.token();
            self.undo.insert(token, undo);
            self.q.schedule_in(d, Ev::ActionEnd { token });
        }
    }

    pub(super) fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    pub(super) fn on_action_end(&mut self, token: u64) {
        let Some(undo) = self.undo.remove(&token) else {
            return;
        };
        let now = self.q.now();
        match undo {
            Undo::DiskFreed(m) => {
                self.nodes[m].disk_full_until = None;
                self.rec.timeline(now, format!("space freed on m{}", m + 1));
                if matches!(self.nodes[m].slot, Slot::Down { .. }) {
                    self.rec.timeline(now, format!("restart m{}", m + 1));
                    self.start_restart(m);
                }
                self.rec.fault_window_end(now, m);
            }
            Undo::Resume(m) => {
                self.rec.timeline(now, format!("resume m{}", m + 1));
                self.resume(m);
                self.rec.fault_window_end(now, m);
            }
            Undo::Restart(m) => {
                self.rec.timeline(now, format!("restart m{}", m + 1));
                self.start_restart(m);
            }
            Undo::Unblock(links) => {
                self.rec.timeline(now, "partition healed".into());
                for (a, b) in links {
                    self.net.block(a, b, false);
                }
                for m in 0..self.nodes.len() {
                    self.rec.fault_window_end(now, m);
                }
            }
            Undo::LinkFault(id) => {
                self.rec.timeline(now, "link fault over".into());
                self.net.remove_fault(id);
            }
        }
    }

    /// Resolve "leader", "follower" or a member name at the moment the action fires.
    pub(super) fn resolve(&mut self, r: &MemberRef, what: &str) -> Option<usize> {
        let now = self.q.now();
        match r {
            MemberRef::Member(m) => Some(*m),
            MemberRef::Leader => {
                let l = self.rec.cluster_leader();
                if l.is_none() {
                    self.rec
                        .timeline(now, format!("{what} leader skipped: no leader"));
                    self.rec.skipped_actions += 1;
                }
                l
            }
            MemberRef::Follower => {
                let leader = self.rec.cluster_leader();
                let followers: Vec<usize> = (0..self.nodes.len())
                    .filter(|m| Some(*m) != leader && self.nodes[*m].slot.is_running())
                    .collect();
                if followers.is_empty() {
                    let text = format!("{what} follower skipped: no running follower");
                    self.rec.timeline(now, text);
                    self.rec.skipped_actions += 1;
                    return None;
                }
                let i = below(&mut self.faults_rng, followers.len() as u64) as usize;
                Some(followers[i])
            }
        }
    }

    pub(super) fn describe(&self, r: &MemberRef, m: usize) -> String {
        match r {
            MemberRef::Member(_) => format!("m{}", m + 1),
            MemberRef::Leader => format!("m{} (leader)", m + 1),
            MemberRef::Follower => format!("m{} (follower)", m + 1),
        }
    }
}

pub(super) fn describe_groups(groups: &[Vec<usize>]) -> String {
    groups
        .iter()
        .map(|g| {
            let names: Vec<String> = g.iter().map(|m| format!("m{}", m + 1)).collect();
            format!("[{}]", names.join(","))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// What a timed fault has to undo when its window ends.
pub(super) enum Undo {
    /// Space was freed on the member's volume: restart it if it died of ENOSPC.
    DiskFreed(usize),
    Resume(usize),
    Restart(usize),
    Unblock(Vec<(usize, usize)>),
    LinkFault(u64),
}
