//! What a run records: one append-only log of what happened (`Event`: roles, campaigns,
//! leaders won and lost, faults, timeline lines, operator steps, watch relists, alarms,
//! warnings, timeline actions), beside the clients' history (`history.rs`, their own log of
//! every request) and the samples of metrics (fsync latencies, db sizes). Everything the
//! report says of elections, failovers and leaders is a fold over the log (`Fold`); the world
//! asks the same fold, kept up to date as events arrive, who leads now.

use crate::history::{histogram, History};
use crate::world::{AlarmLog, Relist, StepLog, StorageRecord};
use etcdlab_member::WARN_HEARTBEAT_LATE;
use etcdlab_report::{
    ElectionCause, LeaderSpan, RoleChange, RoleKind, TimelineEntry, WarningCount,
};
use etcdlab_scenario::Scenario;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

type Nanos = u64;

/// One thing that happened in a run, in the order it happened.
#[derive(Clone, Debug)]
pub enum Event {
    /// A member's role or term changed.
    Role {
        at_ns: Nanos,
        member: usize,
        role: RoleKind,
        term: u64,
    },
    /// A member started a campaign (pre-vote or vote), with what the old leader was doing.
    Campaign {
        at_ns: Nanos,
        member: usize,
        timeout_ms: Option<f64>,
        leader: Option<LeaderState>,
    },
    /// A member leads a term newer than the cluster's last leader's.
    LeaderElected {
        at_ns: Nanos,
        member: usize,
        term: u64,
    },
    /// The cluster's leader is gone (it crashed or stepped down).
    LeaderLost { at_ns: Nanos },
    /// A fault hit a member (a timeline line too).
    Fault {
        at_ns: Nanos,
        member: usize,
        what: String,
    },
    /// A fault's window on a member ended.
    FaultEnd { at_ns: Nanos, member: usize },
    /// A member that was behind when its pause or partition ended has applied everything the
    /// cluster had applied at that moment (`since_ns`).
    CaughtUp { at_ns: Nanos, since_ns: Nanos },
    /// A line of the run's timeline.
    Timeline { at_ns: Nanos, what: String },
    /// A timeline action fired.
    ActionFired,
    /// A timeline action that fired changed nothing (no target, wrong state).
    ActionSkipped,
    /// An operator command ran, with its output.
    OperatorStep(StepLog),
    /// A watch client relisted after its revision was compacted.
    Relist(Relist),
    /// An alarm was raised or cleared (logged once, when the first member applied it).
    Alarm(AlarmLog),
    /// etcd's "failed to send out heartbeat on time" on a member.
    HeartbeatLate { at_ns: Nanos, member: usize },
    /// The run ended.
    End { at_ns: Nanos },
}

impl Event {
    /// When it happened (None: an action's count, which the timeline line beside it times).
    pub fn at_ns(&self) -> Option<Nanos> {
        match self {
            Event::Role { at_ns, .. }
            | Event::Campaign { at_ns, .. }
            | Event::LeaderElected { at_ns, .. }
            | Event::LeaderLost { at_ns }
            | Event::Fault { at_ns, .. }
            | Event::FaultEnd { at_ns, .. }
            | Event::CaughtUp { at_ns, .. }
            | Event::Timeline { at_ns, .. }
            | Event::HeartbeatLate { at_ns, .. }
            | Event::End { at_ns } => Some(*at_ns),
            Event::OperatorStep(s) => Some(s.finished_ns),
            Event::Relist(r) => Some(r.at_ns),
            Event::Alarm(a) => Some(a.at_ns),
            Event::ActionFired | Event::ActionSkipped => None,
        }
    }
}

/// What the old leader was doing when a follower's timer fired.
#[derive(Clone, Debug)]
pub struct LeaderState {
    pub fsync_started_ns: Option<Nanos>,
    pub fsync_ms: Option<f64>,
    pub down: bool,
}

pub struct Recorder {
    /// Everything that happened, in order.
    log: Vec<Event>,
    /// The fold of the log so far: who leads now, for the world's questions.
    live: Fold,
    /// Every client write and read, call to return.
    pub history: History,
    /// Alarms in force, db sizes and quota over time, and when writes stopped and came back.
    pub storage: StorageRecord,
    pub fsync_us: Vec<Histogram<u64>>,
    pub fsync_all_us: Histogram<u64>,
}

impl Recorder {
    pub fn new(sc: &Scenario) -> Recorder {
        Recorder::with_members(sc.member_slots(), sc.cluster.quota_backend_bytes)
    }

    /// A recorder for `n` member slots and this quota.
    pub fn with_members(n: usize, quota_backend_bytes: u64) -> Recorder {
        Recorder {
            log: Vec::new(),
            live: Fold::new(n),
            history: History::default(),
            storage: StorageRecord::new(quota_backend_bytes),
            fsync_us: vec![histogram(); n],
            fsync_all_us: histogram(),
        }
    }

    fn record(&mut self, e: Event) {
        if let Some(at_ns) = e.at_ns() {
            tracing::debug!(target: "etcdlab::record", "{:.6} {e:?}", at_ns as f64 / 1e9);
        }
        self.live.apply(&e);
        self.log.push(e);
    }

    /// A member started a campaign (pre-vote or vote).
    pub fn campaign(
        &mut self,
        now: Nanos,
        m: usize,
        timeout_ms: Option<f64>,
        leader_state: Option<LeaderState>,
    ) {
        self.record(Event::Campaign {
            at_ns: now,
            member: m,
            timeout_ms,
            leader: leader_state,
        });
    }

    pub fn role(&mut self, now: Nanos, m: usize, role: RoleKind, term: u64) {
        if self.live.last_role[m] == Some((role, term)) {
            return;
        }
        tracing::debug!(
            target: "etcdlab::roles",
            "{:.3} m{} {role:?} t{term}",
            now as f64 / 1e9,
            m + 1
        );
        self.record(Event::Role {
            at_ns: now,
            member: m,
            role,
            term,
        });
    }

    pub fn cluster_leader(&self) -> Option<usize> {
        self.live.cluster_leader()
    }

    pub fn is_cluster_leader(&self, m: usize) -> bool {
        self.cluster_leader() == Some(m)
    }

    pub fn leader_elected(&mut self, now: Nanos, m: usize, term: u64) {
        self.record(Event::LeaderElected {
            at_ns: now,
            member: m,
            term,
        });
    }

    pub fn leader_lost(&mut self, now: Nanos) {
        self.record(Event::LeaderLost { at_ns: now });
    }

    /// A fault hit member `m`: if it is the leader, the failover is timed from now.
    pub fn fault_on(&mut self, now: Nanos, m: usize, what: String) {
        self.record(Event::Fault {
            at_ns: now,
            member: m,
            what,
        });
    }

    /// A fault's window on `m` ended. If the leader it hit is still leader, there was no
    /// failover to time.
    pub fn fault_window_end(&mut self, now: Nanos, m: usize) {
        self.record(Event::FaultEnd {
            at_ns: now,
            member: m,
        });
    }

    /// A member, behind since its pause or partition ended at `since_ns`, has caught up.
    pub fn caught_up(&mut self, now: Nanos, since_ns: Nanos) {
        self.record(Event::CaughtUp {
            at_ns: now,
            since_ns,
        });
    }

    pub fn timeline(&mut self, now: Nanos, what: String) {
        self.record(Event::Timeline { at_ns: now, what });
    }

    pub fn action_fired(&mut self) {
        self.record(Event::ActionFired);
    }

    pub fn action_skipped(&mut self) {
        self.record(Event::ActionSkipped);
    }

    pub fn operator_step(&mut self, step: StepLog) {
        self.record(Event::OperatorStep(step));
    }

    pub fn relist(&mut self, relist: Relist) {
        self.record(Event::Relist(relist));
    }

    pub fn alarm(&mut self, change: AlarmLog) {
        self.record(Event::Alarm(change));
    }

    pub fn fsync(&mut self, m: usize, fsync_ns: Nanos) {
        let us = (fsync_ns / 1000).max(1);
        self.fsync_us[m].saturating_record(us);
        self.fsync_all_us.saturating_record(us);
    }

    pub fn heartbeat_late(&mut self, now: Nanos, m: usize) {
        self.record(Event::HeartbeatLate {
            at_ns: now,
            member: m,
        });
    }

    /// The run ended: the leader timeline closes here.
    pub fn finish(&mut self, end: Nanos) {
        self.record(Event::End { at_ns: end });
    }

    /// The log folded from its first event: the figures the report gives.
    pub fn fold(&self) -> Fold {
        let mut fold = Fold::new(self.live.last_role.len());
        for e in &self.log {
            fold.apply(e);
        }
        fold
    }

    pub fn role_changes(&self) -> Vec<RoleChange> {
        self.log
            .iter()
            .filter_map(|e| match *e {
                Event::Role {
                    at_ns,
                    member,
                    role,
                    term,
                } => Some(RoleChange {
                    at_ns,
                    member,
                    role,
                    term,
                }),
                _ => None,
            })
            .collect()
    }

    /// The timeline: its own lines and the faults, in order.
    pub fn timeline_entries(&self) -> Vec<TimelineEntry> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Timeline { at_ns, what } | Event::Fault { at_ns, what, .. } => {
                    Some(TimelineEntry {
                        at_ns: *at_ns,
                        what: what.clone(),
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The operator's commands in the order they ended (a command that ended at etcdctl's
    /// deadline is recorded when its late reply comes: it is placed by its end; stable).
    pub fn operator_steps(&self) -> Vec<&StepLog> {
        let mut steps: Vec<&StepLog> = (self.log.iter())
            .filter_map(|e| match e {
                Event::OperatorStep(s) => Some(s),
                _ => None,
            })
            .collect();
        steps.sort_by_key(|s| s.finished_ns);
        steps
    }

    pub fn relists(&self) -> Vec<&Relist> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Relist(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub fn alarms(&self) -> Vec<&AlarmLog> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Event::Alarm(a) => Some(a),
                _ => None,
            })
            .collect()
    }
}

/// A leader lost to a fault (or a step-down), waiting for the next leader.
#[derive(Clone, Copy, Debug)]
struct Episode {
    since_ns: Nanos,
    /// The leader when it started, to tell "survived the fault" from "replaced".
    leader: Option<(usize, u64)>,
}

/// The log folded: roles, the cluster's leader over time, elections and failovers,
/// warnings, actions.
pub struct Fold {
    last_role: Vec<Option<(RoleKind, u64)>>,
    pub leader_spans: Vec<LeaderSpan>,
    cluster_leader: Option<(usize, u64)>,
    span_start_ns: Nanos,
    first_leader_seen: bool,
    pub leader_changes: u64,
    /// Terms in which some member stood as candidate.
    pub elections: u64,
    last_candidate_term: u64,
    pub max_term: u64,
    episode: Option<Episode>,
    pub failovers_s: Vec<f64>,
    /// From the end of a pause or partition to a member having applied what the cluster had
    /// applied then, for members that were behind.
    pub catch_ups_s: Vec<f64>,
    /// The election in progress (opened by the first campaign after a leader was known).
    open_election: Option<ElectionCause>,
    pub elections_table: Vec<ElectionCause>,
    /// The last fault that hit each member (pause, crash, isolate), for the election table.
    last_fault: Vec<Option<String>>,
    pub heartbeat_send_failures: u64,
    warnings: BTreeMap<(usize, &'static str), (u64, Nanos)>,
    /// Timeline actions fired, and how many of them changed nothing.
    pub actions: u64,
    pub skipped_actions: u64,
}

impl Fold {
    fn new(members: usize) -> Fold {
        Fold {
            last_role: vec![None; members],
            leader_spans: Vec::new(),
            cluster_leader: None,
            span_start_ns: 0,
            first_leader_seen: false,
            leader_changes: 0,
            elections: 0,
            last_candidate_term: 0,
            max_term: 0,
            episode: None,
            failovers_s: Vec::new(),
            catch_ups_s: Vec::new(),
            open_election: None,
            elections_table: Vec::new(),
            last_fault: vec![None; members],
            heartbeat_send_failures: 0,
            warnings: BTreeMap::new(),
            actions: 0,
            skipped_actions: 0,
        }
    }

    fn apply(&mut self, e: &Event) {
        match e {
            Event::Role {
                member, role, term, ..
            } => self.role(*member, *role, *term),
            Event::Campaign {
                at_ns,
                member,
                timeout_ms,
                leader,
            } => self.campaign(*at_ns, *member, *timeout_ms, leader.as_ref()),
            Event::LeaderElected {
                at_ns,
                member,
                term,
            } => self.leader_elected(*at_ns, *member, *term),
            Event::LeaderLost { at_ns } => self.leader_lost(*at_ns),
            Event::Fault {
                at_ns,
                member,
                what,
            } => self.fault_on(*at_ns, *member, what),
            Event::FaultEnd { member, .. } => self.fault_window_end(*member),
            Event::CaughtUp {
                at_ns, since_ns, ..
            } => self.catch_ups_s.push((at_ns - since_ns) as f64 / 1e9),
            Event::ActionFired => self.actions += 1,
            Event::ActionSkipped => self.skipped_actions += 1,
            Event::HeartbeatLate { at_ns, member } => {
                self.heartbeat_send_failures += 1;
                let w = self
                    .warnings
                    .entry((*member, WARN_HEARTBEAT_LATE))
                    .or_insert((0, *at_ns));
                w.0 += 1;
            }
            Event::End { at_ns } => self.close_span(*at_ns),
            Event::Timeline { .. }
            | Event::OperatorStep(_)
            | Event::Relist(_)
            | Event::Alarm(_) => {}
        }
    }

    pub fn cluster_leader(&self) -> Option<usize> {
        self.cluster_leader.map(|(m, _)| m)
    }

    /// The first campaign after a known leader opens an election record.
    fn campaign(
        &mut self,
        now: Nanos,
        m: usize,
        timeout_ms: Option<f64>,
        leader_state: Option<&LeaderState>,
    ) {
        if let Some(e) = &mut self.open_election {
            e.campaigns += 1;
            return;
        }
        if !self.first_leader_seen {
            return; // the run's first election is not an incident
        }
        let old_leader = self.cluster_leader();
        let fault = old_leader.and_then(|l| {
            let down = leader_state.is_some_and(|s| s.down);
            down.then(|| self.last_fault[l].clone()).flatten()
        });
        self.open_election = Some(ElectionCause {
            campaign_at_ns: now,
            campaigner: m,
            campaigner_timeout_ms: timeout_ms,
            term: 0,
            old_leader,
            old_leader_fsync_started_ns: leader_state.and_then(|s| s.fsync_started_ns),
            old_leader_fsync_ms: leader_state.and_then(|s| s.fsync_ms),
            old_leader_fault: fault,
            new_leader: m,
            elected_at_ns: now,
            campaigns: 1,
        });
    }

    fn role(&mut self, m: usize, role: RoleKind, term: u64) {
        // An election is a term in which some member stood as candidate (split votes in one
        // term count once; every new term of candidacy counts again).
        if role == RoleKind::Candidate && term > self.last_candidate_term {
            self.last_candidate_term = term;
            self.elections += 1;
        }
        self.last_role[m] = Some((role, term));
        self.max_term = self.max_term.max(term);
    }

    fn leader_elected(&mut self, now: Nanos, m: usize, term: u64) {
        if matches!(self.cluster_leader, Some((_, t)) if t >= term) {
            return; // a stale leader of an older term (e.g. resumed after a pause)
        }
        self.close_span(now);
        if self.first_leader_seen {
            self.leader_changes += 1;
        }
        self.first_leader_seen = true;
        self.cluster_leader = Some((m, term));
        if let Some(mut e) = self.open_election.take() {
            e.term = term;
            e.new_leader = m;
            e.elected_at_ns = now;
            self.elections_table.push(e);
        }
        if let Some(e) = self.episode.take() {
            self.failovers_s.push((now - e.since_ns) as f64 / 1e9);
        }
    }

    fn leader_lost(&mut self, now: Nanos) {
        self.close_span(now);
        self.cluster_leader = None;
        if self.first_leader_seen && self.episode.is_none() {
            self.episode = Some(Episode {
                since_ns: now,
                leader: None,
            });
        }
    }

    fn close_span(&mut self, now: Nanos) {
        let (leader, term) = match self.cluster_leader {
            Some((m, t)) => (Some(m), t),
            None => (None, 0),
        };
        if now > self.span_start_ns || self.leader_spans.is_empty() {
            self.leader_spans.push(LeaderSpan {
                from_ns: self.span_start_ns,
                to_ns: now,
                leader,
                term,
            });
        }
        self.span_start_ns = now;
    }

    fn fault_on(&mut self, now: Nanos, m: usize, what: &str) {
        self.last_fault[m] = Some(what.to_string());
        if self.cluster_leader() == Some(m) && self.episode.is_none() {
            self.episode = Some(Episode {
                since_ns: now,
                leader: self.cluster_leader,
            });
        }
    }

    fn fault_window_end(&mut self, m: usize) {
        if let Some(e) = self.episode {
            if e.leader.is_some()
                && e.leader == self.cluster_leader
                && e.leader.map(|l| l.0) == Some(m)
            {
                self.episode = None;
            }
        }
    }

    pub fn warning_counts(&self) -> Vec<WarningCount> {
        self.warnings
            .iter()
            .map(|(&(member, text), &(count, first_at_ns))| WarningCount {
                member,
                text: text.to_string(),
                count,
                first_at_ns,
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
