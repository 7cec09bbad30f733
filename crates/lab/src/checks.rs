//! The run's client history as `history.jsonl` operations, and the checkers' verdicts on it.

use crate::history::{
    Applied, ClientOp, History, OpKind, TrafficDetail, TxnCompare, TxnRecord, WatchStream,
    NEVER_RETURNED, NOT_FOUND, NO_KEY,
};
use etcdlab_check::format::{describe_window, window_ops, OpName, Operation, RangeKv};
use etcdlab_check::watch::describe_failure;
use etcdlab_check::{check_linearizable, check_serializable_reads, check_watches, Budget, Verdict};
use etcdlab_report::CheckResult;

/// Every client operation of the run, in the order replies arrived (writes still unanswered
/// at the end last). `linearizable_reads`: how the plain workload read.
pub fn operations(history: &History, linearizable_reads: bool) -> Vec<Operation> {
    let mut ops: Vec<Operation> = history
        .ops()
        .iter()
        .map(|op| operation(history, op, linearizable_reads))
        .collect();
    // Watches are numbered after every request (they have no request id of their own).
    let first_id = ops.iter().map(|o| o.id).max().unwrap_or(0) + 1;
    ops.extend(
        history
            .watches
            .iter()
            .enumerate()
            .map(|(i, w)| watch_operation(first_id + i as u64, w)),
    );
    ops
}

fn watch_operation(id: u64, w: &WatchStream) -> Operation {
    Operation {
        member: Some(format!("m{}", w.member + 1)),
        return_ns: w.end.map(|(at, _)| at),
        key: Some(w.prefix.clone()),
        error: w.end.and_then(|(_, e)| e).map(str::to_string),
        era: w.era as u32,
        prefix: true,
        start_revision: Some(w.start_revision),
        responses: w.responses.clone(),
        ..Operation::new(id, format!("watch {}", w.client), w.call_ns, OpName::Watch)
    }
}

fn operation(history: &History, op: &ClientOp, linearizable_reads: bool) -> Operation {
    let error = history.error(op);
    let key = (op.key != NO_KEY)
        .then(|| history.key_bytes(op.key))
        .flatten()
        .map(|k| String::from_utf8_lossy(k).into_owned());
    let traffic = history.traffic(op.id);
    let name = match op.kind {
        OpKind::Put => OpName::Put,
        OpKind::Delete if key.is_some() => OpName::Delete,
        OpKind::Read => OpName::Get,
        OpKind::Range => OpName::Range,
        OpKind::Txn if key.is_some() => OpName::Txn,
        // Kubernetes' leases are not the history's: their grants and revokes stay writes.
        OpKind::LeaseGrant if traffic.is_some() => OpName::LeaseGrant,
        OpKind::LeaseRevoke if traffic.is_some() => OpName::LeaseRevoke,
        _ => OpName::Write,
    };
    let is_read = op.kind == OpKind::Read;
    let has_value =
        matches!(name, OpName::Put | OpName::Get | OpName::Txn) && op.value != NOT_FOUND;
    let known_revision = error.is_none() || op.applied == Applied::Yes;
    let client = match traffic {
        Some(t) => format!("traffic-{}", t.client),
        None if is_read => "reads".to_string(),
        None => "writes".to_string(),
    };
    let operation = Operation {
        member: op.member.map(|m| format!("m{}", m + 1)),
        return_ns: (op.return_ns != NEVER_RETURNED).then_some(op.return_ns),
        key: if name == OpName::Write { None } else { key },
        value: has_value.then(|| op.value.to_string()),
        serializable: is_read && !linearizable_reads && traffic.is_none(),
        revision: known_revision.then_some(op.revision),
        error: error.map(str::to_string),
        era: op.era as u32,
        applied: match op.applied {
            Applied::Unknown => None,
            Applied::Yes => Some(true),
            Applied::No => Some(false),
        },
        ..Operation::new(op.id, client, op.call_ns, name)
    };
    let operation = match traffic {
        Some(t) => with_traffic(history, operation, &t.detail),
        None => operation,
    };
    match (name, history.txn(op.id)) {
        (OpName::Txn, Some(t)) => with_txn(operation, t, error.is_none()),
        _ => operation,
    }
}

/// A `[traffic]` operation's lease, or its range's prefix and what it found.
fn with_traffic(history: &History, mut o: Operation, detail: &TrafficDetail) -> Operation {
    match detail {
        TrafficDetail::Plain => {}
        TrafficDetail::Lease(lease) => {
            o.lease = Some(*lease);
            if o.op == OpName::LeaseGrant || o.op == OpName::LeaseRevoke {
                o.key = None;
            }
        }
        TrafficDetail::At(rev) => o.at_revision = Some(*rev),
        TrafficDetail::Range { found, at } => {
            o.at_revision = (*at > 0).then_some(*at);
            let text = |k: u32| {
                let bytes = history.key_bytes(k).map_or(&[][..], |b| &b[..]);
                String::from_utf8_lossy(bytes).into_owned()
            };
            o.kvs = found
                .iter()
                .map(|(k, tag)| RangeKv {
                    key: text(*k),
                    value: tag.to_string(),
                })
                .collect();
        }
    }
    if o.op == OpName::Range {
        o.prefix = true;
        o.value = None;
    }
    o
}

/// A txn's compare and, when the client saw the response, its outcome and failure read.
fn with_txn(mut o: Operation, t: &TxnRecord, answered: bool) -> Operation {
    use etcdlab_check::format::CompareResult;
    if t.result != CompareResult::Equal {
        o.compare_result = Some(t.result);
    }
    match t.compare {
        TxnCompare::Value(tag) => o.expect_value = (tag != NOT_FOUND).then(|| tag.to_string()),
        TxnCompare::Version(n) => o.expect_version = Some(n),
        TxnCompare::CreateRevision(n) => o.expect_create_revision = Some(n),
        TxnCompare::ModRevision(n) => o.expect_mod_revision = Some(n),
    }
    o.else_get = true;
    if answered {
        o.succeeded = t.succeeded;
        if t.succeeded == Some(false) && t.else_found != NOT_FOUND {
            o.else_value = Some(t.else_found.to_string());
        }
    }
    o
}

/// Runs every checker of client histories on `ops`.
pub fn run(ops: &[Operation]) -> Vec<CheckResult> {
    let out = check_linearizable(ops, Budget::default());
    let (verdict, failure, failure_svg) = match &out.verdict {
        Verdict::Pass => ("pass", None, None),
        Verdict::Undecided => ("undecided", None, None),
        Verdict::Fail { culprit, window } => {
            // The text lists the window in call order, the picture in the history's order.
            let in_history = in_window(ops, window);
            (
                "fail",
                Some(describe_window(&window_ops(ops, window), *culprit)),
                Some(etcdlab_check::picture::window_svg(&in_history, *culprit)),
            )
        }
    };
    vec![CheckResult {
        checker: "linearizability".to_string(),
        verdict: verdict.to_string(),
        operations: out.operations as u64,
        maybe_applied: out.maybe_applied as u64,
        steps: out.steps,
        failure,
        failure_svg,
    }]
    .into_iter()
    .chain(watch_check(ops))
    .chain(serializable_check(ops))
    .collect()
}

/// Serializable reads against the states the cluster had, when the run had any.
fn serializable_check(ops: &[Operation]) -> Option<CheckResult> {
    let out = check_serializable_reads(ops);
    let failure = out.failure.as_ref().map(|f| {
        let shown = in_window(ops, &f.window);
        (
            etcdlab_check::serializable::describe_failure(ops, f),
            etcdlab_check::picture::window_svg(&shown, f.read),
        )
    });
    let reads = out.reads as u64;
    (reads > 0).then(|| plain_result("serializable", reads, reads, failure))
}

/// The watch guarantees, when the run had watch clients.
fn watch_check(ops: &[Operation]) -> Option<CheckResult> {
    let out = check_watches(ops);
    let failure = out.failure.as_ref().map(|f| {
        let shown = in_window(ops, &f.window);
        (
            describe_failure(ops, f),
            etcdlab_check::picture::watch_svg(&shown, f.watch),
        )
    });
    (out.watches > 0).then(|| plain_result("watch", out.watches as u64, out.events, failure))
}

/// The operations of a failing window, in the history's order (the picture's).
fn in_window<'a>(ops: &'a [Operation], window: &[u64]) -> Vec<&'a Operation> {
    ops.iter().filter(|o| window.contains(&o.id)).collect()
}

/// The verdict of a checker that searches nothing (no maybe-applied writes, no undecided):
/// pass, or fail with its text and picture.
fn plain_result(
    checker: &str,
    operations: u64,
    steps: u64,
    failure: Option<(String, String)>,
) -> CheckResult {
    let verdict = if failure.is_some() { "fail" } else { "pass" };
    let (failure, failure_svg) = failure.unzip();
    CheckResult {
        checker: checker.to_string(),
        verdict: verdict.to_string(),
        operations,
        maybe_applied: 0,
        steps,
        failure,
        failure_svg,
    }
}

/// `[liveness]`'s verdict as a check: `fail` with what did not recover.
pub fn liveness_result(verdict: Result<(), String>) -> CheckResult {
    CheckResult {
        checker: "liveness".to_string(),
        verdict: if verdict.is_ok() { "pass" } else { "fail" }.to_string(),
        operations: 0,
        maybe_applied: 0,
        steps: 0,
        failure: verdict.err(),
        failure_svg: None,
    }
}
