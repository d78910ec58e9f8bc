//! Cross-site request checks: the per-session CSRF token every state-changing request must carry,
//! the `Host` check and the `Origin` check against the names the dock serves ([`Served`]). It
//! must never accept a token by a comparison whose time depends on how much of it matched, never
//! treat a missing token as a match, never serve a `Host` that is not one of the dock's names
//! (DNS rebinding), and never take a request whose `Origin` names another site, another scheme or
//! port, or `null` as our own.

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

/// The names the page is served under (host names and addresses, from `web.server_names`), its
/// scheme and port. Empty names: any `Host`, and an `Origin` must match the request's own `Host`
/// (the preview router and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Served {
    https: bool,
    port: u16,
    /// Lower case; IPv6 addresses without brackets.
    names: Vec<String>,
}

impl Served {
    pub(crate) fn new(https: bool, port: u16, names: &[String]) -> Served {
        let names = names
            .iter()
            .map(|name| {
                name.trim()
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase()
            })
            .filter(|name| !name.is_empty())
            .collect();
        Served { https, port, names }
    }

    /// Whether the request was sent to one of our names and our port. A request without any
    /// host (HTTP/1.0, in-process tests) passes: it names no other site either.
    pub(crate) fn host_allowed(&self, request: &Request) -> bool {
        if self.names.is_empty() {
            return true;
        }
        request_host(request).is_none_or(|host| self.is_ours(host))
    }

    /// Whether the request's `Origin`, if it has one, is this site: our scheme, one of our names
    /// and our port. No `Origin` is fine (old browsers, same-origin GETs, curl); `null`, another
    /// host, scheme or port is not.
    ///
    /// Browsers send `Origin: null` on a POST when the page's referrer policy is `no-referrer`;
    /// the pages therefore use `same-origin` (see `crate::security`), under which our own forms
    /// send our origin.
    pub(crate) fn origin_allowed(&self, request: &Request) -> bool {
        let Some(origin) = request.headers().get(ORIGIN) else {
            return true;
        };
        if self.names.is_empty() {
            return request_host(request).is_some_and(|host| same_origin(origin, host));
        }
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let scheme = if self.https { "https" } else { "http" };
        origin
            .strip_prefix(scheme)
            .and_then(|rest| rest.strip_prefix("://"))
            .is_some_and(|authority| self.is_ours(authority))
    }

    /// Whether `authority` (`name`, `name:port`, `[v6]:port`) is one of our names at our port.
    fn is_ours(&self, authority: &str) -> bool {
        let (name, port) = split_authority(authority);
        let default_port = if self.https { 443 } else { 80 };
        let port_ok = match port {
            None => self.port == default_port,
            Some(port) => port.parse::<u16>().is_ok_and(|port| port == self.port),
        };
        port_ok
            && self
                .names
                .iter()
                .any(|ours| ours.eq_ignore_ascii_case(name))
    }
}

/// `Host`, or the URI's authority (HTTP/2).
fn request_host(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(HOST)
        .map(|host| host.to_str().unwrap_or("\u{0}"))
        .or_else(|| {
            request
                .uri()
                .authority()
                .map(|authority| authority.as_str())
        })
}

/// `name` and `port` of `authority`; IPv6 without its brackets.
fn split_authority(authority: &str) -> (&str, Option<&str>) {
    if let Some(v6) = authority.strip_prefix('[') {
        return match v6.split_once(']') {
            Some((name, rest)) => (name, rest.strip_prefix(':')),
            None => ("", None),
        };
    }
    match authority.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (authority, None),
    }
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

    fn origin_allowed(request: &Request) -> bool {
        Served::default().origin_allowed(request)
    }

    #[test]
    fn only_our_names_at_our_port_are_served_and_an_origin_must_have_our_scheme_too() {
        let served = Served::new(
            true,
            8443,
            &["dock-7".into(), "127.0.0.1".into(), "[::1]".into()],
        );
        for (host, allowed) in [
            (Some("dock-7:8443"), true),
            (Some("DOCK-7:8443"), true),
            (Some("127.0.0.1:8443"), true),
            (Some("[::1]:8443"), true),
            (None, true),
            (Some("dock-7"), false),
            (Some("dock-7:8444"), false),
            (Some("evil.example:8443"), false),
            (Some("rebound.evil.example"), false),
        ] {
            assert_eq!(
                served.host_allowed(&with_origin(None, host)),
                allowed,
                "{host:?}"
            );
        }
        let host = Some("dock-7:8443");
        for (origin, allowed) in [
            (None, true),
            (Some("https://dock-7:8443"), true),
            (Some("https://127.0.0.1:8443"), true),
            (Some("http://dock-7:8443"), false),
            (Some("https://dock-7"), false),
            (Some("https://evil.example:8443"), false),
            (Some("null"), false),
        ] {
            assert_eq!(
                served.origin_allowed(&with_origin(origin, host)),
                allowed,
                "{origin:?}"
            );
        }
        // An origin is checked against our names, not against a `Host` the client chose.
        assert!(!served.origin_allowed(&with_origin(
            Some("https://evil.example:8443"),
            Some("evil.example:8443")
        )));
        // On the default port, no port is our port.
        let plain = Served::new(false, 80, &["localhost".into()]);
        assert!(plain.host_allowed(&with_origin(None, Some("localhost"))));
        assert!(plain.origin_allowed(&with_origin(Some("http://localhost"), None)));
        assert!(!plain.origin_allowed(&with_origin(Some("https://localhost"), None)));
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
