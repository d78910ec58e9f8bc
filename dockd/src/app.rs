//! Wires the daemon together: control socket, store, accounts, dock, transports and web page,
//! started under one `CancellationToken` and stopped in order. It owns start-up and shutdown order; it must never
//! handle signals, read the environment or pick exit codes — `main` does, and passes the edges in.
//!
//! Shutdown order, within `shutdown::BUDGET`: stop accepting (transports, web) → pulls stop at
//! their next await (any point is safe: ERASE waits for a commit) and every task holding a
//! `Writer` ends → the writer drains its queue, checkpoints and closes. Whatever has not stopped
//! by its deadline is forced (aborted, or no longer waited for) and named in a warning.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::shutdown::{self, Tasks};
use crate::upload::Kind;
use crate::uploader::UploadHandle;

use crate::accounts::{self, DockAccounts, DockAudit};
use crate::clock::Clock;
use crate::config::Config;
use crate::diag::{self, DiagQueue};
use crate::dock::{self, board::Board};
use crate::pull::PullContext;
use crate::site::SiteSettings;
use crate::store::settings::{self, KeyUse, SettingChange};
use crate::store::{self, Reader, Writer};
use crate::systemd::Handover;
use crate::transport::{Docking, socket, usb};
use crate::views::BoardView;
use crate::views::admin::SiteAdmin;
use crate::views::analysis::StoredAnalysis;
use crate::views::diagnostics::{DiagnosticsParts, DockDiagnostics, WebFacts};
use crate::views::roster::SiteRoster;
use crate::web_tls;
use crate::worker::Pseudonyms;

/// How long the runtime gives blocking jobs the shutdown deadline stopped waiting for (a writer
/// join, an analysis chunk) before the process exits without them; for `main`.
pub const RUNTIME_GRACE: Duration = Duration::from_millis(500);

/// Records the pseudonym key the daemon starts with (its public id and source); a change from the
/// last one is audited by the store and logged here.
async fn record_pseudonym_key(
    reader: &Reader,
    writer: &Writer,
    pseudonyms: &Pseudonyms,
    now_ms: i64,
) -> anyhow::Result<()> {
    let now = KeyUse {
        key_id: pseudonyms.key_id(),
        source: pseudonyms.source().as_str().to_owned(),
        since_ms: now_ms,
    };
    let last = reader
        .pseudonym_keys()
        .context("cannot read the pseudonym keys used before")?
        .pop();
    match (&last, settings::key_change(last.as_ref(), &now)) {
        (_, None) => tracing::info!(
            key_id = %now.key_id,
            source = %now.source,
            "Pseudonym key in use."
        ),
        (None, Some(_)) => tracing::info!(
            key_id = %now.key_id,
            source = %now.source,
            "Pseudonym key in use for the first time."
        ),
        (Some(last), Some(_)) => tracing::warn!(
            from = %last.key_id,
            from_source = %last.source,
            to = %now.key_id,
            to_source = %now.source,
            "Pseudonym key changed: every worker gets a new pseudonym from now on (audited)."
        ),
    }
    writer
        .settings(SettingChange::KeyInUse(now))
        .await
        .context("cannot record the pseudonym key in use")
}

/// Runs the daemon until `shutdown` is cancelled, without systemd (see [`run_with`]).
pub async fn run(
    config: Config,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    run_with(config, clock, shutdown, Handover::default())
        .await
        .map(drop)
}

/// How the daemon ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// `shutdown` was cancelled (a signal, or the console's `restart`).
    Stopped,
    /// It installed a newer version and stopped to be started again into it.
    RestartForUpdate,
}

/// Runs the daemon until `shutdown` is cancelled, with what systemd handed over (the page's
/// socket, notifications, the watchdog). While the database cannot be opened with its key the
/// dock runs locked ([`crate::locked`]) and starts for real once the key opens it.
pub async fn run_with(
    config: Config,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    systemd: Handover,
) -> anyhow::Result<Ended> {
    let notifier = systemd.notifier.clone();
    let ran = run_handed_over(config, clock, shutdown, systemd).await;
    if let Err(error) = &ran {
        notifier.notify(&format!("STATUS=Failed: {error:#}").replace('\n', " "));
    }
    ran
}

async fn run_handed_over(
    config: Config,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    systemd: Handover,
) -> anyhow::Result<Ended> {
    crate::metrics::mark_start();
    // First, before the database is touched: a daemon already answering on this control socket
    // (or the data folder's link to it) stops this start.
    let control = crate::control::server::listen(&config).await?;
    let db_path = config.database_path();
    loop {
        let opened = config.database().and_then(|db| {
            let conn = store::open_for_writing(&db)?;
            let spare = store::open_for_writing(&db)?;
            Ok((db, conn, spare))
        });
        match opened {
            Ok((db, conn, spare)) => {
                return run_open(config, db, (conn, spare), control, clock, shutdown, systemd)
                    .await;
            }
            Err(store::StoreError::Locked(locked)) => {
                match crate::locked::run(&config, &locked, &control, &clock, &shutdown, &systemd)
                    .await?
                {
                    crate::locked::Outcome::Stopped => return Ok(Ended::Stopped),
                    crate::locked::Outcome::Unlocked => {}
                }
            }
            Err(error) => {
                return Err(anyhow::Error::new(error)
                    .context(format!("cannot open the database {}", db_path.display())));
            }
        }
    }
}

/// The daemon over its open database.
async fn run_open(
    config: Config,
    db: store::Database,
    (conn, spare): (rusqlite::Connection, rusqlite::Connection),
    control: crate::control::server::ControlSocket,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    systemd: Handover,
) -> anyhow::Result<Ended> {
    let running = Arc::new(crate::update::health::Running::new(
        crate::update::launcher::on_trial(),
    ));
    if running.on_trial() {
        tracing::warn!(
            version = crate::version::text(),
            "This version is on trial after a self-update: wearables are pulled but not erased until it passes its health check."
        );
    }
    let db_path = config.database_path();
    if !db.is_encrypted() {
        tracing::warn!(
            "The database is NOT encrypted at rest (privacy.encrypt_database = false): only the disk's own encryption protects it."
        );
    }
    let (writer, writer_thread) =
        Writer::spawn(conn, spare).context("cannot start the store writer")?;
    let reader = Reader::open(&db)?;
    let site = {
        let (base, reader) = (config.analysis.clone(), reader.clone());
        tokio::task::spawn_blocking(move || SiteSettings::load(base, &reader))
            .await
            .context("cannot read the site settings")??
    };
    let site = Arc::new(site);
    let pseudonyms = Arc::new(Pseudonyms::load(
        config.privacy.site_key_file.as_deref(),
        &config.storage.data_dir,
    )?);
    let producer = crate::upload::produce::Producer::from_config(
        config.upload.as_ref(),
        &config.dock.name,
        Arc::clone(&pseudonyms),
        Arc::clone(&clock),
        Arc::clone(&site),
    );
    writer
        .set_outbox(crate::uploader::outbox_policy(&config, &site))
        .await?;
    // Before any docking: ingest checks tags against deleted workers' tombstones with this key.
    writer.set_pseudonyms(Arc::clone(&pseudonyms)).await?;
    let (upload, upload_driver) = match &config.upload {
        Some(upload) => {
            let target = crate::uploader::target::Target::from_config(upload)
                .context("cannot set up cloud upload")?;
            let (handle, publisher) =
                UploadHandle::channel(Some(writer.clone()), Arc::clone(&clock));
            let driver = crate::uploader::Driver::new(
                Reader::open(&db)?,
                writer.clone(),
                target,
                upload.limits,
                Arc::clone(&clock),
            )?;
            (handle, Some((driver, publisher)))
        }
        None => (UploadHandle::not_configured(), None),
    };
    record_pseudonym_key(&reader, &writer, &pseudonyms, clock.now_ms()).await?;
    if let Some(password) = accounts::ensure_first_admin(&reader, &writer, clock.now_ms()).await? {
        announce_first_admin(&password);
    }
    // Its own connection: sign-ins do not queue behind pulls' look-ups.
    let sign_in = Reader::open(&db)?;
    let dock_accounts = tokio::task::spawn_blocking(move || DockAccounts::new(sign_in))
        .await
        .context("cannot prepare sign-in checks")??;
    let board = Arc::new(Board::with_reserved_slots(
        config.usb.slots.values().copied().collect(),
    ));
    tracing::info!(database = %db_path.display(), "Store open.");

    let (dockings_tx, dockings) = mpsc::channel::<Docking>(64);
    // Every long-lived task, by name: shutdown waits for them until a deadline, then forces them.
    let tasks = Tasks::new();
    let (configured, started) = spawn_transports(&config, &tasks, dockings_tx, &shutdown)?;
    running.set_transports(configured, started);
    let (audit, audit_forwarder) =
        DockAudit::spawn(writer.clone(), Arc::clone(&clock), shutdown.clone());
    tasks.spawn("audit forwarder", audit_forwarder);
    let seeds = match &producer {
        Some(p) => diag::UploadSeeds {
            last_gps_ms: reader.last_queued_at(Kind::DockGps, &p.origin.site, &p.origin.dock)?,
            last_dock_diag_ms: reader.last_queued_at(
                Kind::DockDiag,
                &p.origin.site,
                &p.origin.dock,
            )?,
        },
        None => diag::UploadSeeds::default(),
    };
    let (diag_queue, diag_forwarder) =
        DiagQueue::spawn(writer.clone(), producer.clone(), seeds, shutdown.clone());
    tasks.spawn("diagnostics forwarder", diag_forwarder);
    if let Some((driver, publisher)) = upload_driver {
        tasks.spawn("upload driver", driver.run(publisher, shutdown.clone()));
    }
    let diag_live = diag::spawn(
        &config,
        &diag_queue,
        Arc::clone(&clock),
        tasks.tracker(),
        &shutdown,
    );
    // Its own connection too: pages read reports while the analyst and pulls work.
    let pages = Reader::open(&db)?;
    let analysis_view = StoredAnalysis::new(
        pages,
        Reader::open(&db)?,
        Arc::clone(&site),
        Arc::clone(&pseudonyms),
        Arc::clone(&clock),
    );
    let roster = SiteRoster::new(
        Reader::open(&db)?,
        writer.clone(),
        Arc::clone(&site),
        Arc::clone(&pseudonyms),
        Arc::clone(&clock),
    )
    .keeping_work_restrictions(config.privacy.retention_days.work_restrictions);
    let admin = SiteAdmin::new(
        Reader::open(&db)?,
        writer.clone(),
        Arc::clone(&site),
        Arc::clone(&clock),
    );
    let web_facts = Arc::new(std::sync::OnceLock::new());
    let page_facts: Arc<std::sync::OnceLock<WebFacts>> = Arc::clone(&web_facts);
    let dock_diagnostics = Arc::new(DockDiagnostics::new(DiagnosticsParts {
        reader: Reader::open(&db)?,
        live: diag_live,
        board: Arc::clone(&board),
        clock: Arc::clone(&clock),
        dock_name: config.dock.name.clone(),
        data_dir: config.storage.data_dir.clone(),
        database: db_path.clone(),
        gps_configured: config.gps.gpsd.is_some(),
        web: Arc::clone(&web_facts),
        shutdown: shutdown.clone(),
        pseudonym_key: web_ui::diagnostics::PseudonymKey {
            source: pseudonyms.source().as_str().to_owned(),
            key_id: pseudonyms.key_id(),
        },
        upload,
        running: Arc::clone(&running),
    }));
    spawn_console(&config, &dock_diagnostics, &clock, &tasks, &shutdown);
    spawn_web(
        &config,
        &tasks,
        Web {
            view: BoardView::new(
                Arc::clone(&board),
                Arc::clone(&site),
                Arc::clone(&pseudonyms),
                &config.dock.name,
                Arc::clone(&clock),
                shutdown.clone(),
            ),
            accounts: Arc::new(dock_accounts),
            audit: Arc::new(audit),
            analysis: Arc::new(analysis_view),
            admin: Arc::new(admin),
            roster: Arc::new(roster),
            diagnostics: dock_diagnostics,
            facts: web_facts,
        },
        &shutdown,
        systemd.web_listener.as_ref(),
    )
    .await?;
    if let Some(facts) = page_facts.get() {
        running.set_page(&facts.url);
    }
    // The page listens and the store is open: systemd may call the start done.
    systemd
        .notifier
        .ready("Running: the page listens and the store is open.");
    if let Some(every) = systemd.watchdog_every {
        let writer = writer.clone();
        tasks.spawn(
            "watchdog",
            crate::systemd::feed_watchdog(
                systemd.notifier.clone(),
                every,
                move || writer.is_running(),
                shutdown.clone(),
            ),
        );
    }

    let (updates, updater) = crate::update::daemon::Updater {
        config: Arc::new(config.clone()),
        running: Arc::clone(&running),
        writer: writer.clone(),
        clock: Arc::clone(&clock),
        site: Arc::clone(&site),
        busy: board.busy(),
        shutdown: shutdown.clone(),
    }
    .spawn();
    tasks.spawn("updater", updater);
    running.set_updates(updates);
    let ctx = PullContext {
        writer,
        reader,
        board,
        clock,
        request_timeout: Duration::from_millis(config.link.request_timeout_ms),
        max_segment_bytes: config.link.max_segment_bytes,
        refresh: Duration::from_secs(config.dock.refresh_s),
        cpu: Arc::new(tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )),
        in_flight: Arc::new(tokio::sync::Semaphore::new(
            crate::pull::IN_FLIGHT_KIB as usize,
        )),
        producer: producer.clone(),
        running: Arc::clone(&running),
    };
    tasks.spawn(
        "compaction",
        store::compaction::run(
            ctx.reader.clone(),
            ctx.writer.clone(),
            Arc::clone(&ctx.cpu),
            ctx.board.busy(),
            shutdown.clone(),
        ),
    );
    tasks.spawn(
        "analyst",
        crate::analyst::run(
            ctx.reader.clone(),
            ctx.writer.clone(),
            Arc::clone(&site),
            producer,
            Arc::clone(&ctx.cpu),
            ctx.board.busy(),
            shutdown.clone(),
        ),
    );
    tasks.spawn(
        "retention purge",
        crate::privacy::run_purges(
            ctx.writer.clone(),
            config.privacy.clone(),
            Arc::clone(&site),
            Arc::clone(&ctx.clock),
            shutdown.clone(),
        ),
    );
    tasks.spawn(
        "work restriction retention",
        crate::views::roster::sweep_work_restrictions(
            ctx.writer.clone(),
            Arc::clone(&site),
            Arc::clone(&ctx.clock),
            config.privacy.retention_days.work_restrictions,
            shutdown.clone(),
        ),
    );
    tasks.spawn(
        "control socket",
        control.serve(
            crate::control::server::Backend::Daemon(crate::control::server::Daemon {
                reader: Reader::open(&db)?,
                writer: ctx.writer.clone(),
                site: Arc::clone(&site),
                config: Arc::new(config.clone()),
                clock: Arc::clone(&ctx.clock),
                running: Arc::clone(&ctx.running),
            }),
            shutdown.clone(),
        ),
    );
    let pulls = TaskTracker::new();
    tasks.spawn(
        "dock",
        dock::run(
            ctx,
            config.usb.slots.clone(),
            dockings,
            pulls.clone(),
            shutdown.clone(),
        ),
    );
    tracing::info!("dockd is running.");

    shutdown.cancelled().await;
    tracing::info!("Shutting down.");
    systemd.notifier.stopping();
    stop(tasks, pulls, writer_thread).await;
    // Only now, with the store closed, does the socket go: until here a command waited for this
    // daemon instead of opening the database beside it.
    drop(control);
    if running.restart_requested() {
        tracing::info!("Stopped, to start again into the version just installed.");
        return Ok(Ended::RestartForUpdate);
    }
    tracing::info!("Stopped.");
    Ok(Ended::Stopped)
}

/// Stops everything within [`shutdown::BUDGET`] of now: the tasks (and the pulls) get
/// [`shutdown::TASKS_SHARE`], then those still running are aborted; every `Writer` handle is then
/// gone and the writer drains its queue, checkpoints and closes in what is left. Whatever had to
/// be forced is named in one warning each.
async fn stop(tasks: Tasks, pulls: TaskTracker, writer_thread: store::WriterThread) {
    let started = tokio::time::Instant::now();
    let tasks_deadline = started + shutdown::TASKS_SHARE;
    let mut forced = tasks.stop_by(tasks_deadline).await;
    // The dock task has ended (or was aborted): no pull is started any more.
    pulls.close();
    if tokio::time::timeout_at(tasks_deadline, pulls.wait())
        .await
        .is_err()
    {
        forced.push("pulls");
    }
    if !forced.is_empty() {
        tracing::warn!(
            forced = %forced.join(", "),
            "Shutdown deadline: these did not stop in time and were stopped by force; a pull cut short leaves its uncommitted logs on the wearable."
        );
    }
    let writer = tokio::task::spawn_blocking(move || writer_thread.join());
    match tokio::time::timeout_at(started + shutdown::BUDGET, writer).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(error = %error, "The store writer did not stop cleanly."),
        Err(_) => tracing::warn!(
            forced = "store writer",
            "Shutdown deadline: the store writer did not close in time and is left to the exit; every acknowledged commit is on disk, the WAL is replayed at the next start."
        ),
    }
}

/// Starts the wearables' transports the config asks for; returns their names, those asked for
/// and those that started (a trial's health check compares them).
fn spawn_transports(
    config: &Config,
    tasks: &Tasks,
    dockings: mpsc::Sender<Docking>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut configured, mut started) = (Vec::new(), Vec::new());
    if let Some(path) = &config.link.emulator_socket {
        let listener = socket::bind_unix(path).with_context(|| {
            format!(
                "cannot create the emulated-wearable socket {} (link.emulator_socket)",
                path.display()
            )
        })?;
        tracing::info!(socket = %path.display(), "Accepting emulated wearables.");
        configured.push("emulator socket".to_owned());
        started.push("emulator socket".to_owned());
        tasks.spawn(
            "emulator socket",
            socket::serve_unix(listener, path.clone(), dockings.clone(), shutdown.clone()),
        );
    }
    if let Some(addr) = config.link.emulator_tcp {
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "link.emulator_tcp is not a loopback address: anyone on the network can pose as a wearable.");
        }
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .and_then(tokio::net::TcpListener::from_std)
            .with_context(|| {
                format!("cannot listen on {addr} for emulated wearables (link.emulator_tcp)")
            })?;
        tracing::info!(%addr, "Accepting emulated wearables over TCP.");
        configured.push("emulator TCP".to_owned());
        started.push("emulator TCP".to_owned());
        tasks.spawn(
            "emulator TCP listener",
            socket::serve_tcp(listener, dockings.clone(), shutdown.clone()),
        );
    }
    if config.usb.enabled {
        let settings = usb::UsbSettings {
            ids: config.usb.ids.clone(),
            hotplug: config.usb.hotplug,
            rescan: Duration::from_secs(config.usb.rescan_s),
        };
        configured.push("USB".to_owned());
        match usb::start(settings, dockings, shutdown.clone()) {
            Ok(monitor) => {
                started.push("USB".to_owned());
                tasks.spawn("USB monitor", async move {
                    if tokio::task::spawn_blocking(move || monitor.join())
                        .await
                        .is_err()
                    {
                        tracing::error!("The USB monitor thread failed.");
                    }
                });
            }
            // The page, the store and any other transport keep working without USB.
            Err(error) => {
                tracing::error!(error = %error, "USB is unavailable: wearables on USB will not be pulled until this is fixed and dockd restarted.")
            }
        }
    }
    Ok((configured, started))
}

/// What the page is built over.
struct Web {
    view: BoardView,
    accounts: Arc<dyn web_ui::access::Accounts>,
    audit: Arc<dyn web_ui::access::AuditLog>,
    analysis: Arc<dyn web_ui::analysis::AnalysisView>,
    admin: Arc<dyn web_ui::admin::AdminView>,
    roster: Arc<dyn web_ui::roster::RosterView>,
    diagnostics: Arc<DockDiagnostics>,
    /// Filled once the page listens: its address and certificate, for the console and the page.
    facts: Arc<std::sync::OnceLock<WebFacts>>,
}

/// Starts the technician's console on `[serial] port`, when configured.
fn spawn_console(
    config: &Config,
    backend: &Arc<DockDiagnostics>,
    clock: &Arc<dyn Clock>,
    tasks: &Tasks,
    shutdown: &CancellationToken,
) {
    let Some(serial) = &config.serial else {
        tracing::info!("No [serial] port configured: no technician console.");
        return;
    };
    if serial.pin.as_ref().is_some_and(|pin| !pin.is_usable()) {
        tracing::warn!(
            "The service PIN in [serial] pin is shorter than {} characters: the console's PIN actions (upload now, update now, restart) are disabled until a longer one is set.",
            diagnostics::console::MIN_PIN_CHARS
        );
    }
    let backend: Arc<dyn diagnostics::console::ConsoleBackend> = backend.clone();
    let clock = Arc::clone(clock);
    let console_clock: diagnostics::console::Clock = Arc::new(move || clock.now_ms());
    tracing::info!(port = %serial.port.display(), baud = serial.baud, "Technician console on the serial port.");
    tasks.spawn(
        "serial console",
        diagnostics::console::run_port(
            serial.port.clone(),
            serial.baud,
            backend,
            serial.settings(config.dock.name.clone(), &config.storage.data_dir),
            console_clock,
            shutdown.clone(),
        ),
    );
}

/// Shows the first admin's one-time password, once, where whoever started the dock looks: on
/// stderr as a block of its own (not a log line, so it is not copied into log fields).
fn announce_first_admin(password: &str) {
    let rule = "=".repeat(72);
    eprintln!(
        "\n{rule}\n First start: sign in as `{admin}` with this one-time password:\n\n     {password}\n\n \
         It is shown only this once and stored only as a hash. Sign in and change it, or set one\n \
         with `dockd user add {admin} --role admin --config FILE` (password on stdin).\n{rule}\n",
        admin = accounts::FIRST_ADMIN
    );
    tracing::warn!(
        user = accounts::FIRST_ADMIN,
        "First start: created the first admin; its one-time password is printed above, not logged."
    );
}

/// The page's listening socket, TLS and options, before any route exists: the real site and the
/// locked dock's are served over the same.
pub(crate) struct Listening {
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) options: web_ui::WebOptions,
    /// Its address and certificate, for the console and the page.
    pub(crate) facts: WebFacts,
}

impl Listening {
    /// Serves `router` as the task "web server" until `shutdown`.
    pub(crate) fn serve(self, router: axum::Router, tasks: &Tasks, shutdown: &CancellationToken) {
        tasks.spawn(
            "web server",
            web_tls::serve(self.listener, router, self.tls, shutdown.clone()),
        );
    }
}

async fn spawn_web(
    config: &Config,
    tasks: &Tasks,
    web: Web,
    shutdown: &CancellationToken,
    handed_over: Option<&std::net::TcpListener>,
) -> anyhow::Result<()> {
    let listening = listen_web(config, handed_over).await?;
    let _ = web.facts.set(listening.facts.clone());
    let router = web_ui::site(
        web_ui::Backends {
            dock: Arc::new(web.view),
            accounts: web.accounts,
            audit: web.audit,
            analysis: web.analysis,
            roster: web.roster,
            admin: web.admin,
            diagnostics: web.diagnostics,
        },
        listening.options.clone(),
    );
    listening.serve(router, tasks, shutdown);
    Ok(())
}

/// Binds the page's address, or takes a copy of the socket systemd handed over (socket
/// activation: `web.listen` is then not bound), and sets up HTTPS (`[web]`). The handed-over
/// socket stays open in `handed_over`, so a locked dock's page and the real one serve it in turn.
pub(crate) async fn listen_web(
    config: &Config,
    handed_over: Option<&std::net::TcpListener>,
) -> anyhow::Result<Listening> {
    let inherited = match handed_over {
        Some(listener) => {
            let copy = listener
                .try_clone()
                .and_then(|copy| copy.set_nonblocking(true).map(|()| copy))
                .context("cannot use the page's socket systemd handed over (dockd.socket)")?;
            Some(copy)
        }
        None => None,
    };
    let addr = match &inherited {
        Some(listener) => listener
            .local_addr()
            .context("cannot read the address of the page's socket from systemd")?,
        None => config.web.listen,
    };
    if inherited.is_some() && addr != config.web.listen {
        tracing::info!(%addr, listen = %config.web.listen, "The page's socket comes from systemd (dockd.socket); web.listen is not bound.");
    }
    anyhow::ensure!(
        config.web.tls || addr.ip().is_loopback(),
        "web.tls = false is only allowed with a loopback web.listen, not {addr}"
    );
    // The certificate exists before the port accepts, so whoever connects can already check it.
    let hostname = web_tls::hostname();
    let (tls, server_names) = if config.web.tls {
        let names = web_tls::subject_names(addr, hostname.as_deref());
        let certificate = web_tls::load_or_create(config, &names)
            .context("cannot set up HTTPS for the web page (web.tls, web.cert, web.key)")?;
        if certificate.generated {
            tracing::info!(
                certificate = %certificate.path.display(),
                names = %names.join(", "),
                "Generated this dock's own HTTPS certificate (self-signed; delete it to make a new one)."
            );
        }
        tracing::info!(
            certificate = %certificate.path.display(),
            certificate_sha256 = %certificate.fingerprint,
            "Browsers will ask to trust this certificate: check that they show this SHA-256 fingerprint."
        );
        let server_names = web_tls::server_names(config, Some(&certificate), hostname.as_deref());
        (Some(web_tls::server_config(&certificate)?), server_names)
    } else {
        // Only a loopback address gets here (checked above): a note, not a warning.
        tracing::info!(%addr, "The page is plain HTTP (web.tls = false), for this machine only.");
        (
            None,
            web_tls::server_names(config, None, hostname.as_deref()),
        )
    };
    tracing::info!(names = %server_names.join(", "), "The page answers to these names (web.server_names).");
    let listener = match inherited {
        Some(listener) => tokio::net::TcpListener::from_std(listener)
            .context("cannot serve the page on the socket systemd handed over")?,
        None => tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!(
                "cannot serve the web page on {addr}: is another program using it? Change [web] listen"
            )
        })?,
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{bound}/");
    tracing::info!(url = %url, "Web page ready.");
    let certificate_sha256 =
        web_tls::certificate_path(config).and_then(|path| web_tls::file_fingerprint(&path).ok());
    let facts = WebFacts {
        url,
        certificate_sha256,
    };
    Ok(Listening {
        listener,
        options: web_ui::WebOptions {
            secure_cookies: tls.is_some(),
            server_names,
            port: bound.port(),
        },
        tls,
        facts,
    })
}
