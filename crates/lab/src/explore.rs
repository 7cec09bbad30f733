//! `etcdlab explore`: randomized chaos, as TigerBeetle's VOPR does it. Each run draws from its
//! seed a cluster, the `[traffic]` clients and a fault schedule from a random subset of the
//! fault kinds the lab has (swarm testing), then checks safety (raft invariants, the clients'
//! checkers) and liveness (`[liveness]`: after the faults, one leader and writes again). A
//! drawn run is a [`Case`], written out as a self-contained scenario that `etcdlab run`
//! replays to the same bytes; a failing case is shrunk (`shrink.rs`) to a minimal one that
//! still fails the same check.

mod judge;
mod shrink;

pub use judge::{judge, Verdict};
pub use shrink::shrink;

use etcdlab_sim::rng::{below, chance};
use etcdlab_sim::{stream, Rng};
use std::fmt::Write;

/// The fault kinds a case may draw (swarm testing enables a random subset per run). Kinds
/// after the first [`FIRST_KINDS`] were added later and draw from a stream of their own, so
/// that the runs a seed drew before they existed stay the same.
pub const FAULT_KINDS: [FaultKind; 13] = [
    FaultKind::Pause,
    FaultKind::Crash,
    FaultKind::Isolate,
    FaultKind::Partition,
    FaultKind::PartitionOneWay,
    FaultKind::LinkFault,
    FaultKind::DiskStall,
    FaultKind::DiskSlow,
    FaultKind::Defrag,
    FaultKind::Compact,
    FaultKind::DiskFull,
    FaultKind::Failpoint,
    FaultKind::Replace,
];

/// The kinds drawn from the case's first stream.
const FIRST_KINDS: usize = 12;

/// The kinds a fault on a member outside the liveness core may keep past the heal: they stop
/// or cut off that member only (a one-way cut or a lossy link would keep disturbing the core).
const MAY_LAST: [FaultKind; 5] = [
    FaultKind::Pause,
    FaultKind::Crash,
    FaultKind::Isolate,
    FaultKind::DiskStall,
    FaultKind::DiskFull,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    Pause,
    /// A crash that loses unsynced writes; the member restarts after the window.
    Crash,
    Isolate,
    /// Two groups that cannot reach each other.
    Partition,
    PartitionOneWay,
    /// Latency and loss on one link.
    LinkFault,
    DiskStall,
    DiskSlow,
    /// `etcdctl defrag` of one member.
    Defrag,
    /// `etcdctl compact current`.
    Compact,
    /// The member's volume is full: its next write fails and etcd exits; space is freed and
    /// the process restarted after the window.
    DiskFull,
    /// etcd's `compactBeforeSetFinishedCompact` failpoint armed in the member, then a
    /// compaction that reaches it: a crash in the middle of compacting, restarted after at
    /// most a second.
    Failpoint,
    /// A member replaced as an operator does it: stopped (or its bbolt file corrupted, so
    /// that it refuses to restart), removed, its data dir wiped, a new member added and
    /// started with `--initial-cluster-state=existing` after the window. One per case.
    Replace,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Pause => "pause",
            FaultKind::Crash => "crash",
            FaultKind::Isolate => "isolate",
            FaultKind::Partition => "partition",
            FaultKind::PartitionOneWay => "partition_one_way",
            FaultKind::LinkFault => "link_fault",
            FaultKind::DiskStall => "disk_stall",
            FaultKind::DiskSlow => "disk_slow",
            FaultKind::Defrag => "defrag",
            FaultKind::Compact => "compact",
            FaultKind::DiskFull => "disk_full",
            FaultKind::Failpoint => "failpoint",
            FaultKind::Replace => "replace",
        }
    }
}

/// One fault of the schedule: a timeline step at an explicit time, so that removing one
/// leaves the others where they were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    pub at_ms: u64,
    /// The window (ignored by defrag and compact, which are commands).
    pub duration_ms: u64,
    /// The member it hits (0-based; partitions: the minority's first member), or -1 for the
    /// leader at that moment.
    pub member: i64,
    /// A second member: the other end of a link, or of a one-way partition.
    pub other: usize,
    /// A link fault's latency (ms) and loss, a slow disk's factor; a replacement's 1 when the
    /// member's backend is corrupted rather than the member stopped.
    pub amount: u64,
    /// The fault lasts past the heal (only on a member outside the liveness core, and only
    /// for the kinds of [`MAY_LAST`]; otherwise it ends in its window).
    pub lasts: bool,
}

/// A `[[watch]]` client on the traffic's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watcher {
    /// The member it watches (wraps around the cluster's size).
    pub member: usize,
    /// Revisions it consumes per second (None: as fast as they come); a slow watcher reads
    /// from the history behind the member's revision.
    pub events_per_s: Option<u64>,
    pub progress_notify: bool,
    /// On compaction, resume from the compact revision instead of relisting.
    pub resume: bool,
}

/// The user's cluster to explore around (`etcdlab explore BASE.toml`): its `[cluster]`,
/// `[disk]` and `[network]` tables as TOML text, and the figures a case needs from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    /// The file, for the scenarios' comments.
    pub file: String,
    pub tables: String,
    pub size: usize,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
}

/// A drawn run: everything its scenario says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub seed: u64,
    pub size: usize,
    pub heartbeat_ms: u64,
    pub election_timeout_ms: u64,
    pub pre_vote: bool,
    pub snapshot_count: u64,
    /// Raft log entries kept after a snapshot: fewer make a member that fell behind need a
    /// snapshot sooner.
    pub snapshot_catchup_entries: u64,
    /// `auto_compaction_mode = "periodic"` with this retention (ms), or none.
    pub auto_compaction_ms: Option<u64>,
    /// `watch_progress_notify_interval` (ms).
    pub progress_notify_ms: u64,
    /// Members outside the liveness core: the last `left_out` (at most a minority); faults
    /// on them may last.
    pub left_out: usize,
    pub watchers: Vec<Watcher>,
    pub clients_per_member: u32,
    pub key_count: u64,
    pub think_time_ms: u64,
    /// The kinds this run enabled (swarm testing).
    pub enabled: Vec<FaultKind>,
    pub faults: Vec<Fault>,
    /// When the faults are over, and the bound for recovery after it.
    pub heal_at_ms: u64,
    pub within_ms: u64,
    /// The user's cluster, disks and network, in place of the drawn ones.
    pub base: Option<std::sync::Arc<Base>>,
}

/// Faults happen in [FAULTS_FROM_MS, heal_at).
const FAULTS_FROM_MS: u64 = 2_000;
/// How long before a replacement's `member add` other faults must be over: etcd's 5 s
/// `HealthInterval` and a second for a crashed member's restart.
const ADD_QUIET_MS: u64 = 6_000;
/// A restarted member replays its WAL: a bound on that, for liveness.
const RESTART_BOUND_MS: u64 = 5_000;
/// A client's deadline (the `[traffic]` default): a client may wait that long on a request
/// sent before the heal.
const CLIENT_DEADLINE_MS: u64 = 5_000;

impl Case {
    /// The run `index` of an exploration with seed `seed`: everything from its own stream.
    pub fn draw(seed: u64, index: u64) -> Case {
        let run_seed =
            etcdlab_sim::rng::below(&mut stream(seed, &format!("explore-{index}")), 1 << 53);
        let rng = &mut stream(run_seed, "explore-case");
        let size = [1, 3, 3, 5][below(rng, 4) as usize];
        let heartbeat_ms = [50, 100, 100, 200][below(rng, 4) as usize];
        let election_timeout_ms = heartbeat_ms * (5 + below(rng, 11));
        let heal_at_ms = 15_000 + 1_000 * below(rng, 16);
        let enabled: Vec<FaultKind> = FAULT_KINDS[..FIRST_KINDS]
            .iter()
            .copied()
            .filter(|_| chance(rng, 0.5))
            .collect();
        let mut case = Case {
            seed: run_seed,
            size,
            heartbeat_ms,
            election_timeout_ms,
            pre_vote: chance(rng, 0.5),
            snapshot_count: [100, 1_000, 10_000][below(rng, 3) as usize],
            clients_per_member: 1 + below(rng, 3) as u32,
            key_count: 3 + below(rng, 18),
            think_time_ms: below(rng, 6),
            enabled,
            snapshot_catchup_entries: [100, 1_000, 5_000][below(rng, 3) as usize],
            auto_compaction_ms: None,
            progress_notify_ms: [500, 1_000, 5_000][below(rng, 3) as usize],
            left_out: below(rng, (size as u64 - 1) / 2 + 1) as usize,
            watchers: Vec::new(),
            faults: Vec::new(),
            heal_at_ms,
            within_ms: 0,
            base: None,
        };
        case.within_ms = case.recovery_bound_ms();
        if chance(rng, 1.0 / 3.0) {
            case.auto_compaction_ms = Some(1_000 * (1 + below(rng, 10)));
        }
        if chance(rng, 0.5) {
            for _ in 0..1 + below(rng, 2) {
                let watcher = Watcher {
                    member: below(rng, size as u64) as usize,
                    events_per_s: chance(rng, 0.5).then(|| 20 + below(rng, 200)),
                    progress_notify: chance(rng, 0.5),
                    resume: chance(rng, 0.5),
                };
                case.watchers.push(watcher);
            }
        }
        let count = if case.enabled.is_empty() {
            0
        } else {
            1 + below(rng, 8)
        };
        for _ in 0..count {
            let kind = case.enabled[below(rng, case.enabled.len() as u64) as usize];
            let fault = draw_fault(rng, kind, &case);
            case.faults.push(fault);
        }
        let later = &mut stream(run_seed, "explore-case-later");
        if chance(later, 0.5) {
            case.enabled.push(FaultKind::Replace);
            let fault = draw_replace(later, &case);
            case.faults.push(fault);
        }
        case.faults.sort_by_key(|f| f.at_ms);
        case
    }

    /// The case on the user's cluster: its size and timers replace the drawn ones (the faults
    /// drawn stay; a member they name wraps around the cluster's size).
    pub fn with_base(mut self, base: std::sync::Arc<Base>) -> Case {
        // The members faults and watchers name, and the core, drawn again among the base's
        // members (from a stream of their own: the other draws stay).
        let size = base.size as u64;
        let rng = &mut stream(self.seed, "explore-base-members");
        for f in &mut self.faults {
            if f.member >= 0 {
                f.member = below(rng, size) as i64;
            }
            f.other = below(rng, size) as usize;
        }
        for w in &mut self.watchers {
            w.member = below(rng, size) as usize;
        }
        self.left_out = below(rng, (size - 1) / 2 + 1) as usize;
        self.size = base.size;
        self.heartbeat_ms = base.heartbeat_ms;
        self.election_timeout_ms = base.election_timeout_ms;
        self.within_ms = self.recovery_bound_ms();
        self.base = Some(base);
        self
    }

    /// Members outside the liveness core: the last ones, at most a minority of the cluster.
    pub fn outside_core(&self) -> std::ops::Range<usize> {
        let left_out = self.left_out.min((self.size - 1) / 2);
        self.size - left_out..self.size
    }

    /// Whether the fault lasts past the heal in this case's scenario.
    pub(crate) fn lasts(&self, f: &Fault) -> bool {
        f.lasts
            && f.member >= 0
            && MAY_LAST.contains(&f.kind)
            && self
                .outside_core()
                .contains(&(f.member as usize % self.size))
    }

    /// Liveness's bound: two election timeouts, a restart, and a client's deadline.
    pub fn recovery_bound_ms(&self) -> u64 {
        2 * self.election_timeout_ms + RESTART_BOUND_MS + CLIENT_DEADLINE_MS
    }

    pub fn duration_ms(&self) -> u64 {
        self.heal_at_ms + self.within_ms + 1_000
    }

    /// The scenario this case is, self-contained: `etcdlab run` replays it.
    pub fn to_toml(&self, title: &str) -> String {
        let mut t = String::new();
        let kinds: Vec<&str> = self.enabled.iter().map(|k| k.name()).collect();
        let _ = writeln!(t, "# {title}");
        let _ = writeln!(
            t,
            "# Drawn by etcdlab explore; fault kinds enabled: {}.",
            if kinds.is_empty() {
                "none".to_string()
            } else {
                kinds.join(", ")
            }
        );
        let _ = writeln!(
            t,
            "description = \"etcdlab explore: a random cluster, traffic and fault schedule\""
        );
        let _ = writeln!(t, "seed = {}", self.seed);
        let _ = writeln!(t, "duration = \"{}ms\"", self.duration_ms());
        match &self.base {
            Some(base) => {
                let _ = writeln!(t, "\n# The cluster, disks and network of {}", base.file);
                t.push_str(&base.tables);
            }
            None => {
                let _ = writeln!(t, "\n[cluster]\nsize = {}\nheartbeat_interval_ms = {}\nelection_timeout_ms = {}\npre_vote = {}\nsnapshot_count = {}\nsnapshot_catchup_entries = {}\nwatch_progress_notify_interval = \"{}ms\"", self.size, self.heartbeat_ms, self.election_timeout_ms, self.pre_vote, self.snapshot_count, self.snapshot_catchup_entries, self.progress_notify_ms);
                if let Some(ms) = self.auto_compaction_ms {
                    let _ = writeln!(t, "auto_compaction_mode = \"periodic\"\nauto_compaction_retention = \"{ms}ms\"");
                }
                let _ = writeln!(t, "\n[disk]\nprofile = \"ssd\"");
            }
        }
        let _ = writeln!(t, "\n[traffic]\nclients_per_member = {}\nkey_count = {}\nthink_time = \"{}ms\"\nstart = \"1s\"", self.clients_per_member, self.key_count, self.think_time_ms);
        let _ = writeln!(
            t,
            "\n[liveness]\nfrom = \"{}ms\"\nwithin = \"{}ms\"",
            self.heal_at_ms, self.within_ms
        );
        let outside = self.outside_core();
        let replaced = self.replacement().and_then(|r| self.target(r));
        if !outside.is_empty() || replaced.is_some_and(|r| r < outside.start) {
            // The member added in place of a replaced one takes its place in the core.
            let core: Vec<String> = (0..outside.start)
                .map(|m| if Some(m) == replaced { self.size } else { m })
                .map(|m| format!("\"m{}\"", m + 1))
                .collect();
            let _ = writeln!(t, "core = [{}]", core.join(", "));
        }
        for (i, w) in self.watchers.iter().enumerate() {
            let _ = write!(t, "\n[[watch]]\nname = \"watcher-{}\"\nmember = \"m{}\"\nprefix = \"/traffic/\"\nstart = \"1s\"\n", i + 1, w.member % self.size + 1);
            if let Some(n) = w.events_per_s {
                let _ = writeln!(t, "events_per_s = {n}");
            }
            if w.progress_notify {
                let _ = writeln!(t, "progress_notify = true");
            }
            if w.resume {
                let _ = writeln!(t, "on_compacted = \"resume\"");
            }
        }
        for f in self.faults.iter().filter_map(|f| self.fault_toml(f)) {
            t.push('\n');
            t.push_str(&f);
        }
        t
    }

    /// The name of member `m` (0-based, wrapping around the size; negative: the leader) in
    /// a step at `at_ms`: after a replacement, the member added in place of the old one.
    fn member_name(&self, m: i64, at_ms: u64) -> String {
        if m < 0 {
            return "leader".to_string();
        }
        let m = m as usize % self.size;
        let replaced = self.replacement().filter(|r| self.target(r) == Some(m));
        match replaced {
            Some(r) if at_ms > r.at_ms => format!("m{}", self.size + 1),
            _ => format!("m{}", m + 1),
        }
    }

    /// The replacement the scenario makes: the first `Replace` fault, when the cluster has
    /// the three members that keep a quorum while one is replaced.
    /// An operator replaces a member in a cluster that is otherwise healthy, and waits for
    /// each step: so the replacement is left out when another fault is active while it runs
    /// or it would not be over by the heal. etcd refuses the add unless every member has been
    /// connected for 5 s (the strict reconfiguration check), so a fault before it must be
    /// over (a crashed member restarted) by then: `ADD_QUIET_MS` before the add. The cluster's
    /// start counts as such an end: members connect when they start.
    pub(crate) fn replacement(&self) -> Option<&Fault> {
        let r = (self.faults.iter()).find(|f| f.kind == FaultKind::Replace)?;
        let (from, to) = (r.at_ms, self.fault_end_ms(r));
        let add = from + self.replace_steps_ms(r)[2];
        let quiet = (self.faults.iter())
            .filter(|f| f.kind != FaultKind::Replace)
            .all(|f| {
                let end = self.fault_end_ms(f);
                (end < from && end.saturating_add(ADD_QUIET_MS) <= add) || f.at_ms > to
            });
        let after_start = add >= ADD_QUIET_MS;
        (self.size >= 3 && quiet && after_start && to <= self.heal_at_ms).then_some(r)
    }

    /// Every window that does not last ends by the heal (after shrinking moved the heal or
    /// made a lasting fault end); a fault from the heal on is dropped.
    pub(crate) fn clip_to_heal(&mut self) {
        let heal = self.heal_at_ms;
        self.faults.retain(|f| f.at_ms < heal);
        let lasting: Vec<bool> = self.faults.iter().map(|f| self.lasts(f)).collect();
        for (f, lasts) in self.faults.iter_mut().zip(lasting) {
            if !lasts && f.kind != FaultKind::Replace {
                f.duration_ms = f.duration_ms.min(heal - f.at_ms);
            }
        }
    }

    /// When the fault is over: its window's end (the end of the run for one that lasts; a
    /// second after an operator command; a replacement's last step).
    pub(crate) fn fault_end_ms(&self, f: &Fault) -> u64 {
        match f.kind {
            _ if self.lasts(f) => u64::MAX,
            FaultKind::Defrag | FaultKind::Compact => f.at_ms + 1_000,
            FaultKind::Replace => f.at_ms + self.replace_steps_ms(f)[3],
            _ => f.at_ms + f.duration_ms,
        }
    }

    /// When a replacement's steps after the stop come (ms after it): the removal once a new
    /// leader can have been elected (two election timeouts and a second), the wipe, the
    /// member added a second later, and started after a second or the fault's window.
    fn replace_steps_ms(&self, f: &Fault) -> [u64; 4] {
        let remove = 2 * self.election_timeout_ms + 1_000;
        let add = remove + 1_000;
        [remove, remove + 100, add, add + f.duration_ms.max(1_000)]
    }

    /// The member a fault names, 0-based (a role names none).
    fn target(&self, f: &Fault) -> Option<usize> {
        (f.member >= 0).then(|| f.member as usize % self.size)
    }

    /// Whether the fault is in the scenario: the cluster is large enough for it (a partition
    /// or a link needs two members), and a replacement is the one that happens. (No fault is
    /// active while a replacement runs, and those after it name the new member.)
    fn fits(&self, f: &Fault) -> bool {
        let two_ends = matches!(
            f.kind,
            FaultKind::Partition | FaultKind::PartitionOneWay | FaultKind::LinkFault
        );
        if two_ends && self.size < 2 {
            return false;
        }
        let Some(r) = self.replacement() else {
            return f.kind != FaultKind::Replace;
        };
        f.kind != FaultKind::Replace || std::ptr::eq(f, r)
    }

    /// The fault as a timeline step; None when the cluster is too small for it.
    fn fault_toml(&self, f: &Fault) -> Option<String> {
        if !self.fits(f) {
            return None;
        }
        let member = self.member_name(f.member, f.at_ms);
        let from = f.member.max(0) as usize % self.size;
        let mut to = f.other % self.size;
        if to == from {
            to = (from + 1) % self.size;
        }
        let name = |m: usize| self.member_name(m as i64, f.at_ms);
        let other = name(to);
        let head = format!("[[timeline]]\nat = \"{}ms\"\n", f.at_ms);
        let window = match (self.lasts(f), f.kind) {
            // A stall needs a window: one to the end of the run.
            (true, FaultKind::DiskStall) => format!("duration = \"{}ms\"\n", self.duration_ms()),
            (true, _) => String::new(),
            (false, _) => format!("duration = \"{}ms\"\n", f.duration_ms),
        };
        let body = match f.kind {
            FaultKind::Pause
            | FaultKind::Crash
            | FaultKind::Isolate
            | FaultKind::DiskStall
            | FaultKind::DiskFull => {
                format!("action = \"{}\"\nmember = \"{member}\"\n{window}", f.kind.name())
            }
            // Armed, then a compaction to reach it at once. One that does not reach the member
            // (cut off, or catching up by a snapshot) leaves it armed until a later compaction,
            // maybe after the heal: the restart within a second keeps that in liveness's bound.
            FaultKind::Failpoint => format!(
                "action = \"failpoint\"\nmember = \"{member}\"\nfailpoint = \"compactBeforeSetFinishedCompact\"\nduration = \"{}ms\"\n\n[[timeline]]\nat = \"{}ms\"\naction = \"etcdctl\"\ncommand = \"etcdctl compact current\"\n",
                f.duration_ms.clamp(100, 1_000),
                f.at_ms + 10
            ),

            FaultKind::DiskSlow => format!(
                "action = \"disk_slow\"\nmember = \"{member}\"\nfactor = {}\n{window}",
                f.amount
            ),
            FaultKind::Partition => {
                let m = f.member.max(0) as usize % self.size;
                let minority: Vec<usize> = (0..self.size / 2).map(|i| (m + i) % self.size).collect();
                let names = |g: &[usize]| {
                    g.iter().map(|i| format!("\"{}\"", name(*i))).collect::<Vec<_>>().join(", ")
                };
                let rest: Vec<usize> = (0..self.size).filter(|i| !minority.contains(i)).collect();
                format!("action = \"partition\"\ngroups = [[{}], [{}]]\n{window}", names(&minority), names(&rest))
            }
            FaultKind::PartitionOneWay => format!(
                "action = \"partition_one_way\"\nfrom = \"{}\"\nto = \"{other}\"\n{window}",
                self.member_name(f.member.max(0), f.at_ms)
            ),
            FaultKind::LinkFault => format!(
                "action = \"link_fault\"\nfrom = \"{}\"\nto = \"{other}\"\none_way_latency_ms = {}\nloss = {}\n{window}",
                self.member_name(f.member.max(0), f.at_ms),
                f.amount,
                (f.amount % 5) as f64 / 10.0
            ),
            FaultKind::Defrag => format!("action = \"etcdctl\"\ncommand = \"etcdctl defrag --endpoints={member}\"\n"),
            FaultKind::Replace => return Some(self.replace_toml(f)),
            FaultKind::Compact => "action = \"etcdctl\"\ncommand = \"etcdctl compact current\"\n".to_string(),
        };
        Some(head + &body)
    }

    /// A replacement as timeline steps: the member stopped (or corrupted and restarted, so
    /// that it refuses to start), removed, wiped, a new member added, and started at the end
    /// of the window.
    fn replace_toml(&self, f: &Fault) -> String {
        let old = f.member as usize % self.size + 1;
        let new = self.size + 1;
        let step = |after_ms: u64, body: &str| {
            format!("[[timeline]]\nat = \"{}ms\"\n{body}\n", f.at_ms + after_ms)
        };
        let etcdctl = |command: String| format!("action = \"etcdctl\"\ncommand = \"{command}\"");
        let mut t = if f.amount == 1 {
            step(
                0,
                &format!("action = \"corrupt_backend\"\nmember = \"m{old}\""),
            ) + "\n"
                + &step(0, &etcdctl(format!("etcd restart m{old}")))
        } else {
            step(0, &etcdctl(format!("etcd stop m{old}")))
        };
        let url = etcdlab_scenario::peer_url(new - 1);
        let [remove, wipe, add, start] = self.replace_steps_ms(f);
        for (after_ms, command) in [
            (remove, format!("etcdctl member remove m{old}")),
            (wipe, format!("rm -rf m{old}/data-dir")),
            (add, format!("etcdctl member add m{new} --peer-urls={url}")),
            (
                start,
                format!("etcd start m{new} --initial-cluster-state=existing"),
            ),
        ] {
            t.push('\n');
            t.push_str(&step(after_ms, &etcdctl(command)));
        }
        t
    }

    /// Fault kinds this case's scenario uses, each once, in order (a fault the cluster is too
    /// small for is not in the scenario).
    pub fn kinds_used(&self) -> Vec<FaultKind> {
        let mut kinds: Vec<FaultKind> = (self.faults.iter())
            .filter(|f| self.fits(f))
            .map(|f| f.kind)
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }
}

/// The replacement of a member, inside the faulty phase (the new member starts before the
/// heal).
fn draw_replace(rng: &mut Rng, case: &Case) -> Fault {
    let at_ms = FAULTS_FROM_MS + below(rng, case.heal_at_ms - FAULTS_FROM_MS - 1_000);
    Fault {
        kind: FaultKind::Replace,
        at_ms,
        duration_ms: 1_000 + below(rng, 3_000),
        member: below(rng, case.size as u64) as i64,
        other: 0,
        amount: u64::from(chance(rng, 0.5)),
        lasts: false,
    }
}

/// One fault of `kind`, inside the faulty phase (it ends before the heal).
fn draw_fault(rng: &mut Rng, kind: FaultKind, case: &Case) -> Fault {
    let span = case.heal_at_ms - FAULTS_FROM_MS;
    let at_ms = FAULTS_FROM_MS + below(rng, span - 500);
    let room = case.heal_at_ms - at_ms;
    let duration_ms = (200 + below(rng, 6_000)).min(room);
    let member = if chance(rng, 0.3) {
        -1
    } else {
        below(rng, case.size as u64) as i64
    };
    let other = below(rng, case.size as u64) as usize;
    let amount = match kind {
        FaultKind::LinkFault => 1 + below(rng, 200),
        FaultKind::DiskSlow => 2 + below(rng, 50),
        _ => 0,
    };
    let member = match kind {
        // A partition's groups, a link's ends are members, not a role.
        FaultKind::Partition | FaultKind::PartitionOneWay | FaultKind::LinkFault => member.max(0),
        // etcdctl names endpoints.
        FaultKind::Defrag => member.max(0),
        _ => member,
    };
    let lasts = MAY_LAST.contains(&kind) && chance(rng, 0.5);
    Fault {
        kind,
        at_ms,
        duration_ms,
        member,
        other,
        amount,
        lasts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_case_is_a_valid_scenario() {
        for index in 0..300 {
            let case = Case::draw(11, index);
            let text = case.to_toml("test");
            if let Err(e) = etcdlab_scenario::parse_str(&text, "case.toml", &[]) {
                panic!("case {index}: {e}\n{text}");
            }
        }
    }

    #[test]
    fn a_case_is_a_function_of_the_seed_and_its_index() {
        assert_eq!(Case::draw(5, 9), Case::draw(5, 9));
        assert_ne!(Case::draw(5, 9), Case::draw(5, 10));
        assert_ne!(Case::draw(5, 9), Case::draw(6, 9));
    }

    #[test]
    fn swarm_runs_enable_different_fault_kinds_and_every_kind_is_drawn() {
        let cases: Vec<Case> = (0..100).map(|i| Case::draw(3, i)).collect();
        let subsets: std::collections::BTreeSet<Vec<FaultKind>> =
            cases.iter().map(|c| c.enabled.clone()).collect();
        assert!(subsets.len() > 50, "{}", subsets.len());
        let used: std::collections::BTreeSet<FaultKind> =
            cases.iter().flat_map(|c| c.kinds_used()).collect();
        assert_eq!(used.len(), FAULT_KINDS.len());
    }

    #[test]
    fn only_faults_outside_the_core_last_and_the_core_is_a_quorum() {
        let mut lasting = 0;
        for index in 0..300 {
            let c = Case::draw(17, index);
            let outside = c.outside_core();
            assert!(c.size - outside.len() > c.size / 2, "{c:?}");
            for f in c.faults.iter().filter(|f| c.lasts(f)) {
                lasting += 1;
                assert!(outside.contains(&(f.member as usize % c.size)), "{f:?}");
                assert!(MAY_LAST.contains(&f.kind));
            }
            let text = c.to_toml("test");
            let replaced_in_core = (c.replacement())
                .and_then(|r| c.target(r))
                .is_some_and(|r| r < outside.start);
            assert_eq!(
                text.contains("core = ["),
                !outside.is_empty() || replaced_in_core,
                "{text}"
            );
        }
        assert!(lasting > 10, "{lasting}");
    }

    #[test]
    fn a_replacement_adds_the_next_member_in_place_of_the_old_one() {
        let case = (0..300)
            .map(|i| Case::draw(19, i))
            .find(|c| c.replacement().is_some() && c.outside_core().is_empty())
            .expect("a case that replaces a member of a whole-cluster core");
        let r = case.replacement().unwrap();
        let (old, new) = (r.member as usize % case.size + 1, case.size + 1);
        let text = case.to_toml("test");
        assert!(
            text.contains(&format!("etcdctl member remove m{old}")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "etcdctl member add m{new} --peer-urls=http://127.0.0.1:{new}2380"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "etcd start m{new} --initial-cluster-state=existing"
            )),
            "{text}"
        );
        let core = text
            .lines()
            .find(|l| l.starts_with("core = "))
            .expect("a core");
        assert!(
            core.contains(&format!("\"m{new}\"")) && !core.contains(&format!("\"m{old}\"")),
            "{core}"
        );
        // No fault is active while the replacement runs; one after it names the new member.
        for f in case
            .faults
            .iter()
            .filter(|f| case.fits(f) && f.kind != FaultKind::Replace)
        {
            assert!(
                case.fault_end_ms(f) < r.at_ms || f.at_ms > case.fault_end_ms(r),
                "{f:?}"
            );
            if case.target(f) == Some(old - 1) && f.at_ms > r.at_ms {
                let step = case.fault_toml(f).unwrap();
                assert!(step.contains(&format!("\"m{new}\"")), "{step}");
            }
        }
        // Later kinds draw from their own stream: a seed's other draws are those of before.
        let mut without = case.clone();
        without.faults.retain(|f| f.kind != FaultKind::Replace);
        without.enabled.retain(|k| *k != FaultKind::Replace);
        assert!(without
            .enabled
            .iter()
            .all(|k| FAULT_KINDS[..FIRST_KINDS].contains(k)));
    }

    #[test]
    fn a_replacement_waits_until_the_cluster_has_been_whole_for_the_strict_check() {
        // Explore run 27 of seed 7 (before this rule): m1 isolated until 2.9 s before the
        // replacement's stop, its `member add` 4.7 s after the heal was refused ("unhealthy
        // cluster") and the new member never joined.
        let mut case = (0..300)
            .map(|i| Case::draw(19, i))
            .find(|c| c.replacement().is_some_and(|r| r.at_ms >= 4_000))
            .expect("a case that replaces a member 4 s or more into the run");
        let r = case.replacement().unwrap().clone();
        let add = r.at_ms + case.replace_steps_ms(&r)[2];
        case.faults.retain(|f| f.kind == FaultKind::Replace);
        let isolate = |end: u64| Fault {
            kind: FaultKind::Isolate,
            at_ms: end - 100,
            duration_ms: 100,
            member: r.member + 1,
            other: 0,
            amount: 0,
            lasts: false,
        };
        case.faults.push(isolate(add - ADD_QUIET_MS + 1));
        assert!(case.replacement().is_none());
        case.faults.pop();
        // Over 6 s before the add, and before the replacement starts.
        case.faults
            .push(isolate((add - ADD_QUIET_MS).min(r.at_ms - 1)));
        assert!(case.replacement().is_some());
    }

    #[test]
    fn a_replacement_adds_no_sooner_than_6_s_after_the_start() {
        // Explore run 284 of seed 1: a backend corrupted at 2.1 s, the member removed at 3.9 s
        // and its replacement added at 4.9 s, refused ("unhealthy cluster"): the members had
        // been connected since they started, 4.9 s before.
        let case = Case::draw(1, 284);
        assert!(case.replacement().is_none(), "{case:?}");
        for index in 0..300 {
            let c = Case::draw(19, index);
            if let Some(r) = c.replacement() {
                assert!(r.at_ms + c.replace_steps_ms(r)[2] >= ADD_QUIET_MS);
            }
        }
    }

    #[test]
    fn every_fault_ends_before_the_heal() {
        for index in 0..300 {
            let c = Case::draw(13, index);
            for f in c.faults.iter().filter(|f| f.kind != FaultKind::Replace) {
                assert!(f.at_ms >= FAULTS_FROM_MS && f.at_ms + f.duration_ms <= c.heal_at_ms);
            }
            if let Some(r) = c.replacement() {
                assert!(c.fault_end_ms(r) <= c.heal_at_ms, "{r:?}");
            }
        }
    }
}
