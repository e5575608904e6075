//! The pipeline on a blocking thread of this process: no deadline and no
//! memory limit beyond the pipeline's own, for library use and benchmarks.

use super::protocol::{self, TransformRequest};
use super::{Transformed, Transformer};
use bytes::Bytes;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct InProcess;

#[async_trait::async_trait]
impl Transformer for InProcess {
    async fn run(&self, request: TransformRequest, bytes: Bytes) -> anyhow::Result<Transformed> {
        tokio::task::spawn_blocking(move || {
            let started = thread_cpu_time();
            let result = protocol::execute(&request, &bytes);
            Transformed {
                result,
                cpu: thread_cpu_time().saturating_sub(started),
            }
        })
        .await
        .map_err(Into::into)
    }
}

fn thread_cpu_time() -> Duration {
    // SAFETY: clock_gettime only writes the struct it is given.
    let now = unsafe {
        let mut now = std::mem::zeroed::<libc::timespec>();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now);
        now
    };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
