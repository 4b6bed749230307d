//! Answering `identify.requested`: the document check, the person resolved,
//! the confidence, and `identity.established`.

use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::Event;
use casework_contracts::PersonId;
use casework_contracts::names::normalise;
use casework_contracts::payloads::{
    IdentifyRequested, IdentityEstablished, PersonMatch, StepResult, Subject,
};
use casework_runtime::telemetry;
use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseTransaction, IntoActiveModel, TryInsertResult};
use serde_json::Value;

use crate::confidence::{self, DocumentFinding, Facts};
use crate::tables::{identity_check, person, person_document};
use crate::{document, printed};

/// Answers `identify.requested`: checks the document, resolves the person,
/// rates the confidence, records the check and emits `identity.established`
/// in the consumer's transaction.
#[derive(Debug, Clone)]
pub struct Identifier {
    outbox: Outbox,
}

impl Identifier {
    /// A handler emitting through `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
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
        let Some(result) = identify(txn, &request).await? else {
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
    let (person, returning) = resolve(txn, subject, nationality).await?;
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
    let (method, explanation) = explain_match(&person, returning);
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
        person_match: PersonMatch {
            method: method.to_owned(),
            explanation,
        },
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

/// The person the subject is: the one with their match key, or a new one.
async fn resolve(
    txn: &DatabaseTransaction,
    subject: &Subject,
    nationality: Option<String>,
) -> Result<(person::Model, bool), HandlerError> {
    let surname = normalise(&subject.surname);
    let given_names = normalise(&subject.given_names);
    if surname.is_empty() {
        return Err(HandlerError::Refused(format!(
            "the subject's surname `{}` has no letters",
            subject.surname
        )));
    }
    let date_of_birth = subject.date_of_birth.to_string();
    let find = || {
        person::Entity::find()
            .filter(person::Column::NormalisedSurname.eq(&surname))
            .filter(person::Column::DateOfBirth.eq(&date_of_birth))
            .filter(person::Column::NormalisedGivenNames.eq(&given_names))
            .one(txn)
    };
    if let Some(existing) = find().await? {
        return Ok((existing, true));
    }
    let new = person::Model {
        id: Uuid::now_v7().to_string(),
        given_names: subject.given_names.trim().to_owned(),
        surname: subject.surname.trim().to_owned(),
        normalised_given_names: given_names.clone(),
        normalised_surname: surname.clone(),
        date_of_birth: date_of_birth.clone(),
        nationality,
        created_at: Utc::now(),
    };
    let inserted = person::Entity::insert(new.clone().into_active_model())
        .on_conflict_do_nothing_on([
            person::Column::NormalisedSurname,
            person::Column::DateOfBirth,
            person::Column::NormalisedGivenNames,
        ])
        .exec_without_returning(txn)
        .await?;
    // Without RETURNING, a conflict shows as no rows inserted.
    if let TryInsertResult::Inserted(1..) = inserted {
        return Ok((new, false));
    }
    // A concurrent request recorded the same person first.
    let existing = find().await?.ok_or_else(|| {
        DbErr::RecordNotFound("the person recorded concurrently is not visible".into())
    })?;
    Ok((existing, true))
}

fn explain_match(person: &person::Model, returning: bool) -> (&'static str, String) {
    let key = format!(
        "surname {}, given names {} and date of birth {}",
        person.normalised_surname, person.normalised_given_names, person.date_of_birth
    );
    if returning {
        (
            "normalised-name-and-date-of-birth",
            format!(
                "returning person {}: normalised {key} equal those of the person recorded on {}",
                person.id,
                person.created_at.date_naive()
            ),
        )
    } else {
        (
            "new-person",
            format!(
                "new person {}: no person in the index has normalised {key}",
                person.id
            ),
        )
    }
}
