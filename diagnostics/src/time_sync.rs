//! Whether the system clock is synchronised, as the kernel's NTP state says (`adjtimex(2)` with
//! no mode bits: it reads and sets nothing): `STA_UNSYNC` in the status, or the `TIME_ERROR`
//! clock state, means no time service has disciplined the clock. TLS certificate checks, the
//! cloud upload's signatures (SigV4 refuses a clock more than minutes off), the upload batches'
//! times and every wearable's clock (set from the dock's at each docking) depend on it. It owns
//! that reading — a pure judgement of the kernel's `timex` figures and a thin reader — and must
//! never change the clock or fail on what it finds.
//!
//! Under the packaged unit (`ProtectClock=yes`, a system-call allow list without `@clock`) the
//! call is refused with EPERM; allowing it would cost the unit's exposure score more than its
//! 2.0 limit. Then the state comes from systemd-timesyncd, Debian's time service, which marks a
//! synchronised clock with the file `/run/systemd/timesync/synchronized` (readable in the
//! sandbox); with neither (another time service in a sandbox) it is reported as unknown with the
//! reason, never as a failure of the daemon.

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
    /// systemd-timesyncd says so (the kernel's figures could not be read).
    SynchronisedByTimesyncd,
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
            ClockSync::Synchronised { .. } | ClockSync::SynchronisedByTimesyncd => Some(true),
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
            ClockSync::SynchronisedByTimesyncd => "synchronised by systemd-timesyncd".to_owned(),
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

/// Where systemd-timesyncd keeps its state; `synchronized` in it marks a synchronised clock.
pub const TIMESYNCD_STATE: &str = "/run/systemd/timesync";

/// The clock's state now: the kernel's figures judged, or where a sandbox refuses them,
/// systemd-timesyncd's mark.
pub fn current() -> ClockSync {
    match read_kernel() {
        Ok(timex) => ClockSync::from_timex(timex),
        Err(error) => {
            tracing::debug!("Cannot read the kernel's clock state: {error}");
            from_timesyncd(std::path::Path::new(TIMESYNCD_STATE), &error)
        }
    }
}

/// The state from systemd-timesyncd's folder `state` when the kernel's figures were refused
/// (`refused`): its `synchronized` mark, or its absence while timesyncd runs (the folder
/// exists); without timesyncd, unknown.
pub fn from_timesyncd(state: &std::path::Path, refused: &std::io::Error) -> ClockSync {
    if state.join("synchronized").exists() {
        ClockSync::SynchronisedByTimesyncd
    } else if state.is_dir() {
        ClockSync::NotSynchronised
    } else {
        ClockSync::Unknown {
            reason: format!(
                "the kernel's clock state cannot be read ({refused}) and systemd-timesyncd does not run; `timedatectl` or `chronyc tracking` tells"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_the_kernel_is_refused_timesyncds_mark_tells_and_without_timesyncd_it_is_unknown() {
        let dir = std::env::temp_dir().join(format!("dockd-timesync-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let refused = std::io::Error::from_raw_os_error(libc::EPERM);
        assert!(matches!(
            from_timesyncd(&dir, &refused),
            ClockSync::Unknown { reason } if reason.contains("Operation not permitted")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(from_timesyncd(&dir, &refused), ClockSync::NotSynchronised);
        std::fs::write(dir.join("synchronized"), b"").unwrap();
        let synchronised = from_timesyncd(&dir, &refused);
        assert_eq!(synchronised, ClockSync::SynchronisedByTimesyncd);
        assert_eq!(synchronised.synchronised(), Some(true));
        assert_eq!(synchronised.problem(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

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
