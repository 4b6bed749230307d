//! Identify's API behind the platform's access middleware, on both
//! databases: the person index read back, searches, and document checks.

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::middleware::from_fn;
use actix_web::{App, test, web};
use casework_identify::{IdentifyApi, NAME, links, routes};
use casework_runtime::Authenticator;
use casework_runtime::auth::PolicyTable;
use casework_runtime::http::{HttpState, complete_openapi, guard};
use casework_runtime::platform::metrics_handle;
use casework_testkit::{Backend, TempDir};
use common::*;
use serde_json::{Value, json};
use utoipa::OpenApi;

/// An answer: status, whether it is problem+json, and the JSON body.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    problem: bool,
    body: Value,
}

/// What a client would receive, whether the route answered or the
/// middleware refused.
async fn answer<B: MessageBody + 'static>(
    result: Result<ServiceResponse<B>, actix_web::Error>,
) -> Answer {
    let response = match result {
        Ok(response) => response.into_parts().1.map_into_boxed_body(),
        Err(err) => err.error_response(),
    };
    let status = response.status();
    let problem = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap_or_default();
    Answer {
        status,
        problem,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn assert_problem(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(answer.problem, "problem+json: {answer:?}");
}

/// Identify's routes behind the platform's middleware, on `h`'s database,
/// and a function making bearer tokens with roles and scopes.
macro_rules! identify_api {
    ($h:expr) => {{
        let keys = TempDir::new("identify-keys");
        let auth =
            Arc::new(Authenticator::embedded(keys.path(), "casework", "casework").expect("key"));
        let mut policies = PolicyTable::default();
        policies.add_openapi(
            &format!("/api/{NAME}"),
            &complete_openapi(NAME, IdentifyApi::openapi()),
        );
        let state = web::Data::new(HttpState {
            auth: auth.clone(),
            policies,
            max_body_bytes: 64 * 1024,
            services: Vec::new(),
            metrics: metrics_handle(),
            audit: [(
                NAME.to_owned(),
                casework_runtime::audit::AuditLog::start($h.store.clone()),
            )]
            .into(),
            limits: casework_runtime::limits::Limits::none(),
        });
        let routes = routes(
            $h.store.clone(),
            $h.outbox.clone(),
            casework_runtime::Clock::system(),
            common::person_index(),
            1024 * 1024,
        );
        let app = test::init_service(
            App::new()
                .app_data(state)
                .wrap(from_fn(guard))
                .service(web::scope("/api/identify").configure(move |cfg| routes(cfg))),
        )
        .await;
        let token = move |roles: &[&str], scopes: &[&str]| {
            let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            let token = auth
                .issue(
                    "tester",
                    &owned(roles),
                    &owned(scopes),
                    Duration::from_secs(600),
                )
                .expect("token");
            format!("Bearer {token}")
        };
        (app, token, keys)
    }};
}

async fn the_api_serves_the_index_and_checks_documents(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let established = h
        .established(&request(&case_id(), amelie(), Some(amelie_passport())))
        .await;
    let person_id = established.data["person_id"]
        .as_str()
        .expect("id")
        .to_owned();

    let (app, token, _keys) = identify_api!(h);
    let caseworker = token(&["caseworker"], &[]);
    let auditor = token(&["auditor"], &[]);
    let officer = token(&["officer"], &[]);
    let department = token(&[], &["identity-check"]);
    let get = |path: &str, bearer: &str| {
        let request = test::TestRequest::get()
            .uri(&format!("/api/identify{path}"))
            .insert_header(("Purpose", "test"));
        let request = if bearer.is_empty() {
            request
        } else {
            request.insert_header(("authorization", bearer.to_owned()))
        };
        test::try_call_service(&app, request.to_request())
    };
    let post = |body: Value, bearer: &str| {
        let request = test::TestRequest::post()
            .uri("/api/identify/v1/document-checks")
            .insert_header(("authorization", bearer.to_owned()))
            .set_json(body);
        test::try_call_service(&app, request.to_request())
    };
    let person_path = format!("/v1/persons/{person_id}");

    // A person, with the passport and the check.
    for reader in [&caseworker, &auditor, &token(&["senior-caseworker"], &[])] {
        let person = answer(get(&person_path, reader).await).await;
        assert_eq!(person.status, StatusCode::OK);
        let person = person.body;
        assert_eq!(person["id"], person_id.as_str());
        assert_eq!(person["surname"], "Dubois");
        assert_eq!(person["given_names"], "Amélie Claire");
        assert_eq!(person["normalised_given_names"], "AMELIE CLAIRE");
        assert_eq!(person["normalised_surname"], "DUBOIS");
        assert_eq!(person["date_of_birth"], "1988-04-12");
        assert_eq!(person["nationality"], "FRA");
        assert_eq!(person["documents"][0]["document_number"], "18AB12345");
        assert_eq!(person["documents"][0]["expiry"], "2030-01-01");
        assert_eq!(person["checks"][0]["confidence"], "high");
        assert_eq!(person["checks"][0]["result"], established.data);
    }

    // Deny by default: no token, another role, a department scope.
    assert_problem(
        &answer(get(&person_path, "").await).await,
        StatusCode::UNAUTHORIZED,
    );
    assert_problem(
        &answer(get(&person_path, &officer).await).await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &answer(get(&person_path, &department).await).await,
        StatusCode::FORBIDDEN,
    );

    // Unknown and malformed ids are not found.
    let unknown = format!("/v1/persons/{}", uuid::Uuid::new_v4());
    assert_problem(
        &answer(get(&unknown, &caseworker).await).await,
        StatusCode::NOT_FOUND,
    );
    assert_problem(
        &answer(get("/v1/persons/not-a-uuid", &caseworker).await).await,
        StatusCode::NOT_FOUND,
    );

    // Search on the normalised surname, optionally the date of birth.
    for query in [
        "surname=dubois",
        "surname=Dub%C3%B3is&date_of_birth=1988-04-12",
        "surname=%20DUBOIS%20",
    ] {
        let found = answer(get(&format!("/v1/persons?{query}"), &caseworker).await).await;
        assert_eq!(found.status, StatusCode::OK, "{query}");
        assert_eq!(found.body.as_array().map(Vec::len), Some(1), "{query}");
        assert_eq!(found.body[0]["id"], person_id.as_str());
        assert!(found.body[0].get("documents").is_none(), "a summary only");
    }
    let none = answer(
        get(
            "/v1/persons?surname=Dubois&date_of_birth=1988-04-13",
            &caseworker,
        )
        .await,
    )
    .await;
    assert_eq!((none.status, none.body), (StatusCode::OK, json!([])));
    let refused = answer(get("/v1/persons?date_of_birth=12/04/1988", &caseworker).await).await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> = refused.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/surname", "/date_of_birth"]);
    assert_problem(
        &answer(get("/v1/persons?surname=Dubois", &officer).await).await,
        StatusCode::FORBIDDEN,
    );

    // Document checks, for a department and for caseworkers.
    let report = answer(
        post(
            json!({ "mrz": amelie_passport(), "on": APPLICATION_DATE }),
            &department,
        )
        .await,
    )
    .await;
    assert_eq!(report.status, StatusCode::OK);
    let report = report.body;
    assert_eq!(report["valid"], true);
    assert_eq!(report["failures"], json!([]));
    assert_eq!(report["checked_on"], APPLICATION_DATE);
    assert_eq!(report["expired"], false);
    assert_eq!(report["format"], "TD3");
    assert_eq!(report["document_number"], "18AB12345");
    assert_eq!(report["zone"]["surname"], "DUBOIS");
    assert_eq!(report["zone"]["given_names"], "AMELIE CLAIRE");
    assert_eq!(report["zone"]["date_of_birth"], "1988-04-12");
    assert_eq!(report["zone"]["sex"], "female");
    assert!(report.get("matches_applicant").is_none());

    let mut misread = amelie_passport();
    let right = misread[1]
        .chars()
        .nth(19)
        .expect("date of birth check digit");
    let wrong = if right == '0' { '1' } else { '0' };
    misread[1].replace_range(19..20, &wrong.to_string());
    let report = answer(
        post(
            json!({ "mrz": misread, "on": APPLICATION_DATE }),
            &caseworker,
        )
        .await,
    )
    .await;
    assert_eq!(
        report.status,
        StatusCode::OK,
        "a failed document is an answer"
    );
    assert_eq!(
        report.body["failures"],
        json!([format!(
            "date of birth check digit is {wrong}, expected {right}"
        )])
    );
    assert_eq!(report.body["valid"], false);
    assert!(report.body.get("zone").is_none());

    let expired = passport("Amélie Claire", "Dubois", "1988-04-12", "2020-01-01");
    let report = answer(post(json!({ "mrz": expired }), &caseworker).await).await;
    assert_eq!(report.body["valid"], true);
    assert_eq!(report.body["expired"], true);

    let bad = answer(post(json!({ "mrz": "P<FRA", "on": "tomorrow" }), &caseworker).await).await;
    assert_problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"].as_array().map(Vec::len), Some(2));
    let not_json = test::TestRequest::post()
        .uri("/api/identify/v1/document-checks")
        .insert_header(("authorization", caseworker.clone()))
        .insert_header(("content-type", "application/json"))
        .set_payload("{not json")
        .to_request();
    assert_problem(
        &answer(test::try_call_service(&app, not_json).await).await,
        StatusCode::BAD_REQUEST,
    );
    assert_problem(
        &answer(post(json!({ "mrz": amelie_passport() }), &auditor).await).await,
        StatusCode::FORBIDDEN,
    );
}

async fn imports_link_records_in_order_and_reviews_show_possible_matches(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let (app, token, _keys) = identify_api!(h);
    let importer = token(&[], &["records-import"]);
    let caseworker = token(&["caseworker"], &[]);
    let import = |body: String, bearer: &str, content_type: &str| {
        let request = test::TestRequest::post()
            .uri("/api/identify/v1/imports/persons")
            .insert_header(("authorization", bearer.to_owned()))
            .insert_header(("content-type", content_type.to_owned()))
            .set_payload(body);
        test::try_call_service(&app, request.to_request())
    };
    let lines = [
        json!({"source_id": "HMPO-1", "given_names": "Ivan", "surname": "Petrov", "date_of_birth": "1975-02-14",
               "nationality": "RUS", "identifiers": [{"scheme": "passport:RUS", "value": "723456789"}]}),
        // The same man, in Cyrillic, with his passport: links to line 1.
        json!({"source_id": "HMPO-2", "given_names": "Иван", "surname": "Петров", "date_of_birth": "1975-02-14",
               "identifiers": [{"scheme": "passport:RUS", "value": "723456789"}]}),
        // Malformed optional fields are left out, not refused.
        json!({"source_id": "HMPO-3", "given_names": "Olga", "surname": "Smirnova", "date_of_birth": 1981,
               "sex": ["F"], "address": "nowhere", "identifiers": "none"}),
        // Her again, with only a year of birth: too little to link.
        json!({"source_id": "HMPO-4", "given_names": "Olga", "surname": "Smirnova", "date_of_birth": "1981",
               "address": {"lines": ["1 High Street"], "postcode": "LS1 4AP"}}),
    ];
    let mut body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    body.push_str("\n{\"given_names\": \"No source id\", \"surname\": \"X\"}\nnot json\n");
    let report = answer(import(body.clone(), &importer, "application/x-ndjson").await).await;
    assert_eq!(report.status, StatusCode::OK, "{report:?}");
    let report = report.body;
    let decisions: Vec<&str> = report["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["decision"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(decisions[0], "new");
    assert_eq!(decisions[1], "match", "{report}");
    assert_eq!(
        report["lines"][1]["person_id"],
        report["lines"][0]["person_id"]
    );
    assert!(report["lines"][1]["score"].as_f64().unwrap_or_default() >= 6.64);
    assert_eq!(decisions[2], "new");
    assert_ne!(
        report["lines"][3]["person_id"],
        report["lines"][0]["person_id"]
    );
    assert_eq!(report["rejected"][0]["line"], 6, "{report}");
    assert_eq!(report["rejected"][0]["errors"][0]["pointer"], "/source_id");
    assert_eq!(report["rejected"][1]["line"], 7);
    assert_eq!(report["matched"], 1);

    // The same file again changes nothing.
    let again = answer(import(body, &importer, "application/x-ndjson").await).await;
    assert_eq!(again.body["already_imported"], 4, "{:?}", again.body);
    assert_eq!(
        again.body["lines"][1]["person_id"],
        report["lines"][1]["person_id"]
    );
    assert_eq!(h.count("person_records").await, 4);

    // Only as NDJSON, only with the scope, only up to the limit.
    assert_problem(
        &answer(import("{}".into(), &importer, "application/json").await).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    assert_problem(
        &answer(import("{}".into(), &caseworker, "application/x-ndjson").await).await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &answer(
            import(
                "\n".repeat(1024 * 1024 + 1),
                &importer,
                "application/x-ndjson",
            )
            .await,
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );

    // A possible match from an application shows in the review queue with
    // both records and the weights.
    let case = case_id();
    let (first, second) = amelie_then_perhaps(&h, &case).await;
    assert_eq!(second.data["match"]["decision"], "possible-match");
    let get = |path: &str, bearer: &str| {
        let request = test::TestRequest::get()
            .uri(&format!("/api/identify{path}"))
            .insert_header(("authorization", bearer.to_owned()));
        test::try_call_service(&app, request.to_request())
    };
    let queue = answer(get("/v1/reviews", &caseworker).await).await;
    assert_eq!(queue.status, StatusCode::OK, "{queue:?}");
    let review = queue.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["case_id"] == case.as_str())
        .cloned()
        .expect("the application's review");
    assert_eq!(review["id"], second.data["match"]["review_id"]);
    assert_eq!(review["record"]["person_id"], second.data["person_id"]);
    assert_eq!(review["record"]["record"]["given_names"], "Amelie");
    assert_eq!(review["candidate"]["person_id"], first.data["person_id"]);
    assert_eq!(
        review["candidate"]["record"]["given_names"],
        "Amélie Claire"
    );
    assert_eq!(review["explanation"], second.data["match"]["weights"]);
    assert_problem(
        &answer(get("/v1/reviews", &importer).await).await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &answer(get("/v1/reviews?limit=0", &caseworker).await).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
}

/// A JSON request to Identify's API as `bearer`.
fn json_request(method: &str, path: &str, bearer: &str, body: Option<Value>) -> test::TestRequest {
    let request = match method {
        "POST" => test::TestRequest::post(),
        _ => test::TestRequest::get(),
    }
    .uri(&format!("/api/identify{path}"))
    .insert_header(("authorization", bearer.to_owned()));
    match body {
        Some(body) => request.set_json(body),
        None => request,
    }
}

/// The events of `event_type` in the outbox (each checked against its schema).
async fn emitted_of(h: &Harness, event_type: &str) -> Vec<Value> {
    h.emitted()
        .await
        .into_iter()
        .filter(|e| e.event_type.as_str() == event_type)
        .map(|e| e.data)
        .collect()
}

/// A possible match raised by an application ([`amelie_then_perhaps`]).
struct PossibleMatch {
    /// The second application's case.
    case: String,
    /// The review task.
    review_id: String,
    /// The first applicant's person.
    known: String,
    /// The provisional person the second was given.
    provisional: String,
}

async fn possible_match(h: &Harness) -> PossibleMatch {
    let case = case_id();
    let (first, second) = amelie_then_perhaps(h, &case).await;
    let id = |event: &casework_contracts::Event, pointer: &str| {
        event
            .data
            .pointer(pointer)
            .and_then(Value::as_str)
            .expect(pointer)
            .to_owned()
    };
    PossibleMatch {
        review_id: id(&second, "/match/review_id"),
        known: id(&first, "/person_id"),
        provisional: id(&second, "/person_id"),
        case,
    }
}

async fn a_possible_match_linked_from_the_queue_and_a_wrong_link_split(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let (app, token, _keys) = identify_api!(h);
    let call = |request: test::TestRequest| test::try_call_service(&app, request.to_request());
    let caseworker = token(&["caseworker"], &[]);
    let auditor = token(&["auditor"], &[]);
    let PossibleMatch {
        case,
        review_id,
        known,
        provisional,
    } = possible_match(&h).await;
    let decide = |bearer: &str, body: Value| {
        json_request(
            "POST",
            &format!("/v1/reviews/{review_id}/decision"),
            bearer,
            Some(body),
        )
    };

    // Bad answers are refused, naming each field, and change nothing.
    let refused = answer(
        call(decide(
            &caseworker,
            json!({"decision": "maybe", "reason": " "}),
        ))
        .await,
    )
    .await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> = refused.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/decision", "/reason"]);
    assert_problem(
        &answer(call(decide(&auditor, json!({"decision": "link", "reason": "x"}))).await).await,
        StatusCode::FORBIDDEN,
    );
    assert_problem(
        &answer(
            call(json_request(
                "POST",
                "/v1/reviews/no-such-task/decision",
                &caseworker,
                Some(json!({"decision": "link", "reason": "x"})),
            ))
            .await,
        )
        .await,
        StatusCode::NOT_FOUND,
    );
    assert!(emitted_of(&h, "person.merged.v1").await.is_empty());

    // Linked: the provisional person is merged into the known one.
    let linked = answer(
        call(decide(
            &caseworker,
            json!({"decision": "link",
        "reason": "Same passport photograph; the day of birth was mistyped."}),
        ))
        .await,
    )
    .await;
    assert_eq!(linked.status, StatusCode::OK, "{linked:?}");
    assert_eq!(linked.body["status"], "settled");
    assert_eq!(linked.body["decision"], "link");
    assert_eq!(linked.body["decided_by"], "tester");
    assert_eq!(
        linked.body["record"]["person_id"],
        known.as_str(),
        "the record is now the known person's"
    );
    assert_problem(
        &answer(
            call(decide(
                &caseworker,
                json!({"decision": "keep-apart", "reason": "again"}),
            ))
            .await,
        )
        .await,
        StatusCode::CONFLICT,
    );
    let merged = emitted_of(&h, "person.merged.v1").await;
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0]["person_id"], known.as_str());
    assert_eq!(merged[0]["merged_person_id"], provisional.as_str());
    assert_eq!(merged[0]["case_ids"], json!([case]));
    assert_eq!(merged[0]["review_id"], review_id.as_str());
    // The queue no longer has it; the settled list does.
    let open = answer(call(json_request("GET", "/v1/reviews", &caseworker, None)).await).await;
    assert_eq!(open.body["total"], 0, "{open:?}");
    let settled = answer(
        call(json_request(
            "GET",
            "/v1/reviews?status=settled",
            &auditor,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(
        settled.body["items"][0]["reason"],
        "Same passport photograph; the day of birth was mistyped."
    );
    assert_problem(
        &answer(
            call(json_request(
                "GET",
                "/v1/reviews?status=closed",
                &caseworker,
                None,
            ))
            .await,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );

    // The provisional id resolves to the known person, who has both records
    // and both cases; the case's identity check points there too.
    let person = answer(
        call(json_request(
            "GET",
            &format!("/v1/persons/{provisional}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(person.status, StatusCode::OK, "{person:?}");
    assert_eq!(person.body["id"], known.as_str());
    assert_eq!(person.body["resolved_from"], provisional.as_str());
    assert_eq!(person.body["records"].as_array().map(Vec::len), Some(2));
    assert_eq!(person.body["cases"].as_array().map(Vec::len), Some(2));
    let kinds: Vec<&str> = person.body["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["linked", "linked", "merged"]);
    let checks = answer(
        call(json_request(
            "GET",
            &format!("/v1/identity-checks?case={case}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(checks.body[0]["person_id"], known.as_str());
    assert_eq!(
        checks.body[0]["result"]["person_id"],
        provisional.as_str(),
        "what the check said is kept"
    );

    // The link was wrong after all: the case's record is split off.
    let record = person.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["source_ref"] == case.as_str())
        .expect("the case's record")["id"]
        .clone();
    let split = |body: Value| {
        json_request(
            "POST",
            &format!("/v1/persons/{known}/split"),
            &caseworker,
            Some(body),
        )
    };
    let everything: Vec<Value> = person.body["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    for (body, pointer) in [
        (json!({"records": everything, "reason": "all"}), "/records"),
        (
            json!({"records": [999999], "reason": "not hers"}),
            "/records",
        ),
        (json!({"records": [], "reason": "none"}), "/records"),
        (json!({"records": [record], "reason": ""}), "/reason"),
    ] {
        let refused = answer(call(split(body.clone())).await).await;
        assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            refused.body["errors"][0]["pointer"], pointer,
            "{body}: {refused:?}"
        );
    }
    assert_problem(
        &answer(
            call(json_request(
                "POST",
                &format!("/v1/persons/{provisional}/split"),
                &caseworker,
                Some(json!({"records": [record], "reason": "merged person"})),
            ))
            .await,
        )
        .await,
        StatusCode::CONFLICT,
    );
    let done = answer(
        call(split(
            json!({"records": [record], "reason": "A different Amelie: her sister."}),
        ))
        .await,
    )
    .await;
    assert_eq!(done.status, StatusCode::CREATED, "{done:?}");
    let new = done.body["new_person_id"]
        .as_str()
        .expect("a new person")
        .to_owned();
    assert_eq!(done.body["case_ids"], json!([case]));
    let checks = answer(
        call(json_request(
            "GET",
            &format!("/v1/identity-checks?case={case}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(
        checks.body[0]["person_id"],
        new.as_str(),
        "the case's person corrected"
    );
    let known_now = answer(
        call(json_request(
            "GET",
            &format!("/v1/persons/{known}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(known_now.body["records"].as_array().map(Vec::len), Some(1));
    assert_eq!(known_now.body["given_names"], "Amélie Claire");
    let kinds: Vec<&str> = known_now.body["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["linked", "merged", "split"],
        "history kept (the moved record's link went with it)"
    );
    let new_person = answer(
        call(json_request(
            "GET",
            &format!("/v1/persons/{new}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(new_person.body["given_names"], "Amelie");
    assert_eq!(
        new_person.body["history"]
            .as_array()
            .expect("history")
            .last()
            .expect("an entry")["kind"],
        "split-from"
    );
    let split_events = emitted_of(&h, "person.split.v1").await;
    assert_eq!(split_events.len(), 1);
    assert_eq!(split_events[0]["new_person_id"], new.as_str());
    assert_eq!(split_events[0]["records"], 1);
    // Her next application finds her, not the person she was split from.
    let again = h
        .established(&request_with(
            &case_id(),
            perhaps_amelie(),
            None,
            no_document(),
        ))
        .await;
    assert_eq!(again.data["person_id"], new.as_str(), "{}", again.data);
    // Nothing was deleted.
    assert_eq!(h.count("persons").await, 3);
}

async fn a_possible_match_kept_apart_then_merged_late_resolves_to_the_survivor(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    let (app, token, _keys) = identify_api!(h);
    let call = |request: test::TestRequest| test::try_call_service(&app, request.to_request());
    let caseworker = token(&["caseworker"], &[]);
    let admin = token(&["admin"], &[]);
    let PossibleMatch {
        case,
        review_id,
        known,
        provisional,
    } = possible_match(&h).await;
    let kept = answer(call(json_request("POST", &format!("/v1/reviews/{review_id}/decision"), &caseworker,
        Some(json!({"decision": "keep-apart", "reason": "Different mothers' names on the birth certificates."})))).await).await;
    assert_eq!(kept.status, StatusCode::OK, "{kept:?}");
    assert_eq!(kept.body["decision"], "keep-apart");
    assert!(
        emitted_of(&h, "person.merged.v1").await.is_empty(),
        "kept apart: no merge"
    );
    let provisional_view = answer(
        call(json_request(
            "GET",
            &format!("/v1/persons/{provisional}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(provisional_view.body["id"], provisional.as_str());
    assert_eq!(
        provisional_view.body["history"]
            .as_array()
            .expect("history")
            .last()
            .expect("an entry")["kind"],
        "kept-apart"
    );

    // The decision is a labelled pair for the next model estimate (admins only).
    assert_problem(
        &answer(call(json_request("GET", "/v1/match-labels", &caseworker, None)).await).await,
        StatusCode::FORBIDDEN,
    );
    let labels = async || {
        let labels = call(json_request("GET", "/v1/match-labels", &admin, None))
            .await
            .expect("labels");
        assert_eq!(
            labels.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/x-ndjson"[..])
        );
        let body = actix_web::body::to_bytes(labels.into_body())
            .await
            .unwrap_or_default();
        String::from_utf8_lossy(&body)
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect::<Vec<Value>>()
    };
    let lines = labels().await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["label"], "non-match");
    assert_eq!(lines[0]["record"]["given_names"], "Amelie");
    assert_eq!(lines[0]["candidate"]["given_names"], "Amélie Claire");

    // Found late to be one person after all: merged.
    let merge = |into: &str, body: Value| {
        json_request(
            "POST",
            &format!("/v1/persons/{into}/merge"),
            &caseworker,
            Some(body),
        )
    };
    let nobody = uuid::Uuid::new_v4().to_string();
    for (into, body, status) in [
        (
            known.as_str(),
            json!({"person_id": known, "reason": "self"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            known.as_str(),
            json!({"person_id": "nobody", "reason": ""}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            known.as_str(),
            json!({"person_id": uuid::Uuid::new_v4().to_string(), "reason": "unknown"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &nobody,
            json!({"person_id": provisional, "reason": "no one to merge into"}),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_problem(&answer(call(merge(into, body)).await).await, status);
    }
    let merged = answer(call(merge(&known, json!({"person_id": provisional, "reason": "The sisters are one person: a second passport."}))).await).await;
    assert_eq!(merged.status, StatusCode::OK, "{merged:?}");
    assert_eq!(merged.body["case_ids"], json!([case]));
    assert_problem(
        &answer(
            call(merge(
                &known,
                json!({"person_id": provisional, "reason": "again"}),
            ))
            .await,
        )
        .await,
        StatusCode::CONFLICT,
    );
    let resolved = answer(
        call(json_request(
            "GET",
            &format!("/v1/persons/{provisional}"),
            &caseworker,
            None,
        ))
        .await,
    )
    .await;
    assert_eq!(
        resolved.body["id"],
        known.as_str(),
        "the old id still resolves"
    );
    assert_eq!(resolved.body["resolved_from"], provisional.as_str());
    assert_eq!(
        labels().await[0]["label"],
        "match",
        "the latest judgement: merged, so the pair is a match now"
    );
    let events = emitted_of(&h, "person.merged.v1").await;
    assert_eq!(events.len(), 1);
    assert!(events[0].get("review_id").is_none(), "{}", events[0]);
    // The merged person is kept, with where they went.
    assert_eq!(h.count("persons").await, 2);
}

/// A new person, by an application of someone nobody else resembles: the
/// `n`th of ten unlike names.
async fn someone(h: &Harness, n: usize) -> String {
    const GIVEN: [&str; 10] = [
        "Aurelio",
        "Kazimierz",
        "Thandiwe",
        "Bartholomew",
        "Oyelaran",
        "Svetlana",
        "Hiroshi",
        "Guadalupe",
        "Eilidh",
        "Mustafa",
    ];
    const SURNAMES: [&str; 10] = [
        "Fontanarossa",
        "Wrzesniewski",
        "Mokoena",
        "Pemberton",
        "Adebayo",
        "Kuznetsova",
        "Takahashi",
        "Villalobos",
        "MacLennan",
        "Erdogan",
    ];
    let subject = json!({"given_names": GIVEN[n % 10], "surname": SURNAMES[(n * 3) % 10],
        "date_of_birth": format!("19{:02}-{:02}-{:02}", 30 + n * 3, 1 + n % 12, 1 + (n * 7) % 28)});
    let event = h
        .established(&request_with(&case_id(), subject, None, no_document()))
        .await;
    assert_eq!(event.data["returning"], false, "{}", event.data);
    event.data["person_id"]
        .as_str()
        .expect("a person")
        .to_owned()
}

async fn two_opposite_merges_at_once_never_merge_two_persons_into_each_other(backend: Backend) {
    let Some(h) = common::start(backend).await else {
        return;
    };
    for n in 0..5 {
        let (a, b) = (someone(&h, 2 * n).await, someone(&h, 2 * n + 1).await);
        let merge = |into: String, from: String| {
            let (store, outbox) = (h.store.clone(), h.outbox.clone());
            async move {
                let change = links::Change {
                    reason: "a duplicate",
                    by: "tester",
                };
                links::merge(&store, &outbox, &into, &from, change).await
            }
        };
        let (one, other) = tokio::join!(merge(a.clone(), b.clone()), merge(b.clone(), a.clone()));
        let done: Vec<_> = [&one, &other].into_iter().filter(|r| r.is_ok()).collect();
        assert_eq!(
            done.len(),
            1,
            "exactly one of the two merges: {one:?} {other:?}"
        );
        let refused = if one.is_err() { one } else { other };
        assert_eq!(refused.expect_err("refused").status, 409);
        let survivor = links::current(h.store.connection(), &a)
            .await
            .expect("read")
            .expect("a person");
        let same = links::current(h.store.connection(), &b)
            .await
            .expect("no cycle")
            .expect("a person");
        assert_eq!(survivor.person.id, same.person.id);
    }
}

casework_testkit::on_both_backends!(
    two_opposite_merges_at_once_never_merge_two_persons_into_each_other,
    the_api_serves_the_index_and_checks_documents,
    imports_link_records_in_order_and_reviews_show_possible_matches,
    a_possible_match_linked_from_the_queue_and_a_wrong_link_split,
    a_possible_match_kept_apart_then_merged_late_resolves_to_the_survivor,
);
