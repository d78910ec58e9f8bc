//! The receiver's own SQLite database: a `delivery` row per stored request (the raw count of
//! deliveries, duplicates included) and an `item` row per NDJSON line, keyed by the line's `"key"`
//! (`INSERT OR IGNORE`: the first copy wins, later copies only count as deliveries). It owns the
//! schema and what the tests read back; it must never rewrite or drop what was received.

use std::path::Path;

use rusqlite::{Connection, params};
use serde_json::Value;

/// The file in the receiver's folder that holds what it received.
pub const DB_FILE: &str = "receiver.db";

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS delivery (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    body_bytes INTEGER NOT NULL,
    -- SHA-256 of the body as sent (hex): every retry of a batch must send identical bytes.
    body_sha256 TEXT NOT NULL,
    items INTEGER NOT NULL,
    new_items INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    -- 0 when the response was dropped on purpose (the sender must send the batch again).
    answered INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS item (
    key TEXT PRIMARY KEY,
    kind TEXT,
    json TEXT NOT NULL,
    delivery_id INTEGER NOT NULL REFERENCES delivery(id)
);
";

/// One stored request: a batch as the receiver got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub idempotency_key: String,
    /// The body as sent (compressed when it was).
    pub body_bytes: u64,
    /// SHA-256 of the body as sent, hex.
    pub body_sha256: String,
    /// Lines in the batch.
    pub items: u64,
    /// Lines whose key the receiver had not seen before.
    pub new_items: u64,
    pub received_ms: i64,
    /// False when the fault [`crate::Fault::DropResponse`] swallowed the answer.
    pub answered: bool,
}

/// One item after de-duplication by key: the first copy received.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: String,
    pub kind: Option<String>,
    pub json: Value,
    pub delivery_id: i64,
}

/// A batch's line, checked: a JSON object with a string `"key"`.
pub struct Line {
    pub key: String,
    pub kind: Option<String>,
    pub json: String,
}

/// Splits an NDJSON body into lines; blank lines are skipped. The error is a sentence for a 400.
pub fn parse_lines(body: &[u8]) -> Result<Vec<Line>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "The body is not UTF-8.".to_owned())?;
    let mut lines = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("Line {} is not JSON: {e}.", number + 1))?;
        let Some(object) = value.as_object() else {
            return Err(format!("Line {} is not a JSON object.", number + 1));
        };
        let Some(key) = object.get("key").and_then(Value::as_str) else {
            return Err(format!("Line {} has no string \"key\".", number + 1));
        };
        lines.push(Line {
            key: key.to_owned(),
            kind: object
                .get("kind")
                .and_then(Value::as_str)
                .map(str::to_owned),
            json: line.to_owned(),
        });
    }
    Ok(lines)
}

pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(std::time::Duration::from_secs(5))?;
    connection.execute_batch(SCHEMA)?;
    Ok(connection)
}

/// Stores one delivery and its lines in one transaction; returns how many keys were new.
pub fn store(
    connection: &mut Connection,
    idempotency_key: &str,
    body: &[u8],
    lines: &[Line],
    received_ms: i64,
    answered: bool,
) -> rusqlite::Result<u64> {
    let transaction = connection.transaction()?;
    transaction.execute(
        "INSERT INTO delivery (idempotency_key, body_bytes, body_sha256, items, new_items,
                               received_ms, answered)
         VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
        params![
            idempotency_key,
            body.len() as i64,
            sha256_hex(body),
            lines.len() as i64,
            received_ms,
            answered
        ],
    )?;
    let delivery_id = transaction.last_insert_rowid();
    let mut new_items = 0;
    {
        let mut insert = transaction.prepare(
            "INSERT OR IGNORE INTO item (key, kind, json, delivery_id) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for line in lines {
            new_items +=
                insert.execute(params![line.key, line.kind, line.json, delivery_id])? as u64;
        }
    }
    transaction.execute(
        "UPDATE delivery SET new_items = ?1 WHERE id = ?2",
        params![new_items as i64, delivery_id],
    )?;
    transaction.commit()?;
    Ok(new_items)
}

/// The SHA-256 of `bytes` as lowercase hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn deliveries(connection: &Connection) -> rusqlite::Result<Vec<Delivery>> {
    let mut statement = connection.prepare(
        "SELECT id, idempotency_key, body_bytes, body_sha256, items, new_items, received_ms,
                answered
         FROM delivery ORDER BY id",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(Delivery {
            id: row.get(0)?,
            idempotency_key: row.get(1)?,
            body_bytes: row.get::<_, i64>(2)? as u64,
            body_sha256: row.get(3)?,
            items: row.get::<_, i64>(4)? as u64,
            new_items: row.get::<_, i64>(5)? as u64,
            received_ms: row.get(6)?,
            answered: row.get(7)?,
        })
    })?;
    rows.collect()
}

pub fn items(connection: &Connection) -> rusqlite::Result<Vec<Item>> {
    let mut statement =
        connection.prepare("SELECT key, kind, json, delivery_id FROM item ORDER BY key")?;
    let rows = statement.query_map([], |row| {
        let json: String = row.get(2)?;
        Ok(Item {
            key: row.get(0)?,
            kind: row.get(1)?,
            json: serde_json::from_str(&json).unwrap_or(Value::String(json)),
            delivery_id: row.get(3)?,
        })
    })?;
    rows.collect()
}
