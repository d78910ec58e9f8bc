//! The one percent-encoder for the addresses the pages build: query values and path segments
//! from names people typed (teams, tasks, user names). It must never let a value add a
//! parameter, a segment, a fragment or a query to an address.

use std::fmt::Write as _;

/// `value` percent-encoded: everything but RFC 3986 unreserved characters, so it is safe as a
/// query value or as one path segment.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `path?k=v&…` from the pairs whose value is present and not empty. The result is a URL: escape
/// it with `Escaped` before putting it in an attribute.
pub(crate) fn url(path: &str, pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = path.to_owned();
    let mut first = true;
    for (key, value) in pairs {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(key);
            out.push('=');
            out.push_str(&percent_encode(value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_percent_encoded_so_a_name_cannot_add_parameters_or_segments() {
        assert_eq!(percent_encode("Night & day=1"), "Night%20%26%20day%3D1");
        assert_eq!(percent_encode("Süd"), "S%C3%BCd");
        assert_eq!(percent_encode("a/b?c#d"), "a%2Fb%3Fc%23d");
        assert_eq!(percent_encode("ada.l_o-v~e"), "ada.l_o-v~e");
        assert_eq!(
            url(
                "/overview",
                &[
                    ("day", Some("2025-03-03")),
                    ("team", None),
                    ("task", Some(""))
                ]
            ),
            "/overview?day=2025-03-03"
        );
        assert_eq!(
            url("/overview", &[("team", Some("A")), ("sort", Some("name"))]),
            "/overview?team=A&sort=name"
        );
    }
}
