//! Bulk loading of the three indexes from NDJSON: the line formats, their
//! validation, and [`import`] (which the import endpoints call).

use casework_contracts::FieldError;
use casework_contracts::names::normalise;
use casework_store::Store;
use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::tables::{criminal_record, lost_stolen_document, watchlist_entry};
use crate::{InvestigateError, Severity, insert_new, normalise_document_number};

/// The largest import body accepted: 16 MiB, about 80 000 lines. Imports
/// have their own limit because `http.max_body_bytes` is sized for forms.
pub const IMPORT_MAX_BYTES: usize = 16 * 1024 * 1024;

/// Which index an import loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    /// The warnings index, from [`WarningLine`]s.
    Warnings,
    /// Criminal records, from [`CriminalRecordLine`]s.
    CriminalRecords,
    /// Lost and stolen documents, from [`LostStolenDocumentLine`]s.
    LostStolenDocuments,
}

/// One line of a warnings import: a warnings-index entry.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningLine {
    /// The entry's id in the sending system (at most 200 characters); a
    /// line whose `source_ref` is already stored is a duplicate.
    pub source_ref: String,
    /// Given names (at most 100 characters, at least one letter or digit).
    pub given_names: String,
    /// Surname (as `given_names`).
    pub surname: String,
    /// Date of birth, `YYYY-MM-DD`, not in the future.
    pub date_of_birth: String,
    /// Nationality, ISO 3166 alpha-3 (`RUS`).
    #[serde(default)]
    pub nationality: Option<String>,
    /// A travel document number; spaces and `<` fillers are dropped.
    #[serde(default)]
    pub document_number: Option<String>,
    /// The kind of warning, e.g. `overstayer`, `deception` (at most 100 characters).
    pub category: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// A sentence for caseworkers (at most 1000 characters).
    pub summary: String,
}

/// One line of a criminal-records import: one conviction.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriminalRecordLine {
    /// The record's id in the sending system (at most 200 characters).
    pub source_ref: String,
    /// Given names (at most 100 characters).
    pub given_names: String,
    /// Surname (at most 100 characters).
    pub surname: String,
    /// Date of birth, `YYYY-MM-DD`, not in the future.
    pub date_of_birth: String,
    /// The offence, e.g. `Burglary` (at most 1000 characters).
    pub offence: String,
    /// The sentence, e.g. `18 months' imprisonment` (at most 1000 characters).
    pub disposal: String,
    /// The court (at most 200 characters).
    pub court: String,
    /// Date of conviction, `YYYY-MM-DD`: after the date of birth, not in the future.
    pub conviction_date: String,
    /// Whether the conviction is spent; `false` when absent.
    #[serde(default)]
    pub spent: bool,
}

/// One line of a lost-and-stolen-documents import: one reported document.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LostStolenDocumentLine {
    /// The report's id in the sending system (at most 200 characters).
    pub source_ref: String,
    /// The document number; spaces and `<` fillers are dropped, 1 to 30
    /// letters and digits remain. One report per number and issuing state.
    pub document_number: String,
    /// Issuing state, ISO 3166 alpha-3 (`GBR`).
    pub issuing_state: String,
    /// When it was reported, `YYYY-MM-DD`, not in the future.
    pub reported_on: String,
    /// `lost` or `stolen`.
    pub status: String,
}

/// What an import did, line by line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Lines stored.
    pub accepted: u64,
    /// Valid lines already stored (by an earlier import, or earlier in this one).
    pub duplicates: u64,
    /// Invalid lines, in file order.
    pub rejected: Vec<RejectedLine>,
}

/// A line that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong, as JSON Pointers into the line.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
}

/// Validates NDJSON `body` as lines of `dataset` and stores the valid ones
/// in one transaction (see the crate documentation).
pub async fn import(
    store: &Store,
    dataset: Dataset,
    body: &[u8],
) -> Result<ImportReport, InvestigateError> {
    match dataset {
        Dataset::Warnings => import_lines::<WarningLine>(store, body).await,
        Dataset::CriminalRecords => import_lines::<CriminalRecordLine>(store, body).await,
        Dataset::LostStolenDocuments => import_lines::<LostStolenDocumentLine>(store, body).await,
    }
}

/// A line format: how a valid line becomes a row.
pub(crate) trait ImportLine: DeserializeOwned {
    /// The row it becomes.
    type Row: ActiveModelTrait + Send;

    /// Checks every field; the row (from `source`: `import` or `seed`), or
    /// every failing field.
    fn into_row(self, source: &str) -> Result<Self::Row, Vec<FieldError>>;
}

async fn import_lines<L: ImportLine>(
    store: &Store,
    body: &[u8],
) -> Result<ImportReport, InvestigateError> {
    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line::<L>(line).and_then(|l| l.into_row("import")) {
            Ok(row) => rows.push(row),
            Err(errors) => report.rejected.push(RejectedLine {
                line: index + 1,
                errors,
            }),
        }
    }
    let valid = rows.len() as u64;
    if valid == 0 {
        return Ok(report);
    }
    let txn = store.begin_write().await?;
    report.accepted = insert_new(&txn, rows).await?;
    store.commit(txn).await?;
    report.duplicates = valid - report.accepted;
    Ok(report)
}

fn parse_line<L: DeserializeOwned>(line: &[u8]) -> Result<L, Vec<FieldError>> {
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        vec![FieldError {
            pointer: String::new(),
            message: format!("not valid JSON: {e}"),
        }]
    })?;
    serde_json::from_value(value).map_err(|e| {
        // serde names the field only in these two messages.
        let message = e.to_string();
        let field = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|prefix| message.strip_prefix(prefix))
            .and_then(|rest| rest.split('`').next());
        vec![FieldError {
            pointer: field.map(|f| format!("/{f}")).unwrap_or_default(),
            message,
        }]
    })
}

/// Collects field errors; each check returns a usable value even when it
/// fails, and [`Fields::finish`] refuses the line if any did.
#[derive(Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            pointer: format!("/{field}"),
            message: message.into(),
        });
    }

    /// Trimmed, not empty, at most `max` characters.
    fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let value = value.trim();
        if value.is_empty() {
            self.fail(field, "must not be empty");
        } else if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
        value.to_owned()
    }

    /// A name and its comparison form, which must not be empty.
    fn name(&mut self, field: &str, value: &str) -> (String, String) {
        let value = self.text(field, value, 100);
        let normalised = normalise(&value);
        if normalised.is_empty() && !value.is_empty() {
            self.fail(field, "must contain a letter or digit");
        }
        (value, normalised)
    }

    /// `YYYY-MM-DD`, from 1900 and not in the future.
    fn date(&mut self, field: &str, value: &str) -> NaiveDate {
        let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .filter(|_| value.len() == 10);
        match parsed {
            None => {
                self.fail(field, format!("`{value}` is not a date (YYYY-MM-DD)"));
                NaiveDate::default()
            }
            Some(date) if date > Utc::now().date_naive() => {
                self.fail(field, "must not be in the future");
                date
            }
            Some(date) if date < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default() => {
                self.fail(field, "must not be before 1900");
                date
            }
            Some(date) => date,
        }
    }

    /// An ISO 3166 alpha-3 code: three capital letters.
    fn country(&mut self, field: &str, value: &str) -> String {
        if !(value.len() == 3 && value.chars().all(|c| c.is_ascii_uppercase())) {
            self.fail(field, "must be an ISO 3166 alpha-3 code, e.g. GBR");
        }
        value.to_owned()
    }

    fn document_number(&mut self, field: &str, value: &str) -> String {
        normalise_document_number(value).unwrap_or_else(|| {
            self.fail(field, "must be 1 to 30 letters and digits");
            String::new()
        })
    }

    fn one_of(&mut self, field: &str, value: &str, allowed: &[&str]) -> String {
        if !allowed.contains(&value) {
            self.fail(field, format!("must be one of: {}", allowed.join(", ")));
        }
        value.to_owned()
    }

    fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

const SOURCE_REF_MAX: usize = 200;

impl ImportLine for WarningLine {
    type Row = watchlist_entry::ActiveModel;

    fn into_row(self, source: &str) -> Result<Self::Row, Vec<FieldError>> {
        let mut f = Fields::default();
        let source_ref = f.text("source_ref", &self.source_ref, SOURCE_REF_MAX);
        let (given_names, normalised_given_names) = f.name("given_names", &self.given_names);
        let (surname, normalised_surname) = f.name("surname", &self.surname);
        let date_of_birth = f.date("date_of_birth", &self.date_of_birth);
        let nationality = self.nationality.map(|n| f.country("nationality", &n));
        let document_number = self
            .document_number
            .map(|d| f.document_number("document_number", &d));
        let category = f.text("category", &self.category, 100);
        let severity = Severity::ALL.map(Severity::as_str);
        let severity = f.one_of("severity", &self.severity, &severity);
        let summary = f.text("summary", &self.summary, 1000);
        f.finish()?;
        Ok(watchlist_entry::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            given_names: Set(given_names),
            surname: Set(surname),
            normalised_given_names: Set(normalised_given_names),
            normalised_surname: Set(normalised_surname),
            date_of_birth: Set(date_of_birth),
            nationality: Set(nationality),
            document_number: Set(document_number),
            category: Set(category),
            severity: Set(severity),
            summary: Set(summary),
            source: Set(source.to_owned()),
            source_ref: Set(Some(source_ref)),
            created_at: Set(Utc::now()),
        })
    }
}

impl ImportLine for CriminalRecordLine {
    type Row = criminal_record::ActiveModel;

    fn into_row(self, _source: &str) -> Result<Self::Row, Vec<FieldError>> {
        let mut f = Fields::default();
        let source_ref = f.text("source_ref", &self.source_ref, SOURCE_REF_MAX);
        let (given_names, normalised_given_names) = f.name("given_names", &self.given_names);
        let (surname, normalised_surname) = f.name("surname", &self.surname);
        let date_of_birth = f.date("date_of_birth", &self.date_of_birth);
        let offence = f.text("offence", &self.offence, 1000);
        let disposal = f.text("disposal", &self.disposal, 1000);
        let court = f.text("court", &self.court, 200);
        let conviction_date = f.date("conviction_date", &self.conviction_date);
        if conviction_date <= date_of_birth {
            f.fail("conviction_date", "must be after the date of birth");
        }
        f.finish()?;
        Ok(criminal_record::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            given_names: Set(given_names),
            surname: Set(surname),
            normalised_given_names: Set(normalised_given_names),
            normalised_surname: Set(normalised_surname),
            date_of_birth: Set(date_of_birth),
            offence: Set(offence),
            disposal: Set(disposal),
            court: Set(court),
            conviction_date: Set(conviction_date),
            spent: Set(self.spent),
            source_ref: Set(Some(source_ref)),
            created_at: Set(Utc::now()),
        })
    }
}

impl ImportLine for LostStolenDocumentLine {
    type Row = lost_stolen_document::ActiveModel;

    fn into_row(self, _source: &str) -> Result<Self::Row, Vec<FieldError>> {
        let mut f = Fields::default();
        let source_ref = f.text("source_ref", &self.source_ref, SOURCE_REF_MAX);
        let document_number = f.document_number("document_number", &self.document_number);
        let issuing_state = f.country("issuing_state", &self.issuing_state);
        let reported_on = f.date("reported_on", &self.reported_on);
        let status = f.one_of("status", &self.status, &["lost", "stolen"]);
        f.finish()?;
        Ok(lost_stolen_document::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            document_number: Set(document_number),
            issuing_state: Set(issuing_state),
            reported_on: Set(reported_on),
            status: Set(status),
            source_ref: Set(Some(source_ref)),
            created_at: Set(Utc::now()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors<L: ImportLine>(line: &str) -> Vec<String> {
        match parse_line::<L>(line.as_bytes()).and_then(|l| l.into_row("import")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|e| e.pointer).collect(),
        }
    }

    #[test]
    fn a_good_line_passes_and_a_bad_one_names_every_field() {
        let good = r#"{"source_ref":"1","given_names":"Zoë","surname":"Ní Bhriain","date_of_birth":"1990-01-31","category":"deception","severity":"medium","summary":"x"}"#;
        assert!(errors::<WarningLine>(good).is_empty());
        let bad = r#"{"source_ref":" ","given_names":"--","surname":"X","date_of_birth":"1990-02-30","nationality":"gb","category":"c","severity":"severe","summary":"x"}"#;
        assert_eq!(
            errors::<WarningLine>(bad),
            [
                "/source_ref",
                "/given_names",
                "/date_of_birth",
                "/nationality",
                "/severity"
            ]
        );
    }

    #[test]
    fn structural_errors_point_at_the_field_when_serde_names_it() {
        assert_eq!(
            errors::<LostStolenDocumentLine>(
                r#"{"source_ref":"1","document_number":"A1","issuing_state":"GBR","reported_on":"2024-01-01","status":"lost","colour":"red"}"#
            ),
            ["/colour"]
        );
        assert_eq!(
            errors::<LostStolenDocumentLine>(r#"{"source_ref":"1"}"#),
            ["/document_number"]
        );
        assert_eq!(errors::<LostStolenDocumentLine>("{not json"), [""]);
        assert_eq!(errors::<LostStolenDocumentLine>("[1]"), [""]);
    }

    #[test]
    fn a_conviction_comes_after_birth() {
        let line = r#"{"source_ref":"1","given_names":"A","surname":"B","date_of_birth":"1990-01-01","offence":"o","disposal":"d","court":"c","conviction_date":"1989-01-01"}"#;
        assert_eq!(errors::<CriminalRecordLine>(line), ["/conviction_date"]);
    }
}
