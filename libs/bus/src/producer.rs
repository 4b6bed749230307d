//! The idempotent producer every service shares.

use std::time::Duration;

use casework_contracts::KafkaRecord;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::error::BusError;
use crate::settings::{BusSettings, client_config};

/// How long one record may take to be acknowledged before it is reported
/// failed (the relay then retries it from the outbox).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// An idempotent producer with `acks=all`: a record is acknowledged only once
/// the broker has it durably, and retries never duplicate or reorder it.
#[derive(Clone)]
pub struct EventProducer {
    inner: FutureProducer,
}

impl std::fmt::Debug for EventProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventProducer").finish_non_exhaustive()
    }
}

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

impl EventProducer {
    /// Creates the producer.
    pub fn new(settings: &BusSettings) -> Result<Self, BusError> {
        let inner = client_config(settings)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set(
                "message.timeout.ms",
                DELIVERY_TIMEOUT.as_millis().to_string(),
            )
            .create()?;
        Ok(Self { inner })
    }

    /// Sends one record and waits for the broker's acknowledgement.
    pub async fn send(&self, topic: &str, record: &KafkaRecord) -> Result<Delivered, BusError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value),
            });
        }
        let future_record = FutureRecord::to(topic)
            .key(&record.key)
            .payload(&record.payload)
            .headers(headers);
        match self.inner.send(future_record, DELIVERY_TIMEOUT).await {
            Ok(delivery) => Ok(Delivered {
                partition: delivery.partition,
                offset: delivery.offset,
            }),
            Err((err, _)) => Err(err.into()),
        }
    }
}
