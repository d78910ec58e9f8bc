//! Markup helpers the analysis pages share: numbers in words, the risk badge, and how an
//! analysis page is framed in the site's one shell (`crate::pages::Shell`). Escaping and
//! addresses are the site's (`crate::pages`). They must never let interpolated text open a tag,
//! an entity or leave a quoted attribute, and never emit inline script, style or handlers (CSP).

use std::fmt::Write as _;

use axum::{http::StatusCode, response::Response};

use super::{
    STYLE_PATH,
    view::{RiskLevel, WorkRestrictionExceeded},
};
use crate::pages::{Shell, Viewer};

/// Text made safe for HTML: the site's one escaper, under the name this module's markup uses.
pub(super) use crate::pages::Escaped as Esc;
/// Addresses with query values: the site's one encoder.
pub(super) use crate::pages::url;

/// What a shift or day went beyond of a worker's work restrictions, as a list (nothing when
/// within them): "Beyond the work restriction: 3 deep bends (limit: none) — 09:00–10:00 (2)".
pub(super) fn work_restrictions_exceeded(out: &mut String, exceeded: &[WorkRestrictionExceeded]) {
    if exceeded.is_empty() {
        return;
    }
    out.push_str("<ul class=\"an-work-restriction\">");
    for item in exceeded {
        let _ = write!(
            out,
            "<li><strong>Beyond the work restriction:</strong> {}",
            Esc(&item.what)
        );
        if !item.when.is_empty() {
            let when: Vec<String> = item.when.iter().map(|w| Esc(w).to_string()).collect();
            let _ = write!(out, " — {}", when.join(", "));
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

/// A figure for reading: no decimals from 10, one below; never `-0`.
pub(super) fn num(x: f64) -> String {
    if !x.is_finite() {
        return "–".to_owned();
    }
    let text = if x.abs() >= 10.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    };
    match text.as_str() {
        "-0" => "0".to_owned(),
        "-0.0" => "0.0".to_owned(),
        _ => text,
    }
}

/// A whole number without decimals, anything else as [`num`]: `5`, `2.5`.
pub(super) fn limit(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        num(x)
    }
}

/// A share 0–1 as a whole percentage (halves round up).
pub(super) fn pct(share: f64) -> String {
    if share.is_finite() {
        format!("{:.0}%", (share * 100.0).round().clamp(0.0, 100.0))
    } else {
        "–".to_owned()
    }
}

/// Hours of wear: `7.5 h`, or minutes below an hour.
pub(super) fn hours(h: f64) -> String {
    if h.is_finite() && h < 1.0 {
        format!("{:.0} min", (h * 60.0).max(0.0))
    } else {
        format!("{} h", num(h))
    }
}

/// A response time: `1.8 s`, `42 s`.
pub(super) fn seconds_from_ms(ms: u32) -> String {
    format!("{} s", num(f64::from(ms) / 1000.0))
}

/// A count with its noun.
pub(super) fn counted(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The risk level as a badge: a word with a colour class (the word carries the meaning).
pub(super) fn risk_badge(level: RiskLevel) -> String {
    format!(
        "<span class=\"an-risk\" data-level=\"{}\">{}</span>",
        level.as_str(),
        level.words()
    )
}

/// Which page of the navigation is current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Overview,
    /// A page outside the navigation (a worker, a message).
    Other,
    Tasks,
}

impl Nav {
    /// The path the site navigation marks as current (none for `Other`).
    fn path(self) -> &'static str {
        match self {
            Nav::Overview => "/overview",
            Nav::Tasks => "/tasks",
            Nav::Other => "",
        }
    }
}

/// An analysis page in the site's shell: this module's stylesheet, `nav` marked, `body` (already
/// markup, with its own `<h1>`) in `<main>`; the navigation and account bar for `viewer`.
pub(super) fn page(
    status: StatusCode,
    title: &str,
    nav: Nav,
    viewer: Option<Viewer<'_>>,
    body: &str,
) -> Response {
    Shell::new(title)
        .own_heading()
        .current(nav.path())
        .styles(&[STYLE_PATH])
        .main_class("an-main")
        .render(status, viewer, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_a_supervisor_expects() {
        assert_eq!(num(41.26), "41");
        assert_eq!(num(3.04), "3.0");
        assert_eq!(num(-0.01), "0.0");
        assert_eq!(num(f64::NAN), "–");
        assert_eq!(pct(0.125), "13%");
        assert_eq!(limit(5.0), "5");
        assert_eq!(limit(2.5), "2.5");
        assert_eq!(hours(0.5), "30 min");
        assert_eq!(hours(7.5), "7.5 h");
        assert_eq!(seconds_from_ms(1_840), "1.8 s");
        assert_eq!(counted(1, "alert", "alerts"), "1 alert");
        assert_eq!(counted(3, "alert", "alerts"), "3 alerts");
    }

    #[tokio::test]
    async fn the_shell_carries_the_site_navigation_and_account_bar_for_the_viewer() {
        use crate::access::{CurrentUser, Role};
        use http_body_util::BodyExt;
        async fn html(nav: Nav, role: Option<Role>) -> String {
            let user = role.map(|role| CurrentUser {
                name: "ada".to_owned(),
                role,
            });
            let viewer = user.as_ref().map(|user| Viewer { user, csrf: "tok" });
            let response = page(StatusCode::OK, "T", nav, viewer, "");
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
        let admin = html(Nav::Tasks, Some(Role::Admin)).await;
        assert!(admin.contains("<a href=\"/tasks\" aria-current=\"page\">Tasks &amp; hours</a>"));
        assert!(admin.contains("<a href=\"/settings\">Settings</a>"));
        assert!(admin.contains("Signed in as <strong>ada</strong>"));
        assert!(admin.contains("<link rel=\"stylesheet\" href=\"/assets/analysis.css\">"));
        let supervisor = html(Nav::Other, Some(Role::Supervisor)).await;
        assert!(!supervisor.contains("aria-current"));
        assert!(!supervisor.contains("/settings"));
        assert!(!html(Nav::Other, None).await.contains("site-nav"));
    }

    #[test]
    fn the_risk_badge_says_the_level_in_words() {
        assert_eq!(
            risk_badge(RiskLevel::High),
            "<span class=\"an-risk\" data-level=\"high\">High risk</span>"
        );
    }
}
