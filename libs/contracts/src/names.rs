//! How people's names are compared across services: the one normalisation
//! the person index (Identify), the warnings index and records checks
//! (Investigate) and case search (Register) share, so that a name recorded by
//! one service matches the same name applied with.
//!
//! [`normalise`] folds a name as people write it into the form they compare:
//! 1. Unicode NFKD, then every combining mark is dropped (`Amélie` → `Amelie`,
//!    `Müller` → `Muller`, the ligature `ﬁ` → `fi`);
//! 2. letters NFKD does not decompose are spelled out: `ß` → `SS`,
//!    `Æ` → `AE`, `Œ` → `OE`, `Ø` → `O`, `Þ` → `TH`, `Ð`/`Đ` → `D`, `Ł` → `L`;
//! 3. upper case;
//! 4. apostrophes and full stops are omitted, as in a passport's MRZ
//!    (`O'Brien` → `OBRIEN`); every other non-letter (hyphen, comma, space,
//!    other punctuation) separates words (`Anne-Marie` → `ANNE MARIE`);
//! 5. words are joined by one space, with none at either end.
//!
//! Decisions, and why:
//! - `Müller` and `Mueller` are **different** keys (`MULLER`, `MUELLER`): the
//!   index never guesses a transliteration backwards (`ue` is often just
//!   `ue`), so it may keep one person twice but never merges two. The
//!   document check, which compares a name with the zone printed from it,
//!   accepts both spellings (see [`crate::document`]).
//! - `O'Brien` = `OBRIEN`, but `O Brien` is `O BRIEN`: word breaks are kept,
//!   because they separate given names.
//! - `Ø` → `O` (not `OE` as ICAO 9303 writes it): the same rule as dropping
//!   any other accent.
//! - Letters of other scripts are kept (upper-cased), not romanised, because
//!   romanisation is ambiguous.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The index form of a name; see the module documentation for the rule.
pub fn normalise(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ß' | 'ẞ' => folded.push_str("SS"),
            'Æ' | 'æ' => folded.push_str("AE"),
            'Œ' | 'œ' => folded.push_str("OE"),
            'Ø' | 'ø' => folded.push('O'),
            'Þ' | 'þ' => folded.push_str("TH"),
            'Ð' | 'ð' | 'Đ' | 'đ' => folded.push('D'),
            'Ł' | 'ł' => folded.push('L'),
            '\'' | '\u{2018}' | '\u{2019}' | '\u{2BC}' | '`' | '\u{B4}' | '.' => {}
            c if c.is_alphanumeric() => folded.extend(c.to_uppercase()),
            _ => folded.push(' '),
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn accents_and_case_fold_away() {
        assert_eq!(normalise("Amélie"), "AMELIE");
        assert_eq!(normalise("Amélie"), normalise("AMELIE"));
        assert_eq!(normalise("amelie"), "AMELIE");
        // Decomposed input (e + U+0301) is the same name as precomposed.
        assert_eq!(normalise("Ame\u{301}lie"), "AMELIE");
        assert_eq!(normalise("José Ñúñez"), "JOSE NUNEZ");
        assert_eq!(normalise("Françoise"), "FRANCOISE");
        assert_eq!(normalise("Łukasz Żółć"), "LUKASZ ZOLC");
        assert_eq!(normalise("ﬁona"), "FIONA");
    }

    #[test]
    fn letters_without_a_decomposition_are_spelled_out() {
        assert_eq!(normalise("Straße"), "STRASSE");
        assert_eq!(normalise("Æsa"), "AESA");
        assert_eq!(normalise("Øyvind"), "OYVIND");
        assert_eq!(normalise("Þór"), "THOR");
    }

    #[test]
    fn mueller_and_muller_are_different_keys() {
        assert_eq!(normalise("Müller"), "MULLER");
        assert_eq!(normalise("Müller"), normalise("Muller"));
        assert_ne!(normalise("Müller"), normalise("Mueller"));
    }

    #[test]
    fn apostrophes_vanish_and_other_separators_become_one_space() {
        assert_eq!(normalise("O'Brien"), "OBRIEN");
        assert_eq!(normalise("O’Brien"), "OBRIEN");
        assert_eq!(normalise("O'Brien"), normalise("OBRIEN"));
        assert_ne!(normalise("O'Brien"), normalise("O Brien"));
        assert_eq!(normalise("Anne-Marie"), "ANNE MARIE");
        assert_eq!(normalise("  van  der   Berg "), "VAN DER BERG");
        assert_eq!(normalise("St. John, Jr."), "ST JOHN JR");
        assert_eq!(normalise(" - "), "");
    }

    #[test]
    fn other_scripts_are_kept() {
        assert_eq!(normalise("Иванов"), "ИВАНОВ");
    }
}
