//! dockd's side of systemd: the page's listening socket handed over by socket activation
//! (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`), `sd_notify` datagrams (`READY=1`, `STATUS=`,
//! `WATCHDOG=1`, `STOPPING=1`) and the watchdog's period, and credentials (`CREDENTIALS_DIRECTORY`).
//! It owns the hand-over of file descriptors and the notify wire format; it must never read the
//! environment itself (`main` reads it into [`SystemdEnv`]) nor decide when the daemon is ready or
//! healthy (`app` does, and calls [`Notifier`]).
//!
//! Without systemd every value is absent: no socket is taken (the page binds `web.listen`), and
//! notifications go nowhere.

use std::ffi::{OsStr, OsString};
use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Duration;

/// The first file descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;

/// The name dockd.socket gives the page's socket (`FileDescriptorName=web`).
pub const WEB_SOCKET_NAME: &str = "web";

/// What systemd said to this process, as `main` read it from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemdEnv {
    pub listen_pid: Option<OsString>,
    pub listen_fds: Option<OsString>,
    pub listen_fdnames: Option<OsString>,
    pub notify_socket: Option<OsString>,
    pub watchdog_usec: Option<OsString>,
    pub watchdog_pid: Option<OsString>,
    pub credentials_directory: Option<OsString>,
}

impl SystemdEnv {
    /// The variables, each looked up with `var` (`main` passes `std::env::var_os`).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Self {
        Self {
            listen_pid: var("LISTEN_PID"),
            listen_fds: var("LISTEN_FDS"),
            listen_fdnames: var("LISTEN_FDNAMES"),
            notify_socket: var("NOTIFY_SOCKET"),
            watchdog_usec: var("WATCHDOG_USEC"),
            watchdog_pid: var("WATCHDOG_PID"),
            credentials_directory: var("CREDENTIALS_DIRECTORY"),
        }
    }

    /// The credentials folder systemd made for the service (`LoadCredential=`), if any.
    pub fn credentials_directory(&self) -> Option<PathBuf> {
        self.credentials_directory
            .as_deref()
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
    }

    /// How often the watchdog wants `WATCHDOG=1`: half its period (systemd's advice), when it is
    /// set for this process.
    pub fn watchdog_every(&self, own_pid: u32) -> Option<Duration> {
        if let Some(pid) = &self.watchdog_pid
            && pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(own_pid)
        {
            return None;
        }
        let usec: u64 = self.watchdog_usec.as_ref()?.to_str()?.parse().ok()?;
        (usec > 0).then(|| Duration::from_micros(usec / 2))
    }

    /// The sockets systemd passed to `own_pid`, by number and name; none when `LISTEN_PID` names
    /// another process (the variables were inherited) or is absent.
    pub fn passed_sockets(&self, own_pid: u32) -> Result<Vec<(RawFd, String)>, SystemdError> {
        let Some(pid) = &self.listen_pid else {
            return Ok(Vec::new());
        };
        if pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(own_pid) {
            return Ok(Vec::new());
        }
        let count = self
            .listen_fds
            .as_ref()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<RawFd>().ok())
            .filter(|n| (0..=1024).contains(n))
            .ok_or(SystemdError::BadListenFds)?;
        let names: Vec<String> = self
            .listen_fdnames
            .as_ref()
            .map(|names| {
                names
                    .to_string_lossy()
                    .split(':')
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok((0..count)
            .map(|i| {
                let name = names
                    .get(i as usize)
                    .filter(|_| names.len() == count as usize)
                    .cloned()
                    .unwrap_or_else(|| "unknown".to_owned());
                (LISTEN_FDS_START + i, name)
            })
            .collect())
    }

    /// Takes the page's listening socket from what systemd passed: the one named
    /// [`WEB_SOCKET_NAME`], or the only one. Call once per process: the descriptor becomes the
    /// listener's.
    pub fn take_web_listener(&self, own_pid: u32) -> Result<Option<TcpListener>, SystemdError> {
        let passed = self.passed_sockets(own_pid)?;
        let chosen = match passed.iter().find(|(_, name)| name == WEB_SOCKET_NAME) {
            Some((fd, _)) => *fd,
            None => match passed.as_slice() {
                [] => return Ok(None),
                [(fd, _)] => *fd,
                more => {
                    return Err(SystemdError::NoWebSocket {
                        names: more.iter().map(|(_, n)| n.clone()).collect(),
                    });
                }
            },
        };
        adopt_listener(chosen).map(Some)
    }
}

/// Makes the passed descriptor `fd` a listener, after checking it is a listening TCP socket.
fn adopt_listener(fd: RawFd) -> Result<TcpListener, SystemdError> {
    use nix::sys::socket::{AddressFamily, SockaddrLike, SockaddrStorage, getsockname, sockopt};
    // SAFETY: systemd passes the descriptors LISTEN_FDS_START..LISTEN_FDS_START+LISTEN_FDS open
    // to the process LISTEN_PID names, which `passed_sockets` checked is this one; nothing else
    // in dockd uses them, and `take_web_listener` is called once, so this is the only owner.
    #[allow(unsafe_code)]
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let not_listening = |why: String| SystemdError::NotAListener { fd, why };
    nix::fcntl::fcntl(
        &owned,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(|e| not_listening(e.to_string()))?;
    let listening = nix::sys::socket::getsockopt(&owned, sockopt::AcceptConn)
        .map_err(|e| not_listening(e.to_string()))?;
    if !listening {
        return Err(not_listening("it is not listening".to_owned()));
    }
    let family = getsockname::<SockaddrStorage>(std::os::fd::AsRawFd::as_raw_fd(&owned))
        .map_err(|e| not_listening(e.to_string()))?
        .family();
    if !matches!(family, Some(AddressFamily::Inet | AddressFamily::Inet6)) {
        return Err(not_listening(
            "it is not a TCP socket (ListenStream= must be a port or an address:port)".to_owned(),
        ));
    }
    Ok(TcpListener::from(owned))
}

/// What the daemon takes from systemd at start: `main` fills it from [`SystemdEnv`], `app` uses
/// it. The default is a start without systemd.
#[derive(Debug, Default)]
pub struct Handover {
    /// The page's listening socket (socket activation); absent: `web.listen` is bound.
    pub web_listener: Option<TcpListener>,
    pub notifier: Notifier,
    /// How often to feed the watchdog (`WatchdogSec=`); absent: no watchdog.
    pub watchdog_every: Option<Duration>,
}

/// Why systemd's hand-over could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SystemdError {
    #[error("LISTEN_FDS is not a number of file descriptors")]
    BadListenFds,
    #[error(
        "systemd passed sockets named {names:?} and none is named \"web\": give the page's socket FileDescriptorName=web"
    )]
    NoWebSocket { names: Vec<String> },
    #[error("the socket systemd passed as file descriptor {fd} cannot serve the page: {why}")]
    NotAListener { fd: RawFd, why: String },
}

/// Where `sd_notify` datagrams go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NotifyAddress {
    Path(PathBuf),
    /// A Linux abstract socket (`NOTIFY_SOCKET` starting with `@`), without the `@`.
    Abstract(Vec<u8>),
}

/// Sends `sd_notify` states to systemd; does nothing where systemd did not ask for them.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    address: Option<NotifyAddress>,
}

impl Notifier {
    /// Notifications to `NOTIFY_SOCKET`, when set.
    pub fn new(notify_socket: Option<&OsStr>) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let address = notify_socket
            .map(OsStrExt::as_bytes)
            .filter(|bytes| !bytes.is_empty())
            .map(|bytes| match bytes.strip_prefix(b"@") {
                Some(name) => NotifyAddress::Abstract(name.to_vec()),
                None => NotifyAddress::Path(PathBuf::from(OsStr::from_bytes(bytes))),
            });
        Self { address }
    }

    /// A notifier that sends nothing (no systemd, tests, the demo).
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether systemd listens for notifications.
    pub fn is_enabled(&self) -> bool {
        self.address.is_some()
    }

    /// Sends `state` (newline-separated `KEY=value` lines) in one datagram. A failure is logged
    /// once per call and never stops the daemon: systemd notices a missing `READY=1` itself.
    pub fn notify(&self, state: &str) {
        let Some(address) = &self.address else {
            return;
        };
        if let Err(error) = send(address, state.as_bytes()) {
            tracing::warn!(error = %error, "Cannot notify systemd (NOTIFY_SOCKET).");
        }
    }

    /// `READY=1` with a status line: the page listens and the store is open (or the dock is
    /// locked and says why).
    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) {
        self.notify("STOPPING=1\nSTATUS=Shutting down.");
    }

    /// `WATCHDOG=1`: the daemon is alive and healthy.
    pub fn watchdog(&self) {
        self.notify("WATCHDOG=1");
    }
}

/// A status text on one line (a newline would start another `KEY=value`).
fn one_line(status: &str) -> String {
    status.replace(['\n', '\r'], " ")
}

fn send(address: &NotifyAddress, message: &[u8]) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let sent = match address {
        NotifyAddress::Path(path) => socket.send_to(message, path)?,
        NotifyAddress::Abstract(name) => {
            use std::os::linux::net::SocketAddrExt;
            let address = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(message, &address)?
        }
    };
    if sent != message.len() {
        return Err(std::io::Error::other("the notification was cut short"));
    }
    Ok(())
}

/// Feeds the watchdog every `every` while `healthy()` says so, until `shutdown`. An unhealthy
/// daemon is left unfed, and systemd restarts it after `WatchdogSec=`.
pub async fn feed_watchdog(
    notifier: Notifier,
    every: Duration,
    healthy: impl Fn() -> bool + Send + 'static,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fed = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        if healthy() {
            notifier.watchdog();
            if !fed {
                tracing::info!("dockd is healthy again: feeding systemd's watchdog.");
            }
            fed = true;
        } else if fed {
            tracing::error!(
                "The store writer has stopped: no longer feeding systemd's watchdog, which will restart dockd."
            );
            fed = false;
        }
    }
}

#[cfg(test)]
mod tests;
