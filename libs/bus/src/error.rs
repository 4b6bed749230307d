//! The one error type of the bus crate.

use casework_contracts::ContractError;
use casework_store::StoreError;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A failure to produce, consume or store an event.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker or client failed.
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    /// The event broke its contract (unknown type, schema violation, ...).
    #[error("contract: {0}")]
    Contract(#[from] ContractError),
    /// The database failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A service tried to produce an event another service owns.
    #[error(
        "`{service}` cannot produce `{event_type}`: the catalogue says `{producer}` produces it"
    )]
    NotProducer {
        /// The service that tried.
        service: String,
        /// The event type.
        event_type: String,
        /// Its catalogued producer.
        producer: String,
    },
    /// Topics could not be created.
    #[error("cannot create topic {topic}: {reason}")]
    TopicCreation {
        /// The topic.
        topic: String,
        /// The broker's reason.
        reason: String,
    },
}

impl BusError {
    /// Whether retrying may succeed (broker or database unavailable, timeouts).
    pub fn is_transient(&self) -> bool {
        match self {
            BusError::Kafka(err) => is_transient_kafka(err),
            BusError::Store(err) => err.is_transient(),
            BusError::Contract(_)
            | BusError::NotProducer { .. }
            | BusError::TopicCreation { .. } => false,
        }
    }
}

fn is_transient_kafka(err: &KafkaError) -> bool {
    match err.rdkafka_error_code() {
        // Configuration and contract errors do not heal by themselves.
        Some(
            RDKafkaErrorCode::InvalidConfig
            | RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::InvalidMessage
            | RDKafkaErrorCode::InvalidRecord
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::UnsupportedVersion,
        ) => false,
        _ => !matches!(err, KafkaError::ClientCreation(_)),
    }
}
