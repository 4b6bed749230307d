//! Every event type has a Rust type, every schema has examples, and the two
//! agree: each example validates against its schema, reads into its type
//! and writes back unchanged, and what the type writes validates too.
//!
//! And the schemas evolve compatibly: open to additions (no
//! `additionalProperties: false` anywhere in an event schema), and against
//! the committed snapshot (`tests/snapshots/events/`) no property removed or
//! changed and nothing newly required. A compatible change updates the
//! snapshot; anything else is a new `.v2` type.

use std::path::{Path, PathBuf};

use casework_contracts::payloads::*;
use casework_contracts::{Event, EventType, SchemaRegistry};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn schema_of(event_type: &str) -> Value {
    let path = schemas().join(format!("events/{event_type}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("schema")).expect("JSON")
}

/// Each example of `P`'s schema: valid, read into `P`, written back equal,
/// and what `P` writes is a valid event.
fn round_trip<P: Payload + Serialize + DeserializeOwned>(registry: &SchemaRegistry) -> usize {
    let examples = schema_of(P::TYPE)["examples"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!examples.is_empty(), "{} has no examples", P::TYPE);
    for example in &examples {
        let mut event = Event::new("test", EventType::new(P::TYPE), "key", example.clone());
        registry
            .validate_event(&mut event)
            .unwrap_or_else(|e| panic!("{} example invalid: {e}", P::TYPE));
        let typed: P = event
            .payload()
            .unwrap_or_else(|e| panic!("{} example: {e}", P::TYPE));
        let written = serde_json::to_value(&typed).expect("serialise");
        assert_eq!(&written, example, "{} does not round-trip", P::TYPE);
        let mut built = Event::of("test", &typed);
        registry
            .validate_event(&mut built)
            .unwrap_or_else(|e| panic!("{} as built: {e}", P::TYPE));
        assert_eq!(built.subject, typed.key());
    }
    examples.len()
}

#[test]
fn every_event_type_has_a_type_and_examples_that_round_trip() {
    let registry = SchemaRegistry::load(&schemas(), &[]).expect("schemas");
    let checked = [
        round_trip::<ApplicationReceived>(&registry),
        round_trip::<IdentifyRequested>(&registry),
        round_trip::<InvestigateRequested>(&registry),
        round_trip::<DecideRequested>(&registry),
        round_trip::<EnforceRequested>(&registry),
        round_trip::<FulfilRequested>(&registry),
        round_trip::<CommunicateRequested>(&registry),
        round_trip::<CaseStuck>(&registry),
        round_trip::<CaseClosed>(&registry),
        round_trip::<IdentityEstablished>(&registry),
        round_trip::<PersonMerged>(&registry),
        round_trip::<PersonSplit>(&registry),
        round_trip::<InvestigationCompleted>(&registry),
        round_trip::<WatchlistEntryAdded>(&registry),
        round_trip::<DecisionMade>(&registry),
        round_trip::<DecisionReferred>(&registry),
        round_trip::<EnforcementActioned>(&registry),
        round_trip::<AlertRaised>(&registry),
        round_trip::<DocumentIssued>(&registry),
        round_trip::<NotificationSent>(&registry),
    ];
    // Every catalogued type with a schema is one of the above.
    let with_schema = registry
        .catalogue()
        .entries()
        .filter(|e| e.payload_schema.is_some())
        .count();
    assert_eq!(
        checked.len(),
        with_schema,
        "a catalogued type has no Rust type here"
    );
}

#[test]
fn a_payload_of_another_type_is_refused() {
    let closed = Event::new(
        "test",
        EventType::new("case.closed.v1"),
        "k",
        serde_json::json!({}),
    );
    let err = closed.payload::<CaseStuck>().unwrap_err();
    assert!(err.contains("is not a case.stuck.v1"), "{err}");
}

/// Every `additionalProperties: false` in `node`, by JSON Pointer.
fn closed_objects(node: &Value, at: &str, found: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                found.push(at.to_owned());
            }
            for (key, value) in map {
                closed_objects(value, &format!("{at}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                closed_objects(value, &format!("{at}/{i}"), found);
            }
        }
        _ => {}
    }
}

/// Why `now` is not a compatible evolution of `then` (empty when it is):
/// every keyword that constrains values is unchanged, every property is
/// still there and compatible, and nothing new is required. Descriptions,
/// titles and examples may change; new optional properties may come.
fn incompatibilities(then: &Value, now: &Value, at: &str, out: &mut Vec<String>) {
    const FREE: [&str; 4] = ["description", "title", "examples", "$comment"];
    let (Value::Object(then), Value::Object(now)) = (then, now) else {
        if then != now {
            out.push(format!("{at}: {then} became {now}"));
        }
        return;
    };
    for (key, old) in then {
        if FREE.contains(&key.as_str()) {
            continue;
        }
        let here = format!("{at}/{key}");
        match (key.as_str(), now.get(key)) {
            (_, None) => out.push(format!("{here}: removed")),
            ("properties" | "$defs", Some(new)) => {
                for (name, schema) in old.as_object().into_iter().flatten() {
                    match new.get(name) {
                        None => out.push(format!("{here}/{name}: removed")),
                        Some(current) => {
                            incompatibilities(schema, current, &format!("{here}/{name}"), out)
                        }
                    }
                }
            }
            (_, Some(new)) => incompatibilities(old, new, &here, out),
        }
    }
    for key in now.keys() {
        if !then.contains_key(key) && !FREE.contains(&key.as_str()) && key != "properties" {
            // A new constraint (a new `required`, a `pattern`...) narrows what was valid.
            out.push(format!("{at}/{key}: added"));
        }
    }
}

#[test]
fn event_schemas_are_open_to_additions_and_compatible_with_their_snapshot() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/events");
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(schemas().join("events")).expect("schemas/events") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        let now: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let mut closed = Vec::new();
        closed_objects(&now, "", &mut closed);
        problems.extend(
            closed
                .into_iter()
                .map(|at| format!("{name}{at}: additionalProperties false")),
        );
        match std::fs::read_to_string(snapshots.join(&name)) {
            Ok(text) => {
                let then: Value = serde_json::from_str(&text).expect("snapshot JSON");
                incompatibilities(&then, &now, &name, &mut problems);
            }
            Err(_) => problems.push(format!(
                "{name}: no snapshot; copy it to tests/snapshots/events/ once it is released"
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_compatibility_check_catches_what_breaks_a_consumer() {
    let then = serde_json::json!({
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"enum": ["x", "y"]}}
    });
    let check = |now: Value| {
        let mut out = Vec::new();
        incompatibilities(&then, &now, "s", &mut out);
        out
    };
    // Compatible: a new optional property, a new description.
    assert!(
        check(serde_json::json!({
            "type": "object", "description": "more",
            "required": ["a"],
            "properties": {"a": {"type": "string"}, "b": {"enum": ["x", "y"]}, "c": {"type": "integer"}}
        }))
        .is_empty()
    );
    // Not: removed, retyped, newly required, narrowed.
    for broken in [
        serde_json::json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}),
        serde_json::json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {"enum": ["x", "y"]}}}),
        serde_json::json!({"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"enum": ["x", "y"]}}}),
        serde_json::json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "maxLength": 3}, "b": {"enum": ["x", "y"]}}}),
    ] {
        assert!(!check(broken.clone()).is_empty(), "{broken}");
    }
}
