//! Why a zone could not be read or built: one reason per failure, worded for
//! a caseworker.

use std::fmt;

use chrono::NaiveDate;

use crate::format::Format;

/// A field of the zone, to say where a failure is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// The document code (`P<`, `VI`, `ID`, …).
    DocumentCode,
    /// The issuing state or organisation.
    IssuingState,
    /// The whole name field of the zone (when reading).
    Name,
    /// The primary identifier (when building).
    Surname,
    /// The secondary identifier (when building).
    GivenNames,
    /// The document number.
    DocumentNumber,
    /// The nationality.
    Nationality,
    /// The date of birth.
    DateOfBirth,
    /// The sex.
    Sex,
    /// The date of expiry.
    DateOfExpiry,
    /// The TD3 personal number.
    PersonalNumber,
    /// The MRV-A optional data, or TD1 line 1 optional data.
    OptionalData,
    /// The TD1 line 2 optional data.
    OptionalData2,
    /// The composite check digit over the whole zone (TD1, TD3).
    Composite,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::DocumentCode => "document code",
            Field::IssuingState => "issuing state",
            Field::Name => "name",
            Field::Surname => "surname",
            Field::GivenNames => "given names",
            Field::DocumentNumber => "document number",
            Field::Nationality => "nationality",
            Field::DateOfBirth => "date of birth",
            Field::Sex => "sex",
            Field::DateOfExpiry => "date of expiry",
            Field::PersonalNumber => "personal number",
            Field::OptionalData => "optional data",
            Field::OptionalData2 => "second optional data",
            Field::Composite => "composite",
        })
    }
}

/// One reason a zone is invalid, could not be built, or a document is not
/// valid on a given day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// The text has none of the supported layouts (line count, or a 2-line
    /// zone that is neither a passport nor a visa).
    #[error("not a supported machine-readable zone: {0}")]
    Format(String),
    /// A line is too short or too long for the detected format.
    #[error("line {line} has {found} characters, expected {expected}")]
    Length {
        /// 1-based line number.
        line: usize,
        /// The format's line length.
        expected: usize,
        /// The line's length, in characters.
        found: usize,
    },
    /// The first character of a line outside `A-Z`, `0-9` and `<`.
    #[error("line {line}, column {column}: '{found}' is not allowed (only A-Z, 0-9 and <)")]
    Character {
        /// 1-based line number.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// The offending character.
        found: char,
    },
    /// A check digit does not match the field it protects.
    #[error("{field} check digit is {found}, expected {expected}")]
    CheckDigit {
        /// The protected field, or [`Field::Composite`].
        field: Field,
        /// The digit computed from the field.
        expected: char,
        /// The character printed in the zone.
        found: char,
    },
    /// A date is not YYMMDD digits, or not a day of the calendar in the
    /// century it resolves to.
    #[error("{field} {value} is not a valid date (YYMMDD)")]
    Date {
        /// [`Field::DateOfBirth`] or [`Field::DateOfExpiry`].
        field: Field,
        /// The six characters as printed.
        value: String,
    },
    /// The sex is not `M`, `F`, `X` or `<`.
    #[error("sex '{found}' is not M, F, X or <")]
    Sex {
        /// The character printed in the zone.
        found: char,
    },
    /// An issuing state or nationality that is not one to three letters
    /// padded with fillers.
    #[error("{field} '{value}' is not a state code (three letters, or fewer padded with <)")]
    StateCode {
        /// [`Field::IssuingState`] or [`Field::Nationality`].
        field: Field,
        /// The code as printed or given.
        value: String,
    },
    /// A document code that does not belong to the format.
    #[error("document code '{value}' is not valid for {format}: {}", code_rule(*.format))]
    DocumentCode {
        /// The format being read or built.
        format: Format,
        /// The code as printed or given.
        value: String,
    },
    /// A field that must have a value has none.
    #[error("{field} is empty")]
    Empty {
        /// The empty field.
        field: Field,
    },
    /// A field holds characters it cannot hold.
    #[error("{field} '{value}' {reason}")]
    Invalid {
        /// The field.
        field: Field,
        /// The value as printed or given.
        value: String,
        /// Why, completing the sentence "{field} '{value}' …".
        reason: &'static str,
    },
    /// A value does not fit its field (when building).
    #[error("{field} has {found} characters but only {max} fit")]
    TooLong {
        /// The field.
        field: Field,
        /// How many characters fit.
        max: usize,
        /// How many were given.
        found: usize,
    },
    /// The document's expiry date is before the day it was checked on.
    #[error("document expired on {expiry} (checked on {on})")]
    Expired {
        /// The last day the document was valid.
        expiry: NaiveDate,
        /// The day it was checked on.
        on: NaiveDate,
    },
}

fn code_rule(format: Format) -> &'static str {
    match format {
        Format::Td3 => "a passport code starts with P, then a letter or <",
        Format::MrvA => "a visa code starts with V, then a letter or <",
        Format::Td1 => "a TD1 code starts with A, C or I, then a letter or <",
    }
}

/// Every reason a zone failed, in the order of the zone; never empty.
///
/// Reading stops at the first structural failure (format, then line lengths
/// and characters, all lines at once), because field positions mean nothing
/// in a malformed zone. Otherwise every field failure is reported: each check
/// digit, date, code, name and sex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrzErrors(Vec<MrzError>);

impl MrzErrors {
    /// The first failure, in the order of the zone.
    pub fn first(&self) -> &MrzError {
        // Provably safe: every constructor refuses an empty list.
        &self.0[0]
    }

    /// Every failure.
    pub fn as_slice(&self) -> &[MrzError] {
        &self.0
    }

    /// Iterates over every failure.
    pub fn iter(&self) -> std::slice::Iter<'_, MrzError> {
        self.0.iter()
    }

    /// Every failure, owned.
    pub fn into_vec(self) -> Vec<MrzError> {
        self.0
    }
}

impl From<MrzError> for MrzErrors {
    fn from(error: MrzError) -> Self {
        MrzErrors(vec![error])
    }
}

impl fmt::Display for MrzErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for MrzErrors {}

/// Collects failures so that every one is reported, not just the first.
#[derive(Debug, Default)]
pub(crate) struct Failures(Vec<MrzError>);

impl Failures {
    pub(crate) fn push(&mut self, error: MrzError) {
        self.0.push(error);
    }

    /// The value, or `placeholder` after recording the failure: a value read
    /// after a failure is never returned, because [`Failures::or_ok`] then
    /// returns the failures.
    pub(crate) fn keep<T>(&mut self, result: Result<T, MrzError>, placeholder: T) -> T {
        result.unwrap_or_else(|error| {
            self.0.push(error);
            placeholder
        })
    }

    /// `Ok(value)` if nothing failed, else every failure.
    pub(crate) fn or_ok<T>(self, value: T) -> Result<T, MrzErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(MrzErrors(self.0))
        }
    }
}

impl IntoIterator for MrzErrors {
    type Item = MrzError;
    type IntoIter = std::vec::IntoIter<MrzError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a MrzErrors {
    type Item = &'a MrzError;
    type IntoIter = std::slice::Iter<'a, MrzError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
