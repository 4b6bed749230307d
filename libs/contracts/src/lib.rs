//! The platform's shared contracts: what an event is and what it may contain.
//!
//! Owns the CloudEvents 1.0 envelope and its Kafka binary-mode mapping
//! ([`envelope`]), the event catalogue read from `schemas/asyncapi.yaml`
//! ([`catalogue`]) and the JSON Schema registry that validates every payload
//! ([`registry`]), every event type's payload as a Rust type
//! ([`payloads`]), typed ids and statuses ([`ids`]), and the name
//! normalisation every service compares people's names with ([`names`]).
//!
//! It must never talk to a broker or a database: services and the bus depend on
//! it, so it stays free of I/O beyond reading schema files at start.

pub mod catalogue;
pub mod envelope;
pub mod error;
pub mod ids;
pub mod names;
pub mod payloads;
pub mod reference;
pub mod registry;
pub mod views;

pub use catalogue::{CatalogueEntry, EventCatalogue, Visibility};
pub use envelope::{Event, EventId, EventType, KafkaHeader, KafkaRecord};
pub use error::{ContractError, FieldError};
pub use ids::{CaseId, CaseStatus, Outcome, PersonId, Service, StepId, StepStatus};
pub use payloads::Payload;
pub use reference::CaseReference;
pub use registry::SchemaRegistry;
