//! Versioned decision tables.
