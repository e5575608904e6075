//! Running on AWS Lambda: the API role hands API Gateway (HTTP API, payload
//! v2) events to the same axum router as the standalone server; the processor
//! role turns S3 `ObjectCreated` events on `originals/` into `process(id)`,
//! and a scheduled EventBridge event into a sweep of unfinished entries.

use crate::api;
use crate::app::Backends;
use crate::cli::LambdaRole;
use crate::config::{Config, LedgerLocation, StorageLocation};
use crate::jobs::{ExternalTrigger, Outcome, Processor};
use crate::storage::ObjectKey;
use crate::telemetry::metrics;
use anyhow::{Context, bail};
use aws_lambda_events::s3::S3Event;
use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Service};
use lambda_runtime::{LambdaEvent, service_fn};
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use uuid::Uuid;

pub async fn run(role: LambdaRole, mut config: Config) -> anyhow::Result<()> {
    refuse_local_backends(&config)?;
    config.load_secrets().await?;
    // The figures leave as CloudWatch EMF lines, one document per invocation.
    config.metrics = false;
    metrics::cloudwatch();
    let backends = Backends::open(&config).await?;
    match role {
        LambdaRole::Api => {
            let state = backends.app_state(&config, Arc::new(ExternalTrigger))?;
            let router = api::router(state).layer(axum::middleware::from_fn(flush_metrics));
            lambda_http::run(router)
                .await
                .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
        }
        LambdaRole::Processor => {
            let processor = backends.processor(&config);
            let prefix = storage_prefix(&config);
            let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| {
                let (processor, prefix) = (processor.clone(), prefix.clone());
                async move {
                    let handled = handle_processor_event(&processor, &prefix, event.payload).await;
                    metrics::flush_lambda(&event.context.request_id, std::io::stdout());
                    handled.map_err(|e| lambda_runtime::Error::from(format!("{e:#}")))
                }
            });
            lambda_runtime::run(handler)
                .await
                .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
        }
    }
}

/// Writes what one API invocation counted once its answer is ready.
async fn flush_metrics(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use lambda_http::RequestExt as _;
    let request_id = request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .unwrap_or_default();
    let response = next.run(request).await;
    metrics::flush_lambda(&request_id, std::io::stdout());
    response
}

/// Files and SQLite vanish with the Lambda sandbox: refuse them outright.
fn refuse_local_backends(config: &Config) -> anyhow::Result<()> {
    if matches!(config.storage, StorageLocation::Files(_)) {
        bail!("file storage is refused on AWS Lambda: set FLIPFRAME_STORAGE=s3://BUCKET/PREFIX");
    }
    if matches!(config.ledger, LedgerLocation::Sqlite(_)) {
        bail!("a SQLite log is refused on AWS Lambda: set FLIPFRAME_LEDGER=dynamodb://TABLE");
    }
    Ok(())
}

fn storage_prefix(config: &Config) -> String {
    match &config.storage {
        StorageLocation::S3 { prefix, .. } => prefix.clone(),
        StorageLocation::Files(_) => String::new(),
    }
}

/// One API Gateway event in, its response out, exactly as `lambda_http::run`
/// converts them (base64 bodies included).
pub async fn handle_api_event(
    router: Router,
    event: serde_json::Value,
) -> anyhow::Result<serde_json::Value> {
    let request: LambdaRequest =
        serde_json::from_value(event).context("not an API Gateway event")?;
    let mut adapter = Adapter::from(router);
    let response = adapter
        .call(LambdaEvent::new(
            request,
            lambda_runtime::Context::default(),
        ))
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(serde_json::to_value(response)?)
}

/// The processor's events: S3 notifications, and the scheduled sweep
/// (EventBridge) that ends what no notification will ever finish.
pub async fn handle_processor_event(
    processor: &Processor,
    prefix: &str,
    event: serde_json::Value,
) -> anyhow::Result<Vec<(Uuid, Outcome)>> {
    if event.get("detail-type").and_then(|t| t.as_str()) == Some("Scheduled Event") {
        return sweep(processor).await;
    }
    let event: S3Event =
        serde_json::from_value(event).context("neither an S3 nor a scheduled event")?;
    handle_s3_event(processor, prefix, event).await
}

/// Unfinished entries one sweep looks at (oldest first); the next takes the rest.
const SWEEP_BATCH: u32 = 500;

/// Runs `process` on every unfinished entry. It decides what is due: a
/// presigned upload that never arrived fails after its window, one whose
/// processor timed out is claimed again after its lease, anything younger
/// is skipped.
pub async fn sweep(processor: &Processor) -> anyhow::Result<Vec<(Uuid, Outcome)>> {
    let mut outcomes = Vec::new();
    for id in processor.ledger.unfinished(SWEEP_BATCH).await? {
        // One entry's backend error must not keep the sweep from the others.
        match processor.process(id.into()).await {
            Ok(outcome) => {
                if outcome != Outcome::Skipped {
                    tracing::info!(%id, ?outcome, "finished by the scheduled sweep");
                }
                outcomes.push((id, outcome));
            }
            Err(error) => tracing::warn!(%id, error = ?error, "the sweep will try again"),
        }
    }
    Ok(outcomes)
}

/// Processes every `originals/{id}` object in the event. An error makes
/// Lambda retry the whole event, which is harmless: processing is idempotent.
pub async fn handle_s3_event(
    processor: &Processor,
    prefix: &str,
    event: S3Event,
) -> anyhow::Result<Vec<(Uuid, Outcome)>> {
    let mut outcomes = Vec::new();
    for record in event.records {
        let Some(raw_key) = record.s3.object.key.as_deref() else {
            continue;
        };
        let Some(id) = original_id(raw_key, prefix) else {
            tracing::info!(key = raw_key, "ignoring an object that is not an original");
            continue;
        };
        let outcome = processor.process(id.into()).await?;
        tracing::info!(%id, ?outcome, "processed from an S3 event");
        outcomes.push((id, outcome));
    }
    Ok(outcomes)
}

/// S3 event keys arrive form-URL-encoded (`originals%2Fx`, `+` for spaces).
fn original_id(raw_key: &str, prefix: &str) -> Option<Uuid> {
    let decoded = percent_decode_str(&raw_key.replace('+', " "))
        .decode_utf8()
        .ok()?
        .into_owned();
    let key = if prefix.is_empty() {
        decoded.as_str()
    } else {
        decoded.strip_prefix(prefix)?.strip_prefix('/')?
    };
    ObjectKey::original_id(key)
}

#[cfg(test)]
mod tests {
    use super::original_id;

    #[test]
    fn event_keys_are_decoded_and_checked() {
        let id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(
            original_id(&format!("originals%2F{id}"), "")
                .unwrap()
                .to_string(),
            id
        );
        assert_eq!(
            original_id(&format!("originals/{id}"), "")
                .unwrap()
                .to_string(),
            id
        );
        assert_eq!(
            original_id(&format!("prod%2Fimages%2Foriginals%2F{id}"), "prod/images")
                .unwrap()
                .to_string(),
            id
        );
        assert!(original_id(&format!("transformed%2F{id}.jpg"), "").is_none());
        assert!(original_id(&format!("originals/{id}"), "prod").is_none());
        assert!(original_id("originals/not-an-id", "").is_none());
        assert!(original_id("originals/%FF", "").is_none());
    }
}
