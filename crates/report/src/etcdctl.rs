//! What etcdctl 3.4 prints, byte for byte, so operator steps in a report read like a terminal
//! transcript (reference: etcd-ground-truth.md, section E), and where etcdctl 3.5 differs
//! ([`EtcdctlVersion`]; measured on 3.4.23 and 3.5.1 with `scripts/fidelity/etcdctl_texts.py`):
//! the server version, errors, and the retry interceptor's warn line before an RPC's error.
//!
//! Tables are drawn the way etcdctl's `olekukonko/tablewriter` (a0225b3, the version etcd 3.4
//! pins) draws them: headers upper-cased and centred, cells right-aligned, cells wider than 30
//! columns word-wrapped onto extra lines with its minimal-raggedness algorithm.

use std::fmt::Write;

/// One endpoint's row of `etcdctl endpoint status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStatusRow {
    /// e.g. "127.0.0.1:12379".
    pub endpoint: String,
    pub member_id: u64,
    /// e.g. "3.4.23".
    pub version: String,
    pub db_size: u64,
    pub is_leader: bool,
    pub is_learner: bool,
    pub raft_term: u64,
    pub raft_index: u64,
    pub raft_applied_index: u64,
    /// The server's `errors` strings, e.g. from [`alarm_error`]; joined with ", " in the cell.
    pub errors: Vec<String>,
}

/// One member's row of `etcdctl member list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberListRow {
    pub id: u64,
    /// Empty for a member that was added but never started ("unstarted").
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub is_learner: bool,
}

/// An `AlarmMember` as the server renders it in the `errors` of a status reply (protobuf text
/// format: zero fields are left out, each field is followed by a space).
pub fn alarm_error(member_id: u64, alarm: &str) -> String {
    if member_id == 0 {
        format!("alarm:{alarm} ")
    } else {
        format!("memberID:{member_id} alarm:{alarm} ")
    }
}

/// `etcdctl alarm list` (and `alarm disarm`, which prints the alarms it removed): one line per
/// alarm with a trailing space; nothing at all when there is none.
pub fn alarm_list(alarms: &[(u64, &str)]) -> String {
    alarms
        .iter()
        .map(|(id, alarm)| format!("{}\n", alarm_error(*id, alarm)))
        .collect()
}

/// `etcdctl compaction <rev>`.
pub fn compacted(rev: i64) -> String {
    format!("compacted revision {rev}\n")
}

/// `etcdctl defrag`, one line per endpoint.
pub fn defrag_finished(endpoint: &str) -> String {
    format!("Finished defragmenting etcd member[{endpoint}]\n")
}

/// `etcdctl endpoint hashkv` (simple format): `<endpoint>, <hash>` per endpoint.
pub fn endpoint_hashkv(rows: &[(&str, u32)]) -> String {
    rows.iter()
        .map(|(ep, hash)| format!("{ep}, {hash}\n"))
        .collect()
}

/// One endpoint's `HashKV` answer, for the table and JSON forms of `etcdctl endpoint hashkv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashKvRow {
    pub endpoint: String,
    pub cluster_id: u64,
    pub member_id: u64,
    /// The member's current revision (the response header's).
    pub revision: i64,
    pub raft_term: u64,
    pub hash: u32,
    pub compact_revision: i64,
}

/// `etcdctl endpoint hashkv -w table` (etcdctl's headers: endpoint, hash).
pub fn endpoint_hashkv_table(rows: &[HashKvRow]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| vec![r.endpoint.clone(), r.hash.to_string()])
        .collect();
    table(&["endpoint", "hash"], &cells)
}

/// `etcdctl endpoint hashkv -w json`: one JSON array of the responses, exact integers.
pub fn endpoint_hashkv_json(rows: &[HashKvRow]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"Endpoint\":{},\"HashKV\":{{\"header\":{{\"cluster_id\":{},\"member_id\":{},\"revision\":{},\"raft_term\":{}}},\"hash\":{},\"compact_revision\":{}}}}}",
                json_str(&r.endpoint),
                r.cluster_id,
                r.member_id,
                r.revision,
                r.raft_term,
                r.hash,
                r.compact_revision
            )
        })
        .collect();
    format!("[{}]\n", items.join(","))
}

/// Which etcdctl (and etcd) the terminal runs: the lab's two versions, measured on 3.4.23 and
/// 3.5.1 (`scripts/fidelity/etcdctl_texts.py`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EtcdctlVersion {
    #[default]
    V3_4,
    V3_5,
}

impl EtcdctlVersion {
    /// The server version `endpoint status` shows.
    pub fn server_version(self) -> &'static str {
        match self {
            EtcdctlVersion::V3_4 => "3.4.23",
            EtcdctlVersion::V3_5 => "3.5.1",
        }
    }
}

/// What the lab's terminal hands etcdctl when no member accepted the connection: etcdctl
/// dials until its command timeout (5 s) and reports the context's deadline.
pub const NO_CONNECTION: &str = "connection refused";
/// A member crashed while it held the request (3.4's wording; [`rpc_failure`] gives 3.5's).
pub const CONNECTION_LOST: &str = "rpc error: code = Unavailable desc = transport is closing";
/// etcdctl's own deadline passed while the server still held the request.
pub const CLIENT_DEADLINE: &str =
    "rpc error: code = DeadlineExceeded desc = context deadline exceeded";
/// The server gave up on the request when the deadline the client sent with it passed
/// (etcd returns the context's error, which gRPC passes on with code Unknown).
pub const SERVER_DEADLINE: &str = "context deadline exceeded";

/// The gRPC code etcd's server sends with one of its error texts (`rpctypes` in etcd's
/// `api/v3rpc`); None for a text that is not a server error.
pub fn grpc_code(err: &str) -> Option<&'static str> {
    Some(match err {
        "etcdserver: mvcc: database space exceeded" | "etcdserver: too many requests" => {
            "ResourceExhausted"
        }
        "etcdserver: mvcc: required revision has been compacted"
        | "etcdserver: mvcc: required revision is a future revision"
        | "etcdserver: too large lease TTL" => "OutOfRange",
        "etcdserver: corrupt cluster" => "DataLoss",
        "etcdserver: member not found" | "etcdserver: requested lease not found" => "NotFound",
        "etcdserver: re-configuration failed due to not enough started members"
        | "etcdserver: lease already exists"
        | "etcdserver: Peer URLs already exists"
        | "etcdserver: member ID already exist" => "FailedPrecondition",
        SERVER_DEADLINE => "Unknown",
        e if e.starts_with("etcdserver: ") => "Unavailable",
        _ => return None,
    })
}

/// An RPC that failed, as etcdctl shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcFailure {
    /// The `error` field of the retry interceptor's warn line: `rpc error: code = ... desc = ...`.
    pub warn_error: String,
    /// What follows `Error: ` (or sits in the parentheses of `Failed to ...`): etcd's own text
    /// for a server error, the context's error for a deadline etcdctl's side hit, else the
    /// whole gRPC status.
    pub message: String,
}

/// How etcdctl (of `version`) reports the lab error `err` (a server text, [`NO_CONNECTION`],
/// [`CONNECTION_LOST`], [`SERVER_DEADLINE`] or [`CLIENT_DEADLINE`]); None for an error that is no RPC's (a file
/// that is missing, a usage error). `dial` is the address etcdctl dialed (`127.0.0.1:12379`,
/// or a URL) and `per_endpoint` whether the command makes a client per endpoint (`endpoint
/// status`, `endpoint hashkv`, `defrag`): 3.4 words a failed dial differently there.
pub fn rpc_failure(
    version: EtcdctlVersion,
    err: &str,
    dial: &str,
    per_endpoint: bool,
) -> Option<RpcFailure> {
    let status = |code: &str, desc: &str| format!("rpc error: code = {code} desc = {desc}");
    let addr = dial.rsplit("://").next().unwrap_or(dial);
    let refused = format!(
        "connection error: desc = \"transport: Error while dialing dial tcp {addr}: connect: connection refused\""
    );
    let (warn_error, message) = match err {
        NO_CONNECTION => {
            let desc = match (version, per_endpoint) {
                (EtcdctlVersion::V3_4, false) => {
                    "latest balancer error: all SubConns are in TransientFailure".to_string()
                }
                (EtcdctlVersion::V3_4, true) => format!("latest balancer error: {refused}"),
                (EtcdctlVersion::V3_5, _) => {
                    format!("latest balancer error: last connection error: {refused}")
                }
            };
            (
                status("DeadlineExceeded", &desc),
                "context deadline exceeded".to_string(),
            )
        }
        CONNECTION_LOST => {
            let desc = match version {
                EtcdctlVersion::V3_4 => "transport is closing",
                EtcdctlVersion::V3_5 => "error reading from server: EOF",
            };
            let s = status("Unavailable", desc);
            (s.clone(), s)
        }
        SERVER_DEADLINE => {
            let s = status("Unknown", SERVER_DEADLINE);
            (s.clone(), s)
        }
        CLIENT_DEADLINE => (
            CLIENT_DEADLINE.to_string(),
            "context deadline exceeded".to_string(),
        ),
        e => (status(grpc_code(e)?, e), e.to_string()),
    };
    Some(RpcFailure {
        warn_error,
        message,
    })
}

/// The `target` of the warn line: the gRPC target of etcdctl's client, named after the first
/// endpoint it was given (`first_endpoint`), with a part that differs in every etcdctl process
/// (3.4: a random UUID; 3.5: the Go pointer of its resolver). `draw` stands for that part.
/// 3.4's clients made per endpoint (`endpoint status`, `hashkv`, `defrag`) dial
/// `passthrough:///<endpoint>` instead: pass that endpoint as `own_endpoint`.
fn warn_target(
    version: EtcdctlVersion,
    first_endpoint: &str,
    own_endpoint: Option<&str>,
    draw: u128,
) -> String {
    match (version, own_endpoint) {
        (EtcdctlVersion::V3_4, Some(ep)) => format!("passthrough:///{ep}"),
        (EtcdctlVersion::V3_4, None) => {
            format!("endpoint://client-{}/{first_endpoint}", uuid_v4(draw))
        }
        (EtcdctlVersion::V3_5, _) => {
            format!("etcd-endpoints://0x{:x}/{first_endpoint}", go_pointer(draw))
        }
    }
}

/// A version 4 UUID made of `draw`'s bits, as Go's google/uuid prints it.
fn uuid_v4(draw: u128) -> String {
    let v = (draw & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let h = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A Go heap address like those measured in etcdctl 3.5.1's targets (0xc0000e0a80 to
/// 0xc000594000, 128-byte aligned).
fn go_pointer(draw: u128) -> u64 {
    const LOW: u64 = 0xc0_000e_0000;
    const SLOTS: u64 = (0xc0_0060_0000 - LOW) / 0x80;
    LOW + (draw % u128::from(SLOTS)) as u64 * 0x80
}

/// The retry interceptor's zap warn line that etcdctl prints on stderr for every failed
/// attempt of a unary RPC (the lab's commands make one attempt: etcdctl retries only reads
/// that failed with Unavailable). Left out as in the restore log: `ts` and `caller` (a
/// wall-clock time and a Go source line; 3.4.23's caller is `clientv3/retry_interceptor.go:62`,
/// 3.5.1's `v3/retry_interceptor.go:62`).
pub fn retry_warn(version: EtcdctlVersion, target: &str, attempt: u32, error: &str) -> String {
    let logger = match version {
        EtcdctlVersion::V3_4 => "",
        EtcdctlVersion::V3_5 => ",\"logger\":\"etcd-client\"",
    };
    format!(
        "{{\"level\":\"warn\"{logger},\"msg\":\"retrying of unary invoker failed\",\"target\":{},\"attempt\":{attempt},\"error\":{}}}\n",
        json_str(target),
        json_str(error)
    )
}

/// One etcdctl process: its version, the first endpoint it was given, and the random part of
/// its gRPC target (`draw`, see [`warn_target`]). It prints its failures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Etcdctl {
    pub version: EtcdctlVersion,
    pub first_endpoint: String,
    pub draw: u128,
}

impl Etcdctl {
    /// A failed command's stderr: the warn line (for an RPC error), then `Error: <message>`.
    pub fn command_failed(&self, err: &str) -> String {
        let v = self.version;
        match rpc_failure(v, err, &self.first_endpoint, false) {
            Some(f) => {
                let target = warn_target(v, &self.first_endpoint, None, self.draw);
                retry_warn(v, &target, 0, &f.warn_error) + &error_line(&f.message)
            }
            None => error_line(err),
        }
    }

    /// One endpoint's failure in `endpoint status`, `endpoint hashkv` or `defrag` (`what`:
    /// "get the status of endpoint", "get the hash of endpoint", "defragment etcd member"):
    /// the warn line, then etcdctl's `Failed to ...` line; `endpoint` as etcdctl names it.
    pub fn endpoint_failed(&self, err: &str, endpoint: &str, what: &str) -> String {
        let v = self.version;
        let (warn, message) = match rpc_failure(v, err, endpoint, true) {
            Some(f) => {
                let target = warn_target(v, &self.first_endpoint, Some(endpoint), self.draw);
                (retry_warn(v, &target, 0, &f.warn_error), f.message)
            }
            None => (String::new(), err.to_string()),
        };
        let name = if what.ends_with("member") {
            format!("[{endpoint}]")
        } else {
            format!(" {endpoint}")
        };
        format!("{warn}Failed to {what}{name} ({message})\n")
    }
}

/// The `errors` text of a status reply from a member that knows no leader (before its alarms).
pub const NO_LEADER: &str = "etcdserver: no leader";

/// The error etcdctl prints for a write refused by the NOSPACE alarm (exit code 1).
pub const SPACE_EXCEEDED: &str = "Error: etcdserver: mvcc: database space exceeded\n";

fn status_cells(r: &EndpointStatusRow) -> Vec<String> {
    vec![
        r.endpoint.clone(),
        format!("{:x}", r.member_id),
        r.version.clone(),
        humanize_bytes(r.db_size),
        r.is_leader.to_string(),
        r.is_learner.to_string(),
        r.raft_term.to_string(),
        r.raft_index.to_string(),
        r.raft_applied_index.to_string(),
        r.errors.join(", "),
    ]
}

/// `etcdctl endpoint status -w table`.
pub fn endpoint_status_table(rows: &[EndpointStatusRow]) -> String {
    let header = [
        "endpoint",
        "ID",
        "version",
        "db size",
        "is leader",
        "is learner",
        "raft term",
        "raft index",
        "raft applied index",
        "errors",
    ];
    table(&header, &rows.iter().map(status_cells).collect::<Vec<_>>())
}

/// `etcdctl endpoint status` (simple format): the table's cells joined with ", ".
pub fn endpoint_status_simple(rows: &[EndpointStatusRow]) -> String {
    rows.iter()
        .map(|r| format!("{}\n", status_cells(r).join(", ")))
        .collect()
}

fn member_cells(m: &MemberListRow) -> Vec<String> {
    let status = if m.name.is_empty() {
        "unstarted"
    } else {
        "started"
    };
    vec![
        format!("{:x}", m.id),
        status.to_string(),
        m.name.clone(),
        m.peer_urls.join(","),
        m.client_urls.join(","),
        m.is_learner.to_string(),
    ]
}

/// `etcdctl member list -w table`.
pub fn member_list_table(rows: &[MemberListRow]) -> String {
    let header = [
        "ID",
        "Status",
        "Name",
        "Peer Addrs",
        "Client Addrs",
        "Is Learner",
    ];
    table(&header, &rows.iter().map(member_cells).collect::<Vec<_>>())
}

/// `etcdctl member list` (simple format).
pub fn member_list_simple(rows: &[MemberListRow]) -> String {
    rows.iter()
        .map(|m| format!("{}\n", member_cells(m).join(", ")))
        .collect()
}

/// go-humanize's `Bytes` (SI, base 1000), as etcdctl shows DB SIZE: "20 kB", "17 MB", "7.8 GB".
pub fn humanize_bytes(s: u64) -> String {
    const SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if s < 10 {
        return format!("{s} B");
    }
    // Go takes floor(log(s)/log(1000)); the integer form agrees with it (its own tests pin the
    // exact powers) without depending on how this platform's ln rounds.
    let mut e = 0;
    while e + 1 < SIZES.len() && s / 1000u64.pow(e as u32 + 1) > 0 {
        e += 1;
    }
    // The same float steps as Go: floor(s / 1000^e * 10 + 0.5) / 10 (1000^e <= 10^18 is a
    // double exactly, so the integer power is Go's math.Pow(1000, e)).
    let tenths = (s as f64 / 1000u64.pow(e as u32) as f64 * 10.0 + 0.5).floor() as u64;
    if tenths < 100 {
        format!("{}.{} {}", tenths / 10, tenths % 10, SIZES[e])
    } else {
        // Go's "%.0f" rounds an exact half to even.
        let (whole, frac) = (tenths / 10, tenths % 10);
        let rounded = if frac > 5 || (frac == 5 && whole % 2 == 1) {
            whole + 1
        } else {
            whole
        };
        format!("{rounded} {}", SIZES[e])
    }
}

/// The text of the DataLoss error every write gets while the CORRUPT alarm is active
/// (etcdctl prints it as `Error: etcdserver: corrupt cluster`).
pub fn corrupt_error() -> &'static str {
    "etcdserver: corrupt cluster"
}

/// How etcdctl reports a failed command on stderr (`ExitWithError`): "Error: <err>".
pub fn error_line(err: &str) -> String {
    format!("Error: {err}\n")
}

/// `etcdctl snapshot save <path>` on stdout (its zap log lines go to stderr).
pub fn snapshot_saved(path: &str) -> String {
    format!("Snapshot saved at {path}\n")
}

/// The cells of `etcdctl snapshot status`. The hash is Go's `%x`: lowercase hex without
/// leading zeros (a hash below 0x10000000 has fewer than 8 digits). The size is bbolt's
/// `tx.Size()`: the db without the 32-byte integrity hash.
fn snapshot_status_cells(
    hash: u32,
    revision: i64,
    total_keys: u64,
    total_size_bytes: u64,
) -> Vec<String> {
    vec![
        format!("{hash:x}"),
        revision.to_string(),
        total_keys.to_string(),
        humanize_bytes(total_size_bytes),
    ]
}

/// `etcdctl snapshot status <file> -w table`.
pub fn snapshot_status_table(
    hash: u32,
    revision: i64,
    total_keys: u64,
    total_size_bytes: u64,
) -> String {
    let header = ["hash", "revision", "total keys", "total size"];
    let row = snapshot_status_cells(hash, revision, total_keys, total_size_bytes);
    table(&header, &[row])
}

/// `etcdctl snapshot status <file>` (simple format).
pub fn snapshot_status_simple(
    hash: u32,
    revision: i64,
    total_keys: u64,
    total_size_bytes: u64,
) -> String {
    let row = snapshot_status_cells(hash, revision, total_keys, total_size_bytes);
    format!("{}\n", row.join(", "))
}

/// `etcdctl snapshot status <file> -w json`: Go's `json.Marshal` of the status, exact
/// integers.
pub fn snapshot_status_json(
    hash: u32,
    revision: i64,
    total_keys: u64,
    total_size_bytes: u64,
) -> String {
    format!(
        "{{\"hash\":{hash},\"revision\":{revision},\"totalKey\":{total_keys},\"totalSize\":{total_size_bytes}}}\n"
    )
}

/// What one `etcdctl snapshot restore` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoreOutput {
    /// etcdctl 3.4 prints nothing on stdout for a restore.
    pub stdout: String,
    /// Its zap logger's lines (JSON, one per line) and, on failure, the `Error:` line.
    pub stderr: String,
}

/// `etcdctl snapshot restore <snapshot_path> --name <name> --initial-cluster <...>
/// --initial-cluster-token <...> [--data-dir <data_dir>]` (3.4): "restoring snapshot", one
/// "added member" per member, "restored snapshot".
///
/// `members` are the restored cluster's members as etcd derives them from `--initial-cluster`
/// and the token: (member ID, sorted peer URLs), in member-ID order
/// (`etcdlab_member::ids::initial_cluster_members`); `cluster_id` is their cluster ID. The zap
/// lines keep etcd's field order but leave out `ts` and `caller` (a wall-clock time and a Go
/// source line). `local-member-id` is "0": the restore tool's cluster has no local member. A
/// `restore_error` (e.g. the text of the store's `SnapshotFile::restore_check`) ends the output
/// after "restoring snapshot" with its `Error:` line (exit code 1): etcd checks the hash while
/// copying the db, before it writes the members.
///
/// `log` is how the restore's logger writes: JSON in etcdctl 3.4; etcd 3.5's restore (etcdutl's
/// code, which etcdctl 3.5 also runs) writes zap's console lines (level, message, a JSON object
/// with `": "` and `", "` separators) and one more line, "Trimming membership information from
/// the backend...". Measured on 3.4.23 and 3.5.1 (`scripts/fidelity/snapshot_texts.py`); 3.5.1
/// also attaches a Go stack trace to "restoring snapshot", left out here with `ts` and `caller`.
pub fn snapshot_restore_members(
    snapshot_path: &str,
    name: &str,
    data_dir: Option<&str>,
    members: &[(u64, Vec<String>)],
    cluster_id: u64,
    restore_error: Option<&str>,
    log: RestoreLog,
) -> RestoreOutput {
    let data_dir = data_dir.map_or_else(|| format!("{name}.etcd"), str::to_string);
    let wal_dir = format!("{data_dir}/member/wal");
    let snap_dir = format!("{data_dir}/member/snap");
    let paths = [
        ("path", json_str(snapshot_path)),
        ("wal-dir", json_str(&wal_dir)),
        ("data-dir", json_str(&data_dir)),
        ("snap-dir", json_str(&snap_dir)),
    ];
    let mut err = String::new();
    log.line(&mut err, "restoring snapshot", &paths);
    if let Some(e) = restore_error {
        err.push_str(&error_line(e));
        return RestoreOutput {
            stdout: String::new(),
            stderr: err,
        };
    }
    if log == RestoreLog::Console35 {
        log.line(
            &mut err,
            "Trimming membership information from the backend...",
            &[],
        );
    }
    for (id, urls) in members {
        let urls: Vec<String> = urls.iter().map(|u| json_str(u)).collect();
        let separator = match log {
            RestoreLog::Json34 => ",",
            RestoreLog::Console35 => ", ",
        };
        let fields = [
            ("cluster-id", json_str(&format!("{cluster_id:x}"))),
            ("local-member-id", json_str("0")),
            ("added-peer-id", json_str(&format!("{id:x}"))),
            (
                "added-peer-peer-urls",
                format!("[{}]", urls.join(separator)),
            ),
        ];
        log.line(&mut err, "added member", &fields);
    }
    log.line(&mut err, "restored snapshot", &paths);
    RestoreOutput {
        stdout: String::new(),
        stderr: err,
    }
}

/// How a snapshot restore logs (see [`snapshot_restore_members`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreLog {
    /// etcdctl 3.4: zap's JSON lines.
    Json34,
    /// etcd 3.5 (etcdutl, or etcdctl calling it): zap's console lines.
    Console35,
}

impl RestoreLog {
    /// One info line without `ts` and `caller`; `fields` hold JSON values.
    fn line(self, out: &mut String, msg: &str, fields: &[(&str, String)]) {
        match self {
            RestoreLog::Json34 => {
                let _ = write!(out, "{{\"level\":\"info\",\"msg\":{}", json_str(msg));
                for (key, value) in fields {
                    let _ = write!(out, ",{}:{value}", json_str(key));
                }
                out.push_str("}\n");
            }
            RestoreLog::Console35 => {
                let _ = write!(out, "info\t{msg}");
                if !fields.is_empty() {
                    let pairs: Vec<String> = (fields.iter())
                        .map(|(key, value)| format!("{}: {value}", json_str(key)))
                        .collect();
                    let _ = write!(out, "\t{{{}}}", pairs.join(", "));
                }
                out.push('\n');
            }
        }
    }
}

/// What etcdctl 3.5 prints (on stderr) before running `snapshot status` or `snapshot restore`,
/// whose home moved to etcdutl; an empty line follows it.
pub fn etcdutl_deprecation(subcommand: &str) -> String {
    format!("Deprecated: Use `etcdutl snapshot {subcommand}` instead.\n\n")
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Go's `%q` for the plain strings etcdctl prints (names, URLs).
fn go_quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `etcdctl member add <name> --peer-urls=<peer_url>` (3.4, simple format). `initial_cluster`
/// is the reply's member list as `(name, peer URL)` in the server's order (member ID order),
/// the new member with its name (the server does not know it yet; etcdctl fills it in).
pub fn member_added(
    name: &str,
    id: u64,
    cluster_id: u64,
    peer_url: &str,
    initial_cluster: &[(&str, &str)],
) -> String {
    let conf: Vec<String> = initial_cluster
        .iter()
        .map(|(n, u)| format!("{n}={u}"))
        .collect();
    format!(
        "Member {id:16x} added to cluster {cluster_id:16x}\n\nETCD_NAME={}\n\
         ETCD_INITIAL_CLUSTER={}\nETCD_INITIAL_ADVERTISE_PEER_URLS={}\n\
         ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
        go_quote(name),
        go_quote(&conf.join(",")),
        go_quote(peer_url)
    )
}

/// `etcdctl member remove <id>`.
pub fn member_removed(id: u64, cluster_id: u64) -> String {
    format!("Member {id:16x} removed from cluster {cluster_id:16x}\n")
}

/// tablewriter's `MAX_ROW_WIDTH`: cells wider than this wrap.
const MAX_COL_WIDTH: usize = 30;

/// A table as tablewriter renders it with etcdctl's settings (right-aligned cells).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    // Widths grow as tablewriter's parseDimension sees each cell, in order; wrapping uses the
    // width known at that moment, so this must run row by row like the original.
    let mut widths: Vec<usize> = header
        .iter()
        .map(|h| h.chars().count().min(MAX_COL_WIDTH))
        .collect();
    let mut wrapped: Vec<Vec<Vec<String>>> = Vec::new();
    for row in rows {
        let mut cells = Vec::new();
        for (c, text) in row.iter().enumerate() {
            let w = text.chars().count().min(MAX_COL_WIDTH);
            if widths[c] < w || widths[c] == 0 {
                widths[c] = w;
            }
            let lines = wrap_string(text, widths[c]);
            let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            widths[c] = widths[c].max(longest);
            cells.push(lines);
        }
        wrapped.push(cells);
    }
    let border: String = widths.iter().fold("+".to_string(), |mut s, w| {
        s.push_str(&"-".repeat(w + 2));
        s.push('+');
        s
    });
    let mut out = String::new();
    let _ = writeln!(out, "{border}");
    out.push('|');
    for (h, w) in header.iter().zip(&widths) {
        let title = h.replace(['_', '.'], " ").trim().to_uppercase();
        let gap = w.saturating_sub(title.chars().count());
        let left = gap / 2;
        let _ = write!(
            out,
            " {}{title}{} |",
            " ".repeat(left),
            " ".repeat(gap - left)
        );
    }
    out.push('\n');
    let _ = writeln!(out, "{border}");
    for cells in &wrapped {
        let height = cells.iter().map(Vec::len).max().unwrap_or(0);
        for line in 0..height {
            out.push('|');
            for (c, w) in cells.iter().zip(&widths) {
                // tablewriter fills short cells with "  ", which pads to blanks anyway.
                let text = c.get(line).map_or("  ", String::as_str);
                let _ = write!(out, " {text:>w$} |");
            }
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{border}");
    out
}

/// tablewriter's `WrapString`: split on single spaces (so a trailing space makes an empty last
/// word), widen the limit to the longest word, break with minimal raggedness.
fn wrap_string(s: &str, lim: usize) -> Vec<String> {
    let s = s.replace('\n', " ");
    let words: Vec<&str> = s.split(' ').collect();
    let lim = words
        .iter()
        .map(|w| w.chars().count())
        .fold(lim, usize::max);
    wrap_words(&words, lim)
        .into_iter()
        .map(|line| line.join(" "))
        .collect()
}

/// tablewriter's `WrapWords` with one unit between words and its 1e5 penalty for long lines.
fn wrap_words<'a>(words: &[&'a str], lim: usize) -> Vec<Vec<&'a str>> {
    const PENALTY: i64 = 100_000;
    let n = words.len();
    let lim = lim as i64;
    let width = |w: &str| w.chars().count() as i64;
    // length[i][j]: words i..=j joined with single spaces.
    let mut length = vec![vec![0i64; n]; n];
    for i in 0..n {
        length[i][i] = width(words[i]);
        for j in i + 1..n {
            length[i][j] = length[i][j - 1] + 1 + width(words[j]);
        }
    }
    let mut next_break = vec![0usize; n];
    let mut cost = vec![i64::from(i32::MAX); n];
    for i in (0..n).rev() {
        if length[i][n - 1] <= lim {
            cost[i] = 0;
            next_break[i] = n;
        } else {
            for j in i + 1..n {
                let d = lim - length[i][j - 1];
                let mut c = d * d + cost[j];
                if length[i][j - 1] > lim {
                    c += PENALTY;
                }
                if c < cost[i] {
                    cost[i] = c;
                    next_break[i] = j;
                }
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        lines.push(words[i..next_break[i]].to_vec());
        i = next_break[i];
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(endpoint: &str, id: u64, leader: bool, errors: Vec<String>) -> EndpointStatusRow {
        EndpointStatusRow {
            endpoint: endpoint.into(),
            member_id: id,
            version: "3.4.23".into(),
            db_size: 20480,
            is_leader: leader,
            is_learner: false,
            raft_term: 2,
            raft_index: 8,
            raft_applied_index: 8,
            errors,
        }
    }

    #[test]
    fn humanized_sizes_match_go_humanize() {
        for (bytes, text) in [
            (0, "0 B"),
            (9, "9 B"),
            (10, "10 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (20480, "20 kB"),
            (24576, "25 kB"),
            (94208, "94 kB"),
            (122880, "123 kB"),
            // 20.5 kB: Go's %.0f rounds the exact half to even.
            (20500, "20 kB"),
            (21500, "22 kB"),
            (999_949, "1000 kB"),
            (1_000_000, "1.0 MB"),
            (2_433_024, "2.4 MB"),
            (16_777_216, "17 MB"),
            (16_961_536, "17 MB"),
            (82_854_982, "83 MB"),
            (1_000_000_000, "1.0 GB"),
            (7_800_000_000, "7.8 GB"),
            (8_589_934_592, "8.6 GB"),
            (1_000_000_000_000_000_000, "1.0 EB"),
            (u64::MAX, "18 EB"),
        ] {
            assert_eq!(humanize_bytes(bytes), text, "{bytes}");
        }
    }

    #[test]
    fn endpoint_status_table_as_etcdctl_prints_it() {
        let rows = [
            row("127.0.0.1:12379", 0xa7148b61e8a34f05, false, vec![]),
            row("127.0.0.1:22379", 0xa605680a58a573b0, true, vec![]),
        ];
        let expected = "\
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
| 127.0.0.1:12379 | a7148b61e8a34f05 |  3.4.23 |   20 kB |     false |      false |         2 |          8 |                  8 |        |
| 127.0.0.1:22379 | a605680a58a573b0 |  3.4.23 |   20 kB |      true |      false |         2 |          8 |                  8 |        |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------+
";
        assert_eq!(endpoint_status_table(&rows), expected);
        assert_eq!(
            endpoint_status_simple(&rows[..1]),
            "127.0.0.1:12379, a7148b61e8a34f05, 3.4.23, 20 kB, false, false, 2, 8, 8, \n"
        );
    }

    #[test]
    fn an_alarm_wraps_the_errors_cell_onto_two_lines() {
        let alarm = alarm_error(14532165781622267127, "NOSPACE");
        assert_eq!(alarm, "memberID:14532165781622267127 alarm:NOSPACE ");
        let r = EndpointStatusRow {
            endpoint: "localhost:12379".into(),
            member_id: 0xc9ac9fc89eae9cf7,
            version: "3.4.17".into(),
            db_size: 16_961_536,
            is_leader: true,
            is_learner: false,
            raft_term: 10,
            raft_index: 33,
            raft_applied_index: 33,
            errors: vec![alarm],
        };
        // etcdctl 3.4.17 over a NOSPACE member, as printed in the wild: the cell is capped at
        // 30 columns and the trailing space of "alarm:NOSPACE " is kept on the second line.
        let expected = "\
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------------------------------+
|    ENDPOINT     |        ID        | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX |             ERRORS             |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------------------------------+
| localhost:12379 | c9ac9fc89eae9cf7 |  3.4.17 |   17 MB |      true |      false |        10 |         33 |                 33 |  memberID:14532165781622267127 |
|                 |                  |         |         |           |            |           |            |                    |                 alarm:NOSPACE  |
+-----------------+------------------+---------+---------+-----------+------------+-----------+------------+--------------------+--------------------------------+
";
        assert_eq!(endpoint_status_table(&[r]), expected);
    }

    #[test]
    fn a_shorter_member_id_is_right_aligned() {
        let mut r = row("127.0.0.1:2379", 0x59a9c584ea2c3f35, true, vec![]);
        r.errors = vec![alarm_error(6460912315094810421, "NOSPACE")];
        r.db_size = 2_100_000_000;
        let table = endpoint_status_table(&[r]);
        assert!(
            table.contains("|  2.1 GB |      true |")
                && table.contains("|   memberID:6460912315094810421 |\n")
                && table.contains("|                 alarm:NOSPACE  |\n"),
            "{table}"
        );
    }

    #[test]
    fn corrupt_alarm_without_member_reads_like_etcd() {
        assert_eq!(alarm_error(0, "CORRUPT"), "alarm:CORRUPT ");
        let r = row("127.0.0.1:12379", 1, false, vec![alarm_error(0, "CORRUPT")]);
        let table = endpoint_status_table(&[r]);
        assert!(table.contains("| alarm:CORRUPT  |\n"), "{table}");
    }

    #[test]
    fn two_alarms_wrap_with_minimal_raggedness() {
        let a = alarm_error(12039400956499283717, "NOSPACE");
        let b = alarm_error(11989071595905774276, "NOSPACE");
        let cell = [a, b].join(", ");
        assert_eq!(
            wrap_string(&cell, 30),
            [
                "memberID:12039400956499283717",
                "alarm:NOSPACE ,",
                "memberID:11989071595905774276",
                "alarm:NOSPACE ",
            ]
        );
        assert_eq!(wrap_string("short", 6), ["short"]);
        assert_eq!(wrap_string("", 6), [""]);
    }

    #[test]
    fn alarm_list_lines() {
        assert_eq!(alarm_list(&[]), "");
        assert_eq!(
            alarm_list(&[
                (12039400956499283717, "NOSPACE"),
                (11989071595905774276, "NOSPACE")
            ]),
            "memberID:12039400956499283717 alarm:NOSPACE \nmemberID:11989071595905774276 alarm:NOSPACE \n"
        );
    }

    #[test]
    fn one_line_outputs() {
        assert_eq!(compacted(1603), "compacted revision 1603\n");
        assert_eq!(
            defrag_finished("127.0.0.1:12379"),
            "Finished defragmenting etcd member[127.0.0.1:12379]\n"
        );
        assert_eq!(
            endpoint_hashkv(&[("127.0.0.1:12379", 1084519789)]),
            "127.0.0.1:12379, 1084519789\n"
        );
        let row = HashKvRow {
            endpoint: "127.0.0.1:32379".into(),
            cluster_id: 8913263970712577456,
            member_id: 1,
            revision: 21,
            raft_term: 2,
            hash: 1566248008,
            compact_revision: -1,
        };
        // Ground truth E's JSON, with the header's elided fields filled in.
        assert_eq!(
            endpoint_hashkv_json(std::slice::from_ref(&row)),
            "[{\"Endpoint\":\"127.0.0.1:32379\",\"HashKV\":{\"header\":{\"cluster_id\":8913263970712577456,\"member_id\":1,\"revision\":21,\"raft_term\":2},\"hash\":1566248008,\"compact_revision\":-1}}]\n"
        );
        assert_eq!(
            endpoint_hashkv_table(&[row]),
            "+-----------------+------------+\n\
             |    ENDPOINT     |    HASH    |\n\
             +-----------------+------------+\n\
             | 127.0.0.1:32379 | 1566248008 |\n\
             +-----------------+------------+\n"
        );
        assert_eq!(
            SPACE_EXCEEDED,
            "Error: etcdserver: mvcc: database space exceeded\n"
        );
    }

    #[test]
    fn member_list_as_etcdctl_prints_it() {
        let m = MemberListRow {
            id: 0xa605680a58a573b0,
            name: "m2".into(),
            peer_urls: vec!["http://127.0.0.1:22380".into()],
            client_urls: vec!["http://127.0.0.1:22379".into()],
            is_learner: false,
        };
        let expected = "\
+------------------+---------+------+------------------------+------------------------+------------+
|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |
+------------------+---------+------+------------------------+------------------------+------------+
| a605680a58a573b0 | started |   m2 | http://127.0.0.1:22380 | http://127.0.0.1:22379 |      false |
+------------------+---------+------+------------------------+------------------------+------------+
";
        assert_eq!(member_list_table(std::slice::from_ref(&m)), expected);
        assert_eq!(
            member_list_simple(&[m]),
            "a605680a58a573b0, started, m2, http://127.0.0.1:22380, http://127.0.0.1:22379, false\n"
        );
    }

    #[test]
    fn snapshot_status_as_etcdctl_prints_it() {
        let expected = "\
+----------+----------+------------+------------+
|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |
+----------+----------+------------+------------+
| c825e3d2 |       11 |         16 |      20 kB |
+----------+----------+------------+------------+
";
        assert_eq!(snapshot_status_table(0xc825e3d2, 11, 16, 20480), expected);
        assert_eq!(
            snapshot_status_simple(0xc825e3d2, 11, 16, 20480),
            "c825e3d2, 11, 16, 20 kB\n"
        );
        assert_eq!(
            snapshot_status_json(3357926354, 11, 16, 20480),
            "{\"hash\":3357926354,\"revision\":11,\"totalKey\":16,\"totalSize\":20480}\n"
        );
        // Go's %x drops leading zeros.
        assert_eq!(
            snapshot_status_simple(0x0abc, 2, 7, 20480),
            "abc, 2, 7, 20 kB\n"
        );
        assert_eq!(snapshot_saved("D/S1.db"), "Snapshot saved at D/S1.db\n");
    }

    #[test]
    fn restore_prints_three_added_members_in_id_order() {
        // The members and cluster ID of --initial-cluster m1=..:12380,m2=..:22380,m3=..:32380
        // as etcdlab_member::ids derives them (measured: ground truth D).
        let url = |port: u32| vec![format!("http://127.0.0.1:{port}")];
        let members = [
            (0xa605680a58a573b0, url(22380)),
            (0xa661bd187cb072c4, url(32380)),
            (0xa7148b61e8a34f05, url(12380)),
        ];
        let out = snapshot_restore_members(
            "D/S1.db",
            "m1",
            Some("D/m1"),
            &members,
            0x7bb2465b5b9c65b0,
            None,
            RestoreLog::Json34,
        );
        assert_eq!(out.stdout, "");
        let paths = "\"path\":\"D/S1.db\",\"wal-dir\":\"D/m1/member/wal\",\"data-dir\":\"D/m1\",\"snap-dir\":\"D/m1/member/snap\"";
        let added = |id: &str, port: u32| {
            format!(
                "{{\"level\":\"info\",\"msg\":\"added member\",\"cluster-id\":\"7bb2465b5b9c65b0\",\"local-member-id\":\"0\",\"added-peer-id\":\"{id}\",\"added-peer-peer-urls\":[\"http://127.0.0.1:{port}\"]}}\n"
            )
        };
        let expected = format!(
            "{{\"level\":\"info\",\"msg\":\"restoring snapshot\",{paths}}}\n{}{}{}{{\"level\":\"info\",\"msg\":\"restored snapshot\",{paths}}}\n",
            added("a605680a58a573b0", 22380),
            added("a661bd187cb072c4", 32380),
            added("a7148b61e8a34f05", 12380),
        );
        assert_eq!(out.stderr, expected);
        assert_eq!(format!("{:x}", 8913263970712577456u64), "7bb2465b5b9c65b0");

        let failed = snapshot_restore_members(
            "db",
            "m1",
            None,
            &members,
            0x7bb2465b5b9c65b0,
            Some("snapshot missing hash but --skip-hash-check=false"),
            RestoreLog::Json34,
        );
        assert_eq!(
            failed.stderr,
            "{\"level\":\"info\",\"msg\":\"restoring snapshot\",\"path\":\"db\",\"wal-dir\":\"m1.etcd/member/wal\",\"data-dir\":\"m1.etcd\",\"snap-dir\":\"m1.etcd/member/snap\"}\n\
             Error: snapshot missing hash but --skip-hash-check=false\n"
        );
    }

    /// etcdutl 3.5.1's restore of a 3-member cluster as measured (`snapshot_texts.py`), with
    /// the timestamp, the caller and 3.5.1's stack trace cut from each line.
    #[test]
    fn restore_in_3_5_logs_console_lines() {
        let url = |port: u32| vec![format!("http://127.0.0.1:{port}")];
        let members = [
            (0x628170c800dbcee, url(32380)),
            (0x9e737febb6b99eee, url(22380)),
            (0xddd67b312462fd7b, url(12380)),
        ];
        let out = snapshot_restore_members(
            "s35.db",
            "m2",
            Some("r6"),
            &members,
            0x73841b4a9097c907,
            None,
            RestoreLog::Console35,
        );
        let paths = "{\"path\": \"s35.db\", \"wal-dir\": \"r6/member/wal\", \"data-dir\": \"r6\", \"snap-dir\": \"r6/member/snap\"}";
        let added = |id: &str, port: u32| {
            format!(
                "info\tadded member\t{{\"cluster-id\": \"73841b4a9097c907\", \"local-member-id\": \"0\", \"added-peer-id\": \"{id}\", \"added-peer-peer-urls\": [\"http://127.0.0.1:{port}\"]}}\n"
            )
        };
        let expected = format!(
            "info\trestoring snapshot\t{paths}\n\
             info\tTrimming membership information from the backend...\n{}{}{}\
             info\trestored snapshot\t{paths}\n",
            added("628170c800dbcee", 32380),
            added("9e737febb6b99eee", 22380),
            added("ddd67b312462fd7b", 12380),
        );
        assert_eq!(out.stderr, expected);
        let failed = snapshot_restore_members(
            "raw.db",
            "m1",
            Some("r3"),
            &members,
            0x73841b4a9097c907,
            Some("snapshot missing hash but --skip-hash-check=false"),
            RestoreLog::Console35,
        );
        assert_eq!(
            failed.stderr,
            "info\trestoring snapshot\t{\"path\": \"raw.db\", \"wal-dir\": \"r3/member/wal\", \"data-dir\": \"r3\", \"snap-dir\": \"r3/member/snap\"}\n\
             Error: snapshot missing hash but --skip-hash-check=false\n"
        );
        assert_eq!(
            etcdutl_deprecation("status"),
            "Deprecated: Use `etcdutl snapshot status` instead.\n\n"
        );
    }

    #[test]
    fn member_add_and_remove_as_etcdctl_prints_them() {
        let out = member_added(
            "m4",
            0x1a2b3c4d5e6f7,
            0x7bb2465b5b9c65b0,
            "http://127.0.0.1:42380",
            &[
                ("m4", "http://127.0.0.1:42380"),
                ("m2", "http://127.0.0.1:22380"),
                ("m1", "http://127.0.0.1:12380"),
            ],
        );
        assert_eq!(
            out,
            "Member    1a2b3c4d5e6f7 added to cluster 7bb2465b5b9c65b0\n\
             \n\
             ETCD_NAME=\"m4\"\n\
             ETCD_INITIAL_CLUSTER=\"m4=http://127.0.0.1:42380,m2=http://127.0.0.1:22380,m1=http://127.0.0.1:12380\"\n\
             ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.1:42380\"\n\
             ETCD_INITIAL_CLUSTER_STATE=\"existing\"\n"
        );
        assert_eq!(
            member_removed(0xa661bd187cb072c4, 0x7bb2465b5b9c65b0),
            "Member a661bd187cb072c4 removed from cluster 7bb2465b5b9c65b0\n"
        );
        assert_eq!(corrupt_error(), "etcdserver: corrupt cluster");
        assert_eq!(
            error_line(corrupt_error()),
            "Error: etcdserver: corrupt cluster\n"
        );
    }

    /// The stderr of failed commands as measured (`scripts/fidelity/etcdctl_texts.py`), with
    /// `ts` and `caller` cut from the warn line and the random part of the target drawn.
    #[test]
    fn failed_commands_print_the_warn_line_then_the_error() {
        use EtcdctlVersion::{V3_4, V3_5};
        let t34 = warn_target(V3_4, "127.0.0.1:12379", None, 7);
        assert_eq!(
            t34,
            "endpoint://client-00000000-0000-4000-8000-000000000007/127.0.0.1:12379"
        );
        let t35 = warn_target(V3_5, "127.0.0.1:12379", None, 7);
        assert_eq!(t35, "etcd-endpoints://0xc0000e0380/127.0.0.1:12379");
        let uuid = uuid_v4(u128::MAX);
        assert_eq!(uuid, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(go_pointer(u128::MAX) < 0xc000600000 && go_pointer(0) == 0xc0000e0000);
        let warn34 = |error: &str| {
            format!("{{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"{t34}\",\"attempt\":0,\"error\":\"{error}\"}}\n")
        };
        let warn35 = |error: &str| {
            format!("{{\"level\":\"warn\",\"logger\":\"etcd-client\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"{t35}\",\"attempt\":0,\"error\":\"{error}\"}}\n")
        };
        let ep = "127.0.0.1:12379";
        let cli = |version| Etcdctl {
            version,
            first_endpoint: ep.to_string(),
            draw: 7,
        };
        let command_failed = |version, err: &str| cli(version).command_failed(err);
        for (err, code, shown) in [
            (
                "etcdserver: mvcc: database space exceeded",
                "ResourceExhausted",
                "etcdserver: mvcc: database space exceeded",
            ),
            (
                "etcdserver: mvcc: required revision has been compacted",
                "OutOfRange",
                "etcdserver: mvcc: required revision has been compacted",
            ),
            (
                "etcdserver: mvcc: required revision is a future revision",
                "OutOfRange",
                "etcdserver: mvcc: required revision is a future revision",
            ),
            (
                "etcdserver: unhealthy cluster",
                "Unavailable",
                "etcdserver: unhealthy cluster",
            ),
            (
                "etcdserver: member not found",
                "NotFound",
                "etcdserver: member not found",
            ),
            (
                "etcdserver: request timed out",
                "Unavailable",
                "etcdserver: request timed out",
            ),
            (
                SERVER_DEADLINE,
                "Unknown",
                "rpc error: code = Unknown desc = context deadline exceeded",
            ),
        ] {
            let error = format!("rpc error: code = {code} desc = {err}");
            assert_eq!(
                command_failed(V3_4, err),
                format!("{}Error: {shown}\n", warn34(&error))
            );
            assert_eq!(
                command_failed(V3_5, err),
                format!("{}Error: {shown}\n", warn35(&error))
            );
        }
        // A put whose member was SIGKILLed while it waited.
        assert_eq!(
            command_failed(V3_4, CONNECTION_LOST),
            format!(
                "{}Error: rpc error: code = Unavailable desc = transport is closing\n",
                warn34("rpc error: code = Unavailable desc = transport is closing")
            )
        );
        assert_eq!(
            command_failed(V3_5, CONNECTION_LOST),
            format!(
                "{}Error: rpc error: code = Unavailable desc = error reading from server: EOF\n",
                warn35("rpc error: code = Unavailable desc = error reading from server: EOF")
            )
        );
        // A command whose only endpoint is down: 5 s, then the context's deadline.
        assert_eq!(
            command_failed(V3_4, NO_CONNECTION),
            format!(
                "{}Error: context deadline exceeded\n",
                warn34("rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure")
            )
        );
        let refused = "latest balancer error: last connection error: connection error: desc = \\\"transport: Error while dialing dial tcp 127.0.0.1:12379: connect: connection refused\\\"";
        assert_eq!(
            command_failed(V3_5, NO_CONNECTION),
            format!(
                "{}Error: context deadline exceeded\n",
                warn35(&format!(
                    "rpc error: code = DeadlineExceeded desc = {refused}"
                ))
            )
        );
        // Not an RPC: no warn line.
        assert_eq!(
            command_failed(V3_4, "stat x.db: no such file or directory"),
            "Error: stat x.db: no such file or directory\n"
        );
    }

    #[test]
    fn a_dead_endpoint_in_status_hashkv_and_defrag() {
        use EtcdctlVersion::{V3_4, V3_5};
        let dial = "latest balancer error: connection error: desc = \\\"transport: Error while dialing dial tcp 127.0.0.1:22379: connect: connection refused\\\"";
        let cli = |version, draw| Etcdctl {
            version,
            first_endpoint: "127.0.0.1:12379".to_string(),
            draw,
        };
        let t = warn_target(V3_4, "127.0.0.1:12379", Some("127.0.0.1:22379"), 1);
        assert_eq!(t, "passthrough:///127.0.0.1:22379");
        assert_eq!(
            cli(V3_4, 1).endpoint_failed(NO_CONNECTION, "127.0.0.1:22379", "get the status of endpoint"),
            format!("{{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"passthrough:///127.0.0.1:22379\",\"attempt\":0,\"error\":\"rpc error: code = DeadlineExceeded desc = {dial}\"}}\n\
                     Failed to get the status of endpoint 127.0.0.1:22379 (context deadline exceeded)\n")
        );
        assert_eq!(
            cli(V3_4, 1).endpoint_failed(NO_CONNECTION, "http://127.0.0.1:22379", "defragment etcd member"),
            format!("{{\"level\":\"warn\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"passthrough:///http://127.0.0.1:22379\",\"attempt\":0,\"error\":\"rpc error: code = DeadlineExceeded desc = {dial}\"}}\n\
                     Failed to defragment etcd member[http://127.0.0.1:22379] (context deadline exceeded)\n")
        );
        // 3.5 names the first of etcdctl's endpoints in the target, the dead one in the error.
        assert_eq!(
            cli(V3_5, 0).endpoint_failed(NO_CONNECTION, "127.0.0.1:22379", "get the hash of endpoint"),
            format!("{{\"level\":\"warn\",\"logger\":\"etcd-client\",\"msg\":\"retrying of unary invoker failed\",\"target\":\"etcd-endpoints://0xc0000e0000/127.0.0.1:12379\",\"attempt\":0,\"error\":\"rpc error: code = DeadlineExceeded desc = latest balancer error: last connection error: connection error: desc = \\\"transport: Error while dialing dial tcp 127.0.0.1:22379: connect: connection refused\\\"\"}}\n\
                     Failed to get the hash of endpoint 127.0.0.1:22379 (context deadline exceeded)\n")
        );
        assert_eq!(EtcdctlVersion::V3_5.server_version(), "3.5.1");
        assert_eq!(EtcdctlVersion::V3_4.server_version(), "3.4.23");
    }
}
