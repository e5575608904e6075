//! Per-caller bounds: uploads in flight, and a share of the CPU slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Uploads in flight per caller; past the bound a caller is told to retry.
#[derive(Debug)]
pub struct UploadSlots {
    max: usize,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// One upload's place among its caller's; freed when dropped.
#[derive(Debug)]
pub struct InFlight {
    caller: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl UploadSlots {
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            counts: Arc::default(),
        }
    }

    /// A slot for `caller`, or `None` when all of theirs are taken.
    pub fn try_enter(&self, caller: &str) -> Option<InFlight> {
        let mut counts = self.counts.lock().expect("upload slots");
        let count = counts.entry(caller.to_owned()).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(InFlight {
            caller: caller.to_owned(),
            counts: Arc::clone(&self.counts),
        })
    }

    pub fn in_flight(&self, caller: &str) -> usize {
        let counts = self.counts.lock().expect("upload slots");
        counts.get(caller).copied().unwrap_or_default()
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().expect("upload slots");
        if let Some(count) = counts.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.caller);
            }
        }
    }
}

/// The CPU slots, shared fairly: a caller first takes one of its own few
/// slots, then a global one. The global queue so holds at most a few
/// waiters per caller, and a caller with many uploads waits behind itself.
#[derive(Debug)]
pub struct CpuShare {
    global: Arc<Semaphore>,
    per_caller: usize,
    callers: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while a transform runs.
#[derive(Debug)]
pub struct CpuPermit {
    _own: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
}

/// The caller key background work (the worker's sweep) runs under.
pub const BACKGROUND: &str = "";

impl CpuShare {
    pub fn new(slots: usize, per_caller: usize) -> Self {
        let slots = slots.max(1);
        Self {
            global: Arc::new(Semaphore::new(slots)),
            per_caller: per_caller.clamp(1, slots),
            callers: Mutex::default(),
        }
    }

    pub async fn acquire(&self, caller: &str) -> CpuPermit {
        let own = self.own(caller);
        let own = own.acquire_owned().await.expect("never closed");
        let global = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .expect("never closed");
        CpuPermit {
            _own: own,
            _global: global,
        }
    }

    fn own(&self, caller: &str) -> Arc<Semaphore> {
        let mut callers = self.callers.lock().expect("cpu share");
        if callers.len() > 4096 {
            // Forget callers nobody is waiting for or holding.
            callers.retain(|_, semaphore| Arc::strong_count(semaphore) > 1);
        }
        let per_caller = self.per_caller;
        Arc::clone(
            callers
                .entry(caller.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(per_caller))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_caller_past_its_bound_is_refused_until_one_finishes() {
        let slots = UploadSlots::new(2);
        let first = slots.try_enter("mallory").unwrap();
        let _second = slots.try_enter("mallory").unwrap();
        assert!(slots.try_enter("mallory").is_none());
        assert!(
            slots.try_enter("alice").is_some(),
            "others are not affected"
        );
        drop(first);
        assert!(slots.try_enter("mallory").is_some());
    }

    #[tokio::test]
    async fn one_caller_cannot_take_every_cpu_slot() {
        let cpu = CpuShare::new(2, 1);
        let _mallory = cpu.acquire("mallory").await;
        let queued = tokio::time::timeout(Duration::from_millis(50), cpu.acquire("mallory"));
        assert!(queued.await.is_err(), "mallory waits behind herself");
        let alice = tokio::time::timeout(Duration::from_millis(50), cpu.acquire("alice"));
        assert!(alice.await.is_ok(), "alice gets the other slot at once");
    }
}
