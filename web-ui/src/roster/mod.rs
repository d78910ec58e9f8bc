//! The Roster page and its JSON API: which wearable each worker wears, workers' badge tags, local
//! display names, tasks and teams, opt-outs, and work restrictions (return-to-work limits). It owns
//! presentation and input checks; the daemon owns storage (through [`RosterView`]). It must never
//! show a badge tag or a name anywhere but here, and never serve a user whose role does not see
//! worker data.
//!
//! Every handler checks the role again (the site's guard should already have), reads the daemon
//! on tokio's blocking pool, awaits its changes, and records changes in the audit trail with
//! subjects that carry no badge tag or name (the daemon's [`RosterDone::summary`]); views are
//! recorded by the site's audit layer around the worker-data routes (`auth::audit_worker_data`).
//! A worker's deletion (admins only, confirmed) is audited by the daemon in the deletion's own
//! transaction instead. Nothing here logs a badge tag or a name.
//!
//! # Layout
//! - `view`: the [`RosterView`] trait and the view types (also the JSON shapes).
//! - `input`: body formats and size limit, the checks on every field, refusals in plain words.
//! - `html`: the page and its forms, in the site's shell.
//! - `openapi`: the OpenAPI 3 description of the JSON routes.
//! - `style.css`: the page's own stylesheet, served at [`STYLE_PATH`].

mod html;
mod input;
mod openapi;
mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, RawQuery, State, rejection::PathRejection},
    http::{
        HeaderMap, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE},
    },
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};

use crate::{
    access::{AuditLog, CurrentUser, Role},
    pages::{Failure, Visitor, blocking},
};
use input::{Format, Problem};

pub(crate) use openapi::work_restriction_schema;
pub use openapi::{openapi_paths, openapi_schemas};
pub use view::{
    DeletedData, DeletedWorker, Roster, RosterChange, RosterDone, RosterRefusal, RosterView,
    RosterWearable, RosterWorker, WorkRestriction, WorkRestrictionInput, WorkerExport,
};

/// The roster page.
pub const PAGE_PATH: &str = "/roster";
/// Where this module's stylesheet is served (linked by the roster page after `/assets/style.css`
/// and the analysis stylesheet).
pub const STYLE_PATH: &str = "/assets/roster.css";

/// The JSON routes (their paths are also the OpenAPI fragment's keys).
pub(crate) const API_ROSTER: &str = "/api/v1/roster";
pub(crate) const API_WEARABLES: &str = "/api/v1/roster/wearables";
pub(crate) const API_WORKERS: &str = "/api/v1/roster/workers";
pub(crate) const API_WORKER: &str = "/api/v1/roster/workers/{id}";
pub(crate) const API_OPT_OUT: &str = "/api/v1/roster/workers/{id}/opt-out";
/// What follows a worker's address for opting out.
const OPT_OUT_SUFFIX: &str = "/opt-out";
pub(crate) const API_DELETE: &str = "/api/v1/roster/workers/{id}/delete";
/// A worker's export, a tar archive (administrators only).
pub(crate) const API_EXPORT: &str = "/api/v1/roster/workers/{id}/export";
pub(crate) const EXPORT_SUFFIX: &str = "/export";
/// What follows a worker's address for deleting their data.
const DELETE_SUFFIX: &str = "/delete";
pub(crate) const API_WORK_RESTRICTIONS: &str = "/api/v1/roster/workers/{id}/work-restrictions";
pub(crate) const API_WORK_RESTRICTION: &str = "/api/v1/roster/work-restrictions/{id}";
pub(crate) const API_END_WORK_RESTRICTION: &str = "/api/v1/roster/work-restrictions/{id}/end";
/// What follows a worker's address for recording a work restriction.
const WORK_RESTRICTIONS_SUFFIX: &str = "/work-restrictions";
/// Where a work restriction's address starts (its id follows), and what follows it to end it.
const WORK_RESTRICTION_PREFIX: &str = "/api/v1/roster/work-restrictions";
const END_SUFFIX: &str = "/end";

/// Every JSON route as (method in lower case, as OpenAPI writes it; path as registered), for the
/// site's test that `/api/v1/openapi.json` describes exactly the routes served.
#[cfg_attr(
    not(test),
    allow(
        dead_code,
        reason = "read by the OpenAPI tests of this module and of the site"
    )
)]
pub(crate) const API_ROUTES: &[(&str, &str)] = &[
    ("get", API_ROSTER),
    ("post", API_WEARABLES),
    ("post", API_WORKERS),
    ("post", API_WORKER),
    ("post", API_OPT_OUT),
    ("post", API_DELETE),
    ("get", API_EXPORT),
    ("post", API_WORK_RESTRICTIONS),
    ("post", API_WORK_RESTRICTION),
    ("post", API_END_WORK_RESTRICTION),
];

/// Whether a request to this module is for administrators only, though the worker-data guard
/// lets supervisors through: a worker's deletion, whose handler checks the role itself. For the
/// site's test of who reaches what.
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "read by the site's access tests")
)]
pub(crate) fn admin_only(method: &axum::http::Method, path: &str) -> bool {
    path.starts_with(API_WORKERS)
        && ((method == axum::http::Method::POST && path.ends_with(DELETE_SUFFIX))
            || (method == axum::http::Method::GET && path.ends_with(EXPORT_SUFFIX)))
}

#[derive(Clone)]
struct RosterState {
    view: Arc<dyn RosterView>,
    audit: Arc<dyn AuditLog>,
}

/// The roster page, API and stylesheet over `view`, recording changes in `audit`:
///
/// - `GET /roster`: the page (with the confirmation a form left in the session, shown once, or
///   the fixed words of `?problem=CODE`)
/// - `GET /api/v1/roster`: the [`Roster`] as JSON
/// - `POST /api/v1/roster/wearables`: `{serial, worker}` (worker id or null)
/// - `POST /api/v1/roster/workers`: `{badge, display_name?, task?, team?}` → 201
/// - `POST /api/v1/roster/workers/{id}`: `{display_name?, task?, team?}` (missing clears)
/// - `POST /api/v1/roster/workers/{id}/opt-out`: `{opted_out: bool}`
/// - `POST /api/v1/roster/workers/{id}/delete`: `{confirm: true}` (the form's ticked box:
///   `confirm=yes`); admins only → [`DeletedWorker`]
/// - `POST /api/v1/roster/workers/{id}/work-restrictions`: a [`WorkRestrictionInput`] → 201
/// - `POST /api/v1/roster/work-restrictions/{id}`: a [`WorkRestrictionInput`] (replaces it)
/// - `POST /api/v1/roster/work-restrictions/{id}/end`: `{}` (ends it early)
/// - `GET /assets/roster.css`: the page's stylesheet ([`STYLE_PATH`])
///
/// Each POST takes `application/json` (answered with [`RosterDone`] or `{"error": …}`) or the
/// page's url-encoded form (answered `303 See Other` back to the page with the outcome); other
/// types get 415, bodies over 16 KiB 413.
///
/// The state is applied, so the router merges into the site's. Mount it behind sign-in, CSRF
/// checks and the worker-data role guard, which insert [`CurrentUser`] and [`CsrfToken`]; without
/// a user whose role sees worker data every route but the stylesheet answers 403.
pub fn routes(view: Arc<dyn RosterView>, audit: Arc<dyn AuditLog>) -> Router {
    Router::new()
        .route(PAGE_PATH, get(page))
        .route(API_ROSTER, get(roster_json))
        .route(API_WEARABLES, post(assign_wearable))
        .route(API_WORKERS, post(add_worker))
        .route(API_WORKER, post(edit_worker))
        .route(API_OPT_OUT, post(opt_out))
        .route(API_DELETE, post(delete_worker))
        .route(API_EXPORT, get(export_worker))
        .route(API_WORK_RESTRICTIONS, post(record_work_restriction))
        .route(API_WORK_RESTRICTION, post(edit_work_restriction))
        .route(API_END_WORK_RESTRICTION, post(end_work_restriction))
        .route(
            STYLE_PATH,
            get(|| async {
                (
                    [(CONTENT_TYPE, "text/css; charset=utf-8")],
                    include_str!("style.css"),
                )
            }),
        )
        .with_state(RosterState { view, audit })
}

/// The signed-in user, if their role sees worker data.
fn signed_in(visitor: &Visitor) -> Result<&CurrentUser, Problem> {
    match visitor.user() {
        Some(user) if user.role.sees_worker_data() => Ok(user),
        _ => Err(Problem::Forbidden),
    }
}

/// The roster, read on the blocking pool.
async fn load(state: &RosterState) -> Result<Roster, Problem> {
    let view = Arc::clone(&state.view);
    blocking(move || view.roster())
        .await
        .ok_or(Problem::Unavailable)
}

/// The roster page with `notice`, with `status`, or the page saying why not.
async fn answer_page(
    state: &RosterState,
    visitor: &Visitor,
    status: StatusCode,
    notice: Option<&html::Notice>,
) -> Response {
    let roster = async {
        signed_in(visitor)?;
        load(state).await
    };
    match roster.await {
        Ok(roster) => html::page(status, &roster, visitor.viewer(), notice),
        Err(problem) => problem.failure().on_page(visitor).into_response(),
    }
}

async fn page(
    State(state): State<RosterState>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    let notice = html::Notice::for_view(query.as_deref(), visitor.take_notice(PAGE_PATH));
    answer_page(&state, &visitor, StatusCode::OK, notice.as_ref()).await
}

async fn roster_json(
    State(state): State<RosterState>,
    visitor: Visitor,
) -> Result<Response, Failure> {
    signed_in(&visitor).map_err(|problem| problem.failure())?;
    let roster = load(&state).await.map_err(|problem| problem.failure())?;
    Ok(no_store(Json(roster).into_response()))
}

async fn assign_wearable(
    State(state): State<RosterState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(
        &state,
        &visitor,
        &headers,
        body,
        Ok(()),
        |(), format, bytes| input::assign(format, bytes),
    )
    .await
}

async fn add_worker(
    State(state): State<RosterState>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit(
        &state,
        &visitor,
        &headers,
        body,
        Ok(()),
        |(), format, bytes| input::add(format, bytes),
    )
    .await
}

async fn edit_worker(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = worker_in_address(id);
    submit(&state, &visitor, &headers, body, id, input::edit).await
}

async fn opt_out(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = worker_in_address(id);
    submit(&state, &visitor, &headers, body, id, input::opt_out).await
}

async fn record_work_restriction(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = worker_in_address(id);
    submit(
        &state,
        &visitor,
        &headers,
        body,
        id,
        input::record_work_restriction,
    )
    .await
}

async fn edit_work_restriction(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = work_restriction_in_address(id);
    submit(
        &state,
        &visitor,
        &headers,
        body,
        id,
        input::edit_work_restriction,
    )
    .await
}

async fn end_work_restriction(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = work_restriction_in_address(id);
    submit(&state, &visitor, &headers, body, id, |id, _, _| {
        Ok(RosterChange::EndWorkRestriction { id })
    })
    .await
}

/// Deletes a worker's data for good: admins only (403 for a supervisor), confirmed in the body,
/// then the daemon, awaited, which audits it in the deletion's own transaction (no line is
/// recorded here). A form goes back to the page with what went in words, naming the worker as
/// the page did (their display name or pseudonym), never by id.
async fn delete_worker(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = input::format(&headers);
    let answer_as = format.unwrap_or(Format::Json);
    let outcome = async {
        let user = signed_in(&visitor)?;
        if user.role != Role::Admin {
            return Err(Problem::AdminsOnly);
        }
        let id = worker_in_address(id)?;
        let format = format.ok_or(Problem::UnsupportedType)?;
        let bytes = input::read(&headers, body).await?;
        input::delete_confirmed(format, &bytes)?;
        // Named as the page named them, before they go.
        let roster = load(&state).await?;
        let label = roster
            .workers
            .iter()
            .find(|worker| worker.id == id)
            .map(|worker| html::worker_label(worker).to_owned());
        let done = state
            .view
            .delete_worker(id, user.name.clone())
            .await
            .map_err(|RosterRefusal(words)| Problem::Refused(words))?;
        Ok::<_, Problem>((done, label))
    };
    match (outcome.await, answer_as) {
        (Ok((done, _)), Format::Json) => no_store(Json(done).into_response()),
        (Ok((done, label)), Format::Form) => {
            visitor.leave_notice(
                PAGE_PATH,
                html::Notice::to_leave(&html::deleted_words(label.as_deref(), &done.deleted)),
            );
            Redirect::to(PAGE_PATH).into_response()
        }
        (Err(problem), format) => refused(&state, &visitor, problem, format).await,
    }
}

/// An admin's download of a worker's export: a tar archive streamed as the daemon makes it
/// (`Cache-Control: no-store`; the file name says whose by id only).
async fn export_worker(
    State(state): State<RosterState>,
    visitor: Visitor,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let answer_as = input::format(&headers).unwrap_or(Format::Json);
    let outcome = async {
        let user = signed_in(&visitor)?;
        if user.role != Role::Admin {
            return Err(Problem::AdminsOnly);
        }
        let id = worker_in_address(id)?;
        state
            .view
            .export_worker(id, user.name.clone())
            .await
            .map_err(|RosterRefusal(words)| Problem::Refused(words))
    };
    match outcome.await {
        Ok(export) => {
            let chunks = futures_util::stream::unfold(export.chunks, |mut chunks| async move {
                chunks
                    .recv()
                    .await
                    .map(|chunk| (chunk.map_err(std::io::Error::other), chunks))
            });
            let disposition = format!("attachment; filename=\"{}\"", export.file_name);
            no_store(
                (
                    [
                        (CONTENT_TYPE, "application/x-tar".to_owned()),
                        (axum::http::header::CONTENT_DISPOSITION, disposition),
                    ],
                    Body::from_stream(chunks),
                )
                    .into_response(),
            )
        }
        Err(problem) => refused(&state, &visitor, problem, answer_as).await,
    }
}

/// The work restriction id an address names; an address that does not decode names none.
fn work_restriction_in_address(id: Result<Path<String>, PathRejection>) -> Result<i64, Problem> {
    id.map_err(|_| Problem::NoSuchWorkRestriction)
        .and_then(|Path(id)| input::worker_id(&id).map_err(|_| Problem::NoSuchWorkRestriction))
}

/// The worker id an address names; an address that does not decode names no worker.
fn worker_in_address(id: Result<Path<String>, PathRejection>) -> Result<i64, Problem> {
    id.map_err(|_| Problem::NoSuchWorker)
        .and_then(|Path(id)| input::worker_id(&id))
}

/// One change request, in this order: role (403), address (404), content type (415), size
/// (413), fields (400), then the daemon, awaited (400 with its refusal, or done: audited).
/// `target` is what the address named (a worker id), or why it names nothing.
///
/// A form from the page goes back to it: done, to the bare page, the daemon's summary left in
/// the session for its next view; a field's fixed refusal, to `?problem=CODE`; the daemon's
/// refusal is shown on the page answering the form (400). No address ever carries words for the
/// page to show.
async fn submit<T>(
    state: &RosterState,
    visitor: &Visitor,
    headers: &HeaderMap,
    body: Body,
    target: Result<T, Problem>,
    to_change: impl FnOnce(T, Format, &[u8]) -> Result<RosterChange, Problem>,
) -> Response {
    let format = input::format(headers);
    // Refusals before the type is known are answered as JSON unless a form was sent.
    let answer_as = format.unwrap_or(Format::Json);
    let outcome = async {
        let user = signed_in(visitor)?;
        let target = target?;
        let format = format.ok_or(Problem::UnsupportedType)?;
        let bytes = input::read(headers, body).await?;
        let change = to_change(target, format, &bytes)?;
        let created = matches!(
            change,
            RosterChange::AddWorker { .. } | RosterChange::RecordWorkRestriction { .. }
        );
        let done = state
            .view
            .change(change)
            .await
            .map_err(|RosterRefusal(words)| Problem::Refused(words))?;
        state
            .audit
            .record(&user.name, "change", &done.summary)
            .await;
        Ok::<_, Problem>((done, created))
    };
    match (outcome.await, answer_as) {
        (Ok((done, created)), Format::Json) => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            no_store((status, Json(done)).into_response())
        }
        (Ok((done, _)), Format::Form) => {
            visitor.leave_notice(PAGE_PATH, html::Notice::to_leave(&done.summary));
            Redirect::to(PAGE_PATH).into_response()
        }
        (Err(problem), format) => refused(state, visitor, problem, format).await,
    }
}

/// The answer to a request that changed nothing: JSON, or for a form the page's address with a
/// field's problem code, the page with the daemon's refusal (400), or the failure page.
async fn refused(
    state: &RosterState,
    visitor: &Visitor,
    problem: Problem,
    format: Format,
) -> Response {
    match (format, problem.code(), problem) {
        (Format::Json, _, problem) => problem.failure().into_response(),
        (Format::Form, Some(code), _) => {
            Redirect::to(&html::Notice::problem_location(code)).into_response()
        }
        (Format::Form, None, Problem::Refused(words)) => {
            let notice = html::Notice::Problem(words.into());
            answer_page(state, visitor, StatusCode::BAD_REQUEST, Some(&notice)).await
        }
        (Format::Form, None, problem) => problem.failure().on_page(visitor).into_response(),
    }
}

fn no_store(mut response: Response) -> Response {
    response.headers_mut().insert(
        CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
