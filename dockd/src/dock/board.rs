//! The dock's live status board: one entry per slot plus per-wearable stored totals, kept in
//! memory and published as a version number on a `watch` channel. It owns slot numbering for
//! transports that have no physical port map; it must never block (short std-mutex sections, no
//! `.await` inside) and never hold worker identities.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::watch;

use crate::transport::TransportKind;

/// Where a docked wearable stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected; saying HELLO.
    Connecting,
    /// Pulling segments.
    Pulling,
    /// Everything that can be pulled is stored and erased; charging.
    Done,
    /// The pull stopped on a problem; `problem` says what and what to do.
    Error,
    /// Gone from the dock.
    Undocked,
}

/// One slot's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotStatus {
    pub slot: u32,
    pub transport: TransportKind,
    pub serial: Option<String>,
    pub phase: Phase,
    pub problem: Option<String>,
    pub battery_soc: Option<u8>,
    pub charging: bool,
    /// Bytes of this docking's pull done / to do, for the progress bar.
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub segments_done: u32,
    pub segments_total: u32,
    /// Segments quarantined during this docking.
    pub quarantined: u32,
    pub docked_ms: i64,
    /// Whether the docking is still going on; a slot whose docking ended (undocked, or given up on
    /// with an error it keeps showing) can be taken by the next wearable.
    pub connected: bool,
    /// The worker the wearable carries (from INFO, or the roster's after SET_WORKER). Personal
    /// data: the page shows it only as a display name or pseudonym, to roles that see workers.
    pub worker: Option<crate::worker::WorkerTag>,
}

/// What the store holds for one wearable, kept current as commits are acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub segments: u64,
    pub samples: u64,
    pub alerts: u64,
    pub quarantined: u64,
    pub last_docked_ms: Option<i64>,
}

#[derive(Default)]
struct State {
    slots: BTreeMap<u32, SlotStatus>,
    totals: HashMap<String, Totals>,
    /// Slot numbers that belong to configured USB ports: handed out only to their own port.
    reserved: BTreeSet<u32>,
}

pub struct Board {
    state: Mutex<State>,
    version: watch::Sender<u64>,
    /// True while any slot is connecting or pulling: background work (compaction) yields to pulls.
    busy: watch::Sender<bool>,
}

impl Default for Board {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            version: watch::Sender::new(0),
            busy: watch::Sender::new(false),
        }
    }
}

impl Board {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind; keep serving it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        let busy = self
            .lock()
            .slots
            .values()
            .any(|s| matches!(s.phase, Phase::Connecting | Phase::Pulling));
        self.busy
            .send_if_modified(|was| std::mem::replace(was, busy) != busy);
        self.version.send_modify(|v| *v += 1);
    }

    /// A board whose slot numbers `reserved` are kept for the USB ports configured to them.
    pub fn with_reserved_slots(reserved: BTreeSet<u32>) -> Self {
        let board = Self::default();
        board.lock().reserved = reserved;
        board
    }

    /// Whether any pull is under way, as a watch.
    pub fn busy(&self) -> watch::Receiver<bool> {
        self.busy.subscribe()
    }

    /// A receiver that changes whenever the board does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// Takes slot `wanted` (a configured port's own number) if it is free, else the lowest free
    /// slot that is not reserved for a configured port. Free: never used, or its docking ended.
    pub fn claim_slot(&self, transport: TransportKind, wanted: Option<u32>, docked_ms: i64) -> u32 {
        let slot = {
            let mut state = self.lock();
            let free = |n: &u32| state.slots.get(n).is_none_or(|s| !s.connected);
            let slot = wanted
                .filter(free)
                .or_else(|| (1..).find(|n| free(n) && !state.reserved.contains(n)))
                .unwrap_or(u32::MAX);
            state.slots.insert(
                slot,
                SlotStatus {
                    slot,
                    transport,
                    serial: None,
                    phase: Phase::Connecting,
                    problem: None,
                    battery_soc: None,
                    charging: false,
                    bytes_done: 0,
                    bytes_total: 0,
                    segments_done: 0,
                    segments_total: 0,
                    quarantined: 0,
                    docked_ms,
                    connected: true,
                    worker: None,
                },
            );
            slot
        };
        self.changed();
        slot
    }

    /// Changes one slot's status.
    pub fn update(&self, slot: u32, change: impl FnOnce(&mut SlotStatus)) {
        if let Some(status) = self.lock().slots.get_mut(&slot) {
            change(status);
        }
        self.changed();
    }

    /// Drops a slot that never got a wearable's identity (a connection that closed before HELLO).
    pub fn forget(&self, slot: u32) {
        self.lock().slots.remove(&slot);
        self.changed();
    }

    /// Seeds a wearable's totals from the store (at start-up or first docking).
    pub fn set_totals(&self, serial: &str, totals: Totals) {
        self.lock().totals.insert(serial.to_owned(), totals);
        self.changed();
    }

    pub fn has_totals(&self, serial: &str) -> bool {
        self.lock().totals.contains_key(serial)
    }

    /// Adds to a wearable's totals after an acknowledged commit.
    pub fn add_totals(&self, serial: &str, change: impl FnOnce(&mut Totals)) {
        change(self.lock().totals.entry(serial.to_owned()).or_default());
        self.changed();
    }

    /// Every slot, in slot order, with its wearable's totals.
    pub fn snapshot(&self) -> Vec<(SlotStatus, Totals)> {
        let state = self.lock();
        state
            .slots
            .values()
            .map(|slot| {
                let totals = slot
                    .serial
                    .as_ref()
                    .and_then(|serial| state.totals.get(serial))
                    .copied()
                    .unwrap_or_default();
                (slot.clone(), totals)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_numbered_from_one_and_reused_after_undocking() {
        let board = Board::default();
        let a = board.claim_slot(TransportKind::Emulated, None, 0);
        let b = board.claim_slot(TransportKind::Emulated, None, 0);
        assert_eq!((a, b), (1, 2));
        board.update(a, |s| {
            s.phase = Phase::Error;
            s.connected = false;
        });
        assert_eq!(
            board.claim_slot(TransportKind::Emulated, None, 0),
            1,
            "an ended docking frees its slot, error or not"
        );
        assert_eq!(board.claim_slot(TransportKind::Emulated, None, 0), 3);
    }

    #[test]
    fn configured_ports_get_their_own_slot_and_others_skip_reserved_numbers() {
        let board = Board::with_reserved_slots([1, 3].into());
        assert_eq!(board.claim_slot(TransportKind::Usb, Some(3), 0), 3);
        assert_eq!(
            board.claim_slot(TransportKind::Usb, None, 0),
            2,
            "an unmapped port skips the reserved slot 1"
        );
        assert_eq!(board.claim_slot(TransportKind::Emulated, None, 0), 4);
        assert_eq!(
            board.claim_slot(TransportKind::Usb, Some(3), 0),
            5,
            "a configured slot still held by a docking falls back to a free number"
        );
    }

    #[test]
    fn every_change_bumps_the_published_version() {
        let board = Board::default();
        let rx = board.subscribe();
        let slot = board.claim_slot(TransportKind::Emulated, None, 0);
        board.update(slot, |s| s.serial = Some("KW-1".into()));
        board.add_totals("KW-1", |t| t.segments += 1);
        assert_eq!(*rx.borrow(), 3);
        assert!(
            *board.busy().borrow(),
            "a connecting slot makes the dock busy"
        );
        board.update(slot, |s| s.phase = Phase::Done);
        assert!(!*board.busy().borrow());
        assert_eq!(board.snapshot()[0].1.segments, 1);
    }
}
