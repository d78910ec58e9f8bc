//! Command-line interface of `dockd`: `run`, `demo`, `emulate`, `status`, `check-config`,
//! `user add`, `analyze`, `reanalyze`, `privacy verify | report`, `purge --now`, `worker export | delete`,
//! `backup`, `restore`, `metrics`, `prepare-key`, and the hidden `generate-docs` (man pages and
//! completions from this CLI).
//! It owns argument parsing, tracing set-up, the environment (`RUNTIME_DIRECTORY`, systemd's
//! `LISTEN_*`, `NOTIFY_SOCKET`, `WATCHDOG_*`, `CREDENTIALS_DIRECTORY`) and the signal
//! → `CancellationToken` bridge; it must never contain daemon logic (that lives in the library,
//! where tests reach it). One file per command: `status`, `demo`, `emulate`, `analyze` (+
//! `reanalyze`), `user`, `privacy` (+ `purge`), `worker`, `backup` (+ `restore`, `metrics`); those a running daemon answers go
//! through [`ask`].

mod analyze;
mod backup;
mod demo;
mod emulate;
mod privacy;
mod status;
mod update;
mod user;
mod worker;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dockd::clock::SystemClock;
use dockd::config::Config;
use dockd::control::protocol::Command as ControlCommand;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;
use web_ui::access::Role;

use analyze::{analyze, reanalyze};
use demo::demo;
use emulate::{EmulateArgs, emulate};
use privacy::{privacy_report, privacy_verify};
use status::status;
use user::user_add;
use worker::{worker_delete, worker_export};

#[derive(Parser)]
#[command(
    name = "dockd",
    version = dockd::version::text(),
    about = "Charging-dock daemon for workplace-safety wearables",
    after_long_help = "Installed from the Debian package, dockd runs as the systemd service dockd.service \
(its page's socket: dockd.socket, port 443). Files: /etc/dockd/dockd.toml, the configuration, every key \
described in it; /var/lib/dockd, the data folder; /run/dockd/control.sock, the control socket (root and \
group dockd); /etc/credstore/dockd.database-key, the database key (root's; keep a copy). \
`journalctl -u dockd` shows the log, and the first admin's one-time password once."
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
    /// The privacy controls' checks.
    #[command(subcommand)]
    Privacy(PrivacyCommand),
    /// A worker's rights over their data.
    #[command(subcommand)]
    Worker(WorkerCommand),
    /// Delete for good what is past its retention (`[privacy.retention_days]`); the daemon does
    /// it daily at `[privacy] purge_at`.
    Purge {
        /// Now, rather than at `purge_at` (the only mode: the daily purge is the daemon's).
        #[arg(long, required = true)]
        now: bool,
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Make the database key file (`[privacy] database_key_file`, 0600) if it is missing and the
    /// database is not already encrypted; otherwise leave everything as it is. The package's
    /// dockd-key.service runs it as root before the first start.
    PrepareKey {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Write the man pages and shell completions (bash, zsh, fish) generated from this command
    /// line into DIR/man and DIR/completions (the package's `packaging/generated`).
    #[command(hide = true)]
    GenerateDocs {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Write an encrypted backup of the dock (database, its own pseudonym key and certificate)
    /// to a new file only you can read; works while the daemon runs. The passphrase is read
    /// from standard input's first line (at least 12 characters).
    Backup {
        /// The backup file to create (it must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Restore a backup into this dock's data folder (stop dockd first): the way to replace a
    /// dock's hardware. The passphrase is read from standard input's first line.
    Restore {
        /// The backup file `dockd backup` wrote.
        #[arg(value_name = "BACKUP")]
        file: PathBuf,
        /// Replace an existing database, pseudonym key or certificate (each is kept aside until
        /// the restored one is complete).
        #[arg(long)]
        replace: bool,
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print the running daemon's metrics in Prometheus text format.
    Metrics {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print what the dock has stored, per wearable (works while the daemon runs).
    Status {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check the risk analysis on the built-in reference shifts: exits 0 only if each reproduces
    /// its committed counts exactly (a detector that counts differently fails it).
    Selftest {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Check the release server for a newer signed release ([update] in the config), or install
    /// one now: the running daemon installs it and restarts into it on trial, keeping it only if
    /// it passes its health check. Exits non-zero, naming the reason, when the release server's
    /// answer is refused.
    #[command(group = clap::ArgGroup::new("what").required(true))]
    Update {
        /// Only ask what is offered.
        #[arg(long, group = "what")]
        check: bool,
        /// Install a newer release now.
        #[arg(long, group = "what")]
        now: bool,
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Subcommand)]
enum WorkerCommand {
    /// Export everything the dock holds about one worker into a new folder only you can read:
    /// JSON for the person, roster, work restrictions, shift reports, alerts and the audit lines
    /// about them, their samples as zstd CSV. The badge tag is read from standard input.
    Export {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// The folder to create (it must not exist).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Delete for good everything the dock holds about one worker; what stays is the audit entry
    /// and a tombstone (their keyed pseudonym) that discards their data still on a wearable. The
    /// badge tag is read from standard input's first line, the confirmation `yes` from its
    /// second (unless `--yes`).
    Delete {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// Do not ask: delete without reading a confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum PrivacyCommand {
    /// Check the audit trail's hash chain: an entry changed, removed, reordered or added outside
    /// dockd is named; exits 1 unless the chain is intact (works while the daemon runs).
    Verify {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// The data inventory: every table the dock keeps, what it holds, its class, how long it is
    /// kept and whether it leaves the dock (and as what), with the controls' state.
    Report {
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

pub fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run { config: path } => {
            let config = load_config(&path)?;
            init_tracing();
            run_daemon(config, &path)
        }
        Command::PrepareKey { config } => {
            init_command_tracing();
            prepare_key(&Config::load(&config)?)
        }
        Command::GenerateDocs { out } => {
            generate_docs(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { config } => {
            let config = load_config(&config)?;
            print!("{}", config.describe());
            if let Some(path) = &config.privacy.site_key_file {
                let key = dockd::worker::Pseudonyms::load_site(path)?;
                println!("privacy.site_key_file: a site key, id {}", key.key_id());
            }
            if let Some(upload) = &config.upload {
                // Reads the token, key and CA files as `run` will (a loose mode is warned of).
                init_tracing();
                let target = dockd::uploader::target::Target::from_config(upload)?;
                println!("upload: {}", target.describe());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { config, json } => status(&load_config(&config)?, json),
        Command::Selftest { json } => selftest(json),
        Command::Update { now, config, .. } => update::update(&load_config(&config)?, now),
        Command::Backup { out, config } => backup::backup(&load_config(&config)?, &out),
        Command::Restore {
            file,
            replace,
            config,
        } => backup::restore(&load_config(&config)?, &file, replace),
        Command::Metrics { config } => backup::metrics(&load_config(&config)?),
        Command::Privacy(PrivacyCommand::Verify { config }) => {
            privacy_verify(&load_config(&config)?)
        }
        Command::Purge { now: _, config } => privacy::purge(&load_config(&config)?),
        Command::Worker(WorkerCommand::Export { config, out }) => {
            worker_export(&load_config(&config)?, &out)
        }
        Command::Worker(WorkerCommand::Delete { config, yes }) => {
            worker_delete(&Config::load(&config)?, yes)
        }
        Command::Privacy(PrivacyCommand::Report { config, json }) => {
            privacy_report(&load_config(&config)?, json)
        }
        Command::User(UserCommand::Add {
            name,
            role,
            enable,
            config,
        }) => user_add(&load_config(&config)?, &name, role.into(), enable),
        Command::Analyze {
            files,
            config,
            json,
        } => {
            let settings = match config {
                Some(path) => load_config(&path)?.analysis,
                None => dockd::analysis::Settings::default(),
            };
            analyze(&files, &settings, json)
        }
        Command::Reanalyze { config } => {
            let config = load_config(&config)?;
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

/// Reads the config file, with the control socket in systemd's runtime folder when it gave one
/// (`RUNTIME_DIRECTORY`, its first folder) and `[control] socket` is not set, and the database
/// key from systemd's credentials folder when `[privacy] database_key_credential` names one there.
fn load_config(path: &std::path::Path) -> anyhow::Result<Config> {
    let runtime = std::env::var_os("RUNTIME_DIRECTORY").and_then(|folders| {
        std::env::split_paths(&folders).find(|folder| !folder.as_os_str().is_empty())
    });
    Ok(Config::load(path)?
        .with_runtime_directory(runtime.as_deref())
        .with_credentials_directory(systemd_env().credentials_directory().as_deref()))
}

/// What systemd put in the environment (socket activation, notify socket, watchdog, credentials).
fn systemd_env() -> dockd::systemd::SystemdEnv {
    dockd::systemd::SystemdEnv::from_vars(|name| std::env::var_os(name))
}

/// `dockd prepare-key`: the database key file, made only when missing and the database is not
/// encrypted yet (`dockd::store::key::prepare_key_file`, the daemon's own rule).
fn prepare_key(config: &Config) -> anyhow::Result<ExitCode> {
    use dockd::store::key::KeyPrepared;
    let key_file = config.database_key_path();
    let database = config.database_path();
    match dockd::store::key::prepare_key_file(&database, &key_file)? {
        KeyPrepared::Existing => println!("The database key {} is there.", key_file.display()),
        KeyPrepared::Created => println!(
            "Made the database key {} (0600). Keep a copy somewhere safe: without it the database cannot be read.",
            key_file.display()
        ),
        KeyPrepared::LeftMissing => eprintln!(
            "dockd: the database {} is encrypted and its key {} is missing: no new key is made (it could not open the database). Put the key file back; until then the dock runs locked.",
            database.display(),
            key_file.display()
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// `dockd generate-docs --out DIR`: the man pages (DIR/man, one per command) and completions
/// (DIR/completions: dockd.bash, _dockd, dockd.fish), generated from this command line.
fn generate_docs(out: &std::path::Path) -> anyhow::Result<()> {
    use clap::CommandFactory;
    let man = out.join("man");
    let completions = out.join("completions");
    for folder in [&man, &completions] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    clap_mangen::generate_to(Cli::command(), &man)
        .with_context(|| format!("cannot write the man pages into {}", man.display()))?;
    for (shell, file) in [
        (clap_complete::Shell::Bash, "dockd.bash"),
        (clap_complete::Shell::Zsh, "_dockd"),
        (clap_complete::Shell::Fish, "dockd.fish"),
    ] {
        let path = completions.join(file);
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "dockd", &mut text);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Runs `command` on the running daemon through its control socket, or on the database when no
/// daemon listens (`dockd::control::client::ask`, the one place that chooses); which way it
/// went is on stderr's debug log (`RUST_LOG=debug`), and warnings are shown.
fn ask(config: &Config, command: ControlCommand) -> anyhow::Result<serde_json::Value> {
    use dockd::clock::Clock;
    init_command_tracing();
    let now_ms = SystemClock.now_ms();
    let answer = runtime()?.block_on(dockd::control::client::ask(config, command, now_ms))?;
    Ok(answer.result)
}

/// `dockd selftest`: the analysis on its reference shifts, a line each, exit 1 on a difference.
fn selftest(json: bool) -> anyhow::Result<ExitCode> {
    let outcomes = dockd::selftest::run()?;
    let (ok, said) = dockd::selftest::summary(&outcomes);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "ok": ok, "shifts": outcomes }))?
        );
    } else {
        for outcome in &outcomes {
            if outcome.ok {
                println!("ok    {}", outcome.name);
            } else {
                println!("FAIL  {}: {}", outcome.name, outcome.differences.join(", "));
            }
        }
        println!("{said}");
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Logs of a short command to stderr: warnings and errors unless `RUST_LOG` says otherwise,
/// without times.
fn init_command_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
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

fn run_daemon(config: Config, config_path: &std::path::Path) -> anyhow::Result<ExitCode> {
    use dockd::update::launcher::{self, EXIT_RESTART, Launched, Launcher};
    let env = systemd_env();
    let launched = launcher::launched_by_parent();
    loop {
        let runtime = runtime()?;
        if !launched {
            // The packaged binary chooses the version first: a confirmed or trial slot runs as
            // its child; the packaged version runs here.
            let shutdown = CancellationToken::new();
            let outcome = runtime.block_on(async {
                cancel_on_signals(shutdown.clone())?;
                let launcher = Launcher::new(&config, config_path).with_watchdog(
                    dockd::systemd::Notifier::new(env.notify_socket.as_deref()),
                    env.watchdog_every(std::process::id()),
                );
                anyhow::Ok(launcher.launch(&shutdown).await)
            })?;
            if let Launched::Exit(code) = outcome {
                runtime.shutdown_timeout(dockd::app::RUNTIME_GRACE);
                return Ok(ExitCode::from(code));
            }
            if shutdown.is_cancelled() {
                return Ok(ExitCode::SUCCESS);
            }
        }
        // systemd's sockets and watchdog name the launcher's pid when it started this version.
        let pid = if launched {
            std::os::unix::process::parent_id()
        } else {
            std::process::id()
        };
        let handed_over = env.listen_pid.is_some();
        let systemd = dockd::systemd::Handover {
            web_listener: env.take_web_listener(pid)?,
            notifier: dockd::systemd::Notifier::new(env.notify_socket.as_deref()),
            watchdog_every: env.watchdog_every(pid),
        };
        let ran = runtime.block_on(async {
            let shutdown = CancellationToken::new();
            cancel_on_signals(shutdown.clone())?;
            dockd::app::run_with(config.clone(), Arc::new(SystemClock), shutdown, systemd).await
        });
        // Blocking jobs the shutdown deadline stopped waiting for must not hold up the exit.
        runtime.shutdown_timeout(dockd::app::RUNTIME_GRACE);
        match ran? {
            dockd::app::Ended::Stopped => return Ok(ExitCode::SUCCESS),
            // The launcher above this process, or systemd (whose socket this process took and
            // closed), starts the new version.
            dockd::app::Ended::RestartForUpdate if launched || handed_over => {
                return Ok(ExitCode::from(EXIT_RESTART));
            }
            // Without either, the launcher here starts it.
            dockd::app::Ended::RestartForUpdate => continue,
        }
    }
}
