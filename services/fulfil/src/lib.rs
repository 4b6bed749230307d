//! Fulfil: status documents.
