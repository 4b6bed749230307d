//! The platform as its users drive it: the `casework` command as a process,
//! HTTP with tokens, the embedded broker underneath. On SQLite and on
//! PostgreSQL.

use casework_e2e::{Api, Up, database_env, timeline_kinds, wait_ready, workspace};
use casework_testkit::{
    Backend, CaseworkProcess, TempDir, TestBroker, TestDatabase, free_port, init_tracing,
    unique_prefix,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn example(name: &str) -> Value {
    casework_e2e::example("visit-visa", name)
}

/// Submits, then follows the case until the acknowledgement is on its timeline.
async fn submit_and_see_acknowledged(register: &str, communicate: &str, caseworker: &str) {
    let client = reqwest::Client::new();
    let response = client
        .post(format!(
            "{register}/api/register/v1/applications/visit-visa"
        ))
        .header("Idempotency-Key", "e2e-first")
        .json(&example("valid-tourist"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let ack: Value = response.json().await.unwrap();
    let reference = ack["reference"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/register/v1/cases/{reference}"));

    // A retry with the same key is the same case.
    let retry: Value = client
        .post(format!(
            "{register}/api/register/v1/applications/visit-visa"
        ))
        .header("Idempotency-Key", "e2e-first")
        .json(&example("valid-tourist"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(retry["case_id"], ack["case_id"]);

    // The Location answers at once, whether or not the process manager has
    // opened the case yet.
    let api = Api::new(register);
    let at_once = api.case(&reference, caseworker).await;
    assert_eq!(at_once["case_id"], ack["case_id"], "{at_once}");
    assert_eq!(
        timeline_kinds(&at_once).first(),
        Some(&"application.received"),
        "{at_once}"
    );

    let case = api
        .wait_for_case(
            &reference,
            caseworker,
            "the acknowledgement on the timeline",
            |case| timeline_kinds(case).contains(&"notification.sent"),
        )
        .await;
    assert_eq!(
        timeline_kinds(&case).first(),
        Some(&"application.received"),
        "{case}"
    );
    assert_ne!(
        case["status"], "received",
        "the case's first stage was requested: {case}"
    );

    let notifications: Value = client
        .get(format!("{communicate}/api/communicate/v1/notifications"))
        .query(&[("case", &reference)])
        .bearer_auth(caseworker)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list: Vec<&Value> = notifications
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["milestone"] == "received")
        .collect();
    assert_eq!(
        list.len(),
        1,
        "exactly one acknowledgement: {notifications}"
    );
    assert_eq!(list[0]["recipient"], "amelie.dubois@example.org");
    assert!(list[0]["subject"].as_str().unwrap().contains(&reference));
    assert!(
        list[0]["body"]
            .as_str()
            .unwrap()
            .contains("Amélie Claire Dubois")
    );
}

async fn an_application_is_acknowledged_end_to_end(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let base = &up.process.base_url;
    submit_and_see_acknowledged(base, base, &up.process.token("caseworker")).await;
}

async fn bad_input_gets_a_clear_problem_and_changes_nothing(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let base = &up.process.base_url;
    let client = reqwest::Client::new();
    let submit =
        |product: &str| client.post(format!("{base}/api/register/v1/applications/{product}"));

    let response = submit("visit-visa")
        .json(&example("invalid-missing-and-malformed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    let pointers: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["pointer"].as_str())
        .collect();
    for field in [
        "/applicant/date_of_birth",
        "/applicant/nationality",
        "/contact/email",
        "/travel/purpose",
    ] {
        assert!(pointers.contains(&field), "{field} not named: {problem}");
    }

    let unknown = submit("moon-visa")
        .json(&example("valid-tourist"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let malformed = submit("visit-visa")
        .body("{\"applicant\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let huge = submit("visit-visa")
        .body(vec![b' '; 300_000])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let first = submit("visit-visa")
        .header("Idempotency-Key", "reused")
        .json(&example("valid-tourist"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let reused = submit("visit-visa")
        .header("Idempotency-Key", "reused")
        .json(&example("valid-business"))
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), StatusCode::CONFLICT);

    // Nothing but the one valid application became a case.
    let metrics = casework_e2e::metrics(&format!("{base}/api/register")).await;
    let created: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("http_requests_total") && l.contains("status=\"201\""))
        .collect();
    assert_eq!(created.len(), 1, "{metrics}");
    assert!(created[0].ends_with(" 1"), "{created:?}");
}

/// Applications arriving together share commits (Register's group commit
/// writes a batch in one statement per table): each still becomes its own
/// case, and copies sent with one `Idempotency-Key` become one.
async fn a_burst_of_applications_opens_one_case_each(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let base = up.process.base_url.clone();
    let caseworker = up.process.token("caseworker");
    let client = reqwest::Client::new();
    let mut requests = Vec::new();
    for n in 0..60 {
        // Keys k0..k19 three times each, then twenty without a key.
        let key = (n < 60 - 20).then(|| format!("burst-{}", n % 20));
        let request = client
            .post(format!("{base}/api/register/v1/applications/visit-visa"))
            .json(&example("valid-tourist"));
        let request = match &key {
            Some(key) => request.header("Idempotency-Key", key),
            None => request,
        };
        requests.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let ack: Value = response.json().await.unwrap();
            (
                key,
                ack["case_id"].as_str().unwrap().to_owned(),
                ack["reference"].as_str().unwrap().to_owned(),
            )
        }));
    }
    let mut by_key = std::collections::HashMap::new();
    let mut cases = std::collections::HashMap::new();
    for request in requests {
        let (key, case_id, reference) = request.await.unwrap();
        if let Some(key) = key {
            let first = by_key.entry(key.clone()).or_insert_with(|| case_id.clone());
            assert_eq!(
                *first, case_id,
                "copies with key {key} opened different cases"
            );
        }
        cases.insert(case_id, reference);
    }
    assert_eq!(
        cases.len(),
        20 + 20,
        "one case per key and per keyless application"
    );
    // The process manager opens each case once, from `application.received`.
    let api = Api::new(&base);
    for reference in cases.values() {
        let case = api
            .wait_for_case(reference, &caseworker, "the first stage started", |case| {
                case["status"] != "received"
            })
            .await;
        let kinds = timeline_kinds(&case);
        assert_eq!(
            kinds[..2],
            ["application.received", "stage.started"],
            "{case}"
        );
    }
}

async fn every_protected_route_refuses_missing_and_wrong_tokens(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let base = &up.process.base_url;
    let client = reqwest::Client::new();
    let roles = [
        "caseworker",
        "senior-caseworker",
        "officer",
        "auditor",
        "admin",
    ];
    let tokens: Vec<(&str, String)> = roles
        .iter()
        .map(|role| (*role, up.process.token(role)))
        .collect();
    // Department clients, by the real path (`casework client add`, then the
    // client-credentials grant): one per department scope, and one whose
    // scope opens nothing.
    let client_token = |name: &str, scope: &str| {
        let added = up.run(&["client", "add", name, "--scope", scope]);
        let secret = added
            .lines()
            .find_map(|l| l.strip_prefix("client_secret="))
            .expect("a secret")
            .to_owned();
        let request = client
            .post(format!("{base}/oauth/token"))
            .basic_auth(name, Some(secret))
            .form(&[("grant_type", "client_credentials")]);
        async move {
            let issued: Value = request.send().await.unwrap().json().await.unwrap();
            issued["access_token"].as_str().expect("a token").to_owned()
        }
    };
    let outsider = client_token("outsider", "unrelated").await;
    let mut clients = std::collections::HashMap::new();
    for scope in ["hmpo", "identity-check", "records-import"] {
        clients.insert(scope, client_token(&format!("dept-{scope}"), scope).await);
    }
    let mut scoped = 0;
    let mut checked = 0;
    for service in casework_contracts::Service::ALL.iter().map(|s| s.as_str()) {
        let doc: Value = client
            .get(format!("{base}/api/{service}/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                // A parameter said to be in the path is in the path.
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "path" {
                        let name = parameter["name"].as_str().unwrap_or_default();
                        assert!(
                            path.contains(&format!("{{{name}}}")),
                            "{service} {method} {path}: `{name}` is documented in the path"
                        );
                    }
                }
                let security = operation["security"]
                    .as_array()
                    .expect("every operation declares security");
                if security
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                {
                    continue; // public
                }
                let grants: Vec<&str> = security
                    .iter()
                    .filter_map(|r| r["bearer"].as_array())
                    .flatten()
                    .filter_map(|g| g.as_str())
                    .collect();
                let (role, wrong) = tokens
                    .iter()
                    .find(|(role, _)| !grants.contains(&format!("role:{role}").as_str()))
                    .expect("some role is not granted");
                // Fill path parameters with something plausible.
                let concrete = path
                    .replace("{reference}", "VV-0000-0000-0")
                    .replace("{product}", "visit-visa")
                    .replace("{check}", "identity")
                    .replace("{number}", "V00000000")
                    .replace("{id}", "0190f5c6-1111-7000-8000-000000000001");
                let url = format!("{base}/api/{service}{concrete}");
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let anonymous = client.request(method.clone(), &url).send().await.unwrap();
                assert_eq!(
                    anonymous.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {url}"
                );
                let wrong = client
                    .request(method.clone(), &url)
                    .bearer_auth(wrong)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    wrong.status(),
                    StatusCode::FORBIDDEN,
                    "{method} {url} as {role}"
                );
                let forged = client
                    .request(method.clone(), &url)
                    .bearer_auth(format!("{}x", tokens[0].1))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(forged.status(), StatusCode::UNAUTHORIZED, "{method} {url}");
                // A client whose scope this route does not name: 403.
                let stranger = client
                    .request(method.clone(), &url)
                    .bearer_auth(&outsider)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    stranger.status(),
                    StatusCode::FORBIDDEN,
                    "{method} {url} as a client without its scope"
                );
                // A client holding a scope it names gets past the guard.
                for scope in grants.iter().filter_map(|g| g.strip_prefix("scope:")) {
                    let token = clients
                        .get(scope)
                        .unwrap_or_else(|| panic!("no test client for scope {scope}"));
                    let let_in = client
                        .request(method.clone(), &url)
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap();
                    assert!(
                        !matches!(let_in.status().as_u16(), 401 | 403),
                        "{method} {url} as a client with scope {scope}: {}",
                        let_in.status()
                    );
                    scoped += 1;
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} protected routes found");
    assert!(scoped >= 4, "only {scoped} scoped routes found");
}

async fn separate_service_processes_do_the_same(backend: Backend) {
    init_tracing();
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let broker = TestBroker::shared();
    let dir = TempDir::new("serve");
    let prefix = unique_prefix();
    let mut env = database_env(&db);
    env.push((
        "CASEWORK__KAFKA__BOOTSTRAP_SERVERS",
        broker.bootstrap.clone(),
    ));
    env.push(("CASEWORK__KAFKA__TOPIC_PREFIX", prefix));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let start = |service: &str| {
        let listen = format!("127.0.0.1:{}", free_port());
        CaseworkProcess::start(
            &workspace(),
            &["serve", service, "--listen", &listen],
            &env,
            dir.path(),
        )
    };
    let register = start("register");
    let communicate = start("communicate");
    wait_ready(&register.base_url).await;
    wait_ready(&communicate.base_url).await;
    // Each process serves only its own service.
    let other = reqwest::get(format!("{}/api/communicate/livez", register.base_url))
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    submit_and_see_acknowledged(
        &register.base_url,
        &communicate.base_url,
        &register.token("caseworker"),
    )
    .await;
}

/// Reads of a case through the API are on Register's audit trail with
/// who, why and the outcome, refusals too; the records survive a SIGKILL
/// straight after the answers; an auditor finds them by case and by user;
/// `casework audit verify` finds every chain whole.
async fn every_read_of_personal_data_is_on_the_audit_trail(backend: Backend) {
    let Some(mut up) = Up::start(backend).await else {
        return;
    };
    let api = Api::new(&up.process.base_url);
    let reference = api.submit("visit-visa", &example("valid-tourist")).await;
    let caseworker = up.process.token("caseworker");
    api.wait_for_status(&reference, "closed", &caseworker).await;
    let case_url = format!("{}/api/register/v1/cases/{reference}", up.process.base_url);
    let read = reqwest::Client::new()
        .get(&case_url)
        .bearer_auth(&caseworker)
        .header("Purpose", "case-review")
        .send()
        .await
        .expect("GET");
    assert_eq!(read.status(), StatusCode::OK);
    let (status, _) = api
        .get(
            &format!("register/v1/cases/{reference}"),
            &up.process.token("officer"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A search must say why.
    let unexplained = reqwest::Client::new()
        .get(format!(
            "{}/api/register/v1/cases?surname=dubois",
            up.process.base_url
        ))
        .bearer_auth(&caseworker)
        .send()
        .await
        .expect("GET");
    assert_eq!(unexplained.status(), StatusCode::BAD_REQUEST);
    up.kill_and_restart().await;

    let api = Api::new(&up.process.base_url);
    let auditor = up.process.token("auditor");
    let (status, records) = api
        .get(
            &format!("register/v1/audit-records?subject={reference}"),
            &auditor,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{records}");
    let records = records.as_array().cloned().unwrap_or_default();
    assert!(
        records.iter().any(|r| r["who"] == "test-caseworker"
            && r["purpose"] == "case-review"
            && r["outcome"] == "allowed"
            && r["action"] == "read"
            && r["roles"] == json!(["role:caseworker"])),
        "the caseworker's read with its purpose: {records:?}"
    );
    let (_, refused) = api
        .get("register/v1/audit-records?who=test-officer", &auditor)
        .await;
    assert!(
        refused
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["outcome"] == "refused"
                && r["what"][0]["id"]
                    .as_str()
                    .is_some_and(|route| route.contains(&reference)))),
        "the officer's refused read: {refused}"
    );
    // The auditor's own searches are on the trail; one naming nothing lists everything.
    let (_, own) = api
        .get("register/v1/audit-records?who=test-auditor", &auditor)
        .await;
    assert!(own.as_array().is_some_and(|r| !r.is_empty()), "{own}");
    // Naming neither: every record (in the period), the officer's refusal among them.
    let (status, all) = api.get("register/v1/audit-records", &auditor).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        all.as_array()
            .is_some_and(|r| r.iter().any(|r| r["outcome"] == "refused")),
        "{all}"
    );
    let (status, _) = api
        .get("register/v1/audit-records?who=test-auditor", &caseworker)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let verified = up.run(&["audit", "verify"]);
    assert!(
        verified.contains("register: ") && !verified.contains("BROKEN"),
        "{verified}"
    );
}

/// A department's system as an OAuth 2.0 client: registered with `casework
/// client add`, it gets a token by the client-credentials grant (RFC 6749
/// §4.4) and reaches what its scope opens and nothing else; over its quota it
/// gets 429 with `Retry-After`. Public routes are limited per client address.
async fn departments_are_oauth_clients_with_quotas(backend: Backend) {
    let Some(up) = Up::start_with(
        backend,
        &[
            ("CASEWORK__AUTH__CLIENT_REQUESTS_PER_MINUTE", "4".into()),
            ("CASEWORK__HTTP__PUBLIC_REQUESTS_PER_MINUTE", "3".into()),
        ],
    )
    .await
    else {
        return;
    };
    let base = up.process.base_url.clone();
    let added = up.run(&["client", "add", "dwp", "--scope", "identity-check"]);
    let secret = added
        .lines()
        .find_map(|l| l.strip_prefix("client_secret="))
        .expect("the secret is printed")
        .to_owned();
    let client = reqwest::Client::new();
    let token_url = format!("{base}/oauth/token");
    // The token endpoint is a public route, limited per address too: each
    // request here comes from its own (the loopback is a trusted proxy).
    let asked = std::sync::atomic::AtomicU32::new(1);
    let ask = |form: Vec<(&'static str, String)>, basic: Option<(&str, &str)>| {
        let n = asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request = client
            .post(&token_url)
            .header("X-Forwarded-For", format!("192.0.2.{n}"))
            .form(&form);
        match basic {
            Some((id, secret)) => request.basic_auth(id, Some(secret)),
            None => request,
        }
    };
    let grant = || vec![("grant_type", "client_credentials".to_owned())];

    // Wrong secret, unknown grant, a scope it does not hold: RFC 6749 §5.2 errors.
    let wrong = ask(grant(), Some(("dwp", "not-the-secret")))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().contains_key("www-authenticate"));
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let password = vec![("grant_type", "password".to_owned())];
    let unsupported = ask(password, Some(("dwp", &secret))).send().await.unwrap();
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unsupported.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );
    let mut greedy = grant();
    greedy.push(("scope", "records-import".into()));
    let greedy = ask(greedy, Some(("dwp", &secret))).send().await.unwrap();
    assert_eq!(greedy.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        greedy.json::<Value>().await.unwrap()["error"],
        "invalid_scope"
    );

    // The secret in the body works too (client_secret_post).
    let mut in_body = grant();
    in_body.push(("client_id", "dwp".into()));
    in_body.push(("client_secret", secret.clone()));
    let issued = ask(in_body, None).send().await.unwrap();
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let issued: Value = issued.json().await.unwrap();
    assert_eq!(issued["token_type"], "Bearer");
    assert_eq!(issued["scope"], "identity-check");
    let token = issued["access_token"].as_str().unwrap().to_owned();

    // Its scope opens the document check, and not an import.
    let check = serde_json::json!({"mrz": [
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    ]});
    let url = format!("{base}/api/identify/v1/document-checks");
    let check_as = |token: &str| client.post(&url).bearer_auth(token).json(&check).send();
    let allowed = check_as(&token).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    let import = client
        .post(format!("{base}/api/investigate/v1/imports/warnings"))
        .bearer_auth(&token)
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(import.status(), StatusCode::FORBIDDEN);
    // Its quota is four a minute (a refused request is not counted): three
    // more, then 429 with Retry-After.
    for _ in 0..3 {
        let response = check_as(&token).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let over = check_as(&token).await.unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = over.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(over.headers()["content-type"], "application/problem+json");
    // A member of staff is not a client: no quota.
    let caseworker = up.process.token("caseworker");
    for _ in 0..6 {
        let response = check_as(&caseworker).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    // Public routes: three a minute per address (the test's loopback is a
    // trusted proxy, so its X-Forwarded-For names the address).
    let status = |address: &'static str| {
        client
            .post(format!("{base}/api/register/v1/status"))
            .header("X-Forwarded-For", address)
            .json(
                &serde_json::json!({"reference": "VV-0000-0000-0", "date_of_birth": "1990-01-01"}),
            )
            .send()
    };
    for _ in 0..3 {
        assert_ne!(
            status("198.51.100.7").await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }
    let limited = status("198.51.100.7").await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    assert_ne!(
        status("198.51.100.8").await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // The OpenAPI documents declare the flow and the scope per operation.
    let doc: Value = client
        .get(format!("{base}/api/identify/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flow = &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"];
    assert_eq!(flow["tokenUrl"], "/oauth/token");
    assert!(flow["scopes"]["identity-check"].is_string(), "{flow}");
    let security = &doc["paths"]["/v1/document-checks"]["post"]["security"];
    assert!(
        security
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["oauth2"] == serde_json::json!(["identity-check"])),
        "{security}"
    );
}

/// The desk's pages × the roles: each page answers each role as its policy
/// says (200 for a page, anything but 403 for a form it may send; 403
/// otherwise), and no page answers without a session (303 to sign in).
/// Written out here as the policy's specification: a change to who may see
/// a page fails this test until the table says so too.
async fn every_desk_page_answers_each_role_as_its_policy_says(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let base = up.process.base_url.clone();
    let api = Api::new(&base);
    let reference = api
        .submit(
            "visit-visa",
            &casework_e2e::example("visit-visa", "valid-tourist"),
        )
        .await;
    api.wait_for_status(&reference, "closed", &up.process.token("caseworker"))
        .await;
    let case = format!("/desk/cases/{reference}");
    let alert = "/desk/alerts/0190f5c6-1111-7000-8000-000000000001/acknowledge";
    const SENIOR: &str = "senior-caseworker";
    // (method, path, roles let in)
    let matrix: Vec<(&str, String, &[&str])> = vec![
        ("GET", "/desk".into(), &["caseworker", SENIOR]),
        ("GET", "/desk/search".into(), &["caseworker", SENIOR]),
        ("GET", "/desk/alerts".into(), &["officer", SENIOR]),
        ("GET", "/desk/audit".into(), &["auditor"]),
        ("GET", case.clone(), &["caseworker", SENIOR, "auditor"]),
        ("POST", format!("{case}/decision"), &["caseworker", SENIOR]),
        ("POST", format!("{case}/approval"), &[SENIOR]),
        (
            "POST",
            format!("{case}/checks/identity/retry"),
            &["caseworker", SENIOR],
        ),
        ("POST", alert.into(), &["officer"]),
    ];
    let roles = ["caseworker", SENIOR, "officer", "auditor", "admin"];
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let password = "matrix-correct-horse-battery";
    for role in roles {
        let name = format!("matrix-{role}");
        up.run_with_input(
            &["user", "add", &name, "--role", role],
            &format!("{password}\n"),
        );
        let cookie = casework_e2e::staff_session(&base, &name, password).await;
        // A desk page the role may see carries the session's CSRF token (its
        // sign-out form). A role with none (auditor, admin) may send no desk
        // form either: its POSTs carry a token that matches nothing.
        let mut csrf = String::from("no-page-for-this-role");
        if let Some((_, path, _)) = matrix
            .iter()
            .find(|(method, _, allowed)| *method == "GET" && allowed.contains(&role))
        {
            let page = client
                .get(format!("{base}{path}"))
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            csrf = casework_e2e::csrf_of(&page);
        }
        for (method, path, allowed) in &matrix {
            let request = match *method {
                "GET" => client.get(format!("{base}{path}")),
                _ => client
                    .post(format!("{base}{path}"))
                    .form(&[("csrf_token", csrf.as_str())]),
            };
            let status = request
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .unwrap()
                .status();
            match (allowed.contains(&role), *method) {
                (true, "GET") => assert_eq!(status, StatusCode::OK, "{method} {path} as {role}"),
                (true, _) => assert!(
                    !matches!(status.as_u16(), 401 | 403) && !status.is_server_error(),
                    "{method} {path} as {role}: {status}"
                ),
                (false, _) => {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} as {role}")
                }
            }
        }
    }
    // No session: every page sends the visitor to sign in; a POST without
    // a session's CSRF token is refused before anything else.
    for (method, path, _) in &matrix {
        let response = match *method {
            "GET" => client.get(format!("{base}{path}")),
            _ => client.post(format!("{base}{path}")),
        }
        .send()
        .await
        .unwrap();
        if *method == "GET" {
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{method} {path}");
            let to = response.headers()["location"].to_str().unwrap();
            assert!(to.starts_with("/sign-in"), "{method} {path} -> {to}");
        } else {
            assert!(
                matches!(response.status().as_u16(), 303 | 400 | 403),
                "{method} {path} without a session: {}",
                response.status()
            );
        }
    }
}

/// The web front end as several instances: sessions live in its database,
/// not in a process, so a member of staff signed in through one instance
/// is signed in at another, signing out at one ends the session at both, and
/// an applicant's answers sent to one are kept for the other.
async fn web_instances_share_sessions(backend: Backend) {
    let Some(up) = Up::start(backend).await else {
        return;
    };
    let first = up.process.base_url.clone();
    let listen = format!("127.0.0.1:{}", free_port());
    let api_url = first.clone();
    let second = up.start_beside(
        &["serve", "web", "--listen", &listen],
        &[("CASEWORK__WEB__API_URL", &api_url)],
    );
    wait_ready(&second.base_url).await;
    let second = second.base_url.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |url: String, cookie: String| {
        client
            .get(url)
            .header(reqwest::header::COOKIE, cookie)
            .send()
    };

    // Staff: signed in at the first, at work at the second.
    let password = "two-instances-correct-horse";
    up.run_with_input(
        &["user", "add", "ada", "--role", "caseworker"],
        &format!("{password}\n"),
    );
    let cookie = casework_e2e::staff_session(&first, "ada", password).await;
    let queue = get(format!("{second}/desk"), cookie.clone()).await.unwrap();
    assert_eq!(queue.status(), StatusCode::OK);
    let page = queue.text().await.unwrap();
    assert!(
        page.contains("ada"),
        "the second instance knows who is signed in"
    );
    // Signing out at the second ends the session at the first.
    let csrf = casework_e2e::csrf_of(&page);
    let out = client
        .post(format!("{second}/sign-out"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = get(format!("{first}/desk"), cookie.clone()).await.unwrap();
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "signed out everywhere"
    );
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/sign-in")
    );

    // The public: a page from the first, its answer to the second, kept at the first.
    let form = reqwest::get(format!("{first}/apply/visit-visa/name"))
        .await
        .unwrap();
    let cookie = casework_e2e::session_cookie(&form);
    let csrf = casework_e2e::csrf_of(&form.text().await.unwrap());
    let answered = client
        .post(format!("{second}/apply/visit-visa/name"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("applicant-given_names", "Ingrid"),
            ("applicant-surname", "Bergqvist"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        answered.status(),
        StatusCode::SEE_OTHER,
        "the second accepts the first's session"
    );
    let again = get(format!("{first}/apply/visit-visa/name"), cookie)
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        again.contains("Bergqvist"),
        "the answer is kept for the first"
    );
}

/// `casework up` restarted at once after a SIGKILL finds its embedded broker
/// still running, orphaned, until it notices its stdin closed: it holds the
/// data directory's database and the port. The new platform waits for it
/// to go instead of failing. Played here by a broker the test starts on the
/// platform's data and port and lets go of two seconds later.
#[tokio::test(flavor = "multi_thread")]
async fn up_waits_for_an_orphaned_broker_to_let_go_of_its_data() {
    init_tracing();
    let dir = TempDir::new("orphan");
    let broker = format!("127.0.0.1:{}", free_port());
    let mut orphan = std::process::Command::new(casework_testkit::binary_path("casework-broker"))
        .arg("--data-dir")
        .arg(dir.path().join("broker"))
        .arg("--listen")
        .arg(&broker)
        .arg("--exit-with-parent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the orphan broker");
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(orphan.stdout.take().expect("its stdout")),
        &mut first,
    )
    .expect("its first line");
    assert!(first.contains("listening"), "{first}");
    let stdin = orphan.stdin.take();
    let released = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(2));
        drop(stdin);
        orphan.wait().expect("the orphan exits")
    });
    let started = std::time::Instant::now();
    let listen = format!("127.0.0.1:{}", free_port());
    let log = dir.path().join("up.log");
    let up = CaseworkProcess::start_logging_to(
        &workspace(),
        &["up", "--listen", &listen, "--broker-listen", &broker],
        &[],
        dir.path(),
        &log,
    );
    wait_ready(&up.base_url).await;
    assert!(released.join().expect("released").success());
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "up was ready before the orphan let go: its broker cannot have started"
    );
    // Its own broker from the start: never the orphan, lost a moment later.
    let log = std::fs::read_to_string(&log).expect("up's log");
    assert!(!log.contains("embedded broker died"), "{log}");
    let api = Api::new(&up.base_url);
    let reference = api
        .submit(
            "visit-visa",
            &casework_e2e::example("visit-visa", "valid-tourist"),
        )
        .await;
    api.wait_for_status(&reference, "closed", &up.token("caseworker"))
        .await;
}

/// Scale-out, with processes on PostgreSQL: every service in its own
/// `casework serve` process and Decide twice, the two sharing its
/// partitions in one consumer group. One Decide is SIGKILLed mid-stream;
/// the other takes its partitions over when its session expires, and every
/// case is decided exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn two_instances_of_a_service_share_its_partitions_and_survive_losing_one() {
    scale_out(false).await;
}

/// The same with static members (`kafka.consumer_instance` set: KIP-345),
/// whose expiry the embedded broker's coordinator used to ignore.
#[tokio::test(flavor = "multi_thread")]
async fn static_members_too_share_partitions_and_survive_losing_one() {
    scale_out(true).await;
}

async fn scale_out(static_members: bool) {
    init_tracing();
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let broker = TestBroker::shared();
    let dir = TempDir::new("scale-out");
    let mut env = database_env(&db);
    env.push((
        "CASEWORK__KAFKA__BOOTSTRAP_SERVERS",
        broker.bootstrap.clone(),
    ));
    env.push(("CASEWORK__KAFKA__TOPIC_PREFIX", unique_prefix()));
    env.push(("CASEWORK__CLOCK__TODAY", casework_e2e::TODAY.to_owned()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let start = |service: &str, instance: &str| {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut env = env.clone();
        if static_members {
            env.push(("CASEWORK__KAFKA__CONSUMER_INSTANCE", instance));
        }
        CaseworkProcess::start_logging_to(
            &workspace(),
            &["serve", service, "--listen", &listen],
            &env,
            dir.path(),
            &dir.path().join(format!("{service}-{instance}.log")),
        )
    };
    let mut others = Vec::new();
    for service in [
        "register",
        "identify",
        "investigate",
        "enforce",
        "fulfil",
        "communicate",
    ] {
        others.push(start(service, "only"));
    }
    // The first migrates Decide's schema; the second starts on it.
    let mut first = start("decide", "first");
    wait_ready(&first.base_url).await;
    let second = start("decide", "second");
    for process in others.iter().chain([&first, &second]) {
        wait_ready(&process.base_url).await;
    }
    let register = others[0].base_url.clone();
    let api = Api::new(&register);
    let caseworker = others[0].token("caseworker");
    let partitions_of = |log: &str| -> Vec<u64> {
        std::fs::read_to_string(dir.path().join(log))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("consumer assigned partitions"))
            .filter_map(|l| l.split("partitions=").nth(1))
            .filter_map(|n| n.split_whitespace().next()?.parse().ok())
            .collect()
    };

    let application = casework_e2e::example("visit-visa", "valid-tourist");
    let mut references = Vec::new();
    for _ in 0..12 {
        references.push(api.submit("visit-visa", &application).await);
    }
    for reference in &references {
        api.wait_for_status(reference, "closed", &caseworker).await;
    }
    // Both instances hold some of Decide's partitions.
    let (a, b) = (
        partitions_of("decide-first.log"),
        partitions_of("decide-second.log"),
    );
    assert!(
        a.last().is_some_and(|n| *n > 0) && b.last().is_some_and(|n| *n > 0),
        "each instance holds partitions: first {a:?}, second {b:?}"
    );

    // Mid-stream: more applications, and the first instance dies.
    for _ in 0..12 {
        references.push(api.submit("visit-visa", &application).await);
    }
    first.kill();
    for _ in 0..12 {
        references.push(api.submit("visit-visa", &application).await);
    }
    let decide_url = second.base_url.clone();
    for reference in &references {
        casework_e2e::eventually(
            std::time::Duration::from_secs(90),
            &format!("{reference} closed after an instance died"),
            async || {
                let case = api.case(reference, &caseworker).await;
                if case["status"] == "closed" {
                    Ok(())
                } else {
                    Err(case.to_string())
                }
            },
        )
        .await;
        let decisions: Value = reqwest::Client::new()
            .get(format!(
                "{decide_url}/api/decide/v1/decisions?case={reference}"
            ))
            .bearer_auth(&caseworker)
            .header("Purpose", "test")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            decisions.as_array().map(Vec::len),
            Some(1),
            "{reference}: decided once: {decisions}"
        );
    }
    let after = partitions_of("decide-second.log");
    assert!(
        after.last() == Some(&3),
        "the survivor holds every partition of Decide's topic: {after:?}"
    );
}

casework_testkit::on_both_backends!(
    departments_are_oauth_clients_with_quotas,
    every_read_of_personal_data_is_on_the_audit_trail,
    an_application_is_acknowledged_end_to_end,
    bad_input_gets_a_clear_problem_and_changes_nothing,
    a_burst_of_applications_opens_one_case_each,
    every_protected_route_refuses_missing_and_wrong_tokens,
    separate_service_processes_do_the_same,
    every_desk_page_answers_each_role_as_its_policy_says,
    web_instances_share_sessions,
);
