//! The `[traffic]` clients, sans-IO: closed-loop clients like etcd's robustness traffic, each
//! connected to one member and sending its next request only once the last one answered (or
//! its deadline passed). Each draws what to send from the mix: a get, a range over every
//! traffic key, a put, a delete, a txn comparing a key with what the client last saw (with
//! `=`, `!=`, `>` or `<`), a put attached to its lease, or a revoke of that lease. The world
//! sends what they ask for (`world/traffic_client.rs`) and hands them the answers.

use super::seen::{conditional_put, Seen};
use crate::history::{OpKind, TrafficDetail, TxnCompare};
use etcdlab_check::format::CompareResult as HistoryResult;
use etcdlab_member::{Op, ReadOf, Response};
use etcdlab_scenario::{Traffic, TrafficMix};
use etcdlab_sim::rng::below;
use etcdlab_sim::{stream, Nanos, Rng};
use etcdlab_store::{CompareResult, CompareTarget, Value};
use std::rc::Rc;

/// The prefix of every traffic key; a range reads all of them.
pub(crate) const PREFIX: &[u8] = b"/traffic/";
/// etcd's end of the `/traffic/` prefix: its last byte plus one.
const PREFIX_END: &[u8] = b"/traffic0";
/// Lease IDs the clients choose (etcd lets a client name its lease): far above Kubernetes'.
const LEASE_ID_BASE: i64 = 1 << 48;

pub(crate) struct TrafficClients {
    config: Traffic,
    rng: Rng,
    clients: Vec<ClientState>,
}

struct ClientState {
    /// The member it is connected to.
    member: usize,
    /// The request it waits for, and what it asked.
    waiting: Option<(u64, Sent)>,
    /// Its lease, granted and not revoked since.
    lease: Option<i64>,
    /// What it last saw of each key (its txns compare with it).
    seen: Seen,
    /// The highest header revision it was answered with (its reads at a revision ask for
    /// one just below).
    last_revision: i64,
}

/// What a client asked, to learn from the answer.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub kind: OpKind,
    /// The history's index of its key (a range's: the prefix).
    pub key: u32,
    /// A put's value.
    pub value: Value,
    /// A lease grant's lease.
    pub granting: Option<i64>,
    /// A read's question (None: a write).
    pub read: Option<ReadOf>,
}

/// A request to send.
pub(crate) struct Request {
    /// The write's op (None: a read, see `sent.read`).
    pub op: Option<Op>,
    pub sent: Sent,
    pub detail: TrafficDetail,
    /// A txn's compare, for the history.
    pub compare: Option<(TxnCompare, HistoryResult)>,
}

/// The kinds a client draws, in the mix's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Get,
    Range,
    GetAt,
    RangeAt,
    Put,
    Delete,
    Txn,
    LeasePut,
    LeaseRevoke,
    Compact,
}

impl TrafficClients {
    /// `size`: the members of the initial cluster (client i talks to member i mod size).
    pub fn new(config: &Traffic, seed: u64, size: usize) -> TrafficClients {
        let n = config.clients_per_member as usize * size;
        TrafficClients {
            config: config.clone(),
            rng: stream(seed, "traffic"),
            clients: (0..n)
                .map(|i| ClientState {
                    member: i % size,
                    waiting: None,
                    lease: None,
                    seen: Seen::default(),
                    last_revision: 0,
                })
                .collect(),
        }
    }

    pub fn config(&self) -> &Traffic {
        &self.config
    }

    pub fn clients(&self) -> u32 {
        self.clients.len() as u32
    }

    pub fn member_of(&self, client: u32) -> usize {
        self.clients[client as usize].member
    }

    /// No new requests from `traffic.stop` on.
    pub fn stopped(&self, now: Nanos) -> bool {
        self.config.stop_ns.is_some_and(|stop| now >= stop)
    }

    /// Whether `client` waits for the answer to `id`.
    pub fn awaits(&self, client: u32, id: u64) -> bool {
        matches!(&self.clients[client as usize].waiting, Some((w, _)) if *w == id)
    }

    /// The question of read `id`, if a client waits for it.
    pub fn read_of(&self, client: u32, id: u64) -> Option<&ReadOf> {
        match &self.clients[client as usize].waiting {
            Some((w, sent)) if *w == id => sent.read.as_ref(),
            _ => None,
        }
    }

    /// `client`'s next request, `id`. `key_index`: the history's index of a key.
    pub fn next(
        &mut self,
        client: u32,
        id: u64,
        mut key_index: impl FnMut(&Rc<[u8]>) -> u32,
    ) -> Request {
        let c = client as usize;
        assert!(
            self.clients[c].waiting.is_none(),
            "client {client} is sequential: it still waits"
        );
        let kind = draw_kind(&mut self.rng, &self.config.mix);
        let key = traffic_key(below(&mut self.rng, self.config.key_count));
        let size = self.config.value_size_bytes.sample(&mut self.rng);
        let value = Value::new(size.round() as u32, id);
        let key_at = key_index(&key);
        let mut sent = Sent {
            kind: OpKind::Put,
            key: key_at,
            value,
            granting: None,
            read: None,
        };
        let lease = self.clients[c].lease;
        // A recent revision: at most 3 below the last the client was answered with.
        let rev = match kind {
            Kind::GetAt | Kind::RangeAt => {
                let back = below(&mut self.rng, 4) as i64;
                (self.clients[c].last_revision - back).max(1)
            }
            _ => 0,
        };
        let (op, detail, compare) = match kind {
            Kind::Get => {
                sent.kind = OpKind::Read;
                sent.read = Some(ReadOf::Key(key));
                (None, TrafficDetail::Plain, None)
            }
            Kind::GetAt => {
                sent.kind = OpKind::Read;
                sent.read = Some(ReadOf::KeyAt { key, rev });
                (None, TrafficDetail::At(rev), None)
            }
            Kind::Range | Kind::RangeAt => {
                sent.kind = OpKind::Range;
                sent.key = key_index(&Rc::from(PREFIX));
                sent.read = Some(ReadOf::Range {
                    key: Rc::from(PREFIX),
                    range_end: Rc::from(PREFIX_END),
                    rev,
                });
                let detail = TrafficDetail::Range {
                    found: Vec::new(),
                    at: rev,
                };
                (None, detail, None)
            }
            Kind::Put => (Some(put(key, value, 0)), TrafficDetail::Plain, None),
            Kind::Delete => {
                sent.kind = OpKind::Delete;
                let range_end = Rc::from(Vec::new());
                (
                    Some(Op::DeleteRange { key, range_end }),
                    TrafficDetail::Plain,
                    None,
                )
            }
            Kind::Txn => {
                sent.kind = OpKind::Txn;
                let (recorded, target, result) = self.draw_compare(c, key_at);
                let op = conditional_put(&key, (result, target), value);
                (Some(op), TrafficDetail::Plain, Some(recorded))
            }
            Kind::LeasePut | Kind::LeaseRevoke if lease.is_none() => {
                let lease = LEASE_ID_BASE + id as i64;
                sent.kind = OpKind::LeaseGrant;
                sent.granting = Some(lease);
                let ttl_s = self.config.lease_ttl_s;
                let op = Op::LeaseGrant { id: lease, ttl_s };
                (Some(op), TrafficDetail::Lease(lease), None)
            }
            Kind::LeasePut => {
                let lease = lease.expect("checked above");
                (
                    Some(put(key, value, lease)),
                    TrafficDetail::Lease(lease),
                    None,
                )
            }
            Kind::Compact => {
                // A little below the last revision the client saw (at least 1).
                let back = 1 + below(&mut self.rng, 10) as i64;
                let rev = (self.clients[c].last_revision - back).max(1);
                sent.kind = OpKind::OtherWrite;
                (Some(Op::Compact { rev }), TrafficDetail::Plain, None)
            }
            Kind::LeaseRevoke => {
                // Forgotten at once: revoked, or (after an error) not to be trusted.
                let lease = self.clients[c].lease.take().expect("checked above");
                sent.kind = OpKind::LeaseRevoke;
                (
                    Some(Op::LeaseRevoke { id: lease }),
                    TrafficDetail::Lease(lease),
                    None,
                )
            }
        };
        self.clients[c].waiting = Some((id, sent.clone()));
        Request {
            op,
            sent,
            detail,
            compare,
        }
    }

    /// A compare on `key` with what client `c` saw of it: the target drawn (value, version,
    /// create or mod revision), then the operator (a value compares only with `=` or `!=`).
    fn draw_compare(
        &mut self,
        c: usize,
        key: u32,
    ) -> ((TxnCompare, HistoryResult), CompareTarget, CompareResult) {
        let (recorded, target) = self.clients[c].seen.compare(key, below(&mut self.rng, 4));
        let operators = if matches!(target, CompareTarget::Value(_)) {
            2
        } else {
            4
        };
        let (result, history) = [
            (CompareResult::Equal, HistoryResult::Equal),
            (CompareResult::NotEqual, HistoryResult::NotEqual),
            (CompareResult::Greater, HistoryResult::Greater),
            (CompareResult::Less, HistoryResult::Less),
        ][below(&mut self.rng, operators) as usize];
        ((recorded, history), target, result)
    }

    /// The answer to `client`'s request `id` (or its deadline passed: an error). False when
    /// the client no longer waits for it (it gave up first).
    pub fn on_answer(&mut self, client: u32, id: u64, result: &Result<Response, &str>) -> bool {
        let c = &mut self.clients[client as usize];
        let Some((_, sent)) = c.waiting.take_if(|(w, _)| *w == id) else {
            return false;
        };
        if let Ok(r) = result {
            c.last_revision = c.last_revision.max(r.revision);
            if let Some(lease) = sent.granting {
                c.lease = Some(lease);
            }
            // A read at a past revision says nothing of the key now.
            let past = matches!(sent.read, Some(ReadOf::KeyAt { .. }));
            if sent.kind != OpKind::Range && !past {
                c.seen.learn(sent.kind, sent.key, sent.value, r);
            }
        }
        true
    }
}

fn put(key: Rc<[u8]>, value: Value, lease: i64) -> Op {
    Op::Put { key, value, lease }
}

/// `/traffic/key-3`.
pub(crate) fn traffic_key(n: u64) -> Rc<[u8]> {
    let mut key = PREFIX.to_vec();
    key.extend_from_slice(format!("key-{n}").as_bytes());
    Rc::from(key)
}

fn draw_kind(rng: &mut Rng, mix: &TrafficMix) -> Kind {
    let weights = [
        (Kind::Get, mix.get),
        (Kind::Range, mix.range),
        (Kind::GetAt, mix.get_at_revision),
        (Kind::RangeAt, mix.range_at_revision),
        (Kind::Put, mix.put),
        (Kind::Delete, mix.delete),
        (Kind::Txn, mix.txn),
        (Kind::LeasePut, mix.lease_put),
        (Kind::LeaseRevoke, mix.lease_revoke),
        (Kind::Compact, mix.compact),
    ];
    let mut pick = below(rng, u64::from(mix.total()));
    for (kind, weight) in weights {
        if pick < u64::from(weight) {
            return kind;
        }
        pick -= u64::from(weight);
    }
    unreachable!("the pick is below the total weight")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients(mix: TrafficMix) -> TrafficClients {
        let config = Traffic {
            clients_per_member: 2,
            key_count: 3,
            value_size_bytes: etcdlab_scenario::Dist::constant(10.0),
            think_time_ns: 0,
            request_timeout_ns: 5_000_000_000,
            start_ns: 0,
            stop_ns: None,
            mix,
            lease_ttl_s: 7200,
        };
        TrafficClients::new(&config, 1, 3)
    }

    fn only(f: impl Fn(&mut TrafficMix)) -> TrafficMix {
        let mut mix = TrafficMix {
            get: 0,
            range: 0,
            get_at_revision: 0,
            range_at_revision: 0,
            put: 0,
            delete: 0,
            txn: 0,
            lease_put: 0,
            lease_revoke: 0,
            compact: 0,
        };
        f(&mut mix);
        mix
    }

    const OK: Result<Response, &str> = Ok(Response {
        revision: 5,
        kv: None,
        succeeded: Some(true),
        kvs: None,
    });

    #[test]
    fn each_client_talks_to_one_member() {
        let t = clients(TrafficMix::default());
        assert_eq!(t.clients(), 6);
        let members: Vec<usize> = (0..6).map(|c| t.member_of(c)).collect();
        assert_eq!(members, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    #[should_panic(expected = "sequential")]
    fn a_client_sends_nothing_while_it_waits() {
        let mut t = clients(TrafficMix::default());
        t.next(0, 1, |_| 0);
        t.next(0, 2, |_| 0);
    }

    #[test]
    fn an_answer_to_a_request_given_up_on_is_dropped() {
        let mut t = clients(TrafficMix::default());
        t.next(0, 1, |_| 0);
        assert!(t.awaits(0, 1));
        assert!(t.on_answer(0, 1, &Err("context deadline exceeded")));
        assert!(!t.on_answer(0, 1, &OK), "a late answer");
        assert!(!t.awaits(0, 1));
    }

    #[test]
    fn a_lease_is_granted_then_used_then_revoked() {
        let mut t = clients(only(|m| {
            m.lease_put = 1;
            m.lease_revoke = 1;
        }));
        let grant = t.next(0, 1, |_| 0);
        let Some(Op::LeaseGrant { id: lease, ttl_s }) = grant.op else {
            panic!("a client without a lease grants one first")
        };
        assert_eq!(ttl_s, 7200);
        assert_eq!(grant.detail, TrafficDetail::Lease(lease));
        t.on_answer(0, 1, &OK);
        // Now every draw uses the lease, until a revoke forgets it.
        for id in 2..50 {
            let r = t.next(0, id, |_| 0);
            t.on_answer(0, id, &OK);
            match r.op {
                Some(Op::Put { lease: l, .. }) => assert_eq!(l, lease),
                Some(Op::LeaseRevoke { id: l }) => {
                    assert_eq!(l, lease);
                    let again = t.next(0, 100, |_| 0);
                    assert!(matches!(again.op, Some(Op::LeaseGrant { .. })));
                    return;
                }
                other => panic!("{other:?}"),
            }
        }
        panic!("no revoke in 48 draws");
    }

    #[test]
    fn a_failed_grant_leaves_the_client_without_a_lease() {
        let mut t = clients(only(|m| m.lease_put = 1));
        t.next(0, 1, |_| 0);
        t.on_answer(0, 1, &Err("etcdserver: request timed out"));
        assert!(matches!(
            t.next(0, 2, |_| 0).op,
            Some(Op::LeaseGrant { .. })
        ));
    }

    #[test]
    fn txns_draw_every_operator_and_values_only_equality() {
        let mut t = clients(only(|m| m.txn = 1));
        let mut seen = std::collections::BTreeSet::new();
        for id in 1..400 {
            let r = t.next(0, id, |_| 0);
            t.on_answer(0, id, &OK);
            let (compare, result) = r.compare.expect("a txn's compare");
            if matches!(compare, TxnCompare::Value(_)) {
                assert!(matches!(
                    result,
                    HistoryResult::Equal | HistoryResult::NotEqual
                ));
            }
            seen.insert(result.as_str());
        }
        assert_eq!(seen.len(), 4, "{seen:?}");
    }

    #[test]
    fn a_compaction_goes_below_the_last_revision_the_client_saw() {
        let mut t = clients(only(|m| m.compact = 1));
        let first = t.next(0, 1, |_| 0);
        assert!(matches!(first.op, Some(Op::Compact { rev: 1 })));
        let seen = Ok(Response {
            revision: 50,
            ..Response::default()
        });
        t.on_answer(0, 1, &seen);
        for id in 2..30 {
            let Some(Op::Compact { rev }) = t.next(0, id, |_| 0).op else {
                panic!("a compaction")
            };
            assert!((40..50).contains(&rev), "{rev}");
            t.on_answer(0, id, &seen);
        }
    }

    #[test]
    fn a_range_reads_every_traffic_key() {
        let mut t = clients(only(|m| m.range = 1));
        let r = t.next(0, 1, |_| 0);
        assert!(r.op.is_none());
        let Some(ReadOf::Range { key, range_end, .. }) = r.sent.read else {
            panic!("a range")
        };
        assert!(traffic_key(0).starts_with(&key));
        assert!(*traffic_key(9999) < *range_end && *key < *traffic_key(0));
    }
}
