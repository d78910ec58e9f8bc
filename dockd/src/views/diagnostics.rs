//! Implements the dock's diagnostics for the technician: `web_ui::diagnostics::DiagnosticsView`
//! (the Diagnostics page) and `diagnostics::console::ConsoleBackend` (the serial console), over the
//! diagnostics tables, the wearables' battery readings, the live GPS and power state, the board and
//! the host, the cloud upload queue (through the driver's [`UploadHandle`]: its state, "upload
//! now" and the dead letters' retry and drop) and the self-updater (through its
//! [`UpdateHandle`](crate::update::daemon::UpdateHandle): its state, "Check now", "Install now"
//! and `update now`). It owns turning those into the two view types; it
//! must never read or hand out anything about a worker (wearables appear by serial, with device figures only: battery
//! readings taken at dockings, never the wearable's own readings during wear nor any sample or
//! alert count).

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use diagnostics::battery::{self, BatteryFlag, BatteryRules};
use diagnostics::console::{self as console, ConsoleBackend};
use diagnostics::host;
use tokio_util::sync::CancellationToken;
use web_ui::diagnostics as page;

use crate::clock::Clock;
use crate::diag::DiagLive;
use crate::dock::board::{Board, Phase};
use crate::store::Reader;
use crate::update::daemon::{Ask, UpdateStatus};
use crate::update::health::Running;
use crate::uploader::handle::{UploadError, UploadHandle, UploadLive};

const DAY_MS: i64 = 86_400_000;
/// Battery flags judge this window of readings.
const BATTERY_WINDOW_DAYS: i64 = 90;
/// At most this many points per chart.
const MAX_POINTS: u32 = 2000;

/// What the web page's start adds once it knows it (address, certificate).
#[derive(Debug, Clone, Default)]
pub struct WebFacts {
    pub url: String,
    pub certificate_sha256: Option<String>,
}

/// The dock's diagnostics over its store and live state.
pub struct DockDiagnostics {
    reader: Reader,
    live: DiagLive,
    board: Arc<Board>,
    clock: Arc<dyn Clock>,
    dock_name: String,
    data_dir: PathBuf,
    database: PathBuf,
    gps_configured: bool,
    started: Instant,
    web: Arc<OnceLock<WebFacts>>,
    rules: BatteryRules,
    /// Cancelled by the console's `restart`.
    shutdown: CancellationToken,
    pseudonym_key: page::PseudonymKey,
    upload: UploadHandle,
    running: Arc<Running>,
}

/// Everything [`DockDiagnostics::new`] needs.
pub struct DiagnosticsParts {
    pub reader: Reader,
    pub live: DiagLive,
    pub board: Arc<Board>,
    pub clock: Arc<dyn Clock>,
    pub dock_name: String,
    pub data_dir: PathBuf,
    pub database: PathBuf,
    pub gps_configured: bool,
    pub web: Arc<OnceLock<WebFacts>>,
    pub shutdown: CancellationToken,
    /// The pseudonym key in use, by source and public id (shown to technicians and admins).
    pub pseudonym_key: page::PseudonymKey,
    /// The upload driver's handle (`UploadHandle::not_configured()` without `[upload]`).
    pub upload: UploadHandle,
    /// The running version's state; the updater's handle is found in it once it started.
    pub running: Arc<Running>,
}

impl DockDiagnostics {
    pub fn new(parts: DiagnosticsParts) -> Self {
        Self {
            reader: parts.reader,
            live: parts.live,
            board: parts.board,
            clock: parts.clock,
            dock_name: parts.dock_name,
            data_dir: parts.data_dir,
            database: parts.database,
            gps_configured: parts.gps_configured,
            started: Instant::now(),
            web: parts.web,
            rules: BatteryRules::default(),
            shutdown: parts.shutdown,
            pseudonym_key: parts.pseudonym_key,
            upload: parts.upload,
            running: parts.running,
        }
    }

    /// The updater's state; before the updater started, only the running version.
    fn update_status(&self) -> UpdateStatus {
        self.running.updates().map_or_else(
            || UpdateStatus {
                running: crate::version::text().to_owned(),
                on_trial: self.running.on_trial(),
                ..UpdateStatus::default()
            },
            |updates| updates.status(),
        )
    }

    /// Asks the updater as `by` (the audit trail's name for whoever asked).
    async fn ask_updater(&self, ask: Ask, by: &str) -> Result<String, String> {
        match self.running.updates() {
            Some(updates) => updates.ask(ask, by).await,
            None => Err("the updater has not started yet; try again in a minute".to_owned()),
        }
    }

    /// The upload queue as the driver last published it; `None` without `[upload]`.
    fn upload_live(&self) -> Option<UploadLive> {
        self.upload.status()
    }

    fn version() -> String {
        format!("dockd {}", crate::version::text())
    }

    /// Wearable `serial`'s battery readings taken at dockings since `since_ms`, oldest first.
    /// The wearable's own DIAG readings are left out: logged minute by minute during wear, they
    /// are a wear-time series (and no flag needs them: every flag judges health or charging,
    /// which only a docking reports).
    fn docking_readings(&self, serial: &str, since_ms: i64) -> Vec<battery::WearableBattery> {
        let mut readings = self
            .reader
            .wearable_batteries(serial, since_ms)
            .unwrap_or_default();
        // A docking row always says whether it was charging; a DIAG record never does.
        readings.retain(|r| r.charging.is_some());
        readings
    }

    /// Every wearable the dock has seen, with its readings over the battery window and its flags.
    fn wearables(
        &self,
        since_ms: i64,
    ) -> Vec<(String, Option<i64>, Vec<battery::WearableBattery>)> {
        let totals = self.reader.wearable_totals().unwrap_or_else(|error| {
            tracing::warn!(error = %error, "Cannot list wearables for diagnostics.");
            Vec::new()
        });
        totals
            .into_iter()
            .map(|w| {
                let readings = self.docking_readings(&w.serial, since_ms);
                (w.serial, w.last_docked_ms, readings)
            })
            .collect()
    }

    fn flags_of(&self, readings: &[battery::WearableBattery]) -> Vec<BatteryFlag> {
        battery::flags(readings, &self.rules)
    }

    fn gps_now(&self) -> diagnostics::gps::GpsStatus {
        self.live.gps.borrow().clone()
    }

    fn power_now(&self) -> Option<diagnostics::power::DockPower> {
        self.live.power.borrow().clone()
    }

    fn host(&self) -> host::HostInfo {
        host::read_host(
            &self.data_dir,
            &self.database,
            std::path::Path::new(host::DEFAULT_PROC_ROOT),
        )
    }
}

/// The clock's state as the page shows it.
pub(crate) fn clock_panel(clock: &diagnostics::time_sync::ClockSync) -> page::ClockPanel {
    page::ClockPanel {
        synchronised: clock.synchronised(),
        words: clock.words(),
    }
}

fn mode_words(mode: u8) -> &'static str {
    match mode {
        1 => "no fix",
        2 => "2D",
        3 => "3D",
        _ => "unknown",
    }
}

fn event_words(kind: &str, detail: Option<&str>) -> String {
    let detail: Option<serde_json::Value> = detail.and_then(|d| serde_json::from_str(d).ok());
    let field = |name: &str| {
        detail
            .as_ref()
            .and_then(|d| d[name].as_str())
            .map(str::to_owned)
    };
    match kind {
        "connected" => format!("connected to gpsd {}", field("release").unwrap_or_default())
            .trim_end()
            .to_owned(),
        "disconnected" => format!(
            "gpsd connection lost: {}",
            field("reason").unwrap_or_default()
        ),
        "no_gpsd" => format!(
            "gpsd not reachable: {}",
            field("reason").unwrap_or_default()
        ),
        "no_receiver" => "gpsd has no GPS receiver".to_owned(),
        "fix_lost" => "fix lost".to_owned(),
        "fix_regained" => "fix regained".to_owned(),
        other => other.replace('_', " "),
    }
}

fn flag_kind(flag: &BatteryFlag) -> String {
    serde_json::to_value(flag.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl DockDiagnostics {
    /// Everything the Diagnostics page shows, with histories over the last `days` days.
    fn page(&self, days: u32) -> page::Diagnostics {
        let now = self.clock.now_ms();
        let since = now - i64::from(days.max(1)) * DAY_MS;
        let gps = self.gps_now();
        let last_fix = self.reader.latest_gps_fix(true).ok().flatten();
        let gps_panel = page::GpsPanel {
            configured: self.gps_configured,
            connected: gps.connected,
            mode: gps.mode,
            lat: gps.lat.or(last_fix.as_ref().and_then(|f| f.lat)),
            lon: gps.lon.or(last_fix.as_ref().and_then(|f| f.lon)),
            alt_m: gps.alt_m.or(last_fix.as_ref().and_then(|f| f.alt_m)),
            satellites_used: gps.satellites_used,
            satellites_seen: gps.satellites_seen,
            hdop: gps.hdop,
            last_fix_ms: gps.last_fix_ms.or(last_fix.as_ref().map(|f| f.at_ms)),
            problem: gps.problem.clone(),
        };
        let gps_history = self
            .reader
            .gps_fixes(since, MAX_POINTS)
            .unwrap_or_default()
            .into_iter()
            .map(|f| page::GpsPoint {
                at_ms: f.at_ms,
                mode: f.mode,
                satellites_used: f.satellites_used,
                lat: f.lat,
                lon: f.lon,
            })
            .collect();
        let gps_events = self
            .reader
            .gps_events(50)
            .unwrap_or_default()
            .into_iter()
            .map(|e| page::GpsEventLine {
                text: event_words(&e.kind, e.detail.as_deref()),
                at_ms: e.at_ms,
                kind: e.kind,
            })
            .collect();
        let power = match self.power_now() {
            Some(p) => page::PowerPanel {
                summary: p.summary.clone(),
                mains_online: p.mains_online,
                batteries: p
                    .batteries
                    .iter()
                    .map(|b| page::DockBattery {
                        name: b.name.clone(),
                        kind: b.kind.words().to_owned(),
                        status: b.status.map(|s| s.words().to_owned()),
                        capacity_pct: b.capacity_pct,
                        health_pct: b.health_pct,
                        temperature_c: b.temperature_c,
                        voltage_v: b.voltage_v,
                    })
                    .collect(),
                thermal: p
                    .thermal
                    .iter()
                    .map(|t| page::Thermal {
                        name: t.name.clone(),
                        temp_c: t.temp_c,
                    })
                    .collect(),
                problems: p.problems.clone(),
            },
            None => page::PowerPanel {
                summary: "no reading yet".to_owned(),
                ..page::PowerPanel::default()
            },
        };
        let power_history = self
            .reader
            .dock_power(since, MAX_POINTS)
            .unwrap_or_default()
            .into_iter()
            .map(|p| page::PowerPoint {
                at_ms: p.at_ms,
                mains_online: p.mains_online,
                battery_pct: p.battery_pct,
                max_temp_c: p.max_temp_c,
            })
            .collect();
        let window = now - BATTERY_WINDOW_DAYS * DAY_MS;
        let mut wearables: Vec<page::WearableBattery> = self
            .wearables(window.min(since))
            .into_iter()
            .map(|(serial, last_docked_ms, readings)| {
                let judged: Vec<_> = readings
                    .iter()
                    .filter(|r| r.at_ms >= window)
                    .cloned()
                    .collect();
                let flags = self
                    .flags_of(&judged)
                    .iter()
                    .map(|f| page::BatteryFlagLine {
                        kind: flag_kind(f),
                        reason: f.reason.clone(),
                        at_ms: f.at_ms,
                    })
                    .collect();
                let latest = readings.last();
                let latest_info = readings.iter().rev().find(|r| r.health_pct.is_some());
                page::WearableBattery {
                    serial,
                    last_docked_ms,
                    soc: latest.map(|r| r.soc),
                    health_pct: latest_info.and_then(|r| r.health_pct),
                    cycles: latest_info.and_then(|r| r.cycles),
                    temp_c: latest.map(|r| f64::from(r.temp_dc) / 10.0),
                    voltage_mv: latest.map(|r| r.voltage_mv),
                    history: readings
                        .iter()
                        .filter(|r| r.at_ms >= since)
                        .map(|r| page::BatteryPoint {
                            at_ms: r.at_ms,
                            soc: r.soc,
                            health_pct: r.health_pct,
                            temp_c: f64::from(r.temp_dc) / 10.0,
                        })
                        .collect(),
                    flags,
                }
            })
            .collect();
        // Flagged wearables first.
        wearables.sort_by(|a, b| {
            a.flags
                .is_empty()
                .cmp(&b.flags.is_empty())
                .then_with(|| a.serial.cmp(&b.serial))
        });
        let host = self.host();
        let web = self.web.get().cloned().unwrap_or_default();
        page::Diagnostics {
            now_ms: now,
            gps: gps_panel,
            gps_history,
            gps_events,
            power,
            power_history,
            wearables,
            storage: page::StoragePanel {
                data_dir: self.data_dir.display().to_string(),
                total_bytes: host.data_disk.map(|d| d.total_bytes),
                available_bytes: host.data_disk.map(|d| d.available_bytes),
                database_bytes: host.database_bytes,
            },
            host: page::HostPanel {
                dock_name: self.dock_name.clone(),
                version: Self::version(),
                uptime_s: host.uptime_s,
                interfaces: host
                    .interfaces
                    .into_iter()
                    .map(|i| page::Interface {
                        name: i.name,
                        addresses: i.addresses,
                    })
                    .collect(),
                web_certificate_sha256: web.certificate_sha256,
                pseudonym_key: Some(self.pseudonym_key.clone()),
                clock: clock_panel(&diagnostics::time_sync::current()),
            },
            upload: self.upload_live().map(|live| upload_view(&live)),
            update: update_view(self.update_status()),
        }
    }
}

impl ConsoleBackend for DockDiagnostics {
    fn status(&self) -> console::DockStatus {
        let snapshot = self.board.snapshot();
        let totals = self.reader.wearable_totals().unwrap_or_default();
        let web = self.web.get().cloned();
        let mut problems: Vec<String> = snapshot
            .iter()
            .filter(|(s, _)| s.phase == Phase::Error)
            .map(|(s, _)| format!("slot {} needs attention", s.slot))
            .collect();
        if let Some(problem) = self.gps_now().problem.filter(|_| self.gps_configured) {
            problems.push(format!("GPS: {problem}"));
        }
        problems.extend(diagnostics::time_sync::current().problem());
        console::DockStatus {
            dock_name: self.dock_name.clone(),
            version: Self::version(),
            uptime_s: self.started.elapsed().as_secs(),
            web_url: web.as_ref().map(|w| w.url.clone()),
            web_certificate_sha256: web.and_then(|w| w.certificate_sha256),
            wearables_docked: u32::try_from(snapshot.iter().filter(|(s, _)| s.connected).count())
                .unwrap_or(u32::MAX),
            segments_stored: totals.iter().map(|t| t.segments_stored).sum(),
            database_bytes: host::database_bytes(&self.database).unwrap_or(0),
            problems,
        }
    }

    fn version(&self) -> String {
        Self::version()
    }

    fn slots(&self) -> Vec<console::SlotLine> {
        self.board
            .snapshot()
            .into_iter()
            .map(|(slot, _)| {
                let health = slot.serial.as_ref().and_then(|serial| {
                    self.docking_readings(serial, slot.docked_ms)
                        .iter()
                        .rev()
                        .find_map(|r| r.health_pct)
                });
                let state = match slot.phase {
                    Phase::Connecting => "connecting",
                    Phase::Pulling => "pulling",
                    Phase::Done if slot.charging => "done, charging",
                    Phase::Done => "done",
                    Phase::Error => "needs attention",
                    Phase::Undocked => "taken out",
                };
                console::SlotLine {
                    slot: slot.slot,
                    serial: slot.serial,
                    state: state.to_owned(),
                    battery_soc: slot.battery_soc,
                    charging: slot.charging && slot.phase != Phase::Undocked,
                    battery_health: health,
                }
            })
            .collect()
    }

    fn wearable(&self, serial: &str) -> Option<console::WearableLine> {
        let totals = self.reader.totals_of(serial).ok().flatten()?;
        let window = self.clock.now_ms() - BATTERY_WINDOW_DAYS * DAY_MS;
        let readings = self.docking_readings(serial, window);
        let latest = readings.last();
        let battery = latest.map(|r| console::WearableBattery {
            soc: Some(r.soc),
            health: readings.iter().rev().find_map(|r| r.health_pct),
            charging: r.charging.unwrap_or(false),
            voltage_mv: Some(u32::from(r.voltage_mv)),
            cycles: r.cycles,
            temp_c: Some(f32::from(r.temp_dc) / 10.0),
        });
        Some(console::WearableLine {
            serial: totals.serial,
            last_docked_ms: totals.last_docked_ms,
            dockings: self.reader.docking_count(serial).unwrap_or(0),
            segments_stored: totals.segments_stored,
            battery,
            flags: self
                .flags_of(&readings)
                .into_iter()
                .map(|f| f.reason)
                .collect(),
        })
    }

    fn gps(&self) -> console::GpsLine {
        let gps = self.gps_now();
        let last_fix = self.reader.latest_gps_fix(true).ok().flatten();
        console::GpsLine {
            connected: gps.connected,
            mode: mode_words(gps.mode).to_owned(),
            lat: gps.lat.or(last_fix.as_ref().and_then(|f| f.lat)),
            lon: gps.lon.or(last_fix.as_ref().and_then(|f| f.lon)),
            alt_m: gps.alt_m.or(last_fix.as_ref().and_then(|f| f.alt_m)),
            satellites_used: gps.satellites_used,
            last_fix_ms: gps.last_fix_ms.or(last_fix.as_ref().map(|f| f.at_ms)),
            problem: gps.problem,
        }
    }

    fn battery(&self) -> console::PowerLine {
        let power = self.power_now();
        let window = self.clock.now_ms() - BATTERY_WINDOW_DAYS * DAY_MS;
        let flagged = self
            .wearables(window)
            .into_iter()
            .flat_map(|(serial, _, readings)| {
                self.flags_of(&readings)
                    .into_iter()
                    .map(move |f| console::FlaggedWearable {
                        serial: serial.clone(),
                        reason: f.reason,
                    })
            })
            .collect();
        console::PowerLine {
            dock_supply: power
                .as_ref()
                .map_or_else(|| "no reading yet".to_owned(), |p| p.summary.clone()),
            dock_soc: power
                .as_ref()
                .and_then(|p| p.batteries.iter().find_map(|b| b.capacity_pct)),
            temperatures: power
                .iter()
                .flat_map(|p| p.thermal.iter())
                .filter_map(|t| {
                    Some(console::Temperature {
                        zone: t.name.clone(),
                        celsius: t.temp_c? as f32,
                    })
                })
                .collect(),
            flagged_wearables: flagged,
        }
    }

    fn storage(&self) -> console::StorageLine {
        storage_line(&self.data_dir, &self.database)
    }

    fn network(&self) -> Vec<console::NetLine> {
        network_lines()
    }

    fn upload(&self) -> console::UploadLine {
        self.upload_live()
            .map_or_else(console::UploadLine::default, |live| upload_line(&live))
    }

    fn log(&self, n: usize) -> Vec<String> {
        crate::logbook::recent(n)
    }

    fn selftest(&self) -> Vec<console::CheckLine> {
        let mut checks = Vec::new();
        let database = self.reader.wearable_totals();
        checks.push(console::CheckLine {
            name: "database".to_owned(),
            ok: database.is_ok(),
            detail: match &database {
                Ok(list) => format!("readable, {} wearable(s) known", list.len()),
                Err(error) => error.to_string(),
            },
        });
        let disk = host::disk_usage(&self.data_dir);
        let free_pct = disk.map(|d| {
            (d.available_bytes as f64 / d.total_bytes.max(1) as f64 * 100.0).round() as u64
        });
        checks.push(console::CheckLine {
            name: "storage".to_owned(),
            ok: free_pct.is_some_and(|pct| pct >= 5),
            detail: free_pct.map_or_else(
                || format!("cannot read {}", self.data_dir.display()),
                |pct| format!("{pct} % free in {}", self.data_dir.display()),
            ),
        });
        let gps = self.gps_now();
        checks.push(console::CheckLine {
            name: "gps".to_owned(),
            ok: !self.gps_configured || (gps.connected && gps.mode >= 2),
            detail: if self.gps_configured {
                gps.problem
                    .unwrap_or_else(|| format!("{} fix", mode_words(gps.mode)))
            } else {
                "not configured".to_owned()
            },
        });
        let power = self.power_now();
        checks.push(console::CheckLine {
            name: "power".to_owned(),
            ok: power
                .as_ref()
                .is_some_and(|p| p.mains_online != Some(false)),
            detail: power.map_or_else(|| "no reading yet".to_owned(), |p| p.summary),
        });
        let now = self.clock.now_ms();
        checks.push(console::CheckLine {
            name: "clock".to_owned(),
            // Anything before 2024 means the dock's clock was never set.
            ok: now > 1_704_067_200_000,
            detail: jiff::Timestamp::from_millisecond(now)
                .map_or_else(|_| "unreadable".to_owned(), |t| format!("{t:.0} UTC")),
        });
        checks.push(console::CheckLine {
            name: "web page".to_owned(),
            ok: self.web.get().is_some(),
            detail: self
                .web
                .get()
                .map_or_else(|| "not listening".to_owned(), |w| w.url.clone()),
        });
        // The analysis on its reference shifts (the console calls this on the blocking pool).
        let (ok, detail) = match crate::selftest::run() {
            Ok(outcomes) => crate::selftest::summary(&outcomes),
            Err(error) => (false, error.to_string()),
        };
        checks.push(console::CheckLine {
            name: "analysis".to_owned(),
            ok,
            detail,
        });
        checks
    }

    fn upload_now(&self) -> Result<String, String> {
        self.upload
            .upload_now()
            .map_err(|error| error.to_string())?;
        tracing::info!("Upload now asked for on the serial console.");
        Ok(UPLOAD_STARTED.to_owned())
    }

    fn update(&self) -> console::UpdateLine {
        let status = self.update_status();
        console::UpdateLine {
            configured: status.configured,
            source: status.source,
            running: status.running,
            on_trial: status.on_trial,
            window: status.window,
            last_check_ms: status.last_check_ms,
            last_result: status.last_result,
            offered: status.offered,
            events: status
                .events
                .into_iter()
                .map(|event| console::UpdateEventLine {
                    at_ms: event.at_ms,
                    words: update_event_words(&event.action).to_owned(),
                    action: event.action,
                    version: event.version,
                    detail: event.detail,
                })
                .collect(),
        }
    }

    fn update_now(&self) -> Result<String, String> {
        // The console calls this on the blocking pool: wait here for the updater, a little less
        // long than the console waits for the dock; the updater carries on if it takes longer.
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the dock's runtime is not available".to_owned())?;
        tracing::info!("Update now asked for on the serial console.");
        let wait = console::BACKEND_TIMEOUT.saturating_sub(std::time::Duration::from_secs(2));
        runtime
            .block_on(async {
                tokio::time::timeout(wait, self.ask_updater(Ask::InstallNow, CONSOLE_USER)).await
            })
            .unwrap_or_else(|_| Ok(UPDATE_STILL_WORKING.to_owned()))
    }

    fn restart(&self) -> Result<String, String> {
        Ok(restart_cleanly(&self.shutdown))
    }
}

/// Who the audit trail names for the console's `update now`.
const CONSOLE_USER: &str = "the serial console (service PIN)";
/// What `update now` answers when the updater takes longer than the console waits.
const UPDATE_STILL_WORKING: &str = "the updater is still working on it (downloading or verifying); type `update` to see how it went";

/// An update event's action in words, for the console and the page.
pub fn update_event_words(action: &str) -> &str {
    match action {
        "checked" => "checked",
        "rejected" => "refused",
        "installed" => "installed",
        "trial" => "started on trial",
        "confirmed" => "confirmed (passed its health check)",
        "rolled_back" => "rolled back",
        "packaged_newer" => "the packaged version is newer",
        "refused_slot" => "refused a slot",
        other => other,
    }
}

/// The updater's state for the page.
fn update_view(status: UpdateStatus) -> page::UpdateView {
    page::UpdateView {
        configured: status.configured,
        source: status.source,
        running: status.running,
        on_trial: status.on_trial,
        window: status.window,
        last_check_ms: status.last_check_ms,
        last_result: status.last_result,
        offered: status.offered,
        events: status
            .events
            .into_iter()
            .map(|event| page::UpdateEventView {
                at_ms: event.at_ms,
                words: update_event_words(&event.action).to_owned(),
                action: event.action,
                version: event.version,
                detail: event.detail,
            })
            .collect(),
    }
}

/// The console's `storage`: the data folder's disk and the database's size.
pub fn storage_line(
    data_dir: &std::path::Path,
    database: &std::path::Path,
) -> console::StorageLine {
    let disk = host::disk_usage(data_dir);
    console::StorageLine {
        data_dir: data_dir.display().to_string(),
        free_bytes: disk.map_or(0, |d| d.available_bytes),
        total_bytes: disk.map_or(0, |d| d.total_bytes),
        database_bytes: host::database_bytes(database).unwrap_or(0),
    }
}

/// The console's `network`: every interface with its addresses.
pub fn network_lines() -> Vec<console::NetLine> {
    host::addresses()
        .into_iter()
        .map(|i| console::NetLine {
            interface: i.name,
            addresses: i.addresses,
        })
        .collect()
}

/// The console's `restart`: stops the daemon cleanly half a second from now (after the console
/// has written its answer); systemd starts it again. Returns the answer.
pub fn restart_cleanly(shutdown: &CancellationToken) -> String {
    let shutdown = shutdown.clone();
    tracing::warn!("Restart asked for on the serial console: stopping cleanly.");
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(500));
        shutdown.cancel();
    });
    "dockd stops cleanly now; systemd starts it again within seconds".to_owned()
}

/// What "upload now" answers.
const UPLOAD_STARTED: &str = "upload started: the dock sends what is queued now";

/// The upload queue for the page.
fn upload_view(live: &UploadLive) -> page::UploadView {
    page::UploadView {
        target: live.target.clone(),
        queued_items: live.status.queued_items,
        queued_bytes: live.status.queued_bytes,
        oldest_ms: live.status.oldest_ms,
        last_success_ms: live.status.last_success_ms,
        last_error: live.status.last_error.clone(),
        paused: live.paused.clone(),
        dead_letters: live
            .dead
            .iter()
            .map(|dead| page::DeadLetterView {
                id: dead.id.clone(),
                kind: dead.kind.name().to_owned(),
                day: dead.day.clone(),
                items: dead.items,
                bytes: dead.bytes,
                reason: dead.reason.clone(),
                parked_ms: dead.parked_ms,
            })
            .collect(),
    }
}

/// The upload queue for the console (the page's figures, in the console's shape).
fn upload_line(live: &UploadLive) -> console::UploadLine {
    let view = upload_view(live);
    console::UploadLine {
        configured: true,
        target: Some(view.target).filter(|target| !target.is_empty()),
        queued: view.queued_items,
        queued_bytes: view.queued_bytes,
        oldest_ms: view.oldest_ms,
        last_success_ms: view.last_success_ms,
        last_error: view.last_error,
        paused: view.paused,
        dead_letters: view
            .dead_letters
            .into_iter()
            .map(|dead| console::DeadLetterLine {
                id: dead.id,
                kind: dead.kind,
                day: dead.day,
                items: dead.items,
                bytes: dead.bytes,
                reason: dead.reason,
            })
            .collect(),
    }
}

/// An upload refusal as the page shows it: a sentence.
fn sentence(error: &UploadError) -> String {
    let words = error.to_string();
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |first| {
        format!("{}{}.", first.to_uppercase(), chars.as_str())
    })
}

impl page::DiagnosticsView for DockDiagnostics {
    fn diagnostics(&self, days: u32) -> page::Diagnostics {
        self.page(days)
    }

    fn upload(&self) -> Option<page::UploadView> {
        self.upload_live().map(|live| upload_view(&live))
    }

    fn upload_now<'a>(&'a self, _user: &'a str) -> web_ui::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.upload.upload_now().map_err(|error| sentence(&error))?;
            tracing::info!("Upload now asked for on the Diagnostics page.");
            Ok("Upload started: the dock sends what is queued now.".to_owned())
        })
    }

    fn retry_dead_letter<'a>(
        &'a self,
        id: &'a str,
        user: &'a str,
    ) -> web_ui::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.upload
                .retry_dead(id, user)
                .await
                .map_err(|error| sentence(&error))?;
            tracing::info!(
                batch = id,
                "A dead letter was put back in the upload queue."
            );
            Ok(format!("Dead letter {id} is back in the upload queue."))
        })
    }

    fn drop_dead_letter<'a>(
        &'a self,
        id: &'a str,
        user: &'a str,
    ) -> web_ui::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.upload
                .drop_dead(id, user)
                .await
                .map_err(|error| sentence(&error))?;
            tracing::warn!(batch = id, "A dead letter was dropped with its items.");
            Ok(format!("Dead letter {id} was dropped with its items."))
        })
    }

    fn update(&self) -> page::UpdateView {
        update_view(self.update_status())
    }

    fn ask_update<'a>(
        &'a self,
        ask: page::UpdateAsk,
        user: &'a str,
    ) -> web_ui::ViewFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let ask = match ask {
                page::UpdateAsk::Check => Ask::Check,
                page::UpdateAsk::InstallNow => Ask::InstallNow,
            };
            tracing::info!(user, ?ask, "The updater was asked on the Diagnostics page.");
            self.ask_updater(ask, user).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> UploadLive {
        UploadLive {
            target: "S3 s3://fleet/docks at http://127.0.0.1:9000".to_owned(),
            status: crate::upload::UploadStatus {
                queued_items: 5,
                queued_bytes: 700,
                oldest_ms: Some(1_000),
                last_success_ms: Some(2_000),
                last_error: Some("The S3 server refused the dock's signature.".to_owned()),
                dead_letters: 1,
            },
            paused: Some("The S3 server refused the dock's signature.".to_owned()),
            dead: vec![crate::uploader::handle::DeadLetter {
                id: "b-1".to_owned(),
                kind: crate::upload::Kind::ShiftSummary,
                day: "unknown".to_owned(),
                items: 2,
                bytes: 300,
                reason: "Refused (400).".to_owned(),
                parked_ms: Some(3_000),
            }],
        }
    }

    #[test]
    fn the_page_and_the_console_show_the_queue_the_driver_published() {
        let view = upload_view(&live());
        assert_eq!(view.queued_items, 5);
        assert_eq!(view.paused, live().paused);
        assert_eq!(view.dead_letters[0].kind, "shift_summary");
        assert_eq!(view.dead_letters[0].day, "unknown");
        let line = upload_line(&live());
        assert!(line.configured);
        assert_eq!(line.queued_bytes, 700);
        assert_eq!(line.last_error, live().status.last_error);
        assert_eq!(line.dead_letters[0].id, "b-1");
        // Before the driver's first publication there is no target to name.
        let mut early = live();
        early.target = String::new();
        assert_eq!(upload_line(&early).target, None);
    }

    #[test]
    fn every_update_event_reads_in_words_on_the_page_and_the_console_alike() {
        let event = |action: &str| crate::update::slots::Event {
            at_ms: 1_000,
            action: action.to_owned(),
            version: "0.4.0".to_owned(),
            detail: "why".to_owned(),
        };
        let status = UpdateStatus {
            configured: true,
            running: "0.3.1".to_owned(),
            events: [
                "checked",
                "rejected",
                "installed",
                "trial",
                "confirmed",
                "rolled_back",
                "packaged_newer",
                "refused_slot",
            ]
            .into_iter()
            .map(event)
            .collect(),
            ..UpdateStatus::default()
        };
        let view = update_view(status);
        let words: Vec<&str> = view.events.iter().map(|e| e.words.as_str()).collect();
        assert_eq!(
            words,
            [
                "checked",
                "refused",
                "installed",
                "started on trial",
                "confirmed (passed its health check)",
                "rolled back",
                "the packaged version is newer",
                "refused a slot",
            ]
        );
        assert!(view.events.iter().all(|e| !e.words.contains('_')));
        assert_eq!(view.events[5].action, "rolled_back");
        assert_eq!(view.running, "0.3.1");
    }

    #[test]
    fn an_upload_refusal_reads_as_a_sentence() {
        assert_eq!(
            sentence(&UploadError::NotConfigured),
            "Cloud upload is not configured on this dock."
        );
    }

    #[tokio::test]
    async fn without_upload_the_handle_refuses_upload_now_in_words() {
        let handle = UploadHandle::not_configured();
        assert_eq!(handle.status(), None);
        let refused = handle.upload_now().unwrap_err();
        assert_eq!(
            refused.to_string(),
            "cloud upload is not configured on this dock"
        );
    }

    #[test]
    fn gps_events_read_as_words() {
        assert_eq!(
            event_words(
                "connected",
                Some(r#"{"event":"connected","release":"3.22"}"#)
            ),
            "connected to gpsd 3.22"
        );
        assert_eq!(event_words("fix_lost", None), "fix lost");
        assert_eq!(
            event_words(
                "no_gpsd",
                Some(r#"{"event":"no_gpsd","reason":"connection refused"}"#)
            ),
            "gpsd not reachable: connection refused"
        );
        assert_eq!(mode_words(3), "3D");
        assert_eq!(mode_words(9), "unknown");
    }
}
