//! Investigate: screening against the warnings index and records.
