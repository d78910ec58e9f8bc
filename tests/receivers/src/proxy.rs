//! A real HTTP `CONNECT` proxy on loopback, as site networks put in front of the internet: it
//! reads `CONNECT host:port`, records the target, answers `200` and then only copies bytes both
//! ways (the TLS inside stays end to end). It owns the tunnel and the list of targets it was asked
//! for; it must never look into, change or terminate the tunnelled TLS.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest request head accepted.
const HEAD_MAX: usize = 8 * 1024;

/// A running proxy; dropping it stops accepting (open tunnels end with their connections).
pub struct ConnectProxy {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    connects: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ConnectProxy {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let connects = Arc::new(Mutex::new(Vec::new()));
        let seen = connects.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(tunnel(client, seen.clone()));
            }
        });
        Ok(ConnectProxy {
            addr,
            url: format!("http://{addr}"),
            connects,
            task,
        })
    }

    /// The `host:port` of every `CONNECT` received, in order.
    pub fn connects(&self) -> Vec<String> {
        self.connects
            .lock()
            .map(|seen| seen.clone())
            .unwrap_or_default()
    }
}

/// Serves one client: its `CONNECT`, then the tunnel. Anything else is answered 405.
async fn tunnel(mut client: TcpStream, seen: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= HEAD_MAX || !matches!(client.read(&mut byte).await, Ok(1)) {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let target = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("CONNECT "))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned);
    let Some(target) = target else {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    if let Ok(mut seen) = seen.lock() {
        seen.push(target.clone());
    }
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
