//! Enforce's tables, `enforcement_actions` and `alerts`, and their migrations.
//!
//! Ids are UUIDs as text, like every other service's. JSON columns are `json`
//! on PostgreSQL, so the subject is kept exactly as the request carried it.

// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

use async_trait::async_trait;
use sea_orm::DbErr;
use sea_orm_migration::prelude::{
    Alias, Index, MigrationName, MigrationTrait, MigratorTrait, SchemaManager, Table,
};
use sea_orm_migration::schema::{
    json, json_null, string, string_null, string_uniq, text, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

/// A row of `enforcement_actions`: one action on one case, at most one per step.
pub mod action {
    use sea_orm::entity::prelude::*;

    /// An enforcement action.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "enforcement_actions")]
    pub struct Model {
        /// Its id (a UUID), also `action_id` in the events.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// The product applied for.
        pub product: String,
        /// The step that asked for it: a request delivered twice acts once.
        #[sea_orm(unique)]
        pub step_id: String,
        /// The action, e.g. `refusal-false-document`.
        pub action: String,
        /// The person acted on, as the request carried them.
        pub subject: Json,
        /// Why (the decision's reasons).
        pub reasons: Json,
        /// The warnings-index entry asked for (`{category, severity, summary}`), if any.
        pub watchlist: Option<Json>,
        /// `open` or `closed`.
        pub status: String,
        /// When it was recorded.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `alerts`: something officers should look at, raised by an action.
pub mod alert {
    use sea_orm::entity::prelude::*;

    /// An alert for officers.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "alerts")]
    pub struct Model {
        /// Its id (a UUID).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The action that raised it.
        pub action_id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// What happened, in a sentence.
        pub summary: String,
        /// `open` or `acknowledged`.
        pub status: String,
        /// When it was raised.
        pub created_at: DateTimeUtc,
        /// When an officer acknowledged it.
        pub acknowledged_at: Option<DateTimeUtc>,
        /// Who acknowledged it (the token's `sub`).
        pub acknowledged_by: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Enforce's migrator: the platform's tables, then its own.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = casework_store::migrations::platform();
        migrations.push(Box::new(CreateEnforcementActions));
        migrations.push(Box::new(CreateAlerts));
        migrations
    }
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

struct CreateEnforcementActions;

impl MigrationName for CreateEnforcementActions {
    fn name(&self) -> &str {
        "m20261122_700001_create_enforcement_actions"
    }
}

#[async_trait]
impl MigrationTrait for CreateEnforcementActions {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = col("enforcement_actions");
        manager
            .create_table(
                Table::create()
                    .table(table.clone())
                    .if_not_exists()
                    .col(string(col("id")).primary_key())
                    .col(string(col("case_id")))
                    .col(string(col("reference")))
                    .col(string(col("product")))
                    // One action per step: a request delivered twice acts once.
                    .col(string_uniq(col("step_id")))
                    .col(string(col("action")))
                    .col(json(col("subject")))
                    .col(json(col("reasons")))
                    .col(json_null(col("watchlist")))
                    .col(string(col("status")))
                    .col(timestamp_with_time_zone(col("created_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("enforcement_actions_status")
                    .table(table.clone())
                    .col(col("status"))
                    .col(col("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("enforcement_actions_reference")
                    .table(table)
                    .col(col("reference"))
                    .col(col("created_at"))
                    .to_owned(),
            )
            .await
    }
}

struct CreateAlerts;

impl MigrationName for CreateAlerts {
    fn name(&self) -> &str {
        "m20261122_700002_create_alerts"
    }
}

#[async_trait]
impl MigrationTrait for CreateAlerts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let table = col("alerts");
        manager
            .create_table(
                Table::create()
                    .table(table.clone())
                    .if_not_exists()
                    .col(string(col("id")).primary_key())
                    .col(string(col("action_id")))
                    .col(string(col("case_id")))
                    .col(string(col("reference")))
                    .col(text(col("summary")))
                    .col(string(col("status")))
                    .col(timestamp_with_time_zone(col("created_at")))
                    .col(timestamp_with_time_zone_null(col("acknowledged_at")))
                    .col(string_null(col("acknowledged_by")))
                    .to_owned(),
            )
            .await?;
        // The officers' queue: by status, oldest first.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("alerts_queue")
                    .table(table)
                    .col(col("status"))
                    .col(col("created_at"))
                    .to_owned(),
            )
            .await
    }
}
