//! Sessions: a random token in an `HttpOnly`, `SameSite=Lax` cookie
//! (`Secure` when `web.secure_cookies` is set, as it must be behind TLS), its SHA-256 the key of a row in the front end's
//! own database (so a copy of the table opens no sessions), holding the
//! answers in progress and the CSRF token every form carries. A session
//! ends after `web.session_minutes` without a request.

use std::collections::BTreeMap;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casework_store::Store;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::WebError;
use crate::forms::Answers;
use crate::tables::{session, status_check};

/// The cookie's name; behind TLS with the `__Host-` prefix, which a browser
/// accepts only from this host, over HTTPS, for the whole site, so no
/// sibling domain or plain-HTTP page can plant a session of its choosing.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-casework_session"
    } else {
        "casework_session"
    }
}

/// What a session holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// Answers in progress, by product.
    #[serde(default)]
    pub(crate) answers: BTreeMap<String, Answers>,
    /// The Idempotency-Key of each product's next submission, made when its
    /// check-your-answers page is shown, so a double click sends one key.
    #[serde(default)]
    pub(crate) submission_keys: BTreeMap<String, String>,
    /// The last submission of each product: its key and reference.
    #[serde(default)]
    pub(crate) submitted: BTreeMap<String, Submitted>,
    /// The staff member signed in, if one is.
    #[serde(default)]
    pub(crate) staff: Option<Staff>,
    /// A sign-in through the identity provider under way.
    #[serde(default)]
    pub(crate) oidc: Option<PendingSignIn>,
    /// What the last action came to, shown once on the next page.
    #[serde(default)]
    pub(crate) flash: Option<Flash>,
}

/// A signed-in staff member. Their platform token is held here, server
/// side, and sent to the APIs with each call: it never reaches the browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Staff {
    /// Who (the token's `sub`).
    pub(crate) sub: String,
    /// Their name as shown.
    pub(crate) name: String,
    /// Their roles.
    pub(crate) roles: Vec<String>,
    /// The platform token.
    pub(crate) token: String,
    /// When the token expires: they sign in again then.
    pub(crate) until: DateTime<Utc>,
}

impl Staff {
    /// Whether they hold any of `roles`.
    pub(crate) fn holds(&self, roles: &[&str]) -> bool {
        self.roles.iter().any(|r| roles.contains(&r.as_str()))
    }
}

/// What the callback of a sign-in at the identity provider must match.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingSignIn {
    /// The `state` sent (CSRF of the redirect).
    pub(crate) state: String,
    /// The `nonce` the ID token must carry.
    pub(crate) nonce: String,
    /// The PKCE code verifier.
    pub(crate) verifier: String,
    /// Where to go after.
    pub(crate) next: String,
}

/// A message for the next page (a notification banner).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Flash {
    /// Its heading.
    pub(crate) heading: String,
    /// `success` or empty (important).
    pub(crate) kind: String,
}

/// A submitted application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Submitted {
    /// The Idempotency-Key it was sent with.
    pub(crate) key: String,
    /// The reference it was given.
    pub(crate) reference: String,
}

/// One browser's session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    key: String,
    /// The cookie to set: a new session's token.
    new_token: Option<String>,
    pub(crate) csrf: String,
    pub(crate) data: SessionData,
    expires_at: DateTime<Utc>,
}

impl Session {
    /// The cookie a response must set, for a session just begun.
    pub(crate) fn cookie(&self, secure: bool) -> Option<Cookie<'static>> {
        self.new_token.as_ref().map(|token| {
            Cookie::build(cookie_name(secure), token.clone())
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(secure)
                .finish()
        })
    }

    /// Whether `token` (from a form) is this session's CSRF token.
    pub(crate) fn csrf_matches(&self, token: &str) -> bool {
        // Compared as digests, so the time taken says nothing about the token.
        Sha256::digest(token.as_bytes()) == Sha256::digest(self.csrf.as_bytes())
    }
}

/// The sessions table.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    store: Store,
    lifetime: Duration,
    pub(crate) secure: bool,
}

/// 32 random bytes, base64url: tokens, CSRF, PKCE verifiers, nonces.
pub(crate) fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| WebError::Api(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The hex SHA-256 of a token: what is kept of it.
pub(crate) fn digest_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Sessions {
    pub(crate) fn new(store: Store, lifetime: Duration, secure: bool) -> Self {
        Self {
            store,
            lifetime,
            secure,
        }
    }

    /// The request's live session, if it has one.
    pub(crate) async fn find(&self, req: &HttpRequest) -> Result<Option<Session>, WebError> {
        let Some(cookie) = req.cookie(cookie_name(self.secure)) else {
            return Ok(None);
        };
        let key = digest_hex(cookie.value());
        let row = session::Entity::find_by_id(key.clone())
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(self.store.connection())
            .await?;
        Ok(row.map(|row| Session {
            key,
            new_token: None,
            csrf: row.csrf,
            data: serde_json::from_str(&row.data).unwrap_or_default(),
            expires_at: row.expires_at,
        }))
    }

    /// The request's live session, or a new one (saved, so its CSRF token
    /// is good for the form the page carries).
    pub(crate) async fn find_or_begin(&self, req: &HttpRequest) -> Result<Session, WebError> {
        if let Some(session) = self.find(req).await? {
            // Extended at most once a minute: a page view is not always a write.
            if session.expires_at - Utc::now() < self.lifetime - Duration::minutes(1) {
                self.save(&session).await?;
            }
            return Ok(session);
        }
        let token = random_token()?;
        let session = Session {
            key: digest_hex(&token),
            new_token: Some(token),
            csrf: random_token()?,
            data: SessionData::default(),
            expires_at: Utc::now() + self.lifetime,
        };
        self.save(&session).await?;
        Ok(session)
    }

    /// The same session under a new token and CSRF token, the old one
    /// deleted: at sign-in, so a token known before it (planted, or seen)
    /// opens nothing after.
    pub(crate) async fn renew(&self, session: &Session) -> Result<Session, WebError> {
        self.end(session).await?;
        let token = random_token()?;
        let renewed = Session {
            key: digest_hex(&token),
            new_token: Some(token),
            csrf: random_token()?,
            data: session.data.clone(),
            expires_at: Utc::now() + self.lifetime,
        };
        self.save(&renewed).await?;
        Ok(renewed)
    }

    /// Ends a session (sign-out): its row is deleted.
    pub(crate) async fn end(&self, session: &Session) -> Result<(), WebError> {
        session::Entity::delete_by_id(session.key.clone())
            .exec(self.store.writer())
            .await?;
        Ok(())
    }

    /// Writes the session back, extending it.
    pub(crate) async fn save(&self, session: &Session) -> Result<(), WebError> {
        let now = Utc::now();
        let row = session::ActiveModel {
            id: Set(session.key.clone()),
            csrf: Set(session.csrf.clone()),
            data: Set(serde_json::to_string(&session.data).unwrap_or_else(|_| "{}".into())),
            created_at: Set(now),
            expires_at: Set(now + self.lifetime),
        };
        session::Entity::insert(row)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([session::Column::Data, session::Column::ExpiresAt])
                    .to_owned(),
            )
            .exec(self.store.writer())
            .await?;
        Ok(())
    }

    /// Records a status check from `client` and says whether it may go
    /// ahead: not if the client has made more than `limit` in the last
    /// minute, this one included (recorded first, so a burst of concurrent
    /// checks cannot all pass). Only a hash of the address is kept, and an
    /// IPv6 address counts by its /64, which one household or host holds.
    pub(crate) async fn allow_status_check(
        &self,
        client: std::net::IpAddr,
        limit: u32,
    ) -> Result<bool, WebError> {
        use sea_orm::PaginatorTrait;
        let bucket = match client {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        };
        let client = digest_hex(&bucket);
        let now = Utc::now();
        status_check::Entity::insert(status_check::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            client: Set(client.clone()),
            at: Set(now),
        })
        .exec(self.store.writer())
        .await?;
        let recent = status_check::Entity::find()
            .filter(status_check::Column::Client.eq(client))
            .filter(status_check::Column::At.gt(now - Duration::minutes(1)))
            .count(self.store.writer())
            .await?;
        Ok(recent <= u64::from(limit))
    }

    /// Deletes ended sessions and old status checks every few minutes,
    /// until `shutdown`.
    pub(crate) async fn purge_expired(self, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(300)) => {}
            }
            let now = Utc::now();
            let db = self.store.writer();
            let sessions = session::Entity::delete_many()
                .filter(session::Column::ExpiresAt.lt(now))
                .exec(db)
                .await;
            let checks = status_check::Entity::delete_many()
                .filter(status_check::Column::At.lt(now - Duration::hours(1)))
                .exec(db)
                .await;
            match (sessions, checks) {
                (Ok(s), Ok(c)) => tracing::debug!(
                    sessions = s.rows_affected,
                    status_checks = c.rows_affected,
                    "purged ended sessions"
                ),
                (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "could not purge sessions"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_tls_the_cookie_is_secure_and_host_only() {
        let session = Session {
            key: digest_hex("token"),
            new_token: Some("token".into()),
            csrf: "csrf".into(),
            data: SessionData::default(),
            expires_at: Utc::now(),
        };
        let plain = session.cookie(false).expect("a new session's cookie");
        assert_eq!(plain.name(), "casework_session");
        assert_eq!(plain.http_only(), Some(true));
        assert_eq!(plain.same_site(), Some(SameSite::Lax));
        assert_ne!(plain.secure(), Some(true));
        let tls = session.cookie(true).expect("a new session's cookie");
        assert_eq!(tls.name(), "__Host-casework_session");
        assert_eq!((tls.secure(), tls.path()), (Some(true), Some("/")));
        assert!(tls.domain().is_none());
        assert!(session.csrf_matches("csrf") && !session.csrf_matches("csrF"));
    }
}
