//! Identify's HTTP API: the person index for caseworkers and auditors, and
//! document checks for them and for other departments.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use casework_contracts::FieldError;
use casework_contracts::names::normalise;
use casework_contracts::payloads::DocumentCheck;
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
use crate::persons::PersonIndex;
use crate::tables::{identity_check, match_review, person, person_document, person_record};
use casework_runtime::http::RejectedLine;

/// Identify's routes (mounted under `/api/identify`); person imports may be
/// up to `import_max_bytes`.
pub fn routes(
    store: Store,
    clock: Clock,
    persons: Arc<PersonIndex>,
    import_max_bytes: usize,
) -> Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync> {
    let state = web::Data::new(Identify {
        store,
        clock,
        persons,
        import_max_bytes,
    });
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .app_data(casework_runtime::http::query_config())
            .route("/v1/persons", web::get().to(search_persons))
            .route("/v1/persons/{id}", web::get().to(get_person))
            .route("/v1/identity-checks", web::get().to(list_checks))
            .route("/v1/document-checks", web::post().to(check_document))
            .route("/v1/reviews", web::get().to(list_reviews))
            .route("/v1/imports/persons", web::post().to(import));
    })
}

struct Identify {
    store: Store,
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
        import
    ),
    components(schemas(
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

/// A person with their documents on record and every check that resolved to them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonView {
    /// The person.
    #[serde(flatten)]
    pub person: PersonSummary,
    /// Valid documents that matched them.
    pub documents: Vec<DocumentView>,
    /// Identity checks, oldest first.
    pub checks: Vec<CheckView>,
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

/// Read a person: their details, documents on record and identity checks.
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
    let not_found = || Problem::not_found(format!("there is no person `{id}`"));
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?.to_string();
    let db = state.store.connection();
    let person = person::Entity::find_by_id(&id)
        .one(db)
        .await
        .map_err(Problem::from)?
        .ok_or_else(not_found)?;
    let documents = person_document::Entity::find()
        .filter(person_document::Column::PersonId.eq(&id))
        .order_by_asc(person_document::Column::Id)
        .all(db)
        .await
        .map_err(Problem::from)?;
    let checks = identity_check::Entity::find()
        .filter(identity_check::Column::PersonId.eq(&id))
        .order_by_asc(identity_check::Column::CreatedAt)
        .all(db)
        .await
        .map_err(Problem::from)?;
    casework_runtime::audit::read_each(&req, "person", [id.clone()]).await?;
    Ok(HttpResponse::Ok().json(PersonView {
        person: person.into(),
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
    /// Page size: 50 unless given, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// How many to skip.
    #[param(maximum = 9223372036854775807_u64)]
    pub offset: Option<u64>,
}

/// A page of open review tasks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    /// The tasks, oldest first.
    pub items: Vec<ReviewView>,
    /// How many are open.
    pub total: u64,
    /// The page size.
    pub limit: u64,
    /// How many were skipped.
    pub offset: u64,
}

/// A possible match: the new record and the candidate's, side by side, and
/// the weights.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    /// The task's id.
    pub id: String,
    /// `open`.
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
}

/// One side of a review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewSide {
    /// The person.
    pub person_id: String,
    /// `application` or `import`.
    pub source: String,
    /// The case id or the import's source id.
    pub source_ref: String,
    /// The record as the source gave it.
    #[schema(value_type = Object)]
    pub record: Value,
}

/// The review queue: possible matches for a caseworker to settle, oldest
/// first, each with both records and every field's weight.
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
        (status = 422, body = Problem, description = "`limit` out of range"),
        (status = 503, body = Problem),
    )
)]
async fn list_reviews(
    req: HttpRequest,
    query: web::Query<ReviewQuery>,
    state: web::Data<Identify>,
) -> Result<HttpResponse, Problem> {
    let (limit, offset) = page(query.limit, query.offset).map_err(|e| Problem::invalid(vec![e]))?;
    let db = state.store.connection();
    let select = match_review::Entity::find().filter(match_review::Column::Status.eq("open"));
    let order = [
        (match_review::Column::CreatedAt, Order::Asc),
        (match_review::Column::Id, Order::Asc),
    ];
    let (total, reviews) = fetch_page(select, &order, (limit, offset), db).await?;
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
        records.get(&id).map_or_else(
            || ReviewSide {
                person_id: String::new(),
                source: String::new(),
                source_ref: String::new(),
                record: Value::Null,
            },
            |r| ReviewSide {
                person_id: r.person_id.clone(),
                source: r.source.clone(),
                source_ref: r.source_ref.clone(),
                record: serde_json::from_str(&r.record).unwrap_or(Value::Null),
            },
        )
    };
    casework_runtime::audit::read_each(
        &req,
        "person",
        reviews
            .iter()
            .flat_map(|r| [r.person_id.clone(), r.candidate_person_id.clone()]),
    )
    .await?;
    let items = reviews
        .iter()
        .map(|r| ReviewView {
            id: r.id.clone(),
            status: r.status.clone(),
            created_at: r.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            case_id: r.case_id.clone(),
            weight: r.weight,
            explanation: serde_json::from_str(&r.explanation).unwrap_or(Value::Null),
            record: side(r.record_id),
            candidate: side(r.candidate_record_id),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ReviewPage {
        items,
        total,
        limit,
        offset,
    }))
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
