//! The desk's pages about people, from Identify's person index: the queue
//! of possible matches; a possible match, its two records side by side with
//! every field's weight, to link or keep apart; and the person page —
//! every record linked to them, their cases, documents and history — where
//! a caseworker splits a person wrongly joined or merges a duplicate in.
//!
//! As every desk page, each is built from the API with the user's own
//! token (Identify audits each read and records who changed what).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Web;
use crate::desk::{CASE_READERS, CASEWORKERS, PAGE_SIZE, page_number, pagination, urlencode, when};
use crate::pages::{PageError, PageResult, error_of, error_summary, field, form_status, see_other};
use crate::session::{Session, Staff};

/// Why the desk reads people's records, sent as `Purpose` (audit trail).
mod purpose {
    pub(super) const MATCHES: &str = "match-review";
    pub(super) const PERSON: &str = "person-review";
}

/// The longest reason, as Identify takes it.
const MAX_REASON_CHARS: usize = 2000;

#[derive(Debug, Deserialize)]
pub(crate) struct ReviewsQuery {
    page: Option<String>,
}

/// `GET /desk/reviews`: open possible matches, oldest first.
pub(crate) async fn reviews(
    req: HttpRequest,
    query: web::Query<ReviewsQuery>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &CASEWORKERS).await?;
    let page = page_number(query.page.as_deref());
    let found: Value = state
        .read(
            &req,
            &staff,
            format!(
                "/api/identify/v1/reviews?limit={PAGE_SIZE}&offset={}",
                (page - 1) * PAGE_SIZE
            ),
            purpose::MATCHES,
        )
        .await?;
    let total = found["total"].as_u64().unwrap_or(0);
    let rows: Vec<Value> = found["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            json!({
                "href": format!("/desk/reviews/{}", r["id"].as_str().unwrap_or_default()),
                "record": summary(&r["record"]["record"]),
                "candidate": summary(&r["candidate"]["record"]),
                "source": source(&r["record"]),
                "weight": format!("{:.1}", r["weight"].as_f64().unwrap_or_default()),
                "raised": when(r["created_at"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    state.desk_page(
        StatusCode::OK,
        "desk_reviews.html",
        &session,
        &staff,
        "/desk/reviews",
        json!({
            "rows": rows,
            "total": total,
            "pagination": pagination("/desk/reviews", &[], page, total),
        }),
    )
}

/// `GET /desk/reviews/{id}`.
pub(crate) async fn review(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &CASE_READERS).await?;
    render_review(&state, &req, &session, &staff, &id, &[], &Value::Null).await
}

/// The review page; `errors` and `form` are a refused decision's.
async fn render_review(
    state: &Web,
    req: &HttpRequest,
    session: &Session,
    staff: &Staff,
    id: &str,
    errors: &[(&str, String)],
    form: &Value,
) -> PageResult {
    let review: Value = state
        .read(
            req,
            staff,
            format!("/api/identify/v1/reviews/{}", urlencode(id)),
            purpose::MATCHES,
        )
        .await?;
    let (record, candidate) = (&review["record"]["record"], &review["candidate"]["record"]);
    let fields: Vec<Value> = [
        ("Given names", "given_names"),
        ("Surname", "surname"),
        ("Date of birth", "date_of_birth"),
        ("Sex", "sex"),
        ("Nationality", "nationality"),
        ("Address", "address"),
        ("Identifiers", "identifiers"),
    ]
    .iter()
    .filter(|(_, key)| !record[key].is_null() || !candidate[key].is_null())
    .map(|(label, key)| {
        json!({"label": label, "record": shown(&record[key]), "candidate": shown(&candidate[key])})
    })
    .collect();
    state.desk_page(
        form_status(errors),
        "desk_review.html",
        session,
        staff,
        "/desk/reviews",
        json!({
            "review": {
                "id": review["id"],
                "open": review["status"] == "open",
                "fields": fields,
                "record_source": source(&review["record"]),
                "candidate_source": source(&review["candidate"]),
                "record_person": review["record"]["person_id"],
                "candidate_person": review["candidate"]["person_id"],
                "weight": format!("{:.1}", review["weight"].as_f64().unwrap_or_default()),
                "explanation": review["explanation"],
                "decision": match review["decision"].as_str() {
                    Some("link") => "The same person: linked",
                    Some(_) => "Different people: kept apart",
                    None => "",
                },
                "reason": review["reason"],
                "decided_by": review["decided_by"],
                "decided_at": when(review["decided_at"].as_str().unwrap_or_default()),
            },
            "can_settle": staff.holds(&CASEWORKERS),
            "form": form,
            "decision_error": error_of(errors, "decision"),
            "reason_error": error_of(errors, "reason"),
            "errors": error_summary(errors),
        }),
    )
}

/// `POST /desk/reviews/{id}`: link or keep apart, with a reason.
pub(crate) async fn settle(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &CASEWORKERS).await?;
    let decision = field(&body, "decision").unwrap_or_default();
    let reason = field(&body, "reason").unwrap_or_default().trim();
    let mut errors = Vec::new();
    if !matches!(decision, "link" | "keep-apart") {
        errors.push((
            "decision",
            "Select whether this is the same person".to_owned(),
        ));
    }
    reason_errors("reason", reason, &mut errors);
    if errors.is_empty() {
        let path = format!("/api/identify/v1/reviews/{}/decision", urlencode(&id));
        let (status, answer) = state
            .act(
                &req,
                &staff,
                &path,
                &json!({"decision": decision, "reason": reason}),
            )
            .await?;
        let (heading, done) = match status.as_u16() {
            200 if decision == "link" => {
                ("Records linked: they are now one person".to_owned(), true)
            }
            200 => ("Kept apart: they stay two people".to_owned(), true),
            409 => (
                format!("This possible match was not settled: {}", detail(&answer)),
                false,
            ),
            404 => ("This possible match no longer exists".to_owned(), false),
            _ => (
                format!("The decision was not accepted: {}", detail(&answer)),
                false,
            ),
        };
        tracing::info!(user = %staff.sub, review = %id, decision, status = status.as_u16(), "possible-match decision sent from the desk");
        state.flash(&mut session, heading, done).await?;
        return Ok(see_other("/desk/reviews", None, state.sessions.secure));
    }
    tracing::info!(user = %staff.sub, review = %id, errors = errors.len(), "possible-match form refused");
    render_review(
        &state,
        &req,
        &session,
        &staff,
        &id,
        &errors,
        &json!({"decision": decision, "reason": reason}),
    )
    .await
}

/// `GET /desk/persons/{id}`.
pub(crate) async fn person(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<Web>,
) -> PageResult {
    let (session, staff) = state.staff(&req, &CASE_READERS).await?;
    render_person(&state, &req, &session, &staff, &id, &[], &Value::Null).await
}

/// The person page; `errors` and `form` are a refused split's or merge's.
async fn render_person(
    state: &Web,
    req: &HttpRequest,
    session: &Session,
    staff: &Staff,
    id: &str,
    errors: &[(&str, String)],
    form: &Value,
) -> PageResult {
    let person: Value = state
        .read(
            req,
            staff,
            format!("/api/identify/v1/persons/{}", urlencode(id)),
            purpose::PERSON,
        )
        .await?;
    let records: Vec<&Value> = person["records"].as_array().into_iter().flatten().collect();
    let record_rows: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "source": source(r),
                "href": r["case_reference"].as_str().map(|c| format!("/desk/cases/{c}")),
                "summary": summary(&r["record"]),
                "linked": linked(r),
                "when": when(r["created_at"].as_str().unwrap_or_default()),
            })
        })
        .collect();
    let split_items: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "value": r["id"].to_string(),
                "text": format!("{}: {}", source(r), summary(&r["record"])),
            })
        })
        .collect();
    let cases: Vec<Value> = person["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| match c["reference"].as_str() {
            Some(reference) => {
                json!({"text": reference, "href": format!("/desk/cases/{reference}")})
            }
            None => json!({"text": c["case_id"], "href": null}),
        })
        .collect();
    let history: Vec<Value> = person["history"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            let what = match h["kind"].as_str().unwrap_or_default() {
                "linked" => "A record was linked on arrival",
                "merged" => "Merged into this person:",
                "merged-into" => "Merged into",
                "split" => "Records split off to",
                "split-from" => "Split off from",
                "kept-apart" => "Kept apart from",
                other => other,
            };
            json!({
                "when": when(h["at"].as_str().unwrap_or_default()),
                "what": what,
                "other": h["other_person_id"],
                "by": h["by"],
                "reason": h["reason"],
            })
        })
        .collect();
    let values: Vec<&str> = form["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let given = person["given_names"].as_str().unwrap_or_default();
    let surname = person["surname"].as_str().unwrap_or_default();
    state.desk_page(
        form_status(errors),
        "desk_person.html",
        session,
        staff,
        "",
        json!({
            "person": {
                "id": person["id"],
                "name": format!("{given} {surname}").trim().to_owned(),
                "date_of_birth": person["date_of_birth"],
                "nationality": person["nationality"],
                "since": when(person["created_at"].as_str().unwrap_or_default()),
                "resolved_from": person["resolved_from"],
            },
            "records": record_rows,
            "split_items": split_items,
            "cases": cases,
            "documents": person["documents"],
            "history": history,
            "can_change": staff.holds(&CASEWORKERS),
            "form": {
                "records": values,
                "split_reason": form["split_reason"],
                "person_id": form["person_id"],
                "merge_reason": form["merge_reason"],
            },
            "records_error": error_of(errors, "records"),
            "split_reason_error": error_of(errors, "split-reason"),
            "merge_person_error": error_of(errors, "merge-person"),
            "merge_reason_error": error_of(errors, "merge-reason"),
            "errors": error_summary(errors),
        }),
    )
}

/// `POST /desk/persons/{id}/split`: the chosen records to a new person.
pub(crate) async fn split(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &CASEWORKERS).await?;
    let chosen: Vec<&str> = body
        .iter()
        .filter(|(k, _)| k == "records")
        .map(|(_, v)| v.as_str())
        .collect();
    let records: Vec<i64> = chosen.iter().filter_map(|r| r.parse().ok()).collect();
    let reason = field(&body, "reason").unwrap_or_default().trim();
    let mut errors = Vec::new();
    if records.is_empty() {
        errors.push((
            "records",
            "Select the records that belong to someone else".to_owned(),
        ));
    }
    reason_errors("split-reason", reason, &mut errors);
    if errors.is_empty() {
        let path = format!("/api/identify/v1/persons/{}/split", urlencode(&id));
        let (status, answer) = state
            .act(
                &req,
                &staff,
                &path,
                &json!({"records": records, "reason": reason}),
            )
            .await?;
        match status.as_u16() {
            201 => {
                let new = answer["new_person_id"].as_str().unwrap_or_default();
                tracing::info!(user = %staff.sub, person = %id, new_person = %new, "person split from the desk");
                state
                    .flash(
                        &mut session,
                        format!(
                            "Split: {} record{} moved to this new person",
                            records.len(),
                            if records.len() == 1 { "" } else { "s" }
                        ),
                        true,
                    )
                    .await?;
                return Ok(see_other(
                    &format!("/desk/persons/{new}"),
                    None,
                    state.sessions.secure,
                ));
            }
            404 => return Err(PageError::NotFound),
            _ => errors.push(("records", detail(&answer))),
        }
    }
    tracing::info!(user = %staff.sub, person = %id, errors = errors.len(), "split form refused");
    render_person(
        &state,
        &req,
        &session,
        &staff,
        &id,
        &errors,
        &json!({"records": chosen, "split_reason": reason}),
    )
    .await
}

/// `POST /desk/persons/{id}/merge`: a duplicate merged into this person.
pub(crate) async fn merge(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let mut session = state.posted_session(&req, &body).await?;
    let (_, staff) = state.staff(&req, &CASEWORKERS).await?;
    let duplicate = field(&body, "person_id").unwrap_or_default().trim();
    let reason = field(&body, "reason").unwrap_or_default().trim();
    let mut errors = Vec::new();
    if duplicate.is_empty() {
        errors.push((
            "merge-person",
            "Enter the person id of the duplicate".to_owned(),
        ));
    } else if uuid::Uuid::parse_str(duplicate).is_err() {
        errors.push((
            "merge-person",
            "Enter a person id like 0193a7c2-5b1e-7d2f-9a1b-2c3d4e5f6a7b".to_owned(),
        ));
    }
    reason_errors("merge-reason", reason, &mut errors);
    if errors.is_empty() {
        let path = format!("/api/identify/v1/persons/{}/merge", urlencode(&id));
        let (status, answer) = state
            .act(
                &req,
                &staff,
                &path,
                &json!({"person_id": duplicate, "reason": reason}),
            )
            .await?;
        match status.as_u16() {
            200 => {
                tracing::info!(user = %staff.sub, person = %id, merged = %duplicate, "persons merged from the desk");
                state
                    .flash(
                        &mut session,
                        "Merged: the duplicate’s records and cases are now this person’s"
                            .to_owned(),
                        true,
                    )
                    .await?;
                return Ok(see_other(
                    &format!("/desk/persons/{}", urlencode(&id)),
                    None,
                    state.sessions.secure,
                ));
            }
            404 => return Err(PageError::NotFound),
            _ => errors.push(("merge-person", detail(&answer))),
        }
    }
    tracing::info!(user = %staff.sub, person = %id, errors = errors.len(), "merge form refused");
    render_person(
        &state,
        &req,
        &session,
        &staff,
        &id,
        &errors,
        &json!({"person_id": duplicate, "merge_reason": reason}),
    )
    .await
}

/// A reason is required and at most [`MAX_REASON_CHARS`] long.
fn reason_errors(id: &'static str, reason: &str, errors: &mut Vec<(&'static str, String)>) {
    if reason.is_empty() {
        errors.push((id, "Enter the reason".to_owned()));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errors.push((
            id,
            format!("The reason must be {MAX_REASON_CHARS} characters or fewer"),
        ));
    }
}

/// A problem's detail, or each of its errors, in words.
fn detail(problem: &Value) -> String {
    let errors: Vec<&str> = problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    if errors.is_empty() {
        problem["detail"].as_str().unwrap_or("try again").to_owned()
    } else {
        errors.join("; ")
    }
}

/// A record in a line: `Amélie Claire Dubois, born 1988-04-12`.
fn summary(record: &Value) -> String {
    let name = format!(
        "{} {}",
        record["given_names"].as_str().unwrap_or_default(),
        record["surname"].as_str().unwrap_or_default()
    );
    match record["date_of_birth"].as_str() {
        Some(born) => format!("{}, born {born}", name.trim()),
        None => name.trim().to_owned(),
    }
}

/// Where a record came from: `Application VV-…` or `Import HMPO-1`.
fn source(record: &Value) -> String {
    match record["source"].as_str() {
        Some("application") => format!(
            "Application {}",
            record["case_reference"]
                .as_str()
                .or(record["source_ref"].as_str())
                .unwrap_or_default()
        ),
        _ => format!(
            "Import {}",
            record["source_ref"].as_str().unwrap_or_default()
        ),
    }
}

/// How the engine linked a record.
fn linked(record: &Value) -> String {
    let weight = record["weight"]
        .as_f64()
        .map(|w| format!(" ({w:.1})"))
        .unwrap_or_default();
    match record["decision"].as_str() {
        Some("match") => format!("Matched{weight}"),
        Some("review") => format!("New, possible match{weight}"),
        _ => "New person".to_owned(),
    }
}

/// A record's field as text: an address's lines, identifiers by scheme.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| match (i["scheme"].as_str(), i["value"].as_str()) {
                (Some(scheme), Some(v)) => format!("{scheme} {v}"),
                _ => shown(i),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(map) => {
            let mut parts: Vec<String> =
                map.get("lines").map(|l| vec![shown(l)]).unwrap_or_default();
            for key in ["locality", "postcode"] {
                if let Some(v) = map.get(key).and_then(Value::as_str) {
                    parts.push(v.to_owned());
                }
            }
            parts.retain(|p| !p.is_empty());
            parts.join(", ")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_people_write_them() {
        let record = json!({"given_names": "Amélie", "surname": "Dubois", "date_of_birth": "1988-04-12",
            "address": {"lines": ["1 High Street", "Flat 2"], "postcode": "LS1 4AP"},
            "identifiers": [{"scheme": "passport:FRA", "value": "18AB12345"}]});
        assert_eq!(summary(&record), "Amélie Dubois, born 1988-04-12");
        assert_eq!(shown(&record["address"]), "1 High Street; Flat 2, LS1 4AP");
        assert_eq!(shown(&record["identifiers"]), "passport:FRA 18AB12345");
        assert_eq!(
            source(
                &json!({"source": "application", "source_ref": "c-1", "case_reference": "VV-1"})
            ),
            "Application VV-1"
        );
        assert_eq!(
            source(&json!({"source": "import", "source_ref": "HMPO-1"})),
            "Import HMPO-1"
        );
        assert_eq!(
            linked(&json!({"decision": "match", "weight": 12.34})),
            "Matched (12.3)"
        );
        let mut errors = Vec::new();
        reason_errors("r", "", &mut errors);
        reason_errors("r", &"x".repeat(2001), &mut errors);
        assert_eq!(errors.len(), 2);
    }
}
