//! The static files the pages load (script, stylesheet), compiled into the binary, and their
//! routes. It must never serve anything from disk or any name a request supplies: only this table.

use axum::{
    http::{StatusCode, header::CONTENT_TYPE},
    routing::{MethodFilter, MethodRouter, on},
};

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

/// The route serving the asset at `path` (one of the constants above; `crate::ROUTES` lists one
/// row per asset). A path not in the table is a programming error and serves a bare 404 (this
/// module knows no page: the pages link the assets, never the other way round).
pub(crate) fn route<S: Clone + Send + Sync + 'static>(
    method: MethodFilter,
    path: &'static str,
) -> MethodRouter<S> {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => on(method, move || async move {
            ([(CONTENT_TYPE, asset.content_type)], asset.body)
        }),
        None => on(method, || async { StatusCode::NOT_FOUND }),
    }
}

/// Every asset's path, for the check that `crate::ROUTES` serves them all.
#[cfg(test)]
pub(crate) fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|asset| asset.path)
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
