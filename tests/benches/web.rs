//! `make bench-web`: the public web front end as shipped (`casework up`,
//! release build), under open-loop load from this process.
//!
//! - Server time of a form page (`GET /apply/visit-visa/name`, a returning
//!   session: cookie sent, the session row read and its answers rendered)
//!   at `BENCH_RATE` (default 50/s) for `BENCH_SECONDS` (default 20 s),
//!   p50/p99 from each request's intended send time, against `GET /livez`
//!   at the same rate through the same listener in the same run.
//! - Server time of the caseworker's case page (`GET /desk/cases/{ref}`
//!   for a closed visit visa, signed in with a local account): the page is
//!   built from seven API calls (Register, Identify, Investigate, Decide
//!   twice, Fulfil, Communicate) with the user's token, at the same rate,
//!   against the same `GET /livez` baseline.
//! - Bytes a first visit to a form page transfers (its HTML, the stylesheet,
//!   the scripts and the fonts and images the stylesheet names that the
//!   page uses), against a bare Design System page: the same layout with
//!   only a heading and a paragraph in `<main>` (the service's "Page not
//!   found" page stands for it).

use std::sync::Arc;

use casework_e2e::load::{ms, open_loop, start_up};
use casework_e2e::{Api, env_number, example, session_cookie, staff_session, wait_ready};
use casework_testkit::TempDir;

async fn size(client: &reqwest::Client, url: &str) -> usize {
    let response = client.get(url).send().await.expect("GET");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    response.bytes().await.expect("body").len()
}

#[tokio::main]
async fn main() {
    let rate = env_number("BENCH_RATE", 50.0);
    let seconds = env_number("BENCH_SECONDS", 20.0);
    let dir = TempDir::new("bench-web");
    let (process, _) = start_up(dir.path());
    let base = process.base_url.clone();
    wait_ready(&base).await;
    println!(
        "web benchmark: casework up (release), shipped defaults; open-loop load from this process"
    );

    // A session: the first page sets its cookie; later requests send it.
    let page = format!("{base}/apply/visit-visa/name");
    let first = reqwest::get(&page).await.expect("GET");
    let cookie = session_cookie(&first);
    let html = first.bytes().await.expect("body").len();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse().expect("cookie"));
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    // Warm both paths.
    for _ in 0..50 {
        size(&client, &page).await;
        size(&client, &format!("{base}/livez")).await;
    }

    let form_url = page.clone();
    let form = open_loop(
        &client,
        Arc::new(move |c: &reqwest::Client| c.get(&form_url)),
        rate,
        seconds,
    )
    .await;
    // A caseworker, signed in, reading a closed case.
    let password = "bench-correct-horse-battery";
    process.run_with_input(
        &["user", "add", "bench", "--role", "caseworker"],
        &[],
        &format!("{password}\n"),
    );
    let staff = staff_session(&base, "bench", password).await;
    let reference = Api::new(&base)
        .submit("visit-visa", &example("visit-visa", "valid-tourist"))
        .await;
    Api::new(&base)
        .wait_for_status(&reference, "closed", &process.token("caseworker"))
        .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, staff.parse().expect("cookie"));
    let desk = reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let case_url = format!("{base}/desk/cases/{reference}");
    for _ in 0..20 {
        let response = desk.get(&case_url).send().await.expect("GET");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "the case page");
    }
    let case_page = open_loop(
        &desk,
        Arc::new(move |c: &reqwest::Client| c.get(&case_url)),
        rate,
        seconds,
    )
    .await;

    let livez_url = format!("{base}/livez");
    let livez = open_loop(
        &client,
        Arc::new(move |c: &reqwest::Client| c.get(&livez_url)),
        rate,
        seconds,
    )
    .await;
    println!("{}", form.line("form page GET /apply/visit-visa/name"));
    println!(
        "{}",
        case_page.line("case page GET /desk/cases/{reference}")
    );
    println!("{}", livez.line("baseline GET /livez"));
    println!(
        "ratio form/livez: p50 {:.2}x, p99 {:.2}x",
        ms(form.quantile(0.5)) / ms(livez.quantile(0.5)).max(0.001),
        ms(form.quantile(0.99)) / ms(livez.quantile(0.99)).max(0.001),
    );
    println!(
        "ratio case page/livez: p50 {:.2}x, p99 {:.2}x",
        ms(case_page.quantile(0.5)) / ms(livez.quantile(0.5)).max(0.001),
        ms(case_page.quantile(0.99)) / ms(livez.quantile(0.99)).max(0.001),
    );

    // Bytes of a first visit: the page and what it loads (no compression is
    // configured on the listener; a proxy in front would add it).
    let bare = {
        let response = client
            .get(format!("{base}/apply/no-such-product"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), reqwest::StatusCode::NOT_FOUND);
        response.bytes().await.expect("body").len()
    };
    let css = size(&client, &format!("{base}/govuk-frontend.min.css")).await;
    let js = size(&client, &format!("{base}/govuk-frontend.min.js")).await
        + size(&client, &format!("{base}/app.mjs")).await;
    let fonts = size(
        &client,
        &format!("{base}/assets/fonts/light-94a07e06a1-v2.woff2"),
    )
    .await
        + size(
            &client,
            &format!("{base}/assets/fonts/bold-b542beb274-v2.woff2"),
        )
        .await;
    let images = size(&client, &format!("{base}/assets/images/favicon.svg")).await;
    let shared = css + js + fonts + images;
    println!(
        "bytes: form page HTML {html} B vs bare page HTML {bare} B ({:+} B); \
         shared, cached after the first page: CSS {css} B, JS {js} B, fonts {fonts} B, icon {images} B; \
         first visit {} B vs bare {} B ({:.3}x)",
        html as i64 - bare as i64,
        html + shared,
        bare + shared,
        (html + shared) as f64 / (bare + shared) as f64,
    );
}
