//! What the services' HTTP APIs answer, typed once for both sides: the
//! service that serves a view and the web front end that reads it.

use serde::{Deserialize, Serialize};

/// What an applicant gets back on submitting an application.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Acknowledgement {
    /// The case's id.
    pub case_id: String,
    /// The reference to quote.
    pub reference: String,
    /// `received`.
    pub status: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
}

/// An applicant's question: where is my application? Both must match.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusQuery {
    /// The reference they were given, e.g. `VV-7KQ4-M2XD-P`.
    pub reference: String,
    /// Their date of birth, `YYYY-MM-DD`, as on the application.
    pub date_of_birth: String,
}

/// The answer: where the application is, and nothing else about it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApplicationStatus {
    /// The reference.
    pub reference: String,
    /// The product applied for (its id).
    pub product: String,
    /// Its name, e.g. `Visit visa`.
    pub product_name: String,
    /// A case status: `received`, `in-progress`, `referred`, `decided`, `closed`.
    pub status: String,
    /// `granted` or `refused`, once decided.
    pub outcome: Option<String>,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// The working days the product's service level promises.
    pub service_level_days: u32,
}
