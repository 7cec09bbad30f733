//! The lab: runs a validated scenario in the simulated world, checks invariants while it runs,
//! computes the outcome figures, evaluates `[[expect]]`s and builds the report's record.

pub mod invariants;
pub mod metrics;
mod outcome;
mod recorder;
mod world;

pub use invariants::Violation;
pub use outcome::outcome_metric;
pub use world::Injection;

use etcdlab_report::RunRecord;
use etcdlab_scenario::Scenario;

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
    let record = outcome::build_record(scenario, world);
    let expectations_ok = record.summary.expectations.iter().all(|e| e.ok);
    Ok(RunResult {
        record,
        expectations_ok,
    })
}
