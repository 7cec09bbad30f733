//! `leader-timeline.png`: one lane per member coloured by role, a lane for the cluster's leader
//! (with terms), and below it the term as a step line; faults are numbered vertical markers
//! matching the timeline table of the report.

use std::io;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    anchored, bold, draw_fault_markers, font, render, Area, DrawResult, TimeUnit, WIDTH,
    Y_LABEL_AREA,
};
use super::{legend, Key, MARKER};
use crate::format::member_name;
use crate::{RoleKind, RunRecord};

const LEADER: RGBColor = RGBColor(46, 139, 87);
/// Every other leader span in the leader lane, so consecutive terms stay distinguishable.
const LEADER_ALT: RGBColor = RGBColor(27, 94, 57);
const FOLLOWER: RGBColor = RGBColor(198, 219, 239);
const PRE_CANDIDATE: RGBColor = RGBColor(253, 208, 162);
const CANDIDATE: RGBColor = RGBColor(241, 105, 19);
const DOWN: RGBColor = RGBColor(60, 60, 60);
const NO_LEADER: RGBColor = RGBColor(214, 39, 40);

const HEADER: u32 = 56;
const TERM_PANEL: u32 = 150;
const LANE_PX: u32 = 46;
/// Shortest drawn span in pixels, so a 100 ms candidacy in an hour-long run still shows.
const MIN_SPAN_PX: f64 = 3.0;

fn role_colour(role: RoleKind) -> RGBColor {
    match role {
        RoleKind::Follower => FOLLOWER,
        RoleKind::PreCandidate => PRE_CANDIDATE,
        RoleKind::Candidate => CANDIDATE,
        RoleKind::Leader => LEADER,
        RoleKind::Down => DOWN,
    }
}

/// A coloured stretch of one lane, in chart x units.
struct Span {
    from: f64,
    to: f64,
    colour: RGBColor,
    label: String,
}

pub fn leader_timeline(record: &RunRecord, path: &Path) -> io::Result<()> {
    let lanes = record.member_names.len().max(1) + 1;
    let lanes_px = (LANE_PX * lanes as u32 + 50).max(240);
    let height = (HEADER + lanes_px + TERM_PANEL).max(super::HEIGHT);
    render(path, (WIDTH, height), |root| {
        let (header, rest) = root.split_vertically(HEADER);
        let (lanes_area, term_area) = rest.split_vertically(height - HEADER - TERM_PANEL);
        let unit = TimeUnit::for_span(end_seconds(record));
        let x_end = end_seconds(record) / unit.seconds;
        draw_header(&header, record)?;
        draw_lanes(&lanes_area, record, unit, x_end)?;
        draw_terms(&term_area, record, unit, x_end)
    })
}

/// The end of the x axis: the run's length, or the last thing recorded if that is later.
fn end_seconds(record: &RunRecord) -> f64 {
    let last_ns = [
        record.role_changes.iter().map(|c| c.at_ns).max(),
        record.leader_timeline.iter().map(|s| s.to_ns).max(),
        record.timeline.iter().map(|t| t.at_ns).max(),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0);
    let end = record
        .summary
        .simulated_seconds
        .max(crate::format::ns_to_s(last_ns));
    if end > 0.0 {
        end
    } else {
        1.0
    }
}

fn draw_header(area: &Area, record: &RunRecord) -> DrawResult {
    let title = format!("Leader timeline: {}", record.summary.scenario);
    area.draw(&Text::new(title, (16, 10), bold(20)))?;
    let items = [
        ("leader", Key::Fill(LEADER)),
        ("follower", Key::Fill(FOLLOWER)),
        ("pre-candidate", Key::Fill(PRE_CANDIDATE)),
        ("candidate", Key::Fill(CANDIDATE)),
        ("down", Key::Fill(DOWN)),
        ("no leader", Key::Fill(NO_LEADER)),
        (
            "fault / action (numbered as in the report's timeline)",
            Key::Dashed(MARKER),
        ),
    ];
    legend(area, (16, 38), &items)?;
    Ok(())
}

fn draw_lanes(area: &Area, record: &RunRecord, unit: TimeUnit, x_end: f64) -> DrawResult {
    let members = record.member_names.len().max(1);
    let lanes = members + 1;
    // Half a lane of headroom at the top holds the fault numbers.
    let y_top = lanes as f64 + 0.5;
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..x_end, 0f64..y_top)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(0)
        .light_line_style(WHITE)
        .draw()?;
    let px_per_x = f64::from(chart.plotting_area().dim_in_pixel().0) / x_end;
    // Lane 0 is the leader lane at the top; member m is lane m + 1.
    let lane_y = |lane: usize| (lanes - 1 - lane) as f64;
    let mut all = vec![(0, leader_spans(record, unit))];
    for m in 0..members {
        all.push((m + 1, member_spans(record, m, unit, x_end)));
    }
    for (lane, spans) in &all {
        let y = lane_y(*lane);
        let min_w = MIN_SPAN_PX / px_per_x;
        chart.draw_series(spans.iter().map(|s| {
            let to = s.to.max(s.from + min_w);
            Rectangle::new([(s.from, y + 0.12), (to, y + 0.88)], s.colour.filled())
        }))?;
        chart.draw_series(spans.iter().filter_map(|s| span_label(s, y, px_per_x)))?;
    }
    if record.role_changes.is_empty() && record.leader_timeline.is_empty() {
        let style = anchored(
            font(22).color(&RGBColor(110, 110, 110)),
            HPos::Center,
            VPos::Center,
        );
        chart.draw_series([Text::new(
            "no role changes recorded",
            (x_end / 2.0, lanes as f64 / 2.0),
            style,
        )])?;
    }
    draw_fault_markers(&mut chart, record, unit, y_top, true)?;
    // Lane names sit left of the plot, centred on their lane.
    let names = std::iter::once("leader".to_string())
        .chain((0..members).map(|m| member_name(&record.member_names, m)));
    for (lane, name) in names.enumerate() {
        let (px, py) = chart.backend_coord(&(0.0, lane_y(lane) + 0.5));
        let style = anchored(
            if lane == 0 { bold(15) } else { font(15) },
            HPos::Right,
            VPos::Center,
        );
        area.draw(&Text::new(
            name,
            (
                px - 10 - area.get_base_pixel().0,
                py - area.get_base_pixel().1,
            ),
            style,
        ))?;
    }
    Ok(())
}

/// The leader lane: who led in which term, red where there was no leader.
fn leader_spans(record: &RunRecord, unit: TimeUnit) -> Vec<Span> {
    record
        .leader_timeline
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (colour, label) = match s.leader {
                Some(m) => {
                    let colour = if i % 2 == 0 { LEADER } else { LEADER_ALT };
                    (
                        colour,
                        format!("{} t{}", member_name(&record.member_names, m), s.term),
                    )
                }
                None => (NO_LEADER, "no leader".to_string()),
            };
            Span {
                from: unit.of_ns(s.from_ns),
                to: unit.of_ns(s.to_ns),
                colour,
                label,
            }
        })
        .collect()
}

/// Member `m`'s roles over time; before its first change it is a follower, as etcd starts.
fn member_spans(record: &RunRecord, m: usize, unit: TimeUnit, x_end: f64) -> Vec<Span> {
    let changes: Vec<_> = record
        .role_changes
        .iter()
        .filter(|c| c.member == m)
        .collect();
    let mut spans = Vec::new();
    let mut from = 0.0;
    let mut current = (RoleKind::Follower, None);
    for c in &changes {
        let at = unit.of_ns(c.at_ns);
        spans.push(role_span(from, at, current));
        (from, current) = (at, (c.role, Some(c.term)));
    }
    spans.push(role_span(from, x_end, current));
    // Followers are the background and leaders the long spans: draw them first so short
    // candidacies and outages stay visible on top.
    spans.sort_by_key(|s| match s.colour {
        FOLLOWER => 0,
        LEADER => 1,
        _ => 2,
    });
    spans
}

fn role_span(from: f64, to: f64, (role, term): (RoleKind, Option<u64>)) -> Span {
    let label = match (role, term) {
        (RoleKind::Leader, Some(t)) => format!("t{t}"),
        _ => String::new(),
    };
    Span {
        from,
        to,
        colour: role_colour(role),
        label,
    }
}

/// The span's label, centred, if it fits; shortened to the term ("t7") if only that fits.
fn span_label(s: &Span, y: f64, px_per_x: f64) -> Option<Text<'static, (f64, f64), String>> {
    let width_px = (s.to - s.from) * px_per_x;
    let fits = |text: &str| 7.0 * text.len() as f64 + 4.0 <= width_px;
    let text = if fits(&s.label) {
        s.label.clone()
    } else {
        let short = s.label.split(' ').next_back().unwrap_or("").to_string();
        if short.starts_with('t') && fits(&short) {
            short
        } else {
            return None;
        }
    };
    if text.is_empty() {
        return None;
    }
    let ink: &'static RGBColor = if s.colour == FOLLOWER || s.colour == PRE_CANDIDATE {
        &BLACK
    } else {
        &WHITE
    };
    let style = anchored(font(13).color(ink), HPos::Center, VPos::Center);
    Some(Text::new(text, ((s.from + s.to) / 2.0, y + 0.5), style))
}

/// The highest term seen so far in the cluster, as a step line under the lanes.
fn draw_terms(area: &Area, record: &RunRecord, unit: TimeUnit, x_end: f64) -> DrawResult {
    let steps = term_steps(record, unit, x_end);
    let max_term = steps
        .iter()
        .map(|p| p.1)
        .fold(record.summary.max_term as f64, f64::max);
    let mut chart = ChartBuilder::on(area)
        .margin_right(24)
        .margin_bottom(8)
        .x_label_area_size(42)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..x_end, 0f64..(max_term * 1.15).max(1.0))?;
    chart
        .configure_mesh()
        .x_desc(format!("simulated time ({})", unit.name))
        .y_desc("term")
        .y_labels(4)
        .x_labels(16)
        .y_label_formatter(&|v| integer_label(*v))
        .x_label_formatter(&|v| crate::format::num(*v, 1))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .max_light_lines(1)
        .light_line_style(RGBColor(240, 240, 240))
        .draw()?;
    chart.draw_series(LineSeries::new(steps, BLACK.stroke_width(2)))?;
    draw_fault_markers(&mut chart, record, unit, 0.0, false)?;
    Ok(())
}

/// (x, term) corners of the running maximum term, from role changes or, failing those, from
/// the leader spans.
fn term_steps(record: &RunRecord, unit: TimeUnit, x_end: f64) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, u64)> = record
        .role_changes
        .iter()
        .map(|c| (unit.of_ns(c.at_ns), c.term))
        .collect();
    if points.is_empty() {
        points = record
            .leader_timeline
            .iter()
            .map(|s| (unit.of_ns(s.from_ns), s.term))
            .collect();
    }
    let mut steps = Vec::new();
    let mut max = None;
    for (x, term) in points {
        if max.is_some_and(|m| term <= m) {
            continue;
        }
        if let Some(m) = max {
            steps.push((x, m as f64));
        }
        steps.push((x, term as f64));
        max = Some(term);
    }
    if let Some(m) = max {
        steps.push((x_end, m as f64));
    }
    steps
}

/// Terms are whole numbers: label only the integral ticks.
fn integer_label(v: f64) -> String {
    if v.fract() == 0.0 {
        crate::format::num(v, 0)
    } else {
        String::new()
    }
}
