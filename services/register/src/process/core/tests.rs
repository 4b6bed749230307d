//! The process manager's decisions without a database: opening, joins,
//! late and repeated results, referrals, timeouts, retries, outcome routes
//! and dead letters, on the shipped products.

use std::path::Path;

use casework_contracts::payloads::*;
use casework_contracts::{CaseId, Event, Outcome, PersonId, StepId};
use casework_products::{Product, ProductCatalogue};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::cases::{case, step};

const SOURCE: &str = "/casework/register";

fn products() -> ProductCatalogue {
    ProductCatalogue::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/products"))
        .expect("shipped products")
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 10, minute, 0).unwrap()
}

fn example(product: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "../../schemas/products/{product}/examples/{name}.json"
    ));
    std::fs::read_to_string(path).expect("example")
}

/// A case as it stands after some changes: the row and its steps.
struct Case {
    row: case::Model,
    steps: Vec<step::Model>,
}

impl Case {
    /// Opens a case of `product` with its example `name`.
    fn open(product: &Product, name: &str) -> (Case, Changes) {
        let id = CaseId::generate();
        let mut changes = open(
            product,
            SOURCE,
            at(0),
            Received {
                id: id.to_string(),
                reference: "VV-XQAE-PBE9-2".into(),
                received_at: at(0),
                application: example(&product.id, name),
            },
        )
        .expect("opened");
        let row = changes.case.take().expect("a new case row");
        let case = Case {
            row,
            steps: changes.new_steps.clone(),
        };
        (case, changes)
    }

    fn id(&self) -> CaseId {
        CaseId::from(self.row.id.clone())
    }

    /// Applies a result, and keeps the row and steps current.
    fn apply(&mut self, product: &Product, event: &Event) -> Result<Changes, Refusal> {
        let mut changes = apply_result(
            product,
            SOURCE,
            at(1),
            self.row.clone(),
            self.steps.clone(),
            event,
        )?;
        self.absorb(&mut changes);
        Ok(changes)
    }

    fn absorb(&mut self, changes: &mut Changes) {
        if let Some(row) = changes.case.clone() {
            self.row = row;
        }
        for changed in &changes.changed_steps {
            if let Some(step) = self.steps.iter_mut().find(|s| s.step_id == changed.step_id) {
                *step = changed.clone();
            }
        }
        self.steps.extend(changes.new_steps.clone());
    }

    fn step(&self, check: &str) -> StepId {
        self.steps
            .iter()
            .filter(|s| s.check_id == check)
            .max_by_key(|s| s.attempt)
            .map(|s| s.step_id.parse().unwrap())
            .unwrap_or_else(|| panic!("no step {check}"))
    }

    fn result(&self, check: &str) -> StepResult {
        StepResult {
            case_id: self.id(),
            step_id: self.step(check),
        }
    }

    fn identified(&self) -> Event {
        Event::of(
            "/casework/identify",
            &IdentityEstablished {
                step: self.result("identity"),
                person_id: PersonId::generate(),
                returning: false,
                person_match: PersonMatch {
                    method: "new-person".into(),
                    explanation: "new".into(),
                    decision: None,
                    candidate_person_id: None,
                    weights: None,
                    review_id: None,
                },
                confidence: "high".into(),
                confidence_rank: 3,
                evidence: vec![],
                document: Some(DocumentCheck {
                    valid: true,
                    failures: vec![],
                    format: Some("TD3".into()),
                    document_number: Some("18AB12345".into()),
                    issuing_state: None,
                    nationality: None,
                    date_of_expiry: None,
                    expired: Some(false),
                    matches_applicant: Some(true),
                    basis: None,
                    failure_codes: None,
                }),
            },
        )
    }

    fn screened(&self, check: &str) -> Event {
        Event::of(
            "/casework/investigate",
            &InvestigationCompleted {
                step: self.result(check),
                checks: vec!["warnings".into()],
                findings: vec![],
            },
        )
    }

    fn decided(&self, outcome: Outcome, enforce: bool) -> Event {
        Event::of(
            "/casework/decide",
            &DecisionMade {
                step: self.result("decision"),
                rule_set: "visit-visa".into(),
                rule_set_version: 1,
                reasons: vec!["Because".into()],
                fired: vec![],
                outcome,
                enforce,
                decided_by: "rules".into(),
                approved_by: None,
            },
        )
    }

    fn issued(&self) -> Event {
        Event::of(
            "/casework/fulfil",
            &DocumentIssued {
                step: self.result("fulfil"),
                document_id: "d".into(),
                document_number: "V00000011".into(),
                kind: "visa".into(),
                mrz: None,
                issued_on: at(0).date_naive(),
                valid_until: at(0).date_naive(),
            },
        )
    }
}

fn types(changes: &Changes) -> Vec<&str> {
    changes
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect()
}

fn kinds(changes: &Changes) -> Vec<&str> {
    changes.timeline.iter().map(|(kind, _)| *kind).collect()
}

#[test]
fn opening_a_case_asks_for_its_first_stage_and_acknowledges() {
    let products = products();
    let visa = products.get("visit-visa").unwrap();
    let (case, changes) = Case::open(visa, "valid-tourist");
    assert_eq!(case.row.status, "in-progress");
    assert_eq!(case.row.stage.as_deref(), Some("identity"));
    assert_eq!(case.row.applicant_surname, "Dubois");
    assert_eq!(
        types(&changes),
        ["communicate.requested.v1", "identify.requested.v1"]
    );
    assert_eq!(kinds(&changes), ["application.received", "stage.started"]);
    let request: IdentifyRequested = changes.events[1].payload().unwrap();
    assert_eq!(
        request.step.step_id.to_string(),
        format!("{}/identity/identity/1", case.row.id)
    );
    assert_eq!(request.subject.surname, "Dubois");
    assert_eq!(request.document.map(|d| d.mrz.len()), Some(2));
    assert_eq!(changes.new_steps[0].deadline, Some(at(5)));
}

/// The identify.requested a newly opened case of `product`'s example
/// `name` asks for, checked against the event's schema.
fn identify_request(product: &Product, name: &str) -> (IdentifyRequested, Value) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry =
        casework_contracts::SchemaRegistry::load(&root.join("schemas"), &products().schema_files())
            .expect("shipped schemas");
    let (_, changes) = Case::open(product, name);
    let mut event = changes
        .events
        .iter()
        .find(|e| e.event_type.as_str() == "identify.requested.v1")
        .cloned()
        .expect("an identify.requested");
    registry
        .validate_event(&mut event)
        .unwrap_or_else(|e| panic!("{}/{name}: {e}", product.id));
    (event.payload().unwrap(), event.data)
}

#[test]
fn an_application_with_printed_fields_asks_identify_to_check_them() {
    let products = products();
    for (id, name, number, state, sex) in [
        (
            "visit-visa",
            "valid-printed-passport",
            "C01X00T47",
            "D",
            Some("male"),
        ),
        (
            "passport-renewal",
            "valid-printed-passport",
            "548812390",
            "GBR",
            Some("female"),
        ),
        (
            "dbs-basic-check",
            "valid-printed-document",
            "EK4419270",
            "POL",
            Some("male"),
        ),
    ] {
        let product = products.get(id).unwrap();
        let (request, data) = identify_request(product, name);
        assert_eq!(request.document, None, "{id}: no zone");
        let printed = request.printed_document.expect("printed fields");
        assert_eq!(printed.number, number, "{id}");
        assert_eq!(printed.issuing_state, state, "{id}");
        assert_eq!(printed.sex.as_deref(), sex, "{id}");
        assert!(data["printed_document"]["issue_date"].is_string(), "{data}");
        assert!(
            data["printed_document"]["expiry_date"].is_string(),
            "{data}"
        );
        // The subject is carried as before, its nationality ISO 3166
        // alpha-3 (9303's D for Germany is DEU).
        let nationality = if state == "D" { "DEU" } else { state };
        assert_eq!(
            request.subject.nationality.as_deref(),
            Some(nationality),
            "{id}"
        );
    }
    // With a zone, the zone alone, as before.
    let visa = products.get("visit-visa").unwrap();
    let (request, data) = identify_request(visa, "valid-tourist");
    assert!(request.document.is_some());
    assert!(data.get("printed_document").is_none(), "{data}");
}

#[test]
fn a_visa_runs_from_identity_to_a_closed_case() {
    let products = products();
    let visa = products.get("visit-visa").unwrap();
    let (mut case, _) = Case::open(visa, "valid-tourist");

    let changes = case.apply(visa, &case.identified()).unwrap();
    assert_eq!(types(&changes), ["investigate.requested.v1"]);
    let screening: InvestigateRequested = changes.events[0].payload().unwrap();
    // The document number Identify read becomes the subject's.
    assert_eq!(
        screening.subject.document_number.as_deref(),
        Some("18AB12345")
    );

    let changes = case.apply(visa, &case.screened("screening")).unwrap();
    let decide: DecideRequested = changes.events[0].payload().unwrap();
    assert!(decide.evidence.contains_key("application"));
    assert!(decide.evidence.contains_key("identity"));
    assert!(decide.evidence.contains_key("screening"));

    let changes = case
        .apply(visa, &case.decided(Outcome::Grant, false))
        .unwrap();
    assert_eq!(case.row.status, "decided");
    assert_eq!(case.row.outcome.as_deref(), Some("granted"));
    assert_eq!(
        types(&changes),
        ["communicate.requested.v1", "fulfil.requested.v1"]
    );
    let fulfil: FulfilRequested = changes.events[1].payload().unwrap();
    assert_eq!(fulfil.document.mrz_format.as_deref(), Some("MRV-A"));
    assert!(fulfil.holder.person_id.is_some());
    assert_eq!(kinds(&changes), ["decision.made", "case.decided"]);

    let changes = case.apply(visa, &case.issued()).unwrap();
    assert_eq!(
        types(&changes),
        ["communicate.requested.v1", "case.closed.v1"]
    );
    let told: CommunicateRequested = changes.events[0].payload().unwrap();
    assert_eq!(told.milestone, "document-issued");
    assert_eq!(told.personalisation["document_number"], "V00000011");
    let closed: CaseClosed = changes.events[1].payload().unwrap();
    assert_eq!(closed.outcome, Outcome::Grant);
    assert_eq!(case.row.status, "closed");
    assert_eq!(case.row.closed_at, Some(at(1)));
}

#[test]
fn a_parallel_stage_moves_on_once_both_results_are_in_and_only_once() {
    let products = products();
    let dbs = products.get("dbs-basic-check").unwrap();
    let (mut case, changes) = Case::open(dbs, "valid-no-records");
    assert_eq!(
        types(&changes),
        [
            "communicate.requested.v1",
            "identify.requested.v1",
            "investigate.requested.v1"
        ]
    );
    let records = case.screened("records");
    let changes = case.apply(dbs, &case.identified()).unwrap();
    assert!(changes.events.is_empty(), "one of two results: no move");
    let changes = case.apply(dbs, &records).unwrap();
    assert_eq!(types(&changes), ["decide.requested.v1"]);
    // The same result again changes nothing.
    let again = case.apply(dbs, &records).unwrap();
    assert!(again.is_empty(), "{again:?}");
}

#[test]
fn a_referral_waits_without_a_deadline() {
    let products = products();
    let visa = products.get("visit-visa").unwrap();
    let (mut case, _) = Case::open(visa, "valid-tourist");
    case.apply(visa, &case.identified()).unwrap();
    case.apply(visa, &case.screened("screening")).unwrap();
    let referred = Event::of(
        "/casework/decide",
        &DecisionReferred {
            step: case.result("decision"),
            rule_set: "visit-visa".into(),
            rule_set_version: 1,
            reasons: vec!["A warning matched".into()],
            fired: vec![],
        },
    );
    let changes = case.apply(visa, &referred).unwrap();
    assert_eq!(case.row.status, "referred");
    let step = &changes.changed_steps[0];
    assert_eq!((step.status.as_str(), step.deadline), ("referred", None));
    assert_eq!(
        changes.timeline[0].1,
        "Referred to a caseworker: A warning matched"
    );
    // The caseworker's grant completes the referred step.
    let changes = case
        .apply(visa, &case.decided(Outcome::Grant, false))
        .unwrap();
    assert!(types(&changes).contains(&"fulfil.requested.v1"));
}

#[test]
fn a_refusal_enforces_only_when_the_rules_ask_and_closes_when_done() {
    let products = products();
    let visa = products.get("visit-visa").unwrap();
    let (mut quiet, _) = Case::open(visa, "valid-tourist");
    quiet.apply(visa, &quiet.identified()).unwrap();
    quiet.apply(visa, &quiet.screened("screening")).unwrap();
    let changes = quiet
        .apply(visa, &quiet.decided(Outcome::Refuse, false))
        .unwrap();
    assert_eq!(
        types(&changes),
        ["communicate.requested.v1", "case.closed.v1"],
        "nothing to enforce: closed at once"
    );

    let (mut flagged, _) = Case::open(visa, "valid-tourist");
    flagged.apply(visa, &flagged.identified()).unwrap();
    flagged.apply(visa, &flagged.screened("screening")).unwrap();
    let changes = flagged
        .apply(visa, &flagged.decided(Outcome::Refuse, true))
        .unwrap();
    assert_eq!(
        types(&changes),
        ["communicate.requested.v1", "enforce.requested.v1"]
    );
    assert_eq!(flagged.row.status, "decided");
}

#[test]
fn an_overdue_step_is_stuck_retried_and_a_late_answer_still_counts() {
    let products = products();
    let visa = products.get("visit-visa").unwrap();
    let (mut case, _) = Case::open(visa, "valid-tourist");
    let first = case.identified();

    let waiting = case.steps[0].clone();
    let mut changes = overdue(visa, SOURCE, at(6), case.row.clone(), waiting);
    case.absorb(&mut changes);
    assert_eq!(types(&changes), ["case.stuck.v1"]);
    assert_eq!(case.row.stuck_since, Some(at(6)));
    assert_eq!(case.steps[0].status, "stuck");

    let (step_id, mut changes) = retry(
        visa,
        SOURCE,
        at(7),
        case.row.clone(),
        case.steps.clone(),
        "identity",
        "ada",
    )
    .expect("a stuck check can be asked again");
    case.absorb(&mut changes);
    assert_eq!(step_id.attempt, 2);
    assert_eq!(types(&changes), ["identify.requested.v1"]);
    assert_eq!(
        changes.events[0].data["step_id"],
        json!(step_id.to_string())
    );
    assert_eq!(kinds(&changes), ["step.requested", "step.retried"]);
    // Only a stuck check can be asked again.
    let refused = retry(
        visa,
        SOURCE,
        at(7),
        case.row.clone(),
        case.steps.clone(),
        "identity",
        "ada",
    );
    assert!(refused.unwrap_err().contains("not stuck"));

    // The first attempt answers late: it counts, retires the second and
    // clears the stuck mark.
    let changes = case.apply(visa, &first).unwrap();
    assert!(kinds(&changes).contains(&"step.late"));
    assert_eq!(types(&changes), ["investigate.requested.v1"]);
    assert_eq!(case.row.stuck_since, None);
    let second = case.steps.iter().find(|s| s.attempt == 2).unwrap();
    assert_eq!(second.status, "replaced");
}

#[test]
fn what_cannot_be_applied_is_refused_and_a_dead_letter_marks_the_case_stuck() {
    let products = products();
    let visa = products.get("visit-visa").unwrap();
    let (mut case, _) = Case::open(visa, "valid-tourist");
    let stranger = Event::of(
        "/casework/identify",
        &InvestigationCompleted {
            step: StepResult {
                case_id: case.id(),
                step_id: StepId::new(&case.id(), "checks", "nothing-asked", 1),
            },
            checks: vec![],
            findings: vec![],
        },
    );
    match case.apply(visa, &stranger) {
        Err(Refusal::Refused(reason)) => assert!(reason.contains("never asked for step")),
        other => panic!("{other:?}"),
    }
    let changes = dead_lettered(visa, SOURCE, at(2), case.row.clone(), &stranger, "boom");
    assert_eq!(types(&changes), ["case.stuck.v1"]);
    let stuck: CaseStuck = changes.events[0].payload().unwrap();
    assert!(stuck.reason.ends_with("could not be applied: boom"));
    assert_eq!(changes.case.unwrap().stuck_since, Some(at(2)));
    // A dead letter naming another case's step is recorded without case.stuck.
    let mut foreign = stranger.clone();
    foreign.data["step_id"] = Value::String(format!("{}/a/b/1", CaseId::generate()));
    let changes = dead_lettered(visa, SOURCE, at(2), case.row.clone(), &foreign, "boom");
    assert!(changes.events.is_empty());
    assert_eq!(kinds(&changes), ["case.stuck"]);
}
