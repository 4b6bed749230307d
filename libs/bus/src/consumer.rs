//! The idempotent inbox consumer: one consumer group per service.
//!
//! Each batch of records goes through three steps:
//! 1. every record is decoded as a CloudEvent and validated against its
//!    schema; one that fails is *poison*. Records of types that another
//!    service handles are skipped by their `ce_type` header alone;
//! 2. in one writing transaction, the batch's event ids are recorded in the
//!    inbox as it goes, a chunk at a time (those already there were applied
//!    before and are skipped), the handler applies each new event, then
//!    poison records are dead-lettered
//!    (produced to `<topic>.dlq` and acknowledged *before* the commit, so a
//!    crash can duplicate a dead letter but never lose one);
//! 3. only after the commit are the offsets stored, for the next auto-commit.
//!
//! On SQLite, where writes queue for one connection, a batch gives the writer
//! up to a waiting request after a short slice: it commits the events applied
//! so far (taking back the inbox entries it recorded for the rest) and goes
//! on in a new transaction, which waits until no request is queued
//! ([`Store::begin_background_write`]). A request then waits for at most one
//! slice and one event, not for the consumer's whole backlog.
//!
//! A handler's refusal makes its event poison and the batch is re-run without
//! it. A transient failure (database busy or down, broker unavailable) rolls
//! back, waits with backoff and re-runs the same batch: the partition holds
//! and nothing is dead-lettered.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use casework_contracts::{Event, EventType, SchemaRegistry};
use casework_store::{Store, StoreError, inbox};
use futures::FutureExt;
use rdkafka::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{Headers, Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use sea_orm::DatabaseTransaction;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::dead_letter;
use crate::error::BusError;
use crate::producer::EventProducer;
use crate::settings::{Assignment, Backoff, BusSettings, client_config};

/// Why a handler did not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The handler's own validation refused the event: permanent, so it is
    /// dead-lettered and the consumer moves on.
    #[error("refused: {0}")]
    Refused(String),
    /// The database failed; retried if transient, dead-lettered otherwise.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Emitting follow-up events failed; retried if transient.
    #[error(transparent)]
    Bus(#[from] BusError),
}

impl From<sea_orm::DbErr> for HandlerError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Store(err.into())
    }
}

impl HandlerError {
    fn is_transient(&self) -> bool {
        match self {
            HandlerError::Refused(_) => false,
            HandlerError::Store(err) => err.is_transient(),
            HandlerError::Bus(err) => err.is_transient(),
        }
    }
}

/// What a service does with the events it consumes.
#[async_trait]
pub trait EventHandler: Send + Sync + 'static {
    /// Applies one event inside the consumer's transaction. Follow-up events
    /// go to the service's [`crate::Outbox`] in the same transaction.
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError>;

    /// Called in the same transaction when a record meant for this consumer is
    /// dead-lettered (`event` is `None` when it could not even be decoded), so
    /// the service can record it, e.g. mark the case stuck.
    async fn dead_lettered(
        &self,
        _txn: &DatabaseTransaction,
        _event: Option<&Event>,
        _error: &str,
    ) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// Whether a consumer has joined its group and received its assignment (for `readyz`).
#[derive(Debug, Clone, Default)]
pub struct ConsumerHealth {
    joined: Arc<AtomicBool>,
}

impl ConsumerHealth {
    /// True once the group has given this consumer its assignment.
    pub fn is_assigned(&self) -> bool {
        self.joined.load(Ordering::Acquire)
    }
}

struct RebalanceContext {
    health: ConsumerHealth,
    /// The group, for the lag gauge's label.
    group: String,
}

/// How often librdkafka reports its statistics (the lag gauge's period).
const STATISTICS_INTERVAL_MS: &str = "15000";

impl ClientContext for RebalanceContext {
    /// Sets `casework_consumer_lag`: records in each assigned partition not
    /// yet consumed, from librdkafka's statistics.
    fn stats(&self, statistics: rdkafka::Statistics) {
        for (topic, detail) in &statistics.topics {
            for (partition, p) in &detail.partitions {
                // -1 is librdkafka's unassigned partition; a negative lag is unknown.
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(
                    "casework_consumer_lag",
                    "group" => self.group.clone(),
                    "topic" => topic.clone(),
                    "partition" => partition.to_string()
                )
                .set(p.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for RebalanceContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(assignment) => {
                self.health.joined.store(true, Ordering::Release);
                tracing::info!(
                    partitions = assignment.count(),
                    "consumer assigned partitions"
                );
            }
            Rebalance::Revoke(_) => {
                self.health.joined.store(false, Ordering::Release);
            }
            Rebalance::Error(err) => tracing::warn!(error = %err, "consumer rebalance failed"),
        }
    }
}

/// A record of a batch, after decoding.
enum Item {
    /// A valid event this consumer applies.
    Apply(Event),
    /// A valid event of a type this consumer does not handle.
    Ignore,
    /// Cannot be applied: goes to the DLQ with this error.
    Poison(Option<Event>, String),
}

/// One service's consumer group over the topics of the events it handles.
pub struct InboxConsumer {
    group: String,
    topics: Vec<String>,
    handled: HashSet<EventType>,
    store: Store,
    registry: Arc<SchemaRegistry>,
    producer: EventProducer,
    settings: BusSettings,
    handler: Arc<dyn EventHandler>,
    health: ConsumerHealth,
}

impl std::fmt::Debug for InboxConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboxConsumer")
            .field("group", &self.group)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl InboxConsumer {
    /// The consumer of `service` for the given event types; it subscribes to
    /// the topics of their producers (from the catalogue).
    pub fn new(
        service: &str,
        handled: impl IntoIterator<Item = EventType>,
        store: Store,
        registry: Arc<SchemaRegistry>,
        producer: EventProducer,
        settings: BusSettings,
        handler: Arc<dyn EventHandler>,
    ) -> Result<Self, BusError> {
        let handled: HashSet<EventType> = handled.into_iter().collect();
        let mut topics = Vec::new();
        for event_type in &handled {
            let entry = registry.catalogue().get(event_type).ok_or_else(|| {
                casework_contracts::ContractError::UnknownEventType(event_type.to_string())
            })?;
            let topic = settings.prefixed(&entry.topic());
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
        topics.sort();
        Ok(Self {
            group: settings.consumer_group(service),
            topics,
            handled,
            store,
            registry,
            producer,
            settings,
            handler,
            health: ConsumerHealth::default(),
        })
    }

    /// The consumer group id.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// A handle on the consumer's assignment, for readiness checks.
    pub fn health(&self) -> ConsumerHealth {
        self.health.clone()
    }

    /// Consumes until `shutdown`, then commits the stored offsets.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), BusError> {
        let mut config = client_config(&self.settings);
        if let (Assignment::Group, Some(instance)) =
            (self.settings.assignment, &self.settings.consumer_instance)
        {
            config.set("group.instance.id", format!("{}.{instance}", self.group));
        }
        let consumer: StreamConsumer<RebalanceContext> = config
            .set("group.id", &self.group)
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            // Offsets are stored by us, after the handler's transaction commits.
            .set("enable.auto.offset.store", "false")
            // A transient failure may hold a batch for a while; stay in the group.
            .set("max.poll.interval.ms", "900000")
            .set("session.timeout.ms", "10000")
            .set(
                "fetch.wait.max.ms",
                self.settings.fetch_wait.as_millis().to_string(),
            )
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS)
            .create_with_context(RebalanceContext {
                health: self.health.clone(),
                group: self.group.clone(),
            })?;
        match self.settings.assignment {
            Assignment::Group => {
                let topics: Vec<&str> = self.topics.iter().map(String::as_str).collect();
                consumer.subscribe(&topics)?;
            }
            Assignment::AllPartitions => self.assign_all(&consumer, &shutdown).await?,
        }
        tracing::info!(group = %self.group, topics = ?self.topics, "consumer started");

        let mut backoff = Backoff::new(self.settings.retry_backoff);
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                message = consumer.recv() => message,
            };
            let first = match first {
                Ok(message) => message.detach(),
                Err(err) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(group = %self.group, error = %err, retry_in = ?delay, "consumer could not receive; will retry");
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            backoff.reset();
            let mut batch = vec![first];
            // Take whatever else is already buffered, without waiting.
            while batch.len() < self.settings.consumer_batch {
                match consumer.recv().now_or_never() {
                    Some(Ok(message)) => batch.push(message.detach()),
                    _ => break,
                }
            }
            if !self.apply_batch(&batch, &shutdown).await {
                break;
            }
            for message in &batch {
                if let Err(err) =
                    consumer.store_offset(message.topic(), message.partition(), message.offset())
                {
                    // The partition was revoked meanwhile; its new owner re-reads
                    // from the last commit and the inbox skips what we applied.
                    tracing::debug!(error = %err, "offset not stored");
                }
            }
        }
        match consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => {}
            Err(err) => tracing::debug!(error = %err, "final offset commit"),
        }
        tracing::info!(group = %self.group, "consumer stopped");
        Ok(())
    }

    /// Assigns every partition of the consumer's topics, each starting at the
    /// group's committed offset (earliest when there is none). Retries until
    /// the broker answers with the topics' metadata.
    async fn assign_all(
        &self,
        consumer: &StreamConsumer<RebalanceContext>,
        shutdown: &CancellationToken,
    ) -> Result<(), BusError> {
        let mut backoff = Backoff::new(self.settings.retry_backoff);
        let mut partitions = TopicPartitionList::new();
        for topic in &self.topics {
            loop {
                // Blocks for at most the timeout, once at start (as ensure_topics does).
                let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(5));
                let count = metadata
                    .as_ref()
                    .ok()
                    .and_then(|m| m.topics().first().map(|t| t.partitions().len()))
                    .unwrap_or(0);
                if count > 0 {
                    for partition in 0..count {
                        let partition = i32::try_from(partition).unwrap_or(i32::MAX);
                        partitions.add_partition_offset(topic, partition, Offset::Stored)?;
                    }
                    break;
                }
                let delay = backoff.next_delay();
                tracing::warn!(group = %self.group, %topic, error = ?metadata.err(), retry_in = ?delay, "no partitions found for topic; will retry");
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
        consumer.assign(&partitions)?;
        self.health.joined.store(true, Ordering::Release);
        tracing::info!(
            group = %self.group,
            partitions = partitions.count(),
            "consumer assigned every partition of its topics"
        );
        Ok(())
    }

    /// Applies a batch, retrying transient failures until it commits. Returns
    /// false if shutdown came first (what is not yet committed of the batch
    /// is then not acknowledged).
    async fn apply_batch(&self, batch: &[OwnedMessage], shutdown: &CancellationToken) -> bool {
        let mut items = Vec::with_capacity(batch.len());
        for (index, message) in batch.iter().enumerate() {
            if index > 0 && index % DECODE_CHUNK == 0 {
                // Decoding and validating a batch is a burst of CPU: let the
                // runtime's other tasks in between.
                tokio::task::yield_now().await;
            }
            items.push(self.decode(message));
        }
        let mut dead_lettered = vec![false; batch.len()];
        // Items before `committed` are applied and committed (a part of the
        // batch committed early, to let a request have the writer).
        let mut committed = 0;
        let mut backoff = Backoff::new(self.settings.retry_backoff);
        loop {
            match self
                .try_apply(batch, &items, &mut dead_lettered, committed)
                .await
            {
                Ok(Applied::All) => return true,
                Ok(Applied::Upto(next)) => {
                    committed = next;
                    backoff.reset();
                }
                Err(Failure::Refused(index, reason)) => {
                    tracing::warn!(group = %self.group, reason = %reason, "handler refused an event; dead-lettering it");
                    let event = match std::mem::replace(&mut items[index], Item::Ignore) {
                        Item::Apply(event) => Some(event),
                        _ => None,
                    };
                    items[index] = Item::Poison(event, format!("handler refused: {reason}"));
                }
                Err(Failure::Transient(err)) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(group = %self.group, error = %err, retry_in = ?delay, "batch not applied; will retry");
                    tokio::select! {
                        () = shutdown.cancelled() => return false,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    fn decode(&self, message: &OwnedMessage) -> Item {
        let headers = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key, h.value)).collect::<Vec<_>>())
            .unwrap_or_default();
        if self.for_another_consumer(&headers) {
            return Item::Ignore;
        }
        let mut event = match Event::from_kafka(headers, message.payload()) {
            Ok(event) => event,
            Err(err) => return Item::Poison(None, err.to_string()),
        };
        if let Err(err) = self.registry.validate_event(&mut event) {
            return Item::Poison(Some(event), err.to_string());
        }
        if self.handled.contains(&event.event_type) {
            Item::Apply(event)
        } else {
            Item::Ignore
        }
    }

    /// Whether a record is, by its `ce_type` header alone, of a catalogued
    /// type this consumer does not handle. Topics are per producer, so each of
    /// the six services reading Register's topic receives every request
    /// Register makes. Only a consumer that handles a type judges it, and
    /// dead-letters it if it is poison: one dead letter per bad record, not
    /// one per group reading the topic (and none for a type no service
    /// consumes). A record without a readable or catalogued type is decoded,
    /// and so dead-lettered, by every group.
    fn for_another_consumer(&self, headers: &[(&str, Option<&[u8]>)]) -> bool {
        // The last `ce_type` counts, as in `Event::from_kafka`.
        let Some(name) = headers
            .iter()
            .rev()
            .find(|(name, _)| *name == casework_contracts::envelope::headers::TYPE)
            .and_then(|(_, value)| *value)
            .and_then(|value| std::str::from_utf8(value).ok())
        else {
            return false;
        };
        let event_type = EventType::new(name);
        !self.handled.contains(&event_type) && self.registry.catalogue().get(&event_type).is_some()
    }

    /// One attempt at the batch from item `from`: handlers first (a refusal
    /// aborts before any side effect), then dead letters, then the commit.
    /// `dead_lettered` remembers which records already reached the DLQ, so a
    /// retry of the same batch does not send them again.
    ///
    /// A request waiting for the writer (see [`Store::requests_waiting`])
    /// gets it after at most [`WRITER_SLICE`] of this batch: the attempt then
    /// commits the events applied so far and returns where it stopped.
    async fn try_apply(
        &self,
        batch: &[OwnedMessage],
        items: &[Item],
        dead_lettered: &mut [bool],
        from: usize,
    ) -> Result<Applied, Failure> {
        if items.iter().enumerate().all(|(index, item)| match item {
            Item::Ignore => true,
            Item::Apply(_) => index < from,
            // Dead-lettered at the end of the batch's last attempt.
            Item::Poison(..) => false,
        }) {
            // Nothing to apply or dead-letter: no transaction, so no turn on
            // the writer.
            return Ok(Applied::All);
        }
        let txn = self
            .store
            .begin_background_write()
            .await
            .map_err(Failure::store)?;
        let started = Instant::now();
        // Inbox entries recorded (in chunks, as the attempt goes) for events
        // not applied yet, and where the recorded part of the batch ends.
        let mut new_ids = HashSet::new();
        let mut recorded = from;

        for (index, item) in items.iter().enumerate().skip(from) {
            if index > from && self.store.requests_waiting() && started.elapsed() >= WRITER_SLICE {
                // Recorded in the inbox but not applied: take it back.
                inbox::forget(&txn, &self.group, new_ids)
                    .await
                    .map_err(Failure::store)?;
                self.commit(txn, started, index - from).await?;
                return Ok(Applied::Upto(index));
            }
            if index == recorded {
                // While requests wait, this attempt ends after an event or
                // two: record one at a time rather than record and take back
                // the whole batch.
                let chunk = if self.store.requests_waiting() {
                    1
                } else {
                    INBOX_CHUNK
                };
                recorded = (index + chunk).min(items.len());
                let ids: Vec<String> = items[index..recorded]
                    .iter()
                    .filter_map(|item| match item {
                        Item::Apply(event) => Some(event.id.to_string()),
                        _ => None,
                    })
                    .collect();
                new_ids.extend(
                    inbox::record_new(&txn, &self.group, &ids)
                        .await
                        .map_err(Failure::store)?,
                );
            }
            let Item::Apply(event) = item else { continue };
            // `remove` also skips a second copy of the same event within the
            // batch (recorded as new only once, in its chunk or an earlier one).
            if !new_ids.remove(&event.id.to_string()) {
                tracing::debug!(group = %self.group, event_id = %event.id, "duplicate event skipped");
                continue;
            }
            // Instrumented, not entered: a span entered across an `.await`
            // stays entered on whatever thread runs other tasks meanwhile.
            let span = tracing::debug_span!("apply", event_id = %event.id, event_type = %event.event_type, traceparent = event.traceparent.as_deref());
            match self.handler.handle(&txn, event).instrument(span).await {
                Ok(()) => {}
                Err(err) if err.is_transient() => return Err(Failure::Transient(err.to_string())),
                Err(err) => return Err(Failure::Refused(index, err.to_string())),
            }
        }

        for (index, item) in items.iter().enumerate() {
            let Item::Poison(event, error) = item else {
                continue;
            };
            let message = &batch[index];
            if !dead_lettered[index] {
                tracing::warn!(group = %self.group, topic = message.topic(), partition = message.partition(), offset = message.offset(), error = %error, "dead-lettering record");
                dead_letter::send(&self.producer, message, &self.group, error)
                    .await
                    .map_err(|err| Failure::Transient(err.to_string()))?;
                dead_lettered[index] = true;
            }
            self.handler
                .dead_lettered(&txn, event.as_ref(), error)
                .await
                .map_err(|err| Failure::Transient(err.to_string()))?;
        }
        self.commit(txn, started, items.len() - from).await?;
        Ok(Applied::All)
    }

    /// Commits an attempt begun at `started` that covered `records` records.
    async fn commit(
        &self,
        txn: DatabaseTransaction,
        started: Instant,
        records: usize,
    ) -> Result<(), Failure> {
        let committing = Instant::now();
        self.store.commit(txn).await.map_err(Failure::store)?;
        tracing::debug!(
            group = %self.group,
            records,
            held = ?(committing - started),
            commit = ?committing.elapsed(),
            "consumer commit"
        );
        Ok(())
    }
}

/// How long a batch keeps the writer once a request is waiting for it. Short:
/// an applicant's `POST` should not wait behind a backlog. Under load one
/// event takes about this long, so the consumer commits every event or two
/// while requests keep coming, and its batches grow again when they stop.
const WRITER_SLICE: Duration = Duration::from_millis(1);

/// How many records are decoded between two turns for the runtime's other tasks.
const DECODE_CHUNK: usize = 32;

/// How many events' inbox entries an attempt records in one statement when
/// no request is waiting.
const INBOX_CHUNK: usize = 64;

/// How far an attempt at a batch got.
enum Applied {
    /// Every item, committed.
    All,
    /// Items before this index, committed; the rest still to do.
    Upto(usize),
}

/// Why an attempt at a batch did not commit.
enum Failure {
    /// Item `index` was refused by the handler.
    Refused(usize, String),
    /// Retry the whole batch later.
    Transient(String),
}

impl Failure {
    fn store(err: StoreError) -> Self {
        // A database error outside a handler is about the inbox or the
        // transaction itself, never about one event: always retry.
        Failure::Transient(err.to_string())
    }
}
