//! Pure batching of the outbox: which queued items form which batch, the batch's id, its S3 object
//! key and its bytes. It owns the batch rules; it must never read the database, the clock or the
//! network (items, limits and the time arrive as values).
//!
//! # Rules
//!
//! - A batch holds one partition, (kind, site-local day), so an S3 key is Hive-style:
//!   `<prefix>/site=<site>/kind=<kind>/date=<YYYY-MM-DD | unknown>/batch-<id>.ndjson.zst`.
//! - Within a partition, items are taken oldest first (`created_ms`, then key) and cut into
//!   batches of at most `batch_max_items` items and `batch_max_bytes` NDJSON bytes (an item larger
//!   than the byte limit travels alone). A batch is **due** when it is full (the next item would
//!   not fit) or its oldest item is at least `batch_max_age_s` old; a partial young batch waits.
//! - **Batch id**: the first 32 hex digits (128 bits) of SHA-256 over its members sorted by key,
//!   one line per member: `<key> TAB <SHA-256 hex of the member's NDJSON line> LF`. The same members
//!   with the same content always give the same id; a re-analysed shift (same key, new revision)
//!   gives a new one, so a receiver's idempotency never swallows the newer revision.
//! - **Bytes**: the members sorted by key, each JSON line followed by `\n` (NDJSON), compressed
//!   by zstd at level 3 in one frame. The same members always give byte-identical output, so a
//!   retry sends the same bytes to the same object key.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::record::{Kind, Record, UNKNOWN_DAY};

/// zstd level of every batch (`zstd -3`).
pub const ZSTD_LEVEL: i32 = 3;
/// Hex digits of a batch id.
pub const BATCH_ID_HEX: usize = 32;

/// One queued outbox item as the batcher sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The record's idempotency key.
    pub key: String,
    pub kind: Kind,
    /// Site-local day `YYYY-MM-DD`, or `unknown`.
    pub day: String,
    /// The record's NDJSON line, without its newline.
    pub payload: Vec<u8>,
    /// When it was queued, Unix ms.
    pub created_ms: i64,
}

impl Item {
    /// The outbox item of a sealed `record`, queued at `created_ms`.
    pub fn of(record: &Record, created_ms: i64) -> Result<Item, serde_json::Error> {
        Ok(Item {
            key: record.key().to_owned(),
            kind: record.kind(),
            day: record.day().to_owned(),
            payload: record.to_line()?,
            created_ms,
        })
    }
}

/// Where a batch goes: one kind on one site-local day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    pub kind: Kind,
    pub day: String,
}

/// `[upload] batch_max_items`, `batch_max_bytes`, `batch_max_age_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_items: usize,
    /// NDJSON bytes before compression, newlines included.
    pub max_bytes: usize,
    pub max_age_s: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_items: 5000,
            max_bytes: 4 * 1024 * 1024,
            max_age_s: 300,
        }
    }
}

/// A batch to commit: its id, partition and members' keys (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub id: String,
    pub partition: Partition,
    pub keys: Vec<String>,
    /// NDJSON bytes before compression.
    pub bytes: usize,
    pub oldest_ms: i64,
}

/// The due batches among `queued` at `now_ms` (items already in a committed batch must not be
/// passed). `flush` makes every partial batch due (an admin's "upload now"). Partitions in order
/// (kind, day); within one, oldest items first.
pub fn plan(queued: &[Item], limits: &Limits, now_ms: i64, flush: bool) -> Vec<Planned> {
    let mut partitions: BTreeMap<Partition, Vec<&Item>> = BTreeMap::new();
    for item in queued {
        partitions
            .entry(Partition {
                kind: item.kind,
                day: item.day.clone(),
            })
            .or_default()
            .push(item);
    }
    let max_items = limits.max_items.max(1);
    let mut due = Vec::new();
    for (partition, mut items) in partitions {
        items.sort_by(|a, b| (a.created_ms, &a.key).cmp(&(b.created_ms, &b.key)));
        let mut chunk: Vec<&Item> = Vec::new();
        let mut bytes = 0;
        for item in items {
            let size = line_bytes(item);
            if !chunk.is_empty() && (chunk.len() == max_items || bytes + size > limits.max_bytes) {
                // Full: the next item does not fit.
                due.push(planned(&partition, &chunk));
                chunk.clear();
                bytes = 0;
            }
            chunk.push(item);
            bytes += size;
        }
        if chunk.is_empty() {
            continue;
        }
        let oldest = chunk.iter().map(|i| i.created_ms).min().unwrap_or(now_ms);
        if is_due(
            chunk.len() as u64,
            bytes as u64,
            oldest,
            limits,
            now_ms,
            flush,
        ) {
            due.push(planned(&partition, &chunk));
        }
    }
    due
}

/// Whether queued items of one partition — `items` of them, `ndjson_bytes` with their newlines,
/// the oldest queued at `oldest_ms` — make a batch that is due at `now_ms`: full, old enough, or
/// flushed (the rule of the module docs, also applied to the store's figures before any payload
/// is read).
pub fn is_due(
    items: u64,
    ndjson_bytes: u64,
    oldest_ms: i64,
    limits: &Limits,
    now_ms: i64,
    flush: bool,
) -> bool {
    let max_age_ms = i64::try_from(limits.max_age_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let full = items >= limits.max_items.max(1) as u64 || ndjson_bytes >= limits.max_bytes as u64;
    flush || full || now_ms.saturating_sub(oldest_ms) >= max_age_ms
}

/// How many batches at most `items` queued items of `ndjson_bytes` make (at least one).
pub fn batches_for(items: u64, ndjson_bytes: u64, limits: &Limits) -> u64 {
    let by_items = items.div_ceil(limits.max_items.max(1) as u64);
    let by_bytes = ndjson_bytes.div_ceil(limits.max_bytes.max(1) as u64);
    by_items.max(by_bytes).max(1)
}

/// An item's share of a batch: its line and newline.
fn line_bytes(item: &Item) -> usize {
    item.payload.len() + 1
}

fn planned(partition: &Partition, members: &[&Item]) -> Planned {
    let mut keys: Vec<String> = members.iter().map(|i| i.key.clone()).collect();
    keys.sort();
    Planned {
        id: batch_id(members),
        partition: partition.clone(),
        keys,
        bytes: members.iter().map(|i| line_bytes(i)).sum(),
        oldest_ms: members.iter().map(|i| i.created_ms).min().unwrap_or(0),
    }
}

/// The members in the batch's order: by key.
fn sorted<'a>(members: &[&'a Item]) -> Vec<&'a Item> {
    let mut sorted = members.to_vec();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    sorted
}

/// The batch id of these members (see the module docs).
pub fn batch_id(members: &[&Item]) -> String {
    let digests: Vec<(&str, String)> = sorted(members)
        .into_iter()
        .map(|item| {
            (
                item.key.as_str(),
                hex::encode(Sha256::digest(&item.payload)),
            )
        })
        .collect();
    batch_id_of_digests(digests.iter().map(|(key, digest)| (*key, digest.as_str())))
}

/// The batch id of members given as (key, SHA-256 hex of the NDJSON line), in key order: what
/// the store checks a batch against without reading a payload (it keeps each key's digest).
pub fn batch_id_of_digests<'a>(members: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hash = Sha256::new();
    for (key, digest) in members {
        hash.update(key.as_bytes());
        hash.update(b"\t");
        hash.update(digest.as_bytes());
        hash.update(b"\n");
    }
    let mut id = hex::encode(hash.finalize());
    id.truncate(BATCH_ID_HEX);
    id
}

/// The uncompressed NDJSON of these members: sorted by key, one line each.
pub fn ndjson(members: &[&Item]) -> Vec<u8> {
    let mut out = Vec::with_capacity(members.iter().map(|i| line_bytes(i)).sum());
    for item in sorted(members) {
        out.extend_from_slice(&item.payload);
        out.push(b'\n');
    }
    out
}

/// The bytes sent for a batch of these members: its NDJSON compressed by zstd level 3.
pub fn encode(members: &[&Item]) -> std::io::Result<Vec<u8>> {
    zstd::bulk::compress(&ndjson(members), ZSTD_LEVEL)
}

/// The object key of batch `id` of `partition` under `prefix` (the `s3://bucket/prefix` path,
/// without leading or trailing `/`; empty for none).
pub fn object_key(prefix: &str, site: &str, partition: &Partition, id: &str) -> String {
    let day = if partition.day.is_empty() {
        UNKNOWN_DAY
    } else {
        &partition.day
    };
    let path = format!(
        "site={site}/kind={}/date={day}/batch-{id}.ndjson.zst",
        partition.kind.name()
    );
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        path
    } else {
        format!("{prefix}/{path}")
    }
}

/// Whether `site` may name a site in keys and object paths: 1–64 of `a-z 0-9 - _`, starting
/// with a letter or digit (no `/`, `=`, `:` or spaces to break a Hive path or a key).
pub fn site_name_is_valid(site: &str) -> bool {
    let bytes = site.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_')
}

/// The halves a batch refused as too large (413) is split into: its keys (sorted) cut in the
/// middle, the first half taking the odd one. `None` for a single member, which cannot be split
/// (it is parked as a dead letter instead).
pub fn split(keys: &[String]) -> Option<(Vec<String>, Vec<String>)> {
    if keys.len() < 2 {
        return None;
    }
    let mut keys = keys.to_vec();
    keys.sort();
    let right = keys.split_off(keys.len().div_ceil(2));
    Some((keys, right))
}

#[cfg(test)]
mod tests;
