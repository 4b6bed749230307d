//! Decide against a real database, on SQLite and PostgreSQL: the rules'
//! decisions on `decide.requested`, the referral queue, caseworkers'
//! decisions (directly and over HTTP behind the real access guard), and the
//! rule book's start-up checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::test as actix_test;
use actix_web::{App, web};
use casework_bus::HandlerError;
use casework_contracts::{Event, EventType, SchemaRegistry};
use casework_decide::{
    BY_CASEWORKER, BY_RULES, DecideApi, Decided, Decider, DecisionView, Migrator, approve_referral,
    decide_referral, decision, load_rules, referral,
};
use casework_runtime::auth::{Policy, PolicyTable};
use casework_runtime::http::{self, HttpState};
use casework_runtime::{Authenticator, RuntimeError};
use casework_testkit::{Backend, Handled, TempDir, on_both_backends};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use utoipa::OpenApi;

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture_rules() -> PathBuf {
    crate_dir().join("tests/fixtures/rules")
}

fn registry() -> Arc<SchemaRegistry> {
    casework_testkit::shipped_schemas()
}

/// Decide's database and handler, as `build` wires them, without a broker.
type Harness = Handled<Decider>;

async fn harness(backend: Backend, rules: &Path) -> Option<Harness> {
    Handled::start::<Migrator>(backend, "decide", |outbox| {
        Decider::new(load_rules(rules).expect("rules"), outbox)
    })
    .await
}

/// What Decide's tests read back besides events.
trait Reads {
    async fn decisions(&self) -> Vec<decision::Model>;
    async fn referrals(&self) -> Vec<referral::Model>;
    /// Refers a case with this evidence and returns its referral.
    async fn refer(&self, evidence: Value) -> referral::Model;
    /// The same for a product that wants a second person for `four_eyes`.
    async fn refer_four_eyes(&self, evidence: Value, four_eyes: Value) -> referral::Model;
}

impl Reads for Harness {
    async fn decisions(&self) -> Vec<decision::Model> {
        decision::Entity::find()
            .all(self.store.connection())
            .await
            .expect("decisions")
    }

    async fn referrals(&self) -> Vec<referral::Model> {
        referral::Entity::find()
            .all(self.store.connection())
            .await
            .expect("referrals")
    }

    async fn refer(&self, evidence: Value) -> referral::Model {
        self.refer_four_eyes(evidence, Value::Null).await
    }

    async fn refer_four_eyes(&self, evidence: Value, four_eyes: Value) -> referral::Model {
        let case_id = uuid::Uuid::new_v4().to_string();
        let mut event = request(&case_id, "visit-visa", evidence);
        if !four_eyes.is_null() {
            event.data["params"]["four_eyes"] = four_eyes;
        }
        self.deliver(&event).await.expect("referred");
        referral::Entity::find()
            .filter(referral::Column::CaseId.eq(&case_id))
            .one(self.store.connection())
            .await
            .expect("read referral")
            .expect("a referral")
    }
}

/// A `decide.requested.v1` as Register sends it, checked against its schema.
fn request(case_id: &str, rule_set: &str, evidence: Value) -> Event {
    let mut event = Event::new(
        "/casework/register",
        EventType::new("decide.requested.v1"),
        case_id,
        json!({
            "case_id": case_id,
            "reference": "VV-7KQ4-M2XD-P",
            "product": "visit-visa",
            "step_id": format!("{case_id}/decide/rules/1"),
            "params": {},
            "rule_set": rule_set,
            "evidence": evidence,
        }),
    )
    .with_traceparent(TRACEPARENT);
    registry()
        .validate_event(&mut event)
        .expect("a valid request");
    event
}

/// A decision made at once (no four-eyes).
fn made(decided: Decided) -> DecisionView {
    match decided {
        Decided::Made(view) => view,
        Decided::AwaitingApproval(referral) => panic!("awaiting approval: {referral:?}"),
    }
}

fn clean() -> Value {
    json!({
        "application": { "purpose": "tourism" },
        "identity": { "confidence": "high", "confidence_rank": 3 },
        "investigation": { "findings": [] }
    })
}

fn finding(kind: &str, severity: &str) -> Value {
    json!({
        "kind": kind,
        "source_id": "wi-1",
        "matched_on": "document-number",
        "severity": severity,
        "summary": "recorded"
    })
}

fn with_findings(findings: Vec<Value>) -> Value {
    let mut evidence = clean();
    evidence["investigation"]["findings"] = json!(findings);
    evidence
}

fn low_confidence() -> Value {
    let mut evidence = clean();
    evidence["identity"]["confidence_rank"] = json!(1);
    evidence
}

fn fired_ids(data: &Value) -> Vec<&str> {
    data["fired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rule| rule["id"].as_str().unwrap())
        .collect()
}

async fn grant(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let case_id = uuid::Uuid::new_v4().to_string();
    h.deliver(&request(&case_id, "visit-visa", clean()))
        .await
        .unwrap();

    let decisions = h.decisions().await;
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert_eq!(
        (d.outcome.as_str(), d.kind.as_str(), d.decided_by.as_str()),
        ("grant", BY_RULES, "rules")
    );
    assert_eq!((d.rule_set.as_str(), d.rule_set_version), ("visit-visa", 1));
    assert_eq!(d.evidence, clean(), "the evidence is recorded as seen");
    assert_eq!(d.step_id, format!("{case_id}/decide/rules/1"));
    assert_eq!(d.reference, "VV-7KQ4-M2XD-P");
    assert!(h.referrals().await.is_empty());

    let events = h.emitted().await;
    assert_eq!(events.len(), 1);
    let made = &events[0];
    assert_eq!(made.event_type.as_str(), "decision.made.v1");
    assert_eq!(made.subject, case_id);
    assert_eq!(made.source, "/casework/decide");
    assert_eq!(made.traceparent.as_deref(), Some(TRACEPARENT));
    assert_eq!(
        made.data,
        json!({
            "case_id": case_id,
            "step_id": format!("{case_id}/decide/rules/1"),
            "outcome": "grant",
            "reasons": ["Identity established and no adverse findings"],
            "fired": [],
            "rule_set": "visit-visa",
            "rule_set_version": 1,
            "enforce": false,
            "decided_by": "rules",
        })
    );
}

async fn refuse_with_enforce(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let case_id = uuid::Uuid::new_v4().to_string();
    let evidence = with_findings(vec![
        finding("warning", "high"),
        finding("lost-stolen-document", "critical"),
    ]);
    h.deliver(&request(&case_id, "visit-visa", evidence.clone()))
        .await
        .unwrap();

    let decisions = h.decisions().await;
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].outcome, "refuse");
    assert!(decisions[0].enforce);
    assert_eq!(decisions[0].evidence, evidence);
    assert!(h.referrals().await.is_empty(), "a refusal is not referred");

    let events = h.emitted().await;
    assert_eq!(events.len(), 1);
    let data = &events[0].data;
    assert_eq!(events[0].event_type.as_str(), "decision.made.v1");
    assert_eq!(data["outcome"], "refuse");
    assert_eq!(data["enforce"], true);
    assert_eq!(
        data["reasons"],
        json!(["The passport presented is recorded as lost or stolen"])
    );
    // Every fired rule is recorded, the referring one too.
    assert_eq!(fired_ids(data), ["lost-stolen-document", "adverse-warning"]);
}

async fn refer(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let case_id = uuid::Uuid::new_v4().to_string();
    // A low-severity warning does not refer; the weak identity does.
    let mut evidence = low_confidence();
    evidence["investigation"]["findings"] = json!([finding("warning", "low")]);
    h.deliver(&request(&case_id, "visit-visa", evidence.clone()))
        .await
        .unwrap();

    let decisions = h.decisions().await;
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        (decisions[0].outcome.as_str(), decisions[0].kind.as_str()),
        ("refer", BY_RULES)
    );
    let referrals = h.referrals().await;
    assert_eq!(referrals.len(), 1);
    let r = &referrals[0];
    assert_eq!(r.status, "open");
    assert_eq!(
        (r.case_id.as_str(), r.product.as_str()),
        (case_id.as_str(), "visit-visa")
    );
    assert_eq!(r.reasons, json!(["Identity confidence is below medium"]));
    assert_eq!(r.evidence, evidence);
    assert_eq!(r.rule_set_version, 1);
    assert!(r.decided_at.is_none() && r.decided_by.is_none());

    let events = h.emitted().await;
    assert_eq!(events.len(), 1, "a referral is not a decision.made");
    assert_eq!(events[0].event_type.as_str(), "decision.referred.v1");
    assert_eq!(events[0].traceparent.as_deref(), Some(TRACEPARENT));
    assert_eq!(
        events[0].data,
        json!({
            "case_id": case_id,
            "step_id": format!("{case_id}/decide/rules/1"),
            "reasons": ["Identity confidence is below medium"],
            "fired": [{
                "id": "low-identity-confidence",
                "outcome": "refer",
                "reason": "Identity confidence is below medium",
                "enforce": false
            }],
            "rule_set": "visit-visa",
            "rule_set_version": 1,
        })
    );
}

async fn a_duplicate_request_decides_once(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let case_id = uuid::Uuid::new_v4().to_string();
    let first = request(&case_id, "visit-visa", low_confidence());
    h.deliver(&first).await.unwrap();
    // The same record again, and a re-sent request (new event id, same step).
    h.deliver(&first).await.unwrap();
    h.deliver(&request(&case_id, "visit-visa", clean()))
        .await
        .unwrap();
    assert_eq!(h.decisions().await.len(), 1);
    assert_eq!(h.referrals().await.len(), 1);
    assert_eq!(h.emitted().await.len(), 1);
    assert_eq!(h.decisions().await[0].outcome, "refer");
}

async fn an_unknown_rule_set_is_refused(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let case_id = uuid::Uuid::new_v4().to_string();
    let err = h
        .deliver(&request(&case_id, "passport-renewal", clean()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HandlerError::Refused(reason) if reason.contains("passport-renewal")),
        "{err}"
    );
    assert!(h.decisions().await.is_empty());
    assert!(h.emitted().await.is_empty());
}

async fn the_latest_version_decides(backend: Backend) {
    let dir = TempDir::new("decide-rules");
    let v1 = std::fs::read_to_string(fixture_rules().join("visit-visa/v1.toml")).unwrap();
    let v2 = v1.replace("version = 1", "version = 2").replace(
        r#"default = { outcome = "grant""#,
        r#"default = { outcome = "refer""#,
    );
    std::fs::create_dir_all(dir.path().join("visit-visa")).unwrap();
    std::fs::write(dir.path().join("visit-visa/v1.toml"), v1).unwrap();
    std::fs::write(dir.path().join("visit-visa/v2.toml"), v2).unwrap();
    let Some(h) = harness(backend, dir.path()).await else {
        return;
    };
    let case_id = uuid::Uuid::new_v4().to_string();
    h.deliver(&request(&case_id, "visit-visa", clean()))
        .await
        .unwrap();
    let decisions = h.decisions().await;
    assert_eq!(decisions[0].outcome, "refer");
    assert_eq!(decisions[0].rule_set_version, 2);
    assert_eq!(h.emitted().await[0].data["rule_set_version"], 2);
}

async fn a_caseworker_decides_a_referral_once(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let r = h.refer(low_confidence()).await;
    let body = json!({ "outcome": "grant", "reason": "  Interviewed; identity confirmed  " });

    let decided = decide_referral(&h.store, &h.outbox, &r.id, &body, "ada")
        .await
        .map(made)
        .unwrap();
    assert_eq!(
        (
            decided.outcome.as_str(),
            decided.kind.as_str(),
            decided.decided_by.as_str()
        ),
        ("grant", BY_CASEWORKER, "ada")
    );
    assert_eq!(decided.reasons, json!(["Interviewed; identity confirmed"]));
    assert_eq!(decided.evidence, low_confidence());
    assert_eq!(decided.step_id, r.step_id);

    let stored = referral::Entity::find_by_id(r.id.as_str())
        .one(h.store.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "decided");
    assert_eq!(stored.decided_by.as_deref(), Some("ada"));
    assert_eq!(stored.decision_outcome.as_deref(), Some("grant"));
    assert_eq!(
        stored.decision_reason.as_deref(),
        Some("Interviewed; identity confirmed")
    );
    assert!(stored.decided_at.is_some());
    // The rules' refer and the caseworker's grant are both on record.
    let mut kinds: Vec<_> = h.decisions().await.into_iter().map(|d| d.kind).collect();
    kinds.sort();
    assert_eq!(kinds, [BY_CASEWORKER, BY_RULES]);

    let events = h.emitted().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].event_type.as_str(), "decision.made.v1");
    assert_eq!(
        events[1].data,
        json!({
            "case_id": r.case_id,
            "step_id": r.step_id,
            "outcome": "grant",
            "reasons": ["Interviewed; identity confirmed"],
            "fired": r.fired,
            "rule_set": "visit-visa",
            "rule_set_version": 1,
            "enforce": false,
            "decided_by": "ada",
        })
    );

    // A second decision, by anyone, conflicts and changes nothing.
    let again = json!({ "outcome": "refuse", "reason": "Changed my mind" });
    let err = decide_referral(&h.store, &h.outbox, &r.id, &again, "grace")
        .await
        .unwrap_err();
    assert_eq!(err.status, 409, "{err}");
    assert_eq!(h.decisions().await.len(), 2);
    assert_eq!(h.emitted().await.len(), 2);

    let err = decide_referral(&h.store, &h.outbox, "no-such-referral", &body, "ada")
        .await
        .unwrap_err();
    assert_eq!(err.status, 404, "{err}");
}

/// Four-eyes: a product's `four_eyes = ["refuse"]` makes a caseworker's
/// refusal wait for a senior caseworker whose `sub` differs; a grant does
/// not wait; the proposer cannot approve their own; a return reopens it.
async fn a_four_eyes_refusal_waits_for_a_second_person(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let refuse = json!({ "outcome": "refuse", "reason": "Documents not credible" });
    let r = h.refer_four_eyes(low_confidence(), json!(["refuse"])).await;
    let waiting = match decide_referral(&h.store, &h.outbox, &r.id, &refuse, "ada")
        .await
        .unwrap()
    {
        Decided::AwaitingApproval(view) => view,
        Decided::Made(view) => panic!("made at once: {view:?}"),
    };
    assert_eq!(waiting.status, "awaiting-approval");
    let answer = |body: Value, who: &'static str| {
        let id = r.id.clone();
        let (store, outbox) = (h.store.clone(), h.outbox.clone());
        async move { approve_referral(&store, &outbox, &id, &body, who).await }
    };
    assert_eq!(waiting.four_eyes, ["refuse"]);
    assert_eq!(waiting.decided_by.as_deref(), Some("ada"));
    // Nothing decided or emitted yet beyond the rules' referral.
    assert_eq!(h.decisions().await.len(), 1);
    assert_eq!(h.emitted().await.len(), 1);
    // No second decision while it waits.
    let err = decide_referral(&h.store, &h.outbox, &r.id, &refuse, "grace")
        .await
        .unwrap_err();
    assert_eq!(err.status, 409, "{err}");
    // The proposer may not approve their own decision.
    let err = answer(json!({"approve": true}), "ada").await.unwrap_err();
    assert_eq!(err.status, 403, "{err}");
    // Returning it needs a reason, then reopens it.
    let err = answer(json!({"approve": false}), "grace")
        .await
        .unwrap_err();
    assert_eq!(err.status, 422, "{err}");
    let returned = answer(
        json!({"approve": false, "reason": "Ask for the bank statements first"}),
        "grace",
    )
    .await
    .unwrap();
    assert_eq!(returned.status, "open");
    assert_eq!(
        returned.returned_reason.as_deref(),
        Some("Ask for the bank statements first")
    );
    assert!(returned.decided_by.is_none());
    // Proposed again, approved by someone else: made, by the proposer.
    decide_referral(&h.store, &h.outbox, &r.id, &refuse, "ada")
        .await
        .unwrap();
    let approved = answer(json!({"approve": true}), "grace").await.unwrap();
    assert_eq!(approved.status, "decided");
    assert_eq!(approved.approved_by.as_deref(), Some("grace"));
    let events = h.emitted().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].data["outcome"], "refuse");
    assert_eq!(events[1].data["decided_by"], "ada");
    assert_eq!(events[1].data["approved_by"], "grace");
    let err = answer(json!({"approve": true}), "grace").await.unwrap_err();
    assert_eq!(err.status, 409, "{err}");

    // The rules' outcomes and a grant are not held.
    let r = h.refer_four_eyes(low_confidence(), json!(["refuse"])).await;
    let grant = json!({ "outcome": "grant", "reason": "Interviewed" });
    let d = decide_referral(&h.store, &h.outbox, &r.id, &grant, "ada")
        .await
        .map(made)
        .unwrap();
    assert!(d.approved_by.is_none());
}

async fn a_decision_without_a_reason_is_refused(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let r = h.refer(low_confidence()).await;
    for (body, pointers) in [
        (
            json!({ "outcome": "grant", "reason": "   " }),
            vec!["/reason"],
        ),
        (json!({ "outcome": "grant" }), vec!["/reason"]),
        (
            json!({ "outcome": "refuse", "reason": "x".repeat(2001) }),
            vec!["/reason"],
        ),
        (
            json!({ "outcome": "refer", "reason": "ok" }),
            vec!["/outcome"],
        ),
    ] {
        let err = decide_referral(&h.store, &h.outbox, &r.id, &body, "ada")
            .await
            .unwrap_err();
        assert_eq!(err.status, 422, "{err}");
        let named: Vec<_> = err.errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(named, pointers);
    }
    let stored = referral::Entity::find_by_id(r.id.as_str())
        .one(h.store.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, "open", "a refused decision changes nothing");
    assert_eq!(h.decisions().await.len(), 1);
    assert_eq!(h.emitted().await.len(), 1);
}

async fn a_refusal_enforces_only_what_the_rules_flagged(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let refuse = json!({ "outcome": "refuse", "reason": "Not satisfied" });
    let grant = json!({ "outcome": "grant", "reason": "Warning is about someone else" });
    let warned = || with_findings(vec![finding("warning", "critical")]);

    // The adverse-warning rule is flagged enforce: refusing on it enforces.
    let r = h.refer(warned()).await;
    let d = decide_referral(&h.store, &h.outbox, &r.id, &refuse, "ada")
        .await
        .map(made)
        .unwrap();
    assert!(d.enforce);
    // Granting on it does not.
    let r = h.refer(warned()).await;
    let d = decide_referral(&h.store, &h.outbox, &r.id, &grant, "ada")
        .await
        .map(made)
        .unwrap();
    assert!(!d.enforce);
    // Refusing on an unflagged rule does not.
    let r = h.refer(low_confidence()).await;
    let d = decide_referral(&h.store, &h.outbox, &r.id, &refuse, "ada")
        .await
        .map(made)
        .unwrap();
    assert!(!d.enforce);

    let enforced: Vec<_> = h
        .emitted()
        .await
        .into_iter()
        .filter(|e| e.event_type.as_str() == "decision.made.v1")
        .map(|e| e.data["enforce"].as_bool().unwrap())
        .collect();
    assert_eq!(enforced, [true, false, false]);
}

async fn the_http_api_behind_its_policies(backend: Backend) {
    let Some(h) = harness(backend, &fixture_rules()).await else {
        return;
    };
    let older = h.refer(low_confidence()).await;
    let newer = h
        .refer(with_findings(vec![finding("warning", "high")]))
        .await;

    let keys = TempDir::new("decide-keys");
    let auth = Arc::new(Authenticator::embedded(keys.path(), "casework", "casework").unwrap());
    let token = |sub: &str, role: &str| {
        let token = auth
            .issue(sub, &[role.to_owned()], &[], Duration::from_secs(300))
            .unwrap();
        format!("Bearer {token}")
    };
    let mut policies = PolicyTable::default();
    policies.add_openapi(
        "/api/decide",
        &http::complete_openapi("decide", DecideApi::openapi()),
    );
    let state = web::Data::new(HttpState {
        auth: auth.clone(),
        policies,
        max_body_bytes: 64 * 1024,
        services: Vec::new(),
        metrics: casework_runtime::platform::metrics_handle(),
        audit: [(
            "decide".to_owned(),
            casework_runtime::audit::AuditLog::start(h.store.clone()),
        )]
        .into(),
        limits: casework_runtime::limits::Limits::none(),
    });
    let routes = casework_decide::api::routes(h.store.clone(), h.outbox.clone());
    let app = actix_test::init_service(
        App::new()
            .app_data(state)
            .wrap(from_fn(http::guard))
            .service(web::scope("/api/decide").configure(move |cfg| routes(cfg))),
    )
    .await;
    let call = |method: &str, uri: &str, auth: Option<String>, body: Option<Value>| {
        let mut req = match method {
            "POST" => actix_test::TestRequest::post(),
            _ => actix_test::TestRequest::get(),
        }
        .uri(uri);
        if let Some(auth) = auth {
            req = req.insert_header(("authorization", auth));
        }
        if let Some(body) = body {
            req = req.set_json(body);
        }
        req.to_request()
    };
    macro_rules! send {
        ($req:expr) => {{
            // The guard refuses with an error, as the server would answer it.
            let (status, body) = match actix_test::try_call_service(&app, $req).await {
                Ok(response) => (
                    response.status().as_u16(),
                    actix_test::read_body(response).await,
                ),
                Err(err) => {
                    let response = err.error_response();
                    let status = response.status().as_u16();
                    let body = actix_web::body::to_bytes(response.into_body())
                        .await
                        .unwrap_or_default();
                    (status, body)
                }
            };
            (
                status,
                serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
            )
        }};
    }

    // The queue: caseworkers only, oldest first, with reasons and evidence.
    let (status, _) = send!(call("GET", "/api/decide/v1/referrals", None, None));
    assert_eq!(status, 401);
    let (status, _) = send!(call(
        "GET",
        "/api/decide/v1/referrals",
        Some(token("olu", "officer")),
        None
    ));
    assert_eq!(status, 403);
    let (status, page) = send!(call(
        "GET",
        "/api/decide/v1/referrals?product=visit-visa",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"], 2);
    assert_eq!(page["limit"], 50);
    assert_eq!(page["items"][0]["id"], older.id.as_str());
    assert_eq!(page["items"][1]["id"], newer.id.as_str());
    assert_eq!(page["items"][0]["evidence"], low_confidence());
    assert_eq!(
        page["items"][1]["reasons"],
        json!(["A check returned a serious warning"])
    );
    let (_, page) = send!(call(
        "GET",
        "/api/decide/v1/referrals?limit=1&offset=1",
        Some(token("ada", "senior-caseworker")),
        None
    ));
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], newer.id.as_str());
    let (_, page) = send!(call(
        "GET",
        "/api/decide/v1/referrals?product=passport",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!(page["total"], 0);
    let (status, problem) = send!(call(
        "GET",
        "/api/decide/v1/referrals?status=closed",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!((status, problem["status"].as_u64()), (400, Some(400)));
    let (status, _) = send!(call(
        "GET",
        "/api/decide/v1/referrals?limit=many",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!(status, 400);

    let one = format!("/api/decide/v1/referrals/{}", older.id);
    let (status, view) = send!(call("GET", &one, Some(token("ada", "caseworker")), None));
    assert_eq!((status, view["status"].as_str()), (200, Some("open")));
    let (status, _) = send!(call(
        "GET",
        "/api/decide/v1/referrals/nope",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!(status, 404);

    // Deciding: the reason is required; the caller's sub decides; once only.
    let decide = format!("{one}/decision");
    let (status, _) = send!(call(
        "POST",
        &decide,
        Some(token("aud", "auditor")),
        Some(json!({"outcome": "grant", "reason": "ok"}))
    ));
    assert_eq!(status, 403);
    let (status, problem) = send!(call(
        "POST",
        &decide,
        Some(token("ada", "caseworker")),
        Some(json!({"outcome": "grant", "reason": ""}))
    ));
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["pointer"], "/reason");
    let (status, decided) = send!(call(
        "POST",
        &decide,
        Some(token("ada", "caseworker")),
        Some(json!({"outcome": "grant", "reason": "Seen the passport"}))
    ));
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["decided_by"], "ada");
    assert_eq!(decided["outcome"], "grant");
    let (status, problem) = send!(call(
        "POST",
        &decide,
        Some(token("bo", "senior-caseworker")),
        Some(json!({"outcome": "refuse", "reason": "No"}))
    ));
    assert_eq!((status, problem["status"].as_u64()), (409, Some(409)));

    let (_, page) = send!(call(
        "GET",
        "/api/decide/v1/referrals",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!(
        page["total"], 1,
        "the decided referral leaves the open queue"
    );
    let (_, page) = send!(call(
        "GET",
        "/api/decide/v1/referrals?status=decided",
        Some(token("ada", "caseworker")),
        None
    ));
    assert_eq!(page["items"][0]["decision_reason"], "Seen the passport");

    // The decisions on the case, for auditors too: the rules' refer, then the grant.
    let (status, _) = send!(call(
        "GET",
        "/api/decide/v1/decisions?case=VV-7KQ4-M2XD-P",
        Some(token("olu", "officer")),
        None
    ));
    assert_eq!(status, 403);
    let (status, list) = send!(call(
        "GET",
        "/api/decide/v1/decisions?case=vv-7kq4-m2xd-p",
        Some(token("aud", "auditor")),
        None
    ));
    assert_eq!(status, 200);
    let on_case: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["case_id"] == older.case_id.as_str())
        .map(|d| {
            (
                d["outcome"].as_str().unwrap(),
                d["decided_by"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(on_case, [("refer", "rules"), ("grant", "ada")]);
    assert_eq!(list[0]["rule_set_version"], 1);
    assert_eq!(list[0]["evidence"], low_confidence());
}

on_both_backends!(
    grant,
    refuse_with_enforce,
    refer,
    a_duplicate_request_decides_once,
    an_unknown_rule_set_is_refused,
    the_latest_version_decides,
    a_caseworker_decides_a_referral_once,
    a_decision_without_a_reason_is_refused,
    a_four_eyes_refusal_waits_for_a_second_person,
    a_refusal_enforces_only_what_the_rules_flagged,
    the_http_api_behind_its_policies,
);

#[test]
fn every_route_declares_its_policy() {
    let mut policies = PolicyTable::default();
    policies.add_openapi("/api/decide", &DecideApi::openapi());
    let caseworkers = Policy::Grants(vec![
        "role:caseworker".into(),
        "role:senior-caseworker".into(),
    ]);
    for (method, path) in [
        ("GET", "/v1/referrals"),
        ("GET", "/v1/referrals/{id}"),
        ("POST", "/v1/referrals/{id}/decision"),
    ] {
        assert_eq!(
            policies.policy(method, &format!("/api/decide{path}")),
            &caseworkers,
            "{method} {path}"
        );
    }
    assert_eq!(
        policies.policy("POST", "/api/decide/v1/referrals/{id}/approval"),
        &Policy::Grants(vec!["role:senior-caseworker".into()])
    );
    assert_eq!(
        policies.policy("GET", "/api/decide/v1/decisions"),
        &Policy::Grants(vec![
            "role:caseworker".into(),
            "role:senior-caseworker".into(),
            "role:auditor".into(),
        ])
    );
}

#[test]
fn a_bad_rule_file_stops_the_start_with_its_error() {
    let dir = TempDir::new("decide-bad-rules");
    let file = dir.path().join("visit-visa/v1.toml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "id = \"visit-visa\"\nversion = 1\n").unwrap();
    let err = load_rules(dir.path()).unwrap_err();
    assert!(matches!(err, RuntimeError::Config(_)), "{err}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );
    // A missing directory is one too.
    let err = load_rules(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, RuntimeError::Config(_)), "{err}");
    // The fixture is good.
    assert!(load_rules(&fixture_rules()).is_ok());
}
