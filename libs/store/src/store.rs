//! The connection pool of one service's database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous as SqlxSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use tokio::sync::Notify;

use crate::error::StoreError;
use crate::settings::{DatabaseSettings, SqliteSynchronous};

/// A service's database: its pools, and the signal that wakes its outbox relay.
///
/// On SQLite, writes go through a pool of one connection: writers queue for
/// it in order, inside this process, instead of finding the database locked
/// and sleeping in SQLite's busy handler (whose sleeps grow to 100 ms and
/// dominated tail latency). Reads use the other pool; in WAL mode they never
/// wait for writers. On PostgreSQL, which handles concurrent writers itself,
/// both are the same pool.
///
/// Someone is waiting behind every write a request makes (an applicant's
/// `POST`), and nobody behind a consumer's, whose backlog can wait. So on
/// SQLite the store counts the request writes queued for the writer, and a
/// consumer that sees one gives the writer up between events
/// ([`Store::requests_waiting`]).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    writer: DatabaseConnection,
    outbox_written: Arc<Notify>,
    /// Request writes queued for the single writer; `None` on PostgreSQL.
    requests_waiting: Option<Arc<AtomicUsize>>,
}

impl Store {
    /// Connects with the shipped settings: on SQLite, WAL, the configured
    /// `synchronous`, a busy timeout and foreign keys; on PostgreSQL, the
    /// service's own schema (created if missing) on the search path.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .sqlx_logging(false);

        if settings.is_sqlite() {
            let busy = settings.busy_timeout;
            let synchronous = match settings.sqlite_synchronous {
                SqliteSynchronous::Full => SqlxSynchronous::Full,
                SqliteSynchronous::Normal => SqlxSynchronous::Normal,
            };
            options.map_sqlx_sqlite_opts(move |opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(synchronous)
                    .busy_timeout(busy)
                    .foreign_keys(true)
            });
        } else if let Some(schema) = &settings.schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(StoreError::Settings(format!(
                    "schema `{schema}` must be lowercase letters, digits and underscores"
                )));
            }
            // Create the schema first, on a throwaway connection.
            let bootstrap = Database::connect(ConnectOptions::new(settings.url.clone())).await?;
            bootstrap
                .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .await?;
            bootstrap.close().await?;
            let search_path = schema.clone();
            options.map_sqlx_postgres_opts(move |opts| {
                opts.options([("search_path", search_path.as_str())])
            });
        } else if !settings.url.starts_with("postgres") {
            return Err(StoreError::Settings(format!(
                "unsupported database URL `{}`: use sqlite://... or postgres://...",
                redact(&settings.url)
            )));
        }

        let db = Database::connect(options.clone()).await?;
        let (writer, requests_waiting) = if settings.is_sqlite() {
            // Opened now and kept for good: its thread keeps the priority of
            // the start-up thread, above background work's (runtime::background).
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            (
                Database::connect(options).await?,
                Some(Arc::new(AtomicUsize::new(0))),
            )
        } else {
            (db.clone(), None)
        };
        Ok(Self {
            db,
            writer,
            outbox_written: Arc::new(Notify::new()),
            requests_waiting,
        })
    }

    /// The pool for reads.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The connection for writes outside a transaction (single statements).
    pub fn writer(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Applies a service's migrations (which start with [`crate::migrations::platform`]).
    pub async fn migrate<M: MigratorTrait>(&self) -> Result<(), StoreError> {
        M::up(&self.writer, None).await?;
        Ok(())
    }

    /// Begins a writing transaction for a request, which someone is waiting
    /// for: while it waits for the writer, consumers give the writer up at
    /// their next event. `BEGIN IMMEDIATE` on SQLite, so the write lock is
    /// taken up front and a conflict shows as BUSY (transient) at the start
    /// rather than as a failed upgrade half-way through.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let _queued = self.requests_waiting.as_deref().map(Queued::new);
        self.begin_background_write().await
    }

    /// Begins a writing transaction for background work (a consumer's batch),
    /// which should yield to requests: see [`Store::requests_waiting`].
    pub async fn begin_background_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        Ok(self.writer.begin_with_options(options).await?)
    }

    /// Whether a request's write is queued behind the single writer (always
    /// false on PostgreSQL, where writers do not queue for one connection).
    /// Background writers check it between units of work and, when it is
    /// true, commit and begin again, letting the request in first: the pool
    /// hands its connection out in the order it was asked for.
    pub fn requests_waiting(&self) -> bool {
        self.requests_waiting
            .as_deref()
            .is_some_and(|n| n.load(Ordering::Acquire) > 0)
    }

    /// Commits a transaction and wakes the outbox relay, which publishes
    /// whatever the transaction appended to the outbox.
    pub async fn commit(&self, txn: DatabaseTransaction) -> Result<(), StoreError> {
        txn.commit().await?;
        self.outbox_written.notify_one();
        Ok(())
    }

    /// Resolves when a transaction has committed since the last call.
    pub async fn outbox_written(&self) {
        self.outbox_written.notified().await;
    }

    /// Whether the database answers (for `readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db.ping().await?)
    }

    /// Closes the pools.
    pub async fn close(self) -> Result<(), StoreError> {
        if self.backend() == DbBackend::Sqlite {
            self.writer.close().await?;
        }
        Ok(self.db.close().await?)
    }
}

/// One request write counted as waiting while it lives (also when the
/// request is cancelled mid-wait).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self(count)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A URL with any password removed, for messages.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
