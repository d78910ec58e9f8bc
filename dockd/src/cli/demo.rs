//! `dockd demo`: the daemon and a re-docking fleet of emulated wearables in one process. It must
//! never need a set-up step or serve anything but loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use dockd::emulator::{Faults, Fleet, FleetPlan, FleetSpec, MINUTE_MS, ShiftSpec};
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
        dockd::accounts::put_user_in(&config.database_path(), demo_user).await?;
        let daemon = tokio::spawn(dockd::app::run(
            config,
            Arc::new(SystemClock),
            shutdown.clone(),
        ));
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
            // Each wearable charges in its slot for a while, is taken out, and comes back after
            // a (very short) shift: the page shows every state a real dock goes through.
            stay: Duration::from_secs(20),
            redock_after: Some(Duration::from_secs(8)),
            stagger: Duration::from_secs(2),
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
