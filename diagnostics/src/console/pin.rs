//! The service PIN that guards the console's actions (`upload now`, `restart`), and the rate
//! limit on wrong PINs. Pure: the time arrives as milliseconds, so tests are exact.
//!
//! It must never print, log or echo the PIN: [`ServicePin`] has no `Display`, its `Debug` is
//! redacted, and a verdict never says how close a guess was.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Wrong PINs in a row that start a lockout.
pub const WRONG_PINS_PER_LOCKOUT: u32 = 3;
/// The first lockout; each further one doubles…
pub const FIRST_LOCKOUT: Duration = Duration::from_secs(30);
/// …up to this.
pub const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// The shortest and longest PIN the configuration accepts.
pub const MIN_PIN_CHARS: usize = 4;
pub const MAX_PIN_CHARS: usize = 64;

/// Why a configured PIN is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("the service PIN must have {MIN_PIN_CHARS} to {MAX_PIN_CHARS} characters")]
    Length,
    #[error("the service PIN must not hold control characters or start or end with a space")]
    Characters,
}

/// The service PIN from `[serial] pin`. Never printed: `Debug` shows `ServicePin(***)`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServicePin(String);

impl ServicePin {
    /// A PIN that can be typed on the console: 4 to 64 characters, no control characters, no
    /// space at either end.
    pub fn new(pin: impl Into<String>) -> Result<Self, PinError> {
        let pin = pin.into();
        let chars = pin.chars().count();
        if !(MIN_PIN_CHARS..=MAX_PIN_CHARS).contains(&chars) {
            return Err(PinError::Length);
        }
        if pin.chars().any(char::is_control) || pin.trim() != pin {
            return Err(PinError::Characters);
        }
        Ok(Self(pin))
    }

    /// Compares in time that does not depend on where the first difference is.
    fn matches(&self, attempt: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), attempt.as_bytes());
        let mut diff = u8::from(a.len() != b.len());
        for (i, x) in a.iter().enumerate() {
            diff |= x ^ b.get(i).copied().unwrap_or(!x);
        }
        diff == 0
    }
}

impl TryFrom<String> for ServicePin {
    type Error = PinError;

    fn try_from(pin: String) -> Result<Self, PinError> {
        Self::new(pin)
    }
}

impl From<ServicePin> for String {
    fn from(pin: ServicePin) -> String {
        pin.0
    }
}

impl fmt::Debug for ServicePin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServicePin(***)")
    }
}

/// What a PIN attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinVerdict {
    /// The right PIN: the action may run.
    Accepted,
    /// A wrong PIN; `lockout` is set when this one started a lockout.
    Wrong { lockout: Option<Duration> },
    /// Attempts are locked for this much longer; the PIN was not even compared.
    Locked { remaining: Duration },
    /// No PIN is configured: actions are disabled.
    NotConfigured,
}

/// The PIN and the count of wrong attempts. Kept across console sessions (a hang-up must not
/// reset the limit).
#[derive(Debug, Clone)]
pub struct PinGuard {
    pin: Option<ServicePin>,
    wrong_in_a_row: u32,
    lockouts: u32,
    /// The current lockout: when it started and how long it lasts.
    lock: Option<(i64, Duration)>,
}

impl PinGuard {
    pub fn new(pin: Option<ServicePin>) -> Self {
        Self {
            pin,
            wrong_in_a_row: 0,
            lockouts: 0,
            lock: None,
        }
    }

    pub fn is_configured(&self) -> bool {
        self.pin.is_some()
    }

    /// How long attempts stay locked, if they are, at `now_ms`. Never longer than the lockout
    /// itself, whatever the clock did.
    pub fn locked_for(&self, now_ms: i64) -> Option<Duration> {
        let (from_ms, lockout) = self.lock?;
        let lockout_ms = i64::try_from(lockout.as_millis()).unwrap_or(i64::MAX);
        let remaining = from_ms.saturating_add(lockout_ms).saturating_sub(now_ms);
        (remaining > 0).then(|| Duration::from_millis(remaining.unsigned_abs()).min(lockout))
    }

    /// Checks one attempt typed at `now_ms`.
    pub fn check(&mut self, now_ms: i64, attempt: &str) -> PinVerdict {
        let Some(pin) = &self.pin else {
            return PinVerdict::NotConfigured;
        };
        if let Some((from_ms, _)) = &mut self.lock
            && now_ms < *from_ms
        {
            // The clock stepped back: the lockout restarts now rather than lasting until the
            // clock is back where it was.
            *from_ms = now_ms;
        }
        if let Some(remaining) = self.locked_for(now_ms) {
            return PinVerdict::Locked { remaining };
        }
        if pin.matches(attempt.trim()) {
            self.wrong_in_a_row = 0;
            self.lockouts = 0;
            return PinVerdict::Accepted;
        }
        self.wrong_in_a_row += 1;
        if self.wrong_in_a_row < WRONG_PINS_PER_LOCKOUT {
            return PinVerdict::Wrong { lockout: None };
        }
        self.wrong_in_a_row = 0;
        let lockout = lockout_after(self.lockouts);
        self.lockouts = self.lockouts.saturating_add(1);
        self.lock = Some((now_ms, lockout));
        PinVerdict::Wrong {
            lockout: Some(lockout),
        }
    }
}

/// The lockout that follows `earlier` lockouts without a right PIN in between.
fn lockout_after(earlier: u32) -> Duration {
    FIRST_LOCKOUT
        .checked_mul(2u32.saturating_pow(earlier))
        .unwrap_or(MAX_LOCKOUT)
        .min(MAX_LOCKOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> PinGuard {
        PinGuard::new(Some(ServicePin::new("4711").unwrap()))
    }

    const SECOND: i64 = 1000;

    #[test]
    fn the_right_pin_is_accepted() {
        assert_eq!(guard().check(0, "4711"), PinVerdict::Accepted);
        assert_eq!(guard().check(0, " 4711 "), PinVerdict::Accepted);
    }

    #[test]
    fn near_misses_are_wrong() {
        for attempt in ["", "471", "47111", "4712", "0000", "4711\u{0}"] {
            assert_eq!(
                guard().check(0, attempt),
                PinVerdict::Wrong { lockout: None },
                "{attempt:?}"
            );
        }
    }

    #[test]
    fn without_a_configured_pin_actions_are_disabled() {
        let mut guard = PinGuard::new(None);
        assert!(!guard.is_configured());
        assert_eq!(guard.check(0, "4711"), PinVerdict::NotConfigured);
    }

    #[test]
    fn three_wrong_pins_lock_for_30_seconds_and_each_further_lockout_doubles_up_to_15_minutes() {
        let mut guard = guard();
        let mut now = 1_000_000;
        let mut lockouts = Vec::new();
        for _ in 0..8 {
            assert_eq!(guard.check(now, "1"), PinVerdict::Wrong { lockout: None });
            assert_eq!(guard.check(now, "2"), PinVerdict::Wrong { lockout: None });
            let PinVerdict::Wrong {
                lockout: Some(lockout),
            } = guard.check(now, "3")
            else {
                panic!("the third wrong PIN must lock");
            };
            assert_eq!(guard.locked_for(now), Some(lockout));
            lockouts.push(lockout.as_secs());
            now += i64::try_from(lockout.as_millis()).unwrap();
            assert_eq!(guard.locked_for(now), None);
        }
        assert_eq!(lockouts, [30, 60, 120, 240, 480, 900, 900, 900]);
    }

    #[test]
    fn while_locked_even_the_right_pin_is_refused_and_not_compared() {
        let mut guard = guard();
        for _ in 0..3 {
            guard.check(0, "0000");
        }
        assert_eq!(
            guard.check(10 * SECOND, "4711"),
            PinVerdict::Locked {
                remaining: Duration::from_secs(20)
            }
        );
        assert_eq!(guard.check(30 * SECOND, "4711"), PinVerdict::Accepted);
    }

    #[test]
    fn a_right_pin_resets_the_count_and_the_doubling() {
        let mut guard = guard();
        for _ in 0..3 {
            guard.check(0, "0000");
        }
        assert_eq!(guard.check(30 * SECOND, "4711"), PinVerdict::Accepted);
        guard.check(31 * SECOND, "0000");
        guard.check(31 * SECOND, "0000");
        assert_eq!(guard.check(31 * SECOND, "4711"), PinVerdict::Accepted);
        for _ in 0..2 {
            guard.check(32 * SECOND, "0000");
        }
        assert_eq!(
            guard.check(32 * SECOND, "0000"),
            PinVerdict::Wrong {
                lockout: Some(FIRST_LOCKOUT)
            }
        );
    }

    #[test]
    fn a_clock_stepping_back_does_not_lengthen_a_lockout_nor_panic() {
        let mut guard = guard();
        for _ in 0..3 {
            guard.check(i64::MAX - 1, "0000");
        }
        assert_eq!(guard.locked_for(i64::MIN), Some(FIRST_LOCKOUT));
        assert_eq!(
            guard.check(0, "4711"),
            PinVerdict::Locked {
                remaining: FIRST_LOCKOUT
            }
        );
        assert_eq!(guard.check(30 * SECOND, "4711"), PinVerdict::Accepted);
    }

    #[test]
    fn the_pin_never_shows_in_debug_output() {
        let pin = ServicePin::new("4711").unwrap();
        assert_eq!(format!("{pin:?}"), "ServicePin(***)");
        assert!(!format!("{:?}", PinGuard::new(Some(pin))).contains("4711"));
    }

    #[test]
    fn untypeable_or_trivial_pins_are_refused_by_the_configuration() {
        assert_eq!(ServicePin::new("123"), Err(PinError::Length));
        assert_eq!(ServicePin::new("x".repeat(65)), Err(PinError::Length));
        assert_eq!(ServicePin::new(" 1234"), Err(PinError::Characters));
        assert_eq!(ServicePin::new("12\t34"), Err(PinError::Characters));
        assert!(ServicePin::new("café-2024").is_ok());
        let parsed: Result<ServicePin, _> = serde_json::from_str("\"12\"");
        assert!(parsed.is_err());
    }
}
