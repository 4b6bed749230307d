//! ICAO Doc 9303 (8th edition) machine-readable zones: TD1 identity cards
//! (part 5), TD3 passports (part 4) and MRV-A visa vignettes (part 7).
//!
//! This crate owns the MRZ text format and nothing else: it reads a zone into
//! an [`Mrz`] with every reason it is invalid ([`parse`], [`parse_on`]), and
//! writes one from an applicant's details ([`build`]), transliterating names
//! per 9303 part 3. It also holds 9303 part 3's list of state and
//! organisation codes ([`is_state_code`], from `data/icao-9303-codes.toml`),
//! which reading a zone does not use. It never decides whether a document is acceptable for a
//! product — that is the Identify service's rule — and it never does I/O.
//!
//! ```
//! use chrono::NaiveDate;
//! use casework_mrz::{Field, MrzError, parse_on};
//!
//! let today = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
//! let mrz = parse_on(
//!     "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n\
//!      L898902C36UTO7408122F1204159ZE184226B<<<<<10",
//!     today,
//! )
//! .unwrap();
//! assert_eq!(mrz.surname, "ERIKSSON");
//! assert_eq!(mrz.given_names, "ANNA MARIA");
//! assert!(mrz.check_expiry(today).is_err());
//!
//! // A misread check digit names the field and both digits.
//! let errors = parse_on(
//!     "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n\
//!      L898902C37UTO7408122F1204159ZE184226B<<<<<10",
//!     today,
//! )
//! .unwrap_err();
//! assert_eq!(
//!     errors.first(),
//!     &MrzError::CheckDigit { field: Field::DocumentNumber, expected: '6', found: '7' }
//! );
//! assert_eq!(errors.to_string(), "document number check digit is 7, expected 6");
//! ```

mod build;
mod check;
mod codes;
mod dates;
mod error;
mod format;
mod layout;
mod model;
mod names;
mod parse;

pub use build::build;
pub use check::check_digit;
pub use codes::{is_state_code, state_codes, state_name};
pub use error::{Field, MrzError, MrzErrors};
pub use model::{Format, Mrz, MrzFields, Sex};
pub use parse::{parse, parse_on};
