//! Blocking: a record is compared only with the records that share one of
//! its blocking keys, not with the whole index. Each key is chosen so that
//! the variations the comparisons forgive still share at least one:
//!
//! - `N`: the phonetic keys of first given name and surname, in either order
//!   (a swapped name, a typo outside the phonetic key's reach in neither);
//!   queried with the names the other way round too ([`query_keys`]);
//! - `Y`: surname's phonetic key and year of birth (a new given name, a
//!   day and month swapped, a year-only date);
//! - `D`: first given name's phonetic key and full date of birth (a changed
//!   or misspelt surname); queried with day and month swapped too;
//! - `P`: postcode and year of birth (both names misspelt);
//! - `I`: each identifier.
//!
//! [`Index`] holds prepared records in memory by key; a database can hold
//! the same [`blocking_keys`] in a table instead.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::compare::{Comparison, compare};
use crate::model::Scorer;
use crate::prepare::{Prepared, phonetic};

/// The keys a record is filed under.
pub fn blocking_keys(record: &Prepared) -> Vec<String> {
    let mut keys = Vec::with_capacity(6);
    let (g, s) = (&record.given_key, &record.surname_key);
    match (g.is_empty(), s.is_empty()) {
        (false, false) => keys.push(format!("N:{}:{}", g.min(s), g.max(s))),
        (true, false) => keys.push(format!("N:{s}")),
        (false, true) => keys.push(format!("N:{g}")),
        (true, true) => {}
    }
    if let Some(dob) = record.date_of_birth {
        if !s.is_empty() {
            keys.push(format!("Y:{s}:{}", dob.year));
        }
        if !g.is_empty() && dob.month_day.is_some() {
            keys.push(format!("D:{g}:{}", dob.digits()));
        }
        if let Some(postcode) = &record.postcode {
            keys.push(format!("P:{postcode}:{}", dob.year));
        }
    }
    for (scheme, value) in &record.identifiers {
        keys.push(format!("I:{scheme}:{value}"));
    }
    keys
}

/// The keys to look a record up by: its own, its date of birth with day
/// and month swapped, and its names the other way round (a family name
/// written first, as in a passport of one convention and a form of
/// another: the first word of the surname is then the first given name).
/// Only queries vary, so what is filed stays as it was.
pub fn query_keys(record: &Prepared) -> Vec<String> {
    let mut keys = blocking_keys(record);
    if let (Some(first), false) = (record.surname_words.first(), record.given.is_empty()) {
        let (g, s) = (phonetic(first), phonetic(&record.given_words.concat()));
        if !g.is_empty() && !s.is_empty() {
            keys.push(format!("N:{}:{}", (&g).min(&s), (&g).max(&s)));
            if let Some(dob) = record.date_of_birth {
                keys.push(format!("Y:{s}:{}", dob.year));
                if dob.month_day.is_some() {
                    keys.push(format!("D:{g}:{}", dob.digits()));
                }
            }
        }
    }
    if let Some(dob) = record.date_of_birth
        && let Some((month, day)) = dob.month_day
        && month != day
        && day <= 12
        && !record.given_key.is_empty()
    {
        keys.push(format!(
            "D:{}:{:04}{:02}{:02}",
            record.given_key, dob.year, day, month
        ));
    }
    keys
}

fn hash(key: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// An in-memory index of prepared records by blocking key.
#[derive(Debug)]
pub struct Index<Id> {
    entries: Vec<(Id, Prepared)>,
    blocks: HashMap<u64, Vec<u32>>,
}

impl<Id> Default for Index<Id> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            blocks: HashMap::new(),
        }
    }
}

/// A record of the index compared with a query.
#[derive(Debug, Clone)]
pub struct Hit<'a, Id> {
    /// The indexed record's id.
    pub id: &'a Id,
    /// The indexed record.
    pub record: &'a Prepared,
    /// The total match weight.
    pub weight: f64,
    /// The comparison (for [`Scorer::explain`]).
    pub comparison: Comparison,
}

impl<Id> Index<Id> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Files `record` under its blocking keys.
    pub fn insert(&mut self, id: Id, record: Prepared) {
        let position = u32::try_from(self.entries.len()).expect("fewer than 2^32 records");
        for key in blocking_keys(&record) {
            self.blocks.entry(hash(&key)).or_default().push(position);
        }
        self.entries.push((id, record));
    }

    /// The positions of the records sharing a key with `record`.
    pub fn candidates(&self, record: &Prepared) -> Vec<u32> {
        let mut found: Vec<u32> = query_keys(record)
            .iter()
            .filter_map(|key| self.blocks.get(&hash(key)))
            .flatten()
            .copied()
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The candidates weighing at least `min_weight`, heaviest first.
    pub fn search(&self, scorer: &Scorer, record: &Prepared, min_weight: f64) -> Vec<Hit<'_, Id>> {
        let mut hits: Vec<Hit<'_, Id>> = self
            .candidates(record)
            .into_iter()
            .filter_map(|position| {
                let (id, indexed) = &self.entries[position as usize];
                let comparison = compare(record, indexed);
                let weight = scorer.weight(&comparison);
                (weight >= min_weight).then_some(Hit {
                    id,
                    record: indexed,
                    weight,
                    comparison,
                })
            })
            .collect();
        hits.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::named as prepared;

    #[test]
    fn a_name_written_family_name_first_is_still_a_candidate() {
        let mut index = Index::new();
        index.insert("zhang", prepared("Wei Ming", "Zhang", "1980-05-17"));
        index.insert("other", prepared("Anna", "Nowak", "1980-05-17"));
        // The given names in the surname's place, two words and all.
        let written = prepared("Zhang", "Wei Ming", "1980-05-17");
        assert!(
            !blocking_keys(&written)
                .iter()
                .any(|k| blocking_keys(&index.entries[0].1).contains(k)),
            "the keys it is filed under do not meet"
        );
        assert_eq!(index.candidates(&written), vec![0], "its query keys do");
    }
}
