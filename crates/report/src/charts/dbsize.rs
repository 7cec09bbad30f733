//! `db-size.png`: each member's backend size (solid) and in-use size (thin) against the quota
//! (dashed red step line), with the alarm raises/disarms and the operator's steps marked. Only
//! written for runs with size samples.

use std::io;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    anchored, bold, font, legend, member_colour, placeholder, render, Area, DrawResult, Key,
    HEIGHT, MARKER, WIDTH, Y_LABEL_AREA,
};
use crate::format::{member_name, ns_to_s, num};
use crate::{DbSizeSample, RunRecord};

const QUOTA: RGBColor = RGBColor(214, 39, 40);
const RAISED: RGBColor = RGBColor(214, 39, 40);
const DISARMED: RGBColor = RGBColor(44, 160, 44);
/// Points kept per member and series: about two per pixel column of the plot.
const MAX_POINTS: usize = 2400;

/// The x axis unit for a run of `total_s` seconds: s, min, h or days.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct XUnit {
    pub seconds: f64,
    pub name: &'static str,
}

impl XUnit {
    pub fn for_span(total_s: f64) -> Self {
        let (seconds, name) = if total_s > 2.0 * 86_400.0 {
            (86_400.0, "days")
        } else if total_s > 3.0 * 3600.0 {
            (3600.0, "h")
        } else if total_s > 600.0 {
            (60.0, "min")
        } else {
            (1.0, "s")
        };
        Self { seconds, name }
    }

    fn of_ns(self, ns: u64) -> f64 {
        ns_to_s(ns) / self.seconds
    }
}

/// The y axis unit: the largest binary unit the top of the axis reaches.
fn y_unit(max_bytes: u64) -> (f64, &'static str) {
    const KIB: f64 = 1024.0;
    match max_bytes as f64 {
        b if b >= KIB * KIB * KIB => (KIB * KIB * KIB, "GiB"),
        b if b >= KIB * KIB => (KIB * KIB, "MiB"),
        _ => (KIB, "KiB"),
    }
}

pub fn db_size(record: &RunRecord, path: &Path) -> io::Result<()> {
    render(path, (WIDTH, HEIGHT), |root| {
        let title = format!("Database size: {}", record.summary.scenario);
        if record.db_size.is_empty() {
            return placeholder(root, &title, "no database size samples");
        }
        root.draw(&Text::new(title, (16, 10), bold(20)))?;
        legend(root, (16, 44), &legend_items(record))?;
        draw(&root.margin(60, 0, 0, 0), record)
    })
}

fn legend_items(record: &RunRecord) -> Vec<(String, Key)> {
    let mut items: Vec<(String, Key)> = members(&record.db_size)
        .into_iter()
        .map(|m| {
            let name = member_name(&record.member_names, m);
            (name, Key::Line(member_colour(m), 2))
        })
        .collect();
    items.push(("thin: in use".into(), Key::Line(RGBColor(120, 120, 120), 1)));
    if !record.quota_bytes.is_empty() {
        items.push(("quota".into(), Key::Dashed(QUOTA)));
    }
    if record.alarms.iter().any(|a| a.raised) {
        items.push(("alarm raised".into(), Key::Line(RAISED, 1)));
    }
    if record.alarms.iter().any(|a| !a.raised) {
        items.push(("disarmed".into(), Key::Line(DISARMED, 1)));
    }
    if !record.operator_steps.is_empty() {
        items.push((
            "operator step (numbered as in the report)".into(),
            Key::Dashed(MARKER),
        ));
    }
    items
}

fn members(samples: &[DbSizeSample]) -> Vec<usize> {
    let mut members: Vec<usize> = samples.iter().map(|s| s.member).collect();
    members.sort_unstable();
    members.dedup();
    members
}

/// The run's end in ns: its length, or the last thing plotted if that is later.
fn end_ns(record: &RunRecord) -> u64 {
    let run = (record.summary.simulated_seconds.max(0.0) * 1e9).round() as u64;
    let last_sample = record.db_size.iter().map(|s| s.t_ns).max().unwrap_or(0);
    let last_step = record
        .operator_steps
        .iter()
        .map(|s| s.finished_ns)
        .max()
        .unwrap_or(0);
    run.max(last_sample).max(last_step).max(1)
}

fn draw(area: &Area, record: &RunRecord) -> DrawResult {
    let end = end_ns(record);
    let unit = XUnit::for_span(ns_to_s(end));
    let x_end = unit.of_ns(end);
    let max_size = record.db_size.iter().map(|s| s.size_bytes).max();
    let max_quota = record.quota_bytes.iter().map(|q| q.1).max();
    let top = max_size.max(max_quota).unwrap_or(1).max(1);
    let (y_scale, y_name) = y_unit(top);
    // Headroom above the highest line holds the step numbers.
    let y_top = top as f64 / y_scale * 1.12;
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(42)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..x_end, 0f64..y_top)?;
    chart
        .configure_mesh()
        .x_desc(format!("simulated time ({})", unit.name))
        .y_desc(format!("size ({y_name})"))
        .x_labels(16)
        .y_labels(10)
        .x_label_formatter(&|v| num(*v, 2))
        .y_label_formatter(&|v| num(*v, 2))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .max_light_lines(4)
        .light_line_style(RGBColor(242, 242, 242))
        .draw()?;
    let px_per_x = f64::from(chart.plotting_area().dim_in_pixel().0) / x_end;
    let y = |bytes: u64| bytes as f64 / y_scale;

    // Alarms first, so the size lines are drawn over them.
    for a in &record.alarms {
        let x = unit.of_ns(a.at_ns);
        let colour = if a.raised { RAISED } else { DISARMED };
        chart.draw_series(LineSeries::new(
            [(x, 0.0), (x, y_top)],
            colour.mix(0.5).stroke_width(1),
        ))?;
    }
    let mut last_label_px = f64::NEG_INFINITY;
    for (i, step) in record.operator_steps.iter().enumerate() {
        let x = unit.of_ns(step.started_ns);
        chart.draw_series(DashedLineSeries::new(
            [(x, 0.0), (x, y_top * 0.95)],
            5,
            3,
            MARKER.mix(0.8).stroke_width(1),
        ))?;
        let label = (i + 1).to_string();
        let px = x * px_per_x;
        // Steps seconds apart on a long axis would print over each other: skip those labels.
        if px - last_label_px >= 8.0 * label.len() as f64 + 6.0 {
            let style = anchored(font(13).color(&MARKER), HPos::Center, VPos::Center);
            chart.draw_series([Text::new(label, (x, y_top * 0.975), style)])?;
            last_label_px = px;
        }
    }
    if !record.quota_bytes.is_empty() {
        let steps = quota_steps(&record.quota_bytes, end);
        let points: Vec<(f64, f64)> = steps
            .into_iter()
            .map(|(t, q)| (unit.of_ns(t), y(q)))
            .collect();
        chart.draw_series(DashedLineSeries::new(points, 8, 4, QUOTA.stroke_width(2)))?;
    }
    for m in members(&record.db_size) {
        let samples: Vec<DbSizeSample> = record
            .db_size
            .iter()
            .filter(|s| s.member == m)
            .copied()
            .collect();
        let colour = member_colour(m);
        let in_use = downsample(&samples, MAX_POINTS, |s| s.in_use_bytes);
        chart.draw_series(LineSeries::new(
            in_use
                .iter()
                .map(|s| (unit.of_ns(s.t_ns), y(s.in_use_bytes))),
            colour.mix(0.6).stroke_width(1),
        ))?;
        let size = downsample(&samples, MAX_POINTS, |s| s.size_bytes);
        chart.draw_series(LineSeries::new(
            size.iter().map(|s| (unit.of_ns(s.t_ns), y(s.size_bytes))),
            colour.stroke_width(2),
        ))?;
    }
    Ok(())
}

/// The quota as a step line from 0 to `end_ns`: each value holds until the next change.
fn quota_steps(quota: &[(u64, u64)], end_ns: u64) -> Vec<(u64, u64)> {
    let mut current = quota.first().map_or(0, |q| q.1);
    let mut points = vec![(0, current)];
    for &(from, q) in quota {
        if from > 0 {
            points.push((from, current));
            points.push((from, q));
        } else {
            points[0].1 = q;
        }
        current = q;
    }
    let last = points.last().map_or(0, |p| p.0);
    points.push((end_ns.max(last), current));
    points
}

/// At most about `max_points` of `samples` (in time order), keeping in every bucket of equal
/// sample count its first, lowest, highest and last point by `value`, in time order: spikes and
/// drops (a defrag) survive, and the result depends only on the input.
fn downsample(
    samples: &[DbSizeSample],
    max_points: usize,
    value: impl Fn(&DbSizeSample) -> u64,
) -> Vec<DbSizeSample> {
    if samples.len() <= max_points || max_points < 4 {
        return samples.to_vec();
    }
    let buckets = max_points / 4;
    let mut out = Vec::with_capacity(max_points);
    for b in 0..buckets {
        let lo = b * samples.len() / buckets;
        let hi = (b + 1) * samples.len() / buckets;
        let bucket = &samples[lo..hi];
        if bucket.is_empty() {
            continue;
        }
        let (mut min_i, mut max_i) = (0, 0);
        for (i, s) in bucket.iter().enumerate() {
            if value(s) < value(&bucket[min_i]) {
                min_i = i;
            }
            if value(s) > value(&bucket[max_i]) {
                max_i = i;
            }
        }
        let mut keep = [0, min_i, max_i, bucket.len() - 1];
        keep.sort_unstable();
        let mut prev = None;
        for i in keep {
            if prev != Some(i) {
                out.push(bucket[i]);
                prev = Some(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: u64, v: u64) -> DbSizeSample {
        DbSizeSample {
            t_ns: t,
            member: 0,
            size_bytes: v,
            in_use_bytes: v / 2,
        }
    }

    #[test]
    fn units_follow_the_run_length() {
        assert_eq!(XUnit::for_span(300.0).name, "s");
        assert_eq!(XUnit::for_span(900.0).name, "min");
        assert_eq!(XUnit::for_span(86_400.0).name, "h");
        assert_eq!(XUnit::for_span(2.0 * 86_400.0).name, "h");
        assert_eq!(XUnit::for_span(30.0 * 86_400.0).name, "days");
        assert_eq!(y_unit(16_777_216).1, "MiB");
        assert_eq!(y_unit(8 << 30).1, "GiB");
        assert_eq!(y_unit(24_576).1, "KiB");
    }

    #[test]
    fn downsampling_keeps_extremes_ends_and_order() {
        // A slow ramp with one spike and one drop in the middle.
        let mut samples: Vec<DbSizeSample> = (0..10_000).map(|i| s(i, 1000 + i)).collect();
        samples[4321].size_bytes = 1_000_000;
        samples[7777].size_bytes = 3;
        let out = downsample(&samples, 400, |x| x.size_bytes);
        assert!(out.len() <= 400, "{}", out.len());
        assert_eq!(out.first(), samples.first());
        assert_eq!(out.last(), samples.last());
        assert!(out.contains(&samples[4321]) && out.contains(&samples[7777]));
        assert!(out.windows(2).all(|w| w[0].t_ns < w[1].t_ns));
        assert_eq!(out, downsample(&samples, 400, |x| x.size_bytes));
        // Short series are left alone.
        assert_eq!(
            downsample(&samples[..10], 400, |x| x.size_bytes),
            &samples[..10]
        );
    }

    #[test]
    fn quota_is_a_step_line_to_the_end() {
        assert_eq!(quota_steps(&[(0, 16)], 100), [(0, 16), (100, 16)]);
        assert_eq!(
            quota_steps(&[(0, 16), (50, 8)], 100),
            [(0, 16), (50, 16), (50, 8), (100, 8)]
        );
        // A quota first known after the start is drawn from 0.
        assert_eq!(
            quota_steps(&[(10, 4)], 20),
            [(0, 4), (10, 4), (10, 4), (20, 4)]
        );
    }
}
