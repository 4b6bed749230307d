//! Decide: rule sets applied to evidence.
