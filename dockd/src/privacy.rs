//! The data inventory: every table the dock keeps, what it holds, its class, how long it is kept,
//! whether and as which upload record kind it leaves the dock, and the class of each column, as
//! one table in code, checked against the live schema by a test. It owns that classification and
//! the report built from it (`dockd privacy report`); it must never read a row's content.

use serde::Serialize;

use crate::upload::record::Kind;

pub mod export;

/// What a table is about, for the people it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Who a worker is: badge tag, display name, their roster and pseudonyms.
    WorkerIdentity,
    /// What a worker did: motion samples, alerts, events, analysis, work restrictions.
    WorkerActivity,
    /// The wearables as devices: identity, battery, faults, dockings.
    Device,
    /// The dock's own diagnostics: GPS, power.
    DockDiagnostics,
    /// Page users and their password hashes.
    Accounts,
    /// Who did what on the page, and its hash chain.
    Audit,
    /// The upload outbox and its bookkeeping.
    Upload,
    /// The dock's own settings and progress markers.
    Operations,
}

/// What one column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnClass {
    /// A row id or a reference to another row.
    Reference,
    /// Names a worker directly: a badge tag or a display name.
    DirectIdentifier,
    /// Names a worker indirectly: a pseudonym.
    Pseudonym,
    /// About a worker's movement, health-relevant strain or work limits.
    WorkerData,
    /// About a device or the dock (no person).
    Technical,
    /// A time.
    Time,
    /// A page user's name, role or password hash.
    Account,
    /// Bookkeeping: counts, states, hashes, versions.
    Bookkeeping,
}

/// How long a table's rows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Retention {
    /// Until a person deletes them (no automatic purge yet).
    UntilDeleted,
    /// For good (the audit trail and its chain: append-only).
    Kept,
    /// Until uploaded, or evicted by the outbox's disk budget.
    UntilUploaded,
    /// Deleted `days` after a date the table names.
    Days { days: i64, after: &'static str },
    /// `[privacy.retention_days] <key>` days after `after` (shown resolved, as `Days`).
    Configured {
        key: &'static str,
        after: &'static str,
    },
    /// One row, overwritten.
    Current,
    /// Until the same badge tag is put on the roster again (a badge handed to someone new): a
    /// deleted worker's tombstone. A wearable can sit undocked for any time and still bring their
    /// data, so no age would be safe; the row names no one without the pseudonym key.
    UntilBadgeReused,
}

/// One table of the inventory.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TableEntry {
    pub table: &'static str,
    pub holds: &'static str,
    pub class: DataClass,
    pub retention: Retention,
    /// The record kinds it leaves the dock as, with `[upload]` (none: it never leaves).
    pub leaves_as: &'static [Kind],
    pub columns: &'static [(&'static str, ColumnClass)],
}

use ColumnClass::{
    Account, Bookkeeping, DirectIdentifier, Pseudonym, Reference, Technical, Time, WorkerData,
};

/// Every table the dock keeps, in the schema's order of families.
pub const INVENTORY: &[TableEntry] = &[
    TableEntry {
        table: "worker",
        holds: "workers on the roster: badge tag, display name, task, team, opt-out",
        class: DataClass::WorkerIdentity,
        retention: Retention::UntilDeleted,
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("tag", DirectIdentifier),
            ("display_name", DirectIdentifier),
            ("task", WorkerData),
            ("team", WorkerData),
            ("opted_out_ms", Time),
        ],
    },
    TableEntry {
        table: "roster_wearable",
        holds: "which worker wears which wearable, and when the wearable confirmed it",
        class: DataClass::WorkerIdentity,
        retention: Retention::UntilDeleted,
        leaves_as: &[],
        columns: &[
            ("serial", Technical),
            ("worker_id", Reference),
            ("changed_ms", Time),
            ("applied_ms", Time),
        ],
    },
    TableEntry {
        table: "upload_pseudonym",
        holds: "every site pseudonym a worker was uploaded under, per key id (for deletions)",
        class: DataClass::WorkerIdentity,
        retention: Retention::UntilDeleted,
        leaves_as: &[Kind::WorkerDeleted],
        columns: &[
            ("worker_id", Reference),
            ("key_id", Bookkeeping),
            ("pseudonym", Pseudonym),
        ],
    },
    TableEntry {
        table: "worker_tombstone",
        holds: "deleted workers' keyed pseudonyms (never a badge tag or name), so that data still on a wearable under their badge is discarded when it docks",
        class: DataClass::WorkerIdentity,
        retention: Retention::UntilBadgeReused,
        leaves_as: &[],
        columns: &[
            ("key_id", Bookkeeping),
            ("pseudonym", Pseudonym),
            ("deleted_ms", Time),
        ],
    },
    TableEntry {
        table: "sample_block",
        holds: "trunk posture and height samples as worn, in compressed blocks",
        class: DataClass::WorkerActivity,
        retention: Retention::Configured {
            key: "samples",
            after: "wall_ms",
        },
        leaves_as: &[Kind::RawSamples],
        columns: &[
            ("id", Reference),
            ("segment_id", Reference),
            ("worker_id", Reference),
            ("t_ms", Time),
            ("wall_ms", Time),
            ("rate_hz", Technical),
            ("count", Bookkeeping),
            ("codec", Technical),
            ("data", WorkerData),
            ("place", Bookkeeping),
        ],
    },
    TableEntry {
        table: "alert",
        holds: "the wearable's risky-movement alerts and the worker's response",
        class: DataClass::WorkerActivity,
        retention: Retention::Configured {
            key: "alerts_events",
            after: "wall_ms",
        },
        leaves_as: &[Kind::Alert],
        columns: &[
            ("id", Reference),
            ("segment_id", Reference),
            ("worker_id", Reference),
            ("t_ms", Time),
            ("wall_ms", Time),
            ("kind", WorkerData),
            ("peak", WorkerData),
            ("duration_ms", WorkerData),
            ("response_ms", WorkerData),
            ("haptic", WorkerData),
            ("place", Bookkeeping),
        ],
    },
    TableEntry {
        table: "event",
        holds: "wearable log events during wear (button, worn, records of unknown types by size only)",
        class: DataClass::WorkerActivity,
        retention: Retention::Configured {
            key: "alerts_events",
            after: "wall_ms",
        },
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("segment_id", Reference),
            ("worker_id", Reference),
            ("t_ms", Time),
            ("wall_ms", Time),
            ("kind", Technical),
            ("value", WorkerData),
            ("flag", Technical),
            ("body_len", Bookkeeping),
        ],
    },
    TableEntry {
        table: "opt_out_discard",
        holds: "how many samples and records of an opted-out worker were discarded at ingest",
        class: DataClass::WorkerActivity,
        retention: Retention::UntilDeleted,
        leaves_as: &[],
        columns: &[
            ("segment_id", Reference),
            ("worker_id", Reference),
            ("samples", Bookkeeping),
            ("records", Bookkeeping),
        ],
    },
    TableEntry {
        table: "shift_report",
        holds: "the risk analysis of each worker-shift (figures, level, reasons)",
        class: DataClass::WorkerActivity,
        retention: Retention::Configured {
            key: "shift_reports",
            after: "end_ms",
        },
        leaves_as: &[Kind::ShiftSummary, Kind::TaskAggregate, Kind::TeamAggregate],
        columns: &[
            ("id", Reference),
            ("wearable_id", Reference),
            ("worker_id", Reference),
            ("start_ms", Time),
            ("end_ms", Time),
            ("local_day", Time),
            ("risk_level", WorkerData),
            ("version", Bookkeeping),
            ("settings", Bookkeeping),
            ("report", WorkerData),
            ("reanalysable", Bookkeeping),
        ],
    },
    TableEntry {
        table: "work_restriction",
        holds: "a worker's work restrictions (limits a physician or supervisor set)",
        class: DataClass::WorkerActivity,
        retention: Retention::Configured {
            key: "work_restrictions",
            after: "until_day",
        },
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("worker_id", Reference),
            ("from_day", Time),
            ("until_day", Time),
            ("no_deep_bends", WorkerData),
            ("max_lifts_per_hour", WorkerData),
            ("max_bends_per_hour", WorkerData),
            ("max_load_kg", WorkerData),
            ("recorded_ms", Time),
            ("changed_ms", Time),
        ],
    },
    TableEntry {
        table: "analysis_progress",
        holds: "how far each wearable's segments are analysed",
        class: DataClass::Operations,
        retention: Retention::Current,
        leaves_as: &[],
        columns: &[("wearable_id", Reference), ("last_segment_id", Reference)],
    },
    TableEntry {
        table: "wearable",
        holds: "each wearable seen: serial, model, firmware",
        class: DataClass::Device,
        retention: Retention::UntilDeleted,
        leaves_as: &[Kind::WearableDiag],
        columns: &[
            ("id", Reference),
            ("serial", Technical),
            ("model", Technical),
            ("hw_rev", Technical),
            ("firmware", Technical),
            ("first_seen_ms", Time),
            ("last_docked_ms", Time),
        ],
    },
    TableEntry {
        table: "docking",
        holds: "each docking: slot, transport, battery and clock read at docking, outcome",
        class: DataClass::Device,
        retention: Retention::UntilDeleted,
        leaves_as: &[Kind::WearableDiag],
        columns: &[
            ("id", Reference),
            ("wearable_id", Reference),
            ("slot", Technical),
            ("transport", Technical),
            ("port", Technical),
            ("docked_ms", Time),
            ("undocked_ms", Time),
            ("outcome", Technical),
            ("boot_count", Technical),
            ("device_ms", Time),
            ("clock_valid", Technical),
            ("batt_soc", Technical),
            ("batt_health", Technical),
            ("batt_cycles", Technical),
            ("batt_mv", Technical),
            ("batt_temp_dc", Technical),
            ("charging", Technical),
            ("segments_listed", Bookkeeping),
        ],
    },
    TableEntry {
        table: "segment",
        holds: "each log segment pulled: its identity, counts and times, when stored and erased",
        class: DataClass::Device,
        retention: Retention::UntilDeleted,
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("wearable_id", Reference),
            ("segment_no", Technical),
            ("size", Bookkeeping),
            ("crc", Bookkeeping),
            ("docking_id", Reference),
            ("boot_count", Technical),
            ("start_ms", Time),
            ("clock_valid", Technical),
            ("rate_hz", Technical),
            ("first_wall_ms", Time),
            ("last_wall_ms", Time),
            ("samples", Bookkeeping),
            ("alerts", Bookkeeping),
            ("records", Bookkeeping),
            ("unknown_records", Bookkeeping),
            ("unknown_time_samples", Bookkeeping),
            ("unknown_time_records", Bookkeeping),
            ("stored_ms", Time),
            ("erased_ms", Time),
            ("discarded_samples", Bookkeeping),
            ("discarded_records", Bookkeeping),
        ],
    },
    TableEntry {
        table: "quarantine",
        holds: "damaged segments' bytes, kept for support (they may hold a worker's samples)",
        class: DataClass::WorkerActivity,
        retention: Retention::Configured {
            key: "raw_segments",
            after: "last_seen_ms",
        },
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("wearable_id", Reference),
            ("segment_no", Technical),
            ("size", Bookkeeping),
            ("crc", Bookkeeping),
            ("reason", Technical),
            ("bytes", WorkerData),
            ("first_seen_ms", Time),
            ("last_seen_ms", Time),
            ("times_seen", Bookkeeping),
        ],
    },
    TableEntry {
        table: "wearable_diag",
        holds: "the wearable's diagnostics records (battery, temperature, fault codes)",
        class: DataClass::Device,
        retention: Retention::UntilDeleted,
        leaves_as: &[Kind::WearableDiag],
        columns: &[
            ("id", Reference),
            ("segment_id", Reference),
            ("t_ms", Time),
            ("wall_ms", Time),
            ("batt_mv", Technical),
            ("temp_dc", Technical),
            ("soc", Technical),
            ("code", Technical),
        ],
    },
    TableEntry {
        table: "wearable_config",
        holds: "the thresholds each wearable is ordered to run and whether it confirmed them",
        class: DataClass::Device,
        retention: Retention::Current,
        leaves_as: &[],
        columns: &[
            ("serial", Technical),
            ("confirmed", Technical),
            ("confirmed_ms", Time),
            ("problem", Technical),
        ],
    },
    TableEntry {
        table: "gps_fix",
        holds: "the dock's own GPS fixes (diagnostics only; never joined with worker data)",
        class: DataClass::DockDiagnostics,
        retention: Retention::Configured {
            key: "gps",
            after: "at_ms",
        },
        leaves_as: &[Kind::DockGps],
        columns: &[
            ("id", Reference),
            ("at_ms", Time),
            ("gps_time_ms", Time),
            ("mode", Technical),
            ("lat", Technical),
            ("lon", Technical),
            ("alt_m", Technical),
            ("satellites_used", Technical),
            ("satellites_seen", Technical),
            ("hdop", Technical),
            ("eph", Technical),
        ],
    },
    TableEntry {
        table: "gps_event",
        holds: "the dock's GPS receiver events (connected, lost, errors)",
        class: DataClass::DockDiagnostics,
        retention: Retention::Configured {
            key: "gps",
            after: "at_ms",
        },
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("at_ms", Time),
            ("kind", Technical),
            ("detail", Technical),
        ],
    },
    TableEntry {
        table: "dock_power",
        holds: "the dock's power and temperature samples",
        class: DataClass::DockDiagnostics,
        retention: Retention::Configured {
            key: "dock_power",
            after: "at_ms",
        },
        leaves_as: &[Kind::DockDiag],
        columns: &[
            ("id", Reference),
            ("at_ms", Time),
            ("mains_online", Technical),
            ("battery_pct", Technical),
            ("max_temp_c", Technical),
            ("reading", Technical),
        ],
    },
    TableEntry {
        table: "user",
        holds: "page users: name, role, argon2id password hash",
        class: DataClass::Accounts,
        retention: Retention::UntilDeleted,
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("name", Account),
            ("role", Account),
            ("password_hash", Account),
            ("created_ms", Time),
            ("disabled", Account),
            ("generation", Bookkeeping),
        ],
    },
    TableEntry {
        table: "audit",
        holds: "who viewed, changed or exported what on the page and the command line",
        class: DataClass::Audit,
        retention: Retention::Configured {
            key: "audit",
            after: "at_ms",
        },
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("at_ms", Time),
            ("user", Account),
            ("action", Bookkeeping),
            ("subject", Bookkeeping),
        ],
    },
    TableEntry {
        table: "audit_link",
        holds: "each audit entry's hash link (the tamper-evident chain)",
        class: DataClass::Audit,
        retention: Retention::Configured {
            key: "audit",
            after: "its entry's at_ms",
        },
        leaves_as: &[],
        columns: &[("audit_id", Reference), ("hash", Bookkeeping)],
    },
    TableEntry {
        table: "audit_anchor",
        holds: "the chain's head at most hourly (entry id and link, no content)",
        class: DataClass::Audit,
        retention: Retention::Configured {
            key: "audit",
            after: "at_ms",
        },
        leaves_as: &[Kind::AuditAnchor],
        columns: &[
            ("audit_id", Reference),
            ("at_ms", Time),
            ("link", Bookkeeping),
        ],
    },
    TableEntry {
        table: "audit_chain_state",
        holds: "the last audit entry older than the chain, and the base the chain goes on from after the audit retention",
        class: DataClass::Audit,
        retention: Retention::Current,
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("backfill_until", Reference),
            ("base_id", Reference),
            ("base_link", Bookkeeping),
        ],
    },
    TableEntry {
        table: "setting",
        holds: "settings changed on the page, pseudonym key ids used (never a key)",
        class: DataClass::Operations,
        retention: Retention::Current,
        leaves_as: &[],
        columns: &[("key", Bookkeeping), ("value", Bookkeeping)],
    },
    TableEntry {
        table: "outbox_item",
        holds: "records waiting to be uploaded (already pseudonymised, as they leave)",
        class: DataClass::Upload,
        retention: Retention::Configured {
            key: "outbox",
            after: "created_ms, unless delivered before",
        },
        leaves_as: &Kind::ALL,
        columns: &[
            ("id", Reference),
            ("key", Bookkeeping),
            ("kind", Bookkeeping),
            ("day", Time),
            ("payload", WorkerData),
            ("bytes", Bookkeeping),
            ("created_ms", Time),
            ("batch_id", Reference),
        ],
    },
    TableEntry {
        table: "outbox_batch",
        holds: "upload batches committed before their first send (compressed records)",
        class: DataClass::Upload,
        retention: Retention::Configured {
            key: "outbox",
            after: "created_ms, unless delivered before",
        },
        leaves_as: &Kind::ALL,
        columns: &[
            ("id", Reference),
            ("kind", Bookkeeping),
            ("day", Time),
            ("items", Bookkeeping),
            ("body_bytes", Bookkeeping),
            ("oldest_ms", Time),
            ("committed_ms", Time),
            ("state", Bookkeeping),
            ("reason", Bookkeeping),
            ("parked_ms", Time),
            ("body", WorkerData),
        ],
    },
    TableEntry {
        table: "upload_revision",
        holds: "the revision and digest last queued under each upload key",
        class: DataClass::Upload,
        retention: Retention::UntilDeleted,
        leaves_as: &[],
        columns: &[
            ("key", Bookkeeping),
            ("revision", Bookkeeping),
            ("digest", Bookkeeping),
        ],
    },
    TableEntry {
        table: "upload_state",
        holds: "the upload's last success, error and pause",
        class: DataClass::Upload,
        retention: Retention::Current,
        leaves_as: &[],
        columns: &[
            ("id", Reference),
            ("last_success_ms", Time),
            ("last_error", Bookkeeping),
            ("paused", Bookkeeping),
            ("evictions", Bookkeeping),
            ("delivered_batches", Bookkeeping),
            ("delivered_items", Bookkeeping),
        ],
    },
    TableEntry {
        table: "outbox_eviction",
        holds: "what the outbox's disk budget evicted (counts, no content)",
        class: DataClass::Upload,
        retention: Retention::UntilDeleted,
        leaves_as: &[Kind::Evicted],
        columns: &[
            ("eviction_no", Reference),
            ("at_ms", Time),
            ("kind", Bookkeeping),
            ("items", Bookkeeping),
            ("bytes", Bookkeeping),
            ("first_created_ms", Time),
            ("last_created_ms", Time),
        ],
    },
];

/// One table as `dockd privacy report` shows it under a config.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryRow {
    pub table: &'static str,
    pub holds: &'static str,
    pub class: DataClass,
    pub retention: Retention,
    /// Whether its content leaves the dock under this config (with `[upload]`; raw samples only
    /// with `raw_samples = true`).
    pub leaves_dock: bool,
    /// The record kinds it leaves as, under this config.
    pub record_kinds: Vec<&'static str>,
    pub columns: std::collections::BTreeMap<&'static str, ColumnClass>,
}

/// The inventory under a config: what leaves depends on `[upload]` and its `raw_samples`, how
/// long the purged classes stay on `[privacy.retention_days]`.
pub fn inventory(
    upload: Option<&crate::config::UploadConfig>,
    days: &crate::config::RetentionDays,
) -> Vec<InventoryRow> {
    INVENTORY
        .iter()
        .map(|e| {
            let record_kinds: Vec<&'static str> = match upload {
                None => Vec::new(),
                Some(upload) => e
                    .leaves_as
                    .iter()
                    .filter(|k| **k != Kind::RawSamples || upload.raw_samples)
                    .map(|k| k.name())
                    .collect(),
            };
            InventoryRow {
                table: e.table,
                holds: e.holds,
                class: e.class,
                retention: match e.retention {
                    Retention::Configured { key, after } => match days.days(key) {
                        Some(days) => Retention::Days {
                            days: i64::from(days),
                            after,
                        },
                        None => e.retention,
                    },
                    other => other,
                },
                leaves_dock: !record_kinds.is_empty(),
                record_kinds,
                columns: e.columns.iter().copied().collect(),
            }
        })
        .collect()
}

/// `dockd privacy report`: the inventory under the config, checked against the live schema,
/// with the state of the controls.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether the database file is encrypted at rest, read from the file itself (not plaintext
    /// SQLite) and opened with its key.
    pub encryption_at_rest: bool,
    /// How: `SQLCipher <version>: AES-256-CBC pages with HMAC-SHA256, raw 256-bit key`.
    pub encryption: String,
    /// The database key file (`[privacy] database_key_file`); the key itself is never shown.
    pub database_key_file: String,
    /// Where the pseudonym key is: `site` (`[privacy] site_key_file`) or `dock` (the data folder).
    pub pseudonym_key_source: &'static str,
    pub pseudonym_key_file: String,
    /// When the retention purge last ran, Unix ms (null: never).
    pub last_purge_ms: Option<i64>,
    pub audit_chain_ok: bool,
    /// The audit chain's state as a sentence.
    pub audit_chain: String,
    /// Whether anything leaves the dock at all (`[upload]`).
    pub upload_configured: bool,
    pub inventory: Vec<InventoryRow>,
    /// Live tables the inventory does not classify (a build that has one fails its tests).
    pub unclassified_tables: Vec<String>,
}

/// The report for `config` over the database `reader` reads.
pub fn report(
    config: &crate::config::Config,
    reader: &crate::store::Reader,
) -> Result<Report, crate::store::StoreError> {
    let chain = reader.audit_chain()?;
    let (source, file) = match &config.privacy.site_key_file {
        Some(path) => ("site", path.display().to_string()),
        None => (
            "dock",
            config
                .storage
                .data_dir
                .join(crate::worker::DOCK_KEY_FILE)
                .display()
                .to_string(),
        ),
    };
    let unclassified_tables = reader
        .schema_columns()?
        .into_keys()
        .filter(|table| entry(table).is_none())
        .collect();
    let encrypted_file = crate::store::key::file_state(&config.database_path())
        .is_ok_and(|state| state == crate::store::key::FileState::Encrypted);
    let cipher = reader.cipher_version()?;
    Ok(Report {
        encryption_at_rest: encrypted_file && cipher.is_some(),
        encryption: match cipher {
            Some(version) => format!(
                "SQLCipher {version}: every page of the database and its WAL AES-256-CBC encrypted and HMAC-SHA256 authenticated, raw 256-bit key"
            ),
            None => "none".to_owned(),
        },
        database_key_file: config.database_key_path().display().to_string(),
        pseudonym_key_source: source,
        pseudonym_key_file: file,
        last_purge_ms: reader.last_purge_ms()?,
        audit_chain_ok: chain.is_intact(),
        audit_chain: chain.finding(),
        upload_configured: config.upload.is_some(),
        inventory: inventory(config.upload.as_ref(), &config.privacy.retention_days),
        unclassified_tables,
    })
}

const DAY_MS: i64 = 86_400_000;

/// What a purge at `now_ms` deletes under `[privacy.retention_days]`.
pub fn cutoffs(days: &crate::config::RetentionDays, now_ms: i64) -> crate::store::purge::Cutoffs {
    let before = |days: u32| now_ms.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
    crate::store::purge::Cutoffs {
        at_ms: now_ms,
        gps_before_ms: before(days.gps),
        dock_power_before_ms: before(days.dock_power),
        quarantine_before_ms: before(days.raw_segments),
        samples_before_ms: before(days.samples),
        alerts_before_ms: before(days.alerts_events),
        reports_before_ms: before(days.shift_reports),
        audit_before_ms: before(days.audit),
        outbox_before_ms: before(days.outbox),
    }
}

/// The next `purge_at` (hour, minute) in `zone` strictly after `now_ms`, Unix ms. A time a clock
/// change skips is taken as the time just after the change (jiff's "compatible" rule).
pub fn next_purge_ms(at: (i8, i8), zone: &jiff::tz::TimeZone, now_ms: i64) -> Option<i64> {
    let now = jiff::Timestamp::from_millisecond(now_ms)
        .ok()?
        .to_zoned(zone.clone());
    let mut day = now.date();
    for _ in 0..3 {
        let candidate = day
            .at(at.0, at.1, 0, 0)
            .to_zoned(zone.clone())
            .ok()?
            .timestamp()
            .as_millisecond();
        if candidate > now_ms {
            return Some(candidate);
        }
        day = day.tomorrow().ok()?;
    }
    None
}

/// Runs the retention purge now: what went, logged in a sentence.
pub async fn purge_now(
    writer: &crate::store::Writer,
    days: &crate::config::RetentionDays,
    now_ms: i64,
) -> Result<crate::store::purge::Purged, crate::store::StoreError> {
    let purged = writer.purge(cutoffs(days, now_ms)).await?;
    tracing::info!(
        "Retention purge: {purged} deleted for good; {} more shift reports kept, no longer re-analysable.",
        purged.reports_frozen
    );
    Ok(purged)
}

/// `dockd purge --now`: the purge on `writer` — the daemon's, asked through its control socket,
/// or one of the command's own when no daemon runs (`control::commands`) — audited as the command
/// line's, `route` appended to the audit line's subject (empty when it opened the database
/// itself).
pub async fn purge_audited(
    writer: &crate::store::Writer,
    days: &crate::config::RetentionDays,
    now_ms: i64,
    route: &str,
) -> Result<crate::store::purge::Purged, crate::store::StoreError> {
    let purged = purge_now(writer, days, now_ms).await?;
    writer
        .audit(vec![crate::store::AuditEntry {
            at_ms: now_ms,
            user: "dockd purge".to_owned(),
            action: "delete".to_owned(),
            subject: format!("retention purge: {} rows{route}", purged.total()),
        }])
        .await?;
    Ok(purged)
}

/// `dockd worker export`: the export of the worker with badge `tag` into `out`, read from the
/// database with its key (`progress` hears the samples written and in all). The caller records
/// it in the audit trail (through the daemon when one runs: `control`'s `record_export`).
pub async fn export_to_folder(
    db: &crate::store::Database,
    tag: &crate::worker::WorkerTag,
    out: &std::path::Path,
    mut progress: Box<dyn FnMut(u64, u64) + Send>,
) -> Result<export::ExportSummary, export::ExportError> {
    let reader = crate::store::Reader::open(db)?;
    let (tag, out_path) = (*tag, out.to_owned());
    tokio::task::spawn_blocking(move || {
        export::export_worker(&reader, &tag, &out_path, &mut *progress)
    })
    .await
    .map_err(|e| export::ExportError::Block(e.to_string()))?
}

/// A worker's export on its way out of the running daemon: the tar archive's bytes (an error
/// where it broke off), then its summary once its audit line is written.
pub struct ExportStream {
    pub chunks: tokio::sync::mpsc::Receiver<Result<Vec<u8>, String>>,
    pub done: tokio::sync::oneshot::Receiver<Result<export::ExportSummary, String>>,
}

/// Worker `id`'s export as a tar archive ([`export::export_tar`]) made on the blocking pool while
/// it is taken (the page's download, `dockd worker export` through the control socket), then its
/// audit line by `by` (its subject ending in `route`, how they asked): what went out, or where
/// it broke off. Call it inside the runtime.
pub fn stream_export(
    reader: crate::store::Reader,
    writer: crate::store::Writer,
    id: i64,
    (by, route): (String, String),
    now_ms: i64,
) -> ExportStream {
    let (sender, chunks) = tokio::sync::mpsc::channel(4);
    let (finished, done) = tokio::sync::oneshot::channel();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut out = ToStream {
            sender: sender.clone(),
            buffer: Vec::with_capacity(ToStream::CHUNK),
        };
        let made = export::export_tar(&reader, id, &mut out, now_ms);
        let mut line = match &made {
            Ok(summary) => export_line(summary, &by, now_ms),
            Err(error) => {
                tracing::warn!(worker = id, error = %error, "A worker's export broke off.");
                let _ = sender.blocking_send(Err(error.to_string()));
                crate::store::AuditEntry {
                    at_ms: now_ms,
                    user: by,
                    action: "export".to_owned(),
                    subject: format!("worker {id}: their data export broke off ({error})"),
                }
            }
        };
        line.subject.push_str(&route);
        let audited = runtime.block_on(writer.audit(vec![line]));
        if let Err(error) = &audited {
            tracing::error!(error = %error, "Cannot record a worker's export in the audit trail.");
        }
        let _ = finished.send(match (made, audited) {
            (Ok(summary), Ok(())) => Ok(summary),
            (Err(error), _) => Err(error.to_string()),
            (Ok(_), Err(error)) => Err(format!(
                "the export was sent, but its audit line could not be written: {error}"
            )),
        });
    });
    ExportStream { chunks, done }
}

/// The audit line of an export, by the worker's id: what went out, and to whom.
pub fn export_line(
    summary: &export::ExportSummary,
    by: &str,
    now_ms: i64,
) -> crate::store::AuditEntry {
    crate::store::AuditEntry {
        at_ms: now_ms,
        user: by.to_owned(),
        action: "export".to_owned(),
        subject: format!(
            "worker {}: their data exported ({} shift reports, {} samples)",
            summary.worker_id, summary.shift_reports, summary.samples
        ),
    }
}

/// An export's bytes into its stream, 64 KiB at a time; the channel's bound holds the export
/// back while the taker is slower than the disk (memory stays bounded), and a stream closed by
/// the taker ends the export.
struct ToStream {
    sender: tokio::sync::mpsc::Sender<Result<Vec<u8>, String>>,
    buffer: Vec<u8>,
}

impl ToStream {
    const CHUNK: usize = 64 * 1024;
}

impl std::io::Write for ToStream {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= Self::CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(Self::CHUNK));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the export's taker went away",
            )
        })
    }
}

/// `dockd worker delete`: deletes worker `id` and everything about them for good through a writer
/// of its own, audited by their id in the deletion's transaction (`keys`: the pseudonym key in
/// force, for their tombstone; `upload`: the outbox's policy, for their `worker_deleted` records).
pub async fn delete_worker(
    db: &crate::store::Database,
    id: i64,
    keys: std::sync::Arc<crate::worker::Pseudonyms>,
    upload: Option<crate::store::OutboxPolicy>,
    now_ms: i64,
) -> Result<crate::store::deletion::Deleted, crate::store::StoreError> {
    crate::store::with_own_writer(db, |writer| async move {
        writer.set_outbox(upload).await?;
        writer.set_pseudonyms(keys).await?;
        writer
            .delete_worker(crate::store::deletion::WorkerDeletion {
                worker: id,
                at_ms: now_ms,
                by: "dockd worker delete".to_owned(),
            })
            .await
    })
    .await
}

/// Purges every day at `[privacy] purge_at` site time (the site's zone as the settings hold it
/// then) until `shutdown`, reading the injected clock at most a minute apart, so a clock step is
/// followed.
pub async fn run_purges(
    writer: crate::store::Writer,
    privacy: crate::config::PrivacyConfig,
    site: std::sync::Arc<crate::site::SiteSettings>,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(at) = privacy.purge_time() else {
        return;
    };
    loop {
        let now = clock.now_ms();
        let zone =
            jiff::tz::TimeZone::get(&site.current().time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let Some(next) = next_purge_ms(at, &zone, now) else {
            return;
        };
        loop {
            let wait = next.saturating_sub(clock.now_ms());
            if wait <= 0 {
                break;
            }
            let step =
                std::time::Duration::from_millis(u64::try_from(wait.min(60_000)).unwrap_or(0));
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(step) => {}
            }
        }
        if let Err(error) = purge_now(&writer, &privacy.retention_days, clock.now_ms()).await {
            tracing::error!("The retention purge failed ({error}); it runs again tomorrow.");
        }
    }
}

/// The entry of `table`, if the inventory has one.
pub fn entry(table: &str) -> Option<&'static TableEntry> {
    INVENTORY.iter().find(|e| e.table == table)
}

#[cfg(test)]
mod tests;
