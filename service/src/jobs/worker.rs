//! The standalone worker: processes ids as uploads arrive, a bounded number at
//! once, and sweeps the log for entries left unfinished by a crash or a
//! transient error.

use super::{JobQueue, Processor};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, watch};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct WorkerQueue {
    sender: mpsc::UnboundedSender<Uuid>,
}

impl JobQueue for WorkerQueue {
    fn enqueue(&self, id: Uuid) {
        // A closed channel means shutdown: the sweep of the next start picks it up.
        let _ = self.sender.send(id);
    }
}

#[derive(Debug)]
pub struct Worker {
    processor: Arc<Processor>,
    concurrency: usize,
    sweep_every: Duration,
    in_flight: Arc<Mutex<HashSet<Uuid>>>,
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
        }
    }

    /// Starts the worker; it stops when `shutdown` changes.
    pub fn spawn(self, mut shutdown: watch::Receiver<bool>) -> WorkerQueue {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        let queue = WorkerQueue { sender };
        let sweeper = queue.clone();
        let slots = Arc::new(Semaphore::new(self.concurrency));
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(self.sweep_every);
            loop {
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = sweep.tick() => self.sweep(&sweeper).await,
                    Some(id) = receiver.recv() => {
                        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { break };
                        self.start(id, slot);
                    }
                }
            }
            tracing::info!("worker stopped");
        });
        queue
    }

    fn start(&self, id: Uuid, slot: tokio::sync::OwnedSemaphorePermit) {
        if !self.in_flight.lock().expect("in-flight set").insert(id) {
            return;
        }
        let processor = Arc::clone(&self.processor);
        let in_flight = Arc::clone(&self.in_flight);
        tokio::spawn(async move {
            if let Err(error) = processor.process(id).await {
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
                for id in ids.into_iter().filter(|id| !in_flight.contains(id)) {
                    queue.enqueue(id);
                }
            }
            Err(error) => tracing::warn!(error = ?error, "sweep could not read the log"),
        }
    }
}
