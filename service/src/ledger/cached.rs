//! Keeps finished entries (done or failed) in memory. No rule moves an entry
//! out of a finished status, so a cached one is never stale, whichever
//! instance finished it; unfinished entries always go to the backend.

use super::KeyBinding;
use super::rules::Rule;
use super::{Ledger, LedgerError, LogEntry, LogPage, LogQuery, SharedLedger};
use async_trait::async_trait;
use quick_cache::sync::Cache;
use uuid::Uuid;

#[derive(Debug)]
pub struct CachedLedger {
    inner: SharedLedger,
    finished: Cache<Uuid, LogEntry>,
}

impl CachedLedger {
    pub fn new(inner: SharedLedger, entries: usize) -> Self {
        Self {
            inner,
            finished: Cache::new(entries.max(16)),
        }
    }

    fn remember(&self, entry: &LogEntry) {
        if entry.status.is_finished() {
            self.finished.insert(entry.id, entry.clone());
        }
    }
}

#[async_trait]
impl Ledger for CachedLedger {
    async fn bind_request_key(
        &self,
        key: &str,
        id: Uuid,
        replacing: Option<Uuid>,
    ) -> Result<KeyBinding, LedgerError> {
        self.inner.bind_request_key(key, id, replacing).await
    }

    async fn insert(&self, entry: &LogEntry) -> Result<(), LedgerError> {
        self.inner.insert(entry).await?;
        self.remember(entry);
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<LogEntry>, LedgerError> {
        if let Some(hit) = self.finished.get(&id) {
            return Ok(Some(hit));
        }
        let entry = self.inner.get(id).await?;
        if let Some(entry) = &entry {
            self.remember(entry);
        }
        Ok(entry)
    }

    async fn list(&self, query: &LogQuery) -> Result<LogPage, LedgerError> {
        self.inner.list(query).await
    }

    async fn transition(&self, id: Uuid, rule: Rule) -> Result<Option<LogEntry>, LedgerError> {
        let changed = self.inner.transition(id, rule).await?;
        if let Some(entry) = &changed {
            self.remember(entry);
        }
        Ok(changed)
    }

    async fn unfinished(&self, limit: u32) -> Result<Vec<Uuid>, LedgerError> {
        self.inner.unfinished(limit).await
    }
}
