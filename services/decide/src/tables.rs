//! Decide's tables, `decisions` and `referrals`, and their migrations.
//!
//! JSON columns (`reasons`, `fired`, `evidence`) are `json`, not `jsonb`, on
//! PostgreSQL, so the evidence is kept exactly as the request carried it.

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{
    big_integer, boolean, json, json_null, string, string_null, string_uniq, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

/// `decisions.kind` of a decision the rules made (grant, refuse or refer).
pub const BY_RULES: &str = "rules";
/// `decisions.kind` of a caseworker's decision on a referral.
pub const BY_CASEWORKER: &str = "caseworker";

/// A row of `decisions`: one decision on one step, with what it was made on.
///
/// A step has at most one decision of each kind: the rules' (which may be
/// `refer`), then, for a referral, the caseworker's. Both are kept, so the
/// referral stays explained after it is decided.
pub mod decision {
    use sea_orm::entity::prelude::*;

    /// A decision.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "decisions")]
    pub struct Model {
        /// Its id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// The product applied for.
        pub product: String,
        /// The step of the request; unique with `kind`.
        pub step_id: String,
        /// [`super::BY_RULES`] or [`super::BY_CASEWORKER`].
        pub kind: String,
        /// `grant`, `refuse` or `refer`.
        pub outcome: String,
        /// Why (a JSON array of strings, at least one).
        pub reasons: Json,
        /// The rules that fired (a JSON array of `{id, outcome, reason, enforce}`).
        pub fired: Json,
        /// Whether enforcement action was asked for.
        pub enforce: bool,
        /// The rule set's id.
        pub rule_set: String,
        /// The version of the rule set that was applied.
        pub rule_set_version: i64,
        /// The evidence exactly as the decision saw it.
        pub evidence: Json,
        /// `rules`, or the `sub` of the caseworker's token.
        pub decided_by: String,
        /// When it was made.
        pub created_at: DateTimeUtc,
        /// The second person who approved it (four-eyes), if one had to.
        pub approved_by: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `referrals`: a case the rules referred to a caseworker.
pub mod referral {
    use sea_orm::entity::prelude::*;

    /// A referral.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "referrals")]
    pub struct Model {
        /// Its id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// The product applied for.
        pub product: String,
        /// The step of the request (one referral per step).
        #[sea_orm(unique)]
        pub step_id: String,
        /// The rule set's id.
        pub rule_set: String,
        /// The version that referred it.
        pub rule_set_version: i64,
        /// Why it was referred (a JSON array of strings).
        pub reasons: Json,
        /// The rules that fired.
        pub fired: Json,
        /// The evidence the rules saw, for the caseworker.
        pub evidence: Json,
        /// `open` or `decided`.
        pub status: String,
        /// When it was referred.
        pub created_at: DateTimeUtc,
        /// When a caseworker decided it.
        pub decided_at: Option<DateTimeUtc>,
        /// The `sub` of the caseworker who decided it.
        pub decided_by: Option<String>,
        /// `grant` or `refuse`.
        pub decision_outcome: Option<String>,
        /// The caseworker's reason.
        pub decision_reason: Option<String>,
        /// The outcomes a second person must approve (the product's
        /// `four_eyes`; a JSON array, null for none).
        pub four_eyes: Option<Json>,
        /// The senior caseworker who approved the decision (token `sub`).
        pub approved_by: Option<String>,
        /// When.
        pub approved_at: Option<DateTimeUtc>,
        /// Why the last proposed decision was returned, if it was.
        pub returned_reason: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

// Decide's migrator: the platform's tables, then decisions and referrals.
casework_store::migrator![
    Migration::new("m20261122_400001_create_decisions")
        .create_table(
            "decisions",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("case_id")))
                .col(string(col("reference")))
                .col(string(col("product")))
                .col(string(col("step_id")))
                .col(string(col("kind")))
                .col(string(col("outcome")))
                .col(json(col("reasons")))
                .col(json(col("fired")))
                .col(boolean(col("enforce")))
                .col(string(col("rule_set")))
                .col(big_integer(col("rule_set_version")))
                .col(json(col("evidence")))
                .col(string(col("decided_by")))
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        // One decision of each kind per step: a request delivered twice decides once.
        .unique_index("decisions_step_kind", &["step_id", "kind"])
        .index("decisions_reference", &["reference", "created_at"]),
    Migration::new("m20261122_400002_create_referrals")
        .create_table(
            "referrals",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("case_id")))
                .col(string(col("reference")))
                .col(string(col("product")))
                .col(string_uniq(col("step_id")))
                .col(string(col("rule_set")))
                .col(big_integer(col("rule_set_version")))
                .col(json(col("reasons")))
                .col(json(col("fired")))
                .col(json(col("evidence")))
                .col(string(col("status")))
                .col(timestamp_with_time_zone(col("created_at")))
                .col(timestamp_with_time_zone_null(col("decided_at")))
                .col(string_null(col("decided_by")))
                .col(string_null(col("decision_outcome")))
                .col(text_null(col("decision_reason"))),
        )
        // The queue: by status, oldest first.
        .index("referrals_queue", &["status", "created_at"]),
    // Four-eyes: a decision some products want approved by a second person.
    Migration::new("m20261208_400003_referrals_four_eyes").add_columns(
        "referrals",
        vec![
            json_null(col("four_eyes")),
            string_null(col("approved_by")),
            timestamp_with_time_zone_null(col("approved_at")),
            text_null(col("returned_reason")),
        ],
    ),
    Migration::new("m20261208_400004_decisions_approved_by")
        .add_columns("decisions", vec![string_null(col("approved_by"))]),
];
