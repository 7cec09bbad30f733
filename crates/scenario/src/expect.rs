//! `[[expect]]`: bounds on outcome metrics.

use crate::doc::Kind;
use crate::error::R;
use crate::read::Field;
use crate::{Expectation, OUTCOME_METRICS};

/// Every metric of every `[[expect]]` table, in file order.
pub(crate) fn read_expectations(f: Field<'_>) -> R<Vec<Expectation>> {
    if f.array().is_err() {
        return Err(f.expected("an array of tables; write each one as [[expect]]"));
    }
    let tables = f.each(|entry| {
        let t = entry.table()?;
        if t.is_empty() {
            return Err(t.fail("empty [[expect]]; add e.g. leader_changes = { max = 0 }"));
        }
        t.each(read_expectation)
    })?;
    Ok(tables.into_iter().flatten().collect())
}

fn read_expectation(metric: &str, f: Field<'_>) -> R<Expectation> {
    if !OUTCOME_METRICS.contains(&metric) {
        return Err(f.fail(format!(
            "unknown metric `{metric}`; known metrics: {}",
            OUTCOME_METRICS.join(", ")
        )));
    }
    let (min, max) = match f.node.kind {
        Kind::Int(_) | Kind::Float(_) => {
            let exact = f.number()?;
            (Some(exact), Some(exact))
        }
        Kind::Table(_) => bounds(&f)?,
        _ => return Err(f.expected("a number or a table like { min = 1, max = 2 }")),
    };
    Ok(Expectation {
        metric: metric.to_string(),
        min,
        max,
    })
}

fn bounds(f: &Field<'_>) -> R<(Option<f64>, Option<f64>)> {
    let t = f.table()?;
    t.check_keys(&["min", "max"])?;
    let min = t.opt("min", |f| f.number())?;
    let max = t.opt("max", |f| {
        let max = f.number()?;
        match min {
            Some(min) if max < min => Err(f.fail(format!("max {max} is below min {min}"))),
            _ => Ok(max),
        }
    })?;
    if min.is_none() && max.is_none() {
        return Err(f.fail("a bound needs min, max or both, e.g. { max = 3 }"));
    }
    Ok((min, max))
}
