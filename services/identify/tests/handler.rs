//! Identify's consumer against a real database, on SQLite and PostgreSQL:
//! each request in one write transaction, then the outbox read back.

mod common;

use casework_bus::{EventHandler, HandlerError};
use casework_testkit::Backend;
use common::*;
use serde_json::{Value, json};

fn evidence(event: &casework_contracts::Event) -> String {
    event.data["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

async fn a_first_application_is_a_new_person_with_high_confidence(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let case = case_id();
    let event = h
        .established(&request(&case, amelie(), Some(amelie_passport())))
        .await;
    assert_eq!(event.event_type.as_str(), "identity.established.v1");
    assert_eq!(event.subject, case, "keyed by the case");
    assert_eq!(event.traceparent.as_deref(), Some(TRACEPARENT));
    let data = &event.data;
    assert_eq!(data["case_id"], case.as_str());
    assert_eq!(data["step_id"], format!("{case}/checks/identity/1"));
    assert_eq!(data["returning"], false);
    assert_eq!(data["match"]["method"], "new-person");
    assert_eq!(data["confidence"], "high");
    assert_eq!(data["confidence_rank"], 3);
    assert_eq!(
        data["document"],
        json!({
            "valid": true,
            "failures": [],
            "format": "TD3",
            "document_number": "18AB12345",
            "issuing_state": "FRA",
            "nationality": "FRA",
            "date_of_expiry": "2030-01-01",
            "expired": false,
            "matches_applicant": true,
        })
    );
    let evidence = evidence(&event);
    assert!(
        evidence.contains("DUBOIS, AMELIE CLAIRE born 1988-04-12 is the applicant"),
        "{evidence}"
    );
    assert!(evidence.contains("confidence high"), "{evidence}");
    assert_eq!(h.count("persons").await, 1);
    assert_eq!(h.count("person_documents").await, 1);
    assert_eq!(h.count("identity_checks").await, 1);
}

async fn the_same_applicant_on_another_case_is_returning(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let first = h
        .established(&request(&case_id(), amelie(), Some(amelie_passport())))
        .await;
    // Written differently, the same person.
    let mut again = amelie();
    again["given_names"] = json!("AMELIE  claire");
    again["surname"] = json!("DUBÓIS");
    let second = h
        .established(&request(&case_id(), again, Some(amelie_passport())))
        .await;
    assert_eq!(second.data["returning"], true);
    assert_eq!(second.data["person_id"], first.data["person_id"]);
    assert_eq!(
        second.data["match"]["method"],
        "normalised-name-and-date-of-birth"
    );
    let explanation = second.data["match"]["explanation"]
        .as_str()
        .unwrap_or_default();
    assert!(
        explanation.contains("given names exact")
            && explanation.contains("surname exact")
            && explanation.contains("date of birth exact")
            && explanation.contains("identifier exact"),
        "{explanation}"
    );
    assert_eq!(second.data["match"]["decision"], "match");
    assert_eq!(
        second.data["match"]["candidate_person_id"],
        first.data["person_id"]
    );
    let weights = &second.data["match"]["weights"];
    assert!(
        weights["total"].as_f64().unwrap_or_default() >= 6.64,
        "{weights}"
    );
    assert_eq!(weights["fields"][0]["field"], "given_names");
    assert_eq!(second.data["confidence"], "high");
    assert_eq!(h.count("persons").await, 1);
    assert_eq!(
        h.count("person_documents").await,
        1,
        "the same passport once"
    );
    assert_eq!(h.count("identity_checks").await, 2);
}

async fn a_request_delivered_twice_is_answered_once(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let case = case_id();
    let event = request(&case, amelie(), Some(amelie_passport()));
    h.deliver(&event).await.expect("first delivery");
    // The same event again, and the same step under a new event id.
    h.deliver(&event).await.expect("second delivery");
    h.deliver(&request(&case, amelie(), Some(amelie_passport())))
        .await
        .expect("third delivery");
    assert_eq!(h.emitted().await.len(), 1, "one event");
    assert_eq!(h.count("persons").await, 1, "one person");
    assert_eq!(h.count("identity_checks").await, 1);
}

async fn a_bad_check_digit_gives_no_confidence_and_names_the_digit(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let mut mrz = amelie_passport();
    // The document number's check digit, misread.
    let right = mrz[1].chars().nth(9).expect("a check digit");
    let wrong = if right == '7' { '8' } else { '7' };
    mrz[1].replace_range(9..10, &wrong.to_string());
    let failure = format!("document number check digit is {wrong}, expected {right}");
    let event = h
        .established(&request(&case_id(), amelie(), Some(mrz)))
        .await;
    assert_eq!(
        event.data["document"],
        json!({ "valid": false, "failures": [failure] })
    );
    assert_eq!(event.data["confidence"], "none");
    assert_eq!(event.data["confidence_rank"], 0);
    let evidence = evidence(&event);
    assert!(evidence.contains(&failure), "{evidence}");
    assert!(evidence.contains("confidence none: the document presented failed validation"));
    // The applicant is still a person of the index; the document is not theirs.
    assert_eq!(h.count("persons").await, 1);
    assert_eq!(h.count("person_documents").await, 0);
}

async fn a_passport_of_someone_else_does_not_match(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let theirs = passport("Jeanne", "Dupont", "1990-06-01", "2031-05-31");
    let event = h
        .established(&request(&case_id(), amelie(), Some(theirs)))
        .await;
    let document = &event.data["document"];
    assert_eq!(document["valid"], true);
    assert_eq!(document["expired"], false);
    assert_eq!(document["matches_applicant"], false);
    assert_eq!(event.data["confidence"], "none");
    let evidence = evidence(&event);
    assert!(
        evidence.contains("its holder DUPONT, JEANNE born 1990-06-01 is not the applicant Dubois, Amélie Claire born 1988-04-12"),
        "{evidence}"
    );
    // The same name with another date of birth is someone else too.
    let twin = passport("Amélie Claire", "Dubois", "1988-04-13", "2031-05-31");
    let event = h
        .established(&request(&case_id(), amelie(), Some(twin)))
        .await;
    assert_eq!(event.data["document"]["matches_applicant"], false);
    assert_eq!(h.count("person_documents").await, 0);
}

async fn an_expired_passport_gives_medium_confidence(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    // Valid through the day before the application.
    let expired = passport("Amélie Claire", "Dubois", "1988-04-12", "2026-11-21");
    let event = h
        .established(&request(&case_id(), amelie(), Some(expired)))
        .await;
    let document = &event.data["document"];
    assert_eq!(document["valid"], true);
    assert_eq!(document["failures"], json!([]));
    assert_eq!(document["expired"], true);
    assert_eq!(document["date_of_expiry"], "2026-11-21");
    assert_eq!(document["matches_applicant"], true);
    assert_eq!(event.data["confidence"], "medium");
    assert_eq!(event.data["confidence_rank"], 2);
    let evidence = evidence(&event);
    assert!(
        evidence.contains("document expired on 2026-11-21 (checked on 2026-11-22)"),
        "{evidence}"
    );
    // Expiring on the application date itself is still in date.
    let last_day = passport("Amélie Claire", "Dubois", "1988-04-12", APPLICATION_DATE);
    let event = h
        .established(&request(&case_id(), amelie(), Some(last_day)))
        .await;
    assert_eq!(event.data["document"]["expired"], false);
    assert_eq!(event.data["confidence"], "high");
}

async fn without_a_document_the_ladder_uses_what_is_on_record(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let optional = json!({ "document_required": false });
    let required = h.established(&request(&case_id(), amelie(), None)).await;
    assert_eq!(required.data["confidence"], "none", "required but absent");
    assert!(required.data.get("document").is_none());
    // Returning, but nothing on record yet: stated details only.
    let stated = h
        .established(&request_with(&case_id(), amelie(), None, optional.clone()))
        .await;
    assert_eq!(stated.data["returning"], true);
    assert_eq!(stated.data["confidence"], "low");
    // A passport checked on a later case puts a document on record.
    h.established(&request(&case_id(), amelie(), Some(amelie_passport())))
        .await;
    let documented = h
        .established(&request_with(&case_id(), amelie(), None, optional.clone()))
        .await;
    assert_eq!(documented.data["confidence"], "medium");
    // Someone new with no document: low.
    let mut stranger = amelie();
    stranger["surname"] = json!("Martin");
    let new = h
        .established(&request_with(&case_id(), stranger, None, optional))
        .await;
    assert_eq!(new.data["returning"], false);
    assert_eq!(new.data["confidence"], "low");
}

async fn two_first_applications_at_once_make_one_person(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let h = std::sync::Arc::new(h);
    let first = request(&case_id(), amelie(), Some(amelie_passport()));
    let txn = h.store.begin_write().await.expect("begin");
    h.handler.handle(&txn, &first).await.expect("first handled");
    // The second starts before the first commits (on SQLite it waits for the
    // write lock; on PostgreSQL its insert waits for the first's row).
    let second = tokio::spawn({
        let h = h.clone();
        async move {
            h.deliver(&request(&case_id(), amelie(), Some(amelie_passport())))
                .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    h.store.commit(txn).await.expect("commit the first");
    second.await.expect("joined").expect("second handled");
    let emitted = h.emitted().await;
    assert_eq!(emitted.len(), 2);
    assert_eq!(emitted[1].data["returning"], true);
    assert_eq!(emitted[1].data["person_id"], emitted[0].data["person_id"]);
    assert_eq!(h.count("persons").await, 1);
}

async fn unusable_parameters_are_refused(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let event = request_with(
        &case_id(),
        amelie(),
        None,
        json!({ "document_required": "yes" }),
    );
    match h.deliver(&event).await {
        Err(HandlerError::Refused(reason)) => {
            assert!(reason.contains("params.document_required"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(h.emitted().await.len(), 0);
    assert_eq!(h.count("persons").await, 0, "rolled back");
}

async fn printed_fields_alone_give_medium_confidence_and_record_no_document(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let printed = json!({
        "number": "18AB12345",
        "issuing_state": "FRA",
        "issue_date": "2020-01-02",
        "expiry_date": "2030-01-01",
        "sex": "female",
    });
    let mut event = request(&case_id(), amelie(), None);
    event.data["printed_document"] = printed.clone();
    let established = h.established(&event).await;
    assert_eq!(established.data["confidence"], "medium");
    assert_eq!(established.data["confidence_rank"], 2);
    assert_eq!(
        established.data["document"],
        json!({
            "valid": true,
            "failures": [],
            "failure_codes": [],
            "basis": "printed-fields-only",
            "document_number": "18AB12345",
            "issuing_state": "FRA",
            "nationality": "FRA",
            "date_of_expiry": "2030-01-01",
            "expired": false,
        })
    );
    let evidence = evidence(&established);
    assert!(
        evidence.contains("the machine-readable zone was not seen"),
        "{evidence}"
    );
    assert_eq!(
        h.count("person_documents").await,
        0,
        "printed fields are not a document on record"
    );
    // Failing fields: no confidence, each failure with its code.
    let mut bad = request(&case_id(), amelie(), None);
    bad.data["printed_document"] = printed;
    bad.data["printed_document"]["issuing_state"] = json!("XYZ");
    bad.data["printed_document"]["issue_date"] = json!("2031-01-01");
    let refused = h.established(&bad).await;
    assert_eq!(refused.data["confidence"], "none");
    assert_eq!(refused.data["document"]["valid"], false);
    assert_eq!(
        refused.data["document"]["failure_codes"],
        json!([
            "issuing-state-unknown",
            "issue-date-not-before-expiry",
            "issue-date-in-future"
        ])
    );
    // A zone, when there is one, is what is read.
    let mut both = request(&case_id(), amelie(), Some(amelie_passport()));
    both.data["printed_document"] = bad.data["printed_document"].clone();
    let zone = h.established(&both).await;
    assert_eq!(zone.data["confidence"], "high");
    assert!(zone.data["document"].get("basis").is_none());
}

async fn an_applicant_in_cyrillic_then_in_latin_letters_is_one_person(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let subject = |given: &str, surname: &str| json!({"given_names": given, "surname": surname, "date_of_birth": "1979-03-08", "nationality": "RUS"});
    let first = h
        .established(&request_with(
            &case_id(),
            subject("Анна Сергеевна", "Иванова"),
            None,
            no_document(),
        ))
        .await;
    assert_eq!(first.data["returning"], false);
    let second = h
        .established(&request_with(
            &case_id(),
            subject("Anna Sergeevna", "IVANOVA"),
            None,
            no_document(),
        ))
        .await;
    assert_eq!(second.data["returning"], true, "{}", second.data["match"]);
    assert_eq!(second.data["person_id"], first.data["person_id"]);
    assert_eq!(second.data["match"]["decision"], "match");
    // And a third time with the middle name left out.
    let third = h
        .established(&request_with(
            &case_id(),
            subject("Anna", "Ivanova"),
            None,
            no_document(),
        ))
        .await;
    assert_eq!(
        third.data["person_id"], first.data["person_id"],
        "{}",
        third.data["match"]
    );
    // The same again on a fourth case: linked, but nothing new to compare.
    let fourth = h
        .established(&request_with(
            &case_id(),
            subject("Anna", "Ivanova"),
            None,
            no_document(),
        ))
        .await;
    assert_eq!(fourth.data["person_id"], first.data["person_id"]);
    assert_eq!(h.count("persons").await, 1);
    assert_eq!(h.count("person_records").await, 4);
    assert_eq!(h.count("person_records WHERE compared = true").await, 3);
}

async fn a_possible_match_gets_a_provisional_person_and_a_review(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let case = case_id();
    let (first, second) = amelie_then_perhaps(&h, &case).await;
    let person_match = &second.data["match"];
    assert_eq!(person_match["decision"], "possible-match", "{person_match}");
    assert_eq!(person_match["method"], "new-person");
    assert_eq!(second.data["returning"], false);
    assert_ne!(second.data["person_id"], first.data["person_id"]);
    assert_eq!(person_match["candidate_person_id"], first.data["person_id"]);
    let levels: Vec<(String, String)> = person_match["weights"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            (
                f["field"].as_str().unwrap_or_default().to_owned(),
                f["level"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        levels.contains(&("given_names".into(), "first_name".into())),
        "{levels:?}"
    );
    assert!(
        levels.contains(&("date_of_birth".into(), "one_digit".into())),
        "{levels:?}"
    );
    assert_eq!(h.count("match_reviews").await, 1);
    let review = person_match["review_id"].as_str().expect("a review id");
    assert!(
        person_match["explanation"]
            .as_str()
            .unwrap_or_default()
            .contains(review)
    );
    assert_eq!(h.count("persons").await, 2);
    // Someone else entirely: a new person, no review.
    let mut other = amelie();
    other["given_names"] = json!("Jean");
    other["surname"] = json!("Martin");
    let third = h
        .established(&request_with(&case_id(), other, None, no_document()))
        .await;
    assert_eq!(third.data["match"]["method"], "new-person");
    assert_ne!(third.data["match"]["decision"], "possible-match");
    assert_eq!(h.count("match_reviews").await, 1);
}

casework_testkit::on_both_backends!(
    an_applicant_in_cyrillic_then_in_latin_letters_is_one_person,
    a_possible_match_gets_a_provisional_person_and_a_review,
    a_first_application_is_a_new_person_with_high_confidence,
    the_same_applicant_on_another_case_is_returning,
    a_request_delivered_twice_is_answered_once,
    a_bad_check_digit_gives_no_confidence_and_names_the_digit,
    a_passport_of_someone_else_does_not_match,
    an_expired_passport_gives_medium_confidence,
    without_a_document_the_ladder_uses_what_is_on_record,
    two_first_applications_at_once_make_one_person,
    unusable_parameters_are_refused,
    printed_fields_alone_give_medium_confidence_and_record_no_document,
);
