//! Hand-written SVG charts for the analysis pages: grouped and stacked bars, lines, and a small
//! posture-zone bar. Each chart has axes with tick labels, axis titles with units and a legend,
//! is an `img` with a `<title>` and `<desc>` for screen readers, and scales to its container
//! through its `viewBox` (drawn for a phone's width, so its text stays readable there).
//! It must never put text into the markup unescaped, nor rely on colour alone: lines differ by
//! dash too, and the pages state every figure in words or tables beside the chart.

use std::fmt::Write as _;

use super::html::{Esc, num, pct};
use super::view::PostureZones;

/// The drawing's width in SVG units; a phone shows it at about this many CSS pixels.
const WIDTH: f64 = 320.0;
const FONT: f64 = 13.0;
/// An estimate of one character's width at `FONT`, for laying out labels.
const CHAR_W: f64 = 7.4;
const LEFT: f64 = 46.0;
const RIGHT: f64 = 10.0;
/// Room above the plot for the y-axis title.
const TOP: f64 = 26.0;
const PLOT_H: f64 = 140.0;
const ROW: f64 = 19.0;

const TEXT: &str = "#16191d";
const AXIS: &str = "#475160";
const GRID: &str = "#d3d8df";

/// Series colours, each at least 3:1 against white; lines also differ by dash.
pub(super) const BLUE: &str = "#1d4fb8";
pub(super) const AMBER: &str = "#9a5b00";
pub(super) const PURPLE: &str = "#7a3e9d";
pub(super) const TEAL: &str = "#0f766e";
/// Posture zones and risk levels: green, amber, red, all at least 3:1 against white.
pub(super) const GOOD: &str = "#1b7f4b";
pub(super) const FAIR: &str = "#b35c00";
pub(super) const POOR: &str = "#b3261e";

const DASHES: [&str; 4] = ["", "6 3", "2 3", "9 3 2 3"];

/// One named series of values, one per category; `None` draws nothing there.
pub(super) struct Series {
    pub(super) name: String,
    pub(super) colour: &'static str,
    pub(super) values: Vec<Option<f64>>,
}

/// What a chart shows. All text is plain text: the renderer escapes it.
pub(super) struct Chart {
    /// Unique on the page; fixed words only (used for `id` attributes).
    pub(super) id: &'static str,
    pub(super) title: String,
    /// The chart's figures in words, for screen readers.
    pub(super) desc: String,
    pub(super) categories: Vec<String>,
    /// Axis titles, with their units.
    pub(super) x_label: String,
    pub(super) y_label: String,
    pub(super) series: Vec<Series>,
    /// A dashed reference line (a goal) with its legend text.
    pub(super) limit: Option<(f64, String)>,
    /// Written at the foot of a category where every series is `None` (e.g. "hidden").
    pub(super) missing: Option<&'static str>,
    /// A short word above each bar (bars only), e.g. the risk level, so colour is not alone.
    pub(super) marks: Vec<Option<String>>,
}

/// How the series are drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Bars side by side within each category.
    Grouped,
    /// Bars on top of each other.
    Stacked,
    /// One line per series through the category centres.
    Line,
}

/// The chart as an inline `<svg>` element.
pub(super) fn render(chart: &Chart, kind: Kind) -> String {
    let n = chart.categories.len().max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let band = plot_w / n as f64;
    let top = match kind {
        Kind::Stacked => (0..n)
            .map(|i| {
                chart
                    .series
                    .iter()
                    .filter_map(|s| s.values.get(i).copied().flatten())
                    .filter(|v| v.is_finite() && *v > 0.0)
                    .sum::<f64>()
            })
            .fold(0.0, f64::max),
        Kind::Grouped | Kind::Line => chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied().flatten())
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max),
    };
    let top = chart
        .limit
        .as_ref()
        .map_or(top, |(limit, _)| top.max(*limit));
    let (step, ticks) = scale(top);
    let y_max = step * ticks as f64;
    let y = |v: f64| TOP + PLOT_H - (v.clamp(0.0, y_max) / y_max) * PLOT_H;
    let x0 = |i: usize| LEFT + band * i as f64;

    let legend = legend_items(chart, kind);
    let legend_rows = legend_layout(&legend);
    let rows = legend_rows.last().map_or(0, |(row, _, _)| row + 1);
    let height = TOP + PLOT_H + ROW + ROW + 6.0 + ROW * rows as f64 + 4.0;

    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"an-chart\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" font-family=\"system-ui, sans-serif\" \
         font-size=\"{FONT}\" fill=\"{TEXT}\">\n<title id=\"{id}-title\">{title}</title>\n\
         <desc id=\"{id}-desc\">{desc}</desc>\n",
        id = chart.id,
        title = Esc(&chart.title),
        desc = Esc(&chart.desc),
    );
    // Y axis: title above, grid lines and tick labels.
    let _ = writeln!(
        svg,
        "<text class=\"an-axis-title\" x=\"{}\" y=\"{}\">{}</text>",
        2.0,
        TOP - 12.0,
        Esc(&chart.y_label)
    );
    let decimals = decimals(step);
    for t in 0..=ticks {
        let value = step * t as f64;
        let ty = y(value);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{x2}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{tx}\" y=\"{ly:.1}\" text-anchor=\"end\">{label}</text>",
            x2 = WIDTH - RIGHT,
            tx = LEFT - 5.0,
            ly = ty + FONT * 0.35,
            label = format_tick(value, decimals),
        );
    }
    // Series.
    match kind {
        Kind::Grouped | Kind::Stacked => bars(&mut svg, chart, kind, band, &y),
        Kind::Line => lines(&mut svg, chart, band, &y),
    }
    if let Some((limit, _)) = &chart.limit {
        svg.push_str(&limit_line(y(*limit)));
    }
    // Marks above bars, and the "missing" word.
    for (i, category) in chart.categories.iter().enumerate() {
        let centre = x0(i) + band / 2.0;
        let all_missing = chart
            .series
            .iter()
            .all(|s| s.values.get(i).copied().flatten().is_none());
        if all_missing && let Some(missing) = chart.missing {
            let _ = writeln!(
                svg,
                "<text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\" \
                 fill=\"{AXIS}\"><title>{}: {}</title>{}</text>",
                TOP + PLOT_H - 4.0,
                Esc(category),
                Esc(missing),
                Esc(missing)
            );
        }
        if let Some(Some(mark)) = chart.marks.get(i)
            && kind != Kind::Line
        {
            let stacked: f64 = chart
                .series
                .iter()
                .filter_map(|s| s.values.get(i).copied().flatten())
                .filter(|v| v.is_finite() && *v > 0.0)
                .sum();
            let _ = writeln!(
                svg,
                "<text x=\"{centre:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
                y(stacked) - 3.0,
                Esc(mark)
            );
        }
    }
    // X axis: the baseline, thinned tick labels so they never overlap, and its title.
    let base = TOP + PLOT_H;
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{base}\" y2=\"{base}\" stroke=\"{AXIS}\"/>\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{base}\" stroke=\"{AXIS}\"/>",
        WIDTH - RIGHT
    );
    let widest = chart
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(1) as f64;
    let every = ((widest * CHAR_W + 6.0) / band).ceil().max(1.0) as usize;
    for (i, category) in chart.categories.iter().enumerate() {
        if i % every != 0 {
            continue;
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x0(i) + band / 2.0,
            base + ROW - 4.0,
            Esc(category)
        );
    }
    let _ = writeln!(
        svg,
        "<text class=\"an-axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
        LEFT + plot_w / 2.0,
        base + 2.0 * ROW - 2.0,
        Esc(&chart.x_label)
    );
    // Legend.
    let legend_top = base + 2.0 * ROW + 6.0;
    for ((row, x, _), item) in legend_rows.iter().zip(&legend) {
        let ly = legend_top + ROW * *row as f64;
        match item.swatch {
            Swatch::Box => {
                let _ = write!(
                    svg,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>",
                    ly, item.colour
                );
            }
            Swatch::Line(dash) => {
                let _ = write!(
                    svg,
                    "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{}\" \
                     stroke-width=\"2.5\"{}/>",
                    x + 16.0,
                    ly + 6.0,
                    ly + 6.0,
                    item.colour,
                    dash_attr(dash)
                );
            }
        }
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + item.swatch_w() + 4.0,
            ly + 10.5,
            Esc(&item.text)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn bars(svg: &mut String, chart: &Chart, kind: Kind, band: f64, y: &dyn Fn(f64) -> f64) {
    let inner = band * 0.8;
    let count = chart.series.len().max(1);
    for i in 0..chart.categories.len() {
        let left = LEFT + band * i as f64 + (band - inner) / 2.0;
        let mut stacked = 0.0;
        for (s, series) in chart.series.iter().enumerate() {
            let Some(value) = series.values.get(i).copied().flatten() else {
                continue;
            };
            if !value.is_finite() || value <= 0.0 {
                continue;
            }
            let (bx, bw, low, high) = match kind {
                Kind::Stacked => (left, inner, stacked, stacked + value),
                _ => {
                    let w = inner / count as f64;
                    (left + w * s as f64, w, 0.0, value)
                }
            };
            stacked += value;
            let _ = writeln!(
                svg,
                "<rect x=\"{bx:.1}\" y=\"{top:.1}\" width=\"{bw:.1}\" height=\"{h:.1}\" \
                 fill=\"{colour}\"><title>{category}, {name}: {value}</title></rect>",
                top = y(high),
                h = (y(low) - y(high)).max(0.0),
                colour = series.colour,
                category = Esc(chart.categories.get(i).map_or("", String::as_str)),
                name = Esc(&series.name),
                value = num(value),
            );
        }
    }
}

fn lines(svg: &mut String, chart: &Chart, band: f64, y: &dyn Fn(f64) -> f64) {
    for (s, series) in chart.series.iter().enumerate() {
        let dash = DASHES[s % DASHES.len()];
        let mut path = String::new();
        let mut pen_down = false;
        for (i, value) in series.values.iter().enumerate() {
            match value.filter(|v| v.is_finite()) {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1} {:.1} ",
                        if pen_down { "L" } else { "M" },
                        LEFT + band * (i as f64 + 0.5),
                        y(v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = writeln!(
                svg,
                "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"{}/>",
                path.trim_end(),
                series.colour,
                dash_attr(dash)
            );
        }
        for (i, value) in series.values.iter().enumerate() {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{}\"><title>{}, {}: {}</title></circle>",
                    LEFT + band * (i as f64 + 0.5),
                    y(v),
                    series.colour,
                    Esc(chart.categories.get(i).map_or("", String::as_str)),
                    Esc(&series.name),
                    num(v)
                );
            }
        }
    }
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

enum Swatch {
    Box,
    Line(&'static str),
}

struct LegendItem {
    swatch: Swatch,
    colour: &'static str,
    text: String,
}

impl LegendItem {
    fn swatch_w(&self) -> f64 {
        match self.swatch {
            Swatch::Box => 12.0,
            Swatch::Line(_) => 16.0,
        }
    }

    fn width(&self) -> f64 {
        self.swatch_w() + 4.0 + self.text.chars().count() as f64 * CHAR_W + 14.0
    }
}

fn legend_items(chart: &Chart, kind: Kind) -> Vec<LegendItem> {
    let mut items: Vec<LegendItem> = chart
        .series
        .iter()
        .enumerate()
        .map(|(s, series)| LegendItem {
            swatch: match kind {
                Kind::Line => Swatch::Line(DASHES[s % DASHES.len()]),
                _ => Swatch::Box,
            },
            colour: series.colour,
            text: series.name.clone(),
        })
        .collect();
    if let Some((_, text)) = &chart.limit {
        items.push(LegendItem {
            swatch: Swatch::Line("5 3"),
            colour: AXIS,
            text: text.clone(),
        });
    }
    items
}

/// (row, x, width) per legend item, flowing left to right and wrapping at the drawing's width.
fn legend_layout(items: &[LegendItem]) -> Vec<(usize, f64, f64)> {
    let mut out = Vec::with_capacity(items.len());
    let (mut row, mut x) = (0, 4.0);
    for item in items {
        let w = item.width();
        if x > 4.0 && x + w > WIDTH {
            row += 1;
            x = 4.0;
        }
        out.push((row, x, w));
        x += w;
    }
    out
}

/// A "nice" tick step (1, 2 or 5 × 10ⁿ) and the number of steps to reach at least `max`.
fn scale(max: f64) -> (f64, usize) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let rough = max / 4.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = match rough / magnitude {
        f if f <= 1.0 => magnitude,
        f if f <= 2.0 => 2.0 * magnitude,
        f if f <= 5.0 => 5.0 * magnitude,
        _ => 10.0 * magnitude,
    };
    let ticks = (max / step - 1e-9).ceil().max(1.0) as usize;
    (step, ticks)
}

fn decimals(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()).clamp(0.0, 3.0) as usize
    }
}

fn format_tick(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}

/// The dashed limit line across the plot, at height `y`.
fn limit_line(y: f64) -> String {
    format!(
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{AXIS}\" \
         stroke-width=\"2\" stroke-dasharray=\"5 3\"/>\n",
        WIDTH - RIGHT
    )
}

/// Posture zones as a thin 100 % bar with the shares in its title; the page writes them out
/// beside it too.
pub(super) fn zone_bar(zones: &PostureZones) -> String {
    let total = zones.total_s();
    if !(total.is_finite() && total > 0.0) {
        return String::new();
    }
    let parts = [
        (zones.acceptable_s, GOOD, "acceptable"),
        (zones.conditional_s, FAIR, "conditional"),
        (zones.not_acceptable_s, POOR, "not acceptable"),
    ];
    let words = zone_words(zones);
    let mut svg = format!(
        "<svg class=\"an-zones\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"Posture zones: {}\"><title>Posture zones: {}</title>",
        Esc(&words),
        Esc(&words)
    );
    let mut x = 0.0;
    for (seconds, colour, _) in parts {
        let w = (seconds.max(0.0) / total) * 100.0;
        if w > 0.0 {
            let _ = write!(
                svg,
                "<rect x=\"{x:.2}\" y=\"0\" width=\"{w:.2}\" height=\"10\" fill=\"{colour}\"/>"
            );
        }
        x += w;
    }
    svg.push_str("</svg>");
    svg
}

/// "62% acceptable, 30% conditional, 8% not acceptable".
pub(super) fn zone_words(zones: &PostureZones) -> String {
    let total = zones.total_s();
    if !(total.is_finite() && total > 0.0) {
        return "no wear time".to_owned();
    }
    format!(
        "{} acceptable, {} conditional, {} not acceptable",
        pct(zones.acceptable_s / total),
        pct(zones.conditional_s / total),
        pct(zones.not_acceptable_s / total)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(kind_limit: Option<(f64, String)>) -> Chart {
        Chart {
            id: "test",
            title: "Bends by hour".to_owned(),
            desc: "06:00 4 bends, 07:00 9 bends".to_owned(),
            categories: vec!["06".to_owned(), "07".to_owned(), "08".to_owned()],
            x_label: "Hour of day (site time)".to_owned(),
            y_label: "Movements per hour".to_owned(),
            series: vec![
                Series {
                    name: "Bends".to_owned(),
                    colour: BLUE,
                    values: vec![Some(4.0), Some(9.0), None],
                },
                Series {
                    name: "<b>Twists</b>".to_owned(),
                    colour: AMBER,
                    values: vec![Some(1.0), Some(2.5), None],
                },
            ],
            limit: kind_limit,
            missing: Some("hidden"),
            marks: Vec::new(),
        }
    }

    #[test]
    fn a_bar_chart_has_axes_titles_units_ticks_and_a_legend() {
        let svg = render(&sample(None), Kind::Grouped);
        assert!(svg.starts_with("<svg class=\"an-chart\" viewBox=\"0 0 320 "));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title id=\"test-title\">Bends by hour</title>"));
        assert!(svg.contains("<desc id=\"test-desc\">06:00 4 bends, 07:00 9 bends</desc>"));
        assert!(svg.contains(">Movements per hour</text>"));
        assert!(svg.contains(">Hour of day (site time)</text>"));
        // Ticks 0, 5, 10 for a maximum of 9.
        for tick in [">0</text>", ">5</text>", ">10</text>"] {
            assert!(svg.contains(tick), "{tick}");
        }
        assert_eq!(
            svg.matches("<rect").count(),
            4 + 2,
            "4 bars + 2 legend boxes"
        );
        assert!(svg.contains(">hidden</text>"));
        assert!(svg.contains("&lt;b&gt;Twists&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn stacked_bars_sit_on_each_other_and_a_line_chart_draws_dashed_paths() {
        let stacked = render(&sample(None), Kind::Stacked);
        // 9 + 2.5 = 11.5 → ticks up to 15 in steps of 5.
        assert!(stacked.contains(">15</text>"));
        let line = render(&sample(Some((6.0, "Goal: below 6".to_owned()))), Kind::Line);
        assert_eq!(line.matches("<path").count(), 2);
        assert!(line.contains("stroke-dasharray=\"6 3\""));
        assert!(line.contains(">Goal: below 6</text>"));
        assert!(line.contains("stroke-dasharray=\"5 3\""));
        assert_eq!(line.matches("<circle").count(), 4);
    }

    #[test]
    fn crowded_category_labels_are_thinned_instead_of_overlapping() {
        let mut chart = sample(None);
        chart.categories = (1..=30).map(|d| format!("2025-03-{d:02}")).collect();
        chart.series.truncate(1);
        chart.series[0].values = vec![Some(1.0); 30];
        let svg = render(&chart, Kind::Grouped);
        let shown = (1..=30)
            .filter(|d| svg.contains(&format!(">2025-03-{d:02}</text>")))
            .count();
        assert!((2..=6).contains(&shown), "{shown} labels shown");
    }

    #[test]
    fn scales_use_round_steps() {
        assert_eq!(scale(9.0), (5.0, 2));
        assert_eq!(scale(0.0), (0.5, 2));
        assert_eq!(scale(41.0), (20.0, 3));
        assert_eq!(scale(0.35), (0.1, 4));
        assert_eq!(decimals(0.1), 1);
        assert_eq!(format_tick(0.30000000000000004, 1), "0.3");
    }

    #[test]
    fn the_zone_bar_states_its_shares_in_words() {
        let zones = PostureZones {
            acceptable_s: 600.0,
            conditional_s: 300.0,
            not_acceptable_s: 100.0,
        };
        let svg = zone_bar(&zones);
        assert!(svg.contains("Posture zones: 60% acceptable, 30% conditional, 10% not acceptable"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(zone_bar(&PostureZones::default()), "");
    }
}
