//! Sign-in rate limiting: exponential backoff per user name and per client address, on tokio's
//! clock. It must never lock anyone out for good (the wait is capped and forgotten after a quiet
//! spell), never let parallel guesses slip past the count (an attempt counts when it starts), and
//! never grow without bound.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

/// Attempts per user name before each further one has to wait.
pub(crate) const FREE_ATTEMPTS_PER_USER: u32 = 5;
/// Attempts per client address before each further one has to wait: higher, since a site may
/// sign in many people from one tablet or behind one router.
pub(crate) const FREE_ATTEMPTS_PER_ADDRESS: u32 = 20;
/// The first wait; each further failed attempt doubles it…
pub(crate) const FIRST_WAIT: Duration = Duration::from_secs(1);
/// …up to this, so the owner of a hammered account can always get in within a minute.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(60);
/// After this long without an attempt, the count starts again from zero.
pub(crate) const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// At most this many names and addresses are tracked; beyond it the stalest one is forgotten.
const MAX_ENTRIES: usize = 10_000;
/// Longer names are cut for the key (the login handlers refuse much longer ones anyway).
const MAX_KEY_NAME: usize = 128;

/// What attempts are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A user name, case-folded: `Admin` and `admin` share one count.
    User(String),
    /// A client address; IPv6 addresses by their /64 network (one host's usual share).
    Address(IpAddr),
}

impl Key {
    pub(crate) fn user(name: &str) -> Key {
        Key::User(
            name.chars()
                .take(MAX_KEY_NAME)
                .flat_map(char::to_lowercase)
                .collect(),
        )
    }

    pub(crate) fn address(address: IpAddr) -> Key {
        Key::Address(match address {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
            },
        })
    }

    fn free_attempts(&self) -> u32 {
        match self {
            Key::User(_) => FREE_ATTEMPTS_PER_USER,
            Key::Address(_) => FREE_ATTEMPTS_PER_ADDRESS,
        }
    }
}

struct Entry {
    /// Attempts since the count last started, including ones still being checked.
    attempts: u32,
    /// No attempt before this.
    open_at: Instant,
    last_attempt: Instant,
}

impl Entry {
    fn stale(&self, now: Instant) -> bool {
        self.open_at <= now && now.saturating_duration_since(self.last_attempt) >= FORGET_AFTER
    }
}

/// An attempt let through and counted; tell the throttle if it succeeded.
#[derive(Debug)]
#[must_use = "a successful attempt must be reported with `Throttle::succeeded`"]
pub(crate) struct Attempt {
    keys: Vec<Key>,
}

/// The failure counts.
#[derive(Default)]
pub(crate) struct Throttle {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl Throttle {
    /// Lets an attempt against `keys` through and counts it, or says how long to wait first.
    /// A refused attempt is not counted: hammering a waiting account does not lengthen the wait.
    pub(crate) fn begin(&self, keys: Vec<Key>, now: Instant) -> Result<Attempt, Duration> {
        let mut entries = self.lock();
        let wait = keys
            .iter()
            .filter_map(|key| entries.get(key))
            .filter(|entry| !entry.stale(now))
            .map(|entry| entry.open_at.saturating_duration_since(now))
            .max()
            .unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in &keys {
            if !entries.contains_key(key) && entries.len() >= MAX_ENTRIES {
                make_room(&mut entries, now);
            }
            let entry = entries.entry(key.clone()).or_insert(Entry {
                attempts: 0,
                open_at: now,
                last_attempt: now,
            });
            if entry.stale(now) {
                entry.attempts = 0;
            }
            entry.attempts = entry.attempts.saturating_add(1);
            entry.last_attempt = now;
            entry.open_at = now + wait_after(entry.attempts, key.free_attempts());
        }
        Ok(Attempt { keys })
    }

    /// The attempt signed in: the user's count starts again; the address gets this attempt back.
    pub(crate) fn succeeded(&self, attempt: Attempt, now: Instant) {
        let mut entries = self.lock();
        for key in attempt.keys {
            match key {
                Key::User(_) => {
                    entries.remove(&key);
                }
                Key::Address(_) => {
                    if let Some(entry) = entries.get_mut(&key) {
                        entry.attempts = entry.attempts.saturating_sub(1);
                        if entry.attempts < key.free_attempts() {
                            entry.open_at = now;
                        }
                    }
                }
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Key, Entry>> {
        // Counts stay usable whatever panicked while holding them.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The wait after the `attempts`-th attempt: none within the free attempts, then 1 s, 2 s, 4 s…
/// up to `MAX_WAIT`.
pub(crate) fn wait_after(attempts: u32, free: u32) -> Duration {
    match attempts.checked_sub(free) {
        None => Duration::ZERO,
        Some(over) => FIRST_WAIT
            .checked_mul(2_u32.saturating_pow(over))
            .map_or(MAX_WAIT, |wait| wait.min(MAX_WAIT)),
    }
}

/// Forgets stale entries, or if none is stale, the one whose last attempt is oldest.
fn make_room(entries: &mut HashMap<Key, Entry>, now: Instant) {
    entries.retain(|_, entry| !entry.stale(now));
    if entries.len() >= MAX_ENTRIES
        && let Some(oldest) = entries
            .iter()
            .min_by_key(|(_, entry)| entry.last_attempt)
            .map(|(key, _)| key.clone())
    {
        entries.remove(&oldest);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn admin() -> Vec<Key> {
        vec![Key::user("admin")]
    }

    /// Fails `times` attempts in a row at `now`, each let through.
    fn fail(throttle: &Throttle, keys: &[Key], times: u32, now: Instant) {
        for n in 0..times {
            assert!(throttle.begin(keys.to_vec(), now).is_ok(), "attempt {n}");
        }
    }

    #[test]
    fn waits_double_from_one_second_after_five_attempts_and_stop_at_a_minute() {
        let waits: Vec<u64> = (1..=13)
            .map(|attempts| wait_after(attempts, FREE_ATTEMPTS_PER_USER).as_secs())
            .collect();
        assert_eq!(waits, [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(wait_after(u32::MAX, 5), MAX_WAIT);
    }

    #[test]
    fn five_failures_make_the_next_attempt_wait_and_a_refused_attempt_does_not_lengthen_it() {
        let throttle = Throttle::default();
        let now = Instant::now();
        fail(&throttle, &admin(), 5, now);
        assert_eq!(throttle.begin(admin(), now).unwrap_err(), FIRST_WAIT);
        let half = now + Duration::from_millis(500);
        assert_eq!(
            throttle.begin(admin(), half).unwrap_err(),
            Duration::from_millis(500)
        );
        let open = now + FIRST_WAIT;
        assert!(throttle.begin(admin(), open).is_ok());
        assert_eq!(throttle.begin(admin(), open).unwrap_err(), 2 * FIRST_WAIT);
    }

    #[test]
    fn a_success_starts_the_users_count_again() {
        let throttle = Throttle::default();
        let now = Instant::now();
        fail(&throttle, &admin(), 4, now);
        let attempt = throttle.begin(admin(), now).unwrap();
        throttle.succeeded(attempt, now);
        fail(&throttle, &admin(), 4, now);
    }

    #[test]
    fn the_count_is_per_user_name_whatever_its_case() {
        let throttle = Throttle::default();
        let now = Instant::now();
        fail(&throttle, &[Key::user("Admin")], 5, now);
        assert!(throttle.begin(vec![Key::user("ADMIN")], now).is_err());
        assert!(throttle.begin(vec![Key::user("sam")], now).is_ok());
    }

    #[test]
    fn an_address_trying_many_names_waits_too_and_its_own_success_gives_one_attempt_back() {
        let throttle = Throttle::default();
        let now = Instant::now();
        let address = Key::address(Ipv4Addr::new(192, 168, 1, 9).into());
        for n in 0..FREE_ATTEMPTS_PER_ADDRESS - 1 {
            let keys = vec![Key::user(&format!("user{n}")), address.clone()];
            assert!(throttle.begin(keys, now).is_ok());
        }
        let last = throttle
            .begin(vec![Key::user("sam"), address.clone()], now)
            .unwrap();
        throttle.succeeded(last, now);
        let keys = vec![Key::user("tina"), address.clone()];
        assert!(throttle.begin(keys.clone(), now).is_ok());
        assert_eq!(throttle.begin(keys, now).unwrap_err(), FIRST_WAIT);
    }

    #[test]
    fn a_quiet_spell_forgets_the_count_so_nothing_locks_for_good() {
        let throttle = Throttle::default();
        let now = Instant::now();
        // Twenty failures, each as soon as it is let through.
        let mut at = now;
        for _ in 0..20 {
            if let Err(wait) = throttle.begin(admin(), at) {
                at += wait;
                assert!(throttle.begin(admin(), at).is_ok());
            }
        }
        // Even then the wait is at most a minute…
        assert_eq!(throttle.begin(admin(), at).unwrap_err(), MAX_WAIT);
        assert!(throttle.begin(admin(), at + MAX_WAIT).is_ok());
        // …and after a quiet spell the count starts from zero.
        let later = at + MAX_WAIT + FORGET_AFTER;
        fail(&throttle, &admin(), 4, later);
    }

    #[test]
    fn ipv6_addresses_share_a_count_per_64_network_and_mapped_ipv4_is_ipv4() {
        let one: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let two: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Key::address(one.into()), Key::address(two.into()));
        assert_ne!(Key::address(one.into()), Key::address(other.into()));
        let mapped = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped();
        assert_eq!(
            Key::address(mapped.into()),
            Key::address(Ipv4Addr::new(10, 0, 0, 1).into())
        );
    }

    #[test]
    fn the_table_is_bounded() {
        let throttle = Throttle::default();
        let now = Instant::now();
        for n in 0..MAX_ENTRIES + 10 {
            let _ = throttle.begin(vec![Key::user(&format!("u{n}"))], now);
        }
        assert_eq!(throttle.lock().len(), MAX_ENTRIES);
    }
}
