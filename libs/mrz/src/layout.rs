//! Where each field sits, numbered as in the 9303 tables (1-based,
//! inclusive), so each position can be checked against the standard.

/// The document number field; longer TD1 numbers continue in optional data.
pub(crate) const DOCUMENT_NUMBER: usize = 9;
/// TD3 line 2, positions 29–42.
pub(crate) const TD3_PERSONAL_NUMBER: usize = 14;
/// MRV-A line 2, positions 29–44.
pub(crate) const MRVA_OPTIONAL_DATA: usize = 16;
/// TD1 line 1, positions 16–30.
pub(crate) const TD1_OPTIONAL_DATA: usize = 15;
/// TD1 line 2, positions 19–29.
pub(crate) const TD1_OPTIONAL_DATA_2: usize = 11;

/// Positions `from..=to` of an ASCII line at least `to` long.
pub(crate) fn at(line: &str, from: usize, to: usize) -> &str {
    &line[from - 1..to]
}

/// Position `pos` of an ASCII line at least `pos` long.
pub(crate) fn char_at(line: &str, pos: usize) -> char {
    char::from(line.as_bytes()[pos - 1])
}

/// What the TD3 composite check digit (line 2, position 44) covers.
pub(crate) fn td3_composite(line2: &str) -> String {
    [at(line2, 1, 10), at(line2, 14, 20), at(line2, 22, 43)].concat()
}

/// What the TD1 composite check digit (line 2, position 30) covers.
pub(crate) fn td1_composite(line1: &str, line2: &str) -> String {
    [
        at(line1, 6, 30),
        at(line2, 1, 7),
        at(line2, 9, 15),
        at(line2, 19, 29),
    ]
    .concat()
}

/// `value` followed by fillers up to `width`.
pub(crate) fn pad(value: &str, width: usize) -> String {
    debug_assert!(value.len() <= width, "{value} is wider than {width}");
    format!("{value:<<width$}")
}

/// `value` without its trailing fillers.
pub(crate) fn trim(value: &str) -> &str {
    value.trim_end_matches('<')
}
