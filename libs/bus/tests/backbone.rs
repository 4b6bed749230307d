//! The event backbone end to end: a producing service's outbox and relay, the
//! real broker process, and a consuming service as a real process
//! (`casework-bus-probe`) whose ledger table shows what it applied.
//!
//! Every scenario runs on SQLite and on PostgreSQL.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use casework_bus::dead_letter::{self, DeadLetter};
use casework_bus::producer::EventProducer;
use casework_bus::topics::{ensure_topics, platform_topics};
use casework_bus::{BusSettings, Outbox, OutboxRelay};
use casework_contracts::{Event, KafkaRecord, SchemaRegistry};
use casework_store::{Store, outbox};
use casework_testkit::{
    Backend, TestBroker, TestDatabase, init_tracing,
    sample_application_received as application_received, unique_prefix,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use tokio_util::sync::CancellationToken;

const REGISTER_TOPIC: &str = "casework.register";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn registry() -> Arc<SchemaRegistry> {
    Arc::new(SchemaRegistry::load(&schemas_dir(), &[]).expect("shipped schemas"))
}

/// The producing side: register's database, outbox and relay.
struct Register {
    store: Store,
    outbox: Outbox,
    settings: BusSettings,
    stop: CancellationToken,
    relay: tokio::task::JoinHandle<()>,
    _db: TestDatabase,
}

impl Register {
    async fn start(backend: Backend, broker: &TestBroker, prefix: &str) -> Option<Register> {
        let db = TestDatabase::create(backend).await?;
        let settings = BusSettings::new(&broker.bootstrap).with_prefix(prefix);
        ensure_topics(&settings, &platform_topics(&settings))
            .await
            .expect("create topics");
        let store = Store::connect(&db.settings).await.expect("connect");
        store
            .migrate::<PlatformOnly>()
            .await
            .expect("migrate register");
        let producer = EventProducer::new(&settings).expect("producer");
        let stop = CancellationToken::new();
        let relay = tokio::spawn(
            OutboxRelay::new(store.clone(), producer, settings.clone()).run(stop.clone()),
        );
        Some(Register {
            outbox: Outbox::new("register", registry(), settings.clone()),
            store,
            settings,
            stop,
            relay,
            _db: db,
        })
    }

    /// Appends events in one transaction per `per_txn`, as a service would.
    async fn emit(&self, events: Vec<Event>, per_txn: usize) {
        for chunk in events.chunks(per_txn) {
            let txn = self.store.begin_write().await.expect("begin");
            self.outbox
                .append(&txn, chunk.to_vec())
                .await
                .expect("append");
            self.store.commit(txn).await.expect("commit");
        }
    }

    async fn backlog(&self) -> u64 {
        outbox::backlog(self.store.connection())
            .await
            .expect("backlog")
    }

    async fn stop(self) {
        self.stop.cancel();
        let _ = self.relay.await;
    }
}

struct PlatformOnly;

impl sea_orm_migration::MigratorTrait for PlatformOnly {
    fn migrations() -> Vec<Box<dyn sea_orm_migration::MigrationTrait>> {
        casework_store::migrations::platform()
    }
}

/// The consuming side: a `casework-bus-probe` process and its database.
struct Probe {
    child: Option<Child>,
    args: Vec<String>,
    db: TestDatabase,
    store: Option<Store>,
}

impl Probe {
    async fn start(backend: Backend, broker: &TestBroker, prefix: &str, extra: &[&str]) -> Probe {
        let db = TestDatabase::create(backend)
            .await
            .expect("the backend was available for the producer");
        let mut args = vec![
            "--bootstrap".to_owned(),
            broker.bootstrap.clone(),
            "--prefix".into(),
            prefix.into(),
            "--database".into(),
            db.settings.url.clone(),
            "--schemas".into(),
            schemas_dir().display().to_string(),
            // The same name across restarts, as a pod keeps its name.
            "--instance".into(),
            "probe-0".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut probe = Probe {
            child: None,
            args,
            db,
            store: None,
        };
        probe.spawn();
        probe
    }

    /// Starts the process and waits until it has migrated and subscribed.
    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_casework-bus-probe"))
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start probe");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("probe stdout"))
            .read_line(&mut line)
            .expect("read probe output");
        assert!(
            line.starts_with("probe consuming"),
            "probe did not start: {line:?}"
        );
        self.child = Some(child);
    }

    /// SIGKILL, as a crashed pod or an OOM kill would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL probe");
            let _ = child.wait();
        }
    }

    async fn store(&mut self) -> &Store {
        if self.store.is_none() {
            self.store = Some(Store::connect(&self.db.settings).await.expect("connect"));
        }
        self.store.as_ref().unwrap()
    }

    /// (rows, distinct event ids) in the ledger.
    async fn ledger(&mut self) -> (i64, i64) {
        let store = self.store().await;
        let sql = "SELECT COUNT(*) AS n, COUNT(DISTINCT event_id) AS d FROM ledger";
        let row = store
            .connection()
            .query_one_raw(Statement::from_string(store.backend(), sql))
            .await
            .expect("read the ledger")
            .expect("one row");
        (row.try_get("", "n").unwrap(), row.try_get("", "d").unwrap())
    }

    async fn traceparents(&mut self) -> Vec<Option<String>> {
        let store = self.store().await;
        let rows = store
            .connection()
            .query_all_raw(Statement::from_string(
                store.backend(),
                "SELECT traceparent FROM ledger",
            ))
            .await
            .expect("read ledger");
        rows.iter()
            .map(|r| r.try_get("", "traceparent").unwrap())
            .collect()
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` until it returns true or `timeout` passes.
async fn eventually(timeout: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sets a record's `ce_type` header.
fn set_type(record: &mut KafkaRecord, event_type: &str) {
    for (name, value) in &mut record.headers {
        if name == "ce_type" {
            *value = event_type.as_bytes().to_vec();
        }
    }
}

async fn dead_letters(settings: &BusSettings) -> Vec<DeadLetter> {
    let topic = settings.prefixed(&format!("{REGISTER_TOPIC}.dlq"));
    dead_letter::list(settings, &topic).await.expect("list DLQ")
}

// ---------------------------------------------------------------- scenarios

async fn round_trip_with_trace_context(backend: Backend) {
    init_tracing();
    let broker = TestBroker::shared();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, broker, &prefix).await else {
        return;
    };
    let mut probe = Probe::start(backend, broker, &prefix, &[]).await;

    let events: Vec<Event> = (0..50)
        .map(|n| application_received(n).with_traceparent(TRACEPARENT))
        .collect();
    register.emit(events, 5).await;

    eventually(Duration::from_secs(60), "50 events applied", async || {
        probe.ledger().await == (50, 50)
    })
    .await;
    let traces = probe.traceparents().await;
    assert!(
        traces.iter().all(|t| t.as_deref() == Some(TRACEPARENT)),
        "trace context lost: {traces:?}"
    );
    eventually(Duration::from_secs(10), "outbox drained", async || {
        register.backlog().await == 0
    })
    .await;
    assert!(dead_letters(&register.settings).await.is_empty());
    register.stop().await;
}

async fn bad_records_go_to_the_dlq_and_the_consumer_continues(backend: Backend) {
    init_tracing();
    let broker = TestBroker::shared();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, broker, &prefix).await else {
        return;
    };
    let refused = application_received(7);
    let mut probe = Probe::start(
        backend,
        broker,
        &prefix,
        &["--refuse-subject", &refused.subject],
    )
    .await;
    let producer = EventProducer::new(&register.settings).unwrap();
    let topic = register.settings.prefixed(REGISTER_TOPIC);

    // Written straight to the topic, as a faulty or hostile producer would.
    let valid = application_received(1).to_kafka();
    let mut schema_invalid = application_received(2);
    schema_invalid.data["reference"] = json!("not-a-reference");
    let schema_invalid = schema_invalid.to_kafka();
    let mut malformed = application_received(3).to_kafka();
    malformed.payload = b"{\"case_id\": ".to_vec();
    let mut headerless = application_received(4).to_kafka();
    headerless.headers.retain(|(name, _)| name != "ce_type");
    let last_valid = application_received(5).to_kafka();
    let refused = refused.to_kafka();
    // Another service's event type is that service's consumer's to judge:
    // this one skips it, malformed or not. A type nobody catalogued is poison.
    // Keyed as the last valid event, so on its partition before it: skipped
    // by the time that one is applied.
    let mut others_malformed = application_received(6).to_kafka();
    set_type(&mut others_malformed, "case.closed.v1");
    others_malformed.key.clone_from(&last_valid.key);
    others_malformed.payload = b"{\"closed\": ".to_vec();
    let mut uncatalogued = application_received(8).to_kafka();
    set_type(&mut uncatalogued, "made.up.v1");
    let records: Vec<(&str, &KafkaRecord)> = vec![
        ("valid", &valid),
        ("schema-invalid", &schema_invalid),
        ("malformed", &malformed),
        ("another service's, malformed", &others_malformed),
        ("headerless", &headerless),
        ("uncatalogued", &uncatalogued),
        ("refused", &refused),
        ("valid", &last_valid),
    ];
    for (_, record) in &records {
        producer.send(&topic, record).await.expect("produce");
    }

    eventually(
        Duration::from_secs(60),
        "both valid events applied",
        async || probe.ledger().await == (2, 2),
    )
    .await;

    let mut letters = Vec::new();
    eventually(Duration::from_secs(30), "five dead letters", async || {
        letters = dead_letters(&register.settings).await;
        letters.len() >= 5
    })
    .await;
    assert_eq!(letters.len(), 5, "{letters:#?}");
    let group = register.settings.consumer_group("communicate");
    for letter in &letters {
        assert_eq!(letter.topic, topic);
        assert_eq!(letter.consumer_group, group);
        assert!(letter.partition >= 0 && letter.offset >= 0, "{letter:?}");
        assert!(letter.failed_at.is_some());
    }
    let errors: Vec<&str> = letters.iter().map(|l| l.error.as_str()).collect();
    assert!(
        errors.iter().any(|e| e.contains("/reference")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("not valid JSON")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("ce_type")), "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("unknown event type `made.up.v1`")),
        "{errors:?}"
    );
    assert!(
        letters
            .iter()
            .all(|l| l.record.payload != others_malformed.payload),
        "another service's event was dead-lettered here: {letters:#?}"
    );
    assert!(errors.iter().any(|e| e.contains("refused")), "{errors:?}");
    // The original record travels untouched, so it can be replayed once fixed.
    let malformed_letter = letters
        .iter()
        .find(|l| l.error.contains("not valid JSON"))
        .unwrap();
    assert_eq!(malformed_letter.record.payload, malformed.payload);
    assert_eq!(malformed_letter.record.key, malformed.key);

    // Once the consumer is fixed (restarted without its refusal), replaying
    // the dead letter gets the event applied, once.
    let refused_letter = letters
        .iter()
        .find(|l| l.error.contains("refused"))
        .unwrap();
    probe.kill();
    let at = probe
        .args
        .iter()
        .position(|a| a == "--refuse-subject")
        .unwrap();
    probe.args.drain(at..at + 2);
    probe.spawn();
    dead_letter::replay(&producer, refused_letter)
        .await
        .expect("replay");
    eventually(
        Duration::from_secs(60),
        "replayed event applied",
        async || probe.ledger().await == (3, 3),
    )
    .await;
    register.stop().await;
}

async fn the_same_event_delivered_twice_is_applied_once(backend: Backend) {
    init_tracing();
    let broker = TestBroker::shared();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, broker, &prefix).await else {
        return;
    };
    let mut probe = Probe::start(backend, broker, &prefix, &[]).await;
    let producer = EventProducer::new(&register.settings).unwrap();
    let topic = register.settings.prefixed(REGISTER_TOPIC);

    let twice = application_received(1).to_kafka();
    let marker = application_received(2).to_kafka();
    producer.send(&topic, &twice).await.unwrap();
    producer.send(&topic, &twice).await.unwrap();
    producer.send(&topic, &marker).await.unwrap();
    // And again later, in a different batch.
    eventually(
        Duration::from_secs(60),
        "first deliveries applied",
        async || probe.ledger().await.1 == 2,
    )
    .await;
    producer.send(&topic, &twice).await.unwrap();
    let last = application_received(3).to_kafka();
    producer.send(&topic, &last).await.unwrap();
    eventually(Duration::from_secs(60), "last event applied", async || {
        probe.ledger().await.1 == 3
    })
    .await;
    assert_eq!(probe.ledger().await, (3, 3), "a duplicate was applied");
    register.stop().await;
}

/// The consumer records inbox entries a chunk at a time as it applies a
/// batch: a second copy further down the batch, in a later chunk, must
/// still be recognised. Everything is on the topic before the consumer
/// starts, so its first fetch holds both copies.
async fn a_copy_far_down_the_same_batch_is_applied_once(backend: Backend) {
    init_tracing();
    let broker = TestBroker::shared();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, broker, &prefix).await else {
        return;
    };
    let producer = EventProducer::new(&register.settings).unwrap();
    let topic = register.settings.prefixed(REGISTER_TOPIC);
    let twice = application_received(0).to_kafka();
    producer.send(&topic, &twice).await.unwrap();
    for n in 1..=150 {
        producer
            .send(&topic, &application_received(n).to_kafka())
            .await
            .unwrap();
    }
    producer.send(&topic, &twice).await.unwrap();

    let mut probe = Probe::start(backend, broker, &prefix, &[]).await;
    // Offsets are committed only after what they cover is applied.
    eventually(
        Duration::from_secs(60),
        "every record consumed",
        async || committed_offsets(&register.settings, "communicate", REGISTER_TOPIC) == 152,
    )
    .await;
    assert_eq!(probe.ledger().await, (151, 151), "a duplicate was applied");
    register.stop().await;
}

async fn a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice(backend: Backend) {
    consumer_killed_mid_stream(backend, &[]).await;
}

/// The same with the partitions assigned directly, as under `casework up`:
/// the offsets committed under the group id must carry over the restarts.
async fn a_directly_assigned_consumer_killed_mid_stream_resumes_from_its_commits(backend: Backend) {
    consumer_killed_mid_stream(backend, &["--assign-all"]).await;
}

/// The same while request writes keep coming on the consumer's database: on
/// SQLite the consumer then commits its batches in parts, giving the writer up
/// between events, and a kill between parts must lose and repeat nothing.
async fn a_consumer_giving_way_to_requests_killed_mid_stream_loses_nothing(backend: Backend) {
    consumer_killed_mid_stream(backend, &["--competing-requests"]).await;
}

async fn consumer_killed_mid_stream(backend: Backend, extra: &[&str]) {
    init_tracing();
    let broker = TestBroker::shared();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, broker, &prefix).await else {
        return;
    };
    const TOTAL: i64 = 1500;
    let mut args = vec!["--apply-delay-ms", "2"];
    args.extend_from_slice(extra);
    let mut probe = Probe::start(backend, broker, &prefix, &args).await;
    register
        .emit((0..TOTAL as usize).map(application_received).collect(), 50)
        .await;

    for round in 0..3 {
        // Let it get part of the way, then SIGKILL it and start it again.
        let target = TOTAL * (round + 1) / 5;
        eventually(
            Duration::from_secs(120),
            "progress before the kill",
            async || probe.ledger().await.1 >= target,
        )
        .await;
        probe.kill();
        let (rows, distinct) = probe.ledger().await;
        assert!(
            distinct < TOTAL,
            "killed too late to test anything (round {round})"
        );
        assert_eq!(rows, distinct, "applied twice before restart {round}");
        probe.spawn();
    }
    eventually(
        Duration::from_secs(180),
        "every event applied",
        async || probe.ledger().await.1 == TOTAL,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        probe.ledger().await,
        (TOTAL, TOTAL),
        "(rows, distinct events)"
    );
    // Every record's offset is committed (auto-commit runs every 500 ms), so a
    // restart resumes where the last one stopped instead of re-reading it all.
    eventually(
        Duration::from_secs(10),
        "every offset committed",
        async || committed_offsets(&register.settings, "communicate", REGISTER_TOPIC) == TOTAL,
    )
    .await;
    register.stop().await;
}

/// The sum over partitions of `service`'s committed offsets on `topic`.
fn committed_offsets(settings: &BusSettings, service: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("group.id", settings.consumer_group(service))
        .create()
        .expect("offset reader");
    let topic = settings.prefixed(topic);
    let mut partitions = TopicPartitionList::new();
    for partition in 0..settings.partitions {
        partitions.add_partition(&topic, partition);
    }
    consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .expect("committed offsets")
        .elements()
        .iter()
        .filter_map(|element| match element.offset() {
            Offset::Offset(offset) => Some(offset),
            _ => None,
        })
        .sum()
}

async fn a_broker_killed_under_load_loses_no_acknowledged_event(backend: Backend) {
    init_tracing();
    let broker = TestBroker::start();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, &broker, &prefix).await else {
        return;
    };
    const TOTAL: usize = 3000;
    let events: Vec<Event> = (0..TOTAL).map(application_received).collect();
    let ids: std::collections::HashSet<String> = events.iter().map(|e| e.id.to_string()).collect();

    // Keep writing while the broker dies and comes back.
    let writer = {
        let (store, outbox) = (register.store.clone(), register.outbox.clone());
        tokio::spawn(async move {
            for chunk in events.chunks(20) {
                let txn = store.begin_write().await.expect("begin");
                outbox.append(&txn, chunk.to_vec()).await.expect("append");
                store.commit(txn).await.expect("commit");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let published = |store: Store| async move {
        let sql =
            "SELECT COUNT(*) AS n FROM outbox WHERE id NOT IN (SELECT id FROM outbox_unpublished)";
        let row = store
            .connection()
            .query_one_raw(Statement::from_string(store.backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    };
    eventually(
        Duration::from_secs(60),
        "some events acknowledged",
        async || published(register.store.clone()).await > 300,
    )
    .await;
    broker.kill();
    let acknowledged_at_kill = published(register.store.clone()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    broker.restart();
    writer.await.expect("writer");
    eventually(
        Duration::from_secs(120),
        "outbox drained after restart",
        async || register.backlog().await == 0,
    )
    .await;
    assert!(
        acknowledged_at_kill < TOTAL as i64,
        "kill came after the load"
    );

    // Every event the relay saw acknowledged is on the broker.
    let mut probe = Probe::start(backend, &broker, &prefix, &[]).await;
    eventually(
        Duration::from_secs(120),
        "all events consumed",
        async || probe.ledger().await.1 >= TOTAL as i64,
    )
    .await;
    let store = probe.store().await;
    let rows = store
        .connection()
        .query_all_raw(Statement::from_string(
            store.backend(),
            "SELECT DISTINCT event_id FROM ledger",
        ))
        .await
        .unwrap();
    let consumed: std::collections::HashSet<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "event_id").unwrap())
        .collect();
    assert_eq!(
        consumed, ids,
        "events lost or invented across the broker crash"
    );
    register.stop().await;
}

async fn an_unavailable_database_is_retried_not_dead_lettered(backend: Backend) {
    init_tracing();
    let broker = TestBroker::shared();
    let prefix = unique_prefix();
    let Some(register) = Register::start(backend, broker, &prefix).await else {
        return;
    };
    let mut probe = Probe::start(backend, broker, &prefix, &["--busy-timeout-ms", "200"]).await;
    // Wait for the probe to be up (it has migrated and applied a first event).
    register.emit(vec![application_received(0)], 1).await;
    eventually(Duration::from_secs(60), "first event applied", async || {
        probe.ledger().await == (1, 1)
    })
    .await;

    // Take the database away from the consumer.
    let outage = Outage::begin(&mut probe).await;
    register
        .emit((1..=20).map(application_received).collect(), 5)
        .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    outage.end(&mut probe).await;
    assert_eq!(probe.ledger().await.1, 1, "applied during the outage");

    eventually(
        Duration::from_secs(60),
        "events applied after the outage",
        async || probe.ledger().await == (21, 21),
    )
    .await;
    assert!(
        dead_letters(&register.settings).await.is_empty(),
        "a transient failure was dead-lettered"
    );
    register.stop().await;
}

/// The consumer's database made unavailable: on SQLite another process holds
/// the write lock (the consumer sees BUSY); on PostgreSQL the database refuses
/// connections and the consumer's are terminated.
enum Outage {
    SqliteLock(sea_orm::DatabaseTransaction),
    PostgresRefusing(String),
}

impl Outage {
    async fn begin(probe: &mut Probe) -> Outage {
        match probe.db.backend() {
            Backend::Sqlite => {
                let store = probe.store().await;
                let txn = store.begin_write().await.expect("take the write lock");
                // Write something so the lock is certainly held.
                txn.execute_unprepared("DELETE FROM inbox WHERE event_id = 'none'")
                    .await
                    .unwrap();
                Outage::SqliteLock(txn)
            }
            Backend::Postgres => {
                let name = probe.db.name.clone();
                if let Some(store) = probe.store.take() {
                    let _ = store.close().await;
                }
                probe
                    .db
                    .admin(&format!(
                        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
                    ))
                    .await;
                probe
                    .db
                    .admin(&format!(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
                    ))
                    .await;
                Outage::PostgresRefusing(name)
            }
        }
    }

    async fn end(self, probe: &mut Probe) {
        match self {
            Outage::SqliteLock(txn) => txn.rollback().await.expect("release the lock"),
            Outage::PostgresRefusing(name) => {
                probe
                    .db
                    .admin(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
                    .await;
            }
        }
    }
}

/// PostgreSQL: a commit through one `Store` wakes a relay waiting on
/// another `Store` of the same schema (another process, as far as the
/// database can tell: its own connections), by `LISTEN`/`NOTIFY`; without it
/// that relay would wait for its poll.
#[tokio::test(flavor = "multi_thread")]
async fn on_postgresql_a_commit_in_one_process_wakes_the_relay_of_another() {
    init_tracing();
    let Some(db) = TestDatabase::create(Backend::Postgres).await else {
        return;
    };
    let mut settings = db.settings.clone();
    settings.schema = Some("wake_test".into());
    let writer = Store::connect(&settings).await.expect("connect");
    let relay = Store::connect(&settings).await.expect("connect again");
    // The relay's side waits; its first wait starts its listener.
    let waiting = tokio::spawn({
        let relay = relay.clone();
        async move { relay.outbox_written().await }
    });
    // Commit on the writer's side until the wake arrives: the first commits
    // may come before the listener is listening.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !waiting.is_finished() {
        assert!(
            Instant::now() < deadline,
            "a commit on another Store did not wake the waiting relay"
        );
        let txn = sea_orm::TransactionTrait::begin(writer.writer())
            .await
            .expect("begin");
        writer.commit(txn).await.expect("commit");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

casework_testkit::on_both_backends!(
    round_trip_with_trace_context,
    bad_records_go_to_the_dlq_and_the_consumer_continues,
    the_same_event_delivered_twice_is_applied_once,
    a_copy_far_down_the_same_batch_is_applied_once,
    a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice,
    a_directly_assigned_consumer_killed_mid_stream_resumes_from_its_commits,
    a_consumer_giving_way_to_requests_killed_mid_stream_loses_nothing,
    a_broker_killed_under_load_loses_no_acknowledged_event,
    an_unavailable_database_is_retried_not_dead_lettered,
);
