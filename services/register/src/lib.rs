//! Register: owns applications, cases, their timelines and process state, and
//! the public intake API. It is the process manager: it alone requests work
//! from the other capabilities, and it alone asks Communicate to tell the
//! applicant anything (`communicate.requested`).
//!
//! It must never do another capability's job (checking identity, deciding,
//! issuing documents, sending messages): it asks for it by event.

pub mod api;
pub mod cases;
pub mod intake;
pub mod migrations;
pub mod process;

use std::sync::Arc;

use actix_web::web;
use casework_contracts::EventType;
use casework_contracts::payloads::{ApplicationReceived, NotificationSent, Payload};
use casework_products::ProductCatalogue;
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};
use casework_store::{GroupCommit, Store};
use utoipa::OpenApi;

use crate::api::Register;
pub use crate::api::RegisterApi;
use crate::intake::Intake;
use crate::process::Process;

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Register.as_str();

/// Most applications that share one commit.
const INTAKE_BATCH: usize = 256;

/// The event types Register's consumer handles: its own
/// `application.received` (the intake hands over to the process manager),
/// every capability's result ([`process::RESULT_TYPES`]), and
/// `notification.sent` (onto the timeline).
pub const CONSUMES: [&str; 8] = [
    ApplicationReceived::TYPE,
    process::RESULT_TYPES[0],
    process::RESULT_TYPES[1],
    process::RESULT_TYPES[2],
    process::RESULT_TYPES[3],
    process::RESULT_TYPES[4],
    process::RESULT_TYPES[5],
    NotificationSent::TYPE,
];

/// Builds Register: connects and migrates its two databases (cases, and the
/// intake's applications) and returns its routes and consumer.
pub async fn build(
    ctx: ServiceContext,
    products: Arc<ProductCatalogue>,
) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<migrations::Migrator>().await?;
    let intake_store = Store::connect(&ctx.settings.database_for(intake::DATABASE)).await?;
    intake_store.migrate::<intake::Migrator>().await?;
    let process = Process::new(products.clone(), ctx.outbox.clone(), intake_store.clone());
    let intake = GroupCommit::start(intake_store.clone(), Arc::new(Intake), INTAKE_BATCH);
    let register = web::Data::new(Register {
        store: ctx.store.clone(),
        intake_store: intake_store.clone(),
        outbox: ctx.outbox.clone(),
        registry: ctx.registry.clone(),
        products,
        intake,
        process: process.clone(),
    });
    let sweeper_store = ctx.store.clone();
    // Background work: applications wait for the intake's writer, not for
    // this consumer's (see `intake`).
    let consumer = ctx.consumer(CONSUMES.map(EventType::new), Arc::new(process.clone()))?;
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: RegisterApi::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| api::routes(cfg, register.clone())),
        consumers: vec![consumer],
        tasks: vec![Box::new(move |shutdown| {
            Box::pin(process.run_sweeper(sweeper_store, shutdown))
        })],
        stores: vec![ctx.store, intake_store],
    })
}
