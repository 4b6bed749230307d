//! Dead-letter queues: `<topic>.dlq` holds the records of `<topic>` that a
//! consumer could not apply for a permanent reason.
//!
//! A dead letter keeps the original key, headers and payload untouched, and
//! adds headers saying what went wrong, which consumer group gave up, and the
//! original coordinates. Listing reads a DLQ without joining any group;
//! replaying re-sends the original record to its topic, where consumers that
//! had already applied it skip it (inbox) and the one that failed tries again.

use std::collections::HashMap;

use casework_contracts::KafkaRecord;
use casework_contracts::catalogue::dead_letter_topic;
use chrono::{DateTime, Utc};
use rdkafka::message::{Headers, Message, OwnedMessage};

use crate::error::BusError;
use crate::producer::EventProducer;
use crate::settings::BusSettings;

/// Header names added to a dead letter.
pub mod headers {
    /// Why the record was dead-lettered.
    pub const ERROR: &str = "casework_dlq_error";
    /// The consumer group that gave up on it.
    pub const CONSUMER_GROUP: &str = "casework_dlq_consumer_group";
    /// The original topic.
    pub const TOPIC: &str = "casework_dlq_topic";
    /// The original partition.
    pub const PARTITION: &str = "casework_dlq_partition";
    /// The original offset.
    pub const OFFSET: &str = "casework_dlq_offset";
    /// When it was dead-lettered (RFC 3339).
    pub const FAILED_AT: &str = "casework_dlq_failed_at";

    /// Every header this module adds (stripped again on replay).
    pub const ALL: [&str; 6] = [ERROR, CONSUMER_GROUP, TOPIC, PARTITION, OFFSET, FAILED_AT];
}

/// Produces `message` to its topic's DLQ with the failure recorded in headers,
/// and waits for the broker's acknowledgement.
pub async fn send(
    producer: &EventProducer,
    message: &OwnedMessage,
    consumer_group: &str,
    error: &str,
) -> Result<(), BusError> {
    let mut record_headers: Vec<(String, Vec<u8>)> = message
        .headers()
        .map(|h| {
            h.iter()
                .filter(|h| !headers::ALL.contains(&h.key))
                .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default();
    record_headers.extend([
        (headers::ERROR.to_owned(), error.as_bytes().to_vec()),
        (
            headers::CONSUMER_GROUP.to_owned(),
            consumer_group.as_bytes().to_vec(),
        ),
        (
            headers::TOPIC.to_owned(),
            message.topic().as_bytes().to_vec(),
        ),
        (
            headers::PARTITION.to_owned(),
            message.partition().to_string().into_bytes(),
        ),
        (
            headers::OFFSET.to_owned(),
            message.offset().to_string().into_bytes(),
        ),
        (
            headers::FAILED_AT.to_owned(),
            Utc::now().to_rfc3339().into_bytes(),
        ),
    ]);
    let record = KafkaRecord {
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default(),
        headers: record_headers,
        payload: message.payload().unwrap_or_default().to_vec(),
    };
    producer
        .send(&dead_letter_topic(message.topic()), &record)
        .await?;
    metrics::counter!(
        "casework_dead_letters_total",
        "topic" => message.topic().to_owned(),
        "group" => consumer_group.to_owned()
    )
    .increment(1);
    Ok(())
}

/// A record read back from a DLQ.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Where it sits in the DLQ.
    pub dlq_partition: i32,
    /// Where it sits in the DLQ.
    pub dlq_offset: i64,
    /// The topic it came from.
    pub topic: String,
    /// Its original partition.
    pub partition: i32,
    /// Its original offset.
    pub offset: i64,
    /// The consumer group that gave up on it.
    pub consumer_group: String,
    /// Why.
    pub error: String,
    /// When.
    pub failed_at: Option<DateTime<Utc>>,
    /// The original record: key, headers (without the DLQ ones) and payload.
    pub record: KafkaRecord,
}

impl DeadLetter {
    fn from_message(message: &OwnedMessage) -> Self {
        let mut dlq: HashMap<&str, String> = HashMap::new();
        let mut original = Vec::new();
        if let Some(h) = message.headers() {
            for header in h.iter() {
                let value = header.value.unwrap_or_default();
                match headers::ALL.iter().find(|name| **name == header.key) {
                    Some(name) => {
                        dlq.insert(name, String::from_utf8_lossy(value).into_owned());
                    }
                    None => original.push((header.key.to_owned(), value.to_vec())),
                }
            }
        }
        let take = |name: &str| dlq.get(name).cloned().unwrap_or_default();
        Self {
            dlq_partition: message.partition(),
            dlq_offset: message.offset(),
            topic: take(headers::TOPIC),
            partition: take(headers::PARTITION).parse().unwrap_or(-1),
            offset: take(headers::OFFSET).parse().unwrap_or(-1),
            consumer_group: take(headers::CONSUMER_GROUP),
            error: take(headers::ERROR),
            failed_at: DateTime::parse_from_rfc3339(&take(headers::FAILED_AT))
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            record: KafkaRecord {
                key: message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .unwrap_or_default(),
                headers: original,
                payload: message.payload().unwrap_or_default().to_vec(),
            },
        }
    }
}

/// Reads every record of a DLQ, oldest first per partition, without joining
/// a consumer group or committing anything.
pub async fn list(settings: &BusSettings, dlq_topic: &str) -> Result<Vec<DeadLetter>, BusError> {
    let messages = crate::topics::read_all(settings, dlq_topic).await?;
    Ok(messages.iter().map(DeadLetter::from_message).collect())
}

/// Re-sends a dead letter's original record to its original topic.
pub async fn replay(producer: &EventProducer, letter: &DeadLetter) -> Result<(), BusError> {
    producer.send(&letter.topic, &letter.record).await?;
    Ok(())
}
