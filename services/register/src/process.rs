//! Register as the process manager (DESIGN.md, "Register is the process
//! manager"): it reads the product definition and, as results arrive, asks
//! for the next stage. Stages run in order, the checks of a stage in
//! parallel, and a stage ends when all its results are in.
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
//! Case statuses: `in-progress` (checks running), `referred` (waiting for a
//! caseworker's decision), `decided` (outcome route running), `closed`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::{Event, EventType, names};
use casework_products::{Capability, Check, Product, ProductCatalogue};
use casework_runtime::telemetry;
use casework_store::{Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

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

/// The status of a case while its checks run.
const IN_PROGRESS: &str = "in-progress";

/// The stage of a case once decided: its outcome route's steps.
pub const OUTCOME_STAGE: &str = "outcome";

/// How long Fulfil and Enforce have to answer an outcome step.
pub const OUTCOME_TIMEOUT_SECONDS: u64 = 300;

/// How often overdue steps are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Asks for checks and outcome work, and applies their results.
#[derive(Clone)]
pub struct Process {
    products: Arc<ProductCatalogue>,
    outbox: Outbox,
    /// The intake's database, where the applications it opens cases for are.
    intake: Store,
}

/// What one change to a case emits and writes to its timeline, gathered so
/// that everything goes out in the transaction that made the change.
pub(crate) struct Effects {
    events: Vec<Event>,
    timeline: Vec<(&'static str, String)>,
    /// Steps to insert, all `requested`.
    steps: Vec<step::Model>,
    /// The stage the case moves to, if it moves.
    stage: Option<String>,
    traceparent: Option<String>,
}

impl Effects {
    pub(crate) fn new(traceparent: Option<String>) -> Self {
        Self {
            events: Vec::new(),
            timeline: Vec::new(),
            steps: Vec::new(),
            stage: None,
            traceparent,
        }
    }

    pub(crate) fn note(&mut self, kind: &'static str, summary: impl Into<String>) {
        self.timeline.push((kind, summary.into()));
    }
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

    /// Opens the case of an application the intake received: its row, as it
    /// enters its product's first stage; its timeline entry; the
    /// acknowledgement and the first stage's requests. Once only: a case
    /// already open is left as it is.
    async fn open<C: ConnectionTrait>(&self, txn: &C, event: &Event) -> Result<(), HandlerError> {
        let case_id = event.data["case_id"].as_str().unwrap_or_default();
        if case::Entity::find_by_id(case_id.to_owned())
            .one(txn)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let received = application::Entity::find_by_id(case_id.to_owned())
            .one(self.intake.connection())
            .await?
            .ok_or_else(|| {
                HandlerError::Refused(format!("the intake has no application {case_id}"))
            })?;
        let product = self.products.get(&received.product).ok_or_else(|| {
            HandlerError::Refused(format!("there is no product `{}`", received.product))
        })?;
        let application: Value = serde_json::from_str(&received.application).map_err(|err| {
            HandlerError::Refused(format!("application {case_id} is not JSON: {err}"))
        })?;
        let field = |pointer: &str| text_at(&application, pointer);
        let surname = field(&product.applicant.surname);
        let mut case = case::Model {
            id: received.id,
            reference: received.reference,
            product: product.id.clone(),
            status: "received".into(),
            applicant_surname_normalised: names::normalise(&surname),
            applicant_surname: surname,
            applicant_date_of_birth: field(&product.applicant.date_of_birth),
            application: received.application,
            received_at: received.received_at,
            updated_at: Utc::now(),
            stage: None,
            outcome: None,
            stuck_since: None,
            closed_at: None,
        };
        let mut fx = Effects::new(received.traceparent);
        fx.note(
            "application.received",
            format!("{} application received online", product.name),
        );
        if let Some(event) = self.notification(&case, product, &application, "received", Map::new())
        {
            fx.events.push(event);
        }
        self.request_stage(&mut fx, &case, product, &application, 0, &BTreeMap::new());
        if let Some(stage) = fx.stage.take() {
            case.stage = Some(stage);
            case.status = IN_PROGRESS.into();
        }
        let case_id = case.id.clone();
        case::Entity::insert(case::ActiveModel::from(case))
            .exec_without_returning(txn)
            .await?;
        self.write(txn, [(case_id, fx)]).await
    }

    /// Asks for every check of the stage at `index`, moving the case to it.
    fn request_stage(
        &self,
        fx: &mut Effects,
        case: &case::Model,
        product: &Product,
        application: &Value,
        index: usize,
        results: &BTreeMap<String, Value>,
    ) {
        let Some(stage) = product.stages.get(index) else {
            return;
        };
        for check in &stage.checks {
            self.request_check(fx, case, product, application, &stage.id, check, 1, results);
        }
        fx.note(
            "stage.started",
            format!(
                "Stage `{}` started: {}",
                stage.id,
                stage
                    .checks
                    .iter()
                    .map(|c| format!("{} ({})", c.id, c.capability.service()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        fx.stage = Some(stage.id.clone());
    }

    /// Records a step and emits its request.
    #[allow(clippy::too_many_arguments)]
    fn request_check(
        &self,
        fx: &mut Effects,
        case: &case::Model,
        product: &Product,
        application: &Value,
        stage: &str,
        check: &Check,
        attempt: i32,
        results: &BTreeMap<String, Value>,
    ) {
        let step_id = format!("{}/{stage}/{}/{attempt}", case.id, check.id);
        let mut data = self.request_common(case, &step_id, &check.params);
        let subject = subject(product, application, results);
        match check.capability {
            Capability::Identify => {
                data.insert(
                    "application_date".into(),
                    json!(case.received_at.date_naive().to_string()),
                );
                data.insert("subject".into(), subject);
                if let Some(mrz) = product
                    .applicant
                    .document_mrz
                    .as_deref()
                    .and_then(|pointer| application.pointer(pointer))
                {
                    data.insert("document".into(), json!({ "mrz": mrz }));
                }
            }
            Capability::Investigate => {
                data.insert("subject".into(), subject);
            }
            Capability::Decide => {
                let mut evidence = Map::new();
                evidence.insert("application".into(), application.clone());
                for (check_id, result) in results {
                    evidence.insert(check_id.clone(), result.clone());
                }
                data.insert("rule_set".into(), json!(product.rule_set));
                data.insert("evidence".into(), Value::Object(evidence));
            }
        }
        self.record_step(
            fx,
            case,
            stage,
            &check.id,
            check.capability.service(),
            attempt,
            Some(check.timeout_seconds),
            data,
        );
    }

    /// The fields every request carries.
    fn request_common(
        &self,
        case: &case::Model,
        step_id: &str,
        params: &Map<String, Value>,
    ) -> Map<String, Value> {
        let mut data = Map::new();
        data.insert("case_id".into(), json!(case.id));
        data.insert("reference".into(), json!(case.reference));
        data.insert("product".into(), json!(case.product));
        data.insert("step_id".into(), json!(step_id));
        data.insert("params".into(), Value::Object(params.clone()));
        data
    }

    /// Queues the step row and its `<capability>.requested` event.
    #[allow(clippy::too_many_arguments)]
    fn record_step(
        &self,
        fx: &mut Effects,
        case: &case::Model,
        stage: &str,
        check_id: &str,
        capability: &str,
        attempt: i32,
        timeout_seconds: Option<u64>,
        data: Map<String, Value>,
    ) {
        let now = Utc::now();
        let step_id = data["step_id"].as_str().unwrap_or_default().to_owned();
        fx.steps.push(step::Model {
            step_id: step_id.clone(),
            case_id: case.id.clone(),
            stage: stage.to_owned(),
            check_id: check_id.to_owned(),
            capability: capability.to_owned(),
            attempt,
            status: "requested".into(),
            requested_at: now,
            deadline: timeout_seconds.map(|s| {
                now + chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000))
            }),
            completed_at: None,
            result: None,
            request: Value::Object(data.clone()).to_string(),
        });
        fx.events.push(Event::new(
            self.outbox.source(),
            EventType::new(format!("{capability}.requested.v1")),
            &case.id,
            Value::Object(data),
        ));
        if attempt > 1 {
            fx.note(
                "step.requested",
                format!("{check_id} requested again from {capability} (attempt {attempt})"),
            );
        }
    }

    /// A `communicate.requested` for `milestone`, if the product tells the
    /// applicant of it.
    pub fn notification(
        &self,
        case: &case::Model,
        product: &Product,
        application: &Value,
        milestone: &str,
        extra: Map<String, Value>,
    ) -> Option<Event> {
        let template = product.notifications.get(milestone)?;
        let field = |pointer: &str| text_at(application, pointer);
        let mut personalisation = json!({
            "reference": case.reference,
            "given_names": field(&product.applicant.given_names),
            "surname": field(&product.applicant.surname),
            "product_name": product.name,
            "service_level_days": product.service_level_days,
        });
        if let Some(map) = personalisation.as_object_mut() {
            map.extend(extra);
        }
        Some(Event::new(
            self.outbox.source(),
            EventType::new("communicate.requested.v1"),
            &case.id,
            json!({
                "case_id": case.id,
                "reference": case.reference,
                "product": product.id,
                "milestone": milestone,
                "template": template,
                "recipient": { "email": field(&product.applicant_email) },
                "personalisation": personalisation,
            }),
        ))
    }

    /// Writes what `fx` gathered for one case: its move to a new stage, its
    /// steps, timeline entries and events.
    async fn finish<C: ConnectionTrait>(
        &self,
        txn: &C,
        case_id: &str,
        mut fx: Effects,
    ) -> Result<(), HandlerError> {
        if let Some(stage) = fx.stage.take() {
            case::Entity::update_many()
                .col_expr(case::Column::Stage, Expr::value(stage))
                .col_expr(case::Column::Status, Expr::value(IN_PROGRESS))
                .col_expr(case::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(case::Column::Id.eq(case_id))
                .exec(txn)
                .await?;
        }
        self.write(txn, [(case_id, fx)]).await
    }

    /// Writes the steps, timeline entries and events gathered for any number
    /// of cases, one multi-row statement per table. A move to a new stage
    /// must already be on the case row (as [`Process::open`] does).
    pub(crate) async fn write<C: ConnectionTrait>(
        &self,
        txn: &C,
        changes: impl IntoIterator<Item = (impl AsRef<str>, Effects)> + Send,
    ) -> Result<(), HandlerError> {
        let now = Utc::now();
        let mut steps = Vec::new();
        let mut entries = Vec::new();
        let mut events = Vec::new();
        for (case_id, fx) in changes {
            debug_assert!(fx.stage.is_none(), "a stage move is written by finish");
            steps.extend(fx.steps.into_iter().map(step::ActiveModel::from));
            entries.extend(
                fx.timeline
                    .into_iter()
                    .map(|(kind, summary)| timeline::ActiveModel {
                        case_id: Set(case_id.as_ref().to_owned()),
                        at: Set(now),
                        kind: Set(kind.to_owned()),
                        summary: Set(summary),
                        ..Default::default()
                    }),
            );
            events.extend(fx.events.into_iter().map(|mut event| {
                event.traceparent.clone_from(&fx.traceparent);
                event
            }));
        }
        if !steps.is_empty() {
            step::Entity::insert_many(steps)
                .exec_without_returning(txn)
                .await?;
        }
        if !entries.is_empty() {
            timeline::Entity::insert_many(entries)
                .exec_without_returning(txn)
                .await?;
        }
        if !events.is_empty() {
            self.outbox.append(txn, events).await?;
        }
        Ok(())
    }

    /// Applies a result event to its case: completes its step and, if that
    /// completes a stage or the outcome route, moves the case on.
    async fn apply_result<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let data = &event.data;
        let step_id = data["step_id"].as_str().unwrap_or_default();
        let case_id = data["case_id"].as_str().unwrap_or_default();
        let case = lock_case(txn, case_id)
            .await?
            .ok_or_else(|| HandlerError::Refused(format!("no case {case_id}")))?;
        // Every step of the case in one read: the join, the retired attempts,
        // whether anything is still stuck and whether the route is done are
        // all decided from it, kept up to date with this change's writes.
        let mut steps = CaseSteps::read(txn, &case.id).await?;
        let step = steps.get(step_id).cloned().ok_or_else(|| {
            HandlerError::Refused(format!("case {} never asked for step {step_id}", case.id))
        })?;
        let product = self.products.get(&case.product).ok_or_else(|| {
            HandlerError::Refused(format!(
                "case {} is for product `{}`, which is no longer defined",
                case.reference, case.product
            ))
        })?;
        let application: Value = serde_json::from_str(&case.application).map_err(|e| {
            HandlerError::Store(StoreError::Corrupt {
                table: "cases",
                id: case.id.clone(),
                reason: e.to_string(),
            })
        })?;
        let traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        let mut fx = Effects::new(traceparent);
        let now = Utc::now();

        if matches!(step.status.as_str(), "done" | "replaced") {
            tracing::info!(%step_id, event_type = %event.event_type, "result for a step already done; ignored");
            return Ok(());
        }
        if event.event_type.as_str() == "decision.referred.v1" {
            // The decide step waits for a caseworker: no deadline meanwhile.
            step::Entity::update_many()
                .col_expr(step::Column::Status, Expr::value("referred"))
                .col_expr(
                    step::Column::Deadline,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(step::Column::StepId.eq(step_id))
                .exec(txn)
                .await?;
            steps.set_status(step_id, "referred");
            set_status(txn, &case.id, "referred").await?;
            fx.note(
                "decision.referred",
                format!("Referred to a caseworker: {}", reasons(data)),
            );
            steps.clear_stuck_if_none(txn, &case).await?;
            return self.finish(txn, &case.id, fx).await;
        }

        // Complete the step, and retire other attempts of the same check.
        step::Entity::update_many()
            .col_expr(step::Column::Status, Expr::value("done"))
            .col_expr(step::Column::CompletedAt, Expr::value(now))
            .col_expr(step::Column::Result, Expr::value(data.to_string()))
            .filter(step::Column::StepId.eq(step_id))
            .exec(txn)
            .await?;
        steps.complete(step_id, data);
        let others = steps.other_open_attempts(&step);
        if !others.is_empty() {
            step::Entity::update_many()
                .col_expr(step::Column::Status, Expr::value("replaced"))
                .filter(step::Column::StepId.is_in(others.iter().cloned()))
                .exec(txn)
                .await?;
            for other in &others {
                steps.set_status(other, "replaced");
            }
        }
        if step.status == "stuck" {
            fx.note(
                "step.late",
                format!("{} answered after its deadline", step.check_id),
            );
        }
        fx.note(result_kind(event), summarise(event));
        steps.clear_stuck_if_none(txn, &case).await?;

        if step.stage == OUTCOME_STAGE {
            if step.capability == "fulfil"
                && let Some(milestone) = outcome_route(product, case.outcome.as_deref())
                    .and_then(|r| r.fulfil.as_ref())
                    .and_then(|f| f.notify.as_deref())
            {
                let mut extra = Map::new();
                extra.insert("document_number".into(), data["document_number"].clone());
                extra.insert("valid_until".into(), data["valid_until"].clone());
                fx.events
                    .extend(self.notification(&case, product, &application, milestone, extra));
            }
            self.close_if_done(txn, &mut fx, &case, &steps).await?;
            return self.finish(txn, &case.id, fx).await;
        }

        // The join: has every check of this stage a result now?
        let results = steps.done_results();
        let Some(index) = product.stages.iter().position(|s| s.id == step.stage) else {
            return Err(HandlerError::Refused(format!(
                "product `{}` has no stage `{}` any more",
                product.id, step.stage
            )));
        };
        let stage = &product.stages[index];
        if !stage.checks.iter().all(|c| results.contains_key(&c.id)) {
            return self.finish(txn, &case.id, fx).await;
        }
        if index + 1 < product.stages.len() {
            self.request_stage(&mut fx, &case, product, &application, index + 1, &results);
        } else {
            self.decided(
                txn,
                &mut fx,
                &case,
                &steps,
                product,
                &application,
                data,
                &results,
            )
            .await?;
        }
        self.finish(txn, &case.id, fx).await
    }

    /// The decision is in: record it and start the outcome route.
    #[allow(clippy::too_many_arguments)]
    async fn decided<C: ConnectionTrait>(
        &self,
        txn: &C,
        fx: &mut Effects,
        case: &case::Model,
        steps: &CaseSteps,
        product: &Product,
        application: &Value,
        decision: &Value,
        results: &BTreeMap<String, Value>,
    ) -> Result<(), HandlerError> {
        let (outcome, route) = match decision["outcome"].as_str() {
            Some("grant") => ("granted", &product.outcomes.grant),
            Some("refuse") => ("refused", &product.outcomes.refuse),
            other => {
                return Err(HandlerError::Refused(format!(
                    "decision outcome {other:?} is neither grant nor refuse"
                )));
            }
        };
        case::Entity::update_many()
            .col_expr(case::Column::Outcome, Expr::value(outcome))
            .col_expr(case::Column::Status, Expr::value("decided"))
            .col_expr(case::Column::Stage, Expr::value(OUTCOME_STAGE))
            .col_expr(case::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(case::Column::Id.eq(&case.id))
            .exec(txn)
            .await?;
        let mut decided = case.clone();
        decided.outcome = Some(outcome.to_owned());
        if let Some(milestone) = &route.notify {
            let mut extra = Map::new();
            extra.insert("reasons".into(), json!(reasons(decision)));
            fx.events
                .extend(self.notification(case, product, application, milestone, extra));
        }
        let subject = subject(product, application, results);
        if let Some(fulfil) = &route.fulfil {
            let step_id = format!("{}/{OUTCOME_STAGE}/fulfil/1", case.id);
            let mut params = Map::new();
            if let Some(level) = &fulfil.disclosure {
                params.insert("disclosure".into(), json!(level));
            }
            let mut data = self.request_common(case, &step_id, &params);
            let mut document =
                json!({ "kind": fulfil.document, "valid_for_days": fulfil.valid_for_days });
            if let Some(format) = &fulfil.mrz_format {
                document["mrz_format"] = json!(format);
            }
            let mut holder = subject.clone();
            if let Some(sex) = optional_text(application, product.applicant.sex.as_deref()) {
                holder["sex"] = json!(sex);
            }
            if let Some(person_id) = results
                .values()
                .find_map(|r| r.get("person_id").and_then(Value::as_str))
            {
                holder["person_id"] = json!(person_id);
            }
            data.insert("document".into(), document);
            data.insert("holder".into(), holder);
            let findings: Vec<Value> = results
                .values()
                .filter_map(|r| r.get("findings").and_then(Value::as_array))
                .flatten()
                .cloned()
                .collect();
            data.insert("disclosure".into(), Value::Array(findings));
            self.record_step(
                fx,
                &decided,
                OUTCOME_STAGE,
                "fulfil",
                "fulfil",
                1,
                Some(OUTCOME_TIMEOUT_SECONDS),
                data,
            );
        }
        if let Some(enforce) = &route.enforce
            && (!enforce.only_if_rules_ask || decision["enforce"].as_bool() == Some(true))
        {
            let step_id = format!("{}/{OUTCOME_STAGE}/enforce/1", case.id);
            let mut data = self.request_common(case, &step_id, &Map::new());
            data.insert("action".into(), json!(enforce.action));
            data.insert("subject".into(), subject.clone());
            data.insert("reasons".into(), decision["reasons"].clone());
            self.record_step(
                fx,
                &decided,
                OUTCOME_STAGE,
                "enforce",
                "enforce",
                1,
                Some(OUTCOME_TIMEOUT_SECONDS),
                data,
            );
        }
        fx.note(
            "case.decided",
            format!(
                "{} by {}: {}",
                if outcome == "granted" {
                    "Granted"
                } else {
                    "Refused"
                },
                decision["decided_by"].as_str().unwrap_or("rules"),
                reasons(decision)
            ),
        );
        self.close_if_done(txn, fx, &decided, steps).await
    }

    /// Closes the case if its outcome route has nothing left to do.
    async fn close_if_done<C: ConnectionTrait>(
        &self,
        txn: &C,
        fx: &mut Effects,
        case: &case::Model,
        steps: &CaseSteps,
    ) -> Result<(), HandlerError> {
        // Steps asked for by this change are not written yet.
        if fx.steps.iter().any(|s| s.stage == OUTCOME_STAGE) || steps.outcome_open() {
            return Ok(());
        }
        let now = Utc::now();
        case::Entity::update_many()
            .col_expr(case::Column::Status, Expr::value("closed"))
            .col_expr(case::Column::ClosedAt, Expr::value(now))
            .col_expr(case::Column::UpdatedAt, Expr::value(now))
            .filter(case::Column::Id.eq(&case.id))
            .exec(txn)
            .await?;
        let outcome = case.outcome.clone().unwrap_or_default();
        fx.events.push(Event::new(
            self.outbox.source(),
            EventType::new("case.closed.v1"),
            &case.id,
            json!({
                "case_id": case.id,
                "reference": case.reference,
                "product": case.product,
                "outcome": outcome,
                "closed_at": now.to_rfc3339_opts(SecondsFormat::Millis, true),
            }),
        ));
        fx.note("case.closed", format!("Case closed: {outcome}"));
        Ok(())
    }

    /// Marks requested steps past their deadline stuck, and emits
    /// `case.stuck` for each. Returns how many.
    pub async fn sweep_overdue(&self, store: &Store) -> Result<usize, HandlerError> {
        let now = Utc::now();
        let due = step::Entity::find()
            .filter(step::Column::Status.eq("requested"))
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
            let changed = step::Entity::update_many()
                .col_expr(step::Column::Status, Expr::value("stuck"))
                .filter(step::Column::StepId.eq(&overdue.step_id))
                .filter(step::Column::Status.eq("requested"))
                .exec(&txn)
                .await?
                .rows_affected;
            if changed == 0 {
                continue;
            }
            let Some(case) = case::Entity::find_by_id(overdue.case_id.clone())
                .one(&txn)
                .await?
            else {
                continue;
            };
            if case.stuck_since.is_none() {
                case::Entity::update_many()
                    .col_expr(case::Column::StuckSince, Expr::value(now))
                    .filter(case::Column::Id.eq(&case.id))
                    .exec(&txn)
                    .await?;
            }
            let reason = format!(
                "{} did not answer {} within its deadline",
                overdue.capability, overdue.check_id
            );
            let mut fx = Effects::new(None);
            fx.events.push(Event::new(
                self.outbox.source(),
                EventType::new("case.stuck.v1"),
                &case.id,
                json!({
                    "case_id": case.id,
                    "reference": case.reference,
                    "step_id": overdue.step_id,
                    "reason": reason,
                }),
            ));
            fx.note("case.stuck", format!("Stuck: {reason}"));
            self.finish(&txn, &case.id, fx).await?;
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
        }
    }

    /// Asks again for a check that is stuck, as a new attempt. Returns the
    /// new step id. Fails if the check is not stuck.
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
        let attempts = step::Entity::find()
            .filter(step::Column::CaseId.eq(&case.id))
            .filter(step::Column::CheckId.eq(check_id))
            .order_by_desc(step::Column::Attempt)
            .all(txn)
            .await?;
        let Some(latest) = attempts.first() else {
            return Ok(Err(format!(
                "case {} has no step `{check_id}`",
                case.reference
            )));
        };
        if latest.status != "stuck" {
            return Ok(Err(format!(
                "step `{check_id}` is {}, not stuck; only a stuck step can be requested again",
                latest.status
            )));
        }
        // The same request again under a new step id: what was asked is
        // what the caseworker re-requests.
        let Ok(Value::Object(mut data)) = serde_json::from_str::<Value>(&latest.request) else {
            return Ok(Err(format!(
                "the request of step `{check_id}` is unreadable"
            )));
        };
        let attempt = latest.attempt + 1;
        let step_id = format!("{}/{}/{check_id}/{attempt}", case.id, latest.stage);
        data.insert("step_id".into(), json!(step_id));
        let timeout = product
            .stages
            .iter()
            .flat_map(|s| &s.checks)
            .find(|c| c.id == check_id)
            .map_or(OUTCOME_TIMEOUT_SECONDS, |c| c.timeout_seconds);
        let mut fx = Effects::new(telemetry::current_traceparent());
        self.record_step(
            &mut fx,
            case,
            &latest.stage,
            check_id,
            &latest.capability,
            attempt,
            Some(timeout),
            data,
        );
        fx.note(
            "step.retried",
            format!("{check_id} requested again by {by} (attempt {attempt})"),
        );
        self.finish(txn, &case.id, fx).await?;
        Ok(Ok(step_id))
    }
}

impl Process {
    /// A result meant for a case could not be applied and went to the DLQ:
    /// the case is marked stuck so a caseworker sees it (DESIGN.md).
    pub async fn dead_lettered<C: ConnectionTrait>(
        &self,
        txn: &C,
        event: Option<&Event>,
        error: &str,
    ) -> Result<(), HandlerError> {
        let Some(event) = event else {
            return Ok(()); // Undecodable: no case to attach it to.
        };
        let case_id = event.data["case_id"].as_str().unwrap_or_default();
        let Some(case) = case::Entity::find_by_id(case_id.to_owned())
            .one(txn)
            .await?
        else {
            return Ok(());
        };
        if case.stuck_since.is_none() {
            case::Entity::update_many()
                .col_expr(case::Column::StuckSince, Expr::value(Utc::now()))
                .filter(case::Column::Id.eq(&case.id))
                .exec(txn)
                .await?;
        }
        let mut fx = Effects::new(event.traceparent.clone());
        let reason = format!("{} could not be applied: {error}", event.event_type);
        // Only a well-formed step id (one Register issued) can go in case.stuck.
        if let Some(step_id) = event.data["step_id"]
            .as_str()
            .filter(|id| id.starts_with(&case.id) && id.split('/').count() == 4)
        {
            fx.events.push(Event::new(
                self.outbox.source(),
                EventType::new("case.stuck.v1"),
                &case.id,
                json!({
                    "case_id": case.id,
                    "reference": case.reference,
                    "step_id": step_id,
                    "reason": reason,
                }),
            ));
        }
        fx.note("case.stuck", format!("Stuck: {reason}"));
        self.finish(txn, &case.id, fx).await
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
            "application.received.v1" => self.open(txn, event).await,
            _ => self.apply_result(txn, event).await,
        }
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

async fn set_status<C: ConnectionTrait>(
    txn: &C,
    case_id: &str,
    status: &str,
) -> Result<(), HandlerError> {
    case::Entity::update_many()
        .col_expr(case::Column::Status, Expr::value(status))
        .col_expr(case::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(case::Column::Id.eq(case_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Every step of one case, read inside the transaction that changes it and
/// kept in step with that transaction's writes.
struct CaseSteps(Vec<step::Model>);

impl CaseSteps {
    async fn read<C: ConnectionTrait>(txn: &C, case_id: &str) -> Result<Self, HandlerError> {
        Ok(Self(
            step::Entity::find()
                .filter(step::Column::CaseId.eq(case_id))
                .all(txn)
                .await?,
        ))
    }

    fn get(&self, step_id: &str) -> Option<&step::Model> {
        self.0.iter().find(|s| s.step_id == step_id)
    }

    fn set_status(&mut self, step_id: &str, status: &str) {
        if let Some(step) = self.0.iter_mut().find(|s| s.step_id == step_id) {
            status.clone_into(&mut step.status);
        }
    }

    fn complete(&mut self, step_id: &str, result: &Value) {
        if let Some(step) = self.0.iter_mut().find(|s| s.step_id == step_id) {
            "done".clone_into(&mut step.status);
            step.result = Some(result.to_string());
        }
    }

    /// Other attempts of `step`'s check still waiting for an answer, which
    /// its result retires.
    fn other_open_attempts(&self, step: &step::Model) -> Vec<String> {
        self.0
            .iter()
            .filter(|s| s.check_id == step.check_id && s.step_id != step.step_id)
            .filter(|s| matches!(s.status.as_str(), "requested" | "stuck" | "referred"))
            .map(|s| s.step_id.clone())
            .collect()
    }

    /// Clears the case's stuck mark if it has one and no step is stuck now.
    async fn clear_stuck_if_none<C: ConnectionTrait>(
        &self,
        txn: &C,
        case: &case::Model,
    ) -> Result<(), HandlerError> {
        if case.stuck_since.is_none() || self.0.iter().any(|s| s.status == "stuck") {
            return Ok(());
        }
        case::Entity::update_many()
            .col_expr(
                case::Column::StuckSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(case::Column::Id.eq(&case.id))
            .exec(txn)
            .await?;
        Ok(())
    }

    /// The result of every completed check, by check id.
    fn done_results(&self) -> BTreeMap<String, Value> {
        self.0
            .iter()
            .filter(|s| s.status == "done" && s.stage != OUTCOME_STAGE)
            .filter_map(|s| {
                let result = serde_json::from_str(s.result.as_deref()?).ok()?;
                Some((s.check_id.clone(), result))
            })
            .collect()
    }

    /// Whether an outcome step is still waiting for an answer.
    fn outcome_open(&self) -> bool {
        self.0
            .iter()
            .any(|s| s.stage == OUTCOME_STAGE && matches!(s.status.as_str(), "requested" | "stuck"))
    }
}

/// Who a check is about: the applicant as the form states them, with the
/// identity document's number once a check has read it.
fn subject(product: &Product, application: &Value, results: &BTreeMap<String, Value>) -> Value {
    let mut subject = json!({
        "given_names": text_at(application, &product.applicant.given_names),
        "surname": text_at(application, &product.applicant.surname),
        "date_of_birth": text_at(application, &product.applicant.date_of_birth),
    });
    if let Some(nationality) = optional_text(application, product.applicant.nationality.as_deref())
    {
        subject["nationality"] = json!(nationality);
    }
    if let Some(number) = results
        .values()
        .find_map(|r| {
            r.pointer("/document/document_number")
                .and_then(Value::as_str)
        })
        .filter(|n| !n.is_empty())
    {
        subject["document_number"] = json!(number);
    }
    subject
}

/// The text at an optional pointer of the product's, if the form has it.
fn optional_text<'a>(document: &'a Value, pointer: Option<&str>) -> Option<&'a str> {
    pointer
        .and_then(|p| document.pointer(p))
        .and_then(Value::as_str)
}

/// The text at one of the product's pointers ("" when the form lacks it).
pub(crate) fn text_at(document: &Value, pointer: &str) -> String {
    document
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The reasons of a decision, as one sentence.
fn reasons(decision: &Value) -> String {
    decision["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

fn outcome_route<'a>(
    product: &'a Product,
    outcome: Option<&str>,
) -> Option<&'a casework_products::OutcomeRoute> {
    match outcome {
        Some("granted") => Some(&product.outcomes.grant),
        Some("refused") => Some(&product.outcomes.refuse),
        _ => None,
    }
}

fn result_kind(event: &Event) -> &'static str {
    match event.event_type.as_str() {
        "identity.established.v1" => "identity.established",
        "investigation.completed.v1" => "investigation.completed",
        "decision.made.v1" => "decision.made",
        "document.issued.v1" => "document.issued",
        "enforcement.actioned.v1" => "enforcement.actioned",
        _ => "result",
    }
}

/// A line for the timeline: what the result says, without personal data.
fn summarise(event: &Event) -> String {
    let data = &event.data;
    match event.event_type.as_str() {
        "identity.established.v1" => format!(
            "Identity established: {} person, confidence {}",
            if data["returning"].as_bool() == Some(true) {
                "returning"
            } else {
                "new"
            },
            data["confidence"].as_str().unwrap_or("?")
        ),
        "investigation.completed.v1" => format!(
            "Screening completed: {} finding(s)",
            data["findings"].as_array().map_or(0, Vec::len)
        ),
        "decision.made.v1" => format!(
            "Decision: {} (rule set {} v{})",
            data["outcome"].as_str().unwrap_or("?"),
            data["rule_set"].as_str().unwrap_or("?"),
            data["rule_set_version"]
        ),
        "document.issued.v1" => format!(
            "Document issued: {} {}",
            data["kind"].as_str().unwrap_or("?"),
            data["document_number"].as_str().unwrap_or("?")
        ),
        "enforcement.actioned.v1" => format!(
            "Enforcement action recorded: {}",
            data["action"].as_str().unwrap_or("?")
        ),
        other => format!("{other} received"),
    }
}
