//! The outbox relay: publishes a service's committed events, in order.

use std::time::{Duration, Instant};

use casework_contracts::Event;
use casework_store::outbox::{self, Model as OutboxRow};
use casework_store::{Store, StoreError};
use chrono::Utc;
use futures::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::error::BusError;
use crate::producer::EventProducer;
use crate::settings::{Backoff, BusSettings};

/// How often old published rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often the backlog gauge is counted afresh (one `COUNT` of the
/// unpublished list: cheap, but not worth doing every round).
const BACKLOG_EVERY: Duration = Duration::from_secs(15);

/// One per service: reads unpublished outbox rows in id order, publishes them
/// and marks them published. Woken by [`Store::commit`]; also polls, so rows
/// written by another process (or before a crash) are never stranded.
///
/// Marking is deferred: the ids of rows the broker has acknowledged are kept
/// in memory and written as published at most once per
/// [`BusSettings::relay_mark_interval`] (or when `relay_batch` of them wait).
/// Every write transaction costs a disk sync, and a per-round mark would
/// compete with the service's own commits for them. A mark lost in a crash
/// only makes the next start send those events again, which consumers drop
/// as duplicates: delivery is at-least-once either way.
#[derive(Debug)]
pub struct OutboxRelay {
    store: Store,
    producer: EventProducer,
    settings: BusSettings,
    /// Sent and acknowledged, not yet marked published, oldest first.
    unmarked: Vec<i64>,
    /// When the oldest of `unmarked` was acknowledged.
    unmarked_since: Option<Instant>,
    /// The `database` label of its metrics (the service).
    name: String,
}

impl OutboxRelay {
    /// A relay over `store`'s outbox.
    pub fn new(store: Store, producer: EventProducer, settings: BusSettings) -> Self {
        Self {
            store,
            producer,
            settings,
            unmarked: Vec::new(),
            unmarked_since: None,
            name: "outbox".into(),
        }
    }

    /// Names the relay's metrics (`database` label): the service it serves.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// Runs until `shutdown`, then publishes what is left (best effort),
    /// marks what it sent, and returns.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(self.settings.retry_backoff);
        let mut last_prune = Instant::now();
        let mut last_count: Option<Instant> = None;
        loop {
            if last_count.is_none_or(|at| at.elapsed() >= BACKLOG_EVERY) {
                last_count = Some(Instant::now());
                self.count_backlog().await;
            }
            let round = self.publish_pending().await;
            if let Err(err) = self.mark_if_due().await {
                tracing::warn!(error = %err, "outbox relay could not mark rows published; will retry");
            }
            match round {
                Ok(published) if published > 0 => {
                    backoff.reset();
                    continue;
                }
                Ok(_) => backoff.reset(),
                Err(err) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %err, retry_in = ?delay, "outbox relay could not publish; will retry");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(delay) => continue,
                    }
                }
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                last_prune = Instant::now();
                self.prune().await;
            }
            let wait = match self.unmarked_since {
                Some(since) => self
                    .settings
                    .relay_mark_interval
                    .saturating_sub(since.elapsed())
                    .min(self.settings.relay_poll),
                None => self.settings.relay_poll,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.store.outbox_written() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        // Drain: publish what was committed before the stop, without waiting long.
        let drain = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(published) = self.publish_pending().await {
                if published == 0 {
                    break;
                }
            }
        });
        if drain.await.is_err() {
            tracing::warn!(
                "outbox relay stopped with events still unpublished; they go out at next start"
            );
        }
        if let Err(err) = self.mark().await {
            tracing::warn!(error = %err, "outbox relay could not mark its last rows published; they are sent again at next start");
        }
    }

    /// Publishes one batch of unpublished rows; returns how many were published.
    /// Their marks are written later ([`Self::mark_if_due`]).
    ///
    /// Only the rows up to the first failure count as published, so a failed
    /// record and everything after it are sent again (consumers de-duplicate)
    /// rather than overtaken.
    pub async fn publish_pending(&mut self) -> Result<usize, BusError> {
        let skip = self.unmarked.first().zip(self.unmarked.last());
        let rows = outbox::unpublished(
            self.store.connection(),
            self.settings.relay_batch,
            skip.map(|(first, last)| (*first, *last)),
        )
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let records = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
        let sends = rows
            .iter()
            .zip(&records)
            .map(|(row, record)| self.producer.send(&row.topic, record));
        let results = join_all(sends).await;

        let mut published = Vec::with_capacity(rows.len());
        let mut failure = None;
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(_) => published.push(row.id),
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        tracing::debug!(published = published.len(), "outbox rows published");
        let count = published.len();
        metrics::counter!("casework_outbox_published_total", "database" => self.name.clone())
            .increment(count as u64);
        if count > 0 {
            self.unmarked_since.get_or_insert_with(Instant::now);
            self.unmarked.extend(published);
            // Ids come in ascending order within a round, but a row committed
            // late (PostgreSQL assigns ids at insert) can sort before earlier ones.
            self.unmarked.sort_unstable();
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(count),
        }
    }

    /// Marks the sent rows published if the oldest has waited a mark interval,
    /// or if a batch of them has built up.
    async fn mark_if_due(&mut self) -> Result<(), BusError> {
        let due = self
            .unmarked_since
            .is_some_and(|since| since.elapsed() >= self.settings.relay_mark_interval)
            || self.unmarked.len() as u64 >= self.settings.relay_batch;
        if due { self.mark().await } else { Ok(()) }
    }

    /// Marks every sent row published.
    async fn mark(&mut self) -> Result<(), BusError> {
        if self.unmarked.is_empty() {
            return Ok(());
        }
        let txn = self.store.begin_background_write().await?;
        let started = Instant::now();
        outbox::mark_published(&txn, &self.unmarked).await?;
        let committing = Instant::now();
        // Not `Store::commit`: it would only wake this relay.
        txn.commit().await.map_err(StoreError::from)?;
        tracing::debug!(
            rows = self.unmarked.len(),
            held = ?(committing - started),
            commit = ?committing.elapsed(),
            "outbox rows marked published"
        );
        self.unmarked.clear();
        self.unmarked_since = None;
        Ok(())
    }

    /// Sets `casework_outbox_backlog`: events committed, not yet published.
    /// A backlog that grows is a relay that cannot reach the broker.
    async fn count_backlog(&self) {
        match outbox::backlog(self.store.connection()).await {
            Ok(rows) => {
                metrics::gauge!("casework_outbox_backlog", "database" => self.name.clone())
                    .set(rows as f64);
            }
            Err(err) => tracing::debug!(error = %err, "outbox backlog not counted"),
        }
    }

    async fn prune(&self) {
        let retention = chrono::Duration::from_std(self.settings.outbox_retention)
            .unwrap_or(chrono::Duration::days(1));
        self.store.give_way_to_requests().await;
        match outbox::prune(self.store.writer(), Utc::now() - retention).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "old outbox rows pruned"),
            Err(err) => tracing::warn!(error = %err, "outbox prune failed; will retry"),
        }
    }
}

fn decode_row(row: &OutboxRow) -> Result<casework_contracts::KafkaRecord, BusError> {
    let event: Event = serde_json::from_str(&row.event).map_err(|e| StoreError::Corrupt {
        table: "outbox",
        id: row.id.to_string(),
        reason: e.to_string(),
    })?;
    Ok(event.to_kafka())
}
