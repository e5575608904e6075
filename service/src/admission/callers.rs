//! Per-caller bounds: uploads in flight, and a share of the CPU slots.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

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

    /// Uploads in flight, all callers together.
    pub fn total_in_flight(&self) -> usize {
        self.counts.lock().expect("upload slots").values().sum()
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
    /// Woken whenever a slot is given back, for callers waiting to borrow.
    freed: Arc<Notify>,
}

/// Held while a transform runs.
#[derive(Debug)]
pub struct CpuPermit {
    /// None for a borrowed slot (the caller's share was in use).
    _own: Option<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
    freed: Arc<Notify>,
}

impl Drop for CpuPermit {
    fn drop(&mut self) {
        self.freed.notify_waiters();
    }
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
            freed: Arc::new(Notify::new()),
        }
    }

    /// A slot within the caller's share, waiting in line for it; or, while
    /// that share is in use, any slot nobody is waiting for. The share stays
    /// fair under contention (the global queue is first come, first served,
    /// so a borrower never jumps it) and work-conserving when one caller is
    /// alone: a single user's folder upload gets every core.
    pub async fn acquire(&self, caller: &str) -> CpuPermit {
        let own = self.own(caller);
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Ok(permit) = Arc::clone(&own).try_acquire_owned() {
                return self.within_share(permit).await;
            }
            if let Ok(global) = Arc::clone(&self.global).try_acquire_owned() {
                return CpuPermit {
                    _own: None,
                    _global: global,
                    freed: Arc::clone(&self.freed),
                };
            }
            tokio::select! {
                permit = Arc::clone(&own).acquire_owned() => {
                    return self.within_share(permit.expect("never closed")).await;
                }
                _ = &mut freed => {}
            }
        }
    }

    async fn within_share(&self, own: OwnedSemaphorePermit) -> CpuPermit {
        let global = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .expect("never closed");
        CpuPermit {
            _own: Some(own),
            _global: global,
            freed: Arc::clone(&self.freed),
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
    async fn a_lone_caller_borrows_idle_slots_but_never_jumps_the_queue() {
        let wait = Duration::from_millis(50);
        let cpu = CpuShare::new(2, 1);
        let first = cpu.acquire("mallory").await;
        // Nobody else is waiting: mallory may use the idle second slot.
        let second = tokio::time::timeout(wait, cpu.acquire("mallory"))
            .await
            .expect("a lone caller gets every core");
        let third = tokio::time::timeout(wait, cpu.acquire("mallory"));
        assert!(third.await.is_err(), "no slot is free");
        // Alice comes while both are busy: the next slot freed is hers,
        // whatever mallory keeps asking for.
        let alice = tokio::spawn({
            let cpu = Arc::new(cpu);
            let for_alice = Arc::clone(&cpu);
            async move {
                let mallory_again = {
                    let cpu = Arc::clone(&cpu);
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        let _permit = cpu.acquire("mallory").await;
                        tokio::time::sleep(Duration::from_secs(5)).await;
                    })
                };
                let permit =
                    tokio::time::timeout(Duration::from_secs(2), for_alice.acquire("alice")).await;
                mallory_again.abort();
                permit.is_ok()
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        drop(second);
        assert!(alice.await.unwrap(), "alice got the freed slot");
        drop(first);
    }
}
