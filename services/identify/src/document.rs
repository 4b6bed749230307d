//! The identity-document check: read the machine-readable zone, on a given
//! day, and compare it with the applicant.
//!
//! A zone is `valid` when it reads with no failure (layout, characters, check
//! digits, dates, codes); expiry is reported apart (`expired`), since an
//! expired passport is still a genuine one. It `matches_applicant` when its
//! date of birth equals the application's and its names equal the
//! application's names either
//! - as ICAO 9303 part 3 prints them: the applicant's names are written into
//!   a zone of the same format with `casework_mrz::build` (Ü → UE, Ø → OE,
//!   ß → SS, other accents dropped, other scripts romanised, long names
//!   truncated as the issuer would) and read back; or
//! - [normalised](casework_contracts::names::normalise) (all accents dropped: Ü → U), as
//!   some issuers print them.

use casework_mrz::{Mrz, MrzFields};
use chrono::NaiveDate;

use crate::confidence::DocumentFinding;
use casework_contracts::names::normalise;
use casework_contracts::payloads::{DocumentCheck, Subject};

/// A zone (or a document's printed fields, see [`crate::printed`]), read:
/// the check, the zone's fields when it is valid, and one line of evidence
/// per conclusion.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The check.
    pub check: DocumentCheck,
    /// Everything the zone says, when it is valid.
    pub zone: Option<Mrz>,
    /// What was found, in plain words.
    pub notes: Vec<String>,
}

impl Reading {
    /// A document that failed its checks: the failures, and a note saying so.
    pub fn failed(note: String, failures: Vec<String>) -> Self {
        Self {
            notes: vec![note],
            check: DocumentCheck {
                valid: false,
                failures,
                format: None,
                document_number: None,
                issuing_state: None,
                nationality: None,
                date_of_expiry: None,
                expired: None,
                matches_applicant: None,
                basis: None,
                failure_codes: None,
            },
            zone: None,
        }
    }

    /// What the confidence ladder needs to know.
    pub fn finding(&self) -> DocumentFinding {
        let printed = self.check.basis.as_deref() == Some(crate::printed::PRINTED_FIELDS_ONLY);
        match (&self.check, self.check.matches_applicant) {
            (check, _) if !check.valid => DocumentFinding::Invalid,
            (check, _) if printed && check.expired == Some(true) => {
                DocumentFinding::PrintedOnlyExpired
            }
            _ if printed => DocumentFinding::PrintedOnly,
            (_, Some(false)) => DocumentFinding::NotTheApplicants,
            (check, _) if check.expired == Some(true) => DocumentFinding::Expired,
            _ => DocumentFinding::Good,
        }
    }
}

/// Reads `lines` as a zone on `on` (which resolves two-digit years and
/// decides expiry) and, when `applicant` is given, compares it with them.
pub fn read(lines: &[String], on: NaiveDate, applicant: Option<&Subject>) -> Reading {
    let zone = match casework_mrz::parse_on(&lines.join("\n"), on) {
        Ok(zone) => zone,
        Err(errors) => {
            let failures: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Reading::failed(
                format!(
                    "the document's machine-readable zone failed validation: {}",
                    failures.join("; ")
                ),
                failures,
            );
        }
    };
    let mut notes = vec![format!(
        "{} document {} issued by {}: the machine-readable zone is valid (every check digit agrees)",
        zone.format, zone.document_number, zone.issuing_state
    )];
    let expiry = zone.check_expiry(on);
    notes.push(match &expiry {
        Err(expired) => expired.to_string(),
        Ok(()) => format!(
            "it is valid until {} (checked on {on})",
            zone.date_of_expiry
        ),
    });
    let matches_applicant = applicant.map(|applicant| {
        let matches = matches(&zone, applicant, on);
        notes.push(if matches {
            format!(
                "its holder {} born {} is the applicant",
                holder(&zone.surname, &zone.given_names),
                zone.date_of_birth
            )
        } else {
            format!(
                "its holder {} born {} is not the applicant {} born {}",
                holder(&zone.surname, &zone.given_names),
                zone.date_of_birth,
                holder(&applicant.surname, &applicant.given_names),
                applicant.date_of_birth
            )
        });
        if let Some(stated) = applicant
            .document_number
            .as_deref()
            .filter(|stated| *stated != zone.document_number)
        {
            notes.push(format!(
                "the application states document number {stated}, the document is {}",
                zone.document_number
            ));
        }
        matches
    });
    Reading {
        check: DocumentCheck {
            valid: true,
            failures: Vec::new(),
            format: Some(zone.format.to_string()),
            document_number: Some(zone.document_number.clone()),
            issuing_state: Some(zone.issuing_state.clone()),
            nationality: Some(zone.nationality.clone()),
            date_of_expiry: Some(zone.date_of_expiry),
            expired: Some(expiry.is_err()),
            matches_applicant,
            basis: None,
            failure_codes: None,
        },
        zone: Some(zone),
        notes,
    }
}

fn holder(surname: &str, given_names: &str) -> String {
    format!("{surname}, {given_names}")
}

/// Whether the zone's holder is the applicant (see the module documentation).
fn matches(zone: &Mrz, applicant: &Subject, on: NaiveDate) -> bool {
    if zone.date_of_birth != applicant.date_of_birth {
        return false;
    }
    let same = |surname: &str, given_names: &str| {
        surname == zone.surname && given_names == zone.given_names
    };
    same(
        &normalise(&applicant.surname),
        &normalise(&applicant.given_names),
    ) || as_printed(zone, applicant, on).is_some_and(|(s, g)| same(&s, &g))
}

/// The applicant's names as an issuer following 9303 would print them in
/// this zone; `None` when they cannot be printed (digits in a name).
fn as_printed(zone: &Mrz, applicant: &Subject, on: NaiveDate) -> Option<(String, String)> {
    let fields = MrzFields {
        surname: applicant.surname.clone(),
        given_names: applicant.given_names.clone(),
        ..MrzFields::from(zone)
    };
    let printed = casework_mrz::build(&fields, zone.format).ok()?;
    let read_back = casework_mrz::parse_on(&printed, on).ok()?;
    Some((read_back.surname, read_back.given_names))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    fn subject(given_names: &str, surname: &str, date_of_birth: &str) -> Subject {
        Subject {
            given_names: given_names.into(),
            surname: surname.into(),
            date_of_birth: date(date_of_birth),
            nationality: None,
            document_number: None,
        }
    }

    fn zone_for(given_names: &str, surname: &str) -> Vec<String> {
        let fields = MrzFields {
            document_code: "P".into(),
            issuing_state: "D".into(),
            surname: surname.into(),
            given_names: given_names.into(),
            document_number: "C01X00T47".into(),
            nationality: "D".into(),
            date_of_birth: date("1983-08-12"),
            sex: casework_mrz::Sex::Female,
            date_of_expiry: date("2031-10-31"),
            optional_data: String::new(),
            optional_data_2: String::new(),
        };
        casework_mrz::build(&fields, casework_mrz::Format::Td3)
            .expect("builds")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn names_compare_as_printed_or_without_accents() {
        let on = date("2026-11-22");
        let mueller = zone_for("Jürgen", "Müller");
        let muller = zone_for("Jurgen", "Muller");
        let applicant = subject("Jürgen", "Müller", "1983-08-12");
        for zone in [&mueller, &muller] {
            let reading = read(zone, on, Some(&applicant));
            assert_eq!(reading.check.matches_applicant, Some(true), "{zone:?}");
            assert_eq!(reading.finding(), DocumentFinding::Good);
        }
        let other = subject("Jürgen", "Müller", "1983-08-13");
        let reading = read(&mueller, on, Some(&other));
        assert_eq!(reading.check.matches_applicant, Some(false));
        assert_eq!(reading.finding(), DocumentFinding::NotTheApplicants);
    }

    #[test]
    fn a_long_name_matches_its_truncated_zone() {
        let given = "Maria Fernanda Alexandra Beatriz";
        let surname = "Rodriguez de la Fuente Hernandez";
        let zone = zone_for(given, surname);
        let applicant = subject(given, surname, "1983-08-12");
        let reading = read(&zone, date("2026-11-22"), Some(&applicant));
        assert_eq!(reading.check.matches_applicant, Some(true));
    }

    #[test]
    fn a_zone_that_fails_lists_every_failure_and_nothing_else() {
        let lines = vec!["P<UTOERIKSSON".to_owned()];
        let reading = read(&lines, date("2026-11-22"), None);
        assert!(!reading.check.valid);
        assert_eq!(
            reading.check.failures,
            [
                "not a supported machine-readable zone: 1 line, expected 2 (passport, visa) or 3 (identity card)"
            ]
        );
        assert_eq!(reading.check.format, None);
        assert_eq!(reading.finding(), DocumentFinding::Invalid);
    }
}
