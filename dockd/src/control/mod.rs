//! The daemon's control socket: a Unix stream socket through which `dockd status`, `user add`,
//! `privacy report | verify`, `purge --now` and `worker export | delete` ask the running daemon, instead of opening its
//! database beside it. It owns the socket's file, who may connect, the wire protocol and the
//! commands' results; it must never let a command open the database while a daemon answers, nor
//! log a password.
//!
//! - `protocol`: the wire format, sans-IO (newline-delimited JSON with a version, framing, limits).
//! - `peer`: who may connect, a pure decision over the peer's uid, gid and groups.
//! - `commands`: what each command does over a store, the same for the daemon and the fallback.
//! - `server`: the daemon's side — the socket file (stale replaced, a live one refused), the
//!   accept loop, peer credentials.
//! - `client`: the commands' side — ask the daemon, or open the database when none runs.
//! - `stream`: `backup`, whose answer is a byte stream (framed after the success line).

pub mod client;
pub mod commands;
pub mod peer;
pub mod protocol;
pub mod server;
pub mod stream;

/// Why the control socket could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "another dockd already answers on the control socket {path}: two daemons on one database must not run; stop that one first (systemctl stop dockd), or give this one its own [storage] data_dir and [control] socket"
    )]
    LiveDaemon { path: String },
    #[error("{path} exists and is not a socket; refusing to replace it ([control] socket)")]
    NotASocket { path: String },
    #[error("cannot {action} the control socket {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The site settings over `reader`, as the daemon holds them, for the tests of commands run by a
/// daemon.
#[cfg(test)]
pub(crate) fn test_site(
    reader: &crate::store::Reader,
) -> std::sync::Arc<crate::site::SiteSettings> {
    let base = crate::config::Config::default().analysis;
    std::sync::Arc::new(crate::site::SiteSettings::load(base, reader).unwrap())
}
