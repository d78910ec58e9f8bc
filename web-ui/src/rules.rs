//! The one rule for each identifier both the page and the daemon check: a wearable's serial, a
//! badge tag, an account name. It owns those rules as plain functions (the daemon calls them too,
//! since web-ui never depends on it); it must never hold a rule the daemon cannot share.

/// A wearable's serial is at most 16 bytes (its INFO field).
pub const SERIAL_MAX: usize = 16;
/// A badge tag is at most 16 bytes (the wearable stores 16).
pub const BADGE_MAX: usize = 16;
/// An account name is at most 64 characters.
pub const USER_NAME_MAX: usize = 64;

/// A wearable serial exactly as the wearable reports it: 1–16 printable ASCII characters, no
/// spaces (so it cannot be mistaken for another once trimmed).
pub fn is_serial(text: &str) -> bool {
    (1..=SERIAL_MAX).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// A badge tag as typed: trimmed, then 1–16 printable ASCII characters (spaces inside allowed).
/// `None` if it is not one.
pub fn badge(text: &str) -> Option<&str> {
    let text = text.trim();
    let printable = text.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    ((1..=BADGE_MAX).contains(&text.len()) && printable).then_some(text)
}

/// An account name: 1–64 of letters, digits, `.`, `_`, `-` and `@`.
pub fn is_user_name(name: &str) -> bool {
    (1..=USER_NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_is_one_to_sixteen_printable_ascii_characters_without_spaces() {
        assert!(is_serial("KW-000042"));
        assert!(is_serial(&"K".repeat(16)));
        for bad in ["", " KW-1", "KW 1", "KW-1\n", "Kü-1"] {
            assert!(!is_serial(bad), "{bad:?}");
        }
        assert!(
            !is_serial(&"K".repeat(17)),
            "the wearable has 16 bytes for it"
        );
    }

    #[test]
    fn a_badge_is_trimmed_and_one_to_sixteen_printable_ascii_characters() {
        assert_eq!(badge("  B-1001 "), Some("B-1001"));
        assert_eq!(badge("B 7"), Some("B 7"));
        for bad in ["", "   ", "B\t1", "Bä", &"B".repeat(17)] {
            assert_eq!(badge(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_account_name_is_up_to_64_letters_digits_and_a_little_punctuation() {
        assert!(is_user_name("first@site"));
        assert!(is_user_name(&"a".repeat(64)));
        for bad in ["", "a b", "a/b", "ä", &"a".repeat(65)] {
            assert!(!is_user_name(bad), "{bad:?}");
        }
    }
}
