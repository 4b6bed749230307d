//! Identify: who an applicant is.
//!
//! On `identify.requested` it checks the identity document presented (an
//! ICAO 9303 machine-readable zone, see [`document`]; or, when the applicant
//! could only give the fields printed on it, those, see [`printed`]), resolves the applicant
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

pub mod api;
pub mod confidence;
pub mod document;
pub mod handler;
pub mod printed;
pub mod tables;

use std::sync::Arc;

use casework_contracts::EventType;
use casework_contracts::payloads::{IdentifyRequested, Payload};
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};
use utoipa::OpenApi;

pub use api::{IdentifyApi, routes};
pub use handler::Identifier;
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
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Identifier::new(ctx.outbox.clone())),
    )?;
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: IdentifyApi::openapi(),
        routes: routes(ctx.store.clone(), ctx.clock),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}
