//! The one error type of this crate.

use std::path::PathBuf;

/// Why a rule set could not be read, or an outcome not parsed.
///
/// Every message names where the problem is (the file, or the rule set when
/// it did not come from a file) and, when the problem is inside a rule, that
/// rule's id, so whoever edits the table can fix it without reading code.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A rule set, or the directory layout holding rule sets, is invalid.
    #[error(
        "{origin}: {}{reason}",
        rule.as_ref().map(|id| format!("rule `{id}`: ")).unwrap_or_default()
    )]
    Invalid {
        /// Where the rule set came from: its file, or `rule set <id> v<N>`.
        origin: String,
        /// The rule at fault, when there is one: its id, or `#<n>` (counting
        /// from 1) when the rule has no usable id.
        rule: Option<String>,
        /// What is wrong, naming the key.
        reason: String,
    },
}
