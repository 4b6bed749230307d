//! Investigate's tables and their migrations: the three indexes it screens
//! against (`watchlist_entries`, `criminal_records`, `lost_stolen_documents`)
//! and the `investigations` it has answered.
//!
//! Ids are UUIDs as text, like every other service's. Names are stored as
//! given and in their comparison form ([`casework_contracts::names::normalise`]),
//! which is what the checks match on. `source_ref` is the external id of a
//! record (an import line's, `seed-…` for synthetic data, the action id for
//! entries Enforce asked for): unique, so loading the same record twice adds it once.
//!
//! A criminal record holds the facts that decide when it is spent, never
//! whether it is: that is computed on the day it matters
//! (`casework_disclosure`).

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{
    boolean, boolean_null, date, date_null, json, string, string_null, text,
    timestamp_with_time_zone,
};

/// A row of `watchlist_entries`: the warnings index.
pub mod watchlist_entry {
    use sea_orm::entity::prelude::*;

    /// A warnings-index entry about one person.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "watchlist_entries")]
    pub struct Model {
        /// Its id (a UUID), the `source_id` of findings and `entry_id` of events.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Given names as recorded.
        pub given_names: String,
        /// Surname as recorded.
        pub surname: String,
        /// Given names in comparison form.
        pub normalised_given_names: String,
        /// Surname in comparison form.
        pub normalised_surname: String,
        /// Date of birth.
        pub date_of_birth: Date,
        /// ISO 3166 alpha-3 nationality, if known.
        pub nationality: Option<String>,
        /// A travel document number (normalised), if known.
        pub document_number: Option<String>,
        /// What kind of warning, e.g. `immigration-offender`.
        pub category: String,
        /// `low`, `medium`, `high` or `critical`.
        pub severity: String,
        /// A sentence for caseworkers.
        pub summary: String,
        /// `import`, `enforcement` or `seed`.
        pub source: String,
        /// The record's external id; unique.
        pub source_ref: Option<String>,
        /// When it was added.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `criminal_records`: one conviction of one person.
pub mod criminal_record {
    use sea_orm::entity::prelude::*;

    /// A conviction.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "criminal_records")]
    pub struct Model {
        /// Its id (a UUID), the `source_id` of findings.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Given names as recorded.
        pub given_names: String,
        /// Surname as recorded.
        pub surname: String,
        /// Given names in comparison form.
        pub normalised_given_names: String,
        /// Surname in comparison form.
        pub normalised_surname: String,
        /// Date of birth.
        pub date_of_birth: Date,
        /// The offence, e.g. `Burglary`.
        pub offence: String,
        /// The sentence, e.g. `18 months' imprisonment`.
        pub disposal: String,
        /// The court.
        pub court: String,
        /// When convicted (or cautioned).
        pub conviction_date: Date,
        /// The disposal as the rehabilitation table names it; none when the
        /// source did not say (the record is then undetermined).
        pub disposal_kind: Option<String>,
        /// Custody: the sentence's length (`30 months`).
        pub sentence_length: Option<String>,
        /// Custody: the day the sentence ends, when given.
        pub sentence_ends_on: Option<Date>,
        /// An order: its last day.
        pub order_ends_on: Option<Date>,
        /// An order: the court named no last day.
        pub order_has_no_end_date: bool,
        /// A conditional caution: the day its conditions ended.
        pub conditions_end_on: Option<Date>,
        /// Whether the offence is in Schedule 18 to the Sentencing Code.
        pub schedule_18: Option<bool>,
        /// Whether the offence is triable only summarily.
        pub summary_only: Option<bool>,
        /// The record's external id; unique.
        pub source_ref: Option<String>,
        /// When it was loaded.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `lost_stolen_documents`: a travel document reported lost or stolen.
pub mod lost_stolen_document {
    use sea_orm::entity::prelude::*;

    /// A reported document; one row per number and issuing state.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lost_stolen_documents")]
    pub struct Model {
        /// Its id (a UUID), the `source_id` of findings.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The document number, normalised (see [`crate::normalise_document_number`]).
        pub document_number: String,
        /// ISO 3166 alpha-3 code of the issuing state.
        pub issuing_state: String,
        /// When it was reported.
        pub reported_on: Date,
        /// `lost` or `stolen`.
        pub status: String,
        /// The record's external id; unique.
        pub source_ref: Option<String>,
        /// When it was loaded.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `investigations`: the answer to one request (one step).
pub mod investigation {
    use sea_orm::entity::prelude::*;

    /// An investigation and its result.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "investigations")]
    pub struct Model {
        /// The step that asked: a request delivered twice is answered once.
        #[sea_orm(primary_key, auto_increment = false)]
        pub step_id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// The `investigation.completed.v1` payload emitted.
        pub result: Json,
        /// When it was answered.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

// Investigate's migrator: the platform's tables, then its own.
casework_store::migrator![
    Migration::new("m20261122_500001_create_watchlist")
        .create_table(
            "watchlist_entries",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("given_names")))
                .col(string(col("surname")))
                .col(string(col("normalised_given_names")))
                .col(string(col("normalised_surname")))
                .col(date(col("date_of_birth")))
                .col(string_null(col("nationality")))
                .col(string_null(col("document_number")))
                .col(string(col("category")))
                .col(string(col("severity")))
                .col(text(col("summary")))
                .col(string(col("source")))
                .col(string_null(col("source_ref")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index(
            "watchlist_entries_normalised_surname_date_of_birth",
            &["normalised_surname", "date_of_birth"],
        )
        .index("watchlist_entries_document_number", &["document_number"])
        .unique_index("watchlist_entries_source_ref", &["source_ref"]),
    Migration::new("m20261122_500002_create_criminal_records")
        .create_table(
            "criminal_records",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("given_names")))
                .col(string(col("surname")))
                .col(string(col("normalised_given_names")))
                .col(string(col("normalised_surname")))
                .col(date(col("date_of_birth")))
                .col(text(col("offence")))
                .col(text(col("disposal")))
                .col(string(col("court")))
                .col(date(col("conviction_date")))
                // Replaced by the record's facts in `conviction_facts`.
                .col(boolean(col("spent")))
                .col(string_null(col("source_ref")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index(
            "criminal_records_normalised_surname_date_of_birth",
            &["normalised_surname", "date_of_birth"],
        )
        .unique_index("criminal_records_source_ref", &["source_ref"]),
    Migration::new("m20261122_500003_create_lost_stolen_documents")
        .create_table(
            "lost_stolen_documents",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("document_number")))
                .col(string(col("issuing_state")))
                .col(date(col("reported_on")))
                .col(string(col("status")))
                .col(string_null(col("source_ref")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        // One report per document: the number leads, so it also serves the check.
        .unique_index(
            "lost_stolen_documents_document_number_issuing_state",
            &["document_number", "issuing_state"],
        )
        .unique_index("lost_stolen_documents_source_ref", &["source_ref"]),
    Migration::new("m20261122_500004_create_investigations")
        .create_table(
            "investigations",
            Table::create()
                .col(string(col("step_id")).primary_key())
                .col(string(col("case_id")))
                .col(string(col("reference")))
                .col(json(col("result")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index("investigations_case_id", &["case_id"])
        .index("investigations_reference", &["reference"]),
    conviction_facts(),
];

/// Criminal records carry the facts that decide spentness instead of an
/// imported verdict: the facts' columns come, `spent` goes. Records loaded
/// before have no facts and are assessed as undetermined until reloaded.
fn conviction_facts() -> Migration {
    Migration::new("m20261206_500005_conviction_facts")
        .add_columns(
            "criminal_records",
            vec![
                string_null(col("disposal_kind")),
                string_null(col("sentence_length")),
                date_null(col("sentence_ends_on")),
                date_null(col("order_ends_on")),
                boolean(col("order_has_no_end_date"))
                    .default(false)
                    .to_owned(),
                date_null(col("conditions_end_on")),
                boolean_null(col("schedule_18")),
                boolean_null(col("summary_only")),
            ],
        )
        .drop_columns("criminal_records", &["spent"])
}
