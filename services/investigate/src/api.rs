//! Investigate's HTTP API: bulk imports for departments, and reads of the
//! warnings index and of investigations for caseworkers and officers.
//!
//! Each operation's `security` is its access policy (see
//! `casework_runtime::auth`).

use actix_web::{HttpRequest, HttpResponse, web};
use casework_contracts::names::normalise;
use casework_runtime::Problem;
use casework_runtime::http::CaseQuery;
use casework_store::{Store, StoreError};
use chrono::{NaiveDate, SecondsFormat};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::imports::{
    CriminalRecordLine, Dataset, ImportReport, LineNote, LostStolenDocumentLine, RejectedLine,
    WarningLine, import,
};
use crate::tables::{investigation, watchlist_entry};
use casework_contracts::payloads::Finding;

/// Investigate's running state, shared by its handlers.
pub struct Investigate {
    /// Its database.
    pub store: Store,
    /// The rehabilitation tables, whose disposal kinds imports are checked against.
    pub rehabilitation: std::sync::Arc<casework_disclosure::RehabilitationTables>,
    /// What day it is: imported dates may not be after it.
    pub clock: casework_runtime::Clock,
    /// The largest import body (`http.import_max_bytes`).
    pub import_max_bytes: usize,
}

/// Most warnings-index entries one search returns.
const SEARCH_LIMIT: u64 = 100;

/// Adds Investigate's routes.
pub fn routes(cfg: &mut web::ServiceConfig, state: web::Data<Investigate>) {
    cfg.app_data(state)
        .route("/v1/imports/warnings", web::post().to(import_warnings))
        .route(
            "/v1/imports/criminal-records",
            web::post().to(import_criminal_records),
        )
        .route(
            "/v1/imports/lost-stolen-documents",
            web::post().to(import_lost_stolen_documents),
        )
        .route("/v1/watchlist", web::get().to(search_watchlist))
        .route("/v1/investigations", web::get().to(list_investigations));
}

/// Investigate's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Investigate",
        description = "Screening against the warnings index, criminal records and lost or stolen documents."
    ),
    paths(
        import_warnings,
        import_criminal_records,
        import_lost_stolen_documents,
        search_watchlist,
        list_investigations
    ),
    components(schemas(
        WarningLine,
        CriminalRecordLine,
        LostStolenDocumentLine,
        ImportReport,
        RejectedLine,
        LineNote,
        WatchlistEntryView,
        InvestigationView,
        Finding,
        Problem
    ))
)]
pub struct InvestigateApi;

/// Load warnings-index entries.
///
/// One `WarningLine` per line. Valid lines are stored in one transaction;
/// lines already stored (same `source_ref`) count as duplicates, so sending
/// a file again is harmless; invalid lines are reported and skipped.
#[utoipa::path(
    post,
    path = "/v1/imports/warnings",
    tag = "imports",
    security(("bearer" = ["scope:records-import", "role:admin"])),
    request_body(content = WarningLine, content_type = "application/x-ndjson", description = "One WarningLine per line (NDJSON), at most `http.import_max_bytes` (64 MiB by default)"),
    responses(
        (status = 200, body = ImportReport, description = "What was stored, line by line"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 503, body = Problem),
    )
)]
async fn import_warnings(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Investigate>,
) -> Result<HttpResponse, Problem> {
    import_route(Dataset::Warnings, req, payload, state).await
}

/// Load criminal records.
///
/// One `CriminalRecordLine` per line; see `/v1/imports/warnings` for how
/// lines are stored and reported.
#[utoipa::path(
    post,
    path = "/v1/imports/criminal-records",
    tag = "imports",
    security(("bearer" = ["scope:records-import", "role:admin"])),
    request_body(content = CriminalRecordLine, content_type = "application/x-ndjson", description = "One CriminalRecordLine per line (NDJSON), at most `http.import_max_bytes` (64 MiB by default)"),
    responses(
        (status = 200, body = ImportReport, description = "What was stored, line by line"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 503, body = Problem),
    )
)]
async fn import_criminal_records(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Investigate>,
) -> Result<HttpResponse, Problem> {
    import_route(Dataset::CriminalRecords, req, payload, state).await
}

/// Load lost and stolen documents.
///
/// One `LostStolenDocumentLine` per line; a document already reported (same
/// number and issuing state, or same `source_ref`) is a duplicate.
#[utoipa::path(
    post,
    path = "/v1/imports/lost-stolen-documents",
    tag = "imports",
    security(("bearer" = ["scope:records-import", "role:admin"])),
    request_body(content = LostStolenDocumentLine, content_type = "application/x-ndjson", description = "One LostStolenDocumentLine per line (NDJSON), at most `http.import_max_bytes` (64 MiB by default)"),
    responses(
        (status = 200, body = ImportReport, description = "What was stored, line by line"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 503, body = Problem),
    )
)]
async fn import_lost_stolen_documents(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Investigate>,
) -> Result<HttpResponse, Problem> {
    import_route(Dataset::LostStolenDocuments, req, payload, state).await
}

async fn import_route(
    dataset: Dataset,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Investigate>,
) -> Result<HttpResponse, Problem> {
    let body = casework_runtime::http::read_ndjson(&req, payload, state.import_max_bytes).await?;
    let report = import(
        &state.store,
        dataset,
        &body,
        state.rehabilitation.latest(),
        state.clock.today(),
    )
    .await?;
    tracing::info!(
        who = %casework_runtime::audit::caller(&req),
        ?dataset,
        accepted = report.accepted,
        duplicates = report.duplicates,
        rejected = report.rejected.len(),
        "records imported"
    );
    Ok(HttpResponse::Ok().json(report))
}

/// A warnings-index entry as officers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WatchlistEntryView {
    /// Its id.
    pub id: String,
    /// Given names.
    pub given_names: String,
    /// Surname.
    pub surname: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Nationality.
    pub nationality: Option<String>,
    /// Document number.
    pub document_number: Option<String>,
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: String,
    /// Summary.
    pub summary: String,
    /// `import`, `enforcement` or `seed`.
    pub source: String,
    /// When it was added (RFC 3339).
    pub created_at: String,
}

/// Query of the warnings-index search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WatchlistQuery {
    /// Surname; compared in its normalised form (accents and case do not
    /// matter); one without a letter or digit finds no one.
    #[param(min_length = 1)]
    pub surname: String,
    /// Date of birth, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub date_of_birth: Option<NaiveDate>,
}

/// Search the warnings index by surname (and date of birth).
///
/// Matches the normalised surname exactly; at most 100 entries, most recent first.
/// Every search is recorded with the caller.
#[utoipa::path(
    get,
    path = "/v1/watchlist",
    tag = "watchlist",
    security(("bearer" = ["role:officer", "role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(WatchlistQuery, ("Purpose" = String, Header, description = "Why you search (required): it goes on the audit trail")),
    responses(
        (status = 200, body = Vec<WatchlistEntryView>),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
    )
)]
async fn search_watchlist(
    req: HttpRequest,
    query: web::Query<WatchlistQuery>,
    state: web::Data<Investigate>,
) -> Result<HttpResponse, Problem> {
    casework_runtime::audit::purpose_required(&req)?;
    if query.surname.is_empty() {
        return Err(Problem::bad_request("`surname` is required"));
    }
    // A surname with no letter or digit normalises to nothing: it finds no one.
    let surname = normalise(&query.surname);
    let mut find = watchlist_entry::Entity::find()
        .filter(watchlist_entry::Column::NormalisedSurname.eq(&surname))
        .filter(watchlist_entry::Column::NormalisedSurname.ne(""));
    if let Some(date_of_birth) = query.date_of_birth {
        find = find.filter(watchlist_entry::Column::DateOfBirth.eq(date_of_birth));
    }
    let entries = find
        .order_by_desc(watchlist_entry::Column::CreatedAt)
        .order_by_asc(watchlist_entry::Column::Id)
        .limit(SEARCH_LIMIT)
        .all(state.store.connection())
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    casework_runtime::audit::search_found(&req, "warning", entries.iter().map(|e| e.id.clone()))
        .await?;
    Ok(HttpResponse::Ok().json(
        entries
            .into_iter()
            .map(|e| WatchlistEntryView {
                id: e.id,
                given_names: e.given_names,
                surname: e.surname,
                date_of_birth: e.date_of_birth,
                nationality: e.nationality,
                document_number: e.document_number,
                category: e.category,
                severity: e.severity,
                summary: e.summary,
                source: e.source,
                created_at: e.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            })
            .collect::<Vec<_>>(),
    ))
}

/// An investigation as caseworkers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvestigationView {
    /// The step that asked.
    pub step_id: String,
    /// The case.
    pub case_id: String,
    /// The case reference.
    pub reference: String,
    /// The checks run.
    pub checks: Vec<String>,
    /// What they found.
    pub findings: Vec<Finding>,
    /// When it was answered (RFC 3339).
    pub created_at: String,
}

/// The investigations of a case, oldest first. `case` is the case's id or
/// its reference.
#[utoipa::path(
    get,
    path = "/v1/investigations",
    tag = "investigations",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:officer", "role:auditor"])),
    params(CaseQuery),
    responses(
        (status = 200, body = Vec<InvestigationView>),
        (status = 401, body = Problem), (status = 403, body = Problem),
    )
)]
async fn list_investigations(
    req: HttpRequest,
    query: web::Query<CaseQuery>,
    state: web::Data<Investigate>,
) -> Result<HttpResponse, Problem> {
    let case = query.case.trim();
    let rows = investigation::Entity::find()
        .filter(
            Condition::any()
                .add(investigation::Column::CaseId.eq(case.to_ascii_lowercase()))
                .add(investigation::Column::Reference.eq(case.to_ascii_uppercase())),
        )
        .order_by_asc(investigation::Column::CreatedAt)
        .all(state.store.connection())
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    let references = rows.iter().map(|r| r.reference.clone());
    casework_runtime::audit::read_case_and(&req, case, "case", references).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|row| {
                let text_list = |key: &str| -> Vec<String> {
                    serde_json::from_value(row.result[key].clone()).unwrap_or_default()
                };
                InvestigationView {
                    checks: text_list("checks"),
                    findings: serde_json::from_value(row.result["findings"].clone())
                        .unwrap_or_default(),
                    step_id: row.step_id,
                    case_id: row.case_id,
                    reference: row.reference,
                    created_at: row.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
                }
            })
            .collect::<Vec<_>>(),
    ))
}
