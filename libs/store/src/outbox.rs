//! The transactional outbox table and its queries.
//!
//! A service appends events inside the transaction that changes its state,
//! then commits with [`crate::Store::commit`], which wakes the relay. The relay
//! (in the bus crate) reads unpublished rows in id order, publishes them, marks
//! them published, and prunes old published rows.
//!
//! Which rows wait to be published is kept apart from the rows themselves, in
//! the narrow `outbox_unpublished` table of ids: marking a thousand rows
//! published then deletes a few small pages rather than rewriting every row's
//! event JSON (see [`crate::migrations::ListUnpublishedOutboxRows`]).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ConnectionTrait, QueryOrder, Set};

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
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The `outbox_unpublished` table: the ids of rows the relay has yet to publish.
pub mod unpublished {
    use sea_orm::entity::prelude::*;

    /// An outbox row waiting to be published.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_unpublished")]
    pub struct Model {
        /// The outbox row's id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `SELECT id FROM outbox_unpublished`, for subqueries.
fn unpublished_ids() -> SelectStatement {
    Query::select()
        .column(unpublished::Column::Id)
        .from(unpublished::Entity)
        .to_owned()
}

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

/// Appends events inside the caller's transaction and lists them as unpublished.
pub async fn append<C: ConnectionTrait>(
    txn: &C,
    events: impl IntoIterator<Item = PendingEvent>,
) -> Result<(), StoreError> {
    let events: Vec<PendingEvent> = events.into_iter().collect();
    if events.is_empty() {
        return Ok(());
    }
    // The insert assigns the ids; the listing finds them by event id (unique).
    let event_ids: Vec<String> = events.iter().map(|e| e.event_id.clone()).collect();
    let now = Utc::now();
    let rows = events.into_iter().map(|e| ActiveModel {
        event_id: Set(e.event_id),
        topic: Set(e.topic),
        record_key: Set(e.record_key),
        event: Set(e.event),
        created_at: Set(now),
        ..Default::default()
    });
    Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    let list = Query::insert()
        .into_table(unpublished::Entity)
        .columns([unpublished::Column::Id])
        .select_from(
            Query::select()
                .column(Column::Id)
                .from(Entity)
                .and_where(Column::EventId.is_in(event_ids))
                .to_owned(),
        )
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    txn.execute(&list).await?;
    Ok(())
}

/// The oldest unpublished rows, in publication order, leaving out the ids in
/// `skip` (inclusive): rows the relay has sent but not yet marked.
pub async fn unpublished<C: ConnectionTrait>(
    db: &C,
    limit: u64,
    skip: Option<(i64, i64)>,
) -> Result<Vec<Model>, StoreError> {
    let mut ids = unpublished_ids();
    if let Some((first, last)) = skip {
        ids.and_where(unpublished::Column::Id.not_between(first, last));
    }
    ids.order_by(unpublished::Column::Id, sea_orm::Order::Asc)
        .limit(limit);
    Ok(Entity::find()
        .filter(Column::Id.in_subquery(ids))
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// Marks rows published: takes them off the unpublished list.
pub async fn mark_published<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    unpublished::Entity::delete_many()
        .filter(unpublished::Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes published rows written before `cutoff`; returns how many.
pub async fn prune<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
    let result = Entity::delete_many()
        .filter(Column::CreatedAt.lt(cutoff))
        .filter(Column::Id.not_in_subquery(unpublished_ids()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// How many rows wait to be published (for metrics and tests).
pub async fn backlog<C: ConnectionTrait>(db: &C) -> Result<u64, StoreError> {
    Ok(unpublished::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests {
    use sea_orm::Statement;
    use sea_orm_migration::MigratorTrait;

    use super::*;
    use crate::store::TempStore;

    crate::migrator![];

    fn event(n: usize) -> PendingEvent {
        PendingEvent {
            event_id: format!("event-{n}"),
            topic: "topic".into(),
            record_key: "key".into(),
            event: format!("{{\"n\":{n}}}"),
        }
    }

    async fn ids(store: &crate::Store) -> Vec<i64> {
        unpublished(store.connection(), 100, None)
            .await
            .unwrap()
            .iter()
            .map(|row| row.id)
            .collect()
    }

    #[tokio::test]
    async fn marked_rows_leave_the_unpublished_list_and_only_they_are_pruned() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        store.migrate::<Migrator>().await.unwrap();
        let txn = store.begin_write().await.unwrap();
        append(&txn, (0..3).map(event)).await.unwrap();
        store.commit(txn).await.unwrap();

        let all = ids(store).await;
        assert_eq!(all.len(), 3);
        assert!(all.is_sorted());
        assert_eq!(backlog(store.connection()).await.unwrap(), 3);

        mark_published(store.writer(), &all[..2]).await.unwrap();
        assert_eq!(ids(store).await, all[2..]);
        assert_eq!(backlog(store.connection()).await.unwrap(), 1);
        let skipped = unpublished(store.connection(), 100, Some((all[2], all[2])))
            .await
            .unwrap();
        assert!(skipped.is_empty(), "rows being sent are left out");

        let future = Utc::now() + chrono::Duration::hours(1);
        assert_eq!(
            prune(store.writer(), Utc::now() - chrono::Duration::hours(1))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            prune(store.writer(), future).await.unwrap(),
            2,
            "only the published rows"
        );
        assert_eq!(ids(store).await, all[2..]);
        temp.remove().await;
    }

    #[tokio::test]
    async fn the_migration_lists_exactly_the_rows_not_yet_published() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        // The three migrations before the list, with one row published and one not.
        Migrator::up(store.writer(), Some(3)).await.unwrap();
        for (id, published) in [(1, "'2026-11-22T10:00:00Z'"), (2, "NULL")] {
            let sql = format!(
                "INSERT INTO outbox (id, event_id, topic, record_key, event, created_at, published_at) \
                 VALUES ({id}, 'event-{id}', 'topic', 'key', '{{}}', '2026-11-22T09:00:00Z', {published})"
            );
            store
                .writer()
                .execute_raw(Statement::from_string(store.backend(), sql))
                .await
                .unwrap();
        }
        Migrator::up(store.writer(), None).await.unwrap();
        assert_eq!(ids(store).await, [2]);

        // And back (past the audit trail, which came after): the published
        // row gets a time again, the other does not.
        Migrator::down(store.writer(), Some(2)).await.unwrap();
        let sql = "SELECT id FROM outbox WHERE published_at IS NULL";
        let rows = store
            .connection()
            .query_all_raw(Statement::from_string(store.backend(), sql))
            .await
            .unwrap();
        let still: Vec<i64> = rows.iter().map(|r| r.try_get("", "id").unwrap()).collect();
        assert_eq!(still, [2]);
        temp.remove().await;
    }
}
