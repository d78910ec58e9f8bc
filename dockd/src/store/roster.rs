//! The store's side of the roster: wearable → worker assignments and what the dock knows of each
//! worker (badge tag, display name, task, team, opt-out). It owns that SQL; it must never log a
//! badge tag or a display name, and never hand a tag to anything but the pull (SET_WORKER) and the
//! roster view.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Transaction, params};

use super::{Reader, StoreError};
use crate::analysis::nuisance::{self, Baseline};
use crate::link::WearableConfig;
use crate::worker::{Pseudonyms, WorkerTag};

/// One change to the roster, applied by `Writer::roster` in its own savepoint.
#[derive(Clone, PartialEq)]
pub enum RosterChange {
    /// Assign wearable `serial` (created if never seen) to worker `worker`, or to no one.
    AssignWearable {
        serial: String,
        worker: Option<i64>,
        at_ms: i64,
    },
    /// Creates the worker of this tag if unknown (error `RosterError::Exists` if known).
    AddWorker {
        tag: WorkerTag,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Replaces a worker's details (error `RosterError::NoSuchWorker` if unknown).
    EditWorker {
        id: i64,
        display_name: Option<String>,
        task: Option<String>,
        team: Option<String>,
    },
    /// Opts a worker out (`opted_out_ms` set: from now on the writer discards their samples, alerts
    /// and events at ingest, and their shift reports are deleted) or back in (`None`: reports are
    /// rebuilt by resetting every wearable's analysis progress).
    OptOut { id: i64, opted_out_ms: Option<i64> },
    /// The wearable confirmed (with SET_WORKER → OK, or its INFO) that it carries `worker`. The
    /// roster entry is marked applied only if it still assigns that worker, so a change made on
    /// the page while the dock was applying the previous one stays pending.
    WorkerApplied {
        serial: String,
        worker: Option<WorkerTag>,
        at_ms: i64,
    },
}

/// Never prints a tag or a name.
impl std::fmt::Debug for RosterChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            RosterChange::AssignWearable { .. } => "AssignWearable",
            RosterChange::AddWorker { .. } => "AddWorker",
            RosterChange::EditWorker { .. } => "EditWorker",
            RosterChange::OptOut { .. } => "OptOut",
            RosterChange::WorkerApplied { .. } => "WorkerApplied",
        };
        write!(f, "RosterChange::{name}(…)")
    }
}

/// Why a roster change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("a worker with that badge tag is already on the roster")]
    Exists,
    #[error("no such worker")]
    NoSuchWorker,
}

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
#[derive(Debug, Clone, PartialEq)]
pub struct DockingOrders {
    /// `Some(tag)`: the roster assigns the wearable to this worker (`Some(None)`: to no one) and
    /// SET_WORKER must be sent if INFO shows otherwise; `None`: the roster says nothing.
    pub worker: Option<Option<WorkerTag>>,
    /// Whether the wearable already confirmed the roster's current assignment (`applied_ms`).
    pub worker_applied: bool,
    /// The thresholds to run: the admin's (setting `thresholds`), or during the roster worker's
    /// silent baseline the same with haptics off, after it with the site's suggestion
    /// (`analysis::nuisance::ordered_config`); `None`: leave the wearable's.
    pub config: Option<WearableConfig>,
    /// Where the roster worker stands in the silent baseline.
    pub baseline: Baseline,
}

impl Default for DockingOrders {
    fn default() -> Self {
        Self {
            worker: None,
            worker_applied: false,
            config: None,
            baseline: Baseline::Off,
        }
    }
}

/// Applies one change inside the writer's savepoint.
/// `keys`: the pseudonym key in force, with which adding a deleted worker's tag again lifts their
/// tombstone.
pub(super) fn apply(
    tx: &Transaction<'_>,
    keys: Option<&Pseudonyms>,
    change: &RosterChange,
) -> Result<Option<i64>, StoreError> {
    match change {
        RosterChange::AssignWearable {
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
        RosterChange::AddWorker {
            tag,
            display_name,
            task,
            team,
        } => add_worker(tx, keys, tag, display_name, task, team).map(Some),
        RosterChange::EditWorker {
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
                return Err(RosterError::NoSuchWorker.into());
            }
            Ok(None)
        }
        RosterChange::OptOut {
            id,
            opted_out_ms: Some(at_ms),
        } => {
            require_worker(tx, *id)?;
            tx.execute(
                "UPDATE worker SET opted_out_ms = ?2 WHERE id = ?1",
                params![id, at_ms],
            )?;
            tx.execute("DELETE FROM shift_report WHERE worker_id = ?1", [id])?;
            super::outbox::drop_worker_items(tx, *id)?;
            Ok(None)
        }
        RosterChange::OptOut {
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
                None => Err(RosterError::NoSuchWorker.into()),
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
        RosterChange::WorkerApplied {
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
    }
}

pub(super) fn require_worker(tx: &Transaction<'_>, id: i64) -> Result<(), StoreError> {
    let known: Option<i64> = tx
        .query_row("SELECT 1 FROM worker WHERE id = ?1", [id], |row| row.get(0))
        .optional()?;
    match known {
        Some(_) => Ok(()),
        None => Err(RosterError::NoSuchWorker.into()),
    }
}

/// A tag first seen on a wearable has a bare `worker` row: the roster fills in its details. A tag
/// the roster already holds (details, or an opt-out) is refused. A deleted worker's tag put on
/// the roster again (a badge handed to someone new) lifts its tombstone: the dock keeps what is
/// worn under it again.
fn add_worker(
    tx: &Transaction<'_>,
    keys: Option<&Pseudonyms>,
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
        Some((_, true)) => Err(RosterError::Exists.into()),
        Some((id, false)) => {
            tx.execute(
                "UPDATE worker SET display_name = ?2, task = ?3, team = ?4 WHERE id = ?1",
                params![id, display_name, task, team],
            )?;
            Ok(id)
        }
        None => {
            super::deletion::lift(tx, keys, tag)?;
            tx.execute(
                "INSERT INTO worker (tag, display_name, task, team) VALUES (?1, ?2, ?3, ?4)",
                params![bytes, display_name, task, team],
            )?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// Who wore a row's data, as ingest, the reports and the outbox need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wearer {
    /// A worker whose data is kept, by id.
    Kept(i64),
    /// A worker who opted out: their data is discarded (and counted under their id).
    OptedOut(i64),
    /// A deleted worker (their tag matches a tombstone): their data is discarded, and no worker
    /// row is made for the tag again.
    Deleted,
}

impl Wearer {
    /// The worker id rows are stored under, or `None` when they are discarded.
    pub(super) fn kept(self) -> Option<i64> {
        match self {
            Wearer::Kept(id) => Some(id),
            Wearer::OptedOut(_) | Wearer::Deleted => None,
        }
    }
}

/// Who wears `tag`: the worker of that tag, made the first time a wearable shows it, unless the
/// tag matches a deleted worker's tombstone (`keys`: the pseudonym key in force, which the
/// tombstones are checked with). `None` for no worker.
pub(super) fn known_worker(
    tx: &Transaction<'_>,
    keys: Option<&Pseudonyms>,
    cache: &mut HashMap<WorkerTag, Wearer>,
    tag: Option<WorkerTag>,
) -> Result<Option<Wearer>, StoreError> {
    let Some(tag) = tag else { return Ok(None) };
    if let Some(wearer) = cache.get(&tag) {
        return Ok(Some(*wearer));
    }
    let bytes = tag.as_bytes().as_slice();
    let known: Option<(i64, bool)> = tx
        .prepare_cached("SELECT id, opted_out_ms IS NOT NULL FROM worker WHERE tag = ?1")?
        .query_row([bytes], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let wearer = match known {
        Some((id, true)) => Wearer::OptedOut(id),
        Some((id, false)) => Wearer::Kept(id),
        None if super::deletion::tombstoned(tx, keys, &tag)? => Wearer::Deleted,
        None => {
            tx.prepare_cached("INSERT INTO worker (tag) VALUES (?1)")?
                .execute([bytes])?;
            Wearer::Kept(tx.last_insert_rowid())
        }
    };
    cache.insert(tag, wearer);
    Ok(Some(wearer))
}

/// A stored tag as the wire knows it; `None` for bytes no wearable could have sent.
pub(super) fn tag_from_column(bytes: Vec<u8>) -> Option<WorkerTag> {
    <[u8; 16]>::try_from(bytes)
        .ok()
        .and_then(WorkerTag::from_wire)
}

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

    /// Every worker's display name by id (`None`: no name), for naming workers when audit lines
    /// are read: the trail itself names them by id only.
    pub fn worker_names(&self) -> Result<HashMap<i64, Option<String>>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached("SELECT id, display_name FROM worker")?;
            let rows = query.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        })
    }

    /// When worker `id` was first worn: the start of their earliest stored shift report or their
    /// earliest stored sample, whichever is earlier; `None` if neither exists.
    pub fn first_wear_ms(&self, id: i64) -> Result<Option<i64>, StoreError> {
        self.with(|conn| {
            conn.prepare_cached(
                "SELECT min(first) FROM (
                    SELECT min(start_ms) AS first FROM shift_report WHERE worker_id = ?1
                    UNION ALL
                    SELECT min(wall_ms) FROM sample_block WHERE worker_id = ?1 AND wall_ms IS NOT NULL)",
            )?
            .query_row([id], |row| row.get(0))
        })
    }

    /// Where roster worker `worker` stands in a silent baseline of `days` at `now_ms`
    /// (`analysis::nuisance::baseline` from their first wear); `Off` without a worker, and for an
    /// opted-out worker (nothing of theirs is ever stored, so a baseline would never end).
    pub fn baseline(
        &self,
        worker: Option<i64>,
        days: u32,
        now_ms: i64,
    ) -> Result<Baseline, StoreError> {
        let Some(id) = worker.filter(|_| days > 0) else {
            return Ok(Baseline::Off);
        };
        let opted_out: Option<bool> = self.with(|conn| {
            conn.prepare_cached("SELECT opted_out_ms IS NOT NULL FROM worker WHERE id = ?1")?
                .query_row([id], |row| row.get(0))
                .optional()
        })?;
        if opted_out != Some(false) {
            return Ok(Baseline::Off);
        }
        Ok(nuisance::baseline(days, self.first_wear_ms(id)?, now_ms))
    }

    /// What the dock must bring wearable `serial` to at this docking, at `now_ms`.
    pub fn docking_orders(&self, serial: &str, now_ms: i64) -> Result<DockingOrders, StoreError> {
        let entry: Option<(Option<i64>, Option<Vec<u8>>, bool)> = self.with(|conn| {
            conn.prepare_cached(
                "SELECT r.worker_id, w.tag, r.applied_ms IS NOT NULL FROM roster_wearable r
                 LEFT JOIN worker w ON w.id = r.worker_id WHERE r.serial = ?1",
            )?
            .query_row([serial], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()
        })?;
        let (worker, worker_applied, worker_id) = match entry {
            None => (None, false, None),
            Some((_, None, applied)) => (Some(None), applied, None),
            Some((id, Some(bytes), applied)) => match tag_from_column(bytes) {
                Some(tag) => (Some(Some(tag)), applied, id),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "the roster worker of wearable {serial} has a malformed badge tag"
                    )));
                }
            },
        };
        let (baseline, config) = self
            .ordered_configs(&[worker_id], now_ms)?
            .pop()
            .unwrap_or((Baseline::Off, None));
        Ok(DockingOrders {
            worker,
            worker_applied,
            config,
            baseline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::Scratch;

    fn tag(text: &str) -> WorkerTag {
        WorkerTag::from_ascii(text).unwrap()
    }

    async fn add(store: &Scratch, badge: &str, name: Option<&str>) -> Result<i64, StoreError> {
        store
            .roster(RosterChange::AddWorker {
                tag: tag(badge),
                display_name: name.map(str::to_owned),
                task: Some("picking".into()),
                team: Some("north".into()),
            })
            .await
            .map(|id| id.unwrap())
    }

    fn assign(serial: &str, worker: Option<i64>, at_ms: i64) -> RosterChange {
        RosterChange::AssignWearable {
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
        store.roster(assign("KW-9", Some(anna), 50)).await.unwrap();

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
        let orders = store.reader.docking_orders("KW-9", 0).unwrap();
        assert_eq!(orders.worker, Some(Some(tag("B-1"))));
        assert!(!orders.worker_applied);
        assert_eq!(store.reader.docking_orders("KW-2", 0).unwrap().worker, None);
        store.close();
    }

    #[tokio::test]
    async fn assigning_a_wearable_to_an_unknown_worker_is_refused_and_changes_nothing() {
        let store = Scratch::new("site-assign-unknown");
        let refused = store.roster(assign("KW-1", Some(99), 50)).await;
        assert!(matches!(
            refused,
            Err(StoreError::Roster(RosterError::NoSuchWorker))
        ));
        assert!(store.reader.roster_wearables().unwrap().is_empty());
        store.close();
    }

    #[tokio::test]
    async fn assigning_a_wearable_to_no_one_orders_it_unassigned() {
        let store = Scratch::new("site-assign-none");
        store.roster(assign("KW-1", None, 50)).await.unwrap();
        let orders = store.reader.docking_orders("KW-1", 0).unwrap();
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
                    body_len: None,
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
            Err(StoreError::Roster(RosterError::Exists))
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
            .roster(RosterChange::EditWorker {
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
            .roster(RosterChange::EditWorker {
                id: id + 1,
                display_name: None,
                task: None,
                team: None,
            })
            .await;
        assert!(matches!(
            refused,
            Err(StoreError::Roster(RosterError::NoSuchWorker))
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
                outbox: Vec::new(),
                pseudonyms: Vec::new(),
            })
            .await
            .unwrap();

        store
            .roster(RosterChange::OptOut {
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
            .roster(RosterChange::OptOut {
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
                .roster(RosterChange::OptOut {
                    id: 999,
                    opted_out_ms: Some(1),
                })
                .await,
            Err(StoreError::Roster(RosterError::NoSuchWorker))
        ));
        store.close();
    }

    #[tokio::test]
    async fn a_wearable_confirms_only_the_assignment_the_roster_still_holds() {
        let store = Scratch::new("site-applied");
        let anna = add(&store, "B-1", None).await.unwrap();
        let bo = add(&store, "B-2", None).await.unwrap();
        store.roster(assign("KW-1", Some(anna), 10)).await.unwrap();
        // The page moved the wearable to Bo while the dock was applying Anna.
        store.roster(assign("KW-1", Some(bo), 20)).await.unwrap();
        let applied = |worker: &str, at_ms: i64| RosterChange::WorkerApplied {
            serial: "KW-1".into(),
            worker: Some(tag(worker)),
            at_ms,
        };
        store.roster(applied("B-1", 30)).await.unwrap();
        assert_eq!(store.reader.roster_wearables().unwrap()[0].applied_ms, None);
        assert!(
            !store
                .reader
                .docking_orders("KW-1", 0)
                .unwrap()
                .worker_applied
        );

        store.roster(applied("B-2", 40)).await.unwrap();
        assert_eq!(
            store.reader.roster_wearables().unwrap()[0].applied_ms,
            Some(40)
        );
        assert!(
            store
                .reader
                .docking_orders("KW-1", 0)
                .unwrap()
                .worker_applied
        );

        // A new assignment is pending again until the wearable confirms it.
        store.roster(assign("KW-1", None, 50)).await.unwrap();
        assert_eq!(store.reader.roster_wearables().unwrap()[0].applied_ms, None);
        store
            .roster(RosterChange::WorkerApplied {
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
}
