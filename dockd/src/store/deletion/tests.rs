//! Tests of `store::deletion`: nothing about a deleted worker is left but the audit entry, the
//! tombstone and their deletion records (checked table by table over the live schema), another
//! worker's rows and upload places stay, a later docking under the deleted tag is discarded,
//! ids are never reused, and nothing is deleted without the pseudonym key.

use std::sync::Arc;

use super::*;
use crate::store::outbox::tests::policy;
use crate::store::reports::{NewShiftReport, ReportBatch, UploadPseudonym};
use crate::store::roster::RosterChange;
use crate::store::testing::Scratch;
use crate::store::{
    AlertRow, BlockRow, EventKind, EventRow, NewSegment, QuarantinedSegment, SegmentKey,
};
use crate::upload::record::Kind;

const ANNA_BADGE: &str = "MARKER-TAG-ANNA";
const ANNA_NAME: &str = "MARKER-NAME-ANNA";
const BO_BADGE: &str = "B-0002";
/// 2026-03-02 08:00 UTC: the shift's first sample.
const T0: i64 = 1_772_438_400_000;

fn tag(text: &str) -> WorkerTag {
    WorkerTag::from_ascii(text).unwrap()
}

fn keys() -> Pseudonyms {
    Pseudonyms::from_key([7; 32])
}

/// A key the dock ran with before (a worker uploaded under both has two pseudonyms).
fn old_keys() -> Pseudonyms {
    Pseudonyms::from_key([8; 32])
}

/// A store with the outbox and the pseudonym key set, as the daemon starts it.
async fn store(name: &str) -> Scratch {
    let store = Scratch::new(name);
    store
        .writer
        .set_outbox(Some(policy(10 << 20)))
        .await
        .unwrap();
    store.writer.set_pseudonyms(Arc::new(keys())).await.unwrap();
    store
}

async fn add(store: &Scratch, badge: &str, name: &str) -> i64 {
    store
        .roster(RosterChange::AddWorker {
            tag: tag(badge),
            display_name: Some(name.into()),
            task: None,
            team: Some("North".into()),
        })
        .await
        .unwrap()
        .unwrap()
}

fn block(worker: &str, t_ms: u32) -> BlockRow {
    BlockRow {
        worker: Some(tag(worker)),
        t_ms,
        wall_ms: Some(T0 + i64::from(t_ms)),
        rate_hz: 25,
        count: 25,
        codec: 0,
        data: vec![1; 200],
    }
}

fn alert(worker: &str, t_ms: u32) -> AlertRow {
    AlertRow {
        worker: Some(tag(worker)),
        t_ms,
        wall_ms: Some(T0 + i64::from(t_ms)),
        kind: 1,
        peak: 4500,
        duration_ms: 1200,
        response_ms: Some(800),
        haptic: true,
    }
}

fn worn(worker: &str) -> EventRow {
    EventRow {
        kind: EventKind::Worker,
        worker: Some(tag(worker)),
        t_ms: Some(0),
        wall_ms: Some(T0),
        value: None,
        flag: None,
        body_len: None,
    }
}

/// Segment `segment_no` of wearable KW-1 holding `blocks`, `alerts` and `events`.
async fn store_segment(
    store: &Scratch,
    segment_no: u32,
    blocks: Vec<BlockRow>,
    alerts: Vec<AlertRow>,
    events: Vec<EventRow>,
) -> Result<crate::store::StoreOutcome, StoreError> {
    let docking = store.docking("KW-1", T0 + 3_600_000).await;
    store
        .writer
        .store_segment(NewSegment {
            key: SegmentKey {
                serial: "KW-1".into(),
                segment_no,
                size: 100 + segment_no,
                crc: segment_no,
            },
            docking_id: docking,
            stored_ms: T0 + 3_600_000,
            samples: blocks.iter().map(|b| u64::from(b.count)).sum(),
            blocks,
            alerts,
            events,
            ..Default::default()
        })
        .await
}

fn report(worker: &str, start_ms: i64) -> NewShiftReport {
    NewShiftReport {
        worker: Some(tag(worker)),
        start_ms,
        end_ms: start_ms + 3_600_000,
        local_day: "2026-03-02".into(),
        risk_level: "low".into(),
        version: 1,
        settings: "s".into(),
        report: "{}".into(),
    }
}

/// A shift summary of `worker` under `keys`, as the analyst queues it.
fn summary(
    keys: &Pseudonyms,
    worker: &str,
    start_ms: i64,
) -> (crate::upload::Item, UploadPseudonym) {
    let pseudonym = keys.hash(&tag(worker));
    let key = format!("shift:plant-7:KW-1:{start_ms}:{}", keys.key_id());
    let item = crate::upload::Item {
        key: key.clone(),
        kind: Kind::ShiftSummary,
        day: "2026-03-02".into(),
        payload: format!(
            "{{\"kind\":\"shift_summary\",\"key\":\"{key}\",\"worker\":\"{pseudonym}\",\"key_id\":\"{}\"}}",
            keys.key_id()
        )
        .into_bytes(),
        created_ms: T0 + 4_000_000,
    };
    let named = UploadPseudonym {
        worker: tag(worker),
        key_id: keys.key_id(),
        pseudonym,
    };
    (item, named)
}

/// Reports of both workers, with their summaries queued under `keys`.
async fn reports(store: &Scratch, keys: &Pseudonyms, start_ms: i64) {
    let wearable = store.number("SELECT id FROM wearable WHERE serial = 'KW-1'");
    let (anna_item, anna) = summary(keys, ANNA_BADGE, start_ms);
    let (bo_item, bo) = summary(keys, BO_BADGE, start_ms + 1);
    store
        .writer
        .replace_reports(ReportBatch {
            wearable_id: wearable,
            lo_ms: start_ms,
            hi_ms: start_ms + 3_600_001,
            last_segment_id: None,
            reports: vec![report(ANNA_BADGE, start_ms), report(BO_BADGE, start_ms + 1)],
            outbox: vec![anna_item, bo_item],
            pseudonyms: vec![anna, bo],
        })
        .await
        .unwrap();
}

/// Everything about Anna and Bo the dock can hold: an opt-out's counts, a segment they shared,
/// reports and queued summaries under two keys, a work restriction, a wearable assigned to Anna,
/// a quarantined segment of it. Returns (Anna's id, Bo's id).
async fn two_workers_worn_and_uploaded(store: &Scratch) -> (i64, i64) {
    let bo = add(store, BO_BADGE, "Bo").await;
    let anna = add(store, ANNA_BADGE, ANNA_NAME).await;
    store
        .roster(RosterChange::AssignWearable {
            serial: "KW-1".into(),
            worker: Some(anna),
            at_ms: T0,
        })
        .await
        .unwrap();
    // While Anna had opted out, a segment of hers was discarded and counted.
    let opt_out = |at| RosterChange::OptOut {
        id: anna,
        opted_out_ms: at,
    };
    store.roster(opt_out(Some(T0 - 10))).await.unwrap();
    store_segment(store, 1, vec![block(ANNA_BADGE, 0)], vec![], vec![])
        .await
        .unwrap();
    store.roster(opt_out(None)).await.unwrap();
    // A segment both wore: Anna first, then Bo (a handover), alerts interleaved.
    store_segment(
        store,
        2,
        vec![
            block(ANNA_BADGE, 0),
            block(BO_BADGE, 1000),
            block(ANNA_BADGE, 2000),
            block(BO_BADGE, 3000),
        ],
        vec![
            alert(BO_BADGE, 10),
            alert(ANNA_BADGE, 20),
            alert(BO_BADGE, 30),
        ],
        vec![worn(ANNA_BADGE), worn(BO_BADGE)],
    )
    .await
    .unwrap();
    reports(store, &old_keys(), T0 - 86_400_000).await;
    reports(store, &keys(), T0).await;
    store
        .writer
        .work_restrictions(
            crate::store::work_restrictions::WorkRestrictionChange::Record {
                worker: anna,
                from_day: "2026-03-01".into(),
                until_day: "2026-03-31".into(),
                terms: crate::analysis::work_restrictions::WorkRestrictionTerms {
                    no_deep_bends: true,
                    max_lifts_per_hour: None,
                    max_bends_per_hour: None,
                    max_load_kg: None,
                },
                at_ms: T0,
            },
        )
        .await
        .unwrap();
    store
        .writer
        .quarantine(QuarantinedSegment {
            key: SegmentKey {
                serial: "KW-1".into(),
                segment_no: 3,
                size: 9,
                crc: 9,
            },
            reason: "bad CRC".into(),
            bytes: format!("....{ANNA_BADGE}....").into_bytes(),
            seen_ms: T0,
        })
        .await
        .unwrap();
    (anna, bo)
}

/// Where the upload names a row from: (segment, place in it).
type Place = (u32, u32);

/// Bo's alerts and blocks on KW-1, as the upload names them.
fn places(store: &Scratch) -> (Vec<Place>, Vec<Place>) {
    let wearable = store.number("SELECT id FROM wearable WHERE serial = 'KW-1'");
    let bo = Some(tag(BO_BADGE));
    let alerts = store
        .reader
        .placed_alerts(wearable, T0, T0 + 3_600_000)
        .unwrap()
        .into_iter()
        .filter(|a| a.alert.worker == bo)
        .map(|a| (a.segment_no, a.index))
        .collect();
    let blocks = store
        .reader
        .placed_blocks(wearable, T0, T0 + 3_600_000)
        .unwrap()
        .into_iter()
        .filter(|b| b.block_data.worker == bo)
        .map(|b| (b.segment_no, b.block))
        .collect();
    (alerts, blocks)
}

/// Rows of the live schema naming the worker: `worker_id = id` in a `worker_id` column, or one
/// of `needles` (tag, name, pseudonyms) anywhere in a column's text or bytes, as
/// `table.column: rows`. Their deletion records (queued items and their keys) are left out.
fn rows_naming(store: &Scratch, id: i64, needles: &[Vec<u8>]) -> Vec<String> {
    let schema = store.reader.schema_columns().unwrap();
    let conn = crate::store::open_for_reading(&store.db()).unwrap();
    let mut found = Vec::new();
    for (table, columns) in &schema {
        let theirs = match table.as_str() {
            "outbox_item" => " AND kind != 'worker_deleted'",
            "upload_revision" => " AND key NOT LIKE 'worker_deleted:%'",
            _ => "",
        };
        for column in columns {
            let mut rows: i64 = 0;
            if column == "worker_id" {
                rows += conn
                    .query_row(
                        &format!("SELECT count(*) FROM {table} WHERE {column} = ?1"),
                        [id],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap();
            }
            for needle in needles {
                rows += conn
                    .query_row(
                        &format!(
                            "SELECT count(*) FROM {table}
                             WHERE instr(CAST({column} AS BLOB), ?1) > 0{theirs}"
                        ),
                        [needle],
                        |r| r.get::<_, i64>(0),
                    )
                    .unwrap();
            }
            if rows > 0 {
                found.push(format!("{table}.{column}: {rows}"));
            }
        }
    }
    found
}

#[tokio::test]
async fn a_deleted_worker_leaves_no_row_naming_them_but_the_audit_entry_the_tombstone_and_their_deletion_records()
 {
    let store = store("deletion-everything").await;
    let (anna, bo) = two_workers_worn_and_uploaded(&store).await;
    let needles: Vec<Vec<u8>> = vec![
        tag(ANNA_BADGE).as_bytes().to_vec(),
        ANNA_BADGE.as_bytes().to_vec(),
        ANNA_NAME.as_bytes().to_vec(),
        keys().hash(&tag(ANNA_BADGE)).into_bytes(),
        old_keys().hash(&tag(ANNA_BADGE)).into_bytes(),
    ];
    // Everything the dock can hold about her is there to be deleted.
    let before = rows_naming(&store, anna, &needles);
    for held in [
        "worker.tag",
        "worker.display_name",
        "sample_block.worker_id",
        "alert.worker_id",
        "event.worker_id",
        "shift_report.worker_id",
        "opt_out_discard.worker_id",
        "upload_pseudonym.worker_id",
        "upload_pseudonym.pseudonym",
        "work_restriction.worker_id",
        "roster_wearable.worker_id",
        "outbox_item.payload",
        "quarantine.bytes",
    ] {
        assert!(
            before.iter().any(|f| f.starts_with(&format!("{held}:"))),
            "{held} is not in the scene: {before:?}"
        );
    }
    let bo_places = places(&store);
    assert_eq!(bo_places, (vec![(2, 0), (2, 2)], vec![(2, 1), (2, 3)]));

    let deleted = store
        .writer
        .delete_worker(WorkerDeletion {
            worker: anna,
            at_ms: T0 + 7_200_000,
            by: "admin".into(),
        })
        .await
        .unwrap();

    assert_eq!(
        deleted,
        Deleted {
            worker: anna,
            sample_blocks: 2,
            samples: 50,
            alerts: 1,
            events: 1,
            shift_reports: 2,
            restrictions: 1,
            discard_counts: 1,
            wearables_unassigned: 1,
            quarantined_segments: 1,
            upload_items: 2,
            cloud_deletions: 2,
        }
    );
    let left = rows_naming(&store, anna, &needles);
    assert_eq!(
        left,
        ["worker_tombstone.pseudonym: 2"],
        "only the tombstone names her (the audit entry by id)"
    );
    // Her tombstone: her pseudonym under the key in force and the one she was uploaded under.
    assert_eq!(store.reader.tombstones().unwrap(), 2);
    // One deletion record per key id she was uploaded under, each valid against the contract.
    let records: Vec<(String, Vec<u8>)> = crate::store::open_for_reading(&store.db())
        .unwrap()
        .prepare("SELECT key, payload FROM outbox_item WHERE kind = 'worker_deleted' ORDER BY key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let schema = crate::upload::record::tests::schema_of(Kind::WorkerDeleted);
    let mut key_ids: Vec<String> = Vec::new();
    for (key, payload) in &records {
        let record: serde_json::Value = serde_json::from_slice(payload).unwrap();
        assert_eq!(
            crate::upload::record::tests::errors(&schema, &record),
            Vec::<String>::new()
        );
        assert_eq!(record["deleted_ms"], T0 + 7_200_000);
        assert_eq!(key, record["key"].as_str().unwrap());
        key_ids.push(record["key_id"].as_str().unwrap().to_owned());
        let text = String::from_utf8_lossy(payload);
        assert!(
            !text.contains(ANNA_BADGE) && !text.contains(ANNA_NAME),
            "{text}"
        );
    }
    key_ids.sort();
    let mut expected = vec![keys().key_id(), old_keys().key_id()];
    expected.sort();
    assert_eq!(key_ids, expected);

    // The audit entry names her by id only, in a chain still intact.
    let subject: String = crate::store::open_for_reading(&store.db())
        .unwrap()
        .query_row(
            "SELECT subject FROM audit WHERE action = 'delete' AND user = 'admin'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        subject.starts_with(&format!(
            "worker {anna}: their data deleted for good (2 sample blocks"
        )),
        "{subject}"
    );
    assert!(store.reader.audit_chain().unwrap().is_intact());

    // Bo keeps everything, and his rows keep the places his uploads are keyed by.
    assert_eq!(places(&store), bo_places);
    for table in [
        "sample_block",
        "alert",
        "event",
        "shift_report",
        "upload_pseudonym",
    ] {
        assert!(
            store.number(&format!(
                "SELECT count(*) FROM {table} WHERE worker_id = {bo}"
            )) > 0,
            "{table}"
        );
    }
    assert_eq!(
        store.number("SELECT count(*) FROM outbox_item WHERE kind = 'shift_summary'"),
        2,
        "Bo's summaries stay queued"
    );
    // The wearable is kept, assigned to no one, so its next docking clears the tag from it.
    let orders = store.reader.docking_orders("KW-1", T0).unwrap();
    assert_eq!(orders.worker, Some(None));
    // The quarantined segment's row stays, without its bytes; seen again, they are not stored.
    assert_eq!(
        store.number("SELECT length(bytes) FROM quarantine WHERE segment_no = 3"),
        0
    );
    store
        .writer
        .quarantine(QuarantinedSegment {
            key: SegmentKey {
                serial: "KW-1".into(),
                segment_no: 3,
                size: 9,
                crc: 9,
            },
            reason: "bad CRC".into(),
            bytes: format!("....{ANNA_BADGE}....").into_bytes(),
            seen_ms: T0 + 9_000_000,
        })
        .await
        .unwrap();
    assert_eq!(
        store.number("SELECT length(bytes) FROM quarantine WHERE segment_no = 3"),
        0
    );

    // Her id is never given to anyone else.
    let cleo = add(&store, "B-0003", "Cleo").await;
    assert!(cleo > anna, "{cleo} after {anna}");
    // A second deletion of her finds no one.
    let again = store
        .writer
        .delete_worker(WorkerDeletion {
            worker: anna,
            at_ms: T0,
            by: "admin".into(),
        })
        .await;
    assert!(matches!(
        again,
        Err(StoreError::Roster(RosterError::NoSuchWorker))
    ));
    store.close();
}

#[tokio::test]
async fn a_later_docking_with_data_worn_under_a_deleted_tag_is_discarded_until_the_badge_is_on_the_roster_again()
 {
    let store = store("deletion-tombstone").await;
    let anna = add(&store, ANNA_BADGE, ANNA_NAME).await;
    store
        .writer
        .delete_worker(WorkerDeletion {
            worker: anna,
            at_ms: T0,
            by: "admin".into(),
        })
        .await
        .unwrap();

    // Her wearable docks later with what it still held of her, and someone else's.
    store_segment(
        &store,
        7,
        vec![block(ANNA_BADGE, 0), block(BO_BADGE, 1000)],
        vec![alert(ANNA_BADGE, 10)],
        vec![worn(ANNA_BADGE)],
    )
    .await
    .unwrap();
    assert_eq!(
        rows_naming(&store, anna, &[ANNA_BADGE.as_bytes().to_vec()]),
        Vec::<String>::new(),
        "no worker row is made for her tag again"
    );
    assert_eq!(store.number("SELECT count(*) FROM worker"), 1, "Bo only");
    assert_eq!(store.number("SELECT count(*) FROM sample_block"), 1);
    assert_eq!(store.number("SELECT count(*) FROM alert"), 0);
    assert_eq!(store.number("SELECT count(*) FROM event"), 0);
    // Counted on the segment, which is stored (so the wearable erases it), and nowhere by person.
    assert_eq!(
        store.number("SELECT discarded_samples FROM segment WHERE segment_no = 7"),
        25
    );
    assert_eq!(
        store.number("SELECT discarded_records FROM segment WHERE segment_no = 7"),
        2
    );
    assert_eq!(store.number("SELECT count(*) FROM opt_out_discard"), 0);
    // A report computed under her tag (analysed before she was deleted) is not stored either.
    let wearable = store.number("SELECT id FROM wearable WHERE serial = 'KW-1'");
    let (item, named) = summary(&keys(), ANNA_BADGE, T0);
    store
        .writer
        .replace_reports(ReportBatch {
            wearable_id: wearable,
            lo_ms: T0,
            hi_ms: T0 + 3_600_000,
            last_segment_id: None,
            reports: vec![report(ANNA_BADGE, T0)],
            outbox: vec![item],
            pseudonyms: vec![named],
        })
        .await
        .unwrap();
    assert_eq!(store.number("SELECT count(*) FROM shift_report"), 0);
    assert_eq!(
        store.number("SELECT count(*) FROM outbox_item WHERE kind = 'shift_summary'"),
        0
    );

    // The badge handed to someone new and put on the roster again: the tombstone is lifted.
    let dana = add(&store, ANNA_BADGE, "Dana").await;
    assert!(dana > anna);
    assert_eq!(store.reader.tombstones().unwrap(), 0);
    store_segment(&store, 8, vec![block(ANNA_BADGE, 0)], vec![], vec![])
        .await
        .unwrap();
    assert_eq!(
        store.number(&format!(
            "SELECT count(*) FROM sample_block WHERE worker_id = {dana}"
        )),
        1
    );
    store.close();
}

#[tokio::test]
async fn without_the_pseudonym_key_a_deletion_is_refused_and_ingest_stops_rather_than_keep_a_deleted_tag()
 {
    let store = Scratch::new("deletion-no-key");
    let anna = add(&store, ANNA_BADGE, ANNA_NAME).await;
    let refused = store
        .writer
        .delete_worker(WorkerDeletion {
            worker: anna,
            at_ms: T0,
            by: "admin".into(),
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Deletion(DeletionError::NoKey))),
        "{refused:?}"
    );
    assert_eq!(
        store.number("SELECT count(*) FROM worker"),
        1,
        "nothing went"
    );
    assert_eq!(store.number("SELECT count(*) FROM audit"), 0);

    // A tombstone exists (made by a writer with the key) and this writer has none: a tag it has
    // no worker for cannot be checked, so the segment is not stored (it stays on the wearable).
    let store = store.reopen();
    store.writer.set_pseudonyms(Arc::new(keys())).await.unwrap();
    store
        .writer
        .delete_worker(WorkerDeletion {
            worker: anna,
            at_ms: T0,
            by: "admin".into(),
        })
        .await
        .unwrap();
    let store = store.reopen();
    let refused = store_segment(&store, 1, vec![block(ANNA_BADGE, 0)], vec![], vec![]).await;
    assert!(
        matches!(refused, Err(StoreError::Deletion(DeletionError::NoKey))),
        "{refused:?}"
    );
    assert_eq!(store.number("SELECT count(*) FROM segment"), 0);
    store.close();
}

#[test]
fn every_table_that_names_a_worker_by_id_is_one_a_deletion_empties_of_them() {
    let mut covered: Vec<&str> = DELETED_BY_WORKER.to_vec();
    // Deleted through their own store file in the same transaction; kept, assigned to no one.
    covered.extend(["work_restriction", "roster_wearable"]);
    for entry in crate::privacy::INVENTORY {
        if entry
            .columns
            .iter()
            .any(|(column, _)| *column == "worker_id")
        {
            assert!(
                covered.contains(&entry.table),
                "{} names workers by id but a deletion leaves its rows",
                entry.table
            );
        }
    }
}
