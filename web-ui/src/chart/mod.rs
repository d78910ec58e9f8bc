//! The one SVG chart kit every page draws with: the drawing's frame (320 units wide, so a phone
//! shows its 13-unit text at about that size; the site stylesheet's `.chart` centres it at most
//! 30rem wide on a PC), round-step scales and their tick labels, axes with titles, lines that
//! break at gaps, bars, shaded spans, marks, a legend, and a 100 % share bar. [`categories`]
//! draws values per category (the analysis pages), [`time`] readings over time (diagnostics).
//!
//! It must never put text into the markup without the site's one escaper
//! ([`crate::pages::Escaped`]), never emit a `style` attribute or element (the CSP forbids them:
//! colours are presentation attributes), never draw a non-finite number, and never rely on
//! colour alone: lines differ by dash and mark shape too. Every chart is an `img` with a
//! `<title>` and a `<desc>` that states its figures in words.

pub(crate) mod categories;
mod frame;
mod legend;
mod scale;
pub(crate) mod time;

pub(crate) use scale::Scale;

use std::fmt::Write as _;

use crate::pages::Escaped;

/// Series colours, each at least 3:1 against white; lines also differ by dash and mark.
pub(crate) const BLUE: &str = "#1d4fb8";
pub(crate) const AMBER: &str = "#9a5b00";
pub(crate) const PURPLE: &str = "#7a3e9d";
pub(crate) const TEAL: &str = "#0f766e";
/// Levels (posture zones, risk): green, amber, red, all at least 3:1 against white.
pub(crate) const GOOD: &str = "#1b7f4b";
pub(crate) const FAIR: &str = "#b35c00";
pub(crate) const POOR: &str = "#b3261e";

/// A 100 % bar of shares (e.g. posture zones), `label` saying them in words as its title; the
/// page writes the shares out beside it too. Nothing (an empty string) when the parts add up to
/// nothing. `class` is the page's class for the bar's size.
pub(crate) fn share_bar(class: &str, label: &str, parts: &[(f64, &str)]) -> String {
    let total: f64 = parts
        .iter()
        .map(|(value, _)| value.max(0.0))
        .filter(|v| v.is_finite())
        .sum();
    if !(total.is_finite() && total > 0.0) {
        return String::new();
    }
    let mut svg = format!(
        "<svg class=\"{}\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" role=\"img\" \
         aria-label=\"{label}\"><title>{label}</title>",
        Escaped(class),
        label = Escaped(label),
    );
    let mut x = 0.0;
    for (value, colour) in parts {
        if !value.is_finite() {
            continue;
        }
        let w = (value.max(0.0) / total) * 100.0;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_bar_draws_each_share_and_says_them_in_its_title() {
        let svg = share_bar(
            "an-zones",
            "Posture zones: 60% <ok>",
            &[(600.0, GOOD), (300.0, FAIR), (100.0, POOR)],
        );
        assert!(svg.starts_with("<svg class=\"an-zones\""));
        assert!(svg.contains("<title>Posture zones: 60% &lt;ok&gt;</title>"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("x=\"90.00\" y=\"0\" width=\"10.00\""));
    }

    #[test]
    fn every_chart_is_sized_by_the_one_site_rule_centred_and_at_most_30rem() {
        let site = include_str!("../../assets/style.css");
        let rule = site
            .split_once("\n.chart {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(rule, _)| rule)
            .unwrap_or_default();
        assert!(rule.contains("width: 100%;"), "{rule}");
        assert!(rule.contains("max-width: 30rem;"), "{rule}");
        assert!(rule.contains("auto"), "centred: {rule}");
        // No page sizes its charts its own way.
        for page in [
            include_str!("../analysis/style.css"),
            include_str!("../diagnostics/style.css"),
            include_str!("../roster/style.css"),
        ] {
            assert!(!page.contains("-chart"), "a page's own chart rule");
            assert!(!page.contains("max-width: 32rem"));
        }
    }

    #[test]
    fn a_share_bar_of_nothing_is_not_drawn() {
        assert_eq!(
            share_bar("an-zones", "none", &[(0.0, GOOD), (0.0, POOR)]),
            ""
        );
        assert_eq!(share_bar("an-zones", "none", &[]), "");
        let svg = share_bar("an-zones", "odd", &[(f64::NAN, GOOD), (5.0, POOR)]);
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(!svg.contains("NaN"));
    }
}
