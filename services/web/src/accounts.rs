//! Local staff accounts: embedded mode's sign-in (production signs in
//! through an OpenID Connect issuer instead, see `signin`).
//!
//! Passwords are kept only as Argon2id hashes (the PHC string carries the
//! salt and parameters). There is no default account and no default
//! password: `casework user add NAME --role ROLE` makes one. After
//! `web.sign_in_attempts` failures in a row an account is locked for
//! `web.lockout_minutes`, whatever is typed.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use casework_store::Store;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};

use crate::WebError;
use crate::tables::account;

/// The shortest password accepted (NCSC: length over complexity rules).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// What a sign-in attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The name and password match: the account's roles.
    Accepted {
        /// The user name.
        name: String,
        /// Its roles.
        roles: Vec<String>,
    },
    /// No such account, or the wrong password (not told apart).
    Refused,
    /// Too many failures: refused until then.
    Locked(DateTime<Utc>),
}

/// The accounts table.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Store,
    attempts: u32,
    lockout: Duration,
}

/// A user name as stored: trimmed, lower case.
fn canonical(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Accounts {
    /// The accounts in `store`, locking after `attempts` failures for `lockout`.
    pub fn new(store: Store, attempts: u32, lockout: Duration) -> Self {
        Self {
            store,
            attempts: attempts.max(1),
            lockout,
        }
    }

    /// Makes an account. Refuses an unknown role, a name in use, and a
    /// password shorter than [`MIN_PASSWORD_CHARS`].
    pub async fn add(&self, name: &str, roles: &[String], password: &str) -> Result<(), WebError> {
        let name = canonical(name);
        let invalid = |why: String| Err(WebError::Account(why));
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("a user name is one word, without spaces".into());
        }
        if roles.is_empty() {
            return invalid("give at least one --role".into());
        }
        if let Some(role) = roles
            .iter()
            .find(|r| !casework_runtime::auth::ROLES.contains(&r.as_str()))
        {
            return invalid(format!(
                "unknown role `{role}`; roles are {:?}",
                casework_runtime::auth::ROLES
            ));
        }
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return invalid(format!(
                "a password has at least {MIN_PASSWORD_CHARS} characters"
            ));
        }
        if account::Entity::find_by_id(name.clone())
            .one(self.store.writer())
            .await?
            .is_some()
        {
            return invalid(format!("there is already a user `{name}`"));
        }
        let hash = hash(password.to_owned()).await?;
        account::ActiveModel {
            name: Set(name),
            password_hash: Set(hash),
            roles: Set(serde_json::to_string(roles).unwrap_or_else(|_| "[]".into())),
            failed_attempts: Set(0),
            locked_until: Set(None),
            created_at: Set(Utc::now()),
        }
        .insert(self.store.writer())
        .await?;
        Ok(())
    }

    /// Checks a name and password, counting failures and locking the
    /// account after too many.
    pub async fn sign_in(&self, name: &str, password: &str) -> Result<SignIn, WebError> {
        let name = canonical(name);
        let found = account::Entity::find_by_id(name.clone())
            .one(self.store.writer())
            .await?;
        let now = Utc::now();
        let Some(row) = found else {
            // The same work as for a real account: the time taken does not
            // say whether the name exists.
            verify(password.to_owned(), dummy_hash().await?).await;
            return Ok(SignIn::Refused);
        };
        if let Some(until) = row.locked_until.filter(|until| *until > now) {
            return Ok(SignIn::Locked(until));
        }
        let matches = verify(password.to_owned(), row.password_hash.clone()).await;
        let failed = row.failed_attempts;
        let roles: Vec<String> = serde_json::from_str(&row.roles).unwrap_or_default();
        let mut update = row.into_active_model();
        let outcome = if matches {
            update.failed_attempts = Set(0);
            update.locked_until = Set(None);
            SignIn::Accepted {
                name: name.clone(),
                roles,
            }
        } else {
            let failed = failed.saturating_add(1);
            if u32::try_from(failed).unwrap_or(u32::MAX) >= self.attempts {
                let until = now + self.lockout;
                update.failed_attempts = Set(0);
                update.locked_until = Set(Some(until));
                tracing::warn!(user = %name, %until, "account locked after repeated failed sign-ins");
                SignIn::Locked(until)
            } else {
                update.failed_attempts = Set(failed);
                SignIn::Refused
            }
        };
        if update.is_changed() {
            update.update(self.store.writer()).await?;
        }
        Ok(outcome)
    }
}

/// Argon2id with the crate's defaults (OWASP's minimum: 19 MiB, 2 passes),
/// off the async threads: it takes tens of milliseconds on purpose.
async fn hash(password: String) -> Result<String, WebError> {
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| WebError::Account(format!("no randomness: {e}")))?;
        let salt =
            SaltString::encode_b64(&salt).map_err(|e| WebError::Account(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| WebError::Account(format!("cannot hash the password: {e}")))
    })
    .await
    .map_err(|e| WebError::Account(format!("hashing stopped: {e}")))?
}

/// Whether `password` is the one `hash` was made from.
async fn verify(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A hash of nothing anyone types, made once, to check unknown names against.
async fn dummy_hash() -> Result<String, WebError> {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_try_init(|| hash("no account has this password".into()))
        .await
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn accounts(attempts: u32) -> (Accounts, casework_testkit::TestDatabase) {
        let (db, store) =
            casework_testkit::migrated_store::<crate::Migrator>(casework_testkit::Backend::Sqlite)
                .await
                .expect("SQLite is always there");
        (Accounts::new(store, attempts, Duration::minutes(15)), db)
    }

    #[tokio::test]
    async fn a_password_signs_in_and_repeated_failures_lock_the_account() {
        let (accounts, _dir) = accounts(3).await;
        let roles = vec!["caseworker".to_owned()];
        accounts
            .add("Ada", &roles, "correct horse battery")
            .await
            .expect("added");
        // Names are not case-sensitive; the hash is not the password.
        assert_eq!(
            accounts
                .sign_in(" ada ", "correct horse battery")
                .await
                .unwrap(),
            SignIn::Accepted {
                name: "ada".into(),
                roles: roles.clone()
            }
        );
        let row = account::Entity::find_by_id("ada".to_owned())
            .one(accounts.store.connection())
            .await
            .unwrap()
            .unwrap();
        assert!(row.password_hash.starts_with("$argon2id$"));
        assert!(!row.password_hash.contains("correct horse"));
        assert_eq!(
            accounts.sign_in("ada", "wrong").await.unwrap(),
            SignIn::Refused
        );
        assert_eq!(
            accounts.sign_in("nobody", "wrong").await.unwrap(),
            SignIn::Refused
        );
        assert_eq!(
            accounts.sign_in("ada", "wrong").await.unwrap(),
            SignIn::Refused
        );
        // The third failure in a row locks it: now even the right password is refused.
        assert!(matches!(
            accounts.sign_in("ada", "wrong").await.unwrap(),
            SignIn::Locked(_)
        ));
        assert!(matches!(
            accounts
                .sign_in("ada", "correct horse battery")
                .await
                .unwrap(),
            SignIn::Locked(_)
        ));
    }

    #[tokio::test]
    async fn bad_accounts_are_refused() {
        let (accounts, _dir) = accounts(5).await;
        let roles = |r: &str| vec![r.to_owned()];
        for (name, roles, password, says) in [
            ("ada", roles("caseworker"), "short", "at least 12"),
            (
                "ada",
                roles("emperor"),
                "long enough password",
                "unknown role",
            ),
            (
                "ada lovelace",
                roles("caseworker"),
                "long enough password",
                "one word",
            ),
            ("ada", Vec::new(), "long enough password", "--role"),
        ] {
            let err = accounts.add(name, &roles, password).await.unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
        accounts
            .add("ada", &roles("officer"), "long enough password")
            .await
            .unwrap();
        let err = accounts
            .add("ADA", &roles("officer"), "long enough password")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
    }
}
