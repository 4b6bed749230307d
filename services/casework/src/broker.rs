//! Supervises the embedded broker: `casework-broker` as a child process,
//! started and waited for, restarted if it dies, stopped on exit.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The running supervisor.
pub struct BrokerSupervisor {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

/// Where the broker binary is: `CASEWORK_BROKER_BIN`, or beside this executable.
fn broker_binary() -> PathBuf {
    std::env::var_os("CASEWORK_BROKER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(|dir| dir.join("casework-broker")))
                .unwrap_or_else(|| PathBuf::from("casework-broker"))
        })
}

/// Why the broker did not start.
enum StartError {
    /// The binary could not be run at all: trying again will not help.
    Spawn(String),
    /// It ran and failed, or never accepted connections.
    Start(String),
}

impl StartError {
    fn message(self) -> String {
        match self {
            StartError::Spawn(message) | StartError::Start(message) => message,
        }
    }
}

/// How long a first start waits and keeps trying: a broker on the same
/// data directory, orphaned a moment ago when its platform was killed, holds
/// the directory's database and its address until it notices its stdin
/// closed and exits.
const FIRST_START: Duration = Duration::from_secs(15);

async fn start(data_dir: &PathBuf, listen: &str) -> Result<Child, StartError> {
    use StartError::{Spawn, Start};
    let binary = broker_binary();
    // It serves only background work (relays and consumers), so it runs at
    // their lower CPU priority, which it sets itself before its first thread.
    let mut child = Command::new(&binary)
        .arg("--nice")
        .arg(casework_runtime::background::NICE.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--listen")
        .arg(listen)
        // It exits when our end of its stdin closes, even if we are killed.
        .arg("--exit-with-parent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Spawn(format!("cannot start the broker {}: {e}", binary.display())))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Spawn("broker stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .map_err(|_| Start("the broker did not start within 30 s".to_owned()))?
        .map_err(|e| Start(e.to_string()))?
        .unwrap_or_default();
    if !first.contains("listening") {
        return Err(Start(format!("the broker did not start: {first:?}")));
    }
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(listen).await.is_ok() {
            return Ok(child);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(Start(format!(
        "the broker is not accepting connections on {listen}"
    )))
}

impl BrokerSupervisor {
    /// Starts the broker and returns once it accepts connections.
    pub async fn start(data_dir: PathBuf, listen: String) -> Result<Self, String> {
        let deadline = tokio::time::Instant::now() + FIRST_START;
        let mut waited = false;
        while tokio::net::TcpStream::connect(&listen).await.is_ok() {
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "the broker's address {listen} is in use by another process"
                ));
            }
            if !waited {
                tracing::warn!(%listen, "the broker's address is in use; waiting for it to be free");
                waited = true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mut child = loop {
            match start(&data_dir, &listen).await {
                Ok(child) => break child,
                Err(StartError::Start(err)) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %err, "embedded broker did not start; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(err) => return Err(err.message()),
            }
        };
        // Held here: tokio's `Child::wait` would otherwise close it, and the
        // broker exits when its stdin closes.
        let mut stdin = child.stdin.take();
        tracing::info!(%listen, data_dir = %data_dir.display(), "embedded broker started");
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => {
                        // Closing stdin asks it to exit; then make sure.
                        drop(stdin.take());
                        if tokio::time::timeout(Duration::from_secs(5), child.wait()).await.is_err() {
                            let _ = child.kill().await;
                        }
                        tracing::info!("embedded broker stopped");
                        return;
                    }
                    status = child.wait() => {
                        tracing::error!(?status, "embedded broker died; restarting it");
                        loop {
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            match start(&data_dir, &listen).await {
                                Ok(mut restarted) => {
                                    stdin = restarted.stdin.take();
                                    child = restarted;
                                    tracing::info!("embedded broker restarted");
                                    break;
                                }
                                Err(err) => tracing::error!(error = %err.message(), "embedded broker restart failed; retrying"),
                            }
                        }
                    }
                }
            }
        });
        Ok(Self {
            stop: Some(stop),
            task,
        })
    }

    /// Stops the broker and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.task.await;
    }
}
