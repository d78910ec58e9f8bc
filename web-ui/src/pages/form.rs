//! The fields of a url-encoded form a page posted: the one parser the form routes share. It must
//! never print a value (one may be a password) and never make a field up.

use std::fmt;

/// A url-encoded form's fields, in the order sent (the first of repeated names wins; unknown
/// names are ignored, among them the `csrf` field the site already checked). Its `Debug` prints
/// only the names.
pub(crate) struct FormFields(Vec<(String, String)>);

impl fmt::Debug for FormFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl FormFields {
    pub(crate) fn parse(bytes: &[u8]) -> FormFields {
        FormFields(
            form_urlencoded::parse(bytes)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The first value of field `name`, if sent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_value_wins_blanks_are_none_and_debug_shows_no_value() {
        let form = FormFields::parse(b"name=+Ada+&name=Bob&password=s3cret&empty=+");
        assert_eq!(form.get("name"), Some(" Ada "));
        assert_eq!(form.text("name"), Some("Ada"));
        assert_eq!(form.text("empty"), None);
        assert_eq!(form.get("missing"), None);
        let debug = format!("{form:?}");
        assert!(
            debug.contains("password") && !debug.contains("s3cret"),
            "{debug}"
        );
    }
}
