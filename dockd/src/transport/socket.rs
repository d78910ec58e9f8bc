//! Emulated wearables over a Unix-domain socket and loopback TCP (protocol.md §1: one connection is
//! one docking, closing it is undocking). It owns the listeners; it must never read or write the
//! streams it accepts — they go to the dock as they are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Docking, TransportKind};

/// Binds the Unix socket, replacing a stale socket file a crash left behind.
pub fn bind_unix(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if is_socket(&meta) => std::fs::remove_file(path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} exists and is not a socket; refusing to replace it",
                    path.display()
                ),
            ));
        }
        Err(_) => {}
    }
    UnixListener::bind(path)
}

fn is_socket(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_socket()
}

/// Accepts emulated wearables on a Unix socket until cancelled; removes the socket file at the end.
pub async fn serve_unix(
    listener: UnixListener,
    path: PathBuf,
    dockings: mpsc::Sender<Docking>,
    cancel: CancellationToken,
) {
    let port = format!("unix:{}", path.display());
    accept_loop(dockings, cancel, || async {
        let (stream, _) = listener.accept().await?;
        Ok(Docking {
            stream: Box::new(stream),
            transport: TransportKind::Emulated,
            port: port.clone(),
            serial: None,
        })
    })
    .await;
    let _ = std::fs::remove_file(&path);
}

/// Accepts emulated wearables over TCP until cancelled.
pub async fn serve_tcp(
    listener: TcpListener,
    dockings: mpsc::Sender<Docking>,
    cancel: CancellationToken,
) {
    accept_loop(dockings, cancel, || async {
        let (stream, peer) = listener.accept().await?;
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(error = %error, "Could not disable Nagle on an emulated wearable.");
        }
        Ok(Docking {
            stream: Box::new(stream),
            transport: TransportKind::Emulated,
            port: format!("tcp:{peer}"),
            serial: None,
        })
    })
    .await;
}

/// Hands every accepted connection to the dock as a docking, backing off on accept errors, until
/// cancelled or the dock is gone.
async fn accept_loop<F, Fut>(
    dockings: mpsc::Sender<Docking>,
    cancel: CancellationToken,
    mut accept: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<Docking>>,
{
    let mut backoff = Backoff::default();
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = accept() => accepted,
        };
        match accepted {
            Ok(docking) => {
                backoff.reset();
                if dockings.send(docking).await.is_err() {
                    break;
                }
            }
            Err(error) => backoff.wait(&error, &cancel).await,
        }
    }
}

/// Accept errors (out of file descriptors, mostly) back off from 10 ms to 5 s instead of spinning.
#[derive(Default)]
struct Backoff {
    delay: Option<Duration>,
}

impl Backoff {
    fn reset(&mut self) {
        self.delay = None;
    }

    async fn wait(&mut self, error: &std::io::Error, cancel: &CancellationToken) {
        let delay = self.delay.map_or(Duration::from_millis(10), |d| {
            (d * 2).min(Duration::from_secs(5))
        });
        self.delay = Some(delay);
        tracing::warn!(error = %error, delay_ms = delay.as_millis() as u64, "Accepting an emulated wearable failed; backing off.");
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(delay) => {}
        }
    }
}
