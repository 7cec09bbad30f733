//! `apiserver-latency.png`: kube-apiserver's request latency per 5 minutes (every verb but
//! WATCH, as `apiserver_request_duration_seconds` measures it): p50 and p99 of all requests,
//! and the p99 of the writes alone, which go through etcd (the reads come from the watch
//! cache). Written only for runs with `[kube] api_requests`.

use std::io;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::{
    bold, draw_fault_markers, font, legend, ms_label, render, Area, DrawResult, Key, TimeUnit,
    HEIGHT, WIDTH, Y_LABEL_AREA,
};
use crate::format::ns_to_s;
use crate::{ApiLatencyBin, RunRecord};

const P50: RGBColor = RGBColor(31, 119, 180);
const P99: RGBColor = RGBColor(214, 39, 40);
const WRITES_P99: RGBColor = RGBColor(255, 127, 14);
/// The bins are 5 minutes wide.
const BIN_MIN: f64 = 5.0;

type Figure = fn(&ApiLatencyBin) -> Option<f64>;

pub fn apiserver_latency(record: &RunRecord, path: &Path) -> io::Result<()> {
    render(path, (WIDTH, HEIGHT), |root| {
        let title = format!(
            "kube-apiserver request latency per 5 minutes (all verbs but WATCH): {}",
            record.summary.scenario
        );
        root.draw(&Text::new(title, (16, 10), bold(20)))?;
        let items = [
            ("all requests p50", Key::Line(P50, 2)),
            ("all requests p99", Key::Line(P99, 2)),
            ("writes (through etcd) p99", Key::Line(WRITES_P99, 2)),
        ];
        legend(root, (16, 44), &items)?;
        let area = root.margin(60, 0, 0, 0);
        let values = (record.apiserver_latency_per_5m.iter())
            .flat_map(|b| [b.latency_ms.p50, b.latency_ms.p99, b.write_latency_ms.p99])
            .flatten()
            .filter(|v| v.is_finite() && *v > 0.0);
        let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if hi <= 0.0 {
            return Ok(());
        }
        if hi / lo > 30.0 {
            draw(
                &area,
                record,
                (lo / 2.0..hi * 1.5).log_scale(),
                "latency (ms, log)",
            )
        } else {
            draw(&area, record, 0.0..hi * 1.15, "latency (ms)")
        }
    })
}

fn draw<Y>(area: &Area, record: &RunRecord, y: Y, y_desc: &str) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let unit = TimeUnit {
        seconds: 60.0,
        name: "min",
    };
    let first_bin_s = (record.apiserver_latency_per_5m.first()).map(|b| ns_to_s(b.start_ns));
    let x_start = super::axis_start_s(first_bin_s, record.summary.simulated_seconds) / unit.seconds;
    let x_end = (record.summary.simulated_seconds / 60.0).max(x_start + BIN_MIN);
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(42)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_start..x_end, y)?;
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
    draw_fault_markers(&mut chart, record, unit, 0.0, false)?;
    let series: [(RGBColor, Figure); 3] = [
        (WRITES_P99, |b| b.write_latency_ms.p99),
        (P99, |b| b.latency_ms.p99),
        (P50, |b| b.latency_ms.p50),
    ];
    for (colour, value) in series {
        // Each bin's figure at the bin's middle.
        let points: Vec<(f64, f64)> = (record.apiserver_latency_per_5m.iter())
            .filter_map(|b| Some((unit.of_ns(b.start_ns) + BIN_MIN / 2.0, value(b)?)))
            .collect();
        chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    Ok(())
}
