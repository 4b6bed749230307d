//! Synthetic person records as NDJSON for Identify's person import
//! (`POST /api/identify/v1/imports/persons`): `cargo run --release -p
//! casework-matching --example persons_ndjson -- [COUNT] [SEED] >
//! persons.ndjson`. One line in five is another record of a person of an
//! earlier line (transliterated, misspelt, …; see `synth`), so an import
//! links as well as creates.

use casework_matching::synth::{Person, Population};

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let seed: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_261_207);
    let mut population = Population::new(seed);
    let mut earlier: Vec<Person> = Vec::new();
    for line in 1..=count {
        let record = if line % 5 == 0 && !earlier.is_empty() {
            let known = earlier[line % earlier.len()].clone();
            population.variant(&known).0
        } else {
            let person = population.person();
            let record = person.record.clone();
            earlier.push(person);
            record
        };
        let mut value = serde_json::to_value(&record).unwrap_or_default();
        value["source_id"] = format!("SYN-{seed}-{line}").into();
        println!("{value}");
    }
}
