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

/// One per service: reads unpublished outbox rows in id order, publishes them
/// and marks them published. Woken by [`Store::commit`]; also polls, so rows
/// written by another process (or before a crash) are never stranded.
#[derive(Debug)]
pub struct OutboxRelay {
    store: Store,
    producer: EventProducer,
    settings: BusSettings,
}

impl OutboxRelay {
    /// A relay over `store`'s outbox.
    pub fn new(store: Store, producer: EventProducer, settings: BusSettings) -> Self {
        Self {
            store,
            producer,
            settings,
        }
    }

    /// Runs until `shutdown`, then publishes what is left (best effort) and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(self.settings.retry_backoff);
        let mut last_prune = Instant::now();
        loop {
            match self.publish_pending().await {
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
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.store.outbox_written() => {}
                () = tokio::time::sleep(self.settings.relay_poll) => {}
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
    }

    /// Publishes one batch of unpublished rows; returns how many were published.
    ///
    /// Rows are marked published only up to the first failure, so a failed
    /// record and everything after it are sent again (consumers de-duplicate)
    /// rather than overtaken.
    pub async fn publish_pending(&self) -> Result<usize, BusError> {
        let rows = outbox::unpublished(self.store.connection(), self.settings.relay_batch).await?;
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
        outbox::mark_published(self.store.writer(), &published, Utc::now()).await?;
        tracing::debug!(published = published.len(), "outbox rows published");
        match failure {
            Some(err) => Err(err),
            None => Ok(published.len()),
        }
    }

    async fn prune(&self) {
        let retention = chrono::Duration::from_std(self.settings.outbox_retention)
            .unwrap_or(chrono::Duration::days(1));
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
