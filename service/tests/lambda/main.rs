//! The Lambda handlers fed real API Gateway (HTTP API, payload v2) and S3
//! event JSON in-process, on S3 and DynamoDB in moto, checked byte for byte.

#[path = "../support/mod.rs"]
mod support;

mod delivery;

use axum::Router;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flipframe::api;
use flipframe::app::Backends;
use flipframe::config::{AuthMode, Config, LedgerLocation, StorageLocation};
use flipframe::jobs::{ExternalTrigger, Outcome, Processor};
use flipframe::lambda::{handle_api_event, handle_s3_event};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::images::*;
use support::mock_cognito::MockCognito;
use support::moto::{moto, unique};

const PREFIX: &str = "uploads";

struct LambdaHarness {
    router: Router,
    processor: Processor,
    cognito: MockCognito,
    token: String,
    bucket: String,
}

async fn harness(max_inline_bytes: Option<u64>) -> LambdaHarness {
    let cognito = MockCognito::start().await;
    let bucket = unique("bucket");
    let mut config = Config::embedded(std::env::temp_dir());
    config.isolation =
        flipframe::config::TransformIsolation::Workers(env!("CARGO_BIN_EXE_flipframe").into());
    config.storage = StorageLocation::S3 {
        bucket: bucket.clone(),
        prefix: PREFIX.into(),
    };
    config.ledger = LedgerLocation::DynamoDb {
        table: unique("log"),
    };
    config.aws = moto().settings();
    config.max_inline_bytes = max_inline_bytes;
    // As `lambda::run` does: figures go out as CloudWatch EMF, not Prometheus.
    config.metrics = false;
    flipframe::telemetry::metrics::cloudwatch();
    config.auth = AuthMode::Cognito {
        issuer: cognito.issuer(),
        client_ids: vec![cognito.client_id.clone()],
        jwks_url: cognito.jwks_url(),
        min_refresh: Duration::from_secs(30),
        hosted_ui: None,
        user_pool_api: None,
    };
    let created = flipframe::app::create_missing_resources(&config)
        .await
        .unwrap();
    assert!(
        created.iter().all(|line| line.ends_with("created")),
        "{created:?}"
    );
    let backends = Backends::open(&config).await.unwrap();
    let state = backends
        .app_state(&config, Arc::new(ExternalTrigger))
        .unwrap();
    let token = cognito.access_token("erin");
    LambdaHarness {
        router: api::router(state),
        processor: backends.processor(&config),
        cognito,
        token,
        bucket,
    }
}

/// An API Gateway HTTP API (payload format 2.0) event, as AWS sends it.
fn api_event(method: &str, path: &str, query: &str, headers: Value, body: Option<&[u8]>) -> Value {
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "26/Nov/2026:08:00:00 +0000",
            "timeEpoch": 1795680000000i64
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(BASE64.encode(body));
        event["isBase64Encoded"] = json!(true);
    }
    event
}

/// An S3 `ObjectCreated:Put` notification, key URL-encoded as S3 sends it.
fn s3_event(bucket: &str, key: &str, size: usize) -> Value {
    let encoded: String = key.split('/').collect::<Vec<_>>().join("%2F");
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-26T08:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "originals",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": encoded, "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}
            }
        }]
    })
}

impl LambdaHarness {
    fn auth(&self) -> Value {
        json!({"authorization": format!("Bearer {}", self.token), "host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"})
    }

    async fn call(&self, event: Value) -> Value {
        handle_api_event(self.router.clone(), event).await.unwrap()
    }

    async fn get(&self, path: &str) -> Value {
        self.call(api_event("GET", path, "", self.auth(), None))
            .await
    }

    async fn s3(&self, id: &str, size: usize) -> Vec<Outcome> {
        let event = serde_json::from_value(s3_event(
            &self.bucket,
            &format!("{PREFIX}/originals/{id}"),
            size,
        ))
        .unwrap();
        handle_s3_event(&self.processor, PREFIX, event)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, o)| o)
            .collect()
    }
}

fn json_body(response: &Value) -> Value {
    assert_eq!(response["isBase64Encoded"], false, "JSON travels as text");
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

fn binary_body(response: &Value) -> Vec<u8> {
    assert_eq!(
        response["isBase64Encoded"], true,
        "images travel base64-encoded"
    );
    BASE64.decode(response["body"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn upload_event_then_s3_event_then_downloads() {
    let lambda = harness(None).await;
    let original = marked_jpeg();
    let mut headers = lambda.auth();
    headers["content-type"] = json!("image/jpeg");
    let response = lambda
        .call(api_event(
            "POST",
            "/v1/images",
            "filename=holiday.jpg",
            headers,
            Some(&original),
        ))
        .await;
    assert_eq!(response["statusCode"], 202, "{response}");
    let entry = json_body(&response);
    let id = entry["id"].as_str().unwrap().to_owned();
    assert_eq!(response["headers"]["location"], format!("/v1/images/{id}"));
    assert_eq!(response["headers"]["content-type"], "application/json");
    assert_eq!(entry["filename"], "holiday.jpg");
    assert_eq!(entry["uploader"]["username"], "erin");

    // Not processed until S3 says the original arrived.
    let pending = lambda.get(&format!("/v1/images/{id}/transformed")).await;
    assert_eq!(pending["statusCode"], 409);
    assert_eq!(
        pending["headers"]["content-type"],
        "application/problem+json"
    );
    assert_eq!(pending["headers"]["retry-after"], "2");

    assert_eq!(lambda.s3(&id, original.len()).await, vec![Outcome::Done]);
    assert_eq!(
        lambda.s3(&id, original.len()).await,
        vec![Outcome::Skipped],
        "a retried event is harmless"
    );

    let stored = lambda.get(&format!("/v1/images/{id}/original")).await;
    assert_eq!(stored["statusCode"], 200);
    assert_eq!(stored["headers"]["content-type"], "image/jpeg");
    assert_eq!(
        binary_body(&stored),
        original,
        "byte for byte through base64"
    );

    let transformed = lambda.get(&format!("/v1/images/{id}/transformed")).await;
    assert_eq!(transformed["statusCode"], 200);
    assert_eq!(transformed["headers"]["content-type"], "image/jpeg");
    let bytes = binary_body(&transformed);
    let sdk = moto().sdk().await;
    let in_s3 = sdk
        .s3_client()
        .get_object()
        .bucket(&lambda.bucket)
        .key(format!("{PREFIX}/transformed/{id}.jpg"))
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(bytes, in_s3.to_vec(), "served exactly what is stored");
    assert_corners(&decode(&bytes), [WHITE, BLUE, GREEN, RED]);

    let log = json_body(&lambda.get("/v1/images").await);
    assert_eq!(log["items"][0]["id"], id);
    assert_eq!(log["items"][0]["status"], "done");
}

#[tokio::test]
async fn a_multipart_upload_event_works_too() {
    let lambda = harness(None).await;
    let boundary = "----flipframe";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"see-through.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend(transparent_png(320, 180));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let mut headers = lambda.auth();
    headers["content-type"] = json!(format!("multipart/form-data; boundary={boundary}"));
    let response = lambda
        .call(api_event("POST", "/v1/images", "", headers, Some(&body)))
        .await;
    assert_eq!(response["statusCode"], 202, "{response}");
    let id = json_body(&response)["id"].as_str().unwrap().to_owned();
    assert_eq!(lambda.s3(&id, 0).await, vec![Outcome::Done]);
    let transformed = lambda.get(&format!("/v1/images/{id}/transformed")).await;
    assert_eq!(transformed["headers"]["content-type"], "image/png");
    assert_eq!(
        decode(&binary_body(&transformed))
            .to_rgba8()
            .get_pixel(1180, 620)
            .0[3],
        0
    );
}

#[tokio::test]
async fn refused_and_unauthenticated_events_get_problems() {
    let lambda = harness(None).await;
    let mut headers = lambda.auth();
    headers["content-type"] = json!("image/svg+xml");
    let response = lambda
        .call(api_event(
            "POST",
            "/v1/images",
            "",
            headers,
            Some(&fixture("script.svg")),
        ))
        .await;
    assert_eq!(response["statusCode"], 415);
    assert_eq!(json_body(&response)["code"], "svg_not_accepted");

    let anonymous = lambda
        .call(api_event("GET", "/v1/images", "", json!({}), None))
        .await;
    assert_eq!(anonymous["statusCode"], 401);
    assert!(
        anonymous["headers"]["www-authenticate"]
            .as_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let forged = SigningKeyless::token(&lambda.cognito);
    let headers = json!({"authorization": format!("Bearer {forged}")});
    assert_eq!(
        lambda
            .call(api_event("GET", "/v1/images", "", headers, None))
            .await["statusCode"],
        401
    );
}

struct SigningKeyless;
impl SigningKeyless {
    /// A well-formed token signed by a key the pool never published.
    fn token(cognito: &MockCognito) -> String {
        flipframe::auth::SigningKey::generate()
            .unwrap()
            .sign(&cognito.access_claims("mallory"))
            .unwrap()
    }
}

#[tokio::test]
async fn large_originals_are_redirected_to_a_presigned_url() {
    let lambda = harness(Some(10_000)).await;
    let original = marked_jpeg();
    assert!(original.len() > 10_000);
    let mut headers = lambda.auth();
    headers["content-type"] = json!("image/jpeg");
    let id = json_body(
        &lambda
            .call(api_event(
                "POST",
                "/v1/images",
                "",
                headers,
                Some(&original),
            ))
            .await,
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = lambda.get(&format!("/v1/images/{id}/original")).await;
    assert_eq!(response["statusCode"], 307, "{response}");
    let location = response["headers"]["location"].as_str().unwrap();
    assert!(
        location.contains("X-Amz-Signature") && location.contains("X-Amz-Expires"),
        "{location}"
    );
    let fetched = reqwest::get(location).await.unwrap().bytes().await.unwrap();
    assert_eq!(fetched.to_vec(), original);
}

#[tokio::test]
async fn presigned_uploads_are_validated_by_the_processor() {
    let lambda = harness(None).await;
    let start = |filename: &str| {
        let mut headers = lambda.auth();
        headers["content-type"] = json!("application/json");
        let body = json!({"filename": filename, "content_type": "image/jpeg"}).to_string();
        let mut event = api_event("POST", "/v1/uploads", "", headers, None);
        event["body"] = json!(body);
        event
    };
    let client = reqwest::Client::new();

    // A real photo: PUT, S3 event, done, with the original described.
    let ticket = json_body(&lambda.call(start("big.jpg")).await);
    let id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!(ticket["entry"]["status"], "pending");
    assert_eq!(
        lambda.s3(&id, 0).await,
        vec![Outcome::Skipped],
        "nothing uploaded yet"
    );
    let photo = marked_jpeg();
    let put = client
        .put(ticket["upload"]["url"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(photo.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    assert_eq!(lambda.s3(&id, photo.len()).await, vec![Outcome::Done]);
    let entry = json_body(&lambda.get(&format!("/v1/images/{id}")).await);
    assert_eq!(entry["original"]["width"], 1600);
    assert_eq!(entry["original"]["bytes"], photo.len());
    assert_eq!(entry["filename"], "big.jpg");

    // Not an image: failed with the reason, and the object deleted.
    let ticket = json_body(&lambda.call(start("notes.txt")).await);
    let id = ticket["id"].as_str().unwrap().to_owned();
    client
        .put(ticket["upload"]["url"].as_str().unwrap())
        .header("content-type", "image/jpeg")
        .body(b"definitely not a photo".to_vec())
        .send()
        .await
        .unwrap();
    let outcome = lambda.s3(&id, 22).await;
    assert!(
        matches!(&outcome[..], [Outcome::Failed(f)] if f.code == "unsupported_format"),
        "{outcome:?}"
    );
    let entry = json_body(&lambda.get(&format!("/v1/images/{id}")).await);
    assert_eq!(entry["status"], "failed");
    assert_eq!(entry["failure"]["code"], "unsupported_format");
    let sdk = moto().sdk().await;
    let gone = sdk
        .s3_client()
        .head_object()
        .bucket(&lambda.bucket)
        .key(format!("{PREFIX}/originals/{id}"))
        .send()
        .await;
    assert!(gone.is_err(), "the refused object was deleted");
}

#[tokio::test]
async fn events_for_other_keys_are_ignored() {
    let lambda = harness(None).await;
    let event = serde_json::from_value(s3_event(
        &lambda.bucket,
        &format!("{PREFIX}/transformed/x.jpg"),
        1,
    ))
    .unwrap();
    assert!(
        handle_s3_event(&lambda.processor, PREFIX, event)
            .await
            .unwrap()
            .is_empty()
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(lambda.s3(&unknown, 1).await, vec![Outcome::Skipped]);
}

#[tokio::test]
async fn an_invocation_leaves_its_figures_as_cloudwatch_emf_lines() {
    let lambda = harness(None).await;
    let mut headers = lambda.auth();
    headers["content-type"] = json!("image/jpeg");
    let response = lambda
        .call(api_event(
            "POST",
            "/v1/images",
            "",
            headers,
            Some(&marked_jpeg()),
        ))
        .await;
    assert_eq!(response["statusCode"], 202, "{response}");
    let id = json_body(&response)["id"].as_str().unwrap().to_owned();
    assert_eq!(lambda.s3(&id, marked_jpeg().len()).await, [Outcome::Done]);

    let mut out = Vec::new();
    flipframe::telemetry::metrics::flush_lambda("invocation-7", &mut out);
    let documents: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let named = |name: &str| {
        documents.iter().find(|document| {
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .is_some_and(|metrics| metrics.iter().any(|m| m["Name"] == name))
        })
    };
    let accepted = named("flipframe_uploads_accepted_total").expect("an upload was counted");
    assert_eq!(
        accepted["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "flipframe"
    );
    assert!(
        accepted["flipframe_uploads_accepted_total"]
            .as_f64()
            .unwrap()
            >= 1.0
    );
    assert_eq!(accepted["RequestId"], "invocation-7");
    let transforms = named("flipframe_transforms_total").expect("the transform was counted");
    assert_eq!(transforms["format"], "image/jpeg", "{transforms}");
}
