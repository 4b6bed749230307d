//! Register's migrations: the platform's tables, then cases and timelines.
// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

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

#[derive(DeriveIden)]
enum Cases {
    Table,
    Id,
    Reference,
    Product,
    Status,
    ApplicantSurname,
    ApplicantDateOfBirth,
    Application,
    ReceivedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CaseTimeline {
    Table,
    Id,
    CaseId,
    At,
    Kind,
    Summary,
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
                    .table(Cases::Table)
                    .if_not_exists()
                    .col(string(Cases::Id).primary_key())
                    .col(string_uniq(Cases::Reference))
                    .col(string(Cases::Product))
                    .col(string(Cases::Status))
                    .col(string(Cases::ApplicantSurname))
                    .col(string(Cases::ApplicantDateOfBirth))
                    .col(text(Cases::Application))
                    .col(timestamp_with_time_zone(Cases::ReceivedAt))
                    .col(timestamp_with_time_zone(Cases::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseTimeline::Table)
                    .if_not_exists()
                    .col(big_pk_auto(CaseTimeline::Id))
                    .col(string(CaseTimeline::CaseId))
                    .col(timestamp_with_time_zone(CaseTimeline::At))
                    .col(string(CaseTimeline::Kind))
                    .col(text(CaseTimeline::Summary))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("case_timeline_case")
                    .table(CaseTimeline::Table)
                    .col(CaseTimeline::CaseId)
                    .col(CaseTimeline::Id)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum CaseSteps {
    Table,
    StepId,
    CaseId,
    Stage,
    CheckId,
    Capability,
    Attempt,
    Status,
    RequestedAt,
    Deadline,
    CompletedAt,
    Request,
    Result,
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
            ColumnDef::new(Alias::new("stage"))
                .string()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("outcome"))
                .string()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("stuck_since"))
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("closed_at"))
                .timestamp_with_time_zone()
                .null()
                .to_owned(),
            ColumnDef::new(Alias::new("applicant_surname_normalised"))
                .string()
                .not_null()
                .default("")
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Cases::Table)
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
                    .table(Cases::Table)
                    .col(Alias::new("applicant_surname_normalised"))
                    .col(Cases::ApplicantDateOfBirth)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CaseSteps::Table)
                    .if_not_exists()
                    .col(string(CaseSteps::StepId).primary_key())
                    .col(string(CaseSteps::CaseId))
                    .col(string(CaseSteps::Stage))
                    .col(string(CaseSteps::CheckId))
                    .col(string(CaseSteps::Capability))
                    .col(integer(CaseSteps::Attempt))
                    .col(string(CaseSteps::Status))
                    .col(timestamp_with_time_zone(CaseSteps::RequestedAt))
                    .col(timestamp_with_time_zone_null(CaseSteps::Deadline))
                    .col(timestamp_with_time_zone_null(CaseSteps::CompletedAt))
                    .col(text(CaseSteps::Request))
                    .col(text_null(CaseSteps::Result))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("case_steps_case")
                    .table(CaseSteps::Table)
                    .col(CaseSteps::CaseId)
                    .to_owned(),
            )
            .await?;
        // The timeout sweep looks for requested steps past their deadline.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("case_steps_due")
                    .table(CaseSteps::Table)
                    .col(CaseSteps::Status)
                    .col(CaseSteps::Deadline)
                    .to_owned(),
            )
            .await
    }
}
