//! The dock's own power and temperature, read from the Linux power-supply class
//! (`class/power_supply/*`: mains and USB inputs, a backup battery or UPS) and the thermal class
//! (`class/thermal/thermal_zone*`) under a configurable sysfs root, so tests use a fake tree.
//! Attribute names and units follow the kernel's documented ABI
//! (`Documentation/ABI/testing/sysfs-class-power`, `sysfs-class-thermal`).
//!
//! It owns reading and summing up those files, and nothing else. It must never fail or panic on
//! what it finds: a missing, unreadable, oversized or garbled file becomes a sentence in
//! [`DockPower::problems`] and everything else is still read. It never writes to sysfs, never
//! follows a file past [`MAX_VALUE_BYTES`], and knows nothing about wearables or workers.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Where sysfs is mounted on a Linux dock (`[power] sysfs_root`).
pub const DEFAULT_SYSFS_ROOT: &str = "/sys";

/// The largest sysfs value read; a file larger than this is reported as a problem (a real
/// attribute is a single short line, and sysfs itself never serves more than a page).
pub const MAX_VALUE_BYTES: usize = 4096;

/// The most power supplies, and separately thermal zones, read in one call; more are reported as
/// a problem and left out, so a strange tree cannot make one reading costly.
pub const MAX_ENTRIES: usize = 64;

/// What the dock runs on and how warm it is, as read by [`read_power`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockPower {
    /// Whether an external supply (Mains, USB, Wireless…) is online: `Some(true)` if any is,
    /// `Some(false)` if some were read and none is, `None` if the kernel lists none (common on
    /// boards without a power-supply driver; such a dock is still on mains).
    pub mains_online: Option<bool>,
    /// The dock's own batteries (`Battery` and `UPS` supplies whose scope is not `Device`: a
    /// wireless peripheral's battery is not the dock's), sorted by name.
    pub batteries: Vec<PowerSupply>,
    /// One line in plain words: "mains only", "on battery, 64 %",
    /// "mains, backup battery 98 % charging", "no power information"…
    pub summary: String,
    /// Thermal zones in kernel order (`thermal_zone0`, `thermal_zone1`, … `thermal_zone10`).
    pub thermal: Vec<ThermalZone>,
    /// What could not be read, in words; empty when everything read cleanly.
    pub problems: Vec<String>,
}

/// A battery-like power supply of the dock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerSupply {
    /// The supply's directory name (`BAT0`, `ups`, `axp20x-battery`…).
    pub name: String,
    pub kind: SupplyKind,
    /// `present`: `Some(false)` when the battery bay is empty; `None` when the driver omits it.
    pub present: Option<bool>,
    /// `status`, `None` when the driver omits it.
    pub status: Option<ChargeStatus>,
    /// `capacity`: state of charge, 0–100 %.
    pub capacity_pct: Option<u8>,
    /// `voltage_now` (µV in sysfs), in volts.
    pub voltage_v: Option<f64>,
    /// Full capacity as a percentage of the design capacity: `energy_full / energy_full_design`
    /// (µWh), else `charge_full / charge_full_design` (µAh).
    pub health_pct: Option<f64>,
    /// `temp` (0.1 °C in sysfs), in °C.
    pub temperature_c: Option<f64>,
}

/// The `type` of a [`PowerSupply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SupplyKind {
    Battery,
    Ups,
}

impl SupplyKind {
    /// How the summary names it.
    pub fn words(self) -> &'static str {
        match self {
            SupplyKind::Battery => "backup battery",
            SupplyKind::Ups => "UPS",
        }
    }
}

/// The `status` of a [`PowerSupply`], as the ABI lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Charging,
    Discharging,
    NotCharging,
    Full,
    Unknown,
}

impl ChargeStatus {
    fn from_sysfs(text: &str) -> Option<Self> {
        match text {
            "Charging" => Some(ChargeStatus::Charging),
            "Discharging" => Some(ChargeStatus::Discharging),
            "Not charging" => Some(ChargeStatus::NotCharging),
            "Full" => Some(ChargeStatus::Full),
            "Unknown" => Some(ChargeStatus::Unknown),
            _ => None,
        }
    }

    /// In words, as the summary uses it.
    pub fn words(self) -> &'static str {
        match self {
            ChargeStatus::Charging => "charging",
            ChargeStatus::Discharging => "discharging",
            ChargeStatus::NotCharging => "not charging",
            ChargeStatus::Full => "full",
            ChargeStatus::Unknown => "status unknown",
        }
    }
}

/// One thermal zone of the dock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThermalZone {
    /// The zone's directory name (`thermal_zone0`).
    pub zone: String,
    /// Its `type` (`cpu-thermal`, `acpitz`, `x86_pkg_temp`…); the zone's directory name when the
    /// type cannot be read.
    pub name: String,
    /// `temp` (m°C in sysfs), in °C; `None` when the zone gives no reading.
    pub temp_c: Option<f64>,
}

/// Reads the dock's power supplies and thermal zones under `sysfs_root` (normally `/sys`).
///
/// Never fails: whatever cannot be read is described in [`DockPower::problems`]. A root without
/// `class/power_supply` gives the summary "no power information"; a power-supply class without
/// any battery gives "mains only". A missing `class/thermal` is not a problem (many boards have no
/// thermal zone); an unreadable one is.
///
/// Cost: a directory listing and a handful of small reads per supply and zone (well under a
/// millisecond on a real dock). Blocking file I/O: call it from `spawn_blocking` or a
/// blocking-tolerant task.
pub fn read_power(sysfs_root: &Path) -> DockPower {
    let mut problems = Vec::new();
    let supplies_dir = sysfs_root.join("class").join("power_supply");
    let (mains_online, batteries, summary) =
        match list_entries(&supplies_dir, "power supplies", |_| true, &mut problems) {
            Ok(names) => {
                let (mains_online, batteries) = read_supplies(&supplies_dir, &names, &mut problems);
                let summary = summarize(mains_online, &batteries);
                (mains_online, batteries, summary)
            }
            Err(error) => {
                problems.push(format!(
                    "no power information: {} cannot be read ({error})",
                    supplies_dir.display()
                ));
                (None, Vec::new(), "no power information".to_owned())
            }
        };
    let thermal = read_thermal(&sysfs_root.join("class").join("thermal"), &mut problems);
    DockPower {
        mains_online,
        batteries,
        summary,
        thermal,
        problems,
    }
}

fn read_supplies(
    dir: &Path,
    names: &[String],
    problems: &mut Vec<String>,
) -> (Option<bool>, Vec<PowerSupply>) {
    let mut any_external_read = false;
    let mut any_online = false;
    let mut batteries = Vec::new();
    for name in names {
        let mut files = Attributes {
            dir: &dir.join(name),
            label: format!("power supply {name}"),
            problems: &mut *problems,
        };
        let kind_text = match read_value(&files.dir.join("type")) {
            Ok(Some(text)) => text,
            Ok(None) => {
                files.problem("has no type, so it was left out".to_owned());
                continue;
            }
            Err(why) => {
                files.problem(format!("type {why}, so the supply was left out"));
                continue;
            }
        };
        let kind = match kind_text.as_str() {
            "Battery" => SupplyKind::Battery,
            "UPS" => SupplyKind::Ups,
            _ => {
                // Mains, USB, Wireless and the older USB_* / BrickID types: an input. The ABI
                // gives `online` as 0 offline, 1 online, 2 online and programmable.
                if let Some(online) = files.number::<u8>("online") {
                    any_external_read = true;
                    any_online |= online != 0;
                }
                continue;
            }
        };
        if files.text("scope").as_deref() == Some("Device") {
            // Powers a peripheral (a wireless keyboard's battery), not the dock.
            continue;
        }
        batteries.push(read_battery(name, kind, &mut files));
    }
    let mains_online = any_external_read.then_some(any_online);
    (mains_online, batteries)
}

fn read_battery(name: &str, kind: SupplyKind, files: &mut Attributes<'_>) -> PowerSupply {
    let present = files.number::<u8>("present").map(|p| p != 0);
    if present == Some(false) {
        // An empty bay: the driver has nothing else to say (ACPI answers ENODEV).
        return PowerSupply {
            name: name.to_owned(),
            kind,
            present,
            status: None,
            capacity_pct: None,
            voltage_v: None,
            health_pct: None,
            temperature_c: None,
        };
    }
    let status = files
        .text("status")
        .and_then(|text| match ChargeStatus::from_sysfs(&text) {
            Some(status) => Some(status),
            None => {
                files.problem(format!("status {text:?} is not one the kernel documents"));
                None
            }
        });
    let capacity_pct = files.number::<i64>("capacity").and_then(|pct| {
        if (0..=100).contains(&pct) {
            u8::try_from(pct).ok()
        } else {
            files.problem(format!("capacity {pct} % is outside 0–100 %"));
            None
        }
    });
    let voltage_v = files
        .number::<i64>("voltage_now")
        .map(|microvolts| microvolts as f64 / 1e6);
    let health_pct = files
        .ratio_pct("energy_full", "energy_full_design")
        .or_else(|| files.ratio_pct("charge_full", "charge_full_design"));
    let temperature_c = files
        .number::<i64>("temp")
        .map(|tenths| tenths as f64 / 10.0);
    PowerSupply {
        name: name.to_owned(),
        kind,
        present,
        status,
        capacity_pct,
        voltage_v,
        health_pct,
        temperature_c,
    }
}

fn read_thermal(dir: &Path, problems: &mut Vec<String>) -> Vec<ThermalZone> {
    let names = match list_entries(
        dir,
        "thermal zones",
        |name| name.starts_with("thermal_zone"),
        problems,
    ) {
        Ok(names) => names,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(error) => {
            problems.push(format!(
                "thermal zones: {} cannot be read ({error})",
                dir.display()
            ));
            return Vec::new();
        }
    };
    let mut zones = Vec::with_capacity(names.len());
    for zone in names {
        let mut files = Attributes {
            dir: &dir.join(&zone),
            label: format!("thermal zone {zone}"),
            problems: &mut *problems,
        };
        let name = files.text("type").unwrap_or_else(|| zone.clone());
        let temp_c = files
            .number::<i64>("temp")
            .map(|millidegrees| millidegrees as f64 / 1000.0);
        zones.push(ThermalZone { zone, name, temp_c });
    }
    zones
}

/// The summary line of [`DockPower`].
fn summarize(mains_online: Option<bool>, batteries: &[PowerSupply]) -> String {
    if batteries.is_empty() {
        return "mains only".to_owned();
    }
    let present: Vec<&PowerSupply> = batteries
        .iter()
        .filter(|b| b.present != Some(false))
        .collect();
    let any_status = |wanted: &[ChargeStatus]| {
        present
            .iter()
            .any(|b| b.status.is_some_and(|s| wanted.contains(&s)))
    };
    // A battery that charges, is full or is held at "not charging" has an input, whatever the
    // inputs say (a board may list an unused USB port as an offline supply).
    let external = mains_online == Some(true)
        || any_status(&[
            ChargeStatus::Charging,
            ChargeStatus::Full,
            ChargeStatus::NotCharging,
        ]);
    let on_battery = !external
        && !present.is_empty()
        && (mains_online == Some(false) || any_status(&[ChargeStatus::Discharging]));
    if on_battery {
        if let [only] = present.as_slice() {
            return match only.capacity_pct {
                Some(pct) => format!("on battery, {pct} %"),
                None => "on battery".to_owned(),
            };
        }
        let parts: Vec<String> = present
            .iter()
            .map(|b| match b.capacity_pct {
                Some(pct) => format!("{} {} {pct} %", b.kind.words(), b.name),
                None => format!("{} {}", b.kind.words(), b.name),
            })
            .collect();
        return format!("on battery: {}", parts.join(", "));
    }
    let several = batteries.len() > 1;
    let parts: Vec<String> = batteries
        .iter()
        .map(|b| {
            let mut part = b.kind.words().to_owned();
            if several {
                part.push(' ');
                part.push_str(&b.name);
            }
            if b.present == Some(false) {
                part.push_str(" not present");
                return part;
            }
            if let Some(pct) = b.capacity_pct {
                part.push_str(&format!(" {pct} %"));
            }
            if let Some(status) = b.status {
                part.push(' ');
                part.push_str(status.words());
            }
            part
        })
        .collect();
    let source = if external {
        "mains"
    } else {
        "power source unknown"
    };
    format!("{source}, {}", parts.join(", "))
}

/// The entries of a sysfs class directory that `keep` accepts, in natural order (`x2` before
/// `x10`), at most [`MAX_ENTRIES`]; the error is the directory's own.
fn list_entries(
    dir: &Path,
    what: &str,
    keep: impl Fn(&str) -> bool,
    problems: &mut Vec<String>,
) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                problems.push(format!(
                    "{what}: an entry of {} cannot be read ({error})",
                    dir.display()
                ));
                continue;
            }
        };
        match entry.file_name().into_string() {
            Ok(name) if keep(&name) => names.push(name),
            Ok(_) => {}
            Err(name) => problems.push(format!(
                "{what}: {:?} in {} is not a UTF-8 name, so it was left out",
                name,
                dir.display()
            )),
        }
    }
    names.sort_by(|a, b| natural_key(a).cmp(&natural_key(b)));
    if names.len() > MAX_ENTRIES {
        problems.push(format!(
            "{what}: {} found, only the first {MAX_ENTRIES} were read",
            names.len()
        ));
        names.truncate(MAX_ENTRIES);
    }
    Ok(names)
}

/// `thermal_zone10` → (`thermal_zone`, 10, …) so that it sorts after `thermal_zone9`.
fn natural_key(name: &str) -> (&str, u64, &str) {
    let digits_start = name
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    let (stem, digits) = name.split_at(digits_start);
    (stem, digits.parse().unwrap_or(0), name)
}

/// The attribute files of one sysfs directory, recording problems under one label.
struct Attributes<'a> {
    dir: &'a Path,
    label: String,
    problems: &'a mut Vec<String>,
}

impl Attributes<'_> {
    fn problem(&mut self, what: String) {
        self.problems.push(format!("{}: {what}", self.label));
    }

    /// The trimmed value of `attribute`; `None` when the driver does not provide it (no file, or
    /// the kernel's "no data available") or when it cannot be read (then a problem is recorded).
    fn text(&mut self, attribute: &str) -> Option<String> {
        match read_value(&self.dir.join(attribute)) {
            Ok(value) => value,
            Err(why) => {
                self.problem(format!("{attribute} {why}"));
                None
            }
        }
    }

    /// The value of `attribute` as a number; a value that is not one is a problem.
    fn number<T: std::str::FromStr>(&mut self, attribute: &str) -> Option<T> {
        let text = self.text(attribute)?;
        match text.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.problem(format!("{attribute} is {text:?}, not a number"));
                None
            }
        }
    }

    /// `full / design` as a percentage, when both are there and the design value is positive.
    fn ratio_pct(&mut self, full: &str, design: &str) -> Option<f64> {
        let full = self.number::<i64>(full)?;
        let design = self.number::<i64>(design)?;
        (design > 0 && full >= 0).then(|| full as f64 * 100.0 / design as f64)
    }
}

/// Reads one sysfs value: `Ok(None)` when absent, `Err(words)` when it cannot be read.
fn read_value(path: &Path) -> Result<Option<String>, String> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if is_absent(&error) => return Ok(None),
        Err(error) => return Err(format!("cannot be opened ({error})")),
    };
    let mut bytes = Vec::with_capacity(64);
    // One byte more than allowed tells an oversized file from one exactly at the limit.
    if let Err(error) = file
        .take(MAX_VALUE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
    {
        return if is_absent(&error) {
            Ok(None)
        } else {
            Err(format!("cannot be read ({error})"))
        };
    }
    if bytes.len() > MAX_VALUE_BYTES {
        return Err(format!("is larger than {} KiB", MAX_VALUE_BYTES / 1024));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(_) => Err("is not text".to_owned()),
    }
}

/// A file that is not there, or an attribute the driver has no value for right now (sysfs
/// answers `ENODATA`, e.g. a battery without a temperature sensor).
fn is_absent(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::NotFound
        || error.raw_os_error() == Some(nix::errno::Errno::ENODATA as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    /// A fake sysfs root in the temp folder, removed when dropped.
    struct FakeSysfs {
        root: PathBuf,
    }

    impl FakeSysfs {
        fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let root = std::env::temp_dir().join(format!(
                "dockd-power-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&root).unwrap();
            Self { root }
        }

        fn file(&self, relative: &str, contents: &[u8]) -> &Self {
            let path = self.root.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
            self
        }

        fn supply(&self, name: &str, attributes: &[(&str, &str)]) -> &Self {
            for (attribute, value) in attributes {
                self.file(
                    &format!("class/power_supply/{name}/{attribute}"),
                    format!("{value}\n").as_bytes(),
                );
            }
            self
        }

        fn zone(&self, zone: &str, kind: &str, millidegrees: &str) -> &Self {
            self.file(
                &format!("class/thermal/{zone}/type"),
                format!("{kind}\n").as_bytes(),
            )
            .file(
                &format!("class/thermal/{zone}/temp"),
                format!("{millidegrees}\n").as_bytes(),
            )
        }

        fn read(&self) -> DockPower {
            read_power(&self.root)
        }
    }

    impl Drop for FakeSysfs {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn ups_discharging(sysfs: &FakeSysfs) {
        sysfs
            .supply("AC", &[("type", "Mains"), ("online", "0")])
            .supply(
                "ups0",
                &[
                    ("type", "UPS"),
                    ("present", "1"),
                    ("status", "Discharging"),
                    ("capacity", "64"),
                    ("voltage_now", "12650000"),
                    ("energy_full", "40000000"),
                    ("energy_full_design", "50000000"),
                    ("temp", "312"),
                ],
            );
    }

    #[test]
    fn a_dock_with_mains_only_says_so_without_problems() {
        let sysfs = FakeSysfs::new();
        sysfs.supply("AC", &[("type", "Mains"), ("online", "1")]);
        let power = sysfs.read();
        assert_eq!(power.summary, "mains only");
        assert_eq!(power.mains_online, Some(true));
        assert!(power.batteries.is_empty());
        assert!(power.problems.is_empty(), "{:?}", power.problems);
    }

    #[test]
    fn a_dock_whose_kernel_lists_no_supply_is_on_mains_only() {
        let sysfs = FakeSysfs::new();
        std::fs::create_dir_all(sysfs.root.join("class/power_supply")).unwrap();
        let power = sysfs.read();
        assert_eq!(power.summary, "mains only");
        assert_eq!(power.mains_online, None);
        assert!(power.problems.is_empty(), "{:?}", power.problems);
    }

    #[test]
    fn a_dock_on_a_discharging_ups_reports_every_reading_in_its_unit() {
        let sysfs = FakeSysfs::new();
        ups_discharging(&sysfs);
        let power = sysfs.read();
        assert_eq!(power.summary, "on battery, 64 %");
        assert_eq!(power.mains_online, Some(false));
        assert_eq!(
            power.batteries,
            vec![PowerSupply {
                name: "ups0".into(),
                kind: SupplyKind::Ups,
                present: Some(true),
                status: Some(ChargeStatus::Discharging),
                capacity_pct: Some(64),
                voltage_v: Some(12.65),
                health_pct: Some(80.0),
                temperature_c: Some(31.2),
            }]
        );
        assert!(power.problems.is_empty(), "{:?}", power.problems);
    }

    #[test]
    fn a_charging_backup_battery_on_mains_is_summed_up_in_one_line() {
        let sysfs = FakeSysfs::new();
        sysfs
            .supply("AC", &[("type", "Mains"), ("online", "1")])
            .supply(
                "BAT0",
                &[
                    ("type", "Battery"),
                    ("status", "Charging"),
                    ("capacity", "98"),
                    ("charge_full", "1900000"),
                    ("charge_full_design", "2000000"),
                ],
            );
        let power = sysfs.read();
        assert_eq!(power.summary, "mains, backup battery 98 % charging");
        assert_eq!(power.batteries[0].health_pct, Some(95.0));
    }

    #[test]
    fn without_a_mains_supply_a_discharging_battery_means_on_battery() {
        let sysfs = FakeSysfs::new();
        sysfs.supply(
            "battery",
            &[
                ("type", "Battery"),
                ("status", "Discharging"),
                ("capacity", "41"),
            ],
        );
        assert_eq!(sysfs.read().summary, "on battery, 41 %");
    }

    #[test]
    fn an_empty_battery_bay_and_a_peripherals_battery_are_told_apart() {
        let sysfs = FakeSysfs::new();
        sysfs
            .supply("AC", &[("type", "Mains"), ("online", "1")])
            .supply(
                "BAT0",
                &[("type", "Battery"), ("present", "0"), ("capacity", "n/a")],
            )
            .supply(
                "hid-mouse-battery",
                &[("type", "Battery"), ("scope", "Device"), ("capacity", "5")],
            );
        let power = sysfs.read();
        assert_eq!(power.summary, "mains, backup battery not present");
        assert_eq!(power.batteries.len(), 1, "{:?}", power.batteries);
        assert!(power.problems.is_empty(), "{:?}", power.problems);
    }

    #[test]
    fn a_charging_battery_means_mains_even_when_a_usb_port_is_offline() {
        let sysfs = FakeSysfs::new();
        sysfs
            .supply("usb-otg", &[("type", "USB"), ("online", "0")])
            .supply(
                "BAT0",
                &[
                    ("type", "Battery"),
                    ("status", "Charging"),
                    ("capacity", "77"),
                ],
            );
        let power = sysfs.read();
        assert_eq!(power.mains_online, Some(false));
        assert_eq!(power.summary, "mains, backup battery 77 % charging");
    }

    #[test]
    fn two_batteries_on_battery_are_named_each_with_its_charge() {
        let sysfs = FakeSysfs::new();
        sysfs
            .supply("AC", &[("type", "Mains"), ("online", "0")])
            .supply(
                "BAT0",
                &[
                    ("type", "Battery"),
                    ("status", "Discharging"),
                    ("capacity", "64"),
                ],
            )
            .supply("ups", &[("type", "UPS"), ("status", "Discharging")]);
        assert_eq!(
            sysfs.read().summary,
            "on battery: backup battery BAT0 64 %, UPS ups"
        );
    }

    #[test]
    fn a_battery_without_any_input_information_does_not_guess_the_source() {
        let sysfs = FakeSysfs::new();
        sysfs.supply(
            "BAT0",
            &[
                ("type", "Battery"),
                ("status", "Unknown"),
                ("capacity", "50"),
            ],
        );
        assert_eq!(
            sysfs.read().summary,
            "power source unknown, backup battery 50 % status unknown"
        );
    }

    #[test]
    fn two_thermal_zones_are_read_in_kernel_order_in_degrees() {
        let sysfs = FakeSysfs::new();
        sysfs
            .supply("AC", &[("type", "Mains"), ("online", "1")])
            .zone("thermal_zone10", "gpu-thermal", "38500")
            .zone("thermal_zone2", "cpu-thermal", "-1250");
        std::fs::create_dir_all(sysfs.root.join("class/thermal/cooling_device0")).unwrap();
        let power = sysfs.read();
        assert_eq!(
            power.thermal,
            vec![
                ThermalZone {
                    zone: "thermal_zone2".into(),
                    name: "cpu-thermal".into(),
                    temp_c: Some(-1.25)
                },
                ThermalZone {
                    zone: "thermal_zone10".into(),
                    name: "gpu-thermal".into(),
                    temp_c: Some(38.5)
                },
            ]
        );
        assert!(power.problems.is_empty(), "{:?}", power.problems);
    }

    #[test]
    fn garbage_and_oversized_files_become_problems_in_words_and_the_rest_is_still_read() {
        let sysfs = FakeSysfs::new();
        sysfs
            .supply("AC", &[("type", "Mains"), ("online", "1")])
            .supply(
                "BAT0",
                &[
                    ("type", "Battery"),
                    ("status", "Full"),
                    ("capacity", "lots"),
                    ("voltage_now", "4100000"),
                ],
            )
            .file("class/power_supply/BAT1/type", &vec![b'U'; 1 << 20])
            .file("class/power_supply/BAT1/capacity", b"50\n")
            .zone("thermal_zone0", "cpu-thermal", "warm")
            .file("class/thermal/thermal_zone1/type", &vec![b'x'; 1 << 20])
            .file("class/thermal/thermal_zone1/temp", b"45000\n");
        let power = sysfs.read();

        assert_eq!(power.summary, "mains, backup battery full");
        assert_eq!(power.batteries.len(), 1);
        assert_eq!(power.batteries[0].capacity_pct, None);
        assert_eq!(power.batteries[0].voltage_v, Some(4.1));
        assert_eq!(power.thermal.len(), 2);
        assert_eq!(power.thermal[0].temp_c, None);
        assert_eq!(power.thermal[1].name, "thermal_zone1");
        assert_eq!(power.thermal[1].temp_c, Some(45.0));
        let problems = power.problems.join("\n");
        for expected in [
            "power supply BAT0: capacity is \"lots\", not a number",
            "power supply BAT1: type is larger than 4 KiB, so the supply was left out",
            "thermal zone thermal_zone0: temp is \"warm\", not a number",
            "thermal zone thermal_zone1: type is larger than 4 KiB",
        ] {
            assert!(
                problems.contains(expected),
                "missing {expected:?} in\n{problems}"
            );
        }
        assert_eq!(power.problems.len(), 4, "{problems}");
    }

    #[test]
    fn a_capacity_outside_0_to_100_is_a_problem_not_a_reading() {
        let sysfs = FakeSysfs::new();
        sysfs.supply("BAT0", &[("type", "Battery"), ("capacity", "140")]);
        let power = sysfs.read();
        assert_eq!(power.batteries[0].capacity_pct, None);
        assert_eq!(
            power.problems,
            vec!["power supply BAT0: capacity 140 % is outside 0–100 %".to_owned()]
        );
    }

    #[test]
    fn a_missing_root_gives_no_power_information_in_words() {
        let sysfs = FakeSysfs::new();
        let power = read_power(&sysfs.root.join("not-there"));
        assert_eq!(power.summary, "no power information");
        assert_eq!(power.mains_online, None);
        assert!(power.batteries.is_empty() && power.thermal.is_empty());
        assert_eq!(power.problems.len(), 1, "{:?}", power.problems);
        assert!(
            power.problems[0].starts_with("no power information: ")
                && power.problems[0].contains("cannot be read"),
            "{:?}",
            power.problems
        );
    }

    #[test]
    fn too_many_supplies_are_cut_at_the_limit_with_a_problem() {
        let sysfs = FakeSysfs::new();
        for i in 0..MAX_ENTRIES + 3 {
            sysfs.supply(&format!("usb{i}"), &[("type", "USB"), ("online", "0")]);
        }
        let power = sysfs.read();
        assert_eq!(power.mains_online, Some(false));
        assert_eq!(
            power.problems,
            vec![format!(
                "power supplies: {} found, only the first {MAX_ENTRIES} were read",
                MAX_ENTRIES + 3
            )]
        );
    }

    #[test]
    fn dock_power_survives_a_json_round_trip() {
        let sysfs = FakeSysfs::new();
        ups_discharging(&sysfs);
        sysfs.zone("thermal_zone0", "cpu-thermal", "51000");
        let power = sysfs.read();
        let json = serde_json::to_string(&power).unwrap();
        assert!(json.contains(r#""kind":"ups""#), "{json}");
        assert!(json.contains(r#""status":"discharging""#), "{json}");
        let back: DockPower = serde_json::from_str(&json).unwrap();
        assert_eq!(back, power);
    }

    #[test]
    fn reading_the_real_sys_is_coherent_and_cheap() {
        let started = Instant::now();
        let power = read_power(Path::new(DEFAULT_SYSFS_ROOT));
        let real = started.elapsed();
        assert!(!power.summary.is_empty());
        if power.batteries.is_empty() && !power.summary.starts_with("no power information") {
            assert_eq!(power.summary, "mains only");
        }
        assert!(power.problems.iter().all(|p| !p.is_empty()));

        let sysfs = FakeSysfs::new();
        ups_discharging(&sysfs);
        sysfs.zone("thermal_zone0", "cpu-thermal", "51000").zone(
            "thermal_zone1",
            "gpu-thermal",
            "47000",
        );
        let started = Instant::now();
        let fake = sysfs.read();
        let fake_time = started.elapsed();
        assert_eq!(fake.thermal.len(), 2);
        println!(
            "read_power: real /sys {real:?} ({} batteries, {} zones, summary {:?}); \
             fake tree with a UPS and two zones {fake_time:?}",
            power.batteries.len(),
            power.thermal.len(),
            power.summary
        );
    }
}
