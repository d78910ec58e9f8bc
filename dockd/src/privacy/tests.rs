//! The inventory's tests: it classifies exactly the live schema's tables and columns, and what
//! names a worker directly never leaves the dock.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::store::testing::Scratch;

/// Every table of a freshly migrated database and its columns, as SQLite lists them.
fn live_schema() -> BTreeMap<String, BTreeSet<String>> {
    let store = Scratch::new("inventory-schema");
    let schema = store
        .reader
        .schema_columns()
        .unwrap()
        .into_iter()
        .map(|(table, columns)| (table, columns.into_iter().collect()))
        .collect();
    store.close();
    schema
}

#[test]
fn the_inventory_classifies_every_table_and_column_of_the_live_schema_and_nothing_else() {
    let live = live_schema();
    let listed: BTreeMap<String, BTreeSet<String>> = INVENTORY
        .iter()
        .map(|e| {
            (
                e.table.to_owned(),
                e.columns.iter().map(|(c, _)| (*c).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(INVENTORY.len(), listed.len(), "a table is listed twice");
    let unlisted: Vec<&String> = live.keys().filter(|t| !listed.contains_key(*t)).collect();
    assert!(
        unlisted.is_empty(),
        "tables the inventory does not classify: {unlisted:?}"
    );
    let stale: Vec<&String> = listed.keys().filter(|t| !live.contains_key(*t)).collect();
    assert!(
        stale.is_empty(),
        "the inventory lists tables that do not exist: {stale:?}"
    );
    for (table, columns) in &live {
        assert_eq!(
            &listed[table], columns,
            "the inventory's columns of `{table}` differ from the schema's"
        );
    }
}

#[test]
fn what_names_a_worker_directly_and_work_restrictions_never_leave_the_dock() {
    for e in INVENTORY {
        if e.columns
            .iter()
            .any(|(_, c)| *c == ColumnClass::DirectIdentifier)
        {
            assert!(e.leaves_as.is_empty(), "{} leaves the dock", e.table);
        }
    }
    // Work restrictions (health-related) never leave the dock.
    assert_eq!(
        entry("work_restriction").map(|e| e.leaves_as.len()),
        Some(0)
    );
    // The dock's GPS leaves only as its own kind, which names no worker.
    assert_eq!(
        entry("gps_fix").map(|e| e.leaves_as),
        Some(&[Kind::DockGps][..])
    );
}

#[test]
fn nothing_leaves_without_an_upload_section_and_raw_samples_only_when_opted_in() {
    assert!(
        inventory(None, &Default::default())
            .iter()
            .all(|row| !row.leaves_dock)
    );
    // Any file that exists stands for the token here (the config checks only that it does).
    let token = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut upload = crate::config::Config::parse(
        &format!(
            "[upload]\nurl = \"https://ingest.example\"\nsite = \"plant-a\"\ntoken_file = \"{token}\"\n"
        ),
        std::path::Path::new("dockd.toml"),
    )
    .unwrap()
    .upload
    .unwrap();
    let samples = |rows: Vec<InventoryRow>| {
        rows.into_iter()
            .find(|r| r.table == "sample_block")
            .unwrap()
            .leaves_dock
    };
    assert!(!samples(inventory(Some(&upload), &Default::default())));
    upload.raw_samples = true;
    assert!(samples(inventory(Some(&upload), &Default::default())));
}

#[test]
fn the_configured_retention_is_shown_resolved_in_days() {
    let days = crate::config::RetentionDays {
        gps: 7,
        ..Default::default()
    };
    let rows = inventory(None, &days);
    let gps = rows.iter().find(|r| r.table == "gps_fix").unwrap();
    assert_eq!(
        gps.retention,
        Retention::Days {
            days: 7,
            after: "at_ms"
        }
    );
    assert!(
        rows.iter()
            .all(|r| !matches!(r.retention, Retention::Configured { .. }))
    );
}

#[test]
fn the_next_purge_is_the_next_purge_at_in_the_site_zone_also_across_a_clock_change() {
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let ms = |s: &str| {
        s.parse::<jiff::Zoned>()
            .unwrap()
            .timestamp()
            .as_millisecond()
    };
    // Before today's 03:30: today; at or after it: tomorrow.
    assert_eq!(
        next_purge_ms(
            (3, 30),
            &berlin,
            ms("2026-12-07T01:00:00+01:00[Europe/Berlin]")
        ),
        Some(ms("2026-12-07T03:30:00+01:00[Europe/Berlin]"))
    );
    assert_eq!(
        next_purge_ms(
            (3, 30),
            &berlin,
            ms("2026-12-07T03:30:00+01:00[Europe/Berlin]")
        ),
        Some(ms("2026-12-08T03:30:00+01:00[Europe/Berlin]"))
    );
    // 02:30 does not exist on 29 March 2026 in Berlin: the purge runs at 03:30 summer time.
    assert_eq!(
        next_purge_ms(
            (2, 30),
            &berlin,
            ms("2026-03-29T00:00:00+01:00[Europe/Berlin]")
        ),
        Some(ms("2026-03-29T03:30:00+02:00[Europe/Berlin]"))
    );
}

#[tokio::test(start_paused = true)]
async fn the_daily_purge_runs_at_purge_at_on_the_injected_clock_and_not_before() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};
    struct Manual(AtomicI64);
    impl crate::clock::Clock for Manual {
        fn now_ms(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }
    let store = Scratch::new("purge-daily");
    // 2026-12-07 03:00 UTC; the site is UTC; purge_at 03:30; a GPS fix 40 days old.
    let start = 1_796_612_400_000;
    store.tamper(&format!(
        "INSERT INTO gps_fix (at_ms, mode) VALUES ({}, 3);",
        start - 40 * 86_400_000
    ));
    let clock = Arc::new(Manual(AtomicI64::new(start)));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let site = Arc::new(crate::site::SiteSettings::fixed(
        crate::analysis::Settings::default(),
    ));
    let task = tokio::spawn(run_purges(
        store.writer.clone(),
        crate::config::PrivacyConfig::default(),
        site,
        clock.clone(),
        shutdown.clone(),
    ));
    // 29 minutes later, and two minutes of the task's waiting: not yet.
    clock.0.store(start + 29 * 60_000, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_secs(120)).await;
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(store.reader.last_purge_ms().unwrap(), None);
    assert_eq!(store.number("SELECT count(*) FROM gps_fix"), 1);
    // 03:30 passed: the purge runs within the minute it waits at most.
    clock.0.store(start + 31 * 60_000, Ordering::SeqCst);
    // Paused time runs ahead while the writer thread works in real time: wait on both.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.reader.last_purge_ms().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the purge did not run"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(store.number("SELECT count(*) FROM gps_fix"), 0);
    shutdown.cancel();
    task.await.unwrap();
    store.close();
}
