//! Server-rendered HTML pages and the document shell they share. Pages must never interpolate text
//! without `Escaped`, and never emit inline scripts, inline styles or event handlers (the CSP
//! forbids them); scripts and styles come from `crate::assets`.

mod errors;
mod escape;
mod format;
mod status;

use std::fmt;

use axum::{Router, routing::get};

use crate::{SharedView, assets};
use escape::Escaped;

pub(crate) use errors::{method_not_allowed, not_found};

/// The page routes.
pub(crate) fn routes() -> Router<SharedView> {
    Router::new().route("/", get(status::page))
}

/// A complete HTML document around a page body. The body is already markup; the title is text.
struct Document<'a, B> {
    title: &'a str,
    /// A script from `crate::assets` to load after parsing, if the page has one.
    script: Option<&'static str>,
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
        if let Some(src) = self.script {
            writeln!(f, "<script src=\"{src}\" defer></script>")?;
        }
        write!(f, "</head>\n<body>\n{}</body>\n</html>\n", self.body)
    }
}
