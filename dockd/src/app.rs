//! Wires the daemon together: store, accounts, dock, transports and web page, started under one
//! `CancellationToken` and stopped in order. It owns start-up and shutdown order; it must never
//! handle signals, read the environment or pick exit codes — `main` does, and passes the edges in.
//!
//! Shutdown order: stop accepting (transports, web) → pulls stop at their next await (any point is
//! safe: ERASE waits for a commit) → the writer drains its queue, checkpoints and closes.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accounts::{self, DockAccounts, DockAudit};
use crate::clock::Clock;
use crate::config::Config;
use crate::diag::{self, DiagQueue};
use crate::dock::{self, board::Board};
use crate::pull::PullContext;
use crate::site::SiteSettings;
use crate::store::{self, Reader, Writer};
use crate::transport::{Docking, socket, usb};
use crate::views::BoardView;
use crate::views::admin::SiteAdmin;
use crate::views::analysis::StoredAnalysis;
use crate::views::diagnostics::{DiagnosticsParts, DockDiagnostics, WebFacts};
use crate::views::roster::SiteRoster;
use crate::web_tls;
use crate::worker::Pseudonyms;

/// How long pulls get to wind down at shutdown before they are abandoned (their data is safe).
const PULL_GRACE: Duration = Duration::from_secs(5);

/// Runs the daemon until `shutdown` is cancelled.
pub async fn run(
    config: Config,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let db_path = config.database_path();
    let conn = store::open_for_writing(&db_path)
        .with_context(|| format!("cannot open the database {}", db_path.display()))?;
    let spare = store::open_for_writing(&db_path)?;
    let (writer, writer_thread) =
        Writer::spawn(conn, spare).context("cannot start the store writer")?;
    let reader = Reader::open(&db_path)?;
    let site = {
        let (base, reader) = (config.analysis.clone(), reader.clone());
        tokio::task::spawn_blocking(move || SiteSettings::load(base, &reader))
            .await
            .context("cannot read the site settings")??
    };
    let site = Arc::new(site);
    if let Some(password) = accounts::ensure_first_admin(&reader, &writer, clock.now_ms()).await? {
        announce_first_admin(&password);
    }
    // Its own connection: sign-ins do not queue behind pulls' look-ups.
    let sign_in = Reader::open(&db_path)?;
    let dock_accounts = tokio::task::spawn_blocking(move || DockAccounts::new(sign_in))
        .await
        .context("cannot prepare sign-in checks")??;
    let board = Arc::new(Board::with_reserved_slots(
        config.usb.slots.values().copied().collect(),
    ));
    tracing::info!(database = %db_path.display(), "Store open.");

    let (dockings_tx, dockings) = mpsc::channel::<Docking>(64);
    let tasks = TaskTracker::new();
    spawn_transports(&config, &tasks, dockings_tx, &shutdown)?;
    let (audit, audit_forwarder) =
        DockAudit::spawn(writer.clone(), Arc::clone(&clock), shutdown.clone());
    tasks.spawn(audit_forwarder);
    let (diag_queue, diag_forwarder) = DiagQueue::spawn(writer.clone(), shutdown.clone());
    tasks.spawn(diag_forwarder);
    let diag_live = diag::spawn(&config, &diag_queue, Arc::clone(&clock), &tasks, &shutdown);
    let pseudonyms = Pseudonyms::load_or_create(&config.storage.data_dir.join("pseudonym.key"))
        .context("cannot create the worker pseudonym key in the data folder")?;
    // Its own connection too: pages read reports while the analyst and pulls work.
    let pages = Reader::open(&db_path)?;
    let pseudonyms = Arc::new(pseudonyms);
    let analysis_view = StoredAnalysis::new(
        pages,
        Reader::open(&db_path)?,
        Arc::clone(&site),
        Arc::clone(&pseudonyms),
        Arc::clone(&clock),
    );
    let roster = SiteRoster::new(
        Reader::open(&db_path)?,
        writer.clone(),
        Arc::clone(&site),
        Arc::clone(&pseudonyms),
        Arc::clone(&clock),
    );
    let admin = SiteAdmin::new(
        Reader::open(&db_path)?,
        writer.clone(),
        Arc::clone(&site),
        Arc::clone(&clock),
    );
    let web_facts = Arc::new(std::sync::OnceLock::new());
    let dock_diagnostics = Arc::new(DockDiagnostics::new(DiagnosticsParts {
        reader: Reader::open(&db_path)?,
        live: diag_live,
        board: Arc::clone(&board),
        clock: Arc::clone(&clock),
        dock_name: config.dock.name.clone(),
        data_dir: config.storage.data_dir.clone(),
        database: db_path.clone(),
        gps_configured: config.gps.gpsd.is_some(),
        web: Arc::clone(&web_facts),
        shutdown: shutdown.clone(),
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
    )
    .await?;

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
    };
    tasks.spawn(store::compaction::run(
        ctx.reader.clone(),
        ctx.writer.clone(),
        Arc::clone(&ctx.cpu),
        ctx.board.busy(),
        shutdown.clone(),
    ));
    tasks.spawn(crate::analyst::run(
        ctx.reader.clone(),
        ctx.writer.clone(),
        Arc::clone(&site),
        Arc::clone(&ctx.cpu),
        ctx.board.busy(),
        shutdown.clone(),
    ));
    let pulls = TaskTracker::new();
    let dock = tokio::spawn(dock::run(
        ctx,
        config.usb.slots.clone(),
        dockings,
        pulls.clone(),
        shutdown.clone(),
    ));
    tracing::info!("dockd is running.");

    shutdown.cancelled().await;
    tracing::info!("Shutting down.");
    tasks.close();
    if tokio::time::timeout(PULL_GRACE, tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("Transports or the web server did not stop in time; abandoning them.");
    }
    if let Err(error) = dock.await {
        tracing::error!(error = %error, "The dock task failed.");
    }
    pulls.close();
    if tokio::time::timeout(PULL_GRACE, pulls.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "Some pulls did not stop in time; their wearables keep whatever was not committed."
        );
    }
    // Every writer handle lived in the dock task and its pulls, now gone: the writer drains and exits.
    tokio::task::spawn_blocking(move || writer_thread.join())
        .await
        .context("the store writer did not stop cleanly")?;
    tracing::info!("Stopped.");
    Ok(())
}

fn spawn_transports(
    config: &Config,
    tasks: &TaskTracker,
    dockings: mpsc::Sender<Docking>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    if let Some(path) = &config.link.emulator_socket {
        let listener = socket::bind_unix(path).with_context(|| {
            format!(
                "cannot create the emulated-wearable socket {} (link.emulator_socket)",
                path.display()
            )
        })?;
        tracing::info!(socket = %path.display(), "Accepting emulated wearables.");
        tasks.spawn(socket::serve_unix(
            listener,
            path.clone(),
            dockings.clone(),
            shutdown.clone(),
        ));
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
        tasks.spawn(socket::serve_tcp(
            listener,
            dockings.clone(),
            shutdown.clone(),
        ));
    }
    if config.usb.enabled {
        let settings = usb::UsbSettings {
            ids: config.usb.ids.clone(),
            hotplug: config.usb.hotplug,
            rescan: Duration::from_secs(config.usb.rescan_s),
        };
        match usb::start(settings, dockings, shutdown.clone()) {
            Ok(monitor) => {
                tasks.spawn(async move {
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
    Ok(())
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
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) {
    let Some(serial) = &config.serial else {
        tracing::info!("No [serial] port configured: no technician console.");
        return;
    };
    let backend: Arc<dyn diagnostics::console::ConsoleBackend> = backend.clone();
    let clock = Arc::clone(clock);
    let console_clock: diagnostics::console::Clock = Arc::new(move || clock.now_ms());
    tracing::info!(port = %serial.port.display(), baud = serial.baud, "Technician console on the serial port.");
    tasks.spawn(diagnostics::console::run_port(
        serial.port.clone(),
        serial.baud,
        backend,
        serial.settings(config.dock.name.clone()),
        console_clock,
        shutdown.clone(),
    ));
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

async fn spawn_web(
    config: &Config,
    tasks: &TaskTracker,
    web: Web,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let addr = config.web.listen;
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
        tracing::warn!(%addr, "web.tls = false: the page is plain HTTP, for this machine only.");
        (
            None,
            web_tls::server_names(config, None, hostname.as_deref()),
        )
    };
    tracing::info!(names = %server_names.join(", "), "The page answers to these names (web.server_names).");
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "cannot serve the web page on {addr}: is another program using it? Change [web] listen"
        )
    })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{bound}/");
    tracing::info!(url = %url, "Web page ready.");
    let certificate_sha256 =
        web_tls::certificate_path(config).and_then(|path| web_tls::file_fingerprint(&path).ok());
    let _ = web.facts.set(WebFacts {
        url,
        certificate_sha256,
    });
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
        web_ui::WebOptions {
            secure_cookies: tls.is_some(),
            server_names,
            port: bound.port(),
        },
    );
    tasks.spawn(web_tls::serve(listener, router, tls, shutdown.clone()));
    Ok(())
}
