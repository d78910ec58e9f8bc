//! The audit trail's hash chain: each entry's link is the SHA-256 of the previous link and the
//! entry, written in the entry's own transaction, and its verification. It owns `audit_link` and
//! `audit_chain_state`; it must never link an entry it did not write itself (beyond the one-time
//! backfill of entries older than the chain), nor change or remove a link.
//!
//! **Link** of entry `e` after link `p` (64 hex; the first entry's `p` is [`GENESIS`]):
//! `hex(SHA-256(p ‖ "\n" ‖ JSON [id, at_ms, user, action, subject]))`, the JSON as serde_json
//! writes it (no spaces). Anyone holding a copy of the trail can recompute it.
//!
//! **What it detects**: an entry changed, removed from the middle, reordered, or added outside
//! dockd (no link), from the chain alone; a cut-off tail or a consistently rewritten chain against
//! the **anchors**: the head (last id and link) taken at most every [`ANCHOR_EVERY_MS`] when entries
//! are written, kept in `audit_anchor` and uploaded as `audit_anchor` records, so a rewrite that
//! also removes the dock's anchors still disagrees with the cloud's copy.

use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{Reader, StoreError};

/// How often the chain's head is anchored at most (when entries are written).
pub const ANCHOR_EVERY_MS: i64 = 3_600_000;

/// The link before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The link of entry (`id`, `at_ms`, `user`, `action`, `subject`) after link `previous`.
pub fn link(
    previous: &str,
    id: i64,
    at_ms: i64,
    user: &str,
    action: &str,
    subject: &str,
) -> String {
    // A tuple of plain values always serialises.
    let entry = serde_json::to_string(&(id, at_ms, user, action, subject)).unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(previous.as_bytes());
    hash.update(b"\n");
    hash.update(entry.as_bytes());
    hex::encode(hash.finalize())
}

/// Links the audit entries written since the last link, in id order, up to and including `until`
/// (the entries this transaction wrote, or the entries older than the chain).
fn link_through(tx: &Transaction<'_>, until: i64) -> Result<(), StoreError> {
    let (mut previous, after) = tail(tx)?;
    let mut entries = tx.prepare_cached(
        "SELECT id, at_ms, user, action, subject FROM audit WHERE id > ?1 AND id <= ?2 ORDER BY id",
    )?;
    let rows = entries.query_map(params![after, until], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut insert =
        tx.prepare_cached("INSERT INTO audit_link (audit_id, hash) VALUES (?1, ?2)")?;
    for row in rows {
        let (id, at_ms, user, action, subject) = row?;
        previous = link(&previous, id, at_ms, &user, &action, &subject);
        insert.execute(params![id, previous])?;
    }
    Ok(())
}

/// The chain's last link and its entry id: the newest link, or the base the retention purge
/// left (see [`purge_before`]), or [`GENESIS`] before the first entry.
fn tail(tx: &Transaction<'_>) -> Result<(String, i64), StoreError> {
    let newest = tx
        .query_row(
            "SELECT hash, audit_id FROM audit_link ORDER BY audit_id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match newest {
        Some(newest) => Ok(newest),
        None => Ok(tx.query_row(
            "SELECT base_link, base_id FROM audit_chain_state WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?),
    }
}

/// The retention of the audit trail: removes every entry older than `before_ms` (the oldest
/// entries up to the first one at or after it), with their links and anchors, when the whole
/// chain verifies — a broken chain keeps its evidence. The chain goes on from the last removed
/// entry's link, recorded as the base, and an audit entry written here (by `by`, at `at_ms`)
/// names the base and its link, so verification can tell this base from one moved by hand.
/// Returns the entries removed.
pub(super) fn purge_before(
    tx: &Transaction<'_>,
    before_ms: i64,
    at_ms: i64,
    by: &str,
) -> Result<u64, StoreError> {
    let base_id: i64 = tx.query_row(
        "SELECT base_id FROM audit_chain_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let until: i64 = tx.query_row(
        "SELECT coalesce((SELECT min(id) FROM audit WHERE at_ms >= ?1),
                         (SELECT coalesce(max(id), 0) FROM audit) + 1) - 1",
        [before_ms],
        |r| r.get(0),
    )?;
    if until <= base_id {
        return Ok(0);
    }
    let report = verify(tx)?;
    if let Some(problem) = report.problem {
        tracing::warn!(
            problem = %problem,
            "The audit trail's retention is skipped: its chain does not verify, and the entries are kept as evidence."
        );
        return Ok(0);
    }
    let Some(link): Option<String> = tx
        .query_row(
            "SELECT hash FROM audit_link WHERE audit_id = ?1",
            [until],
            |r| r.get(0),
        )
        .optional()?
    else {
        return Ok(0);
    };
    tx.execute(
        "UPDATE audit_chain_state SET base_id = ?1, base_link = ?2 WHERE id = 1",
        params![until, link],
    )?;
    tx.execute("DELETE FROM audit_anchor WHERE audit_id <= ?1", [until])?;
    tx.execute("DELETE FROM audit_link WHERE audit_id <= ?1", [until])?;
    let removed = tx.execute("DELETE FROM audit WHERE id <= ?1", [until])?;
    super::accounts::append_audit(
        tx,
        &[super::AuditEntry {
            at_ms,
            user: by.to_owned(),
            action: "delete".to_owned(),
            subject: base_subject(until, &link),
        }],
    )?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}

/// The subject of the audit entry that records a base.
fn base_subject(base_id: i64, link: &str) -> String {
    format!(
        "retention purge of the audit trail: entries up to {base_id} removed; the chain goes on from link {link}"
    )
}

/// Links the entries older than the chain (once, after the migration that made it).
pub(super) fn backfill(tx: &Transaction<'_>) -> Result<(), StoreError> {
    let until: i64 = tx.query_row(
        "SELECT backfill_until FROM audit_chain_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let linked = tail(tx)?.1;
    if linked < until {
        link_through(tx, until)?;
    }
    Ok(())
}

/// Links the entries this transaction just wrote, the newest being `newest_id` written at
/// `newest_ms`, and anchors the head when the last anchor is [`ANCHOR_EVERY_MS`] old (or there is
/// none). The anchors are queued for upload by `outbox::queue_audit_anchors`.
pub(super) fn link_written(
    tx: &Transaction<'_>,
    newest_id: i64,
    newest_ms: i64,
) -> Result<(), StoreError> {
    backfill(tx)?;
    link_through(tx, newest_id)?;
    let last: Option<i64> =
        tx.query_row("SELECT max(at_ms) FROM audit_anchor", [], |r| r.get(0))?;
    if last.is_some_and(|at| newest_ms.saturating_sub(at) < ANCHOR_EVERY_MS) {
        return Ok(());
    }
    let link: String = tx.query_row(
        "SELECT hash FROM audit_link WHERE audit_id = ?1",
        [newest_id],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO audit_anchor (audit_id, at_ms, link) VALUES (?1, ?2, ?3)
         ON CONFLICT (audit_id) DO NOTHING",
        params![newest_id, newest_ms, link],
    )?;
    Ok(())
}

/// What verifying the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Audit entries read.
    pub entries: u64,
    /// The last entry's id and link, when every entry is linked up to it.
    pub head: Option<(i64, String)>,
    /// The first break found, if any.
    pub problem: Option<ChainProblem>,
    /// Anchors checked, and the newest one's entry id.
    pub anchors: u64,
    pub last_anchor: Option<i64>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }

    /// What the check found, as a sentence for the page and `dockd privacy report`.
    pub fn finding(&self) -> String {
        match (&self.problem, &self.head) {
            (Some(problem), _) => format!("{problem}."),
            (None, Some((id, _))) => format!(
                "every one of the {} entries is linked to the one before, up to entry {id}, and the {} anchors taken of it agree.",
                self.entries, self.anchors
            ),
            (None, None) => "the trail is empty.".to_owned(),
        }
    }
}

/// The first break in the chain, by entry id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainProblem {
    #[error(
        "audit entry {0} does not match its link: it was changed, or entries were reordered or replaced"
    )]
    Changed(i64),
    #[error("audit entries {first} to {last} were removed (the entries around them remain)")]
    Removed { first: i64, last: i64 },
    #[error("audit entry {0} has no link: it was added outside dockd")]
    Unlinked(i64),
    #[error("audit entry {0} was removed from the end (its link remains)")]
    RemovedAtEnd(i64),
    #[error(
        "the audit trail ends at entry {last}, but an anchor taken earlier covers entry {anchored}: entries were cut off the end"
    )]
    CutOff { anchored: i64, last: i64 },
    #[error(
        "audit entry {0} no longer has the link anchored for it: the chain was rewritten from there on"
    )]
    Rewritten(i64),
    #[error("the audit trail is not chained yet: start dockd once to link it")]
    NotChained,
    #[error(
        "the audit trail starts after entry {0}, but no retention purge recorded removing the entries up to it: they were removed by hand"
    )]
    BaseUnexplained(i64),
}

impl Reader {
    /// Walks the whole audit trail and its links and reports the first break.
    pub fn audit_chain(&self) -> Result<ChainReport, StoreError> {
        self.with(verify)
    }
}

/// Walks the whole audit trail from its base (see [`purge_before`]) and reports the first break.
fn verify(conn: &rusqlite::Connection) -> rusqlite::Result<ChainReport> {
    {
        {
            let chained: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_link')",
                [],
                |r| r.get(0),
            )?;
            let mut report = ChainReport {
                entries: 0,
                head: None,
                problem: None,
                anchors: 0,
                last_anchor: None,
            };
            if !chained {
                report.entries = conn
                    .query_row("SELECT count(*) FROM audit", [], |r| r.get::<_, i64>(0))?
                    as u64;
                report.problem = Some(ChainProblem::NotChained);
                return Ok(report);
            }
            let anchors: std::collections::BTreeMap<i64, String> = conn
                .prepare("SELECT audit_id, link FROM audit_anchor")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            report.anchors = anchors.len() as u64;
            report.last_anchor = anchors.last_key_value().map(|(id, _)| *id);
            // Every entry with its link, and every link without its entry, in id order.
            let mut query = conn.prepare(
                "SELECT a.id, a.at_ms, a.user, a.action, a.subject, l.hash FROM audit a
                     LEFT JOIN audit_link l ON l.audit_id = a.id
                 UNION ALL
                 SELECT l.audit_id, NULL, NULL, NULL, NULL, l.hash FROM audit_link l
                     WHERE NOT EXISTS (SELECT 1 FROM audit a WHERE a.id = l.audit_id)
                 ORDER BY 1",
            )?;
            let mut rows = query.query([])?;
            // Where the chain starts: the genesis, or the base the retention purge left, which
            // an entry after it must name with its link.
            let (base_id, base_link): (i64, String) = conn
                .query_row(
                    "SELECT base_id, base_link FROM audit_chain_state WHERE id = 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?
                .unwrap_or((0, GENESIS.to_owned()));
            if base_id > 0 {
                let named: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM audit WHERE id > ?1 AND action = 'delete'
                        AND subject = ?2)",
                    params![base_id, base_subject(base_id, &base_link)],
                    |r| r.get(0),
                )?;
                if !named {
                    report.problem = Some(ChainProblem::BaseUnexplained(base_id));
                }
            }
            let mut previous = (base_id, base_link);
            let mut pending_orphan: Option<i64> = None;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let stored: Option<String> = row.get(5)?;
                let at_ms: Option<i64> = row.get(1)?;
                let Some(at_ms) = at_ms else {
                    // A link whose entry is gone: removed, unless another entry follows (then
                    // the gap is reported where the chain goes on).
                    pending_orphan.get_or_insert(id);
                    continue;
                };
                report.entries += 1;
                if report.problem.is_some() {
                    continue;
                }
                if let Some(first) = pending_orphan.take() {
                    report.problem = Some(ChainProblem::Removed {
                        first,
                        last: id - 1,
                    });
                    continue;
                }
                let Some(stored) = stored else {
                    report.problem = Some(ChainProblem::Unlinked(id));
                    continue;
                };
                let (user, action, subject): (String, String, String) =
                    (row.get(2)?, row.get(3)?, row.get(4)?);
                let expected = link(&previous.1, id, at_ms, &user, &action, &subject);
                if stored != expected {
                    report.problem = Some(if id > previous.0 + 1 {
                        ChainProblem::Removed {
                            first: previous.0 + 1,
                            last: id - 1,
                        }
                    } else {
                        ChainProblem::Changed(id)
                    });
                    continue;
                }
                if anchors.get(&id).is_some_and(|anchored| *anchored != stored) {
                    report.problem = Some(ChainProblem::Rewritten(id));
                    continue;
                }
                previous = (id, stored);
            }
            if report.problem.is_none()
                && let Some(id) = pending_orphan
            {
                report.problem = Some(ChainProblem::RemovedAtEnd(id));
            }
            if report.problem.is_none()
                && let Some((&anchored, _)) = anchors.last_key_value()
                && anchored > previous.0
            {
                report.problem = Some(ChainProblem::CutOff {
                    anchored,
                    last: previous.0,
                });
            }
            if report.problem.is_none() && previous.0 > 0 {
                report.head = Some(previous);
            }
            Ok(report)
        }
    }
}

#[cfg(test)]
mod tests;
