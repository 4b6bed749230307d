//! Enforce against a real database, on SQLite and PostgreSQL: requests become
//! one action each with its events, and officers acknowledge alerts once.

use casework_contracts::{Event, EventType};
use casework_enforce::{ACKNOWLEDGED, Enforcer, Migrator, OPEN, acknowledge_alert, action, alert};
use casework_testkit::{Backend, Handled, on_both_backends};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

const REASON: &str = "The passport presented is recorded as lost or stolen";

/// A migrated store and an enforcer emitting into its outbox.
type Harness = Handled<Enforcer>;

async fn harness(backend: Backend) -> Option<Harness> {
    Handled::start::<Migrator>(backend, "enforce", Enforcer::new).await
}

/// A valid `enforce.requested` with these params.
fn request(params: Value) -> Event {
    let case_id = uuid::Uuid::now_v7().to_string();
    Event::new(
        "/casework/register",
        EventType::new("enforce.requested.v1"),
        case_id.clone(),
        json!({
            "case_id": case_id,
            "reference": "VV-2026-4KQ7-Z",
            "product": "visit-visa",
            "step_id": format!("{case_id}/outcome/enforce/1"),
            "params": params,
            "action": "refusal-false-document",
            "subject": {
                "given_names": "Ana Maria",
                "surname": "Silva",
                "date_of_birth": "1990-04-01",
                "nationality": "PRT",
                "document_number": "P1234567"
            },
            "reasons": [REASON]
        }),
    )
    .with_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
}

/// What Enforce's tests read back besides events.
trait Reads {
    async fn actions(&self) -> Vec<action::Model>;
    async fn alerts(&self) -> Vec<alert::Model>;
}

impl Reads for Harness {
    async fn actions(&self) -> Vec<action::Model> {
        action::Entity::find()
            .all(self.store.connection())
            .await
            .expect("actions")
    }

    async fn alerts(&self) -> Vec<alert::Model> {
        alert::Entity::find()
            .all(self.store.connection())
            .await
            .expect("alerts")
    }
}

async fn a_refusal_records_the_action_asks_for_a_warning_and_raises_an_alert(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let request = request(json!({}));
    h.deliver(&request).await.expect("handled");

    let actions = h.actions().await;
    assert_eq!(actions.len(), 1);
    let recorded = &actions[0];
    let summary = format!("Refused visit visa VV-2026-4KQ7-Z: {REASON}");
    assert_eq!(recorded.case_id, request.data["case_id"]);
    assert_eq!(recorded.step_id, request.data["step_id"]);
    assert_eq!(recorded.action, "refusal-false-document");
    assert_eq!(recorded.status, OPEN);
    assert_eq!(recorded.subject, request.data["subject"]);
    assert_eq!(recorded.reasons, json!([REASON]));
    let watchlist = json!({"category": "immigration", "severity": "high", "summary": summary});
    assert_eq!(recorded.watchlist, Some(watchlist.clone()));

    let events = h.emitted().await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["enforcement.actioned.v1", "alert.raised.v1"]);
    let (actioned, raised) = (&events[0], &events[1]);
    assert_eq!(actioned.subject, recorded.case_id, "keyed by case");
    assert_eq!(actioned.data["action_id"], recorded.id.as_str());
    assert_eq!(actioned.data["step_id"], request.data["step_id"]);
    assert_eq!(actioned.data["subject"], request.data["subject"]);
    assert_eq!(actioned.data["watchlist"], watchlist);
    assert_eq!(actioned.traceparent, request.traceparent);

    let alerts = h.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].action_id, recorded.id);
    assert_eq!(alerts[0].reference, "VV-2026-4KQ7-Z");
    assert_eq!(alerts[0].summary, summary);
    assert_eq!(alerts[0].status, OPEN);
    assert_eq!(raised.subject, alerts[0].id, "keyed by alert");
    assert_eq!(
        raised.data,
        json!({"alert_id": alerts[0].id, "action_id": recorded.id, "case_id": recorded.case_id, "summary": summary})
    );
    assert_eq!(raised.traceparent, request.traceparent);
}

async fn params_turn_the_watchlist_and_the_alert_off(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    h.deliver(&request(json!({"watchlist": false, "alert": false})))
        .await
        .expect("handled");

    let actions = h.actions().await;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].watchlist, None);
    assert!(h.alerts().await.is_empty());
    let events = h.emitted().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type.as_str(), "enforcement.actioned.v1");
    assert_eq!(events[0].data["watchlist"], Value::Null);

    // Category and severity come from params too.
    h.deliver(&request(
        json!({"category": "fraud", "severity": "critical", "alert": false}),
    ))
    .await
    .expect("handled");
    let events = h.emitted().await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].data["watchlist"]["category"], "fraud");
    assert_eq!(events[1].data["watchlist"]["severity"], "critical");
}

async fn a_request_delivered_twice_acts_once(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let request = request(json!({}));
    h.deliver(&request).await.expect("handled");
    // Redelivered, even as a new event (new ce_id) for the same step.
    let mut again = request.clone();
    again.id = casework_contracts::EventId::new();
    h.deliver(&again).await.expect("handled");
    h.deliver(&request).await.expect("handled");

    assert_eq!(h.actions().await.len(), 1);
    assert_eq!(h.alerts().await.len(), 1);
    assert_eq!(h.emitted().await.len(), 2);
}

async fn an_alert_is_acknowledged_once(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    h.deliver(&request(json!({}))).await.expect("handled");
    let alert_id = h.alerts().await[0].id.clone();

    let acknowledged = acknowledge_alert(&h.store, &alert_id, "officer-7")
        .await
        .expect("acknowledged");
    assert_eq!(acknowledged.status, ACKNOWLEDGED);
    assert_eq!(acknowledged.acknowledged_by.as_deref(), Some("officer-7"));
    let stored = &h.alerts().await[0];
    assert_eq!(stored.status, ACKNOWLEDGED);
    assert_eq!(stored.acknowledged_by.as_deref(), Some("officer-7"));
    assert!(stored.acknowledged_at.is_some());

    let twice = acknowledge_alert(&h.store, &alert_id, "officer-8")
        .await
        .unwrap_err();
    assert_eq!(twice.status, 409);
    assert_eq!(
        h.alerts().await[0].acknowledged_by.as_deref(),
        Some("officer-7"),
        "the first acknowledgement stands"
    );

    let unknown = acknowledge_alert(&h.store, "no-such-alert", "officer-7")
        .await
        .unwrap_err();
    assert_eq!(unknown.status, 404);
}

async fn a_bad_param_is_refused_and_records_nothing(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let refused = h
        .deliver(&request(json!({"severity": "extreme"})))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, casework_bus::HandlerError::Refused(reason) if reason.contains("params.severity")),
        "{refused}"
    );
    assert!(h.actions().await.is_empty());
    assert!(h.emitted().await.is_empty());
}

on_both_backends!(
    a_refusal_records_the_action_asks_for_a_warning_and_raises_an_alert,
    params_turn_the_watchlist_and_the_alert_off,
    a_request_delivered_twice_acts_once,
    an_alert_is_acknowledged_once,
    a_bad_param_is_refused_and_records_nothing,
);
