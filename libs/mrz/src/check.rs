//! The 9303 part 3 §4.9 check digit: weights 7, 3, 1 repeating; digits are
//! their value, `A`–`Z` are 10–35, the filler `<` is 0; the digit is the sum
//! modulo 10.

/// The check digit of `data`, or `None` if it holds a character outside the
/// MRZ alphabet (`A-Z`, `0-9`, `<`).
///
/// ```
/// assert_eq!(casework_mrz::check_digit("L898902C3"), Some('6'));
/// assert_eq!(casework_mrz::check_digit("l898902c3"), None);
/// ```
pub fn check_digit(data: &str) -> Option<char> {
    if data.chars().all(is_mrz_char) {
        Some(digit(data))
    } else {
        None
    }
}

/// The check digit of `data`, which the caller has already checked is in the
/// MRZ alphabet (anything else would count as a filler).
pub(crate) fn digit(data: &str) -> char {
    let sum: u32 = data
        .chars()
        .zip([7, 3, 1].into_iter().cycle())
        .map(|(c, weight)| value(c) * weight)
        .sum();
    // `sum % 10` is a single decimal digit.
    char::from_digit(sum % 10, 10).unwrap_or('0')
}

/// Whether `c` may appear in a zone.
pub(crate) fn is_mrz_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'
}

fn value(c: char) -> u32 {
    match c {
        '0'..='9' => u32::from(c) - u32::from('0'),
        'A'..='Z' => u32::from(c) - u32::from('A') + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_and_values_follow_9303() {
        // The 9303 part 3 worked example: 520727 → 3.
        assert_eq!(check_digit("520727"), Some('3'));
        assert_eq!(check_digit("AB2134<<<"), Some('5'));
        assert_eq!(check_digit(""), Some('0'));
        assert_eq!(check_digit("<<<<<<<<<"), Some('0'));
        assert_eq!(check_digit("AB 12"), None);
    }
}
