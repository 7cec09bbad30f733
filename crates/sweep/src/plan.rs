//! The sweep plan: the grid of `--set` overrides, the seeds, the points etcd would reject, and
//! which runs a shard owns. A plan is a pure function of the scenario file and the flags, so
//! every shard of a sweep computes the same one.

use std::path::Path;

use etcdlab_scenario::{load, Scenario, ScenarioError, SweepSpec, OUTCOME_METRICS};
use serde::{Deserialize, Serialize};

/// At most this many runs in one sweep (all shards together).
const MAX_RUNS: usize = 1_000_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub path: String,
    /// `--set` texts.
    pub values: Vec<String>,
    /// Display names, one per value.
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skip {
    pub point: usize,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The scenario file as given on the command line (replay commands use it).
    pub scenario_file: String,
    pub scenario: String,
    pub description: String,
    /// `--set` overrides given to `etcdlab sweep`, applied to every run before the grid's.
    pub base_overrides: Vec<String>,
    /// Grid axes; point indexes count with the last param fastest.
    pub params: Vec<Param>,
    pub seeds: Vec<u64>,
    /// Params whose smaller values are cheaper, most important first.
    pub cost: Vec<String>,
    /// Names of the scenario's `[[expect]]`s (as the run reports name them).
    pub expectations: Vec<String>,
    /// Outcome figures recorded per run, in column order.
    pub outcome_columns: Vec<String>,
    /// Grid points that failed validation, with the message.
    pub skipped: Vec<Skip>,
}

/// Why a sweep cannot start (exit code 2).
#[derive(Debug)]
pub struct InputError(pub String);

impl Plan {
    pub fn points(&self) -> usize {
        self.params.iter().map(|p| p.values.len()).product()
    }

    /// The value index of each param at grid point `point`.
    pub fn coords(&self, point: usize) -> Vec<usize> {
        let mut rest = point;
        let mut coords = vec![0; self.params.len()];
        for (i, p) in self.params.iter().enumerate().rev() {
            coords[i] = rest % p.values.len();
            rest /= p.values.len();
        }
        coords
    }

    /// The grid point at `coords` (a value index per param).
    pub fn point_of(&self, coords: &[usize]) -> usize {
        coords
            .iter()
            .zip(&self.params)
            .fold(0, |acc, (&c, p)| acc * p.values.len() + c)
    }

    /// `PATH=VALUE` for each param at `point`.
    pub fn point_sets(&self, point: usize) -> Vec<String> {
        self.coords(point)
            .iter()
            .zip(&self.params)
            .map(|(&c, p)| format!("{}={}", p.path, p.values[c]))
            .collect()
    }

    /// "path = label, path = label".
    pub fn point_label(&self, point: usize) -> String {
        self.coords(point)
            .iter()
            .zip(&self.params)
            .map(|(&c, p)| format!("{} = {}", p.path, p.labels[c]))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every override of a run, in the order `etcdlab run` would apply them.
    pub fn run_overrides(&self, point: usize, seed: u64) -> Vec<String> {
        let mut o = self.base_overrides.clone();
        o.extend(self.point_sets(point));
        o.push(format!("seed={seed}"));
        o
    }

    pub fn is_skipped(&self, point: usize) -> bool {
        self.skipped.iter().any(|s| s.point == point)
    }

    /// The `etcdlab run` command that replays one run.
    pub fn replay_command(&self, point: usize, seed: u64) -> String {
        let mut cmd = format!(
            "etcdlab run {} --seed {seed}",
            shell_quote(&self.scenario_file)
        );
        for set in self.base_overrides.iter().chain(&self.point_sets(point)) {
            cmd.push_str(" --set ");
            cmd.push_str(&shell_quote(set));
        }
        cmd
    }

    /// The `etcdlab sweep` command that reproduces the whole plan without `[sweep]`.
    pub fn sweep_command(&self) -> String {
        let mut cmd = format!("etcdlab sweep {}", shell_quote(&self.scenario_file));
        for set in &self.base_overrides {
            cmd.push_str(" --set ");
            cmd.push_str(&shell_quote(set));
        }
        for p in &self.params {
            let param = format!("{}={}", p.path, p.values.join(","));
            cmd.push_str(" --param ");
            cmd.push_str(&shell_quote(&param));
        }
        cmd.push_str(&format!(" --seeds {}", self.seeds.len()));
        cmd
    }

    /// Run indexes (point x seeds + seed index) that shard `index` of `count` (1-based) owns,
    /// leaving out skipped points. Runs are dealt round-robin so shards get similar mixes.
    pub fn shard_runs(&self, shard: Option<(usize, usize)>) -> Vec<(usize, u64)> {
        let n = self.seeds.len();
        let (index, count) = shard.unwrap_or((1, 1));
        (0..self.points() * n)
            .filter(|k| k % count == index - 1)
            .map(|k| (k / n, self.seeds[k % n]))
            .filter(|(point, _)| !self.is_skipped(*point))
            .collect()
    }
}

/// What the command line asked for.
pub struct Request<'a> {
    pub scenario: &'a Path,
    pub sets: &'a [String],
    pub params: &'a [String],
    pub seeds: Option<u32>,
}

/// Builds the plan: loads the scenario, merges `[sweep]` with the flags, and loads every grid
/// point once to find the ones etcd would reject.
pub fn build(req: &Request<'_>) -> Result<Plan, InputError> {
    let base = load(req.scenario, req.sets).map_err(|e| InputError(format!("error: {e}")))?;
    let spec = base.sweep.clone();
    let mut params: Vec<Param> = spec
        .iter()
        .flat_map(|s| &s.params)
        .map(|p| Param {
            path: p.path.clone(),
            values: p.values.clone(),
            labels: p.labels.clone(),
        })
        .collect();
    for text in req.params {
        let Some((path, values)) = text.split_once('=') else {
            return Err(InputError(format!(
                "error: --param {text:?}: expected PATH=VALUES, e.g. cluster.election_timeout_ms=500,1000 or 500..5000:500"
            )));
        };
        let path = path.trim().to_string();
        let values = SweepSpec::parse_values(values)
            .map_err(|e| InputError(format!("error: --param {path}: {e}")))?;
        let param = Param {
            path: path.clone(),
            labels: values.clone(),
            values,
        };
        match params.iter_mut().find(|p| p.path == path) {
            Some(p) => *p = param,
            None => params.push(param),
        }
    }
    if params.is_empty() {
        return Err(InputError(format!(
            "error: {}: nothing to sweep: give --param PATH=VALUES or declare [sweep] in the file",
            req.scenario.display()
        )));
    }
    let n_seeds = req
        .seeds
        .or(spec.as_ref().and_then(|s| s.seeds))
        .unwrap_or(1);
    if n_seeds == 0 {
        return Err(InputError("error: --seeds must be at least 1".into()));
    }
    let seeds: Vec<u64> = (0..n_seeds as u64).map(|i| base.seed + i).collect();
    let cost = {
        let declared: Vec<String> = spec
            .iter()
            .flat_map(|s| &s.cost)
            .filter(|c| params.iter().any(|p| &p.path == *c))
            .cloned()
            .collect();
        if declared.is_empty() {
            params.iter().map(|p| p.path.clone()).collect()
        } else {
            declared
        }
    };
    let mut plan = Plan {
        scenario_file: req.scenario.display().to_string(),
        scenario: base.name.clone(),
        description: base.description.clone(),
        base_overrides: req.sets.to_vec(),
        params,
        seeds,
        cost,
        expectations: expectation_names(&base),
        outcome_columns: OUTCOME_METRICS.iter().map(|s| s.to_string()).collect(),
        skipped: Vec::new(),
    };
    let runs = plan.points().saturating_mul(plan.seeds.len());
    if runs > MAX_RUNS {
        return Err(InputError(format!(
            "error: the sweep has {runs} runs; at most {MAX_RUNS} are allowed"
        )));
    }
    for point in 0..plan.points() {
        let mut overrides = plan.base_overrides.clone();
        overrides.extend(plan.point_sets(point));
        if let Err(e) = load(req.scenario, &overrides) {
            if is_path_error(&e) {
                return Err(InputError(format!(
                    "error: {e} (a --param or [sweep] path must be a scenario key, as for --set)"
                )));
            }
            plan.skipped.push(Skip {
                point,
                reason: e.to_string(),
            });
        }
    }
    Ok(plan)
}

/// Errors about the path itself (a key that does not exist), as opposed to a value etcd rejects.
fn is_path_error(e: &ScenarioError) -> bool {
    let m = &e.message;
    m.starts_with("unknown key")
        || (e.file == "--set"
            && [
                "not a table",
                "past the end",
                "numeric index",
                "does not exist",
                "empty part",
            ]
            .iter()
            .any(|s| m.contains(s)))
}

/// The names `[[expect]]`s get in a run's summary ("leader_changes <= 0").
fn expectation_names(sc: &Scenario) -> Vec<String> {
    sc.expect
        .iter()
        .map(|e| match (e.min, e.max) {
            (Some(a), Some(b)) if a == b => format!("{} == {a}", e.metric),
            (Some(a), Some(b)) => format!("{} in [{a}, {b}]", e.metric),
            (Some(a), None) => format!("{} >= {a}", e.metric),
            (None, Some(b)) => format!("{} <= {b}", e.metric),
            (None, None) => e.metric.clone(),
        })
        .collect()
}

/// `text` as one shell word.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,:/=+@%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// Parses `--shard I/N` (1-based).
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let err = || format!("--shard {text:?}: expected I/N with 1 <= I <= N, e.g. 2/4");
    let (i, n) = text.split_once('/').ok_or_else(err)?;
    let (i, n) = (
        i.trim().parse::<usize>().map_err(|_| err())?,
        n.trim().parse::<usize>().map_err(|_| err())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(err());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(sizes: &[usize], seeds: u64) -> Plan {
        Plan {
            scenario_file: "s.toml".into(),
            scenario: "s".into(),
            description: String::new(),
            base_overrides: vec![],
            params: sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| Param {
                    path: format!("p{i}"),
                    values: (0..n).map(|v| v.to_string()).collect(),
                    labels: (0..n).map(|v| v.to_string()).collect(),
                })
                .collect(),
            seeds: (1..=seeds).collect(),
            cost: vec![],
            expectations: vec![],
            outcome_columns: vec![],
            skipped: vec![Skip {
                point: 1,
                reason: "x".into(),
            }],
        }
    }

    #[test]
    fn shards_partition_the_runs() {
        let p = plan(&[3, 2], 4);
        let all = p.shard_runs(None);
        assert_eq!(all.len(), 5 * 4);
        let mut merged: Vec<_> = (1..=3).flat_map(|i| p.shard_runs(Some((i, 3)))).collect();
        merged.sort();
        assert_eq!(merged, all);
        assert_eq!(p.coords(5), vec![2, 1]);
        assert_eq!(p.point_sets(3), vec!["p0=1", "p1=1"]);
    }

    #[test]
    fn quoting_and_shards() {
        assert_eq!(shell_quote("a.b=3"), "a.b=3");
        assert_eq!(shell_quote("x={ a = 1 }"), "'x={ a = 1 }'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("0/3").is_err() && parse_shard("4/3").is_err());
    }
}
