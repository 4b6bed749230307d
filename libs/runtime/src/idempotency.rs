//! The `Idempotency-Key` header of creating POSTs.
//!
//! The key and a hash of the body are checked against
//! [`casework_store::idempotency`] inside the creating transaction: a retry
//! with the same body gets the first response, a reuse with another body gets
//! 409, and a new key creates.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use sha2::{Digest, Sha256};

use crate::problem::Problem;

/// The header's name.
pub const HEADER: &str = "Idempotency-Key";
const MAX_LEN: usize = 255;

/// The request's `Idempotency-Key`, if it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(HEADER) else {
            return ready(Ok(Self(None)));
        };
        let key = value.to_str().ok().map(str::trim).filter(|k| {
            !k.is_empty() && k.len() <= MAX_LEN && k.chars().all(|c| c.is_ascii_graphic())
        });
        ready(match key {
            Some(key) => Ok(Self(Some(key.to_owned()))),
            None => Err(Problem::bad_request(format!(
                "{HEADER} must be 1 to {MAX_LEN} printable ASCII characters"
            ))),
        })
    }
}

/// A stable hash of a request body, hex-encoded.
pub fn request_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[actix_web::test]
    async fn keys_are_read_and_bad_ones_refused() {
        let req = TestRequest::default()
            .insert_header((HEADER, "abc-123"))
            .to_http_request();
        let key = IdempotencyKey::extract(&req).await.unwrap();
        assert_eq!(key.0.as_deref(), Some("abc-123"));
        let req = TestRequest::default().to_http_request();
        assert_eq!(IdempotencyKey::extract(&req).await.unwrap().0, None);
        let req = TestRequest::default()
            .insert_header((HEADER, "has space"))
            .to_http_request();
        assert!(IdempotencyKey::extract(&req).await.is_err());
        let req = TestRequest::default()
            .insert_header((HEADER, "x".repeat(300)))
            .to_http_request();
        assert!(IdempotencyKey::extract(&req).await.is_err());
    }

    #[test]
    fn the_same_body_hashes_the_same() {
        assert_eq!(request_hash(b"{}"), request_hash(b"{}"));
        assert_ne!(request_hash(b"{}"), request_hash(b"{ }"));
    }
}
