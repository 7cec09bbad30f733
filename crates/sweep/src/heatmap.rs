//! Heatmaps over the sweep's first two params (x: the first, y: the second), one panel per
//! setting of the others (small multiples). Drawn with plotters' bitmap backend and DejaVu Sans
//! from the `dejavu` crate, as the run charts are: the same cells give the same pixels.

use std::io;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use crate::plan::Plan;

use etcdlab_report::FONT;
const CELL_W: i32 = 120;
const CELL_H: i32 = 46;
const LEFT: i32 = 150;
const PANEL_TOP: i32 = 34;
const PANEL_BOTTOM: i32 = 56;
const TITLE_H: i32 = 70;
const FOOTER_H: i32 = 34;
const GAP: i32 = 24;

/// One grid point's value.
#[derive(Clone, Copy, Debug)]
pub enum Cell {
    Value(f64),
    /// The scenario rejected this combination.
    Skipped,
    /// No run produced the figure.
    NoData,
}

#[derive(Clone, Copy, Debug)]
pub enum Scale {
    Linear,
    /// ln(1 + v): for figures spanning orders of magnitude.
    Log,
}

/// Which values get the palest and the darkest colour.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    /// `None`: the smallest value drawn.
    pub lo: Option<f64>,
    /// `None`: the largest value drawn.
    pub hi: Option<f64>,
}

pub use etcdlab_report::register_fonts;

fn text(size: u32, h: HPos, colour: RGBColor) -> TextStyle<'static> {
    (FONT, size)
        .into_font()
        .color(&colour)
        .pos(Pos::new(h, VPos::Center))
}

fn bold(size: u32) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center))
}

/// White -> yellow -> dark red.
fn colour(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8, u: f64| (a as f64 + (b as f64 - a as f64) * u).round() as u8;
    let (a, b, u) = if t < 0.5 {
        ((255, 255, 255), (253, 204, 92), t * 2.0)
    } else {
        ((253, 204, 92), (165, 15, 21), t * 2.0 - 1.0)
    };
    RGBColor(lerp(a.0, b.0, u), lerp(a.1, b.1, u), lerp(a.2, b.2, u))
}

fn format_value(v: f64, percent: bool) -> String {
    if percent {
        format!("{:.0}%", v * 100.0)
    } else if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Shortens long labels (inline tables) to fit a cell.
fn fit(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let cut: String = label.chars().take(max.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Draws the heatmap of `cells` (one per grid point) to `path` as PNG.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    path: &Path,
    plan: &Plan,
    title: &str,
    subtitle: &str,
    cells: &[Cell],
    scale: Scale,
    range: Range,
    percent: bool,
) -> io::Result<()> {
    register_fonts();
    let px = &plan.params[0];
    let py = plan.params.get(1);
    let nx = px.values.len() as i32;
    let ny = py.map_or(1, |p| p.values.len()) as i32;
    let panels: usize = plan.params.iter().skip(2).map(|p| p.values.len()).product();
    let cols = libm::sqrt(panels as f64).ceil() as i32;
    let rows = (panels as i32 + cols - 1) / cols;
    let panel_w = LEFT + nx * CELL_W + GAP;
    let panel_h = PANEL_TOP + ny * CELL_H + PANEL_BOTTOM;
    let width = (cols * panel_w + GAP).max(960) as u32;
    let height = (TITLE_H + rows * panel_h + FOOTER_H) as u32;
    let values: Vec<f64> = cells
        .iter()
        .filter_map(|c| match c {
            Cell::Value(v) => Some(*v),
            _ => None,
        })
        .collect();
    let lo = range
        .lo
        .unwrap_or_else(|| values.iter().copied().fold(f64::INFINITY, f64::min));
    let max = range
        .hi
        .unwrap_or_else(|| values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
    let lo = if lo.is_finite() { lo } else { 0.0 };
    let max = if max.is_finite() { max.max(lo) } else { lo };
    let f = |v: f64| match scale {
        Scale::Linear => v,
        Scale::Log => libm::log1p(v.max(0.0)),
    };
    let t = |v: f64| {
        if max > lo {
            (f(v) - f(lo)) / (f(max) - f(lo))
        } else if v > 0.0 {
            0.5
        } else {
            0.0
        }
    };
    let draw_all = |root: &DrawingArea<BitMapBackend, plotters::coord::Shift>| -> DrawResult {
        root.fill(&WHITE)?;
        root.draw(&Text::new(title.to_string(), (GAP, 22), bold(20)))?;
        root.draw(&Text::new(
            subtitle.to_string(),
            (GAP, 50),
            text(14, HPos::Left, RGBColor(90, 90, 90)),
        ))?;
        for panel in 0..panels {
            let ox = GAP / 2 + (panel as i32 % cols) * panel_w;
            let oy = TITLE_H + (panel as i32 / cols) * panel_h;
            // The other params' value indexes for this panel (the last one fastest).
            let mut coords = vec![0; plan.params.len()];
            let mut rest = panel;
            for i in (2..plan.params.len()).rev() {
                coords[i] = rest % plan.params[i].values.len();
                rest /= plan.params[i].values.len();
            }
            // Panel title: the other params' values.
            if plan.params.len() > 2 {
                let name = plan.params[2..]
                    .iter()
                    .zip(&coords[2..])
                    .map(|(p, &c)| format!("{} = {}", p.path, p.labels[c]))
                    .collect::<Vec<_>>()
                    .join(", ");
                root.draw(&Text::new(fit(&name, 90), (ox + 4, oy + 12), bold(14)))?;
            }
            let gx = ox + LEFT;
            let gy = oy + PANEL_TOP;
            for iy in 0..ny {
                for ix in 0..nx {
                    // Point index: x is param 0, y param 1 (rows from the top: first value).
                    coords[0] = ix as usize;
                    if coords.len() > 1 {
                        coords[1] = iy as usize;
                    }
                    let point = plan.point_of(&coords);
                    let (x0, y0) = (gx + ix * CELL_W, gy + iy * CELL_H);
                    let (fill, label, dark) = match cells.get(point) {
                        Some(Cell::Value(v)) => {
                            let tv = t(*v);
                            (colour(tv), format_value(*v, percent), tv > 0.65)
                        }
                        Some(Cell::Skipped) => (RGBColor(200, 200, 200), "skipped".into(), false),
                        _ => (RGBColor(235, 235, 235), "n/a".into(), false),
                    };
                    root.draw(&Rectangle::new(
                        [(x0, y0), (x0 + CELL_W, y0 + CELL_H)],
                        fill.filled(),
                    ))?;
                    root.draw(&Rectangle::new(
                        [(x0, y0), (x0 + CELL_W, y0 + CELL_H)],
                        RGBColor(255, 255, 255).stroke_width(2),
                    ))?;
                    let ink = if dark { WHITE } else { BLACK };
                    root.draw(&Text::new(
                        label,
                        (x0 + CELL_W / 2, y0 + CELL_H / 2),
                        text(15, HPos::Center, ink),
                    ))?;
                }
                let ylabel = py.map_or(String::new(), |p| p.labels[iy as usize].clone());
                root.draw(&Text::new(
                    fit(&ylabel, 20),
                    (gx - 8, gy + iy * CELL_H + CELL_H / 2),
                    text(13, HPos::Right, BLACK),
                ))?;
            }
            for ix in 0..nx {
                root.draw(&Text::new(
                    fit(&px.labels[ix as usize], 16),
                    (gx + ix * CELL_W + CELL_W / 2, gy + ny * CELL_H + 12),
                    text(13, HPos::Center, BLACK),
                ))?;
            }
            root.draw(&Text::new(
                fit(&format!("x: {}", px.path), 60),
                (gx, gy + ny * CELL_H + 36),
                text(13, HPos::Left, RGBColor(60, 60, 60)),
            ))?;
            if let Some(p) = py {
                root.draw(&Text::new(
                    fit(&format!("y: {}", p.path), 60),
                    (ox + 4, gy - 12),
                    text(13, HPos::Left, RGBColor(60, 60, 60)),
                ))?;
            }
        }
        let legend_y = height as i32 - FOOTER_H / 2;
        let mut x = GAP;
        for i in 0..=10 {
            let tv = i as f64 / 10.0;
            root.draw(&Rectangle::new(
                [(x, legend_y - 8), (x + 20, legend_y + 8)],
                colour(tv).filled(),
            ))?;
            x += 20;
        }
        let scale_note = match scale {
            Scale::Linear => "linear",
            Scale::Log => "log scale",
        };
        root.draw(&Text::new(
            format!(
                "{} .. {} ({scale_note}); grey: skipped (rejected by the scenario's validation)",
                format_value(lo, percent),
                format_value(max, percent)
            ),
            (x + 10, legend_y),
            text(13, HPos::Left, BLACK),
        ))?;
        root.present()?;
        Ok(())
    };
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    draw_all(&root).map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
}
