//! Replays every committed fuzz corpus (`fuzz/corpus/<target>/`) through its
//! target, and the shipped inputs each target starts from (the example MRZs,
//! rule sets and applications), as ordinary tests: what a fuzzing session
//! found and committed stays fixed.

use std::path::Path;

use casework_fuzzing::{TARGETS, workspace};

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_corpus_replays_cleanly() {
    let corpus = workspace().join("fuzz/corpus");
    for (name, target) in TARGETS {
        let inputs = files(&corpus.join(name));
        assert!(!inputs.is_empty(), "fuzz/corpus/{name} holds no inputs");
        for input in inputs {
            let data = std::fs::read(&input).expect("read input");
            let replay = std::panic::catch_unwind(|| target(&data));
            assert!(replay.is_ok(), "{name}: {} fails", input.display());
        }
    }
}

#[test]
fn the_shipped_rule_sets_and_examples_pass_their_targets() {
    let root = workspace();
    let rules = root.join("config/rules");
    let mut seen = 0;
    for set in files_in_dirs(&rules) {
        let mut data = std::fs::read(&set).expect("rule set");
        data.extend_from_slice(b"\0{}");
        casework_fuzzing::rule_set(&data);
        seen += 1;
    }
    for example in files_in_dirs(&root.join("schemas/products"))
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("examples")))
    {
        casework_fuzzing::application(&std::fs::read(&example).expect("example"));
        seen += 1;
    }
    assert!(seen > 10, "only {seen} shipped inputs found");
}

/// Every file under `dir`, at any depth.
fn files_in_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
