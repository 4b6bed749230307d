//! Investigate: screens people against the warnings index (watchlist),
//! criminal records and lost or stolen documents, and keeps those indexes.
//!
//! - On `investigate.requested.v1` it runs the checks named in
//!   `params.checks` (all three when absent) and emits one
//!   `investigation.completed.v1` per step, however often the request is
//!   delivered. `warnings` and `criminal-records` match the exact comparison
//!   form of surname and given names ([`casework_contracts::names::normalise`],
//!   the platform's one name normalisation) together with the date of birth;
//!   `lost-stolen-documents` matches the normalised document number
//!   ([`normalise_document_number`]). See [`screening`] for severities.
//! - On `enforcement.actioned.v1` whose `watchlist` is not null it adds a
//!   warnings-index entry (source `enforcement`, once per action) and emits
//!   `watchlist.entry.added.v1`.
//! - Departments load records in bulk through the import endpoints, and
//!   [`seed()`] loads synthetic demo data.
//!
//! It must never decide anything about a case: it reports findings, Decide
//! weighs them.
//!
//! # Imports
//!
//! `POST /api/investigate/v1/imports/{warnings,criminal-records,lost-stolen-documents}`,
//! for the department scope `records-import` (or an admin), takes
//! `Content-Type: application/x-ndjson`: one JSON object per line, in the
//! format of [`imports::WarningLine`], [`imports::CriminalRecordLine`] or
//! [`imports::LostStolenDocumentLine`] (unknown fields are refused; dates
//! are `YYYY-MM-DD`; `source_ref` is the record's id in the sending system).
//! For example, a warnings file:
//!
//! ```text
//! {"source_ref":"HO-W-1","given_names":"Ivan","surname":"Petrov","date_of_birth":"1975-02-14","category":"overstayer","severity":"high","summary":"Overstayed by 14 months"}
//! {"source_ref":"HO-W-2","given_names":"Zoë","surname":"Ní Bhriain","date_of_birth":"1990-01-31","nationality":"IRL","category":"deception","severity":"medium","summary":"False statement on a 2021 application"}
//! ```
//!
//! Every line is validated on its own; the valid ones are stored in one
//! transaction, and a line whose `source_ref` (or, for documents, number and
//! issuing state) is already stored counts as a duplicate, so sending the
//! same file twice changes nothing. Blank lines are ignored; a line that is
//! not JSON is rejected like any other invalid line. The answer is `200` with
//! a report: `{"accepted": 1, "duplicates": 0, "rejected": [{"line": 2,
//! "errors": [{"pointer": "/date_of_birth", "message": "..."}]}]}`. The body
//! may be up to `http.import_max_bytes` (64 MiB by default): bulk loads are
//! larger than the application forms `http.max_body_bytes` is sized for. [`import()`] does
//! the same without HTTP.

pub mod api;
pub mod imports;
pub mod screening;
pub mod seed;
pub mod tables;

use std::sync::Arc;

use actix_web::web;
use casework_contracts::EventType;
use casework_disclosure::RehabilitationTables;
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait};
use utoipa::OpenApi;

pub use casework_contracts::payloads::{Conviction, Finding, Severity, Subject};
pub use imports::{Dataset, ImportReport, LineNote, import};
pub use screening::{Check, Investigator, screen};
pub use seed::{DEMO_IDENTITIES, DemoIdentity, SeedReport, seed};
pub use tables::Migrator;

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Investigate.as_str();

/// A document number in comparison form: upper case, without the spaces,
/// MRZ fillers (`<`) and punctuation people type into it; `None` unless what
/// is left is 1 to 30 ASCII letters and digits.
pub fn normalise_document_number(number: &str) -> Option<String> {
    let folded: String = number
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '<' | '-' | '.' | '/')))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid =
        (1..=30).contains(&folded.len()) && folded.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then_some(folded)
}

/// Rows per `INSERT`: well under both backends' limits on bound parameters.
const INSERT_CHUNK: usize = 500;

/// Inserts `rows`, skipping any that would repeat a unique key (`ON CONFLICT
/// DO NOTHING`, on both backends); returns how many were inserted. A
/// concurrent transaction inserting the same key makes this one wait, then
/// skip: never a unique-violation error.
pub(crate) async fn insert_new<A, C>(db: &C, rows: Vec<A>) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let mut inserted = 0;
    let mut rows = rows.into_iter();
    loop {
        let chunk: Vec<A> = rows.by_ref().take(INSERT_CHUNK).collect();
        if chunk.is_empty() {
            return Ok(inserted);
        }
        inserted += A::Entity::insert_many(chunk)
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
    }
}

/// The event types Investigate's consumer handles.
pub const CONSUMES: [&str; 2] = [
    screening::INVESTIGATE_REQUESTED,
    screening::ENFORCEMENT_ACTIONED,
];

/// Builds Investigate: migrates its database and returns its routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    // A table that cannot be read stops the start, naming the file.
    let rehabilitation = RehabilitationTables::load(&ctx.settings.paths.rehabilitation)
        .map(Arc::new)
        .map_err(|e| RuntimeError::Config(format!("paths.rehabilitation: {e}")))?;
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Investigator::new(
            ctx.outbox.clone(),
            rehabilitation.clone(),
            ctx.clock,
        )),
    )?;
    let state = web::Data::new(api::Investigate {
        store: ctx.store.clone(),
        rehabilitation,
        clock: ctx.clock,
        import_max_bytes: ctx.settings.http.import_max_bytes,
    });
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: api::InvestigateApi::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| api::routes(cfg, state.clone())),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_numbers_fold_to_one_form() {
        assert_eq!(
            normalise_document_number(" lost 123-45 ").as_deref(),
            Some("LOST12345")
        );
        assert_eq!(
            normalise_document_number("L898902C3<<").as_deref(),
            Some("L898902C3")
        );
        assert_eq!(normalise_document_number("<<<"), None);
        assert_eq!(normalise_document_number("ÄB12"), None);
        assert_eq!(normalise_document_number(&"1".repeat(31)), None);
    }

    #[test]
    fn severities_order_from_low_to_critical() {
        assert!(Severity::Low < Severity::Critical);
        assert_eq!(Severity::parse("high"), Some(Severity::High));
        assert_eq!(Severity::parse("severe"), None);
    }
}
