//! The processing log: one entry per upload, moved along its lifecycle by
//! conditional transitions so concurrent workers cannot trample each other.

mod cached;
mod dynamo;
mod model;
pub mod rules;
mod sqlite;

pub use cached::CachedLedger;
pub use dynamo::DynamoLedger;
pub use model::{Delivery, Failure, ImageInfo, LogEntry, LogPage, LogQuery, Status, Uploader};
pub use sqlite::SqliteLedger;

use async_trait::async_trait;
use rules::Rule;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("no log entry {0}")]
    NotFound(Uuid),
    #[error("log entry {id} is {actual:?}, which does not allow that change")]
    Conflict { id: Uuid, actual: Status },
    #[error("log entry {0} already exists")]
    Duplicate(Uuid),
    #[error("processing log backend failed: {0}")]
    Backend(#[source] anyhow::Error),
}

impl LedgerError {
    pub fn backend(error: impl Into<anyhow::Error>) -> Self {
        Self::Backend(error.into())
    }
}

/// What binding a client's request key answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBinding {
    /// The key now names the new entry.
    Bound,
    /// An earlier request holds the key.
    Existing {
        id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    },
}

#[async_trait]
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// Binds a request key (an `Idempotency-Key`, already scoped to its
    /// caller and hashed) to entry `id`, unless the key is bound already;
    /// `replacing` names a stale binding that may be overwritten.
    async fn bind_request_key(
        &self,
        key: &str,
        id: Uuid,
        replacing: Option<Uuid>,
    ) -> Result<KeyBinding, LedgerError>;

    /// Records a new entry; fails with `Duplicate` if the id exists.
    async fn insert(&self, entry: &LogEntry) -> Result<(), LedgerError>;

    async fn get(&self, id: Uuid) -> Result<Option<LogEntry>, LedgerError>;

    /// Newest first, filtered, at most `query.limit` entries.
    async fn list(&self, query: &LogQuery) -> Result<LogPage, LedgerError>;

    /// Applies a lifecycle `rule` to the entry atomically: the backend's one
    /// job here. Returns the changed entry, or `None` when the rule declined.
    async fn transition(&self, id: Uuid, rule: Rule) -> Result<Option<LogEntry>, LedgerError>;

    /// Moves `pending` — or `processing` whose lease ran out, left by a crashed
    /// worker — to `processing` with a fresh lease, counting the attempt.
    /// `None` when the entry is finished or another worker holds the lease.
    async fn claim(&self, id: Uuid, lease: Duration) -> Result<Option<LogEntry>, LedgerError> {
        self.transition(id, rules::claim(lease)).await
    }

    /// `processing` → `done`, recording the original too when it was not known
    /// at upload (presigned uploads). Completing a `done` entry again is
    /// harmless (the transform is deterministic); anything else is a `Conflict`.
    async fn complete(
        &self,
        id: Uuid,
        original: Option<ImageInfo>,
        transformed: ImageInfo,
    ) -> Result<LogEntry, LedgerError> {
        let changed = self
            .transition(id, rules::complete(original, transformed))
            .await?;
        self.after(id, changed).await
    }

    /// Any unfinished entry → `failed`. A `done` entry is never overwritten.
    async fn fail(&self, id: Uuid, failure: Failure) -> Result<LogEntry, LedgerError> {
        let changed = self.transition(id, rules::fail(failure)).await?;
        self.after(id, changed).await
    }

    /// The entry after a transition, re-read when the rule declined to change it.
    async fn after(&self, id: Uuid, changed: Option<LogEntry>) -> Result<LogEntry, LedgerError> {
        match changed {
            Some(entry) => Ok(entry),
            None => self.get(id).await?.ok_or(LedgerError::NotFound(id)),
        }
    }

    /// Ids of entries still `pending` or `processing`, oldest first.
    async fn unfinished(&self, limit: u32) -> Result<Vec<Uuid>, LedgerError>;
}

pub type SharedLedger = Arc<dyn Ledger>;
