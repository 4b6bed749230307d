//! The end-to-end harness: the platform started as its users start it (the
//! `casework` command as a process), and an HTTP client that speaks to it
//! with tokens. The tests are `platform.rs` (the runtime and the first slice)
//! and `products.rs` (every product through all seven services).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use casework_testkit::{Backend, CaseworkProcess, TempDir, TestDatabase, free_port, init_tracing};
use reqwest::StatusCode;
use serde_json::Value;

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

/// `casework up` on its own ports and data directory.
pub struct Up {
    /// The process.
    pub process: CaseworkProcess,
    /// Its embedded broker's address.
    pub broker: String,
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
        let broker = format!("127.0.0.1:{}", free_port());
        let mut env = database_env(&db);
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
            env,
            _dir: dir,
            _db: db,
        })
    }

    /// Runs `casework <args>` (e.g. `seed`) against this platform's data
    /// directory and databases, on its clock, as an operator would beside it.
    pub fn run(&self, args: &[&str]) -> String {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.process.run(args, &env)
    }
}

/// Waits for the aggregate `/readyz` to be green.
pub async fn wait_ready(base_url: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(response) = reqwest::get(format!("{base_url}/readyz")).await
            && response.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base_url} not ready after 90 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
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
