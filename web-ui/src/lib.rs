//! web-ui: the dock's local web pages and JSON API, as one axum router over the traits the daemon
//! implements ([`Backends`]), behind sign-in. It must never depend on the daemon crate, never serve
//! a route without a session unless `ROUTES` marks it public, never let a role without
//! `sees_worker_data` reach worker routes, a role without `sees_diagnostics` reach diagnostics
//! routes, nor anyone but an admin reach admin routes, and never show who wore a wearable on the
//! dock pages.
//!
//! # Layout
//! - `view`: the [`DockView`] trait and the view types (also the JSON API's shapes).
//! - `access`: roles, the signed-in user, and the traits the daemon implements for accounts and
//!   the audit trail.
//! - `auth`: sessions, sign-in/out, CSRF and `Origin` checks, the role guard, throttling.
//! - `pages`: the page kit every page uses (the document shell with the one site navigation and
//!   the account bar, the one error type and message page, the one blocking helper, the HTML
//!   escaper and the percent-encoder) and the status, sign-in and 404/405 pages.
//! - `api`: `/api/v1` JSON and server-sent events for the dock, and the OpenAPI document.
//! - `analysis`, `roster`: the worker-data pages and API (admins and supervisors).
//! - `admin`: Settings and the audit trail (admins only).
//! - `diagnostics`: GPS, dock power, wearable batteries, storage and versions (technicians and
//!   admins).
//! - `chart`: the one SVG chart kit every page's charts are drawn with.
//! - `assets`: the script and stylesheet compiled into the binary.
//! - `rules`: the one rule for serials, badge tags and account names (the daemon uses it too).
//! - `security`: headers every response carries.
//! - `ROUTES` (here): every dock route, its method and who may use it, in one table.

pub mod access;
pub mod admin;
pub mod analysis;
mod api;
mod assets;
mod auth;
mod chart;
pub mod diagnostics;
mod pages;
pub mod roster;
pub mod rules;
mod security;
#[cfg(test)]
mod testing;
mod view;

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    Router,
    extract::FromRef,
    http::StatusCode,
    middleware,
    response::IntoResponse,
    routing::{MethodFilter, MethodRouter, on},
};

pub use pages::blocking;
pub use view::{DockSnapshot, DockView, Progress, SlotState, SlotView, WorkerFigures};

/// What a view trait's async method returns (as [`DockView::shutting_down`] does): a boxed
/// future the handler awaits on its runtime worker, borrowing the view. The daemon's writes
/// (roster, settings) await its store writer through these, with no blocking thread between.
pub type ViewFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The dock view every dock handler reads from.
type SharedView = Arc<dyn DockView>;

/// The router state; handlers take the part they need (`State<SharedView>`, `State<Arc<Auth>>`).
#[derive(Clone)]
struct AppState {
    view: SharedView,
    auth: Arc<auth::Auth>,
}

impl FromRef<AppState> for SharedView {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.view)
    }
}

impl FromRef<AppState> for Arc<auth::Auth> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.auth)
    }
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user, whatever the role.
    SignedIn,
}

/// A route's method (HEAD is served wherever GET is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
}

/// One row of [`ROUTES`].
pub(crate) struct Route {
    pub(crate) verb: Verb,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
    /// The handler, routed for the method filter it is given (`verb`'s).
    handler: fn(MethodFilter) -> MethodRouter<AppState>,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
        }
    }
}

/// Every dock route. The router is built from this table alone, the sign-in check takes
/// `Access::Public` from it alone, and the tests walk it: a route cannot exist without saying who
/// may use it. Anything not `Public` (including unknown addresses) needs a session. The other
/// groups are whole routers behind a role guard (see [`site`]): worker data (`analysis`,
/// `roster`) needs a role that `sees_worker_data`, admin routes (`admin`) need an admin,
/// diagnostics (`diagnostics`) a role that `sees_diagnostics`.
pub(crate) const ROUTES: &[Route] = &[
    // The dock status page (complete HTML; `assets/status.js` keeps it live).
    Route {
        verb: Verb::Get,
        path: "/",
        access: Access::SignedIn,
        handler: |verb| on(verb, pages::status),
    },
    // The sign-in page and form; `next` is where to go afterwards.
    Route {
        verb: Verb::Get,
        path: auth::LOGIN_PATH,
        access: Access::Public,
        handler: |verb| on(verb, auth::login::page),
    },
    Route {
        verb: Verb::Post,
        path: auth::LOGIN_PATH,
        access: Access::Public,
        handler: |verb| on(verb, auth::login::form),
    },
    // Sign out (form with the `csrf` field).
    Route {
        verb: Verb::Post,
        path: "/logout",
        access: Access::SignedIn,
        handler: |verb| on(verb, auth::login::logout),
    },
    // Sign out from the API (`X-CSRF-Token` header): 204, cookie cleared.
    Route {
        verb: Verb::Post,
        path: "/api/v1/logout",
        access: Access::SignedIn,
        handler: |verb| on(verb, auth::login::logout_json),
    },
    // The `DockSnapshot` as JSON.
    Route {
        verb: Verb::Get,
        path: "/api/v1/status",
        access: Access::SignedIn,
        handler: |verb| on(verb, api::status),
    },
    // Server-sent `status` events with the snapshot, on connect and on change.
    Route {
        verb: Verb::Get,
        path: "/api/v1/events",
        access: Access::SignedIn,
        handler: |verb| on(verb, api::events),
    },
    // JSON sign-in: `{"username", "password"}` → `{user, role, csrf_token}` + session cookie.
    Route {
        verb: Verb::Post,
        path: "/api/v1/login",
        access: Access::Public,
        handler: |verb| on(verb, auth::login::json),
    },
    // The session: `{user, role, csrf_token}`.
    Route {
        verb: Verb::Get,
        path: "/api/v1/session",
        access: Access::SignedIn,
        handler: |verb| on(verb, auth::login::session),
    },
    // The script and stylesheet (public: the sign-in page uses the stylesheet).
    Route {
        verb: Verb::Get,
        path: assets::STATUS_JS,
        access: Access::Public,
        handler: |verb| assets::route(verb, assets::STATUS_JS),
    },
    Route {
        verb: Verb::Get,
        path: assets::STYLE_CSS,
        access: Access::Public,
        handler: |verb| assets::route(verb, assets::STYLE_CSS),
    },
    // The OpenAPI 3 document of `/api/v1` (the dock's routes and every group's).
    Route {
        verb: Verb::Get,
        path: "/api/v1/openapi.json",
        access: Access::SignedIn,
        handler: |verb| on(verb, api::openapi),
    },
    // For monitoring: `ok`.
    Route {
        verb: Verb::Get,
        path: "/healthz",
        access: Access::Public,
        handler: |verb| on(verb, || async { "ok" }),
    },
];

/// Whether `path` is a public route's exact path (nothing else is: not a prefix, not a variant).
pub(crate) fn is_public(path: &str) -> bool {
    ROUTES
        .iter()
        .any(|route| route.access == Access::Public && route.path == path)
}

/// How the page is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOptions {
    /// The page is served over HTTPS: session cookies carry `Secure` and responses HSTS. False
    /// only for plain HTTP on loopback.
    pub secure_cookies: bool,
    /// The names the page is served under (host names and addresses, `web.server_names`): a
    /// request for another `Host` is refused (421), and an `Origin` must be one of them with the
    /// page's scheme and `port`. Empty: any host.
    pub server_names: Vec<String>,
    /// The port the page is served on.
    pub port: u16,
}

/// What the site is built over: the daemon's implementations of every backend trait.
pub struct Backends {
    /// The dock's slots (status page, `/api/v1/status`, live events).
    pub dock: Arc<dyn DockView>,
    /// Password checks for sign-in.
    pub accounts: Arc<dyn access::Accounts>,
    /// The audit trail: sign-ins, views of worker data, admin changes.
    pub audit: Arc<dyn access::AuditLog>,
    /// Today, workers, Tasks & hours.
    pub analysis: Arc<dyn analysis::AnalysisView>,
    /// The roster.
    pub roster: Arc<dyn roster::RosterView>,
    /// Settings, users and the audit trail viewer.
    pub admin: Arc<dyn admin::AdminView>,
    /// GPS, dock power, wearable batteries, storage and versions.
    pub diagnostics: Arc<dyn diagnostics::DiagnosticsView>,
}

/// The whole site behind sign-in, in four groups:
///
/// - the dock routes in [`ROUTES`] over `backends.dock`, for anyone signed in (and the public
///   sign-in page, health check and assets);
/// - worker data: [`analysis::routes`] and [`roster::routes`], only for roles that
///   [`sees_worker_data`](access::Role::sees_worker_data);
/// - admin: Settings, users and the audit trail (`/settings`, `/audit`, `/api/v1/settings…`,
///   `/api/v1/users…`, `/api/v1/audit`), only for admins;
/// - diagnostics: [`diagnostics::routes`] (`/diagnostics`, `/api/v1/diagnostics…`), only for
///   roles that [`sees_diagnostics`](access::Role::sees_diagnostics) (technicians and admins);
///   its upload forms (`/diagnostics/upload-now`, `/diagnostics/dead-letters/…`) and software
///   update forms (`/diagnostics/update/check`, `/diagnostics/update/install`) only for admins.
///
/// Others get a 403 (a page, or JSON under `/api/`). Every request but the public routes needs a
/// session: pages redirect to `/login?next=…`, `/api/…` answers 401. State-changing requests need
/// the session's CSRF token (`X-CSRF-Token` or form field `csrf`); a request for a `Host` that is
/// not one of `options.server_names` is refused (421), and so is one whose `Origin` is not one
/// of them with our scheme and port (403). A session lasts while its user stands as when it
/// started ([`access::Accounts::standing`], asked on every request and every 400 ms by open live
/// streams). Handlers behind the check find [`access::CurrentUser`] and [`access::CsrfToken`] in
/// the request extensions.
///
/// Passwords are checked through `accounts` on two threads of the site's own, one check per
/// client address at a time (others get 429/503 with `Retry-After`); sign-ins and sign-outs are
/// recorded in `audit` with subject `session`, refused sign-ins at most once per address and
/// minute; views of worker data and of named dock tiles are recorded by one layer, changes by
/// their handlers. Anything else is a 404 page; other methods on known paths are a 405. Every
/// response carries the security headers (and HSTS over HTTPS).
///
/// For the client's address in sign-in throttling and fairness, serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`; without it, throttling is per user
/// name only.
pub fn site(backends: Backends, options: WebOptions) -> Router {
    let auth = Arc::new(
        auth::Auth::new(
            Arc::clone(&backends.accounts),
            Arc::clone(&backends.audit),
            options.secure_cookies,
        )
        .serving(options.secure_cookies, options.port, &options.server_names),
    );
    assemble(backends, auth)
}

/// The site over `backends` with sign-in through `auth` (made from the same accounts and audit).
fn assemble(backends: Backends, auth: Arc<auth::Auth>) -> Router {
    let groups = Groups {
        worker_data: analysis::routes(backends.analysis)
            .merge(roster::routes(backends.roster, Arc::clone(&backends.audit))),
        diagnostics: diagnostics::routes(backends.diagnostics, Arc::clone(&backends.audit)),
        admin: admin::routes(backends.admin, backends.audit, Arc::clone(&auth)),
    };
    build(backends.dock, auth, groups)
}

/// The route groups behind a role guard (state applied; no fallbacks of their own).
struct Groups {
    /// Behind `auth::require_worker_data`.
    worker_data: Router,
    /// Behind `auth::require_admin`.
    admin: Router,
    /// Behind `auth::require_diagnostics`.
    diagnostics: Router,
}

fn build(view: SharedView, auth: Arc<auth::Auth>, groups: Groups) -> Router {
    let audited = || middleware::from_fn_with_state(Arc::clone(&auth), auth::audit_worker_data);
    let dock_routes = ROUTES.iter().fold(Router::new(), |router, route| {
        let handler = (route.handler)(route.verb.filter());
        // The dock tiles say who wears a wearable to roles that see worker data: audited.
        if auth::DOCK_TILE_PATHS.contains(&route.path) {
            router.route(route.path, handler.route_layer(audited()))
        } else {
            router.route(route.path, handler)
        }
    });
    // The audit layer sits inside the role guard: refused requests saw nothing.
    let worker_data = groups
        .worker_data
        .route_layer(audited())
        .route_layer(middleware::from_fn(auth::require_worker_data));
    let admin = groups
        .admin
        .route_layer(middleware::from_fn(auth::require_admin));
    let diagnostics = groups
        .diagnostics
        .route_layer(middleware::from_fn(auth::require_diagnostics));
    let https = security::Https(auth.https());
    let state = AppState {
        view,
        auth: Arc::clone(&auth),
    };
    let router = dock_routes
        .with_state(state)
        .merge(worker_data)
        .merge(admin)
        .merge(diagnostics)
        // After every route: it applies to the routes registered so far.
        .method_not_allowed_fallback(pages::method_not_allowed)
        .fallback(pages::not_found)
        // Around the fallbacks too: an unknown address does not tell a visitor it is unknown.
        .layer(middleware::from_fn_with_state(auth, auth::authenticate));
    router.layer(middleware::from_fn_with_state(https, security::headers))
}

/// The site while the dock is locked (its database cannot be opened, see `dockd`'s store key):
/// every address answers 503 with `reason`, a sentence saying why and what to do; `/api/…`
/// answers it as JSON. Nothing else is served: no sign-in (the accounts are in the locked
/// database), no data. The stylesheet is served so the page reads like the dock's others.
pub fn locked_site(reason: String, options: &WebOptions) -> Router {
    let reason = Arc::new(reason);
    let answer = move |uri: axum::http::Uri| {
        let reason = Arc::clone(&reason);
        async move {
            let retry = [(axum::http::header::RETRY_AFTER, "30")];
            if uri.path().starts_with("/api/") {
                let body = serde_json::json!({ "error": format!("The dock is locked: {reason}") });
                (StatusCode::SERVICE_UNAVAILABLE, retry, axum::Json(body)).into_response()
            } else {
                let mut page = pages::message(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The dock is locked",
                    &format!(
                        "The dock is running but cannot open its stored data: {reason}. Wearables left in it keep their logs; nothing is pulled or erased until this is fixed. The dock checks again every 30 seconds."
                    ),
                );
                page.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from_static("30"),
                );
                page
            }
        }
    };
    Router::new()
        .route(
            assets::STYLE_CSS,
            assets::route(Verb::Get.filter(), assets::STYLE_CSS),
        )
        .fallback(answer)
        .layer(middleware::from_fn_with_state(
            security::Https(options.secure_cookies),
            security::headers,
        ))
}

#[cfg(test)]
mod tests {
    use axum::{
        body::Body,
        http::{
            Method, Request, StatusCode,
            header::{ALLOW, CONTENT_TYPE, LOCATION},
        },
    };

    use super::*;
    use crate::{
        access::Role,
        testing::{
            Client, FakeDock, TestSite, admin_routes, body_json, body_text, diagnostics_routes,
            get, request, worker_data_routes,
        },
    };

    fn method(verb: Verb) -> Method {
        match verb {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
        }
    }

    /// Which group a route is in (who may use it).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Group {
        Dock(Access),
        WorkerData,
        Admin,
        Diagnostics,
        Unknown,
    }

    /// Every (method, path, group) the site serves: the dock's table, the worker-data group
    /// (analysis and roster), the admin group, the diagnostics group, and unknown addresses.
    fn every_route() -> Vec<(Method, String, Group)> {
        let dock = ROUTES.iter().map(|route| {
            (
                method(route.verb),
                route.path.to_owned(),
                Group::Dock(route.access),
            )
        });
        let workers = worker_data_routes()
            .into_iter()
            .map(|(method, path)| (method, path, Group::WorkerData));
        let admin = admin_routes()
            .into_iter()
            .map(|(method, path)| (method, path, Group::Admin));
        // The diagnostics group's upload forms are for admins only, like the admin group.
        let diagnostics = diagnostics_routes()
            .into_iter()
            .map(|(method, path, rule)| {
                let group = match rule {
                    crate::diagnostics::Rule::Diagnostics => Group::Diagnostics,
                    crate::diagnostics::Rule::Admin => Group::Admin,
                };
                (method, path, group)
            });
        let unknown = [
            (Method::GET, "/no/such/page".to_owned(), Group::Unknown),
            (Method::GET, "/api/v1/nothing".to_owned(), Group::Unknown),
        ];
        dock.chain(workers)
            .chain(admin)
            .chain(diagnostics)
            .chain(unknown)
            .collect()
    }

    #[tokio::test]
    async fn without_a_session_every_route_but_the_public_ones_sends_you_to_sign_in() {
        let site = TestSite::new(true);
        let anonymous = Client {
            router: site.router.clone(),
            session: None,
            csrf: None,
        };
        let mut public = Vec::new();
        let routes = every_route();
        // Every group is walked, and each has pages and API routes that write.
        for group in [Group::WorkerData, Group::Admin] {
            assert!(
                routes
                    .iter()
                    .any(|(m, p, g)| *g == group && *m == Method::POST && p.starts_with("/api/"))
            );
            assert!(
                routes
                    .iter()
                    .any(|(_, p, g)| *g == group && !p.starts_with("/api/"))
            );
        }
        // The diagnostics group reads (a page, its stylesheet and JSON); its upload forms are
        // walked with the admin routes.
        let diagnostics: Vec<_> = routes
            .iter()
            .filter(|(_, _, g)| *g == Group::Diagnostics)
            .collect();
        assert!(diagnostics.iter().any(|(_, p, _)| p == "/diagnostics"));
        assert!(
            diagnostics
                .iter()
                .any(|(_, p, _)| p == "/api/v1/diagnostics/gps")
        );
        for (method, path, group) in routes {
            let path = path.as_str();
            let response = request(anonymous.clone(), method.clone(), path).await;
            let status = response.status();
            if group == Group::Dock(Access::Public) {
                assert_ne!(status, StatusCode::SEE_OTHER, "{method} {path}");
                assert!(
                    status.is_success() || status.is_client_error(),
                    "{method} {path}"
                );
                public.push(format!("{method} {path}"));
            } else if path.starts_with("/api/") {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
                assert_eq!(body_json(response).await["error"], "sign in first");
            } else {
                assert_eq!(status, StatusCode::SEE_OTHER, "{method} {path}");
                let location = response.headers()[LOCATION].to_str().unwrap();
                let expected = if method == Method::GET && path != "/" {
                    auth::login_location(Some(path))
                } else {
                    "/login".to_owned()
                };
                assert_eq!(location, expected, "{method} {path}");
            }
        }
        // Exactly these are public: signing in, the assets the sign-in page needs, health.
        assert_eq!(
            public,
            [
                "GET /login",
                "POST /login",
                "POST /api/v1/login",
                "GET /assets/status.js",
                "GET /assets/style.css",
                "GET /healthz",
            ]
        );
    }

    #[tokio::test]
    async fn signed_in_each_role_reaches_exactly_the_groups_it_may_use() {
        let site = TestSite::new(false);
        for role in [Role::Admin, Role::Supervisor, Role::Technician] {
            let client = site.signed_in("someone", role);
            for (method, path, group) in every_route() {
                let may = match group {
                    Group::Dock(_) | Group::Unknown => continue,
                    // A worker's deletion, behind the worker-data guard, is for admins only.
                    Group::WorkerData if crate::roster::admin_only(&method, &path) => {
                        role == Role::Admin
                    }
                    Group::WorkerData => role.sees_worker_data(),
                    Group::Admin => role == Role::Admin,
                    Group::Diagnostics => role.sees_diagnostics(),
                };
                let lines_before = site.audit.records().len();
                let response = request(client.clone(), method.clone(), &path).await;
                let status = response.status();
                // Every answered read of worker data is one audit line, whatever the route.
                if group == Group::WorkerData && method == Method::GET && !path.ends_with(".css") {
                    let lines = &site.audit.records()[lines_before..];
                    let expected = if may { 1 } else { 0 };
                    assert_eq!(lines.len(), expected, "{role:?} {path}: {lines:?}");
                    if let [[user, action, _]] = lines {
                        assert_eq!((user.as_str(), action.as_str()), ("someone", "view"));
                    }
                }
                if may && group == Group::Diagnostics {
                    // Nothing here writes: every route answers in full.
                    assert_eq!(status, StatusCode::OK, "{role:?} {method} {path}");
                    continue;
                }
                if may {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                    assert_ne!(status, StatusCode::NOT_FOUND, "{role:?} {method} {path}");
                    assert_ne!(
                        status,
                        StatusCode::METHOD_NOT_ALLOWED,
                        "{role:?} {method} {path}"
                    );
                    continue;
                }
                assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {method} {path}");
                if path.starts_with("/api/") {
                    assert_eq!(
                        response.headers()[CONTENT_TYPE],
                        "application/json",
                        "{path}"
                    );
                    assert!(body_json(response).await["error"].is_string(), "{path}");
                } else {
                    let html = body_text(response).await;
                    assert!(html.contains("<h1>"), "{role:?} {path}");
                }
            }
        }
        // Nothing a refused role asked for reached the daemon.
        assert!(site.admin.changes().is_empty());
        // Only the admin's own reads of the audit trail (page and API) did.
        assert_eq!(site.admin.audit_asked().len(), 2);
        // Diagnostics were read only for the technician and the admin (each page and API route).
        let reads = diagnostics_routes()
            .iter()
            .filter(|(method, path, _)| {
                method == Method::GET && path != crate::diagnostics::STYLE_PATH
            })
            .count();
        assert_eq!(site.diagnostics.asked().len(), 2 * reads);
    }

    #[tokio::test]
    async fn the_dock_tiles_and_the_live_stream_are_audited_once_for_roles_that_see_names() {
        use http_body_util::BodyExt;
        let site = TestSite::new(false);
        for role in [Role::Admin, Role::Supervisor, Role::Technician] {
            let client = site.signed_in("someone", role);
            for (path, subject) in [
                ("/", "dock tiles"),
                ("/api/v1/status", "dock tiles"),
                ("/api/v1/events", "live dock tiles"),
            ] {
                let before = site.audit.records().len();
                let response = get(client.clone(), path).await;
                assert_eq!(response.status(), StatusCode::OK, "{path}");
                // The stream is audited once when it opens, not per event.
                let mut body = response.into_body();
                let _ = body.frame().await;
                let lines = site.audit.records()[before..].to_vec();
                if role.sees_worker_data() {
                    assert_eq!(
                        lines,
                        [["someone".to_owned(), "view".to_owned(), subject.to_owned()]],
                        "{role:?} {path}"
                    );
                } else {
                    assert!(lines.is_empty(), "{role:?} {path}: {lines:?}");
                }
            }
        }
    }

    #[tokio::test]
    async fn a_technician_reads_device_health_only_on_every_route_it_may_use() {
        let site = TestSite::new(false);
        let technician = site.signed_in("tina", Role::Technician);
        let mut read = 0;
        for (method, path, group) in every_route() {
            // The live stream never ends (`api::events` checks its snapshots); the script and the
            // API description are code and schema, not data.
            if method != Method::GET
                || path.ends_with("/events")
                || path.ends_with("/openapi.json")
                || path.starts_with("/assets/")
                || !matches!(group, Group::Dock(_) | Group::Diagnostics)
            {
                continue;
            }
            let response = request(technician.clone(), method.clone(), &path).await;
            if response.status() != StatusCode::OK {
                continue;
            }
            let body = body_text(response).await;
            for figure in [
                "alerts_stored",
                "samples_stored",
                "900,000 readings",
                "3 alerts",
                "Worn by",
                "\"worker\"",
            ] {
                assert!(!body.contains(figure), "{path} shows {figure}");
            }
            read += 1;
        }
        assert!(
            read >= 3,
            "the status page, its JSON and the diagnostics were read"
        );
    }

    #[tokio::test]
    async fn the_public_routes_answer_without_a_session() {
        let site = TestSite::new(false);
        for path in [
            "/login",
            "/assets/status.js",
            "/assets/style.css",
            "/healthz",
        ] {
            let response = site
                .send(Request::get(path).body(Body::empty()).unwrap())
                .await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
    }

    #[tokio::test]
    async fn signed_in_every_route_is_served_with_its_own_method() {
        let site = TestSite::new(false);
        for role in [Role::Admin, Role::Supervisor, Role::Technician] {
            let client = site.signed_in("someone", role);
            let signs_out = |path: &str| path.ends_with("/logout");
            for route in ROUTES.iter().filter(|route| !signs_out(route.path)) {
                let response = request(client.clone(), method(route.verb), route.path).await;
                let status = response.status();
                assert_ne!(status, StatusCode::NOT_FOUND, "{}", route.path);
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{}", route.path);
                assert_ne!(status, StatusCode::FORBIDDEN, "{}", route.path);
            }
        }
    }

    #[test]
    fn every_asset_has_a_public_route() {
        for path in assets::paths() {
            assert!(is_public(path), "{path}");
        }
        assert!(!is_public("/assets/"));
        assert!(!is_public("/login/"));
    }

    #[tokio::test]
    async fn healthz_answers_ok() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/healthz").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_text(response).await, "ok");
    }

    #[tokio::test]
    async fn an_unknown_address_gets_a_short_404_page_that_does_not_echo_it() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/%3Cscript%3Enope").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let html = body_text(response).await;
        assert!(html.contains("Page not found"));
        assert!(html.contains("<a href=\"/\">"));
        assert!(!html.contains("nope"));
    }

    #[tokio::test]
    async fn a_post_to_any_read_only_route_is_refused_with_405() {
        let (_dock, router) = FakeDock::router();
        let read_only = ROUTES.iter().filter(|route| {
            ROUTES
                .iter()
                .all(|other| other.path != route.path || other.verb == Verb::Get)
        });
        for route in read_only {
            let path = route.path;
            let response = request(router.clone(), Method::POST, path).await;
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert_eq!(response.headers()[ALLOW], "GET,HEAD", "{path}");
            assert!(body_text(response).await.contains("can only be viewed"));
        }
    }

    #[tokio::test]
    async fn other_writing_methods_are_refused_too() {
        let (_dock, router) = FakeDock::router();
        for method in [Method::PUT, Method::PATCH, Method::DELETE] {
            let response = request(router.clone(), method.clone(), "/api/v1/status").await;
            assert_eq!(
                response.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method}"
            );
        }
    }

    /// Every page `role` may open (GET, not the API, not an asset), with a concrete address.
    fn pages_for(role: Role) -> Vec<String> {
        let mut pages: Vec<String> = ROUTES
            .iter()
            .filter(|route| route.verb == Verb::Get && route.access == Access::SignedIn)
            .map(|route| route.path.to_owned())
            .collect();
        let diagnostics = diagnostics_routes()
            .into_iter()
            .map(|(method, path, _)| (method, path))
            .collect();
        let groups = [
            (role.sees_worker_data(), worker_data_routes()),
            (role == Role::Admin, admin_routes()),
            (role.sees_diagnostics(), diagnostics),
        ];
        for (may, routes) in groups {
            pages.extend(routes.into_iter().filter_map(|(method, path)| {
                (may && method == Method::GET
                    && !path.starts_with("/api/")
                    && !path.ends_with(".css"))
                .then_some(path)
            }));
        }
        pages.retain(|path| !path.starts_with("/api/") && !path.starts_with("/assets/"));
        pages
    }

    #[tokio::test]
    async fn every_page_of_every_role_has_the_navigation_the_account_bar_and_a_sign_out_form() {
        let site = TestSite::new(false);
        for role in [Role::Admin, Role::Supervisor, Role::Technician] {
            let client = site.signed_in("someone", role);
            let sign_out = format!(
                "<form class=\"logout\" method=\"post\" action=\"/logout\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
                client.csrf()
            );
            let mut pages: Vec<(Method, String)> = pages_for(role)
                .into_iter()
                .map(|path| (Method::GET, path))
                .collect();
            // The 404, the 405, and a 403 for a page the role may not open.
            pages.push((Method::GET, "/no/such/page".to_owned()));
            pages.push((Method::POST, "/".to_owned()));
            let refused = if role == Role::Admin {
                None
            } else {
                Some("/settings")
            };
            pages.extend(refused.map(|path| (Method::GET, path.to_owned())));
            assert!(pages.len() >= 5, "{role:?}: {pages:?}");
            for (method, path) in pages {
                let response = request(client.clone(), method.clone(), &path).await;
                let status = response.status();
                let html = body_text(response).await;
                let at = format!("{role:?} {method} {path} ({status})");
                assert!(html.contains("<nav class=\"site-nav\""), "{at}");
                assert!(
                    html.contains("Signed in as <strong>someone</strong>"),
                    "{at}"
                );
                assert!(html.contains(&sign_out), "{at}");
                assert_eq!(html.matches("<h1").count(), 1, "{at}");
                assert!(html.contains("<main id=\"main\""), "{at}");
            }
        }
    }

    #[tokio::test]
    async fn every_dynamic_value_on_every_page_passes_the_escaper() {
        use crate::testing::{HOSTILE, HOSTILE_ESCAPED, hostile};
        let site = TestSite::new(false);
        site.dock.update(|snapshot| {
            snapshot.dock = HOSTILE.to_owned();
            snapshot.version = HOSTILE.to_owned();
            for slot in &mut snapshot.slots {
                slot.serial = Some(HOSTILE.to_owned());
                slot.worker = Some(HOSTILE.to_owned());
                slot.state_text = HOSTILE.to_owned();
                slot.advice = Some(HOSTILE.to_owned());
                slot.transport = HOSTILE.to_owned();
            }
        });
        site.admin.update(|settings| *settings = hostile(settings));
        for line in 0..3 {
            site.admin
                .add_line(HOSTILE, HOSTILE, &format!("{HOSTILE} {line}"));
        }
        site.diagnostics
            .update(|diagnostics| *diagnostics = hostile(diagnostics));
        site.roster.set(hostile(&crate::roster::Roster {
            wearables: vec![crate::roster::RosterWearable {
                serial: "KW-1".to_owned(),
                worker: Some(12),
                applied: false,
                last_docked_ms: Some(1_709_200_000_000),
            }],
            workers: vec![crate::roster::RosterWorker {
                id: 12,
                badge: "B-1".to_owned(),
                pseudonym: "W-1".to_owned(),
                display_name: Some("Ana".to_owned()),
                task: Some("Picking".to_owned()),
                team: Some("A".to_owned()),
                opted_out_ms: Some(1_709_200_000_000),
                discarded_samples: 3,
            }],
            tasks: vec!["Picking".to_owned()],
            teams: vec!["A".to_owned()],
            work_restrictions: vec![crate::roster::WorkRestriction {
                id: 3,
                worker: 12,
                from_day: "2025-03-03".to_owned(),
                until_day: "2025-03-31".to_owned(),
                no_deep_bends: true,
                max_lifts_per_hour: Some(10),
                max_bends_per_hour: None,
                max_load_kg: Some(12.5),
                terms: "no deep bends".to_owned(),
                in_force: true,
            }],
            today: Some("2025-03-04".to_owned()),
            work_restrictions_kept_days: 90,
        }));
        let client = site.signed_in(HOSTILE, Role::Admin);
        let mut pages = pages_for(Role::Admin);
        pages.extend([
            format!(
                "/diagnostics?wearable={}",
                crate::pages::percent_encode(HOSTILE)
            ),
            "/roster?done=%3Cx%22%27%26%3E".to_owned(),
            "/no/such/page".to_owned(),
        ]);
        for path in pages {
            let html = body_text(get(client.clone(), &path).await).await;
            assert!(
                !html.contains(HOSTILE),
                "{path}: the raw value is on the page"
            );
            assert!(html.contains(HOSTILE_ESCAPED), "{path}: no value was shown");
            assert!(!html.contains("<x"), "{path}");
        }
    }
}
