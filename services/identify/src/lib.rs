//! Identify: who an applicant is.
