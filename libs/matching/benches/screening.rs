//! Screening at border scale, the engine beside today's exact lookup:
//! `cargo bench -p casework-matching --bench screening [-- SIZES]` (default
//! `1000000`; `make bench-screening`).
//!
//! The data (generator and seed committed before any tuning, issue #31): a
//! warnings index of SIZE synthetic subjects (`synth`: nine naming
//! conventions, Cyrillic, Greek, Arabic and Han names with their Latin
//! spellings, double surnames) — names, date of birth, sex and nationality,
//! as an entry holds them; then 1,000 travellers who are variants of
//! indexed subjects, each with one or two of the variations a traveller's
//! record shows against a watchlist entry (native script, another
//! transliteration, a typo, names swapped, a middle or second surname
//! dropped, day and month swapped, a digit off, a year only, sex or
//! nationality missing), and 1,000 travellers who are not indexed.
//!
//! Both screen every traveller, one after another:
//! - **exact**: Investigate's lookup today — normalised surname, given
//!   names and date of birth equal (a hash map here, an index in the
//!   database there);
//! - **engine**: the in-memory blocking index, each candidate compared and
//!   weighed with the shipped person model scaled to the index's size; a hit
//!   is any candidate at or above the possible-match threshold
//!   (`config/matching/person.toml`), strong at or above the match threshold.
//!
//! Reported per method: recall on the variants (the true subject among the
//! hits), precision (hits that are the true subject, over every hit of both
//! sets), single-screening p50/p99, a manifest of 1,000 travellers (the
//! first 500 of each set, screened in turn), index build time and memory
//! (resident set growth).

mod common;

use std::collections::HashMap;
use std::time::Instant;

use casework_contracts::names::normalise;
use casework_matching::synth::{Person, Population};
use casework_matching::{Index, Matcher, Prepared, Record};

const SEED: u64 = 31;
const QUERIES: usize = 1_000;
/// What a traveller's record can say differently from a watchlist entry
/// (`synth`'s variations, less those of addresses and identifiers, which
/// an entry does not hold).
const SCREENING_VARIATIONS: [&str; 11] = [
    "native_script",
    "other_spelling",
    "typo",
    "names_swapped",
    "middle_name_dropped",
    "second_surname_dropped",
    "day_month_swapped",
    "one_digit",
    "year_only",
    "no_sex",
    "no_sex_or_nationality",
];

fn main() {
    let sizes = common::sizes("1000000");
    let matcher = common::person_matcher();
    println!(
        "| entries | method | build s | memory MB | recall (variants) | strong / weak hits on variants | precision | hits on the not indexed | p50 ms | p99 ms | manifest of 1,000 s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for size in sizes {
        run(&matcher, size);
    }
}

/// What a watchlist entry (or a traveller's screening record) holds of
/// `record`: no address, no identifiers (documents are screened exactly,
/// apart).
fn entry(record: &Record) -> Record {
    Record {
        address: None,
        identifiers: Vec::new(),
        ..record.clone()
    }
}

/// A traveller who is `person`, varied as a traveller's record can be.
fn traveller(population: &mut Population, person: &Person) -> (Record, Vec<&'static str>) {
    loop {
        let (record, made) = population.variant(person);
        if made.iter().all(|v| SCREENING_VARIATIONS.contains(v)) {
            return (entry(&record), made);
        }
    }
}

/// Today's lookup key: names in comparison form and the date of birth.
fn exact_key(record: &Record) -> (String, String, String) {
    (
        normalise(&record.surname),
        normalise(&record.given_names),
        record.date_of_birth.clone().unwrap_or_default(),
    )
}

/// What screening one set of travellers found.
#[derive(Default)]
struct Tally {
    found: usize,
    strong: usize,
    weak: usize,
    true_hits: usize,
    hits: usize,
    latencies: Vec<f64>,
}

fn run(matcher: &Matcher, size: usize) {
    let mut population = Population::new(SEED);
    let every = size / QUERIES;
    let mut people: Vec<(u32, Person)> = Vec::with_capacity(QUERIES);
    let mut entries: Vec<Record> = Vec::with_capacity(size);
    for id in 0..size as u32 {
        let person = population.person();
        entries.push(entry(&person.record));
        if (id as usize).is_multiple_of(every) && people.len() < QUERIES {
            people.push((id, person));
        }
    }
    let mut variations: HashMap<&str, (usize, usize)> = HashMap::new();
    let known: Vec<(Option<u32>, Record, Vec<&'static str>)> = people
        .iter()
        .map(|(id, person)| {
            let (record, made) = traveller(&mut population, person);
            (Some(*id), record, made)
        })
        .collect();
    let unknown: Vec<(Option<u32>, Record, Vec<&'static str>)> = (0..QUERIES)
        .map(|_| (None, entry(&population.person().record), Vec::new()))
        .collect();
    let manifest: Vec<&Record> = known[..QUERIES / 2]
        .iter()
        .chain(&unknown[..QUERIES / 2])
        .map(|(_, r, _)| r)
        .collect();

    // Today's exact lookup.
    let rss = common::resident_bytes();
    let started = Instant::now();
    let mut exact: HashMap<(String, String, String), Vec<u32>> = HashMap::new();
    for (id, record) in entries.iter().enumerate() {
        exact.entry(exact_key(record)).or_default().push(id as u32);
    }
    let exact_built = started.elapsed().as_secs_f64();
    let exact_memory = mb(common::resident_bytes().saturating_sub(rss));
    let screen_exact = |record: &Record| -> Vec<(u32, bool)> {
        exact
            .get(&exact_key(record))
            .map(|ids| ids.iter().map(|id| (*id, true)).collect())
            .unwrap_or_default()
    };
    let (exact_known, exact_unknown) = (
        tally(&known, screen_exact, None),
        tally(&unknown, screen_exact, None),
    );
    let exact_manifest = manifest_seconds(&manifest, screen_exact);
    report(
        size,
        "exact (today)",
        exact_built,
        exact_memory,
        &exact_known,
        &exact_unknown,
        exact_manifest,
    );
    drop(exact);

    // The engine.
    let rss = common::resident_bytes();
    let started = Instant::now();
    let mut index = Index::new();
    for (id, record) in entries.iter().enumerate() {
        index.insert(id as u32, Prepared::new(record));
    }
    let built = started.elapsed().as_secs_f64();
    let memory = mb(common::resident_bytes().saturating_sub(rss));
    let scorer = matcher.model.scorer_for(size as u64);
    let (possible, strong) = (
        matcher.thresholds.possible_weight,
        matcher.thresholds.match_weight,
    );
    let screen_engine = |record: &Record| -> Vec<(u32, bool)> {
        index
            .search(&scorer, &Prepared::new(record), possible)
            .into_iter()
            .map(|hit| (*hit.id, hit.weight >= strong))
            .collect()
    };
    let engine_known = tally(&known, screen_engine, Some(&mut variations));
    let engine_unknown = tally(&unknown, screen_engine, None);
    // Why the engine missed whom it missed: never a candidate (blocking),
    // or weighed below the threshold (the model).
    let (mut unblocked, mut too_light) = (0, 0);
    let mut unblocked_by: std::collections::BTreeMap<&str, usize> = Default::default();
    for (truth, record, made) in &known {
        let Some(id) = truth else { continue };
        if screen_engine(record).iter().any(|(hit, _)| hit == id) {
            continue;
        }
        let prepared = Prepared::new(record);
        if index.candidates(&prepared).contains(id) {
            too_light += 1;
        } else {
            unblocked += 1;
            for v in made {
                *unblocked_by.entry(v).or_default() += 1;
            }
        }
    }
    eprintln!(
        "{size} entries, engine: of the variants missed, {unblocked} were never candidates ({unblocked_by:?}), {too_light} weighed below the threshold"
    );
    let engine_manifest = manifest_seconds(&manifest, screen_engine);
    report(
        size,
        "engine",
        built,
        memory,
        &engine_known,
        &engine_unknown,
        engine_manifest,
    );
    let mut by_variation: Vec<String> = variations
        .iter()
        .map(|(v, (found, all))| format!("{v} {found}/{all}"))
        .collect();
    by_variation.sort();
    eprintln!(
        "{size} entries, engine: variants found by variation (found/all): {}",
        by_variation.join(", ")
    );
}

/// Screens each of `travellers` with `screen` (hits: entry id, strong),
/// timing each; with `variations`, counts found/all per variation.
fn tally(
    travellers: &[(Option<u32>, Record, Vec<&'static str>)],
    screen: impl Fn(&Record) -> Vec<(u32, bool)>,
    mut variations: Option<&mut HashMap<&'static str, (usize, usize)>>,
) -> Tally {
    let mut tally = Tally::default();
    for (truth, record, made) in travellers {
        let started = Instant::now();
        let hits = screen(record);
        tally.latencies.push(started.elapsed().as_secs_f64() * 1e3);
        tally.hits += hits.len();
        let true_hit = truth.and_then(|id| hits.iter().find(|(hit, _)| *hit == id));
        if let Some((_, strong)) = true_hit {
            tally.found += 1;
            tally.true_hits += 1;
            if *strong {
                tally.strong += 1;
            } else {
                tally.weak += 1;
            }
        }
        if let Some(variations) = variations.as_deref_mut() {
            for v in made {
                let counted = variations.entry(v).or_default();
                counted.0 += usize::from(true_hit.is_some());
                counted.1 += 1;
            }
        }
    }
    tally.latencies.sort_by(f64::total_cmp);
    tally
}

fn manifest_seconds(manifest: &[&Record], screen: impl Fn(&Record) -> Vec<(u32, bool)>) -> f64 {
    let started = Instant::now();
    let hits: usize = manifest.iter().map(|r| screen(r).len()).sum();
    std::hint::black_box(hits);
    started.elapsed().as_secs_f64()
}

fn report(
    size: usize,
    method: &str,
    built: f64,
    memory: f64,
    known: &Tally,
    unknown: &Tally,
    manifest: f64,
) {
    let at = |l: &[f64], q: f64| l[((l.len() - 1) as f64 * q).round() as usize];
    let mut all: Vec<f64> = known
        .latencies
        .iter()
        .chain(&unknown.latencies)
        .copied()
        .collect();
    all.sort_by(f64::total_cmp);
    let hits = known.hits + unknown.hits;
    let precision = if hits == 0 {
        1.0
    } else {
        known.true_hits as f64 / hits as f64
    };
    println!(
        "| {size} | {method} | {built:.1} | {memory:.0} | {:.3} | {} / {} | {precision:.3} | {} | {:.3} | {:.3} | {manifest:.2} |",
        known.found as f64 / QUERIES as f64,
        known.strong,
        known.weak,
        unknown.hits,
        at(&all, 0.5),
        at(&all, 0.99),
    );
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
