//! Enforce: records enforcement actions on outcomes, asks Investigate for
//! warnings-index (watchlist) entries, and raises alerts for officers.
//!
//! It acts only on `enforce.requested` (Register asks when an outcome route
//! says so) and records exactly one action per step, however often a request
//! is delivered. For each action it emits `enforcement.actioned` (key: the
//! case id), whose `watchlist` is the warnings-index entry Investigate should
//! add, or null; and, when the action raises one, `alert.raised` (key: the
//! alert id). Officers list actions and alerts and acknowledge alerts over
//! HTTP. It must never decide anything about a case.
//!
//! # What an action does
//!
//! There is no catalogue of actions: what an action does comes from the
//! `params` the product definition gives it, with these defaults
//! ([`Behaviour::from_params`]):
//!
//! | param       | type                                  | default                                           |
//! |-------------|---------------------------------------|---------------------------------------------------|
//! | `watchlist` | bool: ask for a warnings-index entry  | `true` if the action's name starts with `refusal-` |
//! | `category`  | string: the entry's category          | `"immigration"`                                   |
//! | `severity`  | `low`, `medium`, `high` or `critical` | `"high"`                                          |
//! | `alert`     | bool: raise an alert for officers     | `true`                                            |
//!
//! Other params are ignored (they are other services' business). A param of
//! the wrong type or an unknown severity is a mistake in the product
//! definition that no retry can mend: the request is dead-lettered.
//!
//! The summary of the entry and of the alert says what happened, e.g.
//! "Refused visit visa VV-2026-4KQ7-Z: The passport presented is recorded as
//! lost or stolen" ([`summary`]).

pub mod api;
pub mod tables;

use std::sync::Arc;

use actix_web::web;
use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::payloads::{
    AlertRaised, EnforceRequested, EnforcementActioned, Payload, Severity, StepResult,
    WatchlistRequest,
};
use casework_contracts::{Event, EventType};
use casework_runtime::{Problem, RuntimeError, ServiceContext, ServiceParts, telemetry};
use casework_store::Store;
use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::Expr;
use sea_orm::{DatabaseTransaction, Set};
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

pub use api::{ActionView, AlertView, EnforceApi};
pub use tables::{Migrator, action, alert};

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Enforce.as_str();
/// Status of an action still in force, and of an alert no officer has acknowledged.
pub const OPEN: &str = "open";
/// Status of an action no longer in force.
pub const CLOSED: &str = "closed";
/// Status of an alert an officer has acknowledged.
pub const ACKNOWLEDGED: &str = "acknowledged";

/// The event types Enforce's consumer handles.
pub const CONSUMES: [&str; 1] = [EnforceRequested::TYPE];

/// Builds Enforce: migrates its database and returns its routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Enforcer::new(ctx.outbox.clone())),
    )?;
    let state = web::Data::new(api::Enforce {
        store: ctx.store.clone(),
    });
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: EnforceApi::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| api::routes(cfg, state.clone())),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}

/// What an action does, read from its `params` (defaults in the crate docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behaviour {
    /// Ask Investigate for a warnings-index entry.
    pub watchlist: bool,
    /// The entry's category.
    pub category: String,
    /// The entry's severity.
    pub severity: Severity,
    /// Raise an alert for officers.
    pub alert: bool,
}

impl Behaviour {
    /// Reads `params` for `action`, filling in the defaults; says which param
    /// is wrong when one is.
    pub fn from_params(action: &str, params: &Map<String, Value>) -> Result<Self, String> {
        let flag = |key: &str, default: bool| match params.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(value)) => Ok(*value),
            Some(other) => Err(format!("params.{key} must be true or false, not {other}")),
        };
        let text = |key: &str, default: &str| match params.get(key) {
            None | Some(Value::Null) => Ok(default.to_owned()),
            Some(Value::String(value)) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
            Some(other) => Err(format!(
                "params.{key} must be a non-empty string, not {other}"
            )),
        };
        let named = text("severity", "high")?;
        let severity = Severity::parse(&named).ok_or_else(|| {
            let all: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
            format!(
                "params.severity must be one of {}, not `{named}`",
                all.join(", ")
            )
        })?;
        Ok(Self {
            watchlist: flag("watchlist", action.starts_with("refusal-"))?,
            category: text("category", "immigration")?,
            severity,
            alert: flag("alert", true)?,
        })
    }
}

/// What happened, in one sentence: "Refused visit visa VV-…: reason; reason"
/// for a `refusal-…` action, else "`<action>` on visit visa VV-…: …".
pub fn summary(action: &str, product: &str, reference: &str, reasons: &[String]) -> String {
    let product = product.replace('-', " ");
    let mut text = if action.starts_with("refusal-") {
        format!("Refused {product} {reference}")
    } else {
        format!("{action} on {product} {reference}")
    };
    if !reasons.is_empty() {
        text.push_str(": ");
        text.push_str(&reasons.join("; "));
    }
    text
}

/// Applies `enforce.requested`: records the action (once per step), and emits
/// `enforcement.actioned` and, when the action raises one, `alert.raised`.
#[derive(Debug)]
pub struct Enforcer {
    outbox: Outbox,
}

impl Enforcer {
    /// An enforcer emitting through `outbox`.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox }
    }

    fn event<P: Payload>(&self, payload: &P, trace: &Option<String>) -> Event {
        let mut event = Event::of(self.outbox.source(), payload);
        event.traceparent = trace.clone();
        event
    }
}

#[async_trait]
impl EventHandler for Enforcer {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        // The consumer has checked the schema; this only fails on a schema change.
        let request: EnforceRequested = event.payload().map_err(HandlerError::Refused)?;
        let case_id = &request.step.case_id.to_string();
        let step_id = &request.step.step_id.to_string();
        let already = action::Entity::find()
            .filter(action::Column::StepId.eq(step_id))
            .one(txn)
            .await?;
        if already.is_some() {
            tracing::info!(%case_id, %step_id, "step already actioned; not acting again");
            return Ok(());
        }
        let behaviour =
            Behaviour::from_params(&request.action, &request.step.params).map_err(|reason| {
                HandlerError::Refused(format!("action `{}`: {reason}", request.action))
            })?;
        let summary = summary(
            &request.action,
            &request.step.product,
            &request.step.reference,
            &request.reasons,
        );
        let watchlist = behaviour.watchlist.then(|| WatchlistRequest {
            category: behaviour.category.clone(),
            severity: behaviour.severity,
            summary: summary.clone(),
        });
        let action_id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        action::ActiveModel {
            id: Set(action_id.clone()),
            case_id: Set(case_id.clone()),
            reference: Set(request.step.reference.clone()),
            product: Set(request.step.product.clone()),
            step_id: Set(step_id.clone()),
            action: Set(request.action.clone()),
            subject: Set(json!(request.subject)),
            reasons: Set(json!(request.reasons)),
            watchlist: Set(watchlist.as_ref().map(|w| json!(w))),
            status: Set(OPEN.into()),
            created_at: Set(now),
        }
        .insert(txn)
        .await?;
        let trace = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        let mut events = vec![self.event(
            &EnforcementActioned {
                step: StepResult {
                    case_id: request.step.case_id.clone(),
                    step_id: request.step.step_id.clone(),
                },
                action_id: action_id.clone(),
                action: request.action.clone(),
                subject: request.subject.clone(),
                watchlist,
            },
            &trace,
        )];
        if behaviour.alert {
            let alert_id = uuid::Uuid::now_v7().to_string();
            alert::ActiveModel {
                id: Set(alert_id.clone()),
                action_id: Set(action_id.clone()),
                case_id: Set(case_id.clone()),
                reference: Set(request.step.reference.clone()),
                summary: Set(summary.clone()),
                status: Set(OPEN.into()),
                created_at: Set(now),
                acknowledged_at: Set(None),
                acknowledged_by: Set(None),
            }
            .insert(txn)
            .await?;
            events.push(self.event(
                &AlertRaised {
                    alert_id,
                    action_id: action_id.clone(),
                    case_id: request.step.case_id.clone(),
                    summary,
                },
                &trace,
            ));
        }
        self.outbox.append(txn, events).await?;
        tracing::info!(%case_id, %step_id, action = %request.action, %action_id,
            watchlist = behaviour.watchlist, alert = behaviour.alert, "enforcement action recorded");
        Ok(())
    }
}

/// Acknowledges an alert on behalf of `by` (the caller's token `sub`), once:
/// 404 for an unknown alert, 409 when it is already acknowledged, 503 when
/// the database is busy. Nothing changes on any error.
pub async fn acknowledge_alert(
    store: &Store,
    alert_id: &str,
    by: &str,
) -> Result<AlertView, Problem> {
    if by.trim().is_empty() {
        return Err(Problem::forbidden(
            "the token names no subject to acknowledge as",
        ));
    }
    let txn = store.begin_write().await?;
    let found = alert::Entity::find_by_id(alert_id)
        .one(&txn)
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("there is no alert `{alert_id}`")))?;
    let already = || Problem::conflict(format!("alert `{alert_id}` has already been acknowledged"));
    if found.status != OPEN {
        return Err(already());
    }
    let now = Utc::now();
    // Only if still open: of two concurrent acknowledgements, exactly one updates the row.
    let updated = alert::Entity::update_many()
        .col_expr(alert::Column::Status, Expr::value(ACKNOWLEDGED))
        .col_expr(alert::Column::AcknowledgedAt, Expr::value(now))
        .col_expr(alert::Column::AcknowledgedBy, Expr::value(by))
        .filter(alert::Column::Id.eq(alert_id))
        .filter(alert::Column::Status.eq(OPEN))
        .exec(&txn)
        .await
        .map_err(Problem::from)?;
    if updated.rows_affected != 1 {
        return Err(already());
    }
    store.commit(txn).await?;
    tracing::info!(alert = %alert_id, case_id = %found.case_id, acknowledged_by = %by, "alert acknowledged");
    Ok(AlertView::from(alert::Model {
        status: ACKNOWLEDGED.into(),
        acknowledged_at: Some(now),
        acknowledged_by: Some(by.to_owned()),
        ..found
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn refusals_go_on_the_watchlist_by_default() {
        let refusal = Behaviour::from_params("refusal-false-document", &Map::new()).unwrap();
        assert_eq!(
            refusal,
            Behaviour {
                watchlist: true,
                category: "immigration".into(),
                severity: Severity::High,
                alert: true,
            }
        );
        assert!(
            !Behaviour::from_params("revoke-document", &Map::new())
                .unwrap()
                .watchlist
        );
    }

    #[test]
    fn params_override_the_defaults_and_bad_ones_are_named() {
        let quiet = Behaviour::from_params(
            "refusal-x",
            &params(json!({"watchlist": false, "alert": false, "severity": "critical", "category": "fraud", "other": 1})),
        )
        .unwrap();
        assert_eq!((quiet.watchlist, quiet.alert), (false, false));
        assert_eq!(
            (quiet.severity.as_str(), quiet.category.as_str()),
            ("critical", "fraud")
        );
        let bad = |p: Value| Behaviour::from_params("refusal-x", &params(p)).unwrap_err();
        assert!(bad(json!({"severity": "extreme"})).contains("params.severity"));
        assert!(bad(json!({"alert": "yes"})).contains("params.alert"));
        assert!(bad(json!({"category": " "})).contains("params.category"));
    }

    #[test]
    fn the_summary_says_what_happened() {
        let reasons = ["The passport presented is recorded as lost or stolen".to_owned()];
        assert_eq!(
            summary(
                "refusal-false-document",
                "visit-visa",
                "VV-2026-4KQ7-Z",
                &reasons
            ),
            "Refused visit visa VV-2026-4KQ7-Z: The passport presented is recorded as lost or stolen"
        );
        assert_eq!(
            summary("revoke-document", "visit-visa", "VV-2026-4KQ7-Z", &[]),
            "revoke-document on visit visa VV-2026-4KQ7-Z"
        );
    }
}
