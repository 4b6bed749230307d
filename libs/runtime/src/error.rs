//! The one error type of the runtime crate.

/// A failure to start or run the platform's plumbing.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The configuration is unusable; the message names the key.
    #[error("configuration: {0}")]
    Config(String),
    /// A file or socket could not be used.
    #[error("{0}")]
    Io(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] casework_store::StoreError),
    /// The broker failed.
    #[error(transparent)]
    Bus(#[from] casework_bus::BusError),
    /// A schema or catalogue is broken.
    #[error(transparent)]
    Contract(#[from] casework_contracts::ContractError),
}
