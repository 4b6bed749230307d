//! The shipped table at its boundaries: the day before, of and after a
//! record is spent; under 18; never spent; undetermined; s.6(4) and its
//! exceptions.

use std::path::Path;

use chrono::NaiveDate;

use super::*;

fn table() -> RehabilitationTable {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/rehabilitation");
    RehabilitationTables::load(&dir)
        .expect("the shipped table")
        .latest()
        .clone()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

const ADULT: &str = "1980-01-01";
const CHILD: &str = "2000-01-01";

fn record(born: &str, convicted: &str, kind: &str) -> RecordFacts {
    let mut facts = RecordFacts::new(date(convicted), date(born));
    facts.disposal_kind = Some(kind.to_owned());
    facts.summary_only = Some(false);
    facts
}

fn custody(born: &str, convicted: &str, length: &str) -> RecordFacts {
    let mut facts = record(born, convicted, "custody");
    facts.sentence_length = Some(length.parse().unwrap());
    facts
}

fn one(facts: &RecordFacts, today: &str) -> Assessment {
    table()
        .assess(std::slice::from_ref(facts), date(today))
        .remove(0)
}

/// Unspent the day before `spent_on`, spent on it and the day after.
fn spent_from(facts: &RecordFacts, spent_on: &str) {
    let on = date(spent_on);
    let before = on.pred_opt().unwrap().to_string();
    let after = on.succ_opt().unwrap().to_string();
    let a = one(facts, &before);
    assert_eq!(a.status, Status::Unspent, "{before}: {a:?}");
    assert_eq!(a.spent_on, Some(on), "{a:?}");
    assert!(
        a.reason.starts_with(&format!("spent_on: {spent_on} (")),
        "{a:?}"
    );
    assert_eq!(one(facts, spent_on).status, Status::Spent, "{spent_on}");
    assert_eq!(one(facts, &after).status, Status::Spent, "{after}");
}

#[test]
fn the_shipped_table_names_its_source_and_every_disposal() {
    let t = table();
    assert_eq!(t.version, 1);
    assert!(
        t.source
            .contains("Police, Crime, Sentencing and Courts Act 2022 s.193")
    );
    assert_eq!(t.in_force_from, date("2023-10-28"));
    for kind in [
        "custody",
        "life",
        "community-order",
        "fine",
        "conditional-discharge",
        "bind-over",
        "absolute-discharge",
        "simple-caution",
        "conditional-caution",
        "relevant-order",
    ] {
        assert!(t.disposal(kind).is_some(), "{kind}");
    }
}

#[test]
fn a_fine_is_spent_a_year_after_conviction_or_six_months_under_18() {
    spent_from(&record(ADULT, "2016-05-10", "fine"), "2017-05-10");
    spent_from(&record(CHILD, "2016-05-10", "fine"), "2016-11-10");
    // 18 on the day of conviction is an adult.
    spent_from(&record("1998-05-10", "2016-05-10", "fine"), "2017-05-10");
    spent_from(&record("1998-05-11", "2016-05-10", "fine"), "2016-11-10");
}

#[test]
fn custody_is_banded_by_its_length_and_runs_from_the_sentence_end() {
    // Up to 1 year: 1 year after it ends (6 months under 18).
    spent_from(&custody(ADULT, "2020-01-15", "12 months"), "2022-01-15");
    spent_from(&custody(CHILD, "2015-01-15", "12 months"), "2016-07-15");
    // Over 1 year, up to 4: 4 years after (2 under 18).
    spent_from(&custody(ADULT, "2020-01-15", "13 months"), "2025-02-15");
    spent_from(&custody(ADULT, "2020-01-15", "4 years"), "2028-01-15");
    spent_from(&custody(CHILD, "2015-01-15", "2 years"), "2019-01-15");
    // Jordan Price: 30 months from 2024-02-12, ends 2026-08-12, spent 2030-08-12.
    spent_from(&custody(ADULT, "2024-02-12", "30 months"), "2030-08-12");
    // John Smith, the demo seed: 18 months from 2019-05-17, spent 2024-11-17.
    spent_from(&custody(ADULT, "2019-05-17", "18 months"), "2024-11-17");
    // Over 4 years, not Schedule 18: 7 years after (3½ under 18).
    let mut long = custody(ADULT, "2010-03-01", "5 years");
    long.schedule_18 = Some(false);
    spent_from(&long, "2022-03-01");
    let mut young = custody(CHILD, "2015-03-01", "49 months");
    young.schedule_18 = Some(false);
    spent_from(&young, "2022-10-01");
    // An end date given (remand time) is used instead of the length.
    let mut remand = custody(ADULT, "2020-01-15", "12 months");
    remand.sentence_ends_on = Some(date("2020-10-01"));
    spent_from(&remand, "2021-10-01");
}

#[test]
fn some_sentences_are_never_spent() {
    let mut violent = custody(ADULT, "2010-03-01", "5 years");
    violent.schedule_18 = Some(true);
    let a = one(&violent, "2090-01-01");
    assert_eq!(a.status, Status::NeverSpent);
    assert!(a.reason.starts_with("never spent: "), "{a:?}");
    assert!(a.reason.contains("Schedule 18"), "{a:?}");
    let a = one(&record(ADULT, "2001-01-01", "life"), "2090-01-01");
    assert_eq!(a.status, Status::NeverSpent);
    assert_eq!(a.spent_on, None);
}

#[test]
fn orders_run_to_their_last_day_or_24_months_without_one() {
    let mut order = record(ADULT, "2022-06-01", "community-order");
    order.order_ends_on = Some(date("2023-05-31"));
    spent_from(&order, "2023-06-01");
    let mut open = record(ADULT, "2022-06-01", "conditional-discharge");
    open.order_has_no_end_date = true;
    spent_from(&open, "2024-06-01");
    let silent = record(ADULT, "2022-06-01", "bind-over");
    let a = one(&silent, "2030-01-01");
    assert_eq!(a.status, Status::Undetermined, "{a:?}");
    assert!(a.reason.contains("order_ends_on"), "{a:?}");
}

#[test]
fn discharges_and_cautions() {
    spent_from(
        &record(ADULT, "2024-04-04", "absolute-discharge"),
        "2024-04-04",
    );
    spent_from(&record(ADULT, "2024-04-04", "simple-caution"), "2024-04-04");
    spent_from(
        &record(ADULT, "2024-04-04", "conditional-caution"),
        "2024-07-04",
    );
    let mut early = record(CHILD, "2015-04-04", "conditional-caution");
    early.conditions_end_on = Some(date("2015-05-20"));
    spent_from(&early, "2015-05-20");
}

#[test]
fn a_record_without_the_facts_is_undetermined() {
    let mut bare = RecordFacts::new(date("2020-01-01"), date(ADULT));
    let a = one(&bare, "2030-01-01");
    assert_eq!(a.status, Status::Undetermined);
    assert!(a.reason.starts_with("undetermined: "), "{a:?}");
    bare.disposal_kind = Some("flogging".into());
    assert!(one(&bare, "2030-01-01").reason.contains("`flogging`"));
    let no_length = record(ADULT, "2020-01-01", "custody");
    assert!(
        one(&no_length, "2030-01-01")
            .reason
            .contains("sentence_length")
    );
    let unsure = custody(ADULT, "2010-01-01", "6 years");
    let a = one(&unsure, "2090-01-01");
    assert_eq!(a.status, Status::Undetermined);
    assert!(a.reason.contains("schedule_18"), "{a:?}");
}

#[test]
fn a_further_conviction_during_the_period_drags_the_earlier_one_through() {
    // A fine (spent 2017-05-10) and, during its period, 6 months' custody
    // (ends 2017-07-10, spent 2018-07-10): the fine is spent with it.
    let fine = record(ADULT, "2016-05-10", "fine");
    let later = custody(ADULT, "2017-01-10", "6 months");
    let both = table().assess(&[fine.clone(), later.clone()], date("2018-07-09"));
    assert_eq!(both[0].status, Status::Unspent, "{:?}", both[0]);
    assert_eq!(both[0].spent_on, Some(date("2018-07-10")));
    assert!(both[0].reason.contains("s.6(4)"), "{:?}", both[0]);
    assert_eq!(both[1].spent_on, Some(date("2018-07-10")));
    let both = table().assess(&[fine.clone(), later], date("2018-07-10"));
    assert!(both.iter().all(|a| a.status == Status::Spent), "{both:?}");

    // After the period has ended, a conviction drags nothing.
    let after = custody(ADULT, "2017-05-10", "6 months");
    let both = table().assess(&[fine.clone(), after], date("2017-06-01"));
    assert_eq!(both[0].status, Status::Spent, "{:?}", both[0]);

    // The later period is extended too when the earlier one ends later.
    let long = custody(ADULT, "2016-01-01", "2 years"); // spent 2022-01-01
    let fine_during = record(ADULT, "2019-06-01", "fine"); // spent 2020-06-01
    let both = table().assess(&[fine_during, long], date("2021-01-01"));
    assert_eq!(both[0].spent_on, Some(date("2022-01-01")), "{both:?}");

    // A chain: each in the last one's (extended) period.
    let chain = [
        record(ADULT, "2010-01-01", "fine"),      // 2011-01-01
        record(ADULT, "2010-12-01", "fine"),      // 2011-12-01
        custody(ADULT, "2011-11-01", "3 months"), // ends 2012-02-01, 2013-02-01
    ];
    let all = table().assess(&chain, date("2013-01-31"));
    assert!(
        all.iter()
            .all(|a| a.spent_on == Some(date("2013-02-01")) && a.status == Status::Unspent),
        "{all:?}"
    );
}

#[test]
fn the_exceptions_of_section_6() {
    let fine = record(ADULT, "2016-05-10", "fine");
    // s.6(6)(a): a summary-only further conviction is disregarded.
    let mut summary = custody(ADULT, "2017-01-10", "6 months");
    summary.summary_only = Some(true);
    let both = table().assess(&[fine.clone(), summary.clone()], date("2017-06-01"));
    assert_eq!(both[0].status, Status::Spent, "{:?}", both[0]);
    // ...and when the record does not say, the answer depends on it.
    summary.summary_only = None;
    let both = table().assess(&[fine.clone(), summary], date("2017-06-01"));
    assert_eq!(both[0].status, Status::Undetermined, "{:?}", both[0]);
    assert!(both[0].reason.contains("s.6(6)(a)"), "{:?}", both[0]);
    assert_eq!(both[1].status, Status::Unspent, "{:?}", both[1]);

    // s.1(1)(b): an excluded sentence during the period: never spent.
    let mut excluded = custody(ADULT, "2016-12-01", "6 years");
    excluded.schedule_18 = Some(true);
    let both = table().assess(&[fine.clone(), excluded], date("2090-01-01"));
    assert_eq!(both[0].status, Status::NeverSpent, "{:?}", both[0]);
    assert!(both[0].reason.contains("s.1(1)(b)"), "{:?}", both[0]);
    // An excluded sentence has no period: a later conviction is not dragged.
    let mut first = record(ADULT, "2000-01-01", "life");
    first.summary_only = Some(false);
    let both = table().assess(&[first, fine.clone()], date("2018-01-01"));
    assert_eq!(both[1].status, Status::Spent, "{:?}", both[1]);

    // s.6(5): a relevant order's period extends no other conviction.
    let mut ban = record(ADULT, "2017-01-10", "relevant-order");
    ban.order_ends_on = Some(date("2021-01-09"));
    let both = table().assess(&[fine.clone(), ban], date("2018-01-01"));
    assert_eq!(both[0].status, Status::Spent, "{:?}", both[0]);
    assert_eq!(both[1].status, Status::Unspent, "{:?}", both[1]);

    // Cautions are not convictions: no s.6(4) either way.
    let caution = record(ADULT, "2016-06-01", "conditional-caution");
    let both = table().assess(&[fine.clone(), caution], date("2016-08-01"));
    assert_eq!(both[1].spent_on, Some(date("2016-09-01")), "{:?}", both[1]);

    // An undetermined earlier conviction leaves a later one undetermined.
    let bare = RecordFacts::new(date("2015-01-01"), date(ADULT));
    let both = table().assess(&[bare, fine], date("2018-01-01"));
    assert_eq!(both[1].status, Status::Undetermined, "{:?}", both[1]);
}

#[test]
fn a_basic_certificate_lists_unspent_records_and_refuses_undetermined_ones() {
    let t = table();
    let records = [
        record(ADULT, "2016-05-10", "fine"),
        custody(ADULT, "2024-02-12", "30 months"),
        RecordFacts::new(date("2020-01-01"), date(ADULT)),
    ];
    let assessed = t.assess(&records[..2], date("2026-12-06"));
    assert_eq!(Level::Basic.discloses(&assessed[0]), Ok(false));
    assert_eq!(Level::Basic.discloses(&assessed[1]), Ok(true));
    let assessed = t.assess(&records, date("2026-12-06"));
    assert!(Level::Basic.discloses(&assessed[2]).is_err());
    assert_eq!(Level::parse("basic"), Some(Level::Basic));
    assert_eq!(Level::parse("enhanced"), None);
}

#[test]
fn assessments_travel_as_json() {
    let a = one(&record(ADULT, "2016-05-10", "fine"), "2026-12-06");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["status"], "spent");
    assert_eq!(json["spent_on"], "2017-05-10");
    assert_eq!(json["table_version"], 1);
    let facts = custody(ADULT, "2024-02-12", "30 months");
    let json = serde_json::to_value(&facts).unwrap();
    assert_eq!(json["sentence_length"], "30 months");
    assert_eq!(serde_json::from_value::<RecordFacts>(json).unwrap(), facts);
}

#[test]
fn a_bad_table_is_refused_naming_the_file_and_the_disposal() {
    let bad = [
        ("version = 1", "missing field"),
        (
            r#"version = 1
title = "t"
source = "s"
in_force_from = "2023-10-28"
[disposals.fine]
description = "Fine"
from = "conviction"
adult = "12 moons"
under_18 = "6 months"
[further_conviction]
extends = true
disregard_summary_only = true"#,
            "12 moons",
        ),
        (
            r#"version = 1
title = "t"
source = "s"
in_force_from = "2023-10-28"
[disposals.custody]
description = "Custody"
from = "sentence-end"
bands = [{ up_to = "4 years", adult = "1 year", under_18 = "1 year" }, { up_to = "1 year", adult = "1 year", under_18 = "1 year" }, { adult = "1 year", under_18 = "1 year" }]
[further_conviction]
extends = true
disregard_summary_only = true"#,
            "disposals.custody: band up to 1 year",
        ),
    ];
    for (text, expected) in bad {
        let err = RehabilitationTable::from_toml(text, "v1.toml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("v1.toml: "), "{err}");
        assert!(err.contains(expected), "{err}");
    }
}
