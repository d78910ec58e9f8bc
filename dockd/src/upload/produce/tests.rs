//! Tests of `upload::produce`: every built record against its JSON Schema, pseudonyms and never a
//! tag or label, the revision rule, the group floor, and privacy by structure.

use serde_json::Value;

use super::*;
use crate::analysis::risk::tests::{deep, exposure, metrics, report, task};
use crate::upload::Kind;
use crate::upload::record::tests::{errors, schema_of};

const BADGE: &str = "04A1B2C3";

fn origin() -> Origin {
    Origin {
        site: "plant-7".into(),
        dock: "dock-a".into(),
    }
}

fn keys() -> Pseudonyms {
    Pseudonyms::from_key([7; 32])
}

fn tag() -> WorkerTag {
    WorkerTag::from_ascii(BADGE).unwrap()
}

fn who() -> Pseudonym {
    Pseudonym::of(&keys(), &tag())
}

fn berlin() -> TimeZone {
    TimeZone::get("Europe/Berlin").unwrap()
}

fn a_shift() -> ShiftReport {
    let mut r = report(
        "2026-03-02",
        metrics(8.0, deep(40)),
        exposure(vec![task("Palletising", 4.0 * 3600.0, deep(20))], None),
    );
    r.start_ms = 1_772_431_200_000;
    r.end_ms = r.start_ms + 8 * 3_600_000;
    r
}

fn info() -> crate::link::Info {
    crate::link::Info {
        serial: "WR-00042".into(),
        model: 1,
        hw_rev: 2,
        fw_major: 1,
        fw_minor: 4,
        fw_patch: 2,
        proto_ver: 1,
        clock_valid: true,
        charging: true,
        haptics_enabled: true,
        boot_count: 12,
        device_ms: 1_772_460_000_000,
        batt_soc: 41,
        batt_health: 93,
        batt_cycles: 210,
        batt_mv: 3840,
        batt_temp_dc: 287,
        worker: Some(tag()),
        segments: 3,
    }
}

fn fix() -> diagnostics::gps::GpsFix {
    diagnostics::gps::GpsFix {
        at_ms: 1_772_460_300_000,
        gps_time_ms: None,
        mode: 3,
        lat: Some(52.52),
        lon: Some(13.40),
        alt_m: Some(34.0),
        satellites_used: Some(8),
        satellites_seen: Some(12),
        hdop: Some(0.9),
        eph: Some(3.5),
    }
}

fn an_alert() -> AlertRecord {
    AlertRecord {
        worker: Some(tag()),
        wall_ms: Some(1_772_440_000_000),
        kind: 2,
        peak: -1200,
        duration_ms: 2500,
        response_ms: Some(900),
        haptic: true,
    }
}

/// One record of every kind this module builds.
fn built() -> Vec<Record> {
    let shifts: Vec<ShiftReport> = (0..5).map(|_| a_shift()).collect();
    let members: Vec<Member<'_>> = shifts
        .iter()
        .enumerate()
        .map(|(i, report)| Member {
            worker: i as i64,
            team: Some("Night shift"),
            report,
        })
        .collect();
    let mut records = vec![
        shift_summary(&origin(), "WR-00042", &who(), &a_shift(), 1),
        alert(
            &origin(),
            "WR-00042",
            &who(),
            AlertPlace {
                segment_no: 17,
                index: 3,
            },
            &berlin(),
            &an_alert(),
        ),
        wearable_diag(
            &origin(),
            &info(),
            1_772_460_100_000,
            &berlin(),
            [0, 7, 3, 7],
        ),
        dock_diag(
            &origin(),
            1_772_460_200_000,
            &berlin(),
            "0.14.0",
            &DockFigures {
                mains_online: Some(true),
                battery_pct: None,
                max_temp_c: Some(48.5),
                disk_total_bytes: Some(32_000_000_000),
                disk_available_bytes: Some(20_000_000_000),
                database_bytes: Some(120_000_000),
            },
        ),
        dock_gps(&origin(), &berlin(), &fix()),
        raw_samples(
            &origin(),
            "WR-00042",
            Some(&who()),
            BlockPlace {
                segment_no: 17,
                block: 0,
                start_ms: Some(1_772_431_200_000),
                rate_hz: 25,
            },
            &berlin(),
            &[[100, -5, 0, 3], [120, -4, 10, 3]],
        ),
    ];
    records.extend(group_aggregates(&origin(), "2026-03-02", &members, 5));
    records
}

#[test]
fn every_built_record_validates_against_its_json_schema() {
    let records = built();
    let mut kinds: Vec<Kind> = records.iter().map(Record::kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            Kind::ShiftSummary,
            Kind::Alert,
            Kind::TaskAggregate,
            Kind::TeamAggregate,
            Kind::WearableDiag,
            Kind::DockDiag,
            Kind::DockGps,
            Kind::RawSamples,
        ]
    );
    for record in records {
        let value = serde_json::to_value(&record).unwrap();
        let problems = errors(&schema_of(record.kind()), &value);
        assert!(
            problems.is_empty(),
            "{}: {problems:?}",
            record.kind().name()
        );
        assert_eq!(record.key(), record.derive_key(), "sealed");
        assert_eq!(value["schema"], crate::upload::record::SCHEMA);
        assert_eq!(value["site"], "plant-7");
    }
}

#[test]
fn a_shift_summary_names_the_worker_by_the_full_site_pseudonym_and_never_by_tag_or_label() {
    let record = shift_summary(&origin(), "WR-00042", &who(), &a_shift(), 1);
    let Record::ShiftSummary(summary) = &record else {
        panic!("a shift summary")
    };
    assert_eq!(summary.worker.len(), 64);
    assert!(summary.worker.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(summary.worker, keys().hash(&tag()));
    assert_eq!(summary.key_id, keys().key_id());
    assert_eq!(summary.key, "shift:plant-7:WR-00042:1772431200000");
    let line = String::from_utf8(record.to_line().unwrap()).unwrap();
    let label = keys().label(&tag());
    for secret in [
        BADGE.to_owned(),
        hex::encode(BADGE),
        label.clone(),
        label.trim_start_matches("W-").to_owned(),
    ] {
        assert!(!line.contains(&secret), "{secret} in {line}");
    }
    assert!(!line.contains("label"));
}

#[test]
fn two_docks_with_the_same_site_key_name_a_worker_alike() {
    let (a, b) = (
        Pseudonym::of(&keys(), &tag()),
        Pseudonym::of(&keys(), &tag()),
    );
    assert_eq!(a, b);
    let other = Pseudonym::of(&Pseudonyms::from_key([8; 32]), &tag());
    assert_ne!(a.worker, other.worker);
    assert!(!format!("{a:?}").contains(&a.worker), "Debug hides it");
}

#[test]
fn a_first_shift_is_revision_one_an_unchanged_one_is_not_queued_and_a_changed_one_is_raised() {
    let shift = a_shift();
    fn build(r: &ShiftReport) -> impl Fn(u32) -> Record + '_ {
        move |rev| shift_summary(&origin(), "WR-00042", &who(), r, rev)
    }
    let first = revise(None, build(&shift)).unwrap().unwrap();
    let Record::ShiftSummary(s) = &first else {
        panic!()
    };
    assert_eq!(s.revision, 1);
    let prior = Prior {
        revision: 1,
        digest: line_digest(&first.to_line().unwrap()),
    };
    assert_eq!(revise(Some(&prior), build(&shift)).unwrap(), None);
    let mut again = shift.clone();
    again.metrics.counts.bends += 1;
    let second = revise(Some(&prior), build(&again)).unwrap().unwrap();
    let Record::ShiftSummary(s2) = &second else {
        panic!()
    };
    assert_eq!(s2.revision, 2);
    assert_eq!(second.key(), first.key());
}

fn day_of_workers(n: usize) -> Vec<ShiftReport> {
    (0..n).map(|_| a_shift()).collect()
}

fn members_of<'a>(reports: &'a [ShiftReport], team: Option<&'a str>) -> Vec<Member<'a>> {
    reports
        .iter()
        .enumerate()
        .map(|(i, report)| Member {
            worker: i as i64,
            team,
            report,
        })
        .collect()
}

#[test]
fn aggregates_under_five_workers_are_never_built_even_when_the_pages_minimum_is_three() {
    let four = day_of_workers(4);
    let built = group_aggregates(&origin(), "2026-03-02", &members_of(&four, Some("A")), 3);
    assert!(built.is_empty(), "{built:?}");
    let five = day_of_workers(5);
    let built = group_aggregates(&origin(), "2026-03-02", &members_of(&five, Some("A")), 3);
    let kinds: Vec<Kind> = built.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::TaskAggregate,
            Kind::TaskAggregate,
            Kind::TeamAggregate
        ]
    );
    for record in &built {
        let value = serde_json::to_value(record).unwrap();
        assert!(value["workers"].as_u64().unwrap() >= 5);
    }
}

#[test]
fn aggregates_follow_a_page_minimum_above_five() {
    let six = day_of_workers(6);
    let built = group_aggregates(&origin(), "2026-03-02", &members_of(&six, Some("A")), 7);
    assert!(built.is_empty());
}

#[test]
fn a_group_hidden_to_protect_a_small_one_is_not_uploaded_either() {
    // Team A (6 workers) and B (2): B is under 5, and A shown would reveal B as site minus A.
    let reports = day_of_workers(8);
    let members: Vec<Member<'_>> = reports
        .iter()
        .enumerate()
        .map(|(i, report)| Member {
            worker: i as i64,
            team: Some(if i < 6 { "A" } else { "B" }),
            report,
        })
        .collect();
    let built = group_aggregates(&origin(), "2026-03-02", &members, 5);
    assert!(
        !built.iter().any(|r| r.kind() == Kind::TeamAggregate),
        "{built:?}"
    );
}

#[test]
fn task_aggregates_carry_no_alerts_and_team_aggregates_do() {
    let five = day_of_workers(5);
    for record in group_aggregates(&origin(), "2026-03-02", &members_of(&five, Some("A")), 5) {
        let value = serde_json::to_value(&record).unwrap();
        match record.kind() {
            Kind::TaskAggregate => assert_eq!(value["alerts_per_day"], Value::Null),
            _ => assert!(value["alerts_per_day"].is_number()),
        }
    }
}

#[test]
fn dock_gps_names_no_worker_or_wearable_and_worker_records_carry_no_position() {
    for record in built() {
        let value = serde_json::to_value(&record).unwrap();
        let fields = value.as_object().unwrap();
        let personal = fields.contains_key("worker") || fields.contains_key("wearable");
        let position = ["lat", "lon", "alt_m", "hdop", "eph", "satellites_used"]
            .iter()
            .any(|f| fields.contains_key(*f));
        assert!(!(personal && position), "{}", record.kind().name());
        if record.kind() == Kind::DockGps {
            assert!(position && !personal);
            assert!(!fields.contains_key("key_id"));
        }
    }
}

#[test]
fn wearable_diagnostics_list_distinct_non_zero_faults_ascending_and_no_worker() {
    let record = wearable_diag(
        &origin(),
        &info(),
        1_772_460_100_000,
        &berlin(),
        [0, 7, 3, 7],
    );
    let value = serde_json::to_value(&record).unwrap();
    assert_eq!(value["fault_codes"], serde_json::json!([3, 7]));
    assert_eq!(value["firmware"], "1.4.2");
    assert!(value.get("worker").is_none());
    assert!(!value.to_string().contains(BADGE));
}

#[test]
fn dock_diagnostics_are_due_once_per_site_local_clock_hour() {
    let tz = berlin();
    let mut hourly = Hourly::default();
    // 2026-03-02 10:59:59 and 11:00:00 in Berlin (UTC+1).
    let before = 1_772_445_599_000;
    assert!(hourly.due(&tz, before - 1_800_000));
    assert!(!hourly.due(&tz, before));
    assert!(hourly.due(&tz, before + 1000));
    assert!(!hourly.due(&tz, before + 1000 + 3_000_000));
}

#[test]
fn after_a_restart_the_hour_of_the_last_stored_record_is_not_due_again() {
    let tz = berlin();
    // 2026-03-02 10:59:59 in Berlin: the last record before the restart was made at 10:30.
    let before = 1_772_445_599_000;
    let mut hourly = Hourly::after(&tz, before - 1_800_000);
    assert!(!hourly.due(&tz, before));
    assert!(hourly.due(&tz, before + 1000));
}

#[test]
fn gps_fixes_leave_at_most_once_per_ten_minutes() {
    assert!(gps_due(None, 0));
    assert!(!gps_due(Some(0), GPS_EVERY_MS - 1));
    assert!(gps_due(Some(0), GPS_EVERY_MS));
    assert!(
        gps_due(Some(GPS_EVERY_MS), 5),
        "a clock set back does not silence it"
    );
}

#[test]
fn raw_samples_split_channels_and_name_no_worker_without_a_roster_worker() {
    let record = raw_samples(
        &origin(),
        "WR-00042",
        None,
        BlockPlace {
            segment_no: 3,
            block: 1,
            start_ms: None,
            rate_hz: 25,
        },
        &berlin(),
        &[[1, 2, 3, 4], [5, 6, 7, 8]],
    );
    let value = serde_json::to_value(&record).unwrap();
    assert_eq!(value["flex"], serde_json::json!([1, 5]));
    assert_eq!(value["height"], serde_json::json!([4, 8]));
    assert_eq!(value["worker"], Value::Null);
    assert_eq!(value["day"], UNKNOWN_DAY);
    assert_eq!(record.key(), "raw:plant-7:WR-00042:3:1");
    assert!(errors(&schema_of(Kind::RawSamples), &value).is_empty());
}

#[test]
fn days_group_members_by_the_reports_local_day() {
    let mut later = a_shift();
    later.local_day = "2026-03-03".into();
    let rows = vec![
        (1, Some("A".to_owned()), a_shift()),
        (2, None, later),
        (3, None, a_shift()),
    ];
    let days = members_by_day(&rows);
    let sizes: Vec<(&str, usize)> = days.iter().map(|(d, m)| (*d, m.len())).collect();
    assert_eq!(sizes, [("2026-03-02", 2), ("2026-03-03", 1)]);
}

#[test]
fn queueing_skips_what_was_queued_unchanged_and_raises_the_revision_of_what_changed() {
    let summary = shift_summary(&origin(), "WR-00042", &who(), &a_shift(), 1);
    let gps = dock_gps(&origin(), &berlin(), &fix());
    let first = queue(vec![summary.clone(), gps.clone()], &HashMap::new(), 5).unwrap();
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|i| i.created_ms == 5));
    let priors: HashMap<String, Prior> = first
        .iter()
        .map(|i| {
            let prior = Prior {
                revision: 1,
                digest: line_digest(&i.payload),
            };
            (i.key.clone(), prior)
        })
        .collect();
    assert!(queue(vec![summary, gps], &priors, 6).unwrap().is_empty());
    let mut changed = a_shift();
    changed.metrics.wear_s += 60.0;
    let again = shift_summary(&origin(), "WR-00042", &who(), &changed, 1);
    let items = queue(vec![again], &priors, 7).unwrap();
    let back: Record = serde_json::from_slice(&items[0].payload).unwrap();
    let Record::ShiftSummary(s) = back else {
        panic!("a shift summary")
    };
    assert_eq!(s.revision, 2);
}
