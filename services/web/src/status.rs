//! Check an application's status: reference and date of birth in, the
//! status and what happens next out, nothing else. A wrong pair gets the
//! same answer as an unknown reference; a client address may try
//! `web.status_checks_per_minute` times a minute.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use casework_contracts::views::{ApplicationStatus, StatusQuery};
use chrono::DateTime;
use serde_json::{Value, json};

use crate::pages::{HOME, PageResult, error_of, error_summary, field};
use crate::session::Session;
use crate::{Web, WebError};

const NOT_FOUND: &str = "We could not find an application with that reference number and date of birth. Check them and try again.";

pub(crate) fn render_form(
    state: &Web,
    session: &Session,
    errors: &[(&str, &str)],
    reference: &str,
    date_of_birth: &Value,
    status: StatusCode,
) -> PageResult {
    state.page(
        status,
        "status.html",
        HOME,
        Some(session),
        json!({
            "errors": error_summary(errors),
            "reference": reference,
            "reference_error": error_of(errors, "reference"),
            "date_of_birth_items": crate::pages::date_items(Some(date_of_birth), Some("bday")),
            "date_of_birth_error": error_of(errors, "date_of_birth-day"),
        }),
    )
}

/// `POST /status`.
pub(crate) async fn check(
    req: HttpRequest,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let session = state.posted_session(&req, &body).await?;
    let reference = field(&body, "reference")
        .unwrap_or_default()
        .trim()
        .to_uppercase();
    let parts = ["day", "month", "year"].map(|p| {
        field(&body, &format!("date_of_birth-{p}"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    });
    let typed = json!({"day": parts[0], "month": parts[1], "year": parts[2]});
    let born = crate::forms::date_of(&typed);
    let mut errors = Vec::new();
    if reference.is_empty() {
        errors.push(("reference", "Enter your reference number"));
    }
    if parts.iter().all(String::is_empty) {
        errors.push(("date_of_birth-day", "Enter your date of birth"));
    } else if born.is_none() {
        errors.push((
            "date_of_birth-day",
            "Date of birth must be a real date, for example 27 3 1990",
        ));
    }
    if !errors.is_empty() {
        return render_form(
            &state,
            &session,
            &errors,
            &reference,
            &typed,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    // No address (not over TCP) counts as one client.
    let client = casework_runtime::http::client_address(&req)
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
    if !state
        .sessions
        .allow_status_check(client, state.status_checks_per_minute)
        .await?
    {
        // The address is personal data: the log says only that it happened.
        tracing::warn!("status checks limited for a client address");
        return too_many(&state, &session, "Wait a minute, then try again.");
    }
    let query = StatusQuery {
        reference: reference.clone(),
        date_of_birth: born.map(|d| d.to_string()).unwrap_or_default(),
    };
    let url = state.api.url(&req, "/api/register/v1/status");
    let response = state
        .api
        .client
        .post(&url)
        .header("Purpose", "applicant-status-check")
        // Register limits public requests per address: the applicant's, not ours.
        .header("X-Forwarded-For", crate::pages::forwarded_for(&req))
        .json(&query)
        .send()
        .await
        .map_err(|e| WebError::Api(format!("POST {url}: {e}")))?;
    match response.status() {
        reqwest::StatusCode::OK => {
            let found: ApplicationStatus = response
                .json()
                .await
                .map_err(|e| WebError::Api(format!("POST {url}: the status: {e}")))?;
            render_status(&state, &session, &found)
        }
        // Register limits failed checks per reference, whoever makes them.
        reqwest::StatusCode::TOO_MANY_REQUESTS => too_many(
            &state,
            &session,
            "This reference number has been checked with a wrong date of birth too many times. Try again tomorrow.",
        ),
        reqwest::StatusCode::NOT_FOUND => {
            tracing::info!("status check matched nothing");
            render_form(
                &state,
                &session,
                &[("reference", NOT_FOUND)],
                &reference,
                &typed,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        other => Err(WebError::Api(format!("POST {url}: {other}")).into()),
    }
}

fn too_many(state: &Web, session: &Session, paragraph: &str) -> PageResult {
    state.page(
        StatusCode::TOO_MANY_REQUESTS,
        "message.html",
        HOME,
        Some(session),
        json!({
            "heading": "You have tried too many times",
            "paragraphs": [paragraph],
            "link": {"href": "/status", "text": "Check the status of your application"},
        }),
    )
}

/// What the applicant is told about each state.
fn state_of(found: &ApplicationStatus) -> Value {
    let days = found.service_level_days;
    let (tag, classes, next) = match (found.status.as_str(), found.outcome.as_deref()) {
        (_, Some("granted")) => (
            "Approved",
            "govuk-tag--green",
            "We have approved your application and emailed you. If a document is being issued, we will email you again when it is.".to_owned(),
        ),
        (_, Some("refused")) => (
            "Refused",
            "govuk-tag--red",
            "We have refused your application and emailed you the reasons.".to_owned(),
        ),
        ("referred", _) => (
            "Being reviewed",
            "govuk-tag--yellow",
            format!("A caseworker is reviewing your application. We aim to decide within {days} working days of receiving it; we will email you when we have."),
        ),
        _ => (
            "Being checked",
            "govuk-tag--blue",
            format!("We are checking your application. We aim to decide within {days} working days of receiving it; we will email you when we have."),
        ),
    };
    json!({"tag": tag, "classes": classes, "next": next})
}

fn render_status(state: &Web, session: &Session, found: &ApplicationStatus) -> PageResult {
    let received = DateTime::parse_from_rfc3339(&found.received_at)
        .map(|t| t.format("%-d %B %Y").to_string())
        .unwrap_or_else(|_| found.received_at.clone());
    state.page(
        StatusCode::OK,
        "status.html",
        HOME,
        Some(session),
        json!({"found": found, "received": received, "state": state_of(found)}),
    )
}
