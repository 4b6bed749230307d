//! A rule set (one version of a decision table) and the decisions it makes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::condition::{Condition, all_hold};
use crate::{FiredRule, Outcome};

/// One version of a decision table: rules evaluated against a case's
/// evidence to grant, refuse or refer it.
///
/// Read one with [`RuleSet::from_toml`] (or through [`crate::RuleBook`]),
/// which checks it thoroughly; deserializing one from JSON runs the same
/// checks. It serializes back to the file format, so a decision's audit
/// trail can hold the exact table that made it (both in `format`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    /// The rule set's id, also its directory name: `visit-visa`.
    pub id: String,
    /// The version, also its file name: `2` in `v2.toml`. At least 1.
    pub version: u32,
    /// What the table decides, for people.
    pub description: String,
    /// The outcome when no rule fires.
    pub default: DefaultOutcome,
    /// The rules, in file order (which orders a decision's reasons).
    pub rules: Vec<Rule>,
}

/// The outcome, and its reason, when no rule fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultOutcome {
    /// The outcome.
    pub outcome: Outcome,
    /// Why, in words fit for the decision letter.
    pub reason: String,
}

/// One row of the table: when every condition holds, the rule fires.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's id, unique in its set; decisions record it.
    pub id: String,
    /// What the rule is for, for people.
    pub description: Option<String>,
    /// What the rule says should happen when it fires.
    pub outcome: Outcome,
    /// Why, in words fit for the decision letter.
    pub reason: String,
    /// A flag copied into the decision for the services downstream (for
    /// instance, a refusal that must also go to Enforce).
    pub enforce: bool,
    /// Conditions that must all hold (AND). Empty: the rule always fires,
    /// unless `any_of` says otherwise.
    pub when: Vec<Condition>,
    /// Groups of conditions of which at least one must hold entirely (an OR
    /// of ANDs), in addition to `when`. Empty: no such requirement.
    pub any_of: Vec<Vec<Condition>>,
}

impl Rule {
    /// Whether the rule fires on this evidence.
    pub fn fires(&self, evidence: &Value) -> bool {
        all_hold(&self.when, evidence)
            && (self.any_of.is_empty() || self.any_of.iter().any(|group| all_hold(group, evidence)))
    }
}

/// What a rule set decided about one case's evidence, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The most severe outcome of the rules that fired, or the default.
    pub outcome: Outcome,
    /// The reasons of the fired rules with that outcome, in file order; or
    /// the default's reason when no rule fired.
    pub reasons: Vec<String>,
    /// Every rule that fired, whatever its outcome, in file order.
    pub fired: Vec<FiredRule>,
    /// The id of the rule set that decided.
    pub rule_set: String,
    /// Its version.
    pub rule_set_version: u32,
    /// Whether a fired rule with the decision's outcome is flagged `enforce`.
    pub enforce: bool,
}

impl RuleSet {
    /// Evaluates every rule against the evidence and decides.
    ///
    /// Hit policy: all rules are evaluated, every one that fires is recorded,
    /// and the decision takes the most severe outcome among them (refuse,
    /// then refer, then grant), with the reasons of the rules that gave it.
    /// When none fires, the default decides. The result depends only on the
    /// rule set and the evidence.
    pub fn evaluate(&self, evidence: &Value) -> Decision {
        let fired: Vec<FiredRule> = self
            .rules
            .iter()
            .filter(|rule| rule.fires(evidence))
            .map(|rule| FiredRule {
                id: rule.id.clone(),
                outcome: rule.outcome,
                reason: rule.reason.clone(),
                enforce: rule.enforce,
            })
            .collect();
        let (outcome, reasons, enforce) = match fired.iter().map(|rule| rule.outcome).max() {
            Some(outcome) => {
                let winners = fired.iter().filter(|rule| rule.outcome == outcome);
                (
                    outcome,
                    winners.clone().map(|rule| rule.reason.clone()).collect(),
                    winners.clone().any(|rule| rule.enforce),
                )
            }
            None => (
                self.default.outcome,
                vec![self.default.reason.clone()],
                false,
            ),
        };
        Decision {
            outcome,
            reasons,
            fired,
            rule_set: self.id.clone(),
            rule_set_version: self.version,
            enforce,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TABLE: &str = r#"
id = "test-set"
version = 3
description = "Hit policy"
default = { outcome = "grant", reason = "Nothing found" }

[[rules]]
id = "refer-a"
outcome = "refer"
reason = "A is set"
when = [ { fact = "/a", op = "eq", value = true } ]

[[rules]]
id = "refuse-b"
outcome = "refuse"
reason = "B is set"
when = [ { fact = "/b", op = "eq", value = true } ]

[[rules]]
id = "refer-c"
outcome = "refer"
reason = "C is set"
enforce = true
when = [ { fact = "/c", op = "eq", value = true } ]

[[rules]]
id = "refuse-d"
outcome = "refuse"
reason = "D is set"
enforce = true
when = [ { fact = "/d", op = "eq", value = true } ]

[[rules]]
id = "grant-e"
outcome = "grant"
reason = "E is set"
when = [ { fact = "/e", op = "eq", value = true } ]

[[rules]]
id = "f-or-g"
outcome = "refer"
reason = "F, or G and H"
when = [ { fact = "/x", op = "absent" } ]
any_of = [
  [ { fact = "/f", op = "eq", value = true } ],
  [ { fact = "/g", op = "eq", value = true }, { fact = "/h", op = "eq", value = true } ],
]
"#;

    fn set() -> RuleSet {
        RuleSet::from_toml(TABLE, "test.toml").unwrap()
    }

    fn ids(decision: &Decision) -> Vec<&str> {
        decision.fired.iter().map(|rule| rule.id.as_str()).collect()
    }

    #[test]
    fn the_default_decides_when_no_rule_fires() {
        let decision = set().evaluate(&json!({}));
        assert_eq!(
            decision,
            Decision {
                outcome: Outcome::Grant,
                reasons: vec!["Nothing found".into()],
                fired: vec![],
                rule_set: "test-set".into(),
                rule_set_version: 3,
                enforce: false,
            }
        );
    }

    #[test]
    fn a_fired_grant_beats_the_default() {
        let decision = set().evaluate(&json!({ "e": true }));
        assert_eq!(decision.outcome, Outcome::Grant);
        assert_eq!(decision.reasons, ["E is set"]);
        assert_eq!(ids(&decision), ["grant-e"]);
    }

    #[test]
    fn refer_beats_grant() {
        let decision = set().evaluate(&json!({ "a": true, "e": true }));
        assert_eq!(decision.outcome, Outcome::Refer);
        assert_eq!(decision.reasons, ["A is set"]);
        assert_eq!(ids(&decision), ["refer-a", "grant-e"]);
        assert!(!decision.enforce);
    }

    #[test]
    fn refuse_beats_refer_and_every_fired_rule_is_recorded_in_file_order() {
        let evidence = json!({ "a": true, "b": true, "c": true, "d": true, "e": true });
        let decision = set().evaluate(&evidence);
        assert_eq!(decision.outcome, Outcome::Refuse);
        assert_eq!(decision.reasons, ["B is set", "D is set"]);
        assert_eq!(
            ids(&decision),
            ["refer-a", "refuse-b", "refer-c", "refuse-d", "grant-e"]
        );
        assert_eq!(
            decision.fired[2],
            FiredRule {
                id: "refer-c".into(),
                outcome: Outcome::Refer,
                reason: "C is set".into(),
                enforce: true,
            }
        );
        assert!(decision.enforce);
    }

    #[test]
    fn enforce_comes_only_from_rules_with_the_winning_outcome() {
        // refer-c (enforce) fired but refuse-b (no enforce) won.
        let decision = set().evaluate(&json!({ "b": true, "c": true }));
        assert_eq!(decision.outcome, Outcome::Refuse);
        assert!(!decision.enforce);
        let decision = set().evaluate(&json!({ "a": true, "c": true }));
        assert_eq!(decision.outcome, Outcome::Refer);
        assert_eq!(decision.reasons, ["A is set", "C is set"]);
        assert!(decision.enforce);
    }

    #[test]
    fn any_of_is_an_or_of_and_groups_on_top_of_when() {
        let s = set();
        let fires = |evidence: Value| ids(&s.evaluate(&evidence)).contains(&"f-or-g");
        assert!(fires(json!({ "f": true })));
        assert!(fires(json!({ "g": true, "h": true })));
        assert!(!fires(json!({ "g": true })));
        assert!(!fires(json!({})));
        // `when` must hold as well.
        assert!(!fires(json!({ "f": true, "x": 1 })));
    }

    #[test]
    fn an_empty_when_always_fires() {
        let s = RuleSet::from_toml(
            r#"
id = "always"
version = 1
description = "Everything is referred"
default = { outcome = "grant", reason = "unused" }
[[rules]]
id = "always-refer"
outcome = "refer"
reason = "Every case is looked at"
when = []
"#,
            "always.toml",
        )
        .unwrap();
        let decision = s.evaluate(&json!(null));
        assert_eq!(decision.outcome, Outcome::Refer);
        assert_eq!(ids(&decision), ["always-refer"]);
    }

    #[test]
    fn evaluation_is_deterministic() {
        let s = set();
        let evidence = json!({ "a": true, "b": true, "f": true });
        let first = s.evaluate(&evidence);
        for _ in 0..10 {
            assert_eq!(s.evaluate(&evidence), first);
        }
    }

    #[test]
    fn a_decision_serializes_with_lowercase_outcomes() {
        let decision = set().evaluate(&json!({ "d": true }));
        let json = serde_json::to_value(&decision).unwrap();
        assert_eq!(
            json,
            json!({
                "outcome": "refuse",
                "reasons": ["D is set"],
                "fired": [ { "id": "refuse-d", "outcome": "refuse", "reason": "D is set", "enforce": true } ],
                "rule_set": "test-set",
                "rule_set_version": 3,
                "enforce": true,
            })
        );
        assert_eq!(serde_json::from_value::<Decision>(json).unwrap(), decision);
    }

    #[test]
    fn a_rule_set_round_trips_through_json_and_toml() {
        let s = set();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<RuleSet>(&json).unwrap(), s);
        let toml = toml::to_string(&s).unwrap();
        assert_eq!(RuleSet::from_toml(&toml, "again.toml").unwrap(), s);
    }

    #[test]
    fn deserializing_from_json_runs_the_same_checks() {
        let mut json = serde_json::to_value(set()).unwrap();
        json["rules"][1]["id"] = json!("refer-a");
        let err = serde_json::from_value::<RuleSet>(json)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rule set test-set v3: rule `refer-a`"),
            "{err}"
        );
    }
}
