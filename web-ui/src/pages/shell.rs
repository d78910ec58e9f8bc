//! The one document shell every page is rendered in: the head (title, the site's stylesheet, a
//! page's own stylesheets and script, the CSRF token for scripts), the skip link, the site
//! navigation for the viewer's role ([`nav`]), the header with the heading and the account bar
//! (who is signed in, and the sign-out form), `<main>` and an optional footer; and the one short
//! message page ([`message`], also the 404 and 405 pages). It must never interpolate text
//! without [`Escaped`], never emit inline script, style or handlers (CSP), never link a role to a
//! page it may not open, and never let a page be cached (pages show accounts and data).

use std::{convert::Infallible, fmt::Write as _};

use axum::{
    extract::FromRequestParts,
    http::{Extensions, StatusCode, header::CACHE_CONTROL, request::Parts},
    response::{Html, IntoResponse, Response},
};

use super::Escaped;
use crate::{
    access::{CsrfToken, CurrentUser, Role},
    assets,
    auth::Flash,
};

/// Who looks at a page: the signed-in user and the session's CSRF token (for the sign-out form,
/// every form on the page, and `<meta name="csrf-token">`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Viewer<'a> {
    pub(crate) user: &'a CurrentUser,
    pub(crate) csrf: &'a str,
}

/// The signed-in user, CSRF token and session notice as the sign-in check left them in the
/// request extensions; empty on a route that no sign-in check ran for (the public ones).
#[derive(Debug, Clone, Default)]
pub(crate) struct Visitor {
    user: Option<CurrentUser>,
    csrf: Option<CsrfToken>,
    flash: Option<Flash>,
}

impl Visitor {
    /// The visitor as the sign-in check left them in `extensions`.
    pub(crate) fn of(extensions: &Extensions) -> Self {
        Self {
            user: extensions.get::<CurrentUser>().cloned(),
            csrf: extensions.get::<CsrfToken>().cloned(),
            flash: extensions.get::<Flash>().cloned(),
        }
    }

    /// Leaves `summary` for this visitor's next view of `page` (a form's confirmation, shown
    /// once; never carried in an address). Nothing without a session.
    pub(crate) fn leave_notice(&self, page: &'static str, summary: String) {
        if let Some(flash) = &self.flash {
            flash.leave(page, summary);
        }
    }

    /// The confirmation a form left for this view of `page`, taken (shown once).
    pub(crate) fn take_notice(&self, page: &str) -> Option<String> {
        self.flash.as_ref().and_then(|flash| flash.take(page))
    }

    /// The viewer, when someone is signed in (with a session, so with a CSRF token).
    pub(crate) fn viewer(&self) -> Option<Viewer<'_>> {
        match (&self.user, &self.csrf) {
            (Some(user), Some(csrf)) => Some(Viewer {
                user,
                csrf: csrf.as_str(),
            }),
            _ => None,
        }
    }

    /// The signed-in user, if any.
    pub(crate) fn user(&self) -> Option<&CurrentUser> {
        self.user.as_ref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor::of(&parts.extensions))
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

/// Who is signed in, and the sign-out button (a form: it works without JavaScript and carries
/// the CSRF token as the hidden field `csrf`). Goes inside the page's `<header>`.
fn account_bar(out: &mut String, viewer: Viewer<'_>) {
    let _ = write!(
        out,
        "<div class=\"account\"><p class=\"who\">Signed in as <strong>{}</strong> \
         <span class=\"role\">{}</span></p>\n\
         <form class=\"logout\" method=\"post\" action=\"/logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">Sign out</button></form></div>\n",
        Escaped(&viewer.user.name),
        viewer.user.role.label(),
        Escaped(viewer.csrf),
    );
}

/// How a page is framed. Start from [`Shell::new`] and change what the page needs; then
/// [`Shell::render`] puts the page's `<main>` markup inside.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shell<'a> {
    /// The document title (text).
    title: &'a str,
    /// The heading in the page header (text); `None` when `<main>` brings its own `<h1>`.
    heading: Option<&'a str>,
    /// More markup in the header after the heading (the status page's live indicator).
    header: &'a str,
    /// The path the navigation marks as the current page.
    current: &'a str,
    /// The page's own stylesheets, after the site's.
    styles: &'a [&'static str],
    /// A script from `crate::assets` to load after parsing.
    script: Option<&'static str>,
    /// The class of `<main>`.
    main_class: Option<&'static str>,
    /// Markup after `<main>` (the status page's version line).
    footer: &'a str,
}

impl<'a> Shell<'a> {
    /// A page titled `title`, with `title` as its heading, no own stylesheet, script or footer,
    /// and no page of the navigation marked.
    pub(crate) fn new(title: &'a str) -> Self {
        Self {
            title,
            heading: Some(title),
            header: "",
            current: "",
            styles: &[],
            script: None,
            main_class: None,
            footer: "",
        }
    }

    /// Another heading than the title.
    pub(crate) fn heading(self, heading: &'a str) -> Self {
        Self {
            heading: Some(heading),
            ..self
        }
    }

    /// No heading in the header: `<main>` has its own `<h1>`.
    pub(crate) fn own_heading(self) -> Self {
        Self {
            heading: None,
            ..self
        }
    }

    pub(crate) fn header(self, header: &'a str) -> Self {
        Self { header, ..self }
    }

    pub(crate) fn current(self, current: &'a str) -> Self {
        Self { current, ..self }
    }

    pub(crate) fn styles(self, styles: &'a [&'static str]) -> Self {
        Self { styles, ..self }
    }

    pub(crate) fn script(self, script: &'static str) -> Self {
        Self {
            script: Some(script),
            ..self
        }
    }

    pub(crate) fn main_class(self, class: &'static str) -> Self {
        Self {
            main_class: Some(class),
            ..self
        }
    }

    pub(crate) fn footer(self, footer: &'a str) -> Self {
        Self { footer, ..self }
    }

    /// The whole document around `main` (markup). With a `viewer`, the navigation for their
    /// role, the account bar and the CSRF token; without one, none of them.
    pub(crate) fn document(&self, viewer: Option<Viewer<'_>>, main: &str) -> String {
        let mut out = String::with_capacity(main.len() + 2048);
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
             <link rel=\"stylesheet\" href=\"{}\">\n",
            Escaped(self.title),
            assets::STYLE_CSS,
        );
        for style in self.styles {
            let _ = writeln!(out, "<link rel=\"stylesheet\" href=\"{style}\">");
        }
        if let Some(viewer) = viewer {
            let _ = writeln!(
                out,
                "<meta name=\"csrf-token\" content=\"{}\">",
                Escaped(viewer.csrf)
            );
        }
        if let Some(src) = self.script {
            let _ = writeln!(out, "<script src=\"{src}\" defer></script>");
        }
        out.push_str("</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n");
        if let Some(viewer) = viewer {
            out.push_str(&nav(viewer.user.role, self.current));
        }
        if self.heading.is_some() || !self.header.is_empty() || viewer.is_some() {
            out.push_str("<header class=\"top\">\n");
            if let Some(heading) = self.heading {
                let _ = writeln!(out, "<h1>{}</h1>", Escaped(heading));
            }
            out.push_str(self.header);
            if let Some(viewer) = viewer {
                account_bar(&mut out, viewer);
            }
            out.push_str("</header>\n");
        }
        out.push_str("<main id=\"main\"");
        if let Some(class) = self.main_class {
            let _ = write!(out, " class=\"{class}\"");
        }
        let _ = write!(
            out,
            " tabindex=\"-1\">\n{main}</main>\n{}</body>\n</html>\n",
            self.footer
        );
        out
    }

    /// [`Shell::document`] as a response with `status`, never cached.
    pub(crate) fn render(
        &self,
        status: StatusCode,
        viewer: Option<Viewer<'_>>,
        main: &str,
    ) -> Response {
        (
            status,
            [(CACHE_CONTROL, "no-store")],
            Html(self.document(viewer, main)),
        )
            .into_response()
    }
}

/// A link on a message page: where to, and its words (both fixed wording from the code).
pub(crate) type Back = (&'static str, &'static str);

/// The way back most messages offer.
pub(crate) const TO_THE_DOCK: Back = ("/", "Go to the dock status");

/// The one short page saying what happened: `title` as heading, `text` as one paragraph, and a
/// link `back`; in the shell, so a signed-in `viewer` keeps the navigation and the account bar.
/// Neither `title` nor `text` may carry request data (they are escaped all the same).
pub(crate) fn message_for(
    status: StatusCode,
    viewer: Option<Viewer<'_>>,
    title: &str,
    text: &str,
    back: Back,
) -> Response {
    let main = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"{}\">{}</a></p>\n",
        Escaped(title),
        Escaped(text),
        back.0,
        Escaped(back.1)
    );
    Shell::new(title)
        .own_heading()
        .main_class("message")
        .render(status, viewer, &main)
}

/// [`message_for`] nobody in particular, with the way back to the dock status.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    message_for(status, None, title, text, TO_THE_DOCK)
}

/// 404 for every unknown address, with a way back to the status page. It never echoes the
/// address.
pub(crate) async fn not_found(visitor: Visitor) -> Response {
    message_for(
        StatusCode::NOT_FOUND,
        visitor.viewer(),
        "Page not found",
        "There is no page at this address.",
        TO_THE_DOCK,
    )
}

/// 405 for any method but GET/HEAD on a known address (axum adds the `Allow` header). It never
/// echoes the method.
pub(crate) async fn method_not_allowed(visitor: Visitor) -> Response {
    message_for(
        StatusCode::METHOD_NOT_ALLOWED,
        visitor.viewer(),
        "Not allowed",
        "This address can only be viewed, not sent to.",
        TO_THE_DOCK,
    )
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

    #[test]
    fn a_viewer_gets_the_navigation_the_account_bar_and_the_token_and_nobody_gets_none() {
        let user = CurrentUser {
            name: "ada".to_owned(),
            role: Role::Supervisor,
        };
        let viewer = Viewer {
            user: &user,
            csrf: "tok",
        };
        let shell = Shell::new("Roster")
            .current("/roster")
            .styles(&["/assets/roster.css"]);
        let html = shell.document(Some(viewer), "<p>body</p>\n");
        assert!(html.contains("<a href=\"/roster\" aria-current=\"page\">Roster</a>"));
        assert!(html.contains("Signed in as <strong>ada</strong>"));
        assert!(html.contains("<form class=\"logout\" method=\"post\" action=\"/logout\">"));
        assert!(html.contains("<input type=\"hidden\" name=\"csrf\" value=\"tok\">"));
        assert!(html.contains("<meta name=\"csrf-token\" content=\"tok\">"));
        assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/roster.css\">"));
        assert!(html.contains("<h1>Roster</h1>"));
        let html = shell.own_heading().document(None, "<h1>Own</h1>\n");
        assert!(!html.contains("site-nav"));
        assert!(!html.contains("logout"));
        assert!(!html.contains("csrf"));
        assert!(!html.contains("<header"));
        assert_eq!(html.matches("<h1>").count(), 1);
    }
}
