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
use crate::services::{LambdaService, ProcessService, Service};
use flipframe::aws::AwsSettings;
use flipframe::config::{Config, LedgerLocation, StorageLocation};
use flipframe::pipeline::Fit;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Key ids unknown to the service trigger a JWKS refetch at most this often.
pub const JWKS_MIN_REFRESH: &str = "1s";
pub const PREFIX: &str = "flipframe";

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

    /// `@embedded` scenarios need local storage; `@aws` ones need S3;
    /// `@browser` ones a listener a browser can reach, and CORS on the
    /// object storage it uploads to (moto's, not LocalStack's).
    pub fn applies_to(self, tags: &[String]) -> bool {
        let tagged = |name: &str| tags.iter().any(|t| t == name);
        if tagged("browser") && !matches!(self, Self::Embedded | Self::AwsMoto) {
            return false;
        }
        // `@listener` ones a real server to run the client against.
        if tagged("listener") && self == Self::Lambda {
            return false;
        }
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
pub enum Data {
    Folder(PathBuf),
    Aws { bucket: String, table: String },
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

    pub fn aws_settings(&self) -> AwsSettings {
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

    pub fn apply_data(&self, config: &mut Config, data: &Data) {
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

    pub fn issuer(&self, variant: &Variant) -> (String, String, String) {
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
pub async fn original_in_storage(settings: &AwsSettings, data: &Data, id: &str) -> bool {
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
