//! The command line as a user meets it: config mistakes, `check-config` with an `[upload]` section (its secrets read, never shown), a site key file (shown by `dockd status`,
//! a malformed one refused at start), `dockd status` before anything ran, and
//! `dockd demo` doing its whole job with no set-up: a clean first screen, and wearables that dock
//! and re-dock with the day before's shift.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{DOCKD, Dock, TestDir, free_port, http_get, http_request, wait_for};

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(DOCKD).args(args).output().expect("run dockd");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_config_with_an_unknown_key_is_refused_naming_the_key_and_the_file() {
    let dir = TestDir::new("badkey");
    let config = dir.join("dockd.toml");
    std::fs::write(&config, "[storage]\ndata_dir = \"/tmp/x\"\ndatadir = 3\n").unwrap();
    for command in ["run", "check-config"] {
        let (ok, text) = run(&[command, "--config", config.to_str().unwrap()]);
        assert!(!ok, "{command} accepted a bad config");
        assert!(
            text.contains("datadir") && text.contains(config.to_str().unwrap()),
            "{text}"
        );
    }
}

#[test]
fn a_config_with_a_bad_value_is_refused_naming_the_key() {
    let dir = TestDir::new("badvalue");
    let config = dir.join("dockd.toml");
    std::fs::write(&config, "[usb]\nids = [\"1209-4B57\"]\n").unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("ids") && text.contains("1209-4B57"), "{text}");

    // A task name longer than the Settings page allows: refused in the page's words.
    let task = "t".repeat(81);
    std::fs::write(
        &config,
        format!("[[analysis.tasks]]\nname = \"{task}\"\nwindows = [\"06:00-10:00\"]\n"),
    )
    .unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("analysis.tasks") && text.contains(web_ui::rules::TASK_NAME_WORDS),
        "{text}"
    );
}

#[test]
fn check_config_reads_the_upload_secrets_and_shows_the_target_but_never_a_secret() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::new("checkupload");
    let config = dir.join("dockd.toml");
    let token = dir.join("upload.token");
    std::fs::write(&token, "s3cr3t-dock-token\n").unwrap();
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o640)).unwrap();
    let section = format!(
        "[upload]\nurl = \"https://ingest.example/v1/batches\"\nsite = \"plant-a\"\ntoken_file = {token:?}\n"
    );
    std::fs::write(&config, &section).unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(
        text.contains("upload: HTTPS https://ingest.example/v1/batches"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
    // A token file others may read is used, with a warning naming the key and the file.
    assert!(
        text.contains("upload.token_file") && text.contains("can be read by other users"),
        "{text}"
    );
    // An empty token file is refused, naming the key; plain http is refused at all.
    std::fs::write(&token, "\n").unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok && text.contains("upload.token_file"), "{text}");
    std::fs::write(&config, section.replace("https://", "http://")).unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok && text.contains("encryption in transit"), "{text}");
}

#[test]
fn check_config_never_prints_a_badge_tag_nor_echoes_a_bad_one() {
    let dir = TestDir::new("checkconfig");
    let config = dir.join("dockd.toml");
    let tags = "[analysis.teams]\npacking = [\"KW-TAG-0001\", \"KW-TAG-0002\"]\n\
                [[analysis.tasks]]\nname = \"lifting\"\nworkers = [\"KW-TAG-0003\"]\n";
    // A PIN an older version accepted: the config still loads, and says the actions are off.
    std::fs::write(&config, format!("{tags}[serial]\npin = \"q7Zx\"\n")).unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(ok, "{text}");
    assert!(!text.contains("KW-TAG") && !text.contains("q7Zx"), "{text}");
    assert!(
        text.contains("packing") && text.contains("(2 badge tags)"),
        "{text}"
    );
    assert!(
        text.contains("serial.pin is shorter than 6 characters"),
        "{text}"
    );
    // The daemon starts with it too, and says in its log why the PIN actions are off.
    let mut dock = Dock::start_with_tables(
        "shortpin",
        &format!(
            "[serial]\nport = {:?}\npin = \"q7Zx\"\n",
            dir.join("no-such-tty")
        ),
    );
    assert!(dock.get_anonymous("/healthz").ends_with("ok"));
    let log = dock.log();
    assert!(
        log.contains("WARN") && log.contains("shorter than 6 characters") && !log.contains("q7Zx"),
        "{log}"
    );
    assert!(dock.stop().success());

    let bad = "[analysis.teams]\npacking = [\"KW-TAG-0001\", \"KW-TAG-MUCH-TOO-LONG-1\"]\n";
    std::fs::write(&config, bad).unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(text.contains("analysis.teams.packing[1]"), "{text}");
    assert!(!text.contains("KW-TAG"), "{text}");
    let garbled = "[analysis.teams]\npacking = [\"KW-TAG-0001\", KW-TAG-0002]\n";
    std::fs::write(&config, garbled).unwrap();
    let (ok, text) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        text.contains("analysis.teams.packing") && !text.contains("KW-TAG"),
        "{text}"
    );
}

#[test]
fn status_before_the_dock_ever_ran_says_where_it_looked() {
    let dir = TestDir::new("nostatus");
    let config = dir.join("dockd.toml");
    std::fs::write(
        &config,
        format!("[storage]\ndata_dir = {:?}\n", dir.join("data")),
    )
    .unwrap();
    let (ok, text) = run(&["status", "--json", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        text.contains("no database at") && text.contains("dockd.db"),
        "{text}"
    );
}

/// Lines a child writes to a pipe, collected by a thread as they come.
fn collect_lines(pipe: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    lines
}

/// Appends every line received so far to `text`.
fn drain_into(lines: &std::sync::mpsc::Receiver<String>, text: &mut String) {
    while let Ok(line) = lines.try_recv() {
        text.push_str(&line);
        text.push('\n');
    }
}

#[test]
fn the_demo_docks_emulated_wearables_stores_their_logs_and_serves_the_page() {
    let dir = TestDir::new("demo");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(DOCKD)
        .args([
            "demo",
            "--wearables",
            "2",
            "--shift-minutes",
            "30",
            "--listen",
            &listen,
            "--data",
        ])
        .arg(dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = listen.parse().unwrap();
    // The demo prints its address and a sign-in for this run on stdout, and logs on stderr; read
    // both as they come.
    let lines = collect_lines(child.stdout.take().unwrap());
    let logs = collect_lines(child.stderr.take().unwrap());
    let mut printed = String::new();
    let password = wait_for("the demo's sign-in", Duration::from_secs(60), || {
        drain_into(&lines, &mut printed);
        printed
            .split("with the password ")
            .nth(1)
            .and_then(|rest| rest.split(" (").next())
            .map(str::to_owned)
    });
    let body = serde_json::json!({ "username": "demo", "password": password }).to_string();
    let signed_in = wait_for("the demo page", Duration::from_secs(30), || {
        std::net::TcpStream::connect(addr).ok().map(|_| {
            http_request(
                addr,
                "POST",
                "/api/v1/login",
                &[("Content-Type", "application/json")],
                &body,
            )
        })
    });
    assert!(signed_in.starts_with("HTTP/1.1 200"), "{signed_in}");
    let cookie = signed_in
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    assert!(
        http_get(addr, "/api/v1/status").starts_with("HTTP/1.1 401"),
        "the demo's page needs a sign-in too"
    );
    let get = |path: &str| http_request(addr, "GET", path, &[("Cookie", &cookie)], "");
    let page = wait_for(
        "both demo wearables on the page with stored logs",
        Duration::from_secs(60),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("dockd demo exited early: {status}");
            }
            let page = get("/api/v1/status");
            let stored = page.matches("\"segments_stored\":1").count()
                + page.matches("\"segments_stored\":2").count();
            (page.contains("KW-000001") && page.contains("KW-000002") && stored >= 2)
                .then_some(page)
        },
    );
    assert!(page.contains("200 OK"), "{page}");
    assert!(get("/").contains("KW-000001"));
    // The wearable leaves although the dock refreshes it every 5 s, and comes back with the same
    // hours of the day before: the demo fills a history.
    // The demo keeps its database key beside its data folder.
    let store = dockd::store::Database::existing(
        &dir.join("data").join("dockd.db"),
        &dir.join("data.database-key"),
    )
    .unwrap();
    let db = dockd::store::open_for_reading(&store).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    let shift_starts = wait_for(
        "a second docking of KW-000001 with stored segments",
        Duration::from_secs(150),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("dockd demo exited early: {status}");
            }
            let starts: Vec<i64> = db
                .prepare(
                    "SELECT MIN(s.first_wall_ms) FROM docking d JOIN wearable w ON w.id = d.wearable_id \
                     JOIN segment s ON s.docking_id = d.id WHERE w.serial = 'KW-000001' \
                     GROUP BY d.id ORDER BY d.id",
                )
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            (starts.len() >= 2).then_some(starts)
        },
    );
    // The same hours a day earlier, to within one 25 Hz sample: a wall time is the anchor plus
    // the sample's offset, rounded to the millisecond, so two days' first samples may differ by 1.
    let a_day_apart = shift_starts[0] - shift_starts[1] - 24 * 3_600_000;
    assert!(
        a_day_apart.abs() <= 40,
        "the second docking brings the same hours a day earlier: {shift_starts:?}"
    );
    let mut logged = String::new();
    drain_into(&logs, &mut logged);
    // A clean first screen and clean rounds: no warning at all (plain HTTP on loopback is a note),
    // no failed docking.
    let warnings: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(
        warnings.is_empty(),
        "the demo ran two rounds with warnings: {warnings:#?}"
    );
    assert!(logged.contains("Emulated wearable drained"), "{logged}");
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = wait_for(
        "the demo to stop on Ctrl-C",
        Duration::from_secs(20),
        || child.try_wait().unwrap(),
    );
    assert!(status.success(), "demo exit status {status}");
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        printed.push_str(&line);
        printed.push('\n');
    }
    assert!(
        printed.contains("stopped after") && !printed.contains("stopped after 2 dockings"),
        "more dockings than wearables: {printed}"
    );
    assert!(
        printed.contains(&format!("http://{listen}/")),
        "the demo prints its address: {printed}"
    );
    assert!(dir.join("data").join("dockd.db").exists());
}

#[test]
fn dockd_emulate_plays_wearables_over_tcp_against_a_running_dock() {
    let port = free_port();
    let dock = Dock::start_with("emulate", &format!("emulator_tcp = \"127.0.0.1:{port}\""));
    let out = Command::new(DOCKD)
        .args(["emulate", "--connect", &format!("tcp:127.0.0.1:{port}")])
        .args([
            "--wearables",
            "2",
            "--shift-minutes",
            "60",
            "--segment-minutes",
            "20",
            "--first-serial",
            "500",
        ])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        assert_eq!(line["erased"], line["segments"], "{line}");
        assert_eq!(line["left_on_wearable"], 0);
    }
    let status = dock.status_json();
    for line in &lines {
        let serial = line["serial"].as_str().unwrap();
        let entry = status["wearables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["serial"] == serial)
            .unwrap();
        assert_eq!(entry["samples_stored"], line["samples"]);
        assert_eq!(entry["alerts_stored"], line["alerts"]);
        assert_eq!(entry["transport"], "emulated");
    }
}

/// The README's example site key ("Pseudonyms") and its public id.
pub(crate) const SITE_KEY_HEX: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
pub(crate) const SITE_KEY_ID: &str = "30870ae091a5b9f9";

/// `dockd run` on `config` expected to stop at start: its exit code and what it printed. A daemon
/// still running after 20 s is killed and fails the test.
pub(crate) fn start_refused(config: &std::path::Path) -> (Option<i32>, String) {
    let mut child = Command::new(DOCKD)
        .args(["run", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dockd");
    let status = wait_for("dockd to refuse to start", Duration::from_secs(20), || {
        child.try_wait().unwrap()
    });
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (status.code(), text)
}

#[test]
fn a_site_key_is_shown_by_status_and_the_page_and_a_malformed_key_stops_the_start_unreplaced() {
    let keys = TestDir::new("site-key-file");
    let site_key = keys.join("site.key");
    // One hex digit short: refused, naming the file and the problem, never the key's digits.
    std::fs::write(&site_key, format!("{}\n", &SITE_KEY_HEX[..63])).unwrap();
    let data = keys.join("data");
    let config = keys.join("dockd.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {data:?}\n[web]\nlisten = \"127.0.0.1:{}\"\ntls = false\n\
             [privacy]\nsite_key_file = {site_key:?}\n",
            free_port()
        ),
    )
    .unwrap();
    let (code, text) = start_refused(&config);
    assert_eq!(code, Some(1), "{text}");
    let (ok, checked) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    for text in [&text, &checked] {
        assert!(
            text.contains(site_key.to_str().unwrap())
                && text.contains("has 63 hex characters, not 64"),
            "{text}"
        );
        assert!(!text.contains(&SITE_KEY_HEX[..20]), "{text}");
    }
    assert!(!data.join("pseudonym.key").exists(), "no dock key instead");
    assert_eq!(
        std::fs::read_to_string(&site_key).unwrap(),
        format!("{}\n", &SITE_KEY_HEX[..63])
    );

    // The good file (upper case, a newline at the end): status and the page name the site key.
    std::fs::write(&site_key, format!("{}\n", SITE_KEY_HEX.to_uppercase())).unwrap();
    let (ok, checked) = run(&["check-config", "--config", config.to_str().unwrap()]);
    assert!(
        ok && checked.contains(&format!(
            "privacy.site_key_file: a site key, id {SITE_KEY_ID}"
        )),
        "{checked}"
    );
    let privacy = format!("[privacy]\nsite_key_file = {site_key:?}\n");
    let mut dock = Dock::start_with_tables("site-key", &privacy);
    let status = dock.status_json();
    assert_eq!(status["pseudonym_key"]["source"], "site", "{status}");
    assert_eq!(status["pseudonym_key"]["key_id"], SITE_KEY_ID, "{status}");
    assert_eq!(
        status["pseudonym_key"]["key_ids_used"],
        serde_json::json!([SITE_KEY_ID])
    );
    let (code, diagnostics) = dock.api("GET", "/api/v1/diagnostics", &serde_json::Value::Null);
    assert_eq!(code, 200, "{diagnostics}");
    assert_eq!(
        diagnostics["host"]["pseudonym_key"],
        serde_json::json!({ "source": "site", "key_id": SITE_KEY_ID })
    );
    let text = Command::new(DOCKD)
        .args(["status", "--config"])
        .arg(&dock.config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "Pseudonym key: the site's key ([privacy] site_key_file), id {SITE_KEY_ID}"
        )),
        "{text}"
    );
    assert!(!dock.dir.join("data").join("pseudonym.key").exists());
    assert!(!dock.log().contains(&SITE_KEY_HEX[..20]));

    // Without the site key the dock makes its own: a change, audited and logged, both ids kept.
    assert!(dock.stop().success());
    let own = std::fs::read_to_string(&dock.config)
        .unwrap()
        .replace(&privacy, "");
    std::fs::write(&dock.config, own).unwrap();
    dock.restart();
    let status = dock.status_json();
    let dock_key_id = status["pseudonym_key"]["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status["pseudonym_key"]["source"], "dock", "{status}");
    assert_ne!(dock_key_id, SITE_KEY_ID);
    assert_eq!(
        status["pseudonym_key"]["key_ids_used"],
        serde_json::json!([SITE_KEY_ID, dock_key_id])
    );
    let audited =
        format!("pseudonym key changed from {SITE_KEY_ID} (site) to {dock_key_id} (dock)");
    assert_eq!(
        dock.count(&format!(
            "SELECT count(*) FROM audit WHERE subject = '{audited}' AND user = 'dockd (start)'"
        )),
        1
    );
    assert!(
        dock.log().contains("Pseudonym key changed"),
        "{}",
        dock.log()
    );

    // A damaged dock key is never replaced: the start stops, the file stays as it was.
    assert!(dock.stop().success());
    let dock_key = dock.dir.join("data").join("pseudonym.key");
    let mut damaged = std::fs::read(&dock_key).unwrap();
    damaged.pop();
    std::fs::write(&dock_key, &damaged).unwrap();
    let (code, text) = start_refused(&dock.config);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(dock_key.to_str().unwrap()) && text.contains("has 31 bytes, not 32"),
        "{text}"
    );
    assert_eq!(std::fs::read(&dock_key).unwrap(), damaged);
}

#[test]
fn dockd_selftest_reproduces_every_reference_shifts_committed_counts_and_exits_zero() {
    let (ok, text) = run(&["selftest"]);
    assert!(ok, "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("ok    ")).count(),
        3,
        "{text}"
    );
    assert!(
        text.contains("3 reference shifts reproduce their committed counts"),
        "{text}"
    );
    let out = Command::new(DOCKD)
        .args(["selftest", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert!(
        report["shifts"][0]["found"]["bends"].as_u64().unwrap() > 0,
        "{report}"
    );
}
