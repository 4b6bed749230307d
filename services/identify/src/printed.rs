//! The identity-document check when the machine-readable zone was not seen:
//! the fields printed on the data page, as the applicant typed them (number,
//! issuing state, dates of issue and expiry), checked as far as they allow.
//!
//! Each failure has its own reason code ([`PrintedError::code`]):
//!
//! | code | failure |
//! |---|---|
//! | `document-number-characters` | the number has characters outside A–Z and 0–9 |
//! | `document-number-length` | the number is longer than the 9 characters of a 9303 zone |
//! | `document-number-format` | the number does not fit the issuing state's format (GBR: exactly 9 digits) |
//! | `issuing-state-unknown` | the issuing state is not an ICAO 9303 code ([`casework_mrz::is_state_code`]) |
//! | `nationality-unknown` | the applicant's nationality is not an ICAO 9303 code (or DEU, the subject's ISO form of D) |
//! | `issue-date-not-a-date` | the date of issue is not a real day (`YYYY-MM-DD`) |
//! | `expiry-date-not-a-date` | the date of expiry is not a real day |
//! | `issue-date-not-before-expiry` | the document was issued on or after the day it expires |
//! | `issue-date-in-future` | the document was issued after the application date |
//!
//! As for a zone, expiry is not a failure but reported apart (`expired`, code
//! `document-expired` in the evidence), since an expired passport is still a
//! genuine one. The fields hold no names or date of birth, so
//! `matches_applicant` is absent; the check says its `basis` is
//! `printed-fields-only`, and the confidence ladder never rates it above
//! medium (see [`crate::confidence`]).

use std::fmt;

use casework_contracts::payloads::{DocumentCheck, PrintedDocument, Subject};
use chrono::NaiveDate;

use crate::document::Reading;

/// The `basis` of a check made on printed fields only.
pub const PRINTED_FIELDS_ONLY: &str = "printed-fields-only";

/// Document-number formats known per issuing state: (state, digits, what it
/// is). Every other state's number is checked against the 9303 character set
/// and length only.
const NUMBER_FORMATS: &[(&str, usize, &str)] = &[("GBR", 9, "exactly 9 digits")];

/// The most characters a document number has in a 9303 zone's number field.
const MAX_NUMBER: usize = 9;

/// One reason the printed fields fail, or that the document has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrintedError {
    /// Characters outside A–Z and 0–9.
    NumberCharacters(String),
    /// Longer than a zone's number field.
    NumberLength(String, usize),
    /// Does not fit the issuing state's format.
    NumberFormat {
        /// The number.
        number: String,
        /// The issuing state.
        state: String,
        /// The format, in words.
        rule: &'static str,
    },
    /// The issuing state is not a 9303 code.
    IssuingState(String),
    /// The nationality is not a 9303 code.
    Nationality(String),
    /// The date of issue is not a real day.
    IssueDate(String),
    /// The date of expiry is not a real day.
    ExpiryDate(String),
    /// Issued on or after its expiry.
    IssuedNotBeforeExpiry {
        /// The date of issue.
        issued: NaiveDate,
        /// The date of expiry.
        expires: NaiveDate,
    },
    /// Issued after the application.
    IssuedInFuture {
        /// The date of issue.
        issued: NaiveDate,
        /// The application date.
        on: NaiveDate,
    },
    /// Expired before the application date (not a failure).
    Expired {
        /// The last day the document was valid.
        expiry: NaiveDate,
        /// The day it was checked on.
        on: NaiveDate,
    },
}

impl fmt::Display for PrintedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NumberCharacters(number) => {
                write!(
                    f,
                    "document number '{number}' has characters other than A-Z and 0-9"
                )
            }
            Self::NumberLength(number, length) => write!(
                f,
                "document number '{number}' has {length} characters, at most {MAX_NUMBER} are printed"
            ),
            Self::NumberFormat {
                number,
                state,
                rule,
            } => {
                write!(
                    f,
                    "document number '{number}' does not fit {state}'s format ({rule})"
                )
            }
            Self::IssuingState(code) => {
                write!(f, "issuing state '{code}' is not an ICAO 9303 code")
            }
            Self::Nationality(code) => write!(f, "nationality '{code}' is not an ICAO 9303 code"),
            Self::IssueDate(text) => {
                write!(f, "date of issue '{text}' is not a real date (YYYY-MM-DD)")
            }
            Self::ExpiryDate(text) => {
                write!(f, "date of expiry '{text}' is not a real date (YYYY-MM-DD)")
            }
            Self::IssuedNotBeforeExpiry { issued, expires } => write!(
                f,
                "date of issue {issued} is not before the date of expiry {expires}"
            ),
            Self::IssuedInFuture { issued, on } => {
                write!(
                    f,
                    "date of issue {issued} is after the application date {on}"
                )
            }
            Self::Expired { expiry, on } => {
                write!(f, "document expired on {expiry} (checked on {on})")
            }
        }
    }
}

impl PrintedError {
    /// The reason code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NumberCharacters(_) => "document-number-characters",
            Self::NumberLength(..) => "document-number-length",
            Self::NumberFormat { .. } => "document-number-format",
            Self::IssuingState(_) => "issuing-state-unknown",
            Self::Nationality(_) => "nationality-unknown",
            Self::IssueDate(_) => "issue-date-not-a-date",
            Self::ExpiryDate(_) => "expiry-date-not-a-date",
            Self::IssuedNotBeforeExpiry { .. } => "issue-date-not-before-expiry",
            Self::IssuedInFuture { .. } => "issue-date-in-future",
            Self::Expired { .. } => "document-expired",
        }
    }
}

/// Every failure of the printed fields, in the order of the fields.
fn failures(
    printed: &PrintedDocument,
    number: &str,
    state: &str,
    nationality: Option<&str>,
    on: NaiveDate,
) -> (Vec<PrintedError>, Option<NaiveDate>) {
    let mut failures = Vec::new();
    let characters_ok = number.chars().all(|c| c.is_ascii_alphanumeric());
    if !characters_ok {
        failures.push(PrintedError::NumberCharacters(number.to_owned()));
    }
    let length = number.chars().count();
    match NUMBER_FORMATS.iter().find(|(s, ..)| *s == state) {
        Some((_, digits, rule))
            if length != *digits || !number.chars().all(|c| c.is_ascii_digit()) =>
        {
            failures.push(PrintedError::NumberFormat {
                number: number.to_owned(),
                state: state.to_owned(),
                rule,
            });
        }
        Some(_) => {}
        None if length > MAX_NUMBER => {
            failures.push(PrintedError::NumberLength(number.to_owned(), length));
        }
        None => {}
    }
    if !casework_mrz::is_state_code(state) {
        failures.push(PrintedError::IssuingState(state.to_owned()));
    }
    if let Some(nationality) = nationality.filter(|n| !known_nationality(n)) {
        failures.push(PrintedError::Nationality(nationality.to_owned()));
    }
    let issued = real_date(&printed.issue_date);
    if issued.is_none() {
        failures.push(PrintedError::IssueDate(printed.issue_date.clone()));
    }
    let expires = real_date(&printed.expiry_date);
    if expires.is_none() {
        failures.push(PrintedError::ExpiryDate(printed.expiry_date.clone()));
    }
    if let (Some(issued), Some(expires)) = (issued, expires)
        && issued >= expires
    {
        failures.push(PrintedError::IssuedNotBeforeExpiry { issued, expires });
    }
    if let Some(issued) = issued.filter(|issued| *issued > on) {
        failures.push(PrintedError::IssuedInFuture { issued, on });
    }
    (failures, expires)
}

/// Whether a subject's nationality is a 9303 code. The events' subject
/// carries ISO 3166-1 alpha-3, so Germany comes as `DEU` (Register's
/// translation of 9303's `D`), and is one.
fn known_nationality(code: &str) -> bool {
    code == "DEU" || casework_mrz::is_state_code(code)
}

/// A `YYYY-MM-DD` day of the calendar.
fn real_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let shaped = text.len() == 10
        && text.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    shaped.then(|| text.parse().ok()).flatten()
}

/// Checks the printed fields of a document on `on` (the application date),
/// with the applicant's stated nationality if there is one.
pub fn read(printed: &PrintedDocument, on: NaiveDate, applicant: Option<&Subject>) -> Reading {
    // Case carries nothing on a data page: `ab1234567` is AB1234567.
    let number = printed.number.trim().to_ascii_uppercase();
    let state = printed.issuing_state.trim().to_owned();
    let nationality = applicant.and_then(|a| a.nationality.as_deref());
    let (failures, expires) = failures(printed, &number, &state, nationality, on);
    if !failures.is_empty() {
        let messages: Vec<String> = failures.iter().map(ToString::to_string).collect();
        let mut reading = Reading::failed(
            format!(
                "the document's printed fields failed validation (the machine-readable zone was not seen): {}",
                messages.join("; ")
            ),
            messages,
        );
        reading.check.basis = Some(PRINTED_FIELDS_ONLY.to_owned());
        reading.check.failure_codes = Some(failures.iter().map(|f| f.code().to_owned()).collect());
        return reading;
    }
    // No failure: the expiry date is real.
    let expiry = expires.unwrap_or(on);
    let expired = (expiry < on).then_some(PrintedError::Expired { expiry, on });
    let mut notes = vec![format!(
        "document {number} issued by {state}: its printed fields are consistent (state code, number format, dates); the machine-readable zone was not seen"
    )];
    notes.push(match &expired {
        Some(expired) => format!("{expired} [{}]", expired.code()),
        None => format!("it is valid until {expiry} (checked on {on})"),
    });
    if applicant.is_some() {
        notes.push(
            "its holder's names and date of birth could not be compared: the printed fields do not include them"
                .to_owned(),
        );
    }
    if let Some(stated) = applicant
        .and_then(|a| a.document_number.as_deref())
        .filter(|stated| *stated != number)
    {
        notes.push(format!(
            "the application states document number {stated}, the document is {number}"
        ));
    }
    Reading {
        check: DocumentCheck {
            valid: true,
            failures: Vec::new(),
            format: None,
            document_number: Some(number),
            issuing_state: Some(state),
            nationality: nationality.map(str::to_owned),
            date_of_expiry: Some(expiry),
            expired: Some(expired.is_some()),
            matches_applicant: None,
            basis: Some(PRINTED_FIELDS_ONLY.to_owned()),
            failure_codes: Some(Vec::new()),
        },
        zone: None,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confidence::DocumentFinding;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    const ON: &str = "2026-11-22";

    fn applicant(nationality: &str) -> Subject {
        Subject {
            given_names: "Jordan Avery".into(),
            surname: "Price".into(),
            date_of_birth: date("1990-03-14"),
            nationality: Some(nationality.into()),
            document_number: None,
        }
    }

    fn passport(number: &str, state: &str, issued: &str, expires: &str) -> PrintedDocument {
        PrintedDocument {
            number: number.into(),
            issuing_state: state.into(),
            issue_date: issued.into(),
            expiry_date: expires.into(),
            sex: None,
        }
    }

    fn good() -> PrintedDocument {
        passport("533380476", "GBR", "2021-05-20", "2031-05-20")
    }

    /// The reason codes of the check of `printed`.
    fn codes(printed: &PrintedDocument, nationality: &str) -> Vec<String> {
        let reading = read(printed, date(ON), Some(&applicant(nationality)));
        assert_eq!(
            reading.check.failures.len(),
            reading.check.failure_codes.as_ref().map_or(0, Vec::len),
            "one code per failure"
        );
        reading.check.failure_codes.unwrap_or_default()
    }

    #[test]
    fn consistent_printed_fields_are_valid_but_say_the_zone_was_not_seen() {
        let reading = read(&good(), date(ON), Some(&applicant("GBR")));
        let check = &reading.check;
        assert!(check.valid, "{:?}", check.failures);
        assert_eq!(check.basis.as_deref(), Some(PRINTED_FIELDS_ONLY));
        assert_eq!(check.failure_codes.as_deref(), Some(&[][..]));
        assert_eq!(check.document_number.as_deref(), Some("533380476"));
        assert_eq!(check.issuing_state.as_deref(), Some("GBR"));
        assert_eq!(check.nationality.as_deref(), Some("GBR"));
        assert_eq!(check.date_of_expiry, Some(date("2031-05-20")));
        assert_eq!(check.expired, Some(false));
        assert_eq!(check.format, None, "no zone, no format");
        assert_eq!(check.matches_applicant, None, "no names to compare");
        assert!(reading.zone.is_none());
        assert_eq!(reading.finding(), DocumentFinding::PrintedOnly);
        assert!(reading.notes[0].contains("the machine-readable zone was not seen"));
        // Germany is D; other states' numbers only need the 9303 characters.
        let german = passport("C01X00T47", "D", "2020-01-10", "2030-01-09");
        assert_eq!(codes(&german, "D"), Vec::<String>::new());
        // The subject's nationality comes as ISO 3166 alpha-3: DEU.
        assert_eq!(codes(&german, "DEU"), Vec::<String>::new());
        // Case is not information on a data page.
        let lower = passport("c01x00t47", "D", "2020-01-10", "2030-01-09");
        let reading = read(&lower, date(ON), None);
        assert_eq!(reading.check.document_number.as_deref(), Some("C01X00T47"));
    }

    #[test]
    fn an_unknown_state_code_fails() {
        let mut printed = good();
        printed.issuing_state = "XYZ".into();
        assert_eq!(codes(&printed, "GBR"), ["issuing-state-unknown"]);
        // DEU is ISO's code for Germany, not 9303's.
        printed.issuing_state = "DEU".into();
        printed.number = "C01X00T47".into();
        assert_eq!(codes(&printed, "D"), ["issuing-state-unknown"]);
    }

    #[test]
    fn an_unknown_nationality_fails() {
        assert_eq!(codes(&good(), "UTO"), ["nationality-unknown"]);
    }

    #[test]
    fn a_british_number_is_nine_digits() {
        for number in ["53338047", "5333804761", "53338047A"] {
            let mut printed = good();
            printed.number = number.into();
            assert_eq!(
                codes(&printed, "GBR"),
                ["document-number-format"],
                "{number}"
            );
        }
        let mut printed = good();
        printed.number = "53338047".into();
        let reading = read(&printed, date(ON), None);
        assert_eq!(
            reading.check.failures,
            ["document number '53338047' does not fit GBR's format (exactly 9 digits)"]
        );
        assert_eq!(reading.finding(), DocumentFinding::Invalid);
    }

    #[test]
    fn a_number_outside_the_9303_characters_fails() {
        let mut printed = passport("AB-12 345", "FRA", "2021-05-20", "2031-05-20");
        assert_eq!(codes(&printed, "FRA"), ["document-number-characters"]);
        printed.number = "AB1234567890".into();
        assert_eq!(codes(&printed, "FRA"), ["document-number-length"]);
        // A British number with bad characters fails both ways.
        printed = good();
        printed.number = "5333-8047".into();
        assert_eq!(
            codes(&printed, "GBR"),
            ["document-number-characters", "document-number-format"]
        );
    }

    #[test]
    fn issue_must_come_before_expiry_and_not_after_the_application() {
        let after = passport("533380476", "GBR", "2031-05-21", "2031-05-20");
        assert_eq!(
            codes(&after, "GBR"),
            ["issue-date-not-before-expiry", "issue-date-in-future"]
        );
        let same_day = passport("533380476", "GBR", "2021-05-20", "2021-05-20");
        assert_eq!(codes(&same_day, "GBR"), ["issue-date-not-before-expiry"]);
        let future = passport("533380476", "GBR", "2026-11-23", "2036-11-23");
        assert_eq!(codes(&future, "GBR"), ["issue-date-in-future"]);
        let today = passport("533380476", "GBR", ON, "2036-11-22");
        assert_eq!(codes(&today, "GBR"), Vec::<String>::new());
    }

    #[test]
    fn an_unreal_date_fails_naming_the_field() {
        let printed = passport("533380476", "GBR", "2021-02-30", "31/05/2031");
        assert_eq!(
            codes(&printed, "GBR"),
            ["issue-date-not-a-date", "expiry-date-not-a-date"]
        );
        let reading = read(&printed, date(ON), None);
        assert_eq!(
            reading.check.failures[0],
            "date of issue '2021-02-30' is not a real date (YYYY-MM-DD)"
        );
        // Only the shape 9303's readers print: no signs, no short years.
        let odd = passport("533380476", "GBR", "+2021-05-20", "2031-5-20");
        assert_eq!(
            codes(&odd, "GBR"),
            ["issue-date-not-a-date", "expiry-date-not-a-date"]
        );
    }

    #[test]
    fn expired_on_the_application_date_is_reported_apart() {
        let printed = passport("533380476", "GBR", "2016-11-21", "2026-11-21");
        let reading = read(&printed, date(ON), Some(&applicant("GBR")));
        assert!(reading.check.valid, "an expired passport is still genuine");
        assert_eq!(reading.check.expired, Some(true));
        assert_eq!(reading.finding(), DocumentFinding::PrintedOnlyExpired);
        assert!(
            reading.notes[1].contains("document expired on 2026-11-21 (checked on 2026-11-22)")
                && reading.notes[1].contains("document-expired"),
            "{:?}",
            reading.notes
        );
        // Valid on its last day.
        let last_day = passport("533380476", "GBR", "2016-11-22", ON);
        let reading = read(&last_day, date(ON), None);
        assert_eq!(reading.check.expired, Some(false));
        assert_eq!(reading.finding(), DocumentFinding::PrintedOnly);
    }

    #[test]
    fn every_failure_is_reported_in_the_order_of_the_fields() {
        let printed = passport("??", "ZZ", "2021-13-01", "2031-05-20");
        assert_eq!(
            codes(&printed, "QQQ"),
            [
                "document-number-characters",
                "issuing-state-unknown",
                "nationality-unknown",
                "issue-date-not-a-date"
            ]
        );
    }
}
