//! One matching engine for people: "is this record someone we already
//! know?", answered with a weight of evidence and the reasons for it.
//!
//! 1. [`prepare`]: names from any script transliterated to Latin and
//!    folded, phonetic keys, dates and codes parsed — once per record.
//! 2. [`compare`]: two records compared field by field, each field at a
//!    *level* (exact, day and month swapped, Jaro-Winkler ≥ 0.92, …).
//! 3. [`model`]: Fellegi–Sunter weights per level, from `m` and `u`
//!    probabilities; thresholds turn a total into match, possible match or
//!    non-match; [`model::Explanation`] lists every field's level and weight.
//! 4. [`estimate`]: `m`, `u` and the prior estimated from unlabelled data by
//!    random sampling and expectation–maximisation, as Splink does.
//! 5. [`index`]: blocking keys, and an in-memory index on them, so a new
//!    record is compared with a few candidates, not with everyone.
//!
//! [`policy`] loads a model with the thresholds a use of it decides by;
//! [`synth`] makes people and their variant records for benchmarks and tests.

pub mod compare;
mod error;
pub mod estimate;
pub mod index;
pub mod model;
pub mod policy;
pub mod prepare;
pub mod record;
mod rng;
pub mod synth;

pub use compare::{Comparison, Field, compare};
pub use error::MatchingError;
pub use index::{Hit, Index, blocking_keys};
pub use model::{Decision, Explanation, Model, Scorer, Thresholds};
pub use policy::{Matcher, Policy};
pub use prepare::Prepared;
pub use record::{Address, Identifier, Record};
