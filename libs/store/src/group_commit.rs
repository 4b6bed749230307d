//! Group commit: many small writes, one durable commit.
//!
//! With SQLite `synchronous=FULL` every commit waits for the disk to sync its
//! write-ahead log, and writers take turns. On a disk that syncs 350 times a
//! second, one commit per request caps a service at 350 writes/s. Relaxing
//! the sync would lose acknowledged writes on power loss, which users rely on.
//!
//! Instead one writer task takes every request waiting at that moment, applies
//! them together ([`BatchWrite::apply_all`], e.g. one multi-row insert per
//! table; if the database refuses that, each in its own savepoint, so one
//! failing request does not spoil the others), commits once, and only then
//! answers each. A request never waits for
//! company: at low load a batch is one request; under load, requests gather
//! while the previous batch's sync is in progress. From submission until it
//! is answered a request counts as waiting, so background work on the same
//! database gives way to it ([`Store::begin_background_write`]).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use sea_orm::{DatabaseTransaction, TransactionTrait};
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::store::Store;

/// A kind of write that can share a commit with others.
#[async_trait]
pub trait BatchWrite: Send + Sync + 'static {
    /// What a caller asks for.
    type Request: Send + Sync + 'static;
    /// What it gets back once the batch has committed.
    type Response: Send + 'static;
    /// Why a request failed.
    type Error: From<StoreError> + Send + 'static;

    /// Applies one request inside the batch's transaction (in its own savepoint).
    async fn apply(
        &self,
        txn: &DatabaseTransaction,
        request: &Self::Request,
    ) -> Result<Self::Response, Self::Error>;

    /// Applies a whole batch, in fewer statements than one request at a time
    /// if the kind of write can (multi-row inserts), and answers each
    /// request. An `Err` spoils only the attempt: the batch is then applied
    /// one request at a time, each in its own savepoint, so that a request
    /// the database refuses fails alone. The default is one at a time.
    async fn apply_all(
        &self,
        txn: &DatabaseTransaction,
        requests: &[Self::Request],
    ) -> Result<Vec<Result<Self::Response, Self::Error>>, Self::Error> {
        Ok(apply_each(self, txn, requests).await)
    }
}

/// Applies each request in its own savepoint, so that one refused request
/// spoils nothing of the others.
async fn apply_each<W: BatchWrite + ?Sized>(
    writer: &W,
    txn: &DatabaseTransaction,
    requests: &[W::Request],
) -> Vec<Result<W::Response, W::Error>> {
    let mut outcomes = Vec::with_capacity(requests.len());
    for request in requests {
        let outcome = match txn.begin().await {
            Ok(savepoint) => match writer.apply(&savepoint, request).await {
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
        outcomes.push(outcome);
    }
    outcomes
}

type Reply<W> = oneshot::Sender<Result<<W as BatchWrite>::Response, <W as BatchWrite>::Error>>;

struct Job<W: BatchWrite> {
    request: W::Request,
    reply: Reply<W>,
    submitted: Instant,
}

/// The handle callers submit requests through.
pub struct GroupCommit<W: BatchWrite> {
    sender: mpsc::Sender<Job<W>>,
    store: Store,
}

impl<W: BatchWrite> Clone for GroupCommit<W> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
            store: self.store.clone(),
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
        let handle = Self {
            sender,
            store: store.clone(),
        };
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
        handle
    }

    /// Submits a request and waits until it is durably committed (or failed).
    /// Background work defers to it from now on, not only once its batch
    /// asks for the writer: the batch before it may still be committing.
    pub async fn submit(&self, request: W::Request) -> Result<W::Response, W::Error> {
        let _queued = self.store.request_queued();
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job {
                request,
                reply,
                submitted: Instant::now(),
            })
            .await
            .map_err(|_| StoreError::Settings("the writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Settings("the writer stopped mid-batch".into()))?
    }
}

async fn run_batch<W: BatchWrite>(store: &Store, writer: &W, jobs: Vec<Job<W>>) {
    let started = Instant::now();
    let oldest = jobs
        .iter()
        .map(|job| job.submitted)
        .min()
        .unwrap_or(started);
    // Its requests count as waiting since they were submitted.
    let txn = match store.begin().await {
        Ok(txn) => txn,
        Err(err) => {
            let failure = BatchFailure::from(&err);
            for job in jobs {
                let _ = job.reply.send(Err(failure.error().into()));
            }
            return;
        }
    };
    let began = Instant::now();
    let (requests, replies): (Vec<_>, Vec<_>) =
        jobs.into_iter().map(|job| (job.request, job.reply)).unzip();
    // A lone request is the whole transaction: it needs no savepoint (two
    // fewer round trips to the writer).
    let outcomes = match requests.as_slice() {
        [request] => vec![writer.apply(&txn, request).await],
        _ => apply_batch(writer, &txn, &requests).await,
    };
    let outcomes: Vec<_> = replies.into_iter().zip(outcomes).collect();
    let applied = Instant::now();
    // With nothing to keep, roll back: a lone request that failed may have
    // written part of itself outside any savepoint.
    let committed = if outcomes.iter().all(|(_, outcome)| outcome.is_err()) {
        let _ = txn.rollback().await;
        Ok(())
    } else {
        store.commit(txn).await
    };
    tracing::debug!(
        requests = outcomes.len(),
        queued = ?(started - oldest),
        writer_wait = ?(began - started),
        apply = ?(applied - began),
        commit = ?applied.elapsed(),
        "group commit"
    );
    match committed {
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

/// The batch at once ([`BatchWrite::apply_all`]) in a savepoint; if that
/// fails, one request at a time.
async fn apply_batch<W: BatchWrite>(
    writer: &W,
    txn: &DatabaseTransaction,
    requests: &[W::Request],
) -> Vec<Result<W::Response, W::Error>> {
    if let Ok(savepoint) = txn.begin().await {
        match writer.apply_all(&savepoint, requests).await {
            Ok(outcomes) if outcomes.len() == requests.len() => {
                return match savepoint.commit().await {
                    Ok(()) => outcomes,
                    Err(err) => {
                        let failure = BatchFailure::from(&StoreError::from(err));
                        outcomes
                            .into_iter()
                            .map(|_| Err(failure.error().into()))
                            .collect()
                    }
                };
            }
            Ok(_) => {
                tracing::error!("a batch write answered a different number of requests");
                let _ = savepoint.rollback().await;
            }
            Err(_) => {
                tracing::debug!(
                    requests = requests.len(),
                    "batch refused as a whole; applying one request at a time"
                );
                let _ = savepoint.rollback().await;
            }
        }
    }
    apply_each(writer, txn, requests).await
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
    use crate::store::TempStore;
    use sea_orm::{ConnectionTrait, Statement};

    /// Inserts its numbers, one statement each, into a table where numbers
    /// are unique: a request can be refused after part of it is written.
    struct Numbers;

    #[async_trait]
    impl BatchWrite for Numbers {
        type Request = Vec<i64>;
        type Response = ();
        type Error = StoreError;

        async fn apply(&self, txn: &DatabaseTransaction, ns: &Vec<i64>) -> Result<(), StoreError> {
            for n in ns {
                txn.execute_raw(Statement::from_sql_and_values(
                    txn.get_database_backend(),
                    "INSERT INTO numbers (n) VALUES (?)",
                    [(*n).into()],
                ))
                .await?;
            }
            Ok(())
        }

        /// All in one statement: a duplicate spoils the lot, and the group
        /// commit must fall back to one at a time.
        async fn apply_all(
            &self,
            txn: &DatabaseTransaction,
            requests: &[Vec<i64>],
        ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
            let ns: Vec<i64> = requests.iter().flatten().copied().collect();
            let placeholders = vec!["(?)"; ns.len()].join(", ");
            txn.execute_raw(Statement::from_sql_and_values(
                txn.get_database_backend(),
                format!("INSERT INTO numbers (n) VALUES {placeholders}"),
                ns.into_iter().map(Into::into),
            ))
            .await?;
            Ok(requests.iter().map(|_| Ok(())).collect())
        }
    }

    /// A store with an empty `numbers` table, and a group commit writing to it.
    async fn numbers_store() -> (TempStore, GroupCommit<Numbers>) {
        let temp = TempStore::new().await;
        temp.store
            .connection()
            .execute_unprepared("CREATE TABLE numbers (n INTEGER NOT NULL UNIQUE)")
            .await
            .unwrap();
        let writes = GroupCommit::start(temp.store.clone(), Arc::new(Numbers), 64);
        (temp, writes)
    }

    /// Every committed number, in order.
    async fn committed_numbers(store: &Store) -> Vec<i64> {
        store
            .connection()
            .query_all_raw(Statement::from_string(
                store.backend(),
                "SELECT n FROM numbers ORDER BY n",
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<i64>("", "n").unwrap())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_share_commits_and_a_refused_one_spoils_nothing() {
        let (temp, writes) = numbers_store().await;

        // 0..200, with 7 submitted twice: one of the two must be refused.
        let mut tasks = Vec::new();
        for n in (0..200).chain([7]) {
            let writes = writes.clone();
            tasks.push(tokio::spawn(async move { writes.submit(vec![n]).await }));
        }
        let mut ok = 0;
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => ok += 1,
                Err(err) => {
                    assert!(!err.is_transient(), "{err}");
                    refused += 1;
                }
            }
        }
        assert_eq!((ok, refused), (200, 1));
        assert_eq!(
            committed_numbers(&temp.store).await,
            (0..200).collect::<Vec<_>>(),
            "every accepted write is committed"
        );
        drop(writes);
        temp.remove().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_write_refused_half_way_leaves_nothing_and_the_writer_goes_on() {
        let (temp, writes) = numbers_store().await;

        // One at a time, so each is a batch of its own, with no savepoint.
        writes.submit(vec![1]).await.unwrap();
        // 2 is written, then 1 is refused: 2 must not be committed.
        let refused = writes.submit(vec![2, 1]).await.unwrap_err();
        assert!(!refused.is_transient(), "{refused}");
        writes.submit(vec![3]).await.unwrap();
        assert_eq!(committed_numbers(&temp.store).await, vec![1, 3]);
        drop(writes);
        temp.remove().await;
    }
}
