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
            quarantined_segments: 1
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
