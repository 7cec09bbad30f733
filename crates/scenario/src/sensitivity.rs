//! `[sensitivity]`: how an outcome responds to one input, measured by extra runs whose table
//! goes into the report (e.g. leader changes per hour against neighbours' burst intensity).

use crate::error::R;
use crate::read::Field;
use crate::sweep::read_values;

/// One input varied over `values` (rendered `--set` values), `seeds` runs each.
#[derive(Clone, Debug, PartialEq)]
pub struct SensitivitySpec {
    /// A dotted scenario path, as `--set` takes it.
    pub param: String,
    pub values: Vec<String>,
    pub seeds: u32,
    /// Column heading for the input, e.g. "backup VM outstanding I/Os".
    pub label: String,
}

pub(crate) fn read_sensitivity(f: Field<'_>) -> R<SensitivitySpec> {
    let t = f.table()?;
    t.check_keys(&["param", "values", "seeds", "label"])?;
    let param = t.req("param", |f| f.str().map(String::from))?;
    if param.is_empty() {
        return Err(t.fail("param must name a scenario key, e.g. \"workload.writes_per_s\""));
    }
    Ok(SensitivitySpec {
        values: t.req("values", |f| read_values(&f))?,
        seeds: t.opt("seeds", |f| f.u64_in(1..=100, "seeds"))?.unwrap_or(3) as u32,
        label: t
            .opt("label", |f| f.str().map(String::from))?
            .unwrap_or_else(|| param.clone()),
        param,
    })
}
