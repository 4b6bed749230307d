//! The three outcomes a decision can have.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::RulesError;

/// What a rule, or a decision, says should happen to a case.
///
/// The variants are declared, and therefore ordered, by severity:
/// `Grant < Refer < Refuse`. When several rules fire, the decision takes the
/// most severe outcome, so a refusal can never be hidden by a referral and a
/// referral can never be hidden by a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The application is granted automatically.
    Grant,
    /// A caseworker must decide.
    Refer,
    /// The application is refused.
    Refuse,
}

impl Outcome {
    /// The outcome as it is written in rule files and decisions.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Grant => "grant",
            Outcome::Refer => "refer",
            Outcome::Refuse => "refuse",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = RulesError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "grant" => Ok(Outcome::Grant),
            "refer" => Ok(Outcome::Refer),
            "refuse" => Ok(Outcome::Refuse),
            other => Err(RulesError::UnknownOutcome(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_json() {
        for outcome in [Outcome::Grant, Outcome::Refer, Outcome::Refuse] {
            assert_eq!(outcome.as_str().parse::<Outcome>().unwrap(), outcome);
            assert_eq!(outcome.to_string(), outcome.as_str());
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
            assert_eq!(serde_json::from_str::<Outcome>(&json).unwrap(), outcome);
        }
    }

    #[test]
    fn is_ordered_by_severity() {
        assert!(Outcome::Grant < Outcome::Refer);
        assert!(Outcome::Refer < Outcome::Refuse);
    }

    #[test]
    fn an_unknown_outcome_is_named() {
        let err = "Grant".parse::<Outcome>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown outcome `Grant`: expected grant, refuse or refer"
        );
    }
}
