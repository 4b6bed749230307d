//! The fuzz targets' bodies. Each takes arbitrary bytes, feeds them to a
//! parser that meets outside input, and asserts what must hold whatever the
//! input: no panic, and a property of the answer (a parsed event survives
//! its own round trip; a decision names the rule set's version). `fuzz/`
//! wraps each in `libfuzzer-sys` (`make fuzz`); `tests/corpora.rs` replays
//! the committed corpora through them in CI.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use casework_contracts::{Event, SchemaRegistry};
use casework_products::ProductCatalogue;
use casework_rules::RuleSet;
use serde_json::Value;

/// A fuzz target's body: it panics when what must hold does not.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name of their folder under `fuzz/corpus/`.
pub const TARGETS: [(&str, Target); 4] = [
    ("mrz", mrz),
    ("cloudevent", cloudevent),
    ("rule_set", rule_set),
    ("application", application),
];

/// An MRZ as a passenger's document or an applicant's form gives it: any
/// text, lines split by newlines (ICAO 9303 zones have two or three).
pub fn mrz(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let on = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).expect("a date");
    let Ok(parsed) = casework_mrz::parse_on(&text, on) else {
        return;
    };
    // A zone that parses, written again from its fields, reads the same.
    let fields = casework_mrz::MrzFields::from(&parsed);
    let Ok(built) = casework_mrz::build(&fields, parsed.format) else {
        return;
    };
    let again = casework_mrz::parse_on(&built, on).expect("a built zone parses");
    assert_eq!(
        (
            &again.document_number,
            again.date_of_birth,
            again.date_of_expiry,
            &again.issuing_state,
            &again.nationality,
        ),
        (
            &parsed.document_number,
            parsed.date_of_birth,
            parsed.date_of_expiry,
            &parsed.issuing_state,
            &parsed.nationality,
        ),
        "rebuilding the zone changed it"
    );
}

/// A Kafka record as a consumer reads it: headers and a payload. The bytes
/// are `name=value` lines, the payload after the first empty line.
pub fn cloudevent(data: &[u8]) {
    let (head, payload) = split_at(data, b"\n\n");
    let headers: Vec<(&str, &[u8])> = head
        .split(|b| *b == b'\n')
        .filter_map(|line| {
            let at = line.iter().position(|b| *b == b'=')?;
            let name = std::str::from_utf8(&line[..at]).ok()?;
            Some((name, &line[at + 1..]))
        })
        .collect();
    let Ok(event) = Event::from_kafka(headers.iter().map(|(n, v)| (*n, Some(*v))), payload) else {
        return;
    };
    // What was read is written back the same and reads back equal.
    let record = event.to_kafka();
    let again = Event::from_kafka(
        record
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v.as_slice()))),
        Some(&record.payload),
    )
    .expect("an event's own record reads back");
    assert_eq!(again, event, "round trip changed the event");
}

/// A rule set as an author writes it (TOML), then evidence (JSON) after a
/// NUL byte: a set that loads decides on any evidence, under its version.
pub fn rule_set(data: &[u8]) {
    let (toml, evidence) = split_at(data, b"\0");
    let Ok(text) = std::str::from_utf8(toml) else {
        return;
    };
    let Ok(set) = RuleSet::from_toml(text, "fuzz") else {
        return;
    };
    let evidence: Value = serde_json::from_slice(evidence.unwrap_or_default()).unwrap_or_default();
    let decided = set.evaluate(&evidence);
    assert_eq!(decided.rule_set_version, set.version);
}

/// An application as the public sends it: any JSON, checked against every
/// shipped product's application schema (Register's intake does the same).
pub fn application(data: &[u8]) {
    let Ok(application) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (products, registry) = shipped();
    for product in products.products() {
        let _ = registry.validate(&product.application_schema_id, &application);
    }
}

/// The shipped products and the schema registry with their schemas, loaded once.
fn shipped() -> &'static (ProductCatalogue, SchemaRegistry) {
    static SHIPPED: OnceLock<(ProductCatalogue, SchemaRegistry)> = OnceLock::new();
    SHIPPED.get_or_init(|| {
        let root = workspace();
        let products = ProductCatalogue::load(&root.join("config/products")).expect("products");
        let registry =
            SchemaRegistry::load(&root.join("schemas"), &products.schema_files()).expect("schemas");
        (products, registry)
    })
}

/// The repository's root (this crate is `libs/fuzzing`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn split_at<'a>(data: &'a [u8], separator: &[u8]) -> (&'a [u8], Option<&'a [u8]>) {
    match data
        .windows(separator.len())
        .position(|window| window == separator)
    {
        Some(at) => (&data[..at], Some(&data[at + separator.len()..])),
        None => (data, None),
    }
}
