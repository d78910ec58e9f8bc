//! The daemon's side of the control socket: the socket file (mode 0660, given to `[control]
//! group`; a stale one a killed daemon left is replaced, a live one stops the start; removed at
//! shutdown, after the store closed), `control.sock` in the data folder linking to it when it
//! lives elsewhere, the accept loop, each peer's credentials judged by `peer`, and requests framed
//! by `protocol` and run by `commands` on the daemon's own `Reader` and `Writer`. It owns that
//! I/O; it must never decide a command's result or who may connect itself, nor log a request's
//! content.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::ControlError;
use super::commands::{self, Caller, Store};
use super::peer::{self, Allowed, Peer};
use super::protocol::{
    Command, END_OF_CHUNKS, Failure, FailureKind, Inbox, Incoming, MAX_REQUEST_LINE, Response,
    Secret, encode_chunks,
};
use crate::clock::Clock;
use crate::config::Config;
use crate::privacy::export::ExportError;
use crate::store::{Reader, Writer};
use crate::worker::WorkerTag;

/// The socket file's mode: the daemon's user and its group may connect, others may not.
pub const SOCKET_MODE: u32 = 0o660;
/// Connections served at once; one more is told the daemon is busy.
const MAX_CONNECTIONS: usize = 16;
/// A connection with no request for this long is closed.
const IDLE: Duration = Duration::from_secs(30);
/// A response the peer does not take within this long ends the connection.
const WRITE_DEADLINE: Duration = Duration::from_secs(10);
/// How long a refused peer's request is read (and thrown away) before the connection closes, so
/// the refusal reaches it rather than a reset.
const REFUSAL_DRAIN: Duration = Duration::from_secs(2);
/// How long a start waits for an existing socket to answer before taking it for a live daemon.
const PROBE: Duration = Duration::from_secs(1);

/// The control socket, bound: the listener and the files it owns. Keep it until the store has
/// closed — while it lives a command finds the daemon (waiting, during shutdown, rather than
/// opening the database); dropping it closes the listener and removes the files.
pub struct ControlSocket {
    listener: Arc<UnixListener>,
    files: SocketFiles,
    allowed: Allowed,
    group: String,
}

/// The socket file (by its device and inode, so a later daemon's is never removed) and the link
/// to it in the data folder, removed when dropped.
struct SocketFiles {
    path: PathBuf,
    id: (u64, u64),
    link: Option<PathBuf>,
}

impl Drop for SocketFiles {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::symlink_metadata(&self.path)
            && (meta.dev(), meta.ino()) == self.id
        {
            let _ = std::fs::remove_file(&self.path);
        }
        if let Some(link) = &self.link
            && std::fs::read_link(link).is_ok_and(|target| target == self.path)
        {
            let _ = std::fs::remove_file(link);
        }
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ControlError {
    let path = path.display().to_string();
    move |source| ControlError::Io {
        action,
        path,
        source,
    }
}

/// Binds the control socket of `config` (and its link in the data folder): a socket or link
/// left by a daemon that is gone is replaced; one a daemon still answers on is an error.
pub async fn listen(config: &Config) -> Result<ControlSocket, ControlError> {
    let path = config.control_socket();
    let link = Some(config.data_folder_control_socket()).filter(|link| *link != path);
    crate::store::data_folder::prepare(&config.storage.data_dir)?;
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(io_error("create the folder of", &path))?;
    }
    claim(&path).await?;
    if let Some(link) = &link {
        claim(link).await?;
    }
    let listener = UnixListener::bind(&path).map_err(io_error("create", &path))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(io_error("set the mode of", &path))?;
    let meta = std::fs::symlink_metadata(&path).map_err(io_error("read", &path))?;
    let group = config.control.group.clone();
    let gid = match nix::unistd::Group::from_name(&group) {
        Ok(found) => found.map(|g| g.gid.as_raw()),
        Err(error) => {
            tracing::warn!(group = %group, "Cannot look up the control group ({error}): only root and dockd's user may use the control socket.");
            None
        }
    };
    match gid {
        Some(gid) if gid != meta.gid() => {
            if let Err(error) =
                nix::unistd::chown(&path, None, Some(nix::unistd::Gid::from_raw(gid)))
            {
                tracing::warn!(
                    group = %group,
                    socket = %path.display(),
                    "Cannot give the control socket to its group ({error}): only root and dockd's user can connect; run dockd with that group as its own."
                );
            }
        }
        Some(_) => {}
        None => tracing::info!(
            group = %group,
            "The control group does not exist on this machine: only root and dockd's user may use the control socket."
        ),
    }
    let mut files = SocketFiles {
        path: path.clone(),
        id: (meta.dev(), meta.ino()),
        link: None,
    };
    if let Some(link) = link {
        match std::os::unix::fs::symlink(&path, &link) {
            Ok(()) => files.link = Some(link),
            Err(error) => tracing::warn!(
                link = %link.display(),
                "Cannot leave a link to the control socket in the data folder ({error}): a command run without [control] socket in its config will not find the daemon."
            ),
        }
    }
    tracing::info!(socket = %path.display(), group = %group, "Control socket ready.");
    Ok(ControlSocket {
        listener: Arc::new(listener),
        files,
        allowed: Allowed {
            daemon_uid: nix::unistd::geteuid().as_raw(),
            group: gid,
        },
        group,
    })
}

/// Makes `path` free for a new socket: nothing there, or a socket (or a link to one) nobody
/// answers on any more, which is removed.
async fn claim(path: &Path) -> Result<(), ControlError> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("check", path)(error)),
    };
    if !(meta.file_type().is_socket() || meta.file_type().is_symlink()) {
        return Err(ControlError::NotASocket {
            path: path.display().to_string(),
        });
    }
    match tokio::time::timeout(PROBE, UnixStream::connect(path)).await {
        // Connected, or it takes connections without answering: a daemon is there.
        Ok(Ok(_)) | Err(_) => Err(ControlError::LiveDaemon {
            path: path.display().to_string(),
        }),
        Ok(Err(error))
            if matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ) =>
        {
            tracing::info!(socket = %path.display(), "Replacing the control socket a stopped dockd left behind.");
            std::fs::remove_file(path).map_err(io_error("replace", path))
        }
        Ok(Err(error)) => Err(io_error("check", path)(error)),
    }
}

/// What answers on the socket: the daemon's store, or a locked dock's reason.
pub enum Backend {
    Daemon(Daemon),
    /// The dock is locked ([`crate::locked`]): every command is answered with why.
    Locked(String),
}

/// What the commands run on inside the daemon.
pub struct Daemon {
    pub reader: Reader,
    pub writer: Writer,
    /// The settings in force, reloaded after a command changes the roster.
    pub site: Arc<crate::site::SiteSettings>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// The daemon's account of itself, for `health`.
    pub running: Arc<crate::update::health::Running>,
}

impl ControlSocket {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.files.path
    }

    /// Serves connections until `shutdown`, then lets the ones running a command finish it. The
    /// listener itself stays open (see [`ControlSocket`]).
    pub fn serve(
        &self,
        daemon: Backend,
        shutdown: CancellationToken,
    ) -> impl Future<Output = ()> + Send + 'static {
        let listener = Arc::clone(&self.listener);
        let gate = Arc::new(Gate {
            allowed: self.allowed,
            group: self.group.clone(),
            daemon,
        });
        async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) if connections.len() >= MAX_CONNECTIONS => {
                            tracing::warn!("Control socket: {MAX_CONNECTIONS} connections are open; told one more the daemon is busy.");
                            let busy = Response::failure(Failure::new(
                                FailureKind::Busy,
                                format!("dockd is serving {MAX_CONNECTIONS} control connections; try again in a moment"),
                            ));
                            let _ = stream.try_write(&busy.encode());
                        }
                        Ok((stream, _)) => {
                            connections.spawn(connection(stream, Arc::clone(&gate), shutdown.clone()));
                        }
                        Err(error) => {
                            tracing::warn!("Control socket: accepting a connection failed ({error}); trying again.");
                            tokio::select! {
                                () = shutdown.cancelled() => break,
                                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                            }
                        }
                    },
                }
            }
            while connections.join_next().await.is_some() {}
        }
    }
}

/// Who may pass, and what they reach.
struct Gate {
    allowed: Allowed,
    group: String,
    daemon: Backend,
}

/// The peer's credentials from the kernel, with its supplementary groups from `/proc` (none if
/// they cannot be read — `ProtectProc=invisible` hides other users' processes — and then only its
/// uid and primary group count). They are read just after the connection was accepted: a peer
/// that exited at once and whose pid was reused would be judged by another process's groups (a
/// limit of `/proc`; `SO_PEERGROUPS` has none, but would need unsafe code here). Its uid and
/// primary group come from the kernel's record of the connection either way.
fn credentials(stream: &UnixStream) -> std::io::Result<Peer> {
    let cred = stream.peer_cred()?;
    let groups = cred
        .pid()
        .and_then(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .map(|status| peer::supplementary_groups(&status))
        .unwrap_or_default();
    Ok(Peer {
        uid: cred.uid(),
        gid: cred.gid(),
        groups,
    })
}

/// One connection: its peer judged, then request after request until it closes, idles or the
/// daemon stops.
async fn connection(stream: UnixStream, gate: Arc<Gate>, shutdown: CancellationToken) {
    let peer = match credentials(&stream) {
        Ok(peer) => peer,
        Err(error) => {
            tracing::warn!(
                "Control socket: cannot read a peer's credentials ({error}); closed the connection."
            );
            return;
        }
    };
    let verdict = peer::judge(&peer, gate.allowed);
    if !verdict.is_allowed() {
        tracing::warn!(
            uid = peer.uid,
            "Control socket: refused uid {}, who is neither root, dockd's user nor in group `{}`.",
            peer.uid,
            gate.group
        );
        let told = peer::refusal(peer.uid, &gate.group, gate.allowed.group.is_some());
        refuse(stream, Failure::new(FailureKind::Refused, told)).await;
        return;
    }
    tracing::debug!(uid = peer.uid, verdict = ?verdict, "Control socket: a connection.");
    let (mut reading, mut writing) = stream.into_split();
    let mut inbox = Inbox::new();
    let mut buffer = vec![0u8; 8192];
    loop {
        let read = tokio::select! {
            () = shutdown.cancelled() => break,
            read = tokio::time::timeout(IDLE, reading.read(&mut buffer)) => read,
        };
        let (incoming, last) = match read {
            Ok(Ok(0)) => (inbox.finish().into_iter().collect(), true),
            Ok(Ok(n)) => (inbox.push(buffer.get(..n).unwrap_or_default()), false),
            Ok(Err(error)) => {
                tracing::debug!(uid = peer.uid, "Control socket: a read failed ({error}).");
                break;
            }
            Err(_) => {
                tracing::debug!(uid = peer.uid, "Control socket: closed an idle connection.");
                break;
            }
        };
        for item in incoming {
            if let (Incoming::Request(Command::WorkerExport { tag }), Backend::Daemon(daemon)) =
                (&item, &gate.daemon)
            {
                if stream_export(&mut writing, daemon, tag, peer.uid).await {
                    continue;
                }
                return;
            }
            if let (Incoming::Request(Command::Backup { passphrase }), Backend::Daemon(daemon)) =
                (&item, &gate.daemon)
            {
                if super::stream::serve_backup(&mut writing, daemon, passphrase, peer.uid).await {
                    continue;
                }
                return;
            }
            let response = answer(item, &gate.daemon, peer.uid).await;
            if !send(&mut writing, &response.encode()).await {
                return;
            }
        }
        if last {
            break;
        }
    }
}

/// `worker_export`, streamed (`protocol`'s module text): the worker of the badge tag, a success
/// line with their id and sample count, the archive's chunks as they are made, the end of them,
/// then the summary or why it broke off. False when the peer stopped taking it (the export then
/// stops and is audited as broken off).
async fn stream_export(
    writing: &mut OwnedWriteHalf,
    daemon: &Daemon,
    tag: &Secret,
    uid: u32,
) -> bool {
    tracing::info!(
        uid,
        command = "worker_export",
        "Control socket: worker_export asked by uid {uid}."
    );
    let (reader, tag) = (daemon.reader.clone(), tag.clone());
    let found = tokio::task::spawn_blocking(move || -> Result<(i64, u64), String> {
        let tag = WorkerTag::from_ascii(tag.expose())
            .ok_or_else(|| "not a badge tag (1 to 16 printable ASCII characters)".to_owned())?;
        let worker = reader
            .worker_with_tag(&tag)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| ExportError::NoSuchWorker.to_string())?;
        let samples = reader
            .worker_sample_count(worker.id)
            .map_err(|e| e.to_string())?;
        Ok((worker.id, samples))
    })
    .await
    .unwrap_or_else(|e| Err(format!("the export's look-up stopped unexpectedly: {e}")));
    let (id, samples) = match found {
        Ok(found) => found,
        Err(message) => {
            let refused = Response::failure(Failure::new(FailureKind::Failed, message));
            return send(writing, &refused.encode()).await;
        }
    };
    let start = Response::success(serde_json::json!({ "worker": id, "samples": samples }));
    if !send(writing, &start.encode()).await {
        return false;
    }
    let mut stream = crate::privacy::stream_export(
        daemon.reader.clone(),
        daemon.writer.clone(),
        id,
        (
            "dockd worker export".to_owned(),
            Caller::ControlSocket { uid }.route(),
        ),
        daemon.clock.now_ms(),
    );
    while let Some(chunk) = stream.chunks.recv().await {
        match chunk {
            Ok(bytes) => {
                if !send(writing, &encode_chunks(&bytes)).await {
                    // Dropping the stream's receiver ends the export, audited as broken off.
                    return false;
                }
            }
            Err(_) => break,
        }
    }
    if !send(writing, &END_OF_CHUNKS).await {
        return false;
    }
    let last = match stream.done.await {
        Ok(Ok(summary)) => match serde_json::to_value(summary) {
            Ok(summary) => Response::success(summary),
            Err(error) => Response::failure(Failure::new(FailureKind::Failed, error.to_string())),
        },
        Ok(Err(message)) => Response::failure(Failure::new(FailureKind::Failed, message)),
        Err(_) => Response::failure(Failure::new(
            FailureKind::Failed,
            "the export stopped unexpectedly",
        )),
    };
    send(writing, &last.encode()).await
}

/// Writes `bytes` to the peer within [`WRITE_DEADLINE`]; false when it did not take them.
pub(super) async fn send(writing: &mut OwnedWriteHalf, bytes: &[u8]) -> bool {
    let written = tokio::time::timeout(WRITE_DEADLINE, writing.write_all(bytes)).await;
    let taken = matches!(written, Ok(Ok(())));
    if !taken {
        tracing::debug!("Control socket: the peer did not take its answer.");
    }
    taken
}

/// Runs one request; logs the command and the peer's uid (a change at INFO, a reading at
/// DEBUG), never its content.
async fn answer(item: Incoming, backend: &Backend, uid: u32) -> Response {
    let command = match item {
        Incoming::Request(command) => command,
        Incoming::Invalid(failure) => {
            tracing::debug!(uid, kind = ?failure.kind, "Control socket: answered a line that is not a request.");
            return Response::failure(failure);
        }
    };
    let daemon = match backend {
        Backend::Daemon(daemon) => daemon,
        Backend::Locked(reason) => {
            return Response::failure(Failure::new(
                FailureKind::Failed,
                format!("the dock is locked: {reason}"),
            ));
        }
    };
    let name = command.name();
    if command.changes_data() {
        tracing::info!(
            uid,
            command = name,
            "Control socket: {name} asked by uid {uid}."
        );
    } else {
        tracing::debug!(
            uid,
            command = name,
            "Control socket: {name} asked by uid {uid}."
        );
    }
    let store = Store::Daemon {
        reader: &daemon.reader,
        writer: &daemon.writer,
        site: &daemon.site,
        running: &daemon.running,
    };
    let caller = Caller::ControlSocket { uid };
    match commands::run(
        command,
        &store,
        &daemon.config,
        daemon.clock.now_ms(),
        caller,
    )
    .await
    {
        Ok(result) => Response::success(result),
        Err(error) => {
            tracing::warn!(
                uid,
                command = name,
                "Control socket: {name} failed: {error}"
            );
            Response::failure(Failure::new(FailureKind::Failed, error.to_string()))
        }
    }
}

/// Tells a refused peer why, then reads what it sent (a bounded amount, briefly) before closing,
/// so it gets the refusal rather than a reset.
async fn refuse(mut stream: UnixStream, failure: Failure) {
    let told = tokio::time::timeout(
        WRITE_DEADLINE,
        stream.write_all(&Response::failure(failure).encode()),
    )
    .await;
    if !matches!(told, Ok(Ok(()))) {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut buffer = vec![0u8; 4096];
        let mut read = 0;
        while read < MAX_REQUEST_LINE {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(REFUSAL_DRAIN, drain).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::control::client::{self, AskError, Route};
    use crate::control::protocol::{Command, decode_response, encode_request};
    use crate::store::testing::Scratch;
    use serde_json::Value;
    use tokio::io::{AsyncBufReadExt, BufReader};

    fn config_for(scratch: &Scratch) -> Config {
        scratch.config()
    }

    fn daemon(scratch: &Scratch, config: &Config) -> Daemon {
        Daemon {
            reader: scratch.reader.clone(),
            writer: scratch.writer.clone(),
            site: crate::control::test_site(&scratch.reader),
            config: Arc::new(config.clone()),
            clock: Arc::new(SystemClock),
            running: Arc::new(crate::update::health::Running::new(false)),
        }
    }

    async fn read_answer(lines: &mut (impl AsyncBufReadExt + Unpin)) -> Result<Value, Failure> {
        let mut line = String::new();
        lines.read_line(&mut line).await.unwrap();
        decode_response(line.trim_end().as_bytes()).unwrap()
    }

    #[tokio::test]
    async fn a_request_is_answered_and_garbage_gets_an_error_on_a_connection_that_stays_open() {
        let scratch = Scratch::new("control-serve");
        scratch.docking("KX-0042", 1_000).await;
        let config = config_for(&scratch);
        let control = listen(&config).await.unwrap();
        let path = config.control_socket();
        assert_eq!(control.path(), path);
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(
            meta.mode() & 0o777,
            SOCKET_MODE,
            "0660: the group may connect"
        );
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(
            control.serve(Backend::Daemon(daemon(&scratch, &config)), shutdown.clone()),
        );

        let stream = UnixStream::connect(&path).await.unwrap();
        let (reading, mut writing) = stream.into_split();
        let mut lines = BufReader::new(reading);
        let mut input = b"this is not json\n".to_vec();
        input.extend(vec![b'x'; MAX_REQUEST_LINE + 10]);
        input.extend(b"\n{\"v\":7,\"cmd\":\"status\"}\n");
        input.extend(encode_request(&Command::Status));
        writing.write_all(&input).await.unwrap();
        let kinds: Vec<_> = [
            read_answer(&mut lines).await,
            read_answer(&mut lines).await,
            read_answer(&mut lines).await,
        ]
        .into_iter()
        .map(|answer| answer.unwrap_err().kind)
        .collect();
        assert_eq!(
            kinds,
            vec![
                FailureKind::BadRequest,
                FailureKind::TooLong,
                FailureKind::Version
            ]
        );
        let status = read_answer(&mut lines).await.unwrap();
        assert_eq!(status["wearables"][0]["serial"], "KX-0042", "{status}");
        // The same connection takes another request.
        writing
            .write_all(&encode_request(&Command::PrivacyVerify))
            .await
            .unwrap();
        let verified = read_answer(&mut lines).await.unwrap();
        assert!(verified["entries"].is_u64(), "{verified}");

        shutdown.cancel();
        served.await.unwrap();
        assert!(path.exists(), "the socket stays until the store has closed");
        drop(control);
        assert!(!path.exists(), "removed at shutdown");
        scratch.close();
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_a_live_one_stops_a_second_start_and_a_file_is_left_alone() {
        let scratch = Scratch::new("control-claim");
        let config = config_for(&scratch);
        let path = config.control_socket();
        // What a killed daemon leaves: the socket file, nobody behind it.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let first = listen(&config).await.unwrap();
        let second = listen(&config).await.err().unwrap();
        assert!(
            matches!(second, ControlError::LiveDaemon { .. }),
            "{second}"
        );
        assert!(
            second.to_string().contains("two daemons on one database"),
            "{second}"
        );
        assert!(path.exists(), "the live daemon's socket is untouched");
        drop(first);
        assert!(!path.exists());
        std::fs::write(&path, "not a socket").unwrap();
        let refused = listen(&config).await.err().unwrap();
        assert!(
            matches!(refused, ControlError::NotASocket { .. }),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
        std::fs::remove_file(&path).unwrap();
        scratch.close();
    }

    #[tokio::test]
    async fn a_socket_elsewhere_is_found_through_its_link_in_the_data_folder_and_both_go_at_shutdown()
     {
        let scratch = Scratch::new("control-link");
        let runtime = std::env::temp_dir().join(format!("dockd-run-{}", std::process::id()));
        let config = config_for(&scratch).with_runtime_directory(Some(&runtime));
        let socket = runtime.join("control.sock");
        let control = listen(&config).await.unwrap();
        let link = config.data_folder_control_socket();
        assert_eq!(std::fs::read_link(&link).unwrap(), socket);
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(
            control.serve(Backend::Daemon(daemon(&scratch, &config)), shutdown.clone()),
        );
        // A command run from a shell (no RUNTIME_DIRECTORY) reads the data folder's path.
        let from_a_shell = config_for(&scratch);
        let answer = client::ask(&from_a_shell, Command::Status, 1)
            .await
            .unwrap();
        assert_eq!(answer.route, Route::ControlSocket);
        // A second daemon without systemd's folder meets the first one through the link.
        let second = listen(&from_a_shell).await.err().unwrap();
        assert!(
            matches!(second, ControlError::LiveDaemon { .. }),
            "{second}"
        );
        shutdown.cancel();
        served.await.unwrap();
        drop(control);
        assert!(!socket.exists() && std::fs::symlink_metadata(&link).is_err());
        let _ = std::fs::remove_dir_all(&runtime);
        scratch.close();
    }

    #[tokio::test]
    async fn a_command_opens_the_database_only_when_no_daemon_listens() {
        let scratch = Scratch::new("control-route");
        let config = config_for(&scratch);
        let path = config.control_socket();
        // No socket file: the database.
        let answer = client::ask(&config, Command::Status, 1).await.unwrap();
        assert_eq!(answer.route, Route::Database);
        // A stale socket file (nobody behind it): the database too.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let answer = client::ask(&config, Command::Status, 1).await.unwrap();
        assert_eq!(answer.route, Route::Database);
        let control = listen(&config).await.unwrap();
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(
            control.serve(Backend::Daemon(daemon(&scratch, &config)), shutdown.clone()),
        );
        let asked = client::ask(&config, Command::Status, 1).await.unwrap();
        assert_eq!(asked.route, Route::ControlSocket);
        assert_eq!(asked.result, answer.result, "the same document either way");
        // A failing command is the daemon's sentence, not a fallback.
        let refused = Command::UserAdd {
            name: "anna".to_owned(),
            role: "root".to_owned(),
            password: crate::control::protocol::Password::new("a long pass phrase"),
            enable: false,
        };
        let error = client::ask(&config, refused, 1).await.unwrap_err();
        assert!(
            matches!(&error, AskError::Failed(words) if words.contains("`root` is not a role")),
            "{error}"
        );
        shutdown.cancel();
        served.await.unwrap();
        drop(control);
        scratch.close();
    }
}
