//! Access to the site: the sign-in check in front of every route, CSRF and `Origin` checks, the
//! role guards on worker routes, admin routes and diagnostics routes, and sign-in itself
//! (sessions, throttling, audit). It must never let a request past without a live session unless
//! its route is `Access::Public` in `crate::ROUTES`, never redirect anywhere but a path on this
//! site, and never log or record a password.
//!
//! - `session`: the in-memory session table (ids, CSRF tokens, timeouts).
//! - `csrf`: token and `Origin` checks.
//! - `throttle`: sign-in backoff per user name and client address.
//! - `login`: the sign-in, sign-out and session handlers.

mod csrf;
#[cfg(test)]
pub(crate) use csrf::is_state_changing;
pub(crate) mod login;
mod session;
mod throttle;

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    Json,
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{
        HeaderMap, Method, StatusCode,
        header::{CACHE_CONTROL, COOKIE, LOCATION, SET_COOKIE},
        request::Parts,
    },
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::time::Instant;

use crate::{
    access::{Accounts, AuditLog, CsrfToken, CurrentUser, Role},
    pages,
};
use session::{Session, Sessions};
use throttle::{Key, Throttle};

/// The session cookie's name.
pub(crate) const COOKIE_NAME: &str = "dockd_session";
/// Where the sign-in page is.
pub(crate) const LOGIN_PATH: &str = "/login";
/// Longest `next` address kept across sign-in.
const MAX_NEXT: usize = 2048;

/// Everything sign-in needs, shared by the middleware and the login handlers.
pub(crate) struct Auth {
    pub(crate) sessions: Sessions,
    throttle: Throttle,
    accounts: Arc<dyn Accounts>,
    audit: Arc<dyn AuditLog>,
    secure_cookies: bool,
}

/// The private extension naming the request's session, for sign-out.
#[derive(Clone)]
pub(crate) struct SessionId(String);

/// How a sign-in attempt ended.
pub(crate) enum SignIn {
    Started {
        id: String,
        session: Session,
    },
    /// Unknown user or wrong password (deliberately not told apart).
    Refused,
    /// Too many attempts: try again after this long.
    Wait(Duration),
    /// Something on the dock failed (RNG, a panicking password check).
    Broken,
}

impl Auth {
    pub(crate) fn new(
        accounts: Arc<dyn Accounts>,
        audit: Arc<dyn AuditLog>,
        secure_cookies: bool,
    ) -> Auth {
        Auth {
            sessions: Sessions::default(),
            throttle: Throttle::default(),
            accounts,
            audit,
            secure_cookies,
        }
    }

    /// Checks `username` and `password` (on a blocking thread: the check is slow on purpose)
    /// unless the throttle says wait, and starts a fresh session on success. Every checked attempt
    /// is recorded in the audit trail, without the password.
    pub(crate) async fn sign_in(
        &self,
        username: &str,
        password: String,
        client: Option<IpAddr>,
    ) -> SignIn {
        let mut keys = vec![Key::user(username)];
        keys.extend(client.map(Key::address));
        let attempt = match self.throttle.begin(keys, Instant::now()) {
            Ok(attempt) => attempt,
            Err(wait) => {
                tracing::debug!(wait_ms = wait.as_millis(), "sign-in throttled");
                return SignIn::Wait(wait);
            }
        };
        let verified = if username.is_empty() || password.is_empty() {
            Ok(None)
        } else {
            let accounts = Arc::clone(&self.accounts);
            let username = username.to_owned();
            tokio::task::spawn_blocking(move || accounts.verify(&username, &password)).await
        };
        let user = match verified {
            Ok(Some(user)) => user,
            Ok(None) => {
                self.audit.record(username, "login failed", "session");
                return SignIn::Refused;
            }
            Err(error) => {
                tracing::error!(%error, "the password check failed");
                return SignIn::Broken;
            }
        };
        let now = Instant::now();
        self.throttle.succeeded(attempt, now);
        match self.sessions.start(user, now) {
            Ok((id, session)) => {
                self.audit.record(&session.user.name, "login", "session");
                SignIn::Started { id, session }
            }
            Err(error) => {
                tracing::error!(%error, "could not start a session");
                SignIn::Broken
            }
        }
    }

    /// Ends the session under `id`, recording who signed out.
    pub(crate) fn sign_out(&self, id: &SessionId) {
        if let Some(user) = self.sessions.end(&id.0) {
            self.audit.record(&user.name, "logout", "session");
        }
    }

    /// The `Set-Cookie` value carrying session `id`: a browser-session cookie the page's scripts
    /// cannot read, sent only to this site, and only over TLS when the dock serves TLS.
    pub(crate) fn session_cookie(&self, id: &str) -> String {
        format!(
            "{COOKIE_NAME}={id}; Path=/; HttpOnly; SameSite=Strict{}",
            self.secure_attribute()
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub(crate) fn clear_cookie(&self) -> String {
        format!(
            "{COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}",
            self.secure_attribute()
        )
    }

    fn secure_attribute(&self) -> &'static str {
        if self.secure_cookies { "; Secure" } else { "" }
    }

    /// The live session a request's cookies name, if any, with its id.
    fn resume(&self, headers: &HeaderMap) -> Option<(SessionId, Session)> {
        let now = Instant::now();
        session_ids(headers).find_map(|id| {
            self.sessions
                .resume(id, now)
                .map(|session| (SessionId(id.to_owned()), session))
        })
    }

    /// Ends whatever session a request's cookies name: a new sign-in never keeps an old id.
    pub(crate) fn end_presented(&self, headers: &HeaderMap) {
        for id in session_ids(headers) {
            self.sessions.end(id);
        }
    }

    /// The signed-in user a request's cookies name, without needing the middleware (for the
    /// public sign-in page).
    pub(crate) fn signed_in(&self, headers: &HeaderMap) -> Option<CurrentUser> {
        self.resume(headers).map(|(_, session)| session.user)
    }
}

/// Every `dockd_session` value in the request's `Cookie` headers.
fn session_ids(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim())
}

/// The middleware in front of every route. In order: a foreign `Origin` is refused (403); a
/// public route goes through; a request without a live session is sent to sign in (303 for
/// pages, 401 for `/api/`); a state-changing request without the session's CSRF token is refused
/// (403). What passes carries [`CurrentUser`], [`CsrfToken`] and the session id as extensions.
pub(crate) async fn authenticate(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    let api = is_api(request.uri().path());
    if !csrf::origin_allowed(&request) {
        return refuse(api, Refusal::ForeignOrigin);
    }
    if crate::is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let Some((id, session)) = auth.resume(request.headers()) else {
        let stale_cookie = session_ids(request.headers()).next().is_some();
        return sign_in_first(&auth, api, &request, stale_cookie);
    };
    let mut request = request;
    if csrf::is_state_changing(request.method()) {
        let (back, submitted) = csrf::submitted(request).await;
        request = back;
        match submitted {
            csrf::Submitted::Token(token) if csrf::matches(&session.csrf, &token) => {}
            csrf::Submitted::Unreadable => return refuse(api, Refusal::Unreadable),
            csrf::Submitted::Token(_) | csrf::Submitted::Missing => {
                return refuse(api, Refusal::Csrf);
            }
        }
    }
    let extensions = request.extensions_mut();
    extensions.insert(session.user);
    extensions.insert(CsrfToken(session.csrf));
    extensions.insert(id);
    next.run(request).await
}

/// The guard on worker routes: only roles that see worker data get through (403 otherwise).
pub(crate) async fn require_worker_data(request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    match request.extensions().get::<CurrentUser>() {
        Some(user) if user.role.sees_worker_data() => next.run(request).await,
        Some(_) => refuse_to(
            &pages::Visitor::of(request.extensions()),
            api,
            Refusal::Role,
        ),
        // Only if the router was built without `authenticate`: never serve worker data then.
        None => refuse(api, Refusal::Role),
    }
}

/// The guard on admin routes (settings, users, audit trail): only admins get through (403
/// otherwise, as a page or as JSON under `/api/`).
pub(crate) async fn require_admin(request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    match request.extensions().get::<CurrentUser>() {
        Some(user) if user.role == Role::Admin => next.run(request).await,
        // `None` only if the router was built without `authenticate`: never serve settings then.
        Some(_) | None => refuse_to(
            &pages::Visitor::of(request.extensions()),
            api,
            Refusal::Admin,
        ),
    }
}

/// The guard on the diagnostics routes: only roles that see diagnostics (technicians and admins)
/// get through (403 otherwise, as a page or as JSON under `/api/`).
pub(crate) async fn require_diagnostics(request: Request, next: Next) -> Response {
    let api = is_api(request.uri().path());
    match request.extensions().get::<CurrentUser>() {
        Some(user) if user.role.sees_diagnostics() => next.run(request).await,
        // `None` only if the router was built without `authenticate`: never serve them then.
        Some(_) | None => refuse_to(
            &pages::Visitor::of(request.extensions()),
            api,
            Refusal::Diagnostics,
        ),
    }
}

/// Whether `path` is part of the JSON API (answers in JSON, 401 instead of a redirect).
pub(crate) fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The way to the sign-in page: 303 to `/login?next=…` for pages, 401 JSON for the API.
fn sign_in_first(auth: &Auth, api: bool, request: &Request, stale_cookie: bool) -> Response {
    let mut response = if api {
        error_json(StatusCode::UNAUTHORIZED, "sign in first")
    } else {
        let next = matches!(*request.method(), Method::GET | Method::HEAD)
            .then(|| request.uri().path_and_query())
            .flatten()
            .map(|target| target.as_str())
            .and_then(safe_next);
        see_other(&login_location(next))
    };
    if stale_cookie && let Ok(clear) = auth.clear_cookie().try_into() {
        response.headers_mut().insert(SET_COOKIE, clear);
    }
    response
}

/// `next` if it is a path on this site that is safe to redirect to after sign-in: starts with
/// one `/`, has no backslash or control character (browsers read `/\evil` as `//evil`), and is
/// not absurdly long. Anything else (`//evil.example`, `https://…`, `javascript:`) is dropped.
pub(crate) fn safe_next(next: &str) -> Option<&str> {
    let safe = next.len() <= MAX_NEXT
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    safe.then_some(next)
}

/// `/login`, with `next` when there is somewhere to go back to.
pub(crate) fn login_location(next: Option<&str>) -> String {
    match next.filter(|next| *next != "/") {
        Some(next) => format!(
            "{LOGIN_PATH}?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
        None => LOGIN_PATH.to_owned(),
    }
}

/// A 303 to a path on this site, never cached.
pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (LOCATION, location.to_owned()),
            (CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    ForeignOrigin,
    Csrf,
    Unreadable,
    Role,
    Admin,
    Diagnostics,
}

fn refuse(api: bool, refusal: Refusal) -> Response {
    refuse_to(&pages::Visitor::default(), api, refusal)
}

/// [`refuse`], the page in the shell for `visitor` (their navigation and account bar).
fn refuse_to(visitor: &pages::Visitor, api: bool, refusal: Refusal) -> Response {
    let (status, error, title, text) = match refusal {
        Refusal::ForeignOrigin => (
            StatusCode::FORBIDDEN,
            "request from another site",
            "Not allowed",
            "This request did not come from the dock's own pages.",
        ),
        Refusal::Csrf => (
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token",
            "Form out of date",
            "This form is out of date or did not come from the dock's own pages. \
             Go back, reload the page and try again.",
        ),
        Refusal::Unreadable => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "form too large",
            "Form too large",
            "The dock could not read this form. Go back and try again.",
        ),
        Refusal::Role => (
            StatusCode::FORBIDDEN,
            "your role cannot see worker data",
            "Not available to your role",
            "This page shows workers' data, which only supervisors and admins can see. \
             Ask an admin if you need it.",
        ),
        Refusal::Admin => (
            StatusCode::FORBIDDEN,
            "only admins can use this",
            "Only for admins",
            "Settings, user accounts and the audit trail are only for admins. \
             Ask an admin if something needs changing.",
        ),
        Refusal::Diagnostics => (
            StatusCode::FORBIDDEN,
            "only technicians and admins can use this",
            "Only for technicians and admins",
            "The diagnostics page shows the dock's own hardware and is only for technicians \
             and admins. Ask an admin if you need it.",
        ),
    };
    if api {
        error_json(status, error)
    } else {
        pages::message_for(status, visitor.viewer(), title, text, pages::TO_THE_DOCK)
    }
}

/// `{"error": …}` with `status`.
pub(crate) fn error_json(status: StatusCode, error: &str) -> Response {
    (status, Json(serde_json::json!({ "error": error }))).into_response()
}

/// The client's address when the server was started with connect info (the daemon's is); `None`
/// otherwise, and then sign-in is throttled per user name only.
pub(crate) struct ClientIp(pub(crate) Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        ))
    }
}

/// Whole seconds to wait, rounded up, at least 1: the `Retry-After` value.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests;
