//! One console session over any byte stream (a serial port, a pty, an in-memory pipe): the
//! greeting and prompt, reading bytes through the line editor, running commands against the
//! backend on the blocking pool, paging long output, and asking for the service PIN.
//!
//! It must never wedge: every read and write races the cancel token, writes and backend calls
//! have time limits, a read of 0 bytes or EIO ends the session (the port layer reopens), and the
//! PIN prompt gives up after [`PIN_TIMEOUT`]. It never echoes the PIN (masked with `*`; while PIN
//! entry is locked, not at all) and never logs it or any typed line.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::command::{Command, Invocation, ParseError, parse};
use super::line::{EchoMode, LineEditor, LineEvent, MAX_LINE_BYTES};
use super::pin::PinVerdict;
use super::render::{self, clean};
use super::{Clock, Console, ConsoleBackend, ConsoleSettings};

/// The longest a backend call may take before the technician is told the dock did not answer.
pub const BACKEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest the PIN prompt waits for a line.
pub const PIN_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest one write may wait for the line to take output.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// The pager's prompt, shown without a line end and erased after a key.
pub const MORE_PROMPT: &str = "-- more (space: next page, q: stop) --";

const READ_CHUNK: usize = 512;
const CRLF: &[u8] = b"\r\n";
/// EIO: what a pty's slave reads once its master is gone, and a USB serial adapter once pulled.
const EIO: i32 = 5;

/// Why a session ended.
#[derive(Debug)]
pub enum ConsoleEnd {
    /// The cancel token fired.
    Cancelled,
    /// The line hung up: the stream ended (0 bytes) or reported EIO.
    HangUp,
    /// Any other I/O error, or output the line did not take within 10 s.
    Failed(io::Error),
}

/// Serves one session on `stream` until it ends (hang-up, error or `cancel`). Wrong PINs count
/// only within this call; [`super::run_port`] keeps them across sessions.
pub async fn serve<S>(
    stream: S,
    backend: Arc<dyn ConsoleBackend>,
    settings: ConsoleSettings,
    clock: Clock,
    cancel: CancellationToken,
) -> ConsoleEnd
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Console::new(backend, settings, clock)
        .serve(stream, &cancel)
        .await
}

impl Console {
    /// Serves one session on `stream` with this console's PIN count.
    pub async fn serve<S>(&self, stream: S, cancel: &CancellationToken) -> ConsoleEnd
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.serve_counting(stream, cancel).await.0
    }

    /// Serves one session; also says whether any byte arrived.
    pub(super) async fn serve_counting<S>(
        &self,
        stream: S,
        cancel: &CancellationToken,
    ) -> (ConsoleEnd, bool)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut session = Session {
            console: self,
            io: stream,
            cancel,
            editor: LineEditor::new(),
            pending: VecDeque::with_capacity(READ_CHUNK),
            out: Vec::new(),
            skip_lf: false,
            got_input: false,
        };
        let end = match session.run().await {
            Ok(never) => match never {},
            Err(end) => end,
        };
        (end, session.got_input)
    }
}

enum Never {}

type Step<T> = Result<T, ConsoleEnd>;

struct Session<'c, S> {
    console: &'c Console,
    io: S,
    cancel: &'c CancellationToken,
    editor: LineEditor,
    /// Bytes read but not yet handled.
    pending: VecDeque<u8>,
    /// Output not yet written.
    out: Vec<u8>,
    /// The pager took a CR: a LF right after it is part of the same key press.
    skip_lf: bool,
    got_input: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Session<'_, S> {
    async fn run(&mut self) -> Step<Never> {
        let name = clean(&self.console.settings.dock_name);
        self.say(&format!("dockd service console on {name}; type help"));
        loop {
            self.prompt();
            self.flush().await?;
            match self.next_event().await? {
                LineEvent::Line(line) => {
                    self.out.extend_from_slice(CRLF);
                    self.command(&line).await?;
                }
                LineEvent::Interrupt => self.out.extend_from_slice(b"^C\r\n"),
                LineEvent::Eof => {
                    self.out.extend_from_slice(CRLF);
                    self.say("bye");
                }
                LineEvent::TooLong => {
                    self.out.extend_from_slice(CRLF);
                    self.say(&format!("line too long (max {MAX_LINE_BYTES})"));
                }
                LineEvent::Echo(bytes) => self.out.extend_from_slice(&bytes),
            }
        }
    }

    fn prompt(&mut self) {
        let name = clean(&self.console.settings.dock_name);
        self.out.extend_from_slice(format!("{name}> ").as_bytes());
    }

    fn say(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(CRLF);
    }

    /// The next line event, echoing as it goes.
    async fn next_event(&mut self) -> Step<LineEvent> {
        loop {
            while let Some(byte) = self.pending.pop_front() {
                match self.editor.push(byte) {
                    None => {}
                    Some(LineEvent::Echo(bytes)) => self.out.extend_from_slice(&bytes),
                    Some(event) => return Ok(event),
                }
            }
            self.flush().await?;
            self.fill().await?;
        }
    }

    /// Reads what the line has (at least one byte) into `pending`.
    async fn fill(&mut self) -> Step<()> {
        let mut buf = [0u8; READ_CHUNK];
        let read = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return Err(ConsoleEnd::Cancelled),
            read = self.io.read(&mut buf) => read,
        };
        match read {
            Ok(0) => Err(ConsoleEnd::HangUp),
            Ok(n) => {
                self.got_input = true;
                self.pending.extend(buf.iter().take(n));
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(ended_by(e)),
        }
    }

    /// Writes all pending output.
    async fn flush(&mut self) -> Step<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.out);
        let io = &mut self.io;
        let write = async {
            io.write_all(&data).await?;
            io.flush().await
        };
        tokio::select! {
            // Output first: a restart's reply is written even though the restart cancels.
            biased;
            written = tokio::time::timeout(WRITE_TIMEOUT, write) => match written {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(ended_by(e)),
                Err(_) => Err(ConsoleEnd::Failed(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the serial line took no output for 10 s",
                ))),
            },
            () = self.cancel.cancelled() => Err(ConsoleEnd::Cancelled),
        }
    }

    async fn command(&mut self, line: &str) -> Step<()> {
        let invocation = match parse(line) {
            Ok(None) => return Ok(()),
            Ok(Some(invocation)) => invocation,
            Err(e) => {
                let lines = error_lines(ParseError::wants_json(line), &e.to_string());
                return self.show(lines, false).await;
            }
        };
        let Invocation { command, json, all } = invocation;
        let now_ms = self.console.now_ms();
        let lines = match command {
            Command::Help(topic) if json => render::help_json(topic),
            Command::Help(topic) => render::help(topic),
            Command::Status => self.query(json, |b| b.status(), render::status).await?,
            Command::Slots => {
                let answer = self.call(|b| b.slots()).await?;
                answer_lines(answer, json, |s| keyed("slots", s), |s| render::slots(s))
            }
            Command::Wearable(serial) => {
                let asked = serial.clone();
                match self.call(move |b| b.wearable(&asked)).await? {
                    Ok(Some(w)) if json => render::json(&w),
                    Ok(Some(w)) => render::wearable(&w, now_ms),
                    Ok(None) => error_lines(json, &format!("no wearable `{serial}` known")),
                    Err(e) => error_lines(json, &e),
                }
            }
            Command::Gps => {
                self.query(json, |b| b.gps(), |g| render::gps(g, now_ms))
                    .await?
            }
            Command::Battery => self.query(json, |b| b.battery(), render::battery).await?,
            Command::Storage => self.query(json, |b| b.storage(), render::storage).await?,
            Command::Network => {
                let answer = self.call(|b| b.network()).await?;
                answer_lines(
                    answer,
                    json,
                    |n| keyed("interfaces", n),
                    |n| render::network(n),
                )
            }
            Command::Upload => {
                self.query(json, |b| b.upload(), |u| render::upload(u, now_ms))
                    .await?
            }
            Command::Log(n) => {
                let answer = self.call(move |b| b.log(n)).await?;
                answer_lines(answer, json, |l| keyed("lines", l), |l| render::log(l))
            }
            Command::Selftest => {
                let answer = self.call(|b| b.selftest()).await?;
                answer_lines(
                    answer,
                    json,
                    |c| render::selftest_json(c),
                    |c| render::selftest(c),
                )
            }
            Command::Version => {
                let answer = self.call(|b| b.version()).await?;
                answer_lines(answer, json, |v| keyed("version", v), |v| vec![clean(v)])
            }
            Command::Update => {
                self.query(json, |b| b.update(), |u| render::update(u, now_ms))
                    .await?
            }
            Command::UploadNow | Command::UpdateNow | Command::Restart => {
                self.action(&command, json).await?
            }
            Command::Exit if json => render::json_message("bye"),
            Command::Exit => vec!["bye".to_owned()],
        };
        self.show(lines, !all).await
    }

    /// Asks the backend for one view and renders it.
    async fn query<T, Q, R>(&mut self, json: bool, ask: Q, text: R) -> Step<Vec<String>>
    where
        T: serde::Serialize + Send + 'static,
        Q: FnOnce(&dyn ConsoleBackend) -> T + Send + 'static,
        R: FnOnce(&T) -> Vec<String>,
    {
        let answer = self.call(ask).await?;
        Ok(answer_lines(answer, json, |v| render::json(v), text))
    }

    /// Runs one backend call on the blocking pool, within [`BACKEND_TIMEOUT`].
    async fn call<T, Q>(&mut self, ask: Q) -> Step<Result<T, String>>
    where
        T: Send + 'static,
        Q: FnOnce(&dyn ConsoleBackend) -> T + Send + 'static,
    {
        // Show the line end (and anything before) while the dock works on the answer.
        self.flush().await?;
        let backend = Arc::clone(&self.console.backend);
        let job = tokio::task::spawn_blocking(move || ask(backend.as_ref()));
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Err(ConsoleEnd::Cancelled),
            answer = tokio::time::timeout(BACKEND_TIMEOUT, job) => Ok(match answer {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "serial console: a dock query failed");
                    Err("the dock failed to answer (internal error; see the log)".to_owned())
                }
                Err(_) => Err(format!(
                    "the dock did not answer within {} s",
                    BACKEND_TIMEOUT.as_secs()
                )),
            }),
        }
    }

    /// `upload now`, `update now` or `restart`: asks for the service PIN and, if right, runs
    /// the action.
    async fn action(&mut self, command: &Command, json: bool) -> Step<Vec<String>> {
        let name = match command {
            Command::Restart => "restart",
            Command::UpdateNow => "update now",
            _ => "upload now",
        };
        let locked = {
            let pins = self.console.pins();
            if let Some(reason) = pins.disabled_reason() {
                return Ok(error_lines(json, reason));
            }
            pins.locked_for(self.console.now_ms()).is_some()
        };
        // While locked the prompt still takes the line, so a PIN typed (or typed ahead) then is
        // neither run as a command nor echoed, not even masked; it is compared only if the
        // lockout ended while it was typed.
        self.out.extend_from_slice(b"PIN: ");
        self.editor.set_echo(if locked {
            EchoMode::Hidden
        } else {
            EchoMode::Masked
        });
        let typed = tokio::time::timeout(PIN_TIMEOUT, self.next_event()).await;
        self.editor.set_echo(EchoMode::Plain);
        self.out.extend_from_slice(CRLF);
        let attempt = match typed {
            Err(_) => return Ok(error_lines(json, "PIN entry timed out")),
            Ok(Err(end)) => return Err(end),
            Ok(Ok(LineEvent::Line(attempt))) => attempt,
            Ok(Ok(LineEvent::TooLong)) => {
                return Ok(error_lines(
                    json,
                    &format!("line too long (max {MAX_LINE_BYTES})"),
                ));
            }
            Ok(Ok(_)) => return Ok(error_lines(json, "cancelled")),
        };
        let verdict = self.console.check_pin(&attempt).await;
        drop(attempt);
        match verdict {
            PinVerdict::Accepted => {}
            PinVerdict::NotConfigured | PinVerdict::TooShort => {
                let reason = self.console.pins().disabled_reason().unwrap_or_default();
                return Ok(error_lines(json, reason));
            }
            PinVerdict::Locked { remaining } => {
                return Ok(error_lines(json, &locked_message(remaining)));
            }
            PinVerdict::Wrong { lockout: None } => {
                tracing::warn!("serial console: wrong service PIN for `{name}`");
                return Ok(error_lines(json, "wrong PIN"));
            }
            PinVerdict::Wrong {
                lockout: Some(lockout),
            } => {
                tracing::warn!(
                    "serial console: wrong service PIN for `{name}`; PIN entry locked for {} s",
                    lockout.as_secs()
                );
                return Ok(error_lines(
                    json,
                    &format!("wrong PIN; PIN entry locked for {} s", lockout.as_secs()),
                ));
            }
        }
        tracing::info!("serial console: `{name}` requested with the service PIN");
        let command = command.clone();
        let done = self
            .call(move |b| match command {
                Command::Restart => b.restart(),
                Command::UpdateNow => b.update_now(),
                _ => b.upload_now(),
            })
            .await?;
        Ok(match done {
            Ok(Ok(message)) if json => render::json_message(&message),
            Ok(Ok(message)) => vec![clean(&message)],
            Ok(Err(problem)) | Err(problem) => error_lines(json, &problem),
        })
    }

    /// Writes lines, a page at a time when `paged` and they are more than a page.
    async fn show(&mut self, lines: Vec<String>, paged: bool) -> Step<()> {
        let page_lines = self.console.settings.page_lines;
        if !paged || page_lines < 2 || lines.len() <= page_lines {
            for line in &lines {
                self.say(line);
            }
            return Ok(());
        }
        let mut rest = lines.as_slice();
        loop {
            let (page, next) = rest.split_at(rest.len().min(page_lines - 1));
            for line in page {
                self.say(line);
            }
            rest = next;
            if rest.is_empty() {
                break;
            }
            self.out.extend_from_slice(MORE_PROMPT.as_bytes());
            self.flush().await?;
            let more = self.page_key().await?;
            self.out.push(b'\r');
            self.out
                .extend(std::iter::repeat_n(b' ', MORE_PROMPT.len()));
            self.out.push(b'\r');
            if !more {
                break;
            }
        }
        if std::mem::take(&mut self.skip_lf) {
            self.editor.note_cr();
        }
        Ok(())
    }

    /// Waits for a key at the pager's prompt: whether to show the next page.
    async fn page_key(&mut self) -> Step<bool> {
        loop {
            let Some(byte) = self.pending.pop_front() else {
                self.flush().await?;
                self.fill().await?;
                continue;
            };
            let skip_lf = std::mem::take(&mut self.skip_lf);
            match byte {
                b'\n' if skip_lf => {}
                b' ' | b'\n' => return Ok(true),
                b'\r' => {
                    self.skip_lf = true;
                    return Ok(true);
                }
                // q, Ctrl-C, Ctrl-D.
                b'q' | b'Q' | 0x03 | 0x04 => return Ok(false),
                // Anything else (noise, typing ahead) is dropped while the pager waits.
                _ => {}
            }
        }
    }
}

fn answer_lines<T, J, R>(answer: Result<T, String>, json: bool, to_json: J, text: R) -> Vec<String>
where
    J: FnOnce(&T) -> Vec<String>,
    R: FnOnce(&T) -> Vec<String>,
{
    match answer {
        Ok(value) if json => to_json(&value),
        Ok(value) => text(&value),
        Err(problem) => error_lines(json, &problem),
    }
}

/// `{"key": value}` as one line of JSON.
fn keyed<T: serde::Serialize + ?Sized>(key: &str, value: &T) -> Vec<String> {
    render::json(&std::collections::BTreeMap::from([(key, value)]))
}

fn error_lines(json: bool, message: &str) -> Vec<String> {
    if json {
        render::json_error(message)
    } else {
        vec![clean(message)]
    }
}

fn locked_message(remaining: Duration) -> String {
    let seconds = remaining.as_millis().div_ceil(1000);
    format!("PIN entry locked; try again in {seconds} s")
}

fn ended_by(e: io::Error) -> ConsoleEnd {
    let hung_up = e.raw_os_error() == Some(EIO)
        || matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::UnexpectedEof
        );
    if hung_up {
        ConsoleEnd::HangUp
    } else {
        ConsoleEnd::Failed(e)
    }
}
