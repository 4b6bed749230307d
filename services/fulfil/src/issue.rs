//! Issuing a document for a `fulfil.requested` event: numbering, the
//! machine-readable zone, the rendered text and the `document.issued` event.

use std::sync::Arc;

use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::Event;
use casework_contracts::payloads::{
    DocumentIssued, DocumentSpec, Finding, FindingKind, FulfilRequested, Holder, StepResult,
};
use casework_mrz::{Format, MrzFields, Sex};

use casework_disclosure::{Level, RecordFacts, RehabilitationTable, RehabilitationTables};
use casework_runtime::{Clock, telemetry};
use chrono::{Days, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseTransaction, DbBackend, Set, Statement, TryInsertResult};
use serde::Deserialize;
use serde_json::json;

use crate::document;

/// The issuing state written in every machine-readable zone.
const ISSUING_STATE: &str = "GBR";

/// A kind of document Fulfil can issue.
///
/// Numbers are `prefix` + the kind's sequence zero-padded to `digits` + one
/// ICAO 9303 check digit (7-3-1) over the characters before it, so a mistyped
/// number is caught before any lookup. The prefixes differ, so numbers are
/// unique across kinds too. Passport and visa numbers are 9 characters, the
/// width of the 9303 document number field (10 million numbers per prefix);
/// a request past the end of a kind's range is refused, and the remedy is a
/// new prefix.
struct Kind {
    name: &'static str,
    prefix: &'static str,
    digits: usize,
    /// The zone's format and document code, for 9303 documents.
    mrz: Option<(Format, &'static str)>,
    /// A certificate that discloses criminal records.
    discloses: bool,
    title: &'static str,
}

const KINDS: [Kind; 3] = [
    // P0000001 + check: 9 characters, the TD3 document number field.
    Kind {
        name: "passport",
        prefix: "P",
        digits: 7,
        mrz: Some((Format::Td3, "P")),
        discloses: false,
        title: "PASSPORT",
    },
    // V0000001 + check: 9 characters, the MRV-A document number field.
    Kind {
        name: "visa",
        prefix: "V",
        digits: 7,
        mrz: Some((Format::MrvA, "V")),
        discloses: false,
        title: "VISA",
    },
    // D + 10 digits + check: 12 characters, the length of a DBS certificate number.
    Kind {
        name: "dbs-certificate",
        prefix: "D",
        digits: 10,
        mrz: None,
        discloses: true,
        title: "BASIC DISCLOSURE CERTIFICATE",
    },
];

/// The sex a zone is built with: the holder's, unspecified when absent.
fn sex_of(holder: &Holder) -> Sex {
    match holder.sex.as_deref() {
        Some("male") => Sex::Male,
        Some("female") => Sex::Female,
        _ => Sex::Unspecified,
    }
}

/// The zone format a request names (`TD1`, `TD3`, `MRV-A`), if any.
fn format_of(spec: &DocumentSpec) -> Result<Option<Format>, HandlerError> {
    spec.mrz_format
        .as_deref()
        .map(|name| {
            Format::deserialize(serde_json::Value::String(name.to_owned()))
                .map_err(|_| refuse(format!("unknown mrz_format `{name}`")))
        })
        .transpose()
}

/// A record a certificate lists.
struct Listed<'a> {
    finding: &'a Finding,
    caution: bool,
}

/// What a certificate of `level` lists on `issued_on`: the criminal
/// records the table says are unspent that day, assessed together (a
/// further conviction extends an earlier period). A record without the
/// facts, or whose facts cannot decide, refuses the request: it must be
/// neither printed nor hidden.
fn disclosed<'a>(
    level: Level,
    findings: &'a [Finding],
    table: &RehabilitationTable,
    issued_on: NaiveDate,
) -> Result<Vec<Listed<'a>>, HandlerError> {
    let records: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == FindingKind::CriminalRecord)
        .collect();
    let facts: Vec<RecordFacts> = records
        .iter()
        .map(|f| {
            f.conviction.as_ref().map(|c| c.facts.clone()).ok_or_else(|| {
                refuse(format!(
                    "criminal record {} carries no facts to decide whether it is spent; a caseworker must establish them before a certificate is issued",
                    f.source_id
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let assessed = table.assess(&facts, issued_on);
    let mut listed = Vec::new();
    for ((finding, facts), assessment) in records.into_iter().zip(&facts).zip(&assessed) {
        let shown = level.discloses(assessment).map_err(|reason| {
            refuse(format!(
                "criminal record {} cannot be disclosed or withheld on {issued_on}: {reason}; a caseworker must establish its facts before a certificate is issued",
                finding.source_id
            ))
        })?;
        tracing::info!(record = %finding.source_id, status = assessment.status.as_str(), reason = %assessment.reason, shown, "disclosure assessed");
        if shown {
            let caution = facts
                .disposal_kind
                .as_deref()
                .and_then(|k| table.disposal(k))
                .is_some_and(|d| d.caution);
            listed.push(Listed { finding, caution });
        }
    }
    Ok(listed)
}

fn refuse(reason: impl Into<String>) -> HandlerError {
    HandlerError::Refused(reason.into())
}

/// The number `sequence` of a kind: prefix, zero-padded sequence, check
/// digit; `None` when the sequence no longer fits the kind's digits.
fn number_of(kind: &Kind, sequence: u64) -> Option<String> {
    let body = format!("{}{sequence:0width$}", kind.prefix, width = kind.digits);
    if body.len() != kind.prefix.len() + kind.digits {
        return None;
    }
    let check = casework_mrz::check_digit(&body)?;
    Some(format!("{body}{check}"))
}

/// The number `sequence` of `kind` would have (`passport`, `visa`,
/// `dbs-certificate`), or `None` for an unknown kind or a sequence beyond
/// the kind's range. For tools and tests; issuing allocates the sequence.
pub fn document_number(kind: &str, sequence: u64) -> Option<String> {
    KINDS
        .iter()
        .find(|k| k.name == kind)
        .and_then(|k| number_of(k, sequence))
}

/// Takes the kind's next sequence inside `txn`. One upsert statement: on
/// PostgreSQL it row-locks the kind's counter until commit, on SQLite the
/// writing transaction already holds the database's write lock, so two
/// transactions can never read the same value. The UNIQUE index on
/// `document_number` is the last guard.
async fn allocate(txn: &DatabaseTransaction, kind: &Kind) -> Result<String, HandlerError> {
    let backend = txn.get_database_backend();
    let param = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    let sql = format!(
        r#"INSERT INTO document_sequences (kind, "next") VALUES ({param}, 2)
           ON CONFLICT (kind) DO UPDATE SET "next" = document_sequences."next" + 1
           RETURNING "next" - 1 AS allocated"#
    );
    let row = txn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [kind.name.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("sequence of {}", kind.name)))?;
    let sequence: i64 = row.try_get("", "allocated")?;
    u64::try_from(sequence)
        .ok()
        .and_then(|s| number_of(kind, s))
        .ok_or_else(|| {
            refuse(format!(
                "the {} number range `{}` is exhausted at sequence {sequence}",
                kind.name, kind.prefix
            ))
        })
}

/// The zone of a 9303 document. A visa's optional data carries the holder's
/// passport number (letters and digits only, upper-cased) when it has one
/// that fits the 16 characters; otherwise it is left empty.
fn build_mrz(
    kind: &Kind,
    (format, code): (Format, &str),
    number: &str,
    holder: &Holder,
    expiry: NaiveDate,
) -> Result<String, HandlerError> {
    let nationality = holder.nationality.clone().ok_or_else(|| {
        refuse(format!(
            "a {} needs the holder's nationality for its {format} zone, and the request has none",
            kind.name
        ))
    })?;
    let optional_data = match (format, &holder.document_number) {
        (Format::MrvA, Some(passport)) => {
            let clean: String = passport
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_uppercase();
            if clean.len() <= 16 {
                clean
            } else {
                String::new()
            }
        }
        _ => String::new(),
    };
    let fields = MrzFields {
        document_code: code.to_owned(),
        issuing_state: ISSUING_STATE.to_owned(),
        surname: holder.surname.clone(),
        given_names: holder.given_names.clone(),
        document_number: number.to_owned(),
        nationality,
        date_of_birth: holder.date_of_birth,
        sex: sex_of(holder),
        date_of_expiry: expiry,
        optional_data,
        optional_data_2: String::new(),
    };
    casework_mrz::build(&fields, format)
        .map_err(|e| refuse(format!("cannot build the {} {format} zone: {e}", kind.name)))
}

/// What a certificate says of criminal records, under which law.
struct Disclosure<'a> {
    level: Level,
    listed: Vec<Listed<'a>>,
    table_version: u32,
}

/// The document's text: who it is for, its number and dates; for a
/// certificate, the disclosure; for a 9303 document, its zone.
///
/// A basic certificate lists the unspent convictions and conditional
/// cautions on the day of issue, each with its date; never a spent one,
/// nor watchlist warnings or lost or stolen documents. With none to list,
/// it says "No criminal records held".
fn render(
    kind: &Kind,
    request: &FulfilRequested,
    number: &str,
    issued_on: NaiveDate,
    valid_until: NaiveDate,
    mrz: Option<&str>,
    disclosure: Option<&Disclosure<'_>>,
) -> String {
    let holder = &request.holder;
    let mut lines = vec![
        "UNITED KINGDOM OF GREAT BRITAIN AND NORTHERN IRELAND".to_owned(),
        kind.title.to_owned(),
        String::new(),
        format!("Number: {number}"),
        format!("Surname: {}", holder.surname),
        format!("Given names: {}", holder.given_names),
        format!("Date of birth: {}", holder.date_of_birth),
    ];
    if let Some(nationality) = &holder.nationality {
        lines.push(format!("Nationality: {nationality}"));
    }
    if kind.name == "visa" {
        lines.push(format!("Type: {}", request.step.product));
        if let Some(passport) = &holder.document_number {
            lines.push(format!("Passport number: {passport}"));
        }
    }
    lines.push(format!("Date of issue: {issued_on}"));
    lines.push(format!("Valid until: {valid_until}"));
    lines.push(format!("Case reference: {}", request.step.reference));
    if let Some(disclosure) = disclosure {
        lines.push(String::new());
        lines.push(format!(
            "Disclosure: {}. Unspent convictions and conditional cautions:",
            disclosure.level.as_str()
        ));
        if disclosure.listed.is_empty() {
            lines.push("No criminal records held".into());
        }
        for Listed { finding, caution } in &disclosure.listed {
            let what = if *caution { "Cautioned" } else { "Convicted" };
            match finding.recorded_on {
                Some(on) => lines.push(format!("- {what} {on}: {}", finding.summary)),
                None => lines.push(format!("- {}", finding.summary)),
            }
        }
        lines.push(format!(
            "Spent convictions and cautions are not shown (Rehabilitation of Offenders Act 1974), as assessed on {issued_on} under rehabilitation table v{}.",
            disclosure.table_version
        ));
    }
    if let Some(mrz) = mrz {
        lines.push(String::new());
        lines.extend(mrz.lines().map(str::to_owned));
    }
    lines.join("\n") + "\n"
}

/// Turns `fulfil.requested` into one document per request step and one
/// `document.issued`.
///
/// - `passport`: TD3 zone (code `P`, issuing state `GBR`);
/// - `visa`: MRV-A zone (code `V`, issuing state `GBR`, the holder's passport
///   number in the optional data);
/// - `dbs-certificate`: no zone; the text states the disclosure of the
///   level `params.disclosure` names (required), decided again on the day
///   of issue from the records' facts (see [`disclosed`]).
///
/// An absent `mrz_format` means the kind's own; any other format, an unknown
/// kind, a 9303 document without the holder's nationality or with fields
/// the zone cannot hold is refused with the reason (dead-lettered: the case
/// shows as stuck). An absent sex is written as unspecified. The document is
/// valid from the day of issue (the clock's today) for `valid_for_days` days.
#[derive(Debug, Clone)]
pub struct Issuer {
    outbox: Outbox,
    rehabilitation: Arc<RehabilitationTables>,
    clock: Clock,
}

impl Issuer {
    /// An issuer that emits through `outbox`, judging disclosures with the
    /// latest of `rehabilitation` on the clock's today.
    pub fn new(outbox: Outbox, rehabilitation: Arc<RehabilitationTables>, clock: Clock) -> Self {
        Self {
            outbox,
            rehabilitation,
            clock,
        }
    }
}

#[async_trait]
impl EventHandler for Issuer {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let request: FulfilRequested = event.payload().map_err(HandlerError::Refused)?;
        let step_id = request.step.step_id.to_string();
        let case_id = request.step.case_id.to_string();
        let already = document::Entity::find()
            .filter(document::Column::StepId.eq(&step_id))
            .one(txn)
            .await?;
        if let Some(existing) = already {
            tracing::info!(%step_id, number = %existing.document_number,
                "document already issued for this step; not issuing again");
            return Ok(());
        }

        let spec = &request.document;
        let kind = KINDS.iter().find(|k| k.name == spec.kind).ok_or_else(|| {
            refuse(format!(
                "unknown document kind `{}` (Fulfil issues passport, visa, dbs-certificate)",
                spec.kind
            ))
        })?;
        match (kind.mrz, format_of(spec)?) {
            (_, None) => {}
            (Some((format, _)), Some(asked)) if format == asked => {}
            (Some((format, _)), Some(asked)) => {
                return Err(refuse(format!(
                    "a {} has a {format} zone, not {asked}",
                    kind.name
                )));
            }
            (None, Some(asked)) => {
                return Err(refuse(format!(
                    "a {} has no machine-readable zone, but {asked} was asked for",
                    kind.name
                )));
            }
        }
        let issued_on = self.clock.today();
        let valid_until = issued_on
            .checked_add_days(Days::new(u64::from(spec.valid_for_days)))
            .ok_or_else(|| refuse(format!("valid_for_days {} is too far", spec.valid_for_days)))?;
        let table = self.rehabilitation.latest();
        let level = request
            .step
            .params
            .get("disclosure")
            .map(|v| v.as_str().unwrap_or(""));
        let disclosure = match (kind.discloses, level) {
            (false, None) => None,
            (false, Some(level)) => {
                return Err(refuse(format!(
                    "a {} discloses nothing, but params.disclosure is `{level}`",
                    kind.name
                )));
            }
            (true, None) => {
                return Err(refuse(format!(
                    "a {} needs params.disclosure (the product's fulfil route names it: basic)",
                    kind.name
                )));
            }
            (true, Some(name)) => {
                let level = Level::parse(name).ok_or_else(|| {
                    refuse(format!(
                        "params.disclosure `{name}`: this platform issues basic certificates only"
                    ))
                })?;
                Some(Disclosure {
                    level,
                    listed: disclosed(
                        level,
                        request.disclosure.as_deref().unwrap_or_default(),
                        table,
                        issued_on,
                    )?,
                    table_version: table.version,
                })
            }
        };

        let number = allocate(txn, kind).await?;
        let mrz = kind
            .mrz
            .map(|zone| build_mrz(kind, zone, &number, &request.holder, valid_until))
            .transpose()?;
        let content = render(
            kind,
            &request,
            &number,
            issued_on,
            valid_until,
            mrz.as_deref(),
            disclosure.as_ref(),
        );
        let id = uuid::Uuid::now_v7().to_string();
        let inserted = document::Entity::insert(document::ActiveModel {
            id: Set(id.clone()),
            case_id: Set(case_id.clone()),
            reference: Set(request.step.reference.clone()),
            product: Set(request.step.product.clone()),
            step_id: Set(step_id.clone()),
            kind: Set(kind.name.to_owned()),
            document_number: Set(number.clone()),
            holder: Set(json!(request.holder)),
            mrz: Set(mrz.clone()),
            content: Set(content),
            issued_on: Set(issued_on),
            valid_until: Set(valid_until),
            status: Set("issued".into()),
            created_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([document::Column::StepId])
        .exec_without_returning(txn)
        .await?;
        if matches!(
            inserted,
            TryInsertResult::Conflicted | TryInsertResult::Empty | TryInsertResult::Inserted(0)
        ) {
            // A concurrent delivery of the same step committed first.
            tracing::info!(%step_id, "document issued concurrently for this step");
            return Ok(());
        }
        tracing::info!(%case_id, %number, kind = kind.name, "document issued");

        let mut issued = Event::of(
            self.outbox.source(),
            &DocumentIssued {
                step: StepResult {
                    case_id: request.step.case_id.clone(),
                    step_id: request.step.step_id.clone(),
                },
                document_id: id,
                document_number: number,
                kind: kind.name.to_owned(),
                mrz: mrz.as_ref().map(|z| z.lines().map(str::to_owned).collect()),
                issued_on,
                valid_until,
            },
        );
        issued.traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        self.outbox.append(txn, [issued]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_fit_their_fields_and_carry_a_check_digit() {
        let visa = document_number("visa", 1).unwrap();
        assert_eq!(&visa[..8], "V0000001");
        assert_eq!(visa.len(), 9);
        assert_eq!(visa.chars().last(), casework_mrz::check_digit("V0000001"));
        assert_eq!(document_number("passport", 9_999_999).unwrap().len(), 9);
        assert_eq!(document_number("passport", 10_000_000), None);
        assert_eq!(document_number("dbs-certificate", 42).unwrap().len(), 12);
        assert_eq!(document_number("driving-licence", 1), None);
    }
}
