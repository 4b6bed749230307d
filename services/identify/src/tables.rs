//! Identify's tables and their migrations.
//!
//! Ids are UUIDs as text and dates `YYYY-MM-DD` text, as in the rest of the
//! platform, so both databases store and compare them alike.

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{big_pk_auto, string, string_null, text, timestamp_with_time_zone};

/// A row of `persons`: one person of the index.
pub mod person {
    use sea_orm::entity::prelude::*;

    /// A person.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "persons")]
    pub struct Model {
        /// Their id (UUID).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Given names as first stated.
        pub given_names: String,
        /// Surname as first stated.
        pub surname: String,
        /// [`casework_contracts::names::normalise`] of the given names.
        pub normalised_given_names: String,
        /// [`casework_contracts::names::normalise`] of the surname.
        pub normalised_surname: String,
        /// `YYYY-MM-DD`.
        pub date_of_birth: String,
        /// ISO 3166 alpha-3, when known.
        pub nationality: Option<String>,
        /// When they entered the index.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `person_documents`: a valid document that matched the person.
pub mod person_document {
    use sea_orm::entity::prelude::*;

    /// A document on record.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person_documents")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The person.
        pub person_id: String,
        /// The document number.
        pub document_number: String,
        /// `TD1`, `TD3`, `MRV-A`.
        pub format: String,
        /// The issuing state.
        pub issuing_state: String,
        /// Date of expiry, `YYYY-MM-DD`.
        pub expiry: String,
        /// The case that first presented it.
        pub case_id: String,
        /// When it was recorded.
        pub recorded_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `identity_checks`: one answered `identify.requested`.
pub mod identity_check {
    use sea_orm::entity::prelude::*;

    /// A check.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "identity_checks")]
    pub struct Model {
        /// The request's step id: one check per step, however often delivered.
        #[sea_orm(primary_key, auto_increment = false)]
        pub step_id: String,
        /// The case.
        pub case_id: String,
        /// The person the applicant resolved to.
        pub person_id: String,
        /// `none`, `low`, `medium`, `high`.
        pub confidence: String,
        /// The `identity.established` payload emitted (JSON).
        pub result: String,
        /// When it was checked.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

// Identify's migrator: the platform's tables, then the person index.
casework_store::migrator![
    Migration::new("m20261122_300001_create_person_index")
        .create_table(
            "persons",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("given_names")))
                .col(string(col("surname")))
                .col(string(col("normalised_given_names")))
                .col(string(col("normalised_surname")))
                .col(string(col("date_of_birth")))
                .col(string_null(col("nationality")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        // The match key, unique: the match rule treats it as one person, and
        // uniqueness keeps two concurrent first applications from creating
        // two. Its prefix (surname, date of birth) serves the search.
        .unique_index(
            "persons_match_key",
            &[
                "normalised_surname",
                "date_of_birth",
                "normalised_given_names"
            ],
        )
        .create_table(
            "person_documents",
            Table::create()
                .col(big_pk_auto(col("id")))
                .col(string(col("person_id")))
                .col(string(col("document_number")))
                .col(string(col("format")))
                .col(string(col("issuing_state")))
                .col(string(col("expiry")))
                .col(string(col("case_id")))
                .col(timestamp_with_time_zone(col("recorded_at"))),
        )
        .unique_index(
            "person_documents_document",
            &["person_id", "issuing_state", "document_number"],
        )
        .create_table(
            "identity_checks",
            Table::create()
                .col(string(col("step_id")).primary_key())
                .col(string(col("case_id")))
                .col(string(col("person_id")))
                .col(string(col("confidence")))
                .col(text(col("result")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index("identity_checks_person", &["person_id", "created_at"]),
];
