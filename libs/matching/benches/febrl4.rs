//! FEBRL4 linked by the engine: `cargo bench -p casework-matching --bench
//! febrl4 -- DIR`, where DIR holds `febrl4a.csv` and `febrl4b.csv` as
//! `bench/febrl4.py` writes them (`make bench-matching` does both and runs
//! Splink beside it). Prints one JSON object.
//!
//! The model is estimated from the two files themselves (EM, no labels),
//! as Splink's example does; the thresholds are the person index's, from
//! `config/matching/person.toml`, fixed before this was first run. Each B
//! record links to its heaviest A candidate when that weighs at least the
//! match threshold (what the person index does with an applicant); the
//! figures for every pair above the threshold, as Splink counts, are given
//! too.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use casework_matching::estimate::{Settings, estimate};
use casework_matching::{Address, Identifier, Index, Policy, Prepared, Record};

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .expect("usage: febrl4 DIR (with febrl4a.csv and febrl4b.csv)");
    let policy_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/matching/person.toml");
    let thresholds = Policy::read(&policy_path)
        .expect("the person policy")
        .thresholds();
    let a = read(&Path::new(&dir).join("febrl4a.csv"));
    let b = read(&Path::new(&dir).join("febrl4b.csv"));

    let started = Instant::now();
    let left: Vec<Prepared> = a.iter().map(|(_, r)| Prepared::new(r)).collect();
    let right: Vec<Prepared> = b.iter().map(|(_, r)| Prepared::new(r)).collect();
    let settings = Settings {
        seed: 42,
        ..Settings::default()
    };
    let (model, report) = estimate(&left, &right, false, &settings, 1, "FEBRL4 A and B");
    let trained = started.elapsed().as_secs_f64();

    let predicting = Instant::now();
    let scorer = model.scorer();
    let mut index = Index::new();
    for (position, record) in left.iter().enumerate() {
        index.insert(position, record.clone());
    }
    let mut best: Vec<Option<(usize, f64)>> = Vec::with_capacity(right.len());
    let mut above: Vec<(usize, usize)> = Vec::new();
    for (j, record) in right.iter().enumerate() {
        let hits = index.search(&scorer, record, thresholds.match_weight);
        best.push(hits.first().map(|h| (*h.id, h.weight)));
        above.extend(hits.iter().map(|h| (*h.id, j)));
    }
    let predicted = predicting.elapsed().as_secs_f64();

    let entity = |rec_id: &str| rec_id.split('-').nth(1).unwrap_or_default().to_owned();
    let a_entities: Vec<String> = a.iter().map(|(id, _)| entity(id)).collect();
    let b_entities: Vec<String> = b.iter().map(|(id, _)| entity(id)).collect();
    let mut in_a: HashMap<&str, usize> = HashMap::new();
    for e in &a_entities {
        *in_a.entry(e.as_str()).or_default() += 1;
    }
    let true_links: usize = b_entities
        .iter()
        .map(|e| in_a.get(e.as_str()).copied().unwrap_or(0))
        .sum();
    let score = |pairs: &[(usize, usize)]| {
        let tp = pairs
            .iter()
            .filter(|(i, j)| a_entities[*i] == b_entities[*j])
            .count();
        let fp = pairs.len() - tp;
        let fn_ = true_links - tp;
        let precision = tp as f64 / (tp + fp).max(1) as f64;
        let recall = tp as f64 / true_links.max(1) as f64;
        let f1 = 2.0 * precision * recall / (precision + recall).max(f64::MIN_POSITIVE);
        serde_json::json!({
            "pairs_predicted": pairs.len(), "tp": tp, "fp": fp, "fn": fn_,
            "precision": round(precision), "recall": round(recall), "f1": round(f1),
        })
    };
    let linked: Vec<(usize, usize)> = best
        .iter()
        .enumerate()
        .filter_map(|(j, hit)| hit.map(|(i, _)| (i, j)))
        .collect();
    let possible = best.iter().filter(|hit| hit.is_none()).count();
    let result = serde_json::json!({
        "tool": "casework-matching",
        "match_weight": thresholds.match_weight,
        "true_links": true_links,
        "best_candidate": score(&linked),
        "all_pairs_above_threshold": score(&above),
        "b_records_without_a_match": possible,
        "candidate_pairs": report.candidate_pairs,
        "em_iterations": report.iterations,
        "prior": round(model.prior),
        "seconds_train": round(trained),
        "seconds_predict": round(predicted),
        "seconds_total": round(trained + predicted),
        "model": serde_json::from_str::<serde_json::Value>(&model.to_json()).unwrap_or_default(),
    });
    println!("{result}");
}

fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// `rec_id` and record of each row of a FEBRL CSV (header first; the
/// writer quotes a field only when it must).
fn read(path: &Path) -> Vec<(String, Record)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = fields(lines.next().unwrap_or_default());
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let [
        id,
        given,
        surname,
        number,
        address_1,
        address_2,
        suburb,
        postcode,
        dob,
        ssn,
    ] = [
        "rec_id",
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "date_of_birth",
        "soc_sec_id",
    ]
    .map(column);
    lines
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f = fields(line);
            let some = |i: usize| Some(f[i].clone()).filter(|v| !v.is_empty());
            let record = Record {
                given_names: f[given].clone(),
                surname: f[surname].clone(),
                date_of_birth: some(dob),
                address: Some(Address {
                    lines: [
                        format!("{} {}", f[number], f[address_1]),
                        f[address_2].clone(),
                    ]
                    .into_iter()
                    .filter(|l| !l.trim().is_empty())
                    .collect(),
                    locality: some(suburb),
                    postcode: some(postcode),
                }),
                identifiers: some(ssn)
                    .map(|value| Identifier {
                        scheme: "soc_sec_id".into(),
                        value,
                    })
                    .into_iter()
                    .collect(),
                ..Record::default()
            };
            (f[id].clone(), record)
        })
        .collect()
}

/// The fields of one CSV line.
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}
