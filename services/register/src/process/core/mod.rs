//! The process manager's decisions, as pure functions: a case, its steps,
//! its product and one input (an application to open, a result, a deadline
//! passed, a caseworker's retry, a dead letter) in; the case and steps as
//! they are now, the steps asked for, the timeline entries and the events
//! to emit out. No database, no clock, no broker: the shell
//! ([`super::Process`]) loads what this needs, holding the case row, and
//! stores what it returns in the same transaction.

use std::collections::BTreeMap;

use casework_contracts::payloads::{
    DecisionMade, DecisionReferred, DocumentIssued, EnforcementActioned, IdentityEstablished,
    InvestigationCompleted, Payload, StepResult,
};
use casework_contracts::{CaseId, CaseStatus, Event, Outcome, StepStatus, names};
use casework_products::Product;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::cases::{case, step};

use requests::route_of;
pub use requests::{notification, text_at};
pub use stuck::{dead_lettered, overdue, retry};

/// The stage of a case once decided: its outcome route's steps.
pub const OUTCOME_STAGE: &str = "outcome";

/// How long Fulfil and Enforce have to answer an outcome step.
pub const OUTCOME_TIMEOUT_SECONDS: u64 = 300;

/// Why an input cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It never can be (the event is dead-lettered).
    Refused(String),
    /// What is stored is unreadable.
    Corrupt(String),
}

/// What one input changes.
#[derive(Debug, Default)]
pub struct Changes {
    /// The case as it is now, when any of its columns changed.
    pub case: Option<case::Model>,
    /// Steps asked for now.
    pub new_steps: Vec<step::Model>,
    /// Existing steps that changed (status, result, deadline), as they are now.
    pub changed_steps: Vec<step::Model>,
    /// Timeline entries, in order.
    pub timeline: Vec<(&'static str, String)>,
    /// Events to emit, in order.
    pub events: Vec<Event>,
}

impl Changes {
    /// Whether it changes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.case.is_none()
            && self.new_steps.is_empty()
            && self.changed_steps.is_empty()
            && self.timeline.is_empty()
            && self.events.is_empty()
    }
}

/// The case being worked on: its row and steps, kept current as the input
/// is applied, and what has changed.
struct Work<'a> {
    product: &'a Product,
    /// Events' `source`.
    source: &'a str,
    now: DateTime<Utc>,
    case: case::Model,
    case_changed: bool,
    steps: Vec<step::Model>,
    changed: Vec<String>,
    out: Changes,
}

impl<'a> Work<'a> {
    fn new(
        product: &'a Product,
        source: &'a str,
        now: DateTime<Utc>,
        case: case::Model,
        steps: Vec<step::Model>,
    ) -> Self {
        Self {
            product,
            source,
            now,
            case,
            case_changed: false,
            steps,
            changed: Vec::new(),
            out: Changes::default(),
        }
    }

    fn done(mut self) -> Changes {
        if self.case_changed {
            self.case.updated_at = self.now;
            self.out.case = Some(self.case);
        }
        for step in self.steps {
            if self.changed.contains(&step.step_id) {
                self.out.changed_steps.push(step);
            }
        }
        self.out
    }

    fn note(&mut self, kind: &'static str, summary: impl Into<String>) {
        self.out.timeline.push((kind, summary.into()));
    }

    fn emit<P: Payload>(&mut self, payload: &P) {
        self.out.events.push(Event::of(self.source, payload));
    }

    fn set_status(&mut self, status: CaseStatus) {
        self.case.status = status.as_str().to_owned();
        self.case_changed = true;
    }

    fn case_id(&self) -> CaseId {
        CaseId::from(self.case.id.clone())
    }

    fn step_mut(&mut self, step_id: &str) -> Option<&mut step::Model> {
        let step = self.steps.iter_mut().find(|s| s.step_id == step_id)?;
        if !self.changed.iter().any(|c| c == step_id) {
            self.changed.push(step_id.to_owned());
        }
        Some(step)
    }

    /// The application the case was opened with.
    fn application(&self) -> Result<Value, Refusal> {
        serde_json::from_str(&self.case.application)
            .map_err(|e| Refusal::Corrupt(format!("case {}: application: {e}", self.case.id)))
    }

    /// The result of every completed check, by check id.
    fn results(&self) -> BTreeMap<String, Value> {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Done.as_str() && s.stage != OUTCOME_STAGE)
            .filter_map(|s| {
                let result = serde_json::from_str(s.result.as_deref()?).ok()?;
                Some((s.check_id.clone(), result))
            })
            .collect()
    }

    /// Clears the case's stuck mark if no step is stuck now.
    fn clear_stuck_if_none(&mut self) {
        if self.case.stuck_since.is_some()
            && !self
                .steps
                .iter()
                .any(|s| s.status == StepStatus::Stuck.as_str())
        {
            self.case.stuck_since = None;
            self.case_changed = true;
        }
    }

    /// Marks the case stuck (since now, unless it already is).
    fn mark_stuck(&mut self) {
        if self.case.stuck_since.is_none() {
            self.case.stuck_since = Some(self.now);
            self.case_changed = true;
        }
    }
}

/// The application the intake recorded, as the process opens a case for it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The case's id.
    pub id: String,
    /// Its reference.
    pub reference: String,
    /// When the intake took it.
    pub received_at: DateTime<Utc>,
    /// The form as submitted (JSON text).
    pub application: String,
}

/// Opens the case of an application: its row, as it enters its product's
/// first stage; its timeline entry; the acknowledgement and the first
/// stage's requests.
pub fn open(
    product: &Product,
    source: &str,
    now: DateTime<Utc>,
    received: Received,
) -> Result<Changes, Refusal> {
    let application: Value = serde_json::from_str(&received.application).map_err(|err| {
        Refusal::Refused(format!("application {} is not JSON: {err}", received.id))
    })?;
    let field = |pointer: &str| text_at(&application, pointer);
    let surname = field(&product.applicant.surname);
    let case = case::Model {
        id: received.id,
        reference: received.reference,
        product: product.id.clone(),
        status: CaseStatus::Received.as_str().into(),
        applicant_surname_normalised: names::normalise(&surname),
        applicant_surname: surname,
        applicant_date_of_birth: field(&product.applicant.date_of_birth),
        application: received.application,
        received_at: received.received_at,
        updated_at: now,
        stage: None,
        outcome: None,
        stuck_since: None,
        closed_at: None,
    };
    let mut work = Work::new(product, source, now, case, Vec::new());
    work.case_changed = true;
    work.note(
        "application.received",
        format!("{} application received online", product.name),
    );
    work.notify(&application, "received", Map::new());
    work.request_stage(&application, 0, &BTreeMap::new())?;
    Ok(work.done())
}

/// Applies a result event to its case: completes its step and, if that
/// completes a stage or the outcome route, moves the case on. `steps` are
/// every step of the case.
pub fn apply_result(
    product: &Product,
    source: &str,
    now: DateTime<Utc>,
    case: case::Model,
    steps: Vec<step::Model>,
    event: &Event,
) -> Result<Changes, Refusal> {
    let header: StepResult = event.fields().map_err(Refusal::Refused)?;
    let step_id = header.step_id.to_string();
    let step = steps
        .iter()
        .find(|s| s.step_id == step_id)
        .cloned()
        .ok_or_else(|| {
            Refusal::Refused(format!("case {} never asked for step {step_id}", case.id))
        })?;
    let mut work = Work::new(product, source, now, case, steps);
    if [StepStatus::Done.as_str(), StepStatus::Replaced.as_str()].contains(&step.status.as_str()) {
        tracing::info!(%step_id, event_type = %event.event_type, "result for a step already done; ignored");
        return Ok(Changes::default());
    }
    if event.event_type.as_str() == DecisionReferred::TYPE {
        let referred: DecisionReferred = event.payload().map_err(Refusal::Refused)?;
        if let Some(waiting) = work.step_mut(&step_id) {
            // The decide step waits for a caseworker: no deadline meanwhile.
            waiting.status = StepStatus::Referred.as_str().into();
            waiting.deadline = None;
        }
        work.set_status(CaseStatus::Referred);
        work.note(
            "decision.referred",
            format!("Referred to a caseworker: {}", referred.reasons.join("; ")),
        );
        work.clear_stuck_if_none();
        return Ok(work.done());
    }

    // Complete the step, and retire other attempts of the same check.
    let result = event.data.to_string();
    if let Some(answered) = work.step_mut(&step_id) {
        answered.status = StepStatus::Done.as_str().into();
        answered.completed_at = Some(now);
        answered.result = Some(result);
    }
    let open = [
        StepStatus::Requested.as_str(),
        StepStatus::Stuck.as_str(),
        StepStatus::Referred.as_str(),
    ];
    let others: Vec<String> = work
        .steps
        .iter()
        .filter(|s| s.check_id == step.check_id && s.step_id != step.step_id)
        .filter(|s| open.contains(&s.status.as_str()))
        .map(|s| s.step_id.clone())
        .collect();
    for other in &others {
        if let Some(retired) = work.step_mut(other) {
            retired.status = StepStatus::Replaced.as_str().into();
        }
    }
    if step.status == StepStatus::Stuck.as_str() {
        work.note(
            "step.late",
            format!("{} answered after its deadline", step.check_id),
        );
    }
    let (kind, summary) = summarise(event);
    work.note(kind, summary);
    work.clear_stuck_if_none();
    let application = work.application()?;

    if step.stage == OUTCOME_STAGE {
        if step.capability == "fulfil"
            && let Some(milestone) = work
                .case
                .outcome
                .as_deref()
                .and_then(Outcome::from_past_tense)
                .and_then(|o| route_of(product, o))
                .and_then(|r| r.fulfil.as_ref())
                .and_then(|f| f.notify.clone())
        {
            let issued: DocumentIssued = event.payload().map_err(Refusal::Refused)?;
            let mut extra = Map::new();
            extra.insert("document_number".into(), json!(issued.document_number));
            extra.insert("valid_until".into(), json!(issued.valid_until));
            work.notify(&application, &milestone, extra);
        }
        work.close_if_done();
        return Ok(work.done());
    }

    // The join: has every check of this stage a result now?
    let results = work.results();
    let Some(index) = product.stages.iter().position(|s| s.id == step.stage) else {
        return Err(Refusal::Refused(format!(
            "product `{}` has no stage `{}` any more",
            product.id, step.stage
        )));
    };
    if !product.stages[index]
        .checks
        .iter()
        .all(|c| results.contains_key(&c.id))
    {
        return Ok(work.done());
    }
    if index + 1 < product.stages.len() {
        work.request_stage(&application, index + 1, &results)?;
    } else {
        let decision: DecisionMade = event.payload().map_err(Refusal::Refused)?;
        work.decided(&application, &decision, &results)?;
    }
    Ok(work.done())
}

/// The timeline entry of a result: its kind, and what it says without
/// personal data.
fn summarise(event: &Event) -> (&'static str, String) {
    match event.event_type.as_str() {
        IdentityEstablished::TYPE => (
            "identity.established",
            match event.payload::<IdentityEstablished>() {
                Ok(p) => format!(
                    "Identity established: {} person, confidence {}",
                    if p.returning { "returning" } else { "new" },
                    p.confidence
                ),
                Err(_) => "Identity established".into(),
            },
        ),
        InvestigationCompleted::TYPE => (
            "investigation.completed",
            format!(
                "Screening completed: {} finding(s)",
                event
                    .payload::<InvestigationCompleted>()
                    .map_or(0, |p| p.findings.len())
            ),
        ),
        DecisionMade::TYPE => (
            "decision.made",
            match event.payload::<DecisionMade>() {
                Ok(p) => format!(
                    "Decision: {} (rule set {} v{})",
                    p.outcome, p.rule_set, p.rule_set_version
                ),
                Err(_) => "Decision".into(),
            },
        ),
        DocumentIssued::TYPE => (
            "document.issued",
            match event.payload::<DocumentIssued>() {
                Ok(p) => format!("Document issued: {} {}", p.kind, p.document_number),
                Err(_) => "Document issued".into(),
            },
        ),
        EnforcementActioned::TYPE => (
            "enforcement.actioned",
            format!(
                "Enforcement action recorded: {}",
                event
                    .payload::<EnforcementActioned>()
                    .map_or_else(|_| "?".to_owned(), |p| p.action)
            ),
        ),
        _ => ("result", format!("{} received", event.event_type)),
    }
}

mod requests;
mod stuck;
#[cfg(test)]
mod tests;
