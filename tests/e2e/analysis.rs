//! The risk analysis end to end: the real `dockd` analyses what it pulled once the dock is idle and
//! stores one report per shift; `dockd analyze` runs the same analysis on raw segment files; a
//! settings change is picked up by `dockd reanalyze`. Checked against the emulator's ground truth.

use std::process::Command;
use std::time::Duration;

use dockd::emulator::{Faults, ShiftProfile, ShiftSpec, TruthKind, Wearable, dock_until_drained};
use dockd::transport::LinkAddr;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::spine::{body, fleet, shift};
use crate::support::{DOCKD, Dock, TEST_USER, TestDir, add_user, http_request, wait_for};

/// Every closed segment the wearable holds, as the bytes READ returns, written to `dir`.
fn write_segment_files(wearable: &Wearable, dir: &TestDir) -> Vec<std::path::PathBuf> {
    wearable
        .closed_segment_bytes()
        .map(|(id, bytes)| {
            let path = dir.join(&format!("segment-{id:04}.kseg"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// Bends (peak ≥ 45°) and deep bends (≥ 60°) the generator placed, away from the thresholds.
fn truth_bends(wearable: &Wearable) -> (u64, u64) {
    let mut bends = 0;
    let mut deep = 0;
    for segment in &wearable.truth().segments {
        for event in &segment.events {
            if event.kind == TruthKind::Flexion {
                let peak = f64::from(event.peak) / 100.0;
                bends += u64::from(peak >= 45.0);
                deep += u64::from(peak >= 60.0);
            }
        }
    }
    (bends, deep)
}

/// Trunk twists the generator placed clearly beyond the 30° threshold (35° or more), and all of
/// its rotations that could count (25° or more).
fn truth_twists(wearable: &Wearable) -> (u64, u64) {
    let rotations = wearable
        .truth()
        .segments
        .iter()
        .flat_map(|segment| &segment.events)
        .filter(|event| event.kind == TruthKind::Twist);
    rotations.fold((0, 0), |(clear, all), event| {
        (
            clear + u64::from(event.peak >= 3500),
            all + u64::from(event.peak >= 2500),
        )
    })
}

/// `dockd analyze --json` on `files`: its shifts.
fn analyze(files: &[std::path::PathBuf]) -> Vec<Value> {
    let out = Command::new(DOCKD)
        .arg("analyze")
        .args(files)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    printed["shifts"].as_array().unwrap().clone()
}

fn stored_reports(dock: &Dock) -> Vec<Value> {
    let db = dock.db();
    let mut query = db
        .prepare("SELECT report FROM shift_report ORDER BY start_ms")
        .unwrap();
    query
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap()
        .map(|r| serde_json::from_str(&r.unwrap()).unwrap())
        .collect()
}

fn sum(reports: &[Value], key: &str) -> u64 {
    reports
        .iter()
        .map(|r| r["counts"][key].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulled_shifts_are_analysed_when_the_dock_is_idle_and_match_the_ground_truth() {
    let dock = Dock::start("analysis");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let wearables = tokio::task::spawn_blocking(|| fleet(2, 505, shift(3, 30)))
        .await
        .unwrap();
    let mut done = Vec::new();
    for mut wearable in wearables {
        dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel)
            .await
            .unwrap();
        done.push(wearable);
    }
    let reports = wait_for("shift reports", Duration::from_secs(60), || {
        let reports = stored_reports(&dock);
        (reports.len() >= 2).then_some(reports)
    });
    assert_eq!(reports.len(), 2, "one 3-hour shift per worker");
    let (want_bends, want_deep) = done
        .iter()
        .map(truth_bends)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let (bends, deep) = (sum(&reports, "bends"), sum(&reports, "deep_bends"));
    // Events within 2° of a threshold may go either way; they are a few per cent at most.
    let close = |got: u64, want: u64| got.abs_diff(want) as f64 <= 0.05 * want as f64 + 2.0;
    assert!(
        close(bends, want_bends),
        "bends {bends} vs truth {want_bends}"
    );
    assert!(
        close(deep, want_deep),
        "deep bends {deep} vs truth {want_deep}"
    );
    for report in &reports {
        assert_eq!(report["version"], dockd::analysis::ANALYSIS_VERSION);
        let wear = report["wear_s"].as_f64().unwrap();
        assert!((wear - 3.0 * 3600.0).abs() < 120.0, "wear {wear}");
        let zones = &report["iso11226_s"];
        let zoned = zones["acceptable"].as_f64().unwrap()
            + zones["conditional"].as_f64().unwrap()
            + zones["not_acceptable"].as_f64().unwrap();
        assert!((zoned - wear).abs() < 1.0, "zones {zoned} vs wear {wear}");
        assert!(["low", "medium", "high"].contains(&report["risk_level"].as_str().unwrap()));
        assert!(!report["reasons"].as_array().unwrap().is_empty());
        let hourly: u64 = report["per_hour"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["counts"]["bends"].as_u64().unwrap())
            .sum();
        assert_eq!(hourly, report["counts"]["bends"].as_u64().unwrap());
    }
    assert_eq!(
        dock.count("SELECT count(*) FROM analysis_progress"),
        2,
        "both wearables' segments are marked analysed"
    );
    assert!(
        !dock.log().contains("B-100"),
        "worker tags never reach the log"
    );
}

#[test]
fn dockd_analyze_prints_the_documented_keys_and_the_same_counts_as_the_truth() {
    let dir = TestDir::new("analyze");
    let wearable = fleet(1, 606, shift(2, 20)).remove(0);
    let files = write_segment_files(&wearable, &dir);
    assert!(files.len() >= 6);
    let shifts = analyze(&files);
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    let s = &shifts[0];
    assert_eq!(s["worker_tag"], "B-1001");
    for key in [
        "start_ms",
        "end_ms",
        "wear_s",
        "counts",
        "per_hour",
        "iso11226_s",
        "hoogendoorn",
        "lmm_factors",
        "alerts",
        "risk_level",
        "reasons",
    ] {
        assert!(!s[key].is_null(), "missing {key}: {s}");
    }
    for key in [
        "bends",
        "deep_bends",
        "twists",
        "lateral_bends",
        "reaches",
        "lifts",
    ] {
        assert!(s["counts"][key].is_u64(), "counts.{key}");
    }
    for key in ["acceptable", "conditional", "not_acceptable"] {
        assert!(s["iso11226_s"][key].is_f64(), "iso11226_s.{key}");
    }
    for key in [
        "lift_rate_per_h",
        "max_flexion_deg",
        "avg_twist_dps",
        "max_lateral_dps",
    ] {
        assert!(s["lmm_factors"][key].is_f64(), "lmm_factors.{key}");
    }
    for key in ["count", "uncorrected"] {
        assert!(s["alerts"][key].is_u64(), "alerts.{key}");
    }
    assert!(s["per_hour"][0]["hour_start_ms"].is_i64());
    let (want_bends, want_deep) = truth_bends(&wearable);
    let bends = s["counts"]["bends"].as_u64().unwrap();
    let deep = s["counts"]["deep_bends"].as_u64().unwrap();
    assert!(
        bends.abs_diff(want_bends) as f64 <= 0.05 * want_bends as f64 + 2.0,
        "bends {bends} vs truth {want_bends}"
    );
    assert!(
        deep.abs_diff(want_deep) as f64 <= 0.05 * want_deep as f64 + 2.0,
        "deep {deep} vs truth {want_deep}"
    );
    let lifts: usize = wearable
        .truth()
        .segments
        .iter()
        .flat_map(|seg| &seg.events)
        .filter(|e| matches!(e.kind, TruthKind::LiftStoop | TruthKind::LiftSquat))
        .count();
    let got_lifts = s["counts"]["lifts"].as_u64().unwrap() as usize;
    assert!(
        got_lifts.abs_diff(lifts) as f64 <= 0.05 * lifts as f64 + 2.0,
        "lifts {got_lifts} vs truth {lifts}"
    );
    // Trunk twists (standing, and during lifts) are found although the worker also walked.
    let (clear_twists, possible_twists) = truth_twists(&wearable);
    let twists = s["counts"]["twists"].as_u64().unwrap();
    assert!(clear_twists >= 10, "{clear_twists} twists in the truth");
    assert!(
        (clear_twists as f64 * 0.95..=possible_twists as f64 + 2.0).contains(&(twists as f64)),
        "twists {twists} vs truth {clear_twists}..{possible_twists}"
    );

    // A damaged file is named in a clear error, and nothing is printed as if it were fine.
    let broken = dir.join("broken.kseg");
    std::fs::write(&broken, b"KSEG not really").unwrap();
    let out = Command::new(DOCKD)
        .args(["analyze", "--json"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken.kseg"));
}

#[test]
fn dockd_analyze_finds_no_twist_and_no_bend_in_a_shift_of_walking_and_jogging() {
    let dir = TestDir::new("analyze-walking");
    let walking = ShiftSpec {
        profile: ShiftProfile::Walking,
        ..shift(2, 20)
    };
    let wearable = fleet(1, 707, walking).remove(0);
    let walked_h = wearable.truth().movements.walking_ms as f64 / 3_600_000.0;
    assert!(walked_h > 1.5, "{walked_h} h of gait");
    let shifts = analyze(&write_segment_files(&wearable, &dir));
    assert_eq!(shifts.len(), 1, "{shifts:?}");
    let counts = &shifts[0]["counts"];
    for key in ["twists", "bends", "deep_bends"] {
        assert_eq!(counts[key], 0, "{key}: {counts}");
    }
    // The wearable's own twist alert (60 °/s) still fires at the strides, as on real gait.
    assert!(shifts[0]["alerts"]["count"].as_u64().unwrap() > 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_threshold_and_running_reanalyze_updates_every_stored_report() {
    let mut dock = Dock::start("reanalyze");
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 707, shift(2, 30)).remove(0))
        .await
        .unwrap();
    dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel)
        .await
        .unwrap();
    let before = wait_for("a shift report", Duration::from_secs(60), || {
        let reports = stored_reports(&dock);
        (!reports.is_empty()).then_some(reports)
    });
    assert!(dock.stop().success());
    let old_settings: String = dock
        .db()
        .query_row("SELECT settings FROM shift_report", [], |r| r.get(0))
        .unwrap();

    // A stricter site: bends from 30°.
    let config = std::fs::read_to_string(&dock.config).unwrap();
    std::fs::write(
        &dock.config,
        format!("{config}\n[analysis.movements]\nbend_deg = 30.0\n"),
    )
    .unwrap();
    let out = Command::new(DOCKD)
        .args(["reanalyze", "--config"])
        .arg(&dock.config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1/1 wearables"), "progress bar: {stderr}");
    let after = stored_reports(&dock);
    assert_eq!(after.len(), before.len());
    assert!(
        sum(&after, "bends") > sum(&before, "bends"),
        "a lower bend angle finds more bends"
    );
    let new_settings: String = dock
        .db()
        .query_row("SELECT DISTINCT settings FROM shift_report", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_ne!(new_settings, old_settings);

    // The daemon notices a settings change by itself and re-analyses in the background.
    std::fs::write(
        &dock.config,
        format!("{config}\n[analysis.movements]\nbend_deg = 30.0\ndeep_bend_deg = 70.0\n"),
    )
    .unwrap();
    dock.restart();
    let deep_before = sum(&after, "deep_bends");
    wait_for("the daemon to re-analyse", Duration::from_secs(60), || {
        let settings: Vec<String> = {
            let db = dock.db();
            let mut q = db
                .prepare("SELECT DISTINCT settings FROM shift_report")
                .unwrap();
            q.query_map([], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        (settings.len() == 1 && settings[0] != new_settings).then_some(())
    });
    assert!(
        sum(&stored_reports(&dock), "deep_bends") < deep_before,
        "deep bends from 70° are fewer than from 60°"
    );
    // Beside the running daemon `reanalyze` opens no second writer: it says why and touches
    // nothing.
    let out = Command::new(DOCKD)
        .args(["reanalyze", "--config"])
        .arg(&dock.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dockd is running on this data folder"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dock.stop().success());

    // A bad value is refused with the key named, before anything is touched.
    std::fs::write(
        &dock.config,
        format!("{config}\n[analysis]\ntime_zone = \"Mars/Olympus\"\n"),
    )
    .unwrap();
    let out = Command::new(DOCKD)
        .args(["reanalyze", "--config"])
        .arg(&dock.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("analysis.time_zone"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_analysis_pages_show_pseudonyms_and_work_restriction_flags_to_supervisors_and_nothing_to_technicians_or_strangers()
 {
    let dock = Dock::start("analysis-pages");
    add_user(
        &dock.config,
        "tech",
        "technician",
        "a long technician password",
    );
    // Seen before any data: the page's cached overview must not outlive new reports.
    let empty: Value = serde_json::from_str(body(&dock.get("/api/v1/analysis/overview"))).unwrap();
    assert_eq!(
        empty["workers"].as_array().map(Vec::len),
        Some(0),
        "{empty}"
    );
    let addr = LinkAddr::Unix(dock.socket.clone());
    let cancel = CancellationToken::new();
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 808, shift(2, 30)).remove(0))
        .await
        .unwrap();
    dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel)
        .await
        .unwrap();
    wait_for("a shift report", Duration::from_secs(60), || {
        (!stored_reports(&dock).is_empty()).then_some(())
    });

    let overview: Value =
        serde_json::from_str(body(&dock.get("/api/v1/analysis/overview"))).unwrap();
    let row = &overview["workers"][0];
    let label = row["label"].as_str().unwrap();
    assert!(label.starts_with("W-"), "a pseudonym, not a tag: {label}");
    assert!(
        !overview.to_string().contains("B-1001"),
        "no badge tag: {overview}"
    );
    assert!(row["per_hour"]["bends"].as_f64().unwrap() > 0.0);
    let page = dock.get("/overview");
    assert!(page.starts_with("HTTP/1.1 200") && page.contains(label));

    let worker = row["worker"].as_i64().unwrap();
    let detail = dock.get(&format!("/workers/{worker}"));
    assert!(detail.starts_with("HTTP/1.1 200"), "{detail}");
    assert!(detail.contains("<svg"), "the worker page draws charts");
    assert!(!detail.contains("B-1001"));
    // The audit trail is written behind the page (queued, never blocking it).
    wait_for(
        "the view in the audit trail",
        Duration::from_secs(10),
        || {
            let audited: i64 = dock
            .db()
            .query_row(
                "SELECT count(*) FROM audit WHERE user = ?1 AND action = 'view' AND subject = ?2",
                rusqlite::params![TEST_USER, format!("worker {worker}")],
                |r| r.get(0),
            )
            .unwrap();
            (audited == 1).then_some(())
        },
    );

    // A work restriction the shift goes beyond is flagged on Today and the Worker page (HTML
    // and JSON); made generous, the same stored report is no longer flagged.
    let day = overview["day"].as_str().unwrap().to_owned();
    let (status, done) = dock.api(
        "POST",
        &format!("/api/v1/roster/workers/{worker}/work-restrictions"),
        &serde_json::json!({ "from_day": day, "until_day": day, "max_bends_per_hour": 0 }),
    );
    assert_eq!(status, 201, "{done}");
    let (_, roster) = dock.api("GET", "/api/v1/roster", &Value::Null);
    let work_restriction = roster["work_restrictions"][0]["id"].as_i64().unwrap();
    let flags_on_today = || -> Value {
        let overview: Value =
            serde_json::from_str(body(&dock.get("/api/v1/analysis/overview"))).unwrap();
        overview["workers"][0]["work_restrictions_exceeded"].clone()
    };
    let flagged = flags_on_today();
    let what = flagged[0]["what"].as_str().unwrap();
    assert!(
        what.contains("bends in the hour") && what.ends_with("(limit 0)"),
        "{flagged}"
    );
    assert!(
        dock.get("/overview")
            .contains("Beyond the work restriction:")
    );
    let worker_json: Value = serde_json::from_str(body(
        &dock.get(&format!("/api/v1/analysis/workers/{worker}")),
    ))
    .unwrap();
    assert!(
        !worker_json["shift"]["work_restrictions_exceeded"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{worker_json}"
    );
    assert_eq!(worker_json["work_restrictions"][0]["id"], work_restriction);
    let worker_page = dock.get(&format!("/workers/{worker}"));
    assert!(worker_page.contains("Beyond the work restriction:"));
    assert!(!worker_page.contains("B-1001"));
    let (status, done) = dock.api(
        "POST",
        &format!("/api/v1/roster/work-restrictions/{work_restriction}"),
        &serde_json::json!({ "from_day": day, "until_day": day, "max_bends_per_hour": 1000 }),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(flags_on_today(), serde_json::json!([]));
    assert!(
        !dock
            .get("/overview")
            .contains("Beyond the work restriction:")
    );
    // Hostile input is refused and stores nothing.
    let (status, _) = dock.api(
        "POST",
        &format!("/api/v1/roster/workers/{worker}/work-restrictions"),
        &serde_json::json!({ "from_day": day, "until_day": "2000-01-01", "no_deep_bends": true }),
    );
    assert_eq!(status, 400);
    assert_eq!(dock.count("SELECT count(*) FROM work_restriction"), 1);
    // Both changes are audited, without the worker's tag or the limits.
    wait_for(
        "the work restriction changes in the audit trail",
        Duration::from_secs(10),
        || {
            let changes = dock.count(
                "SELECT count(*) FROM audit WHERE action = 'change' \
                 AND subject LIKE 'work restriction %'",
            );
            (changes == 2).then_some(())
        },
    );

    // A technician sees the dock but no worker data; a stranger is asked to sign in.
    let tech = dock.sign_in("tech", "a long technician password");
    let as_tech = |path: &str| http_request(dock.web, "GET", path, &[("Cookie", &tech)], "");
    assert!(as_tech("/").starts_with("HTTP/1.1 200"));
    for page in ["/", "/api/v1/status", "/diagnostics"] {
        let answer = as_tech(page).to_lowercase();
        assert!(
            !answer.contains("work restriction") && !answer.contains("work_restriction"),
            "a technician saw a trace of work restrictions on {page}"
        );
    }
    for path in [
        format!("/api/v1/roster/workers/{worker}/work-restrictions"),
        format!("/api/v1/roster/work-restrictions/{work_restriction}"),
        format!("/api/v1/roster/work-restrictions/{work_restriction}/end"),
    ] {
        let answer = http_request(
            dock.web,
            "POST",
            &path,
            &[("Cookie", &tech), ("Content-Type", "application/json")],
            r#"{"until_day":"2099-01-01","no_deep_bends":true}"#,
        );
        assert!(
            answer.starts_with("HTTP/1.1 403"),
            "technician reached {path}"
        );
    }
    assert!(as_tech("/api/v1/roster").starts_with("HTTP/1.1 403"));
    assert_eq!(dock.count("SELECT count(*) FROM work_restriction"), 1);
    for path in [
        "/overview",
        "/tasks",
        &format!("/workers/{worker}"),
        "/api/v1/analysis/overview",
    ] {
        assert!(
            as_tech(path).starts_with("HTTP/1.1 403"),
            "technician reached {path}"
        );
        let anonymous = dock.get_anonymous(path);
        assert!(
            anonymous.starts_with("HTTP/1.1 401") || anonymous.starts_with("HTTP/1.1 303"),
            "stranger reached {path}: {anonymous}"
        );
    }
}
