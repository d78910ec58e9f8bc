//! The dock while its database is locked (its key missing, unreadable or wrong, see
//! [`crate::store::key`], or the file written by a newer dockd — a downgrade): it stays up (under
//! `Restart=always` a refusal to start would be a crash loop), serves the page and the serial console saying why, and
//! checks every [`RECHECK`] whether the key was put back (or the newer dockd reinstalled). It must never open the database for
//! writing, create a database or a key, start a wearable transport, pull or send ERASE.
//!
//! **Architecture invariant:** a locked dock starts no transport: wearables keep their logs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diagnostics::console::{self, ConsoleBackend};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::shutdown::Tasks;
use crate::store::Locked;

/// How often a locked dock looks again at its key file.
pub const RECHECK: Duration = Duration::from_secs(30);

/// How a locked spell ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The key now opens the database: start the dock for real.
    Unlocked,
    /// Shutdown was asked for.
    Stopped,
}

/// Runs the locked dock until the key opens the database again or `shutdown` is cancelled. The
/// page and console are stopped before it returns, so the real ones can take their place.
pub async fn run(
    config: &Config,
    locked: &Locked,
    control: &crate::control::server::ControlSocket,
    clock: &Arc<dyn Clock>,
    shutdown: &CancellationToken,
    systemd: &crate::systemd::Handover,
) -> anyhow::Result<Outcome> {
    tracing::error!(
        reason = %locked,
        "The dock is locked: its stored data cannot be opened. Nothing is pulled or erased; the page and the console say why, and it is checked again every 30 s."
    );
    let reason = locked.to_string();
    let stop = shutdown.child_token();
    let tasks = Tasks::new();
    let listening = crate::app::listen_web(config, systemd.web_listener.as_ref()).await?;
    let facts = Arc::new(std::sync::OnceLock::new());
    let _ = facts.set(listening.facts.clone());
    let router = web_ui::locked_site(reason.clone(), &listening.options);
    listening.serve(router, &tasks, &stop);
    tasks.spawn(
        "control socket",
        control.serve(
            crate::control::server::Backend::Locked(reason.clone()),
            stop.clone(),
        ),
    );
    let backend = Arc::new(LockedConsole {
        dock_name: config.dock.name.clone(),
        reason,
        started: Instant::now(),
        web: facts,
        data_dir: config.storage.data_dir.clone(),
        database: config.database_path(),
        shutdown: shutdown.clone(),
    });
    if let Some(serial) = &config.serial {
        let clock = Arc::clone(clock);
        tasks.spawn(
            "serial console",
            console::run_port(
                serial.port.clone(),
                serial.baud,
                backend,
                serial.settings(config.dock.name.clone(), &config.storage.data_dir),
                Arc::new(move || clock.now_ms()),
                stop.clone(),
            ),
        );
    }
    // Up and saying why: systemd must not take the locked dock for a failed start and loop.
    systemd
        .notifier
        .ready(&format!("Locked, nothing is pulled: {locked}"));
    if let Some(every) = systemd.watchdog_every {
        tasks.spawn(
            "watchdog",
            crate::systemd::feed_watchdog(systemd.notifier.clone(), every, || true, stop.clone()),
        );
    }
    let outcome = loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                systemd.notifier.stopping();
                break Outcome::Stopped;
            }
            () = tokio::time::sleep(RECHECK) => {
                let config = config.clone();
                if tokio::task::spawn_blocking(move || opens(&config)).await.unwrap_or(false) {
                    tracing::info!("The database opens again: the dock unlocks.");
                    break Outcome::Unlocked;
                }
            }
        }
    };
    stop.cancel();
    let forced = tasks
        .stop_by(tokio::time::Instant::now() + crate::shutdown::TASKS_SHARE)
        .await;
    if !forced.is_empty() {
        tracing::warn!(forced = %forced.join(", "), "Shutdown deadline: these did not stop in time and were stopped by force.");
    }
    Ok(outcome)
}

/// Whether the database opens with the key now and has a schema this dockd knows, read-only
/// (the file is not changed).
fn opens(config: &Config) -> bool {
    config
        .existing_database()
        .and_then(|db| crate::store::open_for_reading(&db))
        .is_ok()
}

/// The console of a locked dock: every answer says it is locked; nothing about wearables.
struct LockedConsole {
    dock_name: String,
    reason: String,
    started: Instant,
    web: Arc<std::sync::OnceLock<crate::views::diagnostics::WebFacts>>,
    data_dir: std::path::PathBuf,
    database: std::path::PathBuf,
    shutdown: CancellationToken,
}

impl LockedConsole {
    fn sentence(&self) -> String {
        format!("The dock is locked: {}", self.reason)
    }
}

impl ConsoleBackend for LockedConsole {
    fn status(&self) -> console::DockStatus {
        let web = self.web.get();
        console::DockStatus {
            dock_name: self.dock_name.clone(),
            version: format!("dockd {}", crate::version::text()),
            uptime_s: self.started.elapsed().as_secs(),
            web_url: web.map(|w| w.url.clone()),
            web_certificate_sha256: web.and_then(|w| w.certificate_sha256.clone()),
            wearables_docked: 0,
            segments_stored: 0,
            database_bytes: diagnostics::host::database_bytes(&self.database).unwrap_or(0),
            problems: std::iter::once(self.sentence())
                .chain(diagnostics::time_sync::current().problem())
                .collect(),
        }
    }

    fn slots(&self) -> Vec<console::SlotLine> {
        Vec::new()
    }

    fn wearable(&self, _serial: &str) -> Option<console::WearableLine> {
        None
    }

    fn gps(&self) -> console::GpsLine {
        console::GpsLine {
            connected: false,
            mode: "unknown".to_owned(),
            lat: None,
            lon: None,
            alt_m: None,
            satellites_used: None,
            last_fix_ms: None,
            problem: Some(self.sentence()),
        }
    }

    fn battery(&self) -> console::PowerLine {
        console::PowerLine {
            dock_supply: "unknown".to_owned(),
            dock_soc: None,
            temperatures: Vec::new(),
            flagged_wearables: Vec::new(),
        }
    }

    fn storage(&self) -> console::StorageLine {
        crate::views::diagnostics::storage_line(&self.data_dir, &self.database)
    }

    fn network(&self) -> Vec<console::NetLine> {
        crate::views::diagnostics::network_lines()
    }

    fn upload(&self) -> console::UploadLine {
        console::UploadLine {
            paused: Some(self.sentence()),
            ..console::UploadLine::default()
        }
    }

    fn log(&self, n: usize) -> Vec<String> {
        crate::logbook::recent(n)
    }

    fn selftest(&self) -> Vec<console::CheckLine> {
        vec![console::CheckLine {
            name: "database".to_owned(),
            ok: false,
            detail: self.sentence(),
        }]
    }

    fn upload_now(&self) -> Result<String, String> {
        Err(self.sentence())
    }

    fn update(&self) -> console::UpdateLine {
        // The updater starts only over an open store.
        console::UpdateLine {
            running: crate::version::text().to_owned(),
            last_result: Some(self.sentence()),
            ..console::UpdateLine::default()
        }
    }

    fn update_now(&self) -> Result<String, String> {
        Err(self.sentence())
    }

    fn restart(&self) -> Result<String, String> {
        Ok(crate::views::diagnostics::restart_cleanly(&self.shutdown))
    }
}
