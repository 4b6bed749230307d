//! `casework-bus-probe`: a real consumer process for the bus's tests.
//!
//! It consumes `application.received.v1` as the `communicate` service would,
//! through the real [`InboxConsumer`], and records each applied event in a
//! `ledger` table (no unique key, so an event applied twice shows as two rows).
//! The tests start it, SIGKILL it mid-stream, lock its database, and read the
//! ledger back. It is test support, not a service.

// `#[async_trait]` migrations need the elided lifetime (see casework-store).
#![allow(elided_lifetimes_in_paths)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use casework_bus::producer::EventProducer;
use casework_bus::{Assignment, BusSettings, EventHandler, HandlerError, InboxConsumer};
use casework_contracts::{Event, EventType, SchemaRegistry};
use casework_store::migrations::Migration;
use casework_store::{DatabaseSettings, Store};
use clap::Parser;
use sea_orm::{ConnectionTrait, DatabaseTransaction};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{pk_auto, string, string_null};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long)]
    bootstrap: String,
    #[arg(long)]
    prefix: String,
    #[arg(long)]
    database: String,
    #[arg(long)]
    schemas: PathBuf,
    /// Refuse (dead-letter) events about this subject, as a handler's validation would.
    #[arg(long)]
    refuse_subject: Option<String>,
    /// Time taken to apply each event, so a test can kill the process mid-stream.
    #[arg(long, default_value_t = 0)]
    apply_delay_ms: u64,
    #[arg(long, default_value_t = 5000)]
    busy_timeout_ms: u64,
    /// Stable consumer instance name, kept across restarts.
    #[arg(long)]
    instance: Option<String>,
    /// Take every partition directly instead of joining the group (as under `casework up`).
    #[arg(long)]
    assign_all: bool,
    /// Keep request writes coming on the same database, as Register's intake
    /// does, so the consumer keeps giving the writer up mid-batch.
    #[arg(long)]
    competing_requests: bool,
}

struct LedgerHandler {
    refuse_subject: Option<String>,
    apply_delay: Duration,
}

#[async_trait]
impl EventHandler for LedgerHandler {
    async fn handle(&self, txn: &DatabaseTransaction, event: &Event) -> Result<(), HandlerError> {
        if self.refuse_subject.as_deref() == Some(event.subject.as_str()) {
            return Err(HandlerError::Refused(format!(
                "subject {} is on the probe's refusal list",
                event.subject
            )));
        }
        if !self.apply_delay.is_zero() {
            tokio::time::sleep(self.apply_delay).await;
        }
        let backend = txn.get_database_backend();
        let insert = Query::insert()
            .into_table(Ledger::Table)
            .columns([Ledger::EventId, Ledger::Subject, Ledger::Traceparent])
            .values_panic([
                event.id.to_string().into(),
                event.subject.clone().into(),
                event.traceparent.clone().into(),
            ])
            .to_owned();
        txn.execute_raw(backend.build(&insert)).await?;
        Ok(())
    }
}

/// The `ledger` table: one row per application of an event.
#[derive(DeriveIden)]
enum Ledger {
    Table,
    Id,
    EventId,
    Subject,
    Traceparent,
}

casework_store::migrator![
    Migration::new("m20261122_100001_create_probe_ledger").create_table(
        "ledger",
        Table::create()
            .col(pk_auto(Ledger::Id))
            .col(string(Ledger::EventId))
            .col(string(Ledger::Subject))
            .col(string_null(Ledger::Traceparent)),
    )
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // The tests provoke dead letters on purpose; their warnings would only be noise.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut database = DatabaseSettings::new(&args.database);
    database.busy_timeout = Duration::from_millis(args.busy_timeout_ms);
    let store = Store::connect(&database).await?;
    store.migrate::<Migrator>().await?;
    let registry = Arc::new(SchemaRegistry::load(&args.schemas, &[])?);
    let mut settings = BusSettings::new(&args.bootstrap).with_prefix(&args.prefix);
    settings.consumer_instance = args.instance;
    if args.assign_all {
        settings.assignment = Assignment::AllPartitions;
    }
    let producer = EventProducer::new(&settings)?;
    if args.competing_requests {
        let store = store.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(txn) = store.begin_write().await {
                    let _ = txn.execute_unprepared("SELECT 1").await;
                    let _ = store.commit(txn).await;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }
    let consumer = InboxConsumer::new(
        "communicate",
        [EventType::new("application.received.v1")],
        store,
        registry,
        producer,
        settings,
        Arc::new(LedgerHandler {
            refuse_subject: args.refuse_subject,
            apply_delay: Duration::from_millis(args.apply_delay_ms),
        }),
    )?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    println!("probe consuming as {}", consumer.group());
    consumer.run(shutdown).await?;
    Ok(())
}
