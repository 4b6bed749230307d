//! Creates the platform's topics: one per producing service plus its DLQ.
//!
//! Brokers such as Tansu do not auto-create topics, and a production cluster
//! should not, so every process creates what it needs at start; "already
//! exists" counts as success, which makes it idempotent and race-free.

use std::collections::HashMap;
use std::time::Duration;

use casework_contracts::Service;
use casework_contracts::catalogue::dead_letter_topic;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use crate::error::BusError;
use crate::settings::{BusSettings, client_config};

/// Every topic of the platform, prefixed: `casework.<service>` and its `.dlq`.
pub fn platform_topics(settings: &BusSettings) -> Vec<String> {
    Service::ALL
        .iter()
        .flat_map(|service| {
            let topic = settings.prefixed(&service.topic());
            [dead_letter_topic(&topic), topic]
        })
        .collect()
}

/// Creates the given topics if they do not exist.
pub async fn ensure_topics(settings: &BusSettings, topics: &[String]) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = client_config(settings).create()?;
    // Create only what is missing: brokers log every "already exists" as an error.
    let existing: Vec<String> = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(30))?
        .topics()
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .filter(|name| !existing.contains(name))
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication),
            )
        })
        .collect();
    if new_topics.is_empty() {
        return Ok(());
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::TopicCreation {
                    topic,
                    reason: code.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Every partition of `topic` (as `settings` creates them), each from its
/// first record: for a hand-assigned reader that must see the whole topic.
pub fn from_beginning(settings: &BusSettings, topic: &str) -> Result<TopicPartitionList, BusError> {
    let mut partitions = TopicPartitionList::new();
    for partition in 0..settings.partitions {
        partitions.add_partition_offset(topic, partition, Offset::Beginning)?;
    }
    Ok(partitions)
}

/// Reads every record of `topic` as it is now, ordered by partition then
/// offset, without joining a consumer group or committing anything: for
/// operators (`casework dlq list`) and for tests that read the topics back.
pub async fn read_all(settings: &BusSettings, topic: &str) -> Result<Vec<OwnedMessage>, BusError> {
    let settings = settings.clone();
    let topic = topic.to_owned();
    match tokio::task::spawn_blocking(move || read_all_blocking(&settings, &topic)).await {
        Ok(result) => result,
        // A panic in the reader is a bug: surface it as one.
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

fn read_all_blocking(settings: &BusSettings, topic: &str) -> Result<Vec<OwnedMessage>, BusError> {
    const TIMEOUT: Duration = Duration::from_secs(10);
    let consumer: BaseConsumer = client_config(settings)
        // Required by the client, never joined: partitions are assigned by hand.
        .set("group.id", settings.prefixed("casework.topic-reader"))
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let mut assignment = TopicPartitionList::new();
    let mut remaining = HashMap::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = consumer.fetch_watermarks(topic, partition.id(), TIMEOUT)?;
        if high > low {
            assignment.add_partition_offset(topic, partition.id(), Offset::Offset(low))?;
            remaining.insert(partition.id(), high);
        }
    }
    let mut messages = Vec::new();
    if remaining.is_empty() {
        return Ok(messages);
    }
    consumer.assign(&assignment)?;
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !remaining.is_empty() && std::time::Instant::now() < deadline {
        let Some(result) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = result?.detach();
        if let Some(high) = remaining.get(&message.partition())
            && message.offset() + 1 >= *high
        {
            remaining.remove(&message.partition());
        }
        messages.push(message);
    }
    messages.sort_by_key(|m| (m.partition(), m.offset()));
    Ok(messages)
}

/// Whether consumer group `group` has committed offsets up to the end of
/// every partition of `topic`: it has consumed everything published there
/// so far. For tests and tools that must know a backlog is through.
pub async fn consumed_to_end(
    settings: &BusSettings,
    group: &str,
    topic: &str,
) -> Result<bool, BusError> {
    let settings = settings.clone();
    let (group, topic) = (group.to_owned(), topic.to_owned());
    match tokio::task::spawn_blocking(move || consumed_to_end_blocking(&settings, &group, &topic))
        .await
    {
        Ok(result) => result,
        Err(join) => std::panic::resume_unwind(join.into_panic()),
    }
}

fn consumed_to_end_blocking(
    settings: &BusSettings,
    group: &str,
    topic: &str,
) -> Result<bool, BusError> {
    const TIMEOUT: Duration = Duration::from_secs(10);
    // Asks the group's coordinator for its offsets; never joins the group.
    let consumer: BaseConsumer = client_config(settings)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let mut partitions = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        partitions.add_partition(topic, partition.id());
    }
    let committed = consumer.committed_offsets(partitions, TIMEOUT)?;
    for element in committed.elements() {
        let (_, high) = consumer.fetch_watermarks(topic, element.partition(), TIMEOUT)?;
        let done = match element.offset() {
            Offset::Offset(offset) => offset >= high,
            _ => high == 0,
        };
        if !done {
            return Ok(false);
        }
    }
    Ok(true)
}
