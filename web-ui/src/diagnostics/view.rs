//! The diagnostics page's view types and the [`DiagnosticsView`] trait the daemon implements; also
//! the JSON API's shapes. It must never depend on the daemon, and no type here may carry anything
//! about a worker: these are the dock's and the wearables' own hardware figures, by serial.

use serde::{Deserialize, Serialize};

use crate::ViewFuture;

/// What the diagnostics page needs from the daemon. The reads are blocking (SQLite): handlers
/// call them on tokio's blocking pool. The upload requests are awaited (they go through the
/// daemon's store writer); each answers a sentence saying what was done, or why not.
pub trait DiagnosticsView: Send + Sync + 'static {
    /// Everything the page shows, with histories over the last `days` days (its `upload` is
    /// filled by the handlers from [`DiagnosticsView::upload`]).
    fn diagnostics(&self, days: u32) -> Diagnostics;
    /// The cloud upload queue; `None` when the dock has no `[upload]`.
    fn upload(&self) -> Option<UploadView>;
    /// Sends what is queued now (an admin asked).
    fn upload_now<'a>(&'a self, user: &'a str) -> ViewFuture<'a, Result<String, String>>;
    /// Puts dead letter `id` back in the queue (audited as `user`).
    fn retry_dead_letter<'a>(
        &'a self,
        id: &'a str,
        user: &'a str,
    ) -> ViewFuture<'a, Result<String, String>>;
    /// Drops dead letter `id` and its items (audited as `user`).
    fn drop_dead_letter<'a>(
        &'a self,
        id: &'a str,
        user: &'a str,
    ) -> ViewFuture<'a, Result<String, String>>;
    /// The self-updater's state (`configured: false` without `[update]`).
    fn update(&self) -> UpdateView;
    /// Asks the self-updater (an admin, `user`, asked): the updater's sentence either way.
    fn ask_update<'a>(
        &'a self,
        ask: UpdateAsk,
        user: &'a str,
    ) -> ViewFuture<'a, Result<String, String>>;
}

/// What an admin asks of the self-updater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateAsk {
    /// Ask the release server; install nothing.
    Check,
    /// Check, and install a newer release now; the dock restarts into it on trial.
    InstallNow,
}

/// The self-updater (the same figures as the console's `update`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateView {
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
    /// When the release server was last asked (Unix ms), and what came of it (a sentence).
    pub last_check_ms: Option<i64>,
    pub last_result: Option<String>,
    /// A newer release the last check found, not installed yet.
    pub offered: Option<String>,
    /// The latest events, newest first.
    pub events: Vec<UpdateEventView>,
}

/// One thing the updater or the launcher did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateEventView {
    pub at_ms: i64,
    /// `checked`, `rejected`, `installed`, `trial`, `confirmed`, `rolled_back`,
    /// `packaged_newer`, `refused_slot`.
    pub action: String,
    /// The action in words ("rolled back").
    pub words: String,
    /// The version concerned; empty when none (a refused manifest).
    pub version: String,
    /// Why or how, a sentence.
    pub detail: String,
}

/// The whole diagnostics page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// The dock's clock when this was read, Unix ms.
    pub now_ms: i64,
    pub gps: GpsPanel,
    /// Recorded fixes, oldest first (the chart of mode and satellites).
    pub gps_history: Vec<GpsPoint>,
    /// gpsd and receiver events, newest first (fix lost/regained, gpsd gone/back).
    pub gps_events: Vec<GpsEventLine>,
    pub power: PowerPanel,
    /// Stored power samples, oldest first (the chart of backup battery and temperature).
    pub power_history: Vec<PowerPoint>,
    /// Every wearable the dock has seen, flagged ones first.
    pub wearables: Vec<WearableBattery>,
    pub storage: StoragePanel,
    pub host: HostPanel,
    /// The cloud upload queue; `null` when the dock has no `[upload]` ("not configured").
    pub upload: Option<UploadView>,
    /// The self-updater (filled by the handlers from [`DiagnosticsView::update`]).
    pub update: UpdateView,
}

/// The cloud upload queue (the same figures as `dockd status --json` `"upload"`, with the
/// target and the dead letters listed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UploadView {
    /// Where batches go, without a secret ("HTTPS https://host/ingest").
    pub target: String,
    /// Items not yet delivered, batched or not.
    pub queued_items: u64,
    pub queued_bytes: u64,
    /// When the oldest queued item was queued (Unix ms).
    pub oldest_ms: Option<i64>,
    /// When a batch was last delivered (Unix ms).
    pub last_success_ms: Option<i64>,
    /// The last failure, a sentence; `null` after a success.
    pub last_error: Option<String>,
    /// Why the whole queue is paused, a sentence; `null` while it runs.
    pub paused: Option<String>,
    /// Batches the receiver refused, parked until an admin retries or drops them.
    pub dead_letters: Vec<DeadLetterView>,
}

/// One parked batch, by batch id, record kind and day (never anything about a worker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterView {
    pub id: String,
    /// The record kind (`shift_summary`, `alert`, `dock_diag`, …).
    pub kind: String,
    /// The site-local day (`unknown` without a trustworthy time).
    pub day: String,
    pub items: u64,
    /// The compressed batch's bytes.
    pub bytes: u64,
    /// Why the receiver refused it, a sentence.
    pub reason: String,
    /// When it was parked (Unix ms).
    pub parked_ms: Option<i64>,
}

/// The GPS as it is now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpsPanel {
    /// Whether `[gps] gpsd` is configured at all.
    pub configured: bool,
    /// Connected to gpsd right now.
    pub connected: bool,
    /// 0 unknown, 1 no fix, 2 2D fix, 3 3D fix.
    pub mode: u8,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub alt_m: Option<f64>,
    pub satellites_used: Option<u32>,
    pub satellites_seen: Option<u32>,
    pub hdop: Option<f64>,
    /// Dock time of the last report with a fix.
    pub last_fix_ms: Option<i64>,
    /// What is wrong, in words for a technician.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpsPoint {
    pub at_ms: i64,
    pub mode: u8,
    pub satellites_used: Option<u32>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpsEventLine {
    pub at_ms: i64,
    /// `connected`, `disconnected`, `no_gpsd`, `no_receiver`, `fix_lost`, `fix_regained`.
    pub kind: String,
    /// In words, e.g. "gpsd 3.22 connected", "fix lost".
    pub text: String,
}

/// The dock's own power and temperatures now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerPanel {
    /// "mains only", "on battery, 64 %", …; "no reading yet" before the first.
    pub summary: String,
    pub mains_online: Option<bool>,
    pub batteries: Vec<DockBattery>,
    pub thermal: Vec<Thermal>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockBattery {
    pub name: String,
    /// "battery" or "UPS".
    pub kind: String,
    /// "charging", "discharging", "full", …
    pub status: Option<String>,
    pub capacity_pct: Option<u8>,
    pub health_pct: Option<f64>,
    pub temperature_c: Option<f64>,
    pub voltage_v: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thermal {
    pub name: String,
    pub temp_c: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerPoint {
    pub at_ms: i64,
    pub mains_online: Option<bool>,
    pub battery_pct: Option<u8>,
    pub max_temp_c: Option<f64>,
}

/// One wearable's battery: the latest reading, its history and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WearableBattery {
    pub serial: String,
    pub last_docked_ms: Option<i64>,
    pub soc: Option<u8>,
    pub health_pct: Option<u8>,
    pub cycles: Option<u16>,
    pub temp_c: Option<f64>,
    pub voltage_mv: Option<u16>,
    /// Readings taken at dockings, oldest first; never the wearable's own readings during wear.
    pub history: Vec<BatteryPoint>,
    /// Plain words, e.g. "health 72 %, below 80 %"; empty when all is well.
    pub flags: Vec<BatteryFlagLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryPoint {
    pub at_ms: i64,
    pub soc: u8,
    pub health_pct: Option<u8>,
    pub temp_c: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatteryFlagLine {
    /// `low_health`, `hot_while_charging`, `fast_fade`.
    pub kind: String,
    pub reason: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoragePanel {
    pub data_dir: String,
    pub total_bytes: Option<u64>,
    pub available_bytes: Option<u64>,
    pub database_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostPanel {
    pub dock_name: String,
    pub version: String,
    pub uptime_s: Option<u64>,
    pub interfaces: Vec<Interface>,
    pub web_certificate_sha256: Option<String>,
    /// Which key makes the workers' pseudonyms (public: technicians see it too, to check that
    /// every dock of a site runs with the site's key); `None` before the daemon has one.
    pub pseudonym_key: Option<PseudonymKey>,
    /// Whether the system clock is synchronised (the kernel's NTP state).
    #[serde(default)]
    pub clock: ClockPanel,
}

/// The system clock's synchronisation: `synchronised` is `null` when it could not be read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClockPanel {
    pub synchronised: Option<bool>,
    /// The state in words (what depends on the clock, when it is not synchronised).
    pub words: String,
}

/// The pseudonym key in use, by its public id (never the key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PseudonymKey {
    /// `site` (`[privacy] site_key_file`, shared by the site's docks) or `dock` (this dock's own).
    pub source: String,
    /// The key's public id (16 hex characters).
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub addresses: Vec<String>,
}
