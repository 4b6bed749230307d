//! Estimates the person model shipped in `config/matching/person-model.json`
//! (`make matching-model`): 40,000 synthetic people and a variant record of
//! one in four, deduplicated with EM as [`casework_matching::estimate`]
//! describes. The seed is fixed, so the file changes only when the engine
//! or the population does.
//!
//! With `--labels FILE` (Identify's `GET /api/identify/v1/match-labels`,
//! NDJSON: caseworkers' decisions on possible matches), the labelled
//! matches then update `m` ([`casework_matching::estimate::with_labels`])
//! and the report says how the model weighs every labelled pair;
//! `make matching-model LABELS=FILE`.

use casework_matching::estimate::{Labelled, Settings, estimate, with_labels};
use casework_matching::synth::Population;
use casework_matching::{Prepared, Record};

const SEED: u64 = 20_261_207;
const PEOPLE: usize = 40_000;
const VERSION: u32 = 1;

fn main() {
    let mut population = Population::new(SEED);
    let mut records = Vec::with_capacity(PEOPLE * 5 / 4);
    for n in 0..PEOPLE {
        let person = population.person();
        if n % 4 == 0 {
            let (variant, _) = population.variant(&person);
            records.push(Prepared::new(&variant));
        }
        records.push(Prepared::new(&person.record));
    }
    let description = format!(
        "EM over {} synthetic records ({PEOPLE} people, a variant of one in four; seed {SEED}), u from 1,000,000 random pairs",
        records.len()
    );
    let labels = labels_file().map(|path| read_labels(&path));
    let (mut model, report) = estimate(
        &records,
        &[],
        true,
        &Settings::default(),
        VERSION,
        &description,
    );
    eprintln!(
        "{} candidate pairs, {} patterns, {} EM iterations, prior {:.5}",
        report.candidate_pairs, report.patterns, report.iterations, model.prior
    );
    if let Some(labels) = labels {
        let said = with_labels(&mut model, &labels);
        model.description.push_str(&format!(
            "; m updated with {} labelled matches ({} labelled non-matches)",
            said.matches, said.non_matches
        ));
        eprintln!(
            "labels: {} matches, {} non-matches; {} of {} weighed on their label's side",
            said.matches,
            said.non_matches,
            said.agreeing,
            labels.len()
        );
    }
    print!("{}", model.to_json());
}

/// `--labels FILE`, if given.
fn labels_file() -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--labels" {
            return args.next().filter(|path| !path.is_empty());
        }
    }
    None
}

/// The labelled pairs of an NDJSON file of `{"label", "record", "candidate"}`
/// lines; a line it cannot read stops the estimate, naming it.
fn read_labels(path: &str) -> Vec<Labelled> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("--labels {path}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let fail =
                |why: String| -> Labelled { panic!("--labels {path} line {}: {why}", n + 1) };
            let value: serde_json::Value = match serde_json::from_str(line) {
                Ok(value) => value,
                Err(e) => return fail(e.to_string()),
            };
            let record = |key: &str| Record::from_value(&value[key]).map(|r| Prepared::new(&r));
            let matched = match value["label"].as_str() {
                Some("match") => true,
                Some("non-match") => false,
                other => return fail(format!("label {other:?}: expected match or non-match")),
            };
            match (record("record"), record("candidate")) {
                (Ok(left), Ok(right)) => Labelled {
                    left,
                    right,
                    matched,
                },
                (Err(e), _) | (_, Err(e)) => fail(format!("a record: {e}")),
            }
        })
        .collect()
}
