//! End-to-end: the roster and the admin settings through the real binary's JSON API, against
//! emulated wearables — an assignment and new alert thresholds reach a docked wearable and are
//! confirmed, a new worker's wearable runs silent during the baseline while the nuisance figures
//! show, an opted-out worker's data is discarded at docking, settings survive a restart, user
//! changes take effect on open sessions, and docks sharing a site key give a badge one pseudonym.

use std::time::Duration;

use dockd::emulator::{
    EmulatorError, Faults, HOUR_MS, MINUTE_MS, ServeEnd, ShiftSpec, Wearable, dock_for,
    dock_until_drained,
};
use dockd::transport::LinkAddr;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::spine::{fleet, shift};
use crate::support::{Dock, TEST_USER, add_user, http_request, wait_for};

fn roster_wearable<'a>(roster: &'a Value, serial: &str) -> Option<&'a Value> {
    roster["wearables"]
        .as_array()?
        .iter()
        .find(|w| w["serial"] == serial)
}

/// Keeps `wearable` docked at `dock` for up to two minutes, until `cancel`; gives it back with
/// how the docking ended.
fn dock_in_background(
    dock: &Dock,
    mut wearable: Wearable,
    cancel: &CancellationToken,
) -> JoinHandle<(Wearable, Result<ServeEnd, EmulatorError>)> {
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = cancel.clone();
    tokio::spawn(async move {
        let end = dock_for(
            &mut wearable,
            &addr,
            &Faults::default(),
            Duration::from_secs(120),
            &cancel,
        )
        .await;
        (wearable, end)
    })
}

/// Waits until the Settings JSON shows `serial`'s thresholds confirmed (read back by
/// GET_CONFIG); its row.
fn confirmed_thresholds(dock: &Dock, serial: &str) -> Value {
    wait_for(
        "the thresholds to be confirmed",
        Duration::from_secs(30),
        || {
            let (_, settings) = dock.api("GET", "/api/v1/settings", &Value::Null);
            let row = settings["wearables"]
                .as_array()?
                .iter()
                .find(|w| w["serial"] == serial)?
                .clone();
            (row["state"] == "confirmed").then_some(row)
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_assignment_and_new_thresholds_reach_a_docked_wearable_and_are_confirmed() {
    let dock = Dock::start_refreshing("roster-push", 1);
    let wearable = tokio::task::spawn_blocking(|| fleet(1, 7070, shift(1, 10)).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();
    let cancel = CancellationToken::new();
    let docking = dock_in_background(&dock, wearable, &cancel);
    wait_for(
        "the wearable on the roster",
        Duration::from_secs(30),
        || {
            let (_, roster) = dock.api("GET", "/api/v1/roster", &Value::Null);
            roster_wearable(&roster, &serial).map(|_| ())
        },
    );

    let (status, added) = dock.api(
        "POST",
        "/api/v1/roster/workers",
        &json!({ "badge": "B-7001", "display_name": "Ana Example", "team": "Night" }),
    );
    assert_eq!(status, 201, "{added}");
    let worker = added["worker"].as_i64().expect("the new worker's id");
    let (status, body) = dock.api(
        "POST",
        "/api/v1/roster/wearables",
        &json!({ "serial": serial, "worker": worker }),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = dock.api(
        "POST",
        "/api/v1/settings/thresholds",
        &json!({ "bend_alert_deg": 30.0, "bend_hold_ms": 500, "twist_alert_dps": 45.0,
                 "haptics": true, "rate_hz": 25 }),
    );
    assert_eq!(status, 200, "{body}");

    // The docked wearable gets both at its next refresh; the dock reads them back.
    wait_for(
        "the wearable to carry its assignment",
        Duration::from_secs(30),
        || {
            let (_, roster) = dock.api("GET", "/api/v1/roster", &Value::Null);
            let row = roster_wearable(&roster, &serial)?;
            (row["worker"] == worker && row["applied"] == true).then_some(())
        },
    );
    let confirmed = confirmed_thresholds(&dock, &serial);
    assert!(confirmed["confirmed_ms"].as_i64().is_some(), "{confirmed}");

    // The dock tile names who wears it — to an admin, not to a technician.
    let (_, status) = dock.api("GET", "/api/v1/status", &Value::Null);
    let tile = status["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["serial"] == serial)
        .unwrap()
        .clone();
    assert_eq!(tile["worker"], "Ana Example", "{tile}");
    add_user(&dock.config, "tina", "technician", "tina's long password");
    let tina = dock.sign_in("tina", "tina's long password");
    let technician = http_request(dock.web, "GET", "/api/v1/status", &[("Cookie", &tina)], "");
    assert!(technician.contains(&serial), "{technician}");
    assert!(
        !technician.contains("Ana Example") && !technician.contains("\"worker\""),
        "{technician}"
    );

    cancel.cancel();
    let (wearable, end) = docking.await.unwrap();
    end.unwrap();
    assert_eq!(wearable.config().bend_alert, 3000, "0.01° on the wire");
    assert_eq!(wearable.config().bend_hold_ms, 500);
    assert_eq!(wearable.config().twist_alert, 450, "0.1 °/s on the wire");
    assert_eq!(
        wearable.worker().map(|tag| tag.badge_text()).as_deref(),
        Some("B-7001"),
        "SET_WORKER reached the wearable"
    );

    // The name and the tag stay out of the log; the audit trail has the changes without them.
    let log = dock.log();
    assert!(
        !log.contains("B-7001") && !log.contains("Ana Example"),
        "{log}"
    );
    let audit: Vec<String> = dock
        .db()
        .prepare("SELECT action || ' ' || subject FROM audit WHERE user = ?1")
        .unwrap()
        .query_map([TEST_USER], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        audit
            .iter()
            .any(|line| line.starts_with("change") && line.contains(&serial)),
        "{audit:?}"
    );
    assert!(
        audit.iter().any(|line| line.contains("threshold")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .all(|line| !line.contains("B-7001") && !line.contains("Ana")),
        "{audit:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opted_out_workers_data_is_discarded_at_docking_and_the_roster_says_so() {
    let dock = Dock::start("roster-opt-out");
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 7171, shift(1, 10)).remove(0))
        .await
        .unwrap();
    let badge = wearable
        .spec()
        .worker
        .map(|tag| tag.badge_text())
        .expect("the fleet's wearables carry a worker");
    let (status, added) = dock.api("POST", "/api/v1/roster/workers", &json!({ "badge": badge }));
    assert_eq!(status, 201, "{added}");
    let worker = added["worker"].as_i64().unwrap();
    let (status, body) = dock.api(
        "POST",
        &format!("/api/v1/roster/workers/{worker}/opt-out"),
        &json!({ "opted_out": true }),
    );
    assert_eq!(status, 200, "{body}");

    let addr = LinkAddr::Unix(dock.socket.clone());
    dock_until_drained(
        &mut wearable,
        &addr,
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let samples = wearable.truth().samples as i64;
    assert!(samples > 0);

    // Pulled and erased (the wearable is empty), but not one of the worker's samples kept.
    assert!(wearable.stored_segments().iter().all(|s| !s.closed));
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM sample_block WHERE worker_id = {worker}"
        )),
        0
    );
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM alert WHERE worker_id = {worker}"
        )),
        0
    );
    let (_, roster) = dock.api("GET", "/api/v1/roster", &Value::Null);
    let row = roster["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == worker)
        .unwrap()
        .clone();
    assert!(row["opted_out_ms"].as_i64().is_some(), "{row}");
    assert_eq!(row["discarded_samples"].as_i64(), Some(samples), "{row}");
    // Once the analyst has been over the wearable's segments: no shift, nothing on the overview.
    wait_for("the analyst to pass", Duration::from_secs(60), || {
        (dock.count("SELECT count(*) FROM analysis_progress") > 0).then_some(())
    });
    assert_eq!(dock.count("SELECT count(*) FROM shift_report"), 0);
    let (status, overview) = dock.api("GET", "/api/v1/analysis/overview", &Value::Null);
    assert_eq!(status, 200, "{overview}");
    assert_eq!(overview["workers"], json!([]), "{overview}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_changed_on_the_page_survive_a_restart_and_bad_values_are_refused() {
    let mut dock = Dock::start("settings-restart");
    let (status, body) = dock.api(
        "POST",
        "/api/v1/settings/site",
        &json!({ "time_zone": "Mars/Olympus_Mons", "min_group_workers": 5, "goal_alerts_per_day": 5 }),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("time zone"),
        "{body}"
    );
    let (status, body) = dock.api(
        "POST",
        "/api/v1/settings/site",
        &json!({ "time_zone": "Europe/Berlin", "min_group_workers": 8, "goal_alerts_per_day": 4 }),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = dock.api(
        "POST",
        "/api/v1/settings/tasks",
        &json!({ "name": "Palletising", "load_kg": 12.5, "lever_arm_m": 0.4, "windows": ["06:00-10:00"] }),
    );
    assert_eq!(status, 200, "{body}");

    dock.stop();
    dock.restart();
    let (_, settings) = dock.api("GET", "/api/v1/settings", &Value::Null);
    assert_eq!(settings["site"]["time_zone"], "Europe/Berlin", "{settings}");
    assert_eq!(settings["site"]["min_group_workers"], 8);
    let task = &settings["tasks"][0];
    assert_eq!(task["name"], "Palletising", "{settings}");
    assert_eq!(task["load_kg"], 12.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_signed_out_at_once_and_the_last_admin_cannot_lock_themself_out() {
    let dock = Dock::start("users-disable");
    add_user(&dock.config, "sam", "supervisor", "sam's long password");
    let sam = dock.sign_in("sam", "sam's long password");
    let status_of = |response: &str| response.split_whitespace().nth(1).unwrap_or("").to_owned();
    let before = http_request(dock.web, "GET", "/api/v1/roster", &[("Cookie", &sam)], "");
    assert_eq!(status_of(&before), "200", "{before}");

    let (status, body) = dock.api("POST", "/api/v1/users/sam", &json!({ "disabled": true }));
    assert_eq!(status, 200, "{body}");
    let after = http_request(dock.web, "GET", "/api/v1/roster", &[("Cookie", &sam)], "");
    assert_eq!(status_of(&after), "401", "{after}");
    let again = http_request(
        dock.web,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        &json!({ "username": "sam", "password": "sam's long password" }).to_string(),
    );
    assert_eq!(
        status_of(&again),
        "401",
        "a disabled user cannot sign in: {again}"
    );

    // The only admin can neither disable nor demote themself.
    let (status, body) = dock.api(
        "POST",
        &format!("/api/v1/users/{TEST_USER}"),
        &json!({ "disabled": true }),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = dock.api(
        "POST",
        &format!("/api/v1/users/{TEST_USER}"),
        &json!({ "role": "supervisor" }),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"].as_str().unwrap_or("").contains("admin"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_workers_wearable_runs_silent_during_the_baseline_and_the_nuisance_figures_show() {
    let dock = Dock::start_refreshing("nuisance-baseline", 1);
    let (status, body) = dock.api("POST", "/api/v1/settings/baseline", &json!({ "days": 3 }));
    assert_eq!(status, 200, "{body}");
    let (status, body) = dock.api("POST", "/api/v1/settings/baseline", &json!({ "days": 29 }));
    assert_eq!(status, 400, "{body}");

    // A workday of two hours that ended three hours ago, at the firmware's 60 °/s twist alert.
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let earlier = ShiftSpec {
        segment_ms: 10 * MINUTE_MS,
        ..ShiftSpec::ending_at(now_ms - 3 * HOUR_MS as i64, 2 * HOUR_MS)
    };
    let wearable = tokio::task::spawn_blocking(move || fleet(1, 7171, earlier).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();
    // A new worker, assigned before the wearable's first docking: nothing of theirs is stored.
    let (status, added) = dock.api(
        "POST",
        "/api/v1/roster/workers",
        &json!({ "badge": "B-7101", "display_name": "Noa Example" }),
    );
    assert_eq!(status, 201, "{added}");
    let worker = added["worker"].as_i64().expect("the new worker's id");
    let (status, body) = dock.api(
        "POST",
        "/api/v1/roster/wearables",
        &json!({ "serial": serial, "worker": worker }),
    );
    assert_eq!(status, 200, "{body}");

    let cancel = CancellationToken::new();
    let docking = dock_in_background(&dock, wearable, &cancel);
    // The silent thresholds are confirmed by GET_CONFIG like any others.
    let confirmed = confirmed_thresholds(&dock, &serial);
    assert_eq!(confirmed["runs"]["haptics"], false, "{confirmed}");
    // The pulled shift is analysed and its wearable alerts counted.
    let nuisance = nuisance_with_shifts(&dock, 1);
    assert_eq!(nuisance["window_days"], 28, "{nuisance}");
    assert_eq!(nuisance["silent_baseline_days"], 3, "{nuisance}");
    let site = &nuisance["site"];
    assert!(site["alerts_per_hour"].as_f64().unwrap() > 0.0, "{site}");
    assert!(
        site["gait_share"].as_f64().unwrap() > 0.5,
        "the emulated walkers' strides set off most alerts: {site}"
    );
    let share = site["never_corrected_share"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&share), "{site}");
    let twist = &site["suggested"][0];
    assert_eq!(twist["threshold"], "twist_alert_dps", "{site}");
    let suggested = twist["suggested"].as_f64().unwrap();
    assert!(
        suggested > 60.0 && suggested <= 150.0,
        "above walking, at most the ceiling: {twist}"
    );
    let row = nuisance["wearables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["serial"] == serial)
        .unwrap_or_else(|| panic!("{nuisance}"));
    assert_eq!(row["baseline"]["state"], "silent", "{row}");
    assert_eq!(
        row["figures"]["alerts"], site["alerts"],
        "one wearable: the site"
    );
    let page = nuisance.to_string();
    assert!(
        !page.contains("B-7101") && !page.contains("Noa"),
        "no badge or name: {page}"
    );

    // One click: the suggestion becomes the site's thresholds and reaches the docked wearable,
    // still silent.
    let (status, body) = dock.api("POST", "/api/v1/settings/thresholds/suggested", &json!({}));
    assert_eq!(status, 200, "{body}");
    confirmed_thresholds(&dock, &serial);
    cancel.cancel();
    let (mut wearable, end) = docking.await.unwrap();
    end.unwrap();
    assert!(
        !wearable.config().haptics,
        "haptics off during the baseline"
    );
    assert_eq!(
        f64::from(wearable.config().twist_alert),
        suggested * 10.0,
        "0.1 °/s on the wire"
    );

    // The next two hours at the suggested twist alert: strides no longer set it off.
    let mut wearable = tokio::task::spawn_blocking(move || {
        wearable.load_shift(shift(2, 10));
        wearable
    })
    .await
    .unwrap();
    let addr = LinkAddr::Unix(dock.socket.clone());
    dock_until_drained(
        &mut wearable,
        &addr,
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let after = nuisance_with_shifts(&dock, 2);
    let twists = |n: &Value| n["site"]["by_kind"]["twist"].as_u64().unwrap();
    let (first, second) = (twists(&nuisance), twists(&after) - twists(&nuisance));
    assert!(
        second * 4 < first,
        "twist alerts per two hours: {first} at 60 °/s, {second} at {suggested} °/s"
    );

    // Supervisors and technicians do not see it.
    add_user(&dock.config, "sue", "supervisor", "sue's long password");
    let sue = dock.sign_in("sue", "sue's long password");
    let refused = http_request(dock.web, "GET", "/api/v1/nuisance", &[("Cookie", &sue)], "");
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");

    let audit: Vec<String> = dock
        .db()
        .prepare("SELECT subject FROM audit WHERE user = ?1 AND action = 'change'")
        .unwrap()
        .query_map([TEST_USER], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for change in [
        "set the silent baseline to 3 days",
        "apply the suggested wearable alert thresholds",
    ] {
        assert!(audit.iter().any(|s| s == change), "{change}: {audit:?}");
    }
}

/// Waits until `/api/v1/nuisance` covers `shifts` analysed shifts; its answer.
fn nuisance_with_shifts(dock: &Dock, shifts: u64) -> Value {
    wait_for("the nuisance figures", Duration::from_secs(60), || {
        let (status, nuisance) = dock.api("GET", "/api/v1/nuisance", &Value::Null);
        assert_eq!(status, 200, "{nuisance}");
        (nuisance["site"]["shifts"].as_u64()? >= shifts).then_some(nuisance)
    })
}

#[test]
fn two_docks_with_the_same_site_key_give_a_badge_the_same_pseudonym_and_a_dock_of_its_own_another()
{
    use crate::cli::{SITE_KEY_HEX, SITE_KEY_ID};
    let keys = crate::support::TestDir::new("shared-site-key");
    let site_key = keys.join("site.key");
    std::fs::write(&site_key, format!("{SITE_KEY_HEX}\n")).unwrap();
    let privacy = format!("[privacy]\nsite_key_file = {site_key:?}\n");
    let first = Dock::start_with_tables("site-dock-a", &privacy);
    let second = Dock::start_with_tables("site-dock-b", &privacy);
    let alone = Dock::start("own-key-dock");
    let pseudonym = |dock: &Dock| {
        let (status, added) = dock.api(
            "POST",
            "/api/v1/roster/workers",
            &json!({ "badge": "B-1001" }),
        );
        assert_eq!(status, 201, "{added}");
        let (_, roster) = dock.api("GET", "/api/v1/roster", &Value::Null);
        roster["workers"][0]["pseudonym"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The README's worked example: HMAC-SHA256 of "B-1001" and 10 NULs, its first 6 digits.
    assert_eq!(pseudonym(&first), "W-58767D");
    assert_eq!(pseudonym(&second), "W-58767D");
    assert_ne!(pseudonym(&alone), "W-58767D");
    for dock in [&first, &second] {
        assert_eq!(dock.status_json()["pseudonym_key"]["key_id"], SITE_KEY_ID);
    }
    assert_eq!(alone.status_json()["pseudonym_key"]["source"], "dock");
}
