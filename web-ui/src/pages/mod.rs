//! Server-rendered HTML pages, the document shell they share, and the one navigation every
//! signed-in page shows ([`nav`]). Pages must never interpolate text without `Escaped`, never
//! emit inline scripts, inline styles or event handlers (the CSP forbids them), and never link a
//! role to a page it may not open; scripts and styles come from `crate::assets`.

mod errors;
mod escape;
mod format;
mod login;
mod status;

use std::fmt::{self, Write as _};

use axum::{
    http::{StatusCode, header::CACHE_CONTROL},
    response::{Html, IntoResponse, Response},
};

use crate::{
    access::{CurrentUser, Role},
    assets,
};

pub(crate) use errors::{message, method_not_allowed, not_found};
pub(crate) use escape::Escaped;
pub(crate) use format::{bytes, civil_from_days, count, time_element};
pub(crate) use login::{LoginForm, LoginProblem, page as login};
pub(crate) use status::page as status;

/// A complete HTML document around a page body. The body is already markup; the title is text.
struct Document<'a, B> {
    title: &'a str,
    /// A script from `crate::assets` to load after parsing, if the page has one.
    script: Option<&'static str>,
    /// The session's CSRF token, for scripts that write (`<meta name="csrf-token">`).
    csrf: Option<&'a str>,
    body: B,
}

impl<B: fmt::Display> fmt::Display for Document<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n\
             <link rel=\"icon\" href=\"data:,\">\n\
             <link rel=\"stylesheet\" href=\"{}\">\n",
            Escaped(self.title),
            assets::STYLE_CSS,
        )?;
        if let Some(token) = self.csrf {
            writeln!(
                f,
                "<meta name=\"csrf-token\" content=\"{}\">",
                Escaped(token)
            )?;
        }
        if let Some(src) = self.script {
            writeln!(f, "<script src=\"{src}\" defer></script>")?;
        }
        write!(f, "</head>\n<body>\n{}</body>\n</html>\n", self.body)
    }
}

/// Who is signed in, and the sign-out button (a form: it works without JavaScript and carries
/// the CSRF token as the hidden field `csrf`). Goes inside a page's `<header>`.
pub(crate) struct AccountBar<'a> {
    pub(crate) user: &'a CurrentUser,
    pub(crate) csrf: &'a str,
}

impl fmt::Display for AccountBar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<div class=\"account\"><p class=\"who\">Signed in as <strong>{}</strong> \
             <span class=\"role\">{}</span></p>\n\
             <form class=\"logout\" method=\"post\" action=\"/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form></div>\n",
            Escaped(&self.user.name),
            self.user.role.label(),
            Escaped(self.csrf),
        )
    }
}

/// One entry of the site navigation.
struct NavLink {
    path: &'static str,
    label: &'static str,
    /// Whether a role may open the page (its route guard lets it in).
    open_to: fn(Role) -> bool,
}

/// Every page of the navigation, in order. Each link's `open_to` must match the guard its route
/// sits behind in `crate::build`: a link is shown only to roles that may open it.
const NAV: [NavLink; 7] = [
    NavLink {
        path: "/",
        label: "Dock",
        open_to: |_| true,
    },
    NavLink {
        path: "/overview",
        label: "Today",
        open_to: Role::sees_worker_data,
    },
    NavLink {
        path: "/tasks",
        label: "Tasks &amp; hours",
        open_to: Role::sees_worker_data,
    },
    NavLink {
        path: "/roster",
        label: "Roster",
        open_to: Role::sees_worker_data,
    },
    NavLink {
        path: "/settings",
        label: "Settings",
        open_to: |role| role == Role::Admin,
    },
    NavLink {
        path: "/audit",
        label: "Audit",
        open_to: |role| role == Role::Admin,
    },
    NavLink {
        path: "/diagnostics",
        label: "Diagnostics",
        open_to: Role::sees_diagnostics,
    },
];

/// The navigation every signed-in page shows: the pages `role` may open, the one at `current`
/// (a path such as `/overview`; anything else marks none) with `aria-current="page"`. Plain links
/// in a list: reachable with the keyboard, and the list wraps on a narrow screen (375 px).
pub(crate) fn nav(role: Role, current: &str) -> String {
    let mut out = String::from("<nav class=\"site-nav\" aria-label=\"Pages\"><ul>");
    for link in NAV.iter().filter(|link| (link.open_to)(role)) {
        let here = if link.path == current {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<li><a href=\"{}\"{here}>{}</a></li>",
            link.path, link.label
        );
    }
    out.push_str("</ul></nav>\n");
    out
}

/// A complete page for a signed-in user: skip link, [`nav`] with `current` marked, a header with
/// `title` and the account bar, and `main` (already markup) in `<main id="main">`. Never cached:
/// these pages show settings, accounts or data.
pub(crate) fn signed_in_page(
    status: StatusCode,
    title: &str,
    user: &CurrentUser,
    csrf: &str,
    current: &str,
    main: &str,
) -> Response {
    let body = format!(
        "<a class=\"skip\" href=\"#main\">Skip to content</a>\n{nav}\
         <header class=\"top\">\n<h1>{title}</h1>\n{account}</header>\n\
         <main id=\"main\" tabindex=\"-1\">\n{main}</main>\n",
        nav = nav(user.role, current),
        title = Escaped(title),
        account = AccountBar { user, csrf },
    );
    let page = Document {
        title,
        script: None,
        csrf: Some(csrf),
        body,
    };
    (
        status,
        [(CACHE_CONTROL, "no-store")],
        Html(page.to_string()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(html: &str) -> Vec<&str> {
        html.split("<a href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect()
    }

    #[test]
    fn each_role_sees_only_the_pages_it_may_open() {
        assert_eq!(links(&nav(Role::Technician, "/")), ["/", "/diagnostics"]);
        assert_eq!(
            links(&nav(Role::Supervisor, "/")),
            ["/", "/overview", "/tasks", "/roster"]
        );
        assert_eq!(
            links(&nav(Role::Admin, "/")),
            [
                "/",
                "/overview",
                "/tasks",
                "/roster",
                "/settings",
                "/audit",
                "/diagnostics"
            ]
        );
    }

    #[test]
    fn the_current_page_and_only_it_is_marked() {
        let html = nav(Role::Admin, "/settings");
        assert_eq!(html.matches("aria-current").count(), 1);
        assert!(html.contains("<a href=\"/settings\" aria-current=\"page\">Settings</a>"));
        assert!(html.contains("<a href=\"/tasks\">Tasks &amp; hours</a>"));
        assert!(html.starts_with("<nav class=\"site-nav\" aria-label=\"Pages\"><ul>"));
        // A page outside the navigation marks none; a link is never made unfocusable.
        let html = nav(Role::Admin, "/workers/12");
        assert!(!html.contains("aria-current"));
        assert!(!html.contains("tabindex"));
    }
}
