//! The web front end's own tables: sessions and the answers in progress,
//! status checks per client address, and local staff accounts and
//! department clients (embedded mode's sign-in and token endpoint). It owns no case data.

use casework_store::migrations::{Migration, col};
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{
    integer, string, text, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

/// A row of `web_sessions`: one browser's session.
pub mod session {
    use sea_orm::entity::prelude::*;

    /// A session, keyed by the SHA-256 of its cookie's token.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "web_sessions")]
    pub struct Model {
        /// The hex SHA-256 of the cookie's random token (32 bytes,
        /// base64url): a copy of the table opens no sessions.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The token every form of the session carries (CSRF).
        pub csrf: String,
        /// Answers in progress and submissions, by product (a JSON object).
        pub data: String,
        /// When it was created.
        pub created_at: DateTimeUtc,
        /// When it ends unless used again.
        pub expires_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `web_status_checks`: one status check, by client address.
pub mod status_check {
    use sea_orm::entity::prelude::*;

    /// One attempt.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "web_status_checks")]
    pub struct Model {
        /// A UUID.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The SHA-256 of the client's address (an IPv6 address's /64):
        /// the address itself is not kept.
        pub client: String,
        /// When.
        pub at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `web_accounts`: a local staff account (`casework user add`).
pub mod account {
    use sea_orm::entity::prelude::*;

    /// An account, by its user name.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "web_accounts")]
    pub struct Model {
        /// The user name, as typed at sign-in (lower case).
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        /// The password's Argon2id hash (PHC string: salt and parameters in it).
        pub password_hash: String,
        /// The platform roles held (a JSON array).
        pub roles: String,
        /// Failed sign-ins since the last success.
        pub failed_attempts: i32,
        /// Until when sign-in is refused, after too many failures.
        pub locked_until: Option<DateTimeUtc>,
        /// When it was made.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A row of `web_clients`: a department's OAuth client (`casework client add`).
pub mod client {
    use sea_orm::entity::prelude::*;

    /// A client, by its id.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "web_clients")]
    pub struct Model {
        /// The client id it authenticates with.
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        /// The hex SHA-256 of its secret (32 random bytes: no dictionary to
        /// try, so a fast hash suffices; the secret itself is shown once).
        pub secret_hash: String,
        /// The scopes it may ask for (a JSON array).
        pub scopes: String,
        /// When it was made.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

// The web front end's migrator: the platform's tables, then its own.
casework_store::migrator![
    Migration::new("m20261207_900001_create_web_sessions")
        .create_table(
            "web_sessions",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("csrf")))
                .col(text(col("data")))
                .col(timestamp_with_time_zone(col("created_at")))
                .col(timestamp_with_time_zone(col("expires_at"))),
        )
        .index("web_sessions_expires_at", &["expires_at"]),
    Migration::new("m20261207_900002_create_web_status_checks")
        .create_table(
            "web_status_checks",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("client")))
                .col(timestamp_with_time_zone(col("at"))),
        )
        .index("web_status_checks_client_at", &["client", "at"]),
    Migration::new("m20261207_900003_create_web_accounts").create_table(
        "web_accounts",
        Table::create()
            .col(string(col("name")).primary_key())
            .col(string(col("password_hash")))
            .col(text(col("roles")))
            .col(integer(col("failed_attempts")))
            .col(timestamp_with_time_zone_null(col("locked_until")))
            .col(timestamp_with_time_zone(col("created_at"))),
    ),
    Migration::new("m20261208_900004_create_web_clients").create_table(
        "web_clients",
        Table::create()
            .col(string(col("client_id")).primary_key())
            .col(string(col("secret_hash")))
            .col(text(col("scopes")))
            .col(timestamp_with_time_zone(col("created_at"))),
    ),
];
