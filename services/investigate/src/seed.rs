//! Synthetic demo data: a few named people whose screening demos and tests
//! can rely on ([`DEMO_IDENTITIES`]), and as many generated records as asked
//! for. Everything is deterministic and marked `seed-…`, so seeding twice
//! adds nothing the second time. None of it is about real people.

use casework_disclosure::RehabilitationTable;
use casework_store::Store;
use chrono::NaiveDate;
use serde::Serialize;

use crate::imports::{
    CriminalRecordLine, ImportLine, LineContext, LostStolenDocumentLine, WarningLine,
};
use crate::insert_new;
use casework_bus::HandlerError;

/// A synthetic applicant, and what screening finds about them once seeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoIdentity {
    /// Given names.
    pub given_names: &'static str,
    /// Surname.
    pub surname: &'static str,
    /// Date of birth, `YYYY-MM-DD`.
    pub date_of_birth: &'static str,
    /// Nationality (ISO 3166 alpha-3).
    pub nationality: &'static str,
    /// The passport number they apply with.
    pub document_number: &'static str,
    /// The finding's kind (`warning`, `criminal-record`,
    /// `lost-stolen-document`), or `None` for a clean record.
    pub finding: Option<&'static str>,
    /// The finding's severity, if any.
    pub severity: Option<&'static str>,
}

/// The named demo people: a warnings-index match, a conviction long spent,
/// a lost passport, someone with nothing against them, and someone with one
/// spent and one unspent conviction.
pub const DEMO_IDENTITIES: [DemoIdentity; 5] = [
    DemoIdentity {
        given_names: "Ivan",
        surname: "PETROV",
        date_of_birth: "1975-02-14",
        nationality: "RUS",
        document_number: "753829164",
        finding: Some("warning"),
        severity: Some("high"),
    },
    DemoIdentity {
        given_names: "John",
        surname: "SMITH",
        date_of_birth: "1980-01-01",
        nationality: "GBR",
        document_number: "512345678",
        // 18 months' custody from 2019-05-17: spent since 2024-11-17.
        finding: Some("criminal-record"),
        severity: Some("low"),
    },
    DemoIdentity {
        given_names: "María",
        surname: "GARCÍA",
        date_of_birth: "1990-06-30",
        nationality: "ESP",
        document_number: "LOST12345",
        finding: Some("lost-stolen-document"),
        severity: Some("high"),
    },
    DemoIdentity {
        given_names: "Amélie",
        surname: "DUBOIS",
        date_of_birth: "1988-09-12",
        nationality: "FRA",
        document_number: "18AB12345",
        finding: None,
        severity: None,
    },
    // Fined on 2016-05-10 (spent since 2017-05-10), and 30 months' custody
    // from 2024-02-12 (ends 2026-08-12, unspent until 2030-08-12): a basic
    // certificate lists only the second. The most severe finding is first.
    DemoIdentity {
        given_names: "Jordan Avery",
        surname: "PRICE",
        date_of_birth: "1990-03-14",
        nationality: "GBR",
        document_number: "533380476",
        finding: Some("criminal-record"),
        severity: Some("high"),
    },
];

/// What [`seed`] added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeedReport {
    /// Warnings-index entries added.
    pub warnings: u64,
    /// Criminal records added.
    pub criminal_records: u64,
    /// Lost or stolen documents added.
    pub lost_stolen_documents: u64,
    /// Records that were already there (from an earlier seed).
    pub already_present: u64,
}

/// Inserts the demo records behind [`DEMO_IDENTITIES`] and `people` generated
/// ones (one record each, cycling through the three indexes), in one
/// transaction, checked like an import against `table` on `today`.
/// Idempotent: the same `people` adds nothing the second time.
pub async fn seed(
    store: &Store,
    people: usize,
    table: &RehabilitationTable,
    today: NaiveDate,
) -> Result<SeedReport, HandlerError> {
    let mut records = demo_records();
    for n in 0..people {
        generated(n, &mut records);
    }
    let ctx = LineContext {
        source: "seed",
        today,
        table,
    };
    let warnings = rows(records.warnings, ctx)?;
    let convictions = rows(records.convictions, ctx)?;
    let documents = rows(records.documents, ctx)?;
    let total = (warnings.len() + convictions.len() + documents.len()) as u64;
    let txn = store.begin_write().await?;
    let mut report = SeedReport {
        warnings: insert_new(&txn, warnings).await?,
        criminal_records: insert_new(&txn, convictions).await?,
        lost_stolen_documents: insert_new(&txn, documents).await?,
        already_present: 0,
    };
    store.commit(txn).await?;
    report.already_present =
        total - report.warnings - report.criminal_records - report.lost_stolen_documents;
    tracing::info!(?report, "investigate seeded");
    Ok(report)
}

/// Synthetic records go through the import validation like any others.
fn rows<L: ImportLine>(lines: Vec<L>, ctx: LineContext<'_>) -> Result<Vec<L::Row>, HandlerError> {
    lines
        .into_iter()
        .map(|line| {
            line.into_row(ctx).map(|(row, _)| row).map_err(|errors| {
                HandlerError::Refused(format!("an invalid synthetic record: {errors:?}"))
            })
        })
        .collect()
}

/// A conviction line with its facts; `length` for custody.
#[allow(clippy::too_many_arguments)]
fn conviction(
    source_ref: String,
    person: (&str, &str, &str),
    offence: &str,
    disposal: &str,
    court: &str,
    conviction_date: String,
    kind: &str,
    length: Option<&str>,
) -> CriminalRecordLine {
    let (given_names, surname, date_of_birth) = person;
    CriminalRecordLine {
        source_ref,
        given_names: given_names.into(),
        surname: surname.into(),
        date_of_birth: date_of_birth.into(),
        offence: offence.into(),
        disposal: disposal.into(),
        court: court.into(),
        conviction_date,
        disposal_kind: Some(kind.into()),
        sentence_length: length.map(str::to_owned),
        sentence_ends_on: None,
        order_ends_on: None,
        order_has_no_end_date: None,
        conditions_end_on: None,
        schedule_18: None,
        summary_only: Some(false),
        spent: None,
    }
}

#[derive(Default)]
struct Records {
    warnings: Vec<WarningLine>,
    convictions: Vec<CriminalRecordLine>,
    documents: Vec<LostStolenDocumentLine>,
}

fn demo_records() -> Records {
    let [petrov, smith, garcia, _, price] = DEMO_IDENTITIES;
    let person = |d: DemoIdentity| (d.given_names, d.surname, d.date_of_birth);
    Records {
        warnings: vec![WarningLine {
            source_ref: "seed-demo-warning-petrov".into(),
            given_names: petrov.given_names.into(),
            surname: petrov.surname.into(),
            date_of_birth: petrov.date_of_birth.into(),
            nationality: Some(petrov.nationality.into()),
            document_number: None,
            category: "overstayer".into(),
            severity: "high".into(),
            summary: "Overstayed a visit visa by 14 months in 2019 and was removed".into(),
        }],
        convictions: vec![
            conviction(
                "seed-demo-conviction-smith".into(),
                person(smith),
                "Burglary",
                "18 months' imprisonment",
                "Manchester Crown Court",
                "2019-05-17".into(),
                "custody",
                Some("18 months"),
            ),
            conviction(
                "seed-demo-conviction-price-1".into(),
                person(price),
                "Theft from a shop",
                "Fine of £200",
                "Leeds Magistrates' Court",
                "2016-05-10".into(),
                "fine",
                None,
            ),
            conviction(
                "seed-demo-conviction-price-2".into(),
                person(price),
                "Fraud by abuse of position",
                "30 months' imprisonment",
                "Leeds Crown Court",
                "2024-02-12".into(),
                "custody",
                Some("30 months"),
            ),
        ],
        documents: vec![LostStolenDocumentLine {
            source_ref: "seed-demo-document-lost12345".into(),
            document_number: garcia.document_number.into(),
            issuing_state: garcia.nationality.into(),
            reported_on: "2025-03-10".into(),
            status: "lost".into(),
        }],
    }
}

// Names from many traditions, some with the accents and apostrophes that
// screening must see through. None combines with a date of birth into a
// demo identity: PETROV, SMITH, GARCÍA, DUBOIS and PRICE are left out.
const GIVEN_NAMES: [&str; 38] = [
    "Aarav",
    "Adaeze",
    "Ahmed",
    "Aleksandra",
    "Ana",
    "Björn",
    "Chen",
    "Chloé",
    "Dmitri",
    "Emeka",
    "Fatima",
    "François",
    "Grace",
    "Hamid",
    "Hana",
    "Inês",
    "Jakub",
    "José",
    "Kwame",
    "Laila",
    "Łukasz",
    "Mei",
    "Mohammed",
    "Nadia",
    "Niamh",
    "Oğuz",
    "Olumide",
    "Priya",
    "Rahul",
    "Rosa",
    "Sakura",
    "Siobhán",
    "Søren",
    "Tariq",
    "Thi Hoa",
    "Yusuf",
    "Zainab",
    "Zoë",
];
const SURNAMES: [&str; 38] = [
    "Achebe",
    "Adeyemi",
    "Ahmadi",
    "Al-Farsi",
    "Andersen",
    "Bianchi",
    "Chowdhury",
    "Costa",
    "Da Silva",
    "Dimitrov",
    "Fernández",
    "Haddad",
    "Hussain",
    "Ivanova",
    "Jensen",
    "Kaur",
    "Kim",
    "Kowalski",
    "Le",
    "Mensah",
    "Müller",
    "Nakamura",
    "Nguyễn",
    "Novak",
    "O'Brien",
    "Okafor",
    "Papadopoulos",
    "Patel",
    "Popescu",
    "Rahman",
    "Rossi",
    "Santos",
    "Singh",
    "Tanaka",
    "Van der Berg",
    "Wang",
    "Yılmaz",
    "Zhang",
];
const NATIONALITIES: [&str; 16] = [
    "NGA", "IND", "PAK", "CHN", "POL", "ROU", "TUR", "VNM", "BRA", "GHA", "IRL", "DEU", "ITA",
    "JPN", "EGY", "UKR",
];
const WARNINGS: [(&str, &str); 5] = [
    ("overstayer", "Overstayed a previous visa"),
    ("deception", "Used deception in a previous application"),
    ("removal", "Removed after a previous refusal"),
    ("sponsor-abuse", "Named in a sponsor licence revocation"),
    ("absconder", "Failed to report as required"),
];
/// Offence, disposal as the court put it, the table's kind, custody's
/// length, and whether the offence is triable only summarily.
const OFFENCES: [(&str, &str, &str, Option<&str>, bool); 5] = [
    (
        "Theft from a shop",
        "Community order, 12 months",
        "community-order",
        None,
        false,
    ),
    (
        "Fraud by false representation",
        "12 months' imprisonment",
        "custody",
        Some("12 months"),
        false,
    ),
    (
        "Possession of a controlled drug",
        "Fine",
        "fine",
        None,
        false,
    ),
    (
        "Assault occasioning actual bodily harm",
        "2 years' imprisonment",
        "custody",
        Some("2 years"),
        false,
    ),
    (
        "Driving while disqualified",
        "6 months' imprisonment, suspended",
        "custody",
        Some("6 months"),
        true,
    ),
];
const COURTS: [&str; 5] = [
    "Leeds Magistrates' Court",
    "Cardiff Crown Court",
    "Westminster Magistrates' Court",
    "Glasgow Sheriff Court",
    "Belfast Crown Court",
];

/// SplitMix64: a small, well-mixed deterministic sequence.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<T: Copy>(list: &[T], r: u64) -> T {
    list[(r % list.len() as u64) as usize]
}

/// A date `days` after `from`, as `YYYY-MM-DD`.
fn date_after(from: (i32, u32, u32), days: u64) -> String {
    let start = chrono::NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap_or_default();
    (start + chrono::Duration::days(days as i64)).to_string()
}

/// The `n`th generated person's record.
fn generated(n: usize, records: &mut Records) {
    let r = |k: u64| mix((n as u64) << 3 | k);
    let source_ref = format!("seed-person-{n}");
    let given_names = pick(&GIVEN_NAMES, r(0)).to_owned();
    let surname = pick(&SURNAMES, r(1)).to_owned();
    // Born 1950 to 1999.
    let birth_days = r(2) % 18_250;
    let date_of_birth = date_after((1950, 1, 1), birth_days);
    let nationality = pick(&NATIONALITIES, r(3));
    match n % 3 {
        0 => {
            let (category, summary) = pick(&WARNINGS, r(4));
            records.warnings.push(WarningLine {
                source_ref,
                given_names,
                surname,
                date_of_birth,
                nationality: Some(nationality.into()),
                document_number: None,
                category: category.into(),
                severity: pick(&["low", "medium", "high", "critical"], r(5)).into(),
                summary: summary.into(),
            })
        }
        1 => {
            let (offence, disposal, kind, length, summary_only) = pick(&OFFENCES, r(4));
            // At 18 or later, and by the end of 2024.
            let convicted = (birth_days + 6_575 + r(5) % 7_300).min(27_393);
            let conviction_date = date_after((1950, 1, 1), convicted);
            let mut line = conviction(
                source_ref,
                (&given_names, &surname, &date_of_birth),
                offence,
                disposal,
                pick(&COURTS, r(6)),
                conviction_date,
                kind,
                length,
            );
            line.summary_only = Some(summary_only);
            if kind == "community-order" {
                line.order_ends_on = Some(date_after((1950, 1, 1), convicted + 364));
            }
            records.convictions.push(line)
        }
        _ => records.documents.push(LostStolenDocumentLine {
            source_ref,
            // Unique per person: a letter, then the person's number.
            document_number: format!("{}{:08}", pick(&LETTERS, r(4)), n),
            issuing_state: nationality.into(),
            reported_on: date_after((2015, 1, 1), r(5) % 3_650),
            status: pick(&["lost", "stolen"], r(6)).into(),
        }),
    }
}

const LETTERS: [char; 26] = [
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S',
    'T', 'U', 'V', 'W', 'X', 'Y', 'Z',
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_records_are_deterministic_and_valid() {
        let mut first = Records::default();
        let mut second = Records::default();
        for n in 0..300 {
            generated(n, &mut first);
            generated(n, &mut second);
        }
        assert_eq!(first.warnings.len(), 100);
        assert_eq!(
            first.warnings[7].surname, second.warnings[7].surname,
            "same person each time"
        );
        let tables = casework_testkit::shipped_rehabilitation();
        let ctx = LineContext {
            source: "seed",
            today: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
            table: tables.latest(),
        };
        assert!(rows(first.warnings, ctx).is_ok());
        assert!(rows(first.convictions, ctx).is_ok());
        assert!(rows(first.documents, ctx).is_ok());
        let demo = demo_records();
        assert!(rows(demo.warnings, ctx).is_ok() && rows(demo.convictions, ctx).is_ok());
    }
}
