//! The daemon's side of the self-update: the task that checks the release server on its schedule
//! and on demand, installs a newer release into a slot inside the maintenance window when no
//! wearable is being pulled, and restarts into it; that learns when the launcher confirmed the
//! version on trial (wearables may then be erased again); and that copies the launcher's events
//! into the audit trail. It owns [`UpdateHandle`], what the page, the console and the control
//! socket ask and show. It must never run a new version itself (the launcher does), never
//! install outside the window unless asked, and never while a pull runs.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::health::Running;
use super::manifest::Verdict;
use super::slots::{Event, Slots};
use crate::clock::Clock;
use crate::config::{Config, UpdateConfig};
use crate::store::Writer;
use crate::store::accounts::AuditEntry;

/// What the page, the console and `dockd status` show of the updater.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateStatus {
    /// Whether `[update]` is configured.
    pub configured: bool,
    /// The manifest's url.
    pub source: Option<String>,
    /// The running version.
    pub running: String,
    /// Whether it is on trial (no ERASE until confirmed).
    pub on_trial: bool,
    /// The maintenance window, `HH:MM-HH:MM` site time.
    pub window: Option<String>,
    /// When the release server was last asked, and what came of it.
    pub last_check_ms: Option<i64>,
    pub last_result: Option<String>,
    /// A newer release the last check found, not installed yet.
    pub offered: Option<String>,
    /// The latest events (newest first): checks, installs, trials, confirmations, rollbacks.
    pub events: Vec<Event>,
}

/// What is asked of the updater.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Ask the release server; install nothing.
    Check,
    /// Check, and install a newer release now (outside the window too), then restart into it.
    InstallNow,
}

struct Request {
    ask: Ask,
    by: String,
    reply: oneshot::Sender<Result<String, String>>,
}

/// The updater's handle: its status, and a way to ask it.
#[derive(Clone)]
pub struct UpdateHandle {
    status: watch::Receiver<UpdateStatus>,
    requests: Option<mpsc::Sender<Request>>,
}

impl UpdateHandle {
    pub fn status(&self) -> UpdateStatus {
        self.status.borrow().clone()
    }

    /// Asks the updater; the answer is a sentence for the one who asked (`by`, as the audit
    /// trail names them).
    pub async fn ask(&self, ask: Ask, by: &str) -> Result<String, String> {
        let Some(requests) = &self.requests else {
            return Err(
                "self-update is not configured on this dock ([update] manifest_url)".to_owned(),
            );
        };
        let (reply, answer) = oneshot::channel();
        requests
            .send(Request {
                ask,
                by: by.to_owned(),
                reply,
            })
            .await
            .map_err(|_| "the updater has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the updater stopped before it answered".to_owned())?
    }
}

/// How many events the status keeps.
const SHOWN_EVENTS: usize = 10;

/// The updater task's parts.
pub struct Updater {
    pub config: Arc<Config>,
    pub running: Arc<Running>,
    pub writer: Writer,
    pub clock: Arc<dyn Clock>,
    /// The site's settings: its time zone places the window.
    pub site: Arc<crate::site::SiteSettings>,
    /// Whether a wearable is being pulled (the dock board's `busy`).
    pub busy: watch::Receiver<bool>,
    /// Cancelled to stop the daemon (after an install, with a restart requested).
    pub shutdown: CancellationToken,
}

impl Updater {
    /// The handle and the task.
    pub fn spawn(self) -> (UpdateHandle, impl Future<Output = ()> + Send + 'static) {
        let slots = Slots::new(&self.config.storage.data_dir);
        let initial = UpdateStatus {
            configured: self.config.update.is_some(),
            source: self.config.update.as_ref().map(|u| u.manifest_url.clone()),
            running: crate::version::text().to_owned(),
            on_trial: self.running.on_trial(),
            window: self.config.update.as_ref().map(UpdateConfig::window_text),
            events: latest(&slots),
            ..UpdateStatus::default()
        };
        let (status_tx, status) = watch::channel(initial);
        let (requests_tx, requests) = mpsc::channel(8);
        let handle = UpdateHandle {
            status,
            requests: self.config.update.is_some().then_some(requests_tx),
        };
        (handle, self.run(slots, status_tx, requests))
    }

    async fn run(
        self,
        slots: Slots,
        status: watch::Sender<UpdateStatus>,
        mut requests: mpsc::Receiver<Request>,
    ) {
        self.audit_events(&slots).await;
        let check_every = self
            .config
            .update
            .as_ref()
            .map_or(Duration::from_secs(24 * 3600), |u| {
                Duration::from_secs(u64::from(u.check_every_h) * 3600)
            });
        // The first check a minute after the start, then on the schedule.
        let mut next_check = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        let mut asking = true;
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                request = requests.recv(), if asking => match request {
                    Some(request) => {
                        let answer = self.handle(request.ask, &request.by, &slots, &status, true).await;
                        let _ = request.reply.send(answer);
                    }
                    // Without [update] nobody holds the sender: the rest still runs.
                    None => asking = false,
                },
                _ = tick.tick() => {
                    if self.running.on_trial() && self.confirmed(&slots) {
                        self.running.confirmed();
                        tracing::info!(version = crate::version::text(), "This version was confirmed: wearables are erased again once their logs are stored.");
                        self.audit_events(&slots).await;
                        status.send_modify(|s| { s.on_trial = false; s.events = latest(&slots); });
                    }
                    if self.config.update.is_some() && tokio::time::Instant::now() >= next_check {
                        next_check = tokio::time::Instant::now() + check_every;
                        let _ = self.handle(Ask::InstallNow, "schedule", &slots, &status, false).await;
                    }
                }
            }
        }
    }

    /// Whether the launcher's state names this version current, with no trial.
    fn confirmed(&self, slots: &Slots) -> bool {
        slots.state().is_ok_and(|state| {
            state.trial.is_none() && state.current.as_deref() == Some(crate::version::text())
        })
    }

    /// A check, and an install when asked (`asked`: now, else only inside the window).
    async fn handle(
        &self,
        ask: Ask,
        by: &str,
        slots: &Slots,
        status: &watch::Sender<UpdateStatus>,
        asked: bool,
    ) -> Result<String, String> {
        let Some(update) = self.config.update.clone() else {
            return Err(
                "self-update is not configured on this dock ([update] manifest_url)".to_owned(),
            );
        };
        if self.running.on_trial() {
            return Err(format!(
                "this version ({}) is still on trial; an update waits until it is confirmed",
                crate::version::text()
            ));
        }
        let now = self.clock.now_ms();
        let checked = super::install::check(&update, now).await;
        let (result, offer) = match checked.as_ref().map(|c| &c.verdict) {
            Ok(Verdict::UpToDate) => ("up to date".to_owned(), None),
            Ok(Verdict::Offer { version, .. }) => {
                (format!("{version} is available"), Some(version.to_string()))
            }
            Err(error) => (format!("refused: {error}"), None),
        };
        status.send_modify(|s| {
            s.last_check_ms = Some(now);
            s.last_result = Some(result.clone());
            s.offered = offer.clone();
        });
        let checked = match checked {
            Err(error) => {
                self.event(slots, "rejected", "", &error, by).await;
                status.send_modify(|s| s.events = latest(slots));
                return Err(error);
            }
            Ok(checked) => checked,
        };
        let Verdict::Offer { version, .. } = &checked.verdict else {
            return Ok(format!("dockd {} is up to date", crate::version::text()));
        };
        let version = *version;
        if slots
            .state()
            .is_ok_and(|s| s.failed.iter().any(|v| *v == version.to_string()))
        {
            return Err(format!(
                "{version} failed its health check on this dock before and is not installed again"
            ));
        }
        if ask == Ask::Check {
            return Ok(format!(
                "{version} is available (running {})",
                crate::version::text()
            ));
        }
        if !asked {
            let zone = jiff::tz::TimeZone::get(&self.site.current().time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            let minute = jiff::Timestamp::from_millisecond(now)
                .map(|ts| {
                    let local = zone.to_datetime(ts);
                    u32::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
                        .unwrap_or(0)
                })
                .unwrap_or(0);
            if !update.in_window(minute) {
                return Ok(format!(
                    "{version} is available; it installs in the window {}",
                    update.window_text()
                ));
            }
        }
        if *self.busy.borrow() {
            return Err(format!(
                "{version} is available; a wearable is being pulled, so it installs once the pulls are done (ask again, or it installs at the next check)"
            ));
        }
        match super::install::install(slots, &checked, now).await {
            Ok(_) => {
                self.event(
                    slots,
                    "installed",
                    &version.to_string(),
                    "downloaded, verified (manifest signature, size, SHA-256, archive signature, binary SHA-256) and installed in its slot; restarting into it on trial",
                    by,
                )
                .await;
                status.send_modify(|s| s.events = latest(slots));
                // A pull that began during the download finishes first: the restart would cut it.
                let mut busy = self.busy.clone();
                let _ = tokio::time::timeout(
                    Duration::from_secs(600),
                    busy.wait_for(|pulling| !*pulling),
                )
                .await;
                super::launcher::fail_point("daemon-restart-requested");
                self.running.request_restart();
                self.shutdown.cancel();
                Ok(format!(
                    "{version} installed; dockd restarts into it now and keeps it only if it passes its health check"
                ))
            }
            Err(error) => {
                self.event(slots, "rejected", &version.to_string(), &error, by)
                    .await;
                status.send_modify(|s| s.events = latest(slots));
                Err(error)
            }
        }
    }

    /// Records an event in the slots' file and the audit trail.
    async fn event(&self, slots: &Slots, action: &str, version: &str, detail: &str, by: &str) {
        let event = Event {
            at_ms: self.clock.now_ms(),
            action: action.to_owned(),
            version: version.to_owned(),
            detail: if by == "schedule" {
                detail.to_owned()
            } else {
                format!("{detail} (asked by {by})")
            },
        };
        if let Err(error) = slots.record(&event) {
            tracing::warn!(error = %error, "An update event could not be recorded.");
        }
        self.audit_events(slots).await;
    }

    /// Copies the events not yet in the audit trail into it (the launcher's, recorded while no
    /// daemon ran, among them); a count beside them says how many were copied.
    async fn audit_events(&self, slots: &Slots) {
        let events = slots.events();
        let counter = slots.dir().join("events.audited");
        let done: usize = std::fs::read_to_string(&counter)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        let new: Vec<AuditEntry> = events
            .iter()
            .skip(done)
            .map(|event| AuditEntry {
                at_ms: event.at_ms,
                user: "updater".to_owned(),
                action: format!("update {}", event.action.replace('_', " ")),
                subject: if event.version.is_empty() {
                    event.detail.clone()
                } else {
                    format!("{}: {}", event.version, event.detail)
                },
            })
            .collect();
        if new.is_empty() {
            return;
        }
        // Committed before the count says so: a stop in between audits them twice rather than never.
        match self.writer.audit_committed(new).await {
            Ok(()) => {
                if let Err(error) =
                    super::slots::replace_file(&counter, events.len().to_string().as_bytes())
                {
                    tracing::warn!(error = %error, "The count of audited update events could not be kept; some may be audited twice.");
                }
            }
            Err(error) => {
                tracing::warn!(error = %error, "Update events could not be audited; tried again later.");
            }
        }
    }
}

/// The newest events first.
fn latest(slots: &Slots) -> Vec<Event> {
    let mut events = slots.events();
    events.reverse();
    events.truncate(SHOWN_EVENTS);
    events
}

#[cfg(test)]
mod tests;
