//! Estimating a model from unlabelled records, as Splink does: `u` from
//! random pairs (almost all of which are non-matches), then `m` and the
//! prior by expectation–maximisation over the blocked candidate pairs, with
//! `u` held fixed.

use std::collections::HashMap;

use crate::compare::{FIELDS, Field, compare};
use crate::index::Index;
use crate::model::{FORMAT, FieldParameters, LevelParameters, Model};
use crate::prepare::Prepared;
use crate::rng::Rng;

/// How to estimate.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Random pairs sampled for `u`.
    pub u_pairs: usize,
    /// The most EM iterations.
    pub max_iterations: usize,
    /// Stop when no `m` moves by more than this.
    pub tolerance: f64,
    /// The sampling seed.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            u_pairs: 1_000_000,
            max_iterations: 100,
            tolerance: 1e-6,
            seed: 1,
        }
    }
}

/// What an estimate saw, for its report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Candidate pairs EM ran over.
    pub candidate_pairs: u64,
    /// Distinct comparison patterns among them.
    pub patterns: usize,
    /// EM iterations run.
    pub iterations: usize,
}

type Counts = [[f64; 6]; FIELDS];
type Pattern = [Option<u8>; FIELDS];

/// A model with no evidence behind it: each better level somewhat likelier
/// among matches. The starting point of EM, and a placeholder in tests.
pub fn uninformed() -> Model {
    let fields = Field::ALL
        .iter()
        .map(|field| {
            let n = field.levels().len();
            let m = spread(n, true);
            let u = spread(n, false);
            FieldParameters {
                field: *field,
                levels: field
                    .levels()
                    .iter()
                    .enumerate()
                    .map(|(l, name)| LevelParameters {
                        level: (*name).to_owned(),
                        m: m[l],
                        u: u[l],
                    })
                    .collect(),
            }
        })
        .collect();
    Model {
        format: FORMAT.to_owned(),
        version: 0,
        description: "uninformed: no data behind it".to_owned(),
        prior: 0.1,
        records: 0,
        fields,
    }
}

/// Geometric shares over `n` levels: falling from the best level for `m`,
/// rising towards the worst for `u`.
fn spread(n: usize, best_first: bool) -> Vec<f64> {
    let raw: Vec<f64> = (0..n)
        .map(|l| {
            let rank = if best_first { l } else { n - 1 - l };
            0.25f64.powi(rank as i32)
        })
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|r| r / total).collect()
}

/// The blocking rules of the EM sessions, as in Splink: each session
/// estimates `m` only for the fields its rule does not block on, because
/// pairs chosen for agreeing on a field say nothing of how often matches
/// agree on it.
/// Blocking on names would be simpler, but names and nationality go
/// together among different people too, and EM then learns "same name,
/// same nationality" as a match; the postcode (as in Splink's FEBRL4
/// example) is independent of both.
const SESSIONS: [(Field, &[Field]); 2] = [
    (Field::DateOfBirth, &[Field::DateOfBirth]),
    (
        Field::Postcode,
        &[Field::Postcode, Field::Address, Field::Locality],
    ),
];

/// Estimates a model linking `right` to `left` (or, with `dedupe`, the
/// records of `left` with each other; `right` is then ignored): `u` from
/// random pairs; `m` by EM in two sessions, one blocked on date of birth
/// (estimating the names' `m`, among others), one on postcode (estimating
/// the date's); then the prior by EM over the candidate pairs the index's
/// blocking keys give, the population a search scores.
pub fn estimate(
    left: &[Prepared],
    right: &[Prepared],
    dedupe: bool,
    settings: &Settings,
    version: u32,
    description: &str,
) -> (Model, Report) {
    let right = if dedupe { left } else { right };
    let u = estimate_u(left, right, dedupe, settings);
    let mut model = uninformed();
    set(&mut model, &u, false);

    let mut m_sum: Counts = [[0.0; 6]; FIELDS];
    let mut m_sessions = [0usize; FIELDS];
    let mut iterations = 0;
    for (rule, blocked) in SESSIONS {
        let patterns = rule_patterns(left, right, dedupe, rule, blocked);
        let mut session = uninformed();
        set(&mut session, &u, false);
        iterations += em(&mut session, &patterns, None, settings);
        for (f, field) in Field::ALL.iter().enumerate() {
            if !blocked.contains(field) {
                m_sessions[f] += 1;
                for (l, level) in session.fields[f].levels.iter().enumerate() {
                    m_sum[f][l] += level.m;
                }
            }
        }
    }
    for (f, params) in model.fields.iter_mut().enumerate() {
        for (l, level) in params.levels.iter_mut().enumerate() {
            level.m = m_sum[f][l] / m_sessions[f].max(1) as f64;
        }
    }

    // The prior among the candidate pairs blocking gives.
    let mut index = Index::new();
    for (position, record) in left.iter().enumerate() {
        index.insert(position, record.clone());
    }
    let mut counted: HashMap<Pattern, f64> = HashMap::new();
    let mut candidate_pairs = 0u64;
    for (j, record) in right.iter().enumerate() {
        for i in index.candidates(record) {
            let i = i as usize;
            if dedupe && i <= j {
                continue;
            }
            candidate_pairs += 1;
            *counted.entry(compare(&left[i], record).levels).or_default() += 1.0;
        }
    }
    let patterns: Vec<(Pattern, f64)> = counted.into_iter().collect();
    let all_pairs = if dedupe {
        left.len() as f64 * (left.len() as f64 - 1.0) / 2.0
    } else {
        left.len() as f64 * right.len() as f64
    };
    model.prior = (candidate_pairs as f64 / all_pairs.max(1.0)).clamp(1e-12, 0.5);
    iterations += em(&mut model, &patterns, Some(all_pairs), settings);
    model.version = version;
    model.records = left.len().max(right.len()) as u64;
    model.description = description.to_owned();
    let report = Report {
        candidate_pairs,
        patterns: patterns.len(),
        iterations,
    };
    (model, report)
}

/// The comparison patterns of the pairs agreeing exactly on `rule`'s
/// field (a full date of birth, or a postcode), with the `blocked` fields
/// left out.
fn rule_patterns(
    left: &[Prepared],
    right: &[Prepared],
    dedupe: bool,
    rule: Field,
    blocked: &[Field],
) -> Vec<(Pattern, f64)> {
    let key = |r: &Prepared| match rule {
        Field::DateOfBirth => r
            .date_of_birth
            .filter(|d| d.month_day.is_some())
            .map(|d| d.digits()),
        _ => r.postcode.clone(),
    };
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, record) in left.iter().enumerate() {
        if let Some(k) = key(record) {
            blocks.entry(k).or_default().push(i);
        }
    }
    let mut counted: HashMap<Pattern, f64> = HashMap::new();
    for (j, record) in right.iter().enumerate() {
        let Some(k) = key(record) else { continue };
        for &i in blocks.get(&k).into_iter().flatten() {
            if dedupe && i <= j {
                continue;
            }
            let mut levels = compare(&left[i], record).levels;
            for field in blocked {
                levels[field.index()] = None;
            }
            *counted.entry(levels).or_default() += 1.0;
        }
    }
    counted.into_iter().collect()
}

/// Expectation–maximisation over counted patterns, `u` fixed. Within a
/// session (`population` `None`): `m` and the share of the session's pairs
/// that match. Over the candidate pairs (`population`: every possible
/// pair): only the prior, as the share of *all* pairs that match, the pairs
/// blocking never offered counting as non-matches. Returns the iterations.
fn em(
    model: &mut Model,
    patterns: &[(Pattern, f64)],
    population: Option<f64>,
    settings: &Settings,
) -> usize {
    let estimate_m = population.is_none();
    let mut iterations = 0;
    for _ in 0..settings.max_iterations {
        iterations += 1;
        let scorer = model.scorer();
        let mut m_counts: Counts = [[0.0; 6]; FIELDS];
        let (mut matches, mut total) = (0.0, 0.0);
        for (pattern, n) in patterns {
            let weight = scorer.weight(&crate::compare::Comparison {
                levels: *pattern,
                names_swapped: false,
            });
            let p = 1.0 / (1.0 + (-weight).exp2());
            matches += n * p;
            total += n;
            for (f, level) in pattern.iter().enumerate() {
                if let Some(l) = level {
                    m_counts[f][usize::from(*l)] += n * p;
                }
            }
        }
        let before = model.clone();
        if estimate_m {
            set(model, &m_counts, true);
        }
        model.prior = (matches / population.unwrap_or(total).max(1.0)).clamp(1e-12, 1.0 - 1e-9);
        let moved = before
            .fields
            .iter()
            .zip(&model.fields)
            .flat_map(|(a, b)| a.levels.iter().zip(&b.levels))
            .map(|(a, b)| (a.m - b.m).abs())
            .fold((before.prior - model.prior).abs(), f64::max);
        if moved < settings.tolerance {
            break;
        }
    }
    iterations
}

fn estimate_u(left: &[Prepared], right: &[Prepared], dedupe: bool, settings: &Settings) -> Counts {
    let mut counts: Counts = [[0.0; 6]; FIELDS];
    if left.is_empty() || right.is_empty() {
        return counts;
    }
    let mut rng = Rng::new(settings.seed);
    for _ in 0..settings.u_pairs {
        let i = rng.below(left.len());
        let j = rng.below(right.len());
        if dedupe && i == j {
            continue;
        }
        for (f, level) in compare(&left[i], &right[j]).levels.iter().enumerate() {
            if let Some(l) = level {
                counts[f][usize::from(*l)] += 1.0;
            }
        }
    }
    counts
}

/// Sets each field's `m` (or `u`) from counts, with one pseudo-count per
/// level so that no level is impossible (which would weigh infinitely).
fn set(model: &mut Model, counts: &Counts, m: bool) {
    for (f, params) in model.fields.iter_mut().enumerate() {
        let n = params.levels.len();
        let pseudo = if m { 0.01 } else { 1.0 };
        let total: f64 = counts[f][..n].iter().sum::<f64>() + pseudo * n as f64;
        for (l, level) in params.levels.iter_mut().enumerate() {
            let share = (counts[f][l] + pseudo) / total;
            if m {
                level.m = share;
            } else {
                level.u = share;
            }
        }
    }
}

/// A pair of records a person has judged: a caseworker's decision on a
/// possible match (Identify's `match-labels`).
#[derive(Debug, Clone)]
pub struct Labelled {
    /// One record.
    pub left: Prepared,
    /// The other.
    pub right: Prepared,
    /// Judged the same person.
    pub matched: bool,
}

/// How many pairs the unlabelled (EM) estimate of a field's `m` counts as
/// against labelled matches: the EM estimate is the prior of a Dirichlet,
/// and each labelled match one observation. A few hundred labels move `m`
/// decisively; a handful only nudge it.
pub const EM_STRENGTH: f64 = 100.0;

/// What the labels did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelReport {
    /// Labelled matches, which updated `m`.
    pub matches: usize,
    /// Labelled non-matches (not used for `u`: random pairs estimate it far
    /// better than the hard cases a review sees; they check the model).
    pub non_matches: usize,
    /// Labelled pairs the updated model weighs on their label's side of 0
    /// bits (a match positive, a non-match negative).
    pub agreeing: usize,
}

/// Updates each field's `m` with the comparison levels of labelled matches
/// (as Splink's `estimate_m_from_pairwise_labels`, but blended with the
/// EM estimate by [`EM_STRENGTH`] rather than replacing it), and reports
/// how the updated model weighs every labelled pair.
pub fn with_labels(model: &mut Model, labelled: &[Labelled]) -> LabelReport {
    let mut counts: Counts = [[0.0; 6]; FIELDS];
    let mut seen = [0.0f64; FIELDS];
    for pair in labelled.iter().filter(|p| p.matched) {
        for (f, level) in compare(&pair.left, &pair.right).levels.iter().enumerate() {
            if let Some(l) = level {
                counts[f][usize::from(*l)] += 1.0;
                seen[f] += 1.0;
            }
        }
    }
    for (f, params) in model.fields.iter_mut().enumerate() {
        if seen[f] == 0.0 {
            continue;
        }
        for (l, level) in params.levels.iter_mut().enumerate() {
            level.m = (level.m * EM_STRENGTH + counts[f][l]) / (EM_STRENGTH + seen[f]);
        }
    }
    let scorer = model.scorer();
    let matches = labelled.iter().filter(|p| p.matched).count();
    LabelReport {
        matches,
        non_matches: labelled.len() - matches,
        agreeing: labelled
            .iter()
            .filter(|p| (scorer.weight(&compare(&p.left, &p.right)) > 0.0) == p.matched)
            .count(),
    }
}

#[cfg(test)]
mod label_tests {
    use super::*;
    use crate::prepare::named as prepared;

    #[test]
    fn labelled_matches_move_m_towards_what_they_show() {
        let mut model = uninformed();
        let dob = Field::DateOfBirth.index();
        let swapped = Field::DateOfBirth
            .levels()
            .iter()
            .position(|l| *l == "day_month_swapped")
            .expect("a level for swapped day and month");
        let before = model.fields[dob].levels[swapped].m;
        let pair = Labelled {
            left: prepared("Anna", "Nowak", "1990-03-04"),
            right: prepared("Anna", "Nowak", "1990-04-03"),
            matched: true,
        };
        let report = with_labels(&mut model, &vec![pair; 50]);
        let after = model.fields[dob].levels[swapped].m;
        assert!(after > before * 2.0, "{before} -> {after}");
        let total: f64 = model.fields[dob].levels.iter().map(|l| l.m).sum();
        assert!((total - 1.0).abs() < 1e-9, "m still sums to 1: {total}");
        assert_eq!(report.matches, 50);
        assert_eq!(report.non_matches, 0);
        // Labelled non-matches leave m alone.
        let mut untouched = uninformed();
        let apart = Labelled {
            left: prepared("Anna", "Nowak", "1990-03-04"),
            right: prepared("Olga", "Smirnova", "1975-01-01"),
            matched: false,
        };
        let report = with_labels(&mut untouched, &[apart]);
        assert_eq!(untouched, uninformed());
        assert_eq!(report.agreeing, 1, "the model weighs them apart");
    }
}
