//! Turns what a run recorded into files: `summary.json`, `report.md` (and the same as a
//! self-contained `report.html`), charts (PNG, plotters) and `metrics.om` (OpenMetrics text). It never reaches back into the simulation: everything it
//! needs is in [`RunRecord`] (crate `etcdlab-record`, re-exported here). Every byte written is a
//! function of the record (no wall clock, no absolute paths), so the same scenario and seed give
//! the same files.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

mod charts;
mod database;
/// Fonts for every chart (DejaVu Sans, embedded): register once before drawing.
pub use charts::{register_fonts, FONT};
mod elections;
pub mod etcdctl;
pub mod fixtures;
mod format;
mod html;
mod incidents;
mod json;
mod markdown;
mod openmetrics;
mod promtool;
mod restore;

/// The record's types (the lab builds a [`RunRecord`] with them; they used to live here).
pub use etcdlab_record::*;
pub use html::{html, Asset};
pub use json::summary_json;
pub use markdown::markdown;
pub use openmetrics::openmetrics;
pub use promtool::{promtool_check, PromtoolCheck};

/// `report.md` as one page with its charts inside (see `html`).
pub const REPORT_HTML: &str = "report.html";
/// File names of the charts, as linked from `report.md`.
pub const LEADER_TIMELINE_PNG: &str = "leader-timeline.png";
pub const WRITE_LATENCY_PNG: &str = "write-latency.png";
pub const WAL_FSYNC_PNG: &str = "wal-fsync.png";
/// Written only for runs with backend size samples.
pub const DB_SIZE_PNG: &str = "db-size.png";
/// Written only for runs with `[kube] api_requests`.
pub const APISERVER_LATENCY_PNG: &str = "apiserver-latency.png";

/// The file a checker's failing window is drawn in.
pub fn failure_picture(checker: &str) -> String {
    format!("{checker}-failure.svg")
}

/// Writes every report file of `record` into `out_dir` (created if missing) and returns their
/// names relative to `out_dir`, sorted.
pub fn write_run(record: &RunRecord, out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(out_dir)?;
    let md = markdown(record);
    let texts = [
        ("summary.json", summary_json(&record.summary)),
        ("report.md", md.clone()),
        ("metrics.om", openmetrics(&record.metrics)),
    ];
    let mut names = Vec::new();
    for (name, text) in texts {
        fs::write(out_dir.join(name), text)?;
        names.push(PathBuf::from(name));
    }
    charts::leader_timeline(record, &out_dir.join(LEADER_TIMELINE_PNG))?;
    charts::write_latency(record, &out_dir.join(WRITE_LATENCY_PNG))?;
    charts::wal_fsync(record, &out_dir.join(WAL_FSYNC_PNG))?;
    names.extend([LEADER_TIMELINE_PNG, WRITE_LATENCY_PNG, WAL_FSYNC_PNG].map(PathBuf::from));
    if !record.db_size.is_empty() {
        charts::db_size(record, &out_dir.join(DB_SIZE_PNG))?;
        names.push(PathBuf::from(DB_SIZE_PNG));
    }
    if !record.apiserver_latency_per_5m.is_empty() {
        charts::apiserver_latency(record, &out_dir.join(APISERVER_LATENCY_PNG))?;
        names.push(PathBuf::from(APISERVER_LATENCY_PNG));
    }
    let mut assets = BTreeMap::new();
    for c in &record.summary.checks {
        if let Some(svg) = &c.failure_svg {
            let name = failure_picture(&c.checker);
            fs::write(out_dir.join(&name), svg)?;
            let bytes = svg.clone().into_bytes();
            assets.insert(
                name.clone(),
                Asset {
                    mime: "image/svg+xml",
                    bytes,
                },
            );
            names.push(PathBuf::from(name));
        }
    }
    for name in &names {
        if name.extension().is_some_and(|e| e == "png") {
            let bytes = fs::read(out_dir.join(name))?;
            let key = name.to_string_lossy().into_owned();
            assets.insert(
                key,
                Asset {
                    mime: "image/png",
                    bytes,
                },
            );
        }
    }
    fs::write(out_dir.join(REPORT_HTML), html(&md, &assets))?;
    names.push(PathBuf::from(REPORT_HTML));
    names.sort();
    Ok(names)
}
