//! The one rule for each field both the page and the daemon check: a wearable's serial, a badge
//! tag, a user name, a password, a task name, a display name, a team, a work restriction's limits
//! and days. It owns those rules and
//! their refusals in plain words as plain functions (the daemon, its config loader and its command
//! line call them too, since web-ui never depends on dockd); it must never hold a rule the daemon
//! cannot share, nor put the checked text into a refusal. The silent baseline's days are one
//! of those fields too.

/// A wearable's serial is at most 16 bytes (its INFO field).
pub const SERIAL_MAX: usize = 16;
/// A badge tag is at most 16 bytes (the wearable stores 16).
pub const BADGE_MAX: usize = 16;
/// A new user name is at most 32 characters.
pub const USER_NAME_MAX: usize = 32;
/// Accounts made before the rule above (by `dockd user add`) may have names up to 64 characters.
pub const STORED_USER_NAME_MAX: usize = 64;
/// The shortest password, in characters.
pub const PASSWORD_MIN: usize = 12;
/// The longest password, in characters.
pub const PASSWORD_MAX: usize = 256;
/// The longest task name, in characters.
pub const TASK_NAME_MAX: usize = 80;
/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 80;
/// The longest team name, in characters.
pub const TEAM_MAX: usize = 40;

/// The longest silent baseline, days (Soter keeps a worker's first day silent; four weeks is the
/// nuisance figures' window, so a longer baseline would end with nothing new measured).
pub const BASELINE_DAYS_MAX: u32 = 28;

/// Why a silent baseline is refused.
pub const BASELINE_DAYS_WORDS: &str =
    "The silent baseline is a whole number of days from 0 (off) to 28.";

/// Why a new user name is refused.
pub const USER_NAME_WORDS: &str =
    "A user name is 1 to 32 characters: letters, digits, dot, underscore, hyphen or @.";
/// Why a new password is refused as too short.
pub const PASSWORD_SHORT_WORDS: &str = "The password is too short: use at least 12 characters.";
/// Why a new password is refused as too long.
pub const PASSWORD_LONG_WORDS: &str = "The password is too long: use at most 256 characters.";
/// Why a task name is refused.
pub const TASK_NAME_WORDS: &str =
    "A task name is 1 to 80 characters, without line breaks or spaces at either end.";
/// Why a display name is refused as too long.
pub const DISPLAY_NAME_LONG_WORDS: &str = "The display name can be at most 80 characters long.";
/// Why a display name is refused for what it contains.
pub const DISPLAY_NAME_CONTROL_WORDS: &str =
    "The display name cannot contain line breaks, tabs or other control characters.";
/// Why a team is refused as too long.
pub const TEAM_LONG_WORDS: &str = "The team can be at most 40 characters long.";
/// Why a team is refused for what it contains.
pub const TEAM_CONTROL_WORDS: &str =
    "The team cannot contain line breaks, tabs or other control characters.";

/// The highest per-hour limit a work restriction may set (lifts or bends an hour).
pub const WORK_RESTRICTION_PER_HOUR_MAX: u32 = 1000;
/// The highest load limit a work restriction may set, kg.
pub const WORK_RESTRICTION_LOAD_MAX_KG: f64 = 100.0;
/// Why a work restriction's per-hour limit is refused.
pub const WORK_RESTRICTION_PER_HOUR_WORDS: &str =
    "A limit per hour is a whole number from 0 to 1000, or empty for no limit.";
/// Why a work restriction's load limit is refused.
pub const WORK_RESTRICTION_LOAD_WORDS: &str = "A load limit is a number of kilograms from 0 to 100 (at most one decimal), or empty for no limit.";
/// Why a work restriction's day is refused.
pub const WORK_RESTRICTION_DAY_WORDS: &str =
    "A day is a date written as year-month-day, for example 2025-03-03.";
/// Why a work restriction's end is refused.
pub const WORK_RESTRICTION_UNTIL_WORDS: &str =
    "A work restriction needs an end date, on or after its start date.";
/// Why a work restriction that limits nothing is refused.
pub const WORK_RESTRICTION_TERMS_WORDS: &str =
    "Choose at least one limit: no deep bends, lifts or bends per hour, or a load.";

/// A work restriction's limit of lifts or bends an hour: 0–1000.
pub fn work_restriction_per_hour(limit: u32) -> Result<u32, &'static str> {
    if limit <= WORK_RESTRICTION_PER_HOUR_MAX {
        Ok(limit)
    } else {
        Err(WORK_RESTRICTION_PER_HOUR_WORDS)
    }
}

/// A per-hour limit as typed: trimmed, empty is none, else digits through
/// [`work_restriction_per_hour`].
pub fn work_restriction_per_hour_text(text: &str) -> Result<Option<u32>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > 4 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WORK_RESTRICTION_PER_HOUR_WORDS);
    }
    let limit = text.parse().map_err(|_| WORK_RESTRICTION_PER_HOUR_WORDS)?;
    work_restriction_per_hour(limit).map(Some)
}

/// A work restriction's load limit: 0–100 kg, a finite number with at most one decimal.
pub fn work_restriction_load_kg(kg: f64) -> Result<f64, &'static str> {
    let tenths = kg * 10.0;
    if kg.is_finite()
        && (0.0..=WORK_RESTRICTION_LOAD_MAX_KG).contains(&kg)
        && (tenths - tenths.round()).abs() < 1e-9
    {
        Ok(kg)
    } else {
        Err(WORK_RESTRICTION_LOAD_WORDS)
    }
}

/// A load limit as typed: trimmed, empty is none, else a plain decimal through
/// [`work_restriction_load_kg`] ("12.5"; no signs, exponents or words such as "inf").
pub fn work_restriction_load_kg_text(text: &str) -> Result<Option<f64>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let plain = text.len() <= 6
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1;
    if !plain {
        return Err(WORK_RESTRICTION_LOAD_WORDS);
    }
    let kg = text.parse().map_err(|_| WORK_RESTRICTION_LOAD_WORDS)?;
    work_restriction_load_kg(kg).map(Some)
}

/// A work restriction's day: `YYYY-MM-DD`, a real calendar date in the years 2000–2099.
pub fn work_restriction_day(text: &str) -> Result<&str, &'static str> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(WORK_RESTRICTION_DAY_WORDS);
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if (2000..=2099).contains(&year) && (1..=days_in_month).contains(&day) {
        Ok(text)
    } else {
        Err(WORK_RESTRICTION_DAY_WORDS)
    }
}

/// A work restriction's span: both days through [`work_restriction_day`], the end on or after
/// the start (days in this form sort as text).
pub fn work_restriction_days<'a>(
    from: &'a str,
    until: &'a str,
) -> Result<(&'a str, &'a str), &'static str> {
    let from = work_restriction_day(from)?;
    let until = work_restriction_day(until).map_err(|_| WORK_RESTRICTION_UNTIL_WORDS)?;
    if until < from {
        return Err(WORK_RESTRICTION_UNTIL_WORDS);
    }
    Ok((from, until))
}

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

/// A new user name (the page, `dockd user add`, the daemon): 1–32 of letters, digits, `.`, `_`,
/// `-` and `@`.
pub fn user_name(name: &str) -> Result<(), &'static str> {
    if (1..=USER_NAME_MAX).contains(&name.len()) && name.bytes().all(is_user_name_byte) {
        Ok(())
    } else {
        Err(USER_NAME_WORDS)
    }
}

/// Whether `name` could name an existing account: the rule above, but up to 64 characters, as
/// `dockd user add` allowed before; an account made then keeps working. Only for finding
/// accounts: a new name must pass [`user_name`].
pub fn is_stored_user_name(name: &str) -> bool {
    (1..=STORED_USER_NAME_MAX).contains(&name.len()) && name.bytes().all(is_user_name_byte)
}

fn is_user_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')
}

/// The silent baseline's length: 0 (off) to 28 days.
pub fn silent_baseline_days(days: u32) -> Result<u32, &'static str> {
    if days <= BASELINE_DAYS_MAX {
        Ok(days)
    } else {
        Err(BASELINE_DAYS_WORDS)
    }
}

/// A new password: 12–256 characters (not bytes), anything else allowed.
pub fn password(password: &str) -> Result<(), &'static str> {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        Err(PASSWORD_SHORT_WORDS)
    } else if length > PASSWORD_MAX {
        Err(PASSWORD_LONG_WORDS)
    } else {
        Ok(())
    }
}

/// A task name (Settings, the roster's task field, `[[analysis.tasks]]`): 1–80 characters, no
/// spaces at either end, no control characters or direction overrides.
pub fn task_name(name: &str) -> Result<(), &'static str> {
    let good = !name.is_empty()
        && name.trim() == name
        && name.chars().count() <= TASK_NAME_MAX
        && !name.chars().any(is_unsafe);
    if good { Ok(()) } else { Err(TASK_NAME_WORDS) }
}

/// A display name as typed: trimmed, empty is none, at most 80 characters, no control
/// characters or direction overrides.
pub fn display_name(text: &str) -> Result<Option<&str>, &'static str> {
    free_text(
        text,
        DISPLAY_NAME_MAX,
        DISPLAY_NAME_LONG_WORDS,
        DISPLAY_NAME_CONTROL_WORDS,
    )
}

/// A team as typed (the roster, `[analysis.teams]`): trimmed, empty is none, at most 40
/// characters, no control characters or direction overrides.
pub fn team(text: &str) -> Result<Option<&str>, &'static str> {
    free_text(text, TEAM_MAX, TEAM_LONG_WORDS, TEAM_CONTROL_WORDS)
}

/// An optional field (absent is none) through its rule ([`display_name`], [`team`]), owned.
pub fn optional(
    text: Option<&str>,
    rule: fn(&str) -> Result<Option<&str>, &'static str>,
) -> Result<Option<String>, &'static str> {
    Ok(text.map(rule).transpose()?.flatten().map(str::to_owned))
}

fn free_text<'a>(
    text: &'a str,
    max: usize,
    too_long: &'static str,
    control: &'static str,
) -> Result<Option<&'a str>, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().any(is_unsafe) {
        return Err(control);
    }
    if text.chars().count() > max {
        return Err(too_long);
    }
    Ok(Some(text))
}

/// Control characters, and the invisible direction overrides that make text display as
/// something else than it is.
fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_restrictions_limits_are_bounded_numbers_and_empty_means_no_limit() {
        assert_eq!(work_restriction_per_hour_text(" 10 "), Ok(Some(10)));
        assert_eq!(work_restriction_per_hour_text(""), Ok(None));
        assert_eq!(work_restriction_per_hour_text("0"), Ok(Some(0)));
        assert_eq!(work_restriction_per_hour_text("1000"), Ok(Some(1000)));
        for bad in ["1001", "-1", "+3", "1e3", "ten", "3.5", "99999999999"] {
            assert_eq!(
                work_restriction_per_hour_text(bad),
                Err(WORK_RESTRICTION_PER_HOUR_WORDS),
                "{bad}"
            );
        }
        assert_eq!(work_restriction_load_kg_text("12.5"), Ok(Some(12.5)));
        assert_eq!(work_restriction_load_kg_text("0"), Ok(Some(0.0)));
        assert_eq!(work_restriction_load_kg_text(" "), Ok(None));
        for bad in ["100.5", "-3", "inf", "NaN", "1e2", "12.25", "1.2.3", "."] {
            assert_eq!(
                work_restriction_load_kg_text(bad),
                Err(WORK_RESTRICTION_LOAD_WORDS),
                "{bad}"
            );
        }
        assert!(work_restriction_load_kg(f64::NAN).is_err());
        assert!(work_restriction_per_hour(1001).is_err());
    }

    #[test]
    fn a_work_restrictions_days_are_real_dates_and_the_end_is_not_before_the_start() {
        assert_eq!(work_restriction_day("2024-02-29"), Ok("2024-02-29"));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-04-31",
            "2025-4-1",
            "1999-12-31",
            "25-03-03",
            "2025-03-03T00",
            "",
        ] {
            assert_eq!(
                work_restriction_day(bad),
                Err(WORK_RESTRICTION_DAY_WORDS),
                "{bad}"
            );
        }
        assert_eq!(
            work_restriction_days("2025-03-03", "2025-03-03"),
            Ok(("2025-03-03", "2025-03-03"))
        );
        assert_eq!(
            work_restriction_days("2025-03-03", "2025-03-02"),
            Err(WORK_RESTRICTION_UNTIL_WORDS)
        );
        assert_eq!(
            work_restriction_days("2025-03-03", ""),
            Err(WORK_RESTRICTION_UNTIL_WORDS)
        );
    }

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
    fn a_new_user_name_is_one_to_32_letters_digits_and_a_little_punctuation() {
        for good in ["ada", "a.b-c_d", "first@site", &"a".repeat(32)] {
            assert_eq!(user_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a/b", "ä", "<b>", &"a".repeat(33)] {
            assert_eq!(user_name(bad), Err(USER_NAME_WORDS), "{bad:?}");
        }
    }

    #[test]
    fn an_account_made_under_the_old_64_character_rule_can_still_be_named() {
        assert!(is_stored_user_name(&"a".repeat(64)));
        assert!(is_stored_user_name("first@site"));
        for bad in ["", "a b", "a/b", &"a".repeat(65)] {
            assert!(!is_stored_user_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_password_is_12_to_256_characters_counted_not_bytes() {
        assert_eq!(password(&"x".repeat(12)), Ok(()));
        assert_eq!(password(&"ü".repeat(256)), Ok(()));
        assert_eq!(password(&"ü".repeat(11)), Err(PASSWORD_SHORT_WORDS));
        assert_eq!(password(""), Err(PASSWORD_SHORT_WORDS));
        assert_eq!(password(&"x".repeat(257)), Err(PASSWORD_LONG_WORDS));
    }

    #[test]
    fn a_task_name_is_one_to_80_characters_without_edges_or_control_characters() {
        for good in ["Picking & packing", "Kommissionierung ä", &"ä".repeat(80)] {
            assert_eq!(task_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            " ",
            " Picking",
            "Picking ",
            "Pick\ning",
            "Pick\u{202E}ing",
            &"t".repeat(81),
        ] {
            assert_eq!(task_name(bad), Err(TASK_NAME_WORDS), "{bad:?}");
        }
    }

    #[test]
    fn a_display_name_is_trimmed_empty_is_none_and_at_most_80_characters() {
        assert_eq!(display_name("  "), Ok(None));
        assert_eq!(display_name(" Anna K. "), Ok(Some("Anna K.")));
        assert_eq!(display_name(&"ä".repeat(80)).map(|n| n.is_some()), Ok(true));
        assert_eq!(display_name(&"ä".repeat(81)), Err(DISPLAY_NAME_LONG_WORDS));
        assert_eq!(display_name("A\tB"), Err(DISPLAY_NAME_CONTROL_WORDS));
        assert_eq!(
            display_name("Anna\u{2066}"),
            Err(DISPLAY_NAME_CONTROL_WORDS)
        );
    }

    #[test]
    fn an_absent_field_is_none_and_a_present_one_goes_through_its_rule() {
        assert_eq!(optional(None, team), Ok(None));
        assert_eq!(optional(Some(" "), team), Ok(None));
        assert_eq!(
            optional(Some(" Night "), team),
            Ok(Some("Night".to_owned()))
        );
        assert_eq!(optional(Some("A\rB"), team), Err(TEAM_CONTROL_WORDS));
    }

    #[test]
    fn a_team_is_trimmed_empty_is_none_and_at_most_40_characters() {
        assert_eq!(team(""), Ok(None));
        assert_eq!(team(" Night shift "), Ok(Some("Night shift")));
        assert_eq!(team(&"t".repeat(40)).map(|t| t.is_some()), Ok(true));
        assert_eq!(team(&"t".repeat(41)), Err(TEAM_LONG_WORDS));
        assert_eq!(team("A\rB"), Err(TEAM_CONTROL_WORDS));
    }

    #[test]
    fn a_silent_baseline_is_zero_to_28_days() {
        assert_eq!(silent_baseline_days(0), Ok(0));
        assert_eq!(silent_baseline_days(28), Ok(28));
        assert_eq!(silent_baseline_days(29), Err(BASELINE_DAYS_WORDS));
    }
}
