//! Tests of `store::outbox`: queueing in the origin's transaction, de-duplication by key and digest, committed batches across a restart, the disk budget's order and records, dead letters and their audit lines.

use super::*;
use crate::store::diag::DiagRecord;
use crate::store::reports::ReportBatch;
use crate::store::testing::Scratch;
use crate::upload::batch;
use crate::upload::record::Kind;

pub(crate) fn policy(budget_bytes: u64) -> OutboxPolicy {
    OutboxPolicy {
        site: "plant-7".into(),
        dock: "dock-1".into(),
        budget_bytes,
        time_zone: jiff::tz::TimeZone::get("Europe/Berlin").unwrap(),
    }
}

/// A queued item of `kind` under `key`, its payload `size` bytes of JSON.
pub(crate) fn item(kind: Kind, key: &str, created_ms: i64, size: usize) -> Item {
    let head = format!(
        "{{\"kind\":\"{}\",\"key\":\"{key}\",\"pad\":\"",
        kind.name()
    );
    let pad = "x".repeat(size.saturating_sub(head.len() + 2));
    Item {
        key: key.into(),
        kind,
        day: "2026-03-02".into(),
        payload: format!("{head}{pad}\"}}").into_bytes(),
        created_ms,
    }
}

fn summary(key: &str, revision: u32, risk: &str) -> Item {
    Item {
        key: key.into(),
        kind: Kind::ShiftSummary,
        day: "2026-03-02".into(),
        payload: format!(
            "{{\"kind\":\"shift_summary\",\"key\":\"{key}\",\"revision\":{revision},\"risk\":\"{risk}\"}}"
        )
        .into_bytes(),
        created_ms: 1_000 + i64::from(revision),
    }
}

pub(crate) async fn configured(name: &str, budget_bytes: u64) -> Scratch {
    let store = Scratch::new(name);
    store
        .writer
        .set_outbox(Some(policy(budget_bytes)))
        .await
        .unwrap();
    store
}

/// Queues `items` as items with no other origin.
pub(crate) async fn queue(store: &Scratch, items: Vec<Item>) {
    store
        .writer
        .outbox(OutboxChange::Queue(items))
        .await
        .unwrap();
}

/// Parks batch `id` as a dead letter refused for its content.
pub(crate) async fn park(store: &Scratch, id: &str) {
    store
        .writer
        .outbox(OutboxChange::Park {
            id: id.to_owned(),
            reason: REFUSED.into(),
            at_ms: 5,
        })
        .await
        .unwrap();
}

const REFUSED: &str = "The receiver refused this batch's content (422).";

/// Plans and commits every queued partition as batches (flush), as the driver does.
pub(crate) async fn commit_all(store: &Scratch) -> Vec<Planned> {
    let mut planned = Vec::new();
    for queue in store.reader.outbox_partitions().unwrap() {
        let items = store
            .reader
            .outbox_pending(&queue.partition, usize::MAX, usize::MAX)
            .unwrap();
        planned.extend(batch::plan(&items, &Default::default(), 0, true));
    }
    let mut batches = Vec::new();
    for p in &planned {
        let items = store
            .reader
            .outbox_pending(&p.partition, usize::MAX, usize::MAX);
        let members: Vec<Item> = items
            .unwrap()
            .into_iter()
            .filter(|i| p.keys.contains(&i.key))
            .collect();
        let refs: Vec<&Item> = members.iter().collect();
        batches.push(NewBatch {
            planned: p.clone(),
            body: batch::encode(&refs).unwrap(),
        });
    }
    store
        .writer
        .outbox(OutboxChange::CommitBatches(batches))
        .await
        .unwrap();
    planned
}

fn keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.as_str()).collect()
}

#[tokio::test]
async fn an_item_queued_with_a_shift_report_rolls_back_with_it() {
    let store = configured("outbox-rollback", 1 << 30).await;
    let wearable = store.number("SELECT count(*) FROM wearable") + 999;
    let failed = store
        .writer
        .replace_reports(ReportBatch {
            wearable_id: wearable,
            lo_ms: 0,
            hi_ms: 10,
            last_segment_id: Some(1),
            reports: Vec::new(),
            outbox: vec![summary("shift:a", 1, "low")],
            pseudonyms: Vec::new(),
        })
        .await;
    assert!(failed.is_err(), "no such wearable: the write fails");
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 0);
    assert!(
        store
            .reader
            .upload_revisions(&["shift:a".into()])
            .unwrap()
            .is_empty()
    );

    store.docking("KW-1", 5).await;
    let wearable = store.number("SELECT id FROM wearable WHERE serial = 'KW-1'");
    store
        .writer
        .replace_reports(ReportBatch {
            wearable_id: wearable,
            lo_ms: 0,
            hi_ms: 10,
            last_segment_id: None,
            reports: Vec::new(),
            outbox: vec![summary("shift:a", 1, "low")],
            pseudonyms: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 1);
    store.close();
}

#[tokio::test]
async fn items_handed_with_a_docking_end_and_diagnostics_are_queued_with_them() {
    let store = configured("outbox-hooks", 1 << 30).await;
    let docking = store.docking("KW-1", 5).await;
    store
        .writer
        .end_docking(
            docking,
            9,
            "done".into(),
            vec![item(Kind::WearableDiag, "wearable_diag:a", 9, 100)],
        )
        .await
        .unwrap();
    store
        .writer
        .diag(vec![DiagRecord::Upload(item(
            Kind::DockGps,
            "dock_gps:a",
            10,
            100,
        ))])
        .await
        .unwrap();
    let kinds: Vec<Kind> = store
        .reader
        .outbox_partitions()
        .unwrap()
        .into_iter()
        .map(|p| p.partition.kind)
        .collect();
    assert_eq!(kinds, [Kind::DockGps, Kind::WearableDiag]);
    store.close();
}

#[tokio::test]
async fn nothing_is_queued_without_an_upload_section() {
    let store = Scratch::new("outbox-unconfigured");
    queue(&store, vec![item(Kind::Alert, "alert:a", 1, 80)]).await;
    store
        .writer
        .diag(vec![DiagRecord::Upload(item(
            Kind::DockDiag,
            "dock_diag:a",
            1,
            80,
        ))])
        .await
        .unwrap();
    assert_eq!(
        store.reader.upload_status().unwrap(),
        UploadStatus::default()
    );
    assert_eq!(store.number("SELECT count(*) FROM upload_revision"), 0);
    store.close();
}

#[tokio::test]
async fn a_committed_batch_keeps_its_members_and_bytes_across_a_reopen() {
    let store = configured("outbox-reopen", 1 << 30).await;
    let queued = vec![
        item(Kind::Alert, "alert:b", 2, 90),
        item(Kind::Alert, "alert:a", 1, 120),
    ];
    queue(&store, queued.clone()).await;
    let planned = commit_all(&store).await;
    assert_eq!(planned.len(), 1);
    let id = planned[0].id.clone();
    let body = store.reader.outbox_batch_body(&id).unwrap().unwrap();

    let store = store.reopen();
    assert_eq!(
        store.reader.outbox_batch_body(&id).unwrap(),
        Some(body.clone())
    );
    let members = store.reader.outbox_batch_items(&id).unwrap();
    assert_eq!(keys(&members), ["alert:a", "alert:b"]);
    let refs: Vec<&Item> = members.iter().collect();
    assert_eq!(
        batch::encode(&refs).unwrap(),
        body,
        "the body is its members"
    );
    let batches = store.reader.outbox_batches().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        (
            batches[0].items,
            batches[0].bytes,
            batches[0].state,
            batches[0].oldest_ms
        ),
        (2, body.len() as u64, BatchState::Ready, 1)
    );
    assert!(
        store.reader.outbox_partitions().unwrap().is_empty(),
        "nothing unbatched"
    );
    let status = store.reader.upload_status().unwrap();
    assert_eq!((status.queued_items, status.queued_bytes), (2, 210));
    assert_eq!(status.oldest_ms, Some(1));
    store.close();
}

#[tokio::test]
async fn a_batch_whose_members_are_not_queued_or_changed_is_refused() {
    let store = configured("outbox-refused", 1 << 30).await;
    let a = item(Kind::Alert, "alert:a", 1, 100);
    queue(&store, vec![a.clone()]).await;
    let planned = batch::plan(std::slice::from_ref(&a), &Default::default(), 0, true);
    // A newer revision replaced the member after planning: the id no longer matches.
    queue(&store, vec![item(Kind::Alert, "alert:a", 2, 140)]).await;
    let refused = store
        .writer
        .outbox(OutboxChange::CommitBatches(vec![NewBatch {
            planned: planned[0].clone(),
            body: batch::encode(&[&a]).unwrap(),
        }]))
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Outbox(OutboxError::Members { .. }))
        ),
        "{refused:?}"
    );
    let mut missing = planned[0].clone();
    missing.keys.push("alert:nothing".into());
    let refused = store
        .writer
        .outbox(OutboxChange::CommitBatches(vec![NewBatch {
            planned: missing,
            body: Vec::new(),
        }]))
        .await;
    assert!(refused.unwrap_err().to_string().contains("alert:nothing"));
    assert!(store.reader.outbox_batches().unwrap().is_empty());
    store.close();
}

#[tokio::test]
async fn identical_content_under_the_same_key_is_not_queued_twice() {
    let store = configured("outbox-identical", 1 << 30).await;
    let first = summary("shift:a", 1, "low");
    for _ in 0..2 {
        store
            .writer
            .outbox(OutboxChange::Queue(vec![first.clone()]))
            .await
            .unwrap();
    }
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 1);
    let planned = commit_all(&store).await;
    store
        .writer
        .outbox(OutboxChange::Delivered {
            id: planned[0].id.clone(),
            at_ms: 50,
        })
        .await
        .unwrap();
    // A re-analysis producing the same content after delivery sends nothing.
    queue(&store, vec![first.clone()]).await;
    let status = store.reader.upload_status().unwrap();
    assert_eq!((status.queued_items, status.last_success_ms), (0, Some(50)));
    let revisions = store.reader.upload_revisions(&["shift:a".into()]).unwrap();
    assert_eq!(revisions["shift:a"].revision, 1);
    assert_eq!(
        revisions["shift:a"].digest,
        hex::encode(Sha256::digest(&first.payload))
    );
    store.close();
}

#[tokio::test]
async fn an_unbatched_item_is_replaced_by_its_newer_revision() {
    let store = configured("outbox-revision", 1 << 30).await;
    queue(&store, vec![summary("shift:a", 1, "low")]).await;
    let planned = commit_all(&store).await;
    // In flight: a newer revision queues beside the committed batch, which stays as it is.
    queue(&store, vec![summary("shift:a", 2, "medium")]).await;
    queue(&store, vec![summary("shift:a", 3, "high")]).await;
    let partition = &planned[0].partition;
    let pending = store.reader.outbox_pending(partition, 10, 1 << 20).unwrap();
    assert_eq!(pending, [summary("shift:a", 3, "high")]);
    assert_eq!(
        store.reader.outbox_batch_items(&planned[0].id).unwrap(),
        [summary("shift:a", 1, "low")]
    );
    let revisions = store
        .reader
        .upload_revisions(&["shift:a".into(), "shift:b".into()]);
    let revisions = revisions.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions["shift:a"].revision, 3);
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 2);
    store.close();
}

#[tokio::test]
async fn the_budget_evicts_raw_samples_before_summaries_and_records_it() {
    // Room for ten 1000-byte items and the eviction records.
    let store = configured("outbox-budget", 11_000).await;
    let mut first = Vec::new();
    for n in 0..4 {
        first.push(item(
            Kind::ShiftSummary,
            &format!("shift:{n}"),
            100 + n,
            1000,
        ));
        first.push(item(Kind::RawSamples, &format!("raw:{n}"), 100 + n, 1000));
    }
    queue(&store, first).await;
    assert!(
        store.reader.outbox_evictions().unwrap().is_empty(),
        "within budget"
    );
    let more: Vec<Item> = (0..4)
        .map(|n| item(Kind::Alert, &format!("alert:{n}"), 200 + n, 1000))
        .collect();
    queue(&store, more).await;

    let evictions = store.reader.outbox_evictions().unwrap();
    assert_eq!(evictions.len(), 1);
    let e = &evictions[0];
    assert_eq!(
        (
            e.eviction_no,
            e.kind,
            e.items,
            e.bytes,
            e.first_created_ms,
            e.last_created_ms,
            e.at_ms
        ),
        (1, Kind::RawSamples, 2, 2000, 100, 101, 203)
    );
    let raw = Partition {
        kind: Kind::RawSamples,
        day: "2026-03-02".into(),
    };
    let left = store.reader.outbox_pending(&raw, 10, 1 << 20).unwrap();
    assert_eq!(keys(&left), ["raw:2", "raw:3"], "the oldest went first");
    let record = store
        .reader
        .outbox_partitions()
        .unwrap()
        .into_iter()
        .find(|p| p.partition.kind == Kind::Evicted)
        .expect("the eviction is queued for upload");
    let evicted = store
        .reader
        .outbox_pending(&record.partition, 10, 1 << 20)
        .unwrap();
    assert_eq!(evicted.len(), 1);
    let sent: Record = serde_json::from_slice(&evicted[0].payload).unwrap();
    let Record::Evicted(sent) = sent else {
        panic!("not an eviction record: {sent:?}");
    };
    assert_eq!(sent.key, "evicted:plant-7:dock-1:1");
    assert_eq!(
        (sent.evicted_kind, sent.items, sent.bytes),
        (Kind::RawSamples, 2, 2000)
    );
    assert_eq!(sent.day, "1970-01-01");

    // The two raw samples left are not enough: then the oldest dock GPS fixes, summaries kept.
    let burst: Vec<Item> = (0..4)
        .map(|n| item(Kind::DockGps, &format!("gps:{n}"), 300 + n, 1000))
        .collect();
    queue(&store, burst).await;
    let kinds: Vec<(Kind, u64)> = store
        .reader
        .outbox_evictions()
        .unwrap()
        .iter()
        .map(|e| (e.kind, e.items))
        .collect();
    assert_eq!(
        kinds,
        [
            (Kind::RawSamples, 2),
            (Kind::RawSamples, 2),
            (Kind::DockGps, 2)
        ],
        "raw samples first, then the next kind in the order"
    );
    // The eviction records fit in the budget too: the outbox never ends a transaction over it.
    assert!(store.number(USED_BYTES) <= 11_000);
    store.close();
}

#[tokio::test]
async fn worker_deleted_records_are_never_evicted() {
    let store = configured("outbox-deleted", 2_000).await;
    let mut queued: Vec<Item> = (0..3)
        .map(|n| item(Kind::WorkerDeleted, &format!("worker_deleted:{n}"), n, 1000))
        .collect();
    queued.push(item(Kind::ShiftSummary, "shift:a", 0, 1000));
    queue(&store, queued).await;
    let left: Vec<(Kind, u64)> = store
        .reader
        .outbox_partitions()
        .unwrap()
        .iter()
        .map(|p| (p.partition.kind, p.items))
        .collect();
    assert_eq!(
        left,
        [(Kind::Evicted, 1), (Kind::WorkerDeleted, 3)],
        "the summary went, every deletion stayed"
    );
    store.close();
}

#[tokio::test]
async fn a_ready_batch_is_evicted_whole_but_a_dead_letter_never() {
    let store = configured("outbox-batches-evicted", 1 << 30).await;
    queue(
        &store,
        vec![
            item(Kind::Alert, "alert:a", 1, 1000),
            item(Kind::DockDiag, "dock_diag:a", 1, 1000),
        ],
    )
    .await;
    let planned = commit_all(&store).await;
    let dead = planned
        .iter()
        .find(|p| p.partition.kind == Kind::DockDiag)
        .unwrap();
    park(&store, &dead.id).await;
    let dead_body = store.reader.outbox_batch_body(&dead.id).unwrap().unwrap();
    // A budget the dead letter alone fills: the new alert goes, then the ready alert batch.
    store
        .writer
        .set_outbox(Some(policy(dead_body.len() as u64 + 10)))
        .await
        .unwrap();
    queue(&store, vec![item(Kind::Alert, "alert:n", 10, 1000)]).await;
    let batches = store.reader.outbox_batches().unwrap();
    assert_eq!(batches.len(), 1, "the ready alert batch went: {batches:?}");
    assert_eq!(
        (batches[0].id.clone(), batches[0].state),
        (dead.id.clone(), BatchState::Dead)
    );
    let evictions = store.reader.outbox_evictions().unwrap();
    assert_eq!(evictions.len(), 1);
    assert_eq!(
        (evictions[0].kind, evictions[0].items, evictions[0].bytes),
        (Kind::Alert, 2, 2000)
    );
    store.close();
}

/// Queues an alert and a dock diagnostics item and commits each as its own batch: their ids.
async fn alert_and_diag_batches(store: &Scratch) -> (String, String) {
    queue(
        store,
        vec![
            item(Kind::Alert, "alert:a", 1, 100),
            item(Kind::DockDiag, "dock_diag:a", 1, 100),
        ],
    )
    .await;
    let planned = commit_all(store).await;
    (planned[0].id.clone(), planned[1].id.clone())
}

#[tokio::test]
async fn a_delivery_after_a_dead_letter_leaves_the_refusal_as_the_last_error_until_it_is_gone() {
    let store = configured("outbox-dead-error", 1 << 30).await;
    let (alert, diag) = alert_and_diag_batches(&store).await;
    park(&store, &alert).await;
    // Another batch goes through, and the driver persists its (now clear) session error.
    for change in [
        OutboxChange::Delivered { id: diag, at_ms: 6 },
        OutboxChange::Failure {
            error: None,
            paused: None,
        },
    ] {
        store.writer.outbox(change).await.unwrap();
    }
    let status = store.reader.upload_status().unwrap();
    assert_eq!(status.dead_letters, 1);
    assert_eq!(status.last_error.as_deref(), Some(REFUSED));

    store
        .writer
        .outbox(OutboxChange::DropDead {
            id: alert,
            user: "anna".into(),
            at_ms: 7,
        })
        .await
        .unwrap();
    assert_eq!(store.reader.upload_status().unwrap().last_error, None);
    store.close();
}

#[tokio::test]
async fn retrying_a_dead_letter_is_audited() {
    let store = configured("outbox-dead", 1 << 30).await;
    let (alert, diag) = alert_and_diag_batches(&store).await;

    let not_dead = store
        .writer
        .outbox(OutboxChange::RetryDead {
            id: alert.clone(),
            user: "anna".into(),
            at_ms: 7,
        })
        .await;
    assert!(matches!(
        not_dead,
        Err(StoreError::Outbox(OutboxError::NotDead(_)))
    ));
    let unknown = store
        .writer
        .outbox(OutboxChange::DropDead {
            id: "nothing".into(),
            user: "anna".into(),
            at_ms: 7,
        })
        .await;
    assert_eq!(
        unknown.unwrap_err().to_string(),
        "no upload batch nothing is queued"
    );

    for id in [&alert, &diag] {
        park(&store, id).await;
    }
    let status = store.reader.upload_status().unwrap();
    assert_eq!(status.dead_letters, 2);
    assert_eq!(status.last_error.as_deref(), Some(REFUSED));
    store
        .writer
        .outbox(OutboxChange::RetryDead {
            id: alert.clone(),
            user: "anna".into(),
            at_ms: 8,
        })
        .await
        .unwrap();
    store
        .writer
        .outbox(OutboxChange::DropDead {
            id: diag.clone(),
            user: "bert".into(),
            at_ms: 9,
        })
        .await
        .unwrap();

    let batches = store.reader.outbox_batches().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        (batches[0].state, batches[0].reason.clone()),
        (BatchState::Ready, None)
    );
    assert_eq!(
        store.reader.upload_status().unwrap().queued_items,
        1,
        "dropped with its items"
    );
    assert_eq!(
        store.number(&format!(
            "SELECT count(*) FROM audit WHERE user = 'anna' AND at_ms = 8 AND action = 'change'
             AND subject = 'upload dead letter {alert} (1 alert items of 2026-03-02): retried'"
        )),
        1
    );
    assert_eq!(
        store.number(&format!(
            "SELECT count(*) FROM audit WHERE user = 'bert' AND at_ms = 9
             AND subject LIKE 'upload dead letter {diag} %: dropped'"
        )),
        1
    );
    store.close();
}

#[tokio::test]
async fn a_split_batch_is_replaced_by_its_halves() {
    let store = configured("outbox-split", 1 << 30).await;
    let queued: Vec<Item> = (0..3)
        .map(|n| item(Kind::Alert, &format!("alert:{n}"), n, 100))
        .collect();
    queue(&store, queued.clone()).await;
    let planned = commit_all(&store).await;
    let (left, right) = batch::split(&planned[0].keys).unwrap();
    let halves: Vec<NewBatch> = [left, right]
        .iter()
        .map(|keys| {
            let members: Vec<&Item> = queued.iter().filter(|i| keys.contains(&i.key)).collect();
            let mut half = batch::plan(
                &members.iter().map(|i| (*i).clone()).collect::<Vec<_>>(),
                &Default::default(),
                0,
                true,
            );
            NewBatch {
                planned: half.remove(0),
                body: batch::encode(&members).unwrap(),
            }
        })
        .collect();
    store
        .writer
        .outbox(OutboxChange::Split {
            id: planned[0].id.clone(),
            halves: halves.clone(),
        })
        .await
        .unwrap();
    let batches = store.reader.outbox_batches().unwrap();
    let mut ids: Vec<String> = batches.iter().map(|b| b.id.clone()).collect();
    ids.sort();
    let mut expected: Vec<String> = halves.iter().map(|h| h.planned.id.clone()).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(
        keys(
            &store
                .reader
                .outbox_batch_items(&halves[0].planned.id)
                .unwrap()
        ),
        ["alert:0", "alert:1"]
    );
    store.close();
}

#[tokio::test]
async fn a_failure_and_a_pause_persist_until_a_delivery_clears_them() {
    let store = configured("outbox-failure", 1 << 30).await;
    queue(&store, vec![item(Kind::Alert, "alert:a", 1, 100)]).await;
    let planned = commit_all(&store).await;
    store
        .writer
        .outbox(OutboxChange::Failure {
            error: Some("The receiver refused the token (401).".into()),
            paused: Some("The receiver refused the token (401).".into()),
        })
        .await
        .unwrap();
    let store = store.reopen();
    assert_eq!(
        store.reader.upload_paused().unwrap().as_deref(),
        Some("The receiver refused the token (401).")
    );
    store
        .writer
        .outbox(OutboxChange::Delivered {
            id: planned[0].id.clone(),
            at_ms: 77,
        })
        .await
        .unwrap();
    let status = store.reader.upload_status().unwrap();
    assert_eq!(
        status,
        UploadStatus {
            last_success_ms: Some(77),
            ..UploadStatus::default()
        }
    );
    assert_eq!(store.reader.upload_paused().unwrap(), None);
    assert_eq!(
        store.number("SELECT delivered_batches * 1000 + delivered_items FROM upload_state"),
        1001
    );
    store.close();
}

#[tokio::test]
async fn the_budget_the_status_and_the_partitions_are_summed_without_reading_a_payload() {
    let store = configured("outbox-covering", 1 << 30).await;
    for sql in [USED_BYTES, STATUS, PARTITIONS] {
        let plan: Vec<String> = store
            .reader
            .with(|conn| {
                let mut query = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                let rows = query.query_map([], |r| r.get::<_, String>(3))?;
                rows.collect()
            })
            .unwrap();
        let reads: Vec<&String> = plan.iter().filter(|l| l.contains("outbox_")).collect();
        assert!(!reads.is_empty(), "{plan:?}");
        for line in reads {
            assert!(line.contains("COVERING INDEX"), "{line} in {plan:?}");
        }
    }
    store.close();
}

#[tokio::test]
async fn a_batch_finds_its_members_by_key_without_scanning_the_queue() {
    let store = configured("outbox-members", 1 << 30).await;
    let plan: Vec<String> = store
        .reader
        .with(|conn| {
            let mut query = conn.prepare(&format!("EXPLAIN QUERY PLAN {BATCH_MEMBERS}"))?;
            let rows = query.query_map(["b", "[]"], |r| r.get::<_, String>(3))?;
            rows.collect()
        })
        .unwrap();
    let items: Vec<&String> = plan.iter().filter(|l| l.contains("outbox_item")).collect();
    assert_eq!(items.len(), 1, "{plan:?}");
    assert!(
        items[0].contains("SEARCH") && items[0].contains("outbox_item_unbatched_key (key=?)"),
        "{plan:?}"
    );
    store.close();
}

/// A report batch naming worker `badge` by `pseudonym`, with one summary item of theirs.
fn named_batch(wearable: i64, badge: &str, pseudonym: &str, key: &str) -> ReportBatch {
    let mut item = summary(key, 1, "low");
    item.payload = format!(
        "{{\"kind\":\"shift_summary\",\"key\":\"{key}\",\"worker\":\"{pseudonym}\",\"revision\":1}}"
    )
    .into_bytes();
    ReportBatch {
        wearable_id: wearable,
        lo_ms: 0,
        hi_ms: 10,
        last_segment_id: None,
        reports: Vec::new(),
        outbox: vec![item],
        pseudonyms: vec![crate::store::reports::UploadPseudonym {
            worker: crate::worker::WorkerTag::from_ascii(badge).unwrap(),
            key_id: "0123456789abcdef".into(),
            pseudonym: pseudonym.into(),
        }],
    }
}

#[tokio::test]
async fn the_pseudonyms_a_worker_was_uploaded_under_are_kept_per_key_id() {
    let store = configured("outbox-pseudonyms", 1 << 30).await;
    store.docking("KW-1", 5).await;
    let wearable = store.number("SELECT id FROM wearable WHERE serial = 'KW-1'");
    let p = "a".repeat(64);
    store
        .writer
        .replace_reports(named_batch(wearable, "B-7", &p, "shift:a"))
        .await
        .unwrap();
    let worker = store.number("SELECT id FROM worker");
    assert_eq!(
        store.reader.upload_pseudonyms_of(worker).unwrap(),
        [("0123456789abcdef".to_owned(), p)]
    );
    store.close();
}

#[tokio::test]
async fn an_opted_out_workers_items_are_dropped_inside_the_storing_transaction_and_at_opt_out() {
    use crate::store::roster::RosterChange;
    let store = configured("outbox-opt-out", 1 << 30).await;
    store.docking("KW-1", 5).await;
    let wearable = store.number("SELECT id FROM wearable WHERE serial = 'KW-1'");
    let (anna, ben) = ("a".repeat(64), "b".repeat(64));
    store
        .writer
        .replace_reports(named_batch(wearable, "B-1", &anna, "shift:anna"))
        .await
        .unwrap();
    store
        .writer
        .replace_reports(named_batch(wearable, "B-2", &ben, "shift:ben"))
        .await
        .unwrap();
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 2);
    // Anna opts out: her queued item leaves the outbox with the opt-out.
    let anna_id = store.number("SELECT min(id) FROM worker");
    store
        .roster(RosterChange::OptOut {
            id: anna_id,
            opted_out_ms: Some(50),
        })
        .await
        .unwrap();
    let queued: Vec<String> = store
        .reader
        .outbox_partitions()
        .unwrap()
        .iter()
        .flat_map(|q| {
            store
                .reader
                .outbox_pending(&q.partition, 100, 1 << 20)
                .unwrap()
        })
        .map(|i| i.key)
        .collect();
    assert_eq!(queued, ["shift:ben"]);
    // An analyst that read the roster before the opt-out still hands her items: dropped inside
    // the storing transaction.
    store
        .writer
        .replace_reports(named_batch(wearable, "B-1", &anna, "shift:anna-2"))
        .await
        .unwrap();
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 1);
    store.close();
}

#[tokio::test]
async fn the_last_dock_record_time_is_read_back_after_its_delivery() {
    let store = configured("outbox-last-queued", 1 << 30).await;
    let key = |at: i64| format!("dock_diag:plant-7:dock-1:{at}");
    queue(
        &store,
        vec![
            item(Kind::DockDiag, &key(3_600_000), 1, 100),
            item(Kind::DockDiag, &key(7_200_000), 2, 100),
            item(Kind::DockGps, "dock_gps:plant-7:dock-1:9999999", 3, 100),
            item(Kind::DockDiag, "dock_diag:plant-7:dock-10:99999999", 4, 100),
        ],
    )
    .await;
    for planned in commit_all(&store).await {
        store
            .writer
            .outbox(OutboxChange::Delivered {
                id: planned.id,
                at_ms: 10,
            })
            .await
            .unwrap();
    }
    assert_eq!(store.reader.upload_status().unwrap().queued_items, 0);
    let last = |kind| {
        store
            .reader
            .last_queued_at(kind, "plant-7", "dock-1")
            .unwrap()
    };
    assert_eq!(last(Kind::DockDiag), Some(7_200_000));
    assert_eq!(last(Kind::DockGps), Some(9_999_999));
    assert_eq!(
        store
            .reader
            .last_queued_at(Kind::DockDiag, "plant-7", "dock-2")
            .unwrap(),
        None
    );
    store.close();
}

#[tokio::test]
async fn an_audit_line_that_anchors_the_chain_queues_the_anchor_once() {
    let store = configured("outbox-anchor", 1 << 30).await;
    for at_ms in [5_000, 6_000] {
        store
            .writer
            .audit(vec![AuditEntry {
                at_ms,
                user: "anna".into(),
                action: "view".into(),
                subject: "audit trail".into(),
            }])
            .await
            .unwrap();
    }
    store.wait_for_count("SELECT count(*) FROM audit", 2).await;
    // One anchor (the second line came within the hour), queued once, naming the head it took.
    let anchors: Vec<(String, Vec<u8>)> = store
        .reader
        .with(|conn| {
            let mut query =
                conn.prepare("SELECT key, payload FROM outbox_item WHERE kind = 'audit_anchor'")?;
            let rows = query.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
        .unwrap();
    assert_eq!(anchors.len(), 1);
    let record: serde_json::Value = serde_json::from_slice(&anchors[0].1).unwrap();
    assert_eq!(
        anchors[0].0,
        format!(
            "audit_anchor:{}:{}:1",
            record["site"].as_str().unwrap(),
            record["dock"].as_str().unwrap()
        )
    );
    assert_eq!(record["audit_id"], 1);
    let link: String = store
        .reader
        .with(|conn| {
            conn.query_row("SELECT hash FROM audit_link WHERE audit_id = 1", [], |r| {
                r.get(0)
            })
        })
        .unwrap();
    assert_eq!(record["link"], link.as_str());
    assert!(
        crate::upload::record::tests::errors(
            &crate::upload::record::tests::schema_of(Kind::AuditAnchor),
            &record
        )
        .is_empty()
    );
    store.close();
}

#[tokio::test]
async fn the_retention_purge_drops_undelivered_items_past_their_age_and_records_each_kind() {
    let store = configured("outbox-retention", 1 << 30).await;
    // An old alert batch, old and young summaries waiting, an old deletion record.
    queue(&store, vec![item(Kind::Alert, "alert:old", 100, 500)]).await;
    commit_all(&store).await;
    queue(
        &store,
        vec![
            item(Kind::ShiftSummary, "shift:old", 200, 500),
            item(Kind::ShiftSummary, "shift:young", 5_000, 500),
            item(Kind::WorkerDeleted, "worker_deleted:old", 100, 500),
        ],
    )
    .await;
    let cutoffs = crate::store::purge::Cutoffs {
        at_ms: 10_000,
        gps_before_ms: 0,
        dock_power_before_ms: 0,
        quarantine_before_ms: 0,
        samples_before_ms: 0,
        alerts_before_ms: 0,
        reports_before_ms: 0,
        audit_before_ms: 0,
        outbox_before_ms: 1_000,
    };
    let purged = store.writer.purge(cutoffs).await.unwrap();
    assert_eq!(
        purged.upload_items, 2,
        "the old alert batch's item and the old summary"
    );
    let left: Vec<String> = store
        .reader
        .with(|c| {
            c.prepare("SELECT key FROM outbox_item WHERE kind != 'evicted' ORDER BY key")?
                .query_map([], |r| r.get(0))?
                .collect()
        })
        .unwrap();
    assert_eq!(left, ["shift:young", "worker_deleted:old"]);
    assert!(store.reader.outbox_batches().unwrap().is_empty());
    let evictions = store.reader.outbox_evictions().unwrap();
    let kinds: Vec<(Kind, u64)> = evictions.iter().map(|e| (e.kind, e.items)).collect();
    assert_eq!(kinds, [(Kind::Alert, 1), (Kind::ShiftSummary, 1)]);
    // Each is uploaded as an `evicted` record.
    assert_eq!(
        store.number("SELECT count(*) FROM outbox_item WHERE kind = 'evicted'"),
        2
    );
    store.close();
}
