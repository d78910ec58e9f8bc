//! Test support for the link protocol: the protocol vectors in `tests/data/protocol-vectors` (a
//! byte-identical copy of the wearable team's `../shared/protocol-vectors`, checked by
//! `tests/e2e/tidy.rs`). It must never write there.

use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/data/protocol-vectors/"
);

/// The raw bytes of a vector file.
pub(crate) fn vector_bytes(name: &str) -> Vec<u8> {
    let path = format!("{DIR}{name}");
    std::fs::read(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"))
}

/// A JSON vector file.
pub(super) fn vector_json(name: &str) -> Value {
    serde_json::from_slice(&vector_bytes(name))
        .unwrap_or_else(|err| panic!("parsing {name}: {err}"))
}

/// Bytes from a hex string of the vector files.
pub(super) fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
