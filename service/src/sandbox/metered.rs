//! Counts and times every transform, whichever path asked for it (an upload
//! validated with its transform, or the processor working from the stored
//! original), around whichever transformer runs it.

use super::{Mode, SharedTransformer, TransformRequest, Transformed, Transformer};
use crate::pipeline::sniff;
use crate::telemetry::metrics;
use bytes::Bytes;
use std::time::Instant;

#[derive(Debug)]
pub struct Metered(pub SharedTransformer);

#[async_trait::async_trait]
impl Transformer for Metered {
    async fn run(&self, request: TransformRequest, bytes: Bytes) -> anyhow::Result<Transformed> {
        let counted = matches!(request.mode, Mode::Transform);
        let started = Instant::now();
        let transformed = self.0.run(request, bytes.clone()).await?;
        if counted {
            let (format, outcome) = match &transformed.result {
                Ok((source, _)) => (source.format.content_type(), "done"),
                Err(_) => (
                    sniff(&bytes).map_or("unknown", |format| format.content_type()),
                    "failed",
                ),
            };
            metrics::transform_ended(format, outcome, started.elapsed(), transformed.cpu);
        }
        Ok(transformed)
    }
}
