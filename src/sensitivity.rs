//! `[sensitivity]`: extra runs of the same scenario with one input varied, summarised as a
//! table in the main run's report. Each cell is exactly `etcdlab run FILE --seed S --set
//! PARAM=VALUE` (plus the run's own overrides), so any of them can be replayed.

use etcdlab_scenario::SensitivitySpec;
use std::path::Path;

/// Why the sensitivity table could not be made.
#[derive(Clone, Debug)]
pub enum Failure {
    /// A value made the scenario invalid (exit 2).
    InvalidInput(String),
    /// A run broke an invariant (exit 3).
    Invariant(String),
}

/// The figures one run contributes.
#[derive(Clone, Copy)]
struct Cell {
    leader_changes_per_hour: f64,
    fsync_p50_ms: Option<f64>,
    write_p99_ms: Option<f64>,
    writes_failed: u64,
}

/// Run every (value, seed) pair on up to `jobs` threads and return the Markdown table.
pub fn table(
    path: &Path,
    overrides: &[String],
    base_seed: u64,
    spec: &SensitivitySpec,
    jobs: usize,
) -> Result<String, Failure> {
    let runs: Vec<(usize, u64)> = (0..spec.values.len())
        .flat_map(|v| (0..u64::from(spec.seeds)).map(move |s| (v, base_seed + s)))
        .collect();
    let cells: Vec<Cell> = crate::parallel::map(&runs, jobs, |&(v, seed)| {
        run_one(path, overrides, spec, &spec.values[v], seed)
    })
    .into_iter()
    .collect::<Result<_, _>>()?;
    Ok(render(spec, &cells))
}

fn run_one(
    path: &Path,
    overrides: &[String],
    spec: &SensitivitySpec,
    value: &str,
    seed: u64,
) -> Result<Cell, Failure> {
    let mut sets = overrides.to_vec();
    sets.push(format!("{}={value}", spec.param));
    sets.push(format!("seed={seed}"));
    let sc = etcdlab_scenario::load(path, &sets)
        .map_err(|e| Failure::InvalidInput(format!("sensitivity {}={value}: {e}", spec.param)))?;
    let record = etcdlab_lab::run_figures_only(&sc).map_err(|v| {
        Failure::Invariant(format!(
            "sensitivity {}={value}, seed {seed}: {v}",
            spec.param
        ))
    })?;
    let s = &record.summary;
    Ok(Cell {
        leader_changes_per_hour: s.leader_changes_per_hour,
        fsync_p50_ms: s.wal_fsync_ms.p50,
        write_p99_ms: s.writes.latency_ms.p99,
        writes_failed: s.writes.failed,
    })
}

fn render(spec: &SensitivitySpec, cells: &[Cell]) -> String {
    let seeds = spec.seeds as usize;
    let mut out = format!(
        "Each row: {seeds} runs (seeds from the run's own), medians with the range across seeds. \
         Replay a cell with `--set {}=VALUE --seed S`.\n\n",
        spec.param
    );
    out.push_str(&format!(
        "| {} | leader changes / h | WAL fsync p50 (ms) | write p99 (ms) | failed writes |\n",
        spec.label
    ));
    out.push_str("| ---: | ---: | ---: | ---: | ---: |\n");
    for (v, value) in spec.values.iter().enumerate() {
        let row = &cells[v * seeds..(v + 1) * seeds];
        let changes: Vec<f64> = row.iter().map(|c| c.leader_changes_per_hour).collect();
        let fsync: Vec<f64> = row.iter().filter_map(|c| c.fsync_p50_ms).collect();
        let p99: Vec<f64> = row.iter().filter_map(|c| c.write_p99_ms).collect();
        let failed: Vec<f64> = row.iter().map(|c| c.writes_failed as f64).collect();
        out.push_str(&format!(
            "| {value} | {} | {} | {} | {} |\n",
            spread(&changes, 1),
            spread(&fsync, 1),
            spread(&p99, 0),
            spread(&failed, 0)
        ));
    }
    out
}

/// "median (min-max)", or "-" without data.
fn spread(values: &[f64], decimals: usize) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = etcdlab_lab::median_of_sorted(&v).expect("values are not empty");
    let (lo, hi) = (v[0], v[v.len() - 1]);
    if v.len() == 1 {
        return format!("{median:.decimals$}");
    }
    format!("{median:.decimals$} ({lo:.decimals$}-{hi:.decimals$})")
}
