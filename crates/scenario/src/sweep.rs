//! `[sweep]`: a parameter grid and seed count declared in the scenario.
//!
//! ```toml
//! [sweep]
//! seeds = 10
//! params = { "cluster.election_timeout_ms" = [500, 1000, 2000], "cluster.heartbeat_interval_ms" = "100..400:100" }
//! labels = { "cluster.election_timeout_ms" = ["0.5 s", "1 s", "2 s"] }   # optional axis labels
//! cost = ["cluster.election_timeout_ms"]                                   # optional
//! ```
//!
//! Each value is turned into the text `etcdlab run --set PATH=VALUE` takes, so a grid point is
//! exactly a list of `--set` overrides. Paths are checked when the sweep runs (an unknown path
//! is an error there, naming it), values by loading each point.

use crate::doc::{parse_value, Kind, Node};
use crate::error::R;
use crate::read::Field;

/// A sweep as declared in the scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepSpec {
    /// The axes in file order; the first is the heatmaps' x axis, the second their y axis.
    pub params: Vec<SweepParam>,
    /// Seeds per grid point (`seeds`); `None` leaves it to the command line (default 1).
    pub seeds: Option<u32>,
    /// Params whose smaller values are cheaper, most important first (`cost`); empty: all
    /// params in order.
    pub cost: Vec<String>,
}

/// One axis of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepParam {
    /// A dotted path, as `--set` takes it.
    pub path: String,
    /// Each value as `--set` text (`500`, `"3s"`, `{ dist = "constant", value = 1 }`).
    pub values: Vec<String>,
    /// Display names of the values (axis labels); by default the values themselves.
    pub labels: Vec<String>,
}

pub(crate) fn read_sweep(f: Field<'_>) -> R<SweepSpec> {
    let t = f.table()?;
    t.check_keys(&["params", "seeds", "labels", "cost"])?;
    let seeds = t.opt("seeds", |f| {
        f.u64_in(1..=100_000, "seeds per grid point must be 1..=100000")
            .map(|n| n as u32)
    })?;
    let params_field = t.req("params", Ok)?;
    let params_table = params_field.table()?;
    if params_table.is_empty() {
        return Err(params_field.fail(
            "no parameters; add e.g. params = { \"cluster.election_timeout_ms\" = [500, 1000] }",
        ));
    }
    let mut params = params_table.each(|path, f| {
        let values = read_values(&f)?;
        Ok(SweepParam {
            path: path.to_string(),
            labels: values.clone(),
            values,
        })
    })?;
    if let Some(labels) = t.get("labels") {
        let lt = labels.table()?;
        lt.each(|path, f| {
            let Some(param) = params.iter_mut().find(|p| p.path == path) else {
                return Err(f.fail(format!("`{path}` is not one of the swept params")));
            };
            let names = f.each(|f| f.str().map(String::from))?;
            if names.len() != param.values.len() {
                return Err(f.fail(format!(
                    "{} labels for {} values",
                    names.len(),
                    param.values.len()
                )));
            }
            param.labels = names;
            Ok(())
        })?;
    }
    let cost = t
        .opt("cost", |f| {
            f.each(|f| {
                let path = f.str()?;
                if !params.iter().any(|p| p.path == path) {
                    return Err(f.fail(format!("`{path}` is not one of the swept params")));
                }
                Ok(path.to_string())
            })
        })?
        .unwrap_or_default();
    Ok(SweepSpec {
        params,
        seeds,
        cost,
    })
}

/// An array of values, or a range string "A..B:STEP".
pub(crate) fn read_values(f: &Field<'_>) -> R<Vec<String>> {
    let values = match &f.node.kind {
        Kind::Str(s) => parse_range(s)
            .ok_or_else(|| {
                f.fail(format!(
                    "{s:?} is not a range; write \"A..B:STEP\" (inclusive) or an array of values"
                ))
            })?
            .map_err(|e| f.fail(e))?,
        Kind::Array(_) => f.each(|f| Ok(render(f.node)))?,
        _ => return Err(f.expected("an array of values or a range string \"A..B:STEP\"")),
    };
    if values.is_empty() {
        return Err(f.fail("no values"));
    }
    Ok(values)
}

impl SweepSpec {
    /// Values of a `--param PATH=VALUES` flag: a range `A..B:STEP` (inclusive) or a
    /// comma-separated list of `--set` values (commas inside `{}`, `[]` or quotes don't split).
    pub fn parse_values(text: &str) -> Result<Vec<String>, String> {
        parse_param_values(text)
    }
}

fn parse_param_values(text: &str) -> Result<Vec<String>, String> {
    if let Some(range) = parse_range(text.trim()) {
        return range;
    }
    let mut values = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                values.push(text[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    values.push(text[start..].trim().to_string());
    if values.iter().any(|v| v.is_empty()) {
        return Err(format!(
            "empty value in {text:?}; write e.g. 50,100,200 or 500..5000:500"
        ));
    }
    Ok(values)
}

/// `Some` if `text` looks like a range `A..B:STEP`: its values, or why it is not valid.
fn parse_range(text: &str) -> Option<Result<Vec<String>, String>> {
    let (from, rest) = text.split_once("..")?;
    let (from, rest) = (from.trim(), rest.trim());
    from.parse::<f64>().ok()?;
    Some(range_values(from, rest))
}

fn range_values(from: &str, rest: &str) -> Result<Vec<String>, String> {
    let Some((to, step)) = rest.split_once(':') else {
        return Err(format!(
            "range {from}..{rest} needs a step: write {from}..{rest}:STEP"
        ));
    };
    let (to, step) = (to.trim(), step.trim());
    let ints = [from, to, step].iter().all(|s| s.parse::<i64>().is_ok());
    if ints {
        let (a, b, s) = (
            from.parse::<i64>().unwrap(),
            to.parse::<i64>().unwrap(),
            step.parse::<i64>().unwrap(),
        );
        if s <= 0 {
            return Err(format!("range step {s} must be > 0"));
        }
        if b < a {
            return Err(format!("range {a}..{b}: the end is below the start"));
        }
        if (b - a) / s >= 10_000 {
            return Err(format!("range {a}..{b}:{s} has more than 10000 values"));
        }
        return Ok((0..=(b - a) / s).map(|i| (a + i * s).to_string()).collect());
    }
    let parse = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("{s:?} in a range is not a number"))
    };
    let (a, b, s) = (parse(from)?, parse(to)?, parse(step)?);
    if s <= 0.0 {
        return Err(format!("range step {s} must be > 0"));
    }
    if b < a {
        return Err(format!("range {a}..{b}: the end is below the start"));
    }
    let n = ((b - a) / s + 1e-9).floor();
    if n >= 10_000.0 {
        return Err(format!("range {a}..{b}:{s} has more than 10000 values"));
    }
    // Round to 9 decimals so that 0.1 steps give 0.3, not 0.30000000000000004.
    Ok((0..=n as i64)
        .map(|i| {
            let v = ((a + i as f64 * s) * 1e9).round() / 1e9;
            format_float(v)
        })
        .collect())
}

fn format_float(v: f64) -> String {
    let s = format!("{v}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// A value as `--set` text: TOML, except strings that `--set` would read the same unquoted
/// (`3s`, `m2`), which stay bare so that replay commands are short.
fn render(node: &Node) -> String {
    match &node.kind {
        Kind::Str(s) => match parse_value(s) {
            None if !s.is_empty() && s.trim() == s && !s.contains(',') => s.clone(),
            _ => quote(s),
        },
        _ => render_toml(node),
    }
}

fn render_toml(node: &Node) -> String {
    match &node.kind {
        Kind::Str(s) => quote(s),
        Kind::Int(i) => i.to_string(),
        Kind::Float(f) => format_float(*f),
        Kind::Bool(b) => b.to_string(),
        Kind::Datetime(d) => d.clone(),
        Kind::Array(items) => {
            let items: Vec<String> = items.iter().map(render_toml).collect();
            format!("[{}]", items.join(", "))
        }
        Kind::Table(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), render_toml(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        quote(k)
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_str;

    fn spec(sweep: &str) -> Result<SweepSpec, crate::ScenarioError> {
        let src = format!("duration = \"10s\"\n[sweep]\n{sweep}\n");
        parse_str(&src, "s.toml", &[]).map(|s| s.sweep.unwrap())
    }

    #[test]
    fn ranges_and_lists() {
        assert_eq!(
            parse_param_values("500..2000:500").unwrap(),
            ["500", "1000", "1500", "2000"]
        );
        assert_eq!(
            parse_param_values("0.1..0.3:0.1").unwrap(),
            ["0.1", "0.2", "0.3"]
        );
        assert_eq!(
            parse_param_values("50, 100,200").unwrap(),
            ["50", "100", "200"]
        );
        assert_eq!(
            parse_param_values("{ dist = \"constant\", value = 1 },3s").unwrap(),
            ["{ dist = \"constant\", value = 1 }", "3s"]
        );
        assert!(parse_param_values("1..5")
            .unwrap_err()
            .contains("needs a step"));
        assert!(parse_param_values("5..1:1").unwrap_err().contains("below"));
        assert!(parse_param_values("1,,2").is_err());
    }

    #[test]
    fn reads_a_declared_sweep() {
        let s = spec(
            "seeds = 4\nparams = { \"cluster.size\" = [1, 3], \"duration\" = [\"5s\", \"true\"], \"cluster.heartbeat_interval_ms\" = \"100..300:100\" }\nlabels = { \"cluster.size\" = [\"one\", \"three\"] }\ncost = [\"cluster.size\"]",
        )
        .unwrap();
        assert_eq!(s.seeds, Some(4));
        assert_eq!(s.params[0].values, ["1", "3"]);
        assert_eq!(s.params[0].labels, ["one", "three"]);
        assert_eq!(s.params[1].values, ["5s", "\"true\""]);
        assert_eq!(s.params[2].values, ["100", "200", "300"]);
        assert_eq!(s.cost, ["cluster.size"]);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = spec("seeds = 0\nparams = { a = [1] }").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert_eq!(e.field.as_deref(), Some("sweep.seeds"));
        let e = spec("params = { a = 3 }").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sweep.params.a"));
        let e = spec("params = { a = \"1..3\" }").unwrap_err();
        assert!(e.message.contains("needs a step"), "{e}");
        let e = spec("params = { a = [1] }\nlabels = { b = [\"x\"] }").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("sweep.labels.b"));
        let e = spec("params = { a = [1] }\nseed = 3").unwrap_err();
        assert!(e.message.contains("unknown key `seed`"), "{e}");
        let e = spec("seeds = 3").unwrap_err();
        assert!(e.message.contains("required key `params`"), "{e}");
    }

    #[test]
    fn renders_tables_as_inline_toml() {
        let s = spec("params = { \"network.one_way_latency_ms\" = [{ dist = \"constant\", value = 0.5 }, 2.5] }").unwrap();
        assert_eq!(
            s.params[0].values,
            ["{ dist = \"constant\", value = 0.5 }", "2.5"]
        );
    }
}
