//! The lifecycle rules, shared by every backend: each transition inspects the
//! current entry (and its lease) and either edits it or declines. Backends only
//! make the read-check-write atomic.

use super::{Delivery, Failure, ImageInfo, LedgerError, LogEntry, Status};
use std::time::Duration;

/// Milliseconds since the epoch until which a worker owns a `processing` entry.
pub type LeaseUntil = i64;

/// Edits the entry and lease, `Ok(true)`, or declines with `Ok(false)`.
/// Rules are `Fn`: an optimistic backend re-runs them on a fresh read after losing a race.
pub type Rule =
    Box<dyn Fn(&mut LogEntry, &mut LeaseUntil) -> Result<bool, LedgerError> + Send + Sync>;

pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// `pending`, or `processing` whose lease ran out → `processing` with a new lease.
pub fn claim(lease: Duration) -> Rule {
    let lease_millis = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    Box::new(move |entry, lease_until| {
        let now = now_millis();
        let claimable = match entry.status {
            Status::Pending => true,
            Status::Processing => *lease_until <= now,
            Status::Done | Status::Failed => false,
        };
        if claimable {
            entry.status = Status::Processing;
            entry.attempts += 1;
            *lease_until = now.saturating_add(lease_millis);
        }
        Ok(claimable)
    })
}

/// `processing` → `done`; a `done` entry stays as it is.
pub fn complete(original: Option<ImageInfo>, transformed: ImageInfo) -> Rule {
    Box::new(move |entry, lease_until| match entry.status {
        Status::Processing => {
            entry.status = Status::Done;
            if original.is_some() {
                entry.original = original.clone();
            }
            entry.transformed = Some(transformed.clone());
            entry.failure = None;
            *lease_until = 0;
            Ok(true)
        }
        Status::Done => Ok(false),
        actual => Err(LedgerError::Conflict {
            id: entry.id,
            actual,
        }),
    })
}

/// Any unfinished entry → `failed`; `done` is never overwritten.
pub fn fail(failure: Failure) -> Rule {
    Box::new(move |entry, lease_until| match entry.status {
        Status::Pending | Status::Processing => {
            entry.status = Status::Failed;
            entry.failure = Some(failure.clone());
            *lease_until = 0;
            Ok(true)
        }
        Status::Failed => Ok(false),
        actual => Err(LedgerError::Conflict {
            id: entry.id,
            actual,
        }),
    })
}

/// Records one delivery attempt of a finished entry's webhook event. Declines
/// once that recipient's event is delivered or given up: a late duplicate
/// attempt changes nothing.
pub fn record_delivery(attempt: Delivery) -> Rule {
    Box::new(move |entry, _| {
        let slot = entry
            .deliveries
            .iter()
            .position(|delivery| delivery.recipient == attempt.recipient);
        match slot.map(|index| &mut entry.deliveries[index]) {
            Some(done) if done.delivered_at.is_some() || done.given_up => Ok(false),
            Some(known) => {
                *known = Delivery {
                    attempts: known.attempts + 1,
                    ..attempt.clone()
                };
                Ok(true)
            }
            None => {
                entry.deliveries.push(Delivery {
                    attempts: 1,
                    ..attempt.clone()
                });
                Ok(true)
            }
        }
    })
}
