//! One upload's processing: claim, transform behind a panic boundary, store,
//! record. Safe to run twice for the same id, and for ids whose S3 event
//! arrives again: claims are conditional and the transform is deterministic.

use super::Job;
use crate::admission::{Admission, BACKGROUND};
use crate::ledger::{Failure, ImageInfo, LedgerError, LogEntry, SharedLedger, Status};
use crate::pipeline::{self, Limits, TransformSpec, Validated};
use crate::sandbox::{Mode, SharedTransformer, TransformRequest};
use crate::storage::{ObjectKey, SharedStore};
use crate::webhooks::Notifier;
use bytes::Bytes;
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// A poison input is given up on after this many claims.
const MAX_ATTEMPTS: u32 = 3;

/// How long a presigned upload may take to arrive before its entry fails.
pub const UPLOAD_WINDOW: Duration = Duration::from_secs(20 * 60);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Done,
    Failed(Failure),
    /// Finished already, held by another worker, or still awaiting its upload.
    Skipped,
}

#[derive(Debug, Clone)]
pub struct Processor {
    pub store: SharedStore,
    pub ledger: SharedLedger,
    pub spec: TransformSpec,
    pub limits: Limits,
    pub lease: Duration,
    /// The CPU share background transforms take their slots from.
    pub admission: Arc<Admission>,
    /// Where the pipeline runs on the stored original.
    pub transformer: SharedTransformer,
    /// Who hears when a tagged upload ends.
    pub notifier: Notifier,
}

impl Processor {
    #[tracing::instrument(skip_all, fields(
        upload_id = %job.id,
        request_id = job.request_id.as_deref(),
        prepared = job.transformed.is_some(),
        outcome,
    ))]
    pub async fn process(&self, job: Job) -> anyhow::Result<Outcome> {
        let Job {
            id, transformed, ..
        } = job;
        let Some(entry) = self.ledger.get(id).await? else {
            tracing::warn!(%id, "no log entry for this id");
            return Ok(Outcome::Skipped);
        };
        if entry.status.is_finished() || self.leased_to_another(&entry) {
            return Ok(Outcome::Skipped);
        }
        let key = ObjectKey::original(id);
        let awaiting_upload = entry.original.is_none();
        // The API hands over a prepared job only once the original is stored.
        let prepared = transformed.filter(|_| !awaiting_upload);
        let mut original = None;
        if prepared.is_none() {
            // The entry is written before its original: look before claiming,
            // since a missing original is no error until its window has passed.
            original = self.store.get(&key).await?;
            if original.is_none() && !self.arrival_window_passed(&entry) {
                return Ok(Outcome::Skipped);
            }
        }
        let Some(entry) = self.ledger.claim(id, self.lease).await? else {
            return Ok(Outcome::Skipped);
        };
        let outcome = if entry.attempts > MAX_ATTEMPTS {
            self.give_up(
                id,
                "too_many_attempts",
                "processing was attempted too many times",
            )
            .await?
        } else if let Some(encoded) = prepared {
            self.store_result(&entry, None, encoded).await?
        } else {
            match original {
                None if awaiting_upload => {
                    self.give_up(id, "upload_missing", "the upload never arrived")
                        .await?
                }
                None => {
                    self.give_up(
                        id,
                        "original_missing",
                        "the original was never stored (the upload was interrupted) or is gone",
                    )
                    .await?
                }
                Some(bytes) => {
                    self.transform_and_store(&entry, bytes, awaiting_upload)
                        .await?
                }
            }
        };
        tracing::Span::current().record("outcome", tracing::field::debug(&outcome));
        tracing::info!(?outcome, "processing ended");
        if outcome != Outcome::Skipped {
            self.notifier.finished(id).await;
        }
        Ok(outcome)
    }

    async fn transform_and_store(
        &self,
        entry: &LogEntry,
        bytes: Bytes,
        unvalidated: bool,
    ) -> anyhow::Result<Outcome> {
        match self.run_transform(bytes.clone()).await? {
            Ok((source, encoded)) => {
                // Validated only now: record what the original turned out to be.
                let original = unvalidated.then(|| describe(&bytes, &source));
                self.store_result(entry, original, encoded).await
            }
            Err(failure) => {
                if unvalidated {
                    // Never keep what validation refuses.
                    self.store.delete(&ObjectKey::original(entry.id)).await?;
                }
                self.give_up(entry.id, &failure.code, &failure.message)
                    .await
            }
        }
    }

    /// Runs the transform in the sandbox under a background CPU slot. A
    /// crash or a timeout there is this upload's failure; a sandbox that
    /// cannot start is ours, and the sweep retries.
    async fn run_transform(
        &self,
        original: Bytes,
    ) -> anyhow::Result<Result<(Validated, pipeline::Encoded), Failure>> {
        let _permit = self.admission.cpu.acquire(BACKGROUND).await;
        let request = TransformRequest {
            mode: Mode::Transform,
            declared: None,
            spec: self.spec,
            limits: self.limits,
        };
        Ok(
            match self.transformer.run(request, original).await?.result {
                Ok((source, Some(encoded))) => Ok((source, encoded)),
                Ok((_, None)) => anyhow::bail!("the sandbox transformed without a result"),
                Err(rejection) => Err(Failure {
                    code: rejection.code().to_owned(),
                    message: rejection.to_string(),
                }),
            },
        )
    }

    async fn store_result(
        &self,
        entry: &LogEntry,
        original: Option<ImageInfo>,
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
        match self.ledger.complete(entry.id, original, info).await {
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

/// What the log records about a validated original.
pub fn describe(bytes: &[u8], source: &Validated) -> ImageInfo {
    ImageInfo {
        content_type: source.format.content_type().to_owned(),
        bytes: bytes.len() as u64,
        width: source.width,
        height: source.height,
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

impl Processor {
    /// Claimed within a lease ago (a claim stamps `updated_at`): the claim
    /// would fail, so skip it before fetching the original for nothing.
    fn leased_to_another(&self, entry: &LogEntry) -> bool {
        let lease = chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::MAX);
        entry.status == Status::Processing && Utc::now() < entry.updated_at + lease
    }

    /// A presigned upload has `UPLOAD_WINDOW` to arrive; a direct one's
    /// original follows its entry within a lease (the store's timeouts are
    /// shorter), so after that it was lost with a crashed request.
    fn arrival_window_passed(&self, entry: &LogEntry) -> bool {
        let window = if entry.original.is_none() {
            UPLOAD_WINDOW
        } else {
            self.lease
        };
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        Utc::now() > entry.created_at + window
    }
}
