//! Identify: who an applicant is.
//!
//! On `identify.requested` it checks the identity document presented (an
//! ICAO 9303 machine-readable zone, see [`document`]), resolves the applicant
//! to a person of its index — a returning person when the
//! [normalised](casework_contracts::names::normalise) surname, given names and date of birth
//! equal a person's already there, else a new one — and rates the evidence
//! on the [confidence ladder](confidence). It answers with one
//! `identity.established` per step (keyed by the case id), however often the
//! request is delivered.
//!
//! Its API lets caseworkers and auditors read the index, and lets other
//! departments (scope `identity-check`) check a document.

// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

pub mod confidence;
pub mod document;
pub mod tables;

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::{Event, EventType, FieldError};
use casework_runtime::http::{HttpState, read_json};
use casework_runtime::{Clock, Problem, RuntimeError, ServiceContext, ServiceParts, telemetry};
use casework_store::{Store, StoreError};
use chrono::{NaiveDate, SecondsFormat, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseTransaction, IntoActiveModel, QueryOrder, QuerySelect, TryInsertResult};
use sea_orm_migration::prelude::{MigrationTrait, MigratorTrait};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::confidence::{DocumentFinding, Facts};
use crate::tables::{identity_check, person, person_document};
use casework_contracts::names::normalise;

/// The service's name.
pub const NAME: &str = "identify";
/// The event type Identify consumes.
pub const REQUESTED: &str = "identify.requested.v1";
/// The event type Identify emits.
pub const ESTABLISHED: &str = "identity.established.v1";

/// Identify's migrator: the platform's tables, then the person index.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = casework_store::migrations::platform();
        migrations.push(Box::new(tables::CreatePersonIndex));
        migrations
    }
}

/// The event types Identify's consumer handles.
pub const CONSUMES: [&str; 1] = [REQUESTED];

/// Builds Identify: migrates its database and returns its routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Identifier::new(ctx.outbox.clone())),
    )?;
    Ok(ServiceParts {
        name: NAME,
        openapi: IdentifyApi::openapi(),
        routes: routes(ctx.store.clone(), ctx.clock),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}

/// The person a check is about, as the application states them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Subject {
    /// Given names.
    pub given_names: String,
    /// Surname.
    pub surname: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Nationality (ISO 3166 alpha-3).
    #[serde(default)]
    pub nationality: Option<String>,
    /// The number of the document the applicant says they hold.
    #[serde(default)]
    pub document_number: Option<String>,
}

/// The payload of `identify.requested.v1` (the fields Identify uses).
#[derive(Debug, Clone, Deserialize)]
struct Request {
    case_id: String,
    step_id: String,
    #[serde(default)]
    params: serde_json::Map<String, Value>,
    application_date: NaiveDate,
    subject: Subject,
    #[serde(default)]
    document: Option<PresentedDocument>,
}

#[derive(Debug, Clone, Deserialize)]
struct PresentedDocument {
    mrz: Vec<String>,
}

/// Answers `identify.requested`: checks the document, resolves the person,
/// rates the confidence, records the check and emits `identity.established`
/// in the consumer's transaction.
#[derive(Debug, Clone)]
pub struct Identifier {
    outbox: Outbox,
}

impl Identifier {
    /// A handler emitting through `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }
}

#[async_trait]
impl EventHandler for Identifier {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let request: Request = serde_json::from_value(event.data.clone())
            .map_err(|e| HandlerError::Refused(format!("not an {REQUESTED} payload: {e}")))?;
        if let Some(done) = identity_check::Entity::find_by_id(&request.step_id)
            .one(txn)
            .await?
        {
            tracing::info!(step_id = %done.step_id, case_id = %done.case_id, "step already answered; not answering again");
            return Ok(());
        }
        let Some(result) = identify(txn, &request).await? else {
            return Ok(());
        };
        let mut established = Event::new(
            self.outbox.source(),
            EventType::new(ESTABLISHED),
            &request.case_id,
            result,
        );
        established.traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        self.outbox.append(txn, [established]).await?;
        Ok(())
    }
}

/// Does the work of one request and returns the `identity.established`
/// payload; `None` if another delivery of the step answered it first.
async fn identify(
    txn: &DatabaseTransaction,
    request: &Request,
) -> Result<Option<Value>, HandlerError> {
    let document_required = match request.params.get("document_required") {
        None => true,
        Some(Value::Bool(required)) => *required,
        Some(other) => {
            return Err(HandlerError::Refused(format!(
                "params.document_required is {other}, expected true or false"
            )));
        }
    };
    let subject = &request.subject;
    let reading = request
        .document
        .as_ref()
        .map(|d| document::read(&d.mrz, request.application_date, Some(subject)));
    let finding = reading
        .as_ref()
        .map_or(DocumentFinding::Absent, |r| r.finding());
    // Only a valid document of the applicant's is theirs to record.
    let applicants_zone = reading
        .as_ref()
        .filter(|_| matches!(finding, DocumentFinding::Good | DocumentFinding::Expired))
        .and_then(|r| r.zone.as_ref());
    let nationality = subject
        .nationality
        .clone()
        .or_else(|| applicants_zone.map(|z| z.nationality.clone()));
    let (person, returning) = resolve(txn, subject, nationality).await?;
    let documented_before = returning
        && person_document::Entity::find()
            .filter(person_document::Column::PersonId.eq(&person.id))
            .one(txn)
            .await?
            .is_some();
    if let Some(zone) = applicants_zone {
        let document = person_document::ActiveModel {
            person_id: sea_orm::Set(person.id.clone()),
            document_number: sea_orm::Set(zone.document_number.clone()),
            format: sea_orm::Set(zone.format.to_string()),
            issuing_state: sea_orm::Set(zone.issuing_state.clone()),
            expiry: sea_orm::Set(zone.date_of_expiry.to_string()),
            case_id: sea_orm::Set(request.case_id.clone()),
            recorded_at: sea_orm::Set(Utc::now()),
            ..Default::default()
        };
        person_document::Entity::insert(document)
            .on_conflict_do_nothing_on([
                person_document::Column::PersonId,
                person_document::Column::IssuingState,
                person_document::Column::DocumentNumber,
            ])
            .exec_without_returning(txn)
            .await?;
    }
    let (level, rule) = confidence::rate(&Facts {
        document: finding,
        document_required,
        returning,
        documented_before,
    });
    let (method, explanation) = explain_match(&person, returning);
    let mut evidence = match &reading {
        Some(reading) => reading.notes.clone(),
        None => vec!["no identity document was presented".to_owned()],
    };
    evidence.push(explanation.clone());
    evidence.push(format!("confidence {}: {rule}", level.as_str()));
    let mut result = json!({
        "case_id": request.case_id,
        "step_id": request.step_id,
        "person_id": person.id,
        "returning": returning,
        "match": { "method": method, "explanation": explanation },
        "confidence": level,
        "confidence_rank": level.rank(),
        "evidence": evidence,
    });
    if let Some(reading) = &reading {
        result["document"] = json!(reading.check);
    }
    let check = identity_check::ActiveModel {
        step_id: sea_orm::Set(request.step_id.clone()),
        case_id: sea_orm::Set(request.case_id.clone()),
        person_id: sea_orm::Set(person.id.clone()),
        confidence: sea_orm::Set(level.as_str().to_owned()),
        result: sea_orm::Set(result.to_string()),
        created_at: sea_orm::Set(Utc::now()),
    };
    let recorded = identity_check::Entity::insert(check)
        .on_conflict_do_nothing_on([identity_check::Column::StepId])
        .exec_without_returning(txn)
        .await?;
    if !matches!(recorded, TryInsertResult::Inserted(1..)) {
        tracing::info!(step_id = %request.step_id, "step answered concurrently; not answering again");
        return Ok(None);
    }
    tracing::info!(case_id = %request.case_id, step_id = %request.step_id, person_id = %person.id, returning, confidence = level.as_str(), "identity established");
    Ok(Some(result))
}

/// The person the subject is: the one with their match key, or a new one.
async fn resolve(
    txn: &DatabaseTransaction,
    subject: &Subject,
    nationality: Option<String>,
) -> Result<(person::Model, bool), HandlerError> {
    let surname = normalise(&subject.surname);
    let given_names = normalise(&subject.given_names);
    if surname.is_empty() {
        return Err(HandlerError::Refused(format!(
            "the subject's surname `{}` has no letters",
            subject.surname
        )));
    }
    let date_of_birth = subject.date_of_birth.to_string();
    let find = || {
        person::Entity::find()
            .filter(person::Column::NormalisedSurname.eq(&surname))
            .filter(person::Column::DateOfBirth.eq(&date_of_birth))
            .filter(person::Column::NormalisedGivenNames.eq(&given_names))
            .one(txn)
    };
    if let Some(existing) = find().await? {
        return Ok((existing, true));
    }
    let new = person::Model {
        id: Uuid::now_v7().to_string(),
        given_names: subject.given_names.trim().to_owned(),
        surname: subject.surname.trim().to_owned(),
        normalised_given_names: given_names.clone(),
        normalised_surname: surname.clone(),
        date_of_birth: date_of_birth.clone(),
        nationality,
        created_at: Utc::now(),
    };
    let inserted = person::Entity::insert(new.clone().into_active_model())
        .on_conflict_do_nothing_on([
            person::Column::NormalisedSurname,
            person::Column::DateOfBirth,
            person::Column::NormalisedGivenNames,
        ])
        .exec_without_returning(txn)
        .await?;
    // Without RETURNING, a conflict shows as no rows inserted.
    if let TryInsertResult::Inserted(1..) = inserted {
        return Ok((new, false));
    }
    // A concurrent request recorded the same person first.
    let existing = find().await?.ok_or_else(|| {
        DbErr::RecordNotFound("the person recorded concurrently is not visible".into())
    })?;
    Ok((existing, true))
}

fn explain_match(person: &person::Model, returning: bool) -> (&'static str, String) {
    let key = format!(
        "surname {}, given names {} and date of birth {}",
        person.normalised_surname, person.normalised_given_names, person.date_of_birth
    );
    if returning {
        (
            "normalised-name-and-date-of-birth",
            format!(
                "returning person {}: normalised {key} equal those of the person recorded on {}",
                person.id,
                person.created_at.date_naive()
            ),
        )
    } else {
        (
            "new-person",
            format!(
                "new person {}: no person in the index has normalised {key}",
                person.id
            ),
        )
    }
}

/// Identify's routes (mounted under `/api/identify`).
pub fn routes(store: Store, clock: Clock) -> Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync> {
    let state = web::Data::new(Identify { store, clock });
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            .app_data(casework_runtime::http::query_config())
            .route("/v1/persons", web::get().to(search_persons))
            .route("/v1/persons/{id}", web::get().to(get_person))
            .route("/v1/document-checks", web::post().to(check_document));
    })
}

struct Identify {
    store: Store,
    /// Today, when a document check names no day.
    clock: Clock,
}

/// Identify's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Identify",
        description = "The person index and identity-document checks (ICAO 9303 MRZ)."
    ),
    paths(get_person, search_persons, check_document),
    components(schemas(
        PersonSummary,
        PersonView,
        DocumentView,
        CheckView,
        DocumentCheckRequest,
        DocumentReport,
        document::DocumentCheck,
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

fn store_problem(err: DbErr) -> Problem {
    Problem::from(StoreError::from(err))
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
        .map_err(store_problem)?
        .ok_or_else(not_found)?;
    let documents = person_document::Entity::find()
        .filter(person_document::Column::PersonId.eq(&id))
        .order_by_asc(person_document::Column::Id)
        .all(db)
        .await
        .map_err(store_problem)?;
    let checks = identity_check::Entity::find()
        .filter(identity_check::Column::PersonId.eq(&id))
        .order_by_asc(identity_check::Column::CreatedAt)
        .all(db)
        .await
        .map_err(store_problem)?;
    casework_runtime::audit::record(&req, "read-person", &id);
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
        checks: checks
            .into_iter()
            .map(|c| CheckView {
                result: serde_json::from_str(&c.result).unwrap_or(Value::Null),
                case_id: c.case_id,
                step_id: c.step_id,
                confidence: c.confidence,
                created_at: c.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            })
            .collect(),
    }))
}

/// Query of the person search.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PersonQuery {
    /// The surname, compared normalised (`Dubois`, `DUBOIS` and `Dubóis` are alike).
    pub surname: Option<String>,
    /// The date of birth, `YYYY-MM-DD`.
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
    params(PersonQuery),
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
    let mut errors = Vec::new();
    let surname = normalise(query.surname.as_deref().unwrap_or_default());
    if surname.is_empty() {
        errors.push(field_error(
            "/surname",
            "required: a surname with at least one letter",
        ));
    }
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
    let mut search = person::Entity::find().filter(person::Column::NormalisedSurname.eq(&surname));
    if let Some(date) = date_of_birth {
        search = search.filter(person::Column::DateOfBirth.eq(date));
    }
    let found = search
        .order_by_asc(person::Column::NormalisedGivenNames)
        .order_by_asc(person::Column::DateOfBirth)
        .limit(SEARCH_LIMIT)
        .all(state.store.connection())
        .await
        .map_err(store_problem)?;
    casework_runtime::audit::record(&req, "search-persons", &surname);
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
pub struct DocumentCheckRequest {
    /// The machine-readable zone, its lines in order.
    pub mrz: Vec<String>,
    /// The day to check it on (two-digit years and expiry); today if absent.
    pub on: Option<NaiveDate>,
}

/// The result of a document check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentReport {
    /// The day it was checked on.
    pub checked_on: NaiveDate,
    /// Validity, failures and the document's identifiers.
    #[serde(flatten)]
    pub check: document::DocumentCheck,
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
