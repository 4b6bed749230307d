//! Investigate against a real database, on SQLite and on PostgreSQL: the
//! consumer's checks and events, the enforcement feed, imports and seeding.

use casework_bus::{EventHandler, HandlerError};
use casework_contracts::{Event, EventType};
use casework_investigate::tables::watchlist_entry;
use casework_investigate::{
    DEMO_IDENTITIES, Dataset, ImportReport, Investigator, Migrator, SeedReport, import, seed,
};
use casework_runtime::Clock;
use casework_testkit::{Backend, Handled, apply_event, on_both_backends};
use chrono::NaiveDate;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The day these tests run on: the clock is fixed, so whether a record is
/// spent never depends on when the suite runs.
const TODAY: &str = "2026-12-06";

fn today() -> NaiveDate {
    TODAY.parse().unwrap()
}

/// Investigate's database and consumer, as `build` wires them.
type Investigate = Handled<Investigator>;

async fn start(backend: Backend) -> Option<Investigate> {
    Handled::start::<Migrator>(backend, "investigate", |outbox| {
        Investigator::new(
            outbox,
            casework_testkit::shipped_rehabilitation(),
            Clock::fixed(today()),
        )
    })
    .await
}

/// What Investigate's tests do besides delivering events.
trait Investigating {
    /// Imports an NDJSON body on [`TODAY`].
    async fn import(&self, dataset: Dataset, body: &str) -> ImportReport;
    /// Seeds the demo records and `people` generated ones on [`TODAY`].
    async fn seed(&self, people: usize) -> SeedReport;
    /// Screens `subject` and returns the one `investigation.completed` payload.
    async fn screen(&self, subject: Value, params: Value) -> Value;
}

impl Investigating for Investigate {
    async fn import(&self, dataset: Dataset, body: &str) -> ImportReport {
        let tables = casework_testkit::shipped_rehabilitation();
        import(
            &self.store,
            dataset,
            body.as_bytes(),
            tables.latest(),
            today(),
        )
        .await
        .expect("import")
    }

    async fn seed(&self, people: usize) -> SeedReport {
        let tables = casework_testkit::shipped_rehabilitation();
        seed(&self.store, people, tables.latest(), today())
            .await
            .expect("seed")
    }

    async fn screen(&self, subject: Value, params: Value) -> Value {
        let before = self.emitted().await.len();
        let request = requested(subject, params);
        self.deliver(&request).await.expect("applied");
        let emitted = self.emitted().await;
        assert_eq!(emitted.len(), before + 1, "one result per request");
        let completed = emitted.last().unwrap().clone();
        assert_eq!(completed.event_type.as_str(), "investigation.completed.v1");
        assert_eq!(completed.subject, request.data["case_id"].as_str().unwrap());
        assert_eq!(completed.data["step_id"], request.data["step_id"]);
        assert_eq!(completed.traceparent.as_deref(), Some(TRACEPARENT));
        completed.data
    }
}

fn requested(subject: Value, params: Value) -> Event {
    let case_id = uuid::Uuid::now_v7().to_string();
    Event::new(
        "/casework/register",
        EventType::new("investigate.requested.v1"),
        &case_id,
        json!({
            "case_id": case_id,
            "reference": "VV-7KQ4-M2XD-P",
            "product": "visit-visa",
            "step_id": format!("{case_id}/checks/screening/1"),
            "params": params,
            "subject": subject,
        }),
    )
    .with_traceparent(TRACEPARENT)
}

fn person(given_names: &str, surname: &str, date_of_birth: &str) -> Value {
    json!({"given_names": given_names, "surname": surname, "date_of_birth": date_of_birth})
}

fn kinds(result: &Value) -> Vec<&str> {
    result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect()
}

async fn nothing_found_for_a_clean_applicant(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    investigate.seed(30).await;
    let clean = DEMO_IDENTITIES[3];
    let result = investigate
        .screen(
            json!({
                "given_names": clean.given_names,
                "surname": clean.surname,
                "date_of_birth": clean.date_of_birth,
                "nationality": clean.nationality,
                "document_number": clean.document_number,
            }),
            json!({}),
        )
        .await;
    assert_eq!(
        result["checks"],
        json!(["warnings", "criminal-records", "lost-stolen-documents"])
    );
    assert_eq!(result["findings"], json!([]));
}

async fn a_warning_matches_whatever_the_accents_and_case(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    let line = r#"{"source_ref":"HO-W-1","given_names":"Zoë Anne","surname":"Ní Bhriain","date_of_birth":"1990-01-31","nationality":"IRL","category":"deception","severity":"medium","summary":"False statement on a 2021 application"}"#;
    let report = investigate.import(Dataset::Warnings, line).await;
    assert_eq!(report.accepted, 1);

    let result = investigate
        .screen(
            person("ZOE-ANNE", "ni  bhriain", "1990-01-31"),
            json!({"checks": ["warnings"]}),
        )
        .await;
    let finding = &result["findings"][0];
    assert_eq!(kinds(&result), ["warning"]);
    assert_eq!(finding["matched_on"], "name-and-date-of-birth");
    assert_eq!(finding["severity"], "medium");
    assert_eq!(finding["category"], "deception");
    assert_eq!(finding["summary"], "False statement on a 2021 application");

    // Another date of birth, or other given names, is someone else.
    for other in [
        person("Zoë Anne", "Ní Bhriain", "1990-01-30"),
        person("Zoë", "Ní Bhriain", "1990-01-31"),
    ] {
        let result = investigate.screen(other, json!({})).await;
        assert_eq!(result["findings"], json!([]));
    }
}

async fn convictions_are_found_with_whether_they_are_spent_today(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    investigate.seed(0).await;

    // Jordan Price: fined in 2016 (spent since 2017-05-10) and 30 months'
    // custody from 2024-02-12 (unspent until 2030-08-12). Unspent (high)
    // before spent (low); each carries its facts and the day's verdict.
    let result = investigate
        .screen(
            person("Jordan Avery", "Price", "1990-03-14"),
            json!({"checks": ["criminal-records"]}),
        )
        .await;
    assert_eq!(kinds(&result), ["criminal-record", "criminal-record"]);
    let findings = &result["findings"];
    assert_eq!(findings[0]["severity"], "high");
    assert_eq!(
        findings[0]["summary"],
        "Fraud by abuse of position (30 months' imprisonment, Leeds Crown Court)"
    );
    assert_eq!(findings[0]["recorded_on"], "2024-02-12");
    let conviction = &findings[0]["conviction"];
    assert_eq!(conviction["disposal_kind"], "custody");
    assert_eq!(conviction["sentence_length"], "30 months");
    let unspent = &conviction["rehabilitation"];
    assert_eq!(unspent["status"], "unspent");
    assert_eq!(unspent["spent_on"], "2030-08-12");
    assert_eq!(unspent["table_version"], 1);
    assert_eq!(unspent["assessed_on"], TODAY);
    assert!(
        unspent["reason"]
            .as_str()
            .unwrap()
            .starts_with("spent_on: 2030-08-12 (custody of 30 months"),
        "{unspent}"
    );
    assert_eq!(findings[1]["severity"], "low");
    assert_eq!(
        findings[1]["conviction"]["rehabilitation"]["status"],
        "spent"
    );
    assert_eq!(
        findings[1]["conviction"]["rehabilitation"]["spent_on"],
        "2017-05-10"
    );

    // John Smith's 18 months from 2019 were spent on 2024-11-17. A record
    // from an old feed, with a verdict and no facts, is stored, the verdict
    // ignored, and reported; it is undetermined, and since it came first it
    // may extend the later one's period, which is undetermined too.
    let smith = investigate
        .screen(person("John", "Smith", "1980-01-01"), json!({}))
        .await;
    assert_eq!(
        smith["findings"][0]["conviction"]["rehabilitation"]["status"],
        "spent"
    );
    let old = r#"{"source_ref":"PNC-2","given_names":"John","surname":"Smith","date_of_birth":"1980-01-01","offence":"Theft","disposal":"Fine","court":"Leeds Magistrates' Court","conviction_date":"2001-03-04","spent":true}"#;
    let report = investigate.import(Dataset::CriminalRecords, old).await;
    assert_eq!(report.accepted, 1);
    let notes: Vec<&str> = report.notes.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].starts_with("`spent` is ignored"), "{notes:?}");
    assert!(notes[1].contains("undetermined: "), "{notes:?}");
    let smith = investigate
        .screen(person("John", "Smith", "1980-01-01"), json!({}))
        .await;
    let statuses: Vec<&str> = smith["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["conviction"]["rehabilitation"]["status"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(statuses, ["undetermined", "undetermined"]);
}

async fn a_lost_document_is_found_by_its_number(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    investigate.seed(0).await;
    let mut subject = person("Someone", "Else", "1970-07-07");
    subject["document_number"] = json!("LOST12345");
    let result = investigate.screen(subject, json!({})).await;
    assert_eq!(kinds(&result), ["lost-stolen-document"]);
    let finding = &result["findings"][0];
    assert_eq!(finding["matched_on"], "document-number");
    assert_eq!(finding["severity"], "high");
    assert_eq!(finding["category"], "lost");
    assert_eq!(
        finding["summary"],
        "Document LOST12345 issued by ESP was reported lost on 2025-03-10"
    );
}

async fn only_the_requested_checks_run(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    investigate.seed(0).await;
    // Ivan Petrov, applying with the lost passport: on the warnings index too.
    let mut petrov = person("Ivan", "Petrov", "1975-02-14");
    petrov["document_number"] = json!("LOST12345");

    let result = investigate
        .screen(petrov.clone(), json!({"checks": ["criminal-records"]}))
        .await;
    assert_eq!(result["checks"], json!(["criminal-records"]));
    assert_eq!(result["findings"], json!([]));

    // Listed in any order, reported in the one order.
    let result = investigate
        .screen(
            petrov.clone(),
            json!({"checks": ["lost-stolen-documents", "warnings"]}),
        )
        .await;
    assert_eq!(
        result["checks"],
        json!(["warnings", "lost-stolen-documents"])
    );
    assert_eq!(kinds(&result), ["warning", "lost-stolen-document"]);
    assert_eq!(result["findings"][0]["severity"], "high");

    // A check nobody knows is a product definition to fix: refused, nothing emitted.
    let before = investigate.emitted().await.len();
    let refused = investigate
        .deliver(&requested(petrov, json!({"checks": ["palm-reading"]})))
        .await;
    assert!(
        matches!(refused, Err(HandlerError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(investigate.emitted().await.len(), before);
}

async fn a_request_delivered_twice_is_answered_once(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    let request = requested(person("Ada", "Lovelace", "1815-12-10"), json!({}));
    investigate.deliver(&request).await.unwrap();
    investigate.deliver(&request).await.unwrap();
    // The same step again under a new event id (a re-send): still once.
    let mut resent = request.clone();
    resent.id = casework_contracts::EventId::new();
    investigate.deliver(&resent).await.unwrap();
    let emitted = investigate.emitted().await;
    assert_eq!(emitted.len(), 1);
    assert_eq!(
        emitted[0].subject,
        request.data["case_id"].as_str().unwrap()
    );

    // Two deliveries of one step in concurrent transactions: the second
    // waits for the first, then finds the step answered (no unique-key error).
    let request = requested(person("Grace", "Hopper", "1906-12-09"), json!({}));
    let first = investigate.store.begin_write().await.unwrap();
    investigate.handler.handle(&first, &request).await.unwrap();
    let second = {
        let (store, registry, investigator) = (
            investigate.store.clone(),
            investigate.registry.clone(),
            investigate.handler.clone(),
        );
        let mut request = request.clone();
        request.id = casework_contracts::EventId::new();
        tokio::spawn(async move { apply_event(&store, &registry, &investigator, &request).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    investigate.store.commit(first).await.unwrap();
    second
        .await
        .unwrap()
        .expect("the second delivery applies cleanly");
    assert_eq!(investigate.emitted().await.len(), 2);
}

fn actioned(action_id: &str, watchlist: Value) -> Event {
    let case_id = uuid::Uuid::now_v7().to_string();
    Event::new(
        "/casework/enforce",
        EventType::new("enforcement.actioned.v1"),
        &case_id,
        json!({
            "case_id": case_id,
            "step_id": format!("{case_id}/outcome/enforce/1"),
            "action_id": action_id,
            "action": "refusal-false-document",
            "subject": {
                "given_names": "Olumide",
                "surname": "Adéyemí",
                "date_of_birth": "1984-11-02",
                "nationality": "NGA",
                "document_number": "A12345678",
            },
            "watchlist": watchlist,
        }),
    )
    .with_traceparent(TRACEPARENT)
}

async fn an_enforcement_action_adds_a_warning_once(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    // No entry asked for: nothing happens.
    investigate
        .deliver(&actioned(&uuid::Uuid::new_v4().to_string(), Value::Null))
        .await
        .unwrap();
    assert!(investigate.emitted().await.is_empty());

    let event = actioned(
        &uuid::Uuid::new_v4().to_string(),
        json!({"category": "false-document", "severity": "critical", "summary": "Presented a false passport"}),
    );
    investigate.deliver(&event).await.unwrap();
    let mut again = event.clone();
    again.id = casework_contracts::EventId::new();
    investigate.deliver(&again).await.unwrap();

    let entries = watchlist_entry::Entity::find()
        .all(investigate.store.connection())
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(entry.source, "enforcement");
    assert_eq!(
        entry.source_ref.as_deref(),
        event.data["action_id"].as_str()
    );
    assert_eq!(entry.normalised_surname, "ADEYEMI");

    let emitted = investigate.emitted().await;
    assert_eq!(emitted.len(), 1);
    let added = &emitted[0];
    let key = &added.subject;
    assert_eq!(added.event_type.as_str(), "watchlist.entry.added.v1");
    assert_eq!(key, &entry.id);
    assert_eq!(added.data["entry_id"], entry.id.as_str());
    assert_eq!(added.data["source"], "enforcement");
    assert_eq!(added.data["case_id"], event.data["case_id"]);
    assert_eq!(added.data["subject"], event.data["subject"]);
    assert_eq!(added.traceparent.as_deref(), Some(TRACEPARENT));

    // A later application by the same person finds it.
    let result = investigate
        .screen(
            person("OLUMIDE", "Adeyemi", "1984-11-02"),
            json!({"checks": ["warnings"]}),
        )
        .await;
    assert_eq!(kinds(&result), ["warning"]);
    assert_eq!(result["findings"][0]["source_id"], entry.id.as_str());
    assert_eq!(result["findings"][0]["severity"], "critical");
    assert_eq!(result["findings"][0]["category"], "false-document");
}

async fn an_import_reports_every_line_and_can_be_repeated(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    let file = [
        // 1: good
        r#"{"source_ref":"W-1","given_names":"Hamid","surname":"Haddad","date_of_birth":"1979-04-05","category":"overstayer","severity":"low","summary":"Overstayed by 3 weeks"}"#,
        // 2: blank, ignored
        "   ",
        // 3: an impossible date and an unknown severity
        r#"{"source_ref":"W-2","given_names":"Mei","surname":"Wang","date_of_birth":"1990-02-30","category":"c","severity":"severe","summary":"s"}"#,
        // 4: not JSON
        r#"{"source_ref":"W-3","given_names":"#,
        // 5: the same record as line 1
        r#"{"source_ref":"W-1","given_names":"Hamid","surname":"Haddad","date_of_birth":"1979-04-05","category":"overstayer","severity":"low","summary":"Overstayed by 3 weeks"}"#,
        // 6: good, with Windows line ending
        "{\"source_ref\":\"W-4\",\"given_names\":\"Siobhán\",\"surname\":\"O'Brien\",\"date_of_birth\":\"1985-12-01\",\"document_number\":\"ab 12<34\",\"category\":\"removal\",\"severity\":\"critical\",\"summary\":\"Removed in 2020\"}\r",
        // 7: a field the format does not have
        r#"{"source_ref":"W-5","given_names":"A","surname":"B","date_of_birth":"1980-01-01","category":"c","severity":"low","summary":"s","eye_colour":"brown"}"#,
    ]
    .join("\n");
    let report = investigate.import(Dataset::Warnings, &file).await;
    assert_eq!(report.accepted, 2);
    assert_eq!(report.duplicates, 1);
    let rejected: Vec<(usize, Vec<&str>)> = report
        .rejected
        .iter()
        .map(|r| {
            (
                r.line,
                r.errors.iter().map(|e| e.pointer.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (3, vec!["/date_of_birth", "/severity"]),
            (4, vec![""]),
            (7, vec!["/eye_colour"]),
        ]
    );
    let document = watchlist_entry::Entity::find()
        .all(investigate.store.connection())
        .await
        .unwrap()
        .into_iter()
        .find_map(|e| e.document_number);
    assert_eq!(document.as_deref(), Some("AB1234"));

    // The same file again stores nothing new.
    let again = investigate.import(Dataset::Warnings, &file).await;
    assert_eq!(
        again,
        ImportReport {
            accepted: 0,
            duplicates: 3,
            rejected: report.rejected.clone(),
            notes: vec![],
        }
    );
    assert_eq!(
        watchlist_entry::Entity::find()
            .count(investigate.store.connection())
            .await
            .unwrap(),
        2
    );

    // Documents are duplicates by number and issuing state too.
    let documents = [
        r#"{"source_ref":"D-1","document_number":"X1234567","issuing_state":"GBR","reported_on":"2024-01-02","status":"stolen"}"#,
        r#"{"source_ref":"D-2","document_number":"x123 4567","issuing_state":"GBR","reported_on":"2024-01-03","status":"lost"}"#,
        r#"{"source_ref":"D-3","document_number":"X1234567","issuing_state":"gbr","reported_on":"2999-01-01","status":"found"}"#,
    ]
    .join("\n");
    let report = investigate
        .import(Dataset::LostStolenDocuments, &documents)
        .await;
    assert_eq!((report.accepted, report.duplicates), (1, 1));
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].errors.len(), 3);

    let mut subject = person("Any", "One", "1990-01-01");
    subject["document_number"] = json!("X1234567");
    let result = investigate.screen(subject, json!({})).await;
    assert_eq!(result["findings"][0]["severity"], "critical");
}

async fn seeding_is_idempotent_and_the_demo_people_screen_as_documented(backend: Backend) {
    let Some(investigate) = start(backend).await else {
        return;
    };
    let first = investigate.seed(30).await;
    assert_eq!(
        first,
        SeedReport {
            warnings: 11,
            criminal_records: 13,
            lost_stolen_documents: 11,
            already_present: 0,
        }
    );
    let second = investigate.seed(30).await;
    assert_eq!(
        second,
        SeedReport {
            already_present: 35,
            ..SeedReport::default()
        }
    );
    for demo in DEMO_IDENTITIES {
        let result = investigate
            .screen(
                json!({
                    "given_names": demo.given_names,
                    "surname": demo.surname,
                    "date_of_birth": demo.date_of_birth,
                    "nationality": demo.nationality,
                    "document_number": demo.document_number,
                }),
                json!({}),
            )
            .await;
        let findings = result["findings"].as_array().unwrap();
        assert_eq!(
            findings.first().map(|f| f["kind"].as_str().unwrap()),
            demo.finding,
            "{}",
            demo.surname
        );
        assert_eq!(
            findings.first().map(|f| f["severity"].as_str().unwrap()),
            demo.severity,
            "{}",
            demo.surname
        );
        // Jordan Price has two convictions; everyone else one record at most.
        let most = if demo.surname == "PRICE" { 2 } else { 1 };
        assert!(findings.len() <= most, "{}: {findings:?}", demo.surname);
    }
}

on_both_backends!(
    nothing_found_for_a_clean_applicant,
    a_warning_matches_whatever_the_accents_and_case,
    convictions_are_found_with_whether_they_are_spent_today,
    a_lost_document_is_found_by_its_number,
    only_the_requested_checks_run,
    a_request_delivered_twice_is_answered_once,
    an_enforcement_action_adds_a_warning_once,
    an_import_reports_every_line_and_can_be_repeated,
    seeding_is_idempotent_and_the_demo_people_screen_as_documented,
);
