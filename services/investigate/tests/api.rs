//! Investigate's HTTP API: the access policy its OpenAPI document declares,
//! and the import endpoint's handling of media types and reports.

use actix_web::{App, test as actix, web};
use casework_investigate::Migrator;
use casework_investigate::api::{Investigate, InvestigateApi, routes};

/// The import limit the tests set.
const IMPORT_MAX_BYTES: usize = 1024 * 1024;
use casework_runtime::Policy;
use casework_runtime::auth::PolicyTable;
use casework_store::Store;
use casework_testkit::{Backend, TestDatabase};
use serde_json::Value;
use utoipa::OpenApi;

#[test]
fn every_route_declares_its_policy() {
    let mut policies = PolicyTable::default();
    policies.add_openapi("/api/investigate", &InvestigateApi::openapi());
    let grants = |method: &str, path: &str| match policies
        .policy(method, &format!("/api/investigate{path}"))
    {
        Policy::Grants(grants) => grants.clone(),
        other => panic!("{method} {path}: {other:?}"),
    };
    for dataset in ["warnings", "criminal-records", "lost-stolen-documents"] {
        assert_eq!(
            grants("POST", &format!("/v1/imports/{dataset}")),
            ["scope:records-import", "role:admin"]
        );
    }
    assert!(grants("GET", "/v1/watchlist").contains(&"role:officer".to_owned()));
    assert!(grants("GET", "/v1/investigations").contains(&"role:caseworker".to_owned()));
    assert!(!grants("GET", "/v1/watchlist").contains(&"role:admin".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_takes_ndjson_and_answers_with_its_report() {
    let db = TestDatabase::create(Backend::Sqlite).await.expect("sqlite");
    let store = Store::connect(&db.settings).await.expect("connect");
    store.migrate::<Migrator>().await.expect("migrate");
    let state = web::Data::new(Investigate {
        store,
        rehabilitation: casework_testkit::shipped_rehabilitation(),
        clock: casework_runtime::Clock::system(),
        import_max_bytes: IMPORT_MAX_BYTES,
    });
    let app = actix::init_service(App::new().configure(|cfg| routes(cfg, state.clone()))).await;

    let line = r#"{"source_ref":"D-1","document_number":"X1","issuing_state":"GBR","reported_on":"2024-01-02","status":"lost"}"#;
    let request = actix::TestRequest::post()
        .uri("/v1/imports/lost-stolen-documents")
        .insert_header(("content-type", "application/x-ndjson"))
        .set_payload(format!("{line}\n\nnot json\n"))
        .to_request();
    let response = actix::call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    let report: Value = actix::read_body_json(response).await;
    assert_eq!(report["accepted"], 1);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["rejected"][0]["line"], 3);
    assert_eq!(report["rejected"][0]["errors"][0]["pointer"], "");

    let request = actix::TestRequest::post()
        .uri("/v1/imports/lost-stolen-documents")
        .insert_header(("content-type", "application/json"))
        .set_payload(line)
        .to_request();
    assert_eq!(actix::call_service(&app, request).await.status(), 415);

    let request = actix::TestRequest::post()
        .uri("/v1/imports/warnings")
        .insert_header(("content-type", "application/x-ndjson"))
        .set_payload(vec![b'\n'; IMPORT_MAX_BYTES + 1])
        .to_request();
    assert_eq!(actix::call_service(&app, request).await.status(), 413);

    let request = actix::TestRequest::get()
        .uri("/v1/watchlist?surname=")
        .insert_header(("Purpose", "test"))
        .to_request();
    assert_eq!(actix::call_service(&app, request).await.status(), 400);
    // A surname with no letter or digit is a search that finds no one.
    let request = actix::TestRequest::get()
        .uri("/v1/watchlist?surname=%20.")
        .insert_header(("Purpose", "test"))
        .to_request();
    let response = actix::call_service(&app, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(actix::read_body(response).await.as_ref(), b"[]");
}
