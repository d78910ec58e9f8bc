//! Dock diagnostics: GPS from gpsd, dock and wearable power, the system clock's synchronisation,
//! and the field technician's serial console. It knows nothing about workers and must never
//! receive worker data: the daemon hands it only what it may show (counts and wearable serials).
//!
//! The dependency direction is fixed: `dockd` → `diagnostics`, never the reverse. Each part
//! defines the traits the daemon implements (for GPS, [`gps::GpsSink`]).

pub mod battery;
pub mod console;
pub mod gps;
pub mod host;
pub mod power;
pub mod time_sync;
