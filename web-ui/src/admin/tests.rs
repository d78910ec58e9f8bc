//! The admin pages and API through the whole site over the fakes: changes as JSON and as form
//! posts, the rules the page enforces before the daemon, sessions ended after account changes,
//! the audit trail, escaping, and that a password goes nowhere. Tests only.

use axum::{
    body::Body,
    http::{
        Method, StatusCode,
        header::{CONTENT_TYPE, LOCATION},
    },
    response::Response,
};

use super::input;
use crate::{
    access::Role,
    testing::{Client, TestSite, body_json, body_text, get},
};

const SECRET: &str = "correct-horse-battery-staple-42";

async fn post_json(client: &Client, path: &str, body: &str) -> Response {
    let request = client
        .builder(Method::POST, path)
        .header(CONTENT_TYPE, "application/json")
        .header("x-csrf-token", client.csrf())
        .body(Body::from(body.to_owned()))
        .unwrap();
    client.send(request).await
}

/// A form post as the Settings page sends it: `fields` url-encoded, plus the `csrf` field.
async fn post_form(client: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(fields);
    form.append_pair("csrf", client.csrf());
    let request = client
        .builder(Method::POST, path)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.finish()))
        .unwrap();
    client.send(request).await
}

fn location(response: &Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The confirmation the Settings page shows `client` after a 303 back to it (the address
/// carries no words), or `None` when it shows none.
async fn confirmation(client: &Client, response: &Response) -> Option<String> {
    assert_eq!(location(response), "/settings", "no words in the address");
    let html = body_text(get(client.clone(), "/settings").await).await;
    let (_, rest) = html.split_once("data-kind=\"done\"><p><strong>Saved:</strong> ")?;
    rest.split_once("</p>").map(|(text, _)| text.to_owned())
}

fn admin(site: &TestSite) -> Client {
    site.signed_in("ada", Role::Admin)
}

#[tokio::test]
async fn an_admin_adds_a_user_with_json_and_the_change_is_audited_without_the_password() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let body = format!(
        r#"{{"name": "noah", "role": "supervisor", "password": "{SECRET}", "password_again": "{SECRET}"}}"#
    );
    let response = post_json(&ada, "/api/v1/users", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(response).await,
        serde_json::json!({ "done": "add user noah as supervisor" })
    );
    assert_eq!(site.admin.user("noah").unwrap().role, Role::Supervisor);
    assert_eq!(
        site.audit.records(),
        [[
            "ada".to_owned(),
            "change".to_owned(),
            "add user noah as supervisor".to_owned()
        ]]
    );
}

#[tokio::test]
async fn a_password_never_appears_in_a_response_an_audit_line_or_debug_output() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let mut texts = Vec::new();
    let keep = |response: Response| async move {
        let headers = format!("{:?}", response.headers());
        let body = body_text(response).await;
        format!("{headers}\n{body}")
    };
    // Accepted, refused by the page, refused by the daemon; JSON and forms.
    let add = format!(r#"{{"name": "noah", "role": "technician", "password": "{SECRET}"}}"#);
    texts.push(keep(post_json(&ada, "/api/v1/users", &add).await).await);
    texts.push(keep(post_json(&ada, "/api/v1/users", &add).await).await);
    let mismatch = format!(
        r#"{{"name": "olga", "role": "technician", "password": "{SECRET}", "password_again": "{SECRET}x"}}"#
    );
    texts.push(keep(post_json(&ada, "/api/v1/users", &mismatch).await).await);
    let broken = format!(r#"{{"name": "olga", "password": "{SECRET}""#);
    texts.push(keep(post_json(&ada, "/api/v1/users", &broken).await).await);
    let unknown_field = format!(r#"{{"password": "{SECRET}", "{SECRET}": 1}}"#);
    texts.push(keep(post_json(&ada, "/api/v1/users/noah", &unknown_field).await).await);
    let set = format!(r#"{{"password": "{SECRET}"}}"#);
    texts.push(keep(post_json(&ada, "/api/v1/users/noah", &set).await).await);
    texts.push(keep(post_json(&ada, "/api/v1/users/nobody", &set).await).await);
    for fields in [
        vec![
            ("name", "petra"),
            ("role", "supervisor"),
            ("password", SECRET),
            ("password_again", SECRET),
        ],
        vec![
            ("name", "quinn"),
            ("role", "supervisor"),
            ("password", SECRET),
            ("password_again", "something else entirely"),
        ],
        vec![
            ("name", "no spaces allowed"),
            ("role", "supervisor"),
            ("password", SECRET),
            ("password_again", SECRET),
        ],
    ] {
        texts.push(keep(post_form(&ada, "/api/v1/users", &fields).await).await);
    }
    let fields = [("password", SECRET), ("password_again", SECRET)];
    texts.push(keep(post_form(&ada, "/api/v1/users/petra", &fields).await).await);
    for path in ["/settings", "/api/v1/settings", "/audit", "/api/v1/audit"] {
        texts.push(keep(get(ada.clone(), path).await).await);
    }

    assert!(site.admin.user("noah").is_some() && site.admin.user("petra").is_some());
    assert!(site.admin.user("quinn").is_none());
    for text in &texts {
        assert!(
            !text.contains(SECRET),
            "a response carried the password: {text}"
        );
    }
    for record in site.audit.records() {
        assert!(!record.concat().contains(SECRET), "{record:?}");
    }
    let changes = site.admin.changes();
    assert_eq!(changes.len(), 6, "{changes:?}");
    for change in &changes {
        assert!(!change.contains(SECRET), "{change}");
    }
    let change = super::AdminChange::SetPassword {
        name: "noah".to_owned(),
        password: SECRET.to_owned(),
    };
    assert!(!format!("{change:?} {change}").contains(SECRET));
    let form = input::Form::parse(format!("password={SECRET}").as_bytes());
    assert!(!format!("{form:?}").contains(SECRET));
}

#[tokio::test]
async fn disabling_a_user_ends_their_open_session_and_sends_them_to_sign_in() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let sam = site.signed_in("sam", Role::Supervisor);
    let sam_elsewhere = site.signed_in("sam", Role::Supervisor);
    let tina = site.signed_in("tina", Role::Technician);
    assert_eq!(get(sam.clone(), "/overview").await.status(), StatusCode::OK);

    let response = post_form(&ada, "/api/v1/users/sam", &[("disabled", "true")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        confirmation(&ada, &response).await.as_deref(),
        Some("disable user sam")
    );

    for client in [sam, sam_elsewhere] {
        let response = get(client.clone(), "/overview").await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/login?next=%2Foverview");
        assert_eq!(
            get(client, "/api/v1/status").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    // Nobody else was signed out.
    assert_eq!(get(tina, "/").await.status(), StatusCode::OK);
    assert_eq!(get(ada, "/settings").await.status(), StatusCode::OK);
    assert!(site.admin.user("sam").unwrap().disabled);
}

#[tokio::test]
async fn a_new_role_or_password_or_removal_ends_the_users_sessions_too() {
    for (path, body) in [
        ("/api/v1/users/sam", r#"{"role": "technician"}"#.to_owned()),
        (
            "/api/v1/users/sam",
            format!(r#"{{"password": "{SECRET}"}}"#),
        ),
        ("/api/v1/users/sam/remove", String::new()),
    ] {
        let site = TestSite::new(false);
        let ada = admin(&site);
        let sam = site.signed_in("sam", Role::Supervisor);
        let response = post_json(&ada, path, &body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path} {body}");
        assert_eq!(
            get(sam, "/api/v1/session").await.status(),
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_failed_change_ends_no_session() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let sam = site.signed_in("sam", Role::Supervisor);
    let response = post_json(&ada, "/api/v1/users/sam", r#"{"role": "boss"}"#).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(get(sam, "/api/v1/session").await.status(), StatusCode::OK);
    assert!(site.audit.records().is_empty());
}

#[tokio::test]
async fn an_admin_cannot_disable_or_remove_themself() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let response = post_json(&ada, "/api/v1/users/ada", r#"{"disabled": true}"#).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        body_json(response).await["error"]
            .as_str()
            .unwrap()
            .contains("cannot disable your own account")
    );
    let response = post_json(&ada, "/api/v1/users/ada/remove", "{}").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = post_form(&ada, "/api/v1/users/ada/remove", &[("confirm", "yes")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        body_text(response)
            .await
            .contains("cannot remove your own account")
    );
    // The daemon was never asked, the account is untouched, and the session lives on.
    assert!(site.admin.changes().is_empty());
    assert!(!site.admin.user("ada").unwrap().disabled);
    assert_eq!(get(ada, "/settings").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_daemons_refusal_is_shown_in_its_own_words() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    // The fake daemon refuses to demote the only enabled admin.
    let response = post_json(&ada, "/api/v1/users/ada", r#"{"role": "supervisor"}"#).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        body_json(response).await["error"],
        "the dock needs at least one enabled admin"
    );
    // A form gets the Settings page back with the refusal on top; no address carries it.
    let response = post_form(&ada, "/api/v1/settings/tasks/Lifting/remove", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(body_text(response).await.contains(
        "data-kind=\"problem\"><p><strong>Not changed:</strong> there is no such task</p>"
    ));
    assert!(site.audit.records().is_empty());
}

#[tokio::test]
async fn form_posts_go_back_to_settings_with_the_outcome_shown_in_a_status_box() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let response = post_form(
        &ada,
        "/api/v1/settings/tasks",
        &[
            ("name", "Loading"),
            ("load_kg", "18,5"),
            ("lever_arm_m", ""),
            ("windows", "06:00-10:00, 22:00-06:00"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings");
    let task = site
        .admin
        .settings_now()
        .tasks
        .into_iter()
        .find(|t| t.name == "Loading")
        .unwrap();
    assert_eq!(task.load_kg, Some(18.5));
    assert_eq!(task.lever_arm_m, None);
    assert_eq!(task.windows, ["06:00-10:00", "22:00-06:00"]);

    let html = body_text(get(ada.clone(), &location(&response)).await).await;
    assert!(html.contains(
        "<div class=\"notice\" role=\"status\" data-kind=\"done\"><p><strong>Saved:</strong> save task Loading</p></div>"
    ));
    // Shown once: the view after that has no confirmation.
    let html = body_text(get(ada.clone(), "/settings").await).await;
    assert!(!html.contains("save task Loading"), "shown twice");
    assert!(!html.contains("data-kind=\"done\""), "shown twice");

    let response = post_form(
        &ada,
        "/api/v1/settings/thresholds",
        &[
            ("bend_alert_deg", "95"),
            ("bend_hold_ms", "1000"),
            ("twist_alert_dps", "60"),
            ("rate_hz", "25"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = body_text(response).await;
    assert!(html.contains("data-kind=\"problem\"><p><strong>Not changed:</strong> The bend alert angle (°) must be a number from 10 to 90.</p>"));
    assert!(html.contains("<form class=\"logout\""));
}

#[tokio::test]
async fn a_crafted_confirmation_in_the_address_shows_none_of_its_words() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    for query in [
        "done=%3Cscript%3EBuy%20now",
        "done=Buy+now+at+evil.example&other=1",
    ] {
        let response = get(ada.clone(), &format!("/settings?{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let html = body_text(response).await;
        for words in ["<script", "&lt;script", "Buy", "evil", "Saved:"] {
            assert!(!html.contains(words), "{query}: {words}");
        }
        assert!(!html.contains("data-kind=\"done\""), "{query}");
    }
}

#[tokio::test]
async fn after_a_form_the_next_view_shows_the_confirmation_once_and_only_to_its_session() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let ada_elsewhere = admin(&site);
    let response = post_form(
        &ada,
        "/api/v1/settings/tasks",
        &[("name", "Picking"), ("load_kg", "4"), ("windows", "")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let elsewhere = body_text(get(ada_elsewhere, "/settings").await).await;
    assert!(
        !elsewhere.contains("data-kind=\"done\""),
        "another session's notice"
    );
    assert_eq!(
        confirmation(&ada, &response).await.as_deref(),
        Some("save task Picking")
    );
    assert_eq!(confirmation(&ada, &response).await, None);
}

#[tokio::test]
async fn a_problem_in_the_address_never_puts_its_senders_words_on_the_page() {
    let site = TestSite::new(false);
    for query in [
        "problem=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "problem=Call+IT+on+555-0100",
    ] {
        let html = body_text(get(admin(&site), &format!("/settings?{query}")).await).await;
        for words in ["alert(1)", "script&gt;", "555-0100"] {
            assert!(!html.contains(words), "{query}: {words}");
        }
        assert!(html.contains("The last change was not made."), "{query}");
    }
    let html = body_text(get(admin(&site), "/settings?problem=unavailable").await).await;
    assert!(html.contains("The dock could not save this just now."));
}

#[tokio::test]
async fn hostile_user_task_serial_and_audit_texts_are_escaped_on_the_pages() {
    let site = TestSite::new(false);
    let hostile = "<img src=x onerror=alert(1)>\"'&";
    site.admin.update(|settings| {
        settings.users[1].name = hostile.to_owned();
        settings.tasks[0].name = hostile.to_owned();
        settings.tasks[0].windows = vec![hostile.to_owned()];
        settings.site.time_zone = hostile.to_owned();
        settings.wearables[0].serial = hostile.to_owned();
        settings.wearables[1].problem = Some(hostile.to_owned());
    });
    site.admin.add_line(hostile, hostile, hostile);
    let ada = admin(&site);
    let escaped = "&lt;img src=x onerror=alert(1)&gt;&quot;&#39;&amp;";
    for path in ["/settings", "/audit"] {
        let html = body_text(get(ada.clone(), path).await).await;
        assert!(!html.contains("<img"), "{path}");
        assert!(!html.contains("\"'&"), "{path}");
        assert!(html.contains(escaped), "{path}");
    }
    let html = body_text(get(ada, "/settings").await).await;
    // Names in form addresses are percent-encoded path segments.
    assert!(html.contains(
        "action=\"/api/v1/users/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%27%26\""
    ));
    assert!(html.contains(
        "action=\"/api/v1/settings/tasks/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%27%26/remove\""
    ));
}

#[tokio::test]
async fn the_settings_page_has_every_section_and_form_with_the_csrf_field() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let response = get(ada.clone(), "/settings").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = body_text(response).await;
    for needle in [
        "<h2 id=\"users-title\">Users</h2>",
        "<h2 id=\"site-title\">Site</h2>",
        "<h2 id=\"tasks-title\">Tasks</h2>",
        "<h2 id=\"thresholds-title\">Wearable alert thresholds</h2>",
        "<datalist id=\"zones\">",
        "value=\"Europe/Berlin\"",
        "Firmware default: 45°.",
        "Firmware default: 1000 ms.",
        "Firmware default: 60 °/s.",
        "Firmware default: on.",
        "Firmware default: 25 Hz.",
        "pushed to each wearable at its next docking, or within a minute while it sits in the dock, and confirmed by reading them back",
        "Confirmed at <time datetime=\"2024-02-29T13:05:09Z\">",
        "Failed: it answered with other values",
        "I understand",
        "<a href=\"/settings\" aria-current=\"page\">Settings</a>",
        "<span class=\"hint\">(you)</span>",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    let forms = html.matches("<form").count();
    let fields = html
        .matches(&format!("name=\"csrf\" value=\"{}\"", ada.csrf()))
        .count();
    assert!(forms > 10);
    assert_eq!(forms, fields, "every form carries the token");
    assert!(!html.contains("<script"));
    assert!(!html.contains("style="));
    // No disable or remove form for one's own account.
    assert!(!html.contains("action=\"/api/v1/users/ada/remove\""));
    assert!(html.contains("action=\"/api/v1/users/sam/remove\""));
}

#[tokio::test]
async fn a_pending_wearable_waits_for_its_next_docking_after_new_thresholds() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let body = r#"{"bend_alert_deg": 50, "bend_hold_ms": 1500, "twist_alert_dps": 75.5, "haptics": false, "rate_hz": 50}"#;
    let response = post_json(&ada, "/api/v1/settings/thresholds", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(get(ada, "/settings").await).await;
    assert_eq!(html.matches("Waiting for its next docking").count(), 2);
    assert!(html.contains("name=\"twist_alert_dps\" required min=\"10\" max=\"300\" step=\"0.1\" inputmode=\"decimal\" value=\"75.5\""));
    assert!(
        !html.contains("id=\"haptics\" type=\"checkbox\" name=\"haptics\" value=\"on\" checked")
    );
}

#[tokio::test]
async fn other_content_types_get_415_and_big_bodies_413() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let request = ada
        .builder(Method::POST, "/api/v1/settings/site")
        .header(CONTENT_TYPE, "text/plain")
        .header("x-csrf-token", ada.csrf())
        .body(Body::from("time_zone=UTC"))
        .unwrap();
    let response = ada.send(request).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(body_json(response).await["error"].is_string());

    let big = format!(r#"{{"time_zone": "{}"}}"#, "a".repeat(17 * 1024));
    let response = post_json(&ada, "/api/v1/settings/site", &big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = post_form(&ada, "/api/v1/settings/site", &[("time_zone", &big)]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(site.admin.changes().is_empty());
}

#[tokio::test]
async fn the_audit_trail_pages_newest_first_and_viewing_it_is_recorded() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let response = get(ada.clone(), "/audit").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = body_text(response).await;
    assert_eq!(html.matches("<tr><td>").count(), 100);
    let newest = html.find(">worker 250<").unwrap();
    let older = html.find(">worker 249<").unwrap();
    assert!(newest < older);
    assert!(!html.contains(">worker 150<"));
    assert!(html.contains("<a href=\"/audit?before=151\" rel=\"next\">Older</a>"));

    let html = body_text(get(ada.clone(), "/audit?before=51").await).await;
    assert_eq!(html.matches("<tr><td>").count(), 50);
    assert!(html.contains("<a href=\"/audit\">Newest</a>"));
    assert!(!html.contains("Older</a>"));

    let response = get(ada.clone(), "/api/v1/audit?before=200&limit=3").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = body_json(response).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 3);
    assert_eq!(page["entries"][0]["id"], 199);
    assert_eq!(page["older"], 197);

    for bad in [
        "/api/v1/audit?limit=0",
        "/api/v1/audit?limit=5000",
        "/api/v1/audit?before=x",
    ] {
        assert_eq!(
            get(ada.clone(), bad).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
    assert_eq!(
        get(ada, "/audit?before=-3").await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        site.admin.audit_asked(),
        [(None, 100), (Some(51), 100), (Some(200), 3)]
    );
    let view = [
        "ada".to_owned(),
        "view".to_owned(),
        "audit trail".to_owned(),
    ];
    assert_eq!(site.audit.records(), [view.clone(), view.clone(), view]);
}

#[tokio::test]
async fn the_newest_audit_page_says_whether_the_tamper_check_passed_and_where_it_failed() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let html = body_text(get(ada.clone(), "/audit").await).await;
    assert!(
        html.contains(
            "data-kind=\"done\"><p><strong>Tamper check passed:</strong> Intact: 250 entries"
        ),
        "{html}"
    );
    // Older pages do not repeat the whole-trail check.
    let html = body_text(get(ada.clone(), "/audit?before=51").await).await;
    assert!(!html.contains("Tamper check"), "{html}");

    *site.admin.chain.lock().unwrap() = crate::admin::AuditChain {
        intact: false,
        finding: "audit entry 17 does not match its link <b>.".to_owned(),
    };
    let html = body_text(get(ada.clone(), "/audit").await).await;
    assert!(
        html.contains("data-kind=\"problem\"><p><strong>Tamper check failed:</strong> audit entry 17 does not match its link &lt;b&gt;."),
        "{html}"
    );
    let page = body_json(get(ada, "/api/v1/audit").await).await;
    assert_eq!(page["chain"]["intact"], false);
    assert!(
        page["chain"]["finding"]
            .as_str()
            .unwrap()
            .contains("audit entry 17")
    );
}

#[tokio::test]
async fn the_settings_json_is_the_daemons_view() {
    let site = TestSite::new(false);
    let response = get(admin(&site), "/api/v1/settings").await;
    assert_eq!(response.status(), StatusCode::OK);
    let json = body_json(response).await;
    assert_eq!(
        json,
        serde_json::to_value(site.admin.settings_now()).unwrap()
    );
    assert_eq!(json["thresholds"]["rate_hz"], 25);
}

#[tokio::test]
async fn every_kind_of_change_reaches_the_daemon_as_json() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    for (path, body, done) in [
        (
            "/api/v1/settings/site",
            r#"{"time_zone": "Europe/Vienna", "min_group_workers": 3, "goal_alerts_per_day": 0}"#,
            "change site settings",
        ),
        (
            "/api/v1/settings/tasks",
            r#"{"name": "Picking", "load_kg": 10, "lever_arm_m": 0.35, "windows": ["14:00-24:00"]}"#,
            "save task Picking",
        ),
        (
            "/api/v1/settings/tasks/Picking/remove",
            "",
            "remove task Picking",
        ),
        (
            "/api/v1/users/tina",
            r#"{"role": "supervisor", "disabled": true}"#,
            "set role of tina to supervisor; disable user tina",
        ),
        (
            "/api/v1/users/tina",
            r#"{"disabled": false}"#,
            "enable user tina",
        ),
    ] {
        let response = post_json(&ada, path, body).await;
        assert_eq!(response.status(), StatusCode::OK, "{path} {body}");
        assert_eq!(body_json(response).await["done"], done, "{path}");
    }
    let settings = site.admin.settings_now();
    assert_eq!(settings.site.time_zone, "Europe/Vienna");
    assert!(settings.tasks.is_empty());
    let tina = site.admin.user("tina").unwrap();
    assert_eq!((tina.role, tina.disabled), (Role::Supervisor, false));
    assert_eq!(site.audit.records().len(), 6);
}

#[test]
fn user_names_passwords_and_windows_are_checked_in_plain_words() {
    for good in ["ada", "a.b-c_d", "ada@site", &"x".repeat(32)] {
        assert!(input::check_new_name(good).is_ok(), "{good}");
    }
    for bad in ["", "with space", "ümlaut", "a/b", "<b>", &"x".repeat(33)] {
        assert!(input::check_new_name(bad).is_err(), "{bad}");
    }
    assert!(input::check_existing_name("first@site").is_ok());
    assert!(input::check_existing_name("a/b").is_err());
    for good in [
        "06:00-10:00",
        "22:00-06:00",
        "00:00-24:00",
        " 14:00 - 18:30 ",
    ] {
        assert!(input::check_window(good).is_ok(), "{good}");
    }
    for bad in [
        "6:00-10:00",
        "06:00-06:00",
        "24:00-06:00",
        "06:60-07:00",
        "06:00",
        "x",
    ] {
        assert!(input::check_window(bad).is_err(), "{bad}");
    }
    assert!(input::check_task_name("Picking & packing").is_ok());
    assert!(input::check_task_name(&"t".repeat(80)).is_ok());
    for bad in ["", " padded", "line\nbreak", &"t".repeat(81)] {
        assert!(input::check_task_name(bad).is_err(), "{bad:?}");
    }

    let json = |body: &str| input::Sent::Json(body.as_bytes().to_vec());
    let short = input::add_user(&json(
        r#"{"name": "noah", "role": "admin", "password": "eleven-char"}"#,
    ));
    assert_eq!(
        short.unwrap_err().0,
        "The password is too short: use at least 12 characters."
    );
    let long = format!(
        r#"{{"name": "noah", "role": "admin", "password": "{}"}}"#,
        "p".repeat(257)
    );
    assert!(input::add_user(&json(&long)).is_err());
    // Characters, not bytes: 12 letters with umlauts are long enough.
    let umlauts = r#"{"name": "noah", "role": "admin", "password": "üüüüüüüüüüüü"}"#;
    assert!(input::add_user(&json(umlauts)).is_ok());
    let nothing = input::update_user("sam", &json("{}"));
    assert!(nothing.unwrap_err().0.starts_with("Nothing to change"));
    let form = input::Sent::Form(input::Form::parse(
        b"name=noah&role=admin&password=abcdefghijkl&password_again=abcdefghijkm",
    ));
    assert!(
        input::add_user(&form)
            .unwrap_err()
            .0
            .contains("not the same")
    );
    let form = input::Sent::Form(input::Form::parse(b""));
    assert!(
        input::remove_user("sam", &form)
            .unwrap_err()
            .0
            .contains("I understand")
    );
}

#[test]
fn numbers_outside_their_ranges_are_refused_before_the_daemon() {
    let json = |body: String| input::Sent::Json(body.into_bytes());
    let thresholds = |bend: f64, hold: u32, twist: f64, rate: u32| {
        input::thresholds(&json(format!(
            r#"{{"bend_alert_deg": {bend}, "bend_hold_ms": {hold}, "twist_alert_dps": {twist}, "haptics": true, "rate_hz": {rate}}}"#
        )))
    };
    assert!(thresholds(10.0, 0, 10.0, 1).is_ok());
    assert!(thresholds(90.0, 10_000, 300.0, 100).is_ok());
    for (bend, hold, twist, rate) in [
        (9.99, 0, 10.0, 1),
        (90.01, 0, 10.0, 1),
        (45.0, 10_001, 60.0, 25),
        (45.0, 1000, 9.9, 25),
        (45.0, 1000, 300.1, 25),
        (45.0, 1000, 60.0, 0),
        (45.0, 1000, 60.0, 101),
        (45.0, 1000, 60.0, 256),
    ] {
        assert!(
            thresholds(bend, hold, twist, rate).is_err(),
            "{bend} {hold} {twist} {rate}"
        );
    }
    let site = |group: u32, goal: u32| {
        input::site(&json(format!(
            r#"{{"time_zone": "Europe/Berlin", "min_group_workers": {group}, "goal_alerts_per_day": {goal}}}"#
        )))
    };
    assert!(site(2, 0).is_ok() && site(1000, 1000).is_ok());
    assert!(site(1, 0).is_err() && site(1001, 0).is_err() && site(5, 1001).is_err());
    let zone = input::site(&json(
        r#"{"time_zone": "Europe/Berlin; rm", "min_group_workers": 5, "goal_alerts_per_day": 1}"#
            .to_owned(),
    ));
    assert!(zone.unwrap_err().0.contains("IANA"));
    let task = |load: &str| {
        input::put_task(&json(format!(
            r#"{{"name": "Lifting", "load_kg": {load}}}"#
        )))
    };
    assert!(task("25").is_ok() && task("null").is_ok());
    assert!(task("-1").is_err() && task("201").is_err());
}

#[tokio::test]
async fn an_admin_sees_the_nuisance_figures_on_settings_and_as_json() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let html = body_text(get(ada.clone(), "/settings").await).await;
    for needle in [
        "<h2 id=\"nuisance-title\">Nuisance alerts</h2>",
        "<a href=\"#nuisance\">Nuisance alerts</a>",
        "over the last 28 days",
        "<td data-label=\"While walking\">75 %</td>",
        "<td data-label=\"Never corrected\">20 %</td>",
        "<td data-label=\"Walking twist p99.9\">85 °/s</td>",
        "<td data-label=\"Suggested\">twist 90 °/s</td>",
        "<strong>Twist alert (°/s): 90 (now 60)</strong>. Walking here stays under 85 °/s",
        "<strong>Hold (ms): no suggestion</strong>. Not enough quickly corrected bend alerts",
        "Silent until <time datetime=",
        ", haptics off</td>",
        "<button type=\"submit\">Apply the suggested thresholds</button>",
        "name=\"days\" required min=\"0\" max=\"28\" step=\"1\" inputmode=\"numeric\" value=\"3\"",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(html.contains("<th scope=\"row\">KW-00101</th>"));
    let response = get(ada, "/api/v1/nuisance").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        body_json(response).await,
        serde_json::to_value(site.admin.nuisance_now()).unwrap()
    );
}

#[tokio::test]
async fn supervisors_and_technicians_are_refused_the_nuisance_figures_and_their_changes() {
    let site = TestSite::new(false);
    for (name, role) in [("sam", Role::Supervisor), ("tina", Role::Technician)] {
        let client = site.signed_in(name, role);
        let response = get(client.clone(), "/api/v1/nuisance").await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name}");
        for (path, body) in [
            ("/api/v1/settings/thresholds/suggested", "{}"),
            ("/api/v1/settings/baseline", r#"{"days": 0}"#),
        ] {
            let response = post_json(&client, path, body).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{name} {path}");
        }
    }
    assert_eq!(site.admin.nuisance_now().silent_baseline_days, 3);
    assert!(site.admin.changes().is_empty());
}

#[tokio::test]
async fn applying_the_suggestion_and_setting_the_baseline_are_audited() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    let response = post_form(&ada, "/api/v1/settings/thresholds/suggested", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        confirmation(&ada, &response).await.as_deref(),
        Some("apply the suggested wearable alert thresholds")
    );
    assert_eq!(site.admin.settings_now().thresholds.twist_alert_dps, 90.0);
    let response = post_json(&ada, "/api/v1/settings/baseline", r#"{"days": 7}"#).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(site.admin.nuisance_now().silent_baseline_days, 7);
    let response = post_form(&ada, "/api/v1/settings/baseline", &[("days", "0")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let audited: Vec<String> = site
        .audit
        .records()
        .into_iter()
        .map(|[_, action, subject]| format!("{action} {subject}"))
        .collect();
    assert_eq!(
        audited,
        [
            "change apply the suggested wearable alert thresholds",
            "change set the silent baseline to 7 days",
            "change turn the silent baseline off",
        ]
    );
}

#[tokio::test]
async fn a_silent_baseline_outside_0_to_28_days_is_refused_in_words() {
    let site = TestSite::new(false);
    let ada = admin(&site);
    for body in [
        r#"{"days": 29}"#,
        r#"{"days": -1}"#,
        r#"{"days": "a week"}"#,
    ] {
        let response = post_json(&ada, "/api/v1/settings/baseline", body).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
    }
    let response = post_form(&ada, "/api/v1/settings/baseline", &[("days", "29")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = body_text(response).await;
    assert!(html.contains(crate::rules::BASELINE_DAYS_WORDS), "{html}");
    assert_eq!(site.admin.nuisance_now().silent_baseline_days, 3);
}
