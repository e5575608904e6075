//! What operators count, through the `metrics` facade: Prometheus text at
//! `/metrics` when standalone, CloudWatch embedded-metric-format log lines on
//! Lambda. Every name is here, so a handler says what happened, not how it is
//! exported.

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Request and transform durations: from a cached GET to a 20 MP decode.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process-wide Prometheus recorder; the first caller installs it (a
/// process has one recorder, and tests start several servers in one).
pub fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let installed = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    describe();
                    Some(handle)
                }
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// On Lambda: the figures go out as CloudWatch EMF lines, one document per
/// invocation (see `flush_lambda`).
pub fn cloudwatch() -> Option<&'static metrics_cloudwatch_embedded::Collector> {
    static COLLECTOR: OnceLock<Option<&'static metrics_cloudwatch_embedded::Collector>> =
        OnceLock::new();
    *COLLECTOR.get_or_init(|| {
        match metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace("flipframe")
            .init()
        {
            Ok(collector) => {
                describe();
                Some(collector)
            }
            Err(error) => {
                tracing::warn!(%error, "CloudWatch metrics collector not installed");
                None
            }
        }
    })
}

/// Writes what this invocation counted as EMF documents (one per label set)
/// to `out`: stdout on Lambda, where CloudWatch Logs turns them into metrics.
pub fn flush_lambda(request_id: &str, out: impl std::io::Write) {
    if let Some(collector) = cloudwatch() {
        let _ = collector
            .set_property("RequestId", request_id.to_owned())
            .flush(out);
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("flipframe_uploads_accepted_total", "Uploads answered 202");
    describe_counter!(
        "flipframe_uploads_refused_total",
        "Uploads refused, by problem code"
    );
    describe_counter!(
        "flipframe_transforms_total",
        "Transforms ended, by input format and outcome"
    );
    describe_histogram!(
        "flipframe_transform_duration_seconds",
        Unit::Seconds,
        "Time to transform one upload, by input format"
    );
    describe_histogram!(
        "flipframe_transform_cpu_seconds",
        Unit::Seconds,
        "CPU the worker spent on one transform, by input format (its sum against the server's own CPU is the server's overhead)"
    );
    describe_histogram!(
        "flipframe_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer a request, by route, method and status"
    );
    describe_gauge!("flipframe_queue_depth", "Uploads waiting for a transform");
    describe_gauge!(
        "flipframe_uploads_in_flight",
        "Upload bodies being received"
    );
    describe_gauge!(
        "flipframe_upload_memory_bytes",
        Unit::Bytes,
        "Upload memory in use, of the budget"
    );
    describe_gauge!(
        "flipframe_upload_memory_budget_bytes",
        Unit::Bytes,
        "The upload memory budget"
    );
    describe_counter!(
        "flipframe_cache_hits_total",
        "Transformed versions served from memory"
    );
    describe_counter!(
        "flipframe_cache_misses_total",
        "Transformed versions fetched from storage"
    );
    describe_counter!(
        "flipframe_jwks_fetches_total",
        "Fetches of the issuer's key set, by outcome"
    );
    describe_counter!(
        "flipframe_webhook_attempts_total",
        "Webhook delivery attempts, by recipient and outcome"
    );
    describe_counter!(
        "flipframe_external_downloads_total",
        "Downloads with an external token, by token name"
    );
}

pub fn upload_accepted() {
    counter!("flipframe_uploads_accepted_total").increment(1);
}

pub fn upload_refused(code: &str) {
    counter!("flipframe_uploads_refused_total", "code" => code.to_owned()).increment(1);
}

/// `format` is the upload's detected format; `outcome` "done" or "failed";
/// `took` the wall time around the worker, `cpu` the worker's own figure.
pub fn transform_ended(format: &str, outcome: &'static str, took: Duration, cpu: Duration) {
    counter!("flipframe_transforms_total", "format" => format.to_owned(), "outcome" => outcome)
        .increment(1);
    histogram!("flipframe_transform_duration_seconds", "format" => format.to_owned())
        .record(took.as_secs_f64());
    histogram!("flipframe_transform_cpu_seconds", "format" => format.to_owned())
        .record(cpu.as_secs_f64());
}

pub fn request_answered(method: &str, route: &str, status: u16, took: Duration) {
    histogram!(
        "flipframe_http_request_duration_seconds",
        "method" => method.to_owned(),
        "route" => route.to_owned(),
        "status" => status.to_string(),
    )
    .record(took.as_secs_f64());
}

pub fn queued(change: f64) {
    gauge!("flipframe_queue_depth").increment(change);
}

pub fn uploads_now(in_flight: usize, memory_in_use: u64, memory_budget: u64) {
    gauge!("flipframe_uploads_in_flight").set(in_flight as f64);
    gauge!("flipframe_upload_memory_bytes").set(memory_in_use as f64);
    gauge!("flipframe_upload_memory_budget_bytes").set(memory_budget as f64);
}

pub fn cache_lookup(hit: bool) {
    if hit {
        counter!("flipframe_cache_hits_total").increment(1);
    } else {
        counter!("flipframe_cache_misses_total").increment(1);
    }
}

pub fn jwks_fetched(ok: bool) {
    let outcome = if ok { "ok" } else { "failed" };
    counter!("flipframe_jwks_fetches_total", "outcome" => outcome).increment(1);
}

pub fn external_download(token: &str) {
    counter!("flipframe_external_downloads_total", "token" => token.to_owned()).increment(1);
}

pub fn webhook_attempt(recipient: &str, delivered: bool) {
    let outcome = if delivered { "delivered" } else { "failed" };
    counter!("flipframe_webhook_attempts_total", "recipient" => recipient.to_owned(), "outcome" => outcome)
        .increment(1);
}
