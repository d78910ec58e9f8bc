//! Numbers, sizes and times in the words and shapes a supervisor reads. Pure text helpers: they
//! must never emit markup from input text (only digits and fixed words) and never read the clock.
//! `assets/status.js` formats the same values the same way: change both together.

/// A count with thousands grouped: `1,080,000`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A count with its noun: `1 log`, `12 logs`.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// A byte size in decimal units, three significant digits at most: `512 B`, `1.2 kB`,
/// `610 kB`, `3.4 MB`. Integer arithmetic, rounding halves up, so the script can match it exactly.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let n = u128::from(n);
    let (mut unit, mut size) = (0, 1000);
    // Move up while this unit would show 1000 or more.
    while unit + 1 < UNITS.len() && (n + size / 2) / size >= 1000 {
        unit += 1;
        size *= 1000;
    }
    let tenths = (n * 10 + size / 2) / size;
    if tenths < 1000 {
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
    } else {
        format!("{} {}", (n + size / 2) / size, UNITS[unit])
    }
}

/// A `<time>` element for an epoch-milliseconds instant: machine-readable UTC in `datetime`,
/// readable UTC as text. The page script replaces the text with the viewer's local time; UTC is
/// what a visitor without JavaScript sees, labelled so it is never mistaken for local time.
pub(crate) fn time_element(epoch_ms: i64, with_seconds: bool) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let second_of_day = secs.rem_euclid(86_400);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
    );
    let date = format!("{year:04}-{month:02}-{day:02}");
    let text = if with_seconds {
        format!("{date} {hour:02}:{minute:02}:{second:02} UTC")
    } else {
        format!("{date} {hour:02}:{minute:02} UTC")
    };
    format!("<time datetime=\"{date}T{hour:02}:{minute:02}:{second:02}Z\">{text}</time>")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`, exact for every day an `i64` of milliseconds can name.
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // March = 0
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_group_thousands_with_commas() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_080_000), "1,080,000");
        assert_eq!(count(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn a_single_thing_takes_the_singular_noun() {
        assert_eq!(counted(1, "log", "logs"), "1 log");
        assert_eq!(counted(0, "log", "logs"), "0 logs");
        assert_eq!(counted(1200, "log", "logs"), "1,200 logs");
    }

    #[test]
    fn sizes_use_decimal_units_with_at_most_three_significant_digits() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1000), "1.0 kB");
        assert_eq!(bytes(1250), "1.3 kB");
        assert_eq!(bytes(99_949), "99.9 kB");
        assert_eq!(bytes(99_950), "100 kB");
        assert_eq!(bytes(610_000), "610 kB");
        assert_eq!(bytes(999_499), "999 kB");
        assert_eq!(bytes(999_500), "1.0 MB");
        assert_eq!(bytes(1_234_567), "1.2 MB");
        assert_eq!(bytes(u64::MAX), "18446744 TB");
    }

    #[test]
    fn times_render_as_utc_in_the_attribute_and_the_text() {
        // 2024-02-29 13:05:09.750 UTC (a leap day).
        assert_eq!(
            time_element(1_709_211_909_750, false),
            "<time datetime=\"2024-02-29T13:05:09Z\">2024-02-29 13:05 UTC</time>"
        );
        assert_eq!(
            time_element(1_709_211_909_750, true),
            "<time datetime=\"2024-02-29T13:05:09Z\">2024-02-29 13:05:09 UTC</time>"
        );
    }

    #[test]
    fn the_epoch_and_instants_before_it_land_on_the_right_day() {
        assert_eq!(
            time_element(0, true),
            "<time datetime=\"1970-01-01T00:00:00Z\">1970-01-01 00:00:00 UTC</time>"
        );
        assert_eq!(
            time_element(-1, true),
            "<time datetime=\"1969-12-31T23:59:59Z\">1969-12-31 23:59:59 UTC</time>"
        );
    }

    #[test]
    fn civil_dates_match_known_days_across_centuries() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(47_540), (2100, 2, 28));
        assert_eq!(civil_from_days(47_541), (2100, 3, 1));
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
    }

    #[test]
    fn extreme_instants_do_not_overflow() {
        assert!(time_element(i64::MAX, true).starts_with("<time datetime=\""));
        assert!(time_element(i64::MIN, true).starts_with("<time datetime=\""));
    }
}
