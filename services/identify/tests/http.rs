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
use casework_identify::{IdentifyApi, NAME, routes};
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

    let keys = TempDir::new("identify-keys");
    let auth = Arc::new(Authenticator::embedded(keys.path(), "casework", "casework").expect("key"));
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
            casework_runtime::audit::AuditLog::start(h.store.clone()),
        )]
        .into(),
        limits: casework_runtime::limits::Limits::none(),
    });
    let routes = routes(
        h.store.clone(),
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
    let token = |roles: &[&str], scopes: &[&str]| {
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

casework_testkit::on_both_backends!(the_api_serves_the_index_and_checks_documents);
