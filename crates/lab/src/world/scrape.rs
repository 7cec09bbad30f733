//! Metric scrapes (every `[metrics] scrape_interval`), RTT probes, and the log-matching check that runs with each scrape.

use super::*;

impl World<'_> {
    pub(super) fn scrape(&mut self) {
        let now = self.q.now();
        for m in 0..self.nodes.len() {
            // A stopped or crashed process answers no scrape.
            let Slot::Running(member) = &self.nodes[m].slot else {
                continue;
            };
            let name = format!("m{}", m + 1);
            let raft = member.raft();
            let s = &mut self.series;
            s.push(
                metrics::HAS_LEADER,
                "",
                &name,
                now,
                f64::from(member.leader() != 0),
            );
            let is_leader = member.role() == Role::Leader;
            s.push(metrics::IS_LEADER, "", &name, now, f64::from(is_leader));
            let changes = member.leader_changes_seen_total as f64;
            s.push(metrics::LEADER_CHANGES, "_total", &name, now, changes);
            s.push(
                metrics::COMMITTED,
                "",
                &name,
                now,
                raft.commit_index() as f64,
            );
            s.push(
                metrics::APPLIED,
                "",
                &name,
                now,
                member.state().applied_index() as f64,
            );
            s.push(
                metrics::PENDING,
                "",
                &name,
                now,
                member.proposals_pending() as f64,
            );
            let failed = member.proposals_failed_total as f64;
            s.push(metrics::FAILED, "_total", &name, now, failed);
            let hb = member.heartbeat_send_failures_total as f64;
            s.push(metrics::HEARTBEAT_FAILURES, "_total", &name, now, hb);
            let labels = vec![("member".to_string(), name.clone())];
            self.nodes[m]
                .fsync_hist
                .samples(&labels, now, &mut s.families[metrics::WAL_FSYNC]);
            for (to, h) in self.nodes[m].rtt_hist.iter().enumerate() {
                if to != m {
                    let labels = vec![
                        ("member".to_string(), name.clone()),
                        ("To".to_string(), format!("m{}", to + 1)),
                    ];
                    h.samples(&labels, now, &mut s.families[metrics::PEER_RTT]);
                }
            }
            self.scrape_storage(m, now);
        }
        self.check_log_matching();
    }

    pub(super) fn probe_rtt(&mut self) {
        let n = self.nodes.len();
        for a in 0..n {
            for b in 0..n {
                if a != b && !self.net.is_blocked(a, b) && !self.net.is_blocked(b, a) {
                    let rtt = self.net.sample_rtt_ns(a, b);
                    self.nodes[a].rtt_hist[b].observe(rtt as f64 / 1e9);
                }
            }
        }
    }

    pub(super) fn check_log_matching(&mut self) {
        let now = self.q.now();
        let running: Vec<&Member> = self
            .nodes
            .iter()
            .filter_map(|n| match &n.slot {
                Slot::Running(m) | Slot::Paused(m, _) => Some(m.as_ref()),
                _ => None,
            })
            .collect();
        let cluster = |m: &Member| self.nodes[m.index()].meta.cluster_id;
        for (i, a) in running.iter().enumerate() {
            // Logs of different clusters have nothing in common.
            for b in running
                .iter()
                .skip(i + 1)
                .filter(|b| cluster(b) == cluster(a))
            {
                let last = a.raft().last_index().min(b.raft().last_index());
                let la = |x: u64| entry_id(a, x);
                let lb = |x: u64| entry_id(b, x);
                let r = Invariants::check_log_matching(
                    now,
                    (a.index(), &la),
                    (b.index(), &lb),
                    last,
                    LOG_MATCHING_WINDOW,
                );
                if let Err(v) = r {
                    self.violation.get_or_insert(v);
                }
            }
        }
    }
}

pub(super) fn entry_id(m: &Member, index: u64) -> Option<EntryId> {
    m.raft().entry_at(index).map(|e| {
        let id = match &e.data {
            EntryData::Normal(p) => Some(p.0.id),
            EntryData::Empty => None,
        };
        (e.term, id)
    })
}

/// How many trailing entries of each pair of logs the log-matching check compares per scrape.
pub(super) const LOG_MATCHING_WINDOW: u64 = 64;

/// Peer RTT probes run every 30 s in etcd.
pub(super) const RTT_PROBE_INTERVAL_NS: Nanos = 30 * NANOS_PER_S;

impl World<'_> {
    /// Storage gauges of one member at a scrape.
    pub(super) fn scrape_storage(&mut self, m: usize, now: Nanos) {
        let Slot::Running(member) = &self.nodes[m].slot else {
            return;
        };
        let name = format!("m{}", m + 1);
        let s = member.state();
        let b = s.store.backend();
        let (size, in_use) = (b.size_bytes(), b.size_in_use_bytes());
        self.rec.storage.db_size.push((now, m, size, in_use));
        let quota = s.quota.bytes().unwrap_or(0) as f64;
        let (rev, compact_rev) = (s.store.current_rev(), s.store.compact_rev());
        let r = self.invariants.on_revisions(now, m, rev, compact_rev);
        let keys = s.store.index_len() as f64;
        let defrag = f64::from(member.is_defragging());
        self.note(r);
        let series = &mut self.series;
        series.push(metrics::DB_SIZE, "", &name, now, size as f64);
        series.push(metrics::DB_SIZE_IN_USE, "", &name, now, in_use as f64);
        series.push(metrics::QUOTA, "", &name, now, quota);
        series.push(metrics::CURRENT_REVISION, "", &name, now, rev as f64);
        series.push(
            metrics::COMPACT_REVISION,
            "",
            &name,
            now,
            compact_rev as f64,
        );
        series.push(metrics::KEYS, "", &name, now, keys);
        let compacted = self.nodes[m].compaction_keys_total as f64;
        series.push(metrics::COMPACTION_KEYS, "_total", &name, now, compacted);
        series.push(metrics::DEFRAG_INFLIGHT, "", &name, now, defrag);
        let labels = vec![("member".to_string(), name)];
        let fams = &mut series.families;
        self.nodes[m]
            .backend_commit_hist
            .samples(&labels, now, &mut fams[metrics::BACKEND_COMMIT]);
        self.nodes[m]
            .defrag_hist
            .samples(&labels, now, &mut fams[metrics::DEFRAG_DURATION]);
    }
}
