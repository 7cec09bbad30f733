//! Distributions in scenario files: a plain number or a table with a `dist` key.

use crate::doc::Kind;
use crate::error::R;
use crate::read::{Field, Table};
use crate::Dist;

const KINDS: &[&str] = &["constant", "uniform", "normal", "lognormal", "pareto_tail"];

/// Reads a distribution: `3`, `{dist="constant", value}`, `{dist="uniform", min, max}`,
/// `{dist="normal", mean, stddev}`, `{dist="lognormal", median, sigma}` or
/// `{dist="pareto_tail", base, tail_prob, tail_scale, tail_alpha}`.
pub(crate) fn read_dist(field: Field<'_>) -> R<Dist> {
    let shape = "a number or a distribution table like { dist = \"constant\", value = 1 }";
    if matches!(field.node.kind, Kind::Int(_) | Kind::Float(_)) {
        return Ok(Dist::constant(field.non_negative()?));
    }
    if !matches!(field.node.kind, Kind::Table(_)) {
        return Err(field.expected(shape));
    }
    let t = field.table()?;
    let Some(kind_field) = t.get("dist") else {
        return Err(t.missing("dist", &format!(" (one of: {})", KINDS.join(", "))));
    };
    match kind_field.str()? {
        "constant" => constant(&t),
        "uniform" => uniform(&t),
        "normal" => normal(&t),
        "lognormal" => lognormal(&t),
        "pareto_tail" => pareto_tail(&t),
        other => Err(kind_field.fail(format!(
            "unknown distribution {other:?}; use one of: {}",
            KINDS.join(", ")
        ))),
    }
}

fn constant(t: &Table<'_>) -> R<Dist> {
    t.check_keys_for(&["dist", "value"], "for dist \"constant\"")?;
    Ok(Dist::Constant {
        value: t.req("value", |f| f.non_negative())?,
    })
}

fn uniform(t: &Table<'_>) -> R<Dist> {
    t.check_keys_for(&["dist", "min", "max"], "for dist \"uniform\"")?;
    let min = t.req("min", |f| f.non_negative())?;
    let max = t.req("max", |f| {
        let max = f.non_negative()?;
        if max < min {
            return Err(f.fail(format!("max {max} is below min {min}")));
        }
        Ok(max)
    })?;
    Ok(Dist::Uniform { min, max })
}

fn normal(t: &Table<'_>) -> R<Dist> {
    t.check_keys_for(&["dist", "mean", "stddev"], "for dist \"normal\"")?;
    let mean = t.req("mean", |f| f.non_negative())?;
    let stddev = t.req("stddev", |f| f.non_negative())?;
    Ok(Dist::Normal { mean, stddev })
}

fn lognormal(t: &Table<'_>) -> R<Dist> {
    t.check_keys_for(&["dist", "median", "sigma"], "for dist \"lognormal\"")?;
    let median = t.req("median", |f| f.positive())?;
    let sigma = t.req("sigma", |f| f.non_negative())?;
    Ok(Dist::LogNormal { median, sigma })
}

fn pareto_tail(t: &Table<'_>) -> R<Dist> {
    let keys = [
        "dist",
        "base",
        "tail_prob",
        "tail_scale",
        "tail_alpha",
        "tail_max",
    ];
    t.check_keys_for(&keys, "for dist \"pareto_tail\"")?;
    let base = t.req("base", read_dist)?;
    let tail_prob = t.req("tail_prob", |f| f.probability())?;
    let tail_scale = t.req("tail_scale", |f| f.positive())?;
    let tail_alpha = t.req("tail_alpha", |f| f.positive())?;
    let tail_max = t.opt("tail_max", |f| f.positive())?;
    if let Some(max) = tail_max.filter(|m| *m < tail_scale) {
        let field = t.get("tail_max").expect("tail_max was read");
        return Err(field.fail(format!("{max} is below tail_scale ({tail_scale})")));
    }
    Ok(Dist::ParetoTail {
        base: Box::new(base),
        tail_prob,
        tail_scale,
        tail_alpha,
        tail_max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse_document;

    fn dist(src: &str) -> Result<Dist, String> {
        let doc = parse_document(&format!("d = {src}")).unwrap();
        let root = Table::root(&doc).unwrap();
        root.req("d", read_dist)
            .map_err(|e| format!("{:?}: {}", e.field, e.message))
    }

    #[test]
    fn each_kind_parses() {
        assert_eq!(dist("3"), Ok(Dist::constant(3.0)));
        assert_eq!(dist("0.5"), Ok(Dist::constant(0.5)));
        assert_eq!(
            dist("{ dist = \"constant\", value = 1 }"),
            Ok(Dist::constant(1.0))
        );
        assert_eq!(
            dist("{ dist = \"uniform\", min = 1, max = 2.5 }"),
            Ok(Dist::Uniform { min: 1.0, max: 2.5 })
        );
        assert_eq!(
            dist("{ dist = \"normal\", mean = 0.25, stddev = 0.05 }"),
            Ok(Dist::Normal {
                mean: 0.25,
                stddev: 0.05
            })
        );
        assert_eq!(
            dist("{ dist = \"lognormal\", median = 0.5, sigma = 0.4 }"),
            Ok(Dist::LogNormal {
                median: 0.5,
                sigma: 0.4
            })
        );
        let pareto = "{ dist = \"pareto_tail\", base = { dist = \"lognormal\", median = 1, \
                      sigma = 0.5 }, tail_prob = 0.001, tail_scale = 100, tail_alpha = 1.5 }";
        assert_eq!(
            dist(pareto),
            Ok(Dist::ParetoTail {
                base: Box::new(Dist::LogNormal {
                    median: 1.0,
                    sigma: 0.5
                }),
                tail_prob: 0.001,
                tail_scale: 100.0,
                tail_alpha: 1.5,
                tail_max: None,
            })
        );
    }

    #[test]
    fn bad_values_are_rejected_with_the_field() {
        let cases = [
            ("-1", "d", "negative"),
            ("nan", "d", "finite"),
            ("inf", "d", "finite"),
            ("\"fast\"", "d", "expected a number or a distribution"),
            ("{ value = 1 }", "d.dist", "one of: constant"),
            ("{ dist = \"gamma\" }", "d.dist", "unknown distribution"),
            (
                "{ dist = \"uniform\", min = 2, max = 1 }",
                "d.max",
                "below min",
            ),
            (
                "{ dist = \"normal\", mean = -1, stddev = 1 }",
                "d.mean",
                "negative",
            ),
            (
                "{ dist = \"lognormal\", median = 0, sigma = 1 }",
                "d.median",
                "> 0",
            ),
            (
                "{ dist = \"lognormal\", median = 1, sigma = -1 }",
                "d.sigma",
                "negative",
            ),
            (
                "{ dist = \"constant\", value = 1, mean = 2 }",
                "d.mean",
                "unknown key",
            ),
            ("{ dist = \"constant\" }", "d.value", "required"),
        ];
        for (src, field, text) in cases {
            let e = dist(src).unwrap_err();
            assert!(
                e.contains(&format!("Some(\"{field}\")")) && e.contains(text),
                "{src}: {e}"
            );
        }
        let bad_tail = "{ dist = \"pareto_tail\", base = 1, tail_prob = 2, tail_scale = 1, \
                        tail_alpha = 1 }";
        assert!(dist(bad_tail).unwrap_err().contains("probability"));
    }
}
