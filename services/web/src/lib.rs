//! The web front end: GOV.UK Design System pages for members of the public
//! (apply for a product through its form, check an application's status).
//!
//! It is thin: it owns no case data, and builds every page from the
//! services' HTTP APIs. It stores only sessions and the answers in progress,
//! in its own database, so any instance can serve any request. Pages work
//! without JavaScript; every form carries the session's CSRF token; the
//! Content-Security-Policy allows one inline script, by its hash.

pub mod accounts;
pub mod assets;
mod calendar;
pub mod clients;
mod desk;
pub mod forms;
mod pages;
mod people;
mod render;
mod session;
mod signin;
mod status;
pub mod tables;

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use casework_products::ProductCatalogue;
use casework_runtime::{RuntimeError, ServiceContext, ServiceParts};

use crate::forms::Forms;
use crate::render::Renderer;
use crate::session::Sessions;
pub use crate::tables::Migrator;

/// The front end's name: its database is `web`.
pub const NAME: &str = "web";

/// What can go wrong in the front end.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A form definition is unusable.
    #[error("form {path}: {why}")]
    Form {
        /// The file.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A template failed to render (a bug: templates are part of the build).
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    /// Its database failed.
    #[error(transparent)]
    Store(#[from] casework_store::StoreError),
    /// A service's API could not be reached or answered nonsense.
    #[error("{0}")]
    Api(String),
    /// The bank holidays file is unusable.
    #[error("bank holidays {0}")]
    Calendar(String),
    /// A local account cannot be made as asked, or its hashing failed.
    #[error("{0}")]
    Account(String),
}

impl From<sea_orm::DbErr> for WebError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Store(err.into())
    }
}

/// The front end's running state, shared by its handlers.
pub(crate) struct Web {
    pub(crate) forms: Forms,
    pub(crate) sessions: Sessions,
    pub(crate) render: Renderer,
    pub(crate) api: Api,
    pub(crate) status_checks_per_minute: u32,
    /// Today, for the dates people type (`clock.today`).
    pub(crate) clock: casework_runtime::Clock,
    /// The products (names and service levels).
    pub(crate) products: Arc<ProductCatalogue>,
    /// Working days, for service levels.
    pub(crate) calendar: calendar::WorkingDays,
    /// Local staff accounts (embedded mode).
    pub(crate) accounts: accounts::Accounts,
    /// Issues platform tokens (embedded) or verifies them (production).
    pub(crate) authenticator: casework_runtime::Authenticator,
    /// The identity provider staff sign in with, when there is one.
    pub(crate) oidc: Option<signin::Oidc>,
    /// `web.sign_in_hours`.
    pub(crate) sign_in_hours: u64,
    /// Department clients (embedded mode's token endpoint).
    pub(crate) clients: clients::Clients,
    /// `auth.client_token_minutes`.
    pub(crate) client_token_minutes: u64,
}

/// Where the services' APIs are, and the client that calls them.
pub(crate) struct Api {
    /// `web.api_url`; empty: the listener this request arrived on; with
    /// `{service}` in it, the service each path names.
    base: String,
    pub(crate) client: reqwest::Client,
}

impl Api {
    /// The URL of `path` (`/api/register/...`) for a request that arrived
    /// on `local` (this process's listener, in `casework up`).
    pub(crate) fn url(&self, req: &actix_web::HttpRequest, path: &str) -> String {
        if self.base.is_empty() {
            // A wildcard listener is reached on loopback, at the same port.
            let mut local = req.app_config().local_addr();
            if local.ip().is_unspecified() {
                local.set_ip(if local.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            format!("http://{local}{path}")
        } else if self.base.contains("{service}") {
            // One address per service (a cluster: a Service per Deployment).
            let service = path
                .strip_prefix("/api/")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default();
            format!("{}{path}", self.base.replace("{service}", service))
        } else {
            format!("{}{path}", self.base)
        }
    }
}

/// Builds the front end: migrates its database, loads the forms (checked
/// against the products' schemas) and returns its pages.
pub async fn build(
    ctx: ServiceContext,
    products: Arc<ProductCatalogue>,
) -> Result<ServiceParts, RuntimeError> {
    ctx.store.migrate::<Migrator>().await?;
    let settings = &ctx.settings.web;
    let forms = Forms::load(&ctx.settings.paths.forms, &products)
        .map_err(|e| RuntimeError::Config(e.to_string()))?;
    let assets = assets::Assets::new(&settings.assets);
    if let Err(why) = assets.check() {
        // The API still works; pages come unstyled. `make` installs them.
        tracing::warn!(%why, "govuk-frontend assets missing: run `npm ci`");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| RuntimeError::Config(format!("web: HTTP client: {e}")))?;
    let sessions = Sessions::new(
        ctx.store.clone(),
        chrono::Duration::minutes(i64::try_from(settings.session_minutes).unwrap_or(60)),
        settings.secure_cookies,
    );
    let calendar = calendar::WorkingDays::load(&ctx.settings.paths.bank_holidays)
        .map_err(|e| RuntimeError::Config(e.to_string()))?;
    if calendar
        .known_until()
        .is_none_or(|last| last < ctx.clock.today() + chrono::Duration::days(180))
    {
        tracing::warn!(path = %ctx.settings.paths.bank_holidays.display(), "bank holidays known for less than six months ahead: update the file from https://www.gov.uk/bank-holidays.json");
    }
    let auth = &ctx.settings.auth;
    let authenticator =
        casework_runtime::Authenticator::from_settings(auth, &ctx.settings.data_dir).await?;
    let oidc = if auth.oidc_issuer.trim().is_empty() {
        None
    } else {
        Some(
            signin::Oidc::discover(auth)
                .await
                .map_err(|e| RuntimeError::Config(e.to_string()))?,
        )
    };
    let accounts = accounts::Accounts::new(
        ctx.store.clone(),
        settings.sign_in_attempts,
        chrono::Duration::minutes(i64::try_from(settings.lockout_minutes).unwrap_or(15)),
    );
    let web_state = web::Data::new(Web {
        forms,
        sessions: sessions.clone(),
        render: Renderer::new().map_err(|e| RuntimeError::Config(e.to_string()))?,
        api: Api {
            base: settings.api_url.trim_end_matches('/').to_owned(),
            client,
        },
        status_checks_per_minute: settings.status_checks_per_minute,
        clock: ctx.clock,
        products,
        calendar,
        accounts,
        authenticator,
        oidc,
        sign_in_hours: settings.sign_in_hours,
        clients: clients::Clients::new(ctx.store.clone()),
        client_token_minutes: auth.client_token_minutes,
    });
    let assets = web::Data::new(assets);
    Ok(ServiceParts {
        name: NAME,
        root: true,
        openapi: pages::openapi(),
        routes: Arc::new(move |cfg: &mut web::ServiceConfig| {
            pages::routes(cfg, web_state.clone(), assets.clone())
        }),
        consumers: Vec::new(),
        tasks: vec![Box::new(move |shutdown| {
            Box::pin(sessions.purge_expired(shutdown))
        })],
        stores: vec![ctx.store],
    })
}

#[cfg(test)]
mod tests {
    use super::Api;

    #[test]
    fn the_api_address_may_name_each_service() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let api = |base: &str| Api {
            base: base.into(),
            client: reqwest::Client::new(),
        };
        assert_eq!(
            api("http://casework-{service}:8080").url(&req, "/api/decide/v1/referrals"),
            "http://casework-decide:8080/api/decide/v1/referrals"
        );
        assert_eq!(
            api("http://services.internal").url(&req, "/api/decide/v1/referrals"),
            "http://services.internal/api/decide/v1/referrals"
        );
    }
}
