//! The product scenarios (`products/scenarios.rs`) against Apache Kafka and
//! PostgreSQL in containers, started by testcontainers: the platform on the
//! broker and database a department runs, not the embedded ones. `make
//! test-containers`, on a machine with a Docker engine.
//!
//! Without an engine it prints one line, "not run: no Docker engine", runs
//! nothing and counts nothing as passed. With one, this process starts the
//! two containers and runs itself again as a child with the test harness's
//! variables (`CASEWORK_TEST_DATABASE_URL`, `CASEWORK_TEST_KAFKA_BOOTSTRAP`)
//! pointing at them; the child runs each scenario on PostgreSQL, one after
//! another, and the containers are removed when the parent ends.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use casework_testkit::{Backend, DATABASE_URL_VAR, KAFKA_BOOTSTRAP_VAR};
use testcontainers_modules::kafka::apache::{KAFKA_PORT, Kafka};
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::ImageExt;
use testcontainers_modules::testcontainers::runners::AsyncRunner;

#[path = "products/scenarios.rs"]
mod scenarios;

/// The images: the JVM Apache Kafka at the module's tested tag, in KRaft
/// mode; PostgreSQL 17, as the CloudNativePG cluster in `k8s/` runs.
const POSTGRES_TAG: &str = "17-alpine";
/// Set in the child: run the scenarios, not the containers.
const CHILD: &str = "CASEWORK_CONTAINERS_CHILD";

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        return run_scenarios();
    }
    if let Some(why) = no_docker_engine() {
        println!("containers: not run: no Docker engine ({why})");
        return ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let postgres = Postgres::default()
            .with_host_auth()
            .with_tag(POSTGRES_TAG)
            .start()
            .await
            .expect("start the PostgreSQL container");
        let kafka = Kafka::default()
            .with_jvm_image()
            .start()
            .await
            .expect("start the Apache Kafka container");
        let database_url = format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            postgres
                .get_host_port_ipv4(5432)
                .await
                .expect("PostgreSQL's port")
        );
        let bootstrap = format!(
            "127.0.0.1:{}",
            kafka
                .get_host_port_ipv4(KAFKA_PORT)
                .await
                .expect("Kafka's port")
        );
        println!(
            "containers: PostgreSQL {POSTGRES_TAG} at {database_url}, Apache Kafka at {bootstrap}"
        );
        let status = Command::new(std::env::current_exe().expect("this test's path"))
            .env(CHILD, "1")
            .env(DATABASE_URL_VAR, &database_url)
            .env(KAFKA_BOOTSTRAP_VAR, &bootstrap)
            .status()
            .expect("run the scenarios");
        if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

/// Why no Docker engine can be reached, if none can: `DOCKER_HOST` unset
/// and none of the sockets testcontainers looks for exists. (An engine that
/// is configured but does not answer is a failure, not a skip.)
fn no_docker_engine() -> Option<String> {
    if std::env::var_os("DOCKER_HOST").is_some() {
        return None;
    }
    let mut sockets = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(home) = std::env::var_os("HOME") {
        sockets.push(PathBuf::from(&home).join(".docker/run/docker.sock"));
        sockets.push(PathBuf::from(&home).join(".docker/desktop/docker.sock"));
    }
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR") {
        sockets.push(PathBuf::from(runtime).join("docker.sock"));
    }
    if sockets.iter().any(|s| s.exists()) {
        return None;
    }
    Some(format!(
        "DOCKER_HOST is unset and no socket at {}",
        sockets
            .iter()
            .map(|s| s.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// The child: each scenario in turn on PostgreSQL, a line each as the test
/// harness prints them; fails if any failed. Each runs on a thread and a
/// runtime of its own, as `#[tokio::test]` would, so a panic fails it alone.
fn run_scenarios() -> ExitCode {
    use scenarios::*;
    let (mut passed, mut failed) = (0, Vec::new());
    macro_rules! each {
        ($($scenario:ident),* $(,)?) => {$(
            let name = stringify!($scenario);
            println!("test containers::{name} ...");
            let outcome = std::thread::spawn(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime")
                    .block_on($scenario(Backend::Postgres))
            })
            .join();
            if outcome.is_ok() {
                println!("test containers::{name} ... ok");
                passed += 1;
            } else {
                println!("test containers::{name} ... FAILED");
                failed.push(name);
            }
        )*};
    }
    each!(
        each_product_runs_from_application_to_a_closed_case,
        a_returning_applicant_is_resolved_to_the_same_person,
        a_product_defined_only_as_data_runs_end_to_end,
        parallel_results_delivered_many_times_advance_the_case_once,
        an_overdue_step_marks_the_case_stuck_and_a_late_result_still_counts,
    );
    println!(
        "containers: {passed} passed, {} failed {failed:?}",
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
