//! The short plain pages for addresses and methods the dock does not serve. They must never echo
//! anything from the request (no path, no method) back into the page.

use axum::{
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};

use super::Document;

/// 404 for every unknown address, with a way back to the status page.
pub(crate) async fn not_found() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}

/// 405 for any method but GET/HEAD on a known address (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed() -> Response {
    message(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not allowed",
        "This address can only be viewed, not sent to.",
    )
}

/// A short plain page: `title` as heading, `text` as one paragraph, a link to the dock status.
/// Both are fixed wording from the code, never request data.
pub(crate) fn message(status: StatusCode, title: &'static str, text: &'static str) -> Response {
    let body = format!(
        "<main class=\"message\">\n<h1>{title}</h1>\n<p>{text}</p>\n\
         <p><a href=\"/\">Go to the dock status</a></p>\n</main>\n"
    );
    let page = Document {
        title,
        script: None,
        csrf: None,
        body,
    };
    (status, Html(page.to_string())).into_response()
}
