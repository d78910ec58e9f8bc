//! The console's serial port: opening it with tokio-serial (8N1, no flow control, exclusive),
//! serving sessions on it, and reopening it after a hang-up or an error with a backoff of 1 s
//! doubling to 30 s, until cancelled.
//!
//! It must never spin (a hung-up line ends the session and the next open waits out the backoff)
//! and never log per retry: a problem is logged when it changes, a hang-up only after a session
//! that heard from a technician.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_serial::{DataBits, FlowControl, Parity, SerialPortBuilderExt, SerialStream, StopBits};
use tokio_util::sync::CancellationToken;

use super::session::ConsoleEnd;
use super::{Clock, Console, ConsoleBackend, ConsoleSettings};

/// The first wait before reopening the port…
pub const RETRY_MIN: Duration = Duration::from_secs(1);
/// …doubling up to this.
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// Which port to open, how fast, and how patiently to reopen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortOptions {
    pub path: PathBuf,
    pub baud: u32,
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl PortOptions {
    /// `path` at `baud`, reopened after 1 s doubling to 30 s.
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> Self {
        Self {
            path: path.into(),
            baud,
            retry_min: RETRY_MIN,
            retry_max: RETRY_MAX,
        }
    }
}

/// Serves the console on the serial port at `path` until `cancel`: opens it 8N1 without flow
/// control, serves one session after another, and reopens it after hang-ups and errors.
pub async fn run_port(
    path: impl Into<PathBuf>,
    baud: u32,
    backend: Arc<dyn ConsoleBackend>,
    settings: ConsoleSettings,
    clock: Clock,
    cancel: CancellationToken,
) {
    Console::new(backend, settings, clock)
        .run_port(&PortOptions::new(path, baud), &cancel)
        .await;
}

impl Console {
    /// Serves the console on `port` until `cancel`, keeping the wrong-PIN count across
    /// sessions.
    pub async fn run_port(&self, port: &PortOptions, cancel: &CancellationToken) {
        let path = port.path.display().to_string();
        let retry_max = port.retry_max.max(port.retry_min);
        let mut delay = port.retry_min;
        // The problem last logged, so a lasting one is logged once.
        let mut trouble: Option<String> = None;
        // Whether "serving" was logged since the last logged problem.
        let mut announced = false;
        loop {
            if cancel.is_cancelled() {
                return;
            }
            match open(port) {
                Ok(stream) => {
                    if !announced {
                        tracing::info!("serial console: serving {path} at {} baud", port.baud);
                        announced = true;
                    }
                    let (end, heard) = self.serve_counting(stream, cancel).await;
                    if heard {
                        // A technician was there: what follows is news again.
                        delay = port.retry_min;
                        trouble = None;
                    }
                    match end {
                        ConsoleEnd::Cancelled => return,
                        ConsoleEnd::HangUp if heard => {
                            tracing::info!("serial console: {path} hung up; reopening");
                        }
                        ConsoleEnd::HangUp => {
                            tracing::debug!("serial console: {path} hung up; reopening");
                        }
                        ConsoleEnd::Failed(e) => {
                            let problem = format!("failed ({e})");
                            if trouble.as_deref() != Some(problem.as_str()) {
                                tracing::warn!("serial console: {path} {problem}; reopening");
                                trouble = Some(problem);
                                announced = false;
                            }
                        }
                    }
                }
                Err(e) => {
                    let problem = describe(&e);
                    if trouble.as_deref() != Some(problem.as_str()) {
                        tracing::warn!("serial console: {path} {problem}; retrying");
                        trouble = Some(problem);
                        announced = false;
                    }
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = delay.saturating_mul(2).min(retry_max);
        }
    }
}

fn open(port: &PortOptions) -> tokio_serial::Result<SerialStream> {
    tokio_serial::new(port.path.to_string_lossy(), port.baud)
        .data_bits(DataBits::Eight)
        .parity(Parity::None)
        .stop_bits(StopBits::One)
        .flow_control(FlowControl::None)
        .open_native_async()
}

fn describe(e: &tokio_serial::Error) -> String {
    use std::io::ErrorKind as Io;
    use tokio_serial::ErrorKind;
    match e.kind {
        ErrorKind::Io(Io::NotFound) => "not present".to_owned(),
        ErrorKind::Io(Io::PermissionDenied) => {
            "may not be opened (is dockd in the dialout group?)".to_owned()
        }
        ErrorKind::NoDevice => format!("is busy or gone ({})", e.description),
        _ => format!("cannot be opened ({})", e.description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_port_is_described_as_not_present() {
        let port = PortOptions::new("/nonexistent/ttyDOCK", 115_200);
        let err = open(&port).map(|_| ()).unwrap_err();
        assert_eq!(describe(&err), "not present");
    }

    #[test]
    fn the_port_defaults_to_a_1_to_30_second_backoff() {
        let port = PortOptions::new("/dev/ttyS0", 115_200);
        assert_eq!((port.retry_min, port.retry_max), (RETRY_MIN, RETRY_MAX));
        assert_eq!(RETRY_MIN, Duration::from_secs(1));
        assert_eq!(RETRY_MAX, Duration::from_secs(30));
    }
}
