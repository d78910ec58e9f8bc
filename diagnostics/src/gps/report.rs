//! One line of gpsd's JSON output → the report the dock uses. It owns reading `class` first and
//! handing TPV, SKY and VERSION to `gpsd_proto`'s types, and reading the few fields those types
//! lack (the raw fix mode, `nSat`/`uSat`, device lists) from the JSON itself.
//!
//! It is pure (no I/O, no clock) and must never treat a report it does not know as fatal: WATCH,
//! TOFF, PPS, ATT, POLL and any future class are `Ok(None)`; only a line that is not JSON, or a
//! TPV/SKY/VERSION that does not match its schema, is an error, which callers skip. It never uses
//! `gpsd_proto`'s `Device`/`DeviceInfo` (their `bps: u16` and string-only `activated` reject real
//! receivers) nor its `handshake()`.

use gpsd_proto::{Mode, Sky, Tpv, Version};
use serde::Deserialize;
use serde_json::Value;

/// gpsd's TPV `mode`: not known yet.
pub const MODE_UNKNOWN: u8 = 0;
/// gpsd's TPV `mode`: the receiver has no fix.
pub const MODE_NO_FIX: u8 = 1;
/// gpsd's TPV `mode`: a two-dimensional fix (no altitude).
pub const MODE_2D: u8 = 2;
/// gpsd's TPV `mode`: a three-dimensional fix.
pub const MODE_3D: u8 = 3;

/// What one line of gpsd's output says, for the classes the dock uses.
#[derive(Debug, Clone, PartialEq)]
pub enum GpsReport {
    /// VERSION: gpsd's greeting, the first line of every connection.
    Version { release: String },
    /// DEVICES: the paths of the receivers gpsd has open. Empty on a dock without a GPS module.
    Devices { active: Vec<String> },
    /// DEVICE: one receiver was opened (`active`) or closed (unplugged).
    Device { path: String, active: bool },
    /// TPV: time, position, velocity.
    Position(Position),
    /// SKY: the satellites in view.
    Sky(SkyView),
    /// ERROR: gpsd refused a command.
    Error { message: String },
}

/// The parts of a TPV report the dock records. A field gpsd left out, or sent as a non-finite or
/// impossible number, is `None`; position fields are `None` without a fix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Position {
    /// [`MODE_UNKNOWN`], [`MODE_NO_FIX`], [`MODE_2D`] or [`MODE_3D`].
    pub mode: u8,
    /// gpsd's UTC time for the report, in Unix milliseconds.
    pub time_ms: Option<i64>,
    /// Degrees, north positive. Only with a 2D or 3D fix.
    pub lat: Option<f64>,
    /// Degrees, east positive. Only with a 2D or 3D fix.
    pub lon: Option<f64>,
    /// Metres above mean sea level (`altMSL`, else the older `alt`). Only with a 3D fix.
    pub alt_m: Option<f64>,
    /// Horizontal position error estimate in metres.
    pub eph: Option<f64>,
}

/// The parts of a SKY report the dock records. gpsd often sends partial SKY reports (only `hdop`
/// and `uSat`, say); absent fields are `None` and callers merge reports field by field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SkyView {
    /// Satellites used in the solution (`uSat`, else counted from `satellites`).
    pub satellites_used: Option<u32>,
    /// Satellites in view (`nSat`, else the length of `satellites`).
    pub satellites_seen: Option<u32>,
    /// Horizontal dilution of precision.
    pub hdop: Option<f64>,
}

/// Why a line could not be read. Callers skip the line and go on: none of these is fatal.
/// Messages quote at most [`REASON_CHARS`] characters of what the peer sent (a line may be huge
/// or hostile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GpsParseError {
    #[error("not JSON ({reason})")]
    NotJson { reason: String },
    #[error("a JSON value without a \"class\"")]
    NoClass,
    #[error("a malformed {class} report ({reason})")]
    Malformed { class: &'static str, reason: String },
}

/// The longest reason a [`GpsParseError`] carries, in characters.
pub const REASON_CHARS: usize = 80;

fn reason(error: &serde_json::Error) -> String {
    let mut text = error.to_string();
    if let Some((cut, _)) = text.char_indices().nth(REASON_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Reads one line of gpsd's output (without its line ending; surrounding white space is ignored).
/// `Ok(None)` for a blank line and for classes the dock does not use.
pub fn parse_line(line: &str) -> Result<Option<GpsReport>, GpsParseError> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    let value: Value = serde_json::from_str(line).map_err(|error| GpsParseError::NotJson {
        reason: reason(&error),
    })?;
    let class = value
        .get("class")
        .and_then(Value::as_str)
        .ok_or(GpsParseError::NoClass)?;
    let report = match class {
        "TPV" => {
            let tpv = Tpv::deserialize(&value).map_err(malformed("TPV"))?;
            GpsReport::Position(position(&tpv, value.get("mode")))
        }
        "SKY" => {
            let sky = Sky::deserialize(&value).map_err(malformed("SKY"))?;
            GpsReport::Sky(sky_view(&sky, &value))
        }
        "VERSION" => {
            let version = Version::deserialize(&value).map_err(malformed("VERSION"))?;
            GpsReport::Version {
                release: version.release,
            }
        }
        "DEVICES" => GpsReport::Devices {
            active: value
                .get("devices")
                .and_then(Value::as_array)
                .map(|devices| {
                    devices
                        .iter()
                        .filter(|device| is_active(device))
                        .map(device_path)
                        .collect()
                })
                .unwrap_or_default(),
        },
        "DEVICE" => GpsReport::Device {
            path: device_path(&value),
            active: is_active(&value),
        },
        "ERROR" => GpsReport::Error {
            message: value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        },
        _ => return Ok(None),
    };
    Ok(Some(report))
}

fn malformed(class: &'static str) -> impl FnOnce(serde_json::Error) -> GpsParseError {
    move |error| GpsParseError::Malformed {
        class,
        reason: reason(&error),
    }
}

fn position(tpv: &Tpv, raw_mode: Option<&Value>) -> Position {
    // gpsd_proto folds mode 0 (unknown) into NoFix; the raw number tells them apart.
    let mode = match tpv.mode {
        Mode::Fix3d => MODE_3D,
        Mode::Fix2d => MODE_2D,
        Mode::NoFix if raw_mode.and_then(Value::as_u64) == Some(1) => MODE_NO_FIX,
        Mode::NoFix => MODE_UNKNOWN,
    };
    let fix = mode >= MODE_2D;
    let lat = tpv
        .lat
        .filter(|lat| fix && lat.is_finite() && lat.abs() <= 90.0);
    let lon = tpv
        .lon
        .filter(|lon| fix && lon.is_finite() && lon.abs() <= 180.0);
    // Half a position is no position.
    let (lat, lon) = match (lat, lon) {
        (Some(lat), Some(lon)) => (Some(lat), Some(lon)),
        _ => (None, None),
    };
    Position {
        mode,
        time_ms: tpv.time.as_deref().and_then(time_ms),
        lat,
        lon,
        alt_m: if mode == MODE_3D {
            tpv.alt_msl.or(tpv.alt).and_then(widen)
        } else {
            None
        },
        eph: tpv.eph.and_then(widen).filter(|eph| *eph >= 0.0),
    }
}

fn sky_view(sky: &Sky, value: &Value) -> SkyView {
    let listed = sky.satellites.as_deref();
    let count = |n: usize| u32::try_from(n).ok();
    SkyView {
        satellites_used: value
            .get("uSat")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .or_else(|| listed.and_then(|sats| count(sats.iter().filter(|s| s.used).count()))),
        satellites_seen: value
            .get("nSat")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .or_else(|| listed.and_then(|sats| count(sats.len()))),
        hdop: sky.hdop.and_then(widen).filter(|hdop| *hdop >= 0.0),
    }
}

/// gpsd ≥ 3.10 sends `activated` as an ISO time and leaves it out for a closed device; older
/// versions sent a number, 0 when closed.
fn is_active(device: &Value) -> bool {
    match device.get("activated") {
        None | Some(Value::Null) => false,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|t| t != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn device_path(device: &Value) -> String {
    device
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// gpsd's ISO 8601 UTC time (`2014-12-31T03:07:19.000Z`) in Unix milliseconds.
fn time_ms(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(jiff::Timestamp::as_millisecond)
}

/// `gpsd_proto` keeps most measures as `f32`; widen through the shortest decimal form so 59.9
/// stays 59.9 rather than becoming 59.900001525878906. Non-finite values are absent.
fn widen(value: f32) -> Option<f64> {
    if value.is_finite() {
        value.to_string().parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(line: &str) -> GpsReport {
        match parse_line(line) {
            Ok(Some(report)) => report,
            other => panic!("expected a report from {line}, got {other:?}"),
        }
    }

    fn position_of(line: &str) -> Position {
        match report(line) {
            GpsReport::Position(position) => position,
            other => panic!("expected a TPV, got {other:?}"),
        }
    }

    fn sky_of(line: &str) -> SkyView {
        match report(line) {
            GpsReport::Sky(sky) => sky,
            other => panic!("expected a SKY, got {other:?}"),
        }
    }

    #[test]
    fn a_3d_tpv_from_the_bu353s4_recording_gives_its_position_altitude_and_time() {
        let p = position_of(
            r#"{"class":"TPV","mode":3,"time":"2014-12-31T03:07:19.000Z","ept":0.005,"lat":-37.784788333,"lon":175.314896667,"altHAE":83.6000,"altMSL":59.9000,"alt":59.9000,"epv":34.500,"track":181.3900,"magtrack":201.9320,"magvar":20.5,"speed":0.355,"geoidSep":23.700,"eph":20.900,"sep":34.200}"#,
        );
        assert_eq!(p.mode, MODE_3D);
        assert_eq!(p.time_ms, Some(1_419_995_239_000));
        assert_eq!(p.lat, Some(-37.784788333));
        assert_eq!(p.lon, Some(175.314896667));
        assert_eq!(p.alt_m, Some(59.9));
        assert_eq!(p.eph, Some(20.9));
    }

    #[test]
    fn a_tpv_without_time_has_no_time_rather_than_a_guessed_one() {
        let p = position_of(
            r#"{"class":"TPV","mode":3,"lat":-37.784788333,"lon":175.314896667,"altMSL":59.9000,"eph":20.900}"#,
        );
        assert_eq!(p.time_ms, None);
        assert_eq!(p.lat, Some(-37.784788333));
    }

    #[test]
    fn a_no_fix_tpv_is_mode_1_with_no_position() {
        let p = position_of(
            r#"{"class":"TPV","mode":1,"time":"2002-11-14T14:32:55.280Z","ept":0.005}"#,
        );
        assert_eq!(p.mode, MODE_NO_FIX);
        assert_eq!((p.lat, p.lon, p.alt_m), (None, None, None));
        assert_eq!(p.time_ms, Some(1_037_284_375_280));
    }

    #[test]
    fn mode_0_stays_unknown_instead_of_becoming_no_fix() {
        assert_eq!(
            position_of(r#"{"class":"TPV","mode":0}"#).mode,
            MODE_UNKNOWN
        );
        assert_eq!(
            position_of(r#"{"class":"TPV","mode":9}"#).mode,
            MODE_UNKNOWN
        );
    }

    #[test]
    fn a_2d_fix_has_a_position_but_no_altitude() {
        let p = position_of(
            r#"{"class":"TPV","mode":2,"time":"2017-01-10T00:09:41.000Z","lat":44.068897833,"lon":-121.314271333,"alt":12.0}"#,
        );
        assert_eq!(p.mode, MODE_2D);
        assert_eq!(p.lat, Some(44.068897833));
        assert_eq!(p.alt_m, None);
    }

    #[test]
    fn a_position_sent_without_a_fix_or_out_of_range_is_dropped() {
        let stale = position_of(r#"{"class":"TPV","mode":1,"lat":48.1,"lon":11.5,"alt":500}"#);
        assert_eq!((stale.lat, stale.lon, stale.alt_m), (None, None, None));
        let impossible = position_of(r#"{"class":"TPV","mode":3,"lat":91.0,"lon":11.5}"#);
        assert_eq!((impossible.lat, impossible.lon), (None, None));
        let half = position_of(r#"{"class":"TPV","mode":3,"lat":48.1}"#);
        assert_eq!((half.lat, half.lon), (None, None));
    }

    #[test]
    fn an_overflowing_float_is_absent_rather_than_infinite() {
        // 1e39 does not fit gpsd_proto's f32: it becomes infinity, which must not be recorded.
        let p = position_of(
            r#"{"class":"TPV","mode":3,"lat":1.0,"lon":2.0,"altMSL":1e39,"eph":-1e39}"#,
        );
        assert_eq!(p.alt_m, None);
        assert_eq!(p.eph, None);
    }

    #[test]
    fn an_unparseable_time_is_absent_and_the_report_still_counts() {
        let p = position_of(r#"{"class":"TPV","mode":3,"time":"yesterday","lat":1.0,"lon":2.0}"#);
        assert_eq!(p.time_ms, None);
        assert_eq!(p.lat, Some(1.0));
    }

    #[test]
    fn a_partial_sky_gives_only_what_it_says() {
        let sky = sky_of(r#"{"class":"SKY","hdop":1.10,"uSat":8}"#);
        assert_eq!(
            sky,
            SkyView {
                satellites_used: Some(8),
                satellites_seen: None,
                hdop: Some(1.1),
            }
        );
    }

    #[test]
    fn a_sky_without_counts_is_counted_from_its_satellite_list() {
        let sky = sky_of(
            r#"{"class":"SKY","device":"/dev/pts/1","hdop":0.90,"satellites":[{"PRN":5,"el":40.0,"az":83.0,"ss":46.0,"used":true},{"PRN":7,"el":10.0,"az":3.0,"ss":0.0,"used":false},{"PRN":9,"used":true}]}"#,
        );
        assert_eq!(sky.satellites_used, Some(2));
        assert_eq!(sky.satellites_seen, Some(3));
        assert_eq!(sky.hdop, Some(0.9));
    }

    #[test]
    fn a_no_fix_sky_says_zero_satellites() {
        let sky = sky_of(r#"{"class":"SKY","time":"2002-11-14T14:32:55.280Z","nSat":0,"uSat":0}"#);
        assert_eq!(sky.satellites_used, Some(0));
        assert_eq!(sky.satellites_seen, Some(0));
        assert_eq!(sky.hdop, None);
    }

    #[test]
    fn version_devices_device_and_error_become_typed_reports() {
        assert_eq!(
            report(
                r#"{"class":"VERSION","release":"3.22","rev":"3.22","proto_major":3,"proto_minor":14}"#
            ),
            GpsReport::Version {
                release: "3.22".into()
            }
        );
        assert_eq!(
            report(
                r#"{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/pts/1","activated":"2026-06-15T12:00:00.000Z","native":0,"bps":4800},{"class":"DEVICE","path":"/dev/ttyACM0"}]}"#
            ),
            GpsReport::Devices {
                active: vec!["/dev/pts/1".into()]
            }
        );
        assert_eq!(
            report(r#"{"class":"DEVICES","devices":[]}"#),
            GpsReport::Devices { active: vec![] }
        );
        // bps above u16, which gpsd_proto's Device type rejects.
        assert_eq!(
            report(
                r#"{"class":"DEVICE","path":"/dev/ttyACM0","activated":"2026-06-15T12:00:00.000Z","bps":115200}"#
            ),
            GpsReport::Device {
                path: "/dev/ttyACM0".into(),
                active: true
            }
        );
        assert_eq!(
            report(r#"{"class":"DEVICE","path":"/dev/ttyACM0","activated":0}"#),
            GpsReport::Device {
                path: "/dev/ttyACM0".into(),
                active: false
            }
        );
        assert_eq!(
            report(r#"{"class":"ERROR","message":"Unrecognized request 'FOO'"}"#),
            GpsReport::Error {
                message: "Unrecognized request 'FOO'".into()
            }
        );
    }

    #[test]
    fn watch_and_classes_the_dock_does_not_use_are_skipped_quietly() {
        for line in [
            r#"{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0}"#,
            r#"{"class":"TOFF","device":"/dev/pts/1","real_sec":1,"real_nsec":0}"#,
            r#"{"class":"ATT","heading":1.0}"#,
            r#"{"class":"SOMETHING_NEW","release":5}"#,
            "",
            "   \r",
        ] {
            assert!(
                matches!(parse_line(line), Ok(None)),
                "{line} should be skipped"
            );
        }
    }

    #[test]
    fn garbage_and_broken_reports_are_errors_not_panics() {
        assert!(matches!(
            parse_line("$GPGGA,030719.000,3747.0873,S"),
            Err(GpsParseError::NotJson { .. })
        ));
        assert!(matches!(
            parse_line(r#"{"mode":3}"#),
            Err(GpsParseError::NoClass)
        ));
        assert!(matches!(
            parse_line(r#"["class","TPV"]"#),
            Err(GpsParseError::NoClass)
        ));
        assert!(matches!(
            parse_line(r#"{"class":"TPV","lat":1.0}"#),
            Err(GpsParseError::Malformed { class: "TPV", .. })
        ));
        assert!(matches!(
            parse_line(r#"{"class":"SKY","hdop":"low"}"#),
            Err(GpsParseError::Malformed { class: "SKY", .. })
        ));
        assert!(matches!(
            parse_line(r#"{"class":"VERSION"}"#),
            Err(GpsParseError::Malformed {
                class: "VERSION",
                ..
            })
        ));
    }

    #[test]
    fn an_error_quotes_at_most_a_short_piece_of_a_hostile_line() {
        let payload = "x".repeat(10_000);
        let Err(error) = parse_line(&format!(r#"{{"class":"TPV","mode":"{payload}"}}"#)) else {
            panic!("a string mode must not parse");
        };
        let text = error.to_string();
        assert!(text.starts_with("a malformed TPV report"), "{text}");
        assert!(text.chars().count() < REASON_CHARS + 40, "{text}");
    }
}
