//! `casework`: the one command of the platform.
//!
//! - `casework up`: the whole platform in one process, with the embedded
//!   broker as a supervised child process and SQLite under a data directory.
//! - `casework serve <service>`: one service per process, against a
//!   configured Kafka and database (what a cluster deployment runs).
//! - `casework migrate`, `casework token`, `casework dlq`, `casework user`,
//!   `casework client`, `casework audit`.
//!
//! Both run modes share one start-up path ([`casework_runtime::Platform`]);
//! services talk only through the broker and HTTP in either.

mod broker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use casework_bus::producer::EventProducer;
use casework_contracts::Service;
use casework_platform::{serve, services};
use casework_runtime::{Authenticator, RuntimeError, Settings, telemetry};
use clap::{Parser, Subcommand};
use tokio::runtime::Handle;

use crate::broker::BrokerSupervisor;

/// The casework platform.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Folder of configuration files (`*.toml`, read in name order).
    #[arg(
        long,
        global = true,
        env = "CASEWORK_CONFIG_DIR",
        default_value = "config"
    )]
    config: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service and the embedded broker on this machine.
    Up {
        /// Where to keep data (SQLite files, broker data, signing key).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// HTTP address.
        #[arg(long)]
        listen: Option<String>,
        /// Embedded broker address.
        #[arg(long)]
        broker_listen: Option<String>,
    },
    /// Run one service against the configured Kafka and database, or the
    /// web front end (`web`) against the services' URLs (`web.api_url`).
    Serve {
        /// register, communicate, ..., or web
        service: String,
        /// HTTP address.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply every service's database migrations, then exit.
    Migrate {
        /// Where SQLite files are (embedded mode).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Load synthetic demo records (warnings, criminal records, lost and
    /// stolen documents) into Investigate; running it again adds nothing.
    Seed {
        /// Where SQLite files are (embedded mode).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// How many generated people besides the named demo identities.
        #[arg(long, default_value_t = 200)]
        people: usize,
    },
    /// Inspect and re-drive dead letters.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Manage the web front end's local staff accounts (embedded mode;
    /// with `auth.oidc_issuer` set, staff sign in at the identity provider).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Register another department's system as an OAuth client (embedded
    /// mode; with `auth.jwks_url` set, the identity provider registers them).
    Client {
        #[command(subcommand)]
        action: ClientAction,
    },
    /// The audit trail: `casework audit verify` walks every database's
    /// chain and names the first broken link (exit status 1 if any).
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Print a token signed with the embedded signing key.
    Token {
        /// Where the signing key is.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A role: caseworker, senior-caseworker, officer, auditor, admin.
        #[arg(long, required_unless_present = "scope")]
        role: Vec<String>,
        /// A department scope.
        #[arg(long)]
        scope: Vec<String>,
        /// Who the token is for.
        #[arg(long, default_value = "casework-cli")]
        sub: String,
        /// Hours until it expires.
        #[arg(long, default_value_t = 8)]
        hours: u64,
    },
}

#[derive(Debug, Subcommand)]
enum AuditAction {
    /// Check every link of every database's audit chain.
    Verify {
        /// Where SQLite files are (embedded mode).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ClientAction {
    /// Make a client; prints its id and secret (the secret only now: it is
    /// kept hashed). It gets tokens from `POST /oauth/token` with the
    /// client-credentials grant.
    Add {
        /// The client id (lower-case letters, digits, `-`).
        name: String,
        /// A scope it may ask for: hmpo, identity-check, records-import, ...
        #[arg(long, required = true)]
        scope: Vec<String>,
        /// Where SQLite files are (embedded mode).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Make an account. Asks for the password (twice) on a terminal, or
    /// reads one line from standard input; there is no default password.
    Add {
        /// The user name they sign in with.
        name: String,
        /// A role: caseworker, senior-caseworker, officer, auditor, admin.
        #[arg(long, required = true)]
        role: Vec<String>,
        /// Where SQLite files are (embedded mode).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum DlqAction {
    /// List the dead letters of a service's topic (`casework.<service>.dlq`).
    List {
        /// The producing service whose topic the records came from.
        service: String,
    },
    /// Re-send dead letters to their original topic; consumers that already
    /// applied them skip them, the one that failed tries again.
    Replay {
        /// The producing service whose topic the records came from.
        service: String,
        /// DLQ positions as `partition:offset` (from `list`).
        #[arg(long = "at", required_unless_present = "all")]
        at: Vec<String>,
        /// Every dead letter of the topic.
        #[arg(long, conflicts_with = "at")]
        all: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("casework: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let background = match casework_runtime::background::runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("casework: cannot start the background runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli, background.handle()));
    // Everything on it was stopped by `run`; don't wait for stragglers.
    background.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("casework: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a command; services run their background work on `background`.
async fn run(cli: Cli, background: &Handle) -> Result<(), RuntimeError> {
    let mut settings = Settings::load(&cli.config)?;
    match cli.command {
        Command::Up {
            data_dir,
            listen,
            broker_listen,
        } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            if let Some(listen) = listen {
                settings.http.listen = listen;
            }
            if let Some(listen) = broker_listen {
                settings.broker.listen = listen;
            }
            up(settings, background).await
        }
        Command::Serve { service, listen } => {
            if let Some(listen) = listen {
                settings.http.listen = listen;
            }
            let _telemetry = telemetry::init(&settings.telemetry, &service)?;
            if service == casework_web::NAME {
                return serve(Arc::new(settings), &[], true, background)
                    .await?
                    .run_until_stopped()
                    .await;
            }
            let named = services::named(&service)?;
            if settings.uses_embedded_broker() {
                return Err(RuntimeError::Config(
                    "casework serve needs kafka.bootstrap_servers (CASEWORK__KAFKA__BOOTSTRAP_SERVERS); use `casework up` for the embedded broker".into(),
                ));
            }
            serve(Arc::new(settings), &[named], false, background)
                .await?
                .run_until_stopped()
                .await
        }
        Command::Migrate { data_dir } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            for database in services::databases() {
                let target = settings.database_for(database);
                let store = casework_store::Store::connect(&target).await?;
                services::migrate(database, &store).await?;
                match (&target.schema, settings.database.app_role.as_str()) {
                    (Some(schema), role) if !role.is_empty() => {
                        store.grant_to(schema, role).await?;
                        println!(
                            "{database}: migrated; `{role}` may append to its audit trail, not change it"
                        );
                    }
                    _ => println!("{database}: migrated"),
                }
            }
            Ok(())
        }
        Command::Seed { data_dir, people } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            let store =
                casework_store::Store::connect(&settings.database_for(casework_investigate::NAME))
                    .await?;
            services::migrate(casework_investigate::NAME, &store).await?;
            let tables =
                casework_disclosure::RehabilitationTables::load(&settings.paths.rehabilitation)
                    .map_err(|e| RuntimeError::Config(format!("paths.rehabilitation: {e}")))?;
            let today = settings.clock().map_err(RuntimeError::Config)?.today();
            let report = casework_investigate::seed(&store, people, tables.latest(), today)
                .await
                .map_err(|e| RuntimeError::Io(format!("seed: {e}")))?;
            println!(
                "seeded Investigate: {} warnings, {} criminal records, {} lost or stolen documents ({} already there)",
                report.warnings,
                report.criminal_records,
                report.lost_stolen_documents,
                report.already_present
            );
            Ok(())
        }
        Command::Dlq { action } => dlq(&settings, action).await,
        Command::User {
            action:
                UserAction::Add {
                    name,
                    role,
                    data_dir,
                },
        } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            let password = read_password()?;
            let store =
                casework_store::Store::connect(&settings.database_for(casework_web::NAME)).await?;
            services::migrate(casework_web::NAME, &store).await?;
            let accounts = casework_web::accounts::Accounts::new(
                store,
                settings.web.sign_in_attempts,
                chrono::Duration::minutes(1),
            );
            accounts
                .add(&name, &role, &password)
                .await
                .map_err(|e| RuntimeError::Config(e.to_string()))?;
            println!(
                "user `{}` added with roles {}",
                name.trim().to_lowercase(),
                role.join(", ")
            );
            Ok(())
        }
        Command::Client {
            action:
                ClientAction::Add {
                    name,
                    scope,
                    data_dir,
                },
        } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            let store =
                casework_store::Store::connect(&settings.database_for(casework_web::NAME)).await?;
            services::migrate(casework_web::NAME, &store).await?;
            let secret = casework_web::clients::Clients::new(store)
                .add(&name, &scope)
                .await
                .map_err(|e| RuntimeError::Config(e.to_string()))?;
            println!("client_id={name}\nclient_secret={secret}");
            eprintln!(
                "client `{name}` added with scopes {}; the secret is not shown again",
                scope.join(", ")
            );
            Ok(())
        }
        Command::Audit {
            action: AuditAction::Verify { data_dir },
        } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            let mut broken = 0;
            for database in services::databases() {
                let started = std::time::Instant::now();
                let store =
                    casework_store::Store::connect(&settings.database_for(database)).await?;
                services::migrate(database, &store).await?;
                let checked = casework_audit::verify(store.connection())
                    .await
                    .map_err(|e| RuntimeError::Io(format!("{database}: {e}")))?;
                let took = started.elapsed().as_secs_f64();
                match checked.broken {
                    None => println!(
                        "{database}: {} records, every link holds ({took:.2} s)",
                        checked.records
                    ),
                    Some((seq, why)) => {
                        broken += 1;
                        println!(
                            "{database}: BROKEN at record {seq}: {why} ({} records before it hold)",
                            checked.records
                        );
                    }
                }
            }
            if broken > 0 {
                return Err(RuntimeError::Config(format!(
                    "{broken} audit chain(s) broken"
                )));
            }
            Ok(())
        }
        Command::Token {
            data_dir,
            role,
            scope,
            sub,
            hours,
        } => {
            if let Some(dir) = data_dir {
                settings.data_dir = dir;
            }
            for role in &role {
                if !casework_runtime::auth::ROLES.contains(&role.as_str()) {
                    return Err(RuntimeError::Config(format!(
                        "unknown role `{role}`; roles are {:?}",
                        casework_runtime::auth::ROLES
                    )));
                }
            }
            let auth = Authenticator::embedded(
                &settings.data_dir,
                &settings.auth.issuer,
                &settings.auth.audience,
            )?;
            println!(
                "{}",
                auth.issue(&sub, &role, &scope, Duration::from_secs(hours * 3600))?
            );
            Ok(())
        }
    }
}

/// A new password: asked twice on a terminal (not echoed), else the first
/// line of standard input (scripts, tests).
fn read_password() -> Result<String, RuntimeError> {
    use std::io::IsTerminal;
    let io = |e: std::io::Error| RuntimeError::Io(format!("reading the password: {e}"));
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(io)?;
        let again = rpassword::prompt_password("Password again: ").map_err(io)?;
        if first != again {
            return Err(RuntimeError::Config("the passwords differ".into()));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(io)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `casework dlq list|replay`.
async fn dlq(settings: &Settings, action: DlqAction) -> Result<(), RuntimeError> {
    use casework_bus::dead_letter;
    use casework_contracts::catalogue::dead_letter_topic;
    let service = match &action {
        DlqAction::List { service } | DlqAction::Replay { service, .. } => service.clone(),
    };
    let named = services::named(&service)?;
    let bus = settings.bus();
    let topic = dead_letter_topic(&bus.prefixed(&named.topic()));
    let letters = dead_letter::list(&bus, &topic).await?;
    match action {
        DlqAction::List { .. } => {
            println!("{} dead letter(s) in {topic}", letters.len());
            for l in &letters {
                println!(
                    "{}:{}  group={}  from={}[{}]@{}  failed_at={}  error={}",
                    l.dlq_partition,
                    l.dlq_offset,
                    l.consumer_group,
                    l.topic,
                    l.partition,
                    l.offset,
                    l.failed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    l.error
                );
            }
            Ok(())
        }
        DlqAction::Replay { at, all, .. } => {
            let producer = EventProducer::new(&bus)?;
            let chosen: Vec<_> = letters
                .iter()
                .filter(|l| all || at.contains(&format!("{}:{}", l.dlq_partition, l.dlq_offset)))
                .collect();
            if chosen.is_empty() {
                return Err(RuntimeError::Config(format!(
                    "no dead letter at {at:?} in {topic}; see `casework dlq list {service}`"
                )));
            }
            for letter in chosen {
                dead_letter::replay(&producer, letter).await?;
                println!(
                    "replayed {}:{} to {}",
                    letter.dlq_partition, letter.dlq_offset, letter.topic
                );
            }
            Ok(())
        }
    }
}

/// `casework up`: the embedded broker, then every service on one listener.
async fn up(settings: Settings, background: &Handle) -> Result<(), RuntimeError> {
    let _telemetry = telemetry::init(&settings.telemetry, "casework")?;
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| RuntimeError::Io(format!("{}: {e}", settings.data_dir.display())))?;
    let broker = if settings.uses_embedded_broker() {
        Some(
            BrokerSupervisor::start(
                settings.data_dir.join("broker"),
                settings.broker.listen.clone(),
            )
            .await
            .map_err(RuntimeError::Io)?,
        )
    } else {
        None
    };
    let settings = Arc::new(settings);
    let result = match serve(settings, Service::ALL, true, background).await {
        Ok(platform) => platform.run_until_stopped().await,
        Err(err) => Err(err),
    };
    if let Some(broker) = broker {
        broker.stop().await;
    }
    result
}
