//! Tests of `upload::batch`: partitions, limits, age, ids, encoding, and the same bytes for the same members.

use proptest::prelude::*;

use super::*;

fn item(key: &str, kind: Kind, day: &str, len: usize, created_ms: i64) -> Item {
    let payload = format!("{{\"key\":\"{key}\",\"pad\":\"{}\"}}", "x".repeat(len));
    Item {
        key: key.into(),
        kind,
        day: day.into(),
        payload: payload.into_bytes(),
        created_ms,
    }
}

fn limits(max_items: usize, max_bytes: usize, max_age_s: u64) -> Limits {
    Limits {
        max_items,
        max_bytes,
        max_age_s,
    }
}

#[test]
fn a_young_partial_batch_waits_and_an_old_one_is_due() {
    let items = vec![item("a", Kind::Alert, "2026-03-02", 10, 1_000)];
    let l = limits(10, 1 << 20, 60);
    assert!(plan(&items, &l, 1_000 + 59_999, false).is_empty());
    let due = plan(&items, &l, 1_000 + 60_000, false);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].keys, ["a"]);
    assert_eq!(plan(&items, &l, 1_000, true).len(), 1, "upload now flushes");
}

#[test]
fn full_batches_are_due_at_once_and_the_rest_waits() {
    let items: Vec<Item> = (0..7)
        .map(|i| item(&format!("k{i}"), Kind::Alert, "2026-03-02", 10, i))
        .collect();
    let due = plan(&items, &limits(3, 1 << 20, 3600), 10, false);
    assert_eq!(due.len(), 2, "two full batches of 3; the seventh waits");
    assert_eq!(due[0].keys, ["k0", "k1", "k2"]);
    assert_eq!(due[1].keys, ["k3", "k4", "k5"]);
}

#[test]
fn a_batch_holds_one_kind_and_day_and_unknown_days_have_their_own() {
    let items = vec![
        item("a", Kind::Alert, "2026-03-02", 10, 0),
        item("b", Kind::Alert, "2026-03-03", 10, 0),
        item("c", Kind::Alert, UNKNOWN_DAY, 10, 0),
        item("d", Kind::ShiftSummary, "2026-03-02", 10, 0),
    ];
    let due = plan(&items, &Limits::default(), 0, true);
    assert_eq!(due.len(), 4);
    let unknown = due.iter().find(|b| b.keys == ["c"]).unwrap();
    assert_eq!(unknown.partition.day, UNKNOWN_DAY);
    let key = object_key("", "plant-7", &unknown.partition, &unknown.id);
    assert_eq!(
        key,
        format!(
            "site=plant-7/kind=alert/date=unknown/batch-{}.ndjson.zst",
            unknown.id
        )
    );
}

#[test]
fn an_item_larger_than_the_byte_limit_travels_alone() {
    let items = vec![
        item("a", Kind::RawSamples, "2026-03-02", 5000, 0),
        item("b", Kind::RawSamples, "2026-03-02", 10, 1),
    ];
    let due = plan(&items, &limits(100, 1000, 3600), 2, false);
    assert_eq!(
        due.len(),
        1,
        "the big one is full on its own; the small one waits"
    );
    assert_eq!(due[0].keys, ["a"]);
}

#[test]
fn object_keys_are_hive_style_under_the_prefix() {
    let p = Partition {
        kind: Kind::ShiftSummary,
        day: "2026-03-02".into(),
    };
    assert_eq!(
        object_key("/dockd/v1/", "plant-7", &p, "00ff"),
        "dockd/v1/site=plant-7/kind=shift_summary/date=2026-03-02/batch-00ff.ndjson.zst"
    );
}

#[test]
fn site_names_that_would_break_a_key_or_a_path_are_refused() {
    assert!(site_name_is_valid("plant-7"));
    assert!(site_name_is_valid("a_b"));
    for bad in [
        "",
        "Plant",
        "a/b",
        "a=b",
        "a:b",
        "a b",
        "-a",
        &"a".repeat(65),
    ] {
        assert!(!site_name_is_valid(bad), "{bad}");
    }
}

#[test]
fn the_batch_id_is_the_documented_hash_of_sorted_keys_and_contents() {
    let a = item("a", Kind::Alert, "2026-03-02", 1, 0);
    let b = item("b", Kind::Alert, "2026-03-02", 1, 0);
    let mut hash = Sha256::new();
    for i in [&a, &b] {
        hash.update(format!(
            "{}\t{}\n",
            i.key,
            hex::encode(Sha256::digest(&i.payload))
        ));
    }
    let expected = &hex::encode(hash.finalize())[..BATCH_ID_HEX];
    assert_eq!(batch_id(&[&b, &a]), expected);
    // A new revision under the same key is a different batch.
    let mut b2 = b.clone();
    b2.payload.push(b' ');
    assert_ne!(batch_id(&[&a, &b2]), expected);
}

#[test]
fn a_batch_is_ndjson_compressed_with_zstd() {
    let a = item("a", Kind::Alert, "2026-03-02", 3, 0);
    let b = item("b", Kind::Alert, "2026-03-02", 3, 0);
    let bytes = encode(&[&b, &a]).unwrap();
    let plain = zstd::stream::decode_all(&bytes[..]).unwrap();
    let lines: Vec<&[u8]> = plain.split(|c| *c == b'\n').collect();
    assert_eq!(lines, [&a.payload[..], &b.payload[..], b""]);
    for line in &lines[..2] {
        serde_json::from_slice::<serde_json::Value>(line).unwrap();
    }
}

#[test]
fn a_too_large_batch_splits_into_sorted_halves_and_a_single_record_does_not() {
    let keys: Vec<String> = ["c", "a", "b"].iter().map(|s| (*s).to_owned()).collect();
    let (l, r) = split(&keys).unwrap();
    assert_eq!(
        (l, r),
        (vec!["a".to_owned(), "b".to_owned()], vec!["c".to_owned()])
    );
    assert_eq!(split(&keys[..1]), None);
}

#[test]
fn every_kind_of_record_travels_through_a_batch_and_reads_back_the_same() {
    let records = crate::upload::record::tests::examples();
    let items: Vec<Item> = records.iter().map(|r| Item::of(r, 0).unwrap()).collect();
    let due = plan(&items, &Limits::default(), 0, true);
    let mut back = Vec::new();
    for batch in &due {
        let members: Vec<&Item> = items
            .iter()
            .filter(|i| batch.keys.contains(&i.key))
            .collect();
        assert!(members.iter().all(|i| i.day == batch.partition.day));
        let plain = zstd::stream::decode_all(&encode(&members).unwrap()[..]).unwrap();
        for line in plain.split(|c| *c == b'\n').filter(|l| !l.is_empty()) {
            back.push(serde_json::from_slice::<Record>(line).unwrap());
        }
    }
    back.sort_by(|a, b| a.key().cmp(b.key()));
    let mut records = records;
    records.sort_by(|a, b| a.key().cmp(b.key()));
    assert_eq!(back, records);
}

fn arb_items() -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec((0usize..3, 0usize..3, 0usize..300, 0i64..5000), 0..60).prop_map(
        |specs| {
            let kinds = [Kind::Alert, Kind::ShiftSummary, Kind::DockGps];
            let days = ["2026-03-01", "2026-03-02", UNKNOWN_DAY];
            specs
                .into_iter()
                .enumerate()
                .map(|(n, (k, d, len, at))| item(&format!("key-{n}"), kinds[k], days[d], len, at))
                .collect()
        },
    )
}

proptest! {
    #[test]
    fn the_same_membership_always_gives_the_same_batches_and_bytes(
        items in arb_items(),
        seed in any::<u64>(),
        max_items in 1usize..20,
        max_bytes in 50usize..4000,
        now in 0i64..10_000,
    ) {
        let l = limits(max_items, max_bytes, 2);
        let mut shuffled = items.clone();
        let mut rng = crate::upload::testing::Rng::new(seed);
        for i in (1..shuffled.len()).rev() {
            let j = usize::try_from(rng.next() % (i as u64 + 1)).unwrap();
            shuffled.swap(i, j);
        }
        let first = plan(&items, &l, now, false);
        let second = plan(&shuffled, &l, now, false);
        prop_assert_eq!(&first, &second);
        for batch in &first {
            let members = |all: &[Item]| -> Vec<Item> {
                all.iter().filter(|i| batch.keys.contains(&i.key)).cloned().collect()
            };
            let (m1, m2) = (members(&items), members(&shuffled));
            let r1: Vec<&Item> = m1.iter().collect();
            let r2: Vec<&Item> = m2.iter().rev().collect();
            prop_assert_eq!(encode(&r1).unwrap(), encode(&r2).unwrap());
            prop_assert_eq!(batch_id(&r1), batch.id.clone());
        }
    }

    #[test]
    fn batches_keep_their_limits_and_partition_and_never_share_an_item(
        items in arb_items(),
        max_items in 1usize..20,
        max_bytes in 50usize..4000,
        flush in any::<bool>(),
    ) {
        let l = limits(max_items, max_bytes, 3600);
        let due = plan(&items, &l, 0, flush);
        let mut seen = std::collections::BTreeSet::new();
        for batch in &due {
            prop_assert!(batch.keys.len() <= max_items);
            prop_assert!(batch.keys.len() == 1 || batch.bytes <= max_bytes);
            for key in &batch.keys {
                prop_assert!(seen.insert(key.clone()), "{} twice", key);
                let item = items.iter().find(|i| &i.key == key).unwrap();
                prop_assert_eq!(item.kind, batch.partition.kind);
                prop_assert_eq!(&item.day, &batch.partition.day);
            }
        }
        if flush {
            prop_assert_eq!(seen.len(), items.len(), "upload now sends everything");
        }
    }
}

#[test]
fn a_partition_is_due_from_its_figures_alone_by_the_same_rule_as_its_plan() {
    let limits = Limits {
        max_items: 10,
        max_bytes: 1000,
        max_age_s: 60,
    };
    // Young and small: waits; full by items or bytes, old enough, or flushed: due.
    assert!(!is_due(3, 300, 100_000, &limits, 130_000, false));
    assert!(is_due(10, 300, 100_000, &limits, 130_000, false));
    assert!(is_due(3, 1000, 100_000, &limits, 130_000, false));
    assert!(is_due(3, 300, 100_000, &limits, 160_000, false));
    assert!(is_due(3, 300, 100_000, &limits, 130_000, true));
    assert_eq!(batches_for(25, 300, &limits), 3);
    assert_eq!(batches_for(5, 2500, &limits), 3);
    assert_eq!(batches_for(0, 0, &limits), 1);
}
