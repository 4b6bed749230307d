//! Names in the zone: transliteration to A–Z (9303 part 3 §6), fitting the
//! name field, and reading it back.

use crate::layout::trim;

/// The components (words) of a name in A–Z, or `None` if it holds digits,
/// which no name in a zone can.
///
/// Letters are transliterated per 9303 part 3 §6 where it differs from
/// dropping the accent (Ä → AE, Ö and Ø → OE, Ü → UE, Å → AA, Æ → AE,
/// ß → SS, Þ → TH, …), other accented letters lose their accent, and other
/// scripts go through `deunicode`. Spaces, hyphens and commas separate
/// components; apostrophes and full stops are omitted (O'Brien → OBRIEN).
pub(crate) fn transliterate(name: &str) -> Option<Vec<String>> {
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        // A letter followed by a combining mark (`u` + U+0308) is the same
        // name as the precomposed letter (`ü`).
        let c = match chars.peek().and_then(|&mark| precompose(c, mark)) {
            Some(precomposed) => {
                chars.next();
                precomposed
            }
            None => c,
        };
        push(c, &mut text)?;
    }
    Some(
        text.split('<')
            .filter(|word| !word.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

fn precompose(base: char, mark: char) -> Option<char> {
    Some(match (base, mark) {
        ('A', '\u{308}') => 'Ä',
        ('a', '\u{308}') => 'ä',
        ('O', '\u{308}') => 'Ö',
        ('o', '\u{308}') => 'ö',
        ('U', '\u{308}') => 'Ü',
        ('u', '\u{308}') => 'ü',
        ('A', '\u{30A}') => 'Å',
        ('a', '\u{30A}') => 'å',
        _ => return None,
    })
}

/// Appends `c` in the MRZ alphabet, `<` for a separator; `None` for a digit.
fn push(c: char, text: &mut String) -> Option<()> {
    match c {
        'Ä' | 'ä' | 'Æ' | 'æ' => text.push_str("AE"),
        'Ö' | 'ö' | 'Ø' | 'ø' | 'Œ' | 'œ' => text.push_str("OE"),
        'Ü' | 'ü' => text.push_str("UE"),
        'Å' | 'å' => text.push_str("AA"),
        'ß' | 'ẞ' => text.push_str("SS"),
        'Þ' | 'þ' => text.push_str("TH"),
        'Ĳ' | 'ĳ' => text.push_str("IJ"),
        '\'' | '\u{2018}' | '\u{2019}' | '\u{2BC}' | '`' | '\u{B4}' | '.' => {}
        '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | ',' | '<' | '_' => {
            text.push('<')
        }
        c if c.is_whitespace() => text.push('<'),
        c if c.is_ascii_alphabetic() => text.push(c.to_ascii_uppercase()),
        c if c.is_ascii_digit() => return None,
        // Other punctuation is not written.
        c if c.is_ascii() => {}
        c => {
            // ASCII only, so this does not come back here.
            for ascii in deunicode::deunicode_char(c).unwrap_or_default().chars() {
                push(ascii, text)?;
            }
        }
    }
    Some(())
}

/// The name field's content, unpadded, at most `width` characters: the
/// surname components, `<<`, the given-name components, each joined by `<`.
///
/// When the whole name does not fit, given names give way first: the last
/// given name is shortened, then the one before it, each down to its initial.
/// If that is not enough, the field is cut at `width`, so the surname keeps
/// priority and the last initials (or the end of the surname) are lost. The
/// zone has no truncation marker: a letter in the last position is the only
/// sign (9303 part 3 §4.6).
pub(crate) fn fit(surname: &[String], given_names: &[String], width: usize) -> String {
    let mut given_names = given_names.to_vec();
    let mut excess = compose(surname, &given_names).len().saturating_sub(width);
    for given in given_names.iter_mut().rev() {
        if excess == 0 {
            break;
        }
        let cut = excess.min(given.len().saturating_sub(1));
        given.truncate(given.len() - cut);
        excess -= cut;
    }
    let mut name = compose(surname, &given_names);
    name.truncate(width);
    trim(&name).to_owned()
}

fn compose(surname: &[String], given_names: &[String]) -> String {
    let mut name = surname.join("<");
    if !given_names.is_empty() {
        name.push_str("<<");
        name.push_str(&given_names.join("<"));
    }
    name
}

/// Surname and given names from a name field: `<<` ends the surname, a
/// single `<` is a space.
pub(crate) fn read(field: &str) -> (String, String) {
    let name = trim(field);
    let (surname, given_names) = name.split_once("<<").unwrap_or((name, ""));
    (words(surname), words(given_names))
}

fn words(text: &str) -> String {
    text.split('<')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> String {
        transliterate(name).unwrap().join("<")
    }

    #[test]
    fn transliterates_per_9303_part_3() {
        assert_eq!(t("Müller"), "MUELLER");
        assert_eq!(t("Øyvind"), "OEYVIND");
        assert_eq!(t("O'Brien"), "OBRIEN");
        assert_eq!(t("O’Brien"), "OBRIEN");
        assert_eq!(t("Anne-Marie"), "ANNE<MARIE");
        assert_eq!(t("Ångström"), "AANGSTROEM");
        assert_eq!(t("Æsa Straße"), "AESA<STRASSE");
        assert_eq!(t("Þór"), "THOR");
        assert_eq!(t("Muñoz"), "MUNOZ");
        assert_eq!(t("José Ñúñez"), "JOSE<NUNEZ");
        assert_eq!(t("Łukasz Żółć"), "LUKASZ<ZOLC");
        assert_eq!(t("Ĳsbrand"), "IJSBRAND");
        assert_eq!(t("Françoise"), "FRANCOISE");
        // Decomposed: u + combining diaeresis.
        assert_eq!(t("Mu\u{308}ller"), "MUELLER");
        assert_eq!(t("  van  der   Berg "), "VAN<DER<BERG");
        assert_eq!(t("St. John, Jr."), "ST<JOHN<JR");
        assert_eq!(t("Иванов"), "IVANOV");
        assert_eq!(t(""), "");
        assert_eq!(transliterate("Anna 2"), None);
    }

    fn words(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn fits_a_name_that_fits_unchanged() {
        let name = fit(&words(&["ERIKSSON"]), &words(&["ANNA", "MARIA"]), 39);
        assert_eq!(name, "ERIKSSON<<ANNA<MARIA");
        assert_eq!(fit(&words(&["MADONNA"]), &[], 39), "MADONNA");
    }

    #[test]
    fn truncates_the_last_given_names_first_down_to_initials() {
        let surname = words(&["ERIKSSON"]);
        let given = words(&["ANNA", "MARIA", "ELISABETH"]);
        // 8 + 2 + 20 = 30: fits exactly.
        assert_eq!(fit(&surname, &given, 30), "ERIKSSON<<ANNA<MARIA<ELISABETH");
        assert_eq!(fit(&surname, &given, 25), "ERIKSSON<<ANNA<MARIA<ELIS");
        assert_eq!(fit(&surname, &given, 20), "ERIKSSON<<ANNA<MAR<E");
        assert_eq!(fit(&surname, &given, 16), "ERIKSSON<<AN<M<E");
        // Initials only is not short enough: the field is cut.
        assert_eq!(fit(&surname, &given, 13), "ERIKSSON<<A<M");
        assert_eq!(fit(&surname, &given, 11), "ERIKSSON<<A");
        assert_eq!(fit(&surname, &given, 10), "ERIKSSON");
        assert_eq!(fit(&surname, &given, 5), "ERIKS");
    }

    #[test]
    fn reads_surname_and_given_names() {
        assert_eq!(
            read("ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"),
            ("ERIKSSON".to_owned(), "ANNA MARIA".to_owned())
        );
        assert_eq!(
            read("VAN<DER<BERG<<JAN<<<<"),
            ("VAN DER BERG".to_owned(), "JAN".to_owned())
        );
        assert_eq!(read("MADONNA<<<<"), ("MADONNA".to_owned(), String::new()));
    }
}
