//! The lab: runs a validated scenario in the simulated world, checks invariants while it runs,
//! computes the outcome figures, evaluates `[[expect]]`s and builds the report's record.

mod checks;
pub mod explore;
mod history;
mod inputs;
pub mod invariants;
pub mod metrics;
mod outcome;
mod recorder;
mod world;

pub use etcdlab_member::EtcdBug;
pub use invariants::Injection;
pub use invariants::Violation;
pub use outcome::{median_of_sorted, outcome_metric};

use etcdlab_report::RunRecord;
use etcdlab_scenario::Scenario;

/// The alert rules a run evaluates: the guide's built-in rules, then the scenario's own.
pub fn alert_rules(scenario: &Scenario) -> Vec<etcdlab_alerts::AlertRule> {
    let mut rules = etcdlab_alerts::builtin_rules();
    rules.extend(scenario.alert_rules.iter().map(|r| {
        etcdlab_alerts::AlertRule {
            name: r.name.clone(),
            expr: r.expr.clone(),
            for_ns: r.for_ns,
            labels: r
                .severity
                .iter()
                .map(|s| ("severity".to_string(), s.clone()))
                .collect(),
        }
    }));
    rules
}

/// Compile the scenario's alert rules; an error names the rule and what is unsupported.
pub fn check_alert_rules(scenario: &Scenario) -> Result<Vec<etcdlab_alerts::CompiledRule>, String> {
    alert_rules(scenario)
        .iter()
        .map(etcdlab_alerts::parse_rule)
        .collect()
}

/// A finished run.
pub struct RunResult {
    pub record: RunRecord,
    /// What the clients sent and saw (`history.jsonl`).
    pub history: Vec<etcdlab_check::Operation>,
    /// All `[[expect]]`s held.
    pub expectations_ok: bool,
    /// The first raft invariant an injected etcd bug broke (a run without one stops at the
    /// first broken invariant instead).
    pub invariant_broken: Option<Violation>,
}

/// Run `scenario` (its seed and overrides already applied) to its end.
pub fn run(scenario: &Scenario) -> Result<RunResult, Box<Violation>> {
    run_with(scenario, None)
}

/// [`run`], optionally with a deliberate bug injected (to test the invariant checks).
pub fn run_with(
    scenario: &Scenario,
    injection: Option<Injection>,
) -> Result<RunResult, Box<Violation>> {
    Ok(judge(scenario, simulate(scenario, injection, None)?))
}

/// [`run`] with an etcd bug every member has (`ETCDLAB_INJECT_BUG`): the checkers of what the
/// clients saw must catch it.
pub fn run_with_bug(scenario: &Scenario, bug: EtcdBug) -> Result<RunResult, Box<Violation>> {
    Ok(judge(scenario, simulate(scenario, None, Some(bug))?))
}

/// [`run`] without the checkers of the clients' history, for runs of which only the figures are
/// read (the cells of a sensitivity table): judging a long history costs more than simulating it.
/// The record has no `checks`.
pub fn run_figures_only(scenario: &Scenario) -> Result<RunRecord, Box<Violation>> {
    let Simulated { recording, .. } = simulate(scenario, None, None)?;
    Ok(outcome::build_record(scenario, recording, Vec::new()))
}

/// The scenario expects its clients' history to fail a checker (`[[expect]]
/// client_check_failures`, a replay of an incident that broke what clients saw); otherwise a
/// failed checker makes the run a violation.
pub fn expects_check_failure(scenario: &Scenario) -> bool {
    scenario
        .expect
        .iter()
        .any(|e| e.metric == "client_check_failures")
}

/// A simulated run whose clients' history is not judged yet.
pub struct Simulated {
    recording: world::Recording,
    /// What the clients sent and saw.
    pub history: Vec<etcdlab_check::Operation>,
}

/// The simulation part of [`run_with`]: the world run to its end, its history taken.
pub fn simulate(
    scenario: &Scenario,
    injection: Option<Injection>,
    bug: Option<EtcdBug>,
) -> Result<Simulated, Box<Violation>> {
    let mut world = world::World::new(scenario, bug);
    if let Some(i) = injection {
        world.inject(i);
    }
    world.run().map_err(|mut v| {
        v.detail = format!(
            "{} (scenario {}, seed {})",
            v.detail, scenario.name, scenario.seed
        );
        Box::new(v)
    })?;
    let recording = world.finish();
    let linearizable_reads = scenario.workload.read_linearizable;
    let history = checks::operations(&recording.rec.history, linearizable_reads);
    Ok(Simulated { recording, history })
}

/// The judging part of [`run_with`]: the checkers on the clients' history, then the outcome.
pub fn judge(scenario: &Scenario, simulated: Simulated) -> RunResult {
    let Simulated {
        mut recording,
        history,
    } = simulated;
    let invariant_broken = recording.invariant_broken.take().map(|mut v| {
        v.detail = format!(
            "{} (scenario {}, seed {})",
            v.detail, scenario.name, scenario.seed
        );
        v
    });
    let mut checks = checks::run(&history);
    if let Some(verdict) = recording.liveness.take() {
        checks.push(checks::liveness_result(verdict));
    }
    let record = outcome::build_record(scenario, recording, checks);
    let expectations_ok = record.summary.expectations.iter().all(|e| e.ok);
    RunResult {
        record,
        history,
        expectations_ok,
        invariant_broken,
    }
}
