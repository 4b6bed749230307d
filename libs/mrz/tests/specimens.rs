//! The specimen zones printed in ICAO Doc 9303 (8th edition). Every check
//! digit in them was recomputed independently: all are correct as printed.

use casework_mrz::{Format, Mrz, MrzFields, Sex, build, parse, parse_on};
use chrono::NaiveDate;

const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n\
                   L898902C36UTO7408122F1204159ZE184226B<<<<<10";
const TD1: &str = "I<UTOD231458907<<<<<<<<<<<<<<<\n\
                   7408122F1204159UTO<<<<<<<<<<<6\n\
                   ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
const MRV_A: &str = "VIUSATRAVELER<<HAPPYPERSON<<<<<<<<<<<<<<<<<<\n\
                     555123ABC6GBR6502056F04122361FLNDDDAM5803085";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn reference() -> NaiveDate {
    date(2024, 6, 1)
}

#[test]
fn td3_passport_specimen_part_4() {
    let mrz = parse_on(TD3, reference()).unwrap();
    assert_eq!(
        mrz,
        Mrz {
            format: Format::Td3,
            document_code: "P".to_owned(),
            issuing_state: "UTO".to_owned(),
            surname: "ERIKSSON".to_owned(),
            given_names: "ANNA MARIA".to_owned(),
            document_number: "L898902C3".to_owned(),
            nationality: "UTO".to_owned(),
            date_of_birth: date(1974, 8, 12),
            sex: Sex::Female,
            date_of_expiry: date(2012, 4, 15),
            optional_data: "ZE184226B".to_owned(),
            optional_data_2: String::new(),
        }
    );
    assert_eq!(build(&MrzFields::from(&mrz), Format::Td3).unwrap(), TD3);
}

#[test]
fn td1_identity_card_specimen_part_5() {
    let mrz = parse_on(TD1, reference()).unwrap();
    assert_eq!(
        mrz,
        Mrz {
            format: Format::Td1,
            document_code: "I".to_owned(),
            issuing_state: "UTO".to_owned(),
            surname: "ERIKSSON".to_owned(),
            given_names: "ANNA MARIA".to_owned(),
            document_number: "D23145890".to_owned(),
            nationality: "UTO".to_owned(),
            date_of_birth: date(1974, 8, 12),
            sex: Sex::Female,
            date_of_expiry: date(2012, 4, 15),
            optional_data: String::new(),
            optional_data_2: String::new(),
        }
    );
    assert_eq!(build(&MrzFields::from(&mrz), Format::Td1).unwrap(), TD1);
}

#[test]
fn mrv_a_visa_specimen_part_7() {
    let mrz = parse_on(MRV_A, reference()).unwrap();
    assert_eq!(
        mrz,
        Mrz {
            format: Format::MrvA,
            document_code: "VI".to_owned(),
            issuing_state: "USA".to_owned(),
            surname: "TRAVELER".to_owned(),
            given_names: "HAPPYPERSON".to_owned(),
            document_number: "555123ABC".to_owned(),
            nationality: "GBR".to_owned(),
            date_of_birth: date(1965, 2, 5),
            sex: Sex::Female,
            date_of_expiry: date(2004, 12, 23),
            optional_data: "1FLNDDDAM5803085".to_owned(),
            optional_data_2: String::new(),
        }
    );
    assert_eq!(build(&MrzFields::from(&mrz), Format::MrvA).unwrap(), MRV_A);
}

/// 9303 part 5 §4.2.4 note j: a 12-character number, `<` in position 15,
/// the last three characters, the check digit over all twelve, a filler.
#[test]
fn td1_long_document_number() {
    let zone = "I<UTOD23145890<7349<<<<<<<<<<<\n\
                7408122F1204159UTO<<<<<<<<<<<6\n\
                ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
    let mrz = parse_on(zone, reference()).unwrap();
    assert_eq!(mrz.document_number, "D23145890734");
    assert_eq!(mrz.optional_data, "");
    assert_eq!(build(&MrzFields::from(&mrz), Format::Td1).unwrap(), zone);
}

#[test]
fn tolerates_crlf_surrounding_whitespace_and_a_trailing_newline() {
    let messy = format!("  {}  \r\n\t{} \r\n", &TD3[..44], &TD3[45..]);
    assert_eq!(parse_on(&messy, reference()), parse_on(TD3, reference()));
}

#[test]
fn parse_resolves_centuries_against_today() {
    // The specimens' dates are all in the past, so today gives the same
    // centuries as any reference after 2012.
    assert_eq!(parse(TD3).unwrap(), parse_on(TD3, reference()).unwrap());
}

#[test]
fn the_specimen_passport_has_expired() {
    let mrz = parse_on(TD3, reference()).unwrap();
    assert_eq!(mrz.check_expiry(date(2012, 4, 15)), Ok(()));
    assert_eq!(
        mrz.check_expiry(date(2012, 4, 16)).unwrap_err().to_string(),
        "document expired on 2012-04-15 (checked on 2012-04-16)"
    );
}
