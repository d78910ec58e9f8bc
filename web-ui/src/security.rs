//! Security headers on every response the web UI sends, whatever route or fallback produced it.
//! It must never relax a header per route; a page that needs something looser changes the policy
//! here, in one reviewed place.

use axum::{
    extract::{Request, State},
    http::{
        HeaderValue,
        header::{
            CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
            X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
        },
    },
    middleware::Next,
    response::Response,
};

/// Only the dock's own scripts, styles and connections; no framing, no `<base>` tricks. The
/// pages are written to need nothing more (no inline script, style or handler).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Referrers go only to the dock itself. Not `no-referrer`: under it, browsers send `Origin: null`
/// on our own form POSTs, and the `Origin` check (`crate::auth`) would refuse sign-in.
const REFERRER: &str = "same-origin";

/// Over HTTPS, browsers that once reached the dock never try it over plain HTTP again for a year.
const HSTS: &str = "max-age=31536000";

/// Whether the page is served over HTTPS (then responses carry HSTS; never over plain HTTP,
/// where browsers ignore it and it would only mislead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Https(pub(crate) bool);

/// Adds the headers after the handler ran, so 404s, 405s and errors carry them too. API answers
/// are live state and may hold data about the site: no cache keeps them.
pub(crate) async fn headers(
    State(Https(https)): State<Https>,
    request: Request,
    next: Next,
) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static(REFERRER));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    if is_api {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::{
        body::Body,
        http::{HeaderMap, Method, Request, StatusCode},
    };

    use super::*;
    use crate::{
        access::Role,
        testing::{FakeDock, TestSite, get, request},
    };

    fn assert_security_headers(headers: &HeaderMap) {
        assert_eq!(
            headers[CONTENT_SECURITY_POLICY],
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        );
        assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[REFERRER_POLICY], "same-origin");
        assert_eq!(headers[X_FRAME_OPTIONS], "DENY");
    }

    #[tokio::test]
    async fn the_page_an_asset_a_404_and_a_405_all_carry_the_security_headers() {
        let (_dock, router) = FakeDock::router();
        let refused = request(router.clone(), Method::POST, "/").await;
        assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_security_headers(refused.headers());
        for (path, status) in [
            ("/", StatusCode::OK),
            ("/assets/status.js", StatusCode::OK),
            ("/assets/style.css", StatusCode::OK),
            ("/no/such/page", StatusCode::NOT_FOUND),
        ] {
            let response = get(router.clone(), path).await;
            assert_eq!(response.status(), status, "{path}");
            assert_security_headers(response.headers());
        }
    }

    #[tokio::test]
    async fn refusals_and_the_sign_in_page_carry_the_security_headers_too() {
        let site = TestSite::new(false);
        for path in ["/", "/api/v1/status", "/login"] {
            let response = site
                .send(Request::get(path).body(Body::empty()).unwrap())
                .await;
            assert_security_headers(response.headers());
        }
        let technician = site.signed_in("tina", Role::Technician);
        let refused = get(technician, "/overview").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_security_headers(refused.headers());
    }

    #[tokio::test]
    async fn over_https_every_answer_carries_hsts_and_over_plain_http_none_does() {
        for https in [true, false] {
            let site = TestSite::new(https);
            for path in ["/login", "/healthz", "/no/such/page"] {
                let response = site
                    .send(Request::get(path).body(Body::empty()).unwrap())
                    .await;
                let hsts = response.headers().get(STRICT_TRANSPORT_SECURITY);
                if https {
                    assert_eq!(hsts.unwrap(), "max-age=31536000", "{path}");
                } else {
                    assert!(hsts.is_none(), "{path}");
                }
            }
        }
    }

    #[tokio::test]
    async fn api_answers_carry_the_security_headers_and_are_never_cached() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/api/v1/status").await;
        assert_security_headers(response.headers());
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    }
}
