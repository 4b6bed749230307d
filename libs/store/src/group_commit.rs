//! Group commit: many small writes, one durable commit.
//!
//! With SQLite `synchronous=FULL` every commit waits for the disk to sync its
//! write-ahead log, and writers take turns. On a disk that syncs 350 times a
//! second, one commit per request caps a service at 350 writes/s. Relaxing
//! the sync would lose acknowledged writes on power loss, which users rely on.
//!
//! Instead one writer task takes every request waiting at that moment, applies
//! each in its own savepoint (one failing request does not spoil the others),
//! commits once, and only then answers each. A request never waits for
//! company: at low load a batch is one request; under load, requests gather
//! while the previous batch's sync is in progress.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{DatabaseTransaction, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::store::Store;

/// A kind of write that can share a commit with others.
#[async_trait]
pub trait BatchWrite: Send + Sync + 'static {
    /// What a caller asks for.
    type Request: Send + 'static;
    /// What it gets back once the batch has committed.
    type Response: Send + 'static;
    /// Why a request failed.
    type Error: From<StoreError> + Send + 'static;

    /// Applies one request inside the batch's transaction (in its own savepoint).
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        request: Self::Request,
    ) -> Result<Self::Response, Self::Error>;
}

type Reply<W> = oneshot::Sender<Result<<W as BatchWrite>::Response, <W as BatchWrite>::Error>>;

struct Job<W: BatchWrite> {
    request: W::Request,
    reply: Reply<W>,
}

/// The handle callers submit requests through.
pub struct GroupCommit<W: BatchWrite> {
    sender: mpsc::Sender<Job<W>>,
}

impl<W: BatchWrite> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
        }
    }
}

impl<W: BatchWrite> std::fmt::Debug for GroupCommit<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<W: BatchWrite> GroupCommit<W> {
    /// Starts the writer task; at most `max_batch` requests share a commit.
    pub fn start(store: Store, writer: Arc<W>, max_batch: usize) -> Self {
        let (sender, mut receiver) = mpsc::channel::<Job<W>>(max_batch * 4);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < max_batch {
                    match receiver.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
                run_batch(&store, writer.as_ref(), jobs).await;
            }
        });
        Self { sender }
    }

    /// Submits a request and waits until it is durably committed (or failed).
    pub async fn submit(&self, request: W::Request) -> Result<W::Response, W::Error> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job { request, reply })
            .await
            .map_err(|_| StoreError::Settings("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Settings("the writer stopped mid-batch".into()))?
    }
}

async fn run_batch<W: BatchWrite>(store: &Store, writer: &W, jobs: Vec<Job<W>>) {
    let txn = match store.begin_write().await {
        Ok(txn) => txn,
        Err(err) => {
            let failure = BatchFailure::from(&err);
            for job in jobs {
                let _ = job.reply.send(Err(failure.error().into()));
            }
            return;
        }
    };
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = match txn.begin().await {
            Ok(savepoint) => match writer.apply(&savepoint, job.request).await {
                Ok(response) => match savepoint.commit().await {
                    Ok(()) => Ok(response),
                    Err(err) => Err(StoreError::from(err).into()),
                },
                Err(err) => {
                    let _ = savepoint.rollback().await;
                    Err(err)
                }
            },
            Err(err) => Err(StoreError::from(err).into()),
        };
        outcomes.push((job.reply, outcome));
    }
    match store.commit(txn).await {
        Ok(()) => {
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome);
            }
        }
        Err(err) => {
            let failure = BatchFailure::from(&err);
            tracing::warn!(error = %err, requests = outcomes.len(), "group commit failed");
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome.and_then(|_| Err(failure.error().into())));
            }
        }
    }
}

/// One batch failure reported to each of its requests, keeping whether it is
/// worth retrying.
struct BatchFailure {
    transient: bool,
    reason: String,
}

impl From<&StoreError> for BatchFailure {
    fn from(err: &StoreError) -> Self {
        Self {
            transient: err.is_transient(),
            reason: err.to_string(),
        }
    }
}

impl BatchFailure {
    fn error(&self) -> StoreError {
        StoreError::BatchFailed {
            transient: self.transient,
            reason: self.reason.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::DatabaseSettings;
    use sea_orm::{ConnectionTrait, Statement};

    /// Inserts its number into a table where numbers are unique.
    struct Numbers;

    #[async_trait]
    impl BatchWrite for Numbers {
        type Request = i64;
        type Response = i64;
        type Error = StoreError;

        async fn apply(&self, txn: &DatabaseTransaction, n: i64) -> Result<i64, StoreError> {
            txn.execute_raw(Statement::from_sql_and_values(
                txn.get_database_backend(),
                "INSERT INTO numbers (n) VALUES (?)",
                [n.into()],
            ))
            .await?;
            Ok(n)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_and_a_refused_one_spoils_nothing() {
        let dir = std::env::temp_dir().join(format!("casework-group-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::connect(&DatabaseSettings::new(format!(
            "sqlite://{}",
            dir.join("g.db").display()
        )))
        .await
        .unwrap();
        store
            .connection()
            .execute_unprepared("CREATE TABLE numbers (n INTEGER NOT NULL UNIQUE)")
            .await
            .unwrap();
        let writes = GroupCommit::start(store.clone(), Arc::new(Numbers), 64);

        // 0..200, with 7 submitted twice: one of the two must be refused.
        let mut tasks = Vec::new();
        for n in (0..200).chain([7]) {
            let writes = writes.clone();
            tasks.push(tokio::spawn(async move { writes.submit(n).await }));
        }
        let mut ok = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(err) => {
                    assert!(!err.is_transient(), "{err}");
                    refused += 1;
                }
            }
        }
        assert_eq!((ok, refused), (200, 1));
        let row = store
            .connection()
            .query_one_raw(Statement::from_string(
                store.backend(),
                "SELECT COUNT(*) AS c FROM numbers",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            row.try_get::<i64>("", "c").unwrap(),
            200,
            "every accepted write is committed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
