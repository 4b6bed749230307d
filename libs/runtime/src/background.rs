//! Where background work runs: consumers, outbox relays and sweeps.
//!
//! Someone is waiting for every request (an applicant's `POST`, a
//! caseworker's page); nobody is waiting for a consumer's backlog, which
//! drains whenever there is CPU to spare. So background work runs on its own
//! tokio runtime whose threads have a lower CPU priority (nice
//! [`NICE`]) than the request path: the HTTP workers and Register's
//! intake writer, which stay on the main runtime. On an idle machine the
//! difference is nil; on a saturated one, requests are served first and the
//! pipeline still gets whatever they leave.
//!
//! Threads created from a background thread (librdkafka's, for consumers)
//! inherit its priority. The databases' writer threads are opened at start-up
//! from the main runtime and keep its priority (see [`casework_store::Store`]).
//!
//! No consumer shares a writer with a busy request path: Register's intake
//! has a database of its own (`casework_register::intake`), so its process
//! manager, holding Register's writer while starved of CPU, keeps no
//! applicant waiting. `casework up` also starts the embedded broker [`NICE`]
//! nicer: it only serves background work.

use tokio::runtime::Runtime;

/// How much nicer background threads are than the process: 10 gives a
/// request thread about nine times their share of a contended core.
pub const NICE: i32 = 10;

/// The background runtime: as many workers as cores, each [`NICE`] nicer
/// than the process.
pub fn runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("casework-background")
        .enable_all()
        .on_thread_start(lower_this_threads_priority)
        .build()
}

/// Lowers the calling thread's CPU priority by [`NICE`] (to at most 19, the
/// lowest). On Linux the nice value belongs to the thread, not the process;
/// elsewhere this does nothing.
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let lowered = getpriority_process(None)
            .and_then(|nice| setpriority_process(None, (nice + NICE).min(19)));
        if let Err(err) = lowered {
            tracing::debug!(error = %err, "could not lower a background thread's priority");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use rustix::process::getpriority_process;

    #[test]
    fn background_threads_run_at_a_lower_priority() {
        let runtime = runtime().unwrap();
        let nice = runtime.block_on(async {
            tokio::spawn(async { getpriority_process(None).unwrap() })
                .await
                .unwrap()
        });
        let here = getpriority_process(None).unwrap();
        assert_eq!(nice, (here + NICE).min(19), "this thread is at {here}");
    }
}
