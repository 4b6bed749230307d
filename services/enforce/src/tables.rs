//! Enforce's tables, `enforcement_actions` and `alerts`, and their migrations.
//!
//! Ids are UUIDs as text, like every other service's. JSON columns are `json`
//! on PostgreSQL, so the subject is kept exactly as the request carried it.

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::Table;
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

// Enforce's migrator: the platform's tables, then its own.
casework_store::migrator![
    Migration::new("m20261122_700001_create_enforcement_actions")
        .create_table(
            "enforcement_actions",
            Table::create()
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
                .col(timestamp_with_time_zone(col("created_at"))),
        )
        .index("enforcement_actions_status", &["status", "created_at"])
        .index(
            "enforcement_actions_reference",
            &["reference", "created_at"],
        ),
    Migration::new("m20261122_700002_create_alerts")
        .create_table(
            "alerts",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("action_id")))
                .col(string(col("case_id")))
                .col(string(col("reference")))
                .col(text(col("summary")))
                .col(string(col("status")))
                .col(timestamp_with_time_zone(col("created_at")))
                .col(timestamp_with_time_zone_null(col("acknowledged_at")))
                .col(string_null(col("acknowledged_by"))),
        )
        // The officers' queue: by status, oldest first.
        .index("alerts_queue", &["status", "created_at"]),
];
