//! Storage: one database per service, SQLite embedded by default, PostgreSQL
//! selected by URL; the platform tables every service has (the transactional
//! outbox and the idempotent inbox) and their queries.
//!
//! It must never talk to the broker: the bus reads the outbox and writes the
//! inbox through this crate, and services own their other tables.

pub mod error;
pub mod group_commit;
pub mod idempotency;
pub mod inbox;
pub mod migrations;
pub mod outbox;
pub mod settings;
mod store;

pub use error::StoreError;
pub use group_commit::{BatchWrite, GroupCommit};
pub use settings::{DatabaseSettings, SqliteSynchronous};
pub use store::Store;
