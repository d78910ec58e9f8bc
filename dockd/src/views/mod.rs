//! Implements the web UI's traits: `DockView` over the dock's status board (here) and
//! `AnalysisView` over the stored shift reports (`analysis`), turning internal state into the web's
//! view types. The dock view hands the web who wears a wearable and its wear's counts only as
//! `worker` and `WorkerFigures`, which the web strips for roles that see device health only; it
//! never queries the database on a page load (the board already holds the totals). The analysis
//! view never hands the web a badge tag.

pub mod admin;
pub mod analysis;
pub mod diagnostics;
pub mod roster;
mod settle;

pub(crate) use settle::reload_settings;

/// The site-local day of `ms` in `time_zone` (UTC if the zone is unknown), `YYYY-MM-DD`.
pub(crate) fn site_day(time_zone: &str, ms: i64) -> String {
    let zone = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(zone).date().to_string())
        .unwrap_or_default()
}

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use web_ui::{DockSnapshot, DockView, Progress, SlotState, SlotView, WorkerFigures};

use crate::clock::Clock;
use crate::dock::board::{Board, Phase, SlotStatus, Totals};
use crate::site::SiteSettings;
use crate::worker::Pseudonyms;

pub struct BoardView {
    board: Arc<Board>,
    /// Display names from the roster; the pseudonym otherwise.
    site: Arc<SiteSettings>,
    pseudonyms: Arc<Pseudonyms>,
    dock: String,
    /// The dock's clock, as everywhere else in the daemon (tests inject their own).
    clock: Arc<dyn Clock>,
    /// Ends the page's live streams at shutdown, so an open browser tab cannot hold the daemon up.
    shutdown: CancellationToken,
}

impl BoardView {
    pub fn new(
        board: Arc<Board>,
        site: Arc<SiteSettings>,
        pseudonyms: Arc<Pseudonyms>,
        dock: &str,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            board,
            site,
            pseudonyms,
            dock: dock.to_owned(),
            clock,
            shutdown,
        }
    }
}

impl DockView for BoardView {
    fn snapshot(&self) -> DockSnapshot {
        DockSnapshot {
            dock: self.dock.clone(),
            version: crate::version::text().to_owned(),
            now_ms: self.clock.now_ms(),
            slots: self
                .board
                .snapshot()
                .into_iter()
                .map(|(slot, totals)| {
                    // The web hands this only to roles that see workers (`for_role`).
                    let worker = slot.worker.as_ref().map(|tag| {
                        self.site
                            .display_name(tag)
                            .unwrap_or_else(|| self.pseudonyms.label(tag))
                    });
                    slot_view(slot, totals, worker)
                })
                .collect(),
        }
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.board.subscribe()
    }

    fn shutting_down(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(self.shutdown.clone().cancelled_owned())
    }
}

fn slot_view(slot: SlotStatus, totals: Totals, worker: Option<String>) -> SlotView {
    let (state, state_text) = match slot.phase {
        Phase::Connecting => (SlotState::Docked, "Docked, connecting…".to_owned()),
        Phase::Pulling => (
            SlotState::Pulling,
            format!(
                "Pulling logs ({} of {})",
                slot.segments_done.min(slot.segments_total),
                slot.segments_total
            ),
        ),
        Phase::Done if slot.charging => (SlotState::Done, "Done, charging".to_owned()),
        Phase::Done => (SlotState::Done, "Done".to_owned()),
        Phase::Error => (SlotState::Error, "Needs attention".to_owned()),
        Phase::Undocked => (SlotState::Undocked, "Taken out".to_owned()),
    };
    SlotView {
        slot: slot.slot,
        serial: slot.serial,
        worker,
        transport: slot.transport.as_str().to_owned(),
        state,
        state_text,
        advice: slot.problem,
        battery_soc: slot.battery_soc,
        // Out of the dock it no longer charges, whatever its last INFO said.
        charging: slot.charging && slot.phase != Phase::Undocked,
        progress: (slot.phase == Phase::Pulling).then_some(Progress {
            done_bytes: slot.bytes_done,
            total_bytes: slot.bytes_total,
        }),
        segments_pulled: slot.segments_done,
        segments_total: slot.segments_total,
        bytes_pulled: slot.bytes_done,
        last_docked_ms: Some(slot.docked_ms),
        quarantined: u32::try_from(totals.quarantined)
            .unwrap_or(u32::MAX)
            .max(slot.quarantined),
        segments_stored: totals.segments,
        // The web hands these only to roles that see workers (`for_role`).
        worker_figures: Some(WorkerFigures {
            samples_stored: totals.samples,
            alerts_stored: totals.alerts,
        }),
    }
}
