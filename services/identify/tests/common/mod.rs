//! What the handler and HTTP tests share: a migrated database, the handler,
//! and requests built from the visit-visa example application.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use casework_contracts::{Event, EventType};
use casework_identify::{Identifier, Migrator, PersonIndex};
use casework_mrz::{Format, MrzFields, Sex};
use casework_testkit::{Backend, Handled};
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

/// The day every test application is made.
pub const APPLICATION_DATE: &str = "2026-11-22";
/// A traceparent the emitted event must carry on.
pub const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn date(text: &str) -> NaiveDate {
    text.parse().expect("a date")
}

/// A migrated Identify database and its consumer's handler.
pub type Harness = Handled<Identifier>;

/// `None` when the backend is not configured (PostgreSQL without
/// `CASEWORK_TEST_DATABASE_URL`; the test kit says SKIPPED).
pub async fn start(backend: Backend) -> Option<Harness> {
    let persons = person_index();
    Handled::start::<Migrator>(backend, "identify", |outbox| {
        Identifier::new(outbox, persons)
    })
    .await
}

/// The person index on the shipped policy and model (`config/matching/`).
pub fn person_index() -> Arc<PersonIndex> {
    Arc::new(
        PersonIndex::load(&repo().join("config/matching/person.toml")).expect("the person policy"),
    )
}

/// What Identify's tests do with the harness besides delivering.
pub trait Identified {
    /// Delivers `event` and returns the one event it emitted.
    async fn established(&self, event: &Event) -> Event;
    /// How many rows `table` has.
    async fn count(&self, table: &str) -> i64;
    /// How many audit records name subject `id` of `kind`.
    async fn audited(&self, kind: &str, id: &str) -> i64;
}

impl Identified for Harness {
    async fn established(&self, event: &Event) -> Event {
        let before = self.emitted().await.len();
        self.deliver(event).await.expect("handled");
        let emitted = self.emitted().await;
        assert_eq!(emitted.len(), before + 1, "one event per request");
        emitted.last().cloned().expect("an event")
    }

    async fn count(&self, table: &str) -> i64 {
        let db = self.store.connection();
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("a count")
    }

    async fn audited(&self, kind: &str, id: &str) -> i64 {
        let db = self.store.connection();
        let backend = db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => {
                "SELECT COUNT(*) AS n FROM audit_subjects WHERE kind = $1 AND subject = $2"
            }
            _ => "SELECT COUNT(*) AS n FROM audit_subjects WHERE kind = ? AND subject = ?",
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [kind.into(), id.into()],
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("a count")
    }
}

/// The example application's applicant and passport.
pub fn tourist() -> Value {
    let path = repo().join("schemas/products/visit-visa/examples/valid-tourist.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the example")).expect("JSON")
}

/// The example applicant as the request's subject.
pub fn amelie() -> Value {
    tourist()["applicant"].clone()
}

/// Perhaps the example applicant: the middle name missing and the day of
/// birth one off — a possible match for her, not a match.
pub fn perhaps_amelie() -> Value {
    let mut perhaps = amelie();
    perhaps["given_names"] = json!("Amelie");
    perhaps["date_of_birth"] = json!("1988-04-13");
    perhaps
}

/// The example applicant, then perhaps her ([`perhaps_amelie`]) on case
/// `case`: the two `identity.established` events.
pub async fn amelie_then_perhaps(h: &Harness, case: &str) -> (Event, Event) {
    let first = h
        .established(&request_with(&case_id(), amelie(), None, no_document()))
        .await;
    let second = h
        .established(&request_with(case, perhaps_amelie(), None, no_document()))
        .await;
    (first, second)
}

/// `params` of a product that asks for no document: only names, date of
/// birth and nationality are then compared.
pub fn no_document() -> Value {
    json!({ "document_required": false })
}

/// The zone of the example's passport, as printed in the example.
///
/// Its name line is right but three check digits of its second line are not
/// (document number, date of birth, date of expiry): the example is only
/// schema-valid. See [`amelie_passport`].
pub fn example_passport() -> Vec<String> {
    serde_json::from_value(tourist()["passport"]["mrz"].clone()).expect("lines")
}

/// The example's passport with correct check digits: the same holder,
/// document number 18AB12345, expiring 2030-01-01.
pub fn amelie_passport() -> Vec<String> {
    let applicant = amelie();
    let zone = numbered_passport(
        "18AB12345",
        applicant["given_names"].as_str().expect("given names"),
        applicant["surname"].as_str().expect("surname"),
        applicant["date_of_birth"].as_str().expect("date of birth"),
        "2030-01-01",
    );
    assert_eq!(zone[0], example_passport()[0], "the example's name line");
    zone
}

/// A TD3 passport zone for someone.
pub fn passport(given_names: &str, surname: &str, born: &str, expires: &str) -> Vec<String> {
    numbered_passport("21CD98765", given_names, surname, born, expires)
}

/// A TD3 passport zone with a given document number.
pub fn numbered_passport(
    number: &str,
    given_names: &str,
    surname: &str,
    born: &str,
    expires: &str,
) -> Vec<String> {
    let fields = MrzFields {
        document_code: "P".into(),
        issuing_state: "FRA".into(),
        surname: surname.into(),
        given_names: given_names.into(),
        document_number: number.into(),
        nationality: "FRA".into(),
        date_of_birth: date(born),
        sex: Sex::Female,
        date_of_expiry: date(expires),
        optional_data: String::new(),
        optional_data_2: String::new(),
    };
    casework_mrz::build(&fields, Format::Td3)
        .expect("builds")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A new case id.
pub fn case_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `identify.requested` for the case's identity check (attempt 1).
pub fn request(case_id: &str, subject: Value, mrz: Option<Vec<String>>) -> Event {
    request_with(case_id, subject, mrz, json!({ "document_required": true }))
}

/// `identify.requested` with the given parameters.
pub fn request_with(
    case_id: &str,
    subject: Value,
    mrz: Option<Vec<String>>,
    params: Value,
) -> Event {
    let mut data = json!({
        "case_id": case_id,
        "reference": "VV-7KQ4-M2XD-P",
        "product": "visit-visa",
        "step_id": format!("{case_id}/checks/identity/1"),
        "params": params,
        "application_date": APPLICATION_DATE,
        "subject": subject,
    });
    if let Some(mrz) = mrz {
        data["document"] = json!({ "mrz": mrz });
    }
    Event::new(
        "/casework/register",
        EventType::new("identify.requested.v1"),
        case_id,
        data,
    )
    .with_traceparent(TRACEPARENT)
}
