//! Register's migrations: the platform's tables, then cases and timelines.
// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_pk_auto, string, string_uniq, text, timestamp_with_time_zone};

/// Register's migrator.
#[derive(Debug)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut migrations = casework_store::migrations::platform();
        migrations.push(Box::new(CreateCases));
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
