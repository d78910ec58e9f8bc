//! Cross-site request checks: the per-session CSRF token every state-changing request must carry,
//! and the `Origin` check. It must never accept a token by a comparison whose time depends on
//! how much of it matched, never treat a missing token as a match, and never take a request whose
//! `Origin` names another site (or `null`) as our own.

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::{
        HeaderMap, HeaderValue, Method,
        header::{CONTENT_TYPE, HOST, ORIGIN},
    },
};

/// The header scripts and API clients send the token in.
pub(crate) const HEADER: &str = "x-csrf-token";
/// The hidden field HTML forms send the token in.
pub(crate) const FORM_FIELD: &str = "csrf";
/// A form bigger than this is not read for its token (and is refused).
const FORM_LIMIT: usize = 256 * 1024;

/// Whether a request with `method` may change something and so needs the token: everything but
/// GET, HEAD and OPTIONS.
pub(crate) fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// What a state-changing request submitted as its token.
pub(crate) enum Submitted {
    Token(Vec<u8>),
    Missing,
    /// The form was too big or broken to read.
    Unreadable,
}

/// The token `request` carries: the `X-CSRF-Token` header, or else the `csrf` field of a
/// url-encoded form body (read here and put back for the handler). Other bodies (JSON,
/// multipart) must use the header.
pub(crate) async fn submitted(request: Request) -> (Request, Submitted) {
    if let Some(token) = request.headers().get(HEADER) {
        let token = token.as_bytes().to_vec();
        return (request, Submitted::Token(token));
    }
    if !is_form(request.headers()) {
        return (request, Submitted::Missing);
    }
    let (parts, body) = request.into_parts();
    match to_bytes(body, FORM_LIMIT).await {
        Ok(bytes) => {
            let token = form_urlencoded::parse(&bytes)
                .find(|(name, _)| name == FORM_FIELD)
                .map(|(_, value)| value.as_bytes().to_vec());
            let request = Request::from_parts(parts, Body::from(bytes));
            (request, token.map_or(Submitted::Missing, Submitted::Token))
        }
        Err(_) => (
            Request::from_parts(parts, Body::empty()),
            Submitted::Unreadable,
        ),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| {
            mime.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Compares in time that depends only on the lengths, never on where the first difference is.
pub(crate) fn matches(expected: &str, given: &[u8]) -> bool {
    let expected = expected.as_bytes();
    if expected.is_empty() || expected.len() != given.len() {
        return false;
    }
    expected
        .iter()
        .zip(given)
        .fold(0_u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// Whether the request's `Origin`, if it has one, is this site: `http(s)://` + the `Host` the
/// request was sent to. No `Origin` is fine (old browsers, same-origin GETs, curl); `null`,
/// another host or port, or a request without a host is not.
///
/// Browsers send `Origin: null` on a POST when the page's referrer policy is `no-referrer`; the
/// pages therefore use `same-origin` (see `crate::security`), under which our own forms send
/// our origin.
pub(crate) fn origin_allowed(request: &Request) -> bool {
    let Some(origin) = request.headers().get(ORIGIN) else {
        return true;
    };
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        });
    host.is_some_and(|host| same_origin(origin, host))
}

fn same_origin(origin: &HeaderValue, host: &str) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|authority| !host.is_empty() && authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use axum::http::header::CONTENT_TYPE;
    use http_body_util::BodyExt;

    use super::*;

    fn with_origin(origin: Option<&str>, host: Option<&str>) -> Request {
        let mut builder = Request::builder().uri("/api/v1/events");
        if let Some(origin) = origin {
            builder = builder.header(ORIGIN, origin);
        }
        if let Some(host) = host {
            builder = builder.header(HOST, host);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_the_same_host_and_port_is_our_origin() {
        let host = Some("dock.local:8080");
        for (origin, allowed) in [
            (None, true),
            (Some("http://dock.local:8080"), true),
            (Some("https://DOCK.local:8080"), true),
            (Some("http://dock.local"), false),
            (Some("http://dock.local:8081"), false),
            (Some("http://evil.example"), false),
            (Some("http://dock.local:8080.evil.example"), false),
            (Some("null"), false),
            (Some("dock.local:8080"), false),
            (Some("ftp://dock.local:8080"), false),
        ] {
            assert_eq!(
                origin_allowed(&with_origin(origin, host)),
                allowed,
                "{origin:?}"
            );
        }
        assert!(!origin_allowed(&with_origin(
            Some("http://dock.local"),
            None
        )));
    }

    #[test]
    fn tokens_match_only_in_full() {
        let token = "ab".repeat(32);
        assert!(matches(&token, token.as_bytes()));
        assert!(!matches(&token, &token.as_bytes()[..63]));
        assert!(!matches(&token, "ba".repeat(32).as_bytes()));
        assert!(!matches(&token, b""));
        assert!(!matches("", b""));
    }

    #[test]
    fn only_get_head_and_options_are_safe() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_state_changing(&method));
        }
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_state_changing(&method));
        }
    }

    #[tokio::test]
    async fn a_forms_token_is_read_and_the_body_is_given_back_whole() {
        let form = "a=1&csrf=t%6Fken&b=2";
        let request = Request::builder()
            .method(Method::POST)
            .header(
                CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(Body::from(form))
            .unwrap();
        let (request, token) = submitted(request).await;
        assert!(matches!(token, Submitted::Token(token) if token == b"token"));
        let body = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, form.as_bytes());
    }

    #[tokio::test]
    async fn the_header_wins_and_a_json_body_is_not_searched() {
        let request = Request::builder()
            .method(Method::POST)
            .header(HEADER, "from-header")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("csrf=from-form"))
            .unwrap();
        let (_, token) = submitted(request).await;
        assert!(matches!(token, Submitted::Token(token) if token == b"from-header"));

        let request = Request::builder()
            .method(Method::POST)
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"csrf":"x"}"#))
            .unwrap();
        assert!(matches!(submitted(request).await.1, Submitted::Missing));
    }
}
