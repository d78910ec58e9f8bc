//! The technician's serial console over real pseudo-terminals, as a laptop would reach it: `socat`
//! makes a linked pty pair, the console runs `run_port` on one end (`ttyDOCK`) and the test, or
//! `picocom` under `tmux`, types on the other (`ttyTECH`). Covers commands, aligned text and
//! JSON, line editing, noise, the PIN lockout, paging, a missing port and a hang-up.
//!
//! These tests fail, never skip, when a tool is missing: install the Debian packages `socat`,
//! `picocom` and `tmux`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use diagnostics::console::{
    CheckLine, Clock, ConsoleBackend, ConsoleSettings, DockStatus, GpsLine, LOCKOUT_FILE,
    MORE_PROMPT, NetLine, PowerLine, ServicePin, SlotLine, StorageLine, UpdateLine, UploadLine,
    WearableBattery, WearableLine, run_port,
};
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber as _;

const INSTALL: &str = "install the Debian packages socat, picocom and tmux";
/// The longest any awaited condition may take; reopening after a hang-up waits out a backoff.
const LIMIT: Duration = Duration::from_secs(20);
const PROMPT: &str = "dock-7> ";
const VERSION: &str = "dockd 9.8.7-test";
const FINGERPRINT: &str = "5e8f16062ea3cd2c4a0d547876baa6f38cabf625d8d22fa7b7bcb4ab3aa90c1b";
const PIN: &str = "246813";

// ---------------------------------------------------------------------------------------------
// The fake dock behind the console.

#[derive(Default)]
struct FakeDock {
    uploads: AtomicUsize,
}

impl ConsoleBackend for FakeDock {
    fn status(&self) -> DockStatus {
        DockStatus {
            dock_name: "dock-7".into(),
            version: VERSION.into(),
            uptime_s: 3723,
            web_url: Some("https://192.168.7.2/".into()),
            web_certificate_sha256: Some(FINGERPRINT.into()),
            wearables_docked: 2,
            segments_stored: 812,
            database_bytes: 48 * 1024 * 1024,
            problems: vec![],
        }
    }
    fn slots(&self) -> Vec<SlotLine> {
        vec![
            SlotLine {
                slot: 1,
                serial: Some("KW-000001".into()),
                state: "pulling".into(),
                battery_soc: Some(87),
                charging: true,
                battery_health: Some(96),
            },
            SlotLine {
                slot: 2,
                serial: None,
                state: "empty".into(),
                battery_soc: None,
                charging: false,
                battery_health: None,
            },
            SlotLine {
                slot: 3,
                serial: Some("KW-000123".into()),
                state: "done".into(),
                battery_soc: Some(100),
                charging: false,
                battery_health: Some(58),
            },
        ]
    }
    fn wearable(&self, serial: &str) -> Option<WearableLine> {
        (serial == "KW-000001").then(|| WearableLine {
            serial: serial.into(),
            last_docked_ms: Some(1_700_000_000_000),
            dockings: 41,
            segments_stored: 377,
            battery: Some(WearableBattery {
                soc: Some(87),
                health: Some(96),
                charging: true,
                voltage_mv: Some(4012),
                cycles: None,
                temp_c: None,
            }),
            flags: vec![],
        })
    }
    fn gps(&self) -> GpsLine {
        GpsLine {
            connected: true,
            mode: "3D".into(),
            lat: Some(48.137154),
            lon: Some(11.576124),
            alt_m: Some(519.0),
            satellites_used: Some(8),
            last_fix_ms: Some(1_700_000_000_000),
            problem: None,
        }
    }
    fn battery(&self) -> PowerLine {
        PowerLine {
            dock_supply: "mains".into(),
            dock_soc: None,
            temperatures: vec![],
            flagged_wearables: vec![],
        }
    }
    fn storage(&self) -> StorageLine {
        StorageLine {
            data_dir: "/var/lib/dockd".into(),
            free_bytes: 10 << 30,
            total_bytes: 30 << 30,
            database_bytes: 48 << 20,
        }
    }
    fn network(&self) -> Vec<NetLine> {
        vec![NetLine {
            interface: "eth0".into(),
            addresses: vec!["192.168.7.2/24".into()],
        }]
    }
    fn upload(&self) -> UploadLine {
        UploadLine::default()
    }
    fn log(&self, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("log line {i:03}")).collect()
    }
    fn selftest(&self) -> Vec<CheckLine> {
        vec![CheckLine {
            name: "database".into(),
            ok: true,
            detail: "integrity ok".into(),
        }]
    }
    fn upload_now(&self) -> Result<String, String> {
        self.uploads.fetch_add(1, Ordering::SeqCst);
        Ok("upload started".into())
    }
    fn update(&self) -> UpdateLine {
        UpdateLine {
            running: VERSION.into(),
            ..UpdateLine::default()
        }
    }
    fn update_now(&self) -> Result<String, String> {
        Err("self-update is not configured on this dock ([update] manifest_url)".into())
    }
    fn restart(&self) -> Result<String, String> {
        Err("not in tests".into())
    }
}

// ---------------------------------------------------------------------------------------------
// Tools, waiting, and the pty pair.

fn require(tool: &str, version_flag: &str) {
    let found = Command::new(tool)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(found.is_ok(), "{tool} not found: {INSTALL}");
}

/// Polls `check` until it gives a value, for at most `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh folder for one test's pty links and logs, removed when dropped.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("dockd-console-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// `socat` joining two ptys, linked as `ttyDOCK` and `ttyTECH` in `dir`.
struct Socat {
    child: Child,
}

impl Socat {
    fn start(dir: &Path) -> Self {
        require("socat", "-V");
        let log = dir.join("socat.log");
        let child = Command::new("socat")
            .arg("-d")
            .arg("-d")
            .arg(format!(
                "pty,raw,echo=0,link={}",
                dir.join("ttyDOCK").display()
            ))
            .arg(format!(
                "pty,raw,echo=0,link={}",
                dir.join("ttyTECH").display()
            ))
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start socat ({e}): {INSTALL}"));
        wait_for("socat's pty links", LIMIT, || {
            let ready = std::fs::read_to_string(&log)
                .is_ok_and(|l| l.contains("starting data transfer loop"));
            (ready && dir.join("ttyDOCK").exists() && dir.join("ttyTECH").exists()).then_some(())
        });
        Self { child }
    }

    /// Ends socat as a laptop pulling its cable would: the ptys close (SIGTERM, so socat also
    /// removes its links).
    fn hang_up(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            wait_for("socat to exit", LIMIT, || {
                self.child.try_wait().ok().flatten().map(|_| ())
            });
        }
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything the console thread logged.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The console, run by `run_port` on `ttyDOCK` in a thread of its own.
struct Dock {
    backend: Arc<FakeDock>,
    now_ms: Arc<AtomicI64>,
    logs: Logs,
    cancel: CancellationToken,
    /// The console thread's id, to read its CPU time.
    tid: u32,
    done: std::sync::mpsc::Receiver<()>,
}

impl Dock {
    fn start(dir: &Path, pin: Option<&str>) -> Self {
        let backend = Arc::new(FakeDock::default());
        let now_ms = Arc::new(AtomicI64::new(1_700_000_000_000));
        let logs = Logs::default();
        let cancel = CancellationToken::new();
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (done_tx, done) = std::sync::mpsc::channel();
        let port = dir.join("ttyDOCK");
        let settings = ConsoleSettings {
            pin: pin.map(|p| ServicePin::new(p).unwrap().into()),
            // In the scratch folder, as the daemon keeps it in its data folder.
            lockout_file: Some(dir.join(LOCKOUT_FILE)),
            page_lines: 24,
            dock_name: "dock-7".into(),
        };
        let clock_ms = Arc::clone(&now_ms);
        let clock: Clock = Arc::new(move || clock_ms.load(Ordering::SeqCst));
        let dock: Arc<dyn ConsoleBackend> = backend.clone();
        let writer = logs.clone();
        let stop = cancel.clone();
        std::thread::spawn(move || {
            tid_tx.send(thread_id()).unwrap();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(
                run_port(port, 115_200, dock, settings, clock, stop).with_subscriber(subscriber),
            );
            let _ = done_tx.send(());
        });
        let tid = tid_rx.recv_timeout(LIMIT).unwrap();
        Self {
            backend,
            now_ms,
            logs,
            cancel,
            tid,
            done,
        }
    }

    /// CPU time the console thread has used, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/self/task/{}/stat", self.tid)).unwrap();
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }

    fn stop(self) {
        self.cancel.cancel();
        self.done
            .recv_timeout(LIMIT)
            .expect("run_port ends when cancelled");
    }
}

impl Drop for Dock {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn thread_id() -> u32 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    stat.split(' ').next().unwrap().parse().unwrap()
}

/// What the technician's reader thread saw: the bytes, and whether the line closed.
type Seen = Arc<(Mutex<(Vec<u8>, bool)>, Condvar)>;

/// The technician's end: `ttyTECH` opened as a file, read by a thread of its own.
struct Tech {
    file: File,
    seen: Seen,
    mark: usize,
}

impl Tech {
    fn open(dir: &Path) -> Self {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join("ttyTECH"))
            .unwrap();
        let mut reader = file.try_clone().unwrap();
        let seen: Seen = Arc::new((Mutex::new((Vec::new(), false)), Condvar::new()));
        let shared = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = reader.read(&mut buf).unwrap_or(0);
                let (lock, changed) = &*shared;
                let mut state = lock.lock().unwrap();
                if n == 0 {
                    state.1 = true;
                    changed.notify_all();
                    return;
                }
                state.0.extend_from_slice(&buf[..n]);
                changed.notify_all();
            }
        });
        Self {
            file,
            seen,
            mark: 0,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).unwrap();
    }

    /// Waits until `needle` appears after the mark; returns the text up to and including it and
    /// moves the mark past it.
    fn until(&mut self, needle: &str) -> String {
        let (lock, changed) = &*self.seen;
        let deadline = Instant::now() + LIMIT;
        let mut state = lock.lock().unwrap();
        loop {
            let text = String::from_utf8_lossy(&state.0[self.mark..]).into_owned();
            if let Some(at) = text.find(needle) {
                let upto = text[..at + needle.len()].to_owned();
                // Lossy text may differ in length from the bytes only where bytes were invalid;
                // the console never sends invalid UTF-8, which `all_output` checks.
                self.mark += upto.len();
                return upto;
            }
            assert!(
                !state.1,
                "the line closed before {needle:?}; seen: {text:?}"
            );
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no {needle:?} within {LIMIT:?}; seen: {text:?}"
            );
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    }

    /// Types a line and returns the console's answer up to the next prompt.
    fn run(&mut self, line: &str) -> String {
        self.send(format!("{line}\r").as_bytes());
        self.until(PROMPT)
    }

    fn all_output(&self) -> Vec<u8> {
        self.seen.0.lock().unwrap().0.clone()
    }
}

/// A pty pair, the console on one end and the technician on the other, greeted.
fn rig(name: &str, pin: Option<&str>) -> (Scratch, Socat, Dock, Tech) {
    let dir = scratch_dir(name);
    let socat = Socat::start(&dir);
    let dock = Dock::start(&dir, pin);
    let mut tech = Tech::open(&dir);
    let greeting = tech.until(PROMPT);
    assert!(greeting.contains("dockd service console on dock-7; type help"));
    (dir, socat, dock, tech)
}

/// The answer's lines without the echoed command and the prompt.
fn answer_lines(answer: &str) -> Vec<&str> {
    let lines: Vec<&str> = answer.split("\r\n").collect();
    lines[1..lines.len() - 1].to_vec()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn help_slots_and_wearable_answer_over_a_real_pty() {
    let (_dir, _socat, dock, mut tech) = rig("commands", None);

    let help = tech.run("help");
    for command in [
        "status",
        "slots",
        "wearable <serial>",
        "upload [now]",
        "log [n]",
    ] {
        assert!(help.contains(command), "help lacks {command}: {help}");
    }

    let slots = tech.run("slots");
    let lines = answer_lines(&slots);
    assert_eq!(lines.len(), 4, "{slots:?}");
    let serial_column = lines[0].find("serial").unwrap();
    assert_eq!(lines[1].find("KW-000001"), Some(serial_column));
    assert_eq!(lines[2].find('-'), Some(serial_column));
    assert_eq!(lines[3].find("KW-000123"), Some(serial_column));
    let battery_end = lines[0].find("battery").unwrap() + "battery".len();
    assert_eq!(lines[1].find("87 %").map(|i| i + 4), Some(battery_end));
    assert_eq!(lines[3].find("100 %").map(|i| i + 5), Some(battery_end));

    let json = tech.run("slots --json");
    let lines = answer_lines(&json);
    assert_eq!(lines.len(), 1);
    let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(value["slots"][0]["serial"], "KW-000001");
    assert_eq!(value["slots"][1]["serial"], serde_json::Value::Null);
    assert_eq!(value["slots"][2]["battery_health"], 58);

    let wearable = tech.run("wearable KW-000001");
    assert!(wearable.contains("dockings     41\r\n"), "{wearable}");
    assert!(wearable.contains("87 % charged, health 96 %, 4.012 V, charging"));
    // Device health only: nothing counted from the wear.
    assert!(
        !wearable.contains("samples") && !wearable.contains("alerts"),
        "{wearable}"
    );
    let json = tech.run("wearable KW-000001 --json");
    assert!(json.contains("\"segments_stored\":377"), "{json}");
    assert!(
        !json.contains("samples") && !json.contains("alerts"),
        "{json}"
    );
    let unknown = tech.run("wearable KW-999999");
    assert!(unknown.contains("no wearable `KW-999999` known"));

    let status = tech.run("status");
    assert!(status.contains(VERSION));
    assert!(status.contains("SHA-256 5E:8F:16:06:2E:A3:CD:2C:4A:0D:54:78:76:BA:A6:F3\r\n"));
    assert!(status.contains("8C:AB:F6:25:D8:D2:2F:A7:B7:BC:B4:AB:3A:A9:0C:1B\r\n"));

    dock.stop();
}

#[test]
fn backspace_edits_the_line_as_on_a_terminal() {
    let (_dir, _socat, dock, mut tech) = rig("editing", None);
    let answer = tech.run("slotz\x7fs");
    assert!(
        answer.starts_with("slotz\x08 \x08s\r\nslot  serial"),
        "{answer:?}"
    );
    let answer = tech.run("verx\x08sion");
    assert!(answer.contains(VERSION));
    dock.stop();
}

#[test]
fn noise_an_over_long_line_and_binary_never_wedge_the_console() {
    let (_dir, _socat, dock, mut tech) = rig("noise", None);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..8192)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[3]
        })
        .collect();
    tech.send(&noise);
    tech.send(&vec![b'a'; 10_000]);
    tech.send(b"\r");
    tech.until("line too long (max 256)\r\n");
    tech.send(b"version\r");
    tech.until(&format!("{VERSION}\r\n{PROMPT}"));
    let answer = tech.run("version --json");
    assert!(answer.contains(&format!(r#"{{"version":"{VERSION}"}}"#)));

    let output = tech.all_output();
    assert!(
        std::str::from_utf8(&output).is_ok(),
        "the console sent invalid UTF-8"
    );
    let raw = output
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\r' | b'\n' | 0x08)) || b == 0x7f)
        .count();
    assert_eq!(raw, 0, "the console sent raw control bytes");
    dock.stop();
}

#[test]
fn wrong_pins_hit_the_lockout_which_is_kept_on_disk_and_the_right_pin_uploads() {
    let (dir, _socat, dock, mut tech) = rig("pin", Some(PIN));
    for (attempt, expected) in [
        ("1111", "wrong PIN\r\n"),
        ("2222", "wrong PIN\r\n"),
        ("3333", "wrong PIN; PIN entry locked for 30 s\r\n"),
    ] {
        tech.send(b"upload now\r");
        tech.until("PIN: ");
        let answer = tech.run(attempt);
        assert!(answer.starts_with("****\r\n"), "{answer:?}");
        assert!(answer.contains(expected), "{answer:?}");
    }
    // While locked, the prompt takes the line and shows nothing of it, not even stars.
    tech.send(b"upload now\r");
    tech.until("PIN: ");
    let locked = tech.run(PIN);
    assert!(
        locked.starts_with("\r\nPIN entry locked; try again in 30 s"),
        "{locked:?}"
    );

    // Kept for the next start (`session_tests` restarts a console on it), readable by the dock
    // only, without the PIN.
    let file = dir.join(LOCKOUT_FILE);
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!std::fs::read_to_string(&file).unwrap().contains(PIN));

    dock.now_ms.fetch_add(30_000, Ordering::SeqCst);
    tech.send(b"upload now\r");
    tech.until("PIN: ");
    let answer = tech.run(PIN);
    assert!(answer.contains("upload started"), "{answer:?}");
    assert_eq!(dock.backend.uploads.load(Ordering::SeqCst), 1);
    let output = String::from_utf8(tech.all_output()).unwrap();
    assert!(!output.contains(PIN), "the PIN was echoed");
    assert!(!dock.logs.text().contains(PIN), "the PIN was logged");
    assert!(dock.logs.text().contains("wrong service PIN"));
    dock.stop();
}

#[test]
fn a_long_log_is_paged() {
    let (_dir, _socat, dock, mut tech) = rig("paging", None);
    tech.send(b"log 100\r");
    let first = tech.until(MORE_PROMPT);
    assert!(first.contains("log line 023\r\n"));
    assert!(!first.contains("log line 024"));
    tech.send(b" ");
    let second = tech.until(MORE_PROMPT);
    assert!(second.contains("log line 024\r\n") && second.contains("log line 046\r\n"));
    tech.send(b"q");
    let rest = tech.until(PROMPT);
    assert!(!rest.contains("log line"), "{rest:?}");
    let all = tech.run("log 100 --all");
    assert!(all.contains("log line 100\r\n") && !all.contains(MORE_PROMPT));
    dock.stop();
}

#[test]
fn a_hang_up_closes_the_port_without_spinning_and_it_reopens() {
    let (dir, socat, dock, mut tech) = rig("hangup", None);
    assert!(tech.run("version").contains(VERSION));

    socat.hang_up();
    let before = dock.cpu_ticks();
    let quiet_since = Instant::now();
    // No socat for 2.5 s: the console must wait out its backoff, not spin on the dead line.
    wait_for("2.5 s without a pty", LIMIT, || {
        (quiet_since.elapsed() > Duration::from_millis(2500)).then_some(())
    });
    let used = dock.cpu_ticks() - before;
    assert!(
        used < 50,
        "the console thread used {used} ticks of CPU in 2.5 s while hung up"
    );

    let _socat = Socat::start(&dir);
    let mut tech = Tech::open(&dir);
    let greeting = tech.until(PROMPT);
    assert!(greeting.contains("dockd service console on dock-7"));
    assert!(tech.run("version").contains(VERSION));
    let logs = dock.logs.text();
    assert_eq!(logs.matches("hung up; reopening").count(), 1, "{logs}");
    dock.stop();
}

#[test]
fn a_missing_port_is_logged_once_and_opened_when_it_appears() {
    let dir = scratch_dir("missing");
    let dock = Dock::start(&dir, None);
    let logs = &dock.logs;
    wait_for("the missing port to be logged", LIMIT, || {
        logs.text()
            .contains("ttyDOCK not present; retrying")
            .then_some(())
    });
    // Over 3.5 s the console retries at least twice (after 1 s and 2 s) and logs nothing new.
    let since = Instant::now();
    wait_for("3.5 s of retries", LIMIT, || {
        assert_eq!(
            logs.text().matches("not present").count(),
            1,
            "{}",
            logs.text()
        );
        (since.elapsed() > Duration::from_millis(3500)).then_some(())
    });

    let _socat = Socat::start(&dir);
    let mut tech = Tech::open(&dir);
    tech.until(PROMPT);
    assert!(tech.run("version").contains(VERSION));
    let text = logs.text();
    assert_eq!(text.matches("not present").count(), 1, "{text}");
    assert_eq!(text.matches("serving").count(), 1, "{text}");
    dock.stop();
}

/// `tmux` with a server of its own, ended when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn command(&self) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-L").arg(&self.socket).env("TERM", "xterm");
        command
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.command().args(args).output().unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "tech"]).stdout)
            .into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn a_technician_using_picocom_under_tmux_sees_the_status() {
    require("tmux", "-V");
    require("picocom", "--help");
    let dir = scratch_dir("picocom");
    let _socat = Socat::start(&dir);
    let dock = Dock::start(&dir, None);
    let tmux = Tmux {
        socket: format!("dockd-console-{}", std::process::id()),
    };
    let picocom = format!("picocom -b 115200 {}", dir.join("ttyTECH").display());
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "tech",
        "-x",
        "120",
        "-y",
        "50",
        &picocom,
    ]);
    assert!(started.status.success(), "tmux: {started:?}");
    wait_for("picocom to be ready", LIMIT, || {
        tmux.screen().contains("Terminal ready").then_some(())
    });
    tmux.run(&["send-keys", "-t", "tech", "status", "Enter"]);
    let screen = wait_for("the status on picocom's screen", LIMIT, || {
        let screen = tmux.screen();
        screen.contains("8C:AB:F6:25").then_some(screen)
    });
    assert!(
        screen.contains(&format!("version          {VERSION}")),
        "{screen}"
    );
    assert!(
        screen.contains("web certificate  SHA-256 5E:8F:16:06"),
        "{screen}"
    );
    assert!(screen.contains("wearables        2 docked"), "{screen}");

    tmux.run(&["send-keys", "-t", "tech", "C-a", "C-x"]);
    wait_for("picocom to exit", LIMIT, || {
        (!tmux.run(&["has-session", "-t", "tech"]).status.success()).then_some(())
    });
    dock.stop();
}
