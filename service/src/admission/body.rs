//! Upload bodies, metered as they arrive: each frame is charged to the
//! memory budget before it is handed on (so a client that declares 25 MB
//! and sends one byte a second holds one byte's worth, not 25 MB), and a
//! body slower than the minimum rate is cut off.

use axum::body::Body;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Upload bytes held in memory at once across all requests, in KiB permits.
#[derive(Debug, Clone)]
pub struct UploadMemory {
    kib: Arc<Semaphore>,
    total_kib: u32,
}

impl UploadMemory {
    /// A budget of `bytes`, never less than one body of `limit` bytes.
    pub fn new(bytes: u64, limit: u64) -> Self {
        let total_kib = u32::try_from(bytes.max(limit).div_ceil(1024)).unwrap_or(u32::MAX >> 3);
        Self {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Bytes of the budget in use now.
    pub fn in_use(&self) -> u64 {
        u64::from(self.total_kib).saturating_sub(self.kib.available_permits() as u64) * 1024
    }

    async fn charge(&self, kib: u32) -> OwnedSemaphorePermit {
        Arc::clone(&self.kib)
            .acquire_many_owned(kib.min(self.total_kib))
            .await
            .expect("the upload budget is never closed")
    }
}

/// Memory charged to the budget, released when the last handle drops.
#[derive(Debug, Clone, Default)]
pub struct Charge(Arc<Mutex<Option<OwnedSemaphorePermit>>>);

impl Charge {
    fn add(&self, permit: OwnedSemaphorePermit) {
        let mut held = self.0.lock().expect("charge");
        match held.as_mut() {
            Some(held) => held.merge(permit),
            None => *held = Some(permit),
        }
    }
}

/// Why a metered body stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// It arrived slower than the minimum rate.
    TooSlow { min_rate: u64 },
    /// The memory budget stayed full for longer than the wait.
    Busy,
}

/// A body whose frames are charged to the budget and timed; the charge is
/// held until the meter is dropped, after the upload is done with.
pub struct MeteredBody {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, axum::Error>> + Send>>,
    memory: UploadMemory,
    charged: Charge,
    charged_kib: u32,
    received: u64,
    started: Instant,
    grace: Duration,
    min_rate: u64,
    memory_wait: Duration,
    fault: Arc<Mutex<Option<BodyFault>>>,
}

impl MeteredBody {
    pub fn new(
        body: Body,
        memory: UploadMemory,
        grace: Duration,
        min_rate: u64,
        memory_wait: Duration,
    ) -> Self {
        Self {
            inner: Box::pin(body.into_data_stream()),
            memory,
            charged: Charge::default(),
            charged_kib: 0,
            received: 0,
            started: Instant::now(),
            grace,
            min_rate: min_rate.max(1),
            memory_wait,
            fault: Arc::default(),
        }
    }

    /// Where the fault is written when the meter stops a body, readable
    /// after the body has been handed to a parser.
    pub fn fault_cell(&self) -> Arc<Mutex<Option<BodyFault>>> {
        Arc::clone(&self.fault)
    }

    /// The latest moment the next frame may arrive: by then the body must
    /// have averaged `min_rate` since the grace ran out.
    fn next_frame_deadline(&self) -> Instant {
        let allowed = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        self.started + self.grace + allowed
    }

    /// The next frame, charged; an error once the body stalls or the budget
    /// stays full (the reason is in `fault_cell`).
    pub async fn next_frame(&mut self) -> Option<Result<Bytes, std::io::Error>> {
        if self.fault.lock().expect("fault").is_some() {
            return None;
        }
        let frame =
            match tokio::time::timeout_at(self.next_frame_deadline(), self.inner.next()).await {
                Err(_) => {
                    return Some(Err(self.stop(BodyFault::TooSlow {
                        min_rate: self.min_rate,
                    })));
                }
                Ok(None) => return None,
                Ok(Some(Err(error))) => return Some(Err(std::io::Error::other(error))),
                Ok(Some(Ok(frame))) => frame,
            };
        self.received += frame.len() as u64;
        let owed = u32::try_from(self.received.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .saturating_sub(self.charged_kib);
        if owed > 0 {
            match tokio::time::timeout(self.memory_wait, self.memory.charge(owed)).await {
                Ok(permit) => {
                    self.charged_kib += owed;
                    self.charged.add(permit);
                }
                Err(_) => return Some(Err(self.stop(BodyFault::Busy))),
            }
        }
        Some(Ok(frame))
    }

    fn stop(&self, fault: BodyFault) -> std::io::Error {
        *self.fault.lock().expect("fault") = Some(fault);
        std::io::Error::new(std::io::ErrorKind::TimedOut, format!("{fault:?}"))
    }

    /// The memory charged for this body, held for as long as the handle
    /// or the meter lives: keep it while the body's bytes are in memory.
    pub fn charge(&self) -> Charge {
        self.charged.clone()
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The body as a stream for a parser (multipart); the charge moves with it.
    pub fn into_body(self) -> Body {
        Body::from_stream(futures::stream::unfold(self, |mut meter| async move {
            meter.next_frame().await.map(|frame| (frame, meter))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter(body: Body, memory: &UploadMemory) -> MeteredBody {
        MeteredBody::new(
            body,
            memory.clone(),
            Duration::from_millis(100),
            1000,
            Duration::from_millis(100),
        )
    }

    #[tokio::test]
    async fn memory_is_charged_for_bytes_that_arrive_and_freed_after() {
        let memory = UploadMemory::new(1 << 20, 1 << 20);
        let mut body = meter(Body::from(vec![7u8; 10_000]), &memory);
        assert_eq!(memory.in_use(), 0, "nothing is charged up front");
        assert_eq!(body.next_frame().await.unwrap().unwrap().len(), 10_000);
        assert_eq!(memory.in_use(), 10 * 1024);
        let charge = body.charge();
        drop(body);
        assert_eq!(memory.in_use(), 10 * 1024, "held while the bytes are");
        drop(charge);
        assert_eq!(memory.in_use(), 0);
    }

    #[tokio::test]
    async fn a_stalled_body_is_stopped_after_the_grace() {
        let memory = UploadMemory::new(1 << 20, 1 << 20);
        let (_sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let stalled = Body::from_stream(tokio_stream(receiver));
        let mut body = meter(stalled, &memory);
        let started = std::time::Instant::now();
        assert!(body.next_frame().await.unwrap().is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            *body.fault_cell().lock().unwrap(),
            Some(BodyFault::TooSlow { min_rate: 1000 })
        );
    }

    #[tokio::test]
    async fn a_full_budget_answers_busy_instead_of_waiting_forever() {
        let memory = UploadMemory::new(4096, 4096);
        let _held = memory.charge(4).await;
        let mut body = meter(Body::from(vec![1u8; 2048]), &memory);
        assert!(body.next_frame().await.unwrap().is_err());
        assert_eq!(*body.fault_cell().lock().unwrap(), Some(BodyFault::Busy));
    }

    fn tokio_stream(
        mut receiver: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        futures::stream::poll_fn(move |context| receiver.poll_recv(context))
    }
}
