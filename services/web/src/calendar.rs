//! Working days: service levels count Monday to Friday, bank holidays
//! excepted. The holidays are a committed data file in GOV.UK's
//! `https://www.gov.uk/bank-holidays.json` format (`paths.bank_holidays`),
//! England and Wales division.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::WebError;

/// The division whose holidays count.
const DIVISION: &str = "england-and-wales";

#[derive(Deserialize)]
struct Division {
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    date: NaiveDate,
}

/// The working-day calendar.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkingDays {
    holidays: BTreeSet<NaiveDate>,
}

impl WorkingDays {
    /// Reads the holidays file.
    pub(crate) fn load(path: &Path) -> Result<Self, WebError> {
        let failed = |why: String| WebError::Calendar(format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        Self::parse(&text).map_err(failed)
    }

    fn parse(text: &str) -> Result<Self, String> {
        let mut divisions: std::collections::HashMap<String, Division> = serde_json::from_str(text)
            .map_err(|e| format!("not GOV.UK's bank holidays JSON: {e}"))?;
        let division = divisions
            .remove(DIVISION)
            .ok_or_else(|| format!("no `{DIVISION}` division"))?;
        Ok(Self {
            holidays: division.events.into_iter().map(|e| e.date).collect(),
        })
    }

    /// The last holiday known: beyond its year, only weekends are skipped.
    pub(crate) fn known_until(&self) -> Option<NaiveDate> {
        self.holidays.last().copied()
    }

    /// Whether `day` is a working day.
    pub(crate) fn is_working(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&day)
    }

    /// Working days after `from` up to and including `to` (0 when `to` is
    /// not after `from`): received on a Friday, the Monday after is day 1.
    pub(crate) fn between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        from.iter_days()
            .skip(1)
            .take_while(|day| *day <= to)
            .filter(|day| self.is_working(*day))
            .count()
            .try_into()
            .unwrap_or(i64::MAX)
    }

    /// Working days left of a `level`-day service level for a case received
    /// on `received`, as of `today` (negative: overdue by that many).
    pub(crate) fn left(&self, received: NaiveDate, level: u32, today: NaiveDate) -> i64 {
        i64::from(level) - self.between(received, today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("a date")
    }

    fn shipped() -> WorkingDays {
        WorkingDays::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/bank-holidays.json"),
        )
        .expect("the shipped calendar loads")
    }

    #[test]
    fn weekends_and_bank_holidays_do_not_count() {
        let calendar = shipped();
        // Friday 18 December 2026 to Friday 1 January 2027: Christmas Day,
        // Boxing Day (substitute, Monday 28th) and New Year's Day are
        // holidays, so of the ten weekdays after it seven are working days.
        assert_eq!(calendar.between(day("2026-12-18"), day("2027-01-01")), 7);
        assert!(!calendar.is_working(day("2026-12-28")));
        assert!(calendar.is_working(day("2026-12-29")));
        // Easter 2027: Good Friday 26 March and Easter Monday 29 March.
        assert_eq!(calendar.between(day("2027-03-25"), day("2027-03-30")), 1);
        // Received on a Friday: the Monday after is day 1, the same day is 0.
        assert_eq!(calendar.between(day("2026-12-04"), day("2026-12-07")), 1);
        assert_eq!(calendar.between(day("2026-12-04"), day("2026-12-04")), 0);
        assert_eq!(calendar.left(day("2026-12-04"), 15, day("2026-12-07")), 14);
        // Overdue is negative.
        assert_eq!(calendar.left(day("2026-11-02"), 5, day("2026-11-13")), -4);
        assert!(calendar.known_until() >= Some(day("2027-12-28")));
    }

    #[test]
    fn a_file_without_the_division_is_refused() {
        let err = WorkingDays::parse(r#"{"scotland": {"division": "scotland", "events": []}}"#)
            .unwrap_err();
        assert!(err.contains("england-and-wales"), "{err}");
        assert!(WorkingDays::parse("[]").is_err());
    }
}
