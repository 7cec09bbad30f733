//! `[[alert]]`: user Prometheus alert rules, evaluated over the run's metrics.

use crate::error::R;
use crate::read::Field;

/// One alert rule as written in the scenario (PromQL is parsed and checked by the alerts crate).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRuleSpec {
    pub name: String,
}

pub(crate) fn read_alert_rules(f: Field<'_>) -> R<Vec<AlertRuleSpec>> {
    Err(f.fail("[[alert]] is not supported yet"))
}
