//! What every service stands on: configuration, telemetry, HTTP scaffolding,
//! problem+json errors, access control, idempotent creation, and the start-up
//! path shared by `casework up` (every service in one process) and
//! `casework serve <service>` (one per process).
//!
//! It must never hold business rules: services bring those as [`ServiceParts`].

pub mod audit;
pub mod auth;
pub mod background;
pub mod clock;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod limits;
pub mod platform;
pub mod problem;
pub mod settings;
pub mod telemetry;

pub use auth::{Authenticator, Claims, Policy};
pub use clock::Clock;
pub use error::RuntimeError;
pub use platform::{Platform, ServiceContext, ServiceParts};
pub use problem::Problem;
pub use settings::Settings;
