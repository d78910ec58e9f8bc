//! Tests of `upload::record`: every kind against its JSON Schema (closed both ways), keys, privacy by structure.

use std::path::PathBuf;

use serde_json::Value;

use super::*;

const PSEUDONYM: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// One example of every kind, sealed as a producer would.
pub(crate) fn examples() -> Vec<Record> {
    let site = "plant-7".to_owned();
    let dock = "dock-a".to_owned();
    let group = GroupAggregate {
        key: String::new(),
        schema: 0,
        site: site.clone(),
        dock: dock.clone(),
        day: "2026-03-02".into(),
        group: "Palletising".into(),
        workers: 6,
        shifts: 9,
        wear_h: 61.5,
        per_hour: MovementRates {
            bends: 41.0,
            lifts: 12.5,
            ..MovementRates::default()
        },
        high_risk_share: 0.25,
        alerts_per_day: None,
    };
    let mut team = group.clone();
    team.group = "Night shift".into();
    team.alerts_per_day = Some(3.5);
    vec![
        Record::ShiftSummary(ShiftSummary {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            worker: PSEUDONYM.into(),
            key_id: "site-2026-01".into(),
            wearable: "WR-00042".into(),
            revision: 2,
            analysis_version: 2,
            day: "2026-03-02".into(),
            start_ms: 1_772_431_200_000,
            end_ms: 1_772_460_000_000,
            wear_s: 27_000.5,
            counts: MovementCounts {
                bends: 310,
                twists: 40,
                ..MovementCounts::default()
            },
            risk_level: RiskLevel::Medium,
            reasons: vec!["bends per hour above the site's 28-day baseline".into()],
            alerts: AlertSummary {
                count: 12,
                haptic_rate: Some(0.9),
                median_response_ms: Some(1400),
                p90_response_ms: Some(3100),
                uncorrected: 1,
            },
        }),
        Record::Alert(Alert {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            worker: PSEUDONYM.into(),
            key_id: "site-2026-01".into(),
            wearable: "WR-00042".into(),
            segment_no: 17,
            index: 3,
            day: UNKNOWN_DAY.into(),
            at_ms: None,
            alert_kind: 2,
            peak: -1200,
            duration_ms: 2500,
            response_ms: None,
            haptic: true,
        }),
        Record::TaskAggregate(group),
        Record::TeamAggregate(team),
        Record::WearableDiag(WearableDiag {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            wearable: "WR-00042".into(),
            firmware: Some("1.4.2".into()),
            day: "2026-03-02".into(),
            docked_ms: 1_772_460_100_000,
            boot_count: 88,
            clock_valid: true,
            soc_pct: 41,
            health_pct: 93,
            cycles: 310,
            voltage_mv: 3790,
            temp_dc: 291,
            charging: true,
            fault_codes: vec![3, 9],
        }),
        Record::DockDiag(DockDiag {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            day: "2026-03-02".into(),
            at_ms: 1_772_460_200_000,
            version: "0.1.0".into(),
            mains_online: Some(true),
            battery_pct: None,
            max_temp_c: Some(48.5),
            disk_total_bytes: Some(32_000_000_000),
            disk_available_bytes: Some(20_000_000_000),
            database_bytes: Some(180_000_000),
        }),
        Record::DockGps(DockGps {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            day: "2026-03-02".into(),
            at_ms: 1_772_460_300_000,
            mode: 3,
            lat: Some(52.52),
            lon: Some(13.405),
            alt_m: Some(34.0),
            satellites_used: Some(8),
            satellites_seen: Some(12),
            hdop: Some(0.9),
            eph: Some(4.2),
        }),
        Record::RawSamples(RawSamples {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            worker: Some(PSEUDONYM.into()),
            key_id: Some("site-2026-01".into()),
            wearable: "WR-00042".into(),
            segment_no: 17,
            block: 0,
            day: "2026-03-02".into(),
            start_ms: Some(1_772_431_200_000),
            rate_hz: 25,
            flex: vec![120, 130],
            lateral: vec![-5, -4],
            twist: vec![0, 10],
            height: vec![3, 3],
        }),
        Record::WorkerDeleted(WorkerDeleted {
            key: String::new(),
            schema: 0,
            site: site.clone(),
            dock: dock.clone(),
            worker: PSEUDONYM.into(),
            key_id: "site-2026-01".into(),
            day: "2026-03-05".into(),
            deleted_ms: 1_772_700_000_000,
        }),
        Record::Evicted(Evicted {
            key: String::new(),
            schema: 0,
            site,
            dock,
            eviction_no: 1,
            day: "2026-03-05".into(),
            at_ms: 1_772_700_000_000,
            evicted_kind: Kind::RawSamples,
            items: 4000,
            bytes: 52_000_000,
            first_created_ms: 1_772_431_200_000,
            last_created_ms: 1_772_460_000_000,
        }),
        Record::AuditAnchor(AuditAnchor {
            key: String::new(),
            schema: 0,
            site: "plant-7".into(),
            dock: "dock-a".into(),
            day: "2026-03-05".into(),
            at_ms: 1_772_700_100_000,
            audit_id: 42,
            link: "ab".repeat(32),
        }),
    ]
    .into_iter()
    .map(Record::sealed)
    .collect()
}

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/upload-schema")
}

pub(crate) fn schema_of(kind: Kind) -> Value {
    let path = schema_dir().join(format!("{}.json", kind.name()));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

pub(crate) fn errors(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).unwrap();
    validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn the_examples_cover_every_kind_once() {
    let kinds: Vec<Kind> = examples().iter().map(Record::kind).collect();
    assert_eq!(kinds, Kind::ALL);
}

#[test]
fn every_kind_validates_against_its_json_schema() {
    for record in examples() {
        let value = serde_json::to_value(&record).unwrap();
        let problems = errors(&schema_of(record.kind()), &value);
        assert!(
            problems.is_empty(),
            "{}: {problems:?}",
            record.kind().name()
        );
    }
}

#[test]
fn the_schemas_and_the_types_have_the_same_fields_both_ways() {
    for record in examples() {
        let schema = schema_of(record.kind());
        let value = serde_json::to_value(&record).unwrap();
        let name = record.kind().name();
        // A field the type has and the schema lacks: the closed schema refuses it.
        let mut extra = value.clone();
        extra["surplus"] = Value::from(1);
        assert!(
            !errors(&schema, &extra).is_empty(),
            "{name} accepts an unknown field"
        );
        // A field the schema has and the type lacks: every property is required.
        let props = schema["properties"].as_object().unwrap();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut fields: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        fields.sort_unstable();
        let mut required_sorted = required.clone();
        required_sorted.sort_unstable();
        assert_eq!(
            names, fields,
            "{name}: schema properties differ from the type's fields"
        );
        assert_eq!(
            required_sorted, names,
            "{name}: every property must be required"
        );
        for field in fields {
            let mut missing = value.clone();
            missing.as_object_mut().unwrap().remove(field);
            assert!(
                !errors(&schema, &missing).is_empty(),
                "{name} without {field} passes"
            );
        }
    }
}

/// Every object at every depth of every schema is closed.
#[test]
fn every_object_in_every_schema_is_closed() {
    fn check(at: &str, node: &Value) {
        if let Some(map) = node.as_object() {
            if map.get("type") == Some(&Value::from("object")) {
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&Value::Bool(false)),
                    "{at}"
                );
            }
            for (k, v) in map {
                check(&format!("{at}/{k}"), v);
            }
        }
    }
    for kind in Kind::ALL {
        check(kind.name(), &schema_of(kind));
    }
    let files = std::fs::read_dir(schema_dir()).unwrap().count();
    assert_eq!(files, Kind::ALL.len(), "one schema file per kind, no other");
}

#[test]
fn every_record_carries_kind_key_schema_and_site() {
    for record in examples() {
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["kind"], record.kind().name());
        assert_eq!(value["key"], record.derive_key());
        assert_eq!(value["schema"], SCHEMA);
        assert_eq!(value["site"], "plant-7");
    }
}

#[test]
fn keys_follow_the_documented_formats() {
    let keys: Vec<String> = examples().iter().map(|r| r.key().to_owned()).collect();
    assert_eq!(
        keys,
        [
            "shift:plant-7:WR-00042:1772431200000",
            "alert:plant-7:WR-00042:17:3",
            "task:plant-7:dock-a:2026-03-02:Palletising",
            "team:plant-7:dock-a:2026-03-02:Night shift",
            "wearable_diag:plant-7:WR-00042:1772460100000",
            "dock_diag:plant-7:dock-a:1772460200000",
            "dock_gps:plant-7:dock-a:1772460300000",
            "raw:plant-7:WR-00042:17:0",
            &format!("worker_deleted:plant-7:site-2026-01:{PSEUDONYM}"),
            "evicted:plant-7:dock-a:1",
            "audit_anchor:plant-7:dock-a:42",
        ]
    );
}

#[test]
fn a_reanalysed_shift_keeps_its_key_with_a_higher_revision() {
    let first = examples().remove(0);
    let Record::ShiftSummary(mut again) = first.clone() else {
        panic!("the first example is a shift summary")
    };
    again.revision += 1;
    again.wear_s += 60.0;
    let again = Record::ShiftSummary(again).sealed();
    assert_eq!(again.key(), first.key());
}

#[test]
fn records_round_trip_and_refuse_unknown_fields() {
    for record in examples() {
        let line = record.to_line().unwrap();
        let back: Record = serde_json::from_slice(&line).unwrap();
        assert_eq!(back, record);
        let mut value: Value = serde_json::from_slice(&line).unwrap();
        value["badge_tag"] = Value::from("04A1B2C3");
        assert!(
            serde_json::from_value::<Record>(value).is_err(),
            "{}",
            record.kind().name()
        );
    }
}

#[test]
fn dock_gps_has_no_field_naming_a_worker_or_a_wearable() {
    let schema = schema_of(Kind::DockGps);
    for field in ["worker", "key_id", "wearable", "segment_no", "soc_pct"] {
        assert!(schema["properties"].get(field).is_none(), "{field}");
    }
    // And no record that names a worker or a wearable carries a position.
    for kind in Kind::ALL {
        let props = schema_of(kind)["properties"].clone();
        let personal = props.get("worker").is_some() || props.get("wearable").is_some();
        if personal {
            for gps in ["lat", "lon", "alt_m", "hdop", "eph", "satellites_used"] {
                assert!(props.get(gps).is_none(), "{} has {gps}", kind.name());
            }
        }
    }
}

#[test]
fn aggregates_leave_only_for_groups_of_at_least_five_and_the_pages_minimum() {
    assert!(
        !group_may_leave(4, 2),
        "never below 5 whatever the page's setting"
    );
    assert!(group_may_leave(5, 2));
    assert!(group_may_leave(5, 5));
    assert!(!group_may_leave(6, 7));
    assert!(group_may_leave(7, 7));
    assert!(!group_may_leave(0, 0));
}

#[test]
fn kind_names_round_trip() {
    for kind in Kind::ALL {
        assert_eq!(Kind::from_name(kind.name()), Some(kind));
        assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
    }
    assert_eq!(Kind::from_name("gps"), None);
}
