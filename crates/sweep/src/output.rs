//! The sweep's files: `sweep.csv` and `sweep.json` (one row per run), `aggregate.csv` (one row
//! per grid point), `report.md` and the heatmaps; and reading shard outputs back for a merge.
//!
//! Everything here is a pure function of the plan and the rows: numbers are rounded and
//! printed one way, rows come in (grid point, seed) order.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::exec::{Row, Status};
use crate::heatmap::{self, Cell, Range, Scale};
use crate::plan::{shell_quote, Plan};
use etcdlab_report::{html, Asset, REPORT_HTML};

const FORMAT: &str = "etcdlab-sweep/1";

/// Figures aggregated per grid point (median, p90, max across seeds).
const AGGREGATED: &[&str] = &[
    "leader_changes",
    "leader_changes_per_hour",
    "write_latency_ms_p99",
    "writes_failed",
    "failover_s_max",
];

/// Per grid point.
struct Point {
    runs: usize,
    failing: usize,
    skipped: Option<String>,
    /// (median, p90, max) per AGGREGATED figure; `None` with no values.
    stats: Vec<Option<(f64, f64, f64)>>,
}

impl Point {
    fn fail_share(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.failing as f64 / self.runs as f64)
    }

    fn stat(&self, figure: &str) -> Option<(f64, f64, f64)> {
        let i = AGGREGATED.iter().position(|f| *f == figure)?;
        self.stats[i]
    }
}

fn aggregate(plan: &Plan, rows: &[Row]) -> Vec<Point> {
    (0..plan.points())
        .map(|point| {
            let mine: Vec<&Row> = rows.iter().filter(|r| r.point == point).collect();
            let skipped = plan
                .skipped
                .iter()
                .find(|s| s.point == point)
                .map(|s| s.reason.clone());
            Point {
                runs: mine.len(),
                failing: mine.iter().filter(|r| r.failing()).count(),
                skipped,
                stats: AGGREGATED
                    .iter()
                    .map(|f| {
                        let mut v: Vec<f64> =
                            mine.iter().filter_map(|r| r.figure(plan, f)).collect();
                        stats(&mut v)
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Median (mean of the middle two for an even count), p90 (nearest rank), max.
fn stats(v: &mut [f64]) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = etcdlab_lab::median_of_sorted(v)?;
    let rank = ((0.9 * n as f64).ceil() as usize).clamp(1, n);
    Some((round(median), round(v[rank - 1]), round(v[n - 1])))
}

/// Six decimals: enough for ms and s, and the same digits on every machine.
fn round(v: f64) -> f64 {
    let r = (v * 1e6).round() / 1e6;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

fn num(v: f64) -> String {
    format!("{}", round(v))
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

/// Writes every file into `out`.
pub fn write_all(
    out: &Path,
    plan: &Plan,
    rows: &[Row],
    shard: Option<(usize, usize)>,
) -> io::Result<()> {
    std::fs::create_dir_all(out)?;
    let points = aggregate(plan, rows);
    std::fs::write(out.join("sweep.csv"), runs_csv(plan, rows))?;
    std::fs::write(
        out.join("sweep.json"),
        runs_json(plan, rows, &points, shard),
    )?;
    std::fs::write(out.join("aggregate.csv"), aggregate_csv(plan, &points))?;
    let region = region(plan, rows, &points);
    let md = report(plan, rows, &points, &region, shard);
    std::fs::write(out.join("report.md"), &md)?;
    heatmaps(out, plan, &points)?;
    let mut assets = BTreeMap::new();
    for (file, _, _) in HEATMAPS {
        let bytes = std::fs::read(out.join(file))?;
        assets.insert(
            file.to_string(),
            Asset {
                mime: "image/png",
                bytes,
            },
        );
    }
    std::fs::write(out.join(REPORT_HTML), html(&md, &assets))
}

fn runs_csv(plan: &Plan, rows: &[Row]) -> String {
    let mut head = vec!["point".to_string()];
    head.extend(plan.params.iter().map(|p| p.path.clone()));
    head.extend(["seed", "status", "trace_hash"].map(String::from));
    head.extend(plan.outcome_columns.iter().cloned());
    head.extend(plan.expectations.iter().map(|e| format!("expect: {e}")));
    head.push("detail".into());
    let mut out = csv_line(&head);
    let mut rows = rows.iter().peekable();
    for point in 0..plan.points() {
        let values: Vec<String> = plan
            .coords(point)
            .iter()
            .zip(&plan.params)
            .map(|(&c, p)| p.values[c].clone())
            .collect();
        if let Some(skip) = plan.skipped.iter().find(|s| s.point == point) {
            let mut f = vec![point.to_string()];
            f.extend(values.iter().cloned());
            f.extend([String::new(), "skipped".into(), String::new()]);
            f.extend(plan.outcome_columns.iter().map(|_| String::new()));
            f.extend(plan.expectations.iter().map(|_| String::new()));
            f.push(skip.reason.clone());
            out.push_str(&csv_line(&f));
        }
        while let Some(r) = rows.next_if(|r| r.point == point) {
            let mut f = vec![point.to_string()];
            f.extend(values.iter().cloned());
            f.extend([
                r.seed.to_string(),
                r.status.as_str().into(),
                r.trace_hash.clone(),
            ]);
            f.extend(r.outcome.iter().map(|v| opt(*v)));
            f.extend((0..plan.expectations.len()).map(|i| match r.expect.get(i) {
                Some(true) => "pass".into(),
                Some(false) => "fail".into(),
                None => String::new(),
            }));
            f.push(r.detail.clone());
            out.push_str(&csv_line(&f));
        }
    }
    out
}

fn row_json(plan: &Plan, r: &Row) -> Value {
    let params: Map<String, Value> = plan
        .coords(r.point)
        .iter()
        .zip(&plan.params)
        .map(|(&c, p)| (p.path.clone(), Value::from(p.values[c].clone())))
        .collect();
    let outcome: Map<String, Value> = plan
        .outcome_columns
        .iter()
        .zip(&r.outcome)
        .map(|(c, v)| (c.clone(), v.map_or(Value::Null, Value::from)))
        .collect();
    let expect: Vec<Value> = r
        .expect
        .iter()
        .enumerate()
        .map(|(i, ok)| json!({ "name": plan.expectations.get(i).cloned().unwrap_or_default(), "ok": ok }))
        .collect();
    json!({
        "point": r.point,
        "params": params,
        "seed": r.seed,
        "status": r.status.as_str(),
        "trace_hash": r.trace_hash,
        "outcome": outcome,
        "expect": expect,
        "detail": r.detail,
    })
}

fn row_from_json(plan: &Plan, v: &Value) -> Option<Row> {
    let outcome = v.get("outcome")?.as_object()?;
    Some(Row {
        point: v.get("point")?.as_u64()? as usize,
        seed: v.get("seed")?.as_u64()?,
        status: Status::parse(v.get("status")?.as_str()?)?,
        trace_hash: v.get("trace_hash")?.as_str()?.to_string(),
        outcome: plan
            .outcome_columns
            .iter()
            .map(|c| outcome.get(c).and_then(Value::as_f64))
            .collect(),
        expect: v
            .get("expect")?
            .as_array()?
            .iter()
            .map(|e| e.get("ok").and_then(Value::as_bool))
            .collect::<Option<Vec<bool>>>()?,
        detail: v.get("detail")?.as_str()?.to_string(),
    })
}

fn runs_json(plan: &Plan, rows: &[Row], points: &[Point], shard: Option<(usize, usize)>) -> String {
    let aggregates: Vec<Value> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut m = Map::new();
            m.insert("point".into(), i.into());
            m.insert("label".into(), plan.point_label(i).into());
            m.insert("runs".into(), p.runs.into());
            m.insert("failing".into(), p.failing.into());
            m.insert(
                "skipped".into(),
                p.skipped.clone().map_or(Value::Null, Value::from),
            );
            for (f, s) in AGGREGATED.iter().zip(&p.stats) {
                let v = s.map_or(
                    Value::Null,
                    |(m, p90, max)| json!({ "median": m, "p90": p90, "max": max }),
                );
                m.insert((*f).into(), v);
            }
            Value::Object(m)
        })
        .collect();
    let doc = json!({
        "format": FORMAT,
        "shard": shard.map_or(Value::Null, |(i, n)| json!({ "index": i, "count": n })),
        "plan": plan,
        "rows": rows.iter().map(|r| row_json(plan, r)).collect::<Vec<_>>(),
        "points": aggregates,
    });
    let mut s = serde_json::to_string_pretty(&doc).expect("JSON values always serialise");
    s.push('\n');
    s
}

fn aggregate_csv(plan: &Plan, points: &[Point]) -> String {
    let mut head = vec!["point".to_string()];
    head.extend(plan.params.iter().map(|p| p.path.clone()));
    head.extend(["runs", "failing", "fail_share"].map(String::from));
    for f in AGGREGATED {
        head.extend(["median", "p90", "max"].map(|s| format!("{f}_{s}")));
    }
    head.push("skipped".into());
    let mut out = csv_line(&head);
    for (i, p) in points.iter().enumerate() {
        let mut f = vec![i.to_string()];
        f.extend(
            plan.coords(i)
                .iter()
                .zip(&plan.params)
                .map(|(&c, p)| p.values[c].clone()),
        );
        f.extend([
            p.runs.to_string(),
            p.failing.to_string(),
            opt(p.fail_share()),
        ]);
        for s in &p.stats {
            match s {
                Some((m, p90, max)) => f.extend([num(*m), num(*p90), num(*max)]),
                None => f.extend([String::new(), String::new(), String::new()]),
            }
        }
        f.push(p.skipped.clone().unwrap_or_default());
        out.push_str(&csv_line(&f));
    }
    out
}

/// Grid points whose every seed ran and passed every expectation (with no `[[expect]]`: had no
/// leader change).
struct Region {
    criterion: String,
    points: Vec<usize>,
    /// Per setting of the params not in `cost` (or one entry): its label and the cheapest point.
    cheapest: Vec<(String, Option<usize>)>,
}

fn region(plan: &Plan, rows: &[Row], points: &[Point]) -> Region {
    let n = plan.seeds.len();
    let criterion = if plan.expectations.is_empty() {
        format!("no leader change in {n}/{n} seeds (no [[expect]] is declared)")
    } else {
        format!(
            "every `[[expect]]` held in {n}/{n} seeds ({})",
            plan.expectations.join(", ")
        )
    };
    let inside: Vec<usize> = (0..plan.points())
        .filter(|&i| {
            let p = &points[i];
            let complete = p.skipped.is_none() && p.runs == n && p.failing == 0;
            complete
                && (!plan.expectations.is_empty()
                    || rows
                        .iter()
                        .filter(|r| r.point == i)
                        .all(|r| r.figure(plan, "leader_changes") == Some(0.0)))
        })
        .collect();
    let env: Vec<usize> = (0..plan.params.len())
        .filter(|&i| !plan.cost.contains(&plan.params[i].path))
        .collect();
    let cost: Vec<usize> = plan
        .cost
        .iter()
        .filter_map(|c| plan.params.iter().position(|p| &p.path == c))
        .collect();
    let mut groups: Vec<(Vec<usize>, Option<usize>)> = Vec::new();
    for point in 0..plan.points() {
        let coords = plan.coords(point);
        let key: Vec<usize> = env.iter().map(|&i| coords[i]).collect();
        if !groups.iter().any(|(k, _)| *k == key) {
            groups.push((key, None));
        }
    }
    for &point in &inside {
        let coords = plan.coords(point);
        let key: Vec<usize> = env.iter().map(|&i| coords[i]).collect();
        let slot = &mut groups.iter_mut().find(|(k, _)| *k == key).unwrap().1;
        let cheaper = match *slot {
            None => true,
            Some(best) => cost_cmp(plan, &cost, point, best).is_lt(),
        };
        if cheaper {
            *slot = Some(point);
        }
    }
    let cheapest = groups
        .into_iter()
        .map(|(key, best)| {
            let label = env
                .iter()
                .zip(&key)
                .map(|(&i, &c)| format!("{} = {}", plan.params[i].path, plan.params[i].labels[c]))
                .collect::<Vec<_>>()
                .join(", ");
            (label, best)
        })
        .collect();
    Region {
        criterion,
        points: inside,
        cheapest,
    }
}

/// Compares two points on the cost params: numbers by value, other values by their order.
fn cost_cmp(plan: &Plan, cost: &[usize], a: usize, b: usize) -> std::cmp::Ordering {
    let (ca, cb) = (plan.coords(a), plan.coords(b));
    for &i in cost {
        let p = &plan.params[i];
        let ord = match (
            p.values[ca[i]].parse::<f64>(),
            p.values[cb[i]].parse::<f64>(),
        ) {
            (Ok(x), Ok(y)) => x.total_cmp(&y),
            _ => ca[i].cmp(&cb[i]),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    a.cmp(&b)
}

fn cost_label(plan: &Plan, point: usize) -> String {
    let coords = plan.coords(point);
    plan.cost
        .iter()
        .filter_map(|c| plan.params.iter().position(|p| &p.path == c))
        .map(|i| {
            format!(
                "{} = {}",
                plan.params[i].path, plan.params[i].labels[coords[i]]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn med(p: &Point, figure: &str) -> String {
    p.stat(figure).map_or("-".into(), |(m, p90, max)| {
        format!("{} / {} / {}", num(m), num(p90), num(max))
    })
}

/// The answer first, as a run's report gives it: what the runs did, then which settings
/// qualify and the cheapest of them; the sections below give the details.
fn verdict(
    s: &mut String,
    plan: &Plan,
    rows: &[Row],
    region: &Region,
    shard: Option<(usize, usize)>,
) {
    let count = |status: Status| rows.iter().filter(|r| r.status == status).count();
    let mut happened = vec![format!(
        "{} runs ({} grid points x {} seeds): {} met every expectation",
        rows.len(),
        plan.points(),
        plan.seeds.len(),
        count(Status::Ok)
    )];
    for (status, what) in [
        (Status::Failed, "failed an expectation"),
        (Status::Violation, "stopped on an invariant violation"),
        (Status::Error, "could not run"),
    ] {
        if count(status) > 0 {
            happened.push(format!("{} {what}", count(status)));
        }
    }
    let skipped = match plan.skipped.len() {
        0 => String::new(),
        1 => "; 1 grid point skipped".to_string(),
        k => format!("; {k} grid points skipped"),
    };
    let _ = writeln!(s, "**What happened:** {}{skipped}.\n", happened.join(", "));
    if shard.is_some() {
        // A shard holds some seeds of each point: no point can qualify on its own.
        let _ = writeln!(
            s,
            "**Verdict:** none yet: this is one shard; `etcdlab sweep-merge` all of them for it.\n"
        );
        return;
    }
    let cheapest: Vec<String> = (region.cheapest.iter())
        .map(|(label, best)| match (best, label.is_empty()) {
            (Some(p), true) => format!("`{}`", cost_label(plan, *p)),
            (Some(p), false) => format!("`{}` at {label}", cost_label(plan, *p)),
            (None, true) => "no setting".to_string(),
            (None, false) => format!("no setting at {label}"),
        })
        .collect();
    let _ = match region.points.is_empty() {
        true => writeln!(
            s,
            "**Verdict:** none of the {} grid points qualifies.\n",
            plan.points()
        ),
        false => writeln!(
            s,
            "**Verdict:** {} of {} grid points qualify; cheapest: {}.\n",
            region.points.len(),
            plan.points(),
            cheapest.join("; ")
        ),
    };
}

fn report(
    plan: &Plan,
    rows: &[Row],
    points: &[Point],
    region: &Region,
    shard: Option<(usize, usize)>,
) -> String {
    let mut s = String::new();
    let n = plan.seeds.len();
    let _ = writeln!(s, "# Sweep: {}\n", plan.scenario);
    verdict(&mut s, plan, rows, region, shard);
    if !plan.description.is_empty() {
        let _ = writeln!(s, "{}\n", plan.description);
    }
    if let Some((i, k)) = shard {
        let _ = writeln!(
            s,
            "**Shard {i}/{k} only**: merge all shards with `etcdlab sweep-merge` for the full tables.\n"
        );
    }
    let _ = writeln!(s, "Reproduce: `{}`\n", plan.sweep_command());
    let _ = writeln!(
        s,
        "{} grid points x {} seeds ({}..={}); {} runs, {} skipped points.\n",
        plan.points(),
        n,
        plan.seeds.first().copied().unwrap_or(0),
        plan.seeds.last().copied().unwrap_or(0),
        rows.len(),
        plan.skipped.len()
    );
    let _ = writeln!(s, "| param | values |\n| --- | --- |");
    for p in &plan.params {
        let _ = writeln!(s, "| `{}` | {} |", p.path, p.labels.join(", "));
    }
    let _ = writeln!(s, "\n## Recommended region\n");
    let _ = writeln!(
        s,
        "Criterion: {}. {} of {} grid points qualify.\n",
        region.criterion,
        region.points.len(),
        plan.points()
    );
    let _ = writeln!(
        s,
        "Cheapest setting in it (smallest `{}`):\n",
        plan.cost.join("`, then `")
    );
    for (label, best) in &region.cheapest {
        let prefix = if label.is_empty() {
            "- ".to_string()
        } else {
            format!("- {label}: ")
        };
        match best {
            Some(p) => {
                let pt = &points[*p];
                let _ = writeln!(
                    s,
                    "{prefix}**{}** (leader changes/h median {}, write p99 median {} ms)",
                    cost_label(plan, *p),
                    pt.stat("leader_changes_per_hour")
                        .map_or("-".into(), |x| num(x.0)),
                    pt.stat("write_latency_ms_p99")
                        .map_or("-".into(), |x| num(x.0)),
                );
            }
            None => {
                let _ = writeln!(s, "{prefix}no setting in the grid qualifies");
            }
        }
    }
    let _ = writeln!(s, "\n## Per grid point (median / p90 / max across seeds)\n");
    let mut head = String::from("|");
    for p in &plan.params {
        let _ = write!(head, " `{}` |", p.path);
    }
    head.push_str(
        " runs | failing | leader changes/h | write p99 (ms) | writes failed | failover max (s) | in region |",
    );
    let _ = writeln!(s, "{head}");
    let _ = writeln!(s, "|{}", " --- |".repeat(plan.params.len() + 7));
    for (i, pt) in points.iter().enumerate() {
        let mut line = String::from("|");
        for (&c, p) in plan.coords(i).iter().zip(&plan.params) {
            let _ = write!(line, " {} |", p.labels[c]);
        }
        if pt.skipped.is_some() {
            line.push_str(" skipped | | | | | | |");
        } else {
            let _ = write!(
                line,
                " {} | {} | {} | {} | {} | {} | {} |",
                pt.runs,
                pt.failing,
                med(pt, "leader_changes_per_hour"),
                med(pt, "write_latency_ms_p99"),
                med(pt, "writes_failed"),
                med(pt, "failover_s_max"),
                if region.points.contains(&i) {
                    "yes"
                } else {
                    ""
                }
            );
        }
        let _ = writeln!(s, "{line}");
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(s, "\n## Skipped (the scenario rejects these values)\n");
        for sk in &plan.skipped {
            let _ = writeln!(s, "- {}: {}", plan.point_label(sk.point), sk.reason);
        }
    }
    if rows.iter().any(|r| r.failing()) {
        let _ = writeln!(
            s,
            "\n## Failing runs\n\nPer grid point: the failing seeds, and the command that replays the first (swap the seed for the others).\n"
        );
        for (point, pt) in points.iter().enumerate() {
            let failing: Vec<&Row> = rows
                .iter()
                .filter(|r| r.point == point && r.failing())
                .collect();
            let Some(first) = failing.first() else {
                continue;
            };
            let mut what: Vec<String> = Vec::new();
            for r in &failing {
                let items: Vec<String> = match r.status {
                    Status::Failed => r
                        .expect
                        .iter()
                        .zip(&plan.expectations)
                        .filter(|(ok, _)| !**ok)
                        .map(|(_, n)| n.clone())
                        .collect(),
                    _ => vec![r.status.as_str().to_string()],
                };
                for item in items {
                    if !what.contains(&item) {
                        what.push(item);
                    }
                }
            }
            let seeds: Vec<String> = failing.iter().map(|r| r.seed.to_string()).collect();
            let _ = writeln!(
                s,
                "- {}: {} of {} seeds fail ({}): seeds {}  \n  `{}`",
                plan.point_label(point),
                failing.len(),
                pt.runs,
                what.join("; "),
                seeds.join(", "),
                plan.replay_command(point, first.seed)
            );
            for r in failing.iter().filter(|r| !r.detail.is_empty()) {
                let _ = writeln!(s, "  - seed {}: {}", r.seed, r.detail);
            }
        }
    }
    let _ = writeln!(s, "\n## Heatmaps\n");
    for (file, title) in HEATMAPS.iter().map(|h| (h.0, h.1)) {
        let _ = writeln!(s, "![{title}]({file})\n");
    }
    let _ = writeln!(
        s,
        "Files: `sweep.csv` / `sweep.json` (one row per run), `aggregate.csv` (one row per grid point). Replay any run with `etcdlab run {} --seed S --set PATH=VALUE ...` as listed in `sweep.csv`.",
        shell_quote(&plan.scenario_file)
    );
    s
}

/// (file, title, figure or "" for the failing share).
const HEATMAPS: &[(&str, &str, &str)] = &[
    (
        "heatmap-leader-changes.png",
        "Leader changes per hour (median across seeds)",
        "leader_changes_per_hour",
    ),
    (
        "heatmap-write-p99.png",
        "Write latency p99, ms (median across seeds)",
        "write_latency_ms_p99",
    ),
    (
        "heatmap-expect-failures.png",
        "Share of seeds failing an expectation (or an invariant)",
        "",
    ),
];

fn heatmaps(out: &Path, plan: &Plan, points: &[Point]) -> io::Result<()> {
    for (file, title, figure) in HEATMAPS {
        let cells: Vec<Cell> = points
            .iter()
            .map(|p| {
                if p.skipped.is_some() {
                    Cell::Skipped
                } else if figure.is_empty() {
                    p.fail_share().map_or(Cell::NoData, Cell::Value)
                } else {
                    p.stat(figure).map_or(Cell::NoData, |s| Cell::Value(s.0))
                }
            })
            .collect();
        // Zero leader changes and zero failures are the pale end; latencies span their range.
        let (scale, range, percent) = match *figure {
            "" => (
                Scale::Linear,
                Range {
                    lo: Some(0.0),
                    hi: Some(1.0),
                },
                true,
            ),
            "leader_changes_per_hour" => (
                Scale::Log,
                Range {
                    lo: Some(0.0),
                    hi: None,
                },
                false,
            ),
            _ => (Scale::Log, Range { lo: None, hi: None }, false),
        };
        let subtitle = format!("{}: {} seeds per cell", plan.scenario, plan.seeds.len());
        heatmap::draw(
            &out.join(file),
            plan,
            title,
            &subtitle,
            &cells,
            scale,
            range,
            percent,
        )?;
    }
    Ok(())
}

/// Reads shard outputs back: the common plan and all rows in (point, seed) order.
pub fn merge(dirs: &[PathBuf]) -> Result<(Plan, Vec<Row>), String> {
    if dirs.is_empty() {
        return Err("sweep-merge needs at least one shard folder".into());
    }
    let mut plan: Option<Plan> = None;
    let mut shards: Vec<(usize, usize)> = Vec::new();
    let mut rows = Vec::new();
    let mut unsharded = 0;
    for dir in dirs {
        let path = dir.join("sweep.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(format!(
                "{}: not an etcdlab sweep output (format {FORMAT})",
                path.display()
            ));
        }
        let p: Plan = serde_json::from_value(doc["plan"].clone())
            .map_err(|e| format!("{}: plan: {e}", path.display()))?;
        match &plan {
            None => plan = Some(p.clone()),
            Some(first) if *first != p => {
                return Err(format!(
                    "{}: a different sweep than {} (scenario, flags or code differ)",
                    path.display(),
                    dirs[0].display()
                ))
            }
            Some(_) => {}
        }
        match doc.get("shard") {
            Some(Value::Object(s)) => {
                let i = s.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                let n = s.get("count").and_then(Value::as_u64).unwrap_or(0) as usize;
                shards.push((i, n));
            }
            _ => unsharded += 1,
        }
        for r in doc["rows"].as_array().into_iter().flatten() {
            rows.push(
                row_from_json(&p, r).ok_or_else(|| format!("{}: malformed row", path.display()))?,
            );
        }
    }
    let plan = plan.expect("at least one folder was read");
    if unsharded > 0 && dirs.len() > 1 {
        return Err("an unsharded sweep output cannot be merged with others".into());
    }
    if let Some(&(_, count)) = shards.first() {
        if shards.iter().any(|&(_, n)| n != count) {
            return Err("the folders come from different shard counts".into());
        }
        let have: BTreeSet<usize> = shards.iter().map(|s| s.0).collect();
        if have.len() != shards.len() {
            return Err("the same shard is given twice".into());
        }
        let missing: Vec<String> = (1..=count)
            .filter(|i| !have.contains(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing shard(s): {}", missing.join(", ")));
        }
    }
    let seed_index = |seed: u64| plan.seeds.iter().position(|&s| s == seed);
    rows.sort_by_key(|r| (r.point, seed_index(r.seed)));
    let got: Vec<(usize, u64)> = rows.iter().map(|r| (r.point, r.seed)).collect();
    if got != plan.shard_runs(None) {
        return Err("the shards' rows do not add up to the sweep's runs".into());
    }
    Ok((plan, rows))
}
