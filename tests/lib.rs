//! The end-to-end harness: the platform started as its users start it (the
//! `casework` command as a process), and an HTTP client that speaks to it
//! with tokens. The tests are `platform.rs` (the runtime and the first slice)
//! and `products.rs` (every product through all seven services).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casework_testkit::{Backend, CaseworkProcess, TempDir, TestDatabase, free_port, init_tracing};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The workspace root, where `config/` and `schemas/` are, and where
/// `casework` runs from: this checkout, or `CASEWORK_E2E_WORKSPACE` (a
/// benchmark comparing another commit's binaries runs them in that
/// commit's tree, with its own configuration).
pub fn workspace() -> PathBuf {
    std::env::var_os("CASEWORK_E2E_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// An example application of a product, from `schemas/products/<product>/examples/`.
pub fn example(product: &str, name: &str) -> Value {
    let path = workspace().join(format!("schemas/products/{product}/examples/{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("example {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("example {}: {e}", path.display()))
}

/// A number from the environment (a benchmark's knob), or `default`.
pub fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `q` quantile (0.0–1.0) of `sorted` durations, nearest rank; zero when
/// there are none (a benchmark's latency figures).
pub fn quantile(sorted: &[std::time::Duration], q: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}

/// Environment that points the platform at a test database.
pub fn database_env(db: &TestDatabase) -> Vec<(&'static str, String)> {
    match db.backend() {
        Backend::Sqlite => vec![],
        Backend::Postgres => vec![("CASEWORK__DATABASE__URL", db.settings.url.clone())],
    }
}

/// The day the platform under test thinks it is (`clock.today`): whether a
/// conviction is spent, and a document's issue date, never depend on when
/// the suite runs. Test data is dated relative to it.
pub const TODAY: &str = "2026-12-06";

/// `casework up` on its own ports and data directory: with its embedded
/// broker, or, when `CASEWORK_TEST_KAFKA_BOOTSTRAP` names one (an Apache
/// Kafka, as the `containers` suite starts), on that broker under a topic
/// and group prefix of its own.
pub struct Up {
    /// The process.
    pub process: CaseworkProcess,
    /// The broker it uses: its embedded broker's address, or the external one.
    pub broker: String,
    /// Its topics' and consumer groups' prefix (empty on the embedded broker).
    pub topic_prefix: String,
    env: Vec<(&'static str, String)>,
    _dir: TempDir,
    _db: TestDatabase,
}

impl Up {
    /// Starts `casework up` on `backend`; `None` when that backend is not
    /// configured (PostgreSQL without `CASEWORK_TEST_DATABASE_URL`).
    pub async fn start(backend: Backend) -> Option<Up> {
        Self::start_with(backend, &[]).await
    }

    /// The same with extra environment (e.g. another products folder).
    pub async fn start_with(backend: Backend, extra_env: &[(&'static str, String)]) -> Option<Up> {
        init_tracing();
        let db = TestDatabase::create(backend).await?;
        let dir = TempDir::new("up");
        let listen = format!("127.0.0.1:{}", free_port());
        let mut env = database_env(&db);
        let (broker, topic_prefix) = match std::env::var(casework_testkit::KAFKA_BOOTSTRAP_VAR) {
            Ok(external) => {
                let prefix = casework_testkit::unique_prefix();
                env.push(("CASEWORK__KAFKA__BOOTSTRAP_SERVERS", external.clone()));
                env.push(("CASEWORK__KAFKA__TOPIC_PREFIX", prefix.clone()));
                (external, prefix)
            }
            Err(_) => (format!("127.0.0.1:{}", free_port()), String::new()),
        };
        env.push(("CASEWORK__CLOCK__TODAY", TODAY.to_owned()));
        env.extend(extra_env.iter().map(|(k, v)| (*k, v.clone())));
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let process = CaseworkProcess::start(
            &workspace(),
            &["up", "--listen", &listen, "--broker-listen", &broker],
            &pairs,
            dir.path(),
        );
        wait_ready(&process.base_url).await;
        Some(Up {
            process,
            broker,
            topic_prefix,
            env,
            _dir: dir,
            _db: db,
        })
    }

    /// SIGKILLs the process and starts it again on the same ports, data and
    /// databases, waiting until it is ready.
    pub async fn kill_and_restart(&mut self) {
        self.process.kill();
        let listen = self
            .process
            .base_url
            .trim_start_matches("http://")
            .to_owned();
        let pairs: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.process = CaseworkProcess::start(
            &workspace(),
            &["up", "--listen", &listen, "--broker-listen", &self.broker],
            &pairs,
            &self.process.data_dir.clone(),
        );
        wait_ready(&self.process.base_url).await;
    }

    /// Starts another `casework <args>` process beside this one (e.g. a
    /// second `serve web`): the same data directory (the signing key),
    /// databases and clock, and `extra_env`.
    pub fn start_beside(&self, args: &[&str], extra_env: &[(&str, &str)]) -> CaseworkProcess {
        let mut env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        env.extend_from_slice(extra_env);
        CaseworkProcess::start(&workspace(), args, &env, &self.process.data_dir.clone())
    }

    /// Runs `casework <args>` (e.g. `seed`) against this platform's data
    /// directory and databases, on its clock, as an operator would beside it.
    pub fn run(&self, args: &[&str]) -> String {
        self.run_with_input(args, "")
    }

    /// The same with `input` on its standard input (`user add`'s password).
    pub fn run_with_input(&self, args: &[&str], input: &str) -> String {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.process.run_with_input(args, &env, input)
    }
}

/// Writes a configuration folder at `root` holding the test-only fourth
/// product (`tests/fixtures/transit-visa/`: its definition, schema, rule
/// set, templates and form), with the three shipped products beside it when
/// `shipped`; returns the environment that points `casework` at it.
pub fn config_with_transit_visa(root: &Path, shipped: bool) -> Vec<(&'static str, String)> {
    let fixtures = workspace().join("tests/fixtures/transit-visa");
    let config = workspace().join("config");
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to.parent().expect("a folder")).expect("create folder");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    };
    for (from, to) in [
        ("transit-visa.toml", "products/transit-visa.toml"),
        ("application.v2.json", "schemas/application.v2.json"),
        ("v1.toml", "rules/transit-visa/v1.toml"),
        ("form.toml", "forms/transit-visa.toml"),
        ("received.txt", "templates/transit-visa/received.txt"),
        (
            "decided-grant.txt",
            "templates/transit-visa/decided-grant.txt",
        ),
        (
            "decided-refuse.txt",
            "templates/transit-visa/decided-refuse.txt",
        ),
        (
            "document-issued.txt",
            "templates/transit-visa/document-issued.txt",
        ),
    ] {
        copy(&fixtures.join(from), &root.join(to));
    }
    if shipped {
        for folder in ["products", "forms", "rules", "templates"] {
            copy_tree(&config.join(folder), &root.join(folder));
        }
        // The shipped definitions name their schemas relative to config/products.
        for entry in std::fs::read_dir(root.join("products")).expect("products") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("read product");
            let schemas = format!("\"{}/schemas/", workspace().display());
            std::fs::write(&path, text.replace("\"../../schemas/", &schemas))
                .expect("write product");
        }
    }
    ["products", "templates", "rules", "forms"]
        .into_iter()
        .zip([
            "CASEWORK__PATHS__PRODUCTS",
            "CASEWORK__PATHS__TEMPLATES",
            "CASEWORK__PATHS__RULES",
            "CASEWORK__PATHS__FORMS",
        ])
        .map(|(folder, key)| (key, root.join(folder).display().to_string()))
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

/// The session cookie (`name=value`) a web page's response sets.
pub fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}

/// The form's hidden CSRF token in a page.
pub fn csrf_of(html: &str) -> String {
    let field = "name=\"csrf_token\" value=\"";
    let at = html.find(field).expect("a CSRF field") + field.len();
    html[at..].split('"').next().expect("its value").to_owned()
}

/// Signs in to the desk with a local account; the signed-in session's cookie.
pub async fn staff_session(base_url: &str, name: &str, password: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let form = reqwest::get(format!("{base_url}/sign-in"))
        .await
        .expect("GET /sign-in");
    let cookie = session_cookie(&form);
    let csrf = csrf_of(&form.text().await.expect("page"));
    let signed = client
        .post(format!("{base_url}/sign-in"))
        .header(reqwest::header::COOKIE, cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", name),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /sign-in");
    assert_eq!(signed.status(), StatusCode::SEE_OTHER, "sign-in refused");
    session_cookie(&signed)
}

/// A process's Prometheus metrics (`GET /metrics`), as text.
pub async fn metrics(base_url: &str) -> String {
    reqwest::get(format!("{base_url}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics")
}

/// The first sample of `name` whose labels contain `labels` (e.g.
/// `database="register"`): its label set and value.
pub fn metric(text: &str, name: &str, labels: &str) -> Option<(String, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(series, value)| Some((series, value.parse::<f64>().ok()?)))
        .find(|(series, _)| {
            series
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') && rest.contains(labels))
        })
        .map(|(series, value)| (series.to_owned(), value))
}

/// Waits for the aggregate `/readyz` to be green.
pub async fn wait_ready(base_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = reqwest::get(format!("{base_url}/readyz")).await
            && response.status() == StatusCode::OK
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base_url} not ready after 120 s"
        );
        // Often enough for the benchmarks' time-to-ready, cheap for a test.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` until it returns `Some`, or fails the test after `timeout`
/// saying `what` it was waiting for and what it last saw.
pub async fn eventually<T>(
    timeout: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(last) => {
                assert!(
                    Instant::now() < deadline,
                    "waited {timeout:?} for {what}; last saw: {last}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The kinds of a case's timeline entries, in order.
pub fn timeline_kinds(case: &Value) -> Vec<&str> {
    case["timeline"]
        .as_array()
        .map(|entries| entries.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default()
}

/// An HTTP client for one platform address.
#[derive(Clone)]
pub struct Api {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    client: reqwest::Client,
}

impl Api {
    /// A client of `base`.
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    /// `GET /api/<path>` with a token; the status and the JSON body.
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}/api/{path}", self.base))
            .bearer_auth(token)
            // Searches must say why; every read here is a test's.
            .header("Purpose", "test")
            .send()
            .await
            .expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/<path>` with a JSON body and, if given, a token.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let mut request = self
            .client
            .post(format!("{}/api/{path}", self.base))
            .json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /api/<path>` with an NDJSON body.
    pub async fn post_ndjson(
        &self,
        path: &str,
        token: &str,
        lines: &[Value],
    ) -> (StatusCode, Value) {
        let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let response = self
            .client
            .post(format!("{}/api/{path}", self.base))
            .bearer_auth(token)
            .header("Content-Type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Submits an application; returns its reference.
    pub async fn submit(&self, product: &str, application: &Value) -> String {
        let (status, ack) = self
            .post(
                &format!("register/v1/applications/{product}"),
                None,
                application,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ack}");
        ack["reference"].as_str().expect("reference").to_owned()
    }

    /// The case as a caseworker sees it.
    pub async fn case(&self, reference: &str, token: &str) -> Value {
        let (status, case) = self
            .get(&format!("register/v1/cases/{reference}"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{case}");
        case
    }

    /// Waits until the case's status is `status`; returns the case.
    pub async fn wait_for_status(&self, reference: &str, status: &str, token: &str) -> Value {
        self.wait_for_case(reference, token, &format!("status {status}"), |case| {
            case["status"] == status
        })
        .await
    }

    /// Waits until `done` holds of the case (`what` says what it waits for);
    /// returns the case.
    pub async fn wait_for_case(
        &self,
        reference: &str,
        token: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        eventually(
            Duration::from_secs(60),
            &format!("case {reference}: {what}"),
            async || {
                let case = self.case(reference, token).await;
                if done(&case) {
                    Ok(case)
                } else {
                    Err(case.to_string())
                }
            },
        )
        .await
    }
}

/// Open-loop load for the benchmarks (`benches/`): requests sent at their
/// scheduled times whatever happened to earlier ones, latency counted from
/// the schedule.
pub mod load {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use casework_testkit::{CaseworkProcess, free_port};

    use super::{quantile, workspace};

    /// `casework up` as shipped, with its data in `data_dir`, on ports of its
    /// own, logging at `BENCH_LOG` (a `CASEWORK__TELEMETRY__LOG` filter,
    /// default `warn`) to this process's stderr; and its broker's address.
    pub fn start_up(data_dir: &std::path::Path) -> (CaseworkProcess, String) {
        start_up_with(data_dir, &[])
    }

    /// [`start_up`] with more environment variables.
    pub fn start_up_with(
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> (CaseworkProcess, String) {
        let listen = format!("127.0.0.1:{}", free_port());
        let broker = format!("127.0.0.1:{}", free_port());
        let log = std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into());
        let mut env = env.to_vec();
        env.push(("CASEWORK__TELEMETRY__LOG", &log));
        let process = CaseworkProcess::start(
            &workspace(),
            &["up", "--listen", &listen, "--broker-listen", &broker],
            &env,
            data_dir,
        );
        (process, broker)
    }

    /// Latencies of one open-loop run.
    pub struct Run {
        /// Requests a second offered.
        pub offered: f64,
        /// Requests answered with success.
        pub completed: usize,
        /// Requests failed or refused.
        pub failed: usize,
        /// From the first scheduled send to the last answer.
        pub elapsed: Duration,
        /// Each success's latency from its schedule, sorted.
        pub latencies: Vec<Duration>,
    }

    impl Run {
        /// The `q` quantile of the latencies.
        pub fn quantile(&self, q: f64) -> Duration {
            quantile(&self.latencies, q)
        }

        /// Completed requests a second.
        pub fn achieved(&self) -> f64 {
            self.completed as f64 / self.elapsed.as_secs_f64()
        }

        /// No failure, 95% of the offered rate completed, p99 within 1 s.
        pub fn kept_up(&self) -> bool {
            self.failed == 0
                && self.achieved() >= 0.95 * self.offered
                && self.quantile(0.99) <= Duration::from_secs(1)
        }

        /// One line for the benchmark's report.
        pub fn line(&self, what: &str) -> String {
            format!(
                "{what}: offered {:.0}/s, completed {:.0}/s, failed {}, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                self.offered,
                self.achieved(),
                self.failed,
                ms(self.quantile(0.5)),
                ms(self.quantile(0.99)),
                ms(self.latencies.last().copied().unwrap_or_default()),
            )
        }
    }

    /// Milliseconds.
    pub fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    /// A new applicant's address for `X-Forwarded-For` (198.18.0.0/15, the
    /// range set aside for benchmarks): open-loop load stands for many
    /// members of the public, and the public routes are limited per address
    /// (`http.public_requests_per_minute`); the bench's loopback is a trusted
    /// proxy, as the web front end is.
    pub fn applicant_address() -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % (1 << 17);
        format!("198.{}.{}.{}", 18 + (n >> 16), (n >> 8) & 0xff, n & 0xff)
    }

    /// Sends `rate` requests a second for `seconds`, each at its scheduled time
    /// whatever happened to the others; latency counts from the schedule.
    pub async fn open_loop(
        client: &reqwest::Client,
        request: Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>,
        rate: f64,
        seconds: f64,
    ) -> Run {
        let total = (rate * seconds) as usize;
        let start = Instant::now() + Duration::from_millis(50);
        let mut tasks = Vec::with_capacity(total);
        for i in 0..total {
            let intended = start + Duration::from_secs_f64(i as f64 / rate);
            tokio::time::sleep_until(intended.into()).await;
            let builder = request(client);
            tasks.push(tokio::spawn(async move {
                let ok = builder.send().await.is_ok_and(|r| r.status().is_success());
                (intended.elapsed(), Instant::now(), ok)
            }));
        }
        let mut latencies = Vec::with_capacity(total);
        let mut failed = 0;
        let mut last = start;
        for task in tasks {
            let (latency, done, ok) = task.await.expect("request task");
            last = last.max(done);
            if ok {
                latencies.push(latency);
            } else {
                failed += 1;
            }
        }
        latencies.sort();
        Run {
            offered: rate,
            completed: latencies.len(),
            failed,
            elapsed: last.duration_since(start),
            latencies,
        }
    }
}

/// The records the screening checks find, loaded the way a department loads
/// them: NDJSON through Investigate's import API with a department scope.
pub async fn import_records(api: &Api, up: &Up) {
    let importer = up
        .process
        .token_with(&["--scope", "records-import", "--sub", "records-feed"]);
    let imports = [
        (
            "lost-stolen-documents",
            vec![
                json!({ "source_ref": "e2e-lost-1", "document_number": "LS9876543", "issuing_state": "POL", "reported_on": "2026-01-05", "status": "lost" }),
                json!({ "source_ref": "e2e-stolen-1", "document_number": "509977331", "issuing_state": "GBR", "reported_on": "2026-02-11", "status": "stolen" }),
            ],
        ),
        (
            "warnings",
            vec![json!({
                "source_ref": "e2e-warning-1", "given_names": "Ivan", "surname": "Petrov",
                "date_of_birth": "1975-02-14", "category": "immigration", "severity": "high",
                "summary": "Overstayed a previous visa by 14 months"
            })],
        ),
        (
            // Convicted 15 months before TODAY: 12 months' custody ends
            // 2026-09-15, so it is unspent until 2027-09-15.
            "criminal-records",
            vec![json!({
                "source_ref": "e2e-record-1", "given_names": "John", "surname": "Smith",
                "date_of_birth": "1980-01-01", "offence": "Burglary", "disposal": "12 months' imprisonment",
                "court": "Reading Crown Court", "conviction_date": "2025-09-15",
                "disposal_kind": "custody", "sentence_length": "12 months", "summary_only": false
            })],
        ),
    ];
    for (dataset, lines) in imports {
        let (status, report) = api
            .post_ndjson(
                &format!("investigate/v1/imports/{dataset}"),
                &importer,
                &lines,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{dataset}: {report}");
        assert_eq!(report["accepted"], lines.len(), "{dataset}: {report}");
    }
}
