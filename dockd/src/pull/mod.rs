//! One docked wearable's pull: HELLO, SET_TIME, LIST, READ every segment, check, parse, store in one
//! durable transaction, and only then ERASE; then the roster's worker (SET_WORKER) and the site's
//! alert thresholds (SET_CONFIG, confirmed by GET_CONFIG), again at every refresh while it stays
//! docked (haptics off while the roster worker is in the silent baseline, then the site's
//! suggested thresholds: `Reader::docking_orders`). It owns that order and the slot's live
//! status; it must never send ERASE for a segment the writer has not acknowledged as durably
//! stored, nor for one that failed its checks, and never log a badge tag.
//!
//! **Architecture invariant:** the only `erase` call in the daemon is in `Pull::finish_segment`,
//! after the segment's store task reported a durable commit (`Writer::store_segment` returned `Ok`).

mod client;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::analysis::nuisance::Baseline;
use crate::clock::Clock;
use crate::dock::board::{Board, Phase, Totals};
use crate::ingest;
use crate::link::{DockingClock, Info, SegmentEntry, WearableConfig, crc32c, parse_segment};
use crate::store::roster::RosterChange;
use crate::store::settings::SettingChange;
use crate::store::{
    NewDocking, QuarantinedSegment, Reader, SegmentKey, SegmentState, StoreError, StoreOutcome,
    Writer,
};
use crate::transport::Docking;
use crate::worker::WorkerTag;

pub use client::{ClientError, Idle, WearableClient};

/// What every pull shares.
#[derive(Clone)]
pub struct PullContext {
    pub writer: Writer,
    pub reader: Reader,
    pub board: Arc<Board>,
    pub clock: Arc<dyn Clock>,
    pub request_timeout: Duration,
    pub max_segment_bytes: u32,
    /// How often a wearable that stays docked has its battery re-read.
    pub refresh: Duration,
    /// Permits for CPU-bound segment conversion: one per core.
    pub cpu: Arc<Semaphore>,
    /// KiB of segment bytes that may be held between READ and commit, across all pulls: bounds the
    /// daemon's memory however many wearables dock at once.
    pub in_flight: Arc<Semaphore>,
    /// With `[upload]`: a docking's end queues the wearable's diagnostics for upload.
    pub producer: Option<Arc<crate::upload::produce::Producer>>,
    /// This version's account of itself: while it is on trial (a self-update not yet confirmed)
    /// no segment is erased, so the wearables keep everything until it is.
    pub running: Arc<crate::update::health::Running>,
}

/// The default for [`PullContext::in_flight`], in KiB.
pub const IN_FLIGHT_KIB: u32 = 16 * 1024;

/// Why a pull stopped before its wearable was done.
#[derive(Debug, thiserror::Error)]
enum PullError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("storing failed: {0}")]
    Store(#[from] StoreError),
    #[error("the USB serial number {transport} does not match the wearable's own serial {info}")]
    SerialMismatch { transport: String, info: String },
}

impl PullError {
    /// The slot's message: what happened, in plain words, and what to do.
    fn advice(&self) -> String {
        match self {
            PullError::Client(ClientError::Undocked) => {
                "The wearable was taken out during the transfer. Put it back: the transfer resumes and nothing is lost.".into()
            }
            PullError::Client(ClientError::Link(_)) => {
                "The wearable stopped answering. Re-seat it in the dock; if this repeats, have it checked.".into()
            }
            PullError::Client(ClientError::Wearable { message, .. }) => format!(
                "The wearable reported a problem ({message}). Its data stays on it; re-seat it, and call support if this repeats."
            ),
            PullError::Client(ClientError::Unexpected { .. }) => {
                "The wearable answered something unexpected. Its data stays on it; call support if this repeats.".into()
            }
            PullError::Store(_) => {
                "The dock could not save data (storage problem). The wearable keeps its data; call support.".into()
            }
            PullError::SerialMismatch { .. } => {
                "The wearable identifies itself inconsistently, so it was not emptied. Its data stays on it; have it checked.".into()
            }
        }
    }
}

/// Runs one docking from connection to undocking (or shutdown).
pub async fn run_docking(ctx: PullContext, docking: Docking, slot: u32, cancel: CancellationToken) {
    let port = docking.port.clone();
    let transport = docking.transport;
    let transport_serial = docking.serial.clone();
    let mut pull = Pull {
        client: WearableClient::new(docking.stream, ctx.request_timeout),
        ctx,
        slot,
        docking_id: None,
        serial: String::new(),
        wearable_worker: None,
        config_recorded: None,
        docked: None,
        faults: Arc::default(),
    };
    let outcome = tokio::select! {
        _ = cancel.cancelled() => None,
        result = pull.run(transport.as_str(), &port, transport_serial.as_deref()) => Some(result),
    };
    let board = &pull.ctx.board;
    let outcome_text = match &outcome {
        None => "dock shut down".to_owned(),
        Some(Ok(())) => "undocked".to_owned(),
        Some(Err(error)) => error.to_string(),
    };
    match &outcome {
        // Connected and gone before saying who it was: nothing to show or record.
        Some(Err(PullError::Client(ClientError::Undocked))) if pull.serial.is_empty() => {
            board.forget(slot);
            return;
        }
        Some(Err(error)) => {
            tracing::warn!(slot, %port, serial = %pull.serial, error = %error, "Pull stopped.");
            let advice = error.advice();
            board.update(slot, |s| {
                s.phase = Phase::Error;
                s.problem = Some(advice);
                s.connected = false;
            });
        }
        None | Some(Ok(())) => board.update(slot, |s| {
            s.phase = Phase::Undocked;
            s.connected = false;
        }),
    }
    if let Some(id) = pull.docking_id {
        let ended = pull.ctx.clock.now_ms();
        let outbox = pull.wearable_diag();
        if let Err(error) = pull
            .ctx
            .writer
            .end_docking(id, ended, outcome_text, outbox)
            .await
        {
            tracing::warn!(slot, error = %error, "Could not record the end of a docking.");
        }
    }
    tracing::info!(slot, serial = %pull.serial, "Wearable undocked.");
}

struct Pull {
    ctx: PullContext,
    client: WearableClient,
    slot: u32,
    docking_id: Option<i64>,
    serial: String,
    /// The worker the wearable carries: from its latest INFO, or the SET_WORKER it accepted since.
    wearable_worker: Option<WorkerTag>,
    /// The thresholds this docking last recorded for the wearable, and what it recorded, so a
    /// refresh writes only when something changed.
    config_recorded: Option<RecordedConfig>,
    /// The INFO this docking began with and when (the dock's clock): the wearable's diagnostics.
    docked: Option<(Info, i64)>,
    /// Distinct DIAG codes of the segments pulled in this docking (filled by their store jobs).
    faults: Arc<std::sync::Mutex<std::collections::BTreeSet<u16>>>,
}

/// A threshold push as recorded in the store (`SettingChange::ConfigConfirmed`).
#[derive(Debug, Clone, PartialEq)]
struct RecordedConfig {
    want: WearableConfig,
    confirmed: Option<WearableConfig>,
    problem: Option<String>,
}

impl RecordedConfig {
    fn settled(&self, want: &WearableConfig) -> bool {
        self.want == *want && self.confirmed == Some(*want) && self.problem.is_none()
    }
}

impl Pull {
    /// The wearable's diagnostics for upload at the end of this docking (none without
    /// `[upload]`, or before its INFO was recorded): battery, firmware and the DIAG codes of the
    /// segments pulled, never who wore it.
    fn wearable_diag(&self) -> Vec<crate::upload::Item> {
        let (Some(producer), Some((info, docked_ms))) = (&self.ctx.producer, &self.docked) else {
            return Vec::new();
        };
        let faults: Vec<u16> = match self.faults.lock() {
            Ok(faults) => faults.iter().copied().collect(),
            Err(_) => Vec::new(),
        };
        let tz = producer.time_zone();
        let record =
            crate::upload::produce::wearable_diag(&producer.origin, info, *docked_ms, &tz, faults);
        match producer.item(&record) {
            Ok(item) => vec![item],
            Err(error) => {
                tracing::warn!(serial = %self.serial, error = %error, "The wearable's diagnostics cannot be queued for upload.");
                Vec::new()
            }
        }
    }

    /// Pulls, brings the wearable to its docking orders, then keeps it company while it charges;
    /// returns when it leaves.
    async fn run(
        &mut self,
        transport: &'static str,
        port: &str,
        transport_serial: Option<&str>,
    ) -> Result<(), PullError> {
        self.pull(transport, port, transport_serial).await?;
        // Everything it held is stored; a wearable lost now only leaves its orders for next time.
        if self.apply_orders().await.is_ok() {
            self.stay_docked().await;
        }
        Ok(())
    }

    async fn pull(
        &mut self,
        transport: &'static str,
        port: &str,
        transport_serial: Option<&str>,
    ) -> Result<(), PullError> {
        let info = self.client.hello().await?;
        // protocol.md §4: flat-battery segments are anchored to the dock's clock at this INFO.
        let dock_wall_ms = self.ctx.clock.now_ms();
        self.serial = info.serial.clone();
        self.wearable_worker = info.worker;
        if let Some(usb) = transport_serial
            && usb != info.serial
        {
            // Nothing is pulled or erased: data filed under the wrong wearable cannot be undone.
            self.show_info(&info);
            return Err(PullError::SerialMismatch {
                transport: usb.to_owned(),
                info: info.serial,
            });
        }
        let docking_clock = self.docking_clock(&info, dock_wall_ms).await?;
        tracing::info!(slot = self.slot, serial = %info.serial, segments = info.segments, "Wearable docked.");
        self.show_info(&info);
        self.load_totals().await;

        let docking_id = self
            .ctx
            .writer
            .begin_docking(new_docking(&info, self.slot, transport, port, dock_wall_ms))
            .await?;
        self.docking_id = Some(docking_id);
        self.docked = Some((info.clone(), dock_wall_ms));
        self.ctx
            .board
            .add_totals(&self.serial, |t| t.last_docked_ms = Some(dock_wall_ms));

        let now = u64::try_from(self.ctx.clock.now_ms()).unwrap_or(0);
        if let Err(error) = self.client.set_time(now).await {
            if error.ends_docking() {
                return Err(error.into());
            }
            tracing::warn!(serial = %self.serial, error = %error, "The wearable refused SET_TIME; pulling anyway.");
        }

        let entries = self.client.list().await?;
        let mut plan = Vec::with_capacity(entries.len());
        for entry in entries {
            let key = self.key(&entry);
            let reader = self.ctx.reader.clone();
            let state = tokio::task::spawn_blocking(move || reader.segment_state(&key))
                .await
                .map_err(|_| StoreError::Closed)??;
            plan.push((entry, state));
        }
        let total: u64 = plan
            .iter()
            .filter(|(e, s)| e.closed && *s == SegmentState::New)
            .map(|(e, _)| u64::from(e.size))
            .sum();
        let count = u32::try_from(plan.len()).unwrap_or(u32::MAX);
        self.ctx.board.update(self.slot, |s| {
            s.phase = Phase::Pulling;
            s.bytes_total = total;
            s.segments_total = count;
        });

        // Storing segment N overlaps reading N + 1; its ERASE still waits for its commit.
        let mut in_flight: Option<InFlight> = None;
        for (entry, state) in plan {
            let next = self
                .start_segment(&entry, state, &docking_clock, docking_id)
                .await?;
            if let Some(previous) = in_flight.take() {
                self.finish_segment(previous).await?;
            }
            match next {
                Some(store) => in_flight = Some(store),
                None => self.ctx.board.update(self.slot, |s| s.segments_done += 1),
            }
        }
        if let Some(last) = in_flight.take() {
            self.finish_segment(last).await?;
        }

        self.ctx.board.update(self.slot, |s| {
            s.phase = Phase::Done;
            s.problem = (s.quarantined > 0).then(|| {
                format!(
                    "{} damaged log(s) kept on the dock for support; the wearable keeps its copy.",
                    s.quarantined
                )
            });
        });
        tracing::info!(slot = self.slot, serial = %self.serial, "Pull complete.");
        Ok(())
    }

    /// How this docking places segments written with no valid clock. From this INFO when the
    /// wearable's clock is still counting from power-up; otherwise from the start of the same boot
    /// as an earlier docking saw it — a docking cut short after SET_TIME leaves current-boot
    /// segments behind that this INFO can no longer anchor. That docking's row was committed
    /// before its SET_TIME was sent, so the anchor survives crashes too.
    async fn docking_clock(
        &self,
        info: &Info,
        dock_wall_ms: i64,
    ) -> Result<DockingClock, PullError> {
        let here = DockingClock::from_info(info, dock_wall_ms);
        if !info.clock_valid {
            return Ok(here);
        }
        let reader = self.ctx.reader.clone();
        let (serial, boot) = (self.serial.clone(), info.boot_count);
        let boot_start = tokio::task::spawn_blocking(move || reader.boot_start(&serial, boot))
            .await
            .map_err(|_| StoreError::Closed)??;
        Ok(match boot_start {
            Some(boot_wall_ms) => DockingClock {
                boot_count: info.boot_count,
                device_ms: u64::try_from(dock_wall_ms - boot_wall_ms).unwrap_or(0),
                clock_valid: false,
                dock_wall_ms,
            },
            None => here,
        })
    }

    fn key(&self, entry: &SegmentEntry) -> SegmentKey {
        SegmentKey {
            serial: self.serial.clone(),
            segment_no: entry.id,
            size: entry.size,
            crc: entry.crc,
        }
    }

    /// Starts moving one listed segment into the store: reads and checks it, then hands storing to
    /// a task of its own. `None` when there is nothing to store or erase.
    async fn start_segment(
        &mut self,
        entry: &SegmentEntry,
        state: SegmentState,
        docking: &DockingClock,
        docking_id: i64,
    ) -> Result<Option<InFlight>, PullError> {
        if !entry.closed {
            tracing::info!(serial = %self.serial, segment = entry.id, "Segment still open; left for the next docking.");
            return Ok(None);
        }
        let key = self.key(entry);
        match state {
            SegmentState::Quarantined => {
                self.ctx.board.update(self.slot, |s| s.quarantined += 1);
                Ok(None)
            }
            // Durably stored at an earlier docking (a crash or a lost OK before its ERASE).
            SegmentState::Stored => Ok(Some(InFlight {
                entry: *entry,
                stored: tokio::spawn(async { Ok(true) }),
            })),
            SegmentState::New if entry.size > self.ctx.max_segment_bytes => {
                tracing::warn!(serial = %self.serial, segment = entry.id, size = entry.size, "Segment larger than link.max_segment_bytes; left on the wearable.");
                Ok(None)
            }
            SegmentState::New => {
                // Wait for room before reading: the bytes stay in memory until their commit.
                let kib = entry.size.div_ceil(1024).clamp(1, IN_FLIGHT_KIB);
                let memory = Arc::clone(&self.ctx.in_flight)
                    .acquire_many_owned(kib)
                    .await
                    .map_err(|_| StoreError::Closed)?;
                let (bytes, checksum_ok) = self.read_verified(entry).await?;
                let job = StoreJob {
                    ctx: self.ctx.clone(),
                    slot: self.slot,
                    key,
                    docking_id,
                    docking: *docking,
                    faults: Arc::clone(&self.faults),
                };
                Ok(Some(InFlight {
                    entry: *entry,
                    stored: tokio::spawn(job.run(bytes, checksum_ok, memory)),
                }))
            }
        }
    }

    /// Waits for a segment's commit, then erases it on the wearable — the only ERASE in the dock.
    async fn finish_segment(&mut self, in_flight: InFlight) -> Result<(), PullError> {
        let InFlight { entry, stored } = in_flight;
        let erase = stored.await.map_err(|_| StoreError::Closed)??;
        self.ctx.board.update(self.slot, |s| s.segments_done += 1);
        if !erase {
            return Ok(()); // quarantined: it stays on the wearable
        }
        if self.ctx.running.on_trial() {
            // Stored, and kept on the wearable until this version is confirmed: the next
            // docking finds it stored and erases it then.
            return Ok(());
        }
        self.client.erase(entry.id).await?;
        let erased_ms = self.ctx.clock.now_ms();
        if let Err(error) = self
            .ctx
            .writer
            .mark_erased(self.key(&entry), erased_ms)
            .await
        {
            tracing::warn!(error = %error, "Could not record an erase; harmless, the segment is stored.");
        }
        Ok(())
    }

    /// Reads a whole segment; re-reads it once if its bytes do not match the listed CRC. Returns
    /// the bytes and whether they matched (a mismatch twice sends them to quarantine).
    async fn read_verified(&mut self, entry: &SegmentEntry) -> Result<(Vec<u8>, bool), PullError> {
        let first = self.read_segment(entry).await?;
        if crc32c(&first) == entry.crc {
            return Ok((first, true));
        }
        tracing::warn!(serial = %self.serial, segment = entry.id, "Segment bytes do not match the listed CRC; reading again.");
        self.ctx
            .board
            .update(self.slot, |s| s.bytes_total += u64::from(entry.size));
        let second = self.read_segment(entry).await?;
        let matched = crc32c(&second) == entry.crc;
        Ok((second, matched))
    }

    async fn read_segment(&mut self, entry: &SegmentEntry) -> Result<Vec<u8>, PullError> {
        let size = entry.size as usize;
        let mut bytes = Vec::with_capacity(size);
        while bytes.len() < size {
            let offset = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            let chunk = self.client.read(entry.id, offset).await?;
            if chunk.is_empty() {
                break; // the wearable says the segment ends here; the CRC check decides
            }
            let take = chunk.len().min(size - bytes.len());
            bytes.extend_from_slice(&chunk[..take]);
            self.ctx
                .board
                .update(self.slot, |s| s.bytes_done += take as u64);
        }
        Ok(bytes)
    }

    fn show_info(&self, info: &Info) {
        let serial = info.serial.clone();
        let (soc, charging, worker) = (info.batt_soc, info.charging, info.worker);
        self.ctx.board.update(self.slot, |s| {
            s.serial = Some(serial);
            s.worker = worker;
            s.battery_soc = Some(soc);
            s.charging = charging;
        });
    }

    async fn load_totals(&self) {
        if self.ctx.board.has_totals(&self.serial) {
            return;
        }
        let reader = self.ctx.reader.clone();
        let serial = self.serial.clone();
        let found = tokio::task::spawn_blocking(move || reader.totals_of(&serial))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        if let Some(t) = found {
            self.ctx.board.set_totals(
                &self.serial,
                Totals {
                    segments: t.segments_stored,
                    samples: t.samples_stored,
                    alerts: t.alerts_stored,
                    quarantined: t.quarantined,
                    last_docked_ms: t.last_docked_ms,
                },
            );
        }
    }

    /// After the pull, the wearable charges in its slot: re-read its battery now and then, and
    /// notice at once when it leaves.
    async fn stay_docked(&mut self) {
        loop {
            match self.client.idle(self.ctx.refresh).await {
                Idle::Undocked => return,
                Idle::Elapsed => match self.client.hello().await {
                    Ok(info) => {
                        self.show_info(&info);
                        self.wearable_worker = info.worker;
                        // A change made on the page reaches a docked wearable at the next refresh.
                        if self.apply_orders().await.is_err() {
                            return;
                        }
                    }
                    Err(error) if error.ends_docking() => return,
                    Err(error) => {
                        tracing::debug!(error = %error, "Battery refresh failed.");
                    }
                },
            }
        }
    }

    /// Brings the wearable to what the roster and the settings say (`Reader::docking_orders`).
    /// Returns an error only when the wearable is gone (`ClientError::ends_docking`); any other
    /// failure is logged and tried again at the next refresh.
    async fn apply_orders(&mut self) -> Result<(), ClientError> {
        let reader = self.ctx.reader.clone();
        let serial = self.serial.clone();
        let now_ms = self.ctx.clock.now_ms();
        let orders = match tokio::task::spawn_blocking(move || {
            reader.docking_orders(&serial, now_ms)
        })
        .await
        {
            Ok(Ok(orders)) => orders,
            Ok(Err(error)) => {
                tracing::warn!(serial = %self.serial, error = %error, "Cannot read the wearable's roster entry and thresholds; trying again at the next refresh.");
                return Ok(());
            }
            Err(_) => return Ok(()),
        };
        if let Some(want) = orders.worker {
            self.apply_worker(want, orders.worker_applied).await?;
        }
        if let Some(want) = orders.config {
            let silent = matches!(orders.baseline, Baseline::Silent { .. });
            self.apply_config(want, silent).await?;
        }
        Ok(())
    }

    /// SET_WORKER when the wearable carries another worker than the roster says; records that it
    /// carries the roster's (never logging who that is).
    async fn apply_worker(
        &mut self,
        want: Option<WorkerTag>,
        recorded: bool,
    ) -> Result<(), ClientError> {
        if self.wearable_worker != want {
            match self.client.set_worker(want).await {
                Ok(()) => {
                    self.wearable_worker = want;
                    self.ctx.board.update(self.slot, |s| s.worker = want);
                    tracing::info!(serial = %self.serial, "The wearable took its roster assignment.");
                }
                Err(error) if error.ends_docking() => return Err(error),
                Err(error) => {
                    tracing::warn!(serial = %self.serial, error = %error, "The wearable refused its roster assignment; trying again at the next refresh.");
                    return Ok(());
                }
            }
        } else if recorded {
            return Ok(());
        }
        let change = RosterChange::WorkerApplied {
            serial: self.serial.clone(),
            worker: want,
            at_ms: self.ctx.clock.now_ms(),
        };
        if let Err(error) = self.ctx.writer.roster(change).await {
            tracing::warn!(serial = %self.serial, error = %error, "Could not record that the wearable took its roster assignment; trying again at the next refresh.");
        }
        Ok(())
    }

    /// Pushes the ordered thresholds if the wearable holds others, confirms them with GET_CONFIG
    /// and records the outcome when it differs from what this docking last recorded; `silent`:
    /// its worker is in the silent baseline (haptics off).
    async fn apply_config(
        &mut self,
        want: WearableConfig,
        silent: bool,
    ) -> Result<(), ClientError> {
        if self
            .config_recorded
            .as_ref()
            .is_some_and(|recorded| recorded.settled(&want))
        {
            return Ok(());
        }
        let (confirmed, problem) = match self.push_config(want).await {
            Ok(got) if got == want => (Some(got), None),
            Ok(got) => (
                Some(got),
                Some(
                    "The wearable kept other thresholds than the ones set for the site; it may not support these values. Re-seat it, and have it checked if this repeats."
                        .to_owned(),
                ),
            ),
            Err(ClientError::Wearable { code, message }) => (
                None,
                Some(format!(
                    "The wearable refused the thresholds (error {code}: {message}). It keeps its own; check the values on the settings page."
                )),
            ),
            Err(error) if error.ends_docking() => return Err(error),
            Err(error) => {
                tracing::warn!(serial = %self.serial, error = %error, "Could not set the wearable's thresholds; trying again at the next refresh.");
                return Ok(());
            }
        };
        let recorded = RecordedConfig {
            want,
            confirmed,
            problem,
        };
        if self.config_recorded.as_ref() == Some(&recorded) {
            return Ok(());
        }
        if recorded.problem.is_some() {
            tracing::warn!(serial = %self.serial, "The wearable did not take the site's thresholds.");
        } else if silent {
            tracing::info!(serial = %self.serial, "The wearable confirmed its silent-baseline thresholds (haptics off).");
        } else {
            tracing::info!(serial = %self.serial, "The wearable confirmed the site's thresholds.");
        }
        let change = SettingChange::ConfigConfirmed {
            serial: self.serial.clone(),
            confirmed: recorded.confirmed,
            at_ms: self.ctx.clock.now_ms(),
            problem: recorded.problem.clone(),
        };
        match self.ctx.writer.settings(change).await {
            Ok(()) => self.config_recorded = Some(recorded),
            Err(error) => {
                tracing::warn!(serial = %self.serial, error = %error, "Could not record the wearable's thresholds; trying again at the next refresh.");
            }
        }
        Ok(())
    }

    /// GET_CONFIG, and SET_CONFIG + GET_CONFIG when it differs: what the wearable holds now.
    async fn push_config(&mut self, want: WearableConfig) -> Result<WearableConfig, ClientError> {
        let got = self.client.get_config().await?;
        if got == want {
            return Ok(got);
        }
        self.client.set_config(want).await?;
        self.client.get_config().await
    }
}

/// A segment read from a wearable, on its way into the store. Its task resolves to whether the
/// segment may now be erased (stored, now or before) or must stay (quarantined).
struct InFlight {
    entry: SegmentEntry,
    stored: tokio::task::JoinHandle<Result<bool, StoreError>>,
}

/// Everything storing one segment needs, so it can run beside the next segment's READs.
struct StoreJob {
    ctx: PullContext,
    slot: u32,
    key: SegmentKey,
    docking_id: i64,
    docking: DockingClock,
    faults: Arc<std::sync::Mutex<std::collections::BTreeSet<u16>>>,
}

impl StoreJob {
    /// Stores the segment; `_memory` is released once its bytes are committed or quarantined.
    async fn run(
        self,
        bytes: Vec<u8>,
        checksum_ok: bool,
        _memory: OwnedSemaphorePermit,
    ) -> Result<bool, StoreError> {
        let StoreJob {
            ctx,
            slot,
            key,
            docking_id,
            docking,
            faults,
        } = self;
        let serial = key.serial.clone();
        let segment = key.segment_no;
        match prepare(&ctx, key.clone(), bytes, checksum_ok, docking_id, docking).await {
            Ok(mut rows) => {
                rows.stored_ms = ctx.clock.now_ms();
                if let Ok(mut faults) = faults.lock() {
                    faults.extend(rows.diags.iter().map(|d| d.code));
                }
                let (samples, alerts) = (rows.samples, rows.alerts.len() as u64);
                if ctx.writer.store_segment(rows).await? == StoreOutcome::Stored {
                    ctx.board.add_totals(&serial, |t| {
                        t.segments += 1;
                        t.samples += samples;
                        t.alerts += alerts;
                    });
                    tracing::debug!(%serial, segment, samples, "Segment stored.");
                }
                Ok(true)
            }
            Err((reason, bytes)) => {
                tracing::warn!(%serial, segment, reason = %reason, "Segment quarantined; it stays on the wearable.");
                let seen_ms = ctx.clock.now_ms();
                ctx.writer
                    .quarantine(QuarantinedSegment {
                        key,
                        reason,
                        bytes,
                        seen_ms,
                    })
                    .await?;
                ctx.board.update(slot, |s| s.quarantined += 1);
                ctx.board.add_totals(&serial, |t| t.quarantined += 1);
                Ok(false)
            }
        }
    }
}

/// Parses and converts a segment whose checksum was already checked, off the async runtime, at
/// most one per core at a time (bounding memory as well as CPU). On failure, the reason in plain
/// words and the bytes, for the quarantine.
async fn prepare(
    ctx: &PullContext,
    key: SegmentKey,
    bytes: Vec<u8>,
    checksum_ok: bool,
    docking_id: i64,
    docking: DockingClock,
) -> Result<crate::store::NewSegment, (String, Vec<u8>)> {
    if !checksum_ok {
        return Err((
            "its bytes did not match the wearable's checksum on two reads".to_owned(),
            bytes,
        ));
    }
    let Ok(_permit) = ctx.cpu.acquire().await else {
        return Err(("the dock is shutting down".to_owned(), bytes));
    };
    let work = tokio::task::spawn_blocking(move || {
        let rows = match parse_segment(&bytes) {
            Ok(segment) => {
                ingest::segment_rows(key, docking_id, &segment, &docking).map_err(|e| e.to_string())
            }
            Err(error) => Err(error.reason()),
        };
        rows.map_err(|reason| (reason, bytes))
    });
    match work.await {
        Ok(result) => result,
        Err(join) => Err((format!("parsing crashed: {join}"), Vec::new())),
    }
}

fn new_docking(
    info: &Info,
    slot: u32,
    transport: &'static str,
    port: &str,
    docked_ms: i64,
) -> NewDocking {
    NewDocking {
        serial: info.serial.clone(),
        model: info.model,
        hw_rev: info.hw_rev,
        firmware: info.firmware(),
        slot,
        transport,
        port: port.to_owned(),
        docked_ms,
        boot_count: info.boot_count,
        device_ms: info.device_ms,
        clock_valid: info.clock_valid,
        batt_soc: info.batt_soc,
        batt_health: info.batt_health,
        batt_cycles: info.batt_cycles,
        batt_mv: info.batt_mv,
        batt_temp_dc: info.batt_temp_dc,
        charging: info.charging,
        segments_listed: u32::from(info.segments),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::path::PathBuf;

    use tokio::time::{Instant, timeout};

    use super::*;
    use crate::clock::SystemClock;
    use crate::dock::board::Phase;
    use crate::emulator::{
        Faults, MINUTE_MS, ServeEnd, ShiftSpec, Wearable, WearableSpec, serve_until_drained,
    };
    use crate::store::roster::RosterChange;
    use crate::store::settings::{ConfigState, SettingChange, THRESHOLDS};
    use crate::store::{WriterThread, open_for_writing};
    use crate::transport::TransportKind;

    const SERIAL: &str = "KW-000042";
    const LIMIT: Duration = Duration::from_secs(30);

    /// A dock's store and pull context in a fresh data folder.
    struct Dock {
        ctx: PullContext,
        thread: WriterThread,
        dir: PathBuf,
    }

    impl Dock {
        fn new(name: &str, refresh: Duration) -> Self {
            let dir =
                std::env::temp_dir().join(format!("dockd-pull-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let path = dir.join("dockd.db");
            let (writer, thread) = Writer::spawn(
                open_for_writing(&crate::store::Database::for_tests(&path)).unwrap(),
                open_for_writing(&crate::store::Database::for_tests(&path)).unwrap(),
            )
            .unwrap();
            let ctx = PullContext {
                writer,
                reader: Reader::open(&crate::store::Database::for_tests(&path)).unwrap(),
                board: Arc::new(Board::default()),
                clock: Arc::new(SystemClock),
                request_timeout: Duration::from_secs(2),
                max_segment_bytes: 16 << 20,
                refresh,
                cpu: Arc::new(Semaphore::new(1)),
                in_flight: Arc::new(Semaphore::new(IN_FLIGHT_KIB as usize)),
                producer: None,
                running: Arc::new(crate::update::health::Running::new(false)),
            };
            Self { ctx, thread, dir }
        }

        async fn change(&self, change: RosterChange) -> Option<i64> {
            self.ctx.writer.roster(change).await.unwrap()
        }

        async fn add_worker(&self, badge: &str) -> i64 {
            self.change(RosterChange::AddWorker {
                tag: tag(badge),
                display_name: None,
                task: None,
                team: None,
            })
            .await
            .unwrap()
        }

        async fn assign(&self, worker: i64) {
            self.change(RosterChange::AssignWearable {
                serial: SERIAL.into(),
                worker: Some(worker),
                at_ms: SystemClock.now_ms(),
            })
            .await;
        }

        /// Waits, with a time limit, until the store shows `condition`.
        async fn wait_until(&self, what: &str, condition: impl Fn(&Reader) -> bool) {
            let deadline = Instant::now() + LIMIT;
            while !condition(&self.ctx.reader) {
                assert!(Instant::now() < deadline, "timed out waiting until {what}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }

        /// Docks `wearable` while `script` runs, then takes it out; the slot's last phase.
        async fn docked_during(
            &self,
            wearable: &mut Wearable,
            script: impl Future<Output = ()>,
        ) -> Phase {
            let slot =
                self.ctx
                    .board
                    .claim_slot(TransportKind::Emulated, None, SystemClock.now_ms());
            let (wearable_end, dock_end) = tokio::io::duplex(1 << 20);
            let docking = Docking {
                stream: Box::new(dock_end),
                transport: TransportKind::Emulated,
                port: "test".into(),
                serial: None,
            };
            let pull = tokio::spawn(run_docking(
                self.ctx.clone(),
                docking,
                slot,
                CancellationToken::new(),
            ));
            let undock = CancellationToken::new();
            let script = async {
                script.await;
                undock.cancel();
            };
            let faults = Faults::default();
            let (end, ()) = tokio::join!(
                serve_until_drained(
                    wearable,
                    wearable_end,
                    &faults,
                    Duration::from_secs(3600),
                    &undock
                ),
                script
            );
            assert_eq!(end.unwrap(), ServeEnd::Cancelled);
            timeout(LIMIT, pull).await.unwrap().unwrap();
            let slots = self.ctx.board.snapshot();
            slots
                .iter()
                .find(|(status, _)| status.slot == slot)
                .map(|(status, _)| status.phase)
                .unwrap()
        }

        fn close(self) {
            drop(self.ctx);
            self.thread.join();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn tag(badge: &str) -> WorkerTag {
        WorkerTag::from_ascii(badge).unwrap()
    }

    /// A wearable worn by B-1001 with two closed segments on it.
    fn wearable() -> Wearable {
        let shift = ShiftSpec {
            segment_ms: 8 * MINUTE_MS,
            ..ShiftSpec::ending_at(SystemClock.now_ms(), 16 * MINUTE_MS)
        };
        let mut spec = WearableSpec::new(SERIAL, 42, shift);
        spec.worker = Some(tag("B-1001"));
        Wearable::new(spec)
    }

    fn emptied(wearable: &Wearable) -> bool {
        wearable.drained() && wearable.erased_ids().len() == wearable.truth().segments.len()
    }

    fn worker_applied(reader: &Reader) -> bool {
        reader.docking_orders(SERIAL, 0).unwrap().worker_applied
    }

    fn config_state(reader: &Reader) -> Option<ConfigState> {
        reader
            .config_states()
            .unwrap()
            .into_iter()
            .find(|state| state.serial == SERIAL)
    }

    async fn put_thresholds(dock: &Dock, config: &WearableConfig) {
        dock.ctx
            .writer
            .settings(SettingChange::Put {
                key: THRESHOLDS.into(),
                value: serde_json::to_string(config).unwrap(),
            })
            .await
            .unwrap();
    }

    const STRICT: WearableConfig = WearableConfig {
        bend_alert: 3000,
        bend_hold_ms: 500,
        twist_alert: 400,
        haptics: false,
        rate_hz: 25,
    };

    #[tokio::test]
    async fn a_version_on_trial_stores_everything_erases_nothing_and_erases_it_all_once_confirmed()
    {
        let mut dock = Dock::new("trial", Duration::from_secs(3600));
        let running = Arc::new(crate::update::health::Running::new(true));
        dock.ctx.running = Arc::clone(&running);
        let mut wearable = wearable();
        let segments = wearable.truth().segments.len() as u64;
        let stored = |reader: &Reader| {
            reader
                .wearable_totals()
                .unwrap()
                .first()
                .is_some_and(|t| t.segments_stored == segments)
        };

        dock.docked_during(
            &mut wearable,
            dock.wait_until("every segment stored", stored),
        )
        .await;
        assert!(wearable.erased_ids().is_empty(), "nothing erased on trial");

        running.confirmed();
        let db = crate::store::Database::for_tests(&dock.dir.join("dockd.db"));
        let all_erased = move |_: &Reader| {
            let conn = crate::store::open_for_reading(&db).unwrap();
            let erased: i64 = conn
                .query_row(
                    "SELECT count(*) FROM segment WHERE erased_ms IS NOT NULL",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            erased as u64 == segments
        };
        dock.docked_during(
            &mut wearable,
            dock.wait_until("every segment erased", all_erased),
        )
        .await;
        assert!(emptied(&wearable), "erased once confirmed");
        let totals = dock.ctx.reader.wearable_totals().unwrap();
        assert_eq!(totals[0].segments_stored, segments, "nothing stored twice");
        dock.close();
    }

    #[tokio::test]
    async fn a_roster_assignment_reaches_the_docked_wearable_after_its_pull_and_is_recorded() {
        let dock = Dock::new("roster", Duration::from_secs(3600));
        let worker = dock.add_worker("B-2002").await;
        dock.assign(worker).await;
        let mut wearable = wearable();

        let phase = dock
            .docked_during(
                &mut wearable,
                dock.wait_until("the wearable took its roster worker", worker_applied),
            )
            .await;

        assert_eq!(wearable.worker(), Some(tag("B-2002")));
        assert!(emptied(&wearable), "pulled in full before SET_WORKER");
        assert_eq!(phase, Phase::Undocked);
        let roster = dock.ctx.reader.roster_wearables().unwrap();
        assert!(roster[0].applied_ms.is_some());
        dock.close();
    }

    #[tokio::test]
    async fn a_wearable_already_carrying_its_roster_worker_is_recorded_as_applied() {
        let dock = Dock::new("roster-same", Duration::from_secs(3600));
        let worker = dock.add_worker("B-1001").await;
        dock.assign(worker).await;
        let mut wearable = wearable();
        let segments_before = wearable.truth().segments.len();

        dock.docked_during(
            &mut wearable,
            dock.wait_until("the assignment was recorded", worker_applied),
        )
        .await;

        assert_eq!(wearable.worker(), Some(tag("B-1001")));
        // No SET_WORKER: it would have opened a segment of its own.
        assert!(wearable.stored_segments().is_empty());
        assert_eq!(wearable.erased_ids().len(), segments_before);
        dock.close();
    }

    #[tokio::test]
    async fn thresholds_set_for_the_site_reach_the_wearable_and_its_confirmation_is_stored() {
        let dock = Dock::new("thresholds", Duration::from_secs(3600));
        put_thresholds(&dock, &STRICT).await;
        let mut wearable = wearable();

        let phase = dock
            .docked_during(
                &mut wearable,
                dock.wait_until("the thresholds were confirmed", |r| {
                    config_state(r).is_some()
                }),
            )
            .await;

        assert_eq!(wearable.config(), &STRICT);
        let state = config_state(&dock.ctx.reader).unwrap();
        assert_eq!(state.confirmed, Some(STRICT));
        assert_eq!(state.problem, None);
        assert!(state.at_ms.is_some());
        assert!(emptied(&wearable));
        assert_eq!(phase, Phase::Undocked);
        dock.close();
    }

    #[tokio::test]
    async fn a_wearable_that_refuses_the_thresholds_has_the_problem_recorded_and_is_still_pulled() {
        let dock = Dock::new("thresholds-refused", Duration::from_secs(3600));
        let broken = WearableConfig {
            rate_hz: 0,
            ..STRICT
        };
        put_thresholds(&dock, &broken).await;
        let mut wearable = wearable();
        let before = *wearable.config();

        let phase = dock
            .docked_during(
                &mut wearable,
                dock.wait_until("the refusal was recorded", |r| config_state(r).is_some()),
            )
            .await;

        let state = config_state(&dock.ctx.reader).unwrap();
        assert_eq!(state.confirmed, None);
        assert!(
            state
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("refused")),
            "{:?}",
            state.problem
        );
        assert_eq!(wearable.config(), &before, "it keeps its own thresholds");
        assert!(emptied(&wearable), "the pull itself went through");
        assert_eq!(phase, Phase::Undocked);
        dock.close();
    }

    #[tokio::test]
    async fn a_change_made_while_the_wearable_stays_docked_reaches_it_at_the_next_refresh() {
        let dock = Dock::new("refresh", Duration::from_millis(50));
        let first = dock.add_worker("B-3003").await;
        let second = dock.add_worker("B-4004").await;
        dock.assign(first).await;
        put_thresholds(&dock, &STRICT).await;
        let mut wearable = wearable();

        let script = async {
            dock.wait_until("the first assignment was applied", |r| {
                worker_applied(r) && config_state(r).is_some()
            })
            .await;
            let confirmed_at = config_state(&dock.ctx.reader).unwrap().at_ms;
            // The pull is over: only a refresh can bring the wearable the new worker.
            dock.assign(second).await;
            dock.wait_until("the second assignment was applied", worker_applied)
                .await;
            assert_eq!(
                config_state(&dock.ctx.reader).unwrap().at_ms,
                confirmed_at,
                "confirmed thresholds are not recorded again at every refresh"
            );
        };
        let phase = dock.docked_during(&mut wearable, script).await;

        assert_eq!(wearable.worker(), Some(tag("B-4004")));
        assert_eq!(wearable.config(), &STRICT);
        assert_eq!(phase, Phase::Undocked);
        dock.close();
    }
}
