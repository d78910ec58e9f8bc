//! The daemon's configuration: one typed `Config` read from TOML, with documented defaults. It owns
//! parsing and validation and must never be read from anywhere but the binary's edge (`main`), which
//! passes it down explicitly.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::transport::usb::interface::{PortPath, UsbId};

/// Everything `dockd run` can be told. Every key has a default, so an empty file is a valid config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub dock: DockConfig,
    pub storage: StorageConfig,
    pub link: LinkConfig,
    pub usb: UsbConfig,
    pub web: WebConfig,
    pub analysis: crate::analysis::Settings,
    pub gps: GpsConfig,
    pub power: PowerConfig,
    /// `[serial]`: the field technician's console on a serial port; absent: no console.
    pub serial: Option<diagnostics::console::SerialConfig>,
    pub privacy: PrivacyConfig,
    /// `[upload]`; absent: nothing is queued for upload. (Stub of part B's `UploadConfig`: only
    /// what the producers read.)
    pub upload: Option<UploadConfig>,
}

/// `[upload]` (stub of part B's type: the fields the producers read).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct UploadConfig {
    /// The site's name in every record and S3 key.
    pub site: String,
    /// Whether raw posture samples are uploaded too.
    pub raw_samples: bool,
}

/// `[privacy]`: how workers are kept pseudonymous beyond the roster.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The site's pseudonym key, provisioned by IT to every dock of a site: a file holding 32
    /// random bytes as exactly 64 hex characters (`openssl rand -hex 32`). Every dock with the
    /// same file gives a badge the same pseudonym. Absent: this dock's own `pseudonym.key` in the
    /// data folder. A missing or malformed file stops the start; it is never replaced.
    pub site_key_file: Option<PathBuf>,
}

/// `[gps]`: the dock's position and fix from gpsd (diagnostics only, never joined to worker data).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GpsConfig {
    /// gpsd's `host:port`; absent: the dock has no GPS and does not look for one.
    pub gpsd: Option<String>,
    /// The most often a fix is recorded while it stays the same kind (a change is recorded at once).
    pub interval_s: u64,
}

impl Default for GpsConfig {
    fn default() -> Self {
        Self {
            gpsd: None,
            interval_s: 60,
        }
    }
}

/// `[power]`: the dock's own power supplies and temperatures.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PowerConfig {
    /// Where sysfs is mounted (`class/power_supply`, `class/thermal` below it); tests point it at
    /// a fake tree.
    pub sysfs_root: PathBuf,
    /// How often a power sample is stored.
    pub interval_s: u64,
}

impl Default for PowerConfig {
    fn default() -> Self {
        Self {
            sysfs_root: PathBuf::from("/sys"),
            interval_s: 300,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DockConfig {
    /// The dock's name on its page (e.g. the site and door it stands at).
    pub name: String,
    /// While a wearable stays docked after its pull, its battery is re-read this often.
    pub refresh_s: u64,
}

impl Default for DockConfig {
    fn default() -> Self {
        Self {
            name: "dock".to_owned(),
            refresh_s: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Where the database lives. It must be on storage that honours fsync.
    pub data_dir: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("/var/lib/dockd"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LinkConfig {
    /// Unix socket the dock creates for emulated wearables (absent: none).
    pub emulator_socket: Option<PathBuf>,
    /// Loopback TCP address the dock listens on for emulated wearables (absent: none).
    pub emulator_tcp: Option<SocketAddr>,
    /// How long a request waits for its response before it is retried (protocol.md §2: 2 s).
    pub request_timeout_ms: u64,
    /// The largest segment the dock accepts; a larger one is left on the wearable and reported.
    pub max_segment_bytes: u32,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            emulator_socket: None,
            emulator_tcp: None,
            request_timeout_ms: 2000,
            max_segment_bytes: 64 << 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UsbConfig {
    /// Whether the dock looks for wearables on its USB bus (a real dock: yes).
    pub enabled: bool,
    /// USB VID:PID pairs that are wearables.
    pub ids: Vec<UsbId>,
    /// Whether to use libusb's hot-plug events where it has them. Off, arrivals are found by the
    /// re-scan alone (for hosts whose udev events cannot be trusted).
    pub hotplug: bool,
    /// How often the bus is re-scanned, in seconds: the only way arrivals are seen where libusb has
    /// no hot-plug, and a safety net where it has.
    pub rescan_s: u64,
    /// Physical slot number of each USB port, by the port path the kernel gives it (`"1-1.3" = 3`).
    /// A wearable on an unlisted port gets the next free number and a warning in the log.
    pub slots: BTreeMap<String, u32>,
}

impl Default for UsbConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            ids: vec![UsbId {
                vid: 0x1209,
                pid: 0x4B57,
            }],
            hotplug: true,
            rescan_s: 5,
            slots: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Address of the dock's web page.
    pub listen: SocketAddr,
    /// Serve the page over HTTPS. Plain HTTP (`false`) is allowed only on a loopback `listen`:
    /// sign-in passwords and worker data must not cross a network in the clear.
    pub tls: bool,
    /// The site certificate (PEM, leaf first), with `key`. Absent: the dock generates its own
    /// self-signed certificate at first start and keeps it in the data folder.
    pub cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    pub key: Option<PathBuf>,
    /// The host names and addresses the page answers to (`Host`, and the `Origin` of every
    /// change). Absent: the certificate's names (the generated one's: localhost, 127.0.0.1, ::1,
    /// the host name and `NAME.local`, a specific listen address), plus the loopback names when
    /// `listen` is loopback.
    pub server_names: Option<Vec<String>>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: true,
            cert: None,
            key: None,
            server_names: None,
        }
    }
}

/// Why a configuration could not be used. The message names the file and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        let config: Config = toml::from_str(text).map_err(|e| invalid(toml_problem(text, &e)))?;
        config.validate().map_err(invalid)?;
        Ok(config)
    }

    /// The configuration in force, for `dockd check-config`: every setting, with the badge tags
    /// in `[analysis]` (teams, task workers) shown only as counts and the service PIN redacted.
    pub fn describe(&self) -> String {
        let mut shown = self.clone();
        let counted = |tags: &mut Vec<String>| {
            let n = tags.len();
            *tags = vec![format!("({n} badge tag{})", if n == 1 { "" } else { "s" })];
        };
        shown.analysis.teams.values_mut().for_each(counted);
        for task in &mut shown.analysis.tasks {
            counted(&mut task.workers);
        }
        let mut text = format!("{shown:#?}\n");
        if let Some(serial) = &self.serial
            && serial.pin.as_ref().is_some_and(|pin| !pin.is_usable())
        {
            text.push_str(&format!(
                "note: serial.pin is shorter than {} characters: the console's PIN actions stay disabled until a longer one is set\n",
                diagnostics::console::MIN_PIN_CHARS
            ));
        }
        text
    }

    fn validate(&self) -> Result<(), String> {
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err("storage.data_dir must not be empty".to_owned());
        }
        if !(100..=60_000).contains(&self.link.request_timeout_ms) {
            return Err(format!(
                "link.request_timeout_ms = {} is out of range: use 100 to 60000 (protocol default 2000)",
                self.link.request_timeout_ms
            ));
        }
        if self.link.max_segment_bytes < 1024 {
            return Err("link.max_segment_bytes must be at least 1024".to_owned());
        }
        if self.dock.refresh_s == 0 {
            return Err("dock.refresh_s must be at least 1".to_owned());
        }
        if self.usb.enabled && self.usb.ids.is_empty() {
            return Err(
                "usb.ids must list at least one VID:PID when usb.enabled = true".to_owned(),
            );
        }
        if !(1..=3600).contains(&self.usb.rescan_s) {
            return Err(format!(
                "usb.rescan_s = {} is out of range: use 1 to 3600 seconds",
                self.usb.rescan_s
            ));
        }
        if !self.web.tls && !self.web.listen.ip().is_loopback() {
            return Err(format!(
                "web.tls = false is only allowed with a loopback web.listen (like 127.0.0.1:8080), not {}: \
                 passwords and worker data would cross the network unencrypted",
                self.web.listen
            ));
        }
        if let Some(names) = &self.web.server_names
            && (names.is_empty() || names.iter().any(|name| name.trim().is_empty()))
        {
            return Err(
                "web.server_names must list at least one host name or address, and no empty one"
                    .to_owned(),
            );
        }
        if self.web.cert.is_some() != self.web.key.is_some() {
            return Err(
                "web.cert and web.key go together: give both (PEM files), or neither to let the dock make its own certificate"
                    .to_owned(),
            );
        }
        self.analysis.validate()?;
        // The page's rule for a team (a roster team joins the file's of the same name), checked
        // on the file only: teams stored from the page were checked when they were typed.
        for (n, team) in self.analysis.teams.keys().enumerate() {
            match web_ui::rules::team(team) {
                Ok(Some(checked)) if checked == team => {}
                Ok(_) => {
                    return Err(format!(
                        "analysis.teams: team #{} has no name, or spaces at either end",
                        n + 1
                    ));
                }
                Err(words) => return Err(format!("analysis.teams: team #{}: {words}", n + 1)),
            }
        }
        if let Some(gpsd) = &self.gps.gpsd
            && gpsd.rsplit_once(':').is_none_or(|(host, port)| {
                host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0)
            })
        {
            return Err(format!(
                "gps.gpsd = \"{gpsd}\" is not host:port (gpsd listens on \"127.0.0.1:2947\")"
            ));
        }
        if !(1..=86_400).contains(&self.gps.interval_s) {
            return Err("gps.interval_s must be 1 to 86400 seconds".to_owned());
        }
        if !(10..=86_400).contains(&self.power.interval_s) {
            return Err("power.interval_s must be 10 to 86400 seconds".to_owned());
        }
        if self
            .privacy
            .site_key_file
            .as_ref()
            .is_some_and(|path| path.as_os_str().is_empty())
        {
            return Err(
                "privacy.site_key_file must name a file (or be left out to use the dock's own key)"
                    .to_owned(),
            );
        }
        if self.power.sysfs_root.as_os_str().is_empty() {
            return Err("power.sysfs_root must not be empty".to_owned());
        }
        if let Some(serial) = &self.serial
            && ![
                1200, 2400, 4800, 9600, 19_200, 38_400, 57_600, 115_200, 230_400, 460_800, 921_600,
            ]
            .contains(&serial.baud)
        {
            return Err(format!(
                "serial.baud = {} is not a standard rate (9600 … 921600; field laptops use 115200)",
                serial.baud
            ));
        }
        let mut numbers = BTreeSet::new();
        for (port, &slot) in &self.usb.slots {
            if !PortPath::is_well_formed(port) {
                return Err(format!(
                    "usb.slots: `{port}` is not a USB port path: write it as the kernel names it, like \"1-1.3\" (bus 1, hub port 1, port 3)"
                ));
            }
            if !(1..=999).contains(&slot) {
                return Err(format!(
                    "usb.slots.\"{port}\" = {slot} is out of range: slot numbers are 1 to 999"
                ));
            }
            if !numbers.insert(slot) {
                return Err(format!(
                    "usb.slots: slot {slot} is given to more than one port (\"{port}\" and another)"
                ));
            }
        }
        Ok(())
    }

    /// The database file inside the data folder.
    pub fn database_path(&self) -> PathBuf {
        self.storage.data_dir.join("dockd.db")
    }
}

/// A TOML error as `key (line L, column C): message`. The parser's own rendering quotes the
/// offending line, which may hold badge tags; this names the key on that line instead.
fn toml_problem(text: &str, error: &toml::de::Error) -> String {
    let Some(span) = error.span() else {
        return error.message().to_owned();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line_no = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or_default();
    // The section the line sits in, from the nearest `[header]` above it.
    let section = text
        .lines()
        .take(line_no)
        .filter_map(|l| l.trim().strip_prefix('[')?.split(']').next())
        .last()
        .map(|s| s.trim_matches(['[', ']', ' ']).to_owned());
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"'))
        .filter(|key| !key.is_empty());
    // Under `[analysis]` a quoted value may be a badge tag (teams, task workers): left out.
    let message = if section
        .as_deref()
        .is_some_and(|s| s.starts_with("analysis"))
    {
        error
            .message()
            .split('"')
            .step_by(2)
            .collect::<Vec<_>>()
            .join("\"…\"")
    } else {
        error.message().to_owned()
    };
    let place = match (section, key) {
        (Some(section), Some(key)) => format!("{section}.{key} "),
        (None, Some(key)) => format!("{key} "),
        (Some(section), None) => format!("[{section}] "),
        (None, None) => String::new(),
    };
    format!("{place}(line {line_no}, column {column}): {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/dockd/dockd.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn an_empty_file_gives_the_documented_defaults() {
        let config = parse("").unwrap();
        assert_eq!(config, Config::default());
        assert_eq!(config.web.listen.to_string(), "127.0.0.1:8080");
        assert!(config.web.tls, "HTTPS unless told otherwise");
        assert_eq!(config.link.request_timeout_ms, 2000);
        assert_eq!(
            config.usb.ids,
            vec![UsbId {
                vid: 0x1209,
                pid: 0x4B57
            }]
        );
    }

    #[test]
    fn the_documented_keys_are_read() {
        let config = parse(
            r#"
            [storage]
            data_dir = "/srv/dock"
            [link]
            emulator_socket = "/run/dockd/wearables.sock"
            emulator_tcp = "127.0.0.1:7070"
            [usb]
            enabled = true
            ids = ["1209:4B57", "abcd:0001"]
            rescan_s = 2
            [usb.slots]
            "1-1.1" = 1
            "1-1.2" = 2
            [web]
            listen = "0.0.0.0:8443"
            "#,
        )
        .unwrap();
        assert_eq!(config.storage.data_dir, PathBuf::from("/srv/dock"));
        assert_eq!(config.link.emulator_tcp, "127.0.0.1:7070".parse().ok());
        assert_eq!(
            config.usb.ids[1],
            UsbId {
                vid: 0xabcd,
                pid: 1
            }
        );
        assert_eq!(config.database_path(), PathBuf::from("/srv/dock/dockd.db"));
        assert_eq!(config.usb.rescan_s, 2);
        assert_eq!(config.usb.slots.get("1-1.2"), Some(&2));
    }

    #[test]
    fn usb_slot_maps_are_checked_for_port_syntax_range_and_duplicates() {
        let err = parse("[usb.slots]\n\"usb1-3\" = 1\n").unwrap_err();
        assert!(err.contains("usb.slots") && err.contains("usb1-3"), "{err}");
        let err = parse("[usb.slots]\n\"1-3\" = 0\n").unwrap_err();
        assert!(err.contains("out of range"), "{err}");
        let err = parse("[usb.slots]\n\"1-3\" = 2\n\"1-4\" = 2\n").unwrap_err();
        assert!(
            err.contains("slot 2 is given to more than one port"),
            "{err}"
        );
        let err = parse("[usb]\nrescan_s = 0\n").unwrap_err();
        assert!(err.contains("usb.rescan_s"), "{err}");
    }

    #[test]
    fn plain_http_is_refused_unless_the_page_listens_on_loopback() {
        let err = parse("[web]\nlisten = \"0.0.0.0:8080\"\ntls = false\n").unwrap_err();
        assert!(
            err.contains("web.tls") && err.contains("0.0.0.0:8080"),
            "{err}"
        );
        let err = parse("[web]\nlisten = \"192.168.1.5:80\"\ntls = false\n").unwrap_err();
        assert!(err.contains("web.tls"), "{err}");
        let config = parse("[web]\nlisten = \"127.0.0.1:8080\"\ntls = false\n").unwrap();
        assert!(!config.web.tls);
        assert!(parse("[web]\nlisten = \"[::1]:8080\"\ntls = false\n").is_ok());
        assert!(parse("[web]\nlisten = \"0.0.0.0:8443\"\n").unwrap().web.tls);
    }

    #[test]
    fn a_site_certificate_needs_both_its_file_and_its_key() {
        let err = parse("[web]\ncert = \"/etc/dockd/site.pem\"\n").unwrap_err();
        assert!(err.contains("web.cert") && err.contains("web.key"), "{err}");
        let config =
            parse("[web]\ncert = \"/etc/dockd/site.pem\"\nkey = \"/etc/dockd/site.key\"\n")
                .unwrap();
        assert_eq!(config.web.key, Some(PathBuf::from("/etc/dockd/site.key")));
    }

    #[test]
    fn server_names_are_optional_but_never_empty() {
        assert_eq!(parse("").unwrap().web.server_names, None);
        let config =
            parse("[web]\nserver_names = [\"dock-7.plant.example\", \"10.0.4.20\"]\n").unwrap();
        assert_eq!(
            config.web.server_names,
            Some(vec![
                "dock-7.plant.example".to_owned(),
                "10.0.4.20".to_owned()
            ])
        );
        let err = parse("[web]\nserver_names = []\n").unwrap_err();
        assert!(err.contains("web.server_names"), "{err}");
        let err = parse("[web]\nserver_names = [\" \"]\n").unwrap_err();
        assert!(err.contains("web.server_names"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_key_and_the_file() {
        let err = parse("[web]\nlisten = \"127.0.0.1:1\"\nport = 3\n").unwrap_err();
        assert!(err.contains("/etc/dockd/dockd.toml"), "{err}");
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn check_config_describes_the_settings_without_a_badge_tag_or_the_pin() {
        let config = parse(
            r#"
            [analysis.teams]
            packing = ["KW-TAG-0001", "KW-TAG-0002"]
            [[analysis.tasks]]
            name = "lifting"
            workers = ["KW-TAG-0003"]
            [serial]
            pin = "24681357"
            "#,
        )
        .unwrap();
        let text = config.describe();
        assert!(!text.contains("KW-TAG"), "{text}");
        assert!(!text.contains("24681357"), "{text}");
        assert!(text.contains("(2 badge tags)") && text.contains("(1 badge tag)"));
        assert!(text.contains("packing") && text.contains("lifting"));
        assert!(!text.contains("\nnote: "), "{text}");
    }

    #[test]
    fn a_short_pin_from_an_older_version_loads_and_check_config_says_the_actions_are_off() {
        let config = parse("[serial]\npin = \"2468\"\n").unwrap();
        assert!(
            config
                .serial
                .as_ref()
                .unwrap()
                .pin
                .as_ref()
                .is_some_and(|p| !p.is_usable())
        );
        let text = config.describe();
        assert!(
            text.contains("note: serial.pin is shorter than 6 characters"),
            "{text}"
        );
        assert!(!text.contains("2468"), "{text}");
        let err = parse("[serial]\npin = \"24\"\n").unwrap_err();
        assert!(
            err.contains("serial.pin") && !err.contains("\"24\""),
            "{err}"
        );
    }

    #[test]
    fn a_task_or_team_name_the_page_refuses_is_refused_in_the_file_naming_the_key() {
        let task = "t".repeat(81);
        let err = parse(&format!(
            "[[analysis.tasks]]\nname = \"{task}\"\nwindows = [\"06:00-10:00\"]\n"
        ))
        .unwrap_err();
        assert!(err.contains("analysis.tasks"), "{err}");
        assert!(err.contains(web_ui::rules::TASK_NAME_WORDS), "{err}");
        assert!(!err.contains(&task), "{err}");
        let fits = "t".repeat(80);
        parse(&format!(
            "[[analysis.tasks]]\nname = \"{fits}\"\nwindows = [\"06:00-10:00\"]\n"
        ))
        .unwrap();

        let team = "n".repeat(41);
        let err = parse(&format!("[analysis.teams]\n{team} = [\"KW-TAG-0001\"]\n")).unwrap_err();
        assert!(err.contains("analysis.teams: team #1"), "{err}");
        assert!(err.contains(web_ui::rules::TEAM_LONG_WORDS), "{err}");
        let err = parse("[analysis.teams]\n\"night\\tshift\" = []\n").unwrap_err();
        assert!(err.contains(web_ui::rules::TEAM_CONTROL_WORDS), "{err}");
        let err = parse("[analysis.teams]\n\" night\" = []\n").unwrap_err();
        assert!(err.contains("analysis.teams: team #1"), "{err}");
        parse(&format!("[analysis.teams]\n{} = []\n", "n".repeat(40))).unwrap();
    }

    #[test]
    fn a_bad_team_tag_is_named_by_its_key_and_position_never_by_its_text() {
        let err =
            parse("[analysis.teams]\npacking = [\"KW-TAG-0001\", \"KW-TAG-FAR-TOO-LONG-0002\"]\n")
                .unwrap_err();
        assert!(err.contains("analysis.teams.packing[1]"), "{err}");
        assert!(!err.contains("KW-TAG"), "{err}");
        // A syntax error on a line of tags names the key, not the line.
        let err =
            parse("[analysis.teams]\npacking = [\"KW-TAG-0001\", KW-TAG-0002]\n").unwrap_err();
        assert!(
            err.contains("analysis.teams.packing") && err.contains("line 2"),
            "{err}"
        );
        assert!(!err.contains("KW-TAG"), "{err}");
        // A tag where a list belongs: the type is named, not the tag.
        let err = parse("[analysis.teams]\npacking = \"KW-TAG-0001\"\n").unwrap_err();
        assert!(
            err.contains("analysis.teams.packing") && err.contains("invalid type"),
            "{err}"
        );
        assert!(!err.contains("KW-TAG"), "{err}");
    }

    #[test]
    fn a_site_key_file_is_read_from_the_privacy_section() {
        assert_eq!(parse("").unwrap().privacy.site_key_file, None);
        let config = parse("[privacy]\nsite_key_file = \"/etc/dockd/site.key\"\n").unwrap();
        assert_eq!(
            config.privacy.site_key_file,
            Some(PathBuf::from("/etc/dockd/site.key"))
        );
        let err = parse("[privacy]\nsite_key_file = \"\"\n").unwrap_err();
        assert!(err.contains("privacy.site_key_file"), "{err}");
        let err = parse("[privacy]\nsite_key = \"00\"\n").unwrap_err();
        assert!(err.contains("site_key"), "{err}");
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_key() {
        let err = parse("[web]\nlisten = \"not an address\"\n").unwrap_err();
        assert!(err.contains("listen"), "{err}");
        let err = parse("[usb]\nids = [\"12:zz\"]\n").unwrap_err();
        assert!(err.contains("12:zz") && err.contains("ids"), "{err}");
        let err = parse("[link]\nrequest_timeout_ms = 5\n").unwrap_err();
        assert!(err.contains("link.request_timeout_ms"), "{err}");
    }
}
