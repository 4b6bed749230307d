//! The crate's one error type.

/// What can go wrong loading a model or reading a record.
#[derive(Debug, thiserror::Error)]
pub enum MatchingError {
    /// A model file that cannot be read as a model.
    #[error("model: {0}")]
    Model(String),
    /// A record without a name to match on.
    #[error("record: {0}")]
    Record(String),
    /// JSON that does not parse.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}
