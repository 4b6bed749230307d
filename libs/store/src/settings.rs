//! How to reach a service's database.

use std::time::Duration;

/// SQLite's `synchronous` setting in WAL mode.
///
/// `Full` (the shipped default) syncs the WAL on every commit, so a committed
/// application survives a power cut; `Normal` survives a process crash but may
/// lose the last commits on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSynchronous {
    /// Sync the WAL on every commit.
    #[default]
    Full,
    /// Sync at checkpoints only.
    Normal,
}

impl std::str::FromStr for SqliteSynchronous {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Self::Full),
            "normal" => Ok(Self::Normal),
            other => Err(format!(
                "sqlite synchronous must be `full` or `normal`, not `{other}`"
            )),
        }
    }
}

/// Read from configuration by name (`full`, `normal`), once.
impl<'de> serde::Deserialize<'de> for SqliteSynchronous {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Connection settings of one service's database.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user@host:port/database`.
    pub url: String,
    /// On PostgreSQL, the schema that holds this service's tables (created if
    /// missing); services share a database but never a schema.
    pub schema: Option<String>,
    /// SQLite `synchronous`.
    pub sqlite_synchronous: SqliteSynchronous,
    /// How long a SQLite writer waits for the lock before reporting BUSY.
    pub busy_timeout: Duration,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
}

impl DatabaseSettings {
    /// Shipped defaults for a database URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            schema: None,
            sqlite_synchronous: SqliteSynchronous::default(),
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }

    /// The same settings with a PostgreSQL schema.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Whether the URL selects SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }
}
