//! The diagnostics page's charts of readings over time, drawn by the site's one chart kit
//! ([`crate::chart::time`]) with this page's class. It must never draw anything itself: a new
//! look or behaviour belongs in the kit, so every page's charts stay alike.

pub(super) use crate::chart::{
    AMBER, BLUE, PURPLE, Scale, TEAL,
    time::{Axis, Bands, Line, Pick, Side, TimeChart},
};

/// The chart as an inline `<svg>` element, or `None` when there is nothing to draw (the page
/// then says so in words).
pub(super) fn render(chart: &TimeChart) -> Option<String> {
    crate::chart::time::render(chart, "dg-chart")
}
