//! A rehabilitation table (`config/rehabilitation/v<N>.toml`): how long each
//! disposal takes to become spent, read and checked at start.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::DisclosureError;
use crate::length::Length;

/// What a rehabilitation period runs from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// The day the sentence, licence included, ends.
    SentenceEnd,
    /// The date of conviction (or of the caution).
    Conviction,
    /// The last day the order has effect.
    OrderEnd,
}

impl Start {
    /// How the reason of an assessment names it.
    pub fn describe(self) -> &'static str {
        match self {
            Start::SentenceEnd => "after the sentence ended",
            Start::Conviction => "from conviction",
            Start::OrderEnd => "after the order ended",
        }
    }
}

/// A period: from what, and how long for adults and for people under 18 at
/// conviction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// What it runs from.
    pub from: Start,
    /// For a person 18 or over at conviction.
    pub adult: Length,
    /// For a person under 18 at conviction.
    pub under_18: Length,
}

/// One custody band: sentences up to `up_to` (the last band has none).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// The longest sentence in the band, inclusive.
    #[serde(default)]
    pub up_to: Option<Length>,
    /// The period for an adult, after the sentence ends.
    pub adult: Length,
    /// The period for a person under 18 at conviction.
    pub under_18: Length,
    /// Never spent, for this reason, when the offence is in Schedule 18 to
    /// the Sentencing Code.
    #[serde(default)]
    pub schedule_18_never: Option<String>,
}

/// How a disposal is reckoned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reckoning {
    /// Never spent (excluded from rehabilitation), for this reason.
    Never(String),
    /// Custody: a period after the sentence ends, by the sentence's length.
    Custody(Vec<Band>),
    /// A period from conviction or from the end of an order.
    Period {
        /// The period.
        period: Period,
        /// For an order with no last day named.
        without_end: Option<Period>,
        /// Spent when a conditional caution's conditions end, if earlier.
        conditions_end: bool,
    },
}

/// One disposal kind of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposal {
    /// Its name, the `disposal_kind` of a record.
    pub kind: String,
    /// What it covers.
    pub description: String,
    /// How its period is reckoned.
    pub reckoning: Reckoning,
    /// A caution (Sch. 2), not a conviction: no s.6(4) either way.
    pub caution: bool,
    /// Whether its period extends another conviction's (false for the
    /// relevant orders of s.5(8), by s.6(5)).
    pub extends_others: bool,
}

/// One version of the rehabilitation table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RehabilitationTable {
    /// Its version: the file's `v<N>`.
    pub version: u32,
    /// Its title.
    pub title: String,
    /// The law it states.
    pub source: String,
    /// When that law came into force.
    pub in_force_from: NaiveDate,
    /// Every disposal, by kind.
    pub disposals: BTreeMap<String, Disposal>,
    /// Whether a further conviction extends an earlier period (s.6(4)).
    pub further_conviction_extends: bool,
    /// Whether a summary-only further conviction is disregarded (s.6(6)(a)).
    pub disregard_summary_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    version: u32,
    title: String,
    source: String,
    in_force_from: NaiveDate,
    disposals: BTreeMap<String, DisposalFile>,
    further_conviction: FurtherConvictionFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisposalFile {
    description: String,
    #[serde(default)]
    from: Option<Start>,
    #[serde(default)]
    adult: Option<Length>,
    #[serde(default)]
    under_18: Option<Length>,
    #[serde(default)]
    never: Option<String>,
    #[serde(default)]
    bands: Option<Vec<Band>>,
    #[serde(default)]
    without_end: Option<Period>,
    #[serde(default)]
    conditions_end: bool,
    #[serde(default)]
    caution: bool,
    #[serde(default = "yes")]
    extends_others: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FurtherConvictionFile {
    extends: bool,
    disregard_summary_only: bool,
}

fn yes() -> bool {
    true
}

impl RehabilitationTable {
    /// Reads and checks one table; `origin` (the file) names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, DisclosureError> {
        let invalid = |why: String| DisclosureError::Invalid {
            origin: origin.to_owned(),
            why,
        };
        let file: TableFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.disposals.is_empty() {
            return Err(invalid("a table needs at least one disposal".into()));
        }
        let mut disposals = BTreeMap::new();
        for (kind, d) in file.disposals {
            let at = |why: &str| invalid(format!("disposals.{kind}: {why}"));
            if !kind
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(at("a kind is lower-case letters, digits and hyphens"));
            }
            let reckoning = match (d.never, d.bands) {
                (Some(_), Some(_)) => return Err(at("`never` and `bands` exclude each other")),
                (Some(reason), None) => {
                    if d.from.is_some() || d.adult.is_some() || d.under_18.is_some() {
                        return Err(at("a disposal that is `never` spent has no period"));
                    }
                    Reckoning::Never(reason)
                }
                (None, Some(bands)) => {
                    if d.from != Some(Start::SentenceEnd) {
                        return Err(at("`bands` are for custody: `from = \"sentence-end\"`"));
                    }
                    if d.adult.is_some() || d.under_18.is_some() {
                        return Err(at("with `bands`, the periods are in the bands"));
                    }
                    check_bands(&bands).map_err(|why| at(&why))?;
                    Reckoning::Custody(bands)
                }
                (None, None) => {
                    let (Some(from), Some(adult), Some(under_18)) = (d.from, d.adult, d.under_18)
                    else {
                        return Err(at(
                            "needs `from`, `adult` and `under_18` (or `never`, or `bands`)",
                        ));
                    };
                    if from == Start::SentenceEnd {
                        return Err(at("a period from the sentence's end needs `bands`"));
                    }
                    if d.without_end.is_some() && from != Start::OrderEnd {
                        return Err(at("`without_end` is for orders: `from = \"order-end\"`"));
                    }
                    if d.without_end.is_some_and(|p| p.from == Start::OrderEnd) {
                        return Err(at("`without_end` cannot run from the order's end"));
                    }
                    if d.conditions_end && from != Start::Conviction {
                        return Err(at("`conditions_end` is for cautions, from the caution"));
                    }
                    Reckoning::Period {
                        period: Period {
                            from,
                            adult,
                            under_18,
                        },
                        without_end: d.without_end,
                        conditions_end: d.conditions_end,
                    }
                }
            };
            if d.description.trim().is_empty() {
                return Err(at("needs a description"));
            }
            disposals.insert(
                kind.clone(),
                Disposal {
                    kind,
                    description: d.description,
                    reckoning,
                    caution: d.caution,
                    extends_others: d.extends_others,
                },
            );
        }
        Ok(Self {
            version: file.version,
            title: file.title,
            source: file.source,
            in_force_from: file.in_force_from,
            disposals,
            further_conviction_extends: file.further_conviction.extends,
            disregard_summary_only: file.further_conviction.disregard_summary_only,
        })
    }

    /// The disposal of that kind.
    pub fn disposal(&self, kind: &str) -> Option<&Disposal> {
        self.disposals.get(kind)
    }

    /// Every disposal kind, in name order.
    pub fn kinds(&self) -> Vec<&str> {
        self.disposals.keys().map(String::as_str).collect()
    }
}

/// Bands rise strictly; only the last is open-ended.
fn check_bands(bands: &[Band]) -> Result<(), String> {
    let Some((last, rest)) = bands.split_last() else {
        return Err("`bands` needs at least one band".into());
    };
    if last.up_to.is_some() {
        return Err("the last band has no `up_to`: it takes every longer sentence".into());
    }
    let reference = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let mut previous: Option<Length> = None;
    for band in rest {
        let Some(up_to) = band.up_to else {
            return Err("every band but the last needs `up_to`".into());
        };
        if previous.is_some_and(|p| up_to.at_most(p, reference)) {
            return Err(format!(
                "band up to {up_to} is not longer than the one before"
            ));
        }
        previous = Some(up_to);
    }
    Ok(())
}

/// Every version of the rehabilitation table in a directory of `v<N>.toml`
/// files. Each is kept: an assessment names the version that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RehabilitationTables {
    versions: BTreeMap<u32, RehabilitationTable>,
}

impl RehabilitationTables {
    /// Reads every `dir/v<N>.toml` (other files are ignored; a `*.toml` not
    /// named so is an error), checking each and that its `version` matches
    /// its name. At least one version must be there.
    pub fn load(dir: &Path) -> Result<Self, DisclosureError> {
        let io = |e: std::io::Error| DisclosureError::Io {
            path: dir.display().to_string(),
            why: e.to_string(),
        };
        let mut versions = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if !path.is_file() || path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let origin = path.display().to_string();
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let Some(number) = name.strip_prefix('v').and_then(|n| n.parse::<u32>().ok()) else {
                return Err(DisclosureError::Invalid {
                    origin,
                    why: "a table file is named v<version>.toml, e.g. v1.toml".into(),
                });
            };
            let text = std::fs::read_to_string(&path).map_err(|e| DisclosureError::Io {
                path: origin.clone(),
                why: e.to_string(),
            })?;
            let table = RehabilitationTable::from_toml(&text, &origin)?;
            if table.version != number {
                return Err(DisclosureError::Invalid {
                    origin,
                    why: format!("version {} must match the file name", table.version),
                });
            }
            versions.insert(number, table);
        }
        if versions.is_empty() {
            return Err(DisclosureError::Invalid {
                origin: dir.display().to_string(),
                why: "no rehabilitation table (v<N>.toml) in it".into(),
            });
        }
        Ok(Self { versions })
    }

    /// One table already read (tests, tools).
    pub fn single(table: RehabilitationTable) -> Self {
        Self {
            versions: BTreeMap::from([(table.version, table)]),
        }
    }

    /// The highest version: the one assessments use.
    pub fn latest(&self) -> &RehabilitationTable {
        // Never empty: `load` refuses a directory without a table.
        self.versions
            .values()
            .next_back()
            .expect("at least one rehabilitation table")
    }

    /// A version, to explain an assessment made with it.
    pub fn version(&self, version: u32) -> Option<&RehabilitationTable> {
        self.versions.get(&version)
    }
}
