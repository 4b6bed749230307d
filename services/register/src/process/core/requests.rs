//! How the process manager asks for work: each capability's request from
//! the case, its application and the results so far; the outcome route;
//! the notifications; closing.

use std::collections::BTreeMap;

use casework_contracts::payloads::{
    CaseClosed, CommunicateRequested, DecideRequested, DecisionMade, DocumentSpec,
    EnforceRequested, Finding, FulfilRequested, Holder, IdentifyRequested, InvestigateRequested,
    Payload, PresentedDocument, PrintedDocument, Recipient, StepRequest, Subject,
};
use casework_contracts::{CaseId, CaseStatus, Event, Outcome, PersonId, StepId, StepStatus};
use casework_products::{Capability, Check, OutcomeRoute, Product};
use serde_json::{Map, Value, json};

use super::{OUTCOME_STAGE, OUTCOME_TIMEOUT_SECONDS, Refusal, Work};
use crate::cases::{case, step};

impl Work<'_> {
    /// The header of a request for `step_id`.
    pub(super) fn request_header(
        &self,
        step_id: &StepId,
        params: &Map<String, Value>,
    ) -> StepRequest {
        StepRequest {
            case_id: self.case_id(),
            reference: self.case.reference.clone(),
            product: self.case.product.clone(),
            step_id: step_id.clone(),
            params: params.clone(),
        }
    }

    /// Records a step asked for now and queues its request.
    pub(super) fn record_step<P: Payload>(
        &mut self,
        step_id: &StepId,
        capability: &str,
        timeout_seconds: Option<u64>,
        request: &P,
    ) {
        let deadline = timeout_seconds.map(|s| {
            self.now + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
        });
        self.out.new_steps.push(step::Model {
            step_id: step_id.to_string(),
            case_id: self.case.id.clone(),
            stage: step_id.stage.clone(),
            check_id: step_id.check.clone(),
            capability: capability.to_owned(),
            attempt: i32::try_from(step_id.attempt).unwrap_or(i32::MAX),
            status: StepStatus::Requested.as_str().to_owned(),
            requested_at: self.now,
            deadline,
            completed_at: None,
            result: None,
            request: serde_json::to_string(request).unwrap_or_default(),
        });
        self.emit(request);
    }

    /// Asks for every check of the stage at `index`, moving the case to it.
    pub(super) fn request_stage(
        &mut self,
        application: &Value,
        index: usize,
        results: &BTreeMap<String, Value>,
    ) -> Result<(), Refusal> {
        let product = self.product;
        let Some(stage) = product.stages.get(index) else {
            return Ok(());
        };
        for check in &stage.checks {
            self.request_check(application, &stage.id, check, results)?;
        }
        self.note(
            "stage.started",
            format!(
                "Stage `{}` started: {}",
                stage.id,
                stage
                    .checks
                    .iter()
                    .map(|c| format!("{} ({})", c.id, c.capability.service()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        self.case.stage = Some(stage.id.clone());
        self.set_status(CaseStatus::InProgress);
        Ok(())
    }

    /// Records the first attempt of a check and emits its request.
    pub(super) fn request_check(
        &mut self,
        application: &Value,
        stage: &str,
        check: &Check,
        results: &BTreeMap<String, Value>,
    ) -> Result<(), Refusal> {
        let step_id = StepId::new(&self.case_id(), stage, &check.id, 1);
        let step = self.request_header(&step_id, &check.params);
        let subject = subject(self.product, application, results)?;
        let timeout = Some(check.timeout_seconds);
        let service = check.capability.service().as_str();
        match check.capability {
            Capability::Identify => {
                let document = self
                    .product
                    .applicant
                    .document_mrz
                    .as_deref()
                    .and_then(|pointer| application.pointer(pointer))
                    .and_then(|mrz| serde_json::from_value(mrz.clone()).ok())
                    .map(|mrz| PresentedDocument { mrz });
                // Without a zone, the fields printed on the document, if given.
                let printed_document = match document {
                    Some(_) => None,
                    None => printed_document(self.product, application),
                };
                let request = IdentifyRequested {
                    step,
                    application_date: self.case.received_at.date_naive(),
                    subject,
                    document,
                    printed_document,
                };
                self.record_step(&step_id, service, timeout, &request);
            }
            Capability::Investigate => {
                let request = InvestigateRequested { step, subject };
                self.record_step(&step_id, service, timeout, &request);
            }
            Capability::Decide => {
                let mut evidence = Map::new();
                evidence.insert("application".into(), application.clone());
                evidence.extend(results.clone());
                let mut step = step;
                if !self.product.four_eyes.is_empty() {
                    // Decide holds a caseworker's decision with these
                    // outcomes for a second person.
                    step.params
                        .insert("four_eyes".into(), self.product.four_eyes.clone().into());
                }
                let request = DecideRequested {
                    step,
                    rule_set: self.product.rule_set.clone(),
                    evidence,
                };
                self.record_step(&step_id, service, timeout, &request);
            }
        }
        Ok(())
    }

    /// A `communicate.requested` for `milestone`, if the product tells the
    /// applicant of it.
    pub(super) fn notify(
        &mut self,
        application: &Value,
        milestone: &str,
        extra: Map<String, Value>,
    ) {
        if let Some(event) = notification(self.product, &self.case, application, milestone, extra) {
            self.out.events.push(Event::of(self.source, &event));
        }
    }

    /// The decision is in: record it on the case and start the outcome route.
    pub(super) fn decided(
        &mut self,
        application: &Value,
        decision: &DecisionMade,
        results: &BTreeMap<String, Value>,
    ) -> Result<(), Refusal> {
        let product = self.product;
        let route = route_of(product, decision.outcome).ok_or_else(|| {
            Refusal::Refused(format!(
                "decision outcome `{}` is neither grant nor refuse",
                decision.outcome
            ))
        })?;
        let past = decision.outcome.past_tense().unwrap_or_default();
        self.case.outcome = Some(past.to_owned());
        self.case.stage = Some(OUTCOME_STAGE.to_owned());
        self.set_status(CaseStatus::Decided);
        let reasons = decision.reasons.join("; ");
        if let Some(milestone) = &route.notify {
            let mut extra = Map::new();
            extra.insert("reasons".into(), json!(reasons));
            self.notify(application, milestone, extra);
        }
        let subject = subject(product, application, results)?;
        if let Some(fulfil) = &route.fulfil {
            let step_id = StepId::new(&self.case_id(), OUTCOME_STAGE, "fulfil", 1);
            let mut params = Map::new();
            if let Some(level) = &fulfil.disclosure {
                params.insert("disclosure".into(), json!(level));
            }
            let person_id = results
                .values()
                .find_map(|r| r.get("person_id").and_then(Value::as_str))
                .map(PersonId::from);
            // What every check found: a certificate states it; any other
            // document ignores it.
            let disclosure: Vec<Finding> = results
                .values()
                .filter_map(|r| r.get("findings"))
                .filter_map(|f| serde_json::from_value::<Vec<Finding>>(f.clone()).ok())
                .flatten()
                .collect();
            let request = FulfilRequested {
                step: self.request_header(&step_id, &params),
                document: DocumentSpec {
                    kind: fulfil.document.clone(),
                    mrz_format: fulfil.mrz_format.clone(),
                    valid_for_days: fulfil.valid_for_days,
                },
                holder: Holder {
                    given_names: subject.given_names.clone(),
                    surname: subject.surname.clone(),
                    date_of_birth: subject.date_of_birth,
                    nationality: subject.nationality.clone(),
                    sex: optional_text(application, product.applicant.sex.as_deref())
                        .map(str::to_owned),
                    person_id,
                    document_number: subject.document_number.clone(),
                },
                disclosure: Some(disclosure),
            };
            self.record_step(&step_id, "fulfil", Some(OUTCOME_TIMEOUT_SECONDS), &request);
        }
        if let Some(enforce) = &route.enforce
            && (!enforce.only_if_rules_ask || decision.enforce)
        {
            let step_id = StepId::new(&self.case_id(), OUTCOME_STAGE, "enforce", 1);
            let request = EnforceRequested {
                step: self.request_header(&step_id, &Map::new()),
                action: enforce.action.clone(),
                subject,
                reasons: decision.reasons.clone(),
            };
            self.record_step(&step_id, "enforce", Some(OUTCOME_TIMEOUT_SECONDS), &request);
        }
        let verdict = if decision.outcome == Outcome::Grant {
            "Granted"
        } else {
            "Refused"
        };
        self.note(
            "case.decided",
            format!("{verdict} by {}: {reasons}", decision.decided_by),
        );
        self.close_if_done();
        Ok(())
    }

    /// Closes the case if its outcome route has nothing left to do.
    pub(super) fn close_if_done(&mut self) {
        let waiting = [StepStatus::Requested.as_str(), StepStatus::Stuck.as_str()];
        let open = self.out.new_steps.iter().any(|s| s.stage == OUTCOME_STAGE)
            || self
                .steps
                .iter()
                .any(|s| s.stage == OUTCOME_STAGE && waiting.contains(&s.status.as_str()));
        if open {
            return;
        }
        let outcome = self
            .case
            .outcome
            .as_deref()
            .and_then(Outcome::from_past_tense);
        let Some(outcome) = outcome else { return };
        self.case.closed_at = Some(self.now);
        self.set_status(CaseStatus::Closed);
        self.emit(&CaseClosed {
            case_id: self.case_id(),
            reference: self.case.reference.clone(),
            product: self.case.product.clone(),
            outcome,
            closed_at: self.now,
        });
        let past = outcome.past_tense().unwrap_or_default();
        self.note("case.closed", format!("Case closed: {past}"));
    }
}

/// A `communicate.requested` for `milestone`, if the product tells the
/// applicant of it.
pub fn notification(
    product: &Product,
    case: &case::Model,
    application: &Value,
    milestone: &str,
    extra: Map<String, Value>,
) -> Option<CommunicateRequested> {
    let template = product.notifications.get(milestone)?;
    let field = |pointer: &str| text_at(application, pointer);
    let mut personalisation = Map::new();
    personalisation.insert("reference".into(), json!(case.reference));
    personalisation.insert(
        "given_names".into(),
        json!(field(&product.applicant.given_names)),
    );
    personalisation.insert("surname".into(), json!(field(&product.applicant.surname)));
    personalisation.insert("product_name".into(), json!(product.name));
    personalisation.insert(
        "service_level_days".into(),
        json!(product.service_level_days),
    );
    personalisation.extend(extra);
    Some(CommunicateRequested {
        case_id: CaseId::from(case.id.clone()),
        reference: case.reference.clone(),
        product: product.id.clone(),
        milestone: milestone.to_owned(),
        template: template.clone(),
        recipient: Recipient {
            email: field(&product.applicant_email),
        },
        personalisation,
    })
}

/// Who a check is about: the applicant as the form states them, with the
/// identity document's number once a check has read it.
pub(super) fn subject(
    product: &Product,
    application: &Value,
    results: &BTreeMap<String, Value>,
) -> Result<Subject, Refusal> {
    let born = text_at(application, &product.applicant.date_of_birth);
    let date_of_birth = born.parse().map_err(|_| {
        Refusal::Refused(format!(
            "the application's date of birth `{born}` is not a date"
        ))
    })?;
    let document_number = results
        .values()
        .find_map(|r| {
            r.pointer("/document/document_number")
                .and_then(Value::as_str)
        })
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    Ok(Subject {
        given_names: text_at(application, &product.applicant.given_names),
        surname: text_at(application, &product.applicant.surname),
        date_of_birth,
        nationality: optional_text(application, product.applicant.nationality.as_deref())
            .and_then(subject_nationality),
        document_number,
    })
}

/// A nationality as the events' subject carries it, ISO 3166-1 alpha-3,
/// from the application's ICAO 9303 code: 9303's one code of another length,
/// `D` (Germany), is `DEU`; every other 9303 code is three letters already
/// (`GBR`, `GBN`, `XXA`). Anything else is no nationality: the subject's
/// schema admits three letters only.
fn subject_nationality(code: &str) -> Option<String> {
    match code {
        "D" => Some("DEU".to_owned()),
        code if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) => {
            Some(code.to_owned())
        }
        _ => None,
    }
}

/// The identity document's printed fields, when the product's form has them
/// and the application gives all four; with the applicant's sex, if stated.
fn printed_document(product: &Product, application: &Value) -> Option<PrintedDocument> {
    let object = application.pointer(product.applicant.document_printed.as_deref()?)?;
    let field = |name: &str| object.get(name).and_then(Value::as_str).map(str::to_owned);
    Some(PrintedDocument {
        number: field("number")?,
        issuing_state: field("issuing_state")?,
        issue_date: field("issue_date")?,
        expiry_date: field("expiry_date")?,
        sex: optional_text(application, product.applicant.sex.as_deref()).map(str::to_owned),
    })
}

/// The text at an optional pointer of the product's, if the form has it.
fn optional_text<'a>(document: &'a Value, pointer: Option<&str>) -> Option<&'a str> {
    pointer
        .and_then(|p| document.pointer(p))
        .and_then(Value::as_str)
}

/// The text at one of the product's pointers ("" when the form lacks it).
pub fn text_at(document: &Value, pointer: &str) -> String {
    document
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The product's route for a grant or a refusal.
pub(super) fn route_of(product: &Product, outcome: Outcome) -> Option<&OutcomeRoute> {
    match outcome {
        Outcome::Grant => Some(&product.outcomes.grant),
        Outcome::Refuse => Some(&product.outcomes.refuse),
        Outcome::Refer => None,
    }
}
