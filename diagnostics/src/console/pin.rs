//! The service PIN that guards the console's actions (`upload now`, `update now`, `restart`), and the rate
//! limit on wrong PINs. Pure: the time arrives as milliseconds and the rate limit's state as a
//! [`LockoutRecord`] (kept in a file by `lockout`), so tests are exact.
//!
//! It must never print, log or echo the PIN: [`ServicePin`] has no `Display` and no `Serialize`,
//! its `Debug` is redacted, and a verdict never says how close a guess was.

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
pub const MIN_PIN_CHARS: usize = 6;
pub const MAX_PIN_CHARS: usize = 64;
/// The shortest PIN earlier versions accepted. A dock upgraded with a PIN this long but shorter
/// than [`MIN_PIN_CHARS`] keeps running with its PIN actions disabled ([`ConfiguredPin::TooShort`]).
pub const LEGACY_MIN_PIN_CHARS: usize = 4;

/// What the console answers to a PIN action while the configured PIN is too short.
pub const TOO_SHORT_MESSAGE: &str = "PIN actions are disabled: the service PIN is shorter than 6 characters; set a longer [serial] pin";

/// Why a configured PIN is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("the service PIN must have {MIN_PIN_CHARS} to {MAX_PIN_CHARS} characters")]
    Length,
    #[error("the service PIN must not hold control characters or start or end with a space")]
    Characters,
}

/// The service PIN from `[serial] pin`. Never printed: `Debug` shows `ServicePin(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct ServicePin(String);

impl ServicePin {
    /// A PIN that can be typed on the console: 6 to 64 characters, no control characters, no
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

impl fmt::Debug for ServicePin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServicePin(***)")
    }
}

/// `[serial] pin` as the configuration gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum ConfiguredPin {
    /// A PIN the actions are unlocked with.
    Set(ServicePin),
    /// A PIN of [`LEGACY_MIN_PIN_CHARS`] up to [`MIN_PIN_CHARS`] characters, which earlier
    /// versions accepted: the dock starts, and its PIN actions stay disabled until a longer PIN is
    /// set. Its text is not kept.
    TooShort,
}

impl ConfiguredPin {
    /// Whether a dock with this PIN can run its PIN actions.
    pub fn is_usable(&self) -> bool {
        matches!(self, Self::Set(_))
    }
}

impl TryFrom<String> for ConfiguredPin {
    type Error = PinError;

    fn try_from(pin: String) -> Result<Self, PinError> {
        match ServicePin::new(pin.as_str()) {
            Ok(pin) => Ok(Self::Set(pin)),
            Err(PinError::Length)
                if (LEGACY_MIN_PIN_CHARS..MIN_PIN_CHARS).contains(&pin.chars().count())
                    && !pin.chars().any(char::is_control)
                    && pin.trim() == pin =>
            {
                Ok(Self::TooShort)
            }
            Err(error) => Err(error),
        }
    }
}

impl From<ServicePin> for ConfiguredPin {
    fn from(pin: ServicePin) -> Self {
        Self::Set(pin)
    }
}

/// The rate limit's state: wrong PINs in a row, lockouts so far, the current lockout. Kept in the
/// data folder so that a restart does not forget a lockout (`lockout`). Holds no PIN.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LockoutRecord {
    pub wrong_in_a_row: u32,
    pub lockouts: u32,
    /// When the current lockout started, Unix ms.
    pub locked_from_ms: Option<i64>,
    /// How long it lasts, ms.
    pub locked_for_ms: Option<u64>,
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
    /// The configured PIN is too short to be used: actions are disabled.
    TooShort,
}

/// The PIN and the count of wrong attempts. Kept across console sessions (a hang-up must not
/// reset the limit) and, through its [`LockoutRecord`], across restarts.
#[derive(Debug, Clone)]
pub struct PinGuard {
    pin: Option<ConfiguredPin>,
    wrong_in_a_row: u32,
    lockouts: u32,
    /// The current lockout: when it started and how long it lasts.
    lock: Option<(i64, Duration)>,
}

impl PinGuard {
    pub fn new(pin: Option<ConfiguredPin>) -> Self {
        Self::resumed(pin, LockoutRecord::default())
    }

    /// A guard that carries on from `record` (the state a previous run left).
    pub fn resumed(pin: Option<ConfiguredPin>, record: LockoutRecord) -> Self {
        let lock = match (record.locked_from_ms, record.locked_for_ms) {
            (Some(from_ms), Some(for_ms)) => {
                Some((from_ms, Duration::from_millis(for_ms).min(MAX_LOCKOUT)))
            }
            _ => None,
        };
        Self {
            pin,
            wrong_in_a_row: record.wrong_in_a_row.min(WRONG_PINS_PER_LOCKOUT - 1),
            lockouts: record.lockouts,
            lock,
        }
    }

    /// The state to keep for the next run.
    pub fn record(&self) -> LockoutRecord {
        LockoutRecord {
            wrong_in_a_row: self.wrong_in_a_row,
            lockouts: self.lockouts,
            locked_from_ms: self.lock.map(|(from_ms, _)| from_ms),
            locked_for_ms: self
                .lock
                .map(|(_, lockout)| u64::try_from(lockout.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.pin.is_some()
    }

    /// Why PIN actions are disabled, in words for the technician; `None` when they can run.
    pub fn disabled_reason(&self) -> Option<&'static str> {
        match &self.pin {
            None => Some("no service PIN configured; actions are disabled"),
            Some(ConfiguredPin::TooShort) => Some(TOO_SHORT_MESSAGE),
            Some(ConfiguredPin::Set(_)) => None,
        }
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
        let pin = match &self.pin {
            None => return PinVerdict::NotConfigured,
            Some(ConfiguredPin::TooShort) => return PinVerdict::TooShort,
            Some(ConfiguredPin::Set(pin)) => pin,
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
            self.lock = None;
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
        PinGuard::new(Some(ServicePin::new("471100").unwrap().into()))
    }

    const SECOND: i64 = 1000;

    #[test]
    fn the_right_pin_is_accepted() {
        assert_eq!(guard().check(0, "471100"), PinVerdict::Accepted);
        assert_eq!(guard().check(0, " 471100 "), PinVerdict::Accepted);
    }

    #[test]
    fn near_misses_are_wrong() {
        for attempt in ["", "47110", "4711000", "471101", "000000", "471100\u{0}"] {
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
        assert_eq!(guard.check(0, "471100"), PinVerdict::NotConfigured);
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
            guard.check(10 * SECOND, "471100"),
            PinVerdict::Locked {
                remaining: Duration::from_secs(20)
            }
        );
        assert_eq!(guard.check(30 * SECOND, "471100"), PinVerdict::Accepted);
    }

    #[test]
    fn a_right_pin_resets_the_count_and_the_doubling() {
        let mut guard = guard();
        for _ in 0..3 {
            guard.check(0, "0000");
        }
        assert_eq!(guard.check(30 * SECOND, "471100"), PinVerdict::Accepted);
        guard.check(31 * SECOND, "0000");
        guard.check(31 * SECOND, "0000");
        assert_eq!(guard.check(31 * SECOND, "471100"), PinVerdict::Accepted);
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
            guard.check(0, "471100"),
            PinVerdict::Locked {
                remaining: FIRST_LOCKOUT
            }
        );
        assert_eq!(guard.check(30 * SECOND, "471100"), PinVerdict::Accepted);
    }

    #[test]
    fn the_pin_never_shows_in_debug_output() {
        let pin = ServicePin::new("471100").unwrap();
        assert_eq!(format!("{pin:?}"), "ServicePin(***)");
        assert!(!format!("{:?}", PinGuard::new(Some(pin.into()))).contains("471100"));
    }

    #[test]
    fn untypeable_or_trivial_pins_are_refused_by_the_configuration() {
        assert_eq!(ServicePin::new("123"), Err(PinError::Length));
        assert_eq!(ServicePin::new("12345"), Err(PinError::Length));
        assert_eq!(ServicePin::new("x".repeat(65)), Err(PinError::Length));
        assert_eq!(ServicePin::new(" 123456"), Err(PinError::Characters));
        assert_eq!(ServicePin::new("123\t456"), Err(PinError::Characters));
        assert!(ServicePin::new("café-2024").is_ok());
        for refused in ["\"12\"", "\"123\"", "\" 1234\"", "\"12\\t34\""] {
            let parsed: Result<ConfiguredPin, _> = serde_json::from_str(refused);
            assert!(parsed.is_err(), "{refused}");
        }
    }

    #[test]
    fn a_four_or_five_character_pin_from_an_older_config_loads_but_disables_the_actions() {
        for legacy in ["\"4711\"", "\"47110\""] {
            let pin: ConfiguredPin = serde_json::from_str(legacy).unwrap();
            assert_eq!(pin, ConfiguredPin::TooShort);
            assert!(!format!("{pin:?}").contains("4711"));
            let mut guard = PinGuard::new(Some(pin));
            assert_eq!(guard.disabled_reason(), Some(TOO_SHORT_MESSAGE));
            assert_eq!(guard.check(0, "4711"), PinVerdict::TooShort);
        }
        let pin: ConfiguredPin = serde_json::from_str("\"471100\"").unwrap();
        assert!(pin.is_usable());
        assert_eq!(PinGuard::new(Some(pin)).disabled_reason(), None);
    }

    #[test]
    fn a_guard_resumed_from_its_record_is_still_locked_and_still_counting() {
        let mut before = guard();
        for _ in 0..3 {
            before.check(0, "000000");
        }
        before.check(30 * SECOND, "000000");
        let record = before.record();
        assert_eq!(record.wrong_in_a_row, 1);
        let mut after = PinGuard::resumed(before.pin.clone(), record);
        assert_eq!(after.record(), record);
        after.check(31 * SECOND, "000000");
        assert_eq!(
            after.check(32 * SECOND, "000000"),
            PinVerdict::Wrong {
                lockout: Some(FIRST_LOCKOUT * 2)
            },
            "the count and the doubling carry over"
        );
        let resumed = PinGuard::resumed(after.pin.clone(), after.record());
        assert_eq!(
            resumed.locked_for(42 * SECOND),
            Some(Duration::from_secs(50))
        );
    }
}
