//! Register's migrations: the platform's tables, then cases and timelines.
// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

use casework_store::migrations::col;
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, integer, string, string_uniq, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

/// Register's migrator.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = casework_store::migrations::platform();
        migrations.push(Box::new(CreateCases));
        migrations.push(Box::new(CreateProcessState));
        migrations
    }
}

struct CreateCases;

impl MigrationName for CreateCases {
    fn name(&self) -> &str {
        "m20261122_100001_create_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateCases {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(col("cases"))
                    .if_not_exists()
                    .col(string(col("id")).primary_key())
                    .col(string_uniq(col("reference")))
                    .col(string(col("product")))
                    .col(string(col("status")))
                    .col(string(col("applicant_surname")))
                    .col(string(col("applicant_date_of_birth")))
                    .col(text(col("application")))
                    .col(timestamp_with_time_zone(col("received_at")))
                    .col(timestamp_with_time_zone(col("updated_at")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(col("case_timeline"))
                    .if_not_exists()
                    .col(big_pk_auto(col("id")))
                    .col(string(col("case_id")))
                    .col(timestamp_with_time_zone(col("at")))
                    .col(string(col("kind")))
                    .col(text(col("summary")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("case_timeline_case")
                    .table(col("case_timeline"))
                    .col(col("case_id"))
                    .col(col("id"))
                    .to_owned(),
            )
            .await
    }
}

/// The process state: where each case is, and every step it has asked for.
struct CreateProcessState;

impl MigrationName for CreateProcessState {
    fn name(&self) -> &str {
        "m20261122_100002_create_process_state"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for CreateProcessState {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            ColumnDef::new(col("stage")).string().null().to_owned(),
            ColumnDef::new(col("outcome")).string().null().to_owned(),
            ColumnDef::new(col("stuck_since"))
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(col("closed_at"))
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(col("applicant_surname_normalised"))
                .string()
                .not_null()
                .default("")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(col("cases"))
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("cases_search")
                    .table(col("cases"))
                    .col(col("applicant_surname_normalised"))
                    .col(col("applicant_date_of_birth"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(col("case_steps"))
                    .if_not_exists()
                    .col(string(col("step_id")).primary_key())
                    .col(string(col("case_id")))
                    .col(string(col("stage")))
                    .col(string(col("check_id")))
                    .col(string(col("capability")))
                    .col(integer(col("attempt")))
                    .col(string(col("status")))
                    .col(timestamp_with_time_zone(col("requested_at")))
                    .col(timestamp_with_time_zone_null(col("deadline")))
                    .col(timestamp_with_time_zone_null(col("completed_at")))
                    .col(text(col("request")))
                    .col(text_null(col("result")))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("case_steps_case")
                    .table(col("case_steps"))
                    .col(col("case_id"))
                    .to_owned(),
            )
            .await?;
        // The timeout sweep looks for requested steps past their deadline.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("case_steps_due")
                    .table(col("case_steps"))
                    .col(col("status"))
                    .col(col("deadline"))
                    .to_owned(),
            )
            .await
    }
}
