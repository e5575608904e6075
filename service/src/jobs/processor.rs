//! One upload's processing: claim, transform behind a panic boundary, store,
//! record. Safe to run twice for the same id: claims are conditional and the
//! transform is deterministic.

use crate::ledger::{Failure, ImageInfo, LedgerError, LogEntry, SharedLedger};
use crate::pipeline::{self, Limits, TransformSpec};
use crate::storage::{ObjectKey, SharedStore};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use uuid::Uuid;

/// A poison input is given up on after this many claims.
const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failed(Failure),
    /// Finished already, or another worker holds the lease.
    Skipped,
}

#[derive(Debug, Clone)]
pub struct Processor {
    pub store: SharedStore,
    pub ledger: SharedLedger,
    pub spec: TransformSpec,
    pub limits: Limits,
    pub lease: Duration,
    /// Bounds CPU-heavy work (validation and transforms) across the process.
    pub cpu: Arc<Semaphore>,
}

impl Processor {
    #[tracing::instrument(skip(self), fields(outcome))]
    pub async fn process(&self, id: Uuid) -> anyhow::Result<Outcome> {
        let Some(entry) = self.ledger.claim(id, self.lease).await? else {
            return Ok(Outcome::Skipped);
        };
        if entry.attempts > MAX_ATTEMPTS {
            return self
                .give_up(
                    id,
                    "too_many_attempts",
                    "processing was attempted too many times",
                )
                .await;
        }
        let Some(original) = self.store.get(&ObjectKey::original(id)).await? else {
            return self
                .give_up(
                    id,
                    "original_missing",
                    "the original is no longer in storage",
                )
                .await;
        };
        let outcome = match self.run_transform(original).await {
            Ok(encoded) => self.store_result(&entry, encoded).await?,
            Err(failure) => self.give_up(id, &failure.code, &failure.message).await?,
        };
        tracing::Span::current().record("outcome", tracing::field::debug(&outcome));
        Ok(outcome)
    }

    /// Runs the transform on a blocking thread under the CPU bound; a panic
    /// becomes a failure of this upload, not of the process.
    async fn run_transform(&self, original: Bytes) -> Result<pipeline::Encoded, Failure> {
        let _permit = self
            .cpu
            .acquire()
            .await
            .expect("the CPU semaphore is never closed");
        let (spec, limits) = (self.spec, self.limits);
        let result = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                pipeline::transform(&original, &spec, &limits)
            }))
        })
        .await;
        match result {
            Ok(Ok(Ok(encoded))) => Ok(encoded),
            Ok(Ok(Err(rejection))) => Err(Failure {
                code: rejection.code().to_owned(),
                message: rejection.to_string(),
            }),
            Ok(Err(_)) | Err(_) => {
                tracing::error!("the transform panicked");
                Err(Failure {
                    code: "internal_error".to_owned(),
                    message: "the transform crashed on this image".to_owned(),
                })
            }
        }
    }

    async fn store_result(
        &self,
        entry: &LogEntry,
        encoded: pipeline::Encoded,
    ) -> anyhow::Result<Outcome> {
        let info = ImageInfo {
            content_type: encoded.format.content_type().to_owned(),
            bytes: encoded.bytes.len() as u64,
            width: encoded.width,
            height: encoded.height,
            sha256: hex::encode(Sha256::digest(&encoded.bytes)),
        };
        let key = ObjectKey::transformed(entry.id, encoded.format);
        self.store
            .put(
                &key,
                Bytes::from(encoded.bytes),
                encoded.format.content_type(),
            )
            .await?;
        match self.ledger.complete(entry.id, info).await {
            Ok(_) => Ok(Outcome::Done),
            // Another worker whose lease outlived ours finished it first.
            Err(LedgerError::Conflict { .. }) => Ok(Outcome::Skipped),
            Err(error) => Err(error.into()),
        }
    }

    async fn give_up(&self, id: Uuid, code: &str, message: &str) -> anyhow::Result<Outcome> {
        let failure = Failure {
            code: code.to_owned(),
            message: message.to_owned(),
        };
        match self.ledger.fail(id, failure.clone()).await {
            Ok(_) => Ok(Outcome::Failed(failure)),
            Err(LedgerError::Conflict { .. }) => Ok(Outcome::Skipped),
            Err(error) => Err(error.into()),
        }
    }
}
