//! `[[expect]]`: bounds on outcome metrics.

use crate::doc::Kind;
use crate::error::R;
use crate::read::Field;
use crate::{Expectation, OUTCOME_METRICS, PER_RESOURCE_METRIC};

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
    Ok(tables.into_iter().flatten().flatten().collect())
}

/// One metric's bounds. `lost_changes` may also hold per-resource bounds, written
/// `lost_changes.configmaps = { max = 0 }` (a nested table in TOML) or
/// `"lost_changes.configmaps" = { max = 0 }` (one quoted key).
fn read_expectation(metric: &str, f: Field<'_>) -> R<Vec<Expectation>> {
    if let Some((PER_RESOURCE_METRIC, resource)) = metric.split_once('.') {
        check_resource(resource, &f)?;
        return Ok(vec![read_bounds(metric, &f)?]);
    }
    if !OUTCOME_METRICS.contains(&metric) {
        return Err(f.fail(format!(
            "unknown metric `{metric}`; known metrics: {}, {PER_RESOURCE_METRIC}.<resource> \
             (resources: {})",
            OUTCOME_METRICS.join(", "),
            resources().join(", ")
        )));
    }
    if metric == PER_RESOURCE_METRIC {
        if let Ok(t) = f.table() {
            if t.each(|key, _| Ok(is_bound(key)))?.contains(&false) {
                return read_per_resource(metric, &f);
            }
        }
    }
    Ok(vec![read_bounds(metric, &f)?])
}

fn is_bound(key: &str) -> bool {
    matches!(key, "min" | "max")
}

/// `lost_changes = { configmaps = { max = 0 }, secrets = 0, max = 5 }`: a bound per resource,
/// plus one on the total if `min`/`max` are there too.
fn read_per_resource(metric: &str, f: &Field<'_>) -> R<Vec<Expectation>> {
    let t = f.table()?;
    let mut out = Vec::new();
    if t.has("min") || t.has("max") {
        let (min, max) = min_max(&t)?;
        out.push(Expectation {
            metric: metric.to_string(),
            min,
            max,
        });
    }
    let per_resource = t.each(|key, f| {
        if is_bound(key) {
            return Ok(None);
        }
        check_resource(key, &f)?;
        read_bounds(&format!("{metric}.{key}"), &f).map(Some)
    })?;
    out.extend(per_resource.into_iter().flatten());
    Ok(out)
}

/// The resources `lost_changes.<resource>` may name (the Kubernetes resources the lab writes).
fn resources() -> Vec<&'static str> {
    etcdlab_kube::Resource::ALL
        .iter()
        .map(|r| r.as_str())
        .collect()
}

pub(crate) fn is_resource(name: &str) -> bool {
    resources().contains(&name)
}

fn check_resource(resource: &str, f: &Field<'_>) -> R<()> {
    if is_resource(resource) {
        return Ok(());
    }
    Err(f.fail(format!(
        "unknown resource `{resource}` in `{PER_RESOURCE_METRIC}.{resource}`; resources: {} \
         (or min, max: bounds on the total)",
        resources().join(", ")
    )))
}

/// A number (an exact value) or a table `{ min, max }`.
fn read_bounds(metric: &str, f: &Field<'_>) -> R<Expectation> {
    let (min, max) = match f.node.kind {
        Kind::Int(_) | Kind::Float(_) => {
            let exact = f.number()?;
            (Some(exact), Some(exact))
        }
        Kind::Table(_) => bounds(f)?,
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
    let (min, max) = min_max(&t)?;
    if min.is_none() && max.is_none() {
        return Err(f.fail("a bound needs min, max or both, e.g. { max = 3 }"));
    }
    Ok((min, max))
}

/// A table's `min` and `max` (either may be absent); `max` below `min` is an error on `max`.
fn min_max(t: &crate::read::Table<'_>) -> R<(Option<f64>, Option<f64>)> {
    let min = t.opt("min", |f| f.number())?;
    let max = t.opt("max", |f| {
        let max = f.number()?;
        match min {
            Some(min) if max < min => Err(f.fail(format!("max {max} is below min {min}"))),
            _ => Ok(max),
        }
    })?;
    Ok((min, max))
}
