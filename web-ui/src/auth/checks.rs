//! The password checks in flight. One argon2 check costs about 19 MiB and tens of milliseconds,
//! so at most [`CHECKERS`] run at once, on threads of their own (not tokio's blocking pool, whose
//! many threads would each keep an allocator arena the size of a check), with at most one check
//! waiting or running per client address and at most [`QUEUE`] in all; beyond that a sign-in is
//! told to come back later (429 for its address, 503 for the dock). It must never run a check on
//! a runtime worker, never queue without bound, and never let one address take every place.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc},
    time::Duration,
};

use tokio::sync::oneshot;

use super::throttle::Key;

/// Password checks running at once: one per core of a dock.
pub(crate) const CHECKERS: usize = 2;
/// Checks waiting or running, from every address together: room for many addresses, each in
/// its turn (a waiting check holds a few bytes; only `CHECKERS` hold argon2's memory), and at
/// most about a second and a half of checks to wait through.
pub(crate) const QUEUE: usize = 64;
/// Checks waiting or running per client address: one, so addresses take turns.
const PER_ADDRESS: usize = 1;
/// What `Retry-After` says to a sign-in that found no place: a check takes well under a second.
pub(crate) const COME_BACK: Duration = Duration::from_secs(1);

/// Why a check found no place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Busy {
    /// This address already has a check waiting or running (429).
    Address,
    /// The dock's queue is full (503).
    Dock,
}

/// Why an admitted check gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckError {
    Busy(Busy),
    /// The check panicked, or the check threads are gone.
    Broken,
}

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Places {
    total: usize,
    per_address: HashMap<Key, usize>,
}

/// The check threads and their queue.
pub(crate) struct PasswordChecks {
    jobs: mpsc::SyncSender<Job>,
    places: Arc<Mutex<Places>>,
}

/// A place in the queue: held until the check it was taken for has run (or was dropped).
pub(crate) struct Place {
    places: Arc<Mutex<Places>>,
    address: Option<Key>,
}

impl Drop for Place {
    fn drop(&mut self) {
        let mut places = lock(&self.places);
        places.total = places.total.saturating_sub(1);
        if let Some(address) = &self.address
            && let Some(count) = places.per_address.get_mut(address)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                places.per_address.remove(address);
            }
        }
    }
}

impl Default for PasswordChecks {
    fn default() -> Self {
        Self::new(CHECKERS)
    }
}

impl PasswordChecks {
    /// Starts `threads` check threads; they end when this is dropped.
    pub(crate) fn new(threads: usize) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = lock(&queue).recv();
                        match job {
                            Ok(job) => job(),
                            Err(mpsc::RecvError) => break,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "Could not start a password-check thread.");
            }
        }
        PasswordChecks {
            jobs,
            places: Arc::new(Mutex::new(Places::default())),
        }
    }

    /// A place for one check from `client`, or why there is none.
    pub(crate) fn admit(&self, client: Option<IpAddr>) -> Result<Place, Busy> {
        let address = client.map(Key::address);
        let mut places = lock(&self.places);
        if let Some(address) = &address
            && places.per_address.get(address).copied().unwrap_or(0) >= PER_ADDRESS
        {
            return Err(Busy::Address);
        }
        if places.total >= QUEUE {
            return Err(Busy::Dock);
        }
        places.total += 1;
        if let Some(address) = &address {
            *places.per_address.entry(address.clone()).or_insert(0) += 1;
        }
        Ok(Place {
            places: Arc::clone(&self.places),
            address,
        })
    }

    /// Runs `check` on a check thread in its turn, holding `place` until it has run.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        place: Place,
        check: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CheckError> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
            drop(place);
            // Whoever asked may have gone (the client hung up): nothing to tell then.
            let _ = answer.send(outcome.ok());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => return Err(CheckError::Busy(Busy::Dock)),
            Err(mpsc::TrySendError::Disconnected(_)) => return Err(CheckError::Broken),
        }
        match answered.await {
            Ok(Some(value)) => Ok(value),
            Ok(None) | Err(_) => Err(CheckError::Broken),
        }
    }

    #[cfg(test)]
    pub(crate) fn waiting_or_running(&self) -> usize {
        lock(&self.places).total
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counts and the queue stay usable whatever panicked while holding them.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::{
        net::Ipv4Addr,
        sync::atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    fn address(n: u8) -> Option<IpAddr> {
        Some(Ipv4Addr::new(127, 0, 0, n).into())
    }

    #[test]
    fn an_address_gets_one_place_and_the_dock_at_most_the_queue() {
        let checks = PasswordChecks::new(0);
        let first = checks.admit(address(1)).unwrap();
        assert_eq!(checks.admit(address(1)).err(), Some(Busy::Address));
        let mut held = vec![first];
        for n in 2..=u8::try_from(QUEUE).unwrap() {
            held.push(checks.admit(address(n)).unwrap());
        }
        assert_eq!(checks.admit(address(200)).err(), Some(Busy::Dock));
        // A place is given back when its holder is done.
        held.remove(0);
        assert!(checks.admit(address(1)).is_ok());
    }

    #[tokio::test]
    async fn a_flood_never_runs_more_than_the_checkers_at_once_and_every_admitted_check_answers() {
        let checks = Arc::new(PasswordChecks::new(CHECKERS));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut admitted = Vec::new();
        let mut refused = 0;
        for n in 0..60_u8 {
            match checks.admit(address(n % 30)) {
                Ok(place) => {
                    let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                    let checks = Arc::clone(&checks);
                    admitted.push(tokio::spawn(async move {
                        checks
                            .run(place, move || {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(5));
                                running.fetch_sub(1, Ordering::SeqCst);
                                n
                            })
                            .await
                    }));
                }
                Err(_) => refused += 1,
            }
        }
        // One place per address: 30 waiting or running, the other 30 told to come back.
        assert_eq!(admitted.len(), 30);
        assert_eq!(refused, 30);
        for check in admitted {
            assert!(check.await.unwrap().is_ok());
        }
        assert!(most.load(Ordering::SeqCst) <= CHECKERS);
        assert_eq!(checks.waiting_or_running(), 0);
    }

    #[tokio::test]
    async fn a_panicking_check_is_broken_and_gives_its_place_back() {
        let checks = PasswordChecks::new(1);
        let place = checks.admit(address(1)).unwrap();
        let outcome: Result<(), _> = checks.run(place, || panic!("argon2 blew up")).await;
        assert_eq!(outcome.err(), Some(CheckError::Broken));
        assert_eq!(checks.waiting_or_running(), 0);
        // The thread is still there for the next one.
        let place = checks.admit(address(1)).unwrap();
        assert_eq!(checks.run(place, || 7).await.ok(), Some(7));
    }
}
