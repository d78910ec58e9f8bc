//! The dock's own diagnostics tasks: GPS from gpsd and the dock's power and temperatures, stored
//! in their own tables through the writer and published live for `status`, the console and the
//! page. It owns when they run and how their records reach the store; it must never touch worker
//! or wearable data, nor block a task that records (records are queued, and dropped with an error
//! line if the store cannot keep up).
//!
//! With `[upload]`, they also queue the dock's own records for upload (`upload::produce`): a
//! `dock_diag` once per site-local clock hour from the latest power reading and the data folder's
//! figures, and a `dock_gps` for a stored fix at most once per 10 minutes, each in the same
//! writer batch as the record it came from.

use std::sync::Arc;
use std::time::Duration;

use diagnostics::gps::{GpsEvent, GpsFix, GpsSink, GpsStatus};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Writer;
use crate::store::diag::{DiagRecord, PowerRow};
use crate::upload::produce::{self, Producer};

/// Records waiting for the writer; GPS and power produce a few a minute.
const QUEUE: usize = 256;
const BATCH: usize = 64;

/// The queue every diagnostics task records into; a forwarder hands batches to the writer.
#[derive(Clone)]
pub struct DiagQueue {
    queue: mpsc::Sender<DiagRecord>,
    /// With `[upload]`: the producer, and when a GPS fix was last queued for upload.
    upload: Option<(Arc<Producer>, LastFix)>,
    /// When a `dock_diag` was last queued, as the store recorded it (the hourly rule holds across
    /// restarts: a crash-looping dock does not queue one per start).
    last_dock_diag_ms: Option<i64>,
}

/// When the dock last queued its own records for upload, read from the store at start
/// (`Reader::last_queued_at`), so their cadences hold across restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadSeeds {
    pub last_gps_ms: Option<i64>,
    pub last_dock_diag_ms: Option<i64>,
}

/// When a GPS fix was last queued for upload, shared by the queue's clones.
type LastFix = Arc<std::sync::Mutex<Option<i64>>>;

impl DiagQueue {
    /// The queue, and the task that forwards it to `writer` until `shutdown` (then it stores what
    /// is queued and ends).
    pub fn spawn(
        writer: Writer,
        producer: Option<Arc<Producer>>,
        seeds: UploadSeeds,
        shutdown: CancellationToken,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (queue, records) = mpsc::channel(QUEUE);
        let forwarder = crate::store::queue::forward_batches(
            records,
            BATCH,
            "diagnostics records",
            shutdown,
            move |batch| {
                let writer = writer.clone();
                async move { writer.diag(batch).await }
            },
        );
        let upload = producer.map(|p| (p, Arc::new(std::sync::Mutex::new(seeds.last_gps_ms))));
        (
            Self {
                queue,
                upload,
                last_dock_diag_ms: seeds.last_dock_diag_ms,
            },
            forwarder,
        )
    }

    /// Queues `record` for upload (nothing without `[upload]`).
    fn push_upload(&self, producer: &Producer, record: &crate::upload::Record) {
        match producer.item(record) {
            Ok(item) => self.push(DiagRecord::Upload(item)),
            Err(error) => {
                tracing::warn!(error = %error, "A dock record cannot be queued for upload.");
            }
        }
    }

    /// The GPS fix for upload, if one is due (at most one per [`produce::GPS_EVERY_MS`]).
    fn upload_fix(&self, fix: &GpsFix) {
        let Some((producer, last)) = &self.upload else {
            return;
        };
        let due = match last.lock() {
            Ok(mut last) => {
                let due = produce::gps_due(*last, fix.at_ms);
                if due {
                    *last = Some(fix.at_ms);
                }
                due
            }
            Err(_) => false,
        };
        if due {
            let record = produce::dock_gps(&producer.origin, &producer.time_zone(), fix);
            self.push_upload(producer, &record);
        }
    }

    fn push(&self, record: DiagRecord) {
        match self.queue.try_send(record) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::error!("The diagnostics queue is full: a diagnostics record is lost.");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

impl GpsSink for DiagQueue {
    fn record_fix(&self, fix: GpsFix) {
        self.upload_fix(&fix);
        self.push(DiagRecord::GpsFix(fix));
    }

    fn record_event(&self, at_ms: i64, event: GpsEvent) {
        let detail = serde_json::to_string(&event).unwrap_or_default();
        self.push(DiagRecord::GpsEvent {
            at_ms,
            kind: event.kind().to_owned(),
            detail,
        });
    }
}

/// Live diagnostics for `status`, the console and the page.
#[derive(Clone)]
pub struct DiagLive {
    pub gps: watch::Receiver<GpsStatus>,
    /// `None` until the first reading.
    pub power: watch::Receiver<Option<diagnostics::power::DockPower>>,
}

/// Starts the GPS task (when `[gps] gpsd` is set) and the power task on `tasks`.
pub fn spawn(
    config: &Config,
    queue: &DiagQueue,
    clock: Arc<dyn Clock>,
    tasks: &TaskTracker,
    shutdown: &CancellationToken,
) -> DiagLive {
    let (gps_tx, gps) = watch::channel(GpsStatus::default());
    match &config.gps.gpsd {
        Some(addr) => {
            let gps_config = diagnostics::gps::GpsConfig {
                addr: addr.clone(),
                interval: Duration::from_secs(config.gps.interval_s),
                ..diagnostics::gps::GpsConfig::default()
            };
            let sink: Arc<dyn GpsSink> = Arc::new(queue.clone());
            let clock = Arc::clone(&clock);
            tasks.spawn(diagnostics::gps::run(
                gps_config,
                sink,
                gps_tx,
                move || clock.now_ms(),
                shutdown.clone(),
            ));
        }
        None => {
            tracing::info!("No [gps] gpsd configured: this dock records no position.");
            gps_tx.send_modify(|status| {
                status.problem = Some("no GPS configured ([gps] gpsd)".to_owned());
            });
        }
    }
    let (power_tx, power) = watch::channel(None);
    tasks.spawn(power_task(
        DockFiles {
            data_dir: config.storage.data_dir.clone(),
            database: config.database_path(),
        },
        config.power.sysfs_root.clone(),
        Duration::from_secs(config.power.interval_s),
        queue.clone(),
        clock,
        power_tx,
        shutdown.clone(),
    ));
    DiagLive { gps, power }
}

/// Reads the dock's power supplies and thermal zones every `every` (and at start), stores a
/// sample, and publishes the latest reading. A change of mains or of the summary is stored at
/// once at the next reading even between samples.
async fn power_task(
    files: DockFiles,
    sysfs_root: std::path::PathBuf,
    every: Duration,
    queue: DiagQueue,
    clock: Arc<dyn Clock>,
    live: watch::Sender<Option<diagnostics::power::DockPower>>,
    shutdown: CancellationToken,
) {
    // Read often enough to notice mains going away within a minute; store every `every`.
    let look = every.min(Duration::from_secs(30));
    let mut last_stored: Option<(i64, String)> = None;
    let mut hourly = match (&queue.upload, queue.last_dock_diag_ms) {
        (Some((producer, _)), Some(at_ms)) => produce::Hourly::after(&producer.time_zone(), at_ms),
        _ => produce::Hourly::default(),
    };
    loop {
        let root = sysfs_root.clone();
        match tokio::task::spawn_blocking(move || diagnostics::power::read_power(&root)).await {
            Ok(reading) => {
                let now = clock.now_ms();
                let changed = last_stored
                    .as_ref()
                    .is_some_and(|(_, summary)| *summary != reading.summary);
                let due = changed
                    || last_stored.as_ref().is_none_or(|(at, _)| {
                        now - at >= i64::try_from(every.as_millis()).unwrap_or(i64::MAX)
                    });
                if changed {
                    tracing::info!(power = %reading.summary, "The dock's power changed.");
                }
                if due {
                    queue.push(DiagRecord::DockPower(power_row(now, &reading)));
                    last_stored = Some((now, reading.summary.clone()));
                }
                if let Some((producer, _)) = &queue.upload
                    && hourly.due(&producer.time_zone(), now)
                {
                    let figures = dock_figures(&files, now, &reading).await;
                    let record = produce::dock_diag(
                        &producer.origin,
                        now,
                        &producer.time_zone(),
                        crate::version::text(),
                        &figures,
                    );
                    queue.push_upload(producer, &record);
                }
                live.send_replace(Some(reading));
            }
            // A reading that panicked: the next look tries again.
            Err(error) => tracing::warn!(error = %error, "Reading the dock's power failed."),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(look) => {}
        }
    }
}

/// Where the dock keeps its data, for the disk figures of a `dock_diag`.
struct DockFiles {
    data_dir: std::path::PathBuf,
    database: std::path::PathBuf,
}

/// The dock's figures at `at_ms`: the power reading's, the data folder's file system and the
/// database's size (read off the runtime).
async fn dock_figures(
    files: &DockFiles,
    at_ms: i64,
    reading: &diagnostics::power::DockPower,
) -> produce::DockFigures {
    let row = power_row(at_ms, reading);
    let (dir, db) = (files.data_dir.clone(), files.database.clone());
    let disk = tokio::task::spawn_blocking(move || {
        (
            diagnostics::host::disk_usage(&dir),
            diagnostics::host::database_bytes(&db),
        )
    })
    .await
    .unwrap_or((None, None));
    produce::DockFigures {
        mains_online: row.mains_online,
        battery_pct: row.battery_pct,
        max_temp_c: row.max_temp_c,
        disk_total_bytes: disk.0.as_ref().map(|d| d.total_bytes),
        disk_available_bytes: disk.0.as_ref().map(|d| d.available_bytes),
        database_bytes: disk.1,
    }
}

fn power_row(at_ms: i64, reading: &diagnostics::power::DockPower) -> PowerRow {
    PowerRow {
        at_ms,
        mains_online: reading.mains_online,
        battery_pct: reading.batteries.iter().find_map(|b| b.capacity_pct),
        max_temp_c: reading
            .thermal
            .iter()
            .filter_map(|zone| zone.temp_c)
            .fold(None, |hottest: Option<f64>, t| {
                Some(hottest.map_or(t, |h| h.max(t)))
            }),
        reading: serde_json::to_string(reading).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn producer() -> Arc<Producer> {
        Arc::new(Producer {
            origin: produce::Origin {
                site: "plant-7".into(),
                dock: "dock-a".into(),
            },
            keys: Arc::new(crate::worker::Pseudonyms::from_key([7; 32])),
            raw_samples: false,
            clock: Arc::new(crate::clock::SystemClock),
            site: Arc::new(crate::site::SiteSettings::fixed(
                crate::analysis::Settings::default(),
            )),
        })
    }

    fn fix(at_ms: i64) -> GpsFix {
        GpsFix {
            at_ms,
            gps_time_ms: None,
            mode: 3,
            lat: Some(52.52),
            lon: Some(13.4),
            alt_m: None,
            satellites_used: Some(7),
            satellites_seen: None,
            hdop: None,
            eph: None,
        }
    }

    fn queue(upload: Option<Arc<Producer>>) -> (DiagQueue, mpsc::Receiver<DiagRecord>) {
        seeded(upload, None)
    }

    /// A queue as after a restart whose store says a fix was last queued at `last_gps_ms`.
    fn seeded(
        upload: Option<Arc<Producer>>,
        last_gps_ms: Option<i64>,
    ) -> (DiagQueue, mpsc::Receiver<DiagRecord>) {
        let (queue, records) = mpsc::channel(QUEUE);
        let upload = upload.map(|p| (p, Arc::new(std::sync::Mutex::new(last_gps_ms))));
        let queue = DiagQueue {
            queue,
            upload,
            last_dock_diag_ms: None,
        };
        (queue, records)
    }

    fn drain(records: &mut mpsc::Receiver<DiagRecord>) -> (usize, Vec<crate::upload::Item>) {
        let (mut fixes, mut uploads) = (0, Vec::new());
        while let Ok(record) = records.try_recv() {
            match record {
                DiagRecord::GpsFix(_) => fixes += 1,
                DiagRecord::Upload(item) => uploads.push(item),
                _ => {}
            }
        }
        (fixes, uploads)
    }

    #[test]
    fn every_fix_is_stored_and_one_per_ten_minutes_is_queued_for_upload_as_dock_gps() {
        let (queue, mut records) = queue(Some(producer()));
        let t0 = 1_772_460_300_000;
        for k in 0..21 {
            // A fix every 30 s for 10 minutes.
            queue.record_fix(fix(t0 + k * 30_000));
        }
        let (fixes, uploads) = drain(&mut records);
        assert_eq!(fixes, 21);
        let at: Vec<String> = uploads.iter().map(|i| i.key.clone()).collect();
        assert_eq!(
            at,
            [
                format!("dock_gps:plant-7:dock-a:{t0}"),
                format!("dock_gps:plant-7:dock-a:{}", t0 + 600_000),
            ]
        );
        assert!(
            uploads
                .iter()
                .all(|i| i.kind == crate::upload::Kind::DockGps)
        );
    }

    #[test]
    fn after_a_restart_the_ten_minutes_count_from_the_fix_the_store_last_queued() {
        let t0 = 1_772_460_300_000;
        let (queue, mut records) = seeded(Some(producer()), Some(t0));
        queue.record_fix(fix(t0 + 60_000));
        queue.record_fix(fix(t0 + 600_000));
        let (fixes, uploads) = drain(&mut records);
        assert_eq!(fixes, 2);
        let at: Vec<String> = uploads.iter().map(|i| i.key.clone()).collect();
        assert_eq!(at, [format!("dock_gps:plant-7:dock-a:{}", t0 + 600_000)]);
    }

    #[test]
    fn without_upload_no_fix_is_queued_for_upload() {
        let (queue, mut records) = queue(None);
        queue.record_fix(fix(1_772_460_300_000));
        let (fixes, uploads) = drain(&mut records);
        assert_eq!((fixes, uploads.len()), (1, 0));
    }
}
