//! The shipped rule sets (`config/rules`) decide what their comments say.

use std::path::Path;

use casework_rules::{Outcome, RuleBook};
use serde_json::{Value, json};

fn book() -> RuleBook {
    RuleBook::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/rules"))
        .expect("the shipped rule sets")
}

/// A DBS case whose identity is established and whose records check found
/// one criminal record with `status` on the day of the check.
fn dbs_evidence(status: Option<&str>) -> Value {
    let findings = match status {
        None => json!([]),
        Some(status) => json!([{
            "kind": "criminal-record",
            "source_id": "r-1",
            "matched_on": "name-and-date-of-birth",
            "severity": "high",
            "summary": "Burglary",
            "conviction": {
                "conviction_date": "2024-02-12",
                "date_of_birth": "1990-03-14",
                "rehabilitation": {"status": status, "reason": "…", "table_version": 1, "assessed_on": "2026-12-06"}
            }
        }]),
    };
    json!({
        "application": {},
        "identity": {"document": {"valid": true}, "confidence_rank": 3},
        "records": {"checks": ["criminal-records"], "findings": findings},
    })
}

#[test]
fn a_dbs_record_that_cannot_be_judged_is_referred_and_any_other_is_disclosed() {
    let book = book();
    let rules = book.latest("dbs-basic-check").expect("dbs-basic-check");
    assert_eq!(rules.version, 2);
    for status in [None, Some("spent"), Some("unspent"), Some("never-spent")] {
        let decision = rules.evaluate(&dbs_evidence(status));
        assert_eq!(decision.outcome, Outcome::Grant, "{status:?}: {decision:?}");
    }
    let decision = rules.evaluate(&dbs_evidence(Some("undetermined")));
    assert_eq!(decision.outcome, Outcome::Refer, "{decision:?}");
    let fired: Vec<&str> = decision.fired.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(fired, ["undetermined-record"]);
}
