//! Identify's tables and their migrations.
//!
//! Ids are UUIDs as text and dates `YYYY-MM-DD` text, as in the rest of the
//! platform, so both databases store and compare them alike.

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{
    big_pk_auto, boolean, double, string, string_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

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
        /// The person they were merged into: their id resolves to that
        /// person's. Never deleted.
        pub merged_into: Option<String>,
        /// When they were merged.
        pub merged_at: Option<DateTimeUtc>,
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

/// A row of `person_records`: one record a person is known by — an
/// application's subject or an imported source record — as the matching
/// engine read it, with how it was linked.
pub mod person_record {
    use sea_orm::entity::prelude::*;

    /// A linked record.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "person_records")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The person it is linked to.
        pub person_id: String,
        /// `application` or `import`.
        pub source: String,
        /// The case id (application) or the source's id (import).
        pub source_ref: String,
        /// The record ([`casework_matching::Record`] as JSON).
        pub record: String,
        /// `match`, `new` or `review`.
        pub decision: String,
        /// The total match weight of the link (the best candidate's, for
        /// a new or provisional person; absent when there was none).
        pub weight: Option<f64>,
        /// Compared with new records: false when the person already has a
        /// record saying the same (a returning applicant who wrote the same
        /// again), so that a person's comparisons grow with their
        /// spellings, not with their applications.
        pub compared: bool,
        /// When it was linked.
        pub created_at: DateTimeUtc,
        /// The case's reference, for an application's record (absent for
        /// those linked before it was kept).
        pub case_reference: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `person_keys`: a blocking key a person is filed under (one per
/// key of each of their records), so that a new record is compared with
/// the persons sharing a key, not with everyone.
pub mod person_key {
    use sea_orm::entity::prelude::*;

    /// A key.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person_keys")]
    pub struct Model {
        /// The key ([`casework_matching::blocking_keys`]).
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// The person.
        #[sea_orm(primary_key, auto_increment = false)]
        pub person_id: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `match_reviews`: a possible match for a caseworker to settle.
/// The record was given a new, provisional person; `candidate_person_id`
/// is who it may be.
pub mod match_review {
    use sea_orm::entity::prelude::*;

    /// A review task.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "match_reviews")]
    pub struct Model {
        /// Its id (UUID).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// `open` until a caseworker settles it.
        pub status: String,
        /// The provisional person the record was given.
        pub person_id: String,
        /// The person it may be.
        pub candidate_person_id: String,
        /// The `person_records` row of the new record.
        pub record_id: i64,
        /// The candidate's record it weighed most against.
        pub candidate_record_id: i64,
        /// The total match weight.
        pub weight: f64,
        /// The explanation ([`casework_matching::Explanation`] as JSON).
        pub explanation: String,
        /// The case, when the record came from an application.
        pub case_id: Option<String>,
        /// When it was raised.
        pub created_at: DateTimeUtc,
        /// `link` or `keep-apart`, once settled: a labelled pair for the
        /// next estimate of the model.
        pub decision: Option<String>,
        /// Why, in the caseworker's words.
        pub reason: Option<String>,
        /// Who settled it (the token's `sub`).
        pub decided_by: Option<String>,
        /// When.
        pub decided_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `person_history`: something a caseworker did to a person's
/// links — a review settled, a merge, a split — on each person it touched.
/// Appended, never changed: with the records' own links (`person_records`)
/// it is the person's history.
pub mod person_history {
    use sea_orm::entity::prelude::*;

    /// One change.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person_history")]
    pub struct Model {
        /// Row id (the order of changes).
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The person it happened to.
        pub person_id: String,
        /// `merged` (another person merged into this one), `merged-into`,
        /// `split` (records taken to a new person), `split-from`,
        /// `kept-apart` (a possible match settled as two people).
        pub kind: String,
        /// The other person of the change.
        pub other_person_id: String,
        /// The `person_records` ids that moved (JSON array).
        pub record_ids: String,
        /// The review task it settled, when it came from one.
        pub review_id: Option<String>,
        /// Why, in the caseworker's words.
        pub reason: String,
        /// Who (the token's `sub`).
        pub by: String,
        /// When.
        pub at: DateTimeUtc,
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
    // The matching engine: records linked to persons by weight of evidence,
    // their blocking keys, and possible matches for review. Two persons may
    // now share a name and date of birth (a possible match is given a new,
    // provisional person), so the match key is no longer unique.
    Migration::new("m20261207_300002_person_matching")
        .statements(|_| {
            vec![
                "DROP INDEX IF EXISTS persons_match_key".to_owned(),
                "CREATE INDEX IF NOT EXISTS persons_name_and_birth ON persons \
                 (normalised_surname, date_of_birth, normalised_given_names)"
                    .to_owned(),
            ]
        })
        .create_table(
            "person_records",
            Table::create()
                .col(big_pk_auto(col("id")))
                .col(string(col("person_id")))
                .col(string(col("source")))
                .col(string(col("source_ref")))
                .col(text(col("record")))
                .col(string(col("decision")))
                .col(double(col("weight")).null())
                .col(boolean(col("compared")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index("person_records_person", &["person_id", "compared"])
        .unique_index("person_records_source", &["source", "source_ref"])
        .create_table(
            "person_keys",
            Table::create()
                .col(string(col("key")))
                .col(string(col("person_id")))
                .primary_key(
                    sea_orm_migration::prelude::Index::create()
                        .col(col("key"))
                        .col(col("person_id"))
                ),
        )
        .create_table(
            "match_reviews",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("status")))
                .col(string(col("person_id")))
                .col(string(col("candidate_person_id")))
                .col(sea_orm_migration::schema::big_integer(col("record_id")))
                .col(sea_orm_migration::schema::big_integer(col(
                    "candidate_record_id"
                )))
                .col(double(col("weight")))
                .col(text(col("explanation")))
                .col(string_null(col("case_id")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index("match_reviews_open", &["status", "created_at"]),
    // Settling and correcting links: reviews decided (labelled pairs),
    // persons merged into others (their ids resolve on), and the history of
    // each change.
    Migration::new("m20261208_300003_person_history")
        .add_columns("person_records", vec![string_null(col("case_reference"))])
        .add_columns(
            "persons",
            vec![
                string_null(col("merged_into")),
                timestamp_with_time_zone_null(col("merged_at")),
            ],
        )
        .add_columns(
            "match_reviews",
            vec![
                string_null(col("decision")),
                text_null(col("reason")),
                string_null(col("decided_by")),
                timestamp_with_time_zone_null(col("decided_at")),
            ],
        )
        .index("match_reviews_person", &["person_id", "status"])
        .index(
            "match_reviews_candidate",
            &["candidate_person_id", "status"]
        )
        .create_table(
            "person_history",
            Table::create()
                .col(big_pk_auto(col("id")))
                .col(string(col("person_id")))
                .col(string(col("kind")))
                .col(string(col("other_person_id")))
                .col(text(col("record_ids")))
                .col(string_null(col("review_id")))
                .col(text(col("reason")))
                .col(string(col("by")))
                .col(timestamp_with_time_zone(col("at"))),
        )
        .index("person_history_person", &["person_id", "id"]),
];
