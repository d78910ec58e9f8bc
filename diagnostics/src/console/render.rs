//! Turning view types into console output: aligned plain text (ASCII labels, columns padded to
//! the widest cell) or one line of JSON. Pure: the time to measure ages from arrives as a value.
//!
//! It must never pass a control character through: every string from the daemon goes through
//! [`clean`] before it is printed as text (JSON escapes them itself). It prints only the fields
//! of the view types, which hold no worker names or tags.

use serde::Serialize;

use super::command::{COMMANDS, CommandHelp};
use super::{
    CheckLine, DockStatus, GpsLine, NetLine, PowerLine, SlotLine, StorageLine, UPDATE_EVENTS_SHOWN,
    UpdateLine, UploadLine, WearableLine,
};

/// Replaces control characters (C0, DEL, C1: escape sequences, bells, backspaces) with `?`.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// One line of JSON. serde_json escapes C0 controls; DEL and C1 controls (an 8-bit terminal
/// takes U+009B for CSI) are escaped here too, so the line holds no control character at all.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Vec<String> {
    let text = serde_json::to_string(value).unwrap_or_else(|_| {
        r#"{"ok":false,"error":"cannot encode the answer as JSON"}"#.to_owned()
    });
    let mut line = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            line.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            line.push(c);
        }
    }
    vec![line]
}

#[derive(Serialize)]
struct Outcome<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// An error as one line of JSON: `{"ok":false,"error":"…"}`.
pub fn json_error(message: &str) -> Vec<String> {
    json(&Outcome {
        ok: false,
        message: None,
        error: Some(message),
    })
}

/// A message as one line of JSON: `{"ok":true,"message":"…"}`.
pub fn json_message(message: &str) -> Vec<String> {
    json(&Outcome {
        ok: true,
        message: Some(message),
        error: None,
    })
}

/// Columns of text, each padded to its widest cell; numbers right-aligned.
struct Table {
    header: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Self {
        Self {
            header: columns.iter().map(|c| c.0).collect(),
            right: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| clean(c)).collect());
    }

    fn lines(&self) -> Vec<String> {
        let width = |cell: &str| cell.chars().count();
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut out = String::new();
            for (i, cell) in cells.enumerate() {
                if i > 0 {
                    out.push_str("  ");
                }
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(width(cell));
                if self.right.get(i).copied().unwrap_or(false) {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.trim_end().to_owned()
        };
        let mut lines = vec![line(&mut self.header.iter().copied())];
        for row in &self.rows {
            lines.push(line(&mut row.iter().map(String::as_str)));
        }
        lines
    }
}

/// `label  value` lines with the values in one column; a label of `""` continues the line above.
fn pairs(items: &[(&str, String)]) -> Vec<String> {
    let width = items.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    items
        .iter()
        .map(|(key, value)| {
            format!("{key:<width$}{}", clean(value))
                .trim_end()
                .to_owned()
        })
        .collect()
}

fn percent(value: Option<u8>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v} %"))
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// A byte count in binary units, one decimal.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An uptime as `3 d 04:05:06` or `04:05:06`.
pub fn uptime(seconds: u64) -> String {
    let (d, rest) = (seconds / 86_400, seconds % 86_400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    );
    if d > 0 { format!("{d} d {hms}") } else { hms }
}

/// A Unix-ms time in UTC, with its age against `now_ms`.
pub fn when(ms: i64, now_ms: i64) -> String {
    let Ok(at) = jiff::Timestamp::from_millisecond(ms) else {
        return format!("{ms} ms (out of range)");
    };
    let age_s = now_ms.saturating_sub(ms) / 1000;
    let age = match age_s {
        ..0 => "in the future".to_owned(),
        0..60 => format!("{age_s} s ago"),
        60..3600 => format!("{} min ago", age_s / 60),
        3600..86_400 => format!("{} h ago", age_s / 3600),
        _ => format!("{} d ago", age_s / 86_400),
    };
    format!("{} UTC ({age})", at.strftime("%Y-%m-%d %H:%M:%S"))
}

/// A certificate fingerprint as browsers show it: colon-separated upper-case pairs, two lines
/// of 16. Anything that is not 32 bytes of hex is shown as given.
pub fn fingerprint(text: &str) -> Vec<String> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return vec![clean(text)];
    }
    let pairs: Vec<String> = hex
        .to_ascii_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    pairs.chunks(16).map(|half| half.join(":")).collect()
}

pub fn help(topic: Option<&CommandHelp>) -> Vec<String> {
    match topic {
        Some(help) => vec![
            format!("usage: {}", help.usage),
            format!("  {}", help.summary),
        ],
        None => {
            let mut table = Table::new(&[("command", false), ("", false)]);
            for help in COMMANDS {
                table.row(vec![help.usage.to_owned(), help.summary.to_owned()]);
            }
            let mut lines = table.lines();
            lines.remove(0);
            lines.push(
                "Add --json to any command for one line of JSON, --all to skip paging.".into(),
            );
            lines
        }
    }
}

pub fn help_json(topic: Option<&CommandHelp>) -> Vec<String> {
    match topic {
        Some(help) => json(help),
        None => json(&std::collections::BTreeMap::from([("commands", COMMANDS)])),
    }
}

pub fn status(status: &DockStatus) -> Vec<String> {
    let mut items = vec![
        ("dock", status.dock_name.clone()),
        ("version", status.version.clone()),
        ("uptime", uptime(status.uptime_s)),
        (
            "web page",
            status
                .web_url
                .clone()
                .unwrap_or_else(|| "not serving".into()),
        ),
    ];
    match &status.web_certificate_sha256 {
        Some(fp) => {
            for (i, line) in fingerprint(fp).into_iter().enumerate() {
                let key = if i == 0 { "web certificate" } else { "" };
                let prefix = if i == 0 { "SHA-256 " } else { "        " };
                items.push((key, format!("{prefix}{line}")));
            }
        }
        None => items.push(("web certificate", "none yet".into())),
    }
    items.push(("wearables", format!("{} docked", status.wearables_docked)));
    items.push(("segments", format!("{} stored", status.segments_stored)));
    items.push(("database", bytes(status.database_bytes)));
    if status.problems.is_empty() {
        items.push(("problems", "none".into()));
    }
    for (i, problem) in status.problems.iter().enumerate() {
        items.push((if i == 0 { "problems" } else { "" }, problem.clone()));
    }
    pairs(&items)
}

pub fn slots(slots: &[SlotLine]) -> Vec<String> {
    if slots.is_empty() {
        return vec!["no slots".into()];
    }
    let mut table = Table::new(&[
        ("slot", true),
        ("serial", false),
        ("state", false),
        ("battery", true),
        ("charging", false),
        ("health", true),
    ]);
    for slot in slots {
        let docked = slot.serial.is_some();
        table.row(vec![
            slot.slot.to_string(),
            slot.serial.clone().unwrap_or_else(|| "-".into()),
            slot.state.clone(),
            percent(slot.battery_soc),
            if docked {
                yes_no(slot.charging)
            } else {
                "-".into()
            },
            percent(slot.battery_health),
        ]);
    }
    table.lines()
}

pub fn wearable(wearable: &WearableLine, now_ms: i64) -> Vec<String> {
    let battery = match &wearable.battery {
        None => "never reported".to_owned(),
        Some(b) => {
            let mut parts = vec![format!("{} charged", percent(b.soc))];
            parts.push(format!("health {}", percent(b.health)));
            if let Some(mv) = b.voltage_mv {
                parts.push(format!("{}.{:03} V", mv / 1000, mv % 1000));
            }
            if let Some(cycles) = b.cycles {
                parts.push(format!("{cycles} cycles"));
            }
            if let Some(celsius) = b.temp_c {
                parts.push(format!("{celsius:.1} C"));
            }
            parts.push(
                if b.charging {
                    "charging"
                } else {
                    "not charging"
                }
                .into(),
            );
            parts.join(", ")
        }
    };
    let mut items = vec![
        ("serial", wearable.serial.clone()),
        (
            "last docked",
            wearable
                .last_docked_ms
                .map_or_else(|| "unknown".into(), |ms| when(ms, now_ms)),
        ),
        ("dockings", wearable.dockings.to_string()),
        ("segments", format!("{} stored", wearable.segments_stored)),
        ("battery", battery),
    ];
    if wearable.flags.is_empty() {
        items.push(("flags", "none".into()));
    }
    for (i, flag) in wearable.flags.iter().enumerate() {
        items.push((if i == 0 { "flags" } else { "" }, flag.clone()));
    }
    pairs(&items)
}

pub fn gps(gps: &GpsLine, now_ms: i64) -> Vec<String> {
    let mut items = vec![
        (
            "gpsd",
            if gps.connected {
                "connected"
            } else {
                "not connected"
            }
            .to_owned(),
        ),
        ("fix", gps.mode.clone()),
    ];
    if let (Some(lat), Some(lon)) = (gps.lat, gps.lon) {
        let ns = if lat < 0.0 { 'S' } else { 'N' };
        let ew = if lon < 0.0 { 'W' } else { 'E' };
        items.push((
            "position",
            format!("{:.6} {ns}, {:.6} {ew}", lat.abs(), lon.abs()),
        ));
    }
    if let Some(alt) = gps.alt_m {
        items.push(("altitude", format!("{alt:.1} m")));
    }
    if let Some(n) = gps.satellites_used {
        items.push(("satellites", format!("{n} used")));
    }
    items.push((
        "last fix",
        gps.last_fix_ms
            .map_or_else(|| "never".into(), |ms| when(ms, now_ms)),
    ));
    if let Some(problem) = &gps.problem {
        items.push(("problem", problem.clone()));
    }
    pairs(&items)
}

pub fn battery(power: &PowerLine) -> Vec<String> {
    let mut items = vec![("dock power", power.dock_supply.clone())];
    if let Some(soc) = power.dock_soc {
        items.push(("dock battery", format!("{soc} %")));
    }
    if power.temperatures.is_empty() {
        items.push(("temperature", "no sensors".into()));
    }
    for (i, t) in power.temperatures.iter().enumerate() {
        items.push((
            if i == 0 { "temperature" } else { "" },
            format!("{} {:.1} C", clean(&t.zone), t.celsius),
        ));
    }
    if power.flagged_wearables.is_empty() {
        items.push(("flagged", "no wearable".into()));
    }
    for (i, f) in power.flagged_wearables.iter().enumerate() {
        items.push((
            if i == 0 { "flagged" } else { "" },
            format!("{}: {}", clean(&f.serial), clean(&f.reason)),
        ));
    }
    pairs(&items)
}

pub fn storage(storage: &StorageLine) -> Vec<String> {
    let free = if storage.total_bytes > 0 {
        let pct = storage.free_bytes as f64 * 100.0 / storage.total_bytes as f64;
        format!(
            "{} of {} ({pct:.0} %)",
            bytes(storage.free_bytes),
            bytes(storage.total_bytes)
        )
    } else {
        bytes(storage.free_bytes)
    };
    pairs(&[
        ("data folder", storage.data_dir.clone()),
        ("free", free),
        ("database", bytes(storage.database_bytes)),
    ])
}

pub fn network(interfaces: &[NetLine]) -> Vec<String> {
    if interfaces.is_empty() {
        return vec!["no network interfaces".into()];
    }
    let mut table = Table::new(&[("interface", false), ("addresses", false)]);
    for net in interfaces {
        if net.addresses.is_empty() {
            table.row(vec![net.interface.clone(), "none".into()]);
        }
        for (i, address) in net.addresses.iter().enumerate() {
            let name = if i == 0 {
                net.interface.clone()
            } else {
                String::new()
            };
            table.row(vec![name, address.clone()]);
        }
    }
    table.lines()
}

/// The upload queue in a few lines: whether it runs, the queue, the oldest item's age, the last
/// success and error, and the dead letters.
/// `update`: the self-updater's state and its latest events in words, newest first.
pub fn update(update: &UpdateLine, now_ms: i64) -> Vec<String> {
    let running = clean(&update.running);
    if !update.configured {
        return pairs(&[
            ("update", "not configured on this dock".into()),
            ("running", running),
        ]);
    }
    let mut items = vec![
        ("update", "configured".into()),
        (
            "source",
            update
                .source
                .as_deref()
                .map_or_else(|| "not known".into(), clean),
        ),
        ("running", running),
        (
            "on trial",
            if update.on_trial {
                "yes: wearables are not erased until it passes its health check".into()
            } else {
                "no".into()
            },
        ),
        (
            "window",
            update
                .window
                .as_deref()
                .map_or_else(|| "none".into(), |w| format!("{} site time", clean(w))),
        ),
        (
            "last check",
            match (update.last_check_ms, update.last_result.as_deref()) {
                (Some(ms), Some(result)) => format!("{}: {}", when(ms, now_ms), clean(result)),
                (Some(ms), None) => when(ms, now_ms),
                (None, _) => "not since the dock started".into(),
            },
        ),
        (
            "offered",
            update
                .offered
                .as_deref()
                .map_or_else(|| "nothing newer".into(), clean),
        ),
    ];
    if update.events.is_empty() {
        items.push(("events", "none yet".into()));
    }
    for (i, event) in update.events.iter().take(UPDATE_EVENTS_SHOWN).enumerate() {
        let version = if event.version.is_empty() {
            String::new()
        } else {
            format!(" {}", clean(&event.version))
        };
        items.push((
            if i == 0 { "events" } else { "" },
            format!(
                "{}: {}{version}: {}",
                when(event.at_ms, now_ms),
                clean(&event.words),
                clean(&event.detail)
            ),
        ));
    }
    pairs(&items)
}

pub fn upload(upload: &UploadLine, now_ms: i64) -> Vec<String> {
    if !upload.configured {
        return pairs(&[("upload", "not configured on this dock".into())]);
    }
    let state = match &upload.paused {
        Some(reason) => format!("paused: {}", clean(reason)),
        None => "running".into(),
    };
    let mut items = vec![
        ("upload", state),
        (
            "target",
            upload
                .target
                .as_deref()
                .map_or_else(|| "not known yet".into(), clean),
        ),
        (
            "queued",
            format!("{} items, {}", upload.queued, bytes(upload.queued_bytes)),
        ),
        (
            "oldest",
            upload
                .oldest_ms
                .map_or_else(|| "nothing waiting".into(), |ms| when(ms, now_ms)),
        ),
        (
            "last success",
            upload
                .last_success_ms
                .map_or_else(|| "never".into(), |ms| when(ms, now_ms)),
        ),
        (
            "last error",
            upload
                .last_error
                .as_deref()
                .map_or_else(|| "none".into(), clean),
        ),
    ];
    if upload.dead_letters.is_empty() {
        items.push(("dead letters", "none".into()));
    }
    for (i, dead) in upload.dead_letters.iter().enumerate() {
        items.push((
            if i == 0 { "dead letters" } else { "" },
            format!(
                "{} {} {}: {} items, {}: {}",
                clean(&dead.id),
                clean(&dead.kind),
                clean(&dead.day),
                dead.items,
                bytes(dead.bytes),
                clean(&dead.reason)
            ),
        ));
    }
    pairs(&items)
}

pub fn log(lines: &[String]) -> Vec<String> {
    if lines.is_empty() {
        return vec!["no log lines".into()];
    }
    lines.iter().map(|l| clean(l)).collect()
}

/// `{"ok": all passed, "checks": [...]}`.
pub fn selftest_json(checks: &[CheckLine]) -> Vec<String> {
    #[derive(Serialize)]
    struct Selftest<'a> {
        ok: bool,
        checks: &'a [CheckLine],
    }
    json(&Selftest {
        ok: checks.iter().all(|c| c.ok),
        checks,
    })
}

pub fn selftest(checks: &[CheckLine]) -> Vec<String> {
    let mut table = Table::new(&[("check", false), ("result", false), ("detail", false)]);
    for check in checks {
        let result = if check.ok { "ok" } else { "FAIL" };
        table.row(vec![
            check.name.clone(),
            result.into(),
            check.detail.clone(),
        ]);
    }
    let passed = checks.iter().filter(|c| c.ok).count();
    let mut lines = table.lines();
    lines.push(format!("{passed} of {} checks passed", checks.len()));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::{DeadLetterLine, FlaggedWearable, Temperature, WearableBattery};

    fn slot(slot: u32, serial: Option<&str>, state: &str, soc: Option<u8>) -> SlotLine {
        SlotLine {
            slot,
            serial: serial.map(str::to_owned),
            state: state.into(),
            battery_soc: soc,
            charging: soc.is_some_and(|s| s < 100),
            battery_health: soc.map(|_| 96),
        }
    }

    #[test]
    fn slots_are_shown_in_aligned_columns() {
        let lines = slots(&[
            slot(1, Some("KW-000001"), "pulling", Some(87)),
            slot(2, None, "empty", None),
            slot(10, Some("KW-12"), "done", Some(100)),
        ]);
        assert_eq!(
            lines,
            [
                "slot  serial     state    battery  charging  health",
                "   1  KW-000001  pulling     87 %  yes         96 %",
                "   2  -          empty          -  -              -",
                "  10  KW-12      done       100 %  no          96 %",
            ]
        );
    }

    #[test]
    fn control_characters_from_the_daemon_never_reach_the_terminal() {
        let lines = slots(&[slot(1, Some("KW\x1b[2J\x07"), "err\r\nor\u{9b}", None)]);
        assert!(lines[1].contains("KW?[2J?"));
        assert!(lines[1].contains("err??or?"));
        assert!(lines.iter().all(|l| !l.chars().any(char::is_control)));
        let log_lines = log(&["a\x08b".into()]);
        assert_eq!(log_lines, ["a?b"]);
    }

    fn dock_status(fingerprint: Option<&str>) -> DockStatus {
        DockStatus {
            dock_name: "dock-7".into(),
            version: "dockd 0.1.0".into(),
            uptime_s: 3 * 86_400 + 4 * 3600 + 5 * 60 + 6,
            web_url: Some("https://10.0.0.5/".into()),
            web_certificate_sha256: fingerprint.map(str::to_owned),
            wearables_docked: 2,
            segments_stored: 1234,
            database_bytes: 5 * 1024 * 1024 + 512 * 1024,
            problems: vec!["clock not synchronised".into(), "disk 91 % full".into()],
        }
    }

    #[test]
    fn status_shows_version_and_the_certificate_fingerprint_as_browsers_do() {
        let fp = "ab".repeat(16) + &"0f".repeat(16);
        let lines = status(&dock_status(Some(&fp)));
        assert_eq!(
            lines,
            [
                "dock             dock-7",
                "version          dockd 0.1.0",
                "uptime           3 d 04:05:06",
                "web page         https://10.0.0.5/",
                &format!("web certificate  SHA-256 {}", ["AB"; 16].join(":")),
                &format!("                         {}", ["0F"; 16].join(":")),
                "wearables        2 docked",
                "segments         1234 stored",
                "database         5.5 MiB",
                "problems         clock not synchronised",
                "                 disk 91 % full",
            ]
        );
    }

    #[test]
    fn status_says_when_the_web_page_has_no_certificate_yet() {
        let lines = status(&dock_status(None));
        assert!(lines.contains(&"web certificate  none yet".to_owned()));
    }

    #[test]
    fn an_odd_fingerprint_is_shown_as_given() {
        assert_eq!(fingerprint("not-hex"), ["not-hex"]);
        let colons = ["0a"; 32].join(":");
        assert_eq!(
            fingerprint(&colons),
            [["0A"; 16].join(":"), ["0A"; 16].join(":")]
        );
    }

    #[test]
    fn a_wearable_shows_its_docking_data_and_battery() {
        let now = 1_700_000_000_000;
        let lines = wearable(
            &WearableLine {
                serial: "KW-000001".into(),
                last_docked_ms: Some(now - 3 * 3600 * 1000),
                dockings: 12,
                segments_stored: 340,
                battery: Some(WearableBattery {
                    soc: Some(87),
                    health: Some(61),
                    charging: true,
                    voltage_mv: Some(3905),
                    cycles: Some(412),
                    temp_c: Some(31.5),
                }),
                flags: vec!["battery health low".into()],
            },
            now,
        );
        assert_eq!(
            lines,
            [
                "serial       KW-000001",
                "last docked  2023-11-14 19:13:20 UTC (3 h ago)",
                "dockings     12",
                "segments     340 stored",
                "battery      87 % charged, health 61 %, 3.905 V, 412 cycles, 31.5 C, charging",
                "flags        battery health low",
            ]
        );
    }

    #[test]
    fn gps_shows_hemispheres_and_the_age_of_the_fix() {
        let now = 1_700_000_000_000;
        let lines = gps(
            &GpsLine {
                connected: true,
                mode: "3D".into(),
                lat: Some(-33.856784),
                lon: Some(151.215297),
                alt_m: Some(12.34),
                satellites_used: Some(9),
                last_fix_ms: Some(now - 5000),
                problem: None,
            },
            now,
        );
        assert_eq!(lines[2], "position    33.856784 S, 151.215297 E");
        assert_eq!(lines[3], "altitude    12.3 m");
        assert!(lines[5].ends_with("(5 s ago)"), "{}", lines[5]);
    }

    #[test]
    fn battery_lists_temperatures_and_flagged_wearables() {
        let lines = battery(&PowerLine {
            dock_supply: "mains".into(),
            dock_soc: None,
            temperatures: vec![
                Temperature {
                    zone: "cpu".into(),
                    celsius: 45.04,
                },
                Temperature {
                    zone: "charger".into(),
                    celsius: 38.5,
                },
            ],
            flagged_wearables: vec![FlaggedWearable {
                serial: "KW-000003".into(),
                reason: "health 58 %".into(),
            }],
        });
        assert_eq!(
            lines,
            [
                "dock power   mains",
                "temperature  cpu 45.0 C",
                "             charger 38.5 C",
                "flagged      KW-000003: health 58 %",
            ]
        );
    }

    #[test]
    fn storage_and_network_are_readable() {
        let lines = storage(&StorageLine {
            data_dir: "/var/lib/dockd".into(),
            free_bytes: 3 * 1024 * 1024 * 1024,
            total_bytes: 12 * 1024 * 1024 * 1024,
            database_bytes: 700,
        });
        assert_eq!(
            lines,
            [
                "data folder  /var/lib/dockd",
                "free         3.0 GiB of 12.0 GiB (25 %)",
                "database     700 B",
            ]
        );
        let lines = network(&[
            NetLine {
                interface: "eth0".into(),
                addresses: vec!["10.0.0.5/24".into(), "fe80::1/64".into()],
            },
            NetLine {
                interface: "wlan0".into(),
                addresses: vec![],
            },
        ]);
        assert_eq!(
            lines,
            [
                "interface  addresses",
                "eth0       10.0.0.5/24",
                "           fe80::1/64",
                "wlan0      none",
            ]
        );
    }

    #[test]
    fn selftest_counts_passed_checks() {
        let lines = selftest(&[
            CheckLine {
                name: "database".into(),
                ok: true,
                detail: "integrity ok".into(),
            },
            CheckLine {
                name: "usb".into(),
                ok: false,
                detail: "no libusb".into(),
            },
        ]);
        assert_eq!(
            lines,
            [
                "check     result  detail",
                "database  ok      integrity ok",
                "usb       FAIL    no libusb",
                "1 of 2 checks passed",
            ]
        );
    }

    #[test]
    fn json_is_one_line_and_escapes_control_characters() {
        let lines = json(&slot(1, Some("KW\n1\x1b\x7f\u{9b}"), "empty", None));
        assert_eq!(lines.len(), 1);
        assert!(!lines[0].chars().any(char::is_control), "{}", lines[0]);
        let back: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(back["serial"], "KW\n1\x1b\x7f\u{9b}");
    }

    #[test]
    fn update_says_when_it_is_not_configured_and_names_the_running_version() {
        let line = UpdateLine {
            running: "0.3.1".into(),
            ..UpdateLine::default()
        };
        let text = update(&line, 0).join("\n");
        assert!(text.contains("not configured on this dock"), "{text}");
        assert!(text.contains("0.3.1"), "{text}");
        assert!(!text.contains("window"), "{text}");
    }

    #[test]
    fn update_shows_the_state_and_only_the_three_newest_events_in_words() {
        let now = 1_700_000_000_000;
        let event = |minutes: i64, words: &str, version: &str| super::super::UpdateEventLine {
            at_ms: now - minutes * 60_000,
            action: words.replace(' ', "_"),
            words: words.into(),
            version: version.into(),
            detail: format!("detail of {words}\u{1b}[2J"),
        };
        let line = UpdateLine {
            configured: true,
            source: Some("https://releases.example/dock/manifest.json".into()),
            running: "0.3.1".into(),
            on_trial: true,
            window: Some("02:00-04:00".into()),
            last_check_ms: Some(now - 5 * 60_000),
            last_result: Some("0.4.0 is available".into()),
            offered: Some("0.4.0".into()),
            events: vec![
                event(5, "checked", "0.4.0"),
                event(60, "rolled back", "0.3.2"),
                event(70, "on trial", "0.3.2"),
                event(80, "installed", "0.3.2"),
            ],
        };
        let text = update(&line, now).join("\n");
        for expected in [
            "https://releases.example/dock/manifest.json",
            "yes: wearables are not erased",
            "02:00-04:00 site time",
            "(5 min ago): 0.4.0 is available",
            "offered     0.4.0",
            "(5 min ago): checked 0.4.0: detail of checked?[2J",
            "(1 h ago): rolled back 0.3.2",
            "on trial 0.3.2",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert!(!text.contains("installed"), "only three events: {text}");
        assert!(!text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn upload_says_when_it_is_not_configured() {
        let lines = upload(&UploadLine::default(), 0);
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains("not configured on this dock"),
            "{lines:?}"
        );
    }

    #[test]
    fn upload_shows_the_queue_its_age_the_last_error_and_the_dead_letters() {
        let now = 1_700_000_000_000;
        let line = UploadLine {
            configured: true,
            target: Some("S3 s3://bucket/dock at http://127.0.0.1:9000".into()),
            queued: 42,
            queued_bytes: 2_000_000,
            oldest_ms: Some(now - 2 * 3600 * 1000),
            last_success_ms: None,
            last_error: Some("The receiver answered 503.\u{1b}[2J".into()),
            paused: Some("The S3 server refused the dock's signature.".into()),
            dead_letters: vec![DeadLetterLine {
                id: "b-7f3a".into(),
                kind: "alert".into(),
                day: "2023-11-14".into(),
                items: 17,
                bytes: 2048,
                reason: "Refused (422).".into(),
            }],
        };
        let text = upload(&line, now).join("\n");
        for expected in [
            "paused: The S3 server refused the dock's signature.",
            "S3 s3://bucket/dock at http://127.0.0.1:9000",
            "42 items, 1.9 MiB",
            "(2 h ago)",
            "last success  never",
            "The receiver answered 503.?[2J",
            "b-7f3a alert 2023-11-14: 17 items, 2.0 KiB: Refused (422).",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn sizes_times_and_uptimes_read_naturally() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(u64::MAX), "16384.0 PiB");
        assert_eq!(uptime(59), "00:00:59");
        assert_eq!(uptime(86_400), "1 d 00:00:00");
        assert_eq!(when(0, 90_000), "1970-01-01 00:00:00 UTC (1 min ago)");
        assert_eq!(when(90_000, 0), "1970-01-01 00:01:30 UTC (in the future)");
        assert!(when(i64::MAX, 0).contains("out of range"));
    }

    #[test]
    fn help_lists_every_command_with_its_usage() {
        let lines = help(None);
        for command in COMMANDS {
            assert!(
                lines.iter().any(|l| l.starts_with(command.usage)),
                "{}",
                command.name
            );
        }
    }
}
