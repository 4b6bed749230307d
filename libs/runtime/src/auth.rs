//! Access control: bearer tokens (JWT) and the policy of every route.
//!
//! Deny by default. Each operation's policy is its OpenAPI security
//! requirement, so the `openapi.json` a department reads is exactly what is
//! enforced:
//! - `security: [{}]` — public;
//! - `security: [{"bearer": ["role:caseworker", "role:senior-caseworker"]}]` —
//!   any of those roles;
//! - `security: [{"bearer": ["scope:hmpo"]}]` — a department scope;
//! - no `security` at all — nobody (a route someone forgot to classify).
//!
//! Tokens are verified with a key generated under the data directory in
//! embedded mode (HS256), or an OIDC issuer's JWKS in production; see
//! [`Authenticator`] for the algorithm allow-list and key rotation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa::openapi::path::HttpMethod;

use crate::error::RuntimeError;
use crate::settings::AuthSettings;

/// The roles of the platform.
pub const ROLES: [&str; 5] = [
    "caseworker",
    "senior-caseworker",
    "officer",
    "auditor",
    "admin",
];

/// The name of the bearer security scheme in every `openapi.json`.
pub const BEARER: &str = "bearer";

/// What a verified token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The person or system (four-eyes checks compare this).
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Issued at.
    pub iat: u64,
    /// Roles held.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Department scopes held (other departments calling the open APIs).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The OAuth client the token was issued to (RFC 9068 `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

impl Claims {
    /// The platform's claims from a verified token's: `roles` from
    /// `roles_claim`, scopes from `scopes` (or OAuth's space-separated
    /// `scope`), and `aud` as the audience verified (a token may name several).
    fn read(
        all: &serde_json::Map<String, serde_json::Value>,
        audience: &str,
        roles_claim: &str,
    ) -> Result<Self, String> {
        use serde_json::Value;
        let text = |name: &str| all.get(name).and_then(Value::as_str).map(str::to_owned);
        let number = |name: &str| all.get(name).and_then(Value::as_u64).unwrap_or(0);
        let list = |value: Option<&Value>| -> Vec<String> {
            match value {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
                _ => Vec::new(),
            }
        };
        Ok(Self {
            sub: text("sub").ok_or("token has no subject")?,
            iss: text("iss").unwrap_or_default(),
            aud: audience.to_owned(),
            exp: number("exp"),
            iat: number("iat"),
            roles: list(all.get(roles_claim)),
            scopes: list(all.get("scopes").or_else(|| all.get("scope"))),
            client_id: text("client_id"),
        })
    }

    /// The department client this token stands for: a client-credentials
    /// token, whose subject is the client itself (RFC 9068 §2.2), not a
    /// person signed in through one.
    pub fn department_client(&self) -> Option<&str> {
        self.client_id.as_deref().filter(|id| *id == self.sub)
    }
}

/// The caller of a protected route, as the guard middleware verified them:
/// take `claims: Claims` as a handler argument (four-eyes checks, audit).
impl actix_web::FromRequest for Claims {
    type Error = crate::problem::Problem;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        use actix_web::HttpMessage;
        std::future::ready(req.extensions().get::<Claims>().cloned().ok_or_else(|| {
            crate::problem::Problem::unauthenticated("send `Authorization: Bearer <token>`")
        }))
    }
}

/// Who may call an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// Anyone, without a token.
    Public,
    /// A token with any of these grants (`role:<r>` or `scope:<s>`).
    Grants(Vec<String>),
    /// Nobody: the operation declares no policy.
    Undeclared,
}

impl Policy {
    /// Checks verified claims against the policy.
    pub fn allows(&self, claims: &Claims) -> bool {
        match self {
            Policy::Public => true,
            Policy::Undeclared => false,
            Policy::Grants(grants) => grants.iter().any(|grant| match grant.split_once(':') {
                Some(("role", role)) => claims.roles.iter().any(|r| r == role),
                Some(("scope", scope)) => claims.scopes.iter().any(|s| s == scope),
                _ => false,
            }),
        }
    }
}

/// The policy of every operation, keyed by method and path pattern
/// (`/api/register/v1/cases/{reference}`, as actix reports the match).
#[derive(Debug, Clone, Default)]
pub struct PolicyTable {
    policies: HashMap<(String, String), Policy>,
}

impl PolicyTable {
    /// Reads the policies of every operation of `doc`, whose paths are
    /// relative to `prefix` (e.g. `/api/register`).
    pub fn add_openapi(&mut self, prefix: &str, doc: &OpenApi) {
        for (path, item) in &doc.paths.paths {
            let operations = [
                (HttpMethod::Get, &item.get),
                (HttpMethod::Post, &item.post),
                (HttpMethod::Put, &item.put),
                (HttpMethod::Patch, &item.patch),
                (HttpMethod::Delete, &item.delete),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation else { continue };
                let policy = match &operation.security {
                    None => Policy::Undeclared,
                    Some(requirements) => policy_of(requirements),
                };
                self.policies
                    .insert((method_name(&method), format!("{prefix}{path}")), policy);
            }
        }
    }

    /// The methods `pattern` declares a policy for (empty: an unknown path).
    pub fn methods(&self, pattern: &str) -> Vec<String> {
        let mut methods: Vec<String> = self
            .policies
            .keys()
            .filter(|(_, path)| path == pattern)
            .map(|(method, _)| method.clone())
            .collect();
        methods.sort();
        methods
    }

    /// The policy of a matched route; [`Policy::Undeclared`] if it has none.
    pub fn policy(&self, method: &str, pattern: &str) -> &Policy {
        self.policies
            .get(&(method.to_ascii_uppercase(), pattern.to_owned()))
            .unwrap_or(&Policy::Undeclared)
    }
}

pub(crate) fn policy_of(requirements: &[utoipa::openapi::security::SecurityRequirement]) -> Policy {
    // utoipa keeps requirements opaque; its JSON form is the contract anyway.
    let json = serde_json::to_value(requirements).unwrap_or_default();
    let Some(list) = json.as_array() else {
        return Policy::Undeclared;
    };
    if list
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
    {
        return Policy::Public;
    }
    let grants: Vec<String> = list
        .iter()
        .filter_map(|r| r.get(BEARER))
        .filter_map(|scopes| scopes.as_array())
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_owned))
        .collect();
    if grants.is_empty() {
        Policy::Undeclared
    } else {
        Policy::Grants(grants)
    }
}

fn method_name(method: &HttpMethod) -> String {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Head => "HEAD",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Trace => "TRACE",
    }
    .to_owned()
}

/// Verifies tokens (and, in embedded mode, issues them).
///
/// The algorithm is checked against an allow-list (`auth.algorithms`) before
/// anything else, and never taken from the token alone: with a JWKS, a key
/// that names its own `alg` must match the token's too. A token signed by a
/// key the JWKS lacks refetches it (a rotated key), at most once per
/// `auth.jwks_min_refetch_seconds`; and the set is refreshed every
/// `auth.jwks_refresh_seconds` in the background.
pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    /// The claim holding the roles (`auth.roles_claim`).
    roles_claim: String,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("embedded", &matches!(self.keys, Keys::Embedded { .. }))
            .field("algorithms", &self.algorithms)
            .finish()
    }
}

enum Keys {
    Embedded {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
    Jwks(Arc<JwksCache>),
}

/// An issuer's key set, refetched when a token names a key it lacks.
struct JwksCache {
    url: String,
    client: reqwest::Client,
    set: std::sync::RwLock<JwkSet>,
    /// When it was last fetched; held while fetching, so concurrent requests
    /// with a new key id cause one fetch, not one each.
    fetched: tokio::sync::Mutex<Instant>,
    min_refetch: Duration,
}

impl JwksCache {
    async fn fetch(client: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
        client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("auth.jwks_url {url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("auth.jwks_url {url}: not a JWK set: {e}"))
    }

    fn find(&self, kid: &str) -> Option<Jwk> {
        let set = self.set.read().unwrap_or_else(|e| e.into_inner());
        set.find(kid).cloned()
    }

    /// Fetches the set again unless that was done less than `min_refetch`
    /// ago (`force` ignores that, for the periodic refresh). A failed fetch
    /// keeps the keys held and counts as a fetch, so a down issuer is not
    /// hammered by every request.
    async fn refetch(&self, force: bool) {
        let mut fetched = self.fetched.lock().await;
        if !force && fetched.elapsed() < self.min_refetch {
            return;
        }
        match Self::fetch(&self.client, &self.url).await {
            Ok(set) => {
                tracing::info!(url = %self.url, keys = set.keys.len(), "JWKS fetched");
                *self.set.write().unwrap_or_else(|e| e.into_inner()) = set;
            }
            Err(err) => tracing::warn!(error = %err, "JWKS refetch failed; keeping the keys held"),
        }
        *fetched = Instant::now();
    }
}

/// The embedded signing key's file under the data directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";

impl Authenticator {
    /// The authenticator `auth` describes: a JWKS when `auth.jwks_url` is
    /// set, else the embedded key under `data_dir`.
    pub async fn from_settings(auth: &AuthSettings, data_dir: &Path) -> Result<Self, RuntimeError> {
        let algorithms = auth
            .accepted_algorithms()
            .map_err(|why| RuntimeError::Config(format!("auth.algorithms: {why}")))?;
        let mut authenticator = if auth.jwks_url.trim().is_empty() {
            Self::embedded(data_dir, &auth.issuer, &auth.audience)?
        } else {
            Self::from_jwks(
                &auth.jwks_url,
                &auth.issuer,
                &auth.audience,
                Duration::from_secs(auth.jwks_min_refetch_seconds),
                Duration::from_secs(auth.jwks_refresh_seconds),
            )
            .await?
        };
        authenticator.algorithms = algorithms;
        authenticator.roles_claim = auth.roles_claim.clone();
        Ok(authenticator)
    }

    /// Embedded mode: the HS256 key at `data_dir/signing.key`, generated
    /// (readable by the owner only) on first start.
    pub fn embedded(data_dir: &Path, issuer: &str, audience: &str) -> Result<Self, RuntimeError> {
        let path = data_dir.join(SIGNING_KEY_FILE);
        let secret = match std::fs::read(&path) {
            Ok(secret) if secret.len() >= 32 => secret,
            Ok(_) => {
                return Err(RuntimeError::Config(format!(
                    "{} is shorter than 32 bytes; delete it to generate a new one",
                    path.display()
                )));
            }
            Err(_) => {
                std::fs::create_dir_all(data_dir)
                    .map_err(|e| RuntimeError::Io(format!("{}: {e}", data_dir.display())))?;
                let mut secret = vec![0u8; 32];
                getrandom::fill(&mut secret)
                    .map_err(|e| RuntimeError::Io(format!("no randomness for the key: {e}")))?;
                write_private(&path, &secret)?;
                secret
            }
        };
        Ok(Self {
            keys: Keys::Embedded {
                encoding: EncodingKey::from_secret(&secret),
                decoding: DecodingKey::from_secret(&secret),
            },
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            algorithms: vec![Algorithm::HS256],
            roles_claim: "roles".into(),
        })
    }

    /// Production: an OIDC issuer's keys, fetched now (an issuer that cannot
    /// be reached stops the start), refetched for an unknown key id at most
    /// every `min_refetch`, and refreshed every `refresh` until the
    /// authenticator is dropped. Accepts RS256 and ES256 until
    /// [`Authenticator::with_algorithms`] says otherwise.
    pub async fn from_jwks(
        url: &str,
        issuer: &str,
        audience: &str,
        min_refetch: Duration,
        refresh: Duration,
    ) -> Result<Self, RuntimeError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| RuntimeError::Config(format!("HTTP client: {e}")))?;
        let set = JwksCache::fetch(&client, url)
            .await
            .map_err(RuntimeError::Config)?;
        let cache = Arc::new(JwksCache {
            url: url.to_owned(),
            client,
            set: std::sync::RwLock::new(set),
            fetched: tokio::sync::Mutex::new(Instant::now()),
            min_refetch,
        });
        let weak = Arc::downgrade(&cache);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(refresh).await;
                let Some(cache) = weak.upgrade() else { return };
                cache.refetch(true).await;
            }
        });
        Ok(Self {
            keys: Keys::Jwks(cache),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256],
            roles_claim: "roles".into(),
        })
    }

    /// The same authenticator accepting only `algorithms`.
    pub fn with_algorithms(mut self, algorithms: Vec<Algorithm>) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Issues a token (embedded mode only; `casework token` and tests use it).
    pub fn issue(
        &self,
        sub: &str,
        roles: &[String],
        scopes: &[String],
        ttl: Duration,
    ) -> Result<String, RuntimeError> {
        self.sign(&self.claims_for(sub, roles, scopes, ttl, None))
    }

    /// Issues a department client's access token (the embedded token
    /// endpoint's client-credentials grant): subject and `client_id` both
    /// the client, its scopes, no roles.
    pub fn issue_client(
        &self,
        client_id: &str,
        scopes: &[String],
        ttl: Duration,
    ) -> Result<String, RuntimeError> {
        self.sign(&self.claims_for(client_id, &[], scopes, ttl, Some(client_id)))
    }

    fn claims_for(
        &self,
        sub: &str,
        roles: &[String],
        scopes: &[String],
        ttl: Duration,
        client_id: Option<&str>,
    ) -> Claims {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Claims {
            sub: sub.to_owned(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl.as_secs(),
            iat: now,
            roles: roles.to_vec(),
            scopes: scopes.to_vec(),
            client_id: client_id.map(str::to_owned),
        }
    }

    fn sign(&self, claims: &Claims) -> Result<String, RuntimeError> {
        let Keys::Embedded { encoding, .. } = &self.keys else {
            return Err(RuntimeError::Config(
                "tokens are issued by the identity provider when auth.jwks_url is set".into(),
            ));
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, encoding)
            .map_err(|e| RuntimeError::Config(format!("cannot sign a token: {e}")))
    }

    /// The same authenticator reading roles from `claim`.
    pub fn with_roles_claim(mut self, claim: &str) -> Self {
        claim.clone_into(&mut self.roles_claim);
        self
    }

    /// Verifies a token: its algorithm against the allow-list first, then
    /// its key, signature, expiry, issuer and audience.
    pub async fn verify(&self, token: &str) -> Result<Claims, String> {
        self.verify_all(token).await.map(|(claims, _)| claims)
    }

    /// Verifies a token as [`Authenticator::verify`] does, and returns
    /// every claim it carries beside the platform's (an ID token's `nonce`).
    pub async fn verify_all(
        &self,
        token: &str,
    ) -> Result<(Claims, serde_json::Map<String, serde_json::Value>), String> {
        // `alg: none` (and any name jsonwebtoken does not know) fails here.
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        if !self.algorithms.contains(&header.alg) {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        let key = match &self.keys {
            Keys::Embedded { decoding, .. } => decoding.clone(),
            Keys::Jwks(cache) => {
                let kid = header.kid.as_deref().ok_or("token has no key id")?;
                let jwk = match cache.find(kid) {
                    Some(jwk) => jwk,
                    None => {
                        cache.refetch(false).await;
                        cache
                            .find(kid)
                            .ok_or_else(|| format!("unknown key id {kid}"))?
                    }
                };
                if let Some(alg) = jwk.common.key_algorithm
                    && alg.to_string() != format!("{:?}", header.alg)
                {
                    return Err(format!("key {kid} is for {alg}, not {:?}", header.alg));
                }
                DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key {kid}: {e}"))?
            }
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let all = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| format!("invalid token: {e}"))?
        .claims;
        let claims = Claims::read(&all, &self.audience, &self.roles_claim)?;
        Ok((claims, all))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|e| RuntimeError::Io(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator() -> Authenticator {
        let dir = std::env::temp_dir().join(format!("casework-auth-{}", uuid::Uuid::new_v4()));
        Authenticator::embedded(&dir, "casework", "casework").unwrap()
    }

    fn claims(roles: &[&str], scopes: &[&str]) -> Claims {
        Claims {
            sub: "ada".into(),
            iss: "casework".into(),
            aud: "casework".into(),
            exp: u64::MAX,
            iat: 0,
            roles: roles.iter().map(|r| r.to_string()).collect(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            client_id: None,
        }
    }

    #[tokio::test]
    async fn an_issued_token_verifies_and_a_tampered_one_does_not() {
        let auth = authenticator();
        let token = auth
            .issue("ada", &["caseworker".into()], &[], Duration::from_secs(60))
            .unwrap();
        let verified = auth.verify(&token).await.unwrap();
        assert_eq!(verified.sub, "ada");
        assert_eq!(verified.roles, vec!["caseworker"]);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(auth.verify(&tampered).await.is_err());
        // Another installation's key does not verify it either.
        assert!(authenticator().verify(&token).await.is_err());
    }

    #[test]
    fn an_expired_token_is_refused() {
        let auth = authenticator();
        let token = auth.issue("ada", &[], &[], Duration::ZERO).unwrap();
        std::thread::sleep(Duration::from_millis(1100));
        // jsonwebtoken allows 60 s of leeway by default; verify with none.
        let Keys::Embedded { decoding, .. } = &auth.keys else {
            unreachable!()
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_audience(&["casework"]);
        assert!(jsonwebtoken::decode::<Claims>(&token, decoding, &validation).is_err());
    }

    #[test]
    fn policies_allow_only_their_grants() {
        let caseworker = claims(&["caseworker"], &[]);
        let officer = claims(&["officer"], &[]);
        let hmpo = claims(&[], &["hmpo"]);
        let policy = Policy::Grants(vec![
            "role:caseworker".into(),
            "role:senior-caseworker".into(),
        ]);
        assert!(policy.allows(&caseworker));
        assert!(!policy.allows(&officer));
        assert!(!policy.allows(&hmpo));
        assert!(Policy::Grants(vec!["scope:hmpo".into()]).allows(&hmpo));
        assert!(!Policy::Undeclared.allows(&claims(&ROLES, &[])));
        assert!(Policy::Public.allows(&officer));
    }
}
