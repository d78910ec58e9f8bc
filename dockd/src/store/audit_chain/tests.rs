//! The audit chain's tests: an intact trail verifies, each kind of tampering is found at its
//! entry, and entries older than the chain are linked once.

use super::*;
use crate::store::testing::Scratch;
use crate::store::{AuditEntry, open_for_writing, schema};

fn entry(n: i64) -> AuditEntry {
    AuditEntry {
        at_ms: 1_000 + n,
        user: "anna".into(),
        action: "change".into(),
        subject: format!("roster entry {n}"),
    }
}

/// Appends entries `numbers` through the writer and waits until they are committed (audit lines
/// are queued, not awaited).
async fn audit(store: &Scratch, numbers: std::ops::RangeInclusive<i64>) {
    let last = *numbers.end();
    store
        .writer
        .audit(numbers.map(entry).collect())
        .await
        .unwrap();
    store
        .wait_for_count("SELECT count(*) FROM audit_link", last)
        .await;
}

/// A store whose trail holds entries 1–5, written in two batches.
async fn five_entries(name: &str) -> Scratch {
    let store = Scratch::new(name);
    audit(&store, 1..=2).await;
    audit(&store, 3..=5).await;
    store
}

const UNGUARDED: &str = "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
     DROP TRIGGER audit_link_no_update; DROP TRIGGER audit_link_no_delete;";

#[tokio::test]
async fn an_intact_trail_verifies_and_its_head_is_the_last_entrys_link() {
    let store = five_entries("chain-intact").await;
    let report = store.reader.audit_chain().unwrap();
    assert!(report.is_intact(), "{report:?}");
    assert_eq!(report.entries, 5);
    // The documented link, recomputed by hand from the genesis.
    let mut expected = GENESIS.to_owned();
    for n in 1..=5 {
        let e = entry(n);
        expected = link(&expected, n, e.at_ms, &e.user, &e.action, &e.subject);
    }
    assert_eq!(report.head, Some((5, expected)));
    store.close();
}

#[tokio::test]
async fn each_kind_of_tampering_is_found_at_its_entry() {
    let cases: [(&str, &str, ChainProblem); 7] = [
        (
            "edited",
            "UPDATE audit SET subject = 'nothing to see' WHERE id = 3",
            ChainProblem::Changed(3),
        ),
        (
            "swapped",
            "UPDATE audit SET subject = CASE id WHEN 2 THEN 'roster entry 3' ELSE 'roster entry 2' END
             WHERE id IN (2, 3)",
            ChainProblem::Changed(2),
        ),
        (
            "removed",
            "DELETE FROM audit WHERE id = 3",
            ChainProblem::Removed { first: 3, last: 3 },
        ),
        (
            "removed-with-link",
            "DELETE FROM audit WHERE id IN (2, 3); DELETE FROM audit_link WHERE audit_id IN (2, 3)",
            ChainProblem::Removed { first: 2, last: 3 },
        ),
        (
            "added",
            "INSERT INTO audit (at_ms, user, action, subject) VALUES (9, 'mallory', 'view', 'x')",
            ChainProblem::Unlinked(6),
        ),
        (
            "last-removed",
            "DELETE FROM audit WHERE id = 5",
            ChainProblem::RemovedAtEnd(5),
        ),
        (
            "link-edited",
            "UPDATE audit_link SET hash = replace(hash, substr(hash, 1, 1), 'f') WHERE audit_id = 4",
            ChainProblem::Changed(4),
        ),
    ];
    for (name, sql, problem) in cases {
        let store = five_entries(&format!("chain-{name}")).await;
        store.tamper(&format!("{UNGUARDED} {sql}"));
        let report = store.reader.audit_chain().unwrap();
        assert_eq!(report.problem, Some(problem), "{name}: {report:?}");
        assert_eq!(report.head, None, "{name}");
        store.close();
    }
}

#[tokio::test]
async fn an_entry_added_by_dockd_after_tampering_does_not_hide_it() {
    let store = five_entries("chain-later").await;
    store.tamper(&format!(
        "{UNGUARDED} UPDATE audit SET user = 'bert' WHERE id = 2"
    ));
    store.writer.audit(vec![entry(6)]).await.unwrap();
    store.wait_for_count("SELECT count(*) FROM audit", 6).await;
    let report = store.reader.audit_chain().unwrap();
    assert_eq!(report.problem, Some(ChainProblem::Changed(2)));
    assert_eq!(report.entries, 6);
    store.close();
}

#[test]
fn entries_older_than_the_chain_are_linked_once_at_the_next_open() {
    let dir = std::env::temp_dir().join(format!("dockd-chain-backfill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dockd.db");
    // A database as the release before the chain left it: schema 9 and three entries.
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &schema::MIGRATIONS[..9] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 9).unwrap();
        for n in 1..=3 {
            let e = entry(n);
            tx.execute(
                "INSERT INTO audit (at_ms, user, action, subject) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![e.at_ms, e.user, e.action, e.subject],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let plain = crate::store::Database::plaintext(&path);
    let before = Reader::open(&plain).unwrap().audit_chain().unwrap();
    assert_eq!(before.problem, Some(ChainProblem::NotChained));
    assert_eq!(before.entries, 3);

    // The first open encrypts it too.
    let db = crate::store::Database::for_tests(&path);
    drop(open_for_writing(&db).unwrap());
    let after = Reader::open(&db).unwrap().audit_chain().unwrap();
    assert!(after.is_intact(), "{after:?}");
    assert_eq!(after.head.as_ref().map(|h| h.0), Some(3));
    // Opening again links nothing new; an entry added outside dockd stays unlinked.
    drop(open_for_writing(&db).unwrap());
    db.connect(rusqlite::OpenFlags::default())
        .unwrap()
        .execute(
            "INSERT INTO audit (at_ms, user, action, subject) VALUES (9, 'mallory', 'view', 'x')",
            [],
        )
        .unwrap();
    drop(open_for_writing(&db).unwrap());
    let tampered = Reader::open(&db).unwrap().audit_chain().unwrap();
    assert_eq!(tampered.problem, Some(ChainProblem::Unlinked(4)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Entries 1–5 written an anchor period apart in two batches (1–2, 3–5): anchors at 2 and 5.
async fn anchored_entries(name: &str) -> Scratch {
    let store = Scratch::new(name);
    for batch in [1..=2, 3..=5] {
        let last = *batch.end();
        let entries = batch
            .map(|n| AuditEntry {
                at_ms: n * ANCHOR_EVERY_MS,
                ..entry(n)
            })
            .collect();
        store.writer.audit(entries).await.unwrap();
        store
            .wait_for_count("SELECT count(*) FROM audit_link", last)
            .await;
    }
    store
}

#[tokio::test]
async fn the_head_is_anchored_at_most_once_an_hour_when_entries_are_written() {
    let store = five_entries("chain-anchor-hourly").await;
    // Entries 1–5 within a second: one anchor, taken with the first batch.
    assert_eq!(store.number("SELECT count(*) FROM audit_anchor"), 1);
    assert_eq!(store.number("SELECT audit_id FROM audit_anchor"), 2);
    store.close();
    let store = anchored_entries("chain-anchor-two").await;
    assert_eq!(
        store.number("SELECT group_concat(audit_id) = '2,5' FROM audit_anchor"),
        1
    );
    assert!(store.reader.audit_chain().unwrap().is_intact());
    store.close();
}

#[tokio::test]
async fn a_cut_off_tail_and_a_consistently_rewritten_chain_are_found_against_the_anchors() {
    // The last two entries and their links removed: the chain alone is consistent.
    let store = anchored_entries("chain-cut").await;
    store.tamper(&format!(
        "{UNGUARDED} DELETE FROM audit WHERE id > 3; DELETE FROM audit_link WHERE audit_id > 3;"
    ));
    let report = store.reader.audit_chain().unwrap();
    assert_eq!(
        report.problem,
        Some(ChainProblem::CutOff {
            anchored: 5,
            last: 3
        }),
        "{report:?}"
    );
    store.close();

    // Entry 2 rewritten and every link after it recomputed, as someone who knows the rule would.
    let store = anchored_entries("chain-rewritten").await;
    let mut sql = format!("{UNGUARDED} UPDATE audit SET subject = 'nothing to see' WHERE id = 2;");
    let mut previous = GENESIS.to_owned();
    for n in 1..=5 {
        let e = entry(n);
        let subject = if n == 2 {
            "nothing to see".to_owned()
        } else {
            e.subject
        };
        previous = link(
            &previous,
            n,
            n * ANCHOR_EVERY_MS,
            &e.user,
            &e.action,
            &subject,
        );
        sql.push_str(&format!(
            "UPDATE audit_link SET hash = '{previous}' WHERE audit_id = {n};"
        ));
    }
    store.tamper(&sql);
    let report = store.reader.audit_chain().unwrap();
    assert_eq!(
        report.problem,
        Some(ChainProblem::Rewritten(2)),
        "{report:?}"
    );
    store.close();
}

/// Cutoffs that purge nothing but audit entries written before `audit_before_ms`.
fn audit_only(audit_before_ms: i64) -> crate::store::purge::Cutoffs {
    crate::store::purge::Cutoffs {
        at_ms: 10_000,
        gps_before_ms: i64::MIN,
        dock_power_before_ms: i64::MIN,
        quarantine_before_ms: i64::MIN,
        samples_before_ms: i64::MIN,
        alerts_before_ms: i64::MIN,
        reports_before_ms: i64::MIN,
        audit_before_ms,
        outbox_before_ms: i64::MIN,
    }
}

#[tokio::test]
async fn the_audit_retention_removes_the_oldest_entries_and_the_chain_goes_on_from_its_base() {
    let store = five_entries("chain-retention").await;
    // Entries 1–3 were written before 1_004.
    let purged = store.writer.purge(audit_only(1_004)).await.unwrap();
    assert_eq!(purged.audit_entries, 3);
    assert_eq!(store.number("SELECT min(id) FROM audit"), 4);
    assert_eq!(
        store.number("SELECT count(*) FROM audit_link WHERE audit_id <= 3"),
        0
    );
    let report = store.reader.audit_chain().unwrap();
    assert!(report.is_intact(), "{report:?}");
    // 4, 5 and the purge's own entry naming the base.
    assert_eq!(report.entries, 3);
    // New entries link on from there; a second purge with nothing old removes nothing.
    store.writer.audit(vec![entry(7)]).await.unwrap();
    store
        .wait_for_count("SELECT count(*) FROM audit_link WHERE audit_id = 7", 1)
        .await;
    assert!(store.reader.audit_chain().unwrap().is_intact());
    let again = store.writer.purge(audit_only(1_004)).await.unwrap();
    assert_eq!(again.audit_entries, 0);

    // Someone with the file moves the base on and removes entries 4–5 by hand (the guards let
    // deletions at or below the base through): no purge entry names that base.
    let link5: String = store
        .reader
        .with(|c| {
            c.query_row("SELECT hash FROM audit_link WHERE audit_id = 5", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    store.tamper(&format!(
        "UPDATE audit_chain_state SET base_id = 5, base_link = '{link5}';
         DELETE FROM audit_link WHERE audit_id <= 5; DELETE FROM audit WHERE id <= 5;"
    ));
    assert_eq!(
        store.reader.audit_chain().unwrap().problem,
        Some(ChainProblem::BaseUnexplained(5))
    );
    store.close();
}

#[tokio::test]
async fn a_broken_chain_is_kept_whole_by_the_audit_retention() {
    let store = five_entries("chain-retention-broken").await;
    store.tamper(&format!(
        "{UNGUARDED} UPDATE audit SET subject = 'edited' WHERE id = 2;"
    ));
    let purged = store.writer.purge(audit_only(1_004)).await.unwrap();
    assert_eq!(purged.audit_entries, 0, "the evidence stays");
    assert_eq!(store.number("SELECT count(*) FROM audit"), 5);
    assert_eq!(
        store.reader.audit_chain().unwrap().problem,
        Some(ChainProblem::Changed(2))
    );
    store.close();
}
