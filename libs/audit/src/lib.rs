//! The audit trail: who read or disclosed what personal data, when, why,
//! to whom, and whether they were allowed.
//!
//! Each database of the platform (a service's, the web front end's) holds
//! one chain, in the tables `casework_store::migrations::CreateAuditTrail`
//! makes. A record carries the hash of the record before it, so changing,
//! removing or reordering any record breaks every link after it, which
//! [`verify`] finds. Appenders take the chain's head (`audit_head`, one row)
//! under a lock in their writing transaction (`SELECT … FOR UPDATE` on
//! PostgreSQL; SQLite has one writer at a time), so several instances of a
//! service append one chain, never a fork. Records are written by group
//! commit ([`AuditLog::append`] returns once the record is durable), so the
//! reader gets the data only after its read is on record.

mod tables;

use std::sync::Arc;

use async_trait::async_trait;
use casework_store::group_commit::{BatchWrite, GroupCommit};
use casework_store::migrations::AUDIT_GENESIS;
use casework_store::{Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use tables::{head, record, subject};

/// What was done with the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Read one or more records.
    Read,
    /// Searched: the subjects are what was found.
    Search,
    /// Sent out of the platform (an export, an event to a department).
    Disclose,
}

/// Whether the access was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Allowed: the data was given.
    Allowed,
    /// Refused (401, 403): nothing was given.
    Refused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Refused => "refused",
        }
    }
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::Search => "search",
            Action::Disclose => "disclose",
        }
    }
}

/// A record read: its kind (`case`, `person`, `document`, …) and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// What kind of record.
    pub kind: String,
    /// Its id or reference.
    pub id: String,
}

impl Subject {
    /// A `kind` record with this `id`.
    pub fn new(kind: &str, id: impl Into<String>) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.into(),
        }
    }
}

/// One access, before it is on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Who: the token's subject (a person or a department's client); empty
    /// when no one was named (no token).
    pub who: String,
    /// Their roles and scopes (`role:caseworker`, `scope:hmpo`).
    pub roles: Vec<String>,
    /// What was done.
    pub action: Action,
    /// What records (for a refusal, what was asked for).
    pub what: Vec<Subject>,
    /// Why, as the caller said (`Purpose`), or the route's own purpose.
    pub purpose: String,
    /// To whom, for a disclosure.
    pub recipient: String,
    /// Allowed or refused.
    pub outcome: Outcome,
}

/// A record on the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Its place in the chain, from 1.
    pub seq: i64,
    /// When (RFC 3339, microseconds, UTC).
    pub at: String,
    /// The access.
    #[serde(flatten)]
    pub entry: Entry,
    /// The hash of the record before it.
    pub prev_hash: String,
    /// Its own hash.
    pub hash: String,
}

/// The hash of a record: SHA-256 over its fields as stored, one a line,
/// then the previous record's hash.
fn hash_of(row: &record::Model) -> String {
    let mut digest = Sha256::new();
    for field in [
        row.seq.to_string().as_str(),
        &row.at,
        &row.who,
        &row.roles,
        &row.action,
        &row.what,
        &row.purpose,
        &row.recipient,
        &row.outcome,
        &row.prev_hash,
    ] {
        // Lengths first: no two different records hash alike by moving a
        // line break from one field to the next.
        digest.update(field.len().to_string().as_bytes());
        digest.update(b":");
        digest.update(field.as_bytes());
        digest.update(b"\n");
    }
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A time as the chain keeps it: microseconds, so every database stores it
/// exactly and it sorts as text.
fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Appends records by group commit.
struct Appender;

#[async_trait]
impl BatchWrite for Appender {
    type Request = Entry;
    type Response = i64;
    type Error = StoreError;

    async fn apply(&self, txn: &DatabaseTransaction, entry: &Entry) -> Result<i64, StoreError> {
        let mut seqs = append_all(txn, std::slice::from_ref(entry)).await?;
        Ok(seqs.pop().unwrap_or_default())
    }

    async fn apply_all(
        &self,
        txn: &DatabaseTransaction,
        entries: &[Entry],
    ) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
        Ok(append_all(txn, entries)
            .await?
            .into_iter()
            .map(Ok)
            .collect())
    }
}

/// Appends `entries` to the chain in `txn`, in order; their sequence numbers.
pub async fn append_all<C: ConnectionTrait>(
    txn: &C,
    entries: &[Entry],
) -> Result<Vec<i64>, StoreError> {
    let mut select = head::Entity::find_by_id(1);
    if txn.get_database_backend() == DbBackend::Postgres {
        // Another instance appending waits here until this one commits.
        select = select.lock_exclusive();
    }
    let top = select
        .one(txn)
        .await?
        .ok_or_else(|| StoreError::Settings("the audit chain has no head: migrate".into()))?;
    let (mut seq, mut prev) = (top.seq, top.hash);
    let at = stamp(Utc::now());
    let mut seqs = Vec::with_capacity(entries.len());
    for entry in entries {
        seq += 1;
        let mut row = record::Model {
            seq,
            at: at.clone(),
            who: entry.who.clone(),
            roles: serde_json::to_string(&entry.roles).unwrap_or_else(|_| "[]".into()),
            action: entry.action.as_str().to_owned(),
            what: serde_json::to_string(&entry.what).unwrap_or_else(|_| "[]".into()),
            purpose: entry.purpose.clone(),
            recipient: entry.recipient.clone(),
            outcome: entry.outcome.as_str().to_owned(),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        row.hash = hash_of(&row);
        prev = row.hash.clone();
        record::ActiveModel::from(row).insert(txn).await?;
        let mut named: Vec<&Subject> = entry.what.iter().collect();
        named.sort_by(|a, b| (&a.id, &a.kind).cmp(&(&b.id, &b.kind)));
        named.dedup();
        for subject in named {
            subject::ActiveModel {
                seq: Set(seq),
                kind: Set(subject.kind.clone()),
                subject: Set(subject.id.clone()),
            }
            .insert(txn)
            .await?;
        }
        seqs.push(seq);
    }
    head::ActiveModel {
        id: Set(1),
        seq: Set(seq),
        hash: Set(prev),
    }
    .update(txn)
    .await?;
    Ok(seqs)
}

/// A database's audit trail, appended to by group commit.
#[derive(Clone, Debug)]
pub struct AuditLog {
    commit: GroupCommit<Appender>,
    store: Store,
    /// Bench-only: appends are skipped (see [`bench_skips_appends`]).
    skip: bool,
}

/// Whether this process skips audit appends: only a build with the
/// `bench-switch` feature (`make bench-audit` builds one) and only when
/// `CASEWORK_BENCH_SKIP_AUDIT=1`, so the bench measures what the trail
/// costs against the same binary. Shipped builds cannot skip the trail.
pub fn bench_skips_appends() -> bool {
    cfg!(feature = "bench-switch")
        && std::env::var("CASEWORK_BENCH_SKIP_AUDIT").is_ok_and(|v| v == "1")
}

/// Entries that share one commit at most.
const MAX_BATCH: usize = 256;

impl AuditLog {
    /// The trail in `store` (migrated with the platform's tables).
    pub fn start(store: Store) -> Self {
        let skip = bench_skips_appends();
        if skip {
            tracing::warn!("bench switch: audit appends are skipped in this process");
        }
        Self {
            commit: GroupCommit::start(store.clone(), Arc::new(Appender), MAX_BATCH),
            store,
            skip,
        }
    }

    /// Appends `entry`, returning its sequence number once it is durable.
    pub async fn append(&self, entry: Entry) -> Result<i64, StoreError> {
        if self.skip {
            return Ok(0);
        }
        self.commit.submit(entry).await
    }

    /// The records matching `query`, oldest first.
    pub async fn find(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        find(self.store.connection(), query).await
    }
}

/// What an auditor asks: records naming a subject, or of one user, in a
/// period; at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Records naming this id (a case reference, a person id, …).
    pub subject: Option<String>,
    /// Records of this user (token subject).
    pub who: Option<String>,
    /// From this time (RFC 3339), inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this time, exclusive.
    pub to: Option<DateTime<Utc>>,
    /// The most records returned.
    pub limit: u64,
}

/// The records matching `query`, oldest first.
pub async fn find<C: ConnectionTrait>(db: &C, query: &Query) -> Result<Vec<Record>, StoreError> {
    let mut select = record::Entity::find();
    if let Some(id) = &query.subject {
        let seqs: Vec<i64> = subject::Entity::find()
            .filter(subject::Column::Subject.eq(id))
            .select_only()
            .column(subject::Column::Seq)
            .into_tuple()
            .all(db)
            .await?;
        select = select.filter(record::Column::Seq.is_in(seqs));
    }
    if let Some(who) = &query.who {
        select = select.filter(record::Column::Who.eq(who));
    }
    if let Some(from) = query.from {
        select = select.filter(record::Column::At.gte(stamp(from)));
    }
    if let Some(to) = query.to {
        select = select.filter(record::Column::At.lt(stamp(to)));
    }
    let rows = select
        .order_by_asc(record::Column::Seq)
        .limit(query.limit.max(1))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Record::from).collect())
}

impl From<record::Model> for Record {
    fn from(row: record::Model) -> Self {
        let action = match row.action.as_str() {
            "search" => Action::Search,
            "disclose" => Action::Disclose,
            _ => Action::Read,
        };
        Record {
            seq: row.seq,
            entry: Entry {
                who: row.who,
                roles: serde_json::from_str(&row.roles).unwrap_or_default(),
                action,
                what: serde_json::from_str(&row.what).unwrap_or_default(),
                purpose: row.purpose,
                recipient: row.recipient,
                outcome: if row.outcome == "refused" {
                    Outcome::Refused
                } else {
                    Outcome::Allowed
                },
            },
            at: row.at,
            prev_hash: row.prev_hash,
            hash: row.hash,
        }
    }
}

/// What walking a chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records walked.
    pub records: u64,
    /// The first broken link: the record's sequence number (or where one
    /// is missing) and what is wrong; `None` when every link holds.
    pub broken: Option<(i64, String)>,
}

/// Records read at a time when verifying.
const VERIFY_PAGE: u64 = 10_000;

/// Walks the chain in `db` from its first record, checking that the
/// numbers run on without a gap, each record names the hash of the one
/// before, each hash is its record's, and the head is the last record.
pub async fn verify<C: ConnectionTrait>(db: &C) -> Result<Verification, StoreError> {
    let mut expected_seq = 1;
    let mut prev = AUDIT_GENESIS.to_owned();
    let mut records = 0;
    loop {
        let page = record::Entity::find()
            .filter(record::Column::Seq.gte(expected_seq))
            .order_by_asc(record::Column::Seq)
            .limit(VERIFY_PAGE)
            .all(db)
            .await?;
        let last_page = (page.len() as u64) < VERIFY_PAGE;
        for row in page {
            let broken = |why: String| {
                Ok(Verification {
                    records,
                    broken: Some((row.seq, why)),
                })
            };
            if row.seq != expected_seq {
                return Ok(Verification {
                    records,
                    broken: Some((
                        expected_seq,
                        format!("record {expected_seq} is missing (the next is {})", row.seq),
                    )),
                });
            }
            if row.prev_hash != prev {
                return broken(format!(
                    "it names {} as the hash before it, but record {} hashes to {prev}",
                    row.prev_hash,
                    row.seq - 1
                ));
            }
            let hash = hash_of(&row);
            if row.hash != hash {
                return broken(format!(
                    "its contents hash to {hash}, not the {} it carries: it was changed",
                    row.hash
                ));
            }
            prev = row.hash;
            expected_seq += 1;
            records += 1;
        }
        if last_page {
            break;
        }
    }
    let top = head::Entity::find_by_id(1).one(db).await?;
    match top {
        Some(top) if top.seq == expected_seq - 1 && top.hash == prev => Ok(Verification {
            records,
            broken: None,
        }),
        Some(top) => Ok(Verification {
            records,
            broken: Some((
                expected_seq,
                format!(
                    "the head says record {} ({}), but the chain ends at {} ({prev}): records were removed from its end",
                    top.seq,
                    top.hash,
                    expected_seq - 1
                ),
            )),
        }),
        None => Err(StoreError::Settings(
            "the audit chain has no head: migrate".into(),
        )),
    }
}

#[cfg(test)]
mod tests;
