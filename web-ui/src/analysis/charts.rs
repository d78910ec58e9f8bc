//! The analysis pages' charts, drawn by the site's one chart kit ([`crate::chart`]) with these
//! pages' classes and figures: values per category (grouped and stacked bars, lines) and the
//! posture-zone share bar with its words. It must never draw anything itself: a new look or
//! behaviour belongs in the kit, so every page's charts stay alike.

use super::html::{num, pct};
use super::view::PostureZones;
use crate::chart::{categories, share_bar};

pub(super) use crate::chart::{
    AMBER, BLUE, FAIR, GOOD, POOR, PURPLE, TEAL,
    categories::{Chart, Kind, Series},
};

/// The chart as an inline `<svg>` element; tooltips write figures as the pages do ([`num`]).
pub(super) fn render(chart: &Chart, kind: Kind) -> String {
    categories::render(chart, kind, "an-chart", num)
}

/// Posture zones as a thin 100 % bar with the shares in its title; the page writes them out
/// beside it too. Nothing when there is no wear time.
pub(super) fn zone_bar(zones: &PostureZones) -> String {
    let total = zones.total_s();
    if !(total.is_finite() && total > 0.0) {
        return String::new();
    }
    share_bar(
        "an-zones",
        &format!("Posture zones: {}", zone_words(zones)),
        &[
            (zones.acceptable_s, GOOD),
            (zones.conditional_s, FAIR),
            (zones.not_acceptable_s, POOR),
        ],
    )
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

    #[test]
    fn analysis_charts_carry_the_pages_class_and_write_figures_as_the_pages_do() {
        let chart = Chart {
            id: "bends",
            title: "Bends per hour".to_owned(),
            desc: "07:00 12.4 bends".to_owned(),
            categories: vec!["07".to_owned()],
            x_label: "Hour of day (site time)".to_owned(),
            y_label: "Movements per hour".to_owned(),
            series: vec![Series {
                name: "Bends".to_owned(),
                colour: BLUE,
                values: vec![Some(12.4)],
            }],
            limit: None,
            missing: None,
            marks: Vec::new(),
        };
        let svg = render(&chart, Kind::Grouped);
        assert!(svg.starts_with("<svg class=\"chart an-chart\""));
        assert!(svg.contains("<title>07, Bends: 12</title>"), "{svg}");
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
