//! The ICAO 9303 part 3 codes of issuing states, organisations and
//! nationalities, from `data/icao-9303-codes.toml` (which names its source).
//!
//! Reading a zone does not use this list (a zone's state code is checked for
//! its form only); Identify uses it to check the fields printed on a
//! document when the zone was not seen.

use std::collections::BTreeMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("../data/icao-9303-codes.toml");

/// Every code with its name, read once from the data file.
///
/// The file is TOML of one shape only: comments, the `[codes]` header and
/// `CODE = "name"` lines; anything else is a mistake in it, caught by the
/// tests.
pub fn state_codes() -> &'static BTreeMap<&'static str, &'static str> {
    static CODES: OnceLock<BTreeMap<&'static str, &'static str>> = OnceLock::new();
    CODES.get_or_init(|| {
        DATA.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('['))
            .filter_map(|line| {
                let (code, name) = line.split_once('=')?;
                Some((code.trim(), name.trim().trim_matches('"')))
            })
            .collect()
    })
}

/// Whether `code` is an ICAO 9303 state, organisation or nationality code
/// (`D`, `GBR`, `XXA`, …), exactly as a document prints it.
pub fn is_state_code(code: &str) -> bool {
    state_codes().contains_key(code)
}

/// The name of a code, if it is one.
pub fn state_name(code: &str) -> Option<&'static str> {
    state_codes().get(code).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_reads_whole() {
        let codes = state_codes();
        let lines = DATA
            .lines()
            .filter(|l| {
                l.trim()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_uppercase())
            })
            .count();
        assert_eq!(codes.len(), lines, "every `CODE = \"name\"` line, once");
        for (code, name) in codes {
            assert!(
                (1..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_uppercase()),
                "{code}"
            );
            assert!(!name.is_empty() && !name.contains('"'), "{code}: {name}");
        }
    }

    #[test]
    fn nine_three_oh_three_codes_are_in_and_others_are_not() {
        for code in [
            "D", "GBR", "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XXA", "XXB",
            "XXC", "XXX", "EUE", "FRA", "NGA", "POL",
        ] {
            assert!(is_state_code(code), "{code}");
        }
        for code in ["DEU", "UTO", "XYZ", "gbr", "", "GB", "GBRR"] {
            assert!(!is_state_code(code), "{code}");
        }
        assert_eq!(state_name("D"), Some("Germany"));
    }
}
