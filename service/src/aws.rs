//! AWS SDK configuration from the standard chain (env, profile, Lambda role).
//! With an endpoint override (an emulator) clients use path-style addressing,
//! and dummy credentials when none are configured.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::time::Duration;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// `AWS_ENDPOINT_URL`: where an emulator such as moto or LocalStack listens.
    pub endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_S3`: S3 alone elsewhere (LocalStack's S3, moto's DynamoDB).
    pub s3_endpoint_url: Option<String>,
    /// `AWS_ENDPOINT_URL_DYNAMODB`.
    pub dynamodb_endpoint_url: Option<String>,
}

fn env_url(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|url| !url.is_empty())
}

impl AwsSettings {
    pub fn from_env() -> Self {
        Self {
            endpoint_url: env_url("AWS_ENDPOINT_URL"),
            s3_endpoint_url: env_url("AWS_ENDPOINT_URL_S3"),
            dynamodb_endpoint_url: env_url("AWS_ENDPOINT_URL_DYNAMODB"),
        }
    }

    /// The same emulator for every service.
    pub fn emulator(endpoint: &str) -> Self {
        Self {
            endpoint_url: Some(endpoint.to_owned()),
            ..Self::default()
        }
    }

    fn emulated(&self) -> bool {
        self.endpoint_url.is_some()
            || self.s3_endpoint_url.is_some()
            || self.dynamodb_endpoint_url.is_some()
    }
}

/// An SDK configuration plus the per-service endpoints that `s3_client` and
/// `dynamodb_client` apply on top of it.
#[derive(Debug, Clone)]
pub struct Aws {
    pub sdk: SdkConfig,
    pub settings: AwsSettings,
}

pub async fn sdk_config(settings: &AwsSettings) -> Aws {
    // A backend that stops answering fails the request within seconds (a
    // 503 the client retries) instead of holding it: connect fast, and bound
    // each attempt and the whole call, retries included, well under a lease.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(8))
        .operation_timeout(Duration::from_secs(20))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    if settings.emulated()
        && std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
        && std::env::var_os("AWS_PROFILE").is_none()
    {
        loader =
            loader.credentials_provider(Credentials::new("test", "test", None, None, "emulator"));
    }
    let mut sdk = loader.load().await;
    if sdk.region().is_none() {
        sdk = sdk.into_builder().region(Region::new("us-east-1")).build();
    }
    Aws {
        sdk,
        settings: settings.clone(),
    }
}

impl Aws {
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        // Emulators answer on one host: virtual-hosted bucket names would not resolve.
        let mut config =
            aws_sdk_s3::config::Builder::from(&self.sdk).force_path_style(self.settings.emulated());
        if let Some(endpoint) = &self.settings.s3_endpoint_url {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_s3::Client::from_conf(config.build())
    }

    pub fn dynamodb_client(&self) -> aws_sdk_dynamodb::Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if let Some(endpoint) = &self.settings.dynamodb_endpoint_url {
            config = config.endpoint_url(endpoint);
        }
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }
}

impl Aws {
    /// A SecureString (or plain) parameter's value, decrypted.
    pub async fn parameter(&self, name: &str) -> anyhow::Result<String> {
        let client = aws_sdk_ssm::Client::new(&self.sdk);
        let answer = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await?;
        answer
            .parameter
            .and_then(|p| p.value)
            .ok_or_else(|| anyhow::anyhow!("parameter {name} has no value"))
    }
}
