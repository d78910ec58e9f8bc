//! Dock diagnostics: GPS from gpsd, dock and wearable power, and the field technician's serial
//! console. It knows nothing about workers and must never receive worker data: the daemon hands it
//! only what it may show (counts and wearable serials).
//!
//! Empty until the diagnostics issue: the crate exists now so the dependency direction
//! (`dockd` → `diagnostics`, never the reverse) is fixed from day one.
