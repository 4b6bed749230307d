//! Conditions on the evidence, and how they are evaluated.
//!
//! A condition names a fact with an RFC 6901 JSON Pointer and tests it. The
//! evaluation rules are chosen so that missing or malformed evidence never
//! makes a rule fire by accident:
//!
//! - A fact that is absent, or JSON `null`, is *absent*. Only `absent` and
//!   `none` hold on an absent fact. In particular `ne` and `not_in` do **not**
//!   hold: absence is not evidence that the fact differs, so a rule such as
//!   "refer if the purpose is not tourism" stays silent when the purpose is
//!   missing. Write an `absent` condition when absence itself matters.
//! - A fact of the wrong type (a string where the table compares with a
//!   number, an object where it expects an array) is not evidence either way:
//!   every test on it is false, `ne` and `not_in` included.
//! - Numbers compare numerically (`2` equals `2.0`); strings compare by their
//!   bytes, which orders ISO 8601 dates (`2027-01-10`) chronologically.

use std::cmp::Ordering;

use serde_json::{Number, Value};

/// One test on one fact of the evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// An RFC 6901 JSON Pointer: into the evidence for a rule's conditions,
    /// into the array element for conditions inside `any` / `none`. The empty
    /// pointer names the whole document (or element).
    pub fact: String,
    /// What must be true of the fact.
    pub test: Test,
}

/// What a [`Condition`] checks about its fact.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// The fact compares with a value (a string, number or boolean; only
    /// strings and numbers for the ordering comparisons).
    Compare {
        /// How to compare.
        op: Comparison,
        /// What to compare with.
        value: Value,
    },
    /// The fact equals one of these values (all of one type).
    In(Vec<Value>),
    /// The fact is present, has the values' type, and equals none of them.
    NotIn(Vec<Value>),
    /// The fact is an array with an element equal to the value, or a string
    /// containing the value (a string).
    Contains(Value),
    /// The fact is present and not `null`.
    Exists,
    /// The fact is missing or `null`.
    Absent,
    /// The fact is an array and some element satisfies every condition
    /// (with pointers relative to the element). With no conditions: the
    /// array is not empty.
    Any(Vec<Condition>),
    /// The fact is absent, or an array in which no element satisfies every
    /// condition. With no conditions: the array is absent or empty.
    None(Vec<Condition>),
}

/// The comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Equal.
    Eq,
    /// Not equal (false when the fact is absent or of another type).
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

impl Comparison {
    /// Whether the operator orders its operands (and so takes only numbers
    /// and strings) rather than testing equality.
    pub fn is_ordering(self) -> bool {
        !matches!(self, Comparison::Eq | Comparison::Ne)
    }
}

impl Condition {
    /// Whether the condition holds of `root` (the evidence, or the array
    /// element when the condition is inside `any` / `none`).
    pub fn holds(&self, root: &Value) -> bool {
        let fact = lookup(root, &self.fact);
        match &self.test {
            Test::Compare { op, value } => fact.is_some_and(|fact| compare(fact, *op, value)),
            Test::In(values) => fact.is_some_and(|fact| values.iter().any(|v| equal(fact, v))),
            Test::NotIn(values) => fact.is_some_and(|fact| {
                values.first().is_some_and(|first| same_type(fact, first))
                    && !values.iter().any(|v| equal(fact, v))
            }),
            Test::Contains(value) => fact.is_some_and(|fact| contains(fact, value)),
            Test::Exists => fact.is_some(),
            Test::Absent => fact.is_none(),
            Test::Any(conditions) => match fact {
                Some(Value::Array(items)) => items.iter().any(|item| all_hold(conditions, item)),
                _ => false,
            },
            Test::None(conditions) => match fact {
                None => true,
                Some(Value::Array(items)) => !items.iter().any(|item| all_hold(conditions, item)),
                Some(_) => false,
            },
        }
    }
}

/// Whether every condition holds (true for none: an empty `when` fires).
pub(crate) fn all_hold(conditions: &[Condition], root: &Value) -> bool {
    conditions.iter().all(|condition| condition.holds(root))
}

/// The fact at `pointer`, treating JSON `null` as absent.
fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    root.pointer(pointer).filter(|value| !value.is_null())
}

fn compare(fact: &Value, op: Comparison, value: &Value) -> bool {
    let Some(ordering) = order(fact, value) else {
        return false;
    };
    match op {
        Comparison::Eq => ordering == Ordering::Equal,
        Comparison::Ne => ordering != Ordering::Equal,
        Comparison::Lt => ordering == Ordering::Less,
        Comparison::Le => ordering != Ordering::Greater,
        Comparison::Gt => ordering == Ordering::Greater,
        Comparison::Ge => ordering != Ordering::Less,
    }
}

/// How two scalars of the same type order; `None` when their types differ or
/// they are not scalars. Booleans only ever reach here through `eq` / `ne`
/// (the loader refuses `lt true`), so ordering them `false < true` is
/// harmless.
fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => order_numbers(a, b),
        (Value::String(a), Value::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// Compares exactly when both are integers, else as floating point.
fn order_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return Some(a.cmp(&b));
    }
    a.as_f64()?.partial_cmp(&b.as_f64()?)
}

fn equal(a: &Value, b: &Value) -> bool {
    order(a, b) == Some(Ordering::Equal)
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn contains(fact: &Value, value: &Value) -> bool {
    match (fact, value) {
        (Value::Array(items), _) => items.iter().any(|item| equal(item, value)),
        (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cmp(fact: &str, op: Comparison, value: Value) -> Condition {
        Condition {
            fact: fact.into(),
            test: Test::Compare { op, value },
        }
    }

    fn cond(fact: &str, test: Test) -> Condition {
        Condition {
            fact: fact.into(),
            test,
        }
    }

    fn evidence() -> Value {
        json!({
            "application": {
                "purpose": "tourism",
                "travel": { "arrival": "2027-01-10", "departure": "2027-01-20" },
                "nothing": null,
            },
            "identity": {
                "confidence": "high",
                "confidence_rank": 3,
                "score": 0.75,
                "document": { "valid": true, "failures": [] },
                "names": ["ANNA", "MARIA"],
            },
            "investigation": { "findings": [
                { "kind": "warning", "category": "immigration", "severity": "high",
                  "matches": [ { "source": "pnc" }, { "source": "warnings-index" } ] },
                { "kind": "note", "category": "customs", "severity": "low", "matches": [] },
            ] },
            "a/b": { "m~n": 1 },
        })
    }

    #[test]
    fn eq_and_ne_on_strings_numbers_and_booleans() {
        let e = evidence();
        use Comparison::*;
        assert!(cmp("/application/purpose", Eq, json!("tourism")).holds(&e));
        assert!(!cmp("/application/purpose", Eq, json!("study")).holds(&e));
        assert!(cmp("/application/purpose", Ne, json!("study")).holds(&e));
        assert!(!cmp("/application/purpose", Ne, json!("tourism")).holds(&e));
        assert!(cmp("/identity/confidence_rank", Eq, json!(3)).holds(&e));
        assert!(cmp("/identity/confidence_rank", Eq, json!(3.0)).holds(&e));
        assert!(cmp("/identity/confidence_rank", Ne, json!(2)).holds(&e));
        assert!(cmp("/identity/document/valid", Eq, json!(true)).holds(&e));
        assert!(cmp("/identity/document/valid", Ne, json!(false)).holds(&e));
    }

    #[test]
    fn ordering_comparisons_on_numbers() {
        let e = evidence();
        use Comparison::*;
        let rank = |op, v: Value| cmp("/identity/confidence_rank", op, v).holds(&e);
        assert!(rank(Lt, json!(4)) && !rank(Lt, json!(3)));
        assert!(rank(Le, json!(3)) && !rank(Le, json!(2)));
        assert!(rank(Gt, json!(2)) && !rank(Gt, json!(3)));
        assert!(rank(Ge, json!(3)) && !rank(Ge, json!(4)));
        assert!(rank(Gt, json!(2.5)) && rank(Lt, json!(3.5)));
        assert!(rank(Gt, json!(-1)) && rank(Lt, json!(u64::MAX)));
        let score = |op, v: Value| cmp("/identity/score", op, v).holds(&e);
        assert!(score(Lt, json!(1)) && score(Gt, json!(0.5)) && score(Eq, json!(0.75)));
    }

    #[test]
    fn strings_compare_lexicographically_so_iso_dates_work() {
        let e = evidence();
        use Comparison::*;
        assert!(cmp("/application/travel/arrival", Lt, json!("2027-01-20")).holds(&e));
        assert!(cmp("/application/travel/arrival", Ge, json!("2027-01-10")).holds(&e));
        assert!(!cmp("/application/travel/arrival", Gt, json!("2027-01-10")).holds(&e));
        assert!(cmp("/application/travel/departure", Le, json!("2027-02-01")).holds(&e));
        assert!(cmp("/identity/confidence", Gt, json!("and")).holds(&e));
    }

    #[test]
    fn a_type_mismatch_is_false_for_every_comparison_and_ne() {
        let e = evidence();
        for op in [
            Comparison::Eq,
            Comparison::Ne,
            Comparison::Lt,
            Comparison::Le,
            Comparison::Gt,
            Comparison::Ge,
        ] {
            // A number fact against a string value, and the other way round.
            assert!(!cmp("/identity/confidence_rank", op, json!("3")).holds(&e));
            assert!(!cmp("/identity/confidence", op, json!(3)).holds(&e));
            // Objects and arrays are not scalars.
            assert!(!cmp("/identity/document", op, json!("x")).holds(&e));
            assert!(!cmp("/identity/names", op, json!("ANNA")).holds(&e));
        }
        assert!(!cond("/identity/confidence_rank", Test::NotIn(vec![json!("1")])).holds(&e));
        assert!(!cond("/identity/confidence_rank", Test::In(vec![json!("3")])).holds(&e));
    }

    #[test]
    fn an_absent_or_null_fact_is_false_except_for_absent_and_none() {
        let e = evidence();
        for fact in [
            "/application/missing",
            "/application/nothing",
            "/nope/deeper",
        ] {
            for op in [
                Comparison::Eq,
                Comparison::Ne,
                Comparison::Lt,
                Comparison::Le,
                Comparison::Gt,
                Comparison::Ge,
            ] {
                assert!(!cmp(fact, op, json!("x")).holds(&e), "{fact} {op:?}");
            }
            assert!(!cond(fact, Test::In(vec![json!("x")])).holds(&e));
            assert!(!cond(fact, Test::NotIn(vec![json!("x")])).holds(&e));
            assert!(!cond(fact, Test::Contains(json!("x"))).holds(&e));
            assert!(!cond(fact, Test::Exists).holds(&e));
            assert!(cond(fact, Test::Absent).holds(&e));
            assert!(!cond(fact, Test::Any(vec![])).holds(&e));
            assert!(cond(fact, Test::None(vec![])).holds(&e));
        }
    }

    #[test]
    fn exists_and_absent() {
        let e = evidence();
        assert!(cond("/identity/document/failures", Test::Exists).holds(&e));
        assert!(cond("/identity/document/valid", Test::Exists).holds(&e));
        assert!(!cond("/identity/document/valid", Test::Absent).holds(&e));
        assert!(cond("", Test::Exists).holds(&e));
    }

    #[test]
    fn in_and_not_in() {
        let e = evidence();
        let purpose = |test| cond("/application/purpose", test).holds(&e);
        assert!(purpose(Test::In(vec![json!("study"), json!("tourism")])));
        assert!(!purpose(Test::In(vec![json!("study"), json!("work")])));
        assert!(purpose(Test::NotIn(vec![json!("study"), json!("work")])));
        assert!(!purpose(Test::NotIn(vec![json!("tourism")])));
        let rank = |test| cond("/identity/confidence_rank", test).holds(&e);
        assert!(rank(Test::In(vec![json!(1), json!(3.0)])));
        assert!(rank(Test::NotIn(vec![json!(1), json!(2)])));
    }

    #[test]
    fn contains_on_arrays_and_strings() {
        let e = evidence();
        assert!(cond("/identity/names", Test::Contains(json!("MARIA"))).holds(&e));
        assert!(!cond("/identity/names", Test::Contains(json!("maria"))).holds(&e));
        assert!(!cond("/identity/names", Test::Contains(json!(1))).holds(&e));
        assert!(cond("/application/purpose", Test::Contains(json!("uris"))).holds(&e));
        assert!(!cond("/application/purpose", Test::Contains(json!("study"))).holds(&e));
        // A number is neither an array nor a string.
        assert!(!cond("/identity/confidence_rank", Test::Contains(json!(3))).holds(&e));
        // A string never contains a number.
        assert!(!cond("/application/purpose", Test::Contains(json!(1))).holds(&e));
        assert!(!cond("/identity/document/failures", Test::Contains(json!("x"))).holds(&e));
    }

    #[test]
    fn any_and_none_quantify_over_elements_with_relative_pointers() {
        let e = evidence();
        let findings = "/investigation/findings";
        let high_warning = vec![
            cmp("/kind", Comparison::Eq, json!("warning")),
            cmp("/severity", Comparison::Eq, json!("high")),
        ];
        assert!(cond(findings, Test::Any(high_warning.clone())).holds(&e));
        assert!(!cond(findings, Test::None(high_warning)).holds(&e));
        // All conditions must hold of the same element.
        let mixed = vec![
            cmp("/kind", Comparison::Eq, json!("note")),
            cmp("/severity", Comparison::Eq, json!("high")),
        ];
        assert!(!cond(findings, Test::Any(mixed.clone())).holds(&e));
        assert!(cond(findings, Test::None(mixed)).holds(&e));
        // With no conditions: non-empty / empty.
        assert!(cond(findings, Test::Any(vec![])).holds(&e));
        assert!(!cond("/identity/document/failures", Test::Any(vec![])).holds(&e));
        assert!(cond("/identity/document/failures", Test::None(vec![])).holds(&e));
        // The empty pointer is the element itself.
        let anna = vec![cmp("", Comparison::Eq, json!("ANNA"))];
        assert!(cond("/identity/names", Test::Any(anna.clone())).holds(&e));
        assert!(!cond("/identity/names", Test::None(anna)).holds(&e));
    }

    #[test]
    fn nested_any_and_none() {
        let e = evidence();
        let from = |source: &str| {
            vec![cond(
                "/matches",
                Test::Any(vec![cmp("/source", Comparison::Eq, json!(source))]),
            )]
        };
        let findings = "/investigation/findings";
        assert!(cond(findings, Test::Any(from("pnc"))).holds(&e));
        assert!(!cond(findings, Test::Any(from("interpol"))).holds(&e));
        assert!(cond(findings, Test::None(from("interpol"))).holds(&e));
        // A finding with no matches at all.
        let no_matches = vec![cond("/matches", Test::None(vec![]))];
        assert!(cond(findings, Test::Any(no_matches)).holds(&e));
    }

    #[test]
    fn any_and_none_on_a_non_array_are_false() {
        let e = evidence();
        assert!(!cond("/identity/document", Test::Any(vec![])).holds(&e));
        assert!(!cond("/identity/document", Test::None(vec![])).holds(&e));
        assert!(!cond("/application/purpose", Test::None(vec![])).holds(&e));
    }

    #[test]
    fn pointers_unescape_tilde_and_slash() {
        let e = evidence();
        assert!(cmp("/a~1b/m~0n", Comparison::Eq, json!(1)).holds(&e));
        assert!(
            cmp(
                "/investigation/findings/1/kind",
                Comparison::Eq,
                json!("note")
            )
            .holds(&e)
        );
    }
}
