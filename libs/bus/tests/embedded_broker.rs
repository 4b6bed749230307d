//! The embedded broker's patched fetch (vendor/README.md): a consumer waiting
//! at the broker gets a record as soon as it is produced, not when its
//! `fetch.wait.max.ms` runs out. Tansu 0.6 as published held every fetch for
//! about half of that wait, records or not.

use std::time::{Duration, Instant};

use casework_bus::BusSettings;
use casework_bus::topics::{ensure_topics, from_beginning};
use casework_testkit::{TestBroker, init_tracing, unique_prefix};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// Far longer than any hop may take, so waiting it out would fail the test.
const FETCH_WAIT: Duration = Duration::from_secs(6);

/// Produces one record and returns how long the consumer took to receive it.
async fn time_one_record(
    producer: &FutureProducer,
    consumer: &BaseConsumer,
    topic: &str,
) -> Duration {
    let sent = Instant::now();
    producer
        .send(
            FutureRecord::to(topic).key("case-1").payload("hello"),
            Duration::from_secs(10),
        )
        .await
        .expect("produced");
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(_)) => return sent.elapsed(),
            Some(Err(err)) => panic!("consumer error: {err}"),
            None if sent.elapsed() > Duration::from_secs(20) => panic!("no record in 20 s"),
            None => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_fetch_answers_as_soon_as_a_record_is_produced() {
    init_tracing();
    let broker = TestBroker::shared();
    let settings = BusSettings::new(&broker.bootstrap);
    let topic = format!("{}.fetch-wake", unique_prefix());
    ensure_topics(&settings, std::slice::from_ref(&topic))
        .await
        .expect("topic");

    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .set("group.id", format!("{topic}.reader"))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", FETCH_WAIT.as_millis().to_string())
        .create()
        .expect("consumer");
    consumer
        .assign(&from_beginning(&settings, &topic).expect("partitions"))
        .expect("assign");
    let producer: FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap)
        .create()
        .expect("producer");

    // The first record shows the consumer is set up and fetching.
    time_one_record(&producer, &consumer, &topic).await;
    // Now its next fetch is parked at the broker, waiting up to FETCH_WAIT.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = time_one_record(&producer, &consumer, &topic).await;

    assert!(
        received < Duration::from_secs(1),
        "record took {received:?} to reach a consumer waiting up to {FETCH_WAIT:?} (the broker should answer as soon as it arrives)"
    );
}
