//! The idempotent inbox: which events each consumer group has applied.
//!
//! A consumer records an event's id in the same transaction as its effects;
//! if the id is already there, the event was applied before (a redelivery) and
//! is skipped. Offsets are stored only after that transaction commits.

use chrono::Utc;
use sea_orm::entity::prelude::*;
use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{OnConflict, Query};

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

/// Records that `group` is applying these events, in one statement, and
/// returns the ids that were new; the others were applied before.
pub async fn record_new<C: ConnectionTrait>(
    txn: &C,
    group: &str,
    event_ids: &[String],
) -> Result<HashSet<String>, StoreError> {
    if event_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let now = Utc::now();
    let mut insert = Query::insert();
    insert
        .into_table(Entity)
        .columns([Column::ConsumerGroup, Column::EventId, Column::ReceivedAt]);
    for id in event_ids {
        insert.values_panic([group.into(), id.as_str().into(), now.into()]);
    }
    insert
        .on_conflict(
            OnConflict::columns([Column::ConsumerGroup, Column::EventId])
                .do_nothing()
                .to_owned(),
        )
        .returning_col(Column::EventId);
    let statement = txn.get_database_backend().build(&insert);
    let rows = txn.query_all_raw(statement).await?;
    rows.iter()
        .map(|row| row.try_get::<String>("", "event_id").map_err(Into::into))
        .collect()
}

/// Takes back [`record_new`]'s entries for events the transaction will not
/// apply after all (a consumer committing part of its batch early), so that
/// they count as new when they are applied later.
pub async fn forget<C: ConnectionTrait>(
    txn: &C,
    group: &str,
    event_ids: impl IntoIterator<Item = String>,
) -> Result<(), StoreError> {
    let ids: Vec<String> = event_ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(());
    }
    Entity::delete_many()
        .filter(Column::ConsumerGroup.eq(group))
        .filter(Column::EventId.is_in(ids))
        .exec(txn)
        .await?;
    Ok(())
}
