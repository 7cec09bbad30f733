//! `write-latency.png`: p50, p99 and max write latency per simulated minute (log scale when the
//! range is wide), failed writes per minute as bars on a second axis, faults as markers.

use std::io;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{
    bold, draw_fault_markers, font, legend, ms_label, placeholder, render, Area, DrawResult, Key,
    TimeUnit, HEIGHT, WIDTH, Y_LABEL_AREA,
};
use crate::{MinuteLatency, RunRecord};

const P50: RGBColor = RGBColor(31, 119, 180);
const P99: RGBColor = RGBColor(214, 39, 40);
const MAX: RGBColor = RGBColor(150, 150, 150);
const FAILED: RGBColor = RGBColor(255, 152, 150);

/// Picks one latency figure out of a row.
type Figure = fn(&MinuteLatency) -> f64;

/// A log axis once the largest figure is this many times the smallest.
const LOG_RATIO: f64 = 30.0;

pub fn write_latency(record: &RunRecord, path: &Path) -> io::Result<()> {
    render(path, (WIDTH, HEIGHT), |root| {
        let title = format!("Write latency per minute: {}", record.summary.scenario);
        let rows = &record.write_latency_per_minute;
        let Some((lo, hi)) = value_range(rows) else {
            let failed: u64 = rows.iter().map(|r| r.failed).sum();
            let message = match failed {
                0 => "no writes".to_string(),
                n => format!("no successful writes ({n} failed)"),
            };
            return placeholder(root, &title, &message);
        };
        root.draw(&Text::new(title, (16, 10), bold(20)))?;
        legend(root, (16, 44), &legend_items(record))?;
        let area = root.margin(60, 0, 0, 0);
        if hi / lo > LOG_RATIO {
            draw(
                &area,
                record,
                (lo / 2.0..hi * 1.5).log_scale(),
                "write latency (ms, log)",
            )
        } else {
            draw(&area, record, 0.0..hi * 1.15, "write latency (ms)")
        }
    })
}

/// Smallest positive and largest latency of all rows, if any row has one.
fn value_range(rows: &[MinuteLatency]) -> Option<(f64, f64)> {
    let values = rows.iter().flat_map(|r| [r.p50_ms, r.p99_ms, r.max_ms]);
    let positive = values.filter(|v| v.is_finite() && *v > 0.0);
    let (lo, hi) = positive.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    (hi > 0.0).then_some((lo, hi))
}

fn draw<Y>(area: &Area, record: &RunRecord, y: Y, y_desc: &str) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let rows = &record.write_latency_per_minute;
    let x_end = x_end(record);
    let max_failed = rows.iter().map(|r| r.failed).max().unwrap_or(0);
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(42)
        .y_label_area_size(Y_LABEL_AREA)
        .right_y_label_area_size(if max_failed > 0 { 70 } else { 0 })
        .build_cartesian_2d(0f64..x_end, y)?
        .set_secondary_coord(0f64..x_end, 0f64..(max_failed.max(1) as f64 * 4.0));
    chart
        .configure_mesh()
        .x_desc("simulated time (min)")
        .y_desc(y_desc)
        .x_labels(16)
        .y_labels(12)
        .x_label_formatter(&|v| crate::format::num(*v, 1))
        .y_label_formatter(&|v| ms_label(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .max_light_lines(4)
        .light_line_style(RGBColor(242, 242, 242))
        .draw()?;
    if max_failed > 0 {
        // The bars use the bottom quarter of the chart, so they never hide the lines.
        chart
            .configure_secondary_axes()
            .y_desc("failed writes / min")
            .y_labels(3)
            .y_label_formatter(&|v| crate::format::num(*v, 0))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        chart.draw_secondary_series(rows.iter().filter(|r| r.failed > 0).map(|r| {
            let x = r.minute as f64;
            Rectangle::new(
                [(x + 0.1, 0.0), (x + 0.9, r.failed as f64)],
                FAILED.filled(),
            )
        }))?;
    }
    draw_fault_markers(
        &mut chart,
        record,
        TimeUnit {
            seconds: 60.0,
            name: "min",
        },
        0.0,
        false,
    )?;
    let series: [(RGBColor, u32, Figure); 3] = [
        (MAX, 1, |r| r.max_ms),
        (P99, 2, |r| r.p99_ms),
        (P50, 2, |r| r.p50_ms),
    ];
    for (colour, width, value) in series {
        let style = colour.stroke_width(width);
        for run in consecutive_runs(rows) {
            let points = run.iter().map(|r| (r.minute as f64 + 0.5, value(r)));
            chart.draw_series(LineSeries::new(points, style))?;
        }
        let dots = rows
            .iter()
            .map(|r| Circle::new((r.minute as f64 + 0.5, value(r)), 2, colour.filled()));
        chart.draw_series(dots)?;
    }
    Ok(())
}

fn legend_items(record: &RunRecord) -> Vec<(&'static str, Key)> {
    let rows = &record.write_latency_per_minute;
    let mut items = vec![
        ("p50", Key::Line(P50, 2)),
        ("p99", Key::Line(P99, 2)),
        ("max", Key::Line(MAX, 1)),
    ];
    if rows.iter().any(|r| r.failed > 0) {
        items.push(("failed writes (right axis)", Key::Fill(FAILED)));
    }
    if !record.timeline.is_empty() {
        items.push(("fault / action", Key::Dashed(super::MARKER)));
    }
    items
}

/// The x axis end in minutes: the run's length, or past the last row if that is later.
fn x_end(record: &RunRecord) -> f64 {
    let last = record
        .write_latency_per_minute
        .iter()
        .map(|r| r.minute + 1)
        .max()
        .unwrap_or(1);
    (record.summary.simulated_seconds / 60.0).max(last as f64)
}

/// Rows split where a minute is missing, so lines do not bridge minutes without writes.
fn consecutive_runs(rows: &[MinuteLatency]) -> Vec<&[MinuteLatency]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=rows.len() {
        if i == rows.len() || rows[i].minute != rows[i - 1].minute + 1 {
            runs.push(&rows[start..i]);
            start = i;
        }
    }
    runs
}
