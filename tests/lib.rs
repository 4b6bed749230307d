//! End-to-end tests of the whole platform live in `platform.rs`; this crate has no library code.
