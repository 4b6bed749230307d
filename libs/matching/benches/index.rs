//! The person index at scale: `cargo bench -p casework-matching --bench
//! index [-- SIZES]` (default `100000,1000000`). For each size, that many
//! synthetic people (seed below) are indexed with the shipped model and
//! thresholds (`config/matching/person.toml`), then 2,000 applicants are
//! matched one after another: 1,000 variant records of indexed people
//! (transliterated, misspelt, swapped, …; see `synth`) and 1,000 people not
//! in the index. Reports the time to match one applicant (prepare, find
//! candidates, compare, weigh, sort) p50/p99/max, candidates compared, the
//! index's memory (resident set growth), and what the decisions were.

mod common;

use std::time::Instant;

use casework_matching::synth::{Person, Population};
use casework_matching::{Decision, Index, Matcher, Prepared, Record};

const SEED: u64 = 29;
const QUERIES: usize = 1_000;

fn main() {
    let sizes = common::sizes("100000,1000000");
    let matcher = common::person_matcher();
    println!(
        "| people | build s | memory MB | match p50 ms | p99 ms | max ms | candidates p50/p99 | known: match / possible / missed | new: match / possible |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for size in sizes {
        run(&matcher, size);
    }
}

fn run(matcher: &Matcher, size: usize) {
    let mut population = Population::new(SEED);
    let every = size / QUERIES;
    let rss_before = common::resident_bytes();
    let started = Instant::now();
    let mut index = Index::new();
    let mut sampled: Vec<(u32, Person)> = Vec::with_capacity(QUERIES);
    for id in 0..size as u32 {
        let person = population.person();
        index.insert(id, Prepared::new(&person.record));
        if (id as usize).is_multiple_of(every) && sampled.len() < QUERIES {
            sampled.push((id, person));
        }
    }
    let built = started.elapsed().as_secs_f64();
    let memory = common::resident_bytes().saturating_sub(rss_before) as f64 / 1e6;

    let scorer = matcher.model.scorer_for(size as u64);
    let mut variations: Vec<Vec<&'static str>> = Vec::with_capacity(QUERIES);
    let known: Vec<(Option<u32>, Record)> = sampled
        .iter()
        .map(|(id, person)| {
            let (record, made) = population.variant(person);
            variations.push(made);
            (Some(*id), record)
        })
        .collect();
    let new: Vec<(Option<u32>, Record)> = (0..QUERIES)
        .map(|_| (None, population.person().record))
        .collect();
    let mut missed_by: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut latencies = Vec::with_capacity(2 * QUERIES);
    let mut candidates = Vec::with_capacity(2 * QUERIES);
    let (mut known_match, mut known_possible, mut missed, mut new_match, mut new_possible) =
        (0, 0, 0, 0, 0);
    for (n, (truth, record)) in known.iter().chain(&new).enumerate() {
        let t = Instant::now();
        let prepared = Prepared::new(record);
        let hits = index.search(&scorer, &prepared, matcher.thresholds.possible_weight);
        let best = hits.first().map(|h| (*h.id, matcher.decide(h.weight)));
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        candidates.push(index.candidates(&prepared).len());
        match (truth, best) {
            (Some(id), Some((found, Decision::Match))) if *id == found => known_match += 1,
            (Some(id), Some((found, Decision::PossibleMatch))) if *id == found => {
                known_possible += 1
            }
            (Some(_), _) => {
                missed += 1;
                for variation in &variations[n] {
                    *missed_by.entry(variation).or_default() += 1;
                }
            }
            (None, Some((_, Decision::Match))) => new_match += 1,
            (None, Some((_, Decision::PossibleMatch))) => new_possible += 1,
            (None, _) => {}
        }
    }
    latencies.sort_by(f64::total_cmp);
    candidates.sort_unstable();
    let at = |q: f64| ((latencies.len() - 1) as f64 * q).round() as usize;
    println!(
        "| {size} | {built:.1} | {memory:.0} | {:.3} | {:.3} | {:.3} | {}/{} | {known_match} / {known_possible} / {missed} | {new_match} / {new_possible} |",
        latencies[at(0.5)],
        latencies[at(0.99)],
        latencies[latencies.len() - 1],
        candidates[at(0.5)],
        candidates[at(0.99)],
    );
    let missed_by: Vec<String> = missed_by.iter().map(|(v, n)| format!("{v} {n}")).collect();
    eprintln!(
        "{size} people: the known people missed had these variations: {}",
        missed_by.join(", ")
    );
}
