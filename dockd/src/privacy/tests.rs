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
    assert!(inventory(None).iter().all(|row| !row.leaves_dock));
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
    assert!(!samples(inventory(Some(&upload))));
    upload.raw_samples = true;
    assert!(samples(inventory(Some(&upload))));
}
