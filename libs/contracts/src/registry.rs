//! The schema registry: every JSON Schema (2020-12) of the platform, compiled
//! once at start, and the validation of every event against its type's schema.
//!
//! Schemas are files under `schemas/` (and any further files a product
//! definition names). Each file carries an absolute `$id`; `$ref`s between
//! files resolve by those ids from memory. Nothing is ever fetched: the ids use
//! the reserved `.invalid` domain, and retrieval is switched off, so a `$ref`
//! to a schema that was not loaded is a start-up error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Resource, Validator};
use serde_json::Value;

use crate::catalogue::EventCatalogue;
use crate::envelope::{Event, EventType};
use crate::error::{ContractError, FieldError};

/// Compiled schemas by `$id`, and which schema each event type's payload follows.
pub struct SchemaRegistry {
    validators: HashMap<String, Validator>,
    event_schemas: HashMap<EventType, String>,
    catalogue: EventCatalogue,
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("schemas", &self.validators.len())
            .field("event_types", &self.event_schemas.len())
            .finish()
    }
}

/// One schema document read from disk.
struct Document {
    path: PathBuf,
    id: String,
    contents: Value,
}

impl SchemaRegistry {
    /// Loads `schema_dir/asyncapi.yaml`, every `*.json` schema below
    /// `schema_dir` (skipping `examples/` folders), and the `extra` files; then
    /// compiles each once.
    pub fn load(schema_dir: &Path, extra: &[PathBuf]) -> Result<Self, ContractError> {
        let catalogue_path = schema_dir.join("asyncapi.yaml");
        let catalogue = EventCatalogue::load(&catalogue_path)?;

        let mut files = Vec::new();
        collect_schema_files(schema_dir, &mut files)?;
        files.extend(extra.iter().cloned());
        // The same file may be reached by two paths (a product naming a file under schemas/).
        let mut files: Vec<PathBuf> = files.iter().map(|f| canonical(f)).collect();
        files.sort();
        files.dedup();
        let documents = files
            .iter()
            .map(|path| read_document(path))
            .collect::<Result<Vec<_>, _>>()?;

        let mut by_path = HashMap::new();
        let mut by_id: HashMap<&str, &Path> = HashMap::new();
        for doc in &documents {
            if let Some(other) = by_id.insert(&doc.id, &doc.path) {
                return Err(ContractError::SchemaLoad {
                    path: doc.path.clone(),
                    reason: format!("$id `{}` is also used by {}", doc.id, other.display()),
                });
            }
            by_path.insert(canonical(&doc.path), doc.id.clone());
        }

        let registry = jsonschema::Registry::new()
            .draft(Draft::Draft202012)
            .extend(documents.iter().map(|doc| {
                (
                    doc.id.as_str(),
                    Resource::from_contents(doc.contents.clone()),
                )
            }))
            .and_then(|builder| builder.prepare())
            .map_err(|e| ContractError::SchemaLoad {
                path: schema_dir.to_owned(),
                reason: e.to_string(),
            })?;

        let mut validators = HashMap::new();
        for doc in &documents {
            let validator = jsonschema::options()
                .with_draft(Draft::Draft202012)
                .should_validate_formats(true)
                .offline()
                .with_registry(&registry)
                .build(&doc.contents)
                .map_err(|e| ContractError::SchemaLoad {
                    path: doc.path.clone(),
                    reason: e.to_string(),
                })?;
            validators.insert(doc.id.clone(), validator);
        }

        let catalogue_dir = catalogue_path.parent().unwrap_or(schema_dir);
        let mut event_schemas = HashMap::new();
        for entry in catalogue.entries() {
            let Some(relative) = &entry.payload_schema else {
                continue;
            };
            let path = catalogue_dir.join(relative);
            let id = by_path
                .get(&canonical(&path))
                .ok_or_else(|| ContractError::Catalogue {
                    path: catalogue_path.clone(),
                    reason: format!(
                        "`{}` names payload {}, which is not a loaded schema file",
                        entry.event_type,
                        path.display()
                    ),
                })?;
            event_schemas.insert(entry.event_type.clone(), id.clone());
        }

        tracing::debug!(
            schemas = validators.len(),
            event_types = event_schemas.len(),
            "schema registry loaded"
        );
        Ok(Self {
            validators,
            event_schemas,
            catalogue,
        })
    }

    /// The catalogue the registry was loaded with.
    pub fn catalogue(&self) -> &EventCatalogue {
        &self.catalogue
    }

    /// The `$id` of the payload schema of an event type.
    pub fn event_schema_id(&self, event_type: &EventType) -> Result<&str, ContractError> {
        self.event_schemas
            .get(event_type)
            .map(String::as_str)
            .ok_or_else(|| ContractError::UnknownEventType(event_type.to_string()))
    }

    /// Whether a schema with this `$id` is loaded.
    pub fn contains(&self, schema_id: &str) -> bool {
        self.validators.contains_key(schema_id)
    }

    /// Validates a document against the schema with this `$id`, listing every failing field.
    pub fn validate(&self, schema_id: &str, instance: &Value) -> Result<(), ContractError> {
        let validator = self
            .validators
            .get(schema_id)
            .ok_or_else(|| ContractError::UnknownSchema(schema_id.to_owned()))?;
        // The fast path: most documents are valid, and `is_valid` short-circuits.
        if validator.is_valid(instance) {
            return Ok(());
        }
        let errors = validator
            .iter_errors(instance)
            .map(|error| FieldError {
                pointer: error.instance_path().to_string(),
                message: error.to_string(),
            })
            .collect();
        Err(ContractError::SchemaViolation {
            schema: schema_id.to_owned(),
            errors,
        })
    }

    /// Checks an event against the catalogue and its payload schema, and fills
    /// in its `dataschema` if the producer left it empty.
    ///
    /// Called when an event is produced (before it reaches the outbox) and when
    /// it is consumed (before any handler sees it).
    pub fn validate_event(&self, event: &mut Event) -> Result<(), ContractError> {
        let schema_id = self.event_schema_id(&event.event_type)?;
        match &event.data_schema {
            Some(named) if named != schema_id => {
                return Err(ContractError::DataSchemaMismatch {
                    event_type: event.event_type.to_string(),
                    expected: schema_id.to_owned(),
                    found: named.clone(),
                });
            }
            Some(_) => {}
            None => event.data_schema = Some(schema_id.to_owned()),
        }
        self.validate(schema_id, &event.data)
    }
}

fn collect_schema_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ContractError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ContractError::SchemaLoad {
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    for entry in entries {
        let path = entry
            .map_err(|e| ContractError::SchemaLoad {
                path: dir.to_owned(),
                reason: e.to_string(),
            })?
            .path();
        if path.is_dir() {
            // Example documents are test data, not schemas.
            if path.file_name().is_some_and(|name| name != "examples") {
                collect_schema_files(&path, out)?;
            }
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_document(path: &Path) -> Result<Document, ContractError> {
    let fail = |reason: String| ContractError::SchemaLoad {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let contents: Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let id = contents
        .get("$id")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("has no \"$id\": every schema needs an absolute $id".into()))?
        .to_owned();
    if !id.starts_with("https://") {
        return Err(fail(format!("$id `{id}` must be an absolute https URI")));
    }
    Ok(Document {
        path: path.to_owned(),
        id,
        contents,
    })
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The repository's real `schemas/` folder.
    fn shipped() -> SchemaRegistry {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        SchemaRegistry::load(&dir, &[]).expect("shipped schemas load")
    }

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    fn received(data: Value) -> Event {
        Event::new(
            "/casework/register",
            EventType::new("application.received.v1"),
            "0190f1c2-7d3e-7c4a-9a51-3f6a2b1c9d00",
            data,
        )
    }

    fn valid_payload() -> Value {
        json!({
            "case_id": "0190f1c2-7d3e-7c4a-9a51-3f6a2b1c9d00",
            "reference": "VV-7KQ4-M2XD-P",
            "product": "visit-visa",
            "received_at": "2026-11-22T09:30:00Z",
            "channel": "online"
        })
    }

    #[test]
    fn shipped_schemas_load_and_a_valid_event_passes_and_gets_its_dataschema() {
        let registry = shipped();
        let mut event = received(valid_payload());
        registry.validate_event(&mut event).unwrap();
        assert_eq!(
            event.data_schema.as_deref(),
            Some("https://casework.invalid/schemas/events/application.received.v1.json")
        );
    }

    #[test]
    fn invalid_payload_names_each_failing_field() {
        let registry = shipped();
        let mut data = valid_payload();
        data["reference"] = json!("not a reference");
        data["received_at"] = json!("last tuesday");
        data.as_object_mut().unwrap().remove("product");
        let err = registry.validate_event(&mut received(data)).unwrap_err();
        let ContractError::SchemaViolation { errors, .. } = err else {
            panic!("expected a schema violation, got {err}");
        };
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert!(pointers.contains(&"/reference"), "{errors:?}");
        assert!(pointers.contains(&"/received_at"), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.pointer.is_empty() && e.message.contains("product")),
            "{errors:?}"
        );
    }

    #[test]
    fn uncatalogued_type_and_mismatched_dataschema_are_refused() {
        let registry = shipped();
        let mut event = received(valid_payload());
        event.event_type = EventType::new("application.teleported.v1");
        assert!(matches!(
            registry.validate_event(&mut event),
            Err(ContractError::UnknownEventType(_))
        ));
        let mut event = received(valid_payload());
        event.data_schema = Some("https://casework.invalid/schemas/events/other.json".into());
        assert!(matches!(
            registry.validate_event(&mut event),
            Err(ContractError::DataSchemaMismatch { .. })
        ));
    }

    #[test]
    fn refs_resolve_across_files_by_id() {
        let dir = fixtures().join("cross-ref");
        let registry = SchemaRegistry::load(&dir, &[]).unwrap();
        let id = "https://casework.invalid/schemas/test/person.json";
        registry
            .validate(id, &json!({"name": "Ada", "born": "1815-12-10"}))
            .unwrap();
        let err = registry
            .validate(id, &json!({"name": "Ada", "born": "December"}))
            .unwrap_err();
        assert!(err.to_string().contains("/born"), "{err}");
    }

    #[test]
    fn extra_files_named_by_a_product_are_loaded_too() {
        let dir = fixtures().join("cross-ref");
        let extra = fixtures().join("extra/pet.json");
        let registry = SchemaRegistry::load(&dir, &[extra]).unwrap();
        assert!(registry.contains("https://casework.invalid/schemas/test/pet.json"));
        registry
            .validate(
                "https://casework.invalid/schemas/test/pet.json",
                &json!({"owner": {"name": "Ada", "born": "1815-12-10"}}),
            )
            .unwrap();
    }

    #[test]
    fn a_ref_to_a_schema_that_was_not_loaded_fails_at_start_without_fetching() {
        let err = SchemaRegistry::load(&fixtures().join("dangling-ref"), &[]).unwrap_err();
        assert!(matches!(err, ContractError::SchemaLoad { .. }), "{err}");
    }

    #[test]
    fn a_schema_without_an_id_is_refused_with_its_path() {
        let err = SchemaRegistry::load(&fixtures().join("no-id"), &[]).unwrap_err();
        assert!(err.to_string().contains("anonymous.json"), "{err}");
    }

    #[test]
    fn every_catalogued_payload_schema_exists_and_every_service_is_known() {
        let registry = shipped();
        let catalogue = registry.catalogue();
        assert!(catalogue.entries().count() >= 20, "DESIGN.md's event types");
        for entry in catalogue.entries() {
            if entry.payload_schema.is_some() {
                registry.event_schema_id(&entry.event_type).unwrap();
            }
            assert!(entry.topic().starts_with("casework."));
        }
    }
}
