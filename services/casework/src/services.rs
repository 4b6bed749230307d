//! The services this build runs, and how each is built and migrated: the
//! one place that names them all.

use std::sync::Arc;

use casework_contracts::Service;
use casework_products::ProductCatalogue;
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};
use casework_store::Store;

/// The service of that name, or an error naming every service.
pub fn named(service: &str) -> Result<Service, RuntimeError> {
    Service::parse(service).ok_or_else(|| {
        let all: Vec<&str> = Service::ALL.iter().map(|s| s.as_str()).collect();
        RuntimeError::Config(format!("unknown service `{service}`; services are {all:?}"))
    })
}

/// The event types a service's consumer handles (its `CONSUMES`), which
/// the catalogue's `x-consumers` must match (tested below).
#[cfg(test)]
fn consumes(service: Service) -> &'static [&'static str] {
    match service {
        Service::Register => &casework_register::CONSUMES,
        Service::Identify => &casework_identify::CONSUMES,
        Service::Investigate => &casework_investigate::CONSUMES,
        Service::Decide => &casework_decide::CONSUMES,
        Service::Enforce => &casework_enforce::CONSUMES,
        Service::Fulfil => &casework_fulfil::CONSUMES,
        Service::Communicate => &casework_communicate::CONSUMES,
    }
}

/// Builds a service: migrates its database and returns its parts.
pub async fn build(
    ctx: ServiceContext,
    products: Arc<ProductCatalogue>,
) -> Result<ServiceParts, RuntimeError> {
    match named(ctx.name)? {
        Service::Register => casework_register::build(ctx, products).await,
        Service::Identify => casework_identify::build(ctx).await,
        Service::Investigate => casework_investigate::build(ctx).await,
        Service::Decide => casework_decide::build(ctx).await,
        Service::Enforce => casework_enforce::build(ctx).await,
        Service::Fulfil => casework_fulfil::build(ctx).await,
        Service::Communicate => casework_communicate::build(ctx).await,
    }
}

/// Every database, by name: each service's own, named after it,
/// Register's intake (`casework_register::intake`) and the web front end's
/// sessions.
pub fn databases() -> impl Iterator<Item = &'static str> {
    Service::ALL
        .iter()
        .map(|s| s.as_str())
        .chain([casework_register::intake::DATABASE, casework_web::NAME])
}

/// Applies a database's migrations.
pub async fn migrate(database: &str, store: &Store) -> Result<(), RuntimeError> {
    match database {
        casework_register::NAME => {
            store
                .migrate::<casework_register::migrations::Migrator>()
                .await?
        }
        casework_register::intake::DATABASE => {
            store
                .migrate::<casework_register::intake::Migrator>()
                .await?
        }
        casework_identify::NAME => store.migrate::<casework_identify::Migrator>().await?,
        casework_investigate::NAME => store.migrate::<casework_investigate::Migrator>().await?,
        casework_decide::NAME => store.migrate::<casework_decide::Migrator>().await?,
        casework_enforce::NAME => store.migrate::<casework_enforce::Migrator>().await?,
        casework_fulfil::NAME => store.migrate::<casework_fulfil::Migrator>().await?,
        casework_communicate::NAME => store.migrate::<casework_communicate::Migrator>().await?,
        casework_web::NAME => store.migrate::<casework_web::Migrator>().await?,
        other => return Err(RuntimeError::Config(format!("unknown database `{other}`"))),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use casework_contracts::EventType;
    use casework_contracts::catalogue::EventCatalogue;

    use super::*;

    /// `schemas/asyncapi.yaml` says who consumes each event type; each
    /// service's consumer says what it handles. They must agree both ways,
    /// so the catalogue a department reads cannot drift from the code.
    #[test]
    fn the_catalogue_names_exactly_the_consumers_the_code_has() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/asyncapi.yaml");
        let catalogue = EventCatalogue::load(&path).expect("the catalogue");
        let mut drift = Vec::new();
        for entry in catalogue.entries() {
            let said: BTreeSet<&str> = entry.consumers.iter().map(String::as_str).collect();
            let done: BTreeSet<&str> = Service::ALL
                .iter()
                .filter(|s| consumes(**s).contains(&entry.event_type.as_str()))
                .map(|s| s.as_str())
                .collect();
            if said != done {
                drift.push(format!(
                    "{}: x-consumers {said:?}, consumed by {done:?}",
                    entry.event_type.as_str()
                ));
            }
        }
        for &service in Service::ALL {
            for event_type in consumes(service) {
                if catalogue.get(&EventType::new(*event_type)).is_none() {
                    drift.push(format!(
                        "{service} consumes {event_type}, not in the catalogue"
                    ));
                }
            }
        }
        assert!(drift.is_empty(), "{}", drift.join("\n"));
    }
}
