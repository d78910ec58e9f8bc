//! The store's side of access control: user rows (creation and every change to them), the
//! append-only audit trail and their queries. It owns the SQL for `user` and `audit`; it must never
//! see a password (only argon2id PHC strings reach it) nor change or delete an audit row (the
//! schema's triggers refuse that too).

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{Reader, StoreError};
use crate::role::Role;

/// A user to create, or to replace (same name: new role and password; enabled again only if
/// `enable`).
#[derive(Clone, PartialEq, Eq)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    /// An argon2id PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
    pub created_ms: i64,
    /// Replacing a disabled user enables them again (`dockd user add --enable`).
    pub enable: bool,
}

/// A user as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub created_ms: i64,
    pub disabled: bool,
    /// Goes up with every change to the user: sessions started under an older one are over.
    pub generation: u64,
}

// Hand-written: a password hash has no business in a log line.
impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("created_ms", &self.created_ms)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .field("created_ms", &self.created_ms)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// One line of the audit trail, to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub user: String,
    pub action: String,
    pub subject: String,
}

/// One line of the audit trail, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at_ms: i64,
    pub user: String,
    pub action: String,
    pub subject: String,
}

/// One change to an existing user, applied by `Writer::user` in its own savepoint (the hash is
/// argon2id; names are checked by the caller).
#[derive(Clone, PartialEq, Eq)]
pub enum UserChange {
    SetRole { name: String, role: Role },
    SetDisabled { name: String, disabled: bool },
    SetPassword { name: String, password_hash: String },
    Remove { name: String },
}

/// Never prints a hash.
impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            UserChange::SetRole { .. } => "SetRole",
            UserChange::SetDisabled { .. } => "SetDisabled",
            UserChange::SetPassword { .. } => "SetPassword",
            UserChange::Remove { .. } => "Remove",
        };
        write!(f, "UserChange::{name}(…)")
    }
}

/// Why a user change was refused.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("no such user")]
    NoSuchUser,
    #[error("this is the only enabled admin: make another user admin first")]
    LastAdmin,
}

/// Creates the user, or replaces the one of that name (its id and creation time stay, its
/// generation moves on; a disabled one is enabled again only if `enable`). Refused if it would
/// leave a dock that had an enabled admin without one.
pub(super) fn put_user(tx: &Transaction<'_>, user: &NewUser) -> Result<(), StoreError> {
    keeping_an_admin(tx, |tx| {
        tx.execute(
            "INSERT INTO user (name, role, password_hash, created_ms, disabled) VALUES (?1, ?2, ?3, ?4, 0)
             ON CONFLICT (name) DO UPDATE SET role = excluded.role,
                password_hash = excluded.password_hash, generation = user.generation + 1,
                disabled = CASE WHEN ?5 THEN 0 ELSE user.disabled END",
            params![
                user.name,
                user.role.as_str(),
                user.password_hash,
                user.created_ms,
                user.enable
            ],
        )?;
        Ok(())
    })
}

/// Applies one user change inside the writer's savepoint; the user's generation moves on. Refused
/// (and rolled back with the savepoint) if it would leave the dock without an enabled admin: the
/// check runs in the same transaction as the change, so two concurrent changes cannot both pass.
pub(super) fn apply(tx: &Transaction<'_>, change: &UserChange) -> Result<(), StoreError> {
    keeping_an_admin(tx, |tx| {
        let changed = match change {
            UserChange::SetRole { name, role } => tx.execute(
                "UPDATE user SET role = ?2, generation = generation + 1 WHERE name = ?1",
                params![name, role.as_str()],
            )?,
            UserChange::SetDisabled { name, disabled } => tx.execute(
                "UPDATE user SET disabled = ?2, generation = generation + 1 WHERE name = ?1",
                params![name, disabled],
            )?,
            UserChange::SetPassword {
                name,
                password_hash,
            } => tx.execute(
                "UPDATE user SET password_hash = ?2, generation = generation + 1 WHERE name = ?1",
                params![name, password_hash],
            )?,
            UserChange::Remove { name } => {
                tx.execute("DELETE FROM user WHERE name = ?1", [name])?
            }
        };
        if changed == 0 {
            return Err(UserError::NoSuchUser.into());
        }
        Ok(())
    })
}

/// Runs `change`, then refuses it if the dock had an enabled admin before and has none after.
fn keeping_an_admin(
    tx: &Transaction<'_>,
    change: impl FnOnce(&Transaction<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let admins = |tx: &Transaction<'_>| {
        tx.query_row(
            "SELECT count(*) FROM user WHERE role = 'admin' AND disabled = 0",
            [],
            |row| row.get::<_, i64>(0),
        )
    };
    let before = admins(tx)?;
    change(tx)?;
    if before > 0 && admins(tx)? == 0 {
        return Err(UserError::LastAdmin.into());
    }
    Ok(())
}

/// Appends `entries` to the trail, each linked into the chain (`store::audit_chain`).
pub(super) fn append_audit(tx: &Transaction<'_>, entries: &[AuditEntry]) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO audit (at_ms, user, action, subject) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for e in entries {
        insert.execute(params![e.at_ms, e.user, e.action, e.subject])?;
    }
    match entries.iter().map(|e| e.at_ms).max() {
        Some(newest_ms) => super::audit_chain::link_written(tx, tx.last_insert_rowid(), newest_ms),
        None => Ok(()),
    }
}

fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(2)?;
    let role = Role::parse(&role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown role `{role}`").into(),
        )
    })?;
    Ok(User {
        id: row.get(0)?,
        name: row.get(1)?,
        role,
        password_hash: row.get(3)?,
        created_ms: row.get(4)?,
        disabled: row.get(5)?,
        generation: u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
    })
}

const USER_COLUMNS: &str = "id, name, role, password_hash, created_ms, disabled, generation";

impl Reader {
    /// The user of that name (disabled or not), if there is one.
    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.with(|conn| {
            conn.query_row(
                &format!("SELECT {USER_COLUMNS} FROM user WHERE name = ?1"),
                [name],
                user_from_row,
            )
            .optional()
        })
    }

    /// How many enabled admins there are.
    pub fn admin_count(&self) -> Result<u64, StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT count(*) FROM user WHERE role = 'admin' AND disabled = 0",
                [],
                |row| row.get::<_, i64>(0),
            )
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        self.with(|conn| {
            let mut query =
                conn.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM user ORDER BY name"))?;
            let rows = query.query_map([], user_from_row)?;
            rows.collect()
        })
    }

    /// Up to `limit` audit lines, newest first, older than the line `before` (all, if `None`):
    /// pass the last id of one page to get the next.
    pub fn audit_page(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT id, at_ms, user, action, subject FROM audit
                 WHERE ?1 IS NULL OR id < ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = query.query_map(params![before, limit], |row| {
                Ok(AuditRow {
                    id: row.get(0)?,
                    at_ms: row.get(1)?,
                    user: row.get(2)?,
                    action: row.get(3)?,
                    subject: row.get(4)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;
    use crate::store::testing::Scratch;
    use rusqlite::Connection;

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        conn
    }

    fn user(name: &str, role: Role, hash: &str) -> NewUser {
        NewUser {
            name: name.to_owned(),
            role,
            password_hash: hash.to_owned(),
            created_ms: 1_000,
            enable: false,
        }
    }

    #[test]
    fn the_audit_trail_refuses_updates_and_deletes() {
        let mut conn = migrated();
        let tx = conn.transaction().unwrap();
        append_audit(
            &tx,
            &[AuditEntry {
                at_ms: 5,
                user: "anna".into(),
                action: "view".into(),
                subject: "worker 12".into(),
            }],
        )
        .unwrap();
        tx.commit().unwrap();
        let update = conn.execute("UPDATE audit SET subject = 'nothing'", []);
        assert!(
            update
                .unwrap_err()
                .to_string()
                .contains("the audit trail is append-only")
        );
        let delete = conn.execute("DELETE FROM audit", []);
        assert!(
            delete
                .unwrap_err()
                .to_string()
                .contains("the audit trail is append-only")
        );
        let subject: String = conn
            .query_row("SELECT subject FROM audit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(subject, "worker 12");
    }

    #[test]
    fn putting_a_user_twice_replaces_its_role_and_hash_but_keeps_its_id() {
        let mut conn = migrated();
        let tx = conn.transaction().unwrap();
        put_user(&tx, &user("anna", Role::Technician, "$argon2id$one")).unwrap();
        put_user(&tx, &user("anna", Role::Admin, "$argon2id$two")).unwrap();
        tx.commit().unwrap();
        let (count, role, hash): (i64, String, String) = conn
            .query_row("SELECT count(*), role, password_hash FROM user", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(
            (count, role.as_str(), hash.as_str()),
            (1, "admin", "$argon2id$two")
        );
    }

    #[test]
    fn the_schema_refuses_a_role_it_does_not_know() {
        let conn = migrated();
        let err = conn
            .execute(
                "INSERT INTO user (name, role, password_hash, created_ms) VALUES ('x', 'root', 'h', 0)",
                [],
            )
            .unwrap_err();
        assert!(err.to_string().contains("CHECK"), "{err}");
    }

    #[test]
    fn a_version_2_database_gains_the_access_tables_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        // Bring it to version 2 by running only the first two migrations' worth: a fresh migrate
        // followed by dropping the new tables would not be a real version-2 file, so build one.
        let tx = conn.transaction().unwrap();
        for sql in &schema::MIGRATIONS[..2] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 2).unwrap();
        tx.commit().unwrap();
        conn.execute(
            "INSERT INTO wearable (serial, first_seen_ms) VALUES ('KW-000001', 7)",
            [],
        )
        .unwrap();

        schema::migrate(&mut conn).unwrap();

        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(
            version,
            schema::VERSION as i64,
            "migrated to the latest version"
        );
        let serial: String = conn
            .query_row("SELECT serial FROM wearable", [], |r| r.get(0))
            .unwrap();
        assert_eq!(serial, "KW-000001");
        for table in ["user", "audit", "setting"] {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    #[test]
    fn the_reader_finds_users_counts_admins_and_pages_the_audit_trail() {
        let dir = std::env::temp_dir().join(format!("dockd-accounts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("dockd.db");
        let mut conn =
            crate::store::open_for_writing(&crate::store::Database::for_tests(&path)).unwrap();
        let tx = conn.transaction().unwrap();
        put_user(&tx, &user("bert", Role::Supervisor, "h1")).unwrap();
        put_user(&tx, &user("anna", Role::Admin, "h2")).unwrap();
        let entries: Vec<AuditEntry> = (0..5)
            .map(|i| AuditEntry {
                at_ms: i,
                user: "anna".into(),
                action: "view".into(),
                subject: format!("worker {i}"),
            })
            .collect();
        append_audit(&tx, &entries).unwrap();
        tx.commit().unwrap();

        let reader = Reader::open(&crate::store::Database::for_tests(&path)).unwrap();
        let anna = reader.user("anna").unwrap().unwrap();
        assert_eq!((anna.role, anna.disabled), (Role::Admin, false));
        assert!(reader.user("nobody").unwrap().is_none());
        assert_eq!(reader.admin_count().unwrap(), 1);
        let names: Vec<String> = reader
            .users()
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["anna", "bert"]);
        let first = reader.audit_page(None, 3).unwrap();
        assert_eq!(first.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [4, 3, 2]);
        let next = reader.audit_page(first.last().map(|r| r.id), 3).unwrap();
        assert_eq!(next.iter().map(|r| r.at_ms).collect::<Vec<_>>(), [1, 0]);
        assert!(!format!("{anna:?}").contains("h2"), "Debug hides the hash");
        drop(reader);
        drop(conn);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn user_changes_apply_to_the_named_user_and_an_unknown_name_is_refused() {
        let store = Scratch::new("accounts-users");
        store
            .writer
            .put_user(NewUser {
                name: "rita".into(),
                role: Role::Supervisor,
                password_hash: "$argon2id$old".into(),
                created_ms: 1,
                enable: false,
            })
            .await
            .unwrap();
        // Another admin: the dock is never left without one.
        store
            .writer
            .put_user(user("ada", Role::Admin, "$argon2id$ada"))
            .await
            .unwrap();
        for change in [
            UserChange::SetRole {
                name: "rita".into(),
                role: Role::Admin,
            },
            UserChange::SetDisabled {
                name: "rita".into(),
                disabled: true,
            },
            UserChange::SetPassword {
                name: "rita".into(),
                password_hash: "$argon2id$new".into(),
            },
        ] {
            store.writer.user(change).await.unwrap();
        }
        let rita = store.reader.user("rita").unwrap().unwrap();
        assert_eq!(
            (rita.role, rita.disabled, rita.password_hash.as_str()),
            (Role::Admin, true, "$argon2id$new")
        );
        assert_eq!(
            store.reader.admin_count().unwrap(),
            1,
            "disabled admins do not count"
        );

        store
            .writer
            .user(UserChange::Remove {
                name: "rita".into(),
            })
            .await
            .unwrap();
        assert!(store.reader.user("rita").unwrap().is_none());
        for change in [
            UserChange::Remove {
                name: "rita".into(),
            },
            UserChange::SetDisabled {
                name: "nobody".into(),
                disabled: false,
            },
        ] {
            assert!(matches!(
                store.writer.user(change).await,
                Err(StoreError::User(UserError::NoSuchUser))
            ));
        }
        store.close();
    }

    #[tokio::test]
    async fn two_concurrent_admin_demotions_through_the_writer_leave_one_admin() {
        let store = Scratch::new("accounts-last-admin");
        for name in ["ada", "bea"] {
            store
                .writer
                .put_user(user(name, Role::Admin, "$argon2id$h"))
                .await
                .unwrap();
        }
        let demote = |name: &str| UserChange::SetRole {
            name: name.into(),
            role: Role::Technician,
        };
        // Both asked at once: each would pass a check made outside the writer's transaction.
        let (one, two) = tokio::join!(
            store.writer.user(demote("ada")),
            store.writer.user(demote("bea"))
        );
        assert_eq!(
            [one.is_ok(), two.is_ok()].iter().filter(|ok| **ok).count(),
            1,
            "{one:?} {two:?}"
        );
        assert!(matches!(
            one.err().or(two.err()),
            Some(StoreError::User(UserError::LastAdmin))
        ));
        assert_eq!(store.reader.admin_count().unwrap(), 1);
        // Nor can the last one be disabled, removed, or replaced as a non-admin.
        let last = if store.reader.user("ada").unwrap().unwrap().role == Role::Admin {
            "ada"
        } else {
            "bea"
        };
        for change in [
            UserChange::SetDisabled {
                name: last.into(),
                disabled: true,
            },
            UserChange::Remove { name: last.into() },
        ] {
            assert!(matches!(
                store.writer.user(change).await,
                Err(StoreError::User(UserError::LastAdmin))
            ));
        }
        assert!(matches!(
            store
                .writer
                .put_user(user(last, Role::Supervisor, "$argon2id$i"))
                .await,
            Err(StoreError::User(UserError::LastAdmin))
        ));
        assert_eq!(store.reader.admin_count().unwrap(), 1);
        store.close();
    }

    #[tokio::test]
    async fn every_change_to_a_user_moves_their_generation_on_and_replacing_keeps_them_disabled() {
        let store = Scratch::new("accounts-generation");
        let writer = &store.writer;
        writer
            .put_user(user("ada", Role::Admin, "h"))
            .await
            .unwrap();
        writer
            .put_user(user("rita", Role::Supervisor, "h"))
            .await
            .unwrap();
        let generation = || store.reader.user("rita").unwrap().unwrap().generation;
        assert_eq!(generation(), 0);
        let changes = [
            UserChange::SetRole {
                name: "rita".into(),
                role: Role::Technician,
            },
            UserChange::SetPassword {
                name: "rita".into(),
                password_hash: "h2".into(),
            },
            UserChange::SetDisabled {
                name: "rita".into(),
                disabled: true,
            },
        ];
        for (n, change) in changes.into_iter().enumerate() {
            writer.user(change).await.unwrap();
            assert_eq!(generation(), u64::try_from(n).unwrap() + 1);
        }
        // `dockd user add` again: a new generation, still disabled…
        writer
            .put_user(user("rita", Role::Supervisor, "h3"))
            .await
            .unwrap();
        let rita = store.reader.user("rita").unwrap().unwrap();
        assert_eq!((rita.generation, rita.disabled), (4, true));
        // …unless told to enable.
        writer
            .put_user(NewUser {
                enable: true,
                ..user("rita", Role::Supervisor, "h4")
            })
            .await
            .unwrap();
        let rita = store.reader.user("rita").unwrap().unwrap();
        assert_eq!((rita.generation, rita.disabled), (5, false));
        store.close();
    }
}
