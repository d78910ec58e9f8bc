//! The transport seam: how a docked wearable's byte stream reaches the pull task. It owns the
//! stream trait every transport implements and the docking events; it must never interpret a byte
//! of the link protocol (that is `link`'s job) or know what happens to the data.

pub mod socket;
pub mod usb;

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use tokio::io::{AsyncRead, AsyncWrite};

/// One docked wearable's byte stream: exactly the bytes of the USB bulk pipes (protocol.md §1).
/// End of stream, or an I/O error, means the wearable was undocked.
pub trait WearableStream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> WearableStream for T {}

/// Which kind of transport a wearable docked through; shown on the page and in `dockd status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// An emulated wearable over a Unix-domain or TCP socket.
    Emulated,
    /// A real wearable on the dock's USB bus.
    Usb,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Emulated => "emulated",
            TransportKind::Usb => "usb",
        }
    }
}

/// A wearable that just docked: its stream plus what the transport knows about where it sits.
pub struct Docking {
    pub stream: Box<dyn WearableStream>,
    pub transport: TransportKind,
    /// Where the wearable is plugged in, as the transport names it (a USB port path such as
    /// `1-1.3`, or a socket peer); used to pick the dock slot.
    pub port: String,
    /// The serial the transport read before any protocol was spoken (USB `iSerialNumber`); the
    /// pull refuses a wearable whose `INFO.serial` says otherwise.
    pub serial: Option<String>,
}

impl fmt::Debug for Docking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Docking")
            .field("transport", &self.transport)
            .field("port", &self.port)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// Where emulated wearables reach a dock: `unix:/path`, `tcp:127.0.0.1:7070`, a bare path
/// (contains `/`) or a bare `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkAddr {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl fmt::Display for LinkAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkAddr::Unix(path) => write!(f, "unix:{}", path.display()),
            LinkAddr::Tcp(addr) => write!(f, "tcp:{addr}"),
        }
    }
}

/// Why a link address could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not a wearable link address: use unix:/path/to.sock or tcp:127.0.0.1:PORT")]
pub struct BadLinkAddr(String);

impl FromStr for LinkAddr {
    type Err = BadLinkAddr;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(BadLinkAddr(text.to_owned()));
            }
            return Ok(LinkAddr::Unix(PathBuf::from(path)));
        }
        if let Some(addr) = text.strip_prefix("tcp:") {
            return addr
                .parse()
                .map(LinkAddr::Tcp)
                .map_err(|_| BadLinkAddr(text.to_owned()));
        }
        if text.contains('/') {
            return Ok(LinkAddr::Unix(PathBuf::from(text)));
        }
        text.parse()
            .map(LinkAddr::Tcp)
            .map_err(|_| BadLinkAddr(text.to_owned()))
    }
}

/// Connects to a dock as an emulated wearable would: the returned stream is one docking.
pub async fn connect(addr: &LinkAddr) -> std::io::Result<Box<dyn WearableStream>> {
    Ok(match addr {
        LinkAddr::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
        LinkAddr::Tcp(addr) => {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Box::new(stream)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_addresses_parse_in_every_documented_form() {
        assert_eq!(
            "unix:/tmp/a.sock".parse(),
            Ok(LinkAddr::Unix("/tmp/a.sock".into()))
        );
        assert_eq!(
            "./dock.sock".parse(),
            Ok(LinkAddr::Unix("./dock.sock".into()))
        );
        assert_eq!(
            "tcp:127.0.0.1:7070".parse(),
            Ok(LinkAddr::Tcp("127.0.0.1:7070".parse().unwrap()))
        );
        assert_eq!(
            "127.0.0.1:7070".parse(),
            Ok(LinkAddr::Tcp("127.0.0.1:7070".parse().unwrap()))
        );
        assert!("nonsense".parse::<LinkAddr>().is_err());
        assert!("tcp:nohost".parse::<LinkAddr>().is_err());
    }
}
