//! Events over a Kafka-protocol broker, exactly as DESIGN.md describes.
//!
//! - [`Outbox`]: a service appends events inside the transaction that changes
//!   its state; each is validated against its schema first.
//! - [`OutboxRelay`]: one per service, woken right after commit, publishes
//!   outbox rows with an idempotent producer (acks=all), marks them published
//!   and prunes old ones.
//! - [`InboxConsumer`]: one consumer group per service, earliest offset first;
//!   validates every record, applies a batch in one transaction with inbox
//!   de-duplication by `ce_id`, and stores offsets only after that commit.
//!   Transient failures are retried with backoff while the partition waits;
//!   permanent ones go to `<topic>.dlq` ([`dead_letter`]).
//! - [`topics::ensure_topics`]: creates every topic and DLQ, idempotently.
//!
//! It must never hold business rules: handlers own those.

pub mod consumer;
pub mod dead_letter;
pub mod error;
pub mod outbox;
pub mod producer;
pub mod relay;
pub mod settings;
pub mod topics;

pub use consumer::{ConsumerHealth, EventHandler, HandlerError, InboxConsumer};
pub use error::BusError;
pub use outbox::Outbox;
pub use relay::OutboxRelay;
pub use settings::{Assignment, BusSettings};
