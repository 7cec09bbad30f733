//! The world's clients. Each talks to etcd on a connection of its own; a member answers on the
//! connection a request came in on (`Output::Reply::client`), so a reply goes straight back to
//! the client that sent it.

use super::*;
use crate::history::{Asked, OpKind, NEVER_RETURNED};
use etcdlab_member::Response;
use etcdlab_member::{ClientId, Origin};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The plain workload's writes (`[workload]`), recorded as client writes.
    Writes,
    /// The plain workload's reads.
    Reads,
    /// kube-apiserver writing for its clients (`[kube]`), recorded as client writes.
    Kube,
    /// kube-apiserver's compactor: a put of `compact_rev_key`, then a compaction.
    KubeCompactor,
    /// etcd's auto-compactor (`--auto-compaction-*`).
    AutoCompactor,
    /// The operator's etcdctl (timeline commands and the runbook).
    Operator,
    /// A `[traffic]` client, by number.
    Traffic(u32),
}

pub(super) const ALL: [Client; 6] = [
    Client::Writes,
    Client::Reads,
    Client::Kube,
    Client::KubeCompactor,
    Client::AutoCompactor,
    Client::Operator,
];

impl Client {
    /// Its connection number.
    pub fn id(self) -> ClientId {
        match self {
            Client::Traffic(n) => ALL.len() as ClientId + n,
            _ => ALL.iter().position(|c| *c == self).expect("listed") as ClientId,
        }
    }

    /// The client on connection `id`.
    pub fn from_id(id: ClientId) -> Client {
        match ALL.get(id as usize) {
            Some(c) => *c,
            None => Client::Traffic(id - ALL.len() as ClientId),
        }
    }

    /// The client that sent `req` (the world sends only clients' requests).
    pub fn of(req: &Request) -> Client {
        match req.origin {
            Origin::Client(id) => Client::from_id(id),
            Origin::Member => unreachable!("request {} is a member's own", req.id),
        }
    }
}

impl World<'_> {
    /// The network delay between a client and a member (each way).
    pub(super) fn delay_to(&mut self, client: Client) -> Nanos {
        match client {
            Client::Traffic(_) => self.traffic_delay(),
            _ => self.client_delay(),
        }
    }

    pub(super) fn client_delay(&mut self) -> Nanos {
        ms_to_ns(
            self.sc
                .network
                .client_latency_ms
                .sample(&mut self.workload_rng),
        )
    }

    pub(super) fn on_next_write(&mut self) {
        if self.workload.stopped(self.q.now()) {
            return;
        }
        let gap_ns = self.workload.write_gap(&mut self.workload_rng);
        self.q.schedule_in(gap_ns, Ev::NextWrite);
        let id = self.next_request_id;
        self.next_request_id += 1;
        let history = &mut self.rec.history;
        let write = self
            .workload
            .write(&mut self.workload_rng, id, |key| history.key(key));
        if let Some(compare) = write.compare {
            self.rec.history.txn_sent(id, compare);
        }
        let req = Rc::new(Request::from_client(id, Client::Writes.id(), write.op));
        self.send_client_request(req);
    }

    /// A request of the cluster's own machinery (compactors): sent to the leader (else any
    /// running member) and not counted as a client write.
    pub(super) fn send_internal_request(&mut self, req: Rc<Request>) {
        let Some(m) = self.leader_or_first_running() else {
            return;
        };
        let epoch = self.nodes[m].epoch;
        self.q.schedule_in(0, Ev::WriteArrives { m, req, epoch });
    }

    /// Send a client request (the plain workload's, Kubernetes') to a member, as a write whose
    /// latency and outcome the run records.
    pub(super) fn send_client_request(&mut self, req: Rc<Request>) {
        let now = self.q.now();
        let id = req.id;
        let kind = OpKind::of(&req.op);
        let asked = self.asked(&req.op);
        let target = self.pick_target();
        self.writes
            .insert(id, InFlight::new(now, target, kind, asked));
        let Some(m) = target else {
            self.reply(Client::of(&req), id, Err(ERR_CONNECTION_REFUSED), now);
            return;
        };
        let delay = self.client_delay();
        let epoch = self.nodes[m].epoch;
        self.q
            .schedule_in(delay, Ev::WriteArrives { m, req, epoch });
    }

    /// The member a client sends to. Crashed members refuse connections, so the client moves
    /// on to the next endpoint, as etcd's client balancer does.
    pub(super) fn pick_target(&mut self) -> Option<usize> {
        let n = self.nodes.len();
        let up = |w: &Self, m: usize| !matches!(w.nodes[m].slot, Slot::Down { .. } | Slot::NoData);
        let preferred = match &self.sc.workload.target {
            Target::Member(m) => Some(*m),
            Target::Leader => self.rec.cluster_leader(),
            Target::RoundRobin => None,
        };
        if let Some(m) = preferred.filter(|m| up(self, *m)) {
            return Some(m);
        }
        for _ in 0..n {
            let m = self.round_robin % n;
            self.round_robin += 1;
            if up(self, m) {
                return Some(m);
            }
        }
        None
    }

    pub(super) fn on_write_arrives(&mut self, m: usize, req: Rc<Request>, epoch: u64) {
        if self.connection_lost(m, epoch) {
            let now = self.q.now();
            self.reply(Client::of(&req), req.id, Err(ERR_CONNECTION_LOST), now);
        } else {
            self.member_input(m, MemberInput::ClientWrite(req));
        }
    }

    /// A request sent to incarnation `epoch` of member `m` finds it gone.
    pub(super) fn connection_lost(&self, m: usize, epoch: u64) -> bool {
        self.nodes[m].epoch != epoch
            || matches!(
                self.nodes[m].slot,
                Slot::Down { .. } | Slot::Empty | Slot::NoData
            )
    }

    /// The running member a client or operator talking to "the cluster" reaches: the leader,
    /// else the first member that runs.
    pub(super) fn leader_or_first_running(&self) -> Option<usize> {
        let running = |m: &usize| self.nodes[*m].slot.is_running();
        self.rec
            .cluster_leader()
            .filter(running)
            .or_else(|| (0..self.nodes.len()).find(running))
    }

    /// A Poisson read from the plain workload's client (its own random stream, so adding reads
    /// leaves the writes' draws alone).
    pub(super) fn on_next_read(&mut self) {
        let now = self.q.now();
        if self.workload.stopped(now) {
            return;
        }
        let (gap_ns, key) = self.workload.read();
        self.q.schedule_in(gap_ns, Ev::NextRead);
        let id = self.next_request_id;
        self.next_request_id += 1;
        let asked = Asked {
            key: self.rec.history.key(&key),
            ..Asked::NOTHING
        };
        let target = self.pick_target();
        self.reads
            .insert(id, InFlight::new(now, target, OpKind::Read, asked));
        let Some(m) = target else {
            self.reply(Client::Reads, id, Err(ERR_CONNECTION_REFUSED), now);
            return;
        };
        let delay = self.client_delay();
        let epoch = self.nodes[m].epoch;
        self.q.schedule_in(delay, Ev::ReadArrives { m, id, epoch });
    }

    /// A read reaches member `m` (or finds its connection lost).
    pub(super) fn on_read_arrives(&mut self, m: usize, id: u64, epoch: u64) {
        let traffic = self.traffic_read(id);
        let client = traffic.as_ref().map_or(Client::Reads, |(c, _)| *c);
        if self.connection_lost(m, epoch) {
            let now = self.q.now();
            self.reply(client, id, Err(ERR_CONNECTION_LOST), now);
            return;
        }
        let input = match traffic {
            Some((client, what)) => MemberInput::ClientRead {
                id,
                client: client.id(),
                linearizable: true,
                what,
            },
            None => {
                let key = self.reads.get(&id).map(|r| r.asked.key);
                let key = key.and_then(|k| self.rec.history.key_bytes(k).cloned());
                MemberInput::ClientRead {
                    id,
                    client: Client::Reads.id(),
                    linearizable: self.sc.workload.read_linearizable,
                    what: key.map_or(etcdlab_member::ReadOf::Nothing, etcdlab_member::ReadOf::Key),
                }
            }
        };
        self.member_input(m, input);
    }

    /// A reply reaches the client that sent request `id` (at `at`, which may be ahead).
    pub(super) fn reply(
        &mut self,
        client: Client,
        id: u64,
        result: Result<Response, &'static str>,
        at: Nanos,
    ) {
        let error = result.as_ref().err().copied();
        let learns = matches!(client, Client::Writes | Client::Reads);
        if learns && self.workload.learns() {
            self.learn(client, id, &result);
        }
        match client {
            Client::Writes => self.write_done(id, result, at),
            Client::Reads => self.read_done(id, result, at),
            Client::Kube => {
                self.on_kube_reply(id, error, at);
                self.write_done(id, result, at);
            }
            Client::KubeCompactor => {
                self.on_kube_reply(id, error, at);
            }
            Client::AutoCompactor => {}
            Client::Operator => self.operator_reply_at(id, error, at),
            Client::Traffic(n) => self.on_traffic_answer(n, id, result, at),
        }
    }

    /// The plain workload's client learns what a reply says of its key (its next optimistic
    /// update compares with it).
    fn learn(&mut self, client: Client, id: u64, result: &Result<Response, &'static str>) {
        let (Ok(r), Some(w)) = (result, self.in_flight(client, id)) else {
            return;
        };
        let written = etcdlab_store::Value::new(w.asked.size_bytes, w.asked.value);
        let (kind, key) = (w.kind, w.asked.key);
        self.workload.on_reply(kind, key, written, r);
    }

    fn in_flight(&self, client: Client, id: u64) -> Option<&InFlight> {
        match client {
            Client::Reads => self.reads.get(&id),
            _ => self.writes.get(&id),
        }
    }

    /// A client write (the plain workload's, Kubernetes') is answered: its latency and outcome
    /// are recorded.
    pub(super) fn write_done(
        &mut self,
        id: u64,
        result: Result<Response, &'static str>,
        at: Nanos,
    ) {
        if let Some(w) = self.writes.remove(&id) {
            let ok = result.is_ok();
            let era = self.era_of(w.member);
            let h = &mut self.rec.history;
            h.returned(
                (w.sent_ns, at),
                (id, w.member, w.kind, w.asked),
                result,
                era,
            );
            if let Some(revision) = w.applied {
                h.applied(id, revision);
            }
            if ok {
                self.note_write_ok(at);
            }
        }
    }

    /// A client read (the plain workload's, a `[traffic]` client's) is answered: the history
    /// records it.
    pub(super) fn read_done(&mut self, id: u64, result: Result<Response, &'static str>, at: Nanos) {
        if let Some(r) = self.reads.remove(&id) {
            let era = self.era_of(r.member);
            let asked = (id, r.member, r.kind, r.asked);
            let h = &mut self.rec.history;
            h.returned((r.sent_ns, at), asked, result, era);
        }
    }

    /// A member applied request `id`: a client write still waiting for its answer remembers
    /// how (the first apply: every member applies the same entry alike).
    pub(super) fn note_applied(&mut self, id: u64, revision: Option<i64>) {
        if let Some(w) = self.writes.get_mut(&id) {
            w.applied.get_or_insert(revision);
        } else {
            self.rec.history.applied(id, revision);
        }
    }

    /// The run ended: writes still waiting never got an answer (the history resolves each
    /// from the log: applied or not).
    pub(super) fn close_history(&mut self) {
        for (id, w) in std::mem::take(&mut self.writes) {
            let era = self.era_of(w.member);
            let h = &mut self.rec.history;
            let asked = (id, w.member, w.kind, w.asked);
            h.returned((w.sent_ns, NEVER_RETURNED), asked, Err(ERR_NO_ANSWER), era);
            if let Some(revision) = w.applied {
                h.applied(id, revision);
            }
        }
        // A `[traffic]` client's read still unanswered counts as sent, with no answer (the
        // plain workload's are left out, as they always were).
        let unanswered: Vec<u64> = (self.reads.keys())
            .filter(|id| self.rec.history.traffic(**id).is_some())
            .copied()
            .collect();
        for id in unanswered {
            self.read_done(id, Err(ERR_NO_ANSWER), NEVER_RETURNED);
        }
        self.reads.clear();
        self.rec.history.close();
    }

    /// The era of the data member `m` serves (a request no member took: the first era).
    fn era_of(&self, m: Option<usize>) -> u8 {
        m.map_or(0, |m| self.nodes[m].era)
    }

    /// What a client's request names, for the history: its key (a put's or a one-key
    /// delete's) and a put's value.
    pub(super) fn asked(&mut self, op: &Op) -> Asked {
        match op {
            Op::Put { key, value, .. } => Asked {
                key: self.rec.history.key(key),
                value: value.tag,
                size_bytes: value.size_bytes,
            },
            Op::DeleteRange { key, range_end } if range_end.is_empty() => Asked {
                key: self.rec.history.key(key),
                ..Asked::NOTHING
            },
            // An optimistic update: its put's key and value.
            Op::Txn(txn) => match txn.success.first() {
                Some(etcdlab_store::Op::Put { key, value, .. }) => Asked {
                    key: self.rec.history.key(&Rc::from(key.as_slice())),
                    value: value.tag,
                    size_bytes: value.size_bytes,
                },
                _ => Asked::NOTHING,
            },
            _ => Asked::NOTHING,
        }
    }
}

/// What the history says of a request still unanswered when the run ended.
pub(crate) const ERR_NO_ANSWER: &str = "no answer before the end of the run";

/// The gap to the next arrival of a Poisson stream of `rate` per second (exponential), at
/// least 1 ns so that two arrivals never share an instant.
pub(crate) fn poisson_gap_ns(rng: &mut Rng, rate: f64) -> Nanos {
    let gap_s = -libm::log(1.0 - unit_f64(rng)) / rate;
    ((gap_s * 1e9).round() as Nanos).saturating_add(1)
}

/// The plain workload's keys: `/lab/key-0000042` (16 bytes, as the raft entry sizes assume).
pub(crate) fn lab_key(n: u64) -> Rc<[u8]> {
    Rc::from(format!("/lab/key-{n:07}").into_bytes())
}

/// A client write or read in flight.
pub(super) struct InFlight {
    pub sent_ns: Nanos,
    /// The member it went to (None: no member took the connection).
    pub member: Option<usize>,
    pub kind: OpKind,
    pub asked: Asked,
    /// How the first member to apply it did (the store's revision after it; None: the
    /// applier refused it), while the client still waits.
    pub applied: Option<Option<i64>>,
}

impl InFlight {
    pub(super) fn new(
        sent_ns: Nanos,
        member: Option<usize>,
        kind: OpKind,
        asked: Asked,
    ) -> InFlight {
        InFlight {
            sent_ns,
            member,
            kind,
            asked,
            applied: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn every_client_has_its_own_connection() {
        for c in ALL {
            assert_eq!(Client::from_id(c.id()), c);
        }
    }
}
