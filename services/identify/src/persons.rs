//! The person index on the matching engine (`casework_matching`): each
//! record — an application's subject or an imported source record — is
//! compared with the records of the persons sharing one of its blocking
//! keys, and weighed by the person model (`config/matching/person.toml`):
//!
//! - a *match* links it to that person;
//! - a *possible match* gives it a new person provisionally and records a
//!   review task holding both records and the weights, for a caseworker;
//! - a *non-match* gives it a new person.
//!
//! Resolution runs in the caller's transaction, so a record, its keys, its
//! person and its review are stored together or not at all. A record
//! already linked (the same case, the same import source id) resolves to
//! the person it was linked to, however often it is sent.
//!
//! Two records of one person resolved at the same instant must not both
//! make a new person: on PostgreSQL each resolution first takes a
//! transaction-scoped advisory lock on each of its blocking keys, so
//! records sharing a key resolve one after the other, across every
//! instance (SQLite writes one transaction at a time already).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casework_contracts::names::normalise;
use casework_matching::index::query_keys;
use casework_matching::{
    Comparison, Decision, Explanation, Matcher, MatchingError, Prepared, Record, blocking_keys,
    compare,
};
use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, QuerySelect, QueryTrait, Set, Statement,
    TryIntoModel,
};

use crate::tables::{match_review, person, person_key, person_record};

/// The most candidate persons one record is compared with; keys shared by
/// more (a very common name and year) are cut there.
const MAX_CANDIDATES: u64 = 2_000;

/// Where a record comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// An application: the case's id and its reference.
    Application(&'a str, &'a str),
    /// A bulk import: the source system's id for the record.
    Import(&'a str),
}

impl Source<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Source::Application(..) => "application",
            Source::Import(_) => "import",
        }
    }

    fn reference(&self) -> &str {
        match self {
            Source::Application(r, _) | Source::Import(r) => r,
        }
    }
}

/// How a record was linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// To a person already in the index.
    Match,
    /// To a new person: no one weighed enough.
    New,
    /// To a new, provisional person, with a review task.
    Review,
}

impl Linked {
    /// `match`, `new` or `review`.
    pub fn as_str(self) -> &'static str {
        match self {
            Linked::Match => "match",
            Linked::New => "new",
            Linked::Review => "review",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "match" => Linked::Match,
            "review" => Linked::Review,
            _ => Linked::New,
        }
    }
}

/// What resolving a record did.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The person it is linked to.
    pub person: person::Model,
    /// How.
    pub linked: Linked,
    /// The heaviest candidate's person, weight and explanation (none when
    /// no person shared a blocking key).
    pub best: Option<(String, f64, Explanation)>,
    /// The review task raised, for a possible match.
    pub review_id: Option<String>,
    /// The record had been linked before (the same case or source id).
    pub already_linked: bool,
}

/// The person index: the matching policy it decides by.
#[derive(Debug, Clone)]
pub struct PersonIndex {
    matcher: Matcher,
    /// The index's size when last counted, and when.
    size: Arc<Mutex<Option<(Instant, u64)>>>,
}

/// How long a count of the index's records serves: λ's scaling needs its
/// order of magnitude, not every record.
const SIZE_FRESH: Duration = Duration::from_secs(10);

impl PersonIndex {
    /// Loads the policy file (and the model beside it).
    pub fn load(policy: &Path) -> Result<Self, MatchingError> {
        Ok(Self::new(Matcher::load(policy)?))
    }

    /// An index deciding by `matcher`.
    pub fn new(matcher: Matcher) -> Self {
        Self {
            matcher,
            size: Arc::default(),
        }
    }

    /// Links `record` to a person (see the module documentation).
    pub async fn resolve(
        &self,
        txn: &DatabaseTransaction,
        record: &Record,
        source: Source<'_>,
    ) -> Result<Resolution, DbErr> {
        if let Some(linked) = person_record::Entity::find()
            .filter(person_record::Column::Source.eq(source.kind()))
            .filter(person_record::Column::SourceRef.eq(source.reference()))
            .one(txn)
            .await?
        {
            let person = find_person(txn, &linked.person_id).await?;
            return Ok(Resolution {
                person,
                linked: Linked::parse(&linked.decision),
                best: None,
                review_id: None,
                already_linked: true,
            });
        }
        let prepared = Prepared::new(record);
        let json = serde_json::to_string(record).unwrap_or_default();
        lock_keys(txn, &query_keys(&prepared)).await?;
        let best = self.best_candidate(txn, &prepared, &json).await?;
        let decision = best
            .as_ref()
            .map_or(Decision::NonMatch, |b| self.matcher.decide(b.weight));
        let linked = match decision {
            Decision::Match => Linked::Match,
            Decision::PossibleMatch => Linked::Review,
            Decision::NonMatch => Linked::New,
        };
        let person = match (&best, linked) {
            (Some(best), Linked::Match) => find_person(txn, &best.person_id).await?,
            _ => new_person(txn, record).await?,
        };
        let said_before = linked == Linked::Match && best.as_ref().is_some_and(|b| b.said_before);
        let stored = person_record::ActiveModel {
            person_id: Set(person.id.clone()),
            source: Set(source.kind().to_owned()),
            source_ref: Set(source.reference().to_owned()),
            record: Set(json),
            decision: Set(linked.as_str().to_owned()),
            weight: Set(best.as_ref().map(|b| b.weight)),
            compared: Set(!said_before),
            created_at: Set(Utc::now()),
            case_reference: Set(match source {
                Source::Application(_, reference) => Some(reference.to_owned()),
                Source::Import(_) => None,
            }),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        // A record said before has the same keys already.
        if !said_before {
            let keys = blocking_keys(&prepared)
                .into_iter()
                .map(|key| person_key::ActiveModel {
                    key: Set(key),
                    person_id: Set(person.id.clone()),
                });
            person_key::Entity::insert_many(keys)
                .on_conflict_do_nothing_on([person_key::Column::Key, person_key::Column::PersonId])
                .exec_without_returning(txn)
                .await?;
        }
        let explained = best
            .as_ref()
            .map(|b| (b.person_id.clone(), b.weight, b.explanation.clone()));
        let mut review_id = None;
        if let (Linked::Review, Some(best), Some((_, _, explanation))) = (linked, &best, &explained)
        {
            let id = Uuid::now_v7().to_string();
            match_review::ActiveModel {
                id: Set(id.clone()),
                status: Set(crate::links::OPEN.to_owned()),
                person_id: Set(person.id.clone()),
                candidate_person_id: Set(best.person_id.clone()),
                record_id: Set(stored.id),
                candidate_record_id: Set(best.record_id),
                weight: Set(best.weight),
                explanation: Set(serde_json::to_string(explanation).unwrap_or_default()),
                case_id: Set(match source {
                    Source::Application(case, _) => Some(case.to_owned()),
                    Source::Import(_) => None,
                }),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(txn)
            .await?;
            review_id = Some(id);
        }
        Ok(Resolution {
            person,
            linked,
            best: explained,
            review_id,
            already_linked: false,
        })
    }

    /// The heaviest record among the persons sharing a key with `record`.
    async fn best_candidate(
        &self,
        txn: &DatabaseTransaction,
        record: &Prepared,
        json: &str,
    ) -> Result<Option<Candidate>, DbErr> {
        let keys = query_keys(record);
        if keys.is_empty() {
            return Ok(None);
        }
        let persons = person_key::Entity::find()
            .select_only()
            .column(person_key::Column::PersonId)
            .distinct()
            .filter(person_key::Column::Key.is_in(keys))
            .limit(MAX_CANDIDATES)
            .into_query();
        let records = person_record::Entity::find()
            .filter(person_record::Column::PersonId.in_subquery(persons))
            .filter(person_record::Column::Compared.eq(true))
            .all(txn)
            .await?;
        if records.is_empty() {
            return Ok(None);
        }
        let scorer = self.matcher.model.scorer_for(self.index_size(txn).await?);
        let mut best: Option<(person_record::Model, f64, Comparison)> = None;
        let said_by: Vec<String> = records
            .iter()
            .filter(|r| r.record == json)
            .map(|r| r.person_id.clone())
            .collect();
        for stored in records {
            let Ok(known) = serde_json::from_str::<Record>(&stored.record) else {
                continue;
            };
            let comparison = compare(record, &Prepared::new(&known));
            let weight = scorer.weight(&comparison);
            if best
                .as_ref()
                .is_none_or(|(_, heaviest, _)| weight > *heaviest)
            {
                best = Some((stored, weight, comparison));
            }
        }
        Ok(best.map(|(stored, weight, comparison)| Candidate {
            said_before: said_by.contains(&stored.person_id),
            person_id: stored.person_id,
            record_id: stored.id,
            weight,
            explanation: scorer.explain(&comparison),
        }))
    }
}

impl PersonIndex {
    /// How many records the index holds (λ is scaled to it: the more
    /// records, the likelier a namesake), counted at most every
    /// [`SIZE_FRESH`]. The last record id counts them without a scan.
    async fn index_size(&self, txn: &DatabaseTransaction) -> Result<u64, DbErr> {
        if let Some((counted, size)) = *self.size.lock().unwrap_or_else(|e| e.into_inner())
            && counted.elapsed() < SIZE_FRESH
        {
            return Ok(size);
        }
        let last: Option<i64> = person_record::Entity::find()
            .select_only()
            .column_as(person_record::Column::Id.max(), "size")
            .into_tuple()
            .one(txn)
            .await?
            .flatten();
        let size = last.unwrap_or(0).unsigned_abs();
        *self.size.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), size));
        Ok(size)
    }
}

/// The heaviest candidate record.
struct Candidate {
    /// The candidate's person has a record saying exactly the same.
    said_before: bool,
    person_id: String,
    record_id: i64,
    weight: f64,
    explanation: Explanation,
}

/// Serialises resolutions that share a blocking key (PostgreSQL): an
/// advisory lock per key, held until the transaction ends, taken in one
/// order so that two resolutions never wait on each other.
pub(crate) async fn lock_keys(txn: &DatabaseTransaction, keys: &[String]) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let mut locks: Vec<i64> = keys.iter().map(|k| lock_id(k)).collect();
    locks.sort_unstable();
    locks.dedup();
    for lock in locks {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [lock.into()],
        ))
        .await?;
    }
    Ok(())
}

/// A key's lock id: FNV-1a, stable across builds (instances of different
/// versions must agree), in PostgreSQL's bigint.
fn lock_id(key: &str) -> i64 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

async fn find_person(txn: &DatabaseTransaction, id: &str) -> Result<person::Model, DbErr> {
    person::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("person {id} of a linked record")))
}

/// How a person is shown (and searched): by one of their records, as the
/// columns of `persons` that say it.
pub(crate) fn shown(record: &Record) -> person::ActiveModel {
    person::ActiveModel {
        given_names: Set(record.given_names.trim().to_owned()),
        surname: Set(record.surname.trim().to_owned()),
        normalised_given_names: Set(normalise(&record.given_names)),
        normalised_surname: Set(normalise(&record.surname)),
        date_of_birth: Set(record.date_of_birth.clone().unwrap_or_default()),
        nationality: Set(record.nationality.clone()),
        ..Default::default()
    }
}

/// A new person, shown by `record`.
pub(crate) async fn new_person(
    txn: &DatabaseTransaction,
    record: &Record,
) -> Result<person::Model, DbErr> {
    let mut new = shown(record);
    new.id = Set(Uuid::now_v7().to_string());
    new.created_at = Set(Utc::now());
    new.merged_into = Set(None);
    new.merged_at = Set(None);
    let model = new.clone().try_into_model()?;
    person::Entity::insert(new)
        .exec_without_returning(txn)
        .await?;
    Ok(model)
}
