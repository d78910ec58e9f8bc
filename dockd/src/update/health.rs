//! A running daemon's account of itself for a trial's health check, and the check that its page
//! answers. It owns the `health` control command's document ([`Report`]) and [`Running`], which
//! the daemon fills as it starts (where the page listens, which transports started, whether it
//! is on trial); it must never decide a trial's outcome (the launcher does, from outside) nor
//! let a version on trial erase a wearable's data.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What `health` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub version: String,
    pub trial: bool,
    /// The page's address, e.g. `https://0.0.0.0:443/`, once it listens.
    pub page: Option<String>,
    /// The wearables' transports the config asks for, and those that started.
    pub transports_configured: Vec<String>,
    pub transports_started: Vec<String>,
}

impl Report {
    /// The configured transports that did not start, if any.
    pub fn transports_missing(&self) -> Option<String> {
        let missing: Vec<&str> = self
            .transports_configured
            .iter()
            .filter(|t| !self.transports_started.contains(t))
            .map(String::as_str)
            .collect();
        (!missing.is_empty()).then(|| missing.join(", "))
    }
}

/// The daemon's live account of itself.
#[derive(Default)]
pub struct Running {
    page: OnceLock<String>,
    transports: Mutex<(Vec<String>, Vec<String>)>,
    trial: AtomicBool,
    restart: AtomicBool,
    updates: OnceLock<super::daemon::UpdateHandle>,
}

impl Running {
    /// A newer version was installed: the daemon stops and asks to be started again (as the
    /// launcher's exit code [`super::launcher::EXIT_RESTART`]).
    pub fn request_restart(&self) {
        self.restart.store(true, Ordering::SeqCst);
    }

    pub fn restart_requested(&self) -> bool {
        self.restart.load(Ordering::SeqCst)
    }

    /// The updater's handle, once it runs.
    pub fn set_updates(&self, updates: super::daemon::UpdateHandle) {
        let _ = self.updates.set(updates);
    }

    pub fn updates(&self) -> Option<&super::daemon::UpdateHandle> {
        self.updates.get()
    }

    pub fn new(trial: bool) -> Self {
        Self {
            trial: AtomicBool::new(trial),
            ..Self::default()
        }
    }

    /// Whether this version is on trial: it then sends no ERASE.
    pub fn on_trial(&self) -> bool {
        self.trial.load(Ordering::SeqCst)
    }

    /// The launcher confirmed this version: wearables may be erased again.
    pub fn confirmed(&self) {
        self.trial.store(false, Ordering::SeqCst);
    }

    pub fn set_page(&self, url: &str) {
        let _ = self.page.set(url.to_owned());
    }

    pub fn set_transports(&self, configured: Vec<String>, started: Vec<String>) {
        if let Ok(mut transports) = self.transports.lock() {
            *transports = (configured, started);
        }
    }

    pub fn report(&self) -> Report {
        let (configured, started) = self
            .transports
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default();
        Report {
            version: crate::version::text().to_owned(),
            trial: self.on_trial(),
            page: self.page.get().cloned(),
            transports_configured: configured,
            transports_started: started,
        }
    }
}

/// Whether the page at `url` answers an HTTP request (any status: it is alive and speaking
/// HTTP). An unspecified address (`0.0.0.0`, `::`) is asked on loopback; the dock's own
/// self-signed certificate is accepted, the request never leaving this machine.
pub async fn page_answers(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("the page's address {url}: {e}"))?;
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| format!("the page's address {url} has no port"))?;
    let ip: IpAddr = parsed
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let ip = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    };
    if !ip.is_loopback() && !local(ip) {
        return Err(format!("the page's address {url} is not on this machine"));
    }
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .resolve("dock.local", SocketAddr::new(ip, port))
        .build()
        .map_err(|e| e.to_string())?;
    let probe = format!("{}://dock.local:{port}/", parsed.scheme());
    client
        .get(&probe)
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("the page at {url} does not answer: {e}"))
}

/// Whether `ip` is one of this machine's own addresses (bound by the page).
fn local(ip: IpAddr) -> bool {
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_transport_that_did_not_start_is_named() {
        let running = Running::new(true);
        running.set_transports(
            vec!["USB".into(), "emulator socket".into()],
            vec!["emulator socket".into()],
        );
        let report = running.report();
        assert!(report.trial);
        assert_eq!(report.transports_missing().as_deref(), Some("USB"));
        running.confirmed();
        assert!(!running.report().trial);
    }

    #[tokio::test]
    async fn a_listener_that_speaks_no_http_does_not_pass_and_a_closed_port_neither() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
        assert!(page_answers(&format!("http://{addr}/")).await.is_err());
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        assert!(
            page_answers(&format!("http://0.0.0.0:{port}/"))
                .await
                .is_err()
        );
    }
}
