//! One contract for each backend trait, run on every implementation: files
//! and SQLite locally, S3 and DynamoDB on moto; the in-memory caches in front
//! of them; racing processors; secrets read from SSM.

#[path = "../support/mod.rs"]
mod support;

mod ledger;
mod processing;
mod ssm;
mod storage;

use flipframe::ledger::{SharedLedger, SqliteLedger};
use flipframe::storage::{FileStore, SharedStore};
use std::sync::Arc;
use tempfile::TempDir;

/// Files and SQLite in a fresh folder (kept alive by the returned guard).
pub fn local_backends() -> (TempDir, SharedStore, SharedLedger) {
    let dir = tempfile::tempdir().unwrap();
    let store: SharedStore = Arc::new(FileStore::open(dir.path().join("objects")).unwrap());
    let ledger: SharedLedger = Arc::new(SqliteLedger::open(&dir.path().join("log.db")).unwrap());
    (dir, store, ledger)
}
