//! The event catalogue: every event type of the platform, read from
//! `schemas/asyncapi.yaml` (AsyncAPI 3.0).
//!
//! Each message under `components.messages` names its producer, consumers,
//! record key and visibility in `x-` extension fields, and (once the issue that
//! uses it has landed) its payload schema by `$ref`. The topic of an event type
//! is its producer's topic, `casework.<producer>`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::envelope::EventType;
use crate::error::ContractError;

/// Whether an event may leave the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// May be sent to other departments (webhooks): reference, status and
    /// outcome only, never personal data or findings.
    Public,
    /// Stays between the platform's services.
    Internal,
}

/// What the catalogue says of one event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// The event type.
    pub event_type: EventType,
    /// The service that produces it (one of the seven capabilities).
    pub producer: String,
    /// The services that consume it.
    pub consumers: Vec<String>,
    /// What the record key is (e.g. `case id`).
    pub key: String,
    /// Public or internal.
    pub visibility: Visibility,
    /// The payload schema file, relative to the catalogue, when it exists yet.
    pub payload_schema: Option<PathBuf>,
}

impl CatalogueEntry {
    /// The topic this event type is published on (without a test prefix).
    pub fn topic(&self) -> String {
        topic_of_service(&self.producer)
    }
}

/// The topic a service publishes on.
pub fn topic_of_service(service: &str) -> String {
    format!("casework.{service}")
}

/// The dead-letter topic of a topic.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

/// Every catalogued event type.
#[derive(Debug, Clone, Default)]
pub struct EventCatalogue {
    entries: BTreeMap<EventType, CatalogueEntry>,
}

#[derive(Deserialize)]
struct AsyncApi {
    asyncapi: String,
    components: Components,
}

#[derive(Deserialize)]
struct Components {
    messages: BTreeMap<String, Message>,
}

#[derive(Deserialize)]
struct Message {
    payload: Option<Ref>,
    #[serde(rename = "x-producer")]
    producer: String,
    #[serde(rename = "x-consumers", default)]
    consumers: Vec<String>,
    #[serde(rename = "x-key")]
    key: String,
    #[serde(rename = "x-visibility")]
    visibility: Visibility,
}

#[derive(Deserialize)]
struct Ref {
    #[serde(rename = "$ref")]
    target: String,
}

impl EventCatalogue {
    /// Reads and checks `asyncapi.yaml`.
    pub fn load(path: &Path) -> Result<Self, ContractError> {
        let fail = |reason: String| ContractError::Catalogue {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let doc: AsyncApi = serde_yaml_ng::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if !doc.asyncapi.starts_with("3.") {
            return Err(fail(format!(
                "expected an AsyncAPI 3 document, found version {}",
                doc.asyncapi
            )));
        }
        let mut entries = BTreeMap::new();
        for (name, message) in doc.components.messages {
            for service in std::iter::once(&message.producer).chain(&message.consumers) {
                if crate::Service::parse(service).is_none() {
                    let all: Vec<&str> = crate::Service::ALL.iter().map(|s| s.as_str()).collect();
                    return Err(fail(format!(
                        "message `{name}` names `{service}`, which is not one of the services {all:?}"
                    )));
                }
            }
            let payload_schema = match message.payload {
                Some(Ref { target }) if target.starts_with('#') || target.contains("://") => {
                    return Err(fail(format!(
                        "message `{name}`: payload must be a relative file reference, found `{target}`"
                    )));
                }
                Some(Ref { target }) => Some(PathBuf::from(target)),
                None => None,
            };
            let event_type = EventType::new(name);
            entries.insert(
                event_type.clone(),
                CatalogueEntry {
                    event_type,
                    producer: message.producer,
                    consumers: message.consumers,
                    key: message.key,
                    visibility: message.visibility,
                    payload_schema,
                },
            );
        }
        Ok(Self { entries })
    }

    /// The entry for a type, if catalogued.
    pub fn get(&self, event_type: &EventType) -> Option<&CatalogueEntry> {
        self.entries.get(event_type)
    }

    /// Every entry, in type order.
    pub fn entries(&self) -> impl Iterator<Item = &CatalogueEntry> {
        self.entries.values()
    }
}
