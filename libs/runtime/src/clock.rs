//! The one source of "today": the system's date, or a fixed day that tests
//! and demonstrations set with `clock.today`.

use chrono::{NaiveDate, Utc};

/// What day it is. Cheap to copy; every service that reasons about dates
/// (spent convictions, issue dates, import checks) takes it from its
/// [`crate::ServiceContext`], so a test fixes it in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    fixed: Option<NaiveDate>,
}

impl Clock {
    /// The system's date, in UTC.
    pub fn system() -> Self {
        Self { fixed: None }
    }

    /// Always `today`.
    pub fn fixed(today: NaiveDate) -> Self {
        Self { fixed: Some(today) }
    }

    /// Today's date.
    pub fn today(&self) -> NaiveDate {
        self.fixed.unwrap_or_else(|| Utc::now().date_naive())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}
