//! This build's release version, read from one marked place in the binary. It owns the answer to
//! "which dockd is this" for every layer (the CLI's `--version`, the page, the update's rollback
//! rule, backups, metrics). It must never be computed anywhere else: the tests make a "newer
//! release" of the very binary they test by rewriting this mark in a copy (the only way to have
//! two versions without building dockd twice), and every layer must then agree.

use crate::update::manifest::Version;

/// What precedes the version in the mark, `dockd-release-version:`, kept in two pieces so that
/// the code that searches for the mark does not hold a second copy of it.
const PREFIX_HEAD: &[u8] = b"dockd-release-";
const PREFIX_TAIL: &[u8] = b"version:";
const PREFIX_LEN: usize = PREFIX_HEAD.len() + PREFIX_TAIL.len();
/// The mark's length: the prefix, the version, NUL padding.
pub const MARK_LEN: usize = 48;

/// The mark, kept in the binary as it is (`#[used]`), read through an opaque reference so that no
/// reader is folded to a constant at build time.
#[used]
static MARK: [u8; MARK_LEN] = mark(env!("CARGO_PKG_VERSION").as_bytes());

const fn mark(version: &[u8]) -> [u8; MARK_LEN] {
    let mut out = [0u8; MARK_LEN];
    let mut i = 0;
    while i < PREFIX_HEAD.len() {
        out[i] = PREFIX_HEAD[i];
        i += 1;
    }
    let mut k = 0;
    while k < PREFIX_TAIL.len() {
        out[i] = PREFIX_TAIL[k];
        i += 1;
        k += 1;
    }
    let mut j = 0;
    while j < version.len() && i < MARK_LEN {
        out[i] = version[j];
        i += 1;
        j += 1;
    }
    out
}

/// The version text, e.g. `0.1.0`.
pub fn text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let mark: &[u8; MARK_LEN] = std::hint::black_box(&MARK);
        let rest = mark.get(PREFIX_LEN..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned()
    })
}

/// The version, parsed; a mark that does not parse counts as 0.0.0 (every release is newer).
pub fn current() -> Version {
    text().parse().unwrap_or(Version(0, 0, 0))
}

/// Rewrites the version mark in `binary`'s bytes (a copy of dockd) to `version`: how the tests
/// make a newer release. `None` when the bytes hold no mark, or hold it more than once.
pub fn rewrite_mark(binary: &[u8], version: &str) -> Option<Vec<u8>> {
    let at = find_mark(binary)?;
    let mut out = binary.to_vec();
    let new = mark_for(version)?;
    out.get_mut(at..at + MARK_LEN)?.copy_from_slice(&new);
    Some(out)
}

/// The version a binary's bytes carry in their mark.
pub fn read_mark(binary: &[u8]) -> Option<String> {
    let at = find_mark(binary)?;
    let rest = binary.get(at + PREFIX_LEN..at + MARK_LEN)?;
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
}

fn mark_for(version: &str) -> Option<[u8; MARK_LEN]> {
    (PREFIX_LEN + version.len() <= MARK_LEN).then(|| mark(version.as_bytes()))
}

/// The offset of the one mark in `binary`: the prefix, a version of digits and dots, NULs to the
/// mark's end.
fn find_mark(binary: &[u8]) -> Option<usize> {
    let is_mark = |at: usize| -> bool {
        let Some(window) = binary.get(at..at + MARK_LEN) else {
            return false;
        };
        let (head, rest) = window.split_at(PREFIX_HEAD.len());
        let (tail, version) = rest.split_at(PREFIX_TAIL.len());
        let end = version
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(version.len());
        let (text, padding) = version.split_at(end);
        head == PREFIX_HEAD
            && tail == PREFIX_TAIL
            && text.first().is_some_and(u8::is_ascii_digit)
            && text.iter().all(|b| b.is_ascii_digit() || *b == b'.')
            && padding.iter().all(|&b| b == 0)
    };
    let mut found = binary
        .windows(PREFIX_HEAD.len())
        .enumerate()
        .filter(|(i, w)| *w == PREFIX_HEAD && is_mark(*i))
        .map(|(i, _)| i);
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_packages_and_a_rewritten_mark_reads_back() {
        assert_eq!(text(), env!("CARGO_PKG_VERSION"));
        let mut fake = b"ELF....".to_vec();
        fake.extend_from_slice(&mark(b"0.1.0"));
        fake.extend_from_slice(b"....");
        let newer = rewrite_mark(&fake, "7.8.9").unwrap();
        assert_eq!(newer.len(), fake.len());
        assert_eq!(read_mark(&newer).as_deref(), Some("7.8.9"));
        assert!(rewrite_mark(b"no mark here", "1.0.0").is_none());
        let twice = [fake.clone(), fake].concat();
        assert!(read_mark(&twice).is_none(), "two marks: ambiguous");
    }
}
