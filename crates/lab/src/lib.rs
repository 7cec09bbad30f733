//! The lab: runs a validated scenario in the simulated world, checks invariants while it runs,
//! computes the outcome figures, evaluates `[[expect]]`s and builds the report's record.

mod history;
mod inputs;
pub mod invariants;
pub mod metrics;
mod outcome;
mod recorder;
mod world;

pub use invariants::Violation;
pub use outcome::{median_of_sorted, outcome_metric};
pub use world::Injection;

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
    /// All `[[expect]]`s held.
    pub expectations_ok: bool,
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
    let mut world = world::World::new(scenario);
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
    let record = outcome::build_record(scenario, world.finish());
    let expectations_ok = record.summary.expectations.iter().all(|e| e.ok);
    Ok(RunResult {
        record,
        expectations_ok,
    })
}
