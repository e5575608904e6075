//! Background processing: `Processor::process(id)` turns one pending upload
//! into its transformed version; the standalone `Worker` feeds it ids, and the
//! Lambda S3-event handler will call the very same function.

mod processor;
mod worker;

pub use processor::{Outcome, Processor, UPLOAD_WINDOW, describe};
pub use worker::{Worker, WorkerQueue};

use std::sync::Arc;
use uuid::Uuid;

/// Where the API hands freshly uploaded ids for processing.
pub trait JobQueue: Send + Sync + std::fmt::Debug {
    fn enqueue(&self, id: Uuid);
}

/// For deployments where something else starts processing (S3 events), or
/// none runs here at all (`--workers 0`).
#[derive(Debug, Default)]
pub struct ExternalTrigger;

impl JobQueue for ExternalTrigger {
    fn enqueue(&self, _id: Uuid) {}
}

pub type SharedQueue = Arc<dyn JobQueue>;
