//! The plain workload's client (`[workload]`), sans-IO: it says what to send next (a put, a
//! one-key delete, an optimistic update, a read of one key) and when, and learns from the
//! replies what it compares its next updates with. The world sends what it asks for through
//! the client's balancer (`world/client.rs`) and hands it the replies.
//!
//! Its writes draw from the stream the clients' network delays draw from (`workload`): the
//! world passes that stream in, so that every report stays what it was. Its reads have
//! streams of their own.

use super::client::{lab_key, poisson_gap_ns};
use super::seen::{optimistic_update, Seen};
use crate::history::{OpKind, TxnCompare};
use etcdlab_member::{Op, Response};
use etcdlab_scenario::Workload;
use etcdlab_sim::rng::{below, unit_f64};
use etcdlab_sim::{stream, Nanos, Rng};
use etcdlab_store::Value;
use std::rc::Rc;

pub(crate) struct PlainWorkload {
    config: Workload,
    reads_rng: Rng,
    /// The keys the reads ask for (a stream of their own, so that reading keys leaves every
    /// other draw alone).
    read_keys_rng: Rng,
    /// What the client last saw of each key (only with optimistic updates).
    seen: Seen,
}

/// A write to send: the request, and for an optimistic update what it compares.
pub(crate) struct Write {
    pub op: Op,
    pub compare: Option<TxnCompare>,
}

impl PlainWorkload {
    pub fn new(config: &Workload, seed: u64) -> PlainWorkload {
        PlainWorkload {
            config: config.clone(),
            reads_rng: stream(seed, "reads"),
            read_keys_rng: stream(seed, "read-keys"),
            seen: Seen::default(),
        }
    }

    /// No new requests from `workload.stop` on.
    pub fn stopped(&self, now: Nanos) -> bool {
        self.config.stop_ns.is_some_and(|stop| now >= stop)
    }

    /// The gap to the next write (drawn before this write's own draws).
    pub fn write_gap(&self, rng: &mut Rng) -> Nanos {
        poisson_gap_ns(rng, self.config.writes_per_s)
    }

    /// Write `id`: a key and a value size, then, only when the workload has them, whether it
    /// is a delete or an optimistic update (so a put-only workload keeps its random stream).
    /// `key_index`: the history's index of a key.
    pub fn write(
        &mut self,
        rng: &mut Rng,
        id: u64,
        key_index: impl FnOnce(&Rc<[u8]>) -> u32,
    ) -> Write {
        let c = &self.config;
        let n = below(rng, c.key_count);
        let size = c.value_size_bytes.sample(rng);
        let key = lab_key(n);
        let value = Value::new(size.round() as u32, id);
        if c.delete_ratio > 0.0 && unit_f64(rng) < c.delete_ratio {
            let range_end = Rc::from(Vec::new());
            return plain(Op::DeleteRange { key, range_end });
        }
        // `txn_ratio` is a share of all writes, and deletes were drawn first.
        let txn = c.txn_ratio > 0.0 && unit_f64(rng) < c.txn_ratio / (1.0 - c.delete_ratio);
        if !txn {
            return plain(Op::Put {
                key,
                value,
                lease: 0,
            });
        }
        // The compare's target, drawn: value, version, create or mod revision.
        let draw = below(rng, 4);
        let (recorded, target) = self.seen.compare(key_index(&key), draw);
        Write {
            op: optimistic_update(&key, target, value),
            compare: Some(recorded),
        }
    }

    /// The next read: the gap after it and its key.
    pub fn read(&mut self) -> (Nanos, Rc<[u8]>) {
        let gap_ns = poisson_gap_ns(&mut self.reads_rng, self.config.reads_per_s);
        let n = below(&mut self.read_keys_rng, self.config.key_count);
        (gap_ns, lab_key(n))
    }

    /// Whether replies teach the client anything (its updates compare with what it saw).
    pub fn learns(&self) -> bool {
        self.config.txn_ratio > 0.0
    }

    /// A reply to a request on `key` (the history's index) that wrote `written`, if a write.
    pub fn on_reply(&mut self, kind: OpKind, key: u32, written: Value, r: &Response) {
        self.seen.learn(kind, key, written, r);
    }
}

fn plain(op: Op) -> Write {
    Write { op, compare: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcdlab_scenario::Dist;

    fn config(delete_ratio: f64, txn_ratio: f64) -> Workload {
        Workload {
            writes_per_s: 100.0,
            value_size_bytes: Dist::constant(100.0),
            key_count: 10,
            target: etcdlab_scenario::Target::RoundRobin,
            start_ns: 0,
            stop_ns: None,
            reads_per_s: 0.0,
            read_linearizable: true,
            delete_ratio,
            txn_ratio,
            request_timeout_ns: 7_000_000_000,
        }
    }

    /// The kinds of 10,000 writes: (puts, deletes, txns).
    fn mix(delete_ratio: f64, txn_ratio: f64) -> (u32, u32, u32) {
        let mut wl = PlainWorkload::new(&config(delete_ratio, txn_ratio), 1);
        let mut rng = stream(1, "workload");
        let mut counts = (0, 0, 0);
        for id in 0..10_000 {
            match wl.write(&mut rng, id, |_| 0).op {
                Op::Put { .. } => counts.0 += 1,
                Op::DeleteRange { .. } => counts.1 += 1,
                Op::Txn(_) => counts.2 += 1,
                other => panic!("{other:?}"),
            }
        }
        counts
    }

    #[test]
    fn each_ratio_is_a_share_of_all_writes() {
        assert_eq!(mix(0.0, 0.0), (10_000, 0, 0));
        let (puts, deletes, txns) = mix(0.2, 0.3);
        assert!((1_850..2_150).contains(&deletes), "{deletes}");
        assert!((2_850..3_150).contains(&txns), "{txns}");
        assert_eq!(puts + deletes + txns, 10_000);
        assert_eq!(mix(0.0, 1.0).2, 10_000);
    }

    #[test]
    fn a_put_only_workload_draws_a_key_and_a_size_per_write() {
        // So that adding deletes or updates to the format left old workloads' streams alone.
        let mut wl = PlainWorkload::new(&config(0.0, 0.0), 1);
        let (mut rng, mut expected) = (stream(1, "workload"), stream(1, "workload"));
        for id in 0..100 {
            let Op::Put { key, .. } = wl.write(&mut rng, id, |_| 0).op else {
                panic!("a put")
            };
            assert_eq!(key, lab_key(below(&mut expected, 10)));
            Dist::constant(100.0).sample(&mut expected);
        }
    }

    #[test]
    fn an_update_compares_what_the_client_learned_of_its_key() {
        let mut wl = PlainWorkload::new(&config(0.0, 1.0), 1);
        let mut rng = stream(1, "workload");
        let first = wl.write(&mut rng, 1, |_| 0);
        let never_seen = [
            TxnCompare::Version(0),
            TxnCompare::CreateRevision(0),
            TxnCompare::ModRevision(0),
        ];
        assert!(never_seen.contains(&first.compare.expect("an update")));
        let ok = Response {
            revision: 7,
            kv: None,
            succeeded: Some(true),
            kvs: None,
        };
        // Every key is index 0 here: the client knows it now, at mod revision 7.
        wl.on_reply(OpKind::Txn, 0, Value::new(100, 1), &ok);
        let compares: Vec<TxnCompare> = (2..40)
            .filter_map(|id| wl.write(&mut rng, id, |_| 0).compare)
            .collect();
        assert!(compares.contains(&TxnCompare::ModRevision(7)));
        assert!(compares.contains(&TxnCompare::Value(1)));
        assert!(compares.contains(&TxnCompare::Version(1)));
    }
}
