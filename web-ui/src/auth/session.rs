//! Server-side sessions: who is signed in under which session id, with which CSRF token, and when
//! each session expires (idle timeout and absolute lifetime, on tokio's clock), and the one-shot
//! notice a form left for the next view of its page ([`Flash`]). It owns the ids and tokens, drawn
//! from the operating system's RNG; it must never hand out a predictable id, reuse an id across
//! sign-ins, revive an expired session, print an id or token, or show a notice twice.

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use tokio::time::Instant;

use crate::access::CurrentUser;

/// A session not used for this long ends: a dock page left open over a shift change is signed out.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(8 * 60 * 60);
/// A session ends this long after sign-in, however busy it is.
pub(crate) const ABSOLUTE_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);
/// At most this many sessions at once; starting one more ends the least recently used.
const MAX_SESSIONS: usize = 1024;
/// At most this many sessions per user (phone, desk, tablet…); starting one more ends that user's
/// least recently used, so no one user can push everyone else out of the table.
pub(crate) const MAX_SESSIONS_PER_USER: usize = 8;
/// 256 bits for ids and CSRF tokens alike.
const SECRET_BYTES: usize = 32;

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// What a live session grants a request.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) user: CurrentUser,
    pub(crate) csrf: String,
    /// The user's generation (`access::Standing`) when the session started: a session whose user
    /// has since changed is over.
    pub(crate) generation: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

struct Entry {
    session: Session,
    started: Instant,
    last_used: Instant,
    /// What the last form left for the next view of its page: (page path, summary).
    notice: Option<(&'static str, String)>,
}

impl Entry {
    fn expired(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_used) >= IDLE_TIMEOUT
            || now.saturating_duration_since(self.started) >= ABSOLUTE_LIFETIME
    }
}

/// The session table, in memory: a restart signs everyone out.
#[derive(Default)]
pub(crate) struct Sessions {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    /// Starts a new session for `user` (at generation 0) under a fresh id; returns the id (the
    /// cookie value).
    #[cfg(test)]
    pub(crate) fn start(
        &self,
        user: CurrentUser,
        now: Instant,
    ) -> Result<(String, Session), SessionError> {
        self.start_at(user, 0, now)
    }

    /// Starts a new session for `user`, whose accounts say they are at `generation`, under a
    /// fresh id; returns the id (the cookie value).
    pub(crate) fn start_at(
        &self,
        user: CurrentUser,
        generation: u64,
        now: Instant,
    ) -> Result<(String, Session), SessionError> {
        let id = secret()?;
        let session = Session {
            user,
            csrf: secret()?,
            generation,
        };
        let mut entries = self.lock();
        entries.retain(|_, entry| !entry.expired(now));
        let name = &session.user.name;
        let theirs = entries
            .values()
            .filter(|entry| entry.session.user.name == *name)
            .count();
        let evict = |entries: &HashMap<String, Entry>, whose: Option<&str>| {
            entries
                .iter()
                .filter(|(_, entry)| whose.is_none_or(|name| entry.session.user.name == name))
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(id, _)| id.clone())
        };
        let oldest = if theirs >= MAX_SESSIONS_PER_USER {
            evict(&entries, Some(name))
        } else if entries.len() >= MAX_SESSIONS {
            evict(&entries, None)
        } else {
            None
        };
        if let Some(oldest) = oldest {
            entries.remove(&oldest);
        }
        entries.insert(
            id.clone(),
            Entry {
                session: session.clone(),
                started: now,
                last_used: now,
                notice: None,
            },
        );
        Ok((id, session))
    }

    /// The live session under `id`, marked as used now; `None` (and the session gone) once it
    /// expired.
    pub(crate) fn resume(&self, id: &str, now: Instant) -> Option<Session> {
        if !looks_like_id(id) {
            return None;
        }
        let mut entries = self.lock();
        let entry = entries.get_mut(id)?;
        if entry.expired(now) {
            entries.remove(id);
            return None;
        }
        entry.last_used = now;
        Some(entry.session.clone())
    }

    /// The live session under `id`, without marking it used (a live stream checking that its
    /// session still stands must not keep it from idling out).
    pub(crate) fn peek(&self, id: &str, now: Instant) -> Option<Session> {
        let entries = self.lock();
        entries
            .get(id)
            .filter(|entry| !entry.expired(now))
            .map(|entry| entry.session.clone())
    }

    /// Ends the session under `id`; returns whose it was.
    pub(crate) fn end(&self, id: &str) -> Option<CurrentUser> {
        self.lock().remove(id).map(|entry| entry.session.user)
    }

    /// Ends every session of the user called `name` (after an admin changed their role,
    /// password or access); returns how many there were.
    pub(crate) fn end_user(&self, name: &str) -> usize {
        let mut entries = self.lock();
        let before = entries.len();
        entries.retain(|_, entry| entry.session.user.name != name);
        before - entries.len()
    }

    /// Leaves `text` for the next view of `page` in the session under `id` (replacing any
    /// notice not yet shown); nothing if the session is gone.
    fn leave_notice(&self, id: &str, page: &'static str, text: String) {
        if let Some(entry) = self.lock().get_mut(id) {
            entry.notice = Some((page, text));
        }
    }

    /// Takes the notice the session under `id` holds for `page`, if any: it is shown once.
    fn take_notice(&self, id: &str, page: &str) -> Option<String> {
        let mut entries = self.lock();
        let notice = &mut entries.get_mut(id)?.notice;
        match notice.take() {
            Some((for_page, text)) if for_page == page => Some(text),
            other => {
                *notice = other;
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // The table stays consistent whatever panicked while holding it: every change is one
        // insert or remove.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The signed-in request's way to its session's one-shot notice (a "flash"): a form's handler
/// leaves the daemon's summary here and sends the browser back to the page with nothing in the
/// address; the page's next view takes it, once. So no words a page shows as a confirmation ever
/// come from an address, and a crafted link can show none. Put in the request's extensions by
/// the sign-in check.
#[derive(Clone)]
pub(crate) struct Flash {
    sessions: Arc<Sessions>,
    id: String,
}

impl Flash {
    pub(crate) fn new(sessions: Arc<Sessions>, id: &str) -> Flash {
        Flash {
            sessions,
            id: id.to_owned(),
        }
    }

    /// A session table with one session of its own, for tests that mount a router without the
    /// sign-in check.
    #[cfg(test)]
    pub(crate) fn for_tests(user: CurrentUser) -> Flash {
        let sessions = Arc::new(Sessions::default());
        let (id, _) = sessions
            .start(user, Instant::now())
            .expect("the OS RNG works in tests");
        Flash::new(sessions, &id)
    }

    /// Leaves `text` for the next view of `page`.
    pub(crate) fn leave(&self, page: &'static str, text: String) {
        self.sessions.leave_notice(&self.id, page, text);
    }

    /// The notice left for `page`, taken: the view after this one shows nothing.
    pub(crate) fn take(&self, page: &str) -> Option<String> {
        self.sessions.take_notice(&self.id, page)
    }
}

impl fmt::Debug for Flash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flash").finish_non_exhaustive()
    }
}

/// 256 random bits from the OS, as 64 lowercase hex digits (safe in a cookie, a header and HTML).
fn secret() -> Result<String, SessionError> {
    let mut bytes = [0_u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(SessionError::Random)?;
    Ok(bytes
        .iter()
        .fold(String::with_capacity(2 * SECRET_BYTES), |mut hex, byte| {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
            hex
        }))
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `id` has the shape `secret` gives: anything else is not looked up at all.
pub(crate) fn looks_like_id(id: &str) -> bool {
    id.len() == 2 * SECRET_BYTES && id.bytes().all(|byte| HEX.contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn sam() -> CurrentUser {
        CurrentUser {
            name: "sam".to_owned(),
            role: Role::Supervisor,
        }
    }

    #[test]
    fn ids_and_tokens_are_256_random_bits_and_never_repeat() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (first, one) = sessions.start(sam(), now).unwrap();
        let (second, two) = sessions.start(sam(), now).unwrap();
        assert!(looks_like_id(&first) && looks_like_id(&one.csrf));
        assert_ne!(first, second);
        assert_ne!(one.csrf, two.csrf);
        assert_ne!(first, one.csrf);
    }

    #[test]
    fn a_session_resumes_until_it_is_ended() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let (id, session) = sessions.start(sam(), now).unwrap();
        assert_eq!(sessions.resume(&id, now), Some(session));
        assert_eq!(sessions.end(&id), Some(sam()));
        assert_eq!(sessions.resume(&id, now), None);
    }

    #[test]
    fn a_session_idle_for_the_timeout_ends_and_use_keeps_it_alive_until_its_lifetime() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let (idle, _) = sessions.start(sam(), start).unwrap();
        let (busy, _) = sessions.start(sam(), start).unwrap();
        let almost = IDLE_TIMEOUT - Duration::from_secs(1);
        assert!(sessions.resume(&busy, start + almost).is_some());
        assert!(sessions.resume(&idle, start + IDLE_TIMEOUT).is_none());
        // Used every 7 h 59 min 59 s, it still ends 24 h after sign-in.
        let mut at = start + almost;
        while at + almost < start + ABSOLUTE_LIFETIME {
            at += almost;
            assert!(sessions.resume(&busy, at).is_some());
        }
        assert!(sessions.resume(&busy, start + ABSOLUTE_LIFETIME).is_none());
        // An expired session does not come back.
        assert!(sessions.resume(&busy, start).is_none());
    }

    #[test]
    fn ending_a_users_sessions_ends_all_of_theirs_and_nobody_elses() {
        let sessions = Sessions::default();
        let now = Instant::now();
        let ada = CurrentUser {
            name: "ada".to_owned(),
            role: Role::Admin,
        };
        let (phone, _) = sessions.start(sam(), now).unwrap();
        let (desk, _) = sessions.start(sam(), now).unwrap();
        let (other, _) = sessions.start(ada, now).unwrap();
        assert_eq!(sessions.end_user("sam"), 2);
        assert!(sessions.resume(&phone, now).is_none());
        assert!(sessions.resume(&desk, now).is_none());
        assert!(sessions.resume(&other, now).is_some());
        assert_eq!(sessions.end_user("sam"), 0);
        // A name is matched whole, never as a prefix.
        assert_eq!(sessions.end_user("ad"), 0);
        assert!(sessions.resume(&other, now).is_some());
    }

    #[test]
    fn ids_of_the_wrong_shape_are_not_looked_up() {
        assert!(!looks_like_id(""));
        assert!(!looks_like_id(&"A".repeat(64)));
        assert!(!looks_like_id(&"a".repeat(63)));
        assert!(looks_like_id(&"a".repeat(64)));
    }

    #[test]
    fn the_session_table_is_bounded_and_drops_the_least_recently_used() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let someone = |n: usize| CurrentUser {
            name: format!("user{n}"),
            role: Role::Supervisor,
        };
        let (oldest, _) = sessions.start(sam(), start).unwrap();
        let (used, _) = sessions.start(sam(), start).unwrap();
        for n in 0..MAX_SESSIONS - 2 {
            let at = start + Duration::from_millis(u64::try_from(n).unwrap() + 1);
            sessions.start(someone(n), at).unwrap();
        }
        let later = start + Duration::from_secs(60);
        assert!(sessions.resume(&used, later).is_some());
        sessions.start(someone(0), later).unwrap();
        assert!(sessions.resume(&oldest, later).is_none());
        assert!(sessions.resume(&used, later).is_some());
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
    }

    #[test]
    fn a_thousand_sign_ins_of_one_user_end_only_their_own_oldest_sessions() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let ada = CurrentUser {
            name: "ada".to_owned(),
            role: Role::Admin,
        };
        let (others, _) = sessions.start(ada, start).unwrap();
        let mut sams = Vec::new();
        for n in 0..1024_u64 {
            let at = start + Duration::from_millis(n + 1);
            sams.push(sessions.start(sam(), at).unwrap().0);
        }
        let later = start + Duration::from_secs(60);
        assert!(sessions.resume(&others, later).is_some(), "ada keeps hers");
        let live: Vec<_> = sams
            .iter()
            .filter(|id| sessions.peek(id, later).is_some())
            .collect();
        assert_eq!(live.len(), MAX_SESSIONS_PER_USER);
        assert_eq!(live, sams.iter().rev().take(8).rev().collect::<Vec<_>>());
    }

    #[test]
    fn peeking_at_a_session_does_not_keep_it_alive() {
        let sessions = Sessions::default();
        let start = Instant::now();
        let (id, _) = sessions.start(sam(), start).unwrap();
        let almost = start + IDLE_TIMEOUT - Duration::from_secs(1);
        assert!(sessions.peek(&id, almost).is_some());
        assert!(sessions.peek(&id, start + IDLE_TIMEOUT).is_none());
    }

    #[test]
    fn a_notice_is_shown_once_and_only_on_its_own_page_and_session() {
        let sessions = Arc::new(Sessions::default());
        let now = Instant::now();
        let (mine, _) = sessions.start(sam(), now).unwrap();
        let (other, _) = sessions.start(sam(), now).unwrap();
        let flash = Flash::new(Arc::clone(&sessions), &mine);
        flash.leave("/roster", "worker 40 added".to_owned());
        assert_eq!(
            Flash::new(Arc::clone(&sessions), &other).take("/roster"),
            None
        );
        assert_eq!(flash.take("/settings"), None);
        assert_eq!(flash.take("/roster").as_deref(), Some("worker 40 added"));
        assert_eq!(flash.take("/roster"), None);
        // A newer notice replaces one not yet shown; an ended session keeps none.
        flash.leave("/roster", "first".to_owned());
        flash.leave("/settings", "second".to_owned());
        assert_eq!(flash.take("/roster"), None);
        assert_eq!(flash.take("/settings").as_deref(), Some("second"));
        flash.leave("/roster", "gone".to_owned());
        sessions.end(&mine);
        assert_eq!(flash.take("/roster"), None);
        assert!(!format!("{flash:?}").contains(&mine));
    }

    #[test]
    fn debug_output_never_shows_the_csrf_token() {
        let (_, session) = Sessions::default().start(sam(), Instant::now()).unwrap();
        assert!(!format!("{session:?}").contains(&session.csrf));
    }
}
