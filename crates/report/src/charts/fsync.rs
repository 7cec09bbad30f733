//! `wal-fsync.png`: the distribution of WAL fsync latency per member as a CDF on a log latency
//! axis, with the y axis in "nines" (50%, 90%, 99%, 99.9%) so the tail that etcd cares about
//! gets as much room as the median. Marked: etcd's guidance that p99 stays under 10 ms.
//! Below it, when the run has them, each member's 5-minute p99 over time as the guide's
//! dashboard and `EtcdDiskFsyncSlow` compute it from the bucket histogram.

use std::io;
use std::path::Path;

use hdrhistogram::Histogram;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    anchored, bold, font, legend, member_colour, ms_label, placeholder, render, Key, TimeUnit,
    HEIGHT, WIDTH, Y_LABEL_AREA,
};
use crate::format::{member_name, num};
use crate::RunRecord;

/// etcd's hardware guidance: the 99th percentile of WAL fsync should be below 10 ms.
const RECOMMENDED_P99_MS: f64 = 10.0;
const GUIDE: RGBColor = RGBColor(214, 39, 40);
/// The y axis never goes past 99.999% (five nines).
const MAX_NINES: f64 = 5.0;

/// Height of the lower panel (the 5-minute p99 over time).
const P99_5M_HEIGHT: u32 = 320;

pub fn wal_fsync(record: &RunRecord, path: &Path) -> io::Result<()> {
    let p99_range = p99_5m_range_ms(&record.wal_fsync_p99_5m_ms);
    let height = HEIGHT + p99_range.map_or(0, |_| P99_5M_HEIGHT);
    render(path, (WIDTH, height), |root| {
        let title = format!("WAL fsync latency: {}", record.summary.scenario);
        let hists = &record.wal_fsync_us;
        let Some((lo, hi)) = latency_range_ms(hists) else {
            return placeholder(root, &title, "no WAL fsyncs recorded");
        };
        let (top, bottom) = root.split_vertically(HEIGHT);
        top.draw(&Text::new(title, (16, 10), bold(20)))?;
        legend(&top, (16, 44), &legend_items(record))?;
        draw(&top.margin(66, 0, 0, 0), record, lo, hi)?;
        match p99_range {
            Some(range) => draw_p99_5m(&bottom, record, range),
            None => Ok(()),
        }
    })
}

/// Smallest and largest 5-minute p99 in ms, widened to show the 10 ms mark (None: no points).
fn p99_5m_range_ms(series: &[(String, Vec<(u64, f64)>)]) -> Option<(f64, f64)> {
    let values = series.iter().flat_map(|(_, p)| p.iter().map(|x| x.1));
    let positive: Vec<f64> = values.filter(|v| v.is_finite() && *v > 0.0).collect();
    let lo = positive.iter().copied().reduce(f64::min)?;
    let hi = positive.iter().copied().reduce(f64::max)?;
    Some((
        lo.min(RECOMMENDED_P99_MS) / 1.5,
        hi.max(RECOMMENDED_P99_MS) * 1.5,
    ))
}

/// A log axis once the largest 5-minute p99 shown is this many times the smallest.
const LOG_RATIO: f64 = 30.0;

/// The dashboard panel: each member's `histogram_quantile(0.99, rate(..._bucket[5m]))` at every
/// scrape, with the 10 ms the alert compares it with.
fn draw_p99_5m(area: &super::Area, record: &RunRecord, (lo, hi): (f64, f64)) -> super::DrawResult {
    let s = &record.summary.wal_fsync_p99_5m_ms;
    let figures = match (s.median, s.max) {
        (Some(median), Some(max)) => {
            format!(" (median {} ms, max {} ms)", num(median, 1), num(max, 1))
        }
        _ => String::new(),
    };
    let title =
        format!("5-minute p99 per member, as dashboards and EtcdDiskFsyncSlow compute it{figures}");
    area.draw(&Text::new(title, (16, 4), bold(16)))?;
    let area = area.margin(26, 0, 0, 0);
    if hi / lo > LOG_RATIO {
        p99_5m_panel(
            &area,
            record,
            (lo..hi).log_scale(),
            "p99 over 5 min (ms, log)",
        )
    } else {
        p99_5m_panel(&area, record, 0.0..hi, "p99 over 5 min (ms)")
    }
}

fn p99_5m_panel<Y>(area: &super::Area, record: &RunRecord, y: Y, y_desc: &str) -> super::DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let total_s = record.summary.simulated_seconds;
    let first_point_s = (record.wal_fsync_p99_5m_ms.iter())
        .filter_map(|(_, points)| points.first().map(|p| p.0 as f64 / 1e9))
        .reduce(f64::min);
    let first_s = super::axis_start_s(first_point_s, total_s).min(total_s);
    let unit = TimeUnit::for_span(total_s - first_s);
    let x_start = first_s / unit.seconds;
    let x_end = (total_s / unit.seconds).max(x_start + 1e-9);
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(42)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x_start..x_end, y)?;
    chart
        .configure_mesh()
        .x_desc(format!("simulated time ({})", unit.name))
        .y_desc(y_desc)
        .x_labels(12)
        .y_labels(8)
        .x_label_formatter(&|v| num(*v, 1))
        .y_label_formatter(&|v| ms_label(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(x_start, RECOMMENDED_P99_MS), (x_end, RECOMMENDED_P99_MS)],
        6,
        4,
        GUIDE.mix(0.8).stroke_width(2),
    ))?;
    for (name, points) in &record.wal_fsync_p99_5m_ms {
        let m = (record.member_names.iter())
            .position(|n| n == name)
            .unwrap_or(0);
        let line = points.iter().map(|&(t, v)| (unit.of_ns(t), v));
        chart.draw_series(LineSeries::new(line, member_colour(m).stroke_width(2)))?;
    }
    Ok(())
}

/// Smallest and largest recorded latency in ms over all members, widened to show the 10 ms mark.
fn latency_range_ms(hists: &[Histogram<u64>]) -> Option<(f64, f64)> {
    let recorded = hists.iter().filter(|h| !h.is_empty());
    let lo = recorded.clone().map(|h| h.min()).min()?;
    let hi = recorded.map(|h| h.max()).max()?;
    let lo = (lo.max(1) as f64 / 1000.0).min(RECOMMENDED_P99_MS);
    let hi = (hi as f64 / 1000.0).max(RECOMMENDED_P99_MS);
    Some((lo / 1.5, hi * 1.5))
}

/// "m1 (p99 2.4 ms, 20000 fsyncs)" per member; members without fsyncs say so.
fn legend_items(record: &RunRecord) -> Vec<(String, Key)> {
    let mut items: Vec<(String, Key)> = record
        .wal_fsync_us
        .iter()
        .enumerate()
        .map(|(m, h)| {
            let name = member_name(&record.member_names, m);
            let text = if h.is_empty() {
                format!("{name} (no fsyncs)")
            } else {
                let p99 = h.value_at_quantile(0.99) as f64 / 1000.0;
                format!("{name} (p99 {} ms, n={})", num(p99, 2), h.len())
            };
            (text, Key::Line(member_colour(m), 2))
        })
        .collect();
    items.push(("p99 < 10 ms (etcd guidance)".into(), Key::Dashed(GUIDE)));
    items
}

fn draw(area: &super::Area, record: &RunRecord, lo: f64, hi: f64) -> super::DrawResult {
    let total = record
        .wal_fsync_us
        .iter()
        .map(Histogram::len)
        .max()
        .unwrap_or(1);
    // As many nines as the largest sample count can resolve, at least two (99%).
    let y_top = libm::log10(total.max(1) as f64)
        .ceil()
        .clamp(2.0, MAX_NINES);
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(42)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..y_top)?;
    chart
        .configure_mesh()
        .x_desc("fsync latency (ms, log)")
        .y_desc("fsyncs at or below")
        .x_labels(12)
        .y_labels(y_top as usize + 1)
        .x_label_formatter(&|v| ms_label(*v))
        .y_label_formatter(&|y| percent(*y))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    // The guidance: the curve should cross the 99% line left of 10 ms.
    let dashed = |a, b| DashedLineSeries::new([a, b], 6, 4, GUIDE.mix(0.8).stroke_width(2));
    chart.draw_series(dashed(
        (RECOMMENDED_P99_MS, 0.0),
        (RECOMMENDED_P99_MS, y_top),
    ))?;
    chart.draw_series(dashed((lo, 2.0), (hi, 2.0)))?;
    let style = anchored(font(14).color(&GUIDE), HPos::Left, VPos::Bottom);
    chart.draw_series([Text::new(
        "10 ms",
        (RECOMMENDED_P99_MS * 1.05, y_top * 0.02),
        style,
    )])?;
    for (m, h) in record.wal_fsync_us.iter().enumerate() {
        let colour = member_colour(m);
        chart.draw_series(LineSeries::new(cdf_steps(h, y_top), colour.stroke_width(2)))?;
    }
    Ok(())
}

/// Percent for a height in nines: 0 → 0%, 1 → 90%, 2 → 99%, 3 → 99.9%.
fn percent(nines: f64) -> String {
    let p = 100.0 * (1.0 - libm::pow(10.0, -nines));
    format!("{}%", num(p, (nines.ceil() as usize).saturating_sub(2)))
}

/// Height in nines of a cumulative fraction, capped at the top of the axis.
fn nines(fraction: f64, y_top: f64) -> f64 {
    let rest = 1.0 - fraction;
    if rest <= libm::pow(10.0, -y_top) {
        y_top
    } else {
        -libm::log10(rest)
    }
}

/// The CDF as a staircase: at each recorded value it rises from the fraction below it to the
/// fraction at or below it.
fn cdf_steps(h: &Histogram<u64>, y_top: f64) -> Vec<(f64, f64)> {
    let total = h.len() as f64;
    let mut points = Vec::new();
    let mut below = 0u64;
    for v in h.iter_recorded() {
        let ms = h.highest_equivalent(v.value_iterated_to()) as f64 / 1000.0;
        points.push((ms, nines(below as f64 / total, y_top)));
        below += v.count_at_value();
        points.push((ms, nines(below as f64 / total, y_top)));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_and_percent() {
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(1.0), "90%");
        assert_eq!(percent(2.0), "99%");
        assert_eq!(percent(3.0), "99.9%");
        assert!((nines(0.99, 4.0) - 2.0).abs() < 1e-9);
        assert_eq!(nines(0.0, 4.0), 0.0);
        assert_eq!(nines(1.0, 4.0), 4.0);
    }
}
