//! The command line as a user meets it: config mistakes, `dockd status` before anything ran, and
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
    let db = rusqlite::Connection::open_with_flags(
        dir.join("data").join("dockd.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
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
