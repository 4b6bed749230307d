//! The product scenarios, each `async fn(Backend)`: `products.rs` runs them
//! on SQLite and PostgreSQL with the embedded broker, `containers.rs` on
//! PostgreSQL and Apache Kafka in containers.

use std::time::Duration;

use casework_bus::BusSettings;
use casework_bus::producer::EventProducer;
use casework_bus::topics::{consumed_to_end, read_all};
use casework_contracts::Service;
use casework_contracts::catalogue::{dead_letter_topic, topic_of_service};
use casework_contracts::{Event, EventType, SchemaRegistry};
use casework_e2e::{
    Api, Up, config_with_transit_visa, database_env, eventually, example, import_records,
    timeline_kinds, wait_ready, workspace,
};
use casework_testkit::{
    Backend, CaseworkProcess, TempDir, TestBroker, TestDatabase, free_port, init_tracing,
    unique_prefix,
};
use rdkafka::message::{Headers, Message};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Publishes `data` as `service` would: an `event_type` event about
/// `case_id` on that service's topic (the test plays the service).
async fn publish_as(
    producer: &EventProducer,
    settings: &BusSettings,
    service: &str,
    event_type: &str,
    case_id: &str,
    data: Value,
) {
    let event = Event::new(
        format!("urn:casework:{service}"),
        EventType::new(event_type),
        case_id,
        data,
    );
    producer
        .send(
            &settings.prefixed(&topic_of_service(service)),
            &event.to_kafka(),
        )
        .await
        .expect("send");
}

/// The documents issued on a case.
async fn documents(api: &Api, reference: &str, token: &str) -> Vec<Value> {
    let (status, list) = api
        .get(&format!("fulfil/v1/documents?case={reference}"), token)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

/// The milestones the applicant was told of, once each.
async fn milestones(api: &Api, reference: &str, expected: usize, token: &str) -> Vec<String> {
    eventually(
        Duration::from_secs(30),
        &format!("{expected} notifications on {reference}"),
        async || {
            let (_, list) = api
                .get(
                    &format!("communicate/v1/notifications?case={reference}"),
                    token,
                )
                .await;
            let mut found: Vec<String> = list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["milestone"].as_str().map(str::to_owned))
                .collect();
            found.sort();
            if found.len() >= expected {
                Ok(found)
            } else {
                Err(list.to_string())
            }
        },
    )
    .await
}

/// A caseworker decides the case's open referral: the answer's status (200
/// made, 202 awaiting a second person's approval) and body.
async fn decide_referral(
    api: &Api,
    reference: &str,
    outcome: &str,
    token: &str,
) -> (StatusCode, Value) {
    let referral = eventually(
        Duration::from_secs(30),
        &format!("the referral of {reference}"),
        async || {
            let (_, page) = api.get("decide/v1/referrals?status=open", token).await;
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["reference"] == reference)
                .cloned()
                .ok_or_else(|| page.to_string())
        },
    )
    .await;
    let id = referral["id"].as_str().expect("referral id");
    let (status, problem) = api
        .post(
            &format!("decide/v1/referrals/{id}/decision"),
            Some(token),
            &json!({ "outcome": outcome, "reason": "   " }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is mandatory: {problem}"
    );
    let (status, decision) = api
        .post(
            &format!("decide/v1/referrals/{id}/decision"),
            Some(token),
            &json!({ "outcome": outcome, "reason": "Checked the evidence with the applicant by phone" }),
        )
        .await;
    assert!(
        matches!(status, StatusCode::OK | StatusCode::ACCEPTED),
        "{decision}"
    );
    (status, decision)
}

pub async fn each_product_runs_from_application_to_a_closed_case(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let api = Api::new(&up.process.base_url);
    let caseworker = up.process.token("caseworker");
    let officer = up.process.token("officer");
    import_records(&api, &up).await;

    // Visit visa, auto-granted: a visa with an MRV-A zone, three messages.
    let granted = api
        .submit("visit-visa", &example("visit-visa", "valid-tourist"))
        .await;
    let case = api.wait_for_status(&granted, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "granted", "{case}");
    let docs = documents(&api, &granted, &caseworker).await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["kind"], "visa");
    let mrz = docs[0]["mrz"].as_array().expect("a visa has an MRZ");
    assert!(
        mrz[0]
            .as_str()
            .unwrap()
            .starts_with("V<GBRDUBOIS<<AMELIE<CLAIRE"),
        "{mrz:?}"
    );
    assert_eq!(
        milestones(&api, &granted, 3, &caseworker).await,
        ["decided-grant", "document-issued", "received"]
    );
    // Caseworkers find it by surname (accents and case ignored) and status.
    let (status, page) = api
        .get(
            "register/v1/cases?surname=d%C3%BABOIS&date_of_birth=1988-04-12&status=closed",
            &caseworker,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["cases"][0]["reference"], granted.as_str());
    let (status, problem) = api
        .get(
            "register/v1/cases?status=lost&date_of_birth=12/04/1988",
            &caseworker,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // Visit visa with a passport reported lost: refused, enforcement action,
    // and a warnings-index entry for the applicant.
    let refused = api
        .submit("visit-visa", &example("visit-visa", "refuse-lost-passport"))
        .await;
    let case = api.wait_for_status(&refused, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "refused", "{case}");
    assert!(documents(&api, &refused, &caseworker).await.is_empty());
    let (_, actions) = api
        .get(&format!("enforce/v1/actions?case={refused}"), &officer)
        .await;
    assert_eq!(
        actions["items"].as_array().map(Vec::len),
        Some(1),
        "{actions}"
    );
    eventually(
        Duration::from_secs(30),
        "a warnings entry for the refused applicant",
        async || {
            let (_, entries) = api
                .get(
                    "investigate/v1/watchlist?surname=KOWALSKA&date_of_birth=1990-07-03",
                    &officer,
                )
                .await;
            match entries.as_array().map(Vec::len) {
                Some(1) => Ok(()),
                _ => Err(entries.to_string()),
            }
        },
    )
    .await;
    assert_eq!(
        milestones(&api, &refused, 2, &caseworker).await,
        ["decided-refuse", "received"]
    );

    // Visit visa with a warnings-index match: referred, then granted by a caseworker.
    let referred = api
        .submit("visit-visa", &example("visit-visa", "refer-warning"))
        .await;
    let case = api
        .wait_for_status(&referred, "referred", &caseworker)
        .await;
    // What the desk reads: the queue (several statuses, oldest first), the
    // case's referral, its identity check, and the application as received.
    let (status, queue) = api
        .get(
            "register/v1/cases?status=referred,stuck&sort=oldest&product=visit-visa",
            &caseworker,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert!(queue.to_string().contains(&referred), "{queue}");
    let (status, _) = api
        .get("register/v1/cases?sort=sideways", &caseworker)
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        case["application"]["applicant"]["surname"], "Petrov",
        "{case}"
    );
    let (_, referrals) = api
        .get(&format!("decide/v1/referrals?case={referred}"), &caseworker)
        .await;
    assert_eq!(referrals["total"], 1, "{referrals}");
    let (status, checks) = api
        .get(
            &format!(
                "identify/v1/identity-checks?case={}",
                case["case_id"].as_str().expect("case id")
            ),
            &caseworker,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{checks}");
    assert_eq!(checks[0]["confidence"], "high", "{checks}");
    decide_referral(&api, &referred, "grant", &caseworker).await;
    let case = api.wait_for_status(&referred, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "granted", "{case}");
    assert_eq!(documents(&api, &referred, &caseworker).await.len(), 1);

    // Passport renewal: a new passport with a TD3 zone.
    let renewal = api
        .submit(
            "passport-renewal",
            &example("passport-renewal", "valid-renewal"),
        )
        .await;
    let case = api.wait_for_status(&renewal, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "granted", "{case}");
    let docs = documents(&api, &renewal, &caseworker).await;
    assert_eq!(docs[0]["kind"], "passport");
    let mrz = docs[0]["mrz"].as_array().expect("a passport has an MRZ");
    assert!(
        mrz[0]
            .as_str()
            .unwrap()
            .starts_with("P<GBRBENNETT<<OLIVER<JAMES"),
        "{mrz:?}"
    );

    // Passport renewal with a stolen passport: refused with enforcement.
    let stolen = api
        .submit(
            "passport-renewal",
            &example("passport-renewal", "refuse-stolen-passport"),
        )
        .await;
    let case = api.wait_for_status(&stolen, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "refused", "{case}");

    // Passport renewal whose passport is someone else's: referred, refused by a caseworker.
    let mismatch = api
        .submit(
            "passport-renewal",
            &example("passport-renewal", "refer-document-mismatch"),
        )
        .await;
    api.wait_for_status(&mismatch, "referred", &caseworker)
        .await;
    // Passport renewal wants a second person for a refusal (`four_eyes`):
    // it waits, the caseworker may not approve it, a senior caseworker does.
    let (status, waiting) = decide_referral(&api, &mismatch, "refuse", &caseworker).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{waiting}");
    assert_eq!(waiting["status"], "awaiting-approval");
    let approval = format!(
        "decide/v1/referrals/{}/approval",
        waiting["id"].as_str().unwrap()
    );
    let (status, _) = api
        .post(&approval, Some(&caseworker), &json!({"approve": true}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a caseworker cannot approve");
    let own = up
        .process
        .token_with(&["--role", "senior-caseworker", "--sub", "test-caseworker"]);
    let (status, _) = api
        .post(&approval, Some(&own), &json!({"approve": true}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nor the proposer, promoted");
    let senior = up.process.token("senior-caseworker");
    let (status, approved) = api
        .post(&approval, Some(&senior), &json!({"approve": true}))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["approved_by"], "test-senior-caseworker");
    let case = api.wait_for_status(&mismatch, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "refused", "{case}");

    // Basic DBS check: the certificate discloses the unspent conviction.
    let dbs = api
        .submit(
            "dbs-basic-check",
            &example("dbs-basic-check", "valid-with-record"),
        )
        .await;
    let case = api.wait_for_status(&dbs, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "granted", "{case}");
    let docs = documents(&api, &dbs, &caseworker).await;
    assert_eq!(docs[0]["kind"], "dbs-certificate");
    let content = docs[0]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(
            "- Convicted 2025-09-15: Burglary (12 months' imprisonment, Reading Crown Court)"
        ),
        "{content}"
    );

    // Jordan Price, from the demo seed: fined in 2016 (spent since 2017)
    // and 30 months' custody from 2024-02-12 (unspent until 2030-08-12).
    // The certificate lists only the second.
    let seeded = up.run(&["seed"]);
    assert!(seeded.contains("criminal records"), "{seeded}");
    let price = api
        .submit(
            "dbs-basic-check",
            &example("dbs-basic-check", "valid-spent-and-unspent"),
        )
        .await;
    let case = api.wait_for_status(&price, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "granted", "{case}");
    let docs = documents(&api, &price, &caseworker).await;
    let content = docs[0]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(
            "- Convicted 2024-02-12: Fraud by abuse of position (30 months' imprisonment, Leeds Crown Court)"
        ),
        "{content}"
    );
    assert!(!content.contains("Theft from a shop"), "{content}");
    assert!(content.contains("Date of issue: 2026-12-06"), "{content}");
    let clean = api
        .submit(
            "dbs-basic-check",
            &example("dbs-basic-check", "valid-no-records"),
        )
        .await;
    api.wait_for_status(&clean, "closed", &caseworker).await;
    let docs = documents(&api, &clean, &caseworker).await;
    let content = docs[0]["content"].as_str().unwrap_or_default();
    assert!(content.contains("No criminal records held"), "{content}");

    every_event_on_the_broker_is_a_valid_cloudevent(&up).await;
}

/// Reads every topic back: each record is a CloudEvent whose payload
/// validates against its type's schema, and no DLQ holds anything.
async fn every_event_on_the_broker_is_a_valid_cloudevent(up: &Up) {
    let products = casework_products::ProductCatalogue::load(&workspace().join("config/products"))
        .expect("shipped products");
    let registry = SchemaRegistry::load(&workspace().join("schemas"), &products.schema_files())
        .expect("shipped schemas");
    let settings = BusSettings::new(&up.broker).with_prefix(&up.topic_prefix);
    let mut checked = 0;
    for service in Service::ALL {
        let topic = settings.prefixed(&service.topic());
        for message in read_all(&settings, &topic).await.expect("read topic") {
            let headers: Vec<(&str, Option<&[u8]>)> = message
                .headers()
                .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            let mut event = Event::from_kafka(headers, message.payload())
                .unwrap_or_else(|e| panic!("{topic}@{}: not a CloudEvent: {e}", message.offset()));
            registry
                .validate_event(&mut event)
                .unwrap_or_else(|e| panic!("{topic}@{}: {e}", message.offset()));
            assert_eq!(
                message
                    .key()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                Some(event.subject.clone()),
                "the record key is the aggregate id"
            );
            checked += 1;
        }
        let dead = read_all(&settings, &dead_letter_topic(&topic))
            .await
            .expect("read DLQ");
        assert!(dead.is_empty(), "{} dead letters on {topic}", dead.len());
    }
    assert!(checked > 50, "only {checked} events on the broker");
}

pub async fn a_returning_applicant_is_resolved_to_the_same_person(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let api = Api::new(&up.process.base_url);
    let caseworker = up.process.token("caseworker");
    let first = api
        .submit("visit-visa", &example("visit-visa", "valid-tourist"))
        .await;
    api.wait_for_status(&first, "closed", &caseworker).await;
    // The same person again, typing their name without accents.
    let mut again = example("visit-visa", "valid-tourist");
    again["applicant"]["given_names"] = json!("AMELIE CLAIRE");
    let second = api.submit("visit-visa", &again).await;
    let case = api.wait_for_status(&second, "closed", &caseworker).await;
    let timeline = case["timeline"].to_string();
    assert!(timeline.contains("returning person"), "{timeline}");
    let (_, people) = api
        .get(
            "identify/v1/persons?surname=Dubois&date_of_birth=1988-04-12",
            &caseworker,
        )
        .await;
    assert_eq!(people.as_array().map(Vec::len), Some(1), "{people}");
}

pub async fn a_product_defined_only_as_data_runs_end_to_end(backend: Backend) {
    let dir = TempDir::new("product");
    let fixtures = workspace().join("tests/fixtures/transit-visa");
    let env = config_with_transit_visa(dir.path(), false);
    let Some(up) = Up::start_with(backend, &env).await else {
        return;
    };
    let api = Api::new(&up.process.base_url);
    let caseworker = up.process.token("caseworker");
    let application: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("valid.json")).unwrap())
            .unwrap();
    let reference = api.submit("transit-visa", &application).await;
    assert!(reference.starts_with("TV-"), "{reference}");
    let case = api.wait_for_status(&reference, "closed", &caseworker).await;
    assert_eq!(case["outcome"], "granted", "{case}");
    let docs = documents(&api, &reference, &caseworker).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(
        milestones(&api, &reference, 3, &caseworker).await,
        ["decided-grant", "document-issued", "received"]
    );
    // The shipped products are not in this configuration.
    let (status, _) = api
        .post(
            "register/v1/applications/visit-visa",
            None,
            &example("visit-visa", "valid-tourist"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Register alone (`casework serve register`) against a broker this test
/// plays the other services on: the two results of a parallel stage,
/// each delivered many times under fresh event ids and all at once, must
/// advance the case exactly once.
pub async fn parallel_results_delivered_many_times_advance_the_case_once(backend: Backend) {
    init_tracing();
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let broker = TestBroker::shared();
    let dir = TempDir::new("join");
    let prefix = unique_prefix();
    let mut env = database_env(&db);
    env.push((
        "CASEWORK__KAFKA__BOOTSTRAP_SERVERS",
        broker.bootstrap.clone(),
    ));
    env.push(("CASEWORK__KAFKA__TOPIC_PREFIX", prefix.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listen = format!("127.0.0.1:{}", free_port());
    let register = CaseworkProcess::start(
        &workspace(),
        &["serve", "register", "--listen", &listen],
        &env,
        dir.path(),
    );
    wait_ready(&register.base_url).await;
    let api = Api::new(&register.base_url);
    let caseworker = register.token("caseworker");
    let reference = api
        .submit(
            "dbs-basic-check",
            &example("dbs-basic-check", "valid-no-records"),
        )
        .await;
    let case = api
        .wait_for_case(
            &reference,
            &caseworker,
            "the parallel stage's requests",
            |case| case["steps"].as_array().map(Vec::len) == Some(2),
        )
        .await;
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let step = |check: &str| {
        case["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["check"] == check)
            .and_then(|s| s["step_id"].as_str())
            .unwrap()
            .to_owned()
    };
    let identity = json!({
        "case_id": case_id, "step_id": step("identity"),
        "person_id": "0190f5c6-1111-7000-8000-000000000001", "returning": false,
        "match": { "method": "new-person", "explanation": "no one in the index" },
        "confidence": "high", "confidence_rank": 3, "evidence": ["played by the test"],
    });
    let records = json!({
        "case_id": case_id, "step_id": step("records"),
        "checks": ["criminal-records"], "findings": [],
    });
    // Copies of the application's arrival too: its case opens only once.
    let received = json!({
        "case_id": case_id, "reference": reference, "product": "dbs-basic-check",
        "received_at": case["received_at"], "channel": "online",
    });
    let settings = BusSettings::new(&broker.bootstrap).with_prefix(&prefix);
    let producer = EventProducer::new(&settings).expect("producer");
    const COPIES: usize = 25;
    let mut sends = Vec::new();
    for _ in 0..COPIES {
        for (service, event_type, data) in [
            ("identify", "identity.established.v1", &identity),
            ("investigate", "investigation.completed.v1", &records),
            ("register", "application.received.v1", &received),
        ] {
            let (producer, settings) = (producer.clone(), settings.clone());
            let (case_id, data) = (case_id.clone(), data.clone());
            sends.push(tokio::spawn(async move {
                publish_as(&producer, &settings, service, event_type, &case_id, data).await;
            }));
        }
    }
    for send in sends {
        send.await.unwrap();
    }
    let register_topic = settings.prefixed("casework.register");
    eventually(
        Duration::from_secs(60),
        "Register consumed every copy of application.received",
        async || match consumed_to_end(
            &settings,
            &settings.consumer_group("register"),
            &register_topic,
        )
        .await
        {
            Ok(true) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    )
    .await;
    api.wait_for_case(&reference, &caseworker, "the decision requested", |case| {
        case["steps"].as_array().is_some_and(|s| s.len() >= 3)
    })
    .await;
    // Let any extra advance show itself before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let case = api.case(&reference, &caseworker).await;
    let decisions: Vec<&Value> = case["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["check"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 1, "{case}");
    let kinds = timeline_kinds(&case);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "application.received")
            .count(),
        1,
        "{case}"
    );
    let refused = read_all(&settings, &dead_letter_topic(&register_topic))
        .await
        .expect("read register's dead letters")
        .iter()
        .filter(|m| {
            m.payload()
                .is_some_and(|p| String::from_utf8_lossy(p).contains(&case_id))
        })
        .count();
    assert_eq!(refused, 0, "copies of application.received were refused");
    let requested: Vec<Event> = read_all(&settings, &register_topic)
        .await
        .expect("read register's topic")
        .iter()
        .filter_map(|m| {
            let headers: Vec<(&str, Option<&[u8]>)> = m
                .headers()
                .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            Event::from_kafka(headers, m.payload()).ok()
        })
        .filter(|e| e.event_type.as_str() == "decide.requested.v1" && e.subject == case_id)
        .collect();
    assert_eq!(
        requested.len(),
        1,
        "decide.requested sent {} times",
        requested.len()
    );

    // A result for a step the case never asked for is dead-lettered, and the
    // case is marked stuck so a caseworker sees it.
    publish_as(
        &producer,
        &settings,
        "identify",
        "identity.established.v1",
        &case_id,
        json!({
            "case_id": case_id, "step_id": format!("{case_id}/checks/nothing-asked/1"),
            "person_id": "0190f5c6-1111-7000-8000-000000000003", "returning": false,
            "match": { "method": "new-person", "explanation": "played by the test" },
            "confidence": "low", "confidence_rank": 1, "evidence": [],
        }),
    )
    .await;
    let case = api
        .wait_for_case(&reference, &caseworker, "marked stuck", |case| {
            case["stuck_since"].is_string()
        })
        .await;
    assert!(
        case["timeline"]
            .to_string()
            .contains("could not be applied"),
        "{case}"
    );
    let letters = casework_bus::dead_letter::list(
        &settings,
        &casework_contracts::catalogue::dead_letter_topic(
            &settings.prefixed(&topic_of_service("identify")),
        ),
    )
    .await
    .expect("read the DLQ");
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0].error.contains("never asked for"),
        "{}",
        letters[0].error
    );
    // What an operator watches: the dead letter and the stuck case are
    // metrics, and the relay's published count and backlog.
    let metrics = casework_e2e::metrics(&register.base_url).await;
    assert_eq!(
        casework_e2e::metric(&metrics, "casework_dead_letters_total", "group=\"").map(|(_, v)| v),
        Some(1.0),
        "{metrics}"
    );
    assert!(
        casework_e2e::metric(
            &metrics,
            "casework_outbox_published_total",
            "database=\"register\""
        )
        .is_some_and(|(_, v)| v >= 2.0),
        "{metrics}"
    );
    // librdkafka reports lag every 15 s.
    casework_e2e::eventually(
        std::time::Duration::from_secs(40),
        "the stuck case, the backlog and the consumer's lag as metrics",
        async || {
            let metrics = casework_e2e::metrics(&register.base_url).await;
            let stuck = casework_e2e::metric(
                &metrics,
                "casework_cases_stuck",
                "product=\"dbs-basic-check\"",
            );
            let backlog =
                casework_e2e::metric(&metrics, "casework_outbox_backlog", "database=\"register\"");
            let lag = casework_e2e::metric(&metrics, "casework_consumer_lag", "group=\"");
            match (stuck, backlog, lag) {
                (Some((_, s)), Some(_), Some(_)) if s >= 1.0 => Ok(()),
                _ => Err(metrics),
            }
        },
    )
    .await;
}

/// Register alone against a broker no Identify listens on, with a product
/// whose identity check times out after a second: the case is marked stuck,
/// a caseworker asks again (a new attempt), and the first attempt's late
/// answer still completes the check and moves the case on.
pub async fn an_overdue_step_marks_the_case_stuck_and_a_late_result_still_counts(backend: Backend) {
    init_tracing();
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let broker = TestBroker::shared();
    let dir = TempDir::new("stuck");
    let root = dir.path().join("config");
    let fixtures = workspace().join("tests/fixtures/transit-visa");
    for sub in [
        "products",
        "templates/transit-visa",
        "rules/transit-visa",
        "schemas",
    ] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    let definition = std::fs::read_to_string(fixtures.join("transit-visa.toml"))
        .unwrap()
        .replace("timeout_seconds = 120 }", "timeout_seconds = 1 }");
    std::fs::write(root.join("products/transit-visa.toml"), definition).unwrap();
    std::fs::copy(
        fixtures.join("application.v2.json"),
        root.join("schemas/application.v2.json"),
    )
    .unwrap();
    let prefix = unique_prefix();
    let mut env = database_env(&db);
    env.push((
        "CASEWORK__KAFKA__BOOTSTRAP_SERVERS",
        broker.bootstrap.clone(),
    ));
    env.push(("CASEWORK__KAFKA__TOPIC_PREFIX", prefix.clone()));
    env.push((
        "CASEWORK__PATHS__PRODUCTS",
        root.join("products").display().to_string(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let listen = format!("127.0.0.1:{}", free_port());
    let data = dir.path().join("data");
    let register = CaseworkProcess::start(
        &workspace(),
        &["serve", "register", "--listen", &listen],
        &env,
        &data,
    );
    wait_ready(&register.base_url).await;
    let api = Api::new(&register.base_url);
    let caseworker = register.token("caseworker");
    let application: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("valid.json")).unwrap())
            .unwrap();
    let reference = api.submit("transit-visa", &application).await;

    // Nobody answers: within the sweep interval the case is stuck.
    let case = api
        .wait_for_case(&reference, &caseworker, "marked stuck", |case| {
            case["stuck_since"].is_string()
        })
        .await;
    assert_eq!(case["steps"][0]["status"], "stuck", "{case}");
    let (_, page) = api
        .get(
            "register/v1/cases?status=stuck&product=transit-visa",
            &caseworker,
        )
        .await;
    assert_eq!(page["total"], 1, "{page}");
    let first_step = case["steps"][0]["step_id"].as_str().unwrap().to_owned();

    // A caseworker asks again; asking about a check that is not stuck is refused.
    let (status, retried) = api
        .post(
            &format!("register/v1/cases/{reference}/checks/traveller/retry"),
            Some(&caseworker),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{retried}");
    assert!(
        retried["step_id"]
            .as_str()
            .unwrap()
            .ends_with("/traveller/2"),
        "{retried}"
    );
    let (status, _) = api
        .post(
            &format!("register/v1/cases/{reference}/checks/decision/retry"),
            Some(&caseworker),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The first attempt's answer arrives late: it completes the check.
    let case_id = case["case_id"].as_str().unwrap().to_owned();
    let settings = BusSettings::new(&broker.bootstrap).with_prefix(&prefix);
    let producer = EventProducer::new(&settings).expect("producer");
    publish_as(
        &producer,
        &settings,
        "identify",
        "identity.established.v1",
        &case_id,
        json!({
            "case_id": case_id, "step_id": first_step,
            "person_id": "0190f5c6-1111-7000-8000-000000000002", "returning": false,
            "match": { "method": "new-person", "explanation": "no one in the index" },
            "confidence": "high", "confidence_rank": 3, "evidence": ["played by the test"],
        }),
    )
    .await;
    let case = api
        .wait_for_case(&reference, &caseworker, "the decision stage", |case| {
            case["stage"] == "decision"
        })
        .await;
    let statuses: Vec<(&str, &str)> = case["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["check"] == "traveller")
        .map(|s| {
            (
                s["step_id"].as_str().unwrap(),
                s["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (first_step.as_str(), "done"),
            (retried["step_id"].as_str().unwrap(), "replaced")
        ],
        "{case}"
    );
    assert!(case["stuck_since"].is_null(), "no longer stuck: {case}");
    assert!(
        case["timeline"]
            .to_string()
            .contains("answered after its deadline"),
        "{case}"
    );
}
