//! The purge's tests: each class goes at its cutoff and not before, and the run is remembered.

use super::*;
use crate::store::testing::Scratch;

const DAY: i64 = 86_400_000;
const NOW: i64 = 1_780_000_000_000;

#[tokio::test]
async fn each_class_goes_at_its_cutoff_and_not_before_and_the_run_is_remembered() {
    let store = Scratch::new("purge-classes");
    // One row just before and one at each class's cutoff (the one at the cutoff stays).
    let cutoffs = Cutoffs {
        at_ms: NOW,
        gps_before_ms: NOW - 30 * DAY,
        dock_power_before_ms: NOW - 90 * DAY,
        quarantine_before_ms: NOW - 30 * DAY,
        samples_before_ms: 0,
        alerts_before_ms: 0,
        reports_before_ms: 0,
        audit_before_ms: 0,
        outbox_before_ms: 0,
    };
    let mut sql = String::from(
        "INSERT INTO wearable (id, serial, model, hw_rev, firmware, first_seen_ms, last_docked_ms)
         VALUES (1, 'WB-1', 1, 1, '1.0', 0, 0);",
    );
    for (n, at) in [cutoffs.gps_before_ms - 1, cutoffs.gps_before_ms]
        .into_iter()
        .enumerate()
    {
        sql.push_str(&format!(
            "INSERT INTO gps_fix (at_ms, mode) VALUES ({at}, 3);
             INSERT INTO gps_event (at_ms, kind, detail) VALUES ({at}, 'lost', 'x');
             INSERT INTO quarantine (wearable_id, segment_no, size, crc, reason, bytes, first_seen_ms, last_seen_ms, times_seen)
                 VALUES (1, {n}, 3, 0, 'crc', x'010203', 0, {at}, 1);"
        ));
    }
    for at in [
        cutoffs.dock_power_before_ms - 1,
        cutoffs.dock_power_before_ms,
    ] {
        sql.push_str(&format!(
            "INSERT INTO dock_power (at_ms, mains_online, reading) VALUES ({at}, 1, '{{}}');"
        ));
    }
    store.tamper(&sql);
    assert_eq!(store.reader.last_purge_ms().unwrap(), None);

    let purged = store.writer.purge(cutoffs).await.unwrap();
    assert_eq!(
        purged,
        Purged {
            gps_fixes: 1,
            gps_events: 1,
            dock_power: 1,
            quarantined_segments: 1,
            ..Purged::default()
        }
    );
    for (table, column, cutoff) in [
        ("gps_fix", "at_ms", cutoffs.gps_before_ms),
        ("gps_event", "at_ms", cutoffs.gps_before_ms),
        ("dock_power", "at_ms", cutoffs.dock_power_before_ms),
        ("quarantine", "last_seen_ms", cutoffs.quarantine_before_ms),
    ] {
        assert_eq!(
            store.number(&format!(
                "SELECT count(*) FROM {table} WHERE {column} = {cutoff}"
            )),
            1,
            "{table}: the row at the cutoff stays"
        );
        assert_eq!(
            store.number(&format!("SELECT count(*) FROM {table}")),
            1,
            "{table}: the older row is gone"
        );
    }
    assert_eq!(store.reader.last_purge_ms().unwrap(), Some(NOW));
    // A second run finds nothing more.
    assert_eq!(store.writer.purge(cutoffs).await.unwrap().total(), 0);
    store.close();
}

/// A wearable with one segment, a block of samples, an alert and an event at each of `starts`
/// (wall ms), and a shift report `[start, start + 10 h)` for each.
fn worker_data(store: &Scratch, starts: &[i64]) {
    let mut sql = String::from(
        "INSERT INTO wearable (id, serial, model, hw_rev, firmware, first_seen_ms, last_docked_ms)
             VALUES (1, 'WB-1', 1, 1, '1.0', 0, 0);
         INSERT INTO docking (id, wearable_id, slot, transport, port, docked_ms, boot_count, device_ms,
             clock_valid, batt_soc, batt_health, batt_cycles, batt_mv, batt_temp_dc, charging,
             segments_listed) VALUES (1, 1, 1, 'emulated', 'x', 0, 1, 0, 1, 50, 100, 1, 3900, 250, 1, 1);
         INSERT INTO segment (id, wearable_id, segment_no, size, crc, docking_id, boot_count, start_ms,
             clock_valid, rate_hz, samples, alerts, records, unknown_records, unknown_time_samples,
             unknown_time_records, stored_ms) VALUES (1, 1, 1, 1, 0, 1, 1, 0, 1, 25, 0, 0, 0, 0, 0, 0, 0);",
    );
    for start in starts {
        for at in [start + 1, start + 9 * 3_600_000] {
            sql.push_str(&format!(
                "INSERT INTO sample_block (segment_id, t_ms, wall_ms, rate_hz, count, codec, data)
                     VALUES (1, 0, {at}, 25, 1, 0, x'00');
                 INSERT INTO alert (segment_id, t_ms, wall_ms, kind, peak, duration_ms, response_ms, haptic)
                     VALUES (1, 0, {at}, 1, 50, 1000, 800, 1);
                 INSERT INTO event (segment_id, t_ms, wall_ms, kind, value) VALUES (1, 0, {at}, 'button', 1);"
            ));
        }
        sql.push_str(&format!(
            "INSERT INTO shift_report (wearable_id, start_ms, end_ms, local_day, risk_level, version,
                 settings, report) VALUES (1, {start}, {end}, 'd', 'low', 1, 's', '{{}}');",
            end = start + 10 * 3_600_000
        ));
    }
    store.tamper(&sql);
}

#[tokio::test]
async fn worker_data_goes_in_whole_shifts_and_its_reports_stay_frozen_until_their_own_retention() {
    let store = Scratch::new("purge-worker-data");
    // Shifts starting 100 and 50 days back, and one straddling the 90-day samples cutoff.
    let straddling = NOW - 90 * DAY - 5 * 3_600_000;
    worker_data(&store, &[NOW - 100 * DAY, straddling, NOW - 50 * DAY]);
    let cutoffs = Cutoffs {
        at_ms: NOW,
        gps_before_ms: 0,
        dock_power_before_ms: 0,
        quarantine_before_ms: 0,
        samples_before_ms: NOW - 90 * DAY,
        alerts_before_ms: NOW - 365 * DAY,
        reports_before_ms: NOW - 730 * DAY,
        audit_before_ms: 0,
        outbox_before_ms: 0,
    };
    let purged = store.writer.purge(cutoffs).await.unwrap();
    // Only the 100-day shift's samples: the straddling shift stays whole.
    assert_eq!(purged.sample_blocks, 2, "{purged:?}");
    assert_eq!(
        (purged.alerts, purged.events, purged.shift_reports),
        (0, 0, 0)
    );
    assert_eq!(purged.reports_frozen, 1);
    assert_eq!(
        store.number(&format!(
            "SELECT count(*) FROM sample_block WHERE wall_ms >= {straddling}"
        )),
        4
    );
    assert_eq!(
        store.number(&format!(
            "SELECT reanalysable FROM shift_report WHERE start_ms = {}",
            NOW - 100 * DAY
        )),
        0
    );
    assert_eq!(
        store.number("SELECT count(*) FROM shift_report WHERE reanalysable = 1"),
        2
    );
    // A re-analysis over the whole span leaves the frozen report as it is.
    store
        .writer
        .replace_reports(crate::store::reports::ReportBatch {
            wearable_id: 1,
            lo_ms: 0,
            hi_ms: NOW,
            last_segment_id: None,
            reports: Vec::new(),
            outbox: Vec::new(),
            pseudonyms: Vec::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.number("SELECT count(*) FROM shift_report"),
        1,
        "only the frozen report survives a re-analysis that found nothing"
    );
    // ... and it is never outdated: no re-analysis is started for it.
    assert!(!store.reader.reports_outdated(99, "other settings").unwrap());

    // Two years on, the report's own retention takes it.
    let later = Cutoffs {
        reports_before_ms: NOW + 10 * DAY,
        ..cutoffs
    };
    let purged = store.writer.purge(later).await.unwrap();
    assert_eq!(purged.shift_reports, 1);
    assert_eq!(store.number("SELECT count(*) FROM shift_report"), 0);
    store.close();
}
