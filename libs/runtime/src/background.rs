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
//! has a database of its own (`casework_register::intake`). So each
//! service's own SQLite writer, whose work is mostly its consumers', runs at
//! background priority too ([`lower_writer_priority`]); the intake's writer
//! keeps the normal priority. Caseworkers' and departments' writes to a
//! service's database (a decision, an import) then wait longer when the
//! machine is saturated; their reads do not (readers keep the normal
//! priority). `casework up` also starts the embedded broker [`NICE`] nicer:
//! it only serves background work.

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

/// Lowers the CPU priority of the SQLite writer thread of `database` (named
/// `<database>-w`, see `casework_store::Store`) by [`NICE`]. Returns whether
/// it found the thread: there is none on PostgreSQL, or off Linux.
pub fn lower_writer_priority(database: &str) -> bool {
    lower_thread_priority(&format!("{database}-w"))
}

/// Lowers the priority of this process's threads named `name` (Linux keeps
/// a nice value per thread, addressed by its thread id).
fn lower_thread_priority(name: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Pid, getpriority_process, setpriority_process};
        let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
            return false;
        };
        let mut found = false;
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            // The kernel keeps 15 bytes of a thread's name.
            let short = &name.as_bytes()[..name.len().min(15)];
            if comm.trim_end().as_bytes() != short {
                continue;
            }
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|tid| tid.parse::<i32>().ok())
                .and_then(Pid::from_raw)
            else {
                continue;
            };
            let lowered = getpriority_process(Some(tid))
                .and_then(|nice| setpriority_process(Some(tid), (nice + NICE).min(19)));
            match lowered {
                Ok(()) => found = true,
                Err(err) => {
                    tracing::debug!(error = %err, thread = name, "could not lower a thread's priority")
                }
            }
        }
        found
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = name;
        false
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

    #[test]
    fn a_writer_thread_is_found_by_name_and_lowered_alone() {
        let (done, stop) = std::sync::mpsc::channel::<()>();
        let (report, reports) = std::sync::mpsc::channel();
        let mut threads = Vec::new();
        let stop = std::sync::Arc::new(std::sync::Mutex::new(stop));
        for name in ["testdb-w", "testdb-r1"] {
            let (report, stop) = (report.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || {
                        report.send(()).unwrap();
                        let _ = stop.lock().unwrap().recv();
                        getpriority_process(None).unwrap()
                    })
                    .unwrap(),
            );
        }
        reports.recv().unwrap();
        reports.recv().unwrap();
        let here = getpriority_process(None).unwrap();
        assert!(
            lower_writer_priority("testdb"),
            "the writer thread was not found"
        );
        assert!(!lower_writer_priority("nosuchdb"));
        drop(done);
        let writer = threads.remove(0).join().unwrap();
        let reader = threads.remove(0).join().unwrap();
        assert_eq!(writer, (here + NICE).min(19));
        assert_eq!(reader, here, "a reader keeps its priority");
    }
}
