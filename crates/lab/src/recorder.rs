//! What a run records for its report: roles and the cluster's leader over time, leader changes
//! and failovers, client write latencies, WAL fsync latencies, warnings and the timeline.

use crate::history::{histogram, History};
use crate::world::{Relist, StepLog, StorageRecord};
use etcdlab_member::WARN_HEARTBEAT_LATE;
use etcdlab_report::{
    ElectionCause, LeaderSpan, RoleChange, RoleKind, TimelineEntry, WarningCount,
};
use etcdlab_scenario::Scenario;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;

type Nanos = u64;

/// A leader lost to a fault (or a step-down), waiting for the next leader.
#[derive(Clone, Copy, Debug)]
struct Episode {
    since_ns: Nanos,
    /// The leader when it started, to tell "survived the fault" from "replaced".
    leader: Option<(usize, u64)>,
}

pub struct Recorder {
    pub role_changes: Vec<RoleChange>,
    last_role: Vec<Option<(RoleKind, u64)>>,
    pub leader_spans: Vec<LeaderSpan>,
    cluster_leader: Option<(usize, u64)>,
    span_start_ns: Nanos,
    first_leader_seen: bool,
    pub leader_changes: u64,
    pub elections: u64,
    last_candidate_term: u64,
    pub max_term: u64,
    episode: Option<Episode>,
    pub failovers_s: Vec<f64>,
    /// Every client write and read, call to return.
    pub history: History,
    /// Alarms, db sizes and quota over time, and when writes stopped and came back.
    pub storage: StorageRecord,
    /// The operator's commands as they ran, with their output.
    pub operator_steps: Vec<StepLog>,
    /// Watch clients' relists after their revision was compacted.
    pub relists: Vec<Relist>,
    pub fsync_us: Vec<Histogram<u64>>,
    pub fsync_all_us: Histogram<u64>,
    pub heartbeat_send_failures: u64,
    pub warnings: BTreeMap<(usize, &'static str), (u64, Nanos)>,
    pub timeline: Vec<TimelineEntry>,
    /// Timeline actions fired, and how many of them changed nothing (no target, wrong state).
    pub actions: u64,
    pub skipped_actions: u64,
    /// The election in progress (opened by the first campaign after a leader was known).
    open_election: Option<ElectionCause>,
    pub elections_table: Vec<ElectionCause>,
    /// The last fault that hit each member (pause, crash, isolate), for the election table.
    last_fault: Vec<Option<String>>,
}

/// What the old leader was doing when a follower's timer fired.
pub struct LeaderState {
    pub fsync_started_ns: Option<Nanos>,
    pub fsync_ms: Option<f64>,
    pub down: bool,
}

impl Recorder {
    pub fn new(sc: &Scenario) -> Recorder {
        let n = sc.member_slots();
        Recorder {
            role_changes: Vec::new(),
            last_role: vec![None; n],
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
            history: History::default(),
            storage: StorageRecord::new(sc.cluster.quota_backend_bytes),
            operator_steps: Vec::new(),
            relists: Vec::new(),
            fsync_us: vec![histogram(); n],
            fsync_all_us: histogram(),
            heartbeat_send_failures: 0,
            warnings: BTreeMap::new(),
            timeline: Vec::new(),
            actions: 0,
            skipped_actions: 0,
            open_election: None,
            elections_table: Vec::new(),
            last_fault: vec![None; n],
        }
    }

    /// A member started a campaign (pre-vote or vote). The first one after a known leader
    /// opens an election record.
    pub fn campaign(
        &mut self,
        now: Nanos,
        m: usize,
        timeout_ms: Option<f64>,
        leader_state: Option<LeaderState>,
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
            let down = leader_state.as_ref().is_some_and(|s| s.down);
            down.then(|| self.last_fault[l].clone()).flatten()
        });
        self.open_election = Some(ElectionCause {
            campaign_at_ns: now,
            campaigner: m,
            campaigner_timeout_ms: timeout_ms,
            term: 0,
            old_leader,
            old_leader_fsync_started_ns: leader_state.as_ref().and_then(|s| s.fsync_started_ns),
            old_leader_fsync_ms: leader_state.as_ref().and_then(|s| s.fsync_ms),
            old_leader_fault: fault,
            new_leader: m,
            elected_at_ns: now,
            campaigns: 1,
        });
    }

    pub fn role(&mut self, now: Nanos, m: usize, role: RoleKind, term: u64) {
        if self.last_role[m] == Some((role, term)) {
            return;
        }
        // An election is a term in which some member stood as candidate (split votes in one
        // term count once; every new term of candidacy counts again).
        if role == RoleKind::Candidate && term > self.last_candidate_term {
            self.last_candidate_term = term;
            self.elections += 1;
        }
        self.last_role[m] = Some((role, term));
        tracing::debug!(
            target: "etcdlab::roles",
            "{:.3} m{} {role:?} t{term}",
            now as f64 / 1e9,
            m + 1
        );
        self.max_term = self.max_term.max(term);
        self.role_changes.push(RoleChange {
            at_ns: now,
            member: m,
            role,
            term,
        });
    }

    pub fn cluster_leader(&self) -> Option<usize> {
        self.cluster_leader.map(|(m, _)| m)
    }

    pub fn is_cluster_leader(&self, m: usize) -> bool {
        self.cluster_leader() == Some(m)
    }

    pub fn leader_elected(&mut self, now: Nanos, m: usize, term: u64) {
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

    pub fn leader_lost(&mut self, now: Nanos) {
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

    /// A fault hit member `m`: if it is the leader, time the failover from now.
    pub fn fault_on(&mut self, now: Nanos, m: usize, what: String) {
        self.last_fault[m] = Some(what.clone());
        self.timeline(now, what);
        if self.is_cluster_leader(m) && self.episode.is_none() {
            self.episode = Some(Episode {
                since_ns: now,
                leader: self.cluster_leader,
            });
        }
    }

    /// A fault's window on `m` ended. If the leader it hit is still leader, there was no
    /// failover to time.
    pub fn fault_window_end(&mut self, _now: Nanos, m: usize) {
        if let Some(e) = self.episode {
            if e.leader.is_some()
                && e.leader == self.cluster_leader
                && e.leader.map(|l| l.0) == Some(m)
            {
                self.episode = None;
            }
        }
    }

    pub fn timeline(&mut self, now: Nanos, what: String) {
        self.timeline.push(TimelineEntry { at_ns: now, what });
    }

    pub fn fsync(&mut self, m: usize, fsync_ns: Nanos) {
        let us = (fsync_ns / 1000).max(1);
        self.fsync_us[m].saturating_record(us);
        self.fsync_all_us.saturating_record(us);
    }

    pub fn heartbeat_late(&mut self, now: Nanos, m: usize, _to: u64, _exceeded_ns: Nanos) {
        self.heartbeat_send_failures += 1;
        let w = self
            .warnings
            .entry((m, WARN_HEARTBEAT_LATE))
            .or_insert((0, now));
        w.0 += 1;
    }

    /// Close the leader timeline at the end of the run.
    pub fn finish(&mut self, end: Nanos) {
        self.close_span(end);
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
