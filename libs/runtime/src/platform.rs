//! The start-up path shared by `casework up` and `casework serve`: services
//! are built from a [`ServiceContext`] into [`ServiceParts`], then
//! [`Platform::start`] runs their relays, consumers and routes on one
//! listener, and [`Platform::stop`] drains them in order.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use casework_bus::producer::EventProducer;
use casework_bus::{BusSettings, InboxConsumer, Outbox, OutboxRelay};
use casework_contracts::SchemaRegistry;
use casework_store::Store;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::audit::AuditLog;
use crate::auth::{Authenticator, PolicyTable};
use crate::clock::Clock;
use crate::error::RuntimeError;
use crate::http::{self, HttpState, ServiceDoc, ServiceHealth};
use crate::problem::Problem;
use crate::settings::Settings;

/// Everything a service needs to build itself.
#[derive(Clone)]
pub struct ServiceContext {
    /// The service's name (one of the seven capabilities).
    pub name: &'static str,
    /// The platform's settings.
    pub settings: Arc<Settings>,
    /// Broker settings.
    pub bus: BusSettings,
    /// Every schema and the event catalogue.
    pub registry: Arc<SchemaRegistry>,
    /// The shared producer (dead letters); none in a process that runs no
    /// service, only the web front end, which needs no broker.
    pub producer: Option<EventProducer>,
    /// The service's own database, connected (not yet migrated).
    pub store: Store,
    /// The service's outbox.
    pub outbox: Outbox,
    /// What day it is (`clock.today`).
    pub clock: Clock,
}

impl ServiceContext {
    /// Connects the service's database and prepares its outbox.
    pub async fn new(
        name: &'static str,
        settings: Arc<Settings>,
        registry: Arc<SchemaRegistry>,
        producer: Option<EventProducer>,
    ) -> Result<Self, RuntimeError> {
        let bus = settings.bus();
        let store = Store::connect(&settings.database_for(name)).await?;
        // Its writes are mostly its consumers' (see `background`).
        crate::background::lower_writer_priority(name);
        let outbox = Outbox::new(name, registry.clone(), bus.clone());
        let clock = settings
            .clock()
            .map_err(|why| RuntimeError::Config(format!("clock.today: {why}")))?;
        Ok(Self {
            name,
            settings,
            bus,
            registry,
            producer,
            store,
            outbox,
            clock,
        })
    }

    /// The service's consumer group for these event types, applying them with `handler`.
    pub fn consumer(
        &self,
        handles: impl IntoIterator<Item = casework_contracts::EventType>,
        handler: Arc<dyn casework_bus::EventHandler>,
    ) -> Result<InboxConsumer, RuntimeError> {
        let producer = self.producer.clone().ok_or_else(|| {
            RuntimeError::Config(format!(
                "{}: a consumer needs the broker's producer",
                self.name
            ))
        })?;
        Ok(InboxConsumer::new(
            self.name,
            handles,
            self.store.clone(),
            self.registry.clone(),
            producer,
            self.bus.clone(),
            handler,
        )?)
    }
}

/// Work a service runs in the background for as long as the platform runs
/// (e.g. Register's overdue-step sweep); it must return soon after the token
/// is cancelled.
pub type BackgroundTask =
    Box<dyn FnOnce(CancellationToken) -> futures::future::BoxFuture<'static, ()> + Send>;

/// What a built service brings to the platform.
pub struct ServiceParts {
    /// The service's name.
    pub name: &'static str,
    /// Mounted at the root of the listener (the web front end's pages),
    /// rather than under `/api/<name>` with health endpoints of its own.
    pub root: bool,
    /// Its OpenAPI document (paths relative to `/api/<name>`), whose security
    /// requirements are its access policy.
    pub openapi: utoipa::openapi::OpenApi,
    /// Its routes, mounted under `/api/<name>`.
    pub routes: Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>,
    /// Its consumers.
    pub consumers: Vec<InboxConsumer>,
    /// Its background tasks.
    pub tasks: Vec<BackgroundTask>,
    /// Its databases, its own ([`ServiceContext::store`]) first: each gets an
    /// outbox relay and a readiness check, and is closed on stop.
    pub stores: Vec<Store>,
}

/// The process-wide Prometheus recorder (installed once).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new().install_recorder().unwrap_or_else(|err| {
                // Another recorder owns the process: our series go nowhere.
                tracing::error!(error = %err, "metrics recorder not installed; /metrics will be empty");
                PrometheusBuilder::new().build_recorder().handle()
            })
        })
        .clone()
}

/// Running services: their relays, consumers and HTTP listener.
pub struct Platform {
    /// Where the HTTP listener is bound (port 0 resolved).
    pub address: SocketAddr,
    shutdown: CancellationToken,
    server: actix_web::dev::ServerHandle,
    server_task: JoinHandle<std::io::Result<()>>,
    relays: Vec<JoinHandle<()>>,
    consumers: Vec<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    stores: Vec<Store>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Platform {
    /// Starts the services' routes, on this runtime, and their relays,
    /// consumers and tasks on `background` (see [`crate::background`]).
    pub async fn start(
        settings: &Settings,
        auth: Arc<Authenticator>,
        producer: Option<EventProducer>,
        parts: Vec<ServiceParts>,
        background: &Handle,
    ) -> Result<Platform, RuntimeError> {
        let shutdown = CancellationToken::new();
        let bus = settings.bus();
        let mut policies = PolicyTable::default();
        // The aggregate health endpoints at the root are public like each service's.
        policies.add_openapi("", &<http::HealthApi as utoipa::OpenApi>::openapi());
        let mut relays = Vec::new();
        let mut consumers = Vec::new();
        let mut tasks = Vec::new();
        let mut health = Vec::new();
        let mut mounted = Vec::new();
        let mut stores = Vec::new();
        let mut audit = std::collections::HashMap::new();
        for part in parts {
            let doc = if part.root {
                part.openapi
            } else {
                let mut doc = http::complete_openapi(part.name, part.openapi);
                http::declare_oauth2(&mut doc, &settings.auth.token_url);
                doc
            };
            let prefix = if part.root {
                String::new()
            } else {
                format!("/api/{}", part.name)
            };
            policies.add_openapi(&prefix, &doc);
            // No producer, no events to relay (the web front end alone).
            for store in part.stores.iter().filter(|_| producer.is_some()) {
                let producer = producer.clone().expect("filtered on a producer");
                relays.push(
                    background.spawn(
                        OutboxRelay::new(store.clone(), producer, bus.clone())
                            .named(part.name)
                            .run(shutdown.clone()),
                    ),
                );
            }
            let mut consumer_health = Vec::new();
            for consumer in part.consumers {
                consumer_health.push((consumer.group().to_owned(), consumer.health()));
                let stop = shutdown.clone();
                consumers.push(background.spawn(async move {
                    if let Err(err) = consumer.run(stop).await {
                        tracing::error!(error = %err, "consumer stopped with an error");
                    }
                }));
            }
            for task in part.tasks {
                tasks.push(background.spawn(task(shutdown.clone())));
            }
            health.push(ServiceHealth::new(
                part.name,
                part.stores.clone(),
                consumer_health,
            ));
            if let Some(own) = part.stores.first() {
                audit.insert(part.name.to_owned(), AuditLog::start(own.clone()));
            }
            stores.extend(part.stores);
            mounted.push((
                part.name,
                part.root,
                part.routes,
                web::Data::new(ServiceDoc(doc)),
            ));
        }

        let state = web::Data::new(HttpState {
            auth,
            policies,
            max_body_bytes: settings.http.max_body_bytes,
            services: health,
            metrics: metrics_handle(),
            audit,
            limits: crate::limits::Limits::from_settings(settings),
        });
        let mounted = Arc::new(mounted);
        let server = HttpServer::new(move || {
            let mut app = App::new()
                .app_data(state.clone())
                .wrap(from_fn(http::guard));
            // Services first, so `/api/...` never reaches the root's routes.
            for (name, _, routes, doc) in mounted.iter().filter(|m| !m.1) {
                let routes = routes.clone();
                app = app.service(
                    web::scope(&format!("/api/{name}"))
                        .app_data(doc.clone())
                        // A malformed query string: 400 problem+json, on every service.
                        .app_data(http::query_config())
                        .configure(move |cfg| routes(cfg))
                        .configure(http::health_routes),
                );
            }
            app = app.configure(http::root_routes);
            for (_, _, routes, doc) in mounted.iter().filter(|m| m.1) {
                let routes = routes.clone();
                app = app.app_data(doc.clone()).configure(move |cfg| routes(cfg));
            }
            app.default_service(web::to(|| async {
                Err::<actix_web::HttpResponse, _>(Problem::not_found("no such resource"))
            }))
        })
        .disable_signals()
        .shutdown_timeout(10)
        .bind(&settings.http.listen)
        .map_err(|e| RuntimeError::Io(format!("cannot listen on {}: {e}", settings.http.listen)))?;
        let address = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| RuntimeError::Io("no listening address".into()))?;
        let server = server.run();
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        tracing::info!(%address, "listening");
        Ok(Platform {
            address,
            shutdown,
            server: handle,
            server_task,
            relays,
            consumers,
            tasks,
            stores,
        })
    }

    /// Runs until SIGINT or SIGTERM, then stops in order.
    pub async fn run_until_stopped(self) -> Result<(), RuntimeError> {
        wait_for_signal().await;
        tracing::info!("stopping");
        self.stop().await
    }

    /// Stops accepting requests, then stops consumers (committing their
    /// offsets), then drains the outboxes, then closes the databases.
    pub async fn stop(self) -> Result<(), RuntimeError> {
        self.server.stop(true).await;
        let _ = self.server_task.await;
        self.shutdown.cancel();
        for task in self.consumers {
            let _ = tokio::time::timeout(Duration::from_secs(15), task).await;
        }
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        for task in self.relays {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        for store in self.stores {
            let _ = store.close().await;
        }
        Ok(())
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
