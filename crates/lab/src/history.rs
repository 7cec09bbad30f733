//! The clients' history: every client write and read as its client saw it (call and return
//! time, the member it went to, what it asked, how it ended), appended as replies arrive. The
//! run's write and read figures are derived from it, not counted on the side.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;

type Nanos = u64;

/// What a client asked (the request's kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Delete,
    LeaseGrant,
    LeaseRevoke,
    /// Anything else a client writes through raft (compaction, alarms, membership).
    OtherWrite,
    Read,
}

impl OpKind {
    pub fn of(op: &etcdlab_member::Op) -> OpKind {
        use etcdlab_member::Op;
        match op {
            Op::Put { .. } => OpKind::Put,
            Op::DeleteRange { .. } => OpKind::Delete,
            Op::LeaseGrant { .. } => OpKind::LeaseGrant,
            Op::LeaseRevoke { .. } => OpKind::LeaseRevoke,
            _ => OpKind::OtherWrite,
        }
    }
}

/// One operation, call to return. 32 bytes: a run of millions of writes keeps them all.
/// The run's figures read the times, kind and result; id and member identify the operation
/// for checkers of the history.
#[allow(dead_code, reason = "id and member are for the history's checkers")]
#[derive(Clone, Copy, Debug)]
pub struct ClientOp {
    pub call_ns: Nanos,
    pub return_ns: Nanos,
    /// The request's id (unique in the run).
    #[allow(
        dead_code,
        reason = "the history's identity of an operation, for its checkers"
    )]
    pub id: u64,
    /// The member it was sent to; None when no member took the connection.
    pub member: Option<u8>,
    pub kind: OpKind,
    /// 0: ok; else 1 + the error's index in `History::error_texts`.
    error: u8,
}

#[derive(Default)]
pub struct History {
    ops: Vec<ClientOp>,
    error_texts: Vec<&'static str>,
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
    /// An operation returned (`error`: etcd's text, None on success).
    pub fn returned(
        &mut self,
        (call_ns, return_ns): (Nanos, Nanos),
        id: u64,
        member: Option<usize>,
        kind: OpKind,
        error: Option<&'static str>,
    ) {
        let error = match error {
            None => 0,
            Some(text) => 1 + self.error_index(text),
        };
        self.ops.push(ClientOp {
            call_ns,
            return_ns,
            id,
            member: member.map(|m| m as u8),
            kind,
            error,
        });
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

    #[allow(dead_code, reason = "for the history's checkers")]
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
            .filter(|op| (op.kind == OpKind::Read) == reads)
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

    #[test]
    fn figures_come_from_the_operations_of_their_kind() {
        let mut h = History::default();
        h.returned((0, 2_000_000), 1, Some(0), OpKind::Put, None);
        h.returned((1_000, 5_000), 2, Some(1), OpKind::Read, None);
        h.returned(
            (61_000_000_000, 66_000_000_000),
            3,
            Some(1),
            OpKind::Put,
            Some("x"),
        );
        h.returned(
            (62_000_000_000, 62_000_000_000),
            4,
            None,
            OpKind::Put,
            Some("y"),
        );
        h.returned(
            (63_000_000_000, 64_000_000_000),
            5,
            Some(2),
            OpKind::Put,
            Some("x"),
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
}
