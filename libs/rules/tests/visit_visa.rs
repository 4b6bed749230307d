//! The example visit visa table in `tests/fixtures/rules`, evaluated against
//! sample evidence as the Decide service would.

use std::path::{Path, PathBuf};

use casework_rules::{Decision, FiredRule, Outcome, RuleBook, RuleSet};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn book() -> RuleBook {
    RuleBook::load(&fixtures().join("rules")).unwrap()
}

fn latest() -> RuleSet {
    book().latest("visit-visa").unwrap().clone()
}

/// The sample evidence: a clean identity, one high-severity warning.
fn sample() -> Value {
    let text = std::fs::read_to_string(fixtures().join("evidence/high-warning.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The sample without its findings.
fn clean() -> Value {
    let mut evidence = sample();
    evidence["investigation"]["findings"] = json!([]);
    evidence
}

fn fired(decision: &Decision) -> Vec<&str> {
    decision.fired.iter().map(|rule| rule.id.as_str()).collect()
}

#[test]
fn the_book_holds_both_versions_and_decides_with_the_latest() {
    let book = book();
    assert_eq!(book.ids().collect::<Vec<_>>(), ["visit-visa"]);
    assert_eq!(book.versions("visit-visa").collect::<Vec<_>>(), [1, 2]);
    assert_eq!(latest().version, 2);
}

#[test]
fn a_high_warning_is_referred() {
    let decision = latest().evaluate(&sample());
    assert_eq!(
        decision,
        Decision {
            outcome: Outcome::Refer,
            reasons: vec!["A check returned a serious warning".into()],
            fired: vec![FiredRule {
                id: "adverse-warning".into(),
                outcome: Outcome::Refer,
                reason: "A check returned a serious warning".into(),
                enforce: false,
            }],
            rule_set: "visit-visa".into(),
            rule_set_version: 2,
            enforce: false,
        }
    );
}

#[test]
fn version_1_did_not_look_at_warnings() {
    let decision = book().get("visit-visa", 1).unwrap().evaluate(&sample());
    assert_eq!(decision.outcome, Outcome::Grant);
    assert_eq!(decision.rule_set_version, 1);
    assert_eq!(
        decision.reasons,
        ["Identity established and no adverse findings"]
    );
}

#[test]
fn clean_evidence_is_granted_by_default() {
    let decision = latest().evaluate(&clean());
    assert_eq!(decision.outcome, Outcome::Grant);
    assert!(decision.fired.is_empty());
    assert_eq!(
        decision.reasons,
        ["Identity established and no adverse findings"]
    );
}

#[test]
fn a_low_severity_warning_is_not_serious() {
    let mut evidence = sample();
    evidence["investigation"]["findings"][0]["severity"] = json!("low");
    assert_eq!(latest().evaluate(&evidence).outcome, Outcome::Grant);
}

#[test]
fn a_lost_or_stolen_document_is_refused_for_enforcement_whatever_else_fired() {
    let mut evidence = sample();
    evidence["investigation"]["findings"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({ "kind": "lost-stolen-document", "category": "document", "severity": "high" }),
        );
    evidence["identity"]["confidence_rank"] = json!(1);
    let decision = latest().evaluate(&evidence);
    assert_eq!(decision.outcome, Outcome::Refuse);
    assert!(decision.enforce);
    assert_eq!(
        decision.reasons,
        ["The passport presented is recorded as lost or stolen"]
    );
    assert_eq!(
        fired(&decision),
        [
            "lost-stolen-document",
            "low-identity-confidence",
            "adverse-warning"
        ]
    );
}

#[test]
fn two_refusals_give_both_reasons_in_file_order() {
    let mut evidence = clean();
    evidence["investigation"]["findings"] = json!([{ "kind": "lost-stolen-document" }]);
    evidence["identity"]["document"]["valid"] = json!(false);
    let decision = latest().evaluate(&evidence);
    assert_eq!(
        decision.reasons,
        [
            "The passport presented is recorded as lost or stolen",
            "The passport presented is not valid"
        ]
    );
}

#[test]
fn missing_identity_is_referred_but_a_missing_purpose_is_not_evidence() {
    let mut evidence = clean();
    evidence["identity"] = json!({});
    evidence["application"]
        .as_object_mut()
        .unwrap()
        .remove("purpose");
    let decision = latest().evaluate(&evidence);
    assert_eq!(decision.outcome, Outcome::Refer);
    // `not_in` does not fire on the absent purpose; `lt` does not fire on
    // the absent rank; `absent` does.
    assert_eq!(fired(&decision), ["identity-not-assessed"]);
}

#[test]
fn the_purpose_and_dates_are_checked() {
    let mut evidence = clean();
    evidence["application"]["purpose"] = json!("work");
    assert_eq!(fired(&latest().evaluate(&evidence)), ["purpose-not-visit"]);

    let mut evidence = clean();
    evidence["application"]["travel"]["departure"] = json!("2028-01-02");
    assert_eq!(fired(&latest().evaluate(&evidence)), ["long-stay"]);

    let mut evidence = clean();
    evidence["application"]["travel"]["arrival"] = json!("2025-12-31");
    assert_eq!(fired(&latest().evaluate(&evidence)), ["long-stay"]);
}

#[test]
fn the_decision_serializes_for_the_audit_trail() {
    let decision = latest().evaluate(&sample());
    let json = serde_json::to_value(&decision).unwrap();
    assert_eq!(json["outcome"], "refer");
    assert_eq!(json["rule_set"], "visit-visa");
    assert_eq!(json["rule_set_version"], 2);
    assert_eq!(json["fired"][0]["id"], "adverse-warning");
}
