//! What an upload attempt's outcome means and how long to wait before the next: the outcome
//! classes and the capped, fully jittered exponential backoff. It owns those rules; it must never
//! do I/O, read a clock or draw entropy itself (the random source is injected).
//!
//! # Backoff
//!
//! After the `n`-th consecutive retriable failure (n ≥ 1) the next attempt waits a uniformly
//! random time in `[0, min(CAP_MS, BASE_MS · 2^(n-1))]` ("full jitter"): 0–0.5 s, 0–1 s, 0–2 s, …
//! and never more than 10 s, however long the outage. So retries never give up, a fleet of docks
//! spreads its attempts instead of hammering a recovering receiver in step, and the first attempt
//! after the receiver answers again comes at most 10 s later (after the failure in flight ends).
//! A 429's `Retry-After` is honoured (at least the jittered wait, at most [`RETRY_AFTER_MAX_MS`]):
//! that receiver is answering and asks for time.

use std::fmt;

/// The first backoff bound, ms.
pub const BASE_MS: u64 = 500;
/// The largest backoff bound, ms: the promise "≤ 10 s after the receiver answers again".
pub const CAP_MS: u64 = 10_000;
/// The longest `Retry-After` obeyed, ms (a misconfigured header must not freeze the queue).
pub const RETRY_AFTER_MAX_MS: u64 = 600_000;
/// While paused, how often the session probes whether the cause has gone, ms.
pub const PAUSE_PROBE_MS: u64 = 30_000;

/// Randomness for the jitter, injected so tests are reproducible.
pub trait RandomSource {
    fn next_u64(&mut self) -> u64;
}

/// Any `FnMut() -> u64` is a random source (the daemon seeds one from the OS at start-up).
impl<F: FnMut() -> u64> RandomSource for F {
    fn next_u64(&mut self) -> u64 {
        self()
    }
}

/// How one attempt to deliver a batch ended, as the I/O edge saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: the receiver holds the batch.
    Delivered,
    /// 5xx.
    ServerError(u16),
    /// 429, with its `Retry-After` in ms if it sent one.
    TooManyRequests { retry_after_ms: Option<u64> },
    /// No answer in time (connect, request or response).
    Timeout,
    /// The connection was refused, reset or closed mid-exchange.
    ConnectionLost,
    /// 401/403 or an S3 signature error: the dock's token or credentials are refused.
    AuthRefused(u16),
    /// The receiver says the dock's clock is off (S3 `RequestTimeTooSkewed`, or its `Date`).
    ClockSkew,
    /// The TLS handshake failed (certificate, name, protocol); never ignored.
    Tls(String),
    /// 400/422: the receiver refuses this batch's content.
    ContentRefused(u16),
    /// 413: the batch is too large for the receiver.
    TooLarge,
    /// Any other answer that concerns every batch (404, 3xx, 405…): a wrong url or receiver.
    Unexpected(u16),
}

impl Outcome {
    /// The outcome of an HTTP answer with status `status` (and its `Retry-After` in seconds).
    /// S3 error codes that override the status (a signature or skew error) are the I/O edge's.
    pub fn from_status(status: u16, retry_after_s: Option<u64>) -> Outcome {
        match status {
            200..=299 => Outcome::Delivered,
            401 | 403 => Outcome::AuthRefused(status),
            408 => Outcome::Timeout,
            413 => Outcome::TooLarge,
            400 | 422 => Outcome::ContentRefused(status),
            429 => Outcome::TooManyRequests {
                retry_after_ms: retry_after_s.map(|s| s.saturating_mul(1000)),
            },
            500..=599 => Outcome::ServerError(status),
            _ => Outcome::Unexpected(status),
        }
    }

    /// What the outcome means for the queue.
    pub fn class(&self) -> Class {
        match self {
            Outcome::Delivered => Class::Delivered,
            Outcome::ServerError(_)
            | Outcome::TooManyRequests { .. }
            | Outcome::Timeout
            | Outcome::ConnectionLost => Class::Retriable,
            Outcome::AuthRefused(_)
            | Outcome::ClockSkew
            | Outcome::Tls(_)
            | Outcome::Unexpected(_) => Class::EveryBatch,
            Outcome::ContentRefused(_) => Class::ThisBatch,
            Outcome::TooLarge => Class::TooLarge,
        }
    }
}

/// The last error as a sentence for the page, the console, status and logs.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Delivered => write!(f, "The receiver accepted the batch."),
            Outcome::ServerError(s) => write!(f, "The receiver failed with HTTP {s}."),
            Outcome::TooManyRequests { .. } => {
                write!(f, "The receiver asked the dock to slow down (HTTP 429).")
            }
            Outcome::Timeout => write!(f, "The receiver did not answer in time."),
            Outcome::ConnectionLost => write!(f, "The connection to the receiver was lost."),
            Outcome::AuthRefused(s) => write!(
                f,
                "The receiver refused the dock's token or credentials (HTTP {s}); uploads are paused."
            ),
            Outcome::ClockSkew => write!(
                f,
                "The receiver says the dock's clock is wrong; uploads are paused."
            ),
            Outcome::Tls(why) => write!(
                f,
                "The secure connection to the receiver failed ({why}); uploads are paused."
            ),
            Outcome::ContentRefused(s) => write!(
                f,
                "The receiver refused a batch's content (HTTP {s}); it was set aside as a dead letter."
            ),
            Outcome::TooLarge => write!(f, "The receiver found a batch too large; it was split."),
            Outcome::Unexpected(s) => write!(
                f,
                "The receiver answered HTTP {s}, which the dock cannot act on; uploads are paused."
            ),
        }
    }
}

/// The outcome classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Delivered,
    /// Try the same bytes again after a backoff; never give up.
    Retriable,
    /// Every batch would fail the same way: pause the queue.
    EveryBatch,
    /// Only this batch: park it as a dead letter, continue with the rest.
    ThisBatch,
    /// Split the batch into halves.
    TooLarge,
}

/// The full-jitter wait after `failures` consecutive retriable failures (≥ 1), ms.
pub fn backoff_ms(failures: u32, random: &mut dyn RandomSource) -> u64 {
    let bound = backoff_bound_ms(failures);
    random.next_u64() % (bound + 1)
}

/// The largest wait after `failures` consecutive retriable failures, ms.
pub fn backoff_bound_ms(failures: u32) -> u64 {
    let doublings = failures.saturating_sub(1).min(32);
    BASE_MS.saturating_mul(1u64 << doublings).min(CAP_MS)
}

/// The wait after a retriable `outcome`, the `failures`-th in a row, ms.
pub fn retry_wait_ms(outcome: &Outcome, failures: u32, random: &mut dyn RandomSource) -> u64 {
    let jittered = backoff_ms(failures, random);
    match outcome {
        Outcome::TooManyRequests {
            retry_after_ms: Some(asked),
        } => jittered.max((*asked).min(RETRY_AFTER_MAX_MS)),
        _ => jittered,
    }
}
