//! Identify: who an applicant is.
//!
//! On `identify.requested` it checks the identity document presented (an
//! ICAO 9303 machine-readable zone, see [`document`]; or, when the applicant
//! could only give the fields printed on it, those, see [`printed`]), resolves the applicant
//! to a person of its index by weight of evidence ([`persons`], on the
//! matching engine): a returning person on a match, a new one otherwise (a
//! provisional one, with a review task, on a possible match) — and rates the evidence
//! on the [confidence ladder](confidence). It answers with one
//! `identity.established` per step (keyed by the case id), however often the
//! request is delivered.
//!
//! Its API lets caseworkers and auditors read the index and its review
//! tasks, lets caseworkers settle those tasks and merge or split persons
//! ([`links`]: history kept, `person.merged` and `person.split` emitted),
//! lets departments import their person records (scope `records-import`),
//! and lets them check a document (scope `identity-check`).

// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

pub mod api;
pub mod confidence;
pub mod document;
pub mod handler;
pub mod imports;
pub mod links;
pub mod persons;
pub mod printed;
pub mod tables;

use std::sync::Arc;

use casework_contracts::EventType;
use casework_contracts::payloads::{IdentifyRequested, Payload};
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};
use utoipa::OpenApi;

pub use api::{IdentifyApi, routes};
pub use handler::Identifier;
pub use persons::PersonIndex;
pub use tables::Migrator;

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Identify.as_str();
/// The event type Identify consumes.
pub const REQUESTED: &str = IdentifyRequested::TYPE;

/// The event types Identify's consumer handles.
pub const CONSUMES: [&str; 1] = [REQUESTED];

/// Builds Identify: migrates its database and returns its routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    let policy = &ctx.settings.paths.person_matching;
    let persons = Arc::new(PersonIndex::load(policy).map_err(|e| {
        RuntimeError::Config(format!("paths.person_matching ({}): {e}", policy.display()))
    })?);
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Identifier::new(ctx.outbox.clone(), persons.clone())),
    )?;
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: IdentifyApi::openapi(),
        routes: routes(
            ctx.store.clone(),
            ctx.outbox.clone(),
            ctx.clock,
            persons,
            ctx.settings.http.import_max_bytes,
        ),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}
