//! `dockd backup`, `dockd restore` and `dockd metrics`. The backup's passphrase is standard
//! input's first line; the backup file is written by this command (so it is its user's, 0600),
//! first under `<FILE>.partial`, checked end to end with the passphrase, then renamed. A restore
//! holds the control socket while it runs, so no daemon can start on the folder meanwhile (and
//! a running one refuses it). It must never print a passphrase or a key.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use dockd::config::Config;
use dockd::control::protocol::{Command, Secret};

/// Standard input's first line: the passphrase.
fn read_passphrase(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the passphrase from standard input")?;
    let passphrase = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !passphrase.is_empty(),
        "no passphrase on standard input: pipe it in, e.g. `{what} < passphrase.txt`"
    );
    dockd::backup::check_passphrase(&passphrase)?;
    Ok(passphrase)
}

/// `dockd backup --out FILE`.
pub(super) fn backup(config: &Config, out: &Path) -> anyhow::Result<ExitCode> {
    use dockd::clock::Clock;
    anyhow::ensure!(
        !out.exists(),
        "{} already exists: choose another name (a backup never overwrites a file)",
        out.display()
    );
    let passphrase = read_passphrase("dockd backup --out FILE --config FILE")?;
    super::init_command_tracing();
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let written = (|| {
        let mut sink = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        let route = super::runtime()?.block_on(dockd::control::stream::ask_backup(
            config,
            Secret::new(passphrase.clone()),
            dockd::clock::SystemClock.now_ms(),
            &mut sink,
        ))?;
        sink.flush()?;
        drop(sink);
        file.sync_all()?;
        // Read back end to end with the passphrase before it takes the name.
        let manifest = dockd::backup::verify(&partial, &passphrase)?;
        anyhow::Ok((route, manifest))
    })();
    let (route, manifest) = match written {
        Ok(done) => done,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error.context("no backup was written"));
        }
    };
    std::fs::rename(&partial, out)
        .with_context(|| format!("cannot name the backup {}", out.display()))?;
    if let Some(folder) = out.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::File::open(folder).and_then(|f| f.sync_all()).ok();
    }
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let rows: i64 = manifest.tables.values().sum();
    println!(
        "Backup of dock `{}` written to {} ({size} bytes, schema {}, {} tables, {rows} rows; {}), checked with the passphrase.",
        manifest.dock_name,
        out.display(),
        manifest.schema_version,
        manifest.tables.len(),
        match route {
            dockd::control::client::Route::ControlSocket => "taken by the running daemon",
            dockd::control::client::Route::Database => "no daemon was running",
        }
    );
    println!(
        "It holds the database, {}. Keep it and its passphrase apart: `dockd restore` needs both.",
        if manifest.files.is_empty() {
            "and no key or certificate of the dock's own".to_owned()
        } else {
            format!("and {}", manifest.files.join(", "))
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `dockd restore FILE [--replace]`.
pub(super) fn restore(config: &Config, file: &Path, replace: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(file.is_file(), "{} is not a file", file.display());
    let passphrase = read_passphrase("dockd restore FILE --config FILE")?;
    super::init_command_tracing();
    let runtime = super::runtime()?;
    let restored = runtime.block_on(async {
        // Holding the control socket: a running daemon refuses this, and none starts meanwhile.
        let control = dockd::control::server::listen(config)
            .await
            .context("dockd must be stopped before a restore (systemctl stop dockd)")?;
        let stop = tokio_util::sync::CancellationToken::new();
        let serving = tokio::spawn(control.serve(
            dockd::control::server::Backend::Locked(
                "a backup is being restored into this data folder (dockd restore)".to_owned(),
            ),
            stop.clone(),
        ));
        let (owned, file) = (config.clone(), file.to_owned());
        let restored = tokio::task::spawn_blocking(move || {
            dockd::backup::restore(&owned, &file, &passphrase, replace)
        })
        .await
        .context("the restore stopped");
        // Audited in the restored database itself, still before any daemon may start.
        let audited = match &restored {
            Ok(Ok(restored)) => {
                use dockd::clock::Clock;
                let line =
                    dockd::backup::restore_line(restored, dockd::clock::SystemClock.now_ms());
                let db = config.existing_database()?;
                dockd::store::with_own_writer(&db, |writer| async move {
                    writer.audit(vec![line]).await
                })
                .await
                .map_err(anyhow::Error::from)
            }
            _ => Ok(()),
        };
        stop.cancel();
        let _ = serving.await;
        drop(control);
        let restored = restored??;
        audited.context("the restore is complete, but its audit line could not be written")?;
        dockd::backup::give_database_files(config)?;
        anyhow::Ok(restored)
    })?;
    let summary = &restored.summary;
    let rows: i64 = summary.tables.values().sum();
    let made = jiff::Timestamp::from_millisecond(summary.created_ms)
        .map_or_else(|_| format!("{} ms", summary.created_ms), |t| t.to_string());
    println!(
        "Restored dock `{}` (backup made at {made}, schema {}, {rows} rows) into {}.",
        summary.dock_name,
        summary.schema_version,
        config.database_path().display()
    );
    if !summary.files.is_empty() {
        println!("Restored its own {}.", summary.files.join(", "));
    }
    if let Some(id) = &summary.pseudonym_key_id {
        println!("Pseudonym key id: {id} (workers keep their pseudonyms).");
    }
    if !restored.replaced.is_empty() {
        println!("Replaced: {}.", restored.replaced.join(", "));
    }
    if restored.made_database_key {
        println!(
            "Made a new database key: {} (0600). Keep a copy somewhere safe.",
            config.database_key_path().display()
        );
    }
    println!("Start dockd now (systemctl start dockd).");
    Ok(ExitCode::SUCCESS)
}

/// `dockd metrics`: the running daemon's figures, Prometheus text format.
pub(super) fn metrics(config: &Config) -> anyhow::Result<ExitCode> {
    let result = super::ask(config, Command::Metrics)?;
    let text = result["text"]
        .as_str()
        .context("the daemon's metrics answer has no text")?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
