//! Whether the system clock is synchronised, as the kernel's NTP state says (`adjtimex(2)` with
//! no mode bits: it reads and sets nothing): `STA_UNSYNC` in the status, or the `TIME_ERROR`
//! clock state, means no time service has disciplined the clock. TLS certificate checks, the
//! cloud upload's signatures (SigV4 refuses a clock more than minutes off), the upload batches'
//! times and every wearable's clock (set from the dock's at each docking) depend on it. It owns
//! that reading — a pure judgement of the kernel's `timex` figures and a thin reader — and must
//! never change the clock or fail on what it finds.
//!
//! Under systemd the call needs `adjtimex` in the unit's `SystemCallFilter=` (it is in `@clock`,
//! not in `@system-service`) and no `ProtectClock=yes` (which refuses it even for reading); a
//! refused call is reported as an unknown state, never as a failure of the daemon.

use serde::{Deserialize, Serialize};

/// `STA_UNSYNC` (`<linux/timex.h>`): the clock is not synchronised.
pub const STA_UNSYNC: i32 = 0x0040;
/// `TIME_ERROR`: the clock state when it is not synchronised.
pub const TIME_ERROR: i32 = 5;

/// What the kernel said: `adjtimex`'s return value (the clock state) and the `timex` fields that
/// matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timex {
    pub state: i32,
    pub status: i32,
    /// Maximum error, microseconds.
    pub max_error_us: i64,
    /// Estimated error, microseconds.
    pub est_error_us: i64,
}

/// The clock's synchronisation, for the page, the console and `dockd status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClockSync {
    Synchronised {
        est_error_us: i64,
        max_error_us: i64,
    },
    NotSynchronised,
    /// The state could not be read (the reason, in words).
    Unknown {
        reason: String,
    },
}

/// What depends on the clock, for every warning.
pub const DEPENDS: &str = "HTTPS certificate checks, the cloud upload's signatures (SigV4), the upload batches' times and the wearables' clocks (set from the dock's at every docking) depend on it";

impl ClockSync {
    /// Judges the kernel's figures, pure.
    pub fn from_timex(timex: Timex) -> Self {
        if timex.state == TIME_ERROR || timex.status & STA_UNSYNC != 0 {
            ClockSync::NotSynchronised
        } else {
            ClockSync::Synchronised {
                est_error_us: timex.est_error_us,
                max_error_us: timex.max_error_us,
            }
        }
    }

    /// `Some(false)` when not synchronised, `None` when unknown.
    pub fn synchronised(&self) -> Option<bool> {
        match self {
            ClockSync::Synchronised { .. } => Some(true),
            ClockSync::NotSynchronised => Some(false),
            ClockSync::Unknown { .. } => None,
        }
    }

    /// One sentence for the page and the console.
    pub fn words(&self) -> String {
        match self {
            ClockSync::Synchronised { est_error_us, .. } => format!(
                "synchronised by a time service (estimated error {} ms)",
                est_error_us / 1000
            ),
            ClockSync::NotSynchronised => format!(
                "NOT synchronised: no time service (systemd-timesyncd, chrony) has set the system clock; {DEPENDS}. Check the time service and its network access"
            ),
            ClockSync::Unknown { reason } => format!("unknown ({reason})"),
        }
    }

    /// The console's problem line, when there is one.
    pub fn problem(&self) -> Option<String> {
        matches!(self, ClockSync::NotSynchronised).then(|| format!("Clock: {}.", self.words()))
    }
}

/// Reads the kernel's NTP state with `adjtimex` (modes 0: read only).
pub fn read_kernel() -> std::io::Result<Timex> {
    // SAFETY: `timex` is plain integers, so all-zero is a valid value; with `modes` 0 the call
    // only fills the struct it is given, which lives for the whole call.
    #[allow(unsafe_code)]
    let (state, timex) = unsafe {
        let mut timex: libc::timex = std::mem::zeroed();
        let state = libc::adjtimex(&mut timex);
        (state, timex)
    };
    if state < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // `c_long` is 64 bits here and 32 bits on 32-bit ARM docks.
    #[allow(clippy::useless_conversion)]
    Ok(Timex {
        state,
        status: timex.status,
        max_error_us: i64::from(timex.maxerror),
        est_error_us: i64::from(timex.esterror),
    })
}

/// The clock's state now: read and judged; a refused call (a system call filter) is `Unknown`.
pub fn current() -> ClockSync {
    match read_kernel() {
        Ok(timex) => ClockSync::from_timex(timex),
        Err(error) => {
            tracing::debug!("Cannot read the kernel's clock state: {error}");
            ClockSync::Unknown {
                reason: format!("the kernel's clock state cannot be read: {error}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timex(state: i32, status: i32) -> Timex {
        Timex {
            state,
            status,
            max_error_us: 16_000,
            est_error_us: 2_000,
        }
    }

    #[test]
    fn the_unsync_flag_or_the_error_state_means_not_synchronised() {
        assert_eq!(
            ClockSync::from_timex(timex(0, STA_UNSYNC)),
            ClockSync::NotSynchronised
        );
        assert_eq!(
            ClockSync::from_timex(timex(TIME_ERROR, 0)),
            ClockSync::NotSynchronised
        );
        // STA_PLL | STA_UNSYNC, as a freshly booted machine without NTP shows it.
        assert_eq!(
            ClockSync::from_timex(timex(TIME_ERROR, 0x0041)),
            ClockSync::NotSynchronised
        );
        assert_eq!(
            ClockSync::from_timex(timex(0, 0x2001)),
            ClockSync::Synchronised {
                est_error_us: 2_000,
                max_error_us: 16_000
            }
        );
        // A leap second announced (TIME_INS) is still synchronised.
        assert_eq!(
            ClockSync::from_timex(timex(1, 0x0011)).synchronised(),
            Some(true)
        );
    }

    #[test]
    fn the_warning_says_what_depends_on_the_clock_and_only_an_unsynchronised_clock_is_a_problem() {
        let words = ClockSync::NotSynchronised.words();
        for needle in [
            "NOT synchronised",
            "certificate",
            "SigV4",
            "wearables' clocks",
        ] {
            assert!(words.contains(needle), "{needle}: {words}");
        }
        assert!(ClockSync::NotSynchronised.problem().is_some());
        assert!(ClockSync::from_timex(timex(0, 0)).problem().is_none());
        let unknown = ClockSync::Unknown {
            reason: "refused".to_owned(),
        };
        assert_eq!(unknown.synchronised(), None);
        assert!(unknown.problem().is_none());
    }

    #[test]
    fn this_machines_kernel_answers_without_changing_anything() {
        let first = read_kernel().expect("adjtimex reads");
        let again = read_kernel().expect("adjtimex reads");
        assert_eq!(first.status & STA_UNSYNC, again.status & STA_UNSYNC);
    }
}
