//! Every version of every rule set, read from a directory at start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{RuleSet, RulesError};

/// All the rule sets in a directory laid out as `<id>/v<version>.toml`.
///
/// Every version is kept, not only the latest: a decision names the version
/// that made it, and that version must stay readable to explain or replay it.
#[derive(Debug, Clone, Default)]
pub struct RuleBook {
    sets: BTreeMap<String, BTreeMap<u32, RuleSet>>,
}

impl RuleBook {
    /// Reads every `dir/<id>/v<N>.toml`, checking each file (see
    /// [`RuleSet::from_toml`]) and that its `id` and `version` match its path.
    ///
    /// `dir` must exist. Hidden entries (`.git`, `.keep`) and files directly
    /// in `dir` (a README) are ignored, as are files other than `*.toml` in a
    /// rule set's directory. A `*.toml` not named `v<N>.toml` is an error
    /// rather than silently skipped: it was probably meant as a version. So
    /// is a rule set directory with no version in it. A directory with no
    /// rule sets at all gives an empty book.
    pub fn load(dir: &Path) -> Result<Self, RulesError> {
        let mut sets = BTreeMap::new();
        for set_dir in entries(dir)? {
            if !set_dir.is_dir() {
                continue;
            }
            let id = file_name(&set_dir)?;
            let mut versions = BTreeMap::new();
            for path in entries(&set_dir)? {
                if !path.is_file() || path.extension().is_none_or(|ext| ext != "toml") {
                    continue;
                }
                let name = file_name(&path)?;
                let Some(number) = version_of(&name) else {
                    return Err(invalid(
                        &path,
                        format!(
                            "a rule set file is named v<version>.toml, e.g. v1.toml, not `{name}`"
                        ),
                    ));
                };
                let text = std::fs::read_to_string(&path).map_err(|source| RulesError::Io {
                    path: path.clone(),
                    source,
                })?;
                let set = RuleSet::from_toml(&text, &path.display().to_string())?;
                if set.id != id {
                    return Err(invalid(
                        &path,
                        format!("id `{}` must match the directory name `{id}`", set.id),
                    ));
                }
                if set.version != number {
                    return Err(invalid(
                        &path,
                        format!("version {} must match the file name `{name}`", set.version),
                    ));
                }
                versions.insert(number, set);
            }
            if versions.is_empty() {
                return Err(invalid(
                    &set_dir,
                    "a rule set directory needs at least one v<version>.toml".to_owned(),
                ));
            }
            sets.insert(id, versions);
        }
        Ok(Self { sets })
    }

    /// The highest version of a rule set: the one new decisions use.
    pub fn latest(&self, id: &str) -> Option<&RuleSet> {
        self.sets.get(id)?.values().next_back()
    }

    /// One version of a rule set, to explain or replay a past decision.
    pub fn get(&self, id: &str, version: u32) -> Option<&RuleSet> {
        self.sets.get(id)?.get(&version)
    }

    /// The rule sets' ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }

    /// The versions of a rule set, lowest first (none for an unknown id).
    pub fn versions(&self, id: &str) -> impl Iterator<Item = u32> {
        self.sets
            .get(id)
            .into_iter()
            .flat_map(|v| v.keys().copied())
    }
}

/// The visible entries of a directory, sorted so that loading (and the first
/// error reported) does not depend on the file system's order.
fn entries(dir: &Path) -> Result<Vec<PathBuf>, RulesError> {
    let io = |source| RulesError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if !path
            .file_name()
            .is_some_and(|name| name.as_encoded_bytes().starts_with(b"."))
        {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn file_name(path: &Path) -> Result<String, RulesError> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_owned)
        .ok_or_else(|| invalid(path, "the name is not valid UTF-8".to_owned()))
}

/// `N` from `vN.toml`, written without leading zeros so that each version has
/// exactly one file name.
fn version_of(name: &str) -> Option<u32> {
    let digits = name.strip_prefix('v')?.strip_suffix(".toml")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

fn invalid(path: &Path, reason: String) -> RulesError {
    RulesError::Invalid {
        origin: path.display().to_string(),
        rule: None,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::json;

    use super::*;
    use crate::Outcome;

    /// A fresh directory of its own for each test, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let path = std::env::temp_dir().join(format!(
                "casework-rules-{}-{}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn write(&self, relative: &str, text: &str) -> PathBuf {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn table(id: &str, version: u32, outcome: &str) -> String {
        format!(
            r#"id = "{id}"
version = {version}
description = "Version {version}"
default = {{ outcome = "{outcome}", reason = "Default of v{version}" }}
"#
        )
    }

    fn error(dir: &TempDir) -> String {
        RuleBook::load(&dir.0).unwrap_err().to_string()
    }

    #[test]
    fn loads_every_version_and_latest_picks_the_highest() {
        let dir = TempDir::new();
        dir.write("visit-visa/v1.toml", &table("visit-visa", 1, "refer"));
        dir.write("visit-visa/v2.toml", &table("visit-visa", 2, "grant"));
        // Numeric, not textual, order: v10 comes after v2.
        dir.write("visit-visa/v10.toml", &table("visit-visa", 10, "refuse"));
        dir.write("passport/v1.toml", &table("passport", 1, "grant"));
        dir.write("visit-visa/notes.txt", "not a rule set");
        dir.write("README.md", "ignored");
        dir.write(".hidden/v1.toml", "ignored");
        let book = RuleBook::load(&dir.0).unwrap();
        assert_eq!(book.ids().collect::<Vec<_>>(), ["passport", "visit-visa"]);
        assert_eq!(book.versions("visit-visa").collect::<Vec<_>>(), [1, 2, 10]);
        assert_eq!(book.versions("nope").count(), 0);
        let latest = book.latest("visit-visa").unwrap();
        assert_eq!(latest.version, 10);
        assert_eq!(latest.evaluate(&json!({})).outcome, Outcome::Refuse);
        assert_eq!(book.get("visit-visa", 1).unwrap().description, "Version 1");
        assert!(book.get("visit-visa", 3).is_none());
        assert!(book.latest("nope").is_none());
        assert!(book.get("nope", 1).is_none());
    }

    #[test]
    fn an_empty_directory_is_an_empty_book() {
        let dir = TempDir::new();
        let book = RuleBook::load(&dir.0).unwrap();
        assert_eq!(book.ids().count(), 0);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = TempDir::new();
        let missing = dir.0.join("missing");
        let err = RuleBook::load(&missing).unwrap_err();
        assert!(matches!(&err, RulesError::Io { path, .. } if *path == missing));
        assert!(err.to_string().starts_with(&missing.display().to_string()));
    }

    #[test]
    fn an_id_that_does_not_match_the_directory_is_refused() {
        let dir = TempDir::new();
        let path = dir.write("visit-visa/v1.toml", &table("passport", 1, "grant"));
        assert_eq!(
            error(&dir),
            format!(
                "{}: id `passport` must match the directory name `visit-visa`",
                path.display()
            )
        );
    }

    #[test]
    fn a_version_that_does_not_match_the_file_name_is_refused() {
        let dir = TempDir::new();
        let path = dir.write("visit-visa/v2.toml", &table("visit-visa", 1, "grant"));
        assert_eq!(
            error(&dir),
            format!(
                "{}: version 1 must match the file name `v2.toml`",
                path.display()
            )
        );
    }

    #[test]
    fn a_toml_file_not_named_as_a_version_is_refused() {
        for name in [
            "draft.toml",
            "v.toml",
            "v01.toml",
            "v0.toml",
            "V1.toml",
            "v1.5.toml",
        ] {
            let dir = TempDir::new();
            dir.write("visit-visa/v1.toml", &table("visit-visa", 1, "grant"));
            dir.write(&format!("visit-visa/{name}"), "");
            let err = error(&dir);
            assert!(
                err.ends_with(&format!(
                    "a rule set file is named v<version>.toml, e.g. v1.toml, not `{name}`"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn a_rule_set_directory_without_versions_is_refused() {
        let dir = TempDir::new();
        dir.write("visit-visa/notes.txt", "");
        assert!(
            error(&dir).ends_with("a rule set directory needs at least one v<version>.toml"),
            "{}",
            error(&dir)
        );
    }

    #[test]
    fn an_invalid_file_is_reported_with_its_path() {
        let dir = TempDir::new();
        let path = dir.write(
            "visit-visa/v1.toml",
            &format!(
                "{}[[rules]]\nid = \"r\"\noutcome = \"refer\"\nreason = \"R\"\nwhen = [ {{ fact = \"/a\", op = \"lt\", value = true }} ]\n",
                table("visit-visa", 1, "grant")
            ),
        );
        assert_eq!(
            error(&dir),
            format!(
                "{}: rule `r`: when[0]: `lt` needs a number or a string as its `value`, not a boolean",
                path.display()
            )
        );
    }
}
