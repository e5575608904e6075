//! The service instances a target runs: the real `flipframe serve` process
//! reached over HTTP, or the Lambda handlers called in-process with API
//! Gateway and S3 events. Both answer the same `ApiRequest`.

use crate::support::process::{Lifeline, free_port, wait_for_port};
use crate::targets::{
    Data, Issuer, JWKS_MIN_REFRESH, PREFIX, Target, Variant, original_in_storage,
};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flipframe::app::Backends;
use flipframe::aws::AwsSettings;
use flipframe::config::{AuthMode, Config};
use flipframe::jobs::{ExternalTrigger, Processor};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    /// Path and query, e.g. `/v1/images?limit=2`.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl ApiResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts a 200 carrying an image of this type and size, and decodes it.
    pub fn expect_image(&self, content_type: &str, width: u32, height: u32) -> image::DynamicImage {
        self.expect_status(200);
        assert_eq!(self.header("content-type"), Some(content_type));
        let image = image::load_from_memory(&self.body).expect("the image decodes");
        assert_eq!((image.width(), image.height()), (width, height));
        image
    }
}

#[async_trait]
pub trait Service: Send + Sync {
    async fn send(&self, request: ApiRequest) -> ApiResponse;
    /// A presigned upload reached object storage.
    async fn uploaded_directly(&self, id: &str);
    /// Whether object storage holds an original for this id.
    async fn original_stored(&self, id: &str) -> bool;
    /// Where a browser reaches it; none for handlers fed events in-process.
    fn base_url(&self) -> Option<&str>;
}

/// The real `flipframe serve` process.
pub struct ProcessService {
    base_url: String,
    client: reqwest::Client,
    data: Data,
    aws: AwsSettings,
    _process: std::sync::Mutex<Lifeline>,
}

impl ProcessService {
    pub async fn start(target: &Target, variant: &Variant, data: &Data) -> Self {
        let port = free_port();
        let (issuer, client_id, jwks_url) = target.issuer(variant);
        let mut env: Vec<(String, String)> = vec![
            ("FLIPFRAME_LISTEN".into(), format!("127.0.0.1:{port}")),
            (
                "FLIPFRAME_FIT".into(),
                format!("{:?}", variant.fit).to_lowercase(),
            ),
            (
                "FLIPFRAME_WORKERS".into(),
                if variant.processing { "2" } else { "0" }.into(),
            ),
            // A short lease makes the sweep (lease / 4) notice presigned uploads quickly.
            ("FLIPFRAME_PROCESSING_LEASE".into(), "4s".into()),
            ("FLIPFRAME_COGNITO_ISSUER".into(), issuer),
            ("FLIPFRAME_COGNITO_CLIENT_IDS".into(), client_id),
            ("FLIPFRAME_JWKS_URL".into(), jwks_url),
            // The console signs in through the mock pool's Hosted UI.
            (
                "FLIPFRAME_COGNITO_DOMAIN".into(),
                target.endpoints.cognito.base_url.clone(),
            ),
            ("FLIPFRAME_JWKS_MIN_REFRESH".into(), JWKS_MIN_REFRESH.into()),
            (
                "FLIPFRAME_EXTERNAL_TOKENS".into(),
                variant.external_tokens.clone(),
            ),
            ("RUST_LOG".into(), "info".into()),
        ];
        if let Issuer::Moto { .. } = variant.issuer {
            // `flipframe login --username` signs in through moto's user pool API.
            env.push((
                "FLIPFRAME_COGNITO_API_URL".into(),
                format!("{}/", target.endpoints.moto),
            ));
        }
        match data {
            Data::Folder(folder) => {
                env.push(("FLIPFRAME_DATA_DIR".into(), folder.display().to_string()))
            }
            Data::Aws { bucket, table } => {
                let settings = target.aws_settings();
                env.extend([
                    (
                        "FLIPFRAME_STORAGE".into(),
                        format!("s3://{bucket}/{PREFIX}"),
                    ),
                    ("FLIPFRAME_LEDGER".into(), format!("dynamodb://{table}")),
                    (
                        "AWS_ENDPOINT_URL".into(),
                        settings.endpoint_url.unwrap_or_default(),
                    ),
                    (
                        "AWS_ENDPOINT_URL_S3".into(),
                        settings.s3_endpoint_url.unwrap_or_default(),
                    ),
                    ("AWS_ACCESS_KEY_ID".into(), "test".into()),
                    ("AWS_SECRET_ACCESS_KEY".into(), "test".into()),
                    ("AWS_REGION".into(), "us-east-1".into()),
                ]);
            }
        }
        let log =
            std::env::temp_dir().join(format!("flipframe-bdd-{}-{port}.log", target.kind.name()));
        let binary = PathBuf::from(env!("CARGO_BIN_EXE_flipframe"));
        let mut process = Lifeline::spawn(&binary, &["serve"], &env, log);
        tokio::task::block_in_place(|| wait_for_port(port, &mut process, 60));
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            data: data.clone(),
            aws: target.aws_settings(),
            _process: std::sync::Mutex::new(process),
        }
    }
}

#[async_trait]
impl Service for ProcessService {
    async fn send(&self, request: ApiRequest) -> ApiResponse {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut builder = self
            .client
            .request(method, format!("{}{}", self.base_url, request.path));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = request.body {
            builder = builder.body(body);
        }
        let response = builder.send().await.expect("the service answers");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        ApiResponse {
            status,
            headers,
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    async fn uploaded_directly(&self, _id: &str) {
        // The worker's sweep finds it.
    }

    async fn original_stored(&self, id: &str) -> bool {
        original_in_storage(&self.aws, &self.data, id).await
    }

    fn base_url(&self) -> Option<&str> {
        Some(&self.base_url)
    }
}

/// The Lambda handlers in-process: API Gateway events for requests, and the S3
/// event AWS would send once an original lands in the bucket.
pub struct LambdaService {
    router: axum::Router,
    processor: Processor,
    bucket: String,
    processing: bool,
    data: Data,
    aws: AwsSettings,
}

impl LambdaService {
    pub async fn start(target: &Target, variant: &Variant, data: &Data) -> Self {
        let mut config = Config::embedded(std::env::temp_dir());
        // The Lambda binary runs its transforms in worker processes of itself.
        config.isolation =
            flipframe::config::TransformIsolation::Workers(env!("CARGO_BIN_EXE_flipframe").into());
        target.apply_data(&mut config, data);
        config.spec.fit = variant.fit;
        config.max_inline_bytes = Some(flipframe::config::LAMBDA_MAX_INLINE_BYTES);
        let (issuer, client_id, jwks_url) = target.issuer(variant);
        config.auth = AuthMode::Cognito {
            issuer,
            client_ids: vec![client_id],
            jwks_url,
            min_refresh: humantime::parse_duration(JWKS_MIN_REFRESH).unwrap(),
            hosted_ui: None,
            user_pool_api: None,
        };
        config.external_tokens =
            flipframe::auth::ExternalTokens::parse(&variant.external_tokens).unwrap();
        config.processing_lease = Duration::from_secs(60);
        let backends = Backends::open(&config).await.unwrap();
        let state = backends
            .app_state(&config, Arc::new(ExternalTrigger))
            .unwrap();
        let Data::Aws { bucket, .. } = data else {
            unreachable!("Lambda runs on S3")
        };
        Self {
            router: flipframe::api::router(state),
            processor: backends.processor(&config),
            bucket: bucket.clone(),
            processing: variant.processing,
            data: data.clone(),
            aws: target.aws_settings(),
        }
    }

    /// Delivers the S3 notification for an original, as AWS would, soon after.
    fn notify(&self, id: &str) {
        if !self.processing {
            return;
        }
        let key = format!("{PREFIX}%2Foriginals%2F{id}");
        let event = json!({"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-26T08:00:00.000Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.7"},
            "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "originals",
                "bucket": {"name": self.bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": format!("arn:aws:s3:::{}", self.bucket)},
                "object": {"key": key, "size": 1, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5"}}
        }]});
        let processor = self.processor.clone();
        tokio::spawn(async move {
            let event = serde_json::from_value(event).unwrap();
            if let Err(error) = flipframe::lambda::handle_s3_event(&processor, PREFIX, event).await
            {
                eprintln!("S3 event handler failed: {error:#}");
            }
        });
    }
}

#[async_trait]
impl Service for LambdaService {
    async fn send(&self, request: ApiRequest) -> ApiResponse {
        let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
        // API Gateway's v2 payload joins a repeated header's values with commas.
        let mut headers = serde_json::Map::<String, Value>::new();
        for (name, value) in &request.headers {
            let joined = match headers.get(&name.to_lowercase()) {
                Some(Value::String(earlier)) => format!("{earlier},{value}"),
                _ => value.clone(),
            };
            headers.insert(name.to_lowercase(), json!(joined));
        }
        headers.insert(
            "host".into(),
            json!("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"),
        );
        let mut event = json!({
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012", "apiId": "a1b2c3d4e5",
                "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "domainPrefix": "a1b2c3d4e5",
                "http": {"method": request.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "bdd"},
                "requestId": uuid::Uuid::new_v4().to_string(), "routeKey": "$default", "stage": "$default",
                "time": "26/Nov/2026:08:00:00 +0000", "timeEpoch": 1795680000000i64
            },
            "isBase64Encoded": false
        });
        if let Some(body) = &request.body {
            event["body"] = json!(BASE64.encode(body));
            event["isBase64Encoded"] = json!(true);
        }
        // lambda_http's adapter future is not `Send`: drive it on a thread of its own.
        let router = self.router.clone();
        let runtime = tokio::runtime::Handle::current();
        let answer = tokio::task::spawn_blocking(move || {
            runtime.block_on(flipframe::lambda::handle_api_event(router, event))
        })
        .await
        .unwrap()
        .unwrap();
        let body = match answer["body"].as_str() {
            Some(text) if answer["isBase64Encoded"] == true => BASE64.decode(text).unwrap(),
            Some(text) => text.as_bytes().to_vec(),
            None => Vec::new(),
        };
        let headers = answer["headers"]
            .as_object()
            .map(|map| {
                map.iter()
                    .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let response = ApiResponse {
            status: answer["statusCode"].as_u64().unwrap() as u16,
            headers,
            body,
        };
        if request.method == "POST" && path == "/v1/images" && response.status == 202 {
            self.notify(response.json()["id"].as_str().unwrap());
        }
        response
    }

    async fn uploaded_directly(&self, id: &str) {
        self.notify(id);
    }

    async fn original_stored(&self, id: &str) -> bool {
        original_in_storage(&self.aws, &self.data, id).await
    }

    fn base_url(&self) -> Option<&str> {
        None
    }
}
