//! The Fellegi–Sunter model: for each field and level, `m` (how often a
//! true match is at that level) and `u` (how often a non-match is), whose
//! ratio is the level's match weight, `log2(m / u)`; and the prior, the
//! probability that two records picked at random are one person. A pair's total weight is the
//! prior's weight plus each compared field's. Models are estimated from data
//! ([`crate::estimate`]) and stored as versioned JSON files.

use serde::{Deserialize, Serialize};

use crate::MatchingError;
use crate::compare::{Comparison, FIELDS, Field};

/// The `format` every model file carries.
pub const FORMAT: &str = "casework-matching-model";

/// A model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Always [`FORMAT`].
    pub format: String,
    /// The model's version: a new estimate is a new version.
    pub version: u32,
    /// What it was estimated from, and how.
    pub description: String,
    /// The probability that two records picked at random are one person, λ.
    pub prior: f64,
    /// How many records λ was estimated over. λ falls as an index grows
    /// (each person has about as many other records whatever the size), so
    /// [`Model::scorer_for`] scales it to the index searched. 0: never scaled.
    #[serde(default)]
    pub records: u64,
    /// Every field's levels, in [`Field::ALL`] order.
    pub fields: Vec<FieldParameters>,
}

/// One field's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldParameters {
    /// The field.
    pub field: Field,
    /// Its levels, in [`Field::levels`] order.
    pub levels: Vec<LevelParameters>,
}

/// One level's `m` and `u`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParameters {
    /// The level's name.
    pub level: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match).
    pub u: f64,
}

impl Model {
    /// Reads and checks a model file's JSON.
    pub fn from_json(json: &str) -> Result<Self, MatchingError> {
        let model: Model = serde_json::from_str(json)?;
        model.check()?;
        Ok(model)
    }

    /// The model as pretty JSON, as files hold it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    fn check(&self) -> Result<(), MatchingError> {
        let fail = |why: String| Err(MatchingError::Model(why));
        if self.format != FORMAT {
            return fail(format!("format is `{}`, expected `{FORMAT}`", self.format));
        }
        if !(self.prior > 0.0 && self.prior < 1.0) {
            return fail(format!("prior {} is not between 0 and 1", self.prior));
        }
        if self.fields.len() != FIELDS {
            return fail(format!("{} fields, expected {FIELDS}", self.fields.len()));
        }
        for (params, field) in self.fields.iter().zip(Field::ALL) {
            if params.field != field {
                return fail(format!(
                    "field `{}` where `{}` was expected",
                    params.field.as_str(),
                    field.as_str()
                ));
            }
            let names: Vec<&str> = params.levels.iter().map(|l| l.level.as_str()).collect();
            if names != field.levels() {
                return fail(format!(
                    "{} has levels {names:?}, expected {:?}",
                    field.as_str(),
                    field.levels()
                ));
            }
            for level in &params.levels {
                if !(level.m > 0.0 && level.m <= 1.0 && level.u > 0.0 && level.u <= 1.0) {
                    return fail(format!(
                        "{}.{}: m and u must be in (0, 1]",
                        field.as_str(),
                        level.level
                    ));
                }
            }
        }
        Ok(())
    }

    /// The model ready to score pairs, its prior as estimated.
    pub fn scorer(&self) -> Scorer {
        self.scorer_for(0)
    }

    /// The model ready to score a record against an index of `records`
    /// records: λ scaled by the estimate's size over the index's, when the
    /// index is the larger (a smaller one keeps λ, erring towards caution).
    pub fn scorer_for(&self, records: u64) -> Scorer {
        let prior = if self.records > 0 && records > self.records {
            self.prior * self.records as f64 / records as f64
        } else {
            self.prior
        };
        let mut weights = [[0.0; MAX_LEVELS]; FIELDS];
        for (f, params) in self.fields.iter().enumerate() {
            for (l, level) in params.levels.iter().enumerate() {
                weights[f][l] = (level.m / level.u).log2();
            }
        }
        Scorer {
            prior_weight: (prior / (1.0 - prior)).log2(),
            weights,
            version: self.version,
        }
    }
}

const MAX_LEVELS: usize = 6;

/// Thresholds on a pair's total match weight, fixed in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// At or above: the same person.
    pub match_weight: f64,
    /// At or above (and below `match_weight`): possibly the same person,
    /// for a person to decide.
    pub possible_weight: f64,
}

/// What a pair's weight says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The same person.
    Match,
    /// Possibly the same person: a person decides.
    PossibleMatch,
    /// Different people.
    NonMatch,
}

impl Thresholds {
    /// The decision for a total weight.
    pub fn decide(&self, weight: f64) -> Decision {
        if weight >= self.match_weight {
            Decision::Match
        } else if weight >= self.possible_weight {
            Decision::PossibleMatch
        } else {
            Decision::NonMatch
        }
    }
}

/// A model's weights, precomputed.
#[derive(Debug, Clone)]
pub struct Scorer {
    prior_weight: f64,
    weights: [[f64; MAX_LEVELS]; FIELDS],
    version: u32,
}

impl Scorer {
    /// The total match weight of a comparison.
    pub fn weight(&self, comparison: &Comparison) -> f64 {
        let mut total = self.prior_weight;
        for (f, level) in comparison.levels.iter().enumerate() {
            if let Some(l) = level {
                total += self.weights[f][usize::from(*l)];
            }
        }
        total
    }

    /// Why a comparison weighs what it does: the prior, each field's level
    /// and weight (a field either record lacks is listed with weight 0),
    /// the total and its probability.
    pub fn explain(&self, comparison: &Comparison) -> Explanation {
        let fields = Field::ALL
            .iter()
            .map(|field| {
                let level = comparison.levels[field.index()];
                FieldWeight {
                    field: field.as_str().to_owned(),
                    level: level
                        .map_or("missing", |l| field.levels()[usize::from(l)])
                        .to_owned(),
                    weight: round(
                        level.map_or(0.0, |l| self.weights[field.index()][usize::from(l)]),
                    ),
                }
            })
            .collect();
        let total = self.weight(comparison);
        Explanation {
            model_version: self.version,
            prior_weight: round(self.prior_weight),
            fields,
            names_swapped: comparison.names_swapped,
            total: round(total),
            probability: probability(total),
        }
    }
}

/// The probability of a match at a total weight.
pub fn probability(weight: f64) -> f64 {
    let odds = weight.exp2();
    (odds / (1.0 + odds) * 1e6).round() / 1e6
}

fn round(weight: f64) -> f64 {
    (weight * 1000.0).round() / 1000.0
}

/// Why a pair weighs what it does (Splink's waterfall, as data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The model that weighed it.
    pub model_version: u32,
    /// The prior's weight, where every pair starts.
    pub prior_weight: f64,
    /// Each field: its level and weight.
    pub fields: Vec<FieldWeight>,
    /// Given names and surname were compared crosswise.
    pub names_swapped: bool,
    /// The total weight.
    pub total: f64,
    /// The probability of a match at that weight.
    pub probability: f64,
}

/// One field of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldWeight {
    /// The field.
    pub field: String,
    /// Its level, or `missing` where either record lacks it.
    pub level: String,
    /// The level's weight (bits; negative is evidence against).
    pub weight: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_file_names_every_field_and_level() {
        let model = crate::estimate::uninformed();
        let parsed = Model::from_json(&model.to_json()).unwrap();
        let ms = |m: &Model| {
            m.fields
                .iter()
                .flat_map(|f| f.levels.iter().map(|l| l.m))
                .collect::<Vec<_>>()
        };
        assert!(
            ms(&parsed)
                .iter()
                .zip(ms(&model))
                .all(|(a, b)| (a - b).abs() < 1e-12)
        );
        let mut wrong = model.clone();
        wrong.fields[0].levels.pop();
        assert!(
            Model::from_json(&wrong.to_json())
                .unwrap_err()
                .to_string()
                .contains("given_names has levels")
        );
        let mut wrong = model;
        wrong.prior = 1.0;
        assert!(Model::from_json(&wrong.to_json()).is_err());
    }

    #[test]
    fn thresholds_split_weights_three_ways() {
        let t = Thresholds {
            match_weight: 10.0,
            possible_weight: 2.0,
        };
        assert_eq!(t.decide(10.0), Decision::Match);
        assert_eq!(t.decide(2.0), Decision::PossibleMatch);
        assert_eq!(t.decide(1.9), Decision::NonMatch);
    }
}
