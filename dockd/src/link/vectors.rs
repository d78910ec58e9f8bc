//! Test-only access to the shared protocol vectors (../shared/protocol-vectors); it must never
//! write there, the folder is the wearable team's reference.

use serde_json::Value;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/protocol-vectors/"
);

/// The raw bytes of a vector file.
pub(super) fn bytes(name: &str) -> Vec<u8> {
    let path = format!("{DIR}{name}");
    std::fs::read(&path).unwrap_or_else(|err| panic!("reading {path}: {err}"))
}

/// A JSON vector file.
pub(super) fn json(name: &str) -> Value {
    serde_json::from_slice(&bytes(name)).unwrap_or_else(|err| panic!("parsing {name}: {err}"))
}

/// Bytes from a hex string of the vector files.
pub(super) fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
