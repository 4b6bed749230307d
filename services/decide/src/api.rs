//! Decide's HTTP API: the referral queue, caseworkers' decisions, and the
//! decisions on a case. Each operation's `security` is its access policy.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use casework_bus::Outbox;
use casework_runtime::http::{CaseQuery, HttpState, fetch_page, read_json, reference_filter};
use casework_runtime::{Claims, Problem};
use casework_store::Store;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::OpenApi;

use crate::{
    AWAITING_APPROVAL, DECIDED, Decided, OPEN, approve_referral, decide_referral, decision,
    referral,
};

/// What Decide's handlers share.
struct Decide {
    store: Store,
    outbox: Outbox,
}

/// Decide's routes over its database and outbox, to mount under `/api/decide`.
pub fn routes(store: Store, outbox: Outbox) -> Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync> {
    let state = web::Data::new(Decide { store, outbox });
    Arc::new(move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state.clone())
            // A malformed query gets problem+json like every other error.
            .app_data(casework_runtime::http::query_config())
            .route("/v1/referrals", web::get().to(list_referrals))
            .route("/v1/referrals/{id}", web::get().to(get_referral))
            .route("/v1/referrals/{id}/decision", web::post().to(decide))
            .route("/v1/referrals/{id}/approval", web::post().to(approve))
            .route("/v1/decisions", web::get().to(list_decisions));
    })
}

/// Decide's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Decide",
        description = "Rule-set decisions, the referral queue and caseworkers' decisions."
    ),
    paths(list_referrals, get_referral, decide, approve, list_decisions),
    components(schemas(
        ReferralView,
        ReferralPage,
        DecisionView,
        DecisionRequest,
        ApprovalRequest,
        Problem
    ))
)]
pub struct DecideApi;

/// A decision: by the rules, or by a caseworker on a referral.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    /// Its id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The case reference.
    pub reference: String,
    /// The product applied for.
    pub product: String,
    /// The step it answers.
    pub step_id: String,
    /// `rules`, or `caseworker` for a decision on a referral.
    pub kind: String,
    /// `grant`, `refuse` or `refer`.
    pub outcome: String,
    /// Why.
    #[schema(value_type = Vec<String>)]
    pub reasons: Value,
    /// The rules that fired: `{id, outcome, reason, enforce}`.
    #[schema(value_type = Vec<Object>)]
    pub fired: Value,
    /// Whether enforcement action is asked for.
    pub enforce: bool,
    /// The rule set.
    pub rule_set: String,
    /// The version of the rule set applied.
    pub rule_set_version: i64,
    /// The evidence exactly as the decision saw it.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// `rules`, or the caseworker's token `sub`.
    pub decided_by: String,
    /// The senior caseworker who approved it (four-eyes), if one had to.
    pub approved_by: Option<String>,
    /// When (RFC 3339).
    pub decided_at: String,
}

impl From<decision::Model> for DecisionView {
    fn from(d: decision::Model) -> Self {
        Self {
            id: d.id,
            case_id: d.case_id,
            reference: d.reference,
            product: d.product,
            step_id: d.step_id,
            kind: d.kind,
            outcome: d.outcome,
            reasons: d.reasons,
            fired: d.fired,
            enforce: d.enforce,
            rule_set: d.rule_set,
            rule_set_version: d.rule_set_version,
            evidence: d.evidence,
            decided_by: d.decided_by,
            approved_by: d.approved_by,
            decided_at: timestamp(d.created_at),
        }
    }
}

/// A referral, as the caseworker deciding it sees it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReferralView {
    /// Its id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The case reference.
    pub reference: String,
    /// The product applied for.
    pub product: String,
    /// The step referred.
    pub step_id: String,
    /// The rule set.
    pub rule_set: String,
    /// The version that referred it.
    pub rule_set_version: i64,
    /// Why it was referred.
    #[schema(value_type = Vec<String>)]
    pub reasons: Value,
    /// The rules that fired.
    #[schema(value_type = Vec<Object>)]
    pub fired: Value,
    /// The evidence the rules saw.
    #[schema(value_type = Object)]
    pub evidence: Value,
    /// `open`, `awaiting-approval` (a caseworker's decision waits for a
    /// second person) or `decided`.
    pub status: String,
    /// When it was referred (RFC 3339).
    pub referred_at: String,
    /// When a caseworker decided it.
    pub decided_at: Option<String>,
    /// Who decided it (token `sub`).
    pub decided_by: Option<String>,
    /// `grant` or `refuse`.
    pub decision_outcome: Option<String>,
    /// The caseworker's reason.
    pub decision_reason: Option<String>,
    /// The outcomes of a caseworker's decision that a second person must
    /// approve (the product's `four_eyes`).
    pub four_eyes: Vec<String>,
    /// The senior caseworker who approved the decision.
    pub approved_by: Option<String>,
    /// When (RFC 3339).
    pub approved_at: Option<String>,
    /// Why the last proposed decision was returned to the queue, if it was.
    pub returned_reason: Option<String>,
}

impl From<referral::Model> for ReferralView {
    fn from(r: referral::Model) -> Self {
        Self {
            id: r.id,
            case_id: r.case_id,
            reference: r.reference,
            product: r.product,
            step_id: r.step_id,
            rule_set: r.rule_set,
            rule_set_version: r.rule_set_version,
            reasons: r.reasons,
            fired: r.fired,
            evidence: r.evidence,
            status: r.status,
            referred_at: timestamp(r.created_at),
            decided_at: r.decided_at.map(timestamp),
            decided_by: r.decided_by,
            decision_outcome: r.decision_outcome,
            decision_reason: r.decision_reason,
            four_eyes: r
                .four_eyes
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default(),
            approved_by: r.approved_by,
            approved_at: r.approved_at.map(timestamp),
            returned_reason: r.returned_reason,
        }
    }
}

/// One page of the referral queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReferralPage {
    /// The referrals, oldest first.
    pub items: Vec<ReferralView>,
    /// How many match, over all pages.
    pub total: u64,
    /// The page size used.
    pub limit: u64,
    /// How many were skipped.
    pub offset: u64,
}

/// A caseworker's decision on a referral.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// `grant` or `refuse`.
    #[schema(pattern = "^(grant|refuse)$")]
    pub outcome: String,
    /// Why, in words fit for the decision letter: required, at most 2000 characters.
    #[schema(max_length = 2000, pattern = "\\S")]
    pub reason: String,
}

/// A senior caseworker's answer to a decision awaiting approval.
#[derive(Debug, Deserialize)]
pub struct ApprovalRequest {
    /// `true` makes the decision; `false` returns the referral to the queue.
    pub approve: bool,
    /// Why, required to return it: what to reconsider.
    pub reason: Option<String>,
}

// The schema says what the handler checks: a return (`approve: false`)
// needs a reason with something in it; an approval may have one. A derived
// schema cannot say "required when", so it is written out.
impl utoipa::PartialSchema for ApprovalRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let schema = serde_json::json!({
            "description": "A senior caseworker's answer to a decision awaiting approval.",
            "oneOf": [
                {
                    "title": "Approve",
                    "type": "object",
                    "required": ["approve"],
                    "properties": {
                        "approve": {"type": "boolean", "enum": [true], "description": "Makes the decision."},
                        "reason": {"type": ["string", "null"], "maxLength": crate::MAX_REASON_CHARS, "description": "Why, if you wish."}
                    }
                },
                {
                    "title": "Return",
                    "type": "object",
                    "required": ["approve", "reason"],
                    "properties": {
                        "approve": {"type": "boolean", "enum": [false], "description": "Returns the referral to the queue."},
                        "reason": {"type": "string", "pattern": "\\S", "maxLength": crate::MAX_REASON_CHARS, "description": "What to reconsider."}
                    }
                }
            ]
        });
        serde_json::from_value(schema).expect("a valid schema")
    }
}

impl utoipa::ToSchema for ApprovalRequest {}

/// Query of the referral queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralQuery {
    /// `open`, `awaiting-approval` or `decided`; by default `open`, or
    /// every status when `case` is given.
    #[param(pattern = "^(|open|awaiting-approval|decided)$")]
    pub status: Option<String>,
    /// Only this product's referrals.
    pub product: Option<String>,
    /// Only this case's (its reference).
    pub case: Option<String>,
    /// Page size: 50 unless given, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// How many to skip.
    #[param(maximum = 9223372036854775807_u64)]
    pub offset: Option<u64>,
}

/// The referral queue: referrals by status, oldest first, with their reasons and evidence.
#[utoipa::path(
    get,
    path = "/v1/referrals",
    tag = "referrals",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(ReferralQuery),
    responses(
        (status = 200, body = ReferralPage),
        (status = 400, body = Problem, description = "Unknown status or malformed query"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
    )
)]
async fn list_referrals(
    req: HttpRequest,
    query: web::Query<ReferralQuery>,
    state: web::Data<Decide>,
) -> Result<HttpResponse, Problem> {
    let for_case = query.case.as_deref().is_some_and(|c| !c.trim().is_empty());
    let status = match query.status.as_deref().map(str::trim) {
        // A case's referrals, whatever their status, unless one is asked for.
        None | Some("") if for_case => None,
        None | Some("") | Some(OPEN) => Some(OPEN),
        Some(DECIDED) => Some(DECIDED),
        Some(AWAITING_APPROVAL) => Some(AWAITING_APPROVAL),
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "status is `{OPEN}`, `{AWAITING_APPROVAL}` or `{DECIDED}`, not `{other}`"
            )));
        }
    };
    let (limit, offset) = casework_runtime::http::page(query.limit, query.offset)
        .map_err(|e| Problem::invalid(vec![e]))?;
    let mut select = referral::Entity::find();
    if let Some(status) = status {
        select = select.filter(referral::Column::Status.eq(status));
    }
    if let Some(product) = query
        .product
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        select = select.filter(referral::Column::Product.eq(product));
    }
    if let Some(reference) = reference_filter(query.case.as_deref()) {
        select = select.filter(referral::Column::Reference.eq(reference));
    }
    let order = [
        (referral::Column::CreatedAt, Order::Asc),
        (referral::Column::Id, Order::Asc),
    ];
    let (total, rows) =
        fetch_page(select, &order, (limit, offset), state.store.connection()).await?;
    casework_runtime::audit::read_each(&req, "case", rows.iter().map(|r| r.reference.clone()))
        .await?;
    Ok(HttpResponse::Ok().json(ReferralPage {
        items: rows.into_iter().map(ReferralView::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// One referral.
#[utoipa::path(
    get,
    path = "/v1/referrals/{id}",
    tag = "referrals",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(("id" = String, Path, description = "The referral's id")),
    responses(
        (status = 200, body = ReferralView),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    )
)]
async fn get_referral(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<Decide>,
) -> Result<HttpResponse, Problem> {
    let row = referral::Entity::find_by_id(id.as_str())
        .one(state.store.connection())
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("there is no referral `{id}`")))?;
    casework_runtime::audit::read_each(&req, "case", [row.reference.clone()]).await?;
    Ok(HttpResponse::Ok().json(ReferralView::from(row)))
}

/// Decide a referral: grant or refuse, with the reason.
///
/// Marks the referral decided, records the decision by the caller (the
/// token's `sub`) and emits `decision.made`, all at once. A referral is
/// decided once: a second decision gets 409. If the product needs a second
/// person for this outcome (four-eyes), the answer is 202 and the referral
/// waits, `awaiting-approval`, for a senior caseworker (`.../approval`).
#[utoipa::path(
    post,
    path = "/v1/referrals/{id}/decision",
    tag = "referrals",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker"])),
    params(("id" = String, Path, description = "The referral's id")),
    request_body = DecisionRequest,
    responses(
        (status = 200, body = DecisionView, description = "Decided"),
        (status = 202, body = ReferralView, description = "Awaiting a second person's approval (four-eyes)"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such referral"),
        (status = 409, body = Problem, description = "Already decided"),
        (status = 413, body = Problem, description = "Body too large"),
        (status = 422, body = Problem, description = "Names `/outcome` or `/reason`"),
        (status = 503, body = Problem, description = "Try again"),
    )
)]
async fn decide(
    id: web::Path<String>,
    claims: Claims,
    payload: web::Payload,
    state: web::Data<Decide>,
    http: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let sub = claims.sub;
    let (_, body) = read_json(payload, http.max_body_bytes).await?;
    match decide_referral(&state.store, &state.outbox, &id, &body, &sub).await? {
        Decided::Made(decision) => Ok(HttpResponse::Ok().json(decision)),
        Decided::AwaitingApproval(referral) => Ok(HttpResponse::Accepted().json(referral)),
    }
}

/// Approve a caseworker's decision awaiting a second person, or return it.
///
/// `{"approve": true}` makes the decision (by the caseworker who proposed
/// it, approved by the caller) and emits `decision.made`;
/// `{"approve": false, "reason": "..."}` returns the referral to the queue.
/// The caseworker who proposed it may not approve it (403), whatever roles
/// they hold: the caller's token `sub` must differ.
#[utoipa::path(
    post,
    path = "/v1/referrals/{id}/approval",
    tag = "referrals",
    security(("bearer" = ["role:senior-caseworker"])),
    params(("id" = String, Path, description = "The referral's id")),
    request_body = ApprovalRequest,
    responses(
        (status = 200, body = ReferralView, description = "Approved (now `decided`) or returned (`open`)"),
        (status = 400, body = Problem, description = "Not JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Not a senior caseworker, or the caller proposed the decision"),
        (status = 404, body = Problem, description = "No such referral"),
        (status = 409, body = Problem, description = "No decision awaits approval"),
        (status = 413, body = Problem, description = "Body too large"),
        (status = 422, body = Problem, description = "Names `/approve` or `/reason`"),
        (status = 503, body = Problem, description = "Try again"),
    )
)]
async fn approve(
    id: web::Path<String>,
    claims: Claims,
    payload: web::Payload,
    state: web::Data<Decide>,
    http: web::Data<HttpState>,
) -> Result<HttpResponse, Problem> {
    let (_, body) = read_json(payload, http.max_body_bytes).await?;
    let referral = approve_referral(&state.store, &state.outbox, &id, &body, &claims.sub).await?;
    Ok(HttpResponse::Ok().json(referral))
}

/// The decisions on a case, oldest first, with the rule-set version and the evidence seen.
#[utoipa::path(
    get,
    path = "/v1/decisions",
    tag = "decisions",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(CaseQuery),
    responses(
        (status = 200, body = Vec<DecisionView>),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
    )
)]
async fn list_decisions(
    req: HttpRequest,
    query: web::Query<CaseQuery>,
    state: web::Data<Decide>,
) -> Result<HttpResponse, Problem> {
    let reference = query.reference();
    let rows = decision::Entity::find()
        .filter(decision::Column::Reference.eq(&reference))
        .order_by_asc(decision::Column::CreatedAt)
        .order_by_asc(decision::Column::Id)
        .all(state.store.connection())
        .await
        .map_err(Problem::from)?;
    casework_runtime::audit::read_each(&req, "case", [reference.clone()]).await?;
    Ok(HttpResponse::Ok().json(rows.into_iter().map(DecisionView::from).collect::<Vec<_>>()))
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
