//! Staff sign-in and sign-out.
//!
//! Two ways in, one outcome: a platform token held in the session, server
//! side, which the desk's pages send to the APIs, so every API's own policy
//! applies unchanged.
//! - Embedded (no `auth.oidc_issuer`): a local account's name and password
//!   (`accounts`); the token is signed with the embedded key.
//! - Production: OpenID Connect, authorization code flow with PKCE (S256)
//!   against `auth.oidc_issuer`: `state` guards the redirect, `nonce` the ID
//!   token; the access token is the platform token, verified as the APIs
//!   verify it, its roles read from `auth.roles_claim`.
//!
//! The session is renewed (a new cookie) at sign-in, and deleted at sign-out.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casework_runtime::Authenticator;
use casework_runtime::settings::AuthSettings;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::accounts::SignIn;
use crate::pages::{PageError, PageResult, error_of, error_summary, field, see_other};
use crate::session::{Flash, PendingSignIn, Session, Staff, random_token};
use crate::{Web, WebError};

/// The desk's name and home, in the header of its pages.
pub(crate) const DESK: (&str, &str) = ("Casework", "/desk");

/// An OpenID Connect issuer, as its discovery document describes it.
pub(crate) struct Oidc {
    authorization_endpoint: String,
    token_endpoint: String,
    client_id: String,
    client_secret: String,
    /// Verifies ID tokens: the issuer's keys, `aud` = our client id.
    id_tokens: Authenticator,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    id_token: String,
}

impl Oidc {
    /// Reads the issuer's discovery document and keys (at start: an issuer
    /// that cannot be reached stops the start, as the APIs' JWKS does).
    pub(crate) async fn discover(auth: &AuthSettings) -> Result<Self, WebError> {
        let issuer = auth.oidc_issuer.trim_end_matches('/');
        let url = format!("{issuer}/.well-known/openid-configuration");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| WebError::Api(format!("HTTP client: {e}")))?;
        let discovery: Discovery = client
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| WebError::Api(format!("auth.oidc_issuer: {url}: {e}")))?
            .json()
            .await
            .map_err(|e| {
                WebError::Api(format!(
                    "auth.oidc_issuer: {url}: not a discovery document: {e}"
                ))
            })?;
        // OpenID Connect Discovery 1.0 §4.3: the issuer must be the one asked.
        if discovery.issuer.trim_end_matches('/') != issuer {
            return Err(WebError::Api(format!(
                "auth.oidc_issuer: {url} names issuer `{}`",
                discovery.issuer
            )));
        }
        let id_tokens = Authenticator::from_jwks(
            &discovery.jwks_uri,
            &discovery.issuer,
            &auth.oidc_client_id,
            Duration::from_secs(auth.jwks_min_refetch_seconds),
            Duration::from_secs(auth.jwks_refresh_seconds),
        )
        .await
        .map_err(|e| WebError::Api(e.to_string()))?
        .with_roles_claim(&auth.roles_claim);
        Ok(Self {
            authorization_endpoint: discovery.authorization_endpoint,
            token_endpoint: discovery.token_endpoint,
            client_id: auth.oidc_client_id.clone(),
            client_secret: auth.oidc_client_secret.clone(),
            id_tokens,
        })
    }
}

/// Where the identity provider sends the browser back.
fn redirect_uri(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/sign-in/callback", info.scheme(), info.host())
}

/// A `next` that stays on this site: a path, never `//host` or a URL.
pub(crate) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => DESK.1.to_owned(),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// `GET /sign-in`: the form (local accounts), or off to the identity provider.
pub(crate) async fn form(
    req: HttpRequest,
    query: web::Query<SignInQuery>,
    state: web::Data<Web>,
) -> PageResult {
    let next = local_path(query.next.as_deref());
    let mut session = state.sessions.find_or_begin(&req).await?;
    if let Some(oidc) = &state.oidc {
        let pending = PendingSignIn {
            state: random_token()?,
            nonce: random_token()?,
            verifier: random_token()?,
            next,
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&oidc.authorization_endpoint)
            .map_err(|e| WebError::Api(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &oidc.client_id)
            .append_pair("redirect_uri", &redirect_uri(&req))
            .append_pair("scope", "openid profile")
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        session.data.oidc = Some(pending);
        state.sessions.save(&session).await?;
        return Ok(see_other(
            url.as_str(),
            Some(&session),
            state.sessions.secure,
        ));
    }
    let banner = query
        .signed_out
        .is_some()
        .then(|| json!({"heading": "You have signed out", "kind": "success"}));
    render_form(&state, &session, &next, "", &[], banner, StatusCode::OK)
}

fn render_form(
    state: &Web,
    session: &Session,
    next: &str,
    name: &str,
    errors: &[(&str, String)],
    banner: Option<Value>,
    status: StatusCode,
) -> PageResult {
    state.page(
        status,
        "signin.html",
        DESK,
        Some(session),
        json!({
            "next": next,
            "name": name,
            "name_error": error_of(errors, "name"),
            "password_error": error_of(errors, "password"),
            "errors": error_summary(errors),
            "banner": banner,
        }),
    )
}

/// `POST /sign-in`: a local account's name and password.
pub(crate) async fn submit(
    req: HttpRequest,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let session = state.posted_session(&req, &body).await?;
    if state.oidc.is_some() {
        return Ok(see_other("/sign-in", None, state.sessions.secure));
    }
    let next = local_path(field(&body, "next"));
    let name = field(&body, "name").unwrap_or_default().trim().to_owned();
    let password = field(&body, "password").unwrap_or_default();
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(("name", "Enter your user name".to_owned()));
    }
    if password.is_empty() {
        errors.push(("password", "Enter your password".to_owned()));
    }
    if errors.is_empty() {
        match state.accounts.sign_in(&name, password).await? {
            SignIn::Accepted { name, roles } => {
                let hours = state.sign_in_hours;
                let token = state
                    .authenticator
                    .issue(&name, &roles, &[], Duration::from_secs(hours * 3600))
                    .map_err(|e| WebError::Api(e.to_string()))?;
                let staff = Staff {
                    sub: name.clone(),
                    name: name.clone(),
                    roles,
                    token,
                    until: Utc::now() + chrono::Duration::hours(i64::try_from(hours).unwrap_or(8)),
                };
                tracing::info!(user = %name, via = "local", "signed in");
                return signed_in(&state, &session, staff, &next).await;
            }
            SignIn::Refused => {
                tracing::info!(user = %name, "sign-in refused");
                errors.push(("name", "Enter a correct user name and password".to_owned()));
            }
            SignIn::Locked(until) => {
                tracing::info!(user = %name, %until, "sign-in refused: account locked");
                errors.push((
                    "name",
                    format!(
                        "Your account is locked after too many failed attempts. Try again after {} UTC, or ask an administrator",
                        until.format("%-I:%M%P")
                    ),
                ));
            }
        }
    }
    render_form(
        &state,
        &session,
        &next,
        &name,
        &errors,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

/// Renews the session for `staff` and goes on to `next`.
async fn signed_in(state: &Web, session: &Session, staff: Staff, next: &str) -> PageResult {
    let mut renewed = state.sessions.renew(session).await?;
    renewed.data.staff = Some(staff);
    renewed.data.oidc = None;
    state.sessions.save(&renewed).await?;
    Ok(see_other(next, Some(&renewed), state.sessions.secure))
}

#[derive(Debug, Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /sign-in/callback`: the identity provider's answer.
pub(crate) async fn callback(
    req: HttpRequest,
    query: web::Query<Callback>,
    state: web::Data<Web>,
) -> PageResult {
    let oidc = state.oidc.as_ref().ok_or(PageError::NotFound)?;
    let mut session = state.sessions.find(&req).await?.ok_or(PageError::Expired)?;
    let pending = session.data.oidc.take().ok_or(PageError::Expired)?;
    // Used once, whatever happens next.
    state.sessions.save(&session).await?;
    if query.state.as_deref() != Some(pending.state.as_str()) {
        tracing::warn!("sign-in callback refused: state does not match");
        return Err(PageError::Expired);
    }
    let Some(code) = query.code.as_deref() else {
        tracing::info!(error = ?query.error, "the identity provider did not sign the user in");
        return Err(PageError::SignInFailed);
    };
    let mut exchange = state.api.client.post(&oidc.token_endpoint).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &redirect_uri(&req)),
        ("client_id", &oidc.client_id),
        ("code_verifier", &pending.verifier),
    ]);
    if !oidc.client_secret.is_empty() {
        exchange = exchange.basic_auth(&oidc.client_id, Some(&oidc.client_secret));
    }
    let response = exchange
        .send()
        .await
        .map_err(|e| WebError::Api(format!("token endpoint: {e}")))?;
    if !response.status().is_success() {
        // Its body may echo the code: only the status is logged.
        tracing::warn!(status = %response.status(), "the token endpoint refused the code");
        return Err(PageError::SignInFailed);
    }
    let tokens: TokenResponse = response
        .json()
        .await
        .map_err(|e| WebError::Api(format!("token endpoint: not a token response: {e}")))?;
    let (_, id) = oidc
        .id_tokens
        .verify_all(&tokens.id_token)
        .await
        .map_err(|why| {
            tracing::warn!(%why, "ID token refused");
            PageError::SignInFailed
        })?;
    if id.get("nonce").and_then(Value::as_str) != Some(pending.nonce.as_str()) {
        tracing::warn!("ID token refused: nonce does not match");
        return Err(PageError::SignInFailed);
    }
    // The platform token: verified as every API will verify it.
    let claims = state
        .authenticator
        .verify(&tokens.access_token)
        .await
        .map_err(|why| {
            tracing::warn!(%why, "access token refused: the APIs would refuse it too");
            PageError::SignInFailed
        })?;
    let name = ["name", "preferred_username"]
        .iter()
        .find_map(|k| id.get(*k).and_then(Value::as_str))
        .unwrap_or(&claims.sub)
        .to_owned();
    let until = chrono::DateTime::from_timestamp(i64::try_from(claims.exp).unwrap_or(0), 0)
        .unwrap_or_else(Utc::now);
    tracing::info!(user = %claims.sub, via = "oidc", roles = ?claims.roles, "signed in");
    let staff = Staff {
        sub: claims.sub,
        name,
        roles: claims.roles,
        token: tokens.access_token,
        until,
    };
    signed_in(&state, &session, staff, &pending.next).await
}

/// `POST /sign-out`.
pub(crate) async fn sign_out(
    req: HttpRequest,
    body: web::Form<Vec<(String, String)>>,
    state: web::Data<Web>,
) -> PageResult {
    let session = state.posted_session(&req, &body).await?;
    if let Some(staff) = &session.data.staff {
        tracing::info!(user = %staff.sub, "signed out");
    }
    state.sessions.end(&session).await?;
    Ok(see_other(
        "/sign-in?signed_out=1",
        None,
        state.sessions.secure,
    ))
}

impl Web {
    /// The signed-in staff member of `req`, if they hold one of `roles`:
    /// signed-out (or expired) users are sent to sign in and back here;
    /// a role that may not see the page gets the page that says so.
    pub(crate) async fn staff(
        &self,
        req: &HttpRequest,
        roles: &[&str],
    ) -> Result<(Session, Staff), PageError> {
        let here = match req.query_string() {
            "" => req.path().to_owned(),
            query => format!("{}?{query}", req.path()),
        };
        let Some(mut session) = self.sessions.find(req).await? else {
            return Err(PageError::SignIn(here));
        };
        let Some(staff) = session.data.staff.clone().filter(|s| s.until > Utc::now()) else {
            return Err(PageError::SignIn(here));
        };
        if !staff.holds(roles) {
            tracing::info!(user = %staff.sub, path = %req.path(), "page refused: role");
            return Err(PageError::Forbidden);
        }
        if session.data.flash.is_some() && req.method() == actix_web::http::Method::GET {
            // Shown on this page, then gone.
            let flash = session.data.flash.take();
            self.sessions.save(&session).await?;
            session.data.flash = flash;
        }
        Ok((session, staff))
    }

    /// Says what an action came to on the next page.
    pub(crate) async fn flash(
        &self,
        session: &mut Session,
        heading: String,
        success: bool,
    ) -> Result<(), WebError> {
        session.data.flash = Some(Flash {
            heading,
            kind: if success {
                "success".into()
            } else {
                String::new()
            },
        });
        self.sessions.save(session).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_returned_to() {
        assert_eq!(
            local_path(Some("/desk/cases/VV-1?x=1")),
            "/desk/cases/VV-1?x=1"
        );
        for outside in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "desk",
            "/desk\n",
        ] {
            assert_eq!(local_path(Some(outside)), "/desk", "{outside:?}");
        }
        assert_eq!(local_path(None), "/desk");
    }
}
