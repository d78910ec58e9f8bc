//! The control socket's wire format, sans-IO: one JSON request per line, one JSON response line
//! for each, both carrying the protocol version `v`; a request line of at most
//! [`MAX_REQUEST_LINE`] bytes; [`Inbox`] frames a byte stream into requests and answers what is
//! not one. It owns what a request and a response look like and how bad input is answered; it
//! must never do I/O, run a command, or put a password into a `Debug` text or an error.
//!
//! ```text
//! → {"v":1,"cmd":"status"}
//! ← {"v":1,"ok":true,"result":{…what `dockd status --json` prints…}}
//! → {"v":1,"cmd":"user_add","name":"anna","role":"supervisor","password":"…","enable":false}
//! ← {"v":1,"ok":false,"error":{"kind":"failed","message":"…"}}
//! ```
//!
//! One command streams: `worker_export`'s success line (the worker and their sample count) is
//! followed by the export's tar archive in chunks — a 4-byte big-endian length, then that many
//! bytes; a zero length ends them — and then a second response line, the export's summary or why
//! it broke off.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The protocol version this build speaks; a request with another is answered with
/// [`FailureKind::Version`].
pub const VERSION: u32 = 1;
/// The longest request line, in bytes without its newline: a `user_add` is a few hundred.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;
/// The longest response line a client reads (a status or an inventory is tens of KiB).
pub const MAX_RESPONSE_LINE: usize = 16 << 20;

/// A password or a badge tag on its way to the daemon: it serialises as the plain string (the
/// socket is the daemon's own, for root and its group), but its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

/// A page user's password on the wire.
pub type Password = Secret;

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text itself, for hashing or a look-up.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(hidden)")
    }
}

/// What a client asks the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// What `dockd status --json` prints.
    Status,
    /// The data inventory and the controls' state (`dockd privacy report --json`).
    PrivacyReport,
    /// The audit trail's hash chain, checked.
    PrivacyVerify,
    /// The retention purge, now.
    PurgeNow,
    /// Creates a page user, or gives an existing one this role and password.
    UserAdd {
        name: String,
        role: String,
        password: Password,
        /// Enables the user again if an admin disabled them.
        #[serde(default)]
        enable: bool,
    },
    /// Deletes for good everything about the worker with this badge tag (`dockd worker delete`,
    /// confirmed by the command line before it asks).
    WorkerDelete { tag: Secret },
    /// A worker's export, streamed (see the module's text): the command line writes the files,
    /// so they belong to whoever asked; the daemon reads and audits it.
    WorkerExport { tag: Secret },
    /// Records a worker's export in the audit trail (`dockd worker export` with no daemon
    /// running: it reads the database itself).
    RecordExport {
        worker: i64,
        shift_reports: u64,
        samples: u64,
    },
    /// A backup sealed with this passphrase (`dockd backup`): answered with a success line, then
    /// the backup's bytes in frames (`crate::backup` on the wire: length u32, bytes; an empty
    /// frame ends it), which the command writes into its own file.
    Backup { passphrase: Secret },
    /// The daemon's figures in Prometheus text format (`dockd metrics`).
    Metrics,
    /// The running daemon's account of itself (`update::health::Report`), which the launcher
    /// judges a version on trial by.
    Health,
    /// Asks the release server now (`dockd update --check`): what it offers.
    UpdateCheck,
    /// Checks and installs a newer release now, then restarts into it (`dockd update --now`).
    UpdateNow,
}

impl Command {
    /// The command's name on the wire, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::PrivacyReport => "privacy_report",
            Command::PrivacyVerify => "privacy_verify",
            Command::PurgeNow => "purge_now",
            Command::UserAdd { .. } => "user_add",
            Command::WorkerDelete { .. } => "worker_delete",
            Command::WorkerExport { .. } => "worker_export",
            Command::RecordExport { .. } => "record_export",
            Command::Backup { .. } => "backup",
            Command::Metrics => "metrics",
            Command::Health => "health",
            Command::UpdateCheck => "update_check",
            Command::UpdateNow => "update_now",
        }
    }

    /// Whether it changes the database (and is audited).
    pub fn changes_data(&self) -> bool {
        matches!(
            self,
            Command::PurgeNow
                | Command::UserAdd { .. }
                | Command::WorkerDelete { .. }
                | Command::WorkerExport { .. }
                | Command::RecordExport { .. }
        )
    }
}

/// The largest chunk of a streamed answer (the daemon sends 64 KiB ones).
pub const MAX_CHUNK: usize = 1 << 20;

/// `bytes` as chunks of a streamed answer: each a length (4 bytes, big-endian) and at most
/// [`MAX_CHUNK`] bytes; nothing for no bytes (an empty chunk would end the stream).
pub fn encode_chunks(bytes: &[u8]) -> Vec<u8> {
    let mut chunks = Vec::with_capacity(bytes.len() + 4 * (1 + bytes.len() / MAX_CHUNK));
    for piece in bytes.chunks(MAX_CHUNK) {
        let length = u32::try_from(piece.len()).unwrap_or(u32::MAX);
        chunks.extend_from_slice(&length.to_be_bytes());
        chunks.extend_from_slice(piece);
    }
    chunks
}

/// What ends a streamed answer's chunks: a zero length.
pub const END_OF_CHUNKS: [u8; 4] = [0; 4];

/// Why a request got no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The peer may not use the socket (its uid and groups).
    Refused,
    /// Not a request: not UTF-8, not JSON, an unknown command or a missing field.
    BadRequest,
    /// A request line longer than [`MAX_REQUEST_LINE`].
    TooLong,
    /// Another protocol version.
    Version,
    /// The daemon is at its limit of connections, or stopping.
    Busy,
    /// The command ran and failed (its sentence says why).
    Failed,
}

/// A failure as the response carries it: its kind and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// One response line: `ok` with a `result`, or not with an `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub v: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

impl Response {
    pub fn success(result: Value) -> Self {
        Self {
            v: VERSION,
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    pub fn failure(failure: Failure) -> Self {
        Self {
            v: VERSION,
            ok: false,
            result: None,
            error: Some(failure),
        }
    }

    /// The response as one line, newline included.
    pub fn encode(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|_| {
            // Serialising a `Value` and two strings cannot fail; should it, say so in the protocol.
            br#"{"v":1,"ok":false,"error":{"kind":"failed","message":"the response could not be encoded"}}"#.to_vec()
        });
        line.push(b'\n');
        line
    }
}

/// A response line a client could not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResponseError {
    #[error("the daemon's answer is not a response of this protocol ({0})")]
    Malformed(String),
    #[error(
        "the daemon speaks control protocol version {0}, this command {VERSION}: run the `dockd` of the daemon's version"
    )]
    Version(u32),
}

/// Reads one response line (without its newline): the result, or the daemon's failure.
pub fn decode_response(line: &[u8]) -> Result<Result<Value, Failure>, ResponseError> {
    let response: Response =
        serde_json::from_slice(line).map_err(|e| ResponseError::Malformed(e.to_string()))?;
    if response.v != VERSION {
        return Err(ResponseError::Version(response.v));
    }
    match (response.ok, response.result, response.error) {
        (true, Some(result), None) => Ok(Ok(result)),
        (false, None, Some(failure)) => Ok(Err(failure)),
        _ => Err(ResponseError::Malformed(
            "`ok` disagrees with `result` and `error`".to_owned(),
        )),
    }
}

/// A request as one line, newline included.
pub fn encode_request(command: &Command) -> Vec<u8> {
    let mut value = serde_json::to_value(command).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.insert("v".to_owned(), VERSION.into());
    }
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    line
}

/// Reads one request line (without its newline). The version is checked first, so a client of
/// another version is told so rather than that its command is unknown.
pub fn decode_request(line: &[u8]) -> Result<Command, Failure> {
    let bad = |message: String| Failure::new(FailureKind::BadRequest, message);
    let text =
        std::str::from_utf8(line).map_err(|_| bad("the request is not UTF-8 text".to_owned()))?;
    let value: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "the request is not one JSON object on one line: {e}"
        ))
    })?;
    let Value::Object(mut object) = value else {
        return Err(bad("the request is not a JSON object".to_owned()));
    };
    match object.remove("v") {
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
        Some(v) => {
            return Err(Failure::new(
                FailureKind::Version,
                format!(
                    "control protocol version {v} is not spoken here: this dockd speaks {VERSION} (run the `dockd` of the daemon's version)"
                ),
            ));
        }
        None => {
            return Err(Failure::new(
                FailureKind::Version,
                format!("the request has no protocol version `v` (this dockd speaks {VERSION})"),
            ));
        }
    }
    serde_json::from_value(Value::Object(object)).map_err(|e| {
        bad(format!(
            "not a request ({e}); the commands are status, privacy_report, privacy_verify, purge_now and user_add"
        ))
    })
}

/// What a line of input came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Request(Command),
    /// Not a request: answer this failure and read on.
    Invalid(Failure),
}

/// Frames a byte stream into request lines: at most [`MAX_REQUEST_LINE`] bytes are ever held,
/// a longer line is answered once as too long and skipped up to its newline, blank lines are
/// ignored, a `\r` before the newline is dropped.
#[derive(Debug, Default)]
pub struct Inbox {
    line: Vec<u8>,
    /// Inside a line already answered as too long, until its newline.
    skipping: bool,
}

impl Inbox {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes read; returns the requests and failures completed by them, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Incoming> {
        let mut out = Vec::new();
        for piece in bytes.split_inclusive(|&b| b == b'\n') {
            let (body, ends) = match piece.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (piece, false),
            };
            if self.skipping {
                self.skipping = !ends;
                continue;
            }
            if self.line.len() + body.len() > MAX_REQUEST_LINE {
                out.push(Incoming::Invalid(Failure::new(
                    FailureKind::TooLong,
                    format!("a request line may be at most {MAX_REQUEST_LINE} bytes; this one was skipped"),
                )));
                self.line.clear();
                self.skipping = !ends;
                continue;
            }
            self.line.extend_from_slice(body);
            if ends {
                let line = std::mem::take(&mut self.line);
                out.extend(read_line(&line));
            }
        }
        out
    }

    /// The input ended: a last line without its newline still counts.
    pub fn finish(&mut self) -> Option<Incoming> {
        self.skipping = false;
        let line = std::mem::take(&mut self.line);
        read_line(&line)
    }
}

fn read_line(line: &[u8]) -> Option<Incoming> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    Some(match decode_request(line) {
        Ok(command) => Incoming::Request(command),
        Err(failure) => Incoming::Invalid(failure),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_bytes_go_in_length_prefixed_chunks_of_at_most_the_limit_and_none_is_empty() {
        let bytes: Vec<u8> = (0..(2 * MAX_CHUNK + 3)).map(|i| i as u8).collect();
        let chunks = encode_chunks(&bytes);
        let (mut at, mut joined, mut lengths) = (0, Vec::new(), Vec::new());
        while at < chunks.len() {
            let length = u32::from_be_bytes(chunks[at..at + 4].try_into().unwrap()) as usize;
            lengths.push(length);
            joined.extend_from_slice(&chunks[at + 4..at + 4 + length]);
            at += 4 + length;
        }
        assert_eq!(lengths, [MAX_CHUNK, MAX_CHUNK, 3]);
        assert_eq!(joined, bytes);
        assert!(
            encode_chunks(&[]).is_empty(),
            "an empty chunk would end the stream"
        );
        assert_eq!(END_OF_CHUNKS, 0u32.to_be_bytes());
    }

    fn user_add() -> Command {
        Command::UserAdd {
            name: "anna".to_owned(),
            role: "supervisor".to_owned(),
            password: Password::new("a long secret phrase"),
            enable: true,
        }
    }

    fn all_commands() -> Vec<Command> {
        vec![
            Command::Status,
            Command::PrivacyReport,
            Command::PrivacyVerify,
            Command::PurgeNow,
            user_add(),
        ]
    }

    fn kind(incoming: &Incoming) -> Option<FailureKind> {
        match incoming {
            Incoming::Invalid(failure) => Some(failure.kind),
            Incoming::Request(_) => None,
        }
    }

    #[test]
    fn every_command_reads_back_as_itself_with_the_version_on_the_line() {
        for command in all_commands() {
            let line = encode_request(&command);
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
            let value: Value = serde_json::from_slice(&line).unwrap();
            assert_eq!(value["v"], VERSION);
            assert_eq!(value["cmd"], command.name());
            assert_eq!(decode_request(&line[..line.len() - 1]), Ok(command));
        }
    }

    #[test]
    fn responses_read_back_as_their_result_or_failure() {
        let result = serde_json::json!({"wearables": [], "gps": {"mode": null}});
        let line = Response::success(result.clone()).encode();
        assert_eq!(line.last(), Some(&b'\n'));
        assert_eq!(decode_response(&line[..line.len() - 1]), Ok(Ok(result)));
        let failure = Failure::new(FailureKind::Refused, "uid 1000 may not");
        let line = Response::failure(failure.clone()).encode();
        assert_eq!(decode_response(&line[..line.len() - 1]), Ok(Err(failure)));
    }

    #[test]
    fn a_response_of_another_version_or_shape_is_not_taken_for_an_answer() {
        assert_eq!(
            decode_response(br#"{"v":2,"ok":true,"result":{}}"#),
            Err(ResponseError::Version(2))
        );
        for line in [
            &br#"{"v":1,"ok":true}"#[..],
            br#"{"v":1,"ok":false,"result":1}"#,
            br#"{"v":1,"ok":true,"result":1,"error":{"kind":"failed","message":"x"}}"#,
            b"not json",
            b"",
        ] {
            assert!(
                matches!(decode_response(line), Err(ResponseError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_password_never_shows_in_debug_text() {
        let text = format!("{:?} {:?}", user_add(), Incoming::Request(user_add()));
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("Secret(hidden)"), "{text}");
    }

    #[test]
    fn a_request_of_another_version_or_without_one_is_told_the_version_spoken() {
        for line in [
            &br#"{"v":2,"cmd":"status"}"#[..],
            br#"{"v":"1","cmd":"status"}"#,
            br#"{"cmd":"status"}"#,
            br#"{"v":2,"cmd":"no_such"}"#,
        ] {
            let failure = decode_request(line).unwrap_err();
            assert_eq!(failure.kind, FailureKind::Version, "{failure}");
            assert!(failure.message.contains("speaks 1"), "{failure}");
        }
    }

    #[test]
    fn garbage_unknown_commands_and_missing_fields_are_bad_requests() {
        for line in [
            &b"hello"[..],
            b"\xff\xfe\x00",
            b"[1,2,3]",
            b"42",
            b"null",
            br#"{"v":1}"#,
            br#"{"v":1,"cmd":"drop_tables"}"#,
            br#"{"v":1,"cmd":"user_add","name":"anna"}"#,
            br#"{"v":1,"cmd":"user_add","name":"anna","role":"admin","password":7}"#,
            br#"{"v":1,"cmd":"user_add","name":"a","role":"admin","password":"p","enabel":true}"#,
            br#"{"v":1,"cmd":"status""#,
            &[b'['; 4096][..],
        ] {
            let failure = decode_request(line).unwrap_err();
            assert_eq!(
                failure.kind,
                FailureKind::BadRequest,
                "{}: {failure}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_request_split_anywhere_across_reads_is_framed_the_same() {
        let mut stream = Vec::new();
        for command in all_commands() {
            stream.extend(encode_request(&command));
        }
        for split in 0..stream.len() {
            let mut inbox = Inbox::new();
            let mut got = inbox.push(&stream[..split]);
            got.extend(inbox.push(&stream[split..]));
            assert_eq!(inbox.finish(), None);
            let want: Vec<_> = all_commands().into_iter().map(Incoming::Request).collect();
            assert_eq!(got, want, "split at {split}");
        }
    }

    #[test]
    fn blank_lines_and_crlf_are_taken_in_stride_and_a_last_line_needs_no_newline() {
        let mut inbox = Inbox::new();
        let got =
            inbox.push(b"\n  \r\n{\"v\":1,\"cmd\":\"status\"}\r\n{\"v\":1,\"cmd\":\"purge_now\"}");
        assert_eq!(got, vec![Incoming::Request(Command::Status)]);
        assert_eq!(inbox.finish(), Some(Incoming::Request(Command::PurgeNow)));
        assert_eq!(inbox.finish(), None);
    }

    #[test]
    fn an_oversize_line_is_answered_once_skipped_to_its_newline_and_the_next_request_still_served()
    {
        let mut inbox = Inbox::new();
        let mut got = Vec::new();
        // A line far over the limit, arriving in reads of 8 KiB, then a good request.
        let huge = vec![b'x'; MAX_REQUEST_LINE * 3];
        for chunk in huge.chunks(8192) {
            got.extend(inbox.push(chunk));
            assert!(
                inbox.line.len() <= MAX_REQUEST_LINE,
                "never holds more than a line"
            );
        }
        got.extend(inbox.push(b"\n"));
        got.extend(inbox.push(&encode_request(&Command::Status)));
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(kind(&got[0]), Some(FailureKind::TooLong));
        assert_eq!(got[1], Incoming::Request(Command::Status));
        // Exactly at the limit is still read (and is bad JSON here, not too long).
        let mut at_limit = vec![b' '; MAX_REQUEST_LINE - 1];
        at_limit.push(b'x');
        at_limit.push(b'\n');
        let got = Inbox::new().push(&at_limit);
        assert_eq!(
            got.iter().map(kind).collect::<Vec<_>>(),
            vec![Some(FailureKind::BadRequest)]
        );
        // One byte over, in one read with its newline, is too long.
        let mut over = vec![b' '; MAX_REQUEST_LINE + 1];
        over.push(b'\n');
        let got = Inbox::new().push(&over);
        assert_eq!(
            got.iter().map(kind).collect::<Vec<_>>(),
            vec![Some(FailureKind::TooLong)]
        );
    }

    #[test]
    fn random_garbage_never_panics_and_every_line_gets_one_answer() {
        // A small deterministic generator: the same bytes every run.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"{}[]\":,vcmd1 \\\n\r\xff\x00status_user_add";
        for _ in 0..500 {
            let len = (next() % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let lines = bytes
                .split(|&b| b == b'\n')
                .filter(|l| {
                    let l = l.strip_suffix(b"\r").unwrap_or(l);
                    !l.iter().all(u8::is_ascii_whitespace)
                })
                .count();
            let mut inbox = Inbox::new();
            let mut got = Vec::new();
            for chunk in bytes.chunks(1 + (next() % 17) as usize) {
                got.extend(inbox.push(chunk));
            }
            got.extend(inbox.finish());
            assert_eq!(got.len(), lines, "{}", String::from_utf8_lossy(&bytes));
        }
    }
}
