//! Fetching a release, thin I/O: the manifest and its detached signature (64 KiB each at most)
//! and the archive an offer names, over HTTPS only (`https_client`: `[update] ca_file` or Debian's
//! bundle, the proxy), the archive streamed to a private staging folder under a hard cap of its
//! announced size with its sha256 taken on the fly, then its zipsign signature checked against
//! the trusted keys, `dockd` taken out of it and checked against the manifest's `binary_sha256`,
//! and both files fsynced and moved into place. It owns the download's limits and checks; it must
//! never judge a manifest (that is `manifest`), never accept an empty key set, and never leave a
//! file behind in the target folder when a check fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest as _;

use crate::https_client::{self, ClientSpec};
use crate::update::manifest::{Asset, TrustedKey};

/// The most of a manifest or of its signature that is read.
pub const MANIFEST_MAX_BYTES: u64 = 64 * 1024;
/// How long a connection (TCP + TLS, through the proxy if any) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the manifest's or its signature's whole request may take.
pub const MANIFEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the archive's download may wait for its next bytes (a whole download of a slow
/// link may take longer than any fixed limit).
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// The fetch's time limits: [`CONNECT_TIMEOUT`], [`MANIFEST_TIMEOUT`], [`READ_TIMEOUT`] unless a
/// test shortens them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub manifest: Duration,
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: CONNECT_TIMEOUT,
            manifest: MANIFEST_TIMEOUT,
            read: READ_TIMEOUT,
        }
    }
}

/// The name of the binary inside a release archive, and of the file fetched out of it.
pub const BINARY: &str = "dockd";

/// Where releases come from: `[update] manifest_url`, `ca_file` and `proxy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `https://…/manifest.json`; the archives lie beside it, `<dir>/<asset name>`.
    pub manifest_url: String,
    /// The only roots trusted; Debian's bundle when `None`.
    pub ca_file: Option<PathBuf>,
    /// The HTTPS proxy; `HTTPS_PROXY` when `None`.
    pub proxy: Option<String>,
}

/// A manifest's exact bytes and its detached ed25519 signature, as served: not yet believed
/// (`manifest::judge` verifies and judges them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedManifest {
    pub bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A release fetched and checked: the archive under its asset name and the `dockd` binary out of
/// it (mode 0700), both inside the folder asked for, both fsynced, as is the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub archive: PathBuf,
    pub binary: PathBuf,
}

/// Why a fetch failed; each says what was wrong in words a technician can act on.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "update.manifest_url `{url}` is not an https:// URL: releases are fetched over HTTPS only"
    )]
    NotHttps { url: String },
    #[error("update.manifest_url `{url}` is not a URL the dock can use: {why}")]
    BadUrl { url: String, why: String },
    #[error(transparent)]
    Client(#[from] https_client::ClientError),
    #[error("the secure connection to the release server failed ({why})")]
    Tls { why: String },
    #[error(
        "the release server cannot be reached at {url} ({why}); check the network and the proxy"
    )]
    Unreachable { url: String, why: String },
    #[error("the release server answered {status} for {url}")]
    Http { url: String, status: u16 },
    #[error("{url} is larger than the {limit} bytes allowed: the download was stopped")]
    TooLarge { url: String, limit: u64 },
    #[error("the download of {url} ended after {got} of its {want} bytes")]
    Truncated { url: String, got: u64, want: u64 },
    #[error(
        "the archive's sha256 is {got}, not the manifest's {want}: it is not the signed release"
    )]
    Checksum { want: String, got: String },
    #[error("this build has no release keys, so it installs no update")]
    NoKeys,
    #[error("the archive {name} carries no zipsign signature: it is not a signed release")]
    Unsigned { name: String },
    #[error(
        "the archive {name}'s signature is not from a key this dock trusts, or the archive was changed"
    )]
    BadSignature { name: String },
    #[error("the archive {name}'s signature cannot be checked: {why}")]
    Signature { name: String, why: String },
    #[error("the asset name {name:?} is not a plain file name")]
    BadName { name: String },
    #[error("the archive {name} holds no regular file `dockd`: {why}")]
    NoBinary { name: String, why: String },
    #[error(
        "the dockd inside {name} has sha256 {got}, not the manifest's {want}: it is not the signed release"
    )]
    BinaryChecksum {
        name: String,
        want: String,
        got: String,
    },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The release server's client: one per source, its connections kept alive.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    manifest_url: reqwest::Url,
    timeouts: Timeouts,
}

impl Fetcher {
    /// A fetcher for `source`; an `http://` (or any non-HTTPS) URL is refused, as is a CA file
    /// or proxy that cannot be used.
    pub fn new(source: &Source) -> Result<Fetcher, FetchError> {
        Fetcher::with_timeouts(source, Timeouts::default())
    }

    /// As [`Fetcher::new`], with other time limits (tests shorten them).
    pub fn with_timeouts(source: &Source, timeouts: Timeouts) -> Result<Fetcher, FetchError> {
        let url = reqwest::Url::parse(&source.manifest_url).map_err(|e| FetchError::BadUrl {
            url: source.manifest_url.clone(),
            why: e.to_string(),
        })?;
        if url.scheme() != "https" {
            return Err(FetchError::NotHttps {
                url: source.manifest_url.clone(),
            });
        }
        if url.path().ends_with('/') {
            return Err(FetchError::BadUrl {
                url: source.manifest_url.clone(),
                why: "it names a folder, not the manifest file".to_owned(),
            });
        }
        let client = https_client::build(&ClientSpec {
            ca_key: "update.ca_file",
            ca_file: source.ca_file.as_deref(),
            proxy_key: "update.proxy",
            proxy: source.proxy.as_deref(),
            connect: timeouts.connect,
            request: None,
            read: Some(timeouts.read),
            https_only: true,
        })?;
        Ok(Fetcher {
            client,
            manifest_url: url,
            timeouts,
        })
    }

    /// The manifest's URL.
    pub fn manifest_url(&self) -> &str {
        self.manifest_url.as_str()
    }

    /// The manifest and `<manifest_url>.sig`, each at most [`MANIFEST_MAX_BYTES`].
    pub async fn manifest(&self) -> Result<SignedManifest, FetchError> {
        let sig_url = reqwest::Url::parse(&format!("{}.sig", self.manifest_url)).map_err(|e| {
            FetchError::BadUrl {
                url: self.manifest_url.to_string(),
                why: e.to_string(),
            }
        })?;
        let bytes = self.small(&self.manifest_url).await?;
        let signature = self.small(&sig_url).await?;
        Ok(SignedManifest { bytes, signature })
    }

    /// Fetches `asset` (named by a manifest `manifest::judge` accepted) into the folder `into`:
    /// downloaded under a cap of its announced size, its sha256 and zipsign signature (one of
    /// `keys`) checked, `dockd` taken out and checked against `binary_sha256`. On any failure
    /// `into` holds what it held before.
    pub async fn release(
        &self,
        asset: &Asset,
        into: &Path,
        keys: &[TrustedKey],
    ) -> Result<Fetched, FetchError> {
        if keys.is_empty() {
            return Err(FetchError::NoKeys);
        }
        let name = asset.name.as_str();
        if name.is_empty()
            || name == BINARY
            || name.starts_with('.')
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(FetchError::BadName {
                name: name.to_owned(),
            });
        }
        let url = self
            .manifest_url
            .join(name)
            .map_err(|e| FetchError::BadUrl {
                url: self.manifest_url.to_string(),
                why: e.to_string(),
            })?;
        let staging = Staging::create(into)?;
        let archive = staging.path.join(name);
        self.download(&url, asset, &archive).await?;
        let keys: Vec<self_update::VerifyingKey> = keys.iter().map(|key| key.public).collect();
        let staged = staging.path.clone();
        let asset = asset.clone();
        let checked = tokio::task::spawn_blocking(move || check_archive(&staged, &asset, &keys))
            .await
            .map_err(|e| FetchError::Io {
                path: archive.clone(),
                source: std::io::Error::other(e.to_string()),
            })??;
        staging.finish(into, &checked)
    }

    /// A small file (a manifest or its signature), at most [`MANIFEST_MAX_BYTES`].
    async fn small(&self, url: &reqwest::Url) -> Result<Vec<u8>, FetchError> {
        let mut response = self.get(url, Some(self.timeouts.manifest)).await?;
        if response
            .content_length()
            .is_some_and(|length| length > MANIFEST_MAX_BYTES)
        {
            return Err(too_large(url, MANIFEST_MAX_BYTES));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure(url, &e))? {
            body.extend_from_slice(&chunk);
            if body.len() as u64 > MANIFEST_MAX_BYTES {
                return Err(too_large(url, MANIFEST_MAX_BYTES));
            }
        }
        Ok(body)
    }

    /// A GET answered 200, or why not.
    async fn get(
        &self,
        url: &reqwest::Url,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, FetchError> {
        let mut request = self.client.get(url.clone());
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().await.map_err(|e| self.failure(url, &e))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Http {
                url: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        Ok(response)
    }

    /// What a request that got no (whole) answer means: TLS, or the server out of reach.
    fn failure(&self, url: &reqwest::Url, error: &reqwest::Error) -> FetchError {
        if let Some(why) = https_client::tls_failure(error, "the release server", "update.ca_file")
        {
            return FetchError::Tls { why };
        }
        FetchError::Unreachable {
            url: url.to_string(),
            why: chain(error),
        }
    }

    /// Streams the archive to `path`: never more than `asset.size` bytes kept (one more read is
    /// [`FetchError::TooLarge`]), fewer is [`FetchError::Truncated`], its sha256 compared.
    async fn download(
        &self,
        url: &reqwest::Url,
        asset: &Asset,
        path: &Path,
    ) -> Result<(), FetchError> {
        use tokio::io::AsyncWriteExt as _;
        let want = asset.size;
        let mut response = self.get(url, None).await?;
        if response
            .content_length()
            .is_some_and(|length| length > want)
        {
            return Err(too_large(url, want));
        }
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .await
            .map_err(io(path))?;
        let mut hasher = sha2::Sha256::new();
        let mut got: u64 = 0;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                // The connection broke mid-body (closed early, reset, the read timeout): a
                // truncated download, unless TLS itself failed.
                Err(error) => {
                    return Err(match self.failure(url, &error) {
                        FetchError::Unreachable { why, .. } => {
                            tracing::warn!(url = %url, got, want, error = %why, "The release download broke off.");
                            FetchError::Truncated {
                                url: url.to_string(),
                                got,
                                want,
                            }
                        }
                        other => other,
                    });
                }
            };
            got += chunk.len() as u64;
            if got > want {
                return Err(too_large(url, want));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io(path))?;
        }
        if got < want {
            return Err(FetchError::Truncated {
                url: url.to_string(),
                got,
                want,
            });
        }
        let digest = hex::encode(hasher.finalize());
        if !digest.eq_ignore_ascii_case(&asset.sha256) {
            return Err(FetchError::Checksum {
                want: asset.sha256.clone(),
                got: digest,
            });
        }
        file.sync_all().await.map_err(io(path))?;
        crate::update::launcher::fail_point("fetch-archive-complete");
        Ok(())
    }
}

fn too_large(url: &reqwest::Url, limit: u64) -> FetchError {
    FetchError::TooLarge {
        url: url.to_string(),
        limit,
    }
}

/// An error and its causes, as one line.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// The prefix of a fetch's staging folder inside the target folder.
pub const STAGING_PREFIX: &str = ".fetch-";

/// Removes the staging folders a fetch cut off by a crash or a power cut left in `into` (a fetch
/// that returns removes its own): how many there were. For the slots' start-up sweep.
pub fn sweep(into: &Path) -> Result<usize, FetchError> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(into) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => return Err(io(into)(source)),
    };
    for entry in entries {
        let entry = entry.map_err(io(into))?;
        if entry
            .file_name()
            .to_string_lossy()
            .starts_with(STAGING_PREFIX)
        {
            let path = entry.path();
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(into)?;
    }
    Ok(removed)
}

/// The staged archive and binary, checked.
struct Checked {
    archive: PathBuf,
    binary: PathBuf,
}

/// The archive in `staged`: its zipsign signature against `keys` (the signing context is its file
/// name), then `dockd` extracted beside it, a regular file whose sha256 is the manifest's; 0700
/// and fsynced.
fn check_archive(
    staged: &Path,
    asset: &Asset,
    keys: &[self_update::VerifyingKey],
) -> Result<Checked, FetchError> {
    let name = asset.name.clone();
    let archive = staged.join(&asset.name);
    if keys.is_empty() {
        return Err(FetchError::NoKeys);
    }
    self_update::verify_signature(&archive, keys).map_err(|e| signature_error(&name, e))?;
    crate::update::launcher::fail_point("fetch-archive-verified");
    let mut extract = self_update::Extract::from_source(&archive);
    extract.archive(self_update::ArchiveKind::Tar(Some(
        self_update::Compression::Gz,
    )));
    extract
        .extract_file(staged, BINARY)
        .map_err(|e| FetchError::NoBinary {
            name: name.clone(),
            why: chain(&e),
        })?;
    let binary = staged.join(BINARY);
    let meta = std::fs::symlink_metadata(&binary).map_err(io(&binary))?;
    if !meta.file_type().is_file() {
        return Err(FetchError::NoBinary {
            name,
            why: "its `dockd` is not a regular file".to_owned(),
        });
    }
    let got = crate::update::slots::sha256_file(&binary).map_err(io(&binary))?;
    if !got.eq_ignore_ascii_case(&asset.binary_sha256) {
        return Err(FetchError::BinaryChecksum {
            name,
            want: asset.binary_sha256.clone(),
            got,
        });
    }
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o700))
            .map_err(io(&binary))?;
    }
    std::fs::File::open(&binary)
        .and_then(|file| file.sync_all())
        .map_err(io(&binary))?;
    crate::update::launcher::fail_point("fetch-binary-extracted");
    Ok(Checked { archive, binary })
}

/// What `self_update::verify_signature` refused, told apart as far as zipsign's errors allow:
/// no signature block at all, no trusted key matching, or the check itself failing.
fn signature_error(name: &str, error: self_update::errors::Error) -> FetchError {
    use self_update::zipsign_api::ZipsignError;
    let name = name.to_owned();
    if let self_update::errors::Error::Signature(inner) = &error
        && let Some(zipsign) = inner.downcast_ref::<ZipsignError>()
    {
        let text = zipsign.to_string();
        return match zipsign {
            ZipsignError::NoMatch(_) => FetchError::BadSignature { name },
            // zipsign's tar errors are opaque; their words are its only tell.
            ZipsignError::VerifyTar(_) if text.contains("no matching key") => {
                FetchError::BadSignature { name }
            }
            ZipsignError::VerifyTar(_) if text.contains("could not find read signatures") => {
                FetchError::Unsigned { name }
            }
            _ => FetchError::Signature {
                name,
                why: chain(zipsign),
            },
        };
    }
    FetchError::Signature {
        name,
        why: chain(&error),
    }
}

/// A private folder inside the target folder (`.fetch-<pid>-<n>`), removed with everything in it
/// unless its files were moved into place.
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn create(into: &Path) -> Result<Staging, FetchError> {
        use std::os::unix::fs::DirBuilderExt as _;
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = into.join(format!(
            "{STAGING_PREFIX}{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(io(&path))?;
        Ok(Staging { path })
    }

    /// Moves the checked files into `into` (each one rename) and fsyncs the folder.
    fn finish(self, into: &Path, checked: &Checked) -> Result<Fetched, FetchError> {
        let mut fetched = Vec::new();
        for from in [&checked.archive, &checked.binary] {
            let to = into.join(from.file_name().unwrap_or_default());
            std::fs::rename(from, &to).map_err(io(&to))?;
            fetched.push(to);
        }
        std::fs::remove_dir(&self.path).map_err(io(&self.path))?;
        sync_dir(into)?;
        let [archive, binary]: [PathBuf; 2] = fetched.try_into().map_err(|_| FetchError::Io {
            path: into.to_owned(),
            source: std::io::Error::other("two files were moved"),
        })?;
        Ok(Fetched { archive, binary })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %error, "Cannot remove a release download's staging folder.");
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), FetchError> {
    std::fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(io(dir))
}

#[cfg(test)]
mod tests;
