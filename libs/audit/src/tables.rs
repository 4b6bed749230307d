//! The audit trail's tables (made by `casework_store::migrations::CreateAuditTrail`).

/// `audit_records`: the chain.
pub mod record {
    use sea_orm::entity::prelude::*;

    /// One record.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_records")]
    pub struct Model {
        /// Its place in the chain, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// When (RFC 3339, microseconds, UTC).
        pub at: String,
        /// Who (token subject).
        pub who: String,
        /// Their roles and scopes (a JSON array).
        pub roles: String,
        /// `read`, `search` or `disclose`.
        pub action: String,
        /// The records (a JSON array of `{kind, id}`).
        pub what: String,
        /// Why.
        pub purpose: String,
        /// To whom (disclosures), else empty.
        pub recipient: String,
        /// `allowed` or `refused`.
        pub outcome: String,
        /// The hash of the record before it.
        pub prev_hash: String,
        /// Its own hash.
        pub hash: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_subjects`: which records each audit record names.
pub mod subject {
    use sea_orm::entity::prelude::*;

    /// A record named by an audit record.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_subjects")]
    pub struct Model {
        /// The audit record.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// The kind of record named.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `audit_head`: the chain's last record, one row, locked by appenders.
pub mod head {
    use sea_orm::entity::prelude::*;

    /// The head.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_head")]
    pub struct Model {
        /// Always 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// The last record's sequence number (0: none yet).
        pub seq: i64,
        /// Its hash.
        pub hash: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
