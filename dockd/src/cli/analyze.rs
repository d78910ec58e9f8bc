//! `dockd analyze` (offline segment files) and `dockd reanalyze` (everything stored, with a
//! progress bar): both run the daemon's own analysis; they never compute a metric themselves.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use dockd::store::Reader;
use tokio_util::sync::CancellationToken;

use super::{cancel_on_signals, runtime};

pub(super) fn analyze(
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

pub(super) fn reanalyze(config: Config) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let db_path = config.database_path();
    if !db_path.exists() {
        anyhow::bail!("no database at {}: has dockd run there?", db_path.display());
    }
    runtime()?.block_on(async {
        // One writer per database: the running daemon's analyst re-analyses by itself.
        if dockd::control::client::daemon_listens(&config).await? {
            anyhow::bail!(
                "dockd is running on this data folder, and its analyst re-analyses every stored shift by itself when the analysis or its settings change (the Settings page shows the backlog); to run `dockd reanalyze` instead, stop the daemon first (systemctl stop dockd)"
            );
        }
        let shutdown = CancellationToken::new();
        cancel_on_signals(shutdown.clone())?;
        let db = config.existing_database()?;
        let conn = dockd::store::open_for_writing(&db)?;
        let spare = dockd::store::open_for_writing(&db)?;
        let (writer, thread) = dockd::store::Writer::spawn(conn, spare)?;
        let reader = Reader::open(&db)?;
        // The settings in force: the file's, overlaid by what was changed on the page.
        let site = std::sync::Arc::new(dockd::site::SiteSettings::load(
            config.analysis.clone(),
            &reader,
        )?);
        let settings = site.current();
        writer
            .set_outbox(dockd::uploader::outbox_policy(&config, &site))
            .await?;
        let keys = std::sync::Arc::new(dockd::worker::Pseudonyms::load(
            config.privacy.site_key_file.as_deref(),
            &config.storage.data_dir,
        )?);
        // A deleted worker's tombstone is checked with the key in force.
        writer.set_pseudonyms(std::sync::Arc::clone(&keys)).await?;
        // With `[upload]`, re-analysed shifts are queued again under a higher revision.
        let producer = dockd::upload::produce::Producer::from_config(
            config.upload.as_ref(),
            &config.dock.name,
            keys,
            std::sync::Arc::new(dockd::clock::SystemClock),
            site,
        );
        let started = std::time::Instant::now();
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
        let done = dockd::analyst::reanalyze_all(
            &reader,
            &writer,
            &settings,
            producer.as_ref(),
            parallel,
            &shutdown,
            |p| {
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
            },
        )
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
