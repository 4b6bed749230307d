//! `make bench-audit`: what the audit trail costs. The same release binary
//! (built with the `bench-switch` feature, which shipped builds lack) runs
//! with the trail on and with its appends skipped
//! (`CASEWORK_BENCH_SKIP_AUDIT=1`), alternately, `BENCH_ROUNDS` (default 2)
//! times each, each on a fresh `casework up` with shipped defaults:
//!
//! - a case read (`GET /api/register/v1/cases/{ref}` with a `Purpose`, one
//!   audit record per read), open loop at `BENCH_RATE` (default 200/s) for
//!   `BENCH_SECONDS` (default 10 s), then rising rates (5 s each,
//!   `BENCH_STEPS`) to the highest it keeps up with;
//! - intake (`POST` an application; it reads no personal data, so it writes
//!   no audit record: the control), open loop at 500/s.
//!
//! Medians over the rounds, and on/off ratios. Each round checks the switch
//! really was on or off: `casework audit verify` counts Register's records.

use std::sync::Arc;
use std::time::Duration;

use casework_e2e::load::{Run, applicant_address, ms, open_loop, start_up_with};
use casework_e2e::{Api, env_number, example, wait_ready};
use casework_testkit::{TempDir, median};

type Request = Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>;

struct Round {
    read: Run,
    read_sustained: f64,
    intake: Run,
}

/// Register's record count, from `casework audit verify`'s report.
fn register_records(process: &casework_testkit::CaseworkProcess) -> u64 {
    let report = process.run(&["audit", "verify"], &[]);
    report
        .lines()
        .find_map(|line| line.trim().strip_prefix("register: "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count for register in: {report}"))
}

async fn round(skip: bool, rate: f64, seconds: f64, steps: &[f64]) -> Round {
    let dir = TempDir::new("bench-audit");
    let env: &[(&str, &str)] = if skip {
        &[("CASEWORK_BENCH_SKIP_AUDIT", "1")]
    } else {
        &[]
    };
    let (process, _) = start_up_with(dir.path(), env);
    let base = process.base_url.clone();
    wait_ready(&base).await;
    let api = Api::new(&base);
    let caseworker = process.token("caseworker");
    let reference = api
        .submit("visit-visa", &example("visit-visa", "valid-tourist"))
        .await;
    api.wait_for_status(&reference, "closed", &caseworker).await;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let case_url = format!("{base}/api/register/v1/cases/{reference}");
    let read: Request = Arc::new(move |c: &reqwest::Client| {
        c.get(&case_url)
            .bearer_auth(&caseworker)
            .header("Purpose", "bench-audit")
    });
    let body = Arc::new(serde_json::to_vec(&example("visit-visa", "valid-tourist")).expect("body"));
    let submit_url = format!("{base}/api/register/v1/applications/visit-visa");
    let submit: Request = Arc::new(move |c: &reqwest::Client| {
        c.post(&submit_url)
            .header("content-type", "application/json")
            .header("X-Forwarded-For", applicant_address())
            .body(body.as_ref().clone())
    });

    let before = register_records(&process);
    let _ = open_loop(&client, read.clone(), 100.0, 2.0).await; // warm
    let reads = open_loop(&client, read.clone(), rate, seconds).await;
    let mut sustained = 0.0;
    for &step in steps {
        let run = open_loop(&client, read.clone(), step, 5.0).await;
        println!("{}", run.line("    read step"));
        if !run.kept_up() {
            break;
        }
        sustained = step;
    }
    let written = register_records(&process) - before;
    if skip {
        assert_eq!(
            written, 0,
            "the switch was off: is the binary built with `bench-switch`?"
        );
    } else {
        assert!(
            written >= reads.completed as u64,
            "only {written} audit records for {} reads",
            reads.completed
        );
    }
    let _ = open_loop(&client, submit.clone(), 200.0, 2.0).await; // warm
    let intake = open_loop(&client, submit, 500.0, seconds).await;
    println!(
        "  audit {}: {}; sustained {sustained:.0}/s; {written} audit records written",
        if skip { "skipped" } else { "on" },
        reads.line("case read"),
    );
    println!("  {}", intake.line("intake POST"));
    Round {
        read: reads,
        read_sustained: sustained,
        intake,
    }
}

#[tokio::main]
async fn main() {
    let rate = env_number("BENCH_RATE", 200.0);
    let seconds = env_number("BENCH_SECONDS", 10.0);
    let rounds = env_number("BENCH_ROUNDS", 2.0) as usize;
    let steps: Vec<f64> = std::env::var("BENCH_STEPS")
        .unwrap_or_else(|_| "400,800,1200,1600,2000,2500".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "audit benchmark: casework up (release, bench-switch), shipped defaults; audit on against \
         appends skipped, alternately, {rounds} rounds each; open-loop load from this process"
    );
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        on.push(round(false, rate, seconds, &steps).await);
        off.push(round(true, rate, seconds, &steps).await);
    }
    let stat = |rounds: &[Round], f: &dyn Fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let p50 = |r: &Round| ms(r.read.quantile(0.5));
    let p99 = |r: &Round| ms(r.read.quantile(0.99));
    let max = |r: &Round| r.read_sustained;
    let i50 = |r: &Round| ms(r.intake.quantile(0.5));
    let i99 = |r: &Round| ms(r.intake.quantile(0.99));
    println!(
        "case read at {rate:.0}/s: audit on p50 {:.2} ms, p99 {:.2} ms; skipped p50 {:.2} ms, p99 {:.2} ms \
         (on/off {:.2}x, {:.2}x); sustained {:.0}/s on, {:.0}/s skipped ({:.2} of it)",
        stat(&on, &p50),
        stat(&on, &p99),
        stat(&off, &p50),
        stat(&off, &p99),
        stat(&on, &p50) / stat(&off, &p50),
        stat(&on, &p99) / stat(&off, &p99),
        stat(&on, &max),
        stat(&off, &max),
        stat(&on, &max) / stat(&off, &max).max(1.0),
    );
    println!(
        "intake at 500/s (no audit record): audit on p50 {:.2} ms, p99 {:.2} ms; skipped p50 {:.2} ms, p99 {:.2} ms",
        stat(&on, &i50),
        stat(&on, &i99),
        stat(&off, &i50),
        stat(&off, &i99),
    );
}
