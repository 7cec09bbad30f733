//! Scenario files: the TOML schema, parsing with precise errors, validation and `--set` overrides.
//!
//! A scenario is the whole input of a run besides the code: cluster, disks, network, workload,
//! a timeline of faults and operator actions, expectations. Every error names the file, the line
//! and the dotted field path (see [`ScenarioError`]).
//!
//! Units are in field names (`_ms`, `_bytes`, `_per_s`); durations are human strings ("10m",
//! "1.5s", "250ms", "1h30m") parsed into nanoseconds of simulated time. The format is
//! documented in `docs/scenarios.md`.
//!
//! How it works: the file is parsed into a tree that keeps each value's line (`doc`), `--set`
//! overrides edit that tree (`overrides`), then each section is read by hand (`read` plus one
//! module per section) rather than through serde derive, so that every error can say which
//! keys are accepted and where the offending value is.

mod alert;
mod cluster;
mod disk;
mod dist;
mod doc;
mod duration;
mod error;
mod etcd_config;
mod expect;
mod kube;
mod names;
mod network;
mod operator;
mod overrides;
mod read;
mod scenario;
mod sensitivity;
mod sweep;
mod timeline;
mod traffic;
mod workload;

pub use alert::AlertRuleSpec;
pub use cluster::{
    DEFAULT_INITIAL_CLUSTER_TOKEN, DEFAULT_SNAPSHOT_CATCHUP_ENTRIES, DEFAULT_SNAPSHOT_COUNT,
};
pub use disk::disk_profile;
pub use duration::{format_duration, parse_duration};
pub use error::ScenarioError;
pub use etcd_config::{read_etcd_config_file, read_etcd_flags, EtcdConfig};
pub use kube::{ApiRequestsSpec, AutoCompaction, FastForward, KubeSpec, OnCompacted, WatchSpec};
pub use names::{
    client_endpoint, client_url, member_index, member_name, parse_member_name, parse_member_ref,
    peer_url,
};
pub use operator::{
    parse_operator_command, parse_operator_command_with_slots, ClusterState, CompactTo,
    OperatorCommand, OutputFormat, Runbook, SnapshotTool,
};
pub use scenario::MAX_MEMBER_SLOTS;
pub use scenario::{load, parse_str};
pub use sensitivity::SensitivitySpec;
pub use sweep::SweepSpec;
pub use traffic::{Liveness, Traffic, TrafficMix};

/// Nanoseconds of simulated time.
pub type Nanos = u64;

/// A parsed, validated scenario. All defaults are filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// From `name`, else the file stem.
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub duration_ns: Nanos,
    pub cluster: Cluster,
    /// One disk per member slot (see [`Scenario::member_slots`]), index 0 = m1. Built from
    /// `[disk]` plus `[disk.members.mN]` overrides; a member added by `etcdctl member add` gets
    /// `[disk]` unless it has its own table.
    pub disks: Vec<Disk>,
    pub network: Network,
    pub workload: Workload,
    pub timeline: Vec<TimelineEvent>,
    pub expect: Vec<Expectation>,
    pub metrics: MetricsConfig,
    /// User alert rules from `[[alert]]`, evaluated besides the built-in ones.
    pub alert_rules: Vec<AlertRuleSpec>,
    /// A sweep declared in the file (`[sweep]`), run by `etcdlab sweep FILE`.
    pub sweep: Option<SweepSpec>,
    /// Notes for the report: where this scenario knowingly differs from the incident or from
    /// real etcd (`notes = ["...", ...]`).
    pub notes: Vec<String>,
    /// Extra runs whose table `etcdlab run` adds to the report (`[sensitivity]`).
    pub sensitivity: Option<SensitivitySpec>,
    /// What the operator does after an alarm (`[runbook]`).
    pub runbook: Option<Runbook>,
    /// A Kubernetes control plane as etcd's client (`[kube]`).
    pub kube: Option<KubeSpec>,
    /// History applied without simulating every message (`[fast_forward]`).
    pub fast_forward: Option<FastForward>,
    /// Watch clients (`[[watch]]`).
    pub watches: Vec<WatchSpec>,
    /// Closed-loop clients exercising etcd's semantics (`[traffic]`).
    pub traffic: Option<Traffic>,
    /// The recovery the run must show after its faults (`[liveness]`).
    pub liveness: Option<Liveness>,
    /// The `--set PATH=VALUE` overrides applied, in order (reports show them so a run can be
    /// replayed).
    pub overrides: Vec<String>,
}

impl Scenario {
    /// Member slots the run needs: the cluster's `cluster.size` members, plus one per
    /// `etcdctl member add` in the timeline and the runbook (added members are m<size+1>,
    /// m<size+2>..., in the order the commands appear: timeline in file order, then runbook).
    /// `disks` has one entry per slot.
    pub fn member_slots(&self) -> usize {
        let is_add = |c: &OperatorCommand| matches!(c, OperatorCommand::MemberAdd { .. });
        let timeline = self
            .timeline
            .iter()
            .filter(|e| matches!(&e.action, Action::Operator { command, .. } if is_add(command)));
        let runbook = self
            .runbook
            .iter()
            .flat_map(|r| &r.steps)
            .filter(|(_, c)| is_add(c));
        self.cluster.size + timeline.count() + runbook.count()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EtcdVersion {
    V3_4,
    V3_5,
}

impl EtcdVersion {
    /// `--pre-vote`'s default: off in 3.4, on from 3.5.
    pub fn pre_vote_default(self) -> bool {
        self == EtcdVersion::V3_5
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// 1..=7. Members are named m1..mN.
    pub size: usize,
    pub etcd_version: EtcdVersion,
    pub heartbeat_interval_ms: u64,
    pub election_timeout_ms: u64,
    /// Default: false for 3.4, true for 3.5.
    pub pre_vote: bool,
    /// Time to start a member and replay its WAL: `restart_base_ms` plus WAL bytes at
    /// `wal_replay_bytes_per_s`.
    pub restart_base_ms: f64,
    pub wal_replay_bytes_per_s: f64,
    /// `--quota-backend-bytes` of every member (0 in the file means etcd's 2 GiB default).
    pub quota_backend_bytes: u64,
    /// `--auto-compaction-mode`/`-retention`; None = off (etcd's default).
    pub auto_compaction: Option<AutoCompaction>,
    /// `--snapshot-count` (default 100000, etcd 3.4/3.5): applied entries between two raft
    /// snapshots; each snapshot compacts the raft log, keeping `snapshot_catchup_entries`.
    pub snapshot_count: u64,
    /// Entries kept in the raft log after a snapshot's compaction (etcd's
    /// `SnapshotCatchUpEntries`, 5000): a follower further behind gets a full snapshot.
    pub snapshot_catchup_entries: u64,
    /// `--experimental-initial-corrupt-check` (default false): before serving, a starting
    /// member compares its HashKV with its peers'.
    pub initial_corrupt_check: bool,
    /// `--strict-reconfig-check` (default true): `member add` is refused unless the member
    /// serving it has been connected to every voting member for 5 s (etcd's
    /// `HealthInterval`) and enough members have started.
    pub strict_reconfig_check: bool,
    /// `--experimental-corrupt-check-time`: the leader's periodic HashKV comparison; None = off
    /// (etcd's default, `0s` in the file).
    pub corrupt_check_time_ns: Option<Nanos>,
    /// `--initial-cluster-token` (default "etcd-cluster"): with the peer URLs, it determines the
    /// member and cluster IDs.
    pub initial_cluster_token: String,
    /// `--experimental-watch-progress-notify-interval` (default 10 minutes): a watch created
    /// with `progress_notify` that got no event during one interval is sent a progress
    /// notification (an empty response at the store's revision) if it is synced.
    pub watch_progress_notify_interval_ns: Nanos,
    /// `--experimental-compaction-batch-limit` (default 1000): revision keys a compaction
    /// deletes per batch, 10 ms apart.
    pub compaction_batch_limit: u64,
}

pub use etcdlab_sim::Dist;

#[derive(Clone, Debug, PartialEq)]
pub struct Disk {
    /// "ssd", "hdd" or "custom"; numbers below were filled from the profile then overridden.
    pub profile: String,
    /// Time to write the WAL bytes into the page cache, per write (ms).
    pub write_latency_ms: Dist,
    /// Time of one fdatasync once it reaches the device (ms). Served one at a time per device.
    pub fsync_latency_ms: Dist,
    /// Sustained write bandwidth (bytes per second).
    pub write_bandwidth_bytes_per_s: f64,
    /// The storage array the volume sits on (`[disk.array]`), if any: its fsyncs then queue
    /// there behind neighbour VMs' I/O, and `fsync_latency_ms` is the round trip on top.
    pub array: Option<ArraySpec>,
}

/// `[disk.array]`: a storage array with an IOPS budget shared with bursty neighbour VMs.
#[derive(Clone, Debug, PartialEq)]
pub struct ArraySpec {
    pub iops: f64,
    pub bandwidth_bytes_per_s: f64,
    pub ios_per_fsync: f64,
    /// `[[disk.array.neighbours]]`: groups of alike neighbour VMs.
    pub neighbours: Vec<NeighbourSpec>,
    /// All members' volumes on this one array (one queue), instead of one array per member.
    pub shared_by_members: bool,
}

/// A group of neighbour VMs on the array: idle with light open-loop I/O, or bursting with
/// many I/Os outstanding (closed loop). The simulator's own type: read as is.
pub use etcdlab_sim::array::NeighbourGroup as NeighbourSpec;

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub one_way_latency_ms: Dist,
    pub bandwidth_bytes_per_s: f64,
    /// Probability a message is dropped.
    pub loss: f64,
    /// Probability a message is delivered twice.
    pub duplicate: f64,
    /// Client to member one-way latency (ms).
    pub client_latency_ms: Dist,
    /// Overrides for chosen directed links; later entries win.
    pub links: Vec<LinkOverride>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkOverride {
    /// Member indexes (0-based) on each side.
    pub from: Vec<usize>,
    pub to: Vec<usize>,
    /// Also apply to `to` -> `from`.
    pub symmetric: bool,
    pub one_way_latency_ms: Option<Dist>,
    pub loss: Option<f64>,
    pub bandwidth_bytes_per_s: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    RoundRobin,
    Leader,
    Member(usize),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Open-loop arrival rate (Poisson arrivals). 0 disables the workload.
    pub writes_per_s: f64,
    pub value_size_bytes: Dist,
    /// Keys are `/lab/key-<n>` with n uniform in [0, key_count).
    pub key_count: u64,
    pub target: Target,
    pub start_ns: Nanos,
    /// No new writes from this time on (`stop`); None = until the end of the run.
    pub stop_ns: Option<Nanos>,
    /// Open-loop reads of one key (Poisson); 0 = none.
    pub reads_per_s: f64,
    /// true: linearizable (ReadIndex, etcd's default); false: serializable (local state).
    pub read_linearizable: bool,
    /// The share of the writes that delete their key instead of putting it (0..=1).
    pub delete_ratio: f64,
    /// The share of the writes that are optimistic updates: a txn comparing the key with what
    /// the client last saw of it, putting when the compare holds, reading the key otherwise.
    pub txn_ratio: f64,
    /// Default: etcd 3.4's 5 s + 2 x election timeout.
    pub request_timeout_ns: Nanos,
}

/// Who an action applies to, resolved when the action fires.
#[derive(Clone, Debug, PartialEq)]
pub enum MemberRef {
    Member(usize),
    /// The current leader (skipped and reported if there is none).
    Leader,
    /// A follower of the current leader, chosen with the faults random stream.
    Follower,
}

/// The failpoints a member can be armed with (`action = "failpoint"`), by etcd's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failpoint {
    /// `compactBeforeSetFinishedCompact`: a compaction's deletions are done, its finished
    /// mark is not written yet.
    CompactBeforeSetFinishedCompact,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// SIGSTOP: nothing runs, nothing ticks. With `duration_ns`, SIGCONT after it.
    Pause {
        member: MemberRef,
        duration_ns: Option<Nanos>,
    },
    Resume {
        member: MemberRef,
    },
    /// Kill the process: unsynced WAL bytes are lost. With `duration_ns`, restart after it.
    Crash {
        member: MemberRef,
        duration_ns: Option<Nanos>,
    },
    Restart {
        member: MemberRef,
    },
    /// Arm a failpoint in the member's process (etcd's gofail): it panics when it gets there,
    /// and restarts `duration_ns` later if given.
    Failpoint {
        member: MemberRef,
        failpoint: Failpoint,
        duration_ns: Option<Nanos>,
    },
    /// Cut one member off from all others (both directions).
    Isolate {
        member: MemberRef,
        duration_ns: Option<Nanos>,
    },
    /// Symmetric partition between groups (member indexes); members not listed keep all links.
    Partition {
        groups: Vec<Vec<usize>>,
        duration_ns: Option<Nanos>,
    },
    /// Drop messages `from` -> `to` only.
    PartitionOneWay {
        from: Vec<usize>,
        to: Vec<usize>,
        duration_ns: Option<Nanos>,
    },
    /// Remove every partition and isolation.
    Heal,
    /// Change latency/loss on chosen links for a window.
    LinkFault {
        from: Vec<usize>,
        to: Vec<usize>,
        symmetric: bool,
        one_way_latency_ms: Option<Dist>,
        loss: Option<f64>,
        duration_ns: Option<Nanos>,
    },
    /// Fsyncs that reach the device during the stall complete only after it ends.
    DiskStall {
        member: MemberRef,
        duration_ns: Nanos,
    },
    /// Multiply the member's disk latencies by `factor` for the window.
    DiskSlow {
        member: MemberRef,
        factor: f64,
        duration_ns: Nanos,
    },
    /// The member's data volume is full (ENOSPC), e.g. a runaway log on a shared root disk:
    /// its next WAL write or backend commit fails and etcd exits. With `duration_ns`, space is
    /// freed after it and the process is restarted (a supervisor's restart loop).
    DiskFull {
        member: MemberRef,
        duration_ns: Option<Nanos>,
    },
    /// An operator command (`action = "etcdctl"`), as typed (`text`) and as understood.
    Operator {
        text: String,
        command: OperatorCommand,
    },
    /// The member's bbolt file is corrupted (e.g. a botched upgrade): the running process
    /// keeps serving from what it has open until it restarts; then it refuses to start.
    CorruptBackend {
        member: MemberRef,
    },
    /// The member's WAL loses its last `entries` records while the member is down (a disk
    /// losing acknowledged writes); its next start repairs (truncates) the WAL and goes on
    /// from there.
    WalTailLost {
        member: MemberRef,
        entries: u64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Repeat {
    pub count: u32,
    pub every_ns: Nanos,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEvent {
    pub at_ns: Nanos,
    pub action: Action,
    /// Fire `count` times in all, `every_ns` apart (count includes the first).
    pub repeat: Option<Repeat>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// An outcome metric name, e.g. "leader_changes", "write_latency_ms_p99" (see OUTCOME_METRICS).
    pub metric: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    pub scrape_interval_ns: Nanos,
}

/// The outcome figures an `[[expect]]` may name. The lab computes each of them per run.
pub const OUTCOME_METRICS: &[&str] = &[
    "leader_changes",
    "leader_changes_per_hour",
    "elections",
    "writes_ok",
    "writes_failed",
    "write_latency_ms_p50",
    "write_latency_ms_p99",
    "write_latency_ms_max",
    "failover_s_count",
    "failover_s_min",
    "failover_s_median",
    "failover_s_max",
    "rejoin_catch_up_s_count",
    "rejoin_catch_up_s_median",
    "rejoin_catch_up_s_max",
    "heartbeat_send_failures",
    "wal_fsync_ms_p50",
    "wal_fsync_ms_p99",
    "wal_fsync_ms_p999",
    "wal_fsync_p99_5m_ms_median",
    "wal_fsync_p99_5m_ms_max",
    "max_term",
    "nospace_at_s",
    "write_downtime_s",
    "db_size_alert_lead_s",
    "max_write_gap_s",
    "watch_relists",
    "reads_failed",
    "read_latency_ms_p99",
    "apiserver_latency_ms_p50",
    "apiserver_latency_ms_p99",
    "apiserver_latency_ms_max",
    "divergence_detected_at_s",
    "revision_gap",
    "lost_changes",
    "snapshots_sent",
    "snapshot_catchup_s",
    "hashkv_distinct",
    "cluster_ids",
    "members_refused_start",
    "client_check_failures",
];

/// The metric with per-resource variants: `lost_changes.<resource>` (e.g.
/// `lost_changes.configmaps`), one per Kubernetes resource the lab writes.
pub const PER_RESOURCE_METRIC: &str = "lost_changes";

/// Whether an `[[expect]]` may name `metric`: one of [`OUTCOME_METRICS`], or
/// `lost_changes.<resource>` with a resource of [`etcdlab_kube::Resource::ALL`]
/// (`configmaps`, `secrets`, ...).
pub fn is_outcome_metric(metric: &str) -> bool {
    if OUTCOME_METRICS.contains(&metric) {
        return true;
    }
    match metric.split_once('.') {
        Some((PER_RESOURCE_METRIC, resource)) => expect::is_resource(resource),
        _ => false,
    }
}
