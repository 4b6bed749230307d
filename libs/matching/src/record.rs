//! A person's record as sources give it: names as written (any script), and
//! whatever else is known. Only a name is required; every other field is
//! optional, and a malformed optional field is read as absent rather than
//! rejected, so a record is matched on what it has.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::MatchingError;

/// A person as one source records them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Given names, in order, as written.
    #[serde(default)]
    pub given_names: String,
    /// Surname (family name), as written.
    #[serde(default)]
    pub surname: String,
    /// `YYYY-MM-DD`, `YYYYMMDD`, `YYYY-MM` or `YYYY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// `M`, `F` or `X` (any case; `male`/`female` read too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<String>,
    /// ISO 3166 alpha-3 (or any code the sources share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// Where they live.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Document numbers and other identifiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<Identifier>,
}

/// An address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Street lines, first first.
    #[serde(default)]
    pub lines: Vec<String>,
    /// Town or suburb.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Postcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
}

/// An identifier in a scheme (`passport:GBR`, `nino`, `ssn`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identifier {
    /// The scheme: only identifiers of one scheme are compared.
    pub scheme: String,
    /// The value.
    pub value: String,
}

impl Record {
    /// Reads a record from JSON leniently: `given_names` and `surname` must
    /// be strings, at least one of them with a letter; every other field is
    /// taken when it has the documented shape and ignored when it does not.
    pub fn from_value(value: &Value) -> Result<Self, MatchingError> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let given_names = text("given_names").unwrap_or_default();
        let surname = text("surname").unwrap_or_default();
        if !given_names
            .chars()
            .chain(surname.chars())
            .any(char::is_alphanumeric)
        {
            return Err(MatchingError::Record(
                "`given_names` or `surname` must be a string with a letter".into(),
            ));
        }
        let address = value.get("address").filter(|a| a.is_object()).map(|a| {
            let field = |key: &str| a.get(key).and_then(Value::as_str).map(str::to_owned);
            Address {
                lines: a
                    .get("lines")
                    .and_then(Value::as_array)
                    .map(|lines| {
                        lines
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                locality: field("locality"),
                postcode: field("postcode"),
            }
        });
        let identifiers = value
            .get("identifiers")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| {
                        Some(Identifier {
                            scheme: id.get("scheme")?.as_str()?.to_owned(),
                            value: id.get("value")?.as_str()?.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            given_names,
            surname,
            date_of_birth: text("date_of_birth"),
            sex: text("sex"),
            nationality: text("nationality"),
            address,
            identifiers,
        })
    }
}

/// A date of birth, possibly only partly known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate {
    /// The year.
    pub year: u16,
    /// Month and day, when known.
    pub month_day: Option<(u8, u8)>,
}

impl BirthDate {
    /// Reads `YYYY-MM-DD`, `YYYYMMDD` or `YYYY` (a year alone, or a
    /// `YYYY-MM` whose day is unknown); `None` for anything else, including
    /// impossible months and days.
    pub fn parse(text: &str) -> Option<Self> {
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let separators_ok = text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '/' || c.is_whitespace());
        if !separators_ok {
            return None;
        }
        let year: u16 = digits.get(..4)?.parse().ok()?;
        if !(1800..=2200).contains(&year) {
            return None;
        }
        match digits.len() {
            4 | 6 => Some(Self {
                year,
                month_day: None,
            }),
            8 => {
                let month: u8 = digits[4..6].parse().ok()?;
                let day: u8 = digits[6..8].parse().ok()?;
                ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some(Self {
                    year,
                    month_day: Some((month, day)),
                })
            }
            _ => None,
        }
    }

    /// `YYYYMMDD`, or `YYYY` when only the year is known.
    pub fn digits(&self) -> String {
        match self.month_day {
            Some((m, d)) => format!("{:04}{:02}{:02}", self.year, m, d),
            None => format!("{:04}", self.year),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_of_birth_are_read_in_the_forms_sources_use() {
        let full = Some(BirthDate {
            year: 1980,
            month_day: Some((4, 9)),
        });
        assert_eq!(BirthDate::parse("1980-04-09"), full);
        assert_eq!(BirthDate::parse("19800409"), full);
        assert_eq!(BirthDate::parse("1980").unwrap().month_day, None);
        assert_eq!(BirthDate::parse("1980-04").unwrap().month_day, None);
        assert_eq!(BirthDate::parse("1980-13-01"), None);
        assert_eq!(BirthDate::parse("nineteen"), None);
        assert_eq!(BirthDate::parse("1980-4-9x"), None);
    }

    #[test]
    fn malformed_optional_fields_are_read_as_absent() {
        let record = Record::from_value(&json!({
            "given_names": "Anna", "surname": "Ivanova",
            "date_of_birth": 1980, "sex": ["F"], "address": "somewhere",
            "identifiers": [{"scheme": "nino"}, {"scheme": "nino", "value": "QQ123456C"}]
        }))
        .unwrap();
        assert_eq!(record.date_of_birth, None);
        assert_eq!(record.sex, None);
        assert_eq!(record.address, None);
        assert_eq!(record.identifiers.len(), 1);
        assert!(Record::from_value(&json!({"given_names": "", "surname": "--"})).is_err());
        assert!(Record::from_value(&json!({"surname": 7})).is_err());
    }
}
