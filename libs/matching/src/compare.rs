//! Comparing two prepared records field by field. Each field's comparison
//! gives a *level*, the first of its list that holds (best first, the last
//! always holds), or none when either record lacks the field — which then
//! counts for nothing either way. The model ([`crate::model`]) gives each
//! level its weight.

use serde::{Deserialize, Serialize};
use strsim::{damerau_levenshtein, jaro_winkler};

use crate::prepare::Prepared;

/// A compared field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Given names.
    GivenNames,
    /// Surname.
    Surname,
    /// Date of birth.
    DateOfBirth,
    /// Sex.
    Sex,
    /// Nationality.
    Nationality,
    /// Postcode.
    Postcode,
    /// Address lines.
    Address,
    /// Town or suburb.
    Locality,
    /// Identifiers of a shared scheme.
    Identifier,
}

/// How many fields are compared.
pub const FIELDS: usize = 9;

impl Field {
    /// Every field, in the order of a [`Comparison`].
    pub const ALL: [Field; FIELDS] = [
        Field::GivenNames,
        Field::Surname,
        Field::DateOfBirth,
        Field::Sex,
        Field::Nationality,
        Field::Postcode,
        Field::Address,
        Field::Locality,
        Field::Identifier,
    ];

    /// The field's name, as in model files and explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::GivenNames => "given_names",
            Field::Surname => "surname",
            Field::DateOfBirth => "date_of_birth",
            Field::Sex => "sex",
            Field::Nationality => "nationality",
            Field::Postcode => "postcode",
            Field::Address => "address",
            Field::Locality => "locality",
            Field::Identifier => "identifier",
        }
    }

    /// The field's levels, best first; the last always holds.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            // `first_name`: the first given names agree, or one record's
            // given names are among the other's (a missing middle name).
            Field::GivenNames => &[
                "exact",
                "jaro_winkler_0.92",
                "first_name",
                "jaro_winkler_0.80",
                "phonetic",
                "different",
            ],
            // `compound`: one surname is a part of the other (`GARCIA` of
            // `GARCIA LOPEZ`, `SMITH` of `SMITH-JONES`).
            Field::Surname => &[
                "exact",
                "compound",
                "jaro_winkler_0.92",
                "jaro_winkler_0.80",
                "phonetic",
                "different",
            ],
            Field::DateOfBirth => &[
                "exact",
                "day_month_swapped",
                "one_digit",
                "year_only",
                "different",
            ],
            Field::Sex | Field::Nationality => &["exact", "different"],
            // `district`: all but the last three characters agree (a UK
            // postcode's outward code).
            Field::Postcode => &["exact", "one_edit", "district", "different"],
            Field::Address => &["exact", "most_words", "some_words", "different"],
            Field::Locality => &["exact", "jaro_winkler_0.90", "different"],
            Field::Identifier => &["exact", "two_edits", "different"],
        }
    }

    /// The field at `index` of [`Field::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Each field's level (index into [`Field::levels`]), `None` where either
/// record lacks the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// Levels in [`Field::ALL`] order.
    pub levels: [Option<u8>; FIELDS],
    /// The given names and surname compared crosswise (one record has them
    /// the other way round).
    pub names_swapped: bool,
}

/// Compares `a` with `b`.
pub fn compare(a: &Prepared, b: &Prepared) -> Comparison {
    let mut levels = [None; FIELDS];
    let (given, surname, names_swapped) = names(a, b);
    levels[Field::GivenNames.index()] = given;
    levels[Field::Surname.index()] = surname;
    levels[Field::DateOfBirth.index()] = date_of_birth(a, b);
    levels[Field::Sex.index()] = both(a.sex, b.sex).map(|(x, y)| u8::from(x != y));
    levels[Field::Nationality.index()] =
        both(a.nationality.as_ref(), b.nationality.as_ref()).map(|(x, y)| u8::from(x != y));
    levels[Field::Postcode.index()] =
        both(a.postcode.as_ref(), b.postcode.as_ref()).map(|(x, y)| postcode(x, y));
    levels[Field::Address.index()] = address(&a.address_words, &b.address_words);
    levels[Field::Locality.index()] =
        both(a.locality.as_ref(), b.locality.as_ref()).map(|(x, y)| {
            if x == y {
                0
            } else if jaro_winkler(x, y) >= 0.90 {
                1
            } else {
                2
            }
        });
    levels[Field::Identifier.index()] = identifier(&a.identifiers, &b.identifiers);
    Comparison {
        levels,
        names_swapped,
    }
}

fn both<T>(a: Option<T>, b: Option<T>) -> Option<(T, T)> {
    a.zip(b)
}

/// Both name fields; crosswise when that agrees where the straight way
/// does not (the swapped names then count as `jaro_winkler_0.92`, never as
/// exact, since a swap is itself a small doubt).
fn names(a: &Prepared, b: &Prepared) -> (Option<u8>, Option<u8>, bool) {
    let given = given_names(
        &a.given,
        &a.given_words,
        &a.given_key,
        &b.given,
        &b.given_words,
        &b.given_key,
    );
    let surname = surname(a, b);
    let straight_good = given.is_some_and(|l| l <= 1) && surname.is_some_and(|l| l <= 2);
    if !straight_good && !a.given.is_empty() && !b.given.is_empty() {
        let crosswise = |x: &str, y: &str| x == y || jaro_winkler(x, y) >= 0.92;
        let swapped = crosswise(&a.given, &b.surname) && crosswise(&a.surname, &b.given)
            || crosswise(&a.given_words[0], &b.surname_compact)
                && crosswise(&a.surname_compact, &b.given_words[0]);
        if swapped {
            return (Some(1), Some(2), true);
        }
    }
    (given, surname, false)
}

fn given_names(
    a: &str,
    a_words: &[String],
    a_key: &str,
    b: &str,
    b_words: &[String],
    b_key: &str,
) -> Option<u8> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a == b {
        return Some(0);
    }
    let similarity = jaro_winkler(a, b);
    if similarity >= 0.92 {
        return Some(1);
    }
    let contained = |x: &[String], y: &[String]| x.iter().all(|w| y.contains(w));
    if a_words[0] == b_words[0] || contained(a_words, b_words) || contained(b_words, a_words) {
        return Some(2);
    }
    if similarity >= 0.80 {
        return Some(3);
    }
    if !a_key.is_empty() && a_key == b_key {
        return Some(4);
    }
    Some(5)
}

fn surname(a: &Prepared, b: &Prepared) -> Option<u8> {
    if a.surname_compact.is_empty() || b.surname_compact.is_empty() {
        return None;
    }
    if a.surname_compact == b.surname_compact {
        return Some(0);
    }
    let shared_word = a
        .surname_words
        .iter()
        .any(|w| w.len() > 1 && b.surname_words.contains(w));
    if shared_word && (a.surname_words.len() > 1 || b.surname_words.len() > 1) {
        return Some(1);
    }
    let similarity = jaro_winkler(&a.surname_compact, &b.surname_compact);
    if similarity >= 0.92 {
        return Some(2);
    }
    if similarity >= 0.80 {
        return Some(3);
    }
    if a.surname_key == b.surname_key {
        return Some(4);
    }
    Some(5)
}

fn date_of_birth(a: &Prepared, b: &Prepared) -> Option<u8> {
    let (x, y) = both(a.date_of_birth, b.date_of_birth)?;
    let level = match (x.month_day, y.month_day) {
        (Some(xm), Some(ym)) => {
            if x.year == y.year && xm == ym {
                0
            } else if x.year == y.year && xm == (ym.1, ym.0) {
                1
            } else if damerau_levenshtein(&x.digits(), &y.digits()) <= 1 {
                2
            } else {
                // Two full dates that differ otherwise differ, even in the
                // same year.
                4
            }
        }
        // One only a year: the most it can say is that the years agree.
        _ if x.year == y.year => 3,
        _ => 4,
    };
    Some(level)
}

fn postcode(a: &str, b: &str) -> u8 {
    if a == b {
        0
    } else if damerau_levenshtein(a, b) <= 1 {
        1
    } else if a.len() >= 5 && b.len() >= 5 && a[..a.len() - 3] == b[..b.len() - 3] {
        2
    } else {
        3
    }
}

fn address(a: &[String], b: &[String]) -> Option<u8> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    if a == b {
        return Some(0);
    }
    // Both sorted: count the shared words in one pass.
    let (mut i, mut j, mut shared) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let jaccard = shared as f64 / (a.len() + b.len() - shared) as f64;
    Some(if jaccard >= 0.6 {
        1
    } else if jaccard >= 0.3 {
        2
    } else {
        3
    })
}

fn identifier(a: &[(String, String)], b: &[(String, String)]) -> Option<u8> {
    let mut best = None;
    for (scheme, x) in a {
        for (_, y) in b.iter().filter(|(s, _)| s == scheme) {
            let level = if x == y {
                0
            } else if damerau_levenshtein(x, y) <= 2 {
                1
            } else {
                2
            };
            best = Some(best.map_or(level, |b: u8| b.min(level)));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::named as person;
    use crate::record::{Identifier, Record};

    fn level(c: &Comparison, field: Field) -> Option<&'static str> {
        c.levels[field.index()].map(|l| field.levels()[usize::from(l)])
    }

    #[test]
    fn names_compare_across_scripts_orders_and_missing_middle_names() {
        let c = compare(
            &person("Александр", "Иванов", "1980-04-09"),
            &person("Aleksandr", "Ivanov", "1980-04-09"),
        );
        assert_eq!(level(&c, Field::GivenNames), Some("exact"));
        assert_eq!(level(&c, Field::Surname), Some("exact"));
        let c = compare(
            &person("Mary Ann", "Smith", "1980-04-09"),
            &person("Mary", "Smith", "1980-04-09"),
        );
        assert_eq!(level(&c, Field::GivenNames), Some("first_name"));
        let c = compare(
            &person("Wei", "Zhang", "1980-04-09"),
            &person("Zhang", "Wei", "1980-04-09"),
        );
        assert!(c.names_swapped);
        assert_eq!(level(&c, Field::Surname), Some("jaro_winkler_0.92"));
        let c = compare(
            &person("Ana", "Garcia Lopez", "1980-04-09"),
            &person("Ana", "García", "1980-04-09"),
        );
        assert_eq!(level(&c, Field::Surname), Some("compound"));
    }

    #[test]
    fn dates_compare_by_how_they_differ() {
        let base = person("A", "B", "1980-04-09");
        let dob = |d: &str| level(&compare(&base, &person("A", "B", d)), Field::DateOfBirth);
        assert_eq!(dob("1980-04-09"), Some("exact"));
        assert_eq!(dob("1980-09-04"), Some("day_month_swapped"));
        assert_eq!(dob("1981-04-09"), Some("one_digit"));
        assert_eq!(dob("1980"), Some("year_only"));
        assert_eq!(dob("1980-06-21"), Some("different"));
        assert_eq!(dob("1975-01-01"), Some("different"));
        assert_eq!(dob("not a date"), None);
    }

    #[test]
    fn identifiers_compare_only_within_a_scheme() {
        let with = |scheme: &str, value: &str| {
            Prepared::new(&Record {
                given_names: "A".into(),
                surname: "B".into(),
                identifiers: vec![Identifier {
                    scheme: scheme.into(),
                    value: value.into(),
                }],
                ..Record::default()
            })
        };
        let a = with("nino", "QQ 12 34 56 C");
        assert_eq!(
            level(&compare(&a, &with("NINO", "QQ123456C")), Field::Identifier),
            Some("exact")
        );
        assert_eq!(
            level(&compare(&a, &with("nino", "QQ123465C")), Field::Identifier),
            Some("two_edits")
        );
        assert_eq!(
            level(
                &compare(&a, &with("passport", "QQ123456C")),
                Field::Identifier
            ),
            None
        );
    }
}
