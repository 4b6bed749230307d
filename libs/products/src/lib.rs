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
    /// case search and for the templates.
    pub applicant: ApplicantFields,
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
                .ends_with("visit-visa/application.v1.json")
        );
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
