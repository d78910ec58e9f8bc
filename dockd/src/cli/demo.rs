//! `dockd demo`: the daemon and a re-docking fleet of emulated wearables in one process. It must
//! never need a set-up step or serve anything but loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use dockd::emulator::{Faults, Fleet, FleetPlan, FleetSpec, MINUTE_MS, Refill, ShiftSpec};
use dockd::transport::LinkAddr;
use tokio_util::sync::CancellationToken;
use web_ui::access::Role;

use super::{cancel_on_signals, runtime};

/// `dockd demo`: the daemon and a re-docking fleet of emulated wearables in one process, talking over
/// the same Unix socket and code paths a real deployment uses.
pub(super) fn demo(
    wearables: usize,
    listen: SocketAddr,
    data: PathBuf,
    seed: u64,
    shift_minutes: u64,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(wearables > 0, "--wearables must be at least 1");
    anyhow::ensure!(shift_minutes > 0, "--shift-minutes must be at least 1");
    anyhow::ensure!(
        listen.ip().is_loopback(),
        "the demo serves plain HTTP, so only on this machine: give --listen a loopback address like 127.0.0.1:8080"
    );
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the data folder {}", data.display()))?;
    let data = data.canonicalize().unwrap_or(data);
    let socket = data.join("wearables.sock");
    let mut config = Config::default();
    config.dock.name = "Demo dock".to_owned();
    config.dock.refresh_s = 5;
    config.storage.data_dir = data.clone();
    config.link.emulator_socket = Some(socket.clone());
    config.web.listen = listen;
    // Plain HTTP on loopback: a demo has no certificate to trust.
    config.web.tls = false;

    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone())?;
        // A fresh demo admin each run, so the demo never has a password anyone could know.
        let password = dockd::accounts::random_password()?;
        let now = SystemClock.now_ms();
        let demo_user = {
            let password = password.clone();
            tokio::task::spawn_blocking(move || {
                dockd::accounts::new_user("demo", Role::Admin, &password, now)
            })
            .await??
        };
        dockd::accounts::put_user_in(&config.database()?, demo_user).await?;
        let stale = socket_inode(&socket);
        let mut daemon = tokio::spawn(dockd::app::run(
            config,
            Arc::new(SystemClock),
            shutdown.clone(),
        ));
        // The wearables dial only once the daemon listens, so the first screen has no failed docking.
        wait_until_listening(&socket, stale, &mut daemon).await?;
        println!(
            "dockd demo: {wearables} emulated wearables, data in {}",
            data.display()
        );
        println!("dockd demo: open http://{listen}/ — Ctrl-C to stop");
        println!("dockd demo: sign in as `demo` with the password {password} (this run only)");

        let spec = FleetSpec {
            count: wearables,
            base_seed: seed,
            shift: ShiftSpec {
                segment_ms: 30 * MINUTE_MS,
                ..ShiftSpec::ending_at(SystemClock.now_ms(), shift_minutes * MINUTE_MS)
            },
            first_serial: 1,
        };
        let fleet = tokio::task::spawn_blocking(move || Fleet::new(&spec)).await?;
        let plan = FleetPlan {
            // A slow link, so pulls take long enough to watch their progress bars.
            faults: Faults {
                bytes_per_sec: Some(400_000),
                ..Faults::default()
            },
            // Each wearable charges in its slot for a while (the dock's refreshes do not keep it
            // there), is taken out, and comes back after a (very short) shift: the page shows
            // every state a real dock goes through.
            stay: Duration::from_secs(20),
            redock_after: Some(Duration::from_secs(8)),
            stagger: Duration::from_secs(2),
            // Each comeback brings the same hours a day earlier, four weeks back, so the trends,
            // weeks and site baseline fill while you watch; then fresh shifts of today.
            refill: Refill::Backlog { days: BACKLOG_DAYS },
        };
        let addr = LinkAddr::Unix(socket);
        let wearables = fleet.run(&addr, &plan, &shutdown);
        let (runs, daemon) = tokio::join!(wearables, daemon);
        daemon??;
        let dockings: u32 = runs.iter().map(|r| r.dockings).sum();
        println!("dockd demo: stopped after {dockings} dockings");
        Ok(ExitCode::SUCCESS)
    })
}

/// Days of history the demo's wearables bring, one a docking: the analysis's 28-day baseline.
const BACKLOG_DAYS: u32 = 27;

/// How long the daemon may take to open its wearable socket.
const LISTEN_LIMIT: Duration = Duration::from_secs(30);

/// The inode of the file at `path`, if any (a socket left by an earlier run that was killed).
fn socket_inode(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

/// Waits until the daemon has bound its wearable socket (a new file at `socket`, not the `stale`
/// one), or fails with the daemon's own error if it stopped first.
async fn wait_until_listening(
    socket: &Path,
    stale: Option<u64>,
    daemon: &mut tokio::task::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let started = tokio::time::Instant::now();
    loop {
        if socket_inode(socket).is_some_and(|inode| Some(inode) != stale) {
            return Ok(());
        }
        if daemon.is_finished() {
            daemon.await??;
            anyhow::bail!("the dock stopped before it accepted wearables");
        }
        anyhow::ensure!(
            started.elapsed() < LISTEN_LIMIT,
            "the dock did not open its wearable socket {} within {LISTEN_LIMIT:?}",
            socket.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
