//! GPS diagnostics of the dock from gpsd: where the dock is, whether its receiver has a fix, and
//! whether gpsd and a receiver are there at all. It owns talking to gpsd over TCP (`client`),
//! reading its JSON reports (`report`, pure) and deciding which of them to keep (`recorder`,
//! pure); the daemon stores what it is handed through [`GpsSink`] and shows [`GpsStatus`].
//!
//! It must never touch worker or wearable data: these records are the dock's own, kept in their
//! own table and never joined to, exported with or uploaded with anything about a worker. A dock
//! without gpsd or without a receiver runs normally and says so in [`GpsStatus::problem`].

mod client;
mod recorder;
mod report;

use std::time::Duration;

pub use client::{Backoff, MAX_LINE_BYTES, run};
pub use recorder::{GpsEvent, GpsFix, GpsRecord, GpsStatus, Recorder};
pub use report::{
    GpsParseError, GpsReport, MODE_2D, MODE_3D, MODE_NO_FIX, MODE_UNKNOWN, Position, SkyView,
    parse_line,
};

/// Where gpsd listens on a Debian system.
pub const DEFAULT_GPSD_ADDR: &str = "127.0.0.1:2947";

/// Where the daemon keeps what [`run`] records. Implemented by the daemon over its own table.
///
/// Both calls come from the GPS task between two reads from gpsd: they must not block (queue the
/// record and return). They are rare: a fix at most once per [`GpsConfig::interval`] plus one on
/// each mode change, and an event per change of state, never one per retry.
pub trait GpsSink: Send + Sync + 'static {
    fn record_fix(&self, fix: GpsFix);
    fn record_event(&self, at_ms: i64, event: GpsEvent);
}

/// How [`run`] reaches gpsd and how often it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpsConfig {
    /// gpsd's `host:port`.
    pub addr: String,
    /// The most often a fix is recorded while the fix mode stays the same; a mode change is
    /// recorded at once.
    pub interval: Duration,
    /// The first wait before reconnecting; it doubles on each failure…
    pub retry_min: Duration,
    /// …up to this, and starts again from `retry_min` after gpsd greeted us.
    pub retry_max: Duration,
    /// How long a peer that accepted the connection may take to send gpsd's VERSION greeting
    /// before the attempt counts as failed (a hung gpsd, or something else on the port).
    pub greeting_timeout: Duration,
}

impl Default for GpsConfig {
    fn default() -> Self {
        Self {
            addr: DEFAULT_GPSD_ADDR.to_owned(),
            interval: Duration::from_secs(60),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            greeting_timeout: Duration::from_secs(10),
        }
    }
}
