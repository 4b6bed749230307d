//! Settling and correcting the person index's links, by caseworkers:
//!
//! - a **review task** settled: *link* (the provisional person is merged
//!   into the candidate) or *keep apart*; either way the decision, who made
//!   it, when and why are kept on the task, a labelled pair for the next
//!   estimate of the model ([`crate::api`]'s `match-labels`);
//! - a **merge** of two persons found late to be one: the merged person's
//!   records, documents, checks and open reviews go to the survivor, and
//!   the merged id resolves to the survivor from then on;
//! - a **split** of one person wrongly joined from two: the chosen records
//!   (with their cases' documents and checks) go to a new person.
//!
//! On PostgreSQL each change first takes the advisory locks of the persons
//! it touches and of their blocking keys ([`lock_persons`]), so changes to
//! one person, and resolutions that could link to them, run one at a time.
//!
//! Nothing is deleted: records move between persons, a merged person stays
//! with `merged_into` set, and each change is appended to `person_history`
//! on every person it touched. Each runs in one transaction with its event
//! (`person.merged.v1`, `person.split.v1`) in the outbox. Cases are not
//! changed elsewhere: Register, Investigate and Fulfil key by case, and a
//! case's person is Identify's to answer (its identity checks follow the
//! record).

use std::collections::BTreeSet;

use casework_bus::Outbox;
use casework_contracts::payloads::{PersonMerged, PersonSplit};
use casework_contracts::{CaseId, Event, PersonId};
use casework_matching::{Prepared, Record, blocking_keys};
use casework_runtime::{Problem, telemetry};
use casework_store::Store;
use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, DatabaseTransaction, ExprTrait, QueryOrder, Set};

use crate::tables::{
    identity_check, match_review, person, person_document, person_history, person_key,
    person_record,
};

/// `match_reviews.status` of a task waiting for a caseworker.
pub const OPEN: &str = "open";
/// `match_reviews.status` of a settled task.
pub const SETTLED: &str = "settled";
/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// Who changes a link, and why.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// Why, in their words (required).
    pub reason: &'a str,
    /// Who (the token's `sub`).
    pub by: &'a str,
}

/// A caseworker's answer to a review task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// The same person: merge the provisional person into the candidate.
    Link,
    /// Two people: keep them apart.
    KeepApart,
}

impl Settle {
    /// `link` or `keep-apart`.
    pub fn as_str(self) -> &'static str {
        match self {
            Settle::Link => "link",
            Settle::KeepApart => "keep-apart",
        }
    }

    /// The answer spelled `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Settle::Link, Settle::KeepApart]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A person and, when the id asked for was merged, that id.
#[derive(Debug, Clone)]
pub struct Current {
    /// The person the id resolves to.
    pub person: person::Model,
    /// The id asked for, when it was merged into `person`.
    pub resolved_from: Option<String>,
}

/// The person `id` resolves to: itself, or the person it was merged into.
pub async fn current<C: ConnectionTrait>(db: &C, id: &str) -> Result<Option<Current>, DbErr> {
    let mut resolved_from = None;
    let mut id = id.to_owned();
    // Merges are flattened (a merge re-points those merged into the
    // merged), so one hop is the rule; the bound guards against a cycle.
    for _ in 0..8 {
        let Some(found) = person::Entity::find_by_id(&id).one(db).await? else {
            return Ok(None);
        };
        match &found.merged_into {
            Some(into) => {
                resolved_from.get_or_insert_with(|| id.clone());
                id = into.clone();
            }
            None => {
                return Ok(Some(Current {
                    person: found,
                    resolved_from,
                }));
            }
        }
    }
    Err(DbErr::Custom(format!("person {id}: merged in a cycle")))
}

/// Settles review task `id`. Link merges its provisional person into the
/// candidate; keep apart records the two as different people. 404 if there
/// is no such task, 409 if it is settled already.
pub async fn settle_review(
    store: &Store,
    outbox: &Outbox,
    id: &str,
    settle: Settle,
    change: Change<'_>,
) -> Result<match_review::Model, Problem> {
    let txn = store.begin_write().await?;
    let review = match_review::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no review task `{id}`")))?;
    if review.status != OPEN {
        return Err(Problem::conflict(format!(
            "review task `{id}` was settled already ({})",
            review.decision.as_deref().unwrap_or("settled")
        )));
    }
    let now = Utc::now();
    // Only if still open: of two concurrent answers, exactly one settles it.
    let settled = match_review::Entity::update_many()
        .col_expr(match_review::Column::Status, Expr::value(SETTLED))
        .col_expr(match_review::Column::Decision, Expr::value(settle.as_str()))
        .col_expr(match_review::Column::Reason, Expr::value(change.reason))
        .col_expr(match_review::Column::DecidedBy, Expr::value(change.by))
        .col_expr(match_review::Column::DecidedAt, Expr::value(now))
        .filter(match_review::Column::Id.eq(id))
        .filter(match_review::Column::Status.eq(OPEN))
        .exec(&txn)
        .await?;
    if settled.rows_affected != 1 {
        return Err(Problem::conflict(format!(
            "review task `{id}` was settled already"
        )));
    }
    match settle {
        Settle::Link => {
            let merged = merge_in(
                &txn,
                &review.candidate_person_id,
                &review.person_id,
                change,
                Some(id),
                now,
            )
            .await?;
            append(outbox, &txn, &merged).await?;
        }
        Settle::KeepApart => {
            for (person, other) in [
                (&review.person_id, &review.candidate_person_id),
                (&review.candidate_person_id, &review.person_id),
            ] {
                history(
                    &txn,
                    person,
                    "kept-apart",
                    other,
                    &[],
                    Some(id),
                    change,
                    now,
                )
                .await?;
            }
        }
    }
    let review = match_review::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no review task `{id}`")))?;
    store.commit(txn).await?;
    tracing::info!(review = %id, decision = settle.as_str(), by = %change.by, "review task settled");
    Ok(review)
}

/// Merges person `merged` into `survivor` (see the module documentation):
/// 404 if there is no `survivor`, 422 naming `/person_id` if there is no
/// `merged`.
pub async fn merge(
    store: &Store,
    outbox: &Outbox,
    survivor: &str,
    merged: &str,
    change: Change<'_>,
) -> Result<PersonMerged, Problem> {
    let txn = store.begin_write().await?;
    // Persons are never deleted: one that is not there now never will be.
    if person::Entity::find_by_id(merged)
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(Problem::invalid(vec![casework_contracts::FieldError {
            pointer: "/person_id".into(),
            message: format!("there is no person `{merged}`"),
        }]));
    }
    let event = merge_in(&txn, survivor, merged, change, None, Utc::now()).await?;
    append(outbox, &txn, &event).await?;
    store.commit(txn).await?;
    tracing::info!(person = %survivor, merged = %merged, cases = event.case_ids.len(), by = %change.by, "persons merged");
    Ok(event)
}

/// The merge, in `txn`: 404 for an unknown person, 409 for one merged
/// already, 422 for a person merged into themselves.
async fn merge_in(
    txn: &DatabaseTransaction,
    survivor: &str,
    merged: &str,
    change: Change<'_>,
    review: Option<&str>,
    now: DateTime<Utc>,
) -> Result<PersonMerged, Problem> {
    lock_persons(txn, &[survivor, merged]).await?;
    let into = live_person(txn, survivor).await?;
    let from = live_person(txn, merged).await?;
    if into.id == from.id {
        return Err(Problem::invalid(vec![casework_contracts::FieldError {
            pointer: "/person_id".into(),
            message: "a person cannot be merged into themselves".into(),
        }]));
    }
    let records = person_record::Entity::find()
        .filter(person_record::Column::PersonId.eq(&from.id))
        .order_by_asc(person_record::Column::Id)
        .all(txn)
        .await?;
    let record_ids: Vec<i64> = records.iter().map(|r| r.id).collect();
    move_records(txn, &record_ids, &into.id).await?;
    // Their blocking keys and documents, now the survivor's.
    let keys = person_key::Entity::find()
        .filter(person_key::Column::PersonId.eq(&from.id))
        .all(txn)
        .await?;
    insert_keys(txn, &into.id, keys.into_iter().map(|k| k.key)).await?;
    person_key::Entity::delete_many()
        .filter(person_key::Column::PersonId.eq(&from.id))
        .exec(txn)
        .await?;
    move_documents(txn, &from.id, &into.id, None).await?;
    identity_check::Entity::update_many()
        .col_expr(
            identity_check::Column::PersonId,
            Expr::value(into.id.as_str()),
        )
        .filter(identity_check::Column::PersonId.eq(&from.id))
        .exec(txn)
        .await?;
    // The merged person stays, resolving to the survivor; so do those
    // merged into them before.
    person::Entity::update_many()
        .col_expr(person::Column::MergedInto, Expr::value(into.id.as_str()))
        .col_expr(person::Column::MergedAt, Expr::value(now))
        .filter(
            person::Column::Id
                .eq(&from.id)
                .or(person::Column::MergedInto.eq(&from.id)),
        )
        .exec(txn)
        .await?;
    // Open reviews about the merged person are now about the survivor; a
    // review between the two is settled by the merge.
    for column in [
        match_review::Column::PersonId,
        match_review::Column::CandidatePersonId,
    ] {
        match_review::Entity::update_many()
            .col_expr(column, Expr::value(into.id.as_str()))
            .filter(column.eq(&from.id))
            .filter(match_review::Column::Status.eq(OPEN))
            .exec(txn)
            .await?;
    }
    match_review::Entity::update_many()
        .col_expr(match_review::Column::Status, Expr::value(SETTLED))
        .col_expr(
            match_review::Column::Decision,
            Expr::value(Settle::Link.as_str()),
        )
        .col_expr(
            match_review::Column::Reason,
            Expr::value(format!(
                "settled by the merge of {} into {}",
                from.id, into.id
            )),
        )
        .col_expr(match_review::Column::DecidedBy, Expr::value(change.by))
        .col_expr(match_review::Column::DecidedAt, Expr::value(now))
        .filter(match_review::Column::Status.eq(OPEN))
        .filter(match_review::Column::PersonId.eq(&into.id))
        .filter(match_review::Column::CandidatePersonId.eq(&into.id))
        .exec(txn)
        .await?;
    history(
        txn,
        &into.id,
        "merged",
        &from.id,
        &record_ids,
        review,
        change,
        now,
    )
    .await?;
    history(
        txn,
        &from.id,
        "merged-into",
        &into.id,
        &record_ids,
        review,
        change,
        now,
    )
    .await?;
    Ok(PersonMerged {
        person_id: PersonId::from(into.id.clone()),
        merged_person_id: PersonId::from(from.id.clone()),
        case_ids: cases_of(&records),
        review_id: review.map(str::to_owned),
        merged_at: now,
    })
}

/// What a split did.
#[derive(Debug, Clone)]
pub struct Split {
    /// The new person the records went to.
    pub person: person::Model,
    /// The event emitted.
    pub event: PersonSplit,
}

/// Gives records `record_ids` of person `id` to a new person. 404 for an
/// unknown person, 409 for a merged one, 422 unless the records are some
/// (not all) of the person's.
pub async fn split(
    store: &Store,
    outbox: &Outbox,
    id: &str,
    record_ids: &[i64],
    change: Change<'_>,
) -> Result<Split, Problem> {
    let txn = store.begin_write().await?;
    lock_persons(&txn, &[id]).await?;
    let from = live_person(&txn, id).await?;
    let records = person_record::Entity::find()
        .filter(person_record::Column::PersonId.eq(&from.id))
        .order_by_asc(person_record::Column::Id)
        .all(&txn)
        .await?;
    let chosen: BTreeSet<i64> = record_ids.iter().copied().collect();
    let mut errors = Vec::new();
    if chosen.is_empty() {
        errors.push("choose the records that belong to another person".to_owned());
    }
    for id in &chosen {
        if !records.iter().any(|r| r.id == *id) {
            errors.push(format!("record {id} is not one of this person's"));
        }
    }
    if !chosen.is_empty() && chosen.len() >= records.len() {
        errors.push("leave at least one record with the person".to_owned());
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(
            errors
                .into_iter()
                .map(|message| casework_contracts::FieldError {
                    pointer: "/records".into(),
                    message,
                })
                .collect(),
        ));
    }
    let (moving, staying): (Vec<_>, Vec<_>) =
        records.into_iter().partition(|r| chosen.contains(&r.id));
    let now = Utc::now();
    let first: Record = serde_json::from_str(&moving[0].record).unwrap_or_default();
    let new = crate::persons::new_person(&txn, &first).await?;
    let moved: Vec<i64> = moving.iter().map(|r| r.id).collect();
    move_records(&txn, &moved, &new.id).await?;
    // Each person's keys again from the records they now have; every record
    // compared again (a duplicate left uncompared may have moved).
    person_key::Entity::delete_many()
        .filter(person_key::Column::PersonId.eq(&from.id))
        .exec(&txn)
        .await?;
    for (person, records) in [(&from.id, &staying), (&new.id, &moving)] {
        let keys = records
            .iter()
            .filter_map(|r| serde_json::from_str::<Record>(&r.record).ok())
            .flat_map(|record| blocking_keys(&Prepared::new(&record)));
        insert_keys(&txn, person, keys).await?;
    }
    person_record::Entity::update_many()
        .col_expr(person_record::Column::Compared, Expr::value(true))
        .filter(person_record::Column::PersonId.is_in([&from.id, &new.id]))
        .exec(&txn)
        .await?;
    let cases = cases_of(&moving);
    let case_ids: Vec<String> = cases.iter().map(ToString::to_string).collect();
    move_documents(&txn, &from.id, &new.id, Some(&case_ids)).await?;
    identity_check::Entity::update_many()
        .col_expr(
            identity_check::Column::PersonId,
            Expr::value(new.id.as_str()),
        )
        .filter(identity_check::Column::PersonId.eq(&from.id))
        .filter(identity_check::Column::CaseId.is_in(case_ids.clone()))
        .exec(&txn)
        .await?;
    // Open reviews about a record that moved follow it.
    for (record, person) in [
        (
            match_review::Column::RecordId,
            match_review::Column::PersonId,
        ),
        (
            match_review::Column::CandidateRecordId,
            match_review::Column::CandidatePersonId,
        ),
    ] {
        match_review::Entity::update_many()
            .col_expr(person, Expr::value(new.id.as_str()))
            .filter(record.is_in(moved.clone()))
            .filter(match_review::Column::Status.eq(OPEN))
            .exec(&txn)
            .await?;
    }
    // The person is shown by their earliest record left.
    if let Some(earliest) = staying
        .first()
        .and_then(|r| serde_json::from_str::<Record>(&r.record).ok())
    {
        let mut shown = crate::persons::shown(&earliest);
        shown.id = sea_orm::Unchanged(from.id.clone());
        person::Entity::update(shown).exec(&txn).await?;
    }
    history(&txn, &from.id, "split", &new.id, &moved, None, change, now).await?;
    history(
        &txn,
        &new.id,
        "split-from",
        &from.id,
        &moved,
        None,
        change,
        now,
    )
    .await?;
    let event = PersonSplit {
        person_id: PersonId::from(from.id.clone()),
        new_person_id: PersonId::from(new.id.clone()),
        records: u32::try_from(moved.len()).unwrap_or(u32::MAX),
        case_ids: cases,
        split_at: now,
    };
    append(outbox, &txn, &event).await?;
    store.commit(txn).await?;
    tracing::info!(person = %from.id, new_person = %new.id, records = moved.len(), by = %change.by, "person split");
    Ok(Split { person: new, event })
}

/// Serialises changes to these persons with each other, and with the
/// resolutions that could link a new record to them (PostgreSQL; SQLite
/// writes one transaction at a time): the advisory lock of each person and
/// of every blocking key they are filed under, which a resolution takes
/// too. Without it two opposite merges at once could each find the other
/// live and merge into each other.
async fn lock_persons(txn: &DatabaseTransaction, ids: &[&str]) -> Result<(), DbErr> {
    let mut keys: Vec<String> = person_key::Entity::find()
        .filter(person_key::Column::PersonId.is_in(ids.iter().copied()))
        .all(txn)
        .await?
        .into_iter()
        .map(|k| k.key)
        .collect();
    keys.extend(ids.iter().map(|id| format!("person:{id}")));
    crate::persons::lock_keys(txn, &keys).await
}

/// A person who has not been merged: 404 if unknown, 409 if merged.
async fn live_person(txn: &DatabaseTransaction, id: &str) -> Result<person::Model, Problem> {
    let found = person::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| Problem::not_found(format!("there is no person `{id}`")))?;
    match &found.merged_into {
        Some(into) => Err(Problem::conflict(format!(
            "person `{id}` was merged into `{into}`"
        ))),
        None => Ok(found),
    }
}

async fn move_records(txn: &DatabaseTransaction, ids: &[i64], to: &str) -> Result<(), DbErr> {
    person_record::Entity::update_many()
        .col_expr(person_record::Column::PersonId, Expr::value(to))
        .filter(person_record::Column::Id.is_in(ids.iter().copied()))
        .exec(txn)
        .await?;
    Ok(())
}

async fn insert_keys(
    txn: &DatabaseTransaction,
    person: &str,
    keys: impl IntoIterator<Item = String>,
) -> Result<(), DbErr> {
    let keys: BTreeSet<String> = keys.into_iter().collect();
    if keys.is_empty() {
        return Ok(());
    }
    person_key::Entity::insert_many(keys.into_iter().map(|key| person_key::ActiveModel {
        key: Set(key),
        person_id: Set(person.to_owned()),
    }))
    .on_conflict_do_nothing_on([person_key::Column::Key, person_key::Column::PersonId])
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Moves `from`'s documents (those first presented by `cases`, or all) to
/// `to`; one `to` holds already stays as theirs.
async fn move_documents(
    txn: &DatabaseTransaction,
    from: &str,
    to: &str,
    cases: Option<&[String]>,
) -> Result<(), DbErr> {
    let mut select =
        person_document::Entity::find().filter(person_document::Column::PersonId.eq(from));
    if let Some(cases) = cases {
        select = select.filter(person_document::Column::CaseId.is_in(cases.iter().cloned()));
    }
    for document in select.all(txn).await? {
        let held = person_document::Entity::find()
            .filter(person_document::Column::PersonId.eq(to))
            .filter(person_document::Column::IssuingState.eq(&document.issuing_state))
            .filter(person_document::Column::DocumentNumber.eq(&document.document_number))
            .one(txn)
            .await?
            .is_some();
        if held {
            person_document::Entity::delete_by_id(document.id)
                .exec(txn)
                .await?;
        } else {
            person_document::Entity::update_many()
                .col_expr(person_document::Column::PersonId, Expr::value(to))
                .filter(person_document::Column::Id.eq(document.id))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}

/// The cases of application records, in order, once each.
fn cases_of(records: &[person_record::Model]) -> Vec<CaseId> {
    let mut seen = BTreeSet::new();
    records
        .iter()
        .filter(|r| r.source == "application" && seen.insert(r.source_ref.clone()))
        .map(|r| CaseId::from(r.source_ref.clone()))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn history(
    txn: &DatabaseTransaction,
    person: &str,
    kind: &str,
    other: &str,
    record_ids: &[i64],
    review: Option<&str>,
    change: Change<'_>,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    person_history::ActiveModel {
        person_id: Set(person.to_owned()),
        kind: Set(kind.to_owned()),
        other_person_id: Set(other.to_owned()),
        record_ids: Set(serde_json::to_string(record_ids).unwrap_or_else(|_| "[]".into())),
        review_id: Set(review.map(str::to_owned)),
        reason: Set(change.reason.to_owned()),
        by: Set(change.by.to_owned()),
        at: Set(at),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

async fn append<P: casework_contracts::payloads::Payload>(
    outbox: &Outbox,
    txn: &DatabaseTransaction,
    payload: &P,
) -> Result<(), Problem> {
    let mut event = Event::of(outbox.source(), payload);
    event.traceparent = telemetry::current_traceparent();
    outbox.append(txn, [event]).await.map_err(Problem::from)
}
