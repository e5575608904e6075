//! Worker processes of this binary, started on demand and reused, one
//! request at a time each. A worker still busy at the deadline is killed,
//! which really stops whatever decoder it was in; one that dies (a crash, or
//! its memory limit) is replaced. Either way the image is refused with a
//! stable code and the server carries on.

use super::protocol::{self, Reply, TransformRequest};
use super::{Transformed, Transformer};
use crate::pipeline::Rejection;
use anyhow::Context;
use bytes::Bytes;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxSettings {
    /// Longest one transform may run before its worker is killed.
    pub deadline: Duration,
    /// Address space of each worker process, in bytes.
    pub memory_limit: u64,
}

impl Default for SandboxSettings {
    fn default() -> Self {
        Self {
            deadline: Duration::from_secs(5),
            memory_limit: 1 << 30,
        }
    }
}

/// Idle workers kept for reuse; more are started when callers need them.
const MAX_IDLE: usize = 16;

#[derive(Debug)]
pub struct WorkerPool {
    program: PathBuf,
    settings: SandboxSettings,
    max_payload: u64,
    idle: Mutex<Vec<Worker>>,
}

#[derive(Debug)]
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl WorkerPool {
    /// Workers run `program sandbox-worker`; `max_payload` is the largest image.
    pub fn new(program: PathBuf, settings: SandboxSettings, max_payload: u64) -> Self {
        Self {
            program,
            settings,
            max_payload,
            idle: Mutex::default(),
        }
    }

    pub fn settings(&self) -> SandboxSettings {
        self.settings
    }

    /// Starts one worker and exchanges a request with it, so a broken
    /// installation fails at start instead of on the first upload.
    pub async fn check(&self) -> anyhow::Result<()> {
        let request = TransformRequest {
            mode: protocol::Mode::Validate,
            declared: None,
            spec: Default::default(),
            limits: Default::default(),
        };
        let answer = self.run(request, Bytes::new()).await?;
        anyhow::ensure!(
            matches!(answer.result, Err(Rejection::Empty)),
            "the sandbox worker {} answered {:?} to an empty image",
            self.program.display(),
            answer.result
        );
        Ok(())
    }

    fn spawn(&self) -> anyhow::Result<Worker> {
        let mut child = Command::new(&self.program)
            .arg("sandbox-worker")
            .arg("--memory-limit")
            .arg(self.settings.memory_limit.to_string())
            .arg("--max-payload")
            .arg(self.max_payload.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the sandbox worker {}", self.program.display()))?;
        let stdin = child.stdin.take().context("worker stdin")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        widen_pipe(&stdin);
        widen_pipe(&stdout);
        Ok(Worker {
            child,
            stdin,
            stdout,
        })
    }

    /// An idle worker that is still alive, or a new one.
    fn take(&self) -> anyhow::Result<(Worker, bool)> {
        let mut idle = self.idle.lock().expect("idle workers");
        while let Some(mut worker) = idle.pop() {
            if matches!(worker.child.try_wait(), Ok(None)) {
                return Ok((worker, true));
            }
        }
        drop(idle);
        Ok((self.spawn()?, false))
    }

    fn give_back(&self, worker: Worker) {
        let mut idle = self.idle.lock().expect("idle workers");
        if idle.len() < MAX_IDLE {
            idle.push(worker);
        }
    }
}

#[async_trait::async_trait]
impl Transformer for WorkerPool {
    async fn run(&self, request: TransformRequest, bytes: Bytes) -> anyhow::Result<Transformed> {
        let prefix = protocol::prefix(&request, bytes.len());
        let started = Instant::now();
        let (mut worker, reused) = self.take()?;
        let mut exchanged =
            tokio::time::timeout(self.settings.deadline, worker.exchange(&prefix, &bytes)).await;
        // A reused worker may have died while idle (killed from outside):
        // that is not this image's fault, so it gets one fresh worker.
        if reused && matches!(exchanged, Ok(Err(Exchange::Write(_)))) {
            worker.kill().await;
            worker = self.spawn()?;
            let left = self.settings.deadline.saturating_sub(started.elapsed());
            exchanged = tokio::time::timeout(left, worker.exchange(&prefix, &bytes)).await;
        }
        let elapsed = started.elapsed();
        match exchanged {
            Ok(Ok((reply, payload))) => {
                self.give_back(worker);
                Ok(Transformed {
                    result: protocol::join(reply.result, payload),
                    cpu: Duration::from_micros(reply.cpu_micros),
                })
            }
            Ok(Err(error)) => {
                let status = worker.kill().await;
                let (Exchange::Write(cause) | Exchange::Read(cause)) = &error;
                tracing::warn!(%cause, ?status, "a sandbox worker died on an image");
                Ok(Transformed {
                    result: Err(Rejection::DecoderCrashed {
                        reason: died(status),
                    }),
                    cpu: elapsed,
                })
            }
            Err(_) => {
                worker.kill().await;
                let millis = self.settings.deadline.as_millis() as u64;
                tracing::warn!(
                    millis,
                    "a transform passed its deadline; its worker was killed"
                );
                Ok(Transformed {
                    result: Err(Rejection::TransformTimeout { millis }),
                    cpu: elapsed,
                })
            }
        }
    }
}

#[derive(Debug)]
enum Exchange {
    /// The request could not be sent: the worker was gone before it started.
    Write(std::io::Error),
    /// The worker took the request and did not answer it.
    Read(std::io::Error),
}

impl Worker {
    async fn exchange(
        &mut self,
        prefix: &[u8],
        payload: &[u8],
    ) -> Result<(Reply, Vec<u8>), Exchange> {
        self.stdin
            .write_all(prefix)
            .await
            .map_err(Exchange::Write)?;
        self.stdin
            .write_all(payload)
            .await
            .map_err(Exchange::Write)?;
        self.stdin.flush().await.map_err(Exchange::Write)?;
        self.read_reply().await.map_err(Exchange::Read)
    }

    async fn read_reply(&mut self) -> std::io::Result<(Reply, Vec<u8>)> {
        let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
        let header_length = self.stdout.read_u32_le().await?;
        if header_length > 1 << 20 {
            return Err(invalid("reply header too long"));
        }
        let mut header = vec![0u8; header_length as usize];
        self.stdout.read_exact(&mut header).await?;
        let reply: Reply =
            serde_json::from_slice(&header).map_err(|_| invalid("reply header is not JSON"))?;
        let payload_length = self.stdout.read_u64_le().await?;
        if payload_length > 1 << 30 {
            return Err(invalid("reply payload too long"));
        }
        let mut payload = Vec::with_capacity(payload_length as usize);
        (&mut self.stdout)
            .take(payload_length)
            .read_to_end(&mut payload)
            .await?;
        if payload.len() as u64 != payload_length {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok((reply, payload))
    }

    async fn kill(mut self) -> Option<ExitStatus> {
        let _ = self.child.start_kill();
        self.child.wait().await.ok()
    }
}

/// Images cross the pipes in megabytes: a 1 MiB pipe (the unprivileged
/// maximum) moves them in 16× fewer wake-ups than the 64 KiB default.
fn widen_pipe(pipe: &impl std::os::fd::AsRawFd) {
    #[cfg(target_os = "linux")]
    // SAFETY: fcntl on a descriptor this process owns; failure only leaves
    // the default size.
    unsafe {
        libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
    }
}

fn died(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.and_then(|s| s.signal()) {
        Some(signal) => {
            format!("its decoder process crashed or ran out of its memory limit (signal {signal})")
        }
        None => "its decoder process exited without an answer".to_owned(),
    }
}
