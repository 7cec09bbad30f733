//! Operator commands in etcdctl's words (`action = "etcdctl"`, `[runbook]` steps), parsed into
//! [`OperatorCommand`]s. Endpoints are member names (`m1`) or their client endpoints
//! (`127.0.0.1:12379`); member m<N> has the client endpoint 127.0.0.1:<N>2379 and the peer URL
//! http://127.0.0.1:<N>2380.

use crate::names::{client_endpoint, member_name, parse_member_name, Members};

/// What an operator types at the terminal, as the lab runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// `etcdctl endpoint status [--cluster] [-w simple|table]`: every member. The terminal's
    /// etcdctl has every member's client endpoint (`127.0.0.1:<N>2379`) in slot order; with
    /// `--cluster` it asks the member list instead, which names them by client URL
    /// (`http://127.0.0.1:<N>2379`) in member ID order.
    EndpointStatus { format: OutputFormat, cluster: bool },
    /// `etcdctl alarm list`.
    AlarmList,
    /// `etcdctl alarm disarm`: one DEACTIVATE per active alarm.
    AlarmDisarm,
    /// `etcdctl compact <rev|current> [--physical]`.
    Compact { rev: CompactTo, physical: bool },
    /// `etcdctl defrag --endpoints=m1,m2`: each endpoint in turn, as etcdctl does; no
    /// endpoints means the terminal's, every member of the cluster (m1..m<size>) in turn.
    /// `cluster` (`--cluster`): the members the member list has when the command runs, in its
    /// order (member ID order), named by client URL as etcdctl names them.
    Defrag { members: Vec<usize>, cluster: bool },
    /// Restart the etcd process of a member, optionally with a new `--quota-backend-bytes`.
    Restart {
        member: usize,
        quota_backend_bytes: Option<u64>,
    },
    /// A kubectl command against kube-apiserver (`kubectl get pods -A`, `kubectl apply -f
    /// web.yaml`, `kubectl create namespace x`, `kubectl scale deployment web --replicas=3`).
    Kubectl(etcdlab_kube::KubectlCommand),
    /// `etcdctl snapshot save <file> [--endpoints=mN]`: the member's backend streamed into
    /// `file`, with an integrity hash appended. None: etcdctl's default endpoint (the lab
    /// uses the leader).
    SnapshotSave { file: String, member: Option<usize> },
    /// `etcdctl snapshot status <file> [-w table|json|simple]`: hash, revision, total keys and
    /// size of a snapshot file.
    SnapshotStatus {
        file: String,
        format: OutputFormat,
        tool: SnapshotTool,
    },
    /// `etcdctl snapshot restore <file> --name mN --initial-cluster ... --initial-cluster-token T
    /// --initial-advertise-peer-urls URL --data-dir D [--skip-hash-check]`, run on member
    /// `member`'s node: a new data dir holding the snapshot's keys and a fresh raft log.
    SnapshotRestore {
        file: String,
        /// From `--name`.
        member: usize,
        /// `--initial-cluster`: (member, peer URL) in the order given. etcdctl's default is
        /// `<name>=http://localhost:2380`, a one-member cluster.
        initial_cluster: Vec<(usize, String)>,
        /// `--initial-cluster-token` (default "etcd-cluster", as etcdctl).
        token: String,
        /// `--data-dir` (default "<name>.etcd", as etcdctl).
        data_dir: String,
        /// `--skip-hash-check`: accept a file without the integrity hash (a copied `db`).
        skip_hash_check: bool,
        tool: SnapshotTool,
    },
    /// `etcdctl member list [-w table|simple]`.
    MemberList { format: OutputFormat },
    /// `etcdctl member add <name> --peer-urls=<url> [--learner] [--endpoints=m1]`. Added
    /// members are named after the cluster's: m<size+1>, m<size+2>... in the order the
    /// commands appear. `endpoint`: the member that serves the request (the first of
    /// `--endpoints`; None: etcdctl's default endpoint, the lab uses the leader).
    MemberAdd {
        member: usize,
        peer_url: String,
        learner: bool,
        endpoint: Option<usize>,
    },
    /// `etcdctl member remove <name>` (etcdctl takes the member's hex ID; the lab takes its
    /// name).
    MemberRemove { member: usize },
    /// `etcdctl endpoint hashkv [--cluster] [-w table|simple|json]` (endpoints as for
    /// `endpoint status`).
    EndpointHashKv { format: OutputFormat, cluster: bool },
    /// `etcd start <mN> [--initial-cluster-state=new|existing]`: start the etcd process of a
    /// stopped member. None: the lab decides (existing when the data dir holds data).
    Start {
        member: usize,
        initial_cluster_state: Option<ClusterState>,
    },
    /// `etcd stop <mN>` (systemctl stop etcd): the process exits.
    Stop { member: usize },
    /// `rm -rf <mN>/data-dir` or `rm -rf mN.etcd`: the member's data dir is deleted.
    WipeDataDir { member: usize },
    /// `cp <mN>/data-dir/member/snap/db <file>`: the raw backend file a member leaves on its
    /// node, copied; it has no snapshot integrity hash.
    CopyDb { member: usize, file: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactTo {
    /// The revision `endpoint status` reports at the time the command runs.
    Current,
    Revision(i64),
}

/// etcdctl's `-w`/`--write-out`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// etcdctl's default.
    #[default]
    Simple,
    Table,
    Json,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Simple => "simple",
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
        }
    }
}

/// etcd's `--initial-cluster-state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterState {
    New,
    Existing,
}

/// Which program reads a snapshot file: etcdctl (3.4; deprecated for this in 3.5) or
/// etcdutl (3.5 and later only: a 3.4 install has no such program).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotTool {
    Etcdctl,
    Etcdutl,
}

impl SnapshotTool {
    pub fn program(self) -> &'static str {
        match self {
            SnapshotTool::Etcdctl => "etcdctl",
            SnapshotTool::Etcdutl => "etcdutl",
        }
    }
}

/// The commands accepted, for error messages.
pub const COMMANDS: &str = "\"etcdctl endpoint status [--cluster] [-w table|simple]\", \"etcdctl alarm list\", \
\"etcdctl alarm disarm\", \"etcdctl compact <revision|current> [--physical]\", \
\"etcdctl defrag [--endpoints=m1,m2 | --cluster]\", \
\"etcdctl snapshot save <file> [--endpoints=m1]\", \
\"etcdctl snapshot status <file> [-w table|json|simple]\", \
\"etcdctl snapshot restore <file> --name m1 --initial-cluster m1=http://127.0.0.1:12380,... \
--initial-cluster-token T --initial-advertise-peer-urls http://127.0.0.1:12380 --data-dir D \
[--skip-hash-check]\", \"etcdutl snapshot status|restore ... (etcd 3.5, as etcdctl's)\", \"etcdctl member list [-w table|simple]\", \
\"etcdctl member add m4 --peer-urls=http://127.0.0.1:42380 [--learner] [--endpoints=m1]\", \
\"etcdctl member remove m1\", \"etcdctl endpoint hashkv [--cluster] [-w table|simple|json]\", \
\"etcd restart m1 [--quota-backend-bytes=N]\", \
\"etcd start m1 [--initial-cluster-state=new|existing]\", \"etcd stop m1\", \
\"rm -rf m1/data-dir\" (or m1.etcd), \"cp m1/data-dir/member/snap/db <file>\", \
\"kubectl get|apply|create namespace|scale ...\"";

/// Parse one command line against a cluster of `size` members. The error says what was wrong
/// and what is accepted.
pub fn parse_operator_command(line: &str, size: usize) -> Result<OperatorCommand, String> {
    parse_command(line, Members::fixed(size))
}

/// The same for a run with `slots` members in all: the cluster's `size`, then those
/// `etcdctl member add` adds (m<size+1>..m<slots>), which commands may name too.
///
/// `etcdctl member add` takes any name after the cluster's (m<size+1> or later); a scenario
/// also checks that the adds name m<size+1>, m<size+2>... in order.
pub fn parse_operator_command_with_slots(
    line: &str,
    size: usize,
    slots: usize,
) -> Result<OperatorCommand, String> {
    parse_command(line, Members { size, slots })
}

/// Whether `line` is an `etcdctl member add` (parsed or not): each one takes a member slot.
pub(crate) fn is_member_add(line: &str) -> bool {
    global_flags_last(line.split_whitespace().collect()).starts_with(&["etcdctl", "member", "add"])
}

pub(crate) fn parse_command(line: &str, m: Members) -> Result<OperatorCommand, String> {
    let words = global_flags_last(line.split_whitespace().collect());
    let fail = in_line(line);
    match words.as_slice() {
        ["etcdctl", "endpoint", "status", rest @ ..] => endpoint_status(rest, line),
        ["etcdctl", "alarm", "list"] => Ok(OperatorCommand::AlarmList),
        ["etcdctl", "alarm", "disarm"] => Ok(OperatorCommand::AlarmDisarm),
        ["etcdctl", "compact", rev, rest @ ..] => compact(rev, rest, line),
        ["etcdctl", "defrag", rest @ ..] => defrag(rest, m, line),
        ["etcd", "restart", member, rest @ ..] => etcd_restart(member, rest, m, line),
        ["etcdctl", "snapshot", "save", rest @ ..] => snapshot_save(rest, m, line),
        [program @ ("etcdctl" | "etcdutl"), "snapshot", "status", rest @ ..] => {
            snapshot_status(rest, line, tool(program))
        }
        [program @ ("etcdctl" | "etcdutl"), "snapshot", "restore", rest @ ..] => {
            snapshot_restore(rest, m, tool(program)).map_err(fail)
        }
        ["etcdctl", "member", "list", rest @ ..] => member_list(rest, line),
        ["etcdctl", "member", "add", rest @ ..] => member_add(rest, m, line).map_err(fail),
        ["etcdctl", "member", "remove", rest @ ..] => member_remove(rest, m, line),
        ["etcdctl", "endpoint", "hashkv", rest @ ..] => endpoint_hashkv(rest, line),
        ["etcd", "start", rest @ ..] => etcd_start(rest, m, line),
        ["etcd", "stop", rest @ ..] => etcd_stop(rest, m, line),
        ["rm", rest @ ..] => rm_data_dir(rest, m, line),
        ["cp", rest @ ..] => cp_db(rest, m, line),
        ["kubectl", ..] => etcdlab_kube::parse_kubectl(line)
            .map(OperatorCommand::Kubectl)
            .map_err(fail),
        _ => Err(format!("unknown command {line:?}; use one of: {COMMANDS}")),
    }
}

fn tool(program: &str) -> SnapshotTool {
    match program {
        "etcdutl" => SnapshotTool::Etcdutl,
        _ => SnapshotTool::Etcdctl,
    }
}

/// Turns what is wrong into the error for `line`: `"<line>": <what>`.
fn in_line(line: &str) -> impl Fn(String) -> String + Copy + '_ {
    move |e| format!("{line:?}: {e}")
}

/// `etcdctl endpoint status [--cluster] [-w simple|table]`.
fn endpoint_status(rest: &[&str], line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(
        rest,
        &[("cluster", Takes::Bool), WRITE_OUT],
        "endpoint status",
    )
    .map_err(fail)?;
    if let Some(arg) = a.positional.first() {
        return Err(fail(format!(
            "endpoint status takes no arguments, not {arg:?}"
        )));
    }
    Ok(OperatorCommand::EndpointStatus {
        format: a
            .format(&[OutputFormat::Table, OutputFormat::Simple])
            .map_err(fail)?,
        cluster: a.bool("cluster"),
    })
}

/// `etcdctl compact <rev|current> [--physical]`.
fn compact(rev: &str, rest: &[&str], line: &str) -> Result<OperatorCommand, String> {
    let rev = match rev {
        "current" => CompactTo::Current,
        n => CompactTo::Revision(n.parse::<i64>().ok().filter(|r| *r > 0).ok_or_else(|| {
            format!("{line:?}: the revision must be a positive integer or \"current\"")
        })?),
    };
    let physical = match rest {
        [] => false,
        ["--physical"] | ["--physical=true"] => true,
        _ => {
            return Err(format!(
                "{line:?}: the only flag compact takes is --physical"
            ))
        }
    };
    Ok(OperatorCommand::Compact { rev, physical })
}

/// `etcdctl defrag [--endpoints=m1,m2 | --cluster]`.
fn defrag(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let members = match rest {
        [] => (0..m.size).collect(),
        ["--cluster"] => {
            return Ok(OperatorCommand::Defrag {
                members: (0..m.size).collect(),
                cluster: true,
            })
        }
        [flag] if flag.starts_with("--endpoints=") => {
            endpoints(&flag["--endpoints=".len()..], m, line)?
        }
        ["--endpoints", list] => endpoints(list, m, line)?,
        _ => {
            return Err(format!(
                "{line:?}: defrag takes --endpoints=m1,m2 or --cluster"
            ))
        }
    };
    Ok(OperatorCommand::Defrag {
        members,
        cluster: false,
    })
}

/// `etcd restart <mN> [--quota-backend-bytes=N]`.
fn etcd_restart(
    member: &str,
    rest: &[&str],
    m: Members,
    line: &str,
) -> Result<OperatorCommand, String> {
    let member = one_member(member, m, line)?;
    let quota_backend_bytes = match rest {
        [] => None,
        [flag] if flag.starts_with("--quota-backend-bytes=") => {
            let v = &flag["--quota-backend-bytes=".len()..];
            let max = crate::cluster::MAX_QUOTA_BACKEND_BYTES;
            Some(
                v.parse::<u64>()
                    .ok()
                    .filter(|q| (1..=max).contains(q))
                    .ok_or_else(|| {
                        format!(
                            "{line:?}: --quota-backend-bytes needs a number of bytes in \
                             1..={max} (as cluster.quota_backend_bytes)"
                        )
                    })?,
            )
        }
        _ => {
            return Err(format!(
                "{line:?}: restart takes only --quota-backend-bytes=N"
            ))
        }
    };
    Ok(OperatorCommand::Restart {
        member,
        quota_backend_bytes,
    })
}

/// `etcdctl snapshot status <file> [-w table|json|simple]`.
fn snapshot_status(
    rest: &[&str],
    line: &str,
    tool: SnapshotTool,
) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(rest, &[WRITE_OUT], "snapshot status").map_err(fail)?;
    let [file] = a.positional[..] else {
        return Err(fail("snapshot status requires exactly one argument".into()));
    };
    Ok(OperatorCommand::SnapshotStatus {
        file: file.to_string(),
        format: a
            .format(&[
                OutputFormat::Table,
                OutputFormat::Json,
                OutputFormat::Simple,
            ])
            .map_err(fail)?,
        tool,
    })
}

/// `etcdctl member list [-w table|simple]`.
fn member_list(rest: &[&str], line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(rest, &[WRITE_OUT], "member list").map_err(fail)?;
    if let Some(arg) = a.positional.first() {
        return Err(fail(format!("member list takes no arguments, not {arg:?}")));
    }
    Ok(OperatorCommand::MemberList {
        format: a
            .format(&[OutputFormat::Table, OutputFormat::Simple])
            .map_err(fail)?,
    })
}

/// `etcdctl member remove <mN>` (the member's name, not its hex ID).
fn member_remove(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(rest, &[], "member remove").map_err(fail)?;
    let [name] = a.positional[..] else {
        return Err(fail(
            "member remove takes one member, e.g. `etcdctl member remove m1`".into(),
        ));
    };
    if parse_member_name(name).is_none() && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(format!(
            "the lab takes the member's name ({}), not its hex ID {name:?}",
            names_of(m)
        )));
    }
    Ok(OperatorCommand::MemberRemove {
        member: one_member(name, m, line)?,
    })
}

/// `etcdctl endpoint hashkv [--cluster] [-w table|simple|json]`.
fn endpoint_hashkv(rest: &[&str], line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(
        rest,
        &[("cluster", Takes::Bool), WRITE_OUT],
        "endpoint hashkv",
    )
    .map_err(fail)?;
    if let Some(arg) = a.positional.first() {
        return Err(fail(format!(
            "endpoint hashkv takes no arguments, not {arg:?}"
        )));
    }
    Ok(OperatorCommand::EndpointHashKv {
        format: a
            .format(&[
                OutputFormat::Table,
                OutputFormat::Simple,
                OutputFormat::Json,
            ])
            .map_err(fail)?,
        cluster: a.bool("cluster"),
    })
}

/// `etcd start <mN> [--initial-cluster-state=new|existing]`.
fn etcd_start(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(
        rest,
        &[("initial-cluster-state", Takes::Value)],
        "etcd start",
    )
    .map_err(fail)?;
    let [member] = a.positional[..] else {
        return Err(fail(
            "etcd start takes one member, e.g. `etcd start m1`".into(),
        ));
    };
    let initial_cluster_state = match a.get("initial-cluster-state") {
        None => None,
        Some("new") => Some(ClusterState::New),
        Some("existing") => Some(ClusterState::Existing),
        Some(other) => {
            return Err(fail(format!(
                "--initial-cluster-state must be \"new\" or \"existing\", not {other:?}"
            )))
        }
    };
    Ok(OperatorCommand::Start {
        member: one_member(member, m, line)?,
        initial_cluster_state,
    })
}

/// `etcd stop <mN>`.
fn etcd_stop(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(rest, &[], "etcd stop").map_err(fail)?;
    let [member] = a.positional[..] else {
        return Err(fail(
            "etcd stop takes one member, e.g. `etcd stop m1`".into(),
        ));
    };
    Ok(OperatorCommand::Stop {
        member: one_member(member, m, line)?,
    })
}

/// `rm -rf m1/data-dir` or `rm -rf m1.etcd`.
fn rm_data_dir(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let dir = match rest {
        ["-rf", dir] => data_dir_member(dir, ""),
        _ => None,
    };
    let Some(name) = dir else {
        return Err(in_line(line)(
            "the lab only deletes a member's data dir: `rm -rf m1/data-dir` or \
             `rm -rf m1.etcd`"
                .into(),
        ));
    };
    Ok(OperatorCommand::WipeDataDir {
        member: one_member(name, m, line)?,
    })
}

/// `cp m1/data-dir/member/snap/db <file>` (or `m1.etcd/member/snap/db`).
fn cp_db(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let copy = match rest {
        [src, file] if !file.starts_with('-') => {
            data_dir_member(src, "/member/snap/db").map(|name| (name, file))
        }
        _ => None,
    };
    let Some((name, file)) = copy else {
        return Err(in_line(line)(
            "the lab only copies a member's backend file: \
             `cp m1/data-dir/member/snap/db <file>` (or m1.etcd/member/snap/db)"
                .into(),
        ));
    };
    Ok(OperatorCommand::CopyDb {
        member: one_member(name, m, line)?,
        file: file.to_string(),
    })
}

/// etcdctl's global flags may come before the command (`etcdctl --endpoints=m1 snapshot save
/// x`, `etcdctl -w table member list`): move `--endpoints` and `-w`/`--write-out` (with their
/// values) after it, where each command reads its flags.
fn global_flags_last(mut words: Vec<&str>) -> Vec<&str> {
    if !matches!(words.first(), Some(&"etcdctl" | &"etcdutl")) {
        return words;
    }
    let mut global = Vec::new();
    while let Some(&flag) = words.get(1) {
        let takes_next = matches!(flag, "--endpoints" | "-w" | "--write-out");
        let inline = ["--endpoints=", "-w=", "--write-out="]
            .iter()
            .any(|p| flag.starts_with(p));
        if !(takes_next || inline) {
            break;
        }
        global.push(words.remove(1));
        if takes_next && words.len() > 1 {
            global.push(words.remove(1));
        }
    }
    words.extend(global);
    words
}

/// The member whose data dir `path` is, followed by `tail`: `m1/data-dir<tail>` or
/// `m1.etcd<tail>` gives "m1".
fn data_dir_member<'a>(path: &'a str, tail: &str) -> Option<&'a str> {
    let dir = path.strip_suffix(tail)?;
    dir.strip_suffix("/data-dir")
        .or_else(|| dir.strip_suffix(".etcd"))
        .filter(|name| !name.is_empty())
}

fn snapshot_save(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let fail = in_line(line);
    let a = Args::parse(rest, &[("endpoints", Takes::Value)], "snapshot save").map_err(fail)?;
    let [file] = a.positional[..] else {
        return Err(fail("snapshot save expects one argument".into()));
    };
    let member = match a.get("endpoints") {
        None => None,
        Some(list) => {
            let members = endpoints(list, m, line)?;
            if members.len() > 1 {
                let given: Vec<&str> = list.split(',').map(str::trim).collect();
                return Err(fail(format!(
                    "snapshot must be requested to one selected node, not multiple [{}]",
                    given.join(" ")
                )));
            }
            Some(members[0])
        }
    };
    Ok(OperatorCommand::SnapshotSave {
        file: file.to_string(),
        member,
    })
}

/// etcdctl's defaults when `--initial-cluster` / `--initial-advertise-peer-urls` are left out.
const ETCDCTL_DEFAULT_PEER_URL: &str = "http://localhost:2380";

fn snapshot_restore(
    rest: &[&str],
    m: Members,
    tool: SnapshotTool,
) -> Result<OperatorCommand, String> {
    let a = Args::parse(
        rest,
        &[
            ("name", Takes::Value),
            ("initial-cluster", Takes::Value),
            ("initial-cluster-token", Takes::Value),
            ("initial-advertise-peer-urls", Takes::Value),
            ("data-dir", Takes::Value),
            ("skip-hash-check", Takes::Bool),
        ],
        "snapshot restore",
    )?;
    let [file] = a.positional[..] else {
        return Err("snapshot restore requires exactly one argument".into());
    };
    let Some(name) = a.get("name") else {
        return Err(format!(
            "--name is missing: etcdctl's default name \"default\" is not a member; restore as \
             the member whose node this is, e.g. --name m1 ({})",
            m.describe()
        ));
    };
    let member = m.index(name).map_err(|e| format!("--name {e}"))?;
    let default_cluster = format!("{name}={ETCDCTL_DEFAULT_PEER_URL}");
    let initial_cluster = initial_cluster(a.get("initial-cluster").unwrap_or(&default_cluster), m)?;
    let Some((_, own_url)) = initial_cluster.iter().find(|(i, _)| *i == member) else {
        return Err(format!(
            "couldn't find local name {name:?} in the initial cluster configuration \
             (--initial-cluster must list --name {name})"
        ));
    };
    let advertise = a
        .get("initial-advertise-peer-urls")
        .unwrap_or(ETCDCTL_DEFAULT_PEER_URL);
    one_url(advertise, "--initial-advertise-peer-urls")?;
    if advertise != own_url {
        return Err(format!(
            "--initial-cluster has {name}={own_url} but missing from \
             --initial-advertise-peer-urls={advertise}"
        ));
    }
    let token = a
        .get("initial-cluster-token")
        .unwrap_or(crate::DEFAULT_INITIAL_CLUSTER_TOKEN);
    let data_dir = a
        .get("data-dir")
        .map_or_else(|| format!("{name}.etcd"), str::to_string);
    if token.is_empty() || data_dir.is_empty() {
        let flag = if token.is_empty() {
            "--initial-cluster-token"
        } else {
            "--data-dir"
        };
        return Err(format!("{flag} must not be empty"));
    }
    Ok(OperatorCommand::SnapshotRestore {
        file: file.to_string(),
        member,
        initial_cluster,
        token: token.to_string(),
        data_dir,
        skip_hash_check: a.bool("skip-hash-check"),
        tool,
    })
}

/// `m1=http://127.0.0.1:12380,m2=...`: every name a member, listed once, one URL each, no URL
/// twice.
fn initial_cluster(list: &str, m: Members) -> Result<Vec<(usize, String)>, String> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for entry in list.split(',') {
        let Some((name, url)) = entry.split_once('=') else {
            return Err(format!(
                "--initial-cluster entry {entry:?} is not NAME=URL, e.g. m1={}",
                crate::peer_url(0)
            ));
        };
        let member = m
            .index(name)
            .map_err(|e| format!("--initial-cluster: {e}"))?;
        check_url(url)?;
        if out.iter().any(|(i, _)| *i == member) {
            return Err(format!(
                "--initial-cluster lists {name} twice; the lab gives each member one peer URL"
            ));
        }
        if out.iter().any(|(_, u)| u == url) {
            return Err(format!("initial cluster {list} has duplicate url"));
        }
        out.push((member, url.to_string()));
    }
    Ok(out)
}

fn member_add(rest: &[&str], m: Members, line: &str) -> Result<OperatorCommand, String> {
    let a = Args::parse(
        rest,
        &[
            ("peer-urls", Takes::Value),
            ("learner", Takes::Bool),
            ("endpoints", Takes::Value),
        ],
        "member add",
    )?;
    let name = match a.positional[..] {
        [] => return Err("member name not provided".into()),
        [name] => name,
        [..] => {
            let mut e = "too many arguments".to_string();
            for s in &a.positional {
                if s.to_ascii_lowercase().starts_with("http") {
                    e.push_str(&format!(", did you mean --peer-urls={s}"));
                }
            }
            return Err(e);
        }
    };
    let next = member_name(m.size);
    let member = match parse_member_name(name) {
        Some(i) if i >= m.size => i,
        Some(_) => {
            return Err(format!(
                "{name} is already a member ({}); added members are named after them: {next}, \
                 then {}...",
                names_of(Members::fixed(m.size)),
                member_name(m.size + 1)
            ))
        }
        None => {
            return Err(format!(
                "{name:?} is not a member name; added members are named after the cluster's: \
                 {next}, then {}...",
                member_name(m.size + 1)
            ))
        }
    };
    let Some(url) = a.get("peer-urls") else {
        return Err("member peer urls not provided".into());
    };
    one_url(url, "--peer-urls")?;
    let endpoint = match a.get("endpoints") {
        Some(list) => Some(endpoints(list, m, line)?[0]),
        None => None,
    };
    Ok(OperatorCommand::MemberAdd {
        member,
        peer_url: url.to_string(),
        learner: a.bool("learner"),
        endpoint,
    })
}

/// One URL (the lab gives each member one peer URL), checked as etcd checks URLs.
fn one_url(url: &str, flag: &str) -> Result<(), String> {
    if url.contains(',') {
        return Err(format!(
            "{flag} lists several URLs ({url}); the lab gives each member one peer URL"
        ));
    }
    check_url(url)
}

/// etcd's checks (`types.NewURLs`), for the schemes the lab knows.
fn check_url(url: &str) -> Result<(), String> {
    let Some(("http" | "https", rest)) = url.split_once("://") else {
        return Err(format!("URL scheme must be http or https: {url}"));
    };
    if rest.contains('/') {
        return Err(format!("URL must not contain a path: {url}"));
    }
    match rest.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "URL address does not have the form \"host:port\": {url}"
        )),
    }
}

fn names_of(m: Members) -> String {
    match m.slots {
        1 => "m1".into(),
        n => format!("m1..{}", member_name(n - 1)),
    }
}

fn one_member(name: &str, m: Members, line: &str) -> Result<usize, String> {
    match parse_member_name(name) {
        Some(i) if i < m.slots => Ok(i),
        _ if m.slots > m.size => Err(format!(
            "{line:?}: {name:?} is not a member: {}",
            m.describe()
        )),
        _ => Err(format!(
            "{line:?}: {name:?} is not a member of this {}-member cluster (m1..m{})",
            m.size, m.size
        )),
    }
}

/// `--endpoints`: member names or their client endpoints (`127.0.0.1:12379`, with or without
/// `http://`), comma-separated.
fn endpoints(list: &str, m: Members, line: &str) -> Result<Vec<usize>, String> {
    let out: Vec<usize> = list
        .split(',')
        .map(|name| {
            let name = name.trim();
            let endpoint = name
                .strip_prefix("http://")
                .or_else(|| name.strip_prefix("https://"))
                .unwrap_or(name);
            match (0..m.slots).find(|i| client_endpoint(*i) == endpoint) {
                Some(i) => Ok(i),
                None => one_member(name, m, line),
            }
        })
        .collect::<Result<_, _>>()?;
    if out.is_empty() {
        return Err(format!("{line:?}: no endpoints given"));
    }
    Ok(out)
}

/// Whether a flag takes a value (`--name m1`, `--name=m1`) or is a switch (`--learner`,
/// `--learner=false`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Value,
    Bool,
}

/// `-w`/`--write-out`.
const WRITE_OUT: (&str, Takes) = ("write-out", Takes::Value);

/// A command's words after its subcommand: positional arguments and flags, as cobra reads
/// them (`--flag value`, `--flag=value`, `-w value`, switches with an optional `=true|false`).
struct Args<'a> {
    positional: Vec<&'a str>,
    /// Flag name (without dashes) and value; switches hold "true" or "false".
    flags: Vec<(&'static str, &'a str)>,
}

impl<'a> Args<'a> {
    fn parse(
        words: &[&'a str],
        accepted: &[(&'static str, Takes)],
        command: &str,
    ) -> Result<Args<'a>, String> {
        let mut args = Args {
            positional: Vec::new(),
            flags: Vec::new(),
        };
        let mut words = words.iter().copied();
        while let Some(word) = words.next() {
            let (name, inline) = if word == "-w" {
                ("write-out", None)
            } else if let Some(v) = word.strip_prefix("-w=") {
                ("write-out", Some(v))
            } else if let Some(body) = word.strip_prefix("--") {
                match body.split_once('=') {
                    Some((name, v)) => (name, Some(v)),
                    None => (body, None),
                }
            } else if word.starts_with('-') && word.len() > 1 {
                (word, None)
            } else {
                args.positional.push(word);
                continue;
            };
            let Some(&(flag, takes)) = accepted.iter().find(|(f, _)| *f == name) else {
                return Err(unknown_flag(word, accepted, command));
            };
            if args.flags.iter().any(|(f, _)| *f == flag) {
                return Err(format!("--{flag} is given twice"));
            }
            let value = match (takes, inline) {
                (Takes::Value, Some(v)) => v,
                (Takes::Value, None) => match words.next() {
                    Some(v) if !v.starts_with('-') => v,
                    _ => return Err(format!("--{flag} needs a value")),
                },
                (Takes::Bool, None) => "true",
                (Takes::Bool, Some(v @ ("true" | "false"))) => v,
                (Takes::Bool, Some(v)) => {
                    return Err(format!("--{flag} is a switch: {v:?} is not true or false"))
                }
            };
            args.flags.push((flag, value));
        }
        Ok(args)
    }

    fn get(&self, flag: &str) -> Option<&'a str> {
        self.flags.iter().find(|(f, _)| *f == flag).map(|(_, v)| *v)
    }

    fn bool(&self, flag: &str) -> bool {
        self.get(flag) == Some("true")
    }

    /// `-w`'s value among `accepted` (etcdctl's default: simple).
    fn format(&self, accepted: &[OutputFormat]) -> Result<OutputFormat, String> {
        let Some(v) = self.get("write-out") else {
            return Ok(OutputFormat::Simple);
        };
        accepted
            .iter()
            .copied()
            .find(|f| f.as_str() == v)
            .ok_or_else(|| {
                let names: Vec<&str> = accepted.iter().map(|f| f.as_str()).collect();
                format!(
                    "unsupported output format {v:?}; use -w {}",
                    names.join("|")
                )
            })
    }
}

fn unknown_flag(word: &str, accepted: &[(&str, Takes)], command: &str) -> String {
    let flag = word.split('=').next().unwrap_or(word);
    if accepted.is_empty() {
        return format!("{command} takes no flags, not {flag}");
    }
    let names: Vec<String> = accepted
        .iter()
        .map(|(f, _)| match *f {
            "write-out" => "-w/--write-out".to_string(),
            f => format!("--{f}"),
        })
        .collect();
    format!(
        "{command} does not take {flag}; it takes {}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_nospace_runbook() {
        let p = |s| parse_operator_command(s, 3);
        assert_eq!(p("etcdctl alarm list"), Ok(OperatorCommand::AlarmList));
        assert_eq!(
            p("etcdctl compact current --physical"),
            Ok(OperatorCommand::Compact {
                rev: CompactTo::Current,
                physical: true
            })
        );
        assert_eq!(
            p("etcdctl defrag --endpoints=m2,m3"),
            Ok(OperatorCommand::Defrag {
                members: vec![1, 2],
                cluster: false
            })
        );
        assert_eq!(
            p("etcdctl defrag --cluster"),
            Ok(OperatorCommand::Defrag {
                members: vec![0, 1, 2],
                cluster: true
            })
        );
        assert_eq!(
            p("etcd restart m1 --quota-backend-bytes=17179869184"),
            Ok(OperatorCommand::Restart {
                member: 0,
                quota_backend_bytes: Some(17179869184)
            })
        );
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let p = |s| parse_operator_command(s, 3).unwrap_err();
        assert!(p("etcdctl defrag --endpoints=m4").contains("not a member"));
        assert!(p("etcdctl compact -5").contains("positive integer"));
        assert!(p("etcdctl snapshot verify x").contains("unknown command"));
        assert!(p("etcd restart m1 --quota=5").contains("--quota-backend-bytes"));
    }
}

/// `[runbook]`: what an operator does once an alarm fires, one step after another.
#[derive(Clone, Debug, PartialEq)]
pub struct Runbook {
    /// The alarm whose first raise starts the runbook ("NOSPACE").
    pub after_alarm: String,
    /// From the alarm to the first command: paging, waking up, finding the cause.
    pub diagnosis_ns: u64,
    /// Between one command's end and the next command (reading output, typing).
    pub think_time_ns: u64,
    /// Commands as typed, with what they mean.
    pub steps: Vec<(String, OperatorCommand)>,
}

pub(crate) fn read_runbook(
    f: crate::read::Field<'_>,
    members: Members,
) -> crate::error::R<Runbook> {
    let t = f.table()?;
    t.check_keys(&["after_alarm", "diagnosis", "think_time", "steps"])?;
    let after_alarm = t.req("after_alarm", |f| match f.str()? {
        a @ ("NOSPACE" | "CORRUPT") => Ok(a.to_string()),
        other => Err(f.fail(format!(
            "unknown alarm {other:?}; use \"NOSPACE\" or \"CORRUPT\""
        ))),
    })?;
    let steps = t.req("steps", |f| {
        if f.array().is_err() {
            return Err(f.expected("an array of command strings"));
        }
        let steps = f.each(|f| {
            let text = f.str()?;
            parse_command(text, members)
                .map(|c| (text.to_string(), c))
                .map_err(|e| f.fail(e))
        })?;
        if steps.is_empty() {
            return Err(f.fail("a runbook needs at least one step"));
        }
        Ok(steps)
    })?;
    Ok(Runbook {
        after_alarm,
        diagnosis_ns: t.opt("diagnosis", |f| f.duration())?.unwrap_or(0),
        think_time_ns: t.opt("think_time", |f| f.duration())?.unwrap_or(0),
        steps,
    })
}
