//! `make bench-pipeline`: the whole platform, as shipped (`casework up`,
//! release build, every service, SQLite `synchronous=FULL`, validation on,
//! the embedded broker), taking auto-granted visit visas from HTTP intake to
//! a closed case.
//!
//! - Latency: `BENCH_RATE` (default 20) applications a second for
//!   `BENCH_SECONDS` (default 30), open loop; for each case, the time from
//!   its request's *intended* send time to the moment its `case.closed`
//!   event reaches this process from the broker. p50 and p99.
//! - Events per case: every record on the seven topics after that run,
//!   divided by the cases.
//! - Where the time goes: every record of that run read back, grouped by
//!   case; for each event type, how long after the case's previous event
//!   reached the broker it was created (a consumer's fetch, its queue for
//!   the writer, the handler), and how long after its creation it reached
//!   the broker (the commit and the outbox relay). Medians over the cases,
//!   in the order a case meets them.
//! - Maximum sustained: offered rates rising (20 s each, a fresh platform
//!   each) until fewer than 95% of the cases close within 15 s of the end of
//!   the load, or a request fails, or p99 time-to-closed exceeds 5 s; then
//!   halving the gap between the last rate kept up and the first not, until
//!   it is at most 10 cases/s.
//! - Baseline, in the same run: raw rdkafka produce-then-consume of
//!   `BENCH_BASELINE_EVENTS` (default 20,000) records through the same
//!   embedded broker, the ceiling any event-driven pipeline on it has.
//!
//! `make bench-topology` (`BENCH_TOPOLOGY=compare`) measures instead what
//! the split topology costs: the latency run and the maximum sustained rate
//! of `casework up` on PostgreSQL (the baseline), then of every service in
//! its own process — `casework-broker`, `casework serve <service>` ×7 and
//! `casework serve web` — on the same PostgreSQL server, in the same run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use casework_bus::BusSettings;
use casework_bus::topics::from_beginning;
use casework_contracts::Event;
use casework_contracts::Service;
use casework_contracts::catalogue::topic_of_service;
use casework_e2e::{database_env, env_number, example, quantile, wait_ready, workspace};
use casework_testkit::{Backend, CaseworkProcess, TempDir, TestBroker, TestDatabase, free_port};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};

/// How the platform under test runs.
#[derive(Clone, Copy, Debug)]
enum Setup {
    /// `casework up` as shipped: SQLite, the embedded broker.
    Shipped,
    /// `casework up` on PostgreSQL, the embedded broker.
    UpOnPostgres,
    /// A process per service on PostgreSQL: `casework-broker`, `casework
    /// serve <service>` for each of the seven, and `casework serve web`.
    SplitOnPostgres,
}

/// The platform's processes, where intake is, and its broker's address.
struct Platform {
    /// Register's API (intake), where applications are sent.
    base_url: String,
    broker: String,
    _processes: Vec<CaseworkProcess>,
    _broker: Option<TestBroker>,
    _db: Option<TestDatabase>,
    _dir: TempDir,
}

async fn start(setup: Setup) -> Platform {
    let dir = TempDir::new("bench-pipeline");
    let db = match setup {
        Setup::Shipped => None,
        Setup::UpOnPostgres | Setup::SplitOnPostgres => Some(
            TestDatabase::create(Backend::Postgres).await.expect(
                "BENCH_TOPOLOGY=compare needs CASEWORK_TEST_DATABASE_URL (make bench-topology sets it)",
            ),
        ),
    };
    let mut env = db.as_ref().map(database_env).unwrap_or_default();
    if let Setup::Shipped | Setup::UpOnPostgres = setup {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (process, broker) = casework_e2e::load::start_up_with(dir.path(), &env);
        wait_ready(&process.base_url).await;
        return Platform {
            base_url: process.base_url.clone(),
            broker,
            _processes: vec![process],
            _broker: None,
            _db: db,
            _dir: dir,
        };
    }
    let log = std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into());
    env.push(("CASEWORK__TELEMETRY__LOG", log));
    let broker = TestBroker::start();
    env.push((
        "CASEWORK__KAFKA__BOOTSTRAP_SERVERS",
        broker.bootstrap.clone(),
    ));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let serve = |service: &str, extra: &[(&str, &str)]| {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut env = env.clone();
        env.extend_from_slice(extra);
        CaseworkProcess::start(
            &workspace(),
            &["serve", service, "--listen", &listen],
            &env,
            dir.path(),
        )
    };
    let mut processes: Vec<CaseworkProcess> = Service::ALL
        .iter()
        .map(|s| serve(s.as_str(), &[]))
        .collect();
    for process in &processes {
        wait_ready(&process.base_url).await;
    }
    let register = processes[Service::ALL
        .iter()
        .position(|s| *s == Service::Register)
        .expect("Register")]
    .base_url
    .clone();
    // The web front end is not on intake's path; it runs, as it would.
    let web = serve("web", &[("CASEWORK__WEB__API_URL", &register)]);
    wait_ready(&web.base_url).await;
    processes.push(web);
    Platform {
        base_url: register,
        broker: broker.bootstrap.clone(),
        _processes: processes,
        _broker: Some(broker),
        _db: db,
        _dir: dir,
    }
}

/// When each case's `case.closed` reached us, by reference; filled by a
/// thread reading Register's topic from the start.
type Closed = Arc<Mutex<HashMap<String, Instant>>>;

fn watch_closed(broker: &str, stop: Arc<std::sync::atomic::AtomicBool>) -> Closed {
    let closed: Closed = Arc::default();
    let seen = closed.clone();
    let settings = BusSettings::new(broker);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("group.id", "bench-watch")
        .set("enable.auto.commit", "false")
        .create()
        .expect("watcher");
    let topic = topic_of_service("register");
    consumer
        .assign(&from_beginning(&settings, &topic).expect("partitions"))
        .expect("assign");
    std::thread::spawn(move || {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) else {
                continue;
            };
            let headers: Vec<(&str, Option<&[u8]>)> = message
                .headers()
                .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            if let Ok(event) = Event::from_kafka(headers, message.payload())
                && event.event_type.as_str() == "case.closed.v1"
                && let Some(reference) = event.data["reference"].as_str()
            {
                seen.lock()
                    .expect("closed map")
                    .insert(reference.to_owned(), Instant::now());
            }
        }
    });
    closed
}

/// One open-loop run of `rate` applications a second for `seconds`.
struct Run {
    offered: f64,
    sent: usize,
    failed: usize,
    closed_in_time: usize,
    seconds: f64,
    to_closed: Vec<Duration>,
}

impl Run {
    fn quantile(&self, q: f64) -> Duration {
        quantile(&self.to_closed, q)
    }

    fn kept_up(&self) -> bool {
        self.failed == 0
            && self.closed_in_time as f64 >= 0.95 * self.sent as f64
            && self.quantile(0.99) <= Duration::from_secs(5)
    }

    fn line(&self) -> String {
        format!(
            "offered {:.0} cases/s for {:.0} s: sent {}, failed {}, closed {} ({:.0} complete cases/s); time to closed p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            self.offered,
            self.seconds,
            self.sent,
            self.failed,
            self.closed_in_time,
            self.closed_in_time as f64 / self.seconds,
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.to_closed.last().copied().unwrap_or_default()),
        )
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn run(platform: &Platform, rate: f64, seconds: f64) -> Run {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let closed = watch_closed(&platform.broker, stop.clone());
    let client = reqwest::Client::new();
    let url = format!(
        "{}/api/register/v1/applications/visit-visa",
        platform.base_url
    );
    let application = Arc::new(example("visit-visa", "valid-tourist"));
    let total = (rate * seconds) as usize;
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let intended = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(intended.into()).await;
        let request = client
            .post(&url)
            .header("X-Forwarded-For", casework_e2e::load::applicant_address())
            .json(application.as_ref());
        tasks.push(tokio::spawn(async move {
            let reference = match request.send().await {
                Ok(response) if response.status().is_success() => response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|ack| ack["reference"].as_str().map(str::to_owned)),
                _ => None,
            };
            (intended, reference)
        }));
    }
    let mut sent = Vec::with_capacity(total);
    let mut failed = 0;
    for task in tasks {
        match task.await.expect("request task") {
            (intended, Some(reference)) => sent.push((intended, reference)),
            (_, None) => failed += 1,
        }
    }
    // Give the last cases time to close.
    let end = start + Duration::from_secs_f64(seconds);
    let drain = end + Duration::from_secs(15);
    while Instant::now() < drain {
        let done = {
            let closed = closed.lock().expect("closed map");
            sent.iter().all(|(_, r)| closed.contains_key(r))
        };
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let closed = closed.lock().expect("closed map").clone();
    let mut to_closed: Vec<Duration> = sent
        .iter()
        .filter_map(|(intended, reference)| {
            closed
                .get(reference)
                .filter(|at| **at <= drain)
                .map(|at| at.duration_since(*intended))
        })
        .collect();
    to_closed.sort();
    Run {
        offered: rate,
        sent: sent.len(),
        failed,
        closed_in_time: to_closed.len(),
        seconds,
        to_closed,
    }
}

/// One offered rate for 20 s on a fresh platform: whether it kept up, and
/// the complete cases a second.
async fn throughput(setup: Setup, offered: f64) -> (bool, f64) {
    let platform = start(setup).await;
    let result = run(&platform, offered, 20.0).await;
    println!("throughput: {}", result.line());
    drop(platform);
    (
        result.kept_up(),
        result.closed_in_time as f64 / result.seconds,
    )
}

/// Reads every record of the seven topics back and says, per event type in
/// the order a case meets them, how long it took to be created after the
/// case's previous event reached the broker, and to reach the broker after
/// its creation (medians and 90th percentiles over the cases, ms).
async fn where_the_time_goes(broker: &str) -> Vec<String> {
    /// (created, reached the broker), in microseconds, and the type.
    type Seen = (i64, i64, String);
    let settings = BusSettings::new(broker);
    let mut cases: HashMap<Vec<u8>, Vec<Seen>> = HashMap::new();
    for service in Service::ALL {
        let records = casework_bus::topics::read_all(&settings, &service.topic())
            .await
            .expect("read a topic back");
        for record in records {
            let headers: Vec<(&str, Option<&[u8]>)> = record
                .headers()
                .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
                .unwrap_or_default();
            let (Ok(event), Some(sent)) = (
                Event::from_kafka(headers, record.payload()),
                record.timestamp().to_millis(),
            ) else {
                continue;
            };
            cases
                .entry(record.key().unwrap_or_default().to_vec())
                .or_default()
                .push((
                    event.time.timestamp_micros(),
                    sent * 1000,
                    event.event_type.as_str().to_owned(),
                ));
        }
    }
    // By type: when in the case (from its first event), the wait before
    // creation, the wait to reach the broker.
    let mut by_type: HashMap<String, [Vec<i64>; 3]> = HashMap::new();
    let mut total = Vec::new();
    for events in cases.values_mut() {
        events.sort();
        let first = events[0].0;
        for (i, (created, sent, event_type)) in events.iter().enumerate() {
            let entry = by_type.entry(event_type.clone()).or_default();
            entry[0].push(created - first);
            entry[2].push(sent - created);
            // Its cause: the case's latest event on the broker before it was made.
            if let Some(cause) = events[..i]
                .iter()
                .map(|(_, sent, _)| *sent)
                .filter(|sent| sent <= created)
                .max()
            {
                entry[1].push(created - cause);
            }
            if event_type == "case.closed.v1" {
                total.push(sent - first);
            }
        }
    }
    let median = |values: &mut Vec<i64>, q: f64| -> f64 {
        values.sort_unstable();
        values
            .get(((values.len().max(1) - 1) as f64 * q).round() as usize)
            .map_or(0.0, |v| *v as f64 / 1000.0)
    };
    let mut rows: Vec<(f64, String)> = by_type
        .into_iter()
        .map(|(event_type, [mut at, mut waited, mut relayed])| {
            let at = median(&mut at, 0.5);
            let line = format!(
                "{event_type:<28} at +{at:>5.0} ms (n={n}): created {:>4.0} ms (p90 {:>4.0}) after its cause reached the broker; reached the broker {:>4.0} ms (p90 {:>4.0}) after",
                median(&mut waited, 0.5),
                median(&mut waited, 0.9),
                median(&mut relayed, 0.5),
                median(&mut relayed, 0.9),
                n = relayed.len(),
            );
            (at, line)
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut lines: Vec<String> = rows.into_iter().map(|(_, line)| line).collect();
    lines.push(format!(
        "application.received created to case.closed on the broker: p50 {:.0} ms, p90 {:.0} ms over {} cases",
        median(&mut total, 0.5),
        median(&mut total, 0.9),
        total.len()
    ));
    lines
}

/// Every record on the platform's seven topics (high watermarks).
fn events_on_topics(broker: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "bench-count")
        .create()
        .expect("counter");
    let settings = BusSettings::new(broker);
    Service::ALL
        .iter()
        .map(|service| {
            let topic = service.topic();
            (0..settings.partitions)
                .map(|p| {
                    consumer
                        .fetch_watermarks(&topic, p, Duration::from_secs(10))
                        .map(|(low, high)| high - low)
                        .unwrap_or(0)
                })
                .sum::<i64>()
        })
        .sum()
}

/// Raw rdkafka through the same broker: produce `n` records (acks=all,
/// idempotent, as the platform's producer), then consume them all.
async fn raw_baseline(broker: &str, n: usize) -> f64 {
    let topic = format!("bench-raw-{}", std::process::id());
    let settings = BusSettings::new(broker);
    casework_bus::topics::ensure_topics(&settings, std::slice::from_ref(&topic))
        .await
        .expect("raw topic");
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .create()
        .expect("raw producer");
    let payload = serde_json::to_vec(&example("visit-visa", "valid-tourist")).expect("payload");
    let started = Instant::now();
    let sends: Vec<_> = (0..n)
        .map(|i| {
            let key = format!("case-{i}");
            let producer = producer.clone();
            let topic = topic.clone();
            let payload = payload.clone();
            tokio::spawn(async move {
                producer
                    .send(
                        FutureRecord::to(&topic).key(&key).payload(&payload),
                        Duration::from_secs(30),
                    )
                    .await
                    .is_ok()
            })
        })
        .collect();
    for send in sends {
        assert!(send.await.expect("send task"), "raw send failed");
    }
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", "bench-raw")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("raw consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    let mut received = 0;
    while received < n {
        if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
            received += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "raw baseline stalled"
        );
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// The highest offered rate kept up, found by rising rates then halving the
/// gap to the first missed; its complete cases a second.
async fn sustained(setup: Setup) -> f64 {
    let mut sustained = 0.0;
    let mut kept = 0.0;
    let mut missed = None;
    for offered in [25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0] {
        let (ok, rate) = throughput(setup, offered).await;
        if !ok {
            missed = Some(offered);
            break;
        }
        (kept, sustained) = (offered, rate);
    }
    while let Some(above) = missed
        && above - kept > 10.0
    {
        let offered = ((kept + above) / 2.0).round();
        let (ok, rate) = throughput(setup, offered).await;
        if ok {
            (kept, sustained) = (offered, rate);
        } else {
            missed = Some(offered);
        }
    }
    sustained
}

/// `BENCH_TOPOLOGY=compare`: `casework up` against a process per service,
/// both on PostgreSQL, latency and sustained rate each.
async fn compare_topologies(rate: f64, seconds: f64) {
    println!(
        "topology benchmark: auto-granted visit visas from HTTP intake to case.closed on PostgreSQL; \
         casework up (baseline) against casework-broker + casework serve x7 + serve web"
    );
    let mut results = Vec::new();
    for setup in [Setup::UpOnPostgres, Setup::SplitOnPostgres] {
        let platform = start(setup).await;
        let latency = run(&platform, rate, seconds).await;
        println!("{setup:?} latency: {}", latency.line());
        drop(platform);
        let rate = sustained(setup).await;
        println!("{setup:?} sustained: {rate:.0} complete cases/s");
        results.push((latency, rate));
    }
    let [(up_latency, up), (split_latency, split)] = &results[..] else {
        unreachable!("two setups")
    };
    println!(
        "topology: casework up on PostgreSQL p50 {:.0} ms, p99 {:.0} ms at {rate:.0}/s, {up:.0} cases/s sustained; \
         split p50 {:.0} ms, p99 {:.0} ms, {split:.0} cases/s sustained; split/up: p50 {:.2}x, sustained {:.2}",
        ms(up_latency.quantile(0.5)),
        ms(up_latency.quantile(0.99)),
        ms(split_latency.quantile(0.5)),
        ms(split_latency.quantile(0.99)),
        ms(split_latency.quantile(0.5)) / ms(up_latency.quantile(0.5)),
        split / up,
    );
}

#[tokio::main]
async fn main() {
    let rate = env_number("BENCH_RATE", 20.0);
    let seconds = env_number("BENCH_SECONDS", 30.0);
    let baseline_events = env_number("BENCH_BASELINE_EVENTS", 20_000.0) as usize;
    if std::env::var("BENCH_TOPOLOGY").as_deref() == Ok("compare") {
        return compare_topologies(rate, seconds).await;
    }
    println!(
        "pipeline benchmark: casework up (release), every service, shipped defaults; \
         auto-granted visit visas from HTTP intake to case.closed; open-loop load from this process"
    );

    let platform = start(Setup::Shipped).await;
    let latency = run(&platform, rate, seconds).await;
    println!("latency: {}", latency.line());
    // Let the last notifications go out before counting.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let events = events_on_topics(&platform.broker);
    let per_case = events as f64 / latency.sent.max(1) as f64;
    println!(
        "events: {events} on the seven topics for {} cases: {per_case:.1} per case",
        latency.sent
    );
    for line in where_the_time_goes(&platform.broker).await {
        println!("hop: {line}");
    }
    let baseline = raw_baseline(&platform.broker, baseline_events).await;
    println!(
        "baseline: raw rdkafka produce+consume through the same broker: {baseline:.0} events/s"
    );
    drop(platform);

    let sustained = sustained(Setup::Shipped).await;
    let ratio = sustained * per_case / baseline;
    println!(
        "pipeline: p50 {:.0} ms, p99 {:.0} ms to closed at {rate:.0}/s; {sustained:.0} complete cases/s sustained; \
         {per_case:.1} events per case; ({sustained:.0} × {per_case:.1}) / {baseline:.0} raw events/s = {ratio:.2}",
        ms(latency.quantile(0.5)),
        ms(latency.quantile(0.99)),
    );
}
