//! Tests of the backup format: round trips of every size, a wrong passphrase, every changed byte,
//! cut-off and reordered chunks.

use super::*;

/// A cheap cost, for tests only.
const CHEAP: Cost = Cost {
    m_kib: 64,
    t: 1,
    p: 1,
};

fn sealed(payload: &[u8], passphrase: &str) -> Vec<u8> {
    let mut sealer = Sealer::with_cost(Vec::new(), passphrase.as_bytes(), CHEAP).unwrap();
    sealer.write_all(payload).unwrap();
    sealer.finish().unwrap()
}

fn opened(bytes: &[u8], passphrase: &str) -> Result<Vec<u8>, FormatError> {
    let mut opener = Opener::new(bytes, passphrase.as_bytes())?;
    let mut out = Vec::new();
    opener.read_to_end(&mut out).map_err(format_error)?;
    Ok(out)
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_payload_of_any_size_reads_back_as_itself() {
    for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 5] {
        let data = payload(len);
        let bytes = sealed(&data, "a long passphrase here");
        assert_eq!(
            opened(&bytes, "a long passphrase here").unwrap(),
            data,
            "{len}"
        );
    }
}

#[test]
fn a_wrong_passphrase_is_told_apart_from_damage() {
    let bytes = sealed(&payload(100), "the right passphrase");
    assert!(matches!(
        opened(&bytes, "the wrong passphrase"),
        Err(FormatError::WrongPassphrase)
    ));
    assert!(matches!(
        opened(b"PK\x03\x04 a zip file", "x"),
        Err(FormatError::NotABackup)
    ));
}

#[test]
fn every_changed_byte_is_refused_before_any_of_its_chunk_is_returned() {
    let data = payload(CHUNK + 300);
    let bytes = sealed(&data, "pass phrase one");
    // Every byte of the header and the first and last records' edges, and a sample between.
    let mut positions: Vec<usize> = (0..HEADER + 8).collect();
    positions.extend((HEADER..bytes.len()).step_by(9973));
    positions.extend(bytes.len() - 40..bytes.len());
    for at in positions {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        let result = opened(&bad, "pass phrase one");
        assert!(result.is_err(), "a flipped bit at {at} was accepted");
    }
}

#[test]
fn a_cut_off_backup_or_bytes_after_its_end_are_refused() {
    let data = payload(2 * CHUNK + 10);
    let bytes = sealed(&data, "pass phrase two");
    let record = 4 + CHUNK + TAG;
    // Cut at a chunk boundary: every chunk present authenticates, but the last is missing.
    for cut in [
        HEADER,
        HEADER + record,
        HEADER + 2 * record,
        bytes.len() - 1,
        HEADER + 3,
    ] {
        let result = opened(&bytes[..cut], "pass phrase two");
        assert!(
            matches!(result, Err(FormatError::Truncated(_))),
            "cut at {cut}: {result:?}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        opened(&longer, "pass phrase two"),
        Err(FormatError::Damaged(_))
    ));
    // Two chunks swapped.
    let mut swapped = bytes.clone();
    let (a, b) = (HEADER, HEADER + record);
    let first = bytes[a..b].to_vec();
    swapped[a..b].copy_from_slice(&bytes[b..b + record]);
    swapped[b..b + record].copy_from_slice(&first);
    assert!(matches!(
        opened(&swapped, "pass phrase two"),
        Err(FormatError::Damaged(_))
    ));
}
