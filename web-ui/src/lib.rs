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
//! - `pages`: server-rendered HTML pages (status, sign-in, 403/404/405), their document shell and
//!   the one site navigation.
//! - `api`: `/api/v1` JSON and server-sent events for the dock, and the OpenAPI document.
//! - `analysis`, `roster`: the worker-data pages and API (admins and supervisors).
//! - `admin`: Settings and the audit trail (admins only).
//! - `diagnostics`: GPS, dock power, wearable batteries, storage and versions (technicians and
//!   admins).
//! - `assets`: the script and stylesheet compiled into the binary.
//! - `security`: headers every response carries.
//! - `ROUTES` (here): every dock route, its method and who may use it, in one table.

pub mod access;
pub mod admin;
pub mod analysis;
mod api;
mod assets;
mod auth;
pub mod diagnostics;
mod pages;
pub mod roster;
mod security;
#[cfg(test)]
mod testing;
mod view;

use std::sync::Arc;

use axum::{
    Router,
    extract::FromRef,
    middleware,
    routing::{MethodFilter, MethodRouter, on},
};

pub use view::{DockSnapshot, DockView, Progress, SlotState, SlotView, WorkerFigures};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebOptions {
    /// Session cookies carry `Secure`: false only for the plain-HTTP demo on loopback.
    pub secure_cookies: bool,
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
///   roles that [`sees_diagnostics`](access::Role::sees_diagnostics) (technicians and admins).
///
/// Others get a 403 (a page, or JSON under `/api/`). Every request but the public routes needs a
/// session: pages redirect to `/login?next=…`, `/api/…` answers 401. State-changing requests need
/// the session's CSRF token (`X-CSRF-Token` or form field `csrf`); a request whose `Origin` is
/// another site is refused. Handlers behind the check find [`access::CurrentUser`] and
/// [`access::CsrfToken`] in the request extensions.
///
/// Passwords are checked through `accounts` (on a blocking thread); sign-ins, failed sign-ins and
/// sign-outs are recorded in `audit` with subject `session`, as are views of worker data and
/// every admin change. Anything else is a 404 page; other methods on known paths are a 405. Every
/// response carries the security headers.
///
/// For the client's address in sign-in throttling, serve with
/// `into_make_service_with_connect_info::<SocketAddr>()`; without it, throttling is per user
/// name only.
pub fn site(backends: Backends, options: WebOptions) -> Router {
    let auth = Arc::new(auth::Auth::new(
        Arc::clone(&backends.accounts),
        Arc::clone(&backends.audit),
        options.secure_cookies,
    ));
    assemble(backends, auth)
}

/// The site over `backends` with sign-in through `auth` (made from the same accounts and audit).
fn assemble(backends: Backends, auth: Arc<auth::Auth>) -> Router {
    let groups = Groups {
        worker_data: analysis::routes(backends.analysis, Arc::clone(&backends.audit))
            .merge(roster::routes(backends.roster, Arc::clone(&backends.audit))),
        admin: admin::routes(backends.admin, backends.audit, Arc::clone(&auth)),
        diagnostics: diagnostics::routes(backends.diagnostics),
    };
    build(backends.dock, auth, groups, Gate::SignIn)
}

/// The dock routes over `view` WITHOUT sign-in and without the guarded groups, for
/// the web UI's preview example only (`examples/preview.rs`). The daemon uses [`site`].
pub fn router(view: Arc<dyn DockView>) -> Router {
    let auth = auth::Auth::new(Arc::new(NoAccounts), Arc::new(NoAudit), false);
    let groups = Groups {
        worker_data: Router::new(),
        admin: Router::new(),
        diagnostics: Router::new(),
    };
    build(view, Arc::new(auth), groups, Gate::Open)
}

/// Whether the sign-in check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    SignIn,
    Open,
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

fn build(view: SharedView, auth: Arc<auth::Auth>, groups: Groups, gate: Gate) -> Router {
    let dock_routes = ROUTES.iter().fold(Router::new(), |router, route| {
        router.route(route.path, (route.handler)(route.verb.filter()))
    });
    // `route_layer` panics on a router without routes (the preview has none).
    let worker_data = if groups.worker_data.has_routes() {
        groups
            .worker_data
            .route_layer(middleware::from_fn(auth::require_worker_data))
    } else {
        groups.worker_data
    };
    let admin = if groups.admin.has_routes() {
        groups
            .admin
            .route_layer(middleware::from_fn(auth::require_admin))
    } else {
        groups.admin
    };
    let diagnostics = if groups.diagnostics.has_routes() {
        groups
            .diagnostics
            .route_layer(middleware::from_fn(auth::require_diagnostics))
    } else {
        groups.diagnostics
    };
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
        .fallback(pages::not_found);
    let router = match gate {
        // Around the fallbacks too: an unknown address does not tell a visitor it is unknown.
        Gate::SignIn => router.layer(middleware::from_fn_with_state(auth, auth::authenticate)),
        Gate::Open => router,
    };
    router.layer(middleware::from_fn(security::headers))
}

struct NoAccounts;

impl access::Accounts for NoAccounts {
    fn verify(&self, _username: &str, _password: &str) -> Option<access::CurrentUser> {
        None
    }
}

struct NoAudit;

impl access::AuditLog for NoAudit {
    fn record(&self, _user: &str, _action: &str, _subject: &str) {}
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
        let diagnostics = diagnostics_routes()
            .into_iter()
            .map(|(method, path)| (method, path, Group::Diagnostics));
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
        // The diagnostics group only reads: a page, its stylesheet and JSON.
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
                    Group::WorkerData => role.sees_worker_data(),
                    Group::Admin => role == Role::Admin,
                    Group::Diagnostics => role.sees_diagnostics(),
                };
                let response = request(client.clone(), method.clone(), &path).await;
                let status = response.status();
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
            .filter(|(_, path)| path != crate::diagnostics::STYLE_PATH)
            .count();
        assert_eq!(site.diagnostics.asked().len(), 2 * reads);
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

    #[tokio::test]
    async fn the_preview_router_serves_the_dock_but_no_worker_data_or_settings() {
        let response = crate::testing::send(
            router(FakeDock::new()),
            Request::get("/api/v1/status").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        for path in [
            "/overview",
            "/roster",
            "/settings",
            "/api/v1/audit",
            "/diagnostics",
            "/api/v1/diagnostics",
        ] {
            let response = crate::testing::send(
                router(FakeDock::new()),
                Request::get(path).body(Body::empty()).unwrap(),
            )
            .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }
}
