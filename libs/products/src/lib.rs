//! Product definitions: a product (a visit visa, a passport renewal, a DBS
//! check, the next one) is data in `config/products/<id>.toml`, not code.
//!
//! This crate reads and checks them at start, with errors that name the file
//! and the field. It must never hold a product's behaviour: services read
//! what they need from a [`Product`] and act generically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// Why the product definitions could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    /// A definition file is unreadable or invalid.
    #[error("product definition {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// One product.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    /// The product's id, also its file name: `visit-visa`.
    pub id: String,
    /// Its name for people: "Visit visa".
    pub name: String,
    /// The first letters of its case references, e.g. `VV` in `VV-7KQ4-M2XD-P`.
    pub reference_prefix: String,
    /// The application form's JSON Schema, relative to the definition file.
    pub application_schema: PathBuf,
    /// Working days within which a decision is due.
    pub service_level_days: u32,
    /// Milestones at which the applicant is told, with the template of each
    /// (relative to the templates folder), e.g. `received = "visit-visa/received"`.
    pub notifications: BTreeMap<String, String>,
    /// Where the applicant's email is in the application (a JSON Pointer).
    pub applicant_email: String,
    /// Where the applicant's names and date of birth are (JSON Pointers), for
    /// case search, the templates and the checks' requests.
    pub applicant: ApplicantFields,
    /// The rule set (`config/rules/<id>/`) Decide applies to this product.
    pub rule_set: String,
    /// Outcomes of a caseworker's decision that a second person (a senior
    /// caseworker, not the one who decided) must approve: `["refuse"]`. The
    /// rules' own outcomes are not held.
    #[serde(default)]
    pub four_eyes: Vec<String>,
    /// The checks, stage by stage: stages run in order, the checks of a stage
    /// in parallel, and a stage ends when all its results are in.
    pub stages: Vec<Stage>,
    /// What happens on each outcome of the decision.
    pub outcomes: Outcomes,
    /// The application schema's `$id`, read from the file at load.
    #[serde(skip)]
    pub application_schema_id: String,
    /// The application schema itself, served to form builders.
    #[serde(skip)]
    pub application_schema_document: Value,
}

/// JSON Pointers to the applicant's identity in an application.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicantFields {
    /// Given names.
    pub given_names: String,
    /// Surname.
    pub surname: String,
    /// Date of birth.
    pub date_of_birth: String,
    /// Nationality (ICAO 3-letter code), if the form asks for it.
    #[serde(default)]
    pub nationality: Option<String>,
    /// Sex (`female`, `male`, `unspecified`), if the form asks for it: a
    /// document with an MRZ states it.
    #[serde(default)]
    pub sex: Option<String>,
    /// The identity document's MRZ lines (an array of strings), if the form
    /// asks for a document.
    #[serde(default)]
    pub document_mrz: Option<String>,
    /// The identity document's printed fields, if the form lets the
    /// applicant give them instead of the MRZ: the object holding `number`,
    /// `issuing_state`, `issue_date` and `expiry_date` (`/passport`).
    #[serde(default)]
    pub document_printed: Option<String>,
}

/// The fields of the object `document_printed` points at.
pub const PRINTED_DOCUMENT_FIELDS: [&str; 4] =
    ["number", "issuing_state", "issue_date", "expiry_date"];

impl ApplicantFields {
    /// Every pointer, by its field name, the optional ones when given.
    fn pointers(&self) -> Vec<(&'static str, &str)> {
        let mut pointers = vec![
            ("given_names", self.given_names.as_str()),
            ("surname", self.surname.as_str()),
            ("date_of_birth", self.date_of_birth.as_str()),
        ];
        for (name, pointer) in [
            ("nationality", &self.nationality),
            ("sex", &self.sex),
            ("document_mrz", &self.document_mrz),
            ("document_printed", &self.document_printed),
        ] {
            if let Some(pointer) = pointer {
                pointers.push((name, pointer.as_str()));
            }
        }
        pointers
    }
}

/// The subschema a JSON Pointer into an application leads to, following
/// `properties` (and the `properties` of `anyOf`/`oneOf`/`allOf` branches);
/// `None` when the form has no such field.
fn schema_at<'a>(schema: &'a Value, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(schema, |node, token| {
        let token = token.replace("~1", "/").replace("~0", "~");
        let branches = ["anyOf", "oneOf", "allOf"]
            .iter()
            .filter_map(|k| node.get(*k).and_then(Value::as_array))
            .flatten();
        std::iter::once(node)
            .chain(branches)
            .find_map(|n| n.get("properties").and_then(|p| p.get(&token)))
    })
}

/// Checks that each of the product's pointers names a field of its
/// application schema, and that `document_printed` names an object with the
/// printed fields.
fn check_pointers(product: &Product, schema: &Value) -> Result<(), String> {
    let applicant = product
        .applicant
        .pointers()
        .into_iter()
        .map(|(name, pointer)| (format!("applicant.{name}"), pointer));
    let all = std::iter::once((
        "applicant_email".to_owned(),
        product.applicant_email.as_str(),
    ))
    .chain(applicant);
    for (field, pointer) in all {
        if schema_at(schema, pointer).is_none() {
            return Err(format!(
                "{field} `{pointer}`: no such field in the application schema"
            ));
        }
    }
    if let Some(pointer) = &product.applicant.document_printed {
        let object = schema_at(schema, pointer).unwrap_or(&Value::Null);
        let missing: Vec<&str> = PRINTED_DOCUMENT_FIELDS
            .into_iter()
            .filter(|name| {
                object
                    .get("properties")
                    .and_then(|p| p.get(*name))
                    .is_none()
            })
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "applicant.document_printed `{pointer}`: the object has no {}",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

/// The capabilities Register can ask for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Who the applicant is, and their document.
    Identify,
    /// Warnings index, criminal records, lost and stolen documents.
    Investigate,
    /// The decision on the evidence.
    Decide,
}

impl Capability {
    /// The service that does it; its name is also its request event's prefix.
    pub fn service(self) -> casework_contracts::Service {
        use casework_contracts::Service;
        match self {
            Self::Identify => Service::Identify,
            Self::Investigate => Service::Investigate,
            Self::Decide => Service::Decide,
        }
    }
}

/// A stage: checks that run in parallel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// The stage's id, unique in the product: `checks`, `decision`.
    pub id: String,
    /// Its checks.
    pub checks: Vec<Check>,
}

/// One check of a stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// The check's id, unique in the product; its result is the evidence
    /// under this name (`/identity/...` in the rules).
    pub id: String,
    /// Which capability does it.
    pub capability: Capability,
    /// How long its result may take before the case is marked stuck.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Parameters passed in the request, as the capability defines them.
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
}

fn default_timeout() -> u64 {
    300
}

/// What each decision leads to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcomes {
    /// On a grant.
    pub grant: OutcomeRoute,
    /// On a refusal.
    pub refuse: OutcomeRoute,
}

/// The work an outcome starts; the case closes when all of it is done.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRoute {
    /// Issue a document.
    #[serde(default)]
    pub fulfil: Option<FulfilRoute>,
    /// Record an enforcement action.
    #[serde(default)]
    pub enforce: Option<EnforceRoute>,
    /// The notification milestone to send (a key of `notifications`).
    #[serde(default)]
    pub notify: Option<String>,
}

/// The document to issue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FulfilRoute {
    /// The kind of document: `visa`, `passport`, `dbs-certificate`.
    pub document: String,
    /// Its machine-readable zone, if it has one: `TD3`, `MRV-A`.
    #[serde(default)]
    pub mrz_format: Option<String>,
    /// How long it is valid for.
    pub valid_for_days: u32,
    /// For a certificate of criminal records: what it discloses (`basic`:
    /// unspent convictions and conditional cautions only). Sent to Fulfil
    /// as `params.disclosure`.
    #[serde(default)]
    pub disclosure: Option<String>,
    /// The notification milestone to send once it is issued.
    #[serde(default)]
    pub notify: Option<String>,
}

/// The enforcement action to record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnforceRoute {
    /// What kind of action: `refusal-false-document`, ...
    pub action: String,
    /// Only when the rules that refused ask for it (a rule's `enforce`).
    #[serde(default = "yes")]
    pub only_if_rules_ask: bool,
}

fn yes() -> bool {
    true
}

/// Checks the stages and outcome routes hang together: unique ids, one
/// decision in the last stage on its own, milestones that exist.
fn check_process(product: &Product) -> Result<(), String> {
    let slug = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if product.stages.is_empty() {
        return Err("stages: a product needs at least its decision stage".into());
    }
    if let Some(outcome) = product
        .four_eyes
        .iter()
        .find(|o| !matches!(o.as_str(), "grant" | "refuse"))
    {
        return Err(format!(
            "four_eyes: `{outcome}` is not an outcome a caseworker decides (`grant` or `refuse`)"
        ));
    }
    let mut stage_ids = Vec::new();
    let mut check_ids = Vec::new();
    for stage in &product.stages {
        if !slug(&stage.id) || stage_ids.contains(&&stage.id) {
            return Err(format!(
                "stages: stage id `{}` must be unique, in lowercase letters, digits and hyphens",
                stage.id
            ));
        }
        stage_ids.push(&stage.id);
        if stage.checks.is_empty() {
            return Err(format!(
                "stages.{}: a stage needs at least one check",
                stage.id
            ));
        }
        for check in &stage.checks {
            // `application` is the evidence key of the form itself.
            if !slug(&check.id) || check_ids.contains(&&check.id) || check.id == "application" {
                return Err(format!(
                    "stages.{}: check id `{}` must be unique, not `application`, in lowercase letters, digits and hyphens",
                    stage.id, check.id
                ));
            }
            if check.timeout_seconds == 0 {
                return Err(format!(
                    "stages.{}.{}: timeout_seconds must be at least 1",
                    stage.id, check.id
                ));
            }
            check_ids.push(&check.id);
        }
    }
    let deciders: Vec<_> = product
        .stages
        .iter()
        .flat_map(|s| s.checks.iter().map(move |c| (s, c)))
        .filter(|(_, c)| c.capability == Capability::Decide)
        .collect();
    let last = product.stages.last().map(|s| &s.id);
    match deciders.as_slice() {
        [(stage, _)] if Some(&stage.id) == last && stage.checks.len() == 1 => {}
        _ => {
            return Err(
                "stages: exactly one `decide` check, alone in the last stage, is required".into(),
            );
        }
    }
    if !slug(&product.rule_set) {
        return Err(format!("rule_set `{}`: a rule set id", product.rule_set));
    }
    for (outcome, route) in [
        ("grant", &product.outcomes.grant),
        ("refuse", &product.outcomes.refuse),
    ] {
        let milestones = route
            .notify
            .iter()
            .chain(route.fulfil.iter().filter_map(|f| f.notify.as_ref()));
        for milestone in milestones {
            if !product.notifications.contains_key(milestone) {
                return Err(format!(
                    "outcomes.{outcome}: milestone `{milestone}` is not in notifications"
                ));
            }
        }
        if let Some(format) = route.fulfil.as_ref().and_then(|f| f.mrz_format.as_deref())
            && !["TD1", "TD3", "MRV-A"].contains(&format)
        {
            return Err(format!(
                "outcomes.{outcome}.fulfil.mrz_format `{format}`: TD1, TD3 or MRV-A"
            ));
        }
        if let Some(level) = route.fulfil.as_ref().and_then(|f| f.disclosure.as_deref())
            && casework_disclosure::Level::parse(level).is_none()
        {
            let known: Vec<&str> = casework_disclosure::Level::ALL
                .iter()
                .map(|(_, name)| *name)
                .collect();
            return Err(format!(
                "outcomes.{outcome}.fulfil.disclosure `{level}`: one of {}",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Every product, by id.
#[derive(Debug, Clone, Default)]
pub struct ProductCatalogue {
    products: BTreeMap<String, Product>,
}

impl ProductCatalogue {
    /// Loads every `*.toml` in `dir`.
    pub fn load(dir: &Path) -> Result<Self, ProductError> {
        let fail = |path: &Path, reason: String| ProductError::Invalid {
            path: path.to_owned(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| fail(dir, e.to_string()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        files.sort();
        let mut products = BTreeMap::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| fail(&path, e.to_string()))?;
            let mut product: Product =
                toml::from_str(&text).map_err(|e| fail(&path, e.to_string()))?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            if product.id != stem {
                return Err(fail(
                    &path,
                    format!("id `{}` must match the file name `{stem}`", product.id),
                ));
            }
            if !product
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(fail(
                    &path,
                    "id: use lowercase letters, digits and hyphens".into(),
                ));
            }
            let prefix = &product.reference_prefix;
            if !(2..=4).contains(&prefix.len()) || !prefix.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(fail(
                    &path,
                    format!("reference_prefix `{prefix}`: two to four capital letters"),
                ));
            }
            check_process(&product).map_err(|reason| fail(&path, reason))?;
            if !product.notifications.contains_key("received") {
                return Err(fail(
                    &path,
                    "notifications: a `received` milestone is required (the acknowledgement)"
                        .into(),
                ));
            }
            let schema_path = path
                .parent()
                .unwrap_or(Path::new("."))
                .join(&product.application_schema);
            let schema_text = std::fs::read_to_string(&schema_path).map_err(|e| {
                fail(
                    &path,
                    format!("application_schema {}: {e}", schema_path.display()),
                )
            })?;
            let document: Value = serde_json::from_str(&schema_text).map_err(|e| {
                fail(
                    &path,
                    format!("application_schema {}: {e}", schema_path.display()),
                )
            })?;
            product.application_schema_id = document
                .get("$id")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    fail(
                        &path,
                        format!("application_schema {} has no $id", schema_path.display()),
                    )
                })?
                .to_owned();
            check_pointers(&product, &document).map_err(|reason| fail(&path, reason))?;
            product.application_schema = schema_path;
            product.application_schema_document = document;
            if let Some(other) = products
                .values()
                .find(|p: &&Product| p.reference_prefix == product.reference_prefix)
            {
                return Err(fail(
                    &path,
                    format!(
                        "reference_prefix `{}` is already used by `{}`",
                        product.reference_prefix, other.id
                    ),
                ));
            }
            products.insert(product.id.clone(), product);
        }
        if products.is_empty() {
            return Err(fail(dir, "no product definitions (*.toml) found".into()));
        }
        Ok(Self { products })
    }

    /// A product by id.
    pub fn get(&self, id: &str) -> Option<&Product> {
        self.products.get(id)
    }

    /// Every product, in id order.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }

    /// The application schema files, for the schema registry.
    pub fn schema_files(&self) -> Vec<PathBuf> {
        self.products
            .values()
            .map(|p| p.application_schema.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/products")
    }

    #[test]
    fn the_shipped_products_load() {
        let catalogue = ProductCatalogue::load(&shipped()).unwrap();
        let visa = catalogue.get("visit-visa").unwrap();
        assert_eq!(visa.reference_prefix, "VV");
        assert!(
            visa.application_schema_id
                .ends_with("visit-visa/application.v2.json")
        );
    }

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn json(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    }

    fn schema_id(path: &Path) -> String {
        json(path)["$id"].as_str().expect("$id").to_owned()
    }

    #[test]
    fn every_product_points_at_its_printed_document_fields() {
        let catalogue = ProductCatalogue::load(&shipped()).unwrap();
        for (id, pointer) in [
            ("visit-visa", "/passport"),
            ("passport-renewal", "/current_passport"),
            ("dbs-basic-check", "/identity_document"),
        ] {
            let product = catalogue.get(id).unwrap();
            assert_eq!(
                product.applicant.document_printed.as_deref(),
                Some(pointer),
                "{id}"
            );
            let object = schema_at(&product.application_schema_document, pointer).unwrap();
            for field in PRINTED_DOCUMENT_FIELDS {
                assert!(object["properties"].get(field).is_some(), "{id}: {field}");
            }
        }
    }

    /// Every example an earlier version accepted, the current one accepts
    /// ("v1 still accepted through the API"); an `invalid-` example fails
    /// both; a printed-fields example needs v2.
    #[test]
    fn every_v1_example_is_valid_against_v2() {
        let root = workspace();
        let fixture = root.join("tests/fixtures/transit-visa");
        let registry = casework_contracts::SchemaRegistry::load(
            &root.join("schemas"),
            &[
                fixture.join("application.v1.json"),
                fixture.join("application.v2.json"),
            ],
        )
        .expect("schemas");
        let mut checked = 0;
        for product in ["visit-visa", "passport-renewal", "dbs-basic-check"] {
            let dir = root.join("schemas/products").join(product);
            let v1 = schema_id(&dir.join("application.v1.json"));
            let v2 = schema_id(&dir.join("application.v2.json"));
            assert!(
                v2.ends_with(&format!("{product}/application.v2.json")),
                "{v2}"
            );
            let mut printed = 0;
            for entry in std::fs::read_dir(dir.join("examples")).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let example = json(&path);
                let in_v1 = registry.validate(&v1, &example);
                let in_v2 = registry.validate(&v2, &example);
                if name.starts_with("invalid-") {
                    assert!(
                        in_v1.is_err() && in_v2.is_err(),
                        "{product}/{name} is valid"
                    );
                } else if in_v1.is_ok() {
                    assert!(in_v2.is_ok(), "{product}/{name}: {in_v2:?}");
                    checked += 1;
                } else {
                    assert!(in_v2.is_ok(), "{product}/{name}: {in_v2:?}");
                    printed += 1;
                }
            }
            assert!(
                printed > 0,
                "{product} has a v2 example with printed fields"
            );
        }
        assert!(checked >= 9, "{checked} v1 examples");
        // The fixture product: its one example, and the same by printed fields.
        let v1 = schema_id(&fixture.join("application.v1.json"));
        let v2 = schema_id(&fixture.join("application.v2.json"));
        let mut example = json(&fixture.join("valid.json"));
        registry.validate(&v1, &example).expect("valid in v1");
        registry.validate(&v2, &example).expect("valid in v2");
        let traveller = example["traveller"].as_object_mut().unwrap();
        traveller.remove("passport_mrz");
        assert!(
            registry.validate(&v2, &example).is_err(),
            "a document is required"
        );
        example["traveller"]["passport"] = serde_json::json!({
            "number": "A07345612",
            "issuing_state": "NGA",
            "issue_date": "2020-07-08",
            "expiry_date": "2030-07-07",
        });
        assert!(registry.validate(&v1, &example).is_err());
        registry
            .validate(&v2, &example)
            .expect("printed fields in v2");
    }

    #[test]
    fn a_document_needs_its_zone_or_all_its_printed_fields() {
        let root = workspace();
        let registry =
            casework_contracts::SchemaRegistry::load(&root.join("schemas"), &[]).expect("schemas");
        let dir = root.join("schemas/products/visit-visa");
        let v2 = schema_id(&dir.join("application.v2.json"));
        let mut example = json(&dir.join("examples/valid-printed-passport.json"));
        registry.validate(&v2, &example).expect("valid");
        example["passport"]
            .as_object_mut()
            .unwrap()
            .remove("issue_date");
        assert!(registry.validate(&v2, &example).is_err(), "three of four");
        example["passport"]["issue_date"] = Value::from("2021-02-30");
        assert!(registry.validate(&v2, &example).is_err(), "not a date");
        example["passport"]["issue_date"] = Value::from("2021-11-02");
        example["passport"]["issuing_state"] = Value::from("Deutschland");
        assert!(registry.validate(&v2, &example).is_err(), "not a code");
        example["passport"]["issuing_state"] = Value::from("D");
        example["passport"]["colour"] = Value::from("red");
        assert!(registry.validate(&v2, &example).is_err(), "closed object");
    }

    #[test]
    fn a_pointer_the_form_lacks_is_refused_at_start() {
        let dir = std::env::temp_dir().join(format!("casework-pointers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let schema = shipped().join("../../schemas/products/visit-visa/application.v2.json");
        let definition = std::fs::read_to_string(shipped().join("visit-visa.toml"))
            .unwrap()
            .replace(
                "../../schemas/products/visit-visa/application.v2.json",
                &schema.display().to_string(),
            );
        for (from, to, field) in [
            (
                "document_printed = \"/passport\"",
                "document_printed = \"/travel\"",
                "applicant.document_printed `/travel`: the object has no number, issuing_state, issue_date, expiry_date",
            ),
            (
                "document_printed = \"/passport\"",
                "document_printed = \"/pasport\"",
                "applicant.document_printed `/pasport`: no such field",
            ),
            (
                "sex = \"/applicant/sex\"",
                "sex = \"/applicant/gender\"",
                "applicant.sex `/applicant/gender`",
            ),
        ] {
            std::fs::write(dir.join("visit-visa.toml"), definition.replace(from, to)).unwrap();
            let err = ProductCatalogue::load(&dir).unwrap_err().to_string();
            assert!(err.contains(field), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_definition_is_refused_naming_the_field() {
        let dir = std::env::temp_dir().join(format!("casework-products-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("odd.toml"),
            std::fs::read_to_string(shipped().join("visit-visa.toml"))
                .unwrap()
                .replace("id = \"visit-visa\"", "id = \"odd\"")
                .replace("reference_prefix = \"VV\"", "reference_prefix = \"vv1\""),
        )
        .unwrap();
        let err = ProductCatalogue::load(&dir).unwrap_err().to_string();
        assert!(err.contains("reference_prefix"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
