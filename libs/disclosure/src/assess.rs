//! Whether each of a person's records is spent on a given day, from the
//! facts of every record together (a further conviction can extend an
//! earlier period, s.6(4)).

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::length::Length;
use crate::table::{Disposal, Reckoning, RehabilitationTable, Start};

/// The facts of one conviction or caution that decide when it is spent, as
/// the record's source states them. Whether it *is* spent is never a fact:
/// it is computed, on the day it matters, by [`RehabilitationTable::assess`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFacts {
    /// The date of conviction, or of the caution.
    pub conviction_date: NaiveDate,
    /// The person's date of birth (so their age at conviction).
    pub date_of_birth: NaiveDate,
    /// The disposal, one of the table's kinds (`custody`, `fine`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposal_kind: Option<String>,
    /// Custody: the length of the sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence_length: Option<Length>,
    /// Custody: the day the sentence, licence included, ends, when it is not
    /// the conviction date plus the length (time on remand, a later
    /// sentencing date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentence_ends_on: Option<NaiveDate>,
    /// An order: the last day it has effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_ends_on: Option<NaiveDate>,
    /// An order: true when the court named no last day.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub order_has_no_end_date: bool,
    /// A conditional caution: the day its conditions ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions_end_on: Option<NaiveDate>,
    /// Whether the offence is listed in Schedule 18 to the Sentencing Code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_18: Option<bool>,
    /// Whether the offence is triable only summarily (s.6(6)(a)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_only: Option<bool>,
}

impl RecordFacts {
    /// Facts with only the dates known; set the rest field by field.
    pub fn new(conviction_date: NaiveDate, date_of_birth: NaiveDate) -> Self {
        Self {
            conviction_date,
            date_of_birth,
            disposal_kind: None,
            sentence_length: None,
            sentence_ends_on: None,
            order_ends_on: None,
            order_has_no_end_date: false,
            conditions_end_on: None,
            schedule_18: None,
            summary_only: None,
        }
    }
}

/// Whether a record is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Its rehabilitation period is over.
    Spent,
    /// Its rehabilitation period is still running.
    Unspent,
    /// It can never become spent.
    NeverSpent,
    /// The record lacks the facts to decide: it must be neither printed nor
    /// hidden until a person establishes them.
    Undetermined,
}

impl Status {
    /// Its name in events: `spent`, `unspent`, `never-spent`, `undetermined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Spent => "spent",
            Status::Unspent => "unspent",
            Status::NeverSpent => "never-spent",
            Status::Undetermined => "undetermined",
        }
    }
}

/// The verdict on one record on one day, with why and by which table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    /// Spent, unspent, never spent or undetermined.
    pub status: Status,
    /// The day it is (or was) spent, when that is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_on: Option<NaiveDate>,
    /// Why: `spent_on: <date> (...)`, `never spent: <reason>` or
    /// `undetermined: <what is missing>`.
    pub reason: String,
    /// The version of the rehabilitation table used.
    pub table_version: u32,
    /// The day assessed ("today" then).
    pub assessed_on: NaiveDate,
}

/// A record's own period, before any further conviction is considered.
#[derive(Debug, Clone)]
enum Base {
    /// Spent on `on`, for `why`.
    Ends { on: NaiveDate, why: String },
    /// Excluded from rehabilitation.
    Excluded(String),
    /// Cannot be decided from the facts.
    Unknown(String),
}

struct State<'a> {
    facts: &'a RecordFacts,
    base: Base,
    /// The current end, for `Base::Ends`, after extensions.
    end: Option<NaiveDate>,
    /// The conviction whose period this one was extended to end with.
    extended_by: Option<NaiveDate>,
    never: Option<String>,
    undetermined: Option<String>,
    caution: bool,
    extends_others: bool,
}

impl RehabilitationTable {
    /// Assesses every record of one person on `today`, in the order given.
    ///
    /// Each record's own period comes from its disposal; then s.6(4) is
    /// applied until nothing changes: a conviction during another's period
    /// makes both end with the later of the two, with the exceptions the
    /// table states (see `config/rehabilitation/v1.toml`).
    pub fn assess(&self, records: &[RecordFacts], today: NaiveDate) -> Vec<Assessment> {
        let mut states: Vec<State<'_>> = records
            .iter()
            .map(|facts| {
                let disposal = facts
                    .disposal_kind
                    .as_deref()
                    .and_then(|k| self.disposal(k));
                let base = self.base(facts, disposal);
                State {
                    facts,
                    end: match &base {
                        Base::Ends { on, .. } => Some(*on),
                        _ => None,
                    },
                    base,
                    extended_by: None,
                    never: None,
                    undetermined: None,
                    caution: disposal.is_some_and(|d| d.caution),
                    extends_others: disposal.is_none_or(|d| d.extends_others),
                }
            })
            .collect();
        if self.further_conviction_extends {
            self.apply_further_convictions(&mut states);
        }
        states.iter().map(|s| self.verdict(s, today)).collect()
    }

    fn base(&self, facts: &RecordFacts, disposal: Option<&Disposal>) -> Base {
        let Some(kind) = facts.disposal_kind.as_deref() else {
            return Base::Unknown("the record does not name its disposal (disposal_kind)".into());
        };
        let Some(disposal) = disposal else {
            return Base::Unknown(format!(
                "disposal `{kind}` is not in rehabilitation table v{}",
                self.version
            ));
        };
        let under_18 = facts
            .date_of_birth
            .checked_add_months(Months::new(18 * 12))
            .is_some_and(|eighteen| facts.conviction_date < eighteen);
        let age = if under_18 {
            "under 18 at conviction"
        } else {
            "18 or over at conviction"
        };
        let unknown = |why: String| Base::Unknown(why);
        match &disposal.reckoning {
            Reckoning::Never(reason) => Base::Excluded(reason.clone()),
            Reckoning::Custody(bands) => {
                let Some(length) = facts.sentence_length else {
                    return unknown(
                        "custody without the sentence's length (sentence_length)".into(),
                    );
                };
                let Some(band) = bands.iter().find(|b| {
                    b.up_to
                        .is_none_or(|up_to| length.at_most(up_to, facts.conviction_date))
                }) else {
                    return unknown(format!("no custody band for {length}"));
                };
                if let Some(reason) = &band.schedule_18_never {
                    match facts.schedule_18 {
                        Some(true) => return Base::Excluded(reason.clone()),
                        Some(false) => {}
                        None => {
                            return unknown(format!(
                                "custody of {length}: whether the offence is in Schedule 18 to the Sentencing Code (schedule_18) decides whether it is ever spent"
                            ));
                        }
                    }
                }
                let Some(ends) = facts
                    .sentence_ends_on
                    .or_else(|| length.after(facts.conviction_date))
                else {
                    return unknown(format!("custody of {length} ends past the calendar"));
                };
                let period = if under_18 { band.under_18 } else { band.adult };
                self.ends(
                    period,
                    ends,
                    format!(
                        "custody of {length}, {age}: {period} after the sentence ended on {ends}"
                    ),
                )
            }
            Reckoning::Period {
                period,
                without_end,
                conditions_end,
            } => {
                let (period, start, what) = match period.from {
                    Start::OrderEnd => match (facts.order_ends_on, facts.order_has_no_end_date) {
                        // The order has effect to the end of its last day.
                        (Some(last), _) => (
                            *period,
                            last.checked_add_days(Days::new(1)).unwrap_or(last),
                            format!("the order's last day was {last}"),
                        ),
                        (None, true) => match without_end {
                            Some(fallback) => (
                                *fallback,
                                facts.conviction_date,
                                format!(
                                    "an order with no last day named, {} {}",
                                    fallback.from.describe(),
                                    facts.conviction_date
                                ),
                            ),
                            None => {
                                return unknown(format!(
                                    "disposal `{kind}` names no period for an order without a last day"
                                ));
                            }
                        },
                        (None, false) => {
                            return unknown(
                                "an order without its last day (order_ends_on), and not stated to have none (order_has_no_end_date)".into(),
                            );
                        }
                    },
                    Start::Conviction => (
                        *period,
                        facts.conviction_date,
                        format!("from conviction on {}", facts.conviction_date),
                    ),
                    Start::SentenceEnd => {
                        return unknown(format!("disposal `{kind}` needs custody bands"));
                    }
                };
                let length = if under_18 {
                    period.under_18
                } else {
                    period.adult
                };
                let why = format!("{}, {age}: {length}; {what}", disposal.description);
                match self.ends(length, start, why) {
                    Base::Ends { on, why } => match facts.conditions_end_on {
                        Some(ended) if *conditions_end && ended < on => Base::Ends {
                            on: ended,
                            why: format!(
                                "{}, {age}: its conditions ended on {ended}",
                                disposal.description
                            ),
                        },
                        _ => Base::Ends { on, why },
                    },
                    other => other,
                }
            }
        }
    }

    fn ends(&self, length: Length, start: NaiveDate, why: String) -> Base {
        match length.after(start) {
            Some(on) => Base::Ends { on, why },
            None => Base::Unknown(format!("{why}: past the calendar")),
        }
    }

    /// s.6(4) and its exceptions, to a fixed point: every extension moves an
    /// end later and no end passes the latest, so this terminates.
    fn apply_further_convictions(&self, states: &mut [State<'_>]) {
        let mut order: Vec<usize> = (0..states.len()).collect();
        order.sort_by_key(|&i| (states[i].facts.conviction_date, i));
        loop {
            let mut changed = false;
            for (position, &a) in order.iter().enumerate() {
                if states[a].caution {
                    continue;
                }
                for &b in &order[position + 1..] {
                    if states[b].caution {
                        continue;
                    }
                    changed |= self.further(states, a, b);
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Conviction `b`, not earlier than `a`: what it does to `a`'s period
    /// and `a`'s to it. Returns whether an end moved.
    fn further(&self, states: &mut [State<'_>], a: usize, b: usize) -> bool {
        let b_date = states[b].facts.conviction_date;
        let a_date = states[a].facts.conviction_date;
        // s.6(6)(a): a summary-only further conviction is disregarded.
        let disregarded = if self.disregard_summary_only {
            states[b].facts.summary_only
        } else {
            Some(false)
        };
        let unsure_summary = format!(
            "whether the offence of the further conviction on {b_date} is triable only summarily (summary_only) decides, by s.6(6)(a), whether it extends this period"
        );
        match (states[a].base.clone(), states[a].end) {
            (Base::Excluded(_), _) => false,
            (Base::Unknown(why), _) => {
                // `a`'s period is unknown, so whether `b` falls in it, and
                // how far it would extend `b`, is unknown too.
                if disregarded != Some(true) && matches!(states[b].base, Base::Ends { .. }) {
                    states[b].undetermined.get_or_insert(format!(
                        "the conviction of {a_date} may extend its period (s.6(4)), and that conviction's own period cannot be decided: {why}"
                    ));
                }
                false
            }
            (Base::Ends { .. }, Some(a_end)) => {
                if b_date >= a_end || disregarded == Some(true) {
                    return false;
                }
                match (states[b].base.clone(), states[b].end) {
                    (Base::Excluded(_), _) => {
                        // s.1(1)(b) speaks of any subsequent conviction: no disregard.
                        states[a].never.get_or_insert(format!(
                            "a further conviction on {b_date}, during its rehabilitation period, received a sentence excluded from rehabilitation (s.1(1)(b))"
                        ));
                        false
                    }
                    (Base::Unknown(why), _) => {
                        states[a].undetermined.get_or_insert(format!(
                            "the further conviction of {b_date}, during its rehabilitation period, may extend it (s.6(4)), and that conviction's own period cannot be decided: {why}"
                        ));
                        false
                    }
                    (Base::Ends { .. }, Some(b_end)) => {
                        let mut changed = false;
                        if b_end > a_end && states[b].extends_others {
                            if disregarded.is_none() {
                                states[a].undetermined.get_or_insert(unsure_summary);
                            } else {
                                states[a].end = Some(b_end);
                                states[a].extended_by = Some(b_date);
                                changed = true;
                            }
                        } else if a_end > b_end && states[a].extends_others {
                            if disregarded.is_none() {
                                states[b].undetermined.get_or_insert(format!(
                                    "whether its offence is triable only summarily (summary_only) decides, by s.6(6)(a), whether the conviction of {a_date} extends its period"
                                ));
                            } else {
                                states[b].end = Some(a_end);
                                states[b].extended_by = Some(a_date);
                                changed = true;
                            }
                        }
                        changed
                    }
                    (Base::Ends { .. }, None) => false,
                }
            }
            (Base::Ends { .. }, None) => false,
        }
    }

    fn verdict(&self, state: &State<'_>, today: NaiveDate) -> Assessment {
        let verdict = |status, spent_on, reason| Assessment {
            status,
            spent_on,
            reason,
            table_version: self.version,
            assessed_on: today,
        };
        if let Base::Excluded(reason) = &state.base {
            return verdict(Status::NeverSpent, None, format!("never spent: {reason}"));
        }
        if let Some(reason) = &state.never {
            return verdict(Status::NeverSpent, None, format!("never spent: {reason}"));
        }
        if let Base::Unknown(reason) = &state.base {
            return verdict(
                Status::Undetermined,
                None,
                format!("undetermined: {reason}"),
            );
        }
        if let Some(reason) = &state.undetermined {
            return verdict(
                Status::Undetermined,
                None,
                format!("undetermined: {reason}"),
            );
        }
        let (Base::Ends { why, .. }, Some(end)) = (&state.base, state.end) else {
            return verdict(
                Status::Undetermined,
                None,
                "undetermined: no period".to_owned(),
            );
        };
        let mut reason = format!("spent_on: {end} ({why}");
        if let Some(by) = state.extended_by {
            reason.push_str(&format!(
                "; extended under s.6(4) to end with the period of the conviction of {by}"
            ));
        }
        reason.push(')');
        let status = if today >= end {
            Status::Spent
        } else {
            Status::Unspent
        };
        verdict(status, Some(end), reason)
    }
}
