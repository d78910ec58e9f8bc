//! What each control command does, over the store it is given: inside the daemon on its own
//! `Reader` and `Writer` (asked through the control socket), or, when no daemon runs, on the
//! database the command opens for itself — the same code either way, so the answer cannot
//! depend on the path. It owns the commands' results as JSON (`dockd status --json`'s document
//! among them) and the audit of their changes; it must never touch the socket, print, or log a
//! password.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::accounts::AccountError;
use crate::config::Config;
use crate::control::protocol::Command;
use crate::store::{Reader, StoreError, Writer};

/// Where a command runs.
pub enum Store<'a> {
    /// Inside the daemon, on its connections, with the settings in force it reloads after a
    /// change to the roster.
    Daemon {
        reader: &'a Reader,
        writer: &'a Writer,
        site: &'a Arc<crate::site::SiteSettings>,
        running: &'a Arc<crate::update::health::Running>,
    },
    /// No daemon runs: the command opens the database itself with its key (read-only for the
    /// reading commands, a writer of its own for the changing ones).
    Database { db: &'a crate::store::Database },
}

/// Who asked, as the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The command line, on the database it opened itself.
    CommandLine,
    /// A peer of the control socket, by its uid.
    ControlSocket { uid: u32 },
}

impl Caller {
    /// What the audit line's subject gets appended: nothing for the command line (as before the
    /// socket existed), the route and the uid for the socket.
    pub fn route(self) -> String {
        match self {
            Caller::CommandLine => String::new(),
            Caller::ControlSocket { uid } => {
                format!("; through the control socket by uid {uid}")
            }
        }
    }
}

/// Why a command failed; its sentence is what the client shows.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("the command's work stopped unexpectedly: {0}")]
    Stopped(String),
    #[error(
        "no worker on the roster has this badge tag, so nothing was deleted (a worker deleted before stays deleted)"
    )]
    NoSuchWorker,
    #[error("{0}")]
    Refused(String),
    #[error("the result could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

/// `privacy_verify`'s result: the audit chain's state, as `dockd privacy verify` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainState {
    pub entries: u64,
    /// The last linked entry's id and link.
    pub head: Option<(i64, String)>,
    /// The first break, as a sentence.
    pub problem: Option<String>,
    pub anchors: u64,
    pub last_anchor: Option<i64>,
}

/// `user_add`'s result: who was saved, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSaved {
    pub name: String,
    pub role: String,
    /// The database it was saved in.
    pub database: String,
}

/// Runs `command` on `store` at `now_ms` for `caller`; the result is the command's JSON
/// document (`purge_now`: a `store::purge::Purged`, `privacy_verify`: a [`ChainState`],
/// `user_add`: a [`UserSaved`]).
pub async fn run(
    command: Command,
    store: &Store<'_>,
    config: &Arc<Config>,
    now_ms: i64,
    caller: Caller,
) -> Result<Value, CommandError> {
    match command.clone() {
        Command::Status => {
            let config = Arc::clone(config);
            read(store, move |reader| Ok(status(&config, reader)?)).await
        }
        Command::PrivacyReport => {
            let config = Arc::clone(config);
            read(store, move |reader| {
                Ok(serde_json::to_value(crate::privacy::report(
                    &config, reader,
                )?)?)
            })
            .await
        }
        Command::PrivacyVerify => {
            read(store, |reader| {
                let chain = reader.audit_chain()?;
                Ok(serde_json::to_value(ChainState {
                    entries: chain.entries,
                    head: chain.head,
                    problem: chain.problem.map(|p| p.to_string()),
                    anchors: chain.anchors,
                    last_anchor: chain.last_anchor,
                })?)
            })
            .await
        }
        Command::PurgeNow => {
            let days = config.privacy.retention_days;
            let route = caller.route();
            let purged = write(store, |writer| async move {
                crate::privacy::purge_audited(&writer, &days, now_ms, &route).await
            })
            .await?;
            Ok(serde_json::to_value(purged)?)
        }
        Command::UserAdd {
            name,
            role,
            password,
            enable,
        } => {
            let role = crate::accounts::parse_role(&role)?;
            // argon2 is slow by design: off the runtime.
            let user = tokio::task::spawn_blocking(move || {
                crate::accounts::new_user(&name, role, password.expose(), now_ms)
            })
            .await
            .map_err(|e| CommandError::Stopped(e.to_string()))??;
            let saved = UserSaved {
                name: user.name.clone(),
                role: role.as_str().to_owned(),
                database: config.database_path().display().to_string(),
            };
            let route = caller.route();
            write(store, |writer| async move {
                crate::accounts::user_add(&writer, user, enable, &route).await
            })
            .await?;
            Ok(serde_json::to_value(saved)?)
        }
        Command::WorkerDelete { tag } => {
            let tag = crate::worker::WorkerTag::from_ascii(tag.expose()).ok_or_else(|| {
                CommandError::Refused(
                    "that is not a badge tag (1 to 16 printable ASCII characters)".to_owned(),
                )
            })?;
            let id = read(store, move |reader| {
                Ok(serde_json::to_value(
                    reader.worker_with_tag(&tag)?.map(|worker| worker.id),
                )?)
            })
            .await?
            .as_i64()
            .ok_or(CommandError::NoSuchWorker)?;
            // The daemon logs which uid asked through the socket; the audit entry names the
            // command, as the command line always did.
            let by = "dockd worker delete".to_owned();
            let deleted = match store {
                // The daemon's writer holds the pseudonym key and the outbox's policy already.
                Store::Daemon {
                    writer,
                    reader,
                    site,
                    ..
                } => {
                    let deleted = writer
                        .delete_worker(crate::store::deletion::WorkerDeletion {
                            worker: id,
                            at_ms: now_ms,
                            by,
                        })
                        .await?;
                    // The settings in force (roster names, tasks, teams) without them, as the
                    // page's deletion leaves them.
                    let (site, reader) = (Arc::clone(site), (*reader).clone());
                    tokio::task::spawn_blocking(move || site.reload(&reader))
                        .await
                        .map_err(|e| CommandError::Stopped(e.to_string()))??;
                    deleted
                }
                Store::Database { db } => {
                    let keys = Arc::new(
                        crate::worker::Pseudonyms::load(
                            config.privacy.site_key_file.as_deref(),
                            &config.storage.data_dir,
                        )
                        .map_err(|e| CommandError::Refused(e.to_string()))?,
                    );
                    let reader = Reader::open(db)?;
                    let analysis = config.analysis.clone();
                    let site = tokio::task::spawn_blocking(move || {
                        crate::site::SiteSettings::load(analysis, &reader)
                    })
                    .await
                    .map_err(|e| CommandError::Stopped(e.to_string()))??;
                    let upload = crate::uploader::outbox_policy(config, &site);
                    crate::privacy::delete_worker(db, id, keys, upload, now_ms).await?
                }
            };
            Ok(serde_json::to_value(deleted)?)
        }
        Command::WorkerExport { .. } => Err(CommandError::Refused(
            "a worker's export is streamed by the running daemon's control socket; with no daemon, `dockd worker export` reads the database itself".to_owned(),
        )),
        Command::RecordExport {
            worker,
            shift_reports,
            samples,
        } => {
            let mut line = crate::privacy::export_line(
                &crate::privacy::export::ExportSummary {
                    worker_id: worker,
                    shift_reports: usize::try_from(shift_reports).unwrap_or(usize::MAX),
                    samples,
                    ..Default::default()
                },
                "dockd worker export",
                now_ms,
            );
            line.subject.push_str(&caller.route());
            write(
                store,
                |writer| async move { writer.audit(vec![line]).await },
            )
            .await?;
            Ok(serde_json::json!({ "recorded": true }))
        }
        // Its answer is a stream, served by `control::stream` on either route.
        Command::Backup { .. } => Err(CommandError::Refused(
            "a backup is streamed: `dockd backup` asks for it through control::stream".to_owned(),
        )),
        Command::UpdateCheck | Command::UpdateNow => match store {
            Store::Daemon { running, .. } => {
                let updates = running.updates().ok_or_else(|| {
                    CommandError::Refused("the updater has not started yet".to_owned())
                })?;
                let ask = if command == Command::UpdateNow {
                    crate::update::daemon::Ask::InstallNow
                } else {
                    crate::update::daemon::Ask::Check
                };
                let by = match caller {
                    Caller::CommandLine => "the command line".to_owned(),
                    Caller::ControlSocket { uid } => format!("uid {uid}"),
                };
                let said = updates
                    .ask(ask, &by)
                    .await
                    .map_err(CommandError::Refused)?;
                Ok(serde_json::json!({ "said": said }))
            }
            Store::Database { .. } => Err(CommandError::Refused(
                "no dockd runs on this data folder: `dockd update` checks by itself then".to_owned(),
            )),
        },
        Command::Health => match store {
            Store::Daemon { running, .. } => serde_json::to_value(running.report())
                .map_err(|e| CommandError::Stopped(e.to_string())),
            Store::Database { .. } => Err(CommandError::Refused(
                "no dockd runs on this data folder: health is the running daemon's".to_owned(),
            )),
        },
        Command::Metrics => match store {
            Store::Daemon { reader, writer, .. } => {
                let (reader, queued) = ((*reader).clone(), writer.queued());
                let config = Arc::clone(config);
                let text = tokio::task::spawn_blocking(move || {
                    crate::metrics::collect(&config, &reader, queued, now_ms)
                })
                .await
                .map_err(|e| CommandError::Stopped(e.to_string()))??;
                Ok(serde_json::json!({ "text": text }))
            }
            Store::Database { .. } => Err(CommandError::Refused(
                "no dockd runs on this data folder: the metrics are the running daemon's (start it, or ask the right --config)".to_owned(),
            )),
        },
    }
}

/// Runs `query` on a reader of `store`, off the async runtime.
async fn read<F>(store: &Store<'_>, query: F) -> Result<Value, CommandError>
where
    F: FnOnce(&Reader) -> Result<Value, CommandError> + Send + 'static,
{
    // The daemon's reader, or the database's path to open one on the blocking thread.
    let source = match store {
        Store::Daemon { reader, .. } => Ok((*reader).clone()),
        Store::Database { db } => Err((*db).clone()),
    };
    tokio::task::spawn_blocking(move || {
        let reader = match source {
            Ok(reader) => reader,
            Err(db) => Reader::open(&db)?,
        };
        query(&reader)
    })
    .await
    .map_err(|e| CommandError::Stopped(e.to_string()))?
}

/// Runs `work` on a writer of `store`: the daemon's, or one of this command's own.
async fn write<T, F, Fut>(store: &Store<'_>, work: F) -> Result<T, CommandError>
where
    F: FnOnce(Writer) -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    Ok(match store {
        Store::Daemon { writer, .. } => work((*writer).clone()).await?,
        Store::Database { db } => crate::store::with_own_writer(db, work).await?,
    })
}

/// The page's certificate fingerprint for `dockd status`: `None` without TLS or before the
/// daemon made its certificate (a file that cannot be read is warned of).
fn certificate_fingerprint(config: &Config) -> Option<String> {
    let path = crate::web_tls::certificate_path(config)?;
    if !path.exists() {
        return None;
    }
    match crate::web_tls::file_fingerprint(&path) {
        Ok(fingerprint) => Some(fingerprint),
        Err(error) => {
            tracing::warn!("Cannot read the page's certificate for its fingerprint: {error}");
            None
        }
    }
}

/// What `dockd status --json` prints: what the dock has stored, per wearable (never a badge tag
/// or a display name), the certificate fingerprint, GPS, dock power, the pseudonym key in use
/// (its source and public id) and the upload queue.
pub fn status(config: &Config, reader: &Reader) -> Result<Value, StoreError> {
    let wearables = reader.wearable_totals()?;
    let fingerprint = certificate_fingerprint(config);
    // The dock's own diagnostics, from their own tables (never joined with the wearables').
    let latest = reader.latest_gps_fix(false)?;
    let fix = reader.latest_gps_fix(true)?;
    let gps = serde_json::json!({
        "mode": latest.as_ref().map(|f| f.mode),
        "lat": fix.as_ref().and_then(|f| f.lat),
        "lon": fix.as_ref().and_then(|f| f.lon),
        "alt_m": fix.as_ref().and_then(|f| f.alt_m),
        "satellites_used": latest.as_ref().and_then(|f| f.satellites_used),
        "last_fix_ms": fix.as_ref().map(|f| f.at_ms),
    });
    let power = reader.dock_power(0, 1)?.pop();
    let dock_power = power
        .as_ref()
        .and_then(|p| serde_json::from_str::<Value>(&p.reading).ok())
        .map(|mut reading| {
            if let (Some(object), Some(p)) = (reading.as_object_mut(), power.as_ref()) {
                object.insert("at_ms".to_owned(), p.at_ms.into());
            }
            reading
        });
    // The key the daemon last started with, as it recorded it (never the key itself).
    let keys_used = reader.pseudonym_keys()?;
    let mut ids: Vec<&str> = Vec::new();
    for used in &keys_used {
        if !ids.contains(&used.key_id.as_str()) {
            ids.push(&used.key_id);
        }
    }
    let pseudonym_key = keys_used.last().map(|key| {
        serde_json::json!({
            "source": key.source,
            "key_id": key.key_id,
            "since_ms": key.since_ms,
            "key_ids_used": ids,
        })
    });
    // The upload queue as the daemon last recorded it (the driver persists its last error).
    let mut upload = serde_json::to_value(reader.upload_status()?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let upload_target = config.upload.as_ref().map(|u| u.target.describe());
    if let Some(object) = upload.as_object_mut() {
        object.insert("configured".to_owned(), upload_target.is_some().into());
        object.insert("target".to_owned(), upload_target.into());
        object.insert("paused".to_owned(), reader.upload_paused()?.into());
    }
    let list: Vec<_> = wearables
        .iter()
        .map(|w| {
            serde_json::json!({
                "serial": w.serial,
                "segments_stored": w.segments_stored,
                "samples_stored": w.samples_stored,
                "alerts_stored": w.alerts_stored,
                "quarantined": w.quarantined,
                "last_docked_ms": w.last_docked_ms,
                "slot": w.last_slot,
                "transport": w.last_transport,
            })
        })
        .collect();
    Ok(serde_json::json!({
        "version": crate::version::text(),
        "wearables": list,
        "web_certificate_sha256": fingerprint,
        "gps": gps,
        "dock_power": dock_power,
        "pseudonym_key": pseudonym_key,
        "upload": upload,
        "clock": diagnostics::time_sync::current(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::Password;
    use crate::store::purge::Purged;
    use crate::store::testing::Scratch;

    fn config_for(scratch: &Scratch) -> Arc<Config> {
        Arc::new(scratch.config())
    }

    fn user_add(name: &str, role: &str, password: &str) -> Command {
        Command::UserAdd {
            name: name.to_owned(),
            role: role.to_owned(),
            password: Password::new(password),
            enable: false,
        }
    }

    #[tokio::test]
    async fn the_daemon_and_the_database_give_the_same_answer_to_every_reading_command() {
        let scratch = Scratch::new("control-reads");
        scratch.docking("KX-0001", 1_000).await;
        let config = config_for(&scratch);
        let daemon = Store::Daemon {
            reader: &scratch.reader,
            writer: &scratch.writer,
            site: &crate::control::test_site(&scratch.reader),
            running: &Arc::new(crate::update::health::Running::new(false)),
        };
        let db = scratch.db();
        let database = Store::Database { db: &db };
        for command in [
            Command::Status,
            Command::PrivacyReport,
            Command::PrivacyVerify,
        ] {
            let caller = Caller::ControlSocket { uid: 0 };
            let asked = run(command.clone(), &daemon, &config, 5_000, caller)
                .await
                .unwrap();
            let opened = run(
                command.clone(),
                &database,
                &config,
                5_000,
                Caller::CommandLine,
            )
            .await
            .unwrap();
            assert_eq!(asked, opened, "{}", command.name());
        }
        let status = run(
            Command::Status,
            &daemon,
            &config,
            5_000,
            Caller::CommandLine,
        )
        .await
        .unwrap();
        assert_eq!(status["wearables"][0]["serial"], "KX-0001", "{status}");
        assert_eq!(status["upload"]["configured"], false, "{status}");
        scratch.close();
    }

    #[tokio::test]
    async fn a_change_through_the_socket_is_audited_with_its_route_and_uid_and_one_from_the_command_line_as_before()
     {
        let scratch = Scratch::new("control-audit");
        let config = config_for(&scratch);
        let daemon = Store::Daemon {
            reader: &scratch.reader,
            writer: &scratch.writer,
            site: &crate::control::test_site(&scratch.reader),
            running: &Arc::new(crate::update::health::Running::new(false)),
        };
        let saved = run(
            user_add("anna", "supervisor", "a long pass phrase for anna"),
            &daemon,
            &config,
            7_000,
            Caller::ControlSocket { uid: 1000 },
        )
        .await
        .unwrap();
        let saved: UserSaved = serde_json::from_value(saved).unwrap();
        assert_eq!(
            (saved.name.as_str(), saved.role.as_str()),
            ("anna", "supervisor")
        );
        assert_eq!(saved.database, config.database_path().display().to_string());
        let purged = run(
            Command::PurgeNow,
            &daemon,
            &config,
            7_000,
            Caller::ControlSocket { uid: 1000 },
        )
        .await
        .unwrap();
        let purged: Purged = serde_json::from_value(purged).unwrap();
        assert_eq!(purged, Purged::default());
        scratch
            .wait_for_count(
                "SELECT count(*) FROM audit WHERE user = 'dockd user add' \
                 AND subject = 'user anna: role supervisor, password set; through the control socket by uid 1000'",
                1,
            )
            .await;
        scratch
            .wait_for_count(
                "SELECT count(*) FROM audit WHERE user = 'dockd purge' \
                 AND subject = 'retention purge: 0 rows; through the control socket by uid 1000'",
                1,
            )
            .await;
        // No daemon: the command's own writer, audited as the command line always was.
        let db = scratch.db();
        let database = Store::Database { db: &db };
        run(
            user_add("ben", "technician", "a long pass phrase for ben"),
            &database,
            &config,
            8_000,
            Caller::CommandLine,
        )
        .await
        .unwrap();
        scratch
            .wait_for_count(
                "SELECT count(*) FROM audit WHERE user = 'dockd user add' \
                 AND subject = 'user ben: role technician, password set'",
                1,
            )
            .await;
        assert_eq!(
            scratch.number("SELECT count(*) FROM user WHERE name IN ('anna', 'ben')"),
            2
        );
        scratch.close();
    }

    #[tokio::test]
    async fn a_bad_role_or_short_password_fails_with_the_rules_words_and_saves_nothing() {
        let scratch = Scratch::new("control-refusals");
        let config = config_for(&scratch);
        let daemon = Store::Daemon {
            reader: &scratch.reader,
            writer: &scratch.writer,
            site: &crate::control::test_site(&scratch.reader),
            running: &Arc::new(crate::update::health::Running::new(false)),
        };
        let caller = Caller::ControlSocket { uid: 0 };
        let error = run(
            user_add("anna", "root", "a long pass phrase"),
            &daemon,
            &config,
            1,
            caller,
        )
        .await
        .unwrap_err();
        assert!(
            error.to_string().contains("`root` is not a role"),
            "{error}"
        );
        let error = run(
            user_add("anna", "admin", "qz7"),
            &daemon,
            &config,
            1,
            caller,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, CommandError::Account(AccountError::BadPassword(_))),
            "{error}"
        );
        assert!(
            !error.to_string().contains("qz7"),
            "the password is never echoed: {error}"
        );
        assert_eq!(
            scratch.number("SELECT count(*) FROM user WHERE name = 'anna'"),
            0
        );
        scratch.close();
    }

    #[test]
    fn the_command_line_adds_nothing_to_an_audit_subject_and_the_socket_its_uid() {
        assert_eq!(Caller::CommandLine.route(), "");
        assert_eq!(
            Caller::ControlSocket { uid: 0 }.route(),
            "; through the control socket by uid 0"
        );
    }

    #[tokio::test]
    async fn a_worker_is_deleted_by_tag_on_either_route_and_an_unknown_tag_deletes_nothing() {
        use crate::control::protocol::Secret;
        use crate::store::roster::RosterChange;
        let scratch = Scratch::new("control-delete");
        let config = config_for(&scratch);
        for badge in ["B-7001", "B-7002"] {
            scratch
                .roster(RosterChange::AddWorker {
                    tag: crate::worker::WorkerTag::from_ascii(badge).unwrap(),
                    display_name: Some(format!("Name {badge}")),
                    task: None,
                    team: None,
                })
                .await
                .unwrap();
        }
        let delete = |badge: &str| Command::WorkerDelete {
            tag: Secret::new(badge),
        };
        let unknown = run(
            delete("B-0000"),
            &Store::Daemon {
                reader: &scratch.reader,
                writer: &scratch.writer,
                site: &crate::control::test_site(&scratch.reader),
                running: &Arc::new(crate::update::health::Running::new(false)),
            },
            &config,
            1_000,
            Caller::ControlSocket { uid: 0 },
        )
        .await
        .unwrap_err();
        assert!(matches!(unknown, CommandError::NoSuchWorker), "{unknown}");
        assert_eq!(scratch.number("SELECT count(*) FROM worker"), 2);
        // No daemon: the command's own writer, with the pseudonym key it loads.
        let db = scratch.db();
        let done = run(
            delete("B-7001"),
            &Store::Database { db: &db },
            &config,
            1_000,
            Caller::CommandLine,
        )
        .await
        .unwrap();
        assert_eq!(done["worker"], 1);
        assert_eq!(scratch.number("SELECT count(*) FROM worker"), 1);
        assert_eq!(scratch.number("SELECT count(*) FROM worker_tombstone"), 1);
        // The daemon: its writer (holding the pseudonym key, as the daemon's does), then the
        // settings in force no longer know their name.
        scratch
            .writer
            .set_pseudonyms(Arc::new(crate::worker::Pseudonyms::from_key([7; 32])))
            .await
            .unwrap();
        let site = crate::control::test_site(&scratch.reader);
        let tag = crate::worker::WorkerTag::from_ascii("B-7002").unwrap();
        assert_eq!(site.display_name(&tag).as_deref(), Some("Name B-7002"));
        let version = site.version();
        run(
            delete("B-7002"),
            &Store::Daemon {
                reader: &scratch.reader,
                writer: &scratch.writer,
                site: &site,
                running: &Arc::new(crate::update::health::Running::new(false)),
            },
            &config,
            2_000,
            Caller::ControlSocket { uid: 0 },
        )
        .await
        .unwrap();
        assert_eq!(scratch.number("SELECT count(*) FROM worker"), 0);
        assert_eq!(site.display_name(&tag), None);
        assert!(
            site.version() > version,
            "the pages' caches follow the version"
        );
    }

    #[tokio::test]
    async fn an_export_is_recorded_by_the_daemon_with_its_route_or_by_the_command_line() {
        let scratch = Scratch::new("control-export");
        let config = config_for(&scratch);
        let record = || Command::RecordExport {
            worker: 7,
            shift_reports: 1,
            samples: 10,
        };
        run(
            record(),
            &Store::Daemon {
                reader: &scratch.reader,
                writer: &scratch.writer,
                site: &crate::control::test_site(&scratch.reader),
                running: &Arc::new(crate::update::health::Running::new(false)),
            },
            &config,
            1_000,
            Caller::ControlSocket { uid: 1000 },
        )
        .await
        .unwrap();
        let db = scratch.db();
        run(
            record(),
            &Store::Database { db: &db },
            &config,
            2_000,
            Caller::CommandLine,
        )
        .await
        .unwrap();
        scratch
            .wait_for_count(
                "SELECT count(*) FROM audit WHERE user = 'dockd worker export' AND action = 'export'
                 AND subject = 'worker 7: their data exported (1 shift reports, 10 samples); through the control socket by uid 1000'",
                1,
            )
            .await;
        scratch
            .wait_for_count(
                "SELECT count(*) FROM audit WHERE user = 'dockd worker export'
                 AND subject = 'worker 7: their data exported (1 shift reports, 10 samples)'",
                1,
            )
            .await;
    }
}
