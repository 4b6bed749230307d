//! How to reach the broker, and the knobs of the relay and consumers.

use std::time::Duration;

/// Broker connection and delivery settings shared by every service.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// Kafka bootstrap servers, e.g. `127.0.0.1:19092` (the embedded broker)
    /// or a real cluster's list.
    pub bootstrap_servers: String,
    /// Put before every topic and consumer group name; tests use a unique one
    /// per test so runs never collide. Empty in production.
    pub topic_prefix: String,
    /// This process's stable name within each consumer group (Kafka static
    /// membership, `group.instance.id`): a restarted process with the same
    /// name takes over its predecessor's partitions at once instead of
    /// waiting for the broker to notice the old member died. Use the pod name
    /// in a cluster; `None` makes every start a new member.
    pub consumer_instance: Option<String>,
    /// How consumers get their partitions.
    pub assignment: Assignment,
    /// Partitions of each topic created at start.
    pub partitions: i32,
    /// Replication factor of each topic created at start.
    pub replication: i32,
    /// Most records a consumer applies in one transaction.
    pub consumer_batch: usize,
    /// Longest a consumer's fetch may wait at the broker for records
    /// (`fetch.wait.max.ms`). The broker answers as soon as records arrive
    /// (the embedded one too, with its patched storage), so this only sets
    /// how often an idle consumer asks.
    pub fetch_wait: Duration,
    /// Most outbox rows the relay publishes per round.
    pub relay_batch: u64,
    /// How often the relay looks for rows even when not woken.
    pub relay_poll: Duration,
    /// Longest a sent row waits to be marked published (see [`crate::OutboxRelay`]).
    pub relay_mark_interval: Duration,
    /// How long published outbox rows are kept before pruning.
    pub outbox_retention: Duration,
    /// First and largest wait between retries of a transient failure.
    pub retry_backoff: (Duration, Duration),
}

/// How a service's consumer gets its partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assignment {
    /// Join the service's consumer group and take the partitions the group
    /// gives it: the way to run several instances of a service.
    #[default]
    Group,
    /// Take every partition of its topics directly, without group membership,
    /// still committing offsets under the service's group id. Only correct
    /// when this process is the service's one instance, as with the embedded
    /// broker under `casework up`; it is then ready at once instead of after
    /// the broker's join pauses.
    AllPartitions,
}

impl BusSettings {
    /// Shipped defaults against the given bootstrap servers.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            topic_prefix: String::new(),
            consumer_instance: None,
            assignment: Assignment::Group,
            partitions: 3,
            replication: 1,
            consumer_batch: 500,
            fetch_wait: Duration::from_millis(500),
            relay_batch: 1000,
            relay_poll: Duration::from_secs(1),
            relay_mark_interval: Duration::from_secs(1),
            outbox_retention: Duration::from_secs(24 * 3600),
            retry_backoff: (Duration::from_millis(100), Duration::from_secs(10)),
        }
    }

    /// The same settings with a topic and group prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.topic_prefix = prefix.into();
        self
    }

    /// A topic or group name with the prefix applied.
    pub fn prefixed(&self, name: &str) -> String {
        format!("{}{name}", self.topic_prefix)
    }

    /// The consumer group of a service.
    pub fn consumer_group(&self, service: &str) -> String {
        self.prefixed(&format!("casework.{service}"))
    }
}

/// The client configuration every producer, consumer and admin client starts
/// from. `CASEWORK_KAFKA_DEBUG` (e.g. `consumer,fetch`) turns on librdkafka's
/// own debug contexts, logged through `tracing`.
pub(crate) fn client_config(settings: &BusSettings) -> rdkafka::ClientConfig {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", &settings.bootstrap_servers);
    if let Ok(contexts) = std::env::var("CASEWORK_KAFKA_DEBUG") {
        config.set("debug", contexts);
    }
    config
}

/// Exponential backoff between retries of a transient failure.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
    max: Duration,
    first: Duration,
}

impl Backoff {
    pub(crate) fn new((first, max): (Duration, Duration)) -> Self {
        Self {
            next: first,
            max,
            first,
        }
    }

    /// The wait before the next attempt; doubles each time up to the maximum.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.first;
    }
}
