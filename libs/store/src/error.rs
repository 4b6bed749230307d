//! The one error type of the storage crate, and which failures are worth retrying.

use sea_orm::{DbErr, RuntimeErr};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The settings are unusable (a start-up error).
    #[error("database settings: {0}")]
    Settings(String),
    /// The group commit a write was part of failed.
    #[error("the batch this write was part of failed: {reason}")]
    BatchFailed {
        /// Whether retrying may succeed.
        transient: bool,
        /// What went wrong.
        reason: String,
    },
    /// A stored row could not be read back (corrupt or from a newer version).
    #[error("stored row {table}#{id} is unreadable: {reason}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Row id.
        id: String,
        /// What went wrong.
        reason: String,
    },
}

impl StoreError {
    /// Whether trying again later may succeed: the database is unavailable,
    /// busy, timed out, or aborted the transaction for a conflict. Such a
    /// failure holds a consumer's partition and never dead-letters an event.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(err) => is_transient_db(err),
            StoreError::BatchFailed { transient, .. } => *transient,
            StoreError::Settings(_) | StoreError::Corrupt { .. } => false,
        }
    }
}

/// Whether a database error is transient (see [`StoreError::is_transient`]).
pub fn is_transient_db(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(runtime) | DbErr::Exec(runtime) | DbErr::Query(runtime) => {
            is_transient_runtime(runtime)
        }
        _ => false,
    }
}

fn is_transient_runtime(err: &RuntimeErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let RuntimeErr::SqlxError(err) = err else {
        return false;
    };
    match err.as_ref() {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed
        | Sqlx::Protocol(_) => true,
        Sqlx::Database(db) => db.code().is_some_and(|code| is_transient_code(&code)),
        _ => false,
    }
}

/// SQLite result codes and PostgreSQL SQLSTATEs that mean "try again".
fn is_transient_code(code: &str) -> bool {
    // A SQLSTATE is always five characters; SQLite's (extended) codes stay below 10000.
    if code.len() == 5 {
        return matches!(
            code,
            // serialization_failure, deadlock_detected
            "40001" | "40P01"
            // lock_not_available, query_canceled (statement timeout)
            | "55P03" | "57014"
            // admin/crash shutdown, cannot connect now
            | "57P01" | "57P02" | "57P03"
            // too_many_connections
            | "53300"
        ) || code.starts_with("08"); // connection exceptions
    }
    // SQLite: BUSY (5) and LOCKED (6), with their extended codes (low byte 5 or 6).
    code.parse::<u32>()
        .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_locked_and_connection_codes_are_transient() {
        for code in [
            "5", "6", "261", "517", "262", "40001", "40P01", "08006", "57P01", "55P03",
        ] {
            assert!(is_transient_code(code), "{code}");
        }
    }

    #[test]
    fn constraint_and_syntax_errors_are_permanent() {
        // SQLite CONSTRAINT (19) and its UNIQUE variant (2067); PostgreSQL unique and syntax errors.
        for code in ["19", "2067", "1", "23505", "42601", "22P02"] {
            assert!(!is_transient_code(code), "{code}");
        }
    }

    #[test]
    fn a_pool_timeout_is_transient_and_a_missing_record_is_not() {
        let timeout = DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout);
        assert!(StoreError::from(timeout).is_transient());
        assert!(!StoreError::from(DbErr::RecordNotFound("x".into())).is_transient());
    }
}
