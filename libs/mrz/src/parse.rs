//! Reading a zone: its layout first, then every field.

use chrono::{NaiveDate, Utc};

use crate::check::{self, is_mrz_char};
use crate::dates;
use crate::error::{Failures, Field, MrzError, MrzErrors};
use crate::layout::{at, char_at, td1_composite, td3_composite, trim};
use crate::model::{Format, Mrz, Sex};
use crate::names;

/// Reads a zone, resolving two-digit years against today's date (UTC).
///
/// See [`parse_on`] for what is accepted and checked.
pub fn parse(mrz: &str) -> Result<Mrz, MrzErrors> {
    parse_on(mrz, Utc::now().date_naive())
}

/// Reads a zone, resolving two-digit years against `reference`.
///
/// `mrz` is the lines separated by `\n` or `\r\n`; whitespace around each
/// line and around the whole text is ignored. The format comes from the
/// shape: 3 lines of 30 is TD1; 2 lines of 44 is TD3 if the document code
/// starts with `P` and MRV-A if it starts with `V`.
///
/// Centuries: the date of birth is the latest date with its digits that is
/// not after `reference`; the date of expiry is the one in
/// [`reference` − 50 years, `reference` + 50 years).
///
/// On failure, every reason is returned (see [`MrzErrors`]): a malformed
/// layout stops reading, otherwise each check digit, date, code, name and
/// the sex are all checked. The composite check digit is only checked when
/// the check digits of the fields it covers are right, since one misread
/// digit would otherwise be reported twice. Expiry is not checked here: see
/// [`Mrz::check_expiry`].
pub fn parse_on(mrz: &str, reference: NaiveDate) -> Result<Mrz, MrzErrors> {
    let lines: Vec<&str> = mrz.trim().lines().map(str::trim).collect();
    let format = detect(&lines)?;
    check_lines(&lines, format)?;
    let mut reader = Reader {
        reference,
        failures: Failures::default(),
        check_digit_failed: false,
    };
    let mrz = match (format, lines.as_slice()) {
        (Format::Td1, [line1, line2, line3]) => reader.td1(line1, line2, line3),
        (_, [line1, line2]) => reader.two_lines(format, line1, line2),
        // `detect` and `check_lines` have matched the line count to the format.
        _ => return Err(MrzError::Format(format!("{} lines", lines.len())).into()),
    };
    reader.failures.or_ok(mrz)
}

fn detect(lines: &[&str]) -> Result<Format, MrzError> {
    match lines {
        [] => Err(MrzError::Format("the text is empty".to_owned())),
        [_, _, _] => Ok(Format::Td1),
        [first, second] if first.chars().count() == 36 && second.chars().count() == 36 => {
            Err(MrzError::Format(
                "2 lines of 36 characters is a TD2 or MRV-B document, which is not supported"
                    .to_owned(),
            ))
        }
        [first, _] => match first.chars().next() {
            Some('P') => Ok(Format::Td3),
            Some('V') => Ok(Format::MrvA),
            other => Err(MrzError::Format(format!(
                "a 2-line zone starts with P (passport) or V (visa), this one starts with '{}'",
                other.unwrap_or(' ')
            ))),
        },
        [_] => Err(MrzError::Format(
            "1 line, expected 2 (passport, visa) or 3 (identity card)".to_owned(),
        )),
        _ => Err(MrzError::Format(format!(
            "{} lines, expected 2 (passport, visa) or 3 (identity card)",
            lines.len()
        ))),
    }
}

/// Every line's length and first bad character: fields have no meaning until
/// both are right.
fn check_lines(lines: &[&str], format: Format) -> Result<(), MrzErrors> {
    let mut failures = Failures::default();
    for (index, line) in lines.iter().enumerate() {
        let found = line.chars().count();
        if found != format.line_length() {
            failures.push(MrzError::Length {
                line: index + 1,
                expected: format.line_length(),
                found,
            });
        }
        if let Some((column, found)) = line.chars().enumerate().find(|(_, c)| !is_mrz_char(*c)) {
            failures.push(MrzError::Character {
                line: index + 1,
                column: column + 1,
                found,
            });
        }
    }
    failures.or_ok(())
}

/// Reads the fields of a zone whose lines have the right length and
/// alphabet, recording every failure.
struct Reader {
    reference: NaiveDate,
    failures: Failures,
    check_digit_failed: bool,
}

impl Reader {
    /// TD3 (9303 part 4 §4.2.2) and MRV-A (part 7 §4.2.2): the same line 1,
    /// and line 2 the same up to position 28.
    fn two_lines(&mut self, format: Format, line1: &str, line2: &str) -> Mrz {
        let document_code = self.code(format, at(line1, 1, 2));
        let issuing_state = self.state(Field::IssuingState, at(line1, 3, 5));
        let (surname, given_names) = self.name(at(line1, 6, 44));
        let document_number = self.number(at(line2, 1, 9), char_at(line2, 10));
        let nationality = self.state(Field::Nationality, at(line2, 11, 13));
        let date_of_birth = self.birth(at(line2, 14, 19), char_at(line2, 20));
        let sex = self.sex(char_at(line2, 21));
        let date_of_expiry = self.expiry(at(line2, 22, 27), char_at(line2, 28));
        let optional_data = match format {
            Format::Td3 => {
                let personal = at(line2, 29, 42);
                let digit = char_at(line2, 43);
                // 9303 part 4: an unused personal number may have `<` as its
                // check digit (or 0, which the check accepts anyway).
                if !(digit == '<' && trim(personal).is_empty()) {
                    self.check(Field::PersonalNumber, personal, digit);
                }
                self.composite(&td3_composite(line2), char_at(line2, 44));
                personal
            }
            // MRV-A has no composite check digit.
            _ => at(line2, 29, 44),
        };
        Mrz {
            format,
            document_code,
            issuing_state,
            surname,
            given_names,
            document_number,
            nationality,
            date_of_birth,
            sex,
            date_of_expiry,
            optional_data: trim(optional_data).to_owned(),
            optional_data_2: String::new(),
        }
    }

    /// TD1 (9303 part 5 §4.2.2).
    fn td1(&mut self, line1: &str, line2: &str, line3: &str) -> Mrz {
        let document_code = self.code(Format::Td1, at(line1, 1, 2));
        let issuing_state = self.state(Field::IssuingState, at(line1, 3, 5));
        let (document_number, optional_data) =
            self.td1_number(at(line1, 6, 14), char_at(line1, 15), at(line1, 16, 30));
        let date_of_birth = self.birth(at(line2, 1, 6), char_at(line2, 7));
        let sex = self.sex(char_at(line2, 8));
        let date_of_expiry = self.expiry(at(line2, 9, 14), char_at(line2, 15));
        let nationality = self.state(Field::Nationality, at(line2, 16, 18));
        let optional_data_2 = trim(at(line2, 19, 29)).to_owned();
        self.composite(&td1_composite(line1, line2), char_at(line2, 30));
        let (surname, given_names) = self.name(at(line3, 1, 30));
        Mrz {
            format: Format::Td1,
            document_code,
            issuing_state,
            surname,
            given_names,
            document_number,
            nationality,
            date_of_birth,
            sex,
            date_of_expiry,
            optional_data,
            optional_data_2,
        }
    }

    /// The TD1 document number and line 1 optional data. A number longer than
    /// nine characters (9303 part 5 §4.2.4, note j) fills positions 6–14, has
    /// `<` at 15, and continues at 16 with the rest of the number, its check
    /// digit (over the whole number) and a filler; optional data follows.
    fn td1_number(&mut self, field: &str, digit: char, optional: &str) -> (String, String) {
        if digit == '<' && !field.contains('<') {
            let end = optional.find('<').unwrap_or(optional.len());
            // At least one more character of the number, then its check digit.
            if end >= 2 {
                let number = format!("{field}{}", &optional[..end - 1]);
                self.check(Field::DocumentNumber, &number, char_at(optional, end));
                let rest = optional.get(end + 1..).unwrap_or_default();
                return (number, trim(rest).to_owned());
            }
        }
        (self.number(field, digit), trim(optional).to_owned())
    }

    /// Verifies a field's check digit.
    fn check(&mut self, field: Field, data: &str, found: char) {
        let expected = check::digit(data);
        if found != expected {
            self.check_digit_failed = true;
            self.failures.push(MrzError::CheckDigit {
                field,
                expected,
                found,
            });
        }
    }

    fn composite(&mut self, data: &str, found: char) {
        if !self.check_digit_failed {
            self.check(Field::Composite, data, found);
        }
    }

    fn code(&mut self, format: Format, field: &str) -> String {
        self.failures
            .keep(document_code(format, field), String::new())
    }

    fn state(&mut self, which: Field, field: &str) -> String {
        self.failures.keep(state_code(which, field), String::new())
    }

    fn name(&mut self, field: &str) -> (String, String) {
        self.failures.keep(name(field), Default::default())
    }

    fn number(&mut self, field: &str, digit: char) -> String {
        self.check(Field::DocumentNumber, field, digit);
        let number = trim(field);
        if number.is_empty() {
            self.failures.push(MrzError::Empty {
                field: Field::DocumentNumber,
            });
        }
        number.to_owned()
    }

    fn birth(&mut self, field: &str, digit: char) -> NaiveDate {
        self.check(Field::DateOfBirth, field, digit);
        let date = dates::birth(field, self.reference).ok_or_else(|| MrzError::Date {
            field: Field::DateOfBirth,
            value: field.to_owned(),
        });
        self.failures.keep(date, NaiveDate::MIN)
    }

    fn expiry(&mut self, field: &str, digit: char) -> NaiveDate {
        self.check(Field::DateOfExpiry, field, digit);
        let date = dates::expiry(field, self.reference).ok_or_else(|| MrzError::Date {
            field: Field::DateOfExpiry,
            value: field.to_owned(),
        });
        self.failures.keep(date, NaiveDate::MIN)
    }

    fn sex(&mut self, found: char) -> Sex {
        let sex = Sex::from_code(found).ok_or(MrzError::Sex { found });
        self.failures.keep(sex, Sex::Unspecified)
    }
}

/// A document code field (two characters) for `format`, without its filler.
pub(crate) fn document_code(format: Format, field: &str) -> Result<String, MrzError> {
    let mut chars = field.chars();
    let first = chars.next();
    let second = chars.next();
    let valid = matches!(
        (format, first),
        (Format::Td3, Some('P')) | (Format::MrvA, Some('V')) | (Format::Td1, Some('A' | 'C' | 'I'))
    ) && second.is_some_and(|c| c.is_ascii_uppercase() || c == '<')
        && chars.next().is_none();
    if valid {
        Ok(trim(field).to_owned())
    } else {
        Err(MrzError::DocumentCode {
            format,
            value: field.to_owned(),
        })
    }
}

/// An issuing state or nationality field (three characters): letters, then
/// fillers (`D<<`), without the fillers.
pub(crate) fn state_code(which: Field, field: &str) -> Result<String, MrzError> {
    let code = trim(field);
    if field.len() == 3 && !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code.to_owned())
    } else {
        Err(MrzError::StateCode {
            field: which,
            value: field.to_owned(),
        })
    }
}

/// The name field: surname and given names, words separated by spaces.
fn name(field: &str) -> Result<(String, String), MrzError> {
    if field.chars().any(|c| c.is_ascii_digit()) {
        return Err(MrzError::Invalid {
            field: Field::Name,
            value: trim(field).to_owned(),
            reason: "holds digits; a name holds only letters and <",
        });
    }
    if trim(field).is_empty() {
        return Err(MrzError::Empty { field: Field::Name });
    }
    Ok(names::read(field))
}
