//! The audit trail of personal data: every read or disclosure is recorded
//! with who (the token's subject), what, and when (the record's time), on the
//! `audit` log target, so it can be routed to its own store.

use actix_web::{HttpMessage, HttpRequest};

use crate::auth::Claims;

/// The subject of the verified token of a request (empty on a public route).
pub fn caller(req: &HttpRequest) -> String {
    req.extensions()
        .get::<Claims>()
        .map(|claims| claims.sub.clone())
        .unwrap_or_default()
}

/// Why the caller says they read it: the request's `Purpose` header (the
/// web front end sends the page's purpose, e.g. `case-review`); empty if none.
pub fn purpose(req: &HttpRequest) -> String {
    req.headers()
        .get("Purpose")
        .and_then(|v| v.to_str().ok())
        .map(|p| p.chars().take(200).collect())
        .unwrap_or_default()
}

/// Records that the caller of `req` did `action` on personal data `what`,
/// and why (its `Purpose`).
pub fn record(req: &HttpRequest, action: &str, what: &str) {
    tracing::info!(target: "audit", who = %caller(req), purpose = %purpose(req), action, what, "personal data read");
}
