//! The public web front end in a real browser: `casework up` (with the
//! test-only fourth product beside the shipped three) driven by Debian's
//! chromium through playwright-core, with axe-core on every page. The
//! journeys are `browser/journeys.mjs`; this starts the platform for them
//! and fails if any fails. And the front end on its own (`casework serve
//! web`), against the services' address.

use std::path::Path;
use std::process::Command;

use casework_e2e::{Api, Up, config_with_transit_visa, example, session_cookie, workspace};
use casework_testkit::{Backend, CaseworkProcess, TempDir, free_port};

const CHROMIUM: &str = "/usr/bin/chromium";

#[tokio::test(flavor = "multi_thread")]
async fn the_public_journeys_work_in_a_real_browser_with_no_accessibility_violations() {
    // Not skipped when missing: a browser test that cannot run fails, saying why.
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
    let config = TempDir::new("browser-config");
    let env = config_with_transit_visa(config.path(), true);
    let up = Up::start_with(Backend::Sqlite, &env)
        .await
        .expect("SQLite is always there");
    let token = up.process.token("caseworker");
    let screenshots = std::env::var("SCREENSHOTS_DIR")
        .unwrap_or_else(|_| config.path().join("screenshots").display().to_string());
    let base_url = up.process.base_url.clone();
    let status = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(workspace().join("tests/browser/journeys.mjs"))
            .current_dir(workspace())
            .env("BASE_URL", base_url)
            .env("CASEWORKER_TOKEN", token)
            .env("SCREENSHOTS_DIR", screenshots)
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

/// The form's hidden CSRF token in a page.
fn csrf_of(html: &str) -> String {
    let field = "name=\"csrf_token\" value=\"";
    let at = html.find(field).expect("a CSRF field") + field.len();
    html[at..].split('"').next().expect("its value").to_owned()
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
