//! The admin pages: Settings (users and roles, site settings, tasks, wearable alert thresholds,
//! nuisance alerts and the silent baseline) and the audit trail viewer, with their JSON API. It owns presentation and input checks; the
//! daemon owns storage and the rules (through [`AdminView`]). It must never serve anyone but an
//! admin, nor echo, log or audit a password.
//!
//! # Layout
//! - `view`: the [`AdminView`] trait and its types (also the JSON shapes).
//! - `input`: JSON bodies and form posts checked and turned into [`AdminChange`]s.
//! - `settings`, `audit`: the two pages.
//! - `openapi`: the OpenAPI 3 description of the JSON routes.
//!
//! Every change is applied through [`AdminView::change`], awaited; a success is
//! recorded in the audit trail with the daemon's summary (never a password) and, when it touches
//! an account ([`AdminChange::affected_user`]), ends every session of that account.

mod audit;
mod input;
mod openapi;
mod settings;
mod view;

use std::sync::Arc;

use axum::{
    Json, Router,
    body::{Body, to_bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use crate::{
    access::{AuditLog, CurrentUser, Role},
    auth::{Auth, error_json, see_other},
    pages::{Failure, Viewer, Visitor, blocking},
};
use input::{Problem, Sent};

pub use openapi::{openapi_paths, openapi_schemas};
pub use view::{
    AdminChange, AdminRefusal, AdminView, AlertCounts, AuditChain, AuditLine, AuditPage,
    BaselineState, NuisanceFigures, NuisanceView, SettingsView, SiteSettings, SuggestedThreshold,
    TaskRow, ThresholdState, ThresholdStatus, Thresholds, UserRow, WearableNuisance,
};

/// The Settings page (every form on it posts to the JSON routes below).
pub(crate) const SETTINGS_PATH: &str = "/settings";
/// The audit trail page.
pub(crate) const AUDIT_PATH: &str = "/audit";

const API_SETTINGS: &str = "/api/v1/settings";
const API_AUDIT: &str = "/api/v1/audit";
const API_USERS: &str = "/api/v1/users";
const API_USER: &str = "/api/v1/users/{name}";
const API_USER_REMOVE: &str = "/api/v1/users/{name}/remove";
const API_SITE: &str = "/api/v1/settings/site";
const API_TASKS: &str = "/api/v1/settings/tasks";
const API_TASK_REMOVE: &str = "/api/v1/settings/tasks/{name}/remove";
const API_THRESHOLDS: &str = "/api/v1/settings/thresholds";
const API_SUGGESTED: &str = "/api/v1/settings/thresholds/suggested";
const API_BASELINE: &str = "/api/v1/settings/baseline";
const API_NUISANCE: &str = "/api/v1/nuisance";

/// Every page route, as (method in lower case, path).
#[cfg(test)]
pub(crate) const PAGE_ROUTES: &[(&str, &str)] = &[("get", SETTINGS_PATH), ("get", AUDIT_PATH)];

/// Every JSON route, as (method in lower case, as OpenAPI writes it; path as registered).
#[cfg(test)]
pub(crate) const API_ROUTES: &[(&str, &str)] = &[
    ("get", API_SETTINGS),
    ("get", API_AUDIT),
    ("post", API_USERS),
    ("post", API_USER),
    ("post", API_USER_REMOVE),
    ("post", API_SITE),
    ("post", API_TASKS),
    ("post", API_TASK_REMOVE),
    ("post", API_THRESHOLDS),
    ("post", API_SUGGESTED),
    ("post", API_BASELINE),
    ("get", API_NUISANCE),
];

/// Lines on one page of the audit trail (and the API's default).
const AUDIT_PAGE_LINES: u32 = 100;
/// Most lines the API gives at once.
const AUDIT_MAX_LINES: u32 = 1000;
/// Longest confirmation or problem text shown on the page.
const MAX_NOTICE: usize = 300;

#[derive(Clone)]
struct AdminState {
    view: Arc<dyn AdminView>,
    audit: Arc<dyn AuditLog>,
    /// For ending the sessions of an account an admin changed.
    auth: Arc<Auth>,
}

/// The admin pages and API over `view`, recording changes and audit-trail views in `audit` and
/// ending sessions through `auth`. The state is applied, so the router merges into the site's.
/// Mount it behind sign-in and the admin guard (`auth::require_admin`); the handlers check the
/// role again and refuse anyone but an admin.
pub(crate) fn routes(
    view: Arc<dyn AdminView>,
    audit: Arc<dyn AuditLog>,
    auth: Arc<Auth>,
) -> Router {
    Router::new()
        .route(SETTINGS_PATH, get(settings_page))
        .route(AUDIT_PATH, get(audit_page))
        .route(API_SETTINGS, get(settings_json))
        .route(API_AUDIT, get(audit_json))
        .route(API_USERS, post(add_user))
        .route(API_USER, post(update_user))
        .route(API_USER_REMOVE, post(remove_user))
        .route(API_SITE, post(site))
        .route(API_TASKS, post(put_task))
        .route(API_TASK_REMOVE, post(remove_task))
        .route(API_THRESHOLDS, post(thresholds))
        .route(API_SUGGESTED, post(apply_suggested))
        .route(API_BASELINE, post(baseline))
        .route(API_NUISANCE, get(nuisance_json))
        .with_state(AdminState { view, audit, auth })
}

/// How a request wants its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Page,
    Json,
}

impl Reply {
    /// `failure` answered this way: as JSON, or as a page for `visitor`.
    fn failure(self, failure: Failure, visitor: &Visitor) -> Response {
        match self {
            Reply::Json => failure.into_response(),
            Reply::Page => failure.on_page(visitor).into_response(),
        }
    }

    fn forbidden(self, visitor: &Visitor) -> Response {
        let words = match self {
            Reply::Json => "only admins can use this",
            Reply::Page => "Settings, user accounts and the audit trail are only for admins.",
        };
        let failure = Failure::new(StatusCode::FORBIDDEN, "Only for admins", words);
        self.failure(failure, visitor)
    }

    fn unavailable(self, visitor: &Visitor) -> Response {
        self.failure(unavailable(), visitor)
    }
}

/// The daemon's answer never came (its call panicked).
fn unavailable() -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The dock could not do this just now. Try again in a minute.",
    )
    .back((SETTINGS_PATH, "Back to Settings"))
}

/// The signed-in admin with their session's CSRF token; anyone else is refused (the route guard
/// already did; this is the second lock).
fn admin(visitor: &Visitor) -> Option<Viewer<'_>> {
    visitor
        .viewer()
        .filter(|viewer| viewer.user.role == Role::Admin)
}

/// `s` cut to at most `max` characters.
fn clip(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}

// ---- pages ----

/// Only a problem code travels in the address; any other parameter (a crafted `?done=…`) is
/// ignored.
#[derive(Debug, Default, Deserialize)]
struct NoticeParams {
    problem: Option<String>,
}

/// `GET /settings?problem=CODE`: the Settings page, with the last form's outcome on top (a
/// confirmation from the session, shown once; a problem's fixed words).
async fn settings_page(
    State(state): State<AdminState>,
    visitor: Visitor,
    Query(notice): Query<NoticeParams>,
) -> Response {
    let done = visitor.take_notice(SETTINGS_PATH);
    let notice = match (&notice.problem, &done) {
        (Some(code), _) => settings::Notice::Problem(settings::problem_words(code)),
        (None, Some(done)) => settings::Notice::Done(done),
        (None, None) => settings::Notice::None,
    };
    answer_settings(&state, &visitor, StatusCode::OK, notice).await
}

/// The Settings page with `notice`, with `status`, or the page saying why not.
async fn answer_settings(
    state: &AdminState,
    visitor: &Visitor,
    status: StatusCode,
    notice: settings::Notice<'_>,
) -> Response {
    let Some(viewer) = admin(visitor) else {
        return Reply::Page.forbidden(visitor);
    };
    let view = Arc::clone(&state.view);
    let Some((settings, nuisance)) = blocking(move || (view.settings(), view.nuisance())).await
    else {
        return Reply::Page.unavailable(visitor);
    };
    settings::page(status, &settings, &nuisance, viewer, notice)
}

#[derive(Debug, Default, Deserialize)]
struct AuditParams {
    before: Option<String>,
    limit: Option<String>,
}

/// `before` and `limit` from the query: positive numbers, `limit` at most 1000.
fn audit_query(params: &AuditParams) -> Result<(Option<i64>, u32), Problem> {
    let before = match params.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<i64>().ok().filter(|b| *b > 0).ok_or_else(|| {
            Problem("`before` must be a line number from the audit trail.".to_owned())
        })?),
    };
    let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
        None => AUDIT_PAGE_LINES,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=AUDIT_MAX_LINES).contains(l))
            .ok_or_else(|| Problem("`limit` must be a number from 1 to 1000.".to_owned()))?,
    };
    Ok((before, limit))
}

/// Reads one page of the trail and records that `user` viewed it.
async fn load_audit(
    state: &AdminState,
    user: &CurrentUser,
    before: Option<i64>,
    limit: u32,
) -> Option<AuditPage> {
    let view = Arc::clone(&state.view);
    let page = blocking(move || view.audit(before, limit)).await?;
    state.audit.record(&user.name, "view", "audit trail").await;
    Some(page)
}

/// `GET /audit?before=ID`: the audit trail, newest first, 100 lines a page.
async fn audit_page(
    State(state): State<AdminState>,
    visitor: Visitor,
    Query(params): Query<AuditParams>,
) -> Response {
    let Some(viewer) = admin(&visitor) else {
        return Reply::Page.forbidden(&visitor);
    };
    let params = AuditParams {
        limit: None,
        ..params
    };
    let Ok((before, limit)) = audit_query(&params) else {
        let failure = Failure::new(
            StatusCode::BAD_REQUEST,
            "Not a page of the audit trail",
            "This address does not name a page of the audit trail.",
        )
        .back((AUDIT_PATH, "Go to the newest lines"));
        return Reply::Page.failure(failure, &visitor);
    };
    match load_audit(&state, viewer.user, before, limit).await {
        Some(page) => audit::page(&page, before.is_some(), viewer),
        None => Reply::Page.unavailable(&visitor),
    }
}

/// `GET /api/v1/audit?before=&limit=`: an `AuditPage`.
async fn audit_json(
    State(state): State<AdminState>,
    visitor: Visitor,
    Query(params): Query<AuditParams>,
) -> Response {
    let Some(viewer) = admin(&visitor) else {
        return Reply::Json.forbidden(&visitor);
    };
    let (before, limit) = match audit_query(&params) {
        Ok(query) => query,
        Err(problem) => return error_json(StatusCode::BAD_REQUEST, &problem.0),
    };
    match load_audit(&state, viewer.user, before, limit).await {
        Some(page) => Json(page).into_response(),
        None => Reply::Json.unavailable(&visitor),
    }
}

/// `GET /api/v1/settings`: a `SettingsView`.
async fn settings_json(State(state): State<AdminState>, visitor: Visitor) -> Response {
    if admin(&visitor).is_none() {
        return Reply::Json.forbidden(&visitor);
    }
    let view = Arc::clone(&state.view);
    match blocking(move || view.settings()).await {
        Some(settings) => Json(settings).into_response(),
        None => Reply::Json.unavailable(&visitor),
    }
}

/// `GET /api/v1/nuisance`: a `NuisanceView`.
async fn nuisance_json(State(state): State<AdminState>, visitor: Visitor) -> Response {
    if admin(&visitor).is_none() {
        return Reply::Json.forbidden(&visitor);
    }
    let view = Arc::clone(&state.view);
    match blocking(move || view.nuisance()).await {
        Some(nuisance) => Json(nuisance).into_response(),
        None => Reply::Json.unavailable(&visitor),
    }
}

// ---- changes ----

/// How the body was sent: JSON from API clients, a url-encoded form from the Settings page.
fn reply_for(headers: &HeaderMap) -> Option<Reply> {
    let mime = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::trim)?;
    if mime.eq_ignore_ascii_case("application/json") {
        Some(Reply::Json)
    } else if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(Reply::Page)
    } else {
        None
    }
}

/// Where a form post goes back to after a change: the bare Settings page, the daemon's summary
/// left in the session for its `role="status"` box (never in the address).
fn back_to_settings(visitor: &Visitor, done: &str) -> Response {
    visitor.leave_notice(SETTINGS_PATH, clip(done, MAX_NOTICE).to_owned());
    see_other(SETTINGS_PATH)
}

/// A change refused (by a check here or by the daemon) in its own words: `{"error": …}`, or the
/// Settings page answering the form with the problem on top (400). The words never travel in
/// an address.
async fn refused(state: &AdminState, visitor: &Visitor, reply: Reply, problem: &str) -> Response {
    match reply {
        Reply::Json => error_json(StatusCode::BAD_REQUEST, problem),
        Reply::Page => {
            let notice = settings::Notice::Problem(clip(problem, MAX_NOTICE));
            answer_settings(state, visitor, StatusCode::BAD_REQUEST, notice).await
        }
    }
}

/// The common path of every change: admin check, content type (415), size (413), `parse` into
/// changes (400 / the page with the problem), the self-protection rule, then each change
/// through the daemon in order, awaited, audited, ending the affected account's sessions.
async fn submit(
    state: AdminState,
    visitor: Visitor,
    headers: &HeaderMap,
    body: Body,
    parse: impl FnOnce(&Sent) -> Result<Vec<AdminChange>, Problem>,
) -> Response {
    let Some(reply) = reply_for(headers) else {
        return match admin(&visitor) {
            Some(_) => error_json(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json (or a form from the Settings page)",
            ),
            None => Reply::Json.forbidden(&visitor),
        };
    };
    let Some(user) = admin(&visitor).map(|viewer| viewer.user.clone()) else {
        return reply.forbidden(&visitor);
    };
    let Ok(bytes) = to_bytes(body, input::BODY_LIMIT).await else {
        return match reply {
            Reply::Json => error_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large (16 KiB at most)",
            ),
            Reply::Page => reply.failure(
                Failure::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Form too large",
                    "The dock could not read this form. Go back and try again.",
                )
                .back((SETTINGS_PATH, "Back to Settings")),
                &visitor,
            ),
        };
    };
    let sent = match reply {
        Reply::Json => Sent::Json(bytes.to_vec()),
        Reply::Page => Sent::Form(input::Form::parse(&bytes)),
    };
    let changes = match parse(&sent) {
        Ok(changes) => changes,
        Err(problem) => return refused(&state, &visitor, reply, &problem.0).await,
    };
    drop(sent);
    if let Some(problem) = changes.iter().find_map(|change| own_account(&user, change)) {
        return refused(&state, &visitor, reply, problem).await;
    }
    let mut done: Vec<String> = Vec::new();
    for change in changes {
        let affected = change.affected_user().map(str::to_owned);
        match state.view.change(&user.name, change).await {
            Ok(summary) => {
                state.audit.record(&user.name, "change", &summary).await;
                if let Some(name) = affected {
                    let ended = state.auth.sessions.end_user(&name);
                    tracing::debug!(sessions = ended, "Ended the sessions of a changed account.");
                }
                done.push(summary);
            }
            Err(AdminRefusal(refusal)) => {
                let problem = if done.is_empty() {
                    refusal
                } else {
                    format!("{refusal} (already done: {})", done.join("; "))
                };
                return refused(&state, &visitor, reply, &problem).await;
            }
        }
    }
    let summary = done.join("; ");
    match reply {
        Reply::Json => Json(serde_json::json!({ "done": summary })).into_response(),
        Reply::Page => back_to_settings(&visitor, &summary),
    }
}

/// An admin may not disable or remove their own account (the daemon also refuses to leave no
/// enabled admin).
fn own_account(user: &CurrentUser, change: &AdminChange) -> Option<&'static str> {
    match change {
        AdminChange::SetDisabled {
            name,
            disabled: true,
        } if *name == user.name => Some(
            "You cannot disable your own account. Ask another admin, or sign in as another admin.",
        ),
        AdminChange::RemoveUser { name } if *name == user.name => Some(
            "You cannot remove your own account. Ask another admin, or sign in as another admin.",
        ),
        _ => None,
    }
}

/// `POST /api/v1/users`.
async fn add_user(
    State(state): State<AdminState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::add_user(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/users/{name}`.
async fn update_user(
    State(state): State<AdminState>,
    visitor: Visitor,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::update_user(&name, sent)
    })
    .await
}

/// `POST /api/v1/users/{name}/remove`.
async fn remove_user(
    State(state): State<AdminState>,
    visitor: Visitor,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::remove_user(&name, sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/site`.
async fn site(
    State(state): State<AdminState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::site(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/tasks`.
async fn put_task(
    State(state): State<AdminState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::put_task(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/tasks/{name}/remove`.
async fn remove_task(
    State(state): State<AdminState>,
    visitor: Visitor,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::remove_task(&name, sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/thresholds`.
async fn thresholds(
    State(state): State<AdminState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::thresholds(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/thresholds/suggested`: the site's suggestion becomes the site thresholds.
async fn apply_suggested(
    State(state): State<AdminState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::apply_suggested(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/baseline`.
async fn baseline(
    State(state): State<AdminState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, visitor, &headers, body, |sent| {
        input::baseline(sent).map(|change| vec![change])
    })
    .await
}

#[cfg(test)]
mod tests;
