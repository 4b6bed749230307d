//! The services this build runs, and how each is built and migrated: the
//! one place that names them all.

use std::sync::Arc;

use casework_products::ProductCatalogue;
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};
use casework_store::Store;

/// Every service, in start order (the order does not matter for
/// correctness: services only meet through the broker).
pub const SERVICES: [&str; 7] = [
    casework_register::NAME,
    casework_identify::NAME,
    casework_investigate::NAME,
    casework_decide::NAME,
    casework_enforce::NAME,
    casework_fulfil::NAME,
    casework_communicate::NAME,
];

/// The `'static` name of a service, if this build has it.
pub fn named(service: &str) -> Option<&'static str> {
    SERVICES.iter().copied().find(|name| *name == service)
}

/// The event types a service's consumer handles (its `CONSUMES`), which
/// the catalogue's `x-consumers` must match (tested below).
#[cfg(test)]
fn consumes(service: &str) -> &'static [&'static str] {
    match service {
        casework_register::NAME => &casework_register::CONSUMES,
        casework_identify::NAME => &casework_identify::CONSUMES,
        casework_investigate::NAME => &casework_investigate::CONSUMES,
        casework_decide::NAME => &casework_decide::CONSUMES,
        casework_enforce::NAME => &casework_enforce::CONSUMES,
        casework_fulfil::NAME => &casework_fulfil::CONSUMES,
        casework_communicate::NAME => &casework_communicate::CONSUMES,
        _ => &[],
    }
}

/// Builds a service: migrates its database and returns its parts.
pub async fn build(
    ctx: ServiceContext,
    products: Arc<ProductCatalogue>,
) -> Result<ServiceParts, RuntimeError> {
    match ctx.name {
        casework_register::NAME => casework_register::build(ctx, products).await,
        casework_identify::NAME => casework_identify::build(ctx).await,
        casework_investigate::NAME => casework_investigate::build(ctx).await,
        casework_decide::NAME => casework_decide::build(ctx).await,
        casework_enforce::NAME => casework_enforce::build(ctx).await,
        casework_fulfil::NAME => casework_fulfil::build(ctx).await,
        casework_communicate::NAME => casework_communicate::build(ctx).await,
        other => Err(RuntimeError::Config(format!("unknown service `{other}`"))),
    }
}

/// Every database, by name: each service's own, named after it, and
/// Register's intake (`casework_register::intake`).
pub fn databases() -> impl Iterator<Item = &'static str> {
    SERVICES
        .into_iter()
        .chain([casework_register::intake::DATABASE])
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
            let done: BTreeSet<&str> = SERVICES
                .into_iter()
                .filter(|s| consumes(s).contains(&entry.event_type.as_str()))
                .collect();
            if said != done {
                drift.push(format!(
                    "{}: x-consumers {said:?}, consumed by {done:?}",
                    entry.event_type.as_str()
                ));
            }
        }
        for service in SERVICES {
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
