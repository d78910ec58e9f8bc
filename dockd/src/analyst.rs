//! The analyst: runs the risk analysis over stored data and keeps the shift reports current. After
//! pulls it analyses each wearable's new segments (when the dock is idle); when the analysis
//! version or settings changed it re-analyses everything; `dockd reanalyze` and `dockd analyze`
//! call the same functions. It owns *when* and *over what span* analysis runs; it must never
//! compute a metric itself (that is `analysis`) nor write except through the store's `Writer`.
//!
//! With `[upload]`, every batch of reports it stores carries the upload items built from them
//! (`upload::produce`: shift summaries, alerts, the touched days' task and team aggregates), queued
//! in the same transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use crate::analysis::{self, Measured, Recording, Settings, ShiftReport, risk};
use crate::store::reports::{Backlog, NewShiftReport, ReportBatch, UploadPseudonym};
use crate::store::{Reader, StoreError, Writer};
use crate::upload::produce::{self, Producer, Pseudonym};
use crate::worker::WorkerTag;

/// How long the dock must be free of pulls before analysis starts (pulls come first).
const QUIET: Duration = Duration::from_secs(2);
/// How often the analyst looks for work when nothing woke it.
const IDLE_CHECK: Duration = Duration::from_secs(30);
/// Samples loaded per chunk: about 8 hours at 25 Hz, ≈ 6 MB decoded.
const CHUNK_SAMPLES: usize = 720_000;
/// The site baseline looks back this far.
const BASELINE_DAYS: i64 = 28;

/// Why analysis could not run.
#[derive(Debug, thiserror::Error)]
pub enum AnalystError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shifts(#[from] analysis::shifts::ShiftError),
    #[error("a stored report cannot be read back: {0}")]
    Report(#[from] serde_json::Error),
    #[error("the analysis task failed: {0}")]
    Task(String),
}

/// Work done, for progress bars and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub wearables_done: usize,
    pub wearables_total: usize,
    pub shifts: usize,
}

/// Runs until `cancel`: analyses new segments whenever the dock has been idle for [`QUIET`], and
/// re-analyses everything once if stored reports came from another version or other settings
/// (checked again whenever the settings in force change: Settings page, roster).
pub async fn run(
    reader: Reader,
    writer: Writer,
    site: Arc<crate::site::SiteSettings>,
    producer: Option<Arc<Producer>>,
    cpu: Arc<Semaphore>,
    mut busy: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    let mut changes = site.subscribe();
    // The fingerprint whose stored reports were last checked for being out of date.
    let mut checked: Option<String> = None;
    loop {
        if !wait_quiet(&mut busy, &cancel).await {
            return;
        }
        let _permit = tokio::select! {
            permit = cpu.acquire() => match permit { Ok(p) => p, Err(_) => return },
            _ = cancel.cancelled() => return,
        };
        changes.borrow_and_update();
        let settings = site.current();
        let fingerprint = settings.fingerprint();
        if checked.as_deref() != Some(fingerprint.as_str()) {
            checked = Some(fingerprint.clone());
            let outdated = {
                let (reader, fp) = (reader.clone(), fingerprint.clone());
                blocking(move || Ok(reader.reports_outdated(analysis::ANALYSIS_VERSION, &fp)?))
                    .await
            };
            match outdated {
                Ok(true) => {
                    tracing::info!(
                        "Analysis settings or version changed: re-analysing stored data in the background."
                    );
                    if let Err(error) = reanalyze_all(
                        &reader,
                        &writer,
                        &settings,
                        producer.as_ref(),
                        1,
                        &cancel,
                        |_| {},
                    )
                    .await
                    {
                        tracing::warn!(error = %error, "Re-analysis stopped; it resumes at the next start.");
                    }
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(error = %error, "Cannot check stored reports."),
            }
        }
        match analyse_backlog(&reader, &writer, &settings, producer.as_ref(), &cancel).await {
            Ok(0) => {}
            Ok(shifts) => tracing::info!(shifts, "Analysed new data."),
            Err(error) => tracing::warn!(error = %error, "Analysis failed; retrying later."),
        }
        drop(_permit);
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = busy.changed() => {}
            _ = changes.changed() => {}
            _ = tokio::time::sleep(IDLE_CHECK) => {}
        }
    }
}

/// Waits until no pull has run for [`QUIET`]; false when cancelled.
async fn wait_quiet(busy: &mut watch::Receiver<bool>, cancel: &CancellationToken) -> bool {
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        if *busy.borrow_and_update() {
            tokio::select! {
                _ = cancel.cancelled() => return false,
                changed = busy.changed() => if changed.is_err() { return false },
            }
            continue;
        }
        tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = tokio::time::sleep(QUIET) => {
                if !*busy.borrow() { return true; }
            }
            changed = busy.changed() => if changed.is_err() { return false },
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AnalystError> + Send + 'static,
) -> Result<T, AnalystError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AnalystError::Task(e.to_string()))?
}

/// Analyses every wearable's segments not analysed yet; returns the shifts written.
pub async fn analyse_backlog(
    reader: &Reader,
    writer: &Writer,
    settings: &Arc<Settings>,
    producer: Option<&Arc<Producer>>,
    cancel: &CancellationToken,
) -> Result<usize, AnalystError> {
    let backlog = {
        let reader = reader.clone();
        blocking(move || Ok(reader.analysis_backlog()?)).await?
    };
    let mut shifts = 0;
    for item in backlog {
        if cancel.is_cancelled() {
            break;
        }
        shifts += analyse_span(reader, writer, settings, producer, item).await?;
    }
    Ok(shifts)
}

/// Re-analyses everything stored, up to `parallel` wearables at a time, calling `progress` after
/// each wearable.
pub async fn reanalyze_all(
    reader: &Reader,
    writer: &Writer,
    settings: &Arc<Settings>,
    producer: Option<&Arc<Producer>>,
    parallel: usize,
    cancel: &CancellationToken,
    mut progress: impl FnMut(Progress),
) -> Result<Progress, AnalystError> {
    let wearables = {
        let reader = reader.clone();
        blocking(move || Ok(reader.analysed_wearables()?)).await?
    };
    let mut done = Progress {
        wearables_total: wearables.len(),
        ..Progress::default()
    };
    progress(done);
    let mut queue = wearables.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < parallel.max(1) && !cancel.is_cancelled() {
            let Some(item) = queue.next() else { break };
            let (reader, writer, settings) = (reader.clone(), writer.clone(), Arc::clone(settings));
            let producer = producer.cloned();
            running.spawn(async move {
                analyse_span(&reader, &writer, &settings, producer.as_ref(), item).await
            });
        }
        let Some(finished) = running.join_next().await else {
            break;
        };
        done.shifts += finished.map_err(|e| AnalystError::Task(e.to_string()))??;
        done.wearables_done += 1;
        progress(done);
    }
    Ok(done)
}

/// Re-analyses one wearable over the span of its new data, widened by a wear gap on both sides
/// and to whole stored shifts, and replaces the reports over that span in one transaction.
async fn analyse_span(
    reader: &Reader,
    writer: &Writer,
    settings: &Arc<Settings>,
    producer: Option<&Arc<Producer>>,
    item: Backlog,
) -> Result<usize, AnalystError> {
    let gap_ms = i64::from(settings.max_gap_s) * 1000;
    let Some((lo, hi)) = item.span else {
        // Only unknown-time data arrived: nothing to place on a day, but it is seen.
        writer
            .replace_reports(ReportBatch {
                wearable_id: item.wearable_id,
                lo_ms: 0,
                hi_ms: 0,
                last_segment_id: Some(item.last_segment_id),
                reports: Vec::new(),
                outbox: Vec::new(),
                pseudonyms: Vec::new(),
            })
            .await?;
        return Ok(0);
    };
    let (reader2, settings2) = (reader.clone(), Arc::clone(settings));
    let producer = producer.cloned();
    let batch = blocking(move || {
        let (lo, hi) = reader2.report_extent(item.wearable_id, lo - gap_ms, hi + gap_ms)?;
        let site = site_baseline(&reader2, hi)?;
        let fingerprint = settings2.fingerprint();
        let mut reports = Vec::new();
        let mut failure = None;
        reader2.for_each_recording(item.wearable_id, (lo, hi), gap_ms, CHUNK_SAMPLES, |rec| {
            match analysis::measure(&rec, &settings2) {
                Ok((measured, _unknown)) => {
                    reports.extend(
                        measured
                            .iter()
                            .map(|m| stored(m, &site, &settings2, &fingerprint)),
                    );
                }
                Err(error) => failure = Some(error),
            }
            Ok(())
        })?;
        if let Some(error) = failure {
            return Err(error.into());
        }
        let (outbox, pseudonyms) = match &producer {
            Some(producer) => {
                let span = Span {
                    wearable_id: item.wearable_id,
                    serial: &item.serial,
                    lo_ms: lo,
                    hi_ms: hi,
                };
                outbox_of(&reader2, producer, &settings2, &span, &reports)?
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(ReportBatch {
            wearable_id: item.wearable_id,
            lo_ms: lo,
            hi_ms: hi,
            last_segment_id: Some(item.last_segment_id),
            reports: reports.into_iter().map(|(stored, _)| stored).collect(),
            outbox,
            pseudonyms,
        })
    })
    .await?;
    let shifts = batch.reports.len();
    writer.replace_reports(batch).await?;
    Ok(shifts)
}

/// The report of `measured`, as stored and as analysed.
fn stored(
    measured: &Measured,
    site: &risk::SiteBaseline,
    settings: &Settings,
    fingerprint: &str,
) -> (NewShiftReport, ShiftReport) {
    let report = analysis::report(measured, site, settings);
    let stored = NewShiftReport {
        worker: measured.worker,
        start_ms: report.start_ms,
        end_ms: report.end_ms,
        local_day: report.local_day.clone(),
        risk_level: level_name(report.risk_level).to_owned(),
        version: report.version,
        settings: fingerprint.to_owned(),
        report: serde_json::to_string(&report).unwrap_or_default(),
    };
    (stored, report)
}

/// The wearable and span whose reports a batch replaces.
struct Span<'a> {
    wearable_id: i64,
    serial: &'a str,
    lo_ms: i64,
    hi_ms: i64,
}

/// The upload items of a batch of reports replacing `span` (module docs of `upload::produce`):
/// each roster worker's shift summary and alerts, and the task and team aggregates of every
/// site-local day the span touches, each under the revision rule.
fn outbox_of(
    reader: &Reader,
    producer: &Producer,
    settings: &Settings,
    span: &Span<'_>,
    reports: &[(NewShiftReport, ShiftReport)],
) -> Result<(Vec<crate::upload::Item>, Vec<UploadPseudonym>), AnalystError> {
    let tz = analysis::shifts::time_zone(&settings.shift_rules())?;
    let origin = &producer.origin;
    // Roster workers who have not opted out, by tag: only they are uploaded.
    let roster: HashMap<WorkerTag, i64> = reader
        .workers()?
        .into_iter()
        .filter(|w| w.opted_out_ms.is_none())
        .map(|w| (w.tag, w.id))
        .collect();
    let alerts = reader.placed_alerts(span.wearable_id, span.lo_ms, span.hi_ms)?;
    let mut candidates = Vec::new();
    let mut named: Vec<UploadPseudonym> = Vec::new();
    for (stored, report) in reports {
        let Some(tag) = stored.worker.filter(|t| roster.contains_key(t)) else {
            continue;
        };
        let who = Pseudonym::of(&producer.keys, &tag);
        if !named.iter().any(|n| n.worker == tag) {
            named.push(UploadPseudonym {
                worker: tag,
                key_id: who.key_id.clone(),
                pseudonym: who.worker.clone(),
            });
        }
        candidates.push(produce::shift_summary(origin, span.serial, &who, report, 1));
        let of_shift = alerts.iter().filter(|a| {
            a.alert.worker == Some(tag)
                && a.alert
                    .wall_ms
                    .is_some_and(|t| t >= report.start_ms && t < report.end_ms)
        });
        for placed in of_shift {
            let place = produce::AlertPlace {
                segment_no: placed.segment_no,
                index: placed.index,
            };
            candidates.push(produce::alert(
                origin,
                span.serial,
                &who,
                place,
                &tz,
                &placed.alert,
            ));
        }
    }
    if producer.raw_samples {
        candidates.extend(raw_samples(reader, producer, &tz, span, reports, &roster)?);
    }
    let replaced = Replaced {
        span,
        reports,
        roster: &roster,
    };
    candidates.extend(day_aggregates(reader, producer, settings, &tz, &replaced)?);
    let keys: Vec<String> = candidates.iter().map(|r| r.key().to_owned()).collect();
    let priors = reader
        .upload_revisions(&keys)?
        .into_iter()
        .map(|(key, r)| {
            let prior = produce::Prior {
                revision: r.revision,
                digest: r.digest,
            };
            (key, prior)
        })
        .collect();
    let items = produce::queue(candidates, &priors, producer.clock.now_ms())?;
    Ok((items, named))
}

/// With `[upload] raw_samples`: one record per stored sample block of the batch's shifts, named by
/// the worker's pseudonym when a roster worker (not opted out) wore it.
fn raw_samples(
    reader: &Reader,
    producer: &Producer,
    tz: &jiff::tz::TimeZone,
    span: &Span<'_>,
    reports: &[(NewShiftReport, ShiftReport)],
    roster: &HashMap<WorkerTag, i64>,
) -> Result<Vec<crate::upload::Record>, AnalystError> {
    let mut records = Vec::new();
    for (stored, report) in reports {
        let who = match stored.worker {
            Some(tag) if roster.contains_key(&tag) => Some(Pseudonym::of(&producer.keys, &tag)),
            // A worker who opted out: never uploaded.
            Some(_) => continue,
            None => None,
        };
        for placed in reader.placed_blocks(span.wearable_id, report.start_ms, report.end_ms)? {
            let block = &placed.block_data;
            if block.worker != stored.worker {
                continue;
            }
            let place = produce::BlockPlace {
                segment_no: placed.segment_no,
                block: placed.block,
                start_ms: block.wall_ms,
                rate_hz: block.rate_hz,
            };
            records.push(produce::raw_samples(
                &producer.origin,
                span.serial,
                who.as_ref(),
                place,
                tz,
                &block.samples,
            ));
        }
    }
    Ok(records)
}

/// A batch's new reports and the span they replace, with the roster they are named by.
struct Replaced<'a> {
    span: &'a Span<'a>,
    reports: &'a [(NewShiftReport, ShiftReport)],
    roster: &'a HashMap<WorkerTag, i64>,
}

/// The task and team aggregates of the site-local days of `reports` and of the reports they
/// replace: the stored reports of those days, less the replaced ones, plus the new ones.
fn day_aggregates(
    reader: &Reader,
    producer: &Producer,
    settings: &Settings,
    tz: &jiff::tz::TimeZone,
    replaced: &Replaced<'_>,
) -> Result<Vec<crate::upload::Record>, AnalystError> {
    let Replaced {
        span,
        reports,
        roster,
    } = replaced;
    let (Some(from), Some(to)) = (
        analysis::shifts::local_day(tz, span.lo_ms),
        analysis::shifts::local_day(tz, span.hi_ms),
    ) else {
        return Ok(Vec::new());
    };
    let teams = settings.teams_by_tag();
    let team_of = |tag: Option<&WorkerTag>| tag.and_then(|t| teams.get(t).cloned());
    let mut rows: Vec<(i64, Option<String>, ShiftReport)> = Vec::new();
    for stored in reader.day_reports(&from, &to)? {
        let replaced = stored.wearable_id == span.wearable_id
            && stored.start_ms < span.hi_ms
            && stored.end_ms > span.lo_ms;
        if replaced {
            continue;
        }
        let report: ShiftReport = serde_json::from_str(&stored.report)?;
        rows.push((stored.worker_id, team_of(stored.tag.as_ref()), report));
    }
    for (stored, report) in reports.iter() {
        let Some((tag, id)) = stored
            .worker
            .and_then(|t| roster.get(&t).map(|id| (t, *id)))
        else {
            continue;
        };
        rows.push((id, team_of(Some(&tag)), report.clone()));
    }
    let days = produce::members_by_day(&rows);
    Ok(days
        .iter()
        .flat_map(|(day, members)| {
            produce::group_aggregates(&producer.origin, day, members, settings.min_group_workers)
        })
        .collect())
}

/// The stored name of a risk level (the `risk_level` column).
pub fn level_name(level: risk::RiskLevel) -> &'static str {
    match level {
        risk::RiskLevel::Low => "low",
        risk::RiskLevel::Medium => "medium",
        risk::RiskLevel::High => "high",
    }
}

/// The site's baseline from the reports of the [`BASELINE_DAYS`] before `until_ms`.
fn site_baseline(reader: &Reader, until_ms: i64) -> Result<risk::SiteBaseline, AnalystError> {
    let from = until_ms - BASELINE_DAYS * 86_400_000;
    let stored = reader.reports_between(from, until_ms)?;
    let reports: Vec<ShiftReport> = stored
        .iter()
        .filter_map(|r| serde_json::from_str(&r.report).ok())
        .collect();
    Ok(risk::baseline(&reports.iter().collect::<Vec<_>>()))
}

/// Why segment files could not be read for offline analysis.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("{file}: not a readable segment: {reason}")]
    Segment { file: String, reason: String },
}

/// Turns raw segment files (the bytes READ returns) into a recording, placing records in time with
/// the segments' own anchors only (header clock, CLOCK records): offline there is no docking to
/// anchor a flat-battery boot, so such data counts as unknown time. `now_ms` bounds plausible
/// times. Sample blocks are built exactly as the store builds them.
pub fn offline_recording(
    files: &[(String, Vec<u8>)],
    now_ms: i64,
) -> Result<(Recording, analysis::shifts::UnknownTime), OfflineError> {
    let no_docking = crate::link::DockingClock {
        boot_count: u32::MAX,
        device_ms: 0,
        clock_valid: false,
        dock_wall_ms: now_ms,
    };
    let mut recording = Recording::default();
    let mut unknown = analysis::shifts::UnknownTime::default();
    for (name, bytes) in files {
        let bad = |reason: String| OfflineError::Segment {
            file: name.clone(),
            reason,
        };
        let segment = crate::link::parse_segment(bytes).map_err(|e| bad(e.to_string()))?;
        let key = crate::store::SegmentKey {
            serial: String::new(),
            segment_no: segment.header.segment_id,
            size: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            crc: crc32c::crc32c(bytes),
        };
        let rows = crate::ingest::segment_rows(key, 0, &segment, &no_docking)
            .map_err(|e| bad(e.to_string()))?;
        for block in rows.blocks {
            let samples =
                crate::store::samples::decode(block.codec, &block.data, block.count as usize)
                    .map_err(|e| bad(e.to_string()))?;
            match block.wall_ms {
                Some(_) => recording.blocks.push(analysis::TimedBlock {
                    worker: block.worker,
                    wall_ms: block.wall_ms,
                    rate_hz: block.rate_hz,
                    samples,
                }),
                None => unknown.samples += samples.len() as u64,
            }
        }
        for alert in rows.alerts {
            match alert.wall_ms {
                Some(_) => recording.alerts.push(analysis::AlertRecord {
                    worker: alert.worker,
                    wall_ms: alert.wall_ms,
                    kind: alert.kind,
                    peak: alert.peak,
                    duration_ms: alert.duration_ms,
                    response_ms: alert.response_ms,
                    haptic: alert.haptic,
                }),
                None => unknown.alerts += 1,
            }
        }
    }
    recording.blocks.sort_by_key(|b| b.wall_ms);
    recording.alerts.sort_by_key(|a| a.wall_ms);
    Ok((recording, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::risk::tests::{deep, exposure, metrics, report};
    use crate::store::roster::RosterChange;
    use crate::store::segments::{AlertRow, BlockRow, NewSegment, SegmentKey};
    use crate::store::testing::Scratch;
    use crate::upload::{Kind, Record};
    use crate::worker::Pseudonyms;
    use serde_json::Value;

    const DAY: &str = "2025-03-03";
    /// 2025-03-03 08:00 UTC.
    const START: i64 = 1_740_988_800_000;

    fn tag(text: &str) -> WorkerTag {
        WorkerTag::from_ascii(text).unwrap()
    }

    fn producer() -> Producer {
        Producer {
            origin: produce::Origin {
                site: "plant-7".into(),
                dock: "dock-a".into(),
            },
            keys: Arc::new(Pseudonyms::from_key([7; 32])),
            raw_samples: false,
            clock: Arc::new(crate::clock::SystemClock),
            site: Arc::new(crate::site::SiteSettings::fixed(Settings::default())),
        }
    }

    fn alert_at(worker: &str, wall_ms: i64) -> AlertRow {
        AlertRow {
            worker: Some(tag(worker)),
            t_ms: 10,
            wall_ms: Some(wall_ms),
            kind: 1,
            peak: 5000,
            duration_ms: 1200,
            response_ms: None,
            haptic: true,
        }
    }

    fn block(worker: &str, t_ms: u32, wall_ms: i64) -> BlockRow {
        BlockRow {
            worker: Some(tag(worker)),
            t_ms,
            wall_ms: Some(wall_ms),
            rate_hz: 25,
            count: 100,
            codec: 0,
            data: vec![0; 800],
        }
    }

    /// A shift of `worker` (`None`: no worker) over the first 8 hours of [`DAY`].
    fn shift(worker: Option<&str>) -> (NewShiftReport, ShiftReport) {
        let mut analysed = report(DAY, metrics(8.0, deep(40)), exposure(Vec::new(), None));
        analysed.start_ms = START;
        analysed.end_ms = START + 8 * 3_600_000;
        let stored = NewShiftReport {
            worker: worker.map(tag),
            start_ms: analysed.start_ms,
            end_ms: analysed.end_ms,
            local_day: DAY.into(),
            risk_level: level_name(analysed.risk_level).into(),
            version: analysed.version,
            settings: "s".into(),
            report: serde_json::to_string(&analysed).unwrap(),
        };
        (stored, analysed)
    }

    /// A store where "B-IN" and "B-OUT" (opted out) each raised two alerts during the shift
    /// and one after it, on wearable "KW-1"; returns the wearable's id.
    async fn store_with_alerts(store: &Scratch) -> i64 {
        let docking = store.docking("KW-1", START + 9 * 3_600_000).await;
        let alerts = ["B-IN", "B-OUT", "B-IN", "B-OUT", "B-IN", "B-OUT"]
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let at = if i < 4 {
                    START + 60_000 * i as i64
                } else {
                    START + 9 * 3_600_000
                };
                alert_at(w, at)
            })
            .collect();
        let segment = NewSegment {
            key: SegmentKey {
                serial: "KW-1".into(),
                segment_no: 4,
                size: 100,
                crc: 7,
            },
            docking_id: docking,
            rate_hz: 25,
            samples: 300,
            blocks: vec![
                block("B-IN", 0, START),
                block("B-OUT", 4_000, START + 4_000),
                block("B-IN", 8_000, START + 8_000),
            ],
            alerts,
            ..NewSegment::default()
        };
        store.writer.store_segment(segment).await.unwrap();
        let out = store
            .reader
            .workers()
            .unwrap()
            .into_iter()
            .find(|w| w.tag == tag("B-OUT"))
            .unwrap()
            .id;
        store
            .roster(RosterChange::OptOut {
                id: out,
                opted_out_ms: Some(START),
            })
            .await
            .unwrap();
        store.number("SELECT id FROM wearable")
    }

    fn span(wearable_id: i64) -> Span<'static> {
        Span {
            wearable_id,
            serial: "KW-1",
            lo_ms: START - 3_600_000,
            hi_ms: START + 10 * 3_600_000,
        }
    }

    /// The outbox of a batch of `reports` replacing [`span`] of `wearable`.
    fn batch_outbox(
        store: &Scratch,
        producer: &Producer,
        wearable: i64,
        reports: &[(NewShiftReport, ShiftReport)],
    ) -> Vec<crate::upload::Item> {
        outbox_of(
            &store.reader,
            producer,
            &Settings::default(),
            &span(wearable),
            reports,
        )
        .unwrap()
        .0
    }

    fn records(items: &[crate::upload::Item]) -> Vec<Record> {
        items
            .iter()
            .map(|i| serde_json::from_slice(&i.payload).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_stored_report_batch_carries_the_summary_and_alerts_of_its_roster_worker_only() {
        let store = Scratch::new("analyst-outbox");
        let wearable = store_with_alerts(&store).await;
        let producer = producer();
        let reports = vec![shift(Some("B-IN")), shift(Some("B-OUT")), shift(None)];
        let items = batch_outbox(&store, &producer, wearable, &reports);
        let records = records(&items);
        let kinds: Vec<Kind> = records.iter().map(Record::kind).collect();
        assert_eq!(kinds, [Kind::ShiftSummary, Kind::Alert, Kind::Alert]);
        let pseudonym = producer.keys.hash(&tag("B-IN"));
        for record in &records {
            let value = serde_json::to_value(record).unwrap();
            assert_eq!(value["worker"], pseudonym.as_str());
            assert_eq!(value["wearable"], "KW-1");
        }
        let keys: Vec<&str> = records.iter().map(Record::key).collect();
        assert_eq!(
            keys,
            [
                &format!("shift:plant-7:KW-1:{START}") as &str,
                "alert:plant-7:KW-1:4:0",
                "alert:plant-7:KW-1:4:2",
            ]
        );
        let text =
            String::from_utf8(items.iter().flat_map(|i| i.payload.clone()).collect()).unwrap();
        assert!(!text.contains("B-IN") && !text.contains("B-OUT"));
        store.close();
    }

    #[tokio::test]
    async fn a_stored_report_batch_carries_the_days_aggregates_once_five_workers_worked() {
        let store = Scratch::new("analyst-outbox-aggregates");
        let wearable = store_with_alerts(&store).await;
        let producer = producer();
        let badges = ["B-1", "B-2", "B-3", "B-4", "B-5"];
        for badge in badges {
            store
                .roster(RosterChange::AddWorker {
                    tag: tag(badge),
                    display_name: None,
                    task: None,
                    team: None,
                })
                .await
                .unwrap();
        }
        let four: Vec<_> = badges[..4].iter().map(|b| shift(Some(b))).collect();
        let items = batch_outbox(&store, &producer, wearable, &four);
        assert!(
            !records(&items)
                .iter()
                .any(|r| r.kind() == Kind::TaskAggregate),
            "four workers: no aggregate"
        );
        let five: Vec<_> = badges.iter().map(|b| shift(Some(b))).collect();
        let items = batch_outbox(&store, &producer, wearable, &five);
        let aggregates: Vec<Value> = records(&items)
            .iter()
            .filter(|r| matches!(r.kind(), Kind::TaskAggregate | Kind::TeamAggregate))
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        assert_eq!(aggregates.len(), 2, "{aggregates:?}");
        for a in &aggregates {
            assert_eq!(a["workers"], 5);
            assert_eq!(a["day"], DAY);
        }
        store.close();
    }

    #[tokio::test]
    async fn raw_samples_leave_only_when_configured_and_never_for_an_opted_out_worker() {
        let store = Scratch::new("analyst-outbox-raw");
        let wearable = store_with_alerts(&store).await;
        let mut producer = producer();
        producer.raw_samples = true;
        let reports = vec![shift(Some("B-IN")), shift(Some("B-OUT"))];
        let items = batch_outbox(&store, &producer, wearable, &reports);
        let raw: Vec<Value> = records(&items)
            .iter()
            .filter(|r| r.kind() == Kind::RawSamples)
            .map(|r| serde_json::to_value(r).unwrap())
            .collect();
        let blocks: Vec<u64> = raw.iter().map(|r| r["block"].as_u64().unwrap()).collect();
        assert_eq!(blocks, [0, 2], "B-IN's two blocks, not B-OUT's");
        let pseudonym = producer.keys.hash(&tag("B-IN"));
        for r in &raw {
            assert_eq!(r["worker"], pseudonym.as_str());
            assert_eq!(r["flex"].as_array().unwrap().len(), 100);
        }
        store.close();
    }
}
