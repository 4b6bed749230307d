//! Every product from a public application to a closed case, through all
//! seven services of `casework up`: auto-grant, auto-refusal with
//! enforcement, referral decided by a caseworker; a product defined only in
//! this test's configuration; a returning applicant; results of a parallel
//! stage delivered many times at once; and every event on the broker read
//! back and checked against its schema. On SQLite and on PostgreSQL.

#[path = "products/scenarios.rs"]
mod scenarios;

use scenarios::*;

casework_testkit::on_both_backends!(
    an_overdue_step_marks_the_case_stuck_and_a_late_result_still_counts,
    each_product_runs_from_application_to_a_closed_case,
    a_returning_applicant_is_resolved_to_the_same_person,
    a_product_defined_only_as_data_runs_end_to_end,
    parallel_results_delivered_many_times_advance_the_case_once,
);
