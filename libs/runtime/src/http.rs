//! The HTTP side of every service: one listener, each service under
//! `/api/<service>/` with `livez`, `readyz`, `metrics` and `openapi.json`,
//! the aggregate `/readyz` and `/metrics` at the root, access control on
//! every route, request metrics and trace context.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures::StreamExt;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::Value;
use utoipa::OpenApi;

use crate::auth::{Authenticator, BEARER, Policy, PolicyTable};
use crate::problem::Problem;
use crate::telemetry;

/// What every request handler can reach through `web::Data`.
pub struct HttpState {
    /// Token verification.
    pub auth: Arc<Authenticator>,
    /// The policy of every route.
    pub policies: PolicyTable,
    /// Largest body accepted.
    pub max_body_bytes: usize,
    /// The services served here, for readiness and per-service metrics.
    pub services: Vec<ServiceHealth>,
    /// Renders the Prometheus metrics.
    pub metrics: PrometheusHandle,
    /// Each service's audit trail, by service name.
    pub audit: std::collections::HashMap<String, crate::audit::AuditLog>,
    /// Per-address and per-client request limits.
    pub limits: crate::limits::Limits,
}

/// The endpoints every service has, documented once and public.
#[derive(OpenApi)]
#[openapi(paths(livez, readyz, metrics, openapi_json, crate::audit::audit_records))]
pub struct HealthApi;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/livez", tag = "health", security(()), responses((status = 200, description = "alive")))]
async fn livez() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "alive"}))
}

/// Readiness: the database answers and every consumer has its partitions.
#[utoipa::path(get, path = "/readyz", tag = "health", security(()), responses((status = 200, description = "ready"), (status = 503, description = "not ready, with the reasons")))]
async fn readyz(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    let name = service_of(&req);
    let services = state
        .services
        .iter()
        .filter(|s| name.as_deref().is_none_or(|n| s.name == n));
    readiness(services).await
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "health", security(()), responses((status = 200, description = "metrics")))]
async fn metrics(req: HttpRequest, state: web::Data<HttpState>) -> HttpResponse {
    let all = state.metrics.render();
    let body = match service_of(&req) {
        None => all,
        // A service's own series, plus the help and type lines they need.
        Some(name) => {
            let label = format!("service=\"{name}\"");
            all.lines()
                .filter(|line| line.starts_with('#') || line.contains(&label))
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(body)
}

/// This service's OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "health", security(()), responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json(doc: web::Data<ServiceDoc>) -> HttpResponse {
    HttpResponse::Ok().json(&doc.0)
}

/// A service's OpenAPI document, served at its `openapi.json`.
pub struct ServiceDoc(pub utoipa::openapi::OpenApi);

/// A service's document with the health endpoints and the bearer scheme added.
pub fn complete_openapi(name: &str, mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
    doc.merge(HealthApi::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    doc.servers = Some(vec![utoipa::openapi::Server::new(format!("/api/{name}"))]);
    declare_errors(doc)
}

/// Every error answer as the server sends it: `application/problem+json`
/// (handlers declare `body = Problem`, which utoipa files under JSON), and
/// the ones the guard adds to any route: 401 and 403 where a token is
/// needed, 429 where a limit applies (public writes, department scopes),
/// and a `default` for the rest (a busy database's 503, a body too large).
fn declare_errors(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    crate::problem::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (operation, writes) in operations {
            let Some(operation) = operation else { continue };
            let responses = &mut operation.responses.responses;
            for (code, response) in responses.iter_mut() {
                let error = code.starts_with('4') || code.starts_with('5');
                if let (true, RefOr::T(response)) = (error, response)
                    && let Some(json) = response.content.shift_remove("application/json")
                {
                    response
                        .content
                        .insert(crate::problem::PROBLEM_JSON.into(), json);
                }
            }
            let policy = operation
                .security
                .as_deref()
                .map_or(Policy::Undeclared, crate::auth::policy_of);
            let public = policy == Policy::Public;
            let scoped = matches!(&policy, Policy::Grants(grants) if grants.iter().any(|g| g.starts_with("scope:")));
            let mut add = |code: &str, description: &str| {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| problem(description));
            };
            if !public {
                add("401", "No valid bearer token");
                add("403", "The token lacks the grants this operation needs");
            }
            if scoped || (public && writes) {
                add(
                    "429",
                    "Over the client's quota or the address's limit; see Retry-After",
                );
            }
            add("default", "Any other error, as problem+json");
        }
    }
    doc
}

/// The name of the OAuth 2.0 security scheme (department clients).
pub const OAUTH2: &str = "oauth2";

/// Declares the OAuth 2.0 client-credentials flow (`auth.token_url`) a
/// department follows for a token, and on each operation a department scope
/// opens, that scope under it. The policy stays the `bearer` requirement's.
pub fn declare_oauth2(doc: &mut utoipa::openapi::OpenApi, token_url: &str) {
    use utoipa::openapi::security::{
        ClientCredentials, Flow, OAuth2, Scopes, SecurityRequirement, SecurityScheme,
    };
    let mut all = std::collections::BTreeSet::new();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            let Some(requirements) = operation.security.as_mut() else {
                continue;
            };
            let Policy::Grants(grants) = crate::auth::policy_of(requirements) else {
                continue;
            };
            let scopes: Vec<String> = grants
                .iter()
                .filter_map(|g| g.strip_prefix("scope:"))
                .map(str::to_owned)
                .collect();
            if !scopes.is_empty() {
                all.extend(scopes.iter().cloned());
                requirements.push(SecurityRequirement::new(OAUTH2, scopes));
            }
        }
    }
    if all.is_empty() {
        return;
    }
    let scopes = Scopes::from_iter(
        all.iter()
            .map(|s| (s.clone(), format!("the department scope `{s}`"))),
    );
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            OAUTH2,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(token_url, scopes))],
                "Departments' systems: the client-credentials grant (embedded mode: `casework client add`)",
            )),
        );
}

/// Adds the health endpoints to a service's scope.
pub fn health_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/livez", web::get().to(livez))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi_json))
        .route(
            "/v1/audit-records",
            web::get().to(crate::audit::audit_records),
        );
}

/// Adds the aggregate endpoints at the root.
pub fn root_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/livez", web::get().to(livez));
}

async fn readiness<'a>(services: impl Iterator<Item = &'a ServiceHealth>) -> HttpResponse {
    let mut problems = Vec::new();
    for service in services {
        problems.extend(service.problems().await);
    }
    if problems.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "not ready", "problems": problems}))
    }
}

/// `register` for a request under `/api/register/...`.
fn service_of(req: &HttpRequest) -> Option<String> {
    req.path()
        .strip_prefix("/api/")
        .and_then(|rest| rest.split('/').next())
        .map(str::to_owned)
}

/// The one middleware on every route: trace context in, then the route's
/// policy (deny by default), then request metrics out.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let span = tracing::info_span!("http", method = %req.method(), path = %req.path(), status = tracing::field::Empty);
    telemetry::set_remote_parent(
        &span,
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    let pattern = req.match_pattern();
    let state = req
        .app_data::<web::Data<HttpState>>()
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorInternalServerError("http state missing"))?;
    if let Some(pattern) = &pattern {
        let policy = state
            .policies
            .policy(req.method().as_str(), pattern)
            .clone();
        if policy == Policy::Undeclared {
            // A path the documents know, asked with a method they do not
            // list (TRACE, say): 405, not the refusal of an unclassified route.
            let allowed = state.policies.methods(pattern);
            if !allowed.is_empty() {
                return Err(Problem::method_not_allowed(&allowed).into());
            }
        }
        if let Err(problem) = authorize(&state.auth, &policy, &req).await {
            tracing::info!(parent: &span, method = %req.method(), path = %req.path(), problem = %problem, "request refused");
            crate::audit::refused(&state, &req).await;
            return Err(problem.into());
        }
        limit(&state, &policy, &req)?;
    }
    let method = req.method().to_string();
    let service = service_of(req.request()).unwrap_or_default();
    let response = tracing::Instrument::instrument(next.call(req), span.clone()).await?;
    let status = response.status().as_u16();
    span.record("status", status);
    let route = pattern.unwrap_or_else(|| "unmatched".into());
    let labels = [
        ("service", service),
        ("method", method),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..3])
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

/// The request limits: public routes that change something, per client
/// address; a department client's requests, per its quota. 429 over either.
fn limit(state: &HttpState, policy: &Policy, req: &ServiceRequest) -> Result<(), Problem> {
    if *policy == Policy::Public {
        if !matches!(req.method().as_str(), "GET" | "HEAD" | "OPTIONS") {
            state.limits.check_address(client_address(req.request()))?;
        }
        return Ok(());
    }
    let extensions = req.extensions();
    match extensions
        .get::<crate::Claims>()
        .and_then(|claims| claims.department_client())
    {
        Some(client) => state.limits.check_client(client),
        None => Ok(()),
    }
}

/// The address a request came from: its peer, or the client a trusted proxy
/// (`http.trusted_proxies`) forwarded it for. Pass it on in
/// `X-Forwarded-For` when calling the APIs on a client's behalf.
pub fn client_address(req: &HttpRequest) -> Option<std::net::IpAddr> {
    let forwarded = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|a| a.ip());
    match req.app_data::<web::Data<HttpState>>() {
        Some(state) => state.limits.address_of(peer, forwarded),
        None => peer,
    }
}

async fn authorize(
    auth: &Authenticator,
    policy: &Policy,
    req: &ServiceRequest,
) -> Result<(), Problem> {
    if *policy == Policy::Public {
        return Ok(());
    }
    if *policy == Policy::Undeclared {
        tracing::error!(path = %req.path(), "route has no declared policy; refusing");
        return Err(Problem::forbidden("this route declares no access policy"));
    }
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Problem::unauthenticated("send `Authorization: Bearer <token>`"))?;
    let claims = auth.verify(token).await.map_err(Problem::unauthenticated)?;
    let allowed = policy.allows(&claims);
    let sub = claims.sub.clone();
    // Handlers that need the caller (four-eyes checks, audit) read `Claims`
    // from the extensions; a refusal's audit record names them too.
    req.extensions_mut().insert(claims);
    if !allowed {
        return Err(Problem::forbidden(format!(
            "`{sub}` does not hold any of the grants this route needs"
        )));
    }
    Ok(())
}

/// Makes a malformed query string answer 400 problem+json like every other
/// error (actix answers plain text by default). Services add it to their routes.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        Problem::bad_request(format!("the query string is malformed: {err}")).into()
    })
}

/// Reads a JSON request body of at most `limit` bytes: 413 if larger, 400 if
/// not JSON. Returns the raw bytes too (for idempotency hashing).
pub async fn read_json(
    payload: web::Payload,
    limit: usize,
) -> Result<(web::Bytes, Value), Problem> {
    let body = read_body(payload, limit).await?;
    let value = serde_json::from_slice(&body)
        .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))?;
    Ok((body, value))
}

/// The media type of bulk imports: one JSON record a line.
pub const NDJSON: &str = "application/x-ndjson";

/// Reads an NDJSON import body of at most `limit` bytes: 415 unless it is
/// sent as [`NDJSON`], 413 if larger. The lines are the caller's to parse.
pub async fn read_ndjson(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, Problem> {
    let media_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if !media_type.eq_ignore_ascii_case(NDJSON) {
        return Err(Problem::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
        )
        .detail(format!(
            "send `Content-Type: {NDJSON}`, one record per line"
        )));
    }
    read_body(payload, limit).await
}

/// A line of an NDJSON import that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// Its number, from 1.
    pub line: usize,
    /// What is wrong, as JSON Pointers into the line.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<casework_contracts::FieldError>,
}

async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, Problem> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| Problem::bad_request(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(Problem::too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The query of every list of one case's records (`?case=`): the case's
/// reference, or its id where the operation says so.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// The case: its reference (e.g. `VV-XQAE-PBE9-2`), or its id where
    /// the operation says so.
    pub case: String,
}

impl CaseQuery {
    /// The case as a reference: trimmed, in capitals, as references are kept.
    pub fn reference(&self) -> String {
        as_reference(&self.case)
    }
}

/// Text typed as a case reference, as references are kept: trimmed, in capitals.
fn as_reference(text: &str) -> String {
    text.trim().to_ascii_uppercase()
}

/// Rows a page holds when a request names no `limit`.
pub const DEFAULT_PAGE: u64 = 50;
/// The most rows a page may hold.
pub const MAX_PAGE: u64 = 200;

/// The one paging rule of every list: `limit` 1 to [`MAX_PAGE`] (default
/// [`DEFAULT_PAGE`]) and `offset` from 0; a `limit` out of range is named
/// in a 422, not quietly changed.
pub fn page(
    limit: Option<u64>,
    offset: Option<u64>,
) -> Result<(u64, u64), casework_contracts::FieldError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    let offset = offset.unwrap_or(0);
    // The databases count rows in signed 64 bits.
    if i64::try_from(offset).is_err() {
        return Err(casework_contracts::FieldError::new(
            "/offset",
            format!("at most {}", i64::MAX),
        ));
    }
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(casework_contracts::FieldError::new(
            "/limit",
            format!("between 1 and {MAX_PAGE}"),
        ));
    }
    Ok((limit, offset))
}

/// One page of `select`, in `order` (ties broken by the later columns), and
/// how many rows the whole of `select` holds: every paged list's query.
pub async fn fetch_page<E>(
    select: sea_orm::Select<E>,
    order: &[(E::Column, sea_orm::Order)],
    (limit, offset): (u64, u64),
    db: &sea_orm::DatabaseConnection,
) -> Result<(u64, Vec<E::Model>), Problem>
where
    E: sea_orm::EntityTrait,
    E::Model: Sync,
{
    use sea_orm::{PaginatorTrait, QueryOrder, QuerySelect};
    let total = select.clone().count(db).await?;
    let mut select = select;
    for (column, direction) in order {
        select = select.order_by(*column, direction.clone());
    }
    let rows = select.limit(limit).offset(offset).all(db).await?;
    Ok((total, rows))
}

/// A list's optional `case` filter as a reference: `None` when absent or blank.
pub fn reference_filter(case: Option<&str>) -> Option<String> {
    case.filter(|c| !c.trim().is_empty()).map(as_reference)
}

/// What readiness needs to know of a service.
#[derive(Clone, Debug)]
pub struct ServiceHealth {
    /// The service's name.
    pub name: &'static str,
    stores: Vec<casework_store::Store>,
    consumers: Vec<(String, casework_bus::ConsumerHealth)>,
}

impl ServiceHealth {
    /// A service's databases and consumers, to check for readiness.
    pub fn new(
        name: &'static str,
        stores: Vec<casework_store::Store>,
        consumers: Vec<(String, casework_bus::ConsumerHealth)>,
    ) -> Self {
        Self {
            name,
            stores,
            consumers,
        }
    }

    /// Why the service is not ready; empty when it is.
    pub async fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for store in &self.stores {
            if let Err(err) = store.ping().await {
                problems.push(format!("{}: database: {err}", self.name));
            }
        }
        for (group, health) in &self.consumers {
            if !health.is_assigned() {
                problems.push(format!(
                    "{}: consumer {group} has no partitions yet",
                    self.name
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_are_declared_as_problem_json() {
        let doc = serde_json::to_value(complete_openapi("register", HealthApi::openapi())).unwrap();
        let audit = &doc["paths"]["/v1/audit-records"]["get"]["responses"];
        assert!(
            audit["400"]["content"]["application/problem+json"].is_object(),
            "{audit}"
        );
        assert!(
            audit["400"]["content"]["application/json"].is_null(),
            "{audit}"
        );
        assert!(audit["default"]["content"]["application/problem+json"].is_object());
        let livez = &doc["paths"]["/livez"]["get"]["responses"];
        assert!(
            livez["401"].is_null(),
            "a public route needs no token: {livez}"
        );
    }
}
