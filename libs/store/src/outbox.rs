//! The transactional outbox table and its queries.
//!
//! A service appends events inside the transaction that changes its state,
//! then commits with [`crate::Store::commit`], which wakes the relay. The relay
//! (in the bus crate) reads unpublished rows in id order, publishes them, marks
//! them published, and prunes old published rows.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, QueryOrder, QuerySelect, Set};

use crate::error::StoreError;

/// A row of the `outbox` table.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    /// Publication order.
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The CloudEvents id.
    pub event_id: String,
    /// Destination topic, including any deployment prefix.
    pub topic: String,
    /// Record key: the aggregate id.
    pub record_key: String,
    /// The event in CloudEvents JSON structured form.
    pub event: String,
    /// When the row was written.
    pub created_at: DateTimeUtc,
    /// When the broker acknowledged it; `None` until then.
    pub published_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// An event ready to append: already validated against its schema.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// The CloudEvents id.
    pub event_id: String,
    /// Destination topic.
    pub topic: String,
    /// Record key.
    pub record_key: String,
    /// Structured-mode JSON of the event.
    pub event: String,
}

/// Appends events inside the caller's transaction.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    events: impl IntoIterator<Item = PendingEvent>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let rows: Vec<ActiveModel> = events
        .into_iter()
        .map(|e| ActiveModel {
            event_id: Set(e.event_id),
            topic: Set(e.topic),
            record_key: Set(e.record_key),
            event: Set(e.event),
            created_at: Set(now),
            published_at: Set(None),
            ..Default::default()
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The oldest unpublished rows, in publication order, leaving out the ids in
/// `skip` (inclusive): rows the relay has sent but not yet marked.
pub async fn unpublished<C: ConnectionTrait>(
    db: &C,
    limit: u64,
    skip: Option<(i64, i64)>,
) -> Result<Vec<Model>, StoreError> {
    let mut query = Entity::find().filter(Column::PublishedAt.is_null());
    if let Some((first, last)) = skip {
        query = query.filter(Column::Id.not_between(first, last));
    }
    Ok(query.order_by_asc(Column::Id).limit(limit).all(db).await?)
}

/// Marks rows published.
pub async fn mark_published<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(Column::PublishedAt, Expr::value(at))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes rows published before `cutoff`; returns how many.
pub async fn prune<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
    let result = Entity::delete_many()
        .filter(Column::PublishedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// How many rows wait to be published (for metrics and tests).
pub async fn backlog<C: ConnectionTrait>(db: &C) -> Result<u64, StoreError> {
    Ok(Entity::find()
        .filter(Column::PublishedAt.is_null())
        .count(db)
        .await?)
}
