//! Writing a zone from an applicant's details.

use crate::check::{digit, is_mrz_char};
use crate::dates;
use crate::error::{Failures, Field, MrzError, MrzErrors};
use crate::layout::{
    DOCUMENT_NUMBER, MRVA_OPTIONAL_DATA, TD1_OPTIONAL_DATA, TD1_OPTIONAL_DATA_2,
    TD3_PERSONAL_NUMBER, pad, td1_composite, td3_composite, trim,
};
use crate::model::{Format, MrzFields};
use crate::names;
use crate::parse::{document_code, state_code};

/// Writes the zone for `fields` in `format`: the lines joined by `\n`, with
/// every check digit computed.
///
/// Names are transliterated per 9303 part 3 §6 (Ä → AE, Ø → OE, ß → SS, other
/// accents dropped, other scripts romanised; spaces and hyphens become `<`,
/// apostrophes are omitted). A name too long for the field loses characters
/// from its given names first, the last given name first, each kept to at
/// least its initial; if that is not enough the field is cut at its width,
/// so the surname keeps priority. A document number longer than
/// nine characters is refused for TD3 and MRV-A; in TD1 it continues in the
/// optional data (9303 part 5 §4.2.4, note j), leaving less room there.
/// Every unusable field is reported, not just the first.
///
/// For names that need no transliteration or truncation,
/// [`crate::parse_on`] gives the fields back, provided the reference date
/// resolves both dates' centuries as they were.
pub fn build(fields: &MrzFields, format: Format) -> Result<String, MrzErrors> {
    let mut failures = Failures::default();
    let code = failures.keep(code_field(format, &fields.document_code), String::new());
    let issuing_state = failures.keep(
        state_field(Field::IssuingState, &fields.issuing_state),
        String::new(),
    );
    let nationality = failures.keep(
        state_field(Field::Nationality, &fields.nationality),
        String::new(),
    );
    let name = name_field(&mut failures, fields, format.name_width());
    let number = failures.keep(number_text(&fields.document_number), String::new());
    let (optional_max, optional_field) = match format {
        Format::Td3 => (TD3_PERSONAL_NUMBER, Field::PersonalNumber),
        Format::MrvA => (MRVA_OPTIONAL_DATA, Field::OptionalData),
        Format::Td1 => (TD1_OPTIONAL_DATA, Field::OptionalData),
    };
    let optional = failures.keep(
        optional_text(optional_field, &fields.optional_data, optional_max),
        String::new(),
    );
    let optional_2 = match format {
        Format::Td1 => failures.keep(
            optional_text(
                Field::OptionalData2,
                &fields.optional_data_2,
                TD1_OPTIONAL_DATA_2,
            ),
            String::new(),
        ),
        Format::Td3 | Format::MrvA => {
            if !trim(fields.optional_data_2.trim()).is_empty() {
                failures.push(MrzError::Invalid {
                    field: Field::OptionalData2,
                    value: fields.optional_data_2.clone(),
                    reason: "cannot be written: only TD1 has a second optional data field",
                });
            }
            String::new()
        }
    };
    if format != Format::Td1 && number.len() > DOCUMENT_NUMBER {
        failures.push(MrzError::TooLong {
            field: Field::DocumentNumber,
            max: DOCUMENT_NUMBER,
            found: number.len(),
        });
    }
    let td1_line1 = match format {
        Format::Td1 => failures.keep(td1_number(&number, &optional), String::new()),
        Format::Td3 | Format::MrvA => String::new(),
    };
    failures.or_ok(())?;

    let birth = dates::encode(fields.date_of_birth);
    let expiry = dates::encode(fields.date_of_expiry);
    let sex = fields.sex.code();
    let lines = match format {
        Format::Td3 | Format::MrvA => {
            let number = pad(&number, DOCUMENT_NUMBER);
            let mut line2 = format!(
                "{number}{}{nationality}{birth}{}{sex}{expiry}{}",
                digit(&number),
                digit(&birth),
                digit(&expiry)
            );
            if format == Format::Td3 {
                let personal = pad(&optional, TD3_PERSONAL_NUMBER);
                // An unused personal number has `<` as its check digit.
                let personal_digit = if optional.is_empty() {
                    '<'
                } else {
                    digit(&personal)
                };
                line2.push_str(&personal);
                line2.push(personal_digit);
                line2.push(digit(&td3_composite(&line2)));
            } else {
                line2.push_str(&pad(&optional, MRVA_OPTIONAL_DATA));
            }
            let line1 = format!("{code}{issuing_state}{}", pad(&name, format.name_width()));
            vec![line1, line2]
        }
        Format::Td1 => {
            let line1 = format!("{code}{issuing_state}{td1_line1}");
            let mut line2 = format!(
                "{birth}{}{sex}{expiry}{}{nationality}{}",
                digit(&birth),
                digit(&expiry),
                pad(&optional_2, TD1_OPTIONAL_DATA_2)
            );
            line2.push(digit(&td1_composite(&line1, &line2)));
            vec![line1, line2, pad(&name, format.name_width())]
        }
    };
    debug_assert!(lines.iter().all(|l| l.len() == format.line_length()));
    Ok(lines.join("\n"))
}

/// The document code, padded to its two characters.
fn code_field(format: Format, given: &str) -> Result<String, MrzError> {
    let code = given.trim().to_ascii_uppercase();
    let field = pad(&code, 2.max(code.len()));
    document_code(format, &field)
        .map(|_| field)
        .map_err(|_| MrzError::DocumentCode {
            format,
            value: given.to_owned(),
        })
}

/// An issuing state or nationality, padded to its three characters.
fn state_field(which: Field, given: &str) -> Result<String, MrzError> {
    let code = given.trim().to_ascii_uppercase();
    let field = pad(&code, 3.max(code.len()));
    state_code(which, &field)
        .map(|_| field)
        .map_err(|_| MrzError::StateCode {
            field: which,
            value: given.to_owned(),
        })
}

fn name_field(failures: &mut Failures, fields: &MrzFields, width: usize) -> String {
    let mut words = |field: Field, given: &str| {
        let words = names::transliterate(given).ok_or_else(|| MrzError::Invalid {
            field,
            value: given.to_owned(),
            reason: "holds digits, which a name in a machine-readable zone cannot",
        });
        failures.keep(words.map(Some), None)
    };
    let surname = words(Field::Surname, &fields.surname);
    let given_names = words(Field::GivenNames, &fields.given_names);
    if surname.as_ref().is_some_and(Vec::is_empty) {
        // 9303: someone with a single name has it as the primary identifier.
        failures.push(MrzError::Empty {
            field: Field::Surname,
        });
    }
    names::fit(
        &surname.unwrap_or_default(),
        &given_names.unwrap_or_default(),
        width,
    )
}

fn number_text(given: &str) -> Result<String, MrzError> {
    let number = given.trim().to_ascii_uppercase();
    if number.is_empty() {
        Err(MrzError::Empty {
            field: Field::DocumentNumber,
        })
    } else if !number
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        Err(MrzError::Invalid {
            field: Field::DocumentNumber,
            value: given.to_owned(),
            reason: "holds characters other than letters and digits",
        })
    } else {
        Ok(number)
    }
}

/// Optional data: upper-cased, spaces as fillers, trailing fillers dropped
/// (reading drops them too).
fn optional_text(field: Field, given: &str, max: usize) -> Result<String, MrzError> {
    let upper = given.trim().to_ascii_uppercase().replace(' ', "<");
    let data = trim(&upper);
    if !data.chars().all(is_mrz_char) {
        Err(MrzError::Invalid {
            field,
            value: given.to_owned(),
            reason: "holds characters other than letters, digits and <",
        })
    } else if data.len() > max {
        Err(MrzError::TooLong {
            field,
            max,
            found: data.len(),
        })
    } else {
        Ok(data.to_owned())
    }
}

/// TD1 line 1 from position 6: the document number, its check digit and the
/// optional data. A number longer than nine characters continues in the
/// optional data (9303 part 5 §4.2.4, note j): `<` in the check digit's
/// place, then the rest of the number, its check digit and a filler.
fn td1_number(number: &str, optional: &str) -> Result<String, MrzError> {
    if number.len() <= DOCUMENT_NUMBER {
        let field = pad(number, DOCUMENT_NUMBER);
        return Ok(format!(
            "{field}{}{}",
            digit(&field),
            pad(optional, TD1_OPTIONAL_DATA)
        ));
    }
    let (head, rest) = number.split_at(DOCUMENT_NUMBER);
    let mut tail = format!("{rest}{}", digit(number));
    // The filler ends the continuation; it may only be left out when the
    // continuation fills the field and there is no optional data.
    if tail.len() < TD1_OPTIONAL_DATA {
        tail.push('<');
    }
    tail.push_str(optional);
    if tail.len() > TD1_OPTIONAL_DATA {
        let max = if optional.is_empty() {
            DOCUMENT_NUMBER + TD1_OPTIONAL_DATA - 1
        } else {
            (DOCUMENT_NUMBER + TD1_OPTIONAL_DATA - 2)
                .saturating_sub(optional.len())
                .max(DOCUMENT_NUMBER)
        };
        return Err(MrzError::TooLong {
            field: Field::DocumentNumber,
            max,
            found: number.len(),
        });
    }
    Ok(format!("{head}<{}", pad(&tail, TD1_OPTIONAL_DATA)))
}
