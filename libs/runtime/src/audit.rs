//! Every read of personal data through a service's API goes on its audit
//! trail (`casework_audit`) before the data is returned: who (the token's
//! subject, roles and scopes), what (record kinds and ids), why (the
//! request's `Purpose` header), and whether it was allowed. Refused
//! requests (401, 403) are recorded by the access guard. Each service's
//! trail is in its own database; auditors read it at
//! `GET /api/<service>/v1/audit-records`.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use casework_audit::{Action, Entry, Outcome, Query};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::Claims;
use crate::http::HttpState;
use crate::problem::Problem;

pub use casework_audit::{AuditLog, Record, Subject};

/// The subject of the verified token of a request (empty on a public route).
pub fn caller(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Claims>()
        .map(|claims| claims.sub.clone())
        .unwrap_or_default()
}

/// Why the caller says they read it: the request's `Purpose` header (the
/// web front end sends the page's purpose, e.g. `case-review`); empty if none.
pub fn purpose(req: &HttpRequest) -> String {
    purpose_of(req.headers())
}

pub(crate) fn purpose_of(headers: &actix_web::http::header::HeaderMap) -> String {
    headers
        .get("Purpose")
        .and_then(|v| v.to_str().ok())
        .map(|p| p.chars().take(200).collect())
        .unwrap_or_default()
}

/// A search must say why (`Purpose`): a search reaches people the searcher
/// did not name, so the trail keeps the reason. 400 without one.
pub fn purpose_required(req: &HttpRequest) -> Result<String, Problem> {
    let purpose = purpose(req);
    if purpose.trim().is_empty() {
        return Err(Problem::bad_request(
            "send a `Purpose` header saying why you search (e.g. `Purpose: case-review`); it goes on the audit trail",
        ));
    }
    Ok(purpose)
}

/// A token's grants as the trail keeps them: `role:…` and `scope:…`.
pub(crate) fn grants(claims: &Claims) -> Vec<String> {
    claims
        .roles
        .iter()
        .map(|r| format!("role:{r}"))
        .chain(claims.scopes.iter().map(|s| format!("scope:{s}")))
        .collect()
}

/// Puts a read of `what` by the caller of `req` on its service's trail, and
/// returns once it is durable; 503 if it cannot be recorded (the data is
/// then not given).
pub async fn read(req: &HttpRequest, what: Vec<Subject>) -> Result<(), Problem> {
    append(req, Action::Read, what).await
}

/// [`read`] of records of one `kind`, by their ids (a page of cases).
pub async fn read_each<I, S>(req: &HttpRequest, kind: &str, ids: I) -> Result<(), Problem>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    read(
        req,
        ids.into_iter().map(|id| Subject::new(kind, id)).collect(),
    )
    .await
}

/// [`read`] of a case, by its reference or id, and of records of one `kind`
/// that belong to it (its documents, notifications, persons), by their ids.
pub async fn read_case_and<I, S>(
    req: &HttpRequest,
    case: impl Into<String>,
    kind: &str,
    ids: I,
) -> Result<(), Problem>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut what = vec![Subject::new("case", case)];
    what.extend(ids.into_iter().map(|id| Subject::new(kind, id)));
    read(req, what).await
}

/// [`search`] that found records of one `kind`, by their ids.
pub async fn search_found<I, S>(req: &HttpRequest, kind: &str, ids: I) -> Result<(), Problem>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    search(
        req,
        ids.into_iter().map(|id| Subject::new(kind, id)).collect(),
    )
    .await
}

/// The same for a search: `found` is what the search returned.
pub async fn search(req: &HttpRequest, found: Vec<Subject>) -> Result<(), Problem> {
    append(req, Action::Search, found).await
}

async fn append(req: &HttpRequest, action: Action, what: Vec<Subject>) -> Result<(), Problem> {
    let Some(log) = log_of(req) else {
        // A route outside a service's scope (tests of a lone handler).
        tracing::warn!(path = %req.path(), "no audit trail for this route; read not recorded");
        return Ok(());
    };
    let claims = req.extensions().get::<Claims>().cloned();
    let entry = disclosed(
        Entry {
            who: claims.as_ref().map(|c| c.sub.clone()).unwrap_or_default(),
            roles: claims.as_ref().map(grants).unwrap_or_default(),
            action,
            what,
            purpose: purpose(req),
            recipient: String::new(),
            outcome: Outcome::Allowed,
        },
        claims.as_ref(),
    );
    log.append(entry).await.map(|_| ()).map_err(|err| {
        tracing::error!(error = %err, "audit record not written; the data is not given");
        Problem::unavailable("the audit trail cannot be written; try again")
    })
}

/// Data given to a department's OAuth client has left the platform: a read
/// by a client is a disclosure to it (`recipient` its client id); its
/// searches stay searches, with the recipient named.
fn disclosed(mut entry: Entry, claims: Option<&Claims>) -> Entry {
    if let Some(client) = claims.and_then(|c| c.client_id.as_ref()) {
        if entry.action == Action::Read {
            entry.action = Action::Disclose;
        }
        entry.recipient = client.clone();
    }
    entry
}

/// The trail of the service `req` is for.
fn log_of(req: &HttpRequest) -> Option<AuditLog> {
    let state = req.app_data::<web::Data<HttpState>>()?;
    let service = req.path().strip_prefix("/api/")?.split('/').next()?;
    state.audit.get(service).cloned()
}

/// Query of `GET /api/<service>/v1/audit-records`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Records naming this id: a case reference or id, a person id, a
    /// document number.
    pub subject: Option<String>,
    /// Records of this user or client (token subject).
    pub who: Option<String>,
    /// From this time (RFC 3339), inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// At most this many (default 200, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// Who read what: this service's audit records naming a subject, or of one
/// user, or (neither given) every record, in a period, oldest first.
/// Reading the trail is itself recorded.
#[utoipa::path(
    get,
    path = "/v1/audit-records",
    tag = "audit",
    security(("bearer" = ["role:auditor"])),
    params(AuditQuery, ("Purpose" = String, Header, description = "Why you search (required): it goes on the audit trail")),
    responses(
        (status = 200, description = "The records, oldest first", body = Vec<Object>),
        (status = 400, body = Problem, description = "No `Purpose` header"),
        (status = 422, body = Problem, description = "`limit` out of range"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
    )
)]
pub(crate) async fn audit_records(
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    purpose_required(&req)?;
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::invalid(vec![casework_contracts::FieldError::new(
            "/limit",
            "between 1 and 1000",
        )]));
    }
    let subject = query.subject.filter(|s| !s.trim().is_empty());
    let who = query.who.filter(|s| !s.trim().is_empty());
    let log = log_of(&req).ok_or_else(|| Problem::not_found("this service has no audit trail"))?;
    let what = subject
        .iter()
        .map(|s| Subject::new("audit-subject", s.clone()))
        .chain(who.iter().map(|w| Subject::new("audit-user", w.clone())))
        .collect();
    append(&req, Action::Search, what).await?;
    let records = log
        .find(&Query {
            subject,
            who,
            from: query.from,
            to: query.to,
            limit,
        })
        .await
        .map_err(Problem::from)?;
    Ok(HttpResponse::Ok().json(records))
}

/// Records a refused request (401, 403) on its service's trail: who, if
/// their token was good, and the route they asked for.
pub(crate) async fn refused(state: &HttpState, req: &actix_web::dev::ServiceRequest) {
    let Some(service) = req
        .path()
        .strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
    else {
        return;
    };
    let Some(log) = state.audit.get(service) else {
        return;
    };
    let claims = req.extensions().get::<Claims>().cloned();
    let entry = Entry {
        who: claims.as_ref().map(|c| c.sub.clone()).unwrap_or_default(),
        roles: claims.as_ref().map(grants).unwrap_or_default(),
        action: Action::Read,
        what: vec![Subject::new(
            "route",
            format!("{} {}", req.method(), req.path()),
        )],
        purpose: purpose_of(req.headers()),
        recipient: String::new(),
        outcome: Outcome::Refused,
    };
    if let Err(err) = log.append(entry).await {
        tracing::error!(error = %err, "refusal not recorded on the audit trail");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(action: Action) -> Entry {
        Entry {
            who: "dwp".into(),
            roles: vec!["scope:identity-check".into()],
            action,
            what: vec![Subject::new("person", "p-1")],
            purpose: "benefit-claim".into(),
            recipient: String::new(),
            outcome: Outcome::Allowed,
        }
    }

    fn claims(client_id: Option<&str>) -> Claims {
        Claims {
            sub: "dwp".into(),
            iss: "casework".into(),
            aud: "casework".into(),
            exp: 0,
            iat: 0,
            roles: vec![],
            scopes: vec!["identity-check".into()],
            client_id: client_id.map(str::to_owned),
        }
    }

    #[test]
    fn a_read_by_a_department_client_is_a_disclosure_to_it() {
        let read = disclosed(entry(Action::Read), Some(&claims(Some("dwp"))));
        assert_eq!(read.action, Action::Disclose);
        assert_eq!(read.recipient, "dwp");
        let search = disclosed(entry(Action::Search), Some(&claims(Some("dwp"))));
        assert_eq!(search.action, Action::Search);
        assert_eq!(search.recipient, "dwp");
        // A person's token (no client_id) reads; nothing leaves.
        let staff = disclosed(entry(Action::Read), Some(&claims(None)));
        assert_eq!(staff.action, Action::Read);
        assert!(staff.recipient.is_empty());
        assert_eq!(disclosed(entry(Action::Read), None).action, Action::Read);
    }
}
