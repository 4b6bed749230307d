//! The intake: applications as received, kept in a database of their own.
//!
//! Register's process manager takes turns with request writes on a
//! database's single SQLite writer, and applications queued behind its turns
//! were most of the intake's latency tail (BENCHMARKS.md). So an application
//! is recorded, with its `application.received`, in Register's intake
//! database (`intake.db` under the data directory, or the `intake` schema on
//! PostgreSQL), whose writer serves nothing else but its outbox relay. The
//! process manager opens the case when it consumes `application.received`
//! ([`crate::process::Process::open`]), reading the application from here.

use std::collections::HashMap;

use async_trait::async_trait;
use casework_runtime::Problem;
use casework_store::migrations::{Migration, col};
use casework_store::outbox::{self, PendingEvent};
use casework_store::{BatchWrite, StoreError, idempotency};
use sea_orm::EntityTrait;
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{string, string_uniq, text, text_null, timestamp_with_time_zone};

/// The intake database's name: its SQLite file's stem, its PostgreSQL schema.
pub const DATABASE: &str = "intake";

/// An application as received.
pub mod application {
    use sea_orm::entity::prelude::*;

    /// A row of `applications`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "applications")]
    pub struct Model {
        /// The id of the case it opens (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The case's human-friendly reference, given to the applicant.
        #[sea_orm(unique)]
        pub reference: String,
        /// The product applied for.
        pub product: String,
        /// The application as submitted (JSON), valid against its schema.
        pub application: String,
        /// When it was received.
        pub received_at: DateTimeUtc,
        /// The W3C trace context of the request that submitted it.
        pub traceparent: Option<String>,
    }

    /// No relations declared.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A status check that named a reference with the wrong date of birth (or
/// no such reference): counted per reference, so a reference from a
/// confirmation email cannot be tried against every date of birth.
pub mod status_failure {
    use sea_orm::entity::prelude::*;

    /// A row of `status_failures`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "status_failures")]
    pub struct Model {
        /// Its id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The reference as typed (normalised), whether or not it exists.
        #[sea_orm(indexed)]
        pub reference: String,
        /// When the check failed.
        pub failed_at: DateTimeUtc,
    }

    /// No relations declared.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

// The intake database's migrator: the platform's tables (its outbox and
// idempotency keys), then applications and failed status checks.
casework_store::migrator![
    Migration::new("m20261123_200001_create_applications").create_table(
        "applications",
        Table::create()
            .col(string(col("id")).primary_key())
            .col(string_uniq(col("reference")))
            .col(string(col("product")))
            .col(text(col("application")))
            .col(timestamp_with_time_zone(col("received_at")))
            .col(text_null(col("traceparent"))),
    ),
    Migration::new("m20261207_200002_create_status_failures")
        .create_table(
            "status_failures",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("reference")))
                .col(timestamp_with_time_zone(col("failed_at"))),
        )
        .index("status_failures_reference", &["reference", "failed_at"]),
];

/// A validated application on its way into a group commit, with everything
/// but the inserts done: its row, and its `application.received` checked
/// and serialised.
pub(crate) struct IntakeRequest {
    /// The idempotency scope: the route with its product.
    pub(crate) scope: String,
    pub(crate) key: Option<String>,
    pub(crate) hash: String,
    /// The acknowledgement's JSON, returned and kept for replays.
    pub(crate) acknowledgement: String,
    pub(crate) application: application::Model,
    pub(crate) received: PendingEvent,
}

/// What the intake transaction did.
pub(crate) enum IntakeOutcome {
    /// A new application.
    Created { reference: String, body: String },
    /// The same `Idempotency-Key` and body as before: the first answer.
    Replayed { status: u16, body: String },
}

/// Records applications, many to a commit (see [`casework_store::GroupCommit`]).
pub(crate) struct Intake;

#[async_trait]
impl BatchWrite for Intake {
    type Request = IntakeRequest;
    type Response = IntakeOutcome;
    type Error = Problem;

    async fn apply(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        request: &IntakeRequest,
    ) -> Result<IntakeOutcome, Problem> {
        self.apply_all(txn, std::slice::from_ref(request))
            .await?
            .pop()
            .unwrap_or_else(|| Err(Problem::internal()))
    }

    /// Records every new application of the batch in one statement per
    /// table: applications, outbox and idempotency keys.
    async fn apply_all(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        requests: &[IntakeRequest],
    ) -> Result<Vec<Result<IntakeOutcome, Problem>>, Problem> {
        let keys: Vec<(String, String)> = requests
            .iter()
            .filter_map(|r| Some((r.scope.clone(), r.key.clone()?)))
            .collect();
        // Keys used before, and (below) by earlier requests of this batch.
        let mut used: HashMap<(String, String), idempotency::Model> =
            idempotency::find_all(txn, &keys)
                .await?
                .into_iter()
                .map(|stored| ((stored.scope.clone(), stored.key.clone()), stored))
                .collect();
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut applications = Vec::new();
        let mut events = Vec::new();
        let mut responses = Vec::new();
        for request in requests {
            let key = request.key.clone().map(|key| (request.scope.clone(), key));
            if let Some(stored) = key.as_ref().and_then(|key| used.get(key)) {
                outcomes.push(if stored.request_hash == request.hash {
                    Ok(IntakeOutcome::Replayed {
                        status: <u16 as TryFrom<i32>>::try_from(stored.status).unwrap_or(201),
                        body: stored.body.clone(),
                    })
                } else {
                    Err(Problem::conflict(
                        "this Idempotency-Key was used with a different application",
                    ))
                });
                continue;
            }
            if let Some((scope, key)) = key {
                let response = idempotency::response(
                    &scope,
                    &key,
                    &request.hash,
                    201,
                    &request.acknowledgement,
                );
                responses.push(response.clone());
                used.insert((scope, key), response);
            }
            outcomes.push(Ok(IntakeOutcome::Created {
                reference: request.application.reference.clone(),
                body: request.acknowledgement.clone(),
            }));
            applications.push(application::ActiveModel::from(request.application.clone()));
            events.push(request.received.clone());
        }
        if !applications.is_empty() {
            application::Entity::insert_many(applications)
                .exec_without_returning(txn)
                .await
                .map_err(StoreError::from)?;
            outbox::append(txn, events).await?;
        }
        idempotency::save_all(txn, responses).await?;
        Ok(outcomes)
    }
}
