//! The world's side of the `[traffic]` clients (`world/traffic.rs`): it sends each client's
//! request to the member the client is connected to, arms the client's deadline, records the
//! answer in the history and wakes the client again after its think time.

use super::*;
use crate::history::{Asked, TrafficRecord};
use etcdlab_member::{ReadOf, Response};

/// What a client's own deadline prints (etcd's client: the context's deadline passed).
pub(crate) const ERR_CLIENT_DEADLINE: &str = "context deadline exceeded";
/// A client that saw an error waits this long before its next request, as etcd's client
/// waits between retries (clientv3's `defaultBackoffWaitBetween`, 25 ms), rather than
/// hammering a member that refuses connections.
const ERROR_BACKOFF_NS: Nanos = 25_000_000;

impl World<'_> {
    /// The traffic clients start at `traffic.start` (or where a fast-forward ended), one
    /// nanosecond apart so that their first requests have an order.
    pub(super) fn schedule_traffic(&mut self, start: Nanos) {
        let Some(t) = &self.traffic else { return };
        let at = t.config().start_ns.max(start);
        for client in 0..t.clients() {
            self.q
                .schedule_at(at + u64::from(client), Ev::TrafficNext { client });
        }
    }

    pub(super) fn traffic_delay(&mut self) -> Nanos {
        ms_to_ns(
            self.sc
                .network
                .client_latency_ms
                .sample(&mut self.traffic_rng),
        )
    }

    /// The client and question of read `id`, if a traffic client sent it.
    pub(super) fn traffic_read(&self, id: u64) -> Option<(Client, ReadOf)> {
        let t = self.traffic.as_ref()?;
        (0..t.clients()).find_map(|c| t.read_of(c, id).map(|r| (Client::Traffic(c), r.clone())))
    }

    pub(super) fn on_traffic_next(&mut self, client: u32) {
        let now = self.q.now();
        let Some(traffic) = self.traffic.as_mut() else {
            return;
        };
        if traffic.stopped(now) {
            return;
        }
        let id = self.next_request_id;
        self.next_request_id += 1;
        let history = &mut self.rec.history;
        let request = traffic.next(client, id, |key| history.key(key));
        let m = traffic.member_of(client);
        let deadline_ns = traffic.config().request_timeout_ns;
        let record = TrafficRecord {
            client,
            detail: request.detail,
        };
        self.rec.history.traffic_sent(id, record);
        if let Some((compare, result)) = request.compare {
            self.rec.history.txn_sent_with(id, compare, result);
        }
        self.q
            .schedule_in(deadline_ns, Ev::TrafficDeadline { client, id });
        let asked = match &request.op {
            Some(op) => self.asked(op),
            None => Asked {
                key: request.sent.key,
                ..Asked::NOTHING
            },
        };
        let up = !matches!(self.nodes[m].slot, Slot::Down { .. } | Slot::NoData);
        let in_flight = InFlight::new(now, up.then_some(m), request.sent.kind, asked);
        match request.op {
            Some(_) => self.writes.insert(id, in_flight),
            None => self.reads.insert(id, in_flight),
        };
        let who = Client::Traffic(client);
        if !up {
            self.reply(who, id, Err(ERR_CONNECTION_REFUSED), now);
            return;
        }
        let delay = self.traffic_delay();
        let epoch = self.nodes[m].epoch;
        let ev = match request.op {
            Some(op) => Ev::WriteArrives {
                m,
                req: Rc::new(Request::from_client(id, who.id(), op)),
                epoch,
            },
            None => Ev::ReadArrives { m, id, epoch },
        };
        self.q.schedule_in(delay, ev);
    }

    /// The client's deadline for `id` passed: if it still waits, it gives up.
    pub(super) fn on_traffic_deadline(&mut self, client: u32, id: u64) {
        let waits = self.traffic.as_ref().is_some_and(|t| t.awaits(client, id));
        if waits {
            let now = self.q.now();
            self.on_traffic_answer(client, id, Err(ERR_CLIENT_DEADLINE), now);
        }
    }

    /// An answer reaches a traffic client at `at` (an answer after it gave up is dropped):
    /// the history records it, and the client sends again after its think time.
    pub(super) fn on_traffic_answer(
        &mut self,
        client: u32,
        id: u64,
        result: Result<Response, &'static str>,
        at: Nanos,
    ) {
        // A reply handed over now may arrive after the client's deadline: the client gave up
        // first, and sees the deadline's error at the deadline.
        let sent_ns = (self.reads.get(&id).or_else(|| self.writes.get(&id))).map(|f| f.sent_ns);
        let Some(traffic) = self.traffic.as_mut() else {
            return;
        };
        let deadline_ns = sent_ns.map(|s| s.saturating_add(traffic.config().request_timeout_ns));
        let (result, at) = match deadline_ns {
            Some(d) if at > d => (Err(ERR_CLIENT_DEADLINE), d),
            _ => (result, at),
        };
        if !traffic.on_answer(client, id, &result) {
            return;
        }
        let think_ns = traffic.config().think_time_ns;
        let pause_ns = if result.is_err() {
            think_ns.max(ERROR_BACKOFF_NS)
        } else {
            think_ns
        };
        if self.reads.contains_key(&id) {
            self.read_done(id, result, at);
        } else {
            self.write_done(id, result, at);
        }
        let next_at = at.saturating_add(pause_ns).max(self.q.now());
        self.q.schedule_at(next_at, Ev::TrafficNext { client });
    }
}

impl World<'_> {
    /// `[liveness]`, at `from + within`: every member of the core runs, the core's members
    /// follow one leader that leads, and a client write sent after `from` was acknowledged by
    /// now. Err says what did not recover.
    pub(super) fn recovered(&self) -> Result<(), String> {
        let l = self
            .sc
            .liveness
            .as_ref()
            .expect("scheduled with [liveness]");
        let now = self.q.now();
        let mut leaders = BTreeSet::new();
        for &m in &l.core {
            let Slot::Running(member) = &self.nodes[m].slot else {
                return Err(format!("m{} is not running", m + 1));
            };
            leaders.insert(member.leader());
        }
        let leader = match leaders.iter().collect::<Vec<_>>()[..] {
            [0] => return Err("no member knows a leader".to_string()),
            [l] => *l,
            _ => return Err(format!("the members follow different leaders: {leaders:?}")),
        };
        let leads = match &self.nodes[(leader - 1) as usize].slot {
            Slot::Running(m) => m.role() == etcdlab_raft::Role::Leader,
            _ => false,
        };
        if !leads {
            return Err(format!(
                "m{leader}, whom every member follows, does not lead"
            ));
        }
        let history = &self.rec.history;
        let committed = history.ops().iter().any(|op| {
            !op.kind.is_read()
                && op.call_ns >= l.from_ns
                && op.return_ns <= now
                && history.error(op).is_none()
        });
        if !committed {
            return Err(format!(
                "no client write sent after {} was acknowledged by {}",
                etcdlab_scenario::format_duration(l.from_ns),
                etcdlab_scenario::format_duration(now)
            ));
        }
        Ok(())
    }
}
