//! The pages and JSON API with worker data: Today (the shift overview), one worker's shifts,
//! trends, goal and advice, and Tasks & hours (group figures), drawn from the daemon's stored
//! analysis through the [`AnalysisView`] trait. It owns only presentation: every figure, level,
//! reason, label and suppression decision comes from the daemon.
//!
//! It must never depend on the daemon crate, show a badge tag, un-hide a group the daemon hid, or
//! serve a page without a signed-in admin or supervisor (the site's role guard lets only those in;
//! these handlers check again and refuse anyone else). Views are recorded in the audit trail by
//! the site's audit layer around the worker-data routes (`auth::audit_worker_data`), not here. Charts are server-rendered SVG: no script, no inline style (see `crate::security`).
//!
//! # Layout
//! - `view`: the view types the daemon fills (also the JSON shapes).
//! - `overview`, `worker`, `tasks`: the three pages (filtering and sorting in `overview`, and
//!   the overview's answers rendered once per data version and selection, see
//!   [`AnalysisView::version`]).
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
    Json, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    access::{CurrentUser, Role},
    pages::{Back, Failure, Visitor, blocking},
};

pub use openapi::{openapi_paths, openapi_schemas};
pub use view::{
    AdviceView, GoalDay, GoalView, GroupFigures, GroupRow, HourPoint, HourRow, Overview,
    PostureZones, Rates, RiskLevel, ShiftDetail, ShiftSummary, TasksAndHours, TrendRow, Viewer,
    WeekPoint, WeekTrend, WorkRestrictionExceeded, WorkerDetail, WorkerRow,
};

/// What the analysis pages need from the daemon. Implemented by `dockd` over its stored shift
/// reports; kept here so the dependency points one way.
///
/// Every method but [`AnalysisView::version`] is **blocking** (the daemon answers from SQLite):
/// the handlers call them on tokio's blocking pool (`spawn_blocking`), never on a runtime worker.
/// Each call is one page load, so it may read and aggregate, but should stay well under a second.
pub trait AnalysisView: Send + Sync + 'static {
    /// A value that moves whenever what [`AnalysisView::overview`] answers may have changed (new
    /// or re-analysed reports, display names, settings), and never comes back to an earlier
    /// value; `None` when that cannot be told just now.
    ///
    /// Unlike the other methods it is called **on a runtime worker**, once per overview request,
    /// so it must be cheap and must never wait for a page being built (no report query, at most
    /// a lock held for microseconds). The overview page and its JSON are rendered once per
    /// version, day, filter, order and role and then served from memory: a version that stayed
    /// put while the data changed would serve stale figures. The default, `None`, renders every
    /// request afresh.
    fn version(&self) -> Option<u64> {
        None
    }

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
    /// The overview's rendered answers (page per role, JSON), per data version and selection.
    rendered: Arc<overview::Rendered>,
}

/// The analysis pages, API and stylesheet over `view`:
///
/// - `GET /overview?day=YYYY-MM-DD&team=&task=&sort=&dir=`: Today / shift overview
/// - `GET /workers/{id}?shift=START_MS`: one worker
/// - `GET /tasks`: Tasks & hours
/// - `GET /api/v1/analysis/overview`, `/api/v1/analysis/workers/{id}`, `/api/v1/analysis/tasks`:
///   the same data as JSON, with the same query parameters (see [`openapi_paths`])
/// - `GET /assets/analysis.css`: the pages' stylesheet ([`STYLE_PATH`])
///
/// The state is applied, so the router merges into the site's. Mount it behind sign-in and a
/// role guard that inserts [`CurrentUser`]; without that extension every route answers 403.
pub fn routes(view: Arc<dyn AnalysisView>) -> Router {
    routes_keeping(view, Arc::new(overview::Rendered::new()))
}

/// [`routes`], keeping the overview's rendered answers in `rendered`.
fn routes_keeping(view: Arc<dyn AnalysisView>, rendered: Arc<overview::Rendered>) -> Router {
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
        .with_state(AnalysisState { view, rendered })
}

/// Where the analysis pages' failures lead on to.
const TO_THE_OVERVIEW: Back = ("/overview", "Go to today's overview");

/// No signed-in user with a role that sees worker data.
fn forbidden() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "Not allowed",
        "Only administrators and supervisors can see workers' data.",
    )
    .back(TO_THE_OVERVIEW)
}

fn bad_day() -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "Not a date",
        "The day must be a date written as year-month-day, for example 2025-03-03.",
    )
    .back(TO_THE_OVERVIEW)
}

fn bad_shift() -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "Not a shift",
        "That shift could not be found.",
    )
    .back(TO_THE_OVERVIEW)
}

fn not_found() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "Worker not found",
        "There is no worker at this address.",
    )
    .back(TO_THE_OVERVIEW)
}

/// The daemon's answer never came (its call panicked).
fn unavailable() -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The analysis could not be read just now. Please try again in a minute.",
    )
    .back(TO_THE_OVERVIEW)
}

/// The signed-in user and how group figures may be shown to them; refuses roles without access.
fn viewer(visitor: &Visitor) -> Result<(&CurrentUser, Viewer), Failure> {
    let Some(user) = visitor.user() else {
        return Err(forbidden());
    };
    match user.role {
        Role::Admin => Ok((user, Viewer::Admin)),
        Role::Supervisor => Ok((user, Viewer::Supervisor)),
        Role::Technician => Err(forbidden()),
    }
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

/// The overview for `params` as `form` (the page's title and main, or the JSON). When the
/// daemon can tell its data version, the answer is rendered once per version, day, selection
/// and form and then served from memory without leaving the runtime worker; concurrent requests
/// for an answer being rendered wait for that one rendering. Else it is built afresh on the
/// blocking pool.
async fn overview_answer(
    state: &AnalysisState,
    params: OverviewParams,
    form: overview::Form,
) -> Result<overview::Answer, Failure> {
    let day = params.day.filter(|d| !d.is_empty());
    if day.as_deref().is_some_and(|d| !is_day(d)) {
        return Err(bad_day());
    }
    let selection = overview::Selection::new(
        params.team,
        params.task,
        params.sort.as_deref(),
        params.dir.as_deref(),
    );
    // Asked before building: whatever is built afterwards is at least as new as this version,
    // so an answer kept under it never hides a change that came before a request served from it.
    let Some(version) = state.view.version() else {
        return build_overview(state, day, selection, form).await;
    };
    let slot = state.rendered.slot(overview::Key {
        version,
        day: day.clone(),
        selection: selection.clone(),
        form,
    });
    let answer = slot
        .get_or_try_init(|| build_overview(state, day, selection, form))
        .await?;
    Ok(answer.clone())
}

/// Asks the daemon for the day, filters, sorts and renders it, all on the blocking pool.
async fn build_overview(
    state: &AnalysisState,
    day: Option<String>,
    selection: overview::Selection,
    form: overview::Form,
) -> Result<overview::Answer, Failure> {
    let view = state.view.clone();
    blocking(move || {
        let mut data = view.overview(day.as_deref());
        overview::apply(&mut data, &selection);
        overview::Answer::build(&data, &selection, form)
    })
    .await
    .flatten()
    .ok_or_else(unavailable)
}

async fn load_worker(
    state: &AnalysisState,
    id: &str,
    params: WorkerParams,
) -> Result<WorkerDetail, Failure> {
    // Only canonical decimal ids: "012" or "+12" would be a second address for the same worker.
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|parsed| parsed.to_string() == id)
        .ok_or_else(not_found)?;
    let shift = match params.shift.filter(|s| !s.is_empty()) {
        Some(text) => Some(text.parse::<i64>().map_err(|_| bad_shift())?),
        None => None,
    };
    let view = state.view.clone();
    let detail = blocking(move || view.worker(id, shift))
        .await
        .ok_or_else(unavailable)?
        .ok_or_else(not_found)?;
    Ok(detail)
}

async fn load_tasks(state: &AnalysisState, viewer: Viewer) -> Result<TasksAndHours, Failure> {
    let view = state.view.clone();
    blocking(move || view.tasks(viewer))
        .await
        .ok_or_else(unavailable)
}

async fn overview_page(
    State(state): State<AnalysisState>,
    visitor: Visitor,
    Query(params): Query<OverviewParams>,
) -> Response {
    let answer = async {
        viewer(&visitor)?;
        overview_answer(&state, params, overview::Form::Page).await
    };
    match answer.await {
        Ok(answer) => answer.response(visitor.viewer()),
        Err(failure) => failure.on_page(&visitor).into_response(),
    }
}

async fn overview_json(
    State(state): State<AnalysisState>,
    visitor: Visitor,
    Query(params): Query<OverviewParams>,
) -> Result<Response, Failure> {
    viewer(&visitor)?;
    let answer = overview_answer(&state, params, overview::Form::Json).await?;
    Ok(answer.response(None))
}

async fn worker_page(
    State(state): State<AnalysisState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(params): Query<WorkerParams>,
) -> Response {
    let answer = async {
        viewer(&visitor)?;
        load_worker(&state, &id, params).await
    };
    match answer.await {
        Ok(detail) => worker::page(&detail, visitor.viewer()),
        Err(failure) => failure.on_page(&visitor).into_response(),
    }
}

async fn worker_json(
    State(state): State<AnalysisState>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(params): Query<WorkerParams>,
) -> Result<Response, Failure> {
    viewer(&visitor)?;
    let detail = load_worker(&state, &id, params).await?;
    Ok(Json(detail).into_response())
}

async fn tasks_page(State(state): State<AnalysisState>, visitor: Visitor) -> Response {
    let answer = async {
        let (_, as_viewer) = viewer(&visitor)?;
        load_tasks(&state, as_viewer).await
    };
    match answer.await {
        Ok(data) => tasks::page(&data, visitor.viewer()),
        Err(failure) => failure.on_page(&visitor).into_response(),
    }
}

async fn tasks_json(
    State(state): State<AnalysisState>,
    visitor: Visitor,
) -> Result<Response, Failure> {
    let (_, as_viewer) = viewer(&visitor)?;
    let data = load_tasks(&state, as_viewer).await?;
    Ok(Json(data).into_response())
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

    /// Status, headers and body of a GET through `router` (shared between requests, so its
    /// rendered overviews are too).
    async fn answer(
        router: &Router,
        path: &str,
        role: Option<Role>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = fake::get_response(router.clone(), path, role).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn the_overview_is_rendered_once_per_version_and_then_served_as_the_same_answer() {
        let fake = Fake::new();
        let router = fake.router();
        let path = "/overview?day=2025-03-04&sort=name";
        let first = answer(&router, path, Some(Role::Supervisor)).await;
        let second = answer(&router, path, Some(Role::Supervisor)).await;
        assert_eq!(first.0, StatusCode::OK);
        assert_eq!(first, second, "status, headers and bytes alike");
        assert_eq!(second.1[CACHE_CONTROL], "no-store");
        assert_eq!(second.1[CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(second.2.contains(">Anna K.</a>"));
        assert_eq!(fake.days_asked().len(), 1, "built once");

        let path = "/api/v1/analysis/overview?day=2025-03-04&sort=name";
        let first = answer(&router, path, Some(Role::Supervisor)).await;
        let second = answer(&router, path, Some(Role::Admin)).await;
        assert_eq!(first, second, "the JSON is the same for both roles");
        assert_eq!(second.1[CONTENT_TYPE], "application/json");
        assert_eq!(
            json(&second.2)["workers"][0]["label"],
            "<script>alert(1)</script>"
        );
        assert_eq!(fake.days_asked().len(), 2, "the JSON is built once too");
    }

    #[tokio::test]
    async fn new_reports_show_on_the_very_next_request_for_the_page_and_the_json() {
        let fake = Fake::new();
        let router = fake.router();
        let (_, _, page) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        let (_, _, api) = answer(&router, API_OVERVIEW, Some(Role::Supervisor)).await;
        assert!(!page.contains("Dana R."));
        assert_eq!(json(&api)["workers"].as_array().map(Vec::len), Some(4));

        fake.add_worker("Dana R.");
        let (_, _, page) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        let (_, _, api) = answer(&router, API_OVERVIEW, Some(Role::Supervisor)).await;
        assert!(
            page.contains("<a href=\"/workers/100\">Dana R.</a>"),
            "{page}"
        );
        assert!(page.contains("5 workers shown"));
        assert_eq!(json(&api)["workers"].as_array().map(Vec::len), Some(5));

        fake.set_empty();
        let (_, _, page) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        assert!(page.contains("No shifts have been analysed yet."));
    }

    #[tokio::test]
    async fn each_role_gets_the_page_with_its_own_navigation_from_one_rendering() {
        let fake = Fake::new();
        let router = fake.router();
        for _ in 0..2 {
            let (_, _, admin) = answer(&router, "/overview", Some(Role::Admin)).await;
            let (_, _, supervisor) = answer(&router, "/overview", Some(Role::Supervisor)).await;
            assert!(admin.contains("<a href=\"/settings\">Settings</a>"));
            assert!(!supervisor.contains("/settings"));
            assert!(supervisor.contains(">Anna K.</a>"));
        }
        assert_eq!(
            fake.days_asked().len(),
            1,
            "the shell is put around one rendering"
        );
    }

    #[tokio::test]
    async fn a_kept_overview_never_carries_one_users_name_or_token_to_another() {
        let fake = Fake::new();
        let router = fake.router();
        let mut pages = Vec::new();
        for (name, token) in [("ada", "ada-token"), ("bob", "bob-token")] {
            let mut request = axum::http::Request::builder()
                .uri("/overview")
                .body(axum::body::Body::empty())
                .unwrap();
            request.extensions_mut().insert(CurrentUser {
                name: name.to_owned(),
                role: Role::Supervisor,
            });
            request
                .extensions_mut()
                .insert(crate::access::CsrfToken(token.to_owned()));
            let response = tower::ServiceExt::oneshot(router.clone(), request)
                .await
                .unwrap();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            pages.push(String::from_utf8(bytes.to_vec()).unwrap());
        }
        assert_eq!(
            fake.days_asked().len(),
            1,
            "the second page came from memory"
        );
        assert!(pages[0].contains("Signed in as <strong>ada</strong>"));
        assert!(pages[0].contains("value=\"ada-token\""));
        assert!(pages[1].contains("Signed in as <strong>bob</strong>"));
        assert!(pages[1].contains("value=\"bob-token\""));
        assert!(
            !pages[1].contains("ada"),
            "the first user's name or token leaked"
        );
    }

    #[tokio::test]
    async fn a_kept_overview_is_never_handed_to_a_viewer_without_access() {
        let fake = Fake::new();
        let router = fake.router();
        for path in ["/overview", API_OVERVIEW] {
            let (status, _, _) = answer(&router, path, Some(Role::Supervisor)).await;
            assert_eq!(status, StatusCode::OK);
            for role in [Some(Role::Technician), None] {
                let (status, _, body) = answer(&router, path, role).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{path} {role:?}");
                assert!(!body.contains("Anna"), "{path} {role:?}");
            }
        }
    }

    #[tokio::test]
    async fn each_selection_is_its_own_answer() {
        let fake = Fake::new();
        let router = fake.router();
        let (_, _, by_name) = answer(&router, "/overview?sort=name", Some(Role::Admin)).await;
        let (_, _, by_risk) = answer(&router, "/overview?sort=risk", Some(Role::Admin)).await;
        let (_, _, picking) = answer(&router, "/overview?task=Picking", Some(Role::Admin)).await;
        let first_row = |html: &str| html.split("<tr data-level=").nth(1).map(str::to_owned);
        assert_ne!(first_row(&by_name), first_row(&by_risk));
        assert_eq!(picking.matches("<tr data-level=").count(), 2);
        // The empty day parameter is the same request as none.
        let (_, _, again) = answer(&router, "/overview?day=&sort=name", Some(Role::Admin)).await;
        assert_eq!(again, by_name);
        assert_eq!(fake.days_asked().len(), 3);
    }

    #[tokio::test]
    async fn only_the_last_few_answers_of_the_current_version_are_kept() {
        let fake = Fake::new();
        let rendered = Arc::new(overview::Rendered::new());
        let router = fake.router_keeping(Arc::clone(&rendered));
        for n in 0..2 * overview::RENDERED {
            let _ = answer(&router, &format!("/overview?team=t{n}"), Some(Role::Admin)).await;
        }
        assert_eq!(rendered.len(), overview::RENDERED);
        // The newest are the ones kept.
        let asked = fake.days_asked().len();
        let _ = answer(
            &router,
            &format!("/overview?team=t{}", 2 * overview::RENDERED - 1),
            Some(Role::Admin),
        )
        .await;
        assert_eq!(fake.days_asked().len(), asked);
        fake.add_worker("Dana R.");
        let _ = answer(&router, "/overview", Some(Role::Admin)).await;
        assert_eq!(rendered.len(), 1, "answers of an older version are dropped");
    }

    #[tokio::test]
    async fn requests_arriving_together_share_one_rendering() {
        let fake = Fake::new();
        let router = fake.router();
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let router = router.clone();
            requests.spawn(async move { answer(&router, "/overview", Some(Role::Admin)).await });
        }
        let answers = requests.join_all().await;
        assert_eq!(answers.len(), 20);
        assert!(
            answers
                .iter()
                .all(|a| a == &answers[0] && a.0 == StatusCode::OK)
        );
        assert_eq!(fake.days_asked().len(), 1);
    }

    #[tokio::test]
    async fn without_a_version_every_overview_is_built_afresh() {
        let fake = Fake::new();
        fake.set_unversioned();
        let router = fake.router();
        let (_, _, first) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        let (_, _, second) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        assert_eq!(first, second);
        assert_eq!(fake.days_asked().len(), 2);
    }

    #[tokio::test]
    async fn a_failed_rendering_is_not_kept() {
        let fake = Fake::new();
        let router = fake.router();
        fake.set_overview_panics(true);
        let (status, _, body) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("try again"));
        fake.set_overview_panics(false);
        let (status, _, body) = answer(&router, "/overview", Some(Role::Supervisor)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(">Anna K.</a>"));
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
