//! What a machine-readable zone says, once read, and what it is built from.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::MrzError;
pub use crate::format::Format;

/// The holder's sex as the zone records it; serialised as `male`, `female`,
/// `unspecified`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `<`, or `X` which some states print; built as `<` per 9303.
    Unspecified,
}

impl Sex {
    /// The character written in the zone.
    pub const fn code(self) -> char {
        match self {
            Sex::Male => 'M',
            Sex::Female => 'F',
            Sex::Unspecified => '<',
        }
    }

    pub(crate) const fn from_code(code: char) -> Option<Sex> {
        match code {
            'M' => Some(Sex::Male),
            'F' => Some(Sex::Female),
            '<' | 'X' => Some(Sex::Unspecified),
            _ => None,
        }
    }
}

/// A zone that has been read and passed every check.
///
/// Text fields are as printed in the zone with trailing fillers removed
/// (`D<<` is `D`, `P<` is `P`); in names a single `<` becomes a space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mrz {
    /// Which layout the zone uses.
    pub format: Format,
    /// `P`, `PD`, `V`, `VI`, `I`, `ID`, …: the document type and the issuer's
    /// sub-type.
    pub document_code: String,
    /// The issuing state or organisation (ISO 3166 alpha-3 or a 9303 code
    /// such as `D` or `UTO`).
    pub issuing_state: String,
    /// The primary identifier, usually the family name.
    pub surname: String,
    /// The secondary identifier: given names separated by spaces; empty when
    /// the holder has one name.
    pub given_names: String,
    /// The document number, including the TD1 continuation when it is longer
    /// than nine characters.
    pub document_number: String,
    /// The holder's nationality, same code list as the issuing state.
    pub nationality: String,
    /// The date of birth, century resolved as described on [`crate::parse_on`].
    pub date_of_birth: NaiveDate,
    /// The holder's sex.
    pub sex: Sex,
    /// The last day the document is valid.
    pub date_of_expiry: NaiveDate,
    /// TD3: the personal number. MRV-A: the optional data. TD1: the optional
    /// data on line 1 (after a long document number's continuation).
    /// Internal fillers are kept because their positions are the issuer's.
    pub optional_data: String,
    /// TD1 only: the optional data on line 2. Always empty for TD3 and MRV-A.
    pub optional_data_2: String,
}

impl Mrz {
    /// Whether the document is still valid on `on`: it is through its expiry
    /// date, and [`MrzError::Expired`] from the day after.
    pub fn check_expiry(&self, on: NaiveDate) -> Result<(), MrzError> {
        if self.date_of_expiry < on {
            Err(MrzError::Expired {
                expiry: self.date_of_expiry,
                on,
            })
        } else {
            Ok(())
        }
    }
}

/// The details a zone is built from, as the applicant gave them.
///
/// Names may be in any script: [`crate::build`] transliterates them. Codes,
/// the document number and optional data must already be in the MRZ alphabet
/// (letters are upper-cased, spaces in optional data become fillers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrzFields {
    /// `P` or `PX` for TD3, `V` or `VX` for MRV-A, `A`, `C` or `I` (+ one
    /// letter) for TD1.
    pub document_code: String,
    /// One to three letters; shorter codes are padded with fillers.
    pub issuing_state: String,
    /// The primary identifier.
    pub surname: String,
    /// The secondary identifier, given names separated by spaces.
    pub given_names: String,
    /// Letters and digits; at most 9 characters except in TD1.
    pub document_number: String,
    /// One to three letters.
    pub nationality: String,
    /// Only the last two digits of the year are written.
    pub date_of_birth: NaiveDate,
    /// The holder's sex.
    pub sex: Sex,
    /// Only the last two digits of the year are written.
    pub date_of_expiry: NaiveDate,
    /// TD3 personal number (14), MRV-A optional data (16) or TD1 line 1
    /// optional data (15, less a long document number's continuation).
    pub optional_data: String,
    /// TD1 line 2 optional data (11); must be empty for TD3 and MRV-A.
    pub optional_data_2: String,
}

impl From<&Mrz> for MrzFields {
    fn from(mrz: &Mrz) -> Self {
        MrzFields {
            document_code: mrz.document_code.clone(),
            issuing_state: mrz.issuing_state.clone(),
            surname: mrz.surname.clone(),
            given_names: mrz.given_names.clone(),
            document_number: mrz.document_number.clone(),
            nationality: mrz.nationality.clone(),
            date_of_birth: mrz.date_of_birth,
            sex: mrz.sex,
            date_of_expiry: mrz.date_of_expiry,
            optional_data: mrz.optional_data.clone(),
            optional_data_2: mrz.optional_data_2.clone(),
        }
    }
}
