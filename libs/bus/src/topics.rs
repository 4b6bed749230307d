//! Creates the platform's topics: one per producing service plus its DLQ.
//!
//! Brokers such as Tansu do not auto-create topics, and a production cluster
//! should not, so every process creates what it needs at start; "already
//! exists" counts as success, which makes it idempotent and race-free.

use std::time::Duration;

use casework_contracts::catalogue::{SERVICES, dead_letter_topic, topic_of_service};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::error::BusError;
use crate::settings::{BusSettings, client_config};

/// Every topic of the platform, prefixed: `casework.<service>` and its `.dlq`.
pub fn platform_topics(settings: &BusSettings) -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|service| {
            let topic = settings.prefixed(&topic_of_service(service));
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
