//! Communicate: tells applicants what is happening to their case, by email,
//! SMS or letter, from templates, through providers; records every
//! notification and its delivery status.
//!
//! It acts only on `communicate.requested` (Register decides when to tell
//! whom) and sends exactly one notification per milestone per case, however
//! often a request is delivered. It must never decide anything about a case.

use std::path::Path;
use std::sync::Arc;

use actix_web::{HttpResponse, web};
use async_trait::async_trait;
use casework_bus::{EventHandler, HandlerError, Outbox};
use casework_contracts::payloads::{CommunicateRequested, NotificationSent, Payload};
use casework_contracts::{Event, EventType};
use casework_runtime::http::CaseQuery;
use casework_runtime::{Problem, RuntimeError, ServiceContext, ServiceParts, telemetry};
use casework_store::Store;
use casework_store::migrations::{Migration, col};
use chrono::{SecondsFormat, SubsecRound, Utc};
use minijinja::Environment;
use sea_orm::entity::prelude::*;
use sea_orm::{QueryOrder, Set};
use sea_orm_migration::prelude::Table;
use sea_orm_migration::schema::{string, text, timestamp_with_time_zone};
use serde::Serialize;
use utoipa::OpenApi;

/// The service's name.
pub const NAME: &str = casework_contracts::Service::Communicate.as_str();
/// The provider that records messages in the database instead of sending
/// them (embedded mode; GOV.UK Notify comes with its own issue).
pub const BUILT_IN_PROVIDER: &str = "built-in";

/// A row of `notifications`: one message to one person about one milestone.
pub mod notification {
    use sea_orm::entity::prelude::*;

    /// A notification.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "notifications")]
    pub struct Model {
        /// Its id, also the stable id a provider uses to drop duplicates.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The case.
        pub case_id: String,
        /// The case reference.
        pub reference: String,
        /// The milestone; one notification per milestone per case.
        pub milestone: String,
        /// `email`, `sms` or `letter`.
        pub channel: String,
        /// Where it went.
        pub recipient: String,
        /// The subject line.
        pub subject: String,
        /// The rendered text.
        pub body: String,
        /// Which provider took it.
        pub provider: String,
        /// `sent`, `delivered`, `failed`.
        pub status: String,
        /// When it was handed to the provider.
        pub sent_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

// Communicate's migrator.
casework_store::migrator![
    Migration::new("m20261122_200001_create_notifications")
        .create_table(
            "notifications",
            Table::create()
                .col(string(col("id")).primary_key())
                .col(string(col("case_id")))
                .col(string(col("reference")))
                .col(string(col("milestone")))
                .col(string(col("channel")))
                .col(string(col("recipient")))
                .col(text(col("subject")))
                .col(text(col("body")))
                .col(string(col("provider")))
                .col(string(col("status")))
                .col(timestamp_with_time_zone(col("sent_at"))),
        )
        // Exactly one notification per milestone per case.
        .unique_index("notifications_case_milestone", &["case_id", "milestone"])
        .index("notifications_reference", &["reference"]),
];

/// Loads every template under `dir` (`<product>/<milestone>.txt`), checking
/// that each parses. A template's first line is `Subject: ...`.
pub fn load_templates(dir: &Path) -> Result<Environment<'static>, RuntimeError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let products = std::fs::read_dir(dir)
        .map_err(|e| RuntimeError::Config(format!("paths.templates {}: {e}", dir.display())))?;
    for product in products
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
    {
        let product_name = product.file_name().to_string_lossy().into_owned();
        let files = std::fs::read_dir(product.path())
            .map_err(|e| RuntimeError::Config(format!("{}: {e}", product.path().display())))?;
        for file in files.filter_map(Result::ok) {
            let path = file.path();
            if path.extension().is_none_or(|ext| ext != "txt") {
                continue;
            }
            let milestone = path.file_stem().unwrap_or_default().to_string_lossy();
            let source = std::fs::read_to_string(&path)
                .map_err(|e| RuntimeError::Config(format!("{}: {e}", path.display())))?;
            if !source.starts_with("Subject:") {
                return Err(RuntimeError::Config(format!(
                    "{}: a template starts with a `Subject:` line",
                    path.display()
                )));
            }
            env.add_template_owned(format!("{product_name}/{milestone}"), source)
                .map_err(|e| RuntimeError::Config(format!("{}: {e}", path.display())))?;
        }
    }
    Ok(env)
}

struct Communicate {
    store: Store,
}

/// The event types Communicate's consumer handles.
pub const CONSUMES: [&str; 1] = [CommunicateRequested::TYPE];

/// Builds Communicate: migrates its database and returns its routes and consumer.
pub async fn build(ctx: ServiceContext) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    let templates = Arc::new(load_templates(&ctx.settings.paths.templates)?);
    let consumer = ctx.consumer(
        CONSUMES.map(EventType::new),
        Arc::new(Notifier {
            templates,
            outbox: ctx.outbox.clone(),
        }),
    )?;
    let state = web::Data::new(Communicate {
        store: ctx.store.clone(),
    });
    Ok(ServiceParts {
        root: false,
        name: NAME,
        openapi: CommunicateApi::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(state.clone())
                .route("/v1/notifications", web::get().to(list_notifications));
        }),
        consumers: vec![consumer],
        tasks: Vec::new(),
        stores: vec![ctx.store],
    })
}

/// Communicate's API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Communicate", description = "Notifications to applicants."),
    paths(list_notifications),
    components(schemas(NotificationView, Problem))
)]
pub struct CommunicateApi;

/// A notification as caseworkers see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: String,
    /// The case reference.
    pub reference: String,
    /// The milestone.
    pub milestone: String,
    /// The channel.
    pub channel: String,
    /// The recipient.
    pub recipient: String,
    /// The subject line.
    pub subject: String,
    /// The text.
    pub body: String,
    /// The provider.
    pub provider: String,
    /// Delivery status.
    pub status: String,
    /// When it was sent.
    pub sent_at: String,
}

/// The notifications sent about a case.
#[utoipa::path(
    get,
    path = "/v1/notifications",
    tag = "notifications",
    security(("bearer" = ["role:caseworker", "role:senior-caseworker", "role:auditor"])),
    params(CaseQuery),
    responses((status = 200, body = Vec<NotificationView>), (status = 401, body = Problem), (status = 403, body = Problem))
)]
async fn list_notifications(
    req: actix_web::HttpRequest,
    query: web::Query<CaseQuery>,
    state: web::Data<Communicate>,
) -> Result<HttpResponse, Problem> {
    let reference = query.reference();
    let rows = notification::Entity::find()
        .filter(notification::Column::Reference.eq(&reference))
        .order_by_asc(notification::Column::SentAt)
        .all(state.store.connection())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot list notifications");
            Problem::unavailable("the notification store is unavailable")
        })?;
    let ids = rows.iter().map(|n| n.id.clone());
    casework_runtime::audit::read_case_and(&req, reference, "notification", ids).await?;
    Ok(HttpResponse::Ok().json(
        rows.into_iter()
            .map(|n| NotificationView {
                id: n.id,
                reference: n.reference,
                milestone: n.milestone,
                channel: n.channel,
                recipient: n.recipient,
                subject: n.subject,
                body: n.body,
                provider: n.provider,
                status: n.status,
                sent_at: n.sent_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            })
            .collect::<Vec<_>>(),
    ))
}

/// Turns `communicate.requested` into one notification per milestone per case.
struct Notifier {
    templates: Arc<Environment<'static>>,
    outbox: Outbox,
}

#[async_trait]
impl EventHandler for Notifier {
    async fn handle(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        event: &Event,
    ) -> Result<(), HandlerError> {
        let request: CommunicateRequested = event.payload().map_err(HandlerError::Refused)?;
        let case_id = request.case_id.to_string();
        let milestone = request.milestone.clone();
        let already = notification::Entity::find()
            .filter(notification::Column::CaseId.eq(&case_id))
            .filter(notification::Column::Milestone.eq(&milestone))
            .one(txn)
            .await?;
        if already.is_some() {
            tracing::info!(%case_id, %milestone, "notification already sent; not sending again");
            return Ok(());
        }
        let template_name = &request.template;
        let template = self
            .templates
            .get_template(template_name)
            .map_err(|_| HandlerError::Refused(format!("no template `{template_name}`")))?;
        let rendered = template
            .render(&request.personalisation)
            .map_err(|e| HandlerError::Refused(format!("template `{template_name}`: {e}")))?;
        let (subject, body) = rendered
            .split_once('\n')
            .map(|(first, rest)| (first.trim_start_matches("Subject:").trim(), rest.trim()))
            .unwrap_or((rendered.as_str(), ""));
        let id = uuid::Uuid::now_v7().to_string();
        let now = Utc::now();
        notification::ActiveModel {
            id: Set(id.clone()),
            case_id: Set(case_id.clone()),
            reference: Set(request.reference.clone()),
            milestone: Set(milestone.clone()),
            channel: Set("email".into()),
            recipient: Set(request.recipient.email.clone()),
            subject: Set(subject.to_owned()),
            body: Set(body.to_owned()),
            provider: Set(BUILT_IN_PROVIDER.into()),
            status: Set("sent".into()),
            sent_at: Set(now),
        }
        .insert(txn)
        .await?;
        let mut sent = Event::of(
            self.outbox.source(),
            &NotificationSent {
                case_id: request.case_id,
                reference: request.reference,
                milestone,
                notification_id: id,
                channel: "email".into(),
                provider: BUILT_IN_PROVIDER.into(),
                sent_at: now.trunc_subsecs(3),
            },
        );
        sent.traceparent = event
            .traceparent
            .clone()
            .or_else(telemetry::current_traceparent);
        self.outbox.append(txn, [sent]).await?;
        Ok(())
    }
}
