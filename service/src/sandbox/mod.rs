//! Where the pipeline runs on untrusted bytes. `WorkerPool` runs it in
//! worker processes of this same binary, each under a memory limit, killed
//! when a transform passes its deadline, so no image can stall a CPU for
//! long, exhaust the server's memory or crash it — whatever a C decoder
//! does. `InProcess` runs it on a blocking thread, for library use and
//! benchmarks; it has the pipeline's structural limits but no deadline.

mod in_process;
mod metered;
mod pool;
mod protocol;
pub mod worker;

pub use in_process::InProcess;
pub use metered::Metered;
pub use pool::{SandboxSettings, WorkerPool};
pub use protocol::{Mode, TransformRequest};

use crate::pipeline::{Encoded, Rejection, Validated};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// What one run produced, and what it cost.
#[derive(Debug, Clone)]
pub struct Transformed {
    /// The validated source and, in `Mode::Transform`, the encoded result.
    pub result: Result<(Validated, Option<Encoded>), Rejection>,
    /// CPU time the run used (wall time, when it was stopped at the deadline).
    pub cpu: Duration,
}

#[async_trait::async_trait]
pub trait Transformer: Send + Sync + std::fmt::Debug {
    /// Runs the pipeline on `bytes`. An `Err` is ours (no worker could be
    /// started); every verdict on the image is in `Transformed::result`.
    async fn run(&self, request: TransformRequest, bytes: Bytes) -> anyhow::Result<Transformed>;
}

pub type SharedTransformer = Arc<dyn Transformer>;
