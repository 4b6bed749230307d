//! Tokens verified against a JWKS that this test serves over HTTP, as an
//! OIDC issuer would: the algorithm allow-list, the key's own `alg`, key
//! rotation, and the usual refusals (expired, wrong audience, `alg: none`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use casework_runtime::{Authenticator, Claims};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};

const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "casework";

fn key(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/keys/{name}.der", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn rsa(name: &str) -> EncodingKey {
    EncodingKey::from_rsa_der(&key(name))
}

/// The public half of `encoding` as a JWK with id `kid`; `alg` as the JWK's
/// own algorithm, or none.
fn jwk(encoding: &EncodingKey, family: Algorithm, kid: &str, alg: Option<Algorithm>) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(encoding, family).expect("JWK");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.key_algorithm = alg.map(Into::into);
    jwk
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(exp: u64, aud: &str) -> Claims {
    Claims {
        sub: "ada".into(),
        iss: ISSUER.into(),
        aud: aud.into(),
        exp,
        iat: now(),
        roles: vec!["caseworker".into()],
        client_id: None,
        scopes: vec![],
    }
}

fn token(alg: Algorithm, kid: &str, key: &EncodingKey, claims: &Claims) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn good(alg: Algorithm, kid: &str, key: &EncodingKey) -> String {
    token(alg, kid, key, &claims(now() + 600, AUDIENCE))
}

/// An issuer's JWKS endpoint on a free port, serving whatever `keys` holds
/// and counting its requests.
struct Issuer {
    url: String,
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<Mutex<u32>>,
}

impl Issuer {
    async fn start(keys: Vec<Jwk>) -> Issuer {
        let keys = Arc::new(Mutex::new(JwkSet { keys }));
        let fetches = Arc::new(Mutex::new(0));
        let (served, counted) = (keys.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (served, counted) = (served.clone(), counted.clone());
            App::new().route(
                "/jwks.json",
                web::get().to(move || {
                    let (served, counted) = (served.clone(), counted.clone());
                    async move {
                        *counted.lock().unwrap() += 1;
                        let set = served.lock().unwrap().clone();
                        HttpResponse::Ok().json(set)
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind("127.0.0.1:0")
        .expect("bind");
        let address = server.addrs()[0];
        tokio::spawn(server.run());
        Issuer {
            url: format!("http://{address}/jwks.json"),
            keys,
            fetches,
        }
    }

    fn publish(&self, keys: Vec<Jwk>) {
        *self.keys.lock().unwrap() = JwkSet { keys };
    }

    fn fetches(&self) -> u32 {
        *self.fetches.lock().unwrap()
    }

    async fn authenticator(&self, min_refetch: Duration) -> Authenticator {
        Authenticator::from_jwks(
            &self.url,
            ISSUER,
            AUDIENCE,
            min_refetch,
            Duration::from_secs(3600),
        )
        .await
        .expect("JWKS")
    }
}

#[tokio::test]
async fn the_algorithm_is_checked_against_the_allow_list_and_the_key() {
    let signer = rsa("rsa-1");
    // A key that does not name its algorithm: only the allow-list stands
    // between a token and an algorithm the key was not meant for.
    let issuer = Issuer::start(vec![jwk(&signer, Algorithm::RS256, "k1", None)]).await;
    let auth = issuer.authenticator(Duration::from_secs(30)).await;

    let claims = auth
        .verify(&good(Algorithm::RS256, "k1", &signer))
        .await
        .expect("an RS256 token with the published key");
    assert_eq!(claims.sub, "ada");
    for alg in [Algorithm::RS384, Algorithm::PS256] {
        let err = auth
            .verify(&good(alg, "k1", &signer))
            .await
            .expect_err("refused");
        assert!(err.contains("not accepted"), "{alg:?}: {err}");
    }

    // A key that names its algorithm refuses any other, even one the
    // allow-list accepts.
    issuer.publish(vec![jwk(
        &signer,
        Algorithm::RS256,
        "k1",
        Some(Algorithm::RS256),
    )]);
    let auth = issuer
        .authenticator(Duration::from_secs(30))
        .await
        .with_algorithms(vec![Algorithm::RS256, Algorithm::PS256]);
    let err = auth
        .verify(&good(Algorithm::PS256, "k1", &signer))
        .await
        .expect_err("refused");
    assert!(err.contains("key k1 is for RS256"), "{err}");
    assert!(
        auth.verify(&good(Algorithm::RS256, "k1", &signer))
            .await
            .is_ok()
    );

    // ES256 is accepted by default, with an EC key.
    let ec = EncodingKey::from_ec_der(&key("ec-1"));
    issuer.publish(vec![jwk(
        &ec,
        Algorithm::ES256,
        "e1",
        Some(Algorithm::ES256),
    )]);
    let auth = issuer.authenticator(Duration::from_secs(30)).await;
    assert!(
        auth.verify(&good(Algorithm::ES256, "e1", &ec))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_one_refetch() {
    let (old, new) = (rsa("rsa-1"), rsa("rsa-2"));
    let issuer = Issuer::start(vec![jwk(&old, Algorithm::RS256, "2026-1", None)]).await;
    let auth = issuer.authenticator(Duration::from_millis(200)).await;
    assert_eq!(issuer.fetches(), 1);
    assert!(
        auth.verify(&good(Algorithm::RS256, "2026-1", &old))
            .await
            .is_ok()
    );

    // The issuer rotates: the old key goes, a new one comes.
    issuer.publish(vec![jwk(&new, Algorithm::RS256, "2026-2", None)]);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let claims = auth
        .verify(&good(Algorithm::RS256, "2026-2", &new))
        .await
        .expect("the new key after a refetch");
    assert_eq!(claims.sub, "ada");
    assert_eq!(issuer.fetches(), 2);

    // Unknown key ids refetch at most once per min_refetch, however many come.
    for _ in 0..5 {
        let err = auth
            .verify(&good(Algorithm::RS256, "nobody", &new))
            .await
            .expect_err("unknown key");
        assert!(err.contains("unknown key id nobody"), "{err}");
    }
    assert_eq!(issuer.fetches(), 2, "within min_refetch of the last fetch");
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(
        auth.verify(&good(Algorithm::RS256, "nobody", &new))
            .await
            .is_err()
    );
    assert_eq!(issuer.fetches(), 3);
    // The old key is gone from the set: its tokens are refused now.
    assert!(
        auth.verify(&good(Algorithm::RS256, "2026-1", &old))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_set_is_refreshed_on_its_own() {
    let (old, new) = (rsa("rsa-1"), rsa("rsa-2"));
    let issuer = Issuer::start(vec![jwk(&old, Algorithm::RS256, "a", None)]).await;
    let auth = Authenticator::from_jwks(
        &issuer.url,
        ISSUER,
        AUDIENCE,
        Duration::from_secs(3600),
        Duration::from_millis(200),
    )
    .await
    .expect("JWKS");
    issuer.publish(vec![jwk(&new, Algorithm::RS256, "b", None)]);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(issuer.fetches() >= 2, "{} fetches", issuer.fetches());
    // Found without a refetch (min_refetch is an hour): the refresh had it.
    assert!(
        auth.verify(&good(Algorithm::RS256, "b", &new))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn expired_wrong_audience_and_unsigned_tokens_are_refused() {
    let signer = rsa("rsa-1");
    let issuer = Issuer::start(vec![jwk(&signer, Algorithm::RS256, "k1", None)]).await;
    let auth = issuer.authenticator(Duration::from_secs(30)).await;

    // Expired beyond the 60 s leeway.
    let expired = token(
        Algorithm::RS256,
        "k1",
        &signer,
        &claims(now() - 120, AUDIENCE),
    );
    let err = auth.verify(&expired).await.expect_err("expired");
    assert!(err.contains("ExpiredSignature"), "{err}");

    let elsewhere = token(
        Algorithm::RS256,
        "k1",
        &signer,
        &claims(now() + 600, "another-service"),
    );
    let err = auth.verify(&elsewhere).await.expect_err("wrong audience");
    assert!(err.contains("InvalidAudience"), "{err}");

    // `alg: none`, with and without a signature.
    let b64 = |s: &str| {
        use std::fmt::Write;
        // URL-safe base64 without padding, by hand: the test needs no crate for it.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                let _ = write!(
                    out,
                    "{}",
                    ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char
                );
            }
        }
        out
    };
    let body = serde_json::to_string(&claims(now() + 600, AUDIENCE)).unwrap();
    for header in [r#"{"alg":"none","kid":"k1"}"#, r#"{"alg":"none"}"#] {
        let unsigned = format!("{}.{}.", b64(header), b64(&body));
        let err = auth.verify(&unsigned).await.expect_err("alg none");
        assert!(err.contains("malformed token"), "{err}");
    }
}
