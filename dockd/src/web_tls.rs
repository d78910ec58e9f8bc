//! HTTPS for the dock's page: the site certificate (configured, or one per dock generated at first
//! start and kept in the data folder), its SHA-256 fingerprint, the names the page answers to
//! (`web.server_names`, by default the certificate's), and a small accept loop that hands each
//! connection (over TLS, or plain on loopback) to hyper and the axum router, with time limits on
//! handshakes and request heads, and owns the connection tasks, so shutdown can end them. It owns
//! the certificate files, TLS settings and connection limits; it must never serve a request itself
//! nor log a private key.
//!
//! Why a generated certificate: a dock sits on a site network with no public name, so no public
//! CA can vouch for it. A self-signed certificate still encrypts, and its fingerprint (in the log
//! and in `dockd status`) lets whoever sets the dock up check, once, that the browser's warning is
//! about this dock and not someone in between. A site with its own CA sets `web.cert`/`web.key`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use crate::config::Config;

/// The generated certificate and its key, in the data folder.
pub const CERT_FILE: &str = "web-cert.pem";
pub const KEY_FILE: &str = "web-key.pem";

/// A client that connects but does not finish its TLS handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that does not finish sending a request head in this time is dropped (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Why the site certificate could not be loaded, made or used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no usable {what} (PEM expected): {message}")]
    Pem {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    #[error("cannot generate the dock's certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key cannot be used for TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The certificate the page is served with.
pub struct SiteCertificate {
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Where the certificate was read from (or written to).
    pub path: PathBuf,
    /// SHA-256 of the leaf certificate's DER, as browsers show it (`AB:CD:…`).
    pub fingerprint: String,
    /// Whether this start generated it.
    pub generated: bool,
}

impl std::fmt::Debug for SiteCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCertificate")
            .field("path", &self.path)
            .field("fingerprint", &self.fingerprint)
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 fingerprint of a DER certificate, upper-case hex pairs joined by colons.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = Sha256::digest(der);
    let hex = hex::encode_upper(digest.as_slice());
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// Where the certificate the page uses lives, or `None` when the page is plain HTTP.
pub fn certificate_path(config: &Config) -> Option<PathBuf> {
    if !config.web.tls {
        return None;
    }
    Some(
        config
            .web
            .cert
            .clone()
            .unwrap_or_else(|| config.storage.data_dir.join(CERT_FILE)),
    )
}

/// The fingerprint of the first certificate in a PEM file.
pub fn file_fingerprint(path: &Path) -> Result<String, TlsError> {
    let chain = read_chain(path)?;
    chain
        .first()
        .map(|leaf| fingerprint(leaf))
        .ok_or_else(|| TlsError::Pem {
            path: path.to_owned(),
            what: "certificate",
            message: "no CERTIFICATE block".to_owned(),
        })
}

/// The names a generated certificate is valid for: loopback, the machine's host name (and its
/// `.local` mDNS name), and the listen address unless it is a wildcard.
pub fn subject_names(listen: SocketAddr, hostname: Option<&str>) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
    ];
    if let Some(host) = hostname.map(str::trim).filter(|h| is_dns_name(h)) {
        names.push(host.to_owned());
        if !host.contains('.') {
            names.push(format!("{host}.local"));
        }
    }
    let ip = listen.ip();
    if !ip.is_unspecified() && !ip.is_loopback() {
        names.push(ip.to_string());
    }
    names.dedup();
    names
}

/// The names the page answers to: `web.server_names` if set; otherwise the certificate's DNS names
/// (when served over TLS) and what a generated certificate names (`subject_names`: loopback,
/// the host name, a specific listen address).
pub fn server_names(
    config: &Config,
    certificate: Option<&SiteCertificate>,
    hostname: Option<&str>,
) -> Vec<String> {
    if let Some(names) = &config.web.server_names {
        return names.iter().map(|name| name.trim().to_owned()).collect();
    }
    let mut names: Vec<String> = certificate
        .and_then(|certificate| certificate.chain.first())
        .and_then(|leaf| webpki::EndEntityCert::try_from(leaf).ok())
        .map(|leaf| leaf.valid_dns_names().map(str::to_owned).collect())
        .unwrap_or_default();
    for name in subject_names(config.web.listen, hostname) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The machine's host name, as the kernel has it (`None` where it cannot be read).
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The configured certificate (`web.cert`/`web.key`), or the dock's own from the data folder,
/// generated for `names` the first time.
pub fn load_or_create(config: &Config, names: &[String]) -> Result<SiteCertificate, TlsError> {
    if let (Some(cert), Some(key)) = (&config.web.cert, &config.web.key) {
        return load(cert, key, false);
    }
    let dir = &config.storage.data_dir;
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if cert.exists() && key.exists() {
        return load(&cert, &key, false);
    }
    generate(&cert, &key, names)?;
    load(&cert, &key, true)
}

fn load(cert: &Path, key: &Path, generated: bool) -> Result<SiteCertificate, TlsError> {
    let chain = read_chain(cert)?;
    let leaf = chain.first().ok_or_else(|| TlsError::Pem {
        path: cert.to_owned(),
        what: "certificate",
        message: "no CERTIFICATE block".to_owned(),
    })?;
    let fingerprint = fingerprint(leaf);
    let bytes = std::fs::read(key).map_err(|source| TlsError::Io {
        path: key.to_owned(),
        source,
    })?;
    let key_der = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        path: key.to_owned(),
        what: "private key",
        message: e.to_string(),
    })?;
    Ok(SiteCertificate {
        chain,
        key: key_der,
        path: cert.to_owned(),
        fingerprint,
        generated,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Io {
        path: path.to_owned(),
        source,
    })?;
    CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: "certificate",
            message: e.to_string(),
        })
}

/// Makes an ECDSA P-256 key and a self-signed certificate for `names`; writes the key (0600)
/// before the certificate, each through a temporary file, so a crash leaves no half pair that
/// would be taken for a whole one.
fn generate(cert: &Path, key: &Path, names: &[String]) -> Result<(), TlsError> {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let common_name = names.get(3).map_or("dockd", String::as_str);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("dockd {common_name}"));
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "dockd charging dock");
    // Fixed dates, not the dock's clock, which may be unset at first boot. Clients check the span
    // against their own clocks; the fingerprint, not the dates, is what identifies the dock.
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2049, 12, 31);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let certificate = params.self_signed(&pair)?;
    write_file(key, pair.serialize_pem().as_bytes(), 0o600)?;
    write_file(cert, certificate.pem().as_bytes(), 0o600)?;
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TlsError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let temporary = path.with_extension("pem.new");
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)
        .map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)?;
    Ok(())
}

/// TLS settings for the page: TLS 1.2 and 1.3 from aws-lc-rs (the provider reqwest's rustls uses,
/// so one crypto library is built), HTTP/2 and HTTP/1.1 by ALPN.
pub fn server_config(certificate: &SiteCertificate) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certificate.chain.clone(), certificate.key.clone_key())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on `listener` until `shutdown`, over TLS when `tls` is given (plain HTTP
/// otherwise: loopback only, see `config`); then stops accepting, gives open connections
/// [`SHUTDOWN_GRACE`] to finish and aborts the rest. Every connection is a task of its own that
/// this call owns, so when it returns no request is left holding the router (and the store handles
/// behind it). A client gets [`HANDSHAKE_TIMEOUT`] for its TLS handshake and
/// [`HEADER_READ_TIMEOUT`] for each request head. Each request carries the client's address
/// (`ConnectInfo<SocketAddr>`).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<Arc<ServerConfig>>,
    shutdown: CancellationToken,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut make = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            // Forget finished connections as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %error, "Cannot accept a web connection.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = match make.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let service = TowerToHyperService::new(service);
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            let ended = match acceptor {
                None => {
                    let connection = builder.serve_connection(TokioIo::new(tcp), service);
                    watcher.watch(connection.into_owned()).await
                }
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(stream)) => stream,
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, error = %error, "TLS handshake failed.");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out.");
                                return;
                            }
                        };
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(connection.into_owned()).await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, error = %error, "Web connection ended with an error.");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!(
            connections = connections.len(),
            "Some web connections did not close in time; closing them."
        );
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &Path) -> Config {
        let mut config = Config::default();
        config.storage.data_dir = dir.to_owned();
        config
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dockd-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_generated_certificate_is_kept_and_reused_with_the_same_fingerprint() {
        let dir = temp_dir("reuse");
        let config = config_in(&dir);
        let names = subject_names("127.0.0.1:8443".parse().unwrap(), Some("dock-7"));
        let first = load_or_create(&config, &names).unwrap();
        assert!(first.generated);
        let again = load_or_create(&config, &names).unwrap();
        assert!(!again.generated);
        assert_eq!(first.fingerprint, again.fingerprint);
        assert_eq!(
            file_fingerprint(&dir.join(CERT_FILE)).unwrap(),
            first.fingerprint
        );
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1, "{}", first.fingerprint);
        assert!(server_config(&again).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_generated_private_key_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("mode");
        load_or_create(
            &config_in(&dir),
            &subject_names("[::]:443".parse().unwrap(), None),
        )
        .unwrap();
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_certificate_names_loopback_the_host_and_a_specific_listen_address() {
        let names = subject_names("192.168.4.20:443".parse().unwrap(), Some("dock-7\n"));
        assert_eq!(
            names,
            [
                "localhost",
                "127.0.0.1",
                "::1",
                "dock-7",
                "dock-7.local",
                "192.168.4.20"
            ]
        );
        let names = subject_names("0.0.0.0:443".parse().unwrap(), Some("bad host!"));
        assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
    }

    #[test]
    fn the_page_answers_to_the_certificates_names_unless_server_names_says_otherwise() {
        let dir = temp_dir("names");
        let own = config_in(&dir.join("own"));
        let names = ["dock-7.plant.example".to_owned(), "localhost".to_owned()];
        let made = load_or_create(&own, &names).unwrap();
        let mut config = config_in(&dir);
        config.web.listen = "0.0.0.0:8443".parse().unwrap();
        let served = server_names(&config, Some(&made), Some("dock-7"));
        assert_eq!(
            served,
            [
                "dock-7.plant.example",
                "localhost",
                "127.0.0.1",
                "::1",
                "dock-7",
                "dock-7.local"
            ]
        );
        config.web.server_names = Some(vec![" dock.example ".to_owned()]);
        assert_eq!(server_names(&config, Some(&made), None), ["dock.example"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_configured_certificate_is_used_instead_of_generating_one() {
        let dir = temp_dir("configured");
        let own = config_in(&dir.join("own"));
        let made = load_or_create(&own, &["localhost".to_owned()]).unwrap();
        let mut config = config_in(&dir.join("data"));
        config.web.cert = Some(dir.join("own").join(CERT_FILE));
        config.web.key = Some(dir.join("own").join(KEY_FILE));
        let used = load_or_create(&config, &["localhost".to_owned()]).unwrap();
        assert_eq!(used.fingerprint, made.fingerprint);
        assert!(!dir.join("data").join(CERT_FILE).exists());
        assert_eq!(certificate_path(&config), config.web.cert);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
