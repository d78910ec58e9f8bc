//! The one HTTPS client kit every outbound edge builds its `reqwest` client with (the upload's
//! targets, the update's fetch): rustls trusting only a configured CA file or Debian's bundle,
//! the proxy (the configured one, else `HTTPS_PROXY`), time limits, HTTPS only, and dockd's user
//! agent with the release version; and the reading of a TLS failure in words IT acts on. It owns
//! those choices; it must never offer a way to skip a certificate check, and never read the
//! environment for anything but the proxy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::redact_userinfo;

/// Debian's CA bundle: the roots trusted when no `ca_file` names others.
pub const DEBIAN_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What a client is built from. The `*_key` fields name the config keys in errors.
#[derive(Debug, Clone, Copy)]
pub struct ClientSpec<'a> {
    /// The config key of `ca_file`, e.g. `upload.ca_file`.
    pub ca_key: &'static str,
    /// The only roots trusted; Debian's bundle when `None`.
    pub ca_file: Option<&'a Path>,
    /// The config key of `proxy`, e.g. `upload.proxy`.
    pub proxy_key: &'static str,
    /// The configured proxy; `HTTPS_PROXY`/`https_proxy` when `None` (see [`proxy_url`]).
    pub proxy: Option<&'a str>,
    /// How long a connection (TCP + TLS, through the proxy if any) may take.
    pub connect: Duration,
    /// How long a whole request may take (a request may set its own).
    pub request: Option<Duration>,
    /// How long a read may wait for the next bytes.
    pub read: Option<Duration>,
    /// Refuse `http://` URLs and redirects to them.
    pub https_only: bool,
}

/// Why a client could not be built; each names the key and the file.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read {key} {path}: {source}")]
    Read {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key} {path} holds no PEM certificate the dock can use: {why}")]
    BadCa {
        key: &'static str,
        path: PathBuf,
        why: String,
    },
    #[error("{key} `{proxy}` cannot be used: {why}")]
    Proxy {
        key: &'static str,
        proxy: String,
        why: String,
    },
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
}

/// The user agent every request carries: `dockd/<release version>`.
pub fn user_agent() -> String {
    format!("dockd/{}", crate::version::current())
}

/// A client per [`ClientSpec`]: rustls trusting only `ca_file` or Debian's bundle, HTTP/2 when
/// offered, the proxy from [`proxy_url`] (hosts in `NO_PROXY` go direct), the time limits.
pub fn build(spec: &ClientSpec<'_>) -> Result<reqwest::Client, ClientError> {
    let (key, path) = match spec.ca_file {
        Some(path) => (spec.ca_key, path),
        None => ("the CA bundle", Path::new(DEBIAN_CA_BUNDLE)),
    };
    let pem = std::fs::read(path).map_err(|source| ClientError::Read {
        key,
        path: path.to_owned(),
        source,
    })?;
    let bad_ca = |why: String| ClientError::BadCa {
        key,
        path: path.to_owned(),
        why,
    };
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad_ca(e.to_string()))?;
    if roots.is_empty() {
        return Err(bad_ca("no certificate in it".to_owned()));
    }
    let mut builder = reqwest::Client::builder()
        .tls_certs_only(roots)
        .https_only(spec.https_only)
        .connect_timeout(spec.connect)
        .user_agent(user_agent());
    if let Some(request) = spec.request {
        builder = builder.timeout(request);
    }
    if let Some(read) = spec.read {
        builder = builder.read_timeout(read);
    }
    builder = match proxy_url(spec.proxy, |name| std::env::var(name).ok()) {
        Some(proxy) => {
            let refused = |e: reqwest::Error| ClientError::Proxy {
                key: spec.proxy_key,
                proxy: redact_userinfo(&proxy),
                why: e.to_string(),
            };
            let proxy = reqwest::Proxy::https(proxy.as_str())
                .map_err(refused)?
                .no_proxy(reqwest::NoProxy::from_env());
            builder.proxy(proxy)
        }
        None => builder.no_proxy(),
    };
    builder
        .build()
        .map_err(|e| ClientError::Build(e.to_string()))
}

/// The HTTPS proxy: the configured one, else `HTTPS_PROXY`, else `https_proxy` (an empty value
/// counts as unset); `NO_PROXY`/`no_proxy` exempt hosts from the environment's or the file's.
pub fn proxy_url(configured: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    configured.map(str::to_owned).or_else(|| {
        ["HTTPS_PROXY", "https_proxy"]
            .into_iter()
            .filter_map(env)
            .find(|value| !value.trim().is_empty())
    })
}

/// The rustls error in `error`'s chain (seen through wrapping io::Errors), as a phrase about
/// `peer` ("the receiver", "the release server") naming `ca_key` where trusting another CA helps.
pub fn tls_failure(
    error: &(dyn std::error::Error + 'static),
    peer: &str,
    ca_key: &str,
) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls_phrase(tls, peer, ca_key));
        }
        // An io::Error's `source` skips the error it wraps (hyper-util wraps tokio-rustls's
        // io::Error, which wraps the rustls::Error): descend into the wrapped one instead.
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => None,
            },
            None => current.source(),
        };
    }
    None
}

/// A rustls error in words an IT person acts on.
fn tls_phrase(error: &rustls::Error, peer: &str, ca_key: &str) -> String {
    use rustls::CertificateError;
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => format!(
            "{peer}'s certificate is not signed by an authority the dock trusts: set {ca_key} or fix {peer}'s chain"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("{peer}'s certificate is not for the host name in the url"),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => format!("{peer}'s certificate has expired, or the dock's clock is wrong"),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => format!("{peer}'s certificate is not valid yet, or the dock's clock is wrong"),
        other => format!("TLS: {other}"),
    }
}
