//! Fulfil's handler against a real database, on SQLite and PostgreSQL.

use std::collections::HashSet;

use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::{Event, EventType};
use casework_fulfil::{FulfilApi, Issuer, Migrator, document};
use casework_mrz::{Format, Sex};
use casework_runtime::Clock;
use casework_testkit::{Backend, Handled, apply_event, on_both_backends};
use chrono::NaiveDate;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use utoipa::OpenApi;

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The day these tests issue on: the clock is fixed, so whether a record is
/// spent on the issue date never depends on when the suite runs.
const TODAY: &str = "2026-12-06";

type Harness = Handled<Issuer>;

async fn harness(backend: Backend) -> Option<Harness> {
    Handled::start::<Migrator>(backend, "fulfil", |outbox| issuer_on(outbox, TODAY)).await
}

/// An issuer whose today is `today`.
fn issuer_on(outbox: Outbox, today: &str) -> Issuer {
    Issuer::new(
        outbox,
        casework_testkit::shipped_rehabilitation(),
        Clock::fixed(date(today)),
    )
}

/// A `fulfil.requested.v1` for a new case, with the parameters its product
/// would give: a certificate's disclosure level.
fn request(document: Value, holder: Value, disclosure: Option<Value>) -> Event {
    let params = if document["kind"] == "dbs-certificate" {
        json!({"disclosure": "basic"})
    } else {
        json!({})
    };
    request_with(document, holder, disclosure, params)
}

/// The same with explicit `params`.
fn request_with(document: Value, holder: Value, disclosure: Option<Value>, params: Value) -> Event {
    let case_id = uuid::Uuid::now_v7().to_string();
    let mut data = json!({
        "case_id": case_id,
        "reference": "VV-0001-TEST-X",
        "product": "visit-visa",
        "step_id": format!("{case_id}/fulfil/issue/1"),
        "params": params,
        "document": document,
        "holder": holder,
    });
    if let Some(disclosure) = disclosure {
        data["disclosure"] = disclosure;
    }
    Event::new(
        "/casework/register",
        EventType::new("fulfil.requested.v1"),
        case_id,
        data,
    )
    .with_traceparent(TRACEPARENT)
}

/// What Fulfil's tests read back besides events.
trait Reads {
    async fn documents(&self) -> Vec<document::Model>;
    /// Each request is refused with a reason containing its text, and
    /// nothing is issued or emitted.
    async fn assert_refused(&self, cases: &[(Event, &str)]);
}

impl Reads for Harness {
    async fn documents(&self) -> Vec<document::Model> {
        document::Entity::find()
            .all(self.store.connection())
            .await
            .expect("documents")
    }

    async fn assert_refused(&self, cases: &[(Event, &str)]) {
        for (request, reason) in cases {
            match self.deliver(request).await {
                Err(HandlerError::Refused(why)) => assert!(why.contains(reason), "{why}"),
                other => panic!("expected a refusal containing `{reason}`, got {other:?}"),
            }
        }
        assert!(self.documents().await.is_empty());
        assert!(self.emitted().await.is_empty());
    }
}

fn visa() -> Value {
    json!({"kind": "visa", "mrz_format": "MRV-A", "valid_for_days": 180})
}

fn anna() -> Value {
    json!({
        "given_names": "Anna Maria",
        "surname": "Eriksson",
        "date_of_birth": "1974-08-12",
        "nationality": "SWE",
        "sex": "female",
        "person_id": uuid::Uuid::new_v4().to_string(),
        "document_number": "L898902C3"
    })
}

fn date(text: &str) -> NaiveDate {
    text.parse().expect("date")
}

async fn a_visa_carries_an_mrv_a_zone_of_the_holder(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let request = request(visa(), anna(), None);
    h.deliver(&request).await.expect("issued");

    let documents = h.documents().await;
    assert_eq!(documents.len(), 1);
    let doc = &documents[0];
    assert_eq!(doc.kind, "visa");
    assert_eq!(doc.status, "issued");
    assert_eq!(doc.case_id, request.subject);
    assert_eq!(doc.holder["surname"], "Eriksson");
    assert_eq!((doc.valid_until - doc.issued_on).num_days(), 180);
    assert_eq!(doc.document_number.len(), 9);
    assert!(doc.document_number.starts_with('V'));

    let mrz = casework_mrz::parse(doc.mrz.as_deref().expect("a visa has a zone")).expect("valid");
    assert_eq!(mrz.format, Format::MrvA);
    assert_eq!(mrz.document_code, "V");
    assert_eq!(mrz.issuing_state, "GBR");
    assert_eq!(mrz.surname, "ERIKSSON");
    assert_eq!(mrz.given_names, "ANNA MARIA");
    assert_eq!(mrz.document_number, doc.document_number);
    assert_eq!(mrz.nationality, "SWE");
    assert_eq!(mrz.date_of_birth, date("1974-08-12"));
    assert_eq!(mrz.sex, Sex::Female);
    assert_eq!(mrz.date_of_expiry, doc.valid_until);
    assert_eq!(
        mrz.optional_data, "L898902C3",
        "the holder's passport number"
    );
    assert!(doc.content.contains(&doc.document_number));
    assert!(doc.content.contains("Passport number: L898902C3"));

    let events = h.emitted().await;
    assert_eq!(events.len(), 1);
    let issued = &events[0];
    assert_eq!(issued.event_type.as_str(), "document.issued.v1");
    assert_eq!(issued.source, "/casework/fulfil");
    assert_eq!(issued.subject, request.subject, "keyed by the case");
    assert_eq!(issued.traceparent.as_deref(), Some(TRACEPARENT));
    assert_eq!(issued.data["step_id"], request.data["step_id"]);
    assert_eq!(issued.data["document_id"], doc.id.as_str());
    assert_eq!(issued.data["document_number"], doc.document_number.as_str());
    assert_eq!(issued.data["kind"], "visa");
    assert_eq!(issued.data["issued_on"], doc.issued_on.to_string());
    assert_eq!(issued.data["valid_until"], doc.valid_until.to_string());
    let lines: Vec<&str> = doc.mrz.as_deref().unwrap_or_default().lines().collect();
    assert_eq!(issued.data["mrz"], json!(lines));
}

async fn a_passport_carries_a_td3_zone_of_the_holder(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let holder = json!({
        "given_names": "John",
        "surname": "O'Brien-Smith",
        "date_of_birth": "1990-02-28",
        "nationality": "GBR"
    });
    let request = request(
        json!({"kind": "passport", "mrz_format": "TD3", "valid_for_days": 3652}),
        holder,
        None,
    );
    h.deliver(&request).await.expect("issued");

    let documents = h.documents().await;
    assert_eq!(documents.len(), 1);
    let doc = &documents[0];
    assert_eq!(doc.document_number.len(), 9, "fits the TD3 number field");
    let mrz = casework_mrz::parse(doc.mrz.as_deref().expect("zone")).expect("valid");
    assert_eq!(mrz.format, Format::Td3);
    assert_eq!(mrz.document_code, "P");
    assert_eq!(mrz.issuing_state, "GBR");
    assert_eq!(mrz.surname, "OBRIEN SMITH");
    assert_eq!(mrz.given_names, "JOHN");
    assert_eq!(mrz.document_number, doc.document_number);
    assert_eq!(mrz.nationality, "GBR");
    assert_eq!(mrz.date_of_birth, date("1990-02-28"));
    assert_eq!(mrz.sex, Sex::Unspecified, "no sex given");
    assert_eq!(mrz.date_of_expiry, doc.valid_until);
    assert_eq!(mrz.optional_data, "");

    let events = h.emitted().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data["kind"], "passport");
    assert_eq!(events[0].data["mrz"].as_array().map(Vec::len), Some(2));
}

fn finding(kind: &str, summary: &str) -> Value {
    json!({
        "kind": kind,
        "source_id": uuid::Uuid::new_v4().to_string(),
        "matched_on": "name-and-date-of-birth",
        "severity": "medium",
        "summary": summary,
        "recorded_on": "2019-03-01"
    })
}

/// A criminal-record finding as Investigate reports it: the record's facts,
/// and its verdict on the day of the check (which Fulfil does not trust:
/// it judges again on the issue date).
fn conviction(summary: &str, facts: Value, verdict_at_check: &str) -> Value {
    let mut conviction = facts;
    conviction["date_of_birth"] = json!("1990-03-14");
    conviction["rehabilitation"] = json!({
        "status": verdict_at_check,
        "reason": "as Investigate saw it on the day of the check",
        "table_version": 1,
        "assessed_on": "2026-10-01",
    });
    json!({
        "kind": "criminal-record",
        "source_id": uuid::Uuid::new_v4().to_string(),
        "matched_on": "name-and-date-of-birth",
        "severity": "high",
        "summary": summary,
        "recorded_on": conviction["conviction_date"],
        "conviction": conviction,
    })
}

/// Jordan Price's two convictions: fined in 2016 (spent since 2017-05-10)
/// and 30 months' custody from 2024-02-12 (unspent until 2030-08-12).
fn price_records() -> Value {
    json!([
        conviction(
            "Theft from a shop (Fine of £200, Leeds Magistrates' Court)",
            json!({"conviction_date": "2016-05-10", "disposal_kind": "fine", "summary_only": false}),
            "spent",
        ),
        conviction(
            "Fraud by abuse of position (30 months' imprisonment, Leeds Crown Court)",
            json!({"conviction_date": "2024-02-12", "disposal_kind": "custody", "sentence_length": "30 months", "summary_only": false}),
            "unspent",
        ),
        finding("warning", "Watchlist entry that must not be printed"),
    ])
}

async fn a_basic_certificate_lists_only_what_is_unspent_on_its_issue_date(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let dbs = json!({"kind": "dbs-certificate", "valid_for_days": 90});
    let clear = request(dbs.clone(), anna(), None);
    let empty = request(dbs.clone(), anna(), Some(json!([])));
    let record = request(dbs.clone(), anna(), Some(price_records()));
    for request in [&clear, &empty, &record] {
        h.deliver(request).await.expect("issued");
    }

    let documents = h.documents().await;
    assert_eq!(documents.len(), 3);
    let of = |request: &Event| {
        documents
            .iter()
            .find(|d| d.case_id == request.subject)
            .expect("document of the request")
    };
    for request in [&clear, &empty] {
        let doc = of(request);
        assert_eq!(doc.mrz, None);
        assert_eq!(doc.document_number.len(), 12);
        assert!(doc.document_number.starts_with('D'));
        assert!(doc.content.contains("BASIC DISCLOSURE CERTIFICATE"));
        assert!(doc.content.contains(&doc.document_number));
        assert!(doc.content.contains("Eriksson"));
        assert_eq!(doc.issued_on, date(TODAY), "the clock's today");
        assert!(doc.content.contains("Date of issue: 2026-12-06"));
        assert!(doc.content.contains("No criminal records held"));
    }
    let doc = of(&record);
    assert!(
        doc.content.contains(
            "- Convicted 2024-02-12: Fraud by abuse of position (30 months' imprisonment, Leeds Crown Court)"
        ),
        "{}",
        doc.content
    );
    assert!(
        !doc.content.contains("Theft from a shop"),
        "{}",
        doc.content
    );
    assert!(!doc.content.contains("Watchlist"), "{}", doc.content);
    assert!(!doc.content.contains("No criminal records held"));
    assert!(
        doc.content
            .contains("as assessed on 2026-12-06 under rehabilitation table v1"),
        "{}",
        doc.content
    );

    // A referral can wait: issued on the day the custody becomes spent,
    // the same request lists nothing, whatever Investigate saw at the check.
    let later = issuer_on(h.outbox.clone(), "2030-08-12");
    let waited = request(dbs, anna(), Some(price_records()));
    h.deliver_to(&later, &waited).await.expect("issued");
    let doc = h
        .documents()
        .await
        .into_iter()
        .find(|d| d.case_id == waited.subject)
        .expect("issued later");
    assert!(
        doc.content.contains("No criminal records held"),
        "{}",
        doc.content
    );

    let events = h.emitted().await;
    assert_eq!(events.len(), 4);
    assert!(events.iter().all(|e| e.data.get("mrz").is_none()));
}

async fn a_record_that_cannot_be_judged_stops_the_certificate(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let dbs = json!({"kind": "dbs-certificate", "valid_for_days": 90});
    let undetermined = conviction(
        "Assault (Community order, Leeds Magistrates' Court)",
        json!({"conviction_date": "2025-01-10", "disposal_kind": "community-order"}),
        "undetermined",
    );
    let cases = [
        (
            request(dbs.clone(), anna(), Some(json!([undetermined]))),
            "order_ends_on",
        ),
        (
            request(
                dbs.clone(),
                anna(),
                Some(json!([finding("criminal-record", "Theft")])),
            ),
            "carries no facts",
        ),
        (
            request_with(dbs.clone(), anna(), None, json!({})),
            "needs params.disclosure",
        ),
        (
            request_with(dbs, anna(), None, json!({"disclosure": "enhanced"})),
            "basic certificates only",
        ),
        (
            request_with(visa(), anna(), None, json!({"disclosure": "basic"})),
            "discloses nothing",
        ),
    ];
    h.assert_refused(&cases).await;
}

async fn a_request_delivered_twice_issues_one_document(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let request = request(visa(), anna(), None);
    h.deliver(&request).await.expect("first delivery");
    h.deliver(&request).await.expect("same event again");
    // A redelivery under a new event id (e.g. replayed from the DLQ).
    let mut again = request.clone();
    again.id = casework_contracts::EventId::new();
    h.deliver(&again).await.expect("same step, new event id");

    assert_eq!(h.documents().await.len(), 1);
    assert_eq!(h.emitted().await.len(), 1);
}

async fn racing_deliveries_of_one_step_issue_one_document(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let request = request(visa(), anna(), None);
    let mut again = request.clone();
    again.id = casework_contracts::EventId::new();
    // The first delivery has issued but not yet committed when the second starts.
    let first = h.store.begin_write().await.expect("begin");
    h.handler.handle(&first, &request).await.expect("issued");
    let (store, registry, issuer) = (h.store.clone(), h.registry.clone(), h.handler.clone());
    let second = tokio::spawn(async move { apply_event(&store, &registry, &issuer, &again).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "the second waits for the first");
    h.store.commit(first).await.expect("commit");
    second
        .await
        .expect("task")
        .expect("the second delivery is not an error");

    assert_eq!(h.documents().await.len(), 1);
    assert_eq!(h.emitted().await.len(), 1);
}

async fn concurrent_requests_get_distinct_numbers(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    const TASKS: usize = 8;
    const EACH: usize = 25;
    let passport = json!({"kind": "passport", "mrz_format": "TD3", "valid_for_days": 3652});
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let requests: Vec<Event> = (0..EACH)
            .map(|i| {
                let document = if (task + i) % 2 == 0 {
                    visa()
                } else {
                    passport.clone()
                };
                request(document, anna(), None)
            })
            .collect();
        let (store, registry, issuer) = (h.store.clone(), h.registry.clone(), h.handler.clone());
        tasks.spawn(async move {
            for request in &requests {
                apply_event(&store, &registry, &issuer, request)
                    .await
                    .expect("issued");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }

    let documents = h.documents().await;
    assert_eq!(documents.len(), TASKS * EACH);
    let numbers: HashSet<&str> = documents
        .iter()
        .map(|d| d.document_number.as_str())
        .collect();
    assert_eq!(numbers.len(), TASKS * EACH, "every number distinct");
    for doc in &documents {
        let mrz = casework_mrz::parse(doc.mrz.as_deref().expect("zone")).expect("valid");
        assert_eq!(mrz.document_number, doc.document_number);
    }
    let events = h.emitted().await;
    assert_eq!(events.len(), TASKS * EACH);
    let emitted: HashSet<&str> = events
        .iter()
        .filter_map(|e| e.data["document_number"].as_str())
        .collect();
    assert_eq!(emitted, numbers);
}

async fn unusable_requests_are_refused_with_the_reason(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let mut stateless = anna();
    stateless
        .as_object_mut()
        .expect("object")
        .remove("nationality");
    let mut digits = anna();
    digits["surname"] = json!("Eriksson 2");
    let cases = [
        (
            request(
                json!({"kind": "driving-licence", "valid_for_days": 10}),
                anna(),
                None,
            ),
            "unknown document kind `driving-licence`",
        ),
        (request(visa(), stateless, None), "nationality"),
        (
            request(visa(), digits, None),
            "cannot build the visa MRV-A zone",
        ),
        (
            request(
                json!({"kind": "visa", "mrz_format": "TD3", "valid_for_days": 10}),
                anna(),
                None,
            ),
            "a visa has a MRV-A zone, not TD3",
        ),
        (
            request(
                json!({"kind": "dbs-certificate", "mrz_format": "TD1", "valid_for_days": 10}),
                anna(),
                None,
            ),
            "no machine-readable zone",
        ),
    ];
    h.assert_refused(&cases).await;
    // Nothing was consumed: the next visa is the first number.
    h.deliver(&request(visa(), anna(), None))
        .await
        .expect("issued");
    let first = casework_fulfil::document_number("visa", 1);
    assert_eq!(
        h.documents().await[0].document_number,
        first.expect("number")
    );
    assert_eq!(
        document::Entity::find()
            .count(h.store.connection())
            .await
            .expect("count"),
        1
    );
}

on_both_backends!(
    a_visa_carries_an_mrv_a_zone_of_the_holder,
    a_passport_carries_a_td3_zone_of_the_holder,
    a_basic_certificate_lists_only_what_is_unspent_on_its_issue_date,
    a_record_that_cannot_be_judged_stops_the_certificate,
    a_request_delivered_twice_issues_one_document,
    racing_deliveries_of_one_step_issue_one_document,
    concurrent_requests_get_distinct_numbers,
    unusable_requests_are_refused_with_the_reason,
);

#[test]
fn every_route_is_for_caseworkers_and_auditors() {
    let api = serde_json::to_value(FulfilApi::openapi()).expect("openapi");
    let paths = api["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 2);
    for (path, item) in paths {
        assert_eq!(
            item["get"]["security"],
            json!([{"bearer": ["role:caseworker", "role:senior-caseworker", "role:auditor"]}]),
            "{path}"
        );
    }
}
