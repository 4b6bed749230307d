//! The platform as a library: the table of services and [`serve`], which
//! builds any set of them and starts them on one listener. The `casework`
//! command (`casework up`, `casework serve <service>`) runs it, and so can a
//! test, in-process.

pub mod services;

use std::sync::Arc;

use casework_bus::producer::EventProducer;
use casework_bus::topics::{ensure_topics, platform_topics};
use casework_contracts::{SchemaRegistry, Service};
use casework_products::ProductCatalogue;
use casework_runtime::{
    Authenticator, Platform, RuntimeError, ServiceContext, ServiceParts, Settings,
};
use tokio::runtime::Handle;

/// Builds the named services, and the web front end when `web` is set,
/// and starts them on one listener.
///
/// Services run their consumers, relays and tasks on `background` (see
/// `casework_runtime::background`); the HTTP listener runs on the caller's
/// runtime.
pub async fn serve(
    settings: Arc<Settings>,
    services: &[Service],
    web: bool,
    background: &Handle,
) -> Result<Platform, RuntimeError> {
    let products = Arc::new(
        ProductCatalogue::load(&settings.paths.products)
            .map_err(|e| RuntimeError::Config(e.to_string()))?,
    );
    let registry = Arc::new(SchemaRegistry::load(
        &settings.paths.schemas,
        &products.schema_files(),
    )?);
    let bus = settings.bus();
    // The front end alone emits no events: it needs the services' URLs, not
    // the broker (no topics, no producer, no relay).
    let producer = if services.is_empty() {
        None
    } else {
        ensure_topics(&bus, &platform_topics(&bus)).await?;
        Some(EventProducer::new(&bus)?)
    };
    let auth = Arc::new(Authenticator::from_settings(&settings.auth, &settings.data_dir).await?);
    let mut parts: Vec<ServiceParts> = Vec::new();
    for &service in services {
        let ctx = ServiceContext::new(
            service.as_str(),
            settings.clone(),
            registry.clone(),
            producer.clone(),
        )
        .await?;
        parts.push(services::build(ctx, products.clone()).await?);
    }
    if web {
        let ctx = ServiceContext::new(
            casework_web::NAME,
            settings.clone(),
            registry.clone(),
            producer.clone(),
        )
        .await?;
        parts.push(casework_web::build(ctx, products.clone()).await?);
    }
    let platform = Platform::start(&settings, auth, producer, parts, background).await?;
    // Tests and scripts wait for this line.
    println!("casework listening on http://{}", platform.address);
    Ok(platform)
}
