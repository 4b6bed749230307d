//! The platform's own tables, which every service's migrator lists first.
//!
//! Migration names are explicit (`mYYYYMMDD_NNNNNN_what`): the derive would
//! name every migration of one file after the file, and they would collide.
// `#[async_trait]` needs the elided lifetime here: spelling it out changes the bound.
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer, string, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

/// A table's or a column's name in a migration: `col("decisions")`.
pub fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// A migration that creates one table and its indexes — the shape of nearly
/// every migration here — written as data: its name, the table and its
/// columns, then its indexes. Both are created `IF NOT EXISTS`; `down` drops
/// the table.
///
/// ```
/// use casework_store::migrations::{CreateTable, col};
/// use sea_orm_migration::prelude::*;
/// use sea_orm_migration::schema::{string, timestamp_with_time_zone};
///
/// let referrals = CreateTable::new(
///     "m20261122_400002_create_referrals",
///     "referrals",
///     Table::create()
///         .col(string(col("id")).primary_key())
///         .col(string(col("status")))
///         .col(timestamp_with_time_zone(col("created_at"))),
/// )
/// .index("referrals_status", &["status", "created_at"]);
/// ```
pub struct CreateTable {
    name: &'static str,
    table: String,
    statement: TableCreateStatement,
    indexes: Vec<IndexCreateStatement>,
}

impl CreateTable {
    /// Creates `table` with the columns of `columns` (a `Table::create()`
    /// with its `.col(...)`s; the name and `IF NOT EXISTS` are set here).
    pub fn new(name: &'static str, table: &str, columns: &mut TableCreateStatement) -> Self {
        let statement = columns.table(col(table)).if_not_exists().to_owned();
        Self {
            name,
            table: table.to_owned(),
            statement,
            indexes: Vec::new(),
        }
    }

    /// And an index on `columns`, in order.
    pub fn index(self, name: &str, columns: &[&str]) -> Self {
        self.with_index(name, columns, false)
    }

    /// And a unique index on `columns`, in order.
    pub fn unique_index(self, name: &str, columns: &[&str]) -> Self {
        self.with_index(name, columns, true)
    }

    fn with_index(mut self, name: &str, columns: &[&str], unique: bool) -> Self {
        let mut index = Index::create();
        index.if_not_exists().name(name).table(col(&self.table));
        if unique {
            index.unique();
        }
        for column in columns {
            index.col(col(column));
        }
        self.indexes.push(index.to_owned());
        self
    }
}

impl MigrationName for CreateTable {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateTable {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_table(self.statement.clone()).await?;
        for index in &self.indexes {
            manager.create_index(index.clone()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(col(&self.table)).to_owned())
            .await
    }
}

/// A migration that adds nullable (or defaulted) columns to a table, one
/// `ALTER TABLE` each (SQLite takes one change per statement); `down` drops
/// them.
pub struct AddColumns {
    name: &'static str,
    table: String,
    columns: Vec<ColumnDef>,
}

impl AddColumns {
    /// Adds `columns` to `table`.
    pub fn new(name: &'static str, table: &str, columns: Vec<ColumnDef>) -> Self {
        Self {
            name,
            table: table.to_owned(),
            columns,
        }
    }
}

impl MigrationName for AddColumns {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for AddColumns {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in &self.columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(col(&self.table))
                        .add_column(column.clone())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in &self.columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(col(&self.table))
                        .drop_column(col(&column.get_column_name()))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The outbox, inbox, idempotency-key and audit-trail migrations, in
/// order. A service's `Migrator` starts its list with these and appends its own.
pub fn platform() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(CreateOutbox),
        Box::new(CreateInbox),
        Box::new(CreateIdempotencyKeys),
        Box::new(ListUnpublishedOutboxRows),
        Box::new(CreateAuditTrail),
    ]
}

/// The audit trail of personal-data reads (`casework_audit`): records in a
/// hash chain, the subjects each names (to find who read a case), and the
/// chain's head, one row, which appenders lock. Records and subjects are
/// append-only: triggers refuse every UPDATE and DELETE on them, whoever
/// asks; on PostgreSQL the application role is also granted no more than
/// SELECT and INSERT on them (`casework migrate` with `database.app_role`).
pub struct CreateAuditTrail;

impl MigrationName for CreateAuditTrail {
    fn name(&self) -> &str {
        "m20261207_000001_create_audit_trail"
    }
}

/// The hash the first record of a chain follows.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[async_trait::async_trait]
impl MigrationTrait for CreateAuditTrail {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(col("audit_records"))
                    .if_not_exists()
                    .col(big_integer(col("seq")).primary_key())
                    .col(string(col("at")))
                    .col(string(col("who")))
                    .col(text(col("roles")))
                    .col(string(col("action")))
                    .col(text(col("what")))
                    .col(string(col("purpose")))
                    .col(string(col("recipient")))
                    .col(string(col("outcome")))
                    .col(string(col("prev_hash")))
                    .col(string(col("hash")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("audit_records_who_at")
                    .table(col("audit_records"))
                    .col(col("who"))
                    .col(col("at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(col("audit_subjects"))
                    .if_not_exists()
                    .col(big_integer(col("seq")))
                    .col(string(col("kind")))
                    .col(string(col("subject")))
                    .primary_key(
                        Index::create()
                            .col(col("subject"))
                            .col(col("kind"))
                            .col(col("seq")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(col("audit_head"))
                    .if_not_exists()
                    .col(integer(col("id")).primary_key())
                    .col(big_integer(col("seq")))
                    .col(string(col("hash")))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let genesis = match backend {
            sea_orm::DatabaseBackend::Postgres => format!(
                "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{AUDIT_GENESIS}') ON CONFLICT DO NOTHING"
            ),
            _ => format!(
                "INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '{AUDIT_GENESIS}')"
            ),
        };
        db.execute_unprepared(&genesis).await?;
        for table in ["audit_records", "audit_subjects"] {
            let statements = match backend {
                sea_orm::DatabaseBackend::Postgres => vec![
                    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql"
                        .to_owned(),
                    format!(
                        "DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
                    ),
                    format!(
                        "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                         FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
                    ),
                ],
                _ => ["UPDATE", "DELETE"]
                    .iter()
                    .map(|op| {
                        format!(
                            "CREATE TRIGGER IF NOT EXISTS {table}_no_{} BEFORE {op} ON {table} \
                             BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
                            op.to_lowercase()
                        )
                    })
                    .collect(),
            };
            for statement in statements {
                db.execute_unprepared(&statement).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_head", "audit_subjects", "audit_records"] {
            manager
                .drop_table(Table::drop().table(col(table)).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}

/// The outbox's index for the relay and pruner until [`ListUnpublishedOutboxRows`].
const PUBLISHED_AT_ID: &str = "outbox_published_at_id";
/// The outbox's index for the pruner since [`ListUnpublishedOutboxRows`].
const CREATED_AT: &str = "outbox_created_at";

/// An index on the outbox.
fn outbox_index(name: &str, columns: impl IntoIterator<Item = Alias>) -> IndexCreateStatement {
    let mut index = Index::create();
    index.if_not_exists().name(name).table(col("outbox"));
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

/// The transactional outbox: events written in the same transaction as the
/// state change that caused them, published by the relay.
pub struct CreateOutbox;

impl MigrationName for CreateOutbox {
    fn name(&self) -> &str {
        "m20261122_000001_create_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateOutbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(col("outbox"))
                    .if_not_exists()
                    .col(big_pk_auto(col("id")))
                    .col(string(col("event_id")).unique_key())
                    .col(string(col("topic")))
                    .col(string(col("record_key")))
                    .col(text(col("event")))
                    .col(timestamp_with_time_zone(col("created_at")))
                    .col(timestamp_with_time_zone_null(col("published_at")))
                    .to_owned(),
            )
            .await?;
        // The relay reads unpublished rows in id order; the pruner reads published ones by age.
        manager
            .create_index(outbox_index(
                PUBLISHED_AT_ID,
                [col("published_at"), col("id")],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(col("outbox")).to_owned())
            .await
    }
}

/// The idempotent inbox: the ids of events a consumer group has applied.
pub struct CreateInbox;

impl MigrationName for CreateInbox {
    fn name(&self) -> &str {
        "m20261122_000002_create_inbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateInbox {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(col("inbox"))
                    .if_not_exists()
                    .col(string(col("consumer_group")))
                    .col(string(col("event_id")))
                    .col(timestamp_with_time_zone(col("received_at")))
                    .primary_key(
                        Index::create()
                            .col(col("consumer_group"))
                            .col(col("event_id")),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(col("inbox")).to_owned())
            .await
    }
}

/// Responses of creating requests by `Idempotency-Key`, so a retried request
/// gets the first one's answer instead of creating a second thing.
pub struct CreateIdempotencyKeys;

impl MigrationName for CreateIdempotencyKeys {
    fn name(&self) -> &str {
        "m20261122_000003_create_idempotency_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateIdempotencyKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(col("idempotency_keys"))
                    .if_not_exists()
                    .col(string(col("scope")))
                    .col(string(col("key")))
                    .col(string(col("request_hash")))
                    .col(integer(col("status")))
                    .col(text(col("body")))
                    .col(timestamp_with_time_zone(col("created_at")))
                    .primary_key(Index::create().col(col("scope")).col(col("key")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(col("idempotency_keys")).to_owned())
            .await
    }
}

/// Lists the outbox rows still to publish in a narrow table of their own, in
/// place of a `published_at` column on the outbox.
///
/// The relay marks about a thousand rows published at a time. As a column,
/// each mark rewrote every one of those rows with its event JSON (hundreds of
/// pages, 10–14 ms holding the writer); as deletions from a table of ids it
/// touches a few small pages. Old rows are pruned by `created_at`.
pub struct ListUnpublishedOutboxRows;

impl MigrationName for ListUnpublishedOutboxRows {
    fn name(&self) -> &str {
        "m20261123_000001_list_unpublished_outbox_rows"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ListUnpublishedOutboxRows {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Only `integer primary key` makes SQLite key the table by the id itself
        // (one b-tree, no second index); SQLite's integers are 64-bit anyway.
        let mut id = ColumnDef::new(col("id"));
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Sqlite => id.integer(),
            _ => id.big_integer(),
        };
        manager
            .create_table(
                Table::create()
                    .table(col("outbox_unpublished"))
                    .if_not_exists()
                    .col(id.not_null().primary_key())
                    .to_owned(),
            )
            .await?;
        let pending = Query::insert()
            .into_table(col("outbox_unpublished"))
            .columns([col("id")])
            .select_from(
                Query::select()
                    .column(col("id"))
                    .from(col("outbox"))
                    .and_where(Expr::col(col("published_at")).is_null())
                    .to_owned(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        manager.exec_stmt(pending).await?;
        manager
            .drop_index(
                Index::drop()
                    .name(PUBLISHED_AT_ID)
                    .table(col("outbox"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(col("outbox"))
                    .drop_column(col("published_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(outbox_index(CREATED_AT, [col("created_at")]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(CREATED_AT)
                    .table(col("outbox"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(col("outbox"))
                    .add_column(timestamp_with_time_zone_null(col("published_at")))
                    .to_owned(),
            )
            .await?;
        // What is not listed was published; when is no longer known.
        let published = Query::update()
            .table(col("outbox"))
            .value(col("published_at"), Expr::col(col("created_at")))
            .and_where(
                Expr::col(col("id")).not_in_subquery(
                    Query::select()
                        .column(col("id"))
                        .from(col("outbox_unpublished"))
                        .to_owned(),
                ),
            )
            .to_owned();
        manager.exec_stmt(published).await?;
        manager
            .create_index(outbox_index(
                PUBLISHED_AT_ID,
                [col("published_at"), col("id")],
            ))
            .await?;
        manager
            .drop_table(Table::drop().table(col("outbox_unpublished")).to_owned())
            .await
    }
}
