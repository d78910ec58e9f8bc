//! Worker identity as the wearables carry it: the badge tag. It is personal data, so this module
//! owns the one type that holds it and guarantees it never prints; it must never offer a way to
//! format the tag for logs, the console or the web.

use std::fmt;

/// A worker's badge tag as a wearable reports it (16 ASCII bytes, NUL-padded).
///
/// **Privacy invariant:** `Debug` and `Display` print a redacted form; the raw bytes are only
/// reachable through [`WorkerTag::as_bytes`], which the store uses to persist it on the dock.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkerTag([u8; 16]);

impl WorkerTag {
    /// Wraps the raw 16 bytes of a tag. All-NUL means "unassigned": use [`WorkerTag::from_wire`].
    pub const fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The tag from its wire form, or `None` when the bytes are all NUL (no worker assigned).
    pub fn from_wire(bytes: [u8; 16]) -> Option<Self> {
        if bytes.iter().all(|&b| b == 0) {
            None
        } else {
            Some(Self(bytes))
        }
    }

    /// A tag from a short ASCII badge id (at most 16 bytes), NUL-padded. Used by emulators and
    /// tests; `None` if the text is empty, too long or not ASCII.
    pub fn from_ascii(text: &str) -> Option<Self> {
        let raw = text.as_bytes();
        if raw.is_empty() || raw.len() > 16 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 16];
        bytes[..raw.len()].copy_from_slice(raw);
        Some(Self(bytes))
    }

    /// The raw wire bytes. Only storage and the wire codec may call this.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl WorkerTag {
    /// The badge text (trailing NULs dropped, other bytes shown as `?`). Only for outputs that
    /// stay with the dock's operator, such as `dockd analyze`; never for logs, pages or uploads.
    pub fn badge_text(&self) -> String {
        self.0
            .iter()
            .take_while(|&&b| b != 0)
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '?'
                }
            })
            .collect()
    }
}

impl fmt::Debug for WorkerTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WorkerTag(<redacted>)")
    }
}

impl fmt::Display for WorkerTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<worker>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_never_prints_its_bytes() {
        let tag = WorkerTag::from_ascii("B-1001").unwrap();
        assert!(!format!("{tag:?}").contains("1001"));
        assert!(!format!("{tag}").contains("1001"));
        assert!(!format!("{:?}", Some(tag)).contains("1001"));
    }

    #[test]
    fn an_all_nul_tag_on_the_wire_means_unassigned() {
        assert_eq!(WorkerTag::from_wire([0; 16]), None);
        assert_eq!(
            WorkerTag::from_ascii("B-1001").unwrap().badge_text(),
            "B-1001"
        );
        assert!(WorkerTag::from_wire(*WorkerTag::from_ascii("X").unwrap().as_bytes()).is_some());
    }
}
