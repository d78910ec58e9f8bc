//! Values per category (hours, days, shifts, tasks) as grouped bars, stacked bars or lines on a
//! value axis from zero, with an optional dashed limit (a goal), a word above each bar (e.g. the
//! risk level, so colour is not alone) and a word where a category has no value at all (e.g.
//! "hidden"). Category labels are thinned so they never overlap. It must never draw a
//! non-finite value, nor a bar below zero (neither is drawn).

use super::{
    frame::{BASE, CHAR_W, LEFT, Pen, Plot, Svg},
    legend::{Legend, Swatch},
    scale::{Scale, Ticks},
};

/// One named series of values, one per category; `None` draws nothing there.
pub(crate) struct Series {
    pub(crate) name: String,
    pub(crate) colour: &'static str,
    pub(crate) values: Vec<Option<f64>>,
}

impl Series {
    /// The value at category `i`, if it is a number.
    fn at(&self, i: usize) -> Option<f64> {
        self.values
            .get(i)
            .copied()
            .flatten()
            .filter(|v| v.is_finite())
    }
}

/// What a chart shows. All text is plain text: [`render`] escapes it.
pub(crate) struct Chart {
    /// Unique on the page; fixed words only (used for `id` attributes).
    pub(crate) id: &'static str,
    pub(crate) title: String,
    /// The chart's figures in words, for screen readers.
    pub(crate) desc: String,
    pub(crate) categories: Vec<String>,
    /// Axis titles, with their units.
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) series: Vec<Series>,
    /// A dashed reference line (a goal) with its legend text.
    pub(crate) limit: Option<(f64, String)>,
    /// Written at the foot of a category where every series is `None` (e.g. "hidden").
    pub(crate) missing: Option<&'static str>,
    /// A short word above each bar (bars only), e.g. the risk level, so colour is not alone.
    pub(crate) marks: Vec<Option<String>>,
}

impl Chart {
    /// The height of category `i`'s bars stacked: its positive values summed.
    fn stacked(&self, i: usize) -> f64 {
        self.series
            .iter()
            .filter_map(|s| s.at(i))
            .filter(|v| *v > 0.0)
            .sum()
    }
}

/// How the series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Bars side by side within each category.
    Grouped,
    /// Bars on top of each other.
    Stacked,
    /// One line per series through the category centres.
    Line,
}

/// The chart as an inline `<svg>` element with the page's `class`; `figure` writes a value in a
/// bar's or a point's tooltip.
pub(crate) fn render(chart: &Chart, kind: Kind, class: &str, figure: fn(f64) -> String) -> String {
    let n = chart.categories.len().max(1);
    let plot = Plot::new(false);
    let band = plot.width() / n as f64;
    let highest = match kind {
        Kind::Stacked => (0..n).map(|i| chart.stacked(i)).fold(0.0, f64::max),
        Kind::Grouped | Kind::Line => chart
            .series
            .iter()
            .flat_map(|s| (0..s.values.len()).filter_map(|i| s.at(i)))
            .fold(0.0, f64::max),
    };
    let highest = chart
        .limit
        .as_ref()
        .filter(|(limit, _)| limit.is_finite())
        .map_or(highest, |(limit, _)| highest.max(*limit));
    let ticks = Ticks::for_scale(
        Scale::Auto {
            from_zero: true,
            min_span: 0.0,
        },
        Some(0.0),
        Some(highest),
    );
    let centre = |i: usize| LEFT + band * (i as f64 + 0.5);

    let mut legend = Legend::default();
    for (s, series) in chart.series.iter().enumerate() {
        let swatch = match kind {
            Kind::Line => Swatch::Line(s),
            Kind::Grouped | Kind::Stacked => Swatch::Box,
        };
        legend.add(swatch, series.colour, series.name.clone());
    }
    if let Some((_, text)) = &chart.limit {
        legend.add(Swatch::Limit, "", text.clone());
    }

    let mut svg = Svg::open(
        class,
        chart.id,
        &chart.title,
        &chart.desc,
        plot,
        legend.rows(),
    );
    svg.axis_titles(&chart.y_label, None);
    svg.left_ticks(&ticks);
    let tooltip = |i: usize, series: &Series, value: f64| {
        format!(
            "{}, {}: {}",
            chart.categories.get(i).map_or("", String::as_str),
            series.name,
            figure(value)
        )
    };
    match kind {
        Kind::Grouped | Kind::Stacked => {
            let inner = band * 0.8;
            let count = chart.series.len().max(1) as f64;
            for i in 0..chart.categories.len() {
                let left = LEFT + band * i as f64 + (band - inner) / 2.0;
                let mut stacked = 0.0;
                for (s, series) in chart.series.iter().enumerate() {
                    let Some(value) = series.at(i).filter(|v| *v > 0.0) else {
                        continue;
                    };
                    let (x, width, low) = match kind {
                        Kind::Stacked => (left, inner, stacked),
                        _ => (left + inner / count * s as f64, inner / count, 0.0),
                    };
                    stacked += value;
                    let heights = (ticks.y(low), ticks.y(low + value));
                    svg.bar(x, width, heights, series.colour, &tooltip(i, series, value));
                }
            }
        }
        Kind::Line => {
            for (s, series) in chart.series.iter().enumerate() {
                let mut pen = Pen::default();
                for i in 0..series.values.len() {
                    match series.at(i) {
                        Some(v) => pen.to(centre(i), ticks.y(v), false),
                        None => pen.lift(),
                    }
                }
                // Every point gets its mark (with its figure), so lone points need none more.
                let _ = svg.line(pen, s, series.colour);
                for i in 0..series.values.len() {
                    if let Some(v) = series.at(i) {
                        let title = tooltip(i, series, v);
                        svg.mark(s, centre(i), ticks.y(v), series.colour, Some(&title));
                    }
                }
            }
        }
    }
    if let Some((limit, _)) = chart.limit.as_ref().filter(|(l, _)| l.is_finite()) {
        svg.limit(ticks.y(*limit));
    }
    // Words: where a category has no value, and the marks above bars.
    for (i, category) in chart.categories.iter().enumerate() {
        let all_missing = chart.series.iter().all(|s| s.at(i).is_none());
        if all_missing && let Some(missing) = chart.missing {
            let title = format!("{category}: {missing}");
            svg.word(centre(i), BASE - 4.0, missing, true, Some(&title));
        }
        if let Some(Some(mark)) = chart.marks.get(i)
            && kind != Kind::Line
        {
            svg.word(
                centre(i),
                ticks.y(chart.stacked(i)) - 3.0,
                mark,
                false,
                None,
            );
        }
    }
    svg.axes(false, &chart.x_label);
    // Category labels, thinned so the widest never touches its neighbour.
    let widest = chart
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(1) as f64;
    let every = ((widest * CHAR_W + 6.0) / band).ceil().max(1.0) as usize;
    for (i, category) in chart.categories.iter().enumerate().step_by(every) {
        svg.x_tick(centre(i), category);
    }
    svg.legend(&legend);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{AMBER, BLUE};

    fn figure(x: f64) -> String {
        format!("{x:.1}")
    }

    fn sample(limit: Option<(f64, String)>) -> Chart {
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
            limit,
            missing: Some("hidden"),
            marks: Vec::new(),
        }
    }

    fn draw(chart: &Chart, kind: Kind) -> String {
        render(chart, kind, "an-chart", figure)
    }

    #[test]
    fn a_bar_chart_has_axes_titles_units_ticks_and_a_legend() {
        let svg = draw(&sample(None), Kind::Grouped);
        assert!(svg.starts_with("<svg class=\"chart an-chart\" viewBox=\"0 0 320 "));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"test-title test-desc\""));
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
        assert!(svg.contains("<title>07, Bends: 9.0</title>"));
        assert!(svg.contains(">hidden</text>"));
        assert!(svg.contains("<title>08: hidden</title>"));
        assert!(svg.contains("&lt;b&gt;Twists&lt;/b&gt;"));
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn stacked_bars_sit_on_each_other_and_carry_their_mark() {
        let mut chart = sample(None);
        chart.marks = vec![Some("Low".to_owned()), Some("<High>".to_owned()), None];
        let stacked = draw(&chart, Kind::Stacked);
        // 9 + 2.5 = 11.5 → ticks up to 15 in steps of 5.
        assert!(stacked.contains(">15</text>"));
        assert!(stacked.contains(">Low</text>"));
        assert!(stacked.contains(">&lt;High&gt;</text>"));
        // The second bar of the first category starts where the first ends.
        let ys: Vec<&str> = stacked
            .split("<rect x=\"")
            .skip(1)
            .take(2)
            .map(|r| r.split('"').nth(2).unwrap_or(""))
            .collect();
        assert_ne!(ys[0], ys[1]);
    }

    #[test]
    fn a_line_chart_draws_dashed_paths_with_a_mark_per_point_and_a_limit() {
        let line = draw(&sample(Some((6.0, "Goal: below 6".to_owned()))), Kind::Line);
        assert_eq!(line.matches("<path d=\"M").count(), 2);
        assert!(line.contains("stroke-dasharray=\"6 3\""));
        assert!(line.contains(">Goal: below 6</text>"));
        assert!(line.contains("stroke-dasharray=\"5 3\""));
        // Two points each: circles for the first series, squares for the second (in the plot),
        // and one mark per series in the legend.
        assert_eq!(line.matches("<circle").count(), 2 + 1);
        assert_eq!(line.matches("<rect").count(), 2 + 1);
        assert!(line.contains("<title>06, &lt;b&gt;Twists&lt;/b&gt;: 1.0</title>"));
    }

    #[test]
    fn a_gap_in_a_line_lifts_the_pen() {
        let mut chart = sample(None);
        chart.categories = (0..5).map(|h| format!("{h:02}")).collect();
        chart.series.truncate(1);
        chart.series[0].values = vec![Some(1.0), Some(2.0), None, Some(f64::NAN), Some(3.0)];
        let svg = draw(&chart, Kind::Line);
        let path = svg
            .split("<path d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(path.matches('M').count(), 1, "{path}");
        assert_eq!(path.matches('L').count(), 1, "{path}");
        assert_eq!(
            svg.matches("<circle").count(),
            3 + 1,
            "the lone last point keeps its mark"
        );
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn crowded_category_labels_are_thinned_instead_of_overlapping() {
        let mut chart = sample(None);
        chart.categories = (1..=30).map(|d| format!("2025-03-{d:02}")).collect();
        chart.series.truncate(1);
        chart.series[0].values = vec![Some(1.0); 30];
        let svg = draw(&chart, Kind::Grouped);
        let shown = (1..=30)
            .filter(|d| svg.contains(&format!(">2025-03-{d:02}</text>")))
            .count();
        assert!((2..=6).contains(&shown), "{shown} labels shown");
    }

    #[test]
    fn an_empty_chart_still_draws_an_axis_from_zero_and_nothing_else() {
        let mut chart = sample(None);
        chart.categories.clear();
        chart.series.clear();
        chart.missing = None;
        let svg = draw(&chart, Kind::Grouped);
        assert!(svg.contains(">0.0</text>") && svg.contains(">1.0</text>"));
        assert_eq!(svg.matches("<rect").count(), 0);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }
}
