//! The page's user accounts and audit trail, over the store: password hashing (argon2id),
//! sign-in checks for `web_ui::access::Accounts`, the audit queue behind `web_ui::access::AuditLog`,
//! and the first admin a new dock gets. It owns how passwords are hashed and checked; it must
//! never store, log or return a password — only the one-time first-admin password leaves it, once,
//! to be shown to whoever started the dock.

use std::sync::Arc;

use std::cell::RefCell;

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::Output;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use web_ui::access::{Accounts, AuditLog, CurrentUser, Recording, Standing};

use crate::clock::Clock;
use crate::role::Role;
use crate::store::{AuditEntry, NewUser, Reader, StoreError, Writer};

/// The user a new dock gets.
pub const FIRST_ADMIN: &str = "admin";
/// Audit lines waiting for the writer; when it is full, whoever records the next line waits for
/// room (back-pressure): a line is never dropped.
const AUDIT_QUEUE: usize = 4096;
/// At most this many audit lines go to the writer in one command.
const AUDIT_BATCH: usize = 256;

/// Why an account could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A new password breaks `web_ui::rules::password`: its words, the same as the page's.
    #[error("{0}")]
    BadPassword(&'static str),
    /// A new user name breaks `web_ui::rules::user_name`: its words, the same as the page's.
    #[error("{0}")]
    BadName(&'static str),
    #[error("`{0}` is not a role: use admin, supervisor or technician")]
    BadRole(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane): about 20-40 ms on a
/// dock's CPU, which is the point.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes a password into an argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

thread_local! {
    /// argon2's working memory (19 MiB at the default cost), kept by each thread that checks
    /// passwords and reused: a fresh allocation per check left the allocator's arenas holding
    /// hundreds of megabytes after a burst of sign-ins. Only web-ui's few password-check threads
    /// (and the start-up thread making the decoy) ever hold it.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

#[cfg(test)]
thread_local! {
    /// The argon2 computations this thread ran, for the tests' count of the work a sign-in does.
    static ARGON2_RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Whether `password` matches the PHC string `hash`, computed in this thread's reused argon2
/// memory; the outputs are compared in constant time.
pub fn password_matches(password: &str, hash: &str) -> bool {
    let Ok(phc) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = phc.version.map(Version::try_from).transpose() else {
        return false;
    };
    let blocks_needed = params.block_count();
    #[cfg(test)]
    ARGON2_RUNS.with(|runs| runs.set(runs.get() + 1));
    let argon2 = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0_u8; expected.len()];
    let hashed = BLOCKS.with_borrow_mut(|blocks| {
        blocks.resize(blocks_needed, Block::new());
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..])
    });
    hashed.is_ok() && Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// A role as the command line and the database spell it.
pub fn parse_role(text: &str) -> Result<Role, AccountError> {
    Role::parse(text).ok_or_else(|| AccountError::BadRole(text.to_owned()))
}

/// The page's role of a stored user (the one place, with `views`, where the two meet).
impl From<Role> for web_ui::access::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Admin => web_ui::access::Role::Admin,
            Role::Supervisor => web_ui::access::Role::Supervisor,
            Role::Technician => web_ui::access::Role::Technician,
        }
    }
}

/// The stored role of a role chosen on the page or the command line.
impl From<web_ui::access::Role> for Role {
    fn from(role: web_ui::access::Role) -> Self {
        match role {
            web_ui::access::Role::Admin => Role::Admin,
            web_ui::access::Role::Supervisor => Role::Supervisor,
            web_ui::access::Role::Technician => Role::Technician,
        }
    }
}

/// Checks the name and password and hashes the password: a row ready for [`Writer::put_user`].
/// Slow (argon2): call it off the async runtime.
pub fn new_user(
    name: &str,
    role: impl Into<Role>,
    password: &str,
    now_ms: i64,
) -> Result<NewUser, AccountError> {
    // The rule for new names: `dockd user add` for an account named under the old 64-character
    // rule is refused, but the account itself still loads and signs in.
    web_ui::rules::user_name(name).map_err(AccountError::BadName)?;
    Ok(NewUser {
        name: name.to_owned(),
        role: role.into(),
        password_hash: new_password_hash(password)?,
        created_ms: now_ms,
        enable: false,
    })
}

/// Checks a new password's length and hashes it. Slow (argon2): call it off the async runtime.
pub fn new_password_hash(password: &str) -> Result<String, AccountError> {
    web_ui::rules::password(password).map_err(AccountError::BadPassword)?;
    hash_password(password)
}

/// A random password from the OS RNG: 24 characters from 56 unambiguous letters and digits
/// (about 139 bits), in groups of four joined by dashes for reading aloud.
pub fn random_password() -> Result<String, AccountError> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const CHARS: usize = 24;
    // Bytes at or above the largest multiple of the alphabet's size are dropped, so every
    // character is equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut chars = Vec::with_capacity(CHARS);
    while chars.len() < CHARS {
        let mut bytes = [0u8; 64];
        getrandom::fill(&mut bytes).map_err(|e| AccountError::Random(e.to_string()))?;
        for byte in bytes {
            if usize::from(byte) < limit && chars.len() < CHARS {
                let index = usize::from(byte) % ALPHABET.len();
                chars.extend(ALPHABET.get(index).map(|&c| char::from(c)));
            }
        }
    }
    Ok(chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// Sign-in checks over the stored users.
pub struct DockAccounts {
    reader: Reader,
    /// A hash of a random password: unknown and disabled users are checked against it, so a
    /// sign-in takes as long whether or not the name exists.
    decoy: String,
}

impl DockAccounts {
    /// Slow (one argon2 hash): call it off the async runtime.
    pub fn new(reader: Reader) -> Result<Self, AccountError> {
        Ok(Self {
            reader,
            decoy: hash_password(&random_password()?)?,
        })
    }
}

impl Accounts for DockAccounts {
    fn verify(&self, username: &str, password: &str) -> Option<CurrentUser> {
        let user = match self.reader.user(username) {
            Ok(user) => user.filter(|u| !u.disabled),
            Err(error) => {
                tracing::error!(error = %error, "Cannot look up a user; refusing the sign-in.");
                None
            }
        };
        match user {
            Some(user) if password_matches(password, &user.password_hash) => Some(CurrentUser {
                name: user.name,
                role: user.role.into(),
            }),
            Some(_) => None,
            None => {
                // Same work as a real check; the answer is thrown away.
                let _ = password_matches(password, &self.decoy);
                None
            }
        }
    }

    fn standing(&self, username: &str) -> Option<Standing> {
        match self.reader.user(username) {
            Ok(user) => user.map(|user| Standing {
                role: user.role.into(),
                generation: user.generation,
                disabled: user.disabled,
            }),
            Err(error) => {
                // Refusing is the safe side: the session ends, the user signs in again.
                tracing::error!(error = %error, "Cannot look up a user; ending the session.");
                None
            }
        }
    }
}

/// The audit trail as the page sees it: each line is stamped with the dock's clock and queued
/// for the writer; when the queue is full, recording waits for room.
pub struct DockAudit {
    queue: mpsc::Sender<AuditEntry>,
    clock: Arc<dyn Clock>,
}

impl DockAudit {
    /// The audit handle, and the task that hands its lines to `writer` until `shutdown` (then it
    /// writes what is queued and ends, letting the writer close).
    pub fn spawn(
        writer: Writer,
        clock: Arc<dyn Clock>,
        shutdown: CancellationToken,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (queue, lines) = mpsc::channel(AUDIT_QUEUE);
        let forwarder = crate::store::queue::forward_batches(
            lines,
            AUDIT_BATCH,
            "audit lines",
            shutdown,
            move |batch| {
                let writer = writer.clone();
                async move { writer.audit(batch).await }
            },
        );
        (Self { queue, clock }, forwarder)
    }
}

impl AuditLog for DockAudit {
    fn record<'a>(&'a self, user: &'a str, action: &'a str, subject: &'a str) -> Recording<'a> {
        let entry = AuditEntry {
            at_ms: self.clock.now_ms(),
            user: user.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
        };
        Box::pin(async move {
            if let Err(mpsc::error::SendError(entry)) = self.queue.send(entry).await {
                tracing::warn!(
                    user = %entry.user, action = %entry.action, subject = %entry.subject,
                    "dockd is stopping: this audit line was not stored."
                );
            }
        })
    }
}

/// If the dock has no enabled admin, makes `admin` one with a random password and returns that
/// password (to be shown once); `None` if there is an admin already.
pub async fn ensure_first_admin(
    reader: &Reader,
    writer: &Writer,
    now_ms: i64,
) -> Result<Option<String>, AccountError> {
    let lookup = reader.clone();
    let admins = tokio::task::spawn_blocking(move || lookup.admin_count())
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    if admins > 0 {
        return Ok(None);
    }
    let (user, password) = tokio::task::spawn_blocking(move || {
        let password = random_password()?;
        let user = new_user(FIRST_ADMIN, Role::Admin, &password, now_ms)?;
        Ok::<_, AccountError>((user, password))
    })
    .await
    .map_err(|e| AccountError::Hash(e.to_string()))??;
    writer.put_user(user).await?;
    Ok(Some(password))
}

/// Who the audit trail names for changes made with `dockd user add`.
pub const COMMAND_LINE: &str = "dockd user add";

/// `dockd user add`: creates the user, or gives an existing one this role and password, on
/// `writer` — the daemon's, asked through its control socket, or one of the command's own when no
/// daemon runs (`control::commands`). A changed user's sessions end at once (their generation
/// moves on, and the daemon checks it on every request); a disabled user stays disabled unless
/// `enable`. The change is recorded in the audit trail, `route` appended to its subject (how the
/// command reached the store; empty when it opened the database itself).
pub async fn user_add(
    writer: &Writer,
    user: NewUser,
    enable: bool,
    route: &str,
) -> Result<(), StoreError> {
    let subject = format!(
        "user {}: role {}, password set{}{route}",
        user.name,
        user.role.as_str(),
        if enable { ", enabled" } else { "" }
    );
    let at_ms = user.created_ms;
    writer.put_user(NewUser { enable, ..user }).await?;
    let line = AuditEntry {
        at_ms,
        user: COMMAND_LINE.to_owned(),
        action: "change".to_owned(),
        subject,
    };
    writer.audit(vec![line]).await
}

/// Creates or replaces one user in the database at `db_path` through a writer of its own (for
/// the demo; the daemon may be running).
pub async fn put_user_in(db: &crate::store::Database, user: NewUser) -> Result<(), AccountError> {
    with_own_writer(db, |writer| async move { writer.put_user(user).await }).await
}

/// Runs `work` against a writer of its own (`store::with_own_writer`).
async fn with_own_writer<F>(
    db: &crate::store::Database,
    work: impl FnOnce(Writer) -> F,
) -> Result<(), AccountError>
where
    F: Future<Output = Result<(), StoreError>>,
{
    Ok(crate::store::with_own_writer(db, work).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedClock;
    impl Clock for FixedClock {
        fn now_ms(&self) -> i64 {
            42
        }
    }

    fn temp_db(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("dockd-accounts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = dir.join("dockd.db");
        (dir, db)
    }

    #[test]
    fn a_hash_is_argon2id_and_checks_only_the_right_password() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse batterY", &hash));
        assert!(!password_matches("correct horse battery", "not a hash"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn random_passwords_are_long_unambiguous_and_different() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 29, "{a}");
        assert_eq!(a.chars().filter(|c| *c != '-').count(), 24);
        assert!(!a.contains(['0', 'O', '1', 'l', 'I']), "{a}");
    }

    #[test]
    fn short_passwords_and_odd_names_are_refused() {
        assert!(matches!(
            new_user("anna", Role::Admin, "short", 0),
            Err(AccountError::BadPassword(_))
        ));
        assert!(matches!(
            new_user("anna smith", Role::Admin, "long enough password", 0),
            Err(AccountError::BadName(_))
        ));
        assert!(matches!(
            new_user("", Role::Admin, "long enough password", 0),
            Err(AccountError::BadName(_))
        ));
        assert!(matches!(parse_role("root"), Err(AccountError::BadRole(_))));
        assert_eq!(parse_role("technician").unwrap(), Role::Technician);
    }

    #[test]
    fn a_name_or_password_the_page_refuses_is_refused_here_in_the_pages_words() {
        let name = "a".repeat(40);
        let refused = new_user(&name, Role::Admin, "long enough password", 0).unwrap_err();
        assert_eq!(refused.to_string(), web_ui::rules::USER_NAME_WORDS);
        assert!(!refused.to_string().contains(&name));
        let refused = new_user("anna", Role::Admin, &"p".repeat(257), 0).unwrap_err();
        assert_eq!(refused.to_string(), web_ui::rules::PASSWORD_LONG_WORDS);
        let refused = new_password_hash("eleven-char").unwrap_err();
        assert_eq!(refused.to_string(), web_ui::rules::PASSWORD_SHORT_WORDS);
        assert!(new_user("anna@site", Role::Admin, "long enough password", 0).is_ok());
    }

    #[tokio::test]
    async fn a_stored_user_signs_in_with_the_right_password_only() {
        let (dir, db) = temp_db("verify");
        let user = new_user("anna", Role::Supervisor, "a long pass phrase", 7).unwrap();
        put_user_in(&crate::store::Database::for_tests(&db), user)
            .await
            .unwrap();
        let accounts =
            DockAccounts::new(Reader::open(&crate::store::Database::for_tests(&db)).unwrap())
                .unwrap();
        assert_eq!(
            accounts.verify("anna", "a long pass phrase"),
            Some(CurrentUser {
                name: "anna".into(),
                role: web_ui::access::Role::Supervisor
            })
        );
        assert_eq!(accounts.verify("anna", "a long pass phrasE"), None);
        assert_eq!(accounts.verify("bert", "a long pass phrase"), None);
        assert_eq!(accounts.verify("", ""), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_disabled_user_is_refused_even_with_the_right_password() {
        let (dir, db) = temp_db("disabled");
        let (writer, thread) = Writer::spawn(
            crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap(),
            crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap(),
        )
        .unwrap();
        let user = new_user("anna", Role::Supervisor, "a long pass phrase", 7).unwrap();
        writer.put_user(user).await.unwrap();
        let accounts =
            DockAccounts::new(Reader::open(&crate::store::Database::for_tests(&db)).unwrap())
                .unwrap();
        assert!(accounts.verify("anna", "a long pass phrase").is_some());

        let disable = |disabled| crate::store::accounts::UserChange::SetDisabled {
            name: "anna".into(),
            disabled,
        };
        writer.user(disable(true)).await.unwrap();
        assert_eq!(accounts.verify("anna", "a long pass phrase"), None);
        writer.user(disable(false)).await.unwrap();
        assert!(accounts.verify("anna", "a long pass phrase").is_some());
        drop(writer);
        thread.join();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unknown_user_costs_the_same_argon2_work_as_a_wrong_password() {
        let (dir, db) = temp_db("timing");
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let user = new_user("anna", Role::Admin, "a long pass phrase", 7).unwrap();
        let stored_hash = user.password_hash.clone();
        runtime
            .block_on(put_user_in(&crate::store::Database::for_tests(&db), user))
            .unwrap();
        let accounts =
            DockAccounts::new(Reader::open(&crate::store::Database::for_tests(&db)).unwrap())
                .unwrap();
        // Counted, not timed: each try runs one full argon2 computation, with the same
        // parameters (memory, passes, lanes) for the decoy as for a real user's hash.
        let runs = |name: &str| {
            let before = ARGON2_RUNS.with(std::cell::Cell::get);
            for _ in 0..3 {
                assert!(accounts.verify(name, "wrong password!").is_none());
            }
            ARGON2_RUNS.with(std::cell::Cell::get) - before
        };
        assert_eq!((runs("anna"), runs("nobody")), (3, 3));
        let params = |hash: &str| {
            let phc = PasswordHash::new(hash).unwrap();
            (phc.algorithm.to_string(), Params::try_from(&phc).unwrap())
        };
        assert_eq!(params(&accounts.decoy), params(&stored_hash));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_new_dock_gets_one_admin_with_a_one_time_password_and_only_once() {
        let (dir, db) = temp_db("first");
        let conn = crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        let spare =
            crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        let (writer, thread) = Writer::spawn(conn, spare).unwrap();
        let reader = Reader::open(&crate::store::Database::for_tests(&db)).unwrap();
        let password = ensure_first_admin(&reader, &writer, 5)
            .await
            .unwrap()
            .unwrap();
        assert!(password.len() >= 20);
        assert_eq!(ensure_first_admin(&reader, &writer, 6).await.unwrap(), None);
        let admin = reader.user(FIRST_ADMIN).unwrap().unwrap();
        assert_eq!(admin.role, Role::Admin);
        assert!(admin.password_hash.starts_with("$argon2id$"));
        assert!(!admin.password_hash.contains(&password));
        let accounts = DockAccounts::new(reader.clone()).unwrap();
        assert!(accounts.verify(FIRST_ADMIN, &password).is_some());
        drop(writer);
        thread.join();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_full_audit_queue_makes_the_recorder_wait_and_loses_no_line() {
        let (dir, db) = temp_db("backpressure");
        let conn = crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        let spare =
            crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        let (writer, thread) = Writer::spawn(conn, spare).unwrap();
        let shutdown = CancellationToken::new();
        let (audit, forwarder) = DockAudit::spawn(writer, Arc::new(FixedClock), shutdown.clone());
        // The forwarder is not running yet: the queue fills up.
        for n in 0..AUDIT_QUEUE {
            audit.record("anna", "view", &format!("worker {n}")).await;
        }
        let mut one_more = audit.record("anna", "view", "worker 12345");
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(200), &mut one_more).await;
        assert!(waited.is_err(), "a full queue makes the recorder wait");
        let forwarder = tokio::spawn(forwarder);
        tokio::time::timeout(std::time::Duration::from_secs(30), one_more)
            .await
            .expect("room again once the writer takes lines");
        shutdown.cancel();
        forwarder.await.unwrap();
        thread.join();
        let stored: i64 = crate::store::open_for_reading(&crate::store::Database::for_tests(&db))
            .unwrap()
            .query_row("SELECT count(*) FROM audit", [], |row| row.get(0))
            .unwrap();
        assert_eq!(stored, i64::try_from(AUDIT_QUEUE).unwrap() + 1, "none lost");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn audit_lines_are_queued_and_stored_with_the_clock_s_time() {
        let (dir, db) = temp_db("audit");
        let conn = crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        let spare =
            crate::store::open_for_writing(&crate::store::Database::for_tests(&db)).unwrap();
        let (writer, thread) = Writer::spawn(conn, spare).unwrap();
        let shutdown = CancellationToken::new();
        let (audit, forwarder) = DockAudit::spawn(writer, Arc::new(FixedClock), shutdown.clone());
        let forwarder = tokio::spawn(forwarder);
        audit.record("anna", "view", "worker 12").await;
        audit.record("anna", "export", "team Night shift").await;
        shutdown.cancel();
        forwarder.await.unwrap();
        thread.join();
        let rows = Reader::open(&crate::store::Database::for_tests(&db))
            .unwrap()
            .audit_page(None, 10)
            .unwrap();
        let seen: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.at_ms,
                    r.user.as_str(),
                    r.action.as_str(),
                    r.subject.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (42, "anna", "export", "team Night shift"),
                (42, "anna", "view", "worker 12")
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
