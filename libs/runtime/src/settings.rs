//! The one configuration loader: compiled-in defaults, then `config/*.toml`,
//! then `CASEWORK__SECTION__KEY` environment variables. Unknown keys and bad
//! values stop the start with a message naming the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use casework_bus::{Assignment, BusSettings};
use casework_store::{DatabaseSettings, SqliteSynchronous};
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::RuntimeError;

const DEFAULTS: &str = include_str!("defaults.toml");

/// Every setting of the platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where embedded mode keeps its files.
    pub data_dir: PathBuf,
    /// The HTTP listener.
    pub http: HttpSettings,
    /// The Kafka cluster (empty bootstrap: the embedded broker).
    pub kafka: KafkaSettings,
    /// The embedded broker.
    pub broker: BrokerSettings,
    /// The services' databases.
    pub database: DatabaseConfig,
    /// Token verification.
    pub auth: AuthSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// Where schemas, products, templates and rule sets are.
    pub paths: PathSettings,
    /// What day it is.
    pub clock: ClockSettings,
    /// The web front end.
    pub web: WebSettings,
}

/// `[web]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSettings {
    /// Where the services' APIs are; empty: this process's own listener
    /// (`casework up`).
    pub api_url: String,
    /// Mark the session cookie `Secure` (behind TLS).
    pub secure_cookies: bool,
    /// How long a session lasts without a request.
    pub session_minutes: u64,
    /// Where govuk-frontend's `dist/govuk` is (installed by `npm ci`).
    pub assets: PathBuf,
    /// Status checks one client address may make in a minute.
    pub status_checks_per_minute: u32,
    /// Failed sign-ins in a row that lock a local account.
    pub sign_in_attempts: u32,
    /// How long a locked account stays locked.
    pub lockout_minutes: u64,
    /// A staff member signs in again after this long, however busy.
    pub sign_in_hours: u64,
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to listen on.
    pub listen: String,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Largest NDJSON import body accepted (bulk loads are far larger
    /// than forms).
    pub import_max_bytes: usize,
    /// Requests one client address may make a minute to the public routes
    /// that change something (intake, status); 0: no limit.
    pub public_requests_per_minute: u32,
    /// Proxies (the web front end, an ingress) whose `X-Forwarded-For` names
    /// the client's address; anyone else's is ignored. Addresses or networks
    /// (`10.244.0.0/16`, a cluster's pod network).
    pub trusted_proxies: Vec<crate::limits::Network>,
}

/// `[kafka]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Bootstrap servers; empty means the embedded broker.
    pub bootstrap_servers: String,
    /// Prefix of every topic and group.
    pub topic_prefix: String,
    /// Partitions per topic created at start; unset: `BusSettings::new`'s.
    #[serde(default)]
    pub partitions: Option<i32>,
    /// Replication factor per topic created at start; unset: `BusSettings::new`'s.
    #[serde(default)]
    pub replication: Option<i32>,
    /// Stable consumer instance name of this process.
    pub consumer_instance: String,
    /// Longest a consumer's fetch waits at the broker, in milliseconds;
    /// unset: `BusSettings::new`'s.
    #[serde(default)]
    pub fetch_wait_ms: Option<u64>,
}

/// `[broker]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSettings {
    /// Address of the embedded broker.
    pub listen: String,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Empty: SQLite files under the data directory; or a PostgreSQL URL.
    pub url: String,
    /// `full` or `normal`; unset: `DatabaseSettings::new`'s.
    #[serde(default)]
    pub sqlite_synchronous: Option<SqliteSynchronous>,
    /// SQLite busy timeout; unset: `DatabaseSettings::new`'s.
    #[serde(default)]
    pub busy_timeout_ms: Option<u64>,
    /// Pool size per service; unset: `DatabaseSettings::new`'s.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// PostgreSQL: the services' application role. `casework migrate`, run
    /// as the schemas' owner, grants it what the services need and no more
    /// than reading and appending the audit trail. Empty: no grants.
    #[serde(default)]
    pub app_role: String,
}

/// `[auth]`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// An OIDC issuer's JWKS; empty means the embedded signing key.
    pub jwks_url: String,
    /// The signing algorithms accepted; empty means the mode's default
    /// (`HS256` embedded, `RS256` and `ES256` with a JWKS).
    pub algorithms: Vec<String>,
    /// A token signed by a key the JWKS lacks refetches it, at most this often.
    pub jwks_min_refetch_seconds: u64,
    /// The JWKS is refetched this often regardless.
    pub jwks_refresh_seconds: u64,
    /// The claim of a token that holds its roles (`roles`; an identity
    /// provider may name it otherwise, e.g. `groups`).
    pub roles_claim: String,
    /// Staff sign in through this OpenID Connect issuer (authorization code
    /// with PKCE); empty: local accounts (`casework user add`).
    pub oidc_issuer: String,
    /// The web front end's client id at the issuer.
    pub oidc_client_id: String,
    /// Its client secret, if the issuer gave it one (never logged; set it
    /// with `CASEWORK__AUTH__OIDC_CLIENT_SECRET`).
    pub oidc_client_secret: String,
    /// Requests a department client (a client-credentials token) may make a
    /// minute, unless `client_quotas` names it; 0: no limit.
    pub client_requests_per_minute: u32,
    /// Per client id: its own requests a minute.
    pub client_quotas: std::collections::HashMap<String, u32>,
    /// How long an access token from the embedded token endpoint lasts.
    pub client_token_minutes: u64,
    /// Where department clients get tokens (the OpenAPI documents' OAuth 2.0
    /// flow): the embedded `/oauth/token`, or the identity provider's.
    pub token_url: String,
}

/// Written without the client secret: settings may be logged.
impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_url", &self.jwks_url)
            .field("algorithms", &self.algorithms)
            .field("roles_claim", &self.roles_claim)
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field("oidc_client_secret", &"(redacted)")
            .field(
                "client_requests_per_minute",
                &self.client_requests_per_minute,
            )
            .field("client_quotas", &self.client_quotas)
            .finish_non_exhaustive()
    }
}

impl AuthSettings {
    /// A department client's requests a minute (0: no limit).
    pub fn quota_of(&self, client_id: &str) -> u32 {
        self.client_quotas
            .get(client_id)
            .copied()
            .unwrap_or(self.client_requests_per_minute)
    }

    /// The algorithms a token may be signed with: `auth.algorithms`, or the
    /// mode's default. With a JWKS only asymmetric ones: a JWKS is public, so
    /// an HMAC "key" from it would let anyone sign.
    pub fn accepted_algorithms(&self) -> Result<Vec<jsonwebtoken::Algorithm>, String> {
        use jsonwebtoken::Algorithm;
        let jwks = !self.jwks_url.trim().is_empty();
        if self.algorithms.is_empty() {
            return Ok(if jwks {
                vec![Algorithm::RS256, Algorithm::ES256]
            } else {
                vec![Algorithm::HS256]
            });
        }
        let mut accepted = Vec::new();
        for name in &self.algorithms {
            let algorithm: Algorithm = name
                .trim()
                .parse()
                .map_err(|_| format!("`{name}` is not a JWS algorithm (RS256, ES256, ...)"))?;
            let symmetric = matches!(
                algorithm,
                Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
            );
            if jwks && symmetric {
                return Err(format!("`{name}` is symmetric: never accepted with a JWKS"));
            }
            if !jwks && algorithm != Algorithm::HS256 {
                return Err(format!(
                    "`{name}`: the embedded signing key signs HS256 only"
                ));
            }
            accepted.push(algorithm);
        }
        Ok(accepted)
    }
}

/// `[clock]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSettings {
    /// Empty: the system's date (UTC). Or a fixed day, `YYYY-MM-DD`, for
    /// tests and demonstrations: every "today" of the platform is that day.
    pub today: String,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Log filter.
    pub log: String,
    /// OTLP/HTTP endpoint; empty means no export.
    pub otlp_endpoint: String,
}

/// `[paths]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSettings {
    /// JSON Schemas and `asyncapi.yaml`.
    pub schemas: PathBuf,
    /// Product definitions.
    pub products: PathBuf,
    /// Notification templates.
    pub templates: PathBuf,
    /// Rule sets (`<id>/v<N>.toml`).
    pub rules: PathBuf,
    /// Rehabilitation tables (`v<N>.toml`).
    pub rehabilitation: PathBuf,
    /// The web front end's forms (`<product>.toml`).
    pub forms: PathBuf,
    /// The bank holidays working days skip (GOV.UK's `bank-holidays.json`).
    pub bank_holidays: PathBuf,
    /// The person index's matching policy (its model file beside it).
    pub person_matching: PathBuf,
}

impl Settings {
    /// Loads the defaults, then every `*.toml` directly in `config_dir` (in
    /// name order; a missing folder is fine), then the environment.
    pub fn load(config_dir: &Path) -> Result<Self, RuntimeError> {
        Self::load_with_env(config_dir, std::env::vars())
    }

    /// [`Settings::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        config_dir: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, RuntimeError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if config_dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(config_dir)
                .map_err(|e| RuntimeError::Config(format!("{}: {e}", config_dir.display())))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
                .collect();
            files.sort();
            for file in files {
                builder = builder.add_source(config::File::from(file).required(true));
            }
        }
        let env: std::collections::HashMap<String, String> = env
            .into_iter()
            .filter(|(key, _)| key.starts_with("CASEWORK__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("CASEWORK")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("auth.algorithms")
                .with_list_parse_key("http.trusted_proxies")
                .source(Some(env)),
        );
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| RuntimeError::Config(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), RuntimeError> {
        let bad = |key: &str, why: String| Err(RuntimeError::Config(format!("{key}: {why}")));
        if self.http.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad(
                "http.listen",
                format!(
                    "`{}` is not an address like 127.0.0.1:8080",
                    self.http.listen
                ),
            );
        }
        if self.http.max_body_bytes == 0 {
            return bad("http.max_body_bytes", "must be more than 0".into());
        }
        if self.http.import_max_bytes == 0 {
            return bad("http.import_max_bytes", "must be more than 0".into());
        }
        let url = &self.database.url;
        if !url.is_empty() && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
            return bad(
                "database.url",
                "must be empty (SQLite under data_dir) or a postgres:// URL".into(),
            );
        }
        if self
            .kafka
            .fetch_wait_ms
            .is_some_and(|ms| !(1..=10_000).contains(&ms))
        {
            return bad(
                "kafka.fetch_wait_ms",
                "must be between 1 and 10000 (milliseconds)".into(),
            );
        }
        if let Err(why) = self.clock() {
            return bad("clock.today", why);
        }
        if let Err(why) = self.auth.accepted_algorithms() {
            return bad("auth.algorithms", why);
        }
        if self.web.session_minutes == 0 {
            return bad("web.session_minutes", "must be more than 0".into());
        }
        let api_url = &self.web.api_url;
        if !(api_url.is_empty()
            || api_url.starts_with("http://")
            || api_url.starts_with("https://"))
        {
            return bad(
                "web.api_url",
                "must be empty (this listener) or an http(s):// URL".into(),
            );
        }
        if self.auth.jwks_refresh_seconds == 0 {
            return bad("auth.jwks_refresh_seconds", "must be more than 0".into());
        }
        if self.kafka.partitions.is_some_and(|n| n < 1)
            || self.kafka.replication.is_some_and(|n| n < 1)
        {
            return bad(
                "kafka",
                "partitions and replication must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// The platform's clock: the system's, or the fixed day of `clock.today`.
    pub fn clock(&self) -> Result<Clock, String> {
        let today = self.clock.today.trim();
        if today.is_empty() {
            return Ok(Clock::system());
        }
        chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d")
            .map(Clock::fixed)
            .map_err(|_| {
                format!("`{today}` is not a date (YYYY-MM-DD), nor empty for the system's")
            })
    }

    /// Whether `casework up` must start the embedded broker.
    pub fn uses_embedded_broker(&self) -> bool {
        self.kafka.bootstrap_servers.trim().is_empty()
    }

    /// The bus settings, against `bootstrap` (the embedded broker's address
    /// when the configuration names none).
    pub fn bus(&self) -> BusSettings {
        let bootstrap = if self.uses_embedded_broker() {
            self.broker.listen.clone()
        } else {
            self.kafka.bootstrap_servers.clone()
        };
        let mut bus = BusSettings::new(bootstrap).with_prefix(&self.kafka.topic_prefix);
        bus.partitions = self.kafka.partitions.unwrap_or(bus.partitions);
        bus.replication = self.kafka.replication.unwrap_or(bus.replication);
        bus.consumer_instance =
            Some(self.kafka.consumer_instance.clone()).filter(|name| !name.is_empty());
        if let Some(ms) = self.kafka.fetch_wait_ms {
            bus.fetch_wait = Duration::from_millis(ms);
        }
        // The embedded broker serves one process, which is then each service's
        // only consumer: group membership would add only the broker's join pauses.
        if self.uses_embedded_broker() {
            bus.assignment = Assignment::AllPartitions;
        }
        bus
    }

    /// The database settings of one service: its SQLite file under the data
    /// directory, or its schema on the configured PostgreSQL.
    pub fn database_for(&self, service: &str) -> DatabaseSettings {
        let mut settings = if self.database.url.is_empty() {
            DatabaseSettings::new(format!(
                "sqlite://{}",
                absolute(&self.data_dir)
                    .join(format!("{service}.db"))
                    .display()
            ))
        } else {
            DatabaseSettings::new(&self.database.url).with_schema(service)
        };
        let database = &self.database;
        settings.sqlite_synchronous = database
            .sqlite_synchronous
            .unwrap_or(settings.sqlite_synchronous);
        if let Some(ms) = database.busy_timeout_ms {
            settings.busy_timeout = Duration::from_millis(ms);
        }
        settings.max_connections = database.max_connections.unwrap_or(settings.max_connections);
        settings
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn temp_config(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("casework-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn defaults_load_without_any_file() {
        let settings = Settings::load_with_env(Path::new("/nonexistent"), env(&[])).unwrap();
        assert_eq!(settings.http.listen, "127.0.0.1:8080");
        assert!(settings.uses_embedded_broker());
        assert_eq!(settings.bus().bootstrap_servers, "127.0.0.1:19092");
        assert!(
            settings
                .database_for("register")
                .url
                .ends_with("data/register.db")
        );
        // The libraries' constructors hold the defaults the file leaves unset.
        let bus = BusSettings::new("x");
        let database = DatabaseSettings::new("x");
        let (got_bus, got_database) = (settings.bus(), settings.database_for("register"));
        assert_eq!(
            (got_bus.partitions, got_bus.replication, got_bus.fetch_wait),
            (bus.partitions, bus.replication, bus.fetch_wait)
        );
        assert_eq!(
            (
                got_database.sqlite_synchronous,
                got_database.busy_timeout,
                got_database.max_connections
            ),
            (
                database.sqlite_synchronous,
                database.busy_timeout,
                database.max_connections
            )
        );
        // And a file or the environment overrides them.
        let settings = Settings::load_with_env(
            Path::new("/nonexistent"),
            env(&[
                ("CASEWORK__KAFKA__PARTITIONS", "6"),
                ("CASEWORK__DATABASE__MAX_CONNECTIONS", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.bus().partitions, 6);
        assert_eq!(settings.database_for("register").max_connections, 2);
    }

    #[test]
    fn files_override_defaults_and_environment_overrides_files() {
        let dir = temp_config(&[("10-site.toml", "[http]\nlisten = \"0.0.0.0:9000\"\n")]);
        let settings = Settings::load_with_env(&dir, env(&[])).unwrap();
        assert_eq!(settings.http.listen, "0.0.0.0:9000");
        let settings = Settings::load_with_env(
            &dir,
            env(&[
                ("CASEWORK__HTTP__LISTEN", "127.0.0.1:9999"),
                ("CASEWORK__DATABASE__URL", "postgres://u@h/db"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.http.listen, "127.0.0.1:9999");
        assert_eq!(
            settings.database_for("decide").schema.as_deref(),
            Some("decide")
        );
    }

    #[test]
    fn trusted_proxies_come_from_the_environment_as_a_list_with_networks() {
        let settings = Settings::load_with_env(
            Path::new("/nonexistent"),
            env(&[(
                "CASEWORK__HTTP__TRUSTED_PROXIES",
                "127.0.0.1,::1,10.244.0.0/16",
            )]),
        )
        .unwrap();
        let proxies = &settings.http.trusted_proxies;
        assert_eq!(proxies.len(), 3);
        assert!(proxies[2].contains(&"10.244.9.9".parse().unwrap()));
        let wrong = Settings::load_with_env(
            Path::new("/nonexistent"),
            env(&[("CASEWORK__HTTP__TRUSTED_PROXIES", "10.0.0.0/99")]),
        );
        assert!(wrong.is_err());
    }

    #[test]
    fn algorithms_default_by_mode_and_a_jwks_never_takes_hmac() {
        use jsonwebtoken::Algorithm;
        let embedded = Settings::load_with_env(Path::new("/nonexistent"), env(&[])).unwrap();
        assert_eq!(
            embedded.auth.accepted_algorithms(),
            Ok(vec![Algorithm::HS256])
        );
        let jwks = [("CASEWORK__AUTH__JWKS_URL", "https://idp.example/jwks")];
        let oidc = Settings::load_with_env(Path::new("/nonexistent"), env(&jwks)).unwrap();
        assert_eq!(
            oidc.auth.accepted_algorithms(),
            Ok(vec![Algorithm::RS256, Algorithm::ES256])
        );
        let listed = Settings::load_with_env(
            Path::new("/nonexistent"),
            env(&[jwks[0], ("CASEWORK__AUTH__ALGORITHMS", "PS256,ES384")]),
        )
        .unwrap();
        assert_eq!(
            listed.auth.accepted_algorithms(),
            Ok(vec![Algorithm::PS256, Algorithm::ES384])
        );
        let err = Settings::load_with_env(
            Path::new("/nonexistent"),
            env(&[jwks[0], ("CASEWORK__AUTH__ALGORITHMS", "HS256")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("symmetric"), "{err}");
    }

    #[test]
    fn the_clock_is_the_systems_unless_a_day_is_fixed() {
        let system = Settings::load_with_env(Path::new("/nonexistent"), env(&[])).unwrap();
        assert_eq!(system.clock(), Ok(Clock::system()));
        let fixed = Settings::load_with_env(
            Path::new("/nonexistent"),
            env(&[("CASEWORK__CLOCK__TODAY", "2026-12-06")]),
        )
        .unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(fixed.clock().map(|c| c.today()), Ok(day));
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let dir = temp_config(&[("site.toml", "[http]\nlisen = \"0.0.0.0:9000\"\n")]);
        let err = Settings::load_with_env(&dir, env(&[])).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value, named) in [
            ("CASEWORK__HTTP__LISTEN", "everywhere", "http.listen"),
            (
                "CASEWORK__DATABASE__SQLITE_SYNCHRONOUS",
                "sometimes",
                "sqlite_synchronous",
            ),
            ("CASEWORK__DATABASE__URL", "mysql://x", "database.url"),
            ("CASEWORK__HTTP__MAX_BODY_BYTES", "lots", "max_body_bytes"),
            ("CASEWORK__CLOCK__TODAY", "06/12/2026", "clock.today"),
            ("CASEWORK__AUTH__ALGORITHMS", "RS256", "auth.algorithms"),
            ("CASEWORK__AUTH__ALGORITHMS", "none", "auth.algorithms"),
        ] {
            let err = Settings::load_with_env(Path::new("/nonexistent"), env(&[(key, value)]))
                .unwrap_err();
            assert!(err.to_string().contains(named), "{key}: {err}");
        }
    }
}
