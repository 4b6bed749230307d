//! Register as the process manager: it reads the product definition and,
//! as results arrive, asks for the next stage. Stages run in order, the
//! checks of a stage in parallel, and a stage ends when all its results are
//! in.
//!
//! - Every request carries a `step_id` (`case / stage / check / attempt`),
//!   recorded in `case_steps`; its result echoes it.
//! - A result is applied inside the consumer's transaction with the case row
//!   held (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE`
//!   already serialises writers), and the join is decided there, so two
//!   results arriving together advance the case exactly once.
//! - A step that does not answer within its check's timeout is marked stuck
//!   (and `case.stuck` emitted); a caseworker can re-request it as a new
//!   attempt, and a late result still completes it.
//! - On the decision, the product's outcome route says what to ask of Fulfil
//!   and Enforce and which milestones to tell the applicant of; the case
//!   closes when the route's steps are done.
//!
//! What to do is decided by the pure functions of [`core`]; this module
//! loads what they need and stores what they return, in one transaction.
//!
//! Case statuses: `received`, `in-progress` (checks running), `referred`
//! (waiting for a caseworker's decision), `decided` (outcome route
//! running), `closed`.

pub mod core;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::payloads::{ApplicationReceived, NotificationSent, Payload, StepResult};
use casework_contracts::{Event, StepStatus};
use casework_products::{Product, ProductCatalogue};
use casework_runtime::telemetry;
use casework_store::{Store, StoreError};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tokio_util::sync::CancellationToken;

pub use self::core::{Changes, OUTCOME_STAGE, OUTCOME_TIMEOUT_SECONDS, Refusal};
use crate::cases::{case, step, timeline};
use crate::intake::application;

/// The result events Register applies to its cases.
pub const RESULT_TYPES: [&str; 6] = [
    "identity.established.v1",
    "investigation.completed.v1",
    "decision.made.v1",
    "decision.referred.v1",
    "document.issued.v1",
    "enforcement.actioned.v1",
];

/// How often overdue steps are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

impl From<Refusal> for HandlerError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Refused(reason) => HandlerError::Refused(reason),
            Refusal::Corrupt(reason) => HandlerError::Store(StoreError::Corrupt {
                table: "cases",
                id: String::new(),
                reason,
            }),
        }
    }
}

/// Loads cases for the process manager's decisions and stores the changes
/// they make; also Register's consumer.
#[derive(Clone)]
pub struct Process {
    products: Arc<ProductCatalogue>,
    outbox: Outbox,
    /// The intake's database, where the applications it opens cases for are.
    intake: Store,
}

impl Process {
    /// The process manager over these products, emitting through `outbox`,
    /// opening cases for the applications in `intake`'s database.
    pub fn new(products: Arc<ProductCatalogue>, outbox: Outbox, intake: Store) -> Self {
        Self {
            products,
            outbox,
            intake,
        }
    }

    fn product(&self, case: &case::Model) -> Result<&Product, HandlerError> {
        self.products.get(&case.product).ok_or_else(|| {
            HandlerError::Refused(format!(
                "case {} is for product `{}`, which is no longer defined",
                case.reference, case.product
            ))
        })
    }

    /// Opens the case of an application the intake received, once: a case
    /// already open is left as it is.
    async fn open<C: ConnectionTrait>(&self, txn: &C, event: &Event) -> Result<(), HandlerError> {
        let received: ApplicationReceived = event.payload().map_err(HandlerError::Refused)?;
        let case_id = received.case_id.to_string();
        if case::Entity::find_by_id(case_id.clone())
            .one(txn)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let row = application::Entity::find_by_id(case_id.clone())
            .one(self.intake.connection())
            .await?
            .ok_or_else(|| {
                HandlerError::Refused(format!("the intake has no application {case_id}"))
            })?;
        let product = self.products.get(&row.product).ok_or_else(|| {
            HandlerError::Refused(format!("there is no product `{}`", row.product))
        })?;
        let traceparent = row.traceparent.clone();
        let changes = core::open(
            product,
            &self.outbox.source(),
            Utc::now(),
            core::Received {
                id: row.id,
                reference: row.reference,
                received_at: row.received_at,
                application: row.application,
            },
        )?;
        self.store(txn, &case_id, changes, traceparent, true).await
    }

    /// Applies a result event to its case, with the case row held.
    async fn apply_result<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let header: StepResult = event.fields().map_err(HandlerError::Refused)?;
        let case_id = header.case_id.to_string();
        let case = lock_case(txn, &case_id)
            .await?
            .ok_or_else(|| HandlerError::Refused(format!("no case {case_id}")))?;
        let steps = steps_of(txn, &case.id).await?;
        let product = self.product(&case)?;
        let changes = core::apply_result(
            product,
            &self.outbox.source(),
            Utc::now(),
            case,
            steps,
            event,
        )?;
        let traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        self.store(txn, &case_id, changes, traceparent, false).await
    }

    /// Puts a sent notification on its case's timeline.
    async fn notified<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let sent: NotificationSent = event.payload().map_err(HandlerError::Refused)?;
        let case_id = sent.case_id.to_string();
        let exists = case::Entity::find_by_id(case_id.clone())
            .one(txn)
            .await?
            .is_some();
        if !exists {
            return Err(HandlerError::Refused(format!("no case {case_id}")));
        }
        let changes = Changes {
            timeline: vec![(
                "notification.sent",
                format!(
                    "{} notification sent by {} ({})",
                    sent.milestone, sent.channel, sent.provider
                ),
            )],
            ..Changes::default()
        };
        self.store(txn, &case_id, changes, event.traceparent.clone(), false)
            .await
    }

    /// Writes what one decision of the core changed: the case row (inserted
    /// when `new`), the steps, the timeline and the events.
    async fn store<C: ConnectionTrait>(
        &self,
        txn: &C,
        case_id: &str,
        changes: Changes,
        traceparent: Option<String>,
        new: bool,
    ) -> Result<(), HandlerError> {
        if let Some(case) = changes.case {
            if new {
                case::Entity::insert(case::ActiveModel::from(case))
                    .exec_without_returning(txn)
                    .await?;
            } else {
                case::Entity::update_many()
                    .col_expr(case::Column::Status, Expr::value(case.status))
                    .col_expr(case::Column::Stage, Expr::value(case.stage))
                    .col_expr(case::Column::Outcome, Expr::value(case.outcome))
                    .col_expr(case::Column::StuckSince, Expr::value(case.stuck_since))
                    .col_expr(case::Column::ClosedAt, Expr::value(case.closed_at))
                    .col_expr(case::Column::UpdatedAt, Expr::value(case.updated_at))
                    .filter(case::Column::Id.eq(case_id))
                    .exec(txn)
                    .await?;
            }
        }
        for changed in changes.changed_steps {
            step::Entity::update_many()
                .col_expr(step::Column::Status, Expr::value(changed.status))
                .col_expr(step::Column::Deadline, Expr::value(changed.deadline))
                .col_expr(step::Column::CompletedAt, Expr::value(changed.completed_at))
                .col_expr(step::Column::Result, Expr::value(changed.result))
                .filter(step::Column::StepId.eq(changed.step_id))
                .exec(txn)
                .await?;
        }
        if !changes.new_steps.is_empty() {
            step::Entity::insert_many(changes.new_steps.into_iter().map(step::ActiveModel::from))
                .exec_without_returning(txn)
                .await?;
        }
        if !changes.timeline.is_empty() {
            let now = Utc::now();
            timeline::Entity::insert_many(changes.timeline.into_iter().map(|(kind, summary)| {
                timeline::ActiveModel {
                    case_id: Set(case_id.to_owned()),
                    at: Set(now),
                    kind: Set(kind.to_owned()),
                    summary: Set(summary),
                    ..Default::default()
                }
            }))
            .exec_without_returning(txn)
            .await?;
        }
        if !changes.events.is_empty() {
            let events = changes.events.into_iter().map(|mut event| {
                event.traceparent.clone_from(&traceparent);
                event
            });
            self.outbox.append(txn, events.collect::<Vec<_>>()).await?;
        }
        Ok(())
    }

    /// Marks requested steps past their deadline stuck, and emits
    /// `case.stuck` for each. Returns how many.
    pub async fn sweep_overdue(&self, store: &Store) -> Result<usize, HandlerError> {
        let now = Utc::now();
        let due = step::Entity::find()
            .filter(step::Column::Status.eq(StepStatus::Requested.as_str()))
            .filter(step::Column::Deadline.lt(now))
            .order_by_asc(step::Column::Deadline)
            .limit(100)
            .all(store.connection())
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let txn = store.begin_background_write().await?;
        let mut marked = 0;
        for overdue in due {
            // Only if still requested: another instance's sweep, or the
            // result itself, may have got there first.
            let claimed = step::Entity::update_many()
                .col_expr(
                    step::Column::Status,
                    Expr::value(StepStatus::Stuck.as_str()),
                )
                .filter(step::Column::StepId.eq(&overdue.step_id))
                .filter(step::Column::Status.eq(StepStatus::Requested.as_str()))
                .exec(&txn)
                .await?
                .rows_affected;
            if claimed == 0 {
                continue;
            }
            let Some(case) = case::Entity::find_by_id(overdue.case_id.clone())
                .one(&txn)
                .await?
            else {
                continue;
            };
            let Ok(product) = self.product(&case) else {
                continue;
            };
            let case_id = case.id.clone();
            let changes = core::overdue(product, &self.outbox.source(), now, case, overdue);
            self.store(&txn, &case_id, changes, None, false).await?;
            marked += 1;
        }
        store.commit(txn).await?;
        Ok(marked)
    }

    /// Runs [`Self::sweep_overdue`] every [`SWEEP_EVERY`] until `shutdown`.
    pub async fn run_sweeper(self, store: Store, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(SWEEP_EVERY) => {}
            }
            match self.sweep_overdue(&store).await {
                Ok(0) => {}
                Ok(marked) => tracing::warn!(marked, "steps overdue; cases marked stuck"),
                Err(err) => tracing::warn!(error = %err, "overdue-step sweep failed; will retry"),
            }
            self.count_stuck(&store).await;
        }
    }

    /// Sets `casework_cases_stuck{product}`: cases waiting on a step past
    /// its time, which the desk's queue lists and a caseworker re-requests.
    async fn count_stuck(&self, store: &Store) {
        use sea_orm::PaginatorTrait;
        for product in self.products.products() {
            let stuck = case::Entity::find()
                .filter(case::Column::Product.eq(&product.id))
                .filter(case::Column::StuckSince.is_not_null())
                .count(store.connection())
                .await;
            match stuck {
                Ok(n) => {
                    metrics::gauge!("casework_cases_stuck", "product" => product.id.clone())
                        .set(n as f64);
                }
                Err(err) => tracing::debug!(error = %err, "stuck cases not counted"),
            }
        }
    }

    /// Asks again for a check that is stuck, as a new attempt. Returns the
    /// new step id, or why the check cannot be asked again.
    pub async fn retry<C: ConnectionTrait>(
        &self,
        txn: &C,
        case: &case::Model,
        check_id: &str,
        by: &str,
    ) -> Result<Result<String, String>, HandlerError> {
        let Some(product) = self.products.get(&case.product) else {
            return Ok(Err(format!("product `{}` is not defined", case.product)));
        };
        let steps = steps_of(txn, &case.id).await?;
        match core::retry(
            product,
            &self.outbox.source(),
            Utc::now(),
            case.clone(),
            steps,
            check_id,
            by,
        ) {
            Ok((step_id, changes)) => {
                self.store(
                    txn,
                    &case.id,
                    changes,
                    telemetry::current_traceparent(),
                    false,
                )
                .await?;
                Ok(Ok(step_id.to_string()))
            }
            Err(reason) => Ok(Err(reason)),
        }
    }
}

#[async_trait]
impl EventHandler for Process {
    async fn handle(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: &Event,
    ) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            ApplicationReceived::TYPE => self.open(txn, event).await,
            NotificationSent::TYPE => self.notified(txn, event).await,
            _ => self.apply_result(txn, event).await,
        }
    }

    /// A result meant for a case could not be applied and went to the DLQ:
    /// the case is marked stuck so a caseworker sees it.
    async fn dead_lettered(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: Option<&Event>,
        error: &str,
    ) -> Result<(), HandlerError> {
        let Some(event) = event else {
            return Ok(()); // Undecodable: no case to attach it to.
        };
        // Read loosely: a dead letter may be malformed in any other way.
        let case_id = event
            .data
            .get("case_id")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let Some(case) = case::Entity::find_by_id(case_id.to_owned())
            .one(txn)
            .await?
        else {
            return Ok(());
        };
        let Ok(product) = self.product(&case) else {
            return Ok(());
        };
        let case_id = case.id.clone();
        let changes = core::dead_lettered(
            product,
            &self.outbox.source(),
            Utc::now(),
            case,
            event,
            error,
        );
        self.store(txn, &case_id, changes, event.traceparent.clone(), false)
            .await
    }
}

/// Reads the case row, holding it until the transaction ends.
async fn lock_case<C: ConnectionTrait>(
    txn: &C,
    case_id: &str,
) -> Result<Option<case::Model>, HandlerError> {
    let query = case::Entity::find_by_id(case_id.to_owned());
    let query = match txn.get_database_backend() {
        DatabaseBackend::Postgres => query.lock_exclusive(),
        // SQLite has no row locks; the writing transaction already excludes other writers.
        _ => query,
    };
    Ok(query.one(txn).await?)
}

/// Every step of a case.
async fn steps_of<C: ConnectionTrait>(
    txn: &C,
    case_id: &str,
) -> Result<Vec<step::Model>, HandlerError> {
    Ok(step::Entity::find()
        .filter(step::Column::CaseId.eq(case_id))
        .all(txn)
        .await?)
}
