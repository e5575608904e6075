//! The standalone worker: processes jobs as uploads arrive, a bounded number
//! at once, and sweeps the log for entries left unfinished by a crash or a
//! transient error.

use super::{Job, JobQueue, Processor};
use crate::telemetry::metrics;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use uuid::Uuid;

/// Transforms waiting in the queue are kept up to this many bytes; beyond it
/// a job carries only its id and the processor transforms the original again.
const QUEUED_RESULT_BUDGET: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct WorkerQueue {
    sender: mpsc::UnboundedSender<Job>,
    queued_bytes: Arc<AtomicUsize>,
}

impl JobQueue for WorkerQueue {
    fn enqueue(&self, mut job: Job) {
        if let Some(size) = job.transformed.as_ref().map(|t| t.bytes.len()) {
            let before = self.queued_bytes.fetch_add(size, Ordering::Relaxed);
            if before + size > QUEUED_RESULT_BUDGET {
                self.queued_bytes.fetch_sub(size, Ordering::Relaxed);
                job.transformed = None;
            }
        }
        // A closed channel means shutdown: the sweep of the next start picks it up.
        if self.sender.send(job).is_ok() {
            metrics::queued(1.0);
        }
    }

    fn takes_transformed(&self) -> bool {
        true
    }
}

impl WorkerQueue {
    fn received(&self, job: &Job) {
        metrics::queued(-1.0);
        if let Some(transformed) = &job.transformed {
            self.queued_bytes
                .fetch_sub(transformed.bytes.len(), Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
pub struct Worker {
    processor: Arc<Processor>,
    concurrency: usize,
    sweep_every: Duration,
    in_flight: Arc<Mutex<HashSet<Uuid>>>,
    /// Ids the sweep queued that have not started yet: a slow backend must
    /// not see the same backlog queued again at every sweep.
    swept: Arc<Mutex<HashSet<Uuid>>>,
}

impl Worker {
    pub fn new(processor: Processor, concurrency: usize) -> Self {
        // Sweeping at a quarter of the lease retries an abandoned entry soon
        // after its lease runs out.
        let sweep_every = (processor.lease / 4).max(Duration::from_millis(100));
        Self {
            processor: Arc::new(processor),
            concurrency: concurrency.max(1),
            sweep_every,
            in_flight: Arc::default(),
            swept: Arc::default(),
        }
    }

    /// Starts the worker. When `shutdown` changes it takes no more jobs and
    /// waits up to `drain` for the transforms in flight; the task ends then.
    /// Jobs still queued stay `pending` in the log for the next start's sweep.
    pub fn spawn(
        self,
        mut shutdown: watch::Receiver<bool>,
        drain: Duration,
    ) -> (WorkerQueue, tokio::task::JoinHandle<()>) {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let queue = WorkerQueue {
            sender,
            queued_bytes: Arc::default(),
        };
        let returned = queue.clone();
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let task = tokio::spawn(async move {
            let mut sweep = tokio::time::interval(self.sweep_every);
            loop {
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = sweep.tick() => self.sweep(&queue).await,
                    Some(job) = receiver.recv() => {
                        queue.received(&job);
                        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { break };
                        self.start(job, slot);
                    }
                }
            }
            let all = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
            match tokio::time::timeout(drain, slots.acquire_many(all)).await {
                Ok(_) => tracing::info!("worker stopped; every transform in flight finished"),
                Err(_) => tracing::warn!(
                    in_flight = self.in_flight.lock().expect("in-flight set").len(),
                    "worker stopped at the drain limit; unfinished entries are retried after their lease"
                ),
            }
        });
        (returned, task)
    }

    fn start(&self, job: Job, slot: tokio::sync::OwnedSemaphorePermit) {
        let id = job.id;
        self.swept.lock().expect("swept set").remove(&id);
        if !self.in_flight.lock().expect("in-flight set").insert(id) {
            return;
        }
        let processor = Arc::clone(&self.processor);
        let in_flight = Arc::clone(&self.in_flight);
        tokio::spawn(async move {
            if let Err(error) = processor.process(job).await {
                tracing::warn!(%id, error = ?error, "processing interrupted; the sweep will retry");
            }
            in_flight.lock().expect("in-flight set").remove(&id);
            drop(slot);
        });
    }

    /// Re-enqueues unfinished entries; claims decide which are really due.
    async fn sweep(&self, queue: &WorkerQueue) {
        match self.processor.ledger.unfinished(1_000).await {
            Ok(ids) => {
                let in_flight = self.in_flight.lock().expect("in-flight set").clone();
                let mut swept = self.swept.lock().expect("swept set");
                for id in ids.into_iter().filter(|id| !in_flight.contains(id)) {
                    if swept.insert(id) {
                        queue.enqueue(id.into());
                    }
                }
            }
            Err(error) => tracing::warn!(error = ?error, "sweep could not read the log"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Encoded, OutputFormat};

    fn job_with(bytes: usize) -> Job {
        Job {
            request_id: None,
            id: Uuid::now_v7(),
            transformed: Some(Encoded {
                bytes: vec![0; bytes],
                format: OutputFormat::Jpeg,
                width: 1280,
                height: 720,
            }),
        }
    }

    #[test]
    fn queued_transforms_stay_within_their_budget() {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let queue = WorkerQueue {
            sender,
            queued_bytes: Arc::default(),
        };
        let half = QUEUED_RESULT_BUDGET / 2 + 1;
        queue.enqueue(job_with(half));
        queue.enqueue(job_with(half));
        let first = receiver.try_recv().unwrap();
        let second = receiver.try_recv().unwrap();
        assert!(first.transformed.is_some());
        assert!(second.transformed.is_none(), "over budget: id only");
        queue.received(&first);
        queue.received(&second);
        queue.enqueue(job_with(half));
        assert!(receiver.try_recv().unwrap().transformed.is_some());
    }
}
