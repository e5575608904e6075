//! Buffers for upload bodies, reused from one upload to the next. A fresh
//! buffer of a few MiB takes a page fault for every 4 KiB copied into it:
//! a fifth of the server's own CPU per upload in `just bench-cli`. A buffer
//! back from an earlier upload has its pages already. The pool keeps at most
//! `IDLE_BUDGET` bytes of idle capacity, and gives it back to the system
//! once no upload has come for `KEEP_IDLE_FOR`: after a burst the server's
//! resting memory returns to what it was.

use bytes::Bytes;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Idle capacity kept for the next uploads: a handful of photo-sized bodies.
const IDLE_BUDGET: usize = 32 << 20;

/// How long idle buffers are kept after the last upload took one.
const KEEP_IDLE_FOR: Duration = Duration::from_secs(10);

/// A new buffer starts at most this big and grows as the body arrives (never
/// from the declared length alone: a client could declare 25 MB and send none).
const FIRST_CAPACITY: usize = 1 << 20;

/// The server's one pool.
static UPLOADS: BodyPool = BodyPool::new(IDLE_BUDGET);

#[derive(Debug)]
struct BodyPool {
    idle: Mutex<Idle>,
    budget: usize,
}

#[derive(Debug)]
struct Idle {
    buffers: Vec<Vec<u8>>,
    last_taken: Option<Instant>,
}

/// Runs for the server's life: empties the pool whenever uploads pause.
pub async fn release_idle_buffers() {
    let mut ticks = tokio::time::interval(KEEP_IDLE_FOR);
    loop {
        ticks.tick().await;
        UPLOADS.release_unused_for(KEEP_IDLE_FOR);
    }
}

/// A body being read; frozen into `Bytes` whose last clone hands it back.
#[derive(Debug)]
pub struct BodyBuffer {
    bytes: Vec<u8>,
    pool: &'static BodyPool,
}

impl BodyBuffer {
    /// A buffer for a body of `expected` bytes, when the client said.
    pub fn take(expected: Option<usize>) -> Self {
        UPLOADS.take(expected)
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl BodyPool {
    const fn new(budget: usize) -> Self {
        Self {
            idle: Mutex::new(Idle {
                buffers: Vec::new(),
                last_taken: None,
            }),
            budget,
        }
    }

    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn release_unused_for(&self, quiet: Duration) {
        let mut idle = self.idle();
        if idle.last_taken.is_none_or(|taken| taken.elapsed() >= quiet) {
            idle.buffers = Vec::new();
        }
    }

    /// The smallest idle buffer that holds `expected` bytes, else the largest
    /// idle one (it grows as needed), else a new one.
    fn take(&'static self, expected: Option<usize>) -> BodyBuffer {
        let mut idle = self.idle();
        idle.last_taken = Some(Instant::now());
        let idle = &mut idle.buffers;
        let fits = |b: &&Vec<u8>| expected.is_some_and(|wanted| b.capacity() >= wanted);
        let chosen = idle
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b))
            .min_by_key(|(_, b)| b.capacity())
            .or_else(|| idle.iter().enumerate().max_by_key(|(_, b)| b.capacity()))
            .map(|(index, _)| index);
        let bytes = match chosen {
            Some(index) => idle.swap_remove(index),
            None => Vec::with_capacity(expected.unwrap_or(0).min(FIRST_CAPACITY)),
        };
        BodyBuffer { bytes, pool: self }
    }

    fn give_back(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() == 0 || buffer.capacity() > self.budget {
            return;
        }
        buffer.clear();
        let mut idle = self.idle();
        let idle = &mut idle.buffers;
        idle.push(buffer);
        // Over budget: the smallest go first, big bodies are the costly ones.
        while idle.iter().map(Vec::capacity).sum::<usize>() > self.budget {
            let smallest = (0..idle.len())
                .min_by_key(|&i| idle[i].capacity())
                .expect("over budget means not empty");
            idle.swap_remove(smallest);
        }
    }
}

impl AsRef<[u8]> for BodyBuffer {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for BodyBuffer {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> &'static BodyPool {
        Box::leak(Box::new(BodyPool::new(IDLE_BUDGET)))
    }

    #[test]
    fn a_buffer_comes_back_with_its_pages_and_without_its_bytes() {
        let pool = pool();
        let mut first = pool.take(Some(3 << 20));
        first.extend_from_slice(&vec![7u8; 3 << 20]);
        let frozen = first.freeze();
        let address = frozen.as_ptr();
        let clone = frozen.clone();
        drop(frozen);
        assert_eq!(clone.len(), 3 << 20, "a clone keeps the buffer alive");
        drop(clone);
        let again = pool.take(Some(3 << 20));
        assert_eq!(again.len(), 0);
        assert_eq!(again.as_ref().as_ptr(), address, "the same buffer, reused");
    }

    #[test]
    fn idle_buffers_stay_within_the_budget() {
        let pool = pool();
        let buffers: Vec<_> = (0..12)
            .map(|_| {
                let mut b = pool.take(None);
                b.extend_from_slice(&vec![1u8; 4 << 20]);
                b
            })
            .collect();
        drop(buffers);
        let idle: usize = pool.idle().buffers.iter().map(Vec::capacity).sum();
        assert!(idle <= IDLE_BUDGET, "{idle} bytes idle");
        assert!(idle >= 4 << 20, "the pool keeps some: {idle} bytes idle");
    }

    #[test]
    fn idle_buffers_go_back_once_uploads_pause() {
        let pool = pool();
        let mut buffer = pool.take(Some(1 << 20));
        buffer.extend_from_slice(&[1; 1 << 20]);
        drop(buffer);
        pool.release_unused_for(Duration::from_secs(60));
        assert_eq!(pool.idle().buffers.len(), 1, "kept while uploads come");
        pool.release_unused_for(Duration::ZERO);
        assert!(pool.idle().buffers.is_empty(), "given back after a pause");
    }
}
