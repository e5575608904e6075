//! Where scenarios run. Every scenario runs on each target it applies to:
//! `embedded` (the real binary on files + SQLite), `aws-emulated` (the real
//! binary on S3 + DynamoDB in moto), `aws-emulated-localstack` (S3 in
//! LocalStack, DynamoDB in moto) and `lambda` (the Lambda handlers fed API
//! Gateway and S3 events in-process, on moto).
//!
//! A target runs one service instance per configuration `Variant`, started on
//! first use. Instances whose fit and processing agree share their data, so a
//! scenario can switch configuration (a revoked token) and still see its upload.

use crate::emulators::{CLIENT_ID, Endpoints};
use crate::support::process::{Lifeline, free_port, wait_for_port};
use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use flipframe::app::Backends;
use flipframe::aws::AwsSettings;
use flipframe::config::{AuthMode, Config, LedgerLocation, StorageLocation};
use flipframe::jobs::{ExternalTrigger, Processor};
use flipframe::pipeline::Fit;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// Key ids unknown to the service trigger a JWKS refetch at most this often.
const JWKS_MIN_REFRESH: &str = "1s";
const PREFIX: &str = "flipframe";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Embedded,
    AwsMoto,
    AwsLocalStack,
    Lambda,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Embedded,
        Kind::AwsMoto,
        Kind::AwsLocalStack,
        Kind::Lambda,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::AwsMoto => "aws-emulated",
            Self::AwsLocalStack => "aws-emulated-localstack",
            Self::Lambda => "lambda",
        }
    }

    /// `@embedded` scenarios need local storage; `@aws` ones need S3.
    pub fn applies_to(self, tags: &[String]) -> bool {
        let tagged = |name: &str| tags.iter().any(|t| t == name);
        match self {
            Self::Embedded => !tagged("aws"),
            _ => !tagged("embedded"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Issuer {
    /// The mock pool every scenario shares.
    Mock,
    /// A pool created in moto's Cognito IDP.
    Moto { pool_id: String, client_id: String },
}

/// One service configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Variant {
    pub fit: Fit,
    pub processing: bool,
    /// `name:sha256,…` as in `FLIPFRAME_EXTERNAL_TOKENS`.
    pub external_tokens: String,
    pub issuer: Issuer,
}

impl Default for Variant {
    fn default() -> Self {
        Self {
            fit: Fit::Cover,
            processing: true,
            external_tokens: String::new(),
            issuer: Issuer::Mock,
        }
    }
}

/// Where an instance's data lives; shared by instances with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DataKey {
    fit: Fit,
    processing: bool,
}

#[derive(Debug, Clone)]
enum Data {
    Folder(PathBuf),
    Aws { bucket: String, table: String },
}

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

    /// Asserts a 200 carrying an image of this type and size, and decodes it.
    pub fn expect_image(&self, content_type: &str, width: u32, height: u32) -> image::DynamicImage {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
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
}

pub struct Target {
    pub kind: Kind,
    pub endpoints: Arc<Endpoints>,
    services: Mutex<HashMap<Variant, Arc<dyn Service>>>,
    data: Mutex<HashMap<DataKey, Data>>,
    _scratch: tempfile::TempDir,
}

impl Target {
    pub fn new(kind: Kind, endpoints: Arc<Endpoints>) -> Self {
        Self {
            kind,
            endpoints,
            services: Mutex::default(),
            data: Mutex::default(),
            _scratch: tempfile::tempdir().unwrap(),
        }
    }

    fn aws_settings(&self) -> AwsSettings {
        let mut settings = AwsSettings::emulator(&self.endpoints.moto);
        if self.kind == Kind::AwsLocalStack {
            settings.s3_endpoint_url = self.endpoints.localstack_s3.clone();
        }
        settings
    }

    pub async fn service(&self, variant: &Variant) -> Arc<dyn Service> {
        let mut services = self.services.lock().await;
        if let Some(service) = services.get(variant) {
            return Arc::clone(service);
        }
        let data = self.data_for(variant).await;
        let service: Arc<dyn Service> = match self.kind {
            Kind::Lambda => Arc::new(LambdaService::start(self, variant, &data).await),
            _ => Arc::new(ProcessService::start(self, variant, &data).await),
        };
        services.insert(variant.clone(), Arc::clone(&service));
        service
    }

    async fn data_for(&self, variant: &Variant) -> Data {
        let key = DataKey {
            fit: variant.fit,
            processing: variant.processing,
        };
        let mut all = self.data.lock().await;
        if let Some(data) = all.get(&key) {
            return data.clone();
        }
        let data = match self.kind {
            Kind::Embedded => {
                let folder = self._scratch.path().join(format!("data-{}", all.len()));
                Data::Folder(folder)
            }
            _ => {
                let suffix = uuid::Uuid::new_v4().simple().to_string();
                let data = Data::Aws {
                    bucket: format!("bdd-{}", &suffix[..20]),
                    table: format!("bdd-{suffix}"),
                };
                let mut config = Config::embedded(self._scratch.path());
                self.apply_data(&mut config, &data);
                flipframe::app::create_missing_resources(&config)
                    .await
                    .expect("bucket and table");
                data
            }
        };
        all.insert(key, data.clone());
        data
    }

    fn apply_data(&self, config: &mut Config, data: &Data) {
        match data {
            Data::Folder(folder) => {
                *config = Config {
                    aws: config.aws.clone(),
                    ..Config::embedded(folder)
                };
            }
            Data::Aws { bucket, table } => {
                config.storage = StorageLocation::S3 {
                    bucket: bucket.clone(),
                    prefix: PREFIX.into(),
                };
                config.ledger = LedgerLocation::DynamoDb {
                    table: table.clone(),
                };
                config.aws = self.aws_settings();
            }
        }
    }

    fn issuer(&self, variant: &Variant) -> (String, String, String) {
        match &variant.issuer {
            Issuer::Mock => {
                let cognito = &self.endpoints.cognito;
                (cognito.issuer(), CLIENT_ID.to_owned(), cognito.jwks_url())
            }
            Issuer::Moto { pool_id, client_id } => (
                format!("https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"),
                client_id.clone(),
                format!("{}/{pool_id}/.well-known/jwks.json", self.endpoints.moto),
            ),
        }
    }
}

/// Whether the instance's object storage holds an original for `id`.
async fn original_in_storage(settings: &AwsSettings, data: &Data, id: &str) -> bool {
    match data {
        Data::Folder(folder) => folder.join("objects/originals").join(id).exists(),
        Data::Aws { bucket, .. } => flipframe::aws::sdk_config(settings)
            .await
            .s3_client()
            .head_object()
            .bucket(bucket)
            .key(format!("{PREFIX}/originals/{id}"))
            .send()
            .await
            .is_ok(),
    }
}

/// The real `flipframe serve` process.
struct ProcessService {
    base_url: String,
    client: reqwest::Client,
    data: Data,
    aws: AwsSettings,
    _process: std::sync::Mutex<Lifeline>,
}

impl ProcessService {
    async fn start(target: &Target, variant: &Variant, data: &Data) -> Self {
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
            ("FLIPFRAME_JWKS_MIN_REFRESH".into(), JWKS_MIN_REFRESH.into()),
            (
                "FLIPFRAME_EXTERNAL_TOKENS".into(),
                variant.external_tokens.clone(),
            ),
            ("RUST_LOG".into(), "info".into()),
        ];
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
}

/// The Lambda handlers in-process: API Gateway events for requests, and the S3
/// event AWS would send once an original lands in the bucket.
struct LambdaService {
    router: axum::Router,
    processor: Processor,
    bucket: String,
    processing: bool,
    data: Data,
    aws: AwsSettings,
}

impl LambdaService {
    async fn start(target: &Target, variant: &Variant, data: &Data) -> Self {
        let mut config = Config::embedded(std::env::temp_dir());
        target.apply_data(&mut config, data);
        config.spec.fit = variant.fit;
        config.max_inline_bytes = Some(flipframe::config::LAMBDA_MAX_INLINE_BYTES);
        let (issuer, client_id, jwks_url) = target.issuer(variant);
        config.auth = AuthMode::Cognito {
            issuer,
            client_ids: vec![client_id],
            jwks_url,
            min_refresh: humantime::parse_duration(JWKS_MIN_REFRESH).unwrap(),
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
        let mut headers: serde_json::Map<String, Value> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_lowercase(), json!(value)))
            .collect();
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
}
