//! Each way a zone can be wrong gives its own precise reason, and every
//! reason is reported at once.

use casework_mrz::{Field, Format, MrzError, Sex, check_digit, parse_on};
use chrono::NaiveDate;

const TD3: [&str; 2] = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
];
const TD1: [&str; 3] = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
];
const TD1_LONG_NUMBER: [&str; 3] = [
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
];
const MRV_A: [&str; 2] = [
    "VIUSATRAVELER<<HAPPYPERSON<<<<<<<<<<<<<<<<<<",
    "555123ABC6GBR6502056F04122361FLNDDDAM5803085",
];

fn reference() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()
}

fn errors(lines: &[String]) -> Vec<MrzError> {
    parse_on(&lines.join("\n"), reference())
        .expect_err("the zone should be refused")
        .into_vec()
}

/// `lines` with `text` written over line `line` from column `column`
/// (both 1-based, as in the 9303 tables).
fn with<S: AsRef<str>>(lines: &[S], line: usize, column: usize, text: &str) -> Vec<String> {
    let mut lines: Vec<String> = lines.iter().map(|l| l.as_ref().to_owned()).collect();
    lines[line - 1].replace_range(column - 1..column - 1 + text.len(), text);
    lines
}

fn span(lines: &[String], line: usize, from: usize, to: usize) -> String {
    lines[line - 1][from - 1..to].to_owned()
}

/// TD3 line 2 with every check digit recomputed, so that a test changes
/// one thing only.
fn td3_fixed(lines: Vec<String>) -> Vec<String> {
    let digit = |lines: &[String], from, to| check_digit(&span(lines, 2, from, to)).unwrap();
    let mut lines = lines;
    for (from, to, position) in [(1, 9, 10), (14, 19, 20), (22, 27, 28), (29, 42, 43)] {
        let d = digit(&lines, from, to);
        lines = with(&lines, 2, position, &d.to_string());
    }
    let composite = [
        span(&lines, 2, 1, 10),
        span(&lines, 2, 14, 20),
        span(&lines, 2, 22, 43),
    ]
    .concat();
    let d = check_digit(&composite).unwrap();
    with(&lines, 2, 44, &d.to_string())
}

fn flipped(c: char) -> char {
    let d = c.to_digit(10).expect("a check digit");
    char::from_digit((d + 1) % 10, 10).unwrap()
}

/// Flips the check digit at `line`/`column` and expects exactly one
/// failure naming `field`.
fn flip_one(zone: &[&str], line: usize, column: usize, field: Field) {
    let original = zone[line - 1].as_bytes()[column - 1] as char;
    let found = flipped(original);
    let lines = with(zone, line, column, &found.to_string());
    assert_eq!(
        errors(&lines),
        vec![MrzError::CheckDigit {
            field,
            expected: original,
            found
        }],
        "{field} at line {line}, column {column}"
    );
}

#[test]
fn each_td3_check_digit_is_checked() {
    flip_one(&TD3, 2, 10, Field::DocumentNumber);
    flip_one(&TD3, 2, 20, Field::DateOfBirth);
    flip_one(&TD3, 2, 28, Field::DateOfExpiry);
    flip_one(&TD3, 2, 43, Field::PersonalNumber);
    flip_one(&TD3, 2, 44, Field::Composite);
}

#[test]
fn each_td1_check_digit_is_checked() {
    flip_one(&TD1, 1, 15, Field::DocumentNumber);
    flip_one(&TD1, 2, 7, Field::DateOfBirth);
    flip_one(&TD1, 2, 15, Field::DateOfExpiry);
    flip_one(&TD1, 2, 30, Field::Composite);
    // A long number's check digit is in the optional data.
    flip_one(&TD1_LONG_NUMBER, 1, 19, Field::DocumentNumber);
}

#[test]
fn each_mrv_a_check_digit_is_checked() {
    flip_one(&MRV_A, 2, 10, Field::DocumentNumber);
    flip_one(&MRV_A, 2, 20, Field::DateOfBirth);
    flip_one(&MRV_A, 2, 28, Field::DateOfExpiry);
}

#[test]
fn a_misread_data_character_fails_its_check_digit() {
    // L898902C3 read as L898902G3.
    let lines = with(&TD3, 2, 8, "G");
    assert_eq!(
        errors(&lines),
        vec![MrzError::CheckDigit {
            field: Field::DocumentNumber,
            expected: check_digit("L898902G3").unwrap(),
            found: '6'
        }]
    );
    // TD1 optional data has no check digit of its own: only the composite
    // sees it.
    let lines = with(&TD1, 2, 19, "X");
    assert!(matches!(
        errors(&lines).as_slice(),
        [MrzError::CheckDigit {
            field: Field::Composite,
            found: '6',
            ..
        }]
    ));
}

#[test]
fn every_failure_is_reported_at_once() {
    let lines = with(&TD3, 2, 20, "3");
    let lines = with(&lines, 2, 21, "Q");
    let lines = with(&lines, 2, 28, "0");
    let lines = with(&lines, 2, 11, "U1O");
    assert_eq!(
        errors(&lines),
        vec![
            MrzError::StateCode {
                field: Field::Nationality,
                value: "U1O".to_owned()
            },
            MrzError::CheckDigit {
                field: Field::DateOfBirth,
                expected: '2',
                found: '3'
            },
            MrzError::Sex { found: 'Q' },
            MrzError::CheckDigit {
                field: Field::DateOfExpiry,
                expected: '9',
                found: '0'
            },
        ]
    );
    let message = parse_on(&lines.join("\n"), reference())
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "nationality 'U1O' is not a state code (three letters, or fewer padded with <); \
         date of birth check digit is 3, expected 2; \
         sex 'Q' is not M, F, X or <; \
         date of expiry check digit is 0, expected 9"
    );
}

#[test]
fn a_bad_character_gives_its_line_and_column() {
    let lines = with(&TD3, 2, 8, "c");
    assert_eq!(
        errors(&lines),
        vec![MrzError::Character {
            line: 2,
            column: 8,
            found: 'c'
        }]
    );
    // The first bad character of each line.
    let lines = with(&TD1, 1, 3, "U-O");
    let lines = with(&lines, 3, 9, " ");
    let lines = with(&lines, 3, 12, "?");
    assert_eq!(
        errors(&lines),
        vec![
            MrzError::Character {
                line: 1,
                column: 4,
                found: '-'
            },
            MrzError::Character {
                line: 3,
                column: 9,
                found: ' '
            },
        ]
    );
    assert_eq!(
        errors(&lines)[0].to_string(),
        "line 1, column 4: '-' is not allowed (only A-Z, 0-9 and <)"
    );
}

#[test]
fn a_line_of_the_wrong_length_is_named() {
    let short = [TD3[0].to_owned(), TD3[1][..43].to_owned()];
    assert_eq!(
        errors(&short),
        vec![MrzError::Length {
            line: 2,
            expected: 44,
            found: 43
        }]
    );
    assert_eq!(
        errors(&short)[0].to_string(),
        "line 2 has 43 characters, expected 44"
    );
    let long = [TD1[0].to_owned(), TD1[1].to_owned(), format!("{}<", TD1[2])];
    assert_eq!(
        errors(&long),
        vec![MrzError::Length {
            line: 3,
            expected: 30,
            found: 31
        }]
    );
}

#[test]
fn unsupported_layouts_are_refused() {
    let format = |text: &str| match parse_on(text, reference())
        .unwrap_err()
        .into_vec()
        .as_slice()
    {
        [MrzError::Format(reason)] => reason.clone(),
        other => panic!("expected a format error, got {other:?}"),
    };
    assert_eq!(format("  \n "), "the text is empty");
    assert_eq!(
        format(TD3[0]),
        "1 line, expected 2 (passport, visa) or 3 (identity card)"
    );
    assert!(format(&[TD1[0], TD1[1], TD1[2], TD1[2]].join("\n")).starts_with("4 lines"));
    assert!(format(&["I".repeat(36), "<".repeat(36)].join("\n")).contains("TD2"));
    assert_eq!(
        format(&["I<UTO".to_owned() + &"<".repeat(39), TD3[1].to_owned()].join("\n")),
        "a 2-line zone starts with P (passport) or V (visa), this one starts with 'I'"
    );
}

#[test]
fn an_impossible_date_is_refused() {
    let lines = td3_fixed(with(&TD3, 2, 14, "741312"));
    assert_eq!(
        errors(&lines),
        vec![MrzError::Date {
            field: Field::DateOfBirth,
            value: "741312".to_owned()
        }]
    );
    assert_eq!(
        errors(&lines)[0].to_string(),
        "date of birth 741312 is not a valid date (YYMMDD)"
    );
    let lines = td3_fixed(with(&TD3, 2, 22, "120431"));
    assert_eq!(
        errors(&lines),
        vec![MrzError::Date {
            field: Field::DateOfExpiry,
            value: "120431".to_owned()
        }]
    );
    // A letter where a digit belongs (O for 0).
    let lines = td3_fixed(with(&TD3, 2, 14, "74O812"));
    assert_eq!(
        errors(&lines),
        vec![MrzError::Date {
            field: Field::DateOfBirth,
            value: "74O812".to_owned()
        }]
    );
}

#[test]
fn sex_is_m_f_x_or_filler() {
    let lines = with(&TD3, 2, 21, "Q");
    assert_eq!(errors(&lines), vec![MrzError::Sex { found: 'Q' }]);
    for (code, sex) in [
        ("M", Sex::Male),
        ("F", Sex::Female),
        ("X", Sex::Unspecified),
        ("<", Sex::Unspecified),
    ] {
        let lines = with(&TD3, 2, 21, code);
        assert_eq!(parse_on(&lines.join("\n"), reference()).unwrap().sex, sex);
    }
}

#[test]
fn codes_are_checked() {
    let lines = with(&TD3, 1, 2, "1");
    assert_eq!(
        errors(&lines),
        vec![MrzError::DocumentCode {
            format: Format::Td3,
            value: "P1".to_owned()
        }]
    );
    let lines = with(&TD1, 1, 1, "P");
    assert_eq!(
        errors(&lines)[0].to_string(),
        "document code 'P<' is not valid for TD1: a TD1 code starts with A, C or I, then a letter or <"
    );
    // Germany is `D<<`.
    let lines = with(&TD3, 1, 3, "D<<");
    assert_eq!(
        parse_on(&lines.join("\n"), reference())
            .unwrap()
            .issuing_state,
        "D"
    );
    let lines = with(&TD3, 1, 3, "<<<");
    assert_eq!(
        errors(&lines),
        vec![MrzError::StateCode {
            field: Field::IssuingState,
            value: "<<<".to_owned()
        }]
    );
    let lines = with(&TD3, 1, 3, "<UT");
    assert!(matches!(
        errors(&lines).as_slice(),
        [MrzError::StateCode { .. }]
    ));
}

#[test]
fn names_hold_only_letters() {
    let lines = with(&TD3, 1, 16, "ANN4");
    assert_eq!(
        errors(&lines),
        vec![MrzError::Invalid {
            field: Field::Name,
            value: "ERIKSSON<<ANN4<MARIA".to_owned(),
            reason: "holds digits; a name holds only letters and <"
        }]
    );
    let lines = with(&TD3, 1, 6, &"<".repeat(39));
    assert_eq!(errors(&lines), vec![MrzError::Empty { field: Field::Name }]);
}

#[test]
fn an_unused_personal_number_may_have_a_filler_check_digit() {
    for digit in ["<", "0"] {
        let lines = td3_fixed(with(&TD3, 2, 29, &"<".repeat(14)));
        let lines = with(&lines, 2, 43, digit);
        let mrz = parse_on(&lines.join("\n"), reference()).unwrap();
        assert_eq!(mrz.optional_data, "");
    }
    // But not when there is a personal number.
    let lines = with(&TD3, 2, 43, "<");
    assert_eq!(
        errors(&lines),
        vec![MrzError::CheckDigit {
            field: Field::PersonalNumber,
            expected: '1',
            found: '<'
        }]
    );
}

#[test]
fn a_long_number_marker_without_a_continuation_is_a_check_digit_failure() {
    // Position 15 is `<` but the optional data holds no continuation.
    let lines = with(&TD1, 1, 15, "<");
    assert_eq!(
        errors(&lines),
        vec![MrzError::CheckDigit {
            field: Field::DocumentNumber,
            expected: '7',
            found: '<'
        }]
    );
}

#[test]
fn an_expired_document_says_when() {
    let zone = [TD3[0], TD3[1]].join("\n");
    let mrz = parse_on(&zone, reference()).unwrap();
    let on = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    assert_eq!(
        mrz.check_expiry(on),
        Err(MrzError::Expired {
            expiry: NaiveDate::from_ymd_opt(2012, 4, 15).unwrap(),
            on
        })
    );
    assert_eq!(mrz.check_expiry(mrz.date_of_expiry), Ok(()));
}

#[test]
fn messages_read_as_sentences() {
    let error = MrzError::CheckDigit {
        field: Field::DocumentNumber,
        expected: '3',
        found: '4',
    };
    assert_eq!(
        error.to_string(),
        "document number check digit is 4, expected 3"
    );
    let error = MrzError::CheckDigit {
        field: Field::Composite,
        expected: '3',
        found: '4',
    };
    assert_eq!(error.to_string(), "composite check digit is 4, expected 3");
    let error = MrzError::TooLong {
        field: Field::DocumentNumber,
        max: 9,
        found: 12,
    };
    assert_eq!(
        error.to_string(),
        "document number has 12 characters but only 9 fit"
    );
}
