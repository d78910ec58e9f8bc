//! The store's side of work restrictions (return-to-work limits a supervisor records for a
//! worker): their SQL, the changes the writer applies, the reader's queries, and the retention
//! sweep. It owns table `work_restriction`; it must never log a work restriction's terms, hand one
//! to anything but the pages' views and the analysis check, nor keep one past
//! [`RETENTION_DAYS`] after its last day.
//!
//! **Architecture invariant:** work restrictions never leave the dock: they are read only through
//! the [`Reader`] methods here (`work_restrictions_of`, `work_restrictions_between_days`,
//! `work_restrictions`), which only `views` call; `tests/e2e/tidy.rs` fails if anything else in
//! the daemon names them.
//!
//! Why 90 days: a return-to-work review looks back over the weeks of modified duties once they
//! end (the flags of those weeks must still be explainable then); a quarter covers that review and
//! a late one, and health-related data is kept no longer than its purpose needs (GDPR art. 5(1)(e)).

use jiff::ToSpan;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{Reader, StoreError};
use crate::analysis::work_restrictions::{WorkRestriction, WorkRestrictionTerms};

/// Days a work restriction is kept after its last day in force; then the sweep deletes it for good.
/// The default of `[privacy.retention_days] work_restrictions`.
pub const RETENTION_DAYS: i64 = 90;

/// One change to the work restrictions, applied by `Writer::work_restrictions` in its savepoint.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkRestrictionChange {
    /// Records a new work restriction for worker `worker` (error if the worker is unknown).
    Record {
        worker: i64,
        from_day: String,
        until_day: String,
        terms: WorkRestrictionTerms,
        at_ms: i64,
    },
    /// Replaces a work restriction's dates and terms.
    Edit {
        id: i64,
        from_day: String,
        until_day: String,
        terms: WorkRestrictionTerms,
        at_ms: i64,
    },
    /// Ends it early: `last_day` becomes its last day in force (if earlier than the one set). One
    /// that would end before it starts was never in force and is withdrawn (deleted).
    End {
        id: i64,
        last_day: String,
        at_ms: i64,
    },
    /// Deletes for good every work restriction whose last day is more than `keep_days`
    /// (`[privacy.retention_days] work_restrictions`) before site-local `today` (`YYYY-MM-DD`).
    Sweep { today: String, keep_days: u32 },
    /// Deletes every work restriction of a worker (for the coming deletion of a worker's data).
    DeleteOfWorker { worker: i64 },
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkRestrictionDone {
    /// Recorded or edited: its id.
    Saved(i64),
    /// Ended early.
    Ended,
    /// Ended before it started: deleted.
    Withdrawn,
    /// Work restrictions deleted (sweep, or of a worker).
    Deleted(u64),
}

/// Applies one change inside the writer's savepoint.
pub(super) fn apply(
    tx: &Transaction<'_>,
    change: &WorkRestrictionChange,
) -> Result<WorkRestrictionDone, StoreError> {
    match change {
        WorkRestrictionChange::Record {
            worker,
            from_day,
            until_day,
            terms,
            at_ms,
        } => {
            super::roster::require_worker(tx, *worker)?;
            tx.execute(
                "INSERT INTO work_restriction (worker_id, from_day, until_day, no_deep_bends,
                    max_lifts_per_hour, max_bends_per_hour, max_load_kg, recorded_ms, changed_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                row_values(*worker, from_day, until_day, terms, *at_ms),
            )?;
            Ok(WorkRestrictionDone::Saved(tx.last_insert_rowid()))
        }
        WorkRestrictionChange::Edit {
            id,
            from_day,
            until_day,
            terms,
            at_ms,
        } => {
            let changed = tx.execute(
                "UPDATE work_restriction SET from_day = ?2, until_day = ?3, no_deep_bends = ?4,
                    max_lifts_per_hour = ?5, max_bends_per_hour = ?6, max_load_kg = ?7,
                    changed_ms = ?8
                 WHERE id = ?1",
                row_values(*id, from_day, until_day, terms, *at_ms),
            )?;
            if changed == 0 {
                return Err(StoreError::NoSuchWorkRestriction);
            }
            Ok(WorkRestrictionDone::Saved(*id))
        }
        WorkRestrictionChange::End {
            id,
            last_day,
            at_ms,
        } => {
            let from_day: Option<String> = tx
                .query_row(
                    "SELECT from_day FROM work_restriction WHERE id = ?1",
                    [id],
                    |row| row.get(0),
                )
                .optional()?;
            let Some(from_day) = from_day else {
                return Err(StoreError::NoSuchWorkRestriction);
            };
            if last_day.as_str() < from_day.as_str() {
                tx.execute("DELETE FROM work_restriction WHERE id = ?1", [id])?;
                return Ok(WorkRestrictionDone::Withdrawn);
            }
            tx.execute(
                "UPDATE work_restriction SET until_day = min(until_day, ?2), changed_ms = ?3
                 WHERE id = ?1",
                params![id, last_day, at_ms],
            )?;
            Ok(WorkRestrictionDone::Ended)
        }
        WorkRestrictionChange::Sweep { today, keep_days } => {
            let cutoff = kept_since(today, *keep_days)?;
            let deleted = tx.execute(
                "DELETE FROM work_restriction WHERE until_day < ?1",
                [cutoff],
            )?;
            Ok(WorkRestrictionDone::Deleted(deleted as u64))
        }
        WorkRestrictionChange::DeleteOfWorker { worker } => {
            let deleted = tx.execute(
                "DELETE FROM work_restriction WHERE worker_id = ?1",
                [worker],
            )?;
            Ok(WorkRestrictionDone::Deleted(deleted as u64))
        }
    }
}

/// The eight values a record or an edit binds, in column order after the key (`?1`: the worker
/// for a record, the work restriction's id for an edit).
fn row_values<'a>(
    key: i64,
    from_day: &'a str,
    until_day: &'a str,
    terms: &'a WorkRestrictionTerms,
    at_ms: i64,
) -> impl rusqlite::Params + 'a {
    (
        key,
        from_day,
        until_day,
        terms.no_deep_bends,
        terms.max_lifts_per_hour,
        terms.max_bends_per_hour,
        terms.max_load_kg,
        at_ms,
    )
}

/// The earliest last day still kept on site-local `today`: `today − keep_days`.
fn kept_since(today: &str, keep_days: u32) -> Result<String, StoreError> {
    let today: jiff::civil::Date = today
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("{today} is not a day")))?;
    let since = today
        .checked_sub(i64::from(keep_days).days())
        .map_err(|_| StoreError::Corrupt("a day out of range".to_owned()))?;
    Ok(since.to_string())
}

const COLUMNS: &str = "id, worker_id, from_day, until_day, no_deep_bends, max_lifts_per_hour,
    max_bends_per_hour, max_load_kg";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<WorkRestriction> {
    Ok(WorkRestriction {
        id: row.get(0)?,
        worker: row.get(1)?,
        from_day: row.get(2)?,
        until_day: row.get(3)?,
        terms: WorkRestrictionTerms {
            no_deep_bends: row.get(4)?,
            max_lifts_per_hour: row.get(5)?,
            max_bends_per_hour: row.get(6)?,
            max_load_kg: row.get(7)?,
        },
    })
}

impl Reader {
    /// Every work restriction of `worker` still kept, by first day (newest last).
    pub fn work_restrictions_of(&self, worker: i64) -> Result<Vec<WorkRestriction>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM work_restriction WHERE worker_id = ?1
                 ORDER BY from_day, id"
            ))?;
            let rows = query.query_map([worker], from_row)?;
            rows.collect()
        })
    }

    /// Every work restriction in force on some day from `from_day` to `until_day` (both
    /// included), by worker and first day.
    pub fn work_restrictions_between_days(
        &self,
        from_day: &str,
        until_day: &str,
    ) -> Result<Vec<WorkRestriction>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM work_restriction WHERE from_day <= ?2 AND until_day >= ?1
                 ORDER BY worker_id, from_day, id"
            ))?;
            let rows = query.query_map([from_day, until_day], from_row)?;
            rows.collect()
        })
    }

    /// Every work restriction still kept, by worker and first day (the Roster lists them).
    pub fn work_restrictions(&self) -> Result<Vec<WorkRestriction>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM work_restriction ORDER BY worker_id, from_day, id"
            ))?;
            let rows = query.query_map([], from_row)?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::roster::RosterChange;
    use crate::store::testing::Scratch;
    use crate::worker::WorkerTag;

    async fn worker(store: &Scratch) -> i64 {
        store
            .roster(RosterChange::AddWorker {
                tag: WorkerTag::from_ascii("B-0042").unwrap(),
                display_name: None,
                task: None,
                team: None,
            })
            .await
            .unwrap()
            .unwrap()
    }

    fn no_deep_bends() -> WorkRestrictionTerms {
        WorkRestrictionTerms {
            no_deep_bends: true,
            ..WorkRestrictionTerms::default()
        }
    }

    async fn record(store: &Scratch, worker: i64, from: &str, until: &str) -> i64 {
        let done = store
            .writer
            .work_restrictions(WorkRestrictionChange::Record {
                worker,
                from_day: from.to_owned(),
                until_day: until.to_owned(),
                terms: no_deep_bends(),
                at_ms: 1,
            })
            .await
            .unwrap();
        match done {
            WorkRestrictionDone::Saved(id) => id,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_work_restriction_is_recorded_edited_and_ended_early_keeping_the_history() {
        let store = Scratch::new("work-restriction-edit");
        let worker = worker(&store).await;
        let first = record(&store, worker, "2025-01-06", "2025-01-31").await;
        let second = record(&store, worker, "2025-03-03", "2025-03-31").await;
        let lighter = WorkRestrictionTerms {
            max_lifts_per_hour: Some(10),
            max_load_kg: Some(12.5),
            ..WorkRestrictionTerms::default()
        };
        store
            .writer
            .work_restrictions(WorkRestrictionChange::Edit {
                id: second,
                from_day: "2025-03-04".to_owned(),
                until_day: "2025-04-30".to_owned(),
                terms: lighter.clone(),
                at_ms: 2,
            })
            .await
            .unwrap();
        let ended = store
            .writer
            .work_restrictions(WorkRestrictionChange::End {
                id: second,
                last_day: "2025-03-20".to_owned(),
                at_ms: 3,
            })
            .await
            .unwrap();
        assert_eq!(ended, WorkRestrictionDone::Ended);
        let kept = store.reader.work_restrictions_of(worker).unwrap();
        assert_eq!(kept.len(), 2, "the earlier one is history, still kept");
        assert_eq!(kept[0].id, first);
        assert_eq!(
            (kept[1].from_day.as_str(), kept[1].until_day.as_str()),
            ("2025-03-04", "2025-03-20")
        );
        assert_eq!(kept[1].terms, lighter);
        // Ending "later" than its last day changes nothing.
        store
            .writer
            .work_restrictions(WorkRestrictionChange::End {
                id: first,
                last_day: "2025-02-15".to_owned(),
                at_ms: 4,
            })
            .await
            .unwrap();
        assert_eq!(
            store.reader.work_restrictions_of(worker).unwrap()[0].until_day,
            "2025-01-31"
        );
        // In force over a span: only the one overlapping it.
        let march = store
            .reader
            .work_restrictions_between_days("2025-03-01", "2025-03-10")
            .unwrap();
        assert_eq!(march.iter().map(|w| w.id).collect::<Vec<_>>(), [second]);
        store.close();
    }

    #[tokio::test]
    async fn ending_a_work_restriction_before_it_starts_withdraws_it_and_unknown_ones_are_refused()
    {
        let store = Scratch::new("work-restriction-end");
        let worker = worker(&store).await;
        let id = record(&store, worker, "2025-03-10", "2025-03-31").await;
        let done = store
            .writer
            .work_restrictions(WorkRestrictionChange::End {
                id,
                last_day: "2025-03-09".to_owned(),
                at_ms: 2,
            })
            .await
            .unwrap();
        assert_eq!(done, WorkRestrictionDone::Withdrawn);
        assert!(store.reader.work_restrictions().unwrap().is_empty());
        for change in [
            WorkRestrictionChange::End {
                id,
                last_day: "2025-03-09".to_owned(),
                at_ms: 2,
            },
            WorkRestrictionChange::Edit {
                id,
                from_day: "2025-03-01".to_owned(),
                until_day: "2025-03-02".to_owned(),
                terms: no_deep_bends(),
                at_ms: 2,
            },
        ] {
            assert!(matches!(
                store.writer.work_restrictions(change).await,
                Err(StoreError::NoSuchWorkRestriction)
            ));
        }
        let unknown_worker = store
            .writer
            .work_restrictions(WorkRestrictionChange::Record {
                worker: worker + 100,
                from_day: "2025-03-01".to_owned(),
                until_day: "2025-03-02".to_owned(),
                terms: no_deep_bends(),
                at_ms: 1,
            })
            .await;
        assert!(unknown_worker.is_err());
        // The schema refuses an end before the start even if a caller forgot to check.
        let backwards = store
            .writer
            .work_restrictions(WorkRestrictionChange::Record {
                worker,
                from_day: "2025-03-02".to_owned(),
                until_day: "2025-03-01".to_owned(),
                terms: no_deep_bends(),
                at_ms: 1,
            })
            .await;
        assert!(backwards.is_err());
        assert!(store.reader.work_restrictions().unwrap().is_empty());
        store.close();
    }

    #[tokio::test]
    async fn the_sweep_deletes_a_work_restriction_ninety_days_after_its_last_day_and_not_before() {
        let store = Scratch::new("work-restriction-sweep");
        let worker = worker(&store).await;
        record(&store, worker, "2025-01-01", "2025-01-31").await;
        let later = record(&store, worker, "2025-02-01", "2025-02-28").await;
        let sweep = |today: &str| WorkRestrictionChange::Sweep {
            today: today.to_owned(),
            keep_days: 90,
        };
        // 2025-01-31 + 90 days = 2025-05-01: still kept that day.
        let done = store
            .writer
            .work_restrictions(sweep("2025-05-01"))
            .await
            .unwrap();
        assert_eq!(done, WorkRestrictionDone::Deleted(0));
        assert_eq!(store.reader.work_restrictions().unwrap().len(), 2);
        let done = store
            .writer
            .work_restrictions(sweep("2025-05-02"))
            .await
            .unwrap();
        assert_eq!(done, WorkRestrictionDone::Deleted(1));
        let kept = store.reader.work_restrictions().unwrap();
        assert_eq!(kept.iter().map(|w| w.id).collect::<Vec<_>>(), [later]);
        assert_eq!(
            store.number("SELECT count(*) FROM work_restriction"),
            1,
            "deleted from the file, not hidden"
        );
        let done = store
            .writer
            .work_restrictions(WorkRestrictionChange::DeleteOfWorker { worker })
            .await
            .unwrap();
        assert_eq!(done, WorkRestrictionDone::Deleted(1));
        assert!(
            store
                .reader
                .work_restrictions_of(worker)
                .unwrap()
                .is_empty()
        );
        store.close();
    }
}
