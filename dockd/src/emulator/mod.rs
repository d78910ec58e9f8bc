//! Emulated wearables: the firmware model, synthetic shifts with their ground truth, per-docking
//! faults, and the device end of the link, for `dockd demo`, `dockd emulate`, the end-to-end
//! tests and the benchmark. It must be indistinguishable from a real wearable to the dock: every
//! byte it sends goes through `crate::link`, and it never hand-rolls a frame or a record.
//!
//! A typical wearable:
//! ```ignore
//! let shift = ShiftSpec::ending_at(now_ms, 12 * HOUR_MS);
//! let mut wearable = Wearable::new(WearableSpec::new("KW-000001", 42, shift));
//! let end = dock_until_drained(&mut wearable, &addr, &Faults::default(), &cancel).await?;
//! assert_eq!(wearable.erased_ids().len(), wearable.truth().segments.len());
//! ```

mod faults;
mod fleet;
mod gait;
mod rng;
mod serve;
mod shift;
#[cfg(test)]
mod testing;
mod truth;
mod wearable;

pub use faults::{Faults, FaultyLink};
pub use fleet::{
    EmulatorError, Fleet, FleetPlan, FleetSpec, Refill, UNDOCK_GRACE, WearableRun, dock_for,
    dock_until_drained,
};
pub use serve::{ServeEnd, serve, serve_until_drained};
pub use shift::{
    DEFAULT_NOISE_CENTIDEG, HOUR_MS, MINUTE_MS, ShiftProfile, ShiftSpec, SimulatedShift, simulate,
};
pub use truth::{GroundTruth, MovementCounts, SegmentTruth, TruthEvent, TruthKind};
pub use wearable::{BootSpec, MAX_SEGMENTS, Wearable, WearableSpec};
