//! End-to-end: the dock's own diagnostics with real parts — a real gpsd (gpsfake replaying the
//! BU-353-S4 recording), a fake sysfs power tree, a real pseudo-terminal for the technician's
//! console (socat) — against the real binary with an emulated wearable docked: `dockd status`,
//! the console and the Diagnostics page show the fix, the dock's power and the wearable's battery,
//! and none of them carries anything about a worker.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dockd::emulator::{Faults, dock_until_drained};
use dockd::transport::LinkAddr;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::spine::{fleet, shift};
use crate::support::{Dock, add_user, free_port, http_request, wait_for};

const GPSFAKE: &str = "/usr/bin/gpsfake";
pub(crate) const SOCAT: &str = "/usr/bin/socat";
/// The console's prompt on a dock named "dock".
pub(crate) const PROMPT: &str = "dock> ";

fn recording(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data/gps")
        .join(name);
    assert!(path.is_file(), "{} missing", path.display());
    path
}

/// A child process group (gpsfake and its gpsd; socat), killed on drop.
pub(crate) struct Group(Child);

impl Group {
    pub(crate) fn spawn(command: &mut Command) -> Self {
        use std::os::unix::process::CommandExt;
        Group(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start {command:?}: {e} (tests/run.sh installs it)")),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// A sysfs tree of a dock on a discharging UPS at 64 %, with mains gone and one thermal zone.
fn fake_sysfs(root: &Path) {
    let ups = root.join("class/power_supply/ups0");
    std::fs::create_dir_all(&ups).unwrap();
    for (file, value) in [
        ("type", "UPS"),
        ("status", "Discharging"),
        ("capacity", "64"),
        ("present", "1"),
    ] {
        std::fs::write(ups.join(file), format!("{value}\n")).unwrap();
    }
    let mains = root.join("class/power_supply/AC");
    std::fs::create_dir_all(&mains).unwrap();
    std::fs::write(mains.join("type"), "Mains\n").unwrap();
    std::fs::write(mains.join("online"), "0\n").unwrap();
    let zone = root.join("class/thermal/thermal_zone0");
    std::fs::create_dir_all(&zone).unwrap();
    std::fs::write(zone.join("type"), "cpu-thermal\n").unwrap();
    std::fs::write(zone.join("temp"), "51500\n").unwrap();
}

/// Every key anywhere in a JSON document.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                out.push(key.clone());
                keys(inner, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, out)),
        _ => {}
    }
}

/// The technician's end of the console's line: writes commands; a thread reads what comes back.
pub(crate) struct Terminal {
    file: std::fs::File,
    incoming: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Terminal {
    pub(crate) fn open(path: &Path) -> Self {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .unwrap();
        let mut reader = file.try_clone().unwrap();
        let (tx, incoming) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            file,
            incoming,
            seen: String::new(),
        }
    }

    /// Sends `line` and returns what came back until `until` appeared after it.
    pub(crate) fn ask(&mut self, line: &str, until: &str) -> String {
        self.file.write_all(format!("{line}\r").as_bytes()).unwrap();
        self.read_until(line, until)
    }

    /// Reads until `until` appears after the console's echo of `line`.
    fn read_until(&mut self, line: &str, until: &str) -> String {
        let start = self.seen.len();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // The answer starts after the console echoed the line (its prompt before that, e.g.
            // from the greeting, does not count).
            let after_echo = if line.is_empty() {
                Some(start)
            } else {
                self.seen[start..]
                    .find(line)
                    .map(|at| start + at + line.len())
            };
            if let Some(from) = after_echo
                && let Some(found) = self.seen[from..].find(until)
            {
                let end = from + found + until.len();
                return self.seen[start..end].to_owned();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no `{until}` after `{line}`; the console said:\n{}",
                &self.seen[start..]
            );
            if let Ok(bytes) = self.incoming.recv_timeout(left) {
                self.seen.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gps_power_and_wearable_batteries_reach_status_the_console_and_the_page_without_worker_data()
 {
    assert!(
        Path::new(GPSFAKE).is_file(),
        "{GPSFAKE} missing: tests/run.sh installs gpsd-clients"
    );
    assert!(
        Path::new(SOCAT).is_file(),
        "{SOCAT} missing: tests/run.sh installs socat"
    );
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-diagnostics");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();

    // A real gpsd replaying a real receiver, on a private port.
    let gps_port = free_port();
    let _gpsd = Group::spawn(
        Command::new(GPSFAKE)
            .args(["-q", "-c", "0.01", "-P", &gps_port.to_string()])
            .arg(recording("bu353s4.log"))
            .env("TMPDIR", &scratch),
    );
    // The console's serial line: a pty pair, the dock's end and the technician's.
    let (tty_dock, tty_tech) = (scratch.join("ttyDOCK"), scratch.join("ttyTECH"));
    let _line = Group::spawn(Command::new(SOCAT).args([
        &format!("pty,raw,echo=0,link={}", tty_dock.display()),
        &format!("pty,raw,echo=0,link={}", tty_tech.display()),
    ]));
    wait_for("the pty pair", Duration::from_secs(10), || {
        (tty_dock.exists() && tty_tech.exists()).then_some(())
    });
    let sysfs = scratch.join("sys");
    fake_sysfs(&sysfs);

    let dock = Dock::start_with_tables(
        "diagnostics",
        &format!(
            "[gps]\ngpsd = \"127.0.0.1:{gps_port}\"\ninterval_s = 1\n\
             [power]\nsysfs_root = {sysfs:?}\ninterval_s = 10\n\
             [serial]\nport = {tty_dock:?}\npin = \"246813\"\n"
        ),
    );
    let mut wearable = tokio::task::spawn_blocking(|| fleet(1, 9191, shift(1, 10)).remove(0))
        .await
        .unwrap();
    let serial = wearable.serial().to_owned();
    let badge = wearable.spec().worker.map(|t| t.badge_text()).unwrap();
    dock_until_drained(
        &mut wearable,
        &LinkAddr::Unix(dock.socket.clone()),
        &Faults::default(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();

    // `dockd status --json`: the fix gpsd's own expected output has, and the dock's power.
    let expected: Vec<(f64, f64)> = std::fs::read_to_string(recording("bu353s4.log.chk"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["class"] == "TPV" && v["mode"] == 3)
        .filter_map(|v| Some((v["lat"].as_f64()?, v["lon"].as_f64()?)))
        .collect();
    assert!(!expected.is_empty());
    let status = wait_for("a GPS fix in dockd status", Duration::from_secs(60), || {
        let status = dock.status_json();
        (status["gps"]["mode"] == 3 && status["gps"]["lat"].is_f64()).then_some(status)
    });
    let (lat, lon) = (
        status["gps"]["lat"].as_f64().unwrap(),
        status["gps"]["lon"].as_f64().unwrap(),
    );
    assert!(
        expected
            .iter()
            .any(|(el, eo)| (el - lat).abs() < 1e-6 && (eo - lon).abs() < 1e-6),
        "({lat}, {lon}) is not a position gpsd's .chk has"
    );
    assert!(status["gps"]["last_fix_ms"].is_i64(), "{status}");
    assert_eq!(
        status["dock_power"]["summary"], "on battery, 64 %",
        "{status}"
    );
    assert_eq!(status["dock_power"]["mains_online"], false);

    // The console, as a laptop on the serial line sees it.
    let mut tech = Terminal::open(&tty_tech);
    // In step with the console: whatever it printed before (its greeting) is behind us.
    let version = tech.ask("version", PROMPT);
    assert!(version.contains(env!("CARGO_PKG_VERSION")), "{version}");
    let slots = tech.ask("slots", PROMPT);
    assert!(slots.contains(&serial), "{slots}");
    assert!(slots.contains('%'), "the battery: {slots}");
    let one = tech.ask(&format!("wearable {serial}"), PROMPT);
    assert!(one.contains(&serial), "{one}");
    // Device health (cycles and temperature at docking too), nothing counted from the wear, in
    // words or in JSON.
    assert!(one.contains(" cycles, ") && one.contains(" C, "), "{one}");
    let one_json = tech.ask(&format!("wearable {serial} --json"), PROMPT);
    for answer in [&one, &one_json, &slots] {
        assert!(
            !answer.contains("samples") && !answer.contains("alerts"),
            "{answer}"
        );
    }
    let gps = tech.ask("gps", PROMPT);
    assert!(gps.contains("3D"), "{gps}");
    let power = tech.ask("battery", PROMPT);
    assert!(power.contains("on battery, 64 %"), "{power}");
    let status_text = tech.ask("status", PROMPT);
    assert!(
        status_text.contains(env!("CARGO_PKG_VERSION")),
        "{status_text}"
    );
    let json = tech.ask("slots --json", PROMPT);
    assert!(json.contains("\"slots\""), "{json}");
    let log = tech.ask("log 200 --json", PROMPT);
    assert!(log.contains("lines"), "{log}");
    // No `[upload]`: the console says so in words.
    let upload = tech.ask("upload", PROMPT);
    assert!(upload.contains("not configured on this dock"), "{upload}");
    // No `[update]`: `update` says so and names the running version; `update now` is an action
    // behind the service PIN like the others.
    let update = tech.ask("update", PROMPT);
    assert!(update.contains("not configured on this dock"), "{update}");
    assert!(update.contains(env!("CARGO_PKG_VERSION")), "{update}");
    // `selftest` includes the analysis on its reference shifts, and it passes.
    let selftest = tech.ask("selftest", PROMPT);
    let analysis = selftest
        .lines()
        .find(|line| line.trim_start().starts_with("analysis"))
        .unwrap_or_else(|| panic!("no analysis line in selftest: {selftest}"));
    assert!(analysis.contains(" ok "), "{analysis}");
    let refused = tech.ask("restart", "PIN");
    assert!(refused.contains("PIN"), "{refused}");
    // The PIN is masked, never echoed.
    tech.file.write_all(b"0000\r").unwrap();
    let wrong = tech.read_until("", PROMPT);
    assert!(!wrong.contains("0000"), "{wrong}");
    assert!(wrong.to_lowercase().contains("wrong"), "{wrong}");
    // `update now` with the right PIN reaches the daemon's updater, which answers in words.
    tech.ask("update now", "PIN");
    tech.file.write_all(b"246813\r").unwrap();
    let answer = tech.read_until("", PROMPT);
    assert!(!answer.contains("246813"), "{answer}");
    assert!(
        answer.contains("self-update is not configured on this dock"),
        "{answer}"
    );
    assert!(
        !tech.seen.contains(&badge),
        "the console printed a badge tag"
    );

    // The Diagnostics page's JSON, as a technician: the same figures, no worker field at all.
    add_user(&dock.config, "tina", "technician", "tina's long password");
    let tina = dock.sign_in("tina", "tina's long password");
    let response = http_request(
        dock.web,
        "GET",
        "/api/v1/diagnostics",
        &[("Cookie", &tina)],
        "",
    );
    let json = crate::support::body_of(&response);
    assert_eq!(json["gps"]["mode"], 3, "{response}");
    assert_eq!(json["power"]["summary"], "on battery, 64 %");
    assert!(json["upload"].is_null(), "no [upload]: {json}");
    assert!(
        json["wearables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["serial"] == serial && w["soc"].is_u64()),
        "{json}"
    );
    let mut all = Vec::new();
    keys(&json, &mut all);
    assert!(all.iter().all(|k| !k.contains("worker")), "{all:?}");
    // Battery readings at dockings only, never the wearable's minute-by-minute ones during wear.
    assert!(
        dock.count("SELECT count(*) FROM wearable_diag WHERE wall_ms IS NOT NULL") > 0,
        "the shift logged battery readings during wear"
    );
    let ours = json["wearables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["serial"] == serial)
        .unwrap();
    let docked_at: Vec<i64> = {
        let db = dock.db();
        let mut query = db.prepare("SELECT docked_ms FROM docking").unwrap();
        query
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let history = ours["history"].as_array().unwrap();
    assert!(!history.is_empty(), "{ours}");
    for point in history {
        assert!(
            docked_at.contains(&point["at_ms"].as_i64().unwrap()),
            "a reading from during wear: {point}"
        );
    }
    assert!(!response.contains(&badge));
    let page = http_request(dock.web, "GET", "/diagnostics", &[("Cookie", &tina)], "");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains(&serial));
    assert!(page.contains("Cloud upload is not configured on this dock."));

    // gpsd killed and started again on the same port: the dock reconnects and keeps recording.
    let connected = dock.count("SELECT count(*) FROM gps_event WHERE kind = 'connected'");
    drop(_gpsd);
    wait_for(
        "the dock to notice gpsd gone",
        Duration::from_secs(30),
        || {
            (dock.count("SELECT count(*) FROM gps_event WHERE kind IN ('disconnected', 'no_gpsd')")
                > 0)
            .then_some(())
        },
    );
    let before = dock.count("SELECT coalesce(max(at_ms), 0) FROM gps_fix");
    let _gpsd_again = Group::spawn(
        Command::new(GPSFAKE)
            .args(["-q", "-c", "0.01", "-P", &gps_port.to_string()])
            .arg(recording("bu353s4.log"))
            .env("TMPDIR", &scratch),
    );
    wait_for(
        "the dock to reconnect and record again",
        Duration::from_secs(90),
        || {
            let again = dock.count("SELECT count(*) FROM gps_event WHERE kind = 'connected'");
            let newer = dock.count(&format!(
                "SELECT count(*) FROM gps_fix WHERE at_ms > {before}"
            ));
            (again > connected && newer > 0).then_some(())
        },
    );

    // Stored in their own tables, which name no worker and no wearable.
    assert!(dock.count("SELECT count(*) FROM gps_fix WHERE mode = 3") > 0);
    assert!(dock.count("SELECT count(*) FROM gps_event WHERE kind = 'connected'") > 0);
    assert!(dock.count("SELECT count(*) FROM dock_power") > 0);

    // With a fix stored and a worker's wearable docked: no API route, `dockd status`, worker
    // export or upload record kind puts the dock's position next to a worker or a wearable.
    no_position_next_to_a_person_or_wearable(&dock, &serial, &badge);
}

/// A position's fields.
const POSITION: [&str; 6] = ["lat", "lon", "latitude", "longitude", "alt_m", "altitude"];
/// Fields that name a worker or a wearable.
const IDENTIFYING: [&str; 7] = [
    "worker",
    "worker_id",
    "pseudonym",
    "badge",
    "display_name",
    "serial",
    "wearable",
];

/// Problems in `value` (at `path`): a record naming a worker or wearable with a position anywhere
/// in it, or a record holding a position with a worker or wearable anywhere in it.
fn position_next_to_identity(value: &Value, path: &str, problems: &mut Vec<String>) {
    fn holds_any(value: &Value, keys: &[&str]) -> bool {
        match value {
            Value::Object(map) => map
                .iter()
                .any(|(k, v)| keys.contains(&k.as_str()) || holds_any(v, keys)),
            Value::Array(items) => items.iter().any(|v| holds_any(v, keys)),
            _ => false,
        }
    }
    match value {
        Value::Object(map) => {
            let names = map.keys().any(|k| IDENTIFYING.contains(&k.as_str()));
            let places = map.keys().any(|k| POSITION.contains(&k.as_str()));
            if names && holds_any(value, &POSITION) {
                problems.push(format!(
                    "{path}: names a worker or wearable next to a position"
                ));
            }
            if places && holds_any(value, &IDENTIFYING) {
                problems.push(format!("{path}: a position next to a worker or wearable"));
            }
            for (k, v) in map {
                position_next_to_identity(v, &format!("{path}.{k}"), problems);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                position_next_to_identity(v, &format!("{path}[{i}]"), problems);
            }
        }
        _ => {}
    }
}

fn no_position_next_to_a_person_or_wearable(dock: &Dock, serial: &str, badge: &str) {
    let mut problems = Vec::new();
    let mut positions_seen = 0;
    // Every GET route the API describes, its parameters filled with this dock's wearable and
    // worker, read as an admin (who sees the most).
    let (status, openapi) = dock.api("GET", "/api/v1/openapi.json", &Value::Null);
    assert_eq!(status, 200, "{openapi}");
    let worker_id = dock.count("SELECT coalesce(min(id), 1) FROM worker");
    let today = jiff::Timestamp::now().to_string()[..10].to_owned();
    let mut answered = 0;
    for (path, item) in openapi["paths"].as_object().unwrap() {
        // A live event stream never ends; it carries the status page's changes, read below
        // through `/api/v1/status`.
        // A worker's export is a tar archive, not JSON: the same core's folder is read below.
        if item.get("get").is_none()
            || item.to_string().contains("text/event-stream")
            || item.to_string().contains("application/x-tar")
        {
            continue;
        }
        let concrete = path
            .replace("{serial}", serial)
            .replace("{id}", &worker_id.to_string())
            .replace("{worker}", &worker_id.to_string())
            .replace("{day}", &today);
        let concrete = if concrete.contains('{') {
            concrete
                .split('/')
                .map(|part| if part.starts_with('{') { "1" } else { part })
                .collect::<Vec<_>>()
                .join("/")
        } else {
            concrete
        };
        let (status, body) = dock.api("GET", &concrete, &Value::Null);
        if status == 200 {
            answered += 1;
            positions_seen += usize::from(body.to_string().contains("\"lat\""));
            position_next_to_identity(&body, &concrete, &mut problems);
        }
    }
    assert!(answered >= 10, "only {answered} API routes answered");
    assert!(positions_seen > 0, "some route shows the dock's position");
    // `dockd status --json`.
    let status = dock.status_json();
    position_next_to_identity(&status, "dockd status", &mut problems);
    // A worker's export: no position at all.
    let out_dir = dock.dir.join("gps-sweep-export");
    let mut child = std::process::Command::new(crate::support::DOCKD)
        .args(["worker", "export", "--config"])
        .arg(&dock.config)
        .arg("--out")
        .arg(&out_dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{badge}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = if path.extension().is_some_and(|e| e == "zst") {
            String::from_utf8(zstd::decode_all(bytes.as_slice()).unwrap()).unwrap()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        for field in POSITION {
            assert!(
                !text.contains(&format!("\"{field}\""))
                    && !text
                        .lines()
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .any(|c| c == field),
                "{} has a position field {field}",
                path.display()
            );
        }
    }
    // Upload: only the dock's GPS record kind has a position, and it names nobody.
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/upload-schema");
    for entry in std::fs::read_dir(&schemas).unwrap() {
        let path = entry.unwrap().path();
        let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let mut keys = Vec::new();
        fn properties(v: &Value, out: &mut Vec<String>) {
            if let Value::Object(map) = v {
                if let Some(Value::Object(props)) = map.get("properties") {
                    out.extend(props.keys().cloned());
                }
                map.values().for_each(|v| properties(v, out));
            } else if let Value::Array(items) = v {
                items.iter().for_each(|v| properties(v, out));
            }
        }
        properties(&schema, &mut keys);
        let places = keys.iter().any(|k| POSITION.contains(&k.as_str()));
        let names = keys.iter().any(|k| IDENTIFYING.contains(&k.as_str()));
        assert!(
            !(places && names),
            "{} carries a position and a worker or wearable",
            path.display()
        );
        if places {
            assert!(
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("dock_gps"),
                "{} carries a position",
                path.display()
            );
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
