//! The diagnostics page and its JSON API for technicians and admins: the dock's GPS fix and its
//! history, dock power and temperatures, wearable batteries with their flags, storage, versions and
//! network. It owns presentation; the daemon owns the figures (through [`DiagnosticsView`]). It must
//! never show or return anything about a worker, and never serve a supervisor-only account.
//!
//! Every handler checks the role again (the site's guard, `auth::require_diagnostics`, should
//! already have), validates `days` before asking the daemon, and reads the daemon on tokio's
//! blocking pool. Every answer is `Cache-Control: no-store`. The upload forms ("Upload now",
//! retry or drop a dead letter) and the software update forms ("Check now", "Install now") are
//! for admins only: their rows in [`ROUTES`] say so, and the router puts `auth::require_admin`
//! on them. The update forms are recorded in the audit trail with the updater's answer.
//!
//! # Layout
//! - `view`: the [`DiagnosticsView`] trait and the view types (also the JSON shapes).
//! - `html`: the page's markup (in the site's shell).
//! - `chart`: the SVG chart of readings over time.
//! - `openapi`: the OpenAPI 3 description of the JSON routes.
//! - `style.css`: the page's own stylesheet, served at [`STYLE_PATH`].

mod chart;
mod html;
mod openapi;
mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::{
    Json, Router,
    body::{Body, to_bytes},
    extract::{FromRef, Path, RawQuery, State},
    http::{
        HeaderValue, StatusCode,
        header::{CACHE_CONTROL, CONTENT_TYPE},
    },
    middleware,
    response::{IntoResponse, Response},
    routing::{MethodFilter, MethodRouter, on},
};
use serde::Serialize;

use crate::{
    Verb,
    access::{AuditLog, CurrentUser, Role},
    auth::see_other,
    pages::{Back, Failure, FormFields, Visitor, blocking},
};

pub use openapi::{openapi_paths, openapi_schemas};
pub use view::{
    BatteryFlagLine, BatteryPoint, ClockPanel, DeadLetterView, Diagnostics, DiagnosticsView,
    DockBattery, GpsEventLine, GpsPanel, GpsPoint, HostPanel, Interface, PowerPanel, PowerPoint,
    PseudonymKey, StoragePanel, Thermal, UpdateAsk, UpdateEventView, UpdateView, UploadView,
    WearableBattery,
};

/// The diagnostics page.
pub const PAGE_PATH: &str = "/diagnostics";
/// Where this module's stylesheet is served (linked by the page after `/assets/style.css`).
pub const STYLE_PATH: &str = "/assets/diagnostics.css";

/// The JSON routes (their paths are also the OpenAPI fragment's keys).
pub(crate) const API_ALL: &str = "/api/v1/diagnostics";
pub(crate) const API_GPS: &str = "/api/v1/diagnostics/gps";
pub(crate) const API_POWER: &str = "/api/v1/diagnostics/power";
pub(crate) const API_WEARABLES: &str = "/api/v1/diagnostics/wearables";

/// Every JSON route (all GET), for the site's tests and the OpenAPI check.
#[cfg(test)]
pub(crate) const API_ROUTES: [&str; 4] = [API_ALL, API_GPS, API_POWER, API_WEARABLES];

/// The upload forms (admins only; each answers 303 back to the page's Uploads section).
pub(crate) const UPLOAD_NOW_PATH: &str = "/diagnostics/upload-now";
pub(crate) const RETRY_PATH: &str = "/diagnostics/dead-letters/{id}/retry";
pub(crate) const DROP_PATH: &str = "/diagnostics/dead-letters/{id}/drop";
/// Where the upload forms send the browser back to.
const UPLOAD_SECTION: &str = "/diagnostics#dg-upload";
/// The software update forms (admins only; each answers 303 back to the page's Software update
/// section with the updater's sentence; "Install now" needs its `confirm` box ticked).
pub(crate) const UPDATE_CHECK_PATH: &str = "/diagnostics/update/check";
pub(crate) const UPDATE_NOW_PATH: &str = "/diagnostics/update/install";
/// Where the update forms send the browser back to.
const UPDATE_SECTION: &str = "/diagnostics#dg-update";
/// The session notices the update forms leave for the page: the updater's answer, done or
/// refused (one notice per session: an update form's replaces an upload form's).
const UPDATE_DONE: &str = "/diagnostics#update-done";
const UPDATE_REFUSED: &str = "/diagnostics#update-refused";
/// The longest form body the upload forms take (a CSRF token and a checkbox).
const MAX_FORM_BYTES: usize = 4096;

/// Who may use a diagnostics route, beyond the group's guard (technicians and admins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Anyone the group's guard lets in.
    Diagnostics,
    /// Admins only (`auth::require_admin` on the route).
    Admin,
}

/// One row of [`ROUTES`].
pub(crate) struct Route {
    pub(crate) verb: Verb,
    pub(crate) path: &'static str,
    pub(crate) rule: Rule,
    handler: fn(MethodFilter) -> MethodRouter<DiagnosticsState>,
}

/// The routes' state: the daemon's view, and the audit trail the update forms record in.
#[derive(Clone)]
pub(crate) struct DiagnosticsState {
    view: Arc<dyn DiagnosticsView>,
    audit: Arc<dyn AuditLog>,
}

impl FromRef<DiagnosticsState> for Arc<dyn DiagnosticsView> {
    fn from_ref(state: &DiagnosticsState) -> Self {
        Arc::clone(&state.view)
    }
}

/// Every diagnostics route, its method and who may use it: the router is built from this table
/// alone, and the site's tests walk it.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        verb: Verb::Get,
        path: PAGE_PATH,
        rule: Rule::Diagnostics,
        handler: |verb| on(verb, page),
    },
    Route {
        verb: Verb::Get,
        path: API_ALL,
        rule: Rule::Diagnostics,
        handler: |verb| on(verb, all_json),
    },
    Route {
        verb: Verb::Get,
        path: API_GPS,
        rule: Rule::Diagnostics,
        handler: |verb| on(verb, gps_json),
    },
    Route {
        verb: Verb::Get,
        path: API_POWER,
        rule: Rule::Diagnostics,
        handler: |verb| on(verb, power_json),
    },
    Route {
        verb: Verb::Get,
        path: API_WEARABLES,
        rule: Rule::Diagnostics,
        handler: |verb| on(verb, wearables_json),
    },
    Route {
        verb: Verb::Get,
        path: STYLE_PATH,
        rule: Rule::Diagnostics,
        handler: |verb| {
            on(verb, || async {
                (
                    [(CONTENT_TYPE, "text/css; charset=utf-8")],
                    include_str!("style.css"),
                )
            })
        },
    },
    // "Upload now" (form with the `csrf` field).
    Route {
        verb: Verb::Post,
        path: UPLOAD_NOW_PATH,
        rule: Rule::Admin,
        handler: |verb| on(verb, upload_now),
    },
    // A dead letter back in the queue.
    Route {
        verb: Verb::Post,
        path: RETRY_PATH,
        rule: Rule::Admin,
        handler: |verb| on(verb, retry_dead_letter),
    },
    // A dead letter dropped: the form's `confirm` checkbox must be ticked.
    Route {
        verb: Verb::Post,
        path: DROP_PATH,
        rule: Rule::Admin,
        handler: |verb| on(verb, drop_dead_letter),
    },
    // "Check now": asks the release server, installs nothing.
    Route {
        verb: Verb::Post,
        path: UPDATE_CHECK_PATH,
        rule: Rule::Admin,
        handler: |verb| on(verb, update_check),
    },
    // "Install now": the form's `confirm` checkbox must be ticked (the dock restarts).
    Route {
        verb: Verb::Post,
        path: UPDATE_NOW_PATH,
        rule: Rule::Admin,
        handler: |verb| on(verb, update_now),
    },
];

/// How many days of history the page and API show unless asked otherwise.
pub const DEFAULT_DAYS: u32 = 7;
/// The longest history anyone may ask for, in days.
pub const MAX_DAYS: u32 = 90;
/// The ranges the page offers as links.
const RANGES: [u32; 3] = [7, 30, 90];

/// The page, the API and the stylesheet over `view`:
///
/// - `GET /diagnostics?days=N&wearable=SERIAL`: the page (`days` 1–90, default 7; `wearable`
///   picks whose battery chart is shown)
/// - `GET /api/v1/diagnostics?days=N`: the whole [`Diagnostics`]
/// - `GET /api/v1/diagnostics/gps`, `/power`, `/wearables` (`?days=N`): `{gps, gps_history,
///   gps_events}`, `{power, power_history}`, `{wearables}`
/// - `GET /assets/diagnostics.css`: the page's stylesheet ([`STYLE_PATH`])
/// - `POST /diagnostics/upload-now`, `/diagnostics/dead-letters/{id}/retry`,
///   `/diagnostics/dead-letters/{id}/drop` (form with `csrf`; drop also with `confirm`): admins
///   only; 303 back to the page with the daemon's answer left in the session for its next view
/// - `POST /diagnostics/update/check`, `/diagnostics/update/install` (form with `csrf`; install
///   also with `confirm`): admins only; the updater is asked as the signed-in admin, the answer
///   recorded in `audit` and left in the session; 303 back to the page's Software update section
///
/// A `days` that is not a whole number from 1 to 90 is a 400 in words. The state is applied, so
/// the router merges into the site's. Mount it behind sign-in and `auth::require_diagnostics`,
/// which insert [`CurrentUser`]; without a technician or admin every route but the stylesheet
/// answers 403, and the upload and update forms answer 403 to anyone but an admin.
pub fn routes(view: Arc<dyn DiagnosticsView>, audit: Arc<dyn AuditLog>) -> Router {
    ROUTES
        .iter()
        .fold(Router::new(), |router, route| {
            let handler = (route.handler)(route.verb.filter());
            match route.rule {
                Rule::Diagnostics => router.route(route.path, handler),
                Rule::Admin => router.route(
                    route.path,
                    handler.route_layer(middleware::from_fn(crate::auth::require_admin)),
                ),
            }
        })
        .with_state(DiagnosticsState { view, audit })
}

/// Where the failure pages send you back to.
const RANGE_LINK: Back = ("/diagnostics?days=7", "Show the last 7 days of diagnostics");

/// No signed-in technician or admin.
fn forbidden() -> Failure {
    Failure::new(
        StatusCode::FORBIDDEN,
        "Only for technicians and admins",
        "The diagnostics page shows the dock's own hardware and is only for technicians \
         and admins. Ask an admin if you need it.",
    )
    .back(("/", "Back to the dock"))
}

/// `days` is not a whole number from 1 to [`MAX_DAYS`].
fn bad_days() -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "Not a number of days",
        "days must be a whole number from 1 to 90, for example 7.",
    )
    .back(RANGE_LINK)
}

/// The daemon's answer never came (its call panicked).
fn unavailable() -> Failure {
    Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The dock could not read its diagnostics just now. Try again in a minute.",
    )
    .back(RANGE_LINK)
}

/// The signed-in user, if their role sees diagnostics.
fn allowed(visitor: &Visitor) -> Result<&CurrentUser, Failure> {
    match visitor.user() {
        Some(user) if user.role.sees_diagnostics() => Ok(user),
        _ => Err(forbidden()),
    }
}

/// The signed-in user, if an admin (the upload forms).
fn admin(visitor: &Visitor) -> Result<&CurrentUser, Failure> {
    match visitor.user() {
        Some(user) if user.role == Role::Admin => Ok(user),
        _ => Err(Failure::new(
            StatusCode::FORBIDDEN,
            "Only for admins",
            "Only an admin can start an upload, retry or drop a dead letter, or check for or \
             install a software update. A technician sees their state on this page.",
        )
        .back(RANGE_LINK)),
    }
}

/// The query's `days` (the first one; [`DEFAULT_DAYS`] when there is none): digits only, 1 to
/// [`MAX_DAYS`].
fn days(query: Option<&str>) -> Result<u32, Failure> {
    let Some(value) = param(query, "days") else {
        return Ok(DEFAULT_DAYS);
    };
    let digits = !value.is_empty() && value.len() <= 3 && value.bytes().all(|b| b.is_ascii_digit());
    value
        .parse::<u32>()
        .ok()
        .filter(|days| digits && (1..=MAX_DAYS).contains(days))
        .ok_or_else(bad_days)
}

/// The first value of `name` in the query, decoded.
fn param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// The daemon's diagnostics over `days` with its upload queue, on the blocking pool.
async fn load(view: &Arc<dyn DiagnosticsView>, days: u32) -> Result<Diagnostics, Failure> {
    let view = Arc::clone(view);
    blocking(move || {
        let mut diagnostics = view.diagnostics(days);
        diagnostics.upload = view.upload();
        diagnostics.update = view.update();
        diagnostics
    })
    .await
    .ok_or_else(unavailable)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn page(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = async {
        allowed(&visitor)?;
        let days = days(query.as_deref())?;
        load(&view, days)
            .await
            .map(|diagnostics| (days, diagnostics))
    };
    match answer.await {
        Ok((days, diagnostics)) => {
            let wearable = param(query.as_deref(), "wearable");
            let notice = visitor.take_notice(PAGE_PATH);
            let update_notice = match visitor.take_notice(UPDATE_DONE) {
                Some(said) => Some((true, said)),
                None => visitor
                    .take_notice(UPDATE_REFUSED)
                    .map(|said| (false, said)),
            };
            let asked = html::Asked {
                days,
                wearable: wearable.as_deref(),
                notice: notice.as_deref(),
                update_notice: update_notice
                    .as_ref()
                    .map(|(done, said)| (*done, said.as_str())),
            };
            html::page(&diagnostics, visitor.viewer(), &asked)
        }
        Err(failure) => failure.on_page(&visitor).into_response(),
    }
}

/// The checks every JSON route shares, then `part` of the daemon's answer as JSON.
async fn json(
    view: &Arc<dyn DiagnosticsView>,
    visitor: &Visitor,
    query: Option<&str>,
    part: impl FnOnce(&Diagnostics) -> Response,
) -> Response {
    let answer = async {
        allowed(visitor)?;
        let days = days(query)?;
        load(view, days).await
    };
    match answer.await {
        Ok(diagnostics) => no_store(part(&diagnostics)),
        Err(failure) => failure.into_response(),
    }
}

/// `{gps, gps_history, gps_events}`.
#[derive(Serialize)]
struct GpsPart<'a> {
    gps: &'a GpsPanel,
    gps_history: &'a [GpsPoint],
    gps_events: &'a [GpsEventLine],
}

/// `{power, power_history}`.
#[derive(Serialize)]
struct PowerPart<'a> {
    power: &'a PowerPanel,
    power_history: &'a [PowerPoint],
}

/// `{wearables}`.
#[derive(Serialize)]
struct WearablesPart<'a> {
    wearables: &'a [WearableBattery],
}

async fn all_json(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    json(&view, &visitor, query.as_deref(), |d| {
        Json(d).into_response()
    })
    .await
}

async fn gps_json(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    json(&view, &visitor, query.as_deref(), |d| {
        Json(GpsPart {
            gps: &d.gps,
            gps_history: &d.gps_history,
            gps_events: &d.gps_events,
        })
        .into_response()
    })
    .await
}

async fn power_json(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    json(&view, &visitor, query.as_deref(), |d| {
        Json(PowerPart {
            power: &d.power,
            power_history: &d.power_history,
        })
        .into_response()
    })
    .await
}

async fn wearables_json(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Response {
    json(&view, &visitor, query.as_deref(), |d| {
        Json(WearablesPart {
            wearables: &d.wearables,
        })
        .into_response()
    })
    .await
}

/// What an upload form asked the daemon to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UploadRequest {
    Now,
    Retry,
    Drop,
}

/// A dead letter's id as its address names it (a batch id: letters, digits, `-` and `_`).
fn dead_letter_id(id: &str) -> Result<&str, Failure> {
    let fits = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fits {
        Ok(id)
    } else {
        Err(Failure::new(
            StatusCode::NOT_FOUND,
            "No such dead letter",
            "There is no dead letter at this address.",
        )
        .back((UPLOAD_SECTION, "Back to the uploads")))
    }
}

/// One upload form: admin (403), address (404), body and confirmation (400), then the daemon,
/// awaited (409 with its refusal in words, or done: 303 back to the page's Uploads section with
/// its answer left for the page's next view).
async fn upload_form(
    view: &Arc<dyn DiagnosticsView>,
    visitor: &Visitor,
    request: UploadRequest,
    id: Option<&str>,
    body: Body,
) -> Response {
    let answer = async {
        let user = admin(visitor)?.name.clone();
        let id = id.map(dead_letter_id).transpose()?.unwrap_or_default();
        let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form sent more than an upload form holds.",
            )
            .back((UPLOAD_SECTION, "Back to the uploads"))
        })?;
        if request == UploadRequest::Drop && FormFields::parse(&bytes).text("confirm").is_none() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Not dropped",
                "Dropping a dead letter deletes its items for good: tick the box that says so \
                 to drop it.",
            )
            .back((UPLOAD_SECTION, "Back to the uploads")));
        }
        let done = match request {
            UploadRequest::Now => view.upload_now(&user).await,
            UploadRequest::Retry => view.retry_dead_letter(id, &user).await,
            UploadRequest::Drop => view.drop_dead_letter(id, &user).await,
        };
        done.map_err(|refusal| {
            Failure::new(StatusCode::CONFLICT, "Not done", refusal)
                .back((UPLOAD_SECTION, "Back to the uploads"))
        })
    };
    match answer.await {
        Ok(summary) => {
            visitor.leave_notice(PAGE_PATH, summary);
            see_other(UPLOAD_SECTION)
        }
        Err(failure) => no_store(failure.on_page(visitor).into_response()),
    }
}

async fn upload_now(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    body: Body,
) -> Response {
    upload_form(&view, &visitor, UploadRequest::Now, None, body).await
}

async fn retry_dead_letter(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    upload_form(&view, &visitor, UploadRequest::Retry, Some(&id), body).await
}

async fn drop_dead_letter(
    State(view): State<Arc<dyn DiagnosticsView>>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    upload_form(&view, &visitor, UploadRequest::Drop, Some(&id), body).await
}

/// One software update form: admin (403), body and confirmation (413, 400), then the updater,
/// asked as the signed-in admin and awaited; its answer, done or refused, is recorded in the
/// audit trail and left for the page's next view (303 back to the Software update section).
async fn update_form(
    state: &DiagnosticsState,
    visitor: &Visitor,
    ask: UpdateAsk,
    body: Body,
) -> Response {
    let back = (UPDATE_SECTION, "Back to the software update");
    let answer = async {
        let user = admin(visitor)?.name.clone();
        let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
            Failure::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Form too large",
                "The form sent more than an update form holds.",
            )
            .back(back)
        })?;
        if ask == UpdateAsk::InstallNow && FormFields::parse(&bytes).text("confirm").is_none() {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "Not installed",
                "Installing restarts the dock into the new version: tick the box that says so \
                 to install it.",
            )
            .back(back));
        }
        Ok(user)
    };
    let user = match answer.await {
        Ok(user) => user,
        Err(failure) => return no_store(failure.on_page(visitor).into_response()),
    };
    // An install restarts the dock as soon as it is in place: the press is recorded before it is
    // asked (the updater audits the install's outcome itself, naming who asked).
    if ask == UpdateAsk::InstallNow {
        state
            .audit
            .record(
                &user,
                "update install",
                "asked to install the newest release now",
            )
            .await;
    }
    let said = state.view.ask_update(ask, &user).await;
    let (notice, subject) = match &said {
        Ok(words) => (UPDATE_DONE, words.clone()),
        Err(words) => (UPDATE_REFUSED, format!("refused: {words}")),
    };
    if ask == UpdateAsk::Check {
        state.audit.record(&user, "update check", &subject).await;
    }
    visitor.leave_notice(notice, said.unwrap_or_else(|refusal| refusal));
    see_other(UPDATE_SECTION)
}

async fn update_check(
    State(state): State<DiagnosticsState>,
    visitor: Visitor,
    body: Body,
) -> Response {
    update_form(&state, &visitor, UpdateAsk::Check, body).await
}

async fn update_now(
    State(state): State<DiagnosticsState>,
    visitor: Visitor,
    body: Body,
) -> Response {
    update_form(&state, &visitor, UpdateAsk::InstallNow, body).await
}
