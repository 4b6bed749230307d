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

/// A migration written as data, the one way migrations are written here:
/// its name, then its steps in order — tables created, columns added,
/// indexes on the table last named, statements a backend needs that the
/// schema builder cannot say (triggers). Tables and indexes are created `IF
/// NOT EXISTS`; columns are added one `ALTER TABLE` each (SQLite takes one
/// change per statement). `down` undoes the steps in reverse: drops the
/// tables and the added columns (a migration that dropped a column cannot
/// be undone).
///
/// ```
/// use casework_store::migrations::{Migration, col};
/// use sea_orm_migration::prelude::*;
/// use sea_orm_migration::schema::{string, timestamp_with_time_zone};
///
/// let referrals = Migration::new("m20261122_400002_create_referrals")
///     .create_table(
///         "referrals",
///         Table::create()
///             .col(string(col("id")).primary_key())
///             .col(string(col("status")))
///             .col(timestamp_with_time_zone(col("created_at"))),
///     )
///     .index("referrals_status", &["status", "created_at"]);
/// ```
pub struct Migration {
    name: &'static str,
    steps: Vec<Step>,
    /// The table the next index is on.
    table: String,
}

/// Statements for a backend, as SQL text.
type Statements = fn(sea_orm::DatabaseBackend) -> Vec<String>;

enum Step {
    CreateTable(String, TableCreateStatement),
    AddColumn(String, ColumnDef),
    DropColumn(String, String),
    /// Its name, its table, the statement.
    CreateIndex(String, String, IndexCreateStatement),
    Sql(Statements),
}

impl Migration {
    /// A migration named `name` (`mYYYYMMDD_NNNNNN_what`), with no steps yet.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            steps: Vec::new(),
            table: String::new(),
        }
    }

    /// Creates `table` with the columns of `columns` (a `Table::create()`
    /// with its `.col(...)`s; the name and `IF NOT EXISTS` are set here).
    pub fn create_table(mut self, table: &str, columns: &mut TableCreateStatement) -> Self {
        let statement = columns.table(col(table)).if_not_exists().to_owned();
        self.steps
            .push(Step::CreateTable(table.to_owned(), statement));
        self.table = table.to_owned();
        self
    }

    /// Adds `columns` (nullable or defaulted) to `table`.
    pub fn add_columns(mut self, table: &str, columns: Vec<ColumnDef>) -> Self {
        for column in columns {
            self.steps.push(Step::AddColumn(table.to_owned(), column));
        }
        self.table = table.to_owned();
        self
    }

    /// Drops `columns` from `table`; such a migration cannot be undone.
    pub fn drop_columns(mut self, table: &str, columns: &[&str]) -> Self {
        for column in columns {
            self.steps
                .push(Step::DropColumn(table.to_owned(), (*column).to_owned()));
        }
        self.table = table.to_owned();
        self
    }

    /// An index on `columns` of the table last named, in order.
    pub fn index(self, name: &str, columns: &[&str]) -> Self {
        self.with_index(name, columns, false)
    }

    /// A unique index on `columns` of the table last named, in order.
    pub fn unique_index(self, name: &str, columns: &[&str]) -> Self {
        self.with_index(name, columns, true)
    }

    /// Statements the schema builder cannot say, per backend (run in `up` only).
    pub fn statements(mut self, statements: Statements) -> Self {
        self.steps.push(Step::Sql(statements));
        self
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
        self.steps.push(Step::CreateIndex(
            name.to_owned(),
            self.table.clone(),
            index.to_owned(),
        ));
        self
    }
}

impl MigrationName for Migration {
    fn name(&self) -> &str {
        self.name
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for step in &self.steps {
            match step {
                Step::CreateTable(_, statement) => manager.create_table(statement.clone()).await?,
                Step::AddColumn(table, column) => {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(col(table))
                                .add_column(column.clone())
                                .to_owned(),
                        )
                        .await?
                }
                Step::DropColumn(table, column) => {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(col(table))
                                .drop_column(col(column))
                                .to_owned(),
                        )
                        .await?
                }
                Step::CreateIndex(_, _, index) => manager.create_index(index.clone()).await?,
                Step::Sql(statements) => {
                    for statement in statements(manager.get_database_backend()) {
                        manager
                            .get_connection()
                            .execute_unprepared(&statement)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for step in self.steps.iter().rev() {
            match step {
                Step::CreateTable(table, _) => {
                    manager
                        .drop_table(Table::drop().table(col(table)).if_exists().to_owned())
                        .await?
                }
                Step::AddColumn(table, column) => {
                    manager
                        .alter_table(
                            Table::alter()
                                .table(col(table))
                                .drop_column(col(&column.get_column_name()))
                                .to_owned(),
                        )
                        .await?
                }
                Step::DropColumn(table, column) => {
                    return Err(DbErr::Migration(format!(
                        "{}: {table}.{column} was dropped and cannot be restored",
                        self.name
                    )));
                }
                Step::CreateIndex(name, table, _) => {
                    manager
                        .drop_index(
                            Index::drop()
                                .if_exists()
                                .name(name)
                                .table(col(table))
                                .to_owned(),
                        )
                        .await?
                }
                // Triggers go with their tables.
                Step::Sql(_) => {}
            }
        }
        Ok(())
    }
}

/// The outbox, inbox, idempotency-key and audit-trail migrations, in
/// order. A service's `Migrator` starts its list with these and appends its
/// own (`migrator!`).
pub fn platform() -> Vec<Box<dyn MigrationTrait>> {
    vec![
        Box::new(outbox()),
        Box::new(inbox()),
        Box::new(idempotency_keys()),
        Box::new(ListUnpublishedOutboxRows),
        Box::new(audit_trail()),
    ]
}

/// Declares a service's migrator, `Migrator`: the platform's tables
/// ([`platform`]), then the service's own migrations in order.
///
/// ```
/// use casework_store::migrations::{Migration, col};
/// use sea_orm_migration::prelude::*;
/// use sea_orm_migration::schema::string;
///
/// casework_store::migrator![
///     Migration::new("m20261122_400001_create_decisions")
///         .create_table("decisions", Table::create().col(string(col("id")).primary_key())),
/// ];
/// ```
#[macro_export]
macro_rules! migrator {
    ($($migration:expr),* $(,)?) => {
        /// The service's migrator: the platform's tables, then its own, in order.
        #[derive(Debug)]
        pub struct Migrator;

        impl ::sea_orm_migration::MigratorTrait for Migrator {
            fn migrations() -> Vec<Box<dyn ::sea_orm_migration::MigrationTrait>> {
                // Not mutated when the service adds none.
                #[allow(unused_mut)]
                let mut migrations = $crate::migrations::platform();
                $(migrations.push(Box::new($migration));)*
                migrations
            }
        }
    };
}

/// The audit trail of personal-data reads (`casework_audit`): records in a
/// hash chain, the subjects each names (to find who read a case), and the
/// chain's head, one row, which appenders lock. Records and subjects are
/// append-only: triggers refuse every UPDATE and DELETE on them, whoever
/// asks; on PostgreSQL the application role is also granted no more than
/// SELECT and INSERT on them (`casework migrate` with `database.app_role`).
pub fn audit_trail() -> Migration {
    Migration::new("m20261207_000001_create_audit_trail")
        .create_table(
            "audit_records",
            Table::create()
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
                .col(string(col("hash"))),
        )
        .index("audit_records_who_at", &["who", "at"])
        .create_table(
            "audit_subjects",
            Table::create()
                .col(big_integer(col("seq")))
                .col(string(col("kind")))
                .col(string(col("subject")))
                .primary_key(
                    Index::create()
                        .col(col("subject"))
                        .col(col("kind"))
                        .col(col("seq")),
                ),
        )
        .create_table(
            "audit_head",
            Table::create()
                .col(integer(col("id")).primary_key())
                .col(big_integer(col("seq")))
                .col(string(col("hash"))),
        )
        .statements(append_only)
}

/// The hash the first record of a chain follows.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain's genesis head, and the triggers that keep records and
/// subjects append-only.
fn append_only(backend: sea_orm::DatabaseBackend) -> Vec<String> {
    let postgres = backend == sea_orm::DatabaseBackend::Postgres;
    let mut statements = vec![if postgres {
        format!(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{AUDIT_GENESIS}') ON CONFLICT DO NOTHING"
        )
    } else {
        format!("INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '{AUDIT_GENESIS}')")
    }];
    for table in ["audit_records", "audit_subjects"] {
        if postgres {
            statements.extend([
                "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql"
                    .to_owned(),
                format!("DROP TRIGGER IF EXISTS {table}_append_only ON {table}"),
                format!(
                    "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
                ),
            ]);
        } else {
            for op in ["UPDATE", "DELETE"] {
                statements.push(format!(
                    "CREATE TRIGGER IF NOT EXISTS {table}_no_{} BEFORE {op} ON {table} \
                     BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
                    op.to_lowercase()
                ));
            }
        }
    }
    statements
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
/// state change that caused them, published by the relay. The relay read
/// unpublished rows in id order, the pruner published ones by age (until
/// [`ListUnpublishedOutboxRows`]).
pub fn outbox() -> Migration {
    Migration::new("m20261122_000001_create_outbox")
        .create_table(
            "outbox",
            Table::create()
                .col(big_pk_auto(col("id")))
                .col(string(col("event_id")).unique_key())
                .col(string(col("topic")))
                .col(string(col("record_key")))
                .col(text(col("event")))
                .col(timestamp_with_time_zone(col("created_at")))
                .col(timestamp_with_time_zone_null(col("published_at"))),
        )
        .index(PUBLISHED_AT_ID, &["published_at", "id"])
}

/// The idempotent inbox: the ids of events a consumer group has applied.
pub fn inbox() -> Migration {
    Migration::new("m20261122_000002_create_inbox").create_table(
        "inbox",
        Table::create()
            .col(string(col("consumer_group")))
            .col(string(col("event_id")))
            .col(timestamp_with_time_zone(col("received_at")))
            .primary_key(
                Index::create()
                    .col(col("consumer_group"))
                    .col(col("event_id")),
            ),
    )
}

/// Responses of creating requests by `Idempotency-Key`, so a retried request
/// gets the first one's answer instead of creating a second thing.
pub fn idempotency_keys() -> Migration {
    Migration::new("m20261122_000003_create_idempotency_keys").create_table(
        "idempotency_keys",
        Table::create()
            .col(string(col("scope")))
            .col(string(col("key")))
            .col(string(col("request_hash")))
            .col(integer(col("status")))
            .col(text(col("body")))
            .col(timestamp_with_time_zone(col("created_at")))
            .primary_key(Index::create().col(col("scope")).col(col("key"))),
    )
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
