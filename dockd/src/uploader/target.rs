//! The upload target: one [`Target`] over the HTTPS edge and the S3 edge, built from `[upload]`
//! by [`Target::from_config`] (which reads the token, keys and CA files once, at start), and what
//! both edges share: the HTTP client (`https_client`'s, with `[upload]`'s roots, proxy and
//! timeouts) and the reading of a failed request as an [`Outcome`]. It owns those; it must never
//! return an error from `send` (every failure is an `Outcome`), never panic, never log or show a
//! secret, and never offer a way to ignore a certificate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::{UploadConfig, UploadTarget};
use crate::https_client::{self, ClientSpec};
use crate::upload::{Outcome, Partition};

use super::https::HttpsTarget;
use super::s3::S3Target;

/// Debian's CA bundle (trusted when `[upload] ca_file` names no other) and the proxy rule, from
/// the one HTTPS client kit.
pub use crate::https_client::{DEBIAN_CA_BUNDLE, proxy_url};
/// How long a connection (TCP + TLS, through the proxy if any) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request (connect, send the body, read the answer) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The most of an answer's body read (an S3 error document; the rest is dropped).
pub(super) const ANSWER_BODY_MAX: usize = 64 * 1024;

/// One committed batch as it is sent: its id, partition, the committed bytes and its item count.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub id: &'a str,
    pub partition: &'a Partition,
    /// The zstd NDJSON committed with the batch, sent unchanged on every attempt.
    pub body: &'a [u8],
    pub items: u64,
}

/// The client's time limits ([`CONNECT_TIMEOUT`], [`REQUEST_TIMEOUT`] unless a test shortens them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: CONNECT_TIMEOUT,
            request: REQUEST_TIMEOUT,
        }
    }
}

/// Why the target could not be set up from `[upload]`; each names the key and the file.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("cannot read {key} {path}: {source}")]
    Read {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key} {path} is empty or not one line of text")]
    BadSecret { key: &'static str, path: PathBuf },
    /// The CA file or the proxy (named by their keys), or the client itself.
    #[error(transparent)]
    Http(#[from] https_client::ClientError),
    #[error("upload.s3.endpoint `{endpoint}` cannot be used: {why}")]
    Endpoint { endpoint: String, why: String },
    #[error("cannot set up the upload's HTTP client: {0}")]
    Client(String),
}

/// Where batches go: the HTTPS receiver or the S3 bucket.
pub enum Target {
    Https(HttpsTarget),
    S3(S3Target),
}

/// Shows what [`Target::describe`] shows: never a token, key or secret.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Target").field(&self.describe()).finish()
    }
}

impl Target {
    /// The target `[upload]` names, its secret files read now (trimmed, never logged) and its
    /// HTTP client built with the default timeouts.
    pub fn from_config(config: &UploadConfig) -> Result<Target, TargetError> {
        Target::with_timeouts(config, Timeouts::default())
    }

    /// As [`Target::from_config`], with other time limits (tests shorten them).
    pub fn with_timeouts(config: &UploadConfig, timeouts: Timeouts) -> Result<Target, TargetError> {
        Ok(match &config.target {
            UploadTarget::Https { url } => {
                let client = client(config, timeouts, true)?;
                let token_file = config.token_file.as_deref().ok_or(TargetError::BadSecret {
                    key: "upload.token_file",
                    path: PathBuf::new(),
                })?;
                let token = read_secret("upload.token_file", token_file)?;
                Target::Https(HttpsTarget::new(client, url, &token, token_file)?)
            }
            UploadTarget::S3 {
                bucket,
                prefix,
                endpoint,
                region,
                access_key_file,
                secret_key_file,
            } => {
                let client = client(config, timeouts, false)?;
                let access_key = read_secret("upload.s3.access_key_file", access_key_file)?;
                let secret_key = read_secret("upload.s3.secret_key_file", secret_key_file)?;
                Target::S3(S3Target::new(
                    client,
                    super::s3::Bucket {
                        bucket,
                        prefix,
                        endpoint,
                        region,
                        site: &config.site,
                    },
                    access_key,
                    secret_key,
                )?)
            }
        })
    }

    /// Delivers one batch: every failure is an [`Outcome`], never an error or a panic.
    pub async fn send(&self, batch: &Outgoing<'_>) -> Outcome {
        match self {
            Target::Https(target) => target.send(batch).await,
            Target::S3(target) => target.send(batch).await,
        }
    }

    /// What the page, the console and the logs show: "HTTPS https://host/ingest" or
    /// "S3 s3://bucket/prefix at https://endpoint"; never a secret.
    pub fn describe(&self) -> String {
        match self {
            Target::Https(target) => target.describe(),
            Target::S3(target) => target.describe(),
        }
    }
}

/// A secret file's text, trimmed: one line, not empty. A file others may read is used, with a
/// warning naming the key and the file (never its content).
fn read_secret(key: &'static str, path: &Path) -> Result<String, TargetError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetError::Read {
        key,
        path: path.to_owned(),
        source,
    })?;
    let secret = text.trim();
    if secret.is_empty() || secret.contains(['\n', '\r']) {
        return Err(TargetError::BadSecret {
            key,
            path: path.to_owned(),
        });
    }
    if let Some(mode) = readable_by_others(path) {
        tracing::warn!(
            "The secret file {} ({key}) can be read by other users (mode {mode:o}); make it 0600 and owned by dockd's user.",
            path.display()
        );
    }
    Ok(secret.to_owned())
}

/// The file's permission bits when its group or others may read it.
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then_some(mode)
}

/// The one HTTP client of a target, kept for the process (its connections are kept alive):
/// `https_client`'s, with `[upload]`'s CA file and proxy, the time limits, and `https_only` for the
/// HTTPS edge.
fn client(
    config: &UploadConfig,
    timeouts: Timeouts,
    https_only: bool,
) -> Result<reqwest::Client, TargetError> {
    Ok(https_client::build(&ClientSpec {
        ca_key: "upload.ca_file",
        ca_file: config.ca_file.as_deref(),
        proxy_key: "upload.proxy",
        proxy: config.proxy.as_deref(),
        connect: timeouts.connect,
        request: Some(timeouts.request),
        read: None,
        https_only,
    })?)
}

/// Sends `request` with the committed bytes as its body: the answer, or what its failure means.
pub(super) async fn exchange(
    request: reqwest::RequestBuilder,
    body: &[u8],
) -> Result<reqwest::Response, Outcome> {
    request
        .body(body.to_vec())
        .send()
        .await
        .map_err(|error| failure_outcome(&error))
}

/// What a request that got no answer means: a TLS failure (found in the error's chain), a
/// timeout, or a lost connection (refused, reset, closed mid-exchange).
fn failure_outcome(error: &reqwest::Error) -> Outcome {
    if let Some(why) = tls_failure(error) {
        return Outcome::Tls(why);
    }
    if error.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::ConnectionLost
    }
}

/// The rustls error in `error`'s chain, as a phrase for "The secure connection to the receiver
/// failed (…)".
fn tls_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    https_client::tls_failure(error, "the receiver", "upload.ca_file")
}

/// The first [`ANSWER_BODY_MAX`] bytes of an answer's body (the rest is read and dropped, so
/// the connection can be kept); `None` when the body could not be read.
pub(super) async fn answer_body(mut response: reqwest::Response) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = ANSWER_BODY_MAX.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => return Some(kept),
            Err(_) => return None,
        }
    }
}

/// A `Retry-After` in seconds: given as seconds, or as an HTTP date counted from the answer's own
/// `Date` (both the receiver's clock, so a dock whose clock is off still waits what was asked), or
/// from the dock's clock when the answer has no `Date`. A date in the past is no wait.
pub(super) fn retry_after_s(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse() {
        return Some(seconds);
    }
    let at = http_date(value)?;
    let from = headers
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(http_date)
        .unwrap_or_else(jiff::Timestamp::now);
    let seconds = at.as_second().saturating_sub(from.as_second());
    Some(u64::try_from(seconds).unwrap_or(0))
}

/// How far the receiver's `Date` may be from the dock's clock before a refusal is read as the
/// dock's clock being wrong (S3's own limit).
pub(super) const CLOCK_SKEW_MAX_S: i64 = 15 * 60;

/// Whether the answer's `Date` is more than [`CLOCK_SKEW_MAX_S`] from the dock's clock.
pub(super) fn clock_skewed(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(http_date)
        .is_some_and(|date| {
            date.as_second()
                .saturating_sub(jiff::Timestamp::now().as_second())
                .abs()
                > CLOCK_SKEW_MAX_S
        })
}

/// An HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`).
fn http_date(value: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value.trim())
        .ok()
}
