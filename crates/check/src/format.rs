//! `history.jsonl`: one client operation a line, as its client saw it.

use serde::{Deserialize, Serialize};

/// One client operation, call to return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// Unique in the history.
    pub id: u64,
    /// Who sent it (a client's name: operations of one client are sequential or not, as they
    /// were; the checker does not assume either).
    pub client: String,
    /// The member the client talked to, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    pub call_ns: u64,
    /// None: the client never had an answer.
    #[serde(default)]
    pub return_ns: Option<u64>,
    pub op: OpName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A put's (or a txn's success put's) value; a get's value found (None: not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A get's or range's revision asked for (etcd's `WithRev`; None: the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_revision: Option<i64>,
    /// A range's end, exclusive (etcd's `range_end`; "\0": every key from `key` on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_end: Option<String>,
    /// A range's response: every key it found, in key order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kvs: Vec<RangeKv>,
    /// A lease grant's or revoke's lease; a put's lease (None: no lease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<i64>,
    /// A txn's compare: the value the key must have. A txn names at most one of the
    /// `expect_*` targets (etcd's `Compare.target`); with none, the key must not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_value: Option<String>,
    /// A txn's compare on the key's version (0: the key does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_version: Option<i64>,
    /// A txn's compare on the key's create revision (0: the key does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_create_revision: Option<i64>,
    /// A txn's compare on the key's mod revision (0: the key does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_mod_revision: Option<i64>,
    /// A txn's compare operator, the key's on the left: `=` (absent), `!=`, `>`, `<`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_result: Option<CompareResult>,
    /// A txn whose failure branch reads the key (etcd's `Txn().Else(Get(key))`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub else_get: bool,
    /// What that read found, when the compare failed (None: not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub else_value: Option<String>,
    /// A txn's response: whether the compare held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded: Option<bool>,
    /// A serializable get (answered from the member's own state, not linearizable).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serializable: bool,
    /// The response header's revision (None: the operation failed or never returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// The error the client saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The era of the cluster's data that served it (absent: 0). A restore of a whole cluster
    /// from a backup starts a new era whose revisions may go back; each era is checked on its
    /// own.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub era: u32,
    /// A failed write's fate as the cluster's log tells it (a simulator knows; a client does
    /// not): `true` applied (at `revision`, if given), `false` never applied. None: unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
    /// `watch`: every key under `key` (etcd's `WithPrefix`), not just `key`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prefix: bool,
    /// `watch`: the revision it asked to start from (None: the revision after the one current
    /// when it was created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_revision: Option<i64>,
    /// `watch`: it asked for each event's previous key-value (`WithPrevKV`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prev_kv: bool,
    /// `watch`: the responses that carried events, in the order they arrived.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<WatchResponse>,
}

/// One key a range found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeKv {
    pub key: String,
    pub value: String,
}

/// One watch response: the events of one or more whole revisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchResponse {
    /// When it arrived.
    pub at_ns: u64,
    /// The response header's revision.
    pub revision: i64,
    pub events: Vec<WatchEvent>,
}

/// One event of a watch response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub key: String,
    /// The key's `mod_revision`: the revision of the write.
    pub revision: i64,
    /// A put's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A put's `create_revision` and `version` (a delete's are 0 in etcd; left out here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_revision: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// With `prev_kv`: whether the key existed before this event, and its value then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_value: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Put,
    Delete,
}

impl WatchEvent {
    /// etcd's `Event.IsCreate`: a put whose key was created by it.
    pub fn is_create(&self) -> Option<bool> {
        match self.kind {
            EventKind::Put => self.create_revision.map(|c| c == self.revision),
            EventKind::Delete => Some(false),
        }
    }
}

impl Operation {
    /// Operation `id` of `client`, called at `call_ns`, with nothing else said yet (no answer,
    /// no key, no compare, no watch fields).
    pub fn new(id: u64, client: String, call_ns: u64, op: OpName) -> Operation {
        Operation {
            id,
            client,
            member: None,
            call_ns,
            return_ns: None,
            op,
            key: None,
            value: None,
            at_revision: None,
            range_end: None,
            kvs: Vec::new(),
            lease: None,
            expect_value: None,
            expect_version: None,
            expect_create_revision: None,
            expect_mod_revision: None,
            compare_result: None,
            else_get: false,
            else_value: None,
            succeeded: None,
            serializable: false,
            revision: None,
            error: None,
            era: 0,
            applied: None,
            prefix: false,
            start_revision: None,
            prev_kv: false,
            responses: Vec::new(),
        }
    }

    /// Does key `k` fall in this range? (`[key, range_end)` byte by byte, "\0" as the end
    /// of every key; with `prefix`, every key under `key`.)
    pub fn covers(&self, k: &str) -> bool {
        let key = self.key.as_deref().unwrap_or("");
        match self.range_end.as_deref() {
            _ if self.prefix => k.starts_with(key),
            Some("\0") => k >= key,
            Some(end) => k >= key && k < end,
            None => k == key,
        }
    }

    /// Does key `k` fall in what this watch watches?
    pub fn watches(&self, k: &str) -> bool {
        let key = self.key.as_deref().unwrap_or("");
        if self.prefix {
            k.starts_with(key)
        } else {
            k == key
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The kinds of operation a history may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpName {
    Put,
    Get,
    /// A read of every key in `[key, range_end)` (or under `key`, with `prefix`).
    Range,
    /// Delete of one key.
    Delete,
    /// A lease is granted; the revision stays.
    #[serde(rename = "lease_grant")]
    LeaseGrant,
    /// A lease is revoked: its keys are deleted at one revision.
    #[serde(rename = "lease_revoke")]
    LeaseRevoke,
    /// A transaction comparing one key's value, putting `value` to it when the compare holds.
    Txn,
    /// Any other write (another client's, a lease's, a compaction): it may advance the
    /// revision; its effect on the history's keys is unknown, so those keys must not be
    /// written by such operations.
    Write,
    /// A watch on `key` (or every key under it, with `prefix`), with the responses it got.
    Watch,
}

/// A txn compare's operator (etcd's `Compare.result`), with the key's figure on the left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareResult {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = "!=")]
    NotEqual,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = "<")]
    Less,
}

impl CompareResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CompareResult::Equal => "=",
            CompareResult::NotEqual => "!=",
            CompareResult::Greater => ">",
            CompareResult::Less => "<",
        }
    }
}

/// A line that is not an operation.
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Reads a history: one JSON object a line; blank lines are skipped.
pub fn parse_jsonl(text: &str) -> Result<Vec<Operation>, ParseError> {
    let mut ops = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let op: Operation = serde_json::from_str(line).map_err(|e| ParseError {
            line: i + 1,
            message: e.to_string(),
        })?;
        validate(&op).map_err(|message| ParseError {
            line: i + 1,
            message,
        })?;
        ops.push(op);
    }
    Ok(ops)
}

fn validate(op: &Operation) -> Result<(), String> {
    let is_lease_op = matches!(op.op, OpName::LeaseGrant | OpName::LeaseRevoke);
    let needs_key = !matches!(op.op, OpName::Write) && !is_lease_op;
    if needs_key && op.key.is_none() {
        return Err(format!("operation {}: `key` is required", op.id));
    }
    if is_lease_op && op.lease.is_none() {
        return Err(format!("operation {}: `lease` is required", op.id));
    }
    if op.op == OpName::Range && (op.range_end.is_some() == op.prefix) {
        return Err(format!(
            "operation {}: a range needs one of `range_end` and `prefix`",
            op.id
        ));
    }
    if op.op != OpName::Range && !op.kvs.is_empty() {
        return Err(format!("operation {}: only a range has `kvs`", op.id));
    }
    if op.at_revision.is_some() && !matches!(op.op, OpName::Get | OpName::Range) {
        return Err(format!(
            "operation {}: only a get or a range has `at_revision`",
            op.id
        ));
    }
    if op.at_revision.is_some_and(|r| r <= 0) {
        return Err(format!(
            "operation {}: `at_revision` must be positive",
            op.id
        ));
    }
    if op.op != OpName::Range && op.range_end.is_some() {
        return Err(format!("operation {}: only a range has `range_end`", op.id));
    }
    if op.prefix && !matches!(op.op, OpName::Range | OpName::Watch) {
        return Err(format!(
            "operation {}: only a range or a watch has `prefix`",
            op.id
        ));
    }
    let takes_lease = matches!(op.op, OpName::Put) || is_lease_op;
    if op.lease.is_some() && !takes_lease {
        return Err(format!(
            "operation {}: only a put, a lease grant or a lease revoke has `lease`",
            op.id
        ));
    }
    if is_lease_op && op.lease == Some(0) {
        return Err(format!(
            "operation {}: lease 0 means no lease; a lease operation names one",
            op.id
        ));
    }
    if op.op == OpName::Range && op.serializable {
        return Err(format!(
            "operation {}: serializable ranges are not checked yet (no checker judges them); \
             record them as linearizable only if they were",
            op.id
        ));
    }
    if matches!(op.op, OpName::Put | OpName::Txn) && op.value.is_none() {
        return Err(format!("operation {}: `value` is required", op.id));
    }
    if op.return_ns.is_some_and(|r| r < op.call_ns) {
        return Err(format!("operation {}: returns before its call", op.id));
    }
    let ok = op.error.is_none();
    if op.op != OpName::Watch && !op.responses.is_empty() {
        return Err(format!("operation {}: only a watch has `responses`", op.id));
    }
    let is_watch = op.op == OpName::Watch;
    if ok && op.return_ns.is_some() && op.revision.is_none() && !is_watch {
        return Err(format!(
            "operation {}: a successful operation needs its `revision`",
            op.id
        ));
    }
    if op.op == OpName::Txn {
        validate_compare(op)?;
    }
    if ok && op.op == OpName::Txn && op.succeeded.is_none() && op.return_ns.is_some() {
        return Err(format!(
            "operation {}: a successful txn needs `succeeded`",
            op.id
        ));
    }
    Ok(())
}

/// A txn names one compare target, and orders only numbers.
fn validate_compare(op: &Operation) -> Result<(), String> {
    let numbers = [
        op.expect_version,
        op.expect_create_revision,
        op.expect_mod_revision,
    ];
    let targets = numbers.iter().flatten().count() + usize::from(op.expect_value.is_some());
    if targets > 1 {
        return Err(format!(
            "operation {}: a txn compares one of `expect_value`, `expect_version`, \
             `expect_create_revision`, `expect_mod_revision`",
            op.id
        ));
    }
    let ordered = matches!(
        op.compare_result,
        Some(CompareResult::Greater | CompareResult::Less)
    );
    if ordered && numbers.iter().all(Option::is_none) {
        return Err(format!(
            "operation {}: `>` and `<` compare a version or a revision, not a value",
            op.id
        ));
    }
    if op.else_value.is_some() && !op.else_get {
        return Err(format!(
            "operation {}: `else_value` without `else_get`",
            op.id
        ));
    }
    Ok(())
}

/// A txn's compare, readable: `k.mod_revision = 5`, `k == v`, `k absent`.
fn describe_compare(op: &Operation, key: &str) -> String {
    let result = op.compare_result.unwrap_or(CompareResult::Equal).as_str();
    let number = [
        ("version", op.expect_version),
        ("create_revision", op.expect_create_revision),
        ("mod_revision", op.expect_mod_revision),
    ]
    .into_iter()
    .find_map(|(name, n)| n.map(|n| format!("{key}.{name} {result} {n}")));
    match (number, &op.expect_value) {
        (Some(n), _) => n,
        (None, Some(v)) if result == "=" => format!("{key} == {v}"),
        (None, Some(v)) => format!("{key} {result} {v}"),
        (None, None) => format!("{key} absent"),
    }
}

/// Writes a history as JSON lines.
pub fn to_jsonl(ops: &[Operation]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&serde_json::to_string(op).expect("an operation serializes"));
        out.push('\n');
    }
    out
}

/// Errors after which etcd 3.4 has certainly not applied a write: it was refused before it
/// was proposed (the require-leader check, raft dropping the proposal during a leader
/// transfer, the rate and size limits), or the applier refused it. Every other error
/// (timeouts, a lost connection, a deadline) leaves a write maybe applied (docs/
/// client-errors.md).
pub const DEFINITE_ERRORS: &[&str] = &[
    "etcdserver: mvcc: database space exceeded",
    "mvcc: database space exceeded",
    "connection refused",
    "etcdserver: too many requests",
    "etcdserver: request is too large",
    "etcdserver: not capable",
    "etcdserver: no leader",
    "raft proposal dropped",
    "etcdserver: requested lease not found",
];

pub fn is_definite(error: &str) -> bool {
    DEFINITE_ERRORS.iter().any(|e| error.contains(e))
}

/// The operations of a failing window, in the window's order (call order).
pub fn window_ops<'a>(ops: &'a [Operation], window: &[u64]) -> Vec<&'a Operation> {
    let by_id: std::collections::BTreeMap<u64, &Operation> =
        ops.iter().map(|o| (o.id, o)).collect();
    window
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .collect()
}

/// A failing window, one operation a line, the one that cannot be placed marked `=>`.
pub fn describe_window(shown: &[&Operation], culprit: u64) -> String {
    let mut text = format!("no order of the operations explains operation {culprit}:\n");
    for op in shown {
        let mark = if op.id == culprit { "=>" } else { "  " };
        text.push_str(&format!("{mark} {}\n", describe(op)));
    }
    text
}

/// ` at revision 5` for a read at a past revision.
fn at_revision(op: &Operation) -> String {
    op.at_revision
        .map_or(String::new(), |r| format!(" as of revision {r}"))
}

/// One operation, readable: `17 writes m1 [1.000200 s, 1.004100 s] put k = v -> revision 5`.
pub fn describe(op: &Operation) -> String {
    let at = |ns: u64| format!("{:.6} s", ns as f64 / 1e9);
    let returned = op.return_ns.map_or("never".to_string(), at);
    let member = op.member.as_deref().unwrap_or("-");
    let key = op.key.as_deref().unwrap_or("");
    let asked = match op.op {
        OpName::Put => format!(
            "put {key} = {}{}",
            op.value.as_deref().unwrap_or(""),
            op.lease
                .map_or(String::new(), |l| format!(" with lease {l}"))
        ),
        OpName::Get => format!("get {key}{}", at_revision(op)),
        OpName::Range => match op.range_end.as_deref() {
            _ if op.prefix => format!("range {key}*{}", at_revision(op)),
            Some("\0") => format!("range {key}..{}", at_revision(op)),
            end => format!("range {key}..{}{}", end.unwrap_or(""), at_revision(op)),
        },
        OpName::LeaseGrant => format!("lease grant {}", op.lease.unwrap_or(0)),
        OpName::LeaseRevoke => format!("lease revoke {}", op.lease.unwrap_or(0)),
        OpName::Delete => format!("delete {key}"),
        OpName::Txn => format!(
            "txn if {} then put {}{}",
            describe_compare(op, key),
            op.value.as_deref().unwrap_or(""),
            if op.else_get { " else get" } else { "" }
        ),
        OpName::Write => "another write".to_string(),
        OpName::Watch => format!(
            "watch {key}{} from revision {}",
            if op.prefix { "*" } else { "" },
            op.start_revision
                .map_or("(current + 1)".to_string(), |r| r.to_string())
        ),
    };
    let answer = match (&op.error, op.op) {
        (error, OpName::Watch) => {
            let events: usize = op.responses.iter().map(|r| r.events.len()).sum();
            let end = match (error, op.return_ns) {
                (Some(e), _) => format!(", ended by `{e}`"),
                (None, Some(_)) => ", ended".to_string(),
                (None, None) => ", open".to_string(),
            };
            format!("{} responses, {events} events{end}", op.responses.len())
        }
        (Some(e), _) => match op.applied {
            Some(true) => format!("error `{e}` (applied, per the log)"),
            Some(false) => format!("error `{e}` (not applied, per the log)"),
            None => format!("error `{e}`"),
        },
        (None, OpName::Get) => format!(
            "{} at revision {}",
            op.value.as_deref().unwrap_or("(not found)"),
            op.revision.unwrap_or(0)
        ),
        (None, OpName::Range) => format!(
            "[{}] at revision {}",
            op.kvs
                .iter()
                .map(|kv| format!("{} = {}", kv.key, kv.value))
                .collect::<Vec<_>>()
                .join(", "),
            op.revision.unwrap_or(0)
        ),
        (None, OpName::Txn) if op.return_ns.is_some() => format!(
            "{} at revision {}{}",
            if op.succeeded == Some(true) {
                "succeeded"
            } else {
                "failed"
            },
            op.revision.unwrap_or(0),
            match (op.else_get, op.succeeded) {
                (true, Some(false)) => format!(
                    ", got {}",
                    op.else_value.as_deref().unwrap_or("(not found)")
                ),
                _ => String::new(),
            }
        ),
        (None, _) if op.return_ns.is_none() => "no answer".to_string(),
        (None, _) => format!("revision {}", op.revision.unwrap_or(0)),
    };
    format!(
        "{} {} {member} [{}, {returned}] {asked} -> {answer}",
        op.id,
        op.client,
        at(op.call_ns)
    )
}
