//! The checks, and the consumer that runs them: `investigate.requested` in,
//! `investigation.completed` out; `enforcement.actioned` adds warnings.

use std::sync::Arc;

use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::Event;
use casework_contracts::names::normalise;
use casework_contracts::payloads::{
    Conviction, EnforcementActioned, Finding, FindingKind, InvestigateRequested,
    InvestigationCompleted, MatchedOn, Payload, Severity, StepResult, Subject, WatchlistEntryAdded,
};
use casework_disclosure::{RecordFacts, RehabilitationTable, RehabilitationTables, Status};
use casework_runtime::{Clock, telemetry};
use chrono::{NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use crate::tables::{criminal_record, investigation, lost_stolen_document, watchlist_entry};
use crate::{insert_new, normalise_document_number};

/// The request Investigate consumes.
pub const INVESTIGATE_REQUESTED: &str = InvestigateRequested::TYPE;
/// Enforce's record of an action, which may ask for a warnings-index entry.
pub const ENFORCEMENT_ACTIONED: &str = EnforcementActioned::TYPE;

/// One of the checks a request can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// The warnings index, by name and date of birth.
    Warnings,
    /// Criminal records, by name and date of birth.
    CriminalRecords,
    /// Lost and stolen documents, by document number.
    LostStolenDocuments,
}

impl Check {
    /// Every check, in the order they run and report.
    pub const ALL: [Check; 3] = [
        Check::Warnings,
        Check::CriminalRecords,
        Check::LostStolenDocuments,
    ];

    /// Its name in `params.checks` and in the result.
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Warnings => "warnings",
            Check::CriminalRecords => "criminal-records",
            Check::LostStolenDocuments => "lost-stolen-documents",
        }
    }

    /// The check of that name.
    pub fn parse(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The checks `params` asks for (`params.checks`; all three when absent),
    /// deduplicated, in [`Check::ALL`] order.
    pub fn from_params(params: &Value) -> Result<Vec<Check>, String> {
        let Some(requested) = params.get("checks").filter(|v| !v.is_null()) else {
            return Ok(Check::ALL.to_vec());
        };
        let names = requested
            .as_array()
            .ok_or("params.checks must be a list of check names")?;
        let mut checks = Vec::new();
        for name in names {
            let check = name.as_str().and_then(Check::parse).ok_or_else(|| {
                format!(
                    "params.checks: unknown check {name}; known: warnings, criminal-records, lost-stolen-documents"
                )
            })?;
            checks.push(check);
        }
        checks.sort();
        checks.dedup();
        Ok(checks)
    }
}

/// How serious a conviction is for screening: a spent one is `low` (it is
/// disclosed on enhanced checks only, and a decision should rarely turn on
/// it); any other, unspent, never spent or undetermined, is `high`.
pub fn conviction_severity(status: Status) -> Severity {
    match status {
        Status::Spent => Severity::Low,
        Status::Unspent | Status::NeverSpent | Status::Undetermined => Severity::High,
    }
}

/// The facts of a stored record.
fn facts_of(record: &criminal_record::Model) -> RecordFacts {
    RecordFacts {
        conviction_date: record.conviction_date,
        date_of_birth: record.date_of_birth,
        disposal_kind: record.disposal_kind.clone(),
        // Checked on import; a length that no longer parses is a missing fact.
        sentence_length: record
            .sentence_length
            .as_deref()
            .and_then(|l| l.parse().ok()),
        sentence_ends_on: record.sentence_ends_on,
        order_ends_on: record.order_ends_on,
        order_has_no_end_date: record.order_has_no_end_date,
        conditions_end_on: record.conditions_end_on,
        schedule_18: record.schedule_18,
        summary_only: record.summary_only,
    }
}

/// How serious a reported document is: `critical` if stolen (it may be in
/// an impostor's hands), `high` if lost.
pub fn document_severity(status: &str) -> Severity {
    if status == "stolen" {
        Severity::Critical
    } else {
        Severity::High
    }
}

/// Runs `checks` for `subject` on `today`. Names match exactly in
/// comparison form ([`normalise`]) together with the date of birth;
/// documents match by normalised number. The criminal records found are
/// assessed together with `table` (a further conviction can extend an
/// earlier one's period). Findings come in check order, then most severe
/// first, then by record id, so the same data always gives the same answer.
pub async fn screen<C: ConnectionTrait>(
    db: &C,
    subject: &Subject,
    checks: &[Check],
    table: &RehabilitationTable,
    today: NaiveDate,
) -> Result<Vec<Finding>, HandlerError> {
    let surname = normalise(&subject.surname);
    let given_names = normalise(&subject.given_names);
    let mut findings = Vec::new();
    for check in checks {
        let mut found = match check {
            Check::Warnings => watchlist_entry::Entity::find()
                .filter(watchlist_entry::Column::NormalisedSurname.eq(&surname))
                .filter(watchlist_entry::Column::DateOfBirth.eq(subject.date_of_birth))
                .filter(watchlist_entry::Column::NormalisedGivenNames.eq(&given_names))
                .order_by_asc(watchlist_entry::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|e| Finding {
                    kind: FindingKind::Warning,
                    source_id: e.id,
                    matched_on: MatchedOn::NameAndDateOfBirth,
                    // Checked on the way in (import, enforcement, seed).
                    severity: Severity::parse(&e.severity).unwrap_or(Severity::High),
                    category: Some(e.category),
                    summary: e.summary,
                    recorded_on: Some(e.created_at.date_naive()),
                    conviction: None,
                })
                .collect::<Vec<_>>(),
            Check::CriminalRecords => {
                let records = criminal_record::Entity::find()
                    .filter(criminal_record::Column::NormalisedSurname.eq(&surname))
                    .filter(criminal_record::Column::DateOfBirth.eq(subject.date_of_birth))
                    .filter(criminal_record::Column::NormalisedGivenNames.eq(&given_names))
                    .order_by_asc(criminal_record::Column::Id)
                    .all(db)
                    .await?;
                let facts: Vec<RecordFacts> = records.iter().map(facts_of).collect();
                let assessed = table.assess(&facts, today);
                records
                    .into_iter()
                    .zip(facts)
                    .zip(assessed)
                    .map(|((r, facts), rehabilitation)| Finding {
                        kind: FindingKind::CriminalRecord,
                        source_id: r.id,
                        matched_on: MatchedOn::NameAndDateOfBirth,
                        severity: conviction_severity(rehabilitation.status),
                        category: None,
                        // The date is `recorded_on`, beside it.
                        summary: format!("{} ({}, {})", r.offence, r.disposal, r.court),
                        recorded_on: Some(r.conviction_date),
                        conviction: Some(Conviction {
                            facts,
                            rehabilitation,
                        }),
                    })
                    .collect()
            }
            Check::LostStolenDocuments => {
                let number = subject
                    .document_number
                    .as_deref()
                    .and_then(normalise_document_number);
                let Some(number) = number else { continue };
                lost_stolen_document::Entity::find()
                    .filter(lost_stolen_document::Column::DocumentNumber.eq(&number))
                    .order_by_asc(lost_stolen_document::Column::Id)
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|d| Finding {
                        kind: FindingKind::LostStolenDocument,
                        source_id: d.id,
                        matched_on: MatchedOn::DocumentNumber,
                        severity: document_severity(&d.status),
                        summary: format!(
                            "Document {} issued by {} was reported {} on {}",
                            d.document_number, d.issuing_state, d.status, d.reported_on
                        ),
                        category: Some(d.status),
                        recorded_on: Some(d.reported_on),
                        conviction: None,
                    })
                    .collect()
            }
        };
        // Most severe first; `sort_by_key` is stable, so ids stay in order.
        found.sort_by_key(|f| std::cmp::Reverse(f.severity));
        findings.extend(found);
    }
    Ok(findings)
}

/// Investigate's consumer: answers `investigate.requested` once per step,
/// and adds the warnings-index entries `enforcement.actioned` asks for, once
/// per action.
#[derive(Debug, Clone)]
pub struct Investigator {
    outbox: Outbox,
    rehabilitation: Arc<RehabilitationTables>,
    clock: Clock,
}

impl Investigator {
    /// The consumer, emitting through Investigate's outbox, judging
    /// criminal records with the latest of `rehabilitation` on the clock's
    /// today.
    pub fn new(outbox: Outbox, rehabilitation: Arc<RehabilitationTables>, clock: Clock) -> Self {
        Self {
            outbox,
            rehabilitation,
            clock,
        }
    }

    async fn investigate(
        &self,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let request: InvestigateRequested = event.payload().map_err(HandlerError::Refused)?;
        let checks = Check::from_params(&Value::Object(request.step.params.clone()))
            .map_err(HandlerError::Refused)?;
        let findings = screen(
            txn,
            &request.subject,
            &checks,
            self.rehabilitation.latest(),
            self.clock.today(),
        )
        .await?;
        let result = InvestigationCompleted {
            step: StepResult {
                case_id: request.step.case_id.clone(),
                step_id: request.step.step_id.clone(),
            },
            checks: checks.iter().map(|c| c.as_str().to_owned()).collect(),
            findings,
        };
        let step_id = request.step.step_id.to_string();
        let case_id = request.step.case_id.to_string();
        // Recording the step first decides whether this delivery answers it:
        // a second delivery (even in a concurrent transaction) inserts nothing.
        let recorded = insert_new(
            txn,
            vec![investigation::ActiveModel {
                step_id: Set(step_id.clone()),
                case_id: Set(case_id.clone()),
                reference: Set(request.step.reference.clone()),
                result: Set(serde_json::to_value(&result).unwrap_or(Value::Null)),
                created_at: Set(Utc::now()),
            }],
        )
        .await?;
        if recorded == 0 {
            tracing::info!(%step_id, "step already investigated; not answering again");
            return Ok(());
        }
        tracing::info!(%case_id, %step_id, findings = result.findings.len(), "investigation completed");
        let completed = Event::of(self.outbox.source(), &result);
        self.emit(txn, event, completed).await
    }

    async fn add_to_watchlist(
        &self,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let actioned: EnforcementActioned = event.payload().map_err(HandlerError::Refused)?;
        let Some(wanted) = actioned.watchlist else {
            return Ok(());
        };
        let subject = actioned.subject;
        let severity = wanted.severity;
        let entry_id = uuid::Uuid::now_v7().to_string();
        let added = insert_new(
            txn,
            vec![watchlist_entry::ActiveModel {
                id: Set(entry_id.clone()),
                normalised_given_names: Set(normalise(&subject.given_names)),
                normalised_surname: Set(normalise(&subject.surname)),
                given_names: Set(subject.given_names.clone()),
                surname: Set(subject.surname.clone()),
                date_of_birth: Set(subject.date_of_birth),
                nationality: Set(subject.nationality.clone()),
                document_number: Set(subject
                    .document_number
                    .as_deref()
                    .and_then(normalise_document_number)),
                category: Set(wanted.category.clone()),
                severity: Set(severity.as_str().into()),
                summary: Set(wanted.summary),
                source: Set("enforcement".into()),
                // One entry per action, however often the action is delivered.
                source_ref: Set(Some(actioned.action_id.clone())),
                created_at: Set(Utc::now()),
            }],
        )
        .await?;
        if added == 0 {
            tracing::info!(action_id = %actioned.action_id, "warnings entry for this action already added");
            return Ok(());
        }
        tracing::info!(%entry_id, action_id = %actioned.action_id, "warnings entry added");
        let added = Event::of(
            self.outbox.source(),
            &WatchlistEntryAdded {
                entry_id,
                subject,
                category: wanted.category,
                severity,
                source: "enforcement".into(),
                case_id: Some(actioned.step.case_id),
            },
        );
        self.emit(txn, event, added).await
    }

    /// Appends `event`, carrying on the trace of `cause`.
    async fn emit(
        &self,
        txn: &DatabaseTransaction,
        cause: &Event,
        mut event: Event,
    ) -> Result<(), HandlerError> {
        event.traceparent = cause
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        self.outbox.append(txn, [event]).await?;
        Ok(())
    }
}

#[async_trait]
impl EventHandler for Investigator {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let applied = match event.event_type.as_str() {
            INVESTIGATE_REQUESTED => self.investigate(txn, event).await,
            ENFORCEMENT_ACTIONED => self.add_to_watchlist(txn, event).await,
            other => Err(HandlerError::Refused(format!(
                "investigate does not handle `{other}`"
            ))),
        };
        Ok(applied?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checks_default_to_all_and_come_in_order() {
        assert_eq!(Check::from_params(&json!({})).unwrap(), Check::ALL);
        assert_eq!(Check::from_params(&Value::Null).unwrap(), Check::ALL);
        assert_eq!(
            Check::from_params(
                &json!({"checks": ["lost-stolen-documents", "warnings", "warnings"]})
            )
            .unwrap(),
            vec![Check::Warnings, Check::LostStolenDocuments]
        );
        assert!(Check::from_params(&json!({"checks": ["palm-reading"]})).is_err());
        assert!(Check::from_params(&json!({"checks": "warnings"})).is_err());
    }

    #[test]
    fn severities_follow_the_documented_rules() {
        assert_eq!(conviction_severity(Status::Unspent), Severity::High);
        assert_eq!(conviction_severity(Status::NeverSpent), Severity::High);
        assert_eq!(conviction_severity(Status::Undetermined), Severity::High);
        assert_eq!(conviction_severity(Status::Spent), Severity::Low);
        assert_eq!(document_severity("stolen"), Severity::Critical);
        assert_eq!(document_severity("lost"), Severity::High);
    }
}
