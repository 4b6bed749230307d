//! The file format: what a rule set looks like on disk, and the checks that
//! turn it into a [`RuleSet`] whose every condition is known to make sense.
//!
//! The raw types mirror the TOML keys one for one (so unknown keys are
//! refused and the set serializes back to the same shape); the checks then
//! build the typed [`Condition`]s, naming the rule and the condition's place
//! (`when[0].any[1]`) in every error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Display;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::condition::{Comparison, Condition, Test};
use crate::rule_set::{DefaultOutcome, Rule, RuleSet};
use crate::{Outcome, RulesError};

/// The key under which the `toml` crate hands an unquoted date or time to
/// serde; seeing it lets us say "quote the date" instead of "a table".
const TOML_DATETIME: &str = "$__toml_private_datetime";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRuleSet {
    id: String,
    version: u32,
    description: String,
    default: DefaultOutcome,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    outcome: Outcome,
    reason: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    enforce: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    when: Option<Vec<RawCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    any_of: Option<Vec<Vec<RawCondition>>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    fact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    any: Option<Vec<RawCondition>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    none: Option<Vec<RawCondition>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Contains,
    Exists,
    Absent,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Contains => "contains",
            Op::Exists => "exists",
            Op::Absent => "absent",
        }
    }

    fn comparison(self) -> Option<Comparison> {
        Some(match self {
            Op::Eq => Comparison::Eq,
            Op::Ne => Comparison::Ne,
            Op::Lt => Comparison::Lt,
            Op::Le => Comparison::Le,
            Op::Gt => Comparison::Gt,
            Op::Ge => Comparison::Ge,
            _ => return None,
        })
    }
}

impl From<Comparison> for Op {
    fn from(comparison: Comparison) -> Self {
        match comparison {
            Comparison::Eq => Op::Eq,
            Comparison::Ne => Op::Ne,
            Comparison::Lt => Op::Lt,
            Comparison::Le => Op::Le,
            Comparison::Gt => Op::Gt,
            Comparison::Ge => Op::Ge,
        }
    }
}

/// Parses and checks a rule set written in TOML.
pub(crate) fn parse(text: &str, origin: &str) -> Result<RuleSet, RulesError> {
    match toml::from_str::<RawRuleSet>(text) {
        Ok(raw) => check(raw, origin),
        Err(error) => Err(parse_error(text, origin, &error)),
    }
}

/// A TOML or shape error, on one line: the rule it is in (when it is in
/// one), the line number, and the parser's message.
fn parse_error(text: &str, origin: &str, error: &toml::de::Error) -> RulesError {
    let span = error.span();
    let line = span.as_ref().map(|span| {
        let end = span.start.min(text.len());
        text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    });
    let message = error.message().trim();
    RulesError::Invalid {
        origin: origin.to_owned(),
        rule: span.and_then(|span| rule_at(text, span.start)),
        reason: match line {
            Some(line) => format!("line {line}: {message}"),
            None => message.to_owned(),
        },
    }
}

/// The label of the rule whose text contains byte `offset`, if the file
/// parses as TOML at all.
///
/// The span `toml` gives a `[[rules]]` table covers only its header, so a
/// rule's text is taken to run from there to the end of its last value.
fn rule_at(text: &str, offset: usize) -> Option<String> {
    type Keys = BTreeMap<String, toml::Spanned<toml::Value>>;
    #[derive(Deserialize)]
    struct Rules {
        rules: Vec<toml::Spanned<Keys>>,
    }
    let rules = toml::from_str::<Rules>(text).ok()?.rules;
    rules.iter().enumerate().find_map(|(index, rule)| {
        let keys = rule.get_ref();
        let end = keys
            .values()
            .map(|value| value.span().end)
            .fold(rule.span().end, usize::max);
        (rule.span().start..end).contains(&offset).then(|| {
            match keys
                .get("id")
                .map(|id| id.get_ref())
                .and_then(toml::Value::as_str)
            {
                Some(id) if !id.is_empty() => id.to_owned(),
                _ => format!("#{}", index + 1),
            }
        })
    })
}

/// Checks a raw rule set and builds the typed one. `origin` names it in
/// errors.
pub(crate) fn check(raw: RawRuleSet, origin: &str) -> Result<RuleSet, RulesError> {
    let mut checker = Checker {
        origin,
        rule: None,
        fact_types: HashMap::new(),
    };
    if let Err(reason) = check_id(&raw.id) {
        return Err(checker.fail(format!("id `{}`: {reason}", raw.id)));
    }
    if raw.version == 0 {
        return Err(checker.fail("version: must be 1 or more"));
    }
    if raw.default.reason.trim().is_empty() {
        return Err(checker.fail("default.reason: must not be empty"));
    }
    let mut seen = HashSet::new();
    let mut rules = Vec::with_capacity(raw.rules.len());
    for (index, rule) in raw.rules.into_iter().enumerate() {
        checker.rule = Some(if rule.id.is_empty() {
            format!("#{}", index + 1)
        } else {
            rule.id.clone()
        });
        rules.push(checker.rule(rule, &mut seen)?);
    }
    Ok(RuleSet {
        id: raw.id,
        version: raw.version,
        description: raw.description,
        default: raw.default,
        rules,
    })
}

impl RuleSet {
    /// Reads and checks a rule set written in TOML. `origin` (usually the
    /// file's path) starts every error message, so the author knows which
    /// file to fix.
    ///
    /// Checks, beyond the syntax: no unknown keys; a version of at least 1;
    /// unique, well-formed rule ids; non-empty reasons; well-formed JSON
    /// Pointers; each condition has exactly one of `op`, `any`, `none`, with
    /// a `value` that suits the `op`; and a fact is not compared with a
    /// number in one place and a string (or boolean) in another.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, RulesError> {
        parse(text, origin)
    }
}

/// A rule set deserializes through the file format, with the same checks.
impl<'de> Deserialize<'de> for RuleSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawRuleSet::deserialize(deserializer)?;
        RuleSet::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// A rule set serializes back to the file format.
impl Serialize for RuleSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawRuleSet::from(self.clone()).serialize(serializer)
    }
}

impl TryFrom<RawRuleSet> for RuleSet {
    type Error = RulesError;

    /// Used when a rule set is deserialized from anything but
    /// [`RuleSet::from_toml`] (JSON, for instance): same checks, with the
    /// set's id and version as the origin.
    fn try_from(raw: RawRuleSet) -> Result<Self, Self::Error> {
        let origin = format!("rule set {} v{}", raw.id, raw.version);
        check(raw, &origin)
    }
}

/// What ids may be made of: they become directory names, URLs and log
/// fields, so lowercase letters, digits and hyphens only.
fn check_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("must not be empty");
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("use lowercase letters, digits and hyphens");
    }
    Ok(())
}

/// The kind of scalar a fact is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScalarType {
    String,
    Number,
    Boolean,
}

impl ScalarType {
    fn of(value: &Value) -> Option<Self> {
        match value {
            Value::String(_) => Some(ScalarType::String),
            Value::Number(_) => Some(ScalarType::Number),
            Value::Bool(_) => Some(ScalarType::Boolean),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ScalarType::String => "a string",
            ScalarType::Number => "a number",
            ScalarType::Boolean => "a boolean",
        }
    }
}

/// What a value is, in the words of someone editing TOML.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nan, inf or null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(map) if map.contains_key(TOML_DATETIME) => {
            "an unquoted date or time (quote it: \"2027-01-10\")"
        }
        Value::Object(_) => "a table",
    }
}

struct Checker<'a> {
    origin: &'a str,
    /// The rule being checked, for errors.
    rule: Option<String>,
    /// For each fact compared with a literal (keyed by its full path, with
    /// `[*]` for "each element of"), the literal's type and the rule that
    /// first compared it. A fact compared with a number in one rule and a
    /// string in another can never satisfy both: one of them is a mistake
    /// that would otherwise silently never fire.
    fact_types: HashMap<String, (ScalarType, String)>,
}

impl Checker<'_> {
    fn fail(&self, reason: impl Display) -> RulesError {
        RulesError::Invalid {
            origin: self.origin.to_owned(),
            rule: self.rule.clone(),
            reason: reason.to_string(),
        }
    }

    fn rule(&mut self, raw: RawRule, seen: &mut HashSet<String>) -> Result<Rule, RulesError> {
        if let Err(reason) = check_id(&raw.id) {
            return Err(self.fail(format!("id: {reason}")));
        }
        if !seen.insert(raw.id.clone()) {
            return Err(self.fail("id: another rule in this set has the same id"));
        }
        if raw.reason.trim().is_empty() {
            return Err(self.fail("reason: must not be empty"));
        }
        if raw.when.is_none() && raw.any_of.is_none() {
            return Err(self.fail(
                "give `when` (all must hold) or `any_of`; write `when = []` for a rule that always fires",
            ));
        }
        let when = self.conditions(raw.when.unwrap_or_default(), "when", "")?;
        let mut any_of = Vec::new();
        if let Some(groups) = raw.any_of {
            if groups.is_empty() {
                return Err(self.fail("any_of: give at least one group of conditions"));
            }
            for (index, group) in groups.into_iter().enumerate() {
                let at = format!("any_of[{index}]");
                if group.is_empty() {
                    return Err(self.fail(format!(
                        "{at}: an empty group always holds, which makes `any_of` pointless"
                    )));
                }
                any_of.push(self.conditions(group, &at, "")?);
            }
        }
        Ok(Rule {
            id: raw.id,
            description: raw.description,
            outcome: raw.outcome,
            reason: raw.reason,
            enforce: raw.enforce,
            when,
            any_of,
        })
    }

    fn conditions(
        &mut self,
        raw: Vec<RawCondition>,
        at: &str,
        scope: &str,
    ) -> Result<Vec<Condition>, RulesError> {
        raw.into_iter()
            .enumerate()
            .map(|(index, condition)| self.condition(condition, &format!("{at}[{index}]"), scope))
            .collect()
    }

    /// `at` locates the condition in the rule (`when[0].any[1]`); `scope` is
    /// the path of the array whose elements relative pointers start from.
    fn condition(
        &mut self,
        raw: RawCondition,
        at: &str,
        scope: &str,
    ) -> Result<Condition, RulesError> {
        if let Err(reason) = check_pointer(&raw.fact) {
            return Err(self.fail(format!("{at}: fact `{}`: {reason}", raw.fact)));
        }
        let path = format!("{scope}{}", raw.fact);
        let test = match (raw.op, raw.any, raw.none) {
            (Some(op), None, None) => self.test(op, raw.value, at, &path)?,
            (None, Some(inner), None) => {
                Test::Any(self.quantified("any", inner, raw.value, at, &path)?)
            }
            (None, None, Some(inner)) => {
                Test::None(self.quantified("none", inner, raw.value, at, &path)?)
            }
            (None, None, None) => {
                return Err(self.fail(format!("{at}: give one of `op`, `any` or `none`")));
            }
            _ => {
                return Err(self.fail(format!("{at}: give only one of `op`, `any` or `none`")));
            }
        };
        Ok(Condition {
            fact: raw.fact,
            test,
        })
    }

    /// The conditions of an `any` / `none`, relative to each element.
    fn quantified(
        &mut self,
        quantifier: &str,
        inner: Vec<RawCondition>,
        value: Option<Value>,
        at: &str,
        path: &str,
    ) -> Result<Vec<Condition>, RulesError> {
        if value.is_some() {
            return Err(self.fail(format!(
                "{at}: `value` goes with `op`, not with `{quantifier}`"
            )));
        }
        self.conditions(inner, &format!("{at}.{quantifier}"), &format!("{path}[*]"))
    }

    fn test(
        &mut self,
        op: Op,
        value: Option<Value>,
        at: &str,
        path: &str,
    ) -> Result<Test, RulesError> {
        let name = op.name();
        if matches!(op, Op::Exists | Op::Absent) {
            if value.is_some() {
                return Err(self.fail(format!("{at}: `{name}` takes no `value`")));
            }
            return Ok(if op == Op::Exists {
                Test::Exists
            } else {
                Test::Absent
            });
        }
        let wanted = match op {
            Op::In | Op::NotIn => "an array of strings, numbers or booleans",
            Op::Lt | Op::Le | Op::Gt | Op::Ge => "a number or a string",
            _ => "a string, a number or a boolean",
        };
        let Some(value) = value else {
            return Err(self.fail(format!("{at}: `{name}` needs a `value`: {wanted}")));
        };
        let wrong = |this: &Self, value: &Value| {
            this.fail(format!(
                "{at}: `{name}` needs {wanted} as its `value`, not {}",
                describe(value)
            ))
        };
        if let Some(comparison) = op.comparison() {
            let Some(kind) = ScalarType::of(&value) else {
                return Err(wrong(self, &value));
            };
            if comparison.is_ordering() && kind == ScalarType::Boolean {
                return Err(wrong(self, &value));
            }
            self.fact_type(path, kind, at)?;
            return Ok(Test::Compare {
                op: comparison,
                value,
            });
        }
        if op == Op::Contains {
            if ScalarType::of(&value).is_none() {
                return Err(wrong(self, &value));
            }
            return Ok(Test::Contains(value));
        }
        // `in` / `not_in`.
        let Value::Array(values) = value else {
            return Err(wrong(self, &value));
        };
        let Some(first) = values.first() else {
            return Err(self.fail(format!("{at}: `{name}` needs at least one value")));
        };
        let Some(kind) = ScalarType::of(first) else {
            return Err(wrong(self, first));
        };
        if let Some(other) = values.iter().find(|v| ScalarType::of(v) != Some(kind)) {
            return Err(self.fail(format!(
                "{at}: `{name}` values must all be of one type; found {} and {}",
                kind.name(),
                describe(other)
            )));
        }
        self.fact_type(path, kind, at)?;
        Ok(if op == Op::In {
            Test::In(values)
        } else {
            Test::NotIn(values)
        })
    }

    /// Records that the fact at `path` is compared with a `kind`, refusing a
    /// comparison with another kind anywhere else in the set.
    fn fact_type(&mut self, path: &str, kind: ScalarType, at: &str) -> Result<(), RulesError> {
        let rule = self.rule.clone().unwrap_or_default();
        match self.fact_types.get(path) {
            Some((known, first)) if *known != kind => {
                let place = if *first == rule {
                    "elsewhere in this rule".to_owned()
                } else {
                    format!("in rule `{first}`")
                };
                Err(self.fail(format!(
                    "{at}: fact `{path}` is compared with {} here but with {} {place}; a fact has one type",
                    kind.name(),
                    known.name()
                )))
            }
            Some(_) => Ok(()),
            None => {
                self.fact_types.insert(path.to_owned(), (kind, rule));
                Ok(())
            }
        }
    }
}

/// An RFC 6901 JSON Pointer: empty, or `/`-separated tokens in which `~` is
/// only ever `~0` (a `~`) or `~1` (a `/`).
fn check_pointer(pointer: &str) -> Result<(), &'static str> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err("a JSON Pointer is empty or starts with `/`, e.g. `/identity/confidence`");
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(
                "in a JSON Pointer `~` must be followed by 0 or 1 (`~0` is `~`, `~1` is `/`)",
            );
        }
    }
    Ok(())
}

impl From<RuleSet> for RawRuleSet {
    fn from(set: RuleSet) -> Self {
        RawRuleSet {
            id: set.id,
            version: set.version,
            description: set.description,
            default: set.default,
            rules: set.rules.into_iter().map(RawRule::from).collect(),
        }
    }
}

impl From<Rule> for RawRule {
    fn from(rule: Rule) -> Self {
        let raw =
            |conditions: Vec<Condition>| conditions.into_iter().map(RawCondition::from).collect();
        let has_any_of = !rule.any_of.is_empty();
        RawRule {
            id: rule.id,
            description: rule.description,
            outcome: rule.outcome,
            reason: rule.reason,
            enforce: rule.enforce,
            // `when` may be left out only when `any_of` is there.
            when: (!rule.when.is_empty() || !has_any_of).then(|| raw(rule.when)),
            any_of: has_any_of.then(|| rule.any_of.into_iter().map(raw).collect()),
        }
    }
}

impl From<Condition> for RawCondition {
    fn from(condition: Condition) -> Self {
        let mut raw = RawCondition {
            fact: condition.fact,
            op: None,
            value: None,
            any: None,
            none: None,
        };
        let inner = |conditions: Vec<Condition>| {
            Some(conditions.into_iter().map(RawCondition::from).collect())
        };
        match condition.test {
            Test::Compare { op, value } => (raw.op, raw.value) = (Some(op.into()), Some(value)),
            Test::In(values) => (raw.op, raw.value) = (Some(Op::In), Some(Value::Array(values))),
            Test::NotIn(values) => {
                (raw.op, raw.value) = (Some(Op::NotIn), Some(Value::Array(values)));
            }
            Test::Contains(value) => (raw.op, raw.value) = (Some(Op::Contains), Some(value)),
            Test::Exists => raw.op = Some(Op::Exists),
            Test::Absent => raw.op = Some(Op::Absent),
            Test::Any(conditions) => raw.any = inner(conditions),
            Test::None(conditions) => raw.none = inner(conditions),
        }
        raw
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HEAD: &str = r#"
id = "checks"
version = 1
description = "Validation"
default = { outcome = "grant", reason = "Fine" }
"#;

    /// A set with one rule `r` whose `when` is `when`.
    fn with_when(when: &str) -> Result<RuleSet, RulesError> {
        with_rules(&format!(
            "[[rules]]\nid = \"r\"\noutcome = \"refer\"\nreason = \"R\"\nwhen = {when}\n"
        ))
    }

    fn with_rules(rules: &str) -> Result<RuleSet, RulesError> {
        RuleSet::from_toml(&format!("{HEAD}\n{rules}"), "checks/v1.toml")
    }

    /// The error message, asserting that it names the file and rule `r`.
    fn error_in_r(when: &str) -> String {
        let err = with_when(when).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, RulesError::Invalid { rule: Some(rule), .. } if rule == "r"),
            "{message}"
        );
        assert!(
            message.starts_with("checks/v1.toml: rule `r`: "),
            "{message}"
        );
        message
    }

    #[test]
    fn a_good_set_reads_into_typed_conditions() {
        let set = with_when(
            r#"[
  { fact = "/a", op = "ge", value = 2 },
  { fact = "/b", op = "in", value = ["x", "y"] },
  { fact = "/c", op = "exists" },
  { fact = "/d", none = [ { fact = "/e", op = "contains", value = "z" } ] },
]"#,
        )
        .unwrap();
        let when = &set.rules[0].when;
        assert_eq!(
            when[0],
            Condition {
                fact: "/a".into(),
                test: Test::Compare {
                    op: Comparison::Ge,
                    value: json!(2)
                }
            }
        );
        assert_eq!(when[1].test, Test::In(vec![json!("x"), json!("y")]));
        assert_eq!(when[2].test, Test::Exists);
        assert_eq!(
            when[3].test,
            Test::None(vec![Condition {
                fact: "/e".into(),
                test: Test::Contains(json!("z"))
            }])
        );
    }

    #[test]
    fn duplicate_rule_ids_are_refused() {
        let rule = "[[rules]]\nid = \"twice\"\noutcome = \"refer\"\nreason = \"R\"\nwhen = []\n";
        let err = with_rules(&format!("{rule}{rule}"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "checks/v1.toml: rule `twice`: id: another rule in this set has the same id"
        );
    }

    #[test]
    fn bad_ids_reasons_and_versions_are_refused() {
        let rule = |id: &str, reason: &str| {
            format!(
                "[[rules]]\nid = \"{id}\"\noutcome = \"refer\"\nreason = \"{reason}\"\nwhen = []\n"
            )
        };
        let err = with_rules(&rule("Bad_Id", "R")).unwrap_err().to_string();
        assert!(
            err.contains("rule `Bad_Id`: id: use lowercase letters, digits and hyphens"),
            "{err}"
        );
        let err = with_rules(&rule("", "R")).unwrap_err().to_string();
        assert!(err.contains("rule `#1`: id: must not be empty"), "{err}");
        let err = with_rules(&rule("r", " ")).unwrap_err().to_string();
        assert!(err.contains("rule `r`: reason: must not be empty"), "{err}");
        let err = RuleSet::from_toml(&HEAD.replace("version = 1", "version = 0"), "x.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "x.toml: version: must be 1 or more");
        let err = RuleSet::from_toml(&HEAD.replace("\"checks\"", "\"Checks\""), "x.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "x.toml: id `Checks`: use lowercase letters, digits and hyphens"
        );
        let err = RuleSet::from_toml(&HEAD.replace("\"Fine\"", "\"\""), "x.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "x.toml: default.reason: must not be empty");
    }

    #[test]
    fn a_rule_must_say_when_it_fires() {
        let err = with_rules("[[rules]]\nid = \"r\"\noutcome = \"refer\"\nreason = \"R\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rule `r`: give `when` (all must hold) or `any_of`"),
            "{err}"
        );
    }

    #[test]
    fn any_of_groups_must_not_be_empty() {
        let rule = |any_of: &str| {
            with_rules(&format!(
                "[[rules]]\nid = \"r\"\noutcome = \"refer\"\nreason = \"R\"\nany_of = {any_of}\n"
            ))
            .unwrap_err()
            .to_string()
        };
        assert!(rule("[]").contains("rule `r`: any_of: give at least one group"));
        let err = rule(r#"[ [ { fact = "/a", op = "exists" } ], [] ]"#);
        assert!(
            err.contains("rule `r`: any_of[1]: an empty group always holds"),
            "{err}"
        );
        let err = rule(r#"[ [ { fact = "a", op = "exists" } ] ]"#);
        assert!(err.contains("rule `r`: any_of[0][0]: fact `a`"), "{err}");
    }

    #[test]
    fn malformed_pointers_are_refused() {
        let err = error_in_r(r#"[ { fact = "identity/confidence", op = "exists" } ]"#);
        assert!(
            err.ends_with("when[0]: fact `identity/confidence`: a JSON Pointer is empty or starts with `/`, e.g. `/identity/confidence`"),
            "{err}"
        );
        let err = error_in_r(r#"[ { fact = "/a~2b", op = "exists" } ]"#);
        assert!(
            err.contains("when[0]: fact `/a~2b`: in a JSON Pointer `~` must be followed by 0 or 1"),
            "{err}"
        );
        let err = error_in_r(r#"[ { fact = "/a", any = [ { fact = "/b~", op = "exists" } ] } ]"#);
        assert!(err.contains("when[0].any[0]: fact `/b~`"), "{err}");
        // Good ones: empty, escaped.
        with_when(r#"[ { fact = "", op = "exists" }, { fact = "/a~0b~1c", op = "exists" } ]"#)
            .unwrap();
    }

    #[test]
    fn a_condition_has_exactly_one_of_op_any_none() {
        let err = error_in_r(r#"[ { fact = "/a" } ]"#);
        assert!(
            err.ends_with("when[0]: give one of `op`, `any` or `none`"),
            "{err}"
        );
        let err = error_in_r(r#"[ { fact = "/a", op = "exists", any = [] } ]"#);
        assert!(
            err.ends_with("when[0]: give only one of `op`, `any` or `none`"),
            "{err}"
        );
        let err = error_in_r(r#"[ { fact = "/a", any = [], none = [] } ]"#);
        assert!(
            err.ends_with("when[0]: give only one of `op`, `any` or `none`"),
            "{err}"
        );
        let err = error_in_r(r#"[ { fact = "/a", none = [], value = 1 } ]"#);
        assert!(
            err.ends_with("when[0]: `value` goes with `op`, not with `none`"),
            "{err}"
        );
    }

    #[test]
    fn values_must_suit_their_op() {
        let cases = [
            (
                r#"{ fact = "/a", op = "exists", value = 1 }"#,
                "`exists` takes no `value`",
            ),
            (
                r#"{ fact = "/a", op = "absent", value = true }"#,
                "`absent` takes no `value`",
            ),
            (
                r#"{ fact = "/a", op = "eq" }"#,
                "`eq` needs a `value`: a string, a number or a boolean",
            ),
            (
                r#"{ fact = "/a", op = "lt", value = true }"#,
                "`lt` needs a number or a string as its `value`, not a boolean",
            ),
            (
                r#"{ fact = "/a", op = "ge", value = [1] }"#,
                "`ge` needs a number or a string as its `value`, not an array",
            ),
            (
                r#"{ fact = "/a", op = "eq", value = { x = 1 } }"#,
                "`eq` needs a string, a number or a boolean as its `value`, not a table",
            ),
            (
                r#"{ fact = "/a", op = "gt", value = 2027-01-10 }"#,
                "`gt` needs a number or a string as its `value`, not an unquoted date or time (quote it: \"2027-01-10\")",
            ),
            (
                r#"{ fact = "/a", op = "in", value = "x" }"#,
                "`in` needs an array of strings, numbers or booleans as its `value`, not a string",
            ),
            (
                r#"{ fact = "/a", op = "not_in", value = [] }"#,
                "`not_in` needs at least one value",
            ),
            (
                r#"{ fact = "/a", op = "in", value = [[1]] }"#,
                "`in` needs an array of strings, numbers or booleans as its `value`, not an array",
            ),
            (
                r#"{ fact = "/a", op = "in", value = ["x", 1] }"#,
                "`in` values must all be of one type; found a string and a number",
            ),
            (
                r#"{ fact = "/a", op = "contains", value = ["x"] }"#,
                "`contains` needs a string, a number or a boolean as its `value`, not an array",
            ),
            (
                r#"{ fact = "/a", op = "lt", value = nan }"#,
                "`lt` needs a number or a string as its `value`, not nan, inf or null",
            ),
        ];
        for (condition, expected) in cases {
            let err = error_in_r(&format!("[ {condition} ]"));
            assert!(
                err.contains(&format!("when[0]: {expected}")),
                "{condition}: {err}"
            );
        }
    }

    #[test]
    fn a_fact_compared_with_a_number_and_a_string_is_refused() {
        let err = with_rules(
            r#"
[[rules]]
id = "low"
outcome = "refer"
reason = "Low"
when = [ { fact = "/rank", op = "lt", value = 2 } ]

[[rules]]
id = "odd"
outcome = "refer"
reason = "Odd"
when = [ { fact = "/rank", op = "in", value = ["1", "2"] } ]
"#,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "checks/v1.toml: rule `odd`: when[0]: fact `/rank` is compared with a string here but with a number in rule `low`; a fact has one type"
        );
        // Inside a quantifier the path is the element's.
        let err = error_in_r(
            r#"[ { fact = "/f", any = [ { fact = "/n", op = "eq", value = 1 } ] },
                 { fact = "/f", none = [ { fact = "/n", op = "eq", value = true } ] } ]"#,
        );
        assert!(
            err.ends_with("when[1].none[0]: fact `/f[*]/n` is compared with a boolean here but with a number elsewhere in this rule; a fact has one type"),
            "{err}"
        );
        // The same pointer on the evidence itself is another fact.
        with_when(
            r#"[ { fact = "/f", any = [ { fact = "/n", op = "eq", value = 1 } ] },
                 { fact = "/n", op = "eq", value = "one" } ]"#,
        )
        .unwrap();
    }

    #[test]
    fn unknown_keys_and_ops_are_refused_naming_the_rule_and_line() {
        let err = with_rules(
            "[[rules]]\nid = \"ok\"\noutcome = \"refer\"\nreason = \"R\"\nwhen = []\n\n[[rules]]\nid = \"typo\"\noutcome = \"refer\"\nreason = \"R\"\nwen = []\n\n[[rules]]\nid = \"after\"\noutcome = \"refer\"\nreason = \"R\"\nwhen = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("checks/v1.toml: rule `typo`: line 17: unknown field `wen`"),
            "{err}"
        );
        let err = error_in_r(r#"[ { fact = "/a", op = "equals", value = 1 } ]"#);
        assert!(err.contains("unknown variant `equals`"), "{err}");
        let err = error_in_r(r#"[ { fact = "/a", op = "eq", vlaue = 1 } ]"#);
        assert!(err.contains("line 11: unknown field `vlaue`"), "{err}");
        let err =
            with_rules("[[rules]]\nid = \"r\"\noutcome = \"deny\"\nreason = \"R\"\nwhen = []\n")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("rule `r`: line 9: unknown variant `deny`"),
            "{err}"
        );
        // At the top level there is no rule to name.
        let err = RuleSet::from_toml(&format!("{HEAD}colour = \"blue\"\n"), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("x.toml: line 6: unknown field `colour`"),
            "{err}"
        );
        let err = RuleSet::from_toml("id = \"x\"\nversion = -1\n", "x.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.toml: line 2: "), "{err}");
    }

    #[test]
    fn a_rule_without_an_id_is_named_by_its_position() {
        let err = with_rules(
            "[[rules]]\nid = \"a\"\noutcome = \"refer\"\nreason = \"R\"\nwhen = []\n[[rules]]\noutcome = \"refer\"\nreason = \"R\"\nwhen = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("rule `#2`: "), "{err}");
        assert!(err.contains("missing field `id`"), "{err}");
    }

    #[test]
    fn syntax_errors_and_garbage_do_not_panic() {
        for text in [
            "",
            "id = ",
            "[[rules]\n",
            "\u{0}\u{1}",
            "rules = 3",
            "id = \"x\"\nversion = 1\ndescription = \"d\"\ndefault = { outcome = \"grant\", reason = \"r\" }\nrules = [1]",
        ] {
            let err = RuleSet::from_toml(text, "junk.toml")
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("junk.toml: "), "{err}");
        }
    }
}
