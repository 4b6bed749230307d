//! A matching policy: the model a use of the engine loads and the
//! thresholds it decides by, from a TOML file beside the model
//! (`config/matching/person.toml` for the person index). Thresholds are
//! policy, fixed before accuracy is measured; the model is estimated from
//! data and may be re-estimated without changing them.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::MatchingError;
use crate::model::{Decision, Model, Thresholds};

/// A policy file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The model file, relative to the policy's folder.
    pub model: PathBuf,
    /// At or above: the same person.
    pub match_weight: f64,
    /// At or above, below `match_weight`: possibly the same person.
    pub possible_weight: f64,
}

impl Policy {
    /// Reads a policy file.
    pub fn read(path: &Path) -> Result<Self, MatchingError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MatchingError::Model(format!("{}: {e}", path.display())))?;
        let policy: Policy = toml::from_str(&text)
            .map_err(|e| MatchingError::Model(format!("{}: {e}", path.display())))?;
        if policy.possible_weight > policy.match_weight {
            return Err(MatchingError::Model(format!(
                "{}: possible_weight {} is above match_weight {}",
                path.display(),
                policy.possible_weight,
                policy.match_weight
            )));
        }
        Ok(policy)
    }

    /// The thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            match_weight: self.match_weight,
            possible_weight: self.possible_weight,
        }
    }
}

/// A loaded policy: model and thresholds. Its weights come from
/// [`Model::scorer_for`] the size of the index searched.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The model.
    pub model: Model,
    /// The thresholds.
    pub thresholds: Thresholds,
}

impl Matcher {
    /// Loads the policy file at `path` and the model it names.
    pub fn load(path: &Path) -> Result<Self, MatchingError> {
        let policy = Policy::read(path)?;
        let model_path = path.parent().unwrap_or(Path::new(".")).join(&policy.model);
        let json = std::fs::read_to_string(&model_path)
            .map_err(|e| MatchingError::Model(format!("{}: {e}", model_path.display())))?;
        let model = Model::from_json(&json)
            .map_err(|e| MatchingError::Model(format!("{}: {e}", model_path.display())))?;
        Ok(Self::new(model, policy.thresholds()))
    }

    /// A matcher from a model and thresholds.
    pub fn new(model: Model, thresholds: Thresholds) -> Self {
        Self { model, thresholds }
    }

    /// The decision for a total weight.
    pub fn decide(&self, weight: f64) -> Decision {
        self.thresholds.decide(weight)
    }
}
