//! The admin pages: Settings (users and roles, site settings, tasks, wearable alert thresholds)
//! and the audit trail viewer, with their JSON API. It owns presentation and input checks; the
//! daemon owns storage and the rules (through [`AdminView`]). It must never serve anyone but an
//! admin, nor echo, log or audit a password.
//!
//! # Layout
//! - `view`: the [`AdminView`] trait and its types (also the JSON shapes).
//! - `input`: JSON bodies and form posts checked and turned into [`AdminChange`]s.
//! - `settings`, `audit`: the two pages.
//! - `openapi`: the OpenAPI 3 description of the JSON routes.
//!
//! Every change is applied through [`AdminView::change`] on the blocking pool; a success is
//! recorded in the audit trail with the daemon's summary (never a password) and, when it touches
//! an account ([`AdminChange::affected_user`]), ends every session of that account.

mod audit;
mod input;
mod openapi;
mod settings;
mod view;

use std::sync::Arc;

use axum::{
    Extension, Json, Router,
    body::{Body, to_bytes},
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use crate::{
    access::{AuditLog, CsrfToken, CurrentUser, Role},
    auth::{Auth, error_json, see_other},
    pages,
};
use input::{Problem, Sent};

pub use openapi::{openapi_paths, openapi_schemas};
pub use view::{
    AdminChange, AdminRefusal, AdminView, AuditLine, AuditPage, SettingsView, SiteSettings,
    TaskRow, ThresholdState, ThresholdStatus, Thresholds, UserRow,
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
];

/// Lines on one page of the audit trail (and the API's default).
const AUDIT_PAGE_LINES: u32 = 100;
/// Most lines the API gives at once.
const AUDIT_MAX_LINES: u32 = 1000;
/// Longest `done`/`problem` text carried back to the page.
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
        .with_state(AdminState { view, audit, auth })
}

/// How a request wants its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Page,
    Json,
}

impl Reply {
    fn forbidden(self) -> Response {
        match self {
            Reply::Json => error_json(StatusCode::FORBIDDEN, "only admins can use this"),
            Reply::Page => pages::message(
                StatusCode::FORBIDDEN,
                "Only for admins",
                "Settings, user accounts and the audit trail are only for admins.",
            ),
        }
    }

    fn unavailable(self) -> Response {
        const TEXT: &str = "The dock could not do this just now. Try again in a minute.";
        match self {
            Reply::Json => error_json(StatusCode::SERVICE_UNAVAILABLE, TEXT),
            Reply::Page => pages::message(StatusCode::SERVICE_UNAVAILABLE, "Not available", TEXT),
        }
    }
}

/// The signed-in admin; anyone else is refused (the route guard already did; this is the
/// second lock).
fn admin(user: Option<Extension<CurrentUser>>) -> Option<CurrentUser> {
    match user {
        Some(Extension(user)) if user.role == Role::Admin => Some(user),
        _ => None,
    }
}

/// Runs a daemon call on the blocking pool; `None` if it panicked.
async fn blocking<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(call).await.ok()
}

/// `s` cut to at most `max` characters.
fn clip(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(at, _)| &s[..at])
}

// ---- pages ----

#[derive(Debug, Default, Deserialize)]
struct NoticeParams {
    done: Option<String>,
    problem: Option<String>,
}

/// `GET /settings?done=…|problem=…`: the Settings page, with the last form's outcome on top.
async fn settings_page(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    csrf: Option<Extension<CsrfToken>>,
    Query(notice): Query<NoticeParams>,
) -> Response {
    let Some(user) = admin(user) else {
        return Reply::Page.forbidden();
    };
    let Some(Extension(csrf)) = csrf else {
        return Reply::Page.forbidden();
    };
    let view = Arc::clone(&state.view);
    let Some(settings) = blocking(move || view.settings()).await else {
        return Reply::Page.unavailable();
    };
    let notice = match (&notice.done, &notice.problem) {
        (_, Some(problem)) => settings::Notice::Problem(clip(problem, MAX_NOTICE)),
        (Some(done), None) => settings::Notice::Done(clip(done, MAX_NOTICE)),
        (None, None) => settings::Notice::None,
    };
    settings::page(&settings, &user, csrf.as_str(), notice)
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
    user: Option<Extension<CurrentUser>>,
    csrf: Option<Extension<CsrfToken>>,
    Query(params): Query<AuditParams>,
) -> Response {
    let Some(user) = admin(user) else {
        return Reply::Page.forbidden();
    };
    let Some(Extension(csrf)) = csrf else {
        return Reply::Page.forbidden();
    };
    let params = AuditParams {
        limit: None,
        ..params
    };
    let Ok((before, limit)) = audit_query(&params) else {
        return pages::message(
            StatusCode::BAD_REQUEST,
            "Not a page of the audit trail",
            "This address does not name a page of the audit trail.",
        );
    };
    match load_audit(&state, &user, before, limit).await {
        Some(page) => audit::page(&page, before.is_some(), &user, csrf.as_str()),
        None => Reply::Page.unavailable(),
    }
}

/// `GET /api/v1/audit?before=&limit=`: an `AuditPage`.
async fn audit_json(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    Query(params): Query<AuditParams>,
) -> Response {
    let Some(user) = admin(user) else {
        return Reply::Json.forbidden();
    };
    let (before, limit) = match audit_query(&params) {
        Ok(query) => query,
        Err(problem) => return error_json(StatusCode::BAD_REQUEST, &problem.0),
    };
    match load_audit(&state, &user, before, limit).await {
        Some(page) => Json(page).into_response(),
        None => Reply::Json.unavailable(),
    }
}

/// `GET /api/v1/settings`: a `SettingsView`.
async fn settings_json(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
) -> Response {
    if admin(user).is_none() {
        return Reply::Json.forbidden();
    }
    let view = Arc::clone(&state.view);
    match blocking(move || view.settings()).await {
        Some(settings) => Json(settings).into_response(),
        None => Reply::Json.unavailable(),
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

/// Where a form post goes back to, with its outcome for the `role="status"` box.
fn back_to_settings(key: &str, text: &str) -> Response {
    let text: String = form_urlencoded::byte_serialize(clip(text, MAX_NOTICE).as_bytes()).collect();
    see_other(&format!("{SETTINGS_PATH}?{key}={text}"))
}

fn refused(reply: Reply, problem: &str) -> Response {
    match reply {
        Reply::Json => error_json(StatusCode::BAD_REQUEST, problem),
        Reply::Page => back_to_settings("problem", problem),
    }
}

/// The common path of every change: admin check, content type (415), size (413), `parse` into
/// changes (400 / back to the page with the problem), the self-protection rule, then each change
/// through the daemon in order, audited, ending the affected account's sessions.
async fn submit(
    state: AdminState,
    user: Option<Extension<CurrentUser>>,
    headers: &HeaderMap,
    body: Body,
    parse: impl FnOnce(&Sent) -> Result<Vec<AdminChange>, Problem>,
) -> Response {
    let Some(reply) = reply_for(headers) else {
        return match admin(user) {
            Some(_) => error_json(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send application/json (or a form from the Settings page)",
            ),
            None => Reply::Json.forbidden(),
        };
    };
    let Some(user) = admin(user) else {
        return reply.forbidden();
    };
    let Ok(bytes) = to_bytes(body, input::BODY_LIMIT).await else {
        return match reply {
            Reply::Json => error_json(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large (16 KiB at most)",
            ),
            Reply::Page => pages::message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The dock could not read this form. Go back and try again.",
            ),
        };
    };
    let sent = match reply {
        Reply::Json => Sent::Json(bytes.to_vec()),
        Reply::Page => Sent::Form(input::Form::parse(&bytes)),
    };
    let changes = match parse(&sent) {
        Ok(changes) => changes,
        Err(problem) => return refused(reply, &problem.0),
    };
    drop(sent);
    if let Some(problem) = changes.iter().find_map(|change| own_account(&user, change)) {
        return refused(reply, problem);
    }
    let mut done: Vec<String> = Vec::new();
    for change in changes {
        let affected = change.affected_user().map(str::to_owned);
        let view = Arc::clone(&state.view);
        let by = user.name.clone();
        match blocking(move || view.change(&by, change)).await {
            Some(Ok(summary)) => {
                state.audit.record(&user.name, "change", &summary).await;
                if let Some(name) = affected {
                    let ended = state.auth.sessions.end_user(&name);
                    tracing::debug!(sessions = ended, "ended the sessions of a changed account");
                }
                done.push(summary);
            }
            Some(Err(AdminRefusal(refusal))) => {
                let problem = if done.is_empty() {
                    refusal
                } else {
                    format!("{refusal} (already done: {})", done.join("; "))
                };
                return refused(reply, &problem);
            }
            None => {
                return match reply {
                    Reply::Json => Reply::Json.unavailable(),
                    Reply::Page => back_to_settings(
                        "problem",
                        "The dock could not save this just now. Try again in a minute.",
                    ),
                };
            }
        }
    }
    let summary = done.join("; ");
    match reply {
        Reply::Json => Json(serde_json::json!({ "done": summary })).into_response(),
        Reply::Page => back_to_settings("done", &summary),
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
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::add_user(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/users/{name}`.
async fn update_user(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::update_user(&name, sent)
    })
    .await
}

/// `POST /api/v1/users/{name}/remove`.
async fn remove_user(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::remove_user(&name, sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/site`.
async fn site(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::site(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/tasks`.
async fn put_task(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::put_task(sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/tasks/{name}/remove`.
async fn remove_task(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::remove_task(&name, sent).map(|change| vec![change])
    })
    .await
}

/// `POST /api/v1/settings/thresholds`.
async fn thresholds(
    State(state): State<AdminState>,
    user: Option<Extension<CurrentUser>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(state, user, &headers, body, |sent| {
        input::thresholds(sent).map(|change| vec![change])
    })
    .await
}

#[cfg(test)]
mod tests;
