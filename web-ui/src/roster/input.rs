//! Roster input: what a change request may carry (a JSON body or the page's url-encoded form),
//! read within a size limit and checked before anything reaches the daemon, and the refusals in
//! plain words. It owns the rules for badge tags, display names, tasks, teams and serials; it must
//! never put a badge tag or a name into a log, a refusal's fixed words or the audit trail.

use std::borrow::Cow;

use axum::{
    body::{Body, Bytes, to_bytes},
    http::{
        HeaderMap, StatusCode,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
};
use serde::Deserialize;

use super::{PAGE_PATH, RosterChange, WorkRestrictionInput};
use crate::pages::{Failure, FormFields as Fields};

/// The largest request body a change may have (a form or JSON body is a few hundred bytes).
pub(super) const BODY_LIMIT: usize = 16 * 1024;
/// Badge tags are 1–16 printable ASCII characters (the wearable stores 16 bytes).
pub(super) const MAX_BADGE: usize = crate::rules::BADGE_MAX;
/// Longest display name, in characters.
pub(super) const MAX_NAME: usize = crate::rules::DISPLAY_NAME_MAX;
/// Longest team name, in characters.
pub(super) const MAX_TEAM: usize = crate::rules::TEAM_MAX;

/// How a change request was sent, and so how it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `application/json`: answered with JSON.
    Json,
    /// `application/x-www-form-urlencoded` from the page: answered with a redirect to the page.
    Form,
}

/// Why a roster request got nothing or changed nothing (answered as a [`Failure`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Problem {
    /// No signed-in user with a role that sees worker data.
    Forbidden,
    /// A worker-data role, but the request is for administrators only (a worker's deletion).
    AdminsOnly,
    /// The worker id in the address is not a worker id.
    NoSuchWorker,
    /// The work restriction id in the address is not one.
    NoSuchWorkRestriction,
    /// Neither JSON nor a form.
    UnsupportedType,
    /// The body is over [`BODY_LIMIT`] (or could not be read whole).
    TooLarge,
    /// A field failed a check: fixed words, never an echo of the input.
    Invalid(&'static str),
    /// The JSON did not parse into this request's fields (serde's words).
    BadJson(String),
    /// The daemon refused the change (its words).
    Refused(String),
    /// The daemon's answer never came (its call panicked).
    Unavailable,
}

pub(super) const BADGE_WORDS: &str = "The badge tag must be 1 to 16 characters as printed on the \
     badge: letters, digits, spaces or ASCII punctuation.";
pub(super) const NAME_TOO_LONG: &str = crate::rules::DISPLAY_NAME_LONG_WORDS;
pub(super) const NAME_CONTROL: &str = crate::rules::DISPLAY_NAME_CONTROL_WORDS;
pub(super) const TEAM_TOO_LONG: &str = crate::rules::TEAM_LONG_WORDS;
pub(super) const TEAM_CONTROL: &str = crate::rules::TEAM_CONTROL_WORDS;
pub(super) const TASK_WORDS: &str = "Choose one of the configured tasks, or no task.";
pub(super) const SERIAL_WORDS: &str = "That is not a wearable's serial number.";
pub(super) const WORKER_WORDS: &str = "Choose a worker from the list, or no one.";
pub(super) const OPT_OUT_WORDS: &str =
    "Say whether the worker opts out (true) or opts back in (false).";
pub(super) const DELETE_WORDS: &str = "Nothing was deleted: tick the box that confirms the \
     worker's data is to be deleted for good.";

/// Every fixed refusal of a field, with the code the page's address carries for it after a
/// form (`/roster?problem=badge`): an address names a problem, never words, so a link cannot
/// make the page say what its sender wants.
pub(super) const PROBLEM_CODES: [(&str, &str); 15] = [
    ("badge", BADGE_WORDS),
    ("name-length", NAME_TOO_LONG),
    ("name-characters", NAME_CONTROL),
    ("team-length", TEAM_TOO_LONG),
    ("team-characters", TEAM_CONTROL),
    ("task", TASK_WORDS),
    ("serial", SERIAL_WORDS),
    ("worker", WORKER_WORDS),
    ("opt-out", OPT_OUT_WORDS),
    ("delete-confirm", DELETE_WORDS),
    (
        "work-restriction-per-hour",
        crate::rules::WORK_RESTRICTION_PER_HOUR_WORDS,
    ),
    (
        "work-restriction-load",
        crate::rules::WORK_RESTRICTION_LOAD_WORDS,
    ),
    (
        "work-restriction-day",
        crate::rules::WORK_RESTRICTION_DAY_WORDS,
    ),
    (
        "work-restriction-until",
        crate::rules::WORK_RESTRICTION_UNTIL_WORDS,
    ),
    (
        "work-restriction-terms",
        crate::rules::WORK_RESTRICTION_TERMS_WORDS,
    ),
];

/// What the page says for a problem code it does not know.
pub(super) const UNKNOWN_PROBLEM: &str =
    "The last change was not saved. Check the form and try again.";

impl Problem {
    /// The answer: status, title and words, on a page leading back to the roster or as JSON.
    pub(super) fn failure(&self) -> Failure {
        let (status, title, words): (_, _, Cow<'static, str>) = match self {
            Problem::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Only administrators and supervisors can see or change the roster.".into(),
            ),
            Problem::AdminsOnly => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Only administrators can delete a worker's data.".into(),
            ),
            Problem::NoSuchWorker => (
                StatusCode::NOT_FOUND,
                "Worker not found",
                "There is no worker at this address.".into(),
            ),
            Problem::NoSuchWorkRestriction => (
                StatusCode::NOT_FOUND,
                "Work restriction not found",
                "There is no work restriction at this address.".into(),
            ),
            Problem::UnsupportedType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Not a form",
                "Send the change as JSON (application/json) or as a form \
                 (application/x-www-form-urlencoded)."
                    .into(),
            ),
            Problem::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much to read",
                "The request is too large: a roster change is at most 16 KiB.".into(),
            ),
            Problem::Invalid(words) => (StatusCode::BAD_REQUEST, "Not saved", (*words).into()),
            Problem::BadJson(detail) => (
                StatusCode::BAD_REQUEST,
                "Not saved",
                format!("The body is not the JSON this request needs: {detail}.").into(),
            ),
            Problem::Refused(words) => (StatusCode::BAD_REQUEST, "Not saved", words.clone().into()),
            Problem::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Not available",
                "The roster could not be read or changed just now. Please try again in a minute."
                    .into(),
            ),
        };
        Failure::new(status, title, words).back((PAGE_PATH, "Back to the roster"))
    }

    /// The code a page's address carries for this problem, if it is a field's fixed refusal.
    pub(super) fn code(&self) -> Option<&'static str> {
        match self {
            Problem::Invalid(words) => PROBLEM_CODES
                .iter()
                .find(|(_, fixed)| fixed == words)
                .map(|(code, _)| *code),
            _ => None,
        }
    }
}

/// The fixed words for a problem code from an address; [`UNKNOWN_PROBLEM`] for any other text.
pub(super) fn problem_words(code: &str) -> &'static str {
    PROBLEM_CODES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or(UNKNOWN_PROBLEM, |(_, words)| words)
}

/// The request's format from its `Content-Type` (parameters such as `charset` ignored).
pub(super) fn format(headers: &HeaderMap) -> Option<Format> {
    let mime = headers
        .get(CONTENT_TYPE)?
        .to_str()
        .ok()?
        .split(';')
        .next()?
        .trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Some(Format::Json)
    } else if mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Some(Format::Form)
    } else {
        None
    }
}

/// The whole body, or [`Problem::TooLarge`] once it passes [`BODY_LIMIT`] (an announced length
/// over the limit is refused before reading).
pub(super) async fn read(headers: &HeaderMap, body: Body) -> Result<Bytes, Problem> {
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if announced.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(Problem::TooLarge);
    }
    to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| Problem::TooLarge)
}

/// A worker id from an address: canonical decimal only ("012" or "+12" would be a second address
/// for the same worker).
pub(super) fn worker_id(text: &str) -> Result<i64, Problem> {
    text.parse::<i64>()
        .ok()
        .filter(|id| id.to_string() == text)
        .ok_or(Problem::NoSuchWorker)
}

fn json<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|error| Problem::BadJson(error.to_string()))
}

/// `POST /api/v1/roster/wearables` as JSON. `worker` must be present: an id or `null`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignJson {
    serial: String,
    worker: serde_json::Value,
}

/// `POST /api/v1/roster/workers` as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddJson {
    badge: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

/// `POST /api/v1/roster/workers/{id}` as JSON: a field left out, `null` or empty is cleared.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditJson {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    team: Option<String>,
}

/// `POST /api/v1/roster/workers/{id}/opt-out` as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptOutJson {
    opted_out: bool,
}

/// `POST /api/v1/roster/workers/{id}/delete` as JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteJson {
    confirm: bool,
}

/// Whether a deletion is confirmed: `{confirm: true}`, or the form's ticked box (`confirm=yes`).
pub(super) fn delete_confirmed(format: Format, bytes: &[u8]) -> Result<(), Problem> {
    let confirmed = match format {
        Format::Json => json::<DeleteJson>(bytes)?.confirm,
        Format::Form => Fields::parse(bytes).get("confirm").map(str::trim) == Some("yes"),
    };
    if confirmed {
        Ok(())
    } else {
        Err(Problem::Invalid(DELETE_WORDS))
    }
}

/// Assign a wearable: `{serial, worker}`, or the form's `serial` and `worker` ("" is no one).
pub(super) fn assign(format: Format, bytes: &[u8]) -> Result<RosterChange, Problem> {
    let (serial, worker) = match format {
        Format::Json => {
            let body: AssignJson = json(bytes)?;
            let worker = match body.worker {
                serde_json::Value::Null => None,
                value => Some(value.as_i64().ok_or(Problem::Invalid(WORKER_WORDS))?),
            };
            (body.serial, worker)
        }
        Format::Form => {
            let fields = Fields::parse(bytes);
            let worker = match fields.get("worker").map(str::trim).unwrap_or("") {
                "" => None,
                text => Some(worker_id(text).map_err(|_| Problem::Invalid(WORKER_WORDS))?),
            };
            (fields.get("serial").unwrap_or("").to_owned(), worker)
        }
    };
    Ok(RosterChange::AssignWearable {
        serial: serial_text(serial)?,
        worker,
    })
}

/// Add a worker: `{badge, display_name?, task?, team?}`.
pub(super) fn add(format: Format, bytes: &[u8]) -> Result<RosterChange, Problem> {
    let body = match format {
        Format::Json => json::<AddJson>(bytes)?,
        Format::Form => {
            let fields = Fields::parse(bytes);
            let owned = |name: &str| fields.get(name).map(str::to_owned);
            AddJson {
                badge: owned("badge").unwrap_or_default(),
                display_name: owned("display_name"),
                task: owned("task"),
                team: owned("team"),
            }
        }
    };
    Ok(RosterChange::AddWorker {
        badge: badge(&body.badge)?,
        display_name: display_name(body.display_name.as_deref())?,
        task: task(body.task.as_deref())?,
        team: team(body.team.as_deref())?,
    })
}

/// Change worker `id`'s details: `{display_name?, task?, team?}` (missing, null or empty clears).
pub(super) fn edit(id: i64, format: Format, bytes: &[u8]) -> Result<RosterChange, Problem> {
    let body = match format {
        Format::Json => json::<EditJson>(bytes)?,
        Format::Form => {
            let fields = Fields::parse(bytes);
            let owned = |name: &str| fields.get(name).map(str::to_owned);
            EditJson {
                display_name: owned("display_name"),
                task: owned("task"),
                team: owned("team"),
            }
        }
    };
    Ok(RosterChange::EditWorker {
        id,
        display_name: display_name(body.display_name.as_deref())?,
        task: task(body.task.as_deref())?,
        team: team(body.team.as_deref())?,
    })
}

/// Opt worker `id` out or back in: `{opted_out: bool}`, or the form's `opted_out=true|false`.
pub(super) fn opt_out(id: i64, format: Format, bytes: &[u8]) -> Result<RosterChange, Problem> {
    let opted_out = match format {
        Format::Json => json::<OptOutJson>(bytes)?.opted_out,
        Format::Form => match Fields::parse(bytes).get("opted_out").map(str::trim) {
            Some("true") => true,
            Some("false") => false,
            _ => return Err(Problem::Invalid(OPT_OUT_WORDS)),
        },
    };
    Ok(RosterChange::OptOut { id, opted_out })
}

/// A work restriction as JSON: `until_day` required, every other field optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkRestrictionJson {
    #[serde(default)]
    from_day: Option<String>,
    until_day: String,
    #[serde(default)]
    no_deep_bends: bool,
    #[serde(default)]
    max_lifts_per_hour: Option<u32>,
    #[serde(default)]
    max_bends_per_hour: Option<u32>,
    #[serde(default)]
    max_load_kg: Option<f64>,
}

/// Record a work restriction for worker `worker`.
pub(super) fn record_work_restriction(
    worker: i64,
    format: Format,
    bytes: &[u8],
) -> Result<RosterChange, Problem> {
    Ok(RosterChange::RecordWorkRestriction {
        worker,
        work_restriction: work_restriction(format, bytes)?,
    })
}

/// Replace work restriction `id`'s days and limits.
pub(super) fn edit_work_restriction(
    id: i64,
    format: Format,
    bytes: &[u8],
) -> Result<RosterChange, Problem> {
    Ok(RosterChange::EditWorkRestriction {
        id,
        work_restriction: work_restriction(format, bytes)?,
    })
}

/// A work restriction's days and limits, from JSON or the page's form (`no_deep_bends=on` when
/// ticked; empty number fields are no limit; an empty `from_day` is today), each through its
/// rule in `crate::rules`.
fn work_restriction(format: Format, bytes: &[u8]) -> Result<WorkRestrictionInput, Problem> {
    use crate::rules;
    let body = match format {
        Format::Json => json::<WorkRestrictionJson>(bytes)?,
        Format::Form => {
            let fields = Fields::parse(bytes);
            let text = |name: &str| fields.get(name).unwrap_or("").to_owned();
            WorkRestrictionJson {
                from_day: Some(text("from_day")),
                until_day: text("until_day"),
                no_deep_bends: matches!(fields.get("no_deep_bends"), Some("on" | "true")),
                max_lifts_per_hour: rules::work_restriction_per_hour_text(&text(
                    "max_lifts_per_hour",
                ))
                .map_err(Problem::Invalid)?,
                max_bends_per_hour: rules::work_restriction_per_hour_text(&text(
                    "max_bends_per_hour",
                ))
                .map_err(Problem::Invalid)?,
                max_load_kg: rules::work_restriction_load_kg_text(&text("max_load_kg"))
                    .map_err(Problem::Invalid)?,
            }
        }
    };
    let per_hour = |limit: Option<u32>| {
        limit
            .map(rules::work_restriction_per_hour)
            .transpose()
            .map_err(Problem::Invalid)
    };
    let max_lifts_per_hour = per_hour(body.max_lifts_per_hour)?;
    let max_bends_per_hour = per_hour(body.max_bends_per_hour)?;
    let max_load_kg = body
        .max_load_kg
        .map(rules::work_restriction_load_kg)
        .transpose()
        .map_err(Problem::Invalid)?;
    let from_day = body
        .from_day
        .filter(|day| !day.trim().is_empty())
        .map(|day| {
            rules::work_restriction_day(&day)
                .map(str::to_owned)
                .map_err(Problem::Invalid)
        })
        .transpose()?;
    let until_day = match &from_day {
        Some(from) => rules::work_restriction_days(from, &body.until_day).map(|(_, until)| until),
        None => rules::work_restriction_day(&body.until_day)
            .map_err(|_| rules::WORK_RESTRICTION_UNTIL_WORDS),
    }
    .map_err(Problem::Invalid)?
    .to_owned();
    if !body.no_deep_bends
        && max_lifts_per_hour.is_none()
        && max_bends_per_hour.is_none()
        && max_load_kg.is_none()
    {
        return Err(Problem::Invalid(rules::WORK_RESTRICTION_TERMS_WORDS));
    }
    Ok(WorkRestrictionInput {
        from_day,
        until_day,
        no_deep_bends: body.no_deep_bends,
        max_lifts_per_hour,
        max_bends_per_hour,
        max_load_kg,
    })
}

/// A badge tag: trimmed, 1–16 printable ASCII characters (spaces inside allowed).
pub(super) fn badge(text: &str) -> Result<String, Problem> {
    crate::rules::badge(text)
        .map(str::to_owned)
        .ok_or(Problem::Invalid(BADGE_WORDS))
}

/// A display name: [`crate::rules::display_name`].
pub(super) fn display_name(text: Option<&str>) -> Result<Option<String>, Problem> {
    crate::rules::optional(text, crate::rules::display_name).map_err(Problem::Invalid)
}

/// A team: [`crate::rules::team`].
pub(super) fn team(text: Option<&str>) -> Result<Option<String>, Problem> {
    crate::rules::optional(text, crate::rules::team).map_err(Problem::Invalid)
}

/// A task name: trimmed, empty is none, else [`crate::rules::task_name`]; the daemon checks it
/// is a configured task.
pub(super) fn task(text: Option<&str>) -> Result<Option<String>, Problem> {
    let Some(text) = text.map(str::trim).filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    crate::rules::task_name(text).map_err(|_| Problem::Invalid(TASK_WORDS))?;
    Ok(Some(text.to_owned()))
}

/// A serial as the page sent it back (not trimmed: it must match the wearable's exactly).
fn serial_text(text: String) -> Result<String, Problem> {
    if !crate::rules::is_serial(&text) {
        return Err(Problem::Invalid(SERIAL_WORDS));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_is_trimmed_and_must_be_one_to_sixteen_printable_ascii_characters() {
        assert_eq!(badge("  B-0042 ").unwrap(), "B-0042");
        assert_eq!(badge("AB CD").unwrap(), "AB CD");
        assert_eq!(badge(&"x".repeat(16)).unwrap(), "x".repeat(16));
        for bad in ["", "   ", &"x".repeat(17), "Bädge", "AB\tCD", "AB\u{7f}"] {
            assert_eq!(badge(bad), Err(Problem::Invalid(BADGE_WORDS)), "{bad:?}");
        }
    }

    #[test]
    fn empty_text_means_no_value_and_limits_count_characters_not_bytes() {
        assert_eq!(display_name(None).unwrap(), None);
        assert_eq!(display_name(Some("  ")).unwrap(), None);
        assert_eq!(
            display_name(Some(" Anna K. ")).unwrap().as_deref(),
            Some("Anna K.")
        );
        let eighty_umlauts = "ä".repeat(80);
        assert!(display_name(Some(&eighty_umlauts)).unwrap().is_some());
        assert_eq!(
            display_name(Some(&"ä".repeat(81))),
            Err(Problem::Invalid(NAME_TOO_LONG))
        );
        assert_eq!(
            team(Some(&"t".repeat(41))),
            Err(Problem::Invalid(TEAM_TOO_LONG))
        );
        assert_eq!(
            team(Some("Night shift")).unwrap().as_deref(),
            Some("Night shift")
        );
    }

    #[test]
    fn control_characters_and_direction_overrides_are_refused() {
        for bad in ["Anna\nK.", "Anna\u{0}", "An\u{85}na", "\u{202E}annA"] {
            assert_eq!(
                display_name(Some(bad)),
                Err(Problem::Invalid(NAME_CONTROL)),
                "{bad:?}"
            );
        }
        assert_eq!(team(Some("A\rB")), Err(Problem::Invalid(TEAM_CONTROL)));
    }

    #[test]
    fn only_canonical_decimal_ids_are_worker_ids() {
        assert_eq!(worker_id("12"), Ok(12));
        for bad in ["012", "+12", "1e3", "", "twelve", "99999999999999999999"] {
            assert_eq!(worker_id(bad), Err(Problem::NoSuchWorker), "{bad:?}");
        }
    }

    #[test]
    fn the_content_type_decides_the_format() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, value.parse().unwrap());
            format(&headers)
        };
        assert_eq!(with("application/json"), Some(Format::Json));
        assert_eq!(with("Application/JSON; charset=utf-8"), Some(Format::Json));
        assert_eq!(
            with("application/x-www-form-urlencoded"),
            Some(Format::Form)
        );
        assert_eq!(with("text/plain"), None);
        assert_eq!(with("multipart/form-data; boundary=x"), None);
        assert_eq!(format(&HeaderMap::new()), None);
    }

    #[test]
    fn a_forms_worker_field_is_an_id_or_no_one() {
        assert_eq!(
            assign(Format::Form, b"csrf=t&serial=WR-1&worker=").unwrap(),
            RosterChange::AssignWearable {
                serial: "WR-1".to_owned(),
                worker: None
            }
        );
        assert_eq!(
            assign(Format::Form, b"serial=WR-1&worker=x"),
            Err(Problem::Invalid(WORKER_WORDS))
        );
        assert_eq!(
            assign(Format::Json, br#"{"serial":"WR-1","worker":"12"}"#),
            Err(Problem::Invalid(WORKER_WORDS))
        );
        assert!(matches!(
            assign(Format::Json, br#"{"serial":"WR-1"}"#),
            Err(Problem::BadJson(_))
        ));
        assert_eq!(
            assign(Format::Form, b"worker=3"),
            Err(Problem::Invalid(SERIAL_WORDS))
        );
    }

    #[test]
    fn a_serial_longer_than_a_wearables_sixteen_bytes_is_refused_by_the_daemons_own_rule() {
        let serial = "K".repeat(17);
        assert_eq!(
            assign(Format::Form, format!("serial={serial}&worker=").as_bytes()),
            Err(Problem::Invalid(SERIAL_WORDS))
        );
        let serial = "K".repeat(16);
        assert!(assign(Format::Form, format!("serial={serial}&worker=").as_bytes()).is_ok());
    }

    #[test]
    fn unknown_json_fields_are_refused_rather_than_silently_ignored() {
        assert!(matches!(
            edit(3, Format::Json, br#"{"name":"Anna"}"#),
            Err(Problem::BadJson(detail)) if detail.contains("unknown field")
        ));
    }

    #[test]
    fn every_fixed_refusal_has_one_code_and_unknown_codes_get_fixed_words() {
        for (code, words) in PROBLEM_CODES {
            assert_eq!(Problem::Invalid(words).code(), Some(code));
            assert_eq!(problem_words(code), words);
            assert_eq!(PROBLEM_CODES.iter().filter(|(c, _)| *c == code).count(), 1);
        }
        assert_eq!(problem_words("<script>Buy now"), UNKNOWN_PROBLEM);
        assert_eq!(Problem::Refused("words".to_owned()).code(), None);
    }
}
