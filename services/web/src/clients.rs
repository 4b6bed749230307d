//! Departments as OAuth 2.0 clients, embedded mode: `casework client add`
//! registers one, and `POST /oauth/token` answers the client-credentials
//! grant (RFC 6749 §4.4) with a platform access token carrying the client's
//! scopes. In production the identity provider does both (`auth.jwks_url`).
//!
//! Errors follow RFC 6749 §5.2 (`{"error": "invalid_client", ...}`), not
//! problem+json: OAuth client libraries read that shape.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use casework_store::Store;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::session::{digest_hex, random_token};
use crate::tables::client;
use crate::{Web, WebError};

/// The registered clients.
#[derive(Debug, Clone)]
pub struct Clients {
    store: Store,
}

/// A client id or scope: lower-case letters, digits and `-`, 2 to 64 long.
fn is_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Clients {
    /// The clients in `store` (the web front end's database).
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Registers a client with `scopes`; returns its secret, which is not
    /// kept (only its digest) and cannot be shown again.
    pub async fn add(&self, client_id: &str, scopes: &[String]) -> Result<String, WebError> {
        let invalid = |why: String| Err(WebError::Account(why));
        if !is_name(client_id) {
            return invalid(format!(
                "`{client_id}`: a client id is 2 to 64 lower-case letters, digits and `-`"
            ));
        }
        if scopes.is_empty() {
            return invalid("give at least one --scope".into());
        }
        if let Some(scope) = scopes.iter().find(|s| !is_name(s)) {
            return invalid(format!(
                "`{scope}`: a scope is lower-case letters, digits and `-`"
            ));
        }
        if client::Entity::find_by_id(client_id.to_owned())
            .one(self.store.writer())
            .await?
            .is_some()
        {
            return invalid(format!("there is already a client `{client_id}`"));
        }
        let secret = random_token()?;
        client::ActiveModel {
            client_id: Set(client_id.to_owned()),
            secret_hash: Set(digest_hex(&secret)),
            scopes: Set(serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())),
            created_at: Set(Utc::now()),
        }
        .insert(self.store.writer())
        .await?;
        Ok(secret)
    }

    /// The scopes of the client `client_id` if `secret` is its secret.
    async fn authenticate(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<Vec<String>>, WebError> {
        let found = client::Entity::find_by_id(client_id.to_owned())
            .one(self.store.connection())
            .await?;
        // Digests compared, so the time taken says nothing about the secret.
        let presented = digest_hex(secret);
        Ok(found
            .filter(|row| {
                Sha256::digest(row.secret_hash.as_bytes()) == Sha256::digest(presented.as_bytes())
            })
            .map(|row| serde_json::from_str(&row.scopes).unwrap_or_default()))
    }
}

/// The token request's form (RFC 6749 §4.4.2, §2.3.1).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TokenRequest {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An RFC 6749 §5.2 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((WWW_AUTHENTICATE, "Basic realm=\"casework\""));
    }
    response.json(serde_json::json!({"error": error, "error_description": description}))
}

/// A malformed token request body: `invalid_request`, as §5.2 has it.
pub(crate) fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(4096)
        .error_handler(|err, _| {
            let response = oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &format!("send an application/x-www-form-urlencoded body: {err}"),
            );
            actix_web::error::InternalError::from_response(err, response).into()
        })
}

/// The client id and secret from HTTP Basic (`client_secret_basic`).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// `POST /oauth/token`: the client-credentials grant.
pub(crate) async fn token(
    req: HttpRequest,
    state: web::Data<Web>,
    form: web::Form<TokenRequest>,
) -> HttpResponse {
    grant(&req, &state, form.into_inner())
        .await
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "token endpoint failed");
            oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "try again shortly",
            )
        })
}

async fn grant(
    req: &HttpRequest,
    state: &Web,
    form: TokenRequest,
) -> Result<HttpResponse, WebError> {
    let bad = |error: &str, why: &str| Ok(oauth_error(StatusCode::BAD_REQUEST, error, why));
    let credentials = match (basic_credentials(req), &form.client_id, &form.client_secret) {
        (Some(basic), None, None) => basic,
        (None, Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (Some(_), _, _) => {
            return bad(
                "invalid_request",
                "authenticate one way: HTTP Basic or client_id and client_secret in the body",
            );
        }
        _ => {
            return Ok(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate with HTTP Basic (client id and secret)",
            ));
        }
    };
    match form.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return bad(
                "unsupported_grant_type",
                "this endpoint grants client_credentials only",
            );
        }
        None => return bad("invalid_request", "grant_type is required"),
    }
    let (client_id, secret) = credentials;
    let Some(registered) = state.clients.authenticate(&client_id, &secret).await? else {
        tracing::info!(client = %client_id, "token refused: unknown client or wrong secret");
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ));
    };
    let scopes: Vec<String> = match form.scope.as_deref().map(str::trim) {
        None | Some("") => registered.clone(),
        Some(asked) => asked.split_whitespace().map(str::to_owned).collect(),
    };
    if let Some(unknown) = scopes.iter().find(|s| !registered.contains(s)) {
        return bad(
            "invalid_scope",
            &format!("client `{client_id}` does not hold the scope `{unknown}`"),
        );
    }
    let lifetime = std::time::Duration::from_secs(state.client_token_minutes * 60);
    let token = match state
        .authenticator
        .issue_client(&client_id, &scopes, lifetime)
    {
        Ok(token) => token,
        // Production: the identity provider issues clients' tokens.
        Err(err) => return bad("unsupported_grant_type", &err.to_string()),
    };
    tracing::info!(client = %client_id, scopes = %scopes.join(" "), "client token issued");
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
        .json(serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "scope": scopes.join(" "),
        })))
}
