//! Register's HTTP API: the public intake, case reads and search for
//! caseworkers, retries of stuck checks, and the products' form schemas.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use casework_bus::Outbox;
use casework_contracts::payloads::ApplicationReceived;
use casework_contracts::views::{Acknowledgement, ApplicationStatus, StatusQuery};
use casework_contracts::{CaseId, ContractError, Event, SchemaRegistry, names};
use casework_products::ProductCatalogue;
use casework_runtime::http::{HttpState, read_json};
use casework_runtime::idempotency::{IdempotencyKey, request_hash};
use casework_runtime::{Problem, telemetry};
use casework_store::{GroupCommit, Store, StoreError};
use chrono::{SecondsFormat, SubsecRound, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;
use utoipa::OpenApi;

use crate::cases::{self, case, timeline};
use crate::intake::{self, Intake, IntakeOutcome, IntakeRequest};
use crate::process::Process;
use casework_contracts::CaseReference;

/// Register's running state, shared by its handlers.
pub(crate) struct Register {
    pub(crate) store: Store,
    /// Applications as received ([`intake`]).
    pub(crate) intake_store: Store,
    pub(crate) outbox: Outbox,
    pub(crate) registry: Arc<SchemaRegistry>,
    pub(crate) products: Arc<ProductCatalogue>,
    pub(crate) intake: GroupCommit<Intake>,
    pub(crate) process: Process,
}

/// Register's routes (mounted under `/api/register`).
pub(crate) fn routes(cfg: &mut web::ServiceConfig, register: web::Data<Register>) {
    cfg.app_data(register)
        .route("/v1/applications/{product}", web::post().to(submit))
        .route("/v1/status", web::post().to(status))
        .route("/v1/cases", web::get().to(search_cases))
        .route("/v1/cases/{reference}", web::get().to(get_case))
        .route(
            "/v1/cases/{reference}/checks/{check}/retry",
            web::post().to(retry_check),
        )
        .route(
            "/v1/products/{product}/schema",
            web::get().to(product_schema),
        );
}

/// Register's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Register", description = "Applications and cases."),
    paths(submit, status, search_cases, get_case, retry_check, product_schema),
    components(schemas(
        Acknowledgement,
        StatusQuery,
        ApplicationStatus,
        CaseView,
        CaseSummary,
        CasePage,
        StepView,
        TimelineEntry,
        Problem
    ))
)]
pub struct RegisterApi;

/// A case as caseworkers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    /// The case's id.
    pub case_id: String,
    /// Its reference.
    pub reference: String,
    /// The product applied for.
    pub product: String,
    /// Where the case is.
    pub status: String,
    /// When it was received.
    pub received_at: String,
    /// The stage it is in (a product stage, or `outcome`).
    pub stage: Option<String>,
    /// `granted` or `refused`, once decided.
    pub outcome: Option<String>,
    /// Since when a step has been overdue, if one is.
    pub stuck_since: Option<String>,
    /// When it closed.
    pub closed_at: Option<String>,
    /// Every step it has asked for, in order.
    pub steps: Vec<StepView>,
    /// What has happened, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The application as received (the applicant's answers).
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<serde_json::Value>,
}

impl CaseView {
    /// An application whose case is not open yet: received, nothing more.
    fn received(products: &ProductCatalogue, received: intake::application::Model) -> Self {
        let product = products
            .get(&received.product)
            .map_or(received.product.as_str(), |p| p.name.as_str());
        Self {
            timeline: vec![TimelineEntry {
                at: received
                    .received_at
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
                kind: "application.received".into(),
                summary: format!("{product} application received online"),
            }],
            case_id: received.id,
            reference: received.reference,
            product: received.product,
            status: "received".into(),
            received_at: received
                .received_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
            stage: None,
            outcome: None,
            stuck_since: None,
            closed_at: None,
            steps: Vec::new(),
            application: serde_json::from_str(&received.application).ok(),
        }
    }
}

/// A step of a case's process.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepView {
    /// `case / stage / check / attempt`.
    pub step_id: String,
    /// The stage.
    pub stage: String,
    /// The check (its evidence key), or `fulfil` / `enforce`.
    pub check: String,
    /// The service asked.
    pub capability: String,
    /// The attempt.
    pub attempt: i32,
    /// `requested`, `referred`, `stuck`, `done` or `replaced`.
    pub status: String,
    /// When it was asked for.
    pub requested_at: String,
    /// When it becomes overdue.
    pub deadline: Option<String>,
    /// When it was answered.
    pub completed_at: Option<String>,
}

/// A case in search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseSummary {
    /// Its reference.
    pub reference: String,
    /// The product.
    pub product: String,
    /// Its status.
    pub status: String,
    /// The applicant's surname.
    pub surname: String,
    /// The applicant's date of birth.
    pub date_of_birth: String,
    /// When it was received.
    pub received_at: String,
    /// Whether a step is overdue.
    pub stuck: bool,
}

/// A page of search results.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CasePage {
    /// The cases, newest first.
    pub cases: Vec<CaseSummary>,
    /// How many match in all.
    pub total: u64,
    /// The page size asked for.
    pub limit: u64,
    /// Where the page starts.
    pub offset: u64,
}

/// Case search: every filter is optional and they combine.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseSearch {
    /// A case reference (exact; one whose check character does not match
    /// finds no case).
    pub reference: Option<String>,
    /// The applicant's surname (accents, case and punctuation ignored).
    pub surname: Option<String>,
    /// The applicant's date of birth, `YYYY-MM-DD`.
    #[param(format = Date)]
    pub date_of_birth: Option<String>,
    /// `received`, `in-progress`, `referred`, `decided`, `closed`, or
    /// `stuck`; several, comma-separated, match any of them.
    #[param(
        pattern = "^((received|in-progress|referred|decided|closed|stuck)(,(received|in-progress|referred|decided|closed|stuck))*)?$"
    )]
    pub status: Option<String>,
    /// `newest` (the default) or `oldest` first, by when received.
    #[param(pattern = "^(|newest|oldest)$")]
    pub sort: Option<String>,
    /// A product id.
    pub product: Option<String>,
    /// Page size (default 50, at most 200).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// Results to skip.
    #[param(maximum = 9223372036854775807_u64)]
    pub offset: Option<u64>,
}

/// One timeline entry.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// When.
    pub at: String,
    /// What kind.
    pub kind: String,
    /// A sentence for caseworkers.
    pub summary: String,
}

/// Submit an application for a product.
///
/// Validates the body against the product's application schema and records
/// it under a new case reference, which the answer gives; moments later the
/// case opens and the acknowledgement is sent. Send an `Idempotency-Key` to
/// make retries safe: the same key and body return the same case.
#[utoipa::path(
    post,
    path = "/v1/applications/{product}",
    tag = "applications",
    security(()),
    params(
        ("product" = String, Path, description = "Product id, e.g. visit-visa"),
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$", description = "Makes retries safe: 1 to 255 printable ASCII characters, no spaces"),
    ),
    request_body(content = Object, description = "The application; see /v1/products/{product}/schema"),
    responses(
        (status = 201, body = Acknowledgement, description = "Received; the case opens moments later"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 404, body = Problem, description = "Unknown product"),
        (status = 409, body = Problem, description = "Idempotency-Key reused with another body"),
        (status = 413, body = Problem, description = "Body too large"),
        (status = 422, body = Problem, description = "Fails the product's schema, field by field"),
        (status = 503, body = Problem, description = "Try again"),
    )
)]
async fn submit(
    product_id: web::Path<String>,
    key: IdempotencyKey,
    payload: web::Payload,
    register: web::Data<Register>,
    http: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let product = register
        .products
        .get(&product_id)
        .ok_or_else(|| Problem::not_found(format!("there is no product `{product_id}`")))?;
    let (body, application) = read_json(payload, http.max_body_bytes).await?;
    match register
        .registry
        .validate(&product.application_schema_id, &application)
    {
        Ok(()) => {}
        Err(ContractError::SchemaViolation { errors, .. }) => return Err(Problem::invalid(errors)),
        Err(err) => {
            tracing::error!(error = %err, product = %product.id, "application schema unusable");
            return Err(Problem::internal());
        }
    }
    // Everything but the inserts is done here, before the intake's writer
    // is taken: the row, and `application.received` checked and serialised.
    let case_id = uuid::Uuid::now_v7().to_string();
    let reference = CaseReference::generate(&product.reference_prefix);
    let received_at = Utc::now();
    let traceparent = telemetry::current_traceparent();
    let mut received = Event::of(
        register.outbox.source(),
        &ApplicationReceived {
            case_id: CaseId::from(case_id.clone()),
            reference: reference.as_str().to_owned(),
            product: product.id.clone(),
            received_at: received_at.trunc_subsecs(0),
            channel: "online".into(),
        },
    );
    received.traceparent.clone_from(&traceparent);
    let received = register
        .outbox
        .prepare([received])
        .map_err(|err| {
            tracing::error!(error = %err, "could not prepare application.received");
            Problem::internal()
        })?
        .pop()
        .ok_or_else(Problem::internal)?;
    let acknowledgement = Acknowledgement {
        case_id: case_id.clone(),
        reference: reference.to_string(),
        status: "received".into(),
        received_at: received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    let request = IntakeRequest {
        scope: format!("POST /v1/applications/{}", product.id),
        key: key.0,
        hash: request_hash(&body),
        acknowledgement: serde_json::to_string(&acknowledgement).map_err(|err| {
            tracing::error!(error = %err, "could not serialise an acknowledgement");
            Problem::internal()
        })?,
        application: intake::application::Model {
            id: case_id,
            reference: reference.to_string(),
            product: product.id.clone(),
            application: application.to_string(),
            received_at,
            traceparent,
        },
        received,
    };
    match register.intake.submit(request).await? {
        IntakeOutcome::Created { reference, body } => {
            tracing::info!(%reference, product = %product.id, "application received");
            Ok(HttpResponse::Created()
                .insert_header(("Location", format!("/api/register/v1/cases/{reference}")))
                .content_type("application/json")
                .body(body))
        }
        IntakeOutcome::Replayed { status, body } => Ok(HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::CREATED),
        )
        .insert_header(("Idempotent-Replayed", "true"))
        .content_type("application/json")
        .body(body)),
    }
}

/// Where an application is, for the person who made it.
///
/// The reference and the applicant's date of birth must both match; a wrong
/// pair gets the same 404 as an unknown reference, so it reveals nothing,
/// and after five failures in 24 hours a reference is refused (429) even
/// with the right date of birth.
/// The answer is the status alone: no names, no evidence.
#[utoipa::path(
    post,
    path = "/v1/status",
    tag = "applications",
    security(()),
    request_body = StatusQuery,
    responses(
        (status = 200, body = ApplicationStatus),
        (status = 400, body = Problem, description = "Not a status query"),
        (status = 404, body = Problem, description = "No application has that reference and date of birth"),
        (status = 429, body = Problem, description = "Five failed checks of this reference in 24 hours"),
    )
)]
async fn status(
    req: HttpRequest,
    payload: web::Payload,
    register: web::Data<Register>,
    http: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let (_, body) = read_json(payload, http.max_body_bytes).await?;
    let query: StatusQuery = serde_json::from_value(body).map_err(|e| {
        Problem::bad_request(format!(
            "expected {{\"reference\", \"date_of_birth\"}}: {e}"
        ))
    })?;
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, PaginatorTrait};
    let not_found = || Problem::not_found("no application has that reference and date of birth");
    let typed = query.reference.trim().to_uppercase();
    let store = |e: sea_orm::DbErr| Problem::from(StoreError::from(e));
    // Failures are counted per reference, known or not, before anything is
    // looked up: a reference cannot be tried against every date of birth.
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let failures = intake::status_failure::Entity::find()
        .filter(intake::status_failure::Column::Reference.eq(typed.as_str()))
        .filter(intake::status_failure::Column::FailedAt.gt(since))
        .count(register.intake_store.connection())
        .await
        .map_err(store)?;
    if failures >= STATUS_FAILURES_PER_DAY {
        return Err(Problem::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "too-many-status-checks",
            "Too many failed checks of this reference",
        )
        .detail("this reference has been checked with a wrong date of birth too often; try again tomorrow"));
    }
    let found = match CaseReference::parse(&typed) {
        Some(reference) => application_status(&register, &reference)
            .await
            .map_err(store)?,
        None => None,
    };
    match found {
        Some((born, status)) if !born.is_empty() && born == query.date_of_birth.trim() => {
            // A disclosure to whoever holds the reference and date of birth.
            casework_runtime::audit::read_each(&req, "case", [status.reference.clone()]).await?;
            Ok(HttpResponse::Ok()
                .insert_header(("Cache-Control", "no-store"))
                .json(status))
        }
        _ => {
            intake::status_failure::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                reference: Set(typed),
                failed_at: Set(chrono::Utc::now()),
            }
            .insert(register.intake_store.writer())
            .await
            .map_err(store)?;
            Err(not_found())
        }
    }
}

/// Failed status checks a reference may have in 24 hours.
const STATUS_FAILURES_PER_DAY: u64 = 5;

/// The applicant's date of birth and the status of the application with
/// that reference, if there is one. Both databases are read either way, so
/// the time taken does not say whether the case is open.
async fn application_status(
    register: &Register,
    reference: &CaseReference,
) -> Result<Option<(String, ApplicationStatus)>, sea_orm::DbErr> {
    let case = case::Entity::find()
        .filter(case::Column::Reference.eq(reference.as_str()))
        .one(register.store.connection())
        .await?;
    let received = intake::application::Entity::find()
        .filter(intake::application::Column::Reference.eq(reference.as_str()))
        .one(register.intake_store.connection())
        .await?;
    let (product_id, status, outcome, received_at, born) = match (case, received) {
        (Some(case), _) => (
            case.product,
            case.status,
            case.outcome,
            case.received_at,
            case.applicant_date_of_birth,
        ),
        // Received, its case not opened yet: the date of birth is in the
        // application as received.
        (None, Some(received)) => {
            let application: serde_json::Value =
                serde_json::from_str(&received.application).unwrap_or_default();
            let born = register
                .products
                .get(&received.product)
                .and_then(|p| application.pointer(&p.applicant.date_of_birth))
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned();
            (
                received.product,
                "received".to_owned(),
                None,
                received.received_at,
                born,
            )
        }
        (None, None) => return Ok(None),
    };
    let product = register.products.get(&product_id);
    Ok(Some((
        born,
        ApplicationStatus {
            reference: reference.to_string(),
            product_name: product.map_or_else(|| product_id.clone(), |p| p.name.clone()),
            service_level_days: product.map_or(0, |p| p.service_level_days),
            product: product_id,
            status,
            outcome,
            received_at: received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
    )))
}

/// Read a case: its status and timeline.
#[utoipa::path(
    get,
    path = "/v1/cases/{reference}",
    tag = "cases",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(("reference" = String, Path, description = "e.g. VV-7KQ4-M2XD-P")),
    responses(
        (status = 200, body = CaseView),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    )
)]
async fn get_case(
    req: HttpRequest,
    reference: web::Path<String>,
    register: web::Data<Register>,
) -> Result<HttpResponse, Problem> {
    let not_found = || Problem::not_found(format!("there is no case `{reference}`"));
    let reference = CaseReference::parse(&reference).ok_or_else(not_found)?;
    let db = register.store.connection();
    let case = case::Entity::find()
        .filter(case::Column::Reference.eq(reference.as_str()))
        .one(db)
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    let Some(case) = case else {
        // Received, but the process manager has not opened its case yet
        // (milliseconds, unless the pipeline is behind).
        let received = intake::application::Entity::find()
            .filter(intake::application::Column::Reference.eq(reference.as_str()))
            .one(register.intake_store.connection())
            .await
            .map_err(|e| Problem::from(StoreError::from(e)))?
            .ok_or_else(not_found)?;
        casework_runtime::audit::read_each(&req, "case", [received.reference.clone()]).await?;
        return Ok(HttpResponse::Ok().json(CaseView::received(&register.products, received)));
    };
    let entries = timeline::Entity::find()
        .filter(timeline::Column::CaseId.eq(&case.id))
        .order_by_asc(timeline::Column::Id)
        .all(db)
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    let steps = cases::step::Entity::find()
        .filter(cases::step::Column::CaseId.eq(&case.id))
        .order_by_asc(cases::step::Column::RequestedAt)
        .all(db)
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    let received = intake::application::Entity::find()
        .filter(intake::application::Column::Reference.eq(reference.as_str()))
        .one(register.intake_store.connection())
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    casework_runtime::audit::read_each(&req, "case", [&case.reference, &case.id]).await?;
    let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    Ok(HttpResponse::Ok().json(CaseView {
        application: received.and_then(|r| serde_json::from_str(&r.application).ok()),
        case_id: case.id,
        reference: case.reference,
        product: case.product,
        status: case.status,
        received_at: case.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        stage: case.stage,
        outcome: case.outcome,
        stuck_since: case.stuck_since.map(time),
        closed_at: case.closed_at.map(time),
        steps: steps
            .into_iter()
            .map(|s| StepView {
                step_id: s.step_id,
                stage: s.stage,
                check: s.check_id,
                capability: s.capability,
                attempt: s.attempt,
                status: s.status,
                requested_at: time(s.requested_at),
                deadline: s.deadline.map(time),
                completed_at: s.completed_at.map(time),
            })
            .collect(),
        timeline: entries
            .into_iter()
            .map(|e| TimelineEntry {
                at: time(e.at),
                kind: e.kind,
                summary: e.summary,
            })
            .collect(),
    }))
}

/// Search cases by reference, applicant surname and date of birth, status
/// and product; paged, newest first (or oldest, for a work queue).
#[utoipa::path(
    get,
    path = "/v1/cases",
    tag = "cases",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(CaseSearch, ("Purpose" = String, Header, description = "Why you search (required): it goes on the audit trail")),
    responses(
        (status = 200, body = CasePage),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 422, body = Problem, description = "A filter is malformed"),
    )
)]
async fn search_cases(
    req: HttpRequest,
    query: web::Query<CaseSearch>,
    register: web::Data<Register>,
) -> Result<HttpResponse, Problem> {
    casework_runtime::audit::purpose_required(&req)?;
    let query = query.into_inner();
    let mut errors = Vec::new();
    let (limit, offset) =
        casework_runtime::http::page(query.limit, query.offset).unwrap_or_else(|e| {
            errors.push(e);
            (1, 0)
        });
    let mut select = case::Entity::find();
    if let Some(reference) = query.reference.as_deref().filter(|r| !r.trim().is_empty()) {
        // No case has a reference whose check character fails: it matches
        // nothing (the desk's search page tells the user it is mistyped).
        let exact = CaseReference::parse(reference)
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default();
        select = select.filter(case::Column::Reference.eq(exact));
    }
    if let Some(surname) = query.surname.as_deref().filter(|s| !s.trim().is_empty()) {
        select =
            select.filter(case::Column::ApplicantSurnameNormalised.eq(names::normalise(surname)));
    }
    if let Some(date) = query.date_of_birth.as_deref() {
        if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
            errors.push(casework_contracts::FieldError::new(
                "/date_of_birth",
                "a date, YYYY-MM-DD",
            ));
        }
        select = select.filter(case::Column::ApplicantDateOfBirth.eq(date));
    }
    if let Some(statuses) = query.status.as_deref().filter(|s| !s.trim().is_empty()) {
        let mut any = sea_orm::Condition::any();
        for status in statuses.split(',').map(str::trim) {
            match status {
                "stuck" => any = any.add(case::Column::StuckSince.is_not_null()),
                "received" | "in-progress" | "referred" | "decided" | "closed" => {
                    any = any.add(case::Column::Status.eq(status));
                }
                _ => errors.push(casework_contracts::FieldError::new(
                    "/status",
                    "one or more of received, in-progress, referred, decided, closed, stuck",
                )),
            }
        }
        select = select.filter(any);
    }
    let oldest_first = match query.sort.as_deref().map(str::trim) {
        None | Some("" | "newest") => false,
        Some("oldest") => true,
        Some(_) => {
            errors.push(casework_contracts::FieldError::new(
                "/sort",
                "newest or oldest",
            ));
            false
        }
    };
    if let Some(product) = query.product.as_deref().filter(|s| !s.is_empty()) {
        select = select.filter(case::Column::Product.eq(product));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let direction = if oldest_first {
        sea_orm::Order::Asc
    } else {
        sea_orm::Order::Desc
    };
    let order = [
        (case::Column::ReceivedAt, direction.clone()),
        (case::Column::Reference, direction),
    ];
    let (total, rows) = casework_runtime::http::fetch_page(
        select,
        &order,
        (limit, offset),
        register.store.connection(),
    )
    .await?;
    casework_runtime::audit::search_found(&req, "case", rows.iter().map(|c| c.reference.clone()))
        .await?;
    Ok(HttpResponse::Ok().json(CasePage {
        cases: rows
            .into_iter()
            .map(|c| CaseSummary {
                reference: c.reference,
                product: c.product,
                status: c.status,
                surname: c.applicant_surname,
                date_of_birth: c.applicant_date_of_birth,
                received_at: c.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                stuck: c.stuck_since.is_some(),
            })
            .collect(),
        total,
        limit,
        offset,
    }))
}

/// Ask again for a check that is stuck (overdue), as a new attempt. A late
/// answer to the earlier attempt still counts; whichever comes first
/// completes the check.
#[utoipa::path(
    post,
    path = "/v1/cases/{reference}/checks/{check}/retry",
    tag = "cases",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(
        ("reference" = String, Path, description = "The case reference"),
        ("check" = String, Path, description = "The check's id, or fulfil / enforce"),
    ),
    responses(
        (status = 202, description = "Requested again; the new step id", body = Object),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The check is not stuck"),
    )
)]
async fn retry_check(
    path: web::Path<(String, String)>,
    claims: casework_runtime::Claims,
    register: web::Data<Register>,
) -> Result<HttpResponse, Problem> {
    let (reference, check) = path.into_inner();
    let by = claims.sub;
    let not_found = || Problem::not_found(format!("there is no case `{reference}`"));
    let parsed = CaseReference::parse(&reference).ok_or_else(not_found)?;
    let store = &register.store;
    let txn = store.begin_write().await?;
    let case = case::Entity::find()
        .filter(case::Column::Reference.eq(parsed.as_str()))
        .one(&txn)
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?
        .ok_or_else(not_found)?;
    let outcome = register
        .process
        .retry(&txn, &case, &check, &by)
        .await
        .map_err(Problem::from)?;
    match outcome {
        Ok(step_id) => {
            store.commit(txn).await?;
            tracing::info!(%reference, %check, %by, %step_id, "step requested again");
            Ok(HttpResponse::Accepted().json(json!({ "step_id": step_id })))
        }
        Err(reason) => Err(Problem::conflict(reason)),
    }
}

/// The JSON Schema of a product's application form (for form builders).
#[utoipa::path(
    get,
    path = "/v1/products/{product}/schema",
    tag = "applications",
    security(()),
    params(("product" = String, Path)),
    responses((status = 200, description = "JSON Schema 2020-12"), (status = 404, body = Problem))
)]
async fn product_schema(
    product_id: web::Path<String>,
    register: web::Data<Register>,
) -> Result<HttpResponse, Problem> {
    let product = register
        .products
        .get(&product_id)
        .ok_or_else(|| Problem::not_found(format!("there is no product `{product_id}`")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .json(&product.application_schema_document))
}
