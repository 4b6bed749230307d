//! Two-digit years: the zone writes YYMMDD, so the century comes from a
//! reference date (usually today).

use chrono::{Datelike, Months, NaiveDate};

/// Fifty years either side of the reference: passports last ten years, so
/// this reads any document that could be presented, expired or not, without
/// guessing a century for a date of birth.
const EXPIRY_WINDOW: Months = Months::new(50 * 12);

/// A date of birth is in the past: the latest date with these digits that is
/// not after `reference` (740812 read in 2024 is 1974-08-12; 240701 read on
/// 2024-06-01 is 1924-07-01). `None` if it is not a calendar date.
pub(crate) fn birth(yymmdd: &str, reference: NaiveDate) -> Option<NaiveDate> {
    let (yy, month, day) = split(yymmdd)?;
    let latest_year = reference.year() - (reference.year() - yy).rem_euclid(100);
    // The previous century as well, for 29 February of a year like 2100.
    [latest_year, latest_year - 100]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| *date <= reference)
}

/// A date of expiry is the one date with these digits in
/// [reference − 50 years, reference + 50 years) (120415 read in 2024 is
/// 2012-04-15; 300101 is 2030-01-01). `None` if it is not a calendar date in
/// that century.
pub(crate) fn expiry(yymmdd: &str, reference: NaiveDate) -> Option<NaiveDate> {
    let (yy, month, day) = split(yymmdd)?;
    let from = reference.checked_sub_months(EXPIRY_WINDOW)?;
    let until = reference.checked_add_months(EXPIRY_WINDOW)?;
    let first_year = from.year() + (yy - from.year()).rem_euclid(100);
    [first_year, first_year + 100]
        .into_iter()
        .filter_map(|year| NaiveDate::from_ymd_opt(year, month, day))
        .find(|date| from <= *date && *date < until)
}

/// The six characters written in a zone for `date`.
pub(crate) fn encode(date: NaiveDate) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year().rem_euclid(100),
        date.month(),
        date.day()
    )
}

fn split(yymmdd: &str) -> Option<(i32, u32, u32)> {
    if yymmdd.len() != 6 || !yymmdd.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let yy = yymmdd[0..2].parse().ok()?;
    let month = yymmdd[2..4].parse().ok()?;
    let day = yymmdd[4..6].parse().ok()?;
    Some((yy, month, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn birth_is_the_latest_date_not_after_the_reference() {
        let on = date(2024, 6, 1);
        assert_eq!(birth("740812", on), Some(date(1974, 8, 12)));
        assert_eq!(birth("240601", on), Some(date(2024, 6, 1)));
        assert_eq!(birth("240602", on), Some(date(1924, 6, 2)));
        assert_eq!(birth("000229", on), Some(date(2000, 2, 29)));
        // 2100 is not a leap year, 2000 is.
        assert_eq!(birth("000229", date(2100, 3, 1)), Some(date(2000, 2, 29)));
    }

    #[test]
    fn expiry_is_within_fifty_years_of_the_reference() {
        let on = date(2024, 6, 1);
        assert_eq!(expiry("120415", on), Some(date(2012, 4, 15)));
        assert_eq!(expiry("300101", on), Some(date(2030, 1, 1)));
        assert_eq!(expiry("740531", on), Some(date(2074, 5, 31)));
        assert_eq!(expiry("740601", on), Some(date(1974, 6, 1)));
        assert_eq!(expiry("750101", on), Some(date(1975, 1, 1)));
    }

    #[test]
    fn impossible_dates_are_refused() {
        let on = date(2024, 6, 1);
        for value in [
            "741312", "740001", "740132", "740230", "7408A2", "74081", "",
        ] {
            assert_eq!(birth(value, on), None, "{value}");
            assert_eq!(expiry(value, on), None, "{value}");
        }
        // 2100-02-29 does not exist, and 2100 is the century in the window.
        assert_eq!(expiry("000229", date(2080, 1, 1)), None);
    }

    #[test]
    fn encoding_keeps_the_last_two_digits_of_the_year() {
        assert_eq!(encode(date(1974, 8, 12)), "740812");
        assert_eq!(encode(date(2004, 12, 3)), "041203");
    }
}
