//! web-ui: the dock's local web pages and JSON API, as one axum router over the [`DockView`] trait
//! the daemon implements. It must never depend on the daemon crate, never accept request bodies
//! (everything is read-only for now), and never show who wore a wearable.
//!
//! # Layout
//! - `view`: the [`DockView`] trait and the view types (also the JSON API's shapes).
//! - `pages`: server-rendered HTML pages (status page, 404/405) and their shared document shell.
//! - `api`: `/api/v1` JSON and server-sent events.
//! - `assets`: the script and stylesheet compiled into the binary.
//! - `security`: headers every response carries.

mod api;
mod assets;
mod pages;
mod security;
#[cfg(test)]
mod testing;
mod view;

use std::sync::Arc;

use axum::{Router, middleware, routing::get};

pub use view::{DockSnapshot, DockView, Progress, SlotState, SlotView};

/// The router state every handler reads from.
type SharedView = Arc<dyn DockView>;

/// All web UI routes over `view`:
///
/// - `GET /`: the dock status page (complete HTML; `assets/status.js` keeps it live)
/// - `GET /api/v1/status`: the [`DockSnapshot`] as JSON
/// - `GET /api/v1/events`: server-sent `status` events with the snapshot, on connect and on change
/// - `GET /assets/status.js`, `GET /assets/style.css`
/// - `GET /healthz`: `ok`
///
/// Anything else is a 404 page; other methods on these paths are a 405. Every response carries
/// the security headers (see `security`).
pub fn router(view: Arc<dyn DockView>) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(assets::routes())
        .route("/healthz", get(|| async { "ok" }))
        // After every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(pages::method_not_allowed)
        .fallback(pages::not_found)
        .layer(middleware::from_fn(security::headers))
        .with_state(view)
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode, header::ALLOW};

    use crate::testing::{FakeDock, body_text, get, request};

    #[tokio::test]
    async fn healthz_answers_ok() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/healthz").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "ok");
    }

    #[tokio::test]
    async fn an_unknown_address_gets_a_short_404_page_that_does_not_echo_it() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/%3Cscript%3Enope").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let html = body_text(response).await;
        assert!(html.contains("Page not found"));
        assert!(html.contains("<a href=\"/\">"));
        assert!(!html.contains("nope"));
    }

    #[tokio::test]
    async fn a_post_to_any_route_is_refused_with_405() {
        let (_dock, router) = FakeDock::router();
        for path in [
            "/",
            "/api/v1/status",
            "/api/v1/events",
            "/assets/status.js",
            "/assets/style.css",
            "/healthz",
        ] {
            let response = request(router.clone(), Method::POST, path).await;
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(response.headers()[ALLOW], "GET,HEAD", "{path}");
            assert!(body_text(response).await.contains("can only be viewed"));
        }
    }

    #[tokio::test]
    async fn other_writing_methods_are_refused_too() {
        let (_dock, router) = FakeDock::router();
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            let response = request(router.clone(), method.clone(), "/api/v1/status").await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
        }
    }
}
