//! Readings over time: up to four lines against a left and an optional right axis (each with
//! tick labels and a title with its unit), a UTC time axis, optional shaded spans (e.g. "on
//! battery"), and a legend. Readings are grouped into at most [`BUCKETS`] columns so 90 days of
//! minute readings stay a few kilobytes; a line breaks where readings stop for longer than the
//! chart's `join_ms`, and a lone reading is a mark.
//!
//! It must never draw a non-finite number (such readings are dropped), and never draw an empty
//! chart: [`render`] answers `None` when there is nothing to draw, and the page says so in words.
//! The `<desc>` states the range of every line.

use std::fmt::Write as _;

use super::{
    frame::{CHAR_W, LEFT, Pen, Plot, Svg},
    legend::{Legend, Swatch},
    scale::{Scale, Ticks},
};
use crate::pages::civil_from_days;

/// The most columns readings are grouped into.
const BUCKETS: usize = 120;

/// Which axis a line is read against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Left,
    Right,
}

/// How the readings that fall into one column become the one value drawn there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The lowest (e.g. the worst fix mode, the emptiest battery).
    Min,
    /// The highest (e.g. the hottest temperature).
    Max,
    Mean,
}

/// An axis: its title (with the unit) and scale.
pub(crate) struct Axis {
    pub(crate) title: String,
    pub(crate) scale: Scale,
}

/// One line: its legend name, colour, axis, and readings as (Unix ms, value), in any order.
pub(crate) struct Line {
    pub(crate) name: String,
    /// What follows a value in the chart's description, e.g. " %" or " °C"; empty for counts.
    pub(crate) unit: &'static str,
    pub(crate) colour: &'static str,
    pub(crate) side: Side,
    pub(crate) pick: Pick,
    /// Drawn as steps (the value holds until the next reading) rather than slopes.
    pub(crate) steps: bool,
    pub(crate) points: Vec<(i64, f64)>,
}

/// Shaded time spans with their legend text.
pub(crate) struct Bands {
    pub(crate) name: String,
    pub(crate) spans: Vec<(i64, i64)>,
}

/// What a chart shows. All text is plain text: [`render`] escapes it.
pub(crate) struct TimeChart {
    /// Unique on the page; fixed words only (used for `id` attributes).
    pub(crate) id: &'static str,
    pub(crate) title: String,
    /// The time shown, Unix ms (`from_ms` < `to_ms`).
    pub(crate) from_ms: i64,
    pub(crate) to_ms: i64,
    /// Two readings further apart than this are not joined by a line.
    pub(crate) join_ms: i64,
    pub(crate) left: Axis,
    pub(crate) right: Option<Axis>,
    pub(crate) lines: Vec<Line>,
    pub(crate) bands: Option<Bands>,
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

impl TimeChart {
    /// The shaded spans that overlap the time shown.
    fn shown_spans(&self) -> impl Iterator<Item = &(i64, i64)> {
        self.bands
            .iter()
            .flat_map(|bands| &bands.spans)
            .filter(|&&(start, end)| end >= self.from_ms && start <= self.to_ms)
    }

    /// Moves the chart's start up to just before its first reading when the readings begin well
    /// after it (a dock or a wearable new to this range), so they are not squeezed against the
    /// right edge; answers the first reading's time when it did, for the page to say so.
    pub(crate) fn start_at_first_reading(&mut self) -> Option<i64> {
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

/// The chart as an inline `<svg>` element with the page's `class`, or `None` when no line has a
/// reading in its time (the page then says so in words instead of drawing empty axes).
pub(crate) fn render(chart: &TimeChart, class: &str) -> Option<String> {
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
    let plot = Plot::new(right.is_some());
    let span = (chart.to_ms - chart.from_ms) as f64;
    let x =
        |at_ms: i64| LEFT + ((at_ms - chart.from_ms) as f64 / span).clamp(0.0, 1.0) * plot.width();
    let column_w = plot.width() / BUCKETS as f64;
    let column_x = |i: usize| LEFT + column_w * (i as f64 + 0.5);

    let legend = legend(chart, &grouped);
    let mut svg = Svg::open(
        class,
        chart.id,
        &chart.title,
        &description(chart),
        plot,
        legend.rows(),
    );
    // Shaded spans first, under everything else.
    for &(start, end) in chart.shown_spans() {
        svg.band(x(start), x(end.max(start)));
    }
    svg.axis_titles(
        &chart.left.title,
        chart.right.as_ref().map(|axis| axis.title.as_str()),
    );
    svg.left_ticks(&left);
    if let Some(right) = &right {
        svg.right_ticks(right);
    }
    for at in time_ticks(chart.from_ms, chart.to_ms, plot.width()) {
        svg.x_tick(x(at), &tick_label(at));
    }
    for (index, (line, grouped)) in chart.lines.iter().zip(&grouped).enumerate() {
        let Some(grouped) = grouped else { continue };
        let ticks = match line.side {
            Side::Left => &left,
            Side::Right => right.as_ref().unwrap_or(&left),
        };
        let pen = pen(line, grouped, ticks, chart.join_ms, &column_x);
        for (cx, cy) in svg.line(pen, index, line.colour) {
            svg.mark(index, cx, cy, line.colour, None);
        }
    }
    svg.axes(right.is_some(), "Date and time (UTC)");
    svg.legend(&legend);
    Some(svg.finish())
}

/// A line's path through its columns, lifted where two readings are further apart than
/// `join_ms` (and not in neighbouring columns).
fn pen(
    line: &Line,
    grouped: &Grouped,
    ticks: &Ticks,
    join_ms: i64,
    column_x: &dyn Fn(usize) -> f64,
) -> Pen {
    let mut pen = Pen::default();
    let mut previous: Option<(usize, Bucket)> = None;
    for (i, bucket) in grouped.buckets.iter().enumerate() {
        let Some(bucket) = bucket else { continue };
        let joined = previous.is_some_and(|(p, before)| {
            i == p + 1 || bucket.first_ms.saturating_sub(before.last_ms) <= join_ms
        });
        if !joined {
            pen.lift();
        }
        pen.to(column_x(i), ticks.y(bucket.value(line.pick)), line.steps);
        previous = Some((i, *bucket));
    }
    pen
}

fn legend(chart: &TimeChart, grouped: &[Option<Grouped>]) -> Legend {
    let two_axes = chart.right.is_some();
    let mut legend = Legend::default();
    for (index, (line, grouped)) in chart.lines.iter().zip(grouped).enumerate() {
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
        legend.add(Swatch::Line(index), line.colour, text);
    }
    if let Some(bands) = &chart.bands
        && chart.shown_spans().next().is_some()
    {
        legend.add(Swatch::Band, "", bands.name.clone());
    }
    legend
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
        let shown = chart.shown_spans().count();
        if shown > 0 {
            let _ = write!(out, " {}: {shown} times, shaded.", bands.name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{AMBER, BLUE};

    fn render_dg(chart: &TimeChart) -> Option<String> {
        render(chart, "dg-chart")
    }

    const DAY: i64 = 86_400_000;
    /// 2024-03-01 00:00 UTC.
    const MARCH_1: i64 = 1_709_251_200_000;
    const PERCENT: Scale = Scale::Fixed {
        min: 0.0,
        max: 100.0,
        step: 25.0,
    };

    fn chart(lines: Vec<Line>) -> TimeChart {
        TimeChart {
            id: "test",
            title: "Battery and temperature".to_owned(),
            from_ms: MARCH_1,
            to_ms: MARCH_1 + 7 * DAY,
            join_ms: 2 * 3_600_000,
            left: Axis {
                title: "Charge (%)".to_owned(),
                scale: PERCENT,
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
        let svg = render_dg(&chart(vec![
            line("Charge", Side::Left, hourly(7, |h| (h % 100) as f64)),
            line(
                "Temperature",
                Side::Right,
                hourly(7, |h| 30.0 + (h % 9) as f64),
            ),
        ]))
        .unwrap();
        assert!(svg.starts_with("<svg class=\"chart dg-chart\" viewBox=\"0 0 320 "));
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
        assert!(render_dg(&chart(vec![line("Charge", Side::Left, Vec::new())])).is_none());
        // Readings outside the time shown, or not numbers, are nothing to draw either.
        let outside = vec![(MARCH_1 - DAY, 50.0), (MARCH_1 + DAY, f64::NAN)];
        assert!(render_dg(&chart(vec![line("Charge", Side::Left, outside)])).is_none());
    }

    #[test]
    fn a_line_without_readings_says_so_in_the_legend_and_nothing_is_nan() {
        let svg = render_dg(&chart(vec![
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
        let svg = render_dg(&chart(vec![line("Charge", Side::Left, points)])).unwrap();
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
        let svg = render_dg(&modes).unwrap();
        assert!(svg.contains(">no fix</text>"));
        assert!(svg.contains(">3D</text>"));
        assert!(svg.contains("Fix: from no fix to 3D over 2 readings."));
    }

    #[test]
    fn hostile_names_are_escaped() {
        let svg = render_dg(&chart(vec![line(
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
        let svg = render_dg(&with_bands).unwrap();
        assert_eq!(svg.matches("class=\"band\"").count(), 1);
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
        let svg = render_dg(&fitted).unwrap();
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
}
