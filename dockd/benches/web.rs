//! Web page load benchmark. A year of history for 200 workers (one wearable each, ~250 shifts of
//! 8 h each on weekdays) is written straight into a fresh data folder's database: the schema comes
//! from `dockd::store::open_for_writing`, then `worker`, `wearable` and `shift_report` rows are
//! inserted by direct SQL in one transaction with prepared statements (a bench fixture, not the
//! daemon's path: the writer and the analyst are not involved, the pages only read reports). Each
//! report is a real `dockd::analysis::ShiftReport` serialised as the analyst stores it, with counts,
//! rates, zones, alerts, per-hour figures (8 hours) and tasks varied by worker and day, and the
//! settings fingerprint of the config the daemon is started with (so it sees nothing to re-analyse).
//!
//! The real `dockd run` then serves that folder on loopback over plain HTTP (`web.tls = false`:
//! TLS cost stays out of the comparison). The bench signs in like a browser (`POST /api/v1/login`),
//! captures the overview page and its JSON API for a day on which all 200 workers worked, and
//! serves those exact bytes (with the same headers) as static responses from an axum 0.8 + hyper
//! server in the bench process: the same HTTP stack on the same machine, *not* dockd itself (dockd
//! has no route for arbitrary static bytes). `wrk` loads each target in turn with the same
//! threads, connections and duration; the static responses are the ceiling. A benchmark, not a
//! test: it asserts only that the pages answered with the generated data, and prints whether the
//! goal (overview p99 < 50 ms and at least 25 % of the ceiling's requests/s) was met.
//!
//! The page keeps its rendered overview until the database's data version moves, so under a
//! steady load almost every request is served from memory. To show what that leaves out, the
//! bench also times single requests right after a commit (each one rebuilds) and loads the page
//! once more while the bench commits a harmless UPDATE every `CHURN_MS` behind the daemon's back
//! (as pulls, the analyst or audit lines would).
//!
//! Encryption at rest is measured side by side: the history is written unencrypted
//! (`encrypt_database = false`) and the overview page measured on it (loaded, one client, after
//! commits); then the shipped config's start encrypts the same database in place and everything
//! is measured again, and the two are printed next to each other.
//!
//! Run: `cargo bench -p dockd --bench web` (needs `wrk`: `apt-get install wrk`). WORKERS, DAYS,
//! DURATION_S (per wrk run), CONNECTIONS and THREADS override the defaults (200, 365, 10, 50, 2);
//! KEEP=1 keeps the data folder for a closer look.

// A harness, not a daemon path: a failed set-up step should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use dockd::analysis::exposure::{
    AlertStats, Counts, Hoogendoorn, HourMetrics, Iso11226Seconds, LmmFactors, ShiftMetrics,
};
use dockd::analysis::risk::RiskLevel;
use dockd::analysis::tasks::{LifftTask, LifftTotal, NioshTask, TaskExposure, TaskLoad};
use dockd::analysis::{ANALYSIS_VERSION, Settings, ShiftReport};
use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use dockd::worker::WorkerTag;
use web_ui::analysis::AnalysisView;

mod shared;

use shared::env_or;

const DOCKD: &str = env!("CARGO_BIN_EXE_dockd");
const USER: &str = "bench";
const PASSWORD: &str = "bench password for the load test";
const TIME_ZONE: &str = "Europe/Berlin";
const TEAMS: [&str; 4] = ["Goods in", "Picking", "Packing", "Dispatch"];
/// Configured tasks: name, load (kg), lever arm (m), and the team that does it.
const TASKS: [(&str, Option<f64>, Option<f64>, usize); 5] = [
    ("Unloading", Some(18.0), Some(0.45), 0),
    ("Put-away", Some(12.0), Some(0.40), 0),
    ("Picking", Some(8.0), Some(0.35), 1),
    ("Packing", None, None, 2),
    ("Pallet loading", Some(22.0), Some(0.50), 3),
];

fn main() {
    let workers = env_or("WORKERS", 200).max(5) as usize;
    let days = env_or("DAYS", 365).max(7) as i64;
    let seconds = env_or("DURATION_S", 10).max(1);
    let connections = env_or("CONNECTIONS", 50).max(1);
    let threads = env_or("THREADS", 2).clamp(1, connections);
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!(
            "web bench: `wrk` is not installed. Install it (Debian/Ubuntu: `sudo apt-get install -y wrk`) and run again."
        );
        std::process::exit(2);
    }

    let dir = std::env::temp_dir().join(format!("dockd-web-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let port = free_port();
    let web: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config_path = dir.join("dockd.toml");
    let config_text = config_text(&dir.join("data"), web, workers);
    std::fs::write(&config_path, &config_text).expect("write config");
    let config = Config::parse(&config_text, &config_path).expect("the bench's config parses");
    // The same dock with `encrypt_database = false`: the history is written plaintext, measured
    // so, then encrypted in place by the shipped config's first start and measured again.
    let plain_path = dir.join("dockd-unencrypted.toml");
    let plain_text = format!("{config_text}[privacy]\nencrypt_database = false\n");
    std::fs::write(&plain_path, &plain_text).expect("write config");
    let plain_config = Config::parse(&plain_text, &plain_path).expect("the bench's config parses");

    // 1. A year of history, straight into the database.
    let started = Instant::now();
    let history = generate(&plain_config, workers, days);
    let db_mb = std::fs::metadata(config.database_path())
        .map(|m| m.len() as f64 / 1e6)
        .unwrap_or(f64::NAN);
    println!(
        "web: generated {workers} workers × {days} days = {} shift reports ({:.1} KB of JSON each on average, database {db_mb:.0} MB) in {:.1} s",
        history.reports,
        history.json_bytes as f64 / history.reports as f64 / 1e3,
        started.elapsed().as_secs_f64()
    );

    // 2a. Encryption off: the daemon on the plaintext database, the overview page loaded, one
    // client at a time, and right after commits.
    add_user(&plain_path);
    let day = history.full_day.clone();
    let client = reqwest::blocking::Client::new();
    let page_path = format!("/overview?day={day}");
    let unencrypted = {
        let mut dockd = Daemon::start(&plain_path, &dir, web);
        let load = Load {
            seconds,
            connections,
            threads,
            cookie: sign_in(web),
        };
        let url = format!("http://{web}{page_path}");
        let loaded = load.run(&url);
        let single = Load {
            connections: 1,
            threads: 1,
            seconds: seconds.min(5),
            ..load.clone()
        }
        .run(&url);
        let fresh = after_commits(&plain_config, &client, web, &page_path, &load.cookie, 25);
        dockd.stop();
        (loaded, single, fresh)
    };

    // 2. The real daemon as shipped on that folder (its first start encrypts the database in
    // place), and a signed-in session.
    let encrypting = Instant::now();
    let mut dockd = Daemon::start(&config_path, &dir, web);
    let encrypting = encrypting.elapsed();
    assert_eq!(
        dockd::store::key::file_state(&config.database_path()).expect("database"),
        dockd::store::key::FileState::Encrypted
    );
    let cookie = sign_in(web);

    // 3. What the overview page and its JSON API serve for a day on which every worker worked.
    let api_path = format!("/api/v1/analysis/overview?day={day}");
    let page = capture(&client, web, &page_path, &cookie);
    let api = capture(&client, web, &api_path, &cookie);
    let overview: serde_json::Value = serde_json::from_slice(&api.body).expect("overview JSON");
    let rows = overview["workers"].as_array().map_or(0, Vec::len);
    assert_eq!(
        rows, workers,
        "the overview of {day} should list every worker"
    );
    assert!(
        String::from_utf8_lossy(&page.body).matches("<tr").count() > workers,
        "the overview page should have a row per worker"
    );

    // Where an overview request's time goes, in this process over the same database.
    breakdown(&config, &day);

    // 4. The ceiling: the same bytes and headers from the same HTTP stack, in this process.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let ceiling = runtime.block_on(serve_static(page.clone(), api.clone()));

    let load = Load {
        seconds,
        connections,
        threads,
        cookie: cookie.clone(),
    };
    let dock_url = format!("http://{web}");
    let static_url = format!("http://{ceiling}");
    eprintln!(
        "web: wrk -t{threads} -c{connections} -d{seconds}s per target (a 2 s warm-up first) …"
    );
    let static_page = load.run(&format!("{static_url}/static/overview.html"));
    let dock_page = load.run(&format!("{dock_url}{page_path}"));
    let static_api = load.run(&format!("{static_url}/static/overview.json"));
    let dock_api = load.run(&format!("{dock_url}{api_path}"));
    // Service time without queueing: one client at a time.
    let single = Load {
        connections: 1,
        threads: 1,
        seconds: seconds.min(5),
        ..load.clone()
    };
    let dock_page_1 = single.run(&format!("{dock_url}{page_path}"));
    let dock_api_1 = single.run(&format!("{dock_url}{api_path}"));
    // The rendered overview is kept until the data version moves; every commit moves it (new
    // reports, a roster change, but also an audit line or a pull's segment). What the next
    // request costs then, and the page under load while something commits every CHURN_MS.
    let fresh = after_commits(&config, &client, web, &page_path, &cookie, 25);
    let churn = {
        let stop = Arc::new(AtomicBool::new(false));
        let committer = {
            let (stop, db) = (
                Arc::clone(&stop),
                config.existing_database().expect("database key"),
            );
            std::thread::spawn(move || {
                let conn = dockd::store::open_for_writing(&db).expect("open database");
                let mut commits = 0u32;
                while !stop.load(AtomicOrdering::Relaxed) {
                    touch(&conn);
                    commits += 1;
                    std::thread::sleep(Duration::from_millis(CHURN_MS));
                }
                commits
            })
        };
        let result = load.run(&format!("{dock_url}{page_path}"));
        stop.store(true, AtomicOrdering::Relaxed);
        let commits = committer.join().expect("committer");
        assert!(commits > 0);
        result
    };
    let dockd_pid = dockd.child.id();

    // 5. The table and the goal.
    println!();
    println!(
        "web: {workers} workers, day {day}; wrk -t{threads} -c{connections} -d{seconds}s on loopback, plain HTTP; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut table = String::new();
    writeln!(
        table,
        "| target | bytes | requests/s | p50 | p99 | % of ceiling |"
    )
    .unwrap();
    writeln!(table, "| --- | --- | --- | --- | --- | --- |").unwrap();
    let line = |table: &mut String,
                name: &str,
                bytes: usize,
                r: &WrkResult,
                ceiling: Option<&WrkResult>| {
        let share = ceiling.map_or("(ceiling)".to_owned(), |c| {
            format!("{:.1} %", r.requests_per_s / c.requests_per_s * 100.0)
        });
        writeln!(
            table,
            "| {name} | {bytes} | {:.0} | {} | {} | {share} |",
            r.requests_per_s,
            ms(r.p50_ms),
            ms(r.p99_ms)
        )
        .unwrap();
    };
    line(
        &mut table,
        "overview page (dockd)",
        page.body.len(),
        &dock_page,
        Some(&static_page),
    );
    line(
        &mut table,
        "same bytes, static (ceiling)",
        page.body.len(),
        &static_page,
        None,
    );
    line(
        &mut table,
        &format!("overview page, a commit every {CHURN_MS} ms (dockd)"),
        page.body.len(),
        &churn,
        Some(&static_page),
    );
    line(
        &mut table,
        "overview JSON API (dockd)",
        api.body.len(),
        &dock_api,
        Some(&static_api),
    );
    line(
        &mut table,
        "same bytes, static (ceiling)",
        api.body.len(),
        &static_api,
        None,
    );
    print!("{table}");
    println!(
        "web: one client at a time (service time): overview page {:.0} requests/s, p50 {}, p99 {}; JSON API {:.0} requests/s, p50 {}, p99 {}",
        dock_page_1.requests_per_s,
        ms(dock_page_1.p50_ms),
        ms(dock_page_1.p99_ms),
        dock_api_1.requests_per_s,
        ms(dock_api_1.p50_ms),
        ms(dock_api_1.p99_ms)
    );
    println!(
        "web: the overview page right after a commit (rebuilt: the day's reports read and parsed, the page rendered), one client: median {}, max {}; the same request with no commit in between: median {}",
        ms(fresh.after_commit_ms.0),
        ms(fresh.after_commit_ms.1),
        ms(fresh.kept_ms)
    );
    for (name, r) in [
        ("overview page", &dock_page),
        ("overview page while committing", &churn),
        ("JSON API", &dock_api),
        ("static page", &static_page),
        ("static JSON", &static_api),
    ] {
        if !r.problems.is_empty() {
            println!("web: {name}: wrk reported {}", r.problems.join("; "));
        }
    }
    let (plain_loaded, plain_single, plain_fresh) = &unencrypted;
    println!(
        "web: encryption at rest, side by side on the same database (unencrypted first, then encrypted in place by the shipped config's start, which took {:.1} s for {db_mb:.0} MB including the daemon's start):",
        encrypting.as_secs_f64()
    );
    println!("| overview page | unencrypted | encrypted |");
    println!("| --- | --- | --- |");
    println!(
        "| loaded (wrk -c{connections}): requests/s, p99 | {:.0}, {} | {:.0}, {} |",
        plain_loaded.requests_per_s,
        ms(plain_loaded.p99_ms),
        dock_page.requests_per_s,
        ms(dock_page.p99_ms)
    );
    println!(
        "| one client: p50, p99 | {}, {} | {}, {} |",
        ms(plain_single.p50_ms),
        ms(plain_single.p99_ms),
        ms(dock_page_1.p50_ms),
        ms(dock_page_1.p99_ms)
    );
    println!(
        "| right after a commit (rebuilt), median, max | {}, {} | {}, {} |",
        ms(plain_fresh.after_commit_ms.0),
        ms(plain_fresh.after_commit_ms.1),
        ms(fresh.after_commit_ms.0),
        ms(fresh.after_commit_ms.1)
    );
    let share = dock_page.requests_per_s / static_page.requests_per_s * 100.0;
    let met = dock_page.p99_ms < 50.0 && share >= 25.0;
    println!(
        "web: goal (overview p99 < 50 ms and ≥ 25 % of the static ceiling): {} — p99 {}, {share:.1} % of {:.0} requests/s",
        if met { "PASS" } else { "NOT MET" },
        ms(dock_page.p99_ms),
        static_page.requests_per_s
    );
    println!(
        "web: dockd used {:.1} CPU-s over the whole run (peak RSS {:.0} MB)",
        shared::cpu_seconds(&dockd_pid.to_string()),
        shared::peak_rss_mb(dockd_pid)
    );

    dockd.stop();
    drop(runtime);
    if env_or("KEEP", 0) == 1 {
        println!("web: kept the data folder {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The daemon's config: plain HTTP on loopback, the teams and tasks of the generated workers.
fn config_text(data: &Path, web: SocketAddr, workers: usize) -> String {
    let badges = |team: usize| -> Vec<String> {
        (0..workers)
            .filter(|w| w % TEAMS.len() == team)
            .map(badge)
            .collect()
    };
    let list = |items: Vec<String>| {
        items
            .iter()
            .map(|b| format!("{b:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "[storage]\ndata_dir = {data:?}\n[web]\nlisten = \"{web}\"\ntls = false\n\
         [analysis]\ntime_zone = \"{TIME_ZONE}\"\nmin_group_workers = 5\n[analysis.teams]\n"
    );
    for (i, team) in TEAMS.iter().enumerate() {
        writeln!(text, "{team:?} = [{}]", list(badges(i))).unwrap();
    }
    for (name, load, lever, team) in TASKS {
        writeln!(text, "[[analysis.tasks]]\nname = {name:?}").unwrap();
        if let Some(kg) = load {
            writeln!(text, "load_kg = {kg:?}").unwrap();
        }
        if let Some(m) = lever {
            writeln!(text, "lever_arm_m = {m:?}").unwrap();
        }
        writeln!(text, "workers = [{}]", list(badges(team))).unwrap();
    }
    text
}

fn badge(worker: usize) -> String {
    format!("B-{:04}", worker + 1)
}

/// A small deterministic generator (SplitMix64), so every run serves the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `mean` varied by ±`spread` (a fraction).
    fn around(&mut self, mean: f64, spread: f64) -> f64 {
        mean * (1.0 + spread * (2.0 * self.unit() - 1.0))
    }
}

struct History {
    reports: usize,
    json_bytes: usize,
    /// The latest day on which every worker worked.
    full_day: String,
}

/// Writes workers, wearables and a year of weekday shifts as stored reports, in one transaction.
fn generate(config: &Config, workers: usize, days: i64) -> History {
    let settings = &config.analysis;
    let fingerprint = settings.fingerprint();
    let zone = jiff::tz::TimeZone::get(TIME_ZONE).expect("time zone");
    let today = jiff::Timestamp::from_millisecond(SystemClock.now_ms())
        .unwrap()
        .to_zoned(zone.clone())
        .date();
    // Weekdays of the past `days` days, oldest first; the last of them is the full day.
    let weekdays: Vec<jiff::civil::Date> = (1..=days)
        .rev()
        .map(|back| today.checked_sub(jiff::Span::new().days(back)).unwrap())
        .filter(|d| {
            !matches!(
                d.weekday(),
                jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
            )
        })
        .collect();
    let full_day = *weekdays.last().expect("at least one weekday");

    let mut conn = dockd::store::open_for_writing(&config.database().expect("database key"))
        .expect("open database");
    let tx = conn.transaction().unwrap();
    let mut reports = 0;
    let mut json_bytes = 0;
    {
        let mut worker_row = tx
            .prepare("INSERT INTO worker (id, tag) VALUES (?1, ?2)")
            .unwrap();
        let mut wearable_row = tx
            .prepare(
                "INSERT INTO wearable (id, serial, model, hw_rev, firmware, first_seen_ms, last_docked_ms)
                 VALUES (?1, ?2, 1, 2, '1.4.0', ?3, ?4)",
            )
            .unwrap();
        let mut report_row = tx
            .prepare(
                "INSERT INTO shift_report (wearable_id, worker_id, start_ms, end_ms, local_day, risk_level,
                    version, settings, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .unwrap();
        let first_ms = start_of(&weekdays[0], 6, &zone);
        let last_ms = start_of(&full_day, 15, &zone);
        let mut people = Vec::with_capacity(workers);
        for w in 0..workers {
            let id = w as i64 + 1;
            let tag = WorkerTag::from_ascii(&badge(w)).unwrap();
            worker_row
                .execute(rusqlite::params![id, tag.as_bytes().as_slice()])
                .unwrap();
            wearable_row
                .execute(rusqlite::params![
                    id,
                    format!("DW-{:06}", w + 1),
                    first_ms,
                    last_ms
                ])
                .unwrap();
            let mut rng = Rng(0xD0C4_0000 + w as u64);
            let profile = WorkerProfile::new(w, &mut rng);
            people.push((id, profile, rng));
        }
        // Day by day, as the analyst stores them after each day's dockings: one day's reports
        // sit together in the file, as they would on a dock.
        for day in &weekdays {
            for (id, profile, rng) in &mut people {
                // ~4 % of weekdays off (leave, sickness), never the full day.
                if day != &full_day && rng.unit() < 0.04 {
                    continue;
                }
                let report = profile.shift(day, &zone, settings, rng);
                let json = serde_json::to_string(&report).unwrap();
                json_bytes += json.len();
                report_row
                    .execute(rusqlite::params![
                        *id,
                        *id,
                        report.start_ms,
                        report.end_ms,
                        report.local_day,
                        report.risk_level_word(),
                        ANALYSIS_VERSION,
                        fingerprint,
                        json
                    ])
                    .unwrap();
                reports += 1;
            }
        }
    }
    tx.commit().unwrap();
    History {
        reports,
        json_bytes,
        full_day: full_day.to_string(),
    }
}

fn start_of(day: &jiff::civil::Date, hour: i8, zone: &jiff::tz::TimeZone) -> i64 {
    day.at(hour, 0, 0, 0)
        .to_zoned(zone.clone())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

trait LevelWord {
    fn risk_level_word(&self) -> &'static str;
}

impl LevelWord for ShiftReport {
    fn risk_level_word(&self) -> &'static str {
        self.risk_level.word()
    }
}

/// What makes one worker's shifts differ from another's: shift pattern, pace, habits.
struct WorkerProfile {
    team: usize,
    early: bool,
    /// Multiplies every movement rate.
    pace: f64,
    /// Share of deep bends among bends.
    deep_share: f64,
    /// How quickly the worker corrects posture after an alert, ms.
    response_ms: f64,
}

impl WorkerProfile {
    fn new(worker: usize, rng: &mut Rng) -> Self {
        Self {
            team: worker % TEAMS.len(),
            early: rng.unit() < 0.6,
            pace: rng.around(1.0, 0.45),
            deep_share: rng.around(0.25, 0.6),
            response_ms: rng.around(1400.0, 0.5),
        }
    }

    /// One 8-hour shift on `day` with figures varied by worker and day.
    fn shift(
        &self,
        day: &jiff::civil::Date,
        zone: &jiff::tz::TimeZone,
        settings: &Settings,
        rng: &mut Rng,
    ) -> ShiftReport {
        let start_hour: i8 = if self.early { 6 } else { 14 };
        let start_ms = start_of(day, start_hour, zone);
        let end_ms = start_ms + 8 * 3_600_000;
        let busy = self.pace * rng.around(1.0, 0.25);
        let mut per_hour = Vec::with_capacity(8);
        let mut total = Counts::default();
        let mut wear_s = 0.0;
        for h in 0..8u8 {
            // A 30-minute break in the fourth hour; a few minutes undocked in the first.
            let hour_wear = match h {
                3 => 1800.0,
                0 => 3600.0 - (rng.unit() * 300.0).round(),
                _ => 3600.0,
            };
            let scale = busy * hour_wear / 3600.0 * if h >= 6 { 0.85 } else { 1.0 };
            let bends = (rng.around(48.0, 0.3) * scale).round() as u32;
            let deep = (f64::from(bends) * self.deep_share * rng.around(1.0, 0.3)).round() as u32;
            let lifts = (rng.around(22.0, 0.4) * scale).round() as u32;
            let stoop = (f64::from(lifts) * rng.around(0.6, 0.3))
                .round()
                .min(f64::from(lifts)) as u32;
            let counts = Counts {
                bends,
                deep_bends: deep.min(bends),
                twists: (rng.around(30.0, 0.4) * scale).round() as u32,
                lateral_bends: (rng.around(12.0, 0.5) * scale).round() as u32,
                reaches: (rng.around(18.0, 0.5) * scale).round() as u32,
                lifts,
                stoop_lifts: stoop,
                squat_lifts: lifts - stoop,
                static_postures: (rng.around(3.0, 0.8) * scale).round() as u32,
            };
            add(&mut total, &counts);
            wear_s += hour_wear;
            per_hour.push(HourMetrics {
                hour_start_ms: start_ms + i64::from(h) * 3_600_000,
                hour_of_day: start_hour as u8 + h,
                wear_s: hour_wear,
                counts,
            });
        }
        let not_acceptable = wear_s * rng.around(0.03, 0.8) * self.pace;
        let conditional = wear_s * rng.around(0.12, 0.5);
        let flexion_60 = rng.around(0.03, 0.9) * self.pace;
        let alerts = (rng.around(4.0, 0.9) * busy * self.deep_share * 4.0).round() as u32;
        let uncorrected = (f64::from(alerts) * rng.unit() * 0.2).round() as u32;
        let median = (alerts > uncorrected).then(|| rng.around(self.response_ms, 0.2) as u32);
        let hours = wear_s / 3600.0;
        let deep_per_h = f64::from(total.deep_bends) / hours;
        let lifts_per_h = f64::from(total.lifts) / hours;

        let mut tasks = Vec::new();
        let mine: Vec<_> = TASKS.iter().filter(|t| t.3 == self.team).collect();
        let split = if mine.len() > 1 {
            rng.around(0.6, 0.3)
        } else {
            1.0
        };
        let mut damage = 0.0;
        for (i, (name, load, lever, _)) in mine.iter().enumerate() {
            let share = if i == 0 { split } else { 1.0 - split };
            let lifts = (f64::from(total.lifts) * share).round() as u32;
            let lifft = load.zip(*lever).map(|(kg, m)| {
                let plm = kg * 9.81 * m * rng.around(1.0, 0.1);
                let per_cycle = 1.0 / (902_416.0 * (-0.162 * plm).exp());
                damage += per_cycle * f64::from(lifts);
                LifftTask {
                    plm_nm: plm,
                    damage_per_cycle: per_cycle,
                    cumulative_damage: per_cycle * f64::from(lifts),
                    over_100_nm: plm > 100.0,
                }
            });
            tasks.push(TaskLoad {
                task: (*name).to_owned(),
                seconds: wear_s * share,
                lifts,
                counts: scaled(&total, share),
                lifft,
                niosh: load.map(|kg| NioshTask {
                    rwl_kg: rng.around(15.0, 0.2),
                    lifting_index: Some(kg / 15.0),
                }),
                needs: if load.is_none() {
                    vec![dockd::analysis::tasks::NEEDS_LOAD.to_owned()]
                } else {
                    Vec::new()
                },
            });
        }
        let lifft = (damage > 0.0).then(|| LifftTotal {
            cumulative_damage: damage,
            probability: {
                let y = 1.7229 + 1.0239 * damage.log10();
                1.0 / (1.0 + (-y).exp())
            },
        });

        let limits = &settings.risk;
        let _ = limits;
        let mut reasons = Vec::new();
        let risk_level = if deep_per_h > 14.0 || flexion_60 > 0.05 {
            reasons.push(format!(
                "Deep bends: {deep_per_h:.1} per hour, more than the site's usual level."
            ));
            if flexion_60 > 0.05 {
                reasons.push(format!(
                    "Bent forward 60° or more for {:.0} % of the worn time (over 5 %).",
                    flexion_60 * 100.0
                ));
            }
            RiskLevel::High
        } else if deep_per_h > 9.0 || lifts_per_h > 26.0 {
            reasons.push(format!(
                "Lifts: {lifts_per_h:.1} per hour; deep bends {deep_per_h:.1} per hour."
            ));
            RiskLevel::Medium
        } else {
            reasons.push("No movement rate above the site's usual level.".to_owned());
            RiskLevel::Low
        };

        ShiftReport {
            version: ANALYSIS_VERSION,
            start_ms,
            end_ms,
            local_day: day.to_string(),
            metrics: ShiftMetrics {
                wear_s,
                counts: total,
                per_hour,
                iso11226_s: Iso11226Seconds {
                    acceptable: wear_s - conditional - not_acceptable,
                    conditional,
                    not_acceptable,
                },
                hoogendoorn: Hoogendoorn {
                    flexion_60_fraction: flexion_60,
                    flexion_flag: flexion_60 > 0.05,
                    rotation_flag: None,
                    heavy_lifts: Some(0),
                    heavy_lift_flag: Some(false),
                },
                lmm_factors: LmmFactors {
                    lift_rate_per_h: lifts_per_h,
                    max_flexion_deg: rng.around(85.0, 0.15),
                    avg_twist_dps: rng.around(9.0, 0.4),
                    max_lateral_dps: rng.around(38.0, 0.3),
                },
                alerts: AlertStats {
                    count: alerts,
                    haptic_rate: (alerts > 0).then(|| rng.around(0.97, 0.03).min(1.0)),
                    median_response_ms: median,
                    p90_response_ms: median.map(|m| (f64::from(m) * 1.8) as u32),
                    uncorrected,
                    nuisance: Default::default(),
                },
            },
            tasks: TaskExposure { tasks, lifft },
            risk_level,
            reasons,
        }
    }
}

fn add(total: &mut Counts, c: &Counts) {
    total.bends += c.bends;
    total.deep_bends += c.deep_bends;
    total.twists += c.twists;
    total.lateral_bends += c.lateral_bends;
    total.reaches += c.reaches;
    total.lifts += c.lifts;
    total.stoop_lifts += c.stoop_lifts;
    total.squat_lifts += c.squat_lifts;
    total.static_postures += c.static_postures;
}

fn scaled(c: &Counts, share: f64) -> Counts {
    let s = |v: u32| (f64::from(v) * share).round() as u32;
    Counts {
        bends: s(c.bends),
        deep_bends: s(c.deep_bends),
        twists: s(c.twists),
        lateral_bends: s(c.lateral_bends),
        reaches: s(c.reaches),
        lifts: s(c.lifts),
        stoop_lifts: s(c.stoop_lifts),
        squat_lifts: s(c.squat_lifts),
        static_postures: s(c.static_postures),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `dockd user add` with the password on stdin, as an operator would.
fn add_user(config: &Path) {
    use std::io::Write;
    let mut child = Command::new(DOCKD)
        .args(["user", "add", USER, "--role", "supervisor", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dockd user add");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "dockd user add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(config: &Path, dir: &Path, web: SocketAddr) -> Self {
        let log = std::fs::File::create(dir.join("dockd.log")).unwrap();
        let mut child = Command::new(DOCKD)
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start dockd");
        let started = Instant::now();
        while TcpStream::connect(web).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "dockd exited with {status}: {}",
                    std::fs::read_to_string(dir.join("dockd.log")).unwrap_or_default()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "dockd did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child }
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Signs in through `POST /api/v1/login`; returns the session cookie as `name=value`.
fn sign_in(web: SocketAddr) -> String {
    let response = reqwest::blocking::Client::new()
        .post(format!("http://{web}/api/v1/login"))
        .json(&serde_json::json!({ "username": USER, "password": PASSWORD }))
        .send()
        .expect("sign in");
    assert!(
        response.status().is_success(),
        "sign-in failed: {}",
        response.status()
    );
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("dockd_session="))
        .expect("a dockd_session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// A response as dockd served it: body and the headers worth repeating.
#[derive(Clone)]
struct Captured {
    headers: HeaderMap,
    body: Bytes,
}

fn capture(
    client: &reqwest::blocking::Client,
    web: SocketAddr,
    path: &str,
    cookie: &str,
) -> Captured {
    let response = client
        .get(format!("http://{web}{path}"))
        .header("Cookie", cookie)
        .send()
        .expect("GET");
    assert!(
        response.status().is_success(),
        "GET {path}: {}",
        response.status()
    );
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if matches!(
            name.as_str(),
            "date" | "content-length" | "transfer-encoding" | "connection" | "set-cookie"
        ) {
            continue;
        }
        headers.append(
            HeaderName::from_bytes(name.as_str().as_bytes()).unwrap(),
            HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    let body = Bytes::from(response.bytes().expect("body").to_vec());
    Captured { headers, body }
}

/// Serves the captured responses as static bytes from axum 0.8 + hyper (the stack dockd uses
/// without TLS) on a loopback port; returns its address.
async fn serve_static(page: Captured, api: Captured) -> SocketAddr {
    let page = Arc::new(page);
    let api = Arc::new(api);
    let respond = |c: Arc<Captured>| {
        move || {
            let c = c.clone();
            async move { (c.headers.clone(), c.body.clone()) }
        }
    };
    let app = axum::Router::new()
        .route("/static/overview.html", axum::routing::get(respond(page)))
        .route("/static/overview.json", axum::routing::get(respond(api)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// How often the churn run commits behind the daemon's back.
const CHURN_MS: u64 = 200;

/// A commit that changes nothing the pages show, but moves the data version as any commit does.
/// (It must change a value: SQLite writes no page for an UPDATE that leaves the row as it was,
/// and then the data version stays put.)
fn touch(conn: &rusqlite::Connection) {
    conn.execute(
        "UPDATE wearable SET last_docked_ms = last_docked_ms + 1 WHERE id = 1",
        [],
    )
    .expect("commit");
}

struct Fresh {
    /// Median and maximum of a request right after a commit.
    after_commit_ms: (f64, f64),
    /// Median of the same request without a commit before it.
    kept_ms: f64,
}

/// Times `rounds` requests for `path`, each right after a commit, and as many without one.
fn after_commits(
    config: &Config,
    client: &reqwest::blocking::Client,
    web: SocketAddr,
    path: &str,
    cookie: &str,
    rounds: usize,
) -> Fresh {
    let conn = dockd::store::open_for_writing(&config.database().expect("database key"))
        .expect("open database");
    let timed = |commit: bool| -> Vec<f64> {
        let mut times: Vec<f64> = (0..rounds)
            .map(|_| {
                if commit {
                    touch(&conn);
                }
                let started = Instant::now();
                let _ = capture(client, web, path, cookie);
                started.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times
    };
    let after = timed(true);
    let kept = timed(false);
    Fresh {
        after_commit_ms: (after[after.len() / 2], after[after.len() - 1]),
        kept_ms: kept[kept.len() / 2],
    }
}

#[derive(Clone)]
struct Load {
    seconds: u64,
    connections: u64,
    threads: u64,
    cookie: String,
}

#[derive(Debug, Clone)]
struct WrkResult {
    requests_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Non-2xx answers and socket errors, as wrk words them.
    problems: Vec<String>,
}

impl Load {
    fn wrk(&self, url: &str, seconds: u64) -> String {
        let out = Command::new("wrk")
            .arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{seconds}s"))
            // wrk leaves requests slower than its timeout (2 s by default) out of the latency
            // distribution; a long timeout keeps slow answers in the p99.
            .args(["--timeout", "30s", "--latency", "-H"])
            .arg(format!("Cookie: {}", self.cookie))
            .arg(url)
            .output()
            .expect("run wrk");
        assert!(
            out.status.success(),
            "wrk failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run(&self, url: &str) -> WrkResult {
        let _ = self.wrk(url, 2);
        let text = self.wrk(url, self.seconds);
        let result = parse_wrk(&text);
        assert!(
            result.requests_per_s > 0.0,
            "wrk measured nothing for {url}:\n{text}"
        );
        result
    }
}

/// Requests/s, the 50 % and 99 % latencies and any errors from `wrk --latency` output.
fn parse_wrk(text: &str) -> WrkResult {
    let mut percentiles = BTreeMap::new();
    let mut requests_per_s = 0.0;
    let mut problems = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(rate) = line.strip_prefix("Requests/sec:") {
            requests_per_s = rate.trim().parse().unwrap_or(0.0);
        } else if line.starts_with("Non-2xx") || line.starts_with("Socket errors") {
            problems.push(line.to_owned());
        } else if let Some((p, value)) = line.split_once('%')
            && let Ok(p) = p.trim().parse::<u32>()
            && let Some(v) = duration_ms(value.trim())
        {
            percentiles.insert(p, v);
        }
    }
    WrkResult {
        requests_per_s,
        p50_ms: percentiles.get(&50).copied().unwrap_or(f64::NAN),
        p99_ms: percentiles.get(&99).copied().unwrap_or(f64::NAN),
        problems,
    }
}

/// wrk's `635.91us`, `3.56ms`, `1.20s`, `2.00m` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match unit {
        "us" => 1e-3,
        "ms" => 1.0,
        "s" => 1e3,
        "m" => 60e3,
        "h" => 3600e3,
        _ => return None,
    };
    Some(number * factor)
}

fn ms(value: f64) -> String {
    if value < 1.0 {
        format!("{:.2} ms", value)
    } else if value < 10.0 {
        format!("{value:.1} ms")
    } else {
        format!("{value:.0} ms")
    }
}

/// Times the steps of one overview in this process, over the same database (read-only), as the
/// daemon's `StoredAnalysis` runs them: median of several runs each.
fn breakdown(config: &Config, day: &str) {
    let db = config.existing_database().expect("database key");
    let reader = dockd::store::Reader::open(&db).expect("reader");
    let pseudonyms = Arc::new(
        dockd::worker::Pseudonyms::load_or_create(&config.storage.data_dir.join("pseudonym.key"))
            .expect("pseudonym key"),
    );
    let site = Arc::new(dockd::site::SiteSettings::fixed(config.analysis.clone()));
    let views = {
        let (db, site, pseudonyms) = (db.clone(), Arc::clone(&site), Arc::clone(&pseudonyms));
        move || {
            dockd::views::analysis::StoredAnalysis::new(
                dockd::store::Reader::open(&db).expect("reader"),
                dockd::store::Reader::open(&db).expect("probe reader"),
                Arc::clone(&site),
                Arc::clone(&pseudonyms),
                Arc::new(SystemClock),
            )
        }
    };
    let view = views();
    let median = |mut f: Box<dyn FnMut()>| {
        let mut times: Vec<f64> = (0..9)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let days_ms = {
        let r = reader.clone();
        median(Box::new(move || {
            std::hint::black_box(r.report_days().unwrap());
        }))
    };
    let around_ms = {
        let (r, d) = (reader.clone(), day.to_owned());
        median(Box::new(move || {
            std::hint::black_box(r.report_days_around(Some(&d)).unwrap());
        }))
    };
    let rows_ms = {
        let (r, d) = (reader.clone(), day.to_owned());
        median(Box::new(move || {
            std::hint::black_box(r.worker_reports_between_days(&d, &d).unwrap());
        }))
    };
    let rows = reader.worker_reports_between_days(day, day).unwrap();
    let parse_ms = median(Box::new(move || {
        for r in &rows {
            std::hint::black_box(serde_json::from_str::<ShiftReport>(&r.report).unwrap());
        }
    }));
    let view = Arc::new(view);
    // What every request pays before a kept answer is served: the data version (one
    // `PRAGMA data_version` on the probe connection). 1000 calls in ms = µs per call.
    let version_us = {
        let view = Arc::clone(&view);
        median(Box::new(move || {
            for _ in 0..1000 {
                std::hint::black_box(view.version());
            }
        }))
    };
    // A build from scratch (fresh views, so nothing kept; opening their two connections
    // included), as after a commit; then the kept one.
    let built_ms = {
        let d = day.to_owned();
        median(Box::new(move || {
            std::hint::black_box(views().overview(Some(&d)));
        }))
    };
    let overview_ms = {
        let d = day.to_owned();
        median(Box::new(move || {
            std::hint::black_box(view.overview(Some(&d)));
        }))
    };
    println!(
        "web: one overview in-process (median of 9): StoredAnalysis::overview built {built_ms:.2} ms (kept: {overview_ms:.2} ms) = the day and its neighbours {around_ms:.3} ms + the day's reports {rows_ms:.2} ms + parsing them {parse_ms:.2} ms + building the rows; the page's HTML/JSON rendering comes on top, once per data version and selection. (Listing every day with reports, as the overview did before, takes {days_ms:.0} ms: it reads every report row.) The data version every request asks for first: {version_us:.1} µs."
    );
}
