//! Register: owns applications, cases, their timelines and process state, and
//! the public intake API. It is the process manager: it alone requests work
//! from the other capabilities, and it alone asks Communicate to tell the
//! applicant anything (`communicate.requested`).
//!
//! It must never do another capability's job (checking identity, deciding,
//! issuing documents, sending messages): it asks for it by event.

pub mod cases;
pub mod migrations;
pub mod reference;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::{ContractError, Event, EventType, SchemaRegistry};
use casework_products::{Product, ProductCatalogue};
use casework_runtime::http::{HttpState, read_json};
use casework_runtime::idempotency::{IdempotencyKey, request_hash};
use casework_runtime::{Problem, RuntimeError, ServiceContext, ServiceParts, telemetry};
use casework_store::{BatchWrite, GroupCommit, Store, StoreError, idempotency};
use chrono::{SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::cases::{case, timeline};
use crate::reference::CaseReference;

/// The service's name.
pub const NAME: &str = "register";

/// Register's running state, shared by its handlers.
struct Register {
    store: Store,
    registry: Arc<SchemaRegistry>,
    products: Arc<ProductCatalogue>,
    intake: GroupCommit<Intake>,
}

/// Most applications that share one commit.
const INTAKE_BATCH: usize = 256;

/// Builds Register: migrates its database and returns its routes and consumer.
pub async fn build(
    ctx: ServiceContext,
    products: Arc<ProductCatalogue>,
) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<migrations::Migrator>().await?;
    let intake = GroupCommit::start(
        ctx.store.clone(),
        Arc::new(Intake {
            outbox: ctx.outbox.clone(),
            products: products.clone(),
        }),
        INTAKE_BATCH,
    );
    let register = web::Data::new(Register {
        store: ctx.store.clone(),
        registry: ctx.registry.clone(),
        products,
        intake,
    });
    let consumer = ctx.consumer(
        [EventType::new("notification.sent.v1")],
        Arc::new(TimelineRecorder),
    )?;
    Ok(ServiceParts {
        name: NAME,
        openapi: RegisterApi::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(register.clone())
                .route("/v1/applications/{product}", web::post().to(submit))
                .route("/v1/cases/{reference}", web::get().to(get_case))
                .route(
                    "/v1/products/{product}/schema",
                    web::get().to(product_schema),
                );
        }),
        consumers: vec![consumer],
        store: ctx.store,
    })
}

/// Register's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Register", description = "Applications and cases."),
    paths(submit, get_case, product_schema),
    components(schemas(Acknowledgement, CaseView, TimelineEntry, Problem))
)]
pub struct RegisterApi;

/// What an applicant gets back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Acknowledgement {
    /// The case's id.
    pub case_id: String,
    /// The reference to quote.
    pub reference: String,
    /// `received`.
    pub status: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
}

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
    /// What has happened, oldest first.
    pub timeline: Vec<TimelineEntry>,
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
/// Validates the body against the product's application schema, opens a case,
/// and asks for the acknowledgement to be sent. Send an `Idempotency-Key` to
/// make retries safe: the same key and body return the same case.
#[utoipa::path(
    post,
    path = "/v1/applications/{product}",
    tag = "applications",
    security(()),
    params(
        ("product" = String, Path, description = "Product id, e.g. visit-visa"),
        ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe"),
    ),
    request_body(content = Object, description = "The application; see /v1/products/{product}/schema"),
    responses(
        (status = 201, body = Acknowledgement, description = "Case opened"),
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
    let request = IntakeRequest {
        product: product.id.clone(),
        application,
        key: key.0,
        hash: request_hash(&body),
        traceparent: telemetry::current_traceparent(),
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

/// A validated application on its way into a group commit.
struct IntakeRequest {
    product: String,
    application: Value,
    key: Option<String>,
    hash: String,
    traceparent: Option<String>,
}

/// What the intake transaction did.
enum IntakeOutcome {
    /// A new case.
    Created { reference: String, body: String },
    /// The same `Idempotency-Key` and body as before: the first answer.
    Replayed { status: u16, body: String },
}

/// Opens cases, many to a commit (see [`GroupCommit`]).
struct Intake {
    outbox: Outbox,
    products: Arc<ProductCatalogue>,
}

#[async_trait]
impl BatchWrite for Intake {
    type Request = IntakeRequest;
    type Response = IntakeOutcome;
    type Error = Problem;

    async fn apply(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        request: IntakeRequest,
    ) -> Result<IntakeOutcome, Problem> {
        let product = self
            .products
            .get(&request.product)
            .ok_or_else(Problem::internal)?;
        let scope = format!("POST /v1/applications/{}", product.id);
        if let Some(key) = &request.key
            && let Some(stored) = idempotency::find(txn, &scope, key).await?
        {
            if stored.request_hash != request.hash {
                return Err(Problem::conflict(
                    "this Idempotency-Key was used with a different application",
                ));
            }
            return Ok(IntakeOutcome::Replayed {
                status: u16::try_from(stored.status).unwrap_or(201),
                body: stored.body,
            });
        }
        let acknowledgement = open_case(
            txn,
            &self.outbox,
            product,
            &request.application,
            request.traceparent,
        )
        .await
        .map_err(|err| match err {
            HandlerError::Store(err) => Problem::from(err),
            other => {
                tracing::error!(error = %other, "could not open a case");
                Problem::internal()
            }
        })?;
        let body = serde_json::to_string(&acknowledgement).unwrap_or_default();
        if let Some(key) = &request.key {
            idempotency::save(txn, &scope, key, &request.hash, 201, &body).await?;
        }
        Ok(IntakeOutcome::Created {
            reference: acknowledgement.reference,
            body,
        })
    }
}

/// Opens the case, records it on the timeline, and emits
/// `application.received` and the acknowledgement's `communicate.requested`.
async fn open_case<C: ConnectionTrait>(
    txn: &C,
    outbox: &Outbox,
    product: &Product,
    application: &Value,
    traceparent: Option<String>,
) -> Result<Acknowledgement, HandlerError> {
    let case_id = uuid::Uuid::now_v7().to_string();
    let reference = CaseReference::generate(&product.reference_prefix);
    let now = Utc::now();
    let field = |pointer: &str| {
        application
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    case::ActiveModel {
        id: Set(case_id.clone()),
        reference: Set(reference.to_string()),
        product: Set(product.id.clone()),
        status: Set("received".into()),
        applicant_surname: Set(field(&product.applicant.surname)),
        applicant_date_of_birth: Set(field(&product.applicant.date_of_birth)),
        application: Set(application.to_string()),
        received_at: Set(now),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    record(
        txn,
        &case_id,
        "application.received",
        format!("{} application received online", product.name),
    )
    .await?;

    let received_at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let source = outbox.source();
    let mut events = vec![Event::new(
        &source,
        EventType::new("application.received.v1"),
        &case_id,
        json!({
            "case_id": case_id,
            "reference": reference.as_str(),
            "product": product.id,
            "received_at": received_at,
            "channel": "online",
        }),
    )];
    if let Some(template) = product.notifications.get("received") {
        events.push(Event::new(
            &source,
            EventType::new("communicate.requested.v1"),
            &case_id,
            json!({
                "case_id": case_id,
                "reference": reference.as_str(),
                "product": product.id,
                "milestone": "received",
                "template": template,
                "recipient": { "email": field(&product.applicant_email) },
                "personalisation": {
                    "reference": reference.as_str(),
                    "given_names": field(&product.applicant.given_names),
                    "surname": field(&product.applicant.surname),
                    "product_name": product.name,
                    "service_level_days": product.service_level_days,
                },
            }),
        ));
    }
    for event in &mut events {
        event.traceparent = traceparent.clone();
    }
    outbox.append(txn, events).await?;
    Ok(Acknowledgement {
        case_id,
        reference: reference.to_string(),
        status: "received".into(),
        received_at,
    })
}

async fn record<C: ConnectionTrait>(
    txn: &C,
    case_id: &str,
    kind: &str,
    summary: String,
) -> Result<(), HandlerError> {
    timeline::ActiveModel {
        case_id: Set(case_id.to_owned()),
        at: Set(Utc::now()),
        kind: Set(kind.to_owned()),
        summary: Set(summary),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
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
        .map_err(|e| Problem::from(StoreError::from(e)))?
        .ok_or_else(not_found)?;
    let entries = timeline::Entity::find()
        .filter(timeline::Column::CaseId.eq(&case.id))
        .order_by_asc(timeline::Column::Id)
        .all(db)
        .await
        .map_err(|e| Problem::from(StoreError::from(e)))?;
    Ok(HttpResponse::Ok().json(CaseView {
        case_id: case.id,
        reference: case.reference,
        product: case.product,
        status: case.status,
        received_at: case.received_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        timeline: entries
            .into_iter()
            .map(|e| TimelineEntry {
                at: e.at.to_rfc3339_opts(SecondsFormat::Millis, true),
                kind: e.kind,
                summary: e.summary,
            })
            .collect(),
    }))
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

/// Puts the results of other capabilities on the case timeline.
struct TimelineRecorder;

#[async_trait]
impl EventHandler for TimelineRecorder {
    async fn handle(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let data = &event.data;
        let case_id = data["case_id"].as_str().unwrap_or_default();
        let exists = case::Entity::find_by_id(case_id.to_owned())
            .one(txn)
            .await?
            .is_some();
        if !exists {
            return Err(HandlerError::Refused(format!("no case {case_id}")));
        }
        let summary = format!(
            "{} notification sent by {} ({})",
            data["milestone"].as_str().unwrap_or("a"),
            data["channel"].as_str().unwrap_or("?"),
            data["provider"].as_str().unwrap_or("?"),
        );
        record(txn, case_id, "notification.sent", summary).await
    }
}
