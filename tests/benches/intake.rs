//! `make bench-intake`: the public intake under open-loop load, and the
//! platform's footprint, against `casework up` as shipped (release build,
//! schema validation on, SQLite WAL `synchronous=FULL`, outbox in the same
//! transaction, embedded broker).
//!
//! - Footprint: time from spawning `casework up` to `/readyz` green (median
//!   of 3 fresh starts), and the idle RSS of the `casework` and
//!   `casework-broker` processes.
//! - Latency at a fixed offered load (`BENCH_RATE`, default 500/s, for
//!   `BENCH_SECONDS`, default 20 s): p50/p99 of valid `POST`s, measured from
//!   each request's *intended* send time (open loop), against the baseline
//!   `GET /livez` at the same rate through the same listener, middleware and
//!   client; and the same `GET /livez` at 50/s *during* the intake, which
//!   shows what any request waits for on the machine under that load.
//! - Throughput: rising offered rates (10 s each; `BENCH_STEPS`, default
//!   1000,1500,2000,2500,3000,4000, empty for none) until the platform no
//!   longer keeps up (completed < 95% of offered, or p99 > 1 s); the highest
//!   rate it kept up with is the maximum sustained rate.
//!
//! `BENCH_LOG` sets `casework up`'s log filter (default `warn`), e.g. to the
//! README's commit timings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use casework_e2e::load::{applicant_address, ms, open_loop, start_up};
use casework_e2e::{env_number, wait_ready, workspace};
use casework_testkit::TempDir;
use serde_json::Value;

/// Requests per second of the `GET /livez` probe run beside the intake.
const PROBE_RATE: f64 = 50.0;

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[tokio::main]
async fn main() {
    let rate = env_number("BENCH_RATE", 500.0);
    let seconds = env_number("BENCH_SECONDS", 20.0);
    println!(
        "intake benchmark: casework up (release), shipped defaults: schema validation on, \
         SQLite WAL synchronous=FULL, outbox in the intake transaction, embedded broker; \
         open-loop load from this process"
    );

    // Footprint: three fresh starts.
    let mut ready_times = Vec::new();
    for _ in 0..3 {
        let dir = TempDir::new("bench-start");
        let started = Instant::now();
        let (process, _) = start_up(dir.path());
        wait_ready(&process.base_url).await;
        ready_times.push(started.elapsed());
    }
    ready_times.sort();
    let ready_time = ready_times[1];

    let dir = TempDir::new("bench-intake");
    let (process, _) = start_up(dir.path());
    wait_ready(&process.base_url).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let broker_pids = children(process.pid());
    let casework_rss = rss_kib(process.pid());
    let broker_rss: u64 = broker_pids.iter().map(|p| rss_kib(*p)).sum();
    println!(
        "footprint: ready after {:.2} s (median of {:?}); idle RSS casework {:.1} MB + broker {:.1} MB = {:.1} MB",
        ready_time.as_secs_f64(),
        ready_times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect::<Vec<_>>(),
        casework_rss as f64 / 1024.0,
        broker_rss as f64 / 1024.0,
        (casework_rss + broker_rss) as f64 / 1024.0,
    );

    let base = process.base_url.clone();
    let application: Value = serde_json::from_str(
        &std::fs::read_to_string(
            workspace().join("schemas/products/visit-visa/examples/valid-tourist.json"),
        )
        .expect("example"),
    )
    .expect("json");
    let body = Arc::new(serde_json::to_vec(&application).expect("body"));
    let submit_url = format!("{base}/api/register/v1/applications/visit-visa");
    let livez_url = format!("{base}/api/register/livez");
    let submit: Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync> =
        Arc::new(move |client: &reqwest::Client| {
            client
                .post(&submit_url)
                .header("content-type", "application/json")
                .header("X-Forwarded-For", applicant_address())
                .body(body.as_ref().clone())
        });
    let livez: Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync> =
        Arc::new(move |client: &reqwest::Client| client.get(&livez_url));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    // Warm up connections and caches.
    let _ = open_loop(&client, submit.clone(), 200.0, 2.0).await;

    let baseline = open_loop(&client, livez.clone(), rate, seconds).await;
    println!("{}", baseline.line("baseline GET /livez"));
    // A light stream of `GET /livez` beside the intake: what a request that
    // does nothing waits for on the machine as the intake leaves it.
    let (intake, probe) = tokio::join!(
        open_loop(&client, submit.clone(), rate, seconds),
        open_loop(&client, livez.clone(), PROBE_RATE, seconds),
    );
    println!("{}", intake.line("intake POST"));
    println!("{}", probe.line("  GET /livez during the intake"));

    let mut sustained = 0.0;
    let steps: Vec<f64> = std::env::var("BENCH_STEPS")
        .unwrap_or_else(|_| "1000,1500,2000,2500,3000,4000".into())
        .split(',')
        .map(str::trim)
        .filter(|step| !step.is_empty())
        .map(|step| {
            step.parse()
                .unwrap_or_else(|_| panic!("BENCH_STEPS: `{step}` is not a rate per second"))
        })
        .collect();
    for step in steps {
        let run = open_loop(&client, submit.clone(), step, 10.0).await;
        println!("{}", run.line("  step"));
        if !run.kept_up() {
            break;
        }
        sustained = step;
    }
    let baseline_max = open_loop(&client, livez, 4000.0, 10.0).await;
    println!("{}", baseline_max.line("  baseline step"));
    println!(
        "intake: {sustained:.0} applications/s sustained; p50 {:.1} ms, p99 {:.1} ms at {rate:.0}/s \
         (baseline GET /livez p99 {:.1} ms, {:.1} ms during the intake); ready {:.2} s; idle RSS {:.1} MB",
        ms(intake.quantile(0.5)),
        ms(intake.quantile(0.99)),
        ms(baseline.quantile(0.99)),
        ms(probe.quantile(0.99)),
        ready_time.as_secs_f64(),
        (casework_rss + broker_rss) as f64 / 1024.0,
    );
}
