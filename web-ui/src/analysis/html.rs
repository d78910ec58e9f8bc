//! Markup helpers the analysis pages share: escaping, query strings, numbers in words, and the
//! document shell with the site navigation (`crate::pages::nav`). They must never let interpolated text open a tag, an
//! entity or leave a quoted attribute, and never emit inline script, style or handlers (CSP).

use std::fmt::Write as _;

use axum::{
    http::{StatusCode, header::CACHE_CONTROL},
    response::{Html, IntoResponse, Response},
};

use super::{STYLE_PATH, view::RiskLevel};
use crate::{access::Role, assets, pages};

/// Text made safe for HTML: the site's one escaper, under the name this module's markup uses.
pub(super) use crate::pages::Escaped as Esc;

/// A query-string value, percent-encoded (everything but RFC 3986 unreserved characters).
pub(super) fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `path?k=v&…` from the pairs whose value is present and not empty. The result is a URL: escape
/// it with [`Esc`] before putting it in an attribute.
pub(super) fn url(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = path.to_owned();
    let mut first = true;
    for (key, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(key);
            out.push('=');
            out.push_str(&query_value(value));
        }
    }
    out
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

/// A complete HTML document for an analysis page: the shared stylesheet and this module's, a skip
/// link, the site navigation for `role` (`crate::pages::nav`; none when the role is not known),
/// and `body` (already markup). Not cacheable: it holds worker data.
pub(super) fn page(
    status: StatusCode,
    title: &str,
    nav: Nav,
    role: Option<Role>,
    body: &str,
) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         <link rel=\"stylesheet\" href=\"{style}\">\n<link rel=\"stylesheet\" href=\"{own}\">\n\
         </head>\n<body>\n<a class=\"an-skip\" href=\"#main\">Skip to content</a>\n\
         {nav}<main id=\"main\" class=\"an-main\" tabindex=\"-1\">\n{body}</main>\n</body>\n</html>\n",
        title = Esc(title),
        style = assets::STYLE_CSS,
        own = STYLE_PATH,
        nav = role.map_or_else(String::new, |role| pages::nav(role, nav.path())),
    );
    (status, [(CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A short page saying what went wrong, with a way back to the overview. `text` is fixed words.
pub(super) fn message(status: StatusCode, role: Option<Role>, title: &str, text: &str) -> Response {
    let body = format!(
        "<section class=\"message\">\n<h1>{}</h1>\n<p>{}</p>\n\
         <p><a href=\"/overview\">Go to today's overview</a></p>\n</section>\n",
        Esc(title),
        Esc(text)
    );
    page(status, title, Nav::Other, role, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded_so_a_name_cannot_add_parameters() {
        assert_eq!(query_value("Night & day=1"), "Night%20%26%20day%3D1");
        assert_eq!(query_value("Süd"), "S%C3%BCd");
        assert_eq!(
            url(
                "/overview",
                &[
                    ("day", Some("2025-03-03")),
                    ("team", None),
                    ("task", Some(""))
                ]
            ),
            "/overview?day=2025-03-03"
        );
        assert_eq!(
            url("/overview", &[("team", Some("A")), ("sort", Some("name"))]),
            "/overview?team=A&sort=name"
        );
    }

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
    async fn the_shell_carries_the_site_navigation_for_the_viewers_role() {
        use http_body_util::BodyExt;
        let text = |response: Response| async {
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        };
        let html = text(page(StatusCode::OK, "T", Nav::Tasks, Some(Role::Admin), "")).await;
        assert!(html.contains("<a href=\"/tasks\" aria-current=\"page\">Tasks &amp; hours</a>"));
        assert!(html.contains("<a href=\"/settings\">Settings</a>"));
        let html = text(page(
            StatusCode::OK,
            "T",
            Nav::Other,
            Some(Role::Supervisor),
            "",
        ))
        .await;
        assert!(!html.contains("aria-current"));
        assert!(!html.contains("/settings"));
        let html = text(message(StatusCode::FORBIDDEN, None, "No", "Not for you.")).await;
        assert!(!html.contains("site-nav"));
    }

    #[test]
    fn the_risk_badge_says_the_level_in_words() {
        assert_eq!(
            risk_badge(RiskLevel::High),
            "<span class=\"an-risk\" data-level=\"high\">High risk</span>"
        );
    }
}
