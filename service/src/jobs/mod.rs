//! Background processing: `Processor::process(job)` turns one pending upload
//! into its transformed version; the standalone `Worker` feeds it jobs, and
//! the Lambda S3-event handler calls the very same function.

mod processor;
mod worker;

pub use processor::{Outcome, Processor, UPLOAD_WINDOW, describe};
pub use worker::{Worker, WorkerQueue};

use crate::pipeline::Encoded;
use std::sync::Arc;
use uuid::Uuid;

/// One upload to process.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    /// The transform, when validating the upload already produced it: the
    /// processor then only stores it instead of decoding the image again.
    pub transformed: Option<Encoded>,
    /// The request that uploaded it, so the processor's log lines name it too.
    pub request_id: Option<String>,
}

/// A job that starts from the stored original.
impl From<Uuid> for Job {
    fn from(id: Uuid) -> Self {
        Self {
            id,
            transformed: None,
            request_id: None,
        }
    }
}

/// Where the API hands freshly uploaded ids for processing.
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    fn enqueue(&self, job: Job);

    /// Whether a transform made during validation reaches the processor;
    /// when not, the API validates without transforming.
    fn takes_transformed(&self) -> bool {
        false
    }
}

/// For deployments where something else starts processing (S3 events), or
/// none runs here at all (`--workers 0`).
#[derive(Debug, Default)]
pub struct ExternalTrigger;

impl JobQueue for ExternalTrigger {
    fn enqueue(&self, _job: Job) {}
}

pub type SharedQueue = Arc<dyn JobQueue>;
