//! Access to the site: the sign-in check in front of every route, CSRF and `Origin` checks, the
//! role guards on worker routes, admin routes and diagnostics routes, and sign-in itself
//! (sessions, throttling, audit). It must never let a request past without a live session unless
//! its route is `Access::Public` in `crate::ROUTES`, never redirect anywhere but a path on this
//! site, and never log or record a password.
//!
//! - `session`: the in-memory session table (ids, CSRF tokens, timeouts, a cap per user).
//! - `csrf`: token, `Origin` and `Host` checks.
//! - `throttle`: sign-in backoff per user name and client address.
//! - `checks`: the password checks in flight (few, on their own threads, fair between addresses).
//! - `refusals`: refused sign-ins in the audit trail, one line per address per minute.
//! - `login`: the sign-in, sign-out and session handlers.
//!
//! A session stands only while its user does: every request asks the daemon's accounts where the
//! user stands now (`Accounts::standing`), and a removed, disabled or changed user's sessions end.

mod checks;
mod csrf;
#[cfg(test)]
pub(crate) use csrf::is_state_changing;
pub(crate) mod login;
mod refusals;
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
use checks::{Busy, CheckError, PasswordChecks};
use refusals::Refusals;
pub(crate) use session::Flash;
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
    pub(crate) sessions: Arc<Sessions>,
    throttle: Throttle,
    checks: PasswordChecks,
    refusals: Refusals,
    accounts: Arc<dyn Accounts>,
    audit: Arc<dyn AuditLog>,
    secure_cookies: bool,
    /// The names, scheme and port the page is served under (`Host` and `Origin` checks).
    served: csrf::Served,
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
    /// Too many password checks in flight, from this address (`Busy::Address`) or from every
    /// address together (`Busy::Dock`): try again after `checks::COME_BACK`.
    Busy(Busy),
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
            sessions: Arc::default(),
            throttle: Throttle::default(),
            checks: PasswordChecks::default(),
            refusals: Refusals::default(),
            accounts,
            audit,
            secure_cookies,
            served: csrf::Served::default(),
        }
    }

    /// Serves only `names` (host names and addresses) at `port`, over HTTPS if `https`: any other
    /// `Host` is refused (421), and an `Origin` must be one of them with our scheme and port.
    pub(crate) fn serving(mut self, https: bool, port: u16, names: &[String]) -> Auth {
        self.served = csrf::Served::new(https, port, names);
        self
    }

    /// Whether the dock serves HTTPS (cookies are `Secure`, responses carry HSTS).
    pub(crate) fn https(&self) -> bool {
        self.secure_cookies
    }

    /// The audit trail, for the audit layer around worker data.
    pub(crate) fn audit(&self) -> &Arc<dyn AuditLog> {
        &self.audit
    }

    /// Checks `username` and `password` (on a password-check thread: the check is slow on
    /// purpose) if the dock has a place for the check and the throttle does not say wait, and
    /// starts a fresh session on success. Sign-ins are recorded in the audit trail; refused and
    /// throttled ones coalesced per address and minute (`refusals`), never with the password.
    pub(crate) async fn sign_in(
        &self,
        username: &str,
        password: String,
        client: Option<IpAddr>,
    ) -> SignIn {
        // A place first: a sign-in told to come back is not an attempt the throttle counts.
        let place = match self.checks.admit(client) {
            Ok(place) => place,
            Err(busy) => {
                self.refused(username, client, "login throttled").await;
                return SignIn::Busy(busy);
            }
        };
        let mut keys = vec![Key::user(username)];
        keys.extend(client.map(Key::address));
        let attempt = match self.throttle.begin(keys, Instant::now()) {
            Ok(attempt) => attempt,
            Err(wait) => {
                tracing::debug!(wait_ms = wait.as_millis(), "Sign-in throttled.");
                drop(place);
                self.refused(username, client, "login throttled").await;
                return SignIn::Wait(wait);
            }
        };
        let verified = if username.is_empty() || password.is_empty() {
            drop(place);
            Ok(None)
        } else {
            let accounts = Arc::clone(&self.accounts);
            let name = username.to_owned();
            self.checks
                .run(place, move || {
                    let user = accounts.verify(&name, &password)?;
                    // The role and generation the session starts with, read after the check.
                    let standing = accounts.standing(&user.name).filter(|s| !s.disabled)?;
                    Some((
                        CurrentUser {
                            role: standing.role,
                            ..user
                        },
                        standing.generation,
                    ))
                })
                .await
        };
        let (user, generation) = match verified {
            Ok(Some(user)) => user,
            Ok(None) => {
                self.refused(username, client, "login failed").await;
                return SignIn::Refused;
            }
            Err(CheckError::Busy(busy)) => {
                self.refused(username, client, "login throttled").await;
                return SignIn::Busy(busy);
            }
            Err(CheckError::Broken) => {
                tracing::error!("The password check failed.");
                return SignIn::Broken;
            }
        };
        let now = Instant::now();
        self.throttle.succeeded(attempt, now);
        match self.sessions.start_at(user, generation, now) {
            Ok((id, session)) => {
                self.audit
                    .record(&session.user.name, "login", "session")
                    .await;
                SignIn::Started { id, session }
            }
            Err(error) => {
                tracing::error!(%error, "Could not start a session.");
                SignIn::Broken
            }
        }
    }

    /// Records a refused sign-in, at most one line per address per minute; a typed name that is
    /// no user's is recorded as "unknown user".
    async fn refused(&self, username: &str, client: Option<IpAddr>, action: &str) {
        let Some(earlier) = self.refusals.note(client, Instant::now()) else {
            return;
        };
        let known = !username.is_empty() && self.accounts.standing(username).is_some();
        let user = if known {
            username
        } else {
            refusals::UNKNOWN_USER
        };
        self.audit
            .record(user, action, &refusals::subject(earlier))
            .await;
    }

    /// Ends the session under `id`, recording who signed out.
    pub(crate) async fn sign_out(&self, id: &SessionId) {
        if let Some(user) = self.sessions.end(&id.0) {
            self.audit.record(&user.name, "logout", "session").await;
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
            let session = self.sessions.resume(id, now)?;
            self.stands(id, session)
                .map(|session| (SessionId(id.to_owned()), session))
        })
    }

    /// The session under `id` if it is live and its user still stands as when it started (not
    /// removed, disabled or changed since), without marking it used: for live streams, which
    /// check every second. A session that no longer stands is ended.
    pub(crate) fn still_live(&self, id: &SessionId) -> Option<Session> {
        let session = self.sessions.peek(&id.0, Instant::now())?;
        self.stands(&id.0, session)
    }

    /// `session` if its user stands as when it started; otherwise it is ended.
    fn stands(&self, id: &str, session: Session) -> Option<Session> {
        let standing = self.accounts.standing(&session.user.name);
        // Every change to a user (role included) moves their generation on.
        let stands = standing.is_some_and(|standing| {
            !standing.disabled && standing.generation == session.generation
        });
        if stands {
            Some(session)
        } else {
            self.sessions.end(id);
            None
        }
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
    if !auth.served.host_allowed(&request) {
        return refuse(api, Refusal::ForeignHost);
    }
    if !auth.served.origin_allowed(&request) {
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
    extensions.insert(Flash::new(Arc::clone(&auth.sessions), &id.0));
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

/// The dock routes that show who wears a wearable to roles that see worker data: audited for
/// those roles (the live stream once per opening, not per event).
pub(crate) const DOCK_TILE_PATHS: [&str; 3] = ["/", "/api/v1/status", "/api/v1/events"];

/// The one place views of worker data are audited: around the worker-data group (after its role
/// guard) and the dock tiles. A GET that was answered (2xx) by a role that sees worker data
/// gets one line: the user, "view" (or "export" for a download), and what was seen ("worker 12",
/// "roster", "tasks & hours", "dock tiles"), named from the address; a worker or roster that was
/// not found is no 2xx, so no line. Handlers record no views; changes are audited by their
/// handlers, which know what changed. Stylesheets are not worker data and get no line.
/// The line is queued before the answer leaves.
pub(crate) async fn audit_worker_data(
    State(auth): State<Arc<Auth>>,
    request: Request,
    next: Next,
) -> Response {
    let user = request
        .extensions()
        .get::<CurrentUser>()
        .filter(|user| user.role.sees_worker_data())
        .map(|user| user.name.clone());
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    let seen = user.filter(|_| reads).and_then(|user| {
        let uri = request.uri();
        audit_subject(uri.path()).map(|subject| {
            let export = uri.query().is_some_and(|q| q.contains("download"));
            (user, if export { "export" } else { "view" }, subject)
        })
    });
    let response = next.run(request).await;
    if let Some((user, action, subject)) = seen
        && response.status().is_success()
    {
        auth.audit().record(&user, action, &subject).await;
    }
    response
}

/// What a worker-data or dock-tile address shows, as the audit trail names it; `None` for a
/// stylesheet or script.
fn audit_subject(path: &str) -> Option<String> {
    if path.ends_with(".css") || path.ends_with(".js") {
        return None;
    }
    let rest = path
        .strip_prefix("/api/v1/analysis")
        .or_else(|| path.strip_prefix("/api/v1"))
        .unwrap_or(path)
        .trim_matches('/');
    Some(match rest {
        "" | "status" => "dock tiles".to_owned(),
        "events" => "live dock tiles".to_owned(),
        "tasks" => "tasks & hours".to_owned(),
        other => match other.strip_prefix("workers/") {
            Some(id) if !id.contains('/') => format!("worker {id}"),
            _ => other.replace('/', " "),
        },
    })
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
    ForeignHost,
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
        Refusal::ForeignHost => (
            StatusCode::MISDIRECTED_REQUEST,
            "this dock does not serve that host name",
            "Wrong address",
            "This dock does not answer to that name. Use the address the dock's setup gave \
             (web.server_names).",
        ),
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
