//! The whole file: top-level keys, then each section in dependency order (the cluster size and
//! run duration are needed to check members and times elsewhere).

use std::path::Path;

use crate::cluster::read_cluster;
use crate::disk::read_disks;
use crate::doc::parse_document;
use crate::error::R;
use crate::expect::read_expectations;
use crate::names::{member_name, Members};
use crate::network::read_network;
use crate::overrides::apply_overrides;
use crate::read::{Field, Table};
use crate::timeline::read_timeline;
use crate::workload::{read_metrics, read_workload};
use crate::{Action, OperatorCommand, Scenario, ScenarioError};

/// The most member slots a run may have: the cluster's members plus those
/// `etcdctl member add` adds.
pub const MAX_MEMBER_SLOTS: usize = 15;

const KEYS: &[&str] = &[
    "name",
    "description",
    "seed",
    "duration",
    "cluster",
    "disk",
    "network",
    "workload",
    "metrics",
    "timeline",
    "expect",
    "alert",
    "sweep",
    "sensitivity",
    "notes",
    "runbook",
    "kube",
    "fast_forward",
    "watch",
    "traffic",
    "liveness",
];

/// Reads the scenario at `path`, applies `--set PATH=VALUE` overrides, fills defaults and
/// validates it.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(source) => parse_str(&source, &file, overrides),
        Err(e) => Err(ScenarioError {
            file,
            line: None,
            field: None,
            message: format!("cannot read the scenario file: {e}"),
        }),
    }
}

/// Parses scenario text; `file_name` is used in errors and for the default name (its stem).
pub fn parse_str(
    source: &str,
    file_name: &str,
    overrides: &[String],
) -> Result<Scenario, ScenarioError> {
    read_scenario(source, file_name, overrides).map_err(|fail| fail.into_error(file_name))
}

fn read_scenario(source: &str, file_name: &str, overrides: &[String]) -> R<Scenario> {
    let mut doc = parse_document(source)?;
    apply_overrides(&mut doc, overrides)?;
    let t = Table::root(&doc)?;
    t.check_keys(KEYS)?;
    let duration_ns = t
        .opt("duration", |f| f.positive_duration())?
        .ok_or_else(|| t.missing("duration", " (the simulated run length, e.g. \"1h\")"))?;
    let table = |key: &str| t.opt(key, |f| f.table());
    let cluster = read_cluster(table("cluster")?)?;
    let size = cluster.size;
    let members = Members {
        size,
        slots: size + count_member_adds(&t),
    };
    let workload = read_workload(
        table("workload")?,
        size,
        cluster.election_timeout_ms,
        duration_ns,
    )?;
    let scenario = Scenario {
        name: t.opt("name", name)?.unwrap_or_else(|| file_stem(file_name)),
        description: t
            .opt("description", |f| f.str().map(String::from))?
            .unwrap_or_default(),
        seed: t.opt("seed", |f| f.u64())?.unwrap_or(1),
        duration_ns,
        disks: read_disks(table("disk")?, members)?,
        network: read_network(table("network")?, members)?,
        workload,
        traffic: t.opt("traffic", |f| {
            crate::traffic::read_traffic(f.table()?, duration_ns)
        })?,
        liveness: t.opt("liveness", |f| {
            crate::traffic::read_liveness(f.table()?, duration_ns, members)
        })?,
        timeline: t
            .opt("timeline", |f| read_timeline(f, members, duration_ns))?
            .unwrap_or_default(),
        expect: t.opt("expect", read_expectations)?.unwrap_or_default(),
        metrics: read_metrics(table("metrics")?)?,
        cluster,
        alert_rules: t
            .opt("alert", crate::alert::read_alert_rules)?
            .unwrap_or_default(),
        sweep: t.opt("sweep", crate::sweep::read_sweep)?,
        sensitivity: t.opt("sensitivity", crate::sensitivity::read_sensitivity)?,
        notes: t
            .opt("notes", |f| {
                if f.array().is_err() {
                    return Err(f.expected("an array of strings"));
                }
                f.each(|f| f.str().map(String::from))
            })?
            .unwrap_or_default(),
        runbook: t.opt("runbook", |f| crate::operator::read_runbook(f, members))?,
        kube: t.opt("kube", crate::kube::read_kube)?,
        watches: t
            .opt("watch", |f| crate::kube::read_watches(f, size, duration_ns))?
            .unwrap_or_default(),
        fast_forward: t.opt("fast_forward", |f| {
            crate::kube::read_fast_forward(f, duration_ns)
        })?,
        overrides: overrides.to_vec(),
    };
    check_fast_forward(&t, &scenario)?;
    check_member_adds(&t, &scenario)?;
    Ok(scenario)
}

/// `etcdctl member add` commands in the timeline (`action = "etcdctl"`) and the runbook, before
/// they are parsed: each takes a member slot, which other sections may name.
fn count_member_adds(t: &Table<'_>) -> usize {
    let is_add = |f: &Field<'_>| f.str().is_ok_and(crate::operator::is_member_add);
    let timeline = t.get("timeline").map_or(0, |f| {
        let events = f.each(|event| {
            let Ok(e) = event.table() else {
                return Ok(false);
            };
            let etcdctl = e.get("action").is_some_and(|a| a.str() == Ok("etcdctl"));
            Ok(etcdctl && e.get("command").is_some_and(|c| is_add(&c)))
        });
        events.map_or(0, |v| v.into_iter().filter(|add| *add).count())
    });
    let runbook = t
        .get("runbook")
        .and_then(|f| f.table().ok()?.get("steps"))
        .and_then(|steps| steps.each(|f| Ok(is_add(&f))).ok())
        .map_or(0, |v| v.into_iter().filter(|add| *add).count());
    timeline + runbook
}

/// Added members are named after the cluster's, in the order the commands appear (timeline in
/// file order, then runbook): the first `member add` adds m<size+1>, the next m<size+2>...
fn check_member_adds(t: &Table<'_>, sc: &Scenario) -> R<()> {
    let mut adds: Vec<(usize, Field<'_>)> = Vec::new();
    if let Some(timeline) = t.get("timeline") {
        let commands = timeline.each(|f| Ok(f.table()?.get("command")))?;
        for (event, field) in sc.timeline.iter().zip(commands) {
            if let (
                Action::Operator {
                    command: OperatorCommand::MemberAdd { member, .. },
                    ..
                },
                Some(field),
            ) = (&event.action, field)
            {
                adds.push((*member, field));
            }
        }
    }
    if let (Some(runbook), Some(table)) = (&sc.runbook, t.get("runbook")) {
        let fields = table.table()?.req("steps", |f| f.each(Ok))?;
        for ((_, command), field) in runbook.steps.iter().zip(fields) {
            if let OperatorCommand::MemberAdd { member, .. } = command {
                adds.push((*member, field));
            }
        }
    }
    let size = sc.cluster.size;
    for (k, (member, field)) in adds.into_iter().enumerate() {
        let expected = size + k;
        if expected >= MAX_MEMBER_SLOTS {
            return Err(field.fail(format!(
                "too many members: a run has at most {MAX_MEMBER_SLOTS} member slots \
                 (cluster.size {size} plus {} added)",
                MAX_MEMBER_SLOTS - size
            )));
        }
        if member != expected {
            let order = if k == 0 {
                format!(
                    "the first `etcdctl member add` must add {}",
                    member_name(expected)
                )
            } else {
                format!(
                    "this is `etcdctl member add` number {}, so it must add {}",
                    k + 1,
                    member_name(expected)
                )
            };
            return Err(field.fail(format!(
                "{order}, not {}: added members are named after the cluster's m1..{} in the \
                 order the commands appear (timeline in file order, then runbook)",
                member_name(member),
                member_name(size - 1)
            )));
        }
    }
    Ok(())
}

/// `[fast_forward]` replays the `[kube]` workload's history, and nothing else happens while it
/// does: no timeline action may fire before `fast_forward.until`.
fn check_fast_forward(t: &Table<'_>, sc: &Scenario) -> R<()> {
    let (Some(ff), Some(ff_field)) = (&sc.fast_forward, t.get("fast_forward")) else {
        return Ok(());
    };
    if sc.kube.is_none() {
        return Err(ff_field
            .fail("fast_forward needs [kube]: it applies the Kubernetes workload's history"));
    }
    let Some(timeline) = t.get("timeline") else {
        return Ok(());
    };
    let events = timeline.each(|f| Ok(f.table()?.get("at")))?;
    for (event, at) in sc.timeline.iter().zip(events) {
        if let Some(at) = at.filter(|_| event.at_ns < ff.until_ns) {
            return Err(at.fail(format!(
                "{} is before fast_forward.until ({}): nothing but the Kubernetes workload's \
                 history runs during the fast-forward, so actions must come at or after it",
                crate::format_duration(event.at_ns),
                crate::format_duration(ff.until_ns)
            )));
        }
    }
    Ok(())
}

fn name(f: Field<'_>) -> R<String> {
    match f.str()?.trim() {
        "" => Err(f.fail("must not be empty (leave it out to use the file name)")),
        name => Ok(name.to_string()),
    }
}

fn file_stem(file_name: &str) -> String {
    Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "scenario".to_string())
}
