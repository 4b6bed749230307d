//! Lengths of time as the law states them: days, weeks, months or years.

use std::fmt;
use std::str::FromStr;

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A length of time in one unit, as a sentence or a period is stated:
/// `30 months`, `16 weeks`, `2 years`, `0 days`.
///
/// Months and years are calendar months: added to a date they keep its day
/// of the month (clamped to the month's last day), as a court counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Length {
    count: u32,
    unit: Unit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Unit {
    Days,
    Weeks,
    Months,
    Years,
}

impl Length {
    /// `count` months.
    pub fn months(count: u32) -> Self {
        Self {
            count,
            unit: Unit::Months,
        }
    }

    /// `count` days.
    pub fn days(count: u32) -> Self {
        Self {
            count,
            unit: Unit::Days,
        }
    }

    /// Whether this is no time at all.
    pub fn is_zero(self) -> bool {
        self.count == 0
    }

    /// The date this long after `from`; `None` past the calendar's end.
    pub fn after(self, from: NaiveDate) -> Option<NaiveDate> {
        match self.unit {
            Unit::Days => from.checked_add_days(Days::new(u64::from(self.count))),
            Unit::Weeks => from.checked_add_days(Days::new(u64::from(self.count) * 7)),
            Unit::Months => from.checked_add_months(Months::new(self.count)),
            Unit::Years => from.checked_add_months(Months::new(self.count.checked_mul(12)?)),
        }
    }

    /// Whether this is no longer than `other`, both counted from `from`
    /// (so `12 months` and `1 year` are the same length, and `52 weeks` is
    /// shorter than either).
    pub fn at_most(self, other: Length, from: NaiveDate) -> bool {
        match (self.after(from), other.after(from)) {
            (Some(this), Some(that)) => this <= that,
            (None, _) => false,
            (Some(_), None) => true,
        }
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match (self.unit, self.count == 1) {
            (Unit::Days, true) => "day",
            (Unit::Days, false) => "days",
            (Unit::Weeks, true) => "week",
            (Unit::Weeks, false) => "weeks",
            (Unit::Months, true) => "month",
            (Unit::Months, false) => "months",
            (Unit::Years, true) => "year",
            (Unit::Years, false) => "years",
        };
        write!(f, "{} {unit}", self.count)
    }
}

impl FromStr for Length {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || format!("`{text}` is not a length like `30 months`, `16 weeks`, `2 years`");
        let mut words = text.split_whitespace();
        let (Some(count), Some(unit), None) = (words.next(), words.next(), words.next()) else {
            return Err(wrong());
        };
        let count: u32 = count.parse().map_err(|_| wrong())?;
        let unit = match unit.to_ascii_lowercase().as_str() {
            "day" | "days" => Unit::Days,
            "week" | "weeks" => Unit::Weeks,
            "month" | "months" => Unit::Months,
            "year" | "years" => Unit::Years,
            _ => return Err(wrong()),
        };
        // Up to 200 years: anything longer is a typing mistake, and the
        // limit keeps every date sum well inside the calendar.
        let most = match unit {
            Unit::Days => 200 * 366,
            Unit::Weeks => 200 * 53,
            Unit::Months => 200 * 12,
            Unit::Years => 200,
        };
        if count > most {
            return Err(format!("`{text}` is longer than 200 years"));
        }
        Ok(Length { count, unit })
    }
}

impl Serialize for Length {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Length {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn lengths_parse_in_any_unit_and_print_back() {
        for text in ["30 months", "1 month", "16 weeks", "2 years", "0 days"] {
            assert_eq!(text.parse::<Length>().unwrap().to_string(), text);
        }
        assert_eq!("3 Years".parse::<Length>().unwrap().to_string(), "3 years");
        for bad in [
            "",
            "30",
            "months",
            "thirty months",
            "-1 days",
            "2 fortnights",
            "1 year 6 months",
            "5000 years",
        ] {
            assert!(bad.parse::<Length>().is_err(), "{bad}");
        }
    }

    #[test]
    fn calendar_months_keep_the_day() {
        let l: Length = "30 months".parse().unwrap();
        assert_eq!(l.after(date("2024-02-12")), Some(date("2026-08-12")));
        let l: Length = "1 month".parse().unwrap();
        assert_eq!(l.after(date("2024-01-31")), Some(date("2024-02-29")));
        let l: Length = "2 weeks".parse().unwrap();
        assert_eq!(l.after(date("2024-12-25")), Some(date("2025-01-08")));
    }

    #[test]
    fn lengths_compare_across_units() {
        let from = date("2020-03-01");
        let year: Length = "1 year".parse().unwrap();
        assert!(Length::months(12).at_most(year, from));
        assert!(year.at_most(Length::months(12), from));
        assert!(!Length::months(13).at_most(year, from));
        assert!("52 weeks".parse::<Length>().unwrap().at_most(year, from));
        assert!(!"53 weeks".parse::<Length>().unwrap().at_most(year, from));
    }
}
