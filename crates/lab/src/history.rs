//! The clients' history: every client write and read as its client saw it (call and return
//! time, the member it went to, what it asked, how it ended), appended as replies arrive. The
//! run's write and read figures are derived from it, not counted on the side.

use etcdlab_member::Response;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::rc::Rc;

type Nanos = u64;

/// What a client asked (the request's kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Delete,
    LeaseGrant,
    LeaseRevoke,
    /// A txn of one compare on the key: a put when it holds, a read of the key otherwise
    /// (its compare and outcome are in `History::txns`).
    Txn,
    /// Anything else a client writes through raft (compaction, alarms, membership).
    OtherWrite,
    Read,
    /// A read of several keys (the `[traffic]` clients' ranges; what it found is in
    /// `History::traffic`).
    Range,
}

impl OpKind {
    /// A read (its figures are the reads', not the writes').
    pub fn is_read(self) -> bool {
        matches!(self, OpKind::Read | OpKind::Range)
    }

    pub fn of(op: &etcdlab_member::Op) -> OpKind {
        use etcdlab_member::Op;
        match op {
            Op::Put { .. } => OpKind::Put,
            Op::DeleteRange { .. } => OpKind::Delete,
            Op::LeaseGrant { .. } => OpKind::LeaseGrant,
            Op::LeaseRevoke { .. } => OpKind::LeaseRevoke,
            Op::Txn(_) => OpKind::Txn,
            _ => OpKind::OtherWrite,
        }
    }
}

/// One operation, call to return. 48 bytes: a run of millions of writes keeps them all.
/// The run's figures read the times, kind and result; the checkers read the rest.
#[derive(Clone, Copy, Debug)]
pub struct ClientOp {
    pub call_ns: Nanos,
    /// `NEVER_RETURNED`: the client had no answer when the run ended.
    pub return_ns: Nanos,
    /// The request's id (unique in the run).
    pub id: u64,
    /// The response header's revision (0: failed).
    pub revision: i64,
    /// A put: the value's tag. A read: the tag found (`NOT_FOUND`: no such key).
    pub value: u64,
    /// Index of the key in `History::keys` (`NO_KEY`: not an operation on one key).
    pub key: u32,
    /// The member it was sent to; None when no member took the connection.
    pub member: Option<u8>,
    pub kind: OpKind,
    /// 0: ok; else 1 + the error's index in `History::error_texts`.
    error: u8,
    /// For a write that failed or never returned: whether the cluster applied it anyway.
    pub applied: Applied,
    /// The era of the data of the member that answered (see `Node::era`).
    pub era: u8,
}

/// What the cluster's log says of a write the client saw fail (the lab knows; a client does
/// not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Not a failed write (or one whose fate is unknown).
    Unknown,
    /// Applied at this revision (`ClientOp::revision`) although its client saw an error.
    Yes,
    No,
}

pub const NEVER_RETURNED: Nanos = u64::MAX;

/// The `[traffic]` clients' request kinds, as `history.jsonl` names them, in the report's order.
const TRAFFIC_KINDS: [&str; 8] = [
    "get",
    "range",
    "put",
    "delete",
    "txn",
    "lease_grant",
    "lease_revoke",
    "compact",
];

fn traffic_kind_name(kind: OpKind) -> &'static str {
    match kind {
        OpKind::Read => "get",
        OpKind::Range => "range",
        OpKind::Put => "put",
        OpKind::Delete => "delete",
        OpKind::Txn => "txn",
        OpKind::LeaseGrant => "lease_grant",
        OpKind::LeaseRevoke => "lease_revoke",
        OpKind::OtherWrite => "compact", // the only other write they send
    }
}
pub const NOT_FOUND: u64 = u64::MAX;
pub const NO_KEY: u32 = u32::MAX;

/// What a client asked, beyond its kind: the key and the value (a put's tag).
#[derive(Clone, Copy, Debug)]
pub struct Asked {
    pub key: u32,
    pub value: u64,
    /// A put's value size (its client remembers what it wrote).
    pub size_bytes: u32,
}

impl Asked {
    pub const NOTHING: Asked = Asked {
        key: NO_KEY,
        value: NOT_FOUND,
        size_bytes: 0,
    };
}

/// What a txn compared the key with (etcd's `Compare.target`, with `=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnCompare {
    /// The value's tag (`NOT_FOUND`: the key must not exist).
    Value(u64),
    Version(i64),
    CreateRevision(i64),
    ModRevision(i64),
}

/// A txn's compare, and what its response said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxnRecord {
    pub compare: TxnCompare,
    /// The compare's operator (the plain workload's are `=`).
    pub result: etcdlab_check::format::CompareResult,
    /// Whether the compare held (None: no response).
    pub succeeded: Option<bool>,
    /// The failure branch's read: the tag found (`NOT_FOUND`: no such key).
    pub else_found: u64,
}

#[derive(Default)]
pub struct History {
    ops: Vec<ClientOp>,
    error_texts: Vec<&'static str>,
    /// Keys in the order first seen (an operation names its key by index).
    keys: indexmap::IndexSet<Rc<[u8]>>,
    /// Failed or unanswered writes by id (their index in `ops`), until the log resolves them.
    unresolved: BTreeMap<u64, usize>,
    /// Txns by id: kept apart, so that the millions of plain operations stay small.
    txns: BTreeMap<u64, TxnRecord>,
    /// What the `[traffic]` clients' operations say beyond a plain operation, by id.
    traffic: BTreeMap<u64, TrafficRecord>,
    /// Watch streams that ended (a compaction cancelled them, a restore replaced the data, or
    /// the run ended), in the order they ended.
    pub watches: Vec<WatchStream>,
}

/// A `[traffic]` client's operation: which client sent it, and its lease or range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficRecord {
    /// The client's number (`traffic-<n>` in the history).
    pub client: u32,
    pub detail: TrafficDetail,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrafficDetail {
    Plain,
    /// A lease grant's or revoke's lease, or the lease a put attaches its key to.
    Lease(i64),
    /// A get as of a past revision.
    At(i64),
    /// A range over every key under the operation's key (a prefix): what it found, by key
    /// index and value tag, in key order; `at`: the revision it asked for (0: the latest).
    Range {
        found: Vec<(u32, u64)>,
        at: i64,
    },
}

/// One watch as its client saw it: created (or created again after a compaction cancelled
/// it, or a restore replaced the data) until it ended.
#[derive(Debug)]
pub struct WatchStream {
    /// The watch client's name.
    pub client: String,
    pub member: usize,
    pub prefix: String,
    pub start_revision: i64,
    pub call_ns: Nanos,
    pub era: u8,
    pub responses: Vec<etcdlab_check::format::WatchResponse>,
    /// When it ended, and the error that ended it; None: open at the end of the run.
    pub end: Option<(Nanos, Option<&'static str>)>,
}

/// A kind of request's figures (writes, or reads).
pub struct Figures {
    pub ok: u64,
    pub failed: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub latency_us: Histogram<u64>,
    /// Per minute of sending: (latencies, ok, failed).
    pub per_minute: BTreeMap<u64, (Histogram<u64>, u64, u64)>,
    /// When each successful one's reply arrived, in the order replies were filed.
    pub ok_done_ns: Vec<Nanos>,
}

pub fn histogram() -> Histogram<u64> {
    // 1 us .. 1 hour at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

impl History {
    /// The index of `key` (interned).
    pub fn key(&mut self, key: &Rc<[u8]>) -> u32 {
        if let Some(i) = self.keys.get_index_of(key) {
            return i as u32;
        }
        self.keys.insert(key.clone());
        u32::try_from(self.keys.len() - 1).expect("fewer than 4 billion keys")
    }

    pub fn key_bytes(&self, index: u32) -> Option<&Rc<[u8]>> {
        self.keys.get_index(index as usize)
    }

    /// A `[traffic]` client sent operation `id`.
    pub fn traffic_sent(&mut self, id: u64, record: TrafficRecord) {
        self.traffic.insert(id, record);
    }

    pub fn traffic(&self, id: u64) -> Option<&TrafficRecord> {
        self.traffic.get(&id)
    }

    /// Txn `id` was sent with `compare`.
    pub fn txn_sent(&mut self, id: u64, compare: TxnCompare) {
        self.txn_sent_with(id, compare, etcdlab_check::format::CompareResult::Equal);
    }

    /// A txn comparing with `result`.
    pub fn txn_sent_with(
        &mut self,
        id: u64,
        compare: TxnCompare,
        result: etcdlab_check::format::CompareResult,
    ) {
        let record = TxnRecord {
            compare,
            result,
            succeeded: None,
            else_found: NOT_FOUND,
        };
        self.txns.insert(id, record);
    }

    pub fn txn(&self, id: u64) -> Option<&TxnRecord> {
        self.txns.get(&id)
    }

    /// The `[traffic]` clients' figures: per kind sent, ok and failed; txn outcomes; errors.
    pub fn traffic_figures(&self, clients: u32) -> etcdlab_report::TrafficFigures {
        let mut f = etcdlab_report::TrafficFigures {
            clients,
            ..Default::default()
        };
        for name in TRAFFIC_KINDS {
            f.kinds.insert(name.to_string(), Default::default());
        }
        let mut errors = BTreeMap::new();
        for op in self
            .ops
            .iter()
            .filter(|op| self.traffic.contains_key(&op.id))
        {
            let name = traffic_kind_name(op.kind);
            let kind = f.kinds.get_mut(name).expect("every traffic kind listed");
            kind.sent += 1;
            let answered = op.error == 0 && op.return_ns != NEVER_RETURNED;
            if answered {
                kind.ok += 1;
            } else {
                kind.failed += 1;
                let text = self.error(op).unwrap_or("no answer");
                *errors.entry(text).or_insert(0) += 1;
            }
            if op.kind == OpKind::Txn && answered {
                match self.txns.get(&op.id).and_then(|t| t.succeeded) {
                    Some(true) => f.txn_compare_held += 1,
                    _ => f.txn_compare_failed += 1,
                }
            }
        }
        f.errors = errors
            .into_iter()
            .map(|(text, n)| (text.to_string(), n))
            .collect();
        // Kinds the mix never sent are left out, as the report leaves them out.
        f.kinds.retain(|_, k| k.sent > 0);
        f
    }

    /// The txns' figures: sent, compare held, compare failed, error (or no answer).
    pub fn txn_figures(&self) -> etcdlab_report::OptimisticUpdates {
        let mut f = etcdlab_report::OptimisticUpdates::default();
        let plain_txn =
            |op: &&ClientOp| op.kind == OpKind::Txn && !self.traffic.contains_key(&op.id);
        for op in self.ops.iter().filter(plain_txn) {
            f.sent += 1;
            let answered = op.error == 0 && op.return_ns != NEVER_RETURNED;
            match self.txns.get(&op.id).and_then(|t| t.succeeded) {
                Some(true) if answered => f.succeeded += 1,
                Some(false) if answered => f.compare_failed += 1,
                _ => f.failed += 1,
            }
        }
        f
    }

    /// An operation returned (or, with `return_ns` `NEVER_RETURNED`, never did).
    pub fn returned(
        &mut self,
        (call_ns, return_ns): (Nanos, Nanos),
        (id, member, kind, asked): (u64, Option<usize>, OpKind, Asked),
        result: Result<Response, &'static str>,
        era: u8,
    ) {
        let (error, revision, value) = match &result {
            Ok(r) => (0, r.revision, r.kv.map_or(NOT_FOUND, |kv| kv.value_tag)),
            Err(text) => (1 + self.error_index(text), 0, NOT_FOUND),
        };
        if let (OpKind::Txn, Ok(r), Some(t)) = (kind, &result, self.txns.get_mut(&id)) {
            t.succeeded = r.succeeded;
            t.else_found = value;
        }
        if let (OpKind::Range, Ok(r)) = (kind, &result) {
            self.range_found(id, r);
        }
        let value = if kind == OpKind::Read {
            value
        } else {
            asked.value
        };
        let failed_write = error != 0 && !kind.is_read();
        if failed_write {
            self.unresolved.insert(id, self.ops.len());
        }
        self.ops.push(ClientOp {
            call_ns,
            return_ns,
            id,
            revision,
            value,
            key: asked.key,
            member: member.map(|m| m as u8),
            kind,
            error,
            applied: Applied::Unknown,
            era,
        });
    }

    /// What range `id` found, kept in its traffic record.
    fn range_found(&mut self, id: u64, r: &Response) {
        let kvs = r.kvs.as_deref().unwrap_or_default();
        let found = kvs
            .iter()
            .map(|(key, kv)| (self.key(key), kv.value_tag))
            .collect();
        if let Some(record) = self.traffic.get_mut(&id) {
            if let TrafficDetail::Range { found: f, .. } = &mut record.detail {
                *f = found;
            }
        }
    }

    /// A member applied request `id` (`revision`: the store's after it; None: the applier
    /// refused it). A write its client saw fail is resolved by the first apply.
    pub fn applied(&mut self, id: u64, revision: Option<i64>) {
        if let Some(i) = self.unresolved.remove(&id) {
            let op = &mut self.ops[i];
            match revision {
                Some(rev) => {
                    op.applied = Applied::Yes;
                    op.revision = rev;
                }
                None => op.applied = Applied::No,
            }
        }
    }

    /// The run ended: failed writes no member applied were not applied (the lab sees every
    /// member's log; a write still in flight is recorded by `returned` with `NEVER_RETURNED`).
    pub fn close(&mut self) {
        for (_, i) in std::mem::take(&mut self.unresolved) {
            self.ops[i].applied = Applied::No;
        }
    }

    fn error_index(&mut self, text: &'static str) -> u8 {
        let i = match self.error_texts.iter().position(|t| *t == text) {
            Some(i) => i,
            None => {
                self.error_texts.push(text);
                self.error_texts.len() - 1
            }
        };
        u8::try_from(i).expect("fewer than 255 distinct error texts")
    }

    pub fn ops(&self) -> &[ClientOp] {
        &self.ops
    }

    pub fn error(&self, op: &ClientOp) -> Option<&'static str> {
        op.error
            .checked_sub(1)
            .map(|i| self.error_texts[i as usize])
    }

    /// The figures of the reads (`reads`) or of the writes.
    pub fn figures(&self, reads: bool) -> Figures {
        let mut f = Figures {
            ok: 0,
            failed: 0,
            errors: BTreeMap::new(),
            latency_us: histogram(),
            per_minute: BTreeMap::new(),
            ok_done_ns: Vec::new(),
        };
        for op in self
            .ops
            .iter()
            .filter(|op| op.kind.is_read() == reads)
            .filter(|op| op.return_ns != NEVER_RETURNED)
        {
            let minute = f.per_minute.entry(op.call_ns / 60_000_000_000);
            let slot = minute.or_insert_with(|| (histogram(), 0, 0));
            match self.error(op) {
                None => {
                    let us = ((op.return_ns - op.call_ns) / 1000).max(1);
                    f.ok += 1;
                    f.ok_done_ns.push(op.return_ns);
                    f.latency_us.saturating_record(us);
                    slot.0.saturating_record(us);
                    slot.1 += 1;
                }
                Some(text) => {
                    f.failed += 1;
                    *f.errors.entry(text).or_insert(0) += 1;
                    slot.2 += 1;
                }
            }
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Result<Response, &str> = Ok(Response {
        revision: 2,
        kv: None,
        succeeded: None,
        kvs: None,
    });

    fn put(id: u64, member: Option<usize>) -> (u64, Option<usize>, OpKind, Asked) {
        (
            id,
            member,
            OpKind::Put,
            Asked {
                key: 0,
                value: id,
                size_bytes: 1,
            },
        )
    }

    #[test]
    fn figures_come_from_the_operations_of_their_kind() {
        let mut h = History::default();
        let read = (2, Some(1), OpKind::Read, Asked::NOTHING);
        h.returned((0, 2_000_000), put(1, Some(0)), OK, 0);
        h.returned((1_000, 5_000), read, OK, 0);
        h.returned(
            (61_000_000_000, 66_000_000_000),
            put(3, Some(1)),
            Err("x"),
            0,
        );
        h.returned((62_000_000_000, 62_000_000_000), put(4, None), Err("y"), 0);
        h.returned(
            (63_000_000_000, 64_000_000_000),
            put(5, Some(2)),
            Err("x"),
            0,
        );
        h.returned(
            (63_000_000_000, NEVER_RETURNED),
            put(6, Some(2)),
            Err("x"),
            0,
        );
        let w = h.figures(false);
        assert_eq!((w.ok, w.failed), (1, 3));
        assert_eq!(w.errors, BTreeMap::from([("x", 2), ("y", 1)]));
        assert_eq!(w.latency_us.max(), 2000);
        assert_eq!(w.ok_done_ns, [2_000_000]);
        let minutes: Vec<_> = w.per_minute.iter().map(|(m, s)| (*m, s.1, s.2)).collect();
        assert_eq!(minutes, [(0, 1, 0), (1, 0, 3)]);
        let r = h.figures(true);
        assert_eq!((r.ok, r.failed, r.latency_us.max()), (1, 0, 4));
        assert_eq!(h.error(&h.ops()[3]), Some("y"));
        assert_eq!(h.ops()[3].member, None);
    }

    #[test]
    fn a_failed_write_is_resolved_by_the_first_apply_or_else_by_the_end() {
        let mut h = History::default();
        h.returned((0, 10), put(1, Some(0)), Err("request timed out"), 0);
        h.returned((0, 10), put(2, Some(0)), Err("request timed out"), 0);
        h.returned((0, 10), put(3, Some(0)), OK, 0);
        h.applied(1, Some(7));
        h.applied(1, Some(9)); // another member's apply of the same entry
        h.applied(3, Some(2));
        h.close();
        let ops = h.ops();
        assert_eq!((ops[0].applied, ops[0].revision), (Applied::Yes, 7));
        assert_eq!((ops[1].applied, ops[1].revision), (Applied::No, 0));
        assert_eq!((ops[2].applied, ops[2].revision), (Applied::Unknown, 2));
    }
}
