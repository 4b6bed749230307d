//! What the engine's benches share: the sizes asked for, the shipped person
//! policy, and the process's memory.

use std::path::Path;

use casework_matching::Matcher;

/// The sizes given as the first argument not starting with `-`
/// (comma-separated), or `default`.
pub fn sizes(default: &str) -> Vec<usize> {
    std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| default.into())
        .split(',')
        .map(|s| s.parse().expect("sizes: comma-separated numbers"))
        .collect()
}

/// The shipped person policy and model (`config/matching/person.toml`).
pub fn person_matcher() -> Matcher {
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/matching/person.toml");
    Matcher::load(&policy).expect("the person policy and model")
}

/// The process's resident set, from `/proc/self/statm` (0 where there is none).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
