//! `backup` over the control socket, as the streamed answers go (`protocol::encode_chunks`): the
//! daemon answers with a success line once the backup's database copy is taken, then the
//! backup's bytes in length-prefixed chunks, an empty chunk, and a last line with the backup's
//! summary (or why it failed midway); the command writes the bytes into its own file, so the
//! file is the asker's. It owns the backup's two sides of that exchange and the choice, made by
//! [`super::client::ask_streamed`], between the daemon and — when none runs — the command making
//! the backup from the database itself; it must never log a passphrase nor open the database
//! while a daemon answers.

use std::io::Write;

use tokio::net::unix::OwnedWriteHalf;

use super::client::{AskError, Route, ask_streamed};
use super::protocol::{
    Command, END_OF_CHUNKS, Failure, FailureKind, Response, Secret, encode_chunks,
};
use super::server::{Daemon, send};

/// One message from the backup's blocking work to the connection.
enum Piece {
    /// The copy is taken: answer the request with success.
    Ready,
    Bytes(Vec<u8>),
}

/// A `Write` that hands what it is given to the connection, in pieces.
struct Pipe(tokio::sync::mpsc::Sender<Piece>);

impl Write for Pipe {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let take = bytes.len().min(super::protocol::MAX_CHUNK);
        self.0
            .blocking_send(Piece::Bytes(bytes[..take].to_vec()))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the command hung up")
            })?;
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The daemon's side of `backup`: makes it from its database (a copy inside one read
/// transaction, beside its writer) and streams it; false when the peer went away.
pub(super) async fn serve_backup(
    writing: &mut OwnedWriteHalf,
    daemon: &Daemon,
    passphrase: &Secret,
    uid: u32,
) -> bool {
    tracing::info!(
        uid,
        command = "backup",
        "Control socket: backup asked by uid {uid}."
    );
    // One backup at a time: each holds a copy of the database on disk and 64 MiB of argon2.
    static RUNNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if RUNNING.swap(true, std::sync::atomic::Ordering::AcqRel) {
        let busy = Failure::new(
            FailureKind::Failed,
            "another backup is being made right now; try again when it is done",
        );
        return send(writing, &Response::failure(busy).encode()).await;
    }
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            RUNNING.store(false, std::sync::atomic::Ordering::Release);
        }
    }
    let _running = Running;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(8);
    let config = std::sync::Arc::clone(&daemon.config);
    let (passphrase, now_ms) = (passphrase.clone(), daemon.clock.now_ms());
    let work = tokio::task::spawn_blocking(move || {
        let db = config.existing_database().map_err(|e| e.to_string())?;
        let ready = tx.clone();
        crate::backup::write_backup(
            &db,
            &config,
            passphrase.expose(),
            now_ms,
            Pipe(tx),
            move || {
                let _ = ready.blocking_send(Piece::Ready);
            },
        )
        .map_err(|e| e.to_string())
    });
    let mut started = false;
    while let Some(piece) = rx.recv().await {
        let taken = match piece {
            Piece::Ready => {
                started = true;
                let line = Response::success(serde_json::json!({ "stream": "backup" }));
                send(writing, &line.encode()).await
            }
            Piece::Bytes(bytes) => send(writing, &encode_chunks(&bytes)).await,
        };
        if !taken {
            // The work stops at its next write, and its copy is removed.
            drop(rx);
            let _ = work.await;
            tracing::warn!(
                uid,
                "Control socket: the backup's reader went away; stopped it."
            );
            return false;
        }
    }
    let done = work
        .await
        .unwrap_or_else(|e| Err(format!("the backup stopped unexpectedly: {e}")));
    let last = match done {
        Ok(summary) => {
            tracing::info!(
                uid,
                bytes = summary.database_bytes,
                "Control socket: backup streamed."
            );
            let route = super::commands::Caller::ControlSocket { uid }.route();
            let line = crate::backup::backup_line(&summary, &route, daemon.clock.now_ms());
            if let Err(error) = daemon.writer.audit(vec![line]).await {
                tracing::warn!("The backup's audit line could not be written: {error}");
            }
            match serde_json::to_value(summary) {
                Ok(summary) => Response::success(summary),
                Err(error) => {
                    Response::failure(Failure::new(FailureKind::Failed, error.to_string()))
                }
            }
        }
        Err(message) => {
            tracing::warn!(uid, "Control socket: backup failed: {message}");
            Response::failure(Failure::new(FailureKind::Failed, message))
        }
    };
    if started && !send(writing, &END_OF_CHUNKS).await {
        return false;
    }
    send(writing, &last.encode()).await
}

/// The command's side of `backup`: asks the daemon behind `config`'s control socket and writes
/// the backup into `sink`; with no daemon listening, makes it from the database itself.
pub async fn ask_backup(
    config: &crate::config::Config,
    passphrase: Secret,
    now_ms: i64,
    sink: &mut (dyn Write + Send),
) -> Result<Route, AskError> {
    let command = Command::Backup {
        passphrase: passphrase.clone(),
    };
    let mut start = |_: serde_json::Value| Ok(());
    let mut chunk = |bytes: &[u8]| {
        tokio::task::block_in_place(|| sink.write_all(bytes))
            .map_err(|e| format!("cannot write the backup: {e}"))
    };
    if ask_streamed(config, command, &mut start, &mut chunk)
        .await?
        .is_some()
    {
        return Ok(Route::ControlSocket);
    }
    tracing::debug!(
        "No daemon listens on the control socket: making the backup from the database directly."
    );
    let db = config
        .existing_database()
        .map_err(super::commands::CommandError::from)?;
    let summary = tokio::task::block_in_place(|| {
        crate::backup::write_backup(&db, config, passphrase.expose(), now_ms, sink, || {})
    })
    .map_err(|e| AskError::Failed(e.to_string()))?;
    let line = crate::backup::backup_line(&summary, "", now_ms);
    crate::store::with_own_writer(&db, |writer| async move { writer.audit(vec![line]).await })
        .await
        .map_err(super::commands::CommandError::from)?;
    Ok(Route::Database)
}
