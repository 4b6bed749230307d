//! `casework-broker`: the embedded Kafka-protocol broker.
//!
//! Tansu (Apache-2.0) with its SQLite engine, keeping every topic in one file
//! under a data directory. `casework up` and the test harness run it as a child
//! process; it must stay a separate executable because Tansu's libsql and
//! sea-orm's SQLite both define the `sqlite3_*` symbols.
//!
//! We write no broker of our own: this binary only chooses where the data
//! lives, which address to listen on, and when to stop.

use std::path::{Path, PathBuf};

use clap::Parser;
use tansu_broker::{NODE_ID, broker::Broker, coordinator::group::administrator::Controller};
use tansu_storage::StorageContainer;
use tokio::io::AsyncReadExt;
use url::Url;
use uuid::Uuid;

/// The embedded Kafka-protocol broker of the casework platform.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Folder for the broker's SQLite file (created if missing).
    #[arg(long, env = "CASEWORK_BROKER_DATA_DIR", default_value = "data/broker")]
    data_dir: PathBuf,

    /// Address to listen on.
    #[arg(
        long,
        env = "CASEWORK_BROKER_LISTEN",
        default_value = "127.0.0.1:19092"
    )]
    listen: String,

    /// Address advertised to clients (defaults to --listen).
    #[arg(long, env = "CASEWORK_BROKER_ADVERTISE")]
    advertise: Option<String>,

    /// Cluster id; brokers sharing a data directory must agree on it.
    #[arg(long, default_value = "casework")]
    cluster_id: String,

    /// Exit when standard input closes: the parent holds the other end of a
    /// pipe, so the broker never outlives it, even when the parent is killed.
    #[arg(long)]
    exit_with_parent: bool,

    /// Lower this process's CPU priority by this much (0 to 19) before it
    /// starts any thread: `casework up` asks for its background priority,
    /// since the broker only serves relays and consumers.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=19))]
    nice: i32,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CASEWORK_BROKER_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let args = Args::parse();
    // Before the runtime: on Linux each thread has its own nice value, and a
    // new thread inherits its creator's.
    lower_priority(args.nice);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("casework-broker: cannot start its runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(run(args)) {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("casework-broker: {message}");
            1
        }
    };
    // Exit without dropping the runtime: Tansu's tasks are still running
    // and tearing them down can panic in a blocking thread. Every record it
    // acknowledged is already committed to its SQLite file, as after a kill.
    std::process::exit(code)
}

/// Makes the calling thread (and every thread it starts) `by` nicer.
fn lower_priority(by: i32) {
    if by == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let lowered = getpriority_process(None)
            .and_then(|nice| setpriority_process(None, (nice + by).min(19)));
        if let Err(err) = lowered {
            tracing::warn!(error = %err, "could not lower the broker's CPU priority");
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", args.data_dir.display()))?;
    // Tansu resolves a SQLite URL's path against the working directory, so we
    // move there and name the file relatively.
    std::env::set_current_dir(&args.data_dir)
        .map_err(|e| format!("cannot enter {}: {e}", args.data_dir.display()))?;
    let storage = Url::parse("sqlite:///broker.db").map_err(|e| e.to_string())?;
    let listener = tcp_url(&args.listen)?;
    let advertised = tcp_url(args.advertise.as_deref().unwrap_or(&args.listen))?;

    let broker = Broker::<Controller<StorageContainer>, StorageContainer>::builder()
        .node_id(NODE_ID)
        .cluster_id(args.cluster_id)
        .incarnation_id(Uuid::now_v7())
        .advertised_listener(advertised.clone())
        .otlp_endpoint_url(None)
        .schema_registry(None)
        .storage(storage)
        .listener(listener)
        .authentication(false)
        .tls_server_config(None)
        .silent(true)
        .build()
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    // Tansu has created its tables by now; add what its schema lacks.
    tune_storage(Path::new("broker.db")).await?;

    // The supervisor waits for this line before connecting.
    println!("casework-broker listening on {}", args.listen);

    let serve = broker.main(tokio::time::Instant::now());
    if args.exit_with_parent {
        tokio::select! {
            result = serve => result.map(|_| ()).map_err(|e| e.to_string()),
            () = stdin_closed() => Ok(()),
        }
    } else {
        serve.await.map(|_| ()).map_err(|e| e.to_string())
    }
}

/// Indexes Tansu 0.6's SQLite schema lacks.
///
/// `header` has no key: fetching a record's headers scans every header of
/// every topic, so fetches slow down as topics grow (measured: raw rdkafka
/// consumption fell from 645 to 117 records/s between 2,000 and 20,000
/// records of nine CloudEvents headers each). With the index each lookup is
/// a seek. Idempotent; to be offered upstream.
async fn tune_storage(file: &Path) -> Result<(), String> {
    let db = libsql::Builder::new_local(file)
        .build()
        .await
        .map_err(|e| format!("cannot open {}: {e}", file.display()))?;
    let connection = db.connect().map_err(|e| e.to_string())?;
    connection
        .execute(
            "CREATE INDEX IF NOT EXISTS casework_header_record ON header (topition, offset_id)",
            (),
        )
        .await
        .map_err(|e| format!("cannot index the header table: {e}"))?;
    Ok(())
}

async fn stdin_closed() {
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

fn tcp_url(address: &str) -> Result<Url, String> {
    Url::parse(&format!("tcp://{address}")).map_err(|e| format!("bad address `{address}`: {e}"))
}
