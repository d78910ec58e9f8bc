//! Command-line interface of `dockd`: `run`, `demo`, `emulate`, `status`, `check-config`. It owns
//! argument parsing, tracing set-up and the signal → `CancellationToken` bridge; it must never
//! contain daemon logic (that lives in the library, where tests reach it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dockd::clock::Clock;
use dockd::clock::SystemClock;
use dockd::config::Config;
use dockd::emulator::{
    BootSpec, Faults, Fleet, FleetPlan, FleetSpec, MINUTE_MS, ShiftSpec, Wearable,
};
use dockd::store::Reader;
use dockd::transport::LinkAddr;
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "dockd",
    version,
    about = "Charging-dock daemon for workplace-safety wearables"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the dock daemon.
    Run {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Check a config file and print the settings it gives.
    CheckConfig {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Run the whole dock on this machine with emulated wearables: nothing to set up.
    Demo {
        /// How many emulated wearables dock and re-dock.
        #[arg(long, default_value_t = 6)]
        wearables: usize,
        /// Address of the web page.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Data folder (created if missing).
        #[arg(long, default_value = "./dockd-data")]
        data: PathBuf,
        /// Seed of the emulated shifts.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Length of each emulated shift, in minutes.
        #[arg(long, default_value_t = 120)]
        shift_minutes: u64,
    },
    /// Play emulated wearables against a running dock.
    Emulate(EmulateArgs),
    /// Print what the dock has stored, per wearable (works while the daemon runs).
    Status {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct EmulateArgs {
    /// The dock's emulator address: unix:/path/to.sock or tcp:127.0.0.1:PORT.
    #[arg(long)]
    connect: LinkAddr,
    #[arg(long, default_value_t = 1)]
    wearables: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Serial number of the first wearable (KW-000001, …).
    #[arg(long, default_value_t = 1)]
    first_serial: u32,
    /// Length of each shift, in minutes.
    #[arg(long, default_value_t = 480)]
    shift_minutes: u64,
    /// Length of each segment, in minutes.
    #[arg(long, default_value_t = 60)]
    segment_minutes: u64,
    /// Dock again this many seconds after each undocking, with a fresh shift, until Ctrl-C.
    #[arg(long, value_name = "SECONDS")]
    redock_after: Option<u64>,
    /// Fault: unplug after this many bytes of each docking.
    #[arg(long, value_name = "BYTES")]
    unplug_after: Option<u64>,
    /// Fault: flip one bit in every Nth response frame.
    #[arg(long, value_name = "N")]
    flip_every: Option<u32>,
    /// Fault: a slow link of this many bytes per second.
    #[arg(long, value_name = "N")]
    bytes_per_sec: Option<u64>,
    /// Fault: answer every request with ERROR of this code.
    #[arg(long, value_name = "CODE")]
    answer_error: Option<u16>,
    /// Fault: never answer.
    #[arg(long)]
    silent: bool,
    /// Fault: the battery ran flat; the clock is lost and two segments of an earlier boot remain.
    #[arg(long)]
    flat_battery: bool,
    /// Fault: one segment is corrupt (the dock must quarantine it and leave it on the wearable).
    #[arg(long)]
    corrupt_segment: bool,
}

pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config } => {
            let config = Config::load(&config)?;
            init_tracing();
            run_daemon(config)
        }
        Command::CheckConfig { config } => {
            let config = Config::load(&config)?;
            println!("{config:#?}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { config, json } => status(&Config::load(&config)?, json),
        Command::Demo {
            wearables,
            listen,
            data,
            seed,
            shift_minutes,
        } => {
            init_tracing();
            demo(wearables, listen, data, seed, shift_minutes)
        }
        Command::Emulate(args) => {
            init_tracing();
            emulate(args)
        }
    }
}

/// Logs to stderr; under systemd (JOURNAL_STREAM set) without timestamps or colours, since the
/// journal adds its own.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().with_ansi(false).init();
    } else {
        builder.init();
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Cancels the token on SIGTERM or SIGINT.
fn cancel_on_signals(token: CancellationToken) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received."),
            _ = int.recv() => tracing::info!("SIGINT received."),
        }
        token.cancel();
    });
    Ok(())
}

fn run_daemon(config: Config) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone())?;
        dockd::app::run(config, Arc::new(SystemClock), shutdown).await?;
        Ok(ExitCode::SUCCESS)
    })
}

fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(&config.database_path())?;
    let wearables = reader.wearable_totals()?;
    if json {
        let list: Vec<_> = wearables
            .iter()
            .map(|w| {
                serde_json::json!({
                    "serial": w.serial,
                    "segments_stored": w.segments_stored,
                    "samples_stored": w.samples_stored,
                    "alerts_stored": w.alerts_stored,
                    "quarantined": w.quarantined,
                    "last_docked_ms": w.last_docked_ms,
                    "slot": w.last_slot,
                    "transport": w.last_transport,
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "wearables": list }));
    } else {
        println!(
            "{:<16} {:>5} {:>9} {:>12} {:>8} {:>11}",
            "WEARABLE", "SLOT", "SEGMENTS", "SAMPLES", "ALERTS", "QUARANTINED"
        );
        for w in &wearables {
            println!(
                "{:<16} {:>5} {:>9} {:>12} {:>8} {:>11}",
                w.serial,
                w.last_slot.map_or("-".to_owned(), |s| s.to_string()),
                w.segments_stored,
                w.samples_stored,
                w.alerts_stored,
                w.quarantined
            );
        }
        if wearables.is_empty() {
            println!("(no wearable has docked yet)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `dockd demo`: the daemon and a re-docking fleet of emulated wearables in one process, talking over
/// the same Unix socket and code paths a real deployment uses.
fn demo(
    wearables: usize,
    listen: SocketAddr,
    data: PathBuf,
    seed: u64,
    shift_minutes: u64,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(wearables > 0, "--wearables must be at least 1");
    anyhow::ensure!(shift_minutes > 0, "--shift-minutes must be at least 1");
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

    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone())?;
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

/// `dockd emulate`: wearables (with optional faults) against a dock that is already running.
fn emulate(args: EmulateArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.wearables > 0, "--wearables must be at least 1");
    anyhow::ensure!(
        args.shift_minutes > 0 && args.segment_minutes > 0,
        "shift and segment lengths must be at least a minute"
    );
    runtime()?.block_on(async move {
        let cancel = CancellationToken::new();
        cancel_on_signals(cancel.clone())?;
        let spec = FleetSpec {
            count: args.wearables,
            base_seed: args.seed,
            shift: ShiftSpec {
                segment_ms: args.segment_minutes * MINUTE_MS,
                ..ShiftSpec::ending_at(SystemClock.now_ms(), args.shift_minutes * MINUTE_MS)
            },
            first_serial: args.first_serial,
        };
        let (flat, corrupt) = (args.flat_battery, args.corrupt_segment);
        let fleet = tokio::task::spawn_blocking(move || {
            Fleet::from_wearables(
                (0..spec.count)
                    .map(|i| {
                        let mut wearable = spec.wearable_spec(i);
                        wearable.corrupt_segment = corrupt;
                        if flat {
                            wearable.boot = BootSpec::FlatBattery {
                                boot_wall_ms: spec.shift.start_wall_ms - 10 * MINUTE_MS as i64,
                                earlier_boot_segments: 2,
                            };
                        }
                        Wearable::new(wearable)
                    })
                    .collect(),
            )
        })
        .await?;
        let plan = FleetPlan {
            faults: Faults {
                unplug_after_bytes: args.unplug_after,
                flip_bit_every: args.flip_every,
                bytes_per_sec: args.bytes_per_sec,
                answer_error: args.answer_error,
                silent: args.silent,
            },
            redock_after: args.redock_after.map(Duration::from_secs),
            stagger: Duration::ZERO,
            stay: Duration::ZERO,
        };
        let runs = fleet.run(&args.connect, &plan, &cancel).await;
        let mut all_ok = true;
        for run in &runs {
            let truth = run.wearable.truth();
            let line = serde_json::json!({
                "serial": run.wearable.serial(),
                "dockings": run.dockings,
                "segments": truth.segments.len(),
                "erased": run.wearable.erased_ids().len(),
                "left_on_wearable": run.wearable.stored_segments().len(),
                "samples": truth.samples,
                "alerts": truth.alerts,
                "outcome": match &run.last { Ok(end) => format!("{end:?}"), Err(e) => e.to_string() },
            });
            all_ok &= run.last.is_ok();
            println!("{line}");
        }
        Ok(if all_ok { ExitCode::SUCCESS } else { ExitCode::from(2) })
    })
}
