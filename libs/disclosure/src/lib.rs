//! When a conviction or caution is spent, and what a certificate may
//! disclose.
//!
//! Whether a record is spent is never stored: the passage of time changes
//! it. It is computed from the record's facts (conviction date, disposal,
//! sentence length or order end, date of birth, Schedule 18) on the day it
//! matters, by a versioned table of rehabilitation periods held as data
//! (`config/rehabilitation/v<N>.toml`, which names the law it states):
//!
//! - [`RehabilitationTables::load`] reads every version at start;
//! - [`RehabilitationTable::assess`] assesses all of one person's records on
//!   a day, so a further conviction can extend an earlier period (s.6(4) of
//!   the Rehabilitation of Offenders Act 1974, with its exceptions);
//! - [`Level::discloses`] says whether a certificate of a level lists a
//!   record so assessed, or cannot be issued until a person decides.
//!
//! Investigate assesses at the check; Fulfil assesses again on the
//! certificate's issue date, since a referral can wait weeks.
//!
//! This crate does no I/O beyond reading the table files.

mod assess;
mod length;
mod table;

pub use assess::{Assessment, RecordFacts, Status};
pub use length::Length;
pub use table::{
    Band, Disposal, Period, Reckoning, RehabilitationTable, RehabilitationTables, Start,
};

/// The one error type of this crate: a table that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum DisclosureError {
    /// A file or directory could not be read.
    #[error("{path}: {why}")]
    Io {
        /// What could not be read.
        path: String,
        /// Why.
        why: String,
    },
    /// A table is not valid; `origin` names its file.
    #[error("{origin}: {why}")]
    Invalid {
        /// The file.
        origin: String,
        /// What is wrong.
        why: String,
    },
}

/// What a certificate discloses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A basic certificate: unspent convictions and unspent conditional
    /// cautions only (a simple caution is spent at once, so never listed).
    Basic,
}

impl Level {
    /// Every level, and its name in a product's fulfil route.
    pub const ALL: [(Level, &'static str); 1] = [(Level::Basic, "basic")];

    /// The level of that name.
    pub fn parse(name: &str) -> Option<Level> {
        Level::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(level, _)| *level)
    }

    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Basic => "basic",
        }
    }

    /// Whether a record so assessed is listed; `Err` with the reason when
    /// it is undetermined, which must be neither printed nor hidden.
    pub fn discloses(self, assessment: &Assessment) -> Result<bool, String> {
        match (self, assessment.status) {
            (Level::Basic, Status::Spent) => Ok(false),
            (Level::Basic, Status::Unspent | Status::NeverSpent) => Ok(true),
            (Level::Basic, Status::Undetermined) => Err(assessment.reason.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
