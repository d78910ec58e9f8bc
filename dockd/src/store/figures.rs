//! The counts `dockd metrics` reads from what the store already keeps: dockings by outcome, the
//! bytes of stored segments, the outbox's ready batches, the deliveries and evictions the upload
//! recorded. It owns these read-only queries; it must never write, nor read a row's content
//! beyond its outcome and sizes.

use super::{Reader, StoreError};

/// The store's counters for the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFigures {
    /// Dockings by their recorded outcome (`None`: still docked, or cut off by a crash).
    pub dockings: Vec<(Option<String>, u64)>,
    pub segment_bytes: u64,
    pub ready_batches: u64,
    pub ready_batch_bytes: u64,
    pub delivered_batches: u64,
    pub delivered_items: u64,
    pub evictions: u64,
}

impl Reader {
    /// The store's counters, in one read transaction.
    pub fn figures(&self) -> Result<StoreFigures, StoreError> {
        self.with(|conn| {
            let tx = conn.unchecked_transaction()?;
            let count = |v: i64| u64::try_from(v).unwrap_or(0);
            let dockings = tx
                .prepare("SELECT outcome, count(*) FROM docking GROUP BY outcome ORDER BY outcome")?
                .query_map([], |r| Ok((r.get::<_, Option<String>>(0)?, count(r.get(1)?))))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let segment_bytes =
                tx.query_row("SELECT coalesce(sum(size), 0) FROM segment", [], |r| r.get(0))?;
            let (ready_batches, ready_batch_bytes): (i64, i64) = tx.query_row(
                "SELECT count(*), coalesce(sum(body_bytes), 0) FROM outbox_batch WHERE state = 'ready'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (delivered_batches, delivered_items, evictions): (i64, i64, i64) = tx
                .query_row(
                    "SELECT delivered_batches, delivered_items, evictions FROM upload_state WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .or_else(|error| match error {
                    rusqlite::Error::QueryReturnedNoRows => Ok((0, 0, 0)),
                    other => Err(other),
                })?;
            tx.finish()?;
            Ok(StoreFigures {
                dockings,
                segment_bytes: count(segment_bytes),
                ready_batches: count(ready_batches),
                ready_batch_bytes: count(ready_batch_bytes),
                delivered_batches: count(delivered_batches),
                delivered_items: count(delivered_items),
                evictions: count(evictions),
            })
        })
    }
}
