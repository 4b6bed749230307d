//! Identify's HTTP API: the person index for caseworkers and auditors, and
//! document checks for them and for other departments.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use casework_contracts::FieldError;
use casework_contracts::names::normalise;
use casework_contracts::payloads::DocumentCheck;
use casework_runtime::audit::Subject;
use casework_runtime::http::{CaseQuery, HttpState, fetch_page, page, read_json, read_ndjson};
use casework_runtime::{Clock, Problem};
use casework_store::Store;
use chrono::{NaiveDate, SecondsFormat};
use sea_orm::entity::prelude::*;
use sea_orm::{Order, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::OpenApi;

use crate::document;
use crate::imports::{PersonImportLine, PersonImportReport, import_persons};
use crate::links::{self, Change, MAX_REASON_CHARS, Settle};
use crate::persons::PersonIndex;
use crate::tables::{
    identity_check, match_review, person, person_document, person_history, person_record,
};
use casework_bus::Outbox;
use casework_runtime::http::RejectedLine;

/// Identify's routes (mounted under `/api/identify`); person imports may be
/// up to `import_max_bytes`.
pub fn routes(
    store: Store,
    outbox: Outbox,
    clock: Clock,
    persons: Arc<PersonIndex>,
    import_max_bytes: usize,
) -> Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync> {
    let state = web::Data::new(Identify {
        store,
        outbox,
        clock,
        persons,
        import_max_bytes,
    });
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .app_data(casework_runtime::http::query_config())
            .route("/v1/persons", web::get().to(search_persons))
            .route("/v1/persons/{id}", web::get().to(get_person))
            .route("/v1/persons/{id}/merge", web::post().to(merge_person))
            .route("/v1/persons/{id}/split", web::post().to(split_person))
            .route("/v1/identity-checks", web::get().to(list_checks))
            .route("/v1/document-checks", web::post().to(check_document))
            .route("/v1/reviews", web::get().to(list_reviews))
            .route("/v1/reviews/{id}", web::get().to(get_review))
            .route("/v1/reviews/{id}/decision", web::post().to(settle_review))
            .route("/v1/match-labels", web::get().to(match_labels))
            .route("/v1/imports/persons", web::post().to(import));
    })
}

struct Identify {
    store: Store,
    /// Merges and splits emit through it, in their transaction.
    outbox: Outbox,
    /// Today, when a document check names no day.
    clock: Clock,
    /// The matching policy imports are linked by.
    persons: Arc<PersonIndex>,
    /// The largest import body.
    import_max_bytes: usize,
}

/// Identify's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Identify",
        description = "The person index and identity-document checks (ICAO 9303 MRZ)."
    ),
    paths(
        get_person,
        search_persons,
        list_checks,
        check_document,
        list_reviews,
        get_review,
        settle_review,
        merge_person,
        split_person,
        match_labels,
        import
    ),
    components(schemas(
        SettleRequest,
        MergeRequest,
        SplitRequest,
        MergedView,
        SplitView,
        RecordView,
        CaseLink,
        HistoryView,
        ReviewPage,
        ReviewView,
        ReviewSide,
        PersonImportReport,
        PersonImportLine,
        RejectedLine,
        PersonSummary,
        PersonView,
        DocumentView,
        CheckView,
        DocumentCheckRequest,
        DocumentReport,
        DocumentCheck,
        Problem
    ))
)]
pub struct IdentifyApi;

/// A person of the index.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonSummary {
    /// Their id.
    pub id: String,
    /// Given names as first stated.
    pub given_names: String,
    /// Surname as first stated.
    pub surname: String,
    /// The given names as the index compares them.
    pub normalised_given_names: String,
    /// The surname as the index compares it.
    pub normalised_surname: String,
    /// Date of birth.
    pub date_of_birth: String,
    /// Nationality, when known.
    pub nationality: Option<String>,
    /// When they entered the index.
    pub created_at: String,
}

impl From<person::Model> for PersonSummary {
    fn from(p: person::Model) -> Self {
        Self {
            id: p.id,
            given_names: p.given_names,
            surname: p.surname,
            normalised_given_names: p.normalised_given_names,
            normalised_surname: p.normalised_surname,
            date_of_birth: p.date_of_birth,
            nationality: p.nationality,
            created_at: p.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// A person with every record linked to them, their documents on record,
/// the identity checks that resolved to them, their cases, and the history
/// of their links.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonView {
    /// The person.
    #[serde(flatten)]
    pub person: PersonSummary,
    /// The id asked for, when it was merged into this person (it resolves
    /// here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_from: Option<String>,
    /// Every record linked to them, oldest first.
    pub records: Vec<RecordView>,
    /// Their cases (those of their application records), oldest first.
    pub cases: Vec<CaseLink>,
    /// Valid documents that matched them.
    pub documents: Vec<DocumentView>,
    /// Identity checks, oldest first.
    pub checks: Vec<CheckView>,
    /// How their records came to be linked, and every merge, split and
    /// settled review, oldest first.
    pub history: Vec<HistoryView>,
}

/// A case of a person's.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CaseLink {
    /// The case's id.
    pub case_id: String,
    /// Its reference, when known.
    pub reference: Option<String>,
}

/// A record linked to a person.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordView {
    /// Its id (choose records to split off by it).
    pub id: i64,
    /// `application` or `import`.
    pub source: String,
    /// The case id (application) or the source system's id (import).
    pub source_ref: String,
    /// The case's reference, for an application's record.
    pub case_reference: Option<String>,
    /// How the matching engine linked it: `match`, `new` or `review`.
    pub decision: String,
    /// The match weight of that link, when there was a candidate.
    pub weight: Option<f64>,
    /// When it was linked.
    pub created_at: String,
    /// The record as the source gave it.
    #[schema(value_type = Object)]
    pub record: Value,
}

impl From<person_record::Model> for RecordView {
    fn from(r: person_record::Model) -> Self {
        Self {
            record: serde_json::from_str(&r.record).unwrap_or(Value::Null),
            id: r.id,
            source: r.source,
            source_ref: r.source_ref,
            case_reference: r.case_reference,
            decision: r.decision,
            weight: r.weight,
            created_at: r.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// One entry of a person's history.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryView {
    /// `linked` (the matching engine linked a record on arrival), `merged`
    /// (another person merged into this one), `merged-into`, `split`
    /// (records given to a new person), `split-from`, `kept-apart` (a
    /// possible match settled as two people).
    pub kind: String,
    /// When.
    pub at: String,
    /// Who: a user's `sub`, or `matching` for the engine.
    pub by: String,
    /// The other person, for a merge, split or review.
    pub other_person_id: Option<String>,
    /// The records concerned.
    pub record_ids: Vec<i64>,
    /// The review task it settled.
    pub review_id: Option<String>,
    /// Why: the caseworker's reason, or the engine's decision and weight.
    pub reason: String,
}

impl From<person_history::Model> for HistoryView {
    fn from(h: person_history::Model) -> Self {
        Self {
            kind: h.kind,
            at: h.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            by: h.by,
            other_person_id: Some(h.other_person_id),
            record_ids: serde_json::from_str(&h.record_ids).unwrap_or_default(),
            review_id: h.review_id,
            reason: h.reason,
        }
    }
}

impl HistoryView {
    /// The engine's link of `record` on its arrival.
    fn linked(record: &RecordView) -> Self {
        let weight = record
            .weight
            .map(|w| format!(", heaviest candidate {w:.1} bits"))
            .unwrap_or_default();
        Self {
            kind: "linked".to_owned(),
            at: record.created_at.clone(),
            by: "matching".to_owned(),
            other_person_id: None,
            record_ids: vec![record.id],
            review_id: None,
            reason: format!(
                "{} {}: {}{weight}",
                record.source,
                record
                    .case_reference
                    .as_deref()
                    .unwrap_or(&record.source_ref),
                match record.decision.as_str() {
                    "match" => "matched",
                    "review" => "a possible match, for review",
                    _ => "a new person",
                }
            ),
        }
    }
}

/// A document on record.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// The document number.
    pub document_number: String,
    /// `TD1`, `TD3`, `MRV-A`.
    pub format: String,
    /// The issuing state.
    pub issuing_state: String,
    /// Its date of expiry.
    pub expiry: String,
    /// The case that first presented it.
    pub case_id: String,
}

/// An identity check.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckView {
    /// The case.
    pub case_id: String,
    /// The case's person now: the one the check resolved to, or whom a
    /// merge or split has since given the case to (`result` keeps what the
    /// check said at the time).
    pub person_id: String,
    /// The step it answered.
    pub step_id: String,
    /// The confidence it gave.
    pub confidence: String,
    /// When.
    pub created_at: String,
    /// The `identity.established` payload it emitted.
    #[schema(value_type = Object)]
    pub result: Value,
}

impl From<identity_check::Model> for CheckView {
    fn from(c: identity_check::Model) -> Self {
        CheckView {
            result: serde_json::from_str(&c.result).unwrap_or(Value::Null),
            case_id: c.case_id,
            person_id: c.person_id,
            step_id: c.step_id,
            confidence: c.confidence,
            created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}

/// The identity checks of a case, oldest first: each result with its
/// confidence and reasons, and the person it resolved to. `case` is the
/// case's id (a UUID).
#[utoipa::path(
    get,
    path = "/v1/identity-checks",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(CaseQuery),
    responses(
        (status = 200, body = Vec<CheckView>),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 503, body = Problem),
    )
)]
async fn list_checks(
    req: HttpRequest,
    query: web::Query<CaseQuery>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let case = query.case.trim().to_ascii_lowercase();
    let checks = identity_check::Entity::find()
        .filter(identity_check::Column::CaseId.eq(&case))
        .order_by_asc(identity_check::Column::CreatedAt)
        .all(state.store.connection())
        .await
        .map_err(Problem::from)?;
    let persons = checks.iter().filter_map(|c| {
        serde_json::from_str::<Value>(&c.result)
            .ok()
            .and_then(|r| r["person_id"].as_str().map(str::to_owned))
    });
    casework_runtime::audit::read_case_and(&req, case.clone(), "person", persons).await?;
    Ok(HttpResponse::Ok().json(checks.into_iter().map(CheckView::from).collect::<Vec<_>>()))
}

/// Read a person: their details, every record linked to them, their
/// cases, documents on record, identity checks and history. The id of a
/// person merged into another resolves to that person (`resolved_from`
/// says so).
#[utoipa::path(
    get,
    path = "/v1/persons/{id}",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(("id" = String, Path, description = "The person's id (UUID)")),
    responses(
        (status = 200, body = PersonView),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 503, body = Problem),
    )
)]
async fn get_person(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let id = person_path(&id)?;
    let db = state.store.connection();
    let current = links::current(db, &id)
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("there is no person `{id}`")))?;
    let person = current.person;
    let documents = person_document::Entity::find()
        .filter(person_document::Column::PersonId.eq(&person.id))
        .order_by_asc(person_document::Column::Id)
        .all(db)
        .await
        .map_err(Problem::from)?;
    let checks = identity_check::Entity::find()
        .filter(identity_check::Column::PersonId.eq(&person.id))
        .order_by_asc(identity_check::Column::CreatedAt)
        .all(db)
        .await
        .map_err(Problem::from)?;
    let records: Vec<RecordView> = person_record::Entity::find()
        .filter(person_record::Column::PersonId.eq(&person.id))
        .order_by_asc(person_record::Column::Id)
        .all(db)
        .await
        .map_err(Problem::from)?
        .into_iter()
        .map(RecordView::from)
        .collect();
    let changes = person_history::Entity::find()
        .filter(person_history::Column::PersonId.eq(&person.id))
        .order_by_asc(person_history::Column::Id)
        .all(db)
        .await
        .map_err(Problem::from)?;
    let mut history: Vec<HistoryView> = records.iter().map(HistoryView::linked).collect();
    history.extend(changes.into_iter().map(HistoryView::from));
    // RFC 3339 in UTC at one precision sorts as text; the sort is stable.
    history.sort_by(|a, b| a.at.cmp(&b.at));
    let mut cases: Vec<CaseLink> = Vec::new();
    for record in records.iter().filter(|r| r.source == "application") {
        if !cases.iter().any(|c| c.case_id == record.source_ref) {
            cases.push(CaseLink {
                case_id: record.source_ref.clone(),
                reference: record.case_reference.clone(),
            });
        }
    }
    let persons = std::iter::once(person.id.clone()).chain(current.resolved_from.clone());
    let read = persons
        .map(|id| Subject::new("person", id))
        .chain(
            cases
                .iter()
                .map(|case| Subject::new("case", case.case_id.clone())),
        )
        .collect();
    casework_runtime::audit::read(&req, read).await?;
    Ok(HttpResponse::Ok().json(PersonView {
        person: person.into(),
        resolved_from: current.resolved_from,
        records,
        cases,
        documents: documents
            .into_iter()
            .map(|d| DocumentView {
                document_number: d.document_number,
                format: d.format,
                issuing_state: d.issuing_state,
                expiry: d.expiry,
                case_id: d.case_id,
            })
            .collect(),
        checks: checks.into_iter().map(CheckView::from).collect(),
        history,
    }))
}

/// Query of the person search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonQuery {
    /// The surname, compared normalised (`Dubois`, `DUBOIS` and `Dubóis` are
    /// alike); one without a letter or digit finds no one.
    #[param(required = true, min_length = 1)]
    pub surname: Option<String>,
    /// The date of birth, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub date_of_birth: Option<String>,
}

/// The most persons one search returns.
const SEARCH_LIMIT: u64 = 100;

/// Find persons by surname (normalised) and, optionally, date of birth.
#[utoipa::path(
    get,
    path = "/v1/persons",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(PersonQuery, ("Purpose" = String, Header, description = "Why you search (required): it goes on the audit trail")),
    responses(
        (status = 200, body = Vec<PersonSummary>, description = "At most 100, by given names"),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 422, body = Problem, description = "No surname, or a date that is not YYYY-MM-DD"),
        (status = 503, body = Problem),
    )
)]
async fn search_persons(
    req: HttpRequest,
    query: web::Query<PersonQuery>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    casework_runtime::audit::purpose_required(&req)?;
    let mut errors = Vec::new();
    let given = query.surname.as_deref().unwrap_or_default();
    if given.is_empty() {
        errors.push(field_error("/surname", "required: a surname"));
    }
    let surname = normalise(given);
    let date_of_birth = query.date_of_birth.as_deref().map(str::trim);
    if let Some(date) = date_of_birth.filter(|d| d.parse::<NaiveDate>().is_err()) {
        errors.push(field_error(
            "/date_of_birth",
            &format!("`{date}` is not a date (YYYY-MM-DD)"),
        ));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    // A surname with no letter or digit normalises to nothing: it finds no one.
    let mut search = person::Entity::find()
        .filter(person::Column::NormalisedSurname.eq(&surname))
        .filter(person::Column::NormalisedSurname.ne(""));
    if let Some(date) = date_of_birth {
        search = search.filter(person::Column::DateOfBirth.eq(date));
    }
    let found = search
        .order_by_asc(person::Column::NormalisedGivenNames)
        .order_by_asc(person::Column::DateOfBirth)
        .limit(SEARCH_LIMIT)
        .all(state.store.connection())
        .await
        .map_err(Problem::from)?;
    casework_runtime::audit::search_found(&req, "person", found.iter().map(|p| p.id.clone()))
        .await?;
    Ok(HttpResponse::Ok().json(
        found
            .into_iter()
            .map(PersonSummary::from)
            .collect::<Vec<_>>(),
    ))
}

fn field_error(pointer: &str, message: &str) -> FieldError {
    FieldError {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    }
}

/// A document to check.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentCheckRequest {
    /// The machine-readable zone, its lines in order.
    pub mrz: Vec<String>,
    /// The day to check it on (two-digit years and expiry); today if absent.
    #[schema(value_type = Option<String>, format = Date, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub on: Option<NaiveDate>,
}

/// The result of a document check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentReport {
    /// The day it was checked on.
    pub checked_on: NaiveDate,
    /// Validity, failures and the document's identifiers.
    #[serde(flatten)]
    pub check: DocumentCheck,
    /// Everything the zone says, when it is valid (format, document code,
    /// issuing state, names, document number, nationality, date of birth,
    /// sex, date of expiry, optional data).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub zone: Option<casework_mrz::Mrz>,
    /// What was found, in plain words.
    pub notes: Vec<String>,
}

/// Check an identity document's machine-readable zone (ICAO 9303: TD1, TD3,
/// MRV-A). A zone that fails is not an error: the answer is 200 with
/// `valid: false` and every failure.
#[utoipa::path(
    post,
    path = "/v1/document-checks",
    tag = "documents",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "scope:identity-check"])),
    request_body = DocumentCheckRequest,
    responses(
        (status = 200, body = DocumentReport, description = "Checked; see `valid` and `failures`"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 413, body = Problem),
        (status = 422, body = Problem, description = "`mrz` is not an array of strings, or `on` not a date"),
    )
)]
async fn check_document(
    payload: web::Payload,
    http: web::Data<HttpState>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let (_, body) = read_json(payload, http.max_body_bytes).await?;
    let request = document_check_request(&body)?;
    let on = request.on.unwrap_or_else(|| state.clock.today());
    let reading = document::read(&request.mrz, on, None);
    Ok(HttpResponse::Ok().json(DocumentReport {
        checked_on: on,
        check: reading.check,
        zone: reading.zone,
        notes: reading.notes,
    }))
}

/// Query of the review queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    /// `open` (waiting, oldest first; the default) or `settled` (newest
    /// first).
    #[param(pattern = "^(open|settled)$")]
    pub status: Option<String>,
    /// Page size: 50 unless given, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// How many to skip.
    #[param(maximum = 9223372036854775807_u64)]
    pub offset: Option<u64>,
}

/// A page of review tasks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    /// The tasks.
    pub items: Vec<ReviewView>,
    /// How many there are with this status.
    pub total: u64,
    /// The page size.
    pub limit: u64,
    /// How many were skipped.
    pub offset: u64,
}

/// A possible match: the new record and the candidate's, side by side, and
/// the weights; once settled, the decision, who made it, when and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// The task's id.
    pub id: String,
    /// `open` or `settled`.
    pub status: String,
    /// When it was raised.
    pub created_at: String,
    /// The case the new record came from, if an application.
    pub case_id: Option<String>,
    /// The total match weight.
    pub weight: f64,
    /// Each field's comparison level and weight, the prior and the total.
    #[schema(value_type = Object)]
    pub explanation: Value,
    /// The new record and the provisional person it was given.
    pub record: ReviewSide,
    /// The candidate's record and person.
    pub candidate: ReviewSide,
    /// `link` or `keep-apart`, once settled.
    pub decision: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// Who settled it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<String>,
}

/// One side of a review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewSide {
    /// The person the record belongs to now.
    pub person_id: String,
    /// The record's id.
    pub record_id: i64,
    /// `application` or `import`.
    pub source: String,
    /// The case id or the import's source id.
    pub source_ref: String,
    /// The case's reference, for an application's record.
    pub case_reference: Option<String>,
    /// The record as the source gave it.
    #[schema(value_type = Object)]
    pub record: Value,
}

/// The review queue: possible matches for a caseworker to settle, oldest
/// first, each with both records and every field's weight (or, with
/// `status=settled`, those settled, newest first).
#[utoipa::path(
    get,
    path = "/v1/reviews",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(ReviewQuery),
    responses(
        (status = 200, body = ReviewPage),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 422, body = Problem, description = "`limit` out of range, or an unknown `status`"),
        (status = 503, body = Problem),
    )
)]
async fn list_reviews(
    req: HttpRequest,
    query: web::Query<ReviewQuery>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let (limit, offset) = page(query.limit, query.offset).map_err(|e| Problem::invalid(vec![e]))?;
    let status = query.status.as_deref().unwrap_or(links::OPEN);
    let direction = match status {
        links::OPEN => Order::Asc,
        links::SETTLED => Order::Desc,
        _ => {
            return Err(Problem::invalid(vec![field_error(
                "/status",
                "must be `open` or `settled`",
            )]));
        }
    };
    let db = state.store.connection();
    let select = match_review::Entity::find().filter(match_review::Column::Status.eq(status));
    let order = [
        (match_review::Column::CreatedAt, direction.clone()),
        (match_review::Column::Id, direction),
    ];
    let (total, reviews) = fetch_page(select, &order, (limit, offset), db).await?;
    let items = review_views(&req, db, reviews).await?;
    Ok(HttpResponse::Ok().json(ReviewPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// One review task, open or settled.
#[utoipa::path(
    get,
    path = "/v1/reviews/{id}",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(("id" = String, Path, description = "The task's id (UUID)")),
    responses(
        (status = 200, body = ReviewView),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 503, body = Problem),
    )
)]
async fn get_review(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let db = state.store.connection();
    let review = match_review::Entity::find_by_id(id.as_str())
        .one(db)
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("there is no review task `{id}`")))?;
    let mut views = review_views(&req, db, vec![review]).await?;
    Ok(HttpResponse::Ok().json(views.pop()))
}

/// Both sides of each review, its persons' reads audited.
async fn review_views(
    req: &HttpRequest,
    db: &sea_orm::DatabaseConnection,
    reviews: Vec<match_review::Model>,
) -> Result<Vec<ReviewView>, Problem> {
    let record_ids = reviews
        .iter()
        .flat_map(|r| [r.record_id, r.candidate_record_id]);
    let records: std::collections::HashMap<i64, person_record::Model> =
        person_record::Entity::find()
            .filter(person_record::Column::Id.is_in(record_ids))
            .all(db)
            .await
            .map_err(Problem::from)?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
    let side = |id: i64| {
        let found = records.get(&id);
        ReviewSide {
            person_id: found.map(|r| r.person_id.clone()).unwrap_or_default(),
            record_id: id,
            source: found.map(|r| r.source.clone()).unwrap_or_default(),
            source_ref: found.map(|r| r.source_ref.clone()).unwrap_or_default(),
            case_reference: found.and_then(|r| r.case_reference.clone()),
            record: found
                .and_then(|r| serde_json::from_str(&r.record).ok())
                .unwrap_or(Value::Null),
        }
    };
    casework_runtime::audit::read_each(
        req,
        "person",
        reviews
            .iter()
            .flat_map(|r| [r.person_id.clone(), r.candidate_person_id.clone()]),
    )
    .await?;
    let at = |t: &chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    Ok(reviews
        .into_iter()
        .map(|r| ReviewView {
            status: r.status,
            created_at: at(&r.created_at),
            case_id: r.case_id,
            weight: r.weight,
            explanation: serde_json::from_str(&r.explanation).unwrap_or(Value::Null),
            record: side(r.record_id),
            candidate: side(r.candidate_record_id),
            decision: r.decision,
            reason: r.reason,
            decided_by: r.decided_by,
            decided_at: r.decided_at.as_ref().map(at),
            id: r.id,
        })
        .collect())
}

/// A caseworker's answer to a review task.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SettleRequest {
    /// `link` (the same person: the provisional person is merged into the
    /// candidate) or `keep-apart` (two people).
    #[schema(pattern = "^(link|keep-apart)$")]
    pub decision: String,
    /// Why (1 to 2,000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// Settle a review task: link the two records' persons (a merge, emitting
/// `person.merged`) or keep them apart. The decision, the caller (the
/// token's `sub`), the time and the reason are kept on the task, and it
/// becomes a labelled pair for the next estimate of the model
/// (`/v1/match-labels`). A task is settled once: again is 409.
#[utoipa::path(
    post,
    path = "/v1/reviews/{id}/decision",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(("id" = String, Path, description = "The task's id (UUID)")),
    request_body = SettleRequest,
    responses(
        (status = 200, body = ReviewView, description = "Settled"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such task"),
        (status = 409, body = Problem, description = "Settled already, or a person merged since"),
        (status = 413, body = Problem),
        (status = 422, body = Problem, description = "Names `/decision` or `/reason`"),
        (status = 503, body = Problem),
    )
)]
async fn settle_review(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    http: web::Data<HttpState>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let (settle, reason) = change(payload, &http, |body, errors| {
        let settle = body["decision"].as_str().and_then(Settle::parse);
        if settle.is_none() {
            errors.push(field_error("/decision", "must be `link` or `keep-apart`"));
        }
        settle
    })
    .await?;
    let by = casework_runtime::audit::caller(&req);
    let review = links::settle_review(
        &state.store,
        &state.outbox,
        &id,
        settle,
        Change {
            reason: &reason,
            by: &by,
        },
    )
    .await?;
    let mut views = review_views(&req, state.store.connection(), vec![review]).await?;
    Ok(HttpResponse::Ok().json(views.pop()))
}

/// A caseworker's change to the index, read from the body: `fields` reads
/// what the change needs, naming what is wrong; `/reason` is required of
/// every change. Every field that is wrong is refused at once.
async fn change<T>(
    payload: web::Payload,
    http: &HttpState,
    fields: impl FnOnce(&Value, &mut Vec<FieldError>) -> Option<T>,
) -> Result<(T, String), Problem> {
    let (_, body) = read_json(payload, http.max_body_bytes).await?;
    let mut errors = Vec::new();
    let wanted = fields(&body, &mut errors);
    let reason = reason_of(&body, &mut errors);
    match wanted.filter(|_| errors.is_empty()) {
        Some(wanted) => Ok((wanted, reason)),
        None => Err(Problem::invalid(errors)),
    }
}

/// The person id of a path, normalised: 404 unless it is a UUID.
fn person_path(id: &str) -> Result<String, Problem> {
    Uuid::parse_str(id)
        .map(|id| id.to_string())
        .map_err(|_| Problem::not_found(format!("there is no person `{id}`")))
}

/// `/reason`: required, trimmed, at most [`MAX_REASON_CHARS`] characters.
fn reason_of(body: &Value, errors: &mut Vec<FieldError>) -> String {
    let reason = body["reason"].as_str().unwrap_or_default().trim();
    if reason.is_empty() {
        errors.push(field_error("/reason", "required: why"));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errors.push(field_error(
            "/reason",
            &format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    reason.to_owned()
}

/// A merge: who is merged into the person of the path, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MergeRequest {
    /// The duplicate person, merged into the person of the path (who
    /// remains); their id resolves to that person from then on.
    #[schema(format = Uuid)]
    pub person_id: String,
    /// Why (1 to 2,000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// What a merge did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MergedView {
    /// The person who remains.
    pub person_id: String,
    /// The person merged into them.
    pub merged_person_id: String,
    /// The cases whose person changed.
    pub case_ids: Vec<String>,
}

/// Merge a duplicate person into this one: the duplicate's records,
/// documents, identity checks and open review tasks become this person's,
/// the duplicate's id resolves to this person from now on, and
/// `person.merged` is emitted. Nothing is deleted; both persons' history
/// records it.
#[utoipa::path(
    post,
    path = "/v1/persons/{id}/merge",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(("id" = String, Path, description = "The person who remains (UUID)")),
    request_body = MergeRequest,
    responses(
        (status = 200, body = MergedView, description = "Merged"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such person (the path's)"),
        (status = 409, body = Problem, description = "One of them was merged already"),
        (status = 413, body = Problem),
        (status = 422, body = Problem, description = "Names `/person_id` (missing, not an id, no such person, the path's own) or `/reason`"),
        (status = 503, body = Problem),
    )
)]
async fn merge_person(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    http: web::Data<HttpState>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let survivor = person_path(&id)?;
    let (merged, reason) = change(payload, &http, |body, errors| {
        let merged = body["person_id"]
            .as_str()
            .and_then(|p| Uuid::parse_str(p.trim()).ok())
            .map(|p| p.to_string());
        if merged.is_none() {
            errors.push(field_error(
                "/person_id",
                "required: the id of the person to merge into this one",
            ));
        }
        merged
    })
    .await?;
    let by = casework_runtime::audit::caller(&req);
    let event = links::merge(
        &state.store,
        &state.outbox,
        &survivor,
        &merged,
        Change {
            reason: &reason,
            by: &by,
        },
    )
    .await?;
    casework_runtime::audit::read_each(&req, "person", [survivor.clone(), merged.clone()]).await?;
    Ok(HttpResponse::Ok().json(MergedView {
        person_id: event.person_id.to_string(),
        merged_person_id: event.merged_person_id.to_string(),
        case_ids: event.case_ids.iter().map(ToString::to_string).collect(),
    }))
}

/// A split: which records go to a new person, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SplitRequest {
    /// The ids of the records (as the person's `records` give them) that
    /// belong to someone else: some, not all.
    #[schema(min_items = 1)]
    pub records: Vec<i64>,
    /// Why (1 to 2,000 characters).
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// What a split did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SplitView {
    /// The person the records were taken from.
    pub person_id: String,
    /// The new person they now belong to.
    pub new_person_id: String,
    /// The cases whose person changed to the new person.
    pub case_ids: Vec<String>,
}

/// Split a person wrongly joined from two: the chosen records, with their
/// cases' documents and identity checks, go to a new person, and
/// `person.split` is emitted. Nothing is deleted; both persons' history
/// records it.
#[utoipa::path(
    post,
    path = "/v1/persons/{id}/split",
    tag = "persons",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(("id" = String, Path, description = "The person to split (UUID)")),
    request_body = SplitRequest,
    responses(
        (status = 201, body = SplitView, description = "Split: the new person"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such person"),
        (status = 409, body = Problem, description = "The person was merged into another"),
        (status = 413, body = Problem),
        (status = 422, body = Problem, description = "Names `/records` or `/reason`"),
        (status = 503, body = Problem),
    )
)]
async fn split_person(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    http: web::Data<HttpState>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let person = person_path(&id)?;
    let (records, reason) = change(payload, &http, |body, errors| {
        let records: Option<Vec<i64>> = body["records"]
            .as_array()
            .and_then(|items| items.iter().map(Value::as_i64).collect())
            .filter(|records: &Vec<i64>| !records.is_empty());
        if records.is_none() {
            errors.push(field_error(
                "/records",
                "required: the ids of the records that belong to someone else",
            ));
        }
        records
    })
    .await?;
    let by = casework_runtime::audit::caller(&req);
    let split = links::split(
        &state.store,
        &state.outbox,
        &person,
        &records,
        Change {
            reason: &reason,
            by: &by,
        },
    )
    .await?;
    casework_runtime::audit::read_each(&req, "person", [person.clone(), split.person.id.clone()])
        .await?;
    Ok(HttpResponse::Created().json(SplitView {
        person_id: person,
        new_person_id: split.person.id,
        case_ids: split
            .event
            .case_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}

/// Every settled review task as a labelled pair, NDJSON, oldest first: a
/// line `{"review_id", "label": "match" | "non-match", "record",
/// "candidate", "decided_at"}`. The label is the caseworkers' latest
/// judgement: whether the two records belong to one person now (a link
/// later split apart is a non-match; kept apart but merged later, a
/// match). The model's next estimate reads it (`make matching-model
/// LABELS=FILE`).
#[utoipa::path(
    get,
    path = "/v1/match-labels",
    tag = "persons",
    security(("bearer" = ["role:admin"])),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String, description = "One labelled pair a line"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 503, body = Problem),
    )
)]
async fn match_labels(
    req: HttpRequest,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let db = state.store.connection();
    let reviews = match_review::Entity::find()
        .filter(match_review::Column::Status.eq(links::SETTLED))
        .order_by_asc(match_review::Column::DecidedAt)
        .order_by_asc(match_review::Column::Id)
        .all(db)
        .await
        .map_err(Problem::from)?;
    let views = review_views(&req, db, reviews).await?;
    let mut body = String::new();
    for view in views {
        let label = if view.record.person_id == view.candidate.person_id {
            "match"
        } else {
            "non-match"
        };
        let line = serde_json::json!({
            "review_id": view.id,
            "label": label,
            "record": view.record.record,
            "candidate": view.candidate.record,
            "decided_at": view.decided_at,
        });
        body.push_str(&line.to_string());
        body.push('\n');
    }
    Ok(HttpResponse::Ok()
        .content_type(casework_runtime::http::NDJSON)
        .body(body))
}

/// Import person records (NDJSON, one source record a line): each is linked
/// to a person already in the index or given a new one, in order, and the
/// report has a line per input with the person, the decision (`match`,
/// `new`, `review`) and the score. Only `source_id` and a name are
/// required; malformed optional fields are left out, never refused. A
/// `source_id` imported before changes nothing.
#[utoipa::path(
    post,
    path = "/v1/imports/persons",
    tag = "imports",
    security(("bearer" = ["scope:records-import", "role:admin"])),
    request_body(content = Object, content_type = "application/x-ndjson", description = "One record a line: {\"source_id\", \"given_names\", \"surname\", \"date_of_birth\"?, \"sex\"?, \"nationality\"?, \"address\"?: {\"lines\": [...], \"locality\"?, \"postcode\"?}, \"identifiers\"?: [{\"scheme\", \"value\"}]}; at most `http.import_max_bytes` (64 MiB by default)"),
    responses(
        (status = 200, body = PersonImportReport, description = "Imported; refused lines are listed in `rejected`"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 413, body = Problem),
        (status = 415, body = Problem, description = "Not sent as application/x-ndjson"),
        (status = 503, body = Problem),
    )
)]
async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let body = read_ndjson(&req, payload, state.import_max_bytes).await?;
    let report = import_persons(&state.store, &state.persons, &body)
        .await
        .map_err(Problem::from)?;
    tracing::info!(
        who = %casework_runtime::audit::caller(&req),
        matched = report.matched,
        new = report.new,
        review = report.review,
        already_imported = report.already_imported,
        rejected = report.rejected.len(),
        "person records imported"
    );
    Ok(HttpResponse::Ok().json(report))
}

/// The request, or every field that is wrong with it.
fn document_check_request(body: &Value) -> Result<DocumentCheckRequest, Problem> {
    let Some(object) = body.as_object() else {
        return Err(Problem::invalid(vec![field_error(
            "",
            "expected an object with `mrz` (and optionally `on`)",
        )]));
    };
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|key| !["mrz", "on"].contains(&key.as_str()))
        .map(|key| field_error(&format!("/{key}"), "unknown field"))
        .collect();
    let mrz = match object.get("mrz").and_then(Value::as_array) {
        Some(lines) if lines.iter().all(Value::is_string) => lines
            .iter()
            .filter_map(|line| line.as_str().map(str::to_owned))
            .collect(),
        _ => {
            errors.push(field_error(
                "/mrz",
                "required: the zone's lines, an array of strings",
            ));
            Vec::new()
        }
    };
    let on = match object.get("on") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let date = value.as_str().and_then(|d| d.parse::<NaiveDate>().ok());
            if date.is_none() {
                errors.push(field_error(
                    "/on",
                    &format!("{value} is not a date (YYYY-MM-DD)"),
                ));
            }
            date
        }
    };
    if errors.is_empty() {
        Ok(DocumentCheckRequest { mrz, on })
    } else {
        Err(Problem::invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use casework_runtime::Policy;
    use casework_runtime::auth::PolicyTable;
    use serde_json::json;

    #[test]
    fn every_route_declares_its_policy() {
        let mut table = PolicyTable::default();
        table.add_openapi("/api/identify", &IdentifyApi::openapi());
        let grants = |list: &[&str]| Policy::Grants(list.iter().map(|s| (*s).to_owned()).collect());
        let readers = grants(&["role:caseworker", "role:senior-caseworker", "role:auditor"]);
        assert_eq!(
            table.policy("GET", "/api/identify/v1/persons/{id}"),
            &readers
        );
        assert_eq!(table.policy("GET", "/api/identify/v1/persons"), &readers);
        assert_eq!(
            table.policy("POST", "/api/identify/v1/document-checks"),
            &grants(&[
                "role:caseworker",
                "role:senior-caseworker",
                "scope:identity-check"
            ])
        );
    }

    #[test]
    fn a_document_check_request_names_every_bad_field() {
        let problem = document_check_request(&json!({"mrz": "P<", "on": "22/11/2026", "x": 1}))
            .expect_err("refused");
        let pointers: Vec<&str> = problem.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/x", "/mrz", "/on"]);
        let ok = document_check_request(&json!({"mrz": ["a", "b"], "on": "2026-11-22"}))
            .expect("accepted");
        assert_eq!(ok.mrz, ["a", "b"]);
        assert_eq!(ok.on, "2026-11-22".parse().ok());
    }
}
