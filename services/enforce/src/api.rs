//! Enforce's HTTP API: enforcement actions and the officers' alert queue.
//! Each operation's `security` is its access policy.

use actix_web::{HttpRequest, HttpResponse, web};
use casework_runtime::http::{fetch_page, reference_filter};
use casework_runtime::{Claims, Problem};
use casework_store::Store;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::OpenApi;

use crate::{ACKNOWLEDGED, CLOSED, OPEN, acknowledge_alert, action, alert};

/// What Enforce's handlers share.
pub(crate) struct Enforce {
    pub(crate) store: Store,
}

/// Mounts the routes.
pub(crate) fn routes(cfg: &mut web::ServiceConfig, state: web::Data<Enforce>) {
    cfg.app_data(state)
        // A malformed query gets problem+json like every other error.
        .app_data(casework_runtime::http::query_config())
        .route("/v1/actions", web::get().to(list_actions))
        .route("/v1/actions/{id}", web::get().to(get_action))
        .route("/v1/alerts", web::get().to(list_alerts))
        .route("/v1/alerts/{id}/acknowledge", web::post().to(acknowledge));
}

/// Enforce's API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Enforce",
        description = "Enforcement actions, warnings-index requests and alerts for officers."
    ),
    paths(list_actions, get_action, list_alerts, acknowledge),
    components(schemas(ActionView, ActionPage, AlertView, AlertPage, Problem))
)]
pub struct EnforceApi;

/// An enforcement action.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionView {
    /// Its id.
    pub id: String,
    /// The case.
    pub case_id: String,
    /// The case reference.
    pub reference: String,
    /// The product applied for.
    pub product: String,
    /// The step that asked for it.
    pub step_id: String,
    /// The action, e.g. `refusal-false-document`.
    pub action: String,
    /// The person acted on.
    #[schema(value_type = Object)]
    pub subject: Value,
    /// Why.
    #[schema(value_type = Vec<String>)]
    pub reasons: Value,
    /// The warnings-index entry asked for (`{category, severity, summary}`), if any.
    #[schema(value_type = Option<Object>)]
    pub watchlist: Option<Value>,
    /// `open` or `closed`.
    pub status: String,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
}

impl From<action::Model> for ActionView {
    fn from(a: action::Model) -> Self {
        Self {
            id: a.id,
            case_id: a.case_id,
            reference: a.reference,
            product: a.product,
            step_id: a.step_id,
            action: a.action,
            subject: a.subject,
            reasons: a.reasons,
            // A JSON null read back from the column means "no entry" too.
            watchlist: a.watchlist.filter(|w| !w.is_null()),
            status: a.status,
            created_at: timestamp(a.created_at),
        }
    }
}

/// An alert for officers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    /// Its id.
    pub id: String,
    /// The action that raised it.
    pub action_id: String,
    /// The case.
    pub case_id: String,
    /// The case reference.
    pub reference: String,
    /// What happened.
    pub summary: String,
    /// `open` or `acknowledged`.
    pub status: String,
    /// When it was raised (RFC 3339).
    pub created_at: String,
    /// When an officer acknowledged it.
    pub acknowledged_at: Option<String>,
    /// Who acknowledged it (token `sub`).
    pub acknowledged_by: Option<String>,
}

impl From<alert::Model> for AlertView {
    fn from(a: alert::Model) -> Self {
        Self {
            id: a.id,
            action_id: a.action_id,
            case_id: a.case_id,
            reference: a.reference,
            summary: a.summary,
            status: a.status,
            created_at: timestamp(a.created_at),
            acknowledged_at: a.acknowledged_at.map(timestamp),
            acknowledged_by: a.acknowledged_by,
        }
    }
}

/// One page of actions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ActionPage {
    /// The actions, oldest first.
    pub items: Vec<ActionView>,
    /// How many match, over all pages.
    pub total: u64,
    /// The page size used.
    pub limit: u64,
    /// How many were skipped.
    pub offset: u64,
}

/// One page of alerts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertPage {
    /// The alerts, oldest first.
    pub items: Vec<AlertView>,
    /// How many match, over all pages.
    pub total: u64,
    /// The page size used.
    pub limit: u64,
    /// How many were skipped.
    pub offset: u64,
}

/// Query of the actions list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActionQuery {
    /// `open` or `closed`; every action unless given.
    #[param(pattern = "^(|open|closed)$")]
    pub status: Option<String>,
    /// Only this case's actions (its reference).
    pub case: Option<String>,
    /// Page size: 50 unless given, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// How many to skip.
    #[param(maximum = 9223372036854775807_u64)]
    pub offset: Option<u64>,
}

/// Query of the alert queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertQuery {
    /// `open` (the default) or `acknowledged`.
    #[param(pattern = "^(|open|acknowledged)$")]
    pub status: Option<String>,
    /// Page size: 50 unless given, at most 200.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u64>,
    /// How many to skip.
    #[param(maximum = 9223372036854775807_u64)]
    pub offset: Option<u64>,
}

/// Enforcement actions, oldest first, optionally by status and case.
#[utoipa::path(
    get,
    path = "/v1/actions",
    tag = "actions",
    security(("bearer" = ["role:officer", "role:senior-caseworker", "role:auditor"])),
    params(ActionQuery),
    responses(
        (status = 200, body = ActionPage),
        (status = 400, body = Problem, description = "Unknown status or malformed query"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
    )
)]
async fn list_actions(
    req: HttpRequest,
    query: web::Query<ActionQuery>,
    state: web::Data<Enforce>,
) -> Result<HttpResponse, Problem> {
    let mut select = action::Entity::find();
    if let Some(status) = status_filter(query.status.as_deref(), None, [OPEN, CLOSED])? {
        select = select.filter(action::Column::Status.eq(status));
    }
    if let Some(reference) = reference_filter(query.case.as_deref()) {
        select = select.filter(action::Column::Reference.eq(reference));
    }
    let (limit, offset) = page(query.limit, query.offset)?;
    let order = [
        (action::Column::CreatedAt, Order::Asc),
        (action::Column::Id, Order::Asc),
    ];
    let (total, rows) =
        fetch_page(select, &order, (limit, offset), state.store.connection()).await?;
    casework_runtime::audit::read_each(&req, "case", rows.iter().map(|a| a.reference.clone()))
        .await?;
    Ok(HttpResponse::Ok().json(ActionPage {
        items: rows.into_iter().map(ActionView::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// One enforcement action.
#[utoipa::path(
    get,
    path = "/v1/actions/{id}",
    tag = "actions",
    security(("bearer" = ["role:officer", "role:senior-caseworker", "role:auditor"])),
    params(("id" = String, Path, description = "The action's id")),
    responses(
        (status = 200, body = ActionView),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    )
)]
async fn get_action(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<Enforce>,
) -> Result<HttpResponse, Problem> {
    let row = action::Entity::find_by_id(id.as_str())
        .one(state.store.connection())
        .await
        .map_err(Problem::from)?
        .ok_or_else(|| Problem::not_found(format!("there is no action `{id}`")))?;
    casework_runtime::audit::read_each(&req, "case", [row.reference.clone()]).await?;
    Ok(HttpResponse::Ok().json(ActionView::from(row)))
}

/// The officers' alert queue: alerts by status, oldest first.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "alerts",
    security(("bearer" = ["role:officer", "role:senior-caseworker", "role:auditor"])),
    params(AlertQuery),
    responses(
        (status = 200, body = AlertPage),
        (status = 400, body = Problem, description = "Unknown status or malformed query"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
    )
)]
async fn list_alerts(
    req: HttpRequest,
    query: web::Query<AlertQuery>,
    state: web::Data<Enforce>,
) -> Result<HttpResponse, Problem> {
    let status =
        status_filter(query.status.as_deref(), Some(OPEN), [OPEN, ACKNOWLEDGED])?.unwrap_or(OPEN);
    let select = alert::Entity::find().filter(alert::Column::Status.eq(status));
    let (limit, offset) = page(query.limit, query.offset)?;
    let order = [
        (alert::Column::CreatedAt, Order::Asc),
        (alert::Column::Id, Order::Asc),
    ];
    let (total, rows) =
        fetch_page(select, &order, (limit, offset), state.store.connection()).await?;
    casework_runtime::audit::read_each(&req, "case", rows.iter().map(|a| a.reference.clone()))
        .await?;
    Ok(HttpResponse::Ok().json(AlertPage {
        items: rows.into_iter().map(AlertView::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// Acknowledge an alert, as the caller (the token's `sub`). An alert is
/// acknowledged once: a second acknowledgement gets 409.
#[utoipa::path(
    post,
    path = "/v1/alerts/{id}/acknowledge",
    tag = "alerts",
    security(("bearer" = ["role:officer"])),
    params(("id" = String, Path, description = "The alert's id")),
    responses(
        (status = 200, body = AlertView, description = "Acknowledged"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such alert"),
        (status = 409, body = Problem, description = "Already acknowledged"),
        (status = 503, body = Problem, description = "Try again"),
    )
)]
async fn acknowledge(
    id: web::Path<String>,
    claims: Claims,
    state: web::Data<Enforce>,
) -> Result<HttpResponse, Problem> {
    let sub = claims.sub;
    let acknowledged = acknowledge_alert(&state.store, &id, &sub).await?;
    Ok(HttpResponse::Ok().json(acknowledged))
}

/// The status asked for: `default` when none is given, else one of `allowed`.
fn status_filter<const N: usize>(
    asked: Option<&str>,
    default: Option<&'static str>,
    allowed: [&'static str; N],
) -> Result<Option<&'static str>, Problem> {
    match asked.map(str::trim) {
        None | Some("") => Ok(default),
        Some(asked) => allowed
            .into_iter()
            .find(|status| *status == asked)
            .map(Some)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "status is one of `{}`, not `{asked}`",
                    allowed.join("`, `")
                ))
            }),
    }
}

/// The page, or a 422 naming `/limit` (`casework_runtime::http::page`).
fn page(limit: Option<u64>, offset: Option<u64>) -> Result<(u64, u64), Problem> {
    casework_runtime::http::page(limit, offset).map_err(|e| Problem::invalid(vec![e]))
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use casework_runtime::auth::PolicyTable;

    use super::*;

    fn claims(role: &str) -> Claims {
        Claims {
            sub: format!("test-{role}"),
            iss: "casework".into(),
            aud: "casework".into(),
            exp: 0,
            iat: 0,
            roles: vec![role.into()],
            client_id: None,
            scopes: Vec::new(),
        }
    }

    #[test]
    fn officers_act_and_readers_read() {
        let mut table = PolicyTable::default();
        table.add_openapi("", &EnforceApi::openapi());
        let allows =
            |method: &str, path: &str, role: &str| table.policy(method, path).allows(&claims(role));
        for path in ["/v1/actions", "/v1/actions/{id}", "/v1/alerts"] {
            for role in ["officer", "senior-caseworker", "auditor"] {
                assert!(allows("GET", path, role), "{role} reads {path}");
            }
            assert!(
                !allows("GET", path, "caseworker"),
                "caseworker reads {path}"
            );
        }
        let ack = "/v1/alerts/{id}/acknowledge";
        assert!(allows("POST", ack, "officer"));
        for role in ["senior-caseworker", "auditor", "caseworker", "admin"] {
            assert!(!allows("POST", ack, role), "{role} acknowledges");
        }
    }

    #[test]
    fn status_and_page_are_checked() {
        assert_eq!(status_filter(None, None, [OPEN, CLOSED]).unwrap(), None);
        assert_eq!(
            status_filter(Some(" "), Some(OPEN), [OPEN, ACKNOWLEDGED]).unwrap(),
            Some(OPEN)
        );
        assert_eq!(
            status_filter(Some("closed"), None, [OPEN, CLOSED]).unwrap(),
            Some(CLOSED)
        );
        assert_eq!(
            status_filter(Some("gone"), None, [OPEN, CLOSED])
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(page(None, None).unwrap(), (50, 0));
        assert_eq!(page(Some(200), Some(5)).unwrap(), (200, 5));
        assert_eq!(page(Some(0), None).unwrap_err().status, 422);
        assert_eq!(page(Some(10_000), None).unwrap_err().status, 422);
    }
}
