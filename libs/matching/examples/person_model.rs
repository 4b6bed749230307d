//! Estimates the person model shipped in `config/matching/person-model.json`
//! (`make matching-model`): 40,000 synthetic people and a variant record of
//! one in four, deduplicated with EM as [`casework_matching::estimate`]
//! describes. The seed is fixed, so the file changes only when the engine
//! or the population does.

use casework_matching::Prepared;
use casework_matching::estimate::{Settings, estimate};
use casework_matching::synth::Population;

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
    let (model, report) = estimate(
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
    print!("{}", model.to_json());
}
