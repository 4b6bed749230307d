//! Decide: applies the product's rule set (a versioned decision table) to a
//! case's evidence, keeps the referral queue, and records caseworkers'
//! decisions on referrals.
//!
//! It acts on `decide.requested` with the latest version of the rule set the
//! request names, and answers with `decision.made` (grant or refuse) or
//! `decision.referred`; a caseworker's decision on a referral is a second
//! `decision.made`, by the caseworker's token `sub`. Every decision records
//! the rule set's version and the evidence exactly as it was seen. A request
//! delivered twice decides once. It must never act on a case beyond deciding:
//! Register routes the outcome.
//!
//! Where this differs from a one-row-per-step design, and why: `decisions`
//! holds at most one row per step *and kind* ([`BY_RULES`],
//! [`BY_CASEWORKER`]), because a referred step has two decisions, the rules'
//! `refer` and then the caseworker's, and both stay on record.

pub mod api;
pub mod tables;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use casework_bus::{BusError, EventHandler, HandlerError, Outbox};
use casework_contracts::payloads::{
    DecideRequested, DecisionMade, DecisionReferred, FiredRule, Payload, StepResult,
};
use casework_contracts::{CaseId, Event, EventType, FieldError, StepId};
use casework_rules::{Outcome, RuleBook};
use casework_runtime::{Problem, RuntimeError, ServiceContext, ServiceParts, telemetry};
use casework_store::{Store, StoreError};
use chrono::Utc;
use sea_orm::entity::prelude::*;
use sea_orm::{DatabaseTransaction, Set};
use serde_json::{Value, json};
use utoipa::OpenApi;

pub use api::{DecideApi, DecisionView, ReferralView};
pub use tables::{BY_CASEWORKER, BY_RULES, Migrator, decision, referral};

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Decide.as_str();
/// The longest reason a caseworker may give, in characters.
pub const MAX_REASON_CHARS: usize = 2000;
/// `referrals.status` of a referral waiting for a caseworker.
pub const OPEN: &str = "open";
/// `referrals.status` of a referral a caseworker has decided.
pub const DECIDED: &str = "decided";
/// `referrals.status` of a caseworker's decision waiting for a second
/// person (four-eyes).
pub const AWAITING_APPROVAL: &str = "awaiting-approval";
/// The request parameter naming the outcomes that need a second person.
pub const FOUR_EYES: &str = "four_eyes";

/// Reads every rule set under `dir` (`<id>/v<N>.toml`); a missing directory or
/// a bad file is a configuration error naming the file.
pub fn load_rules(dir: &Path) -> Result<RuleBook, RuntimeError> {
    RuleBook::load(dir).map_err(|e| RuntimeError::Config(format!("paths.rules: {e}")))
}

/// The event types Decide's consumer handles.
pub const CONSUMES: [&str; 1] = [DecideRequested::TYPE];

/// Builds Decide: loads the rule sets, migrates its database and returns its
/// routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    let rules = load_rules(&ctx.settings.paths.rules)?;
    ctx.store.migrate::<Migrator>().await?;
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Decider::new(rules, ctx.outbox.clone())),
    )?;
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: DecideApi::openapi(),
        routes: api::routes(ctx.store.clone(), ctx.outbox.clone()),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}

/// Applies `decide.requested`: evaluates the latest version of the named rule
/// set against the evidence, records the decision (and a referral when the
/// rules refer), and emits `decision.made` or `decision.referred`.
#[derive(Debug)]
pub struct Decider {
    rules: RuleBook,
    outbox: Outbox,
}

impl Decider {
    /// A decider with these rule sets, emitting through `outbox`.
    pub fn new(rules: RuleBook, outbox: Outbox) -> Self {
        Self { rules, outbox }
    }
}

#[async_trait]
impl EventHandler for Decider {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        let request: DecideRequested = event.payload().map_err(HandlerError::Refused)?;
        let case_id = request.step.case_id.to_string();
        let step_id = request.step.step_id.to_string();
        let set_id = request.rule_set.clone();
        let already = decision::Entity::find()
            .filter(decision::Column::StepId.eq(&step_id))
            .filter(decision::Column::Kind.eq(BY_RULES))
            .one(txn)
            .await?;
        if already.is_some() {
            tracing::info!(%case_id, %step_id, "step already decided; not deciding again");
            return Ok(());
        }
        // Retrying cannot make an unknown rule set known: dead-letter the request.
        let rule_set = self
            .rules
            .latest(&set_id)
            .ok_or_else(|| HandlerError::Refused(format!("there is no rule set `{set_id}`")))?;
        let evidence = Value::Object(request.evidence.clone());
        let decided = rule_set.evaluate(&evidence);
        let now = Utc::now();
        let version = i64::from(decided.rule_set_version);
        decision::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            case_id: Set(case_id.clone()),
            reference: Set(request.step.reference.clone()),
            product: Set(request.step.product.clone()),
            step_id: Set(step_id.clone()),
            kind: Set(BY_RULES.into()),
            outcome: Set(decided.outcome.as_str().into()),
            reasons: Set(json!(decided.reasons)),
            fired: Set(json!(decided.fired)),
            enforce: Set(decided.enforce),
            rule_set: Set(decided.rule_set.clone()),
            rule_set_version: Set(version),
            evidence: Set(evidence.clone()),
            decided_by: Set(BY_RULES.into()),
            created_at: Set(now),
            approved_by: Set(None),
        }
        .insert(txn)
        .await?;
        let result = StepResult {
            case_id: request.step.case_id.clone(),
            step_id: request.step.step_id.clone(),
        };
        let emitted = if decided.outcome == Outcome::Refer {
            referral::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                case_id: Set(case_id.clone()),
                reference: Set(request.step.reference.clone()),
                product: Set(request.step.product.clone()),
                step_id: Set(step_id.clone()),
                rule_set: Set(decided.rule_set.clone()),
                rule_set_version: Set(version),
                reasons: Set(json!(decided.reasons)),
                fired: Set(json!(decided.fired)),
                evidence: Set(evidence),
                status: Set(OPEN.into()),
                created_at: Set(now),
                decided_at: Set(None),
                decided_by: Set(None),
                decision_outcome: Set(None),
                decision_reason: Set(None),
                // Which outcomes need a second person: the product's
                // `four_eyes`, passed by Register in the request's params.
                four_eyes: Set(request.step.params.get(FOUR_EYES).cloned()),
                approved_by: Set(None),
                approved_at: Set(None),
                returned_reason: Set(None),
            }
            .insert(txn)
            .await?;
            Event::of(
                self.outbox.source(),
                &DecisionReferred {
                    step: result,
                    rule_set: decided.rule_set.clone(),
                    rule_set_version: decided.rule_set_version,
                    reasons: decided.reasons.clone(),
                    fired: decided.fired.clone(),
                },
            )
        } else {
            Event::of(
                self.outbox.source(),
                &DecisionMade {
                    step: result,
                    rule_set: decided.rule_set.clone(),
                    rule_set_version: decided.rule_set_version,
                    reasons: decided.reasons.clone(),
                    fired: decided.fired.clone(),
                    outcome: decided.outcome,
                    enforce: decided.enforce,
                    decided_by: BY_RULES.into(),
                    approved_by: None,
                },
            )
        };
        tracing::info!(%case_id, %step_id, outcome = %decided.outcome, rule_set = %set_id, version, "decided by the rules");
        let traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        emit(&self.outbox, txn, emitted, traceparent).await?;
        Ok(())
    }
}

async fn emit(
    outbox: &Outbox,
    txn: &DatabaseTransaction,
    mut event: Event,
    traceparent: Option<String>,
) -> Result<(), BusError> {
    event.traceparent = traceparent;
    outbox.append(txn, [event]).await
}

/// What a caseworker's decision on a referral came to.
#[derive(Debug)]
pub enum Decided {
    /// It is made: `decision.made` is on its way.
    Made(DecisionView),
    /// The product wants a second person for this outcome: it waits for a
    /// senior caseworker's approval.
    AwaitingApproval(ReferralView),
}

/// Applies a caseworker's decision on a referral, in one transaction.
///
/// `body` is `{"outcome": "grant" | "refuse", "reason": "..."}`; the reason
/// is required (1 to [`MAX_REASON_CHARS`] characters once trimmed). If the
/// referral's product needs a second person for the outcome (its
/// `four_eyes`), the decision waits for approval ([`approve_referral`]);
/// otherwise it is made at once: the referral marked decided (only if it is
/// still open), the decision recorded (by `decided_by`, the caller's token
/// `sub`) and `decision.made` emitted. The decision's reasons are the
/// caseworker's reason; its fired rules are the referral's; it asks for
/// enforcement only when it refuses and a fired rule was flagged `enforce`.
///
/// Errors: 422 naming `/outcome` or `/reason`, 404 for an unknown referral,
/// 409 when the referral is already decided or awaiting approval, 503 when
/// the database is busy.
pub async fn decide_referral(
    store: &Store,
    outbox: &Outbox,
    referral_id: &str,
    body: &Value,
    decided_by: &str,
) -> Result<Decided, Problem> {
    let (outcome, reason) = manual_decision(body)?;
    if decided_by.trim().is_empty() {
        return Err(Problem::forbidden(
            "the token names no subject to decide as",
        ));
    }
    let txn = store.begin_write().await?;
    let referral = find_referral(&txn, referral_id).await?;
    if referral.status != OPEN {
        return Err(Problem::conflict(format!(
            "referral `{referral_id}` is {}, not open",
            referral.status
        )));
    }
    let now = Utc::now();
    let needs_approval = referral
        .four_eyes
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|outcomes| outcomes.iter().any(|o| o == outcome.as_str()));
    // Only if still open: of two concurrent decisions, exactly one updates the row.
    let status = if needs_approval {
        AWAITING_APPROVAL
    } else {
        DECIDED
    };
    move_referral(
        &txn,
        referral_id,
        OPEN,
        referral::ActiveModel {
            status: Set(status.into()),
            decided_at: Set(Some(now)),
            decided_by: Set(Some(decided_by.to_owned())),
            decision_outcome: Set(Some(outcome.as_str().into())),
            decision_reason: Set(Some(reason.clone())),
            ..Default::default()
        },
    )
    .await?;
    if needs_approval {
        let waiting = find_referral(&txn, referral_id).await?;
        store.commit(txn).await?;
        tracing::info!(case_id = %waiting.case_id, referral = %referral_id, outcome = %outcome, %decided_by, "decision awaits a second person's approval");
        return Ok(Decided::AwaitingApproval(ReferralView::from(waiting)));
    }
    let made = make_decision(&txn, outbox, referral, outcome, reason, decided_by, None).await?;
    store.commit(txn).await?;
    tracing::info!(case_id = %made.case_id, referral = %referral_id, outcome = %made.outcome, %decided_by, "referral decided");
    Ok(Decided::Made(made))
}

/// A senior caseworker's answer to a decision awaiting approval: `{"approve":
/// true}` makes it (by the caseworker who proposed it, approved by
/// `approver`); `{"approve": false, "reason": "..."}` returns the referral to
/// the queue, open again, with the reason kept.
///
/// Errors: 403 when `approver` proposed the decision (a second person must
/// approve it), 409 when nothing awaits approval, 422 naming `/approve` or
/// `/reason`, 404 for an unknown referral.
pub async fn approve_referral(
    store: &Store,
    outbox: &Outbox,
    referral_id: &str,
    body: &Value,
    approver: &str,
) -> Result<ReferralView, Problem> {
    let (approve, reason) = approval(body)?;
    let txn = store.begin_write().await?;
    let referral = find_referral(&txn, referral_id).await?;
    if referral.status != AWAITING_APPROVAL {
        return Err(Problem::conflict(format!(
            "referral `{referral_id}` is {}: no decision awaits approval",
            referral.status
        )));
    }
    let proposer = referral.decided_by.clone().unwrap_or_default();
    if approver.trim().is_empty() || approver == proposer {
        tracing::warn!(referral = %referral_id, %approver, "refused: approving one's own decision");
        return Err(Problem::forbidden(
            "you proposed this decision: a different senior caseworker must approve it",
        ));
    }
    let now = Utc::now();
    if approve {
        move_referral(
            &txn,
            referral_id,
            AWAITING_APPROVAL,
            referral::ActiveModel {
                status: Set(DECIDED.into()),
                approved_by: Set(Some(approver.to_owned())),
                approved_at: Set(Some(now)),
                ..Default::default()
            },
        )
        .await?;
        // Never guess an outcome: a row that names none is corrupt.
        let outcome = match referral.decision_outcome.as_deref() {
            Some("grant") => Outcome::Grant,
            Some("refuse") => Outcome::Refuse,
            other => {
                return Err(Problem::from(StoreError::Corrupt {
                    table: "referrals",
                    id: referral.id.clone(),
                    reason: format!("awaiting approval with outcome {other:?}"),
                }));
            }
        };
        let reason = referral.decision_reason.clone().unwrap_or_default();
        let made = make_decision(
            &txn,
            outbox,
            referral,
            outcome,
            reason,
            &proposer,
            Some(approver),
        )
        .await?;
        tracing::info!(case_id = %made.case_id, referral = %referral_id, outcome = %made.outcome, decided_by = %proposer, approved_by = %approver, "decision approved");
    } else {
        move_referral(
            &txn,
            referral_id,
            AWAITING_APPROVAL,
            referral::ActiveModel {
                status: Set(OPEN.into()),
                decided_at: Set(None),
                decided_by: Set(None),
                decision_outcome: Set(None),
                decision_reason: Set(None),
                returned_reason: Set(Some(reason)),
                ..Default::default()
            },
        )
        .await?;
        tracing::info!(referral = %referral_id, proposed_by = %proposer, returned_by = %approver, "decision returned to the queue");
    }
    let now_is = find_referral(&txn, referral_id).await?;
    store.commit(txn).await?;
    Ok(ReferralView::from(now_is))
}

async fn find_referral(
    txn: &DatabaseTransaction,
    referral_id: &str,
) -> Result<referral::Model, Problem> {
    referral::Entity::find_by_id(referral_id)
        .one(txn)
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("there is no referral `{referral_id}`")))
}

/// Sets `changes` on the referral only if its status is still `from`: of
/// two concurrent answers, exactly one moves it; the other gets 409.
async fn move_referral(
    txn: &DatabaseTransaction,
    referral_id: &str,
    from: &str,
    changes: referral::ActiveModel,
) -> Result<(), Problem> {
    let updated = referral::Entity::update_many()
        .set(changes)
        .filter(referral::Column::Id.eq(referral_id))
        .filter(referral::Column::Status.eq(from))
        .exec(txn)
        .await
        .map_err(Problem::from)?;
    if updated.rows_affected != 1 {
        return Err(Problem::conflict(format!(
            "referral `{referral_id}` changed meanwhile: it is no longer {from}"
        )));
    }
    Ok(())
}

/// Records a caseworker's decision on `referral` and emits `decision.made`.
async fn make_decision(
    txn: &DatabaseTransaction,
    outbox: &Outbox,
    referral: referral::Model,
    outcome: Outcome,
    reason: String,
    decided_by: &str,
    approved_by: Option<&str>,
) -> Result<DecisionView, Problem> {
    let fired: Vec<FiredRule> = serde_json::from_value(referral.fired.clone()).map_err(|e| {
        Problem::from(StoreError::Corrupt {
            table: "referrals",
            id: referral.id.clone(),
            reason: format!("fired rules: {e}"),
        })
    })?;
    let enforce = outcome == Outcome::Refuse && fired.iter().any(|rule| rule.enforce);
    let reasons = json!([reason]);
    let made = decision::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        case_id: Set(referral.case_id.clone()),
        reference: Set(referral.reference),
        product: Set(referral.product),
        step_id: Set(referral.step_id.clone()),
        kind: Set(BY_CASEWORKER.into()),
        outcome: Set(outcome.as_str().into()),
        reasons: Set(reasons),
        fired: Set(referral.fired.clone()),
        enforce: Set(enforce),
        rule_set: Set(referral.rule_set.clone()),
        rule_set_version: Set(referral.rule_set_version),
        evidence: Set(referral.evidence),
        decided_by: Set(decided_by.to_owned()),
        created_at: Set(Utc::now()),
        approved_by: Set(approved_by.map(str::to_owned)),
    }
    .insert(txn)
    .await
    .map_err(Problem::from)?;
    let step_id: StepId = referral.step_id.parse().map_err(|reason: String| {
        Problem::from(StoreError::Corrupt {
            table: "referrals",
            id: referral.id.clone(),
            reason,
        })
    })?;
    let made_event = Event::of(
        outbox.source(),
        &DecisionMade {
            step: StepResult {
                case_id: CaseId::from(referral.case_id.clone()),
                step_id,
            },
            rule_set: referral.rule_set.clone(),
            rule_set_version: u32::try_from(referral.rule_set_version).unwrap_or_default(),
            reasons: vec![reason],
            fired,
            outcome,
            enforce,
            decided_by: decided_by.to_owned(),
            approved_by: approved_by.map(str::to_owned),
        },
    );
    emit(outbox, txn, made_event, telemetry::current_traceparent())
        .await
        .map_err(Problem::from)?;
    Ok(DecisionView::from(made))
}

/// Checks a senior caseworker's approval body.
fn approval(body: &Value) -> Result<(bool, String), Problem> {
    let field = |pointer: &str, message: &str| FieldError {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    };
    let approve = body.get("approve").and_then(Value::as_bool);
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    let mut errors = Vec::new();
    if approve.is_none() {
        errors.push(field(
            "/approve",
            "must be true (approve) or false (return)",
        ));
    }
    if approve == Some(false) && reason.is_empty() {
        errors.push(field(
            "/reason",
            "is required to return a decision: say what to reconsider",
        ));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errors.push(field(
            "/reason",
            &format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    match approve {
        Some(approve) if errors.is_empty() => Ok((approve, reason.to_owned())),
        _ => Err(Problem::invalid(errors)),
    }
}

/// Checks a caseworker's decision body, naming every failing field.
fn manual_decision(body: &Value) -> Result<(Outcome, String), Problem> {
    let field = |pointer: &str, message: &str| FieldError {
        pointer: pointer.to_owned(),
        message: message.to_owned(),
    };
    let Some(fields) = body.as_object() else {
        return Err(Problem::invalid(vec![field(
            "",
            "must be an object with `outcome` and `reason`",
        )]));
    };
    let mut errors = Vec::new();
    let outcome = match fields.get("outcome").and_then(Value::as_str) {
        Some("grant") => Some(Outcome::Grant),
        Some("refuse") => Some(Outcome::Refuse),
        _ => {
            errors.push(field("/outcome", "must be `grant` or `refuse`"));
            None
        }
    };
    let reason = fields
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or_default();
    if reason.is_empty() {
        errors.push(field(
            "/reason",
            "is required: say why, in words fit for the decision letter",
        ));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errors.push(field(
            "/reason",
            &format!("must be at most {MAX_REASON_CHARS} characters"),
        ));
    }
    for key in fields.keys() {
        if key != "outcome" && key != "reason" {
            let pointer = format!("/{}", key.replace('~', "~0").replace('/', "~1"));
            errors.push(field(&pointer, "is not a field of a decision"));
        }
    }
    match outcome {
        Some(outcome) if errors.is_empty() => Ok((outcome, reason.to_owned())),
        _ => Err(Problem::invalid(errors)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers(body: Value) -> Vec<String> {
        manual_decision(&body)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn a_decision_needs_a_known_outcome_and_a_reason() {
        assert_eq!(
            manual_decision(&json!({"outcome": "grant", "reason": "  Seen the bank statements "}))
                .unwrap(),
            (Outcome::Grant, "Seen the bank statements".to_owned())
        );
        assert_eq!(
            pointers(json!({"outcome": "refer", "reason": " "})),
            ["/outcome", "/reason"]
        );
        assert_eq!(pointers(json!({"outcome": "refuse"})), ["/reason"]);
        assert_eq!(
            pointers(json!({"reason": 7, "outcome": "grant"})),
            ["/reason"]
        );
        assert_eq!(
            pointers(json!({"outcome": "refuse", "reason": "x".repeat(2001)})),
            ["/reason"]
        );
        assert!(manual_decision(&json!({"outcome": "refuse", "reason": "é".repeat(2000)})).is_ok());
        assert_eq!(
            pointers(json!({"outcome": "grant", "reason": "ok", "a/b": 1})),
            ["/a~1b"]
        );
        assert_eq!(pointers(json!(["grant"])), [""]);
    }
}
