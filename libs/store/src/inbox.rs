//! The idempotent inbox: which events each consumer group has applied.
//!
//! A consumer records an event's id in the same transaction as its effects;
//! if the id is already there, the event was applied before (a redelivery) and
//! is skipped. Offsets are stored only after that transaction commits.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{ConnectionTrait, Set, TryInsertResult};

use crate::error::StoreError;

/// A row of the `inbox` table.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "inbox")]
pub struct Model {
    /// The consumer group that applied the event.
    #[sea_orm(primary_key, auto_increment = false)]
    pub consumer_group: String,
    /// The CloudEvents id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// When it was applied.
    pub received_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Records that `group` is applying `event_id`; `false` means it already had.
pub async fn record_if_new<C: ConnectionTrait>(
    txn: &C,
    group: &str,
    event_id: &str,
) -> Result<bool, StoreError> {
    let row = ActiveModel {
        consumer_group: Set(group.to_owned()),
        event_id: Set(event_id.to_owned()),
        received_at: Set(Utc::now()),
    };
    let result = Entity::insert(row)
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await?;
    Ok(match result {
        TryInsertResult::Inserted(rows) => rows > 0,
        TryInsertResult::Empty | TryInsertResult::Conflicted => false,
    })
}

/// How many events `group` has applied (for tests and metrics).
pub async fn applied_count<C: ConnectionTrait>(db: &C, group: &str) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::ConsumerGroup.eq(group))
        .count(db)
        .await?)
}
