//! Fulfil: issues the status documents a granted case earns — a passport
//! (TD3 machine-readable zone), a visa vignette (MRV-A) or a basic DBS
//! certificate — each with a number that cannot collide, and tells Register
//! with `document.issued`.
//!
//! It acts only on `fulfil.requested` and issues exactly one document per
//! request step, however often the request is delivered. It knows nothing of
//! products beyond the request's parameters; see [`Issuer`] for what each
//! kind of document holds and how it is numbered.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use casework_contracts::EventType;
use casework_contracts::payloads::{FulfilRequested, Payload};
use casework_disclosure::RehabilitationTables;
use casework_runtime::http::CaseQuery;
use casework_runtime::{Problem, RuntimeError, ServiceContext, ServiceParts};
use casework_store::Store;
use casework_store::migrations::{Migration, col};
use chrono::SecondsFormat;
use sea_orm::QueryOrder;
use sea_orm::entity::prelude::*;
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{
    big_integer, date, json, string, text, text_null, timestamp_with_time_zone,
};
use serde::Serialize;
use utoipa::OpenApi;

mod issue;

pub use issue::{Issuer, document_number};

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Fulfil.as_str();

/// A row of `documents`: one issued document.
pub mod document {
    use sea_orm::entity::prelude::*;

    /// An issued document.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "documents")]
    pub struct Model {
        /// Its id (UUID v7), the `document_id` of `document.issued`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// The product the case is for.
        pub product: String,
        /// The request step; one document per step.
        pub step_id: String,
        /// `passport`, `visa` or `dbs-certificate`.
        pub kind: String,
        /// The document number; unique across every kind.
        pub document_number: String,
        /// The holder as the request gave them.
        pub holder: Json,
        /// The machine-readable zone, lines joined by `\n`; none for certificates.
        pub mrz: Option<String>,
        /// The rendered document text.
        pub content: String,
        /// The day it was issued (UTC).
        pub issued_on: Date,
        /// The last day it is valid.
        pub valid_until: Date,
        /// `issued` or `revoked`.
        pub status: String,
        /// When the row was written.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The event types Fulfil's consumer handles.
pub const CONSUMES: [&str; 1] = [FulfilRequested::TYPE];

// Fulfil's migrator.
casework_store::migrator![
    Migration::new("m20261122_600001_create_documents")
        .create_table(
            "documents",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("case_id")))
                .col(string(col("reference")))
                .col(string(col("product")))
                .col(string(col("step_id")))
                .col(string(col("kind")))
                .col(string(col("document_number")))
                .col(json(col("holder")))
                .col(text_null(col("mrz")))
                .col(text(col("content")))
                .col(date(col("issued_on")))
                .col(date(col("valid_until")))
                .col(string(col("status")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        // One document per request step, and no number issued twice.
        .unique_index("documents_step_id", &["step_id"])
        .unique_index("documents_document_number", &["document_number"])
        .index("documents_reference", &["reference"]),
    Migration::new("m20261122_600002_create_document_sequences").create_table(
        "document_sequences",
        Table::create()
            .col(string(col("kind")).primary_key())
            .col(big_integer(col("next"))),
    ),
];

struct Fulfil {
    store: Store,
}

/// Builds Fulfil: migrates its database and returns its routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    // A table that cannot be read stops the start, naming the file.
    let rehabilitation = RehabilitationTables::load(&ctx.settings.paths.rehabilitation)
        .map(Arc::new)
        .map_err(|e| RuntimeError::Config(format!("paths.rehabilitation: {e}")))?;
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Issuer::new(ctx.outbox.clone(), rehabilitation, ctx.clock)),
    )?;
    let state = web::Data::new(Fulfil {
        store: ctx.store.clone(),
    });
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: FulfilApi::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone())
                .route("/v1/documents", web::get().to(list_documents))
                .route("/v1/documents/{number}", web::get().to(get_document));
        }),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}

/// Fulfil's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Fulfil",
        description = "Status documents: passports, visas, DBS certificates."
    ),
    paths(list_documents, get_document),
    components(schemas(DocumentView, Problem))
)]
pub struct FulfilApi;

/// A document as caseworkers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    /// Its id.
    pub id: String,
    /// The document number.
    pub number: String,
    /// `passport`, `visa` or `dbs-certificate`.
    pub kind: String,
    /// The case reference.
    pub reference: String,
    /// The product.
    pub product: String,
    /// The machine-readable zone's lines, if the document has one.
    pub mrz: Option<Vec<String>>,
    /// The day it was issued.
    pub issued_on: String,
    /// The last day it is valid.
    pub valid_until: String,
    /// `issued` or `revoked`.
    pub status: String,
    /// The rendered document text.
    pub content: String,
    /// When it was recorded.
    pub created_at: String,
}

impl From<document::Model> for DocumentView {
    fn from(d: document::Model) -> Self {
        DocumentView {
            id: d.id,
            number: d.document_number,
            kind: d.kind,
            reference: d.reference,
            product: d.product,
            mrz: d.mrz.map(|m| m.lines().map(str::to_owned).collect()),
            issued_on: d.issued_on.to_string(),
            valid_until: d.valid_until.to_string(),
            status: d.status,
            content: d.content,
            created_at: d.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        }
    }
}

/// The documents issued for a case.
#[utoipa::path(
    get,
    path = "/v1/documents",
    tag = "documents",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(CaseQuery),
    responses((status = 200, body = Vec<DocumentView>), (status = 401, body = Problem), (status = 403, body = Problem))
)]
async fn list_documents(
    req: HttpRequest,
    query: web::Query<CaseQuery>,
    state: web::Data<Fulfil>,
) -> Result<HttpResponse, Problem> {
    let reference = query.reference();
    let rows = document::Entity::find()
        .filter(document::Column::Reference.eq(&reference))
        .order_by_asc(document::Column::CreatedAt)
        .all(state.store.connection())
        .await
        .map_err(Problem::from)?;
    let numbers = rows.iter().map(|d| d.document_number.clone());
    casework_runtime::audit::read_case_and(&req, reference, "document", numbers).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(DocumentView::from).collect::<Vec<_>>()))
}

/// One document, by its number.
#[utoipa::path(
    get,
    path = "/v1/documents/{number}",
    tag = "documents",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(("number" = String, Path, description = "The document number")),
    responses((status = 200, body = DocumentView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem))
)]
async fn get_document(
    req: HttpRequest,
    number: web::Path<String>,
    state: web::Data<Fulfil>,
) -> Result<HttpResponse, Problem> {
    let number = number.trim().to_ascii_uppercase();
    let row = document::Entity::find()
        .filter(document::Column::DocumentNumber.eq(&number))
        .one(state.store.connection())
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("no document numbered `{number}`")))?;
    casework_runtime::audit::read_case_and(
        &req,
        &row.reference,
        "document",
        [&row.document_number],
    )
    .await?;
    Ok(HttpResponse::Ok().json(DocumentView::from(row)))
}
