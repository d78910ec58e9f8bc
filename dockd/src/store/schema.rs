//! The database schema and its migrations, applied in order at open and tracked in
//! `PRAGMA user_version`. It owns every `CREATE`; it must never drop or rewrite data a wearable
//! handed over (save what data minimisation drops on purpose: unknown records' bytes, migration 6),
//! and a migration once shipped is never edited (add a new one instead).
//!
//! Why these tables: a segment is the unit a wearable hands over and the unit of idempotency
//! (`UNIQUE (wearable_id, segment_no, size, crc)`), so every row derived from it references it and
//! goes with it (`ON DELETE CASCADE`, for retention and per-worker deletion later). Samples live in
//! blocks (see `samples`); events are rows. Worker tags are kept once, in `worker`, and referenced
//! by id, so pseudonymisation and deletion touch one table. Dock diagnostics (GPS, dock power) will
//! get tables of their own that reference nothing here. The upload outbox (migration 9) holds
//! records as they leave the dock, never a row of the tables above.

use rusqlite::Connection;

/// Each entry moves the schema one version up.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the spine — wearables, dockings, segments and what was parsed from them, quarantine.
    r#"
    CREATE TABLE wearable (
        id              INTEGER PRIMARY KEY,
        serial          TEXT NOT NULL UNIQUE,
        model           INTEGER,
        hw_rev          INTEGER,
        firmware        TEXT,
        first_seen_ms   INTEGER NOT NULL,
        last_docked_ms  INTEGER
    ) STRICT;

    CREATE TABLE worker (
        id      INTEGER PRIMARY KEY,
        tag     BLOB NOT NULL UNIQUE          -- personal data: never logged, never uploaded
    ) STRICT;

    CREATE TABLE docking (
        id              INTEGER PRIMARY KEY,
        wearable_id     INTEGER NOT NULL REFERENCES wearable(id),
        slot            INTEGER NOT NULL,
        transport       TEXT NOT NULL,
        port            TEXT NOT NULL,
        docked_ms       INTEGER NOT NULL,
        undocked_ms     INTEGER,
        outcome         TEXT,
        boot_count      INTEGER NOT NULL,
        device_ms       INTEGER NOT NULL,
        clock_valid     INTEGER NOT NULL,
        batt_soc        INTEGER NOT NULL,
        batt_health     INTEGER NOT NULL,
        batt_cycles     INTEGER NOT NULL,
        batt_mv         INTEGER NOT NULL,
        batt_temp_dc    INTEGER NOT NULL,
        charging        INTEGER NOT NULL,
        segments_listed INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX docking_by_wearable ON docking(wearable_id, docked_ms);

    CREATE TABLE segment (
        id                  INTEGER PRIMARY KEY,
        wearable_id         INTEGER NOT NULL REFERENCES wearable(id),
        segment_no          INTEGER NOT NULL,   -- the wearable's segment id
        size                INTEGER NOT NULL,
        crc                 INTEGER NOT NULL,
        docking_id          INTEGER NOT NULL REFERENCES docking(id),
        boot_count          INTEGER NOT NULL,
        start_ms            INTEGER NOT NULL,   -- device clock, as the header says
        clock_valid         INTEGER NOT NULL,
        rate_hz             INTEGER NOT NULL,
        first_wall_ms       INTEGER,            -- NULL: nothing in it has a known time
        last_wall_ms        INTEGER,
        samples             INTEGER NOT NULL,
        alerts              INTEGER NOT NULL,
        records             INTEGER NOT NULL,
        unknown_records     INTEGER NOT NULL,   -- record types this dock does not know, kept verbatim
        unknown_time_samples INTEGER NOT NULL,  -- samples with no time anchor: counted, never placed
        unknown_time_records INTEGER NOT NULL,
        stored_ms           INTEGER NOT NULL,
        erased_ms           INTEGER,            -- when the wearable confirmed the erase
        UNIQUE (wearable_id, segment_no, size, crc)
    ) STRICT;

    CREATE TABLE sample_block (
        id          INTEGER PRIMARY KEY,
        segment_id  INTEGER NOT NULL REFERENCES segment(id) ON DELETE CASCADE,
        worker_id   INTEGER REFERENCES worker(id),
        t_ms        INTEGER NOT NULL,           -- segment time of the first sample
        wall_ms     INTEGER,                    -- wall time of the first sample; NULL = unknown time
        rate_hz     INTEGER NOT NULL,
        count       INTEGER NOT NULL,
        codec       INTEGER NOT NULL,
        data        BLOB NOT NULL
    ) STRICT;
    CREATE INDEX sample_block_by_segment ON sample_block(segment_id, t_ms);
    CREATE INDEX sample_block_by_worker_time ON sample_block(worker_id, wall_ms);
    CREATE INDEX sample_block_uncompressed ON sample_block(id) WHERE codec = 0;

    CREATE TABLE alert (
        id          INTEGER PRIMARY KEY,
        segment_id  INTEGER NOT NULL REFERENCES segment(id) ON DELETE CASCADE,
        worker_id   INTEGER REFERENCES worker(id),
        t_ms        INTEGER NOT NULL,
        wall_ms     INTEGER,
        kind        INTEGER NOT NULL,           -- 1 bend, 2 twist, 3 prolonged bend, 4 overreach
        peak        INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        response_ms INTEGER,                    -- NULL: never corrected
        haptic      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX alert_by_segment ON alert(segment_id);
    CREATE INDEX alert_by_worker_time ON alert(worker_id, wall_ms);

    CREATE TABLE event (
        id          INTEGER PRIMARY KEY,
        segment_id  INTEGER NOT NULL REFERENCES segment(id) ON DELETE CASCADE,
        worker_id   INTEGER REFERENCES worker(id),
        t_ms        INTEGER,
        wall_ms     INTEGER,
        kind        TEXT NOT NULL,              -- worker | clock | button | unknown
        value       INTEGER,                    -- clock: wall ms set; button: action; unknown: record type
        flag        INTEGER,                    -- clock: valid
        body        BLOB                        -- unknown: the record body verbatim
    ) STRICT;
    CREATE INDEX event_by_segment ON event(segment_id);

    CREATE TABLE wearable_diag (
        id          INTEGER PRIMARY KEY,
        segment_id  INTEGER NOT NULL REFERENCES segment(id) ON DELETE CASCADE,
        t_ms        INTEGER NOT NULL,
        wall_ms     INTEGER,
        batt_mv     INTEGER NOT NULL,
        temp_dc     INTEGER NOT NULL,
        soc         INTEGER NOT NULL,
        code        INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX wearable_diag_by_segment ON wearable_diag(segment_id);

    CREATE TABLE quarantine (
        id              INTEGER PRIMARY KEY,
        wearable_id     INTEGER NOT NULL REFERENCES wearable(id),
        segment_no      INTEGER NOT NULL,
        size            INTEGER NOT NULL,
        crc             INTEGER NOT NULL,
        reason          TEXT NOT NULL,
        bytes           BLOB NOT NULL,          -- kept for support, exactly as read
        first_seen_ms   INTEGER NOT NULL,
        last_seen_ms    INTEGER NOT NULL,
        times_seen      INTEGER NOT NULL,
        UNIQUE (wearable_id, segment_no, size, crc)
    ) STRICT;
    "#,
    // 2: the risk analysis's results, one row per analysed shift, and how far each wearable's
    // segments have been analysed.
    r#"
    CREATE TABLE shift_report (
        id              INTEGER PRIMARY KEY,
        wearable_id     INTEGER NOT NULL REFERENCES wearable(id),
        worker_id       INTEGER REFERENCES worker(id),
        start_ms        INTEGER NOT NULL,
        end_ms          INTEGER NOT NULL,
        local_day       TEXT NOT NULL,           -- site-local YYYY-MM-DD the shift started on
        risk_level      TEXT NOT NULL,           -- low | medium | high
        version         INTEGER NOT NULL,        -- analysis::ANALYSIS_VERSION that computed it
        settings        TEXT NOT NULL,           -- fingerprint of the analysis settings used
        report          TEXT NOT NULL            -- analysis::ShiftReport as JSON
    ) STRICT;
    CREATE INDEX shift_report_by_wearable ON shift_report(wearable_id, start_ms);
    CREATE INDEX shift_report_by_worker ON shift_report(worker_id, start_ms);
    CREATE INDEX shift_report_by_day ON shift_report(local_day);

    CREATE TABLE analysis_progress (
        wearable_id     INTEGER PRIMARY KEY REFERENCES wearable(id),
        last_segment_id INTEGER NOT NULL         -- segment rows up to this id are analysed
    ) STRICT;
    "#,
    // 3: who may use the page, the append-only audit trail of what they did with worker data, and
    // key/value settings changed from the page.
    r#"
    CREATE TABLE user (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        role            TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'technician')),
        password_hash   TEXT NOT NULL,           -- argon2id PHC string; never the password
        created_ms      INTEGER NOT NULL,
        disabled        INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE audit (
        id              INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,
        user            TEXT NOT NULL,           -- a user name, not a reference: users come and go
        action          TEXT NOT NULL,           -- view | export | change | sign-in | …
        subject         TEXT NOT NULL
    ) STRICT;
    CREATE INDEX audit_by_time ON audit(at_ms);
    -- Append-only: rows are never changed or removed, not even by dockd.
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append-only');
    END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append-only');
    END;

    CREATE TABLE setting (
        key             TEXT PRIMARY KEY,
        value           TEXT NOT NULL
    ) STRICT;
    "#,
    // 4: the roster — which worker each wearable is assigned to and when it confirmed it, the
    // workers' local details and opt-out, what an opt-out discarded at ingest (counted per segment
    // and per worker), and the alert thresholds each wearable confirmed.
    r#"
    CREATE TABLE roster_wearable (
        serial          TEXT PRIMARY KEY,        -- may precede the wearable's first docking
        worker_id       INTEGER REFERENCES worker(id), -- NULL: assigned to no one
        changed_ms      INTEGER NOT NULL,
        applied_ms      INTEGER                  -- when the wearable confirmed it (SET_WORKER → OK)
    ) STRICT;

    -- Personal data: display_name never leaves the dock and is never logged.
    ALTER TABLE worker ADD COLUMN display_name TEXT;
    ALTER TABLE worker ADD COLUMN task TEXT;
    ALTER TABLE worker ADD COLUMN team TEXT;
    ALTER TABLE worker ADD COLUMN opted_out_ms INTEGER;  -- set: their data is discarded at ingest

    ALTER TABLE segment ADD COLUMN discarded_samples INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE segment ADD COLUMN discarded_records INTEGER NOT NULL DEFAULT 0; -- alerts + events

    CREATE TABLE opt_out_discard (
        segment_id      INTEGER NOT NULL REFERENCES segment(id) ON DELETE CASCADE,
        worker_id       INTEGER NOT NULL REFERENCES worker(id),
        samples         INTEGER NOT NULL,
        records         INTEGER NOT NULL,
        PRIMARY KEY (segment_id, worker_id)
    ) STRICT;
    CREATE INDEX opt_out_discard_by_worker ON opt_out_discard(worker_id);

    CREATE TABLE wearable_config (
        serial          TEXT PRIMARY KEY,
        confirmed       TEXT,                    -- link::WearableConfig as JSON; NULL: none confirmed
        confirmed_ms    INTEGER,
        problem         TEXT                     -- plain words, when it refused or kept other values
    ) STRICT;
    "#,
    // 5: the dock's own diagnostics — GPS fixes and gpsd/receiver events, dock power samples. These
    // tables reference nothing and nothing references them: dock diagnostics are never joined to,
    // exported with or uploaded with anything about a worker or a wearable's data.
    r#"
    CREATE TABLE gps_fix (
        id              INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,        -- the dock's clock
        gps_time_ms     INTEGER,                 -- the receiver's, when it sent one
        mode            INTEGER NOT NULL,        -- 0 unknown, 1 no fix, 2 2D, 3 3D
        lat             REAL,
        lon             REAL,
        alt_m           REAL,
        satellites_used INTEGER,
        satellites_seen INTEGER,
        hdop            REAL,
        eph             REAL
    ) STRICT;
    CREATE INDEX gps_fix_by_time ON gps_fix(at_ms);

    CREATE TABLE gps_event (
        id              INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,
        kind            TEXT NOT NULL,           -- connected | disconnected | no_gpsd | fix_lost | …
        detail          TEXT                     -- the event as JSON
    ) STRICT;
    CREATE INDEX gps_event_by_time ON gps_event(at_ms);

    CREATE TABLE dock_power (
        id              INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,
        mains_online    INTEGER,                 -- NULL: the dock does not say
        battery_pct     INTEGER,                 -- the backup battery's charge, if there is one
        max_temp_c      REAL,                    -- the hottest thermal zone
        reading         TEXT NOT NULL            -- diagnostics::power::DockPower as JSON
    ) STRICT;
    CREATE INDEX dock_power_by_time ON dock_power(at_ms);
    "#,
    // 6: data minimisation — a record this dock cannot read keeps its type (`value`), its body's
    // length and a count on its segment (`unknown_records`), never its bytes: a newer firmware's
    // record may hold anything. Bodies stored by earlier versions are dropped here.
    r#"
    ALTER TABLE event ADD COLUMN body_len INTEGER;  -- unknown: the record body's length in bytes
    UPDATE event SET body_len = length(body) WHERE body IS NOT NULL;
    ALTER TABLE event DROP COLUMN body;
    "#,
    // 7: a user's generation goes up with every change to them (role, password, enabling,
    // `dockd user add`): the page ends every session started under an older one, even when the
    // change came from another process.
    r#"
    ALTER TABLE user ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
    "#,
    // 8: work restrictions (return-to-work): health-related data, shown to supervisors and
    // admins only, never uploaded, and deleted for good a set time after their last day
    // (`store::work_restrictions::RETENTION_DAYS`). Days are site-local `YYYY-MM-DD`, both ends
    // in force; a limit left NULL (or `no_deep_bends = 0`) does not apply.
    r#"
    CREATE TABLE work_restriction (
        id                  INTEGER PRIMARY KEY,
        worker_id           INTEGER NOT NULL REFERENCES worker(id),
        from_day            TEXT NOT NULL,
        until_day           TEXT NOT NULL,
        no_deep_bends       INTEGER NOT NULL,
        max_lifts_per_hour  INTEGER,
        max_bends_per_hour  INTEGER,
        max_load_kg         REAL,
        recorded_ms         INTEGER NOT NULL,
        changed_ms          INTEGER NOT NULL,
        CHECK (from_day <= until_day)
    ) STRICT;
    CREATE INDEX work_restriction_by_worker ON work_restriction(worker_id, from_day);
    CREATE INDEX work_restriction_by_until ON work_restriction(until_day);
    "#,
    // 9: the upload outbox (issue 14). Items are queued in the transaction that stored their
    // origin; a batch's membership and body are committed before its first send and never change.
    // `upload_revision` remembers what was last queued under each key (identical content is not
    // queued again); `upload_state` is one row of figures; `outbox_eviction` what the disk budget
    // evicted. Nothing here holds a badge tag or a display name (records never carry them).
    r#"
    CREATE TABLE outbox_batch (
        id              TEXT PRIMARY KEY,        -- upload::batch::batch_id of its members
        kind            TEXT NOT NULL,
        day             TEXT NOT NULL,
        items           INTEGER NOT NULL,
        body_bytes      INTEGER NOT NULL,
        oldest_ms       INTEGER NOT NULL,
        committed_ms    INTEGER NOT NULL,
        state           TEXT NOT NULL CHECK (state IN ('ready', 'dead')),
        reason          TEXT,                    -- dead: why the receiver refused it
        parked_ms       INTEGER,
        -- Last, so reading the other columns never walks the body's overflow pages.
        body            BLOB NOT NULL            -- the zstd NDJSON sent on every attempt
    ) STRICT;
    -- Covering for the budget's sum of bodies and the eviction of a kind's oldest ready batch.
    CREATE INDEX outbox_batch_by_state ON outbox_batch(state, kind, oldest_ms, id, body_bytes);

    CREATE TABLE outbox_item (
        id              INTEGER PRIMARY KEY,
        key             TEXT NOT NULL,           -- the record's idempotency key
        kind            TEXT NOT NULL,
        day             TEXT NOT NULL,           -- site-local YYYY-MM-DD or unknown
        payload         BLOB NOT NULL,           -- the record's NDJSON line
        bytes           INTEGER NOT NULL,
        created_ms      INTEGER NOT NULL,
        batch_id        TEXT REFERENCES outbox_batch(id)  -- NULL: not yet in a batch
    ) STRICT;
    CREATE UNIQUE INDEX outbox_item_unbatched_key ON outbox_item(key) WHERE batch_id IS NULL;
    -- Covering for the partitions' figures (count, bytes, oldest) and their oldest-first order
    -- (`batch_id`, always NULL here, lets SQLite check the condition without the table).
    CREATE INDEX outbox_item_unbatched ON outbox_item(kind, day, created_ms, key, bytes, batch_id)
        WHERE batch_id IS NULL;
    -- Both carry `bytes`: the budget and the status sum it without reading a payload.
    CREATE INDEX outbox_item_by_batch ON outbox_item(batch_id, bytes, created_ms);
    CREATE INDEX outbox_item_by_age ON outbox_item(created_ms, bytes);

    CREATE TABLE upload_revision (
        key             TEXT PRIMARY KEY,
        revision        INTEGER NOT NULL,
        digest          TEXT NOT NULL            -- SHA-256 hex of the payload last queued
    ) STRICT;

    CREATE TABLE upload_state (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        last_success_ms INTEGER,
        last_error      TEXT,
        paused          TEXT,
        evictions       INTEGER NOT NULL DEFAULT 0,
        delivered_batches INTEGER NOT NULL DEFAULT 0,
        delivered_items INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    INSERT INTO upload_state (id) VALUES (1);

    -- Every pseudonym a worker was uploaded under, per key id: a later deletion is sent under
    -- each (the key itself is never stored). Deleted with the worker.
    CREATE TABLE upload_pseudonym (
        worker_id       INTEGER NOT NULL REFERENCES worker(id),
        key_id          TEXT NOT NULL,
        pseudonym       TEXT NOT NULL,           -- the full site pseudonym, 64 hex
        PRIMARY KEY (worker_id, key_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE outbox_eviction (
        eviction_no     INTEGER PRIMARY KEY,
        at_ms           INTEGER NOT NULL,
        kind            TEXT NOT NULL,
        items           INTEGER NOT NULL,
        bytes           INTEGER NOT NULL,
        first_created_ms INTEGER NOT NULL,
        last_created_ms INTEGER NOT NULL
    ) STRICT;
    "#,
    // 10: the audit trail made tamper-evident (issue 15). Each entry's link is the SHA-256 of the
    // previous link and the entry (`store::audit_chain`), written in the entry's transaction; the
    // entries before this migration are linked once, at the next open for writing, up to
    // `backfill_until`: an entry added later without a link was added outside dockd.
    r#"
    CREATE TABLE audit_link (
        audit_id        INTEGER PRIMARY KEY,     -- audit(id); not a foreign key, so a removed
                                                 -- entry leaves its link behind as evidence
        hash            TEXT NOT NULL            -- SHA-256 hex of (previous link, this entry)
    ) STRICT;
    CREATE TRIGGER audit_link_no_update BEFORE UPDATE ON audit_link
    BEGIN
        SELECT RAISE(ABORT, 'the audit chain is append-only');
    END;
    CREATE TRIGGER audit_link_no_delete BEFORE DELETE ON audit_link
    BEGIN
        SELECT RAISE(ABORT, 'the audit chain is append-only');
    END;
    CREATE TABLE audit_chain_state (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        backfill_until  INTEGER NOT NULL         -- entries up to this id predate the chain
    ) STRICT;
    INSERT INTO audit_chain_state (id, backfill_until) SELECT 1, coalesce(max(id), 0) FROM audit;
    -- The chain's head as it was at a moment, taken at most hourly when entries are written (and
    -- uploaded as `audit_anchor` with [upload]): a cut-off tail or a rewritten chain no longer
    -- reaches or matches it.
    CREATE TABLE audit_anchor (
        audit_id        INTEGER PRIMARY KEY,     -- the last entry covered
        at_ms           INTEGER NOT NULL,
        link            TEXT NOT NULL            -- its link
    ) STRICT;
    CREATE TRIGGER audit_anchor_no_update BEFORE UPDATE ON audit_anchor
    BEGIN
        SELECT RAISE(ABORT, 'audit anchors are append-only');
    END;
    CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
    BEGIN
        SELECT RAISE(ABORT, 'audit anchors are append-only');
    END;
    "#,
    // 11: retention of worker data (issue 15). A shift report whose samples or alerts the purge
    // deleted is kept as it is and can no longer be re-analysed: a re-analysis neither replaces
    // it nor counts it as outdated.
    r#"
    ALTER TABLE shift_report ADD COLUMN reanalysable INTEGER NOT NULL DEFAULT 1;
    "#,
    // 12: a worker's id is never reused (issue 15): audit entries name people by it, so a deleted
    // worker's id must never come to mean someone else. `worker` is rebuilt with AUTOINCREMENT,
    // every row keeping its id (SQLite's table rebuild: `migrate` runs it with foreign keys off
    // and checks them before the commit). No worker was ever deleted before this version, so
    // the highest id stored is the highest ever used.
    r#"
    CREATE TABLE worker_new (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        tag             BLOB NOT NULL UNIQUE,   -- personal data: never logged, never uploaded
        display_name    TEXT,                   -- personal data: never leaves the dock
        task            TEXT,
        team            TEXT,
        opted_out_ms    INTEGER                 -- set: their data is discarded at ingest
    ) STRICT;
    INSERT INTO worker_new (id, tag, display_name, task, team, opted_out_ms)
        SELECT id, tag, display_name, task, team, opted_out_ms FROM worker;
    DROP TABLE worker;
    ALTER TABLE worker_new RENAME TO worker;
    "#,
    // 13: a worker's deletion (issue 15). A deleted worker leaves a keyed tombstone, their site
    // pseudonym under each key id known (never the tag), so data still on a wearable under that
    // tag is discarded when it docks (`store::deletion`). An alert's or a sample block's place in
    // its segment names its upload record: once a deletion removes rows from a segment, the
    // places of the rows that stay are written down, so their upload keys never shift.
    r#"
    CREATE TABLE worker_tombstone (
        key_id          TEXT NOT NULL,
        pseudonym       TEXT NOT NULL,          -- the full site pseudonym under key_id, 64 hex
        deleted_ms      INTEGER NOT NULL,
        PRIMARY KEY (key_id, pseudonym)
    ) STRICT, WITHOUT ROWID;
    ALTER TABLE alert ADD COLUMN place INTEGER;         -- NULL: its rank among its segment's alerts
    ALTER TABLE sample_block ADD COLUMN place INTEGER;  -- NULL: its rank by (t_ms, id) in its segment
    "#,
    // 14: retention of the audit trail (issue 15). The retention purge removes the oldest entries
    // (with their links and anchors) up to a **base**: the chain goes on from the base entry's
    // link, recorded here, and the purge's own audit entry names the base and its link, so a base
    // moved by anyone else is seen. Deleting at or below the base is the only deletion the
    // append-only guards let through.
    r#"
    ALTER TABLE audit_chain_state ADD COLUMN base_id INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE audit_chain_state ADD COLUMN base_link TEXT NOT NULL
        DEFAULT '0000000000000000000000000000000000000000000000000000000000000000';
    DROP TRIGGER audit_no_delete;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        WHEN OLD.id > (SELECT base_id FROM audit_chain_state WHERE id = 1)
    BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append-only');
    END;
    DROP TRIGGER audit_link_no_delete;
    CREATE TRIGGER audit_link_no_delete BEFORE DELETE ON audit_link
        WHEN OLD.audit_id > (SELECT base_id FROM audit_chain_state WHERE id = 1)
    BEGIN
        SELECT RAISE(ABORT, 'the audit chain is append-only');
    END;
    DROP TRIGGER audit_anchor_no_delete;
    CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
        WHEN OLD.audit_id > (SELECT base_id FROM audit_chain_state WHERE id = 1)
    BEGIN
        SELECT RAISE(ABORT, 'audit anchors are append-only');
    END;
    "#,
];

/// The migrations that rebuild a table other tables reference (`worker`, 12): they run with
/// foreign keys off, and every foreign key is checked before their commit.
const REBUILDS: &[usize] = &[12];

/// The schema version this build writes.
pub const VERSION: usize = MIGRATIONS.len();

impl super::Reader {
    /// Every table of the live database with its columns in order (`sqlite_%` tables left out):
    /// what the data inventory is checked against.
    pub fn schema_columns(
        &self,
    ) -> Result<std::collections::BTreeMap<String, Vec<String>>, super::StoreError> {
        self.with(|conn| {
            let tables: Vec<String> = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table'
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut schema = std::collections::BTreeMap::new();
            for table in tables {
                let columns: Vec<String> = conn
                    .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
                    .query_map([&table], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                schema.insert(table, columns);
            }
            Ok(schema)
        })
    }
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "database schema version {found} is newer than this dockd knows ({known}); refusing to touch it"
    )]
    TooNew { found: usize, known: usize },
    #[error(
        "migration {version} would leave {broken} rows referring to rows that do not exist; nothing of it was applied"
    )]
    ForeignKeys { version: usize, broken: i64 },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies every migration the database has not seen, each in its own transaction. Foreign keys
/// are off while they run (a table rebuild drops a table others reference; SQLite cannot switch
/// them inside a transaction) and on again afterwards if they were.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let current = usize::try_from(current).unwrap_or(usize::MAX);
    if current > VERSION {
        return Err(MigrateError::TooNew {
            found: current,
            known: VERSION,
        });
    }
    if current == VERSION {
        return Ok(());
    }
    let enforced: bool = conn.pragma_query_value(None, "foreign_keys", |row| row.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let applied = apply_from(conn, current);
    if enforced {
        conn.pragma_update(None, "foreign_keys", true)?;
    }
    applied
}

fn apply_from(conn: &mut Connection, current: usize) -> Result<(), MigrateError> {
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = index + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if REBUILDS.contains(&version) {
            let broken: i64 =
                tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                    row.get(0)
                })?;
            if broken > 0 {
                return Err(MigrateError::ForeignKeys { version, broken });
            }
        }
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(version).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, VERSION);
    }

    /// A database built by the first `version` migrations, as that dockd left it, holding one
    /// wearable, one docking and segment 3 (1500 samples, one unknown record).
    fn database_at(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for (index, sql) in MIGRATIONS.iter().take(version).enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", index as i64 + 1)
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO wearable (id, serial, first_seen_ms) VALUES (1, 'KW-1', 5);
             INSERT INTO docking (id, wearable_id, slot, transport, port, docked_ms, boot_count,
                device_ms, clock_valid, batt_soc, batt_health, batt_cycles, batt_mv, batt_temp_dc,
                charging, segments_listed) VALUES (1, 1, 1, 'usb', '1-1', 5, 1, 5, 1, 50, 90, 3, 3900, 250, 1, 1);
             INSERT INTO segment (id, wearable_id, segment_no, size, crc, docking_id, boot_count,
                start_ms, clock_valid, rate_hz, samples, alerts, records, unknown_records,
                unknown_time_samples, unknown_time_records, stored_ms)
                VALUES (3, 1, 9, 100, 77, 1, 1, 0, 1, 25, 1500, 2, 4, 1, 0, 0, 6);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_version_3_database_migrates_to_the_roster_schema_keeping_its_rows() {
        let mut conn = database_at(3);
        conn.execute_batch(
            "INSERT INTO worker (id, tag) VALUES (7, x'42');
             INSERT INTO setting (key, value) VALUES ('time_zone', '\"Europe/Berlin\"');",
        )
        .unwrap();

        migrate(&mut conn).unwrap();

        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version as usize, VERSION);
        let worker: (Vec<u8>, Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT tag, display_name, opted_out_ms FROM worker WHERE id = 7",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(worker, (vec![0x42], None, None));
        let segment: (i64, i64, i64) = conn
            .query_row(
                "SELECT samples, discarded_samples, discarded_records FROM segment WHERE id = 3",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(segment, (1500, 0, 0));
        let setting: String = conn
            .query_row(
                "SELECT value FROM setting WHERE key = 'time_zone'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(setting, "\"Europe/Berlin\"");
        let empty: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM roster_wearable) + (SELECT count(*) FROM opt_out_discard)
                    + (SELECT count(*) FROM wearable_config)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(empty, 0);
    }

    #[test]
    fn a_version_5_database_keeps_unknown_records_type_and_length_but_not_their_bytes() {
        let mut conn = database_at(5);
        conn.execute_batch(
            "INSERT INTO event (segment_id, kind, value, body) VALUES (3, 'unknown', 66, x'0102030405');
             INSERT INTO event (segment_id, kind, value) VALUES (3, 'button', 1);",
        )
        .unwrap();

        migrate(&mut conn).unwrap();

        let unknown: (i64, Option<i64>) = conn
            .query_row(
                "SELECT value, body_len FROM event WHERE kind = 'unknown'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(unknown, (66, Some(5)), "the type and the length stay");
        let button: Option<i64> = conn
            .query_row(
                "SELECT body_len FROM event WHERE kind = 'button'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(button, None);
        let counted: i64 = conn
            .query_row(
                "SELECT unknown_records FROM segment WHERE id = 3",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(counted, 1, "and the count on the segment");
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('event')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !columns.iter().any(|c| c == "body"),
            "no column holds a record's bytes: {columns:?}"
        );
    }

    #[test]
    fn a_version_8_database_gains_an_empty_outbox_keeping_its_rows() {
        let mut conn = database_at(8);
        conn.execute_batch(
            "INSERT INTO worker (id, tag) VALUES (7, x'42');
             INSERT INTO work_restriction (worker_id, from_day, until_day, no_deep_bends,
                recorded_ms, changed_ms) VALUES (7, '2026-01-01', '2026-01-31', 1, 5, 5);",
        )
        .unwrap();

        migrate(&mut conn).unwrap();

        let kept: (i64, i64) = conn
            .query_row(
                "SELECT (SELECT samples FROM segment WHERE id = 3),
                        (SELECT count(*) FROM work_restriction)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(kept, (1500, 1));
        let empty: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM outbox_item) + (SELECT count(*) FROM outbox_batch)
                    + (SELECT count(*) FROM upload_revision) + (SELECT count(*) FROM outbox_eviction)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(empty, 0);
        let state: (Option<i64>, Option<String>, i64) = conn
            .query_row(
                "SELECT last_success_ms, last_error, evictions FROM upload_state",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(state, (None, None, 0), "one state row, nothing yet");
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM outbox_item WHERE batch_id IS NULL AND kind = 'alert'
                    AND day = '2026-01-01' ORDER BY created_ms, key",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("outbox_item_unbatched"), "{plan}");
    }

    #[test]
    fn a_version_11_database_keeps_its_workers_ids_and_references_and_never_reuses_an_id_again() {
        let mut conn = database_at(11);
        conn.execute_batch(
            "INSERT INTO worker (id, tag, display_name) VALUES (7, x'42', 'Ada'), (9, x'43', NULL);
             INSERT INTO sample_block (segment_id, worker_id, t_ms, rate_hz, count, codec, data)
                VALUES (3, 9, 0, 25, 25, 0, x'00');
             INSERT INTO roster_wearable (serial, worker_id, changed_ms) VALUES ('KW-1', 7, 5);",
        )
        .unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();

        migrate(&mut conn).unwrap();

        let enforced: bool = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert!(enforced, "foreign keys are on again after the rebuild");
        let kept: (String, i64, i64) = conn
            .query_row(
                "SELECT (SELECT display_name FROM worker WHERE id = 7),
                        (SELECT worker_id FROM sample_block),
                        (SELECT worker_id FROM roster_wearable)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(kept, ("Ada".to_owned(), 9, 7));
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'worker'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("AUTOINCREMENT"), "{sql}");
        // The highest id goes; the next worker still gets a new one.
        conn.execute_batch("DELETE FROM sample_block; DELETE FROM worker WHERE id = 9;")
            .unwrap();
        conn.execute("INSERT INTO worker (tag) VALUES (x'44')", [])
            .unwrap();
        assert_eq!(conn.last_insert_rowid(), 10);
    }

    #[test]
    fn a_migration_that_would_leave_a_dangling_reference_is_not_applied() {
        let mut conn = database_at(11);
        // A row that refers to a worker who does not exist (written with foreign keys off).
        conn.execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO sample_block (segment_id, worker_id, t_ms, rate_hz, count, codec, data)
                VALUES (3, 99, 0, 25, 25, 0, x'00');",
        )
        .unwrap();
        let refused = migrate(&mut conn);
        assert!(
            matches!(
                refused,
                Err(MigrateError::ForeignKeys {
                    version: 12,
                    broken: 1
                })
            ),
            "{refused:?}"
        );
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 11, "nothing of it was applied");
    }

    #[test]
    fn a_database_from_a_newer_dockd_is_left_alone() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", VERSION as i64 + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrateError::TooNew { .. })
        ));
    }
}
