//! The one error type of the contracts crate.

use std::path::PathBuf;

use serde::Serialize;

/// One failing field of a payload, as a JSON Pointer into the instance.
///
/// This is what a problem+json response lists and what a dead-letter header
/// carries, so a reader can find the offending field without the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// JSON Pointer to the field in the payload (`""` is the whole document).
    pub pointer: String,
    /// What is wrong with it, in plain words.
    pub message: String,
}

impl FieldError {
    /// A field error at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at}: {}", self.message)
    }
}

/// Everything that can be wrong with an event or a schema.
///
/// Every variant except [`ContractError::SchemaLoad`] and
/// [`ContractError::Catalogue`] describes bad *input*: a consumer treats them
/// as permanent failures (dead-letter the record, move on).
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// A required CloudEvents header is absent.
    #[error("missing CloudEvents header `{0}`")]
    MissingHeader(&'static str),
    /// A header is present but not usable (not UTF-8, bad timestamp, ...).
    #[error("invalid CloudEvents header `{name}`: {reason}")]
    InvalidHeader {
        /// Header name.
        name: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The record is not a CloudEvents 1.0 event.
    #[error("unsupported CloudEvents specversion `{0}` (expected 1.0)")]
    UnsupportedSpecVersion(String),
    /// The payload is not JSON.
    #[error("unsupported content type `{0}` (expected application/json)")]
    UnsupportedContentType(String),
    /// The payload could not be parsed as JSON.
    #[error("payload is not valid JSON: {0}")]
    MalformedPayload(String),
    /// The event type is not in `schemas/asyncapi.yaml`, or has no payload schema yet.
    #[error(
        "unknown event type `{0}`: it is not catalogued with a payload schema in schemas/asyncapi.yaml"
    )]
    UnknownEventType(String),
    /// A schema id was asked for that the registry does not hold.
    #[error("unknown schema `{0}`")]
    UnknownSchema(String),
    /// The event says it follows a different schema than the one its type is catalogued with.
    #[error(
        "event type `{event_type}` is catalogued with schema `{expected}` but the event names `{found}`"
    )]
    DataSchemaMismatch {
        /// The event type.
        event_type: String,
        /// The schema the catalogue names.
        expected: String,
        /// The schema the event names.
        found: String,
    },
    /// The payload does not validate against its schema.
    #[error("payload does not match schema `{schema}`: {}", join(errors))]
    SchemaViolation {
        /// The `$id` of the schema.
        schema: String,
        /// Every failing field.
        errors: Vec<FieldError>,
    },
    /// A schema file could not be read, parsed or compiled (a start-up error).
    #[error("schema file {path}: {reason}")]
    SchemaLoad {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// `asyncapi.yaml` could not be read or is inconsistent (a start-up error).
    #[error("event catalogue {path}: {reason}")]
    Catalogue {
        /// The catalogue file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
