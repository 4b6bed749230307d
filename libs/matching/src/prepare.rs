//! A record made ready to compare: every name transliterated to Latin
//! letters and folded, phonetic keys computed, dates and codes parsed, once
//! per record rather than once per comparison.

use std::sync::LazyLock;

use rphonetic::{DoubleMetaphone, Encoder};

use crate::record::{BirthDate, Record};

static METAPHONE: LazyLock<DoubleMetaphone> = LazyLock::new(DoubleMetaphone::default);

/// Transliterates `text` to Latin letters (Cyrillic, Greek, Arabic, Han and
/// every other script `deunicode` knows), drops accents, apostrophes and
/// full stops, upper-cases, and separates words by one space: `Анна-Мария
/// O'Brien` → `ANNA MARIYA OBRIEN`.
pub fn fold(text: &str) -> String {
    let latin = deunicode::deunicode(text);
    let mut folded = String::with_capacity(latin.len());
    for c in latin.chars() {
        match c {
            '\'' | '`' | '.' => {}
            c if c.is_ascii_alphanumeric() => folded.push(c.to_ascii_uppercase()),
            _ => folded.push(' '),
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The Double Metaphone primary key of a folded word (`""` for none).
pub fn phonetic(word: &str) -> String {
    if word.is_empty() {
        return String::new();
    }
    METAPHONE.encode(word)
}

/// A record ready to compare.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prepared {
    /// Folded given names, words joined by a space.
    pub given: String,
    /// The given names' words.
    pub given_words: Vec<String>,
    /// Folded surname, words joined by a space.
    pub surname: String,
    /// The surname without spaces (`MAC DONALD` = `MACDONALD`).
    pub surname_compact: String,
    /// The surname's words.
    pub surname_words: Vec<String>,
    /// Phonetic key of the first given name.
    pub given_key: String,
    /// Phonetic key of the compact surname.
    pub surname_key: String,
    /// Date of birth, when readable.
    pub date_of_birth: Option<BirthDate>,
    /// `M`, `F` or `X`.
    pub sex: Option<char>,
    /// Upper-case nationality code.
    pub nationality: Option<String>,
    /// Postcode, upper case, no spaces.
    pub postcode: Option<String>,
    /// The address lines' folded words, sorted, without repeats.
    pub address_words: Vec<String>,
    /// Folded locality.
    pub locality: Option<String>,
    /// `(scheme, value)`, both upper case, value alphanumeric only.
    pub identifiers: Vec<(String, String)>,
}

impl Prepared {
    /// Prepares `record`.
    pub fn new(record: &Record) -> Self {
        let given = fold(&record.given_names);
        let surname = fold(&record.surname);
        let words = |s: &str| {
            s.split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let given_words = words(&given);
        let surname_words = words(&surname);
        let surname_compact: String = surname_words.concat();
        let given_key = phonetic(given_words.first().map_or("", String::as_str));
        let surname_key = phonetic(&surname_compact);
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let address = record.address.as_ref();
        let mut address_words: Vec<String> = address
            .map(|a| a.lines.iter().flat_map(|l| words(&fold(l))).collect())
            .unwrap_or_default();
        address_words.sort_unstable();
        address_words.dedup();
        let postcode = address
            .and_then(|a| a.postcode.as_deref())
            .map(|p| fold(p).replace(' ', ""))
            .and_then(non_empty);
        let locality = address
            .and_then(|a| a.locality.as_deref())
            .map(fold)
            .and_then(non_empty);
        let identifiers = record
            .identifiers
            .iter()
            .map(|id| (fold(&id.scheme), fold(&id.value).replace(' ', "")))
            .filter(|(scheme, value)| !scheme.is_empty() && !value.is_empty())
            .collect();
        Self {
            given,
            given_words,
            surname,
            surname_compact,
            surname_words,
            given_key,
            surname_key,
            date_of_birth: record.date_of_birth.as_deref().and_then(BirthDate::parse),
            sex: record.sex.as_deref().and_then(sex),
            nationality: record.nationality.as_deref().map(fold).and_then(non_empty),
            postcode,
            address_words,
            locality,
            identifiers,
        }
    }
}

fn sex(text: &str) -> Option<char> {
    match fold(text).as_str() {
        "M" | "MALE" => Some('M'),
        "F" | "FEMALE" => Some('F'),
        "X" => Some('X'),
        _ => None,
    }
}

/// A prepared record of names and a date of birth only (tests).
#[cfg(test)]
pub(crate) fn named(given: &str, surname: &str, born: &str) -> Prepared {
    Prepared::new(&Record {
        given_names: given.into(),
        surname: surname.into(),
        date_of_birth: Some(born.into()),
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_scripts_are_transliterated_to_latin() {
        assert_eq!(fold("Иван Петров"), "IVAN PETROV");
        assert_eq!(fold("Γιώργος"), "GIORGOS");
        assert_eq!(fold("Anne-Marie O'Brien"), "ANNE MARIE OBRIEN");
        assert_eq!(fold("Müller"), "MULLER");
        assert!(!fold("محمد").is_empty());
    }

    #[test]
    fn transliterated_names_share_phonetic_keys_with_their_latin_spelling() {
        let cyrillic = Prepared::new(&Record {
            given_names: "Александр".into(),
            surname: "Иванов".into(),
            ..Record::default()
        });
        let latin = Prepared::new(&Record {
            given_names: "Alexander".into(),
            surname: "Ivanov".into(),
            ..Record::default()
        });
        assert_eq!(cyrillic.surname, latin.surname);
        assert_eq!(cyrillic.given_key, latin.given_key);
    }
}
