//! The pages and JSON API with worker data: Today (the shift overview), one worker's shifts,
//! trends, goal and advice, and Tasks & hours (group figures), drawn from the daemon's stored
//! analysis through the [`AnalysisView`] trait. It owns only presentation: every figure, level,
//! reason, label and suppression decision comes from the daemon.
//!
//! It must never depend on the daemon crate, show a badge tag, un-hide a group the daemon hid, or
//! serve a page without a signed-in admin or supervisor (the site's role guard lets only those in;
//! these handlers check again and refuse anyone else). Views of one worker are recorded in the
//! audit log. Charts are server-rendered SVG: no script, no inline style (see `crate::security`).
//!
//! # Layout
//! - `view`: the view types the daemon fills (also the JSON shapes).
//! - `overview`, `worker`, `tasks`: the three pages (filtering and sorting in `overview`).
//! - `charts`: hand-written SVG charts; `html`: escaping, numbers in words, the page shell.
//! - `openapi`: the OpenAPI 3 description of the JSON routes.
//! - `style.css`: the pages' own stylesheet, served at [`STYLE_PATH`].

mod charts;
mod html;
mod openapi;
mod overview;
mod tasks;
mod view;
mod worker;

#[cfg(test)]
pub(crate) mod fake;

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use crate::access::{AuditLog, CurrentUser, Role};
use html::message;

pub use openapi::{openapi_paths, openapi_schemas};
pub use view::{
    AdviceView, GoalDay, GoalView, GroupFigures, GroupRow, HourPoint, HourRow, Overview,
    PostureZones, Rates, RiskLevel, ShiftDetail, ShiftSummary, TasksAndHours, TrendRow, Viewer,
    WeekPoint, WeekTrend, WorkerDetail, WorkerRow,
};

/// What the analysis pages need from the daemon. Implemented by `dockd` over its stored shift
/// reports; kept here so the dependency points one way.
///
/// Every method is **blocking** (the daemon answers from SQLite): the handlers call them on
/// tokio's blocking pool (`spawn_blocking`), never on a runtime worker. Each call is one page
/// load, so it may read and aggregate, but should stay well under a second.
pub trait AnalysisView: Send + Sync + 'static {
    /// The workers of site-local `day` (`YYYY-MM-DD`, already checked to be a date), or of the
    /// latest day with analysed shifts when `None`. Return every worker of the day: the page
    /// filters by team and task and sorts itself.
    fn overview(&self, day: Option<&str>) -> Overview;

    /// One worker (the `worker` id of a [`WorkerRow`]), with the shift starting at
    /// `shift_start_ms` in detail (the latest shift when `None`, or when no shift starts there).
    /// `None` for an unknown worker: the page answers 404.
    fn worker(&self, worker: i64, shift_start_ms: Option<i64>) -> Option<WorkerDetail>;

    /// Group figures by task, hour of day and team, with every group below the site's minimum
    /// size already suppressed (`figures: None`) for a [`Viewer::Supervisor`].
    fn tasks(&self, viewer: Viewer) -> TasksAndHours;
}

/// Where this module's stylesheet is served (linked by every analysis page).
pub const STYLE_PATH: &str = "/assets/analysis.css";

/// The JSON routes (their paths are also the OpenAPI fragment's keys).
pub(crate) const API_OVERVIEW: &str = "/api/v1/analysis/overview";
pub(crate) const API_WORKER: &str = "/api/v1/analysis/workers/{id}";
pub(crate) const API_TASKS: &str = "/api/v1/analysis/tasks";
#[cfg(test)]
pub(crate) const API_ROUTES: [&str; 3] = [API_OVERVIEW, API_WORKER, API_TASKS];

#[derive(Clone)]
struct AnalysisState {
    view: Arc<dyn AnalysisView>,
    audit: Arc<dyn AuditLog>,
}

/// The analysis pages, API and stylesheet over `view`, recording worker views in `audit`:
///
/// - `GET /overview?day=YYYY-MM-DD&team=&task=&sort=&dir=`: Today / shift overview
/// - `GET /workers/{id}?shift=START_MS`: one worker (audited)
/// - `GET /tasks`: Tasks & hours
/// - `GET /api/v1/analysis/overview`, `/api/v1/analysis/workers/{id}`, `/api/v1/analysis/tasks`:
///   the same data as JSON, with the same query parameters (see [`openapi_paths`])
/// - `GET /assets/analysis.css`: the pages' stylesheet ([`STYLE_PATH`])
///
/// The state is applied, so the router merges into the site's. Mount it behind sign-in and a
/// role guard that inserts [`CurrentUser`]; without that extension every route answers 403.
pub fn routes(view: Arc<dyn AnalysisView>, audit: Arc<dyn AuditLog>) -> Router {
    Router::new()
        .route("/overview", get(overview_page))
        .route("/workers/{id}", get(worker_page))
        .route("/tasks", get(tasks_page))
        .route(API_OVERVIEW, get(overview_json))
        .route(API_WORKER, get(worker_json))
        .route(API_TASKS, get(tasks_json))
        .route(
            STYLE_PATH,
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/css; charset=utf-8")],
                    include_str!("style.css"),
                )
            }),
        )
        .with_state(AnalysisState { view, audit })
}

/// Why a request gets no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// No signed-in user with a role that sees worker data.
    Forbidden,
    BadDay,
    BadShift,
    NotFound,
    /// The daemon's answer never came (its call panicked).
    Unavailable,
}

impl Failure {
    fn status(self) -> StatusCode {
        match self {
            Failure::Forbidden => StatusCode::FORBIDDEN,
            Failure::BadDay | Failure::BadShift => StatusCode::BAD_REQUEST,
            Failure::NotFound => StatusCode::NOT_FOUND,
            Failure::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn words(self) -> (&'static str, &'static str) {
        match self {
            Failure::Forbidden => (
                "Not allowed",
                "Only administrators and supervisors can see workers' data.",
            ),
            Failure::BadDay => (
                "Not a date",
                "The day must be a date written as year-month-day, for example 2025-03-03.",
            ),
            Failure::BadShift => ("Not a shift", "That shift could not be found."),
            Failure::NotFound => ("Worker not found", "There is no worker at this address."),
            Failure::Unavailable => (
                "Not available",
                "The analysis could not be read just now. Please try again in a minute.",
            ),
        }
    }

    fn html(self, role: Option<Role>) -> Response {
        let (title, text) = self.words();
        message(self.status(), role, title, text)
    }

    fn json(self) -> Response {
        let (_, text) = self.words();
        (self.status(), Json(serde_json::json!({ "error": text }))).into_response()
    }
}

/// The signed-in user and how group figures may be shown to them; refuses roles without access.
fn viewer(user: Option<&Extension<CurrentUser>>) -> Result<(&CurrentUser, Viewer), Failure> {
    let Some(Extension(user)) = user else {
        return Err(Failure::Forbidden);
    };
    match user.role {
        Role::Admin => Ok((user, Viewer::Admin)),
        Role::Supervisor => Ok((user, Viewer::Supervisor)),
        Role::Technician => Err(Failure::Forbidden),
    }
}

/// Runs a daemon call on the blocking pool.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|_| Failure::Unavailable)
}

/// `YYYY-MM-DD` with a month 01–12 and a day 01–31.
fn is_day(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let number = |range: std::ops::Range<usize>| {
        text.get(range)
            .and_then(|part| part.parse::<u8>().ok())
            .unwrap_or(0)
    };
    bytes.len() == 10
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && (1..=12).contains(&number(5..7))
        && (1..=31).contains(&number(8..10))
}

/// The overview's query, as sent.
#[derive(Debug, Default, Deserialize)]
struct OverviewParams {
    day: Option<String>,
    team: Option<String>,
    task: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

/// The worker page's query, as sent.
#[derive(Debug, Default, Deserialize)]
struct WorkerParams {
    shift: Option<String>,
}

async fn load_overview(
    state: &AnalysisState,
    params: OverviewParams,
) -> Result<(Overview, overview::Selection), Failure> {
    let day = params.day.filter(|d| !d.is_empty());
    if day.as_deref().is_some_and(|d| !is_day(d)) {
        return Err(Failure::BadDay);
    }
    let selection = overview::Selection::new(
        params.team,
        params.task,
        params.sort.as_deref(),
        params.dir.as_deref(),
    );
    let view = state.view.clone();
    let mut data = blocking(move || view.overview(day.as_deref())).await?;
    overview::apply(&mut data, &selection);
    Ok((data, selection))
}

async fn load_worker(
    state: &AnalysisState,
    user: &CurrentUser,
    id: &str,
    params: WorkerParams,
) -> Result<WorkerDetail, Failure> {
    // Only canonical decimal ids: "012" or "+12" would be a second address for the same worker.
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|parsed| parsed.to_string() == id)
        .ok_or(Failure::NotFound)?;
    let shift = match params.shift.filter(|s| !s.is_empty()) {
        Some(text) => Some(text.parse::<i64>().map_err(|_| Failure::BadShift)?),
        None => None,
    };
    let view = state.view.clone();
    let detail = blocking(move || view.worker(id, shift))
        .await?
        .ok_or(Failure::NotFound)?;
    state
        .audit
        .record(&user.name, "view", &format!("worker {id}"));
    Ok(detail)
}

async fn load_tasks(state: &AnalysisState, viewer: Viewer) -> Result<TasksAndHours, Failure> {
    let view = state.view.clone();
    blocking(move || view.tasks(viewer)).await
}

async fn overview_page(
    State(state): State<AnalysisState>,
    user: Option<Extension<CurrentUser>>,
    Query(params): Query<OverviewParams>,
) -> Response {
    let role = user.as_ref().map(|Extension(user)| user.role);
    let role = match viewer(user.as_ref()) {
        Ok((user, _)) => user.role,
        Err(failure) => return failure.html(role),
    };
    match load_overview(&state, params).await {
        Ok((data, selection)) => overview::page(&data, &selection, role),
        Err(failure) => failure.html(Some(role)),
    }
}

async fn overview_json(
    State(state): State<AnalysisState>,
    user: Option<Extension<CurrentUser>>,
    Query(params): Query<OverviewParams>,
) -> Response {
    if let Err(failure) = viewer(user.as_ref()) {
        return failure.json();
    }
    match load_overview(&state, params).await {
        Ok((data, _)) => Json(data).into_response(),
        Err(failure) => failure.json(),
    }
}

async fn worker_page(
    State(state): State<AnalysisState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    Query(params): Query<WorkerParams>,
) -> Response {
    let role = user.as_ref().map(|Extension(user)| user.role);
    let user = match viewer(user.as_ref()) {
        Ok((user, _)) => user,
        Err(failure) => return failure.html(role),
    };
    match load_worker(&state, user, &id, params).await {
        Ok(detail) => worker::page(&detail, user.role),
        Err(failure) => failure.html(Some(user.role)),
    }
}

async fn worker_json(
    State(state): State<AnalysisState>,
    user: Option<Extension<CurrentUser>>,
    Path(id): Path<String>,
    Query(params): Query<WorkerParams>,
) -> Response {
    let user = match viewer(user.as_ref()) {
        Ok((user, _)) => user,
        Err(failure) => return failure.json(),
    };
    match load_worker(&state, user, &id, params).await {
        Ok(detail) => Json(detail).into_response(),
        Err(failure) => failure.json(),
    }
}

async fn tasks_page(
    State(state): State<AnalysisState>,
    user: Option<Extension<CurrentUser>>,
) -> Response {
    let role = user.as_ref().map(|Extension(user)| user.role);
    let (role, viewer) = match viewer(user.as_ref()) {
        Ok((user, viewer)) => (user.role, viewer),
        Err(failure) => return failure.html(role),
    };
    match load_tasks(&state, viewer).await {
        Ok(data) => tasks::page(&data, role),
        Err(failure) => failure.html(Some(role)),
    }
}

async fn tasks_json(
    State(state): State<AnalysisState>,
    user: Option<Extension<CurrentUser>>,
) -> Response {
    let viewer = match viewer(user.as_ref()) {
        Ok((_, viewer)) => viewer,
        Err(failure) => return failure.json(),
    };
    match load_tasks(&state, viewer).await {
        Ok(data) => Json(data).into_response(),
        Err(failure) => failure.json(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::CACHE_CONTROL;

    use super::*;
    use fake::{Fake, get_as, json};

    #[test]
    fn only_real_dates_are_days() {
        assert!(is_day("2025-03-03"));
        assert!(is_day("2024-12-31"));
        for bad in [
            "2025-3-3",
            "2025-13-01",
            "2025-00-10",
            "2025-03-32",
            "20250303xx",
            "２０２５-03-03",
            "",
        ] {
            assert!(!is_day(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn without_a_signed_in_user_every_route_is_refused() {
        let fake = Fake::new();
        for path in [
            "/overview",
            "/workers/12",
            "/tasks",
            "/api/v1/analysis/overview",
            "/api/v1/analysis/workers/12",
            "/api/v1/analysis/tasks",
        ] {
            let (status, _, body) = get_as(fake.router(), path, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
            assert!(!body.contains("Anna"), "{path}");
        }
        assert!(fake.audit_entries().is_empty());
    }

    #[tokio::test]
    async fn a_technician_is_refused_even_if_the_guard_let_them_through() {
        let fake = Fake::new();
        let (status, _, _) = get_as(fake.router(), "/workers/12", Some(Role::Technician)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/tasks",
            Some(Role::Technician),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(json(&body)["error"].is_string());
        assert!(fake.audit_entries().is_empty());
    }

    #[tokio::test]
    async fn pages_with_worker_data_are_never_cached_and_the_stylesheet_is_served() {
        let fake = Fake::new();
        for path in ["/overview", "/workers/12", "/tasks"] {
            let response = fake::get_response(fake.router(), path, Some(Role::Supervisor)).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{path}");
            assert_eq!(
                response.headers()[CONTENT_TYPE],
                "text/html; charset=utf-8",
                "{path}"
            );
        }
        let response = fake::get_response(fake.router(), STYLE_PATH, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    }

    #[tokio::test]
    async fn a_bad_day_is_a_400_in_words_not_an_echo() {
        let fake = Fake::new();
        let (status, _, body) = get_as(
            fake.router(),
            "/overview?day=%3Cscript%3E",
            Some(Role::Supervisor),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("year-month-day"));
        assert!(!body.contains("script>"));
        let (status, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/overview?day=yesterday",
            Some(Role::Supervisor),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(json(&body)["error"].is_string());
    }

    #[tokio::test]
    async fn the_day_asked_for_reaches_the_daemon() {
        let fake = Fake::new();
        let _ = get_as(
            fake.router(),
            "/overview?day=2025-03-04",
            Some(Role::Supervisor),
        )
        .await;
        let _ = get_as(
            fake.router(),
            "/api/v1/analysis/overview",
            Some(Role::Admin),
        )
        .await;
        assert_eq!(fake.days_asked(), vec![Some("2025-03-04".to_owned()), None]);
    }

    #[tokio::test]
    async fn a_panicking_daemon_call_is_a_503_not_a_crash() {
        let fake = Fake::new();
        fake.panic_on_tasks();
        let (status, _, body) = get_as(fake.router(), "/tasks", Some(Role::Admin)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("try again"));
    }
}
