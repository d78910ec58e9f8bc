//! `dockd worker export` and `dockd worker delete`: a worker's data for the worker, or deleted for
//! good, the badge tag read from standard input (a tag on the command line would stay in `ps` and
//! the shell's history). It must never print or log the tag, nor the worker's name.
//!
//! `delete` asks for confirmation unless `--yes`: the line after the badge tag on standard input
//! must be `yes` (typed at the prompt from a terminal, or piped: `printf '%s\nyes\n' "$TAG"`);
//! anything else, or nothing, deletes nothing.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use dockd::config::Config;
use dockd::privacy::export::ExportSummary;
use dockd::worker::WorkerTag;

use super::runtime;

/// The badge tag from standard input's first line.
fn tag_from_stdin(command: &str) -> anyhow::Result<WorkerTag> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the badge tag from standard input")?;
    let text = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        !text.is_empty(),
        "no badge tag on standard input: pipe it in, e.g. `dockd worker {command} --config FILE < tag.txt`"
    );
    WorkerTag::from_ascii(text).context(
        "the line on standard input is not a badge tag (1 to 16 printable ASCII characters)",
    )
}

/// The export's progress on a terminal: a bar redrawn in place on stderr (nothing when stderr is
/// a file or a pipe).
fn progress_bar(done: u64, total: u64) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    eprint!(
        "\rSamples [{}{}] {percent:>3} % ({done} of {total})",
        "#".repeat(filled as usize),
        " ".repeat((WIDTH - filled) as usize)
    );
}

pub(super) fn worker_export(config: &Config, out: &Path) -> anyhow::Result<ExitCode> {
    use dockd::privacy::export::{ExportFolder, PART_SAMPLES, Unpacker};
    let tag = tag_from_stdin(&format!("export --out {}", out.display()))?;
    super::init_command_tracing();
    let runtime = runtime()?;
    // The running daemon reads and audits it; this command writes the files, so they are the
    // asker's. The folder is made once the daemon has found the worker.
    let unpacker: std::cell::RefCell<Option<Unpacker>> = std::cell::RefCell::new(None);
    let total = std::cell::Cell::new(0);
    let streamed = runtime.block_on(dockd::control::client::export(
        config,
        dockd::control::protocol::Secret::new(tag.badge_text()),
        &mut |start| {
            total.set(start.samples);
            *unpacker.borrow_mut() = Some(Unpacker::new(
                ExportFolder::create(out).map_err(|e| e.to_string())?,
            ));
            Ok(())
        },
        &mut |bytes| {
            let mut unpacker = unpacker.borrow_mut();
            let unpacker = unpacker
                .as_mut()
                .ok_or_else(|| "the archive came before the export began".to_owned())?;
            unpacker.push(bytes).map_err(|e| e.to_string())?;
            let total = total.get();
            progress_bar(
                (u64::from(unpacker.parts()) * PART_SAMPLES).min(total),
                total,
            );
            Ok(())
        },
    ));
    let summary: ExportSummary = match streamed {
        Ok(Some(summary)) => {
            let finished = unpacker
                .take()
                .context("the daemon sent no export")?
                .finish();
            let summary = finished
                .map_err(anyhow::Error::from)
                .and_then(|()| Ok(serde_json::from_value(summary)?));
            match summary {
                Ok(summary) => summary,
                Err(error) => return Err(broke_off(out, error)),
            }
        }
        Ok(None) => {
            // No daemon runs: read the database here, and write the audit line here too.
            let summary = runtime.block_on(dockd::privacy::export_to_folder(
                &config.existing_database()?,
                &tag,
                out,
                Box::new(progress_bar),
            ))?;
            super::ask(
                config,
                dockd::control::protocol::Command::RecordExport {
                    worker: summary.worker_id,
                    shift_reports: summary.shift_reports as u64,
                    samples: summary.samples,
                },
            )
            .context("the export is written, but its audit line could not be recorded")?;
            summary
        }
        Err(error) if unpacker.borrow().is_some() => return Err(broke_off(out, error.into())),
        Err(error) => return Err(error.into()),
    };
    if std::io::stderr().is_terminal() {
        progress_bar(summary.samples, summary.samples);
        eprintln!();
    }
    println!(
        "Exported to {} (readable only by you): {} shift reports, {} alerts, {} work restrictions, {} audit lines, {} samples (samples.csv.zst).",
        out.display(),
        summary.shift_reports,
        summary.alerts,
        summary.restrictions,
        summary.audit_lines,
        summary.samples
    );
    Ok(ExitCode::SUCCESS)
}

/// An export that broke off: the part-written folder this command made is removed, so no
/// incomplete export is mistaken for a whole one.
fn broke_off(out: &Path, error: anyhow::Error) -> anyhow::Error {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    match std::fs::remove_dir_all(out) {
        Ok(()) => error.context(format!(
            "the export broke off, so the part written to {} was removed",
            out.display()
        )),
        Err(removing) => error.context(format!(
            "the export broke off; remove the incomplete {} ({removing})",
            out.display()
        )),
    }
}

/// What a deletion leaves, said after it and before it is confirmed.
const WHAT_STAYS: &str = "What stays: the audit entry naming them by their number (never given to anyone else) and a tombstone (their keyed pseudonym, never the tag) that discards what a wearable still holds of theirs when it docks. Upload batches already committed are still sent; a deletion record follows them to the cloud.";

/// Whether the next line of standard input is `yes` (a prompt first when it is a terminal).
fn confirmed() -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Type yes to delete it for good, anything else to keep it: ");
        std::io::stderr().flush().ok();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the confirmation from standard input")?;
    Ok(line.trim() == "yes")
}

pub(super) fn worker_delete(config: &Config, yes: bool) -> anyhow::Result<ExitCode> {
    let tag = tag_from_stdin("delete")?;
    if !yes {
        eprintln!(
            "This deletes for good everything the dock holds about the worker with this badge tag (their roster entry with badge tag and name, samples, alerts, events, shift reports, work restrictions, quarantined segment bytes of their wearables, and upload items not yet in a batch). {WHAT_STAYS}"
        );
        if !confirmed()? {
            anyhow::bail!(
                "not confirmed, so nothing was deleted: put `yes` on the line after the badge tag, or pass --yes"
            );
        }
    }
    // The running daemon deletes (its writer, its pseudonym key); without one, this command does.
    let command = dockd::control::protocol::Command::WorkerDelete {
        tag: dockd::control::protocol::Secret::new(tag.badge_text()),
    };
    let deleted: dockd::store::deletion::Deleted = serde_json::from_value(
        super::ask(config, command).context("the deletion failed, so nothing was deleted")?,
    )?;
    println!("Deleted worker {} for good: {deleted}.", deleted.worker);
    println!("{WHAT_STAYS}");
    Ok(ExitCode::SUCCESS)
}
