//! Person import: a department's legacy person records, one JSON object a
//! line (NDJSON), each linked by the matching engine to a person already in
//! the index or given a new one, in order — so a later line can link to a
//! person an earlier line created.
//!
//! ```text
//! {"source_id":"HMPO-1","given_names":"Ivan","surname":"Petrov","date_of_birth":"1975-02-14","identifiers":[{"scheme":"passport:RUS","value":"723456789"}]}
//! {"source_id":"HMPO-2","given_names":"Иван","surname":"Петров","date_of_birth":"1975-02-14"}
//! ```
//!
//! Only `source_id` and a name are required. An optional field that is
//! missing or malformed (`"date_of_birth": 1975`, an address that is not an
//! object) is left out and the record is matched on what it has. A line
//! that is not a JSON object, or lacks `source_id` or a name, is rejected
//! and reported; the others are stored, all in one transaction. A
//! `source_id` already imported resolves to the person it was linked to,
//! so sending the same file twice changes nothing.

use casework_contracts::FieldError;
use casework_matching::Record;
use casework_runtime::http::RejectedLine;
use casework_store::Store;
use sea_orm::TransactionTrait;
use serde::Serialize;
use serde_json::Value;

use crate::persons::{Linked, PersonIndex, Source};

/// The longest `source_id`.
const SOURCE_ID_MAX: usize = 200;

/// What an import did, line by line.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct PersonImportReport {
    /// Lines linked to a person already in the index.
    pub matched: usize,
    /// Lines that made a new person.
    pub new: usize,
    /// Lines that made a provisional person and a review task.
    pub review: usize,
    /// Lines whose `source_id` had been imported before (nothing changed).
    pub already_imported: usize,
    /// One entry per line stored, in order.
    pub lines: Vec<PersonImportLine>,
    /// The lines refused, with why.
    pub rejected: Vec<RejectedLine>,
}

/// One imported line's outcome.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonImportLine {
    /// Its line number (from 1).
    pub line: usize,
    /// The source system's id for the record.
    pub source_id: String,
    /// The person it is linked to.
    pub person_id: String,
    /// `match`, `new` or `review`.
    pub decision: String,
    /// The heaviest candidate's total match weight (absent when no person
    /// shared a blocking key, or when the line was imported before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The review task raised, on `review`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_id: Option<String>,
    /// The `source_id` had been imported before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_imported: bool,
}

/// Imports `body` (NDJSON) into the index.
pub async fn import_persons(
    store: &Store,
    persons: &PersonIndex,
    body: &[u8],
) -> Result<PersonImportReport, sea_orm::DbErr> {
    let mut report = PersonImportReport::default();
    let txn = store.connection().begin().await?;
    for (number, line) in body.split(|b| *b == b'\n').enumerate() {
        let number = number + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (source_id, record) = match parse(line) {
            Ok(parsed) => parsed,
            Err(errors) => {
                report.rejected.push(RejectedLine {
                    line: number,
                    errors,
                });
                continue;
            }
        };
        let resolution = persons
            .resolve(&txn, &record, Source::Import(&source_id))
            .await?;
        let tally = match (resolution.already_linked, resolution.linked) {
            (true, _) => &mut report.already_imported,
            (false, Linked::Match) => &mut report.matched,
            (false, Linked::Review) => &mut report.review,
            (false, Linked::New) => &mut report.new,
        };
        *tally += 1;
        report.lines.push(PersonImportLine {
            line: number,
            source_id,
            person_id: resolution.person.id,
            decision: resolution.linked.as_str().to_owned(),
            score: resolution
                .best
                .map(|(_, weight, _)| (weight * 1000.0).round() / 1000.0),
            review_id: resolution.review_id,
            already_imported: resolution.already_linked,
        });
    }
    txn.commit().await?;
    Ok(report)
}

/// A line's `source_id` and record, or what is wrong with it.
fn parse(line: &[u8]) -> Result<(String, Record), Vec<FieldError>> {
    let value: Value = serde_json::from_slice(line)
        .map_err(|e| vec![FieldError::new("", format!("not JSON: {e}"))])?;
    if !value.is_object() {
        return Err(vec![FieldError::new(
            "",
            "expected a JSON object".to_owned(),
        )]);
    }
    let mut errors = Vec::new();
    let source_id = match value
        .get("source_id")
        .and_then(Value::as_str)
        .map(str::trim)
    {
        Some(id) if !id.is_empty() && id.chars().count() <= SOURCE_ID_MAX => Some(id.to_owned()),
        _ => {
            errors.push(FieldError::new(
                "/source_id",
                format!("required: the record's id in the sending system, 1 to {SOURCE_ID_MAX} characters"),
            ));
            None
        }
    };
    let record = Record::from_value(&value)
        .map_err(|e| errors.push(FieldError::new("/surname", e.to_string())))
        .ok();
    match (source_id, record) {
        (Some(id), Some(record)) if errors.is_empty() => Ok((id, record)),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn a_line_needs_a_source_id_and_a_name_and_nothing_else() {
        let (id, record) =
            parse(br#"{"source_id":"A1","surname":"Petrov","date_of_birth":1975,"sex":7}"#)
                .expect("accepted");
        assert_eq!(id, "A1");
        assert_eq!(record.date_of_birth, None);
        let errors = parse(br#"{"given_names":"","surname":""}"#).expect_err("refused");
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/source_id", "/surname"]);
        assert_eq!(parse(b"[1]").expect_err("refused")[0].pointer, "");
        assert!(parse(b"{not json").is_err());
    }
}
