//! Test support shared by the modules' tests: a fake dock behind `DockView`, fake accounts, a
//! recording audit trail, a fake worker router, the whole site over them, a signed-in client and
//! request helpers. Compiled for tests only; it must never become part of the library.

use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Extension, Json, Router,
    body::Body,
    http::{
        HeaderValue, Method, Request, Response,
        header::{CONTENT_TYPE, COOKIE, SET_COOKIE},
    },
    routing::{get as route_get, post as route_post},
};
use http_body_util::BodyExt;
use tokio::{sync::watch, time::Instant};
use tower::ServiceExt;

use crate::{
    DockSnapshot, DockView, Gate, Progress, SlotState, SlotView, Verb,
    access::{Accounts, AuditLog, CurrentUser, Role},
    auth::{Auth, COOKIE_NAME},
};

/// A dock whose snapshot the test edits; every edit bumps the change signal like the daemon does.
pub(crate) struct FakeDock {
    snapshot: Mutex<DockSnapshot>,
    changes: watch::Sender<u64>,
    stopping: watch::Sender<bool>,
}

impl FakeDock {
    /// A fake dock with four slots (pulling, done with a quarantined log, error, empty).
    pub(crate) fn new() -> Arc<FakeDock> {
        Arc::new(FakeDock {
            snapshot: Mutex::new(snapshot()),
            changes: watch::Sender::new(0),
            stopping: watch::Sender::new(false),
        })
    }

    /// A fake dock and a client signed in as a supervisor on the whole site over it.
    pub(crate) fn router() -> (Arc<FakeDock>, Client) {
        let site = TestSite::new(false);
        let client = site.signed_in("sam", Role::Supervisor);
        (site.dock, client)
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut DockSnapshot)) {
        change(&mut self.snapshot.lock().unwrap());
        self.changes.send_modify(|generation| *generation += 1);
    }

    pub(crate) fn shut_down(&self) {
        self.stopping.send_replace(true);
    }
}

impl DockView for FakeDock {
    fn snapshot(&self) -> DockSnapshot {
        self.snapshot.lock().unwrap().clone()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn shutting_down(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let mut stopping = self.stopping.subscribe();
        Box::pin(async move {
            let _ = stopping.wait_for(|&stopping| stopping).await;
        })
    }
}

pub(crate) fn snapshot() -> DockSnapshot {
    let mut pulling = slot(1, SlotState::Pulling);
    pulling.state_text = "Pulling logs".to_owned();
    pulling.progress = Some(Progress {
        done_bytes: 1_200_000,
        total_bytes: 3_400_000,
    });
    let mut done = slot(2, SlotState::Done);
    done.quarantined = 1;
    let mut error = slot(3, SlotState::Error);
    error.advice = Some("Take the wearable out and dock it again.".to_owned());
    let mut empty = slot(4, SlotState::Empty);
    empty.serial = None;
    DockSnapshot {
        dock: "Dock A".to_owned(),
        version: "0.1.0".to_owned(),
        now_ms: 1_709_211_909_750,
        slots: vec![pulling, done, error, empty],
    }
}

/// A slot in `state` holding wearable `KW-001nn`, with every number plausible and nothing odd.
pub(crate) fn slot(number: u32, state: SlotState) -> SlotView {
    SlotView {
        slot: number,
        serial: Some(format!("KW-001{number:02}")),
        transport: "usb".to_owned(),
        state,
        state_text: state.as_str().to_owned(),
        advice: None,
        battery_soc: Some(80),
        charging: true,
        progress: None,
        segments_pulled: 0,
        segments_total: 0,
        bytes_pulled: 0,
        last_docked_ms: Some(1_709_200_000_000),
        quarantined: 0,
        segments_stored: 10,
        samples_stored: 900_000,
        alerts_stored: 3,
    }
}

/// The accounts `FakeAccounts` knows: name, password, role.
pub(crate) const USERS: [(&str, &str, Role); 3] = [
    ("ada", "ada-password", Role::Admin),
    ("sam", "sam-password", Role::Supervisor),
    ("tina", "tina-password", Role::Technician),
];

/// Accounts with fixed passwords; counts how often a password was checked.
#[derive(Default)]
pub(crate) struct FakeAccounts {
    checks: AtomicUsize,
}

impl FakeAccounts {
    pub(crate) fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }
}

impl Accounts for FakeAccounts {
    fn verify(&self, username: &str, password: &str) -> Option<CurrentUser> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        USERS
            .iter()
            .find(|(name, secret, _)| *name == username && *secret == password)
            .map(|(name, _, role)| CurrentUser {
                name: (*name).to_owned(),
                role: *role,
            })
    }
}

/// An audit trail that keeps every record as `[user, action, subject]`.
#[derive(Default)]
pub(crate) struct RecordingAudit {
    records: Mutex<Vec<[String; 3]>>,
}

impl RecordingAudit {
    pub(crate) fn records(&self) -> Vec<[String; 3]> {
        self.records.lock().unwrap().clone()
    }
}

impl AuditLog for RecordingAudit {
    fn record(&self, user: &str, action: &str, subject: &str) {
        self.records
            .lock()
            .unwrap()
            .push([user.to_owned(), action.to_owned(), subject.to_owned()]);
    }
}

/// Every route of `worker_routes()`, as (method, a concrete path).
pub(crate) const WORKER_ROUTES: [(Verb, &str); 6] = [
    (Verb::Get, "/overview"),
    (Verb::Get, "/workers/7"),
    (Verb::Get, "/tasks"),
    (Verb::Post, "/tasks"),
    (Verb::Get, "/api/v1/analysis/site"),
    (Verb::Post, "/api/v1/analysis/settings"),
];

/// A stand-in for the daemon's worker pages and API; each answer names the signed-in user, so a
/// test sees the `CurrentUser` extension arrive.
pub(crate) fn worker_routes() -> Router {
    async fn named(Extension(user): Extension<CurrentUser>) -> String {
        format!("worker data for {}", user.name)
    }
    async fn json(Extension(user): Extension<CurrentUser>) -> Json<serde_json::Value> {
        Json(serde_json::json!({ "for": user.name }))
    }
    Router::new()
        .route("/overview", route_get(named))
        .route("/workers/{id}", route_get(named))
        .route("/tasks", route_get(named).post(named))
        .route("/api/v1/analysis/site", route_get(json))
        .route("/api/v1/analysis/settings", route_post(json))
}

/// The whole site (`crate::site` as the daemon builds it) over fakes the test can look into.
pub(crate) struct TestSite {
    pub(crate) router: Router,
    pub(crate) dock: Arc<FakeDock>,
    pub(crate) accounts: Arc<FakeAccounts>,
    pub(crate) audit: Arc<RecordingAudit>,
    auth: Arc<Auth>,
}

impl TestSite {
    pub(crate) fn new(secure_cookies: bool) -> TestSite {
        let dock = FakeDock::new();
        let accounts = Arc::new(FakeAccounts::default());
        let audit = Arc::new(RecordingAudit::default());
        let auth = Arc::new(Auth::new(accounts.clone(), audit.clone(), secure_cookies));
        let router = crate::build(dock.clone(), auth.clone(), worker_routes(), Gate::SignIn);
        TestSite {
            router,
            dock,
            accounts,
            audit,
            auth,
        }
    }

    /// A client with a fresh session for `name` as `role`, made directly (no sign-in request).
    pub(crate) fn signed_in(&self, name: &str, role: Role) -> Client {
        let user = CurrentUser {
            name: name.to_owned(),
            role,
        };
        let (id, session) = self.auth.sessions.start(user, Instant::now()).unwrap();
        Client {
            router: self.router.clone(),
            session: Some(id),
            csrf: Some(session.csrf),
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Response<Body> {
        send(self.router.clone(), request).await
    }
}

/// Requests to the site under one session (or none); sends the CSRF header on writes.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) router: Router,
    pub(crate) session: Option<String>,
    pub(crate) csrf: Option<String>,
}

impl Client {
    pub(crate) fn csrf(&self) -> &str {
        self.csrf.as_deref().unwrap()
    }

    /// A request builder for `method` `path` carrying the session cookie (no CSRF token).
    pub(crate) fn builder(&self, method: Method, path: &str) -> axum::http::request::Builder {
        let builder = Request::builder().method(method).uri(path);
        match &self.session {
            Some(id) => builder.header(COOKIE, format!("other=1; {COOKIE_NAME}={id}")),
            None => builder,
        }
    }

    pub(crate) async fn send(&self, request: Request<Body>) -> Response<Body> {
        send(self.router.clone(), request).await
    }
}

/// `method` `path` with the client's session cookie, and its CSRF header on writes.
pub(crate) async fn request(client: Client, method: Method, path: &str) -> Response<Body> {
    let mut builder = client.builder(method.clone(), path);
    if crate::auth::is_state_changing(&method)
        && let Some(csrf) = &client.csrf
    {
        builder = builder.header("x-csrf-token", csrf);
    }
    client.send(builder.body(Body::empty()).unwrap()).await
}

pub(crate) async fn get(client: Client, path: &str) -> Response<Body> {
    request(client, Method::GET, path).await
}

pub(crate) async fn send(router: Router, request: Request<Body>) -> Response<Body> {
    router.oneshot(request).await.unwrap()
}

/// `POST /api/v1/login` with these credentials.
pub(crate) fn json_login(username: &str, password: &str) -> Request<Body> {
    let body = serde_json::json!({ "username": username, "password": password });
    Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// `POST /login` with these form fields (already url-encoded).
pub(crate) fn form_login(fields: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri("/login")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(fields.to_owned()))
        .unwrap()
}

/// The session id a response's `Set-Cookie` gives (`None` when it sets none or clears it).
pub(crate) fn session_cookie(response: &Response<Body>) -> Option<String> {
    let value = set_cookie(response)?;
    let id = value
        .split(';')
        .next()?
        .strip_prefix(&format!("{COOKIE_NAME}="))?;
    (!id.is_empty()).then(|| id.to_owned())
}

/// The response's `Set-Cookie` header as text.
pub(crate) fn set_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get(SET_COOKIE)
        .map(HeaderValue::to_str)
        .map(|value| value.unwrap().to_owned())
}

pub(crate) async fn body_json(response: Response<Body>) -> serde_json::Value {
    serde_json::from_str(&body_text(response).await).unwrap()
}

pub(crate) async fn body_text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}
