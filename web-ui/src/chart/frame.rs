//! The drawing every chart shares: its size and margins, colours of text and axes, and [`Svg`],
//! which writes the elements (the `img` root with its title and description, axes, ticks, grid,
//! bars, lines with gaps, marks, words, spans). It must never write text without `Escaped`,
//! nor a `style` attribute, nor a non-finite coordinate (callers drop such values first).

use std::fmt::Write as _;

use super::{legend::Legend, scale::Ticks};
use crate::pages::Escaped;

/// The drawing's width in SVG units; a phone shows it at about this many CSS pixels.
pub(super) const WIDTH: f64 = 320.0;
const FONT: f64 = 13.0;
/// Words written on the plot (a bar's mark, "hidden").
const SMALL_FONT: f64 = 12.0;
/// An estimate of one character's width at `FONT`, for laying out labels.
pub(super) const CHAR_W: f64 = 7.4;
pub(super) const LEFT: f64 = 46.0;
const RIGHT: f64 = 12.0;
/// Room on the right for a right axis's tick labels.
const RIGHT_WITH_AXIS: f64 = 52.0;
/// Room above the plot for the axis titles.
pub(super) const TOP: f64 = 28.0;
pub(super) const PLOT_H: f64 = 140.0;
/// The plot's baseline.
pub(super) const BASE: f64 = TOP + PLOT_H;
/// One line of text below the plot: tick labels, the axis title, a legend row.
pub(super) const ROW: f64 = 19.0;

const TEXT: &str = "#16191d";
pub(super) const AXIS: &str = "#475160";
const GRID: &str = "#d3d8df";
/// Shaded spans (e.g. "on battery").
pub(super) const BAND: &str = "#f6dfb8";

/// Line dashes, one per series in turn; the dash of a limit line is none of them.
const DASHES: [&str; 4] = ["", "6 3", "2 3", "9 3 2 3"];
/// The dash of a limit line (a goal), as its attribute.
pub(super) const LIMIT_DASH: &str = " stroke-dasharray=\"5 3\"";

/// The ` stroke-dasharray` attribute of series `index`'s line (nothing for the first).
pub(super) fn dash(index: usize) -> String {
    dash_attr(DASHES[index % DASHES.len()])
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// A point's mark, one shape per series so lines differ by more than colour there too: circle,
/// square, triangle, diamond, centred on (`x`, `y`); with `title` (already plain text) as its
/// tooltip.
pub(super) fn marker(index: usize, x: f64, y: f64, colour: &str, title: Option<&str>) -> String {
    let (tag, shape) = match index % 4 {
        0 => ("circle", format!("cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.2\"")),
        1 => (
            "rect",
            format!(
                "x=\"{:.1}\" y=\"{:.1}\" width=\"6\" height=\"6\"",
                x - 3.0,
                y - 3.0
            ),
        ),
        2 => (
            "path",
            format!(
                "d=\"M{x:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} Z\"",
                y - 4.0,
                x + 4.0,
                y + 3.0,
                x - 4.0,
                y + 3.0
            ),
        ),
        _ => (
            "path",
            format!(
                "d=\"M{x:.1} {:.1} L{:.1} {y:.1} L{x:.1} {:.1} L{:.1} {y:.1} Z\"",
                y - 4.0,
                x + 4.0,
                y + 4.0,
                x - 4.0
            ),
        ),
    };
    match title {
        Some(title) => format!(
            "<{tag} {shape} fill=\"{colour}\"><title>{}</title></{tag}>",
            Escaped(title)
        ),
        None => format!("<{tag} {shape} fill=\"{colour}\"/>"),
    }
}

/// A line through points, lifted where there is a gap; a point with no neighbour on either side
/// is not part of the path but answered by [`Pen::finish`] as a lone point, for a mark.
#[derive(Default)]
pub(super) struct Pen {
    path: String,
    /// The first point of a run not yet written (a run of one so far).
    start: Option<(f64, f64)>,
    drawing: bool,
    alone: Vec<(f64, f64)>,
}

impl Pen {
    /// To (`x`, `y`): a slope from the last point, or a step (level, then up or down) if `step`.
    pub(super) fn to(&mut self, x: f64, y: f64, step: bool) {
        if let Some((sx, sy)) = self.start.take() {
            let _ = write!(self.path, "M{sx:.1} {sy:.1} ");
            self.drawing = true;
        }
        if self.drawing {
            if step {
                let _ = write!(self.path, "H{x:.1} V{y:.1} ");
            } else {
                let _ = write!(self.path, "L{x:.1} {y:.1} ");
            }
        } else {
            self.start = Some((x, y));
        }
    }

    /// A gap: the next point starts a new run.
    pub(super) fn lift(&mut self) {
        if let Some(point) = self.start.take() {
            self.alone.push(point);
        }
        self.drawing = false;
    }

    /// The path's `d` (empty when no two points were joined) and the lone points.
    pub(super) fn finish(mut self) -> (String, Vec<(f64, f64)>) {
        self.lift();
        let d = self.path.trim_end().to_owned();
        (d, self.alone)
    }
}

/// Where the plot sits across the drawing: from [`LEFT`] to `right`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plot {
    pub(super) right: f64,
}

impl Plot {
    /// The plot, with room on the right for a right axis if there is one.
    pub(super) fn new(right_axis: bool) -> Plot {
        Plot {
            right: WIDTH - if right_axis { RIGHT_WITH_AXIS } else { RIGHT },
        }
    }

    pub(super) fn width(self) -> f64 {
        self.right - LEFT
    }
}

/// A chart being written, element by element.
pub(super) struct Svg {
    out: String,
    plot: Plot,
}

impl Svg {
    /// The root element with its title and description; `class` is added to the kit's own
    /// `chart` class, `id` must be unique on the page. The drawing is as tall as the plot, the
    /// rows under it and the legend's `legend_rows` need.
    pub(super) fn open(
        class: &str,
        id: &str,
        title: &str,
        desc: &str,
        plot: Plot,
        legend_rows: usize,
    ) -> Svg {
        let height = Legend::top() + ROW * legend_rows as f64 + 4.0;
        let mut out = String::with_capacity(8192);
        let _ = write!(
            out,
            "<svg class=\"chart {class}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" \
             aria-labelledby=\"{id}-title {id}-desc\" font-family=\"system-ui, sans-serif\" \
             font-size=\"{FONT}\" fill=\"{TEXT}\">\n<title id=\"{id}-title\">{title}</title>\n\
             <desc id=\"{id}-desc\">{desc}</desc>\n",
            class = Escaped(class),
            id = Escaped(id),
            title = Escaped(title),
            desc = Escaped(desc),
        );
        Svg { out, plot }
    }

    /// The axis titles above the plot: the left one at the left, a right one at the right.
    pub(super) fn axis_titles(&mut self, left: &str, right: Option<&str>) {
        let _ = writeln!(
            self.out,
            "<text class=\"axis-title\" x=\"2\" y=\"{:.1}\">{}</text>",
            TOP - 12.0,
            Escaped(left)
        );
        if let Some(right) = right {
            let _ = writeln!(
                self.out,
                "<text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                WIDTH - 2.0,
                TOP - 12.0,
                Escaped(right)
            );
        }
    }

    /// The left axis's ticks: a grid line across the plot and the label at each.
    pub(super) fn left_ticks(&mut self, ticks: &Ticks) {
        for (value, label) in &ticks.ticks {
            let ty = ticks.y(*value);
            let _ = writeln!(
                self.out,
                "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"{GRID}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                self.plot.right,
                LEFT - 5.0,
                ty + FONT * 0.35,
                Escaped(label)
            );
        }
    }

    /// The right axis's ticks: a short mark outside the plot and the label at each.
    pub(super) fn right_ticks(&mut self, ticks: &Ticks) {
        let edge = self.plot.right;
        for (value, label) in &ticks.ticks {
            let ty = ticks.y(*value);
            let _ = writeln!(
                self.out,
                "<line x1=\"{edge:.1}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\" stroke=\"{AXIS}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                edge + 4.0,
                edge + 6.0,
                ty + FONT * 0.35,
                Escaped(label)
            );
        }
    }

    /// A tick under the baseline at `x` with its label.
    pub(super) fn x_tick(&mut self, x: f64, label: &str) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{BASE}\" y2=\"{:.1}\" stroke=\"{AXIS}\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            BASE + 4.0,
            BASE + ROW - 2.0,
            Escaped(label)
        );
    }

    /// The baseline and the left axis (and the right one), drawn over the series; then the
    /// x axis's title under the tick labels.
    pub(super) fn axes(&mut self, right_axis: bool, x_title: &str) {
        let right = self.plot.right;
        let _ = writeln!(
            self.out,
            "<line x1=\"{LEFT}\" x2=\"{right:.1}\" y1=\"{BASE}\" y2=\"{BASE}\" stroke=\"{AXIS}\"/>\
             <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{BASE}\" stroke=\"{AXIS}\"/>"
        );
        if right_axis {
            let _ = writeln!(
                self.out,
                "<line x1=\"{right:.1}\" x2=\"{right:.1}\" y1=\"{TOP}\" y2=\"{BASE}\" \
                 stroke=\"{AXIS}\"/>"
            );
        }
        let _ = writeln!(
            self.out,
            "<text class=\"axis-title\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            LEFT + self.plot.width() / 2.0,
            BASE + 2.0 * ROW - 2.0,
            Escaped(x_title)
        );
    }

    /// A shaded span from `x1` to `x2` over the plot's height (at least visible when short).
    pub(super) fn band(&mut self, x1: f64, x2: f64) {
        let _ = writeln!(
            self.out,
            "<rect class=\"band\" x=\"{x1:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{PLOT_H}\" \
             fill=\"{BAND}\"/>",
            (x2 - x1).max(1.5)
        );
    }

    /// A bar from `low` up to `high` (plot heights), with its tooltip.
    pub(super) fn bar(
        &mut self,
        x: f64,
        width: f64,
        (low, high): (f64, f64),
        colour: &str,
        title: &str,
    ) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{x:.1}\" y=\"{high:.1}\" width=\"{width:.1}\" height=\"{:.1}\" \
             fill=\"{colour}\"><title>{}</title></rect>",
            (low - high).max(0.0),
            Escaped(title)
        );
    }

    /// A dashed limit line (a goal) across the plot at height `y`.
    pub(super) fn limit(&mut self, y: f64) {
        let _ = writeln!(
            self.out,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{AXIS}\" \
             stroke-width=\"2\"{LIMIT_DASH}/>",
            self.plot.right,
        );
    }

    /// Series `index`'s line along the pen's path; answers the lone points, for the caller to
    /// mark (or not, when it marks every point anyway).
    pub(super) fn line(&mut self, pen: Pen, index: usize, colour: &str) -> Vec<(f64, f64)> {
        let (d, alone) = pen.finish();
        if !d.is_empty() {
            let _ = writeln!(
                self.out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" \
                 stroke-linejoin=\"round\"{}/>",
                dash(index)
            );
        }
        alone
    }

    /// Series `index`'s mark at (`x`, `y`), with a tooltip if `title`.
    pub(super) fn mark(&mut self, index: usize, x: f64, y: f64, colour: &str, title: Option<&str>) {
        let _ = writeln!(self.out, "{}", marker(index, x, y, colour, title));
    }

    /// A short word on the plot, centred on `x` with its baseline at `y` (in the axis colour if
    /// `muted`), with a tooltip if `title`.
    pub(super) fn word(&mut self, x: f64, y: f64, text: &str, muted: bool, title: Option<&str>) {
        let fill = if muted {
            format!(" fill=\"{AXIS}\"")
        } else {
            String::new()
        };
        let title = title.map_or_else(String::new, |t| format!("<title>{}</title>", Escaped(t)));
        let _ = writeln!(
            self.out,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" font-size=\"{SMALL_FONT}\"\
             {fill}>{title}{}</text>",
            Escaped(text)
        );
    }

    pub(super) fn legend(&mut self, legend: &Legend) {
        legend.draw(&mut self.out);
    }

    pub(super) fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pen_lifts_at_gaps_and_leaves_lone_points_for_marks() {
        let mut pen = Pen::default();
        pen.to(1.0, 1.0, false);
        pen.to(2.0, 2.0, false);
        pen.lift();
        pen.to(5.0, 5.0, false);
        pen.lift();
        pen.to(7.0, 7.0, true);
        pen.to(8.0, 6.0, true);
        let (d, alone) = pen.finish();
        assert_eq!(d, "M1.0 1.0 L2.0 2.0 M7.0 7.0 H8.0 V6.0");
        assert_eq!(alone, [(5.0, 5.0)]);
        let mut single = Pen::default();
        single.to(3.0, 4.0, false);
        assert_eq!(single.finish(), (String::new(), vec![(3.0, 4.0)]));
    }

    #[test]
    fn each_series_has_its_own_mark_shape_and_dash() {
        assert!(marker(0, 1.0, 1.0, "#000", None).starts_with("<circle"));
        assert!(marker(1, 1.0, 1.0, "#000", None).starts_with("<rect"));
        assert!(marker(2, 1.0, 1.0, "#000", None).starts_with("<path"));
        assert_ne!(
            marker(2, 1.0, 1.0, "#000", None),
            marker(3, 1.0, 1.0, "#000", None)
        );
        assert_eq!(
            marker(4, 1.0, 2.0, "#000", Some("a <b>")),
            "<circle cx=\"1.0\" cy=\"2.0\" r=\"3.2\" fill=\"#000\"><title>a &lt;b&gt;</title></circle>"
        );
        assert_eq!(dash(0), "");
        assert_eq!(dash(1), " stroke-dasharray=\"6 3\"");
        assert_eq!(dash(5), dash(1));
    }

    #[test]
    fn every_text_of_the_frame_is_escaped() {
        let mut svg = Svg::open("x\"y", "i\"d", "<t>", "a & b", Plot::new(true), 1);
        svg.axis_titles("<l>", Some("<r>"));
        svg.x_tick(60.0, "<x>");
        svg.axes(true, "<axis>");
        svg.word(60.0, 60.0, "<w>", true, Some("<tip>"));
        let svg = svg.finish();
        for raw in [
            "<t>", "<l>", "<r>", "<x>", "<axis>", "<w>", "<tip>", "x\"y", "i\"d",
        ] {
            assert!(!svg.contains(raw), "{raw} in {svg}");
        }
        assert!(svg.contains("&lt;axis&gt;") && svg.contains("a &amp; b"));
        assert!(svg.starts_with("<svg class=\"chart x&quot;y\" viewBox=\"0 0 320 "));
        assert!(svg.ends_with("</svg>\n"));
    }
}
