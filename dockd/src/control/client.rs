//! The commands' side of the control socket: [`ask`] sends a command to the running daemon and
//! reads its answer, or — only when no daemon listens (no socket file, or nobody behind it) —
//! runs the same command on the database itself. It owns that one choice; it must never open the
//! database when a daemon answers or refuses, nor print (the caller renders the answer).

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::commands::{self, Caller, CommandError, Store};
use super::protocol::{
    Command, Failure, FailureKind, MAX_CHUNK, MAX_RESPONSE_LINE, ResponseError, Secret,
    decode_response, encode_request,
};
use crate::config::Config;

/// How long a command waits for the daemon to take its request.
const SEND_DEADLINE: Duration = Duration::from_secs(10);
/// How long a command waits for the daemon's answer (a purge of a year's data takes a while).
const ANSWER_DEADLINE: Duration = Duration::from_secs(300);

/// How a command reached the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The running daemon answered on its control socket.
    ControlSocket,
    /// No daemon listened: the command opened the database itself.
    Database,
}

/// A command's result and how it was reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub result: Value,
    pub route: Route,
}

/// Why a command got no result.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(
        "dockd's control socket {path} refused this user: {message}. The daemon is running, so this command does not open its database itself; run it as root or as a member of the control group"
    )]
    Refused { path: String, message: String },
    #[error(
        "cannot reach dockd's control socket {path} ({source}); whether a daemon runs is unknown, so the database is not opened: run this as root or as a member of the control group"
    )]
    Unreachable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the daemon on {path} did not answer ({reason}); it may be stopping — try again when it has stopped or started"
    )]
    NoAnswer { path: String, reason: String },
    #[error("the daemon on {path} did not take the request: {failure}")]
    Rejected { path: String, failure: Failure },
    #[error("{path}: {source}")]
    Response { path: String, source: ResponseError },
    /// The command ran, in the daemon or here, and failed: its own sentence.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Asks the daemon behind `config`'s control socket to run `command`; with no daemon listening,
/// runs it on `config`'s database at `now_ms`. Says on stderr's debug log which way it went.
pub async fn ask(config: &Config, command: Command, now_ms: i64) -> Result<Answer, AskError> {
    let Some((stream, shown)) = connect(config).await? else {
        return Ok(Answer {
            result: run_here(config, command, now_ms).await?,
            route: Route::Database,
        });
    };
    Ok(Answer {
        result: exchange(stream, &command, &shown).await?,
        route: Route::ControlSocket,
    })
}

/// Who a streamed export is of, as the daemon says before the archive comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct ExportStart {
    /// The store's id of the worker.
    pub worker: i64,
    /// Their samples in all.
    pub samples: u64,
}

/// Asks the running daemon for the export of the worker with badge `tag` (`worker_export`):
/// `start` hears who it is once the daemon found them, `chunk` takes the archive's bytes as they
/// come (an error from either ends the export, which the daemon audits as broken off); the
/// result is the export's summary. `Ok(None)` when no daemon listens: the caller reads the
/// database itself.
pub async fn export(
    config: &Config,
    tag: Secret,
    start: &mut dyn FnMut(ExportStart) -> Result<(), String>,
    chunk: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<Option<Value>, AskError> {
    let mut started = |value: Value| {
        let who: ExportStart = serde_json::from_value(value).map_err(|e| e.to_string())?;
        start(who)
    };
    ask_streamed(config, Command::WorkerExport { tag }, &mut started, chunk).await
}

/// Asks the running daemon for a command whose answer is streamed (`worker_export`, `backup`):
/// its first response line goes to `start`, the bytes that follow (length-prefixed chunks, an
/// empty one ending them) to `chunk` as they come, and the last response line is the result. An
/// error from `start` or `chunk` ends the exchange. `Ok(None)` when no daemon listens: the
/// caller does the work itself.
pub async fn ask_streamed(
    config: &Config,
    command: Command,
    start: &mut dyn FnMut(Value) -> Result<(), String>,
    chunk: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<Option<Value>, AskError> {
    let Some((stream, shown)) = connect(config).await? else {
        return Ok(None);
    };
    let (reading, mut writing) = stream.into_split();
    let mut reader = BufReader::new(reading);
    let name = command.name();
    send(&mut writing, &command, &shown).await?;
    let started = read_response(&mut reader, &shown).await?;
    start(started).map_err(AskError::Failed)?;
    let no_answer = |reason: String| AskError::NoAnswer {
        path: shown.clone(),
        reason,
    };
    let mut bytes = Vec::new();
    loop {
        let length = tokio::time::timeout(ANSWER_DEADLINE, reader.read_u32())
            .await
            .map_err(|_| no_answer(format!("the {name} stalled for {ANSWER_DEADLINE:?}")))?
            .map_err(|e| no_answer(format!("the {name} broke off ({e})")))?;
        let length = usize::try_from(length).unwrap_or(usize::MAX);
        if length == 0 {
            break;
        }
        if length > MAX_CHUNK {
            return Err(no_answer(format!(
                "a chunk of {length} bytes is over the protocol's {MAX_CHUNK}"
            )));
        }
        bytes.resize(length, 0);
        tokio::time::timeout(ANSWER_DEADLINE, reader.read_exact(&mut bytes))
            .await
            .map_err(|_| no_answer(format!("the {name} stalled for {ANSWER_DEADLINE:?}")))?
            .map_err(|e| no_answer(format!("the {name} broke off ({e})")))?;
        chunk(&bytes).map_err(AskError::Failed)?;
    }
    Ok(Some(read_response(&mut reader, &shown).await?))
}

/// Asks the daemon behind `config`'s control socket, and only it (no database is opened when no
/// daemon listens): the launcher's health checks and the update commands.
pub async fn ask_daemon(config: &Config, command: Command) -> Result<Value, AskError> {
    match connect(config).await? {
        Some((stream, shown)) => exchange(stream, &command, &shown).await,
        None => Err(AskError::Failed(format!(
            "no dockd answers on {}",
            config.control_socket().display()
        ))),
    }
}

/// Whether a daemon listens on `config`'s control socket (for a command that must not run beside
/// one); an error when that cannot be known.
pub async fn daemon_listens(config: &Config) -> Result<bool, AskError> {
    Ok(connect(config).await?.is_some())
}

/// A connection to the daemon behind `config`'s control socket, with the socket's path for
/// messages; `None` when no daemon listens (no socket file, or nobody behind it).
async fn connect(config: &Config) -> Result<Option<(UnixStream, String)>, AskError> {
    let path = config.control_socket();
    let shown = path.display().to_string();
    match UnixStream::connect(&path).await {
        Ok(stream) => {
            tracing::debug!(socket = %shown, "Asking the running daemon through its control socket.");
            Ok(Some((stream, shown)))
        }
        Err(error) => match kind_of(&error) {
            Reached::NoDaemon => {
                tracing::debug!(
                    socket = %shown,
                    database = %config.database_path().display(),
                    "No daemon listens on the control socket ({error}): opening the database directly."
                );
                Ok(None)
            }
            Reached::Stopping => Err(AskError::NoAnswer {
                path: shown,
                reason: error.to_string(),
            }),
            Reached::Unknown => Err(AskError::Unreachable {
                path: shown,
                source: error,
            }),
        },
    }
}

/// What a failed connection says about the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    /// No socket file, or nobody behind it: no daemon runs.
    NoDaemon,
    /// Its listener closed while connecting: the daemon is stopping.
    Stopping,
    /// Anything else (no permission, a folder in the way): whether a daemon runs is unknown.
    Unknown,
}

fn kind_of(error: &std::io::Error) -> Reached {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => Reached::NoDaemon,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Reached::Stopping,
        _ => Reached::Unknown,
    }
}

async fn run_here(config: &Config, command: Command, now_ms: i64) -> Result<Value, AskError> {
    // Only `user add` may come before the first start (to set the first admin): it may make the
    // database and its key; the others open an existing one with the key the caller can read.
    let db = match command {
        Command::UserAdd { .. } => config.database(),
        _ => config.existing_database(),
    }
    .map_err(CommandError::from)?;
    let config = Arc::new(config.clone());
    let store = Store::Database { db: &db };
    Ok(commands::run(command, &store, &config, now_ms, Caller::CommandLine).await?)
}

/// One request and its answer.
async fn exchange(stream: UnixStream, command: &Command, path: &str) -> Result<Value, AskError> {
    let (reading, mut writing) = stream.into_split();
    // A refused peer's request may not be taken: the refusal waiting to be read says why.
    let sent = send(&mut writing, command, path).await;
    let mut reader = BufReader::new(reading);
    match read_response(&mut reader, path).await {
        Err(AskError::NoAnswer { .. }) if sent.is_err() => Err(sent
            .err()
            .unwrap_or_else(|| AskError::Failed("sending failed".to_owned()))),
        answer => answer,
    }
}

/// Sends one request within [`SEND_DEADLINE`].
async fn send(
    writing: &mut tokio::net::unix::OwnedWriteHalf,
    command: &Command,
    path: &str,
) -> Result<(), AskError> {
    let no_answer = |reason: String| AskError::NoAnswer {
        path: path.to_owned(),
        reason,
    };
    tokio::time::timeout(SEND_DEADLINE, writing.write_all(&encode_request(command)))
        .await
        .map_err(|_| no_answer(format!("it took no request within {SEND_DEADLINE:?}")))?
        .map_err(|e| no_answer(format!("sending failed: {e}")))
}

/// Reads one response line within [`ANSWER_DEADLINE`]: its result, or why there is none.
async fn read_response(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    path: &str,
) -> Result<Value, AskError> {
    let no_answer = |reason: String| AskError::NoAnswer {
        path: path.to_owned(),
        reason,
    };
    let mut line = Vec::new();
    let limit = u64::try_from(MAX_RESPONSE_LINE).unwrap_or(u64::MAX);
    let mut limited = (&mut *reader).take(limit + 1);
    let read = tokio::time::timeout(ANSWER_DEADLINE, limited.read_until(b'\n', &mut line))
        .await
        .map_err(|_| no_answer(format!("no answer within {ANSWER_DEADLINE:?}")))?;
    match read {
        Ok(_) if line.ends_with(b"\n") => {}
        Ok(_) if line.len() > MAX_RESPONSE_LINE => {
            return Err(no_answer(format!(
                "its answer is longer than {MAX_RESPONSE_LINE} bytes"
            )));
        }
        Ok(_) => return Err(no_answer("it closed the connection".to_owned())),
        Err(error) => return Err(no_answer(format!("reading failed: {error}"))),
    }
    let line = line.strip_suffix(b"\n").unwrap_or(&line);
    match decode_response(line) {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(failure)) => Err(match failure.kind {
            FailureKind::Refused => AskError::Refused {
                path: path.to_owned(),
                message: failure.message,
            },
            FailureKind::Failed => AskError::Failed(failure.message),
            _ => AskError::Rejected {
                path: path.to_owned(),
                failure,
            },
        }),
        Err(source) => Err(AskError::Response {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::server;
    use crate::store::testing::Scratch;

    #[test]
    fn only_a_missing_socket_or_nobody_behind_it_lets_a_command_open_the_database() {
        use std::io::{Error, ErrorKind};
        let reached = |kind: ErrorKind| kind_of(&Error::from(kind));
        assert_eq!(reached(ErrorKind::NotFound), Reached::NoDaemon);
        assert_eq!(reached(ErrorKind::ConnectionRefused), Reached::NoDaemon);
        assert_eq!(reached(ErrorKind::ConnectionReset), Reached::Stopping);
        assert_eq!(reached(ErrorKind::PermissionDenied), Reached::Unknown);
        assert_eq!(reached(ErrorKind::NotADirectory), Reached::Unknown);
        assert_eq!(reached(ErrorKind::TimedOut), Reached::Unknown);
    }

    #[tokio::test]
    async fn a_command_connected_to_a_stopping_daemon_gets_no_answer_rather_than_the_database() {
        let scratch = Scratch::new("control-stopping");
        let config = scratch.config();
        let control = server::listen(&config).await.unwrap();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let served = tokio::spawn(control.serve(
            server::Backend::Daemon(server::Daemon {
                reader: scratch.reader.clone(),
                writer: scratch.writer.clone(),
                site: crate::control::test_site(&scratch.reader),
                config: Arc::new(config.clone()),
                clock: Arc::new(crate::clock::SystemClock),
                running: Arc::new(crate::update::health::Running::new(false)),
            }),
            shutdown.clone(),
        ));
        shutdown.cancel();
        served.await.unwrap();
        // Connected while the daemon stops: it is not served any more, then the socket closes.
        let path = config.control_socket();
        let stream = UnixStream::connect(&path).await.unwrap();
        drop(control);
        let shown = path.display().to_string();
        let error = exchange(stream, &Command::Status, &shown)
            .await
            .unwrap_err();
        assert!(matches!(error, AskError::NoAnswer { .. }), "{error}");
        assert!(error.to_string().contains("may be stopping"), "{error}");
        // Gone: no daemon, so the database.
        let answer = ask(&config, Command::Status, 1).await.unwrap();
        assert_eq!(answer.route, Route::Database);
        scratch.close();
    }
}
