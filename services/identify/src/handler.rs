//! Answering `identify.requested`: the document check, the person resolved,
//! the confidence, and `identity.established`.

use std::sync::Arc;

use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::Event;
use casework_contracts::PersonId;
use casework_contracts::payloads::{
    IdentifyRequested, IdentityEstablished, PersonMatch, StepResult, Subject,
};
use casework_matching::{Explanation, Identifier as RecordIdentifier, Record};
use casework_runtime::telemetry;
use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseTransaction, TryInsertResult};
use serde_json::Value;

use crate::confidence::{self, DocumentFinding, Facts};
use crate::persons::{Linked, PersonIndex, Resolution, Source};
use crate::tables::{identity_check, person_document};
use crate::{document, printed};

/// Answers `identify.requested`: checks the document, resolves the person,
/// rates the confidence, records the check and emits `identity.established`
/// in the consumer's transaction.
#[derive(Debug, Clone)]
pub struct Identifier {
    outbox: Outbox,
    persons: Arc<PersonIndex>,
}

impl Identifier {
    /// A handler resolving applicants in `persons` and emitting through `outbox`.
    pub fn new(outbox: Outbox, persons: Arc<PersonIndex>) -> Self {
        Self { outbox, persons }
    }
}

#[async_trait]
impl EventHandler for Identifier {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let request: IdentifyRequested = event.payload().map_err(HandlerError::Refused)?;
        if let Some(done) = identity_check::Entity::find_by_id(request.step.step_id.to_string())
            .one(txn)
            .await?
        {
            tracing::info!(step_id = %done.step_id, case_id = %done.case_id, "step already answered; not answering again");
            return Ok(());
        }
        let Some(result) = identify(txn, &self.persons, &request).await? else {
            return Ok(());
        };
        let mut established = Event::of(self.outbox.source(), &result);
        established.traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        self.outbox.append(txn, [established]).await?;
        Ok(())
    }
}

/// Does the work of one request and returns the `identity.established`
/// payload; `None` if another delivery of the step answered it first.
async fn identify(
    txn: &DatabaseTransaction,
    persons: &PersonIndex,
    request: &IdentifyRequested,
) -> Result<Option<IdentityEstablished>, HandlerError> {
    let case_id = request.step.case_id.to_string();
    let step_id = request.step.step_id.to_string();
    let document_required = match request.step.params.get("document_required") {
        None => true,
        Some(Value::Bool(required)) => *required,
        Some(other) => {
            return Err(HandlerError::Refused(format!(
                "params.document_required is {other}, expected true or false"
            )));
        }
    };
    let subject = &request.subject;
    // A zone when there is one; else the printed fields, if given.
    let reading = match (&request.document, &request.printed_document) {
        (Some(d), _) => Some(document::read(
            &d.mrz,
            request.application_date,
            Some(subject),
        )),
        (None, Some(p)) => Some(printed::read(p, request.application_date, Some(subject))),
        (None, None) => None,
    };
    let finding = reading
        .as_ref()
        .map_or(DocumentFinding::Absent, |r| r.finding());
    // Only a valid zone of the applicant's is theirs to record (printed
    // fields alone are not: no zone was seen, no names compared).
    let applicants_zone = reading
        .as_ref()
        .filter(|_| matches!(finding, DocumentFinding::Good | DocumentFinding::Expired))
        .and_then(|r| r.zone.as_ref());
    let nationality = subject
        .nationality
        .clone()
        .or_else(|| applicants_zone.map(|z| z.nationality.clone()));
    let record = subject_record(
        subject,
        nationality,
        applicants_zone.map(|z| z.document_number.as_str()),
    )?;
    let resolution = persons
        .resolve(
            txn,
            &record,
            Source::Application(&case_id, &request.step.reference),
        )
        .await?;
    let person = resolution.person.clone();
    let returning = resolution.linked == Linked::Match;
    let documented_before = returning
        && person_document::Entity::find()
            .filter(person_document::Column::PersonId.eq(&person.id))
            .one(txn)
            .await?
            .is_some();
    if let Some(zone) = applicants_zone {
        let document = person_document::ActiveModel {
            person_id: sea_orm::Set(person.id.clone()),
            document_number: sea_orm::Set(zone.document_number.clone()),
            format: sea_orm::Set(zone.format.to_string()),
            issuing_state: sea_orm::Set(zone.issuing_state.clone()),
            expiry: sea_orm::Set(zone.date_of_expiry.to_string()),
            case_id: sea_orm::Set(case_id.clone()),
            recorded_at: sea_orm::Set(Utc::now()),
            ..Default::default()
        };
        person_document::Entity::insert(document)
            .on_conflict_do_nothing_on([
                person_document::Column::PersonId,
                person_document::Column::IssuingState,
                person_document::Column::DocumentNumber,
            ])
            .exec_without_returning(txn)
            .await?;
    }
    let (level, rule) = confidence::rate(&Facts {
        document: finding,
        document_required,
        returning,
        documented_before,
    });
    let person_match = explain_match(&resolution);
    let explanation = person_match.explanation.clone();
    let mut evidence = match &reading {
        Some(reading) => reading.notes.clone(),
        None => vec!["no identity document was presented".to_owned()],
    };
    evidence.push(explanation.clone());
    evidence.push(format!("confidence {}: {rule}", level.as_str()));
    let result = IdentityEstablished {
        step: StepResult {
            case_id: request.step.case_id.clone(),
            step_id: request.step.step_id.clone(),
        },
        person_id: PersonId::from(person.id.clone()),
        returning,
        person_match,
        confidence: level.as_str().to_owned(),
        confidence_rank: level.rank(),
        evidence,
        document: reading.as_ref().map(|r| r.check.clone()),
    };
    let check = identity_check::ActiveModel {
        step_id: sea_orm::Set(step_id.clone()),
        case_id: sea_orm::Set(case_id.clone()),
        person_id: sea_orm::Set(person.id.clone()),
        confidence: sea_orm::Set(level.as_str().to_owned()),
        result: sea_orm::Set(
            serde_json::to_value(&result)
                .unwrap_or(Value::Null)
                .to_string(),
        ),
        created_at: sea_orm::Set(Utc::now()),
    };
    let recorded = identity_check::Entity::insert(check)
        .on_conflict_do_nothing_on([identity_check::Column::StepId])
        .exec_without_returning(txn)
        .await?;
    if !matches!(recorded, TryInsertResult::Inserted(1..)) {
        tracing::info!(%step_id, "step answered concurrently; not answering again");
        return Ok(None);
    }
    tracing::info!(%case_id, %step_id, person_id = %person.id, returning, confidence = level.as_str(), "identity established");
    Ok(Some(result))
}

/// The applicant as the matching engine reads them: names, date of birth,
/// nationality, and the number of a valid document of theirs.
fn subject_record(
    subject: &Subject,
    nationality: Option<String>,
    document_number: Option<&str>,
) -> Result<Record, HandlerError> {
    if !subject
        .surname
        .chars()
        .chain(subject.given_names.chars())
        .any(char::is_alphanumeric)
    {
        return Err(HandlerError::Refused(format!(
            "the subject's names `{}` `{}` have no letters",
            subject.given_names, subject.surname
        )));
    }
    Ok(Record {
        given_names: subject.given_names.clone(),
        surname: subject.surname.clone(),
        date_of_birth: Some(subject.date_of_birth.to_string()),
        nationality,
        identifiers: document_number
            .or(subject.document_number.as_deref())
            .map(|number| RecordIdentifier {
                scheme: "document".to_owned(),
                value: number.to_owned(),
            })
            .into_iter()
            .collect(),
        ..Record::default()
    })
}

/// The match as the event tells it: method, decision, weights, and a
/// sentence for caseworkers.
fn explain_match(resolution: &Resolution) -> PersonMatch {
    let person = &resolution.person;
    let weighed = |best: &(String, f64, Explanation)| {
        let (_, weight, explanation) = best;
        let fields: Vec<String> = explanation
            .fields
            .iter()
            .filter(|f| f.level != "missing")
            .map(|f| format!("{} {} {:+.1}", f.field.replace('_', " "), f.level, f.weight))
            .collect();
        format!(
            "weight {weight:.1} (probability {:.4}): {}{}",
            explanation.probability,
            fields.join(", "),
            if explanation.names_swapped {
                "; given names and surname swapped"
            } else {
                ""
            }
        )
    };
    let explanation = match (resolution.linked, &resolution.best) {
        (_, _) if resolution.already_linked => format!(
            "person {}: this case's applicant was linked to them before",
            person.id
        ),
        (Linked::Match, Some(best)) => format!(
            "returning person {}, recorded on {}: {}",
            person.id,
            person.created_at.date_naive(),
            weighed(best)
        ),
        (Linked::Review, Some(best)) => format!(
            "new person {}, provisionally: possibly person {} ({}); recorded for review {}",
            person.id,
            best.0,
            weighed(best),
            resolution.review_id.as_deref().unwrap_or_default()
        ),
        (_, Some(best)) => format!(
            "new person {}: the nearest person in the index, {}, weighs too little ({})",
            person.id,
            best.0,
            weighed(best)
        ),
        (_, None) => format!(
            "new person {}: no person in the index shares a name, date of birth or document with the applicant",
            person.id
        ),
    };
    let decision = resolution.best.as_ref().map(|_| {
        match resolution.linked {
            Linked::Match => "match",
            Linked::Review => "possible-match",
            Linked::New => "non-match",
        }
        .to_owned()
    });
    PersonMatch {
        method: if resolution.linked == Linked::Match {
            "normalised-name-and-date-of-birth"
        } else {
            "new-person"
        }
        .to_owned(),
        explanation,
        decision,
        candidate_person_id: resolution.best.as_ref().map(|b| b.0.clone()),
        weights: resolution
            .best
            .as_ref()
            .and_then(|b| serde_json::to_value(&b.2).ok()),
        review_id: resolution.review_id.clone(),
    }
}
