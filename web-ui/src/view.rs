//! The read-only view the web pages are drawn from: the `DockView` trait the daemon implements and
//! the plain data types it hands over. It must never depend on the daemon's internals, and its
//! types must never carry badge tags; who wore a wearable and what the dock stored from that wear
//! are held apart (`worker`, [`WorkerFigures`]) so [`DockSnapshot::for_role`] strips them whole for
//! roles that see only device health.

use std::pin::Pin;

use serde::Serialize;
use tokio::sync::watch;

/// What the web UI needs from the daemon. Implemented by `dockd`; kept here so that the
/// dependency points one way (the web UI never sees the daemon's internals).
pub trait DockView: Send + Sync + 'static {
    /// The dock's state right now. Called once per page load and once per live update, so it
    /// should be a cheap copy of state the daemon already holds.
    fn snapshot(&self) -> DockSnapshot;

    /// A change signal: the value is bumped whenever anything in the snapshot changes. Only the
    /// fact of the change matters; the live view takes a fresh [`DockView::snapshot`] after it.
    fn subscribe(&self) -> watch::Receiver<u64>;

    /// Resolves once the daemon begins shutting down; open live streams end then. An event
    /// stream never finishes on its own, so without this a graceful server shutdown waits for
    /// every supervisor who left the page open. The default never resolves: override it wherever
    /// the router is served with graceful shutdown.
    fn shutting_down(&self) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(std::future::pending())
    }
}

/// Everything the status page shows, also served as JSON (`/api/v1/status` and the live events).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct DockSnapshot {
    /// The dock's name as the site knows it (shown as the page heading).
    pub dock: String,
    /// The daemon's version, shown in the footer for support calls.
    pub version: String,
    /// The dock's wall clock when the snapshot was taken, Unix epoch milliseconds.
    pub now_ms: i64,
    /// One entry per physical slot, in slot order.
    pub slots: Vec<SlotView>,
}

impl DockSnapshot {
    /// The snapshot as `role` may see it: without who wears each wearable and without the
    /// figures stored from their wear unless the role sees worker data (`None`: nobody signed in,
    /// sees nothing of workers). What is left is device health: battery, charging, transfer state,
    /// faults.
    pub fn for_role(mut self, role: Option<crate::access::Role>) -> Self {
        if !role.is_some_and(crate::access::Role::sees_worker_data) {
            for slot in &mut self.slots {
                slot.worker = None;
                slot.worker_figures = None;
            }
        }
        self
    }
}

/// One slot of the dock and the wearable in it (or last in it).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct SlotView {
    /// The slot number printed on the dock.
    pub slot: u32,
    /// The wearable's serial as the device reported it. Device-supplied text: untrusted.
    pub serial: Option<String>,
    /// Who wears it: the display name typed in on this dock's roster, else the keyed pseudonym.
    /// Personal data: [`DockSnapshot::for_role`] removes it for roles that do not see workers,
    /// and every handler applies it; absent from the JSON when removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// How the wearable is connected, e.g. "usb" (for support, not shown to supervisors).
    pub transport: String,
    /// The slot's state, for styling and for clients that branch on it.
    pub state: SlotState,
    /// The state in plain words for a supervisor, written by the daemon.
    pub state_text: String,
    /// What the supervisor should do, when there is something to do (mostly after an error).
    pub advice: Option<String>,
    /// Battery charge in percent, when known.
    pub battery_soc: Option<u8>,
    /// Whether the wearable is charging.
    pub charging: bool,
    /// Bytes of the current pull, while pulling.
    pub progress: Option<Progress>,
    /// Logs (segments) pulled during this docking.
    pub segments_pulled: u32,
    /// Logs (segments) the wearable offered during this docking.
    pub segments_total: u32,
    /// Bytes pulled during this docking.
    pub bytes_pulled: u64,
    /// When the wearable was last put into this slot, Unix epoch milliseconds.
    pub last_docked_ms: Option<i64>,
    /// Logs that failed validation and were set aside on the dock (the wearable keeps them).
    pub quarantined: u32,
    /// Logs the dock has stored for this wearable, all dockings together.
    pub segments_stored: u64,
    /// What the dock stored from this wearable's wear: worker-derived, so
    /// [`DockSnapshot::for_role`] removes it for roles that do not see workers. Its fields sit in
    /// the slot's JSON (`samples_stored`, `alerts_stored`) and are absent when removed.
    #[serde(flatten)]
    pub worker_figures: Option<WorkerFigures>,
}

/// Counts stored from a wearable's wear, all dockings together. A worker's alerts per shift can be
/// read off them by whoever knows who docks the wearable: for roles that see workers only. A new
/// worker-derived figure goes here, never into [`SlotView`] itself.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerFigures {
    /// Posture samples the dock has stored for this wearable.
    pub samples_stored: u64,
    /// Alerts the dock has stored for this wearable.
    pub alerts_stored: u64,
}

/// Where a slot is in its docking cycle.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SlotState {
    /// Nothing in the slot, and nothing remembered.
    Empty,
    /// A wearable is in the slot; the pull has not started yet.
    Docked,
    /// Logs are being pulled.
    Pulling,
    /// Everything was pulled; the wearable only charges now.
    Done,
    /// The pull failed; `advice` says what to do.
    Error,
    /// The wearable was taken out; the slot still shows its last docking.
    Undocked,
}

impl SlotState {
    /// The same name serde writes, for use as an HTML attribute the stylesheet and the live
    /// script both key on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Docked => "docked",
            Self::Pulling => "pulling",
            Self::Done => "done",
            Self::Error => "error",
            Self::Undocked => "undocked",
        }
    }
}

/// Byte progress of the pull in flight.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes pulled so far.
    pub done_bytes: u64,
    /// Bytes to pull in all (0 while the wearable has not said yet).
    pub total_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_state_attribute_names_match_the_json_names() {
        for state in [
            SlotState::Empty,
            SlotState::Docked,
            SlotState::Pulling,
            SlotState::Done,
            SlotState::Error,
            SlotState::Undocked,
        ] {
            let json = serde_json::to_value(state).unwrap();
            assert_eq!(json, serde_json::Value::from(state.as_str()));
        }
    }

    #[test]
    fn a_technicians_snapshot_keeps_device_health_and_loses_every_worker_figure() {
        use crate::access::Role;
        let full = crate::testing::snapshot();
        let json = serde_json::to_value(full.clone().for_role(Some(Role::Supervisor))).unwrap();
        assert_eq!(json["slots"][0]["samples_stored"], 900_000);
        assert_eq!(json["slots"][0]["alerts_stored"], 3);
        for role in [Some(Role::Technician), None] {
            let seen = full.clone().for_role(role);
            let json = serde_json::to_value(&seen).unwrap();
            for slot in json["slots"].as_array().unwrap() {
                let keys: Vec<&String> = slot.as_object().unwrap().keys().collect();
                assert!(
                    keys.iter()
                        .all(|k| !k.contains("alert") && !k.contains("sample") && *k != "worker"),
                    "{role:?}: {keys:?}"
                );
            }
            assert_eq!(json["slots"][1]["battery_soc"], 80);
            assert_eq!(json["slots"][1]["segments_stored"], 10);
            assert_eq!(json["slots"][1]["quarantined"], 1);
        }
    }
}
