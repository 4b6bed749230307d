//! Building zones: transliteration, truncation, refusals, and a
//! property-style loop that reads back every zone it builds.

use casework_mrz::{Field, Format, MrzError, MrzFields, Sex, build, check_digit, parse_on};
use chrono::{Days, Months, NaiveDate};
use serde::Deserialize;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn reference() -> NaiveDate {
    date(2024, 6, 1)
}

fn fields(surname: &str, given_names: &str) -> MrzFields {
    MrzFields {
        document_code: "P".to_owned(),
        issuing_state: "GBR".to_owned(),
        surname: surname.to_owned(),
        given_names: given_names.to_owned(),
        document_number: "123456789".to_owned(),
        nationality: "GBR".to_owned(),
        date_of_birth: date(1980, 1, 31),
        sex: Sex::Male,
        date_of_expiry: date(2030, 12, 1),
        optional_data: String::new(),
        optional_data_2: String::new(),
    }
}

fn with_code(mut fields: MrzFields, format: Format) -> MrzFields {
    fields.document_code = match format {
        Format::Td3 => "P",
        Format::MrvA => "V",
        Format::Td1 => "I",
    }
    .to_owned();
    fields
}

fn build_errors(fields: &MrzFields, format: Format) -> Vec<MrzError> {
    build(fields, format)
        .expect_err("should be refused")
        .into_vec()
}

#[test]
fn td3_round_trip() {
    // Check digits recomputed independently of this crate.
    let mut input = fields("ERIKSSON", "ANNA MARIA");
    input.optional_data = "ZE184226B".to_owned();
    let zone = build(&input, Format::Td3).unwrap();
    assert_eq!(
        zone,
        "P<GBRERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n\
         1234567897GBR8001313M3012017ZE184226B<<<<<12"
    );
    let mrz = parse_on(&zone, reference()).unwrap();
    assert_eq!(mrz.format, Format::Td3);
    assert_eq!(MrzFields::from(&mrz), input);
}

#[test]
fn td3_without_a_personal_number_has_a_filler_check_digit() {
    let zone = build(&fields("ERIKSSON", "ANNA"), Format::Td3).unwrap();
    assert!(zone.ends_with("<<<<<<<<<<<<<<<0"), "{zone}");
    assert_eq!(&zone[zone.len() - 2..zone.len() - 1], "<");
    assert_eq!(parse_on(&zone, reference()).unwrap().optional_data, "");
}

#[test]
fn mrv_a_round_trip() {
    let mut input = with_code(fields("TRAVELER", "HAPPY PERSON"), Format::MrvA);
    input.document_code = "VI".to_owned();
    input.optional_data = "1FLNDDDAM5803085".to_owned();
    let zone = build(&input, Format::MrvA).unwrap();
    let mrz = parse_on(&zone, reference()).unwrap();
    assert_eq!(mrz.format, Format::MrvA);
    assert_eq!(MrzFields::from(&mrz), input);
}

#[test]
fn td1_round_trip_with_both_optional_data() {
    let mut input = with_code(fields("VAN DER BERG", "JAN"), Format::Td1);
    input.issuing_state = "D".to_owned();
    input.nationality = "D".to_owned();
    input.optional_data = "<AB12".to_owned();
    input.optional_data_2 = "X1<Y".to_owned();
    let zone = build(&input, Format::Td1).unwrap();
    assert_eq!(
        zone,
        "I<D<<1234567897<AB12<<<<<<<<<<\n\
         8001313M3012017D<<X1<Y<<<<<<<4\n\
         VAN<DER<BERG<<JAN<<<<<<<<<<<<<"
    );
    let mrz = parse_on(&zone, reference()).unwrap();
    assert_eq!(MrzFields::from(&mrz), input);
}

#[test]
fn td1_long_document_number_continues_in_optional_data() {
    let mut input = with_code(fields("ERIKSSON", "ANNA"), Format::Td1);
    input.document_number = "D23145890734".to_owned();
    input.optional_data = "XY".to_owned();
    let zone = build(&input, Format::Td1).unwrap();
    let line1 = zone.lines().next().unwrap();
    assert_eq!(line1, "I<GBRD23145890<7349<XY<<<<<<<<");
    let mrz = parse_on(&zone, reference()).unwrap();
    assert_eq!(mrz.document_number, "D23145890734");
    assert_eq!(mrz.optional_data, "XY");

    // The longest number: 9 + 14, its check digit last, no filler.
    input.document_number = "ABCDEFGHIJKLMNOPQRSTUVW".to_owned();
    input.optional_data = String::new();
    let zone = build(&input, Format::Td1).unwrap();
    let digit = check_digit(&input.document_number).unwrap();
    assert_eq!(
        zone.lines().next().unwrap(),
        format!("I<GBRABCDEFGHI<JKLMNOPQRSTUVW{digit}")
    );
    assert_eq!(
        parse_on(&zone, reference()).unwrap().document_number,
        input.document_number
    );
}

#[test]
fn names_are_transliterated() {
    for (surname, given, expected_surname, expected_given) in [
        ("Müller", "Jürgen", "MUELLER", "JUERGEN"),
        ("Hansen", "Øyvind", "HANSEN", "OEYVIND"),
        ("O'Brien", "Seán", "OBRIEN", "SEAN"),
        ("Dupont", "Anne-Marie", "DUPONT", "ANNE MARIE"),
        ("Åberg", "Björn", "AABERG", "BJOERN"),
        ("Groß", "Þóra", "GROSS", "THORA"),
        ("Núñez", "José María", "NUNEZ", "JOSE MARIA"),
    ] {
        let zone = build(&fields(surname, given), Format::Td3).unwrap();
        let mrz = parse_on(&zone, reference()).unwrap();
        assert_eq!(
            (mrz.surname.as_str(), mrz.given_names.as_str()),
            (expected_surname, expected_given)
        );
    }
    let zone = build(&fields("Dupont", "Anne-Marie"), Format::Td3).unwrap();
    assert!(zone.starts_with("P<GBRDUPONT<<ANNE<MARIE<<<"), "{zone}");
}

#[test]
fn long_names_are_truncated_given_names_first() {
    // 35 + 2 + 13 = 50 characters for a field of 39: even as initials the
    // given names do not fit, so the field is cut after the first initial.
    let input = fields("Wolfeschlegelsteinhausenbergerdorff", "Hubert Blaine");
    let zone = build(&input, Format::Td3).unwrap();
    let line1 = zone.lines().next().unwrap();
    assert_eq!(line1, "P<GBRWOLFESCHLEGELSTEINHAUSENBERGERDORFF<<H<");
    assert_eq!(line1.len(), 44);
    let mrz = parse_on(&zone, reference()).unwrap();
    assert_eq!(mrz.given_names, "H");

    // TD1 has 30: the last given names shrink first.
    let input = with_code(
        fields("Eriksson", "Anna Maria Elisabeth Charlotte"),
        Format::Td1,
    );
    let zone = build(&input, Format::Td1).unwrap();
    assert_eq!(
        zone.lines().nth(2).unwrap(),
        "ERIKSSON<<ANNA<MARIA<ELISABE<C"
    );
    let input = with_code(
        fields("Eriksson", "Anna Maria Elisabeth Charlotte Ulrika"),
        Format::Td1,
    );
    let zone = build(&input, Format::Td1).unwrap();
    assert_eq!(
        zone.lines().nth(2).unwrap(),
        "ERIKSSON<<ANNA<MARIA<ELISA<C<U"
    );
}

#[test]
fn document_numbers_that_do_not_fit_are_refused() {
    let mut input = fields("ERIKSSON", "ANNA");
    input.document_number = "1234567890".to_owned();
    for format in [Format::Td3, Format::MrvA] {
        assert_eq!(
            build_errors(&with_code(input.clone(), format), format),
            vec![MrzError::TooLong {
                field: Field::DocumentNumber,
                max: 9,
                found: 10
            }]
        );
    }
    let mut input = with_code(input, Format::Td1);
    input.document_number = "A".repeat(24);
    assert_eq!(
        build_errors(&input, Format::Td1),
        vec![MrzError::TooLong {
            field: Field::DocumentNumber,
            max: 23,
            found: 24
        }]
    );
    input.document_number = "A".repeat(12);
    input.optional_data = "B".repeat(12);
    assert_eq!(
        build_errors(&input, Format::Td1),
        vec![MrzError::TooLong {
            field: Field::DocumentNumber,
            max: 10,
            found: 12
        }]
    );
}

#[test]
fn unusable_fields_are_all_reported() {
    let mut input = fields("", "Anna 2");
    input.document_code = "I".to_owned();
    input.issuing_state = "GB1".to_owned();
    input.nationality = "GBRX".to_owned();
    input.document_number = "AB-12".to_owned();
    input.optional_data = "X".repeat(15);
    input.optional_data_2 = "Y".to_owned();
    assert_eq!(
        build_errors(&input, Format::Td3),
        vec![
            MrzError::DocumentCode {
                format: Format::Td3,
                value: "I".to_owned()
            },
            MrzError::StateCode {
                field: Field::IssuingState,
                value: "GB1".to_owned()
            },
            MrzError::StateCode {
                field: Field::Nationality,
                value: "GBRX".to_owned()
            },
            MrzError::Invalid {
                field: Field::GivenNames,
                value: "Anna 2".to_owned(),
                reason: "holds digits, which a name in a machine-readable zone cannot"
            },
            MrzError::Empty {
                field: Field::Surname
            },
            MrzError::Invalid {
                field: Field::DocumentNumber,
                value: "AB-12".to_owned(),
                reason: "holds characters other than letters and digits"
            },
            MrzError::TooLong {
                field: Field::PersonalNumber,
                max: 14,
                found: 15
            },
            MrzError::Invalid {
                field: Field::OptionalData2,
                value: "Y".to_owned(),
                reason: "cannot be written: only TD1 has a second optional data field"
            },
        ]
    );
}

#[test]
fn codes_are_upper_cased_and_padded() {
    let mut input = fields("ERIKSSON", "ANNA");
    input.document_code = "pd".to_owned();
    input.issuing_state = "d".to_owned();
    input.nationality = " gbr ".to_owned();
    let zone = build(&input, Format::Td3).unwrap();
    assert!(zone.starts_with("PDD<<ERIKSSON"), "{zone}");
    let mrz = parse_on(&zone, reference()).unwrap();
    assert_eq!(
        (
            mrz.document_code.as_str(),
            mrz.issuing_state.as_str(),
            mrz.nationality.as_str()
        ),
        ("PD", "D", "GBR")
    );
}

#[test]
fn formats_serialise_with_their_9303_names() {
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error, StrDeserializer};
    for format in [Format::Td1, Format::Td3, Format::MrvA] {
        let name: StrDeserializer<'_, Error> = format.as_str().into_deserializer();
        assert_eq!(Format::deserialize(name), Ok(format));
    }
    assert_eq!(Format::MrvA.to_string(), "MRV-A");
}

/// A small deterministic generator (xorshift64*), so the loop needs no
/// dependency and fails the same way every time.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn text(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.below(alphabet.len())] as char)
            .collect()
    }

    fn words(&mut self, count: usize) -> String {
        (0..count)
            .map(|_| {
                let len = 1 + self.below(10);
                self.text(LETTERS, len)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn date(&mut self, from: NaiveDate, until: NaiveDate) -> NaiveDate {
        let days = (until - from).num_days() as usize;
        from + Days::new(self.below(days) as u64)
    }
}

const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const OPTIONAL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<<<<";

fn random_fields(g: &mut Generator, format: Format) -> MrzFields {
    let code_letters: &[u8] = match format {
        Format::Td3 => b"P",
        Format::MrvA => b"V",
        Format::Td1 => b"ACI",
    };
    let document_code = format!(
        "{}{}",
        g.text(code_letters, 1),
        if g.below(2) == 0 {
            String::new()
        } else {
            g.text(LETTERS, 1)
        }
    );
    // Names that fit, so they come back unchanged.
    let (surname, given_names) = loop {
        let surname_words = 1 + g.below(3);
        let given_words = g.below(4);
        let surname = g.words(surname_words);
        let given_names = g.words(given_words);
        let width = surname.len()
            + if given_names.is_empty() {
                0
            } else {
                2 + given_names.len()
            };
        if width <= format.name_width() {
            break (surname, given_names);
        }
    };
    let (number_len, optional_max) = match format {
        Format::Td3 => (1 + g.below(9), 14),
        Format::MrvA => (1 + g.below(9), 16),
        Format::Td1 => {
            let len = 1 + g.below(23);
            // A long number takes its continuation, check digit and a filler.
            let room = if len <= 9 {
                15
            } else {
                15usize.saturating_sub(len - 9 + 2)
            };
            (len, room)
        }
    };
    let optional_len = g.below(optional_max + 1);
    let optional_data = g
        .text(OPTIONAL, optional_len)
        .trim_end_matches('<')
        .to_owned();
    let optional_data_2 = match format {
        Format::Td1 => {
            let len = g.below(12);
            g.text(OPTIONAL, len).trim_end_matches('<').to_owned()
        }
        Format::Td3 | Format::MrvA => String::new(),
    };
    let state_len = 1 + g.below(3);
    let nationality_len = 1 + g.below(3);
    let on = reference();
    MrzFields {
        document_code,
        issuing_state: g.text(LETTERS, state_len),
        surname,
        given_names,
        document_number: g.text(ALPHANUMERIC, number_len),
        nationality: g.text(LETTERS, nationality_len),
        // Dates whose centuries the reference date resolves as they were.
        date_of_birth: g.date(on - Months::new(99 * 12) + Days::new(1), on + Days::new(1)),
        sex: [Sex::Male, Sex::Female, Sex::Unspecified][g.below(3)],
        date_of_expiry: g.date(on - Months::new(50 * 12), on + Months::new(50 * 12)),
        optional_data,
        optional_data_2,
    }
}

#[test]
fn every_built_zone_reads_back_and_any_changed_digit_is_caught() {
    let mut g = Generator(0x9303_2021_0000_0001);
    for round in 0..1000 {
        for format in [Format::Td3, Format::MrvA, Format::Td1] {
            let input = random_fields(&mut g, format);
            let zone =
                build(&input, format).unwrap_or_else(|e| panic!("round {round}: {input:?}: {e}"));
            let lines: Vec<&str> = zone.lines().collect();
            assert_eq!(lines.len(), format.lines());
            assert!(lines.iter().all(|l| {
                l.len() == format.line_length()
                    && l.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<')
            }));
            let mrz = parse_on(&zone, reference())
                .unwrap_or_else(|e| panic!("round {round}:\n{zone}\n{e}"));
            assert_eq!(mrz.format, format);
            assert_eq!(MrzFields::from(&mrz), input, "round {round}:\n{zone}");

            // Changing one digit of a field with a check digit is always
            // caught: the check digit's weights are coprime with 10.
            let (line, columns) = match format {
                Format::Td1 => (1, 1..=15),
                Format::Td3 | Format::MrvA => (1, 1..=28),
            };
            let column = *columns.start() + g.below(columns.count());
            let mut changed: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let original = changed[line].as_bytes()[column - 1] as char;
            if let Some(d) = original.to_digit(10) {
                let replacement = char::from_digit((d + 1 + g.below(9) as u32) % 10, 10).unwrap();
                changed[line].replace_range(column - 1..column, &replacement.to_string());
                assert!(
                    parse_on(&changed.join("\n"), reference()).is_err(),
                    "round {round}: {original} → {replacement} at column {column}\n{}",
                    changed.join("\n")
                );
            }
        }
    }
}
