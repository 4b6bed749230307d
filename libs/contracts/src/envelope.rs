//! The CloudEvents 1.0 envelope and its Kafka protocol binding in binary mode.
//!
//! In binary mode the event attributes travel as record headers (`ce_id`,
//! `ce_source`, `ce_type`, ...), the payload is the record value, and the record
//! key is the aggregate id (our `ce_subject`), so one aggregate's events stay in
//! order on one partition. W3C `traceparent`/`tracestate` ride alongside.
//!
//! Written here rather than taken from `cloudevents-sdk`: that crate's Kafka
//! binding pins an older rdkafka built with cmake, which would put a second
//! librdkafka in the build; the mapping itself is a page of code.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ContractError;

/// The only CloudEvents version spoken.
pub const SPEC_VERSION: &str = "1.0";
/// The only payload content type spoken.
pub const CONTENT_TYPE: &str = "application/json";

/// Header names of the binary-mode Kafka binding.
pub mod headers {
    /// `specversion`.
    pub const SPEC_VERSION: &str = "ce_specversion";
    /// `id`.
    pub const ID: &str = "ce_id";
    /// `source`.
    pub const SOURCE: &str = "ce_source";
    /// `type`.
    pub const TYPE: &str = "ce_type";
    /// `time`.
    pub const TIME: &str = "ce_time";
    /// `subject`: the aggregate id, also the record key.
    pub const SUBJECT: &str = "ce_subject";
    /// `dataschema`: the `$id` of the payload schema.
    pub const DATA_SCHEMA: &str = "ce_dataschema";
    /// `datacontenttype` maps to the plain `content-type` header.
    pub const CONTENT_TYPE: &str = "content-type";
    /// W3C trace context.
    pub const TRACEPARENT: &str = "traceparent";
    /// W3C trace state.
    pub const TRACESTATE: &str = "tracestate";
}

/// The CloudEvents `id`: unique per event, the inbox's de-duplication key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl EventId {
    /// A new, time-ordered id (UUIDv7).
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for EventId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A catalogued event type with its version, e.g. `application.received.v1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventType(String);

impl EventType {
    /// Wraps a type name; whether it is catalogued is checked by the registry.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The type name as it appears in `ce_type`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One platform event: CloudEvents attributes plus a JSON payload.
///
/// Serialises (for the outbox) in the CloudEvents JSON structured format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// `id`.
    pub id: EventId,
    /// `source`: the producing service, e.g. `/casework/register`.
    pub source: String,
    /// `type`.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// `time`: when the fact happened.
    pub time: DateTime<Utc>,
    /// `subject`: the aggregate id (case id, person id, ...); also the record key.
    pub subject: String,
    /// `dataschema`: `$id` of the payload schema, filled in by the registry.
    #[serde(
        rename = "dataschema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub data_schema: Option<String>,
    /// W3C `traceparent` of the work that produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// W3C `tracestate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// The payload.
    pub data: Value,
}

/// One Kafka header as bytes on the wire.
pub type KafkaHeader = (String, Vec<u8>);

/// An event laid out as a Kafka record in binary mode.
#[derive(Debug, Clone, PartialEq)]
pub struct KafkaRecord {
    /// Record key: the aggregate id.
    pub key: String,
    /// CloudEvents and trace headers.
    pub headers: Vec<KafkaHeader>,
    /// JSON payload.
    pub payload: Vec<u8>,
}

impl Event {
    /// A new event about `subject`, happening now, with a fresh id.
    pub fn new(
        source: impl Into<String>,
        event_type: EventType,
        subject: impl Into<String>,
        data: Value,
    ) -> Self {
        Self {
            id: EventId::new(),
            source: source.into(),
            event_type,
            // Microseconds: what `ce_time` carries, so the outbox and the wire agree.
            time: Utc::now().trunc_subsecs(6),
            subject: subject.into(),
            data_schema: None,
            traceparent: None,
            tracestate: None,
            data,
        }
    }

    /// Attaches W3C trace context.
    pub fn with_traceparent(mut self, traceparent: impl Into<String>) -> Self {
        self.traceparent = Some(traceparent.into());
        self
    }

    /// Lays the event out as a binary-mode Kafka record.
    pub fn to_kafka(&self) -> KafkaRecord {
        let mut headers: Vec<KafkaHeader> = vec![
            (headers::SPEC_VERSION.into(), SPEC_VERSION.into()),
            (headers::ID.into(), self.id.to_string().into_bytes()),
            (headers::SOURCE.into(), self.source.clone().into_bytes()),
            (headers::TYPE.into(), self.event_type.0.clone().into_bytes()),
            (
                headers::TIME.into(),
                self.time
                    .to_rfc3339_opts(SecondsFormat::Micros, true)
                    .into_bytes(),
            ),
            (headers::SUBJECT.into(), self.subject.clone().into_bytes()),
            (headers::CONTENT_TYPE.into(), CONTENT_TYPE.into()),
        ];
        let optional = [
            (headers::DATA_SCHEMA, &self.data_schema),
            (headers::TRACEPARENT, &self.traceparent),
            (headers::TRACESTATE, &self.tracestate),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                headers.push((name.into(), value.clone().into_bytes()));
            }
        }
        KafkaRecord {
            key: self.subject.clone(),
            headers,
            // Serialising a `Value` cannot fail.
            payload: serde_json::to_vec(&self.data).unwrap_or_default(),
        }
    }

    /// Reads a binary-mode Kafka record back into an event.
    ///
    /// Refuses anything that is not a CloudEvents 1.0 JSON event; the payload's
    /// schema is checked separately by [`crate::SchemaRegistry::validate_event`].
    pub fn from_kafka<'a>(
        headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
        payload: Option<&[u8]>,
    ) -> Result<Self, ContractError> {
        let mut found = Found::default();
        for (name, value) in headers {
            let Some(value) = value else { continue };
            let slot = match name {
                headers::SPEC_VERSION => &mut found.spec_version,
                headers::ID => &mut found.id,
                headers::SOURCE => &mut found.source,
                headers::TYPE => &mut found.event_type,
                headers::TIME => &mut found.time,
                headers::SUBJECT => &mut found.subject,
                headers::DATA_SCHEMA => &mut found.data_schema,
                headers::CONTENT_TYPE => &mut found.content_type,
                headers::TRACEPARENT => &mut found.traceparent,
                headers::TRACESTATE => &mut found.tracestate,
                _ => continue,
            };
            *slot = Some(utf8(name, value)?);
        }

        let spec_version = found
            .spec_version
            .ok_or(ContractError::MissingHeader(headers::SPEC_VERSION))?;
        if spec_version != SPEC_VERSION {
            return Err(ContractError::UnsupportedSpecVersion(spec_version));
        }
        let content_type = found
            .content_type
            .ok_or(ContractError::MissingHeader(headers::CONTENT_TYPE))?;
        // Parameters such as `; charset=utf-8` are allowed.
        if content_type.split(';').next().map(str::trim) != Some(CONTENT_TYPE) {
            return Err(ContractError::UnsupportedContentType(content_type));
        }
        let id = found.id.ok_or(ContractError::MissingHeader(headers::ID))?;
        let id = Uuid::parse_str(&id).map_err(|e| ContractError::InvalidHeader {
            name: headers::ID,
            reason: format!("`{id}` is not a UUID: {e}"),
        })?;
        let time = found
            .time
            .ok_or(ContractError::MissingHeader(headers::TIME))?;
        let time = DateTime::parse_from_rfc3339(&time)
            .map_err(|e| ContractError::InvalidHeader {
                name: headers::TIME,
                reason: format!("`{time}` is not an RFC 3339 timestamp: {e}"),
            })?
            .with_timezone(&Utc);
        let data = serde_json::from_slice(payload.unwrap_or_default())
            .map_err(|e| ContractError::MalformedPayload(e.to_string()))?;

        Ok(Self {
            id: EventId(id),
            source: found
                .source
                .ok_or(ContractError::MissingHeader(headers::SOURCE))?,
            event_type: EventType(
                found
                    .event_type
                    .ok_or(ContractError::MissingHeader(headers::TYPE))?,
            ),
            time,
            subject: found
                .subject
                .ok_or(ContractError::MissingHeader(headers::SUBJECT))?,
            data_schema: found.data_schema,
            traceparent: found.traceparent,
            tracestate: found.tracestate,
            data,
        })
    }
}

#[derive(Default)]
struct Found {
    spec_version: Option<String>,
    id: Option<String>,
    source: Option<String>,
    event_type: Option<String>,
    time: Option<String>,
    subject: Option<String>,
    data_schema: Option<String>,
    content_type: Option<String>,
    traceparent: Option<String>,
    tracestate: Option<String>,
}

fn utf8(name: &str, value: &[u8]) -> Result<String, ContractError> {
    String::from_utf8(value.to_vec()).map_err(|_| ContractError::InvalidHeader {
        name: header_name(name),
        reason: "not UTF-8".into(),
    })
}

/// The static name of a known header, for error messages.
fn header_name(name: &str) -> &'static str {
    [
        headers::SPEC_VERSION,
        headers::ID,
        headers::SOURCE,
        headers::TYPE,
        headers::TIME,
        headers::SUBJECT,
        headers::DATA_SCHEMA,
        headers::CONTENT_TYPE,
        headers::TRACEPARENT,
        headers::TRACESTATE,
    ]
    .into_iter()
    .find(|known| *known == name)
    .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Event {
        Event::new(
            "/casework/register",
            EventType::new("application.received.v1"),
            "case-123",
            json!({"reference": "VV-ABC"}),
        )
        .with_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    }

    fn borrow(record: &KafkaRecord) -> Vec<(&str, Option<&[u8]>)> {
        record
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
            .collect()
    }

    #[test]
    fn header_round_trip_keeps_every_attribute_and_trace_context() {
        let mut event = sample();
        event.data_schema = Some("https://casework.invalid/schemas/events/x.json".into());
        event.tracestate = Some("vendor=1".into());
        let record = event.to_kafka();
        assert_eq!(record.key, "case-123");
        let back = Event::from_kafka(borrow(&record), Some(&record.payload)).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn binary_mode_uses_the_binding_header_names() {
        let record = sample().to_kafka();
        let names: Vec<&str> = record.headers.iter().map(|(k, _)| k.as_str()).collect();
        for expected in [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_subject",
            "content-type",
            "traceparent",
        ] {
            assert!(names.contains(&expected), "missing {expected}: {names:?}");
        }
    }

    #[test]
    fn missing_id_is_refused_by_name() {
        let record = sample().to_kafka();
        let headers: Vec<_> = borrow(&record)
            .into_iter()
            .filter(|(k, _)| *k != "ce_id")
            .collect();
        let err = Event::from_kafka(headers, Some(&record.payload)).unwrap_err();
        assert!(
            matches!(err, ContractError::MissingHeader("ce_id")),
            "{err}"
        );
    }

    #[test]
    fn wrong_spec_version_bad_time_and_bad_json_are_refused() {
        let record = sample().to_kafka();
        let with = |name: &str, value: &'static [u8]| {
            borrow(&record)
                .into_iter()
                .map(|(k, v)| if k == name { (k, Some(value)) } else { (k, v) })
                .collect::<Vec<_>>()
        };
        let err = Event::from_kafka(with("ce_specversion", b"0.3"), Some(&record.payload));
        assert!(matches!(err, Err(ContractError::UnsupportedSpecVersion(v)) if v == "0.3"));
        let err = Event::from_kafka(with("ce_time", b"yesterday"), Some(&record.payload));
        assert!(matches!(
            err,
            Err(ContractError::InvalidHeader {
                name: "ce_time",
                ..
            })
        ));
        let err = Event::from_kafka(with("content-type", b"text/xml"), Some(&record.payload));
        assert!(matches!(err, Err(ContractError::UnsupportedContentType(_))));
        let err = Event::from_kafka(borrow(&record), Some(b"{not json"));
        assert!(matches!(err, Err(ContractError::MalformedPayload(_))));
        let err = Event::from_kafka(with("ce_id", b"\xff\xfe"), Some(&record.payload));
        assert!(matches!(
            err,
            Err(ContractError::InvalidHeader { name: "ce_id", .. })
        ));
    }

    #[test]
    fn structured_json_form_round_trips_for_the_outbox() {
        let event = sample();
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains("\"type\":\"application.received.v1\""));
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
    }
}
