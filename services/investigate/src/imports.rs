//! Bulk loading of the three indexes from NDJSON: the line formats, their
//! validation, and [`import`] (which the import endpoints call).

use casework_contracts::FieldError;
use casework_contracts::names::normalise;
use casework_disclosure::{Length, RecordFacts, RehabilitationTable, Status};
use casework_store::Store;
use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, Set};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use casework_runtime::http::RejectedLine;

use crate::tables::{criminal_record, lost_stolen_document, watchlist_entry};
use casework_bus::HandlerError;

use crate::{Severity, insert_new, normalise_document_number};

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

/// One line of a criminal-records import: one conviction or caution, with
/// the facts that decide when it is spent. Whether it *is* spent is never
/// imported: it is computed from these facts on the day it matters (see
/// `config/rehabilitation/`). A line without enough facts is stored, and
/// the report says the record will be undetermined: screening then refers
/// the case to a caseworker rather than print or hide it.
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
    /// The sentence as the court stated it, e.g. `18 months' imprisonment`
    /// (at most 1000 characters): printed on certificates.
    pub disposal: String,
    /// The court (at most 200 characters).
    pub court: String,
    /// Date of conviction (or caution), `YYYY-MM-DD`: after the date of
    /// birth, not in the future.
    pub conviction_date: String,
    /// The disposal as the rehabilitation table names it: `custody`,
    /// `life`, `community-order`, `fine`, `conditional-discharge`,
    /// `bind-over`, `referral-order`, `relevant-order`,
    /// `absolute-discharge`, `simple-caution`, `conditional-caution`.
    #[serde(default)]
    pub disposal_kind: Option<String>,
    /// Custody: the sentence's length, e.g. `30 months`, `16 weeks`, `2 years`.
    #[serde(default)]
    pub sentence_length: Option<String>,
    /// Custody: the day the sentence (licence included) ends, `YYYY-MM-DD`,
    /// when it is not the conviction date plus the length.
    #[serde(default)]
    pub sentence_ends_on: Option<String>,
    /// An order: the last day it has effect, `YYYY-MM-DD`.
    #[serde(default)]
    pub order_ends_on: Option<String>,
    /// An order: `true` when the court named no last day.
    #[serde(default)]
    pub order_has_no_end_date: Option<bool>,
    /// A conditional caution: the day its conditions ended, `YYYY-MM-DD`.
    #[serde(default)]
    pub conditions_end_on: Option<String>,
    /// Whether the offence is listed in Schedule 18 to the Sentencing Code
    /// (decides whether custody over 4 years is ever spent).
    #[serde(default)]
    pub schedule_18: Option<bool>,
    /// Whether the offence is triable only summarily (such a further
    /// conviction does not extend an earlier period, s.6(6)(a)).
    #[serde(default)]
    pub summary_only: Option<bool>,
    /// Accepted for compatibility with older feeds and ignored: the report
    /// says so. Spentness is computed, never imported.
    #[serde(default)]
    pub spent: Option<bool>,
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
    /// What the sender should know about lines that were stored (a field
    /// ignored, a record whose spentness will be undetermined), in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<LineNote>,
}

/// Something to know about a stored line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LineNote {
    /// Its number, from 1.
    pub line: usize,
    /// What to know.
    pub message: String,
}

/// What validating a line needs beyond the line: where it comes from, what
/// day it is (dates may not be in the future), and the rehabilitation table
/// whose disposal kinds criminal records name.
#[derive(Debug, Clone, Copy)]
pub struct LineContext<'a> {
    /// `import`, `seed` or `enforcement`.
    pub source: &'a str,
    /// Today.
    pub today: NaiveDate,
    /// The rehabilitation table in use.
    pub table: &'a RehabilitationTable,
}

/// Validates NDJSON `body` as lines of `dataset` and stores the valid ones
/// in one transaction (see the crate documentation).
pub async fn import(
    store: &Store,
    dataset: Dataset,
    body: &[u8],
    table: &RehabilitationTable,
    today: NaiveDate,
) -> Result<ImportReport, HandlerError> {
    let ctx = LineContext {
        source: "import",
        today,
        table,
    };
    match dataset {
        Dataset::Warnings => import_lines::<WarningLine>(store, body, ctx).await,
        Dataset::CriminalRecords => import_lines::<CriminalRecordLine>(store, body, ctx).await,
        Dataset::LostStolenDocuments => {
            import_lines::<LostStolenDocumentLine>(store, body, ctx).await
        }
    }
}

/// A line format: how a valid line becomes a row.
pub(crate) trait ImportLine: DeserializeOwned {
    /// The row it becomes.
    type Row: ActiveModelTrait + Send;

    /// Checks every field; the row and what the sender should know of it,
    /// or every failing field.
    fn into_row(self, ctx: LineContext<'_>) -> Result<(Self::Row, Vec<String>), Vec<FieldError>>;
}

async fn import_lines<L: ImportLine>(
    store: &Store,
    body: &[u8],
    ctx: LineContext<'_>,
) -> Result<ImportReport, HandlerError> {
    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line::<L>(line).and_then(|l| l.into_row(ctx)) {
            Ok((row, notes)) => {
                rows.push(row);
                report
                    .notes
                    .extend(notes.into_iter().map(|message| LineNote {
                        line: index + 1,
                        message,
                    }));
            }
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
struct Fields {
    errors: Vec<FieldError>,
    today: NaiveDate,
}

impl Fields {
    fn new(ctx: LineContext<'_>) -> Self {
        Self {
            errors: Vec::new(),
            today: ctx.today,
        }
    }

    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
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
        let date = self.any_date(field, value);
        if date > self.today {
            self.fail(field, "must not be in the future");
        }
        date
    }

    /// `YYYY-MM-DD` from 1900, in the past or the future (the end of a
    /// sentence or an order).
    fn any_date(&mut self, field: &str, value: &str) -> NaiveDate {
        let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .ok()
            .filter(|_| value.len() == 10);
        match parsed {
            None => {
                self.fail(field, format!("`{value}` is not a date (YYYY-MM-DD)"));
                NaiveDate::default()
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
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}

const SOURCE_REF_MAX: usize = 200;

impl ImportLine for WarningLine {
    type Row = watchlist_entry::ActiveModel;

    fn into_row(self, ctx: LineContext<'_>) -> Result<(Self::Row, Vec<String>), Vec<FieldError>> {
        let mut f = Fields::new(ctx);
        let source_ref = f.text("source_ref", &self.source_ref, SOURCE_REF_MAX);
        let (given_names, normalised_given_names) = f.name("given_names", &self.given_names);
        let (surname, normalised_surname) = f.name("surname", &self.surname);
        let date_of_birth = f.date("date_of_birth", &self.date_of_birth);
        let nationality = self.nationality.map(|n| f.country("nationality", &n));
        let document_number = self
            .document_number
            .map(|d| f.document_number("document_number", &d));
        let category = f.text("category", &self.category, 100);
        let severity: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        let severity = f.one_of("severity", &self.severity, &severity);
        let summary = f.text("summary", &self.summary, 1000);
        f.finish()?;
        let row = watchlist_entry::ActiveModel {
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
            source: Set(ctx.source.to_owned()),
            source_ref: Set(Some(source_ref)),
            created_at: Set(Utc::now()),
        };
        Ok((row, Vec::new()))
    }
}

impl ImportLine for CriminalRecordLine {
    type Row = criminal_record::ActiveModel;

    fn into_row(self, ctx: LineContext<'_>) -> Result<(Self::Row, Vec<String>), Vec<FieldError>> {
        let mut f = Fields::new(ctx);
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
        let kinds = ctx.table.kinds();
        let disposal_kind = self
            .disposal_kind
            .map(|k| f.one_of("disposal_kind", &k, &kinds));
        let sentence_length = self.sentence_length.and_then(|l| {
            l.parse::<Length>()
                .map_err(|why| f.fail("sentence_length", why))
                .ok()
        });
        let later_date = |f: &mut Fields, field: &str, value: Option<String>| {
            let failed = f.errors.len();
            let date = value.map(|v| f.any_date(field, &v));
            // One error per field: an unreadable date is not also "too early".
            if f.errors.len() == failed && date.is_some_and(|d| d < conviction_date) {
                f.fail(field, "must not be before the conviction date");
            }
            date
        };
        let sentence_ends_on = later_date(&mut f, "sentence_ends_on", self.sentence_ends_on);
        let order_ends_on = later_date(&mut f, "order_ends_on", self.order_ends_on);
        let conditions_end_on = later_date(&mut f, "conditions_end_on", self.conditions_end_on);
        f.finish()?;

        let facts = RecordFacts {
            conviction_date,
            date_of_birth,
            disposal_kind,
            sentence_length,
            sentence_ends_on,
            order_ends_on,
            order_has_no_end_date: self.order_has_no_end_date.unwrap_or(false),
            conditions_end_on,
            schedule_18: self.schedule_18,
            summary_only: self.summary_only,
        };
        let mut notes = Vec::new();
        if self.spent.is_some() {
            notes.push(
                "`spent` is ignored: whether a record is spent is computed from its facts on the day it matters".to_owned(),
            );
        }
        let alone = ctx.table.assess(std::slice::from_ref(&facts), ctx.today);
        if let Some(assessment) = alone.first()
            && assessment.status == Status::Undetermined
        {
            notes.push(format!(
                "stored, but {}; screening will refer a case that finds it to a caseworker",
                assessment.reason
            ));
        }
        let row = criminal_record::ActiveModel {
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
            disposal_kind: Set(facts.disposal_kind),
            sentence_length: Set(facts.sentence_length.map(|l| l.to_string())),
            sentence_ends_on: Set(facts.sentence_ends_on),
            order_ends_on: Set(facts.order_ends_on),
            order_has_no_end_date: Set(facts.order_has_no_end_date),
            conditions_end_on: Set(facts.conditions_end_on),
            schedule_18: Set(facts.schedule_18),
            summary_only: Set(facts.summary_only),
            source_ref: Set(Some(source_ref)),
            created_at: Set(Utc::now()),
        };
        Ok((row, notes))
    }
}

impl ImportLine for LostStolenDocumentLine {
    type Row = lost_stolen_document::ActiveModel;

    fn into_row(self, ctx: LineContext<'_>) -> Result<(Self::Row, Vec<String>), Vec<FieldError>> {
        let mut f = Fields::new(ctx);
        let source_ref = f.text("source_ref", &self.source_ref, SOURCE_REF_MAX);
        let document_number = f.document_number("document_number", &self.document_number);
        let issuing_state = f.country("issuing_state", &self.issuing_state);
        let reported_on = f.date("reported_on", &self.reported_on);
        let status = f.one_of("status", &self.status, &["lost", "stolen"]);
        f.finish()?;
        let row = lost_stolen_document::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            document_number: Set(document_number),
            issuing_state: Set(issuing_state),
            reported_on: Set(reported_on),
            status: Set(status),
            source_ref: Set(Some(source_ref)),
            created_at: Set(Utc::now()),
        };
        Ok((row, Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored<L: ImportLine>(line: &str) -> Result<Vec<String>, Vec<String>> {
        let tables = casework_testkit::shipped_rehabilitation();
        let ctx = LineContext {
            source: "import",
            today: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
            table: tables.latest(),
        };
        match parse_line::<L>(line.as_bytes()).and_then(|l| l.into_row(ctx)) {
            Ok((_, notes)) => Ok(notes),
            Err(errors) => Err(errors.into_iter().map(|e| e.pointer).collect()),
        }
    }

    fn errors<L: ImportLine>(line: &str) -> Vec<String> {
        stored::<L>(line).err().unwrap_or_default()
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
    fn a_conviction_carries_facts_not_a_verdict() {
        let line = r#"{"source_ref":"1","given_names":"Jordan Avery","surname":"Price","date_of_birth":"1990-03-14","offence":"Robbery","disposal":"30 months' imprisonment","court":"Leeds Crown Court","conviction_date":"2024-02-12","disposal_kind":"custody","sentence_length":"30 months"}"#;
        assert_eq!(stored::<CriminalRecordLine>(line), Ok(vec![]));
        // The old verdict is accepted and ignored, and the report says so.
        let old = r#"{"source_ref":"2","given_names":"A","surname":"B","date_of_birth":"1990-01-01","offence":"o","disposal":"Fine","court":"c","conviction_date":"2016-05-10","disposal_kind":"fine","spent":false}"#;
        let notes = stored::<CriminalRecordLine>(old).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("`spent` is ignored"), "{notes:?}");
        // Without the facts: stored, with a note that it is undetermined.
        let bare = r#"{"source_ref":"3","given_names":"A","surname":"B","date_of_birth":"1990-01-01","offence":"o","disposal":"d","court":"c","conviction_date":"2016-05-10"}"#;
        let notes = stored::<CriminalRecordLine>(bare).unwrap();
        assert!(notes[0].contains("undetermined: "), "{notes:?}");
        // Facts that are wrong are refused, each by its field.
        let bad = r#"{"source_ref":"4","given_names":"A","surname":"B","date_of_birth":"1990-01-01","offence":"o","disposal":"d","court":"c","conviction_date":"2016-05-10","disposal_kind":"flogging","sentence_length":"thirty months","order_ends_on":"2016-05-01","sentence_ends_on":"2031-02-30"}"#;
        assert_eq!(
            errors::<CriminalRecordLine>(bad),
            [
                "/disposal_kind",
                "/sentence_length",
                "/sentence_ends_on",
                "/order_ends_on"
            ]
        );
    }

    #[test]
    fn a_conviction_comes_after_birth() {
        let line = r#"{"source_ref":"1","given_names":"A","surname":"B","date_of_birth":"1990-01-01","offence":"o","disposal":"d","court":"c","conviction_date":"1989-01-01"}"#;
        assert_eq!(errors::<CriminalRecordLine>(line), ["/conviction_date"]);
    }
}
