//! Which gpsd reports the dock keeps: a state machine fed the dock's time and each report (and the
//! client's connection outcomes) that answers with the fixes and events to record, and keeps the
//! live [`GpsStatus`]. It owns the recording interval, fix-lost/regained detection, merging SKY
//! into fix records, and saying each connection problem once.
//!
//! It is pure: no I/O, no clock, no tokio, and it never stores anything itself — the daemon's
//! [`super::GpsSink`] does. It knows nothing about workers or wearables.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::report::{GpsReport, MODE_2D, MODE_UNKNOWN, Position, SkyView};

/// One recorded fix (or a recorded absence of one: `mode` 0 or 1 with no position).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpsFix {
    /// The dock's clock when the report arrived, in Unix milliseconds: the record's time.
    pub at_ms: i64,
    /// gpsd's UTC time for the report, if it sent one. Not trusted as the record's time: a
    /// cold-booted receiver reports stale dates, and gpsd 3.22 replaying the 2014 BU-353-S4
    /// recording dates it 2034 (its GPS week-rollover guess).
    pub gps_time_ms: Option<i64>,
    /// 0 unknown, 1 no fix, 2 2D fix, 3 3D fix (gpsd's TPV `mode`).
    pub mode: u8,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Metres above mean sea level.
    pub alt_m: Option<f64>,
    /// From the latest SKY reports on this connection.
    pub satellites_used: Option<u32>,
    pub satellites_seen: Option<u32>,
    pub hdop: Option<f64>,
    /// Horizontal error estimate in metres, from the TPV.
    pub eph: Option<f64>,
}

/// A change worth a row of its own. Each is recorded once per change, never once per retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GpsEvent {
    /// gpsd greeted us (its VERSION report).
    Connected { release: String },
    /// An established connection to gpsd ended.
    Disconnected { reason: String },
    /// gpsd could not be reached (the first failure of an outage; retries stay quiet).
    NoGpsd { reason: String },
    /// gpsd runs but has no GPS receiver open (none fitted, or it was unplugged).
    NoReceiver,
    /// The receiver had a 2D/3D fix and now has none.
    FixLost,
    /// The receiver had no fix and now has one.
    FixRegained,
}

impl GpsEvent {
    /// A stable name for the event, for a table column or a log field.
    pub fn kind(&self) -> &'static str {
        match self {
            GpsEvent::Connected { .. } => "connected",
            GpsEvent::Disconnected { .. } => "disconnected",
            GpsEvent::NoGpsd { .. } => "no_gpsd",
            GpsEvent::NoReceiver => "no_receiver",
            GpsEvent::FixLost => "fix_lost",
            GpsEvent::FixRegained => "fix_regained",
        }
    }

    /// The event's words (gpsd's release, or why the connection ended), if it has any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            GpsEvent::Connected { release } => Some(release),
            GpsEvent::Disconnected { reason } | GpsEvent::NoGpsd { reason } => Some(reason),
            GpsEvent::NoReceiver | GpsEvent::FixLost | GpsEvent::FixRegained => None,
        }
    }
}

/// What to hand the sink, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum GpsRecord {
    Fix(GpsFix),
    Event { at_ms: i64, event: GpsEvent },
}

/// The GPS as the dock sees it now, for `dockd status`, the web page and the serial console.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpsStatus {
    /// Connected to gpsd and greeted.
    pub connected: bool,
    pub gpsd_release: Option<String>,
    /// Receivers gpsd has open; `None` until gpsd says.
    pub receivers: Option<u32>,
    /// Mode of the latest TPV report (0 while unknown or disconnected).
    pub mode: u8,
    /// The latest fix's position (kept after the fix is lost; see `last_fix_ms`).
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub alt_m: Option<f64>,
    pub satellites_used: Option<u32>,
    pub satellites_seen: Option<u32>,
    pub hdop: Option<f64>,
    pub eph: Option<f64>,
    /// Dock time of the latest report with a fix.
    pub last_fix_ms: Option<i64>,
    /// Dock time of the latest report of any kind.
    pub last_report_ms: Option<i64>,
    /// Failed connection attempts since gpsd last greeted us.
    pub connect_failures: u32,
    /// Lines skipped since start: not JSON, malformed, or over-long.
    pub skipped_lines: u64,
    /// What is wrong, in words for a technician; `None` when gpsd reports a fix.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Link {
    Starting,
    Up,
    Lost(String),
    Absent(String),
}

/// Decides what to record. Feed it every report and every connection outcome, in order.
#[derive(Debug)]
pub struct Recorder {
    interval_ms: i64,
    addr: String,
    link: Link,
    /// Mode of the latest TPV on this connection; `None` right after (re)connecting, so the first
    /// report of a connection is always recorded.
    mode: Option<u8>,
    /// Whether the latest known (non-zero) mode was a fix, across connections.
    had_fix: Option<bool>,
    last_record_ms: Option<i64>,
    sky: SkyView,
    receivers: Option<BTreeSet<String>>,
    status: GpsStatus,
}

impl Recorder {
    /// `interval`: the most often a fix is recorded while the mode stays the same. `addr` is only
    /// used in the status's words.
    pub fn new(interval: Duration, addr: impl Into<String>) -> Self {
        let mut recorder = Self {
            interval_ms: i64::try_from(interval.as_millis()).unwrap_or(i64::MAX),
            addr: addr.into(),
            link: Link::Starting,
            mode: None,
            had_fix: None,
            last_record_ms: None,
            sky: SkyView::default(),
            receivers: None,
            status: GpsStatus::default(),
        };
        recorder.refresh_problem();
        recorder
    }

    /// The live status after everything fed so far.
    pub fn status(&self) -> &GpsStatus {
        &self.status
    }

    /// gpsd has greeted us on the current connection.
    pub fn is_connected(&self) -> bool {
        self.link == Link::Up
    }

    /// A report from gpsd arrived at dock time `now_ms`.
    pub fn on_report(&mut self, now_ms: i64, report: GpsReport) -> Vec<GpsRecord> {
        let mut out = Vec::new();
        self.status.last_report_ms = Some(now_ms);
        match report {
            GpsReport::Version { release } => {
                if self.link != Link::Up {
                    self.link = Link::Up;
                    self.status.connected = true;
                    self.status.connect_failures = 0;
                    out.push(event(
                        now_ms,
                        GpsEvent::Connected {
                            release: release.clone(),
                        },
                    ));
                }
                self.status.gpsd_release = Some(release);
            }
            GpsReport::Devices { active } => {
                let had_none = self.receivers.as_ref().map(BTreeSet::is_empty);
                let receivers: BTreeSet<String> = active.into_iter().collect();
                if receivers.is_empty() && had_none != Some(true) {
                    out.push(event(now_ms, GpsEvent::NoReceiver));
                }
                self.receivers = Some(receivers);
            }
            GpsReport::Device { path, active } => {
                let receivers = self.receivers.get_or_insert_with(BTreeSet::new);
                let before = receivers.len();
                if active {
                    receivers.insert(path);
                } else {
                    receivers.remove(&path);
                }
                if receivers.is_empty() && before > 0 {
                    out.push(event(now_ms, GpsEvent::NoReceiver));
                }
            }
            GpsReport::Sky(sky) => self.merge_sky(sky),
            GpsReport::Position(position) => self.on_position(now_ms, position, &mut out),
            GpsReport::Error { .. } => {}
        }
        self.status.receivers = self
            .receivers
            .as_ref()
            .map(|r| u32::try_from(r.len()).unwrap_or(u32::MAX));
        self.refresh_problem();
        out
    }

    /// A connection attempt failed (refused, timed out, or closed before gpsd's greeting).
    /// Returns [`GpsEvent::NoGpsd`] for the first failure of an outage only.
    pub fn connect_failed(&mut self, now_ms: i64, reason: &str) -> Option<GpsRecord> {
        self.forget_connection();
        self.status.connect_failures = self.status.connect_failures.saturating_add(1);
        let first = !matches!(self.link, Link::Absent(_));
        self.link = Link::Absent(reason.to_owned());
        self.refresh_problem();
        first.then(|| {
            event(
                now_ms,
                GpsEvent::NoGpsd {
                    reason: reason.to_owned(),
                },
            )
        })
    }

    /// The connection ended. After gpsd's greeting this is [`GpsEvent::Disconnected`]; before it,
    /// the same as [`Recorder::connect_failed`].
    pub fn disconnected(&mut self, now_ms: i64, reason: &str) -> Option<GpsRecord> {
        if self.link != Link::Up {
            return self.connect_failed(now_ms, reason);
        }
        self.forget_connection();
        self.link = Link::Lost(reason.to_owned());
        self.refresh_problem();
        Some(event(
            now_ms,
            GpsEvent::Disconnected {
                reason: reason.to_owned(),
            },
        ))
    }

    /// A line was skipped (not JSON, malformed, over-long): counted in the status.
    pub fn line_skipped(&mut self) {
        self.status.skipped_lines = self.status.skipped_lines.saturating_add(1);
    }

    fn on_position(&mut self, now_ms: i64, position: Position, out: &mut Vec<GpsRecord>) {
        let has_fix = position.mode >= MODE_2D;
        if has_fix && position.lat.is_none() {
            // gpsd reports a fix mode before it has a position (a GSA sentence before any GGA or
            // RMC, as gpsd 3.22 does on the BU-353-S4 recording): wait for the position.
            return;
        }
        if position.mode != MODE_UNKNOWN {
            match self.had_fix {
                Some(true) if !has_fix => out.push(event(now_ms, GpsEvent::FixLost)),
                Some(false) if has_fix => out.push(event(now_ms, GpsEvent::FixRegained)),
                _ => {}
            }
            self.had_fix = Some(has_fix);
        }
        let mode_changed = self.mode != Some(position.mode);
        self.mode = Some(position.mode);
        let due = match self.last_record_ms {
            None => true,
            Some(last) => {
                let elapsed = now_ms.saturating_sub(last);
                // A clock stepped back must not silence recording until it catches up.
                elapsed < 0 || elapsed >= self.interval_ms
            }
        };
        if mode_changed || due {
            self.last_record_ms = Some(now_ms);
            out.push(GpsRecord::Fix(GpsFix {
                at_ms: now_ms,
                gps_time_ms: position.time_ms,
                mode: position.mode,
                lat: position.lat,
                lon: position.lon,
                alt_m: position.alt_m,
                satellites_used: self.sky.satellites_used,
                satellites_seen: self.sky.satellites_seen,
                hdop: self.sky.hdop,
                eph: position.eph,
            }));
        }
        self.status.mode = position.mode;
        self.status.eph = position.eph;
        if let (Some(lat), Some(lon)) = (position.lat, position.lon) {
            self.status.lat = Some(lat);
            self.status.lon = Some(lon);
            self.status.alt_m = position.alt_m;
            self.status.last_fix_ms = Some(now_ms);
        }
    }

    fn merge_sky(&mut self, sky: SkyView) {
        if sky.satellites_used.is_some() {
            self.sky.satellites_used = sky.satellites_used;
        }
        if sky.satellites_seen.is_some() {
            self.sky.satellites_seen = sky.satellites_seen;
        }
        if sky.hdop.is_some() {
            self.sky.hdop = sky.hdop;
        }
        self.status.satellites_used = self.sky.satellites_used;
        self.status.satellites_seen = self.sky.satellites_seen;
        self.status.hdop = self.sky.hdop;
    }

    /// What one connection told us no longer holds once it ends.
    fn forget_connection(&mut self) {
        self.mode = None;
        self.sky = SkyView::default();
        self.receivers = None;
        self.status.connected = false;
        self.status.receivers = None;
        self.status.mode = MODE_UNKNOWN;
        self.status.satellites_used = None;
        self.status.satellites_seen = None;
        self.status.hdop = None;
        self.status.eph = None;
    }

    fn refresh_problem(&mut self) {
        let addr = &self.addr;
        self.status.problem = match &self.link {
            Link::Starting => Some(format!("connecting to gpsd at {addr}")),
            Link::Absent(reason) => Some(format!("no gpsd at {addr} ({reason}); retrying")),
            Link::Lost(reason) => Some(format!("lost gpsd at {addr} ({reason}); reconnecting")),
            Link::Up => match (&self.receivers, self.mode) {
                (Some(receivers), _) if receivers.is_empty() => {
                    Some("gpsd is running but has no GPS receiver".to_owned())
                }
                (_, None) => Some("waiting for the GPS receiver's first report".to_owned()),
                (_, Some(mode)) if mode < MODE_2D => Some("the GPS receiver has no fix".to_owned()),
                (_, Some(_)) => None,
            },
        };
    }
}

fn event(at_ms: i64, event: GpsEvent) -> GpsRecord {
    GpsRecord::Event { at_ms, event }
}

#[cfg(test)]
mod tests {
    use super::super::report::{MODE_3D, MODE_NO_FIX};
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const ADDR: &str = "127.0.0.1:2947";

    fn fix_3d(lat: f64) -> GpsReport {
        GpsReport::Position(Position {
            mode: MODE_3D,
            time_ms: Some(1_419_995_239_000),
            lat: Some(lat),
            lon: Some(175.314896667),
            alt_m: Some(59.9),
            eph: Some(20.9),
        })
    }

    fn no_fix() -> GpsReport {
        GpsReport::Position(Position {
            mode: MODE_NO_FIX,
            ..Position::default()
        })
    }

    fn version() -> GpsReport {
        GpsReport::Version {
            release: "3.22".into(),
        }
    }

    fn connected() -> Recorder {
        let mut recorder = Recorder::new(MINUTE, ADDR);
        recorder.on_report(0, version());
        recorder
    }

    fn fixes(records: &[GpsRecord]) -> Vec<&GpsFix> {
        records
            .iter()
            .filter_map(|r| match r {
                GpsRecord::Fix(fix) => Some(fix),
                GpsRecord::Event { .. } => None,
            })
            .collect()
    }

    fn events(records: &[GpsRecord]) -> Vec<&GpsEvent> {
        records
            .iter()
            .filter_map(|r| match r {
                GpsRecord::Event { event, .. } => Some(event),
                GpsRecord::Fix(_) => None,
            })
            .collect()
    }

    /// Feeds one report per second from `start_s` for `seconds` and keeps every record.
    fn feed_each_second(
        recorder: &mut Recorder,
        start_s: i64,
        seconds: i64,
        report: impl Fn() -> GpsReport,
    ) -> Vec<GpsRecord> {
        (start_s..start_s + seconds)
            .flat_map(|s| recorder.on_report(s * 1000, report()))
            .collect()
    }

    #[test]
    fn the_first_fix_is_recorded_at_once_then_at_most_once_a_minute() {
        let mut recorder = connected();
        let records = feed_each_second(&mut recorder, 0, 150, || fix_3d(-37.78));
        let at: Vec<i64> = fixes(&records).iter().map(|f| f.at_ms).collect();
        assert_eq!(at, vec![0, 60_000, 120_000]);
        assert!(events(&records).is_empty());
    }

    #[test]
    fn several_reports_in_one_second_still_give_one_record_per_interval() {
        let mut recorder = connected();
        let mut records = Vec::new();
        for ms in (0..61_000).step_by(250) {
            records.extend(recorder.on_report(ms, fix_3d(-37.78)));
        }
        assert_eq!(fixes(&records).len(), 2);
    }

    #[test]
    fn a_mode_change_is_recorded_at_once_whatever_the_interval() {
        let mut recorder = connected();
        assert_eq!(fixes(&recorder.on_report(1_000, fix_3d(-37.78))).len(), 1);
        let lost = recorder.on_report(2_000, no_fix());
        assert_eq!(fixes(&lost).len(), 1);
        assert_eq!(fixes(&lost)[0].mode, MODE_NO_FIX);
        assert_eq!(events(&lost), vec![&GpsEvent::FixLost]);
        let back = recorder.on_report(3_000, fix_3d(-37.79));
        assert_eq!(fixes(&back).len(), 1);
        assert_eq!(events(&back), vec![&GpsEvent::FixRegained]);
        // Stable again: nothing until the interval has passed since the last record.
        assert!(recorder.on_report(4_000, fix_3d(-37.79)).is_empty());
        assert_eq!(fixes(&recorder.on_report(63_000, fix_3d(-37.79))).len(), 1);
    }

    #[test]
    fn a_2d_to_3d_change_is_recorded_without_a_lost_or_regained_event() {
        let mut recorder = connected();
        recorder.on_report(0, fix_3d(1.0));
        let two_d = recorder.on_report(
            1_000,
            GpsReport::Position(Position {
                mode: MODE_2D,
                lat: Some(1.0),
                lon: Some(2.0),
                ..Position::default()
            }),
        );
        assert_eq!(fixes(&two_d).len(), 1);
        assert!(events(&two_d).is_empty());
    }

    #[test]
    fn a_first_report_without_a_fix_then_a_fix_is_a_regained_fix() {
        let mut recorder = connected();
        let first = recorder.on_report(0, no_fix());
        assert!(events(&first).is_empty(), "nothing was lost: {first:?}");
        let then = recorder.on_report(1_000, fix_3d(1.0));
        assert_eq!(events(&then), vec![&GpsEvent::FixRegained]);
    }

    #[test]
    fn a_fix_mode_without_a_position_is_neither_recorded_nor_a_regained_fix() {
        let mut recorder = connected();
        recorder.on_report(0, no_fix());
        let early = recorder.on_report(
            1_000,
            GpsReport::Position(Position {
                mode: MODE_3D,
                eph: Some(20.9),
                ..Position::default()
            }),
        );
        assert!(early.is_empty(), "{early:?}");
        assert_eq!(recorder.status().mode, MODE_NO_FIX);
        let with_position = recorder.on_report(1_500, fix_3d(1.0));
        assert_eq!(events(&with_position), vec![&GpsEvent::FixRegained]);
        assert_eq!(fixes(&with_position)[0].lat, Some(1.0));
    }

    #[test]
    fn mode_0_neither_loses_nor_regains_a_fix() {
        let mut recorder = connected();
        recorder.on_report(0, fix_3d(1.0));
        let unknown = recorder.on_report(
            1_000,
            GpsReport::Position(Position {
                mode: MODE_UNKNOWN,
                ..Position::default()
            }),
        );
        assert!(events(&unknown).is_empty());
        assert_eq!(fixes(&unknown)[0].mode, MODE_UNKNOWN);
        assert!(events(&recorder.on_report(2_000, fix_3d(1.0))).is_empty());
    }

    #[test]
    fn sky_reports_merge_field_by_field_into_the_next_fix_record() {
        let mut recorder = connected();
        let before_sky = recorder.on_report(0, fix_3d(1.0));
        assert_eq!(fixes(&before_sky)[0].satellites_used, None);
        recorder.on_report(
            500,
            GpsReport::Sky(SkyView {
                satellites_used: Some(8),
                satellites_seen: Some(12),
                hdop: Some(1.1),
            }),
        );
        // A partial SKY keeps what the full one said about the fields it leaves out.
        recorder.on_report(
            600,
            GpsReport::Sky(SkyView {
                satellites_used: Some(7),
                satellites_seen: None,
                hdop: None,
            }),
        );
        let records = recorder.on_report(60_000, fix_3d(1.0));
        let fix = fixes(&records)[0];
        assert_eq!(fix.satellites_used, Some(7));
        assert_eq!(fix.satellites_seen, Some(12));
        assert_eq!(fix.hdop, Some(1.1));
        assert_eq!(fix.eph, Some(20.9));
    }

    #[test]
    fn absent_fields_stay_absent_in_the_record() {
        let mut recorder = connected();
        let records = recorder.on_report(5_000, no_fix());
        let fix = fixes(&records)[0];
        assert_eq!(
            (fix.lat, fix.lon, fix.alt_m, fix.hdop, fix.eph),
            (None, None, None, None, None)
        );
        assert_eq!((fix.satellites_used, fix.satellites_seen), (None, None));
        assert_eq!(fix.gps_time_ms, None);
        assert_eq!(fix.at_ms, 5_000);
    }

    #[test]
    fn the_dock_time_is_the_record_time_and_gpsd_time_is_kept_beside_it() {
        let mut recorder = connected();
        let records = recorder.on_report(1_800_000_000_000, fix_3d(1.0));
        let fix = fixes(&records)[0];
        assert_eq!(fix.at_ms, 1_800_000_000_000);
        assert_eq!(fix.gps_time_ms, Some(1_419_995_239_000));
    }

    #[test]
    fn a_clock_stepped_back_does_not_silence_recording() {
        let mut recorder = connected();
        recorder.on_report(10_000_000, fix_3d(1.0));
        assert_eq!(fixes(&recorder.on_report(5_000, fix_3d(1.0))).len(), 1);
    }

    #[test]
    fn an_interval_of_zero_records_every_report() {
        let mut recorder = Recorder::new(Duration::ZERO, ADDR);
        recorder.on_report(0, version());
        let records = feed_each_second(&mut recorder, 0, 5, || fix_3d(1.0));
        assert_eq!(fixes(&records).len(), 5);
    }

    #[test]
    fn connection_problems_are_said_once_per_outage() {
        let mut recorder = Recorder::new(MINUTE, ADDR);
        assert_eq!(
            recorder.status().problem.as_deref(),
            Some("connecting to gpsd at 127.0.0.1:2947")
        );
        let first = recorder.connect_failed(0, "connection refused");
        assert!(matches!(
            first,
            Some(GpsRecord::Event {
                event: GpsEvent::NoGpsd { .. },
                ..
            })
        ));
        for attempt in 1..10 {
            assert_eq!(
                recorder.connect_failed(attempt * 1000, "connection refused"),
                None
            );
        }
        assert_eq!(recorder.status().connect_failures, 10);
        assert_eq!(
            recorder.status().problem.as_deref(),
            Some("no gpsd at 127.0.0.1:2947 (connection refused); retrying")
        );
        assert!(!recorder.status().connected);

        let greeted = recorder.on_report(20_000, version());
        assert_eq!(
            events(&greeted),
            vec![&GpsEvent::Connected {
                release: "3.22".into()
            }]
        );
        assert_eq!(recorder.status().connect_failures, 0);
        assert!(recorder.status().connected);
        assert!(events(&recorder.on_report(20_001, version())).is_empty());

        let dropped = recorder.disconnected(30_000, "gpsd closed the connection");
        assert_eq!(
            dropped,
            Some(GpsRecord::Event {
                at_ms: 30_000,
                event: GpsEvent::Disconnected {
                    reason: "gpsd closed the connection".into()
                }
            })
        );
        // The outage that follows is said once more, then quiet again.
        assert!(
            recorder
                .connect_failed(31_000, "connection refused")
                .is_some()
        );
        assert!(
            recorder
                .connect_failed(33_000, "connection refused")
                .is_none()
        );
    }

    #[test]
    fn a_connection_closed_before_the_greeting_counts_as_no_gpsd() {
        let mut recorder = Recorder::new(MINUTE, ADDR);
        let record = recorder.disconnected(0, "closed before gpsd's greeting");
        assert!(matches!(
            record,
            Some(GpsRecord::Event {
                event: GpsEvent::NoGpsd { .. },
                ..
            })
        ));
        assert_eq!(
            recorder.disconnected(1, "closed before gpsd's greeting"),
            None
        );
    }

    #[test]
    fn the_first_report_after_a_reconnect_is_recorded_at_once() {
        let mut recorder = connected();
        recorder.on_report(0, fix_3d(1.0));
        recorder.disconnected(1_000, "gpsd closed the connection");
        recorder.on_report(2_000, version());
        let records = recorder.on_report(3_000, fix_3d(1.0));
        assert_eq!(fixes(&records).len(), 1);
        // A fix before and after a gpsd restart is not a lost fix.
        assert!(events(&records).is_empty());
    }

    #[test]
    fn sky_from_a_previous_connection_is_not_carried_into_the_next() {
        let mut recorder = connected();
        recorder.on_report(
            0,
            GpsReport::Sky(SkyView {
                satellites_used: Some(8),
                satellites_seen: Some(12),
                hdop: Some(1.1),
            }),
        );
        recorder.disconnected(1_000, "gone");
        recorder.on_report(2_000, version());
        let records = recorder.on_report(3_000, fix_3d(1.0));
        assert_eq!(fixes(&records)[0].satellites_used, None);
        assert_eq!(recorder.status().satellites_used, None);
    }

    #[test]
    fn gpsd_without_a_receiver_says_so_once_and_a_plugged_receiver_clears_it() {
        let mut recorder = connected();
        let none = recorder.on_report(0, GpsReport::Devices { active: vec![] });
        assert_eq!(events(&none), vec![&GpsEvent::NoReceiver]);
        assert_eq!(recorder.status().receivers, Some(0));
        assert_eq!(
            recorder.status().problem.as_deref(),
            Some("gpsd is running but has no GPS receiver")
        );
        assert!(events(&recorder.on_report(1, GpsReport::Devices { active: vec![] })).is_empty());

        recorder.on_report(
            2,
            GpsReport::Device {
                path: "/dev/ttyACM0".into(),
                active: true,
            },
        );
        assert_eq!(recorder.status().receivers, Some(1));
        assert_eq!(
            recorder.status().problem.as_deref(),
            Some("waiting for the GPS receiver's first report")
        );
        let unplugged = recorder.on_report(
            3,
            GpsReport::Device {
                path: "/dev/ttyACM0".into(),
                active: false,
            },
        );
        assert_eq!(events(&unplugged), vec![&GpsEvent::NoReceiver]);
    }

    #[test]
    fn the_status_follows_every_report_and_keeps_the_last_position_after_a_lost_fix() {
        let mut recorder = connected();
        recorder.on_report(1_000, fix_3d(-37.78));
        let status = recorder.status();
        assert_eq!(status.mode, MODE_3D);
        assert_eq!(status.lat, Some(-37.78));
        assert_eq!(status.alt_m, Some(59.9));
        assert_eq!(status.last_fix_ms, Some(1_000));
        assert_eq!(status.problem, None);
        // Not recorded (within the interval) but still shown.
        recorder.on_report(2_000, fix_3d(-37.79));
        assert_eq!(recorder.status().lat, Some(-37.79));
        assert_eq!(recorder.status().last_fix_ms, Some(2_000));

        recorder.on_report(3_000, no_fix());
        let status = recorder.status();
        assert_eq!(status.mode, MODE_NO_FIX);
        assert_eq!(status.lat, Some(-37.79));
        assert_eq!(status.last_fix_ms, Some(2_000));
        assert_eq!(status.last_report_ms, Some(3_000));
        assert_eq!(
            status.problem.as_deref(),
            Some("the GPS receiver has no fix")
        );
    }

    #[test]
    fn skipped_lines_are_counted_in_the_status() {
        let mut recorder = connected();
        recorder.line_skipped();
        recorder.line_skipped();
        assert_eq!(recorder.status().skipped_lines, 2);
    }

    #[test]
    fn events_have_stable_kinds_and_details_for_the_daemon_table() {
        assert_eq!(GpsEvent::FixLost.kind(), "fix_lost");
        assert_eq!(GpsEvent::FixLost.detail(), None);
        let no_gpsd = GpsEvent::NoGpsd {
            reason: "connection refused".into(),
        };
        assert_eq!(no_gpsd.kind(), "no_gpsd");
        assert_eq!(no_gpsd.detail(), Some("connection refused"));
        let json = serde_json::to_string(&no_gpsd).unwrap_or_default();
        assert_eq!(json, r#"{"event":"no_gpsd","reason":"connection refused"}"#);
    }
}
