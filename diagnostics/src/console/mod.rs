//! The field technician's serial console: a line-oriented prompt on a serial port (by default
//! `/dev/ttyS0` at 115200 8N1) with the commands a technician needs on site — `status`, `slots`,
//! `wearable <serial>`, `gps`, `battery`, `storage`, `network`, `upload [now]`, `update [now]`, `log [n]`,
//! `selftest`, `version`, `restart`, `help` — as aligned text, or one line of JSON with `--json`.
//!
//! It owns the line editing (`line`, sans-IO), parsing (`command`), rendering (`render`), the
//! service PIN and its rate limit (`pin`), the rate limit's file in the data folder (`lockout`),
//! one session over any byte stream (`session`: [`serve`])
//! and the port itself, reopened after hang-ups (`port`: [`run_port`]). The daemon implements
//! [`ConsoleBackend`] and hands over only the view types below.
//!
//! It must never print a worker's name or badge tag, nor anything measured from a worker's wear
//! (sample or alert counts, readings during wear): no view type has a field for one; wearables
//! appear only by serial with their device health. It never echoes or logs the service PIN,
//! never sends a raw non-printable byte it received, and no input (noise, over-long lines,
//! binary, a hang-up) may crash it or leave it stuck.

mod command;
mod line;
mod lockout;
mod pin;
mod port;
mod render;
mod session;
#[cfg(test)]
mod session_tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use command::{
    COMMANDS, Command, CommandHelp, DEFAULT_LOG_LINES, Invocation, MAX_LOG_LINES, MAX_SERIAL_CHARS,
    ParseError, parse,
};
pub use line::{EchoMode, LineEditor, LineEvent, MAX_LINE_BYTES};
pub use lockout::LOCKOUT_FILE;
pub use pin::{
    ConfiguredPin, FIRST_LOCKOUT, LockoutRecord, MAX_LOCKOUT, MIN_PIN_CHARS, PinError, PinGuard,
    PinVerdict, ServicePin, TOO_SHORT_MESSAGE, WRONG_PINS_PER_LOCKOUT,
};
pub use port::{PortOptions, RETRY_MAX, RETRY_MIN, run_port};
pub use session::{BACKEND_TIMEOUT, ConsoleEnd, MORE_PROMPT, PIN_TIMEOUT, serve};

/// The serial port the console uses when `[serial]` names none.
pub const DEFAULT_PORT: &str = "/dev/ttyS0";
/// The console's baud rate when `[serial]` gives none.
pub const DEFAULT_BAUD: u32 = 115_200;
/// Lines per page when `[serial]` gives none.
pub const DEFAULT_PAGE_LINES: usize = 24;

/// Wall-clock time in Unix milliseconds; injected so tests control the PIN lockouts.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The dock as a whole (`status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DockStatus {
    pub dock_name: String,
    /// The daemon's version, e.g. `dockd 0.1.0`.
    pub version: String,
    pub uptime_s: u64,
    /// Where the web page is reached, once it listens.
    pub web_url: Option<String>,
    /// The SHA-256 fingerprint of the web page's certificate (hex, with or without colons),
    /// once the web UI has one; shown so a technician can check a browser's warning.
    pub web_certificate_sha256: Option<String>,
    pub wearables_docked: u32,
    pub segments_stored: u64,
    pub database_bytes: u64,
    /// Plain-words problems, empty when all is well.
    pub problems: Vec<String>,
}

/// One slot of the dock (`slots`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotLine {
    pub slot: u32,
    /// The docked wearable's serial; `None` when the slot is empty.
    pub serial: Option<String>,
    /// What the slot is doing, in words: `empty`, `pulling`, `done`, `error: …`.
    pub state: String,
    /// State of charge, percent.
    pub battery_soc: Option<u8>,
    pub charging: bool,
    /// Battery health (capacity left), percent.
    pub battery_health: Option<u8>,
}

/// One wearable as the dock knows it (`wearable <serial>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WearableLine {
    pub serial: String,
    /// The last docking's start, Unix ms; `None` when its time is unknown.
    pub last_docked_ms: Option<i64>,
    pub dockings: u64,
    /// Logs stored: transfer state. No sample or alert count: with who docks the wearable, those
    /// read as a worker's figures, and a technician sees device health only.
    pub segments_stored: u64,
    /// The battery as last reported at a docking; `None` when never reported.
    pub battery: Option<WearableBattery>,
    /// Plain-words flags, e.g. `battery health low`, `clock not set`.
    pub flags: Vec<String>,
}

/// A wearable's battery as last reported at a docking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WearableBattery {
    pub soc: Option<u8>,
    pub health: Option<u8>,
    pub charging: bool,
    pub voltage_mv: Option<u32>,
    /// Charge cycles so far.
    pub cycles: Option<u16>,
    /// Battery temperature at that docking, °C.
    pub temp_c: Option<f32>,
}

/// The dock's GPS (`gps`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpsLine {
    /// Whether gpsd is connected.
    pub connected: bool,
    /// `no fix`, `2D`, `3D` or `unknown`.
    pub mode: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub alt_m: Option<f64>,
    pub satellites_used: Option<u32>,
    /// The last fix, Unix ms.
    pub last_fix_ms: Option<i64>,
    /// What is wrong, in words, if anything.
    pub problem: Option<String>,
}

/// Dock power and batteries (`battery`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerLine {
    /// What powers the dock, in words: `mains`, `battery`, `unknown`.
    pub dock_supply: String,
    /// The dock's own battery, percent, if it has one.
    pub dock_soc: Option<u8>,
    pub temperatures: Vec<Temperature>,
    /// Docked or known wearables whose battery needs attention.
    pub flagged_wearables: Vec<FlaggedWearable>,
}

/// One thermal zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Temperature {
    pub zone: String,
    pub celsius: f32,
}

/// A wearable whose battery needs attention, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlaggedWearable {
    pub serial: String,
    pub reason: String,
}

/// The data folder (`storage`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StorageLine {
    pub data_dir: String,
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub database_bytes: u64,
}

/// One network interface (`network`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetLine {
    pub interface: String,
    /// Addresses with prefix length, e.g. `192.168.1.20/24`.
    pub addresses: Vec<String>,
}

/// The cloud upload queue (`upload`). Nothing here names a worker: dead letters appear by batch
/// id, record kind and day.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UploadLine {
    /// Whether the dock has `[upload]`; without it every other field is empty.
    pub configured: bool,
    /// Where batches go, without a secret ("HTTPS https://host/ingest").
    pub target: Option<String>,
    /// Items waiting to be uploaded, batched or not.
    pub queued: u64,
    pub queued_bytes: u64,
    /// When the oldest queued item was queued, Unix ms.
    pub oldest_ms: Option<i64>,
    /// When a batch was last delivered, Unix ms.
    pub last_success_ms: Option<i64>,
    /// The last failure, a sentence.
    pub last_error: Option<String>,
    /// Why the whole queue is paused, a sentence.
    pub paused: Option<String>,
    /// Batches the receiver refused, parked until an admin retries or drops them.
    pub dead_letters: Vec<DeadLetterLine>,
}

/// One parked batch (`upload`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetterLine {
    /// The batch id.
    pub id: String,
    /// The record kind (`shift_summary`, `alert`, …).
    pub kind: String,
    /// The site-local day, or `unknown`.
    pub day: String,
    pub items: u64,
    pub bytes: u64,
    /// Why the receiver refused it, a sentence.
    pub reason: String,
}

/// The self-updater (`update`): where it looks, what runs, and what it last did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UpdateLine {
    /// Whether the dock has `[update]`; without it only `running` is filled.
    pub configured: bool,
    /// The release manifest's address.
    pub source: Option<String>,
    /// The running version.
    pub running: String,
    /// Whether the running version is on trial (wearables are not erased until it is confirmed).
    pub on_trial: bool,
    /// The maintenance window, `HH:MM-HH:MM` site time.
    pub window: Option<String>,
    /// When the release server was last asked, Unix ms, and what came of it (a sentence).
    pub last_check_ms: Option<i64>,
    pub last_result: Option<String>,
    /// A newer release the last check found, not installed yet.
    pub offered: Option<String>,
    /// The latest events, newest first (the text view shows [`UPDATE_EVENTS_SHOWN`]).
    pub events: Vec<UpdateEventLine>,
}

/// One thing the updater or the launcher did (`update`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpdateEventLine {
    pub at_ms: i64,
    /// `checked`, `rejected`, `installed`, `trial`, `confirmed`, `rolled_back`, …
    pub action: String,
    /// The action in words ("rolled back").
    pub words: String,
    /// The version concerned; empty when none (a refused manifest).
    pub version: String,
    /// Why or how, a sentence.
    pub detail: String,
}

/// How many events `update` lists as text.
pub const UPDATE_EVENTS_SHOWN: usize = 3;

/// One self-test check (`selftest`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckLine {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// What the console asks of the daemon. No method may return a worker's name or badge tag.
///
/// Every call may block (reading the database, the file system, `/sys`): the console always
/// calls them on tokio's blocking pool and gives up on one after [`BACKEND_TIMEOUT`], telling the
/// technician so. They are called only when a technician types a command.
pub trait ConsoleBackend: Send + Sync + 'static {
    fn status(&self) -> DockStatus;
    /// The daemon's version for `version`; by default taken from [`ConsoleBackend::status`].
    fn version(&self) -> String {
        self.status().version
    }
    fn slots(&self) -> Vec<SlotLine>;
    /// `None` when the dock does not know this serial.
    fn wearable(&self, serial: &str) -> Option<WearableLine>;
    fn gps(&self) -> GpsLine;
    fn battery(&self) -> PowerLine;
    fn storage(&self) -> StorageLine;
    fn network(&self) -> Vec<NetLine>;
    fn upload(&self) -> UploadLine;
    /// The last `n` log lines, oldest first (the daemon's logs never carry tags or names).
    fn log(&self, n: usize) -> Vec<String>;
    fn selftest(&self) -> Vec<CheckLine>;
    /// Starts an upload now (PIN already checked); the message to show, or why not.
    fn upload_now(&self) -> Result<String, String>;
    /// The self-updater's state.
    fn update(&self) -> UpdateLine;
    /// Asks the updater to install a newer release now (PIN already checked); the updater's
    /// sentence, or why not. An install restarts the daemon: the console ends when cancelled.
    fn update_now(&self) -> Result<String, String>;
    /// Restarts the service (PIN already checked). Return at once with the message to show and
    /// restart after returning: the console prints the message, then ends when cancelled.
    fn restart(&self) -> Result<String, String>;
}

/// How a console session behaves.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// The service PIN; without a usable one, actions are refused and the technician told why.
    pub pin: Option<ConfiguredPin>,
    /// Where the wrong-PIN count and lockout are kept across restarts (`LOCKOUT_FILE` in the
    /// data folder); `None`: in memory only.
    pub lockout_file: Option<PathBuf>,
    /// Lines per page including the `-- more --` line; 0 turns paging off.
    pub page_lines: usize,
    /// Shown in the prompt (`dock-7> `).
    pub dock_name: String,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            pin: None,
            lockout_file: None,
            page_lines: DEFAULT_PAGE_LINES,
            dock_name: "dock".to_owned(),
        }
    }
}

/// The `[serial]` section of the daemon's configuration. The console is off when the section is
/// absent (`Option<SerialConfig>` in the daemon's config); present, it defaults to
/// `/dev/ttyS0` at 115200 baud without a PIN.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SerialConfig {
    pub port: PathBuf,
    pub baud: u32,
    /// The service PIN for actions (6–64 characters); none disables actions, and so does a 4- or
    /// 5-character PIN left from an older version (the dock starts and says why).
    pub pin: Option<ConfiguredPin>,
    /// Lines per page; 0 turns paging off.
    pub page_lines: usize,
}

impl Default for SerialConfig {
    fn default() -> Self {
        Self {
            port: PathBuf::from(DEFAULT_PORT),
            baud: DEFAULT_BAUD,
            pin: None,
            page_lines: DEFAULT_PAGE_LINES,
        }
    }
}

impl SerialConfig {
    /// The session settings for a dock called `dock_name`, keeping the PIN lockout in
    /// `data_dir`.
    pub fn settings(&self, dock_name: impl Into<String>, data_dir: &Path) -> ConsoleSettings {
        ConsoleSettings {
            pin: self.pin.clone(),
            lockout_file: Some(data_dir.join(LOCKOUT_FILE)),
            page_lines: self.page_lines,
            dock_name: dock_name.into(),
        }
    }
}

/// A console: the backend, the settings, the clock and the PIN rate limit. One serves one port
/// for the daemon's life, so wrong PINs count across sessions and hang-ups.
pub struct Console {
    backend: Arc<dyn ConsoleBackend>,
    settings: ConsoleSettings,
    clock: Clock,
    pins: Mutex<PinGuard>,
}

impl Console {
    /// A console that carries on from the lockout its file records (read once, here).
    pub fn new(backend: Arc<dyn ConsoleBackend>, settings: ConsoleSettings, clock: Clock) -> Self {
        let record = settings
            .lockout_file
            .as_deref()
            .map(|path| lockout::load(path, clock()))
            .unwrap_or_default();
        let pins = Mutex::new(PinGuard::resumed(settings.pin.clone(), record));
        Self {
            backend,
            settings,
            clock,
            pins,
        }
    }

    pub fn settings(&self) -> &ConsoleSettings {
        &self.settings
    }

    fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    fn pins(&self) -> std::sync::MutexGuard<'_, PinGuard> {
        self.pins
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks one PIN attempt and, when the rate limit changed, writes it to the lockout file
    /// (on the blocking pool) before answering, so a restart right after still knows it.
    async fn check_pin(&self, attempt: &str) -> PinVerdict {
        let (verdict, changed) = {
            let mut pins = self.pins();
            let before = pins.record();
            let verdict = pins.check(self.now_ms(), attempt);
            let after = pins.record();
            (verdict, (after != before).then_some(after))
        };
        if let (Some(record), Some(path)) = (changed, self.settings.lockout_file.clone()) {
            let saved = tokio::task::spawn_blocking(move || lockout::save(&path, &record)).await;
            match saved {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(error = %error, "Cannot keep the console's PIN lockout in the data folder; a restart would forget it.")
                }
                Err(error) => {
                    tracing::warn!(error = %error, "Cannot keep the console's PIN lockout in the data folder; a restart would forget it.")
                }
            }
        }
        verdict
    }
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_section_fills_in_the_defaults() {
        let config: SerialConfig = serde_json::from_str(r#"{"pin": "471100"}"#).unwrap();
        assert_eq!(config.port, PathBuf::from("/dev/ttyS0"));
        assert_eq!(config.baud, 115_200);
        assert_eq!(config.page_lines, 24);
        assert_eq!(config.pin, Some(ServicePin::new("471100").unwrap().into()));
        let settings = config.settings("dock-7", Path::new("/var/lib/dockd"));
        assert_eq!(settings.dock_name, "dock-7");
        assert_eq!(
            settings.lockout_file.as_deref(),
            Some(Path::new("/var/lib/dockd/console-lockout.json"))
        );
        assert!(!format!("{config:?} {settings:?}").contains("4711"));
    }

    #[test]
    fn an_unknown_serial_key_is_refused() {
        let parsed: Result<SerialConfig, _> = serde_json::from_str(r#"{"pni": "471100"}"#);
        assert!(parsed.is_err());
    }
}
