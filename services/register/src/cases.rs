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
        /// Where the case is: `received`, ... (process states arrive with the process manager).
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
