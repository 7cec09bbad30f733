//! Export of a run's series and of our evaluator's verdicts as a `promtool test rules` unit test,
//! so that Prometheus itself can confirm the firing times.

use std::collections::BTreeMap;
use std::fmt::Write;

use etcdlab_record::MetricFamily;

use crate::compile::CompiledRule;
use crate::eval::Store;
use crate::{AlertRule, Episode, NS_PER_S};

const NS_PER_MS: u64 = 1_000_000;

/// A YAML scalar: JSON's double-quoted string is valid YAML.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A Prometheus duration for `ns` (whole milliseconds), e.g. "1m" -> "60s", "1500ms".
fn duration(ns: u64) -> String {
    let ms = ns / NS_PER_MS;
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The rules file (`groups: - name: etcdlab, rules: ...`) that [`promtool_test_file`] names.
pub fn promtool_rules_file(rules: &[AlertRule]) -> String {
    let mut out = String::from("groups:\n  - name: etcdlab\n    rules:\n");
    for r in rules {
        let _ = writeln!(out, "      - alert: {}", quote(&r.name));
        let _ = writeln!(out, "        expr: {}", quote(&r.expr));
        if r.for_ns > 0 {
            let _ = writeln!(out, "        for: {}", duration(r.for_ns));
        }
        if !r.labels.is_empty() {
            out.push_str("        labels:\n");
            for (k, v) in &r.labels {
                let _ = writeln!(out, "          {}: {}", quote(k), quote(v));
            }
        }
    }
    out
}

/// Evaluation times worth checking: every minute up to `end_ns`, and around each episode's
/// edges (the evaluation before it fired, when it fired, the last firing one, when it resolved).
pub fn check_times(episodes: &[Episode], end_ns: u64, interval_ns: u64) -> Vec<u64> {
    let mut times: Vec<u64> = (1..)
        .map(|m| m * 60 * NS_PER_S)
        .take_while(|t| *t <= end_ns)
        .collect();
    for e in episodes {
        let mut edges = vec![
            e.first_fired_ns,
            e.first_fired_ns.saturating_sub(interval_ns),
        ];
        if let Some(r) = e.resolved_ns {
            edges.extend([r, r.saturating_sub(interval_ns)]);
        }
        times.extend(edges.into_iter().filter(|t| *t > 0 && *t <= end_ns));
    }
    times.sort_unstable();
    times.dedup();
    times
}

fn series_name(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get("__name__").map(String::as_str).unwrap_or("");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A `promtool test rules` file: the series of `families` that the rules select (explicit
/// values, `_` where a sample is missing), and at each of `eval_times_ns` the alerts of each
/// rule that `episodes` (our evaluator's result) say are firing. `rules_file` is the path of
/// the rules file, relative to the test file. Samples must lie on the `interval_ns` grid
/// (promtool's input series are), else Err.
pub fn promtool_test_file(
    families: &[MetricFamily],
    rules: &[CompiledRule],
    episodes: &[Episode],
    eval_times_ns: &[u64],
    interval_ns: u64,
    rules_file: &str,
) -> Result<String, String> {
    if interval_ns == 0 || !interval_ns.is_multiple_of(NS_PER_S) {
        return Err("the interval must be a whole number of seconds".into());
    }
    let store = Store::new(families);
    let mut names: Option<Vec<String>> = Some(Vec::new());
    for r in rules {
        match (&mut names, r.metric_names()) {
            (Some(all), Some(n)) => all.extend(n),
            _ => names = None,
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "rule_files:\n  - {}", quote(rules_file));
    let interval = duration(interval_ns);
    let _ = writeln!(out, "evaluation_interval: {interval}");
    let _ = writeln!(out, "tests:\n  - interval: {interval}\n    input_series:");
    let interval_ms = (interval_ns / NS_PER_MS) as i64;
    for (labels, points) in store.all() {
        let name = labels.get("__name__").cloned().unwrap_or_default();
        if names.as_ref().is_some_and(|n| !n.contains(&name)) || points.is_empty() {
            continue;
        }
        let mut values: Vec<String> = Vec::new();
        for &(t, v) in points {
            if t % interval_ms != 0 {
                return Err(format!(
                    "{} has a sample at {t} ms, off the {interval} grid",
                    series_name(labels)
                ));
            }
            let i = (t / interval_ms) as usize;
            while values.len() < i {
                values.push("_".into());
            }
            values.push(value(v));
        }
        let _ = writeln!(out, "      - series: {}", quote(&series_name(labels)));
        let _ = writeln!(out, "        values: {}", quote(&values.join(" ")));
    }
    out.push_str("    alert_rule_test:\n");
    for &t in eval_times_ns {
        for r in rules {
            let _ = writeln!(out, "      - eval_time: {}", duration(t));
            let _ = writeln!(out, "        alertname: {}", quote(&r.rule.name));
            let mut firing: Vec<&Episode> = episodes
                .iter()
                .filter(|e| e.name == r.rule.name && e.firing_at(t))
                .collect();
            firing.sort_by(|a, b| a.labels.cmp(&b.labels));
            if firing.is_empty() {
                out.push_str("        exp_alerts: []\n");
                continue;
            }
            out.push_str("        exp_alerts:\n");
            for e in firing {
                out.push_str("          - exp_labels:\n");
                for (k, v) in &e.labels {
                    let _ = writeln!(out, "              {}: {}", quote(k), quote(v));
                }
            }
        }
    }
    Ok(out)
}
