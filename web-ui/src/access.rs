//! Who may use the page: roles, the signed-in user, and the traits through which the daemon checks
//! passwords and keeps the audit trail. It owns these shapes; it must never store a password or a
//! worker identity itself, nor decide *how* passwords are hashed (the daemon does, with argon2).

use serde::{Deserialize, Serialize};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, settings and the audit trail.
    Admin,
    /// Workers, tasks, roster and the dock.
    Supervisor,
    /// The dock and diagnostics pages only: never worker data.
    Technician,
}

impl Role {
    /// Whether this role may see any worker's data.
    pub fn sees_worker_data(self) -> bool {
        matches!(self, Role::Admin | Role::Supervisor)
    }

    /// Whether this role may open the diagnostics page and API (the dock's own hardware: GPS,
    /// power, wearable batteries, storage; never worker data).
    pub fn sees_diagnostics(self) -> bool {
        matches!(self, Role::Admin | Role::Technician)
    }

    /// The role's name in the API and in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Technician => "technician",
        }
    }

    /// The role's name for people, as pages show it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Supervisor => "Supervisor",
            Role::Technician => "Technician",
        }
    }
}

/// A signed-in user, as request handlers see it (an axum request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    pub name: String,
    pub role: Role,
}

/// The signed-in session's CSRF token, as request handlers see it (an axum request extension next
/// to [`CurrentUser`]). Pages put it in `<meta name="csrf-token">` and in every form as the hidden
/// field `csrf`; scripts send it as the `X-CSRF-Token` header on every state-changing request.
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(pub(crate) String);

impl CsrfToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never printed: a token in a log line is a token someone else can use.
impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken(…)")
    }
}

/// Where a user stands now, as the daemon's accounts say: checked on every request, so any
/// change to the user (from the page or from `dockd user add`) ends their sessions at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub role: Role,
    /// Goes up with every change to the user (role, password, enabling or disabling); a session
    /// started under another generation is over.
    pub generation: u64,
    pub disabled: bool,
}

/// The daemon's user accounts.
pub trait Accounts: Send + Sync + 'static {
    /// Checks a password; `None` for an unknown user or a wrong password (callers cannot tell
    /// which). Deliberately slow (argon2): web-ui calls it on one of its few password-check
    /// threads, never on a runtime worker.
    fn verify(&self, username: &str, password: &str) -> Option<CurrentUser>;

    /// Where the user called `username` stands now; `None` if there is no such user. Fast (one
    /// indexed read): called on every signed-in request.
    fn standing(&self, username: &str) -> Option<Standing>;
}

/// What [`AuditLog::record`] returns: done once the line is queued for storage.
pub type Recording<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// The append-only audit trail: every view, change or export of a worker's data.
pub trait AuditLog: Send + Sync + 'static {
    /// Records that `user` did `action` (e.g. "view", "export", "change") on `subject` (e.g.
    /// "worker 12", "roster"). The line is never dropped: when the daemon's queue is full, the
    /// returned future waits for room (back-pressure on whoever caused the line).
    fn record<'a>(&'a self, user: &'a str, action: &'a str, subject: &'a str) -> Recording<'a>;
}
