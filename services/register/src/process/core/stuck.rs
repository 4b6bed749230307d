//! When a case is stuck: a step past its deadline, a caseworker asking
//! again, a result that could not be applied.

use casework_contracts::payloads::CaseStuck;
use casework_contracts::{CaseId, Event, EventType, StepId, StepStatus};
use casework_products::Product;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Changes, OUTCOME_TIMEOUT_SECONDS, Work};
use crate::cases::{case, step};

/// A step past its deadline with no answer: the step is stuck, the case
/// marked stuck, and `case.stuck` says why.
pub fn overdue(
    product: &Product,
    source: &str,
    now: DateTime<Utc>,
    case: case::Model,
    overdue: step::Model,
) -> Changes {
    let reason = format!(
        "{} did not answer {} within its deadline",
        overdue.capability, overdue.check_id
    );
    let step_id = overdue.step_id.clone();
    let mut work = Work::new(product, source, now, case, vec![overdue]);
    if let Some(stuck) = work.step_mut(&step_id) {
        stuck.status = StepStatus::Stuck.as_str().into();
    }
    work.mark_stuck();
    if let Ok(step_id) = step_id.parse() {
        work.emit(&CaseStuck {
            case_id: work.case_id(),
            reference: work.case.reference.clone(),
            step_id,
            reason: reason.clone(),
        });
    }
    work.note("case.stuck", format!("Stuck: {reason}"));
    work.done()
}

/// Asks again for a stuck check, as a new attempt: the same request under
/// a new step id. The new step id, or why it cannot be asked again.
pub fn retry(
    product: &Product,
    source: &str,
    now: DateTime<Utc>,
    case: case::Model,
    steps: Vec<step::Model>,
    check_id: &str,
    by: &str,
) -> Result<(StepId, Changes), String> {
    let Some(latest) = steps
        .iter()
        .filter(|s| s.check_id == check_id)
        .max_by_key(|s| s.attempt)
        .cloned()
    else {
        return Err(format!("case {} has no step `{check_id}`", case.reference));
    };
    if latest.status != StepStatus::Stuck.as_str() {
        return Err(format!(
            "step `{check_id}` is {}, not stuck; only a stuck step can be requested again",
            latest.status
        ));
    }
    let Ok(Value::Object(mut request)) = serde_json::from_str::<Value>(&latest.request) else {
        return Err(format!("the request of step `{check_id}` is unreadable"));
    };
    let attempt = u32::try_from(latest.attempt).unwrap_or(0) + 1;
    let step_id = StepId::new(
        &CaseId::from(case.id.clone()),
        &latest.stage,
        check_id,
        attempt,
    );
    request.insert("step_id".into(), json!(step_id));
    let timeout = product
        .stages
        .iter()
        .flat_map(|s| &s.checks)
        .find(|c| c.id == check_id)
        .map_or(OUTCOME_TIMEOUT_SECONDS, |c| c.timeout_seconds);
    let mut work = Work::new(product, source, now, case, steps);
    work.out.new_steps.push(step::Model {
        step_id: step_id.to_string(),
        case_id: work.case.id.clone(),
        stage: latest.stage.clone(),
        check_id: check_id.to_owned(),
        capability: latest.capability.clone(),
        attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
        status: StepStatus::Requested.as_str().into(),
        requested_at: now,
        deadline: Some(now + chrono::Duration::seconds(i64::try_from(timeout).unwrap_or(0))),
        completed_at: None,
        result: None,
        request: Value::Object(request.clone()).to_string(),
    });
    // The stored request, re-sent as it was asked: its type is the step's
    // capability's request.
    work.out.events.push(Event::new(
        source,
        EventType::new(format!("{}.requested.v1", latest.capability)),
        &work.case.id,
        Value::Object(request),
    ));
    work.note(
        "step.requested",
        format!(
            "{check_id} requested again from {} (attempt {attempt})",
            latest.capability
        ),
    );
    work.note(
        "step.retried",
        format!("{check_id} requested again by {by} (attempt {attempt})"),
    );
    Ok((step_id, work.done()))
}

/// A result meant for the case could not be applied and went to the DLQ:
/// the case is marked stuck so a caseworker sees it.
pub fn dead_lettered(
    product: &Product,
    source: &str,
    now: DateTime<Utc>,
    case: case::Model,
    event: &Event,
    error: &str,
) -> Changes {
    let mut work = Work::new(product, source, now, case, Vec::new());
    work.mark_stuck();
    let reason = format!("{} could not be applied: {error}", event.event_type);
    // Only a well-formed step id of this case's can go in case.stuck.
    let step_id = event
        .data
        .get("step_id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<StepId>().ok())
        .filter(|id| id.case_id.as_str() == work.case.id);
    if let Some(step_id) = step_id {
        work.emit(&CaseStuck {
            case_id: work.case_id(),
            reference: work.case.reference.clone(),
            step_id,
            reason: reason.clone(),
        });
    }
    work.note("case.stuck", format!("Stuck: {reason}"));
    work.done()
}
