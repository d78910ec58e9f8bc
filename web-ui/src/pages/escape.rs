//! HTML escaping for every piece of text the pages interpolate. It must never let a character
//! through that could open a tag, an entity or leave a quoted attribute.

use std::fmt;

/// Text made safe for HTML element content and for double- or single-quoted attribute values.
///
/// Serials and messages come from devices and the daemon, so the page treats all of them as
/// hostile: everything interpolated goes through this, with no "trusted" bypass.
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        Escaped(text).to_string()
    }

    #[test]
    fn markup_characters_become_entities() {
        assert_eq!(
            escape(r#"<script>alert("x" + 'y') && 1</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;) &amp;&amp; 1&lt;/script&gt;"
        );
    }

    #[test]
    fn plain_text_and_non_ascii_pass_through_unchanged() {
        assert_eq!(escape("KW-00123"), "KW-00123");
        assert_eq!(escape("Dock Süd · 3 °C"), "Dock Süd · 3 °C");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn an_existing_entity_is_escaped_again_rather_than_trusted() {
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }
}
