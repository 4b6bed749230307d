//! Appending events to a service's transactional outbox.

use std::sync::Arc;

use casework_contracts::{Event, SchemaRegistry};
use casework_store::outbox::{self, PendingEvent};
use sea_orm::ConnectionTrait;

use crate::error::BusError;
use crate::settings::BusSettings;

/// A service's way to emit events: validated, then written in the caller's
/// transaction, so they are published if and only if the state change commits.
#[derive(Clone, Debug)]
pub struct Outbox {
    service: String,
    registry: Arc<SchemaRegistry>,
    settings: BusSettings,
}

impl Outbox {
    /// The outbox of `service` (one of the seven capabilities).
    pub fn new(
        service: impl Into<String>,
        registry: Arc<SchemaRegistry>,
        settings: BusSettings,
    ) -> Self {
        Self {
            service: service.into(),
            registry,
            settings,
        }
    }

    /// The `ce_source` of this service's events.
    pub fn source(&self) -> String {
        format!("/casework/{}", self.service)
    }

    /// Validates each event against the catalogue and its schema, checks this
    /// service is its producer, and appends it inside `txn`. Nothing is written
    /// if any event is refused.
    pub async fn append<C: ConnectionTrait>(
        &self,
        txn: &C,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<(), BusError> {
        outbox::append(txn, self.prepare(events)?).await?;
        Ok(())
    }

    /// [`Outbox::append`]'s checks and serialisation alone, for a caller
    /// that does them before it takes a writer and appends the result with
    /// `casework_store::outbox::append`.
    pub fn prepare(
        &self,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Vec<PendingEvent>, BusError> {
        let mut pending = Vec::new();
        for mut event in events {
            self.registry.validate_event(&mut event)?;
            let entry = self
                .registry
                .catalogue()
                .get(&event.event_type)
                .ok_or_else(|| {
                    casework_contracts::ContractError::UnknownEventType(
                        event.event_type.to_string(),
                    )
                })?;
            if entry.producer != self.service {
                return Err(BusError::NotProducer {
                    service: self.service.clone(),
                    event_type: event.event_type.to_string(),
                    producer: entry.producer.clone(),
                });
            }
            pending.push(PendingEvent {
                event_id: event.id.to_string(),
                topic: self.settings.prefixed(&entry.topic()),
                record_key: event.subject.clone(),
                event: serde_json::to_string(&event).map_err(|e| {
                    casework_contracts::ContractError::MalformedPayload(e.to_string())
                })?,
            });
        }
        Ok(pending)
    }
}
