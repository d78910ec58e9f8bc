//! Sign-in, sessions, CSRF, `Origin`, roles and throttling, tested through the whole site with
//! in-process requests. Tests only; they must never need a network or a real clock.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{
        Method, Request, StatusCode,
        header::{CONTENT_TYPE, HOST, LOCATION, ORIGIN, RETRY_AFTER},
    },
};

use super::*;
use crate::testing::{
    Client, TestSite, body_json, body_text, form_login, get, json_login, request, session_cookie,
    set_cookie,
};

/// Signs in as `name` through the JSON API; returns the client and the response's body.
async fn sign_in(site: &TestSite, name: &str) -> (Client, serde_json::Value) {
    let password = format!("{name}-password");
    let response = site.send(json_login(name, &password)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie_response = response;
    let id = session_cookie(&cookie_response).unwrap();
    let body = body_json(cookie_response).await;
    let client = Client {
        router: site.router.clone(),
        session: Some(id),
        csrf: Some(body["csrf_token"].as_str().unwrap().to_owned()),
    };
    (client, body)
}

#[tokio::test]
async fn signing_in_with_json_gives_a_session_cookie_and_the_csrf_token() {
    let site = TestSite::new(false);
    let (client, body) = sign_in(&site, "sam").await;
    assert_eq!(body["user"], "sam");
    assert_eq!(body["role"], "supervisor");
    assert_eq!(body["csrf_token"].as_str().unwrap().len(), 64);

    let response = get(client.clone(), "/api/v1/session").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await, body);
    assert_eq!(get(client, "/api/v1/status").await.status(), StatusCode::OK);
    // The dock tiles show a supervisor who wears what: that is audited too.
    assert_eq!(
        site.audit.records(),
        [
            ["sam".to_owned(), "login".to_owned(), "session".to_owned()],
            ["sam".to_owned(), "view".to_owned(), "dock tiles".to_owned()]
        ]
    );
}

#[tokio::test]
async fn signing_in_with_the_form_goes_on_to_next_with_a_session_cookie() {
    let site = TestSite::new(false);
    let response = site
        .send(form_login(
            "username=tina&password=tina-password&next=%2Fapi%2Fv1%2Fstatus%3Fa%3D1",
        ))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/api/v1/status?a=1");
    let id = session_cookie(&response).unwrap();
    let client = Client {
        router: site.router.clone(),
        session: Some(id),
        csrf: None,
    };
    let html = body_text(get(client, "/").await).await;
    assert!(html.contains("Signed in as <strong>tina</strong>"));
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_recorded_without_the_password() {
    let site = TestSite::new(false);
    let response = site.send(json_login("sam", "guess-1")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&response).is_none());
    assert_eq!(
        body_json(response).await["error"],
        "wrong user name or password"
    );

    let response = site
        .send(form_login("username=nobody&password=guess-2"))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(session_cookie(&response).is_none());
    let html = body_text(response).await;
    assert!(html.contains("That user name and password do not match."));
    assert!(html.contains("value=\"nobody\""));
    assert!(!html.contains("guess-2"));

    // One line per address and minute: the second refusal waits for the next line.
    let records = site.audit.records();
    assert_eq!(
        records,
        [[
            "sam".to_owned(),
            "login failed".to_owned(),
            "session".to_owned()
        ]]
    );
    assert!(!format!("{records:?}").contains("guess"));
}

/// `request` as if sent from 192.168.7.`last`.
fn from(mut request: Request<Body>, last: u8) -> Request<Body> {
    let address = SocketAddr::from((Ipv4Addr::new(192, 168, 7, last), 50_000));
    request.extensions_mut().insert(ConnectInfo(address));
    request
}

#[tokio::test(start_paused = true)]
async fn refused_sign_ins_are_one_audit_line_per_address_a_minute_and_never_name_a_non_user() {
    let site = TestSite::new(false);
    // Often a password typed into the name field: never recorded.
    let response = site
        .send(from(json_login("hunter2-oops", "whatever"), 1))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    for n in 0..30 {
        let name = if n % 2 == 0 { "sam" } else { "nobody" };
        let _ = site.send(from(json_login(name, "guess"), 1)).await;
        tokio::time::advance(Duration::from_millis(100)).await;
    }
    let _ = site.send(from(json_login("ada", "guess"), 2)).await;
    tokio::time::advance(refusals::WINDOW).await;
    let _ = site.send(from(json_login("sam", "guess"), 1)).await;
    let records = site.audit.records();
    let line = |user: &str, action: &str, subject: &str| {
        [user.to_owned(), action.to_owned(), subject.to_owned()]
    };
    assert_eq!(
        records[..2],
        [
            line("unknown user", "login failed", "session"),
            line("ada", "login failed", "session"),
        ]
    );
    // Failed or throttled by now (sam's own count), but one line, carrying the minute before.
    assert_eq!(records.len(), 3, "{records:?}");
    assert_eq!(records[2][0], "sam");
    assert_eq!(
        records[2][2],
        "session (and 30 more refused in the minute before)"
    );
    assert!(!format!("{records:?}").contains("hunter2"));
}

#[tokio::test]
async fn a_changed_disabled_or_removed_user_is_signed_out_on_their_next_request() {
    let site = TestSite::new(false);
    let (sam, _) = sign_in(&site, "sam").await;
    let (ada, _) = sign_in(&site, "ada").await;
    let (tina, _) = sign_in(&site, "tina").await;
    for client in [&sam, &ada, &tina] {
        assert_eq!(
            get(client.clone(), "/api/v1/session").await.status(),
            StatusCode::OK
        );
    }
    // Demoted (e.g. by `dockd user add` in another process): a new generation.
    site.accounts
        .change("sam", |standing| standing.role = Role::Technician);
    site.accounts
        .change("ada", |standing| standing.disabled = true);
    site.accounts.remove("tina");
    for client in [sam, ada, tina] {
        let response = get(client.clone(), "/api/v1/session").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        // Gone for good, not only refused this once.
        assert_eq!(
            get(client, "/overview").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    // A new sign-in gets the new role.
    let (_, body) = sign_in(&site, "sam").await;
    assert_eq!(body["role"], "technician");
}

#[tokio::test]
async fn the_json_sign_in_takes_only_json() {
    let site = TestSite::new(false);
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(CONTENT_TYPE, "text/plain")
        .body(Body::from(
            r#"{"username":"sam","password":"sam-password"}"#,
        ))
        .unwrap();
    let response = site.send(request).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(site.accounts.checks(), 0);
}

#[tokio::test]
async fn the_cookie_is_http_only_same_site_strict_for_the_whole_site_and_secure_when_configured() {
    for (secure, expected_secure) in [(true, true), (false, false)] {
        let site = TestSite::new(secure);
        let response = site.send(json_login("sam", "sam-password")).await;
        let cookie = set_cookie(&response).unwrap();
        let attributes: Vec<&str> = cookie.split("; ").collect();
        assert!(attributes[0].starts_with("dockd_session="), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(
                attributes.contains(&attribute),
                "{cookie} lacks {attribute}"
            );
        }
        assert_eq!(attributes.contains(&"Secure"), expected_secure, "{cookie}");
        assert!(!cookie.contains("Domain"), "{cookie}");
    }
}

#[tokio::test]
async fn signing_in_again_gives_a_new_session_id_and_ends_the_old_one() {
    let site = TestSite::new(false);
    let (first, _) = sign_in(&site, "sam").await;
    // Signing in while presenting the old cookie (or one planted by someone else).
    let mut login = json_login("sam", "sam-password");
    login.headers_mut().insert(
        axum::http::header::COOKIE,
        format!("dockd_session={}", first.session.as_deref().unwrap())
            .try_into()
            .unwrap(),
    );
    let response = site.send(login).await;
    let second = session_cookie(&response).unwrap();
    assert_ne!(Some(second.as_str()), first.session.as_deref());
    assert_eq!(
        get(first, "/api/v1/status").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// Every state-changing route of the site: the dock's table and each guarded group's.
fn every_post() -> Vec<String> {
    let dock = crate::ROUTES
        .iter()
        .filter(|route| route.verb == crate::Verb::Post && route.access == crate::Access::SignedIn)
        .map(|route| route.path.to_owned());
    let groups = crate::testing::worker_data_routes()
        .into_iter()
        .chain(crate::testing::admin_routes())
        .filter(|(method, _)| *method == Method::POST)
        .map(|(_, path)| path);
    dock.chain(groups).collect()
}

#[tokio::test]
async fn a_write_without_or_with_a_forged_csrf_token_is_refused_and_the_right_one_passes() {
    let site = TestSite::new(false);
    let (client, _) = sign_in(&site, "ada").await;
    let posts = every_post();
    assert!(posts.contains(&"/api/v1/logout".to_owned()));
    assert!(posts.contains(&"/api/v1/users".to_owned()));
    assert!(posts.iter().any(|path| path.starts_with("/api/v1/roster")));
    for path in &posts {
        for content_type in ["application/json", "application/x-www-form-urlencoded"] {
            let body = if content_type == "application/json" {
                r#"{"role": "admin"}"#
            } else {
                "role=admin"
            };
            let missing = client
                .send(
                    client
                        .builder(Method::POST, path)
                        .header(CONTENT_TYPE, content_type)
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await;
            assert_eq!(missing.status(), StatusCode::FORBIDDEN, "{path}");
            let forged = client
                .send(
                    client
                        .builder(Method::POST, path)
                        .header(CONTENT_TYPE, content_type)
                        .header("x-csrf-token", "0".repeat(64))
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await;
            assert_eq!(forged.status(), StatusCode::FORBIDDEN, "{path}");
            let forged_field = client
                .send(
                    client
                        .builder(Method::POST, path)
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(Body::from(format!("{body}&csrf={}", "0".repeat(64))))
                        .unwrap(),
                )
                .await;
            assert_eq!(forged_field.status(), StatusCode::FORBIDDEN, "{path}");
        }
    }
    // Nothing refused reached the daemon, and the session is still alive.
    assert!(site.admin.changes().is_empty());
    assert_eq!(
        get(client.clone(), "/api/v1/session").await.status(),
        StatusCode::OK
    );
    // The API answers in JSON, pages in words.
    let refused = client
        .send(
            client
                .builder(Method::POST, "/api/v1/settings/site")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        body_json(refused).await["error"],
        "missing or wrong CSRF token"
    );

    // Another session's token is no good either.
    let (other, _) = sign_in(&site, "sam").await;
    let site_settings =
        r#"{"time_zone": "Europe/Vienna", "min_group_workers": 6, "goal_alerts_per_day": 8}"#;
    let borrowed = client
        .send(
            client
                .builder(Method::POST, "/api/v1/settings/site")
                .header(CONTENT_TYPE, "application/json")
                .header("x-csrf-token", other.csrf())
                .body(Body::from(site_settings))
                .unwrap(),
        )
        .await;
    assert_eq!(borrowed.status(), StatusCode::FORBIDDEN);

    let response = client
        .send(
            client
                .builder(Method::POST, "/api/v1/settings/site")
                .header(CONTENT_TYPE, "application/json")
                .header("x-csrf-token", client.csrf())
                .body(Body::from(site_settings))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body_json(response).await["done"], "change site settings");
    assert_eq!(site.admin.changes(), ["change site settings"]);
}

#[tokio::test]
async fn signing_out_with_the_forms_csrf_field_ends_the_session() {
    let site = TestSite::new(false);
    let (client, _) = sign_in(&site, "sam").await;
    let html = body_text(get(client.clone(), "/").await).await;
    let field = format!("name=\"csrf\" value=\"{}\"", client.csrf());
    assert!(html.contains(&field), "the sign-out form lacks the token");
    let meta = format!("<meta name=\"csrf-token\" content=\"{}\">", client.csrf());
    assert!(html.contains(&meta), "the shell lacks the token");
    assert!(
        html.contains("Signed in as <strong>sam</strong> <span class=\"role\">Supervisor</span>")
    );
    assert!(html.contains("<button type=\"submit\">Sign out</button>"));

    let logout = client
        .builder(Method::POST, "/logout")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("csrf={}", client.csrf())))
        .unwrap();
    let response = client.send(logout).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/login");
    assert!(set_cookie(&response).unwrap().contains("Max-Age=0"));
    assert_eq!(
        get(client, "/api/v1/session").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        site.audit.records().last().unwrap(),
        &["sam".to_owned(), "logout".to_owned(), "session".to_owned()]
    );
}

#[tokio::test]
async fn the_event_stream_refuses_a_foreign_origin_and_serves_its_own() {
    let site = TestSite::new(false);
    let (client, _) = sign_in(&site, "tina").await;
    let events = |origin: &str| {
        client
            .builder(Method::GET, "/api/v1/events")
            .header(HOST, "dock.local:8080")
            .header(ORIGIN, origin)
            .body(Body::empty())
            .unwrap()
    };
    for foreign in ["http://evil.example", "http://dock.local:9999", "null"] {
        let response = client.send(events(foreign)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{foreign}");
    }
    let response = client.send(events("http://dock.local:8080")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    // And without a session, even our own origin gets nothing.
    let anonymous = Request::builder()
        .uri("/api/v1/events")
        .header(HOST, "dock.local:8080")
        .header(ORIGIN, "http://dock.local:8080")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        site.send(anonymous).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_sign_in_from_another_origin_is_refused_before_the_password_is_checked() {
    let site = TestSite::new(false);
    for mut login in [
        json_login("sam", "sam-password"),
        form_login("username=sam&password=sam-password"),
    ] {
        let headers = login.headers_mut();
        headers.insert(HOST, "dock.local".try_into().unwrap());
        headers.insert(ORIGIN, "http://evil.example".try_into().unwrap());
        let response = site.send(login).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(session_cookie(&response).is_none());
    }
    assert_eq!(site.accounts.checks(), 0);

    let mut login = form_login("username=sam&password=sam-password");
    login
        .headers_mut()
        .insert(HOST, "dock.local".try_into().unwrap());
    login
        .headers_mut()
        .insert(ORIGIN, "https://dock.local".try_into().unwrap());
    assert_eq!(site.send(login).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_technician_gets_403_on_worker_routes_and_a_supervisor_or_admin_gets_them() {
    let site = TestSite::new(false);
    let technician = site.signed_in("tina", crate::access::Role::Technician);
    for (method, path) in crate::testing::worker_data_routes() {
        let response = request(technician.clone(), method.clone(), &path).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let text = body_text(response).await;
        if path.starts_with("/api/") {
            assert!(text.contains("your role cannot see worker data"), "{path}");
        } else {
            assert!(
                text.contains("only supervisors and admins can see"),
                "{path}"
            );
        }
        if method != Method::GET {
            continue;
        }
        for role in [crate::access::Role::Supervisor, crate::access::Role::Admin] {
            let allowed = site.signed_in("sam", role);
            let response = request(allowed, method.clone(), &path).await;
            // A worker's export is for admins only (its handler checks the role).
            let expected = if role == crate::access::Role::Supervisor
                && crate::roster::admin_only(&method, &path)
            {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            };
            assert_eq!(response.status(), expected, "{role:?} {method} {path}");
        }
    }
    // The dock itself is for everyone signed in.
    assert_eq!(get(technician, "/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn only_an_admin_gets_the_admin_routes() {
    let site = TestSite::new(false);
    for (name, role) in [
        ("tina", crate::access::Role::Technician),
        ("sam", crate::access::Role::Supervisor),
    ] {
        let client = site.signed_in(name, role);
        for (method, path) in crate::testing::admin_routes() {
            let response = request(client.clone(), method.clone(), &path).await;
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "{role:?} {method} {path}"
            );
            let text = body_text(response).await;
            if path.starts_with("/api/") {
                assert!(text.contains("only admins can use this"), "{path}");
            } else {
                assert!(text.contains("only for admins"), "{path}");
            }
        }
    }
    let admin = site.signed_in("ada", crate::access::Role::Admin);
    for path in ["/settings", "/audit", "/api/v1/settings", "/api/v1/audit"] {
        assert_eq!(
            get(admin.clone(), path).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    assert!(site.admin.changes().is_empty());
}

#[tokio::test]
async fn signing_out_through_the_api_ends_the_session_and_clears_the_cookie() {
    let site = TestSite::new(false);
    let (client, _) = sign_in(&site, "sam").await;
    let response = request(client.clone(), Method::POST, "/api/v1/logout").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(set_cookie(&response).unwrap().contains("Max-Age=0"));
    assert!(body_text(response).await.is_empty());
    assert_eq!(
        get(client.clone(), "/api/v1/session").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        site.audit.records().last().unwrap(),
        &["sam".to_owned(), "logout".to_owned(), "session".to_owned()]
    );
    // Without a session it is a 401, not a sign-out of someone else.
    let response = request(client, Method::POST, "/api/v1/logout").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn after_five_wrong_passwords_sign_in_waits_then_the_right_password_works() {
    let site = TestSite::new(false);
    for n in 0..5 {
        let response = site.send(json_login("ada", &format!("guess-{n}"))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "guess {n}");
    }
    // Throttled: even the right password waits, and the password is not checked at all.
    let checks = site.accounts.checks();
    let response = site.send(json_login("ada", "ada-password")).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert_eq!(site.accounts.checks(), checks);
    // The form says so in words.
    let response = site
        .send(form_login("username=ada&password=ada-password"))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[RETRY_AFTER], "1");
    assert!(body_text(response).await.contains("Wait 1 second"));

    // A sixth wrong guess after the wait doubles it.
    tokio::time::advance(Duration::from_secs(1)).await;
    let response = site.send(json_login("ada", "guess-5")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = site.send(json_login("ada", "ada-password")).await;
    assert_eq!(response.headers()[RETRY_AFTER], "2");

    // No lock for good: after the wait the right password gets in, and the count starts again.
    tokio::time::advance(Duration::from_secs(2)).await;
    let response = site.send(json_login("ada", "ada-password")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(session_cookie(&response).is_some());
    for n in 0..4 {
        let response = site.send(json_login("ada", &format!("again-{n}"))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test(start_paused = true)]
async fn one_address_guessing_many_names_is_throttled_by_its_address() {
    let site = TestSite::new(false);
    for n in 0..throttle::FREE_ATTEMPTS_PER_ADDRESS {
        let response = site
            .send(from(json_login(&format!("name{n}"), "guess"), 9))
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let response = site.send(from(json_login("sam", "sam-password"), 9)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address is not held up.
    let response = site.send(from(json_login("sam", "sam-password"), 10)).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_session_idle_for_the_timeout_is_signed_out_but_use_keeps_it() {
    let site = TestSite::new(false);
    let (busy, _) = sign_in(&site, "sam").await;
    let (idle, _) = sign_in(&site, "ada").await;
    let almost = session::IDLE_TIMEOUT - Duration::from_secs(60);
    tokio::time::advance(almost).await;
    assert_eq!(get(busy.clone(), "/").await.status(), StatusCode::OK);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(get(busy.clone(), "/").await.status(), StatusCode::OK);
    let response = get(idle.clone(), "/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/login");
    // The dead cookie is removed.
    assert!(set_cookie(&response).unwrap().contains("Max-Age=0"));
    assert_eq!(
        get(idle, "/api/v1/status").await.status(),
        StatusCode::UNAUTHORIZED
    );
    // However busy, a session ends at its absolute lifetime (signed in 8 h ago now).
    for step in [7 * 60, 7 * 60, 60 + 59] {
        tokio::time::advance(Duration::from_secs(step * 60)).await;
        assert_eq!(get(busy.clone(), "/").await.status(), StatusCode::OK);
    }
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(get(busy, "/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_sign_in_page_keeps_next_and_a_signed_in_visitor_goes_straight_on() {
    let site = TestSite::new(false);
    let page = |cookie: Option<&str>, query: &str| {
        let mut builder = Request::builder().uri(format!("/login{query}"));
        if let Some(id) = cookie {
            builder = builder.header("cookie", format!("dockd_session={id}"));
        }
        builder.body(Body::empty()).unwrap()
    };
    let response = site.send(page(None, "?next=%2Fworkers%2F7")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert!(html.contains("name=\"next\" value=\"/workers/7\""));
    assert!(html.contains("<link rel=\"stylesheet\" href=\"/assets/style.css\">"));
    assert!(!html.contains("<script"));

    let (client, _) = sign_in(&site, "sam").await;
    let id = client.session.as_deref();
    let response = site.send(page(id, "?next=%2Fworkers%2F7")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/workers/7");
    let response = site
        .send(page(id, "?next=https%3A%2F%2Fevil.example"))
        .await;
    assert_eq!(response.headers()[LOCATION], "/");
}

#[tokio::test]
async fn a_foreign_next_is_never_followed_after_sign_in() {
    let site = TestSite::new(false);
    for next in [
        "https%3A%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "javascript%3Aalert(1)",
        "%2F%09%2Fevil.example",
    ] {
        let response = site
            .send(form_login(&format!(
                "username=sam&password=sam-password&next={next}"
            )))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(response.headers()[LOCATION], "/", "{next}");
    }
}

#[test]
fn safe_next_takes_only_paths_on_this_site() {
    for good in ["/", "/workers/7?week=2024-W09", "/a#b"] {
        assert_eq!(safe_next(good), Some(good));
    }
    for bad in [
        "",
        "workers",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/\n/evil",
        &format!("/{}", "a".repeat(MAX_NEXT)),
    ] {
        assert_eq!(safe_next(bad), None, "{bad:?}");
    }
    assert_eq!(login_location(Some("/")), "/login");
    assert_eq!(
        login_location(Some("/workers/7?a=1&b=2")),
        "/login?next=%2Fworkers%2F7%3Fa%3D1%26b%3D2"
    );
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    assert_eq!(retry_after_secs(Duration::from_secs(60)), 60);
    assert_eq!(retry_after_secs(Duration::ZERO), 1);
}

#[tokio::test]
async fn the_audit_layer_alone_records_each_worker_and_roster_view_and_nothing_not_found() {
    let site = TestSite::new(false);
    let sam = site.signed_in("sam", Role::Supervisor);
    for (path, status) in [
        ("/workers/12", StatusCode::OK),
        (
            "/api/v1/analysis/workers/12?shift=1740981600000",
            StatusCode::OK,
        ),
        ("/roster", StatusCode::OK),
        ("/api/v1/roster", StatusCode::OK),
        ("/workers/999", StatusCode::NOT_FOUND),
        ("/workers/012", StatusCode::NOT_FOUND),
        ("/workers/12?shift=noon", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(get(sam.clone(), path).await.status(), status, "{path}");
    }
    let view = |subject: &str| ["sam".to_owned(), "view".to_owned(), subject.to_owned()];
    assert_eq!(
        site.audit.records(),
        [
            view("worker 12"),
            view("worker 12"),
            view("roster"),
            view("roster")
        ]
    );
}
