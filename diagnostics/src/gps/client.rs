//! The GPS task: connects to gpsd over TCP, sends `?WATCH={"enable":true,"json":true}`, reads its
//! reports line by line into the [`Recorder`], hands the records to the daemon's [`GpsSink`] and
//! publishes the [`GpsStatus`]; reconnects with exponential backoff when gpsd is down or restarts.
//!
//! It must never let a peer grow its memory (a line is at most [`MAX_LINE_BYTES`]; longer ones are
//! dropped while they stream past), never stop over a bad line, never log more than once per
//! change of state (retries and skipped lines are `debug`), and it ends at the next await once
//! cancelled.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::recorder::{GpsEvent, GpsRecord, GpsStatus, Recorder};
use super::report::parse_line;
use super::{GpsConfig, GpsSink};

/// The longest line accepted from gpsd. Its largest real reports (a SKY with every satellite of
/// four constellations) are a few KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How long a connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The shortest wait between attempts whatever the configuration says: never a busy loop.
const RETRY_FLOOR: Duration = Duration::from_millis(10);

/// Runs until `cancel`: connect, watch, record, and reconnect after any failure. `clock` gives the
/// dock's wall time in Unix milliseconds. Never returns an error: a dock without gpsd works on
/// and `status` says so.
pub async fn run<C>(
    config: GpsConfig,
    sink: Arc<dyn GpsSink>,
    status: watch::Sender<GpsStatus>,
    clock: C,
    cancel: CancellationToken,
) where
    C: Fn() -> i64 + Send + Sync,
{
    let mut task = Task {
        recorder: Recorder::new(config.interval, config.addr.clone()),
        addr: config.addr,
        greeting_timeout: config.greeting_timeout,
        sink,
        status,
        clock,
    };
    let mut backoff = Backoff::new(config.retry_min, config.retry_max);
    task.publish();
    info!(addr = %task.addr, "GPS diagnostics: watching gpsd");
    loop {
        let end = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            end = task.session() => end,
        };
        let now = (task.clock)();
        let record = match end {
            SessionEnd::Failed(reason) => task.recorder.connect_failed(now, &reason),
            SessionEnd::Closed(reason) => {
                if task.recorder.is_connected() {
                    backoff.reset();
                }
                task.recorder.disconnected(now, &reason)
            }
        };
        if let Some(record) = record {
            task.deliver(record);
        }
        task.publish();
        let delay = backoff.next_delay();
        debug!(addr = %task.addr, ?delay, "retrying gpsd");
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    info!(addr = %task.addr, "GPS diagnostics stopped");
}

/// Exponential backoff between connection attempts: `min`, doubling to `max`; [`Backoff::reset`]
/// after a good connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let min = min.max(RETRY_FLOOR);
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

enum SessionEnd {
    /// No connection, or one that closed before gpsd's greeting is judged by the recorder.
    Failed(String),
    Closed(String),
}

struct Task<C> {
    recorder: Recorder,
    addr: String,
    greeting_timeout: Duration,
    sink: Arc<dyn GpsSink>,
    status: watch::Sender<GpsStatus>,
    clock: C,
}

impl<C: Fn() -> i64 + Send + Sync> Task<C> {
    /// One connection, from connect to its end. Records as it reads.
    async fn session(&mut self) -> SessionEnd {
        let mut stream =
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&self.addr)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => return SessionEnd::Failed(error.to_string()),
                Err(_) => {
                    return SessionEnd::Failed(format!(
                        "no answer within {} s",
                        CONNECT_TIMEOUT.as_secs()
                    ));
                }
            };
        debug!(addr = %self.addr, "connected; asking gpsd to watch");
        if let Err(error) = stream
            .write_all(gpsd_proto::ENABLE_WATCH_CMD.as_bytes())
            .await
        {
            return SessionEnd::Closed(format!("could not send WATCH: {error}"));
        }
        let mut lines = LineReader::new(stream, MAX_LINE_BYTES);
        let greeting_deadline = tokio::time::Instant::now() + self.greeting_timeout;
        loop {
            let next = if self.recorder.is_connected() {
                lines.next_line().await
            } else {
                match tokio::time::timeout_at(greeting_deadline, lines.next_line()).await {
                    Ok(next) => next,
                    Err(_) => {
                        return SessionEnd::Failed(format!(
                            "no greeting within {:?}",
                            self.greeting_timeout
                        ));
                    }
                }
            };
            let line = match next {
                Ok(Some(line)) => line,
                Ok(None) => return SessionEnd::Closed("gpsd closed the connection".to_owned()),
                Err(error) => return SessionEnd::Closed(error.to_string()),
            };
            let now = (self.clock)();
            match line {
                Line::Text(text) => match parse_line(text) {
                    Ok(Some(report)) => {
                        for record in self.recorder.on_report(now, report) {
                            self.deliver(record);
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        self.recorder.line_skipped();
                        debug!(%error, "skipped a line from gpsd");
                    }
                },
                Line::TooLong => {
                    self.recorder.line_skipped();
                    debug!(max = MAX_LINE_BYTES, "skipped an over-long line from gpsd");
                }
                Line::NotUtf8 => {
                    self.recorder.line_skipped();
                    debug!("skipped a line from gpsd that is not UTF-8");
                }
            }
            self.publish();
        }
    }

    /// Hands a record to the sink; each event is a change of state, so it is logged once here.
    fn deliver(&self, record: GpsRecord) {
        match record {
            GpsRecord::Fix(fix) => self.sink.record_fix(fix),
            GpsRecord::Event { at_ms, event } => {
                let addr = &self.addr;
                match &event {
                    GpsEvent::Connected { release } => {
                        info!(%addr, %release, "connected to gpsd");
                    }
                    GpsEvent::Disconnected { reason } => {
                        warn!(%addr, %reason, "lost gpsd; reconnecting");
                    }
                    GpsEvent::NoGpsd { reason } => {
                        warn!(%addr, %reason, "no gpsd; the dock runs without GPS and keeps retrying");
                    }
                    GpsEvent::NoReceiver => warn!(%addr, "gpsd is running but has no GPS receiver"),
                    GpsEvent::FixLost => info!("the GPS receiver lost its fix"),
                    GpsEvent::FixRegained => info!("the GPS receiver has a fix"),
                }
                self.sink.record_event(at_ms, event);
            }
        }
    }

    fn publish(&self) {
        let now = self.recorder.status();
        self.status.send_if_modified(|shown| {
            if shown == now {
                false
            } else {
                shown.clone_from(now);
                true
            }
        });
    }
}

/// One line from the peer, without its `\n`.
#[derive(Debug, PartialEq)]
enum Line<'a> {
    Text(&'a str),
    /// Longer than the limit: its bytes were dropped as they arrived.
    TooLong,
    NotUtf8,
}

/// Reads `\n`-terminated lines, keeping at most `max` bytes of one line in memory.
struct LineReader<R> {
    inner: BufReader<R>,
    line: Vec<u8>,
    max: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R, max: usize) -> Self {
        Self::with_buffer(inner, max, 8 * 1024)
    }

    fn with_buffer(inner: R, max: usize, buffer: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(buffer, inner),
            line: Vec::new(),
            max,
        }
    }

    /// The next line; `None` at the end of the stream (an unterminated last line is dropped).
    async fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.line.clear();
        let mut too_long = false;
        loop {
            let buf = self.inner.fill_buf().await?;
            if buf.is_empty() {
                return Ok(None);
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..newline.unwrap_or(buf.len())];
            if !too_long {
                if self.line.len() + chunk.len() > self.max {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(chunk);
                }
            }
            let used = newline.map_or(buf.len(), |at| at + 1);
            self.inner.consume(used);
            if newline.is_some() {
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong));
        }
        Ok(Some(match std::str::from_utf8(&self.line) {
            Ok(text) => Line::Text(text),
            Err(_) => Line::NotUtf8,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn backoff_doubles_from_one_second_to_a_minute_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let waits: Vec<u64> = (0..9).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn a_zero_backoff_is_raised_to_a_floor_instead_of_spinning() {
        let mut backoff = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(backoff.next_delay(), RETRY_FLOOR);
        assert_eq!(backoff.next_delay(), RETRY_FLOOR);
    }

    #[test]
    fn the_default_config_watches_local_gpsd_once_a_minute() {
        let config = GpsConfig::default();
        assert_eq!(config.addr, "127.0.0.1:2947");
        assert_eq!(config.interval, Duration::from_secs(60));
        assert_eq!(
            (config.retry_min, config.retry_max),
            (Duration::from_secs(1), Duration::from_secs(60))
        );
        assert_eq!(config.greeting_timeout, Duration::from_secs(10));
    }

    async fn all_lines<R: AsyncRead + Unpin>(mut reader: LineReader<R>) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap_or(None) {
            out.push(match line {
                Line::Text(text) => text.to_owned(),
                Line::TooLong => "<too long>".to_owned(),
                Line::NotUtf8 => "<not utf-8>".to_owned(),
            });
        }
        out
    }

    #[tokio::test]
    async fn lines_split_across_reads_come_out_whole() {
        let input: &[u8] = b"{\"class\":\"VERSION\"}\r\n{\"class\":\"TPV\",\"mode\":3}\n\nlast";
        // A 4-byte buffer cuts every line across several reads.
        let lines = all_lines(LineReader::with_buffer(input, 64, 4)).await;
        assert_eq!(
            lines,
            vec![
                "{\"class\":\"VERSION\"}\r",
                "{\"class\":\"TPV\",\"mode\":3}",
                ""
            ]
        );
    }

    #[tokio::test]
    async fn an_over_long_line_is_dropped_and_the_next_line_still_read() {
        let input: &[u8] = b"short\n0123456789abcdef\nafter\n";
        let lines = all_lines(LineReader::with_buffer(input, 10, 3)).await;
        assert_eq!(lines, vec!["short", "<too long>", "after"]);
    }

    #[tokio::test]
    async fn a_line_exactly_at_the_limit_is_kept() {
        let input: &[u8] = b"0123456789\n";
        let lines = all_lines(LineReader::with_buffer(input, 10, 3)).await;
        assert_eq!(lines, vec!["0123456789"]);
    }

    #[tokio::test]
    async fn a_ten_megabyte_line_never_grows_the_buffer_past_the_limit() {
        let huge = tokio::io::repeat(b'x').take(10 * 1024 * 1024);
        let input = huge.chain(&b"\n{\"class\":\"TPV\",\"mode\":1}\n"[..]);
        let mut reader = LineReader::new(input, MAX_LINE_BYTES);
        assert_eq!(reader.next_line().await.ok().flatten(), Some(Line::TooLong));
        assert!(
            reader.line.capacity() <= 2 * MAX_LINE_BYTES,
            "line buffer grew to {} bytes",
            reader.line.capacity()
        );
        assert_eq!(
            reader.next_line().await.ok().flatten(),
            Some(Line::Text("{\"class\":\"TPV\",\"mode\":1}"))
        );
        assert_eq!(reader.next_line().await.ok().flatten(), None);
    }

    #[tokio::test]
    async fn bytes_that_are_not_utf8_are_a_line_of_their_own_kind() {
        let input: &[u8] = b"\xff\xfe\nok\n";
        let lines = all_lines(LineReader::new(input, 64)).await;
        assert_eq!(lines, vec!["<not utf-8>", "ok"]);
    }
}
