//! Case references people can read aloud and type: `VV-7KQ4-M2XD-P`.
//!
//! The product's prefix, eight random characters of Crockford's base32
//! alphabet (no I, L, O or U, so nothing is misread) in two groups, and a
//! Luhn mod 32 check character that catches any single mistyped character
//! and any swap of two adjacent ones (except of `0` and `Z`, the one pair
//! Luhn mod N cannot see) before a lookup is made.

use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A case reference with a valid check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CaseReference(String);

impl CaseReference {
    /// A new random reference for a product prefix.
    pub fn generate(prefix: &str) -> Self {
        let mut random = [0u8; 8];
        // The OS's randomness; without it nothing safe can be done.
        getrandom::fill(&mut random).expect("operating system randomness");
        let body: String = random
            .iter()
            .map(|b| ALPHABET[usize::from(b % 32)] as char)
            .collect();
        let check = check_character(&body);
        Self(format!("{prefix}-{}-{}-{check}", &body[..4], &body[4..]))
    }

    /// Parses and checks a reference typed by a person (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_uppercase();
        let parts: Vec<&str> = text.split('-').collect();
        let [prefix, first, second, check] = parts.as_slice() else {
            return None;
        };
        let well_formed = (2..=4).contains(&prefix.len())
            && prefix.chars().all(|c| c.is_ascii_uppercase())
            && first.len() == 4
            && second.len() == 4
            && check.len() == 1;
        let body = format!("{first}{second}");
        if !well_formed
            || !body
                .bytes()
                .chain(check.bytes())
                .all(|b| ALPHABET.contains(&b))
        {
            return None;
        }
        (check_character(&body).to_string() == *check).then_some(Self(text))
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaseReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Luhn mod N over the alphabet.
fn check_character(body: &str) -> char {
    let n = 32;
    let mut sum = 0;
    for (i, byte) in body.bytes().rev().enumerate() {
        let code = ALPHABET.iter().position(|a| *a == byte).unwrap_or(0);
        let addend = if i % 2 == 0 { code * 2 } else { code };
        sum += addend / n + addend % n;
    }
    ALPHABET[(n - sum % n) % n] as char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse_and_match_the_event_schema_pattern() {
        for _ in 0..1000 {
            let reference = CaseReference::generate("VV");
            assert_eq!(
                CaseReference::parse(reference.as_str()),
                Some(reference.clone())
            );
            let text = reference.as_str();
            assert_eq!(text.len(), 2 + 1 + 4 + 1 + 4 + 1 + 1, "{text}");
        }
    }

    #[test]
    fn every_single_typo_and_adjacent_swap_is_caught_across_many_references() {
        for _ in 0..200 {
            let reference = CaseReference::generate("VV");
            let text = reference.as_str().to_owned();
            let positions: Vec<usize> = (3..text.len())
                .filter(|i| text.as_bytes()[*i] != b'-')
                .collect();
            for &i in &positions {
                for &replacement in ALPHABET {
                    if replacement == text.as_bytes()[i] {
                        continue;
                    }
                    let mut typo = text.clone().into_bytes();
                    typo[i] = replacement;
                    let typo = String::from_utf8(typo).unwrap();
                    assert!(
                        CaseReference::parse(&typo).is_none(),
                        "{typo} passed as {text}"
                    );
                }
            }
            for pair in positions.windows(2) {
                let (a, b) = (pair[0], pair[1]);
                let (x, y) = (text.as_bytes()[a], text.as_bytes()[b]);
                // Luhn mod N's one blind spot: the first and last symbols swapped.
                if b != a + 1 || x == y || matches!((x, y), (b'0', b'Z') | (b'Z', b'0')) {
                    continue;
                }
                let mut swapped = text.clone().into_bytes();
                swapped.swap(a, b);
                let swapped = String::from_utf8(swapped).unwrap();
                assert!(
                    CaseReference::parse(&swapped).is_none(),
                    "{swapped} passed as {text}"
                );
            }
        }
    }

    #[test]
    fn lowercase_is_accepted_and_nonsense_is_not() {
        let reference = CaseReference::generate("DBS");
        assert!(CaseReference::parse(&reference.as_str().to_lowercase()).is_some());
        for nonsense in [
            "",
            "VV",
            "VV-1234-5678",
            "VV-IIII-LLLL-O",
            "V-1234-5678-9",
            "VV-12345-678-9",
        ] {
            assert!(CaseReference::parse(nonsense).is_none(), "{nonsense}");
        }
    }
}
