//! PNG charts drawn with plotters' bitmap backend and the DejaVu Sans font compiled into the
//! binary: no system fonts, no clock, so the same record always gives the same pixels.

use std::error::Error;
use std::io;
use std::path::Path;
use std::sync::Once;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

mod apiserver;
mod dbsize;
mod fsync;
mod latency;
mod timeline;

pub use apiserver::apiserver_latency;
pub use dbsize::db_size;
pub use fsync::wal_fsync;
pub use latency::write_latency;
pub use timeline::leader_timeline;

/// The only font family the charts use; registered from the `dejavu` crate.
pub const FONT: &str = "sans-serif";
pub(crate) const WIDTH: u32 = 1200;
pub(crate) const HEIGHT: u32 = 500;
/// Width of the left label area, the same on stacked panels so their x axes line up.
pub(crate) const Y_LABEL_AREA: u32 = 80;

pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
pub(crate) type DrawResult = Result<(), Box<dyn Error>>;

/// Members' colours (Tableau 10), by member index.
const MEMBER_COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub(crate) fn member_colour(i: usize) -> RGBColor {
    MEMBER_COLOURS[i % MEMBER_COLOURS.len()]
}

/// Colour of the scenario's fault/action markers, on every chart.
pub(crate) const MARKER: RGBColor = RGBColor(128, 0, 128);

/// Registers DejaVu Sans as "sans-serif" once per process (plotters keeps a global registry).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (style, bytes) in [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
        ] {
            if plotters::style::register_font(FONT, style, bytes).is_err() {
                panic!("the bundled DejaVu Sans font is invalid");
            }
        }
    });
}

/// Draws a `width`x`height` chart with `draw` and writes it as PNG to `path`.
pub(crate) fn render(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&Area) -> DrawResult,
) -> io::Result<()> {
    register_fonts();
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    let result = root
        .fill(&WHITE)
        .map_err(Into::into)
        .and_then(|()| draw(&root))
        .and_then(|()| root.present().map_err(Into::into));
    result.map_err(|e| io::Error::other(format!("{}: {e}", path.display())))
}

pub(crate) fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

pub(crate) fn bold(size: u32) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&BLACK)
}

/// `style` anchored at (`h`, `v`) of the text.
pub(crate) fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// A chart that only says `message` under `title`, for runs without the data to plot.
pub(crate) fn placeholder(area: &Area, title: &str, message: &str) -> DrawResult {
    area.draw(&Text::new(title.to_string(), (16, 12), bold(20)))?;
    let (w, h) = area.dim_in_pixel();
    let style = anchored(
        font(28).color(&RGBColor(110, 110, 110)),
        HPos::Center,
        VPos::Center,
    );
    area.draw(&Text::new(
        message.to_string(),
        (w as i32 / 2, h as i32 / 2),
        style,
    ))?;
    Ok(())
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    /// A filled box (areas, bars).
    Fill(RGBColor),
    /// A line of the given width (series).
    Line(RGBColor, u32),
    /// A dashed line (markers).
    Dashed(RGBColor),
}

/// A one-row legend starting at `(x, y)` (y is the row's middle), drawn outside the plot so it
/// never hides data.
pub(crate) fn legend<S: AsRef<str>>(
    area: &Area,
    (mut x, y): (i32, i32),
    items: &[(S, Key)],
) -> DrawResult {
    for (name, key) in items {
        let name = name.as_ref();
        match *key {
            Key::Fill(c) => {
                area.draw(&Rectangle::new([(x, y - 7), (x + 22, y + 7)], c.filled()))?;
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + 22, y + 7)],
                    BLACK.mix(0.3),
                ))?;
            }
            Key::Line(c, w) => {
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 22, y)],
                    c.stroke_width(w),
                ))?;
            }
            Key::Dashed(c) => {
                let dash = plotters::element::DashedPathElement::new(
                    vec![(x, y), (x + 22, y)],
                    5,
                    3,
                    c.stroke_width(2),
                );
                area.draw(&dash)?;
            }
        }
        let style = anchored(font(15), HPos::Left, VPos::Center);
        area.draw(&Text::new(name.to_string(), (x + 28, y), style))?;
        let (w, _) = area.estimate_text_size(name, &font(15))?;
        x += 28 + w as i32 + 18;
    }
    Ok(())
}

/// Time axis unit: minutes for runs longer than ten minutes, seconds otherwise.
#[derive(Clone, Copy)]
pub(crate) struct TimeUnit {
    pub seconds: f64,
    pub name: &'static str,
}

impl TimeUnit {
    pub fn for_span(total_s: f64) -> Self {
        if total_s > 600.0 {
            Self {
                seconds: 60.0,
                name: "min",
            }
        } else {
            Self {
                seconds: 1.0,
                name: "s",
            }
        }
    }

    pub fn of_ns(&self, ns: u64) -> f64 {
        crate::format::ns_to_s(ns) / self.seconds
    }
}

/// Tick label for a latency in milliseconds: "0.5", "10", "1000".
/// Where a time axis starts (seconds): at 0, unless the first data point (`first_s`) comes
/// late in the run, as after a fast-forward, which has no points before its simulated part and
/// would squeeze them into the axis' last pixels. A plain run's first point comes within
/// minutes (the first scrapes with a rate, the first 5-minute bin).
pub(crate) fn axis_start_s(first_s: Option<f64>, run_s: f64) -> f64 {
    first_s
        .filter(|&s| s > 600.0 && s > run_s / 10.0)
        .unwrap_or(0.0)
}

pub(crate) fn ms_label(ms: f64) -> String {
    crate::format::num(ms, if ms < 1.0 { 3 } else { 1 })
}

/// Dashed vertical lines at the scenario's timeline entries; numbered when `numbers` is set,
/// skipping a number that would overlap the previous one.
pub(crate) fn draw_fault_markers<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    record: &crate::RunRecord,
    unit: TimeUnit,
    y_top: f64,
    numbers: bool,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let y_range = chart.y_range();
    let line_top = if numbers { y_top - 0.5 } else { y_range.end };
    let px_per_x = f64::from(chart.plotting_area().dim_in_pixel().0) / chart.x_range().end;
    let mut last_label_px = f64::NEG_INFINITY;
    for (i, entry) in record.timeline.iter().enumerate() {
        let x = unit.of_ns(entry.at_ns);
        chart.draw_series(DashedLineSeries::new(
            [(x, y_range.start), (x, line_top)],
            5,
            3,
            MARKER.mix(0.8).stroke_width(1),
        ))?;
        let label = (i + 1).to_string();
        let px = x * px_per_x;
        if numbers && px - last_label_px >= 8.0 * label.len() as f64 + 6.0 {
            let style = anchored(font(13).color(&MARKER), HPos::Center, VPos::Center);
            chart.draw_series([Text::new(label, (x, y_top - 0.25), style)])?;
            last_label_px = px;
        }
    }
    Ok(())
}
