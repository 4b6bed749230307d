//! Versioned decision tables, held as data and evaluated against a case's
//! evidence.
//!
//! The Decide service grants, refuses or refers a case by evaluating the
//! product's rule set, a table in `config/rules/<id>/v<version>.toml`, against
//! the case's evidence (a JSON document). Changing a rule is a change to that
//! data, never to code, and every [`Decision`] records the rule set's id and
//! version and the rules that fired, so it can be explained and replayed.
//!
//! - [`RuleBook::load`] reads every version of every rule set at start.
//! - [`RuleSet::from_toml`] reads and checks one, with errors that name the
//!   file, the rule and what is wrong.
//! - [`RuleSet::evaluate`] decides: the most severe outcome among the rules
//!   that fired (refuse, then refer, then grant), else the default.
//!
//! The file format:
//!
//! ```toml
//! id = "visit-visa"            # the directory name
//! version = 2                  # the file name: v2.toml
//! description = "Visit visa: automatic grant unless a check finds something"
//! default = { outcome = "grant", reason = "Identity established and no adverse findings" }
//!
//! [[rules]]
//! id = "lost-stolen-document"
//! outcome = "refuse"           # grant | refer | refuse
//! reason = "The passport presented is recorded as lost or stolen"
//! enforce = true
//! when = [
//!   { fact = "/investigation/findings", any = [ { fact = "/kind", op = "eq", value = "lost-stolen-document" } ] },
//! ]
//! ```
//!
//! See [`Condition`] and [`Test`] for the conditions and how absent or
//! mistyped facts are treated (never as evidence).
//!
//! This crate must never do I/O beyond reading the rule files, nor hold a
//! product's rules in code.

mod book;
mod condition;
mod error;
mod format;
mod rule_set;

pub use book::RuleBook;
pub use casework_contracts::Outcome;
pub use casework_contracts::payloads::FiredRule;
pub use condition::{Comparison, Condition, Test};
pub use error::RulesError;
pub use rule_set::{Decision, DefaultOutcome, Rule, RuleSet};
