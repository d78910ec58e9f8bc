//! The static files the pages load (script, stylesheet), compiled into the binary, and their
//! routes. It must never serve anything from disk or any name a request supplies: only this table.

use axum::{Router, http::header::CONTENT_TYPE, routing::get};

use crate::SharedView;

/// Where the status page's script is served; pages link it through this constant.
pub(crate) const STATUS_JS: &str = "/assets/status.js";
/// Where the stylesheet every page uses is served.
pub(crate) const STYLE_CSS: &str = "/assets/style.css";

struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset {
        path: STATUS_JS,
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/status.js"),
    },
    Asset {
        path: STYLE_CSS,
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/style.css"),
    },
];

/// One fixed route per asset.
pub(crate) fn routes() -> Router<SharedView> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(
            asset.path,
            get(move || async move { ([(CONTENT_TYPE, asset.content_type)], asset.body) }),
        )
    })
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::testing::{FakeDock, body_text, get};

    #[tokio::test]
    async fn the_script_and_stylesheet_are_served_with_their_types() {
        let (_dock, router) = FakeDock::router();
        for (path, content_type, marker) in [
            (STATUS_JS, "text/javascript; charset=utf-8", "EventSource"),
            (STYLE_CSS, "text/css; charset=utf-8", ".tiles"),
        ] {
            let response = get(router.clone(), path).await;
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()[CONTENT_TYPE], content_type);
            assert!(body_text(response).await.contains(marker), "{path}");
        }
    }

    #[tokio::test]
    async fn the_script_never_writes_markup_from_data() {
        let (_dock, router) = FakeDock::router();
        let script = body_text(get(router, STATUS_JS).await).await;
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!script.contains(sink), "status.js uses {sink}");
        }
    }
}
