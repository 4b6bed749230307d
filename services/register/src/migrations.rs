//! Register's migrations: the platform's tables, then cases and timelines.

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, integer, string, string_uniq, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

casework_store::migrator![
    Migration::new("m20261122_100001_create_cases")
        .create_table(
            "cases",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string_uniq(col("reference")))
                .col(string(col("product")))
                .col(string(col("status")))
                .col(string(col("applicant_surname")))
                .col(string(col("applicant_date_of_birth")))
                .col(text(col("application")))
                .col(timestamp_with_time_zone(col("received_at")))
                .col(timestamp_with_time_zone(col("updated_at"))),
        )
        .create_table(
            "case_timeline",
            Table::create()
                .col(big_pk_auto(col("id")))
                .col(string(col("case_id")))
                .col(timestamp_with_time_zone(col("at")))
                .col(string(col("kind")))
                .col(text(col("summary"))),
        )
        .index("case_timeline_case", &["case_id", "id"]),
    // The process state: where each case is, and every step it has asked for.
    Migration::new("m20261122_100002_create_process_state")
        .add_columns(
            "cases",
            vec![
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
            ],
        )
        .index(
            "cases_search",
            &["applicant_surname_normalised", "applicant_date_of_birth"],
        )
        .create_table(
            "case_steps",
            Table::create()
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
                .col(text_null(col("result"))),
        )
        .index("case_steps_case", &["case_id"])
        // The timeout sweep looks for requested steps past their deadline.
        .index("case_steps_due", &["status", "deadline"]),
];
