//! The one error type of the site's handlers ([`Failure`]): a status, a title and the problem in
//! plain words, answered as a page in the shell (with the viewer's navigation and account bar and
//! a way on) or as `{"error": words}` JSON, whichever the route serves; and the one helper that
//! runs a blocking daemon call ([`blocking`]). It must never carry request data into its words
//! unescaped (the page escapes them), nor log what a failed call panicked with (it could quote
//! worker data).

use std::borrow::Cow;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::CACHE_CONTROL},
    response::{IntoResponse, Response},
};

use super::shell::{Back, TO_THE_DOCK, Visitor, message_for};

/// Why a request got no page, no data or no change.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    status: StatusCode,
    /// The message page's heading.
    title: &'static str,
    /// The problem in words: the page's paragraph and the JSON's `error`.
    words: Cow<'static, str>,
    /// The message page's way on.
    back: Back,
    /// How it is answered.
    answer: Answer,
}

#[derive(Debug, Clone)]
enum Answer {
    Json,
    /// A page, in the shell for this visitor (boxed: a failure travels in `Result`s).
    Page(Box<Visitor>),
}

impl Failure {
    /// A failure answered as JSON until [`Failure::on_page`], with the way back to the dock.
    pub(crate) fn new(
        status: StatusCode,
        title: &'static str,
        words: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            title,
            words: words.into(),
            back: TO_THE_DOCK,
            answer: Answer::Json,
        }
    }

    /// The message page links `back` instead of the dock status.
    pub(crate) fn back(self, back: Back) -> Self {
        Self { back, ..self }
    }

    /// Answered as a page for `visitor` (their navigation and account bar).
    pub(crate) fn on_page(self, visitor: &Visitor) -> Self {
        Self {
            answer: Answer::Page(Box::new(visitor.clone())),
            ..self
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self.answer {
            Answer::Page(visitor) => message_for(
                self.status,
                visitor.viewer(),
                self.title,
                &self.words,
                self.back,
            ),
            Answer::Json => {
                let mut response = (
                    self.status,
                    Json(serde_json::json!({ "error": self.words })),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        }
    }
}

/// Runs a blocking daemon call (SQLite reads, password hashing) on tokio's blocking pool; `None`
/// when it did not return (it panicked), which the caller answers as "not available". The
/// handlers use it for the views' blocking reads, and the daemon's views for the blocking work
/// inside their async writes.
pub async fn blocking<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(call).await {
        Ok(value) => Some(value),
        Err(error) => {
            // Not the panic's message: it could quote worker data.
            tracing::error!(
                panicked = error.is_panic(),
                "A call to the daemon did not return."
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::CONTENT_TYPE;

    use super::*;
    use crate::testing::{body_json, body_text};

    #[tokio::test]
    async fn a_failure_is_json_until_it_is_put_on_a_page() {
        let failure = Failure::new(StatusCode::BAD_REQUEST, "Not a date", "Write <a> date.");
        let response = failure.clone().into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(body_json(response).await["error"], "Write <a> date.");
        let response = failure
            .back(("/overview", "Go to today's overview"))
            .on_page(&Visitor::default())
            .into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let html = body_text(response).await;
        assert!(html.contains("<h1>Not a date</h1>"));
        assert!(html.contains("Write &lt;a&gt; date."));
        assert!(html.contains("<a href=\"/overview\">Go to today&#39;s overview</a>"));
    }

    #[tokio::test]
    async fn a_call_that_panics_is_told_apart_from_its_answer() {
        assert_eq!(blocking(|| 7).await, Some(7));
        let panicked: Option<u8> = blocking(|| panic!("quoting worker data")).await;
        assert_eq!(panicked, None);
    }
}
