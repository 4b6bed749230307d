//! The one test harness of the platform.
//!
//! - [`TestBroker`]: the real broker binary (`casework-broker`) as a child
//!   process, shared by every test of a test binary ([`TestBroker::shared`]) or
//!   dedicated to one test that kills and restarts it.
//! - [`unique_prefix`]: a topic and consumer-group prefix per test, so tests
//!   sharing a broker never see each other's events.
//! - [`TestDatabase`]: a fresh SQLite file or a new PostgreSQL database per
//!   test, on either [`Backend`].
//!
//! It must never stand in for a component: everything it starts is the real thing.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use casework_store::DatabaseSettings;
use sea_orm::{ConnectionTrait, Database};

/// The environment variable that points the PostgreSQL tests at a server.
pub const DATABASE_URL_VAR: &str = "CASEWORK_TEST_DATABASE_URL";
/// The environment variable that points the shared broker at an external
/// Kafka (Apache Kafka, Redpanda, ...) instead of the embedded one.
pub const KAFKA_BOOTSTRAP_VAR: &str = "CASEWORK_TEST_KAFKA_BOOTSTRAP";
/// The environment variable that overrides where the broker binary is.
pub const BROKER_BIN_VAR: &str = "CASEWORK_BROKER_BIN";

/// A valid `application.received.v1` about a new case (the `n` varies the reference).
pub fn sample_application_received(n: usize) -> casework_contracts::Event {
    let case_id = uuid::Uuid::now_v7().to_string();
    casework_contracts::Event::new(
        "/casework/register",
        casework_contracts::EventType::new("application.received.v1"),
        case_id.clone(),
        serde_json::json!({
            "case_id": case_id,
            "reference": format!("VV-{:04}-TEST-X", n % 10_000),
            "product": "visit-visa",
            "received_at": "2026-11-22T09:30:00Z",
            "channel": "online"
        }),
    )
}

/// Logs to the test output once per test binary (`RUST_LOG` filters it).
pub fn init_tracing() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

/// A prefix unique to this test, e.g. `t3f9a1c2e.`, for topics and groups.
pub fn unique_prefix() -> String {
    format!("t{}.", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A temporary folder removed when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `$TMPDIR/casework-<label>-<random>`.
    pub fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "casework-{label}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&path).expect("create temporary folder");
        Self(path)
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the workspace's built binaries are: beside the running test's `deps/`.
pub fn binary_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current executable");
    let mut dir = exe.parent().expect("executable folder").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

/// The median of a benchmark's runs (the mean of the middle two of an even number).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port")
}

/// The embedded broker running as a child process.
#[derive(Debug)]
pub struct TestBroker {
    /// `host:port` for `bootstrap.servers`.
    pub bootstrap: String,
    data_dir: TempDir,
    process: Mutex<Option<BrokerProcess>>,
}

#[derive(Debug)]
struct BrokerProcess {
    child: Child,
    // Held open: the broker exits when it closes, i.e. when this test process dies.
    _stdin: ChildStdin,
}

impl TestBroker {
    /// The broker shared by every test in this test binary, started on first
    /// use; an external Kafka instead when `CASEWORK_TEST_KAFKA_BOOTSTRAP` is set.
    pub fn shared() -> &'static TestBroker {
        static SHARED: OnceLock<TestBroker> = OnceLock::new();
        SHARED.get_or_init(|| match std::env::var(KAFKA_BOOTSTRAP_VAR) {
            Ok(bootstrap) => TestBroker {
                bootstrap,
                data_dir: TempDir::new("external-broker"),
                process: Mutex::new(None),
            },
            Err(_) => TestBroker::start(),
        })
    }

    /// A broker of this test's own, on a fresh port and data folder.
    pub fn start() -> TestBroker {
        let broker = TestBroker {
            bootstrap: format!("127.0.0.1:{}", free_port()),
            data_dir: TempDir::new("broker"),
            process: Mutex::new(None),
        };
        broker.restart();
        broker
    }

    /// Starts the process (again) on the same port and data folder, and waits
    /// until it accepts connections.
    pub fn restart(&self) {
        let bin = std::env::var_os(BROKER_BIN_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| binary_path("casework-broker"));
        assert!(
            bin.exists(),
            "broker binary not found at {}: build it first (`cargo build -p casework-broker`, which `make test` does) or set {BROKER_BIN_VAR}",
            bin.display()
        );
        let mut child = Command::new(&bin)
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .arg("--listen")
            .arg(&self.bootstrap)
            .arg("--exit-with-parent")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stdin = child.stdin.take().expect("broker stdin");
        let stdout = child.stdout.take().expect("broker stdout");
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("read broker output");
        assert!(
            first_line.contains("listening"),
            "broker did not start: {first_line:?}"
        );
        wait_for_port(&self.bootstrap, Duration::from_secs(20));
        *self.process.lock().unwrap() = Some(BrokerProcess {
            child,
            _stdin: stdin,
        });
    }

    /// Kills the broker process with SIGKILL and waits for it to die.
    pub fn kill(&self) {
        if let Some(mut process) = self.process.lock().unwrap().take() {
            process.child.kill().expect("SIGKILL the broker");
            let _ = process.child.wait();
        }
    }
}

impl Drop for TestBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until something accepts TCP connections at `address`.
pub fn wait_for_port(address: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(address).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listening on {address} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary folder.
    Sqlite,
    /// A new database on the server named by `CASEWORK_TEST_DATABASE_URL`.
    Postgres,
}

/// A fresh database for one test; dropped (PostgreSQL) or deleted (SQLite) afterwards.
#[derive(Debug)]
pub struct TestDatabase {
    /// Settings that reach it, with the shipped defaults.
    pub settings: DatabaseSettings,
    /// On PostgreSQL, the database's name.
    pub name: String,
    server_url: Option<String>,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    /// A fresh database on `backend`, or `None` (after printing one line saying
    /// so) when the backend is PostgreSQL and no server is configured.
    pub async fn create(backend: Backend) -> Option<TestDatabase> {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new("db");
                let file = dir.path().join("service.db");
                Some(TestDatabase {
                    settings: DatabaseSettings::new(format!("sqlite://{}", file.display())),
                    name: file.display().to_string(),
                    server_url: None,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let Ok(server_url) = std::env::var(DATABASE_URL_VAR) else {
                    announce_postgres_skipped();
                    return None;
                };
                let name = format!("casework_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&server_url).await.unwrap_or_else(|e| {
                    panic!("{DATABASE_URL_VAR} is set but PostgreSQL is unreachable: {e}")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                let _ = admin.close().await;
                Some(TestDatabase {
                    settings: DatabaseSettings::new(with_database(&server_url, &name)),
                    name,
                    server_url: Some(server_url),
                    _dir: None,
                })
            }
        }
    }

    /// The backend this database is on.
    pub fn backend(&self) -> Backend {
        if self.server_url.is_some() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// Runs SQL on the server's maintenance database (PostgreSQL only), e.g. to
    /// refuse connections to this test's database.
    pub async fn admin(&self, sql: &str) {
        let server = self.server_url.as_ref().expect("PostgreSQL only");
        let admin = Database::connect(server).await.expect("connect to server");
        admin
            .execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = admin.close().await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(server) = self.server_url.take() {
            let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
            // Drop runs outside any runtime guarantee: use a thread of our own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&server).await {
                        let _ = admin.execute_unprepared(&sql).await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Says once per test binary, on the real stderr (which the test harness does
/// not capture), that the PostgreSQL cases did not run.
fn announce_postgres_skipped() {
    use std::io::Write;
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: the PostgreSQL cases of this test binary ({DATABASE_URL_VAR} is not set; .ci/run sets it)"
        );
    });
}

/// The same server URL with another database name.
fn with_database(server_url: &str, database: &str) -> String {
    match server_url.rsplit_once('/') {
        Some((base, tail)) if base.contains("://") && !base.ends_with('/') => {
            let query = tail.split_once('?').map(|(_, q)| format!("?{q}"));
            format!("{base}/{database}{}", query.unwrap_or_default())
        }
        _ => format!("{}/{database}", server_url.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_replaces_the_servers() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }

    #[test]
    fn prefixes_are_unique() {
        assert_ne!(unique_prefix(), unique_prefix());
    }
}

/// A `casework` process (`up` or `serve`), started from the workspace root so
/// it finds `config/` and `schemas/`, and killed when dropped.
#[derive(Debug)]
pub struct CaseworkProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Its data directory (signing key, SQLite files, broker data).
    pub data_dir: PathBuf,
    /// Where it runs from (`config/`, `schemas/`).
    workspace: PathBuf,
}

impl CaseworkProcess {
    /// Runs `casework <args>` in `workspace` with extra environment, and waits
    /// for its "listening" line.
    pub fn start(workspace: &Path, args: &[&str], env: &[(&str, &str)], data_dir: &Path) -> Self {
        Self::spawn(workspace, args, env, data_dir, None)
    }

    /// [`CaseworkProcess::start`] logging at `info` to the file `log`, for
    /// tests that read what the platform logs.
    pub fn start_logging_to(
        workspace: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        data_dir: &Path,
        log: &Path,
    ) -> Self {
        Self::spawn(workspace, args, env, data_dir, Some(log))
    }

    fn spawn(
        workspace: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        data_dir: &Path,
        log: Option<&Path>,
    ) -> Self {
        let bin = binary_path("casework");
        assert!(
            bin.exists(),
            "{} not found: build it first (`make test` does)",
            bin.display()
        );
        let mut command = Command::new(&bin);
        command
            .current_dir(workspace)
            .args(args)
            .env("CASEWORK__TELEMETRY__LOG", "warn")
            .env("CASEWORK__DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        if let Some(log) = log {
            let file = std::fs::File::create(log)
                .unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
            command
                .env("CASEWORK__TELEMETRY__LOG", "info")
                .stderr(Stdio::from(file));
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
        let stdout = child.stdout.take().expect("casework stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read casework output");
        let base_url = line
            .trim()
            .strip_prefix("casework listening on ")
            .unwrap_or_else(|| panic!("casework did not start: {line:?}"))
            .to_owned();
        CaseworkProcess {
            child,
            base_url,
            data_dir: data_dir.to_owned(),
            workspace: workspace.to_owned(),
        }
    }

    /// A token for `role`, from `casework token` with this process's key.
    pub fn token(&self, role: &str) -> String {
        self.token_with(&["--role", role, "--sub", &format!("test-{role}")])
    }

    /// A token from `casework token <args>` (e.g. `--scope records-import`).
    pub fn token_with(&self, args: &[&str]) -> String {
        let mut command = vec!["token"];
        command.extend_from_slice(args);
        self.run(&command, &[]).trim().to_owned()
    }

    /// Runs `casework <args>` (`token`, `seed`, ...) as an operator would
    /// beside this process: its data directory, and `env` (the database the
    /// process uses, a fixed clock). Its standard output; fails the test if
    /// the command fails.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        self.run_with_input(args, env, "")
    }

    /// [`CaseworkProcess::run`] with `input` on its standard input (a
    /// password for `casework user add`).
    pub fn run_with_input(&self, args: &[&str], env: &[(&str, &str)], input: &str) -> String {
        let mut child = Command::new(binary_path("casework"))
            .current_dir(&self.workspace)
            .args(args)
            .env("CASEWORK__TELEMETRY__LOG", "warn")
            .env("CASEWORK__DATA_DIR", &self.data_dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run casework {args:?}: {e}"));
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("casework stdin");
            stdin
                .write_all(input.as_bytes())
                .unwrap_or_else(|e| panic!("write to casework {args:?}: {e}"));
        }
        let output = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("run casework {args:?}: {e}"));
        assert!(
            output.status.success(),
            "casework {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("casework prints UTF-8")
    }

    /// The process id (for resource measurements).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for CaseworkProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Defines each scenario `async fn name(backend: Backend)` as two tests,
/// `sqlite::name` and `postgres::name`; the PostgreSQL ones say they were
/// skipped when no server is configured.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario($crate::Backend::Postgres).await
                }
            )*
        }
    };
}

/// The shipped event schemas (`schemas/`), loaded once per test binary.
pub fn shipped_schemas() -> std::sync::Arc<casework_contracts::SchemaRegistry> {
    static REGISTRY: std::sync::OnceLock<std::sync::Arc<casework_contracts::SchemaRegistry>> =
        std::sync::OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
            std::sync::Arc::new(
                casework_contracts::SchemaRegistry::load(&schemas, &[]).expect("shipped schemas"),
            )
        })
        .clone()
}

/// A fresh database on `backend` with a service's migrations applied (twice,
/// to show they are idempotent), for tests that drive a service's handler
/// directly; `None` when the backend is not configured.
pub async fn migrated_store<M: sea_orm_migration::MigratorTrait>(
    backend: Backend,
) -> Option<(TestDatabase, casework_store::Store)> {
    let db = TestDatabase::create(backend).await?;
    let store = casework_store::Store::connect(&db.settings)
        .await
        .expect("connect");
    store.migrate::<M>().await.expect("migrate");
    store.migrate::<M>().await.expect("migrate again");
    Some((db, store))
}

/// The shipped rehabilitation tables (`config/rehabilitation`), loaded once.
pub fn shipped_rehabilitation() -> std::sync::Arc<casework_disclosure::RehabilitationTables> {
    static TABLES: std::sync::OnceLock<std::sync::Arc<casework_disclosure::RehabilitationTables>> =
        std::sync::OnceLock::new();
    TABLES
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/rehabilitation");
            std::sync::Arc::new(
                casework_disclosure::RehabilitationTables::load(&dir)
                    .expect("shipped rehabilitation tables"),
            )
        })
        .clone()
}

/// A service's event handler against a real, migrated database, as its
/// consumer runs it but without a broker: [`Handled::deliver`] validates an
/// event and applies it in one writing transaction; [`Handled::emitted`]
/// reads back what the handler put in the outbox. The one harness every
/// service's handler tests use.
pub struct Handled<H> {
    /// The service's database.
    pub store: casework_store::Store,
    /// The shipped schemas.
    pub registry: std::sync::Arc<casework_contracts::SchemaRegistry>,
    /// The service's outbox.
    pub outbox: casework_bus::Outbox,
    /// The handler under test.
    pub handler: H,
    _db: TestDatabase,
}

impl<H: casework_bus::EventHandler> Handled<H> {
    /// `service`'s database on `backend`, migrated by `M`, and the handler
    /// `make` builds on its outbox; `None` when the backend is not configured.
    pub async fn start<M: sea_orm_migration::MigratorTrait>(
        backend: Backend,
        service: &str,
        make: impl FnOnce(casework_bus::Outbox) -> H,
    ) -> Option<Self> {
        let (db, store) = migrated_store::<M>(backend).await?;
        let registry = shipped_schemas();
        let outbox = casework_bus::Outbox::new(
            service,
            registry.clone(),
            casework_bus::BusSettings::new("unused:9092"),
        );
        Some(Self {
            handler: make(outbox.clone()),
            store,
            registry,
            outbox,
            _db: db,
        })
    }

    /// Applies `event` as the consumer would: validated against its schema,
    /// then handled in one writing transaction, committed if the handler
    /// succeeds and rolled back if it fails.
    pub async fn deliver(
        &self,
        event: &casework_contracts::Event,
    ) -> Result<(), casework_bus::HandlerError> {
        self.deliver_to(&self.handler, event).await
    }

    /// [`Handled::deliver`] to another handler on the same database (one
    /// built differently, e.g. on another day's clock).
    pub async fn deliver_to(
        &self,
        handler: &impl casework_bus::EventHandler,
        event: &casework_contracts::Event,
    ) -> Result<(), casework_bus::HandlerError> {
        apply_event(&self.store, &self.registry, handler, event).await
    }

    /// Every event in the outbox, oldest first, each checked against its
    /// schema and keyed by its subject.
    pub async fn emitted(&self) -> Vec<casework_contracts::Event> {
        casework_store::outbox::unpublished(self.store.connection(), 10_000, None)
            .await
            .expect("read the outbox")
            .into_iter()
            .map(|row| {
                let mut event: casework_contracts::Event =
                    serde_json::from_str(&row.event).expect("an event");
                assert_eq!(row.record_key, event.subject, "keyed by its subject");
                self.registry
                    .validate_event(&mut event)
                    .expect("an emitted event is schema-valid");
                event
            })
            .collect()
    }
}

/// Applies `event` to `handler` as a consumer would: validated against its
/// schema, then handled in one writing transaction of `store`, committed if
/// the handler succeeds and rolled back if it fails. [`Handled::deliver`]
/// in one call; this alone for tests that race several deliveries.
pub async fn apply_event(
    store: &casework_store::Store,
    registry: &casework_contracts::SchemaRegistry,
    handler: &impl casework_bus::EventHandler,
    event: &casework_contracts::Event,
) -> Result<(), casework_bus::HandlerError> {
    let mut event = event.clone();
    registry
        .validate_event(&mut event)
        .expect("the test's event is schema-valid");
    let txn = store.begin_write().await.expect("begin");
    match handler.handle(&txn, &event).await {
        Ok(()) => {
            store.commit(txn).await.expect("commit");
            Ok(())
        }
        Err(err) => {
            txn.rollback().await.expect("rollback");
            Err(err)
        }
    }
}
