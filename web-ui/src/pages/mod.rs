//! Server-rendered HTML pages and the document shell they share. Pages must never interpolate text
//! without `Escaped`, and never emit inline scripts, inline styles or event handlers (the CSP
//! forbids them); scripts and styles come from `crate::assets`.

mod errors;
mod escape;
mod format;
mod login;
mod status;

use std::fmt;

use crate::{access::CurrentUser, assets};
use escape::Escaped;

pub(crate) use errors::{message, method_not_allowed, not_found};
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
