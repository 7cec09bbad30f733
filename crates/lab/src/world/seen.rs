//! The plain workload's optimistic updates (`[workload] txn_ratio`): what its client last saw
//! of each key, and the txn it sends: compare the key with that, put the new value when the
//! compare holds, read the key when it does not (as a Kubernetes controller updates the
//! object it last read; the read tells it what to compare with next time).

use crate::history::{OpKind, TxnCompare};
use etcdlab_member::{KvRead, Op, Response, Txn};
use etcdlab_store::{Compare, CompareResult, CompareTarget, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// What the client last saw of each key (by the history's key index).
#[derive(Default)]
pub(crate) struct Seen {
    /// None: seen not to exist. A key not here was never seen.
    keys: BTreeMap<u32, Option<KvRead>>,
}

impl Seen {
    /// A reply reached the client: learn the key's state from it.
    pub fn learn(&mut self, kind: OpKind, key: u32, written: Value, r: &Response) {
        match kind {
            OpKind::Read => self.read(key, r.kv),
            OpKind::Delete => {
                self.keys.insert(key, None);
            }
            OpKind::Put => self.wrote(key, written, r.revision),
            OpKind::Txn if r.succeeded == Some(true) => self.wrote(key, written, r.revision),
            OpKind::Txn => self.read(key, r.kv),
            _ => {}
        }
    }

    fn read(&mut self, key: u32, kv: Option<KvRead>) {
        self.keys.insert(key, kv);
    }

    /// The client's own write of `value` made `revision`: the key's version goes up by one
    /// from what it saw (a key it never saw: created now, as far as it knows).
    fn wrote(&mut self, key: u32, value: Value, revision: i64) {
        let before = self.keys.get(&key).copied().flatten();
        let kv = KvRead {
            value_tag: value.tag,
            value_size_bytes: value.size_bytes,
            create_revision: before.map_or(revision, |b| b.create_revision),
            mod_revision: revision,
            version: before.map_or(1, |b| b.version + 1),
        };
        self.keys.insert(key, Some(kv));
    }

    /// The compare on `key` for target `draw` (0..4: value, version, create revision, mod
    /// revision), from what the client saw; a key it has not seen is expected not to exist
    /// (`create_revision = 0`: etcd has no value compare for a missing key).
    pub fn compare(&self, key: u32, draw: u64) -> (TxnCompare, CompareTarget) {
        let kv = self.keys.get(&key).copied().flatten();
        match (draw, kv) {
            (0, Some(kv)) => (
                TxnCompare::Value(kv.value_tag),
                CompareTarget::Value(Value::new(kv.value_size_bytes, kv.value_tag)),
            ),
            (1, kv) => {
                let n = kv.map_or(0, |k| k.version);
                (TxnCompare::Version(n), CompareTarget::Version(n))
            }
            (3, kv) => {
                let n = kv.map_or(0, |k| k.mod_revision);
                (TxnCompare::ModRevision(n), CompareTarget::ModRevision(n))
            }
            (_, kv) => {
                let n = kv.map_or(0, |k| k.create_revision);
                (
                    TxnCompare::CreateRevision(n),
                    CompareTarget::CreateRevision(n),
                )
            }
        }
    }
}

/// The optimistic update: if `compare` holds, put `value` to `key`, else read `key`.
pub(crate) fn optimistic_update(key: &[u8], compare: CompareTarget, value: Value) -> Op {
    conditional_put(key, (CompareResult::Equal, compare), value)
}

/// If the key's figure `result` `target` holds, put `value` to `key`, else read `key`.
pub(crate) fn conditional_put(
    key: &[u8],
    (result, target): (CompareResult, CompareTarget),
    value: Value,
) -> Op {
    Op::Txn(Rc::new(Txn {
        compares: vec![Compare {
            key: key.to_vec(),
            result,
            target,
        }],
        success: vec![etcdlab_store::Op::Put {
            key: key.to_vec(),
            value,
            lease: 0,
        }],
        failure: vec![etcdlab_store::Op::Range {
            key: key.to_vec(),
            range_end: Vec::new(),
            opts: Default::default(),
        }],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(revision: i64, kv: Option<KvRead>, succeeded: Option<bool>) -> Response {
        Response {
            revision,
            kv,
            succeeded,
            kvs: None,
        }
    }

    #[test]
    fn a_key_never_seen_is_expected_not_to_exist() {
        let seen = Seen::default();
        for draw in 0..4 {
            let (c, _) = seen.compare(0, draw);
            assert!(
                matches!(
                    c,
                    TxnCompare::Version(0)
                        | TxnCompare::CreateRevision(0)
                        | TxnCompare::ModRevision(0)
                ),
                "{draw}: {c:?}"
            );
        }
    }

    #[test]
    fn own_writes_and_failed_updates_teach_the_key() {
        let mut seen = Seen::default();
        let v = Value::new(100, 7);
        seen.learn(OpKind::Put, 3, v, &response(10, None, None));
        seen.learn(
            OpKind::Txn,
            3,
            Value::new(100, 8),
            &response(12, None, Some(true)),
        );
        assert_eq!(seen.compare(3, 0).0, TxnCompare::Value(8));
        assert_eq!(seen.compare(3, 1).0, TxnCompare::Version(2));
        assert_eq!(seen.compare(3, 2).0, TxnCompare::CreateRevision(10));
        assert_eq!(seen.compare(3, 3).0, TxnCompare::ModRevision(12));
        // A lost update reads the key as another client left it.
        let theirs = KvRead {
            value_tag: 9,
            value_size_bytes: 50,
            create_revision: 10,
            mod_revision: 15,
            version: 4,
        };
        let lost = response(15, Some(theirs), Some(false));
        seen.learn(OpKind::Txn, 3, Value::new(100, 11), &lost);
        assert_eq!(seen.compare(3, 3).0, TxnCompare::ModRevision(15));
        assert_eq!(
            seen.compare(3, 0).1,
            CompareTarget::Value(Value::new(50, 9))
        );
        seen.learn(
            OpKind::Delete,
            3,
            Value::default(),
            &response(16, None, None),
        );
        assert_eq!(seen.compare(3, 1).0, TxnCompare::Version(0));
    }
}
