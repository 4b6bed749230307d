//! Register's tables: cases and their timelines.

/// A case: one application and everything that happens to it.
pub mod case {
    use sea_orm::entity::prelude::*;

    /// A row of `cases`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cases")]
    pub struct Model {
        /// The case id (UUIDv7), also the record key of its events.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The human-friendly reference.
        #[sea_orm(unique)]
        pub reference: String,
        /// The product applied for.
        pub product: String,
        /// Where the case is: `received`, `in-progress`, `referred`,
        /// `decided`, `closed` (see [`crate::process`]).
        pub status: String,
        /// For caseworker search.
        pub applicant_surname: String,
        /// For caseworker search (ISO date).
        pub applicant_date_of_birth: String,
        /// The application as submitted (JSON).
        pub application: String,
        /// When it was received.
        pub received_at: DateTimeUtc,
        /// When it last changed.
        pub updated_at: DateTimeUtc,
        /// The stage it is in: a product stage's id, or `outcome`.
        pub stage: Option<String>,
        /// `granted` or `refused`, once decided.
        pub outcome: Option<String>,
        /// Since when a step has been overdue; cleared when none is.
        pub stuck_since: Option<DateTimeUtc>,
        /// When it closed.
        pub closed_at: Option<DateTimeUtc>,
        /// The surname in its comparison form, for search.
        pub applicant_surname_normalised: String,
    }

    /// No relations declared.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// What happened to a case, in order.
pub mod timeline {
    use sea_orm::entity::prelude::*;

    /// A row of `case_timeline`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "case_timeline")]
    pub struct Model {
        /// Order of entries.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The case.
        pub case_id: String,
        /// When.
        pub at: DateTimeUtc,
        /// What kind of entry: `application.received`, `notification.sent`, ...
        pub kind: String,
        /// A sentence for caseworkers.
        pub summary: String,
    }

    /// No relations declared.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every step a case has asked another capability for.
pub mod step {
    use sea_orm::entity::prelude::*;

    /// A row of `case_steps`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "case_steps")]
    pub struct Model {
        /// `case / stage / check / attempt`, carried by the request and echoed by its result.
        #[sea_orm(primary_key, auto_increment = false)]
        pub step_id: String,
        /// The case.
        pub case_id: String,
        /// The stage (a product stage's id, or `outcome`).
        pub stage: String,
        /// The check's id (its evidence key), or `fulfil` / `enforce`.
        pub check_id: String,
        /// Which service does it.
        pub capability: String,
        /// 1 for the first request, then one more per re-request.
        pub attempt: i32,
        /// `requested`, `referred` (waiting for a caseworker), `stuck`
        /// (overdue; a late result still completes it), `done`, or `replaced`
        /// (another attempt of the check completed it).
        pub status: String,
        /// When it was requested.
        pub requested_at: DateTimeUtc,
        /// When it becomes overdue; none while a caseworker has it.
        pub deadline: Option<DateTimeUtc>,
        /// When its result came.
        pub completed_at: Option<DateTimeUtc>,
        /// The request event's payload (JSON), sent again on a re-request.
        pub request: String,
        /// The result event's payload (JSON).
        pub result: Option<String>,
    }

    /// No relations declared.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
