//! `dockd worker export`: a worker's data for the worker, the badge tag read from standard input
//! (a tag on the command line would stay in `ps` and the shell's history). It must never print or
//! log the tag, nor the worker's name.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use dockd::worker::WorkerTag;

use super::runtime;

/// The badge tag from standard input's first line.
fn tag_from_stdin(command: &str) -> anyhow::Result<WorkerTag> {
    let mut line = String::new();
    std::io::stdin()
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

pub(super) fn worker_export(config: &Config, out: &Path) -> anyhow::Result<ExitCode> {
    let tag = tag_from_stdin(&format!("export --out {}", out.display()))?;
    let summary = runtime()?.block_on(dockd::privacy::export_audited(
        &config.existing_database()?,
        &tag,
        out,
        SystemClock.now_ms(),
    ))?;
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
