//! The launcher: what `dockd run` of the packaged binary does before anything else. It owns
//! choosing the version that runs (the packaged one, a confirmed slot, or a version on trial),
//! verifying a slot's binary against its signed manifest before every start, judging a trial's
//! health from outside (the new version's own selftest as a process, the database's
//! `quick_check`, the page answering, the transports started) within a time limit, and rolling
//! back by itself — a trial that exits, hangs, crash-loops or fails a check gives the dock back to
//! the version before, with the database as that version left it. It must never depend on the new
//! version's code for a rollback (it is the packaged binary's code, which dpkg alone replaces),
//! never run an unverified binary, and never touch a wearable.
//!
//! A slot runs as a child of the launcher, which stays its parent: it forwards SIGTERM, passes
//! systemd's sockets through (the child takes them as its parent's, see `DOCKD_LAUNCHER_PID`),
//! and starts the chosen version again when the child asks for it (exit code [`EXIT_RESTART`],
//! after it installed a newer one). The packaged version runs in this very process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::keys;
use super::slots::{Event, Plan, SlotState, Slots};
use crate::config::Config;

/// The exit code of a daemon that installed a version and wants to be started again.
pub const EXIT_RESTART: u8 = 75;
/// Set for a version on trial: it sends no ERASE until it is confirmed.
pub const ENV_TRIAL: &str = "DOCKD_TRIAL";
/// The launcher's pid, set for the version it runs as its child: that child skips the launcher
/// and takes systemd's sockets and watchdog, which name the launcher's pid, as its own.
pub const ENV_LAUNCHER_PID: &str = "DOCKD_LAUNCHER_PID";
/// The copy of the database taken before a trial, in the trial's slot.
const BEFORE_TRIAL: &str = "before-trial.db";

/// What `dockd run` does after the launcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launched {
    /// Run the packaged daemon in this process.
    RunHere,
    /// A child ran and ended: exit with its code.
    Exit(u8),
}

/// Whether this process is a version the launcher started (its parent is the launcher).
pub fn launched_by_parent() -> bool {
    let parent = std::os::unix::process::parent_id();
    std::env::var(ENV_LAUNCHER_PID).is_ok_and(|pid| pid.parse::<u32>().ok() == Some(parent))
}

/// Whether this process runs on trial.
pub fn on_trial() -> bool {
    launched_by_parent() && std::env::var_os(ENV_TRIAL).is_some_and(|v| v == "1")
}

/// Test-only fail points: `DOCKD_FAILPOINT=<name>` makes a debug build abort at that step (as a
/// power cut or `kill -9` would stop it there). Release builds have none.
pub fn fail_point(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var("DOCKD_FAILPOINT").is_ok_and(|at| at == name) {
        eprintln!("dockd: fail point {name}: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// The launcher of one `dockd run`.
pub struct Launcher {
    config: Config,
    config_path: PathBuf,
    slots: Slots,
    arch: &'static str,
    /// systemd's watchdog, fed while the launcher itself works on a trial (the selftest, the
    /// database's copy): a large database must not look like a hung service.
    watchdog: Option<(crate::systemd::Notifier, Duration)>,
}

impl Launcher {
    pub fn new(config: &Config, config_path: &Path) -> Self {
        Self {
            config: config.clone(),
            config_path: config_path.to_owned(),
            slots: Slots::new(&config.storage.data_dir),
            arch: std::env::consts::ARCH,
            watchdog: None,
        }
    }

    /// Feeds systemd's watchdog every `every` while a trial is prepared and judged.
    pub fn with_watchdog(
        mut self,
        notifier: crate::systemd::Notifier,
        every: Option<Duration>,
    ) -> Self {
        self.watchdog = every.map(|every| (notifier, every));
        self
    }

    /// Chooses and runs the version, until a child ends for good or the packaged version is the
    /// one to run. `shutdown` is cancelled on SIGTERM/SIGINT.
    pub async fn launch(&self, shutdown: &CancellationToken) -> Launched {
        // A download or an install an earlier stop interrupted is never a version: whatever the
        // state does not name is removed before any runs.
        if let Ok(state) = self.slots.state()
            && let Err(error) = self.slots.prune(&state.named())
        {
            tracing::warn!(error = %error, "A download an earlier stop interrupted could not be removed.");
        }
        loop {
            if shutdown.is_cancelled() {
                return Launched::Exit(0);
            }
            let mut state = match self.slots.state() {
                Ok(state) => state,
                Err(error) => {
                    tracing::error!(error = %error, "The update state cannot be read; the packaged version runs.");
                    return Launched::RunHere;
                }
            };
            let packaged = crate::version::current();
            match super::slots::plan(&state, packaged) {
                Plan::Packaged => return Launched::RunHere,
                Plan::PackagedIsNewer { slots } => {
                    tracing::info!(
                        packaged = %packaged,
                        "The installed package is as new as the self-updated versions or newer: it runs, and their slots are removed."
                    );
                    self.record(
                        "packaged_newer",
                        &packaged.to_string(),
                        &format!("the package's {packaged} replaces {}", slots.join(", ")),
                    );
                    state.current = None;
                    state.trial = None;
                    state.previous = None;
                    if self.save(&state) {
                        let _ = self.slots.prune(&[]);
                    }
                    return Launched::RunHere;
                }
                Plan::Slot { version } => {
                    match self
                        .slots
                        .verified_binary(&version, &keys::trusted(), self.arch)
                    {
                        Ok(binary) => match self.spawn(&binary, false) {
                            Ok(child) => match supervise(child, shutdown).await {
                                ChildEnd::Restart => continue,
                                ChildEnd::Exit(code) => return Launched::Exit(code),
                            },
                            Err(error) => {
                                tracing::error!(version = %version, error = %error, "The installed version cannot be started; the packaged version runs.");
                                return Launched::RunHere;
                            }
                        },
                        Err(error) => {
                            tracing::error!(error = %error, "An installed version was refused; the packaged version runs.");
                            self.record("refused_slot", &version, &error.to_string());
                            state.current = None;
                            if !self.save(&state) {
                                return Launched::RunHere;
                            }
                        }
                    }
                }
                Plan::RollBack { version, reason } => self.roll_back(&mut state, &version, &reason),
                Plan::Trial { version } => {
                    if let Some(trial) = state.trial.as_mut() {
                        trial.starts_left = trial.starts_left.saturating_sub(1);
                    }
                    if !self.save(&state) {
                        return Launched::RunHere;
                    }
                    fail_point("launcher-trial-counted");
                    let feeding = CancellationToken::new();
                    if let Some((notifier, every)) = &self.watchdog {
                        tokio::spawn(crate::systemd::feed_watchdog(
                            notifier.clone(),
                            *every,
                            || true,
                            feeding.clone(),
                        ));
                    }
                    let ended = self.trial(&version, shutdown).await;
                    // From here the version that runs feeds it (or the packaged one, here).
                    feeding.cancel();
                    match ended {
                        TrialEnd::Confirmed(child) => {
                            self.confirm(&mut state, &version);
                            match supervise(child, shutdown).await {
                                ChildEnd::Restart => continue,
                                ChildEnd::Exit(code) => return Launched::Exit(code),
                            }
                        }
                        TrialEnd::Failed(reason) => self.roll_back(&mut state, &version, &reason),
                        // Stopped during its trial: the next start tries it again (its starts
                        // were counted).
                        TrialEnd::Stopped(code) => return Launched::Exit(code),
                    }
                }
            }
        }
    }

    /// The trial of `version`: verified, its selftest passed, the database copied aside, then
    /// started and watched until it passes every check or the time is up.
    async fn trial(&self, version: &str, shutdown: &CancellationToken) -> TrialEnd {
        let limit = Duration::from_secs(u64::from(
            self.config
                .update
                .as_ref()
                .map_or(300, |u| u.health_timeout_s),
        ));
        let binary = match self
            .slots
            .verified_binary(version, &keys::trusted(), self.arch)
        {
            Ok(binary) => binary,
            Err(error) => return TrialEnd::Failed(error.to_string()),
        };
        tracing::info!(version, "Trying the new version: its selftest first.");
        if let Err(why) = selftest(&binary, limit).await {
            return TrialEnd::Failed(why);
        }
        fail_point("launcher-selftest-passed");
        if let Err(error) = self.copy_database_aside(version) {
            return TrialEnd::Failed(format!(
                "the database could not be copied aside before the trial: {error}"
            ));
        }
        fail_point("launcher-database-copied");
        self.record(
            "trial",
            version,
            "started on trial: no wearable is erased until it passes its health check",
        );
        let mut child = match self.spawn(&binary, true) {
            Ok(child) => child,
            Err(error) => return TrialEnd::Failed(format!("it could not be started: {error}")),
        };
        fail_point("launcher-child-started");
        let deadline = tokio::time::Instant::now() + limit;
        let mut last = "no check has run yet".to_owned();
        loop {
            tokio::select! {
                status = child.wait() => {
                    let code = status.ok().and_then(|s| s.code());
                    return TrialEnd::Failed(format!(
                        "it exited during its trial ({}); last check: {last}",
                        code.map_or("killed by a signal".to_owned(), |c| format!("exit code {c}"))
                    ));
                }
                () = shutdown.cancelled() => {
                    return TrialEnd::Stopped(stop(child).await);
                }
                () = tokio::time::sleep_until(deadline) => {
                    let _ = child.kill().await;
                    return TrialEnd::Failed(format!(
                        "it did not pass its health check within {} s: {last}",
                        limit.as_secs()
                    ));
                }
                () = tokio::time::sleep(Duration::from_millis(500)) => {
                    match self.health().await {
                        Ok(()) => {
                            fail_point("launcher-health-passed");
                            return TrialEnd::Confirmed(child);
                        }
                        Err(why) => last = why,
                    }
                }
            }
        }
    }

    /// The health of the running child, judged from outside: the database passes `quick_check`,
    /// the daemon answers on its control socket and says which transports it started and where
    /// its page is, and the page answers there.
    async fn health(&self) -> Result<(), String> {
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || quick_check(&config))
            .await
            .map_err(|e| e.to_string())??;
        let answer = crate::control::client::ask_daemon(
            &self.config,
            crate::control::protocol::Command::Health,
        )
        .await
        .map_err(|e| format!("the control socket: {e}"))?;
        let report: super::health::Report = serde_json::from_value(answer)
            .map_err(|e| format!("the daemon's health answer: {e}"))?;
        if let Some(missing) = report.transports_missing() {
            return Err(format!("transports not started: {missing}"));
        }
        let Some(page) = report.page else {
            return Err("the page does not listen yet".to_owned());
        };
        super::health::page_answers(&page).await
    }

    /// Confirms `version`: the state names it current, the copy of the database goes, and the
    /// slots keep it and the one before.
    fn confirm(&self, state: &mut SlotState, version: &str) {
        let previous = state.current.clone();
        state.previous = previous.clone();
        state.current = Some(version.to_owned());
        state.trial = None;
        if !self.save(state) {
            return;
        }
        fail_point("launcher-confirmed");
        tracing::info!(
            version,
            "The new version passed its health check and is confirmed."
        );
        self.record(
            "confirmed",
            version,
            "passed its health check: selftest, quick_check, page, transports",
        );
        let _ = std::fs::remove_file(self.slots.slot(version).join(BEFORE_TRIAL));
        let mut keep = vec![version];
        if let Some(previous) = previous.as_deref() {
            keep.push(previous);
        }
        if let Err(error) = self.slots.prune(&keep) {
            tracing::warn!(error = %error, "Old versions could not be removed; they are tried again at the next update.");
        }
        fail_point("launcher-pruned");
    }

    /// Gives the dock back to the version before `version`: the trial is ended as failed, the
    /// database put back as it was before the trial if the trial changed its schema, the slot
    /// removed.
    fn roll_back(&self, state: &mut SlotState, version: &str, reason: &str) {
        tracing::error!(
            version,
            reason,
            "The new version failed its trial; rolling back."
        );
        let restored = self.restore_database(version);
        fail_point("launcher-database-restored");
        state.trial = None;
        if !state.failed.iter().any(|v| v == version) {
            state.failed.push(version.to_owned());
        }
        if !self.save(state) {
            return;
        }
        fail_point("launcher-rolled-back");
        let detail = match restored {
            Ok(true) => format!("{reason}; the database was put back as it was before the trial"),
            Ok(false) => reason.to_owned(),
            Err(error) => format!("{reason}; the database copy could not be put back: {error}"),
        };
        self.record("rolled_back", version, &detail);
        if let Err(error) = self.slots.prune(&state.named()) {
            tracing::warn!(error = %error, "The failed version's slot could not be removed.");
        }
        fail_point("launcher-rollback-pruned");
    }

    /// Copies the database into the trial's slot, under its own key, before the trial starts.
    fn copy_database_aside(&self, version: &str) -> Result<(), crate::store::StoreError> {
        let db = self.config.database()?;
        if !db.path().exists() {
            return Ok(());
        }
        let into = self.slots.slot(version).join(BEFORE_TRIAL);
        crate::store::snapshot::copy_as_is(&db, &into).map(drop)
    }

    /// Puts the copy from before `version`'s trial back when the trial left the database at a
    /// newer schema than the copy's (a migration the version before cannot open). True when it
    /// did. Nothing a wearable handed over is lost: a trial erases nothing.
    fn restore_database(&self, version: &str) -> Result<bool, String> {
        let copy = self.slots.slot(version).join(BEFORE_TRIAL);
        if !copy.exists() {
            return Ok(false);
        }
        let db = self.config.database().map_err(|e| e.to_string())?;
        let copied = db.with_path(&copy);
        let before = crate::store::snapshot::schema_version(&copied).map_err(|e| e.to_string())?;
        let now = crate::store::snapshot::schema_version(&db).map_err(|e| e.to_string())?;
        if now <= before {
            return Ok(false);
        }
        let live = db.path().to_owned();
        for suffix in ["-wal", "-shm", "-journal"] {
            let side = PathBuf::from(format!("{}{suffix}", live.display()));
            match std::fs::remove_file(&side) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("{}: {error}", side.display()));
                }
                _ => {}
            }
        }
        std::fs::rename(&copy, &live).map_err(|e| format!("{}: {e}", live.display()))?;
        let folder = live.parent().unwrap_or(Path::new("."));
        crate::store::key::sync_dir(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        Ok(true)
    }

    /// Starts `binary` as `dockd run` for this config, as the launcher's child.
    fn spawn(&self, binary: &Path, trial: bool) -> std::io::Result<Child> {
        let mut command = Command::new(binary);
        command
            .arg("run")
            .arg("--config")
            .arg(&self.config_path)
            .env(ENV_LAUNCHER_PID, std::process::id().to_string())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        if trial {
            command.env(ENV_TRIAL, "1");
        } else {
            command.env_remove(ENV_TRIAL);
        }
        command.spawn()
    }

    fn save(&self, state: &SlotState) -> bool {
        match self.slots.save(state) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(error = %error, "The update state cannot be written; the packaged version runs.");
                false
            }
        }
    }

    fn record(&self, action: &str, version: &str, detail: &str) {
        let event = Event {
            at_ms: now_ms(),
            action: action.to_owned(),
            version: version.to_owned(),
            detail: detail.to_owned(),
        };
        if let Err(error) = self.slots.record(&event) {
            tracing::warn!(error = %error, "An update event could not be recorded.");
        }
    }
}

enum TrialEnd {
    Confirmed(Child),
    Failed(String),
    Stopped(u8),
}

enum ChildEnd {
    Restart,
    Exit(u8),
}

/// Waits for the child; on shutdown, forwards SIGTERM and waits for it to stop.
async fn supervise(mut child: Child, shutdown: &CancellationToken) -> ChildEnd {
    tokio::select! {
        status = child.wait() => match status.ok().and_then(|s| s.code()) {
            Some(code) if code == i32::from(EXIT_RESTART) => ChildEnd::Restart,
            Some(code) => ChildEnd::Exit(u8::try_from(code).unwrap_or(1)),
            None => ChildEnd::Exit(1),
        },
        () = shutdown.cancelled() => ChildEnd::Exit(stop(child).await),
    }
}

/// Sends the child SIGTERM and waits for it (its own shutdown deadline, and some), then kills it.
async fn stop(mut child: Child) -> u8 {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let grace = crate::shutdown::BUDGET + Duration::from_secs(5);
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(Ok(status)) => status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(0),
        _ => {
            let _ = child.kill().await;
            1
        }
    }
}

/// Runs `binary selftest`: its analysis must reproduce the reference shifts committed with it.
async fn selftest(binary: &Path, limit: Duration) -> Result<(), String> {
    let run = Command::new(binary)
        .arg("selftest")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(limit, run).await {
        Err(_) => Err(format!(
            "its selftest did not finish within {} s",
            limit.as_secs()
        )),
        Ok(Err(error)) => Err(format!("its selftest could not run: {error}")),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => {
            let said = String::from_utf8_lossy(&output.stdout);
            let lines: Vec<&str> = said.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines
                .get(lines.len().saturating_sub(3)..)
                .unwrap_or_default()
                .join(" / ");
            Err(format!("its selftest failed: {tail}"))
        }
    }
}

/// `PRAGMA quick_check` on the database, read-only.
fn quick_check(config: &Config) -> Result<(), String> {
    let db = config.database().map_err(|e| e.to_string())?;
    let conn = crate::store::open_for_reading(&db).map_err(|e| e.to_string())?;
    let result: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| e.to_string())?;
    if result == "ok" {
        Ok(())
    } else {
        Err(format!("the database's quick_check says {result}"))
    }
}

fn now_ms() -> i64 {
    use crate::clock::Clock as _;
    crate::clock::SystemClock.now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{open_for_reading, open_for_writing};

    fn dock(name: &str) -> (Config, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("dockd-launcher-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = Config::default();
        config.storage.data_dir = dir.join("data");
        (config, dir)
    }

    fn marker(config: &Config) -> Option<String> {
        open_for_reading(&config.database().unwrap())
            .unwrap()
            .query_row("SELECT value FROM setting WHERE key = 'marker'", [], |r| {
                r.get(0)
            })
            .ok()
    }

    fn schema(config: &Config) -> usize {
        crate::store::snapshot::schema_version(&config.database().unwrap()).unwrap()
    }

    #[test]
    fn a_trial_that_moved_the_schema_gets_the_database_back_as_it_was_and_one_that_did_not_keeps_its_data()
     {
        let (config, dir) = dock("restore");
        let conn = open_for_writing(&config.database().unwrap()).unwrap();
        conn.execute(
            "INSERT INTO setting (key, value) VALUES ('marker', 'before')",
            [],
        )
        .unwrap();
        drop(conn);
        let before = schema(&config);
        let launcher = Launcher::new(&config, &dir.join("dockd.toml"));
        std::fs::create_dir_all(launcher.slots.slot("0.2.0")).unwrap();

        // A trial that only added data: it is kept.
        launcher.copy_database_aside("0.2.0").unwrap();
        let conn = open_for_writing(&config.database().unwrap()).unwrap();
        conn.execute(
            "UPDATE setting SET value = 'during' WHERE key = 'marker'",
            [],
        )
        .unwrap();
        drop(conn);
        assert_eq!(launcher.restore_database("0.2.0"), Ok(false));
        assert_eq!(marker(&config).as_deref(), Some("during"));

        // A trial that migrated the schema (a version the one before cannot open): the copy
        // from before the trial comes back, at the old schema.
        launcher.copy_database_aside("0.2.0").unwrap();
        let conn = open_for_writing(&config.database().unwrap()).unwrap();
        conn.execute(
            "UPDATE setting SET value = 'migrated' WHERE key = 'marker'",
            [],
        )
        .unwrap();
        conn.pragma_update(None, "user_version", before as i64 + 1)
            .unwrap();
        drop(conn);
        assert_eq!(launcher.restore_database("0.2.0"), Ok(true));
        assert_eq!(schema(&config), before);
        assert_eq!(marker(&config).as_deref(), Some("during"));
        assert!(!launcher.slots.slot("0.2.0").join(BEFORE_TRIAL).exists());
        // And the dock opens it as before.
        drop(open_for_writing(&config.database().unwrap()).unwrap());
    }
}
