//! The store's side of the dock's own diagnostics: GPS fixes, gpsd and receiver events, dock power
//! samples. It owns that SQL; it must never join these tables with anything about a worker or a
//! wearable's data, nor write a worker or wearable id into them (they have no such column).

use diagnostics::gps::GpsFix;
use rusqlite::{Row, Transaction, params};

use super::{Reader, StoreError};

/// One diagnostics record to append.
#[derive(Debug, Clone, PartialEq)]
pub enum DiagRecord {
    GpsFix(GpsFix),
    GpsEvent {
        at_ms: i64,
        kind: String,
        /// The event as JSON.
        detail: String,
    },
    DockPower(PowerRow),
    /// A record for upload (dock diagnostics, dock GPS), queued in the same transaction.
    Upload(crate::upload::Item),
}

/// One dock power sample.
#[derive(Debug, Clone, PartialEq)]
pub struct PowerRow {
    pub at_ms: i64,
    pub mains_online: Option<bool>,
    pub battery_pct: Option<u8>,
    pub max_temp_c: Option<f64>,
    /// `diagnostics::power::DockPower` as JSON.
    pub reading: String,
}

/// One gpsd or receiver event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct GpsEventRow {
    pub at_ms: i64,
    pub kind: String,
    pub detail: Option<String>,
}

pub(super) fn append(tx: &Transaction<'_>, records: &[DiagRecord]) -> Result<(), StoreError> {
    for record in records {
        match record {
            DiagRecord::GpsFix(f) => {
                tx.prepare_cached(
                    "INSERT INTO gps_fix (at_ms, gps_time_ms, mode, lat, lon, alt_m, satellites_used,
                        satellites_seen, hdop, eph) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?
                .execute(params![
                    f.at_ms,
                    f.gps_time_ms,
                    f.mode,
                    f.lat,
                    f.lon,
                    f.alt_m,
                    f.satellites_used,
                    f.satellites_seen,
                    f.hdop,
                    f.eph
                ])?;
            }
            DiagRecord::GpsEvent {
                at_ms,
                kind,
                detail,
            } => {
                tx.prepare_cached(
                    "INSERT INTO gps_event (at_ms, kind, detail) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![at_ms, kind, detail])?;
            }
            DiagRecord::DockPower(p) => {
                tx.prepare_cached(
                    "INSERT INTO dock_power (at_ms, mains_online, battery_pct, max_temp_c, reading)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    p.at_ms,
                    p.mains_online,
                    p.battery_pct,
                    p.max_temp_c,
                    p.reading
                ])?;
            }
            // Queued by the writer through `store::outbox` (see [`uploads`]).
            DiagRecord::Upload(_) => {}
        }
    }
    Ok(())
}

/// The upload items among `records`, for the outbox in the same transaction.
pub(super) fn uploads(records: &[DiagRecord]) -> impl Iterator<Item = &crate::upload::Item> {
    records.iter().filter_map(|record| match record {
        DiagRecord::Upload(item) => Some(item),
        _ => None,
    })
}

fn fix_from_row(row: &Row<'_>) -> rusqlite::Result<GpsFix> {
    Ok(GpsFix {
        at_ms: row.get(0)?,
        gps_time_ms: row.get(1)?,
        mode: row.get(2)?,
        lat: row.get(3)?,
        lon: row.get(4)?,
        alt_m: row.get(5)?,
        satellites_used: row.get(6)?,
        satellites_seen: row.get(7)?,
        hdop: row.get(8)?,
        eph: row.get(9)?,
    })
}

impl Reader {
    /// GPS fixes recorded at or after `since_ms`, oldest first, at most `limit` (the newest ones).
    pub fn gps_fixes(&self, since_ms: i64, limit: u32) -> Result<Vec<GpsFix>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT at_ms, gps_time_ms, mode, lat, lon, alt_m, satellites_used, satellites_seen,
                        hdop, eph
                 FROM (SELECT * FROM gps_fix WHERE at_ms >= ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2)
                 ORDER BY at_ms, id",
            )?;
            let rows = query.query_map(params![since_ms, limit], fix_from_row)?;
            rows.collect()
        })
    }

    /// The latest GPS record, or with `with_position` the latest one with a 2D/3D fix.
    pub fn latest_gps_fix(&self, with_position: bool) -> Result<Option<GpsFix>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT at_ms, gps_time_ms, mode, lat, lon, alt_m, satellites_used, satellites_seen,
                        hdop, eph
                 FROM gps_fix WHERE ?1 = 0 OR (mode >= 2 AND lat IS NOT NULL AND lon IS NOT NULL)
                 ORDER BY at_ms DESC, id DESC LIMIT 1",
            )?;
            let mut rows = query.query_map([with_position], fix_from_row)?;
            rows.next().transpose()
        })
    }

    /// Battery readings of wearable `serial` since `since_ms`, oldest first: one per docking (its
    /// INFO) and one per DIAG record the wearable logged. Device figures only: no worker column is
    /// read.
    pub fn wearable_batteries(
        &self,
        serial: &str,
        since_ms: i64,
    ) -> Result<Vec<diagnostics::battery::WearableBattery>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT at_ms, soc, health, cycles, mv, temp_dc, charging FROM (
                    SELECT d.docked_ms AS at_ms, d.batt_soc AS soc, d.batt_health AS health,
                           d.batt_cycles AS cycles, d.batt_mv AS mv, d.batt_temp_dc AS temp_dc,
                           d.charging AS charging
                    FROM docking d JOIN wearable w ON w.id = d.wearable_id
                    WHERE w.serial = ?1 AND d.docked_ms >= ?2
                    UNION ALL
                    SELECT g.wall_ms, g.soc, NULL, NULL, g.batt_mv, g.temp_dc, NULL
                    FROM wearable_diag g JOIN segment s ON s.id = g.segment_id
                    JOIN wearable w ON w.id = s.wearable_id
                    WHERE w.serial = ?1 AND g.wall_ms IS NOT NULL AND g.wall_ms >= ?2
                 ) ORDER BY at_ms LIMIT 20000",
            )?;
            let rows = query.query_map(params![serial, since_ms], |row| {
                Ok(diagnostics::battery::WearableBattery {
                    at_ms: row.get(0)?,
                    soc: row.get(1)?,
                    health_pct: row.get(2)?,
                    cycles: row.get(3)?,
                    voltage_mv: row.get(4)?,
                    temp_dc: row.get(5)?,
                    charging: row.get(6)?,
                })
            })?;
            rows.collect()
        })
    }

    /// How often wearable `serial` has docked.
    pub fn docking_count(&self, serial: &str) -> Result<u64, StoreError> {
        self.with(|conn| {
            conn.query_row(
                "SELECT count(*) FROM docking d JOIN wearable w ON w.id = d.wearable_id
                 WHERE w.serial = ?1",
                [serial],
                |row| row.get::<_, i64>(0),
            )
        })
        .map(|n| u64::try_from(n).unwrap_or(0))
    }

    /// The latest GPS events, newest first.
    pub fn gps_events(&self, limit: u32) -> Result<Vec<GpsEventRow>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT at_ms, kind, detail FROM gps_event ORDER BY at_ms DESC, id DESC LIMIT ?1",
            )?;
            let rows = query.query_map([limit], |row| {
                Ok(GpsEventRow {
                    at_ms: row.get(0)?,
                    kind: row.get(1)?,
                    detail: row.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Dock power samples at or after `since_ms`, oldest first, at most `limit` (the newest ones).
    pub fn dock_power(&self, since_ms: i64, limit: u32) -> Result<Vec<PowerRow>, StoreError> {
        self.with(|conn| {
            let mut query = conn.prepare_cached(
                "SELECT at_ms, mains_online, battery_pct, max_temp_c, reading
                 FROM (SELECT * FROM dock_power WHERE at_ms >= ?1 ORDER BY at_ms DESC, id DESC LIMIT ?2)
                 ORDER BY at_ms, id",
            )?;
            let rows = query.query_map(params![since_ms, limit], |row| {
                Ok(PowerRow {
                    at_ms: row.get(0)?,
                    mains_online: row.get(1)?,
                    battery_pct: row.get(2)?,
                    max_temp_c: row.get(3)?,
                    reading: row.get(4)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    fn fix(at_ms: i64, mode: u8) -> GpsFix {
        GpsFix {
            at_ms,
            gps_time_ms: None,
            mode,
            lat: (mode >= 2).then_some(48.1),
            lon: (mode >= 2).then_some(11.5),
            alt_m: None,
            satellites_used: Some(6),
            satellites_seen: Some(9),
            hdop: Some(0.9),
            eph: None,
        }
    }

    #[test]
    fn diagnostics_tables_reference_nothing_about_workers_or_wearables() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        for table in ["gps_fix", "gps_event", "dock_power"] {
            let references: i64 = conn
                .query_row(
                    &format!("SELECT count(*) FROM pragma_foreign_key_list('{table}')"),
                    [],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(references, 0, "{table}");
            let columns: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(
                columns.iter().all(|c| !c.contains("worker")
                    && !c.contains("wearable")
                    && !c.contains("tag")),
                "{table}: {columns:?}"
            );
        }
    }

    #[test]
    fn fixes_events_and_power_samples_come_back_as_stored() {
        let dir = std::env::temp_dir().join(format!("dockd-diag-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dockd.sqlite");
        let mut conn =
            crate::store::open_for_writing(&crate::store::Database::for_tests(&path)).unwrap();
        let tx = conn.transaction().unwrap();
        let power = PowerRow {
            at_ms: 5,
            mains_online: Some(true),
            battery_pct: None,
            max_temp_c: Some(41.5),
            reading: "{}".into(),
        };
        append(
            &tx,
            &[
                DiagRecord::GpsFix(fix(1, 1)),
                DiagRecord::GpsFix(fix(2, 3)),
                DiagRecord::GpsEvent {
                    at_ms: 2,
                    kind: "fix_regained".into(),
                    detail: "{\"event\":\"fix_regained\"}".into(),
                },
                DiagRecord::DockPower(power.clone()),
            ],
        )
        .unwrap();
        tx.commit().unwrap();
        let reader = Reader::open(&crate::store::Database::for_tests(&path)).unwrap();
        assert_eq!(reader.gps_fixes(0, 10).unwrap(), [fix(1, 1), fix(2, 3)]);
        assert_eq!(reader.gps_fixes(0, 1).unwrap(), [fix(2, 3)], "the newest");
        assert_eq!(reader.gps_fixes(2, 10).unwrap().len(), 1);
        assert_eq!(reader.gps_events(10).unwrap()[0].kind, "fix_regained");
        assert_eq!(reader.dock_power(0, 10).unwrap(), [power]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
