//! Sessions driven through an in-memory pipe: greeting, commands, JSON, paging, the PIN prompt
//! and its lockout under a fake clock, hang-ups and cancellation.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;

const WAIT: Duration = Duration::from_secs(5);

#[derive(Default)]
struct FakeDock {
    uploads: AtomicUsize,
    updates: AtomicUsize,
    restarts: AtomicUsize,
    asked_serials: Mutex<Vec<String>>,
}

impl ConsoleBackend for FakeDock {
    fn status(&self) -> DockStatus {
        DockStatus {
            dock_name: "dock-7".into(),
            version: "dockd 9.8.7".into(),
            uptime_s: 61,
            web_url: None,
            web_certificate_sha256: None,
            wearables_docked: 1,
            segments_stored: 5,
            database_bytes: 4096,
            problems: vec![],
        }
    }
    fn slots(&self) -> Vec<SlotLine> {
        vec![SlotLine {
            slot: 1,
            serial: Some("KW-000001".into()),
            state: "done".into(),
            battery_soc: Some(80),
            charging: true,
            battery_health: Some(97),
        }]
    }
    fn wearable(&self, serial: &str) -> Option<WearableLine> {
        self.asked_serials.lock().unwrap().push(serial.to_owned());
        None
    }
    fn gps(&self) -> GpsLine {
        GpsLine {
            connected: false,
            mode: "unknown".into(),
            lat: None,
            lon: None,
            alt_m: None,
            satellites_used: None,
            last_fix_ms: None,
            problem: Some("gpsd not running".into()),
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
            free_bytes: 1,
            total_bytes: 2,
            database_bytes: 3,
        }
    }
    fn network(&self) -> Vec<NetLine> {
        vec![]
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
            detail: "ok".into(),
        }]
    }
    fn upload_now(&self) -> Result<String, String> {
        self.uploads.fetch_add(1, Ordering::SeqCst);
        Ok("upload started".into())
    }
    fn update(&self) -> UpdateLine {
        UpdateLine {
            configured: true,
            source: Some("https://releases.example/dock/manifest.json".into()),
            running: "9.8.7".into(),
            on_trial: false,
            window: Some("02:00-04:00".into()),
            last_check_ms: Some(1_700_000_000_000),
            last_result: Some("refused: the manifest's signature is by an unknown key".into()),
            offered: None,
            events: vec![UpdateEventLine {
                at_ms: 1_700_000_000_000,
                action: "rejected".into(),
                words: "refused".into(),
                version: String::new(),
                detail: "the manifest's signature is by an unknown key".into(),
            }],
        }
    }
    fn update_now(&self) -> Result<String, String> {
        self.updates.fetch_add(1, Ordering::SeqCst);
        Err("dockd 9.8.7 is up to date".into())
    }
    fn restart(&self) -> Result<String, String> {
        self.restarts.fetch_add(1, Ordering::SeqCst);
        Ok("restarting".into())
    }
}

/// The technician's end of the pipe.
struct Term {
    io: DuplexStream,
    seen: Vec<u8>,
    /// How much of `seen` earlier waits consumed.
    mark: usize,
}

impl Term {
    async fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// Waits until `needle` appears after the mark; returns the text up to and including it and
    /// moves the mark past it.
    async fn until(&mut self, needle: &str) -> String {
        let found = tokio::time::timeout(WAIT, async {
            loop {
                let text = String::from_utf8_lossy(&self.seen[self.mark..]).into_owned();
                if let Some(at) = text.find(needle) {
                    let upto = text[..at + needle.len()].to_owned();
                    self.mark += upto.len();
                    return upto;
                }
                let mut buf = [0u8; 1024];
                let n = self.io.read(&mut buf).await.unwrap();
                assert!(n > 0, "the console closed the line; seen: {text:?}");
                self.seen.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        match found {
            Ok(text) => text,
            Err(_) => panic!(
                "no {needle:?} within {WAIT:?}; seen after mark: {:?}",
                String::from_utf8_lossy(&self.seen[self.mark..])
            ),
        }
    }

    /// Sends a command line and returns its output up to the next prompt.
    async fn run(&mut self, line: &str) -> String {
        self.send(format!("{line}\r").as_bytes()).await;
        self.until("dock-7> ").await
    }
}

struct Setup {
    term: Term,
    dock: Arc<FakeDock>,
    now: Arc<AtomicI64>,
    cancel: CancellationToken,
    served: JoinHandle<ConsoleEnd>,
}

async fn start(pin: Option<&str>, page_lines: usize) -> Setup {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let dock = Arc::new(FakeDock::default());
    let now = Arc::new(AtomicI64::new(1_700_000_000_000));
    let clock_now = Arc::clone(&now);
    let clock: Clock = Arc::new(move || clock_now.load(Ordering::SeqCst));
    let settings = ConsoleSettings {
        pin: pin.map(|p| ServicePin::new(p).unwrap().into()),
        lockout_file: None,
        page_lines,
        dock_name: "dock-7".into(),
    };
    let cancel = CancellationToken::new();
    let backend: Arc<dyn ConsoleBackend> = dock.clone();
    let served = tokio::spawn(serve(server, backend, settings, clock, cancel.clone()));
    let mut term = Term {
        io: client,
        seen: Vec::new(),
        mark: 0,
    };
    let greeting = term.until("dock-7> ").await;
    assert!(greeting.contains("dockd service console on dock-7; type help\r\n"));
    Setup {
        term,
        dock,
        now,
        cancel,
        served,
    }
}

#[tokio::test]
async fn a_command_echoes_answers_with_crlf_lines_and_prompts_again() {
    let mut s = start(None, 24).await;
    let out = s.term.run("version").await;
    assert_eq!(out, "version\r\ndockd 9.8.7\r\ndock-7> ");
}

#[tokio::test]
async fn every_output_line_ends_with_crlf() {
    let mut s = start(None, 0).await;
    let out = s.term.run("help").await;
    assert!(out.contains("slots"));
    let bare_lf = out
        .as_bytes()
        .windows(2)
        .any(|w| w[1] == b'\n' && w[0] != b'\r');
    assert!(!bare_lf, "{out:?}");
}

#[tokio::test]
async fn each_command_gives_one_line_of_json_with_json() {
    let mut s = start(None, 24).await;
    for command in [
        "status", "slots", "gps", "battery", "storage", "network", "upload", "log 3", "selftest",
        "version", "help", "help log", "exit",
    ] {
        let out = s.term.run(&format!("{command} --json")).await;
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "{command}: {out:?}");
        let value: serde_json::Value = serde_json::from_str(lines[1])
            .unwrap_or_else(|e| panic!("{command}: {e}: {:?}", lines[1]));
        assert!(value.is_object(), "{command}");
    }
    let out = s.term.run("slots --json").await;
    let json: serde_json::Value = serde_json::from_str(out.split("\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["slots"][0]["serial"], "KW-000001");
    assert_eq!(json["slots"][0]["battery_soc"], 80);
}

#[tokio::test]
async fn errors_are_json_too_when_json_was_asked_for() {
    let mut s = start(None, 24).await;
    let out = s.term.run("wearable KW-404 --json").await;
    let json: serde_json::Value = serde_json::from_str(out.split("\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["error"], "no wearable `KW-404` known");
    let out = s.term.run("frobnicate --json").await;
    assert!(out.contains(r#"{"ok":false,"error":"unknown command `frobnicate`; type help"}"#));
    assert_eq!(*s.dock.asked_serials.lock().unwrap(), ["KW-404"]);
}

#[tokio::test]
async fn an_unknown_command_points_to_help() {
    let mut s = start(None, 24).await;
    let out = s.term.run("reboot").await;
    assert!(out.contains("unknown command `reboot`; type help\r\n"));
}

#[tokio::test]
async fn ctrl_c_ctrl_d_and_exit_leave_the_console_ready() {
    let mut s = start(None, 24).await;
    s.term.send(b"stat\x03").await;
    assert!(
        s.term
            .until("dock-7> ")
            .await
            .ends_with("stat^C\r\ndock-7> ")
    );
    s.term.send(b"\x04").await;
    assert!(s.term.until("dock-7> ").await.contains("bye\r\n"));
    let out = s.term.run("quit").await;
    assert!(out.contains("bye\r\n"));
    assert!(s.term.run("version").await.contains("dockd 9.8.7"));
}

#[tokio::test]
async fn an_over_long_line_is_refused_once_it_ends() {
    let mut s = start(None, 24).await;
    s.term.send(&vec![b'x'; 10_000]).await;
    let out = s.term.run("").await;
    assert!(out.contains("line too long (max 256)\r\n"));
    assert_eq!(out.matches("line too long").count(), 1);
    assert!(s.term.run("version").await.contains("dockd 9.8.7"));
}

#[tokio::test]
async fn long_output_is_paged_and_space_shows_the_next_page() {
    let mut s = start(None, 10).await;
    s.term.send(b"log 20\r").await;
    let first = s.term.until(MORE_PROMPT).await;
    assert!(first.contains("log line 009\r\n"));
    assert!(!first.contains("log line 010"));
    s.term.send(b" ").await;
    let second = s.term.until(MORE_PROMPT).await;
    assert!(second.contains("log line 010\r\n"));
    assert!(second.contains("log line 018\r\n"));
    assert!(!second.contains("log line 019"));
    // Enter as CR LF is one key press: it shows the last page, and no empty line follows.
    s.term.send(b"\r\n").await;
    let last = s.term.until("dock-7> ").await;
    assert!(last.contains("log line 020\r\ndock-7> "));
    assert!(s.term.run("version").await.starts_with("version\r\n"));
}

#[tokio::test]
async fn q_stops_the_pager() {
    let mut s = start(None, 10).await;
    s.term.send(b"log 100\r").await;
    s.term.until(MORE_PROMPT).await;
    s.term.send(b"q").await;
    let rest = s.term.until("dock-7> ").await;
    assert!(!rest.contains("log line"));
}

#[tokio::test]
async fn all_and_a_page_size_of_zero_turn_paging_off() {
    let mut s = start(None, 10).await;
    let out = s.term.run("log 50 --all").await;
    assert!(out.contains("log line 050"));
    assert!(!out.contains(MORE_PROMPT));
    let mut s = start(None, 0).await;
    let out = s.term.run("log 50").await;
    assert!(out.contains("log line 050"));
    assert!(!out.contains(MORE_PROMPT));
}

#[tokio::test]
async fn without_a_pin_actions_are_refused_without_asking() {
    let mut s = start(None, 24).await;
    let out = s.term.run("upload now").await;
    assert!(out.contains("no service PIN configured; actions are disabled"));
    assert!(!out.contains("PIN: "));
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_right_pin_runs_the_action_and_is_never_echoed() {
    let mut s = start(Some("471100"), 24).await;
    s.term.send(b"upload now\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("471100").await;
    assert!(out.starts_with("******\r\nupload started\r\n"), "{out:?}");
    assert!(!String::from_utf8_lossy(&s.term.seen).contains("471100"));
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 1);

    s.term.send(b"restart --json\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("471100").await;
    assert!(out.contains(r#"{"ok":true,"message":"restarting"}"#));
    assert_eq!(s.dock.restarts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn update_shows_the_updaters_state_and_its_last_event_in_words() {
    let mut s = start(None, 24).await;
    let out = s.term.run("update").await;
    for expected in [
        "https://releases.example/dock/manifest.json",
        "running     9.8.7",
        "on trial    no",
        "02:00-04:00 site time",
        "refused: the manifest's signature is by an unknown key",
        "events      2023-11-14 22:13:20 UTC",
        ": refused: the manifest's signature is by an unknown key",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    assert!(!out.contains("PIN: "), "showing needs no PIN");
    assert_eq!(s.dock.updates.load(Ordering::SeqCst), 0);
    let out = s.term.run("update --json").await;
    assert!(out.contains(r#""on_trial":false"#), "{out}");
    let out = s.term.run("help").await;
    assert!(out.contains("update [now]"), "{out}");
}

#[tokio::test]
async fn update_now_asks_for_the_pin_and_answers_with_the_updaters_sentence() {
    let mut s = start(Some("471100"), 24).await;
    s.term.send(b"update now\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("471100").await;
    assert!(
        out.starts_with("******\r\ndockd 9.8.7 is up to date\r\n"),
        "{out:?}"
    );
    assert!(!String::from_utf8_lossy(&s.term.seen).contains("471100"));
    assert_eq!(s.dock.updates.load(Ordering::SeqCst), 1);
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_wrong_pin_for_update_now_is_refused_and_counted_with_upload_nows() {
    let mut s = start(Some("471100"), 24).await;
    s.term.send(b"update now\r").await;
    s.term.until("PIN: ").await;
    assert!(s.term.run("1").await.contains("wrong PIN\r\n"));
    s.term.send(b"upload now\r").await;
    s.term.until("PIN: ").await;
    assert!(s.term.run("2").await.contains("wrong PIN\r\n"));
    // The third wrong PIN, whichever action it was for, locks PIN entry for all of them.
    s.term.send(b"update now\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("3").await;
    assert!(
        out.contains("wrong PIN; PIN entry locked for 30 s\r\n"),
        "{out:?}"
    );
    s.term.send(b"update now\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("471100").await;
    assert!(
        out.contains("PIN entry locked; try again in 30 s"),
        "{out:?}"
    );
    assert_eq!(s.dock.updates.load(Ordering::SeqCst), 0);
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 0);
    // Once the lockout ends, the right PIN reaches the updater.
    s.now.fetch_add(30_000, Ordering::SeqCst);
    s.term.send(b"update now\r").await;
    s.term.until("PIN: ").await;
    assert!(s.term.run("471100").await.contains("is up to date"));
    assert_eq!(s.dock.updates.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_pin_typed_ahead_with_the_command_is_still_masked() {
    let mut s = start(Some("471100"), 24).await;
    s.term.send(b"upload now\r471100\r").await;
    let out = s.term.until("upload started").await;
    assert!(!out.contains("471100"), "{out:?}");
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn wrong_pins_lock_pin_entry_and_the_lockout_doubles() {
    let mut s = start(Some("471100"), 24).await;
    for attempt in ["1", "2"] {
        s.term.send(b"upload now\r").await;
        s.term.until("PIN: ").await;
        assert!(s.term.run(attempt).await.contains("wrong PIN\r\n"));
    }
    s.term.send(b"upload now\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("3").await;
    assert!(
        out.contains("wrong PIN; PIN entry locked for 30 s\r\n"),
        "{out:?}"
    );

    s.now.fetch_add(10_000, Ordering::SeqCst);
    s.term.send(b"upload now\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("471100").await;
    assert!(
        out.starts_with("\r\nPIN entry locked; try again in 20 s"),
        "nothing of the PIN typed while locked shows: {out:?}"
    );
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 0);

    s.now.fetch_add(20_000, Ordering::SeqCst);
    for _ in 0..3 {
        s.term.send(b"restart\r").await;
        s.term.until("PIN: ").await;
        s.term.run("0000").await;
    }
    s.term.send(b"restart\r").await;
    s.term.until("PIN: ").await;
    let out = s.term.run("0000").await;
    assert!(
        out.contains("PIN entry locked; try again in 60 s"),
        "{out:?}"
    );

    s.now.fetch_add(60_000, Ordering::SeqCst);
    s.term.send(b"upload now\r").await;
    s.term.until("PIN: ").await;
    assert!(s.term.run("471100").await.contains("upload started"));
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 1);
    assert_eq!(s.dock.restarts.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_pin_typed_ahead_while_locked_is_neither_echoed_nor_run_as_a_command() {
    let mut s = start(Some("471100"), 24).await;
    for _ in 0..3 {
        s.term.send(b"upload now\r").await;
        s.term.until("PIN: ").await;
        s.term.run("000000").await;
    }
    s.term.send(b"upload now\r471100\r").await;
    let out = s.term.until("dock-7> ").await;
    assert!(
        out.contains("PIN entry locked; try again in 30 s"),
        "{out:?}"
    );
    assert!(!out.contains("471100") && !out.contains('*'), "{out:?}");
    assert!(!out.contains("unknown command"), "{out:?}");
    assert!(!String::from_utf8_lossy(&s.term.seen).contains("471100"));
    assert_eq!(s.dock.uploads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_pin_too_short_for_this_version_disables_the_actions_and_says_why() {
    let (client, server) = tokio::io::duplex(64 * 1024);
    let dock = Arc::new(FakeDock::default());
    let settings = ConsoleSettings {
        pin: Some(serde_json::from_str("\"4711\"").unwrap()),
        ..ConsoleSettings::default()
    };
    let backend: Arc<dyn ConsoleBackend> = dock.clone();
    let cancel = CancellationToken::new();
    let _served = tokio::spawn(serve(server, backend, settings, Arc::new(|| 0_i64), cancel));
    let mut term = Term {
        io: client,
        seen: Vec::new(),
        mark: 0,
    };
    term.until("dock> ").await;
    term.send(b"upload now\r").await;
    let out = term.until("dock> ").await;
    assert!(
        out.contains("PIN actions are disabled: the service PIN is shorter than 6 characters; set a longer [serial] pin"),
        "{out:?}"
    );
    assert!(!out.contains("PIN: "));
    assert_eq!(dock.uploads.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_lockout_outlives_the_console_that_counted_it() {
    let dir = std::env::temp_dir().join(format!("dockd-console-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let settings = ConsoleSettings {
        pin: Some(ServicePin::new("471100").unwrap().into()),
        lockout_file: Some(dir.join(crate::console::LOCKOUT_FILE)),
        ..ConsoleSettings::default()
    };
    let backend: Arc<dyn ConsoleBackend> = Arc::new(FakeDock::default());
    let clock: Clock = Arc::new(|| 1_700_000_000_000);
    let first = Console::new(Arc::clone(&backend), settings.clone(), Arc::clone(&clock));
    for _ in 0..3 {
        first.check_pin("000000").await;
    }
    drop(first);
    let restarted = Console::new(backend, settings, clock);
    assert_eq!(
        restarted.check_pin("471100").await,
        crate::console::PinVerdict::Locked {
            remaining: crate::console::FIRST_LOCKOUT
        }
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn ctrl_c_at_the_pin_prompt_cancels_without_counting() {
    let mut s = start(Some("471100"), 24).await;
    for _ in 0..5 {
        s.term.send(b"upload now\r").await;
        s.term.until("PIN: ").await;
        s.term.send(b"12\x03").await;
        assert!(s.term.until("dock-7> ").await.contains("cancelled"));
    }
    s.term.send(b"upload now\r").await;
    s.term.until("PIN: ").await;
    assert!(s.term.run("471100").await.contains("upload started"));
}

#[tokio::test]
async fn a_hang_up_ends_the_session() {
    let s = start(None, 24).await;
    drop(s.term);
    let end = tokio::time::timeout(WAIT, s.served).await.unwrap().unwrap();
    assert!(matches!(end, ConsoleEnd::HangUp), "{end:?}");
}

#[tokio::test]
async fn cancelling_ends_the_session_even_at_the_pager() {
    let mut s = start(None, 5).await;
    s.term.send(b"log 50\r").await;
    s.term.until(MORE_PROMPT).await;
    s.cancel.cancel();
    let end = tokio::time::timeout(WAIT, s.served).await.unwrap().unwrap();
    assert!(matches!(end, ConsoleEnd::Cancelled), "{end:?}");
}

#[tokio::test]
async fn noise_is_never_echoed_raw() {
    let mut s = start(None, 24).await;
    let noise: Vec<u8> = (0u8..=255).chain((0u8..=255).rev()).collect();
    s.term.send(&noise).await;
    s.term.send(b"\x03version\r").await;
    s.term.until("dockd 9.8.7\r\n").await;
    let seen = &s.term.seen;
    let raw_controls = seen
        .iter()
        .filter(|&&b| (b < 0x20 && ![b'\r', b'\n', 0x08].contains(&b)) || b == 0x7f)
        .count();
    assert_eq!(raw_controls, 0);
    assert!(std::str::from_utf8(seen).is_ok());
}

#[test]
fn the_daemon_can_spawn_the_console_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send + 'static>(_: &T) {}
    let backend: Arc<dyn ConsoleBackend> = Arc::new(FakeDock::default());
    let clock: Clock = Arc::new(|| 0);
    let cancel = CancellationToken::new();
    let port = run_port(
        "/dev/null",
        115_200,
        Arc::clone(&backend),
        ConsoleSettings::default(),
        Arc::clone(&clock),
        cancel.clone(),
    );
    assert_send(&port);
    let (_, server) = tokio::io::duplex(64);
    let session = serve(server, backend, ConsoleSettings::default(), clock, cancel);
    assert_send(&session);
}
