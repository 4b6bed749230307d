//! The connection pool of one service's database.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sea_orm::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous as SqlxSynchronous,
};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
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
/// SQLite the store counts the request writes on their way to the writer:
/// a consumer that sees one gives the writer up between events
/// ([`Store::requests_waiting`]), and background work does not take the
/// writer while one is waiting ([`Store::begin_background_write`]).
///
/// A commit wakes the relay of its own process directly. On PostgreSQL it
/// also sends `NOTIFY casework_outbox_<schema>` (delivered when the
/// transaction commits), and a relay waiting in another process, which
/// `LISTEN`s on that channel, wakes too: with several instances of a
/// service, a request served by one wakes the relay in whichever runs it.
/// The relay's poll stays as the fallback (a dropped listener, SQLite).
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    writer: DatabaseConnection,
    outbox_written: Arc<Notify>,
    /// PostgreSQL: the channel commits notify and the relay listens on.
    channel: Option<String>,
    /// Whether the listener task has been started (by the first waiter).
    listening: Arc<std::sync::atomic::AtomicBool>,
    /// Request writes queued for the single writer; `None` on PostgreSQL.
    requests_waiting: Option<Arc<WaitingRequests>>,
    /// SQLite only.
    checkpointer: Option<Arc<Checkpointer>>,
}

/// Wakes `wake` on every notification on `channel`, until the connection fails.
async fn listen(
    pool: &sea_orm::sqlx::PgPool,
    channel: &str,
    wake: &Notify,
) -> Result<std::convert::Infallible, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen(channel).await?;
    loop {
        listener.recv().await?;
        wake.notify_one();
    }
}

/// How long background work defers to requests at most before it takes the
/// writer anyway: under sustained load requests may never stop coming, and
/// the pipeline behind them must still move.
const MAX_DEFERRAL: Duration = Duration::from_millis(20);

/// The request writes on their way to SQLite's single writer.
#[derive(Debug, Default)]
pub(crate) struct WaitingRequests {
    count: AtomicUsize,
    /// Signalled when the count drops to zero.
    none: Notify,
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
            options.map_sqlx_sqlite_opts(sqlite_options(settings, false));
        } else if let Some(schema) = &settings.schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(StoreError::Settings(format!(
                    "schema `{schema}` must be lowercase letters, digits and underscores"
                )));
            }
            // Create the schema first, on a throwaway connection, only if it
            // is missing: an application role that may not create schemas
            // (see `Store::grant_to`) connects to one the owner made.
            let bootstrap = Database::connect(ConnectOptions::new(settings.url.clone())).await?;
            let exists = bootstrap
                .query_one_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT 1 FROM pg_namespace WHERE nspname = $1",
                    [schema.as_str().into()],
                ))
                .await?
                .is_some();
            if !exists {
                bootstrap
                    .execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                    .await?;
            }
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
        let (writer, requests_waiting, checkpointer) = if settings.is_sqlite() {
            // Opened now and kept for good: its thread keeps the priority of
            // the start-up thread (casework_runtime::background lowers it for
            // databases whose writes are mostly background work).
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .map_sqlx_sqlite_opts(sqlite_options(settings, true));
            let writer = Database::connect(options).await?;
            let requests = Arc::new(WaitingRequests::default());
            let checkpointer = Checkpointer::start(
                sqlite_name(&settings.url),
                db.clone(),
                writer.clone(),
                requests.clone(),
            );
            (writer, Some(requests), Some(Arc::new(checkpointer)))
        } else {
            (db.clone(), None, None)
        };
        let channel = settings
            .schema
            .as_ref()
            .filter(|_| !settings.is_sqlite())
            .map(|schema| format!("casework_outbox_{schema}"));
        Ok(Self {
            db,
            writer,
            outbox_written: Arc::new(Notify::new()),
            channel,
            listening: Arc::default(),
            requests_waiting,
            checkpointer,
        })
    }

    /// PostgreSQL: lets `role` (the services' application role) use the
    /// tables of `schema` as the services need, but only read and append
    /// the audit trail; run by `casework migrate` as the schema's owner,
    /// after the migrations. The application role owns nothing, so it can
    /// neither change audit rows nor drop the triggers that guard them.
    pub async fn grant_to(&self, schema: &str, role: &str) -> Result<(), StoreError> {
        let plain = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !plain(schema) || !plain(role) {
            return Err(StoreError::Settings(format!(
                "role `{role}` and schema `{schema}` must be lowercase letters, digits and underscores"
            )));
        }
        if self.backend() != DbBackend::Postgres {
            return Ok(());
        }
        for statement in [
            format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{role}\""
            ),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA \"{schema}\" TO \"{role}\""),
            format!(
                "REVOKE UPDATE, DELETE, TRUNCATE ON \"{schema}\".audit_records, \"{schema}\".audit_subjects FROM \"{role}\""
            ),
        ] {
            self.writer.execute_unprepared(&statement).await?;
        }
        Ok(())
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
        let _queued = self.request_queued();
        self.begin().await
    }

    /// Begins a writing transaction for background work (a consumer's
    /// batch, a sweep), which gives way to requests: it waits while request
    /// writes are on their way to the writer (for at most [`MAX_DEFERRAL`]),
    /// and should give the writer up when one arrives ([`Store::requests_waiting`]).
    pub async fn begin_background_write(&self) -> Result<DatabaseTransaction, StoreError> {
        self.give_way_to_requests().await;
        self.begin().await
    }

    /// Waits while request writes are on their way to the writer, for at
    /// most [`MAX_DEFERRAL`]: background work calls it before it writes
    /// (single statements on [`Store::writer`] included).
    pub async fn give_way_to_requests(&self) {
        if let Some(requests) = self.requests_waiting.as_deref() {
            requests.give_way().await;
        }
    }

    /// Counts a request write as waiting while the guard lives, from when it
    /// is submitted (e.g. to a [`crate::GroupCommit`]) until it has committed.
    pub(crate) fn request_queued(&self) -> Option<Queued<'_>> {
        self.requests_waiting.as_deref().map(Queued::new)
    }

    /// `BEGIN IMMEDIATE` on the writer, counting nobody as waiting (the group
    /// commit's requests are counted from submission).
    pub(crate) async fn begin(&self) -> Result<DatabaseTransaction, StoreError> {
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
            .is_some_and(|r| r.count.load(Ordering::Acquire) > 0)
    }

    /// Commits a transaction and wakes the outbox relay, which publishes
    /// whatever the transaction appended to the outbox.
    pub async fn commit(&self, txn: DatabaseTransaction) -> Result<(), StoreError> {
        if let Some(channel) = &self.channel {
            // Sent at commit, to every process listening (the schema name
            // was checked to be a plain identifier at connect).
            txn.execute_unprepared(&format!("NOTIFY {channel}")).await?;
        }
        txn.commit().await?;
        self.outbox_written.notify_one();
        Ok(())
    }

    /// Resolves when a transaction has committed since the last call, in
    /// this process or (PostgreSQL) in another on the same schema.
    pub async fn outbox_written(&self) {
        self.listen_once();
        self.outbox_written.notified().await;
    }

    /// PostgreSQL: starts, once, the task that `LISTEN`s on this schema's
    /// channel and wakes the relay on each notification; it reconnects
    /// after a failure.
    fn listen_once(&self) {
        let Some(channel) = self.channel.clone() else {
            return;
        };
        if self.listening.swap(true, Ordering::AcqRel) {
            return;
        }
        let pool = self.db.get_postgres_connection_pool().clone();
        let wake = self.outbox_written.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            loop {
                let Err(err) = listen(&pool, &channel, &wake).await;
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %err, channel = %channel, retry_in = ?delay, "outbox listener lost; the relay polls meanwhile");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        });
    }

    /// Whether the database answers (for `readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        Ok(self.db.ping().await?)
    }

    /// Closes the pools.
    pub async fn close(self) -> Result<(), StoreError> {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.0.abort();
        }
        if self.backend() == DbBackend::Sqlite {
            self.writer.close().await?;
        }
        Ok(self.db.close().await?)
    }
}

/// What logs and thread names call a SQLite database: its file's stem
/// (`register` for `sqlite://data/register.db`).
fn sqlite_name(url: &str) -> Arc<str> {
    url.rsplit('/')
        .next()
        .and_then(|file| file.split(['.', '?']).next())
        .unwrap_or("sqlite")
        .into()
}

/// The options of a SQLite pool: WAL, the configured `synchronous`, a busy
/// timeout, foreign keys and temporary storage in memory. Each connection
/// runs on a thread of its own, named after the database and pool (the
/// `writer`, `register-w`; a reader, `register-r3`), so that `top -H` and
/// `perf` tell whose queries the CPU goes to.
fn sqlite_options(
    settings: &DatabaseSettings,
    writer: bool,
) -> impl Fn(SqliteConnectOptions) -> SqliteConnectOptions + Send + Sync + 'static {
    let busy = settings.busy_timeout;
    let synchronous = match settings.sqlite_synchronous {
        SqliteSynchronous::Full => SqlxSynchronous::Full,
        SqliteSynchronous::Normal => SqlxSynchronous::Normal,
    };
    let database = sqlite_name(&settings.url);
    move |opts| {
        let database = database.clone();
        opts.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(busy)
            .foreign_keys(true)
            // Not in a writer's commit: see `Checkpointer`.
            .pragma("wal_autocheckpoint", "0")
            // Statement and savepoint journals (a group commit's batch, a
            // multi-row statement) in memory: past 64 KiB, which most group
            // commits reached, they spilled to a temporary file created and
            // deleted per commit, 40% of Register's writes. A crash never
            // needs them. (It keeps SQLite's other temporary files in
            // memory too, such as a sort that outgrows the page cache.)
            .pragma("temp_store", "memory")
            .thread_name(move |id| {
                if writer {
                    format!("{database}-w")
                } else {
                    format!("{database}-r{id}")
                }
            })
    }
}

/// How often the write-ahead log is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// How long the write-ahead log may grow (in 4 KiB pages: 64 MiB) before
/// the checkpointer makes it start again from its beginning. Each restart
/// holds the writer for a moment (a copy and two syncs), delaying the
/// requests behind it; at 500 applications/s Register's log reaches this
/// about every 2 s. At 16 MiB, four times as often, intake p99 was 16%
/// higher (BENCHMARKS.md); the cost is up to 64 MiB of log on disk per busy
/// service, reused rather than regrown after each restart. Tests restart at
/// 16 MiB, to exercise restarts without writing hundreds of MiB.
const RESTART_LOG_AFTER_PAGES: i64 = if cfg!(test) { 4096 } else { 16384 };

/// Copies SQLite's write-ahead log back into the database file, every
/// [`CHECKPOINT_EVERY`], until dropped; and keeps the log from growing
/// without end under sustained writes.
///
/// SQLite's default is to do it in the commit that takes the log past 1,000
/// pages: that commit, and every write queued behind it on the single
/// writer, then waits for the copy and a sync of the database file (tens of
/// milliseconds under load, the worst of an intake's latencies). A passive
/// checkpoint on a reading connection waits for nobody and holds up nobody,
/// while writers go on appending to the log.
///
/// But a write starts the log again from its beginning only if it finds the
/// whole log copied back, and under sustained writes a copy running beside
/// them never catches up: the log grew by 370 MB in 12 s of intake at 500/s,
/// every commit extending the file. So once the log is past
/// [`RESTART_LOG_AFTER_PAGES`], the checkpointer also takes the writer for a
/// moment, between writes and giving way to requests like any background
/// work, and copies what was written since its last copy (at most one
/// [`CHECKPOINT_EVERY`] of writes): the next write then overwrites the log
/// from its beginning.
#[derive(Debug)]
struct Checkpointer(tokio::task::JoinHandle<()>);

impl Checkpointer {
    fn start(
        database: Arc<str>,
        reader: DatabaseConnection,
        writer: DatabaseConnection,
        requests: Arc<WaitingRequests>,
    ) -> Self {
        Self(tokio::spawn(async move {
            let mut every = tokio::time::interval(CHECKPOINT_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last_log = 0;
            loop {
                every.tick().await;
                let log = match checkpoint(&reader).await {
                    Ok(pages) => pages,
                    Err(err) => {
                        tracing::warn!(%database, error = %err, "checkpoint failed; will retry");
                        continue;
                    }
                };
                // Pages written meanwhile are not copied yet; with no writes
                // since last time, the next write restarts the log by itself.
                if log > RESTART_LOG_AFTER_PAGES && log != last_log {
                    requests.give_way().await;
                    let started = std::time::Instant::now();
                    match checkpoint(&writer).await {
                        // Waiting for the writer included.
                        Ok(_) => {
                            tracing::debug!(%database, took = ?started.elapsed(), "log restarted")
                        }
                        Err(err) => {
                            tracing::warn!(%database, error = %err, "checkpoint on the writer failed; will retry");
                        }
                    }
                }
                last_log = log;
            }
        }))
    }
}

/// A passive checkpoint on `connection`; returns how many pages the log held
/// when it began.
async fn checkpoint(connection: &DatabaseConnection) -> Result<i64, sea_orm::DbErr> {
    let row = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA wal_checkpoint(PASSIVE)",
        ))
        .await?;
    // Its columns: busy, pages in the log, pages copied back.
    Ok(row
        .and_then(|row| row.try_get_by_index::<i64>(1).ok())
        .unwrap_or(0))
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl WaitingRequests {
    /// Waits while request writes are on their way to the writer, for at
    /// most [`MAX_DEFERRAL`] (timing out just means taking the writer anyway).
    async fn give_way(&self) {
        let _ = tokio::time::timeout(MAX_DEFERRAL, self.none_waiting()).await;
    }

    /// Resolves once no request write is waiting.
    async fn none_waiting(&self) {
        loop {
            let none = self.none.notified();
            tokio::pin!(none);
            // Registered before the check, so a drop to zero in between is not missed.
            none.as_mut().enable();
            if self.count.load(Ordering::Acquire) == 0 {
                return;
            }
            none.await;
        }
    }
}

/// One request write counted as waiting while it lives (also when the
/// request is cancelled mid-wait).
pub(crate) struct Queued<'a>(&'a WaitingRequests);

impl<'a> Queued<'a> {
    fn new(requests: &'a WaitingRequests) -> Self {
        requests.count.fetch_add(1, Ordering::AcqRel);
        Self(requests)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none.notify_waiters();
        }
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

/// A SQLite store in a directory of its own, for this crate's tests; the
/// directory is removed by [`TempStore::remove`].
#[cfg(test)]
pub(crate) struct TempStore {
    pub(crate) store: Store,
    pub(crate) dir: std::path::PathBuf,
}

#[cfg(test)]
impl TempStore {
    pub(crate) async fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("casework-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("test.db").display());
        let store = Store::connect(&crate::settings::DatabaseSettings::new(url))
            .await
            .unwrap();
        Self { store, dir }
    }

    pub(crate) async fn remove(self) {
        self.store.close().await.unwrap();
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// A table of blobs to write pages with.
    async fn create_blobs(store: &Store) {
        store
            .writer()
            .execute_unprepared("CREATE TABLE blobs (b BLOB NOT NULL)")
            .await
            .unwrap();
    }

    /// Inserts a blob of `len` bytes.
    async fn insert_blob(txn: &DatabaseTransaction, len: usize) {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO blobs (b) VALUES (?)",
            [vec![7u8; len].into()],
        ))
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn background_work_waits_until_no_request_is_waiting() {
        let requests = WaitingRequests::default();
        let queued = Queued::new(&requests);
        let none = requests.none_waiting();
        tokio::pin!(none);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), none.as_mut())
                .await
                .is_err(),
            "a request is still waiting"
        );
        drop(queued);
        tokio::time::timeout(Duration::from_secs(5), none)
            .await
            .expect("woken when the last waiting request is through");
    }

    #[tokio::test]
    async fn the_write_ahead_log_is_checkpointed_in_the_background() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        let autocheckpoint = store
            .writer()
            .query_one_raw(Statement::from_string(
                store.backend(),
                "PRAGMA wal_autocheckpoint",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(autocheckpoint.try_get_by_index::<i64>(0).unwrap(), 0);
        create_blobs(store).await;
        // 4 rounds of 50 commits of 8 KiB, with time to checkpoint after
        // each. Unless checkpointed, the log only grows: to 4 times its size
        // after the first round. Checkpointed, it starts again each round.
        let wal = || {
            std::fs::metadata(temp.dir.join("test.db-wal"))
                .unwrap()
                .len()
        };
        let mut sizes = Vec::new();
        for _ in 0..4 {
            for _ in 0..50 {
                let txn = store.begin_write().await.unwrap();
                insert_blob(&txn, 8192).await;
                store.commit(txn).await.unwrap();
            }
            sizes.push(wal());
            tokio::time::sleep(CHECKPOINT_EVERY * 3).await;
        }
        assert!(
            sizes[3] < sizes[0] * 2,
            "the log grew round after round: {sizes:?} bytes"
        );
        temp.remove().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_write_ahead_log_starts_again_under_writes_that_never_pause() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        create_blobs(store).await;
        // 3,000 commits of 32 KiB back to back, 96 MiB in all: a log never
        // started again holds all of it.
        let written: u64 = 3000 * 32 * 1024;
        for _ in 0..3000 {
            let txn = store.begin_write().await.unwrap();
            insert_blob(&txn, 32 * 1024).await;
            store.commit(txn).await.unwrap();
        }
        let wal = std::fs::metadata(temp.dir.join("test.db-wal"))
            .unwrap()
            .len();
        assert!(
            wal < written / 2,
            "the log holds {wal} bytes of the {written} written"
        );
        temp.remove().await;
    }

    /// SQLite's temporary files are unlinked as soon as opened and named
    /// `etilqs_…`; while open they show among the process's descriptors.
    #[cfg(target_os = "linux")]
    fn open_sqlite_temp_files() -> usize {
        std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().contains("etilqs_"))
            .count()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_savepoint_past_64_kib_keeps_its_journal_in_memory() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        create_blobs(store).await;
        let txn = store.begin_write().await.unwrap();
        for _ in 0..50 {
            insert_blob(&txn, 3000).await;
        }
        store.commit(txn).await.unwrap();
        // A savepoint then changes those 50 pages (200 KiB of originals to
        // keep for a rollback), as a group commit's batch does.
        let txn = store.begin_write().await.unwrap();
        let savepoint = txn.begin().await.unwrap();
        savepoint
            .execute_unprepared("UPDATE blobs SET b = zeroblob(3000)")
            .await
            .unwrap();
        assert_eq!(open_sqlite_temp_files(), 0, "the journal went to a file");
        savepoint.rollback().await.unwrap();
        txn.rollback().await.unwrap();
        temp.remove().await;
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn connection_threads_are_named_after_their_database() {
        let temp = TempStore::new().await;
        temp.store.ping().await.unwrap();
        let names: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect();
        assert!(names.iter().any(|n| n == "test-w"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("test-r")), "{names:?}");
        temp.remove().await;
    }

    #[tokio::test]
    async fn background_work_takes_the_writer_anyway_after_the_longest_deferral() {
        let temp = TempStore::new().await;
        let store = &temp.store;
        let queued = store.request_queued();
        assert!(store.requests_waiting());
        let started = Instant::now();
        let txn = store.begin_background_write().await.expect("not starved");
        assert!(started.elapsed() >= MAX_DEFERRAL, "{:?}", started.elapsed());
        txn.rollback().await.unwrap();
        drop(queued);
        assert!(!store.requests_waiting());
        temp.remove().await;
    }
}
