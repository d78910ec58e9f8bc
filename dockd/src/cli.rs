//! Command-line interface of `dockd`: `run`, `demo`, `emulate`, `status`, `check-config`,
//! `user add`, `analyze`, `reanalyze`. It owns argument parsing, tracing set-up and the signal →
//! `CancellationToken` bridge; it must never contain daemon logic (that lives in the library, where
//! tests reach it).

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
use web_ui::access::Role;

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
    /// Analyse raw segment files offline (the bytes a wearable's READ returns) and print their
    /// shifts with every metric. Uses the same analysis as the daemon.
    Analyze {
        /// Segment files, one segment each, of one wearable.
        #[arg(required = true, value_name = "SEGMENT_FILE")]
        files: Vec<PathBuf>,
        /// Take `[analysis]` settings (time zone, thresholds, tasks) from this config.
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Machine-readable output (keys documented in the README).
        #[arg(long)]
        json: bool,
    },
    /// Re-analyse everything stored with the current `[analysis]` settings, with a progress bar.
    /// The daemon also does this by itself after the settings change.
    Reanalyze {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Manage who may sign in to the dock's page.
    #[command(subcommand)]
    User(UserCommand),
    /// Print what the dock has stored, per wearable (works while the daemon runs).
    Status {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user, or replace the password and role of an existing one. The password is read
    /// from the first line of standard input (at least 12 characters), e.g. from a password manager.
    Add {
        /// The user name they sign in with.
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Enable the user again if an admin disabled them (otherwise they stay disabled).
        #[arg(long)]
        enable: bool,
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
}

/// What a user may do on the page.
#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    /// Everything, including users, settings and the audit trail.
    Admin,
    /// Workers, tasks, roster and the dock.
    Supervisor,
    /// The dock and diagnostics only: never worker data.
    Technician,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Technician => Role::Technician,
        }
    }
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
            print!("{}", Config::load(&config)?.describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { config, json } => status(&Config::load(&config)?, json),
        Command::User(UserCommand::Add {
            name,
            role,
            enable,
            config,
        }) => user_add(&Config::load(&config)?, &name, role.into(), enable),
        Command::Analyze {
            files,
            config,
            json,
        } => {
            let settings = match config {
                Some(path) => Config::load(&path)?.analysis,
                None => dockd::analysis::Settings::default(),
            };
            analyze(&files, &settings, json)
        }
        Command::Reanalyze { config } => {
            let config = Config::load(&config)?;
            init_tracing();
            reanalyze(config)
        }
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

/// Logs to stderr (under systemd, JOURNAL_STREAM set, without timestamps or colours, since the
/// journal adds its own) and into the in-memory logbook the serial console's `log` shows.
fn init_tracing() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(!journal);
    let stderr = if journal {
        stderr.without_time().boxed()
    } else {
        stderr.boxed()
    };
    let logbook = tracing_subscriber::fmt::layer()
        .with_writer(dockd::logbook::Logbook)
        .with_target(false)
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(logbook)
        .init();
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
    let runtime = runtime()?;
    let ran = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone())?;
        dockd::app::run(config, Arc::new(SystemClock), shutdown).await?;
        Ok(ExitCode::SUCCESS)
    });
    // Blocking jobs the shutdown deadline stopped waiting for must not hold up the exit.
    runtime.shutdown_timeout(dockd::app::RUNTIME_GRACE);
    ran
}

/// `dockd user add`: the password comes from stdin's first line, so it is never in the shell's
/// history or the process list; nothing secret is printed.
fn user_add(config: &Config, name: &str, role: Role, enable: bool) -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        !password.is_empty(),
        "no password on standard input: pipe it in, e.g. `dockd user add {name} --role {} --config FILE < password.txt`",
        role.as_str()
    );
    let user = dockd::accounts::new_user(name, role, password, SystemClock.now_ms())?;
    let db_path = config.database_path();
    runtime()?.block_on(dockd::accounts::user_add(&db_path, user, enable))?;
    println!(
        "User `{name}` ({}) saved in {}.",
        role.as_str(),
        db_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The page's certificate fingerprint for `dockd status`: `None` without TLS or before the
/// daemon made its certificate.
fn certificate_fingerprint(config: &Config) -> Option<String> {
    let path = dockd::web_tls::certificate_path(config)?;
    if !path.exists() {
        return None;
    }
    match dockd::web_tls::file_fingerprint(&path) {
        Ok(fingerprint) => Some(fingerprint),
        Err(error) => {
            eprintln!("warning: {error}");
            None
        }
    }
}

fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(&config.database_path())?;
    let wearables = reader.wearable_totals()?;
    let fingerprint = certificate_fingerprint(config);
    // The dock's own diagnostics, from their own tables (never joined with the wearables').
    let latest = reader.latest_gps_fix(false)?;
    let fix = reader.latest_gps_fix(true)?;
    let gps = serde_json::json!({
        "mode": latest.as_ref().map(|f| f.mode),
        "lat": fix.as_ref().and_then(|f| f.lat),
        "lon": fix.as_ref().and_then(|f| f.lon),
        "alt_m": fix.as_ref().and_then(|f| f.alt_m),
        "satellites_used": latest.as_ref().and_then(|f| f.satellites_used),
        "last_fix_ms": fix.as_ref().map(|f| f.at_ms),
    });
    let power = reader.dock_power(0, 1)?.pop();
    let dock_power = power
        .as_ref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.reading).ok())
        .map(|mut reading| {
            if let (Some(object), Some(p)) = (reading.as_object_mut(), power.as_ref()) {
                object.insert("at_ms".to_owned(), p.at_ms.into());
            }
            reading
        });
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
        println!(
            "{}",
            serde_json::json!({
                "wearables": list,
                "web_certificate_sha256": fingerprint,
                "gps": gps,
                "dock_power": dock_power,
            })
        );
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
        match (&fingerprint, config.web.tls) {
            (Some(fingerprint), _) => println!("\nWeb certificate SHA-256: {fingerprint}"),
            (None, true) => {
                println!("\nWeb certificate: not made yet (the daemon makes it at start)")
            }
            (None, false) => println!("\nWeb page: plain HTTP (web.tls = false)"),
        }
        match (&latest, &fix) {
            (None, _) => println!("GPS: no record (no [gps] gpsd, or no report yet)"),
            (Some(latest), Some(fix)) => println!(
                "GPS: mode {} ({} satellites used); last fix {:.6}, {:.6}",
                latest.mode,
                latest
                    .satellites_used
                    .map_or("?".to_owned(), |n| n.to_string()),
                fix.lat.unwrap_or(f64::NAN),
                fix.lon.unwrap_or(f64::NAN)
            ),
            (Some(latest), None) => println!("GPS: mode {}, no fix recorded yet", latest.mode),
        }
        match dock_power.as_ref().and_then(|p| p["summary"].as_str()) {
            Some(summary) => println!("Dock power: {summary}"),
            None => println!("Dock power: no reading yet"),
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

fn analyze(
    files: &[PathBuf],
    settings: &dockd::analysis::Settings,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut segments = Vec::with_capacity(files.len());
    for file in files {
        let bytes = std::fs::read(file)
            .with_context(|| format!("cannot read segment file {}", file.display()))?;
        segments.push((file.display().to_string(), bytes));
    }
    let (recording, mut unknown) =
        dockd::analyst::offline_recording(&segments, SystemClock.now_ms())?;
    let (shifts, unknown_split) = dockd::analysis::analyze(&recording, settings)?;
    unknown.samples += unknown_split.samples;
    unknown.alerts += unknown_split.alerts;
    if json {
        // A local, offline tool: the worker tag is printed so the operator can tell shifts apart.
        let shifts: Vec<serde_json::Value> = shifts
            .iter()
            .map(|(worker, report)| {
                let mut value = serde_json::to_value(report).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.insert(
                        "worker_tag".into(),
                        worker.map_or(serde_json::Value::Null, |w| w.badge_text().into()),
                    );
                }
                value
            })
            .collect();
        let out = serde_json::json!({ "shifts": shifts, "unknown_time": unknown });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{:<10} {:>6} {:>7} {:>6} {:>6} {:>7} {:>6} {:>7}  risk",
            "day", "wear h", "bends", "deep", "twists", "lateral", "lifts", "alerts"
        );
        for (_, r) in &shifts {
            let c = &r.metrics.counts;
            println!(
                "{:<10} {:>6.1} {:>7} {:>6} {:>6} {:>7} {:>6} {:>7}  {:?}",
                r.local_day,
                r.metrics.wear_s / 3600.0,
                c.bends,
                c.deep_bends,
                c.twists,
                c.lateral_bends,
                c.lifts,
                r.metrics.alerts.count,
                r.risk_level
            );
            for reason in &r.reasons {
                println!("           {reason}");
            }
        }
        if unknown.samples > 0 || unknown.alerts > 0 {
            println!(
                "unknown time (not on any day): {} samples, {} alerts",
                unknown.samples, unknown.alerts
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn reanalyze(config: Config) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let db_path = config.database_path();
    if !db_path.exists() {
        anyhow::bail!("no database at {}: has dockd run there?", db_path.display());
    }
    runtime()?.block_on(async {
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone())?;
        let conn = dockd::store::open_for_writing(&db_path)?;
        let spare = dockd::store::open_for_writing(&db_path)?;
        let (writer, thread) = dockd::store::Writer::spawn(conn, spare)?;
        let reader = Reader::open(&db_path)?;
        // The settings in force: the file's, overlaid by what was changed on the page.
        let settings = dockd::site::SiteSettings::load(config.analysis.clone(), &reader)?.current();
        let started = std::time::Instant::now();
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        let done =
            dockd::analyst::reanalyze_all(&reader, &writer, &settings, parallel, &shutdown, |p| {
                let width = 30;
                let filled = (p.wearables_done * width)
                    .checked_div(p.wearables_total)
                    .unwrap_or(width);
                eprint!(
                    "\r[{}{}] {}/{} wearables, {} shifts, {:.1} s ",
                    "#".repeat(filled),
                    ".".repeat(width - filled),
                    p.wearables_done,
                    p.wearables_total,
                    p.shifts,
                    started.elapsed().as_secs_f64()
                );
                let _ = std::io::stderr().flush();
            })
            .await?;
        eprintln!();
        drop(writer);
        tokio::task::spawn_blocking(move || thread.join()).await?;
        println!(
            "Re-analysed {} wearables: {} shifts in {:.1} s.",
            done.wearables_done,
            done.shifts,
            started.elapsed().as_secs_f64()
        );
        Ok(if shutdown.is_cancelled() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}
