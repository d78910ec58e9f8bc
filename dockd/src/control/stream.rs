//! A command whose answer is a byte stream rather than one line: `backup`. The daemon answers the
//! request with its success line once the backup's database copy is taken, then the bytes in
//! frames (`length u32 big-endian | bytes`, an empty frame ends it); a failure before the copy is
//! an ordinary failure line, a failure after it ends the connection without the empty frame,
//! which the command takes for an error. The command writes the bytes into its own file, so the
//! file is the asker's. It owns that framing on both sides and the choice, as
//! [`super::client::ask`] makes it, between the daemon and — when none runs — the command making
//! the backup itself; it must never log a passphrase nor open the database while a daemon
//! answers.

use std::io::Write;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;

use super::client::{AskError, Route};
use super::protocol::{
    Command, Failure, FailureKind, MAX_RESPONSE_LINE, Response, Secret, decode_response,
    encode_request,
};
use crate::config::Config;

/// The longest frame either side accepts.
const MAX_FRAME: usize = 4 << 20;
/// How long the command waits for the daemon's first answer (the copy of a large database).
const FIRST_ANSWER: Duration = Duration::from_secs(1800);
/// How long a frame may take to arrive once the stream has started.
const FRAME_DEADLINE: Duration = Duration::from_secs(120);

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
        let take = bytes.len().min(MAX_FRAME);
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
/// transaction, beside its writer) and streams it to `out`.
pub async fn serve_backup(
    out: &mut OwnedWriteHalf,
    config: &Config,
    passphrase: Secret,
    now_ms: i64,
    uid: u32,
) {
    tracing::info!(uid, "Control socket: backup asked by uid {uid}.");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Piece>(8);
    let config_for_work = config.clone();
    let work = tokio::task::spawn_blocking(move || {
        let db = config_for_work
            .existing_database()
            .map_err(|e| e.to_string())?;
        let ready_tx = tx.clone();
        crate::backup::write_backup(
            &db,
            &config_for_work,
            passphrase.expose(),
            now_ms,
            Pipe(tx),
            move || {
                let _ = ready_tx.blocking_send(Piece::Ready);
            },
        )
        .map_err(|e| e.to_string())
    });
    let mut started = false;
    while let Some(piece) = rx.recv().await {
        let sent = match piece {
            Piece::Ready => {
                started = true;
                let line = Response::success(serde_json::json!({ "stream": "backup" })).encode();
                out.write_all(&line).await
            }
            Piece::Bytes(bytes) => {
                let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                match out.write_all(&len.to_be_bytes()).await {
                    Ok(()) => out.write_all(&bytes).await,
                    Err(error) => Err(error),
                }
            }
        };
        if let Err(error) = sent {
            tracing::warn!(
                uid,
                "Control socket: the backup's reader went away ({error}); stopped it."
            );
            drop(rx);
            let _ = work.await;
            return;
        }
    }
    match work.await {
        Ok(Ok(summary)) => {
            let _ = out.write_all(&0u32.to_be_bytes()).await;
            tracing::info!(
                uid,
                bytes = summary.database_bytes,
                "Control socket: backup streamed (database copy of {} bytes).",
                summary.database_bytes
            );
        }
        Ok(Err(error)) => {
            tracing::warn!(uid, "Control socket: backup failed: {error}");
            if !started {
                let failure = Failure::new(FailureKind::Failed, error);
                let _ = out.write_all(&Response::failure(failure).encode()).await;
            }
        }
        Err(error) => tracing::warn!(uid, "Control socket: the backup's work stopped: {error}"),
    }
    let _ = out.shutdown().await;
}

/// The command's side of `backup`: asks the daemon behind `config`'s control socket and writes
/// the stream into `sink`; with no daemon listening, makes the backup from the database itself.
pub async fn ask_backup(
    config: &Config,
    passphrase: Secret,
    now_ms: i64,
    sink: &mut (dyn Write + Send),
) -> Result<Route, AskError> {
    let path = config.control_socket();
    let shown = path.display().to_string();
    let stream = match UnixStream::connect(&path).await {
        Ok(stream) => stream,
        Err(error) => {
            return match super::client::reached(&error) {
                super::client::Reached::NoDaemon => {
                    tracing::debug!(socket = %shown, "No daemon listens on the control socket ({error}): making the backup from the database directly.");
                    let db = config
                        .existing_database()
                        .map_err(super::commands::CommandError::from)?;
                    tokio::task::block_in_place(|| {
                        crate::backup::write_backup(
                            &db,
                            config,
                            passphrase.expose(),
                            now_ms,
                            sink,
                            || {},
                        )
                    })
                    .map_err(|e| AskError::Failed(e.to_string()))?;
                    Ok(Route::Database)
                }
                super::client::Reached::Stopping => Err(AskError::NoAnswer {
                    path: shown,
                    reason: error.to_string(),
                }),
                super::client::Reached::Unknown => Err(AskError::Unreachable {
                    path: shown,
                    source: error,
                }),
            };
        }
    };
    let no_answer = |reason: String| AskError::NoAnswer {
        path: shown.clone(),
        reason,
    };
    let (reading, mut writing) = stream.into_split();
    let request = encode_request(&Command::Backup { passphrase });
    writing
        .write_all(&request)
        .await
        .map_err(|e| no_answer(format!("sending failed: {e}")))?;
    let mut reader = BufReader::new(reading);
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_RESPONSE_LINE).unwrap_or(u64::MAX);
    tokio::time::timeout(
        FIRST_ANSWER,
        (&mut reader).take(limit).read_until(b'\n', &mut line),
    )
    .await
    .map_err(|_| no_answer(format!("no answer within {FIRST_ANSWER:?}")))?
    .map_err(|e| no_answer(format!("reading failed: {e}")))?;
    let Some(line) = line.strip_suffix(b"\n") else {
        return Err(no_answer("it closed the connection".to_owned()));
    };
    match decode_response(line) {
        Ok(Ok(_)) => {}
        Ok(Err(failure)) => {
            return Err(match failure.kind {
                FailureKind::Refused => AskError::Refused {
                    path: shown,
                    message: failure.message,
                },
                FailureKind::Failed => AskError::Failed(failure.message),
                _ => AskError::Rejected {
                    path: shown,
                    failure,
                },
            });
        }
        Err(source) => {
            return Err(AskError::Response {
                path: shown,
                source,
            });
        }
    }
    let mut frame = Vec::new();
    loop {
        let mut len = [0u8; 4];
        tokio::time::timeout(FRAME_DEADLINE, reader.read_exact(&mut len))
            .await
            .map_err(|_| no_answer(format!("the backup stalled for {FRAME_DEADLINE:?}")))?
            .map_err(|_| {
                no_answer("the backup stream ended early (the daemon's log says why)".to_owned())
            })?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 {
            return Ok(Route::ControlSocket);
        }
        if len > MAX_FRAME {
            return Err(no_answer(format!(
                "a frame of {len} bytes is over the limit"
            )));
        }
        frame.resize(len, 0);
        tokio::time::timeout(FRAME_DEADLINE, reader.read_exact(&mut frame))
            .await
            .map_err(|_| no_answer(format!("the backup stalled for {FRAME_DEADLINE:?}")))?
            .map_err(|_| {
                no_answer("the backup stream ended early (the daemon's log says why)".to_owned())
            })?;
        tokio::task::block_in_place(|| sink.write_all(&frame))
            .map_err(|e| AskError::Failed(format!("cannot write the backup: {e}")))?;
    }
}
