//! `make bench-audit` (part): how long `casework audit verify` takes per
//! million records. Appends `BENCH_RECORDS` (default 1,000,000) records of
//! the shape the services write (one case read, its purpose, the reader's
//! role) to a fresh chain in transactions of 1,000, then walks the chain as
//! `casework audit verify` does, on SQLite with the shipped settings and,
//! when `CASEWORK_TEST_DATABASE_URL` is set, on PostgreSQL.

use std::time::Instant;

use casework_audit::{Action, Entry, Outcome, Subject, append_all, verify};
use casework_testkit::{Backend, migrated_store};
use sea_orm::TransactionTrait;

// The platform's tables alone, as every service's migrator starts.
casework_store::migrator![];

const BATCH: u64 = 1_000;

async fn run(backend: Backend, records: u64) {
    let Some((_db, store)) = migrated_store::<Migrator>(backend).await else {
        println!("{backend:?}: skipped (CASEWORK_TEST_DATABASE_URL is not set)");
        return;
    };
    let started = Instant::now();
    let mut written = 0;
    while written < records {
        let entries: Vec<Entry> = (written..(written + BATCH).min(records))
            .map(|n| Entry {
                who: format!("caseworker-{}", n % 97),
                roles: vec!["role:caseworker".into()],
                action: Action::Read,
                what: vec![Subject::new(
                    "case",
                    format!("VV-{:04}-{:04}-0", n / 10_000, n % 10_000),
                )],
                purpose: "case-review".into(),
                recipient: String::new(),
                outcome: Outcome::Allowed,
            })
            .collect();
        let txn = store.writer().begin().await.expect("begin");
        append_all(&txn, &entries).await.expect("append");
        txn.commit().await.expect("commit");
        written += entries.len() as u64;
    }
    let appended = started.elapsed();
    let started = Instant::now();
    let verified = verify(store.connection()).await.expect("verify");
    let took = started.elapsed();
    assert_eq!(verified.records, records);
    assert!(verified.broken.is_none(), "{:?}", verified.broken);
    let per_million = took.as_secs_f64() * 1_000_000.0 / records as f64;
    println!(
        "{backend:?}: {records} records appended in {:.1} s ({:.0}/s in batches of {BATCH}); \
         verified in {:.2} s = {per_million:.2} s per million ({:.0} records/s)",
        appended.as_secs_f64(),
        records as f64 / appended.as_secs_f64(),
        took.as_secs_f64(),
        records as f64 / took.as_secs_f64(),
    );
}

#[tokio::main]
async fn main() {
    let records = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("audit verify benchmark: {records} records per backend (release build)");
    run(Backend::Sqlite, records).await;
    run(Backend::Postgres, records).await;
}
