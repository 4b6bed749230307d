//! `make bench-backbone`: events/s through the whole backbone against raw
//! rdkafka on the same broker, in the same run.
//!
//! Backbone: a writer appends N schema-valid `application.received.v1` events
//! to a service's outbox (validated on append, `per_txn` per transaction) while
//! the relay publishes them (idempotent, acks=all) and an inbox consumer
//! validates each and applies each batch in one committed transaction. The
//! clock runs from the first append to the last commit. Shipped defaults:
//! validation on, SQLite WAL with `synchronous=FULL`.
//!
//! Raw: the same N records (same key, headers and payload) produced with
//! rdkafka (acks=all, idempotent, 1,000 in flight) and consumed by a plain
//! consumer group; the clock runs from the first send to the last receipt.
//!
//! Each is run `BENCH_RUNS` times (default 3), interleaved, and the medians
//! are reported. The last line reads
//! `backbone: <events/s> events/s, raw <events/s>, ratio <r>` for SQLite, the
//! embedded default.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use casework_bus::producer::EventProducer;
use casework_bus::topics::{ensure_topics, platform_topics};
use casework_bus::{BusSettings, EventHandler, HandlerError, InboxConsumer, Outbox, OutboxRelay};
use casework_contracts::{Event, EventType, KafkaRecord, SchemaRegistry};
use casework_store::Store;
use casework_testkit::{
    Backend, TestBroker, TestDatabase, median, sample_application_received, unique_prefix,
};
use futures::future::join_all;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sea_orm::DatabaseTransaction;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const PER_TXN: usize = 100;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn events(n: usize) -> Vec<Event> {
    (0..n).map(sample_application_received).collect()
}

struct Counter {
    applied: AtomicUsize,
    target: usize,
    done: Notify,
}

#[async_trait]
impl EventHandler for Counter {
    async fn handle(&self, _txn: &DatabaseTransaction, _event: &Event) -> Result<(), HandlerError> {
        if self.applied.fetch_add(1, Ordering::AcqRel) + 1 == self.target {
            self.done.notify_one();
        }
        Ok(())
    }
}

struct Migrator;

impl sea_orm_migration::MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        casework_store::migrations::platform()
    }
}

/// One backbone run; returns events/s, or `None` when the backend is unavailable.
async fn backbone_run(
    backend: Backend,
    broker: &TestBroker,
    registry: &Arc<SchemaRegistry>,
    n: usize,
) -> Option<f64> {
    let producer_db = TestDatabase::create(backend).await?;
    let consumer_db = TestDatabase::create(backend).await?;
    let settings = BusSettings::new(&broker.bootstrap).with_prefix(unique_prefix());
    ensure_topics(&settings, &platform_topics(&settings))
        .await
        .expect("topics");
    let producer_store = Store::connect(&producer_db.settings)
        .await
        .expect("connect");
    producer_store.migrate::<Migrator>().await.expect("migrate");
    let consumer_store = Store::connect(&consumer_db.settings)
        .await
        .expect("connect");
    consumer_store.migrate::<Migrator>().await.expect("migrate");
    let producer = EventProducer::new(&settings).expect("producer");

    let counter = Arc::new(Counter {
        applied: AtomicUsize::new(0),
        target: n,
        done: Notify::new(),
    });
    let stop = CancellationToken::new();
    let consumer = InboxConsumer::new(
        "communicate",
        [EventType::new("application.received.v1")],
        consumer_store,
        registry.clone(),
        producer.clone(),
        settings.clone(),
        counter.clone(),
    )
    .expect("consumer");
    let health = consumer.health();
    let consumer_task = tokio::spawn(consumer.run(stop.clone()));
    while !health.is_assigned() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let relay = tokio::spawn(
        OutboxRelay::new(producer_store.clone(), producer, settings.clone()).run(stop.clone()),
    );
    let outbox = Outbox::new("register", registry.clone(), settings.clone());
    let batch = events(n);

    let started = Instant::now();
    let done = counter.done.notified();
    for chunk in batch.chunks(PER_TXN) {
        let txn = producer_store.begin_write().await.expect("begin");
        outbox.append(&txn, chunk.to_vec()).await.expect("append");
        producer_store.commit(txn).await.expect("commit");
    }
    tokio::time::timeout(Duration::from_secs(600), done)
        .await
        .expect("all events consumed within 10 minutes");
    let elapsed = started.elapsed();

    stop.cancel();
    let _ = relay.await;
    let _ = consumer_task.await;
    Some(n as f64 / elapsed.as_secs_f64())
}

/// One raw rdkafka run over the same records; returns events/s.
async fn raw_run(broker: &TestBroker, records: &[KafkaRecord]) -> f64 {
    let settings = BusSettings::new(&broker.bootstrap).with_prefix(unique_prefix());
    let topic = settings.prefixed("casework.register");
    ensure_topics(&settings, std::slice::from_ref(&topic))
        .await
        .expect("topic");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .create()
        .expect("producer");
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("group.id", settings.prefixed("raw"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");

    let n = records.len();
    let started = Instant::now();
    let consume = async {
        let mut seen = 0;
        while seen < n {
            consumer.recv().await.expect("receive");
            seen += 1;
        }
    };
    let produce = async {
        for window in records.chunks(1000) {
            let sends = window.iter().map(|record| {
                let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
                for (key, value) in &record.headers {
                    headers = headers.insert(Header {
                        key,
                        value: Some(value),
                    });
                }
                producer.send(
                    FutureRecord::to(&topic)
                        .key(&record.key)
                        .payload(&record.payload)
                        .headers(headers),
                    Duration::from_secs(30),
                )
            });
            for result in join_all(sends).await {
                result.map_err(|(e, _)| e).expect("raw send");
            }
        }
    };
    let produce = async {
        produce.await;
        started.elapsed()
    };
    let (produced, ()) = tokio::join!(produce, consume);
    let elapsed = started.elapsed();
    println!(
        "  raw: all {n} acknowledged after {:.2}s, all consumed after {:.2}s",
        produced.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    n as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let n = env_usize("BENCH_EVENTS", 20_000);
    let runs = env_usize("BENCH_RUNS", 3).max(1);
    let schemas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let registry = Arc::new(SchemaRegistry::load(&schemas, &[]).expect("schemas"));
    let broker = TestBroker::start();
    let records: Vec<KafkaRecord> = events(n)
        .into_iter()
        .map(|mut e| {
            registry.validate_event(&mut e).expect("valid");
            e.to_kafka()
        })
        .collect();

    println!(
        "backbone benchmark: {n} events x {runs} runs; outbox {PER_TXN} events per transaction; \
         validation on (produce and consume); SQLite WAL synchronous=FULL; acks=all, idempotent; \
         broker: casework-broker (Tansu, SQLite) on {}",
        broker.bootstrap
    );
    let mut raw = Vec::new();
    let mut sqlite = Vec::new();
    let mut postgres = Vec::new();
    for run in 1..=runs {
        let r = raw_run(&broker, &records).await;
        println!("run {run}: raw rdkafka {r:.0} events/s");
        raw.push(r);
        let s = backbone_run(Backend::Sqlite, &broker, &registry, n)
            .await
            .expect("SQLite is always available");
        println!("run {run}: backbone on SQLite {s:.0} events/s");
        sqlite.push(s);
        if let Some(p) = backbone_run(Backend::Postgres, &broker, &registry, n).await {
            println!("run {run}: backbone on PostgreSQL {p:.0} events/s");
            postgres.push(p);
        }
    }
    let raw = median(raw);
    if !postgres.is_empty() {
        let p = median(postgres);
        println!(
            "backbone (PostgreSQL): {p:.0} events/s, raw {raw:.0}, ratio {:.2}",
            p / raw
        );
    } else {
        println!("backbone (PostgreSQL): not measured (CASEWORK_TEST_DATABASE_URL is not set)");
    }
    let s = median(sqlite);
    println!(
        "backbone: {s:.0} events/s, raw {raw:.0}, ratio {:.2}",
        s / raw
    );
}
