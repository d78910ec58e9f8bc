//! Refused sign-ins in the audit trail, coalesced: at most one line per client address per
//! minute, carrying how many more were refused in the minute before, so a flood of guesses cannot
//! fill the dock's disk with audit lines. It owns the per-address minute windows; it must never
//! record a password, nor a typed user name that is not a user (that is often a password typed
//! into the wrong field), and never grow without bound.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

use super::throttle::Key;

/// One audit line per address per this long.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);
/// At most this many addresses are remembered; beyond it the stalest window is forgotten.
const MAX_ADDRESSES: usize = 10_000;
/// What the audit trail says instead of a typed name that is no user's.
pub(crate) const UNKNOWN_USER: &str = "unknown user";

struct Window {
    opened: Instant,
    /// Refusals after the recorded one, not yet in any line.
    more: u64,
}

/// The refusal windows, one per client address (`None`: served without addresses).
#[derive(Default)]
pub(crate) struct Refusals {
    windows: Mutex<HashMap<Option<Key>, Window>>,
}

impl Refusals {
    /// Counts one refused sign-in from `client`. Returns `Some(earlier)` when it opens a new minute
    /// for that address and so gets an audit line, `earlier` being the refusals of the minute
    /// before that had none; `None` when the address already had its line this minute.
    pub(crate) fn note(&self, client: Option<IpAddr>, now: Instant) -> Option<u64> {
        let key = client.map(Key::address);
        let mut windows = self.lock();
        if let Some(window) = windows.get_mut(&key) {
            if now.saturating_duration_since(window.opened) < WINDOW {
                window.more = window.more.saturating_add(1);
                return None;
            }
            let earlier = window.more;
            *window = Window {
                opened: now,
                more: 0,
            };
            return Some(earlier);
        }
        if windows.len() >= MAX_ADDRESSES {
            windows.retain(|_, window| now.saturating_duration_since(window.opened) < WINDOW);
            if windows.len() >= MAX_ADDRESSES
                && let Some(stalest) = windows
                    .iter()
                    .min_by_key(|(_, window)| window.opened)
                    .map(|(key, _)| key.clone())
            {
                windows.remove(&stalest);
            }
        }
        windows.insert(
            key,
            Window {
                opened: now,
                more: 0,
            },
        );
        Some(0)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Option<Key>, Window>> {
        self.windows.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The audit subject of a refused sign-in's line.
pub(crate) fn subject(earlier: u64) -> String {
    match earlier {
        0 => "session".to_owned(),
        1 => "session (and 1 more refused in the minute before)".to_owned(),
        n => format!("session (and {n} more refused in the minute before)"),
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn an_address_gets_one_line_a_minute_and_the_next_line_counts_the_rest() {
        let refusals = Refusals::default();
        let here = Some(Ipv4Addr::new(127, 0, 0, 9).into());
        let there = Some(Ipv4Addr::new(127, 0, 0, 10).into());
        let start = Instant::now();
        assert_eq!(refusals.note(here, start), Some(0));
        for n in 0..500 {
            assert_eq!(refusals.note(here, start + Duration::from_millis(n)), None);
        }
        assert_eq!(refusals.note(there, start), Some(0));
        assert_eq!(refusals.note(here, start + WINDOW), Some(500));
        assert_eq!(refusals.note(here, start + 3 * WINDOW), Some(0));
        assert_eq!(
            subject(500),
            "session (and 500 more refused in the minute before)"
        );
    }

    #[test]
    fn the_windows_are_bounded() {
        let refusals = Refusals::default();
        let now = Instant::now();
        for n in 0..MAX_ADDRESSES + 10 {
            let address = Ipv4Addr::from(u32::try_from(n).unwrap());
            refusals.note(Some(address.into()), now);
        }
        assert_eq!(refusals.lock().len(), MAX_ADDRESSES);
    }
}
