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
    /// `[upload]`: batched cloud upload; absent: nothing is queued and every page says "not
    /// configured".
    pub upload: Option<UploadConfig>,
    /// `[control]`: the daemon's control socket, which `dockd status`, `user add`, `privacy` and
    /// `purge --now` ask before they would open the database themselves.
    pub control: ControlConfig,
    /// `[update]`: signed self-update from a release server; absent: off (the package manager
    /// alone updates dockd).
    pub update: Option<UpdateConfig>,
}

/// `[update]`: where releases are announced and when they may be installed. Read from the file
/// as [`UpdateFile`] and checked into this shape.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "UpdateFile")]
pub struct UpdateConfig {
    /// `manifest_url`: the signed manifest, `https://…/manifest.json` (HTTPS only); its
    /// signature is fetched from the same url with `.sig` appended, archives from its folder.
    pub manifest_url: String,
    /// `ca_file`: the only roots trusted for the release server (PEM); absent: Debian's bundle.
    pub ca_file: Option<PathBuf>,
    /// `proxy`: an HTTPS proxy; absent: `HTTPS_PROXY`/`https_proxy`.
    pub proxy: Option<String>,
    /// `check_every_h`: hours between checks (1 to 720, default 24).
    pub check_every_h: u32,
    /// `window`: the site-time window unattended installs happen in, `"HH:MM-HH:MM"` (default
    /// `"02:00-04:00"`; it may wrap past midnight).
    pub window: (u32, u32),
    /// `health_timeout_s`: how long a new version has to pass its health check (30 to 3600,
    /// default 300).
    pub health_timeout_s: u32,
}

/// `[update]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateFile {
    manifest_url: Option<String>,
    ca_file: Option<PathBuf>,
    proxy: Option<String>,
    check_every_h: Option<u32>,
    window: Option<String>,
    health_timeout_s: Option<u32>,
}

impl UpdateConfig {
    /// Whether `minute_of_day` (site time) is inside the window.
    pub fn in_window(&self, minute_of_day: u32) -> bool {
        let (start, end) = self.window;
        if start <= end {
            (start..end).contains(&minute_of_day)
        } else {
            minute_of_day >= start || minute_of_day < end
        }
    }

    /// The window as written, `HH:MM-HH:MM`.
    pub fn window_text(&self) -> String {
        let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        format!("{}-{}", hm(self.window.0), hm(self.window.1))
    }
}

impl TryFrom<UpdateFile> for UpdateConfig {
    type Error = String;

    fn try_from(file: UpdateFile) -> Result<Self, String> {
        let manifest_url = file.manifest_url.ok_or(
            "update.manifest_url is required: \"https://releases.example.com/dockd/manifest.json\""
                .to_owned(),
        )?;
        let lower = manifest_url.to_ascii_lowercase();
        if !lower.starts_with("https://") || manifest_url.len() <= "https://".len() {
            return Err(format!(
                "update.manifest_url = {manifest_url:?} must be an https:// url: releases are never fetched in the clear"
            ));
        }
        if let Some(path) = &file.ca_file {
            existing_file("update.ca_file", path)?;
        }
        let check_every_h = file.check_every_h.unwrap_or(24);
        if !(1..=720).contains(&check_every_h) {
            return Err(format!(
                "update.check_every_h = {check_every_h} must be 1 to 720 hours"
            ));
        }
        let health_timeout_s = file.health_timeout_s.unwrap_or(300);
        if !(5..=3600).contains(&health_timeout_s) {
            return Err(format!(
                "update.health_timeout_s = {health_timeout_s} must be 5 to 3600 seconds"
            ));
        }
        let text = file.window.unwrap_or_else(|| "02:00-04:00".to_owned());
        let window = parse_window(&text).ok_or_else(|| {
            format!(
                "update.window = {text:?} is not a window of site time: write \"HH:MM-HH:MM\", e.g. \"02:00-04:00\""
            )
        })?;
        Ok(Self {
            manifest_url,
            ca_file: file.ca_file,
            proxy: file.proxy,
            check_every_h,
            window,
            health_timeout_s,
        })
    }
}

/// `"HH:MM-HH:MM"` as minutes of the day; the two ends differ.
fn parse_window(text: &str) -> Option<(u32, u32)> {
    let minute = |hm: &str| -> Option<u32> {
        let (h, m) = hm.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60 && hm.trim().len() == 5).then_some(h * 60 + m)
    };
    let (start, end) = text.split_once('-')?;
    let (start, end) = (minute(start)?, minute(end)?);
    (start != end).then_some((start, end))
}

/// `[control]`: where the daemon's control socket is and who may use it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    /// The socket's path (absolute). Absent: `control.sock` in the folder systemd names in
    /// `RUNTIME_DIRECTORY` (`RuntimeDirectory=` in the unit), else in the data folder. `main`
    /// resolves it ([`Config::with_runtime_directory`]); the commands read the same file.
    pub socket: Option<PathBuf>,
    /// Members of this group may use the socket, besides root and the daemon's own user; a group
    /// that does not exist on the machine lets only those two in.
    pub group: String,
}

/// The control socket's file name, in the runtime folder or the data folder.
pub const CONTROL_SOCKET_NAME: &str = "control.sock";
/// The longest path a Unix socket can have (`sun_path` is 108 bytes with its closing NUL).
pub const MAX_SOCKET_PATH: usize = 107;

impl Default for ControlConfig {
    fn default() -> Self {
        Self {
            socket: None,
            group: "dockd".to_owned(),
        }
    }
}

/// `[privacy]`: how workers are kept pseudonymous beyond the roster.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The site's pseudonym key, provisioned by IT to every dock of a site: a file holding 32
    /// random bytes as exactly 64 hex characters (`openssl rand -hex 32`). Every dock with the
    /// same file gives a badge the same pseudonym. Absent: this dock's own `pseudonym.key` in the
    /// data folder. A missing or malformed file stops the start; it is never replaced.
    pub site_key_file: Option<PathBuf>,
    /// The database's encryption key: a file holding 32 random bytes as 64 hex characters, 0600,
    /// kept outside the data folder (a copy of the folder alone cannot be read). Created at the
    /// first start when missing; never made again for a database already encrypted. Absent: a
    /// file beside the data folder, `<data_dir>.database-key`.
    pub database_key_file: Option<PathBuf>,
    /// `database_key_credential`: under systemd, the name of the credential holding that key
    /// (`LoadCredential=NAME:<database_key_file>` in the unit): dockd reads
    /// `$CREDENTIALS_DIRECTORY/NAME` when systemd gave that folder ([`Config::with_credentials_directory`]),
    /// so the file itself can stay root's. A command run from a shell reads `database_key_file`.
    pub database_key_credential: Option<String>,
    /// `encrypt_database` (default true): whether a new or plaintext database is encrypted. False
    /// only where the disk itself is encrypted (LUKS) and the double cost is not wanted; it never
    /// decrypts a database already encrypted (that one keeps opening with its key).
    pub encrypt_database: bool,
    /// `purge_at`: the site-local time of the daily retention purge, `"HH:MM"` (24 h).
    pub purge_at: String,
    /// `[privacy.retention_days]`: how long each class is kept, in days.
    pub retention_days: RetentionDays,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            site_key_file: None,
            database_key_file: None,
            database_key_credential: None,
            encrypt_database: true,
            purge_at: "03:30".to_owned(),
            retention_days: RetentionDays::default(),
        }
    }
}

impl PrivacyConfig {
    /// `purge_at` as (hour, minute), if it is a valid `HH:MM`.
    pub fn purge_time(&self) -> Option<(i8, i8)> {
        let (h, m) = self.purge_at.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h, m))
    }
}

/// `[privacy.retention_days]`: days each class is kept before the daily purge deletes it for good.
/// The classes the purge knows so far; the others (audit, outbox) are kept until deleted, as
/// `dockd privacy report` says.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionDays {
    /// The dock's GPS fixes and receiver events (default 30).
    pub gps: u32,
    /// The dock's power and temperature samples (default 90).
    pub dock_power: u32,
    /// Quarantined segments' bytes, after they were last seen (default 30).
    pub raw_segments: u32,
    /// Posture and height samples, whole shifts at a time (default 90): a shift report whose
    /// samples are purged is kept, no longer re-analysable.
    pub samples: u32,
    /// Alerts and wearable events (default 365).
    pub alerts_events: u32,
    /// Shift reports, after their shift ended (default 730); at least `samples` and
    /// `alerts_events`, or a re-analysis would bring purged reports back.
    pub shift_reports: u32,
    /// Work restrictions, after their last day (default 90).
    pub work_restrictions: u32,
    /// Audit entries (default 1095, three years: long enough for a works council's or an
    /// auditor's yearly review of who saw whose data, with a year to spare).
    pub audit: u32,
    /// Upload items not delivered within this (default 60): dropped, each kind recorded and
    /// uploaded as an eviction, as the disk budget does.
    pub outbox: u32,
}

impl RetentionDays {
    /// Every class by its key in `[privacy.retention_days]`.
    pub fn by_key(&self) -> [(&'static str, u32); 9] {
        [
            ("gps", self.gps),
            ("dock_power", self.dock_power),
            ("raw_segments", self.raw_segments),
            ("samples", self.samples),
            ("alerts_events", self.alerts_events),
            ("shift_reports", self.shift_reports),
            ("work_restrictions", self.work_restrictions),
            ("audit", self.audit),
            ("outbox", self.outbox),
        ]
    }

    /// The days of the class `key`, if there is such a class.
    pub fn days(&self, key: &str) -> Option<u32> {
        self.by_key()
            .into_iter()
            .find_map(|(k, days)| (k == key).then_some(days))
    }
}

impl Default for RetentionDays {
    fn default() -> Self {
        Self {
            gps: 30,
            dock_power: 90,
            raw_segments: 30,
            samples: 90,
            alerts_events: 365,
            shift_reports: 730,
            work_restrictions: crate::store::work_restrictions::RETENTION_DAYS as u32,
            audit: 1095,
            outbox: 60,
        }
    }
}

/// `[upload]` (with `[upload.s3]` for an `s3://` url): where batches go and how they are cut. Read
/// from the file as [`UploadFile`] and checked into this shape, so a section that loads is one the
/// uploader can use; the secret files are read by `uploader::target::Target::from_config`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "UploadFile")]
pub struct UploadConfig {
    /// From `url`.
    pub target: UploadTarget,
    /// `site`: names the site in every record's partition and S3 key (required).
    pub site: String,
    /// `token_file`: the bearer token (required for an https url, refused for s3).
    pub token_file: Option<PathBuf>,
    /// `ca_file`: the only roots trusted for the receiver (PEM); absent: Debian's CA bundle.
    pub ca_file: Option<PathBuf>,
    /// `batch_max_items`, `batch_max_bytes`, `batch_max_age_s`.
    pub limits: crate::upload::Limits,
    /// `budget_bytes`: the outbox's disk budget (default 1 GiB, at least 16 MiB).
    pub budget_bytes: u64,
    /// `raw_samples`: whether raw posture samples are uploaded (default false).
    pub raw_samples: bool,
    /// `proxy`: an HTTPS proxy (`http://host:port`); absent: `HTTPS_PROXY`/`https_proxy`.
    pub proxy: Option<String>,
}

/// Where batches go.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadTarget {
    /// `url = "https://…"`: each batch is a `POST` to exactly this url.
    Https { url: String },
    /// `url = "s3://bucket/prefix"` with `[upload.s3]`: each batch is a `PUT` of one object.
    S3 {
        bucket: String,
        /// Without leading or trailing `/`; empty for none.
        prefix: String,
        /// `upload.s3.endpoint`, e.g. `https://s3.eu-central-1.amazonaws.com` (path-style).
        endpoint: String,
        region: String,
        access_key_file: PathBuf,
        secret_key_file: PathBuf,
    },
}

impl UploadTarget {
    /// Where batches go, in words for status and logs (no secret: files are named, never read).
    pub fn describe(&self) -> String {
        match self {
            UploadTarget::Https { url } => format!("HTTPS {url}"),
            UploadTarget::S3 {
                bucket,
                prefix,
                endpoint,
                ..
            } => {
                let mut place = format!("s3://{bucket}");
                if !prefix.is_empty() {
                    place.push('/');
                    place.push_str(prefix);
                }
                format!("S3 {place} at {endpoint}")
            }
        }
    }
}

/// The default outbox budget: 1 GiB.
pub const UPLOAD_BUDGET_DEFAULT: u64 = 1 << 30;
/// The smallest outbox budget accepted: 16 MiB.
pub const UPLOAD_BUDGET_MIN: u64 = 16 << 20;

/// `[upload]` as written in the file, before it is checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadFile {
    url: Option<String>,
    site: Option<String>,
    token_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    batch_max_items: Option<u64>,
    batch_max_bytes: Option<u64>,
    batch_max_age_s: Option<u64>,
    budget_bytes: Option<u64>,
    #[serde(default)]
    raw_samples: bool,
    proxy: Option<String>,
    s3: Option<UploadS3File>,
}

/// `[upload.s3]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadS3File {
    endpoint: Option<String>,
    region: Option<String>,
    access_key_file: Option<PathBuf>,
    secret_key_file: Option<PathBuf>,
}

impl TryFrom<UploadFile> for UploadConfig {
    type Error = String;

    fn try_from(file: UploadFile) -> Result<Self, String> {
        let url = file.url.ok_or(
            "upload.url is required: \"https://host/path\" or \"s3://bucket/prefix\"".to_owned(),
        )?;
        let site = file.site.ok_or(
            "upload.site is required: the site's name in every key (like \"plant-a\")".to_owned(),
        )?;
        if !crate::upload::batch::site_name_is_valid(&site) {
            return Err(format!(
                "upload.site = \"{site}\" is not a site name: 1 to 64 of a-z, 0-9, - and _, starting with a letter or digit"
            ));
        }
        let target = upload_target(&url, file.s3)?;
        match (&target, &file.token_file) {
            (UploadTarget::Https { .. }, None) => {
                return Err(
                    "upload.token_file is required for an https:// url: the file holding this dock's bearer token"
                        .to_owned(),
                );
            }
            (UploadTarget::Https { .. }, Some(path)) => existing_file("upload.token_file", path)?,
            (UploadTarget::S3 { .. }, Some(_)) => {
                return Err(
                    "upload.token_file is for an https:// url; an s3:// url signs with upload.s3.access_key_file and secret_key_file"
                        .to_owned(),
                );
            }
            (UploadTarget::S3 { .. }, None) => {}
        }
        if let Some(path) = &file.ca_file {
            existing_file("upload.ca_file", path)?;
        }
        let defaults = crate::upload::Limits::default();
        let positive = |key: &str, value: Option<u64>, default: u64| match value {
            None => Ok(default),
            Some(0) => Err(format!("upload.{key} must be at least 1")),
            Some(n) => Ok(n),
        };
        let to_usize = |key: &str, n: u64| {
            usize::try_from(n).map_err(|_| format!("upload.{key} = {n} is too large"))
        };
        let limits = crate::upload::Limits {
            max_items: to_usize(
                "batch_max_items",
                positive(
                    "batch_max_items",
                    file.batch_max_items,
                    defaults.max_items as u64,
                )?,
            )?,
            max_bytes: to_usize(
                "batch_max_bytes",
                positive(
                    "batch_max_bytes",
                    file.batch_max_bytes,
                    defaults.max_bytes as u64,
                )?,
            )?,
            max_age_s: positive("batch_max_age_s", file.batch_max_age_s, defaults.max_age_s)?,
        };
        let budget_bytes = file.budget_bytes.unwrap_or(UPLOAD_BUDGET_DEFAULT);
        if budget_bytes < UPLOAD_BUDGET_MIN {
            return Err(format!(
                "upload.budget_bytes = {budget_bytes} is below the minimum of {UPLOAD_BUDGET_MIN} (16 MiB)"
            ));
        }
        if let Some(proxy) = &file.proxy {
            proxy_url_is_valid(proxy).map_err(|why| format!("upload.proxy: {why}"))?;
        }
        Ok(UploadConfig {
            target,
            site,
            token_file: file.token_file,
            ca_file: file.ca_file,
            limits,
            budget_bytes,
            raw_samples: file.raw_samples,
            proxy: file.proxy,
        })
    }
}

/// The target `url` names, with `[upload.s3]` for an `s3://` url.
fn upload_target(url: &str, s3: Option<UploadS3File>) -> Result<UploadTarget, String> {
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if !bucket_name_is_valid(bucket) {
            return Err(format!(
                "upload.url = \"{url}\": `{bucket}` is not an S3 bucket name (3 to 63 of a-z, 0-9, . and -)"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..")
            || prefix.contains("//")
            || prefix
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#' | '\\'))
        {
            return Err(format!(
                "upload.url = \"{url}\": the prefix after the bucket must be plain path segments (no spaces, `?`, `#`, `..` or empty segments)"
            ));
        }
        let s3 = s3.ok_or(
            "an s3:// upload.url needs [upload.s3] with endpoint, region, access_key_file and secret_key_file"
                .to_owned(),
        )?;
        let missing = |key: &str| format!("upload.s3.{key} is required for an s3:// url");
        let endpoint = s3.endpoint.ok_or_else(|| missing("endpoint"))?;
        s3_endpoint_is_valid(&endpoint)
            .map_err(|why| format!("upload.s3.endpoint = \"{endpoint}\": {why}"))?;
        let region = s3.region.ok_or_else(|| missing("region"))?;
        if region.trim().is_empty() || region.trim() != region {
            return Err("upload.s3.region must name the region (like \"us-east-1\")".to_owned());
        }
        let access_key_file = s3
            .access_key_file
            .ok_or_else(|| missing("access_key_file"))?;
        existing_file("upload.s3.access_key_file", &access_key_file)?;
        let secret_key_file = s3
            .secret_key_file
            .ok_or_else(|| missing("secret_key_file"))?;
        existing_file("upload.s3.secret_key_file", &secret_key_file)?;
        return Ok(UploadTarget::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region,
            access_key_file,
            secret_key_file,
        });
    }
    if s3.is_some() {
        return Err(format!(
            "[upload.s3] is only for an s3:// upload.url, not \"{url}\""
        ));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| {
        format!("upload.url = \"{url}\" is not a url ({e}): use \"https://host/path\" or \"s3://bucket/prefix\"")
    })?;
    if parsed.scheme() != "https" {
        return Err(format!(
            "upload.url = \"{url}\" must be https:// (encryption in transit) or s3://bucket/prefix; plain http is never used"
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("upload.url = \"{url}\" names no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "upload.url must not carry a user or password; the token goes in upload.token_file"
                .to_owned(),
        );
    }
    Ok(UploadTarget::Https {
        url: url.to_owned(),
    })
}

/// An S3 endpoint: `https://host[:port]`, or plain `http://` on a loopback host only (a local
/// test server such as s3s-fs, which serves plain HTTP).
fn s3_endpoint_is_valid(endpoint: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(endpoint).map_err(|e| format!("not a url ({e})"))?;
    let Some(host) = parsed.host_str().filter(|host| !host.is_empty()) else {
        return Err("names no host".to_owned());
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(
                "must be https:// (encryption in transit); plain http is allowed only on a loopback host"
                    .to_owned(),
            );
        }
        other => return Err(format!("must be https://, not {other}://")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry a user or password (they go in the key files)".to_owned());
    }
    if parsed.query().is_some() || !parsed.path().trim_matches('/').is_empty() {
        return Err(
            "must be the server alone (https://host[:port]): the bucket comes from upload.url"
                .to_owned(),
        );
    }
    Ok(())
}

/// An S3 bucket name as every S3-compatible store accepts it.
fn bucket_name_is_valid(bucket: &str) -> bool {
    let bytes = bucket.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.')
}

/// An HTTPS proxy: `http://host:port` (the tunnel to the receiver is still TLS end to end) or
/// `https://host:port`.
pub fn proxy_url_is_valid(proxy: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(proxy)
        .map_err(|e| format!("`{}` is not a url ({e})", redact_userinfo(proxy)))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "`{}` must be http://host:port or https://host:port",
            redact_userinfo(proxy)
        ));
    }
    Ok(())
}

/// A url with its `user:password@` shown as `…@` (proxy credentials never reach a log or page).
pub fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let shown = format!("…{}", &rest[at..]);
            if scheme.is_empty() {
                shown
            } else {
                format!("{scheme}://{shown}")
            }
        }
        None => url.to_owned(),
    }
}

/// `key` names a file that exists (read at start by the uploader; never logged).
fn existing_file(key: &str, path: &Path) -> Result<(), String> {
    if path.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{key} = \"{}\" is not a file that exists",
            path.display()
        ))
    }
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
        if let Some(update) = &mut shown.update {
            update.proxy = update.proxy.as_deref().map(redact_userinfo);
        }
        if let Some(upload) = &mut shown.upload {
            upload.proxy = upload.proxy.as_deref().map(redact_userinfo);
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
        if let Some(path) = &self.privacy.database_key_file {
            if path.as_os_str().is_empty() {
                return Err(
                    "privacy.database_key_file must name a file (or be left out for <data_dir>.database-key)"
                        .to_owned(),
                );
            }
            if path.starts_with(&self.storage.data_dir) {
                return Err(format!(
                    "privacy.database_key_file = {:?} is inside the data folder {:?}: keep the key outside it, so a copy of the folder cannot be read",
                    path.display().to_string(),
                    self.storage.data_dir.display().to_string()
                ));
            }
        }
        if let Some(name) = &self.privacy.database_key_credential {
            if !credential_name_is_valid(name) {
                return Err(format!(
                    "privacy.database_key_credential = {name:?} is not a credential name: 1 to 255 characters, no `/`, not `.` or `..` (the name after `LoadCredential=` in the unit)"
                ));
            }
            if self.privacy.database_key_file.is_none() {
                return Err(
                    "privacy.database_key_credential needs privacy.database_key_file: the file the unit's LoadCredential= hands over, which commands run from a shell read"
                        .to_owned(),
                );
            }
        }
        if self.privacy.purge_time().is_none() {
            return Err(format!(
                "privacy.purge_at = {:?} is not a time of day: write HH:MM (24 h), e.g. \"03:30\"",
                self.privacy.purge_at
            ));
        }
        let days = self.privacy.retention_days;
        for (key, value) in days.by_key() {
            if !(1..=36_500).contains(&value) {
                return Err(format!(
                    "privacy.retention_days.{key} must be 1 to 36500 days (it is {value})"
                ));
            }
        }
        if days.shift_reports < days.samples.max(days.alerts_events) {
            return Err(format!(
                "privacy.retention_days.shift_reports ({}) must be at least samples ({}) and alerts_events ({}): a report kept shorter than its data would be made again by a re-analysis",
                days.shift_reports, days.samples, days.alerts_events
            ));
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
        self.validate_control()?;
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

    /// `[control]`: an absolute socket path a Unix socket can have, and a group name.
    fn validate_control(&self) -> Result<(), String> {
        if let Some(socket) = &self.control.socket {
            if !socket.is_absolute() {
                return Err(format!(
                    "control.socket = {socket:?} must be an absolute path (the daemon and the commands run from different folders), e.g. \"/run/dockd/control.sock\""
                ));
            }
            if socket.file_name().is_none() {
                return Err(format!(
                    "control.socket = {socket:?} must name a socket file, not a folder"
                ));
            }
        }
        let socket = self.control_socket();
        let length = socket.as_os_str().len();
        if length > MAX_SOCKET_PATH {
            return Err(format!(
                "control.socket: {} is {length} bytes long, and a Unix socket's path may have at most {MAX_SOCKET_PATH}: set [control] socket to a shorter path",
                socket.display()
            ));
        }
        let group = &self.control.group;
        if group.is_empty()
            || group.len() > 32
            || group.starts_with('-')
            || !group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(format!(
                "control.group = {group:?} is not a group name: 1 to 32 letters, digits, `_`, `-` or `.`, not starting with `-` (default \"dockd\")"
            ));
        }
        Ok(())
    }

    /// The database file inside the data folder.
    pub fn database_path(&self) -> PathBuf {
        self.storage.data_dir.join("dockd.db")
    }

    /// The database key file: `[privacy] database_key_file`, else `<data_dir>.database-key`
    /// beside the data folder.
    pub fn database_key_path(&self) -> PathBuf {
        match &self.privacy.database_key_file {
            Some(path) => path.clone(),
            None => {
                let folder = &self.storage.data_dir;
                let name = folder
                    .file_name()
                    .map_or_else(|| "dockd".into(), |n| n.to_string_lossy().into_owned());
                folder.with_file_name(format!("{name}.database-key"))
            }
        }
    }

    /// The daemon's database: its key is created when missing and the database not yet
    /// encrypted (see [`crate::store::Database::prepare`]).
    pub fn database(&self) -> Result<crate::store::Database, crate::store::StoreError> {
        let (path, key_file) = (self.database_path(), self.database_key_path());
        if self.privacy.encrypt_database {
            crate::store::Database::prepare(&path, &key_file)
        } else {
            crate::store::Database::unencrypted(&path, &key_file)
        }
    }

    /// The database for a command run beside (or instead of) the daemon: never makes a key.
    pub fn existing_database(&self) -> Result<crate::store::Database, crate::store::StoreError> {
        let (path, key_file) = (self.database_path(), self.database_key_path());
        if self.privacy.encrypt_database {
            crate::store::Database::existing(&path, &key_file)
        } else {
            crate::store::Database::unencrypted(&path, &key_file)
        }
    }

    /// The control socket: `[control] socket`, else `control.sock` in the data folder (`main`
    /// first puts systemd's runtime folder in, see [`Config::with_runtime_directory`]).
    pub fn control_socket(&self) -> PathBuf {
        self.control
            .socket
            .clone()
            .unwrap_or_else(|| self.data_folder_control_socket())
    }

    /// `control.sock` in the data folder: the socket itself when it lives there, else a link to
    /// it, so a command run without systemd's environment still finds the daemon.
    pub fn data_folder_control_socket(&self) -> PathBuf {
        self.storage.data_dir.join(CONTROL_SOCKET_NAME)
    }

    /// With `[control] socket` unset, puts the socket in `runtime_directory` (the first folder of
    /// systemd's `RUNTIME_DIRECTORY`, which `main` reads); a configured path stays.
    pub fn with_runtime_directory(mut self, runtime_directory: Option<&Path>) -> Self {
        if self.control.socket.is_none()
            && let Some(folder) = runtime_directory.filter(|f| !f.as_os_str().is_empty())
        {
            self.control.socket = Some(folder.join(CONTROL_SOCKET_NAME));
        }
        self
    }

    /// With `[privacy] database_key_credential` set and systemd's credentials folder given (the
    /// `CREDENTIALS_DIRECTORY` that `main` reads), the database key is read from that credential
    /// instead of `database_key_file`; without the folder (a shell, a test) nothing changes.
    pub fn with_credentials_directory(mut self, credentials_directory: Option<&Path>) -> Self {
        if let (Some(name), Some(folder)) = (
            &self.privacy.database_key_credential,
            credentials_directory.filter(|f| !f.as_os_str().is_empty()),
        ) {
            self.privacy.database_key_file = Some(folder.join(name));
        }
        self
    }
}

/// A systemd credential name: what `LoadCredential=` accepts before its `:`.
fn credential_name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_control)
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
    fn the_database_key_comes_from_systemds_credential_only_when_systemd_gave_the_folder() {
        let config = parse(
            "[privacy]\ndatabase_key_file = \"/etc/credstore/dockd.database-key\"\ndatabase_key_credential = \"database-key\"\n",
        )
        .unwrap();
        assert_eq!(
            config
                .clone()
                .with_credentials_directory(None)
                .database_key_path(),
            PathBuf::from("/etc/credstore/dockd.database-key"),
            "from a shell the file itself is read"
        );
        assert_eq!(
            config
                .with_credentials_directory(Some(Path::new("/run/credentials/dockd.service")))
                .database_key_path(),
            PathBuf::from("/run/credentials/dockd.service/database-key")
        );
        let plain = parse("[privacy]\ndatabase_key_file = \"/etc/dockd/key\"\n").unwrap();
        assert_eq!(
            plain
                .with_credentials_directory(Some(Path::new("/run/credentials/dockd.service")))
                .database_key_path(),
            PathBuf::from("/etc/dockd/key"),
            "without database_key_credential the credentials folder is not used"
        );
    }

    #[test]
    fn a_database_key_credential_needs_a_valid_name_and_the_file_it_is_loaded_from() {
        let alone = parse("[privacy]\ndatabase_key_credential = \"database-key\"\n").unwrap_err();
        assert!(alone.contains("needs privacy.database_key_file"), "{alone}");
        for bad in ["", "a/b", "..", "."] {
            let error = parse(&format!(
                "[privacy]\ndatabase_key_file = \"/etc/k\"\ndatabase_key_credential = {bad:?}\n"
            ))
            .unwrap_err();
            assert!(
                error.contains("is not a credential name"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn the_control_socket_is_in_the_data_folder_unless_systemd_or_the_file_says_otherwise() {
        let config = parse("[storage]\ndata_dir = \"/srv/dock\"\n").unwrap();
        assert_eq!(config.control.group, "dockd");
        assert_eq!(
            config.control_socket(),
            PathBuf::from("/srv/dock/control.sock")
        );
        let under_systemd = config
            .clone()
            .with_runtime_directory(Some(Path::new("/run/dockd")));
        assert_eq!(
            under_systemd.control_socket(),
            PathBuf::from("/run/dockd/control.sock")
        );
        assert_eq!(
            under_systemd.data_folder_control_socket(),
            PathBuf::from("/srv/dock/control.sock")
        );
        let configured =
            parse("[control]\nsocket = \"/run/dock-7/ctl.sock\"\ngroup = \"dock-admins\"\n")
                .unwrap()
                .with_runtime_directory(Some(Path::new("/run/dockd")));
        assert_eq!(
            configured.control_socket(),
            PathBuf::from("/run/dock-7/ctl.sock")
        );
        assert_eq!(configured.control.group, "dock-admins");
    }

    #[test]
    fn a_relative_or_overlong_control_socket_and_a_malformed_group_are_refused_with_the_key_named()
    {
        let err = parse("[control]\nsocket = \"control.sock\"\n").unwrap_err();
        assert!(
            err.contains("control.socket") && err.contains("absolute"),
            "{err}"
        );
        let long = format!("/run/{}/control.sock", "d".repeat(120));
        let err = parse(&format!("[control]\nsocket = {long:?}\n")).unwrap_err();
        assert!(
            err.contains("control.socket") && err.contains("at most 107"),
            "{err}"
        );
        let deep = format!("[storage]\ndata_dir = \"/srv/{}\"\n", "d".repeat(100));
        let err = parse(&deep).unwrap_err();
        assert!(err.contains("[control] socket"), "{err}");
        for group in ["", "dock admins", "-x", "wheel:x", &"g".repeat(33)] {
            let err = parse(&format!("[control]\ngroup = {group:?}\n")).unwrap_err();
            assert!(err.contains("control.group"), "{group:?}: {err}");
        }
        assert!(parse("[control]\ngroup = \"dockd_ops-2.site\"\n").is_ok());
        let err = parse("[control]\nsockett = \"/x\"\n").unwrap_err();
        assert!(err.contains("sockett"), "{err}");
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
    fn an_update_section_takes_only_https_a_valid_window_and_bounded_figures() {
        let config = parse(
            "[update]\nmanifest_url = \"https://releases.example/dockd/manifest.json\"\nwindow = \"23:30-01:15\"\n",
        )
        .unwrap();
        let update = config.update.unwrap();
        assert_eq!((update.check_every_h, update.health_timeout_s), (24, 300));
        assert_eq!(update.window_text(), "23:30-01:15");
        // The window wraps past midnight.
        assert!(update.in_window(23 * 60 + 45) && update.in_window(30));
        assert!(!update.in_window(2 * 60) && !update.in_window(23 * 60));
        for (bad, named) in [
            (
                "manifest_url = \"http://releases.example/m.json\"",
                "https://",
            ),
            (
                "window = \"02:00-02:00\"\nmanifest_url = \"https://r/m\"",
                "update.window",
            ),
            (
                "window = \"2:00-4:00\"\nmanifest_url = \"https://r/m\"",
                "update.window",
            ),
            (
                "check_every_h = 0\nmanifest_url = \"https://r/m\"",
                "update.check_every_h",
            ),
            (
                "health_timeout_s = 1\nmanifest_url = \"https://r/m\"",
                "update.health_timeout_s",
            ),
            (
                "window = \"02:00-04:00\"",
                "update.manifest_url is required",
            ),
        ] {
            let error = parse(&format!("[update]\n{bad}\n")).unwrap_err();
            assert!(error.contains(named), "{bad}: {error}");
        }
        assert!(parse("").unwrap().update.is_none(), "off unless configured");
    }

    #[test]
    fn retention_days_and_purge_at_are_checked_with_the_key_named() {
        let days = parse("").unwrap().privacy.retention_days;
        assert_eq!(
            (days.samples, days.alerts_events, days.shift_reports),
            (90, 365, 730)
        );
        let err = parse("[privacy.retention_days]\nsamples = 0\n").unwrap_err();
        assert!(
            err.contains("privacy.retention_days.samples must be 1 to 36500"),
            "{err}"
        );
        let err = parse("[privacy.retention_days]\nsamples = 800\n").unwrap_err();
        assert!(
            err.contains("shift_reports (730) must be at least samples (800)"),
            "{err}"
        );
        let err = parse("[privacy.retention_days]\nlogs = 5\n").unwrap_err();
        assert!(err.contains("logs"), "{err}");
        let err = parse("[privacy.retention_days]\naudit = 0\n").unwrap_err();
        assert!(
            err.contains("privacy.retention_days.audit must be 1 to 36500"),
            "{err}"
        );
        let err = parse("[privacy]\npurge_at = \"25:00\"\n").unwrap_err();
        assert!(err.contains("privacy.purge_at"), "{err}");
        assert_eq!(
            parse("[privacy]\npurge_at = \"00:05\"\n")
                .unwrap()
                .privacy
                .purge_time(),
            Some((0, 5))
        );
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

    /// A folder with the files `[upload]` names: `token`, `access`, `secret`.
    fn upload_files(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dockd-config-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["token", "access", "secret"] {
            std::fs::write(dir.join(file), "x\n").unwrap();
        }
        dir
    }

    fn https_section(dir: &Path, extra: &str) -> String {
        format!(
            "[upload]\nurl = \"https://ingest.example/v1/batches\"\nsite = \"plant-a\"\ntoken_file = \"{}\"\n{extra}",
            dir.join("token").display()
        )
    }

    fn s3_section(dir: &Path, url: &str, endpoint: &str) -> String {
        format!(
            "[upload]\nurl = \"{url}\"\nsite = \"plant-a\"\n[upload.s3]\nendpoint = \"{endpoint}\"\nregion = \"eu-central-1\"\naccess_key_file = \"{}\"\nsecret_key_file = \"{}\"\n",
            dir.join("access").display(),
            dir.join("secret").display()
        )
    }

    #[test]
    fn no_upload_section_means_upload_is_not_configured() {
        assert_eq!(parse("").unwrap().upload, None);
    }

    #[test]
    fn an_https_upload_section_is_read_with_its_documented_defaults() {
        let dir = upload_files("https");
        let upload = parse(&https_section(&dir, "")).unwrap().upload.unwrap();
        assert_eq!(
            upload.target,
            UploadTarget::Https {
                url: "https://ingest.example/v1/batches".to_owned()
            }
        );
        assert_eq!(upload.site, "plant-a");
        assert_eq!(upload.token_file, Some(dir.join("token")));
        assert_eq!(upload.limits, crate::upload::Limits::default());
        assert_eq!(upload.budget_bytes, 1 << 30);
        assert!(!upload.raw_samples);
        assert_eq!(upload.proxy, None);
        let upload = parse(&https_section(
            &dir,
            "batch_max_items = 10\nbatch_max_bytes = 2048\nbatch_max_age_s = 5\nbudget_bytes = 16777216\nraw_samples = true\nproxy = \"http://proxy.plant:3128\"\n",
        ))
        .unwrap()
        .upload
        .unwrap();
        assert_eq!(
            upload.limits,
            crate::upload::Limits {
                max_items: 10,
                max_bytes: 2048,
                max_age_s: 5
            }
        );
        assert_eq!(upload.budget_bytes, 16 << 20);
        assert!(upload.raw_samples);
        assert_eq!(upload.proxy.as_deref(), Some("http://proxy.plant:3128"));
    }

    #[test]
    fn an_s3_upload_section_is_read_with_its_bucket_prefix_and_keys() {
        let dir = upload_files("s3");
        let upload = parse(&s3_section(
            &dir,
            "s3://fleet-data/docks/v1/",
            "https://s3.eu-central-1.amazonaws.com/",
        ))
        .unwrap()
        .upload
        .unwrap();
        assert_eq!(
            upload.target,
            UploadTarget::S3 {
                bucket: "fleet-data".to_owned(),
                prefix: "docks/v1".to_owned(),
                endpoint: "https://s3.eu-central-1.amazonaws.com".to_owned(),
                region: "eu-central-1".to_owned(),
                access_key_file: dir.join("access"),
                secret_key_file: dir.join("secret"),
            }
        );
        let upload = parse(&s3_section(&dir, "s3://fleet", "https://minio.plant:9000"))
            .unwrap()
            .upload
            .unwrap();
        assert!(matches!(upload.target, UploadTarget::S3 { prefix, .. } if prefix.is_empty()));
    }

    #[test]
    fn plain_http_is_refused_for_the_upload_url_and_for_an_s3_endpoint_beyond_loopback() {
        let dir = upload_files("http");
        let err = parse(&https_section(&dir, "").replace("https://", "http://")).unwrap_err();
        assert!(
            err.contains("upload.url") && err.contains("encryption in transit"),
            "{err}"
        );
        let err = parse(&s3_section(
            &dir,
            "s3://fleet",
            "http://s3.plant.example:9000",
        ))
        .unwrap_err();
        assert!(
            err.contains("upload.s3.endpoint") && err.contains("loopback"),
            "{err}"
        );
        // s3s-fs, the tests' S3 server, serves plain HTTP on loopback: allowed there only.
        for endpoint in [
            "http://127.0.0.1:9000",
            "http://localhost:9000",
            "http://[::1]:9000",
        ] {
            parse(&s3_section(&dir, "s3://fleet", endpoint)).unwrap();
        }
        let err = parse(&s3_section(&dir, "s3://fleet", "ftp://127.0.0.1")).unwrap_err();
        assert!(err.contains("upload.s3.endpoint"), "{err}");
    }

    #[test]
    fn each_refused_upload_setting_is_named_by_its_key() {
        let dir = upload_files("refusals");
        let token = dir.join("token").display().to_string();
        let refused = |text: &str, key: &str| {
            let err = parse(text).unwrap_err();
            assert!(err.contains(key), "{key}: {err}");
        };
        refused("[upload]\nsite = \"plant-a\"\n", "upload.url");
        refused(
            &format!("[upload]\nurl = \"https://a.example\"\ntoken_file = \"{token}\"\n"),
            "upload.site",
        );
        refused(
            &https_section(&dir, "").replace("plant-a", "Plant A"),
            "upload.site",
        );
        refused(
            "[upload]\nurl = \"https://a.example\"\nsite = \"plant-a\"\n",
            "upload.token_file",
        );
        refused(
            &https_section(&dir, "").replace(&token, "/nonexistent/token"),
            "upload.token_file",
        );
        refused(
            &https_section(&dir, "ca_file = \"/nonexistent/ca.pem\"\n"),
            "upload.ca_file",
        );
        refused(
            &https_section(&dir, "").replace("https://ingest.example/v1/batches", "ingest"),
            "upload.url",
        );
        refused(
            &https_section(&dir, "").replace("https://", "https://me:pw@"),
            "upload.url",
        );
        refused(
            &https_section(&dir, "").replace("https://ingest.example/v1/batches", "s3://Fleet"),
            "upload.url",
        );
        for key in ["batch_max_items", "batch_max_bytes", "batch_max_age_s"] {
            refused(
                &https_section(&dir, &format!("{key} = 0\n")),
                &format!("upload.{key}"),
            );
        }
        refused(
            &https_section(&dir, "budget_bytes = 16777215\n"),
            "upload.budget_bytes",
        );
        refused(
            &https_section(&dir, "proxy = \"socks5://p:1080\"\n"),
            "upload.proxy",
        );
        refused(&https_section(&dir, "verify_tls = false\n"), "verify_tls");
        refused(
            &format!("{}[upload.s3]\nregion = \"x\"\n", https_section(&dir, "")),
            "upload.s3",
        );
        let s3 = s3_section(&dir, "s3://fleet/p", "https://s3.example");
        refused(
            &s3.replace(
                "[upload.s3]",
                &format!("token_file = \"{token}\"\n[upload.s3]"),
            ),
            "upload.token_file",
        );
        refused(
            "[upload]\nurl = \"s3://fleet\"\nsite = \"plant-a\"\n",
            "[upload.s3]",
        );
        for key in ["endpoint", "region", "access_key_file", "secret_key_file"] {
            let without: String = s3
                .lines()
                .filter(|line| !line.starts_with(&format!("{key} =")))
                .map(|line| format!("{line}\n"))
                .collect();
            refused(&without, &format!("upload.s3.{key}"));
        }
        refused(
            &s3.replace("https://s3.example", "https://s3.example/fleet"),
            "upload.s3.endpoint",
        );
        refused(
            &s3.replace("s3://fleet/p", "s3://fleet/a/../b"),
            "upload.url",
        );
        refused(&format!("{s3}session_token = \"x\"\n"), "session_token");
        // A check that needs the whole section still names the file, the line and the key.
        let err = parse(&https_section(&dir, "budget_bytes = 1\n")).unwrap_err();
        assert!(
            err.starts_with("config file /etc/dockd/dockd.toml: ") && err.contains("line 1"),
            "{err}"
        );
    }

    #[test]
    fn check_config_shows_the_upload_section_without_proxy_credentials() {
        let dir = upload_files("describe");
        let config = parse(&https_section(
            &dir,
            "proxy = \"http://dock7:hunter2@proxy.plant:3128\"\n",
        ))
        .unwrap();
        let text = config.describe();
        assert!(text.contains("https://ingest.example/v1/batches"), "{text}");
        assert!(text.contains("http://…@proxy.plant:3128"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
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
