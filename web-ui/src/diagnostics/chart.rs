//! A small hand-written SVG chart of readings over time for the diagnostics page: up to four
//! lines against a left and an optional right axis (each with tick labels and a title with its
//! unit), a UTC time axis, optional shaded spans (e.g. "on battery"), and a legend. Readings are
//! grouped into at most [`BUCKETS`] columns so 90 days of minute readings stay a few kilobytes;
//! a line breaks where readings stop for longer than the chart's `join_ms`.
//!
//! It must never put text into the markup unescaped, never emit a `style` attribute or element
//! (the CSP forbids them: colours are presentation attributes, text looks come from classes),
//! never draw a non-finite number (such readings are dropped), and never draw an empty chart:
//! [`render`] answers `None` when there is nothing to draw, and the page says so in words.
//! Lines differ by dash as well as colour, and the `<desc>` states the range of every line.

use std::fmt::Write as _;

use crate::pages::{Escaped, civil_from_days};

/// The drawing's width in SVG units; a phone shows it at about this many CSS pixels.
const WIDTH: f64 = 320.0;
const FONT: f64 = 13.0;
/// An estimate of one character's width at `FONT`, for laying out labels.
const CHAR_W: f64 = 7.4;
const LEFT: f64 = 40.0;
const RIGHT_WITH_AXIS: f64 = 52.0;
const RIGHT_WITHOUT: f64 = 12.0;
/// Room above the plot for the axis titles.
const TOP: f64 = 28.0;
const PLOT_H: f64 = 150.0;
const ROW: f64 = 19.0;
/// The most columns readings are grouped into.
pub(super) const BUCKETS: usize = 120;

const AXIS: &str = "#475160";
const GRID: &str = "#d3d8df";
const BAND: &str = "#f6dfb8";

/// Line colours, each at least 3:1 against white; lines also differ by dash.
pub(super) const BLUE: &str = "#1d4fb8";
pub(super) const AMBER: &str = "#9a5b00";
pub(super) const PURPLE: &str = "#7a3e9d";
pub(super) const TEAL: &str = "#0f766e";

const DASHES: [&str; 4] = ["", "6 3", "2 3", "9 3 2 3"];

/// A lone reading's mark, one shape per line so lines differ by more than colour there too:
/// circle, square, triangle, diamond, centred on (`x`, `y`).
fn marker(index: usize, x: f64, y: f64, colour: &str) -> String {
    match index % 4 {
        0 => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.2\" fill=\"{colour}\"/>"),
        1 => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"6\" height=\"6\" fill=\"{colour}\"/>",
            x - 3.0,
            y - 3.0
        ),
        2 => format!(
            "<path d=\"M{x:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} Z\" fill=\"{colour}\"/>",
            y - 4.0,
            x + 4.0,
            y + 3.0,
            x - 4.0,
            y + 3.0
        ),
        _ => format!(
            "<path d=\"M{x:.1} {:.1} L{:.1} {y:.1} L{x:.1} {:.1} L{:.1} {y:.1} Z\" fill=\"{colour}\"/>",
            y - 4.0,
            x + 4.0,
            y + 4.0,
            x - 4.0
        ),
    }
}

/// Which axis a line is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Left,
    Right,
}

/// How the readings that fall into one column become the one value drawn there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// The lowest (e.g. the worst fix mode, the emptiest battery).
    Min,
    /// The highest (e.g. the hottest temperature).
    Max,
    Mean,
}

/// How an axis finds its range and labels its ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Scale {
    /// A fixed range with ticks every `step` (e.g. 0–100 %).
    Fixed { min: f64, max: f64, step: f64 },
    /// A round range around the values drawn, at least `min_span` tall (so a steady reading is
    /// not drawn as wild noise); from zero if `from_zero` and nothing is below it.
    Auto { from_zero: bool, min_span: f64 },
    /// A fixed range whose ticks are words (e.g. fix modes).
    Words {
        min: f64,
        max: f64,
        ticks: &'static [(f64, &'static str)],
    },
}

/// An axis: its title (with the unit) and scale.
pub(super) struct Axis {
    pub(super) title: String,
    pub(super) scale: Scale,
}

/// One line: its legend name, colour, axis, and readings as (Unix ms, value), in any order.
pub(super) struct Line {
    pub(super) name: String,
    /// What follows a value in the chart's description, e.g. " %" or " °C"; empty for counts.
    pub(super) unit: &'static str,
    pub(super) colour: &'static str,
    pub(super) side: Side,
    pub(super) pick: Pick,
    /// Drawn as steps (the value holds until the next reading) rather than slopes.
    pub(super) steps: bool,
    pub(super) points: Vec<(i64, f64)>,
}

/// Shaded time spans with their legend text.
pub(super) struct Bands {
    pub(super) name: String,
    pub(super) spans: Vec<(i64, i64)>,
}

/// What a chart shows. All text is plain text: [`render`] escapes it.
pub(super) struct TimeChart {
    /// Unique on the page; fixed words only (used for `id` attributes).
    pub(super) id: &'static str,
    pub(super) title: String,
    /// The time shown, Unix ms (`from_ms` < `to_ms`).
    pub(super) from_ms: i64,
    pub(super) to_ms: i64,
    /// Two readings further apart than this are not joined by a line.
    pub(super) join_ms: i64,
    pub(super) left: Axis,
    pub(super) right: Option<Axis>,
    pub(super) lines: Vec<Line>,
    pub(super) bands: Option<Bands>,
}

/// The readings of one line that fell into one column.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    sum: f64,
    count: u32,
    min: f64,
    max: f64,
    first_ms: i64,
    last_ms: i64,
}

impl Bucket {
    fn value(&self, pick: Pick) -> f64 {
        match pick {
            Pick::Min => self.min,
            Pick::Max => self.max,
            Pick::Mean => self.sum / f64::from(self.count),
        }
    }
}

/// A line's readings grouped into columns (`None`: no reading there).
struct Grouped {
    buckets: Vec<Option<Bucket>>,
}

/// The column a time falls into, if it is inside the chart.
fn column(at_ms: i64, from_ms: i64, to_ms: i64, columns: usize) -> Option<usize> {
    if at_ms < from_ms || at_ms > to_ms {
        return None;
    }
    let span = (to_ms - from_ms).max(1) as f64;
    let at = ((at_ms - from_ms) as f64 / span * columns as f64) as usize;
    Some(at.min(columns - 1))
}

fn group(line: &Line, from_ms: i64, to_ms: i64) -> Option<Grouped> {
    let mut buckets: Vec<Option<Bucket>> = vec![None; BUCKETS];
    let mut any = false;
    for &(at_ms, value) in &line.points {
        if !value.is_finite() {
            continue;
        }
        let Some(at) = column(at_ms, from_ms, to_ms, BUCKETS) else {
            continue;
        };
        any = true;
        let slot = &mut buckets[at];
        match slot {
            Some(bucket) => {
                bucket.sum += value;
                bucket.count += 1;
                bucket.min = bucket.min.min(value);
                bucket.max = bucket.max.max(value);
                bucket.first_ms = bucket.first_ms.min(at_ms);
                bucket.last_ms = bucket.last_ms.max(at_ms);
            }
            None => {
                *slot = Some(Bucket {
                    sum: value,
                    count: 1,
                    min: value,
                    max: value,
                    first_ms: at_ms,
                    last_ms: at_ms,
                });
            }
        }
    }
    any.then_some(Grouped { buckets })
}

/// An axis's range and ticks (value, label).
struct Ticks {
    min: f64,
    max: f64,
    ticks: Vec<(f64, String)>,
}

impl Ticks {
    fn for_scale(scale: Scale, low: Option<f64>, high: Option<f64>) -> Ticks {
        match scale {
            Scale::Fixed { min, max, step } => {
                let step = if step > 0.0 { step } else { max - min };
                let count = ((max - min) / step).round().max(1.0) as usize;
                let decimals = decimals(step);
                let ticks = (0..=count)
                    .map(|i| {
                        let v = min + step * i as f64;
                        (v, format_tick(v, decimals))
                    })
                    .collect();
                Ticks { min, max, ticks }
            }
            Scale::Words { min, max, ticks } => Ticks {
                min,
                max,
                ticks: ticks.iter().map(|(v, w)| (*v, (*w).to_owned())).collect(),
            },
            Scale::Auto {
                from_zero,
                min_span,
            } => {
                let (mut low, mut high) = (low.unwrap_or(0.0), high.unwrap_or(1.0));
                if from_zero {
                    low = low.min(0.0);
                }
                let min_span = if min_span.is_finite() && min_span > 1e-9 {
                    min_span
                } else {
                    1.0
                };
                if high - low < min_span {
                    let middle = (high + low) / 2.0;
                    low = middle - min_span / 2.0;
                    high = middle + min_span / 2.0;
                    if from_zero && low < 0.0 && middle >= 0.0 {
                        (low, high) = (0.0, high - low);
                    }
                }
                let step = nice_step((high - low) / 4.0);
                let min = (low / step).floor() * step;
                let mut max = (high / step).ceil() * step;
                if max - min < step {
                    max = min + step;
                }
                let count = ((max - min) / step).round().max(1.0) as usize;
                let decimals = decimals(step);
                let ticks = (0..=count)
                    .map(|i| {
                        let v = min + step * i as f64;
                        (v, format_tick(v, decimals))
                    })
                    .collect();
                Ticks { min, max, ticks }
            }
        }
    }

    /// The height of `value` on the plot.
    fn y(&self, value: f64) -> f64 {
        let span = (self.max - self.min).max(1e-9);
        TOP + PLOT_H - ((value.clamp(self.min, self.max) - self.min) / span) * PLOT_H
    }
}

/// 1, 2 or 5 × 10ⁿ, at least `rough`.
fn nice_step(rough: f64) -> f64 {
    let rough = if rough.is_finite() && rough > 0.0 {
        rough
    } else {
        1.0
    };
    let magnitude = 10f64.powf(rough.log10().floor());
    match rough / magnitude {
        f if f <= 1.0 => magnitude,
        f if f <= 2.0 => 2.0 * magnitude,
        f if f <= 5.0 => 5.0 * magnitude,
        _ => 10.0 * magnitude,
    }
}

fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()).clamp(0.0, 3.0) as usize
    }
}

fn format_tick(value: f64, decimals: usize) -> String {
    let text = format!("{value:.decimals$}");
    // "-0" reads oddly on an axis.
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_owned()
    } else {
        text
    }
}

/// A value for the description: at most one decimal, none for whole numbers.
fn value_words(value: f64, unit: &str) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{value:.0}{unit}")
    } else {
        format!("{value:.1}{unit}")
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// "4 Mar" for a UTC midnight, "06:00" for another hour.
fn tick_label(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let second_of_day = secs.rem_euclid(86_400);
    if second_of_day == 0 {
        let (_, month, day) = civil_from_days(secs.div_euclid(86_400));
        let month = usize::try_from(month).unwrap_or(1);
        format!("{day} {}", MONTHS[(month - 1).min(11)])
    } else {
        format!(
            "{:02}:{:02}",
            second_of_day / 3600,
            second_of_day % 3600 / 60
        )
    }
}

/// "4 Mar 2025 13:05 UTC", for the description.
fn when_words(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let month = usize::try_from(month).unwrap_or(1);
    let second_of_day = secs.rem_euclid(86_400);
    format!(
        "{day} {} {year} {:02}:{:02} UTC",
        MONTHS[(month - 1).min(11)],
        second_of_day / 3600,
        second_of_day % 3600 / 60
    )
}

/// Time ticks: whole UTC quarter hours, hours or days, as far apart as needed for their labels
/// not to touch.
fn time_ticks(from_ms: i64, to_ms: i64, plot_w: f64) -> Vec<i64> {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const STEPS: [i64; 15] = [
        1, 5, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 5760, 10_080, 20_160, 43_200,
    ];
    let span = (to_ms - from_ms).max(1) as f64;
    let room = (plot_w / (6.0 * CHAR_W + 8.0)).floor().max(1.0);
    let step = STEPS
        .iter()
        .map(|minutes| minutes * MINUTE)
        .find(|step| span / *step as f64 <= room)
        .unwrap_or(43_200 * MINUTE);
    // Day steps start at a UTC midnight; a step of several days keeps to its own grid.
    let first = if step >= 24 * HOUR {
        let day = 24 * HOUR;
        let midnight = from_ms.div_euclid(day) * day + day;
        let days = step / day;
        let index = midnight.div_euclid(day);
        midnight + (days - index.rem_euclid(days)).rem_euclid(days) * day
    } else {
        from_ms.div_euclid(step) * step + step
    };
    let mut ticks = Vec::new();
    let mut at = first;
    while at <= to_ms {
        ticks.push(at);
        at += step;
    }
    ticks
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// One legend entry: a line swatch (with its dash and its lone-reading mark) or a box, and its
/// words.
struct LegendItem {
    /// The line's index (for its dash and mark); `None` for a box.
    line: Option<usize>,
    colour: &'static str,
    text: String,
}

impl LegendItem {
    fn width(&self) -> f64 {
        16.0 + 4.0 + self.text.chars().count() as f64 * CHAR_W + 14.0
    }
}

/// (row, x) per legend item, flowing left to right and wrapping at the drawing's width.
fn legend_layout(items: &[LegendItem]) -> Vec<(usize, f64)> {
    let mut out = Vec::with_capacity(items.len());
    let (mut row, mut x) = (0, 4.0);
    for item in items {
        let w = item.width();
        if x > 4.0 && x + w > WIDTH {
            row += 1;
            x = 4.0;
        }
        out.push((row, x));
        x += w;
    }
    out
}

impl TimeChart {
    /// Moves the chart's start up to just before its first reading when the readings begin well
    /// after it (a dock or a wearable new to this range), so they are not squeezed against the
    /// right edge; answers the first reading's time when it did, for the page to say so.
    pub(super) fn start_at_first_reading(&mut self) -> Option<i64> {
        let first = self
            .lines
            .iter()
            .flat_map(|line| &line.points)
            .filter(|(at, value)| value.is_finite() && (self.from_ms..=self.to_ms).contains(at))
            .map(|(at, _)| *at)
            .min()?;
        let span = self.to_ms - self.from_ms;
        if first - self.from_ms <= span / 10 {
            return None;
        }
        // A margin of 2 % of what is left, at least a minute, so the first reading is visible.
        let margin = ((self.to_ms - first) / 50).max(60_000);
        self.from_ms = (first - margin).max(self.from_ms);
        Some(first)
    }
}

/// The chart as an inline `<svg>` element, or `None` when no line has a reading in its time
/// (the page then says so in words instead of drawing empty axes).
pub(super) fn render(chart: &TimeChart) -> Option<String> {
    if chart.to_ms <= chart.from_ms {
        return None;
    }
    let grouped: Vec<Option<Grouped>> = chart
        .lines
        .iter()
        .map(|line| group(line, chart.from_ms, chart.to_ms))
        .collect();
    if grouped.iter().all(Option::is_none) {
        return None;
    }
    let range = |side: Side| {
        let drawn = chart
            .lines
            .iter()
            .zip(&grouped)
            .filter(|(line, _)| line.side == side)
            .filter_map(|(line, grouped)| grouped.as_ref().map(|g| (line, g)))
            .flat_map(|(line, g)| g.buckets.iter().flatten().map(|b| b.value(line.pick)));
        drawn.fold(
            (None, None),
            |(low, high): (Option<f64>, Option<f64>), v| {
                (
                    Some(low.map_or(v, |l| l.min(v))),
                    Some(high.map_or(v, |h| h.max(v))),
                )
            },
        )
    };
    let (left_low, left_high) = range(Side::Left);
    let left = Ticks::for_scale(chart.left.scale, left_low, left_high);
    let right = chart.right.as_ref().map(|axis| {
        let (low, high) = range(Side::Right);
        Ticks::for_scale(axis.scale, low, high)
    });
    let right_margin = if right.is_some() {
        RIGHT_WITH_AXIS
    } else {
        RIGHT_WITHOUT
    };
    let plot_w = WIDTH - LEFT - right_margin;
    let span = (chart.to_ms - chart.from_ms) as f64;
    let x = |at_ms: i64| LEFT + ((at_ms - chart.from_ms) as f64 / span).clamp(0.0, 1.0) * plot_w;
    let column_w = plot_w / BUCKETS as f64;
    let column_x = |i: usize| LEFT + column_w * (i as f64 + 0.5);

    let legend = legend_items(chart, &grouped);
    let layout = legend_layout(&legend);
    let rows = layout.last().map_or(0, |(row, _)| row + 1);
    let base = TOP + PLOT_H;
    let legend_top = base + 2.0 * ROW + 6.0;
    let height = legend_top + ROW * rows as f64 + 2.0;

    let mut svg = String::with_capacity(8192);
    let _ = write!(
        svg,
        "<svg class=\"dg-chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" font-family=\"system-ui, sans-serif\" \
         font-size=\"{FONT}\" fill=\"#16191d\">\n<title id=\"{id}-title\">{title}</title>\n\
         <desc id=\"{id}-desc\">{desc}</desc>\n",
        id = chart.id,
        title = Escaped(&chart.title),
        desc = Escaped(&description(chart)),
    );
    // Shaded spans first, under everything else.
    if let Some(bands) = &chart.bands {
        for &(start, end) in &bands.spans {
            if end < chart.from_ms || start > chart.to_ms {
                continue;
            }
            let (x1, x2) = (x(start), x(end.max(start)));
            let _ = writeln!(
                svg,
                "<rect class=\"dg-band\" x=\"{x1:.1}\" y=\"{TOP}\" width=\"{:.1}\" \
                 height=\"{PLOT_H}\" fill=\"{BAND}\"/>",
                (x2 - x1).max(1.5)
            );
        }
    }
    // Axis titles above the plot: left at the left, right at the right.
    let _ = writeln!(
        svg,
        "<text class=\"dg-axis-title\" x=\"2\" y=\"{:.1}\">{}</text>",
        TOP - 12.0,
        Escaped(&chart.left.title)
    );
    if let Some(axis) = &chart.right {
        let _ = writeln!(
            svg,
            "<text class=\"dg-axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - 2.0,
            TOP - 12.0,
            Escaped(&axis.title)
        );
    }
    // Left ticks with grid lines.
    for (value, label) in &left.ticks {
        let ty = left.y(*value);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 5.0,
            ty + FONT * 0.35,
            Escaped(label)
        );
    }
    // Right ticks: a short mark and the label.
    if let Some(right) = &right {
        let edge = LEFT + plot_w;
        for (value, label) in &right.ticks {
            let ty = right.y(*value);
            let _ = writeln!(
                svg,
                "<line x1=\"{edge:.1}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"{AXIS}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                edge + 4.0,
                edge + 6.0,
                ty + FONT * 0.35,
                Escaped(label)
            );
        }
    }
    // Time ticks and their labels.
    for at in time_ticks(chart.from_ms, chart.to_ms, plot_w) {
        let tx = x(at);
        let _ = writeln!(
            svg,
            "<line x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{base}\" y2=\"{:.1}\" stroke=\"{AXIS}\"/>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            base + 4.0,
            base + ROW - 2.0,
            tick_label(at)
        );
    }
    // The lines.
    for (index, (line, grouped)) in chart.lines.iter().zip(&grouped).enumerate() {
        let Some(grouped) = grouped else { continue };
        let ticks = match line.side {
            Side::Left => &left,
            Side::Right => right.as_ref().unwrap_or(&left),
        };
        draw_line(
            &mut svg,
            line,
            grouped,
            ticks,
            index,
            chart.join_ms,
            &column_x,
        );
    }
    // Axes over the lines.
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{base}\" y2=\"{base}\" stroke=\"{AXIS}\"/>\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{base}\" stroke=\"{AXIS}\"/>",
        LEFT + plot_w
    );
    if right.is_some() {
        let _ = writeln!(
            svg,
            "<line x1=\"{edge:.1}\" x2=\"{edge:.1}\" y1=\"{TOP}\" y2=\"{base}\" stroke=\"{AXIS}\"/>",
            edge = LEFT + plot_w
        );
    }
    let _ = writeln!(
        svg,
        "<text class=\"dg-axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">\
         Date and time (UTC)</text>",
        LEFT + plot_w / 2.0,
        base + 2.0 * ROW - 2.0,
    );
    // Legend.
    for ((row, lx), item) in layout.iter().zip(&legend) {
        let ly = legend_top + ROW * *row as f64;
        match item.line {
            Some(index) => {
                let _ = write!(
                    svg,
                    "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" \
                     stroke-width=\"2.5\"{}/>{}",
                    lx + 16.0,
                    ly + 6.0,
                    ly + 6.0,
                    item.colour,
                    dash_attr(DASHES[index % DASHES.len()]),
                    marker(index, lx + 8.0, ly + 6.0, item.colour)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    "<rect x=\"{lx:.1}\" y=\"{ly:.1}\" width=\"16\" height=\"12\" fill=\"{}\" \
                     stroke=\"{AXIS}\"/>",
                    item.colour
                );
            }
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 20.0,
            ly + 10.5,
            Escaped(&item.text)
        );
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

fn draw_line(
    svg: &mut String,
    line: &Line,
    grouped: &Grouped,
    ticks: &Ticks,
    index: usize,
    join_ms: i64,
    column_x: &dyn Fn(usize) -> f64,
) {
    let points: Vec<(usize, Bucket)> = grouped
        .buckets
        .iter()
        .enumerate()
        .filter_map(|(i, bucket)| bucket.map(|b| (i, b)))
        .collect();
    let joined = |a: &(usize, Bucket), b: &(usize, Bucket)| {
        b.0 == a.0 + 1 || b.1.first_ms.saturating_sub(a.1.last_ms) <= join_ms
    };
    let mut path = String::new();
    let mut alone = Vec::new();
    for (n, point) in points.iter().enumerate() {
        let (cx, cy) = (column_x(point.0), ticks.y(point.1.value(line.pick)));
        let from_previous = n > 0 && joined(&points[n - 1], point);
        let to_next = points.get(n + 1).is_some_and(|next| joined(point, next));
        if from_previous {
            if line.steps {
                let _ = write!(path, "H{cx:.1} V{cy:.1} ");
            } else {
                let _ = write!(path, "L{cx:.1} {cy:.1} ");
            }
        } else if to_next {
            let _ = write!(path, "M{cx:.1} {cy:.1} ");
        } else {
            alone.push((cx, cy));
        }
    }
    if !path.is_empty() {
        let _ = writeln!(
            svg,
            "<path class=\"dg-line\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\" \
             stroke-linejoin=\"round\"{}/>",
            path.trim_end(),
            line.colour,
            dash_attr(DASHES[index % DASHES.len()])
        );
    }
    for (cx, cy) in alone {
        let _ = writeln!(svg, "{}", marker(index, cx, cy, line.colour));
    }
}

fn legend_items(chart: &TimeChart, grouped: &[Option<Grouped>]) -> Vec<LegendItem> {
    let two_axes = chart.right.is_some();
    let mut items: Vec<LegendItem> = chart
        .lines
        .iter()
        .zip(grouped)
        .enumerate()
        .map(|(index, (line, grouped))| {
            let mut text = line.name.clone();
            if two_axes {
                text.push_str(match line.side {
                    Side::Left => " (left)",
                    Side::Right => " (right)",
                });
            }
            if grouped.is_none() {
                text.push_str(": no readings");
            }
            LegendItem {
                line: Some(index),
                colour: line.colour,
                text,
            }
        })
        .collect();
    if let Some(bands) = &chart.bands
        && bands
            .spans
            .iter()
            .any(|&(start, end)| end >= chart.from_ms && start <= chart.to_ms)
    {
        items.push(LegendItem {
            line: None,
            colour: BAND,
            text: bands.name.clone(),
        });
    }
    items
}

/// The chart in words: its time and each line's lowest and highest reading.
fn description(chart: &TimeChart) -> String {
    let mut out = format!(
        "From {} to {}.",
        when_words(chart.from_ms),
        when_words(chart.to_ms)
    );
    for line in &chart.lines {
        let inside = line
            .points
            .iter()
            .filter(|(at, v)| v.is_finite() && (chart.from_ms..=chart.to_ms).contains(at));
        let (count, low, high) = inside.fold(
            (0usize, f64::INFINITY, f64::NEG_INFINITY),
            |(n, low, high), (_, v)| (n + 1, low.min(*v), high.max(*v)),
        );
        let axis = match line.side {
            Side::Left => Some(&chart.left),
            Side::Right => chart.right.as_ref(),
        };
        let words = |v: f64| match axis.map(|a| a.scale) {
            Some(Scale::Words { ticks, .. }) => ticks
                .iter()
                .find(|(at, _)| (at - v).abs() < 1e-9)
                .map_or_else(|| value_words(v, line.unit), |(_, w)| (*w).to_owned()),
            _ => value_words(v, line.unit),
        };
        if count == 0 {
            let _ = write!(out, " {}: no readings.", line.name);
        } else if (high - low).abs() < 1e-9 {
            let _ = write!(
                out,
                " {}: {} in all {count} readings.",
                line.name,
                words(low)
            );
        } else {
            let _ = write!(
                out,
                " {}: from {} to {} over {count} readings.",
                line.name,
                words(low),
                words(high)
            );
        }
    }
    if let Some(bands) = &chart.bands {
        let shown = bands
            .spans
            .iter()
            .filter(|&&(start, end)| end >= chart.from_ms && start <= chart.to_ms)
            .count();
        if shown > 0 {
            let _ = write!(out, " {}: {shown} times, shaded.", bands.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2024-03-01 00:00 UTC.
    const MARCH_1: i64 = 1_709_251_200_000;

    fn chart(lines: Vec<Line>) -> TimeChart {
        TimeChart {
            id: "test",
            title: "Battery and temperature".to_owned(),
            from_ms: MARCH_1,
            to_ms: MARCH_1 + 7 * DAY,
            join_ms: 2 * 3_600_000,
            left: Axis {
                title: "Charge (%)".to_owned(),
                scale: Scale::Fixed {
                    min: 0.0,
                    max: 100.0,
                    step: 25.0,
                },
            },
            right: Some(Axis {
                title: "Temperature (°C)".to_owned(),
                scale: Scale::Auto {
                    from_zero: false,
                    min_span: 1.0,
                },
            }),
            lines,
            bands: None,
        }
    }

    fn line(name: &str, side: Side, points: Vec<(i64, f64)>) -> Line {
        Line {
            name: name.to_owned(),
            unit: " %",
            colour: BLUE,
            side,
            pick: Pick::Mean,
            steps: false,
            points,
        }
    }

    fn hourly(days: i64, value: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
        (0..days * 24)
            .map(|h| (MARCH_1 + h * 3_600_000, value(h)))
            .collect()
    }

    #[test]
    fn a_chart_has_both_axes_with_titles_ticks_a_time_axis_and_a_legend() {
        let svg = render(&chart(vec![
            line("Charge", Side::Left, hourly(7, |h| (h % 100) as f64)),
            line(
                "Temperature",
                Side::Right,
                hourly(7, |h| 30.0 + (h % 9) as f64),
            ),
        ]))
        .unwrap();
        assert!(svg.starts_with("<svg class=\"dg-chart\" viewBox=\"0 0 320 "));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"test-title\">Battery and temperature</title>"));
        assert!(svg.contains(">Charge (%)</text>"));
        assert!(svg.contains(">Temperature (°C)</text>"));
        assert!(svg.contains(">Date and time (UTC)</text>"));
        for tick in [
            ">0</text>",
            ">50</text>",
            ">100</text>",
            ">30</text>",
            ">34</text>",
        ] {
            assert!(svg.contains(tick), "{tick}");
        }
        // Day labels at UTC midnights, thinned so they fit.
        assert!(svg.contains(">4 Mar</text>"), "{svg}");
        assert!(!svg.contains(">3 Mar</text>"));
        assert!(svg.contains(">Charge (left)</text>"));
        assert!(svg.contains(">Temperature (right)</text>"));
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("stroke-dasharray=\"6 3\""));
        assert!(!svg.contains("style"));
        assert!(!svg.contains("NaN"));
        assert!(svg.contains("Charge: from 0 % to 99 % over 168 readings."));
    }

    #[test]
    fn nothing_to_draw_gives_no_chart_at_all() {
        assert!(render(&chart(vec![line("Charge", Side::Left, Vec::new())])).is_none());
        // Readings outside the time shown, or not numbers, are nothing to draw either.
        let outside = vec![(MARCH_1 - DAY, 50.0), (MARCH_1 + DAY, f64::NAN)];
        assert!(render(&chart(vec![line("Charge", Side::Left, outside)])).is_none());
    }

    #[test]
    fn a_line_without_readings_says_so_in_the_legend_and_nothing_is_nan() {
        let svg = render(&chart(vec![
            line("Charge", Side::Left, Vec::new()),
            line(
                "Temperature",
                Side::Right,
                vec![
                    (MARCH_1 + DAY, 21.5),
                    (MARCH_1 + DAY + 60_000, f64::INFINITY),
                ],
            ),
        ]))
        .unwrap();
        assert!(svg.contains(">Charge (left): no readings</text>"));
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
        // A lone reading is a mark (the second line's: a square), not a line; the legend shows
        // each line's mark too.
        assert_eq!(svg.matches("<rect").count(), 1 + 1);
        assert_eq!(
            svg.matches("<circle").count(),
            1,
            "the first line's legend mark"
        );
        assert!(!svg.contains("<path"));
    }

    #[test]
    fn a_long_silence_breaks_the_line() {
        let mut points = hourly(2, |_| 50.0);
        points.extend((0..24).map(|h| (MARCH_1 + 5 * DAY + h * 3_600_000, 60.0)));
        let svg = render(&chart(vec![line("Charge", Side::Left, points)])).unwrap();
        let path = svg.split("<path").nth(1).unwrap();
        let path = path.split("/>").next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
    }

    #[test]
    fn words_on_an_axis_label_its_ticks_and_describe_its_line() {
        let mut modes = chart(vec![Line {
            name: "Fix".to_owned(),
            unit: "",
            colour: AMBER,
            side: Side::Right,
            pick: Pick::Min,
            steps: true,
            points: vec![(MARCH_1 + DAY, 3.0), (MARCH_1 + DAY + 60_000, 1.0)],
        }]);
        modes.right = Some(Axis {
            title: "Fix".to_owned(),
            scale: Scale::Words {
                min: 1.0,
                max: 3.0,
                ticks: &[(1.0, "no fix"), (2.0, "2D"), (3.0, "3D")],
            },
        });
        let svg = render(&modes).unwrap();
        assert!(svg.contains(">no fix</text>"));
        assert!(svg.contains(">3D</text>"));
        assert!(svg.contains("Fix: from no fix to 3D over 2 readings."));
    }

    #[test]
    fn hostile_names_are_escaped() {
        let svg = render(&chart(vec![line(
            "<script>alert(1)</script>",
            Side::Left,
            hourly(1, |_| 1.0),
        )]))
        .unwrap();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn spans_are_shaded_and_named_in_the_legend() {
        let mut with_bands = chart(vec![line("Charge", Side::Left, hourly(7, |_| 80.0))]);
        with_bands.bands = Some(Bands {
            name: "On battery".to_owned(),
            spans: vec![(MARCH_1 + DAY, MARCH_1 + DAY + 3_600_000)],
        });
        let svg = render(&with_bands).unwrap();
        assert_eq!(svg.matches("class=\"dg-band\"").count(), 1);
        assert!(svg.contains(">On battery</text>"));
        assert!(svg.contains("On battery: 1 times, shaded."));
    }

    #[test]
    fn readings_that_begin_late_move_the_start_up_to_them() {
        let late = MARCH_1 + 7 * DAY - 2 * 3_600_000;
        let points: Vec<(i64, f64)> = (0..120).map(|m| (late + m * 60_000, 50.0)).collect();
        let mut fitted = chart(vec![line("Charge", Side::Left, points)]);
        assert_eq!(fitted.start_at_first_reading(), Some(late));
        assert!(fitted.from_ms < late && fitted.from_ms > late - 3_600_000);
        let svg = render(&fitted).unwrap();
        // Ticks in minutes now, and the readings make one line rather than a spike at the edge.
        assert!(
            svg.contains(":30</text>") || svg.contains(":00</text>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<path").count(), 1);
        // Readings from the start of the range leave it as it is.
        let mut whole = chart(vec![line("Charge", Side::Left, hourly(7, |_| 1.0))]);
        assert_eq!(whole.start_at_first_reading(), None);
        assert_eq!(whole.from_ms, MARCH_1);
    }

    #[test]
    fn time_ticks_fall_on_utc_midnights_or_whole_hours() {
        let days = time_ticks(MARCH_1 + 3_600_000, MARCH_1 + 30 * DAY, 234.0);
        assert!(days.iter().all(|t| t.rem_euclid(DAY) == 0));
        assert!((2..=5).contains(&days.len()), "{days:?}");
        let hours = time_ticks(MARCH_1 + 1_000, MARCH_1 + DAY, 234.0);
        assert!(hours.iter().all(|t| t.rem_euclid(3_600_000) == 0));
        assert!((2..=5).contains(&hours.len()), "{hours:?}");
        assert_eq!(tick_label(MARCH_1), "1 Mar");
        assert_eq!(tick_label(MARCH_1 + 6 * 3_600_000), "06:00");
        assert_eq!(when_words(MARCH_1 + 61_000), "1 Mar 2024 00:01 UTC");
    }

    #[test]
    fn automatic_scales_use_round_steps_around_the_values() {
        let ticks = Ticks::for_scale(
            Scale::Auto {
                from_zero: false,
                min_span: 1.0,
            },
            Some(31.2),
            Some(48.0),
        );
        assert_eq!((ticks.min, ticks.max), (30.0, 50.0));
        let ticks = Ticks::for_scale(
            Scale::Auto {
                from_zero: true,
                min_span: 1.0,
            },
            Some(4.0),
            Some(11.0),
        );
        assert_eq!((ticks.min, ticks.max), (0.0, 15.0));
        let ticks = Ticks::for_scale(
            Scale::Auto {
                from_zero: false,
                min_span: 1.0,
            },
            Some(-3.0),
            Some(-3.0),
        );
        assert!(ticks.max > ticks.min);
        assert_eq!(format_tick(-0.0, 0), "0");
        // A steady temperature is drawn on a range at least `min_span` tall.
        let steady = Scale::Auto {
            from_zero: false,
            min_span: 5.0,
        };
        let ticks = Ticks::for_scale(steady, Some(30.8), Some(30.9));
        assert!(
            ticks.max - ticks.min >= 5.0,
            "{} to {}",
            ticks.min,
            ticks.max
        );
        assert!(ticks.min <= 30.8 && ticks.max >= 30.9);
    }
}
