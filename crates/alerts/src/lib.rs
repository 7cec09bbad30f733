//! Prometheus alert rules evaluated over the series a run recorded.
//!
//! Rules are parsed with `promql-parser` and compiled into a small expression tree
//! ([`CompiledRule`]); [`evaluate`] then replays Prometheus' rule evaluation every
//! `interval_ns` of simulated time: instant selectors with the 5-minute lookback, range
//! selectors, `rate`/`increase` with Prometheus' extrapolation, `histogram_quantile`, arithmetic,
//! comparisons, aggregations, and the pending/firing `for` state machine of an alerting rule.
//! The semantics follow Prometheus 2.42 (the `promtool` that Debian ships and that the tests
//! compare against); see `docs/alerts.md`.
//!
//! Everything is deterministic: series and alerts live in `BTreeMap`s keyed by their labels.

use std::collections::BTreeMap;

use etcdlab_record::{AlertEpisode, MetricFamily};

mod compile;
mod eval;
mod promtool;

pub use compile::CompiledRule;
pub use promtool::{check_times, promtool_rules_file, promtool_test_file};

/// Nanoseconds per second.
const NS_PER_S: u64 = 1_000_000_000;

/// Prometheus' default lookback delta for instant vector selectors: 5 minutes.
pub const LOOKBACK_NS: u64 = 300 * NS_PER_S;

/// Prometheus' evaluation interval used by the lab: 15 s (the scrape interval).
pub const DEFAULT_INTERVAL_NS: u64 = 15 * NS_PER_S;

/// One alerting rule, as in a Prometheus rules file.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRule {
    /// The `alert:` name.
    pub name: String,
    /// The PromQL expression; every series it returns is an alert.
    pub expr: String,
    /// `for:` in nanoseconds (0: fire at the first evaluation that returns the series).
    pub for_ns: u64,
    /// Extra labels of the alert (e.g. `severity`), in file order.
    pub labels: Vec<(String, String)>,
}

impl AlertRule {
    /// A rule with a `severity` label.
    pub fn new(name: &str, expr: &str, for_ns: u64, severity: &str) -> AlertRule {
        AlertRule {
            name: name.into(),
            expr: expr.into(),
            for_ns,
            labels: vec![("severity".into(), severity.into())],
        }
    }
}

/// The alert rules of the etcd field guide (etcd-field-notes.md), with their severities.
///
/// `EtcdDatabaseSizeHigh` reads `etcd_mvcc_db_total_size_in_bytes`, which the simulator does not
/// export yet: it evaluates to an empty vector and never fires.
pub fn builtin_rules() -> Vec<AlertRule> {
    vec![
        AlertRule::new(
            "EtcdNoLeader",
            "etcd_server_has_leader == 0",
            60 * NS_PER_S,
            "critical",
        ),
        AlertRule::new(
            "EtcdHighNumberOfLeaderChanges",
            "increase(etcd_server_leader_changes_seen_total[1h]) > 3",
            0,
            "warning",
        ),
        AlertRule::new(
            "EtcdDatabaseSizeHigh",
            "etcd_mvcc_db_total_size_in_bytes / 1024^3 > 6",
            300 * NS_PER_S,
            "warning",
        ),
        AlertRule::new(
            "EtcdDiskFsyncSlow",
            "histogram_quantile(0.99, rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m])) > 0.01",
            300 * NS_PER_S,
            "warning",
        ),
    ]
}

/// The WAL fsync p99 of the last 5 minutes as the guide's dashboard and `EtcdDiskFsyncSlow` read
/// it (seconds), one series per member.
pub const WAL_FSYNC_P99_5M_EXPR: &str =
    "histogram_quantile(0.99, rate(etcd_disk_wal_fsync_duration_seconds_bucket[5m]))";

/// One series of an expression evaluated over time: its labels (sorted, without `__name__`) and
/// the (time ns, value) of every evaluation that returned it.
pub type EvaluatedSeries = (Vec<(String, String)>, Vec<(u64, f64)>);

/// Evaluates the PromQL instant expression `expr` at each of `times` (ascending) over the run's
/// series, as a Prometheus graph panel would, with the same evaluator as the alert rules. NaN
/// results (e.g. `histogram_quantile` over a window without observations) are left out, as a
/// graph leaves a gap. Series are sorted by labels.
pub fn evaluate_series(
    families: &[MetricFamily],
    expr: &str,
    times: impl Iterator<Item = u64>,
) -> Result<Vec<EvaluatedSeries>, String> {
    let rule = parse_rule(&AlertRule {
        name: "expression".into(),
        expr: expr.into(),
        for_ns: 0,
        labels: Vec::new(),
    })?;
    let store = eval::Store::new(families);
    let mut series: BTreeMap<Labels, Vec<(u64, f64)>> = BTreeMap::new();
    for t_ns in times {
        for (mut labels, value) in rule.eval(&store, t_ns)? {
            if value.is_nan() {
                continue;
            }
            labels.remove("__name__");
            series.entry(labels).or_default().push((t_ns, value));
        }
    }
    Ok(series
        .into_iter()
        .map(|(labels, points)| (labels.into_iter().collect(), points))
        .collect())
}

/// Parses and checks `rule.expr`. The error names the rule and what is not supported.
pub fn parse_rule(rule: &AlertRule) -> Result<CompiledRule, String> {
    compile::compile(rule).map_err(|e| format!("alert rule {}: {e}", rule.name))
}

/// One firing episode with the alert's full label set (the rule's labels included,
/// `alertname` not).
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub name: String,
    /// Sorted by label name.
    pub labels: Vec<(String, String)>,
    /// The evaluation at which the alert became firing.
    pub first_fired_ns: u64,
    /// The first evaluation at which the expression no longer returned the alert's series;
    /// None while still firing at the last evaluation.
    pub resolved_ns: Option<u64>,
}

impl Episode {
    /// The value of label `name`, if the alert has it.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when the alert is firing at the evaluation at `t_ns`.
    pub fn firing_at(&self, t_ns: u64) -> bool {
        self.first_fired_ns <= t_ns && self.resolved_ns.is_none_or(|r| t_ns < r)
    }
}

/// Evaluates `rules` at t = `interval_ns`, 2·`interval_ns`, … ≤ `end_ns` over the samples of
/// `families` and returns one entry per firing episode, sorted by (first firing, name, member).
pub fn evaluate(
    families: &[MetricFamily],
    rules: &[CompiledRule],
    end_ns: u64,
    interval_ns: u64,
) -> Vec<AlertEpisode> {
    summarize(evaluate_detailed(families, rules, end_ns, interval_ns))
}

/// Episodes as the report lists them (first firing and resolution in seconds).
pub fn summarize(episodes: Vec<Episode>) -> Vec<AlertEpisode> {
    episodes
        .into_iter()
        .map(|e| AlertEpisode {
            member: e.label("member").map(str::to_string),
            name: e.name,
            first_fired_s: e.first_fired_ns as f64 / NS_PER_S as f64,
            resolved_s: e.resolved_ns.map(|r| r as f64 / NS_PER_S as f64),
        })
        .collect()
}

/// Same as [`evaluate`], keeping every label of each alert.
pub fn evaluate_detailed(
    families: &[MetricFamily],
    rules: &[CompiledRule],
    end_ns: u64,
    interval_ns: u64,
) -> Vec<Episode> {
    assert!(interval_ns > 0, "the evaluation interval must be > 0");
    let times = (1..=end_ns / interval_ns).map(|i| i * interval_ns);
    evaluate_at(families, rules, times)
}

/// Evaluates `rules` at each of `times` (ascending), e.g. a coarse interval over fast-forwarded
/// history and the scrape interval afterwards.
pub fn evaluate_at(
    families: &[MetricFamily],
    rules: &[CompiledRule],
    times: impl Iterator<Item = u64>,
) -> Vec<Episode> {
    let store = eval::Store::new(families);
    let mut states: Vec<RuleState> = rules.iter().map(|_| RuleState::default()).collect();
    let mut episodes = Vec::new();
    for t_ns in times {
        for (rule, state) in rules.iter().zip(&mut states) {
            // A failed evaluation (e.g. many-to-many matching) leaves the state as it was, as in
            // Prometheus.
            if let Ok(vector) = rule.eval(&store, t_ns) {
                state.step(rule, vector, t_ns, &mut episodes);
            }
        }
    }
    episodes.sort_by(|a, b| {
        (a.first_fired_ns, &a.name, a.label("member"), &a.labels).cmp(&(
            b.first_fired_ns,
            &b.name,
            b.label("member"),
            &b.labels,
        ))
    });
    episodes
}

type Labels = BTreeMap<String, String>;

/// An active (pending or firing) alert of one rule.
struct Active {
    active_at_ns: u64,
    /// Index into the episodes once firing.
    episode: Option<usize>,
}

#[derive(Default)]
struct RuleState {
    active: BTreeMap<Labels, Active>,
}

impl RuleState {
    /// Prometheus' `AlertingRule.Eval` for one evaluation.
    fn step(
        &mut self,
        rule: &CompiledRule,
        vector: Vec<(Labels, f64)>,
        t_ns: u64,
        episodes: &mut Vec<Episode>,
    ) {
        let mut present: BTreeMap<Labels, ()> = BTreeMap::new();
        for (mut labels, _) in vector {
            labels.remove("__name__");
            for (k, v) in &rule.rule.labels {
                labels.insert(k.clone(), v.clone());
            }
            labels.remove("alertname");
            if present.insert(labels, ()).is_some() {
                // "vector contains metrics with the same labelset after applying alert labels":
                // Prometheus fails the evaluation and keeps the state.
                return;
            }
        }
        let gone: Vec<Labels> = self
            .active
            .keys()
            .filter(|k| !present.contains_key(*k))
            .cloned()
            .collect();
        for labels in gone {
            if let Some(Active {
                episode: Some(i), ..
            }) = self.active.remove(&labels)
            {
                episodes[i].resolved_ns = Some(t_ns);
            }
        }
        for labels in present.into_keys() {
            self.active.entry(labels).or_insert(Active {
                active_at_ns: t_ns,
                episode: None,
            });
        }
        for (labels, a) in &mut self.active {
            if a.episode.is_none() && t_ns - a.active_at_ns >= rule.rule.for_ns {
                a.episode = Some(episodes.len());
                episodes.push(Episode {
                    name: rule.rule.name.clone(),
                    labels: labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    first_fired_ns: t_ns,
                    resolved_ns: None,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
