//! RFC 9457 problem details: the one error shape of every HTTP API.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use casework_contracts::FieldError;
use serde::Serialize;

/// The media type of a problem response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem: what went wrong, for which request, and (for validation
/// failures) every failing field as a JSON Pointer into the request body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time, in plain words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level errors of a refused request body.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<FieldError>,
    /// Headers the answer carries besides the body (`Retry-After`, `Allow`);
    /// boxed, so the common problem stays small.
    #[serde(skip)]
    pub headers: Option<Box<Vec<(&'static str, String)>>>,
}

impl Problem {
    /// A problem of a kind (the last segment of its type URI) and status.
    pub fn new(status: StatusCode, kind: &str, title: &str) -> Self {
        Self {
            kind: format!("https://casework.invalid/problems/{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            headers: None,
        }
    }

    /// Adds the detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a header to the answer.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Default::default)
            .push((name, value.into()));
        self
    }

    /// Adds field errors.
    pub fn errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// 400: the body is not JSON or not the expected shape.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
        )
        .detail(detail)
    }

    /// 401: no valid token.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "A valid bearer token is required",
        )
        .detail(detail)
    }

    /// 403: a valid token without the right role or scope.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed").detail(detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(detail)
    }

    /// 409: e.g. an Idempotency-Key reused with a different body.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict").detail(detail)
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "The request body is too large",
        )
        .detail(format!("the limit is {limit} bytes"))
    }

    /// 422: the body is JSON but fails validation; lists every field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request failed validation",
        )
        .detail(format!("{} field(s) failed validation", errors.len()))
        .errors(errors)
    }

    /// 429: over a limit; `Retry-After` says when to try again.
    pub fn too_many_requests(detail: impl Into<String>, wait: std::time::Duration) -> Self {
        // Whole seconds, rounded up: never "try again in 0 s".
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Too many requests",
        )
        .detail(detail)
        .header("retry-after", seconds.to_string())
    }

    /// 405: the resource exists, not with this method; `Allow` lists those it has.
    pub fn method_not_allowed(allowed: &[String]) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        )
        .detail(format!("this resource answers {}", allowed.join(", ")))
        .header("allow", allowed.join(", "))
    }

    /// 503: a dependency is unavailable; the client may retry.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Temporarily unavailable, try again",
        )
        .detail(detail)
    }

    /// 500: logged with its cause; the client sees no internals.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side",
        )
    }
}

/// A database failure as a client should see it: 503 (retry) if transient,
/// else a logged 500 that reveals nothing.
impl From<casework_store::StoreError> for Problem {
    fn from(err: casework_store::StoreError) -> Self {
        if err.is_transient() {
            tracing::warn!(error = %err, "database unavailable");
            Problem::unavailable("the database is busy or unavailable")
        } else {
            tracing::error!(error = %err, "database failure");
            Problem::internal()
        }
    }
}

/// A database failure straight from sea-orm: as [`casework_store::StoreError`].
impl From<sea_orm::DbErr> for Problem {
    fn from(err: sea_orm::DbErr) -> Self {
        Problem::from(casework_store::StoreError::from(err))
    }
}

/// A failure to emit events: 503 if transient (the outbox's database), else
/// a logged 500.
impl From<casework_bus::BusError> for Problem {
    fn from(err: casework_bus::BusError) -> Self {
        match err {
            casework_bus::BusError::Store(err) => Problem::from(err),
            other if other.is_transient() => Problem::unavailable("the outbox is unavailable"),
            other => {
                tracing::error!(error = %other, "cannot emit events");
                Problem::internal()
            }
        }
    }
}

/// A handler's failure met on a request path (a retry, an import): a
/// refusal is the request's fault only when the handler says so, so it is a
/// logged 500 like any other unexpected failure.
impl From<casework_bus::HandlerError> for Problem {
    fn from(err: casework_bus::HandlerError) -> Self {
        match err {
            casework_bus::HandlerError::Store(err) => Problem::from(err),
            casework_bus::HandlerError::Bus(err) => Problem::from(err),
            casework_bus::HandlerError::Refused(reason) => {
                tracing::error!(%reason, "refused on a request path");
                Problem::internal()
            }
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        for (name, value) in self.headers.iter().flat_map(|h| h.iter()) {
            response.insert_header((*name, value.as_str()));
        }
        response.json(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn a_validation_problem_lists_every_field_as_problem_json() {
        let problem = Problem::invalid(vec![
            FieldError {
                pointer: "/applicant/surname".into(),
                message: "is required".into(),
            },
            FieldError {
                pointer: "/travel/arrival".into(),
                message: "not a date".into(),
            },
        ]);
        let response = problem.error_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            response.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let body = response.into_body().try_into_bytes().unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["status"], 422);
        assert_eq!(json["type"], "https://casework.invalid/problems/validation");
        assert_eq!(json["errors"][0]["pointer"], "/applicant/surname");
        assert_eq!(json["errors"][1]["pointer"], "/travel/arrival");
    }

    #[test]
    fn an_internal_problem_reveals_nothing() {
        let body = Problem::internal()
            .error_response()
            .into_body()
            .try_into_bytes()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json.get("detail").is_none());
        assert!(json.get("errors").is_none());
    }
}
