//! The audit trail page: who signed in, viewed a worker's data or changed a setting, and when,
//! newest first, a page at a time. It must never interpolate a line's text without `Escaped`
//! (user names and subjects come from the daemon and from what people typed), and never offer a
//! way to change or delete a line.

use std::fmt::Write as _;

use axum::{http::StatusCode, response::Response};

use super::{AUDIT_PATH, view::AuditPage};
use crate::pages::{Escaped, Shell, Viewer, time_element};

/// `GET /audit`: one page of lines; `paged` when this is not the newest page.
pub(super) fn page(page: &AuditPage, paged: bool, viewer: Viewer<'_>) -> Response {
    let mut out = String::from(
        "<p class=\"lead\">Every sign-in, view of a worker's data and change of a setting, \
         newest first. Lines cannot be changed or deleted; times are in UTC.</p>\n",
    );
    if let Some(chain) = &page.chain {
        let (kind, title) = if chain.intact {
            ("done", "Tamper check passed:")
        } else {
            ("problem", "Tamper check failed:")
        };
        let _ = writeln!(
            out,
            "<div class=\"notice\" role=\"status\" data-kind=\"{kind}\"><p><strong>{title}</strong> {}</p></div>",
            Escaped(&chain.finding)
        );
    }
    if page.entries.is_empty() {
        out.push_str(if paged {
            "<p>There are no older lines.</p>\n"
        } else {
            "<p>The audit trail is empty.</p>\n"
        });
    } else {
        out.push_str(
            "<div class=\"table-wrap\"><table class=\"admin-table\">\n<thead><tr>\
             <th scope=\"col\">When</th><th scope=\"col\">User</th><th scope=\"col\">What</th>\
             <th scope=\"col\">Subject</th></tr></thead>\n<tbody>\n",
        );
        for line in &page.entries {
            let _ = writeln!(
                out,
                "<tr><td>{when}</td><td data-label=\"User\">{user}</td>\
                 <td data-label=\"What\">{action}</td><td data-label=\"Subject\">{subject}</td></tr>",
                when = time_element(line.at_ms, true),
                user = Escaped(&line.user),
                action = Escaped(&line.action),
                subject = Escaped(&line.subject),
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    let mut links = Vec::new();
    if paged {
        links.push(format!("<a href=\"{AUDIT_PATH}\">Newest</a>"));
    }
    if let Some(older) = page.older {
        links.push(format!(
            "<a href=\"{AUDIT_PATH}?before={older}\" rel=\"next\">Older</a>"
        ));
    }
    if !links.is_empty() {
        let _ = writeln!(
            out,
            "<nav class=\"pager\" aria-label=\"Audit trail pages\">{}</nav>",
            links.join(" ")
        );
    }
    Shell::new("Audit trail")
        .current(AUDIT_PATH)
        .render(StatusCode::OK, Some(viewer), &out)
}
