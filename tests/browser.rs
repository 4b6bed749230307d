//! The web front end in a real browser: `casework up` (with the test-only
//! fourth product beside the shipped three) driven by Debian's chromium
//! through playwright-core, with axe-core on every page. The public
//! journeys are `browser/journeys.mjs`, the caseworker's and officer's desk
//! `browser/desk.mjs` (local accounts, and sign-in through an OpenID Connect
//! provider the test starts, `browser/oidc-provider.mjs`); this prepares the
//! platform for them and fails if any fails. And the front end on its own
//! (`casework serve web`), against the services' address.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use std::time::{Duration, Instant};

use casework_e2e::{
    Api, Up, config_with_transit_visa, csrf_of, eventually, example, import_records,
    session_cookie, workspace,
};
use casework_testkit::{Backend, CaseworkProcess, TempDir, free_port};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Not skipped when missing: a browser test that cannot run fails, saying why.
fn assert_browser_installed() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`; .ci/run does)"
    );
    let modules = workspace().join("node_modules");
    for package in ["playwright-core", "axe-core", "govuk-frontend"] {
        assert!(
            modules.join(package).exists(),
            "node_modules/{package} not found: run `npm ci` (`make test` does)"
        );
    }
}

/// Runs a journeys file with node and `env`; fails the test if any fails.
async fn journeys(file: &str, env: Vec<(&'static str, String)>) {
    let file = workspace().join("tests/browser").join(file);
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&file)
            .current_dir(workspace())
            .envs(env)
            .status()
    })
    .await
    .expect("join")
    .expect("run node: is Node.js installed?");
    assert!(
        status.success(),
        "a browser journey failed (its output is above)"
    );
}

fn screenshots_dir(config: &TempDir) -> String {
    std::env::var("SCREENSHOTS_DIR")
        .unwrap_or_else(|_| config.path().join("screenshots").display().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_public_journeys_work_in_a_real_browser_with_no_accessibility_violations() {
    assert_browser_installed();
    let config = TempDir::new("browser-config");
    let env = config_with_transit_visa(config.path(), true);
    let up = Up::start_with(Backend::Sqlite, &env)
        .await
        .expect("SQLite is always there");
    journeys(
        "journeys.mjs",
        vec![
            ("BASE_URL", up.process.base_url.clone()),
            ("CASEWORKER_TOKEN", up.process.token("caseworker")),
            ("SCREENSHOTS_DIR", screenshots_dir(&config)),
        ],
    )
    .await;
}

/// A copy of the test-only product whose identity check nobody can answer:
/// its parameters are wrong, so Identify refuses every request (to its dead
/// letters), and after a second the case is stuck.
fn add_held_product(env: &[(&'static str, String)]) {
    let products = env
        .iter()
        .find(|(k, _)| *k == "CASEWORK__PATHS__PRODUCTS")
        .map(|(_, v)| Path::new(v).to_owned())
        .expect("a products folder");
    let definition = std::fs::read_to_string(products.join("transit-visa.toml"))
        .expect("the transit visa")
        .replace("id = \"transit-visa\"", "id = \"transit-held\"")
        .replace("reference_prefix = \"TV\"", "reference_prefix = \"TH\"")
        .replace(
            "name = \"Direct airside transit visa\"",
            "name = \"Transit visa (held)\"",
        )
        .replace(
            "timeout_seconds = 120 }]\n\n[[stages]]\nid = \"decision\"",
            "timeout_seconds = 1, params = { document_required = \"unreadable\" } }]\n\n[[stages]]\nid = \"decision\"",
        );
    assert!(definition.contains("unreadable"), "{definition}");
    std::fs::write(products.join("transit-held.toml"), definition).expect("write");
}

/// Makes a local account with `casework user add`, its password on stdin.
fn add_user(up: &Up, name: &str, role: &str) -> (String, String) {
    let password = format!("{name}-correct-horse-battery");
    let said = up.run_with_input(
        &["user", "add", name, "--role", role],
        &format!("{password}\n"),
    );
    assert!(said.contains("added"), "{said}");
    (name.to_owned(), password)
}

#[tokio::test(flavor = "multi_thread")]
async fn caseworkers_and_officers_do_their_work_at_the_desk_with_no_accessibility_violations() {
    assert_browser_installed();
    let config = TempDir::new("desk-config");
    let env = config_with_transit_visa(config.path(), true);
    add_held_product(&env);
    let up = Up::start_with(Backend::Sqlite, &env)
        .await
        .expect("SQLite is always there");
    let api = Api::new(&up.process.base_url);
    import_records(&api, &up).await;
    let (caseworker, caseworker_password) = add_user(&up, "ada", "caseworker");
    let (officer, officer_password) = add_user(&up, "olu", "officer");
    let (auditor, auditor_password) = add_user(&up, "aud", "auditor");
    let (senior, senior_password) = add_user(&up, "sam", "senior-caseworker");
    // A short password and an unknown role are refused, and make no account.
    let refused = Command::new(casework_testkit::binary_path("casework"))
        .args(["user", "add", "eve", "--role", "caseworker", "--data-dir"])
        .arg(&up.process.data_dir)
        .current_dir(workspace())
        .stdin(Stdio::null())
        .output()
        .expect("run casework");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("at least 12 characters"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let token = up.process.token("caseworker");
    let referred = api
        .submit("visit-visa", &example("visit-visa", "refer-warning"))
        .await;
    let lost = api
        .submit("visit-visa", &example("visit-visa", "refuse-lost-passport"))
        .await;
    let held_application: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("tests/fixtures/transit-visa/valid.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    let held = api.submit("transit-held", &held_application).await;
    // Passport renewal wants a second person for a refusal (four-eyes).
    let mismatch = api
        .submit(
            "passport-renewal",
            &example("passport-renewal", "refer-document-mismatch"),
        )
        .await;
    api.wait_for_status(&referred, "referred", &token).await;
    api.wait_for_status(&mismatch, "referred", &token).await;
    api.wait_for_case(&held, &token, "stuck", |case| {
        case["stuck_since"].is_string()
    })
    .await;
    journeys(
        "desk.mjs",
        vec![
            ("BASE_URL", up.process.base_url.clone()),
            ("SCREENSHOTS_DIR", screenshots_dir(&config)),
            ("CASEWORKER_NAME", caseworker),
            ("CASEWORKER_PASSWORD", caseworker_password),
            ("OFFICER_NAME", officer),
            ("OFFICER_PASSWORD", officer_password),
            ("AUDITOR_NAME", auditor),
            ("AUDITOR_PASSWORD", auditor_password),
            ("SENIOR_NAME", senior),
            ("SENIOR_PASSWORD", senior_password),
            ("PASSPORT_REFERRED", mismatch),
            ("REFERRED", referred),
            ("LOST", lost),
            ("HELD", held),
        ],
    )
    .await;
}

/// A caseworker settles a possible match from the queue, splits a wrong
/// link and merges a duplicate (`browser/people.mjs`), on `backend`.
async fn caseworkers_settle_and_correct_person_links(backend: Backend) {
    assert_browser_installed();
    let config = TempDir::new("people-config");
    let env = config_with_transit_visa(config.path(), true);
    let Some(up) = Up::start_with(backend, &env).await else {
        return;
    };
    let api = Api::new(&up.process.base_url);
    let (caseworker, caseworker_password) = add_user(&up, "ada", "caseworker");
    let token = up.process.token("caseworker");
    let amelie = example("visit-visa", "valid-tourist");
    let mut perhaps = amelie.clone();
    perhaps["applicant"]["given_names"] = "Amelie".into();
    perhaps["applicant"]["date_of_birth"] = "1988-04-13".into();
    let first = api.submit("visit-visa", &amelie).await;
    api.wait_for_case(&first, &token, "identified", |case| {
        case["steps"].as_array().is_some_and(|steps| {
            steps
                .iter()
                .any(|s| s["capability"] == "identify" && s["status"] == "done")
        })
    })
    .await;
    let second = api.submit("visit-visa", &perhaps).await;
    eventually(
        Duration::from_secs(60),
        "the possible match in the review queue",
        async || {
            let (_, page) = api.get("identify/v1/reviews", &token).await;
            let raised = page["items"].as_array().is_some_and(|items| {
                items.iter().any(|r| {
                    r["record"]["source_ref"].is_string() && r["candidate"]["person_id"].is_string()
                })
            });
            if raised {
                Ok(())
            } else {
                Err(page.to_string())
            }
        },
    )
    .await;
    // What the other services hold for the two cases, once they are done
    // with them: links corrected in Identify must leave it as it is.
    for reference in [&first, &second] {
        api.wait_for_case(reference, &token, "closed or referred", |case| {
            matches!(case["status"].as_str(), Some("closed" | "referred"))
        })
        .await;
    }
    let others = async || {
        let mut held = Vec::new();
        for reference in [&first, &second] {
            for path in ["investigate/v1/investigations", "fulfil/v1/documents"] {
                held.push(api.get(&format!("{path}?case={reference}"), &token).await.1);
            }
        }
        held
    };
    let before = others().await;
    assert!(
        before[1].as_array().is_some_and(|d| !d.is_empty()),
        "the first application's visa: {}",
        before[1]
    );
    journeys(
        "people.mjs",
        vec![
            ("BASE_URL", up.process.base_url.clone()),
            ("SCREENSHOTS_DIR", screenshots_dir(&config)),
            ("CASEWORKER_NAME", caseworker),
            ("CASEWORKER_PASSWORD", caseworker_password),
            ("FIRST", first.clone()),
            ("SECOND", second.clone()),
        ],
    )
    .await;
    // The link, the split and the merge are on Identify's topic, each valid
    // against its schema: two merges (the second of the split-off person
    // back into the first) and one split.
    let (merged, split) = eventually(
        Duration::from_secs(30),
        "two merges and a split on casework.identify",
        async || {
            let events = events_on_topic(&up, "casework.identify");
            let of = |kind: &str| {
                events
                    .iter()
                    .filter(|e| e.event_type.as_str() == kind)
                    .map(|e| e.data.clone())
                    .collect::<Vec<_>>()
            };
            let (merged, split) = (of("person.merged.v1"), of("person.split.v1"));
            if merged.len() == 2 && split.len() == 1 {
                Ok((merged, split))
            } else {
                Err(format!("{merged:?} {split:?}"))
            }
        },
    )
    .await;
    assert!(
        merged[0]["review_id"].is_string(),
        "the first came from the queue"
    );
    assert_eq!(split[0]["new_person_id"], merged[1]["merged_person_id"]);
    assert_eq!(
        others().await,
        before,
        "Investigate's findings and Fulfil's documents unchanged"
    );
}

casework_testkit::on_both_backends!(caseworkers_settle_and_correct_person_links);

/// Every event on `topic` (without the prefix) of `up`'s broker, from the
/// beginning to its end now, each checked against its schema in the shipped
/// catalogue as a consumer would.
fn events_on_topic(up: &Up, topic: &str) -> Vec<casework_contracts::Event> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Headers;
    let settings = casework_bus::BusSettings::new(&up.broker).with_prefix(&up.topic_prefix);
    let topic = settings.prefixed(topic);
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &up.broker)
        .set(
            "group.id",
            format!("{}test-reader-{}", up.topic_prefix, std::process::id()),
        )
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("a reader");
    let end: i64 = (0..settings.partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(&topic, p, Duration::from_secs(10))
                .map_or(0, |(_, high)| high)
        })
        .sum();
    consumer.subscribe(&[&topic]).expect("subscribe");
    let registry = casework_testkit::shipped_schemas();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut events = Vec::new();
    while (events.len() as i64) < end && Instant::now() < deadline {
        let Some(Ok(message)) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let headers = message.headers().map(|h| {
            h.iter()
                .map(|header| (header.key, header.value))
                .collect::<Vec<_>>()
        });
        let mut event =
            casework_contracts::Event::from_kafka(headers.unwrap_or_default(), message.payload())
                .expect("a CloudEvents record");
        registry
            .validate_event(&mut event)
            .unwrap_or_else(|e| panic!("{} on {topic} is not schema-valid: {e}", event.event_type));
        events.push(event);
    }
    assert_eq!(events.len() as i64, end, "read every record on {topic}");
    events
}

/// The test's OpenID Connect provider (`browser/oidc-provider.mjs`): the
/// process, killed when dropped, and its issuer URL.
struct Provider {
    child: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Provider {
    fn start(users: &str, clients: &str) -> Self {
        let mut child = Command::new("node")
            .arg(workspace().join("tests/browser/oidc-provider.mjs"))
            .env("OIDC_USERS", users)
            .env("OIDC_CLIENTS", clients)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run node: is Node.js installed?");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read the provider's first line");
        let issuer = line
            .trim()
            .strip_prefix("oidc provider listening on ")
            .unwrap_or_else(|| panic!("the OIDC provider did not start: {line:?}"))
            .to_owned();
        Self { child, issuer }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_sign_in_through_an_openid_connect_provider_with_pkce() {
    assert_browser_installed();
    let provider = Provider::start(
        r#"{"grace": {"name": "Grace Hopper", "groups": ["caseworker"]}}"#,
        r#"{"casework-web": "test-client-secret"}"#,
    );
    let issuer = provider.issuer.clone();
    // The platform trusts the provider's access tokens (its JWKS, issuer and
    // audience), reads roles from its `groups` claim, and signs staff in there.
    let env = vec![
        ("CASEWORK__AUTH__JWKS_URL", format!("{issuer}/jwks")),
        ("CASEWORK__AUTH__ISSUER", issuer.clone()),
        ("CASEWORK__AUTH__AUDIENCE", "casework".to_owned()),
        ("CASEWORK__AUTH__ROLES_CLAIM", "groups".to_owned()),
        ("CASEWORK__AUTH__OIDC_ISSUER", issuer.clone()),
        ("CASEWORK__AUTH__OIDC_CLIENT_ID", "casework-web".to_owned()),
        (
            "CASEWORK__AUTH__OIDC_CLIENT_SECRET",
            "test-client-secret".to_owned(),
        ),
    ];
    let up = Up::start_with(Backend::Sqlite, &env)
        .await
        .expect("SQLite is always there");
    journeys(
        "desk.mjs",
        vec![
            ("BASE_URL", up.process.base_url.clone()),
            ("OIDC_ISSUER", issuer),
            ("OIDC_USER", "grace".to_owned()),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_front_end_runs_on_its_own_against_the_services_address() {
    let up = Up::start(Backend::Sqlite)
        .await
        .expect("SQLite is always there");
    let reference = Api::new(&up.process.base_url)
        .submit("visit-visa", &example("visit-visa", "valid-tourist"))
        .await;
    let dir = TempDir::new("web-alone");
    let listen = format!("127.0.0.1:{}", free_port());
    // No broker configured: the front end needs none.
    let web = CaseworkProcess::start(
        &workspace(),
        &["serve", "web", "--listen", &listen],
        &[("CASEWORK__WEB__API_URL", &up.process.base_url)],
        dir.path(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = client
        .get(format!("{}/status", web.base_url))
        .send()
        .await
        .expect("GET /status");
    assert_eq!(form.status(), reqwest::StatusCode::OK);
    let cookie = session_cookie(&form);
    let csrf = csrf_of(&form.text().await.expect("page"));
    let check = |reference: String, dob: [&'static str; 3]| {
        client
            .post(format!("{}/status", web.base_url))
            .header(reqwest::header::COOKIE, &cookie)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("reference", reference.as_str()),
                ("date_of_birth-day", dob[0]),
                ("date_of_birth-month", dob[1]),
                ("date_of_birth-year", dob[2]),
            ])
            .send()
    };
    let page_of = |response: reqwest::Response| async move {
        let status = response.status();
        (status, response.text().await.expect("page"))
    };
    let (status, page) = page_of(
        check(reference.clone(), ["12", "4", "1988"])
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        page.contains(&reference) && page.contains("Your visit visa application"),
        "{page}"
    );
    // A wrong date of birth: the form again (422), saying nothing of the case.
    for _ in 0..5 {
        let (status, page) = page_of(
            check(reference.clone(), ["13", "4", "1988"])
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        assert!(page.contains("We could not find an application"), "{page}");
        assert!(!page.contains("visit visa application"), "{page}");
    }
    // Five failures for the reference: Register refuses it for a day, even
    // with the right date of birth, from any address.
    let (status, page) = page_of(
        check(reference.clone(), ["12", "4", "1988"])
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("Try again tomorrow") && !page.contains("Your visit visa application"),
        "{page}"
    );
    // Ten checks a minute from one address (`web.status_checks_per_minute`):
    // seven made, three more allowed, the eleventh refused.
    for _ in 0..3 {
        let (status, _) = page_of(
            check("VV-2G5E-DSQB-F".into(), ["1", "1", "1990"])
                .await
                .expect("POST"),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    }
    let (status, page) = page_of(
        check("VV-2G5E-DSQB-F".into(), ["1", "1", "1990"])
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("Wait a minute"), "{page}");

    // The services unreachable: the front end says so on a GOV.UK page (503).
    let orphan_dir = TempDir::new("web-orphan");
    let orphan = CaseworkProcess::start(
        &workspace(),
        &[
            "serve",
            "web",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
        ],
        &[(
            "CASEWORK__WEB__API_URL",
            &format!("http://127.0.0.1:{}", free_port()),
        )],
        orphan_dir.path(),
    );
    let form = client
        .get(format!("{}/status", orphan.base_url))
        .send()
        .await
        .expect("GET /status");
    let cookie = session_cookie(&form);
    let csrf = csrf_of(&form.text().await.expect("page"));
    let down = client
        .post(format!("{}/status", orphan.base_url))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("reference", reference.as_str()),
            ("date_of_birth-day", "12"),
            ("date_of_birth-month", "4"),
            ("date_of_birth-year", "1988"),
        ])
        .send()
        .await
        .expect("POST /status");
    assert_eq!(down.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let page = down.text().await.expect("page");
    assert!(
        page.contains("Sorry, there is a problem with the service"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_in_renews_the_session_stays_on_this_site_and_locks_after_repeated_failures() {
    let up = Up::start_with(
        Backend::Sqlite,
        &[("CASEWORK__WEB__SIGN_IN_ATTEMPTS", "3".to_owned())],
    )
    .await
    .expect("SQLite is always there");
    let (name, password) = add_user(&up, "ada", "caseworker");
    let base = up.process.base_url.clone();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let location = |r: &reqwest::Response| {
        r.headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let get = |path: &str, cookie: &str| {
        client
            .get(format!("{base}{path}"))
            .header(reqwest::header::COOKIE, cookie)
            .send()
    };

    // Signed out: sent to sign in, and back afterwards.
    let desk = get("/desk?product=visit-visa", "")
        .await
        .expect("GET /desk");
    assert_eq!(desk.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(
        location(&desk),
        "/sign-in?next=%2Fdesk%3Fproduct%3Dvisit-visa"
    );
    let form = get("/sign-in", "").await.expect("GET /sign-in");
    let before = session_cookie(&form);
    let csrf = csrf_of(&form.text().await.expect("page"));
    let sign_in = |cookie: String, csrf: String, password: String, next: &'static str| {
        client
            .post(format!("{base}/sign-in"))
            .header(reqwest::header::COOKIE, cookie)
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", name.as_str()),
                ("password", password.as_str()),
                ("next", next),
            ])
            .send()
    };
    // Without the form's CSRF token: refused, nothing checked.
    let forged = sign_in(before.clone(), "forged".into(), password.clone(), "/desk")
        .await
        .expect("POST");
    assert_eq!(forged.status(), reqwest::StatusCode::FORBIDDEN);
    // Signed in: a new session (the one before opens nothing), and a `next`
    // off this site is not followed.
    let signed = sign_in(before.clone(), csrf, password.clone(), "//evil.example/")
        .await
        .expect("POST");
    assert_eq!(signed.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(location(&signed), "/desk");
    let after = session_cookie(&signed);
    assert_ne!(before, after, "the session is renewed at sign-in");
    assert_eq!(
        get("/desk", &after).await.expect("GET").status(),
        reqwest::StatusCode::OK
    );
    let old = get("/desk", &before).await.expect("GET");
    assert_eq!(old.status(), reqwest::StatusCode::SEE_OTHER);
    assert!(location(&old).starts_with("/sign-in"), "{}", location(&old));

    // Three wrong passwords in a row lock the account, even against the right one.
    let form = get("/sign-in", "").await.expect("GET /sign-in");
    let cookie = session_cookie(&form);
    let csrf = csrf_of(&form.text().await.expect("page"));
    for attempt in 1..=3 {
        let refused = sign_in(cookie.clone(), csrf.clone(), "wrong".into(), "/desk")
            .await
            .expect("POST");
        assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
        let page = refused.text().await.expect("page");
        let locked = page.contains("Your account is locked");
        assert_eq!(locked, attempt == 3, "attempt {attempt}: {page}");
    }
    let locked = sign_in(cookie, csrf, password, "/desk")
        .await
        .expect("POST");
    assert_eq!(locked.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        locked
            .text()
            .await
            .expect("page")
            .contains("Your account is locked")
    );
}

/// Secrets never reach the logs: after a sign-in (its password), desk pages
/// (the session cookie, its CSRF token, the staff token the web holds) and
/// API calls with a bearer token, none of them appears in what the platform
/// logged at `info`, though the sign-in itself does.
#[tokio::test(flavor = "multi_thread")]
async fn no_password_token_or_cookie_is_ever_logged() {
    let dir = TempDir::new("secrets-in-logs");
    let log = dir.path().join("casework.log");
    let process = CaseworkProcess::start_logging_to(
        &workspace(),
        &[
            "up",
            "--listen",
            &format!("127.0.0.1:{}", free_port()),
            "--broker-listen",
            &format!("127.0.0.1:{}", free_port()),
        ],
        &[],
        &dir.path().join("data"),
        &log,
    );
    casework_e2e::wait_ready(&process.base_url).await;
    let password = "a-password-nobody-should-log";
    let said = process.run_with_input(
        &["user", "add", "ada", "--role", "caseworker"],
        &[],
        &format!("{password}\n"),
    );
    assert!(said.contains("added"), "{said}");
    let base = process.base_url.clone();
    let api = Api::new(&base);
    let reference = api
        .submit("visit-visa", &example("visit-visa", "valid-tourist"))
        .await;
    let token = process.token("caseworker");
    api.wait_for_status(&reference, "closed", &token).await;
    // A wrong password too: refusals must not log what was typed.
    let form = reqwest::get(format!("{base}/sign-in")).await.expect("GET");
    let cookie = session_cookie(&form);
    let csrf = csrf_of(&form.text().await.expect("page"));
    let wrong = reqwest::Client::new()
        .post(format!("{base}/sign-in"))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "ada"),
            ("password", "a-wrong-password-nobody-should-log"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(wrong.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let staff = casework_e2e::staff_session(&base, "ada", password).await;
    let desk = reqwest::Client::new();
    for path in [
        "/desk",
        &format!("/desk/cases/{reference}"),
        "/desk/search?surname=dubois",
    ] {
        let page = desk
            .get(format!("{base}{path}"))
            .header(reqwest::header::COOKIE, &staff)
            .send()
            .await
            .expect("GET");
        assert_eq!(page.status(), reqwest::StatusCode::OK, "{path}");
    }
    // Give the log writer a moment, then read what was logged.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let logged = std::fs::read_to_string(&log).expect("the log");
    assert!(
        logged.contains("signed in"),
        "the sign-in is logged: {logged}"
    );
    let cookie_value = |c: &str| {
        c.split_once('=')
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    for (what, secret) in [
        ("the password", password.to_owned()),
        (
            "a wrong password",
            "a-wrong-password-nobody-should-log".to_owned(),
        ),
        ("a bearer token", token.clone()),
        ("the session cookie", cookie_value(&staff)),
        ("the first session's cookie", cookie_value(&cookie)),
        ("the CSRF token", csrf.clone()),
    ] {
        assert!(!secret.is_empty(), "{what} is known to the test");
        assert!(!logged.contains(&secret), "{what} is in the log");
    }
    // And the key the tokens are signed with is readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    let key = std::fs::metadata(dir.path().join("data/signing.key")).expect("the key");
    assert_eq!(
        key.permissions().mode() & 0o077,
        0,
        "signing.key is private"
    );
}
