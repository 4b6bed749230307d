//! The caseworker's and officer's desk: the work queue, the case page
//! (with the decision form and the re-request of a stuck check), search,
//! and the officers' alerts.
//!
//! Every page is built from the services' APIs, called with the signed-in
//! user's own token, so each API's policy applies as it would to them; and
//! with a `Purpose` header saying why personal data is read, for the audit
//! trail. An API's 401 (the token expired) sends the user to sign in again;
//! its 403 shows the page that says they may not.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::pages::{PageError, PageResult, error_of, error_summary, field, form_status, see_other};
use crate::session::{Session, Staff};
use crate::signin::DESK;
use crate::{Web, WebError};

/// Who works the queue, the cases and search.
pub(crate) const CASEWORKERS: [&str; 2] = ["caseworker", "senior-caseworker"];
/// Who reads a case (auditors too, without acting).
pub(crate) const CASE_READERS: [&str; 3] = ["caseworker", "senior-caseworker", "auditor"];
/// Who works alerts and enforcement actions.
const OFFICERS: [&str; 2] = ["officer", "senior-caseworker"];
/// Who approves a decision a product wants a second person for (four-eyes).
const SENIORS: [&str; 1] = ["senior-caseworker"];
/// Who reads the audit trail.
const AUDITORS: [&str; 1] = ["auditor"];

/// Rows per page of the queue and of search results.
pub(crate) const PAGE_SIZE: u64 = 25;

/// Why the desk reads personal data, sent as `Purpose` (audit trail).
mod purpose {
    pub(super) const QUEUE: &str = "work-queue";
    pub(super) const CASE: &str = "case-review";
    pub(super) const SEARCH: &str = "case-search";
    pub(super) const ALERTS: &str = "enforcement-alerts";
    pub(super) const AUDIT: &str = "audit-review";
}

impl Web {
    /// GET an API as `staff`, for `purpose`.
    pub(crate) async fn read<T: DeserializeOwned>(
        &self,
        req: &HttpRequest,
        staff: &Staff,
        path: String,
        purpose: &str,
    ) -> Result<T, PageError> {
        let url = self.api.url(req, &path);
        let response = self
            .api
            .client
            .get(&url)
            .bearer_auth(&staff.token)
            .header("Purpose", purpose)
            .send()
            .await
            .map_err(|e| WebError::Api(format!("GET {path}: {e}")))?;
        match response.status() {
            s if s.is_success() => Ok(response
                .json()
                .await
                .map_err(|e| WebError::Api(format!("GET {path}: {e}")))?),
            s => Err(refusal(req, s, &path)),
        }
    }

    /// POST to an API as `staff`: its status and body, unless it refused
    /// the user (401, 403) or failed.
    pub(crate) async fn act(
        &self,
        req: &HttpRequest,
        staff: &Staff,
        path: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), PageError> {
        let url = self.api.url(req, path);
        let response = self
            .api
            .client
            .post(&url)
            .bearer_auth(&staff.token)
            .json(body)
            .send()
            .await
            .map_err(|e| WebError::Api(format!("POST {path}: {e}")))?;
        let status =
            StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        if status.is_server_error() || matches!(status.as_u16(), 401 | 403) {
            return Err(refusal(req, response.status(), path));
        }
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Renders a desk page, with the navigation, the user and any message.
    pub(crate) fn desk_page(
        &self,
        status: StatusCode,
        template: &str,
        session: &Session,
        staff: &Staff,
        current: &str,
        mut context: Value,
    ) -> PageResult {
        let mut nav = Vec::new();
        if staff.holds(&CASEWORKERS) {
            nav.push(("Work queue", "/desk"));
            nav.push(("Possible matches", "/desk/reviews"));
            nav.push(("Search", "/desk/search"));
        }
        if staff.holds(&OFFICERS) {
            nav.push(("Alerts", "/desk/alerts"));
        }
        if staff.holds(&AUDITORS) {
            nav.push(("Audit", "/desk/audit"));
        }
        if let Value::Object(map) = &mut context {
            map.insert(
                "nav".into(),
                nav.iter()
                    .map(|(text, href)| json!({"text": text, "href": href, "active": *href == current}))
                    .collect(),
            );
            map.insert(
                "user".into(),
                json!({"name": staff.name, "roles": staff.roles}),
            );
            map.insert("wide".into(), true.into());
            if let Some(flash) = &session.data.flash {
                map.insert(
                    "flash".into(),
                    json!({"heading": flash.heading, "kind": flash.kind}),
                );
            }
        }
        self.page(status, template, DESK, Some(session), context)
    }

    fn product_name(&self, id: &str) -> String {
        self.products
            .get(id)
            .map_or_else(|| id.to_owned(), |p| p.name.clone())
    }

    fn products_list(&self, selected: &str) -> Vec<Value> {
        let mut items = vec![json!({"value": "", "text": "All products"})];
        items.extend(
            self.products
                .products()
                .map(|p| json!({"value": p.id, "text": p.name, "selected": p.id == selected})),
        );
        items
    }
}

/// An API's refusal as a page: 401 (the token expired) signs the user in
/// again; 403 and 404 are their own pages; the rest is our problem.
pub(crate) fn refusal(req: &HttpRequest, status: reqwest::StatusCode, path: &str) -> PageError {
    match status.as_u16() {
        401 => PageError::SignIn(req.path().to_owned()),
        403 => PageError::Forbidden,
        404 => PageError::NotFound,
        _ => PageError::Unavailable(WebError::Api(format!("{path}: {status}"))),
    }
}

/// A page of Register's case search, as the desk reads it.
#[derive(Debug, Deserialize)]
struct CasePage {
    cases: Vec<CaseSummary>,
    total: u64,
}

#[derive(Debug, Deserialize)]
struct CaseSummary {
    reference: String,
    product: String,
    status: String,
    surname: Option<String>,
    date_of_birth: Option<String>,
    received_at: DateTime<Utc>,
    stuck: bool,
}

/// `?page=` of a paged list (1 when absent or nonsense).
pub(crate) fn page_number(page: Option<&str>) -> u64 {
    page.and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

/// Previous and next links for page `page` of `total` rows.
pub(crate) fn pagination(base: &str, query: &[(&str, &str)], page: u64, total: u64) -> Value {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let link = |n: u64| {
        let mut pairs: Vec<String> = query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        pairs.push(format!("page={n}"));
        format!("{base}?{}", pairs.join("&"))
    };
    json!({
        "page": page,
        "pages": pages,
        "previous": (page > 1).then(|| link(page - 1)),
        "next": (page < pages).then(|| link(page + 1)),
    })
}

pub(crate) fn urlencode(value: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("v", value)])
        .ok()
        .and_then(|u| u.query().map(|q| q.trim_start_matches("v=").to_owned()))
        .unwrap_or_default()
}

/// A case's status as a tag: its text and colour.
fn status_tag(status: &str, stuck: bool) -> Value {
    let (text, classes) = match (status, stuck) {
        (_, true) => ("Stuck", "govuk-tag--red"),
        ("referred", _) => ("Referred", "govuk-tag--orange"),
        ("received", _) => ("Received", "govuk-tag--grey"),
        ("in-progress", _) => ("In progress", "govuk-tag--blue"),
        ("decided", _) => ("Decided", "govuk-tag--turquoise"),
        ("closed", _) => ("Closed", "govuk-tag--green"),
        (other, _) => (other, "govuk-tag--grey"),
    };
    json!({"text": text, "classes": classes})
}

/// A time as people read it: 7 December 2026.
pub(crate) fn day_of(at: &DateTime<Utc>) -> String {
    at.format("%-d %B %Y").to_string()
}

/// A time with its hour: 7 December 2026, 2:05pm.
pub(crate) fn when(at: &str) -> String {
    at.parse::<DateTime<Utc>>()
        .map(|t| t.format("%-d %B %Y, %-I:%M%P").to_string())
        .unwrap_or_else(|_| at.to_owned())
}

impl Web {
    /// A row of the queue or of search results.
    fn case_row(&self, case: &CaseSummary, today: NaiveDate) -> Value {
        let received = case.received_at.date_naive();
        let level = self
            .products
            .get(&case.product)
            .map_or(0, |p| p.service_level_days);
        let left = self.calendar.left(received, level, today);
        let due = match left {
            n if n < 0 => json!({"text": format!("Overdue by {}", -n), "overdue": true}),
            0 => json!({"text": "Due today", "overdue": true}),
            1 => json!({"text": "1 day", "overdue": false}),
            n => json!({"text": format!("{n} days"), "overdue": false}),
        };
        json!({
            "reference": case.reference,
            "href": format!("/desk/cases/{}", case.reference),
            "product": self.product_name(&case.product),
            "surname": case.surname,
            "date_of_birth": case.date_of_birth,
            "received": day_of(&case.received_at),
            "age_days": (today - received).num_days().max(0),
            "due": due,
            "tag": status_tag(&case.status, case.stuck),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct QueueQuery {
    product: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

/// `GET /desk`: referred and stuck cases, oldest first.
pub(crate) async fn queue(
    req: HttpRequest,
    query: web::Query<QueueQuery>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &CASEWORKERS).await?;
    let product = query.product.as_deref().unwrap_or_default().trim();
    let status = match query.status.as_deref().unwrap_or_default() {
        s @ ("referred" | "stuck") => s,
        _ => "",
    };
    if !product.is_empty() && state.products.get(product).is_none() {
        return Err(PageError::NotFound);
    }
    let page = page_number(query.page.as_deref());
    let statuses = if status.is_empty() {
        "referred,stuck"
    } else {
        status
    };
    let mut path = format!(
        "/api/register/v1/cases?status={statuses}&sort=oldest&limit={PAGE_SIZE}&offset={}",
        (page - 1) * PAGE_SIZE
    );
    if !product.is_empty() {
        path.push_str(&format!("&product={}", urlencode(product)));
    }
    let found: CasePage = state.read(&req, &staff, path, purpose::QUEUE).await?;
    // Decisions waiting for a second person (four-eyes), oldest first.
    let awaiting: Value = state
        .read(
            &req,
            &staff,
            format!("/api/decide/v1/referrals?status=awaiting-approval&limit={PAGE_SIZE}"),
            purpose::QUEUE,
        )
        .await?;
    let awaiting: Vec<Value> = awaiting["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            json!({
                "reference": r["reference"],
                "product": state.product_name(r["product"].as_str().unwrap_or_default()),
                "outcome": r["decision_outcome"],
                "decided_by": r["decided_by"],
                "own": r["decided_by"].as_str() == Some(staff.sub.as_str()),
                "since": when(r["decided_at"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    let today = state.clock.today();
    let rows: Vec<Value> = found
        .cases
        .iter()
        .map(|c| state.case_row(c, today))
        .collect();
    let statuses = [
        ("", "Referred or stuck"),
        ("referred", "Referred"),
        ("stuck", "Stuck"),
    ]
    .iter()
    .map(|(value, text)| json!({"value": value, "text": text, "selected": *value == status}))
    .collect::<Vec<_>>();
    state.desk_page(
        StatusCode::OK,
        "desk_queue.html",
        &session,
        &staff,
        "/desk",
        json!({
            "rows": rows,
            "awaiting": awaiting,
            "total": found.total,
            "products": state.products_list(product),
            "statuses": statuses,
            "pagination": pagination("/desk", &[("product", product), ("status", status)], page, found.total),
        }),
    )
}

/// The case's parts, each from the service that owns it.
#[derive(Debug, Deserialize)]
struct CaseView {
    case_id: String,
    reference: String,
    product: String,
    status: String,
    received_at: DateTime<Utc>,
    stage: Option<String>,
    outcome: Option<String>,
    stuck_since: Option<String>,
    #[serde(default)]
    steps: Vec<Value>,
    #[serde(default)]
    timeline: Vec<Value>,
    application: Option<Value>,
}

/// `GET /desk/cases/{reference}`.
pub(crate) async fn case(
    req: HttpRequest,
    reference: web::Path<String>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &CASE_READERS).await?;
    render_case(
        &state,
        &req,
        &session,
        &staff,
        &reference,
        &[],
        &Value::Null,
        StatusCode::OK,
    )
    .await
}

/// The case page; `errors` and `decision` are a refused decision form's.
#[allow(clippy::too_many_arguments)]
async fn render_case(
    state: &Web,
    req: &HttpRequest,
    session: &Session,
    staff: &Staff,
    reference: &str,
    errors: &[(&str, &str)],
    decision: &Value,
    status: StatusCode,
) -> PageResult {
    let reference = reference.trim().to_ascii_uppercase();
    if !reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(PageError::NotFound);
    }
    let case: CaseView = state
        .read(
            req,
            staff,
            format!("/api/register/v1/cases/{reference}"),
            purpose::CASE,
        )
        .await?;
    let caseworker = staff.holds(&CASEWORKERS);
    let officer = staff.holds(&OFFICERS);
    // The other services' parts, at once; a part the user's roles may not
    // read is not asked for.
    let part = |path: String, wanted: bool| async move {
        if wanted {
            state.read::<Value>(req, staff, path, purpose::CASE).await
        } else {
            Ok(Value::Null)
        }
    };
    let (identity, investigations, decisions, referrals, documents, notifications, actions) = tokio::join!(
        part(
            format!("/api/identify/v1/identity-checks?case={}", case.case_id),
            true
        ),
        part(
            format!("/api/investigate/v1/investigations?case={reference}"),
            true
        ),
        part(format!("/api/decide/v1/decisions?case={reference}"), true),
        part(
            format!("/api/decide/v1/referrals?case={reference}"),
            caseworker
        ),
        part(format!("/api/fulfil/v1/documents?case={reference}"), true),
        part(
            format!("/api/communicate/v1/notifications?case={reference}"),
            true
        ),
        part(format!("/api/enforce/v1/actions?case={reference}"), officer),
    );
    let (identity, investigations, decisions, referrals, documents, notifications, actions) = (
        identity?,
        investigations?,
        decisions?,
        referrals?,
        documents?,
        notifications?,
        actions?,
    );
    let with_status = |status: &str| {
        referrals["items"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["status"] == status))
            .cloned()
    };
    let open_referral = with_status("open");
    // A caseworker's decision waiting for a second person (four-eyes).
    let awaiting = with_status("awaiting-approval");
    let own_decision = awaiting
        .as_ref()
        .is_some_and(|r| r["decided_by"].as_str() == Some(staff.sub.as_str()));
    let today = state.clock.today();
    let received = case.received_at.date_naive();
    let level = state
        .products
        .get(&case.product)
        .map_or(0, |p| p.service_level_days);
    let stuck_steps: Vec<Value> = if case.stuck_since.is_some() && caseworker {
        case.steps
            .iter()
            .filter(|s| s["status"] == "stuck")
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let timeline: Vec<Value> = case
        .timeline
        .iter()
        .map(|e| json!({"at": when(e["at"].as_str().unwrap_or_default()), "summary": e["summary"], "kind": e["kind"]}))
        .collect();
    state.desk_page(
        status,
        "desk_case.html",
        session,
        staff,
        "",
        json!({
            "case": {
                "reference": case.reference,
                "product": state.product_name(&case.product),
                "tag": status_tag(&case.status, case.stuck_since.is_some()),
                "stage": case.stage,
                "outcome": case.outcome,
                "received": day_of(&case.received_at),
                "working_days_left": state.calendar.left(received, level, today),
                "service_level_days": level,
                "stuck_since": case.stuck_since.as_deref().map(when),
            },
            "answers": state.answers(&case.product, case.application.as_ref()),
            "timeline": timeline,
            "steps": case.steps,
            "stuck_steps": stuck_steps,
            "identity": identity,
            "findings": investigations
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|i| i["findings"].as_array().cloned().unwrap_or_default())
                .collect::<Vec<_>>(),
            "investigations": investigations,
            "decisions": decisions,
            "referral": open_referral,
            "awaiting": awaiting,
            "own_decision": own_decision,
            "can_approve": staff.holds(&SENIORS),
            "approve_error": error_of(errors, "approve"),
            "documents": documents,
            "notifications": notifications,
            "actions": actions["items"],
            "officer": officer,
            "can_decide": caseworker,
            "decision": decision,
            "outcome_error": error_of(errors, "outcome"),
            "reason_error": error_of(errors, "reason"),
            "errors": error_summary(errors),
        }),
    )
}

impl Web {
    /// The application's answers as summary list rows, labelled and
    /// ordered by the product's form where it asks them; the rest after.
    fn answers(&self, product: &str, application: Option<&Value>) -> Vec<Value> {
        let mut leaves = Vec::new();
        if let Some(application) = application {
            flatten("", application, &mut leaves);
        }
        let form = self.forms.get(product);
        let asked: Vec<&str> = form
            .map(|f| {
                f.pages
                    .iter()
                    .flat_map(|p| &p.questions)
                    .map(|q| q.pointer.as_str())
                    .collect()
            })
            .unwrap_or_default();
        leaves.sort_by_key(|(pointer, _)| {
            asked
                .iter()
                .position(|a| a == pointer)
                .unwrap_or(asked.len())
        });
        leaves
            .into_iter()
            .map(|(pointer, value)| {
                let label = form
                    .and_then(|f| f.question(&pointer))
                    .map_or_else(|| humanise(&pointer), |q| q.label.clone());
                json!({"key": {"text": label}, "value": {"text": value}})
            })
            .collect()
    }
}

/// Every scalar of `value` with its JSON pointer, in document order.
fn flatten(pointer: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                flatten(&format!("{pointer}/{key}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{pointer}/{i}"), v, out);
            }
        }
        Value::Null => {}
        Value::String(s) => out.push((pointer.to_owned(), s.clone())),
        other => out.push((pointer.to_owned(), other.to_string())),
    }
}

/// `/applicant/date_of_birth` → `Applicant date of birth`.
fn humanise(pointer: &str) -> String {
    let words = pointer.trim_start_matches('/').replace(['/', '_'], " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `POST /desk/cases/{reference}/decision`: grant or refuse a referral.
pub(crate) async fn decide(
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &CASEWORKERS).await?;
    let referral = field(&body, "referral").unwrap_or_default();
    let outcome = field(&body, "outcome").unwrap_or_default();
    let reason = field(&body, "reason").unwrap_or_default().trim();
    let mut errors = Vec::new();
    if !matches!(outcome, "grant" | "refuse") {
        errors.push((
            "outcome",
            "Select whether to grant or refuse the application",
        ));
    }
    if reason.is_empty() {
        errors.push(("reason", "Enter the reason for the decision"));
    } else if reason.chars().count() > 2000 {
        errors.push(("reason", "The reason must be 2000 characters or fewer"));
    }
    let here = format!("/desk/cases/{reference}");
    if errors.is_empty() {
        let path = format!("/api/decide/v1/referrals/{}/decision", urlencode(referral));
        let (status, answer) = state
            .act(
                &req,
                &staff,
                &path,
                &json!({"outcome": outcome, "reason": reason}),
            )
            .await?;
        let heading = match status.as_u16() {
            202 => {
                tracing::info!(user = %staff.sub, %reference, outcome, "decision from the desk awaits approval");
                state.flash(&mut session, "Decision recorded. A senior caseworker must approve it before the applicant is told.".to_owned(), true).await?;
                return Ok(see_other(&here, None, state.sessions.secure));
            }
            200 => {
                tracing::info!(user = %staff.sub, %reference, outcome, "referral decided from the desk");
                let verb = if outcome == "grant" {
                    "granted"
                } else {
                    "refused"
                };
                state.flash(&mut session, format!("Application {verb}. The case will close when the applicant has been told."), true).await?;
                return Ok(see_other(&here, None, state.sessions.secure));
            }
            409 => "This referral has already been decided or awaits approval".to_owned(),
            404 => "This referral no longer exists".to_owned(),
            _ => format!(
                "The decision was not accepted: {}",
                answer["detail"].as_str().unwrap_or("try again")
            ),
        };
        state.flash(&mut session, heading, false).await?;
        return Ok(see_other(&here, None, state.sessions.secure));
    }
    tracing::info!(user = %staff.sub, %reference, errors = errors.len(), "decision form refused");
    render_case(
        &state,
        &req,
        &session,
        &staff,
        &reference,
        &errors,
        &json!({"outcome": outcome, "reason": reason}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// `POST /desk/cases/{reference}/approval`: a senior caseworker approves a
/// decision awaiting a second person, or returns it with a reason.
pub(crate) async fn approve(
    req: HttpRequest,
    reference: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &SENIORS).await?;
    let referral = field(&body, "referral").unwrap_or_default();
    let choice = field(&body, "approve").unwrap_or_default();
    let reason = field(&body, "reason").unwrap_or_default().trim();
    let mut errors = Vec::new();
    if !matches!(choice, "yes" | "no") {
        errors.push(("approve", "Select whether you approve the decision"));
    }
    if choice == "no" && reason.is_empty() {
        errors.push(("reason", "Enter what the caseworker should reconsider"));
    } else if reason.chars().count() > 2000 {
        errors.push(("reason", "The reason must be 2000 characters or fewer"));
    }
    let here = format!("/desk/cases/{reference}");
    if !errors.is_empty() {
        tracing::info!(user = %staff.sub, %reference, errors = errors.len(), "approval form refused");
        return render_case(
            &state,
            &req,
            &session,
            &staff,
            &reference,
            &errors,
            &json!({"approve": choice, "reason": reason}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let path = format!("/api/decide/v1/referrals/{}/approval", urlencode(referral));
    let approve = choice == "yes";
    let mut body = json!({ "approve": approve });
    if !reason.is_empty() {
        body["reason"] = reason.into();
    }
    // The API refuses (403) the one who proposed it: that is a message here,
    // not the page for a role the user lacks.
    let url = state.api.url(&req, &path);
    let response = state
        .api
        .client
        .post(&url)
        .bearer_auth(&staff.token)
        .json(&body)
        .send()
        .await
        .map_err(|e| WebError::Api(format!("POST {path}: {e}")))?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    let (heading, done) = match status {
        200 if approve => (
            "Decision approved. The applicant will be told.".to_owned(),
            true,
        ),
        200 => ("Decision returned to the queue.".to_owned(), true),
        403 => (
            "You cannot approve this decision: another senior caseworker must".to_owned(),
            false,
        ),
        409 => ("No decision awaits approval on this case".to_owned(), false),
        401 => return Err(refusal(&req, reqwest::StatusCode::UNAUTHORIZED, &path)),
        _ => (
            format!(
                "The approval was not accepted: {}",
                answer["detail"].as_str().unwrap_or("try again")
            ),
            false,
        ),
    };
    tracing::info!(user = %staff.sub, %reference, approve, status, "approval from the desk");
    state.flash(&mut session, heading, done).await?;
    Ok(see_other(&here, None, state.sessions.secure))
}

/// `POST /desk/cases/{reference}/checks/{check}/retry`: ask again for a stuck check.
pub(crate) async fn retry(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let (reference, check) = path.into_inner();
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &CASEWORKERS).await?;
    let api = format!(
        "/api/register/v1/cases/{}/checks/{}/retry",
        urlencode(&reference),
        urlencode(&check)
    );
    let (status, answer) = state.act(&req, &staff, &api, &Value::Null).await?;
    let (heading, success) = match status.as_u16() {
        202 => {
            tracing::info!(user = %staff.sub, %reference, %check, "check requested again from the desk");
            (format!("The {check} check has been requested again"), true)
        }
        _ => (
            format!(
                "The {check} check was not requested again: {}",
                answer["detail"].as_str().unwrap_or("it is not stuck")
            ),
            false,
        ),
    };
    state.flash(&mut session, heading, success).await?;
    Ok(see_other(
        &format!("/desk/cases/{reference}"),
        None,
        state.sessions.secure,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    reference: Option<String>,
    surname: Option<String>,
    #[serde(rename = "date_of_birth-day")]
    day: Option<String>,
    #[serde(rename = "date_of_birth-month")]
    month: Option<String>,
    #[serde(rename = "date_of_birth-year")]
    year: Option<String>,
    status: Option<String>,
    product: Option<String>,
    page: Option<String>,
}

/// `GET /desk/search`: by reference, surname, date of birth, status, product.
pub(crate) async fn search(
    req: HttpRequest,
    query: web::Query<SearchQuery>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &CASEWORKERS).await?;
    let text = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
    let (reference, surname, status, product) = (
        text(&query.reference).to_ascii_uppercase(),
        text(&query.surname),
        text(&query.status),
        text(&query.product),
    );
    let (day, month, year) = (text(&query.day), text(&query.month), text(&query.year));
    let mut errors: Vec<(&str, String)> = Vec::new();
    let date_of_birth = if [&day, &month, &year].iter().all(|p| p.is_empty()) {
        String::new()
    } else {
        match (
            day.parse::<u32>(),
            month.parse::<u32>(),
            year.parse::<i32>(),
        ) {
            (Ok(d), Ok(m), Ok(y)) if year.len() == 4 => NaiveDate::from_ymd_opt(y, m, d)
                .map(|date| date.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        }
    };
    if date_of_birth.is_empty() && !(day.is_empty() && month.is_empty() && year.is_empty()) {
        errors.push((
            "date_of_birth-day",
            "Date of birth must be a real date".into(),
        ));
    }
    // Register finds nothing for a reference whose check character fails;
    // the page says it is mistyped instead.
    if !reference.is_empty() && casework_contracts::CaseReference::parse(&reference).is_none() {
        errors.push((
            "reference",
            "Enter a reference in the correct format, like VV-7KQ4-M2XD-P".into(),
        ));
    }
    let asked = [&reference, &surname, &date_of_birth, &status, &product]
        .iter()
        .any(|v| !v.is_empty());
    let page = page_number(query.page.as_deref());
    let mut results = Value::Null;
    let mut total = 0;
    if asked && errors.is_empty() {
        let mut path = format!(
            "/api/register/v1/cases?limit={PAGE_SIZE}&offset={}",
            (page - 1) * PAGE_SIZE
        );
        for (key, value) in [
            ("reference", &reference),
            ("surname", &surname),
            ("date_of_birth", &date_of_birth),
            ("status", &status),
            ("product", &product),
        ] {
            if !value.is_empty() {
                path.push_str(&format!("&{key}={}", urlencode(value)));
            }
        }
        let url = state.api.url(&req, &path);
        let response = state
            .api
            .client
            .get(&url)
            .bearer_auth(&staff.token)
            .header("Purpose", purpose::SEARCH)
            .send()
            .await
            .map_err(|e| WebError::Api(format!("GET {path}: {e}")))?;
        match response.status().as_u16() {
            200 => {
                let found: CasePage = response
                    .json()
                    .await
                    .map_err(|e| WebError::Api(format!("GET {path}: {e}")))?;
                let today = state.clock.today();
                total = found.total;
                results = found
                    .cases
                    .iter()
                    .map(|c| state.case_row(c, today))
                    .collect();
            }
            422 => {
                // Register names the field it refused.
                let problem: Value = response.json().await.unwrap_or_default();
                for e in problem["errors"].as_array().into_iter().flatten() {
                    match e["pointer"].as_str() {
                        Some("/date_of_birth") => errors.push((
                            "date_of_birth-day",
                            "Date of birth must be a real date".into(),
                        )),
                        _ => errors.push(("status", "Select a status from the list".into())),
                    }
                }
            }
            s => {
                return Err(refusal(
                    &req,
                    reqwest::StatusCode::from_u16(s).unwrap_or(reqwest::StatusCode::BAD_GATEWAY),
                    &path,
                ));
            }
        }
    }
    let statuses = [
        ("", "Any status"),
        ("received", "Received"),
        ("in-progress", "In progress"),
        ("referred", "Referred"),
        ("stuck", "Stuck"),
        ("decided", "Decided"),
        ("closed", "Closed"),
    ]
    .iter()
    .map(|(value, text)| json!({"value": value, "text": text, "selected": *value == status}))
    .collect::<Vec<_>>();
    let dob = json!({"day": day, "month": month, "year": year});
    state.desk_page(
        form_status(&errors),
        "desk_search.html",
        &session,
        &staff,
        "/desk/search",
        json!({
            "asked": asked && errors.is_empty(),
            "results": results,
            "total": total,
            "reference": reference,
            "surname": surname,
            "date_of_birth_items": crate::pages::date_items(Some(&dob), None),
            "statuses": statuses,
            "products": state.products_list(&product),
            "reference_error": error_of(&errors, "reference"),
            "date_of_birth_error": error_of(&errors, "date_of_birth-day"),
            "status_error": error_of(&errors, "status"),
            "errors": error_summary(&errors),
            "pagination": pagination("/desk/search", &[
                ("reference", &reference), ("surname", &surname), ("date_of_birth-day", &day),
                ("date_of_birth-month", &month), ("date_of_birth-year", &year),
                ("status", &status), ("product", &product),
            ], page, total),
        }),
    )
}

#[derive(Debug, Deserialize)]
pub(crate) struct AlertsQuery {
    page: Option<String>,
}

/// `GET /desk/alerts`: open alerts to acknowledge, and open enforcement actions.
pub(crate) async fn alerts(
    req: HttpRequest,
    query: web::Query<AlertsQuery>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &OFFICERS).await?;
    let page = page_number(query.page.as_deref());
    let offset = (page - 1) * PAGE_SIZE;
    let (alerts, actions) = tokio::join!(
        state.read::<Value>(
            &req,
            &staff,
            format!("/api/enforce/v1/alerts?status=open&limit={PAGE_SIZE}&offset={offset}"),
            purpose::ALERTS
        ),
        state.read::<Value>(
            &req,
            &staff,
            format!("/api/enforce/v1/actions?status=open&limit={PAGE_SIZE}"),
            purpose::ALERTS
        ),
    );
    let (alerts, actions) = (alerts?, actions?);
    let total = alerts["total"].as_u64().unwrap_or(0);
    let alert_rows: Vec<Value> = alerts["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            json!({
                "id": a["id"], "reference": a["reference"], "summary": a["summary"],
                "raised": when(a["created_at"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    let action_rows: Vec<Value> = actions["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            json!({
                "reference": a["reference"], "action": a["action"],
                "product": state.product_name(a["product"].as_str().unwrap_or_default()),
                "raised": when(a["created_at"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    state.desk_page(
        StatusCode::OK,
        "desk_alerts.html",
        &session,
        &staff,
        "/desk/alerts",
        json!({
            "alerts": alert_rows,
            "total": total,
            "actions": action_rows,
            "can_acknowledge": staff.holds(&["officer"]),
            "pagination": pagination("/desk/alerts", &[], page, total),
        }),
    )
}

/// `POST /desk/alerts/{id}/acknowledge`.
pub(crate) async fn acknowledge(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &["officer"]).await?;
    let path = format!("/api/enforce/v1/alerts/{}/acknowledge", urlencode(&id));
    let (status, answer) = state.act(&req, &staff, &path, &Value::Null).await?;
    let reference = answer["reference"].as_str().unwrap_or_default().to_owned();
    let (heading, success) = match status.as_u16() {
        200 => {
            tracing::info!(user = %staff.sub, alert = %id, "alert acknowledged from the desk");
            (format!("Alert for {reference} acknowledged"), true)
        }
        409 => ("This alert had already been acknowledged".to_owned(), false),
        _ => ("This alert could not be acknowledged".to_owned(), false),
    };
    state.flash(&mut session, heading, success).await?;
    Ok(see_other("/desk/alerts", None, state.sessions.secure))
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuditQuery {
    subject: Option<String>,
    who: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /desk/audit`: who read a case or person, or what a user read in a
/// period, from every service's audit trail, oldest first.
pub(crate) async fn audit(
    req: HttpRequest,
    query: web::Query<AuditQuery>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &AUDITORS).await?;
    let text = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
    let (subject, who, from, to) = (
        text(&query.subject),
        text(&query.who),
        text(&query.from),
        text(&query.to),
    );
    let mut errors: Vec<(&str, String)> = Vec::new();
    let day = |field: &'static str, value: &str, errors: &mut Vec<(&str, String)>| {
        if value.is_empty() {
            return None;
        }
        let parsed = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok();
        if parsed.is_none() {
            errors.push((field, "Enter a date like 2026-12-07".to_owned()));
        }
        parsed
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    };
    let since = day("from", &from, &mut errors);
    let until = day("to", &to, &mut errors).map(|t| t + chrono::Duration::days(1));
    let asked = !(subject.is_empty() && who.is_empty());
    let dated = !(from.is_empty() && to.is_empty());
    if dated && !asked {
        errors.push((
            "subject",
            "Enter a case, person or document, or a user".to_owned(),
        ));
    }
    let mut rows: Vec<Value> = Vec::new();
    if asked && errors.is_empty() {
        let mut query = Vec::new();
        for (key, value) in [("subject", &subject), ("who", &who)] {
            if !value.is_empty() {
                query.push(format!("{key}={}", urlencode(value)));
            }
        }
        for (key, value) in [("from", since), ("to", until)] {
            if let Some(at) = value {
                query.push(format!("{key}={}", urlencode(&at.to_rfc3339())));
            }
        }
        let query = query.join("&");
        let services = casework_contracts::Service::ALL;
        let answers = futures::future::join_all(services.iter().map(|service| {
            state.read::<Vec<Value>>(
                &req,
                &staff,
                format!("/api/{}/v1/audit-records?{query}", service.as_str()),
                purpose::AUDIT,
            )
        }))
        .await;
        for (service, answer) in services.iter().zip(answers) {
            for record in answer? {
                rows.push(json!({
                    "service": service.as_str(),
                    "at": record["at"],
                    "when": when(record["at"].as_str().unwrap_or_default()),
                    "who": record["who"],
                    "roles": record["roles"],
                    "action": record["action"],
                    "what": record["what"].as_array().into_iter().flatten()
                        .map(|s| format!("{} {}", s["kind"].as_str().unwrap_or_default(), s["id"].as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", "),
                    "purpose": record["purpose"],
                    "refused": record["outcome"] == "refused",
                }));
            }
        }
        rows.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
    }
    state.desk_page(
        form_status(&errors),
        "desk_audit.html",
        &session,
        &staff,
        "/desk/audit",
        json!({
            "asked": asked && errors.is_empty(),
            "rows": rows,
            "subject": subject,
            "who": who,
            "from": from,
            "to": to,
            "subject_error": error_of(&errors, "subject"),
            "from_error": error_of(&errors, "from"),
            "to_error": error_of(&errors, "to"),
            "errors": error_summary(&errors),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_flatten_to_labelled_leaves() {
        let mut leaves = Vec::new();
        flatten(
            "",
            &json!({"applicant": {"surname": "Dubois", "born": "1988-04-12"}, "visits": [{"to": "GB"}], "none": null}),
            &mut leaves,
        );
        assert_eq!(
            leaves,
            vec![
                ("/applicant/born".to_owned(), "1988-04-12".to_owned()),
                ("/applicant/surname".to_owned(), "Dubois".to_owned()),
                ("/visits/0/to".to_owned(), "GB".to_owned()),
            ]
        );
        assert_eq!(
            humanise("/applicant/date_of_birth"),
            "Applicant date of birth"
        );
    }

    #[test]
    fn pages_link_to_their_neighbours_keeping_the_filters() {
        let links = pagination("/desk", &[("product", "visit-visa"), ("status", "")], 2, 60);
        assert_eq!(links["pages"], 3);
        assert_eq!(links["previous"], "/desk?product=visit-visa&page=1");
        assert_eq!(links["next"], "/desk?product=visit-visa&page=3");
        assert_eq!(pagination("/desk", &[], 1, 0)["next"], Value::Null);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("x")), 1);
        assert_eq!(urlencode("a b&c"), "a+b%26c");
    }
}
