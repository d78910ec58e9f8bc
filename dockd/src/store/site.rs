//! The store's side of the roster and the page's settings: wearable → worker assignments, what the
//! dock knows of each worker (display name, task, team, opt-out), key/value settings changed on the
//! page, and what each wearable confirmed of the alert thresholds. It owns that SQL; it must never
//! log a badge tag or a display name, and never hand a tag to anything but the pull (SET_WORKER)
//! and the roster view.

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Reader, StoreError};
use crate::link::WearableConfig;
use crate::worker::WorkerTag;

/// One change to the roster or the settings, applied by `Writer::site` in its own savepoint.
#[derive(Clone, PartialEq)]
pub enum SiteChange {
    /// Assign wearable `serial` (created if never seen) to worker `worker`, or to no one.
    AssignWearable {
        serial: String,
        worker: Option<i64>,
        at_ms: i64,
    },
    /// Creates the worker of this tag if unknown (error `SiteError::Exists` if known).
    AddWorker {
        tag: WorkerTag,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Replaces a worker's details (error `SiteError::NoSuchWorker` if unknown).
    EditWorker {
        id: i64,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Opts a worker out (`opted_out_ms` set: from now on the writer discards their samples, alerts
    /// and events at ingest, and their shift reports are deleted) or back in (`None`: reports are
    /// rebuilt by resetting every wearable's analysis progress).
    OptOut {
        id: i64,
        opted_out_ms: Option<i64>,
    },
    /// The wearable confirmed (with SET_WORKER → OK, or its INFO) that it carries `worker`. The
    /// roster entry is marked applied only if it still assigns that worker, so a change made on
    /// the page while the dock was applying the previous one stays pending.
    WorkerApplied {
        serial: String,
        worker: Option<WorkerTag>,
        at_ms: i64,
    },
    /// Sets a `setting` row (`value` is JSON text).
    PutSetting {
        key: String,
        value: String,
    },
    /// What the wearable's GET_CONFIG answered after the dock pushed thresholds (`confirmed` is
    /// `None` and `problem` says why when it refused or answered something else).
    ConfigConfirmed {
        serial: String,
        confirmed: Option<WearableConfig>,
        at_ms: i64,
        problem: Option<String>,
    },
    /// User account changes (the hash is argon2id; names are checked by the caller).
    SetUserRole {
        name: String,
        role: web_ui::access::Role,
    },
    SetUserDisabled {
        name: String,
        disabled: bool,
    },
    SetUserPassword {
        name: String,
        password_hash: String,
    },
    RemoveUser {
        name: String,
    },
}

/// Never prints a tag, a name or a hash.
impl std::fmt::Debug for SiteChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            SiteChange::AssignWearable { .. } => "AssignWearable",
            SiteChange::AddWorker { .. } => "AddWorker",
            SiteChange::EditWorker { .. } => "EditWorker",
            SiteChange::OptOut { .. } => "OptOut",
            SiteChange::WorkerApplied { .. } => "WorkerApplied",
            SiteChange::PutSetting { .. } => "PutSetting",
            SiteChange::ConfigConfirmed { .. } => "ConfigConfirmed",
            SiteChange::SetUserRole { .. } => "SetUserRole",
            SiteChange::SetUserDisabled { .. } => "SetUserDisabled",
            SiteChange::SetUserPassword { .. } => "SetUserPassword",
            SiteChange::RemoveUser { .. } => "RemoveUser",
        };
        write!(f, "SiteChange::{name}(…)")
    }
}

/// What a site change returns: the worker id for `AddWorker`, otherwise `None`.
pub type SiteOutcome = Option<i64>;

/// A wearable on the roster, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct WearableRow {
    pub serial: String,
    /// `None`: not on the roster, or assigned to no one (see `assigned`).
    pub worker: Option<i64>,
    /// Whether the roster has an entry for it at all.
    pub assigned: bool,
    /// When the wearable confirmed its current assignment (after the latest change), if it did.
    pub applied_ms: Option<i64>,
    pub last_docked_ms: Option<i64>,
}

/// A worker as stored, with the tag (roster page and SET_WORKER only).
#[derive(Clone, PartialEq)]
pub struct WorkerRow {
    pub id: i64,
    pub tag: WorkerTag,
    pub display_name: Option<String>,
    pub task: Option<String>,
    pub team: Option<String>,
    pub opted_out_ms: Option<i64>,
    /// Samples discarded at ingest because of the opt-out (summed over segments).
    pub discarded_samples: u64,
}

impl std::fmt::Debug for WorkerRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerRow")
            .field("id", &self.id)
            .field("opted_out_ms", &self.opted_out_ms)
            .finish_non_exhaustive()
    }
}

/// What a docking must bring the wearable to, read before the dock talks to it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DockingOrders {
    /// `Some(tag)`: the roster assigns the wearable to this worker (`Some(None)`: to no one) and
    /// SET_WORKER must be sent if INFO shows otherwise; `None`: the roster says nothing.
    pub worker: Option<Option<WorkerTag>>,
    /// Whether the wearable already confirmed the roster's current assignment (`applied_ms`).
    pub worker_applied: bool,
    /// The thresholds the admin set (setting `thresholds`), if any; `None`: leave the wearable's.
    pub config: Option<WearableConfig>,
}

/// A wearable's latest threshold confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigState {
    pub serial: String,
    pub confirmed: Option<WearableConfig>,
    pub at_ms: Option<i64>,
    pub problem: Option<String>,
}

/// Why a site change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("a worker with that badge tag is already on the roster")]
    Exists,
    #[error("no such worker")]
    NoSuchWorker,
    #[error("no such user")]
    NoSuchUser,
}

/// Applies one change inside the writer's savepoint.
pub(super) fn apply(tx: &Transaction<'_>, change: &SiteChange) -> Result<SiteOutcome, StoreError> {
    match change {
        SiteChange::AssignWearable {
            serial,
            worker,
            at_ms,
        } => {
            if let Some(id) = worker {
                require_worker(tx, *id)?;
            }
            tx.execute(
                "INSERT INTO roster_wearable (serial, worker_id, changed_ms, applied_ms)
                 VALUES (?1, ?2, ?3, NULL)
                 ON CONFLICT (serial) DO UPDATE SET worker_id = excluded.worker_id,
                    changed_ms = excluded.changed_ms, applied_ms = NULL",
                params![serial, worker, at_ms],
            )?;
            Ok(None)
        }
        SiteChange::AddWorker {
            tag,
            display_name,
            task,
            team,
        } => add_worker(tx, tag, display_name, task, team).map(Some),
        SiteChange::EditWorker {
            id,
            display_name,
            task,
            team,
        } => {
            let changed = tx.execute(
                "UPDATE worker SET display_name = ?2, task = ?3, team = ?4 WHERE id = ?1",
                params![id, display_name, task, team],
            )?;
            if changed == 0 {
                return Err(SiteError::NoSuchWorker.into());
            }
            Ok(None)
        }
        SiteChange::OptOut {
            id,
            opted_out_ms: Some(at_ms),
        } => {
            require_worker(tx, *id)?;
            tx.execute(
                "UPDATE worker SET opted_out_ms = ?2 WHERE id = ?1",
                params![id, at_ms],
            )?;
            tx.execute("DELETE FROM shift_report WHERE worker_id = ?1", [id])?;
            Ok(None)
        }
        SiteChange::OptOut {
            id,
            opted_out_ms: None,
        } => {
            let was_out: Option<bool> = tx
                .query_row(
                    "SELECT opted_out_ms IS NOT NULL FROM worker WHERE id = ?1",
                    [id],
                    |row| row.get(0),
                )
                .optional()?;
            match was_out {
                None => Err(SiteError::NoSuchWorker.into()),
                Some(false) => Ok(None),
                Some(true) => {
                    tx.execute("UPDATE worker SET opted_out_ms = NULL WHERE id = ?1", [id])?;
                    // Their reports come back from what was stored before the opt-out: every
                    // wearable is analysed again (analysis is fast; the worker may have worn any).
                    tx.execute("DELETE FROM analysis_progress", [])?;
                    Ok(None)
                }
            }
        }
        SiteChange::WorkerApplied {
            serial,
            worker,
            at_ms,
        } => {
            let tag = worker.map(|tag| tag.as_bytes().to_vec());
            tx.execute(
                "UPDATE roster_wearable SET applied_ms = ?2
                 WHERE serial = ?1 AND worker_id IS (SELECT id FROM worker WHERE tag = ?3)",
                params![serial, at_ms, tag],
            )?;
            Ok(None)
        }
        SiteChange::PutSetting { key, value } => {
            tx.execute(
                "INSERT INTO setting (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(None)
        }
        SiteChange::ConfigConfirmed {
            serial,
            confirmed,
            at_ms,
            problem,
        } => {
            let confirmed = confirmed
                .map(|config| serde_json::to_string(&config))
                .transpose()
                .map_err(|error| StoreError::Corrupt(error.to_string()))?;
            tx.execute(
                "INSERT INTO wearable_config (serial, confirmed, confirmed_ms, problem)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (serial) DO UPDATE SET confirmed = excluded.confirmed,
                    confirmed_ms = excluded.confirmed_ms, problem = excluded.problem",
                params![serial, confirmed, at_ms, problem],
            )?;
            Ok(None)
        }
        SiteChange::SetUserRole { name, role } => user_change(
            tx,
            "UPDATE user SET role = ?2 WHERE name = ?1",
            params![name, role.as_str()],
        ),
        SiteChange::SetUserDisabled { name, disabled } => user_change(
            tx,
            "UPDATE user SET disabled = ?2 WHERE name = ?1",
            params![name, disabled],
        ),
        SiteChange::SetUserPassword {
            name,
            password_hash,
        } => user_change(
            tx,
            "UPDATE user SET password_hash = ?2 WHERE name = ?1",
            params![name, password_hash],
        ),
        SiteChange::RemoveUser { name } => {
            user_change(tx, "DELETE FROM user WHERE name = ?1", params![name])
        }
    }
}

fn require_worker(tx: &Transaction<'_>, id: i64) -> Result<(), StoreError> {
    let known: Option<i64> = tx
        .query_row("SELECT 1 FROM worker WHERE id = ?1", [id], |row| row.get(0))
        .optional()?;
    match known {
        Some(_) => Ok(()),
        None => Err(SiteError::NoSuchWorker.into()),
    }
}

/// A tag first seen on a wearable has a bare `worker` row: the roster fills in its details. A tag
/// the roster already holds (details, or an opt-out) is refused.
fn add_worker(
    tx: &Transaction<'_>,
    tag: &WorkerTag,
    display_name: &Option<String>,
    task: &Option<String>,
    team: &Option<String>,
) -> Result<i64, StoreError> {
    let bytes = tag.as_bytes().as_slice();
    let known: Option<(i64, bool)> = tx
        .query_row(
            "SELECT id, display_name IS NOT NULL OR task IS NOT NULL OR team IS NOT NULL
                OR opted_out_ms IS NOT NULL
             FROM worker WHERE tag = ?1",
            [bytes],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    match known {
        Some((_, true)) => Err(SiteError::Exists.into()),
        Some((id, false)) => {
            tx.execute(
                "UPDATE worker SET display_name = ?2, task = ?3, team = ?4 WHERE id = ?1",
                params![id, display_name, task, team],
            )?;
            Ok(id)
        }
        None => {
            tx.execute(
                "INSERT INTO worker (tag, display_name, task, team) VALUES (?1, ?2, ?3, ?4)",
                params![bytes, display_name, task, team],
            )?;
            Ok(tx.last_insert_rowid())
        }
    }
}

fn user_change(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<SiteOutcome, StoreError> {
    if tx.execute(sql, params)? == 0 {
        return Err(SiteError::NoSuchUser.into());
    }
    Ok(None)
}

/// A stored tag as the wire knows it; `None` for bytes no wearable could have sent.
fn tag_from_column(bytes: Vec<u8>) -> Option<WorkerTag> {
    <[u8; 16]>::try_from(bytes)
        .ok()
        .and_then(WorkerTag::from_wire)
}

/// `setting` key of the alert thresholds pushed to every wearable (JSON `WearableConfig`).
pub const THRESHOLDS: &str = "thresholds";

impl Reader {
    /// Every wearable ever seen or put on the roster, by serial.
    pub fn roster_wearables(&self) -> Result<Vec<WearableRow>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT s.serial, r.worker_id, r.serial IS NOT NULL, r.applied_ms, w.last_docked_ms
                 FROM (SELECT serial FROM wearable UNION SELECT serial FROM roster_wearable) s
                 LEFT JOIN roster_wearable r ON r.serial = s.serial
                 LEFT JOIN wearable w ON w.serial = s.serial
                 ORDER BY s.serial",
            )?;
            let rows = query.query_map([], |row| {
                Ok(WearableRow {
                    serial: row.get(0)?,
                    worker: row.get(1)?,
                    assigned: row.get(2)?,
                    applied_ms: row.get(3)?,
                    last_docked_ms: row.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Every worker, by id. A row whose tag no wearable could have sent is left out (and logged by
    /// id only).
    pub fn workers(&self) -> Result<Vec<WorkerRow>, StoreError> {
        let rows = self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT w.id, w.tag, w.display_name, w.task, w.team, w.opted_out_ms,
                    (SELECT coalesce(sum(d.samples), 0) FROM opt_out_discard d WHERE d.worker_id = w.id)
                 FROM worker w ORDER BY w.id",
            )?;
            let rows = query.query_map([], |row| {
                let id: i64 = row.get(0)?;
                let Some(tag) = tag_from_column(row.get(1)?) else {
                    return Ok((id, None));
                };
                let discarded: i64 = row.get(6)?;
                Ok((
                    id,
                    Some(WorkerRow {
                        id,
                        tag,
                        display_name: row.get(2)?,
                        task: row.get(3)?,
                        team: row.get(4)?,
                        opted_out_ms: row.get(5)?,
                        discarded_samples: u64::try_from(discarded).unwrap_or(0),
                    }),
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, row)| {
                if row.is_none() {
                    tracing::warn!(
                        worker = id,
                        "A stored worker has a malformed badge tag; left off the roster."
                    );
                }
                row
            })
            .collect())
    }

    /// The `setting` row `key` (JSON text), if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached("SELECT value FROM setting WHERE key = ?1")?
                .query_row([key], |row| row.get(0))
                .optional()
        })
    }

    /// What the dock must bring wearable `serial` to at this docking.
    pub fn docking_orders(&self, serial: &str) -> Result<DockingOrders, StoreError> {
        let entry: Option<(Option<Vec<u8>>, bool)> = self.with(|conn| {
            conn.prepare_cached(
                "SELECT w.tag, r.applied_ms IS NOT NULL FROM roster_wearable r
                 LEFT JOIN worker w ON w.id = r.worker_id WHERE r.serial = ?1",
            )?
            .query_row([serial], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()
        })?;
        let (worker, worker_applied) = match entry {
            None => (None, false),
            Some((None, applied)) => (Some(None), applied),
            Some((Some(bytes), applied)) => match tag_from_column(bytes) {
                Some(tag) => (Some(Some(tag)), applied),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "the roster worker of wearable {serial} has a malformed badge tag"
                    )));
                }
            },
        };
        let config = match self.setting(THRESHOLDS)? {
            None => None,
            Some(json) => match serde_json::from_str::<WearableConfig>(&json) {
                Ok(config) => Some(config),
                Err(error) => {
                    tracing::warn!(error = %error, "The thresholds setting does not parse; wearables keep their own.");
                    None
                }
            },
        };
        Ok(DockingOrders {
            worker,
            worker_applied,
            config,
        })
    }

    /// Every wearable's latest threshold confirmation.
    pub fn config_states(&self) -> Result<Vec<ConfigState>, StoreError> {
        let rows = self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT serial, confirmed, confirmed_ms, problem FROM wearable_config ORDER BY serial",
            )?;
            let rows = query.query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(rows
            .into_iter()
            .map(|(serial, confirmed, at_ms, problem)| {
                let confirmed = confirmed.and_then(|json| {
                    serde_json::from_str(&json)
                        .inspect_err(|error| {
                            tracing::warn!(%serial, error = %error, "A stored threshold confirmation does not parse.");
                        })
                        .ok()
                });
                ConfigState {
                    serial,
                    confirmed,
                    at_ms,
                    problem,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NewUser;
    use crate::store::writer::tests::Scratch;
    use web_ui::access::Role;

    fn tag(text: &str) -> WorkerTag {
        WorkerTag::from_ascii(text).unwrap()
    }

    async fn add(store: &Scratch, badge: &str, name: Option<&str>) -> Result<i64, StoreError> {
        store
            .site(SiteChange::AddWorker {
                tag: tag(badge),
                display_name: name.map(str::to_owned),
                task: Some("picking".into()),
                team: Some("north".into()),
            })
            .await
            .map(|id| id.unwrap())
    }

    fn assign(serial: &str, worker: Option<i64>, at_ms: i64) -> SiteChange {
        SiteChange::AssignWearable {
            serial: serial.into(),
            worker,
            at_ms,
        }
    }

    #[tokio::test]
    async fn a_wearable_assigned_before_its_first_docking_is_on_the_roster_with_the_docked_ones() {
        let store = Scratch::new("site-roster");
        store.docking("KW-2", 1_000).await;
        let anna = add(&store, "B-1", Some("Anna")).await.unwrap();
        store.site(assign("KW-9", Some(anna), 50)).await.unwrap();

        let roster = store.reader.roster_wearables().unwrap();
        assert_eq!(
            roster,
            vec![
                WearableRow {
                    serial: "KW-2".into(),
                    worker: None,
                    assigned: false,
                    applied_ms: None,
                    last_docked_ms: Some(1_000),
                },
                WearableRow {
                    serial: "KW-9".into(),
                    worker: Some(anna),
                    assigned: true,
                    applied_ms: None,
                    last_docked_ms: None,
                },
            ]
        );
        let orders = store.reader.docking_orders("KW-9").unwrap();
        assert_eq!(orders.worker, Some(Some(tag("B-1"))));
        assert!(!orders.worker_applied);
        assert_eq!(store.reader.docking_orders("KW-2").unwrap().worker, None);
        store.close();
    }

    #[tokio::test]
    async fn assigning_a_wearable_to_an_unknown_worker_is_refused_and_changes_nothing() {
        let store = Scratch::new("site-assign-unknown");
        let refused = store.site(assign("KW-1", Some(99), 50)).await;
        assert!(matches!(
            refused,
            Err(StoreError::Site(SiteError::NoSuchWorker))
        ));
        assert!(store.reader.roster_wearables().unwrap().is_empty());
        store.close();
    }

    #[tokio::test]
    async fn assigning_a_wearable_to_no_one_orders_it_unassigned() {
        let store = Scratch::new("site-assign-none");
        store.site(assign("KW-1", None, 50)).await.unwrap();
        let orders = store.reader.docking_orders("KW-1").unwrap();
        assert_eq!(orders.worker, Some(None));
        let roster = store.reader.roster_wearables().unwrap();
        assert!(roster[0].assigned && roster[0].worker.is_none());
        store.close();
    }

    #[tokio::test]
    async fn a_worker_first_seen_on_a_wearable_gets_roster_details_but_a_roster_worker_cannot_be_added_twice()
     {
        let store = Scratch::new("site-add-worker");
        // A wearable showed the badge first: a bare worker row.
        let docking = store.docking("KW-1", 10).await;
        store
            .writer
            .store_segment(crate::store::NewSegment {
                key: crate::store::SegmentKey {
                    serial: "KW-1".into(),
                    segment_no: 1,
                    size: 1,
                    crc: 1,
                },
                docking_id: docking,
                events: vec![crate::store::EventRow {
                    kind: crate::store::EventKind::Worker,
                    worker: Some(tag("B-7")),
                    t_ms: Some(0),
                    wall_ms: None,
                    value: None,
                    flag: None,
                    body: None,
                }],
                ..Default::default()
            })
            .await
            .unwrap();
        let seen = store.reader.workers().unwrap()[0].id;

        let added = add(&store, "B-7", Some("Bo")).await.unwrap();
        assert_eq!(added, seen, "the same worker, now with details");
        let workers = store.reader.workers().unwrap();
        assert_eq!(workers.len(), 1);
        assert_eq!(workers[0].display_name.as_deref(), Some("Bo"));
        assert_eq!(workers[0].task.as_deref(), Some("picking"));

        assert!(matches!(
            add(&store, "B-7", Some("Bo again")).await,
            Err(StoreError::Site(SiteError::Exists))
        ));
        assert_eq!(
            store.reader.workers().unwrap()[0].display_name.as_deref(),
            Some("Bo")
        );
        store.close();
    }

    #[tokio::test]
    async fn editing_replaces_a_workers_details_and_an_unknown_worker_is_refused() {
        let store = Scratch::new("site-edit-worker");
        let id = add(&store, "B-1", Some("Anna")).await.unwrap();
        store
            .site(SiteChange::EditWorker {
                id,
                display_name: None,
                task: Some("packing".into()),
                team: None,
            })
            .await
            .unwrap();
        let worker = &store.reader.workers().unwrap()[0];
        assert_eq!(
            (
                worker.display_name.clone(),
                worker.task.clone(),
                worker.team.clone()
            ),
            (None, Some("packing".to_owned()), None)
        );
        let refused = store
            .site(SiteChange::EditWorker {
                id: id + 1,
                display_name: None,
                task: None,
                team: None,
            })
            .await;
        assert!(matches!(
            refused,
            Err(StoreError::Site(SiteError::NoSuchWorker))
        ));
        store.close();
    }

    #[tokio::test]
    async fn opting_out_deletes_the_workers_reports_and_opting_back_in_resets_analysis() {
        let store = Scratch::new("site-opt-out");
        let out = add(&store, "B-1", None).await.unwrap();
        let other = add(&store, "B-2", None).await.unwrap();
        store.docking("KW-1", 10).await;
        let wearable = store.number("SELECT id FROM wearable");
        // Reports and progress as the analyst leaves them (the writer path is tested in writer.rs).
        let report = |tag: &str| crate::store::reports::NewShiftReport {
            worker: Some(super::tests::tag(tag)),
            start_ms: 0,
            end_ms: 1,
            local_day: "2025-03-03".into(),
            risk_level: "low".into(),
            version: 1,
            settings: "s".into(),
            report: "{}".into(),
        };
        store
            .writer
            .replace_reports(crate::store::reports::ReportBatch {
                wearable_id: wearable,
                lo_ms: 0,
                hi_ms: 1,
                last_segment_id: Some(5),
                reports: vec![report("B-1"), report("B-2")],
            })
            .await
            .unwrap();

        store
            .site(SiteChange::OptOut {
                id: out,
                opted_out_ms: Some(77),
            })
            .await
            .unwrap();
        let workers = store.reader.workers().unwrap();
        assert_eq!(workers[0].opted_out_ms, Some(77));
        assert_eq!(
            store.number(&format!(
                "SELECT count(*) FROM shift_report WHERE worker_id = {out}"
            )),
            0
        );
        assert_eq!(
            store.number(&format!(
                "SELECT count(*) FROM shift_report WHERE worker_id = {other}"
            )),
            1
        );
        assert_eq!(
            store.number("SELECT count(*) FROM analysis_progress"),
            1,
            "opting out re-analyses nothing"
        );

        store
            .site(SiteChange::OptOut {
                id: out,
                opted_out_ms: None,
            })
            .await
            .unwrap();
        assert_eq!(store.reader.workers().unwrap()[0].opted_out_ms, None);
        assert_eq!(
            store.number("SELECT count(*) FROM analysis_progress"),
            0,
            "every wearable is analysed again"
        );
        assert!(matches!(
            store
                .site(SiteChange::OptOut {
                    id: 999,
                    opted_out_ms: Some(1),
                })
                .await,
            Err(StoreError::Site(SiteError::NoSuchWorker))
        ));
        store.close();
    }

    #[tokio::test]
    async fn a_wearable_confirms_only_the_assignment_the_roster_still_holds() {
        let store = Scratch::new("site-applied");
        let anna = add(&store, "B-1", None).await.unwrap();
        let bo = add(&store, "B-2", None).await.unwrap();
        store.site(assign("KW-1", Some(anna), 10)).await.unwrap();
        // The page moved the wearable to Bo while the dock was applying Anna.
        store.site(assign("KW-1", Some(bo), 20)).await.unwrap();
        let applied = |worker: &str, at_ms: i64| SiteChange::WorkerApplied {
            serial: "KW-1".into(),
            worker: Some(tag(worker)),
            at_ms,
        };
        store.site(applied("B-1", 30)).await.unwrap();
        assert_eq!(store.reader.roster_wearables().unwrap()[0].applied_ms, None);
        assert!(!store.reader.docking_orders("KW-1").unwrap().worker_applied);

        store.site(applied("B-2", 40)).await.unwrap();
        assert_eq!(
            store.reader.roster_wearables().unwrap()[0].applied_ms,
            Some(40)
        );
        assert!(store.reader.docking_orders("KW-1").unwrap().worker_applied);

        // A new assignment is pending again until the wearable confirms it.
        store.site(assign("KW-1", None, 50)).await.unwrap();
        assert_eq!(store.reader.roster_wearables().unwrap()[0].applied_ms, None);
        store
            .site(SiteChange::WorkerApplied {
                serial: "KW-1".into(),
                worker: None,
                at_ms: 60,
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.roster_wearables().unwrap()[0].applied_ms,
            Some(60)
        );
        store.close();
    }

    #[tokio::test]
    async fn thresholds_in_the_settings_become_docking_orders_and_a_malformed_value_orders_nothing()
    {
        let store = Scratch::new("site-thresholds");
        assert_eq!(store.reader.setting(THRESHOLDS).unwrap(), None);
        assert_eq!(
            store.reader.docking_orders("KW-1").unwrap(),
            DockingOrders::default()
        );
        let strict = WearableConfig {
            bend_alert: 3000,
            bend_hold_ms: 500,
            twist_alert: 400,
            haptics: false,
            rate_hz: 25,
        };
        store
            .site(SiteChange::PutSetting {
                key: THRESHOLDS.into(),
                value: serde_json::to_string(&strict).unwrap(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.docking_orders("KW-1").unwrap().config,
            Some(strict)
        );

        store
            .site(SiteChange::PutSetting {
                key: THRESHOLDS.into(),
                value: r#"{"bend_alert": "steep"}"#.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.setting(THRESHOLDS).unwrap().as_deref(),
            Some(r#"{"bend_alert": "steep"}"#)
        );
        assert_eq!(store.reader.docking_orders("KW-1").unwrap().config, None);
        store.close();
    }

    #[tokio::test]
    async fn the_latest_threshold_confirmation_of_each_wearable_is_kept() {
        let store = Scratch::new("site-config-state");
        let config = WearableConfig::default();
        store
            .site(SiteChange::ConfigConfirmed {
                serial: "KW-1".into(),
                confirmed: None,
                at_ms: 10,
                problem: Some("refused".into()),
            })
            .await
            .unwrap();
        store
            .site(SiteChange::ConfigConfirmed {
                serial: "KW-1".into(),
                confirmed: Some(config),
                at_ms: 20,
                problem: None,
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.config_states().unwrap(),
            vec![ConfigState {
                serial: "KW-1".into(),
                confirmed: Some(config),
                at_ms: Some(20),
                problem: None,
            }]
        );
        store.close();
    }

    #[tokio::test]
    async fn user_changes_apply_to_the_named_user_and_an_unknown_name_is_refused() {
        let store = Scratch::new("site-users");
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
        for change in [
            SiteChange::SetUserRole {
                name: "rita".into(),
                role: Role::Admin,
            },
            SiteChange::SetUserDisabled {
                name: "rita".into(),
                disabled: true,
            },
            SiteChange::SetUserPassword {
                name: "rita".into(),
                password_hash: "$argon2id$new".into(),
            },
        ] {
            store.site(change).await.unwrap();
        }
        let rita = store.reader.user("rita").unwrap().unwrap();
        assert_eq!(
            (rita.role, rita.disabled, rita.password_hash.as_str()),
            (Role::Admin, true, "$argon2id$new")
        );
        assert_eq!(
            store.reader.admin_count().unwrap(),
            0,
            "disabled admins do not count"
        );

        store
            .site(SiteChange::RemoveUser {
                name: "rita".into(),
            })
            .await
            .unwrap();
        assert!(store.reader.user("rita").unwrap().is_none());
        for change in [
            SiteChange::RemoveUser {
                name: "rita".into(),
            },
            SiteChange::SetUserDisabled {
                name: "nobody".into(),
                disabled: false,
            },
        ] {
            assert!(matches!(
                store.site(change).await,
                Err(StoreError::Site(SiteError::NoSuchUser))
            ));
        }
        store.close();
    }
}
